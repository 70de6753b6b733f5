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

/* ---- /pdns/query/{name-or-ip} ------------------------------------------------
 * CIRCL's passive DNS 2.0 request headers, as PyPDNS sends them:
 * dribble-filter-rrtype (types, comma-separated), dribble-paginate-count (a
 * page size: pagination on) and dribble-paginate-cursor (the x-dribble-cursor
 * of the previous page).  dribble-disable-active-query asks the server not to
 * resolve the name itself; infrapivot never does, so it is accepted as is.
 *
 * The cursor is a decimal integer, as PyPDNS parses it: the position of the
 * next result in the low 40 bits, 23 bits of a digest of the query above
 * them, so that a cursor given with another query is refused. */
#define PDNS_TYPES_MAX 16
#define PDNS_POS_BITS 40

struct pdns_ctx {
	struct util_buf *out;
	uint64_t limit, n, offset, seen;
	uint16_t types[PDNS_TYPES_MAX];
	unsigned ntypes; /* 0: every type */
	bool limited;
	int err;
};

static bool pdns_type_ok(const struct pdns_ctx *c, uint16_t type)
{
	for (unsigned i = 0; i < c->ntypes; i++) {
		if (c->types[i] == type)
			return true;
	}
	return c->ntypes == 0;
}

static int pdns_rr(const struct store_rr *rr, void *ctx)
{
	struct pdns_ctx *c = ctx;
	if (!pdns_type_ok(c, rr->rrtype))
		return 0;
	if (c->seen++ < c->offset)
		return 0;
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

/* dribble-filter-rrtype: "A", "A,AAAA" (names or numbers). */
static bool pdns_filter(struct svc_http_req *rq, struct pdns_ctx *c, enum MHD_Result *ret)
{
	const char *v = svc_http_header(rq, "dribble-filter-rrtype");
	if (v == NULL)
		return true;
	const char *p = v;
	for (;;) {
		while (*p == ' ')
			p++;
		size_t l = strcspn(p, ", ");
		if (l > 0 && (c->ntypes == PDNS_TYPES_MAX ||
		              store_rrtype_parse(p, l, &c->types[c->ntypes++]) != 0)) {
			*ret = svc_http_error(rq, 400, "bad_request",
			                      "dribble-filter-rrtype: '%.40s' is not a list of "
			                      "at most %d RR types",
			                      v, PDNS_TYPES_MAX);
			return false;
		}
		p += l;
		while (*p == ' ')
			p++;
		if (*p != ',')
			break;
		p++;
	}
	if (*p != '\0' || c->ntypes == 0) {
		*ret =
		    svc_http_error(rq, 400, "bad_request",
		                   "dribble-filter-rrtype: '%.40s' is not a list of RR types", v);
		return false;
	}
	return true;
}

/* 23 bits of FNV-1a over the query and the type filter, never 0. */
static uint64_t pdns_digest(const char *q, const struct pdns_ctx *c)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = q; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (unsigned i = 0; i < c->ntypes; i++)
		h = (h ^ c->types[i]) * 0x100000001b3ull;
	h &= (1ull << 23) - 1;
	return h != 0 ? h : 1;
}

static bool pdns_header_u64(struct svc_http_req *rq, const char *name, uint64_t *out,
                            enum MHD_Result *ret)
{
	const char *v = svc_http_header(rq, name);
	if (v == NULL)
		return true;
	if (svc_parse_u64(v, out) != 0) {
		*ret =
		    svc_http_error(rq, 400, "bad_request", "%s: '%.40s' is not a number", name, v);
		return false;
	}
	return true;
}

/* dribble-paginate-count and -cursor: *paged when the client pages. */
static bool pdns_paging(struct svc_http_req *rq, const char *q, struct pdns_ctx *c, bool *paged,
                        enum MHD_Result *ret)
{
	uint64_t count = 0, cursor = 0;
	if (!pdns_header_u64(rq, "dribble-paginate-count", &count, ret) ||
	    !pdns_header_u64(rq, "dribble-paginate-cursor", &cursor, ret))
		return false;
	*paged = svc_http_header(rq, "dribble-paginate-count") != NULL;
	if (*paged)
		c->limit =
		    count == 0 || count > rq->srv->conf.max_limit ? rq->srv->conf.max_limit : count;
	if (svc_http_header(rq, "dribble-paginate-cursor") == NULL || cursor == 0)
		return true;
	if (cursor >> PDNS_POS_BITS != pdns_digest(q, c)) {
		*ret = svc_http_error(rq, 400, "bad_request",
		                      "dribble-paginate-cursor: not a cursor of this query");
		return false;
	}
	c->offset = cursor & ((1ull << PDNS_POS_BITS) - 1);
	return true;
}

/* The records of an address, or of a name and then those pointing at it. */
static int pdns_read(store_t *s, const char *q, const struct store_fence *fence, struct pdns_ctx *c)
{
	uint8_t addr[16];
	char name[STORE_NAME_BUF];
	bool is_addr = store_addr_parse(q, strlen(q), addr) == 0;
	if (!is_addr && store_name_norm(q, strlen(q), name, false) != 0)
		return STORE_EBADNAME;
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	if (is_addr) {
		err = store_rr_by_addr(r, addr, 128, fence, pdns_rr, c);
	} else {
		err = store_rr_by_name(r, name, 0, fence, pdns_rr, c);
		if (err == 0 && c->err == 0 && !c->limited)
			err = store_rr_by_target(r, name, fence, pdns_rr, c);
	}
	store_read_end(r);
	return err != 0 ? err : c->err;
}

