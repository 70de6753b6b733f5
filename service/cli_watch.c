/*
 * cli_watch.c - `infrapivot watchlist create|list|show|add|remove|delete|
 * pivot|export|sweep`.  Each subcommand has its own option table, as the other
 * subcommands do; the options they share go through one handler
 * (watch_opt), and pivot parameters through pivot_params_set.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc.h"
#include "service/svc_text.h"
#include "util/time.h"
#include "watch/watch.h"

static const char usage_text[] =
    "Usage: infrapivot watchlist SUBCOMMAND [OPTIONS] ...\n"
    "\n"
    "Watchlists carry pivot results to sensors: named lists of domains, IPs and\n"
    "certificate SHA-1s, each entry with its expiry, who added it and why (the\n"
    "path of edges that led to it).  Every change bumps the list's version;\n"
    "removals and expiries stay as tombstones so sensors can fetch deltas.  A\n"
    "list with a standing pivot (--auto-expand) grows by itself: when ingest\n"
    "records a watched certificate on a new IP (serves), a watched domain on a\n"
    "new IP (resolves) ..., the new node joins the list in the same transaction,\n"
    "unless a noise limit marks it (a shared-hosting IP is counted, not added).\n"
    "\n"
    "Subcommands:\n"
    "  create NAME [SETTINGS]       create a list, or change the settings of one\n"
    "  list                         every list with its version and counts\n"
    "  show NAME [--type T]         settings, counters and entries with provenance\n"
    "  add NAME INDICATOR...        add (or refresh) indicators; - reads them from\n"
    "                               standard input, one a line (# comments)\n"
    "  remove NAME INDICATOR...     remove indicators (tombstones are kept)\n"
    "  delete NAME                  delete a list and everything on it\n"
    "  pivot NAME SEED [PIVOT OPTIONS]\n"
    "                               run a pivot and add every node it did not prune,\n"
    "                               each with its path from the seed\n"
    "  export NAME [--format F]     the list for sensors: json, text, zeek,\n"
    "                               suricata (--type ip|domain|cert), stix or misp\n"
    "  sweep [--overlap S]          ClickHouse store: feed the standing pivots the\n"
    "                               resolutions and certificates the cluster took\n"
    "                               since the last sweep (any writer, any node),\n"
    "                               less S seconds of\n"
    "                               overlap for late rows (default 300); `serve`\n"
    "                               on a cluster sweeps by itself\n"
    "\n"
    "Settings (create):\n"
    "  --description TEXT           what the list is for\n"
    "  --ttl-days N                 entries expire N days after they were added or\n"
    "                               last refreshed (default 30; 0 = never)\n"
    "  --tombstone-days N           how long removals and expiries are kept for\n"
    "                               deltas (default 30)\n"
    "  --auto-expand EDGES          standing pivot over these edge types: comma-\n"
    "                               separated resolves,cname,serves,san,sni or all;\n"
    "                               none switches it off\n"
    "  --auto-ttl-days N            expiry of what the standing pivot adds (default:\n"
    "                               the list's --ttl-days)\n"
    "  --auto-generations N         expand from entries the standing pivot itself\n"
    "                               added up to N-1 times (1-6, default 1: only from\n"
    "                               entries a person or a pivot added)\n"
    "  --max-ip-domains N           noise limits the standing pivot respects, as in\n"
    "  --max-cert-ips N             `infrapivot pivot` (defaults 100, 50, 50, 80):\n"
    "  --max-domain-ips N           a node over its limit is not added (nor expanded\n"
    "  --max-san N                  from) and is counted in `show`\n"
    "\n"
    "Entries (add, remove):\n"
    "  --type domain|ip|cert|auto   the indicators' type (default: detected)\n"
    "  --reason TEXT                why (add)\n"
    "  --ttl-days N                 expiry of these entries (default: the list's)\n"
    "  --expires T                  expiry as a time (wins over --ttl-days)\n"
    "  --source NAME                who adds them (default: cli:$USER)\n"
    "\n"
    "Pivot (pivot): the options of `infrapivot pivot` (--depth, --since, --until,\n"
    "  --edges, --max-ip-domains, --max-cert-ips, --max-domain-ips, --max-san,\n"
    "  --max-nodes, --max-ms, --max-cotenant-days, --no-affinity, --type for the\n"
    "  seed), and --ttl-days, --reason,\n"
    "  --dry-run (show what would be added, change nothing).\n"
    "\n"
    "Export (export):\n"
    "  --format F                   json (default), text (one indicator a line),\n"
    "                               zeek (Intel framework file), suricata (dataset\n"
    "                               file of one --type: ip addresses, base64 domain\n"
    "                               names, or base64 tls.cert_fingerprint values),\n"
    "                               stix (STIX 2.1 bundle of indicators), csv\n"
    "                               (RFC 4180, one row per entry), misp\n"
    "                               (MISP event: indicators, provenance objects)\n"
    "  --type domain|ip|cert        only this type (suricata: required)\n"
    "  --since-version N            json/stix: only what changed after version N\n"
    "                               (adds and, under \"removed\", removals/expiries)\n"
    "  -o, --output FILE            write there instead of standard output\n"
    "\n"
    "Common options:\n"
    "  --db DIR                     database directory\n"
    "  --store STORE                lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
    "  --now T                      act as if it were T (expiry is computed against\n"
    "                               it; for tests and what-if views).  T: epoch\n"
    "                               seconds, 2024-01-31, 2024-01-31T12:00:00Z, -7d\n"
    "  --json                       list/show/add/remove: JSON output\n"
    "  -h, --help                   this help\n"
    "\n"
    "Examples:\n"
    "  infrapivot watchlist create apt-x --ttl-days 30 --auto-expand serves,resolves \\\n"
    "      --auto-ttl-days 7\n"
    "  infrapivot watchlist pivot apt-x login-verify.duckdns.org --depth 4\n"
    "  infrapivot watchlist add apt-x 203.0.113.7 --reason 'C2 seen in incident 42'\n"
    "  infrapivot watchlist export apt-x --format zeek -o /opt/zeek/intel/apt-x.dat\n"
    "\n"
    "Exit status: 0 done, 1 some indicators were not on the list (remove) or\n"
    "nothing to show, 2 a usage, input or database error.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* Options every subcommand takes, and the option groups. */
