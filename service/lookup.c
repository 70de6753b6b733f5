/*
 * lookup.c - lookups by domain, address or certificate, rendered as JSON
 * objects.  Shared by `infrapivot lookup` and the HTTP API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/time.h"

void svc_certref_hex(const struct store_cert_ref *ref, char *out)
{
	util_hex_encode(ref->hash, ref->kind == 1 ? 20 : 32, out);
}

static json_t *sensors_json(unsigned n, const char *const *names)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

json_t *svc_rr_json(const struct store_rr *rr)
{
	char tb[16];
	json_t *o = json_object();
	json_object_set_new(o, "rrname", json_string(rr->rrname));
	json_object_set_new(o, "rrtype", json_string(store_rrtype_name(rr->rrtype, tb)));
	json_object_set_new(o, "rdata", json_string(rr->rdata));
	json_object_set_new(o, "time_first", json_integer(rr->time_first));
	json_object_set_new(o, "time_last", json_integer(rr->time_last));
	json_object_set_new(o, "count", json_integer((json_int_t)rr->count));
	if (rr->bailiwick != NULL && rr->bailiwick[0] != '\0')
		json_object_set_new(o, "bailiwick", json_string(rr->bailiwick));
	if (rr->nsensors > 0) {
		json_object_set_new(o, "sensor_id", json_string(rr->sensors[0]));
		json_object_set_new(o, "sensors", sensors_json(rr->nsensors, rr->sensors));
	}
	if (rr->sensors_more > 0)
		json_object_set_new(o, "sensors_more", json_integer(rr->sensors_more));
	return o;
}

/* A JSON string as jansson prints it, for printable ASCII only; anything
 * else fails the buffer (the caller falls back to jansson). */
static void t_str(struct util_buf *t, const char *s)
{
	util_buf_add(t, "\"", 1);
	for (const char *c = s; *c != '\0' && t->err == 0; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x20 || u >= 0x7f) {
			util_buf_set_error(t, -EILSEQ);
			return;
		}
		if (u == '"' || u == '\\')
			util_buf_add(t, "\\", 1);
		util_buf_add(t, c, 1);
	}
	util_buf_add(t, "\"", 1);
}

static void t_int(struct util_buf *t, int64_t v)
{
	char b[24];
	int i = (int)sizeof(b);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		b[--i] = '-';
	util_buf_add(t, b + i, sizeof(b) - (size_t)i);
}

int svc_rr_text(const struct store_rr *rr, char *out, size_t cap)
{
	char tb[16];
	struct util_buf t;
	if (rr->count > (uint64_t)INT64_MAX || cap == 0)
		return -1;
	util_buf_init_fixed(&t, out, cap);
	util_buf_add(&t, "{\"rrname\":", 10);
	t_str(&t, rr->rrname);
	util_buf_add(&t, ",\"rrtype\":", 10);
	t_str(&t, store_rrtype_name(rr->rrtype, tb));
	util_buf_add(&t, ",\"rdata\":", 9);
	t_str(&t, rr->rdata);
	util_buf_add(&t, ",\"time_first\":", 14);
	t_int(&t, rr->time_first);
	util_buf_add(&t, ",\"time_last\":", 13);
	t_int(&t, rr->time_last);
	util_buf_add(&t, ",\"count\":", 9);
	t_int(&t, (int64_t)rr->count);
	if (rr->bailiwick != NULL && rr->bailiwick[0] != '\0') {
		util_buf_add(&t, ",\"bailiwick\":", 13);
		t_str(&t, rr->bailiwick);
	}
	if (rr->nsensors > 0) {
		util_buf_add(&t, ",\"sensor_id\":", 13);
		t_str(&t, rr->sensors[0]);
		util_buf_add(&t, ",\"sensors\":[", 12);
		for (unsigned i = 0; i < rr->nsensors; i++) {
			if (i > 0)
				util_buf_add(&t, ",", 1);
			t_str(&t, rr->sensors[i]);
		}
		util_buf_add(&t, "]", 1);
	}
	if (rr->sensors_more > 0) {
		util_buf_add(&t, ",\"sensors_more\":", 16);
		t_int(&t, rr->sensors_more);
	}
	util_buf_add(&t, "}", 1);
	return t.err != 0 ? -1 : (int)t.len;
}

