/*
 * store.h - the infrapivot store: an LMDB environment holding DNS
 * resolutions, TLS certificate sightings, certificate metadata and the
 * indexes the pivot engine walks.  This is the only public header of the
 * store module and the only module that talks to LMDB (see schema.h for
 * the key layout).
 *
 * Threading: a store_t may be shared by threads.  Read transactions are
 * independent (MDB_NOTLS); writes are serialised by LMDB's writer lock.
 */
#ifndef INFRAPIVOT_STORE_H
#define INFRAPIVOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors: 0 ok, -errno, or project codes from -1000 down ---------- */
enum store_err {
	STORE_EOK = 0,
	STORE_ENOTFOUND = -1000, /* no such record */
	STORE_ENOSPACE = -1001,  /* map full and cannot grow */
	STORE_EVERSION = -1002,  /* database of an unknown schema version */
	STORE_ECORRUPT = -1003,  /* a record that does not decode */
	STORE_EBADNAME = -1004,  /* not a valid domain name */
	STORE_EBADADDR = -1005,  /* not a valid IPv4/IPv6 address */
	STORE_EBADHASH = -1006,  /* not a SHA-1/SHA-256 in hex */
	STORE_ETOOLONG = -1007,  /* a field longer than its limit */
	STORE_EMISMATCH = -1008, /* a given hash does not match the certificate */
	STORE_EBADTIME = -1009,  /* not a time we understand */
	STORE_EBADTYPE = -1010,  /* unknown RR type or record type */
	STORE_EBADCERT = -1011,  /* certificate does not parse */
	STORE_ELMDB = -1012,     /* other LMDB failure (message logged) */
	STORE_EBUSY = -1013,     /* database in use (lock) */
	STORE_ELIMIT = -1014,    /* a configured limit was hit */
	STORE_EEXIST = -1015,    /* already exists */
	STORE_EREMOTE = -1016,   /* the ClickHouse server failed (message logged) */
	STORE_ENOTSUP = -1017,   /* not on the ClickHouse store yet (message logged) */
};

/* Returns a static message for an error code from any module. */
const char *store_strerror(int err);

/* ---- limits ----------------------------------------------------------- */
#define STORE_NAME_BUF 256  /* presentation name (max 253) + NUL */
#define STORE_ADDR_BUF 48   /* INET6_ADDRSTRLEN + slack */
#define STORE_RDATA_MAX 384 /* rdata text stored in a key (511 key limit) */
#define STORE_SENSOR_MAX 64 /* sensor id length incl. NUL */
#define STORE_SENSORS_KEPT 16
#define STORE_SNI_KEPT 8 /* SNI names kept per certificate sighting */
#define STORE_SCHEMA_VERSION 2

/* ---- normalisation (store/norm.c) ------------------------------------- */
/* Normalise a domain name: lower-case, trailing dot dropped, labels 1-63
 * octets, total <= 253, [a-z0-9-_] only.  With allow_wildcard a leftmost
 * "*" label is accepted and kept.  out must hold STORE_NAME_BUF bytes.
 * Returns 0 or STORE_EBADNAME/STORE_ETOOLONG. */
int store_name_norm(const char *in, size_t len, char *out, bool allow_wildcard);
/* A name pattern: a name, "*.zone" (every name under zone) or "head.*"
 * (every name whose leftmost labels are head's, with at least one more:
 * DNSDB's right-hand wildcard), normalised into out (STORE_NAME_BUF).
 * Returns 0 or STORE_EBADNAME/STORE_ETOOLONG. */
int store_name_pattern(const char *in, size_t len, char *out);
/* True for a normalised right-hand pattern "head.*". */
bool store_name_is_rhs(const char *pattern);

/* Parse an IPv4 or IPv6 address (any textual form, v4-mapped accepted)
 * into 16 bytes (IPv4 as ::ffff:a.b.c.d).  Returns 0 or STORE_EBADADDR. */
int store_addr_parse(const char *in, size_t len, uint8_t out[16]);
/* Parse "ADDR/LEN": prefix lengths count on the IPv4 scale for IPv4.
 * Without "/LEN" the prefix is the full address (32 or 128). */
int store_prefix_parse(const char *in, size_t len, uint8_t out[16], unsigned *plen);
bool store_addr_is_v4(const uint8_t a[16]);
/* Canonical text (dotted quad, RFC 5952 for IPv6) into out[STORE_ADDR_BUF]. */
void store_addr_format(const uint8_t a[16], char *out);

/* The first and last address of addr/plen (plen on the 128-bit scale). */
void store_prefix_bounds(const uint8_t addr[16], unsigned plen, uint8_t lo[16], uint8_t hi[16]);
/* The CN of a certificate subject written "CN=x, O=y", "CN=x,O=y" or
 * "/O=y/CN=x" (n bytes, not necessarily NUL-terminated). */
bool store_subject_cn(const char *s, size_t n, const char **cn, size_t *cnl);

/* Parse 40 or 64 hex digits, colons allowed between octets, any case.
 * *hlen receives 20 or 32.  Returns 0 or STORE_EBADHASH. */
int store_hash_parse(const char *in, size_t len, uint8_t out[32], size_t *hlen);

