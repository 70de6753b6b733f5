/*
 * ch_batch.c - batched reads for the pivot engine: the nodes of one BFS
 * level and one edge kind in one query (`PREWHERE addr IN (...)`), instead
 * of one query per node.  The answer is delivered per input key, in input
 * order, each key's rows in the order the LMDB store's single-node reader
 * gives them, so that a pivot on either store sees the same sequence of
 * callbacks.
 *
 * How: the query selects the key first and orders by it (then by the
 * LMDB order within a key); the response is scanned once to find where
 * each row starts; each input key finds its run of rows by binary search
 * and the rows are decoded again as they are handed out.  Memory beyond
 * the bounded response is one offset per row.  Keys go in chunks of
 * CH_BATCH_KEYS per query, to stay under the max_query_size of
 * CH_READ_SETTINGS (1 MiB; a chunk of certificates, written three times,
 * is some 400 KiB: 136 bytes an escaped literal, ch_sql_fixed).
 *
 * The keys are a PREWHERE, not a WHERE: ClickHouse reads the key column of
 * the granules the primary index selects, and the other columns (the
 * heavy -State ones) only of granules where a key matched.  A key's
 * granule is read on every shard and in every part, most of them without
 * the key; at 20 M lines that cut one level's resolutions of 39 names
 * from 172 to 37 MiB read and halved its time (docs/scale-out.md,
 * "PREWHERE").  18.16 does not move a condition on the primary key to
 * PREWHERE by itself.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/hex.h"

/* The caller's callback, of the reader's kind. */
struct batch_cb {
	store_ch_rr_key_cb rr;
	store_ch_sight_key_cb sight;
	void *ctx;
	store_ch_namecert_key_cb namecert;
	uint64_t *counts; /* prevalence: one a key */
	store_cert_nth_cb cert;
	store_certkey_nth_cb certkey;
	const struct store_cap *cap; /* an edge read's, or NULL */
};

/* What a batched reader asks and how its rows decode. */
struct batch_spec {
	const char *select; /* "SELECT <key> AS k, <columns> FROM t PREWHERE <col> IN (" */
	const char *tail;   /* ") GROUP BY ... ORDER BY k, ..." (AL_CERTS: without
	                     * the ")", which CERT_OR_ALIAS_HEAD's clause closes) */
	size_t keylen;      /* FixedString(keylen) keys; 0: String keys */
	size_t rowsize;     /* bytes of the decoded row */
	void (*decode)(struct ch_rb_in *r, void *row);
	/* hand one decoded row of input key i to the caller (fence applied) */
	int (*emit)(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb);
	/* certificate keys: the chunk's SHA-256 aliases first (CERT_ALIASES),
	 * their rows with the keys' (CERT_OR_ALIAS_HEAD);
	 * a listing: the aliases of the certificates it names (ch_cert_aliases) */
	enum { AL_NONE, AL_CERTS, AL_LISTING } aliases;
	size_t refoff; /* AL_LISTING: where the row's struct store_cert_ref is */
};

/* Input keys as the response has them: fixed bytes, or a String. */
struct batch_keys {
	size_t n;
	const uint8_t *fixed;     /* n * keylen bytes */
	const char *const *names; /* n strings (String keys) */
};

/* The key at the start of a row: its bytes and length. */
static const uint8_t *row_key(struct ch_rb_in *r, size_t keylen, size_t *len)
{
	if (keylen == 0) {
		uint64_t n = ch_rd_varint(r);
		if (r->bad || n > (uint64_t)(r->end - r->p)) {
			r->bad = true;
			return NULL;
		}
		keylen = (size_t)n;
	} else if ((size_t)(r->end - r->p) < keylen) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += keylen;
	*len = keylen;
	return p;
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);
	return d != 0 ? d : al < bl ? -1 : al > bl ? 1 : 0;
}

struct batch_resp {
	const uint8_t *base, *end;
	size_t *off; /* where each row starts */
	size_t rows;
};

/* Scan the response: every row must decode; keys must come in order.
 * *sha256 (when not NULL): whether a row names a certificate by a SHA-256
 * reference (an AL_LISTING's rows, sp->refoff). */
