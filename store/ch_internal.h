/*
 * ch_internal.h - what the ClickHouse store's files share (store/ch*.c):
 * RowBinary encoding and decoding with bounds checks, reversed names, SQL
 * literals for fixed-size keys, and running a query into a bounded buffer.
 * Not part of the store's interface.
 */
#ifndef INFRAPIVOT_STORE_CH_INTERNAL_H
#define INFRAPIVOT_STORE_CH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/ch.h"
#include "store/client.h"
#include "util/buf.h"
#include "util/hash.h"

/* ---- RowBinary out (ch_rr.c) ---- */
void ch_rb_uint(struct util_buf *b, uint64_t v, size_t bytes);
void ch_rb_varint(struct util_buf *b, uint64_t v); /* LEB128 */
void ch_rb_bytes(struct util_buf *b, const void *s, size_t n);
void ch_rb_str(struct util_buf *b, const char *s);
/* "www.example.com" -> "com.example.www" into out[STORE_NAME_BUF]. */
void ch_name_rev(const char *name, char *out);
uint32_t ch_clamp_u32(int64_t t);
/* Append one rr_in row (the column order of schema.sql) of a DNS
 * observation under token: at most CH_RR_ROW_MAX bytes. */
void ch_rr_row(struct util_buf *b, const struct store_obs *o, uint64_t token);
#define CH_RR_ROW_MAX                                                                              \
	(8 + 3 * (2 + STORE_NAME_BUF) + 2 + 2 + STORE_RDATA_MAX + 16 + 16 + 2 + STORE_SENSOR_MAX)
/* Rows of one INSERT at most: ClickHouse's max_insert_block_size, the
 * block its HTTP interface cuts a body into anyway. */
#define CH_INSERT_ROWS ((size_t)1 << 20)
/* INSERT sql with body, 3 attempts (same bytes) on STORE_EREMOTE; while
 * c captures (ch_capture), the statement is appended to the capture
 * buffer instead (ch_intent_add) and nothing is sent. */
int ch_insert_retried(store_ch_t *c, const char *sql, const struct util_buf *body);
/* Make c record its INSERTs into to (NULL: send them again); returns the
 * buffer it recorded into before. */
struct util_buf *ch_capture(store_ch_t *c, struct util_buf *to);
/* Append one statement and its body to an intent's record (ch_intent.c). */
int ch_intent_add(struct util_buf *rec, const char *sql, const void *body, size_t blen);

/* ---- RowBinary in: a failed read sets bad and reads nothing more ---- */
struct ch_rb_in {
	const uint8_t *p, *end;
	bool bad;
};
uint64_t ch_rd_uint(struct ch_rb_in *r, size_t bytes);
uint64_t ch_rd_varint(struct ch_rb_in *r);
void ch_rd_str(struct ch_rb_in *r, char *out, size_t cap);
void ch_rd_fixed(struct ch_rb_in *r, void *out, size_t n);
/* An Array(String): the keep smallest non-empty names sorted into
 * store[keep * each] and ptrs, the rest counted in *more. */
void ch_rd_names(struct ch_rb_in *r, size_t each, unsigned keep, char *store, const char **ptrs,
                 unsigned *n, unsigned *more);

/* One merged resolution as read, with room for its strings. */
struct ch_rr_row {
	char rrname[STORE_NAME_BUF];
	char rdata[STORE_RDATA_MAX + STORE_ADDR_BUF];
	char bailiwick[STORE_NAME_BUF];
	char sensors[STORE_SENSORS_KEPT][STORE_SENSOR_MAX];
	struct store_rr rr;
};
/* A row of the resolution SELECT list (RR_COLUMNS below). */
void ch_rd_rr(struct ch_rb_in *r, struct ch_rr_row *row);

/* The SELECT list ch_rd_rr reads, over a table with rr_local's columns;
 * empty sensors (an observation without one) are left out. */
#define CH_RR_COLUMNS                                                                              \
	"rrname, rrtype, any(rdata), any(addr), minMerge(tf), maxMerge(tl), sumMerge(cnt), "       \
	"arrayFilter(x -> x != '', groupUniqArrayMerge(sensors)), maxMerge(bailiwick)"
/* A reversed name in the byte order of the LMDB store's NAMEKEY (labels
 * ended by NUL), so that ORDER BY gives LMDB's order. */
#define CH_NAMEKEY(col) "replaceAll(" col ", '.', '\\0')"

/* ---- queries ---- */
/* A name normalised (store_name_norm, a "*" label with wild) and
 * reversed as the tables key it, into rev.  0 or STORE_EBADNAME &c. */
