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

/* What a target query asks for: one target, every target under a zone
 * (*.zone), or every target whose labels begin with a head's (head.*). */
enum { TQ_EXACT, TQ_ZONE, TQ_RHS };

/* A target's labels in their own order, each ended by 0x00 as the LMDB
 * forward index keys them (FWDKEY): the order of a right-hand wildcard. */
#define TQ_FWDKEY "arrayStringConcat(arrayReverse(splitByChar('.', target)), '\\0')"

/* rr_target's rows of the target rev (reversed, normalised: [a-z0-9_.-*]
 * only, nothing to quote), of every target under it (TQ_ZONE) or, rev the
 * reversed head, of every target beginning with head (TQ_RHS: no index
 * serves it, the table is read whole), in the LMDB store's order. */
static int target_query(store_ch_t *c, int kind, const char *rev, const struct store_fence *f,
                        store_rr_cb cb, void *ctx)
{
	struct util_buf q;
	util_buf_init(&q, 4096);
	util_buf_adds(&q, "SELECT " CH_RR_COLUMNS " FROM rr_target WHERE ");
	if (kind == TQ_ZONE) /* one range of the key */
		util_buf_printf(&q, "target > '%s.' AND target < '%s/'", rev, rev);
	else if (kind == TQ_RHS)
		util_buf_printf(
		    &q, "length(target) > %zu AND substring(target, length(target) - %zu) = '.%s'",
		    strlen(rev) + 1, strlen(rev), rev);
	else
		util_buf_printf(&q, "target = '%s'", rev);
	util_buf_adds(&q, " GROUP BY target, rname, rrname, rrtype, rdata ORDER BY ");
	util_buf_adds(&q, kind == TQ_RHS ? TQ_FWDKEY : CH_NAMEKEY("target"));
	util_buf_adds(&q, ", rrtype, " CH_NAMEKEY("rname") ", rdata");
	int err = ch_rr_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

int store_ch_rr_by_target(store_ch_t *c, const char *target, const struct store_fence *f,
                          store_rr_cb cb, void *ctx)
{
	char rev[STORE_NAME_BUF];
	int err = ch_name_key(target, true, rev);
	return err != 0 ? err : target_query(c, TQ_EXACT, rev, f, cb, ctx);
}

int store_ch_rr_by_target_pattern(store_ch_t *c, const char *target, const struct store_fence *f,
                                  store_rr_cb cb, void *ctx)
{
	char pattern[STORE_NAME_BUF], rev[STORE_NAME_BUF];
	int err = store_name_pattern(target, strlen(target), pattern);
	if (err != 0)
		return err;
	if (store_name_is_rhs(pattern)) {
		pattern[strlen(pattern) - 2] = '\0';
		ch_name_rev(pattern, rev);
		return target_query(c, TQ_RHS, rev, f, cb, ctx);
	}
	if (pattern[0] != '*')
		return store_ch_rr_by_target(c, pattern, f, cb, ctx);
	ch_name_rev(pattern + 2, rev);
	return target_query(c, TQ_ZONE, rev, f, cb, ctx);
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