/* RR types: mnemonic or "TYPEnnn" or decimal.  Returns 0 or STORE_EBADTYPE. */
int store_rrtype_parse(const char *in, size_t len, uint16_t *type);
/* Mnemonic for a type ("A", "TYPE65534"); buf of 16 bytes. */
const char *store_rrtype_name(uint16_t type, char *buf);
enum {
	STORE_RR_A = 1,
	STORE_RR_NS = 2,
	STORE_RR_CNAME = 5,
	STORE_RR_SOA = 6,
	STORE_RR_PTR = 12,
	STORE_RR_MX = 15,
	STORE_RR_TXT = 16,
	STORE_RR_AAAA = 28,
	STORE_RR_SRV = 33,
	STORE_RR_DNAME = 39
};
/* True for types whose rdata is (or ends in) a host name we index. */
bool store_rrtype_has_target(uint16_t type);

/* Normalise rdata of the given type to its stored text form: addresses
 * (A/AAAA) are checked and canonicalised, names normalised, MX/SRV keep
 * their numbers with the name normalised, other types kept as given
 * (trimmed).  out holds STORE_RDATA_MAX bytes. */
int store_rdata_norm(uint16_t type, const char *in, size_t len, char *out);

/* Times as util_time_parse() (util/time.h) reads them: ISO dates and
 * date-times, now, epoch seconds, relative -7d / -1d12h / -1M from now;
 * an all-digit compact date (20261126) is refused as ambiguous.
 * Returns 0 or STORE_EBADTIME. */
int store_time_parse(const char *in, int64_t now, int64_t *out);
/* Formatting: util_time_format() (util/time.h). */

/* ---- time fences (DNSDB semantics) ------------------------------------ */
struct store_fence {
	int64_t first_after;  /* time_first >= first_after */
	int64_t first_before; /* time_first <= first_before */
	int64_t last_after;   /* time_last >= last_after */
	int64_t last_before;  /* time_last <= last_before */
	int64_t since;        /* overlap: time_last >= since */
	int64_t until;        /* overlap: time_first <= until */
};
/* A fence that lets everything through. */
void store_fence_init(struct store_fence *f);
bool store_fence_match(const struct store_fence *f, int64_t tf, int64_t tl);

/* ---- observations (what ingest hands to the writer) ------------------- */
enum store_obs_kind {
	STORE_OBS_DNS = 1,    /* a resolution */
	STORE_OBS_CERT = 2,   /* a certificate: metadata and/or a sighting */
	STORE_OBS_CLIENT = 3, /* an internal client contacted a destination (client.h) */
	STORE_OBS_FP = 4,     /* a server fingerprint (JARM, JA3S) seen on ip:port */
};

/* Server fingerprints (store/fp.c): JARM is 62 hex digits, JA3S 32 (an
 * MD5).  Stored lower-case. */
enum store_fp_type { STORE_FP_JARM = 1, STORE_FP_JA3S = 2 };
#define STORE_FP_HASH_BUF 64 /* 62 hex digits + NUL, rounded */

/* Certificate metadata.  Strings are NUL-terminated; the lists are
 * NUL-separated ("a\0b\0") with their byte length. */
