/*
 * client.h - client sightings: which internal host contacted which
 * destination (a domain or an IP), seen by which sensor, when, how often,
 * how regularly and with how many bytes.  Bounded state per (destination,
 * client, sensor, source): no per-contact lists.  The layout is in
 * schema.h and docs/estate.md.
 */
#ifndef INFRAPIVOT_STORE_CLIENT_H
#define INFRAPIVOT_STORE_CLIENT_H

#include "store/store.h"
#include "util/buf.h"

enum store_dest_type { STORE_DEST_DOMAIN = 1, STORE_DEST_IP = 2 };

/* Where a sighting came from; part of the key, so that each source is a
 * stream of its own, in time order within its own log. */
enum store_client_src {
	STORE_CSRC_DNS = 1,  /* a DNS query (Zeek dns.log, EVE dns) */
	STORE_CSRC_SNI = 2,  /* a TLS client hello naming the domain */
	STORE_CSRC_CONN = 3, /* a connection (Zeek conn.log) */
	STORE_CSRC_TLS = 4,  /* a TLS session without SNI, to an IP */
	STORE_CSRC_FLOW = 5, /* a flow (EVE flow) */
	STORE_CSRC_MAX = 5
};
/* "dns", "sni", "conn", "tls", "flow". */
const char *store_client_src_name(unsigned src);

/* Room in b for client sightings taking `bytes` of its memory (about 64
 * a sighting of an IP), so that a caller that knows how much a batch
 * will hold fills it without growing it step by step.  A hint: 0 or
 * -ENOMEM / STORE_ELIMIT, the batch unchanged.  store_client_batch_bytes
 * is what its sightings take now. */
int store_client_batch_reserve(store_batch_t *b, size_t bytes);
size_t store_client_batch_bytes(const store_batch_t *b);

/* One sighting of an IP destination, already parsed: what a
 * STORE_OBS_CLIENT observation of an IP carries, for a caller that adds
 * many (the conn.log fast path) without filling a whole observation. */
struct store_client_ip_sight {
	int64_t t;
	uint8_t src; /* STORE_CSRC_* */
	bool has_bytes;
	uint64_t bytes_out, bytes_in;
	const uint8_t *client, *ip; /* 16 bytes each */
};
/* Add x, seen by sensor ("" for none), to b as store_batch_add adds the
 * same observation.  0, or as store_batch_add: -ENOMEM, STORE_ELIMIT (a
 * full batch, too many sensors, a sensor name too long), STORE_EBADTYPE
 * (src); b unchanged on error. */
int store_client_batch_add_ip(store_batch_t *b, const char *sensor,
                              const struct store_client_ip_sight *x);

/* Put b's client sightings in the order a write merges them in, so that
 * a writer handed many such batches merges their sorted runs instead of
 * sorting every sighting itself: ingest's helper threads call it as they
 * finish a chunk, in parallel, and the one writer thread does less.  A
 * batch of several sensors is left as it is (their order is their ids',
 * which the write assigns), and adding to b afterwards undoes it.  The
 * store writes the same either way.  The sort's working room is tmp's
 * (grown, kept by the caller from one batch to the next: a thread that
 * prepares many batches touches its pages once, not once a batch); NULL
 * takes it from b.  0 or -ENOMEM (b unchanged). */
int store_client_batch_prepare(store_batch_t *b, struct util_buf *tmp);

/* Sparse log-scale histograms: at most cap (index, count) buckets; a new
 * bucket beyond cap folds the smallest bucket into its nearest neighbour. */
#define STORE_HIST_GAP_CAP 32
#define STORE_HIST_BYTES_CAP 12
#define STORE_GAP_STEPS 32  /* gap buckets per doubling: 2.2 % wide */
#define STORE_BYTES_STEPS 4 /* byte buckets per doubling: 19 % wide */
struct store_hist {
	uint8_t n;
	uint16_t idx[STORE_HIST_GAP_CAP + 1];
	uint32_t cnt[STORE_HIST_GAP_CAP + 1];
};
/* Bucket of a gap in seconds (>= 1) and the gap a bucket stands for. */
unsigned store_gap_bucket(uint64_t gap);
double store_gap_value(unsigned idx);
/* Bucket of a byte count and the count a bucket stands for. */
unsigned store_bytes_bucket(uint64_t bytes);
double store_bytes_value(unsigned idx);
/* Add n to bucket idx of h (at most cap buckets). */
void store_hist_add(struct store_hist *h, unsigned cap, unsigned idx, uint32_t n);
uint64_t store_hist_total(const struct store_hist *h);
/* The bucket holding quantile q (0..1) of the counts; 0 when empty. */
unsigned store_hist_quantile(const struct store_hist *h, double q);

