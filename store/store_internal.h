/*
 * store_internal.h - shared by the store's .c files only.
 */
#ifndef INFRAPIVOT_STORE_INTERNAL_H
#define INFRAPIVOT_STORE_INTERNAL_H

#include <lmdb.h>
#include <math.h>
#include <pthread.h>

#include "store/schema.h"
#include "store/store.h"
#include "util/be.h"

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
	DB_FWD,    /* forward name index (fwd.c); optional read-only too */
	/* keys, subjects, issuer+serial and fingerprints (keys.c, fp.c);
	 * optional read-only too */
	DB_CERTKEY,
	DB_KEYCERT,
	DB_SUBJCERT,
	DB_SERIALCERT,
	DB_FPSIGHT,
	DB_IPFP,
	DB_COUNT
};
#define DB_FIRST_OPTIONAL DB_WLIST
#define DB_FIRST_KEYS DB_CERTKEY

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
	bool no_keys;        /* ... without the key and fingerprint tables */
	bool no_fwd;         /* read-only open of a database without the fwd table */
	char datafile[4096]; /* realpath of data.mdb, for store_drop_mapped */
	/* client.c's sort space, used inside a write transaction only */
	void *client_sort;
	size_t client_sort_cap; /* in sightings */
	/* A ClickHouse store (ch_dispatch.c): the data plane is there, this
	 * LMDB environment holds the control plane only.  NULL for LMDB. */
	struct store_ch *ch;
	char *ch_url;            /* its address, for a read session's own handle */
	pthread_mutex_t ch_lock; /* one writer on ch at a time */
	size_t ch_insert_memory; /* a write's INSERT bodies together; 0: default */
	/* the last answer of a read session's probe for rows under SHA-256
	 * references, given to the next sessions while recent
	 * (ch_dispatch.c, s256_give) */
	pthread_mutex_t ch_memo_lock;
	int ch_s256;         /* 0 none, 1 some, -1 none kept */
	uint64_t ch_s256_ms; /* when its session began (CLOCK_MONOTONIC) */
	uint64_t ch_wgen;    /* writes through this store_t, counted */
	uint64_t ch_keep_ms; /* INFRAPIVOT_CH_PROBE_KEEP_MS */
};

struct store_rtxn {
	store_t *s;
	MDB_txn *txn;
	bool own;            /* false when borrowed from a write transaction */
	struct store_ch *ch; /* a ClickHouse store's session (own handle); else NULL */
	uint64_t ch_t0;      /* when it began (CLOCK_MONOTONIC, ms) */
	uint64_t ch_wgen;    /* s->ch_wgen then */
	bool ch_given;       /* it took the kept probe answer */
};

/* A data-plane call `what` that the ClickHouse store does not implement
 * yet: STORE_ENOTSUP ("not supported on the ClickHouse store yet") with
 * what in store_last_error(). */
int store_ch_unsupported(const char *what);
/* Fail a call on a ClickHouse store (s a store_t *) that has no
 * ClickHouse implementation yet; on LMDB, go on. */
#define STORE_LMDB_ONLY(s, what)                                                                   \
	do {                                                                                       \
		if ((s)->ch != NULL)                                                               \
			return store_ch_unsupported(what);                                         \
	} while (0)
/* On a ClickHouse store, answer a read (r a store_rtxn_t *) with the
 * ClickHouse reader fn (store/ch.h), called with the read session's handle
 * and the remaining arguments; on LMDB, go on. */
#define STORE_CH_READ(r, fn, ...)                                                                  \
	do {                                                                                       \
		if ((r)->s->ch != NULL) {                                                          \
			struct store_ch *ch_;                                                      \
			int err_ = store_ch_session((r), &ch_);                                    \
			return err_ != 0 ? err_ : fn(ch_, __VA_ARGS__);                            \
		}                                                                                  \
	} while (0)
/* The ClickHouse side of the write path (ch_dispatch.c).  Batches that
 * hold meta records only (the control plane) are written to the local
 * LMDB: store_ch_control_only tells them. */
bool store_ch_control_only(store_batch_t *const *bs, size_t nb);
int store_ch_write_batches(store_t *s, store_batch_t *const *bs, size_t nb,
                           struct store_write_stats *st);
