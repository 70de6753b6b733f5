/*
 * cli_beacons.c - `infrapivot beacons`, `lookup ... --clients`,
 * `infrapivot sensor` and the ingest options of client sightings.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc.h"
#include "service/svc_estate.h"

static void beacons_usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot beacons [OPTIONS]\n"
	           "       infrapivot lookup domain|ip VALUE --clients [OPTIONS]\n\n"
	           "Destinations our hosts contact, ranked by how much they look like\n"
	           "command-and-control beacons: regular gaps, every hour of the day, small\n"
	           "steady transfers, few hosts in few organisations, fresh.\n\n"
	           "  --db DIR            database directory\n"
	           "  --store STORE       lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	           "  --since T, --until T  pairs seen in this window (epoch, ISO 8601, -7d)\n"
	           "  --now T             reference time for freshness (default: now)\n"
	           "  --min-score S       leave out destinations below S (default 0.1)\n"
	           "  --limit N           at most N destinations (default 50)\n"
	           "  --org O             only destinations some host of organisation O contacts\n"
	           "  --internal CIDR,..  more internal networks (with `sensor internal`)\n"
	           "  --include-internal  internal destinations are candidates too\n"
	           "  --format json|table (default json)\n");
}

struct est_args {
	const char *db;
	struct estate_opts o;
	bool table;
};

static int time_opt(const char *name, const char *v, int64_t now, int64_t *out)
{
	return svc_time_opt(NULL, name, v, now, out);
}

static int est_opt(struct est_args *a, int c, const char *name, const char *v)
{
	uint64_t u;
	switch (c) {
	case 'd':
		a->db = v;
		return 0;
	case 1:
		return time_opt(name, v, a->o.now, &a->o.since);
	case 2:
		return time_opt(name, v, a->o.now, &a->o.until);
	case 3:
		return time_opt(name, v, a->o.now, &a->o.now);
	case 4:
		a->o.min_score = strtod(v, NULL);
		return 0;
	case 5:
		if (svc_parse_u64(v, &u) != 0) {
			fprintf(stderr, "infrapivot %s: --limit %s: expected a number\n",
			        svc_command(), v);
			return -1;
		}
		a->o.limit = (size_t)u;
		return 0;
	case 6:
		a->o.org = v;
		return 0;
	case 7:
		a->o.internal = v;
		return 0;
	case 8:
		a->o.include_internal = true;
		return 0;
	case 'f':
		a->table = strcmp(v, "table") == 0;
		if (a->table || strcmp(v, "json") == 0)
			return 0;
		fprintf(stderr, "infrapivot %s: --format %s: expected json|table\n", svc_command(),
		        v);
		return -1;
	default:
		return -1;
	}
}

/* Options shared by beacons and lookup --clients; optind at the first
 * operand afterwards.  Returns 0, 1 (help printed) or -1. */
static int est_parse(int argc, char **argv, struct est_args *a)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},     {"store", required_argument, NULL, 'd'},
	    {"since", required_argument, NULL, 1},    {"until", required_argument, NULL, 2},
	    {"now", required_argument, NULL, 3},      {"min-score", required_argument, NULL, 4},
	    {"limit", required_argument, NULL, 5},    {"org", required_argument, NULL, 6},
	    {"internal", required_argument, NULL, 7}, {"include-internal", no_argument, NULL, 8},
	    {"format", required_argument, NULL, 'f'}, {"clients", no_argument, NULL, 9},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	estate_opts_init(&a->o, (int64_t)time(NULL));
	a->o.min_score = 0.1;
	int c, idx = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (c == 'h') {
			beacons_usage(stdout);
			return 1;
		}
		if (c == 9)
			continue;
		if (c == '?' || c == ':') {
			svc_opt_error(NULL, argc, argv, "h", longopts);
			return -1;
		}
		if (est_opt(a, c, longopts[idx].name, optarg) != 0)
			return -1; /* est_opt said why */
	}
	return 0;
}

static int print_dests(const struct est_args *a, struct estate_dest *d, size_t n, bool beacon)
{
	if (a->table) {
		svc_estate_print_table(stdout, d, n, !beacon);
		return 0;
	}
	json_t *out = beacon ? json_array() : svc_estate_dest_json(d, false);
	for (size_t i = 0; beacon && i < n; i++)
		json_array_append_new(out, svc_estate_dest_json(&d[i], true));
	char *txt = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(out);
	if (txt == NULL)
		return -1;
	puts(txt);
	free(txt);
	return 0;
}

