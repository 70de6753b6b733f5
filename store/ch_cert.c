/*
 * ch_cert.c - certificates in ClickHouse: STORE_OBS_CERT observations
 * written as RowBinary rows into sight_in (whose materialized views fill
 * sight, sight_addr and prev_cert_ips), cert, name_cert and cert_attr
 * (store/clickhouse/schema.sql), under the batch token of store_ch_write;
 * and the certificate readers of the LMDB store (cert.c, keys.c) on the
 * cluster: metadata, sightings by certificate and by address, certificates
 * by name, key and subject, prevalence.  Sightings are read with -Merge
 * and GROUP BY (final before background merges), metadata with argMax
 * over ver and GROUP BY (final before the replacing merges).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/hex.h"

void ch_certref(const struct store_cert_ref *ref, uint8_t out[33])
{
	memset(out, 0, 33);
	out[0] = ref->kind;
	memcpy(out + 1, ref->hash, ref->kind == 1 ? 20 : 32);
}

/* The reference of an observation: the SHA-1 when known, else the
 * SHA-256 (the LMDB store's, before it learns an alias). */
static void obs_ref(const struct store_cert_meta *m, uint8_t out[33])
{
	struct store_cert_ref ref = {.kind = m->has_sha1 ? 1 : 2};
	memcpy(ref.hash, m->has_sha1 ? m->sha1 : m->sha256, m->has_sha1 ? 20 : 32);
	ch_certref(&ref, out);
}

/* A NUL-separated list (n bytes) as Array(String): a LEB128 count (as
 * a string's length), then the non-empty strings. */
static void rb_list(struct util_buf *b, const char *p, size_t n)
{
	uint64_t count = 0;
	for (size_t i = 0; i < n; i += strnlen(p + i, n - i) + 1)
		count += strnlen(p + i, n - i) > 0;
	ch_rb_varint(b, count);
	for (size_t i = 0; i < n; i += strnlen(p + i, n - i) + 1) {
		size_t l = strnlen(p + i, n - i);
		if (l > 0)
			ch_rb_bytes(b, p + i, l);
	}
}

/* ---- writing ------------------------------------------------------------- */

/* One sight_in row (column order of schema.sql). */
static void sight_row(struct util_buf *b, const struct store_obs *o, const uint8_t ref[33],
                      uint64_t token)
{
	char sni[STORE_NAME_BUF];
	ch_name_rev(o->cert.sni, sni);
	ch_rb_uint(b, token, 8);
	util_buf_add(b, ref, 33);
	util_buf_add(b, o->cert.ip, 16);
	ch_rb_uint(b, o->cert.port, 2);
	ch_rb_uint(b, ch_clamp_u32(o->time_first), 4);
	ch_rb_uint(b, ch_clamp_u32(o->time_last), 4);
	ch_rb_uint(b, o->count, 8);
	ch_rb_str(b, o->sensor);
	ch_rb_str(b, sni);
}

/* One cert row: ver 0 hashes only, 1 metadata, 2 metadata and DER. */
static void cert_row(struct util_buf *b, const struct store_obs *o, const uint8_t ref[33])
{
	const struct store_cert_meta *m = o->cert.meta;
	bool meta = o->cert.has_meta;
	char dn[STORE_DN_BUF] = "", spki[65] = "";
	if (meta && store_dn_norm(m->subject, strnlen(m->subject, sizeof(m->subject)), dn) != 0)
		dn[0] = '\0';
	if (m->has_key)
		util_hex_encode(m->key, 32, spki);
	util_buf_add(b, ref, 33);
	ch_rb_uint(b, m->der != NULL && m->der_len > 0 ? 2 : meta ? 1 : 0, 1);
	ch_rb_bytes(b, m->sha1, m->has_sha1 ? 20 : 0);
	ch_rb_bytes(b, m->sha256, m->has_sha256 ? 32 : 0);
	ch_rb_bytes(b, m->subject, meta ? strnlen(m->subject, sizeof(m->subject)) : 0);
	ch_rb_str(b, dn);
	ch_rb_bytes(b, m->issuer, meta ? strnlen(m->issuer, sizeof(m->issuer)) : 0);
	ch_rb_bytes(b, m->serial, meta ? strnlen(m->serial, sizeof(m->serial)) : 0);
	ch_rb_uint(b, (uint64_t)(meta ? m->not_before : 0), 8);
	ch_rb_uint(b, (uint64_t)(meta ? m->not_after : 0), 8);
	rb_list(b, m->san_dns, meta ? m->san_dns_len : 0);
	rb_list(b, m->san_ip, meta ? m->san_ip_len : 0);
	ch_rb_str(b, spki);
	ch_rb_bytes(b, m->der, m->der != NULL ? m->der_len : 0);
}

/* A name_cert row for a host name (skipped when it does not normalise:
 * a CN that is a label, as the LMDB store skips it). */
