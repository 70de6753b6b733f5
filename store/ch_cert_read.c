/*
 * ch_cert_read.c - certificate metadata and the certificate indexes (by
 * name, key, subject) read from ClickHouse, as the LMDB store's cert.c and
 * keys.c readers answer them.  cert and the index tables are replacing
 * tables: every query groups (GROUP BY, argMax over ver), so a duplicate
 * not yet merged away never shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/hex.h"

void ch_sql_str(struct util_buf *q, const char *s)
{
	util_buf_adds(q, "'");
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			util_buf_adds(q, "\\");
		util_buf_add(q, s, 1);
	}
	util_buf_adds(q, "'");
}

void ch_cert_aliases(struct util_buf *q, const char *db, const char *from)
{
	util_buf_adds(q, CH_ALIASES_HEAD);
	/* not GLOBAL, so cert_alias's key answers it (ch_where_cert) */
	if (from != NULL)
		util_buf_printf(q, " WHERE alias IN (SELECT cert FROM %s.%s)", db, from);
	util_buf_adds(q, CH_ALIASES_TAIL);
}

void ch_cert_listing(struct util_buf *q, const char *db, const char *select,
                     const struct util_buf *from, const char *tail)
{
	if (from->err != 0 || from->p == NULL) {
		util_buf_set_error(q, from->err != 0 ? from->err : -ENOMEM);
		return;
	}
	ch_cert_aliases(q, db, from->p);
	util_buf_printf(q, "SELECT %s FROM %s%s", select, from->p, tail);
}

/* A String of the response, in place. */
static const uint8_t *rd_view(struct ch_rb_in *r, size_t *n)
{
	uint64_t l = ch_rd_varint(r);
	if (r->bad || l > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		*n = 0;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += l;
	*n = (size_t)l;
	return p;
}

/* The strings of the last store_ch_cert_get of this thread, each ended by
 * a NUL (lists: "a\0b\0"), as the LMDB store keeps them until the next
 * call. */
static _Thread_local struct util_buf cert_mem;

void ch_cert_mem_release(void)
{
	util_buf_free(&cert_mem);
}

/* Copy a String (at most cap bytes of it) into cert_mem; its offset. */
static size_t keep_str(struct ch_rb_in *r, size_t cap)
{
	size_t n, at = cert_mem.len;
	const uint8_t *p = rd_view(r, &n);
	util_buf_add(&cert_mem, p ? p : (const uint8_t *)"", n < cap ? n : cap);
	util_buf_add(&cert_mem, "", 1);
	return at;
}

/* Copy an Array(String) as a NUL-separated list; its offset, *len bytes. */
static size_t keep_list(struct ch_rb_in *r, size_t *len)
{
	uint64_t count = ch_rd_varint(r);
	size_t at = cert_mem.len;
	for (uint64_t i = 0; i < count && !r->bad; i++) {
		size_t n;
		const uint8_t *p = rd_view(r, &n);
		if (p != NULL) {
			util_buf_add(&cert_mem, p, n);
			util_buf_add(&cert_mem, "", 1);
		}
	}
	*len = cert_mem.len - at;
	return at;
}

/* The hashes, a present one (20 or 32 bytes) or none. */
static bool rd_hash(struct ch_rb_in *r, uint8_t *out, size_t want)
{
	size_t n;
	const uint8_t *p = rd_view(r, &n);
	if (p != NULL && n == want)
		memcpy(out, p, want);
	else if (n != 0)
		r->bad = true;
	return n == want;
}

void ch_rd_cert(struct ch_rb_in *r, struct store_cert_info *out)
{
	util_buf_free(&cert_mem);
	util_buf_init(&cert_mem, STORE_CH_RESPONSE_MAX);
	size_t off[7], san_len, ip_len;
	out->has_sha1 = rd_hash(r, out->sha1, 20);
	out->has_sha256 = rd_hash(r, out->sha256, 32);
	for (int i = 0; i < 3; i++)
		off[i] = keep_str(r, 1023); /* cert.c's store_cert_get keeps as much */
	out->not_before = (int64_t)ch_rd_uint(r, 8);
	out->not_after = (int64_t)ch_rd_uint(r, 8);
	off[3] = keep_list(r, &san_len);
	off[4] = keep_list(r, &ip_len);
	size_t der_len;
	const uint8_t *der = rd_view(r, &der_len);
	off[5] = cert_mem.len;
	util_buf_add(&cert_mem, der ? der : (const uint8_t *)"", der_len);
	out->has_meta = ch_rd_uint(r, 1) >= 1;
	if (r->bad || cert_mem.err) {
		r->bad = true;
		return;
	}
	const char *m = cert_mem.p;
	out->subject = m + off[0];
	out->issuer = m + off[1];
	out->serial = m + off[2];
	out->san_dns = m + off[3];
	out->san_dns_len = san_len;
	out->san_ip = m + off[4];
	out->san_ip_len = ip_len;
	out->der = der_len > 0 ? (const uint8_t *)m + off[5] : NULL;
	out->der_len = der_len;
}

int store_ch_cert_get(store_ch_t *c, const struct store_cert_ref *ref, struct store_cert_info *out)
{
	uint8_t rb[33];
	ch_certref(ref, rb);
	struct util_buf q, resp;
	util_buf_init(&q, 1024);
	/* both references' rows in one aggregate: argMax over ver fills what the
	 * SHA-1's rows lack from the SHA-256's, as cert.c's join_meta does; no
	 * row at all is no answer (HAVING: an aggregate without keys answers
	 * one row) */
	util_buf_adds(&q, "SELECT " CH_CERT_COLUMNS " FROM cert WHERE ");
	ch_where_cert(&q, store_ch_db(c), rb);
	util_buf_adds(&q, " HAVING count() > 0");
	int err = ch_query(c, &q, &resp);
	util_buf_free(&q);
	memset(out, 0, sizeof(*out));
	out->ref = *ref;
	if (err == 0 && resp.len == 0) {
		store_set_error("clickhouse: no such certificate");
		err = STORE_ENOTFOUND;
	}
	if (err == 0) {
		struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len,
		                     false};
		ch_rd_cert(&r, out);
		if (r.bad || r.p != r.end)
			err = ch_corrupt();
	}
	util_buf_free(&resp);
	return err;
}

