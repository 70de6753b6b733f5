/*
 * zeek_conn.c - Zeek conn.log (TSV or JSON writer): one client sighting
 * per connection, id.orig_h -> id.resp_h with the bytes each way.
 */
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ingest/estate_internal.h"
#include "ingest/zeek_internal.h"
#include "util/num.h"

/* A byte count column: unset is unknown (*known false), else digits. */
static int conn_bytes(struct ingest_ctx *c, const struct zrow *r, int col, uint64_t *out,
                      bool *known)
{
	*out = 0;
	if (r->st[col] != Z_VAL) {
		*known = false;
		return 0;
	}
	const struct zspan *v = &r->v[col];
	if (util_u64_parsen(v->p, v->n, UINT64_MAX, out) != 0)
		return ingest_reject(c, "%s '%.*s' is not a byte count", ingest_zeek_col_names[col],
		                     (int)(v->n > 40 ? 40 : v->n), v->p);
	return 0;
}

static int conn_addr(struct ingest_ctx *c, const struct zrow *r, int col, uint8_t out[16])
{
	if (r->st[col] == Z_VAL && store_addr_parse(r->v[col].p, r->v[col].n, out) == 0)
		return 0;
	if (r->st[col] != Z_VAL)
		return ingest_reject(c, "%s is missing", ingest_zeek_col_names[col]);
	return ingest_reject(c, "%s '%.*s' is not an IP address", ingest_zeek_col_names[col],
	                     (int)(r->v[col].n > 60 ? 60 : r->v[col].n), r->v[col].p);
}

/* The sighting of one connection. */
static int conn_add(struct ingest_ctx *c, int64_t ts, struct zspan client, const uint8_t orig[16],
                    const uint8_t resp[16], bool has_bytes, uint64_t out, uint64_t in)
{
	struct ingest_client_sight s = {.ts = ts,
	                                .client = client.p,
	                                .client_len = client.n,
	                                .client_ip = orig,
	                                .dtype = STORE_DEST_IP,
	                                .ip = resp,
	                                .src = STORE_CSRC_CONN,
	                                .has_bytes = has_bytes,
	                                .bytes_out = out,
	                                .bytes_in = in};
	if (ingest_client_add(c, &s) != 0)
		return INGEST_REJECT;
	return INGEST_OK;
}

int ingest_zeek_conn(struct ingest_ctx *c, struct zrow *r, const int64_t *ts)
{
	if (!ingest_clients_on(c))
		return INGEST_SKIP;
	if (r->st[ZC_TS] != Z_VAL)
		return ingest_reject(c, "ts is missing");
	if (ts == NULL)
		return ingest_reject(c, "ts '%.*s' is not an epoch time",
		                     (int)(r->v[ZC_TS].n > 40 ? 40 : r->v[ZC_TS].n), r->v[ZC_TS].p);
	uint8_t orig[16], resp[16];
	if (conn_addr(c, r, ZC_ORIG_H, orig) != 0 || conn_addr(c, r, ZC_RESP_H, resp) != 0)
		return INGEST_REJECT;
	uint64_t out, in;
	bool ko = true, ki = true;
	if (conn_bytes(c, r, ZC_ORIG_BYTES, &out, &ko) != 0 ||
	    conn_bytes(c, r, ZC_RESP_BYTES, &in, &ki) != 0)
		return INGEST_REJECT;
	return conn_add(c, *ts, r->v[ZC_ORIG_H], orig, resp, ko && ki, out, in);
}

/*
 * The fast path.  A conn.log line is some twelve short fields, of which a
 * sighting needs five; the row above reads, unescapes and classifies
 * every column we know of, which made it the largest part of the
 * parsing cost.  Here one pass over the line finds the tabs up to the
 * last column read and counts the rest, and the five fields are parsed
 * where they are.  Only the usual line is taken: a backslash anywhere (an
 * escape), a field count other than #fields', a ts, address or byte
 * count that does not parse, an unset or empty ts or address: ZEEK_SLOW,
 * and the general path reads the line as before (and reports what is
 * wrong with it).  So both paths record the same sightings
 * (tests/ingest/test_formats.c compares them line by line).
 */
void ingest_zeek_conn_plan(struct zeek_state *s)
{
	s->conn_fast = false;
#ifdef __SSE2__
	/* INFRAPIVOT_ZEEK_GENERAL=1: every line by the general path (the
	 * test that compares the two paths); no ts or address: the general
	 * path says so */
	const char *general = getenv("INFRAPIVOT_ZEEK_GENERAL");
	s->conn_fast = s->seplen == 1 && s->sep[0] == '\t' &&
	               !(general != NULL && general[0] == '1') && s->colidx[ZC_TS] >= 0 &&
	               s->colidx[ZC_ORIG_H] >= 0 && s->colidx[ZC_RESP_H] >= 0;
#endif
}

