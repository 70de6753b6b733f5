/*
 * watch.h - watchlists in the store: named lists of indicators (domains,
 * IPs, certificate hashes) with expiry, provenance, a version bumped on
 * every change, tombstones for deltas, and an optional standing-pivot rule
 * applied by the store's write hook while observations are merged.
 *
 * This is the store module's second public header (the first is store.h,
 * which it includes): the watchlist API is large and self-contained, and
 * callers that do not touch watchlists need not see it.  The layout of the
 * w* tables is in schema.h.
 *
 * Time: every function takes `now` (epoch seconds; 0 = the clock).  An
 * entry whose expiry is <= now is expired: readers leave it out of every
 * listing at that moment without any job having to run.  Each expiry is a
 * change with its own version: readers number the expiries that are due
 * but not yet recorded after the stored version, in (expiry, indicator)
 * order, and the next write records them with exactly those numbers, so a
 * version seen by a reader always means the same content.
 */
#ifndef INFRAPIVOT_STORE_WATCH_H
#define INFRAPIVOT_STORE_WATCH_H

#include "store/store.h"

/* ---- limits ------------------------------------------------------------ */
#define STORE_WATCH_NAME_BUF 65 /* [A-Za-z0-9._-]{1,64} + NUL */
#define STORE_WATCH_DESC_BUF 513
#define STORE_WATCH_TEXT_BUF 512           /* source, reason, provenance note */
#define STORE_WATCH_IND_BUF STORE_NAME_BUF /* indicator text */
#define STORE_WATCH_HOPS_MAX 6             /* = the pivot engine's maximum depth */
#define STORE_WATCH_MAX_LISTS 4096
#define STORE_WATCH_MAX_ENTRIES 1000000 /* live entries per list */
#define STORE_WATCH_MAX_GEN 6           /* standing-pivot generations */
#define STORE_WATCH_DEFAULT_TTL_DAYS 30
#define STORE_WATCH_DEFAULT_TOMB_DAYS 30

/* Indicator types are the store's node kinds (store_node_type). */
#define STORE_WATCH_DOMAIN STORE_NODE_DOMAIN
#define STORE_WATCH_IP STORE_NODE_IP
#define STORE_WATCH_CERT STORE_NODE_CERT
#define STORE_WATCH_KEY STORE_NODE_KEY         /* SPKI SHA-256, 64 hex digits */
#define STORE_WATCH_SUBJECT STORE_NODE_SUBJECT /* a DN, normalised (store_dn_norm) */
#define STORE_WATCH_JARM STORE_NODE_JARM
#define STORE_WATCH_JA3S STORE_NODE_JA3S
#define STORE_WATCH_NTYPES 7 /* types 1..7 */

enum store_watch_state { STORE_WATCH_LIVE = 1, STORE_WATCH_REMOVED = 2, STORE_WATCH_EXPIRED = 3 };

/* "domain", "ip", "cert", "key", "subject", "jarm", "ja3s"; "live",
 * "removed", "expired".  Edge names:
 * store_edge_name(). */
const char *store_watch_type_name(unsigned type);
const char *store_watch_state_name(unsigned state);
/* Parse a type name (or "auto", which gives 0).  Returns 0 or STORE_EBADTYPE. */
int store_watch_type_parse(const char *s, unsigned *type);

/* Normalise an indicator into out[STORE_WATCH_IND_BUF]: a domain as
 * store_name_norm (no wildcards), an IP in canonical text, a certificate as
 * lower-case hex without colons (40 or 64 digits), a key, JARM or JA3S as
 * lower-case hex, a subject as store_dn_norm (at most 255 bytes).  *type 0
 * detects the type and receives it (62 hex digits are a JARM, 32 a JA3S;
 * a key or subject must be named).  Returns 0 or STORE_EBADNAME/EBADADDR/EBADHASH. */
int store_watch_indicator_norm(const char *in, unsigned *type, char *out);