/* ---- certificates by name, key, subject -------------------------------------- */

/* Rows of (cert FixedString(33)[, kind UInt8]). */
static int refs_query(store_ch_t *c, struct util_buf *q, bool with_kind, store_namecert_cb ncb,
                      store_ref_cb rcb, void *ctx)
{
	struct util_buf resp;
	int ret = ch_query(c, q, &resp);
	struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len, false};
	while (ret == 0 && r.p < r.end) {
		uint8_t rb[33];
		struct store_cert_ref ref = {0};
		ch_rd_fixed(&r, rb, 33);
		unsigned kind = with_kind ? (unsigned)ch_rd_uint(&r, 1) : 0;
		ref.kind = rb[0];
		memcpy(ref.hash, rb + 1, ref.kind == 1 ? 20 : 32);
		if (r.bad || (ref.kind != 1 && ref.kind != 2))
			ret = ch_corrupt();
		else
			ret = with_kind ? ncb(&ref, kind, ctx) : rcb(&ref, ctx);
	}
	util_buf_free(&resp);
	return ret == STORE_STOP ? 0 : ret;
}

int store_ch_certs_by_name(store_ch_t *c, const char *name, store_namecert_cb cb, void *ctx)
{
	struct util_buf from, q;
	int err = ch_name_sql(&from, "name_cert WHERE rname = ", name);
	if (err != 0)
		return err;
	util_buf_init(&q, 4096);
	/* the LMDB index's duplicates: (certificate, kind) */
	ch_cert_listing(&q, store_ch_db(c), CH_CERT_KEY " AS ref, kind", &from,
	                " GROUP BY ref, kind ORDER BY ref, kind");
	err = refs_query(c, &q, true, cb, NULL, ctx);
	util_buf_free(&from);
	util_buf_free(&q);
	return err;
}

/* The rows of an attribute (1 key as hex, 2 normalised subject, 3
 * serial|issuer), listed as select ... tail. */
static void attr_query(const store_ch_t *c, unsigned attr, const char *value, const char *select,
                       const char *tail, struct util_buf *q)
{
	struct util_buf from;
	util_buf_init(&from, 2048);
	util_buf_printf(&from, "cert_attr WHERE attr = %u AND value = ", attr);
	ch_sql_str(&from, value);
	util_buf_init(q, 4096);
	ch_cert_listing(q, store_ch_db(c), select, &from, tail);
	util_buf_free(&from);
}

static int attr_refs(store_ch_t *c, unsigned attr, const char *value, store_ref_cb cb, void *ctx)
{
	struct util_buf q;
	attr_query(c, attr, value, CH_CERT_KEY " AS ref", " GROUP BY ref ORDER BY ref", &q);
	int err = refs_query(c, &q, false, NULL, cb, ctx);
	util_buf_free(&q);
	return err;
}

static int attr_count(store_ch_t *c, unsigned attr, const char *value, uint64_t *n)
{
	struct util_buf q;
	attr_query(c, attr, value, "toUInt64(uniqExact(" CH_CERT_KEY "))", "", &q);
	int err = ch_query_u64(c, &q, n);
	util_buf_free(&q);
	return err;
}

int store_ch_certs_by_key(store_ch_t *c, const uint8_t key[32], store_ref_cb cb, void *ctx)
{
	char h[65];
	util_hex_encode(key, 32, h);
	return attr_refs(c, 1, h, cb, ctx);
}

int store_ch_certs_by_subject(store_ch_t *c, const char *dn, store_ref_cb cb, void *ctx)
{
	return attr_refs(c, 2, dn, cb, ctx);
}

