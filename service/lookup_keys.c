/*
 * lookup_keys.c - lookups beyond the certificate hash: certificates by
 * public key, by subject DN, by serial (and issuer), and the ip:port
 * sightings of a JARM or JA3S fingerprint.  Shared by `infrapivot lookup`
 * and the HTTP API through svc_lookup().
 */
#include <stdio.h>
#include <string.h>

#include "service/svc.h"
#include "util/hex.h"
#include "util/time.h"

static unsigned fp_type(enum svc_lookup_kind k)
{
	return k == SVC_LOOKUP_JARM ? STORE_FP_JARM : STORE_FP_JA3S;
}

int svc_lookup_keys_check(const struct svc_lookup_req *req, char *msg, size_t msgcap)
{
	const char *v = req->value;
	size_t len = strlen(v), hl;
	uint8_t key[32];
	char buf[STORE_DN_BUF];
	switch (req->kind) {
	case SVC_LOOKUP_KEY:
		if (util_hex_decode(v, len, key, sizeof(key), &hl) == 0 && hl == 32)
			return 0;
		snprintf(msg, msgcap, "'%.80s' is not a public key SHA-256 (64 hex digits)", v);
		return STORE_EBADHASH;
	case SVC_LOOKUP_SUBJECT:
		if (store_dn_norm(v, len, buf) == 0)
			return 0;
		snprintf(msg, msgcap, "'%.80s' is not a distinguished name (CN=..., O=...)", v);
		return STORE_EBADNAME;
	case SVC_LOOKUP_SERIAL:
		if (store_serial_norm(v, len, buf) != 0) {
			snprintf(msg, msgcap, "'%.80s' is not a serial number in hex", v);
			return STORE_EBADHASH;
		}
		if (req->issuer == NULL ||
		    store_dn_norm(req->issuer, strlen(req->issuer), buf) == 0)
			return 0;
		snprintf(msg, msgcap, "issuer '%.80s' is not a distinguished name", req->issuer);
		return STORE_EBADNAME;
	case SVC_LOOKUP_JARM:
	case SVC_LOOKUP_JA3S:
		if (store_fp_norm(fp_type(req->kind), v, len, buf) == 0)
			return 0;
		snprintf(msg, msgcap, "'%.80s' is not a %s fingerprint (%s hex digits)", v,
		         store_fp_type_name(fp_type(req->kind)),
		         req->kind == SVC_LOOKUP_JARM ? "62" : "32");
		return STORE_EBADHASH;
	default:
		return 1;
	}
}

json_t *svc_fp_json(const struct store_fp_sighting *s)
{
	char ip[STORE_ADDR_BUF];
	store_addr_format(s->ip, ip);
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(store_fp_type_name(s->fptype)));
	json_object_set_new(o, "hash", json_string(s->hash));
	json_object_set_new(o, "ip", json_string(ip));
	json_object_set_new(o, "port", json_integer(s->port));
	json_object_set_new(o, "time_first", json_integer(s->time_first));
	json_object_set_new(o, "time_last", json_integer(s->time_last));
	json_object_set_new(o, "count", json_integer((json_int_t)s->count));
	return o;
}

int svc_cert_json_key(store_rtxn_t *r, const struct store_cert_ref *ref, json_t *o)
{
	uint8_t key[32];
	char hex[65];
	int err = store_cert_key(r, ref, key);
	if (err != 0) {
		json_object_set_new(o, "key_sha256", json_null());
		return err == STORE_ENOTFOUND ? 0 : err;
	}
	util_hex_encode(key, 32, hex);
	json_object_set_new(o, "key_sha256", json_string(hex));
	return 0;
}

struct keys_walk {
	store_rtxn_t *r;
	svc_emit_fn emit;
	void *e;
	int err;
};

/* One certificate: its metadata, key and address count. */
static int on_ref(const struct store_cert_ref *ref, void *ctx)
{
	struct keys_walk *w = ctx;
	struct store_cert_info ci;
	int err = store_cert_get(w->r, ref, &ci);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
	json_t *o = svc_cert_json(&ci);
	uint64_t nip = 0;
	err = svc_cert_json_key(w->r, ref, o);
	if (err == 0)
		err = store_prev_cert_ips(w->r, ref, &nip);
	if (err != 0) {
		json_decref(o);
		return err;
	}
	json_object_set_new(o, "ip_count", json_integer((json_int_t)nip));
	return w->emit(w->e, SVC_RES_CERT, o);
}

static int on_fp(const struct store_fp_sighting *s, void *ctx)
{
	struct keys_walk *w = ctx;
	return w->emit(w->e, SVC_RES_FP, svc_fp_json(s));
}

int svc_lookup_keys(store_rtxn_t *r, const struct svc_lookup_req *req, svc_emit_fn emit, void *e)
{
	struct keys_walk w = {r, emit, e, 0};
	const char *v = req->value;
	uint8_t key[32];
	size_t hl;
	char dn[STORE_DN_BUF];
	switch (req->kind) {
	case SVC_LOOKUP_KEY:
		util_hex_decode(v, strlen(v), key, sizeof(key), &hl);
		return store_certs_by_key(r, key, on_ref, &w);
	case SVC_LOOKUP_SUBJECT:
		store_dn_norm(v, strlen(v), dn);
		return store_certs_by_subject(r, dn, on_ref, &w);
	case SVC_LOOKUP_SERIAL:
		return store_certs_by_serial(r, v, req->issuer, on_ref, &w);
	default:
		return store_fp_by_hash(r, fp_type(req->kind), v, &req->fence, on_fp, &w);
	}
}
