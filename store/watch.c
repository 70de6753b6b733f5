/*
 * watch.c - watchlists: the index-keeping entry writer, expiry and
 * tombstone bookkeeping, and the write operations (create/update, delete,
 * add, remove).  Codecs are in watch_codec.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/watch_internal.h"
#include "util/be.h"

int64_t watch_now(int64_t now)
{
	return now != 0 ? now : (int64_t)time(NULL);
}

static size_t time_key(uint32_t id, uint8_t cls, int64_t t, const struct wikey *ik, uint8_t *k)
{
	util_be32_store(k, id);
	k[4] = cls;
	util_be64_store(k + 5, (uint64_t)t);
	k[13] = ik->type;
	memcpy(k + 14, ik->k, ik->len);
	return 14 + ik->len;
}

static bool is_tomb(const struct store_watch_entry *e)
{
	return e->state == STORE_WATCH_REMOVED || e->state == STORE_WATCH_EXPIRED;
}

/* The index items of one entry: its wver version key and value (the
 * type + INDKEY, which is also its wind key) and its wind value (the
 * list id). */
struct went_idx {
	uint8_t vk[12], dv[1 + WIKEY_MAX], ib[4];
	size_t dlen;
};

static void went_idx_init(struct went_idx *x, uint32_t id, const struct wikey *ik)
{
	x->dv[0] = ik->type;
	memcpy(x->dv + 1, ik->k, ik->len);
	x->dlen = 1 + ik->len;
	util_be32_store(x->ib, id);
	util_be32_store(x->vk, id);
}

static void idx_op(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v, unsigned flags, bool del)
{
	if (del)
		w_del(w, db, k, v);
	else
		w_put(w, db, k, v, flags);
}

/* Put (del: drop) the index items and counts of the entry e. */
static void went_index(struct store_wtxn *w, struct wl *wl, const struct wikey *ik,
                       struct went_idx *x, const struct store_watch_entry *e, bool del)
{
	uint32_t id = wl->info.id;
	uint8_t tk[14 + WIKEY_MAX];
	util_be64_store(x->vk + 4, e->version);
	MDB_val k = {12, x->vk}, d = {x->dlen, x->dv};
	idx_op(w, DB_WVER, &k, &d, MDB_NODUPDATA, del);
	MDB_val empty = {0, NULL};
	if (e->state == STORE_WATCH_LIVE) {
		if (e->expires != 0) {
			MDB_val t = {time_key(id, 'E', e->expires, ik, tk), tk};
			idx_op(w, DB_WTIME, &t, del ? NULL : &empty, 0, del);
		}
		MDB_val ikk = {x->dlen, x->dv}, iv = {4, x->ib};
		idx_op(w, DB_WIND, &ikk, &iv, MDB_NODUPDATA, del);
		wl->live_total = del ? wl->live_total - 1 : wl->live_total + 1;
	} else if (del || is_tomb(e)) {
		MDB_val t = {time_key(id, 'T', e->removed, ik, tk), tk};
		idx_op(w, DB_WTIME, &t, del ? NULL : &empty, 0, del);
		wl->info.tombstones = del ? wl->info.tombstones - 1 : wl->info.tombstones + 1;
	}
}

/* Replace old (NULL: none) by e (NULL: delete) and keep every index and
 * counter in step. */
static void went_set(struct store_wtxn *w, struct wl *wl, const struct wikey *ik,
                     const struct store_watch_entry *old, const struct store_watch_entry *e)
{
	struct went_idx x;
	went_idx_init(&x, wl->info.id, ik);
	if (old != NULL)
		went_index(w, wl, ik, &x, old, true);
	uint8_t ek[5 + WIKEY_MAX];
	MDB_val ekv = {went_key(wl->info.id, ik, ek), ek};
	if (e == NULL) {
		w_del(w, DB_WENTRY, &ekv, NULL);
		return;
	}
	went_index(w, wl, ik, &x, e, false);
	uint8_t buf[ENTVAL_MAX];
	size_t n = went_enc(e, buf, sizeof(buf));
	if (n == 0 && w->err == 0)
		w->err = MDB_BAD_VALSIZE;
	MDB_val v = {n, buf};
	w_put(w, DB_WENTRY, &ekv, &v, 0);
}