int ch_name_key(const char *name, bool wild, char rev[STORE_NAME_BUF]);
/* q initialised with head and the name (ch_name_key, quoted) after it. */
int ch_name_sql(struct util_buf *q, const char *head, const char *name);
/* "col >= lo AND col <= hi" for the prefix addr/plen (plen <= 128). */
void ch_where_prefix(struct util_buf *q, const char *col, const uint8_t addr[16], unsigned plen);
/* The n bytes a as a String literal, each byte escaped ('\x01\xAB...'),
 * for a condition on a FixedString(n) column (=, <, IN, the key's ranges
 * and sets take it).  Not a function of a literal, as
 * toFixedString(unhex('..'), n) was: 18.16 analyses each such element of
 * an IN list as an expression, 55-87 ms for 200 addresses against 11-15
 * ms for these (docs/scale-out.md, "Key literals"). */
void ch_sql_fixed(struct util_buf *q, const uint8_t *a, size_t n);
/* toFixedString(unhex('..'), n): a FixedString(n) value where the type
 * matters (a column of a SELECT, which RowBinary answers as one). */
void ch_sql_fixed_col(struct util_buf *q, const uint8_t *a, size_t n);
/* Run q (" FORMAT RowBinary" appended) into resp (initialised here,
 * bounded by STORE_CH_RESPONSE_MAX; the caller frees it).  During a
 * read-ahead, noted or answered from what it kept (ch_ahead_answer). */
int ch_query(store_ch_t *c, struct util_buf *q, struct util_buf *resp);
/* The read-ahead's part in ch_query: whether it answered sql (no rows
 * while recording; else a kept answer, moved into resp). */
bool ch_ahead_answer(store_ch_t *c, const char *sql, struct util_buf *resp);
/* What ch_query appends to a read. */
#define CH_ROWBINARY " FORMAT RowBinary"
/* Two reads at once outside the read-ahead (a read by certificate and its
 * alias check): unless a read-ahead is noting or kept an answer for
 * either, q1 and q2 (as ch_query will send them) go out together on a
 * read-ahead of their own and true is returned; the caller then reads
 * them with ch_query and calls ch_ahead_pair_end(c, *saved). */
bool ch_ahead_pair(store_ch_t *c, const struct util_buf *q1, const struct util_buf *q2,
                   void **saved);
void ch_ahead_pair_end(store_ch_t *c, void *saved);
/* Whether the store files rows under SHA-256 references (LMDB's join
 * resolved when reading, docs/scale-out.md): 0 none, 1 some, < 0 not
 * known.  Asked once a session, with its first read-ahead (a pivot's first
 * level), unless ch_s256_give gave the session a recent answer; a failed
 * answer leaves it unknown. */
int ch_s256(const store_ch_t *c);
/* The session takes v (0 or 1), an answer the process kept
 * (ch_dispatch.c, "the probe's answer kept"), and sends no probe. */
void ch_s256_give(store_ch_t *c, int v);
/* Run q and hand each decoded resolution inside the fence to cb. */
int ch_rr_query(store_ch_t *c, struct util_buf *q, const struct store_fence *f, store_rr_cb cb,
                void *ctx);
/* "clickhouse: a RowBinary row that does not decode" */
int ch_corrupt(void);
/* Run q, whose answer is one UInt64 (no row: 0), into *n. */
int ch_query_u64(store_ch_t *c, struct util_buf *q, uint64_t *n);
/* A string literal, quoted and escaped. */
void ch_sql_str(struct util_buf *q, const char *s);

/* ---- certificates (ch_cert.c) ---- */
/* 0, or STORE_EBADHASH for a certificate observation without a hash. */
int ch_cert_check(const struct store_obs *o);
/* Write the STORE_OBS_CERT observations among obs[n] under token. */
int ch_cert_write(store_ch_t *c, const struct store_obs *obs, size_t n, uint64_t token);
/* The certificate tables' INSERT bodies: sight_in, cert, name_cert,
 * cert_attr (ch_cert.c's order). */
#define CH_CERT_TABLES 5
/* Append the rows of certificate observation o (checked: ch_cert_check)
 * to the bodies t[CH_CERT_TABLES], its sighting and its watch sweep log
 * row under token, the log row as the body's seq-th certificate. */
void ch_cert_rows(struct util_buf *t, const struct store_obs *o, uint64_t token, uint32_t seq);
/* Send the non-empty bodies t[CH_CERT_TABLES], the metadata before the
 * sightings, each with ch_insert_retried.  0 or its error. */
int ch_cert_send(store_ch_t *c, const struct util_buf *t);
/* Free this thread's copy of the last store_ch_cert_get answer (the end
 * of a read: a server's worker thread that exits would leak it). */