struct store_cert_meta {
	bool has_sha1, has_sha256;
	uint8_t sha1[20];
	uint8_t sha256[32];
	char subject[512];
	char issuer[512];
	char serial[128];              /* hex, as the source gives it */
	int64_t not_before, not_after; /* 0 when unknown */
	char san_dns[2048];
	size_t san_dns_len;
	char san_ip[512];
	size_t san_ip_len;
	uint8_t *der;
	size_t der_len;  /* optional, owned by whoever made it */
	bool has_key;    /* key below is known (the certificate itself was seen) */
	uint8_t key[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
};

struct store_obs {
	uint8_t kind;
	int64_t time_first, time_last;
	uint64_t count;
	char sensor[STORE_SENSOR_MAX]; /* "" when none */
	union {
		struct {
			char rrname[STORE_NAME_BUF];
			char bailiwick[STORE_NAME_BUF]; /* "" when none */
			uint16_t rrtype;
			uint8_t addr[16];            /* A/AAAA */
			char rdata[STORE_RDATA_MAX]; /* other types: normalised text */
		} dns;
		struct {
			bool sighting; /* false: metadata only */
			bool has_meta; /* meta fields below are filled */
			uint8_t ip[16];
			uint16_t port;
			char sni[STORE_NAME_BUF];     /* "" when none */
			struct store_cert_meta *meta; /* hashes always; rest if has_meta */
		} cert;
		struct {
			uint8_t dtype;             /* STORE_DEST_DOMAIN or STORE_DEST_IP */
			uint8_t src;               /* STORE_CSRC_* (store/client.h) */
			bool has_bytes;            /* bytes_out/bytes_in are known */
			char name[STORE_NAME_BUF]; /* domain destinations */
			uint8_t ip[16];            /* IP destinations */
			uint8_t client[16];        /* the internal host */
			uint64_t bytes_out, bytes_in;
		} client;
		struct {
			uint8_t ip[16];
			uint16_t port;
			uint8_t fptype; /* STORE_FP_JARM, STORE_FP_JA3S */
			char hash[STORE_FP_HASH_BUF];
		} fp;
	};
};

/* ---- the environment -------------------------------------------------- */
typedef struct store store_t;

enum store_open_flags {
	STORE_RDONLY = 1 << 0,
	STORE_NOSYNC = 1 << 1, /* benchmarks only: never for real data */
};

/* Open (creating when missing and writable) the database directory dir.
 * mapsize 0 means the default (1 GiB, grown on demand).  Fails with
 * STORE_EVERSION on an unknown schema version.  Caller frees with
 * store_close(). */
int store_open(store_t **out, const char *dir, unsigned flags, size_t mapsize);
void store_close(store_t *s);
/* The directory to use: dir_opt, else $INFRAPIVOT_DB, else ./infrapivot-data */
const char *store_default_dir(const char *dir_opt);
/* Open a store named by spec: "lmdb:DIR", a plain DIR (as store_open),
 * or "clickhouse://HOST:PORT/DATABASE" (store/ch.h; credentials from the
 * environment; one query checks address, credentials and database).  A
 * ClickHouse store keeps its control plane (meta records, idempotency
 * records, watchlists, sensor settings) in a local LMDB,
 * store_control_dir(), which remembers the address it serves and refuses
 * another.  Data-plane calls not implemented on ClickHouse yet fail with
 * STORE_ENOTSUP, what they are in store_last_error().  Caller frees with
 * store_close(). */
int store_open_url(store_t **out, const char *spec, unsigned flags, size_t mapsize);
/* The control directory of a ClickHouse store: $INFRAPIVOT_CONTROL, else
 * ./infrapivot-control. */
const char *store_control_dir(void);
/* "lmdb" or "clickhouse": the backend that runs s. */
const char *store_backend(const store_t *s);
/* Last detailed message for the most recent failure in this thread. */
const char *store_last_error(void);
/* Set the calling thread's store_last_error() to msg: a writer thread's
 * message carried over to the thread that reports it. */
void store_last_error_set(const char *msg);

/* Extra key/value records committed with a batch (follow positions,
 * feed checkpoints).  Keys are meta keys chosen by the caller. */
struct store_meta_put {
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
};

/* Hook called inside the write transaction after each observation was
 * merged (for standing pivots).  Return <0 to fail the batch.  store_open
 * installs store_watch_hook (watch.h) on every writable store, so every
 * ingest path runs the standing pivots; setting another hook (or NULL)
 * replaces it for this handle. */
struct store_wtxn;
typedef int (*store_write_hook)(struct store_wtxn *w, const struct store_obs *o, void *ctx);
void store_set_write_hook(store_t *s, store_write_hook hook, void *ctx);
/* The bytes a write's INSERT bodies may take together on a ClickHouse
 * store (a threshold: a body is sent when it reaches its share, at most
 * one observation's rows later); 0 restores the default (64 MiB).  No
 * effect on an LMDB store. */
void store_set_insert_memory(store_t *s, size_t bytes);

struct store_write_stats {
	uint64_t dns_new, dns_merged;
	uint64_t sight_new, sight_merged;
	uint64_t certs_new, certs_joined;
	uint64_t clients, client_pairs_new; /* client sightings merged, pairs created */
	unsigned retries;                   /* map growths */
	/* ClickHouse store: observations of kinds it does not write yet
	 * (client sightings, fingerprints), not recorded */
	uint64_t unsupported;
	/* bytes the largest commit of the write passed to write(2): its
	 * dirty pages, measured (Linux: /proc/thread-self/io; 0 elsewhere) */
	uint64_t commit_bytes_max;
};

/* Merge n observations and the meta records in one write transaction.
 * On MDB_MAP_FULL the map grows and the batch is retried whole.  Either
 * everything is committed or nothing is.  stats may be NULL. */
int store_write(store_t *s, const struct store_obs *obs, size_t n,
                const struct store_meta_put *meta, size_t nmeta, struct store_write_stats *stats);

/* A batch: observations copied compactly (a DNS observation costs its key
 * and times, not a whole struct store_obs), kept until written so that a
 * transaction can be retried whole after the map grows.  Repeats of a
 * resolution are aggregated when written. */
typedef struct store_batch store_batch_t;
int store_batch_new(store_batch_t **out);
void store_batch_free(store_batch_t *b);
/* Empty the batch for reuse (keeps its memory). */
void store_batch_reset(store_batch_t *b);
/* Copy one observation in.  Returns 0, a validation error (the
 * observation is not added), or STORE_ELIMIT when the batch must be
 * written before more can be added. */
int store_batch_add(store_batch_t *b, const struct store_obs *o);
/* Copy a meta record in (committed with the batch); max 8 a batch. */
int store_batch_meta(store_batch_t *b, const struct store_meta_put *m);
size_t store_batch_len(const store_batch_t *b);
/* A position in a batch, to drop what was added after it (a line that
 * turns out bad after some of its observations were added). */
struct store_batch_mark {
	size_t nrecs, ncerts, alen;
	uint32_t seq;
	size_t nclients;
	size_t nfps;
};
void store_batch_mark(const store_batch_t *b, struct store_batch_mark *m);
void store_batch_truncate(store_batch_t *b, const struct store_batch_mark *m);
/* True when the batch holds neither observations nor meta records. */
bool store_batch_empty(const store_batch_t *b);
/* Write the batch in one transaction (map growth and retry included).
 * The batch is left as it was; reset it to reuse. */
int store_write_batch(store_t *s, store_batch_t *b, struct store_write_stats *stats);
/* Merge n batches in one transaction, in order: what batch i holds is
 * merged before batch i+1, as if they were one. */
int store_write_batches(store_t *s, store_batch_t *const *b, size_t n,
                        struct store_write_stats *stats);
/* Add the counts of add to to. */
void store_write_stats_add(struct store_write_stats *to, const struct store_write_stats *add);
/* Observations per transaction that keep the dirty pages of one write
 * transaction around 96 MiB for this database's size. */
size_t store_batch_budget(store_t *s);
/* Write a merge table (store_batch_absorb: DNS records, certificates and
 * meta records; a batch holding client or fingerprint sightings is
 * refused with STORE_EBADTYPE) in key-range slices, each its own
 * transaction, each dirtying about dirty_bytes of pages (LMDB keeps them
 * as malloc'd copies until the commit): a slice is a range of rr keys
 * with the index work of its new records, so a leaf of rr is written by
 * one slice, however large the table and the trees (docs/write-path.md).
 * The certificates and their hooks follow the DNS records, sliced the
 * same way (estimated from the trees they touch); the meta records go
 * with the last slice.  Each commit is whole and consistent; a failure stops at the
 * slice that failed, the ones before it committed (stats and *commits
 * count those).  On a ClickHouse store the table is one write. */
int store_write_sliced(store_t *s, store_batch_t *b, size_t dirty_bytes,
                       struct store_write_stats *stats, uint64_t *commits);

/* The merge table (store/merge.c): dst absorbs src, the batch of a write
 * unit, so that many units are merged in one transaction.  Repeats of a
 * DNS record from one sensor become one record of dst (least
 * time_first, greatest time_last, counts summed); certificate records and
 * meta records are copied (a later meta record replaces one of the same
 * key).  A commit of dst then equals a commit of the absorbed batches in
 * order.  Returns 0, STORE_ELIMIT before anything is absorbed when dst's
 * sensor or meta table cannot take src's (commit dst first), STORE_EBADTYPE
 * for a batch with client or fingerprint sightings (not absorbable), or
 * -ENOMEM. */
int store_batch_absorb(store_batch_t *dst, const store_batch_t *src);
/* False when src holds records the merge table does not take. */
bool store_batch_absorbable(const store_batch_t *b);
/* Bytes of memory the batch uses (arena, record list, index, certs). */
size_t store_batch_bytes(const store_batch_t *b);

/* ---- idempotency records (store/idem.c) --------------------------------- */
/* What a push under an Idempotency-Key committed, written in the same
 * transaction as its data (docs/http-api.md). */
#define STORE_IDEM_KEY_MAX 128  /* bytes of a client's key */
#define STORE_IDEM_REC_MAX 1024 /* bytes of a record */
#define STORE_IDEM_TTL 86400    /* seconds a record is kept */
/* The meta key of a client's key within scope (a token name, or "") into
 * out.  Returns 0 or STORE_ETOOLONG. */
int store_idem_key(const char *scope, const char *key, uint8_t *out, size_t cap, size_t *len);
/* Put the record rec (text) of key k into batch b, stamped now. */
int store_idem_put(store_batch_t *b, const uint8_t *k, size_t klen, int64_t now, const char *rec);
/* The record of key k into rec (cap bytes, NUL-terminated) and when it
 * was written.  0, STORE_ENOTFOUND or an error. */
int store_idem_get(store_t *s, const uint8_t *k, size_t klen, int64_t *when, char *rec, size_t cap);
/* Delete the records written before `before`; *deleted (may be NULL)
 * how many. */
int store_idem_prune(store_t *s, int64_t before, uint64_t *deleted);

/* Read a meta record written with store_write.  *val points into a
 * buffer of vcap bytes; *vlen receives the length. */
int store_meta_get(store_t *s, const void *key, size_t klen, void *val, size_t vcap, size_t *vlen);

/* ---- reading ---------------------------------------------------------- */
typedef struct store_rtxn store_rtxn_t;
/* Begin a short read-only transaction; end it with store_read_end(). */
int store_read_begin(store_t *s, store_rtxn_t **out);
void store_read_end(store_rtxn_t *r);

/* A resolution as read.  Pointers are valid during the callback only. */
struct store_rr {
	const char *rrname; /* presentation, no trailing dot */
	uint16_t rrtype;
	const char *rdata; /* presentation (address text for A/AAAA) */
	uint8_t addr[16];  /* A/AAAA only */
	int64_t time_first, time_last;
	uint64_t count;
	const char *bailiwick; /* "" when none */
	unsigned nsensors;     /* <= STORE_SENSORS_KEPT */
	const char *sensors[STORE_SENSORS_KEPT];
	unsigned sensors_more; /* distinct sensors beyond those kept */
};
/* Return 0 to go on, STORE_STOP to stop, <0 to fail. */
#define STORE_STOP 1
typedef int (*store_rr_cb)(const struct store_rr *rr, void *ctx);

/* Resolutions of name (rrtype 0 = any).  A name "*.zone" walks every
 * name under zone (not the zone itself); "head.*" every name starting with
 * head's labels (the forward name index, fwd.c: names written since it
 * exists), in that index's order. */
int store_rr_by_name(store_rtxn_t *r, const char *name, uint16_t rrtype,
                     const struct store_fence *f, store_rr_cb cb, void *ctx);
/* A/AAAA resolutions whose address lies in addr/plen (plen on the
 * 128-bit scale: IPv4 /24 is 96+24). */
int store_rr_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                     const struct store_fence *f, store_rr_cb cb, void *ctx);
/* Resolutions whose rdata names target (CNAME, NS, MX, PTR, SRV, DNAME). */
int store_rr_by_target(store_rtxn_t *r, const char *target, const struct store_fence *f,
                       store_rr_cb cb, void *ctx);