static int batch_scan(const struct batch_spec *sp, struct batch_resp *br, void *row, bool *sha256)
{
	struct ch_rb_in r = {br->base, br->end, false};
	size_t cap = 0, plen = 0;
	const uint8_t *prev = NULL;
	while (r.p < r.end) {
		if (br->rows == cap) {
			cap = cap ? cap * 2 : 256;
			size_t *no = realloc(br->off, cap * sizeof(*no));
			if (no == NULL)
				return -ENOMEM;
			br->off = no;
		}
		br->off[br->rows++] = (size_t)(r.p - br->base);
		size_t klen = 0;
		const uint8_t *k = row_key(&r, sp->keylen, &klen);
		if (!r.bad)
			sp->decode(&r, row);
		if (r.bad || (prev != NULL && key_cmp(prev, plen, k, klen) > 0))
			return ch_corrupt();
		if (sha256 != NULL &&
		    ((const struct store_cert_ref *)((const char *)row + sp->refoff))->kind == 2)
			*sha256 = true;
		prev = k;
		plen = klen;
	}
	return 0;
}

/* The first row whose key is not below k. */
static size_t batch_find(const struct batch_spec *sp, const struct batch_resp *br, const uint8_t *k,
                         size_t kl)
{
	size_t lo = 0, hi = br->rows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ch_rb_in r = {br->base + br->off[mid], br->end, false};
		size_t ml = 0;
		const uint8_t *m = row_key(&r, sp->keylen, &ml);
		if (key_cmp(m, ml, k, kl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const uint8_t *input_key(const struct batch_spec *sp, const struct batch_keys *in, size_t i,
                                size_t *len)
{
	if (sp->keylen > 0) {
		*len = sp->keylen;
		return in->fixed + i * sp->keylen;
	}
	*len = strlen(in->names[i]);
	return (const uint8_t *)in->names[i];
}

/* The rows of key k from row j on (j: batch_find's). */
static size_t key_rows(const struct batch_spec *sp, const struct batch_resp *br, size_t j,
                       const uint8_t *k, size_t kl)
{
	size_t n = 0;
	for (; j + n < br->rows; n++) {
		struct ch_rb_in r = {br->base + br->off[j + n], br->end, false};
		size_t rl = 0;
		const uint8_t *rk = row_key(&r, sp->keylen, &rl);
		if (key_cmp(rk, rl, k, kl) != 0)
			break;
	}
	return n;
}

/* Hand out the rows of input keys [from, to), key by key.  A callback's
 * STORE_STOP ends that key's rows (as it ends one single-node call); a
 * key over the cap is cut, none of its rows handed out. */
static int batch_emit(const struct batch_spec *sp, const struct batch_resp *br,
                      const struct batch_keys *in, size_t from, size_t to, void *row,
                      const struct store_fence *f, const struct batch_cb *cb)
{
	int ret = 0;
	for (size_t i = from; i < to && ret == 0; i++) {
		size_t kl;
		const uint8_t *k = input_key(sp, in, i, &kl);
		size_t j = batch_find(sp, br, k, kl), n = key_rows(sp, br, j, k, kl);
		if (cb->cap != NULL && n > cb->cap->max) {
			cb->cap->cut[i] = true;
			continue;
		}
		for (size_t e = j + n; j < e && ret == 0; j++) {
			struct ch_rb_in r = {br->base + br->off[j], br->end, false};
			size_t rl = 0;
			(void)row_key(&r, sp->keylen, &rl);
			sp->decode(&r, row);
			ret = sp->emit(i, row, f, cb);
		}
		ret = ret == STORE_STOP ? 0 : ret;
	}
	return ret;
}

static void key_literal(const struct batch_spec *sp, struct util_buf *q, const uint8_t *k,
                        size_t kl)
{
	if (sp->keylen > 0) {
		ch_sql_fixed(q, k, kl);
		return;
	}
	char s[STORE_NAME_BUF];
	snprintf(s, sizeof(s), "%.*s", (int)kl, (const char *)k);
	ch_sql_str(q, s);
}

static void chunk_keys(const struct batch_spec *sp, struct util_buf *q, const struct batch_keys *in,
                       size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		size_t kl;
		const uint8_t *k = input_key(sp, in, i, &kl);
		if (i > from)
			util_buf_adds(q, ", ");
		key_literal(sp, q, k, kl);
	}
}

/* The SHA-256 references that cert rows of the chunk's SHA-1s name, and
 * those SHA-1s, as two arrays of Strings (al.1, al.2): LMDB's SHA-256 ->
 * SHA-1 join resolved when reading, as ch_where_cert does for one
 * certificate (docs/scale-out.md).  A scalar subquery, evaluated once; an
 * empty pair leads each array, as transform() refuses empty ones. */
#define CERT_ALIASES                                                                               \
	"WITH (SELECT (arrayPushFront(groupArray(toString(r)), ''), "                              \
	"arrayPushFront(groupArray(toString(x)), '')) FROM (SELECT "                               \
	"toFixedString(concat(unhex('02'), sha256), 33) AS r, cert AS x FROM cert WHERE "          \
	"length(sha256) = 32 AND cert IN ("
#define CERT_ALIASES_END ") GROUP BY cert, sha256)) AS al "
/* The rows of the aliases too, after the chunk's keys: an IN on cert's
 * key, so the table's key answers it (has(al.1, ...) did not: a whole
 * table read); not GLOBAL, as ch_where_cert says why. */
#define CERT_OR_ALIAS_HEAD ") OR cert IN (" CH_ALIAS_REFS "IN ("

/* A listing's aliases: those of the certificates its rows of the chunk
 * name, "SELECT cert FROM" what follows FROM in its select, the keys and
 * ")" (the listing's own rows). */
static void listing_aliases(const store_ch_t *c, const struct batch_spec *sp, struct util_buf *q,
                            const struct batch_keys *in, size_t from, size_t to)
{
	struct util_buf rows;
	util_buf_init(&rows, (size_t)1 << 20);
	util_buf_adds(&rows, strstr(sp->select, " FROM ") + 6);
	chunk_keys(sp, &rows, in, from, to);
	util_buf_adds(&rows, ")");
	if (rows.err != 0)
		util_buf_set_error(q, rows.err);
	else
		ch_cert_aliases(q, store_ch_db(c), rows.p);
	util_buf_free(&rows);
}

/* sp->select into q, every CH_CERT_KEY in it a plain cert (a listing
 * without its aliases). */
static void select_plain(const struct batch_spec *sp, struct util_buf *q)
{
	static const char key[] = CH_CERT_KEY;
	const char *p = sp->select;
	for (const char *k; (k = strstr(p, key)) != NULL; p = k + sizeof(key) - 1) {
		util_buf_add(q, p, (size_t)(k - p));
		util_buf_adds(q, "cert");
	}
	util_buf_adds(q, p);
}

/* The check whether rows of the chunk's certificates may be filed under
 * SHA-256 references that cert rows of them name (LMDB's join,
 * CERT_ALIASES): one
 * row of the read's own condition with those references in place of the
 * keys, "SELECT 1 FROM <table> PREWHERE ... cert IN (<those references>)
 * ... LIMIT 1" (the tail's part before its GROUP BY closes what the select
 * opened).  Conservative: a reference that is itself a key of the chunk
 * counts too.  Into q (initialised here; the caller frees it). */
static void certs_aliased_sql(store_ch_t *c, const struct batch_spec *sp,
                              const struct batch_keys *in, size_t from, size_t to,
                              struct util_buf *q)
{
	util_buf_init(q, (size_t)1 << 20);
	util_buf_printf(q, "SELECT 1%s" CH_ALIAS_REFS "IN (", strstr(sp->select, " FROM "),
	                store_ch_db(c));
	chunk_keys(sp, q, in, from, to);
	util_buf_printf(q, "))%.*s LIMIT 1", (int)(strstr(sp->tail, " GROUP BY ") - sp->tail),
	                sp->tail);
}

/* Run the check q (certs_aliased_sql); *yes: whether its answer has a row. */
static int certs_aliased(store_ch_t *c, struct util_buf *q, bool *yes)
{
	struct util_buf resp;
	int err = ch_query(c, q, &resp);
	*yes = err == 0 && resp.len > 0;
	util_buf_free(&resp);
	return err;
}

/* One query for input keys [from, to).  A read is first made plain
 * (plain): without the WITH clause that names certificates by their SHA-1
 * (CERT_ALIASES, ch_cert_aliases), which costs several times the read
 * itself on a cluster (docs/scale-out.md, "The SHA-256 -> SHA-1 join").
 * It is made again with it only when that could change the answer: a
 * listing (AL_LISTING) whose answer names a certificate by a SHA-256
 * reference, which cert_alias may map to a SHA-1; a read by certificate
 * (AL_CERTS) when certs_aliased, asked in the same round, finds rows under
 * the SHA-256 references of the chunk's certificates. */
static int batch_chunk(store_ch_t *c, const struct batch_spec *sp, const struct batch_keys *in,
                       size_t from, size_t to, void *row, const struct store_fence *f,
                       const struct batch_cb *cb, bool plain)
{
	struct util_buf q, resp;
	util_buf_init(&q, (size_t)1 << 20);
	if (sp->aliases == AL_CERTS && !plain) {
		util_buf_adds(&q, CERT_ALIASES);
		chunk_keys(sp, &q, in, from, to);
		util_buf_adds(&q, CERT_ALIASES_END);
	} else if (sp->aliases == AL_LISTING && !plain) {
		listing_aliases(c, sp, &q, in, from, to);
	}
	if (plain)
		select_plain(sp, &q);
	else
		util_buf_adds(&q, sp->select);
	chunk_keys(sp, &q, in, from, to);
	if (sp->aliases == AL_CERTS && plain) {
		util_buf_adds(&q, ")");
	} else if (sp->aliases == AL_CERTS) {
		util_buf_printf(&q, CERT_OR_ALIAS_HEAD, store_ch_db(c));
		chunk_keys(sp, &q, in, from, to);
		util_buf_adds(&q, "))");
	}
	util_buf_adds(&q, sp->tail);
	if (cb->cap != NULL) /* a row past the cap tells a cut key */
		util_buf_printf(&q, " LIMIT %zu BY k", cb->cap->max + 1);
	/* a plain read by certificate and its alias check in one round (the
	 * pivot's read-ahead may have sent them already); none when the store
	 * files no row under a SHA-256 reference (ch_s256) */
	struct util_buf chk = {0};
	bool check = plain && sp->aliases == AL_CERTS && ch_s256(c) != 0, pair = false;
	void *saved = NULL;
	if (check) {
		certs_aliased_sql(c, sp, in, from, to, &chk);
		pair = ch_ahead_pair(c, &q, &chk, &saved);
	}
	int err = ch_query(c, &q, &resp);
	util_buf_free(&q);
	/* again (aliased): a SHA-256 reference in a plain listing, or the
	 * chunk's certificates' SHA-256 references hold rows */
	bool again = false;
	if (err == 0 && check)
		err = certs_aliased(c, &chk, &again);
	if (pair)
		ch_ahead_pair_end(c, saved);
	util_buf_free(&chk);
	struct batch_resp br = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len, NULL,
	                        0};
	if (err == 0 && !again)
		err = batch_scan(sp, &br, row, plain && sp->aliases == AL_LISTING ? &again : NULL);
	if (err == 0 && !again)
		err = batch_emit(sp, &br, in, from, to, row, f, cb);
	free(br.off);
	util_buf_free(&resp);
	if (err == 0 && again)
		err = batch_chunk(c, sp, in, from, to, row, f, cb, false);
	return err;
}

static int batch_run(store_ch_t *c, const struct batch_spec *sp, const struct batch_keys *in,
                     const struct store_fence *f, const struct batch_cb *cb)
{
	void *row = malloc(sp->rowsize);
	int err = row ? 0 : -ENOMEM;
	for (size_t i = 0; i < in->n && err == 0; i += CH_BATCH_KEYS) {
		size_t to = in->n - i < CH_BATCH_KEYS ? in->n : i + CH_BATCH_KEYS;
		err = batch_chunk(c, sp, in, i, to, row, f, cb, sp->aliases != AL_NONE);
	}
	free(row);
	return err;
}

/* ---- resolutions ---------------------------------------------------------- */

static void dec_rr(struct ch_rb_in *r, void *row)
{
	ch_rd_rr(r, row);
}

static int emit_rr(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb)
{
	struct ch_rr_row *rr = row;
	if (!store_fence_match(f, rr->rr.time_first, rr->rr.time_last))
		return 0;
	return cb->rr(i, &rr->rr, cb->ctx);
}

int store_ch_rr_by_addrs(store_ch_t *c, const uint8_t (*addrs)[16], size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_ch_rr_key_cb cb, void *ctx)
{
	/* the LMDB address index: address, then owner (NAMEKEY order) */
	static const struct batch_spec sp = {
	    "SELECT addr AS k, " CH_RR_COLUMNS " FROM rr_addr PREWHERE addr IN (",
	    ") GROUP BY addr, rname, rrname, rrtype ORDER BY k, " CH_NAMEKEY("rname"),
	    16,
	    sizeof(struct ch_rr_row),
	    dec_rr,
	    emit_rr,
	    AL_NONE,
	    0};
	struct batch_keys in = {n, (const uint8_t *)addrs, NULL};
	struct batch_cb bc = {cb, NULL, ctx, NULL, NULL, NULL, NULL, cap};
	return batch_run(c, &sp, &in, f, &bc);
}

/* Names normalised and reversed, as the tables key them; *out is the
 * caller's to free (one allocation). */
static int rev_names(const char *const *names, size_t n, bool wild, char ***out)
{
	char **v = malloc(n * (sizeof(char *) + STORE_NAME_BUF) + 1);
	if (v == NULL)
		return -ENOMEM;
	char *store = (char *)(v + n);
	for (size_t i = 0; i < n; i++) {
		v[i] = store + i * STORE_NAME_BUF;
		int err = ch_name_key(names[i], wild, v[i]);
		if (err != 0) {
			free(v);
			return err;
		}
	}
	*out = v;
	return 0;
}

/* A batched read keyed by names (reversed as the tables key them). */
static int names_run(store_ch_t *c, const struct batch_spec *sp, const char *const *names, size_t n,
                     bool wild, const struct store_fence *f, const struct batch_cb *bc)
{
	char **rev;
	int err = rev_names(names, n, wild, &rev);
	if (err != 0)
		return err;
	struct batch_keys in = {n, NULL, (const char *const *)rev};
	err = batch_run(c, sp, &in, f, bc);
	free(rev);
	return err;
}

static int rr_names_run(store_ch_t *c, const struct batch_spec *sp, const char *const *names,
                        size_t n, bool wild, const struct store_fence *f,
                        const struct store_cap *cap, store_ch_rr_key_cb cb, void *ctx)
{
	struct batch_cb bc = {cb, NULL, ctx, NULL, NULL, NULL, NULL, cap};
	return names_run(c, sp, names, n, wild, f, &bc);
}

int store_ch_rr_by_names(store_ch_t *c, const char *const *names, size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_ch_rr_key_cb cb, void *ctx)
{
	/* the LMDB key: name, type, rdata (an address as its bytes) */
	static const struct batch_spec sp = {
	    "SELECT rname AS k, " CH_RR_COLUMNS " FROM rr PREWHERE rname IN (",
	    ") GROUP BY rname, rrname, rrtype, rdata ORDER BY k, rrtype, any(addr), rdata",
	    0,
	    sizeof(struct ch_rr_row),
	    dec_rr,
	    emit_rr,
	    AL_NONE,
	    0};
	return rr_names_run(c, &sp, names, n, false, f, cap, cb, ctx);
}

int store_ch_rr_by_targets(store_ch_t *c, const char *const *targets, size_t n,
                           const struct store_fence *f, const struct store_cap *cap,
                           store_ch_rr_key_cb cb, void *ctx)
{
	/* the LMDB target index: target, type, owner (NAMEKEY order), rdata */
	static const struct batch_spec sp = {
	    "SELECT target AS k, " CH_RR_COLUMNS " FROM rr_target PREWHERE target IN (",
	    ") GROUP BY target, rname, rrname, rrtype, rdata ORDER BY k, rrtype, " CH_NAMEKEY(
	        "rname") ", rdata",
	    0,
	    sizeof(struct ch_rr_row),
	    dec_rr,
	    emit_rr,
	    AL_NONE,
	    0};
	/* a target "*.zone" is a name here, as store_rr_by_target has it */
	return rr_names_run(c, &sp, targets, n, true, f, cap, cb, ctx);
}

/* ---- certificate sightings -------------------------------------------------- */

/* A batched read keyed by certificate references (33 bytes each). */
static int certs_run(store_ch_t *c, const struct batch_spec *sp, const struct store_cert_ref *refs,
                     size_t n, const struct store_fence *f, const struct batch_cb *bc)
{
	uint8_t *keys = malloc(n * 33 + 1);
	if (keys == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ch_certref(&refs[i], keys + i * 33);
	struct batch_keys in = {n, keys, NULL};
	int err = batch_run(c, sp, &in, f, bc);
	free(keys);
	return err;
}

static void dec_sight(struct ch_rb_in *r, void *row)
{
	ch_rd_sight(r, row);
}

static int emit_sight(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb)
{
	struct ch_sight_row *s = row;
	if (!store_fence_match(f, s->s.time_first, s->s.time_last))
		return 0;
	return cb->sight(i, &s->s, cb->ctx);
}

int store_ch_sight_by_addrs(store_ch_t *c, const uint8_t (*addrs)[16], size_t n,
                            const struct store_fence *f, const struct store_cap *cap,
                            store_ch_sight_key_cb cb, void *ctx)
{
	/* the LMDB address index: address, then (certificate, port) */
	static const struct batch_spec sp = {"SELECT ip AS k, " CH_CERT_KEY
	                                     " AS ref, " CH_SIGHT_VALUES
	                                     " FROM sight_addr PREWHERE ip IN (",
	                                     ") GROUP BY ip, port, ref ORDER BY k, ref, port",
	                                     16,
	                                     sizeof(struct ch_sight_row),
	                                     dec_sight,
	                                     emit_sight,
	                                     AL_LISTING,
	                                     offsetof(struct ch_sight_row, s.ref)};
	struct batch_keys in = {n, (const uint8_t *)addrs, NULL};
	struct batch_cb bc = {NULL, cb, ctx, NULL, NULL, NULL, NULL, cap};
	return batch_run(c, &sp, &in, f, &bc);
}

int store_ch_sight_by_certs(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                            const struct store_fence *f, const struct store_cap *cap,
                            store_ch_sight_key_cb cb, void *ctx)
{
	/* the LMDB key: certificate, address, port */
	static const struct batch_spec sp = {"SELECT " CH_CERT_KEY " AS k, k, " CH_SIGHT_VALUES
	                                     " FROM sight PREWHERE cert IN (",
	                                     " GROUP BY k, ip, port ORDER BY k, ip, port",
	                                     33,
	                                     sizeof(struct ch_sight_row),
	                                     dec_sight,
	                                     emit_sight,
	                                     AL_CERTS,
	                                     0};
	struct batch_cb bc = {NULL, cb, ctx, NULL, NULL, NULL, NULL, cap};
	return certs_run(c, &sp, refs, n, f, &bc);
}

/* ---- certificates by name, prevalence ---------------------------------------- */

struct namecert_row {
	struct store_cert_ref ref;
	unsigned kind;
};

static void dec_namecert(struct ch_rb_in *r, void *row)
{
	struct namecert_row *nc = row;
	uint8_t rb[33];
	ch_rd_fixed(r, rb, 33);
	nc->kind = (unsigned)ch_rd_uint(r, 1);
	memset(&nc->ref, 0, sizeof(nc->ref));
	nc->ref.kind = rb[0];
	memcpy(nc->ref.hash, rb + 1, rb[0] == 1 ? 20 : 32);
	if (rb[0] != 1 && rb[0] != 2)
		r->bad = true;
}

static int emit_namecert(size_t i, void *row, const struct store_fence *f,
                         const struct batch_cb *cb)
{
	(void)f;
	const struct namecert_row *nc = row;
	return cb->namecert(i, &nc->ref, nc->kind, cb->ctx);
}

int store_ch_certs_by_names(store_ch_t *c, const char *const *names, size_t n,
                            const struct store_cap *cap, store_ch_namecert_key_cb cb, void *ctx)
{
	/* the LMDB index's duplicates: (certificate, kind) */
	static const struct batch_spec sp = {"SELECT rname AS k, " CH_CERT_KEY
	                                     " AS ref, kind FROM name_cert PREWHERE rname IN (",
	                                     ") GROUP BY rname, ref, kind ORDER BY k, ref, kind",
	                                     0,
	                                     sizeof(struct namecert_row),
	                                     dec_namecert,
	                                     emit_namecert,
	                                     AL_LISTING,
	                                     offsetof(struct namecert_row, ref)};
	struct batch_cb bc = {NULL, NULL, ctx, cb, NULL, NULL, NULL, cap};
	return names_run(c, &sp, names, n, true, NULL, &bc);
}

static void dec_count(struct ch_rb_in *r, void *row)
{
	*(uint64_t *)row = ch_rd_uint(r, 8);
}

static int emit_count(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb)
{
	(void)f;
	cb->counts[i] = *(const uint64_t *)row;
	return 0;
}

#define PREV_SPEC(key, count, table)                                                               \
	{                                                                                          \
		"SELECT " key " AS k, toUInt64(uniqExactMerge(" count ")) FROM " table             \
		" PREWHERE " key " IN (",                                                          \
		    ") GROUP BY " key " ORDER BY k", 0, sizeof(uint64_t), dec_count, emit_count,   \
		    AL_NONE, 0                                                                     \
	}

int store_ch_prev_ip_names_n(store_ch_t *c, const uint8_t (*ips)[16], size_t n, uint64_t *out)
{
	struct batch_spec sp = PREV_SPEC("addr", "names", "prev_ip_names");
	sp.keylen = 16;
	memset(out, 0, n * sizeof(*out));
	struct batch_keys in = {n, (const uint8_t *)ips, NULL};
	struct batch_cb bc = {NULL, NULL, NULL, NULL, out, NULL, NULL, NULL};
	return batch_run(c, &sp, &in, NULL, &bc);
}

int store_ch_prev_name_ips_n(store_ch_t *c, const char *const *names, size_t n, uint64_t *out)
{
	static const struct batch_spec sp = PREV_SPEC("rname", "addrs", "prev_name_ips");
	memset(out, 0, n * sizeof(*out));
	struct batch_cb bc = {NULL, NULL, NULL, NULL, out, NULL, NULL, NULL};
	return names_run(c, &sp, names, n, true, NULL, &bc);
}

int store_ch_prev_cert_ips_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                             uint64_t *out)
{
	static const struct batch_spec sp = {
	    "SELECT " CH_CERT_KEY " AS k, toUInt64(uniqExactMerge(ips)) FROM prev_cert_ips "
	    "PREWHERE cert IN (",
	    " GROUP BY k ORDER BY k",
	    33,
	    sizeof(uint64_t),
	    dec_count,
	    emit_count,
	    AL_CERTS,
	    0};
	memset(out, 0, n * sizeof(*out));
	struct batch_cb bc = {NULL, NULL, NULL, NULL, out, NULL, NULL, NULL};
	return certs_run(c, &sp, refs, n, NULL, &bc);
}

/* ---- certificates' metadata and keys ------------------------------------------ */

static void dec_cert(struct ch_rb_in *r, void *row)
{
	ch_rd_cert(r, row);
}

static int emit_cert(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb)
{
	(void)f;
	return cb->cert(i, row, cb->ctx);
}

int store_ch_cert_get_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                        store_cert_nth_cb cb, void *ctx)
{
	/* a row a certificate, as store_ch_cert_get's */
	static const struct batch_spec sp = {"SELECT " CH_CERT_KEY " AS k, " CH_CERT_COLUMNS
	                                     " FROM cert PREWHERE cert IN (",
	                                     " GROUP BY k ORDER BY k",
	                                     33,
	                                     sizeof(struct store_cert_info),
	                                     dec_cert,
	                                     emit_cert,
	                                     AL_CERTS,
	                                     0};
	struct batch_cb bc = {.ctx = ctx, .cert = cb};
	return certs_run(c, &sp, refs, n, NULL, &bc);
}

static void dec_certkey(struct ch_rb_in *r, void *row)
{
	char hex[65];
	size_t n = 0;
	ch_rd_str(r, hex, sizeof(hex));
	if (!r->bad && (util_hex_decode(hex, strlen(hex), row, 32, &n) != 0 || n != 32))
		r->bad = true;
}

static int emit_certkey(size_t i, void *row, const struct store_fence *f, const struct batch_cb *cb)
{
	(void)f;
	return cb->certkey(i, row, cb->ctx);
}

int store_ch_cert_key_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                        store_certkey_nth_cb cb, void *ctx)
{
	/* store_ch_cert_key's first key: the least; cert_key, keyed by
	 * certificate, so each is a point read (schema.sql) */
	static const struct batch_spec sp = {"SELECT " CH_CERT_KEY
	                                     " AS k, min(key) FROM cert_key PREWHERE (cert IN (",
	                                     ") GROUP BY k ORDER BY k",
	                                     33,
	                                     32,
	                                     dec_certkey,
	                                     emit_certkey,
	                                     AL_CERTS,
	                                     0};
	struct batch_cb bc = {.ctx = ctx, .certkey = cb};
	return certs_run(c, &sp, refs, n, NULL, &bc);
}