int svc_cmd_beacons(int argc, char **argv)
{
	struct est_args a;
	int r = est_parse(argc, argv, &a);
	if (r != 0)
		return r > 0 ? 0 : 2;
	store_t *s = svc_open_db(a.db, true);
	if (s == NULL)
		return 2;
	struct estate_dest *d;
	size_t n;
	int err = estate_beacons(s, &a.o, &d, &n);
	store_close(s);
	if (err != 0) {
		fprintf(stderr, "infrapivot beacons: %s\n", svc_store_error(err));
		return 2;
	}
	print_dests(&a, d, n, true);
	estate_dests_free(d, n);
	return 0;
}

bool svc_estate_wants_clients(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--clients") == 0)
			return true;
	return false;
}

int svc_cmd_lookup_clients(int argc, char **argv)
{
	struct est_args a;
	int r = est_parse(argc, argv, &a);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (argc - optind != 2 ||
	    (strcmp(argv[optind], "domain") != 0 && strcmp(argv[optind], "ip") != 0)) {
		fprintf(stderr, "infrapivot lookup: --clients takes domain|ip VALUE\n");
		return 2;
	}
	uint8_t dtype = strcmp(argv[optind], "ip") == 0 ? STORE_DEST_IP : STORE_DEST_DOMAIN;
	store_t *s = svc_open_db(a.db, true);
	if (s == NULL)
		return 2;
	struct estate_dest d;
	int err = estate_clients(s, dtype, argv[optind + 1], &a.o, &d);
	store_close(s);
	if (err == STORE_ENOTFOUND) {
		fprintf(stderr, "infrapivot lookup: no client has contacted %s\n",
		        argv[optind + 1]);
		return 0;
	}
	if (err != 0) {
		fprintf(stderr, "infrapivot lookup: %s\n", svc_store_error(err));
		return 2;
	}
	print_dests(&a, &d, 1, false);
	estate_dest_free(&d);
	return 0;
}

/* ---- sensor ------------------------------------------------------------- */
static int print_sensor(const char *sensor, const char *org, void *ctx)
{
	(void)ctx;
	printf("%s\t%s\n", sensor, org);
	return 0;
}

static int sensor_list(store_t *s)
{
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	char internal[STORE_INTERNAL_MAX];
	store_internal_get(r, internal);
	printf("# sensor\torganisation\n");
	err = store_sensors_list(r, print_sensor, NULL);
	printf("# internal networks (beyond RFC 1918/4193, loopback, link-local): %s\n",
	       internal[0] ? internal : "none");
	store_read_end(r);
	return err;
}

static int sensor_do(store_t *s, int argc, char **argv)
{
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return sensor_list(s);
	if (strcmp(argv[1], "set") == 0 && argc == 5 && strcmp(argv[3], "--org") == 0)
		return store_sensor_org_set(s, argv[2], argv[4]);
	if (strcmp(argv[1], "internal") == 0 && argc == 3) {
		struct estate_nets nets = {0};
		if (estate_nets_add(&nets, argv[2]) != 0)
			return STORE_EBADADDR;
		return store_internal_set(s, argv[2]);
	}
	return 1;
}

int svc_cmd_sensor(int argc, char **argv)
{
	const char *db = NULL;
	if (argc >= 3 &&
	    (strcmp(argv[argc - 2], "--db") == 0 || strcmp(argv[argc - 2], "--store") == 0)) {
		db = argv[argc - 1];
		argc -= 2;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		printf("Usage: infrapivot sensor list\n"
		       "       infrapivot sensor set SENSOR --org NAME   (NAME \"\" clears)\n"
		       "       infrapivot sensor internal CIDR[,CIDR...] (\"\" clears)\n"
		       "  [--db DIR | --store STORE] last.  A sensor is its own organisation\n"
		       "  until set.\n");
		return argc < 2 ? 2 : 0;
	}
	store_t *s = svc_open_db(db, strcmp(argv[1], "list") == 0);
	if (s == NULL)
		return 2;
	int err = sensor_do(s, argc, argv);
	store_close(s);
	if (err == 1) {
		fprintf(stderr, "infrapivot sensor: bad arguments (see --help)\n");
		return 2;
	}
	if (err != 0) {
		fprintf(stderr, "infrapivot sensor: %s\n", store_strerror(err));
		return 2;
	}
	return 0;
}

/* ---- ingest ------------------------------------------------------------- */
int svc_estate_ingest_opt(int opt, const char *arg, struct ingest_opts *o, uint64_t *days)
{
	if (opt == 'C') {
		o->no_clients = true;
		return 0;
	}
	if (svc_parse_u64(arg, days) != 0 || *days == 0 || *days > 36500) {
		fprintf(stderr, "infrapivot ingest: --client-days: 1-36500 days\n");
		return -1;
	}
	return 0;
}

