/*
 * text.c - CSV and table renderings shared by the CLI and the HTTP API
 * (service/svc_text.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_text.h"
#include "util/time.h"

/* Text renderings are bounded like HTTP responses. */
#define TEXT_MAX (64u << 20)

int svc_text_fmt_parse(const char *s, enum svc_text_fmt *out)
{
	static const char *const names[] = {
	    [SVC_TEXT_JSON] = "json", [SVC_TEXT_TABLE] = "table", [SVC_TEXT_CSV] = "csv"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum svc_text_fmt)i;
			return 0;
		}
	}
	return -1;
}

void svc_csv_field(struct util_buf *b, const char *s)
{
	/* a formula a spreadsheet would evaluate becomes text */
	bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
	               s[0] == '\r';
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		util_buf_adds(b, s);
		return;
	}
	util_buf_adds(b, formula ? "\"'" : "\"");
	for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
		util_buf_add(b, s, (size_t)(q - s));
		util_buf_adds(b, "\"\"");
	}
	util_buf_adds(b, s);
	util_buf_adds(b, "\"");
}

void svc_csv_row(struct util_buf *b, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			util_buf_adds(b, ",");
		svc_csv_field(b, fields[i] != NULL ? fields[i] : "");
	}
	util_buf_adds(b, "\r\n");
}

/* ---- lookups ------------------------------------------------------------- */

static const char *const lookup_cols[] = {
    "kind",   "time_first", "time_last", "count",       "rrname",  "rrtype",  "rdata",
    "ip",     "port",       "cert_sha1", "cert_sha256", "sni",     "subject", "issuer",
    "serial", "not_before", "not_after", "san_dns",     "fp_type", "fp_hash"};
#define LOOKUP_NCOLS (sizeof(lookup_cols) / sizeof(lookup_cols[0]))

/* A JSON value as CSV text: times as ISO 8601, arrays space-separated. */
static void value_text(const char *key, json_t *v, char *out, size_t cap)
{
	out[0] = '\0';
	if (json_is_string(v)) {
		snprintf(out, cap, "%s", json_string_value(v));
	} else if (json_is_integer(v) && strncmp(key, "time_", 5) == 0) {
		util_time_format(json_integer_value(v), out, cap);
	} else if (json_is_integer(v)) {
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		size_t i, o = 0;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (o < cap && json_is_string(e))
				o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "",
				                      json_string_value(e));
		}
	}
}

void svc_lookup_text_end(struct svc_lookup_text *t, struct util_buf *b)
{
	if (t->fmt == SVC_TEXT_CSV && !t->header_csv) {
		svc_csv_row(b, lookup_cols, LOOKUP_NCOLS);
		t->header_csv = true;
	}
}

static void lookup_csv(struct svc_lookup_text *t, struct util_buf *b, enum svc_result_kind kind,
                       json_t *obj)
{
	static const char *const kinds[] = {[SVC_RES_RR] = "resolution",
	                                    [SVC_RES_SIGHTING] = "sighting",
	                                    [SVC_RES_CERT] = "certificate",
	                                    [SVC_RES_FP] = "fingerprint"};
	svc_lookup_text_end(t, b);
	char cells[LOOKUP_NCOLS][1024];
	const char *f[LOOKUP_NCOLS];
	f[0] = kinds[kind];
	for (size_t i = 1; i < LOOKUP_NCOLS; i++) {
		/* a fingerprint sighting's "type" and "hash" */
		const char *key = strcmp(lookup_cols[i], "fp_type") == 0   ? "type"
		                  : strcmp(lookup_cols[i], "fp_hash") == 0 ? "hash"
		                                                           : lookup_cols[i];
		value_text(key, json_object_get(obj, key), cells[i], sizeof(cells[i]));
		f[i] = cells[i];
	}
	svc_csv_row(b, f, LOOKUP_NCOLS);
}

static void fmt_time(json_t *v, char *out, size_t cap)
{
	util_time_format(json_integer_value(v), out, cap);
	/* table form: "2024-01-31 12:00:00" */
	out[10] = ' ';
	out[19] = '\0';
}

static void table_rr(struct svc_lookup_text *t, struct util_buf *b, json_t *obj)
{
	char tf[32], tl[32];
	if (!t->header_rr) {
		util_buf_printf(b, "%-19s  %-19s  %8s  %-40s %-6s %s\n", "first seen", "last seen",
		                "count", "rrname", "type", "rdata");
		t->header_rr = true;
	}
	fmt_time(json_object_get(obj, "time_first"), tf, sizeof(tf));
	fmt_time(json_object_get(obj, "time_last"), tl, sizeof(tl));
	char rdata[1024], name[1024], u[512];
	value_text("rdata", json_object_get(obj, "rdata"), rdata, sizeof(rdata));
	/* an internationalised name in both forms: A-label (Unicode) */
	const char *rrname = json_string_value(json_object_get(obj, "rrname"));
	if (svc_idn_unicode(rrname, u, sizeof(u)))
		snprintf(name, sizeof(name), "%s (%s)", rrname, u);
	else
		snprintf(name, sizeof(name), "%s", rrname);
	util_buf_printf(b, "%-19s  %-19s  %8lld  %-40s %-6s %s\n", tf, tl,
	                (long long)json_integer_value(json_object_get(obj, "count")), name,
	                json_string_value(json_object_get(obj, "rrtype")), rdata);
}