/* Send the DNS and certificate records of the batches to the cluster
 * (s->ch_lock held), under random tokens when seed is 0, else under the
 * seed's tokens (ch_intent_token), so that the same batches give the same
 * bytes. */
int ch_write_rows(store_t *s, store_batch_t *const *bs, size_t nb, uint64_t seed,
                  struct store_write_stats *st);
/* The three-step commit of batches with meta records (ch_intent.c): the
 * INSERTs, under tokens derived from the meta records, recorded in the
 * control LMDB as an intent; sent; then the meta records committed and the
 * intent deleted in one transaction.  s->ch_lock held. */
int ch_intent_write(store_t *s, store_batch_t *const *bs, size_t nb, struct store_write_stats *st);
/* The n-th token of seed (never 0). */
uint64_t ch_intent_token(uint64_t seed, uint64_t n);
/* Send again every intent a crash left in the control LMDB and commit its
 * meta records (at open, writable). */
int ch_intent_replay(store_t *s);
/* Open and close a read session's handle on a ClickHouse store;
 * store_ch_session hands it out (STORE_ENOTSUP for the reader a write
 * transaction lends, which has none). */
int store_ch_read_begin(store_rtxn_t *r);
void store_ch_read_end(store_rtxn_t *r);
int store_ch_session(store_rtxn_t *r, struct store_ch **c);
/* After a write through s: the kept probe answer forgotten, and the
 * sessions begun before it keep none of theirs (ch_dispatch.c). */
void store_ch_wrote(store_t *s);
/* Close a ClickHouse store's handle (store_close). */
void store_ch_detach(store_t *s);

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

typedef int (*store_wtxn_fn)(struct store_wtxn *w, void *ctx);

/* The write path's one retry loop.  Run fn inside one write transaction
 * and commit it.  fn returns <0 to abort with that error; LMDB failures go
 * through w->err.  On MDB_MAP_FULL (from fn's writes or the commit) the
 * transaction is aborted, the map grows while no transaction is open and
 * fn runs again from the start, so fn must set its outputs afresh each
 * time.  MDB_MAP_RESIZED and MDB_READERS_FULL are handled when the
 * transaction begins (store_txn_begin_locked).  When st is not NULL it
 * receives the counters of the attempt that committed, and in st->retries
 * the number of map growths.  `what` names the operation in an error
 * message.  Returns 0 or a store error. */
int store_wtxn_retry(store_t *s, store_wtxn_fn fn, void *ctx, struct store_write_stats *st,
                     const char *what);
/* store_wtxn_retry without counters ("write"). */
int store_wtxn_run(store_t *s, store_wtxn_fn fn, void *ctx);
/* Begin a transaction holding the grow lock shared (MAP_RESIZED and
 * READERS_FULL handled); the caller unlocks after commit/abort. */
int store_txn_begin_locked(store_t *s, unsigned flags, MDB_txn **txn);
/* Double the map; no transaction of this process may be open. */
int store_grow_map(store_t *s);
/* Drop the map's pages from this process's page tables. */
void store_drop_mapped(store_t *s);
/* Pages (leaf and branch) of the n tables dbs as txn has them. */
double store_tree_pages(const store_t *s, MDB_txn *txn, const int *dbs, size_t n);
/* Distinct pages of a P-page tree that t touches at random dirty:
 * P (1 - e^(-t/P)); the slices' estimates (rr.c, batch.c). */
static inline double store_touched_pages(double P, double t)
{
	return P > 0 ? P * (1 - exp(-t / P)) : 0;
}
/* Bytes of new pages a new record makes over its tables (rr, addr, fwd,
 * prev; a measured 120-350 B each as ingest leaves them), and a new
 * certificate sighting over its own. */
#define FLUSH_NEW_BYTES 384.0

/* Bytes the calling thread has passed to write(2) and its kind so far
 * (/proc/thread-self/io wchar; 0 where that cannot be read): the
 * difference over a commit is the pages it wrote. */
uint64_t store_thread_wchar(void);

/* True when some watchlist watches an indicator (the write hook has work). */
bool store_watch_active(struct store_wtxn *w);

