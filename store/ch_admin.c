/*
 * ch_admin.c - the ClickHouse store's administrative reads: `stats`
 * (docs/scale-out.md, "stats on ClickHouse").
 *
 * Each count is LMDB's table of the same name counted on the cluster as
 * its entries: the distinct keys of a table, finalised with GROUP BY (the
 * background merges may not have folded a key's rows into one yet).
 */
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"

/* The distinct keys of a table: LMDB's key (store/schema.h) as the
 * cluster's columns.  A key lives on one shard, but the count is
 * finalised on the entry node all the same. */
#define CH_KEYS(tbl, cols) "SELECT count() FROM (SELECT 1 FROM " tbl " GROUP BY " cols ")"
/* ... of a table keyed by certificate: each named as LMDB's join leaves it
 * (ref: its SHA-1 when cert_alias maps it), over every alias (a WITH in
 * each subquery: 18.16 does not see an outer one there) */
#define CH_CERT_KEYS(tbl, cols)                                                                    \
	"SELECT count() FROM (" CH_ALIASES_ALL "SELECT " CH_CERT_KEY " AS ref FROM " tbl           \
	" GROUP BY " cols ")"
/* The answer's columns, in the order of dst in store_ch_stats. */
static const char *const stats_cols[] = {
    CH_KEYS("rr", "rname, rrtype, rdata"),
    CH_KEYS("rr_addr", "addr, rname"),
    CH_KEYS("rr_target", "target, rrtype, rname"),
    CH_CERT_KEYS("sight", "ref, ip, port"),
    CH_CERT_KEYS("sight_addr", "ip, port, ref"),
    CH_ALIASES_ALL "SELECT uniqExact(" CH_CERT_KEY ") FROM cert",
    CH_CERT_KEYS("name_cert", "rname, ref, kind"),
    /* LMDB's alias table: a SHA-256 seen with its SHA-1 */
    "SELECT uniqExact(sha256) FROM cert WHERE sha256 != '' AND substring(cert, 1, 1) = unhex('01')",
    /* the sensor names of resolutions, certificate sightings and client
     * sightings (LMDB numbers each name it meets in one of those); a
     * row's state finalised alone gives its part of the union */
    "SELECT uniqExact(s) FROM (SELECT arrayJoin(finalizeAggregation(sensors)) AS s FROM rr "
    "UNION ALL SELECT arrayJoin(finalizeAggregation(sensors)) AS s FROM sight "
    "UNION ALL SELECT sensor AS s FROM client) WHERE s != ''",
};
#define CH_STATS_COLS (sizeof(stats_cols) / sizeof(stats_cols[0]))

int store_ch_stats(store_ch_t *c, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sizes_unknown = true;
	struct util_buf q, resp;
	util_buf_init(&q, 4096);
	util_buf_adds(&q, "SELECT ");
	for (size_t i = 0; i < CH_STATS_COLS; i++)
		util_buf_printf(&q, "%s(%s)", i > 0 ? ", " : "", stats_cols[i]);
	int err = ch_query(c, &q, &resp);
	util_buf_free(&q);
	if (err == 0 && resp.len != CH_STATS_COLS * 8)
		err = ch_corrupt();
	if (err == 0) {
		uint64_t *dst[CH_STATS_COLS] = {
		    &st->resolutions,     &st->addr_index,    &st->target_index,
		    &st->sightings,       &st->ip_cert_index, &st->certificates,
		    &st->name_cert_index, &st->aliases,       &st->sensors,
		};
		struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len,
		                     false};
		for (size_t i = 0; i < CH_STATS_COLS; i++)
			*dst[i] = ch_rd_uint(&r, 8);
	}
	util_buf_free(&resp);
	return err;
}
