/*
 * http_circl.c - CIRCL compatible routes: passive DNS (/pdns/query, COF
 * NDJSON) and passive SSL (/v2pssl/query, cquery, cfetch).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"
#include "util/base64.h"
#include "util/hex.h"

#define RESPONSE_MAX (256u << 20)

/* ---- /pdns/query/{name-or-ip} ------------------------------------------------ */
struct pdns_ctx {
	struct util_buf *out;
	uint64_t limit, n;
	bool limited;
	int err;
};

static int pdns_rr(const struct store_rr *rr, void *ctx)
{
	struct pdns_ctx *c = ctx;
	if (c->n >= c->limit) {
		c->limited = true;
		return STORE_STOP;
	}
	json_t *o = svc_rr_json(rr);
	int err = util_buf_add_json(c->out, o);
	if (err == 0)
		err = util_buf_add(c->out, "\n", 1);
	json_decref(o);
	c->n++;
	if (err != 0) {
		c->err = err;
		return STORE_STOP;
	}
	return 0;
}

enum MHD_Result svc_http_circl_pdns(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct store_fence fence;
	store_fence_init(&fence);
	struct util_buf out;
	struct pdns_ctx c = {.out = &out};
	if (!svc_http_fences(rq, &fence, &ret) || !svc_http_limit(rq, &c.limit, &ret))
		return ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	const char *q = svc_http_arg(rq, 0);
	uint8_t addr[16];
	char name[STORE_NAME_BUF];
	bool is_addr = store_addr_parse(q, strlen(q), addr) == 0;
	if (!is_addr && store_name_norm(q, strlen(q), name, false) != 0)
		return svc_http_error(rq, 400, "bad_request",
		                      "query: '%.80s' is neither an IP address nor a domain name",
		                      q);
	util_buf_init(&out, RESPONSE_MAX);
	store_rtxn_t *r;
	int err = store_read_begin(rq->srv->store, &r);
	if (err == 0) {
		if (is_addr) {
			err = store_rr_by_addr(r, addr, 128, &fence, pdns_rr, &c);
		} else {
			/* records of the name, then records pointing at it */
			err = store_rr_by_name(r, name, 0, &fence, pdns_rr, &c);
			if (err == 0 && c.err == 0 && !c.limited)
				err = store_rr_by_target(r, name, &fence, pdns_rr, &c);
		}
		store_read_end(r);
	}
	if (err == 0)
		err = c.err;
	if (err != 0) {
		util_buf_free(&out);
		return svc_http_store_error(rq, err, "query");
	}
	size_t len;
	char *body = util_buf_take(&out, &len);
	const char *h[] = {"X-Result-Limited", "true", NULL};
	return svc_http_send_h(rq, 200, "application/x-ndjson", body, len, c.limited ? h : NULL);
}

/* ---- passive SSL --------------------------------------------------------------- */
struct pssl_ctx {
	store_rtxn_t *r;
	json_t *root; /* { ip: {certificates:[], subjects:{}} } */
	json_t *seen; /* cquery: [ips] */
	char last_ip[STORE_ADDR_BUF];
	uint64_t limit, n;
	bool limited;
};

static int pssl_by_ip(const struct store_sighting *si, void *ctx)
{
	struct pssl_ctx *c = ctx;
	char ip[STORE_ADDR_BUF], hex[65];
	store_addr_format(si->ip, ip);
	svc_certref_hex(&si->ref, hex);
	json_t *e = json_object_get(c->root, ip);
	if (e == NULL) {
		if (c->n >= c->limit) {
			c->limited = true;
			return STORE_STOP;
		}
		c->n++;
		e = json_object();
		json_object_set_new(e, "certificates", json_array());
		json_object_set_new(e, "subjects", json_object());
		json_object_set(c->root, ip, e);
		json_decref(e);
	}
	json_t *subjects = json_object_get(e, "subjects");
	if (json_object_get(subjects, hex) != NULL)
		return 0; /* same certificate on another port */
	json_array_append_new(json_object_get(e, "certificates"), json_string(hex));
	json_t *values = json_array();
	struct store_cert_info ci;
	if (store_cert_get(c->r, &si->ref, &ci) == 0 && ci.has_meta && ci.subject[0] != '\0') {
		json_t *s = json_string(ci.subject);
		if (s != NULL)
			json_array_append_new(values, s);
	}
	json_t *sv = json_object();
	json_object_set_new(sv, "values", values);
	json_object_set_new(subjects, hex, sv);
	return 0;
}

static int pssl_by_cert(const struct store_sighting *si, void *ctx)
{
	struct pssl_ctx *c = ctx;
	char ip[STORE_ADDR_BUF];
	store_addr_format(si->ip, ip);
	/* sightings of a certificate come in (ip, port) order */
	if (strcmp(ip, c->last_ip) == 0)
		return 0;
	snprintf(c->last_ip, sizeof(c->last_ip), "%s", ip);
	if (c->n >= c->limit) {
		c->limited = true;
		return STORE_STOP;
	}
	c->n++;
	json_array_append_new(c->seen, json_string(ip));
	return 0;
}