/* clang-format off */
#define OPTS_COMMON                                                                                \
	{"db", required_argument, NULL, 'd'}, {"store", required_argument, NULL, 'd'},                                                      \
	{"now", required_argument, NULL, 'N'},                                                     \
	{"help", no_argument, NULL, 'h'}
#define OPTS_LIMITS                                                                                \
	{"max-ip-domains", required_argument, NULL, 'I'},                                          \
	{"max-cert-ips", required_argument, NULL, 'C'},                                            \
	{"max-domain-ips", required_argument, NULL, 'M'},                                          \
	{"max-san", required_argument, NULL, 'S'}
#define OPT_END {NULL, 0, NULL, 0}
/* clang-format on */

/* What the subcommands may be given; -1 / NULL: not given. */
struct wopts {
	const char *sub;
	const char *db;
	int64_t now; /* 0: the clock */
	bool json, dry_run;
	/* settings (create) */
	const char *description;
	bool auto_given;
	unsigned auto_edges;
	int64_t ttl, tomb, auto_ttl, auto_gen;
	int64_t limit[4]; /* max_ip_domains, max_cert_ips, max_domain_ips, max_san */
	/* entries (add, remove, show, export) */
	const char *type_s;
	const char *reason, *source;
	int64_t expires;
	/* export */
	enum watch_fmt fmt;
	bool csv; /* export: the JSON export rendered as CSV (svc_csv_watch) */
	uint64_t since_version;
	const char *output;
	/* pivot */
	struct pivot_params pp;
	/* sweep */
	int64_t overlap;
};

