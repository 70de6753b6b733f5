/*
 * pivot_bench.c - in-process pivot latency: for each seed of a file, a
 * depth-2 and a depth-3 pivot with default limits, after one unmeasured
 * warm-up pass; prints p50, p99 and max per depth in milliseconds, and the
 * mean node count.
 *   pivot_bench DBDIR SEEDS_FILE [MAX_SEEDS [EDGES]]
 * EDGES: the --edges list to walk (default: the engine's default).
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

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pivot_bench DBDIR SEEDS_FILE [MAX_SEEDS [EDGES]]\n");
		return 2;
	}
	size_t max = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	const char *edges = argc > 4 ? argv[4] : NULL;
	store_t *s;
	if (store_open(&s, argv[1], STORE_RDONLY, 0) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], store_last_error());
		return 2;
	}
	FILE *f = fopen(argv[2], "r");
	if (f == NULL) {
		perror(argv[2]);
		return 2;
	}
	char(*seeds)[STORE_NAME_BUF] = malloc(max * sizeof(*seeds));
	size_t n = 0;
	while (n < max && fgets(seeds[n], STORE_NAME_BUF, f) != NULL) {
		seeds[n][strcspn(seeds[n], "\r\n")] = '\0';
		if (seeds[n][0] != '\0')
			n++;
	}
	fclose(f);
	double *lat = malloc(n * sizeof(double));
	/* one unmeasured pass first: the measured passes see the steady
	 * state (map pages faulted in), not a cold start */
	for (size_t i = 0; i < n; i++) {
		struct pivot_params p;
		pivot_params_init(&p);
		char msg[256];
		pivot_params_set(&p, "seed", seeds[i], msg, sizeof(msg));
		if (edges != NULL)
			pivot_params_set(&p, "edges", edges, msg, sizeof(msg));
		struct pivot_result *r = NULL;
		if (pivot_run(s, &p, &r, msg, sizeof(msg)) == 0)
			pivot_result_free(r);
	}
	for (unsigned depth = 2; depth <= 3; depth++) {
		double nodes = 0;
		size_t ok = 0, truncated = 0;
		for (size_t i = 0; i < n; i++) {
			struct pivot_params p;
			pivot_params_init(&p);
			char msg[256], d[8];
			snprintf(d, sizeof(d), "%u", depth);
			pivot_params_set(&p, "seed", seeds[i], msg, sizeof(msg));
			pivot_params_set(&p, "depth", d, msg, sizeof(msg));
			if (edges != NULL &&
			    pivot_params_set(&p, "edges", edges, msg, sizeof(msg)) != 0) {
				fprintf(stderr, "%s\n", msg);
				return 2;
			}
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			struct pivot_result *r = NULL;
			int err = pivot_run(s, &p, &r, msg, sizeof(msg));
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (err != 0) {
				fprintf(stderr, "seed %s: %s\n", seeds[i], msg);
				continue;
			}
			const char *budget;
			truncated += pivot_truncated(r, &budget);
			nodes += (double)pivot_node_count(r);
			pivot_result_free(r);
			lat[ok++] =
			    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		}
		if (ok == 0)
			continue;
		qsort(lat, ok, sizeof(double), cmp_double);
		printf(
		    "depth %u: %zu pivots, p50 %.3f ms, p99 %.3f ms, max %.3f ms, mean %.1f nodes, "
		    "%zu truncated\n",
		    depth, ok, pct(lat, ok, 0.5), pct(lat, ok, 0.99), lat[ok - 1],
		    nodes / (double)ok, truncated);
	}
	free(lat);
	free(seeds);
	store_close(s);
	return 0;
}
