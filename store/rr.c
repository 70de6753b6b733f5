/*
 * rr.c - DNS resolutions: the rr table, the address and target indexes,
 * the per-name prevalence counter, and the lookups over them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/store_internal.h"

int namekey_enc(const char *name, uint8_t *out)
{
	size_t len = strlen(name);
	if (len == 0 || len > 253)
		return STORE_EBADNAME;
	size_t o = 0;
	size_t end = len;
	/* walk labels right to left */
	while (end > 0) {
		size_t start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		size_t ll = end - start;
		if (ll == 0)
			return STORE_EBADNAME;
		memcpy(out + o, name + start, ll);
		o += ll;
		out[o++] = 0;
		end = start > 0 ? start - 1 : 0;
		if (start == 0)
			break;
	}
	out[o++] = 0;
	return (int)o;
}

int namekey_dec(const uint8_t *buf, size_t len, char *name)
{
	/* collect label offsets, then write them in reverse */
	size_t offs[128];
	size_t lens[128];
	unsigned n = 0;
	size_t i = 0;
	while (i < len && buf[i] != 0) {
		if (n == 128)
			return STORE_ECORRUPT;
		offs[n] = i;
		while (i < len && buf[i] != 0)
			i++;
		if (i >= len)
			return STORE_ECORRUPT;
		lens[n] = i - offs[n];
		n++;
		i++;
	}
	if (i >= len || n == 0)
		return STORE_ECORRUPT;
	size_t o = 0;
	for (unsigned k = n; k-- > 0;) {
		if (o + lens[k] + 1 >= STORE_NAME_BUF)
			return STORE_ECORRUPT;
		memcpy(name + o, buf + offs[k], lens[k]);
		o += lens[k];
		if (k > 0)
			name[o++] = '.';
	}
	name[o] = '\0';
	return (int)(i + 1);
}

/* RRVAL layout, see schema.h */
struct rrval {
	uint32_t tf, tl;
	uint64_t count;
	unsigned nsens, more;
	uint16_t sens[STORE_SENSORS_KEPT];
	uint8_t bail[SCHEMA_NAMEKEY_MAX];
	unsigned bail_len;
};

/* RRVAL (schema.h): u32 time_first, varint time_last - time_first,
 * varint count, u8 flags (bits 0-4 sensors kept, 0x20 bailiwick, 0x40
 * sensors_more), [varint sensors_more], varint sensor ids, [u8 len,
 * bailiwick NAMEKEY].  Typically 10-15 bytes. */
enum { RV_BAIL = 0x20, RV_MORE = 0x40 };

static int rrval_dec(const MDB_val *v, struct rrval *r)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	uint64_t x;
	if (v->mv_size < 7)
		return STORE_ECORRUPT;
	memcpy(&r->tf, p, 4);
	p += 4;
	if (varint_get(&p, end, &x) != 0 || x > UINT32_MAX - r->tf)
		return STORE_ECORRUPT;
	r->tl = r->tf + (uint32_t)x;
	if (varint_get(&p, end, &r->count) != 0 || p >= end)
		return STORE_ECORRUPT;
	uint8_t flags = *p++;
	r->nsens = flags & 0x1f;
	r->more = 0;
	if (r->nsens > STORE_SENSORS_KEPT)
		return STORE_ECORRUPT;
	if (flags & RV_MORE) {
		if (varint_get(&p, end, &x) != 0)
			return STORE_ECORRUPT;
		r->more = (unsigned)(x > 0xffff ? 0xffff : x);
	}
	for (unsigned i = 0; i < r->nsens; i++) {
		if (varint_get(&p, end, &x) != 0 || x > 0xffff)
			return STORE_ECORRUPT;
		r->sens[i] = (uint16_t)x;
	}
	r->bail_len = 0;
	if (flags & RV_BAIL) {
		if (p >= end || p + 1 + p[0] > end)
			return STORE_ECORRUPT;
		r->bail_len = p[0];
		memcpy(r->bail, p + 1, r->bail_len);
	}
	return 0;
}

/* p must hold RRVAL_MAX bytes. */
#define RRVAL_MAX (4 + 10 + 10 + 1 + 3 + 3 * STORE_SENSORS_KEPT + 1 + SCHEMA_NAMEKEY_MAX)
static size_t rrval_enc(const struct rrval *r, uint8_t *p)
{
	uint8_t *o = p;
	memcpy(o, &r->tf, 4);
	o += 4;
	o = varint_put(o, r->tl - r->tf);
	o = varint_put(o, r->count);
	*o++ = (uint8_t)(r->nsens | (r->bail_len > 0 ? RV_BAIL : 0) | (r->more > 0 ? RV_MORE : 0));
	if (r->more > 0)
		o = varint_put(o, r->more);
	for (unsigned i = 0; i < r->nsens; i++)
		o = varint_put(o, r->sens[i]);
	if (r->bail_len > 0) {
		*o++ = (uint8_t)r->bail_len;
		memcpy(o, r->bail, r->bail_len);
		o += r->bail_len;
	}
	return (size_t)(o - p);
}