static int fail(const struct wopts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct wopts *o, const char *fmt, ...)
{
	fprintf(stderr, "infrapivot watchlist %s: ", o->sub);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* A decimal option value 0..max into *out; -1 with a message otherwise. */
static int num_opt(const struct wopts *o, const char *name, const char *v, uint64_t max,
                   int64_t *out)
{
	uint64_t u;
	if (svc_parse_u64(v, &u) != 0 || u > max) {
		fail(o, "--%s must be an integer 0-%llu", name, (unsigned long long)max);
		return -1;
	}
	*out = (int64_t)u;
	return 0;
}

/* A pivot parameter (the pivot subcommand's options and noise limits);
 * messages name it as the option is spelt. */
static int pivot_opt(struct wopts *o, const char *name, const char *arg)
{
	char msg[300];
	if (pivot_params_set(&o->pp, name, arg, msg, sizeof(msg)) == 0)
		return 0;
	for (char *q = msg; *q && *q != ':'; q++)
		if (*q == '_')
			*q = '-';
	return fail(o, "--%s", msg);
}

/* A noise limit: a list setting (create) and a pivot parameter (pivot). */
static int limit_opt(struct wopts *o, int c, const char *name, const char *arg)
{
	static const char codes[] = "ICMS";
	int64_t *out = &o->limit[strchr(codes, c) - codes];
	if (num_opt(o, name, arg, UINT32_MAX, out) != 0)
		return 2;
	return pivot_opt(o, name, arg);
}

/* The settings options of create. */
static int settings_opt(struct wopts *o, int c, const char *arg)
{
	switch (c) {
	case 'D':
		if (strlen(arg) >= STORE_WATCH_DESC_BUF)
			return fail(o, "--description is longer than 512 bytes");
		o->description = arg;
		return 0;
	case 'T':
		if (num_opt(o, "tombstone-days", arg, 3650, &o->tomb) != 0)
			return 2;
		return o->tomb == 0 ? fail(o, "--tombstone-days must be 1-3650") : 0;
	case 'a': {
		char msg[200];
		if (watch_edges_parse(arg, &o->auto_edges, msg, sizeof(msg)) != 0)
			return fail(o, "--auto-expand: %s", msg);
		o->auto_given = true;
		return 0;
	}
	case 'A':
		return num_opt(o, "auto-ttl-days", arg, 36500, &o->auto_ttl) != 0 ? 2 : 0;
	case 'g':
		if (num_opt(o, "auto-generations", arg, STORE_WATCH_MAX_GEN, &o->auto_gen) != 0)
			return 2;
		return o->auto_gen == 0 ? fail(o, "--auto-generations must be 1-6") : 0;
	default:
		return -1;
	}
}

/* The entry and export options. */
static int entry_opt(struct wopts *o, int c, const char *arg)
{
	switch (c) {
	case 'y':
		o->type_s = arg;
		return 0;
	case 'r':
	case 's':
		if (strlen(arg) >= STORE_WATCH_TEXT_BUF)
			return fail(o, "--%s is too long", c == 'r' ? "reason" : "source");
		*(c == 'r' ? &o->reason : &o->source) = arg;
		return 0;
	case 'e':
		if (svc_time_opt(o->sub, "expires", arg, o->now ? o->now : (int64_t)time(NULL),
		                 &o->expires) != 0)
			return 2;
		return 0;
	case 'f':
		o->csv = strcmp(arg, "csv") == 0;
		if (o->csv)
			o->fmt = WATCH_FMT_JSON;
		else if (watch_fmt_parse(arg, &o->fmt) != 0)
			return fail(
			    o, "--format %s: expected json|text|zeek|suricata|stix|csv|misp", arg);
		return 0;
	case 'v':
		if (svc_parse_u64(arg, &o->since_version) != 0)
			return fail(o, "--since-version: '%s' is not a version number", arg);
		return 0;
	case 'o':
		o->output = arg;
		return 0;
	default:
		return -1;
	}
}

/* One option of any subcommand (its table decides which it accepts).
 * Returns 0, or the exit status of a usage error. */
static int watch_opt(struct wopts *o, int c, const char *name, const char *arg)
{
	switch (c) {
	case 'd':
		o->db = arg;
		return 0;
	case 'N': /* taken before the others: see now_first() */
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'n':
		o->dry_run = true;
		return 0;
	case 't':
		return num_opt(o, "ttl-days", arg, 36500, &o->ttl) != 0 ? 2 : 0;
	case 'O':
		return num_opt(o, "overlap", arg, 86400, &o->overlap) != 0 ? 2 : 0;
	case 'I':
	case 'C':
	case 'M':
	case 'S':
		return limit_opt(o, c, name, arg);
	case 'P':
		return pivot_opt(o, name, arg);
	}
	int rc = settings_opt(o, c, arg);
	if (rc < 0)
		rc = entry_opt(o, c, arg);
	return rc < 0 ? 2 : rc;
}

/* --now before the other options: relative times count from it. */
static int now_first(int argc, char **argv, struct wopts *o)
{
	const char *v;
	for (int i = 1; (v = svc_next_now(argc, argv, &i)) != NULL;) {
		if (svc_time_opt(o->sub, "now", v, (int64_t)time(NULL), &o->now) != 0)
			return 2;
		if (pivot_opt(o, "now", v) != 0)
			return 2;
	}
	return 0;
}

/* Parse argv (argv[0] is the subcommand) with the subcommand's table.
 * Returns -1 to go on (optind: the first argument), else the exit status. */
static int parse_opts(int argc, char **argv, const struct option *longopts, struct wopts *o)
{
	/* -o is export's --output */
	bool has_o = false;
	for (const struct option *l = longopts; l->name != NULL; l++)
		has_o |= l->val == 'o';
	memset(o, 0, sizeof(*o));
	o->sub = argv[0];
	o->ttl = o->tomb = o->auto_ttl = o->auto_gen = o->overlap = -1;
	for (int i = 0; i < 4; i++)
		o->limit[i] = -1;
	o->fmt = WATCH_FMT_JSON;
	pivot_params_init(&o->pp);
	if (now_first(argc, argv, o) != 0)
		return 2;
	int c, idx;
	optind = 1;
	while ((c = getopt_long(argc, argv, has_o ? "ho:" : "h", longopts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			svc_opt_error(o->sub, argc, argv, has_o ? "ho:" : "h", longopts);
			return 2;
		}
		const char *name = c == 'o' ? "output" : longopts[idx].name;
		int rc = watch_opt(o, c, name, optarg);
		if (rc != 0)
			return rc;
	}
	return -1;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s != NULL) {
		puts(s);
		free(s);
	}
}

static int store_fail(const struct wopts *o, int err, const char *name)
{
	if (err == STORE_ENOTFOUND)
		return fail(o, "no watchlist named '%s' (see `infrapivot watchlist list`)", name);
	const char *d = store_last_error();
	return fail(o, "%s%s%s", store_strerror(err), *d ? ": " : "", d);
}

/* The one NAME argument most subcommands take, checked.  0 or exit status. */
static int name_arg(const struct wopts *o, int argc, char **argv)
{
	if (argc != 1)
		return fail(o, "give one NAME");
	if (store_watch_name_ok(argv[0]))
		return 0;
	return fail(o,
	            "'%s' is not a watchlist name (1-64 of A-Z a-z 0-9 . _ -, not "
	            "starting with a dot)",
	            argv[0]);
}

/* Open the database and read list name at o->now.  0, or the exit status
 * (nothing left open). */
static int open_list(const struct wopts *o, const char *name, bool rdonly, store_t **s,
                     struct store_watch_info *info)
{
	*s = svc_open_db(o->db, rdonly);
	if (*s == NULL)
		return 2;
	int err = store_watch_get(*s, name, o->now, info);
	if (err == 0)
		return 0;
	store_close(*s);
	*s = NULL;
	return store_fail(o, err, name);
}

/* ---- create --------------------------------------------------------------------- */
/* The settings given on the command line over set. */
static void settings_apply(const struct wopts *o, struct store_watch_settings *set)
{
	if (o->description != NULL)
		snprintf(set->description, sizeof(set->description), "%s", o->description);
	if (o->ttl >= 0)
		set->ttl_days = (uint32_t)o->ttl;
	if (o->tomb >= 0)
		set->tombstone_days = (uint32_t)o->tomb;
	if (o->auto_given)
		set->auto_edges = o->auto_edges;
	if (o->auto_ttl >= 0)
		set->auto_ttl_days = (uint32_t)o->auto_ttl;
	if (o->auto_gen >= 0)
		set->auto_max_gen = (unsigned)o->auto_gen;
	uint64_t *lim[4] = {&set->max_ip_domains, &set->max_cert_ips, &set->max_domain_ips,
	                    &set->max_san};
	for (int i = 0; i < 4; i++)
		if (o->limit[i] >= 0)
			*lim[i] = (uint64_t)o->limit[i];
}

static const struct option create_opts[] = {
    OPTS_COMMON,
    {"json", no_argument, NULL, 'j'},
    {"description", required_argument, NULL, 'D'},
    {"ttl-days", required_argument, NULL, 't'},
    {"tombstone-days", required_argument, NULL, 'T'},
    {"auto-expand", required_argument, NULL, 'a'},
    {"auto-ttl-days", required_argument, NULL, 'A'},
    {"auto-generations", required_argument, NULL, 'g'},
    OPTS_LIMITS,
    OPT_END,
};

static int cmd_create(struct wopts *o, int argc, char **argv)
{
	const char *name = argv[0];
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	struct store_watch_settings set;
	struct store_watch_info info;
	bool created = false;
	int err = watch_settings_load(s, name, o->now, &set);
	if (err == 0) {
		settings_apply(o, &set);
		err = store_watch_put(s, &set, o->now, &created);
	}
	if (err == 0)
		err = store_watch_get(s, name, o->now, &info);
	store_close(s);
	if (err != 0)
		return store_fail(o, err, name);
	if (o->json) {
		json_t *j = watch_info_json(&info);
		json_object_set_new(j, "created_now", json_boolean(created));
		print_json(j);
	} else {
		printf("%s watchlist %s (version %llu)\n", created ? "created" : "updated", name,
		       (unsigned long long)info.version);
	}
	return 0;
}

/* ---- list, show ------------------------------------------------------------------ */
static void print_standing(const struct store_watch_info *i)
{
	const struct store_watch_settings *st = &i->set;
	if (st->auto_edges) {
		printf("  standing pivot  over ");
		bool first = true;
		for (unsigned b = 1; b <= STORE_EDGE_SNI; b <<= 1) {
			if (st->auto_edges & b) {
				printf("%s%s", first ? "" : ",", store_edge_name(b));
				first = false;
			}
		}
		printf("; adds expire after %u days; generations %u\n",
		       st->auto_ttl_days ? st->auto_ttl_days : st->ttl_days, st->auto_max_gen);
		printf(
		    "  noise limits    ip %llu names, cert %llu IPs, domain %llu IPs, %llu SANs\n",
		    (unsigned long long)st->max_ip_domains, (unsigned long long)st->max_cert_ips,
		    (unsigned long long)st->max_domain_ips, (unsigned long long)st->max_san);
	} else {
		printf("  standing pivot  off\n");
	}
	printf("  standing pivot  added %llu; not added (noise limits, co-tenants) %llu\n",
	       (unsigned long long)i->auto_added, (unsigned long long)i->noise_skipped);
	if (i->last_skip[0]) {
		char t[32];
		util_time_format(i->last_skip_time, t, sizeof(t));
		printf("  last not added  %s at %s\n", i->last_skip, t);
	}
}

static void print_settings(const struct store_watch_info *i)
{
	const struct store_watch_settings *st = &i->set;
	char c[32], u[32];
	util_time_format(i->created, c, sizeof(c));
	util_time_format(i->updated, u, sizeof(u));
	printf("watchlist %s  version %llu\n", st->name, (unsigned long long)i->version);
	if (st->description[0])
		printf("  description     %s\n", st->description);
	if (st->ttl_days)
		printf("  expiry          %u days after an entry is added or refreshed\n",
		       st->ttl_days);
	else
		printf("  expiry          never\n");
	printf("  entries         %llu live; %llu removals/expiries kept %u days for deltas "
	       "(complete from version %llu)\n",
	       (unsigned long long)i->live, (unsigned long long)i->tombstones, st->tombstone_days,
	       (unsigned long long)i->delta_floor);
	print_standing(i);
	printf("  created         %s, updated %s\n", c, u);
}

static int list_cb(const struct store_watch_info *i, void *ctx)
{
	json_t *arr = ctx;
	json_array_append_new(arr, watch_info_json(i));
	return 0;
}

/* One row of `list`: w is a list as watch_info_json renders it. */
static void print_list_row(const json_t *w)
{
	json_t *ae = json_object_get(w, "auto_expand");
	char edges[64] = "off";
	if (!json_is_null(ae)) {
		size_t k, o2 = 0;
		json_t *e;
		json_array_foreach(json_object_get(ae, "edges"), k, e)
		{
			int n = snprintf(edges + o2, sizeof(edges) - o2, "%s%s", k ? "," : "",
			                 json_string_value(e));
			if (n < 0 || (size_t)n >= sizeof(edges) - o2)
				break;
			o2 += (size_t)n;
		}
	}
	printf("%-24s %8lld %8lld %10lld %-20s %s\n", json_string_value(json_object_get(w, "name")),
	       (long long)json_integer_value(json_object_get(w, "version")),
	       (long long)json_integer_value(json_object_get(w, "entries")),
	       (long long)json_integer_value(json_object_get(w, "tombstones")), edges,
	       json_string_value(json_object_get(w, "description")));
}

static const struct option list_opts[] = {OPTS_COMMON, {"json", no_argument, NULL, 'j'}, OPT_END};

static int cmd_list(struct wopts *o, int argc, char **argv)
{
	if (argc != 0)
		return fail(o, "takes no arguments");
	store_t *s = svc_open_db(o->db, true);
	if (s == NULL)
		return 2;
	json_t *arr = json_array();
	int err = store_watch_list(s, o->now, list_cb, arr);
	store_close(s);
	if (err != 0) {
		json_decref(arr);
		return store_fail(o, err, "");
	}
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "watchlists", arr);
		print_json(j);
		return 0;
	}
	if (json_array_size(arr) == 0)
		fprintf(stderr,
		        "no watchlists (create one with `infrapivot watchlist create NAME`)\n");
	else
		printf("%-24s %8s %8s %10s %-20s %s\n", "name", "version", "entries", "tombstones",
		       "standing pivot", "description");
	size_t i;
	json_t *w;
	json_array_foreach(arr, i, w) print_list_row(w);
	json_decref(arr);
	return 0;
}

