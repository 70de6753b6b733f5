/*
 * test_ch_fake.h - test_ch.c against tests/store/ch_fake_server.py: the
 * server's messages, the response bound, RowBinary rows good and bad, the
 * rows an INSERT sends and its retry under the same token.
 */
#ifndef TEST_CH_FAKE_H
#define TEST_CH_FAKE_H

struct rows_seen {
	unsigned n;
	char line[512];
	int stop_after; /* 0: never */
};

static int seen_cb(const struct store_rr *rr, void *ctx)
{
	struct rows_seen *s = ctx;
	s->n++;
	snprintf(s->line, sizeof(s->line), "%s %u %s %lld %lld %llu %s %u:%s,%s,%s more=%u",
	         rr->rrname, rr->rrtype, rr->rdata, (long long)rr->time_first,
	         (long long)rr->time_last, (unsigned long long)rr->count, rr->bailiwick,
	         rr->nsensors, rr->nsensors > 0 ? rr->sensors[0] : "",
	         rr->nsensors > 1 ? rr->sensors[1] : "", rr->nsensors > 2 ? rr->sensors[2] : "",
	         rr->sensors_more);
	return s->stop_after > 0 && s->n >= (unsigned)s->stop_after ? STORE_STOP : 0;
}

static void fake_reads(store_ch_t *c)
{
	struct store_fence f;
	store_fence_init(&f);
	struct rows_seen s = {0};
	T_EQ_INT(store_ch_rr_by_name(c, "OK.example.net.", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	T_EQ_STR(s.line, "ok.example.net 1 192.0.2.1 1000 2000 7 example.net 3:s1,s2,s3 more=0");
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	T_EQ_INT(store_ch_rr_by_name(c, "two.example.net", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	memset(&s, 0, sizeof(s));
	T_EQ_INT(store_ch_rr_by_name(c, "two.example.net", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 2);
	f.last_after = 3000; /* the rows end at 2000 */
	memset(&s, 0, sizeof(s));
	T_EQ_INT(store_ch_rr_by_name(c, "ok.example.net", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 0);
	store_fence_init(&f);
	T_EQ_INT(store_ch_rr_by_name(c, "truncated.example.net", 0, &f, seen_cb, &s),
	         STORE_ECORRUPT);
	T_EQ_INT(store_ch_rr_by_name(c, "absurd.example.net", 0, &f, seen_cb, &s), STORE_ECORRUPT);
	T_CHECK(strstr(store_last_error(), "RowBinary") != NULL);
	T_EQ_INT(s.n, 0);
}

static void fake_errors(store_ch_t *c)
{
	struct util_buf b;
	util_buf_init(&b, 1 << 20);
	T_EQ_INT(store_ch_ping(c), 0);
	T_EQ_INT(store_ch_exec(c, "SELECT * FROM no_such_table", NULL, 0, NULL, &b), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "HTTP 404: Code: 60") != NULL);
	T_CHECK(strstr(store_last_error(), "second line") == NULL);
	store_ch_set_response_max(c, 100);
	T_EQ_INT(store_ch_exec(c, "SELECT big", NULL, 0, NULL, &b), STORE_ELIMIT);
	store_ch_set_response_max(c, STORE_CH_RESPONSE_MAX);
	b.limit = 1 << 20;
	util_buf_reset(&b);
	T_EQ_INT(store_ch_exec(c, "SELECT big", NULL, 0, NULL, &b), 0);
	T_EQ_INT(b.len, 10000);
	util_buf_free(&b);
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Two observations, the first attempt refused (503): the retry sends the
 * same bytes under the same token. */
static void fake_write(store_ch_t *c, const char *bodies)
{
	struct store_obs o[3];
	memset(o, 0, sizeof(o));
	o[0].kind = o[1].kind = STORE_OBS_DNS;
	o[2].kind = STORE_OBS_FP; /* not written yet: skipped */
	snprintf(o[0].dns.rrname, sizeof(o[0].dns.rrname), "www.example.com");
	o[0].dns.rrtype = STORE_RR_MX;
	snprintf(o[0].dns.rdata, sizeof(o[0].dns.rdata), "10 mail.example.com");
	snprintf(o[1].dns.rrname, sizeof(o[1].dns.rrname), "www.example.com");
	o[1].dns.rrtype = STORE_RR_A;
	T_EQ_INT(store_addr_parse("192.0.2.7", 9, o[1].dns.addr), 0);
	snprintf(o[1].sensor, sizeof(o[1].sensor), "sensor-7");
	size_t skipped = 0;
	T_EQ_INT(store_ch_write(c, o, 3, 0x0102030405060708ull, &skipped), 0);
	T_EQ_INT(skipped, 1);
	char p1[512], p2[512], a[4096], b[4096];
	snprintf(p1, sizeof(p1), "%s/insert-1", bodies);
	snprintf(p2, sizeof(p2), "%s/insert-2", bodies);
	size_t na = read_all(p1, a, sizeof(a)), nb = read_all(p2, b, sizeof(b));
	T_CHECK(na > 0 && na == nb && memcmp(a, b, na) == 0);
	T_CHECK(na > 8 && memcmp(a, "\x08\x07\x06\x05\x04\x03\x02\x01", 8) == 0);
	T_CHECK(memmem(a, na,
	               "\x0f"
	               "com.example.www\x0f"
	               "www.example.com",
	               32) != NULL);
	T_CHECK(memmem(a, na,
	               "\x10"
	               "com.example.mail",
	               17) != NULL); /* the MX target */
	T_CHECK(memmem(a, na,
	               "\x09"
	               "192.0.2.7",
	               10) != NULL);
	T_CHECK(memmem(a, na, "\xff\xff\xc0\x00\x02\x07", 6) != NULL);
	T_CHECK(memmem(a, na,
	               "\x08"
	               "sensor-7",
	               9) != NULL);
}

#include "tests/store/test_ch_fake_certs.h"

static void fake(const char *url, const char *bodies)
{
	store_ch_t *c;
	T_EQ_INT(store_ch_open(&c, url), 0);
	fake_errors(c);
	fake_reads(c);
	fake_write(c, bodies);
	fake_more(c, bodies, 3); /* test_ch_fake_certs.h; inserts 1 and 2 were fake_write's */
	store_ch_close(c);
	/* a wrong password: the server's message */
	setenv("INFRAPIVOT_CH_PASSWORD", "wrong", 1);
	T_EQ_INT(store_ch_open(&c, url), 0);
	T_EQ_INT(store_ch_exec(c, "SELECT 1", NULL, 0, NULL, NULL), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "Code: 193") != NULL);
	store_ch_close(c);
}

#endif