/* The rdata of an A record is its 4 IPv4 octets, of an AAAA record all
 * 16 (schema.h); 0 for other types. */
static size_t rdata_addr_len(uint16_t type)
{
	return type == STORE_RR_A ? 4 : type == STORE_RR_AAAA ? 16 : 0;
}

/* Rebuild the 16-byte address of an A/AAAA rdata; false for other types
 * or a length that does not fit the type. */
static bool rdata_addr_dec(uint16_t type, const uint8_t *rd, size_t rdl, uint8_t ip[16])
{
	size_t al = rdata_addr_len(type);
	if (al == 0 || rdl != al)
		return false;
	memset(ip, 0, 16);
	if (al == 4) {
		ip[10] = ip[11] = 0xff;
	}
	memcpy(ip + 16 - al, rd, al);
	return true;
}

/* The name an rdata text points at (CNAME/NS/PTR/DNAME: all of it;
 * MX: after the preference; SRV: after three numbers). */
static const char *rdata_target(uint16_t type, const char *rdata)
{
	int skip = type == STORE_RR_MX ? 1 : type == STORE_RR_SRV ? 3 : 0;
	const char *p = rdata;
	for (int i = 0; i < skip; i++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return NULL;
		p++;
	}
	if (*p == '\0' || strcmp(p, ".") == 0)
		return NULL;
	return p;
}

/* A/AAAA records of a name (NAMEKEY nk bytes), counted up to limit. */
static uint64_t count_addr_rr(MDB_txn *txn, MDB_dbi dbi, const uint8_t *nk, size_t nklen,
                              uint64_t limit)
{
	uint64_t n = 0;
	uint16_t types[2] = {STORE_RR_A, STORE_RR_AAAA};
	for (int t = 0; t < 2 && n < limit; t++) {
		uint8_t pfx[SCHEMA_NAMEKEY_MAX + 2];
		memcpy(pfx, nk, nklen);
		util_be16_store(pfx + nklen, types[t]);
		struct scan sc;
		SCAN_PREFIX(&sc, txn, dbi, pfx, nklen + 2, nklen + 2)
		{
			if (n >= limit || sc.k.mv_size != nklen + 2 + rdata_addr_len(types[t]))
				break;
			n++;
		}
		scan_end(&sc, 0, "count");
	}
	return n;
}

/* Distinct IPs per name: the counter exists only from two addresses on
 * (most names have one, and a counter for each would cost more than
 * the rr record); below that the rr records themselves are counted. */
static void name_ips_add(struct store_wtxn *w, const uint8_t *pk, size_t pklen, uint32_t add)
{
	MDB_val k = {pklen, (void *)pk};
	MDB_val v;
	uint32_t n = 0;
	if (w_get(w, DB_PREV, &k, &v) == 0 && v.mv_size == 4) {
		memcpy(&n, v.mv_data, 4);
		n += add;
	} else {
		if (w->err)
			return;
		/* absent: the name had at most one address before this batch,
		 * and its new records are already in rr */
		n = (uint32_t)count_addr_rr(w->txn, w->s->dbi[DB_RR], pk + 1, pklen - 1,
		                            (uint64_t)add + 2);
		if (n < 2)
			return;
	}
	MDB_val nv = {4, &n};
	w_put(w, DB_PREV, &k, &nv, 0);
}

int rr_key(const struct store_obs *o, uint8_t *key, uint16_t *nkp)
{
	int nk = namekey_enc(o->dns.rrname, key);
	if (nk < 0)
		return nk;
	size_t klen = (size_t)nk;
	util_be16_store(key + klen, o->dns.rrtype);
	klen += 2;
	if (o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA) {
		/* as ingest has it: an A record holds IPv4, an AAAA record not
		 * a v4-mapped address, so an address implies its type */
		if ((o->dns.rrtype == STORE_RR_A) != store_addr_is_v4(o->dns.addr))
			return STORE_EBADADDR;
		size_t al = rdata_addr_len(o->dns.rrtype);
		memcpy(key + klen, o->dns.addr + 16 - al, al);
		klen += al;
	} else {
		size_t rl = strnlen(o->dns.rdata, sizeof(o->dns.rdata));
		if (rl == 0 || klen + rl > SCHEMA_KEY_MAX)
			return STORE_ETOOLONG;
		memcpy(key + klen, o->dns.rdata, rl);
		klen += rl;
	}
	*nkp = (uint16_t)nk;
	return (int)klen;
}

