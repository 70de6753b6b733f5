/*
 * export.c - watchlists for sensors: json, text, Zeek Intel,
 * Suricata dataset, STIX 2.1 and MISP renderings of a list or of what changed
 * since a version, rendered into a bounded buffer in one read transaction;
 * and the If-None-Match check against a list's version.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/time.h"
#include "watch/watch_internal.h"

/* ---- formats ---------------------------------------------------------------- */

static const char *const fmt_names[] = {"json", "text", "zeek", "suricata", "stix", "misp"};

int watch_fmt_parse(const char *s, enum watch_fmt *out)
{
	for (unsigned i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++) {
		if (strcmp(s, fmt_names[i]) == 0) {
			*out = (enum watch_fmt)i;
			return 0;
		}
	}
	return -1;
}

const char *watch_ctype(enum watch_fmt f)
{
	switch (f) {
	case WATCH_FMT_JSON:
	case WATCH_FMT_MISP:
		return "application/json";
	case WATCH_FMT_STIX:
		return "application/stix+json;version=2.1";
	default:
		return "text/plain; charset=utf-8";
	}
}

/* ---- export ------------------------------------------------------------------------ */

/* o is consumed; NULL (jansson out of memory) fails the buffer. */
static void out_json(struct util_buf *b, json_t *o)
{
	if (o == NULL) {
		util_buf_set_error(b, -ENOMEM);
		return;
	}
	util_buf_add_json(b, o);
	json_decref(o);
}

/* A text field for a TSV line: no tabs, newlines or control bytes. */
static void out_field(struct util_buf *b, const char *s)
{
	if (*s == '\0') {
		util_buf_adds(b, "-");
		return;
	}
	char buf[STORE_WATCH_TEXT_BUF];
	size_t n = 0;
	for (; *s != '\0' && n + 1 < sizeof(buf); s++)
		buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	util_buf_add(b, buf, n);
}

static void out_base64(struct util_buf *b, const char *s)
{
	char enc[4 * ((STORE_WATCH_IND_BUF * 2 + 2) / 3) + 4];
	size_t n = strlen(s);
	if (n > STORE_WATCH_IND_BUF * 2)
		n = STORE_WATCH_IND_BUF * 2;
	util_base64_encode((const uint8_t *)s, n, UTIL_B64_PAD, enc);
	util_buf_adds(b, enc);
}

/* STIX wants created/modified with milliseconds. */
static json_t *stix_time(int64_t t)
{
	char b[40];
	util_time_format(t, b, sizeof(b));
	size_t n = strlen(b);
	if (n > 0 && b[n - 1] == 'Z')
		snprintf(b + n - 1, sizeof(b) - (n - 1), ".000Z");
	return json_string(b);
}

static const uint8_t stix_ns[16] = {0x5b, 0x0e, 0x6f, 0x6a, 0x3d, 0x52, 0x4c, 0x1e,
                                    0x9a, 0x8e, 0x2f, 0x7b, 0x41, 0x0c, 0x63, 0xd5};

/* s with ' and \ escaped for a STIX pattern string (a subject may hold
 * both), cut to cap. */
