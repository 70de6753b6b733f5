/*
 * ch.h - the store's second implementation: a ClickHouse cluster spoken to
 * over its HTTP interface with libcurl (issue 17, docs/scale-out.md).
 *
 * The schema is store/clickhouse/schema.sql; scripts/cluster.sh brings up
 * a test cluster and prints its address.  This header is the base the
 * store interface will dispatch to (docs/architecture.md, "Two stores"):
 * today it connects, runs queries, writes DNS observations and reads a
 * name's resolutions back with the LMDB store's merge semantics.
 *
 * Credentials never come from the command line: INFRAPIVOT_CH_USER and
 * INFRAPIVOT_CH_PASSWORD, else the file named by INFRAPIVOT_CH_CREDENTIALS
 * holding "user:password" (the first line), else user "default" without a
 * password.  A handle is used by one thread at a time.
 */
#ifndef INFRAPIVOT_STORE_CH_H
#define INFRAPIVOT_STORE_CH_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"

#define STORE_CH_HOST_BUF 256
#define STORE_CH_DB_BUF 64
#define STORE_CH_USER_BUF 128
#define STORE_CH_PASS_BUF 256
#define STORE_CH_RESPONSE_MAX ((size_t)64 << 20) /* default bound of a response */

#define STORE_CH_ENTRIES_MAX 8 /* entry points in one store address */

/* One entry point: a node whose HTTP interface takes the requests. */
struct store_ch_entry {
	char host[STORE_CH_HOST_BUF]; /* a name or an IPv4 address */
	unsigned port;                /* 1-65535 */
};
/* A store address "clickhouse://HOST:PORT[,HOST:PORT...]/DATABASE" taken
 * apart: up to STORE_CH_ENTRIES_MAX distinct entry points, in the order
 * given (the client fails over from one to the next, docs/scale-out.md). */
struct store_ch_url {
	struct store_ch_entry entry[STORE_CH_ENTRIES_MAX];
	unsigned n;               /* entry points, >= 1 */
	char db[STORE_CH_DB_BUF]; /* [A-Za-z0-9_], not starting with a digit */
};
/* Parse a store address.  Returns 0 or -EINVAL (message, with what is
 * wrong, in store_last_error()). */
int store_ch_url_parse(const char *url, struct store_ch_url *out);

/* Credentials from the environment (see above) into user and pass.
 * Returns 0, or -EINVAL/-errno for an unreadable or malformed file. */
int store_ch_credentials(char user[STORE_CH_USER_BUF], char pass[STORE_CH_PASS_BUF]);

typedef struct store_ch store_ch_t;

/* Connect to url (no request is made; see store_ch_ping).  Caller frees
 * with store_ch_close(). */
int store_ch_open(store_ch_t **out, const char *url);
void store_ch_close(store_ch_t *c);
/* The database name of the handle. */
const char *store_ch_db(const store_ch_t *c);
/* Bound responses to max bytes (default STORE_CH_RESPONSE_MAX). */
void store_ch_set_response_max(store_ch_t *c, size_t max);

/* Read-ahead (docs/scale-out.md "A level's reads at once"): after
 * store_ch_ahead_record, the reads of ch_query (every SELECT of rows) are
 * noted (a statement noted already, once) and answered with no rows,
 * sending nothing; store_ch_ahead_send
 * sends what was noted at once (AHEAD_PAR requests in flight) and keeps
 * each whole 200 answer, which the same statement read again takes
 * instead of a round trip (once); a failed one is not kept, so the read
 * made again goes out as any read, with its failover and its error.
 * store_ch_ahead_drop forgets everything.  record: 0 or -ENOMEM. */
int store_ch_ahead_record(store_ch_t *c);
void store_ch_ahead_send(store_ch_t *c);
void store_ch_ahead_drop(store_ch_t *c);

