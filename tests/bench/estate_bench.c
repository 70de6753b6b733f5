/*
 * estate_bench.c - benchmarks of client sightings (not tests):
 *   estate_bench pairs DB             rows, key and value bytes per pair
 *   estate_bench fill DB PAIRS N      a synthetic store: PAIRS pairs of N
 *                                     contacts (every 20th pair a beacon)
 *   estate_bench beacons DB RUNS      `beacons` over DB: p50 of RUNS runs
 *   estate_bench conn FILE DIR        conn.log ingest rate against the
 *                                     store-only rate of the same records,
 *                                     and the CPU time of each side
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "estate/estate.h"
#include "ingest/ingest.h"
#include "util/num.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Minor page faults of the process so far: on a paravirtualised host a
 * first touch of a page costs microseconds, so these weigh in the rate. */
static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

struct sizes {
	uint64_t rows, kbytes, vbytes;
};

static int size_cb(const struct store_client_row *row, void *ctx)
{
	struct sizes *s = ctx;
	s->rows++;
	s->kbytes += row->klen;
	s->vbytes += row->vlen;
	return 0;
}

static int cmd_pairs(const char *dir)
{
	store_t *s;
	store_rtxn_t *r;
	struct sizes sz = {0};
	if (store_open(&s, dir, STORE_RDONLY, 0) != 0 || store_read_begin(s, &r) != 0)
		return 2;
	store_clients_scan(r, size_cb, &sz);
	store_read_end(r);
	store_close(s);
	if (sz.rows == 0)
		return 1;
	/* an LMDB leaf node adds 8 bytes of header and a 2-byte slot */
	printf("rows %llu  key %.1f B  value %.1f B  with node overhead %.1f B per pair\n",
	       (unsigned long long)sz.rows, (double)sz.kbytes / sz.rows,
	       (double)sz.vbytes / sz.rows, (double)(sz.kbytes + sz.vbytes) / sz.rows + 10);
	return 0;
}

static void fill_obs(struct store_obs *o, uint64_t pair, unsigned k, int64_t t)
{
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_CLIENT;
	o->time_first = o->time_last = t;
	o->count = 1;
	snprintf(o->sensor, sizeof(o->sensor), "s%llu", (unsigned long long)(pair % 8));
	o->client.dtype = STORE_DEST_IP;
	o->client.src = STORE_CSRC_CONN;
	o->client.has_bytes = true;
	o->client.bytes_out = 300 + k % 7;
	o->client.bytes_in = 900;
	uint64_t dest = pair / 50; /* 50 clients per destination */
	o->client.ip[10] = o->client.ip[11] = 0xff;
	o->client.ip[12] = 100;
	o->client.ip[13] = (uint8_t)(dest >> 16);
	o->client.ip[14] = (uint8_t)(dest >> 8);
	o->client.ip[15] = (uint8_t)dest;
	o->client.client[10] = o->client.client[11] = 0xff;
	o->client.client[12] = 10;
	o->client.client[13] = (uint8_t)(pair % 50);
	o->client.client[14] = (uint8_t)(pair >> 8);
	o->client.client[15] = (uint8_t)pair;
}

