/*
 * zeek.c - Zeek dns.log, ssl.log, x509.log (and files.log for the hashes
 * of pre-4.2 certificates), from the ASCII (TSV) writer with its header
 * directives or from the JSON writer (LogAscii::use_json).
 *
 * zeek_read.c reduces both writers to one row of the columns we use, so
 * the record logic here does not care which writer produced a line.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/estate_internal.h"
#include "ingest/zeek_internal.h"
#include "util/hash.h"

/* ---- the pre-4.2 join: cert_chain_fuids <-> x509 id / files fuid ---- */
struct zpend {
	uint8_t ip[16];
	uint16_t port;
	char sni[STORE_NAME_BUF];
	int64_t tf, tl;
	uint64_t count;
};

struct zjoin {
	char fuid[40];
	bool has_hash;
	uint8_t hash[32];
	size_t hlen;
	struct zpend *pend;
	unsigned npend;
	struct store_cert_meta *meta; /* x509 metadata waiting for a hash */
	bool used;
};

struct zeek_run {
	struct zjoin *tab;
	size_t cap, n;
};

/* The join entry of a file id; created when create is set.  NULL when
 * absent, when the id is implausible, or when the table is full. */
static struct zjoin *join_get(struct ingest_ctx *c, const struct zspan *fuid, bool create)
{
	if (fuid->n == 0 || fuid->n >= sizeof(((struct zjoin *)0)->fuid))
		return NULL;
	struct zeek_run *r = c->run_state;
	if (r == NULL) {
		if (!create)
			return NULL;
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return NULL;
		r->cap = 1024;
		r->tab = calloc(r->cap, sizeof(*r->tab));
		if (r->tab == NULL) {
			free(r);
			return NULL;
		}
		c->run_state = r;
	}
	if (create && (r->n + 1) * 2 > r->cap && r->n < ZEEK_JOIN_MAX) {
		size_t nc = r->cap * 2;
		struct zjoin *nt = calloc(nc, sizeof(*nt));
		if (nt == NULL)
			return NULL;
		for (size_t i = 0; i < r->cap; i++) {
			if (!r->tab[i].used)
				continue;
			size_t j =
			    util_fnv64(UTIL_FNV64_INIT, r->tab[i].fuid, strlen(r->tab[i].fuid)) &
			    (nc - 1);
			while (nt[j].used)
				j = (j + 1) & (nc - 1);
			nt[j] = r->tab[i];
		}
		free(r->tab);
		r->tab = nt;
		r->cap = nc;
	}
	size_t j = util_fnv64(UTIL_FNV64_INIT, fuid->p, fuid->n) & (r->cap - 1);
	while (r->tab[j].used) {
		if (strlen(r->tab[j].fuid) == fuid->n &&
		    memcmp(r->tab[j].fuid, fuid->p, fuid->n) == 0)
			return &r->tab[j];
		j = (j + 1) & (r->cap - 1);
	}
	if (!create || r->n >= ZEEK_JOIN_MAX || (r->n + 1) * 2 > r->cap)
		return NULL;
	struct zjoin *e = &r->tab[j];
	e->used = true;
	memcpy(e->fuid, fuid->p, fuid->n);
	e->fuid[fuid->n] = '\0';
	r->n++;
	return e;
}

static void zeek_run_free(void *p)
{
	struct zeek_run *r = p;
	if (r == NULL)
		return;
	size_t waiting = 0;
	for (size_t i = 0; i < r->cap; i++) {
		waiting += r->tab[i].npend;
		free(r->tab[i].pend);
		if (r->tab[i].meta != NULL) {
			ingest_cert_meta_free(r->tab[i].meta);
			free(r->tab[i].meta);
		}
	}
	if (waiting > 0)
		fprintf(stderr,
		        "infrapivot: %zu Zeek ssl.log sightings named certificates by "
		        "file id (cert_chain_fuids) whose hash never came (no x509.log "
		        "fingerprint or files.log sha1 for them in this run): not recorded\n",
		        waiting);
	free(r->tab);
	free(r);
}

