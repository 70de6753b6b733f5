/*
 * ch_fp.c - server fingerprints (JARM, JA3S) on ClickHouse: a batch's
 * fingerprint records written into fp_in (whose views fill fp and fp_addr,
 * store/clickhouse/schema.sql) under the batch token, and store/fp.c's
 * readers on the cluster: sightings by fingerprint, by address or prefix,
 * and the distinct addresses of a fingerprint, merged with -Merge and
 * GROUP BY and in the LMDB store's row order.
 */
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/be.h"

#define FP_KEY_LEN 64 /* fp.c's FPKEY: u8 type, hash zero-padded to 63 */
#define FP_COLUMNS "fptype, hash, ip, port, minMerge(tf), maxMerge(tl), sumMerge(cnt)"
#define FP_GROUP " GROUP BY fptype, hash, ip, port"

void ch_fp_row(struct util_buf *b, uint64_t token, const uint8_t *k, int64_t tf, int64_t tl,
               uint64_t count)
{
	ch_rb_uint(b, token, 8);
	ch_rb_uint(b, k[0], 1);
	ch_rb_bytes(b, k + 1, strnlen((const char *)k + 1, FP_KEY_LEN - 1));
	util_buf_add(b, k + FP_KEY_LEN, 16);
	ch_rb_uint(b, util_be16_load(k + FP_KEY_LEN + 16), 2);
	ch_rb_uint(b, ch_clamp_u32(tf), 4);
	ch_rb_uint(b, ch_clamp_u32(tl), 4);
	ch_rb_uint(b, count, 8);
}

int ch_fp_write(store_ch_t *c, const store_batch_t *b)
{
	if (b->nfps == 0)
		return 0;
	struct util_buf body;
	util_buf_init(&body, (size_t)256 << 20);
	uint64_t token = store_ch_token();
	for (size_t i = 0; i < b->nfps; i++) {
		int64_t tf, tl;
		uint64_t count;
		const uint8_t *k = fp_batch_row(b, i, &tf, &tl, &count);
		ch_fp_row(&body, token, k, tf, tl, count);
	}
	int err = body.err != 0 ? body.err
	                        : ch_insert_retried(c, "INSERT INTO fp_in FORMAT RowBinary", &body);
	util_buf_free(&body);
	return err;
}

/* Run q and hand each merged sighting inside the fence to cb, until it
 * returns non-zero. */
static int fp_query(store_ch_t *c, struct util_buf *q, const struct store_fence *f, store_fp_cb cb,
                    void *ctx)
{
	struct util_buf resp;
	int err = ch_query(c, q, &resp);
	struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len, false};
	while (err == 0 && r.p < r.end) {
		char hash[STORE_FP_HASH_BUF];
		struct store_fp_sighting s;
		s.fptype = (uint8_t)ch_rd_uint(&r, 1);
		ch_rd_str(&r, hash, sizeof(hash));
		ch_rd_fixed(&r, s.ip, 16);
		s.port = (uint16_t)ch_rd_uint(&r, 2);
		s.time_first = ch_rd_uint(&r, 4);
		s.time_last = ch_rd_uint(&r, 4);
		s.count = ch_rd_uint(&r, 8);
		s.hash = hash;
		if (r.bad)
			err = ch_corrupt();
		else if (store_fence_match(f, (uint32_t)s.time_first, (uint32_t)s.time_last))
			err = cb(&s, ctx);
	}
	util_buf_free(&resp);
	return walk_done(err); /* cb's STORE_STOP: a limit reached, no error */
}

/* "fptype = T AND hash = 'H'" after head, the hash normalised. */
static int fp_where(struct util_buf *q, const char *head, unsigned fptype, const char *hash)
{
	char h[STORE_FP_HASH_BUF];
	int err = store_fp_norm(fptype, hash, strlen(hash), h);
	if (err != 0)
		return err;
	util_buf_init(q, 4096);
	util_buf_printf(q, "%s WHERE fptype = %u AND hash = ", head, fptype);
	ch_sql_str(q, h);
	return 0;
}

int store_ch_fp_by_hash(store_ch_t *c, unsigned fptype, const char *hash,
                        const struct store_fence *f, store_fp_cb cb, void *ctx)
{
	struct util_buf q;
	int err = fp_where(&q, "SELECT " FP_COLUMNS " FROM fp", fptype, hash);
	if (err != 0)
		return err;
	util_buf_adds(&q, FP_GROUP " ORDER BY ip, port");
	err = fp_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

int store_ch_fp_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_fp_cb cb, void *ctx)
{
	if (plen > 128)
		return STORE_EBADADDR;
	struct util_buf q;
	util_buf_init(&q, 4096);
	util_buf_adds(&q, "SELECT " FP_COLUMNS " FROM fp_addr WHERE ");
	ch_where_prefix(&q, "ip", addr, plen);
	util_buf_adds(&q, FP_GROUP " ORDER BY ip, fptype, hash, port");
	int err = fp_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

int store_ch_prev_fp_ips(store_ch_t *c, unsigned fptype, const char *hash, uint64_t *n)
{
	struct util_buf q;
	*n = 0;
	int err = fp_where(&q, "SELECT toUInt64(uniqExact(ip)) FROM fp", fptype, hash);
	if (err != 0)
		return err;
	err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}
