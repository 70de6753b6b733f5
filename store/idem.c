/*
 * idem.c - idempotency records: what a push done under an
 * Idempotency-Key committed, kept in the same transaction as the
 * push's data (a meta record of the batch), so a retry is answered
 * from the record, or resumes after what was committed, and never
 * counts a line twice.
 *
 *   meta  'I' scope NUL key  ->  be64 time written, the record (text)
 *
 * Records live STORE_IDEM_TTL seconds: store_idem_prune deletes older ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/be.h"

int store_idem_key(const char *scope, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	size_t sl = strlen(scope), kl = strlen(key);
	if (kl == 0 || kl > STORE_IDEM_KEY_MAX || 2 + sl + kl > cap)
		return STORE_ETOOLONG;
	out[0] = 'I';
	memcpy(out + 1, scope, sl);
	out[1 + sl] = '\0';
	memcpy(out + 2 + sl, key, kl);
	*len = 2 + sl + kl;
	return 0;
}

int store_idem_put(store_batch_t *b, const uint8_t *k, size_t klen, int64_t now, const char *rec)
{
	size_t rl = strlen(rec);
	uint8_t val[8 + STORE_IDEM_REC_MAX];
	if (rl > STORE_IDEM_REC_MAX)
		return STORE_ETOOLONG;
	util_be64_store(val, (uint64_t)now);
	memcpy(val + 8, rec, rl);
	struct store_meta_put mp = {k, klen, val, 8 + rl};
	return store_batch_meta(b, &mp);
}

int store_idem_get(store_t *s, const uint8_t *k, size_t klen, int64_t *when, char *rec, size_t cap)
{
	uint8_t val[8 + STORE_IDEM_REC_MAX];
	size_t vlen = 0;
	int err = store_meta_get(s, k, klen, val, sizeof(val), &vlen);
	if (err != 0)
		return err;
	if (vlen < 8 || vlen - 8 >= cap)
		return STORE_ECORRUPT;
	*when = (int64_t)util_be64_load(val);
	memcpy(rec, val + 8, vlen - 8);
	rec[vlen - 8] = '\0';
	return 0;
}

struct prune {
	int64_t before;
	uint64_t deleted;
};

static int prune_fn(struct store_wtxn *w, void *ctx)
{
	struct prune *p = ctx;
	struct scan sc;
	SCAN_PREFIX(&sc, w->txn, w->s->dbi[DB_META], "I", 1, 1)
	{
		if (sc.v.mv_size >= 8 && (int64_t)util_be64_load(sc.v.mv_data) < p->before) {
			int rc = mdb_cursor_del(sc.cur, 0);
			if (rc != 0) {
				w->err = store_lmdb_err(rc, "idempotency prune");
				break;
			}
			p->deleted++;
		}
	}
	w_scan_end(w, &sc);
	return 0;
}

int store_idem_prune(store_t *s, int64_t before, uint64_t *deleted)
{
	struct prune p = {before, 0};
	int err = store_wtxn_run(s, prune_fn, &p);
	if (deleted != NULL)
		*deleted = err == 0 ? p.deleted : 0;
	return err;
}