void rr_rec_obs(const struct store_batch *b, const struct brec *r, struct store_obs *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_DNS;
	o->time_first = r->tf;
	o->time_last = r->tl;
	o->count = r->count;
	if (r->sensor)
		memcpy(o->sensor, b->sensors[r->sensor - 1], STORE_SENSOR_MAX);
	namekey_dec(r->key, r->nk, o->dns.rrname);
	o->dns.rrtype = util_be16_load(r->key + r->nk);
	const uint8_t *rd = r->key + r->nk + 2;
	size_t rdl = r->klen - r->nk - 2u;
	if (rdata_addr_dec(o->dns.rrtype, rd, rdl, o->dns.addr)) {
		/* done */
	} else if (rdl < sizeof(o->dns.rdata)) {
		memcpy(o->dns.rdata, rd, rdl);
		o->dns.rdata[rdl] = '\0';
	}
	if (r->bail_len > 0)
		namekey_dec(r->key + r->klen, r->bail_len, o->dns.bailiwick);
}

/* A record of one of several batches merged together. */
struct bref {
	const struct brec *r;
	uint32_t bi; /* index of its batch: earlier batches merge first */
};

static int cmp_brec(const void *a, const void *b)
{
	const struct bref *xr = a, *yr = b;
	const struct brec *x = xr->r, *y = yr->r;
	size_t l = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, l);
	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	if (xr->bi != yr->bi)
		return xr->bi < yr->bi ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Index work collected while merging, applied in key order afterwards:
 * entries { u8 db, u8 klen, u16 vlen, key, val } packed in one buffer. */
struct workbuf {
	uint8_t *buf;
	size_t len, cap;
	size_t *offs;
	size_t n;
};

static uint8_t *work_add(struct workbuf *wb, uint8_t db, size_t klen, size_t vlen)
{
	size_t need = 4 + klen + vlen;
	if (wb->len + need > wb->cap) {
		size_t nc = wb->cap ? wb->cap * 2 : 1 << 16;
		while (nc < wb->len + need)
			nc *= 2;
		uint8_t *nb = realloc(wb->buf, nc);
		if (nb == NULL)
			return NULL;
		wb->buf = nb;
		wb->cap = nc;
	}
	uint8_t *p = wb->buf + wb->len;
	p[0] = db;
	p[1] = (uint8_t)klen;
	uint16_t vl = (uint16_t)vlen;
	memcpy(p + 2, &vl, 2);
	wb->offs[wb->n++] = wb->len;
	wb->len += need;
	return p + 4;
}

static int cmp_work(const void *a, const void *b, void *ctx)
{
	const uint8_t *base = ctx;
	const uint8_t *x = base + *(const size_t *)a, *y = base + *(const size_t *)b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	uint16_t xv, yv;
	memcpy(&xv, x + 2, 2);
	memcpy(&yv, y + 2, 2);
	size_t xl = (size_t)x[1] + xv, yl = (size_t)y[1] + yv;
	if (x[1] != y[1]) {
		size_t l = x[1] < y[1] ? x[1] : y[1];
		int c = memcmp(x + 4, y + 4, l);
		return c != 0 ? c : (x[1] < y[1] ? -1 : 1);
	}
	size_t l = xl < yl ? xl : yl;
	int c = memcmp(x + 4, y + 4, l);
	return c != 0 ? c : (xl > yl) - (xl < yl);
}

/* New addresses per name, flushed into the name's prevalence counter
 * when the name changes (records come in key order). */
struct name_prev {
	uint8_t name[1 + SCHEMA_NAMEKEY_MAX];
	size_t len;
	uint32_t add;
};

static void prev_flush(struct store_wtxn *w, struct name_prev *p)
{
	if (p->add > 0)
		name_ips_add(w, p->name, p->len, p->add);
	p->add = 0;
}

static void prev_count(struct store_wtxn *w, struct name_prev *p, const struct brec *rk)
{
	if (p->len != (size_t)rk->nk + 1 || memcmp(p->name + 1, rk->key, rk->nk) != 0) {
		prev_flush(w, p);
		p->name[0] = 'N';
		memcpy(p->name + 1, rk->key, rk->nk);
		p->len = (size_t)rk->nk + 1;
	}
	p->add++;
}

/* The state of merging the DNS records of several batches. */
struct rr_merge {
	struct bref *order; /* every record, sorted by key (cmp_brec) */
	size_t n;
	uint16_t *sid; /* per batch, the sensor id of each of its sensor slots */
	struct workbuf wb;
	struct name_prev prev;
};

#define SID_STRIDE (BATCH_SENSORS + 1)

/* Collect and sort the records of nb batches.  Returns 0 or -ENOMEM. */
static int merge_sort(store_batch_t *const *bs, size_t nb, struct rr_merge *m)
{
	m->order = malloc(m->n * sizeof(*m->order));
	/* a new record queues at most 3 index items (index_new) */
	m->wb.offs = malloc(3 * m->n * sizeof(size_t));
	m->sid = calloc(nb * SID_STRIDE, sizeof(*m->sid));
	if (m->order == NULL || m->wb.offs == NULL || m->sid == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < nb; i++) {
		const struct store_batch *b = bs[i];
		for (size_t j = 0; j < b->nrecs; j++)
			m->order[n++] = (struct bref){(const struct brec *)(b->arena + b->recs[j]),
			                              (uint32_t)i};
	}
	qsort(m->order, n, sizeof(*m->order), cmp_brec);
	return 0;
}