json_t *svc_sighting_json(const struct store_sighting *si)
{
	char hex[65], ip[STORE_ADDR_BUF];
	svc_certref_hex(&si->ref, hex);
	store_addr_format(si->ip, ip);
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("cert_sighting"));
	json_object_set_new(o, "ip", json_string(ip));
	json_object_set_new(o, "port", json_integer(si->port));
	json_object_set_new(o, si->ref.kind == 1 ? "cert_sha1" : "cert_sha256", json_string(hex));
	json_object_set_new(o, "time_first", json_integer(si->time_first));
	json_object_set_new(o, "time_last", json_integer(si->time_last));
	json_object_set_new(o, "count", json_integer((json_int_t)si->count));
	json_t *sni = json_array();
	for (unsigned i = 0; i < si->nsni; i++)
		json_array_append_new(sni, json_string(si->sni[i]));
	json_object_set_new(o, "sni", sni);
	json_object_set_new(o, "sensors", sensors_json(si->nsensors, si->sensors));
	if (si->sensors_more > 0)
		json_object_set_new(o, "sensors_more", json_integer(si->sensors_more));
	return o;
}

static json_t *list_json(const char *p, size_t n)
{
	json_t *a = json_array();
	size_t i = 0;
	while (i < n) {
		size_t l = strnlen(p + i, n - i);
		if (l > 0)
			json_array_append_new(a, json_stringn(p + i, l));
		i += l + 1;
	}
	return a;
}

json_t *svc_cert_json(const struct store_cert_info *ci)
{
	char hex[65];
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("certificate"));
	if (ci->has_sha1) {
		util_hex_encode(ci->sha1, 20, hex);
		json_object_set_new(o, "cert_sha1", json_string(hex));
	} else {
		json_object_set_new(o, "cert_sha1", json_null());
	}
	if (ci->has_sha256) {
		util_hex_encode(ci->sha256, 32, hex);
		json_object_set_new(o, "cert_sha256", json_string(hex));
	} else {
		json_object_set_new(o, "cert_sha256", json_null());
	}
	if (ci->has_meta) {
		json_object_set_new(o, "subject", json_string(ci->subject));
		json_object_set_new(o, "issuer", json_string(ci->issuer));
		json_object_set_new(o, "serial", json_string(ci->serial));
		json_object_set_new(o, "not_before", util_time_json(ci->not_before));
		json_object_set_new(o, "not_after", util_time_json(ci->not_after));
		json_object_set_new(o, "san_dns", list_json(ci->san_dns, ci->san_dns_len));
		json_object_set_new(o, "san_ip", list_json(ci->san_ip, ci->san_ip_len));
	}
	json_object_set_new(o, "der_stored", json_boolean(ci->der != NULL));
	return o;
}

int svc_fence_set(struct store_fence *f, const char *name, const char *val)
{
	int64_t *dst = NULL;
	char n[32];
	size_t l = strlen(name);
	if (l >= sizeof(n))
		return 1;
	for (size_t i = 0; i <= l; i++)
		n[i] = name[i] == '-' ? '_' : name[i];
	if (strcmp(n, "first_after") == 0)
		dst = &f->first_after;
	else if (strcmp(n, "first_before") == 0)
		dst = &f->first_before;
	else if (strcmp(n, "last_after") == 0)
		dst = &f->last_after;
	else if (strcmp(n, "last_before") == 0)
		dst = &f->last_before;
	else if (strcmp(n, "since") == 0)
		dst = &f->since;
	else if (strcmp(n, "until") == 0)
		dst = &f->until;
	else
		return 1;
	return store_time_parse(val, (int64_t)time(NULL), dst) == 0 ? 0 : STORE_EBADTIME;
}