/* ---- records ----------------------------------------------------------- */
static int row_time(struct ingest_ctx *c, struct zrow *r, int col, int64_t *out)
{
	if (r->st[col] != Z_VAL)
		return ingest_reject(c, "%s is %s", ingest_zeek_col_names[col],
		                     r->st[col] == Z_ABSENT ? "missing" : "unset");
	const struct zspan *v = &r->v[col];
	if (ingest_epoch_parse(v->p, v->n, out) == 0)
		return 0;
	if (v->n > 0 && v->n < 64 && (v->p[0] == 'X' || v->p[0] == 'x') &&
	    strspn(v->p, "Xx.") >= v->n)
		return ingest_reject(c, "%s %.*s is masked (a test baseline), not a time",
		                     ingest_zeek_col_names[col], (int)v->n, v->p);
	/* the JSON writer may use ISO 8601 (JSON::TS_ISO8601) */
	char tmp[64];
	if (v->n < sizeof(tmp) && v->n >= 10 && v->p[4] == '-') {
		memcpy(tmp, v->p, v->n);
		tmp[v->n] = '\0';
		if (store_time_parse(tmp, 0, out) == 0 && *out >= 0 && *out <= (int64_t)UINT32_MAX)
			return 0;
	}
	return ingest_reject(c, "%s '%.*s' is not an epoch time", ingest_zeek_col_names[col],
	                     (int)(v->n > 40 ? 40 : v->n), v->p);
}

static bool row_is(const struct zrow *r, int col, const char *lit)
{
	return r->st[col] == Z_VAL && r->v[col].n == strlen(lit) &&
	       memcmp(r->v[col].p, lit, r->v[col].n) == 0;
}

/* The line's client (id.orig_h) contacted a destination. */
static int client_sight(struct ingest_ctx *c, const struct zrow *r, int64_t ts, uint8_t dtype,
                        const char *name, const uint8_t *ip, uint8_t src)
{
	if (r->st[ZC_ORIG_H] != Z_VAL)
		return 0;
	struct ingest_client_sight s = {.ts = ts,
	                                .client = r->v[ZC_ORIG_H].p,
	                                .client_len = r->v[ZC_ORIG_H].n,
	                                .dtype = dtype,
	                                .name = name,
	                                .ip = ip,
	                                .src = src};
	return ingest_client_add(c, &s);
}

static int dns_add(struct ingest_ctx *c, const char *owner, uint16_t type, const char *rd,
                   size_t rdlen, int64_t ts)
{
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "too many answers in one line");
	if (ingest_dns_fill(c, o, owner, strlen(owner), type, rd, rdlen) != 0)
		return INGEST_REJECT;
	o->time_first = ts;
	o->time_last = ts;
	return 0;
}

/* A NOERROR response with answers, not rejected: the rows we record. */
static bool dns_has_answers(const struct zrow *r)
{
	if (row_is(r, ZC_REJECTED, "T") || row_is(r, ZC_REJECTED, "true"))
		return false;
	/* only NOERROR responses carry answers we record */
	if (r->st[ZC_RCODE] == Z_VAL) {
		if (!row_is(r, ZC_RCODE, "0"))
			return false;
	} else if (!row_is(r, ZC_RCODE_NAME, "NOERROR")) {
		return false;
	}
	return r->st[ZC_ANSWERS] == Z_VAL;
}

/* The query type, from qtype or qtype_name; 0 when unknown. */
static uint16_t dns_qtype(const struct zrow *r)
{
	uint16_t qtype = 0;
	if (r->st[ZC_QTYPE] == Z_VAL) {
		if (store_rrtype_parse(r->v[ZC_QTYPE].p, r->v[ZC_QTYPE].n, &qtype) != 0)
			qtype = 0;
	} else if (r->st[ZC_QTYPE_NAME] == Z_VAL) {
		if (store_rrtype_parse(r->v[ZC_QTYPE_NAME].p, r->v[ZC_QTYPE_NAME].n, &qtype) != 0)
			qtype = 0;
	}
	return qtype;
}

