/*
 * cli_lookup.c - `infrapivot lookup`, `stats` and `compact`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "service/svc_estate.h"
#include "service/svc_text.h"
#include "util/time.h"

static void lookup_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: infrapivot lookup domain|ip|cert|key|subject|jarm|ja3s VALUE [OPTIONS]\n"
	    "       infrapivot lookup cert --serial HEX [--issuer DN] [OPTIONS]\n"
	    "\n"
	    "  lookup domain www.example.com   resolutions of the name\n"
	    "  lookup domain '*.example.com'   resolutions of every name under it\n"
	    "  lookup ip 192.0.2.7             names that resolved to it, certificates seen on it\n"
	    "  lookup ip 192.0.2.0/24          the same for a prefix (any length: 10.0.0.0/8, "
	    "2001:db8::/32)\n"
	    "  lookup cert SHA1|SHA256         metadata, ip:port sightings, SAN/SNI names\n"
	    "  lookup cert --serial 0A1B [--issuer 'CN=Some CA']\n"
	    "                                  certificates with that serial (from that issuer)\n"
	    "  lookup key SHA256               certificates with that public key (SHA-256 of\n"
	    "                                  the SubjectPublicKeyInfo)\n"
	    "  lookup subject 'CN=x, O=y'      certificates with that subject (any spelling)\n"
	    "  lookup jarm|ja3s HASH           ip:port the fingerprint was seen on\n"
	    "\n"
	    "A name may be typed with U-labels (bücher.example): it is looked up in its\n"
	    "A-label form (xn--bcher-kva.example); the table shows both.\n"
	    "\n"
	    "Options:\n"
	    "  --db DIR              database directory\n"
	    "  --store STORE         lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	    "  --rrtype TYPE         only this RR type (domain lookups)\n"
	    "  --first-after T       time_first >= T\n"
	    "  --first-before T      time_first <= T\n"
	    "  --last-after T        time_last >= T\n"
	    "  --last-before T       time_last <= T\n"
	    "  --since T             seen within the window: time_last >= T\n"
	    "  --until T             seen within the window: time_first <= T\n"
	    "                        T: 2024-01-31, 2024-01-31T12:00:00Z, now, epoch\n"
	    "                        seconds, relative -7d, -1d12h, -6M, -1y\n"
	    "  --serial HEX          cert lookups by serial number instead of hash\n"
	    "  --issuer DN           with --serial: only certificates from this issuer\n"
	    "  --limit N             at most N results (default 10000, 0 = no limit)\n"
	    "  --offset N            skip the first N results\n"
	    "  --format json|table|csv  COF NDJSON / JSON lines (default), a table, or\n"
	    "                        CSV (RFC 4180, a header row, one row per result)\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Results go to standard output; messages to standard error.\n");
}

struct print_ctx {
	struct svc_lookup_text t;
	const char *serial; /* lookup cert --serial */
};

