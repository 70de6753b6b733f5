/*
 * pivot_bench.c - in-process pivot latency: for each seed of a file, a
 * depth-2 and a depth-3 pivot with default limits, after one unmeasured
 * warm-up pass; prints p50, p99 and max per depth in milliseconds, and the
 * mean node count; before them, the same for a domain lookup of each seed
 * and an IP lookup of its first address (store_rr_by_name, _by_addr).
 *   pivot_bench STORE SEEDS_FILE [MAX_SEEDS] [on|off|both] [EDGES]
 * STORE: DIR, lmdb:DIR or clickhouse://HOST:PORT/DB (store_open_url).
 * EDGES: the --edges list to walk (default: the engine's default); given
 * in place of the mode, the mode is on.
 * The mode sets temporal affinity (default on, the engine's default);
 * "both" runs every pivot with it off and on, alternating which goes
 * first, and prints both series and their p50/p99 ratios (on / off) from
 * the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pivot/pivot.h"
#include "store/store.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* One series: latencies, node counts, truncations. */
struct series {
	double *lat;
	size_t ok, truncated;
	double nodes, followed; /* followed: not pruned */
};

/* One pivot from seed at depth (0: default) with affinity on or off, timed
 * into s (when s is not NULL). */
static const char *g_edges; /* --edges, NULL: the default */

static void one(store_t *st, const char *seed, unsigned depth, bool affinity, struct series *s)
{
	struct pivot_params p;
	pivot_params_init(&p);
	char msg[256], d[12];
	pivot_params_set(&p, "seed", seed, msg, sizeof(msg));
	if (g_edges != NULL)
		pivot_params_set(&p, "edges", g_edges, msg, sizeof(msg));
	if (depth > 0) {
		snprintf(d, sizeof(d), "%u", depth);
		pivot_params_set(&p, "depth", d, msg, sizeof(msg));
	}
	p.affinity = affinity;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pivot_result *r = NULL;
	int err = pivot_run(st, &p, &r, msg, sizeof(msg));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err != 0) {
		if (s != NULL)
			fprintf(stderr, "seed %s: %s\n", seed, msg);
		return;
	}
	if (s != NULL) {
		const char *budget;
		s->truncated += pivot_truncated(r, &budget);
		s->nodes += (double)pivot_node_count(r);
		for (size_t i = 0; i < pivot_node_count(r); i++)
			s->followed += pivot_node_at(r, i)->pruned == NULL;
		s->lat[s->ok++] =
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	pivot_result_free(r);
}

/* Sort and print a series; its p50 and p99 into q[2]. */
static void report(unsigned depth, const char *label, struct series *s, double q[2])
{
	q[0] = q[1] = 0;
	if (s->ok == 0)
		return;
	qsort(s->lat, s->ok, sizeof(double), cmp_double);
	q[0] = pct(s->lat, s->ok, 0.5);
	q[1] = pct(s->lat, s->ok, 0.99);
	printf("depth %u%s: %zu pivots, p50 %.3f ms, p99 %.3f ms, max %.3f ms, mean %.1f nodes "
	       "(%.1f not pruned), %zu truncated\n",
	       depth, label, s->ok, q[0], q[1], s->lat[s->ok - 1], s->nodes / (double)s->ok,
	       s->followed / (double)s->ok, s->truncated);
}

static size_t read_seeds(const char *path, char (*seeds)[STORE_NAME_BUF], size_t max)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return 0;
	}
	size_t n = 0;
	while (n < max && fgets(seeds[n], STORE_NAME_BUF, f) != NULL) {
		seeds[n][strcspn(seeds[n], "\r\n")] = '\0';
		if (seeds[n][0] != '\0')
			n++;
	}
	fclose(f);
	return n;
}

/* A lookup's answer: how many resolutions, and the first address. */
struct lk {
	size_t n;
	bool has_addr;
	uint8_t addr[16];
};

