/*
 * cli_lookup.c - `infrapivot lookup`, `stats` and `compact`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "service/svc_estate.h"
#include "util/time.h"

static void lookup_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: infrapivot lookup domain|ip|cert VALUE [OPTIONS]\n"
	    "\n"
	    "  lookup domain www.example.com   resolutions of the name\n"
	    "  lookup domain '*.example.com'   resolutions of every name under it\n"
	    "  lookup ip 192.0.2.7             names that resolved to it, certificates seen on it\n"
	    "  lookup ip 192.0.2.0/24          the same for a prefix (any length: 10.0.0.0/8, "
	    "2001:db8::/32)\n"
	    "  lookup cert SHA1|SHA256         metadata, ip:port sightings, SAN/SNI names\n"
	    "\n"
	    "Options:\n"
	    "  --db DIR              database directory\n"
	    "  --rrtype TYPE         only this RR type (domain lookups)\n"
	    "  --first-after T       time_first >= T\n"
	    "  --first-before T      time_first <= T\n"
	    "  --last-after T        time_last >= T\n"
	    "  --last-before T       time_last <= T\n"
	    "  --since T             seen within the window: time_last >= T\n"
	    "  --until T             seen within the window: time_first <= T\n"
	    "                        T: epoch seconds, 2024-01-31, 2024-01-31T12:00:00Z,\n"
	    "                        or relative -7d, -12h, -30m, -2w\n"
	    "  --limit N             at most N results (default 10000, 0 = no limit)\n"
	    "  --offset N            skip the first N results\n"
	    "  --format json|table   COF NDJSON / JSON lines (default) or a table\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Results go to standard output; messages to standard error.\n");
}

struct print_ctx {
	bool table;
	bool header_rr, header_si;
};

static void fmt_time(json_t *v, char *out, size_t cap)
{
	util_time_format(json_integer_value(v), out, cap);
	/* table form: "2024-01-31 12:00:00" */
	out[10] = ' ';
	out[19] = '\0';
}

static void print_rr_row(struct print_ctx *p, json_t *obj)
{
	char tf[32], tl[32];
	if (!p->header_rr) {
		printf("%-19s  %-19s  %8s  %-40s %-6s %s\n", "first seen", "last seen", "count",
		       "rrname", "type", "rdata");
		p->header_rr = true;
	}
	fmt_time(json_object_get(obj, "time_first"), tf, sizeof(tf));
	fmt_time(json_object_get(obj, "time_last"), tl, sizeof(tl));
	printf("%-19s  %-19s  %8lld  %-40s %-6s %s\n", tf, tl,
	       (long long)json_integer_value(json_object_get(obj, "count")),
	       json_string_value(json_object_get(obj, "rrname")),
	       json_string_value(json_object_get(obj, "rrtype")),
	       json_string_value(json_object_get(obj, "rdata")));
}

/* The strings of a JSON array joined with sep, cut at cap. */
static void join_strings(json_t *a, const char *sep, char *out, size_t cap)
{
	size_t i, o = 0;
	json_t *v;
	out[0] = '\0';
	json_array_foreach(a, i, v)
	{
		o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", i ? sep : "",
		                      json_string_value(v));
		if (o >= cap)
			break;
	}
}