static const char *pattern_str(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 3 < cap; s++) {
		if (*s == '\'' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

static void stix_pattern(const struct store_watch_entry *e, char *out, size_t cap)
{
	char esc[2 * STORE_WATCH_IND_BUF];
	if (e->type == STORE_WATCH_DOMAIN)
		watch_msgf(out, cap, "[domain-name:value = '%s']", e->indicator);
	else if (e->type == STORE_WATCH_IP)
		watch_msgf(out, cap, "[%s:value = '%s']",
		           strchr(e->indicator, ':') ? "ipv6-addr" : "ipv4-addr", e->indicator);
	else if (e->type == STORE_WATCH_CERT)
		watch_msgf(out, cap, "[x509-certificate:hashes.'%s' = '%s']",
		           strlen(e->indicator) == 40 ? "SHA-1" : "SHA-256", e->indicator);
	else /* the pivot engine's custom observables (docs/pivot.md) */
		watch_msgf(out, cap, "[x-infrapivot-%s:value = '%s']",
		           e->type == STORE_WATCH_KEY ? "public-key"
		                                      : store_watch_type_name(e->type),
		           pattern_str(e->indicator, esc, sizeof(esc)));
}

static json_t *stix_indicator(const char *list, const struct store_watch_entry *e)
{
	char name[STORE_WATCH_IND_BUF + 128], u[40], id[64], pat[STORE_WATCH_IND_BUF + 64];
	int len = snprintf(name, sizeof(name), "%s|%s|%s|%lld", list,
	                   store_watch_type_name(e->type), e->indicator, (long long)e->added);
	pivot_uuid5(stix_ns, name, (size_t)len < sizeof(name) ? (size_t)len : sizeof(name) - 1, u);
	watch_msgf(id, sizeof(id), "indicator--%s", u);
	stix_pattern(e, pat, sizeof(pat));
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("indicator"));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "created", stix_time(e->added));
	int64_t modified = e->updated > e->added ? e->updated : e->added;
	if (e->state != STORE_WATCH_LIVE && e->removed > modified)
		modified = e->removed;
	json_object_set_new(o, "modified", stix_time(modified));
	json_object_set_new(o, "name", json_string(e->indicator));
	const char *desc = e->reason[0] ? e->reason : e->prov_first.note;
	char d[STORE_WATCH_TEXT_BUF + 128];
	watch_msgf(d, sizeof(d), "watchlist %s: %s", list, desc[0] ? desc : e->source);
	json_object_set_new(o, "description", json_string(d));
	json_t *types = json_array();
	json_array_append_new(types, json_string("malicious-activity"));
	json_object_set_new(o, "indicator_types", types);
	json_object_set_new(o, "pattern", json_string(pat));
	json_object_set_new(o, "pattern_type", json_string("stix"));
	json_object_set_new(o, "pattern_version", json_string("2.1"));
	json_object_set_new(o, "valid_from", stix_time(e->added));
	int64_t until = e->expires;
	if (e->state != STORE_WATCH_LIVE)
		until = e->removed;
	if (until > e->added)
		json_object_set_new(o, "valid_until", stix_time(until));
	if (e->state == STORE_WATCH_REMOVED)
		json_object_set_new(o, "revoked", json_true());
	json_t *labels = json_array();
	char lab[STORE_WATCH_NAME_BUF + 16];
	watch_msgf(lab, sizeof(lab), "watchlist:%s", list);
	json_array_append_new(labels, json_string(lab));
	json_object_set_new(o, "labels", labels);
	return o;
}

struct exp_ctx {
	const struct watch_export_opts *x;
	const char *name;
	struct util_buf body, removed;
	unsigned nbody, nremoved;
	uint64_t skipped; /* entries the format cannot carry */
	/* misp: the event, its objects by uuid, the x509 object of each
	 * certificate, and a running size estimate against max_bytes */
	json_t *misp, *misp_objs, *misp_certs;
	size_t misp_bytes;
};

/* ---- misp ------------------------------------------------------------------------ */

/* The x509 object of a certificate hash, made once per export. */
static json_t *misp_cert(struct exp_ctx *c, const char *hash)
{
	json_t *o = json_object_get(c->misp_certs, hash);
	if (o != NULL)
		return o;
	o = pivot_misp_obj("x509", hash, 0, 0);
	bool sha1 = strlen(hash) == 40;
	pivot_misp_obj_add(o, sha1 ? "x509-fingerprint-sha1" : "x509-fingerprint-sha256",
	                   sha1 ? "x509-fingerprint-sha1" : "x509-fingerprint-sha256", hash);
	json_object_set_new(c->misp_certs, hash, o);
	json_object_set(c->misp_objs, json_string_value(json_object_get(o, "uuid")), o);
	c->misp_bytes += 700;
	return o;
}

/* The object of one provenance hop (in the relationship's direction),
 * unless an earlier entry brought the same one. */
static void misp_hop(struct exp_ctx *c, const struct store_watch_hop *h)
{
	const char *src, *dst;
	unsigned edge = watch_hop_orient(h, &src, &dst);
	if (edge == STORE_EDGE_SAN) {
		if (dst[0] != '*')
			pivot_misp_obj_add(misp_cert(c, src), "dns_names", "hostname", dst);
		return;
	}
	char key[2 * STORE_WATCH_IND_BUF + 64];
	watch_msgf(key, sizeof(key), "%s|%s|%s|%u", store_edge_name(edge), src, dst, h->port);
	bool serves = edge == STORE_EDGE_SERVES;
	json_t *o =
	    pivot_misp_obj(serves ? "ip-port" : "domain-ip", key, h->first_seen, h->last_seen);
	const char *u = json_string_value(json_object_get(o, "uuid"));
	if (u == NULL || json_object_get(c->misp_objs, u) != NULL) {
		json_decref(o);
		return;
	}
	if (serves) {
		char port[8];
		watch_msgf(port, sizeof(port), "%u", h->port);
		pivot_misp_obj_add(o, "ip", "ip-dst", src);
		pivot_misp_obj_add(o, "dst-port", "port", port);
		pivot_misp_ref(o, misp_cert(c, dst), "serves");
	} else {
		pivot_misp_obj_add(o, "domain", "domain", src);
		if (edge == STORE_EDGE_RESOLVES)
			pivot_misp_obj_add(o, "ip", "ip-dst", dst);
		else if (edge == STORE_EDGE_CNAME)
			pivot_misp_obj_add(o, "domain", "domain", dst);
		else
			pivot_misp_ref(o, misp_cert(c, dst), "related-to");
		pivot_misp_obj_add(o, "text", "text",
		                   edge == STORE_EDGE_CNAME ? "CNAME: the first name is an alias "
		                                              "of the second"
		                   : edge == STORE_EDGE_SNI ? "TLS SNI of the certificate"
		                                            : "DNS resolution");
	}
	json_object_set_new(c->misp_objs, u, o);
	c->misp_bytes += 1200;
}