static int lk_cb(const struct store_rr *rr, void *ctx)
{
	struct lk *l = ctx;
	l->n++;
	if (!l->has_addr && (rr->rrtype == 1 || rr->rrtype == 28)) {
		memcpy(l->addr, rr->addr, 16);
		l->has_addr = true;
	}
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The lookups behind `lookup domain SEED` and `lookup ip ADDR` (its first
 * address), each timed in its own read transaction, for every seed. */
static void lookups(store_t *st, char (*seeds)[STORE_NAME_BUF], size_t n, struct series *dom,
                    struct series *ip)
{
	dom->ok = ip->ok = 0;
	dom->nodes = ip->nodes = 0;
	for (size_t i = 0; i < n; i++) {
		struct lk l = {0}, a = {0};
		store_rtxn_t *r;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (store_read_begin(st, &r) != 0)
			continue;
		int err = store_rr_by_name(r, seeds[i], 0, NULL, lk_cb, &l);
		store_read_end(r);
		if (err < 0)
			continue;
		dom->lat[dom->ok++] = ms_since(&t0);
		dom->nodes += (double)l.n;
		if (!l.has_addr)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (store_read_begin(st, &r) != 0)
			continue;
		err = store_rr_by_addr(r, l.addr, 128, NULL, lk_cb, &a);
		store_read_end(r);
		if (err < 0)
			continue;
		ip->lat[ip->ok++] = ms_since(&t0);
		ip->nodes += (double)a.n;
	}
}

static void report_lookups(const char *what, struct series *s)
{
	if (s->ok == 0)
		return;
	qsort(s->lat, s->ok, sizeof(double), cmp_double);
	printf("lookup %s: %zu lookups, p50 %.4f ms, p99 %.4f ms, max %.3f ms, mean %.1f "
	       "resolutions\n",
	       what, s->ok, pct(s->lat, s->ok, 0.5), pct(s->lat, s->ok, 0.99), s->lat[s->ok - 1],
	       s->nodes / (double)s->ok);
}

/* Both series of one depth; with both modes, pivot i runs off first when
 * i is even, on first when odd, so neither gets the warmer cache. */
static void run_depth(store_t *st, char (*seeds)[STORE_NAME_BUF], size_t n, unsigned depth,
                      int mode, struct series *off, struct series *on)
{
	off->ok = on->ok = off->truncated = on->truncated = 0;
	off->nodes = on->nodes = off->followed = on->followed = 0;
	for (size_t i = 0; i < n; i++) {
		bool on_first = mode == 1 || (mode == 2 && i % 2 == 1);
		if (mode != 0 && on_first)
			one(st, seeds[i], depth, true, on);
		if (mode != 1)
			one(st, seeds[i], depth, false, off);
		if (mode == 2 && !on_first)
			one(st, seeds[i], depth, true, on);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
		        "usage: pivot_bench STORE SEEDS_FILE [MAX_SEEDS] [on|off|both] [EDGES]\n");
		return 2;
	}
	size_t max = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	const char *m = argc > 4 ? argv[4] : "on";
	if (strcmp(m, "on") != 0 && strcmp(m, "off") != 0 && strcmp(m, "both") != 0) {
		g_edges = m; /* the edges in place of the mode */
		m = "on";
	} else if (argc > 5) {
		g_edges = argv[5];
	}
	if (g_edges != NULL) {
		struct pivot_params p;
		char msg[256];
		pivot_params_init(&p);
		if (pivot_params_set(&p, "edges", g_edges, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "pivot_bench: %s\n", msg);
			return 2;
		}
	}
	int mode = strcmp(m, "off") == 0 ? 0 : strcmp(m, "on") == 0 ? 1 : 2;
	if (mode == 2 && strcmp(m, "both") != 0) {
		fprintf(stderr, "pivot_bench: mode '%s' is not on, off or both\n", m);
		return 2;
	}
	store_t *s;
	if (store_open_url(&s, argv[1], STORE_RDONLY, 0) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], store_last_error());
		return 2;
	}
	char(*seeds)[STORE_NAME_BUF] = malloc(max * sizeof(*seeds));
	size_t n = read_seeds(argv[2], seeds, max);
	struct series off = {.lat = malloc((n + 1) * sizeof(double))};
	struct series on = {.lat = malloc((n + 1) * sizeof(double))};
	/* one unmeasured pass first: the measured passes see the steady
	 * state (map pages faulted in), not a cold start */
	for (size_t i = 0; i < n; i++)
		one(s, seeds[i], 0, mode != 0, NULL);
	lookups(s, seeds, n, &off, &on);
	report_lookups("domain", &off);
	report_lookups("ip", &on);
	for (unsigned depth = 2; depth <= 3; depth++) {
		double qoff[2], qon[2];
		run_depth(s, seeds, n, depth, mode, &off, &on);
		if (mode != 1)
			report(depth, mode == 2 ? " affinity off" : " affinity off", &off, qoff);
		if (mode != 0)
			report(depth, mode == 2 ? " affinity on " : "", &on, qon);
		if (mode == 2 && qoff[0] > 0 && qoff[1] > 0)
			printf("depth %u: affinity on / off: p50 %.3f, p99 %.3f\n", depth,
			       qon[0] / qoff[0], qon[1] / qoff[1]);
	}
	free(off.lat);
	free(on.lat);
	free(seeds);
	store_close(s);
	return 0;
}
