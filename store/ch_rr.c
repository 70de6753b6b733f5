/*
 * ch_rr.c - resolutions in ClickHouse: DNS observations written as
 * RowBinary rows into rr_in (a Distributed table over Null tables whose
 * materialized views fill rr, rr_addr, rr_target and the prevalence
 * tables; store/clickhouse/schema.sql), and a name's resolutions read
 * back with -Merge and GROUP BY, so the answer is final before
 * background merges run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

/* ---- RowBinary out: little-endian integers, strings with a LEB128 length */

void ch_rb_uint(struct util_buf *b, uint64_t v, size_t bytes)
{
	uint8_t p[8];
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	util_buf_add(b, p, bytes);
}

void ch_rb_varint(struct util_buf *b, uint64_t v)
{
	uint8_t p[10];
	size_t k = 0;
	do {
		p[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	util_buf_add(b, p, k);
}

void ch_rb_bytes(struct util_buf *b, const void *s, size_t n)
{
	ch_rb_varint(b, n);
	util_buf_add(b, s, n);
}

void ch_rb_str(struct util_buf *b, const char *s)
{
	ch_rb_bytes(b, s, strlen(s));
}

/* name with its labels reversed ("www.example.com" -> "com.example.www")
 * into out[STORE_NAME_BUF]; "" stays "". */
void ch_name_rev(const char *name, char *out)
{
	size_t n = strlen(name), o = 0;
	size_t end = n;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		memcpy(out + o, name + start, end - start);
		o += end - start;
		if (start > 0)
			out[o++] = '.';
		end = start > 0 ? start - 1 : 0;
	}
	out[o] = '\0';
}

/* The host name an rdata points at, after the numbers MX (1) and SRV (3)
 * carry; NULL for types without one, or the root. */
static const char *rdata_host(uint16_t type, const char *rdata)
{
	if (!store_rrtype_has_target(type))
		return NULL;
	unsigned numbers = type == STORE_RR_MX ? 1 : type == STORE_RR_SRV ? 3 : 0;
	const char *p = rdata;
	while (numbers-- > 0 && p != NULL) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	return p == NULL || *p == '\0' || strcmp(p, ".") == 0 ? NULL : p;
}

uint32_t ch_clamp_u32(int64_t t)
{
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void ch_rr_row(struct util_buf *b, const struct store_obs *o, uint64_t token)
{
	char rev[STORE_NAME_BUF], text[STORE_RDATA_MAX + STORE_ADDR_BUF], trev[STORE_NAME_BUF] = "";
	static const uint8_t zero[16];
	bool isaddr = o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA;
	ch_name_rev(o->dns.rrname, rev);
	if (isaddr)
		store_addr_format(o->dns.addr, text);
	else
		memcpy(text, o->dns.rdata, strlen(o->dns.rdata) + 1);
	const char *host = isaddr ? NULL : rdata_host(o->dns.rrtype, text);
	if (host != NULL)
		ch_name_rev(host, trev);
	ch_rb_uint(b, token, 8);
	ch_rb_str(b, rev);
	ch_rb_str(b, o->dns.rrname);
	ch_rb_uint(b, o->dns.rrtype, 2);
	ch_rb_str(b, text);
	util_buf_add(b, isaddr ? o->dns.addr : zero, 16);
	ch_rb_str(b, trev);
	ch_rb_str(b, o->dns.bailiwick);
	ch_rb_uint(b, ch_clamp_u32(o->time_first), 4);
	ch_rb_uint(b, ch_clamp_u32(o->time_last), 4);
	ch_rb_uint(b, o->count, 8);
	ch_rb_str(b, o->sensor);
}

uint64_t store_ch_token(void)
{
	uint64_t t = 0;
	while (t == 0) {
		if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t))
			t = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	}
	return t;
}

