/*
 * client.c - client sightings: the bounded per-pair state (histograms and
 * their encoding), the sightings of a batch, and their merge into the
 * client table inside the batch's write transaction.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/client.h"
#include "store/store_internal.h"
#include "util/be.h"
#include "util/mem.h"

#define GAP_MAX_LOG2 23 /* gaps beyond 97 days share the last bucket */

const char *store_client_src_name(unsigned src)
{
	static const char *const names[] = {"?", "dns", "sni", "conn", "tls", "flow"};
	return src <= STORE_CSRC_MAX ? names[src] : "?";
}

/* ---- histograms ---------------------------------------------------------- */
unsigned store_gap_bucket(uint64_t gap)
{
	if (gap < 1)
		gap = 1;
	if (gap > (1ull << GAP_MAX_LOG2))
		gap = 1ull << GAP_MAX_LOG2;
	return (unsigned)lround(STORE_GAP_STEPS * log2((double)gap));
}

double store_gap_value(unsigned idx)
{
	return exp2((double)idx / STORE_GAP_STEPS);
}

unsigned store_bytes_bucket(uint64_t bytes)
{
	return (unsigned)lround(STORE_BYTES_STEPS * log2((double)bytes + 1.0));
}

double store_bytes_value(unsigned idx)
{
	return exp2((double)idx / STORE_BYTES_STEPS) - 1.0;
}

/* Fold the smallest bucket into its nearest neighbour by index. */
static void hist_fold(struct store_hist *h)
{
	unsigned min = 0;
	for (unsigned i = 1; i < h->n; i++)
		if (h->cnt[i] < h->cnt[min])
			min = i;
	unsigned into;
	if (min == 0)
		into = 1;
	else if (min == h->n - 1u)
		into = min - 1;
	else
		into = h->idx[min] - h->idx[min - 1] <= h->idx[min + 1] - h->idx[min] ? min - 1
		                                                                      : min + 1;
	uint64_t sum = (uint64_t)h->cnt[into] + h->cnt[min];
	h->cnt[into] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
	memmove(&h->idx[min], &h->idx[min + 1], (h->n - min - 1u) * sizeof(h->idx[0]));
	memmove(&h->cnt[min], &h->cnt[min + 1], (h->n - min - 1u) * sizeof(h->cnt[0]));
	h->n--;
}

void store_hist_add(struct store_hist *h, unsigned cap, unsigned idx, uint32_t n)
{
	if (idx > UINT16_MAX)
		idx = UINT16_MAX;
	unsigned i = 0;
	while (i < h->n && h->idx[i] < idx)
		i++;
	if (i < h->n && h->idx[i] == idx) {
		uint64_t sum = (uint64_t)h->cnt[i] + n;
		h->cnt[i] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
		return;
	}
	memmove(&h->idx[i + 1], &h->idx[i], (h->n - i) * sizeof(h->idx[0]));
	memmove(&h->cnt[i + 1], &h->cnt[i], (h->n - i) * sizeof(h->cnt[0]));
	h->idx[i] = (uint16_t)idx;
	h->cnt[i] = n;
	h->n++;
	while (h->n > cap)
		hist_fold(h);
}

uint64_t store_hist_total(const struct store_hist *h)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < h->n; i++)
		t += h->cnt[i];
	return t;
}

unsigned store_hist_quantile(const struct store_hist *h, double q)
{
	uint64_t total = store_hist_total(h);
	if (total == 0)
		return 0;
	double want = q * (double)total;
	uint64_t acc = 0;
	for (unsigned i = 0; i < h->n; i++) {
		acc += h->cnt[i];
		if ((double)acc >= want)
			return h->idx[i];
	}
	return h->idx[h->n - 1];
}

/* ---- the state of a pair --------------------------------------------------- */
void store_client_state_init(struct store_client_state *s)
{
	memset(s, 0, sizeof(*s));
}

static unsigned hour_of(int64_t t)
{
	int64_t h = (t / 3600) % 24;
	return (unsigned)(h < 0 ? h + 24 : h);
}

void store_client_add(struct store_client_state *s, int64_t t, bool has_bytes, uint64_t out,
                      uint64_t in)
{
	if (has_bytes) {
		store_hist_add(&s->out, STORE_HIST_BYTES_CAP, store_bytes_bucket(out), 1);
		store_hist_add(&s->in, STORE_HIST_BYTES_CAP, store_bytes_bucket(in), 1);
	}
	if (s->count == 0) {
		s->first_seen = s->last_seen = t;
	} else if (t == s->last_seen) {
		s->repeats++; /* a burst: one contact */
		return;
	} else if (t < s->last_seen) {
		/* out of order: a contact, but no gap (it would be negative) */
		s->neg_gaps++;
		if (t < s->first_seen)
			s->first_seen = t;
	} else {
		store_hist_add(&s->gaps, STORE_HIST_GAP_CAP,
		               store_gap_bucket((uint64_t)(t - s->last_seen)), 1);
		s->last_seen = t;
	}
	s->count++;
	s->hours |= 1u << hour_of(t);
}