/* The same for a name pattern (store_name_pattern): "*.zone" matches every
 * target under zone, "head.*" every target starting with head's labels
 * (the forward name index), a name itself.  The pivot engine keeps
 * store_rr_by_target: a wildcard SAN node "*.zone" is not a pattern there. */
int store_rr_by_target_pattern(store_rtxn_t *r, const char *target, const struct store_fence *f,
                               store_rr_cb cb, void *ctx);

/* Every resolution of an LMDB store in key order, after the record whose
 * key is `after` (alen bytes; NULL: from the first); cb gets each with
 * its key (valid during the call: a point to resume from).  cb's
 * STORE_STOP ends the scan without error.  STORE_ENOTSUP on ClickHouse. */
typedef int (*store_rr_key_cb)(const struct store_rr *rr, const void *key, size_t klen, void *ctx);
int store_rr_scan(store_rtxn_t *r, const void *after, size_t alen, store_rr_key_cb cb, void *ctx);

/* Certificate identity: SHA-1 when known, else the SHA-256. */
struct store_cert_ref {
	uint8_t kind; /* 1 = SHA-1, 2 = SHA-256 only */
	uint8_t hash[32];
};

/* Metadata as read; strings point into the transaction's memory. */
struct store_cert_info {
	struct store_cert_ref ref;
	bool has_sha1, has_sha256, has_meta;
	uint8_t sha1[20], sha256[32];
	const char *subject, *issuer, *serial; /* "" when unknown */
	int64_t not_before, not_after;
	const char *san_dns;
	size_t san_dns_len; /* NUL-separated */
	const char *san_ip;
	size_t san_ip_len; /* NUL-separated */
	const uint8_t *der;
	size_t der_len; /* NULL when not stored */
};