enum MHD_Result svc_http_circl_pdns(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct store_fence fence;
	store_fence_init(&fence);
	struct util_buf out;
	struct pdns_ctx c = {.out = &out};
	/* a name in U-labels is looked up in its A-label form */
	char q[STORE_NAME_BUF + 8], why[256];
	if (svc_idn_ascii(svc_http_arg(rq, 0), q, sizeof(q), why, sizeof(why)) != 0)
		return svc_http_error(rq, 400, "bad_request", "query: %s", why);
	bool paged = false;
	if (!svc_http_fences(rq, &fence, &ret) || !svc_http_limit(rq, &c.limit, &ret) ||
	    !pdns_filter(rq, &c, &ret) || !pdns_paging(rq, q, &c, &paged, &ret))
		return ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	util_buf_init(&out, RESPONSE_MAX);
	int err = pdns_read(rq->srv->store, q, &fence, &c);
	if (err == STORE_EBADNAME) {
		util_buf_free(&out);
		return svc_http_error(rq, 400, "bad_request",
		                      "query: '%.80s' is neither an IP address nor a domain name",
		                      q);
	}
	if (err != 0) {
		util_buf_free(&out);
		return svc_http_store_error(rq, err, "query");
	}
	size_t len;
	char *body = util_buf_take(&out, &len);
	char cur[24];
	snprintf(cur, sizeof(cur), "%llu",
	         (unsigned long long)(pdns_digest(q, &c) << PDNS_POS_BITS | (c.offset + c.n)));
	const char *h[] = {"X-Result-Limited", "true", NULL};
	if (paged) {
		h[0] = "x-dribble-cursor";
		h[1] = cur;
	}
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
	struct store_cert_info ci;
	int err = store_cert_get(c->r, &si->ref, &ci);
	if (err != 0 && err != STORE_ENOTFOUND)
		return err; /* a ClickHouse store's server failed */
	json_t *values = json_array();
	if (err == 0 && ci.has_meta && ci.subject[0] != '\0') {
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
	if (err == 0)
		err = store_prev_cert_ips(c->r, ref, &nip);
	if (nip < c->n)
		nip = c->n;
	*o = cquery_answer(hex, nip, c->seen);
	return err;
}

/* CIRCL's subjectAltName extension text: "DNS:a, DNS:b, IP Address:c". */
static json_t *san_text(const struct store_cert_info *ci)
{
	struct util_buf b;
	util_buf_init(&b, 8192);
	const struct {
		const char *p, *tag;
		size_t n;
	} lists[] = {{ci->san_dns, "DNS:", ci->san_dns_len},
	             {ci->san_ip, "IP Address:", ci->san_ip_len}};
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < lists[k].n;) {
			size_t l = strnlen(lists[k].p + i, lists[k].n - i);
			if (l > 0) {
				util_buf_adds(&b, b.len > 0 ? ", " : "");
				util_buf_adds(&b, lists[k].tag);
				util_buf_add(&b, lists[k].p + i, l);
			}
			i += l + 1;
		}
	}
	json_t *s = b.err == 0 && b.len > 0 ? json_stringn(b.p, b.len) : NULL;
	util_buf_free(&b);
	return s;
}

/* cfetch: the certificate in PEM and its metadata, with the fields CIRCL
 * clients read (subject, issuer, not_before, not_after, fingerprint,
 * extension.subjectAltName) beside ours.  A certificate without metadata
 * (known from sightings only) is STORE_ENOTFOUND, as an unknown one. */
static int pssl_cfetch(struct pssl_ctx *c, const struct store_cert_ref *ref, const char *hex,
                       json_t **o)
{
	struct store_cert_info ci;
	int err = store_cert_get(c->r, ref, &ci);
	if (err != 0)
		return err;
	if (!ci.has_meta)
		return STORE_ENOTFOUND;
	*o = json_object();
	json_object_set_new(*o, "certificate", json_string(hex));
	char *pem = ci.der != NULL ? pem_of(ci.der, ci.der_len) : NULL;
	json_object_set_new(*o, "pem", pem ? json_string(pem) : json_null());
	free(pem);
	json_t *info = svc_cert_json(&ci);
	if (ci.has_sha1) {
		char fp[41];
		util_hex_encode(ci.sha1, 20, fp);
		for (char *p = fp; *p != '\0'; p++)
			*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
		json_object_set_new(info, "fingerprint", json_string(fp));
	}
	json_t *ext = json_object();
	json_t *san = san_text(&ci);
	if (san != NULL)
		json_object_set_new(ext, "subjectAltName", san);
	json_object_set_new(info, "extension", ext);
	json_object_set_new(*o, "info", info);
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
	if (err == STORE_ENOTFOUND && rq->route == SVC_R_CIRCL_CFETCH)
		/* CIRCL's answer for a certificate it does not hold; as JSON, so
		 * that PyPSSL's fetch_cert() returns it as its 'error' */
		return svc_http_error(rq, 400, "unknown_certificate",
		                      "Not existing certificate: %.80s is not known or only "
		                      "from sightings (no certificate or metadata stored)",
		                      q.v);
	if (err != 0) {
		json_decref(o);
		return svc_http_store_error(rq, err, "certificate");
	}
	return svc_http_send_json(rq, 200, o);
}
