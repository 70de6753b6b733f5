/*
 * ch_intent.c - the three-step commit of a batch that carries meta
 * records (a follow position, a feed checkpoint, an idempotency record)
 * on a ClickHouse store, whose data are in the cluster and whose meta
 * records are in the local control LMDB (docs/scale-out.md, "Positions,
 * checkpoints and idempotent pushes"):
 *
 *   1. the intent, in one control transaction: the batch's INSERTs (their
 *      statements and RowBinary bodies, under tokens derived from the
 *      meta records) and the meta records to commit;
 *   2. the INSERTs, sent (with their retries, store/ch_rr.c);
 *   3. the meta records committed and the intent deleted, in one
 *      control transaction.
 *
 * A crash after 1 leaves the intent: the next writable open sends its
 * INSERTs again, the same bytes, so the replicated tables drop what had
 * arrived and take what had not, then commits its meta records.  The
 * data is not re-read from the old position: units close on time as well
 * as size, so a re-read would not cut the same batches.
 *
 *   meta  'W' first meta key  ->  be64 seed, be32 n, n x (be32 len, key,
 *                                 be32 len, value), then to the end
 *                                 (be32 len, statement, be32 len, body)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/be.h"

/* A batch's INSERTs recorded at most (the control LMDB holds them until
 * the meta records are committed). */
#define INTENT_MAX ((size_t)1 << 30)