/* misp: a live entry as an attribute of the event (for sensors: to_ids),
 * the hops of its provenance as objects. */
static int exp_misp(struct exp_ctx *c, const struct store_watch_entry *e)
{
	if (e->state != STORE_WATCH_LIVE)
		return 0;
	static const char *const mt[] = {"", "domain", "ip-dst", "x509-fingerprint-sha1"};
	const char *type = e->type == STORE_WATCH_CERT && strlen(e->indicator) != 40
	                       ? "x509-fingerprint-sha256"
	                       : mt[e->type & 3];
	json_t *a = pivot_misp_attr(c->name, NULL, type, e->indicator, true);
	const char *note = e->reason[0] ? e->reason : e->prov_first.note;
	char d[STORE_WATCH_TEXT_BUF + 128];
	watch_msgf(d, sizeof(d), "watchlist %s: %s", c->name, note[0] ? note : e->source);
	json_object_set_new(a, "comment", json_string(d));
	json_array_append_new(json_object_get(json_object_get(c->misp, "Event"), "Attribute"), a);
	c->misp_bytes += 600 + strlen(d);
	const struct store_watch_prov *p = e->has_latest ? &e->prov_latest : &e->prov_first;
	for (unsigned i = 0; i < p->nhops && i < STORE_WATCH_HOPS_MAX; i++)
		misp_hop(c, &p->hops[i]);
	size_t max = c->x->max_bytes ? c->x->max_bytes : WATCH_MAX_EXPORT;
	return c->misp_bytes > max ? -E2BIG : 0;
}

/* The event with its objects, into o. */
static void wrap_misp(struct util_buf *o, const struct exp_ctx *c, const char *name,
                      const struct store_watch_info *info)
{
	json_t *ev = json_object_get(c->misp, "Event");
	char title[STORE_WATCH_NAME_BUF + 64];
	watch_msgf(title, sizeof(title), "infrapivot watchlist %s (version %llu)", name,
	           (unsigned long long)info->version);
	json_object_set_new(ev, "info", json_string(title));
	json_t *objs = json_object_get(ev, "Object");
	const char *k;
	json_t *v;
	json_object_foreach(c->misp_objs, k, v) json_array_append(objs, v);
	util_buf_add_json(o, c->misp);
	util_buf_adds(o, "\n");
}

/* json: a live entry under "entries", a tombstone under "removed". */
static void exp_json(struct exp_ctx *c, const struct store_watch_entry *e)
{
	if (e->state == STORE_WATCH_LIVE) {
		if (c->nbody++ > 0)
			util_buf_adds(&c->body, ",");
		out_json(&c->body, watch_entry_json(e, c->x->since != 0));
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "indicator", json_string(e->indicator));
	json_object_set_new(o, "type", json_string(store_watch_type_name(e->type)));
	json_object_set_new(o, "removed", util_time_json(e->removed));
	json_object_set_new(o, "reason", json_string(store_watch_state_name(e->state)));
	json_object_set_new(o, "version", json_integer((json_int_t)e->version));
	if (c->nremoved++ > 0)
		util_buf_adds(&c->removed, ",");
	out_json(&c->removed, o);
}

