/*
 * cli_watch.c - `infrapivot watchlist create|list|show|add|remove|delete|
 * pivot|export`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc.h"
#include "watch/watch.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
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
	    "                               suricata (--type ip|domain|cert) or stix\n"
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
	    "  --max-nodes, --max-ms, --type for the seed), and --ttl-days, --reason,\n"
	    "  --dry-run (show what would be added, change nothing).\n"
	    "\n"
	    "Export (export):\n"
	    "  --format F                   json (default), text (one indicator a line),\n"
	    "                               zeek (Intel framework file), suricata (dataset\n"
	    "                               file of one --type: ip addresses, base64 domain\n"
	    "                               names, or base64 tls.cert_fingerprint values),\n"
	    "                               stix (STIX 2.1 bundle of indicators)\n"
	    "  --type domain|ip|cert        only this type (suricata: required)\n"
	    "  --since-version N            json/stix: only what changed after version N\n"
	    "                               (adds and, under \"removed\", removals/expiries)\n"
	    "  -o, --output FILE            write there instead of standard output\n"
	    "\n"
	    "Common options:\n"
	    "  --db DIR                     database directory\n"
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
	    "nothing to show, 2 a usage, input or database error.\n");
}

enum {
	O_DB = 1000,
	O_NOW,
	O_JSON,
	O_DESC,
	O_TTL,
	O_TOMB,
	O_AUTO,
	O_AUTO_TTL,
	O_AUTO_GEN,
	O_MAX_IPD,
	O_MAX_CIP,
	O_MAX_DIP,
	O_MAX_SAN,
	O_TYPE,
	O_REASON,
	O_EXPIRES,
	O_SOURCE,
	O_FORMAT,
	O_SINCE_VERSION,
	O_OUTPUT,
	O_DRY_RUN,
	O_PIVOT,
	O_HELP,
};

static const struct option longopts[] = {
    {"db", required_argument, NULL, O_DB},
    {"now", required_argument, NULL, O_NOW},
    {"json", no_argument, NULL, O_JSON},
    {"description", required_argument, NULL, O_DESC},
    {"ttl-days", required_argument, NULL, O_TTL},
    {"tombstone-days", required_argument, NULL, O_TOMB},
    {"auto-expand", required_argument, NULL, O_AUTO},
    {"auto-ttl-days", required_argument, NULL, O_AUTO_TTL},
    {"auto-generations", required_argument, NULL, O_AUTO_GEN},
    {"max-ip-domains", required_argument, NULL, O_MAX_IPD},
    {"max-cert-ips", required_argument, NULL, O_MAX_CIP},
    {"max-domain-ips", required_argument, NULL, O_MAX_DIP},
    {"max-san", required_argument, NULL, O_MAX_SAN},
    {"type", required_argument, NULL, O_TYPE},
    {"reason", required_argument, NULL, O_REASON},
    {"expires", required_argument, NULL, O_EXPIRES},
    {"source", required_argument, NULL, O_SOURCE},
    {"format", required_argument, NULL, O_FORMAT},
    {"since-version", required_argument, NULL, O_SINCE_VERSION},
    {"output", required_argument, NULL, O_OUTPUT},
    {"dry-run", no_argument, NULL, O_DRY_RUN},
    {"depth", required_argument, NULL, O_PIVOT},
    {"since", required_argument, NULL, O_PIVOT},
    {"until", required_argument, NULL, O_PIVOT},
    {"edges", required_argument, NULL, O_PIVOT},
    {"max-nodes", required_argument, NULL, O_PIVOT},
    {"max-ms", required_argument, NULL, O_PIVOT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Everything the subcommands may be given. */
struct opts {
	const char *sub;
	const char *db;
	int64_t now; /* 0: the clock */
	bool json, dry_run;
	/* settings: set_* tells which were given */
	const char *description;
	int64_t ttl, tomb, auto_ttl, auto_gen;
	int64_t max_ipd, max_cip, max_dip, max_san;
	const char *auto_expand;
	/* entries */
	const char *type_s;
	unsigned type;
	const char *reason, *source;
	int64_t expires;
	/* export */
	enum watch_fmt fmt;
	uint64_t since_version;
	const char *output;
	/* pivot */
	struct pivot_params pp;
	bool pivot_opts;
	/* which option letters were given, for per-subcommand checks */
	bool given[O_HELP - O_DB + 1];
};