uint64_t ch_intent_token(uint64_t seed, uint64_t n)
{
	/* splitmix64's finaliser: the tokens of one seed look unrelated */
	uint64_t z = seed + (n + 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

static int add_field(struct util_buf *rec, const void *p, size_t n)
{
	uint8_t len[4];
	if (n > UINT32_MAX)
		return -E2BIG;
	util_be32_store(len, (uint32_t)n);
	util_buf_add(rec, len, 4);
	return util_buf_add(rec, p, n);
}

int ch_intent_add(struct util_buf *rec, const char *sql, const void *body, size_t blen)
{
	add_field(rec, sql, strlen(sql));
	return add_field(rec, body, blen);
}

/* The next field of an intent at *p (end e): false when it is cut short. */
static bool next_field(const uint8_t **p, const uint8_t *e, const uint8_t **f, size_t *n)
{
	if (e - *p < 4)
		return false;
	*n = util_be32_load(*p);
	if ((size_t)(e - *p - 4) < *n)
		return false;
	*f = *p + 4;
	*p += 4 + *n;
	return true;
}

/* An idempotency record's value starts with the time it was written:
 * not part of what the batch is. */
static size_t meta_skip(const struct store_meta_put *m)
{
	return m->klen > 0 && ((const uint8_t *)m->key)[0] == 'I' && m->vlen >= 8 ? 8 : 0;
}

/* The seed of the batch's tokens: its meta records, new and as committed
 * before, so that the same position range, checkpoint move or part of an
 * idempotent push gives the same tokens, and another gives others. */
static uint64_t intent_seed(store_t *s, store_batch_t *const *bs, size_t nb)
{
	uint64_t h = UTIL_FNV64_INIT;
	for (size_t i = 0; i < nb; i++) {
		for (size_t j = 0; j < bs[i]->nmeta; j++) {
			const struct store_meta_put *m = &bs[i]->meta[j];
			uint8_t old[8 + STORE_IDEM_REC_MAX];
			size_t olen = 0;
			if (store_meta_get(s, m->key, m->klen, old, sizeof(old), &olen) != 0)
				olen = 0;
			struct store_meta_put was = {m->key, m->klen, old, olen};
			size_t sk = meta_skip(&was);
			h = util_fnv64(h, m->key, m->klen);
			h = util_fnv64(h, &olen, sizeof(olen));
			h = util_fnv64(h, old + sk, olen - sk);
			h = util_fnv64(h, (const uint8_t *)m->val + meta_skip(m),
			               m->vlen - meta_skip(m));
		}
	}
	return h != 0 ? h : 1;
}

/* The intent's key ('W' and the first meta key) and its record's head:
 * the seed and the meta records. */
struct intent {
	uint8_t key[511]; /* LMDB's longest key */
	size_t klen;
	uint64_t seed;
	struct util_buf rec;
};

static int intent_head(store_t *s, store_batch_t *const *bs, size_t nb, struct intent *in)
{
	const struct store_meta_put *first = NULL;
	uint32_t n = 0;
	for (size_t i = 0; i < nb; i++) {
		if (first == NULL && bs[i]->nmeta > 0)
			first = &bs[i]->meta[0];
		n += (uint32_t)bs[i]->nmeta;
	}
	if (first == NULL || 1 + first->klen > sizeof(in->key))
		return STORE_ETOOLONG;
	in->key[0] = 'W';
	memcpy(in->key + 1, first->key, first->klen);
	in->klen = 1 + first->klen;
	in->seed = intent_seed(s, bs, nb);
	uint8_t head[12];
	util_be64_store(head, in->seed);
	util_be32_store(head + 8, n);
	util_buf_add(&in->rec, head, sizeof(head));
	for (size_t i = 0; i < nb; i++) {
		for (size_t j = 0; j < bs[i]->nmeta; j++) {
			add_field(&in->rec, bs[i]->meta[j].key, bs[i]->meta[j].klen);
			add_field(&in->rec, bs[i]->meta[j].val, bs[i]->meta[j].vlen);
		}
	}
	return in->rec.err;
}

static int put_fn(struct store_wtxn *w, void *ctx)
{
	struct intent *in = ctx;
	MDB_val k = {in->klen, in->key}, v = {in->rec.len, in->rec.p};
	int rc = mdb_put(w->txn, w->s->dbi[DB_META], &k, &v, 0);
	if (rc != 0)
		w->err = store_lmdb_err(rc, "intent");
	return 0;
}

/* The start of the statements in an intent's record, after its meta
 * records; NULL when the record is cut short. */
static const uint8_t *statements(const uint8_t *p, const uint8_t *e)
{
	if (e - p < 12)
		return NULL;
	uint32_t n = util_be32_load(p + 8);
	p += 12;
	for (uint32_t i = 0; i < 2 * n; i++) {
		const uint8_t *f;
		size_t len;
		if (!next_field(&p, e, &f, &len))
			return NULL;
	}
	return p;
}

/* Step 2: the intent's INSERTs, in order. */
static int send_all(store_t *s, const struct util_buf *rec)
{
	const uint8_t *e = (const uint8_t *)rec->p + rec->len;
	const uint8_t *p = statements((const uint8_t *)rec->p, e);
	int err = p == NULL ? STORE_ECORRUPT : 0;
	while (err == 0 && p < e) {
		const uint8_t *sql, *body;
		size_t sl, bl;
		char q[256];
		if (!next_field(&p, e, &sql, &sl) || !next_field(&p, e, &body, &bl) ||
		    sl >= sizeof(q))
			return STORE_ECORRUPT;
		memcpy(q, sql, sl);
		q[sl] = '\0';
		struct util_buf b = {.p = (char *)body, .len = bl};
		err = ch_insert_retried(s->ch, q, &b);
	}
	return err;
}

/* Step 3: the meta records, if the intent is still the one this writer
 * sent (another process's open may have replayed it, and its writer may
 * have moved on since), and the intent deleted. */
static int commit_fn(struct store_wtxn *w, void *ctx)
{
	struct intent *in = ctx;
	MDB_val k = {in->klen, in->key}, v;
	int rc = mdb_get(w->txn, w->s->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND ||
	    (rc == 0 && (v.mv_size < 8 || util_be64_load(v.mv_data) != in->seed)))
		return 0;
	const uint8_t *p = (const uint8_t *)in->rec.p + 12, *e = p - 12 + in->rec.len;
	uint32_t n = util_be32_load(p - 4);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *kf, *vf;
		size_t kl, vl;
		if (!next_field(&p, e, &kf, &kl) || !next_field(&p, e, &vf, &vl))
			return STORE_ECORRUPT;
		MDB_val mk = {kl, (void *)kf}, mv = {vl, (void *)vf};
		rc = mdb_put(w->txn, w->s->dbi[DB_META], &mk, &mv, 0);
	}
	if (rc == 0)
		rc = mdb_del(w->txn, w->s->dbi[DB_META], &k, NULL);
	if (rc != 0)
		w->err = store_lmdb_err(rc, "intent commit");
	return 0;
}

int ch_intent_write(store_t *s, store_batch_t *const *bs, size_t nb, struct store_write_stats *st)
{
	struct intent *in = malloc(sizeof(*in));
	if (in == NULL)
		return -ENOMEM;
	util_buf_init(&in->rec, INTENT_MAX);
	struct store_write_stats local = {0};
	int err = intent_head(s, bs, nb, in);
	if (err == 0) {
		ch_capture(s->ch, &in->rec);
		err = ch_write_rows(s, bs, nb, in->seed, &local);
		ch_capture(s->ch, NULL);
	}
	if (err == 0)
		err = in->rec.err != 0 ? in->rec.err : store_wtxn_run(s, put_fn, in);
	if (err == 0)
		err = send_all(s, &in->rec);
	if (err == 0)
		err = store_wtxn_run(s, commit_fn, in);
	if (err == 0 && st != NULL)
		store_write_stats_add(st, &local);
	util_buf_free(&in->rec);
	free(in);
	return err;
}

/* The keys of the intents in the control LMDB, each as a field. */
static int list_fn(struct store_wtxn *w, void *ctx)
{
	struct util_buf *keys = ctx;
	struct scan sc;
	keys->len = 0;
	SCAN_PREFIX(&sc, w->txn, w->s->dbi[DB_META], "W", 1, 1)
	{
		add_field(keys, sc.k.mv_data, sc.k.mv_size);
	}
	w_scan_end(w, &sc);
	return keys->err;
}

static int load_fn(struct store_wtxn *w, void *ctx)
{
	struct intent *in = ctx;
	MDB_val k = {in->klen, in->key}, v;
	in->rec.len = 0;
	int rc = mdb_get(w->txn, w->s->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0 || v.mv_size < 12) {
		w->err = rc != 0 ? store_lmdb_err(rc, "intent") : STORE_ECORRUPT;
		return 0;
	}
	in->seed = util_be64_load(v.mv_data);
	return util_buf_add(&in->rec, v.mv_data, v.mv_size);
}

/* Send one intent left by a crash again and commit its meta records. */
static int replay_one(store_t *s, struct intent *in)
{
	int err = store_wtxn_run(s, load_fn, in);
	if (err == 0 && in->rec.len > 0)
		err = send_all(s, &in->rec);
	if (err == 0 && in->rec.len > 0)
		err = store_wtxn_run(s, commit_fn, in);
	if (err != 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", store_last_error());
		store_set_error("a batch of %.*s left unfinished by a crash could not be "
		                "completed: %s",
		                (int)(in->klen - 1), (const char *)in->key + 1, why);
	}
	return err;
}

int ch_intent_replay(store_t *s)
{
	struct util_buf keys;
	util_buf_init(&keys, INTENT_MAX);
	struct intent *in = malloc(sizeof(*in));
	int err = in == NULL ? -ENOMEM : store_wtxn_run(s, list_fn, &keys);
	if (in != NULL)
		util_buf_init(&in->rec, INTENT_MAX);
	const uint8_t *p = (const uint8_t *)keys.p, *e = p + keys.len;
	while (err == 0 && p < e) {
		const uint8_t *k;
		size_t kl;
		if (!next_field(&p, e, &k, &kl) || kl > sizeof(in->key))
			break;
		memcpy(in->key, k, kl);
		in->klen = kl;
		err = replay_one(s, in);
	}
	if (in != NULL)
		util_buf_free(&in->rec);
	free(in);
	util_buf_free(&keys);
	return err;
}