struct show_ctx {
	json_t *arr;
	bool json;
	unsigned n;
	unsigned type; /* 0: every type */
};

/* A provenance under its entry: the note, then each hop. */
static void print_prov(const struct store_watch_entry *e, const struct store_watch_prov *p,
                       bool latest)
{
	if (p->note[0] && strcmp(p->note, e->source) != 0)
		printf("%-6s %s%s\n", "", latest ? "latest: " : "", p->note);
	for (unsigned h = 0; h < p->nhops; h++) {
		char f[32], l[32];
		const char *src, *dst;
		unsigned edge = watch_hop_orient(&p->hops[h], &src, &dst);
		util_time_format(p->hops[h].first_seen, f, sizeof(f));
		util_time_format(p->hops[h].last_seen, l, sizeof(l));
		printf("%-6s   %s -%s-> %s  (seen %.10s .. %.10s)\n", "", src,
		       store_edge_name(edge), dst, f, l);
	}
}

static int show_cb(const struct store_watch_entry *e, void *vctx)
{
	struct show_ctx *c = vctx;
	if (c->type != 0 && e->type != c->type)
		return 0;
	if (c->json) {
		json_array_append_new(c->arr, watch_entry_json(e, true));
		return 0;
	}
	if (c->n++ == 0)
		printf("\n%-6s %-42s %-20s %-20s %s\n", "type", "indicator", "added", "expires",
		       "source / provenance");
	char a[32], x[32] = "never";
	util_time_format(e->added, a, sizeof(a));
	if (e->expires)
		util_time_format(e->expires, x, sizeof(x));
	printf("%-6s %-42s %-20s %-20s %s\n", store_watch_type_name(e->type), e->indicator, a, x,
	       e->source);
	print_prov(e, &e->prov_first, false);
	if (e->has_latest)
		print_prov(e, &e->prov_latest, true);
	if (e->reason[0])
		printf("%-6s reason: %s\n", "", e->reason);
	return 0;
}

