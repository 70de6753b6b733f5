/*
 * ch_client_cut.c - retention of the estate's client pairs on ClickHouse
 * (`ingest --client-days`; docs/estate.md, "On a ClickHouse store").
 *
 * The LMDB store deletes the rows last seen before a cutoff (the newest
 * sighting less N days), at most once per day of data, and remembers the
 * cutoff; a pair written after that run stays, however old, until the
 * next one.  Here the same run stores its cutoff as a row of the client
 * table (dtype 0, its ver the cutoff) and every query reads that row with
 * its pairs.  Each pair's row carries in the high 32 bits of its ver the
 * cutoff in force when it was written, so a reader tells the pairs the
 * run dropped (last seen before the cutoff, written before it) from those
 * written since, exactly as LMDB's answer, whatever the cluster's
 * background state.  Then a mutation (ALTER TABLE ... DELETE, queued on
 * every shard by ON CLUSTER) deletes those rows for good: 18.16 has no
 * TTL clause.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

#define DAY 86400 /* a run waits for a day more of data: client_read.c's PRUNE_EVERY */
#define SIGN ((uint64_t)1 << 63)

uint64_t ch_cut_ver(int64_t cut)
{
	return (uint64_t)cut ^ SIGN;
}

int64_t ch_cut_of_ver(uint64_t ver)
{
	return ver == 0 ? CH_CUT_NONE : (int64_t)(ver ^ SIGN);
}

/* The stamp of a cutoff: the last_seen column's scale (UInt32). */
static uint64_t cut_stamp(int64_t cut)
{
	return cut == CH_CUT_NONE ? 0 : ch_clamp_u32(cut);
}

uint64_t ch_client_ver(uint64_t old, int64_t cut)
{
	uint64_t base = cut_stamp(cut) << 32;
	return (old > base ? old : base) + 1;
}

bool ch_client_dropped(int64_t last_seen, uint64_t ver, int64_t cut)
{
	return cut != CH_CUT_NONE && (ver >> 32) < cut_stamp(cut) && last_seen < cut;
}

/* The one UInt64 sql answers (no row: 0). */
static int ask_u64(store_ch_t *c, const char *sql, uint64_t *n)
{
	struct util_buf q;
	util_buf_init(&q, 256);
	util_buf_adds(&q, sql);
	int err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}

int store_ch_client_newest(store_ch_t *c, int64_t *newest)
{
	uint64_t n = 0;
	int err = ask_u64(c, "SELECT toUInt64(max(last_seen)) FROM client WHERE dtype != 0", &n);
	*newest = (int64_t)n;
	return err;
}

/* The pairs the cutoff before drops that the last one (CH_CUT_NONE)
 * left: what LMDB's run deletes. */
static int count_dropped(store_ch_t *c, int64_t last, int64_t before, uint64_t *n)
{
	struct util_buf q;
	util_buf_init(&q, 1024);
	util_buf_printf(&q,
	                "SELECT count() FROM (SELECT argMax(last_seen, ver) AS ls, "
	                "intDiv(max(ver), 4294967296) AS stamp FROM client WHERE dtype != 0 "
	                "GROUP BY dtype, dest, client, sensor, src HAVING ls < %" PRIu64
	                " AND stamp < %" PRIu64,
	                cut_stamp(before), cut_stamp(before));
	if (last != CH_CUT_NONE)
		util_buf_printf(&q, " AND NOT (ls < %" PRIu64 " AND stamp < %" PRIu64 ")",
		                cut_stamp(last), cut_stamp(last));
	util_buf_adds(&q, ")");
	int err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}

/* Delete the dropped pairs' rows on every shard.  ON CLUSTER with
 * distributed_ddl_task_timeout=0: the entry node queues the mutation in
 * ZooKeeper's DDL queue and answers at once; each shard (one replica,
 * replicated to the other) runs it when it can, a node that is down when
 * it comes back.  (ON CLUSTER ... DROP PARTITION fails on 18.16 with a
 * password: the replica forwards it to its shard's leader without one; a
 * mutation is not forwarded.) */
static int delete_dropped(store_ch_t *c, int64_t before)
{
	struct util_buf q;
	util_buf_init(&q, 1024);
	util_buf_printf(&q,
	                "ALTER TABLE %s.client_local ON CLUSTER infrapivot DELETE WHERE dtype != 0 "
	                "AND last_seen < %" PRIu64 " AND intDiv(ver, 4294967296) < %" PRIu64,
	                store_ch_db(c), cut_stamp(before), cut_stamp(before));
	int err = q.err != 0
	              ? q.err
	              : store_ch_exec(c, q.p, NULL, 0, "distributed_ddl_task_timeout=0", NULL);
	util_buf_free(&q);
	return err;
}

int store_ch_client_prune(store_ch_t *c, int64_t before, uint64_t *dropped)
{
	*dropped = 0;
	uint64_t ver = 0;
	int err = ask_u64(c, "SELECT max(ver) FROM client WHERE dtype = 0", &ver);
	int64_t last = ch_cut_of_ver(ver);
	if (err != 0 || (last != CH_CUT_NONE && before < last + DAY))
		return err;
	uint64_t n = 0;
	err = count_dropped(c, last, before, &n);
	/* the cutoff first: from then on every answer leaves the pairs out */
	if (err == 0)
		err = ch_client_cut_put(c, before);
	if (err == 0 && n > 0)
		err = delete_dropped(c, before);
	if (err == 0)
		*dropped = n;
	return err;
}