/* Resolve a hash (20 or 32 bytes) to the certificate reference it is
 * stored under, following the SHA-256 -> SHA-1 alias.  STORE_ENOTFOUND
 * when the store has never seen it. */
int store_cert_resolve(store_rtxn_t *r, const uint8_t *hash, size_t hlen,
                       struct store_cert_ref *ref);
/* Metadata of a certificate (has_meta false when only sightings exist).
 * Its strings and DER live until this thread's next store_cert_get and
 * at most as long as r (on LMDB san_dns, san_ip and der live as long as
 * r; on ClickHouse they do not): use them before calling it again. */
int store_cert_get(store_rtxn_t *r, const struct store_cert_ref *ref, struct store_cert_info *out);

struct store_sighting {
	struct store_cert_ref ref;
	uint8_t ip[16];
	uint16_t port;
	int64_t time_first, time_last;
	uint64_t count;
	unsigned nsensors;
	const char *sensors[STORE_SENSORS_KEPT];
	unsigned sensors_more;
	unsigned nsni;
	const char *sni[STORE_SNI_KEPT];
};
typedef int (*store_sight_cb)(const struct store_sighting *s, void *ctx);

/* Every (ip, port) a certificate was seen on. */
int store_sight_by_cert(store_rtxn_t *r, const struct store_cert_ref *ref,
                        const struct store_fence *f, store_sight_cb cb, void *ctx);
/* Every certificate seen on addresses in addr/plen (128-bit scale). */
int store_sight_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_sight_cb cb, void *ctx);

enum store_name_cert_kind { STORE_NC_SAN = 1, STORE_NC_SNI = 2 };
typedef int (*store_namecert_cb)(const struct store_cert_ref *ref, unsigned kind, void *ctx);
/* Certificates naming `name` in their SAN/CN (kind SAN) or seen with it
 * as SNI (kind SNI). */
int store_certs_by_name(store_rtxn_t *r, const char *name, store_namecert_cb cb, void *ctx);

/* ---- batched reads: n keys of one kind at once (the pivot's one query per
 * BFS level and edge kind).  cb gets the index of the key and its rows,
 * key by key in input order, each key's rows as the single-key reader
 * gives them (the same callbacks as looping it over the keys, which is
 * what the LMDB store does; a ClickHouse store asks one query per
 * thousand keys: store/ch_batch.c).  A callback's STORE_STOP ends that key's rows,
 * an error (<0) everything.  0 or a store error. ---- */
/* A bound on a key's rows (cap NULL: none): a key with more than max
 * rows is cut, cut[key] set (n entries, cleared by the caller), and what
 * cb was handed of it must be dropped (ClickHouse hands none, LMDB its
 * first max).  The pivot reads a level's edges before its noise is
 * judged, and a noise node's thousands of rows stop at the cap; a cut
 * key it does walk is read alone.  ClickHouse counts the rows before the
 * fence (`LIMIT max+1 BY` the key), LMDB after. */
