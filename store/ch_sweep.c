/*
 * ch_sweep.c - the watch sweep's query and feed on a ClickHouse store
 * (store/sweep.h; the logic is watch/sweep.c): the cluster's clock, the
 * rows of the sweep_rr and sweep_cert logs newer than a time that touch
 * watched indicators, and feeding observations to the standing-pivot hook in one
 * control transaction whose readers ask the cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "store/sweep.h"
#include "store/watch.h"
#include "util/hex.h"

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

/* head, then the n names of v quoted, then tail. */
static void in_names(struct util_buf *q, const char *head, const char *const *v, size_t n,
                     const char *tail)
{
	util_buf_adds(q, head);
	for (size_t i = 0; i < n; i++) {
		util_buf_adds(q, i > 0 ? ", " : "");
		ch_sql_str(q, v[i]);
	}
	util_buf_adds(q, tail);
}

/* The window: ins >= from, and < until unless 0. */
static void window(struct util_buf *q, uint32_t from, uint32_t until)
{
	util_buf_printf(q, " WHERE ins >= toDateTime(%u)", from);
	if (until != 0)
		util_buf_printf(q, " AND ins < toDateTime(%u)", until);
	util_buf_adds(q, " AND (0");
}

static void sweep_sql(struct util_buf *q, uint32_t from, uint32_t until, const char *const *names,
                      size_t nn, const uint8_t (*addrs)[16], size_t na)
{
	util_buf_adds(q, "SELECT toUInt32(ins), blk, rrname, rrtype, rdata, addr, tf, tl, cnt, "
	                 "sensor FROM sweep_rr");
	window(q, from, until);
	if (nn > 0) {
		in_names(q, " OR rrname IN (", names, nn, ")");
		in_names(q, " OR (rrtype = 5 AND rdata IN (", names, nn, "))");
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

/* Send q (FORMAT RowBinary added) and decode its answer with dec. */
static int sweep_exec(store_ch_t *h, struct util_buf *q,
                      int (*dec)(const struct util_buf *resp, void *cb, void *ctx), void *cb,
                      void *ctx)
{
	struct util_buf resp;
	/* 500 names of up to 253 bytes, twice: past the default 256 KiB */
	util_buf_init(&resp, STORE_CH_RESPONSE_MAX);
	util_buf_adds(q, " FORMAT RowBinary");
	int err = q->err != 0 ? q->err
	                      : store_ch_exec(h, q->p, NULL, 0,
	                                      "wait_end_of_query=1&max_query_size=1048576", &resp);
	if (err == 0)
		err = dec(&resp, cb, ctx);
	util_buf_free(&resp);
	return err;
}

static int rr_decode(const struct util_buf *resp, void *cb, void *ctx)
{
	return sweep_decode(resp, (store_sweep_cb)cb, ctx);
}

/* The i-th of n (NULL past them: no offset on a null list). */
#define AT(v, n, i) ((i) < (n) ? (v) + (i) : NULL)

/* At most STORE_SWEEP_KEYS of n from i. */
static size_t chunk(size_t n, size_t i)
{
	size_t left = i < n ? n - i : 0;
	return left > STORE_SWEEP_KEYS ? STORE_SWEEP_KEYS : left;
}

int store_sweep_rows(store_t *s, uint32_t from, uint32_t until, const char *const *names,
                     size_t nnames, const uint8_t (*addrs)[16], size_t naddrs, store_sweep_cb cb,
                     void *ctx)
{
	store_ch_t *h = NULL;
	int err = sweep_handle(s, &h);
	for (size_t i = 0; err == 0 && (i < nnames || i < naddrs); i += STORE_SWEEP_KEYS) {
		struct util_buf q;
		util_buf_init(&q, (size_t)1 << 20);
		sweep_sql(&q, from, until, AT(names, nnames, i), chunk(nnames, i),
		          AT(addrs, naddrs, i), chunk(naddrs, i));
		err = sweep_exec(h, &q, rr_decode, (void *)cb, ctx);
		util_buf_free(&q);
	}
	store_ch_close(h);
	return err;
}

/* ---- the certificate log -------------------------------------------------- */

/* A watched certificate's hex as its log reference (a SHA-1's: kind 1)
 * or its SHA-256's bytes; false when it is neither. */
static bool cert_key(const char *hex, uint8_t out[33], bool *sha1)
{
	size_t len = strlen(hex), n = 0;
	memset(out, 0, 33);
	if ((len != 40 && len != 64) || util_hex_decode(hex, len, out + 1, 32, &n) != 0)
		return false;
	*sha1 = len == 40;
	out[0] = *sha1 ? 1 : 2;
	return true;
}

/* head, the watched certificates of one kind (SHA-1: as references;
 * SHA-256: as bytes), then tail; nothing when there is none. */
static void in_certs(struct util_buf *q, const char *head, const char *const *v, size_t n,
                     bool sha1, const char *tail)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t k[33];
		bool is1;
		if (!cert_key(v[i], k, &is1) || is1 != sha1)
			continue;
		util_buf_adds(q, any ? ", " : head);
		if (sha1)
			ch_sql_fixed(q, k, 33);
		else
			util_buf_printf(q, "unhex('%s')", v[i]);
		any = true;
	}
	util_buf_adds(q, any ? tail : "");
}