static const struct option show_opts[] = {
    OPTS_COMMON, {"json", no_argument, NULL, 'j'}, {"type", required_argument, NULL, 'y'}, OPT_END};

static int cmd_show(struct wopts *o, int argc, char **argv)
{
	const char *name = argv[0];
	struct show_ctx c = {.json = o->json};
	if (o->type_s != NULL && store_watch_type_parse(o->type_s, &c.type) != 0)
		return fail(o, "--type: '%s' is not domain, ip or cert", o->type_s);
	store_t *s;
	struct store_watch_info info;
	int rc = open_list(o, name, true, &s, &info);
	if (rc != 0)
		return rc;
	if (!o->json)
		print_settings(&info);
	c.arr = json_array();
	int err = store_watch_read(s, name, o->now, 0, show_cb, &c, &info, NULL);
	store_close(s);
	if (err != 0) {
		json_decref(c.arr);
		return store_fail(o, err, name);
	}
	if (!o->json) {
		json_decref(c.arr);
		return 0;
	}
	json_t *j = json_object();
	json_object_set_new(j, "watchlist", watch_info_json(&info));
	json_object_set_new(j, "entries", c.arr);
	print_json(j);
	return 0;
}

/* ---- add, remove ------------------------------------------------------------------- */
/* What add and remove work on: the items and how they are made. */
struct batch {
	const struct wopts *o;
	struct watch_items it;
	unsigned type;
	char source[STORE_WATCH_TEXT_BUF];
	int64_t now, ttl;
	uint32_t default_ttl;
};