int svc_lookup_check(const struct svc_lookup_req *req, char *msg, size_t msgcap)
{
	const char *v = req->value;
	size_t len = strlen(v);
	char name[STORE_NAME_BUF];
	uint8_t a[32];
	unsigned plen;
	size_t hl;
	int err = 0;
	switch (req->kind) {
	case SVC_LOOKUP_DOMAIN:
		err = store_name_pattern(v, len, name);
		if (err != 0)
			snprintf(msg, msgcap, "'%.80s' is not a valid domain name (%s)", v,
			         store_strerror(err));
		break;
	case SVC_LOOKUP_IP:
		/* any prefix length: the address index is walked in address
		 * order from the prefix's first address and stops at the limit,
		 * so a /8 costs what its results cost, as a /24 does */
		err = store_prefix_parse(v, len, a, &plen);
		if (err != 0)
			snprintf(msg, msgcap, "'%.80s' is not an IP address or prefix", v);
		break;
	case SVC_LOOKUP_CERT:
		err = store_hash_parse(v, len, a, &hl);
		if (err != 0)
			snprintf(msg, msgcap,
			         "'%.80s' is not a SHA-1 (40 hex digits) or SHA-256 "
			         "(64 hex digits)",
			         v);
		break;
	default:
		err = svc_lookup_keys_check(req, msg, msgcap);
		break;
	}
	return err;
}

struct emit_ctx {
	const struct svc_lookup_req *req;
	svc_result_cb cb;
	void *ctx;
	uint64_t seen;
	struct svc_lookup_res *res;
	int err;
};

/* Apply offset and limit: ADMIT_TAKE to deliver the result, 0 to skip
 * it, STORE_STOP once one past the limit was seen. */
#define ADMIT_TAKE 2
static int admit(struct emit_ctx *e)
{
	e->seen++;
	if (e->seen <= e->req->offset)
		return 0;
	if (e->req->limit > 0 && e->res->emitted >= e->req->limit) {
		e->res->limited = true;
		return STORE_STOP;
	}
	e->res->emitted++;
	return ADMIT_TAKE;
}

/* The callback's answer: a non-zero one stops the lookup with it. */
static int delivered(struct emit_ctx *e, int r)
{
	if (r != 0) {
		e->err = r;
		return STORE_STOP;
	}
	return 0;
}

static int emit(struct emit_ctx *e, enum svc_result_kind kind, json_t *obj)
{
	int a = admit(e);
	if (a != ADMIT_TAKE) {
		json_decref(obj);
		return a;
	}
	return delivered(e, e->cb(kind, obj, e->ctx));
}

static int emit_any(void *e, enum svc_result_kind kind, json_t *obj)
{
	return emit(e, kind, obj);
}

static int on_rr(const struct store_rr *rr, void *ctx)
{
	struct emit_ctx *e = ctx;
	if (e->req->rr_cb == NULL)
		return emit(e, SVC_RES_RR, svc_rr_json(rr));
	int a = admit(e);
	if (a != ADMIT_TAKE)
		return a;
	return delivered(e, e->req->rr_cb(rr, e->ctx));
}

static int on_sight(const struct store_sighting *si, void *ctx)
{
	return emit(ctx, SVC_RES_SIGHTING, svc_sighting_json(si));
}

/* union of SNI names over the certificate's sightings */
static int collect_sni(const struct store_sighting *si, void *ctx)
{
	json_t *arr = ctx;
	for (unsigned i = 0; i < si->nsni; i++) {
		bool dup = false;
		size_t j;
		json_t *v;
		json_array_foreach(arr, j, v)
		{
			if (strcmp(json_string_value(v), si->sni[i]) == 0)
				dup = true;
		}
		if (!dup && json_array_size(arr) < 1000)
			json_array_append_new(arr, json_string(si->sni[i]));
	}
	return 0;
}

/* An address or prefix: its resolutions, then the certificates seen on
 * it. */
static int lookup_ip(store_rtxn_t *r, const struct svc_lookup_req *req, struct emit_ctx *e)
{
	uint8_t a[16];
	unsigned plen;
	store_prefix_parse(req->value, strlen(req->value), a, &plen);
	int err = store_rr_by_addr(r, a, plen, &req->fence, on_rr, e);
	if (err != 0 || e->res->limited || e->err != 0 || !req->include_certs)
		return err;
	return store_sight_by_addr(r, a, plen, &req->fence, on_sight, e);
}