struct store_cap {
	size_t max;
	bool *cut;
};
typedef int (*store_rr_nth_cb)(size_t key, const struct store_rr *rr, void *ctx);
typedef int (*store_sight_nth_cb)(size_t key, const struct store_sighting *s, void *ctx);
typedef int (*store_namecert_nth_cb)(size_t key, const struct store_cert_ref *ref, unsigned kind,
                                     void *ctx);
/* store_rr_by_addr (plen 128), store_rr_by_name (any type, no
 * wildcards) and store_rr_by_target of each key. */
int store_rr_by_addrs(store_rtxn_t *r, const uint8_t (*addrs)[16], size_t n,
                      const struct store_fence *f, const struct store_cap *cap, store_rr_nth_cb cb,
                      void *ctx);
int store_rr_by_names(store_rtxn_t *r, const char *const *names, size_t n,
                      const struct store_fence *f, const struct store_cap *cap, store_rr_nth_cb cb,
                      void *ctx);
int store_rr_by_targets(store_rtxn_t *r, const char *const *targets, size_t n,
                        const struct store_fence *f, const struct store_cap *cap,
                        store_rr_nth_cb cb, void *ctx);
/* store_sight_by_addr (plen 128) and store_sight_by_cert of each key. */
int store_sight_by_addrs(store_rtxn_t *r, const uint8_t (*addrs)[16], size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_sight_nth_cb cb, void *ctx);
int store_sight_by_certs(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_sight_nth_cb cb, void *ctx);
/* store_certs_by_name of each key. */
int store_certs_by_names(store_rtxn_t *r, const char *const *names, size_t n,
                         const struct store_cap *cap, store_namecert_nth_cb cb, void *ctx);
/* store_cert_get and store_cert_key of each key: cb gets a key's
 * metadata (ci->ref unset; its strings live during the call only) or
 * key, none for a key never seen. */
typedef int (*store_cert_nth_cb)(size_t key, const struct store_cert_info *ci, void *ctx);
typedef int (*store_certkey_nth_cb)(size_t key, const uint8_t spki[32], void *ctx);
int store_cert_get_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                     store_cert_nth_cb cb, void *ctx);
int store_cert_key_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                     store_certkey_nth_cb cb, void *ctx);

/* Read-ahead of a level's independent batched reads (on a ClickHouse
 * store; docs/scale-out.md "A level's reads at once").  The caller makes
 * its reads twice: after store_ahead_record (true only where there is a
 * read-ahead) the batched reads answer no rows and are noted; then
 * store_ahead_send sends the noted ones at once, and the same reads made
 * again take their answers (a read the first pass could not know of, or
 * whose answer failed, goes out then as usual); store_ahead_drop ends it.
 * The second pass is the one whose rows count. */
bool store_ahead_record(store_rtxn_t *r);
void store_ahead_send(store_rtxn_t *r);
void store_ahead_drop(store_rtxn_t *r);

/* Prevalence counters, kept on insert: one read each. */
int store_prev_ip_names(store_rtxn_t *r, const uint8_t ip[16], uint64_t *n);
int store_prev_name_ips(store_rtxn_t *r, const char *name, uint64_t *n);
int store_prev_cert_ips(store_rtxn_t *r, const struct store_cert_ref *ref, uint64_t *n);
/* The same counters of n keys at once into out[n] (0 for a key never
 * seen): one query per thousand keys on ClickHouse, a loop on LMDB. */
int store_prev_ip_names_n(store_rtxn_t *r, const uint8_t (*ips)[16], size_t n, uint64_t *out);
int store_prev_name_ips_n(store_rtxn_t *r, const char *const *names, size_t n, uint64_t *out);
int store_prev_cert_ips_n(store_rtxn_t *r, const struct store_cert_ref *refs, size_t n,
                          uint64_t *out);

/* ---- keys, subjects, issuer+serial (store/keys.c) --------------------- */
#define STORE_DN_BUF 480     /* a normalised DN fits an LMDB key */
#define STORE_SERIAL_BUF 130 /* a normalised serial (hex) + NUL */

/* Normalise a distinguished name written "CN=x, O=y", "CN=x,O=y" (RFC 4514,
 * escapes \, \+ \XX) or "/O=y/CN=x" into out[STORE_DN_BUF]: components
 * split at ',' '+' (or '/'), attribute names upper-cased (E, EMAIL ->
 * EMAILADDRESS; S -> ST), values unquoted, unescaped, trimmed, inner white
 * space runs made one space, lower-cased; components sorted and joined
 * "ATTR=value,..." with ',' '+' '=' '\' in values escaped by '\'.  So
 * the orders and spellings of OpenSSL, Suricata and Zeek give one form.
 * Returns 0, STORE_EBADNAME (empty, a component without '=') or
 * STORE_ETOOLONG (over 32 components, a value over 255 bytes, a result
 * over STORE_DN_BUF - 1). */
