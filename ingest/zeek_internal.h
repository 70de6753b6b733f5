/*
 * zeek_internal.h - shared by the Zeek reader (zeek_read.c: header
 * directives, TSV and JSON lines reduced to one row of the columns we use)
 * and the record logic (zeek.c).
 */
#ifndef INFRAPIVOT_ZEEK_INTERNAL_H
#define INFRAPIVOT_ZEEK_INTERNAL_H

#include "ingest/ingest_internal.h"

#define ZEEK_MAX_FIELDS 256  /* columns in #fields */
#define ZEEK_MAX_ELEMS 2048  /* vector elements in one line, all columns */
#define ZEEK_JOIN_MAX 100000 /* file ids remembered for the pre-4.2 join */
#define ZEEK_PENDING_MAX 256 /* distinct sightings waiting on one file id */

enum zcol {
	ZC_TS,
	ZC_QUERY,
	ZC_QTYPE,
	ZC_QTYPE_NAME,
	ZC_RCODE,
	ZC_RCODE_NAME,
	ZC_ANSWERS,
	ZC_REJECTED,
	ZC_RESP_H,
	ZC_RESP_P,
	ZC_SERVER_NAME,
	ZC_CHAIN_FPS,
	ZC_CHAIN_FUIDS,
	ZC_FINGERPRINT,
	ZC_ID,
	ZC_SERIAL,
	ZC_SUBJECT,
	ZC_ISSUER,
	ZC_NVB,
	ZC_NVA,
	ZC_SAN_DNS,
	ZC_SAN_IP,
	ZC_FUID,
	ZC_SHA1,
	ZC_SHA256,
	ZC_ORIG_H, /* client sightings (estate_internal.h) */
	ZC_ORIG_BYTES,
	ZC_RESP_BYTES,
	ZC_CONN_STATE,
	ZC_JA3S, /* ssl.log with the ja3 package */
	ZC_CERT, /* x509.log with policy/protocols/ssl/log-certs-base64: the DER in base64 */
	ZC_NCOLS
};
enum zkind { ZK_UNKNOWN, ZK_DNS, ZK_SSL, ZK_X509, ZK_FILES, ZK_CONN, ZK_OTHER };
enum zst { Z_ABSENT = 0, Z_UNSET, Z_EMPTY, Z_VAL };

struct zspan {
	const char *p;
	size_t n;
};

/* One line reduced to the columns we use. */
struct zrow {
	enum zst st[ZC_NCOLS];
	struct zspan v[ZC_NCOLS];            /* scalar value (unescaped) */
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
	size_t empty_len, unset_len; /* strlen of each, kept with them */
	bool have_fields;
	enum zkind kind;
	int nfields;
	int colidx[ZC_NCOLS]; /* column of each zcol, -1 when absent */
	int nused;
	unsigned char used[ZC_NCOLS]; /* the zcols with a column, ascending */
	bool conn_fast;               /* conn.log lines may take the fast path */
	struct zrow row;              /* last: a helper copies what precedes it (zeek.c) */
};

extern const char *const ingest_zeek_col_names[ZC_NCOLS];

/* The per-input state, created on first use (freed by ..._state_free). */
struct zeek_state *ingest_zeek_state_get(struct ingest_ctx *c);
void ingest_zeek_state_free(void *p);
/* A '#' line: directives update s.  Returns INGEST_HEADER or a reject. */
int ingest_zeek_tsv_header(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len);
/* A TSV data line into s->row (unescaped in place).  0 or INGEST_REJECT. */
int ingest_zeek_tsv_row(struct ingest_ctx *c, struct zeek_state *s, char *line, size_t len);
/* The conn.log fast path's plan for the columns #fields declared. */
void ingest_zeek_conn_plan(struct zeek_state *s);
/* A conn.log TSV data line read without the row (zeek_conn.c): the usual
 * line only, one with nothing unusual in the columns read; anything else
 * returns ZEEK_SLOW and the line is read by the general path, unchanged. */
#define ZEEK_SLOW 100
int ingest_zeek_conn_fast(struct ingest_ctx *c, const struct zeek_state *s, const char *line,
                          size_t len);
/* A JSON-writer object into s->row, s->kind from its columns. */
int ingest_zeek_json_row(struct ingest_ctx *c, struct zeek_state *s, json_t *obj);

#endif
