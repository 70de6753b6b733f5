/*
 * svc_text.h - the text renderings the CLI and the HTTP API share: CSV
 * (RFC 4180) of lookups, pivots and watchlist exports, and the lookup
 * table.  Rows go into a util_buf, whose limit bounds the output.
 *
 * CSV: one header row, then records; CRLF line ends; a field holding a
 * comma, a double quote, CR or LF is quoted with its quotes doubled.  A
 * field that a spreadsheet would run as a formula (first byte = + - @,
 * tab or CR) gets a leading apostrophe (OWASP "CSV injection").
 */
#ifndef INFRAPIVOT_SVC_TEXT_H
#define INFRAPIVOT_SVC_TEXT_H

#include <jansson.h>
#include <stdbool.h>

#include "pivot/pivot.h"
#include "service/svc.h"
#include "util/buf.h"

/* Output formats of lookups and pivots beside their own. */
enum svc_text_fmt { SVC_TEXT_JSON, SVC_TEXT_TABLE, SVC_TEXT_CSV };

/* "json", "table" or "csv" into *out: 0, or -1 when s is none of them. */
int svc_text_fmt_parse(const char *s, enum svc_text_fmt *out);

/* One CSV field (no separator), quoted and neutralised as above. */
void svc_csv_field(struct util_buf *b, const char *s);
/* n fields as one CSV record and its CRLF. */
void svc_csv_row(struct util_buf *b, const char *const *fields, size_t n);

/* Lookup rendering state: which headers have been written. */
struct svc_lookup_text {
	enum svc_text_fmt fmt;
	bool header_rr, header_si, header_csv;
};
/* One lookup result (a COF resolution, a sighting or a certificate's
 * metadata, as svc_lookup() gives them) as table or CSV rows into b. */
void svc_lookup_text_row(struct svc_lookup_text *t, struct util_buf *b, enum svc_result_kind kind,
                         json_t *obj);

/* After the last row: the CSV header when no row wrote it (an empty
 * result is still a CSV with its header). */
void svc_lookup_text_end(struct svc_lookup_text *t, struct util_buf *b);

/* A pivot as CSV: nodes and edges in one table, told apart by the first
 * column (record = node | edge).  New string (caller frees) or NULL. */
char *svc_csv_pivot(const struct pivot_result *r);
/* A watchlist's JSON export (watch_export() with WATCH_FMT_JSON) as CSV:
 * one row per entry.  New string (caller frees) or NULL when json is not
 * such an export or memory ran out; *len its length. */
char *svc_csv_watch(const char *json, size_t jlen, size_t *len);

#endif