int store_dn_norm(const char *in, size_t len, char *out);
/* Normalise a serial number: hex digits ("0x", ':', ' ', '-' dropped),
 * upper-case, leading zeros dropped ("0" for zero) into
 * out[STORE_SERIAL_BUF].  Returns 0, STORE_EBADHASH (not hex) or
 * STORE_ETOOLONG. */
int store_serial_norm(const char *in, size_t len, char *out);

/* The public key (SHA-256 of the SubjectPublicKeyInfo) of a certificate;
 * STORE_ENOTFOUND when the certificate itself was never seen. */
int store_cert_key(store_rtxn_t *r, const struct store_cert_ref *ref, uint8_t key[32]);
typedef int (*store_ref_cb)(const struct store_cert_ref *ref, void *ctx);
/* Certificates with this key. */
int store_certs_by_key(store_rtxn_t *r, const uint8_t key[32], store_ref_cb cb, void *ctx);
/* Certificates whose subject normalises to dn (a store_dn_norm result). */
int store_certs_by_subject(store_rtxn_t *r, const char *dn, store_ref_cb cb, void *ctx);
/* Certificates with this serial (any spelling) from this issuer (any
 * spelling), or from any issuer when issuer is NULL.  STORE_EBADHASH
 * when the serial is not hex. */
int store_certs_by_serial(store_rtxn_t *r, const char *serial, const char *issuer, store_ref_cb cb,
                          void *ctx);
/* Prevalence: certificates of a key, of a normalised subject. */
int store_prev_key_certs(store_rtxn_t *r, const uint8_t key[32], uint64_t *n);
int store_prev_subject_certs(store_rtxn_t *r, const char *dn, uint64_t *n);

/* ---- server fingerprints (store/fp.c) ----------------------------------- */
/* "jarm", "ja3s"; "?" otherwise. */
const char *store_fp_type_name(unsigned fptype);
/* The type named by the len bytes at s, or 0. */
unsigned store_fp_type_by_name(const char *s, size_t len);
/* Check a fingerprint of its type (JARM 62 hex digits, JA3S 32) and
 * lower-case it into out[STORE_FP_HASH_BUF].  Returns 0 or
 * STORE_EBADHASH (STORE_EBADTYPE for an unknown type). */
int store_fp_norm(unsigned fptype, const char *in, size_t len, char *out);

/* A fingerprint seen on ip:port (pointers valid during the callback). */
struct store_fp_sighting {
	uint8_t fptype;
	const char *hash;
	uint8_t ip[16];
	uint16_t port;
	int64_t time_first, time_last;
	uint64_t count;
};
typedef int (*store_fp_cb)(const struct store_fp_sighting *s, void *ctx);
/* Every ip:port a fingerprint was seen on (hash normalised). */
int store_fp_by_hash(store_rtxn_t *r, unsigned fptype, const char *hash,
                     const struct store_fence *f, store_fp_cb cb, void *ctx);
/* Every fingerprint seen on addresses in addr/plen (128-bit scale). */
int store_fp_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                     const struct store_fence *f, store_fp_cb cb, void *ctx);
/* Prevalence: distinct IPs a fingerprint was seen on. */
int store_prev_fp_ips(store_rtxn_t *r, unsigned fptype, const char *hash, uint64_t *n);

/* ---- the graph's node and edge kinds, and the noise rule (store/noise.c) - */
/* The pivot engine (pivot/) and the standing pivots (store/watch_auto.c)
 * walk the same graph: one enum of node kinds, one of edge kinds, and one
 * rule for when a node is too common to follow (shared hosting, CDNs). */
enum store_node_type {
	STORE_NODE_AUTO = 0, /* not known: detect it from the text */
	STORE_NODE_DOMAIN = 1,
	STORE_NODE_IP = 2,
	STORE_NODE_CERT = 3,
	STORE_NODE_KEY = 4,     /* SHA-256 of a certificate's SubjectPublicKeyInfo */
	STORE_NODE_SUBJECT = 5, /* a normalised subject DN (store_dn_norm) */
	STORE_NODE_JARM = 6,    /* a JARM fingerprint */
	STORE_NODE_JA3S = 7,    /* a JA3S fingerprint */
};

enum store_edge {
	STORE_EDGE_RESOLVES = 1 << 0,    /* domain - ip (A/AAAA) */
	STORE_EDGE_CNAME = 1 << 1,       /* domain - domain */
	STORE_EDGE_SERVES = 1 << 2,      /* ip - cert (seen on ip:port) */
	STORE_EDGE_SAN = 1 << 3,         /* cert - domain (SAN or CN) */
	STORE_EDGE_SNI = 1 << 4,         /* domain - cert (seen with that SNI) */
	STORE_EDGE_KEY = 1 << 5,         /* cert - key (its public key) */
	STORE_EDGE_SUBJECT = 1 << 6,     /* cert - subject (its normalised subject DN) */
	STORE_EDGE_FINGERPRINT = 1 << 7, /* ip - jarm/ja3s (seen on ip:port) */
	STORE_EDGE_ALL = 0xff,
	/* what a pivot walks unless told otherwise: all but subject and
	 * fingerprint (docs/pivot.md says why) */
	STORE_EDGE_DEFAULT = 0x3f,
};
/* "resolves", "cname", "serves", "san", "sni"; "?" for anything else. */
const char *store_edge_name(unsigned edge);
/* The edge named by the len bytes at s ("all" is not one), or 0. */
unsigned store_edge_by_name(const char *s, size_t len);