static void in_fixed(struct util_buf *q, const char *head, const uint8_t *v, size_t n, size_t each)
{
	if (n == 0)
		return;
	util_buf_adds(q, head);
	for (size_t i = 0; i < n; i++) {
		util_buf_adds(q, i > 0 ? ", " : "");
		ch_sql_fixed(q, v + i * each, each);
	}
	util_buf_adds(q, "))");
}

static void cert_sql(struct util_buf *q, uint32_t from, uint32_t until,
                     const struct store_sweep_watched *k)
{
	util_buf_adds(q,
	              "SELECT toUInt32(ins), blk, seq, cert, sha256, flags, ip, port, sni, spki, "
	              "san, tf, tl, cnt, sensor FROM sweep_cert");
	window(q, from, until);
	if (k->nnames > 0)
		in_names(q, " OR hasAny(names, [", k->names, k->nnames, "])");
	in_fixed(q, " OR (bitAnd(flags, 1) = 1 AND ip IN (", (const uint8_t *)k->addrs, k->naddrs,
	         16);
	/* a SHA-1: its reference, and the rows that only knew the SHA-256
	 * the cluster has for it (the hook resolves those to the SHA-1) */
	in_certs(q, " OR cert IN (", k->certs, k->ncerts, true, ")");
	in_certs(q,
	         " OR (sha256 != '' AND sha256 GLOBAL IN (SELECT sha256 FROM cert WHERE "
	         "sha256 != '' AND cert IN (",
	         k->certs, k->ncerts, true, ")))");
	in_certs(q, " OR sha256 IN (", k->certs, k->ncerts, false, ")");
	in_fixed(q, " OR (bitAnd(flags, 4) = 4 AND spki IN (", (const uint8_t *)k->keys, k->nkeys,
	         32);
	util_buf_adds(q, ") ORDER BY ins, blk, seq, cert, sha256, flags, ip, port, sni, spki, san, "
	                 "tf, tl, cnt, sensor");
}

/* The parts of a row that are not the observation's. */
struct cert_row {
	uint32_t ins, seq;
	uint64_t blk;
};