/* The certificate's metadata with its SNI names and address count. */
static int cert_meta(store_rtxn_t *r, const struct store_cert_ref *ref, json_t **out)
{
	struct store_cert_info ci;
	int err = store_cert_get(r, ref, &ci);
	if (err != 0)
		return err;
	json_t *meta = svc_cert_json(&ci);
	json_t *sni = json_array();
	err = store_sight_by_cert(r, ref, NULL, collect_sni, sni);
	json_object_set_new(meta, "sni", sni);
	uint64_t nip = 0;
	if (err == 0)
		err = store_prev_cert_ips(r, ref, &nip);
	json_object_set_new(meta, "ip_count", json_integer((json_int_t)nip));
	if (err == 0)
		err = svc_cert_json_key(r, ref, meta);
	*out = meta;
	return err;
}

/* A certificate: its metadata, then its sightings; unknown: nothing. */
static int lookup_cert(store_rtxn_t *r, const struct svc_lookup_req *req, struct emit_ctx *e)
{
	uint8_t h[32];
	size_t hl;
	struct store_cert_ref ref;
	store_hash_parse(req->value, strlen(req->value), h, &hl);
	int err = store_cert_resolve(r, h, hl, &ref);
	if (err == STORE_ENOTFOUND)
		return 0;
	json_t *meta = NULL;
	if (err == 0)
		err = cert_meta(r, &ref, &meta);
	if (err != 0) {
		json_decref(meta);
		return err;
	}
	if (emit(e, SVC_RES_CERT, meta) == 0 && e->err == 0)
		err = store_sight_by_cert(r, &ref, &req->fence, on_sight, e);
	return err;
}

int svc_lookup(store_t *s, const struct svc_lookup_req *req, svc_result_cb cb, void *ctx,
               struct svc_lookup_res *res)
{
	char msg[256];
	int err = svc_lookup_check(req, msg, sizeof(msg));
	if (err != 0)
		return err;
	memset(res, 0, sizeof(*res));
	struct emit_ctx e = {.req = req, .cb = cb, .ctx = ctx, .res = res};
	store_rtxn_t *r;
	err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	if (req->kind == SVC_LOOKUP_DOMAIN) {
		char name[STORE_NAME_BUF];
		store_name_pattern(req->value, strlen(req->value), name);
		err = store_rr_by_name(r, name, req->rrtype, &req->fence, on_rr, &e);
	} else if (req->kind == SVC_LOOKUP_IP) {
		err = lookup_ip(r, req, &e);
	} else if (req->kind == SVC_LOOKUP_CERT) {
		err = lookup_cert(r, req, &e);
	} else {
		err = svc_lookup_keys(r, req, emit_any, &e);
	}
	store_read_end(r);
	if (err == 0)
		err = e.err;
	return err;
}

int svc_stats_json(store_t *s, json_t **out)
{
	struct store_stats st;
	int err = store_stats(s, &st);
	if (err != 0)
		return err;
	const struct {
		const char *name;
		uint64_t v;
	} rows[] = {
	    {"resolutions", st.resolutions},
	    {"address_index", st.addr_index},
	    {"target_index", st.target_index},
	    {"certificates", st.certificates},
	    {"cert_sightings", st.sightings},
	    {"ip_cert_index", st.ip_cert_index},
	    {"name_cert_index", st.name_cert_index},
	    {"sha256_aliases", st.aliases},
	    {"sensors", st.sensors},
	    {"db_bytes", st.db_bytes},
	    {"used_bytes", st.used_bytes},
	    {"map_bytes", st.map_bytes},
	};
	/* the last three are sizes of the LMDB file: null on a cluster */
	size_t nrows = sizeof(rows) / sizeof(rows[0]);
	json_t *o = json_object();
	for (size_t i = 0; i < nrows; i++) {
		bool null = st.sizes_unknown && i >= nrows - 3;
		json_object_set_new(o, rows[i].name,
		                    null ? json_null() : json_integer((json_int_t)rows[i].v));
	}
	*out = o;
	return 0;
}