/* Give the sensors of nb batches their ids, in w's transaction.  Returns
 * 0 (LMDB failures in w->err) or STORE_ELIMIT. */
static int merge_sids(struct store_wtxn *w, store_batch_t *const *bs, size_t nb, struct rr_merge *m)
{
	for (size_t i = 0; i < nb; i++)
		for (unsigned j = 0; j < bs[i]->nsensors; j++) {
			if (sensor_id(w, bs[i]->sensors[j], &m->sid[i * SID_STRIDE + j + 1]) != 0)
				return w->err == 0 ? STORE_ELIMIT : 0;
		}
	return 0;
}

/* Merge the records order[a..e) (one rr key) into r; fresh: r holds
 * nothing yet. */
static void rrval_merge_recs(struct rrval *r, bool fresh, const struct rr_merge *m, size_t a,
                             size_t e)
{
	for (size_t g = a; g < e; g++) {
		const struct brec *o = m->order[g].r;
		const uint16_t *bsid = m->sid + (size_t)m->order[g].bi * SID_STRIDE;
		if (fresh && g == a) {
			memset(r, 0, sizeof(*r));
			r->tf = o->tf;
			r->tl = o->tl;
			r->count = o->count;
		} else {
			seen_merge(&r->tf, &r->tl, &r->count, o->tf, o->tl, o->count);
		}
		if (o->sensor)
			sensors_merge(r->sens, &r->nsens, &r->more, bsid[o->sensor]);
		if (o->bail_len > 0 && r->bail_len == 0) {
			memcpy(r->bail, o->key + o->klen, o->bail_len);
			r->bail_len = o->bail_len;
		}
	}
}

/* Queue the forward index item of a name (fwd.c); repeats of it within a
 * batch are dropped when the work is applied. */
static int index_fwd(struct rr_merge *m, const char *name, uint8_t kind)
{
	uint8_t fk[SCHEMA_NAMEKEY_MAX];
	int fl = fwdkey_enc(name, fk);
	if (fl <= 0)
		return 0;
	uint8_t *p = work_add(&m->wb, DB_FWD, (size_t)fl, 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, fk, (size_t)fl);
	p[fl] = kind;
	return 0;
}

/* Queue the target index item of a new record whose rdata names a host. */
static int index_target(struct rr_merge *m, const struct brec *rk, uint16_t type, const uint8_t *rd,
                        size_t rdl)
{
	char rdata[STORE_RDATA_MAX];
	memcpy(rdata, rd, rdl);
	rdata[rdl] = '\0';
	const char *t = rdata_target(type, rdata);
	uint8_t tk[SCHEMA_NAMEKEY_MAX];
	int tl = t ? namekey_enc(t, tk) : -1;
	if (tl <= 0)
		return 0;
	uint8_t *p = work_add(&m->wb, DB_TARGET, (size_t)tl, 2u + rk->nk);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, tk, (size_t)tl);
	util_be16_store(p + tl, type);
	memcpy(p + tl + 2, rk->key, rk->nk);
	return index_fwd(m, t, FWD_TARGET);
}

/* Queue the index work of a new record: its owner goes into fwd, an
 * address into addr (and counts for its name's prevalence), a name in the
 * rdata into target and fwd. */
static int index_new(struct store_wtxn *w, struct rr_merge *m, const struct brec *rk)
{
	uint16_t type = util_be16_load(rk->key + rk->nk);
	const uint8_t *rd = rk->key + rk->nk + 2;
	size_t rdl = rk->klen - rk->nk - 2u;
	uint8_t ip[16];
	char owner[STORE_NAME_BUF];
	if (namekey_dec(rk->key, rk->nk, owner) > 0 && index_fwd(m, owner, FWD_OWNER) != 0)
		return -ENOMEM;
	if (rdata_addr_dec(type, rd, rdl, ip)) {
		uint8_t *p = work_add(&m->wb, DB_ADDR, 16, rk->nk);
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, ip, 16);
		memcpy(p + 16, rk->key, rk->nk);
		prev_count(w, &m->prev, rk);
		return 0;
	}
	if (store_rrtype_has_target(type) && rdl < STORE_RDATA_MAX)
		return index_target(m, rk, type, rd, rdl);
	return 0;
}

/* Merge the records order[a..e), which share one rr key, into the rr
 * table.  Returns 0 (LMDB failures in w->err) or a store error. */
static int merge_key(struct store_wtxn *w, struct rr_merge *m, size_t a, size_t e)
{
	const struct brec *rk = m->order[a].r;
	MDB_val key = {rk->klen, (void *)rk->key};
	MDB_val v;
	struct rrval r;
	bool fresh = w_get(w, DB_RR, &key, &v) != 0;
	if (w->err != 0)
		return 0;
	if (!fresh && rrval_dec(&v, &r) != 0)
		return STORE_ECORRUPT;
	rrval_merge_recs(&r, fresh, m, a, e);
	uint8_t vb[RRVAL_MAX];
	MDB_val nv = {rrval_enc(&r, vb), vb};
	w_put(w, DB_RR, &key, &nv, 0);
	w->st->dns_merged += e - a - (fresh ? 1 : 0);
	if (!fresh)
		return 0;
	w->st->dns_new++;
	return index_new(w, m, rk);
}

