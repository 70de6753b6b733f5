/*
 * zeek.c - Zeek dns.log, ssl.log, x509.log (and files.log for the hashes
 * of pre-4.2 certificates), from the ASCII (TSV) writer with its header
 * directives or from the JSON writer (LogAscii::use_json).
 *
 * Both writers are reduced to one row of the columns we use, so the
 * record logic below does not care which writer produced a line.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest_internal.h"

#define ZEEK_MAX_FIELDS 256  /* columns in #fields */
#define ZEEK_MAX_ELEMS 2048  /* vector elements in one line, all columns */
#define ZEEK_JOIN_MAX 100000 /* file ids remembered for the pre-4.2 join */
#define ZEEK_PENDING_MAX 256 /* distinct sightings waiting on one file id */

enum zcol {
	ZC_TS, ZC_QUERY, ZC_QTYPE, ZC_QTYPE_NAME, ZC_RCODE, ZC_RCODE_NAME, ZC_ANSWERS,
	ZC_REJECTED, ZC_RESP_H, ZC_RESP_P, ZC_SERVER_NAME, ZC_CHAIN_FPS, ZC_CHAIN_FUIDS,
	ZC_FINGERPRINT, ZC_ID, ZC_SERIAL, ZC_SUBJECT, ZC_ISSUER, ZC_NVB, ZC_NVA, ZC_SAN_DNS,
	ZC_SAN_IP, ZC_FUID, ZC_SHA1, ZC_SHA256, ZC_NCOLS
};
static const char *const zcol_names[ZC_NCOLS] = {
	"ts", "query", "qtype", "qtype_name", "rcode", "rcode_name", "answers",
	"rejected", "id.resp_h", "id.resp_p", "server_name", "cert_chain_fps", "cert_chain_fuids",
	"fingerprint", "id", "certificate.serial", "certificate.subject", "certificate.issuer",
	"certificate.not_valid_before", "certificate.not_valid_after", "san.dns",
	"san.ip", "fuid", "sha1", "sha256",
};
static const bool zcol_vector[ZC_NCOLS] = {
	[ZC_ANSWERS] = true, [ZC_CHAIN_FPS] = true, [ZC_CHAIN_FUIDS] = true,
	[ZC_SAN_DNS] = true, [ZC_SAN_IP] = true,
};

enum zkind { ZK_UNKNOWN, ZK_DNS, ZK_SSL, ZK_X509, ZK_FILES, ZK_OTHER };
enum zst { Z_ABSENT = 0, Z_UNSET, Z_EMPTY, Z_VAL };

struct zspan {
	const char *p;
	size_t n;
};

/* One line reduced to the columns we use. */
struct zrow {
	enum zst st[ZC_NCOLS];
	struct zspan v[ZC_NCOLS];       /* scalar value (unescaped) */
	unsigned e0[ZC_NCOLS], en[ZC_NCOLS]; /* vector elements in elems[] */
	struct zspan elems[ZEEK_MAX_ELEMS];
	unsigned nelems;
	char num[ZC_NCOLS][48]; /* JSON numbers as text */
};

/* Per-input state: the header directives of a TSV log. */
struct zeek_state {
	bool json;
	char sep[8];
	size_t seplen;
	char set_sep[8];
	size_t set_seplen;
	char empty[32];
	char unset[32];
	bool have_fields;
	enum zkind kind;
	int nfields;
	int colidx[ZC_NCOLS]; /* column of each zcol, -1 when absent */
	struct zrow row;
};

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

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

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
			size_t j = fnv(r->tab[i].fuid, strlen(r->tab[i].fuid)) & (nc - 1);
			while (nt[j].used)
				j = (j + 1) & (nc - 1);
			nt[j] = r->tab[i];
		}
		free(r->tab);
		r->tab = nt;
		r->cap = nc;
	}
	size_t j = fnv(fuid->p, fuid->n) & (r->cap - 1);
	while (r->tab[j].used) {
		if (strlen(r->tab[j].fuid) == fuid->n && memcmp(r->tab[j].fuid, fuid->p, fuid->n) == 0)
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
		fprintf(stderr, "infrapivot: %zu Zeek ssl.log sightings named certificates by "
				"file id (cert_chain_fuids) whose hash never came (no x509.log "
				"fingerprint or files.log sha1 for them in this run): not recorded\n",
			waiting);
	free(r->tab);
	free(r);
}