static void print_sighting_row(struct print_ctx *p, json_t *obj)
{
	char tf[32], tl[32];
	if (!p->header_si) {
		printf("\n%-19s  %-19s  %8s  %-45s %-40s %s\n", "first seen", "last seen", "count",
		       "ip:port", "certificate", "sni");
		p->header_si = true;
	}
	fmt_time(json_object_get(obj, "time_first"), tf, sizeof(tf));
	fmt_time(json_object_get(obj, "time_last"), tl, sizeof(tl));
	char ipport[80];
	const char *ip = json_string_value(json_object_get(obj, "ip"));
	long long port = json_integer_value(json_object_get(obj, "port"));
	snprintf(ipport, sizeof(ipport), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
	json_t *h = json_object_get(obj, "cert_sha1");
	if (h == NULL)
		h = json_object_get(obj, "cert_sha256");
	char sni[512];
	join_strings(json_object_get(obj, "sni"), ",", sni, sizeof(sni));
	printf("%-19s  %-19s  %8lld  %-45s %-40s %s\n", tf, tl,
	       (long long)json_integer_value(json_object_get(obj, "count")), ipport,
	       json_string_value(h), sni);
}

static void print_cert(json_t *obj)
{
	const char *keys[] = {"cert_sha1", "cert_sha256", "subject",   "issuer",
	                      "serial",    "not_before",  "not_after", "ip_count"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(obj, keys[i]);
		if (v == NULL)
			continue;
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
		printf("%-12s %s\n", keys[i], s ? s : json_string_value(v));
		free(s);
	}
	const char *lists[] = {"san_dns", "san_ip", "sni"};
	for (size_t i = 0; i < 3; i++) {
		json_t *a = json_object_get(obj, lists[i]);
		if (a == NULL)
			continue;
		printf("%-12s", lists[i]);
		size_t j;
		json_t *v;
		json_array_foreach(a, j, v)
		{
			printf("%s%s", j ? ", " : " ", json_string_value(v));
		}
		printf("\n");
	}
}

static int print_result(enum svc_result_kind kind, json_t *obj, void *ctx)
{
	struct print_ctx *p = ctx;
	if (!p->table) {
		svc_print_json(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		return 0;
	}
	if (kind == SVC_RES_RR)
		print_rr_row(p, obj);
	else if (kind == SVC_RES_SIGHTING)
		print_sighting_row(p, obj);
	else
		print_cert(obj);
	json_decref(obj);
	return 0;
}

static const struct option lookup_longopts[] = {
    {"db", required_argument, NULL, 'd'},
    {"rrtype", required_argument, NULL, 't'},
    {"first-after", required_argument, NULL, 1},
    {"first-before", required_argument, NULL, 1},
    {"last-after", required_argument, NULL, 1},
    {"last-before", required_argument, NULL, 1},
    {"since", required_argument, NULL, 1},
    {"until", required_argument, NULL, 1},
    {"limit", required_argument, NULL, 'l'},
    {"offset", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option with a value: 0, or -1 when it is bad (reported). */
static int lookup_opt(int c, const char *name, const char *v, struct svc_lookup_req *req,
                      struct print_ctx *pc)
{
	if (c == 't' && store_rrtype_parse(v, strlen(v), &req->rrtype) != 0) {
		fprintf(stderr, "infrapivot lookup: --rrtype: unknown type '%s'\n", v);
		return -1;
	}
	if (c == 1 && svc_fence_set(&req->fence, name, v) != 0) {
		fprintf(stderr,
		        "infrapivot lookup: --%s: '%s' is not a time (epoch "
		        "seconds, ISO 8601 date or date-time, or -7d style)\n",
		        name, v);
		return -1;
	}
	if ((c == 'l' && svc_parse_u64(v, &req->limit) != 0) ||
	    (c == 'o' && svc_parse_u64(v, &req->offset) != 0)) {
		fprintf(stderr, "infrapivot lookup: --%s: not a number: '%s'\n", name, v);
		return -1;
	}
	if (c == 'f') {
		pc->table = strcmp(v, "table") == 0;
		if (!pc->table && strcmp(v, "json") != 0) {
			fprintf(stderr, "infrapivot lookup: --format json|table\n");
			return -1;
		}
	}
	return 0;
}

static int lookup_kind(const char *what, enum svc_lookup_kind *kind)
{
	if (strcmp(what, "domain") == 0 || strcmp(what, "name") == 0)
		*kind = SVC_LOOKUP_DOMAIN;
	else if (strcmp(what, "ip") == 0)
		*kind = SVC_LOOKUP_IP;
	else if (strcmp(what, "cert") == 0)
		*kind = SVC_LOOKUP_CERT;
	else {
		fprintf(stderr, "infrapivot lookup: unknown lookup '%s' (domain, ip or cert)\n",
		        what);
		return -1;
	}
	return 0;
}

/* -1 to go on, or the exit code. */
static int parse_lookup(int argc, char **argv, struct svc_lookup_req *req, const char **db,
                        struct print_ctx *pc)
{
	int c, idx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lookup_longopts, &idx)) != -1) {
		if (c == 'd') {
			*db = optarg;
		} else if (c == 'h') {
			lookup_usage(stdout);
			return 0;
		} else if (c == '?' || c == ':') {
			lookup_usage(stderr);
			return 2;
		} else if (lookup_opt(c, lookup_longopts[idx].name, optarg, req, pc) != 0) {
			return 2;
		}
	}
	if (argc - optind != 2) {
		lookup_usage(stderr);
		return 2;
	}
	req->value = argv[optind + 1];
	char msg[256];
	if (lookup_kind(argv[optind], &req->kind) != 0)
		return 2;
	if (svc_lookup_check(req, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot lookup: %s\n", msg);
		return 2;
	}
	return -1;
}

int svc_cmd_lookup(int argc, char **argv)
{
	if (svc_estate_wants_clients(argc, argv))
		return svc_cmd_lookup_clients(argc, argv);
	struct svc_lookup_req req = {.limit = 10000, .include_certs = true};
	store_fence_init(&req.fence);
	const char *db = NULL;
	struct print_ctx pc = {0};
	int rc = parse_lookup(argc, argv, &req, &db, &pc);
	if (rc >= 0)
		return rc;
	store_t *s = svc_open_db(db, true);
	if (s == NULL)
		return 2;
	struct svc_lookup_res res;
	int err = svc_lookup(s, &req, print_result, &pc, &res);
	store_close(s);
	if (err != 0) {
		fprintf(stderr, "infrapivot lookup: %s\n", store_strerror(err));
		return 2;
	}
	if (res.limited)
		fprintf(stderr,
		        "infrapivot lookup: limit of %llu results reached; more exist "
		        "(raise --limit or use --offset %llu)\n",
		        (unsigned long long)req.limit,
		        (unsigned long long)(req.offset + res.emitted));
	if (res.emitted == 0)
		fprintf(stderr, "infrapivot lookup: no results\n");
	return 0;
}

static void stats_usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot stats [--db DIR] [--json]\n\n"
	           "Counts of every kind of record and the database size.\n");
}