static void hist_merge(struct store_hist *dst, unsigned cap, const struct store_hist *src)
{
	for (unsigned i = 0; i < src->n; i++)
		store_hist_add(dst, cap, src->idx[i], src->cnt[i]);
}

void store_client_merge(struct store_client_state *dst, const struct store_client_state *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->first_seen < dst->first_seen)
		dst->first_seen = src->first_seen;
	if (dst->count == 0 || src->last_seen > dst->last_seen)
		dst->last_seen = src->last_seen;
	dst->count += src->count;
	dst->repeats += src->repeats;
	dst->neg_gaps += src->neg_gaps;
	dst->hours |= src->hours;
	hist_merge(&dst->gaps, STORE_HIST_GAP_CAP, &src->gaps);
	hist_merge(&dst->out, STORE_HIST_BYTES_CAP, &src->out);
	hist_merge(&dst->in, STORE_HIST_BYTES_CAP, &src->in);
}

/* ---- encoding (CLIVAL in schema.h) ------------------------------------------ */
static uint8_t *put_u32(uint8_t *p, uint64_t v)
{
	uint32_t x = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(x >> (8 * i));
	return p;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t *hist_enc(uint8_t *p, const struct store_hist *h)
{
	*p++ = h->n;
	unsigned prev = 0;
	for (unsigned i = 0; i < h->n; i++) {
		p = varint_put(p, h->idx[i] - prev);
		p = varint_put(p, h->cnt[i]);
		prev = h->idx[i];
	}
	return p;
}

static int hist_dec(const uint8_t **pp, const uint8_t *end, struct store_hist *h, unsigned cap)
{
	if (*pp >= end || **pp > cap)
		return STORE_ECORRUPT;
	unsigned n = *(*pp)++;
	uint64_t prev = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t d, c;
		if (varint_get(pp, end, &d) != 0 || varint_get(pp, end, &c) != 0)
			return STORE_ECORRUPT;
		prev += d;
		if (prev > UINT16_MAX || c > UINT32_MAX || (i > 0 && d == 0))
			return STORE_ECORRUPT;
		h->idx[i] = (uint16_t)prev;
		h->cnt[i] = (uint32_t)c;
	}
	h->n = (uint8_t)n;
	return 0;
}

size_t store_client_enc(const struct store_client_state *s, uint8_t *buf)
{
	uint8_t *p = buf;
	*p++ = 1; /* format */
	p = put_u32(p, s->first_seen < 0 ? 0 : (uint64_t)s->first_seen);
	p = put_u32(p, s->last_seen < 0 ? 0 : (uint64_t)s->last_seen);
	for (int i = 0; i < 3; i++)
		*p++ = (uint8_t)(s->hours >> (8 * i));
	p = varint_put(p, s->count);
	p = varint_put(p, s->repeats);
	p = varint_put(p, s->neg_gaps);
	p = hist_enc(p, &s->gaps);
	p = hist_enc(p, &s->out);
	p = hist_enc(p, &s->in);
	return (size_t)(p - buf);
}

int store_client_dec(const uint8_t *buf, size_t len, struct store_client_state *s)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + len;
	memset(s, 0, sizeof(*s));
	if (len < 12 || p[0] != 1)
		return STORE_ECORRUPT;
	s->first_seen = get_u32(p + 1);
	s->last_seen = get_u32(p + 5);
	s->hours = (uint32_t)p[9] | (uint32_t)p[10] << 8 | (uint32_t)p[11] << 16;
	p += 12;
	if (varint_get(&p, end, &s->count) != 0 || varint_get(&p, end, &s->repeats) != 0 ||
	    varint_get(&p, end, &s->neg_gaps) != 0)
		return STORE_ECORRUPT;
	if (hist_dec(&p, end, &s->gaps, STORE_HIST_GAP_CAP) != 0 ||
	    hist_dec(&p, end, &s->out, STORE_HIST_BYTES_CAP) != 0 ||
	    hist_dec(&p, end, &s->in, STORE_HIST_BYTES_CAP) != 0 || p != end)
		return STORE_ECORRUPT;
	return 0;
}