static void zeek_state_free(void *p)
{
	free(p);
}

/* ---- reducing a line to a row ---------------------------------------- */
static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Undo the ASCII writer's escapes (\xNN, \\) in place; returns the length. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n + 0 && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
		    hexval(s[i + 3]) >= 0) {
			s[o++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
			i += 3;
		} else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
			s[o++] = '\\';
			i++;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* A directive value like "\x09" into bytes. */
static size_t directive_value(const char *in, size_t n, char *out, size_t cap)
{
	char tmp[64];
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, in, n);
	n = unescape(tmp, n);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
	return n;
}

static enum zkind kind_from_path(const char *p, size_t n)
{
	if (n == 3 && memcmp(p, "dns", 3) == 0)
		return ZK_DNS;
	if (n == 3 && memcmp(p, "ssl", 3) == 0)
		return ZK_SSL;
	if (n == 4 && memcmp(p, "x509", 4) == 0)
		return ZK_X509;
	if (n == 5 && memcmp(p, "files", 5) == 0)
		return ZK_FILES;
	return ZK_OTHER;
}

/* The kind of log from the columns it has (no #path, or the JSON writer). */
static enum zkind kind_from_cols(const bool has[ZC_NCOLS])
{
	if (has[ZC_QUERY] && (has[ZC_ANSWERS] || has[ZC_RCODE] || has[ZC_QTYPE]))
		return ZK_DNS;
	if (has[ZC_CHAIN_FPS] || has[ZC_CHAIN_FUIDS] || has[ZC_SERVER_NAME])
		return ZK_SSL;
	if (has[ZC_SUBJECT] || (has[ZC_FINGERPRINT] && has[ZC_SERIAL]))
		return ZK_X509;
	if (has[ZC_FUID] && (has[ZC_SHA1] || has[ZC_SHA256]))
		return ZK_FILES;
	return ZK_OTHER;
}

static struct zeek_state *state_get(struct ingest_ctx *c)
{
	struct zeek_state *s = c->state;
	if (s != NULL)
		return s;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->sep[0] = '\t';
	s->seplen = 1;
	s->set_sep[0] = ',';
	s->set_seplen = 1;
	memcpy(s->empty, "(empty)", 8);
	memcpy(s->unset, "-", 2);
	c->state = s;
	return s;
}

/* Next separator-delimited token of [*p, end). */
static struct zspan next_tok(const char **p, const char *end, const char *sep, size_t seplen)
{
	struct zspan t = { *p, 0 };
	const char *s = seplen ? memmem(*p, (size_t)(end - *p), sep, seplen) : NULL;
	if (s == NULL) {
		t.n = (size_t)(end - *p);
		*p = end + 1;
	} else {
		t.n = (size_t)(s - *p);
		*p = s + seplen;
	}
	return t;
}

