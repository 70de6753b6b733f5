/*
 * test_scan.c - the store's cursor iterator (SCAN_* in store_internal.h)
 * and its one write-transaction retry loop (store_wtxn_retry), on a real
 * LMDB in a temporary directory.
 */
#include <errno.h>
#include <lmdb.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "tests/testutil.h"

static store_t *open_new(size_t mapsize)
{
	store_t *s = NULL;
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, mapsize), 0);
	if (s == NULL)
		exit(1);
	return s;
}

/* ---- fixtures ------------------------------------------------------------ */

static const char *meta_keys[] = {"p1a", "p1b", "p1c", "p2a", "q"};
static const uint8_t ip1[16] = {[15] = 1}, ip2[16] = {[15] = 2};

static int put_fixture(struct store_wtxn *w, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++) {
		MDB_val k = {strlen(meta_keys[i]), (void *)meta_keys[i]};
		MDB_val v = {1, (void *)"v"};
		w_put(w, DB_META, &k, &v, 0);
	}
	/* three duplicates under ip1 (put out of order), one under ip2 */
	const char *dups[] = {"dup-b", "dup-c", "dup-a"};
	for (int i = 0; i < 3; i++) {
		MDB_val k = {16, (void *)ip1}, v = {5, (void *)dups[i]};
		w_put(w, DB_ADDR, &k, &v, MDB_NODUPDATA);
	}
	MDB_val k = {16, (void *)ip2}, v = {5, (void *)"dup-z"};
	w_put(w, DB_ADDR, &k, &v, MDB_NODUPDATA);
	return 0;
}

/* The keys of a prefix scan of meta, joined by ','. */
static int meta_prefix(store_t *s, const char *start, size_t plen, char *out, size_t cap)
{
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	out[0] = '\0';
	struct scan sc;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_META], start, strlen(start), plen)
	{
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%.*s", l ? "," : "", (int)sc.k.mv_size,
		         (const char *)sc.k.mv_data);
	}
	int err = scan_end(&sc, 0, "test");
	store_read_end(r);
	return err;
}

/* ---- the iterator -------------------------------------------------------- */

static void test_prefix(store_t *s)
{
	char got[256];
	T_EQ_INT(meta_prefix(s, "p1", 2, got, sizeof(got)), 0);
	T_EQ_STR(got, "p1a,p1b,p1c"); /* stops where the prefix ends */
	T_EQ_INT(meta_prefix(s, "p1b", 2, got, sizeof(got)), 0);
	T_EQ_STR(got, "p1b,p1c"); /* starts at the key, bounded by its first bytes */
	T_EQ_INT(meta_prefix(s, "p", 1, got, sizeof(got)), 0);
	T_EQ_STR(got, "p1a,p1b,p1c,p2a");
	/* empty ranges: nothing between keys, nothing past the last key */
	T_EQ_INT(meta_prefix(s, "p3", 2, got, sizeof(got)), 0);
	T_EQ_STR(got, "");
	T_EQ_INT(meta_prefix(s, "zzz", 3, got, sizeof(got)), 0);
	T_EQ_STR(got, "");
	/* plen 0: to the end of the table */
	T_EQ_INT(meta_prefix(s, "p2", 0, got, sizeof(got)), 0);
	T_EQ_STR(got, "p2a,q,schema_version");
}