/* The address, target and forward indexes, each in key order; an item
 * equal to the one before it (a name of many new records) is put once. */
static void work_apply(struct store_wtxn *w, struct workbuf *wb)
{
	qsort_r(wb->offs, wb->n, sizeof(size_t), cmp_work, wb->buf);
	for (size_t i = 0; i < wb->n && w->err == 0; i++) {
		if (i > 0 && cmp_work(&wb->offs[i - 1], &wb->offs[i], wb->buf) == 0)
			continue;
		uint8_t *p = wb->buf + wb->offs[i];
		uint16_t vl;
		memcpy(&vl, p + 2, 2);
		MDB_val ik = {p[1], p + 4};
		MDB_val iv = {vl, p + 4 + p[1]};
		w_put(w, p[0], &ik, &iv, MDB_NODUPDATA);
	}
}

/* What a slice of a merge table may dirty, and what it is expected to:
 * the walk of n sorted records over an rr tree of L pages touches
 * L (1 - e^(-n/L)) of them, in key order, so a slice of r of the records
 * about r/n of that; its new records touch the address, forward and
 * target indexes at random, and make new pages (FLUSH_NEW_BYTES each). */
struct slice_est {
	double max_pages, used; /* used: the estimate for what was merged */
	double rr_per_rec;      /* rr pages a record of the walk touches */
	double idx_pages;       /* pages of addr, fwd and target */
};

static double slice_pages(const struct slice_est *e, size_t recs, uint64_t fresh)
{
	return (double)recs * e->rr_per_rec +
	       store_touched_pages(e->idx_pages, 2.0 * (double)fresh) +
	       (double)fresh * (FLUSH_NEW_BYTES / 4096);
}

/* Merge the key groups from order[a] on into rr and queue their index
 * work, until e's estimate of the dirty pages is reached (at least one
 * group; e NULL: all of them); then put the prevalence counts and the
 * index work.  *end: the record after the last one merged. */
static int merge_walk(struct store_wtxn *w, struct rr_merge *m, size_t a, struct slice_est *e,
                      size_t *end)
{
	int ret = 0;
	size_t from = a;
	uint64_t fresh0 = w->st->dns_new;
	while (a < m->n && w->err == 0 && ret == 0) {
		size_t g = a + 1;
		const struct brec *ra = m->order[a].r;
		while (g < m->n && m->order[g].r->klen == ra->klen &&
		       memcmp(m->order[g].r->key, ra->key, ra->klen) == 0)
			g++;
		ret = merge_key(w, m, a, g);
		a = g;
		if (e == NULL)
			continue;
		e->used = slice_pages(e, a - from, w->st->dns_new - fresh0);
		if (e->used >= e->max_pages)
			break;
	}
	*end = a;
	if (ret != 0 || w->err != 0)
		return ret;
	prev_flush(w, &m->prev);
	work_apply(w, &m->wb);
	return 0;
}

static void merge_free(struct rr_merge *m)
{
	free(m->order);
	free(m->sid);
	free(m->wb.offs);
	free(m->wb.buf);
}

/* Merge every DNS record of nb batches, as if they were one in that
 * order.  Records are sorted by rr key so that repeats of a resolution
 * cost one get and one put, and the B-tree is walked once in key order
 * (far fewer page touches than arrival order, or a walk per batch). */
int rr_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb)
{
	struct rr_merge m = {0};
	for (size_t i = 0; i < nb; i++)
		m.n += bs[i]->nrecs;
	if (m.n == 0)
		return 0;
	int ret = merge_sort(bs, nb, &m);
	if (ret == 0)
		ret = merge_sids(w, bs, nb, &m);
	size_t end;
	if (ret == 0 && w->err == 0)
		ret = merge_walk(w, &m, 0, NULL, &end);
	merge_free(&m);
	return ret;
}

struct rr_slices {
	struct rr_merge m;
	store_batch_t *b;
};

int rr_slices_new(store_batch_t *b, struct rr_slices **out)
{
	struct rr_slices *sl = calloc(1, sizeof(*sl));
	if (sl == NULL)
		return -ENOMEM;
	sl->b = b;
	sl->m.n = b->nrecs;
	int ret = sl->m.n > 0 ? merge_sort(&sl->b, 1, &sl->m) : 0;
	if (ret != 0) {
		rr_slices_free(sl);
		return ret;
	}
	*out = sl;
	return 0;
}

