/*
 * fwd.c - the forward name index: every owner name and every rdata target
 * name, keyed by its labels in their own order (FWDKEY, store_internal.h),
 * so that DNSDB's right-hand wildcard "update-check.*" is one prefix scan,
 * as "*.example.com" is one over the reversed NAMEKEY of the rr table.
 *
 * It is maintained on new records only (rr.c queues an item when a record
 * or a target is new, beside the address and target index items): names
 * written before the table existed are not in it.  Its cost is measured
 * in docs/http-api.md (right-hand wildcards).
 */
#include <string.h>

#include "store/store_internal.h"

int fwdkey_enc(const char *name, uint8_t *out)
{
	size_t len = strlen(name);
	if (len == 0 || len > 253)
		return STORE_EBADNAME;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.' && (i == 0 || name[i - 1] == '.'))
			return STORE_EBADNAME;
		out[i] = name[i] == '.' ? 0 : (uint8_t)name[i];
	}
	if (name[len - 1] == '.')
		return STORE_EBADNAME;
	out[len] = 0;
	out[len + 1] = 0;
	return (int)len + 2;
}

/* The name of a FWDKEY: its labels joined by dots. */
static int fwdkey_dec(const uint8_t *k, size_t klen, char *name)
{
	if (klen < 3 || klen > STORE_NAME_BUF || k[klen - 1] != 0 || k[klen - 2] != 0)
		return STORE_ECORRUPT;
	for (size_t i = 0; i + 2 < klen; i++)
		name[i] = k[i] == 0 ? '.' : (char)k[i];
	name[klen - 2] = '\0';
	return 0;
}

struct fwd_walk {
	uint8_t kind;
	fwd_name_fn fn;
	void *ctx;
};

static int fwd_item(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *wctx)
{
	const struct fwd_walk *fw = wctx;
	if (v->mv_size != 1 || *(const uint8_t *)v->mv_data != fw->kind)
		return 0;
	char name[STORE_NAME_BUF];
	int ret = fwdkey_dec(k->mv_data, k->mv_size, name);
	return ret != 0 ? ret : fw->fn(r, name, fw->ctx);
}

int fwd_walk(store_rtxn_t *r, const char *head, uint8_t kind, fwd_name_fn fn, void *ctx)
{
	if (r->s->no_fwd)
		return 0;
	uint8_t pfx[SCHEMA_NAMEKEY_MAX];
	int l = fwdkey_enc(head, pfx);
	if (l < 0)
		return l;
	/* "update-check\0": the head's labels, then at least one more */
	struct fwd_walk fw = {kind, fn, ctx};
	return walk_under(r, DB_FWD, pfx, (size_t)l - 1, fwd_item, &fw);
}
