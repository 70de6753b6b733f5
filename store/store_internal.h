/*
 * store_internal.h - shared by the store's .c files only.
 */
#ifndef INFRAPIVOT_STORE_INTERNAL_H
#define INFRAPIVOT_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "schema.h"
#include "store.h"

enum {
	DB_META, DB_RR, DB_ADDR, DB_TARGET, DB_SIGHT, DB_IPCERT, DB_CERT,
	DB_NAMECERT, DB_ALIAS, DB_PREV,
	/* watchlists (watch.h); optional when opening read-only, so a
	 * database written before them still opens */
	DB_WLIST, DB_WENTRY, DB_WVER, DB_WTIME, DB_WIND,
	DB_COUNT
};
#define DB_FIRST_OPTIONAL DB_WLIST

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	unsigned flags;
	/* readers and writers hold it shared; growing the map holds it
	 * exclusive (mdb_env_set_mapsize needs no open txn in the process) */
	pthread_rwlock_t grow_lock;
	store_write_hook hook;
	void *hook_ctx;
	bool no_watch; /* read-only open of a database without the w* tables */
};

struct store_rtxn {
	store_t *s;
	MDB_txn *txn;
	bool own; /* false when borrowed from a write transaction */
};

/* A write transaction with a sticky error (Knot's knot_lmdb_txn_t). */
struct sensor_cache_ent {
	char name[STORE_SENSOR_MAX];
	uint16_t id;
};
struct store_wtxn {
	store_t *s;
	MDB_txn *txn;
	int err; /* first failure; later operations are no-ops */
	struct store_rtxn reader;
	struct store_write_stats *st;
	struct sensor_cache_ent sc[32];
	unsigned nsc;
};

/* Run fn inside one write transaction and commit it.  fn returns <0 to
 * abort with that error; LMDB failures go through w->err.  On a full map
 * the map grows and fn runs again from the start, so fn must set its
 * outputs afresh each time. */
int store_wtxn_run(store_t *s, int (*fn)(struct store_wtxn *w, void *ctx), void *ctx);

/* Map an LMDB error to a store error, remember the message. */
int store_lmdb_err(int rc, const char *what);
void store_set_error(const char *fmt, ...);

/* Sticky-error wrappers: no-ops once w->err is set. */
void w_put(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v, unsigned flags);
int w_get(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v); /* 0/ENOTFOUND */
void w_del(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v);

/* NAMEKEY codec.  Returns key length or <0. */
int namekey_enc(const char *name, uint8_t *out);
/* Decode a NAMEKEY prefix of buf; returns bytes consumed or <0. */
int namekey_dec(const uint8_t *buf, size_t len, char *name);

void certref_enc(const struct store_cert_ref *ref, uint8_t out[SCHEMA_CERTREF_LEN]);
void certref_dec(const uint8_t in[SCHEMA_CERTREF_LEN], struct store_cert_ref *ref);

/* Sensor id for a name within the write txn (allocating a new one). */
int sensor_id(struct store_wtxn *w, const char *name, uint16_t *id);
/* Sensor name for an id within a read txn ("?" when unknown). */
const char *sensor_name(MDB_txn *txn, store_t *s, uint16_t id);

/* Merge a sensor id into a kept list (max STORE_SENSORS_KEPT). */
void sensors_merge(uint16_t *ids, unsigned *n, unsigned *more, uint16_t id);

/* Merge every DNS observation of a batch (sorted, repeats aggregated). */
int rr_put_batch(struct store_wtxn *w, const struct store_obs *obs, size_t n);
int cert_put(struct store_wtxn *w, const struct store_obs *o);

static inline void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint16_t rd_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#endif