/* The first wtime key of class cls with t <= limit, for list id. */
static bool time_first(MDB_txn *txn, store_t *s, uint32_t id, uint8_t cls, int64_t limit,
                       struct wikey *ik, int64_t *t)
{
	uint8_t k[14];
	util_be32_store(k, id);
	k[4] = cls;
	memset(k + 5, 0, 9);
	bool found = false;
	struct scan sc;
	SCAN_PREFIX(&sc, txn, s->dbi[DB_WTIME], k, 13, 5)
	{
		/* the first key only */
		const uint8_t *p = sc.k.mv_data;
		if (sc.k.mv_size <= 14 || sc.k.mv_size - 14 > WIKEY_MAX ||
		    (int64_t)util_be64_load(p + 5) > limit)
			break;
		*t = (int64_t)util_be64_load(p + 5);
		ik->type = p[13];
		ik->len = sc.k.mv_size - 14;
		memcpy(ik->k, p + 14, ik->len);
		found = true;
		break;
	}
	scan_end(&sc, 0, "watchlist times");
	return found;
}

uint64_t wl_due(MDB_txn *txn, store_t *s, uint32_t id, int64_t now)
{
	uint8_t k[13];
	util_be32_store(k, id);
	k[4] = 'E';
	memset(k + 5, 0, 8);
	uint64_t n = 0;
	struct scan sc;
	SCAN_PREFIX(&sc, txn, s->dbi[DB_WTIME], k, 13, 5)
	{
		if (sc.k.mv_size <= 14 ||
		    (int64_t)util_be64_load((const uint8_t *)sc.k.mv_data + 5) > now)
			break;
		n++;
	}
	scan_end(&sc, 0, "watchlist expiries");
	return n;
}

void wl_info_at(MDB_txn *txn, store_t *s, struct wl *wl, int64_t now)
{
	uint64_t due = wl_due(txn, s, wl->info.id, now);
	wl->info.expired_due = due;
	wl->info.version = wl->version + due;
	wl->info.live = wl->live_total - due;
	wl->info.tombstones += due;
}

void wl_settle(struct store_wtxn *w, struct wl *wl, int64_t now)
{
	struct wikey ik;
	int64_t t;
	struct store_watch_entry e, old;
	/* Expiries in (expiry, indicator) order: the numbering readers gave
	 * them (watch.h). */
	while (w->err == 0 && time_first(w->txn, w->s, wl->info.id, 'E', now, &ik, &t)) {
		if (went_load(w->txn, w->s, wl->info.id, &ik, &old) != 0) {
			w->err = MDB_CORRUPTED;
			return;
		}
		e = old;
		e.state = STORE_WATCH_EXPIRED;
		e.removed = t;
		e.version = ++wl->version;
		went_set(w, wl, &ik, &old, &e);
	}
	if (wl->info.set.tombstone_days == 0)
		return;
	int64_t cutoff = now - (int64_t)wl->info.set.tombstone_days * 86400;
	while (w->err == 0 && time_first(w->txn, w->s, wl->info.id, 'T', cutoff - 1, &ik, &t)) {
		if (went_load(w->txn, w->s, wl->info.id, &ik, &old) != 0) {
			w->err = MDB_CORRUPTED;
			return;
		}
		if (old.version > wl->info.delta_floor)
			wl->info.delta_floor = old.version;
		went_set(w, wl, &ik, &old, NULL);
	}
}

static void prov_copy(struct store_watch_prov *dst, const struct store_watch_prov *src)
{
	if (src == NULL) {
		memset(dst, 0, sizeof(*dst));
		return;
	}
	*dst = *src;
	if (dst->nhops > STORE_WATCH_HOPS_MAX)
		dst->nhops = STORE_WATCH_HOPS_MAX;
}

static void text_copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* A certificate given by its SHA-256 is kept under its SHA-1 when the store
 * knows it: that is what Zeek and Suricata match, and what sightings use. */
static void cert_alias(struct store_wtxn *w, struct wikey *ik)
{
	if (ik->type != STORE_WATCH_CERT || ik->len != 32)
		return;
	MDB_val k = {32, ik->k}, v;
	if (w_get(w, DB_ALIAS, &k, &v) == 0 && v.mv_size == 20) {
		memcpy(ik->k, v.mv_data, 20);
		ik->len = 20;
	}
}