static int cmd_fill(const char *dir, uint64_t pairs, unsigned n)
{
	store_t *s;
	store_batch_t *b;
	if (store_open(&s, dir, STORE_NOSYNC, 0) != 0 || store_batch_new(&b) != 0)
		return 2;
	struct store_obs o;
	double t0 = now_s();
	uint64_t seed = 1;
	for (uint64_t p = 0; p < pairs; p++) {
		bool beacon = p % 20 == 0;
		int64_t t = 1700000000 + (int64_t)(p % 3600);
		for (unsigned k = 0; k < n; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			t += beacon ? 900 + (int64_t)(seed >> 59) : 60 + (int64_t)(seed >> 50);
			fill_obs(&o, p, k, t);
			store_batch_add(b, &o);
		}
		if (store_batch_len(b) >= 100000) {
			if (store_write_batch(s, b, NULL) != 0)
				return 2;
			store_batch_reset(b);
		}
	}
	int err = store_write_batch(s, b, NULL);
	printf("filled %llu pairs x %u contacts in %.1f s\n", (unsigned long long)pairs, n,
	       now_s() - t0);
	store_batch_free(b);
	store_close(s);
	return err != 0;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_beacons(const char *dir, unsigned runs)
{
	store_t *s;
	if (store_open(&s, dir, STORE_RDONLY, 0) != 0)
		return 2;
	double t[32], cpu[32];
	runs = runs > 32 ? 32 : runs ? runs : 1;
	size_t n = 0;
	for (unsigned i = 0; i < runs; i++) {
		struct estate_opts o;
		struct estate_dest *d;
		estate_opts_init(&o, 1700000000 + 86400);
		o.min_score = 0.1;
		double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (estate_beacons(s, &o, &d, &n) != 0)
			return 2;
		t[i] = now_s() - t0;
		cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		estate_dests_free(d, n);
	}
	qsort(t, runs, sizeof(t[0]), dcmp);
	qsort(cpu, runs, sizeof(cpu[0]), dcmp);
	printf("beacons: %zu destinations, p50 %.3f s of %u runs (min %.3f, max %.3f); "
	       "CPU p50 %.3f s\n",
	       n, t[runs / 2], runs, t[0], t[runs - 1], cpu[runs / 2]);
	store_close(s);
	return 0;
}

/* The standard conn.log columns: ts uid orig_h orig_p resp_h resp_p proto
 * service duration orig_bytes resp_bytes (not timed). */
static int conn_obs(char *line, struct store_obs *o)
{
	char *f[12];
	int n = 0;
	char *save = NULL;
	for (char *p = strtok_r(line, "\t\n", &save); p != NULL && n < 12;
	     p = strtok_r(NULL, "\t\n", &save))
		f[n++] = p;
	if (n < 11 || line[0] == '#')
		return -1;
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_CLIENT;
	o->time_first = o->time_last = strtoll(f[0], NULL, 10);
	o->count = 1;
	snprintf(o->sensor, sizeof(o->sensor), "bench");
	o->client.dtype = STORE_DEST_IP;
	o->client.src = STORE_CSRC_CONN;
	o->client.has_bytes = f[9][0] != '-';
	o->client.bytes_out = strtoull(f[9], NULL, 10);
	o->client.bytes_in = strtoull(f[10], NULL, 10);
	if (store_addr_parse(f[2], strlen(f[2]), o->client.client) != 0 ||
	    store_addr_parse(f[4], strlen(f[4]), o->client.ip) != 0)
		return -1;
	return 0;
}

/* The store-only side: build the batches of the sightings (not timed),
 * then write them one transaction each; *cpu is the CPU time of the
 * writes (the process's: nothing else runs then). */
static double store_only(const char *file, const char *dir, uint64_t *nrec, double *cpu,
                         long *faults)
{
	FILE *in = fopen(file, "r");
	store_t *s;
	if (in == NULL || store_open(&s, dir, 0, 0) != 0)
		return -1;
	store_batch_t *bs[4096];
	size_t nb = 0;
	char line[4096];
	struct store_obs o;
	*nrec = 0;
	size_t budget = store_batch_budget(s);
	while (fgets(line, sizeof(line), in) != NULL && nb < 4096) {
		if (conn_obs(line, &o) != 0)
			continue;
		if (nb == 0 || store_batch_len(bs[nb - 1]) >= budget)
			if (store_batch_new(&bs[nb++]) != 0)
				return -1;
		store_batch_add(bs[nb - 1], &o);
		(*nrec)++;
	}
	fclose(in);
	long f0 = minflt();
	double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < nb; i++)
		store_write_batch(s, bs[i], NULL);
	double el = now_s() - t0;
	*cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*faults = minflt() - f0;
	for (size_t i = 0; i < nb; i++)
		store_batch_free(bs[i]);
	store_close(s);
	return el;
}

static int cmd_conn(const char *file, const char *dir)
{
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s/ingest", dir);
	snprintf(b, sizeof(b), "%s/store", dir);
	store_t *s;
	if (store_open(&s, a, 0, 0) != 0)
		return 2;
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.sensor = "bench";
	o.quiet = true;
	o.format = "zeek";
	struct ingest_summary sum;
	char *paths[] = {(char *)file};
	long f0 = minflt(), fs;
	double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	int err = ingest_files(s, paths, 1, &o, &sum);
	double ti = now_s() - t0, ci = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	long fi = minflt() - f0;
	store_close(s);
	uint64_t n;
	double cs;
	double ts = store_only(file, b, &n, &cs, &fs);
	if (err != 0 || ts <= 0)
		return 2;
	double ri = (double)sum.ws.clients / ti, rs = (double)n / ts;
	/* CPU seconds of every thread of each side: on a loaded machine the
	 * wall clock says how the CPUs were shared as much as what it cost */
	printf("conn.log: ingest %llu records %.0f/s, store-only %llu records %.0f/s, ratio %.2f; "
	       "CPU ingest %.3f s, store-only %.3f s; page faults ingest %ld, store-only %ld\n",
	       (unsigned long long)sum.ws.clients, ri, (unsigned long long)n, rs, ri / rs, ci, cs,
	       fi, fs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "pairs") == 0)
		return cmd_pairs(argv[2]);
	uint64_t a = 0, b = 5;
	if (argc >= 5 && strcmp(argv[1], "fill") == 0 &&
	    util_u64_parse(argv[3], UINT64_MAX, &a) == 0 &&
	    util_u64_parse(argv[4], UINT_MAX, &b) == 0)
		return cmd_fill(argv[2], a, (unsigned)b);
	if (argc >= 3 && strcmp(argv[1], "beacons") == 0 &&
	    (argc == 3 || util_u64_parse(argv[3], 1000, &b) == 0))
		return cmd_beacons(argv[2], (unsigned)b);
	if (argc >= 4 && strcmp(argv[1], "conn") == 0)
		return cmd_conn(argv[2], argv[3]);
	fprintf(stderr, "usage: estate_bench pairs DB | fill DB PAIRS N | beacons DB [RUNS] | "
	                "conn FILE DIR\n");
	return 2;
}
