/*
 * watch_read.c - reading watchlists: settings and counters, the full list
 * and deltas since a version, with expiries computed against now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/watch_internal.h"
#include "util/be.h"

/* Begin a read transaction and load the list name into wl; on success
 * the caller ends *r. */
static int list_read_begin(store_t *s, const char *name, store_rtxn_t **r, struct wl *wl)
{
	if (s->no_watch)
		return STORE_ENOTFOUND;
	int err = store_read_begin(s, r);
	if (err != 0)
		return err;
	err = wl_load((*r)->txn, s, name, wl);
	if (err != 0)
		store_read_end(*r);
	return err;
}

int store_watch_get(store_t *s, const char *name, int64_t now, struct store_watch_info *out)
{
	store_rtxn_t *r;
	struct wl wl;
	int err = list_read_begin(s, name, &r, &wl);
	if (err != 0)
		return err;
	wl_info_at(r->txn, s, &wl, watch_now(now));
	*out = wl.info;
	store_read_end(r);
	return 0;
}

int store_watch_list(store_t *s, int64_t now, store_watch_list_cb cb, void *ctx)
{
	if (s->no_watch)
		return 0;
	now = watch_now(now);
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	struct scan sc;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_WLIST], "N", 1, 1)
	{
		char name[STORE_WATCH_NAME_BUF];
		struct wl wl;
		if (sc.k.mv_size == 1)
			break;
		if (sc.k.mv_size - 1 >= sizeof(name))
			continue;
		memcpy(name, (const uint8_t *)sc.k.mv_data + 1, sc.k.mv_size - 1);
		name[sc.k.mv_size - 1] = '\0';
		err = wl_load(r->txn, s, name, &wl);
		if (err != 0)
			break;
		wl_info_at(r->txn, s, &wl, now);
		err = cb(&wl.info, ctx);
		if (err != 0)
			break;
	}
	err = scan_end(&sc, err, "watchlists");
	store_read_end(r);
	return walk_done(err);
}

/* An entry as seen at now: live entries whose expiry is due read as
 * expired (their version is given by the caller, who numbers them). */
static bool due(const struct store_watch_entry *e, int64_t now)
{
	return e->state == STORE_WATCH_LIVE && e->expires != 0 && e->expires <= now;
}

struct reader {
	MDB_txn *txn;
	store_t *s;
	uint32_t id;
	int64_t now;
	store_watch_entry_cb cb;
	void *ctx;
	struct store_watch_entry e;
};

/* Decode into rd->e the entry keyed ik (u8 type, indicator bytes: il
 * bytes) whose value is v. */
static int entry_dec(struct reader *rd, const uint8_t *ik, size_t il, const MDB_val *v)
{
	struct store_watch_entry *e = &rd->e;
	e->type = ik[0];
	int err = wikey_dec(ik[0], ik + 1, il - 1, e->indicator);
	return err != 0 ? err : went_dec(v->mv_data, v->mv_size, e);
}