static bool any_address(const struct zspan *ans, unsigned nans)
{
	uint8_t a[16];
	for (unsigned i = 0; i < nans; i++)
		if (store_addr_parse(ans[i].p, ans[i].n, a) == 0)
			return true;
	return false;
}

/* Walking the answers of one response. */
struct dns_walk {
	int64_t ts;
	uint16_t qtype;
	bool chain; /* names in the answer are the query name's CNAME chain */
	const char *qname;
	char prev[STORE_NAME_BUF]; /* the chain's last name */
	unsigned recorded, skipped;
};

/* One answer: an address of the query name, a CNAME in the chain, or
 * an NS/PTR target. */
static int dns_answer(struct ingest_ctx *c, struct dns_walk *w, const struct zspan *an)
{
	uint8_t a[16];
	char host[STORE_NAME_BUF];
	if (store_addr_parse(an->p, an->n, a) == 0) {
		uint16_t t = store_addr_is_v4(a) ? STORE_RR_A : STORE_RR_AAAA;
		if (dns_add(c, w->qname, t, an->p, an->n, w->ts) != 0)
			return INGEST_REJECT;
		w->recorded++;
	} else if (memchr(an->p, ' ', an->n) == NULL &&
	           store_name_norm(an->p, an->n, host, false) == 0) {
		if (w->chain) {
			if (dns_add(c, w->prev, STORE_RR_CNAME, an->p, an->n, w->ts) != 0)
				return INGEST_REJECT;
			memcpy(w->prev, host, sizeof(w->prev));
			w->recorded++;
		} else if (w->qtype == STORE_RR_NS || w->qtype == STORE_RR_PTR) {
			if (dns_add(c, w->qname, w->qtype, an->p, an->n, w->ts) != 0)
				return INGEST_REJECT;
			w->recorded++;
		} else {
			w->skipped++; /* MX/SRV/SOA without their numbers */
		}
	} else {
		w->skipped++;
	}
	return 0;
}

static int zeek_dns(struct ingest_ctx *c, struct zrow *r)
{
	struct dns_walk w = {0};
	if (row_time(c, r, ZC_TS, &w.ts) != 0)
		return INGEST_REJECT;
	if (r->st[ZC_QUERY] != Z_VAL)
		return INGEST_SKIP; /* no query name: nothing to attribute */
	char qname[STORE_NAME_BUF];
	int err = store_name_norm(r->v[ZC_QUERY].p, r->v[ZC_QUERY].n, qname, false);
	if (err != 0)
		return ingest_reject(c, "query %.*s: %s",
		                     (int)(r->v[ZC_QUERY].n > 80 ? 80 : r->v[ZC_QUERY].n),
		                     r->v[ZC_QUERY].p, store_strerror(err));
	if (client_sight(c, r, w.ts, STORE_DEST_DOMAIN, qname, NULL, STORE_CSRC_DNS) != 0)
		return INGEST_REJECT;
	if (!dns_has_answers(r))
		return INGEST_SKIP;
	w.qtype = dns_qtype(r);
	const struct zspan *ans = &r->elems[r->e0[ZC_ANSWERS]];
	unsigned nans = r->en[ZC_ANSWERS];
	/* Without a query type the names cannot be told apart (mDNS SRV
	 * answers, unmatched duplicate responses); an address in the answer
	 * still means the query was for an address. */
	if (w.qtype == 0 && !any_address(ans, nans)) {
		ingest_note_rdata_skipped(c, nans);
		return INGEST_SKIP;
	}
	uint16_t q = w.qtype;
	w.chain = !(q == STORE_RR_NS || q == STORE_RR_PTR || q == STORE_RR_MX ||
	            q == STORE_RR_SRV || q == STORE_RR_SOA || q == STORE_RR_DNAME);
	w.qname = qname;
	memcpy(w.prev, qname, sizeof(w.prev));
	for (unsigned i = 0; i < nans; i++)
		if (dns_answer(c, &w, &ans[i]) != 0)
			return INGEST_REJECT;
	ingest_note_rdata_skipped(c, w.skipped);
	return w.recorded > 0 ? INGEST_OK : INGEST_SKIP;
}