static void test_early_stop_and_errors(store_t *s)
{
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	/* break: the scan ends without error */
	struct scan sc;
	int n = 0;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_META], "p", 1, 1)
	{
		if (++n == 2)
			break;
	}
	T_EQ_INT(n, 2);
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_CHECK(sc.cur == NULL);
	/* the body's error is the scan's result */
	n = 0;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_META], "p", 1, 1)
	{
		n++;
		ret = STORE_ECORRUPT;
		break;
	}
	T_EQ_INT(n, 1);
	T_EQ_INT(scan_end(&sc, ret, "test"), STORE_ECORRUPT);
	/* a callback's STORE_STOP passes through scan_end; walk_done clears it */
	T_EQ_INT(scan_end(&sc, STORE_STOP, "test"), STORE_STOP);
	T_EQ_INT(walk_done(STORE_STOP), 0);
	T_EQ_INT(walk_done(STORE_ECORRUPT), STORE_ECORRUPT);
	/* an LMDB failure (here: no such table) runs no body and is reported */
	n = 0;
	SCAN_ALL(&sc, r->txn, (MDB_dbi)12345)
	{
		n++;
	}
	T_EQ_INT(n, 0);
	T_EQ_INT(sc.rc, EINVAL);
	T_EQ_INT(scan_end(&sc, 0, "test"), -EINVAL);
	T_CHECK(strstr(store_last_error(), "test") != NULL);
	/* ... unless the body already failed */
	SCAN_ALL(&sc, r->txn, (MDB_dbi)12345)
	{
	}
	T_EQ_INT(scan_end(&sc, STORE_ECORRUPT, "test"), STORE_ECORRUPT);
	store_read_end(r);
}

