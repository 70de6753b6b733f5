/*
 * watch.c - watchlists for the CLI and the HTTP API: settings and items
 * from JSON, and the JSON renderers.  The sensor export formats are in
 * export.c, adding a pivot's result in pivot.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/time.h"
#include "watch/watch_internal.h"

void watch_msgf(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

int64_t watch_clock(int64_t now)
{
	return now != 0 ? now : (int64_t)time(NULL);
}

/* ---- edges ------------------------------------------------------ */

static int edge_one(const char *s, size_t n, unsigned *mask)
{
	unsigned edge =
	    n == 3 && memcmp(s, "all", 3) == 0 ? STORE_EDGE_ALL : store_edge_by_name(s, n);
	*mask |= edge;
	return edge != 0 ? 0 : -1;
}

int watch_edges_parse(const char *list, unsigned *mask, char *msg, size_t cap)
{
	*mask = 0;
	if (*list == '\0' || strcmp(list, "none") == 0)
		return 0;
	const char *p = list;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (edge_one(p, n, mask) != 0) {
			watch_msgf(
			    msg, cap,
			    "unknown edge type '%.*s' (known: resolves, cname, serves, san, sni, "
			    "all)",
			    (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

json_t *watch_edges_json(unsigned mask)
{
	json_t *a = json_array();
	for (unsigned b = 1; b <= STORE_EDGE_SNI; b <<= 1)
		if (mask & b)
			json_array_append_new(a, json_string(store_edge_name(b)));
	return a;
}

/* ---- settings ------------------------------------------------------------------ */

static int json_uint(const json_t *v, const char *field, uint64_t max, uint64_t *out, char *msg,
                     size_t cap)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		watch_msgf(msg, cap, "%s must be an integer 0-%llu", field,
		           (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* auto_expand.edges: "serves,resolves" or ["serves","resolves"]. */
static int auto_edges_from_json(const json_t *v, unsigned *mask, char *msg, size_t cap)
{
	*mask = 0;
	if (json_is_string(v))
		return watch_edges_parse(json_string_value(v), mask, msg, cap) != 0 ? -1 : 0;
	if (!json_is_array(v)) {
		watch_msgf(msg, cap, "auto_expand.edges must be a list of edge types");
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);
		if (s == NULL || edge_one(s, strlen(s), mask) != 0) {
			watch_msgf(msg, cap,
			           "auto_expand.edges[%zu]: not an edge type (resolves, cname, "
			           "serves, san, sni)",
			           i);
			return -1;
		}
	}
	return 0;
}

/* auto_expand.max_*: the noise limits.  1 when k is none of them. */
static int auto_limit_from_json(const char *k, const json_t *v, struct store_watch_settings *set,
                                char *msg, size_t cap)
{
	static const char *const names[] = {"max_ip_domains", "max_cert_ips", "max_domain_ips",
	                                    "max_san"};
	uint64_t *dst[] = {&set->max_ip_domains, &set->max_cert_ips, &set->max_domain_ips,
	                   &set->max_san};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(k, names[i]) != 0)
			continue;
		char f[64];
		watch_msgf(f, sizeof(f), "auto_expand.%s", k);
		return json_uint(v, f, UINT32_MAX, dst[i], msg, cap);
	}
	return 1;
}

/* One field of auto_expand; *have_edges tells whether edges was given. */
static int auto_field(const char *k, const json_t *v, struct store_watch_settings *set,
                      bool *have_edges, char *msg, size_t cap)
{
	uint64_t u;
	if (strcmp(k, "edges") == 0) {
		*have_edges = true;
		return auto_edges_from_json(v, &set->auto_edges, msg, cap);
	}
	if (strcmp(k, "ttl_days") == 0) {
		if (json_uint(v, "auto_expand.ttl_days", 36500, &u, msg, cap) != 0)
			return -1;
		set->auto_ttl_days = (uint32_t)u;
		return 0;
	}
	if (strcmp(k, "generations") == 0) {
		if (json_uint(v, "auto_expand.generations", STORE_WATCH_MAX_GEN, &u, msg, cap) !=
		        0 ||
		    u == 0) {
			watch_msgf(msg, cap, "auto_expand.generations must be 1-%d",
			           STORE_WATCH_MAX_GEN);
			return -1;
		}
		set->auto_max_gen = (unsigned)u;
		return 0;
	}
	int r = auto_limit_from_json(k, v, set, msg, cap);
	if (r == 1)
		watch_msgf(msg, cap,
		           "auto_expand.%.40s: unknown field (edges, ttl_days, generations, "
		           "max_ip_domains, max_cert_ips, max_domain_ips, max_san)",
		           k);
	return r == 0 ? 0 : -1;
}

static int auto_from_json(const json_t *a, struct store_watch_settings *set, char *msg, size_t cap)
{
	if (a == NULL || json_is_null(a) || json_is_false(a)) {
		set->auto_edges = 0;
		return 0;
	}
	if (json_is_true(a)) {
		set->auto_edges = STORE_EDGE_ALL;
		return 0;
	}
	if (!json_is_object(a)) {
		watch_msgf(msg, cap, "auto_expand must be an object, or null to switch it off");
		return -1;
	}
	const char *k;
	json_t *v;
	bool have_edges = false;
	json_object_foreach((json_t *)a, k, v)
	{
		if (auto_field(k, v, set, &have_edges, msg, cap) != 0)
			return -1;
	}
	if (!have_edges && set->auto_edges == 0)
		set->auto_edges = STORE_EDGE_ALL;
	return 0;
}

int watch_settings_from_json(const json_t *o, struct store_watch_settings *set, char *msg,
                             size_t cap)
{
	if (!json_is_object(o)) {
		watch_msgf(msg, cap, "the body must be a JSON object");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		uint64_t u;
		if (strcmp(k, "description") == 0) {
			const char *d = json_string_value(v);
			if (d == NULL || strlen(d) >= sizeof(set->description)) {
				watch_msgf(msg, cap,
				           "description must be a string of at most %zu bytes",
				           sizeof(set->description) - 1);
				return -1;
			}
			snprintf(set->description, sizeof(set->description), "%s", d);
		} else if (strcmp(k, "ttl_days") == 0) {
			if (json_uint(v, "ttl_days", 36500, &u, msg, cap) != 0)
				return -1;
			set->ttl_days = (uint32_t)u;
		} else if (strcmp(k, "tombstone_days") == 0) {
			if (json_uint(v, "tombstone_days", 3650, &u, msg, cap) != 0 || u == 0) {
				watch_msgf(msg, cap, "tombstone_days must be 1-3650");
				return -1;
			}
			set->tombstone_days = (uint32_t)u;
		} else if (strcmp(k, "auto_expand") == 0) {
			if (auto_from_json(v, set, msg, cap) != 0)
				return -1;
		} else if (strcmp(k, "name") == 0) {
			const char *n = json_string_value(v);
			if (n == NULL || strcmp(n, set->name) != 0) {
				watch_msgf(msg, cap, "name must be the name in the path");
				return -1;
			}
		} else {
			watch_msgf(msg, cap,
			           "%.40s: unknown field (description, ttl_days, tombstone_days, "
			           "auto_expand)",
			           k);
			return -1;
		}
	}
	return 0;
}

/* ---- renderers ------------------------------------------------------------------ */

json_t *watch_info_json(const struct store_watch_info *i)
{
	const struct store_watch_settings *st = &i->set;
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(st->name));
	json_object_set_new(o, "description", json_string(st->description));
	json_object_set_new(o, "version", json_integer((json_int_t)i->version));
	json_object_set_new(o, "ttl_days", json_integer(st->ttl_days));
	json_object_set_new(o, "tombstone_days", json_integer(st->tombstone_days));
	if (st->auto_edges != 0) {
		json_t *a = json_object();
		json_object_set_new(a, "edges", watch_edges_json(st->auto_edges));
		json_object_set_new(
		    a, "ttl_days",
		    json_integer(st->auto_ttl_days ? st->auto_ttl_days : st->ttl_days));
		json_object_set_new(a, "generations", json_integer(st->auto_max_gen));
		json_object_set_new(a, "max_ip_domains",
		                    json_integer((json_int_t)st->max_ip_domains));
		json_object_set_new(a, "max_cert_ips", json_integer((json_int_t)st->max_cert_ips));
		json_object_set_new(a, "max_domain_ips",
		                    json_integer((json_int_t)st->max_domain_ips));
		json_object_set_new(a, "max_san", json_integer((json_int_t)st->max_san));
		json_object_set_new(o, "auto_expand", a);
	} else {
		json_object_set_new(o, "auto_expand", json_null());
	}
	json_object_set_new(o, "created", util_time_json(i->created));
	json_object_set_new(o, "updated", util_time_json(i->updated));
	json_object_set_new(o, "entries", json_integer((json_int_t)i->live));
	json_object_set_new(o, "tombstones", json_integer((json_int_t)i->tombstones));
	json_object_set_new(o, "delta_floor", json_integer((json_int_t)i->delta_floor));
	json_t *sp = json_object();
	json_object_set_new(sp, "added", json_integer((json_int_t)i->auto_added));
	json_object_set_new(sp, "noise_skipped", json_integer((json_int_t)i->noise_skipped));
	json_object_set_new(sp, "last_skip",
	                    i->last_skip[0] ? json_string(i->last_skip) : json_null());
	json_object_set_new(sp, "last_skip_time", util_time_json(i->last_skip_time));
	json_object_set_new(o, "standing_pivot", sp);
	return o;
}

unsigned watch_hop_orient(const struct store_watch_hop *h, const char **src, const char **dst)
{
	unsigned edge = h->edge & ~(unsigned)STORE_WATCH_HOP_BACKWARD;
	bool backward;
	switch (edge) {
	case STORE_EDGE_RESOLVES:
	case STORE_EDGE_SNI:
		backward = h->from_type != STORE_WATCH_DOMAIN;
		break;
	case STORE_EDGE_SERVES:
		backward = h->from_type != STORE_WATCH_IP;
		break;
	case STORE_EDGE_SAN:
		backward = h->from_type != STORE_WATCH_CERT;
		break;
	default:
		backward = (h->edge & STORE_WATCH_HOP_BACKWARD) != 0;
		break;
	}
	*src = backward ? h->to : h->from;
	*dst = backward ? h->from : h->to;
	return edge;
}

json_t *watch_prov_json(const struct store_watch_prov *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "note", json_string(p->note));
	json_object_set_new(o, "at", util_time_json(p->at));
	json_t *path = json_array();
	for (unsigned i = 0; i < p->nhops && i < STORE_WATCH_HOPS_MAX; i++) {
		const struct store_watch_hop *h = &p->hops[i];
		json_t *e = json_object();
		const char *src, *dst;
		unsigned edge = watch_hop_orient(h, &src, &dst);
		json_object_set_new(e, "edge", json_string(store_edge_name(edge)));
		json_object_set_new(e, "from", json_string(h->from));
		json_object_set_new(e, "from_type",
		                    json_string(store_watch_type_name(h->from_type)));
		json_object_set_new(e, "to", json_string(h->to));
		json_object_set_new(e, "to_type", json_string(store_watch_type_name(h->to_type)));
		json_object_set_new(e, "first_seen", util_time_json(h->first_seen));
		json_object_set_new(e, "last_seen", util_time_json(h->last_seen));
		json_object_set_new(e, "src", json_string(src));
		json_object_set_new(e, "dst", json_string(dst));
		if (edge == STORE_EDGE_SERVES)
			json_object_set_new(e, "port", json_integer(h->port));
		json_array_append_new(path, e);
	}
	json_object_set_new(o, "path", path);
	return o;
}

json_t *watch_entry_json(const struct store_watch_entry *e, bool with_state)
{
	json_t *o = json_object();
	json_object_set_new(o, "indicator", json_string(e->indicator));
	json_object_set_new(o, "type", json_string(store_watch_type_name(e->type)));
	json_object_set_new(o, "added", util_time_json(e->added));
	json_object_set_new(o, "expires", util_time_json(e->expires));
	json_object_set_new(o, "source", json_string(e->source));
	if (e->reason[0] != '\0')
		json_object_set_new(o, "reason", json_string(e->reason));
	json_t *prov = json_array();
	json_array_append_new(prov, watch_prov_json(&e->prov_first));
	if (e->has_latest)
		json_array_append_new(prov, watch_prov_json(&e->prov_latest));
	json_object_set_new(o, "provenance", prov);
	if (with_state) {
		json_object_set_new(o, "updated", util_time_json(e->updated));
		json_object_set_new(o, "version", json_integer((json_int_t)e->version));
		json_object_set_new(o, "state", json_string(store_watch_state_name(e->state)));
		if (e->state != STORE_WATCH_LIVE)
			json_object_set_new(o, "removed", util_time_json(e->removed));
		if (e->gen > 0)
			json_object_set_new(o, "generation", json_integer(e->gen));
	}
	return o;
}

/* ---- items ------------------------------------------------------------------------ */

struct watch_item_buf {
	char ind[STORE_WATCH_IND_BUF];
	char *reason, *source;
};

void watch_items_init(struct watch_items *it)
{
	memset(it, 0, sizeof(*it));
}

void watch_items_free(struct watch_items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->buf[i].reason);
		free(it->buf[i].source);
	}
	free(it->buf);
	free(it->v);
	memset(it, 0, sizeof(*it));
}