/* Map an LMDB error to a store error, remember the message. */
int store_lmdb_err(int rc, const char *what);
void store_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sticky-error wrappers: no-ops once w->err is set. */
void w_put(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v, unsigned flags);
int w_get(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v); /* 0/ENOTFOUND */
void w_del(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v);

/*
 * Cursor scans: every walk over a table goes through one iterator, so the
 * cursor is closed and MDB_NOTFOUND is told from a real failure in one
 * place (scan_end).  Use:
 *
 *	struct scan sc;
 *	int ret = 0;
 *	SCAN_PREFIX(&sc, txn, dbi, pfx, plen, plen)
 *	{
 *		... sc.k, sc.v: the current key and value (LMDB memory) ...
 *		if (done)
 *			break;            (stop early: not an error)
 *		ret = work();
 *		if (ret != 0)
 *			break;            (the body's error: scan_end returns it)
 *	}
 *	return scan_end(&sc, ret, "walk");
 *
 * The body must leave by `break`, never `return` or `goto` (the cursor
 * would stay open).  Kinds of scan:
 *
 *   SCAN_PREFIX  from the first key >= key (MDB_SET_RANGE) forwards, while
 *                the key starts with the first plen bytes of key; plen 0
 *                runs to the end of the table (the body stops a range
 *                scan at its upper bound).
 *   SCAN_DUPS    the duplicates of key in a DUPSORT table (MDB_SET_KEY,
 *                MDB_NEXT_DUP).
 *   SCAN_ALL     every item in key order (MDB_FIRST, MDB_NEXT).
 *   SCAN_DRAIN   like SCAN_PREFIX, but each step seeks key again: for a
 *                body that deletes the current item (mdb_cursor_del on
 *                sc.cur).
 *   SCAN_FOREACH any first and next cursor operation (MDB_PREV for a
 *                reverse walk, MDB_GET_BOTH for a probe: set sc.v to the
 *                value sought before).
 *
 * A scan whose cursor cannot be opened runs no body and scan_end reports
 * the failure.
 */
struct scan {
	MDB_cursor *cur; /* NULL when it could not be opened */
	MDB_val k, v;    /* the current item */
	MDB_val start;   /* the key the scan began at (caller's memory) */
	size_t plen;     /* stay within keys starting with start's first plen bytes */
	MDB_cursor_op next;
	int rc; /* LMDB result of the last step: 0 while on an item */
};

void scan_begin(struct scan *sc, MDB_txn *txn, MDB_dbi dbi, MDB_cursor_op first, MDB_cursor_op next,
                const void *key, size_t klen, size_t plen);
/* True while the scan stands on an item within its prefix. */
bool scan_ok(const struct scan *sc);
void scan_next(struct scan *sc);
/* Close the cursor.  Returns ret when it is not 0 (the body's result),
 * else 0 when the scan ran out (end of table, of the prefix or of the
 * duplicates, or a break) and the LMDB failure as a store error (`what`
 * names it in the message).  sc->rc keeps LMDB's code. */
int scan_end(struct scan *sc, int ret, const char *what);

/* scan_end for a scan inside a write transaction: an LMDB failure
 * becomes the transaction's sticky error. */
void w_scan_end(struct store_wtxn *w, struct scan *sc);

#define SCAN_FOREACH(sc, txn, dbi, first, next, key, klen, plen)                                   \
	for (scan_begin((sc), (txn), (dbi), (first), (next), (key), (klen), (plen)); scan_ok(sc);  \
	     scan_next(sc))
#define SCAN_PREFIX(sc, txn, dbi, key, klen, plen)                                                 \
	SCAN_FOREACH(sc, txn, dbi, MDB_SET_RANGE, MDB_NEXT, key, klen, plen)
#define SCAN_DUPS(sc, txn, dbi, key, klen)                                                         \
	SCAN_FOREACH(sc, txn, dbi, MDB_SET_KEY, MDB_NEXT_DUP, key, klen, 0)
#define SCAN_ALL(sc, txn, dbi) SCAN_FOREACH(sc, txn, dbi, MDB_FIRST, MDB_NEXT, NULL, 0, 0)
#define SCAN_DRAIN(sc, txn, dbi, key, klen, plen)                                                  \
	SCAN_FOREACH(sc, txn, dbi, MDB_SET_RANGE, MDB_SET_RANGE, key, klen, plen)