/* Noise limits: a node over one is common infrastructure, not an actor's,
 * and is not followed.  The defaults are the pivot engine's. */
#define STORE_NOISE_MAX_IP_DOMAINS 100   /* names on an IP: shared hosting */
#define STORE_NOISE_MAX_CERT_IPS 50      /* IPs of a certificate: CDN or default cert */
#define STORE_NOISE_MAX_DOMAIN_IPS 50    /* IPs of a name: CDN or fast flux */
#define STORE_NOISE_MAX_SAN 80           /* SAN names of a certificate: multi-tenant */
#define STORE_NOISE_MAX_KEY_CERTS 25     /* certificates of one key: a host's renewals */
#define STORE_NOISE_MAX_SUBJECT_CERTS 10 /* certificates of one subject: a template */
#define STORE_NOISE_MAX_FP_IPS 25        /* IPs of a JARM/JA3S: a stock TLS stack */
struct store_noise_limits {
	uint64_t max_ip_domains, max_cert_ips, max_domain_ips, max_san;
	uint64_t max_key_certs, max_subject_certs, max_fp_ips; /* key, subject, jarm/ja3s */
};

enum store_noise_rule {
	STORE_NOISE_NONE = 0,
	STORE_NOISE_SHARED_HOSTING, /* an IP with more names than max_ip_domains */
	STORE_NOISE_BUSY_NAME,      /* a name on more IPs than max_domain_ips */
	STORE_NOISE_BUSY_CERT,      /* a certificate on more IPs than max_cert_ips */
	STORE_NOISE_MULTI_TENANT,   /* a certificate with more SAN names than max_san */
	STORE_NOISE_SHARED_KEY,     /* a key in more certificates than max_key_certs */
	STORE_NOISE_COMMON_SUBJECT, /* a subject of more certificates than max_subject_certs */
	STORE_NOISE_COMMON_FP,      /* a fingerprint on more IPs than max_fp_ips */
};
/* A verdict: the rule a node breaks, its count and the limit. */
struct store_noise {
	enum store_noise_rule rule;
	uint64_t count, limit;
};
/* Is a node of this type noise?  degree: names on an IP, IPs of a name or
 * of a certificate, certificates of a key or subject, IPs of a
 * fingerprint; nsan: SAN names of a certificate (0 when unknown).  The
 * degree rule of the type is checked first, then the SAN rule.  Returns
 * true with *out telling why, false (out->rule STORE_NOISE_NONE) if not. */
bool store_noise_judge(enum store_node_type type, uint64_t degree, uint64_t nsan,
                       const struct store_noise_limits *lim, struct store_noise *out);
/* The rule as the pivot engine reports it: "shared_hosting",
 * "cdn_or_fast_flux_name", "cdn_or_default_cert", "multi_tenant_cert";
 * NULL for STORE_NOISE_NONE.  A static string. */
const char *store_noise_code(enum store_noise_rule rule);
/* The verdict for a person, naming the node by value:
 * "203.0.113.9 (ip): shared hosting, 5000 names > 100". */
void store_noise_why(const struct store_noise *n, const char *value, char *out, size_t cap);

/* Temporal affinity (co-tenants): when a path reaches an IP through an
 * edge first seen at `arrival`, an edge on from that IP (a name resolving
 * to it, a certificate it serves) first seen more than max_days earlier
 * belongs to another tenant of the address.  The default is the pivot
 * engine's and the standing pivots' (docs/pivot.md says why 180). */
#define STORE_AFFINITY_MAX_COTENANT_DAYS 180
#define STORE_AFFINITY_MAX_DAYS 36500 /* the largest threshold accepted */
/* True when the edge first seen at first_seen is a co-tenant's; *days_before
 * receives whole days from first_seen to arrival (0 when not before).
 * Unknown times (0) are never co-tenancy. */
bool store_affinity_judge(int64_t arrival, int64_t first_seen, uint64_t max_days,
                          int64_t *days_before);
/* "co-tenant: on 45.137.21.9 since 2024-01-03, 680 days before the path
 * arrived" into out[cap]; on names the IP. */
void store_affinity_why(const char *on, int64_t since, int64_t days_before, char *out, size_t cap);

struct store_stats {
	uint64_t resolutions, addr_index, target_index;
	uint64_t sightings, ip_cert_index, certificates, name_cert_index;
	uint64_t aliases, sensors;
	uint64_t db_bytes;   /* file size */
	uint64_t used_bytes; /* pages in use */
	uint64_t map_bytes;
	bool sizes_unknown; /* a ClickHouse store: no file, the three sizes are 0 */
};
int store_stats(store_t *s, struct store_stats *st);

/* Write a compacted copy of the environment into an empty directory
 * (mdb_env_copy2 with MDB_CP_COMPACT: free pages dropped). */
int store_compact(store_t *s, const char *outdir);
/* Write a repacked copy: every table rebuilt in key order with
 * MDB_APPEND, so pages are full (random inserts leave them ~2/3 full).
 * Slower than store_compact; a consistent snapshot all the same. */
int store_repack(store_t *s, const char *outdir);

#endif