/* Room for one more item.  0 or -ENOMEM. */
static int items_grow(struct watch_items *it)
{
	if (it->n < it->cap)
		return 0;
	size_t nc = it->cap ? it->cap * 2 : 16;
	struct watch_item_buf *nb = realloc(it->buf, nc * sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	it->buf = nb;
	/* the items point into the buffers, which may have moved */
	for (size_t i = 0; i < it->n; i++)
		it->v[i].indicator = it->buf[i].ind;
	struct store_watch_item *nv = realloc(it->v, nc * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	it->v = nv;
	it->cap = nc;
	return 0;
}

/* "'x' is not an IP address" and the like, for type (0: any). */
static void not_an_indicator(const char *indicator, unsigned type, char *msg, size_t cap)
{
	const char *what = type == STORE_WATCH_IP        ? "an IP address"
	                   : type == STORE_WATCH_CERT    ? "a certificate SHA-1/SHA-256"
	                   : type == STORE_WATCH_DOMAIN  ? "a domain name"
	                   : type == STORE_WATCH_KEY     ? "a public key SHA-256 (64 hex digits)"
	                   : type == STORE_WATCH_SUBJECT ? "a subject DN of at most 255 bytes"
	                   : type == STORE_WATCH_JARM    ? "a JARM (62 hex digits)"
	                   : type == STORE_WATCH_JA3S    ? "a JA3S (32 hex digits)"
	                                                 : "a domain, an IP or a certificate hash";
	watch_msgf(msg, cap, "'%.80s' is not %s", indicator, what);
}

/* The expiry of a new item: expires when given, else from ttl_days (< 0:
 * the list's default_ttl; 0 never). */
static int64_t item_expiry(int64_t ttl_days, int64_t expires, uint32_t default_ttl, int64_t now)
{
	if (expires > 0)
		return expires;
	if (ttl_days < 0)
		return default_ttl ? now + (int64_t)default_ttl * 86400 : 0;
	return ttl_days ? now + ttl_days * 86400 : 0;
}

int watch_items_add(struct watch_items *it, const char *indicator, unsigned type,
                    const char *reason, const char *source, int64_t ttl_days, int64_t expires,
                    uint32_t default_ttl, int64_t now, char *msg, size_t cap)
{
	if (it->n >= WATCH_MAX_ITEMS) {
		watch_msgf(msg, cap, "more than %d indicators in one request", WATCH_MAX_ITEMS);
		return STORE_ELIMIT;
	}
	if (items_grow(it) != 0)
		return -ENOMEM;
	struct watch_item_buf *b = &it->buf[it->n];
	memset(b, 0, sizeof(*b));
	unsigned t = type;
	int err = store_watch_indicator_norm(indicator, &t, b->ind);
	if (err != 0) {
		not_an_indicator(indicator, type, msg, cap);
		return err;
	}
	if (reason != NULL && strlen(reason) >= STORE_WATCH_TEXT_BUF) {
		watch_msgf(msg, cap, "reason is longer than %d bytes", STORE_WATCH_TEXT_BUF - 1);
		return STORE_ETOOLONG;
	}
	if (expires > 0 && expires <= now) {
		watch_msgf(msg, cap, "'%.80s': expires is not in the future", indicator);
		return -EINVAL;
	}
	b->reason = reason ? strdup(reason) : NULL;
	b->source = strdup(source ? source : "");
	if ((reason != NULL && b->reason == NULL) || b->source == NULL) {
		free(b->reason);
		free(b->source);
		return -ENOMEM;
	}
	it->v[it->n] =
	    (struct store_watch_item){.type = (uint8_t)t,
	                              .expires = item_expiry(ttl_days, expires, default_ttl, now),
	                              .indicator = b->ind,
	                              .reason = b->reason,
	                              .source = b->source};
	it->n++;
	return 0;
}

/* One element of the entries list, parsed. */
struct item_json {
	const char *ind, *reason;
	unsigned type;
	int64_t ttl, expires;
};

/* One field of entries[i].  0 or -1 with msg set. */
static int item_field(struct item_json *f, size_t i, const char *k, const json_t *v, int64_t now,
                      char *msg, size_t cap)
{
	char sub[300];
	uint64_t u;
	const char *t = json_string_value(v);
	if (strcmp(k, "indicator") == 0) {
		f->ind = t;
	} else if (strcmp(k, "type") == 0) {
		if (t == NULL || store_watch_type_parse(t, &f->type) != 0) {
			watch_msgf(msg, cap, "entries[%zu].type: domain, ip or cert", i);
			return -1;
		}
	} else if (strcmp(k, "reason") == 0) {
		f->reason = t;
		if (t == NULL && !json_is_null(v)) {
			watch_msgf(msg, cap, "entries[%zu].reason: not a string", i);
			return -1;
		}
	} else if (strcmp(k, "ttl_days") == 0) {
		if (json_uint(v, "ttl_days", 36500, &u, sub, sizeof(sub)) != 0) {
			watch_msgf(msg, cap, "entries[%zu]: %s", i, sub);
			return -1;
		}
		f->ttl = (int64_t)u;
	} else if (strcmp(k, "expires") == 0) {
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			f->expires = json_integer_value(v);
		} else if (t == NULL || store_time_parse(t, now, &f->expires) != 0 ||
		           f->expires <= 0) {
			watch_msgf(msg, cap, "entries[%zu].expires: not a time", i);
			return -1;
		}
	} else {
		watch_msgf(msg, cap,
		           "entries[%zu].%.40s: unknown field (indicator, type, reason, ttl_days, "
		           "expires)",
		           i, k);
		return -1;
	}
	return 0;
}

/* entries[i], a string or an object, into f.  0 or -1 with msg set. */
static int item_from_json(struct item_json *f, size_t i, const json_t *e, int64_t now, char *msg,
                          size_t cap)
{
	*f = (struct item_json){.ttl = -1};
	if (json_is_string(e)) {
		f->ind = json_string_value(e);
		return 0;
	}
	if (!json_is_object(e)) {
		watch_msgf(msg, cap, "entries[%zu]: not an object", i);
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)e, k, v)
	{
		if (item_field(f, i, k, v, now, msg, cap) != 0)
			return -1;
	}
	if (f->ind == NULL) {
		watch_msgf(msg, cap, "entries[%zu].indicator: missing", i);
		return -1;
	}
	return 0;
}

