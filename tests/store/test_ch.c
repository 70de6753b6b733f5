/*
 * test_ch.c - the ClickHouse store (store/ch.c, store/ch_rr.c).
 *
 * With --fake URL DIR: against tests/store/ch_fake_server.py (the
 * default suite's tests/store/test_ch_fake.sh), every path that needs a
 * server's answer: messages, bounds, good and bad rows, INSERT bytes and
 * the retry.
 *
 * Without arguments: what needs no server (store addresses, credentials,
 * a refused connection, wildcards not there yet).  Run by the default
 * suite.
 *
 * With INFRAPIVOT_CH_URL set and input files as arguments (the cluster
 * test, tests/store/test_ch_cluster.sh, which starts scripts/cluster.sh):
 * the inputs are ingested into a fresh LMDB store, every DNS observation
 * the writer merged is captured by the write hook and written to the
 * cluster in batches, and the lookups of every name and of every parent
 * zone must give the same resolutions on both stores; a batch written
 * again under its token must change nothing, under a new token it must
 * count twice (as a second ingest into LMDB does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "store/ch.h"
#include "store/store.h"
#include "tests/testutil.h"

/* Several entry points: clickhouse://H:P,H:P/DB; each bad list says what
 * is wrong with it. */
static void test_url_list(void)
{
	struct store_ch_url u;
	T_EQ_INT(
	    store_ch_url_parse("clickhouse://127.0.0.1:8123,ch-2.example:9000,10.0.0.3:1/d", &u),
	    0);
	T_EQ_INT(u.n, 3);
	T_EQ_STR(u.entry[0].host, "127.0.0.1");
	T_EQ_INT(u.entry[0].port, 8123);
	T_EQ_STR(u.entry[1].host, "ch-2.example");
	T_EQ_INT(u.entry[1].port, 9000);
	T_EQ_STR(u.entry[2].host, "10.0.0.3");
	T_EQ_INT(u.entry[2].port, 1);
	T_EQ_STR(u.db, "d");
	T_EQ_INT(store_ch_url_parse("clickhouse://a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8/d", &u), 0);
	T_EQ_INT(u.n, STORE_CH_ENTRIES_MAX);
	static const struct {
		const char *url, *why;
	} bad[] = {
	    {"clickhouse://a:1,/d", "an empty entry point"},
	    {"clickhouse://,a:1/d", "an empty entry point"},
	    {"clickhouse://a:1,,b:2/d", "an empty entry point"},
	    {"clickhouse://a:1,b/d", "an entry point without :PORT"},
	    {"clickhouse://a:1,b:0/d", "a bad port (1-65535)"},
	    {"clickhouse://a:1,b:65536/d", "a bad port (1-65535)"},
	    {"clickhouse://a:1,b:/d", "a bad port (1-65535)"},
	    {"clickhouse://a:1,b:2x/d", "a bad port (1-65535)"},
	    {"clickhouse://a:1,:2/d", "a bad host"},
	    {"clickhouse://a:1,b c:2/d", "a bad host"},
	    {"clickhouse://a:1,u:p@b:2/d", "a bad port (1-65535)"},
	    {"clickhouse://a:1,a:1/d", "an entry point listed twice"},
	    {"clickhouse://a:1,a:1,b:2/d", "an entry point listed twice"},
	    {"clickhouse://a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9/d", "more than 8 entry points"},
	    {"clickhouse://a:1,b:2", "no /DATABASE"},
	    {"clickhouse://a:1,b:2/", "a bad database name"},
	    {"clickhouse://a:1,b:2/d,e", "a bad database name"},
	    {"clickhouse:/a:1,b:2/d", "not clickhouse://"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ_INT(store_ch_url_parse(bad[i].url, &u), -EINVAL);
		T_CHECK(strstr(store_last_error(), bad[i].why) != NULL);
		T_CHECK(strstr(store_last_error(), bad[i].url) != NULL);
		T_CHECK(strstr(store_last_error(), "HOST:PORT,HOST:PORT") != NULL);
	}
}

static void test_url(void)
{
	struct store_ch_url u;
	T_EQ_INT(store_ch_url_parse("clickhouse://127.0.0.1:8123/infrapivot", &u), 0);
	T_EQ_INT(u.n, 1);
	T_EQ_STR(u.entry[0].host, "127.0.0.1");
	T_EQ_INT(u.entry[0].port, 8123);
	T_EQ_STR(u.db, "infrapivot");
	T_EQ_INT(store_ch_url_parse("clickhouse://ch-1.example:9000/db_2", &u), 0);
	test_url_list();
	static const char *bad[] = {
	    "http://127.0.0.1:8123/db",        "clickhouse://127.0.0.1/db",
	    "clickhouse://127.0.0.1:0/db",     "clickhouse://127.0.0.1:65536/db",
	    "clickhouse://127.0.0.1:80x/db",   "clickhouse://127.0.0.1:8123/",
	    "clickhouse://127.0.0.1:8123/1db", "clickhouse://127.0.0.1:8123/db;DROP",
	    "clickhouse://:8123/db",           "clickhouse://a b:8123/db",
	    "clickhouse://u:p@host:8123/db",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ_INT(store_ch_url_parse(bad[i], &u), -EINVAL);
		T_CHECK(strstr(store_last_error(), "clickhouse://HOST:PORT/DATABASE") != NULL);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	T_CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_credentials(void)
{
	char user[STORE_CH_USER_BUF], pass[STORE_CH_PASS_BUF], file[512];
	unsetenv("INFRAPIVOT_CH_USER");
	unsetenv("INFRAPIVOT_CH_PASSWORD");
	unsetenv("INFRAPIVOT_CH_CREDENTIALS");
	T_EQ_INT(store_ch_credentials(user, pass), 0);
	T_EQ_STR(user, "default");
	T_EQ_STR(pass, "");
	snprintf(file, sizeof(file), "%s/cred", t_tmpdir());
	write_file(file, "ops:s3cr:et\nignored\n");
	setenv("INFRAPIVOT_CH_CREDENTIALS", file, 1);
	T_EQ_INT(store_ch_credentials(user, pass), 0);
	T_EQ_STR(user, "ops");
	T_EQ_STR(pass, "s3cr:et");
	setenv("INFRAPIVOT_CH_USER", "env", 1); /* the environment wins over the file */
	setenv("INFRAPIVOT_CH_PASSWORD", "pw", 1);
	T_EQ_INT(store_ch_credentials(user, pass), 0);
	T_EQ_STR(user, "env");
	T_EQ_STR(pass, "pw");
	unsetenv("INFRAPIVOT_CH_USER");
	unsetenv("INFRAPIVOT_CH_PASSWORD");
	write_file(file, "no colon here\n");
	T_EQ_INT(store_ch_credentials(user, pass), -EINVAL);
	T_CHECK(strstr(store_last_error(), "user:password") != NULL);
	write_file(file, ":nouser\n");
	T_EQ_INT(store_ch_credentials(user, pass), -EINVAL);
	setenv("INFRAPIVOT_CH_CREDENTIALS", "/nonexistent/cred", 1);
	T_EQ_INT(store_ch_credentials(user, pass), -ENOENT);
	T_CHECK(strstr(store_last_error(), "/nonexistent/cred") != NULL);
	unsetenv("INFRAPIVOT_CH_CREDENTIALS");
}

static int count_cb(const struct store_rr *rr, void *ctx)
{
	(void)rr;
	(*(int *)ctx)++;
	return 0;
}

/* One DNS observation: name CNAME example.com. */
static void cname_obs(struct store_obs *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_DNS;
	snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", name);
	o->dns.rrtype = STORE_RR_CNAME;
	snprintf(o->dns.rdata, sizeof(o->dns.rdata), "example.com");
}

/* Port 1 on loopback: nothing listens there, the connection is refused. */
static void test_refused(void)
{
	store_ch_t *c;
	T_EQ_INT(store_ch_open(&c, "clickhouse://127.0.0.1:1/db"), 0);
	T_EQ_INT(store_ch_ping(c), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "127.0.0.1:1") != NULL);
	struct store_fence f;
	store_fence_init(&f);
	int n = 0;
	T_EQ_INT(store_ch_rr_by_name(c, "www.example.com", 0, &f, count_cb, &n), STORE_EREMOTE);
	T_EQ_INT(store_ch_rr_by_name(c, "bad..name", 0, &f, count_cb, &n), STORE_EBADNAME);
	/* a right-hand wildcard is a query too (store/ch_rr.c) */
	T_EQ_INT(store_ch_rr_by_name(c, "update.*", 0, &f, count_cb, &n), STORE_EREMOTE);
	T_EQ_INT(store_ch_rr_by_name(c, "x..*", 0, &f, count_cb, &n), STORE_EBADNAME);
	T_EQ_INT(store_ch_rr_by_target_pattern(c, "*.update.*", &f, count_cb, &n), STORE_EBADNAME);
	T_EQ_INT(store_ch_rr_by_target_pattern(c, "update.*", &f, count_cb, &n), STORE_EREMOTE);
	T_EQ_INT(n, 0);
	struct store_obs o;
	cname_obs(&o, "www.example.com");
	T_EQ_INT(store_ch_write(c, &o, 1, 1, NULL), STORE_EREMOTE);
	store_ch_close(c);
}

#include "tests/store/test_ch_fake.h"
#include "tests/store/test_ch_parity.h"

/* after test_ch_fake.h: reuses its read_all, seen_cb */
#include "tests/store/test_ch_failover.h"

int main(int argc, char **argv)
{
	const char *url = getenv("INFRAPIVOT_CH_URL");
	if ((argc == 4 || argc == 6) && strcmp(argv[1], "--fake") == 0) {
		const char *pw = getenv("INFRAPIVOT_CH_PASSWORD");
		char *keep = strdup(pw ? pw : "");
		fake(argv[2], argv[3]); /* ends with a wrong password set */
		setenv("INFRAPIVOT_CH_PASSWORD", keep ? keep : "", 1);
		free(keep);
		if (argc == 6) /* a second stand-in that breaks connections */
			failover(argv[2], argv[3], argv[4], argv[5]);
	} else if (argc > 1 && url != NULL && *url != '\0') {
		parity(url, argv + 1, argc - 1);
	} else {
		test_url();
		test_credentials();
		test_refused();
	}
	return t_done();
}