static int batch_add(struct batch *b, const char *indicator, const char *where)
{
	char msg[300], ascii[STORE_WATCH_IND_BUF];
	if (svc_idn_ascii(indicator, ascii, sizeof(ascii), msg, sizeof(msg)) != 0)
		return fail(b->o, "%s%s", where, msg);
	indicator = ascii;
	if (watch_items_add(&b->it, indicator, b->type, b->o->reason, b->source, b->ttl,
	                    b->o->expires, b->default_ttl, b->now, msg, sizeof(msg)) == 0)
		return 0;
	return fail(b->o, "%s%s", where, msg);
}

/* Trim a line of standard input: NULL for blank lines and comments. */
static char *stdin_item(char *line, size_t n)
{
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
	                 line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == '\0' || *line == '#' ? NULL : line;
}

static int batch_stdin(struct batch *b)
{
	char line[1024], where[32];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n')
			return fail(b->o, "stdin:%u: line too long", lineno);
		char *p = stdin_item(line, n);
		snprintf(where, sizeof(where), "stdin:%u: ", lineno);
		if (p != NULL && batch_add(b, p, where) != 0)
			return 2;
	}
	return 0;
}

/* The indicators of argv (- reads standard input) into b->it. */
static int batch_args(struct batch *b, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		int rc = strcmp(argv[i], "-") == 0 ? batch_stdin(b) : batch_add(b, argv[i], "");
		if (rc != 0)
			return rc;
	}
	if (b->it.n == 0)
		return fail(b->o, "no indicators given");
	return 0;
}

/* The outcome of add or remove: JSON, or a summary line (and, for
 * remove, a line for each indicator that was not on the list). */
static void print_results(const struct wopts *o, const char *name, const struct batch *b,
                          const int *results, uint64_t version, bool remove,
                          const unsigned counts[5])
{
	json_t *arr = watch_results_json(&b->it, results);
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "watchlist", json_string(name));
		json_object_set_new(j, "version", json_integer((json_int_t)version));
		json_object_set_new(j, "results", arr);
		print_json(j);
		return;
	}
	json_decref(arr);
	for (size_t i = 0; i < b->it.n; i++)
		if (results[i] == STORE_WATCH_ABSENT)
			fprintf(stderr, "infrapivot watchlist remove: %s is not on %s\n",
			        b->it.v[i].indicator, name);
	if (remove)
		printf("%s: removed %u, not on the list %u (version %llu)\n", name,
		       counts[STORE_WATCH_REMOVED_OK], counts[STORE_WATCH_ABSENT],
		       (unsigned long long)version);
	else
		printf("%s: added %u, refreshed %u (version %llu)\n", name,
		       counts[STORE_WATCH_ADDED], counts[STORE_WATCH_REFRESHED],
		       (unsigned long long)version);
}

/* Add or remove b's items in one transaction, and report. */
static int batch_apply(struct batch *b, store_t *s, const char *name, bool remove)
{
	int *results = calloc(b->it.n, sizeof(*results));
	uint64_t version = 0;
	int err = results == NULL ? -ENOMEM
	          : remove
	              ? store_watch_remove(s, name, b->it.v, b->it.n, b->now, results, &version)
	              : store_watch_add(s, name, b->it.v, b->it.n, b->now, results, &version);
	if (err != 0) {
		free(results);
		return store_fail(b->o, err, name);
	}
	unsigned counts[5] = {0};
	for (size_t i = 0; i < b->it.n; i++)
		if (results[i] >= 1 && results[i] <= 4)
			counts[results[i]]++;
	print_results(b->o, name, b, results, version, remove, counts);
	free(results);
	return counts[STORE_WATCH_ABSENT] > 0 ? 1 : 0;
}

static int add_remove(const struct wopts *o, int argc, char **argv, bool remove)
{
	if (argc < 2)
		return fail(o, "give NAME and at least one INDICATOR (or - to read them from "
		               "standard input)");
	if (name_arg(o, 1, argv) != 0)
		return 2;
	struct batch b = {.o = o, .now = o->now ? o->now : (int64_t)time(NULL), .ttl = o->ttl};
	if (o->type_s != NULL && store_watch_type_parse(o->type_s, &b.type) != 0)
		return fail(o, "--type: '%s' is not domain, ip, cert or auto", o->type_s);
	store_t *s;
	struct store_watch_info info;
	int rc = open_list(o, argv[0], false, &s, &info);
	if (rc != 0)
		return rc;
	b.default_ttl = info.set.ttl_days;
	const char *user = getenv("USER");
	if (o->source != NULL)
		snprintf(b.source, sizeof(b.source), "%s", o->source);
	else
		snprintf(b.source, sizeof(b.source), "cli:%s", user && *user ? user : "unknown");
	watch_items_init(&b.it);
	rc = batch_args(&b, argc - 1, argv + 1);
	if (rc == 0)
		rc = batch_apply(&b, s, argv[0], remove);
	store_close(s);
	watch_items_free(&b.it);
	return rc;
}