static int parse_hash(struct ingest_ctx *c, const struct zspan *v, const char *what, uint8_t h[32],
                      size_t *hlen)
{
	if (store_hash_parse(v->p, v->n, h, hlen) != 0)
		return ingest_reject(c, "%s %.*s is not a SHA-1 or SHA-256 in hex", what,
		                     (int)(v->n > 80 ? 80 : v->n), v->p);
	return 0;
}

static void meta_set_hash(struct store_cert_meta *m, const uint8_t *h, size_t hlen)
{
	if (hlen == 20) {
		m->has_sha1 = true;
		memcpy(m->sha1, h, 20);
	} else {
		m->has_sha256 = true;
		memcpy(m->sha256, h, 32);
	}
}

static int emit_sighting(struct ingest_ctx *c, const uint8_t *h, size_t hlen, const struct zpend *p)
{
	struct store_obs *o = ingest_obs_new(c);
	struct store_cert_meta *m = o ? ingest_meta_new(c) : NULL;
	if (m == NULL)
		return ingest_reject(c, "too many records in one line");
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	meta_set_hash(m, h, hlen);
	o->cert.sighting = true;
	memcpy(o->cert.ip, p->ip, 16);
	o->cert.port = p->port;
	memcpy(o->cert.sni, p->sni, sizeof(o->cert.sni));
	o->time_first = p->tf;
	o->time_last = p->tl;
	o->count = p->count;
	return 0;
}

static int emit_meta(struct ingest_ctx *c, const uint8_t *h, size_t hlen,
                     const struct store_cert_meta *src, int64_t ts)
{
	struct store_obs *o = ingest_obs_new(c);
	struct store_cert_meta *m = o ? ingest_meta_new(c) : NULL;
	if (m == NULL)
		return ingest_reject(c, "too many records in one line");
	*m = *src;
	m->der = NULL;
	m->der_len = 0;
	meta_set_hash(m, h, hlen);
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	o->cert.has_meta = true;
	o->time_first = ts;
	o->time_last = ts;
	return 0;
}

/* A file id learned its hash: record whatever waited for it. */
static int join_flush(struct ingest_ctx *c, struct zjoin *e, int64_t ts)
{
	for (unsigned i = 0; i < e->npend; i++)
		if (emit_sighting(c, e->hash, e->hlen, &e->pend[i]) != 0)
			return INGEST_REJECT;
	if (e->meta != NULL && emit_meta(c, e->hash, e->hlen, e->meta, ts) != 0)
		return INGEST_REJECT;
	/* the slots are claimed: forget the waiting list (a rejected line
	 * would lose them, which is why flushing is the last thing done) */
	free(e->pend);
	e->pend = NULL;
	e->npend = 0;
	free(e->meta);
	e->meta = NULL;
	return 0;
}

/* The leaf's file id: its hash is known (record now), or the sighting
 * waits for x509.log/files.log to name it. */