static void name_row(struct util_buf *b, const char *name, size_t n, const uint8_t ref[33],
                     unsigned kind)
{
	char norm[STORE_NAME_BUF], rev[STORE_NAME_BUF];
	if (store_name_norm(name, n, norm, true) != 0)
		return;
	ch_name_rev(norm, rev);
	ch_rb_str(b, rev);
	util_buf_add(b, ref, 33);
	ch_rb_uint(b, kind, 1);
}

/* The SAN names and the subject's CN (kind SAN), as cert.c's index_san. */
static void san_rows(struct util_buf *b, const struct store_obs *o, const uint8_t ref[33])
{
	const struct store_cert_meta *m = o->cert.meta;
	for (size_t i = 0; i < m->san_dns_len;
	     i += strnlen(m->san_dns + i, m->san_dns_len - i) + 1) {
		size_t l = strnlen(m->san_dns + i, m->san_dns_len - i);
		if (l > 0)
			name_row(b, m->san_dns + i, l, ref, STORE_NC_SAN);
	}
	const char *cn;
	size_t cnl;
	if (store_subject_cn(m->subject, strnlen(m->subject, sizeof(m->subject)), &cn, &cnl))
		name_row(b, cn, cnl, ref, STORE_NC_SAN);
}

static void attr_row(struct util_buf *b, unsigned attr, const char *value, const uint8_t ref[33])
{
	ch_rb_uint(b, attr, 1);
	ch_rb_str(b, value);
	util_buf_add(b, ref, 33);
}

/* Key (1), normalised subject (2), serial|issuer (3), as keys.c indexes. */
static void attr_rows(struct util_buf *b, const struct store_obs *o, const uint8_t ref[33])
{
	const struct store_cert_meta *m = o->cert.meta;
	char v[STORE_SERIAL_BUF + 1 + STORE_DN_BUF];
	if (m->has_key) {
		util_hex_encode(m->key, 32, v);
		attr_row(b, 1, v, ref);
	}
	if (!o->cert.has_meta)
		return;
	size_t sl = strnlen(m->subject, sizeof(m->subject));
	if (sl > 0 && store_dn_norm(m->subject, sl, v) == 0)
		attr_row(b, 2, v, ref);
	size_t serl = strnlen(m->serial, sizeof(m->serial));
	if (serl > 0 && store_serial_norm(m->serial, serl, v) == 0) {
		size_t l = strlen(v);
		v[l++] = '|';
		if (store_dn_norm(m->issuer, strnlen(m->issuer, sizeof(m->issuer)), v + l) != 0)
			v[l] = '\0';
		attr_row(b, 3, v, ref);
	}
}

/* The normalised names a sweep_cert row is found by: its SNI, and its
 * SAN names when it carries metadata (those the hook links: not the
 * wildcards, which do not normalise without them). */
static void sweep_names(struct util_buf *b, const struct store_obs *o)
{
	const struct store_cert_meta *m = o->cert.meta;
	size_t len = o->cert.has_meta ? m->san_dns_len : 0;
	bool sni = o->cert.sighting && o->cert.sni[0] != '\0';
	char v[STORE_NAME_BUF];
	/* twice: the count first, then the names */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t n = sni;
		if (pass == 1 && sni)
			ch_rb_str(b, o->cert.sni);
		for (size_t i = 0; i < len; i += strnlen(m->san_dns + i, len - i) + 1) {
			if (store_name_norm(m->san_dns + i, strnlen(m->san_dns + i, len - i), v,
			                    false) != 0)
				continue;
			n++;
			if (pass == 1)
				ch_rb_str(b, v);
		}
		if (pass == 0)
			ch_rb_varint(b, n);
	}
}

/* One sweep_cert_in row: the observation as the standing pivot's hook
 * reads it (docs/scale-out.md, "The watch sweep"). */
static void sweep_row(struct util_buf *b, const struct store_obs *o, const uint8_t ref[33],
                      uint64_t token, uint32_t seq)
{
	const struct store_cert_meta *m = o->cert.meta;
	bool sight = o->cert.sighting;
	static const uint8_t zero[32];
	ch_rb_uint(b, token, 8);
	ch_rb_uint(b, seq, 4);
	util_buf_add(b, ref, 33);
	ch_rb_bytes(b, m->sha256, m->has_sha256 ? 32 : 0);
	ch_rb_uint(b, (sight ? 1u : 0u) | (o->cert.has_meta ? 2u : 0u) | (m->has_key ? 4u : 0u), 1);
	util_buf_add(b, sight ? o->cert.ip : zero, 16);
	ch_rb_uint(b, sight ? o->cert.port : 0, 2);
	ch_rb_str(b, sight ? o->cert.sni : "");
	util_buf_add(b, m->has_key ? m->key : zero, 32);
	ch_rb_bytes(b, m->san_dns, o->cert.has_meta ? m->san_dns_len : 0);
	sweep_names(b, o);
	ch_rb_uint(b, ch_clamp_u32(o->time_first), 4);
	ch_rb_uint(b, ch_clamp_u32(o->time_last), 4);
	ch_rb_uint(b, o->count, 8);
	ch_rb_str(b, o->sensor);
}

