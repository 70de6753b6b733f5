/*
 * test_units.c - the write units of an ingest stream on a real LMDB: the
 * first units ramp up (16384, 32768, ... observations, then the budget),
 * an explicit --batch is the size of every unit, and the ramp loses and
 * reorders nothing (every sighting of a pair merged in time order).
 * The sizes are seen through the position hook, which a stream calls
 * with each unit as it hands it to the writer.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
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

/* LINES connections of one client to 10 servers, one a minute. */
static void feed_conn(ingest_stream_t *st)
{
	T_EQ_INT(ingest_stream_feed(st, header, strlen(header)), 0);
	for (unsigned i = 0; i < LINES; i++) {
		char line[160];
		int n = snprintf(line, sizeof(line),
		                 "%u.5\tC%u\t10.0.0.7\t40000\t198.51.100.%u\t443\ttcp\t-\t1.0\t"
		                 "300\t900\tSF\n",
		                 1700000000 + i * 60, i, 1 + i % 10);
		T_EQ_INT(ingest_stream_feed(st, line, (size_t)n), 0);
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

static void run(size_t batch, struct units *u)
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
	feed_conn(st);
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
	run(0, &u);
	/* 16384, 32768, then the rest (under an empty store's budget) */
	T_EQ_INT(u.n, 3);
	T_EQ_INT(u.len[0], 16384);
	T_EQ_INT(u.len[1], 32768);
	T_EQ_INT(u.len[2], LINES - 16384 - 32768);
}

static void test_explicit_batch(void)
{
	struct units u = {0};
	run(7000, &u);
	T_EQ_INT(u.n, (LINES + 6999) / 7000);
	for (size_t i = 0; i + 1 < u.n && i < 64; i++)
		T_EQ_INT(u.len[i], 7000);
}

int main(void)
{
	test_ramp();
	test_explicit_batch();
	return t_done();
}