static const struct option add_opts[] = {
    OPTS_COMMON,
    {"json", no_argument, NULL, 'j'},
    {"type", required_argument, NULL, 'y'},
    {"reason", required_argument, NULL, 'r'},
    {"ttl-days", required_argument, NULL, 't'},
    {"expires", required_argument, NULL, 'e'},
    {"source", required_argument, NULL, 's'},
    OPT_END,
};

static int cmd_add(struct wopts *o, int argc, char **argv)
{
	return add_remove(o, argc, argv, false);
}

static const struct option remove_opts[] = {
    OPTS_COMMON, {"json", no_argument, NULL, 'j'}, {"type", required_argument, NULL, 'y'}, OPT_END};

static int cmd_remove(struct wopts *o, int argc, char **argv)
{
	return add_remove(o, argc, argv, true);
}

static const struct option delete_opts[] = {OPTS_COMMON, OPT_END};

static int cmd_delete(struct wopts *o, int argc, char **argv)
{
	const char *name = argv[0];
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	int err = store_watch_delete(s, name);
	store_close(s);
	if (err != 0)
		return store_fail(o, err, name);
	printf("deleted watchlist %s\n", name);
	return 0;
}

/* ---- pivot ------------------------------------------------------------------------------ */
static void print_pivot(const char *name, const json_t *res, bool dry_run)
{
	json_t *arr = json_object_get(res, "entries");
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		printf("%-10s %-6s %s\n", json_string_value(json_object_get(e, "result")),
		       json_string_value(json_object_get(e, "type")),
		       json_string_value(json_object_get(e, "indicator")));
	}
	printf("%s: %s %lld, refreshed %lld, pruned (not added) %lld (version %lld)%s\n", name,
	       dry_run ? "would add" : "added",
	       (long long)(dry_run ? (json_int_t)json_array_size(arr)
	                           : json_integer_value(json_object_get(res, "added"))),
	       (long long)json_integer_value(json_object_get(res, "refreshed")),
	       (long long)json_integer_value(json_object_get(res, "pruned")),
	       (long long)json_integer_value(json_object_get(res, "version")),
	       json_is_true(json_object_get(res, "truncated")) ? "; the pivot was truncated" : "");
}

/* NAME SEED: the seed (and --type) into the pivot parameters. */
static int pivot_args(struct wopts *o, int argc, char **argv)
{
	if (argc != 2)
		return fail(o, "give NAME and one SEED");
	if (name_arg(o, 1, argv) != 0)
		return 2;
	char msg[300];
	if (o->type_s != NULL && pivot_params_set(&o->pp, "type", o->type_s, msg, sizeof(msg)) != 0)
		return fail(o, "--%s", msg);
	if (pivot_params_set(&o->pp, "seed", argv[1], msg, sizeof(msg)) != 0 ||
	    pivot_params_check(&o->pp, msg, sizeof(msg)) != 0)
		return fail(o, "%s", msg);
	return 0;
}

static const struct option pivot_opts[] = {
    OPTS_COMMON,
    {"json", no_argument, NULL, 'j'},
    {"type", required_argument, NULL, 'y'},
    {"ttl-days", required_argument, NULL, 't'},
    {"reason", required_argument, NULL, 'r'},
    {"source", required_argument, NULL, 's'},
    {"dry-run", no_argument, NULL, 'n'},
    OPTS_LIMITS,
    {"depth", required_argument, NULL, 'P'},
    {"since", required_argument, NULL, 'P'},
    {"until", required_argument, NULL, 'P'},
    {"edges", required_argument, NULL, 'P'},
    {"max-nodes", required_argument, NULL, 'P'},
    {"max-ms", required_argument, NULL, 'P'},
    {"max-cotenant-days", required_argument, NULL, 'P'},
    {"no-affinity", no_argument, NULL, 'P'},
    OPT_END,
};

static int cmd_pivot(struct wopts *o, int argc, char **argv)
{
	int rc = pivot_args(o, argc, argv);
	if (rc != 0)
		return rc;
	const char *name = argv[0];
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	const char *user = getenv("USER");
	char who[128], msg[300];
	snprintf(who, sizeof(who), "%s", o->source ? o->source : user && *user ? user : "cli");
	json_t *res = NULL;
	int err = watch_pivot(s, name, &o->pp, o->ttl, who, o->reason, o->now, o->dry_run, &res,
	                      msg, sizeof(msg));
	store_close(s);
	if (err == STORE_ENOTFOUND && strncmp(msg, "no watchlist", 12) == 0)
		return store_fail(o, err, name);
	if (err != 0)
		return fail(o, "%s", *msg ? msg : store_strerror(err));
	if (o->json) {
		print_json(res);
		return 0;
	}
	print_pivot(name, res, o->dry_run);
	json_decref(res);
	return 0;
}

