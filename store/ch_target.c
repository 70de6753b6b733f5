/*
 * ch_target.c - resolutions by the name their rdata points at (CNAME, NS,
 * MX, PTR, SRV, DNAME targets: the rr_target table) and the prevalence
 * counts the pivot's noise limits read (prev_ip_names, prev_name_ips), in
 * ClickHouse, answered as the LMDB store's rr.c answers them: the same
 * rows in the same order (its target index: target, type, owner, rdata).
 */
#include <errno.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

int ch_name_key(const char *name, bool wild, char rev[STORE_NAME_BUF])
{
	char norm[STORE_NAME_BUF];
	int err = store_name_norm(name, strlen(name), norm, wild);
	if (err == 0)
		ch_name_rev(norm, rev);
	return err;
}

/* rr_target's rows of the target rev (reversed, normalised: [a-z0-9_.-*]
 * only, nothing to quote) or of every target under it (zone), in the
 * LMDB store's order. */
static int target_query(store_ch_t *c, bool zone, const char *rev, const struct store_fence *f,
                        store_rr_cb cb, void *ctx)
{
	struct util_buf q;
	util_buf_init(&q, 4096);
	util_buf_adds(&q, "SELECT " CH_RR_COLUMNS " FROM rr_target WHERE ");
	if (zone) /* one range of the key */
		util_buf_printf(&q, "target > '%s.' AND target < '%s/'", rev, rev);
	else
		util_buf_printf(&q, "target = '%s'", rev);
	util_buf_adds(&q, " GROUP BY target, rname, rrname, rrtype, rdata ORDER BY " CH_NAMEKEY(
	                      "target") ", rrtype, " CH_NAMEKEY("rname") ", rdata");
	int err = ch_rr_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

int store_ch_rr_by_target(store_ch_t *c, const char *target, const struct store_fence *f,
                          store_rr_cb cb, void *ctx)
{
	char rev[STORE_NAME_BUF];
	int err = ch_name_key(target, true, rev);
	return err != 0 ? err : target_query(c, false, rev, f, cb, ctx);
}

int store_ch_rr_by_target_pattern(store_ch_t *c, const char *target, const struct store_fence *f,
                                  store_rr_cb cb, void *ctx)
{
	char pattern[STORE_NAME_BUF], rev[STORE_NAME_BUF];
	int err = ch_pattern(target, pattern);
	if (err != 0)
		return err;
	if (pattern[0] != '*')
		return store_ch_rr_by_target(c, pattern, f, cb, ctx);
	ch_name_rev(pattern + 2, rev);
	return target_query(c, true, rev, f, cb, ctx);
}

int store_ch_prev_ip_names(store_ch_t *c, const uint8_t ip[16], uint64_t *n)
{
	struct util_buf q;
	util_buf_init(&q, 1024);
	util_buf_adds(&q,
	              "SELECT toUInt64(uniqExactMerge(names)) FROM prev_ip_names WHERE addr = ");
	ch_sql_fixed(&q, ip, 16);
	int err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}

int ch_name_sql(struct util_buf *q, const char *head, const char *name)
{
	char rev[STORE_NAME_BUF];
	int err = ch_name_key(name, true, rev);
	if (err != 0)
		return err;
	util_buf_init(q, 1024);
	util_buf_adds(q, head);
	ch_sql_str(q, rev);
	return 0;
}

int store_ch_prev_name_ips(store_ch_t *c, const char *name, uint64_t *n)
{
	struct util_buf q;
	*n = 0;
	int err = ch_name_sql(
	    &q, "SELECT toUInt64(uniqExactMerge(addrs)) FROM prev_name_ips WHERE rname = ", name);
	if (err != 0)
		return err;
	err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}
