/*
 * fp.c - server fingerprints (JARM, JA3S) seen on ip:port: the batch
 * records, their merge with first/last seen and count, the two indexes
 * (fingerprint -> ip:port, ip -> fingerprint) and the distinct-IP counter.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch_internal.h"
#include "store/store_internal.h"

#define FPKEY_LEN 64                  /* u8 type, hash zero-padded to 63 */
#define FPSIGHT_KLEN (FPKEY_LEN + 18) /* FPKEY IP be16 port */
#define FPVAL_LEN 16                  /* u32 first, u32 last, u64 count */

/* A fingerprint observation inside a store_batch. */
struct bfp {
	uint8_t key[FPSIGHT_KLEN];
	int64_t tf, tl;
	uint64_t count;
};

static const struct {
	const char *name;
	unsigned type;
	size_t len;
} fp_types[] = {{"jarm", STORE_FP_JARM, 62}, {"ja3s", STORE_FP_JA3S, 32}};
#define NFPTYPES (sizeof(fp_types) / sizeof(fp_types[0]))

const char *store_fp_type_name(unsigned fptype)
{
	for (size_t i = 0; i < NFPTYPES; i++)
		if (fp_types[i].type == fptype)
			return fp_types[i].name;
	return "?";
}

unsigned store_fp_type_by_name(const char *s, size_t len)
{
	for (size_t i = 0; i < NFPTYPES; i++)
		if (strlen(fp_types[i].name) == len && memcmp(fp_types[i].name, s, len) == 0)
			return fp_types[i].type;
	return 0;
}

int store_fp_norm(unsigned fptype, const char *in, size_t len, char *out)
{
	size_t want = 0;
	for (size_t i = 0; i < NFPTYPES; i++)
		if (fp_types[i].type == fptype)
			want = fp_types[i].len;
	if (want == 0)
		return STORE_EBADTYPE;
	if (len != want)
		return STORE_EBADHASH;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return STORE_EBADHASH;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[len] = '\0';
	return 0;
}

/* FPKEY of a normalised fingerprint. */
static void fpkey_enc(unsigned fptype, const char *hash, uint8_t out[FPKEY_LEN])
{
	memset(out, 0, FPKEY_LEN);
	out[0] = (uint8_t)fptype;
	memcpy(out + 1, hash, strnlen(hash, FPKEY_LEN - 1));
}

/* ---- batch ------------------------------------------------------------------- */