static int ssl_by_fuid(struct ingest_ctx *c, const struct zspan *fuid, const struct zpend *p,
                       int64_t ts)
{
	struct zjoin *e = join_get(c, fuid, true);
	if (e == NULL)
		return ingest_reject(c,
		                     "cert_chain_fuids: file id not usable or more than "
		                     "%d file ids waiting to be joined",
		                     ZEEK_JOIN_MAX);
	if (e->has_hash)
		return emit_sighting(c, e->hash, e->hlen, p) == 0 ? INGEST_OK : INGEST_REJECT;
	for (unsigned i = 0; i < e->npend; i++) {
		struct zpend *q = &e->pend[i];
		if (q->port == p->port && memcmp(q->ip, p->ip, 16) == 0 &&
		    strcmp(q->sni, p->sni) == 0) {
			q->tf = ts < q->tf ? ts : q->tf;
			q->tl = ts > q->tl ? ts : q->tl;
			q->count++;
			return INGEST_OK;
		}
	}
	if (e->npend >= ZEEK_PENDING_MAX)
		return ingest_reject(c,
		                     "more than %d distinct sightings wait for the hash "
		                     "of file %s",
		                     ZEEK_PENDING_MAX, e->fuid);
	struct zpend *np = realloc(e->pend, (e->npend + 1) * sizeof(*np));
	if (np == NULL)
		return ingest_reject(c, "out of memory");
	e->pend = np;
	e->pend[e->npend++] = *p;
	return INGEST_OK; /* recorded once x509.log/files.log gives the hash */
}

static int zeek_ssl(struct ingest_ctx *c, struct zrow *r)
{
	int64_t ts;
	if (row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	struct zpend p = {.tf = ts, .tl = ts, .count = 1};
	if (r->st[ZC_RESP_H] != Z_VAL ||
	    store_addr_parse(r->v[ZC_RESP_H].p, r->v[ZC_RESP_H].n, p.ip) != 0)
		return ingest_reject(c, "id.resp_h %.*s is not an IP address",
		                     (int)(r->v[ZC_RESP_H].n > 60 ? 60 : r->v[ZC_RESP_H].n),
		                     r->st[ZC_RESP_H] == Z_VAL ? r->v[ZC_RESP_H].p : "");
	int64_t port;
	if (r->st[ZC_RESP_P] != Z_VAL ||
	    ingest_epoch_parse(r->v[ZC_RESP_P].p, r->v[ZC_RESP_P].n, &port) != 0 || port < 1 ||
	    port > 65535 || memchr(r->v[ZC_RESP_P].p, '.', r->v[ZC_RESP_P].n) != NULL)
		return ingest_reject(c, "id.resp_p is not a port 1-65535");
	p.port = (uint16_t)port;
	if (r->st[ZC_SERVER_NAME] == Z_VAL &&
	    store_name_norm(r->v[ZC_SERVER_NAME].p, r->v[ZC_SERVER_NAME].n, p.sni, false) != 0)
		p.sni[0] = '\0'; /* an SNI that is no host name is not worth a reject */
	if (p.sni[0] != '\0'
	        ? client_sight(c, r, ts, STORE_DEST_DOMAIN, p.sni, NULL, STORE_CSRC_SNI)
	        : client_sight(c, r, ts, STORE_DEST_IP, NULL, p.ip, STORE_CSRC_TLS))
		return INGEST_REJECT;
	int fr = INGEST_SKIP;
	if (r->st[ZC_JA3S] == Z_VAL && r->v[ZC_JA3S].n > 0) {
		fr = ingest_fp_sighting(c, STORE_FP_JA3S, r->v[ZC_JA3S].p, r->v[ZC_JA3S].n, p.ip,
		                        p.port, ts, NULL);
		if (fr != INGEST_OK)
			return INGEST_REJECT;
	}
	if (r->st[ZC_CHAIN_FPS] == Z_VAL && r->en[ZC_CHAIN_FPS] > 0) {
		uint8_t h[32];
		size_t hl;
		if (parse_hash(c, &r->elems[r->e0[ZC_CHAIN_FPS]], "cert_chain_fps leaf", h, &hl) !=
		    0)
			return INGEST_REJECT;
		return emit_sighting(c, h, hl, &p) == 0 ? INGEST_OK : INGEST_REJECT;
	}
	if (r->st[ZC_CHAIN_FUIDS] == Z_VAL && r->en[ZC_CHAIN_FUIDS] > 0)
		return ssl_by_fuid(c, &r->elems[r->e0[ZC_CHAIN_FUIDS]], &p, ts);
	return fr; /* resumed session or no certificate */
}

static void list_add(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n == 0 || memchr(s, 0, n) != NULL || *len + n + 1 > cap)
		return;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[(*len)++] = '\0';
}