int rr_put_slice(struct store_wtxn *w, struct rr_slices *sl, size_t from, double max_pages,
                 size_t *end, double *used)
{
	struct rr_merge *m = &sl->m;
	struct slice_est e = {.max_pages = max_pages};
	static const int rr_db[] = {DB_RR}, idx_dbs[] = {DB_ADDR, DB_FWD, DB_TARGET};
	double n = (double)m->n;
	e.rr_per_rec = store_touched_pages(store_tree_pages(w->s, w->txn, rr_db, 1), n) / n;
	e.idx_pages = store_tree_pages(w->s, w->txn, idx_dbs, 3);
	/* a slice's own index work and prevalence counts (the transaction
	 * may be a retry of this slice) */
	m->wb.n = m->wb.len = 0;
	memset(&m->prev, 0, sizeof(m->prev));
	int ret = merge_sids(w, &sl->b, 1, m);
	if (ret != 0 || w->err != 0)
		return ret;
	ret = merge_walk(w, m, from, &e, end);
	*used = e.used;
	return ret;
}

size_t rr_slices_len(const struct rr_slices *sl)
{
	return sl->m.n;
}

const struct brec *rr_slices_rec(const struct rr_slices *sl, size_t i)
{
	return sl->m.order[i].r;
}

void rr_slices_free(struct rr_slices *sl)
{
	if (sl == NULL)
		return;
	merge_free(&sl->m);
	free(sl);
}

/* ---- reading ------------------------------------------------------------ */

/* Decode an rr record and hand it to cb. */
static int emit_rr(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, const struct store_fence *f,
                   store_rr_cb cb, void *ctx)
{
	struct rrval rv;
	if (rrval_dec(v, &rv) != 0)
		return STORE_ECORRUPT;
	if (!store_fence_match(f, rv.tf, rv.tl))
		return 0;
	char name[STORE_NAME_BUF];
	const uint8_t *kp = k->mv_data;
	int used = namekey_dec(kp, k->mv_size, name);
	if (used < 0 || (size_t)used + 2 > k->mv_size)
		return STORE_ECORRUPT;
	struct store_rr rr;
	memset(&rr, 0, sizeof(rr));
	rr.rrname = name;
	rr.rrtype = util_be16_load(kp + used);
	const uint8_t *rd = kp + used + 2;
	size_t rdl = k->mv_size - (size_t)used - 2;
	char rdata[STORE_RDATA_MAX + STORE_ADDR_BUF];
	if (rdata_addr_dec(rr.rrtype, rd, rdl, rr.addr)) {
		store_addr_format(rr.addr, rdata);
	} else {
		if (rdl >= sizeof(rdata))
			return STORE_ECORRUPT;
		memcpy(rdata, rd, rdl);
		rdata[rdl] = '\0';
	}
	rr.rdata = rdata;
	rr.time_first = rv.tf;
	rr.time_last = rv.tl;
	rr.count = rv.count;
	char bail[STORE_NAME_BUF] = "";
	if (rv.bail_len > 0 && namekey_dec(rv.bail, rv.bail_len, bail) < 0)
		bail[0] = '\0';
	rr.bailiwick = bail;
	rr.nsensors = rv.nsens;
	for (unsigned i = 0; i < rv.nsens; i++)
		rr.sensors[i] = sensor_name(r->txn, r->s, rv.sens[i]);
	rr.sensors_more = rv.more;
	return cb(&rr, ctx);
}

/* Walk keys with the given prefix; skip_exact skips keys whose byte
 * after the prefix is 0 (the zone itself in a wildcard walk). */