int svc_cmd_stats(int argc, char **argv)
{
	int js = 0;
	const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"json", no_argument, &js, 1},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int rc = svc_db_opts(argc, argv, longopts, &db, stats_usage);
	if (rc == 2 || (rc < 0 && optind != argc)) {
		stats_usage(stderr);
		return 2;
	}
	if (rc >= 0)
		return rc;
	store_t *s = svc_open_db(db, true);
	if (s == NULL)
		return 2;
	json_t *o = NULL;
	int err = svc_stats_json(s, &o);
	store_close(s);
	if (err != 0) {
		fprintf(stderr, "infrapivot stats: %s\n", store_strerror(err));
		return 2;
	}
	if (js)
		return svc_print_json(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) == 0 ? 0 : 2;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		printf("%-16s %llu\n", k, (unsigned long long)json_integer_value(v));
	}
	json_decref(o);
	return 0;
}

static void compact_usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot compact [--db DIR] [--copy] OUT_DIR\n\n"
	           "Write a compacted copy of the database into OUT_DIR (created when\n"
	           "missing; must not hold a database).  Every table is rebuilt in key\n"
	           "order from one read snapshot, so B-tree pages are full: about a\n"
	           "third smaller than the live database, whose pages random inserts\n"
	           "leave two-thirds full.  Safe while others read or write.\n\n"
	           "  --copy     copy pages as they are instead (mdb_env_copy2 with\n"
	           "             MDB_CP_COMPACT: drops free pages only; faster)\n"
	           "  --repack   rebuild in key order (the default)\n");
}

int svc_cmd_compact(int argc, char **argv)
{
	int copy = 0;
	const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"repack", no_argument, &copy, 0},
	    {"copy", no_argument, &copy, 1},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int rc = svc_db_opts(argc, argv, longopts, &db, compact_usage);
	if (rc >= 0)
		return rc;
	if (argc - optind != 1) {
		fprintf(stderr, "Usage: infrapivot compact [--db DIR] [--copy] OUT_DIR\n");
		return 2;
	}
	store_t *s = svc_open_db(db, true);
	if (s == NULL)
		return 2;
	int err = copy ? store_compact(s, argv[optind]) : store_repack(s, argv[optind]);
	store_close(s);
	if (err != 0) {
		const char *d = store_last_error();
		fprintf(stderr, "infrapivot compact: %s%s%s\n", store_strerror(err), *d ? ": " : "",
		        d);
		return 2;
	}
	return 0;
}