int ch_insert_retried(store_ch_t *c, const char *sql, const struct util_buf *body)
{
	struct util_buf *cap = ch_capture(c, NULL);
	ch_capture(c, cap);
	if (cap != NULL)
		return ch_intent_add(cap, sql, body->p, body->len);
	int err = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0) {
			/* give a restarting replica or ZooKeeper session a moment */
			struct timespec ts = {0, 200000000L * attempt};
			nanosleep(&ts, NULL);
		}
		err = store_ch_exec(c, sql, body->p, body->len, "insert_distributed_sync=1", NULL);
		if (err != STORE_EREMOTE)
			break;
	}
	return err;
}

int store_ch_write(store_ch_t *c, const struct store_obs *obs, size_t n, uint64_t token,
                   size_t *skipped)
{
	struct util_buf b;
	size_t rows = 0, skip = 0;
	size_t certs = 0;
	int err = 0;
	util_buf_init(&b, n * CH_RR_ROW_MAX + 64);
	for (size_t i = 0; i < n; i++) {
		/* certificates: ch_cert.c (ch_cert_write below); one without
		 * a hash fails the batch before anything is sent */
		if (obs[i].kind == STORE_OBS_CERT && (err = ch_cert_check(&obs[i])) != 0)
			break;
		if (obs[i].kind == STORE_OBS_CERT)
			certs++;
		else if (obs[i].kind != STORE_OBS_DNS)
			skip++;
		if (obs[i].kind != STORE_OBS_DNS)
			continue;
		ch_rr_row(&b, &obs[i], token);
		rows++;
	}
	if (err == 0)
		err = b.err;
	if (err == 0 && rows > 0)
		err = ch_insert_retried(c, "INSERT INTO rr_in FORMAT RowBinary", &b);
	util_buf_free(&b);
	if (err == 0 && certs > 0)
		err = ch_cert_write(c, obs, n, token);
	if (skipped != NULL)
		*skipped = skip;
	return err;
}

/* ---- RowBinary in ------------------------------------------------------- */

uint64_t ch_rd_uint(struct ch_rb_in *r, size_t bytes)
{
	uint64_t v = 0;
	if ((size_t)(r->end - r->p) < bytes) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	return v;
}

