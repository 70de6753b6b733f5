/*
 * zeek_conn.c - Zeek conn.log (TSV or JSON writer): one client sighting
 * per connection, id.orig_h -> id.resp_h with the bytes each way.
 */
#include <string.h>

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
	struct ingest_client_sight s = {.ts = *ts,
	                                .client = r->v[ZC_ORIG_H].p,
	                                .client_len = r->v[ZC_ORIG_H].n,
	                                .client_ip = orig,
	                                .dtype = STORE_DEST_IP,
	                                .ip = resp,
	                                .src = STORE_CSRC_CONN,
	                                .has_bytes = ko && ki,
	                                .bytes_out = out,
	                                .bytes_in = in};
	if (ingest_client_add(c, &s) != 0)
		return INGEST_REJECT;
	return INGEST_OK;
}