int svc_estate_retain(store_t *s, uint64_t days, struct ingest_summary *sum)
{
	store_rtxn_t *r;
	if (sum->ws.clients == 0 || store_read_begin(s, &r) != 0)
		return 0;
	int64_t newest = 0;
	int err = store_client_newest(r, &newest);
	store_read_end(r);
	if (err != 0 || newest <= 0)
		return err;
	uint64_t dropped = 0;
	err = store_client_prune(s, newest - (int64_t)days * 86400, &dropped);
	if (err == 0 && dropped > 0)
		fprintf(stderr, "ingest: %llu client pairs not seen for %llu days dropped\n",
		        (unsigned long long)dropped, (unsigned long long)days);
	return err;
}

void svc_estate_ingest_note(const struct ingest_summary *sum)
{
	/* the summary's records/s counts resolutions and certificates only:
	 * a conn.log's rate is this one */
	double rate = sum->seconds > 0 ? (double)sum->ws.clients / sum->seconds : 0;
	if (sum->ws.clients > 0)
		fprintf(stderr, "ingest: %llu client sightings (%llu new client pairs), %.0f/s\n",
		        (unsigned long long)sum->ws.clients,
		        (unsigned long long)sum->ws.client_pairs_new, rate);
}

/* ---- pivot nodes ---------------------------------------------------------- */
static uint8_t node_dtype(const struct pivot_node *nd)
{
	return nd->type == PIVOT_NODE_DOMAIN ? STORE_DEST_DOMAIN
	       : nd->type == PIVOT_NODE_IP   ? STORE_DEST_IP
	                                     : 0;
}

static void annotate_set(struct pivot_result *r, size_t i, const struct estate_summary *sum)
{
	struct pivot_estate e = {true,         sum->hosts, sum->orgs,
	                         sum->sensors, sum->score, sum->period_s};
	pivot_node_estate_set(r, i, &e);
}

/* Node by node: one read each. */
static void annotate_each(store_t *s, struct pivot_result *r)
{
	for (size_t i = 0; i < pivot_node_count(r); i++) {
		const struct pivot_node *nd = pivot_node_at(r, i);
		struct estate_summary sum;
		uint8_t dtype = node_dtype(nd);
		if (dtype != 0 && estate_summary_get(s, dtype, nd->value, &sum))
			annotate_set(r, i, &sum);
	}
}

/* The domain and IP nodes (d[k], node index at[k]); *k their count. */
static void annotate_dests(struct pivot_result *r, struct store_client_dest *d, size_t *at,
                           size_t *k)
{
	*k = 0;
	for (size_t i = 0; i < pivot_node_count(r); i++) {
		const struct pivot_node *nd = pivot_node_at(r, i);
		struct store_client_dest *x = &d[*k];
		*x = (struct store_client_dest){node_dtype(nd), nd->value, {0}};
		/* an address that does not parse has no estate (estate_clients) */
		if (x->dtype == 0 || (x->dtype == STORE_DEST_IP &&
		                      store_addr_parse(nd->value, strlen(nd->value), x->ip) != 0))
			continue;
		at[(*k)++] = i;
	}
}

/* The domain and IP nodes' estate in one batched read of the client
 * sightings on the pivot's read transaction (one query on ClickHouse, not
 * one a node, sent with the last level's counts: pivot_run_after); node by
 * node, after the pivot, when the batch fails (a response over its bound),
 * as before. */
struct annotate {
	bool failed;
};

static void annotate_after(store_rtxn_t *rt, struct pivot_result *r, bool noting, void *ctx)
{
	struct annotate *a = ctx;
	size_t n = pivot_node_count(r), k = 0;
	struct store_client_dest *d = malloc(n * sizeof(*d) + 1);
	size_t *at = malloc(n * sizeof(*at) + 1);
	struct estate_summary *sum = malloc(n * sizeof(*sum) + 1);
	bool *found = malloc(n + 1);
	bool batched = d != NULL && at != NULL && sum != NULL && found != NULL;
	if (batched) {
		annotate_dests(r, d, at, &k);
		batched = estate_summaries_read(rt, d, k, sum, found) == 0;
	}
	for (size_t j = 0; batched && !noting && j < k; j++)
		if (found[j])
			annotate_set(r, at[j], &sum[j]);
	if (!noting)
		a->failed = !batched;
	free(found);
	free(sum);
	free(at);
	free(d);
}

int svc_pivot_run(store_t *s, const struct pivot_params *p, struct pivot_result **out, char *msg,
                  size_t msgcap)
{
	struct annotate a = {false};
	const struct pivot_after after = {annotate_after, &a};
	int err = pivot_run_after(s, p, &after, out, msg, msgcap);
	if (err == 0 && a.failed)
		annotate_each(s, *out);
	return err;
}