enum { T_SIGHT, T_CERT, T_NAME, T_ATTR, T_SWEEP, T_N = CH_CERT_TABLES };
static const char *const insert_sql[T_N] = {
    "INSERT INTO sight_in FORMAT RowBinary",
    "INSERT INTO cert FORMAT RowBinary",
    "INSERT INTO name_cert FORMAT RowBinary",
    "INSERT INTO cert_attr FORMAT RowBinary",
    ("INSERT INTO sweep_cert_in (blk, seq, cert, sha256, flags, ip, port, sni, spki, san, names, "
     "tf, tl, cnt, sensor) FORMAT RowBinary"),
};

void ch_cert_rows(struct util_buf *t, const struct store_obs *o, uint64_t token, uint32_t seq)
{
	uint8_t ref[33];
	obs_ref(o->cert.meta, ref);
	cert_row(&t[T_CERT], o, ref);
	sweep_row(&t[T_SWEEP], o, ref, token, seq);
	if (o->cert.has_meta)
		san_rows(&t[T_NAME], o, ref);
	attr_rows(&t[T_ATTR], o, ref);
	if (!o->cert.sighting)
		return;
	sight_row(&t[T_SIGHT], o, ref, token);
	if (o->cert.sni[0] != '\0')
		name_row(&t[T_NAME], o->cert.sni, strlen(o->cert.sni), ref, STORE_NC_SNI);
}

int ch_cert_check(const struct store_obs *o)
{
	if (o->cert.meta != NULL && (o->cert.meta->has_sha1 || o->cert.meta->has_sha256))
		return 0;
	store_set_error("clickhouse: a certificate observation without a hash");
	return STORE_EBADHASH;
}

int ch_cert_send(store_ch_t *c, const struct util_buf *t)
{
	int err = 0;
	for (int i = 0; i < T_N && err == 0; i++)
		err = t[i].err;
	/* the metadata tables replace, the sightings add: write those last,
	 * so that a sighting is never there without its certificate; the
	 * watch sweep's log after all (the sweep reads the others) */
	static const int order[T_N] = {T_CERT, T_NAME, T_ATTR, T_SIGHT, T_SWEEP};
	for (int i = 0; i < T_N && err == 0; i++) {
		if (t[order[i]].len > 0)
			err = ch_insert_retried(c, insert_sql[order[i]], &t[order[i]]);
	}
	return err;
}

int ch_cert_write(store_ch_t *c, const struct store_obs *obs, size_t n, uint64_t token)
{
	struct util_buf t[T_N];
	for (int i = 0; i < T_N; i++)
		util_buf_init(&t[i], (size_t)1 << 30);
	int err = 0;
	uint32_t seq = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		if (obs[i].kind != STORE_OBS_CERT)
			continue;
		err = ch_cert_check(&obs[i]);
		if (err == 0)
			ch_cert_rows(t, &obs[i], token, seq++);
	}
	if (err == 0)
		err = ch_cert_send(c, t);
	for (int i = 0; i < T_N; i++)
		util_buf_free(&t[i]);
	return err;
}

/* ---- reading: sightings -------------------------------------------------- */

void ch_rd_sight(struct ch_rb_in *r, struct ch_sight_row *row)
{
	struct store_sighting *s = &row->s;
	uint8_t ref[33];
	memset(s, 0, sizeof(*s));
	ch_rd_fixed(r, ref, 33);
	s->ref.kind = ref[0];
	memcpy(s->ref.hash, ref + 1, 32);
	ch_rd_fixed(r, s->ip, 16);
	s->port = (uint16_t)ch_rd_uint(r, 2);
	s->time_first = (int64_t)ch_rd_uint(r, 4);
	s->time_last = (int64_t)ch_rd_uint(r, 4);
	s->count = ch_rd_uint(r, 8);
	ch_rd_names(r, STORE_SENSOR_MAX, STORE_SENSORS_KEPT, row->sensors[0], s->sensors,
	            &s->nsensors, &s->sensors_more);
	unsigned more;
	ch_rd_names(r, STORE_NAME_BUF, STORE_SNI_KEPT, row->sni[0], s->sni, &s->nsni, &more);
	for (unsigned i = 0; i < s->nsni; i++) {
		char fwd[STORE_NAME_BUF];
		ch_name_rev(row->sni[i], fwd);
		memcpy(row->sni[i], fwd, strlen(fwd) + 1);
	}
	if (!r->bad && s->ref.kind != 1 && s->ref.kind != 2)
		r->bad = true;
}