int watch_items_from_json(struct watch_items *it, const json_t *arr, const char *source,
                          uint32_t default_ttl, int64_t now, char *msg, size_t cap)
{
	if (!json_is_array(arr)) {
		watch_msgf(msg, cap,
		           "entries must be a list of {indicator, type, reason, ttl_days}");
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		struct item_json f;
		char sub[300];
		if (item_from_json(&f, i, e, now, msg, cap) != 0)
			return -1;
		if (watch_items_add(it, f.ind, f.type, f.reason, source, f.ttl, f.expires,
		                    default_ttl, now, sub, sizeof(sub)) != 0) {
			watch_msgf(msg, cap, "entries[%zu]: %s", i, sub);
			return -1;
		}
	}
	return 0;
}

int watch_settings_load(store_t *s, const char *name, int64_t now, struct store_watch_settings *set)
{
	struct store_watch_info info;
	int err = store_watch_get(s, name, now, &info);
	if (err == 0) {
		*set = info.set;
	} else if (err == STORE_ENOTFOUND) {
		store_watch_settings_init(set);
		snprintf(set->name, sizeof(set->name), "%s", name);
		err = 0;
	}
	return err;
}

json_t *watch_results_json(const struct watch_items *it, const int *results)
{
	static const char *const names[] = {
	    [STORE_WATCH_ADDED] = "added",
	    [STORE_WATCH_REFRESHED] = "refreshed",
	    [STORE_WATCH_REMOVED_OK] = "removed",
	    [STORE_WATCH_ABSENT] = "absent",
	};
	json_t *arr = json_array();
	for (size_t i = 0; i < it->n; i++) {
		int r = results[i];
		json_t *e = json_object();
		json_object_set_new(e, "indicator", json_string(it->v[i].indicator));
		json_object_set_new(e, "type", json_string(store_watch_type_name(it->v[i].type)));
		json_object_set_new(e, "result",
		                    json_string(r >= STORE_WATCH_ADDED && r <= STORE_WATCH_ABSENT
		                                    ? names[r]
		                                    : "absent"));
		json_array_append_new(arr, e);
	}
	return arr;
}
