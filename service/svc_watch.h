/*
 * svc_watch.h - watchlists in the service module, shared by the CLI
 * (cli_watch.c) and the HTTP routes (http_watch.c): settings and entries
 * from JSON, JSON renderers, the sensor export formats, and adding a
 * pivot's result to a list.  Internal to service/.
 */
#ifndef INFRAPIVOT_SVC_WATCH_H
#define INFRAPIVOT_SVC_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pivot/pivot.h"
#include "service/svc.h"
#include "store/watch.h"

#define SVC_WATCH_MAX_ITEMS 100000        /* indicators in one add/remove request */
#define SVC_WATCH_MAX_EXPORT (512u << 20) /* bytes of one rendered export */

enum svc_watch_fmt {
	SVC_WFMT_JSON,
	SVC_WFMT_TEXT,
	SVC_WFMT_ZEEK,
	SVC_WFMT_SURICATA,
	SVC_WFMT_STIX,
};
/* "json", "text", "zeek", "suricata", "stix".  0 or -1. */
int svc_watch_fmt_parse(const char *s, enum svc_watch_fmt *out);
/* The Content-Type of a format. */
const char *svc_watch_ctype(enum svc_watch_fmt f);

/* "serves,resolves" (or "all", or "" / "none" for none) into a mask of
 * store_watch_edge.  0 or -1 with msg naming the bad one. */
int svc_watch_edges_parse(const char *list, unsigned *mask, char *msg, size_t cap);
/* ["resolves","serves"] (new reference). */
json_t *svc_watch_edges_json(unsigned mask);

/* Apply the settings present in a JSON object onto set (absent ones are
 * kept): description, ttl_days, tombstone_days, auto_expand (an object
 * {edges, ttl_days, generations, max_ip_domains, max_cert_ips,
 * max_domain_ips, max_san}, or null/false to switch it off).  0 or -1
 * with msg naming the field. */
int svc_watch_settings_from_json(const json_t *o, struct store_watch_settings *set, char *msg,
                                 size_t cap);

/* Renderers (new references).  Times: util_time_json() (util/time.h). */
json_t *svc_watch_info_json(const struct store_watch_info *info);
json_t *svc_watch_prov_json(const struct store_watch_prov *p);
/* {indicator, type, added, expires, source, [reason], provenance:[first,
 * latest]}; with_state adds version and, for tombstones, state/removed. */
json_t *svc_watch_entry_json(const struct store_watch_entry *e, bool with_state);

/* Items to add, parsed and normalised, with the storage they point into. */
struct svc_watch_items {
	struct store_watch_item *v;
	struct svc_watch_item_buf *buf;
	size_t n, cap;
};
void svc_watch_items_init(struct svc_watch_items *it);
void svc_watch_items_free(struct svc_watch_items *it);
/* Append one indicator: type 0 detects it; ttl_days < 0 means the list's
 * default (default_ttl), 0 never; expires (> 0) wins over ttl_days.  0, or
 * a store error with msg set. */
int svc_watch_items_add(struct svc_watch_items *it, const char *indicator, unsigned type,
                        const char *reason, const char *source, int64_t ttl_days, int64_t expires,
                        uint32_t default_ttl, int64_t now, char *msg, size_t cap);
/* Append each element of a JSON array of {indicator, type?, reason?,
 * ttl_days?, expires?} (or plain strings).  0 or -1 with msg naming the
 * element. */
int svc_watch_items_from_json(struct svc_watch_items *it, const json_t *arr, const char *source,
                              uint32_t default_ttl, int64_t now, char *msg, size_t cap);

/* ---- export ----------------------------------------------------------------- */
struct svc_watch_export {
	enum svc_watch_fmt fmt;
	unsigned type;    /* only this store_watch_type (suricata: required) */
	uint64_t since;   /* 0: the whole list; json and stix only */
	int64_t now;      /* 0: the clock */
	size_t max_bytes; /* 0: SVC_WATCH_MAX_EXPORT */
};
/* Render a list in one read transaction.  *out is malloc'd (caller
 * frees), NUL-terminated; info receives the list at now (its version is
 * the ETag).  Returns 0, STORE_ENOTFOUND, -EINVAL (bad combination, msg
 * set), -E2BIG (over max_bytes) or a store error. */
int svc_watch_export(store_t *s, const char *name, const struct svc_watch_export *x, char **out,
                     size_t *len, struct store_watch_info *info, char *msg, size_t cap);

/* ---- pivot to watchlist ----------------------------------------------------- */
/* Run the pivot p and add every node that was not pruned, the seed
 * included, each with the path of edges from the seed (source "pivot from
 * SEED").  ttl_days < 0: the list's default.  dry_run: report only.
 * *result (new reference): {seed, version, added, refreshed, pruned,
 * truncated, entries:[{indicator,type,result,path}]}.  Returns 0 or an
 * error with msg set (STORE_ENOTFOUND: no such list). */
int svc_watch_pivot(store_t *s, const char *name, const struct pivot_params *p, int64_t ttl_days,
                    const char *who, const char *reason, int64_t now, bool dry_run, json_t **result,
                    char *msg, size_t cap);

/* If-None-Match against a version: true when one of the listed tags
 * (quoted or not, W/ allowed, or "*") names it. */
bool svc_watch_etag_match(const char *if_none_match, uint64_t version);

#endif
