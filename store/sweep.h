/*
 * sweep.h - the store's side of the watch sweep (docs/scale-out.md, "The
 * watch sweep"): on a ClickHouse store, standing pivots are not run as
 * records are written (the write hook is LMDB's; a writer on another node
 * never reaches this node's watchlists) but by a sweep that reads the
 * cluster's log of inserted resolutions (sweep_rr, schema.sql) newer than
 * a checkpoint and feeds the rows that touch watched indicators to the
 * same hook (store_watch_hook).  The logic, the checkpoint and the
 * deduplication are watch/sweep.c's; this header is the query and the
 * feed.  On an LMDB store every call is STORE_ENOTSUP.
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
/* The log's rows with ins >= from whose name (or CNAME target) is one of
 * names (normalised domains) or whose address is one of addrs, in (ins,
 * blk, name, type, rdata, sensor) order within each query of at most
 * STORE_SWEEP_KEYS names and addresses; a row may come once per query
 * that matches it.  0, or a store error (the cluster's message in
 * store_last_error()); cb's non-zero result ends it. */
int store_sweep_rows(store_t *s, uint32_t from, const char *const *names, size_t nnames,
                     const uint8_t (*addrs)[16], size_t naddrs, store_sweep_cb cb, void *ctx);

/* Observation i into *o (0, or an error that ends the feed). */
typedef int (*store_sweep_get)(size_t i, struct store_obs *o, void *ctx);
/* In one control transaction: the n observations get() gives, each fed to
 * the standing-pivot hook (store_watch_hook, with now; 0 = the clock)
 * whose readers (noise limits, temporal affinity) ask the cluster, and
 * the meta record state put: the lists change and the checkpoint moves
 * together, or neither does. */
int store_sweep_feed(store_t *s, size_t n, store_sweep_get get, void *ctx, int64_t now,
                     const struct store_meta_put *state);

#endif