/* Run one statement on the entry point that answered last; when it does
 * not answer (no connection, or the connection broke mid-request), on each
 * other entry point in turn, once.  That is safe because every statement
 * the store sends is a read or an INSERT under a deduplication token.  A
 * server's answer, even an error, is not failed over.  Without body (NULL) sql is the request body;
 * with one (blen bytes: the rows of an INSERT ... FORMAT) sql goes in the URL.  settings: extra URL
 * parameters "name=value&..." or NULL.  The response is appended to out (may be NULL to discard it;
 * its limit is lowered to the handle's bound).  Returns 0, -ENOMEM, STORE_ELIMIT (the response
 * passed the bound), STORE_EREMOTE (the server refused: store_last_error() holds ClickHouse's
 * message, or the transfer failed: with several entry points, "every entry point is down" and each
 * one's failure). */
int store_ch_exec(store_ch_t *c, const char *sql, const void *body, size_t blen,
                  const char *settings, struct util_buf *out);
/* The server answers /ping.  0 or STORE_EREMOTE. */
int store_ch_ping(store_ch_t *c);

/* Write n observations (DNS resolutions; other kinds are skipped and
 * counted in *skipped, which may be NULL) as one batch.  token names the
 * batch: writing the same observations with the same token again (a
 * retry after a failure, from any node) is deduplicated by the replicated
 * tables, while another token always adds.  Transport failures and
 * server errors are retried (3 attempts) with the same token.  Returns 0
 * or an error as store_ch_exec. */
int store_ch_write(store_ch_t *c, const struct store_obs *obs, size_t n, uint64_t token,
                   size_t *skipped);
/* A token for a new batch (random, never 0). */
uint64_t store_ch_token(void);

/* Resolutions of name (rrtype 0 = any), merged over every write (min
 * first, max last, sum count, union of sensors), in (name, type, rdata)
 * order; "*.zone" walks every name under zone.  Sensors are given sorted;
 * beyond STORE_SENSORS_KEPT they are counted in sensors_more.  As
 * store_rr_by_name. */
int store_ch_rr_by_name(store_ch_t *c, const char *name, uint16_t rrtype,
                        const struct store_fence *f, store_rr_cb cb, void *ctx);
/* A/AAAA resolutions whose address lies in addr/plen (plen on the
 * 128-bit scale, as store_rr_by_addr), in (address, name, type) order. */
int store_ch_rr_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_rr_cb cb, void *ctx);

/* ---- certificates, targets, prevalence, batched reads (issue 17, items
 * 2 and 3 of docs/scale-out.md's Status: store/ch_cert.c, ch_cert_read.c,
 * ch_target.c, ch_batch.c).  store_ch_write now also writes STORE_OBS_CERT
 * observations (sightings, metadata, the name and attribute indexes)
 * under the batch's token; only client and fingerprint sightings are
 * still counted in *skipped.  Each reader answers as the store_* reader of
 * the same name, with the LMDB store's merge semantics and row order.
 * The readers by one SHA-1 reference (store_ch_cert_get, _cert_key,
 * _sight_by_cert, _prev_cert_ips) and their batched forms also read the
 * rows written under the SHA-256 a cert row of that SHA-1 names, merged
 * as LMDB's SHA-256 -> SHA-1 join merges them; the listings by address,
 * name, key, subject and serial do not yet (docs/scale-out.md, "The
 * SHA-256 -> SHA-1 join"). */

/* As store_cert_get: metadata of a certificate (STORE_ENOTFOUND when the
 * cluster has no row of it).  Strings live until this thread's next
 * call or the end of its read (store_read_end). */
int store_ch_cert_get(store_ch_t *c, const struct store_cert_ref *ref, struct store_cert_info *out);
/* As store_cert_key: the key (SPKI SHA-256) of a certificate, from the
 * key index (STORE_ENOTFOUND when none). */