/* An item of an IP-keyed index (addr, ipcert) handed on by
 * walk_addr_index; ctx is the caller's. */
typedef int (*addr_item_fn)(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *ctx);
/* Walk an IP-keyed index over the addresses of the CIDR addr/plen in
 * address order, handing each item to fn.  fn's STORE_STOP ends the walk
 * without error, another non-zero result ends it with that error. */
int walk_addr_index(store_rtxn_t *r, int db, const uint8_t addr[16], unsigned plen, addr_item_fn fn,
                    void *ctx);

/* Walk the items of table db whose key starts with the plen bytes of pfx
 * and goes on past them with a label (a byte other than the 0x00 ending a
 * NAMEKEY or FWDKEY): the names under a name, not the name itself.  fn as
 * for walk_addr_index. */
int walk_under(store_rtxn_t *r, int db, const uint8_t *pfx, size_t plen, addr_item_fn fn,
               void *ctx);

/* A read walk's result: a callback's STORE_STOP ends it without error. */
static inline int walk_done(int err)
{
	return err == STORE_STOP ? 0 : err;
}

/* The forward name index (fwd.c).  FWDKEY(n): the labels of n in their
 * own order, each followed by 0x00, then one more 0x00; its items are
 * FWDKEY -> u8 kind (FWD_OWNER: a name that owns records, FWD_TARGET: a
 * name that rdata points at). */
enum { FWD_OWNER = 'O', FWD_TARGET = 'T' };
/* FWDKEY of a name into out (SCHEMA_NAMEKEY_MAX bytes); length or <0. */
int fwdkey_enc(const char *name, uint8_t *out);
/* Call fn with every name of the given kind whose leftmost labels are
 * head's (head.*), in FWDKEY order.  fn's STORE_STOP ends the walk
 * without error; another non-zero result ends it with that error. */
typedef int (*fwd_name_fn)(store_rtxn_t *r, const char *name, void *ctx);
int fwd_walk(store_rtxn_t *r, const char *head, uint8_t kind, fwd_name_fn fn, void *ctx);

/* NAMEKEY codec.  Returns key length or <0. */
int namekey_enc(const char *name, uint8_t *out);
/* Decode a NAMEKEY prefix of buf; returns bytes consumed or <0. */
int namekey_dec(const uint8_t *buf, size_t len, char *name);

void certref_enc(const struct store_cert_ref *ref, uint8_t out[SCHEMA_CERTREF_LEN]);
void certref_dec(const uint8_t in[SCHEMA_CERTREF_LEN], struct store_cert_ref *ref);
/* A sight table item k/v as a store_sighting to cb (migrate's walk). */
int sight_emit(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, store_sight_cb cb, void *ctx);

/* Sensor id for a name within the write txn (allocating a new one). */
int sensor_id(struct store_wtxn *w, const char *name, uint16_t *id);
/* Sensor name for an id within a read txn ("?" when unknown). */
const char *sensor_name(MDB_txn *txn, store_t *s, uint16_t id);

/* Merge a sensor id into a kept list (max STORE_SENSORS_KEPT). */
void sensors_merge(uint16_t *ids, unsigned *n, unsigned *more, uint16_t id);

/* A time as the u32 seconds DNS records and sightings keep. */
static inline uint32_t clamp_time(int64_t t)
{
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* Merge a sighting seen from tf to tl count times into a record's
 * first and last times and count (saturating). */
static inline void seen_merge(uint32_t *first, uint32_t *last, uint64_t *count, uint32_t tf,
                              uint32_t tl, uint64_t n)
{
	if (tf < *first)
		*first = tf;
	if (tl > *last)
		*last = tl;
	*count = *count + n < *count ? UINT64_MAX : *count + n;
}

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
	bool has_key;
	uint8_t key[32];
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
	struct bfp *fps;             /* fingerprint sightings (fp.c) */
	size_t nfps, capfps;
	struct store_meta_put meta[8];
	void *meta_mem[16];
	size_t nmeta;
	uint32_t seq;
	/* the merge table's index of its DNS records (merge.c): 1 + index
	 * in recs, 0 empty; NULL until store_batch_absorb */
	uint32_t *htab;
	size_t hcap;
	uint64_t absorbed; /* DNS observations merged into a record of it */
};

