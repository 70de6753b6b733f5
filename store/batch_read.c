/*
 * batch_read.c - the batched readers of store.h (n keys of one kind at
 * once, for the pivot's BFS levels): on a ClickHouse store one query per
 * thousand keys (store/ch_batch.c), on LMDB a loop over the single-key
 * reader, whose callbacks are the same; and the prevalence counts of n
 * keys (the noise limits of a level's new nodes).
 */
#include "store/ch.h"
#include "store/store_internal.h"

/* A single-key reader's callback handing its rows on with the key. */
struct key_ctx {
	size_t key;
	store_rr_nth_cb rr;
	store_sight_nth_cb sight;
	store_namecert_nth_cb nc;
	void *ctx;
	const struct store_cap *cap;
	size_t rows; /* the key's so far */
};

/* Past the cap: the key cut, its walk stopped. */
static bool over_cap(struct key_ctx *k)
{
	if (k->cap == NULL || ++k->rows <= k->cap->max)
		return false;
	k->cap->cut[k->key] = true;
	return true;
}

static int one_rr(const struct store_rr *rr, void *c)
{
	struct key_ctx *k = c;
	return over_cap(k) ? STORE_STOP : k->rr(k->key, rr, k->ctx);
}

static int one_sight(const struct store_sighting *s, void *c)
{
	struct key_ctx *k = c;
	return over_cap(k) ? STORE_STOP : k->sight(k->key, s, k->ctx);
}

static int one_nc(const struct store_cert_ref *ref, unsigned kind, void *c)
{
	struct key_ctx *k = c;
	return over_cap(k) ? STORE_STOP : k->nc(k->key, ref, kind, k->ctx);
}

/* A key's walk ended: its STORE_STOP is not the batch's. */
static int key_done(int err)
{
	return err == STORE_STOP ? 0 : err;
}

/* A key's walk ended, and the next key's rows counted from 0. */
static int key_next(struct key_ctx *k, int err)
{
	k->rows = 0;
	return key_done(err);
}

int store_rr_by_addrs(store_rtxn_t *r, const uint8_t (*addrs)[16], size_t n,
                      const struct store_fence *f, const struct store_cap *cap, store_rr_nth_cb cb,
                      void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_addrs, addrs, n, f, cap, cb, ctx);
	struct key_ctx k = {.rr = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_rr_by_addr(r, addrs[k.key], 128, f, one_rr, &k));
	return err;
}

int store_rr_by_names(store_rtxn_t *r, const char *const *names, size_t n,
                      const struct store_fence *f, const struct store_cap *cap, store_rr_nth_cb cb,
                      void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_names, names, n, f, cap, cb, ctx);
	struct key_ctx k = {.rr = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_rr_by_name(r, names[k.key], 0, f, one_rr, &k));
	return err;
}

int store_rr_by_targets(store_rtxn_t *r, const char *const *targets, size_t n,
                        const struct store_fence *f, const struct store_cap *cap,
                        store_rr_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_targets, targets, n, f, cap, cb, ctx);
	struct key_ctx k = {.rr = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_rr_by_target(r, targets[k.key], f, one_rr, &k));
	return err;
}

int store_sight_by_addrs(store_rtxn_t *r, const uint8_t (*addrs)[16], size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_sight_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_sight_by_addrs, addrs, n, f, cap, cb, ctx);
	struct key_ctx k = {.sight = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_sight_by_addr(r, addrs[k.key], 128, f, one_sight, &k));
	return err;
}

int store_sight_by_certs(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_sight_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_sight_by_certs, refs, n, f, cap, cb, ctx);
	struct key_ctx k = {.sight = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_sight_by_cert(r, &refs[k.key], f, one_sight, &k));
	return err;
}

int store_certs_by_names(store_rtxn_t *r, const char *const *names, size_t n,
                         const struct store_cap *cap, store_namecert_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_certs_by_names, names, n, cap, cb, ctx);
	struct key_ctx k = {.nc = cb, .ctx = ctx, .cap = cap};
	int err = 0;
	for (k.key = 0; k.key < n && err == 0; k.key++)
		err = key_next(&k, store_certs_by_name(r, names[k.key], one_nc, &k));
	return err;
}

int store_prev_ip_names_n(store_rtxn_t *r, const uint8_t (*ips)[16], size_t n, uint64_t *out)
{
	STORE_CH_READ(r, store_ch_prev_ip_names_n, ips, n, out);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++)
		err = store_prev_ip_names(r, ips[i], &out[i]);
	return err;
}

int store_prev_name_ips_n(store_rtxn_t *r, const char *const *names, size_t n, uint64_t *out)
{
	STORE_CH_READ(r, store_ch_prev_name_ips_n, names, n, out);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++)
		err = store_prev_name_ips(r, names[i], &out[i]);
	return err;
}

int store_prev_cert_ips_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                          uint64_t *out)
{
	STORE_CH_READ(r, store_ch_prev_cert_ips_n, refs, n, out);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++)
		err = store_prev_cert_ips(r, &refs[i], &out[i]);
	return err;
}

/* A key never seen has no callback; another error ends the batch. */
int store_cert_get_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                     store_cert_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_cert_get_n, refs, n, cb, ctx);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		struct store_cert_info ci;
		err = store_cert_get(r, &refs[i], &ci);
		err = err == 0 ? key_done(cb(i, &ci, ctx)) : err == STORE_ENOTFOUND ? 0 : err;
	}
	return err;
}

int store_cert_key_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                     store_certkey_nth_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_cert_key_n, refs, n, cb, ctx);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		uint8_t key[32];
		err = store_cert_key(r, &refs[i], key);
		err = err == 0 ? key_done(cb(i, key, ctx)) : err == STORE_ENOTFOUND ? 0 : err;
	}
	return err;
}

bool store_ahead_record(store_rtxn_t *r)
{
	struct store_ch *c;
	return r->s->ch != NULL && store_ch_session(r, &c) == 0 && store_ch_ahead_record(c) == 0;
}

void store_ahead_send(store_rtxn_t *r)
{
	struct store_ch *c;
	if (r->s->ch != NULL && store_ch_session(r, &c) == 0)
		store_ch_ahead_send(c);
}

void store_ahead_drop(store_rtxn_t *r)
{
	struct store_ch *c;
	if (r->s->ch != NULL && store_ch_session(r, &c) == 0)
		store_ch_ahead_drop(c);
}