/* ---- sightings of a batch ---------------------------------------------------- */
struct bclient {
	uint64_t out, in;
	uint32_t t, seq;
	uint8_t client[16];
	uint8_t src, slot, has_bytes;
	uint8_t dlen; /* dest: dtype byte, then NAMEKEY or IP */
	uint8_t dest[];
};

struct bclient_set {
	uint8_t *arena;
	size_t alen, acap;
	uint32_t *offs;
	size_t n, cap;
	uint32_t seq;
};

static int dest_enc(const struct store_obs *o, uint8_t *out)
{
	out[0] = o->client.dtype;
	if (o->client.dtype == STORE_DEST_IP) {
		memcpy(out + 1, o->client.ip, 16);
		return 17;
	}
	if (o->client.dtype != STORE_DEST_DOMAIN)
		return STORE_EBADTYPE;
	int n = namekey_enc(o->client.name, out + 1);
	return n < 0 ? n : n + 1;
}

/* The arena at least acap bytes and the index cap sightings. */
static int set_grow(struct bclient_set *c, size_t acap, size_t cap, bool fault_in)
{
	if (acap > c->acap) {
		uint8_t *na = realloc(c->arena, acap);
		if (na == NULL)
			return -ENOMEM;
		if (fault_in)
			util_populate(na, c->acap, acap);
		c->arena = na;
		c->acap = acap;
	}
	if (cap > c->cap) {
		uint32_t *no = realloc(c->offs, cap * sizeof(*no));
		if (no == NULL)
			return -ENOMEM;
		if (fault_in)
			util_populate(no, c->cap * sizeof(*no), cap * sizeof(*no));
		c->offs = no;
		c->cap = cap;
	}
	return 0;
}

/* Room for one more sighting of `need` bytes (both grow by doubling). */
static int set_reserve(struct bclient_set *c, size_t need)
{
	if (c->alen + need > UINT32_MAX)
		return STORE_ELIMIT;
	size_t acap = c->acap;
	if (c->alen + need > acap) {
		acap = acap ? acap * 2 : 1 << 16;
		while (acap < c->alen + need)
			acap *= 2;
	}
	size_t cap = c->n < c->cap ? c->cap : c->cap ? c->cap * 2 : 1024;
	return set_grow(c, acap, cap, false);
}

/* A sighting takes at least BCLIENT_MIN bytes of the arena (an IP's). */
#define BCLIENT_MIN ((offsetof(struct bclient, dest) + 17 + 7) & ~(size_t)7)
int store_client_batch_reserve(store_batch_t *b, size_t bytes)
{
	if (b->clients == NULL && (b->clients = calloc(1, sizeof(*b->clients))) == NULL)
		return -ENOMEM;
	struct bclient_set *c = b->clients;
	if (c->alen + bytes > UINT32_MAX)
		return STORE_ELIMIT;
	return set_grow(c, c->alen + bytes, c->n + bytes / BCLIENT_MIN, true);
}

size_t store_client_batch_bytes(const store_batch_t *b)
{
	return b->clients != NULL ? b->clients->alen : 0;
}

int client_batch_add(store_batch_t *b, const struct store_obs *o)
{
	uint8_t dest[1 + SCHEMA_NAMEKEY_MAX];
	int dl = dest_enc(o, dest);
	if (dl < 0)
		return dl;
	if (o->client.src < 1 || o->client.src > STORE_CSRC_MAX)
		return STORE_EBADTYPE;
	int slot = batch_sensor_slot(b, o->sensor);
	if (slot < 0)
		return STORE_ELIMIT;
	if (b->clients == NULL && (b->clients = calloc(1, sizeof(*b->clients))) == NULL)
		return -ENOMEM;
	struct bclient_set *c = b->clients;
	size_t need = (offsetof(struct bclient, dest) + (size_t)dl + 7) & ~(size_t)7;
	int err = set_reserve(c, need);
	if (err != 0)
		return err;
	struct bclient *r = (struct bclient *)(c->arena + c->alen);
	int64_t t = o->time_first;
	r->t = t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	r->seq = c->seq++;
	r->out = o->client.bytes_out;
	r->in = o->client.bytes_in;
	memcpy(r->client, o->client.client, 16);
	r->src = o->client.src;
	r->slot = (uint8_t)slot;
	r->has_bytes = o->client.has_bytes;
	r->dlen = (uint8_t)dl;
	memcpy(r->dest, dest, (size_t)dl);
	c->offs[c->n++] = (uint32_t)c->alen;
	c->alen += need;
	return 0;
}

