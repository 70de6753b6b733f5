/*
 * zeek_read.c - Zeek's two writers reduced to one row: the ASCII writer's
 * header directives and escaped TSV lines, and the JSON writer's objects.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ingest/zeek_internal.h"
#include "util/hex.h"

const char *const ingest_zeek_col_names[ZC_NCOLS] = {
    "ts",
    "query",
    "qtype",
    "qtype_name",
    "rcode",
    "rcode_name",
    "answers",
    "rejected",
    "id.resp_h",
    "id.resp_p",
    "server_name",
    "cert_chain_fps",
    "cert_chain_fuids",
    "fingerprint",
    "id",
    "certificate.serial",
    "certificate.subject",
    "certificate.issuer",
    "certificate.not_valid_before",
    "certificate.not_valid_after",
    "san.dns",
    "san.ip",
    "fuid",
    "sha1",
    "sha256",
    "id.orig_h",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "ja3s",
    "cert",
};
static const bool zcol_vector[ZC_NCOLS] = {
    [ZC_ANSWERS] = true, [ZC_CHAIN_FPS] = true, [ZC_CHAIN_FUIDS] = true,
    [ZC_SAN_DNS] = true, [ZC_SAN_IP] = true,
};

void ingest_zeek_state_free(void *p)
{
	free(p);
}

/* Undo the ASCII writer's escapes (\xNN, \\) in place; returns the length. */
static size_t unescape(char *s, size_t n)
{
	/* most fields hold no backslash: nothing to rewrite before the first */
	const char *b = memchr(s, '\\', n);
	if (b == NULL)
		return n;
	size_t o = (size_t)(b - s);
	for (size_t i = o; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n + 0 && s[i + 1] == 'x' &&
		    util_hex_digit(s[i + 2]) >= 0 && util_hex_digit(s[i + 3]) >= 0) {
			s[o++] = (char)(util_hex_digit(s[i + 2]) << 4 | util_hex_digit(s[i + 3]));
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
	if (n == 4 && memcmp(p, "conn", 4) == 0)
		return ZK_CONN;
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
	if (has[ZC_CONN_STATE] || (has[ZC_ORIG_BYTES] && has[ZC_RESP_BYTES]))
		return ZK_CONN;
	return ZK_OTHER;
}

struct zeek_state *ingest_zeek_state_get(struct ingest_ctx *c)
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
	s->empty_len = strlen(s->empty);
	s->unset_len = strlen(s->unset);
	c->state = s;
	return s;
}

/* Next separator-delimited token of [*p, end). */
static struct zspan next_tok(const char **p, const char *end, const char *sep, size_t seplen)
{
	struct zspan t = {*p, 0};
	const char *s = NULL;
	if (seplen == 1) /* the usual tab: memchr is much cheaper than memmem */
		s = memchr(*p, sep[0], (size_t)(end - *p));
	else if (seplen > 1)
		s = memmem(*p, (size_t)(end - *p), sep, seplen);
	if (s == NULL) {
		t.n = (size_t)(end - *p);
		*p = end + 1;
	} else {
		t.n = (size_t)(s - *p);
		*p = s + seplen;
	}
	return t;
}

int ingest_zeek_tsv_header(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len)
{
	const char *end = line + len;
	if (len > 11 && memcmp(line, "#separator ", 11) == 0) {
		s->seplen = directive_value(line + 11, len - 11, s->sep, sizeof(s->sep));
		s->conn_fast = false; /* planned again with the #fields that follow */
		if (s->seplen == 0)
			return ingest_reject(c, "#separator is empty");
		return INGEST_HEADER;
	}
	const char *p = line;
	struct zspan name = next_tok(&p, end, s->sep, s->seplen);
	if (p > end)
		return INGEST_HEADER; /* a comment */
	struct zspan val = {p, (size_t)(end - p)};
#define IS(lit) (name.n == sizeof(lit) - 1 && memcmp(name.p, lit, name.n) == 0)
	if (IS("#set_separator")) {
		s->set_seplen = directive_value(val.p, val.n, s->set_sep, sizeof(s->set_sep));
	} else if (IS("#empty_field")) {
		directive_value(val.p, val.n, s->empty, sizeof(s->empty));
		s->empty_len = strlen(s->empty);
	} else if (IS("#unset_field")) {
		directive_value(val.p, val.n, s->unset, sizeof(s->unset));
		s->unset_len = strlen(s->unset);
	} else if (IS("#path")) {
		s->kind = kind_from_path(val.p, val.n);
	} else if (IS("#fields")) {
		bool has[ZC_NCOLS] = {false};
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
				if (strlen(ingest_zeek_col_names[i]) == f.n &&
				    memcmp(ingest_zeek_col_names[i], f.p, f.n) == 0) {
					s->colidx[i] = s->nfields;
					has[i] = true;
				}
			}
			s->nfields++;
		}
		if (s->kind == ZK_UNKNOWN)
			s->kind = kind_from_cols(has);
		s->nused = 0;
		for (int i = 0; i < ZC_NCOLS; i++)
			if (has[i])
				s->used[s->nused++] = (unsigned char)i;
		s->have_fields = true;
		ingest_zeek_conn_plan(s);
	}