static void table_sighting(struct svc_lookup_text *t, struct util_buf *b, json_t *obj)
{
	char tf[32], tl[32];
	if (!t->header_si) {
		util_buf_printf(b, "\n%-19s  %-19s  %8s  %-45s %-40s %s\n", "first seen",
		                "last seen", "count", "ip:port", "certificate", "sni");
		t->header_si = true;
	}
	fmt_time(json_object_get(obj, "time_first"), tf, sizeof(tf));
	fmt_time(json_object_get(obj, "time_last"), tl, sizeof(tl));
	char ipport[80];
	const char *ip = json_string_value(json_object_get(obj, "ip"));
	long long port = json_integer_value(json_object_get(obj, "port"));
	snprintf(ipport, sizeof(ipport), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
	json_t *h = json_object_get(obj, "cert_sha1");
	if (h == NULL)
		h = json_object_get(obj, "cert_sha256");
	char sni[512];
	value_text("sni", json_object_get(obj, "sni"), sni, sizeof(sni));
	for (char *c = sni; *c; c++)
		if (*c == ' ')
			*c = ',';
	util_buf_printf(b, "%-19s  %-19s  %8lld  %-45s %-40s %s\n", tf, tl,
	                (long long)json_integer_value(json_object_get(obj, "count")), ipport,
	                json_string_value(h), sni);
}

static void table_fp(struct svc_lookup_text *t, struct util_buf *b, json_t *obj)
{
	char tf[32], tl[32], ipport[80];
	if (!t->header_si) {
		util_buf_printf(b, "%-19s  %-19s  %8s  %-45s %s\n", "first seen", "last seen",
		                "count", "ip:port", "fingerprint");
		t->header_si = true;
	}
	fmt_time(json_object_get(obj, "time_first"), tf, sizeof(tf));
	fmt_time(json_object_get(obj, "time_last"), tl, sizeof(tl));
	const char *ip = json_string_value(json_object_get(obj, "ip"));
	long long port = json_integer_value(json_object_get(obj, "port"));
	snprintf(ipport, sizeof(ipport), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
	util_buf_printf(b, "%-19s  %-19s  %8lld  %-45s %s %s\n", tf, tl,
	                (long long)json_integer_value(json_object_get(obj, "count")), ipport,
	                json_string_value(json_object_get(obj, "type")),
	                json_string_value(json_object_get(obj, "hash")));
}

static void table_cert(struct util_buf *b, json_t *obj)
{
	const char *keys[] = {"cert_sha1", "cert_sha256", "subject",   "issuer",
	                      "serial",    "not_before",  "not_after", "ip_count"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(obj, keys[i]);
		if (v == NULL)
			continue;
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
		util_buf_printf(b, "%-12s %s\n", keys[i], s ? s : json_string_value(v));
		free(s);
	}
	const char *lists[] = {"san_dns", "san_ip", "sni"};
	for (size_t i = 0; i < 3; i++) {
		json_t *a = json_object_get(obj, lists[i]);
		if (a == NULL)
			continue;
		util_buf_printf(b, "%-12s", lists[i]);
		size_t j;
		json_t *v;
		json_array_foreach(a, j, v)
		{
			util_buf_printf(b, "%s%s", j ? ", " : " ", json_string_value(v));
		}
		util_buf_adds(b, "\n");
	}
}

void svc_lookup_text_row(struct svc_lookup_text *t, struct util_buf *b, enum svc_result_kind kind,
                         json_t *obj)
{
	if (t->fmt == SVC_TEXT_CSV)
		lookup_csv(t, b, kind, obj);
	else if (kind == SVC_RES_RR)
		table_rr(t, b, obj);
	else if (kind == SVC_RES_SIGHTING)
		table_sighting(t, b, obj);
	else if (kind == SVC_RES_FP)
		table_fp(t, b, obj);
	else
		table_cert(b, obj);
}

/* ---- pivots -------------------------------------------------------------- */

enum {
	PC_RECORD,
	PC_ID,
	PC_TYPE,
	PC_VALUE,
	PC_DEPTH,
	PC_DEGREE,
	PC_PRUNED,
	PC_SRC,
	PC_DST,
	PC_SRC_VALUE,
	PC_DST_VALUE,
	PC_PORT,
	PC_COUNT,
	PC_FIRST,
	PC_LAST,
	PIVOT_NCOLS
};
static const char *const pivot_cols[PIVOT_NCOLS] = {
    "record", "id",        "type",      "value", "depth", "degree",     "pruned",   "src",
    "dst",    "src_value", "dst_value", "port",  "count", "first_seen", "last_seen"};

/* A pivot row's cells as text; unset ones (NULL) are empty. */
struct pivot_row {
	const char *f[PIVOT_NCOLS];
	char id[16], a[24], b[24], port[8], fs[UTIL_TIME_BUF], ls[UTIL_TIME_BUF];
};

static void row_times(struct pivot_row *w, int64_t first, int64_t last)
{
	/* 0: not seen by a timed edge (a node reached by san only) */
	if (first != 0)
		util_time_format(first, w->fs, sizeof(w->fs));
	if (last != 0)
		util_time_format(last, w->ls, sizeof(w->ls));
	w->f[PC_FIRST] = w->fs;
	w->f[PC_LAST] = w->ls;
}

static void pivot_node_row(struct util_buf *b, const struct pivot_node *n)
{
	struct pivot_row w = {0};
	snprintf(w.id, sizeof(w.id), "%u", n->id);
	snprintf(w.a, sizeof(w.a), "%u", n->depth);
	snprintf(w.b, sizeof(w.b), "%llu", (unsigned long long)n->degree);
	w.f[PC_RECORD] = "node";
	w.f[PC_ID] = w.id;
	w.f[PC_TYPE] = pivot_node_type_name(n->type);
	w.f[PC_VALUE] = n->value;
	w.f[PC_DEPTH] = w.a;
	w.f[PC_DEGREE] = w.b;
	w.f[PC_PRUNED] = n->pruned;
	row_times(&w, n->first_seen, n->last_seen);
	svc_csv_row(b, w.f, PIVOT_NCOLS);
}

static void pivot_edge_row(struct util_buf *b, const struct pivot_result *r,
                           const struct pivot_edge *e)
{
	struct pivot_row w = {0};
	char src[16], dst[16];
	snprintf(w.id, sizeof(w.id), "%u", e->id);
	snprintf(src, sizeof(src), "%u", e->src);
	snprintf(dst, sizeof(dst), "%u", e->dst);
	if (e->port != 0)
		snprintf(w.port, sizeof(w.port), "%u", e->port);
	snprintf(w.a, sizeof(w.a), "%llu", (unsigned long long)e->count);
	w.f[PC_RECORD] = "edge";
	w.f[PC_ID] = w.id;
	w.f[PC_TYPE] = pivot_edge_type_name(e->type);
	w.f[PC_SRC] = src;
	w.f[PC_DST] = dst;
	w.f[PC_SRC_VALUE] = pivot_node_at(r, e->src)->value;
	w.f[PC_DST_VALUE] = pivot_node_at(r, e->dst)->value;
	w.f[PC_PORT] = w.port;
	w.f[PC_COUNT] = w.a;
	row_times(&w, e->first_seen, e->last_seen);
	svc_csv_row(b, w.f, PIVOT_NCOLS);
}

char *svc_csv_pivot(const struct pivot_result *r)
{
	struct util_buf b;
	util_buf_init(&b, TEXT_MAX);
	svc_csv_row(&b, pivot_cols, PIVOT_NCOLS);
	for (size_t i = 0; i < pivot_node_count(r); i++)
		pivot_node_row(&b, pivot_node_at(r, i));
	for (size_t i = 0; i < pivot_edge_count(r); i++)
		pivot_edge_row(&b, r, pivot_edge_at(r, i));
	size_t len;
	return util_buf_finish(&b, &len);
}

/* ---- watchlist exports ---------------------------------------------------- */

static const char *const watch_cols[] = {"indicator", "type",   "added",     "expires",
                                         "source",    "reason", "provenance"};
#define WATCH_NCOLS (sizeof(watch_cols) / sizeof(watch_cols[0]))

/* The provenance steps as "a -resolves-> b; ..." text. */
static void prov_text(json_t *prov, char *out, size_t cap)
{
	char *s = json_dumps(prov, JSON_COMPACT | JSON_PRESERVE_ORDER);
	snprintf(out, cap, "%s", s != NULL ? s : "");
	free(s);
}

char *svc_csv_watch(const char *json, size_t jlen, size_t *len)
{
	json_t *root = json_loadb(json, jlen, 0, NULL);
	json_t *entries = json_object_get(root, "entries");
	if (!json_is_array(entries)) {
		json_decref(root);
		return NULL;
	}
	struct util_buf b;
	util_buf_init(&b, TEXT_MAX);
	svc_csv_row(&b, watch_cols, WATCH_NCOLS);
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		char cells[WATCH_NCOLS][2048];
		const char *f[WATCH_NCOLS];
		for (size_t c = 0; c < WATCH_NCOLS; c++) {
			json_t *v = json_object_get(e, watch_cols[c]);
			if (c == WATCH_NCOLS - 1)
				prov_text(v, cells[c], sizeof(cells[c]));
			else
				value_text(watch_cols[c], v, cells[c], sizeof(cells[c]));
			f[c] = cells[c];
		}
		svc_csv_row(&b, f, WATCH_NCOLS);
	}
	json_decref(root);
	return util_buf_finish(&b, len);
}