static const char *opt_name(int code)
{
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

static int bad(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const struct opts *o, const char *fmt, ...)
{
	fprintf(stderr, "infrapivot watchlist %s: ", o->sub);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int num_opt(const struct opts *o, const char *name, const char *v, uint64_t max,
                   int64_t *out)
{
	uint64_t u;
	if (svc_parse_u64(v, &u) != 0 || u > max) {
		char lim[32];
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)max);
		fprintf(stderr, "infrapivot watchlist %s: --%s must be an integer 0-%s\n", o->sub,
		        name, lim);
		return -1;
	}
	*out = (int64_t)u;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	pivot_params_init(&o->pp);
	char msg[300];
	/* --now first: relative times count from it */
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--now") != 0)
			continue;
		if (store_time_parse(argv[i + 1], (int64_t)time(NULL), &o->now) != 0 ||
		    o->now <= 0) {
			fprintf(stderr, "infrapivot watchlist %s: --now: '%s' is not a time\n",
			        o->sub, argv[i + 1]);
			return 2;
		}
		pivot_params_set(&o->pp, "now", argv[i + 1], msg, sizeof(msg));
	}
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	int c, idx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", longopts, &idx)) != -1) {
		if (c >= O_DB && c <= O_HELP)
			o->given[c - O_DB] = true;
		switch (c) {
		case O_DB:
			o->db = optarg;
			break;
		case O_NOW:
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_DRY_RUN:
			o->dry_run = true;
			break;
		case O_DESC:
			o->description = optarg;
			break;
		case O_TTL:
			if (num_opt(o, "ttl-days", optarg, 36500, &o->ttl) != 0)
				return 2;
			break;
		case O_TOMB:
			if (num_opt(o, "tombstone-days", optarg, 3650, &o->tomb) != 0)
				return 2;
			if (o->tomb == 0)
				return bad(o, "--tombstone-days must be 1-3650");
			break;
		case O_AUTO:
			o->auto_expand = optarg;
			break;
		case O_AUTO_TTL:
			if (num_opt(o, "auto-ttl-days", optarg, 36500, &o->auto_ttl) != 0)
				return 2;
			break;
		case O_AUTO_GEN:
			if (num_opt(o, "auto-generations", optarg, STORE_WATCH_MAX_GEN,
			            &o->auto_gen) != 0)
				return 2;
			if (o->auto_gen == 0)
				return bad(o, "--auto-generations must be 1-6");
			break;
		case O_MAX_IPD:
		case O_MAX_CIP:
		case O_MAX_DIP:
		case O_MAX_SAN: {
			int64_t v;
			if (num_opt(o, opt_name(c), optarg, UINT32_MAX, &v) != 0)
				return 2;
			if (c == O_MAX_IPD)
				o->max_ipd = v;
			else if (c == O_MAX_CIP)
				o->max_cip = v;
			else if (c == O_MAX_DIP)
				o->max_dip = v;
			else
				o->max_san = v;
			/* the pivot subcommand takes them as pivot parameters */
			if (pivot_params_set(&o->pp, opt_name(c), optarg, msg, sizeof(msg)) != 0)
				return bad(o, "--%s", msg);
			o->pivot_opts = true;
			break;
		}
		case O_TYPE:
			o->type_s = optarg;
			break;
		case O_REASON:
			if (strlen(optarg) >= STORE_WATCH_TEXT_BUF)
				return bad(o, "--reason is too long");
			o->reason = optarg;
			break;
		case O_SOURCE:
			if (strlen(optarg) >= STORE_WATCH_TEXT_BUF)
				return bad(o, "--source is too long");
			o->source = optarg;
			break;
		case O_EXPIRES:
			if (store_time_parse(optarg, now, &o->expires) != 0 || o->expires <= 0)
				return bad(o, "--expires: '%s' is not a time", optarg);
			break;
		case O_FORMAT:
			if (watch_fmt_parse(optarg, &o->fmt) != 0)
				return bad(
				    o, "--format: '%s' is not json, text, zeek, suricata or stix",
				    optarg);
			break;
		case O_SINCE_VERSION:
			if (svc_parse_u64(optarg, &o->since_version) != 0)
				return bad(o, "--since-version: '%s' is not a version number",
				           optarg);
			break;
		case 'o':
		case O_OUTPUT:
			o->output = optarg;
			o->given[O_OUTPUT - O_DB] = true;
			break;
		case O_PIVOT:
			if (pivot_params_set(&o->pp, longopts[idx].name, optarg, msg,
			                     sizeof(msg)) != 0) {
				for (char *q = msg; *q && *q != ':'; q++)
					if (*q == '_')
						*q = '-';
				return bad(o, "--%s", msg);
			}
			o->pivot_opts = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try `infrapivot watchlist --help`.\n");
			return 2;
		}
	}
	return -1; /* go on */
}