/* ---- export ---------------------------------------------------------------------------------- */
/* The rendered export to -o FILE or standard output.  0 or exit status. */
static int write_out(const struct wopts *o, const char *out, size_t len,
                     const struct store_watch_info *info)
{
	FILE *f = stdout;
	if (o->output != NULL) {
		f = fopen(o->output, "w");
		if (f == NULL) {
			perror(o->output);
			return 2;
		}
	}
	size_t w = fwrite(out, 1, len, f);
	if (w != len || (f != stdout && fclose(f) != 0) || (f == stdout && fflush(stdout) != 0)) {
		perror(o->output ? o->output : "stdout");
		return 2;
	}
	if (o->output != NULL)
		fprintf(stderr, "wrote %s: version %llu, %llu entries live\n", o->output,
		        (unsigned long long)info->version, (unsigned long long)info->live);
	return 0;
}

static const struct option export_opts[] = {
    OPTS_COMMON,
    {"format", required_argument, NULL, 'f'},
    {"type", required_argument, NULL, 'y'},
    {"since-version", required_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    OPT_END,
};

static int cmd_export(struct wopts *o, int argc, char **argv)
{
	const char *name = argv[0];
	struct watch_export_opts x = {.fmt = o->fmt, .since = o->since_version, .now = o->now};
	if (o->type_s != NULL && (store_watch_type_parse(o->type_s, &x.type) != 0 || x.type == 0))
		return fail(o, "--type: '%s' is not domain, ip or cert", o->type_s);
	store_t *s = svc_open_db(o->db, true);
	if (s == NULL)
		return 2;
	char *out = NULL, msg[300] = "";
	size_t len = 0;
	struct store_watch_info info;
	if (o->csv && x.since != 0) {
		store_close(s);
		return fail(o, "--format csv is the whole list (no --since-version)");
	}
	int err = watch_export(s, name, &x, &out, &len, &info, msg, sizeof(msg));
	store_close(s);
	if (err == STORE_ENOTFOUND)
		return store_fail(o, err, name);
	if (err != 0)
		return fail(o, "%s", *msg ? msg : store_strerror(err));
	if (o->csv) {
		char *csv = svc_csv_watch(out, len, &len);
		free(out);
		out = csv;
		if (out == NULL)
			return fail(o, "out of memory rendering CSV");
	}
	int rc = write_out(o, out, len, &info);
	free(out);
	return rc;
}

/* ---- sweep ----------------------------------------------------------------------------------- */
static const struct option sweep_opts[] = {
    OPTS_COMMON,
    {"json", no_argument, NULL, 'j'},
    {"overlap", required_argument, NULL, 'O'},
    OPT_END,
};

static int cmd_sweep(struct wopts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return fail(o, "takes no arguments");
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	struct watch_sweep_opts x = {
	    .overlap = o->overlap >= 0 ? (uint32_t)o->overlap : WATCH_SWEEP_OVERLAP, .now = o->now};
	struct watch_sweep_stats st;
	char msg[700] = "";
	int err = watch_sweep(s, &x, &st, msg, sizeof(msg));
	store_close(s);
	if (err != 0)
		return fail(o, "%s", *msg ? msg : store_strerror(err));
	if (o->json)
		printf("{\"from\":%u,\"checkpoint\":%u,\"names\":%llu,\"addrs\":%llu,"
		       "\"certs\":%llu,\"keys\":%llu,\"rows\":%llu,\"fed\":%llu}\n",
		       st.from, st.to, (unsigned long long)st.names, (unsigned long long)st.addrs,
		       (unsigned long long)st.certs, (unsigned long long)st.keys,
		       (unsigned long long)st.rows, (unsigned long long)st.fed);
	else
		printf(
		    "swept %u..%u: %llu watched domains, %llu IPs, %llu certificates, %llu keys; "
		    "%llu rows, %llu fed to the standing pivots\n",
		    st.from, st.to, (unsigned long long)st.names, (unsigned long long)st.addrs,
		    (unsigned long long)st.certs, (unsigned long long)st.keys,
		    (unsigned long long)st.rows, (unsigned long long)st.fed);
	return 0;
}

static const struct {
	const char *name;
	const struct option *opts;
	bool one_name; /* takes exactly one NAME (checked before run) */
	int (*run)(struct wopts *o, int argc, char **argv);
} subs[] = {
    {"create", create_opts, true, cmd_create},  {"list", list_opts, false, cmd_list},
    {"show", show_opts, true, cmd_show},        {"add", add_opts, false, cmd_add},
    {"remove", remove_opts, false, cmd_remove}, {"delete", delete_opts, true, cmd_delete},
    {"pivot", pivot_opts, false, cmd_pivot},    {"export", export_opts, true, cmd_export},
    {"sweep", sweep_opts, false, cmd_sweep},
};

int svc_cmd_watchlist(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(sub, subs[i].name) != 0)
			continue;
		/* the subcommand's options from "SUB [OPTIONS] ARGS..." */
		struct wopts o;
		int rc = parse_opts(argc - 1, argv + 1, subs[i].opts, &o);
		if (rc >= 0)
			return rc;
		int n = argc - 1 - optind;
		char **args = argv + 1 + optind;
		rc = subs[i].one_name ? name_arg(&o, n, args) : 0;
		return rc != 0 ? rc : subs[i].run(&o, n, args);
	}
	fprintf(stderr,
	        "infrapivot watchlist: unknown subcommand '%s' (create, list, show, add, remove, "
	        "delete, pivot, export, sweep)\n",
	        sub);
	return 2;
}