#undef IS
	return INGEST_HEADER;
}

static int add_elem(struct ingest_ctx *c, struct zrow *r, const char *p, size_t n)
{
	if (r->nelems >= ZEEK_MAX_ELEMS)
		return ingest_reject(c, "more than %d vector elements in one line", ZEEK_MAX_ELEMS);
	r->elems[r->nelems++] = (struct zspan){p, n};
	return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define ZEEK_SPLIT_WORDS 1
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* 0x80 in each byte of w equal to the byte in rep (rep = c * ONES), 0
 * elsewhere: exact, no false positives (the high bit of each byte is
 * set only where the byte of w ^ rep is zero). */
static inline uint64_t bytes_eq(uint64_t w, uint64_t rep)
{
	uint64_t x = w ^ rep;
	return ~(((x & ~HIGHS) + ~HIGHS) | x | ~HIGHS);
}

/* A field ends at line + at: record it, start the next. */
#define FIELD_END(at)                                                                              \
	do {                                                                                       \
		if (nf < ZEEK_MAX_FIELDS) {                                                        \
			fields[nf] = line + start;                                                 \
			flen[nf] = (at)-start;                                                     \
		}                                                                                  \
		nf++;                                                                              \
		start = (at) + 1;                                                                  \
	} while (0)

/* split_fields for a one-byte separator, eight bytes at a time: a conn.log
 * line has some twenty short fields, where a memchr per field costs more
 * in calls than in bytes.  *bslash: whether the line holds a backslash
 * (without one, no field needs unescaping). */
static int split_sep1(char *line, size_t len, char sep, char *fields[ZEEK_MAX_FIELDS],
                      size_t flen[ZEEK_MAX_FIELDS], bool *bslash)
{
	uint64_t rep = ONES * (uint8_t)sep, brep = ONES * (uint8_t)'\\', bs = 0;
	size_t start = 0, i = 0;
	int nf = 0;
#ifdef __SSE2__
	/* sixteen bytes at a time where SSE2 is (every x86-64) */
	__m128i vsep = _mm_set1_epi8(sep), vbs = _mm_set1_epi8('\\');
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(line + i));
		bs |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vbs));
		for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vsep)); m != 0;
		     m &= m - 1)
			FIELD_END(i + (size_t)__builtin_ctz(m));
	}
#endif
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, line + i, 8);
		bs |= bytes_eq(w, brep);
		for (uint64_t m = bytes_eq(w, rep); m != 0; m &= m - 1)
			FIELD_END(i + (size_t)__builtin_ctzll(m) / 8);
	}
	for (; i < len; i++) {
		bs |= line[i] == '\\';
		if (line[i] == sep)
			FIELD_END(i);
	}
	FIELD_END(len);
	*bslash = bs != 0;
	return nf;
}
#undef FIELD_END
#endif

/* The fields of a data line into fields[]/flen[] (at most
 * ZEEK_MAX_FIELDS kept); returns how many the line has.  *bslash is
 * false only when no field holds a backslash. */
static int split_fields(const struct zeek_state *s, char *line, size_t len,
                        char *fields[ZEEK_MAX_FIELDS], size_t flen[ZEEK_MAX_FIELDS], bool *bslash)
{
	int nf = 0;
	const char *p = line;
	const char *end = line + len;
	*bslash = true;
#ifdef ZEEK_SPLIT_WORDS
	if (s->seplen == 1)
		return split_sep1(line, len, s->sep[0], fields, flen, bslash);
#endif
	while (p <= end) {
		struct zspan t = next_tok(&p, end, s->sep, s->seplen);
		if (nf < ZEEK_MAX_FIELDS) {
			fields[nf] = (char *)t.p;
			flen[nf] = t.n;
		}
		nf++;
	}
	return nf;
}