/* Look the entry ik up in wentry (an index points at it) and decode it. */
static int entry_get(struct reader *rd, const uint8_t *ik, size_t il)
{
	uint8_t ek[5 + WIKEY_MAX];
	if (il < 2 || il > 1 + WIKEY_MAX)
		return STORE_ECORRUPT;
	util_be32_store(ek, rd->id);
	memcpy(ek + 4, ik, il);
	MDB_val ekv = {4 + il, ek}, v;
	int rc = mdb_get(rd->txn, rd->s->dbi[DB_WENTRY], &ekv, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist entry");
	return entry_dec(rd, ik, il, &v);
}

/* Every live entry not expired at now, in key order (type, indicator). */
static int read_full(struct reader *rd)
{
	uint8_t pfx[4];
	util_be32_store(pfx, rd->id);
	int err = 0;
	struct scan sc;
	SCAN_PREFIX(&sc, rd->txn, rd->s->dbi[DB_WENTRY], pfx, 4, 4)
	{
		const uint8_t *vp = sc.v.mv_data;
		if (sc.k.mv_size <= 5)
			break;
		/* cheap filter on the state byte before decoding */
		if (sc.v.mv_size <= 1 || vp[1] != STORE_WATCH_LIVE)
			continue;
		err = entry_dec(rd, (const uint8_t *)sc.k.mv_data + 4, sc.k.mv_size - 4, &sc.v);
		if (err == 0 && !due(&rd->e, rd->now))
			err = rd->cb(&rd->e, rd->ctx);
		if (err != 0)
			break;
	}
	return scan_end(&sc, err, "watchlist entries");
}

/* The recorded changes after version since, in version order. */
static int read_changes(struct reader *rd, uint64_t since)
{
	uint8_t vk[12];
	util_be32_store(vk, rd->id);
	util_be64_store(vk + 4, since + 1);
	int err = 0;
	struct scan sc;
	SCAN_PREFIX(&sc, rd->txn, rd->s->dbi[DB_WVER], vk, 12, 4)
	{
		if (sc.k.mv_size != 12)
			break;
		err = entry_get(rd, sc.v.mv_data, sc.v.mv_size);
		/* a due expiry is reported by read_expiries, under its own number */
		if (err == 0 && !due(&rd->e, rd->now))
			err = rd->cb(&rd->e, rd->ctx);
		if (err != 0)
			break;
	}
	return scan_end(&sc, err, "watchlist versions");
}

/* The expiry due at t of the entry keyed ik (il bytes), as version n. */
static int emit_expiry(struct reader *rd, const uint8_t *ik, size_t il, int64_t t, uint64_t n)
{
	struct store_watch_entry *e = &rd->e;
	int err = entry_get(rd, ik, il);
	if (err != 0)
		return err;
	e->state = STORE_WATCH_EXPIRED;
	e->removed = t;
	e->version = n;
	return rd->cb(e, rd->ctx);
}

/* The expiries due at now, numbered after the stored version; those after
 * version since. */
static int read_expiries(struct reader *rd, uint64_t stored, uint64_t since)
{
	uint8_t tk[13];
	util_be32_store(tk, rd->id);
	tk[4] = 'E';
	memset(tk + 5, 0, 8);
	uint64_t n = stored;
	int err = 0;
	struct scan sc;
	SCAN_PREFIX(&sc, rd->txn, rd->s->dbi[DB_WTIME], tk, 13, 5)
	{
		const uint8_t *p = sc.k.mv_data;
		if (sc.k.mv_size <= 14 || (int64_t)util_be64_load(p + 5) > rd->now)
			break;
		n++;
		if (n > since)
			err = emit_expiry(rd, p + 13, sc.k.mv_size - 13,
			                  (int64_t)util_be64_load(p + 5), n);
		if (err != 0)
			break;
	}
	return scan_end(&sc, err, "watchlist expiries");
}

/* What changed after version since: the recorded changes in version
 * order, then the expiries due at now numbered after the stored version. */
static int read_delta(struct reader *rd, uint64_t stored, uint64_t since)
{
	int err = read_changes(rd, since);
	if (err != 0)
		return err;
	return read_expiries(rd, stored, since);
}

int store_watch_read(store_t *s, const char *name, int64_t now, uint64_t since_version,
                     store_watch_entry_cb cb, void *ctx, struct store_watch_info *info, bool *full)
{
	now = watch_now(now);
	store_rtxn_t *r;
	struct wl wl;
	int err = list_read_begin(s, name, &r, &wl);
	if (err != 0)
		return err;
	wl_info_at(r->txn, s, &wl, now);
	if (info != NULL)
		*info = wl.info;
	struct reader *rd = malloc(sizeof(*rd));
	if (rd == NULL) {
		store_read_end(r);
		return -ENOMEM;
	}
	*rd = (struct reader){
	    .txn = r->txn, .s = s, .id = wl.info.id, .now = now, .cb = cb, .ctx = ctx};
	bool is_full = since_version == 0 || since_version < wl.info.delta_floor ||
	               since_version > wl.info.version;
	if (full != NULL)
		*full = is_full;
	if (is_full)
		err = read_full(rd);
	else
		err = read_delta(rd, wl.version, since_version);
	free(rd);
	store_read_end(r);
	if (err == STORE_STOP)
		err = 0;
	return err;
}

int store_watch_entry_get(store_t *s, const char *name, unsigned type, const char *indicator,
                          int64_t now, struct store_watch_entry *out)
{
	if (s->no_watch)
		return STORE_ENOTFOUND;
	now = watch_now(now);
	struct wikey ik;
	int err = wikey_enc(type, indicator, &ik);
	if (err != 0)
		return err;
	store_rtxn_t *r;
	struct wl wl;
	err = list_read_begin(s, name, &r, &wl);
	if (err != 0)
		return err;
	err = went_load(r->txn, s, wl.info.id, &ik, out);
	if (err == 0 && due(out, now)) {
		out->state = STORE_WATCH_EXPIRED;
		out->removed = out->expires;
	}
	store_read_end(r);
	return err;
}