static void test_dups_all_reverse(store_t *s)
{
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	char got[128] = "";
	struct scan sc;
	SCAN_DUPS(&sc, r->txn, s->dbi[DB_ADDR], ip1, 16)
	{
		size_t l = strlen(got);
		snprintf(got + l, sizeof(got) - l, "%.*s;", (int)sc.v.mv_size,
		         (const char *)sc.v.mv_data);
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_STR(got, "dup-a;dup-b;dup-c;"); /* sorted, and not ip2's */
	/* no such key: an empty scan, not an error */
	uint8_t ip3[16] = {[15] = 3};
	int n = 0;
	SCAN_DUPS(&sc, r->txn, s->dbi[DB_ADDR], ip3, 16)
	{
		n++;
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_INT(n, 0);
	/* every item of a DUPSORT table, duplicates included */
	SCAN_ALL(&sc, r->txn, s->dbi[DB_ADDR])
	{
		n++;
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_INT(n, 4);
	/* a probe for one value (MDB_GET_BOTH) */
	n = 0;
	sc.v = (MDB_val){5, (void *)"dup-b"};
	SCAN_FOREACH(&sc, r->txn, s->dbi[DB_ADDR], MDB_GET_BOTH, MDB_NEXT_DUP, ip1, 16, 0)
	{
		n++;
		break;
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_INT(n, 1);
	sc.v = (MDB_val){5, (void *)"dup-z"};
	n = 0;
	SCAN_FOREACH(&sc, r->txn, s->dbi[DB_ADDR], MDB_GET_BOTH, MDB_NEXT_DUP, ip1, 16, 0)
	{
		n++;
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_INT(n, 0);
	/* backwards from the last key */
	got[0] = '\0';
	SCAN_FOREACH(&sc, r->txn, s->dbi[DB_META], MDB_LAST, MDB_PREV, NULL, 0, 0)
	{
		size_t l = strlen(got);
		snprintf(got + l, sizeof(got) - l, "%s%.*s", l ? "," : "", (int)sc.k.mv_size,
		         (const char *)sc.k.mv_data);
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_STR(got, "schema_version,q,p2a,p1c,p1b,p1a");
	store_read_end(r);
}

static int drain_p1(struct store_wtxn *w, void *ctx)
{
	int *n = ctx;
	*n = 0;
	struct scan sc;
	SCAN_DRAIN(&sc, w->txn, w->s->dbi[DB_META], "p1", 2, 2)
	{
		sc.rc = mdb_cursor_del(sc.cur, 0);
		if (sc.rc != 0)
			break;
		(*n)++;
	}
	w_scan_end(w, &sc);
	return 0;
}

static void test_drain(store_t *s)
{
	int n = 0;
	T_EQ_INT(store_wtxn_run(s, drain_p1, &n), 0);
	T_EQ_INT(n, 3);
	char got[256];
	T_EQ_INT(meta_prefix(s, "p", 1, got, sizeof(got)), 0);
	T_EQ_STR(got, "p2a");
	T_EQ_INT(meta_prefix(s, "q", 1, got, sizeof(got)), 0);
	T_EQ_STR(got, "q");
}

/* ---- the retry loop ------------------------------------------------------ */

#define FILL_N 3000
#define FILL_VLEN 100

struct fill {
	unsigned calls;
	int fail; /* returned after writing, when not 0 */
};

static int fill_fn(struct store_wtxn *w, void *ctx)
{
	struct fill *f = ctx;
	f->calls++;
	for (unsigned i = 0; i < FILL_N && w->err == 0; i++) {
		char key[32];
		uint8_t val[FILL_VLEN];
		int kl = snprintf(key, sizeof(key), "fill%05u", i);
		memset(val, (int)(i & 0xff), sizeof(val));
		MDB_val k = {(size_t)kl, key}, v = {sizeof(val), val};
		w_put(w, DB_META, &k, &v, 0);
	}
	w->st->dns_new = 7; /* counters of the committed attempt reach the caller */
	return f->fail;
}

static unsigned count_fill(store_t *s)
{
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	unsigned n = 0, bad = 0;
	struct scan sc;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_META], "fill", 4, 4)
	{
		const uint8_t *v = sc.v.mv_data;
		char key[32];
		snprintf(key, sizeof(key), "%.*s", (int)sc.k.mv_size, (const char *)sc.k.mv_data);
		unsigned i = (unsigned)strtoul(key + 4, NULL, 10);
		if (sc.v.mv_size != FILL_VLEN || v[0] != (i & 0xff) ||
		    v[FILL_VLEN - 1] != (i & 0xff))
			bad++;
		n++;
	}
	T_EQ_INT(scan_end(&sc, 0, "test"), 0);
	T_EQ_INT(bad, 0);
	store_read_end(r);
	return n;
}

static void test_retry_map_full(void)
{
	/* ~300 KiB of values into a 64 KiB map: the first attempts fill the
	 * map, the loop grows it and runs fill_fn again until it fits */
	store_t *s = open_new(64 * 1024);
	struct fill f = {0};
	struct store_write_stats st;
	memset(&st, 0xff, sizeof(st));
	T_EQ_INT(store_wtxn_retry(s, fill_fn, &f, &st, "fill"), 0);
	T_CHECK(st.retries > 0);
	T_EQ_INT(f.calls, st.retries + 1);
	T_EQ_INT(st.dns_new, 7);
	T_EQ_INT(count_fill(s), FILL_N); /* nothing lost, nothing twice */
	struct store_stats ss;
	T_EQ_INT(store_stats(s, &ss), 0);
	T_CHECK(ss.map_bytes > 64 * 1024);
	store_close(s);
}

static void test_retry_abort(void)
{
	/* fn's error aborts the transaction: nothing is written, no retry */
	store_t *s = open_new(0);
	struct fill f = {.fail = STORE_ELIMIT};
	T_EQ_INT(store_wtxn_run(s, fill_fn, &f), STORE_ELIMIT);
	T_EQ_INT(f.calls, 1);
	T_EQ_INT(count_fill(s), 0);
	/* even after a map growth */
	store_close(s);
	s = open_new(64 * 1024);
	f = (struct fill){.fail = STORE_ELIMIT};
	T_EQ_INT(store_wtxn_run(s, fill_fn, &f), STORE_ELIMIT);
	T_CHECK(f.calls > 1);
	T_EQ_INT(count_fill(s), 0);
	store_close(s);
}

int main(void)
{
	store_t *s = open_new(0);
	T_EQ_INT(store_wtxn_run(s, put_fixture, NULL), 0);
	test_prefix(s);
	test_early_stop_and_errors(s);
	test_dups_all_reverse(s);
	test_drain(s);
	store_close(s);
	test_retry_map_full();
	test_retry_abort();
	return t_done();
}