/* zeek: an Intel framework row. */
static void exp_zeek(struct exp_ctx *c, const struct store_watch_entry *e)
{
	static const char *const zt[] = {"", "Intel::DOMAIN", "Intel::ADDR", "Intel::CERT_HASH"};
	/* Zeek's x509 intel matches the SHA-1 fingerprint; keys, subjects and
	 * server fingerprints have no Intel type */
	if ((e->type == STORE_WATCH_CERT && strlen(e->indicator) != 40) ||
	    e->type > STORE_WATCH_CERT) {
		c->skipped++;
		return;
	}
	char src[STORE_WATCH_NAME_BUF + 16];
	watch_msgf(src, sizeof(src), "infrapivot:%s", c->name);
	util_buf_adds(&c->body, e->indicator);
	util_buf_adds(&c->body, "\t");
	util_buf_adds(&c->body, zt[e->type]);
	util_buf_adds(&c->body, "\t");
	out_field(&c->body, src);
	util_buf_adds(&c->body, "\t");
	out_field(&c->body, e->reason[0] ? e->reason : e->prov_first.note);
	util_buf_adds(&c->body, "\n");
	c->nbody++;
}

/* suricata: an address, a base64 name, or a base64 tls.cert_fingerprint
 * (lower-case hex, colon-separated SHA-1). */
static void exp_suricata(struct exp_ctx *c, const struct store_watch_entry *e)
{
	if (e->type == STORE_WATCH_IP) {
		util_buf_adds(&c->body, e->indicator);
	} else if (e->type == STORE_WATCH_DOMAIN) {
		out_base64(&c->body, e->indicator);
	} else if (e->type == STORE_WATCH_CERT && strlen(e->indicator) == 40) {
		char fp[60];
		size_t o = 0;
		for (size_t i = 0; i < 40; i += 2) {
			if (i > 0)
				fp[o++] = ':';
			fp[o++] = e->indicator[i];
			fp[o++] = e->indicator[i + 1];
		}
		fp[o] = '\0';
		out_base64(&c->body, fp);
	} else {
		c->skipped++;
		return;
	}
	util_buf_adds(&c->body, "\n");
	c->nbody++;
}

static int export_cb(const struct store_watch_entry *e, void *vctx)
{
	struct exp_ctx *c = vctx;
	if (c->x->type != 0 && e->type != c->x->type)
		return 0;
	switch (c->x->fmt) {
	case WATCH_FMT_JSON:
		exp_json(c, e);
		break;
	case WATCH_FMT_STIX:
		if (c->nbody++ > 0)
			util_buf_adds(&c->body, ",");
		out_json(&c->body, stix_indicator(c->name, e));
		break;
	case WATCH_FMT_TEXT:
		util_buf_adds(&c->body, e->indicator);
		util_buf_adds(&c->body, "\n");
		c->nbody++;
		break;
	case WATCH_FMT_ZEEK:
		exp_zeek(c, e);
		break;
	case WATCH_FMT_SURICATA:
		exp_suricata(c, e);
		break;
	case WATCH_FMT_MISP:
		return exp_misp(c, e);
	}
	if (c->body.err != 0)
		return c->body.err;
	return c->removed.err;
}

/* The json document: the header, the entries and, for a delta, what was
 * removed. */
static void wrap_json(struct util_buf *o, const struct exp_ctx *c, const char *name,
                      const struct store_watch_info *info, const char *generated, bool full)
{
	const struct watch_export_opts *x = c->x;
	json_t *h = json_object();
	json_object_set_new(h, "name", json_string(name));
	json_object_set_new(h, "version", json_integer((json_int_t)info->version));
	json_object_set_new(h, "generated", json_string(generated));
	if (x->since != 0) {
		json_object_set_new(h, "since_version", json_integer((json_int_t)x->since));
		json_object_set_new(h, "full", json_boolean(full));
	}
	char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(h);
	if (hs == NULL) {
		util_buf_set_error(o, -ENOMEM);
		return;
	}
	util_buf_add(o, hs, strlen(hs) - 1); /* without the closing brace */
	free(hs);
	util_buf_adds(o, ",\"entries\":[");
	util_buf_add(o, c->body.p ? c->body.p : "", c->body.len);
	util_buf_adds(o, "]");
	if (x->since != 0) {
		util_buf_adds(o, ",\"removed\":[");
		util_buf_add(o, c->removed.p ? c->removed.p : "", c->removed.len);
		util_buf_adds(o, "]");
	}
	util_buf_adds(o, "}\n");
}

/* The STIX bundle around the indicators; its id names list, version and
 * since. */
static void wrap_stix(struct util_buf *o, const struct exp_ctx *c, const char *name,
                      const struct store_watch_info *info)
{
	char bname[STORE_WATCH_NAME_BUF + 64], u[40];
	int bl = snprintf(bname, sizeof(bname), "%s|%llu|%llu", name,
	                  (unsigned long long)info->version, (unsigned long long)c->x->since);
	pivot_uuid5(stix_ns, bname, (size_t)bl < sizeof(bname) ? (size_t)bl : sizeof(bname) - 1, u);
	util_buf_adds(o, "{\"type\":\"bundle\",\"id\":\"bundle--");
	util_buf_adds(o, u);
	util_buf_adds(o, "\",\"objects\":[");
	util_buf_add(o, c->body.p ? c->body.p : "", c->body.len);
	util_buf_adds(o, "]}\n");
}