static void copy_str(char *dst, size_t cap, const struct zspan *v)
{
	size_t n = v->n < cap ? v->n : cap - 1;
	memcpy(dst, v->p, n);
	dst[n] = '\0';
}

/* The certificate metadata of an x509.log row. */
static int x509_row_meta(struct ingest_ctx *c, struct zrow *r, struct store_cert_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (r->st[ZC_SUBJECT] == Z_VAL)
		copy_str(m->subject, sizeof(m->subject), &r->v[ZC_SUBJECT]);
	if (r->st[ZC_ISSUER] == Z_VAL)
		copy_str(m->issuer, sizeof(m->issuer), &r->v[ZC_ISSUER]);
	if (r->st[ZC_SERIAL] == Z_VAL)
		copy_str(m->serial, sizeof(m->serial), &r->v[ZC_SERIAL]);
	if (r->st[ZC_NVB] == Z_VAL && row_time(c, r, ZC_NVB, &m->not_before) != 0)
		return INGEST_REJECT;
	if (r->st[ZC_NVA] == Z_VAL && row_time(c, r, ZC_NVA, &m->not_after) != 0)
		return INGEST_REJECT;
	for (unsigned i = 0; r->st[ZC_SAN_DNS] == Z_VAL && i < r->en[ZC_SAN_DNS]; i++) {
		const struct zspan *e = &r->elems[r->e0[ZC_SAN_DNS] + i];
		list_add(m->san_dns, sizeof(m->san_dns), &m->san_dns_len, e->p, e->n);
	}
	for (unsigned i = 0; r->st[ZC_SAN_IP] == Z_VAL && i < r->en[ZC_SAN_IP]; i++) {
		const struct zspan *e = &r->elems[r->e0[ZC_SAN_IP] + i];
		uint8_t a[16];
		char txt[STORE_ADDR_BUF];
		if (store_addr_parse(e->p, e->n, a) != 0)
			return ingest_reject(c, "san.ip %.*s is not an IP address",
			                     (int)(e->n > 60 ? 60 : e->n), e->p);
		store_addr_format(a, txt);
		list_add(m->san_ip, sizeof(m->san_ip), &m->san_ip_len, txt, strlen(txt));
	}
	return 0;
}

/* No hash yet (pre-4.2): the metadata waits for files.log. */
static int x509_wait(struct ingest_ctx *c, struct zjoin *e, const struct store_cert_meta *m)
{
	if (e == NULL)
		return ingest_reject(c, "neither fingerprint nor id: the certificate "
		                        "cannot be named");
	if (e->meta == NULL) {
		e->meta = malloc(sizeof(*e->meta));
		if (e->meta == NULL)
			return ingest_reject(c, "out of memory");
	}
	*e->meta = *m;
	return INGEST_OK;
}

/* The file id learned its hash: record what waited for it. */
static int x509_join(struct ingest_ctx *c, struct zjoin *e, const uint8_t *h, size_t hl, int64_t ts)
{
	if (!e->has_hash) {
		e->has_hash = true;
		memcpy(e->hash, h, 32);
		e->hlen = hl;
	}
	if (e->meta != NULL) {
		free(e->meta); /* this line's metadata supersedes it */
		e->meta = NULL;
	}
	return join_flush(c, e, ts) == 0 ? INGEST_OK : INGEST_REJECT;
}

/* x509.log's `cert` column (policy/protocols/ssl/log-certs-base64): the
 * certificate itself replaces what the columns said, and gives the hashes
 * and the key; it must be the one `fingerprint` names. */