#ifdef __SSE2__
#define CONN_TABS (ZEEK_MAX_FIELDS + 16) /* a block's tabs fit past the last checked */

/* The tab positions of line into tab[], and the number of fields; false
 * when the line holds a backslash or more fields than #fields can. */
static bool conn_split(const char *line, size_t len, size_t *tab, int *nfields)
{
	const __m128i vtab = _mm_set1_epi8('\t'), vbs = _mm_set1_epi8('\\');
	int nt = 0;
	for (size_t i = 0; i < len; i += 16) {
		__m128i v;
		if (i + 16 <= len) {
			v = _mm_loadu_si128((const __m128i *)(const void *)(line + i));
		} else { /* the tail, padded with NULs (neither tab nor backslash) */
			char t[16] = {0};
			memcpy(t, line + i, len - i);
			v = _mm_loadu_si128((const __m128i *)(const void *)t);
		}
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, vbs)) != 0 || nt > ZEEK_MAX_FIELDS)
			return false;
		for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vtab)); m != 0;
		     m &= m - 1)
			tab[nt++] = i + (size_t)__builtin_ctz(m);
	}
	*nfields = nt + 1;
	return true;
}

/* Field col of a line split by conn_split (col < its fields). */
static inline struct zspan conn_field(const char *line, size_t len, const size_t *tab, int ntabs,
                                      int col)
{
	size_t b = col == 0 ? 0 : tab[col - 1] + 1;
	size_t e = col == ntabs ? len : tab[col];
	return (struct zspan){line + b, e - b};
}

static inline bool conn_blank(const struct zeek_state *s, struct zspan f)
{
	return (f.n == s->unset_len && memcmp(f.p, s->unset, f.n) == 0) ||
	       (f.n == s->empty_len && memcmp(f.p, s->empty, f.n) == 0);
}

/* A byte count: an absent or blank column is unknown; false when the
 * field is no count. */
static bool conn_count(const struct zeek_state *s, const char *line, size_t len, const size_t *tab,
                       int ntabs, int zc, uint64_t *v, bool *known)
{
	*v = 0;
	if (s->colidx[zc] < 0)
		return !(*known = false);
	struct zspan f = conn_field(line, len, tab, ntabs, s->colidx[zc]);
	if (conn_blank(s, f))
		return !(*known = false);
	return util_u64_parsen(f.p, f.n, UINT64_MAX, v) == 0;
}

int ingest_zeek_conn_fast(struct ingest_ctx *c, const struct zeek_state *s, const char *line,
                          size_t len)
{
	size_t tab[CONN_TABS];
	int nf;
	if (!ingest_clients_on(c) || !conn_split(line, len, tab, &nf) || nf != s->nfields)
		return ZEEK_SLOW;
	int nt = nf - 1;
	struct zspan ts = conn_field(line, len, tab, nt, s->colidx[ZC_TS]);
	struct zspan oh = conn_field(line, len, tab, nt, s->colidx[ZC_ORIG_H]);
	struct zspan rh = conn_field(line, len, tab, nt, s->colidx[ZC_RESP_H]);
	int64_t t;
	uint8_t orig[16], resp[16];
	if (conn_blank(s, ts) || conn_blank(s, oh) || conn_blank(s, rh) ||
	    ingest_epoch_parse(ts.p, ts.n, &t) != 0 || store_addr_parse(oh.p, oh.n, orig) != 0 ||
	    store_addr_parse(rh.p, rh.n, resp) != 0)
		return ZEEK_SLOW;
	uint64_t out, in;
	bool ko = true, ki = true;
	if (!conn_count(s, line, len, tab, nt, ZC_ORIG_BYTES, &out, &ko) ||
	    !conn_count(s, line, len, tab, nt, ZC_RESP_BYTES, &in, &ki))
		return ZEEK_SLOW;
	struct store_client_ip_sight x = {.t = t,
	                                  .src = STORE_CSRC_CONN,
	                                  .has_bytes = ko && ki,
	                                  .bytes_out = out,
	                                  .bytes_in = in,
	                                  .client = orig,
	                                  .ip = resp};
	if (ingest_client_ip_direct(c, &x) == 0)
		return INGEST_OK;
	return conn_add(c, t, oh, orig, resp, ko && ki, out, in);
}
#else
int ingest_zeek_conn_fast(struct ingest_ctx *c, const struct zeek_state *s, const char *line,
                          size_t len)
{
	(void)c, (void)s, (void)line, (void)len;
	return ZEEK_SLOW;
}
#endif