static int print_result(enum svc_result_kind kind, json_t *obj, void *ctx)
{
	struct print_ctx *p = ctx;
	if (p->t.fmt == SVC_TEXT_JSON) {
		svc_print_json(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		return 0;
	}
	struct util_buf b;
	util_buf_init(&b, 1u << 20);
	if (obj != NULL)
		svc_lookup_text_row(&p->t, &b, kind, obj);
	else
		svc_lookup_text_end(&p->t, &b);
	json_decref(obj);
	if (b.p != NULL)
		fputs(b.p, stdout);
	util_buf_free(&b);
	return 0;
}

static const struct option lookup_longopts[] = {
    {"db", required_argument, NULL, 'd'},
    {"store", required_argument, NULL, 'd'},
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
    {"serial", required_argument, NULL, 's'},
    {"issuer", required_argument, NULL, 'i'},
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
		char why[256];
		int64_t t;
		util_time_parse(v, 0, &t, why, sizeof(why));
		fprintf(stderr, "infrapivot lookup: --%s %s\n", name, why);
		return -1;
	}
	if ((c == 'l' && svc_parse_u64(v, &req->limit) != 0) ||
	    (c == 'o' && svc_parse_u64(v, &req->offset) != 0)) {
		fprintf(stderr, "infrapivot lookup: --%s: not a number: '%s'\n", name, v);
		return -1;
	}
	if (c == 's')
		pc->serial = v;
	if (c == 'i')
		req->issuer = v;
	if (c == 'f' && svc_text_fmt_parse(v, &pc->t.fmt) != 0) {
		fprintf(stderr, "infrapivot lookup: --format %s: expected json|table|csv\n", v);
		return -1;
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
	else if (strcmp(what, "key") == 0)
		*kind = SVC_LOOKUP_KEY;
	else if (strcmp(what, "subject") == 0)
		*kind = SVC_LOOKUP_SUBJECT;
	else if (strcmp(what, "jarm") == 0)
		*kind = SVC_LOOKUP_JARM;
	else if (strcmp(what, "ja3s") == 0)
		*kind = SVC_LOOKUP_JA3S;
	else {
		fprintf(stderr,
		        "infrapivot lookup: unknown lookup '%s' (domain, ip, cert, key, subject, "
		        "jarm or ja3s)\n",
		        what);
		return -1;
	}
	return 0;
}

/* --serial and --issuer: a cert lookup by serial, nothing else. */
static int serial_lookup(struct svc_lookup_req *req, const struct print_ctx *pc)
{
	if (pc->serial == NULL && req->issuer == NULL)
		return 0;
	if (pc->serial == NULL || req->kind != SVC_LOOKUP_CERT) {
		fprintf(stderr, "infrapivot lookup: %s\n",
		        pc->serial == NULL ? "--issuer needs --serial"
		                           : "--serial goes with 'lookup cert' only");
		return -1;
	}
	req->kind = SVC_LOOKUP_SERIAL;
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
			svc_opt_error(NULL, argc, argv, "h", lookup_longopts);
			return 2;
		} else if (lookup_opt(c, lookup_longopts[idx].name, optarg, req, pc) != 0) {
			return 2;
		}
	}
	/* lookup cert --serial HEX: the serial stands in for the value */
	int want = pc->serial != NULL ? 1 : 2;
	if (argc - optind != want) {
		lookup_usage(stderr);
		return 2;
	}
	char msg[256];
	if (lookup_kind(argv[optind], &req->kind) != 0)
		return 2;
	if (serial_lookup(req, pc) != 0)
		return 2;
	req->value = pc->serial != NULL ? pc->serial : argv[optind + 1];
	static char ascii[STORE_NAME_BUF + 8];
	if (req->kind == SVC_LOOKUP_DOMAIN) {
		if (svc_idn_ascii(req->value, ascii, sizeof(ascii), msg, sizeof(msg)) != 0) {
			fprintf(stderr, "infrapivot lookup: %s\n", msg);
			return 2;
		}
		req->value = ascii;
	}
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
	if (err == 0 && pc.t.fmt == SVC_TEXT_CSV && !pc.t.header_csv)
		print_result(SVC_RES_RR, NULL, &pc); /* an empty CSV: the header */
	if (err != 0) {
		fprintf(stderr, "infrapivot lookup: %s\n", svc_store_error(err));
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
	fprintf(f, "Usage: infrapivot stats [--db DIR | --store STORE] [--json]\n\n"
	           "Counts of every kind of record and the database size.\n");
}

int svc_cmd_stats(int argc, char **argv)
{
	int js = 0;
	const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 'd'},
	    {"json", no_argument, &js, 1},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int rc = svc_db_opts(argc, argv, longopts, &db, stats_usage);
	if (rc < 0 && optind != argc) {
		fprintf(stderr, "infrapivot stats: takes no arguments ('%s')\n", argv[optind]);
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
		fprintf(stderr, "infrapivot stats: %s\n", svc_store_error(err));
		return 2;
	}
	if (js)
		return svc_print_json(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) == 0 ? 0 : 2;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (json_is_null(v)) /* a size on a cluster (docs/scale-out.md) */
			printf("%-16s -\n", k);
		else
			printf("%-16s %llu\n", k, (unsigned long long)json_integer_value(v));
	}
	json_decref(o);
	return 0;
}

static void compact_usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot compact [--db DIR | --store lmdb:DIR] [--copy] OUT_DIR\n\n"
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
	    {"db", required_argument, NULL, 'd'}, {"store", required_argument, NULL, 'd'},
	    {"repack", no_argument, &copy, 0},    {"copy", no_argument, &copy, 1},
	    {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
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
