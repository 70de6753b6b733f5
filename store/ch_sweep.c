/*
 * ch_sweep.c - the watch sweep's query and feed on a ClickHouse store
 * (store/sweep.h; the logic is watch/sweep.c): the cluster's clock, the
 * rows of the sweep_rr log newer than a time that touch watched names or
 * addresses, and feeding observations to the standing-pivot hook in one
 * control transaction whose readers ask the cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "store/sweep.h"
#include "store/watch.h"

/* A store_t's own handle for one sweep step (a curl handle per use). */
static int sweep_handle(store_t *s, store_ch_t **h)
{
	if (s->ch == NULL)
		return store_ch_unsupported(
		    "the watch sweep (an LMDB store runs standing pivots as "
		    "it writes)");
	return store_ch_open(h, s->ch_url);
}

int store_sweep_clock(store_t *s, uint32_t *now)
{
	store_ch_t *h = NULL;
	int err = sweep_handle(s, &h);
	if (err != 0)
		return err;
	struct util_buf q;
	util_buf_init(&q, 256);
	util_buf_adds(&q, "SELECT toUInt64(toUInt32(now()))");
	uint64_t n = 0;
	err = ch_query_u64(h, &q, &n);
	util_buf_free(&q);
	store_ch_close(h);
	if (err == 0 && (n == 0 || n > UINT32_MAX))
		err = ch_corrupt();
	*now = (uint32_t)n;
	return err;
}

/* head, then the n names of v quoted, then ")". */
static void in_names(struct util_buf *q, const char *head, const char *const *v, size_t n)
{
	util_buf_adds(q, head);
	for (size_t i = 0; i < n; i++) {
		util_buf_adds(q, i > 0 ? ", " : "");
		ch_sql_str(q, v[i]);
	}
	util_buf_adds(q, ")");
}

static void sweep_sql(struct util_buf *q, uint32_t from, const char *const *names, size_t nn,
                      const uint8_t (*addrs)[16], size_t na)
{
	util_buf_printf(q,
	                "SELECT toUInt32(ins), blk, rrname, rrtype, rdata, addr, tf, tl, cnt, "
	                "sensor FROM sweep_rr WHERE ins >= toDateTime(%u) AND (0",
	                from);
	if (nn > 0) {
		in_names(q, " OR rrname IN (", names, nn);
		in_names(q, " OR (rrtype = 5 AND rdata IN (", names, nn);
		util_buf_adds(q, ")");
	}
	if (na > 0) {
		util_buf_adds(q, " OR (rrtype IN (1, 28) AND addr IN (");
		for (size_t i = 0; i < na; i++) {
			util_buf_adds(q, i > 0 ? ", " : "");
			ch_sql_fixed(q, addrs[i], 16);
		}
		util_buf_adds(q, "))");
	}
	util_buf_adds(q, ") ORDER BY ins, blk, rrname, rrtype, rdata, sensor, tf, tl, cnt");
}

/* Decode the answer, a row at a time, to cb. */
static int sweep_decode(const struct util_buf *resp, store_sweep_cb cb, void *ctx)
{
	struct store_obs *o = malloc(sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	struct ch_rb_in r = {(const uint8_t *)resp->p, (const uint8_t *)resp->p + resp->len, false};
	int err = 0;
	while (err == 0 && r.p < r.end) {
		memset(o, 0, sizeof(*o));
		o->kind = STORE_OBS_DNS;
		uint32_t ins = (uint32_t)ch_rd_uint(&r, 4);
		uint64_t blk = ch_rd_uint(&r, 8);
		ch_rd_str(&r, o->dns.rrname, sizeof(o->dns.rrname));
		o->dns.rrtype = (uint16_t)ch_rd_uint(&r, 2);
		ch_rd_str(&r, o->dns.rdata, sizeof(o->dns.rdata));
		ch_rd_fixed(&r, o->dns.addr, 16);
		o->time_first = ch_rd_uint(&r, 4);
		o->time_last = ch_rd_uint(&r, 4);
		o->count = ch_rd_uint(&r, 8);
		ch_rd_str(&r, o->sensor, sizeof(o->sensor));
		bool known = o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA ||
		             o->dns.rrtype == STORE_RR_CNAME;
		err = r.bad || !known ? ch_corrupt() : cb(ins, blk, o, ctx);
	}
	free(o);
	return err;
}

int store_sweep_rows(store_t *s, uint32_t from, const char *const *names, size_t nnames,
                     const uint8_t (*addrs)[16], size_t naddrs, store_sweep_cb cb, void *ctx)
{
	store_ch_t *h = NULL;
	int err = sweep_handle(s, &h);
	for (size_t i = 0; err == 0 && (i < nnames || i < naddrs); i += STORE_SWEEP_KEYS) {
		size_t nn = i < nnames ? nnames - i : 0, na = i < naddrs ? naddrs - i : 0;
		struct util_buf q, resp;
		util_buf_init(&q, (size_t)1 << 20);
		sweep_sql(&q, from, nn > 0 ? names + i : NULL,
		          nn > STORE_SWEEP_KEYS ? STORE_SWEEP_KEYS : nn, na > 0 ? addrs + i : NULL,
		          na > STORE_SWEEP_KEYS ? STORE_SWEEP_KEYS : na);
		/* 500 names of up to 253 bytes, twice: past the default 256 KiB */
		util_buf_init(&resp, STORE_CH_RESPONSE_MAX);
		util_buf_adds(&q, " FORMAT RowBinary");
		err = q.err != 0
		          ? q.err
		          : store_ch_exec(h, q.p, NULL, 0,
		                          "wait_end_of_query=1&max_query_size=1048576", &resp);
		if (err == 0)
			err = sweep_decode(&resp, cb, ctx);
		util_buf_free(&resp);
		util_buf_free(&q);
	}
	store_ch_close(h);
	return err;
}

struct feed {
	store_ch_t *h;
	size_t n;
	store_sweep_get get;
	void *ctx;
	int64_t now;
	const struct store_meta_put *state;
};

static int feed_fn(struct store_wtxn *w, void *ctx)
{
	struct feed *f = ctx;
	struct store_obs *o = malloc(sizeof(*o));
	int err = o == NULL ? -ENOMEM : 0;
	/* the hook's readers (noise counts, first sightings) ask the cluster */
	w->reader.ch = f->h;
	for (size_t i = 0; i < f->n && err == 0 && w->err == 0; i++) {
		err = f->get(i, o, f->ctx);
		if (err == 0)
			err = store_watch_hook(w, o, &f->now);
	}
	w->reader.ch = NULL;
	free(o);
	MDB_val k = {f->state->klen, (void *)f->state->key};
	MDB_val v = {f->state->vlen, (void *)f->state->val};
	int rc = err == 0 && w->err == 0 ? mdb_put(w->txn, w->s->dbi[DB_META], &k, &v, 0) : 0;
	if (rc != 0)
		w->err = store_lmdb_err(rc, "watch sweep checkpoint");
	return err;
}

int store_sweep_feed(store_t *s, size_t n, store_sweep_get get, void *ctx, int64_t now,
                     const struct store_meta_put *state)
{
	struct feed f = {NULL, n, get, ctx, now, state};
	int err = sweep_handle(s, &f.h);
	if (err == 0)
		err = store_wtxn_run(s, feed_fn, &f);
	if (f.h != NULL) {
		ch_cert_mem_release();
		ch_client_mem_release();
	}
	store_ch_close(f.h);
	return err;
}