static char *pem_of(const uint8_t *der, size_t len)
{
	size_t b64len = util_base64_encoded_len(len, UTIL_B64_PAD);
	size_t cap = b64len + b64len / 64 + 80;
	char *b64 = malloc(b64len + 1);
	char *pem = malloc(cap);
	if (b64 == NULL || pem == NULL) {
		free(b64);
		free(pem);
		return NULL;
	}
	util_base64_encode(der, len, UTIL_B64_PAD, b64);
	size_t o = (size_t)snprintf(pem, cap, "-----BEGIN CERTIFICATE-----\n");
	for (size_t i = 0; i < b64len; i += 64) {
		size_t l = b64len - i < 64 ? b64len - i : 64;
		memcpy(pem + o, b64 + i, l);
		o += l;
		pem[o++] = '\n';
	}
	snprintf(pem + o, cap - o, "-----END CERTIFICATE-----\n");
	free(b64);
	return pem;
}

/* The path's value: ADDR[/LEN] (query) or a certificate hash. */
struct pssl_query {
	char v[STORE_ADDR_BUF + 80];
	uint8_t h[32];
	size_t hl;
	uint8_t addr[16];
	unsigned plen;
};

static bool pssl_parse(struct svc_http_req *rq, struct pssl_query *q, enum MHD_Result *ret)
{
	if (strlen(svc_http_arg(rq, 0)) >= STORE_ADDR_BUF + 8) {
		*ret = svc_http_error(rq, 400, "bad_request", "value too long");
		return false;
	}
	if (svc_http_nargs(rq) == 2)
		snprintf(q->v, sizeof(q->v), "%s/%s", svc_http_arg(rq, 0), svc_http_arg(rq, 1));
	else
		snprintf(q->v, sizeof(q->v), "%s", svc_http_arg(rq, 0));
	if (rq->route == SVC_R_CIRCL_QUERY) {
		struct svc_lookup_req lr = {.kind = SVC_LOOKUP_IP, .value = q->v};
		char msg[256];
		if (svc_lookup_check(&lr, msg, sizeof(msg)) != 0) {
			*ret = svc_http_error(rq, 400, "bad_request", "ip: %s", msg);
			return false;
		}
		store_prefix_parse(q->v, strlen(q->v), q->addr, &q->plen);
	} else if (store_hash_parse(q->v, strlen(q->v), q->h, &q->hl) != 0) {
		*ret =
		    svc_http_error(rq, 400, "bad_request",
		                   "certificate: '%.80s' is not a SHA-1 or SHA-256 in hex", q->v);
		return false;
	}
	return true;
}

static json_t *cquery_answer(const char *hex, uint64_t hits, json_t *seen)
{
	json_t *o = json_object();
	json_object_set_new(o, "certificate", json_string(hex));
	json_object_set_new(o, "hits", json_integer((json_int_t)hits));
	json_object_set_new(o, "seen", seen);
	return o;
}

/* cquery: the addresses that served the certificate; never seen: no hits. */
static int pssl_cquery(struct pssl_ctx *c, int err, const struct store_cert_ref *ref,
                       const char *hex, json_t **o)
{
	if (err == STORE_ENOTFOUND) {
		*o = cquery_answer(hex, 0, json_array());
		return 0;
	}
	if (err != 0)
		return err;
	c->seen = json_array();
	err = store_sight_by_cert(c->r, ref, NULL, pssl_by_cert, c);
	uint64_t nip = 0;
	store_prev_cert_ips(c->r, ref, &nip);
	if (nip < c->n)
		nip = c->n;
	*o = cquery_answer(hex, nip, c->seen);
	return err;
}

/* cfetch: the certificate in PEM and its metadata. */
static int pssl_cfetch(struct pssl_ctx *c, const struct store_cert_ref *ref, const char *hex,
                       json_t **o)
{
	struct store_cert_info ci;
	int err = store_cert_get(c->r, ref, &ci);
	if (err != 0)
		return err;
	*o = json_object();
	json_object_set_new(*o, "certificate", json_string(hex));
	char *pem = ci.der != NULL ? pem_of(ci.der, ci.der_len) : NULL;
	json_object_set_new(*o, "pem", pem ? json_string(pem) : json_null());
	free(pem);
	json_object_set_new(*o, "info", svc_cert_json(&ci));
	return 0;
}

static int pssl_cert(struct svc_http_req *rq, struct pssl_ctx *c, const struct pssl_query *q,
                     json_t **o)
{
	struct store_cert_ref ref;
	char hex[65];
	util_hex_encode(q->h, q->hl, hex);
	int err = store_cert_resolve(c->r, q->h, q->hl, &ref);
	if (rq->route == SVC_R_CIRCL_CQUERY)
		return pssl_cquery(c, err, &ref, hex, o);
	return err != 0 ? err : pssl_cfetch(c, &ref, hex, o);
}

enum MHD_Result svc_http_circl_pssl(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct pssl_ctx c = {0};
	struct pssl_query q = {0};
	if (!svc_http_limit(rq, &c.limit, &ret) || svc_http_reject_unused(rq, &ret) ||
	    !pssl_parse(rq, &q, &ret))
		return ret;
	int err = store_read_begin(rq->srv->store, &c.r);
	if (err != 0)
		return svc_http_store_error(rq, err, "lookup");
	json_t *o = NULL;
	if (rq->route == SVC_R_CIRCL_QUERY) {
		c.root = json_object();
		err = store_sight_by_addr(c.r, q.addr, q.plen, NULL, pssl_by_ip, &c);
		o = c.root;
	} else {
		err = pssl_cert(rq, &c, &q, &o);
	}
	store_read_end(c.r);
	if (err != 0) {
		json_decref(o);
		return svc_http_store_error(rq, err, "certificate");
	}
	return svc_http_send_json(rq, 200, o);
}