/* True when name is a valid watchlist name. */
bool store_watch_name_ok(const char *name);

/* ---- settings ---------------------------------------------------------- */
struct store_watch_settings {
	char name[STORE_WATCH_NAME_BUF];
	char description[STORE_WATCH_DESC_BUF];
	uint32_t ttl_days;       /* default expiry of entries; 0 = never */
	uint32_t tombstone_days; /* how long removals stay for deltas */
	/* standing pivot: 0 edges = off */
	unsigned auto_edges;    /* mask of store_edge */
	uint32_t auto_ttl_days; /* expiry of what it adds; 0 = the list's ttl_days */
	unsigned auto_max_gen;  /* expand from entries of generation < this (1..6) */
	/* noise limits, as the pivot engine names them */
	uint64_t max_ip_domains, max_cert_ips, max_domain_ips, max_san;
};
/* Defaults: ttl 30 days, tombstones 30 days, no standing pivot, generation
 * 1, noise limits 100/50/50/80 (the pivot engine's). */
void store_watch_settings_init(struct store_watch_settings *set);

struct store_watch_info {
	struct store_watch_settings set;
	uint32_t id;
	int64_t created, updated;
	uint64_t version;       /* at `now`: stored + expiries due */
	uint64_t delta_floor;   /* since_version below this gets a full list */
	uint64_t live;          /* entries not removed and not expired at now */
	uint64_t expired_due;   /* expired at now, not yet recorded */
	uint64_t tombstones;    /* removals and expiries kept for deltas */
	uint64_t auto_added;    /* entries the standing pivot added */
	uint64_t noise_skipped; /* links it did not follow (noise limits) */
	int64_t last_skip_time;
	char last_skip[STORE_WATCH_TEXT_BUF]; /* "203.0.113.9 (ip): 5000 names > 100" */
};

/* Create a watchlist, or update the settings of an existing one (a
 * settings change bumps the version).  *created (may be NULL) tells which.
 * Returns 0, STORE_EBADNAME for a bad name, STORE_ELIMIT past
 * STORE_WATCH_MAX_LISTS. */
int store_watch_put(store_t *s, const struct store_watch_settings *set, int64_t now, bool *created);
/* Delete a watchlist with all its entries.  STORE_ENOTFOUND when none. */
int store_watch_delete(store_t *s, const char *name);
/* Settings and counters of a list at now.  STORE_ENOTFOUND when none. */
int store_watch_get(store_t *s, const char *name, int64_t now, struct store_watch_info *out);
typedef int (*store_watch_list_cb)(const struct store_watch_info *info, void *ctx);
/* Every list in name order.  cb returns 0, STORE_STOP or <0. */
int store_watch_list(store_t *s, int64_t now, store_watch_list_cb cb, void *ctx);

/* ---- entries ------------------------------------------------------------ */
/* One edge of a provenance path; values are indicator texts. */
struct store_watch_hop {
	uint8_t edge;               /* store_edge, | STORE_WATCH_HOP_BACKWARD */
	uint8_t from_type, to_type; /* store_watch_type */
	char from[STORE_WATCH_IND_BUF], to[STORE_WATCH_IND_BUF];
	int64_t first_seen, last_seen;
	uint16_t port; /* serves; 0 otherwise */
};

/* In a hop's edge: the walk went from the relationship's target to its
 * source (set for cname hops, the one edge whose node types do not say
 * which way it points). */
#define STORE_WATCH_HOP_BACKWARD 0x80

/* Why an entry is on a list: a note ("pivot from x", "auto: serves with
 * y, seen T by S", or a reason) and the path of edges that led to it. */
struct store_watch_prov {
	int64_t at;
	char note[STORE_WATCH_TEXT_BUF];
	unsigned nhops;
	struct store_watch_hop hops[STORE_WATCH_HOPS_MAX];
};