size_t client_batch_len(const store_batch_t *b)
{
	return b->clients != NULL ? b->clients->n : 0;
}

void client_batch_truncate(store_batch_t *b, size_t n)
{
	struct bclient_set *c = b->clients;
	if (c == NULL || n >= c->n)
		return;
	c->alen = n == 0 ? 0 : c->offs[n];
	c->n = n;
	if (n == 0)
		c->seq = 0;
}

void client_batch_free(store_batch_t *b)
{
	if (b->clients == NULL)
		return;
	free(b->clients->arena);
	free(b->clients->offs);
	free(b->clients);
	b->clients = NULL;
}

/* ---- the merge ------------------------------------------------------------- */
struct put_ctx {
	struct store_wtxn *w;
	int64_t newest;
};

struct cent {
	uint64_t h; /* hash of the pair: most comparisons end here */
	const struct bclient *r;
	uint32_t order; /* batch, then arrival */
	uint16_t sid;
};

static uint64_t cent_hash(const struct bclient *r, uint16_t sid)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)sid << 8 | r->src);
	for (unsigned i = 0; i < r->dlen; i++)
		h = (h ^ r->dest[i]) * 1099511628211ull;
	for (unsigned i = 0; i < 16; i++)
		h = (h ^ r->client[i]) * 1099511628211ull;
	return h;
}

/* Pairs grouped (by hash, then key), each pair's sightings in time order. */
static int cent_cmp(const void *a, const void *b)
{
	const struct cent *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	size_t n = x->r->dlen < y->r->dlen ? x->r->dlen : y->r->dlen;
	int c = memcmp(x->r->dest, y->r->dest, n);
	if (c != 0)
		return c;
	if (x->r->dlen != y->r->dlen)
		return x->r->dlen < y->r->dlen ? -1 : 1;
	c = memcmp(x->r->client, y->r->client, 16);
	if (c != 0)
		return c;
	if (x->sid != y->sid)
		return x->sid < y->sid ? -1 : 1;
	if (x->r->src != y->r->src)
		return x->r->src < y->r->src ? -1 : 1;
	if (x->r->t != y->r->t)
		return x->r->t < y->r->t ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool same_pair(const struct cent *x, const struct cent *y)
{
	return x->h == y->h && x->r->dlen == y->r->dlen &&
	       memcmp(x->r->dest, y->r->dest, x->r->dlen) == 0 &&
	       memcmp(x->r->client, y->r->client, 16) == 0 && x->sid == y->sid &&
	       x->r->src == y->r->src;
}

/* Sort e[0..n) (tmp: room for n more) by cent_cmp: a merge sort whose
 * comparisons are inlined and whose space is the caller's. */
static void cent_sort(struct cent *e, struct cent *tmp, size_t n)
{
	if (n <= 12) {
		for (size_t i = 1; i < n; i++) {
			struct cent x = e[i];
			size_t j = i;
			for (; j > 0 && cent_cmp(&e[j - 1], &x) > 0; j--)
				e[j] = e[j - 1];
			e[j] = x;
		}
		return;
	}
	size_t h = n / 2;
	cent_sort(e, tmp, h);
	cent_sort(e + h, tmp + h, n - h);
	if (cent_cmp(&e[h - 1], &e[h]) <= 0)
		return; /* already in order (a pair's run in time order) */
	memcpy(tmp, e, n * sizeof(*e));
	size_t a = 0, b = h, k = 0;
	while (a < h && b < n)
		e[k++] = cent_cmp(&tmp[b], &tmp[a]) < 0 ? tmp[b++] : tmp[a++];
	memcpy(e + k, tmp + a, (h - a) * sizeof(*e));
	memcpy(e + k + (h - a), tmp + b, (n - b) * sizeof(*e));
}

/* Room for n sightings and as many for the sort: the store's, kept from
 * one write transaction to the next (writes take turns), so that the
 * merge sorts in pages it touched before instead of fresh ones each
 * time.  NULL when out of memory. */
static struct cent *sort_space(store_t *s, size_t n)
{
	if (s->client_sort_cap < 2 * n) {
		struct cent *ns = realloc(s->client_sort, 2 * n * sizeof(*ns));
		if (ns == NULL)
			return NULL;
		util_populate(ns, s->client_sort_cap * sizeof(*ns), 2 * n * sizeof(*ns));
		s->client_sort = ns;
		s->client_sort_cap = 2 * n;
	}
	return s->client_sort;
}

/* Every sighting of the batches with its sensor id (from sid), in *out
 * (the store's sort space, with room for as many after them). */
static int collect(store_t *s, store_batch_t *const *bs, size_t nb, client_sid_fn sid, void *sctx,
                   struct cent **out, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < nb; i++)
		total += client_batch_len(bs[i]);
	*n = 0;
	*out = NULL;
	if (total == 0)
		return 0;
	struct cent *e = sort_space(s, total);
	if (e == NULL)
		return -ENOMEM;
	uint32_t order = 0;
	for (size_t i = 0; i < nb; i++) {
		const struct bclient_set *c = bs[i]->clients;
		uint16_t ids[BATCH_SENSORS + 1] = {0};
		for (unsigned k = 0; k < bs[i]->nsensors; k++)
			if (sid(sctx, bs[i]->sensors[k], &ids[k + 1]) != 0)
				ids[k + 1] = 0;
		for (size_t j = 0; c != NULL && j < c->n; j++) {
			const struct bclient *r = (const struct bclient *)(c->arena + c->offs[j]);
			e[(*n)++] =
			    (struct cent){cent_hash(r, ids[r->slot]), r, order++, ids[r->slot]};
		}
	}
	*out = e;
	return 0;
}