uint64_t ch_rd_varint(struct ch_rb_in *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			break;
		uint8_t x = *r->p++;
		v |= (uint64_t)(x & 0x7f) << shift;
		if (!(x & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

/* A String copied NUL-terminated into out[cap]; longer is corrupt. */
void ch_rd_str(struct ch_rb_in *r, char *out, size_t cap)
{
	uint64_t n = ch_rd_varint(r);
	if (r->bad || n >= cap || n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
}

void ch_rd_fixed(struct ch_rb_in *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An Array(String) of names (sensors, SNIs): the smallest keep of them,
 * sorted (so the answer does not depend on the order merges met them),
 * copied into store[keep][each] with ptrs to them, the rest counted;
 * empty strings (no sensor) are left out. */
void ch_rd_names(struct ch_rb_in *r, size_t each, unsigned keep, char *store, const char **ptrs,
                 unsigned *n_out, unsigned *more)
{
	uint64_t n = ch_rd_varint(r);
	char *all = n > 0 && n < 65536 ? calloc(n, each) : NULL;
	const char **ptr = all ? calloc(n, sizeof(*ptr)) : NULL;
	*n_out = *more = 0;
	if (n > 0 && ptr == NULL) {
		r->bad = true; /* out of memory or absurd: the caller reports corrupt */
		free(all);
		return;
	}
	uint64_t m = 0;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		ch_rd_str(r, all + i * each, each);
		if (all[i * each] != '\0')
			ptr[m++] = all + i * each;
	}
	if (!r->bad && m > 0)
		qsort(ptr, m, sizeof(*ptr), cmp_str);
	unsigned kept = m > keep ? keep : (unsigned)m;
	for (unsigned i = 0; i < kept && !r->bad; i++) {
		memcpy(store + i * each, ptr[i], strlen(ptr[i]) + 1);
		ptrs[i] = store + i * each;
	}
	*n_out = r->bad ? 0 : kept;
	*more = r->bad ? 0 : (unsigned)(m - kept);
	free(ptr);
	free(all);
}

/* One row of the by-name query (its SELECT list, in order). */
void ch_rd_rr(struct ch_rb_in *r, struct ch_rr_row *row)
{
	memset(&row->rr, 0, sizeof(row->rr));
	ch_rd_str(r, row->rrname, sizeof(row->rrname));
	row->rr.rrtype = (uint16_t)ch_rd_uint(r, 2);
	ch_rd_str(r, row->rdata, sizeof(row->rdata));
	ch_rd_fixed(r, row->rr.addr, 16);
	row->rr.time_first = (int64_t)ch_rd_uint(r, 4);
	row->rr.time_last = (int64_t)ch_rd_uint(r, 4);
	row->rr.count = ch_rd_uint(r, 8);
	ch_rd_names(r, STORE_SENSOR_MAX, STORE_SENSORS_KEPT, row->sensors[0], row->rr.sensors,
	            &row->rr.nsensors, &row->rr.sensors_more);
	ch_rd_str(r, row->bailiwick, sizeof(row->bailiwick));
	row->rr.rrname = row->rrname;
	row->rr.rdata = row->rdata;
	row->rr.bailiwick = row->bailiwick;
}

#define RR_SELECT                                                                                  \
	"SELECT rrname, rrtype, rdata, any(addr) AS a, minMerge(tf), maxMerge(tl), "               \
	"sumMerge(cnt), "                                                                          \
	"groupUniqArrayMerge(sensors), maxMerge(bailiwick) FROM rr WHERE "
/* in the LMDB store's order: its NAMEKEY ends each label with 0x00,
 * which sorts "a.x" before "a-b" where rname's '.' would not */
#define RR_NAMEKEY "replaceAll(rname, '.', '\\0')"
#define RR_GROUP " GROUP BY rname, rrname, rrtype, rdata ORDER BY " RR_NAMEKEY ", rrtype, a, rdata"

/* The WHERE clause of a name or "*.zone" (normalised: [a-z0-9_.-] only,
 * so it needs no quoting); the zone is one range of the ORDER BY key. */
static void where_name(struct util_buf *q, const char *pattern, uint16_t rrtype)
{
	char rev[STORE_NAME_BUF];
	bool zone = pattern[0] == '*';
	ch_name_rev(zone ? pattern + 2 : pattern, rev);
	if (zone)
		util_buf_printf(q, "rname > '%s.' AND rname < '%s/'", rev, rev);
	else
		util_buf_printf(q, "rname = '%s'", rev);
	if (rrtype != 0)
		util_buf_printf(q, " AND rrtype = %u", rrtype);
}

int ch_corrupt(void)
{
	store_set_error("clickhouse: a RowBinary row that does not decode");
	return STORE_ECORRUPT;
}

static int emit_rows(const struct util_buf *resp, const struct store_fence *f, store_rr_cb cb,
                     void *ctx)
{
	struct ch_rb_in r = {(const uint8_t *)resp->p, (const uint8_t *)resp->p + resp->len, false};
	struct ch_rr_row *row = malloc(sizeof(*row));
	int ret = row ? 0 : -ENOMEM;
	while (ret == 0 && r.p < r.end) {
		ch_rd_rr(&r, row);
		if (r.bad)
			ret = ch_corrupt();
		else if (store_fence_match(f, row->rr.time_first, row->rr.time_last))
			ret = cb(&row->rr, ctx);
	}
	free(row);
	return ret == STORE_STOP ? 0 : ret;
}

/* Run a query whose rows are ch_rd_rr's, the fence applied to each. */
int ch_rr_query(store_ch_t *c, struct util_buf *q, const struct store_fence *f, store_rr_cb cb,
                void *ctx)
{
	struct util_buf resp;
	int err = ch_query(c, q, &resp);
	if (err == 0)
		err = emit_rows(&resp, f, cb, ctx);
	util_buf_free(&resp);
	return err;
}

int ch_query(store_ch_t *c, struct util_buf *q, struct util_buf *resp)
{
	util_buf_init(resp, STORE_CH_RESPONSE_MAX);
	util_buf_adds(q, CH_ROWBINARY);
	int err = q->err;
	if (err == 0 && ch_ahead_answer(c, q->p, resp))
		return 0;
	if (err == 0)
		err = store_ch_exec(c, q->p, NULL, 0, CH_READ_SETTINGS, resp);
	return err;
}

/* A right-hand wildcard "head.*" (normalised): the names whose labels
 * begin with head's and go on, in the LMDB forward index's order (FWDKEY:
 * each label ended by 0x00), then each name's records as an exact lookup
 * gives them.  No index serves it: the rr table is read whole. */
static void rhs_query(struct util_buf *q, const char *pattern, uint16_t rrtype)
{
	size_t hl = strlen(pattern) - 1; /* "head." */
	util_buf_adds(q, RR_SELECT);
	util_buf_printf(q, "substring(rrname, 1, %zu) = '%.*s'", hl, (int)hl, pattern);
	if (rrtype != 0)
		util_buf_printf(q, " AND rrtype = %u", rrtype);
	util_buf_adds(q, " GROUP BY rname, rrname, rrtype, rdata ORDER BY " CH_NAMEKEY(
	                     "rrname") ", rrtype, a, rdata");
}

int store_ch_rr_by_name(store_ch_t *c, const char *name, uint16_t rrtype,
                        const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	char pattern[STORE_NAME_BUF];
	int err = store_name_pattern(name, strlen(name), pattern);
	if (err != 0)
		return err;
	struct util_buf q;
	util_buf_init(&q, 4096);
	if (store_name_is_rhs(pattern)) {
		rhs_query(&q, pattern, rrtype);
	} else {
		util_buf_adds(&q, RR_SELECT);
		where_name(&q, pattern, rrtype);
		util_buf_adds(&q, RR_GROUP);
	}
	err = ch_rr_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}

void ch_sql_fixed(struct util_buf *q, const uint8_t *a, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[4] = {'\\', 'x', 0, 0};
	util_buf_adds(q, "'");
	for (size_t i = 0; i < n; i++) {
		esc[2] = hex[a[i] >> 4];
		esc[3] = hex[a[i] & 15];
		util_buf_add(q, esc, sizeof(esc));
	}
	util_buf_adds(q, "'");
}

void ch_sql_fixed_col(struct util_buf *q, const uint8_t *a, size_t n)
{
	util_buf_adds(q, "toFixedString(unhex('");
	for (size_t i = 0; i < n; i++)
		util_buf_printf(q, "%02X", a[i]);
	util_buf_printf(q, "'), %zu)", n);
}

void ch_where_prefix(struct util_buf *q, const char *col, const uint8_t addr[16], unsigned plen)
{
	uint8_t lo[16], hi[16];
	store_prefix_bounds(addr, plen, lo, hi);
	util_buf_printf(q, "%s >= ", col);
	ch_sql_fixed(q, lo, 16);
	util_buf_printf(q, " AND %s <= ", col);
	ch_sql_fixed(q, hi, 16);
}

int store_ch_rr_by_addr(store_ch_t *c, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	if (plen > 128)
		return STORE_EBADADDR;
	struct util_buf q;
	util_buf_init(&q, 4096);
	/* rr_addr's key (addr, rname, rrtype): the prefix is one range */
	util_buf_adds(&q, "SELECT rrname, rrtype, any(rdata), addr, minMerge(tf), maxMerge(tl), "
	                  "sumMerge(cnt), groupUniqArrayMerge(sensors), maxMerge(bailiwick) "
	                  "FROM rr_addr WHERE ");
	ch_where_prefix(&q, "addr", addr, plen);
	util_buf_adds(&q, " GROUP BY addr, rname, rrname, rrtype ORDER BY addr, " CH_NAMEKEY(
	                      "rname") ", rrtype");
	int err = ch_rr_query(c, &q, f, cb, ctx);
	util_buf_free(&q);
	return err;
}