/* The state of one (destination, client, sensor, source). */
struct store_client_state {
	int64_t first_seen, last_seen;
	uint64_t count;    /* contacts: distinct seconds */
	uint64_t repeats;  /* sightings in the same second as the previous one */
	uint64_t neg_gaps; /* sightings older than last_seen: out of order, no gap */
	uint32_t hours;    /* bit h: a contact in hour h (UTC) of some day */
	struct store_hist gaps, out, in;
};
void store_client_state_init(struct store_client_state *s);
/* One sighting at t, merged by the rules in docs/estate.md. */
void store_client_add(struct store_client_state *s, int64_t t, bool has_bytes, uint64_t out,
                      uint64_t in);
/* Fold src into dst (joins: the union of two streams' statistics). */
void store_client_merge(struct store_client_state *dst, const struct store_client_state *src);
/* Encode into buf (STORE_CLIENT_VAL_MAX bytes); returns the length. */
#define STORE_CLIENT_VAL_MAX 512
size_t store_client_enc(const struct store_client_state *s, uint8_t *buf);
/* Decode; returns 0 or STORE_ECORRUPT. */
int store_client_dec(const uint8_t *buf, size_t len, struct store_client_state *s);

/* A row as read.  Pointers are valid during the callback only. */
struct store_client_row {
	uint8_t dtype;
	const char *name; /* domain destinations, else NULL */
	uint8_t ip[16];   /* IP destinations */
	uint8_t client[16];
	uint16_t sensor_id; /* 0 = no sensor */
	uint8_t src;
	size_t klen, vlen; /* encoded sizes, for the bytes-per-pair report */
	struct store_client_state st;
};
typedef int (*store_client_cb)(const struct store_client_row *row, void *ctx);

/* Rows of one destination (name for domains, ip for IPs), key order. */
int store_clients_of(store_rtxn_t *r, uint8_t dtype, const char *name, const uint8_t ip[16],
                     store_client_cb cb, void *ctx);
/* Rows of n destinations at once (dests[i].dtype, its name or ip), key by
 * key in input order, each key's rows as store_clients_of gives them; cb
 * gets the key's index.  A callback's STORE_STOP ends that key's rows.
 * One query (per CH_BATCH_KEYS keys) on ClickHouse, a loop on LMDB. */
struct store_client_dest {
	uint8_t dtype;
	const char *name; /* domains */
	uint8_t ip[16];   /* IPs */
};
typedef int (*store_client_key_cb)(size_t key, const struct store_client_row *row, void *ctx);
int store_clients_of_many(store_rtxn_t *r, const struct store_client_dest *dests, size_t n,
                          store_client_key_cb cb, void *ctx);
/* Rows of one destination and client seen by one sensor. */
int store_clients_pair(store_rtxn_t *r, uint8_t dtype, const char *name, const uint8_t ip[16],
                       const uint8_t client[16], uint16_t sensor_id, store_client_cb cb, void *ctx);
/* Every row, grouped by destination (domains first). */
int store_clients_scan(store_rtxn_t *r, store_client_cb cb, void *ctx);

/* Sensor name of an id into out[STORE_SENSOR_MAX] ("" for 0). */
void store_sensor_name(store_rtxn_t *r, uint16_t id, char *out);
/* The organisation of a sensor into out[STORE_SENSOR_MAX]: the stored
 * setting, else the sensor id itself (its own organisation). */
void store_sensor_org(store_rtxn_t *r, const char *sensor, char *out);
/* Set (org non-empty) or clear a sensor's organisation. */
int store_sensor_org_set(store_t *s, const char *sensor, const char *org);
typedef int (*store_sensor_cb)(const char *sensor, const char *org, void *ctx);
/* Every sensor the store knows, with its organisation. */
int store_sensors_list(store_rtxn_t *r, store_sensor_cb cb, void *ctx);

/* Internal networks beyond the built-in ones: comma-separated CIDRs. */
#define STORE_INTERNAL_MAX 1024
int store_internal_set(store_t *s, const char *cidrs);
/* out[STORE_INTERNAL_MAX]; "" when none is set. */
void store_internal_get(store_rtxn_t *r, char *out);

/* Newest client sighting merged so far into *newest (0 when none): on
 * ClickHouse, the newest last contact of the cluster's pairs.  0, or a
 * ClickHouse store's query error. */
int store_client_newest(store_rtxn_t *r, int64_t *newest);
/* Drop rows whose last contact is older than before; *dropped counts them.
 * The whole table is read at most once per day of data: a call whose
 * before is less than a day after the last scan's does nothing.  On
 * ClickHouse the cutoff is stored on the cluster and readers leave the
 * dropped pairs out at once; their rows are deleted by a mutation queued
 * on every shard (store/ch_client_cut.c). */
int store_client_prune(store_t *s, int64_t before, uint64_t *dropped);

#endif