int store_ch_cert_key(store_ch_t *c, const struct store_cert_ref *ref, uint8_t key[32]);
/* As store_sight_by_cert and store_sight_by_addr.  Sensors and SNI names
 * are given sorted (the smallest STORE_SENSORS_KEPT / STORE_SNI_KEPT). */
int store_ch_sight_by_cert(store_ch_t *c, const struct store_cert_ref *ref,
                           const struct store_fence *f, store_sight_cb cb, void *ctx);
int store_ch_sight_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                           const struct store_fence *f, store_sight_cb cb, void *ctx);
/* As store_certs_by_name, store_certs_by_key, store_certs_by_subject. */
int store_ch_certs_by_name(store_ch_t *c, const char *name, store_namecert_cb cb, void *ctx);
int store_ch_certs_by_key(store_ch_t *c, const uint8_t key[32], store_ref_cb cb, void *ctx);
int store_ch_certs_by_subject(store_ch_t *c, const char *dn, store_ref_cb cb, void *ctx);
/* store_certs_by_serial's contract: the certificates of a serial (any
 * spelling) from every issuer (issuer NULL: in issuer order) or from one;
 * STORE_EBADHASH when the serial is not hex. */
int store_ch_certs_by_serial(store_ch_t *c, const char *serial, const char *issuer, store_ref_cb cb,
                             void *ctx);
/* Prevalence, as the store_prev_* readers: one query each. */
int store_ch_prev_cert_ips(store_ch_t *c, const struct store_cert_ref *ref, uint64_t *n);
int store_ch_prev_key_certs(store_ch_t *c, const uint8_t key[32], uint64_t *n);
int store_ch_prev_subject_certs(store_ch_t *c, const char *dn, uint64_t *n);
int store_ch_prev_ip_names(store_ch_t *c, const uint8_t ip[16], uint64_t *n);
int store_ch_prev_name_ips(store_ch_t *c, const char *name, uint64_t *n);

/* As store_rr_by_target (a name, taken literally) and
 * store_rr_by_target_pattern (a name or "*.zone"; "head.*" is -ENOTSUP). */
int store_ch_rr_by_target(store_ch_t *c, const char *target, const struct store_fence *f,
                          store_rr_cb cb, void *ctx);
int store_ch_rr_by_target_pattern(store_ch_t *c, const char *target, const struct store_fence *f,
                                  store_rr_cb cb, void *ctx);

/* Batched reads for the pivot engine: n nodes of one kind in one query
 * (CH_BATCH_KEYS nodes a query at most; more go in further queries).
 * cb gets the index of the input key and its rows, key by key in input
 * order, each key's rows in the order of the single-node LMDB reader:
 * the same callbacks as looping store_rr_by_addr & co over the keys.  A
 * callback's STORE_STOP ends that key's rows, as it ends one single-node
 * call; an error (<0) ends everything.  cap (NULL: none, store.h's
 * struct store_cap): `LIMIT max+1 BY` the key, and a key with more rows
 * cut, none of its rows handed out. */
#define CH_BATCH_KEYS 1000
typedef int (*store_ch_rr_key_cb)(size_t key, const struct store_rr *rr, void *ctx);
typedef int (*store_ch_sight_key_cb)(size_t key, const struct store_sighting *s, void *ctx);
/* A/AAAA resolutions of each address (store_rr_by_addr, plen 128). */
int store_ch_rr_by_addrs(store_ch_t *c, const uint8_t (*addrs)[16], size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_ch_rr_key_cb cb, void *ctx);
/* Resolutions of each name, any type (store_rr_by_name, no wildcards). */
int store_ch_rr_by_names(store_ch_t *c, const char *const *names, size_t n,
                         const struct store_fence *f, const struct store_cap *cap,
                         store_ch_rr_key_cb cb, void *ctx);
/* Resolutions pointing at each target (store_rr_by_target). */
int store_ch_rr_by_targets(store_ch_t *c, const char *const *targets, size_t n,
                           const struct store_fence *f, const struct store_cap *cap,
                           store_ch_rr_key_cb cb, void *ctx);