void ch_cert_mem_release(void);
/* A certificate reference as the 33 bytes of the cert columns. */
void ch_certref(const struct store_cert_ref *ref, uint8_t out[33]);

/* One merged sighting as read, with room for its strings. */
struct ch_sight_row {
	char sensors[STORE_SENSORS_KEPT][STORE_SENSOR_MAX];
	char sni[STORE_SNI_KEPT][STORE_NAME_BUF];
	struct store_sighting s;
};
/* The SELECT list ch_rd_sight reads, over sight_local's columns. */
#define CH_SIGHT_VALUES                                                                            \
	"ip, port, minMerge(tf), maxMerge(tl), sumMerge(cnt), "                                    \
	"arrayFilter(x -> x != '', groupUniqArrayMerge(sensors)), "                                \
	"arrayFilter(x -> x != '', groupUniqArrayMerge(snis))"
#define CH_SIGHT_COLUMNS "cert, " CH_SIGHT_VALUES
void ch_rd_sight(struct ch_rb_in *r, struct ch_sight_row *row);
/* The settings of a query of rows (ch_query, the read-ahead): the answer
 * whole before the status (a failure is a status, not a cut body);
 * distributed_product_mode=allow, since a certificate's aliases are read
 * by a plain IN over the Distributed cert table, which each shard runs
 * (ch_where_cert says why not GLOBAL); 1 MiB of SQL, since a batch by
 * certificate writes its chunk's keys three times (ch_batch.c: some
 * 400 KiB for CH_BATCH_KEYS, over 18.16's default 256 KiB). */
#define CH_READ_SETTINGS "wait_end_of_query=1&distributed_product_mode=allow&max_query_size=1048576"

/* The SHA-256 references cert rows name (printf: the database), the
 * condition on cert to follow: ch_where_cert's and the batched reads'
 * second branch, "cert IN (" CH_ALIAS_REFS "= X)". */
#define CH_ALIAS_REFS                                                                              \
	"SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM %s.cert WHERE "                \
	"length(sha256) = 32 AND cert "

/* The condition "the rows of certificate rb", as LMDB's SHA-256 -> SHA-1
 * join (cert.c, cert_join) leaves them: those under rb and, for a SHA-1,
 * those under the SHA-256 reference that a cert row of rb names (written
 * before the cluster knew the SHA-1).  db: the store's database
 * (store_ch_db), which the second branch's subquery names. */
void ch_where_cert(struct util_buf *q, const char *db, const uint8_t rb[33]);

/* Listings that name certificates (by address, name, key, subject, serial;
 * stats) name each by its SHA-1 when cert_alias maps its SHA-256 reference
 * to one, with the rows of both merged, as LMDB's join leaves them
 * (docs/scale-out.md, "The SHA-256 -> SHA-1 join").  The WITH clause that
 * defines `al`: the aliases among the references of "SELECT cert FROM
 * <from>" (from: "table WHERE ..." in database db; NULL: every alias) as two arrays of
 * Strings (al.1 the SHA-256 references, al.2 their SHA-1s; an empty pair
 * first, as 18.16's transform refuses empty arrays). */
#define CH_ALIASES_HEAD                                                                            \
	"WITH (SELECT (arrayPushFront(groupArray(toString(a)), ''), "                              \
	"arrayPushFront(groupArray(toString(s)), '')) FROM (SELECT alias AS a, min(cert) AS s "    \
	"FROM cert_alias"
#define CH_ALIASES_TAIL " GROUP BY alias)) AS al "
#define CH_ALIASES_ALL CH_ALIASES_HEAD CH_ALIASES_TAIL
void ch_cert_aliases(struct util_buf *q, const char *db, const char *from);
/* A row's reference under al: its SHA-1 when al maps it (18.16's
 * transform takes no FixedString); group by it so both rows merge. */
#define CH_CERT_KEY "toFixedString(transform(toString(cert), al.1, al.2, toString(cert)), 33)"
/* "<aliases of from> SELECT <select> FROM <from><tail>": a listing whose
 * select and tail name certificates by CH_CERT_KEY (from's error, if
 * any, is q's: ch_query returns it). */
void ch_cert_listing(struct util_buf *q, const char *db, const char *select,
                     const struct util_buf *from, const char *tail);

/* A certificate's metadata, as store_ch_cert_get selects it; decoded by
 * ch_rd_cert into out, its strings in this thread's buffer until the next
 * decode (r->bad when it does not decode). */
#define CH_CERT_COLUMNS                                                                            \
	"max(sha1), max(sha256), argMax(subject, ver), argMax(issuer, ver), "                      \
	"argMax(serial, ver), argMax(not_before, ver), argMax(not_after, ver), "                   \
	"argMax(san_dns, ver), argMax(san_ip, ver), argMax(der, ver), max(ver)"
