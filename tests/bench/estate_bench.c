/*
 * estate_bench.c - benchmarks of client sightings (not tests):
 *   estate_bench pairs DB             rows, key and value bytes per pair
 *   estate_bench fill DB PAIRS N      a synthetic store: PAIRS pairs of N
 *                                     contacts (every 20th pair a beacon)
 *   estate_bench beacons DB RUNS      `beacons` over DB: p50 of RUNS runs
 *   estate_bench conn FILE DIR        conn.log ingest rate against the
 *                                     store-only rate of the same records
 *                                     (each side a process of its own),
 *                                     the CPU time of each side, and the
 *                                     writes alone (batches built untimed)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* One conn.log sighting, parsed before any clock starts. */
struct conn_rec {
	int64_t t;
	uint64_t out, in;
	uint8_t client[16], ip[16];
	bool has_bytes;
};

/* The standard conn.log columns: ts uid orig_h orig_p resp_h resp_p proto
 * service duration orig_bytes resp_bytes. */
static int conn_parse(char *line, struct conn_rec *r)
{
	char *f[12];
	int n = 0;
	char *save = NULL;
	for (char *p = strtok_r(line, "\t\n", &save); p != NULL && n < 12;
	     p = strtok_r(NULL, "\t\n", &save))
		f[n++] = p;
	if (n < 11 || line[0] == '#')
		return -1;
	r->t = strtoll(f[0], NULL, 10);
	r->has_bytes = f[9][0] != '-';
	r->out = strtoull(f[9], NULL, 10);
	r->in = strtoull(f[10], NULL, 10);
	if (store_addr_parse(f[2], strlen(f[2]), r->client) != 0 ||
	    store_addr_parse(f[4], strlen(f[4]), r->ip) != 0)
		return -1;
	return 0;
}

static struct conn_rec *conn_read(const char *file, size_t *n)
{
	FILE *in = fopen(file, "r");
	struct conn_rec *v = NULL;
	size_t cap = 0;
	char line[4096];
	*n = 0;
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 65536;
			struct conn_rec *w = realloc(v, cap * sizeof(*v));
			if (w == NULL)
				break;
			v = w;
		}
		if (conn_parse(line, &v[*n]) == 0)
			(*n)++;
	}
	if (in != NULL)
		fclose(in);
	return v;
}

static void conn_obs(const struct conn_rec *r, struct store_obs *o)
{
	o->time_first = o->time_last = r->t;
	o->client.has_bytes = r->has_bytes;
	o->client.bytes_out = r->out;
	o->client.bytes_in = r->in;
	memcpy(o->client.client, r->client, 16);
	memcpy(o->client.ip, r->ip, 16);
}

/* What one side measured. */
struct side {
	uint64_t n;
	double wall, cpu;
	long faults;
};