int fp_batch_add(store_batch_t *b, const struct store_obs *o)
{
	char h[STORE_FP_HASH_BUF];
	size_t hl = strnlen(o->fp.hash, sizeof(o->fp.hash));
	int err = store_fp_norm(o->fp.fptype, o->fp.hash, hl, h);
	if (err != 0)
		return err;
	if (b->nfps == b->capfps) {
		size_t nc = b->capfps ? b->capfps * 2 : 64;
		struct bfp *n = realloc(b->fps, nc * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		b->fps = n;
		b->capfps = nc;
	}
	struct bfp *f = &b->fps[b->nfps++];
	fpkey_enc(o->fp.fptype, h, f->key);
	memcpy(f->key + FPKEY_LEN, o->fp.ip, 16);
	util_be16_store(f->key + FPKEY_LEN + 16, o->fp.port);
	f->tf = o->time_first;
	f->tl = o->time_last;
	f->count = o->count;
	return 0;
}

const uint8_t *fp_batch_row(const store_batch_t *b, size_t i, int64_t *tf, int64_t *tl,
                            uint64_t *count)
{
	const struct bfp *f = &b->fps[i];
	*tf = f->tf;
	*tl = f->tl;
	*count = f->count;
	return f->key;
}

void fp_batch_free(store_batch_t *b)
{
	free(b->fps);
	b->fps = NULL;
	b->nfps = b->capfps = 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* Has the fingerprint been seen on ip, any port?  ipfp holds IP ->
 * FPKEY port sorted, so one MDB_GET_BOTH_RANGE answers. */
static bool fp_has_ip(struct store_wtxn *w, const uint8_t *key)
{
	uint8_t val[FPKEY_LEN + 2];
	memcpy(val, key, FPKEY_LEN);
	val[FPKEY_LEN] = val[FPKEY_LEN + 1] = 0;
	MDB_cursor *cur;
	if (w->err != 0 || mdb_cursor_open(w->txn, w->s->dbi[DB_IPFP], &cur) != 0)
		return false;
	MDB_val k = {16, (void *)(key + FPKEY_LEN)}, v = {sizeof(val), val};
	int rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
	bool found = rc == 0 && v.mv_size == sizeof(val) && memcmp(v.mv_data, key, FPKEY_LEN) == 0;
	mdb_cursor_close(cur);
	return found;
}

static void fp_prev_bump(struct store_wtxn *w, const uint8_t *key)
{
	uint8_t pk[1 + FPKEY_LEN];
	pk[0] = 'F';
	memcpy(pk + 1, key, FPKEY_LEN);
	MDB_val k = {sizeof(pk), pk}, v;
	uint32_t n = 0;
	if (w_get(w, DB_PREV, &k, &v) == 0 && v.mv_size == 4)
		memcpy(&n, v.mv_data, 4);
	n++;
	MDB_val nv = {4, &n};
	w_put(w, DB_PREV, &k, &nv, 0);
}

static void fp_merge(struct store_wtxn *w, const struct bfp *f)
{
	MDB_val k = {FPSIGHT_KLEN, (void *)f->key}, v;
	uint32_t tf = clamp_time(f->tf), tl = clamp_time(f->tl);
	uint64_t count = f->count;
	if (w_get(w, DB_FPSIGHT, &k, &v) == 0 && v.mv_size == FPVAL_LEN) {
		uint32_t otf, otl;
		uint64_t oc;
		memcpy(&otf, v.mv_data, 4);
		memcpy(&otl, (uint8_t *)v.mv_data + 4, 4);
		memcpy(&oc, (uint8_t *)v.mv_data + 8, 8);
		seen_merge(&otf, &otl, &oc, tf, tl, count);
		tf = otf;
		tl = otl;
		count = oc;
	} else if (w->err == 0) {
		if (!fp_has_ip(w, f->key))
			fp_prev_bump(w, f->key);
		MDB_val ik = {16, (void *)(f->key + FPKEY_LEN)};
		MDB_val iv = {FPKEY_LEN + 2, NULL};
		uint8_t val[FPKEY_LEN + 2];
		memcpy(val, f->key, FPKEY_LEN);
		memcpy(val + FPKEY_LEN, f->key + FPKEY_LEN + 16, 2);
		iv.mv_data = val;
		w_put(w, DB_IPFP, &ik, &iv, MDB_NODUPDATA);
	}
	uint8_t nb[FPVAL_LEN];
	memcpy(nb, &tf, 4);
	memcpy(nb + 4, &tl, 4);
	memcpy(nb + 8, &count, 8);
	MDB_val nv = {FPVAL_LEN, nb};
	w_put(w, DB_FPSIGHT, &k, &nv, 0);
}

int fp_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		for (size_t j = 0; j < bs[i]->nfps && w->err == 0; j++)
			fp_merge(w, &bs[i]->fps[j]);
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

/* Hand the fpsight row k/v to cb when it passes the fence. */
static int fp_emit(const MDB_val *k, const MDB_val *v, const struct store_fence *f, store_fp_cb cb,
                   void *ctx)
{
	if (k->mv_size != FPSIGHT_KLEN || v->mv_size != FPVAL_LEN)
		return STORE_ECORRUPT;
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;
	uint32_t tf, tl;
	struct store_fp_sighting s;
	char hash[FPKEY_LEN];
	memcpy(&tf, vp, 4);
	memcpy(&tl, vp + 4, 4);
	if (!store_fence_match(f, tf, tl))
		return 0;
	memcpy(hash, kp + 1, FPKEY_LEN - 1);
	hash[FPKEY_LEN - 1] = '\0';
	s.fptype = kp[0];
	s.hash = hash;
	memcpy(s.ip, kp + FPKEY_LEN, 16);
	s.port = util_be16_load(kp + FPKEY_LEN + 16);
	s.time_first = tf;
	s.time_last = tl;
	memcpy(&s.count, vp + 8, 8);
	return cb(&s, ctx);
}

int store_fp_by_hash(store_rtxn_t *r, unsigned fptype, const char *hash,
                     const struct store_fence *f, store_fp_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_fp_by_hash, fptype, hash, f, cb, ctx);
	char h[STORE_FP_HASH_BUF];
	int err = store_fp_norm(fptype, hash, strlen(hash), h);
	if (err != 0)
		return err;
	if (r->s->no_keys)
		return 0;
	uint8_t key[FPKEY_LEN];
	fpkey_enc(fptype, h, key);
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[DB_FPSIGHT], key, sizeof(key), sizeof(key))
	{
		ret = fp_emit(&sc.k, &sc.v, f, cb, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

struct fp_walk {
	const struct store_fence *f;
	store_fp_cb cb;
	void *ctx;
};

/* An ipfp item (IP -> FPKEY port): the fpsight row it points at. */
static int fp_ipitem(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *wctx)
{
	const struct fp_walk *fw = wctx;
	if (v->mv_size != FPKEY_LEN + 2 || k->mv_size != 16)
		return STORE_ECORRUPT;
	uint8_t key[FPSIGHT_KLEN];
	memcpy(key, v->mv_data, FPKEY_LEN);
	memcpy(key + FPKEY_LEN, k->mv_data, 16);
	memcpy(key + FPKEY_LEN + 16, (uint8_t *)v->mv_data + FPKEY_LEN, 2);
	MDB_val sk = {sizeof(key), key}, sv;
	if (mdb_get(r->txn, r->s->dbi[DB_FPSIGHT], &sk, &sv) != 0)
		return 0;
	return fp_emit(&sk, &sv, fw->f, fw->cb, fw->ctx);
}

int store_fp_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                     const struct store_fence *f, store_fp_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_fp_by_addr, addr, plen, f, cb, ctx);
	if (r->s->no_keys)
		return 0;
	struct fp_walk fw = {f, cb, ctx};
	return walk_addr_index(r, DB_IPFP, addr, plen, fp_ipitem, &fw);
}

int store_prev_fp_ips(store_rtxn_t *r, unsigned fptype, const char *hash, uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_fp_ips, fptype, hash, n);
	*n = 0;
	char h[STORE_FP_HASH_BUF];
	int err = store_fp_norm(fptype, hash, strlen(hash), h);
	if (err != 0)
		return err;
	uint8_t pk[1 + FPKEY_LEN];
	pk[0] = 'F';
	fpkey_enc(fptype, h, pk + 1);
	MDB_val k = {sizeof(pk), pk}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_PREV], &k, &v);
	if (rc == 0 && v.mv_size == 4) {
		uint32_t c;
		memcpy(&c, v.mv_data, 4);
		*n = c;
		return 0;
	}
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "prevalence");
}