/* Certificates seen on each address (store_sight_by_addr, plen 128). */
int store_ch_sight_by_addrs(store_ch_t *c, const uint8_t (*addrs)[16], size_t n,
                            const struct store_fence *f, const struct store_cap *cap,
                            store_ch_sight_key_cb cb, void *ctx);
/* Addresses each certificate was seen on (store_sight_by_cert). */
int store_ch_sight_by_certs(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                            const struct store_fence *f, const struct store_cap *cap,
                            store_ch_sight_key_cb cb, void *ctx);
/* store_cert_get and store_cert_key of each certificate (store.h's
 * store_cert_get_n, store_cert_key_n). */
int store_ch_cert_get_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                        store_cert_nth_cb cb, void *ctx);
int store_ch_cert_key_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                        store_certkey_nth_cb cb, void *ctx);
typedef int (*store_ch_namecert_key_cb)(size_t key, const struct store_cert_ref *ref, unsigned kind,
                                        void *ctx);
/* Certificates naming each name (store_certs_by_name). */
int store_ch_certs_by_names(store_ch_t *c, const char *const *names, size_t n,
                            const struct store_cap *cap, store_ch_namecert_key_cb cb, void *ctx);
/* Prevalence of n nodes in one query: out[i] for key i (0 for a key the
 * cluster does not know), as the single store_prev_* readers give it. */
int store_ch_prev_ip_names_n(store_ch_t *c, const uint8_t (*ips)[16], size_t n, uint64_t *out);
int store_ch_prev_name_ips_n(store_ch_t *c, const char *const *names, size_t n, uint64_t *out);
int store_ch_prev_cert_ips_n(store_ch_t *c, const struct store_cert_ref *refs, size_t n,
                             uint64_t *out);
/* As store_cert_resolve: the reference a SHA-1 (hlen 20) or SHA-256 (32)
 * is stored under on the cluster (a SHA-1 one when a row of the
 * certificate carries both hashes).  STORE_ENOTFOUND when unknown.  A
 * SHA-256 is looked up in every cert row (no index by SHA-256). */
int store_ch_cert_resolve(store_ch_t *c, const uint8_t *hash, size_t hlen,
                          struct store_cert_ref *ref);

/* ---- administration (ch_admin.c) ---------------------------------------- */
/* As store_stats: each count the distinct keys of the LMDB table of that
 * name, counted on the cluster (finalised with GROUP BY); sizes_unknown
 * set (a cluster has no database file).  One query. */
int store_ch_stats(store_ch_t *c, struct store_stats *st);

/* ---- migrate (ch_migrate.c) -------------------------------------------- */
struct store_migrate_stats {
	uint64_t records;   /* resolutions read from the LMDB store */
	uint64_t certs;     /* certificates (metadata or hashes) */
	uint64_t sightings; /* certificate sightings */
	uint64_t fps;       /* server fingerprint sightings */
	uint64_t clients;   /* client pairs (the estate) */
	uint64_t rows;      /* rows sent (one more per further sensor of a record) */
	uint64_t chunks;    /* INSERTs, each under the hash of its rows as token */
	bool resumed;       /* went on from a checkpoint of a stopped run */
	bool already;       /* a finished run's checkpoint: nothing sent */
};
/* Copy every resolution, certificate, certificate sighting, fingerprint
 * sighting and client pair of the LMDB store `from` into the ClickHouse
 * store `to`, resuming from the checkpoints kept in to's control LMDB (one
 * per source database file and kind).  A chunk sent again after a failure is
 * deduplicated by the cluster.  Sensors beyond the STORE_SENSORS_KEPT a
 * record keeps are not known and not copied.  Returns 0, -EINVAL (not
 * LMDB into ClickHouse) or a store error. */
int store_migrate(store_t *from, store_t *to, struct store_migrate_stats *st);

#endif