/* One row of the certificate log into o and m (o->cert.meta = m). */
static void cert_decode_row(struct ch_rb_in *r, struct cert_row *cr, struct store_obs *o,
                            struct store_cert_meta *m)
{
	uint8_t ref[33];
	memset(o, 0, sizeof(*o));
	memset(m, 0, sizeof(*m));
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	cr->ins = (uint32_t)ch_rd_uint(r, 4);
	cr->blk = ch_rd_uint(r, 8);
	cr->seq = (uint32_t)ch_rd_uint(r, 4);
	ch_rd_fixed(r, ref, 33);
	uint64_t n = ch_rd_varint(r); /* sha256: 32 bytes or none */
	m->has_sha256 = n == 32;
	ch_rd_fixed(r, m->sha256, n == 32 ? 32 : 0);
	r->bad |= n != 0 && n != 32;
	unsigned flags = (unsigned)ch_rd_uint(r, 1);
	ch_rd_fixed(r, o->cert.ip, 16);
	o->cert.port = (uint16_t)ch_rd_uint(r, 2);
	ch_rd_str(r, o->cert.sni, sizeof(o->cert.sni));
	ch_rd_fixed(r, m->key, 32);
	n = ch_rd_varint(r); /* san: the NUL-separated names */
	r->bad |= n > sizeof(m->san_dns);
	m->san_dns_len = r->bad ? 0 : (size_t)n;
	ch_rd_fixed(r, m->san_dns, m->san_dns_len);
	o->time_first = ch_rd_uint(r, 4);
	o->time_last = ch_rd_uint(r, 4);
	o->count = ch_rd_uint(r, 8);
	ch_rd_str(r, o->sensor, sizeof(o->sensor));
	o->cert.sighting = flags & 1;
	o->cert.has_meta = (flags & 2) != 0;
	m->has_key = (flags & 4) != 0;
	m->has_sha1 = ref[0] == 1;
	memcpy(m->sha1, ref + 1, 20);
	/* a reference is a SHA-1, or the SHA-256 the row carries */
	r->bad |=
	    flags > 7 ||
	    (ref[0] != 1 && (ref[0] != 2 || !m->has_sha256 || memcmp(ref + 1, m->sha256, 32) != 0));
}

static int cert_decode(const struct util_buf *resp, void *cbp, void *ctx)
{
	store_sweep_cert_cb cb = (store_sweep_cert_cb)cbp;
	struct store_obs *o = malloc(sizeof(*o));
	struct store_cert_meta *m = malloc(sizeof(*m));
	int err = o == NULL || m == NULL ? -ENOMEM : 0;
	struct ch_rb_in r = {(const uint8_t *)resp->p, (const uint8_t *)resp->p + resp->len, false};
	while (err == 0 && r.p < r.end) {
		struct cert_row cr;
		cert_decode_row(&r, &cr, o, m);
		err = r.bad ? ch_corrupt() : cb(cr.ins, cr.blk, cr.seq, o, ctx);
	}
	free(o);
	free(m);
	return err;
}

int store_sweep_certs(store_t *s, uint32_t from, uint32_t until,
                      const struct store_sweep_watched *k, store_sweep_cert_cb cb, void *ctx)
{
	store_ch_t *h = NULL;
	int err = sweep_handle(s, &h);
	size_t most = k->nnames;
	most = k->naddrs > most ? k->naddrs : most;
	most = k->ncerts > most ? k->ncerts : most;
	most = k->nkeys > most ? k->nkeys : most;
	for (size_t i = 0; err == 0 && i < most; i += STORE_SWEEP_KEYS) {
		struct store_sweep_watched c = {AT(k->names, k->nnames, i), chunk(k->nnames, i),
		                                AT(k->addrs, k->naddrs, i), chunk(k->naddrs, i),
		                                AT(k->certs, k->ncerts, i), chunk(k->ncerts, i),
		                                AT(k->keys, k->nkeys, i),   chunk(k->nkeys, i)};
		struct util_buf q;
		util_buf_init(&q, (size_t)1 << 20);
		cert_sql(&q, from, until, &c);
		err = sweep_exec(h, &q, cert_decode, (void *)cb, ctx);
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
		int64_t at = 0;
		err = f->get(i, o, &at, f->ctx);
		/* what the row adds is added when it was written, as on LMDB */
		if (err == 0)
			err = store_watch_hook_at(w, o, at < f->now ? at : f->now, at);
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