/* A vector column's elements, unescaped, into r->elems. */
static int vector_col(struct ingest_ctx *c, const struct zeek_state *s, struct zrow *r, int i,
                      char *f, size_t n)
{
	r->e0[i] = r->nelems;
	const char *q = f;
	const char *fe = f + n;
	while (q <= fe) {
		struct zspan e = next_tok(&q, fe, s->set_sep, s->set_seplen);
		if (add_elem(c, r, e.p, unescape((char *)e.p, e.n)) != 0)
			return INGEST_REJECT;
	}
	r->en[i] = r->nelems - r->e0[i];
	return 0;
}

int ingest_zeek_tsv_row(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len)
{
	struct zrow *r = &s->row;
	char *fields[ZEEK_MAX_FIELDS];
	size_t flen[ZEEK_MAX_FIELDS];
	bool bslash;
	int nf = split_fields(s, line, len, fields, flen, &bslash);
	if (nf != s->nfields)
		return ingest_reject(c, "%d fields where #fields declares %d", nf, s->nfields);
	r->nelems = 0;
	memset(r->st, 0, sizeof(r->st)); /* Z_ABSENT */
	memset(r->en, 0, sizeof(r->en));
	size_t unl = s->unset_len, eml = s->empty_len;
	for (int u = 0; u < s->nused; u++) {
		int i = s->used[u];
		char *f = fields[s->colidx[i]];
		size_t n = flen[s->colidx[i]];
		if (n == unl && memcmp(f, s->unset, n) == 0) {
			r->st[i] = Z_UNSET;
			continue;
		}
		if (n == eml && memcmp(f, s->empty, n) == 0) {
			r->st[i] = Z_EMPTY;
			continue;
		}
		r->st[i] = Z_VAL;
		if (!zcol_vector[i])
			r->v[i] = (struct zspan){f, bslash ? unescape(f, n) : n};
		else if (vector_col(c, s, r, i, f, n) != 0)
			return INGEST_REJECT;
	}
	return 0;
}

static int json_scalar(struct zrow *r, int i, json_t *v)
{
	if (json_is_string(v)) {
		r->v[i] = (struct zspan){json_string_value(v), json_string_length(v)};
	} else if (json_is_integer(v)) {
		int n = snprintf(r->num[i], sizeof(r->num[i]), "%lld",
		                 (long long)json_integer_value(v));
		r->v[i] = (struct zspan){r->num[i], (size_t)n};
	} else if (json_is_real(v)) {
		int n = snprintf(r->num[i], sizeof(r->num[i]), "%.6f", json_real_value(v));
		if (n < 0 || (size_t)n >= sizeof(r->num[i]))
			n = 0;
		r->v[i] = (struct zspan){r->num[i], (size_t)n};
	} else if (json_is_boolean(v)) {
		r->v[i] = (struct zspan){json_is_true(v) ? "T" : "F", 1};
	} else {
		return -1;
	}
	return 0;
}

int ingest_zeek_json_row(struct ingest_ctx *c, struct zeek_state *s, json_t *obj)
{
	struct zrow *r = &s->row;
	r->nelems = 0;
	bool has[ZC_NCOLS] = {false};
	for (int i = 0; i < ZC_NCOLS; i++) {
		json_t *v = json_object_get(obj, ingest_zeek_col_names[i]);
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
				return ingest_reject(c, "%s is not an array",
				                     ingest_zeek_col_names[i]);
			if (json_array_size(v) == 0) {
				r->st[i] = Z_EMPTY;
				continue;
			}
			r->st[i] = Z_VAL;
			r->e0[i] = r->nelems;
			size_t k;
			json_t *e;
			json_array_foreach(v, k, e)
			{
				if (!json_is_string(e))
					return ingest_reject(c, "%s holds a non-string",
					                     ingest_zeek_col_names[i]);
				if (add_elem(c, r, json_string_value(e), json_string_length(e)) !=
				    0)
					return INGEST_REJECT;
			}
			r->en[i] = r->nelems - r->e0[i];
			continue;
		}
		if (json_scalar(r, i, v) != 0)
			return ingest_reject(c, "%s is not a string, number or boolean",
			                     ingest_zeek_col_names[i]);
		r->st[i] = Z_VAL;
	}
	s->kind = kind_from_cols(has);
	return 0;
}
