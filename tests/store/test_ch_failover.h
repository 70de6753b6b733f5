/*
 * test_ch_failover.h - test_ch.c's failover between entry points
 * (clickhouse://H:P,H:P/DB, store/ch.c) against two stand-ins: `live`, the
 * usual ch_fake_server.py, and `drop`, one started with "drop" that
 * records each request and then breaks the connection (no answer to an
 * INSERT or /ping, half a body to a SELECT).  Port 1 on loopback refuses.
 */
#ifndef TEST_CH_FAILOVER_H
#define TEST_CH_FAILOVER_H

#include <dirent.h>

/* Files in dir whose names start with prefix. */
static unsigned count_files(const char *dir, const char *prefix)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	T_CHECK(d != NULL);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* Requests the drop server recorded (its req-N files). */
static unsigned drop_requests(const char *dir)
{
	return count_files(dir, "req-");
}

/* The body of request i of the drop server, after its first line. */
static size_t drop_body(const char *dir, unsigned i, char *out, size_t cap)
{
	char p[512], raw[4096];
	snprintf(p, sizeof(p), "%s/req-%u", dir, i);
	size_t n = read_all(p, raw, sizeof(raw));
	const char *nl = memchr(raw, '\n', n);
	T_CHECK(nl != NULL);
	size_t skip = nl ? (size_t)(nl - raw) + 1 : n;
	size_t len = n - skip < cap ? n - skip : cap;
	memcpy(out, raw + skip, len);
	return len;
}

/* A read: the refused entry and the broken one are passed over, the half
 * body of the broken one is dropped, and the entry that answered stays
 * the first one asked. */
static void failover_read(const char *url, const char *drop_dir)
{
	store_ch_t *c;
	struct store_fence f;
	struct rows_seen s = {0};
	store_fence_init(&f);
	T_EQ_INT(store_ch_open(&c, url), 0);
	T_EQ_INT(store_ch_rr_by_name(c, "ok.example.net", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	T_EQ_STR(s.line, "ok.example.net 1 192.0.2.1 1000 2000 7 example.net 3:s1,s2,s3 more=0");
	T_EQ_INT(drop_requests(drop_dir), 1);
	memset(&s, 0, sizeof(s));
	T_EQ_INT(store_ch_rr_by_name(c, "ok.example.net", 0, &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	T_EQ_INT(store_ch_ping(c), 0);
	T_EQ_INT(drop_requests(drop_dir), 1); /* not asked again */
	store_ch_close(c);
}

/* An INSERT whose entry point breaks the connection goes, as the same
 * bytes under the same token, to the next one (which refuses it once with
 * 503, as every new token on the live stand-in, then takes it). */
static void failover_write(const char *url, const char *live_dir, const char *drop_dir)
{
	unsigned live_inserts = count_files(live_dir, "insert-");
	store_ch_t *c;
	struct store_obs o;
	cname_obs(&o, "failover.example.com");
	unsigned before = drop_requests(drop_dir);
	T_EQ_INT(store_ch_open(&c, url), 0);
	T_EQ_INT(store_ch_write(c, &o, 1, 0x1111222233334444ull, NULL), 0);
	store_ch_close(c);
	T_EQ_INT(drop_requests(drop_dir), before + 1);
	char d[4096], l1[4096], l2[4096], p[512];
	size_t nd = drop_body(drop_dir, before + 1, d, sizeof(d));
	snprintf(p, sizeof(p), "%s/insert-%u", live_dir, live_inserts + 1);
	size_t n1 = read_all(p, l1, sizeof(l1));
	snprintf(p, sizeof(p), "%s/insert-%u", live_dir, live_inserts + 2);
	size_t n2 = read_all(p, l2, sizeof(l2));
	T_CHECK(nd > 8 && memcmp(d, "\x44\x44\x33\x33\x22\x22\x11\x11", 8) == 0);
	T_CHECK(nd == n1 && n1 == n2 && memcmp(d, l1, nd) == 0 && memcmp(l1, l2, nd) == 0);
}

/* Every entry point down: a bounded number of attempts (3 for an INSERT,
 * each asking every entry once), then an error naming each entry point. */
static void failover_all_down(const char *drop_port, const char *drop_dir)
{
	store_ch_t *c;
	char url[128];
	snprintf(url, sizeof(url), "clickhouse://127.0.0.1:%s,127.0.0.1:1/t", drop_port);
	struct store_obs o;
	cname_obs(&o, "down.example.com");
	unsigned before = drop_requests(drop_dir);
	T_EQ_INT(store_ch_open(&c, url), 0);
	T_EQ_INT(store_ch_write(c, &o, 1, 7, NULL), STORE_EREMOTE);
	const char *e = store_last_error();
	T_CHECK(strstr(e, "every entry point is down") != NULL);
	T_CHECK(strstr(e, "127.0.0.1:1: ") != NULL);
	char self[64];
	snprintf(self, sizeof(self), "127.0.0.1:%s: ", drop_port);
	T_CHECK(strstr(e, self) != NULL);
	T_EQ_INT(drop_requests(drop_dir), before + 3);
	T_EQ_INT(store_ch_ping(c), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "every entry point is down") != NULL);
	struct util_buf b;
	util_buf_init(&b, 4096);
	T_EQ_INT(store_ch_exec(c, "SELECT 1", NULL, 0, NULL, &b), STORE_EREMOTE);
	T_EQ_INT(b.len, 0); /* the broken entry's half answer is not kept */
	util_buf_free(&b);
	store_ch_close(c);
}

/* live_url is the live stand-in's address. */
static void failover(const char *live_url, const char *live_dir, const char *drop_port,
                     const char *drop_dir)
{
	const char *live = strstr(live_url, "127.0.0.1:");
	char url[256];
	T_CHECK(live != NULL);
	snprintf(url, sizeof(url), "clickhouse://127.0.0.1:1,127.0.0.1:%s,%s", drop_port,
	         live ? live : "");
	failover_read(url, drop_dir);
	snprintf(url, sizeof(url), "clickhouse://127.0.0.1:%s,%s", drop_port, live ? live : "");
	failover_write(url, live_dir, drop_dir);
	failover_all_down(drop_port, drop_dir);
}

#endif