/* The options a subcommand accepts (others are a usage error). */
static int allow_only(const struct opts *o, const int *allowed)
{
	for (int c = O_DB; c <= O_HELP; c++) {
		if (!o->given[c - O_DB] || c == O_DB || c == O_NOW || c == O_HELP)
			continue;
		bool ok = false;
		for (const int *a = allowed; *a != 0; a++)
			ok |= *a == c;
		if (!ok) {
			const char *name = opt_name(c);
			if (c == O_PIVOT)
				name = "depth/--since/--until/--edges/--max-nodes/--max-ms";
			fprintf(stderr, "infrapivot watchlist %s: --%s does not apply here\n",
			        o->sub, name);
			return 2;
		}
	}
	return 0;
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

static int store_fail(const struct opts *o, int err, const char *name)
{
	if (err == STORE_ENOTFOUND) {
		fprintf(stderr,
		        "infrapivot watchlist %s: no watchlist named '%s' (see `infrapivot "
		        "watchlist list`)\n",
		        o->sub, name);
		return 2;
	}
	const char *d = store_last_error();
	fprintf(stderr, "infrapivot watchlist %s: %s%s%s\n", o->sub, store_strerror(err),
	        *d ? ": " : "", d);
	return 2;
}

static int check_name(const struct opts *o, const char *name)
{
	if (store_watch_name_ok(name))
		return 0;
	fprintf(stderr,
	        "infrapivot watchlist %s: '%s' is not a watchlist name (1-64 of "
	        "A-Z a-z 0-9 . _ -, not starting with a dot)\n",
	        o->sub, name);
	return 2;
}

/* ---- create --------------------------------------------------------------------- */
static int cmd_create(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {O_DESC,    O_TTL,     O_TOMB,    O_AUTO,    O_AUTO_TTL, O_AUTO_GEN,
	                         O_MAX_IPD, O_MAX_CIP, O_MAX_DIP, O_MAX_SAN, O_JSON,     0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 1)
		return bad(o, "give one NAME");
	const char *name = argv[0];
	if (check_name(o, name) != 0)
		return 2;
	if (o->description != NULL && strlen(o->description) >= STORE_WATCH_DESC_BUF)
		return bad(o, "--description is longer than 512 bytes");
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	struct store_watch_settings set;
	struct store_watch_info info;
	int err = store_watch_get(s, name, o->now, &info);
	if (err == 0) {
		set = info.set;
	} else if (err == STORE_ENOTFOUND) {
		store_watch_settings_init(&set);
		snprintf(set.name, sizeof(set.name), "%s", name);
	} else {
		store_close(s);
		return store_fail(o, err, name);
	}
	if (o->description != NULL)
		snprintf(set.description, sizeof(set.description), "%s", o->description);
	if (o->given[O_TTL - O_DB])
		set.ttl_days = (uint32_t)o->ttl;
	if (o->given[O_TOMB - O_DB])
		set.tombstone_days = (uint32_t)o->tomb;
	if (o->auto_expand != NULL) {
		char msg[200];
		if (watch_edges_parse(o->auto_expand, &set.auto_edges, msg, sizeof(msg)) != 0) {
			store_close(s);
			return bad(o, "--auto-expand: %s", msg);
		}
	}
	if (o->given[O_AUTO_TTL - O_DB])
		set.auto_ttl_days = (uint32_t)o->auto_ttl;
	if (o->given[O_AUTO_GEN - O_DB])
		set.auto_max_gen = (unsigned)o->auto_gen;
	if (o->given[O_MAX_IPD - O_DB])
		set.max_ip_domains = (uint64_t)o->max_ipd;
	if (o->given[O_MAX_CIP - O_DB])
		set.max_cert_ips = (uint64_t)o->max_cip;
	if (o->given[O_MAX_DIP - O_DB])
		set.max_domain_ips = (uint64_t)o->max_dip;
	if (o->given[O_MAX_SAN - O_DB])
		set.max_san = (uint64_t)o->max_san;
	bool created = false;
	err = store_watch_put(s, &set, o->now, &created);
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
static void print_settings(const struct store_watch_info *i)
{
	const struct store_watch_settings *st = &i->set;
	char c[32], u[32];
	store_time_format(i->created, c, sizeof(c));
	store_time_format(i->updated, u, sizeof(u));
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
	printf("  standing pivot  added %llu; not added (noise limits) %llu\n",
	       (unsigned long long)i->auto_added, (unsigned long long)i->noise_skipped);
	if (i->last_skip[0]) {
		char t[32];
		store_time_format(i->last_skip_time, t, sizeof(t));
		printf("  last not added  %s at %s\n", i->last_skip, t);
	}
	printf("  created         %s, updated %s\n", c, u);
}

static int list_cb(const struct store_watch_info *i, void *ctx)
{
	json_t *arr = ctx;
	json_array_append_new(arr, watch_info_json(i));
	return 0;
}

static int cmd_list(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {O_JSON, 0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 0)
		return bad(o, "takes no arguments");
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
	if (json_array_size(arr) == 0) {
		fprintf(stderr,
		        "no watchlists (create one with `infrapivot watchlist create NAME`)\n");
		json_decref(arr);
		return 0;
	}
	printf("%-24s %8s %8s %10s %-20s %s\n", "name", "version", "entries", "tombstones",
	       "standing pivot", "description");
	size_t i;
	json_t *w;
	json_array_foreach(arr, i, w)
	{
		json_t *ae = json_object_get(w, "auto_expand");
		char edges[64] = "off";
		if (!json_is_null(ae)) {
			size_t k, o2 = 0;
			json_t *e;
			json_array_foreach(json_object_get(ae, "edges"), k, e)
			{
				int n = snprintf(edges + o2, sizeof(edges) - o2, "%s%s",
				                 k ? "," : "", json_string_value(e));
				if (n < 0 || (size_t)n >= sizeof(edges) - o2)
					break;
				o2 += (size_t)n;
			}
		}
		printf("%-24s %8lld %8lld %10lld %-20s %s\n",
		       json_string_value(json_object_get(w, "name")),
		       (long long)json_integer_value(json_object_get(w, "version")),
		       (long long)json_integer_value(json_object_get(w, "entries")),
		       (long long)json_integer_value(json_object_get(w, "tombstones")), edges,
		       json_string_value(json_object_get(w, "description")));
	}
	json_decref(arr);
	return 0;
}

struct show_ctx {
	json_t *arr;
	bool json;
	unsigned n;
	unsigned type; /* 0: every type */
};

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
	store_time_format(e->added, a, sizeof(a));
	if (e->expires)
		store_time_format(e->expires, x, sizeof(x));
	printf("%-6s %-42s %-20s %-20s %s\n", store_watch_type_name(e->type), e->indicator, a, x,
	       e->source);
	const struct store_watch_prov *ps[2] = {&e->prov_first,
	                                        e->has_latest ? &e->prov_latest : NULL};
	for (int k = 0; k < 2; k++) {
		const struct store_watch_prov *p = ps[k];
		if (p == NULL)
			continue;
		if (p->note[0] && strcmp(p->note, e->source) != 0)
			printf("%-6s %s%s\n", "", k ? "latest: " : "", p->note);
		for (unsigned h = 0; h < p->nhops; h++) {
			char f[32], l[32];
			store_time_format(p->hops[h].first_seen, f, sizeof(f));
			store_time_format(p->hops[h].last_seen, l, sizeof(l));
			printf("%-6s   %s -%s-> %s  (seen %.10s .. %.10s)\n", "", p->hops[h].from,
			       store_edge_name(p->hops[h].edge), p->hops[h].to, f, l);
		}
	}
	if (e->reason[0])
		printf("%-6s reason: %s\n", "", e->reason);
	return 0;
}

static int cmd_show(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {O_JSON, O_TYPE, 0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 1)
		return bad(o, "give one NAME");
	if (check_name(o, argv[0]) != 0)
		return 2;
	unsigned type = 0;
	if (o->type_s != NULL && store_watch_type_parse(o->type_s, &type) != 0)
		return bad(o, "--type: '%s' is not domain, ip or cert", o->type_s);
	store_t *s = svc_open_db(o->db, true);
	if (s == NULL)
		return 2;
	struct store_watch_info info;
	int err = store_watch_get(s, argv[0], o->now, &info);
	if (err != 0) {
		store_close(s);
		return store_fail(o, err, argv[0]);
	}
	struct show_ctx c = {.arr = json_array(), .json = o->json, .type = type};
	if (!o->json)
		print_settings(&info);
	err = store_watch_read(s, argv[0], o->now, 0, show_cb, &c, &info, NULL);
	store_close(s);
	if (err != 0) {
		json_decref(c.arr);
		return store_fail(o, err, argv[0]);
	}
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "watchlist", watch_info_json(&info));
		json_object_set_new(j, "entries", c.arr);
		print_json(j);
	} else {
		json_decref(c.arr);
	}
	return 0;
}