static int sight_query(store_ch_t *c, struct util_buf *q, const struct store_fence *f,
                       store_sight_cb cb, void *ctx)
{
	struct util_buf resp;
	int ret = ch_query(c, q, &resp);
	struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len, false};
	struct ch_sight_row *row = ret == 0 ? malloc(sizeof(*row)) : NULL;
	if (ret == 0 && row == NULL)
		ret = -ENOMEM;
	while (ret == 0 && r.p < r.end) {
		ch_rd_sight(&r, row);
		if (r.bad)
			ret = ch_corrupt();
		else if (store_fence_match(f, row->s.time_first, row->s.time_last))
			ret = cb(&row->s, ctx);
	}
	free(row);
	util_buf_free(&resp);
	return ret == STORE_STOP ? 0 : ret;
}

void ch_where_cert(struct util_buf *q, const char *db, const uint8_t rb[33])
{
	util_buf_adds(q, "cert = ");
	ch_sql_fixed(q, rb, 33);
	if (rb[0] != 1)
		return;
	/* The SHA-256 alone was a reference of its own until a row carried both
	 * hashes (on another node perhaps, at any time): resolved here, at read
	 * time, so no writer has to move rows (docs/scale-out.md).  The cert
	 * table's key is the reference: a point read.  Not GLOBAL: 18.16 uses
	 * no primary key for a GLOBAL IN's temporary table, and an OR with a
	 * condition the key cannot answer reads the whole table; a plain IN
	 * (each shard reads the Distributed cert table: distributed_product_mode
	 * = allow, CH_READ_SETTINGS; the table qualified, as a shard's session
	 * has no database) keeps the read a range. */
	util_buf_printf(q, " OR cert IN (" CH_ALIAS_REFS "= ", db);
	ch_sql_fixed(q, rb, 33);
	util_buf_adds(q, ")");
}

int store_ch_sight_by_cert(store_ch_t *c, const struct store_cert_ref *ref,
                           const struct store_fence *f, store_sight_cb cb, void *ctx)
{
	uint8_t rb[33];
	ch_certref(ref, rb);
	struct util_buf q;
	util_buf_init(&q, 4096);
	/* the rows of both references merged per (address, port), as cert.c's
	 * join_row merges them, and named by ref */
	util_buf_adds(&q, "SELECT ");
	ch_sql_fixed_col(&q, rb, 33);
	util_buf_adds(&q, ", " CH_SIGHT_VALUES " FROM sight WHERE ");
	ch_where_cert(&q, store_ch_db(c), rb);
	/* the LMDB key: certificate, address, port */
	util_buf_adds(&q, " GROUP BY ip, port ORDER BY ip, port");
	int err = sight_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

int store_ch_sight_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                           const struct store_fence *f, store_sight_cb cb, void *ctx)
{
	if (plen > 128)
		return STORE_EBADADDR;
	struct util_buf from, q;
	util_buf_init(&from, 1024);
	util_buf_init(&q, 4096);
	util_buf_adds(&from, "sight_addr WHERE ");
	ch_where_prefix(&from, "ip", addr, plen);
	/* the LMDB address index: address, then (certificate, port), a
	 * SHA-256's rows merged into its SHA-1's (cert.c's join_row) */
	ch_cert_listing(&q, store_ch_db(c), CH_CERT_KEY " AS ref, " CH_SIGHT_VALUES, &from,
	                " GROUP BY ip, port, ref ORDER BY ip, ref, port");
	int err = sight_query(c, &q, f, cb, ctx);
	util_buf_free(&from);
	util_buf_free(&q);
	return err;
}

/* ---- reading: one number ------------------------------------------------- */

/* A query answering one UInt64 (a row of one column; none is 0). */
int ch_query_u64(store_ch_t *c, struct util_buf *q, uint64_t *n)
{
	struct util_buf resp;
	*n = 0;
	int err = ch_query(c, q, &resp);
	if (err == 0 && resp.len != 0 && resp.len != 8)
		err = ch_corrupt();
	if (err == 0 && resp.len == 8) {
		struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + 8, false};
		*n = ch_rd_uint(&r, 8);
	}
	util_buf_free(&resp);
	return err;
}

int store_ch_prev_cert_ips(store_ch_t *c, const struct store_cert_ref *ref, uint64_t *n)
{
	uint8_t rb[33];
	ch_certref(ref, rb);
	struct util_buf q;
	util_buf_init(&q, 1024);
	/* the distinct addresses of both references (cert.c's cert_has_ip) */
	util_buf_adds(&q, "SELECT toUInt64(uniqExactMerge(ips)) FROM prev_cert_ips WHERE ");
	ch_where_cert(&q, store_ch_db(c), rb);
	int err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}