static int tsv_header(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len)
{
	const char *end = line + len;
	if (len > 11 && memcmp(line, "#separator ", 11) == 0) {
		s->seplen = directive_value(line + 11, len - 11, s->sep, sizeof(s->sep));
		if (s->seplen == 0)
			return ingest_reject(c, "#separator is empty");
		return INGEST_HEADER;
	}
	const char *p = line;
	struct zspan name = next_tok(&p, end, s->sep, s->seplen);
	if (p > end)
		return INGEST_HEADER; /* a comment */
	struct zspan val = { p, (size_t)(end - p) };
#define IS(lit) (name.n == sizeof(lit) - 1 && memcmp(name.p, lit, name.n) == 0)
	if (IS("#set_separator")) {
		s->set_seplen = directive_value(val.p, val.n, s->set_sep, sizeof(s->set_sep));
	} else if (IS("#empty_field")) {
		directive_value(val.p, val.n, s->empty, sizeof(s->empty));
	} else if (IS("#unset_field")) {
		directive_value(val.p, val.n, s->unset, sizeof(s->unset));
	} else if (IS("#path")) {
		s->kind = kind_from_path(val.p, val.n);
	} else if (IS("#fields")) {
		bool has[ZC_NCOLS] = { false };
		for (int i = 0; i < ZC_NCOLS; i++)
			s->colidx[i] = -1;
		s->nfields = 0;
		while (p <= end) {
			struct zspan f = next_tok(&p, end, s->sep, s->seplen);
			if (s->nfields >= ZEEK_MAX_FIELDS) {
				s->have_fields = false;
				return ingest_reject(c, "#fields declares more than %d columns",
						     ZEEK_MAX_FIELDS);
			}
			for (int i = 0; i < ZC_NCOLS; i++) {
				if (strlen(zcol_names[i]) == f.n &&
				    memcmp(zcol_names[i], f.p, f.n) == 0) {
					s->colidx[i] = s->nfields;
					has[i] = true;
				}
			}
			s->nfields++;
		}
		if (s->kind == ZK_UNKNOWN)
			s->kind = kind_from_cols(has);
		s->have_fields = true;
	}
#undef IS
	return INGEST_HEADER;
}

static int add_elem(struct ingest_ctx *c, struct zrow *r, const char *p, size_t n)
{
	if (r->nelems >= ZEEK_MAX_ELEMS)
		return ingest_reject(c, "more than %d vector elements in one line",
				     ZEEK_MAX_ELEMS);
	r->elems[r->nelems++] = (struct zspan){ p, n };
	return 0;
}

static int tsv_row(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len)
{
	struct zrow *r = &s->row;
	char *fields[ZEEK_MAX_FIELDS];
	size_t flen[ZEEK_MAX_FIELDS];
	int nf = 0;
	const char *p = line;
	const char *end = line + len;
	while (p <= end) {
		struct zspan t = next_tok(&p, end, s->sep, s->seplen);
		if (nf < ZEEK_MAX_FIELDS) {
			fields[nf] = (char *)t.p;
			flen[nf] = t.n;
		}
		nf++;
	}
	if (nf != s->nfields)
		return ingest_reject(c, "%d fields where #fields declares %d", nf, s->nfields);
	r->nelems = 0;
	size_t unl = strlen(s->unset), eml = strlen(s->empty);
	for (int i = 0; i < ZC_NCOLS; i++) {
		int k = s->colidx[i];
		r->en[i] = 0;
		if (k < 0) {
			r->st[i] = Z_ABSENT;
			continue;
		}
		char *f = fields[k];
		size_t n = flen[k];
		if (n == unl && memcmp(f, s->unset, n) == 0) {
			r->st[i] = Z_UNSET;
			continue;
		}
		if (n == eml && memcmp(f, s->empty, n) == 0) {
			r->st[i] = Z_EMPTY;
			continue;
		}
		r->st[i] = Z_VAL;
		if (!zcol_vector[i]) {
			r->v[i] = (struct zspan){ f, unescape(f, n) };
			continue;
		}
		r->e0[i] = r->nelems;
		const char *q = f;
		const char *fe = f + n;
		while (q <= fe) {
			struct zspan e = next_tok(&q, fe, s->set_sep, s->set_seplen);
			if (add_elem(c, r, e.p, unescape((char *)e.p, e.n)) != 0)
				return INGEST_REJECT;
		}
		r->en[i] = r->nelems - r->e0[i];
	}
	return 0;
}