/* Room for a record of need bytes (8-aligned) at the end of the arena,
 * listed in recs.  Returns 0, -ENOMEM or STORE_ELIMIT. */
int batch_rec_new(store_batch_t *b, size_t need, struct brec **out);
int batch_arena_reserve(store_batch_t *b, size_t need);
/* Forget the merge table's index (merge.c; store_batch_reset). */
void merge_reset(store_batch_t *b);

/* 1 + index of a sensor in the batch's table; 0 for none; -1 when full. */
int batch_sensor_slot(store_batch_t *b, const char *name);

/* Client sightings of a batch (client.c). */
int client_batch_add(store_batch_t *b, const struct store_obs *o);
size_t client_batch_len(const store_batch_t *b);
void client_batch_truncate(store_batch_t *b, size_t n);
void client_batch_free(store_batch_t *b);
/* Merge the client sightings of nb batches, in time order per pair. */
int client_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb);
/* The sightings of the batches grouped by pair (dest, client, sensor id
 * from sid, source), each pair's in time order: fn gets each pair with
 * its LMDB key (dlen bytes of dtype and NAMEKEY or IP, client, be16
 * sensor id, source); client_pair_fold folds its sightings into a state
 * (store_client_add) and returns the last one's time.  Uses the store's
 * sort space: one writer at a time. */
struct client_pair {
	uint8_t key[SCHEMA_KEY_MAX];
	size_t klen, dlen;
	uint16_t sid;
	const void *e; /* the pair's sightings */
	size_t n;
};
struct store_client_state;
typedef int (*client_sid_fn)(void *ctx, const char *sensor, uint16_t *id);
typedef int (*client_pair_fn)(void *ctx, const struct client_pair *p);
int client_batch_pairs(store_t *s, store_batch_t *const *bs, size_t nb, client_sid_fn sid,
                       void *sctx, client_pair_fn fn, void *ctx);
int64_t client_pair_fold(const struct client_pair *p, struct store_client_state *st);

/* Merge every DNS record of a batch (sorted, repeats aggregated). */
int rr_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb);
/* A merge table written in key-range slices, one transaction each
 * (store_write_sliced): its DNS records sorted once. */
struct rr_slices;
int rr_slices_new(store_batch_t *b, struct rr_slices **out);
/* Merge the key groups from record `from` on into w's transaction, with
 * their index work, until about max_pages pages are dirty (at least one
 * group).  *end: the record after the last one merged; *used: the pages
 * it expects them to have dirtied. */
int rr_put_slice(struct store_wtxn *w, struct rr_slices *sl, size_t from, double max_pages,
                 size_t *end, double *used);
size_t rr_slices_len(const struct rr_slices *sl);
const struct brec *rr_slices_rec(const struct rr_slices *sl, size_t i);
void rr_slices_free(struct rr_slices *sl);

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
/* The same for a cap of max_dirty pages and max_records records. */
size_t batch_budget_for(uint64_t pages, double max_dirty, size_t max_records);
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

/* Keys, subjects, issuer+serial (keys.c).  keys_index_meta adds (or with
 * del removes) the subject and issuer+serial index items of a
 * certificate's metadata; keys_put_key records its key; keys_join moves
 * the key of `from` to `to` (cert.c's SHA-256 -> SHA-1 join). */
void keys_index_meta(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                     const char *subject, size_t sl, const char *issuer, size_t il,
                     const char *serial, size_t serl, bool del);
void keys_put_key(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                  const uint8_t key[32]);
void keys_join(struct store_wtxn *w, const uint8_t from[SCHEMA_CERTREF_LEN],
               const uint8_t to[SCHEMA_CERTREF_LEN]);

/* Fingerprint sightings of a batch (fp.c). */
int fp_batch_add(store_batch_t *b, const struct store_obs *o);
void fp_batch_free(store_batch_t *b);
/* The i-th fingerprint record of b: its key (u8 type, hash zero-padded
 * to 63, IP, be16 port) and its times and count (ClickHouse's writer). */
const uint8_t *fp_batch_row(const store_batch_t *b, size_t i, int64_t *tf, int64_t *tl,
                            uint64_t *count);
int fp_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb);

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

#endif
