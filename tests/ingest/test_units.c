/*
 * test_units.c - the write units of an ingest stream on a real LMDB: the
 * first units ramp up (16384, 32768, ... observations, then the budget)
 * while the writer waits for them, and fill to the budget while it is
 * behind; an explicit --batch is the size of every unit; and neither
 * loses or reorders anything (every sighting of a pair merged in time
 * order).  The sizes are seen through the position hook, which a stream
 * calls with each unit as it hands it to the writer.  The writer's state
 * is made certain, not raced: waited for after every line (idle), or
 * held (behind).
 */
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/stream_internal.h"
#include "store/client.h"
#include "tests/testutil.h"

#define LINES 60000

struct units {
	size_t len[64];
	size_t n;
};

static int on_unit(void *arg, store_batch_t *sb, uint64_t bytes, uint64_t line)
{
	(void)bytes;
	(void)line;
	struct units *u = arg;
	if (u->n < 64)
		u->len[u->n] = store_batch_len(sb);
	u->n++;
	return 0;
}

static const char header[] = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\t"
                             "id.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
                             "resp_bytes\tconn_state\n";

enum writer_mode { W_FREE, W_IDLE, W_BEHIND };

/* Until the writer has written every unit handed to it. */
static void wait_idle(ingest_stream_t *st)
{
	pthread_mutex_lock(&st->mu);
	while (st->qlen > 0)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
}

/* LINES connections of one client to 10 servers, one a minute. */
static void feed_conn(ingest_stream_t *st, enum writer_mode mode)
{
	T_EQ_INT(ingest_stream_feed(st, header, strlen(header)), 0);
	for (unsigned i = 0; i < LINES; i++) {
		char line[160];
		int n = snprintf(line, sizeof(line),
		                 "%u.5\tC%u\t10.0.0.7\t40000\t198.51.100.%u\t443\ttcp\t-\t1.0\t"
		                 "300\t900\tSF\n",
		                 1700000000 + i * 60, i, 1 + i % 10);
		T_EQ_INT(ingest_stream_feed(st, line, (size_t)n), 0);
		if (mode == W_IDLE)
			wait_idle(st);
	}
}

static int pair_cb(const struct store_client_row *row, void *ctx)
{
	(*(unsigned *)ctx)++;
	T_EQ_INT(row->st.count, LINES / 10);
	T_EQ_INT(row->st.neg_gaps, 0);
	T_EQ_INT(store_hist_total(&row->st.gaps), LINES / 10 - 1);
	return 0;
}

static void run(size_t batch, enum writer_mode mode, struct units *u)
{
	store_t *s;
	T_EQ_INT(store_open(&s, t_tmpdir(), STORE_NOSYNC, 0), 0);
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.format = "zeek";
	o.sensor = "s1";
	o.quiet = true;
	o.batch = batch;
	ingest_stream_t *st;
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	ingest_stream_set_position(st, on_unit, u);
	T_EQ_INT(ingest_stream_begin(st, "conn.log", NULL, 0), 0);
	if (mode == W_BEHIND)
		ingest_writer_hold(st, true);
	feed_conn(st, mode);
	if (mode == W_BEHIND) {
		T_EQ_INT(st->qlen, 1); /* the first unit, not written yet */
		ingest_writer_hold(st, false);
	}
	T_EQ_INT(ingest_stream_end(st), 0);
	struct ingest_summary sum;
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.accepted, LINES);
	T_EQ_INT(sum.ws.clients, LINES);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	unsigned pairs = 0;
	int err = store_clients_scan(r, pair_cb, &pairs);
	store_read_end(r);
	store_close(s);
	T_EQ_INT(err, 0);
	T_EQ_INT(pairs, 10); /* one client, 10 servers */
}

static void test_ramp(void)
{
	struct units u = {0};
	run(0, W_IDLE, &u);
	/* 16384, 32768, then the rest (under an empty store's budget) */
	T_EQ_INT(u.n, 3);
	T_EQ_INT(u.len[0], 16384);
	T_EQ_INT(u.len[1], 32768);
	T_EQ_INT(u.len[2], LINES - 16384 - 32768);
}

/* A writer behind (its first unit still queued): the next unit fills to
 * the budget, here the whole rest of the input. */
static void test_behind(void)
{
	struct units u = {0};
	run(0, W_BEHIND, &u);
	T_EQ_INT(u.n, 2);
	T_EQ_INT(u.len[0], 16384);
	T_EQ_INT(u.len[1], LINES - 16384);
}

/* The writer as it comes: whatever the sizes, the first is the ramp's
 * and none is below it or above the budget but the last. */
static void test_free(void)
{
	struct units u = {0};
	run(0, W_FREE, &u);
	T_CHECK(u.n >= 2 && u.n <= 3);
	T_EQ_INT(u.len[0], 16384);
	size_t sum = 0;
	for (size_t i = 0; i < u.n; i++) {
		T_CHECK(i == 0 || i + 1 == u.n || u.len[i] >= 32768);
		sum += u.len[i];
	}
	T_EQ_INT(sum, LINES);
}

static void test_explicit_batch(void)
{
	struct units u = {0};
	run(7000, W_FREE, &u);
	T_EQ_INT(u.n, (LINES + 6999) / 7000);
	for (size_t i = 0; i + 1 < u.n && i < 64; i++)
		T_EQ_INT(u.len[i], 7000);
}

int main(void)
{
	test_ramp();
	test_behind();
	test_free();
	test_explicit_batch();
	return t_done();
}
