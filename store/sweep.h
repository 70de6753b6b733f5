/*
 * sweep.h - the store's side of the watch sweep (docs/scale-out.md, "The
 * watch sweep"): on a ClickHouse store, standing pivots are not run as
 * records are written (the write hook is LMDB's; a writer on another node
 * never reaches this node's watchlists) but by a sweep that reads the
 * cluster's logs of inserted resolutions and certificate observations
 * (sweep_rr, sweep_cert: schema.sql) newer than a checkpoint and feeds the
 * rows that touch watched indicators to the same hook (store_watch_hook).  The logic, the
 * checkpoint and the deduplication are watch/sweep.c's; this header is the query and the feed.  On
 * an LMDB store every call is STORE_ENOTSUP.
 */
#ifndef INFRAPIVOT_STORE_SWEEP_H
#define INFRAPIVOT_STORE_SWEEP_H

#include "store/store.h"

/* Indicators a query names at most (the rest go in further queries). */
#define STORE_SWEEP_KEYS 500

/* The cluster's clock: now() of the entry point that answers. */
int store_sweep_clock(store_t *s, uint32_t *now);

/* One row of the log: o is a DNS observation (A, AAAA or CNAME) as the
 * writer inserted it; ins the time its shard's replica took it (that
 * replica's clock); blk the writer's batch token. */
typedef int (*store_sweep_cb)(uint32_t ins, uint64_t blk, const struct store_obs *o, void *ctx);
/* The log's rows with ins >= from (and < until, unless 0) whose name (or CNAME target) is one of
 * names (normalised domains) or whose address is one of addrs, in (ins,
 * blk, name, type, rdata, sensor) order within each query of at most
 * STORE_SWEEP_KEYS names and addresses; a row may come once per query
 * that matches it.  0, or a store error (the cluster's message in
 * store_last_error()); cb's non-zero result ends it. */
int store_sweep_rows(store_t *s, uint32_t from, uint32_t until, const char *const *names,
                     size_t nnames, const uint8_t (*addrs)[16], size_t naddrs, store_sweep_cb cb,
                     void *ctx);

/* What the certificate log is asked for: watched domains (normalised:
 * an SNI or a SAN name), addresses (a sighting's), certificates (SHA-1 or
 * SHA-256 as 40 or 64 hex digits) and keys (SPKI SHA-256). */
struct store_sweep_watched {
	const char *const *names;
	size_t nnames;
	const uint8_t (*addrs)[16];
	size_t naddrs;
	const char *const *certs;
	size_t ncerts;
	const uint8_t (*keys)[32];
	size_t nkeys;
};
/* One row of the certificate log: o a certificate observation as the
 * writer had it (o->cert.meta: the callee's, valid during the call; its
 * hashes, key and SAN names), seq its place among its batch's
 * certificates. */
typedef int (*store_sweep_cert_cb)(uint32_t ins, uint64_t blk, uint32_t seq,
                                   const struct store_obs *o, void *ctx);
/* The certificate log's rows with ins >= from (and < until, unless 0)
 * that name a watched
 * domain (SNI or SAN), address, certificate (either hash, or the SHA-256
 * the cluster knows for a watched SHA-1) or key, in (ins, blk, seq) order
 * within each query of at most STORE_SWEEP_KEYS of each kind; a row may
 * come once per query that matches it.  0, or a store error; cb's
 * non-zero result ends it. */
int store_sweep_certs(store_t *s, uint32_t from, uint32_t until,
                      const struct store_sweep_watched *k, store_sweep_cert_cb cb, void *ctx);

/* Observation i into *o and when it was written into *at, on the hook's
 * clock (0, or an error that ends the feed). */
typedef int (*store_sweep_get)(size_t i, struct store_obs *o, int64_t *at, void *ctx);
/* In one control transaction: the n observations get() gives, each fed to
 * the standing-pivot hook (store_watch_hook_at, with now, 0 = the clock,
 * and the row's time: entries added after it do not expand from it)
 * whose readers (noise limits, temporal affinity) ask the cluster, and
 * the meta record state put: the lists change and the checkpoint moves
 * together, or neither does. */
int store_sweep_feed(store_t *s, size_t n, store_sweep_get get, void *ctx, int64_t now,
                     const struct store_meta_put *state);

#endif