static size_t pair_key(const struct cent *e, uint8_t *key)
{
	const struct bclient *r = e->r;
	memcpy(key, r->dest, r->dlen);
	memcpy(key + r->dlen, r->client, 16);
	util_be16_store(key + r->dlen + 16, e->sid);
	key[r->dlen + 18] = r->src;
	return (size_t)r->dlen + 19;
}

int64_t client_pair_fold(const struct client_pair *p, struct store_client_state *st)
{
	const struct cent *e = p->e;
	for (size_t i = 0; i < p->n; i++) {
		const struct bclient *r = e[i].r;
		store_client_add(st, r->t, r->has_bytes, r->out, r->in);
	}
	return e[p->n - 1].r->t;
}

int client_batch_pairs(store_t *s, store_batch_t *const *bs, size_t nb, client_sid_fn sid,
                       void *sctx, client_pair_fn fn, void *ctx)
{
	struct cent *e;
	size_t n;
	int err = collect(s, bs, nb, sid, sctx, &e, &n);
	if (err != 0 || n == 0)
		return err;
	cent_sort(e, e + n, n);
	for (size_t i = 0; i < n && err == 0;) {
		size_t j = i + 1;
		while (j < n && same_pair(&e[i], &e[j]))
			j++;
		struct client_pair p = {
		    .dlen = e[i].r->dlen, .sid = e[i].sid, .e = e + i, .n = j - i};
		p.klen = pair_key(&e[i], p.key);
		err = fn(ctx, &p);
		i = j;
	}
	return err;
}

/* Merge the sightings of one pair into its row. */
static int merge_pair(void *ctx, const struct client_pair *p)
{
	struct put_ctx *pc = ctx;
	struct store_wtxn *w = pc->w;
	if (w->err != 0)
		return 0;
	MDB_val k = {p->klen, (void *)p->key};
	MDB_val v;
	struct store_client_state st;
	if (w_get(w, DB_CLIENT, &k, &v) != 0 || store_client_dec(v.mv_data, v.mv_size, &st) != 0) {
		store_client_state_init(&st);
		w->st->client_pairs_new++;
	}
	int64_t t = client_pair_fold(p, &st);
	if (t > pc->newest)
		pc->newest = t;
	uint8_t val[STORE_CLIENT_VAL_MAX];
	MDB_val nv = {store_client_enc(&st, val), val};
	w_put(w, DB_CLIENT, &k, &nv, 0);
	w->st->clients += p->n;
	return 0;
}

static void newest_put(struct store_wtxn *w, int64_t newest)
{
	MDB_val k = {13, (void *)"client_newest"};
	MDB_val v;
	int64_t cur = 0;
	if (w_get(w, DB_META, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&cur, v.mv_data, 8);
	if (newest <= cur)
		return;
	MDB_val nv = {8, &newest};
	w_put(w, DB_META, &k, &nv, 0);
}

static int wtxn_sid(void *ctx, const char *sensor, uint16_t *id)
{
	return sensor_id(ctx, sensor, id);
}

int client_put_batches(struct store_wtxn *w, store_batch_t *const *bs, size_t nb)
{
	struct put_ctx pc = {w, 0};
	int err = client_batch_pairs(w->s, bs, nb, wtxn_sid, w, merge_pair, &pc);
	if (err == 0 && pc.newest > 0)
		newest_put(w, pc.newest);
	return err;
}