/* The whole file: the rendered entries in the format's frame. */
static void wrap(struct util_buf *o, const struct exp_ctx *c, const char *name,
                 const struct store_watch_info *info, int64_t now, bool full)
{
	char g[32];
	util_time_format(now, g, sizeof(g));
	switch (c->x->fmt) {
	case WATCH_FMT_JSON:
		wrap_json(o, c, name, info, g, full);
		break;
	case WATCH_FMT_STIX:
		wrap_stix(o, c, name, info);
		break;
	case WATCH_FMT_MISP:
		wrap_misp(o, c, name, info);
		break;
	case WATCH_FMT_ZEEK:
		util_buf_adds(o, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n");
		util_buf_add(o, c->body.p ? c->body.p : "", c->body.len);
		break;
	default:
		util_buf_add(o, c->body.p ? c->body.p : "", c->body.len);
		break;
	}
}

/* The misp event's frame; its uuid follows the list's name, so MISP
 * updates one event per list.  0 or -ENOMEM. */
static int misp_begin(struct exp_ctx *c, const char *name, int64_t now)
{
	char key[STORE_WATCH_NAME_BUF + 16];
	watch_msgf(key, sizeof(key), "watchlist|%s", name);
	c->misp = pivot_misp_event("", key, now);
	c->misp_objs = json_object();
	c->misp_certs = json_object();
	return c->misp && c->misp_objs && c->misp_certs ? 0 : -ENOMEM;
}

/* A combination of options the formats cannot serve: -EINVAL with msg. */
static int export_check(const struct watch_export_opts *x, char *msg, size_t cap)
{
	if (x->since != 0 && x->fmt != WATCH_FMT_JSON && x->fmt != WATCH_FMT_STIX) {
		watch_msgf(msg, cap,
		           "since_version works with the json and stix formats (the others are "
		           "whole files: use the ETag to skip unchanged ones)");
		return -EINVAL;
	}
	if (x->fmt == WATCH_FMT_SURICATA && x->type == 0) {
		watch_msgf(msg, cap,
		           "a Suricata dataset holds one type: give type=ip, domain or cert");
		return -EINVAL;
	}
	return 0;
}

int watch_export(store_t *s, const char *name, const struct watch_export_opts *x, char **out,
                 size_t *len, struct store_watch_info *info, char *msg, size_t cap)
{
	int err = export_check(x, msg, cap);
	if (err != 0)
		return err;
	int64_t now = watch_clock(x->now);
	size_t max = x->max_bytes ? x->max_bytes : WATCH_MAX_EXPORT;
	struct exp_ctx c = {.x = x, .name = name};
	if (x->fmt == WATCH_FMT_MISP && misp_begin(&c, name, now) != 0)
		return -ENOMEM;
	util_buf_init(&c.body, max);
	util_buf_init(&c.removed, max);
	struct util_buf o;
	util_buf_init(&o, max + 4096);
	bool full = true;
	err = store_watch_read(s, name, now, x->since, export_cb, &c, info, &full);
	if (err == 0) {
		wrap(&o, &c, name, info, now, full);
		err = o.err;
	}
	util_buf_free(&c.body);
	util_buf_free(&c.removed);
	json_decref(c.misp);
	json_decref(c.misp_objs);
	json_decref(c.misp_certs);
	if (err == -E2BIG)
		watch_msgf(msg, cap, "the export is larger than %zu bytes", max);
	else if (err == STORE_ENOTFOUND)
		watch_msgf(msg, cap, "no watchlist named '%.64s'", name);
	if (err != 0) {
		util_buf_free(&o);
		return err;
	}
	*out = util_buf_take(&o, len);
	return *out != NULL ? 0 : -ENOMEM;
}

bool watch_etag_match(const char *inm, uint64_t version)
{
	if (inm == NULL)
		return false;
	char want[32];
	watch_msgf(want, sizeof(want), "%llu", (unsigned long long)version);
	size_t wl = strlen(want);
	const char *p = inm;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		bool q = *p == '"';
		if (q)
			p++;
		const char *b = p;
		while (*p != '\0' && *p != ',' && *p != '"' && *p != ' ')
			p++;
		if ((size_t)(p - b) == wl && memcmp(b, want, wl) == 0 && (!q || *p == '"'))
			return true;
		if (*p == '"')
			p++;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return false;
}