/* ---- add, remove ------------------------------------------------------------------- */
static int read_stdin_items(struct opts *o, struct watch_items *it, const char *source,
                            uint32_t default_ttl, int64_t ttl, int64_t now)
{
	char line[1024];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			fprintf(stderr, "infrapivot watchlist %s: stdin:%u: line too long\n",
			        o->sub, lineno);
			return 2;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
		                 line[n - 1] == '\t'))
			line[--n] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		char msg[300];
		if (watch_items_add(it, p, o->type, o->reason, source, ttl, o->expires, default_ttl,
		                    now, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "infrapivot watchlist %s: stdin:%u: %s\n", o->sub, lineno,
			        msg);
			return 2;
		}
	}
	return 0;
}

static int cmd_add_remove(struct opts *o, int argc, char **argv, bool remove)
{
	static const int ok_add[] = {O_TYPE, O_REASON, O_TTL, O_EXPIRES, O_SOURCE, O_JSON, 0};
	static const int ok_rm[] = {O_TYPE, O_JSON, 0};
	if (allow_only(o, remove ? ok_rm : ok_add) != 0)
		return 2;
	if (argc < 2)
		return bad(o, "give NAME and at least one INDICATOR (or - to read them from "
		              "standard input)");
	const char *name = argv[0];
	if (check_name(o, name) != 0)
		return 2;
	if (o->type_s != NULL && store_watch_type_parse(o->type_s, &o->type) != 0)
		return bad(o, "--type: '%s' is not domain, ip, cert or auto", o->type_s);
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	struct store_watch_info info;
	int err = store_watch_get(s, name, now, &info);
	if (err != 0) {
		store_close(s);
		return store_fail(o, err, name);
	}
	char src[STORE_WATCH_TEXT_BUF];
	if (o->source != NULL) {
		snprintf(src, sizeof(src), "%s", o->source);
	} else {
		const char *user = getenv("USER");
		snprintf(src, sizeof(src), "cli:%s", user && *user ? user : "unknown");
	}
	int64_t ttl = o->given[O_TTL - O_DB] ? o->ttl : -1;
	struct watch_items it;
	watch_items_init(&it);
	int rc = 0;
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "-") == 0) {
			rc = read_stdin_items(o, &it, src, info.set.ttl_days, ttl, now);
			continue;
		}
		char msg[300];
		if (watch_items_add(&it, argv[i], o->type, o->reason, src, ttl, o->expires,
		                    info.set.ttl_days, now, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "infrapivot watchlist %s: %s\n", o->sub, msg);
			rc = 2;
		}
	}
	if (rc != 0 || it.n == 0) {
		store_close(s);
		watch_items_free(&it);
		if (rc == 0)
			fprintf(stderr, "infrapivot watchlist %s: no indicators given\n", o->sub);
		return 2;
	}
	int *results = calloc(it.n, sizeof(*results));
	uint64_t version = 0;
	err = results == NULL ? -ENOMEM
	      : remove        ? store_watch_remove(s, name, it.v, it.n, now, results, &version)
	                      : store_watch_add(s, name, it.v, it.n, now, results, &version);
	store_close(s);
	if (err != 0) {
		free(results);
		watch_items_free(&it);
		return store_fail(o, err, name);
	}
	unsigned counts[5] = {0};
	json_t *arr = json_array();
	for (size_t i = 0; i < it.n; i++) {
		int r = results[i];
		if (r >= 1 && r <= 4)
			counts[r]++;
		const char *rs = r == STORE_WATCH_ADDED        ? "added"
		                 : r == STORE_WATCH_REFRESHED  ? "refreshed"
		                 : r == STORE_WATCH_REMOVED_OK ? "removed"
		                                               : "absent";
		if (r == STORE_WATCH_ABSENT && !o->json)
			fprintf(stderr, "infrapivot watchlist remove: %s is not on %s\n",
			        it.v[i].indicator, name);
		json_t *e = json_object();
		json_object_set_new(e, "indicator", json_string(it.v[i].indicator));
		json_object_set_new(e, "type", json_string(store_watch_type_name(it.v[i].type)));
		json_object_set_new(e, "result", json_string(rs));
		json_array_append_new(arr, e);
	}
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "watchlist", json_string(name));
		json_object_set_new(j, "version", json_integer((json_int_t)version));
		json_object_set_new(j, "results", arr);
		print_json(j);
	} else {
		json_decref(arr);
		if (remove)
			printf("%s: removed %u, not on the list %u (version %llu)\n", name,
			       counts[STORE_WATCH_REMOVED_OK], counts[STORE_WATCH_ABSENT],
			       (unsigned long long)version);
		else
			printf("%s: added %u, refreshed %u (version %llu)\n", name,
			       counts[STORE_WATCH_ADDED], counts[STORE_WATCH_REFRESHED],
			       (unsigned long long)version);
	}
	free(results);
	watch_items_free(&it);
	return counts[STORE_WATCH_ABSENT] > 0 ? 1 : 0;
}

