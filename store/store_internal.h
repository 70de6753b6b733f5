/*
 * store_internal.h - shared by the store's .c files only.
 */
#ifndef INFRAPIVOT_STORE_INTERNAL_H
#define INFRAPIVOT_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "store/schema.h"
#include "store/store.h"

enum {
	DB_META,
	DB_RR,
	DB_ADDR,
	DB_TARGET,
	DB_SIGHT,
	DB_IPCERT,
	DB_CERT,
	DB_NAMECERT,
	DB_ALIAS,
	DB_PREV,
	/* watchlists (watch.h); optional when opening read-only, so a
	 * database written before them still opens */
	DB_WLIST,
	DB_WENTRY,
	DB_WVER,
	DB_WTIME,
	DB_WIND,
	DB_CLIENT, /* client sightings (client.h); optional read-only too */
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
	bool no_watch;       /* read-only open of a database without the w* tables */
	bool no_client;      /* read-only open of a database without the client table */
	char datafile[4096]; /* realpath of data.mdb, for store_drop_mapped */
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
	unsigned long ops;
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
/* Begin a transaction holding the grow lock shared (MAP_RESIZED and
 * READERS_FULL handled); the caller unlocks after commit/abort. */
int store_txn_begin_locked(store_t *s, unsigned flags, MDB_txn **txn);
/* Double the map; no transaction of this process may be open. */
int store_grow_map(store_t *s);
/* Drop the map's pages from this process's page tables. */
void store_drop_mapped(store_t *s);

/* True when some watchlist watches an indicator (the write hook has work). */
bool store_watch_active(struct store_wtxn *w);

/* Map an LMDB error to a store error, remember the message. */
int store_lmdb_err(int rc, const char *what);
void store_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* A DNS observation inside a store_batch (8-byte aligned in its arena). */
struct brec {
	uint64_t count;
	uint32_t tf, tl;
	uint32_t seq;      /* arrival order: merges happen in it */
	uint16_t klen, nk; /* rr key length, NAMEKEY prefix length */
	uint8_t sensor;    /* 1 + index in the batch's sensor table; 0 = none */
	uint8_t bail_len;  /* bailiwick NAMEKEY follows the key */
	uint8_t key[];
};

/* A certificate observation inside a store_batch: what a sighting needs
 * (a store_obs and a store_cert_meta are ~5 KiB; most sightings carry
 * hashes only), with the SNI name in the batch arena. */
struct bcert {
	uint32_t seq;
	uint32_t sni_off; /* arena offset of sni_len bytes */
	uint64_t count;
	int64_t tf, tl;
	uint8_t ip[16];
	uint16_t port;
	uint8_t sni_len;
	uint8_t sensor; /* as in struct brec */
	bool sighting, has_meta;
	bool has_sha1, has_sha256; /* hashes below, when full is NULL */
	uint8_t sha1[20], sha256[32];
	struct store_cert_meta *full; /* owned copy when it carries metadata */
};

#define BATCH_SENSORS 255
struct store_batch {
	uint8_t *arena;
	size_t alen, acap;
	uint32_t *recs; /* offsets of brec in arena */
	size_t nrecs, caprecs;
	struct bcert *certs;
	size_t ncerts, capcerts;
	char sensors[BATCH_SENSORS][STORE_SENSOR_MAX];
	unsigned nsensors, last_sensor;
	struct bclient_set *clients; /* client sightings (client.c), NULL until one */
	struct store_meta_put meta[8];
	void *meta_mem[16];
	size_t nmeta;
	uint32_t seq;
};

/* 1 + index of a sensor in the batch's table; 0 for none; -1 when full. */
int batch_sensor_slot(store_batch_t *b, const char *name);

/* Client sightings of a batch (client.c). */
int client_batch_add(store_batch_t *b, const struct store_obs *o);
size_t client_batch_len(const store_batch_t *b);
void client_batch_truncate(store_batch_t *b, size_t n);
void client_batch_free(store_batch_t *b);
/* Merge the client sightings of nb batches, in time order per pair. */
int client_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb);

/* Merge every DNS record of a batch (sorted, repeats aggregated). */
int rr_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb);

/* Transaction size.  A transaction's dirty pages are malloc'd copies,
 * and LMDB keeps the most it ever had for the life of the environment:
 * keep them near 80 MiB, which with the batches and the mapped pages
 * rss_check() allows keeps an ingest's peak RSS well under 200 MiB.
 * BATCH_PER_RECORD: distinct pages a new record dirties in a large tree
 * (a leaf in rr, addr and prev, their share of branches, LMDB's free
 * list). */
#define BATCH_MAX_DIRTY ((80.0 * 1024 * 1024) / 4096)
#define BATCH_PER_RECORD 6.0
#define BATCH_MAX_RECORDS 100000
/* Observations a transaction should take when the indexes hold `pages`
 * pages (store_batch_budget). */
size_t batch_budget_for_pages(uint64_t pages);
/* Build the rr key of a DNS observation; returns key length or <0;
 * *nk receives the NAMEKEY length. */
int rr_key(const struct store_obs *o, uint8_t *key, uint16_t *nk);
/* The observation a DNS record stands for (for write hooks). */
void rr_rec_obs(const struct store_batch *b, const struct brec *r, struct store_obs *o);
/* Rebuild a certificate observation of a batch; o->cert.meta points at
 * the record's own metadata or, for a hashes-only record, at scratch. */
void batch_cert_obs(const struct store_batch *b, const struct bcert *c, struct store_obs *o,
                    struct store_cert_meta *scratch);
int cert_put(struct store_wtxn *w, const struct store_obs *o);

/* LEB128 varints for values. */
static inline uint8_t *varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}
static inline int varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

static inline void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline uint16_t rd_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
