/*
 * cli_pivot.c - `infrapivot pivot`: expand a seed into the infrastructure
 * behind it.  Options go through pivot_params_set, as HTTP parameters do.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot.h"
#include "service/svc.h"
#include "service/svc_estate.h"
#include "service/svc_text.h"

static void pivot_usage(FILE *f)
{
	fprintf(
	    f, "Usage: infrapivot pivot SEED [OPTIONS]\n"
	       "\n"
	       "From one seed, find the infrastructure behind it: breadth-first over\n"
	       "  resolves  domain - IP (A/AAAA)        cname  domain - domain (CNAME)\n"
	       "  serves    IP - certificate (ip:port)  san    certificate - domain (SAN/CN)\n"
	       "  sni       domain - certificate (the certificate seen for that SNI)\n"
	       "with noise control: a node over a limit below is included, marked pruned\n"
	       "with the reason and its degree, and not expanded (the seed always is).\n"
	       "\n"
	       "SEED is a domain name, an IPv4/IPv6 address, or a certificate SHA-1 or\n"
	       "SHA-256 (hex, colons allowed); the type is detected unless --type is given.\n"
	       "A domain may be typed with U-labels (bücher.example); its A-label form is used.\n"
	       "\n"
	       "Options:\n"
	       "  --db DIR                database directory\n"
	       "  --store STORE           lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	       "  --type TYPE             the seed's type: auto (default), domain, ip, cert,\n"
	       "                          key (SPKI SHA-256), subject (a DN), jarm or ja3s\n"
	       "  --depth N               hops from the seed, 0-6 (default 3: domain -> IP ->\n"
	       "                          certificate -> the other IPs serving it)\n"
	       "  --since T               only edges seen within the window: last seen >= T\n"
	       "  --until T               ... and first seen <= T\n"
	       "                          T: 2024-01-31, 2024-01-31T12:00:00Z, now, epoch\n"
	       "                          seconds, relative -7d, -1d12h, -6M, -1y\n"
	       "  --edges LIST            edge types to walk, comma-separated, or all:\n"
	       "                          resolves,cname,serves,san,sni,key (the default)\n"
	       "                          and subject, fingerprint (opt-in)\n"
	       "  --max-ip-domains N      an IP with more names is shared hosting (default 100;\n"
	       "                          0 = no limit, here and in the other limits)\n"
	       "  --max-cert-ips N        a certificate on more IPs is a CDN or default\n"
	       "                          certificate (default 50)\n"
	       "  --max-domain-ips N      a name on more IPs is a CDN/fast-flux name (default 50)\n"
	       "  --max-san N             a certificate with more SAN names is multi-tenant\n"
	       "                          (default 80)\n"
	       "  --max-key-certs N       a public key in more certificates is a hoster's\n"
	       "                          (default 25)\n"
	       "  --max-subject-certs N   a subject of more certificates is a template\n"
	       "                          (default 10)\n"
	       "  --max-fingerprint-ips N a JARM/JA3S on more IPs is a stock TLS stack\n"
	       "                          (default 25)\n"
	       "                          (up to 4294967295; a large value lifts a limit)\n"
	       "  --max-nodes N           stop after N nodes (default 500, at most 10000)\n"
	       "  --max-ms N              stop after N milliseconds (default 2000)\n"
	       "                          a result cut by a budget says truncated and which\n"
	       "  --max-cotenant-days N   temporal affinity: a name or certificate on an IP\n"
	       "                          since more than N days before the path arrived\n"
	       "                          there is a co-tenant, pruned (default 180)\n"
	       "  --no-affinity           switch temporal affinity off\n"
	       "  --explain NODE          print the decision for one node of the result (its\n"
	       "                          path, the edges' times and the rule applied)\n"
	       "                          instead of the graph; exit 1 when it is not there\n"
	       "  --now T                 the time age_days counts from (default: now)\n"
	       "  --format FMT            json (default), dot (Graphviz), stix (STIX 2.1\n"
	       "                          bundle), table, csv (RFC 4180: nodes and edges\n"
	       "                          in one table, the record column telling which)\n"
	       "                          or misp (MISP event)\n"
	       "  -h, --help              this help\n"
	       "\n"
	       "Examples:\n"
	       "  infrapivot pivot login-update.duckdns.org --depth 4\n"
	       "  infrapivot pivot 203.0.113.7 --since -30d --format table\n"
	       "  infrapivot pivot 3f0c...e1 --format dot | dot -Tsvg > graph.svg\n"
	       "\n"
	       "The graph goes to standard output; messages to standard error.  Exit\n"
	       "status 0 (also when truncated or empty), 2 on a usage or database error.\n");
}

enum fmt { FMT_JSON, FMT_DOT, FMT_STIX, FMT_TABLE, FMT_CSV, FMT_MISP };

static const struct option pivot_longopts[] = {
    {"db", required_argument, NULL, 'd'},
    {"store", required_argument, NULL, 'd'},
    {"format", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {"type", required_argument, NULL, 1},
    {"depth", required_argument, NULL, 1},
    {"since", required_argument, NULL, 1},
    {"until", required_argument, NULL, 1},
    {"edges", required_argument, NULL, 1},
    {"max-ip-domains", required_argument, NULL, 1},
    {"max-cert-ips", required_argument, NULL, 1},
    {"max-domain-ips", required_argument, NULL, 1},
    {"max-san", required_argument, NULL, 1},
    {"max-key-certs", required_argument, NULL, 1},
    {"max-subject-certs", required_argument, NULL, 1},
    {"max-fingerprint-ips", required_argument, NULL, 1},
    {"max-nodes", required_argument, NULL, 1},
    {"max-ms", required_argument, NULL, 1},
    {"now", required_argument, NULL, 1},
    {"max-cotenant-days", required_argument, NULL, 1},
    {"no-affinity", no_argument, NULL, 1},
    {"explain", required_argument, NULL, 'e'},
    {NULL, 0, NULL, 0},
};

/* --now first, so that relative --since/--until count from it. */
static int preset_now(int argc, char **argv, struct pivot_params *p)
{
	char msg[256];
	const char *v;
	for (int i = 1; (v = svc_next_now(argc, argv, &i)) != NULL;) {
		if (pivot_params_set(p, "now", v, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "infrapivot pivot: --%s\n", msg);
			return -1;
		}
	}
	return 0;
}