static int json_scalar(struct zrow *r, int i, json_t *v)
{
	if (json_is_string(v)) {
		r->v[i] = (struct zspan){ json_string_value(v), json_string_length(v) };
	} else if (json_is_integer(v)) {
		int n = snprintf(r->num[i], sizeof(r->num[i]), "%lld",
				 (long long)json_integer_value(v));
		r->v[i] = (struct zspan){ r->num[i], (size_t)n };
	} else if (json_is_real(v)) {
		int n = snprintf(r->num[i], sizeof(r->num[i]), "%.6f", json_real_value(v));
		if (n < 0 || (size_t)n >= sizeof(r->num[i]))
			n = 0;
		r->v[i] = (struct zspan){ r->num[i], (size_t)n };
	} else if (json_is_boolean(v)) {
		r->v[i] = (struct zspan){ json_is_true(v) ? "T" : "F", 1 };
	} else {
		return -1;
	}
	return 0;
}

static int json_row(struct ingest_ctx *c, struct zeek_state *s, json_t *obj)
{
	struct zrow *r = &s->row;
	r->nelems = 0;
	bool has[ZC_NCOLS] = { false };
	for (int i = 0; i < ZC_NCOLS; i++) {
		json_t *v = json_object_get(obj, zcol_names[i]);
		r->en[i] = 0;
		r->st[i] = Z_ABSENT;
		if (v == NULL)
			continue;
		has[i] = true;
		if (json_is_null(v)) {
			r->st[i] = Z_UNSET;
			continue;
		}
		if (zcol_vector[i]) {
			if (!json_is_array(v))
				return ingest_reject(c, "%s is not an array", zcol_names[i]);
			if (json_array_size(v) == 0) {
				r->st[i] = Z_EMPTY;
				continue;
			}
			r->st[i] = Z_VAL;
			r->e0[i] = r->nelems;
			size_t k;
			json_t *e;
			json_array_foreach(v, k, e) {
				if (!json_is_string(e))
					return ingest_reject(c, "%s holds a non-string", zcol_names[i]);
				if (add_elem(c, r, json_string_value(e), json_string_length(e)) != 0)
					return INGEST_REJECT;
			}
			r->en[i] = r->nelems - r->e0[i];
			continue;
		}
		if (json_scalar(r, i, v) != 0)
			return ingest_reject(c, "%s is not a string, number or boolean",
					     zcol_names[i]);
		r->st[i] = Z_VAL;
	}
	s->kind = kind_from_cols(has);
	return 0;
}

/* ---- records ----------------------------------------------------------- */
static int row_time(struct ingest_ctx *c, struct zrow *r, int col, int64_t *out)
{
	if (r->st[col] != Z_VAL)
		return ingest_reject(c, "%s is %s", zcol_names[col],
				     r->st[col] == Z_ABSENT ? "missing" : "unset");
	const struct zspan *v = &r->v[col];
	if (ingest_epoch_parse(v->p, v->n, out) == 0)
		return 0;
	if (v->n > 0 && v->n < 64 && (v->p[0] == 'X' || v->p[0] == 'x') &&
	    strspn(v->p, "Xx.") >= v->n)
		return ingest_reject(c, "%s %.*s is masked (a test baseline), not a time",
				     zcol_names[col], (int)v->n, v->p);
	/* the JSON writer may use ISO 8601 (JSON::TS_ISO8601) */
	char tmp[64];
	if (v->n < sizeof(tmp) && v->n >= 10 && v->p[4] == '-') {
		memcpy(tmp, v->p, v->n);
		tmp[v->n] = '\0';
		if (store_time_parse(tmp, 0, out) == 0 && *out >= 0 &&
		    *out <= (int64_t)UINT32_MAX)
			return 0;
	}
	return ingest_reject(c, "%s '%.*s' is not an epoch time", zcol_names[col],
			     (int)(v->n > 40 ? 40 : v->n), v->p);
}