/* e: the live entry old added again by it, as version ver. */
static void entry_refresh(struct store_watch_entry *e, const struct store_watch_entry *old,
                          const struct store_watch_item *it, unsigned gen, int64_t now,
                          uint64_t ver)
{
	*e = *old;
	if (old->expires != 0 && (it->expires == 0 || it->expires > old->expires))
		e->expires = it->expires;
	e->updated = now;
	e->version = ver;
	/* added again by a person or a pivot: expandable like theirs */
	if (gen < e->gen)
		e->gen = (uint8_t)gen;
	if (it->reason != NULL && *it->reason != '\0')
		text_copy(e->reason, sizeof(e->reason), it->reason);
	prov_copy(&e->prov_latest, it->prov);
	e->has_latest = true;
	if (e->prov_latest.at == 0)
		e->prov_latest.at = now;
	if (e->prov_latest.note[0] == '\0')
		text_copy(e->prov_latest.note, sizeof(e->prov_latest.note), it->source);
}

/* e: a new live entry for it, as version ver. */
static void entry_new(struct store_watch_entry *e, const struct store_watch_item *it, unsigned gen,
                      int64_t now, uint64_t ver)
{
	memset(e, 0, sizeof(*e));
	e->type = it->type;
	text_copy(e->indicator, sizeof(e->indicator), it->indicator);
	e->state = STORE_WATCH_LIVE;
	e->gen = (uint8_t)gen;
	e->added = now;
	e->updated = now;
	e->expires = it->expires;
	e->version = ver;
	text_copy(e->source, sizeof(e->source), it->source);
	text_copy(e->reason, sizeof(e->reason), it->reason);
	prov_copy(&e->prov_first, it->prov);
	if (e->prov_first.at == 0)
		e->prov_first.at = now;
	if (e->prov_first.note[0] == '\0')
		text_copy(e->prov_first.note, sizeof(e->prov_first.note), it->source);
}

int wl_add_one(struct store_wtxn *w, struct wl *wl, const struct store_watch_item *it, unsigned gen,
               int64_t now, uint64_t *opver)
{
	struct wikey ik;
	int err = wikey_enc(it->type, it->indicator, &ik);
	if (err != 0) {
		store_set_error("%s is not a valid %s", it->indicator,
		                store_watch_type_name(it->type));
		return err;
	}
	cert_alias(w, &ik);
	/* both buffers are large: keep them off the caller's frame */
	static _Thread_local struct store_watch_entry old, e;
	bool have = went_load(w->txn, w->s, wl->info.id, &ik, &old) == 0;
	if (w->err != 0)
		return STORE_ELMDB;
	if (*opver == 0)
		*opver = ++wl->version;
	if (have && old.state == STORE_WATCH_LIVE) {
		entry_refresh(&e, &old, it, gen, now, *opver);
		went_set(w, wl, &ik, &old, &e);
		return STORE_WATCH_REFRESHED;
	}
	if (wl->live_total >= STORE_WATCH_MAX_ENTRIES) {
		store_set_error("watchlist %s holds %d entries, its limit", wl->info.set.name,
		                STORE_WATCH_MAX_ENTRIES);
		return STORE_ELIMIT;
	}
	entry_new(&e, it, gen, now, *opver);
	went_set(w, wl, &ik, have ? &old : NULL, &e);
	return STORE_WATCH_ADDED;
}

/* ---- operations ---------------------------------------------------------- */

void store_watch_settings_init(struct store_watch_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->ttl_days = STORE_WATCH_DEFAULT_TTL_DAYS;
	set->tombstone_days = STORE_WATCH_DEFAULT_TOMB_DAYS;
	set->auto_max_gen = 1;
	set->max_ip_domains = STORE_NOISE_MAX_IP_DOMAINS;
	set->max_cert_ips = STORE_NOISE_MAX_CERT_IPS;
	set->max_domain_ips = STORE_NOISE_MAX_DOMAIN_IPS;
	set->max_san = STORE_NOISE_MAX_SAN;
}

static int settings_check(const struct store_watch_settings *set)
{
	if (!store_watch_name_ok(set->name)) {
		store_set_error("watchlist name must be 1-64 of A-Z a-z 0-9 . _ - (not "
		                "starting with a dot)");
		return STORE_EBADNAME;
	}
	if (set->ttl_days > 36500 || set->auto_ttl_days > 36500) {
		store_set_error("ttl_days must be 0-36500");
		return -EINVAL;
	}
	if (set->tombstone_days < 1 || set->tombstone_days > 3650) {
		store_set_error("tombstone_days must be 1-3650");
		return -EINVAL;
	}
	if (set->auto_edges & ~(unsigned)STORE_EDGE_ALL) {
		store_set_error("unknown edge type in auto_expand");
		return -EINVAL;
	}
	if (set->auto_max_gen < 1 || set->auto_max_gen > STORE_WATCH_MAX_GEN) {
		store_set_error("auto_expand generations must be 1-%d", STORE_WATCH_MAX_GEN);
		return -EINVAL;
	}
	if (strlen(set->description) >= STORE_WATCH_DESC_BUF) {
		store_set_error("description is longer than %d bytes", STORE_WATCH_DESC_BUF - 1);
		return STORE_ETOOLONG;
	}
	return 0;
}