static int walk_prefix(store_rtxn_t *r, int db, const uint8_t *pfx, size_t plen, bool skip_exact,
                       const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[db], pfx, plen, plen)
	{
		const uint8_t *kp = sc.k.mv_data;
		if (skip_exact && sc.k.mv_size > plen && kp[plen] == 0)
			continue;
		ret = emit_rr(r, &sc.k, &sc.v, f, cb, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

/* store_rr_scan's callback with the key of the record it is handed. */
struct scan_ctx {
	store_rr_key_cb cb;
	void *ctx;
	const MDB_val *k;
};

static int scan_cb(const struct store_rr *rr, void *p)
{
	struct scan_ctx *c = p;
	return c->cb(rr, c->k->mv_data, c->k->mv_size, c->ctx);
}

int store_rr_scan(store_rtxn_t *r, const void *after, size_t alen, store_rr_key_cb cb, void *ctx)
{
	STORE_LMDB_ONLY(r->s, "a scan of every resolution");
	struct scan sc;
	struct scan_ctx c = {cb, ctx, &sc.k};
	struct store_fence f;
	store_fence_init(&f);
	int ret = 0;
	SCAN_FOREACH(&sc, r->txn, r->s->dbi[DB_RR], after ? MDB_SET_RANGE : MDB_FIRST, MDB_NEXT,
	             after, alen, 0)
	{
		if (after != NULL && sc.k.mv_size == alen && memcmp(sc.k.mv_data, after, alen) == 0)
			continue;
		ret = emit_rr(r, &sc.k, &sc.v, &f, scan_cb, &c);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "scan"));
}

/* A walk over several names or index items: the caller's fence and
 * callback, and whether the callback asked to stop. */
struct rr_walk {
	const struct store_fence *f;
	store_rr_cb cb;
	void *ctx;
	uint16_t rrtype;
	bool stopped;
};

/* The caller's callback, remembering a STORE_STOP (walk_prefix turns it
 * into 0, and a walk over many names must end there too). */
static int stop_cb(const struct store_rr *rr, void *wctx)
{
	struct rr_walk *rw = wctx;
	int ret = rw->cb(rr, rw->ctx);
	if (ret == STORE_STOP)
		rw->stopped = true;
	return ret;
}

/* The caller's callback for the records of rw->rrtype (0: all). */
static int type_cb(const struct store_rr *rr, void *wctx)
{
	struct rr_walk *rw = wctx;
	if (rw->rrtype != 0 && rr->rrtype != rw->rrtype)
		return 0;
	return rw->cb(rr, rw->ctx);
}

static int by_name_exact(store_rtxn_t *r, const char *name, void *wctx)
{
	struct rr_walk *rw = wctx;
	uint8_t key[SCHEMA_NAMEKEY_MAX + 2];
	int nk = namekey_enc(name, key);
	if (nk < 0)
		return nk;
	size_t plen = (size_t)nk;
	if (rw->rrtype != 0) {
		util_be16_store(key + plen, rw->rrtype);
		plen += 2;
	}
	int ret = walk_prefix(r, DB_RR, key, plen, false, rw->f, stop_cb, rw);
	return ret != 0 ? ret : rw->stopped ? STORE_STOP : 0;
}

int store_rr_by_name(store_rtxn_t *r, const char *name, uint16_t rrtype,
                     const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_name, name, rrtype, f, cb, ctx);
	if (store_name_is_rhs(name)) {
		char head[STORE_NAME_BUF];
		snprintf(head, sizeof(head), "%.*s", (int)strlen(name) - 2, name);
		struct rr_walk rw = {.f = f, .cb = cb, .ctx = ctx, .rrtype = rrtype};
		return fwd_walk(r, head, FWD_OWNER, by_name_exact, &rw);
	}
	uint8_t key[SCHEMA_NAMEKEY_MAX + 2];
	bool wild = name[0] == '*' && name[1] == '.';
	int nk = namekey_enc(wild ? name + 2 : name, key);
	if (nk < 0)
		return nk;
	size_t plen = (size_t)nk;
	if (wild) {
		/* "com\0example\0" without the terminator; the type is not a
		 * prefix of the names under it, so it is a filter */
		struct rr_walk rw = {.f = f, .cb = cb, .ctx = ctx, .rrtype = rrtype};
		return walk_prefix(r, DB_RR, key, plen - 1, true, f, type_cb, &rw);
	}
	if (rrtype != 0) {
		util_be16_store(key + plen, rrtype);
		plen += 2;
	}
	return walk_prefix(r, DB_RR, key, plen, false, f, cb, ctx);
}

/* Fetch one rr record by its full key and emit it. */
static int emit_key(store_rtxn_t *r, const uint8_t *key, size_t klen, const struct store_fence *f,
                    store_rr_cb cb, void *ctx)
{
	MDB_val k = {klen, (void *)key}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_RR], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0; /* index without record: ignore */
	if (rc != 0)
		return store_lmdb_err(rc, "get");
	return emit_rr(r, &k, &v, f, cb, ctx);
}

/* Emit the rr record an addr index item (IP -> owner NAMEKEY) points at. */
static int emit_addr(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *wctx)
{
	const struct rr_walk *rw = wctx;
	uint8_t key[SCHEMA_KEY_MAX];
	if (v->mv_size + 18 > sizeof(key))
		return STORE_ECORRUPT;
	/* an IPv4 address is an A record, any other an AAAA (rr_key) */
	memcpy(key, v->mv_data, v->mv_size);
	uint16_t type = store_addr_is_v4(k->mv_data) ? STORE_RR_A : STORE_RR_AAAA;
	size_t al = rdata_addr_len(type);
	util_be16_store(key + v->mv_size, type);
	memcpy(key + v->mv_size + 2, (const uint8_t *)k->mv_data + 16 - al, al);
	return emit_key(r, key, v->mv_size + 2 + al, rw->f, rw->cb, rw->ctx);
}

int store_rr_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                     const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_addr, addr, plen, f, cb, ctx);
	struct rr_walk rw = {.f = f, .cb = cb, .ctx = ctx};
	return walk_addr_index(r, DB_ADDR, addr, plen, emit_addr, &rw);
}

/* Emit the records of one target index value (u16 type, owner NAMEKEY):
 * those of that owner and type whose rdata names target. */