static int x509_row_cert(struct ingest_ctx *c, const struct zrow *r, struct store_cert_meta *m,
                         uint8_t h[32], size_t *hl)
{
	const struct zspan *v = &r->v[ZC_CERT];
	struct store_cert_meta full;
	memset(&full, 0, sizeof(full));
	int err = ingest_cert_b64(v->p, v->n, &full);
	free(full.der);
	full.der = NULL;
	full.der_len = 0;
	if (err != 0)
		return ingest_reject(c, "cert: not a base64 DER X.509 certificate");
	const uint8_t *mine = *hl == 20 ? full.sha1 : full.sha256;
	if (*hl != 0 && memcmp(mine, h, *hl) != 0)
		return ingest_reject(c, "cert: the certificate is not the one fingerprint names");
	if (*hl == 0) {
		memcpy(h, full.sha1, 20);
		*hl = 20;
	}
	*m = full;
	return 0;
}

static int zeek_x509(struct ingest_ctx *c, struct zrow *r)
{
	int64_t ts;
	if (row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	struct store_cert_meta m;
	if (x509_row_meta(c, r, &m) != 0)
		return INGEST_REJECT;
	uint8_t h[32];
	size_t hl = 0;
	if (r->st[ZC_FINGERPRINT] == Z_VAL &&
	    parse_hash(c, &r->v[ZC_FINGERPRINT], "fingerprint", h, &hl) != 0)
		return INGEST_REJECT;
	if (r->st[ZC_CERT] == Z_VAL && x509_row_cert(c, r, &m, h, &hl) != 0)
		return INGEST_REJECT;
	struct zjoin *e = NULL;
	if (r->st[ZC_ID] == Z_VAL) {
		e = join_get(c, &r->v[ZC_ID], true);
		if (e == NULL && hl == 0)
			return ingest_reject(c,
			                     "id: file id not usable or more than %d file ids "
			                     "waiting to be joined",
			                     ZEEK_JOIN_MAX);
	}
	if (hl == 0 && e != NULL && e->has_hash) {
		memcpy(h, e->hash, 32);
		hl = e->hlen;
	}
	if (hl == 0)
		return x509_wait(c, e, &m);
	if (emit_meta(c, h, hl, &m, ts) != 0)
		return INGEST_REJECT;
	return e != NULL ? x509_join(c, e, h, hl, ts) : INGEST_OK;
}

/* files.log: only the hashes of certificates, for the pre-4.2 join. */
static int zeek_files(struct ingest_ctx *c, struct zrow *r)
{
	if (r->st[ZC_FUID] != Z_VAL)
		return INGEST_SKIP;
	int col = r->st[ZC_SHA1] == Z_VAL ? ZC_SHA1 : r->st[ZC_SHA256] == Z_VAL ? ZC_SHA256 : -1;
	if (col < 0)
		return INGEST_SKIP;
	int64_t ts = 0;
	if (r->st[ZC_TS] == Z_VAL && row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	uint8_t h[32];
	size_t hl;
	if (parse_hash(c, &r->v[col], ingest_zeek_col_names[col], h, &hl) != 0)
		return INGEST_REJECT;
	struct zjoin *e = join_get(c, &r->v[ZC_FUID], true);
	if (e == NULL)
		return INGEST_SKIP;
	if (!e->has_hash) {
		e->has_hash = true;
		memcpy(e->hash, h, 32);
		e->hlen = hl;
	}
	if (e->npend == 0 && e->meta == NULL)
		return INGEST_SKIP;
	return join_flush(c, e, ts) == 0 ? INGEST_OK : INGEST_REJECT;
}

static int zeek_record(struct ingest_ctx *c, struct zeek_state *s)
{
	int64_t ts = 0;
	const struct zspan *t = &s->row.v[ZC_TS];
	bool epoch = s->row.st[ZC_TS] == Z_VAL && ingest_epoch_parse(t->p, t->n, &ts) == 0;
	/* a malformed ts is a malformed line whatever the log */
	if (s->row.st[ZC_TS] == Z_VAL && !epoch && row_time(c, &s->row, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	switch (s->kind) {
	case ZK_DNS:
		return zeek_dns(c, &s->row);
	case ZK_SSL:
		return zeek_ssl(c, &s->row);
	case ZK_X509:
		return zeek_x509(c, &s->row);
	case ZK_FILES:
		return zeek_files(c, &s->row);
	case ZK_CONN:
		return ingest_zeek_conn(c, &s->row, epoch ? &ts : NULL);
	default:
		return INGEST_SKIP; /* conn.log, http.log...: nothing for us */
	}
}

static int zeek_line(struct ingest_ctx *c, char *line, size_t len)
{
	struct zeek_state *s = ingest_zeek_state_get(c);
	if (s == NULL)
		return ingest_reject(c, "out of memory");
	if (line[0] == '{') {
		json_t *obj;
		if (ingest_json_object_line(c, line, len, &obj) != 0)
			return INGEST_REJECT;
		int r;
		if (ingest_zeek_json_row(c, s, obj) != 0)
			r = INGEST_REJECT;
		else
			r = zeek_record(c, s);
		json_decref(obj);
		return r;
	}
	if (line[0] == '#')
		return ingest_zeek_tsv_header(c, s, line, len);
	if (!s->have_fields)
		return ingest_reject(c, "data line before a #fields header");
	if (s->kind == ZK_CONN && s->conn_fast) {
		int r = ingest_zeek_conn_fast(c, s, line, len);
		if (r != ZEEK_SLOW)
			return r;
	}
	if (ingest_zeek_tsv_row(c, s, line, len) != 0)
		return INGEST_REJECT;
	return zeek_record(c, s);
}

static int zeek_detect(const char *line, size_t len)
{
	if (len >= 11 && memcmp(line, "#separator ", 11) == 0)
		return 90;
	if (len >= 7 && memcmp(line, "#fields", 7) == 0)
		return 60;
	if (len > 0 && line[0] == '#')
		return 10; /* a comment above the headers (btest baselines) */
	if (len == 0 || line[0] != '{' || memmem(line, len, "\"event_type\"", 12) != NULL)
		return 0;
	if (memmem(line, len, "\"id.resp_h\"", 11) != NULL ||
	    memmem(line, len, "\"certificate.", 13) != NULL ||
	    (memmem(line, len, "\"fuid\"", 6) != NULL && memmem(line, len, "\"ts\"", 4) != NULL))
		return 60;
	return 0;
}

/* dns.log and conn.log data lines depend on nothing but the header:
 * helpers may parse them.  ssl.log, x509.log and files.log lines join by
 * file id (the run state) and stay with the reading thread. */
static bool zeek_line_parallel(const void *state, const char *line, size_t len)
{
	const struct zeek_state *s = state;
	return len > 0 && line[0] != '#' && line[0] != '{' && s->have_fields && !s->json &&
	       (s->kind == ZK_DNS || s->kind == ZK_CONN);
}

/* A helper's state: the header directives, its own row. */
static int zeek_state_share(void **helper, const void *src)
{
	struct zeek_state *d = *helper;
	if (d == NULL) {
		d = malloc(sizeof(*d));
		if (d == NULL)
			return -ENOMEM;
		*helper = d;
	}
	memcpy(d, src, offsetof(struct zeek_state, row));
	return 0;
}

const struct ingest_format ingest_fmt_zeek = {
    .name = "zeek",
    .detect = zeek_detect,
    .line = zeek_line,
    .state_free = ingest_zeek_state_free,
    .run_state_free = zeek_run_free,
    .line_parallel = zeek_line_parallel,
    .state_share = zeek_state_share,
};