struct put_ctx {
	const struct store_watch_settings *set;
	int64_t now;
	bool created;
};

static int put_fn(struct store_wtxn *w, void *vctx)
{
	struct put_ctx *c = vctx;
	struct wl wl;
	int err = wl_load(w->txn, w->s, c->set->name, &wl);
	if (err == 0) {
		c->created = false;
		wl_settle(w, &wl, c->now);
		wl.info.set = *c->set;
		wl.info.updated = c->now;
		wl.version++;
		wl_save(w, &wl);
		return 0;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	c->created = true;
	uint8_t nk[1 + STORE_WATCH_NAME_BUF];
	MDB_val kv = {5, (void *)"#next"}, v;
	uint32_t id = 1;
	if (w_get(w, DB_WLIST, &kv, &v) == 0 && v.mv_size == 4)
		id = util_be32_load(v.mv_data);
	if (id == 0 || id > STORE_WATCH_MAX_LISTS * 1024u) {
		store_set_error("out of watchlist ids");
		return STORE_ELIMIT;
	}
	MDB_stat ms;
	if (mdb_stat(w->txn, w->s->dbi[DB_WLIST], &ms) == 0 &&
	    ms.ms_entries / 2 >= STORE_WATCH_MAX_LISTS) {
		store_set_error("at most %d watchlists", STORE_WATCH_MAX_LISTS);
		return STORE_ELIMIT;
	}
	uint8_t nb[4];
	util_be32_store(nb, id + 1);
	MDB_val nv = {4, nb};
	w_put(w, DB_WLIST, &kv, &nv, 0);
	memset(&wl, 0, sizeof(wl));
	wl.info.set = *c->set;
	wl.info.id = id;
	wl.info.created = c->now;
	wl.info.updated = c->now;
	/* A list made again under a deleted one's name starts above every
	 * version the old one showed, so no sensor mistakes one for the other. */
	uint64_t start = 1;
	MDB_val dk = {wl_name_key('D', c->set->name, nk), nk};
	if (w_get(w, DB_WLIST, &dk, &v) == 0 && v.mv_size == 8) {
		uint64_t last;
		memcpy(&last, v.mv_data, 8);
		start = last + 1;
	}
	wl.version = start;
	wl.info.delta_floor = start;
	wl_save(w, &wl);
	uint8_t ik[5] = {'I'};
	util_be32_store(ik + 1, id);
	MDB_val ikv = {5, ik};
	MDB_val namev = {strlen(c->set->name), (void *)c->set->name};
	w_put(w, DB_WLIST, &ikv, &namev, 0);
	return 0;
}

int store_watch_put(store_t *s, const struct store_watch_settings *set, int64_t now, bool *created)
{
	int err = settings_check(set);
	if (err != 0)
		return err;
	struct put_ctx c = {set, watch_now(now), false};
	err = store_wtxn_run(s, put_fn, &c);
	if (err == 0 && created != NULL)
		*created = c.created;
	return err;
}

/* Delete every key of db starting with the 4-byte list id prefix. */
static void del_prefix(struct store_wtxn *w, int db, const uint8_t pfx[4])
{
	if (w->err != 0)
		return;
	struct scan sc;
	SCAN_DRAIN(&sc, w->txn, w->s->dbi[db], pfx, 4, 4)
	{
		sc.rc = mdb_cursor_del(sc.cur, db == DB_WVER ? MDB_NODUPDATA : 0);
		if (sc.rc != 0)
			break;
	}
	w_scan_end(w, &sc);
}

struct del_ctx {
	const char *name;
};

static int delete_fn(struct store_wtxn *w, void *vctx)
{
	struct del_ctx *c = vctx;
	struct wl wl;
	int err = wl_load(w->txn, w->s, c->name, &wl);
	if (err != 0)
		return err;
	uint8_t pfx[4];
	util_be32_store(pfx, wl.info.id);
	/* the reverse index first, from the live entries */
	struct scan sc;
	SCAN_PREFIX(&sc, w->txn, w->s->dbi[DB_WENTRY], pfx, 4, 4)
	{
		const uint8_t *kp = sc.k.mv_data;
		if (sc.k.mv_size <= 5)
			break;
		if (sc.v.mv_size > 1 && ((const uint8_t *)sc.v.mv_data)[1] == STORE_WATCH_LIVE) {
			MDB_val ikk = {sc.k.mv_size - 4, (void *)(kp + 4)};
			MDB_val idv = {4, pfx};
			w_del(w, DB_WIND, &ikk, &idv);
		}
	}
	err = scan_end(&sc, 0, "watchlist delete");
	if (err != 0)
		return err;
	del_prefix(w, DB_WENTRY, pfx);
	del_prefix(w, DB_WVER, pfx);
	del_prefix(w, DB_WTIME, pfx);
	uint8_t nk[1 + STORE_WATCH_NAME_BUF];
	MDB_val kv = {wl_name_key('N', c->name, nk), nk};
	w_del(w, DB_WLIST, &kv, NULL);
	uint8_t ik[5] = {'I'};
	util_be32_store(ik + 1, wl.info.id);
	MDB_val ikv = {5, ik};
	w_del(w, DB_WLIST, &ikv, NULL);
	/* every version the list could have shown: the stored one plus one
	 * per expiry not yet recorded (at most one per live entry) */
	uint64_t last = wl.version + wl.live_total;
	MDB_val dk = {wl_name_key('D', c->name, nk), nk};
	MDB_val dv = {8, &last};
	w_put(w, DB_WLIST, &dk, &dv, 0);
	return 0;
}

int store_watch_delete(store_t *s, const char *name)
{
	struct del_ctx c = {name};
	return store_wtxn_run(s, delete_fn, &c);
}

struct add_ctx {
	const char *name;
	const struct store_watch_item *items;
	size_t n;
	int64_t now;
	int *results;
	uint64_t version;
	bool remove;
};

static int remove_one(struct store_wtxn *w, struct wl *wl, const struct store_watch_item *it,
                      int64_t now, uint64_t *opver)
{
	struct wikey ik;
	int err = wikey_enc(it->type, it->indicator, &ik);
	if (err != 0)
		return err;
	cert_alias(w, &ik);
	static _Thread_local struct store_watch_entry old, e;
	if (went_load(w->txn, w->s, wl->info.id, &ik, &old) != 0 || old.state != STORE_WATCH_LIVE)
		return STORE_WATCH_ABSENT;
	if (*opver == 0)
		*opver = ++wl->version;
	e = old;
	e.state = STORE_WATCH_REMOVED;
	e.removed = now;
	e.updated = now;
	e.version = *opver;
	went_set(w, wl, &ik, &old, &e);
	return STORE_WATCH_REMOVED_OK;
}

static int add_fn(struct store_wtxn *w, void *vctx)
{
	struct add_ctx *c = vctx;
	struct wl wl;
	int err = wl_load(w->txn, w->s, c->name, &wl);
	if (err != 0)
		return err;
	wl_settle(w, &wl, c->now);
	uint64_t opver = 0;
	for (size_t i = 0; i < c->n && w->err == 0; i++) {
		int r = c->remove ? remove_one(w, &wl, &c->items[i], c->now, &opver)
		                  : wl_add_one(w, &wl, &c->items[i], 0, c->now, &opver);
		if (r < 0)
			return r;
		if (c->results != NULL)
			c->results[i] = r;
	}
	if (opver != 0)
		wl.info.updated = c->now;
	wl_save(w, &wl);
	c->version = wl.version;
	return 0;
}

static int add_or_remove(store_t *s, const char *name, const struct store_watch_item *items,
                         size_t n, int64_t now, int *results, uint64_t *version, bool remove)
{
	if (s->no_watch)
		return STORE_ENOTFOUND;
	struct add_ctx c = {name, items, n, watch_now(now), results, 0, remove};
	int err = store_wtxn_run(s, add_fn, &c);
	if (err == 0 && version != NULL)
		*version = c.version;
	return err;
}

int store_watch_add(store_t *s, const char *name, const struct store_watch_item *items, size_t n,
                    int64_t now, int *results, uint64_t *version)
{
	return add_or_remove(s, name, items, n, now, results, version, false);
}

int store_watch_remove(store_t *s, const char *name, const struct store_watch_item *items, size_t n,
                       int64_t now, int *results, uint64_t *version)
{
	return add_or_remove(s, name, items, n, now, results, version, true);
}