static bool row_is(const struct zrow *r, int col, const char *lit)
{
	return r->st[col] == Z_VAL && r->v[col].n == strlen(lit) &&
	       memcmp(r->v[col].p, lit, r->v[col].n) == 0;
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

static int zeek_dns(struct ingest_ctx *c, struct zrow *r)
{
	int64_t ts;
	if (row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	if (r->st[ZC_QUERY] != Z_VAL)
		return INGEST_SKIP; /* no query name: nothing to attribute */
	char qname[STORE_NAME_BUF];
	int err = store_name_norm(r->v[ZC_QUERY].p, r->v[ZC_QUERY].n, qname, false);
	if (err != 0)
		return ingest_reject(c, "query %.*s: %s", (int)(r->v[ZC_QUERY].n > 80 ? 80 :
								r->v[ZC_QUERY].n),
				     r->v[ZC_QUERY].p, store_strerror(err));
	if (row_is(r, ZC_REJECTED, "T") || row_is(r, ZC_REJECTED, "true"))
		return INGEST_SKIP;
	/* only NOERROR responses carry answers we record */
	if (r->st[ZC_RCODE] == Z_VAL) {
		if (!row_is(r, ZC_RCODE, "0"))
			return INGEST_SKIP;
	} else if (!row_is(r, ZC_RCODE_NAME, "NOERROR")) {
		return INGEST_SKIP;
	}
	if (r->st[ZC_ANSWERS] != Z_VAL)
		return INGEST_SKIP;
	uint16_t qtype = 0;
	if (r->st[ZC_QTYPE] == Z_VAL) {
		if (store_rrtype_parse(r->v[ZC_QTYPE].p, r->v[ZC_QTYPE].n, &qtype) != 0)
			qtype = 0;
	} else if (r->st[ZC_QTYPE_NAME] == Z_VAL) {
		if (store_rrtype_parse(r->v[ZC_QTYPE_NAME].p, r->v[ZC_QTYPE_NAME].n, &qtype) != 0)
			qtype = 0;
	}
	const struct zspan *ans = &r->elems[r->e0[ZC_ANSWERS]];
	unsigned nans = r->en[ZC_ANSWERS];
	uint8_t a[16];
	bool any_addr = false;
	for (unsigned i = 0; i < nans; i++)
		if (store_addr_parse(ans[i].p, ans[i].n, a) == 0)
			any_addr = true;
	/* Without a query type the names cannot be told apart (mDNS SRV
	 * answers, unmatched duplicate responses); an address in the answer
	 * still means the query was for an address. */
	if (qtype == 0 && !any_addr) {
		ingest_note_rdata_skipped(c, nans);
		return INGEST_SKIP;
	}
	bool chain = !(qtype == STORE_RR_NS || qtype == STORE_RR_PTR || qtype == STORE_RR_MX ||
		       qtype == STORE_RR_SRV || qtype == STORE_RR_SOA || qtype == STORE_RR_DNAME);
	char prev[STORE_NAME_BUF];
	memcpy(prev, qname, sizeof(prev));
	unsigned recorded = 0, skipped = 0;
	for (unsigned i = 0; i < nans; i++) {
		char host[STORE_NAME_BUF];
		if (store_addr_parse(ans[i].p, ans[i].n, a) == 0) {
			uint16_t t = store_addr_is_v4(a) ? STORE_RR_A : STORE_RR_AAAA;
			if (dns_add(c, qname, t, ans[i].p, ans[i].n, ts) != 0)
				return INGEST_REJECT;
			recorded++;
		} else if (memchr(ans[i].p, ' ', ans[i].n) == NULL &&
			   store_name_norm(ans[i].p, ans[i].n, host, false) == 0) {
			if (chain) {
				if (dns_add(c, prev, STORE_RR_CNAME, ans[i].p, ans[i].n, ts) != 0)
					return INGEST_REJECT;
				memcpy(prev, host, sizeof(prev));
				recorded++;
			} else if (qtype == STORE_RR_NS || qtype == STORE_RR_PTR) {
				if (dns_add(c, qname, qtype, ans[i].p, ans[i].n, ts) != 0)
					return INGEST_REJECT;
				recorded++;
			} else {
				skipped++; /* MX/SRV/SOA without their numbers */
			}
		} else {
			skipped++;
		}
	}
	ingest_note_rdata_skipped(c, skipped);
	return recorded > 0 ? INGEST_OK : INGEST_SKIP;
}

static int parse_hash(struct ingest_ctx *c, const struct zspan *v, const char *what,
		      uint8_t h[32], size_t *hlen)
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

static int emit_sighting(struct ingest_ctx *c, const uint8_t *h, size_t hlen,
			 const struct zpend *p)
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

static int zeek_ssl(struct ingest_ctx *c, struct zrow *r)
{
	int64_t ts;
	if (row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	struct zpend p = { .tf = ts, .tl = ts, .count = 1 };
	if (r->st[ZC_RESP_H] != Z_VAL || store_addr_parse(r->v[ZC_RESP_H].p, r->v[ZC_RESP_H].n,
							   p.ip) != 0)
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
	if (r->st[ZC_CHAIN_FPS] == Z_VAL && r->en[ZC_CHAIN_FPS] > 0) {
		uint8_t h[32];
		size_t hl;
		if (parse_hash(c, &r->elems[r->e0[ZC_CHAIN_FPS]], "cert_chain_fps leaf", h, &hl) != 0)
			return INGEST_REJECT;
		return emit_sighting(c, h, hl, &p) == 0 ? INGEST_OK : INGEST_REJECT;
	}
	if (r->st[ZC_CHAIN_FUIDS] == Z_VAL && r->en[ZC_CHAIN_FUIDS] > 0) {
		struct zjoin *e = join_get(c, &r->elems[r->e0[ZC_CHAIN_FUIDS]], true);
		if (e == NULL)
			return ingest_reject(c, "cert_chain_fuids: file id not usable or more than "
						"%d file ids waiting to be joined", ZEEK_JOIN_MAX);
		if (e->has_hash)
			return emit_sighting(c, e->hash, e->hlen, &p) == 0 ? INGEST_OK
									   : INGEST_REJECT;
		for (unsigned i = 0; i < e->npend; i++) {
			struct zpend *q = &e->pend[i];
			if (q->port == p.port && memcmp(q->ip, p.ip, 16) == 0 &&
			    strcmp(q->sni, p.sni) == 0) {
				q->tf = ts < q->tf ? ts : q->tf;
				q->tl = ts > q->tl ? ts : q->tl;
				q->count++;
				return INGEST_OK;
			}
		}
		if (e->npend >= ZEEK_PENDING_MAX)
			return ingest_reject(c, "more than %d distinct sightings wait for the hash "
						"of file %s", ZEEK_PENDING_MAX, e->fuid);
		struct zpend *np = realloc(e->pend, (e->npend + 1) * sizeof(*np));
		if (np == NULL)
			return ingest_reject(c, "out of memory");
		e->pend = np;
		e->pend[e->npend++] = p;
		return INGEST_OK; /* recorded once x509.log/files.log gives the hash */
	}
	return INGEST_SKIP; /* resumed session or no certificate */
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

static int zeek_x509(struct ingest_ctx *c, struct zrow *r)
{
	int64_t ts;
	if (row_time(c, r, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	struct store_cert_meta m;
	memset(&m, 0, sizeof(m));
	if (r->st[ZC_SUBJECT] == Z_VAL)
		copy_str(m.subject, sizeof(m.subject), &r->v[ZC_SUBJECT]);
	if (r->st[ZC_ISSUER] == Z_VAL)
		copy_str(m.issuer, sizeof(m.issuer), &r->v[ZC_ISSUER]);
	if (r->st[ZC_SERIAL] == Z_VAL)
		copy_str(m.serial, sizeof(m.serial), &r->v[ZC_SERIAL]);
	if (r->st[ZC_NVB] == Z_VAL && row_time(c, r, ZC_NVB, &m.not_before) != 0)
		return INGEST_REJECT;
	if (r->st[ZC_NVA] == Z_VAL && row_time(c, r, ZC_NVA, &m.not_after) != 0)
		return INGEST_REJECT;
	for (unsigned i = 0; r->st[ZC_SAN_DNS] == Z_VAL && i < r->en[ZC_SAN_DNS]; i++) {
		const struct zspan *e = &r->elems[r->e0[ZC_SAN_DNS] + i];
		list_add(m.san_dns, sizeof(m.san_dns), &m.san_dns_len, e->p, e->n);
	}
	for (unsigned i = 0; r->st[ZC_SAN_IP] == Z_VAL && i < r->en[ZC_SAN_IP]; i++) {
		const struct zspan *e = &r->elems[r->e0[ZC_SAN_IP] + i];
		uint8_t a[16];
		char txt[STORE_ADDR_BUF];
		if (store_addr_parse(e->p, e->n, a) != 0)
			return ingest_reject(c, "san.ip %.*s is not an IP address",
					     (int)(e->n > 60 ? 60 : e->n), e->p);
		store_addr_format(a, txt);
		list_add(m.san_ip, sizeof(m.san_ip), &m.san_ip_len, txt, strlen(txt));
	}
	uint8_t h[32];
	size_t hl = 0;
	if (r->st[ZC_FINGERPRINT] == Z_VAL &&
	    parse_hash(c, &r->v[ZC_FINGERPRINT], "fingerprint", h, &hl) != 0)
		return INGEST_REJECT;
	struct zjoin *e = NULL;
	if (r->st[ZC_ID] == Z_VAL) {
		e = join_get(c, &r->v[ZC_ID], true);
		if (e == NULL && hl == 0)
			return ingest_reject(c, "id: file id not usable or more than %d file ids "
						"waiting to be joined", ZEEK_JOIN_MAX);
	}
	if (hl == 0 && e != NULL && e->has_hash) {
		memcpy(h, e->hash, 32);
		hl = e->hlen;
	}
	if (hl == 0) {
		if (e == NULL)
			return ingest_reject(c, "neither fingerprint nor id: the certificate "
						"cannot be named");
		/* pre-4.2: the hash comes with files.log */
		if (e->meta == NULL) {
			e->meta = malloc(sizeof(*e->meta));
			if (e->meta == NULL)
				return ingest_reject(c, "out of memory");
		}
		*e->meta = m;
		return INGEST_OK;
	}
	if (emit_meta(c, h, hl, &m, ts) != 0)
		return INGEST_REJECT;
	if (e != NULL) {
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
	return INGEST_OK;
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
	if (parse_hash(c, &r->v[col], zcol_names[col], h, &hl) != 0)
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
	int64_t ts;
	/* a malformed ts is a malformed line whatever the log */
	if (s->row.st[ZC_TS] == Z_VAL && row_time(c, &s->row, ZC_TS, &ts) != 0)
		return INGEST_REJECT;
	switch (s->kind) {
	case ZK_DNS: return zeek_dns(c, &s->row);
	case ZK_SSL: return zeek_ssl(c, &s->row);
	case ZK_X509: return zeek_x509(c, &s->row);
	case ZK_FILES: return zeek_files(c, &s->row);
	default: return INGEST_SKIP; /* conn.log, http.log...: nothing for us */
	}
}

static int zeek_line(struct ingest_ctx *c, char *line, size_t len)
{
	struct zeek_state *s = state_get(c);
	if (s == NULL)
		return ingest_reject(c, "out of memory");
	if (line[0] == '{') {
		json_error_t jerr;
		json_t *obj = json_loadb(line, len, 0, &jerr);
		if (obj == NULL)
			return ingest_reject(c, "not JSON: %s (column %d)", jerr.text, jerr.column);
		int r;
		if (!json_is_object(obj))
			r = ingest_reject(c, "not a JSON object");
		else if (json_row(c, s, obj) != 0)
			r = INGEST_REJECT;
		else
			r = zeek_record(c, s);
		json_decref(obj);
		return r;
	}
	if (line[0] == '#')
		return tsv_header(c, s, line, len);
	if (!s->have_fields)
		return ingest_reject(c, "data line before a #fields header");
	if (tsv_row(c, s, line, len) != 0)
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

const struct ingest_format ingest_fmt_zeek = {
	.name = "zeek",
	.detect = zeek_detect,
	.line = zeek_line,
	.state_free = zeek_state_free,
	.run_state_free = zeek_run_free,
};
