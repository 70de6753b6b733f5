/*
 * client.c - client sightings: the bounded per-pair state (histograms and
 * their encoding), the sightings of a batch, and their merge into the
 * client table inside the batch's write transaction.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
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
/* The buckets are defined by formulas (store_gap_bucket's and
 * store_bytes_bucket's fallbacks below); the hot paths look them up
 * instead.  th[b] is the least value whose bucket is b or more, found
 * with the formula itself at first use, so a lookup gives what the
 * formula gives wherever the formula is monotone (tests/estate/
 * test_estate.c compares every gap, and byte counts around every
 * threshold).  A value's octave (its top bit) and the next SUB_BITS bits
 * under it name one of 2^SUB_BITS slices of the octave; a slice is
 * narrower than a bucket, so it holds at most one bucket edge: start[]
 * is the bucket of its least value, and one comparison with the next
 * threshold finishes. */
#define SUB_BITS 8
#define GAP_NB (STORE_GAP_STEPS * GAP_MAX_LOG2 + 1)
#define BYTES_NB (STORE_BYTES_STEPS * (GAP_MAX_LOG2 + 1) + 1)
struct bucket_tab {
	uint64_t th[GAP_NB + 1];
	uint16_t start[(GAP_MAX_LOG2 + 1) << SUB_BITS];
};
static struct bucket_tab gap_tab, bytes_tab;
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static unsigned gap_formula(uint64_t gap)
{
	if (gap < 1)
		gap = 1;
	if (gap > (1ull << GAP_MAX_LOG2))
		gap = 1ull << GAP_MAX_LOG2;
	return (unsigned)lround(STORE_GAP_STEPS * log2((double)gap));
}

static unsigned bytes_formula(uint64_t bytes)
{
	return (unsigned)lround(STORE_BYTES_STEPS * log2((double)bytes + 1.0));
}

/* The least x with f(x) >= b, from a guess near it. */
static uint64_t least_with(unsigned (*f)(uint64_t), unsigned b, double guess)
{
	uint64_t x = guess < 1 ? 0 : (uint64_t)guess;
	while (x > 0 && f(x - 1) >= b)
		x--;
	while (f(x) < b)
		x++;
	return x;
}

/* The slice of v >= 1: its octave, then the bits under the top one. */
static inline unsigned slice_of(uint64_t v)
{
	unsigned o = 63u - (unsigned)__builtin_clzll(v);
	uint64_t m = o >= SUB_BITS ? v >> (o - SUB_BITS) : v << (SUB_BITS - o);
	return o << SUB_BITS | (unsigned)(m & ((1u << SUB_BITS) - 1));
}

/* t's thresholds for buckets [0, nb) of f (guess: a bucket's edge), and
 * its slices' first buckets for values v from 1 to 2^octaves - 1 (the
 * bucket of v's value x = v - off). */
static void tab_fill(struct bucket_tab *t, unsigned (*f)(uint64_t), unsigned nb, unsigned steps,
                     unsigned octaves, uint64_t off)
{
	for (unsigned b = 0; b < nb; b++)
		t->th[b] = least_with(f, b, exp2((b - 0.5) / steps) - (double)off);
	t->th[nb] = UINT64_MAX;
	unsigned b = 0;
	for (unsigned o = 0; o < octaves; o++)
		for (unsigned k = 0; k < 1u << SUB_BITS; k++) {
			/* the least v of the slice (octaves under SUB_BITS
			 * bits repeat values: their first bucket is right) */
			uint64_t v = o >= SUB_BITS ? ((1ull << SUB_BITS) | k) << (o - SUB_BITS)
			                           : ((1ull << SUB_BITS) | k) >> (SUB_BITS - o);
			while (b + 1 < nb && t->th[b + 1] <= v - off)
				b++;
			t->start[o << SUB_BITS | k] = (uint16_t)b;
		}
}

static void tab_init(void)
{
	tab_fill(&gap_tab, gap_formula, GAP_NB, STORE_GAP_STEPS, GAP_MAX_LOG2 + 1, 0);
	tab_fill(&bytes_tab, bytes_formula, BYTES_NB, STORE_BYTES_STEPS, GAP_MAX_LOG2 + 1, 1);
}

unsigned store_gap_bucket(uint64_t gap)
{
	if (gap < 1)
		gap = 1;
	if (gap > (1ull << GAP_MAX_LOG2))
		gap = 1ull << GAP_MAX_LOG2;
	pthread_once(&tab_once, tab_init);
	unsigned b = gap_tab.start[slice_of(gap)];
	return b + (gap_tab.th[b + 1] <= gap);
}