struct store_watch_entry {
	uint8_t type;
	char indicator[STORE_WATCH_IND_BUF];
	uint8_t state; /* store_watch_state, as seen at now */
	uint8_t gen;   /* 0 added by someone; n by the standing pivot */
	int64_t added, updated;
	int64_t expires;                   /* 0 = never */
	int64_t removed;                   /* removal or expiry time; 0 while live */
	uint64_t version;                  /* of its last change */
	char source[STORE_WATCH_TEXT_BUF]; /* token name, "pivot from SEED", "auto", "cli" */
	char reason[STORE_WATCH_TEXT_BUF];
	struct store_watch_prov prov_first;
	bool has_latest;
	struct store_watch_prov prov_latest; /* the latest add, when added again */
};

/* One indicator to add (already normalised). */
struct store_watch_item {
	uint8_t type;
	const char *indicator;
	int64_t expires;                     /* 0 = never */
	const char *source;                  /* NULL = "" */
	const char *reason;                  /* NULL = keep / "" */
	const struct store_watch_prov *prov; /* NULL = none */
};

enum store_watch_result {
	STORE_WATCH_ADDED = 1,     /* new on the list */
	STORE_WATCH_REFRESHED = 2, /* was there: expiry refreshed, latest provenance kept */
	STORE_WATCH_REMOVED_OK = 3,
	STORE_WATCH_ABSENT = 4, /* remove: not on the list */
};

/* Add n indicators in one transaction (one version for all).  Adding one
 * that is live refreshes its expiry (never shortens it) and records the
 * latest provenance next to the first.  results[i] (may be NULL) receives
 * a store_watch_result; *version (may be NULL) the list's version after.
 * Returns 0, STORE_ENOTFOUND (no list), STORE_ELIMIT (list full),
 * STORE_EBADNAME/EBADADDR/EBADHASH for an indicator that does not encode. */
int store_watch_add(store_t *s, const char *name, const struct store_watch_item *items, size_t n,
                    int64_t now, int *results, uint64_t *version);
/* Remove n indicators (type + indicator of each item; the rest ignored),
 * leaving tombstones.  results as for add (REMOVED_OK or ABSENT). */
int store_watch_remove(store_t *s, const char *name, const struct store_watch_item *items, size_t n,
                       int64_t now, int *results, uint64_t *version);

/* Read a list.  since_version 0: every live entry (state LIVE).  Else, when
 * since_version is in [delta_floor, version]: only what changed after it,
 * live entries and tombstones (state REMOVED/EXPIRED, expiries due at now
 * included); otherwise the full list and *full = true.  The entry passed to
 * cb is valid during the call.  info (may be NULL) receives the list at now.
 * All in one short read transaction.  cb returns 0, STORE_STOP or <0. */
typedef int (*store_watch_entry_cb)(const struct store_watch_entry *e, void *ctx);
int store_watch_read(store_t *s, const char *name, int64_t now, uint64_t since_version,
                     store_watch_entry_cb cb, void *ctx, struct store_watch_info *info, bool *full);
/* One entry in any state (tombstones too).  STORE_ENOTFOUND when neither
 * the list nor the entry exists. */
int store_watch_entry_get(store_t *s, const char *name, unsigned type, const char *indicator,
                          int64_t now, struct store_watch_entry *out);

/* ---- standing pivots ----------------------------------------------------- */
/* The write hook every writable store runs by default (store_open installs
 * it; store_set_write_hook replaces it).  For each observation that links
 * a node to a live entry of a list with a standing-pivot rule over that
 * edge, it adds the other node, unless a noise limit marks it (counted in
 * the list's noise_skipped).  ctx: NULL, or an int64_t now override. */
int store_watch_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx);
/* The hook for an observation written at `at` (the watch sweep's rows, on
 * now's clock): only entries added by then expand from it.  now: 0 = the
 * clock. */
int store_watch_hook_at(struct store_wtxn *w, const struct store_obs *o, int64_t now, int64_t at);

#endif