static int cmd_delete(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 1)
		return bad(o, "give one NAME");
	if (check_name(o, argv[0]) != 0)
		return 2;
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	int err = store_watch_delete(s, argv[0]);
	store_close(s);
	if (err != 0)
		return store_fail(o, err, argv[0]);
	printf("deleted watchlist %s\n", argv[0]);
	return 0;
}

/* ---- pivot ------------------------------------------------------------------------------ */
static int cmd_pivot(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {O_PIVOT, O_TYPE,   O_MAX_IPD, O_MAX_CIP, O_MAX_DIP, O_MAX_SAN,
	                         O_TTL,   O_REASON, O_DRY_RUN, O_JSON,    O_SOURCE,  0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 2)
		return bad(o, "give NAME and one SEED");
	const char *name = argv[0];
	if (check_name(o, name) != 0)
		return 2;
	char msg[300];
	if (o->type_s != NULL && pivot_params_set(&o->pp, "type", o->type_s, msg, sizeof(msg)) != 0)
		return bad(o, "--%s", msg);
	if (pivot_params_set(&o->pp, "seed", argv[1], msg, sizeof(msg)) != 0 ||
	    pivot_params_check(&o->pp, msg, sizeof(msg)) != 0)
		return bad(o, "%s", msg);
	store_t *s = svc_open_db(o->db, false);
	if (s == NULL)
		return 2;
	const char *user = getenv("USER");
	char who[128];
	snprintf(who, sizeof(who), "%s", o->source ? o->source : user && *user ? user : "cli");
	json_t *res = NULL;
	int err = watch_pivot(s, name, &o->pp, o->given[O_TTL - O_DB] ? o->ttl : -1, who, o->reason,
	                      o->now, o->dry_run, &res, msg, sizeof(msg));
	store_close(s);
	if (err != 0) {
		if (err == STORE_ENOTFOUND && strncmp(msg, "no watchlist", 12) == 0)
			return store_fail(o, err, name);
		fprintf(stderr, "infrapivot watchlist pivot: %s\n",
		        *msg ? msg : store_strerror(err));
		return 2;
	}
	if (o->json) {
		print_json(res);
		return 0;
	}
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
	       o->dry_run ? "would add" : "added",
	       (long long)(o->dry_run ? (json_int_t)json_array_size(arr)
	                              : json_integer_value(json_object_get(res, "added"))),
	       (long long)json_integer_value(json_object_get(res, "refreshed")),
	       (long long)json_integer_value(json_object_get(res, "pruned")),
	       (long long)json_integer_value(json_object_get(res, "version")),
	       json_is_true(json_object_get(res, "truncated")) ? "; the pivot was truncated" : "");
	json_decref(res);
	return 0;
}