double store_gap_value(unsigned idx)
{
	return exp2((double)idx / STORE_GAP_STEPS);
}

unsigned store_bytes_bucket(uint64_t bytes)
{
	/* the table's octaves: those of gaps (counts up to 16 MiB); larger
	 * ones are rare enough for the formula */
	if (bytes >= (1ull << (GAP_MAX_LOG2 + 1)) - 1)
		return bytes_formula(bytes);
	pthread_once(&tab_once, tab_init);
	unsigned b = bytes_tab.start[slice_of(bytes + 1)];
	return b + (bytes_tab.th[b + 1] <= bytes);
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

/* store_client_add with the byte counts' buckets (has_bytes) given. */
static void client_add_buckets(struct store_client_state *s, int64_t t, bool has_bytes,
                               unsigned bout, unsigned bin)
{
	if (has_bytes) {
		store_hist_add(&s->out, STORE_HIST_BYTES_CAP, bout, 1);
		store_hist_add(&s->in, STORE_HIST_BYTES_CAP, bin, 1);
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

void store_client_add(struct store_client_state *s, int64_t t, bool has_bytes, uint64_t out,
                      uint64_t in)
{
	client_add_buckets(s, t, has_bytes, has_bytes ? store_bytes_bucket(out) : 0,
	                   has_bytes ? store_bytes_bucket(in) : 0);
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

struct cent;
struct bclient_set {
	uint8_t *arena;
	size_t alen, acap;
	uint32_t *offs;
	size_t n, cap;
	uint32_t seq;
	/* store_client_batch_prepare: the sightings in merge order, with
	 * their pair hashes (npre == n while nothing was added since), and
	 * as much room again for the sort when the caller gave none */
	struct cent *pre;
	size_t npre, precap;
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
	size_t got;
	if (acap > c->acap) {
		/* big-buffer memory: a chunk's batch is reset and refilled, and
		 * a freed one is kept for the next (util/mem.h) */
		uint8_t *na = util_big_realloc(c->arena, c->alen, acap, &got);
		if (na == NULL)
			return -ENOMEM;
		if (fault_in)
			util_populate(na, c->acap, acap);
		c->arena = na;
		c->npre = 0; /* its pointers were into the old arena */
		c->acap = got;
	}
	if (cap > c->cap) {
		uint32_t *no =
		    util_big_realloc(c->offs, c->n * sizeof(*no), cap * sizeof(*no), &got);
		if (no == NULL)
			return -ENOMEM;
		if (fault_in)
			util_populate(no, c->cap * sizeof(*no), cap * sizeof(*no));
		c->offs = no;
		c->cap = got / sizeof(*no);
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

/* The sighting x of destination dest (dl bytes, dest_enc's) by the sensor
 * in batch slot `slot` into b. */
static int client_put(store_batch_t *b, int slot, const uint8_t *dest, int dl,
                      const struct store_client_ip_sight *x)
{
	if (b->clients == NULL && (b->clients = calloc(1, sizeof(*b->clients))) == NULL)
		return -ENOMEM;
	struct bclient_set *c = b->clients;
	c->npre = 0;
	size_t need = (offsetof(struct bclient, dest) + (size_t)dl + 7) & ~(size_t)7;
	int err = set_reserve(c, need);
	if (err != 0)
		return err;
	struct bclient *r = (struct bclient *)(c->arena + c->alen);
	r->t = x->t < 0 ? 0 : x->t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)x->t;
	r->seq = c->seq++;
	r->out = x->bytes_out;
	r->in = x->bytes_in;
	memcpy(r->client, x->client, 16);
	r->src = x->src;
	r->slot = (uint8_t)slot;
	r->has_bytes = x->has_bytes;
	r->dlen = (uint8_t)dl;
	memcpy(r->dest, dest, (size_t)dl);
	c->offs[c->n++] = (uint32_t)c->alen;
	c->alen += need;
	return 0;
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
	struct store_client_ip_sight x = {.t = o->time_first,
	                                  .src = o->client.src,
	                                  .has_bytes = o->client.has_bytes,
	                                  .bytes_out = o->client.bytes_out,
	                                  .bytes_in = o->client.bytes_in,
	                                  .client = o->client.client,
	                                  .ip = o->client.ip};
	return client_put(b, slot, dest, dl, &x);
}

int store_client_batch_add_ip(store_batch_t *b, const char *sensor,
                              const struct store_client_ip_sight *x)
{
	if (x->src < 1 || x->src > STORE_CSRC_MAX)
		return STORE_EBADTYPE;
	if (strnlen(sensor, STORE_SENSOR_MAX) >= STORE_SENSOR_MAX)
		return STORE_ELIMIT;
	int slot = batch_sensor_slot(b, sensor);
	if (slot < 0)
		return STORE_ELIMIT;
	uint8_t dest[17];
	dest[0] = STORE_DEST_IP;
	memcpy(dest + 1, x->ip, 16);
	return client_put(b, slot, dest, 17, x);
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
	c->npre = 0;
	if (n == 0)
		c->seq = 0;
}

void client_batch_free(store_batch_t *b)
{
	if (b->clients == NULL)
		return;
	util_big_free(b->clients->arena);
	util_big_free(b->clients->offs);
	util_big_free(b->clients->pre);
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
	uint8_t bout, bin; /* the byte counts' buckets, or BUCKET_LATER */
};
/* A bucket left to the writer: not computed ahead, or past a byte */
#define BUCKET_LATER 255

/* A byte count's bucket as struct cent keeps it. */
static uint8_t cent_bucket(uint64_t bytes)
{
	unsigned b = store_bytes_bucket(bytes);
	return b < BUCKET_LATER ? (uint8_t)b : BUCKET_LATER;
}

static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* The hash of a pair but for its sensor, which only the writer knows (as
 * an id): within one sensor's sightings it orders pairs the same way
 * before and after the sensor is known.  Eight bytes a step. */
static uint64_t cent_hash(const struct bclient *r)
{
	uint64_t h = hash_mix(0x243f6a8885a308d3ull, (uint64_t)r->src << 8 | r->dlen);
	unsigned i = 0;
	for (; i + 8 <= r->dlen; i += 8) {
		uint64_t v;
		memcpy(&v, r->dest + i, 8);
		h = hash_mix(h, v);
	}
	uint64_t v = 0;
	for (unsigned k = 0; i < r->dlen; i++, k += 8)
		v |= (uint64_t)r->dest[i] << k;
	uint64_t a, b;
	memcpy(&a, r->client, 8);
	memcpy(&b, r->client + 8, 8);
	return hash_mix(hash_mix(hash_mix(h, v), a), b);
}

/* Whether a and b have the same destination and client: eight bytes a
 * step, inline (the sorts compare mostly equal pairs: a pair's own
 * sightings, grouped by their hash). */
static inline bool pair_bytes_eq(const struct bclient *a, const struct bclient *b)
{
	if (a->dlen != b->dlen)
		return false;
	uint64_t d = 0, u, v;
	unsigned i = 0;
	for (; i + 8 <= a->dlen; i += 8) {
		memcpy(&u, a->dest + i, 8);
		memcpy(&v, b->dest + i, 8);
		d |= u ^ v;
	}
	for (; i < a->dlen; i++)
		d |= (uint64_t)(a->dest[i] ^ b->dest[i]);
	for (i = 0; i < 16; i += 8) {
		memcpy(&u, a->client + i, 8);
		memcpy(&v, b->client + i, 8);
		d |= u ^ v;
	}
	return d == 0;
}

/* The byte order of two different pairs' destination and client. */
static int pair_bytes_cmp(const struct bclient *a, const struct bclient *b)
{
	size_t n = a->dlen < b->dlen ? a->dlen : b->dlen;
	int c = memcmp(a->dest, b->dest, n);
	if (c != 0)
		return c;
	if (a->dlen != b->dlen)
		return a->dlen < b->dlen ? -1 : 1;
	return memcmp(a->client, b->client, 16);
}

/* Pairs grouped (by hash, then key), each pair's sightings in time order. */
static int cent_cmp(const void *a, const void *b)
{
	const struct cent *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	if (!pair_bytes_eq(x->r, y->r))
		return pair_bytes_cmp(x->r, y->r);
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
	return x->h == y->h && pair_bytes_eq(x->r, y->r) && x->sid == y->sid &&
	       x->r->src == y->r->src;
}

/* Merge the sorted runs e[lo..mid) and e[mid..hi) in place (tmp: room
 * from lo to hi).  Equal entries keep their order: the left run's first. */
static void cent_merge(struct cent *e, struct cent *tmp, size_t lo, size_t mid, size_t hi)
{
	if (cent_cmp(&e[mid - 1], &e[mid]) <= 0)
		return; /* already in order (a pair's run in time order) */
	memcpy(tmp + lo, e + lo, (hi - lo) * sizeof(*e));
	size_t a = lo, b = mid, k = lo;
	while (a < mid && b < hi)
		e[k++] = cent_cmp(&tmp[b], &tmp[a]) < 0 ? tmp[b++] : tmp[a++];
	memcpy(e + k, tmp + a, (mid - a) * sizeof(*e));
	memcpy(e + k + (mid - a), tmp + b, (hi - b) * sizeof(*e));
}

/* Sort e[0..n) (tmp: room for n more) by cent_cmp: a merge sort whose
 * comparisons are inlined and whose space is the caller's. */
static void cent_msort(struct cent *e, struct cent *tmp, size_t n)
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
	cent_msort(e, tmp, h);
	cent_msort(e + h, tmp + h, n - h);
	cent_merge(e, tmp, 0, h, n);
}

#define RADIX_BITS 11
#define RADIX_N (1u << RADIX_BITS)

/* One stable pass of a radix sort: from src into dst by the digit of
 * the hash's top 32 bits at shift (cnt: that digit's counts). */
static void radix_pass(const struct cent *src, struct cent *dst, size_t n, uint32_t *cnt,
                       unsigned shift)
{
	size_t sum = 0;
	for (unsigned d = 0; d < RADIX_N; d++) {
		size_t c = cnt[d];
		cnt[d] = (uint32_t)sum;
		sum += c;
	}
	for (size_t i = 0; i < n; i++)
		dst[cnt[(src[i].h >> (32 + shift)) & (RADIX_N - 1)]++] = src[i];
}

/* Sort e[0..n) by cent_cmp (tmp: room for n more).  Most of the order is
 * the hash's: a radix sort on its top 32 bits in three passes, then each
 * run of equal top bits (a pair's sightings, most often, already nearly
 * in time order from the radix sort's stability) by cent_cmp — by
 * insertion when short, by merging when long, so that a pair's sightings
 * in reverse order cost n log n, not n squared. */
static void cent_sort(struct cent *e, struct cent *tmp, size_t n)
{
	if (n <= 64) {
		cent_msort(e, tmp, n);
		return;
	}
	/* on the stack: a calloc'd block would come from the heap's top,
	 * fresh pages each time, as often as not */
	uint32_t cnt[3][RADIX_N];
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++) {
		uint32_t k = (uint32_t)(e[i].h >> 32);
		cnt[0][k & (RADIX_N - 1)]++;
		cnt[1][(k >> RADIX_BITS) & (RADIX_N - 1)]++;
		cnt[2][k >> (2 * RADIX_BITS)]++;
	}
	radix_pass(e, tmp, n, cnt[0], 0);
	radix_pass(tmp, e, n, cnt[1], RADIX_BITS);
	radix_pass(e, tmp, n, cnt[2], 2 * RADIX_BITS);
	memcpy(e, tmp, n * sizeof(*e));
	for (size_t i = 0; i < n;) {
		uint32_t k = (uint32_t)(e[i].h >> 32);
		size_t j = i + 1;
		while (j < n && (uint32_t)(e[j].h >> 32) == k)
			j++;
		if (j - i > 1)
			cent_msort(e + i, tmp + i, j - i);
		i = j;
	}
}

/* Merge the k sorted runs e[run[i]..run[i + 1]) into one, two at a time
 * (run[k] is the end; run is overwritten). */
static void cent_merge_runs(struct cent *e, struct cent *tmp, size_t *run, size_t k)
{
	while (k > 1) {
		size_t j = 0;
		for (size_t i = 0; i < k; i += 2) {
			if (i + 1 < k)
				cent_merge(e, tmp, run[i], run[i + 1], run[i + 2]);
			run[j++] = run[i];
		}
		run[j] = run[k];
		k = j;
	}
}

int store_client_batch_prepare(store_batch_t *b, struct util_buf *tmp)
{
	struct bclient_set *c = b->clients;
	/* several sensors: their order is their ids', known to the writer */
	if (c == NULL || c->n == 0 || b->nsensors > 1)
		return 0;
	size_t need = tmp != NULL ? c->n : 2 * c->n;
	if (tmp != NULL && util_buf_reserve(tmp, c->n * sizeof(struct cent)) != 0)
		return -ENOMEM;
	if (c->precap < need) {
		size_t got;
		struct cent *np = util_big_realloc(c->pre, 0, need * sizeof(*np), &got);
		if (np == NULL)
			return -ENOMEM;
		util_populate(np, c->precap * sizeof(*np), need * sizeof(*np));
		c->pre = np;
		c->precap = got / sizeof(*np);
	}
	for (size_t j = 0; j < c->n; j++) {
		const struct bclient *r = (const struct bclient *)(c->arena + c->offs[j]);
		/* the byte buckets too: a log2 each, off the writer's thread */
		c->pre[j] = (struct cent){cent_hash(r), r, r->seq, 0, BUCKET_LATER, BUCKET_LATER};
		if (r->has_bytes) {
			c->pre[j].bout = cent_bucket(r->out);
			c->pre[j].bin = cent_bucket(r->in);
		}
	}
	cent_sort(c->pre, tmp != NULL ? (struct cent *)(void *)tmp->p : c->pre + c->n, c->n);
	c->npre = c->n;
	return 0;
}

/* Room for n sightings and as many for the sort: the store's, kept from
 * one write transaction to the next (writes take turns), so that the
 * merge sorts in pages it touched before instead of fresh ones each
 * time.  NULL when out of memory. */
static struct cent *sort_space(store_t *s, size_t n)
{
	if (s->client_sort_cap < 2 * n) {
		size_t got;
		struct cent *ns = util_big_realloc(s->client_sort, 0, 2 * n * sizeof(*ns), &got);
		if (ns == NULL)
			return NULL;
		util_populate(ns, s->client_sort_cap * sizeof(*ns), 2 * n * sizeof(*ns));
		s->client_sort = ns;
		s->client_sort_cap = got / sizeof(*ns);
	}
	return s->client_sort;
}

/* Batch c's sightings after e[*n], with sensor ids ids[slot] and orders
 * from base on, as one sorted run: a prepared batch's as they are, any
 * other's sorted here (tmp: the sort's room). */
static void collect_one(const struct bclient_set *c, const uint16_t *ids, uint32_t base,
                        struct cent *e, struct cent *tmp, size_t *n)
{
	size_t start = *n;
	if (c->npre == c->n) {
		for (size_t j = 0; j < c->n; j++) {
			const struct cent *p = &c->pre[j];
			struct cent x = *p;
			x.order += base;
			x.sid = ids[p->r->slot];
			e[(*n)++] = x;
		}
		return;
	}
	for (size_t j = 0; j < c->n; j++) {
		const struct bclient *r = (const struct bclient *)(c->arena + c->offs[j]);
		e[(*n)++] = (struct cent){.h = cent_hash(r),
		                          .r = r,
		                          .order = base + r->seq,
		                          .sid = ids[r->slot],
		                          .bout = BUCKET_LATER,
		                          .bin = BUCKET_LATER};
	}
	cent_sort(e + start, tmp + start, *n - start);
}

/* Every sighting of the batches with its sensor id (from sid), in *out
 * (the store's sort space, with room for as many after them), as sorted
 * runs: run[0..*nrun] their bounds (room for nb + 1). */
static int collect(store_t *s, store_batch_t *const *bs, size_t nb, client_sid_fn sid, void *sctx,
                   struct cent **out, size_t *n, size_t *run, size_t *nrun)
{
	size_t total = 0;
	for (size_t i = 0; i < nb; i++)
		total += client_batch_len(bs[i]);
	*n = *nrun = 0;
	*out = NULL;
	if (total == 0)
		return 0;
	struct cent *e = sort_space(s, total);
	if (e == NULL)
		return -ENOMEM;
	uint32_t base = 0;
	for (size_t i = 0; i < nb; i++) {
		const struct bclient_set *c = bs[i]->clients;
		if (c == NULL || c->n == 0)
			continue;
		uint16_t ids[BATCH_SENSORS + 1] = {0};
		for (unsigned k = 0; k < bs[i]->nsensors; k++)
			if (sid(sctx, bs[i]->sensors[k], &ids[k + 1]) != 0)
				ids[k + 1] = 0;
		run[(*nrun)++] = *n;
		collect_one(c, ids, base, e, e + total, n);
		base += c->seq;
	}
	run[*nrun] = *n;
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
		unsigned bo = e[i].bout, bi = e[i].bin;
		if (r->has_bytes && bo == BUCKET_LATER)
			bo = store_bytes_bucket(r->out);
		if (r->has_bytes && bi == BUCKET_LATER)
			bi = store_bytes_bucket(r->in);
		client_add_buckets(st, r->t, r->has_bytes, bo, bi);
	}
	return e[p->n - 1].r->t;
}

int client_batch_pairs(store_t *s, store_batch_t *const *bs, size_t nb, client_sid_fn sid,
                       void *sctx, client_pair_fn fn, void *ctx)
{
	struct cent *e;
	size_t n, nrun;
	size_t *run = malloc((nb + 1) * sizeof(*run));
	if (run == NULL)
		return -ENOMEM;
	int err = collect(s, bs, nb, sid, sctx, &e, &n, run, &nrun);
	if (err == 0 && n > 0)
		cent_merge_runs(e, e + n, run, nrun);
	free(run);
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