static int emit_owner_targets(store_rtxn_t *r, const MDB_val *tv, const char *target,
                              const struct store_fence *f, store_rr_cb cb, void *ctx)
{
	const uint8_t *vp = tv->mv_data;
	size_t plen = tv->mv_size;
	if (plen < 4)
		return STORE_ECORRUPT;
	uint16_t type = util_be16_load(vp);
	uint8_t pfx[SCHEMA_NAMEKEY_MAX + 2];
	memcpy(pfx, vp + 2, plen - 2);
	util_be16_store(pfx + plen - 2, type);
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[DB_RR], pfx, plen, plen)
	{
		size_t rdl = sc.k.mv_size - plen;
		char rdata[STORE_RDATA_MAX + 1];
		if (rdl >= sizeof(rdata))
			continue;
		memcpy(rdata, (const char *)sc.k.mv_data + plen, rdl);
		rdata[rdl] = '\0';
		const char *t = rdata_target(type, rdata);
		if (t != NULL && strcmp(t, target) == 0)
			ret = emit_rr(r, &sc.k, &sc.v, f, cb, ctx);
		if (ret != 0)
			break;
	}
	return scan_end(&sc, ret, "walk");
}

/* The records whose rdata names target exactly; a callback's STORE_STOP
 * is returned as such. */
static int target_items(store_rtxn_t *r, const char *target, const struct store_fence *f,
                        store_rr_cb cb, void *ctx)
{
	uint8_t tk[SCHEMA_NAMEKEY_MAX];
	int tl = namekey_enc(target, tk);
	if (tl < 0)
		return tl;
	struct scan sc;
	int ret = 0;
	SCAN_DUPS(&sc, r->txn, r->s->dbi[DB_TARGET], tk, (size_t)tl)
	{
		ret = emit_owner_targets(r, &sc.v, target, f, cb, ctx);
		if (ret != 0)
			break;
	}
	return scan_end(&sc, ret, "walk");
}

static int by_target_exact(store_rtxn_t *r, const char *target, void *wctx)
{
	const struct rr_walk *rw = wctx;
	return target_items(r, target, rw->f, rw->cb, rw->ctx);
}

/* An item of the target index under a zone: the records of its owner
 * that point at its name. */
static int target_under(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *wctx)
{
	const struct rr_walk *rw = wctx;
	char target[STORE_NAME_BUF];
	if (namekey_dec(k->mv_data, k->mv_size, target) < 0)
		return STORE_ECORRUPT;
	return emit_owner_targets(r, v, target, rw->f, rw->cb, rw->ctx);
}

/* "*.zone": the target index from the zone's NAMEKEY prefix on, every
 * name under it (not the zone itself). */
static int target_zone(store_rtxn_t *r, const char *zone, const struct store_fence *f,
                       store_rr_cb cb, void *ctx)
{
	uint8_t pfx[SCHEMA_NAMEKEY_MAX];
	int l = namekey_enc(zone, pfx);
	if (l < 0)
		return l;
	struct rr_walk rw = {.f = f, .cb = cb, .ctx = ctx};
	return walk_under(r, DB_TARGET, pfx, (size_t)l - 1, target_under, &rw);
}

int store_rr_by_target(store_rtxn_t *r, const char *target, const struct store_fence *f,
                       store_rr_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_target, target, f, cb, ctx);
	return walk_done(target_items(r, target, f, cb, ctx));
}

int store_rr_by_target_pattern(store_rtxn_t *r, const char *target, const struct store_fence *f,
                               store_rr_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_rr_by_target_pattern, target, f, cb, ctx);
	if (target[0] == '*' && target[1] == '.')
		return target_zone(r, target + 2, f, cb, ctx);
	if (store_name_is_rhs(target)) {
		char head[STORE_NAME_BUF];
		snprintf(head, sizeof(head), "%.*s", (int)strlen(target) - 2, target);
		struct rr_walk rw = {.f = f, .cb = cb, .ctx = ctx};
		return fwd_walk(r, head, FWD_TARGET, by_target_exact, &rw);
	}
	return walk_done(target_items(r, target, f, cb, ctx));
}

int store_prev_ip_names(store_rtxn_t *r, const uint8_t ip[16], uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_ip_names, ip, n);
	*n = 0;
	struct scan sc;
	SCAN_DUPS(&sc, r->txn, r->s->dbi[DB_ADDR], ip, 16)
	{
		size_t cnt = 0;
		sc.rc = mdb_cursor_count(sc.cur, &cnt);
		*n = cnt;
		break;
	}
	return scan_end(&sc, 0, "count");
}

int store_prev_name_ips(store_rtxn_t *r, const char *name, uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_name_ips, name, n);
	uint8_t pk[1 + SCHEMA_NAMEKEY_MAX];
	*n = 0;
	pk[0] = 'N';
	int nk = namekey_enc(name, pk + 1);
	if (nk < 0)
		return nk;
	MDB_val k = {1 + (size_t)nk, pk}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_PREV], &k, &v);
	if (rc == 0 && v.mv_size == 4) {
		uint32_t c;
		memcpy(&c, v.mv_data, 4);
		*n = c;
		return 0;
	}
	if (rc == MDB_NOTFOUND) {
		/* no counter: zero or one address, count them */
		*n = count_addr_rr(r->txn, r->s->dbi[DB_RR], pk + 1, (size_t)nk, 2);
		return 0;
	}
	return store_lmdb_err(rc, "prevalence");
}