void ch_rd_cert(struct ch_rb_in *r, struct store_cert_info *out);

/* ---- client sightings (ch_client.c) ---- */
/* Merge the batches' client sightings into their pairs' states on the
 * cluster (read, fold with the LMDB code, insert at ver + 1); sensor ids
 * assigned in s's control LMDB.  Counts into st (may be NULL). */
int ch_client_write(store_t *s, store_batch_t *const *bs, size_t nb, struct store_write_stats *st);
/* As store_clients_of (client NULL), store_clients_pair (client and sid)
 * and store_clients_scan (dtype 0), through rt's session c. */
int store_ch_clients(store_ch_t *c, store_rtxn_t *rt, uint8_t dtype, const char *name,
                     const uint8_t ip[16], const uint8_t *client, uint16_t sid, store_client_cb cb,
                     void *ctx);
/* A key's rows handed on with its index i (a store_client_cb, ctx a
 * struct ch_client_key): the batched readers' (client_read.c). */
struct ch_client_key {
	store_client_key_cb cb;
	size_t i;
	void *ctx;
};
int ch_client_key_tramp(const struct store_client_row *row, void *ctx);
/* As store_clients_of_many: one query for every key (CH_BATCH_KEYS a
 * query), each key's rows as store_ch_clients gives them. */
int store_ch_clients_of_many(store_ch_t *c, store_rtxn_t *rt, const struct store_client_dest *dests,
                             size_t n, store_client_key_cb cb, void *ctx);
/* Append to b the client table's row of an LMDB client record (key,
 * its sensor's name, val: CLIVAL) at version ver under token (migrate).
 * STORE_ECORRUPT for a key or state that does not decode. */
int ch_client_row(struct util_buf *b, uint64_t token, const uint8_t *key, size_t klen,
                  const char *sensor, const uint8_t *val, size_t vlen, uint64_t ver);
/* ---- client retention (ch_client_cut.c; docs/estate.md, "On a
 * ClickHouse store") ---- */
/* The cutoff row: a client table row of dtype 0 (no destination) whose
 * ver is the last retention cutoff (ch_cut_ver), read with a query's
 * pairs (" OR dtype = 0": first in dtype order). */
#define CH_CUT_DTYPE 0
#define CH_CUT_NONE INT64_MIN /* no cutoff yet */
/* A cutoff as the cutoff row's ver (order-preserving) and back. */
uint64_t ch_cut_ver(int64_t cut);
int64_t ch_cut_of_ver(uint64_t ver);
/* The ver of a pair's next row after old (0: none), stamped with the
 * cutoff in force (cut, its high 32 bits): the row counts as written
 * after that retention run. */
uint64_t ch_client_ver(uint64_t old, int64_t cut);
/* A pair whose newest row (its state's last_seen, its ver) the cutoff cut
 * drops: last seen before cut and written before cut was set, as the
 * LMDB store's retention deleted it. */
bool ch_client_dropped(int64_t last_seen, uint64_t ver, int64_t cut);
/* Insert the cutoff row of cut (ch_client.c).  0 or as ch_insert_retried. */
int ch_client_cut_put(store_ch_t *c, int64_t cut);
/* As store_client_newest and store_client_prune. */
int store_ch_client_newest(store_ch_t *c, int64_t *newest);
int store_ch_client_prune(store_ch_t *c, int64_t before, uint64_t *dropped);
/* Append to b an fp_in row (fp.c's fpsight key: FPKEY IP be16 port). */
void ch_fp_row(struct util_buf *b, uint64_t token, const uint8_t *k, int64_t tf, int64_t tl,
               uint64_t count);
/* The name of a sensor id this thread's read made up for a sensor the
 * control LMDB does not know; false for any other id. */
bool ch_client_sensor_name(uint16_t id, char out[STORE_SENSOR_MAX]);
/* Forget those ids (the end of a read). */
void ch_client_mem_release(void);

/* ---- server fingerprints (ch_fp.c) ---- */
/* Write the fingerprint records of b into fp_in under a new token. */
int ch_fp_write(store_ch_t *c, const store_batch_t *b);
/* As store_fp_by_hash, store_fp_by_addr and store_prev_fp_ips. */
int store_ch_fp_by_hash(store_ch_t *c, unsigned fptype, const char *hash,
                        const struct store_fence *f, store_fp_cb cb, void *ctx);
int store_ch_fp_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_fp_cb cb, void *ctx);
int store_ch_prev_fp_ips(store_ch_t *c, unsigned fptype, const char *hash, uint64_t *n);

#endif