static void side_start(struct side *sd, double *t0, double *c0)
{
	sd->faults = minflt();
	*t0 = now_s();
	*c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void side_stop(struct side *sd, double t0, double c0)
{
	sd->wall = now_s() - t0;
	sd->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	sd->faults = minflt() - sd->faults;
}

/* The store-only side: the sightings parsed into memory (not timed), then
 * handed to the store as a store user does: each added to a batch, a
 * batch written (one transaction) when it holds the store's budget, and
 * reset for the next.  prebuilt: the earlier definition, every batch
 * built before the clock starts and only the writes timed. */
static int store_only(const char *file, const char *dir, bool prebuilt, struct side *sd)
{
	size_t n, nb = 0;
	struct conn_rec *r = conn_read(file, &n);
	store_t *s;
	if (r == NULL || store_open(&s, dir, 0, 0) != 0)
		return -1;
	static struct store_obs o;
	o.kind = STORE_OBS_CLIENT;
	o.count = 1;
	snprintf(o.sensor, sizeof(o.sensor), "bench");
	o.client.dtype = STORE_DEST_IP;
	o.client.src = STORE_CSRC_CONN;
	size_t budget = store_batch_budget(s), cap = prebuilt ? n / budget + 1 : 1;
	store_batch_t **bs = calloc(cap, sizeof(*bs));
	double t0 = 0, c0 = 0;
	int err = bs == NULL;
	if (!prebuilt)
		side_start(sd, &t0, &c0);
	for (size_t i = 0; i < n && err == 0; i++) {
		if (nb == 0 || store_batch_len(bs[nb - 1]) >= budget) {
			if (!prebuilt && nb == 1) {
				err = store_write_batch(s, bs[0], NULL);
				store_batch_reset(bs[0]);
			} else if (store_batch_new(&bs[nb++]) != 0) {
				return -1;
			}
		}
		conn_obs(&r[i], &o);
		err = err || store_batch_add(bs[nb - 1], &o);
	}
	if (prebuilt)
		side_start(sd, &t0, &c0);
	for (size_t i = 0; i < nb && err == 0; i++)
		err = store_write_batch(s, bs[i], NULL);
	side_stop(sd, t0, c0);
	for (size_t i = 0; i < nb; i++)
		store_batch_free(bs[i]);
	free(bs);
	free(r);
	store_close(s);
	sd->n = n;
	return err ? -1 : 0;
}

static int ingest_side(const char *file, const char *dir, struct side *sd)
{
	store_t *s;
	if (store_open(&s, dir, 0, 0) != 0)
		return -1;
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.sensor = "bench";
	o.quiet = true;
	o.format = "zeek";
	struct ingest_summary sum;
	char *paths[] = {(char *)file};
	double t0, c0;
	side_start(sd, &t0, &c0);
	int err = ingest_files(s, paths, 1, &o, &sum);
	side_stop(sd, t0, c0);
	store_close(s);
	sd->n = sum.ws.clients;
	return err;
}

/* Run one side in a process of its own (neither side inherits the
 * other's warm heap or kept buffers); its figures come back by a pipe. */
static int side_run(int which, const char *file, const char *dir, struct side *sd)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		int err = which == 0   ? ingest_side(file, dir, sd)
		          : which == 1 ? store_only(file, dir, false, sd)
		                       : store_only(file, dir, true, sd);
		_exit(err != 0 || write(fd[1], sd, sizeof(*sd)) != (ssize_t)sizeof(*sd));
	}
	close(fd[1]);
	ssize_t got = pid > 0 ? read(fd[0], sd, sizeof(*sd)) : -1;
	close(fd[0]);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	return got == (ssize_t)sizeof(*sd) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmd_conn(const char *file, const char *dir)
{
	static const char *sub[] = {"ingest", "store", "prebuilt"};
	struct side sd[3];
	for (int i = 0; i < 3; i++) {
		char d[4096];
		snprintf(d, sizeof(d), "%s/%s", dir, sub[i]);
		if (mkdir(d, 0755) != 0 && errno != EEXIST)
			return 2;
		if (side_run(i, file, d, &sd[i]) != 0) {
			fprintf(stderr, "conn: the %s side failed\n", sub[i]);
			return 2;
		}
	}
	double rate[3];
	for (int i = 0; i < 3; i++)
		rate[i] = (double)sd[i].n / sd[i].wall;
	/* CPU seconds of every thread of each side: on a loaded machine the
	 * wall clock says how the CPUs were shared as much as what it cost */
	printf("conn.log: ingest %llu records %.0f/s, store-only %llu records %.0f/s, ratio %.2f; "
	       "CPU ingest %.3f s, store-only %.3f s; page faults ingest %ld, store-only %ld; "
	       "writes alone (batches built untimed) %.0f/s, ratio %.2f, CPU %.3f s\n",
	       (unsigned long long)sd[0].n, rate[0], (unsigned long long)sd[1].n, rate[1],
	       rate[0] / rate[1], sd[0].cpu, sd[1].cpu, sd[0].faults, sd[1].faults, rate[2],
	       rate[0] / rate[2], sd[2].cpu);
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
