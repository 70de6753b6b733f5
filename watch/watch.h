/*
 * watch.h - the watch module, between pivot and service, and its one
 * public header: watchlists as the CLI (service/cli_watch.c) and the HTTP
 * routes (service/http_watch.c) use them.  Settings and entries from JSON
 * and the JSON renderers (watch.c), the sensor export formats (export.c),
 * adding a pivot's result to a list (pivot.c).  The watchlist tables and
 * the standing-pivot write hook stay in the store (store/watch.h): they run
 * inside the store's transactions.
 */
#ifndef INFRAPIVOT_WATCH_WATCH_H
#define INFRAPIVOT_WATCH_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pivot/pivot.h"
#include "store/watch.h"

#define WATCH_MAX_ITEMS 100000        /* indicators in one add/remove request */
#define WATCH_MAX_EXPORT (512u << 20) /* bytes of one rendered export */

enum watch_fmt {
	WATCH_FMT_JSON,
	WATCH_FMT_TEXT,
	WATCH_FMT_ZEEK,
	WATCH_FMT_SURICATA,
	WATCH_FMT_STIX,
	WATCH_FMT_MISP,
};
/* "json", "text", "zeek", "suricata", "stix", "misp".  0 or -1. */
int watch_fmt_parse(const char *s, enum watch_fmt *out);
/* The Content-Type of a format. */
const char *watch_ctype(enum watch_fmt f);

/* "serves,resolves" (or "all", or "" / "none" for none) into a mask of
 * store_edge.  0 or -1 with msg naming the bad one. */
int watch_edges_parse(const char *list, unsigned *mask, char *msg, size_t cap);
/* ["resolves","serves"] (new reference). */
json_t *watch_edges_json(unsigned mask);

/* Apply the settings present in a JSON object onto set (absent ones are
 * kept): description, ttl_days, tombstone_days, auto_expand (an object
 * {edges, ttl_days, generations, max_ip_domains, max_cert_ips,
 * max_domain_ips, max_san}, or null/false to switch it off).  0 or -1
 * with msg naming the field. */
int watch_settings_from_json(const json_t *o, struct store_watch_settings *set, char *msg,
                             size_t cap);

/* Renderers (new references).  Times: util_time_json() (util/time.h). */
json_t *watch_info_json(const struct store_watch_info *info);
json_t *watch_prov_json(const struct store_watch_prov *p);
/* A provenance hop in the relationship's own direction, whichever way the
 * walk went: a domain resolves to an IP, an alias is a CNAME of its
 * target, an IP serves a certificate, a certificate names a domain (san),
 * a domain was the SNI of a certificate.  *src and *dst point into h.
 * Returns the store_edge (without STORE_WATCH_HOP_BACKWARD). */
unsigned watch_hop_orient(const struct store_watch_hop *h, const char **src, const char **dst);
/* {indicator, type, added, expires, source, [reason], provenance:[first,
 * latest]}; with_state adds version and, for tombstones, state/removed. */
json_t *watch_entry_json(const struct store_watch_entry *e, bool with_state);

/* Items to add, parsed and normalised, with the storage they point into. */
struct watch_items {
	struct store_watch_item *v;
	struct watch_item_buf *buf;
	size_t n, cap;
};
void watch_items_init(struct watch_items *it);
void watch_items_free(struct watch_items *it);
/* Append one indicator: type 0 detects it; ttl_days < 0 means the list's
 * default (default_ttl), 0 never; expires (> 0) wins over ttl_days.  0, or
 * a store error with msg set. */
int watch_items_add(struct watch_items *it, const char *indicator, unsigned type,
                    const char *reason, const char *source, int64_t ttl_days, int64_t expires,
                    uint32_t default_ttl, int64_t now, char *msg, size_t cap);
/* Append each element of a JSON array of {indicator, type?, reason?,
 * ttl_days?, expires?} (or plain strings).  0 or -1 with msg naming the
 * element. */
int watch_items_from_json(struct watch_items *it, const json_t *arr, const char *source,
                          uint32_t default_ttl, int64_t now, char *msg, size_t cap);

/* The settings of list name, or the defaults for a new list of that name
 * (create-or-update starts from these).  0 or a store error. */
int watch_settings_load(store_t *s, const char *name, int64_t now,
                        struct store_watch_settings *set);
/* [{indicator, type, result}] for the items of an add or remove and the
 * store_watch_result of each ("added", "refreshed", "removed", "absent").
 * New reference. */
json_t *watch_results_json(const struct watch_items *it, const int *results);

/* ---- export ----------------------------------------------------------------- */
struct watch_export_opts {
	enum watch_fmt fmt;
	unsigned type;    /* only this store_watch_type (suricata: required) */
	uint64_t since;   /* 0: the whole list; json and stix only */
	int64_t now;      /* 0: the clock */
	size_t max_bytes; /* 0: WATCH_MAX_EXPORT */
};
/* Render a list in one read transaction.  *out is malloc'd (caller
 * frees), NUL-terminated; info receives the list at now (its version is
 * the ETag).  Returns 0, STORE_ENOTFOUND, -EINVAL (bad combination, msg
 * set), -E2BIG (over max_bytes) or a store error. */
int watch_export(store_t *s, const char *name, const struct watch_export_opts *x, char **out,
                 size_t *len, struct store_watch_info *info, char *msg, size_t cap);

/* ---- pivot to watchlist ----------------------------------------------------- */
/* Run the pivot p and add every node that was not pruned, the seed
 * included, each with the path of edges from the seed (source "pivot from
 * SEED").  ttl_days < 0: the list's default.  dry_run: report only.
 * *result (new reference): {seed, version, added, refreshed, pruned,
 * truncated, entries:[{indicator,type,result,path}]}.  Returns 0 or an
 * error with msg set (STORE_ENOTFOUND: no such list). */
int watch_pivot(store_t *s, const char *name, const struct pivot_params *p, int64_t ttl_days,
                const char *who, const char *reason, int64_t now, bool dry_run, json_t **result,
                char *msg, size_t cap);

/* ---- the watch sweep (sweep.c; docs/scale-out.md, "The watch sweep") ------- */
#define WATCH_SWEEP_OVERLAP 300 /* seconds read again each sweep: late rows */
#define WATCH_SWEEP_INTERVAL 60 /* seconds between a server's sweeps */
struct watch_sweep_opts {
	uint32_t overlap; /* seconds before the checkpoint read again */
	int64_t now;      /* the hook's clock (0: the clock) */
};
struct watch_sweep_stats {
	uint32_t from, to;     /* the window read: ins >= from; to = the new checkpoint */
	uint64_t names, addrs; /* watched domains and IPs asked for */
	uint64_t certs, keys;  /* watched certificates and keys asked for */
	uint64_t rows, fed;    /* rows read; fed to the standing pivots (not seen before) */
};
/* On a ClickHouse store: feed the standing pivots the resolutions and
 * certificate observations the cluster took since the last sweep (less
 * the overlap) that touch watched indicators, each row once, and move the checkpoint, in one
 * control transaction.  0, or an error with msg set ("... checkpoint not moved"); STORE_ENOTSUP on
 * LMDB (its writes run the standing pivots). */
int watch_sweep(store_t *s, const struct watch_sweep_opts *o, struct watch_sweep_stats *st,
                char *msg, size_t cap);

/* If-None-Match against a version: true when one of the listed tags
 * (quoted or not, W/ allowed, or "*") names it. */
bool watch_etag_match(const char *if_none_match, uint64_t version);

#endif