/* ---- export ---------------------------------------------------------------------------------- */
static int cmd_export(struct opts *o, int argc, char **argv)
{
	static const int ok[] = {O_FORMAT, O_TYPE, O_SINCE_VERSION, O_OUTPUT, 0};
	if (allow_only(o, ok) != 0)
		return 2;
	if (argc != 1)
		return bad(o, "give one NAME");
	if (check_name(o, argv[0]) != 0)
		return 2;
	struct watch_export_opts x = {.fmt = o->fmt, .since = o->since_version, .now = o->now};
	if (o->type_s != NULL && (store_watch_type_parse(o->type_s, &x.type) != 0 || x.type == 0))
		return bad(o, "--type: '%s' is not domain, ip or cert", o->type_s);
	store_t *s = svc_open_db(o->db, true);
	if (s == NULL)
		return 2;
	char *out = NULL, msg[300] = "";
	size_t len = 0;
	struct store_watch_info info;
	int err = watch_export(s, argv[0], &x, &out, &len, &info, msg, sizeof(msg));
	store_close(s);
	if (err == STORE_ENOTFOUND)
		return store_fail(o, err, argv[0]);
	if (err != 0) {
		fprintf(stderr, "infrapivot watchlist export: %s\n",
		        *msg ? msg : store_strerror(err));
		return 2;
	}
	FILE *f = stdout;
	if (o->output != NULL) {
		f = fopen(o->output, "w");
		if (f == NULL) {
			perror(o->output);
			free(out);
			return 2;
		}
	}
	size_t w = fwrite(out, 1, len, f);
	free(out);
	if (w != len || (f != stdout && fclose(f) != 0) || (f == stdout && fflush(stdout) != 0)) {
		perror(o->output ? o->output : "stdout");
		return 2;
	}
	if (o->output != NULL)
		fprintf(stderr, "wrote %s: version %llu, %llu entries live\n", o->output,
		        (unsigned long long)info.version, (unsigned long long)info.live);
	return 0;
}

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
	static const char *const subs[] = {"create", "list",   "show",  "add",
	                                   "remove", "delete", "pivot", "export"};
	bool known = false;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		known |= strcmp(sub, subs[i]) == 0;
	if (!known) {
		fprintf(stderr,
		        "infrapivot watchlist: unknown subcommand '%s' (create, list, show, "
		        "add, remove, delete, pivot, export)\n",
		        sub);
		return 2;
	}
	struct opts *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return 2;
	o->sub = sub;
	o->fmt = WATCH_FMT_JSON;
	/* getopt sees "watchlist SUB ..." from SUB on */
	int rc = parse_opts(argc - 1, argv + 1, o);
	if (rc >= 0) {
		free(o);
		return rc;
	}
	int n = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (strcmp(sub, "create") == 0)
		rc = cmd_create(o, n, args);
	else if (strcmp(sub, "list") == 0)
		rc = cmd_list(o, n, args);
	else if (strcmp(sub, "show") == 0)
		rc = cmd_show(o, n, args);
	else if (strcmp(sub, "add") == 0)
		rc = cmd_add_remove(o, n, args, false);
	else if (strcmp(sub, "remove") == 0)
		rc = cmd_add_remove(o, n, args, true);
	else if (strcmp(sub, "delete") == 0)
		rc = cmd_delete(o, n, args);
	else if (strcmp(sub, "pivot") == 0)
		rc = cmd_pivot(o, n, args);
	else
		rc = cmd_export(o, n, args);
	free(o);
	return rc;
}