/* cert_attr's serial rows (attr 3, "serial|issuer", ch_cert.c): all of a
 * serial are the range ['serial|', 'serial}'), in the LMDB index's order
 * (issuer, then certificate); with an issuer, one value. */
int store_ch_certs_by_serial(store_ch_t *c, const char *serial, const char *issuer, store_ref_cb cb,
                             void *ctx)
{
	char v[STORE_SERIAL_BUF + 1 + STORE_DN_BUF];
	if (store_serial_norm(serial, strlen(serial), v) != 0)
		return STORE_EBADHASH;
	size_t l = strlen(v);
	v[l++] = '|';
	v[l] = '\0';
	if (issuer != NULL && store_dn_norm(issuer, strlen(issuer), v + l) != 0)
		v[l] = '\0';
	if (issuer != NULL)
		return attr_refs(c, 3, v, cb, ctx);
	struct util_buf from, q;
	util_buf_init(&from, 2048);
	util_buf_init(&q, 4096);
	util_buf_adds(&from, "cert_attr WHERE attr = 3 AND value >= ");
	ch_sql_str(&from, v);
	v[l - 1] = '}';
	util_buf_adds(&from, " AND value < ");
	ch_sql_str(&from, v);
	ch_cert_listing(&q, store_ch_db(c), CH_CERT_KEY " AS ref", &from,
	                " GROUP BY value, ref ORDER BY value, ref");
	int err = refs_query(c, &q, false, NULL, cb, ctx);
	util_buf_free(&from);
	util_buf_free(&q);
	return err;
}

/* The keys by certificate (cert_key, cert_attr's attr 1 rows keyed by
 * certificate) rather than cert's spki: a replacing merge may drop the
 * hashes-only row that carried the key for a later one with metadata. */
int store_ch_cert_key(store_ch_t *c, const struct store_cert_ref *ref, uint8_t key[32])
{
	uint8_t rb[33];
	ch_certref(ref, rb);
	struct util_buf q, resp;
	util_buf_init(&q, 1024);
	util_buf_adds(&q, "SELECT key FROM cert_key WHERE ");
	ch_where_cert(&q, store_ch_db(c), rb); /* cert.c's keys_join */
	util_buf_adds(&q, " GROUP BY key ORDER BY key LIMIT 1");
	int err = ch_query(c, &q, &resp);
	util_buf_free(&q);
	struct ch_rb_in r = {(const uint8_t *)resp.p, (const uint8_t *)resp.p + resp.len, false};
	char hex[65];
	size_t n = 0;
	if (err == 0 && resp.len == 0) {
		store_set_error("clickhouse: no key of the certificate");
		err = STORE_ENOTFOUND;
	}
	if (err == 0)
		ch_rd_str(&r, hex, sizeof(hex));
	if (err == 0 && (r.bad || r.p != r.end ||
	                 util_hex_decode(hex, strlen(hex), key, 32, &n) != 0 || n != 32))
		err = ch_corrupt();
	util_buf_free(&resp);
	return err;
}

int store_ch_prev_key_certs(store_ch_t *c, const uint8_t key[32], uint64_t *n)
{
	char h[65];
	util_hex_encode(key, 32, h);
	return attr_count(c, 1, h, n);
}

int store_ch_prev_subject_certs(store_ch_t *c, const char *dn, uint64_t *n)
{
	return attr_count(c, 2, dn, n);
}

static int first_ref(const struct store_cert_ref *ref, void *ctx)
{
	*(struct store_cert_ref *)ctx = *ref;
	return STORE_STOP;
}

int store_ch_cert_resolve(store_ch_t *c, const uint8_t *hash, size_t hlen,
                          struct store_cert_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (hlen != 20 && hlen != 32)
		return STORE_EBADHASH;
	ref->kind = hlen == 20 ? 1 : 2;
	memcpy(ref->hash, hash, hlen);
	uint8_t rb[33];
	ch_certref(ref, rb);
	struct util_buf q;
	util_buf_init(&q, 1024);
	util_buf_adds(&q, "SELECT cert FROM cert WHERE cert = ");
	ch_sql_fixed(&q, rb, 33);
	if (hlen == 32) {
		/* the SHA-1 reference of a row that knows both wins (the least):
		 * cert_alias's, a point read by its key (not cert's sha256
		 * column, which no key orders: a read of every row); a plain IN,
		 * as ch_where_cert says why */
		util_buf_printf(&q, " OR cert IN (SELECT cert FROM %s.cert_alias WHERE alias = ",
		                store_ch_db(c));
		ch_sql_fixed(&q, rb, 33);
		util_buf_adds(&q, ")");
	}
	util_buf_adds(&q, " GROUP BY cert ORDER BY cert LIMIT 1");
	struct store_cert_ref found = {0};
	int err = refs_query(c, &q, false, NULL, first_ref, &found);
	util_buf_free(&q);
	if (err == 0 && found.kind == 0) {
		store_set_error("clickhouse: no such certificate");
		return STORE_ENOTFOUND;
	}
	if (err == 0)
		*ref = found;
	return err;
}
