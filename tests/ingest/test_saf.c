/*
 * test_saf.c - the SAF format (ingest/saf.c) and the stream's newest
 * time_last (checkpoints), on a real LMDB in a temporary directory.
 */
#include "ingest/ingest.h"
#include "tests/testutil.h"

struct rej {
	unsigned n;
	uint64_t lines[8];
	char reasons[8][256];
};

static void on_reject(const char *input, uint64_t line, const char *reason, void *ctx)
{
	struct rej *r = ctx;
	if (r->n < 8) {
		r->lines[r->n] = line;
		snprintf(r->reasons[r->n], sizeof(r->reasons[0]), "%s", reason);
	}
	r->n++;
}

static int sum_count(const struct store_rr *rr, void *ctx)
{
	*(uint64_t *)ctx += rr->count;
	return 0;
}

static uint64_t count_of(store_t *s, const char *name)
{
	store_rtxn_t *r;
	uint64_t n = 0;
	struct store_fence f;
	store_fence_init(&f);
	if (store_read_begin(s, &r) != 0)
		return UINT64_MAX;
	store_rr_by_name(r, name, 0, &f, sum_count, &n);
	store_read_end(r);
	return n;
}

static void test_cond(void)
{
	char msg[64];
	T_EQ_INT(ingest_saf_cond("{\"cond\":\"begin\"}", 16, msg, sizeof(msg)), INGEST_SAF_BEGIN);
	const char *l = "{\"cond\":\"limited\",\"msg\":\"Result limit reached\"}\r";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_LIMITED);
	T_EQ_STR(msg, "Result limit reached");
	l = "{\"cond\":\"failed\",\"msg\":\"boom\"}";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_FAILED);
	l = "{\"cond\":\"succeeded\"}";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_SUCCEEDED);
	T_EQ_STR(msg, "");
	l = "{\"cond\":\"weird\"}";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_UNKNOWN);
	l = "{\"obj\":{}}";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_NONE);
	l = "{\"obj\":{\"rrname\":\"x.";
	T_EQ_INT(ingest_saf_cond(l, strlen(l), msg, sizeof(msg)), INGEST_SAF_NONE);
}

static const char feed[] =
    "{\"cond\":\"begin\"}\n"
    "{\"obj\":{\"count\":10,\"time_first\":1700000000,\"time_last\":1700001000,"
    "\"rrname\":\"WWW.Example.COM.\",\"rrtype\":\"A\",\"bailiwick\":\"example.com.\","
    "\"rdata\":[\"192.0.2.1\",\"192.0.2.2\"]}}\n"
    "{\"obj\":{\"count\":3,\"zone_time_first\":1600000000,\"zone_time_last\":1700005000,"
    "\"rrname\":\"example.com.\",\"rrtype\":\"NS\",\"bailiwick\":\"com.\","
    "\"rdata\":\"ns1.example.net.\"}}\n"
    "{\"obj\":{\"count\":1,\"time_first\":1,\"time_last\":2,\"rrtype\":\"A\",\"rdata\":\"192.0.2."
    "9\"}}\n"
    "{\"obj\":{\"count\":1,\"rrname\":\"notime.example.com.\",\"rrtype\":\"A\",\"rdata\":\"192.0.2."
    "9\"}}\n"
    "{\"cond\":\"ongoing\"}\n"
    "{\"obj\":{\"count\":2,\"time_first\":1700000000,\"time_last\":1700002000,"
    "\"rrname\":\"mail.example.com.\",\"rrtype\":\"MX\",\"rdata\":\"10 mx.example.com.\"}}\n"
    "{\"cond\":\"succeeded\"}\n"
    "{\"obj\":{\"count\":1,\"time_first\":1,\"time_last\":9999999999,\"rrname\":\"late.example.com."
    "\","
    "\"rrtype\":\"A\",\"rdata\":\"192.0.2.9\"}}\n";

static void test_stream(void)
{
	store_t *s;
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, 0), 0);
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.format = "saf";
	o.quiet = true;
	struct rej rj = {0};
	o.on_reject = on_reject;
	o.reject_ctx = &rj;
	ingest_stream_t *st;
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	T_EQ_INT(ingest_stream_newest(st), -1);
	T_EQ_INT(ingest_stream_begin(st, "feed", NULL, 0), 0);
	/* bytes arrive in odd pieces, as from the network */
	for (size_t i = 0; i < sizeof(feed) - 1; i += 7) {
		size_t n = sizeof(feed) - 1 - i < 7 ? sizeof(feed) - 1 - i : 7;
		T_EQ_INT(ingest_stream_feed(st, feed + i, n), 0);
	}
	T_EQ_INT(ingest_stream_end(st), 0);
	T_EQ_INT(ingest_stream_newest(st), 1700005000);
	T_EQ_INT(ingest_stream_commit(st, NULL, 0), 0);
	struct ingest_summary sum;
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.accepted, 3);
	T_EQ_INT(sum.rejected, 3);
	T_EQ_INT(sum.records, 4);
	T_EQ_INT(rj.n, 3);
	T_EQ_INT(rj.lines[0], 4);
	T_CHECK(strstr(rj.reasons[0], "rrname") != NULL);
	T_EQ_INT(rj.lines[1], 5);
	T_CHECK(strstr(rj.reasons[1], "time_first") != NULL);
	T_EQ_INT(rj.lines[2], 9);
	T_CHECK(strstr(rj.reasons[2], "final condition") != NULL);
	T_EQ_INT(count_of(s, "www.example.com"), 20);
	T_EQ_INT(count_of(s, "example.com"), 3);
	T_EQ_INT(count_of(s, "mail.example.com"), 2);
	T_EQ_INT(count_of(s, "late.example.com"), 0);
	store_close(s);
}

static void test_detect(void)
{
	T_CHECK(ingest_format_known("saf"));
	store_t *s;
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, 0), 0);
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.quiet = true;
	ingest_stream_t *st;
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	T_EQ_INT(ingest_stream_begin(st, "auto", NULL, 0), 0);
	T_EQ_INT(ingest_stream_feed(st, feed, sizeof(feed) - 1), 0);
	T_EQ_INT(ingest_stream_end(st), 0);
	struct ingest_summary sum;
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.accepted, 3);
	T_EQ_INT(sum.records, 4);
	store_close(s);
}

int main(void)
{
	test_cond();
	test_stream();
	test_detect();
	return t_done();
}
