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

int store_watch_get(store_t *s, const char *name, int64_t now, struct store_watch_info *out)
{
	if (s->no_watch)
		return STORE_ENOTFOUND;
	now = watch_now(now);
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	struct wl wl;
	err = wl_load(r->txn, s, name, &wl);
	if (err == 0) {
		wl_info_at(r->txn, s, &wl, now);
		*out = wl.info;
	}
	store_read_end(r);
	return err;
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
	MDB_cursor *c;
	int rc = mdb_cursor_open(r->txn, s->dbi[DB_WLIST], &c);
	if (rc != 0) {
		store_read_end(r);
		return store_lmdb_err(rc, "watchlists");
	}
	MDB_val k = {1, (void *)"N"}, v;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > 1 && ((const uint8_t *)k.mv_data)[0] == 'N') {
		char name[STORE_WATCH_NAME_BUF];
		struct wl wl;
		if (k.mv_size - 1 < sizeof(name)) {
			memcpy(name, (const uint8_t *)k.mv_data + 1, k.mv_size - 1);
			name[k.mv_size - 1] = '\0';
			err = wl_load(r->txn, s, name, &wl);
			if (err != 0)
				break;
			wl_info_at(r->txn, s, &wl, now);
			err = cb(&wl.info, ctx);
			if (err != 0)
				break;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	store_read_end(r);
	if (err == STORE_STOP)
		err = 0;
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = store_lmdb_err(rc, "watchlists");
	return err;
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
	MDB_cursor *c;
	int rc = mdb_cursor_open(rd->txn, rd->s->dbi[DB_WENTRY], &c);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist entries");
	MDB_val k = {4, pfx}, v;
	int err = 0;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > 5 && memcmp(k.mv_data, pfx, 4) == 0) {
		const uint8_t *vp = v.mv_data;
		/* cheap filter on the state byte before decoding */
		if (v.mv_size > 1 && vp[1] == STORE_WATCH_LIVE) {
			err = entry_dec(rd, (const uint8_t *)k.mv_data + 4, k.mv_size - 4, &v);
			if (err == 0 && !due(&rd->e, rd->now))
				err = rd->cb(&rd->e, rd->ctx);
			if (err != 0)
				break;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = store_lmdb_err(rc, "watchlist entries");
	return err;
}

/* What changed after version since: the recorded changes in version
 * order, then the expiries due at now numbered after the stored version. */
static int read_delta(struct reader *rd, uint64_t stored, uint64_t since)
{
	uint8_t vk[12];
	util_be32_store(vk, rd->id);
	util_be64_store(vk + 4, since + 1);
	MDB_cursor *c;
	int rc = mdb_cursor_open(rd->txn, rd->s->dbi[DB_WVER], &c);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist versions");
	MDB_val k = {12, vk}, d;
	int err = 0;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == 12 && memcmp(k.mv_data, vk, 4) == 0) {
		err = entry_get(rd, d.mv_data, d.mv_size);
		/* a due expiry is reported below, under its own number */
		if (err == 0 && !due(&rd->e, rd->now))
			err = rd->cb(&rd->e, rd->ctx);
		if (err != 0)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (err != 0)
		return err;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_lmdb_err(rc, "watchlist versions");

	uint8_t tk[13];
	util_be32_store(tk, rd->id);
	tk[4] = 'E';
	memset(tk + 5, 0, 8);
	rc = mdb_cursor_open(rd->txn, rd->s->dbi[DB_WTIME], &c);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist expiries");
	MDB_val tkv = {13, tk}, tv;
	uint64_t n = stored;
	rc = mdb_cursor_get(c, &tkv, &tv, MDB_SET_RANGE);
	while (rc == 0 && tkv.mv_size > 14 && memcmp(tkv.mv_data, tk, 5) == 0) {
		const uint8_t *p = tkv.mv_data;
		int64_t t = (int64_t)util_be64_load(p + 5);
		if (t > rd->now)
			break;
		n++;
		if (n > since) {
			struct store_watch_entry *e = &rd->e;
			err = entry_get(rd, p + 13, tkv.mv_size - 13);
			if (err == 0) {
				e->state = STORE_WATCH_EXPIRED;
				e->removed = t;
				e->version = n;
				err = rd->cb(e, rd->ctx);
			}
			if (err != 0)
				break;
		}
		rc = mdb_cursor_get(c, &tkv, &tv, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = store_lmdb_err(rc, "watchlist expiries");
	return err;
}

int store_watch_read(store_t *s, const char *name, int64_t now, uint64_t since_version,
                     store_watch_entry_cb cb, void *ctx, struct store_watch_info *info, bool *full)
{
	if (s->no_watch)
		return STORE_ENOTFOUND;
	now = watch_now(now);
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	struct wl wl;
	err = wl_load(r->txn, s, name, &wl);
	if (err != 0) {
		store_read_end(r);
		return err;
	}
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
	err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	struct wl wl;
	err = wl_load(r->txn, s, name, &wl);
	if (err == 0)
		err = went_load(r->txn, s, wl.info.id, &ik, out);
	if (err == 0 && due(out, now)) {
		out->state = STORE_WATCH_EXPIRED;
		out->removed = out->expires;
	}
	store_read_end(r);
	return err;
}
