/*
 * watch_internal.h - shared by store/watch*.c only: the list record, key
 * builders, the entry codec and the index-keeping entry writer.
 */
#ifndef INFRAPIVOT_STORE_WATCH_INTERNAL_H
#define INFRAPIVOT_STORE_WATCH_INTERNAL_H

#include "store/store_internal.h"
#include "store/watch.h"

/* INDKEY of an indicator: up to a NAMEKEY (255 bytes + terminator). */
#define WIKEY_MAX SCHEMA_NAMEKEY_MAX

struct wikey {
	uint8_t type;
	uint8_t k[WIKEY_MAX];
	size_t len;
};

/* The list record (WLVAL) decoded. */
struct wl {
	struct store_watch_info info; /* set, id, created, updated, counters */
	uint64_t version;             /* stored version */
	uint64_t live_total;          /* live incl. expiries not yet recorded */
};

/* Indicator text (normalised) <-> INDKEY.  enc returns 0 or a store error. */
int wikey_enc(unsigned type, const char *text, struct wikey *out);
int wikey_dec(unsigned type, const uint8_t *k, size_t len, char *text);

/* Keys: wlist 'N'/'I'/'D' + name, and wentry id + type + INDKEY.  Return
 * the key length. */
size_t wl_name_key(uint8_t cls, const char *name, uint8_t *k);
size_t went_key(uint32_t id, const struct wikey *ik, uint8_t *k);
/* ENTVAL of e into buf; 0 when it does not fit. */
size_t went_enc(const struct store_watch_entry *e, uint8_t *buf, size_t cap);
#define ENTVAL_MAX 16384

/* Load a list by name or id from any transaction.  0 or STORE_ENOTFOUND. */
int wl_load(MDB_txn *txn, store_t *s, const char *name, struct wl *out);
int wl_load_id(MDB_txn *txn, store_t *s, uint32_t id, struct wl *out);
void wl_save(struct store_wtxn *w, const struct wl *wl);

/* Load one entry (any state, as stored).  0 or STORE_ENOTFOUND. */
int went_load(MDB_txn *txn, store_t *s, uint32_t id, const struct wikey *ik,
              struct store_watch_entry *e);
/* Decode an ENTVAL (indicator and type are the caller's). */
int went_dec(const uint8_t *p, size_t n, struct store_watch_entry *e);

/* Count the expiries due at now (wtime 'E' keys with t <= now). */
uint64_t wl_due(MDB_txn *txn, store_t *s, uint32_t id, int64_t now);

/* Fill the derived counters of wl->info for now (version, live, due). */
void wl_info_at(MDB_txn *txn, store_t *s, struct wl *wl, int64_t now);

/* Begin a change of a list inside a write transaction: record the
 * expiries due at now as tombstones (each its own version) and prune the
 * tombstones past their keeping time. */
void wl_settle(struct store_wtxn *w, struct wl *wl, int64_t now);

/* Add one item to a settled list; *opver is 0 until this operation took
 * a version.  Returns a store_watch_result or a store error. */
int wl_add_one(struct store_wtxn *w, struct wl *wl, const struct store_watch_item *it, unsigned gen,
               int64_t now, uint64_t *opver);

/* The clock, unless now is set. */
int64_t watch_now(int64_t now);

#endif