static int parse_format(const char *v, enum fmt *fmt)
{
	static const char *const names[] = {
	    [FMT_JSON] = "json",   [FMT_DOT] = "dot", [FMT_STIX] = "stix",
	    [FMT_TABLE] = "table", [FMT_CSV] = "csv", [FMT_MISP] = "misp"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			*fmt = (enum fmt)i;
			return 0;
		}
	}
	fprintf(stderr, "infrapivot pivot: --format %s: expected json|dot|stix|table|csv|misp\n",
	        v);
	return -1;
}

/* A pivot parameter given as an option. */
static int param_opt(struct pivot_params *p, const char *name, const char *v)
{
	char msg[256];
	if (pivot_params_set(p, name, v, msg, sizeof(msg)) == 0)
		return 0;
	/* messages name the parameter as HTTP spells it; show the option */
	for (char *q = msg; *q && *q != ':'; q++)
		if (*q == '_')
			*q = '-';
	fprintf(stderr, "infrapivot pivot: --%s\n", msg);
	return -1;
}

/* -1 to go on, or the exit code. */
static int parse_opts(int argc, char **argv, struct pivot_params *p, const char **db, enum fmt *fmt,
                      const char **explain)
{
	int c, idx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", pivot_longopts, &idx)) != -1) {
		if (c == 'd') {
			*db = optarg;
		} else if (c == 'f') {
			if (parse_format(optarg, fmt) != 0)
				return 2;
		} else if (c == 'e') {
			*explain = optarg;
		} else if (c == 1) {
			if (param_opt(p, pivot_longopts[idx].name, optarg ? optarg : "") != 0)
				return 2;
		} else if (c == 'h') {
			pivot_usage(stdout);
			return 0;
		} else {
			svc_opt_error(NULL, argc, argv, "h", pivot_longopts);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, argc - optind == 0 ? "infrapivot pivot: no SEED given\n"
		                                   : "infrapivot pivot: one SEED only\n");
		fprintf(stderr, "Usage: infrapivot pivot SEED [OPTIONS] (see --help)\n");
		return 2;
	}
	char msg[256], seed[STORE_NAME_BUF + 8];
	if (svc_idn_ascii(argv[optind], seed, sizeof(seed), msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot pivot: SEED %s\n", msg);
		return 2;
	}
	if (pivot_params_set(p, "seed", seed, msg, sizeof(msg)) != 0 ||
	    pivot_params_check(p, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot pivot: %s\n", msg);
		return 2;
	}
	return -1;
}

/* The graph to standard output: 0, or -1 when out of memory. */
static int render(const struct pivot_result *r, enum fmt fmt)
{
	if (fmt == FMT_JSON)
		return svc_print_json(pivot_to_json(r), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (fmt == FMT_STIX)
		return svc_print_json(pivot_to_stix(r), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (fmt == FMT_MISP)
		return svc_print_json(pivot_to_misp(r), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *text = fmt == FMT_DOT   ? pivot_to_dot(r)
	             : fmt == FMT_CSV ? svc_csv_pivot(r)
	                              : pivot_to_table(r);
	if (text == NULL)
		return -1;
	fputs(text, stdout);
	free(text);
	return 0;
}

/* A truncated or empty result is worth a word on standard error. */
static void remark(const struct pivot_result *r)
{
	const char *budget;
	if (pivot_truncated(r, &budget))
		fprintf(stderr,
		        "infrapivot pivot: truncated: the %s budget was reached (raise "
		        "--%s)\n",
		        budget, strcmp(budget, "max_ms") == 0 ? "max-ms" : "max-nodes");
	if (pivot_edge_count(r) == 0)
		fprintf(stderr, "infrapivot pivot: nothing is linked to %s in the store\n",
		        pivot_node_at(r, 0)->value);
}

/* --explain NODE: the decision for one node; 0, or 1 when it is not in
 * the result (2 when out of memory). */
static int explain(const struct pivot_result *r, const char *node)
{
	char *text = pivot_explain(r, node);
	if (text == NULL) {
		if (pivot_node_count(r) == 0)
			return 2;
		fprintf(stderr,
		        "infrapivot pivot: --explain: '%.200s' is not in the result of this pivot "
		        "(%zu nodes)\n",
		        node, pivot_node_count(r));
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

int svc_cmd_pivot(int argc, char **argv)
{
	struct pivot_params p;
	pivot_params_init(&p);
	const char *db = NULL, *node = NULL;
	enum fmt fmt = FMT_JSON;
	if (preset_now(argc, argv, &p) != 0)
		return 2;
	int rc = parse_opts(argc, argv, &p, &db, &fmt, &node);
	if (rc >= 0)
		return rc;
	store_t *s = svc_open_db(db, true);
	if (s == NULL)
		return 2;
	struct pivot_result *r = NULL;
	char msg[256];
	int err = svc_pivot_run(s, &p, &r, msg, sizeof(msg));
	store_close(s);
	if (err != 0) {
		fprintf(stderr, "infrapivot pivot: %s\n", *msg ? msg : svc_store_error(err));
		return 2;
	}
	if (node != NULL) {
		rc = explain(r, node);
		pivot_result_free(r);
		return rc;
	}
	rc = render(r, fmt);
	remark(r);
	pivot_result_free(r);
	if (rc != 0) {
		fprintf(stderr, "infrapivot pivot: out of memory while rendering\n");
		return 2;
	}
	return 0;
}
