/*
 * test_estate.c - the client-state encoding (store/client.c) and the
 * scorer (estate/score.c): bucket resolution, bounded histograms, the
 * codec and its rejection of corrupt values, out-of-order input, the
 * merge of a write's sightings (sorted per pair whatever their order in
 * the batches; a batch reserved ahead), and the rhythm of jittered,
 * missed, random and bursty contacts; the summaries of many destinations
 * read at once.
 */
#include <math.h>
#include <string.h>

#include "estate/estate.h"
#include "tests/testutil.h"

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void) /* xorshift: deterministic */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* n contacts every period +- jitter, a share of them missed. */
static void beacon(struct store_client_state *st, double period, double jitter, double miss,
                   unsigned n, uint64_t out)
{
	store_client_state_init(st);
	double t = 1700000000;
	for (unsigned i = 0; i < n; i++) {
		if (rnd() >= miss)
			store_client_add(st, (int64_t)t, true, out + (uint64_t)(rnd() * 50), 400);
		t += period * (1 + jitter * (2 * rnd() - 1));
	}
}

static void test_buckets(void)
{
	T_CHECK(store_gap_bucket(1000) - store_gap_bucket(900) >= 4);
	T_CHECK(fabs(store_gap_value(store_gap_bucket(900)) - 900) / 900 < 0.012);
	T_CHECK(fabs(store_gap_value(store_gap_bucket(86400)) - 86400) / 86400 < 0.012);
	T_EQ_INT(store_gap_bucket(0), store_gap_bucket(1));
	T_CHECK(store_gap_bucket(UINT64_MAX) < 65536);
	T_CHECK(fabs(store_bytes_value(store_bytes_bucket(1000)) - 1000) / 1000 < 0.1);
	T_EQ_INT(store_bytes_value(store_bytes_bucket(0)), 0);
}

/* The encoding docs/estate.md defines: round(32 log2 gap), the gap in
 * [1, 2^23]; round(4 log2 (bytes + 1)). */
static unsigned gap_def(uint64_t g)
{
	g = g < 1 ? 1 : g > (1u << 23) ? 1u << 23 : g;
	return (unsigned)lround(STORE_GAP_STEPS * log2((double)g));
}

static unsigned bytes_def(uint64_t b)
{
	return (unsigned)lround(STORE_BYTES_STEPS * log2((double)b + 1.0));
}

/* The store looks buckets up in tables: the same as the formulas for
 * every gap, every byte count up to the table's end (2^24), the counts
 * around every bucket's edge up to 2^60, and random ones. */
static void test_bucket_lookup(void)
{
	unsigned bad = 0;
	for (uint64_t g = 0; g <= (1u << 23) + 2; g++)
		bad += store_gap_bucket(g) != gap_def(g);
	bad += store_gap_bucket(UINT64_MAX) != gap_def(UINT64_MAX);
	for (uint64_t b = 0; b <= (1u << 24) + 2; b++)
		bad += store_bytes_bucket(b) != bytes_def(b);
	for (unsigned k = 0; k <= 4 * 60; k++) {
		double edge = exp2((k - 0.5) / STORE_BYTES_STEPS) - 1;
		uint64_t e = (uint64_t)edge;
		for (uint64_t b = e > 64 ? e - 64 : 0; b < e + 64; b++)
			bad += store_bytes_bucket(b) != bytes_def(b);
	}
	uint64_t x = 88172645463325252ull;
	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t b = x >> (x % 64);
		bad += store_bytes_bucket(b) != bytes_def(b);
	}
	bad += store_bytes_bucket(UINT64_MAX) != bytes_def(UINT64_MAX);
	T_EQ_INT(bad, 0);
}

static void test_hist_bound(void)
{
	struct store_hist h = {0};
	for (unsigned i = 0; i < 500; i++)
		store_hist_add(&h, STORE_HIST_GAP_CAP, i * 7 % 700, 1 + i % 3);
	T_CHECK(h.n <= STORE_HIST_GAP_CAP);
	T_EQ_INT(store_hist_total(&h), 500 + 499); /* folding keeps every count */
	for (unsigned i = 1; i < h.n; i++)
		T_CHECK(h.idx[i] > h.idx[i - 1]);
	struct store_hist e = {0};
	T_EQ_INT(store_hist_quantile(&e, 0.5), 0);
}

static void test_codec(void)
{
	struct store_client_state st, back;
	beacon(&st, 900, 0.2, 0.05, 2000, 300);
	uint8_t buf[STORE_CLIENT_VAL_MAX];
	size_t n = store_client_enc(&st, buf);
	T_CHECK(n > 12 && n <= 200);
	T_EQ_INT(store_client_dec(buf, n, &back), 0);
	T_EQ_INT(back.count, st.count);
	T_EQ_INT(back.first_seen, st.first_seen);
	T_EQ_INT(back.last_seen, st.last_seen);
	T_EQ_INT(back.hours, st.hours);
	T_EQ_INT(back.gaps.n, st.gaps.n);
	T_EQ_INT(store_hist_total(&back.gaps), store_hist_total(&st.gaps));
	/* corrupt values are refused, never read past their end */
	T_EQ_INT(store_client_dec(buf, n - 1, &back), STORE_ECORRUPT);
	T_EQ_INT(store_client_dec(buf, 5, &back), STORE_ECORRUPT);
	buf[0] = 9;
	T_EQ_INT(store_client_dec(buf, n, &back), STORE_ECORRUPT);
	buf[0] = 1;
	buf[15] = 0xff; /* a histogram count above its cap, or a bad varint */
	T_CHECK(store_client_dec(buf, n, &back) == STORE_ECORRUPT ||
	        store_client_dec(buf, n, &back) == 0);
	printf("bytes per pair (2000 contacts, +-20 %% jitter): %zu value bytes\n", n);
}

static void test_order(void)
{
	struct store_client_state st;
	store_client_state_init(&st);
	store_client_add(&st, 1000, false, 0, 0);
	store_client_add(&st, 1900, false, 0, 0);
	store_client_add(&st, 1900, false, 0, 0); /* same second: a burst */
	store_client_add(&st, 1500, false, 0, 0); /* out of order */
	store_client_add(&st, 500, false, 0, 0);  /* older than first */
	T_EQ_INT(st.count, 4);
	T_EQ_INT(st.repeats, 1);
	T_EQ_INT(st.neg_gaps, 2);
	T_EQ_INT(st.first_seen, 500);
	T_EQ_INT(st.last_seen, 1900);
	T_EQ_INT(store_hist_total(&st.gaps), 1); /* only the one real gap */
}

/* A sighting of pair k (of 3) at time t, in batch b. */
static void add_sight(store_batch_t *b, unsigned k, int64_t t)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CLIENT;
	o.time_first = o.time_last = t;
	o.count = 1;
	snprintf(o.sensor, sizeof(o.sensor), "s1");
	o.client.dtype = STORE_DEST_IP;
	o.client.src = STORE_CSRC_CONN;
	o.client.ip[10] = o.client.ip[11] = o.client.client[10] = o.client.client[11] = 0xff;
	o.client.ip[12] = 198;
	o.client.ip[15] = (uint8_t)(1 + k);
	o.client.client[12] = 10;
	o.client.client[15] = 7;
	T_EQ_INT(store_batch_add(b, &o), 0);
}

static int merged_cb(const struct store_client_row *row, void *ctx)
{
	unsigned *seen = ctx;
	(*seen)++;
	/* 600 contacts, 60 s apart, in any order across two batches: one
	 * transaction sorts them, so no gap is negative and none is lost */
	T_EQ_INT(row->st.count, 600);
	T_EQ_INT(row->st.neg_gaps, 0);
	T_EQ_INT(row->st.repeats, 0);
	T_EQ_INT(store_hist_total(&row->st.gaps), 599);
	T_EQ_INT(row->st.gaps.n, 1);
	T_EQ_INT(row->st.last_seen - row->st.first_seen, 599 * 60);
	return 0;
}

static void test_merge_order(void)
{
	store_t *s;
	store_batch_t *b[2];
	T_EQ_INT(store_open(&s, t_tmpdir(), STORE_NOSYNC, 0), 0);
	T_EQ_INT(store_batch_new(&b[0]), 0);
	T_EQ_INT(store_batch_new(&b[1]), 0);
	/* a reservation past the batch's 4 GiB limit is refused, the batch
	 * unchanged; a fitting one holds the sightings without growing */
	T_EQ_INT(store_client_batch_reserve(b[0], (size_t)UINT32_MAX + 1), STORE_ELIMIT);
	T_EQ_INT(store_batch_len(b[0]), 0);
	T_EQ_INT(store_client_batch_reserve(b[0], 900 * 64), 0);
	T_EQ_INT(store_client_batch_bytes(b[0]), 0);
	/* pairs interleaved, each one's times shuffled, split over two
	 * batches (the later batch holds some of the earliest contacts) */
	for (unsigned i = 0; i < 600; i++) {
		unsigned j = (i * 389) % 600; /* 389 is prime to 600: a permutation */
		for (unsigned k = 0; k < 3; k++)
			add_sight(b[(i + k) % 3 == 0], k, 1700000000 + (int64_t)j * 60);
	}
	T_CHECK(store_client_batch_bytes(b[0]) > 0);
	T_EQ_INT(store_batch_len(b[0]) + store_batch_len(b[1]), 1800);
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write_batches(s, b, 2, &ws), 0);
	T_EQ_INT(ws.clients, 1800);
	T_EQ_INT(ws.client_pairs_new, 3);
	store_rtxn_t *r;
	unsigned seen = 0;
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(store_clients_scan(r, merged_cb, &seen), 0);
	store_read_end(r);
	T_EQ_INT(seen, 3);
	store_batch_free(b[0]);
	store_batch_free(b[1]);
	store_close(s);
}

/* ---- summaries of many destinations in one read ----------------------------- */

/* Destination k (an IP 198.0.0.k+1, or with name a domain) contacted by
 * k+1 clients every 60 (k+1) s, from two sensors for k odd: each
 * destination's summary differs from the others'. */
static void sum_dest(store_batch_t *b, unsigned k, const char *name)
{
	for (unsigned c = 0; c <= k; c++) {
		for (unsigned i = 0; i < 40; i++) {
			struct store_obs o;
			memset(&o, 0, sizeof(o));
			o.kind = STORE_OBS_CLIENT;
			o.time_first = o.time_last =
			    1700000000 + (int64_t)(i * 60 * (k + 1) + c * 7);
			o.count = 1;
			snprintf(o.sensor, sizeof(o.sensor), "s%u", (k & 1) ? c % 2 : 0);
			o.client.dtype = name != NULL ? STORE_DEST_DOMAIN : STORE_DEST_IP;
			o.client.src = name != NULL ? STORE_CSRC_SNI : STORE_CSRC_CONN;
			if (name != NULL)
				snprintf(o.client.name, sizeof(o.client.name), "%s", name);
			T_EQ_INT(store_addr_parse("198.51.100.1", 12, o.client.ip), 0);
			o.client.ip[15] = (uint8_t)(1 + k);
			T_EQ_INT(store_addr_parse("10.0.0.1", 8, o.client.client), 0);
			o.client.client[15] = (uint8_t)(1 + c);
			T_EQ_INT(store_batch_add(b, &o), 0);
		}
	}
}

/* estate_summaries_read gives, key by key in input order, what
 * estate_summary_get gives for each: unknown destinations and a run of
 * rows of one key between others' included. */
static void test_summaries(void)
{
	store_t *s;
	store_batch_t *b;
	T_EQ_INT(store_open(&s, t_tmpdir(), STORE_NOSYNC, 0), 0);
	T_EQ_INT(store_batch_new(&b), 0);
	for (unsigned k = 0; k < 4; k++)
		sum_dest(b, k, NULL);
	sum_dest(b, 4, "c2.example.com");
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write_batches(s, &b, 1, &ws), 0);
	const char *v[] = {"198.51.100.3", "c2.example.com",  "192.0.2.9",   "198.51.100.1",
	                   "198.51.100.4", "nothere.example", "198.51.100.2"};
	enum { N = sizeof(v) / sizeof(v[0]) };
	struct store_client_dest d[N];
	for (size_t i = 0; i < N; i++) {
		d[i] = (struct store_client_dest){STORE_DEST_IP, v[i], {0}};
		if (store_addr_parse(v[i], strlen(v[i]), d[i].ip) != 0)
			d[i].dtype = STORE_DEST_DOMAIN;
	}
	struct estate_summary sum[N];
	bool found[N];
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(estate_summaries_read(r, d, N, sum, found), 0);
	T_EQ_INT(estate_summaries_read(r, d, 0, sum, found), 0);
	store_read_end(r);
	unsigned nfound = 0;
	for (size_t i = 0; i < N; i++) {
		struct estate_summary one;
		bool f = estate_summary_get(s, d[i].dtype, v[i], &one);
		T_EQ_INT(found[i], f);
		nfound += f;
		T_EQ_INT(sum[i].hosts, one.hosts);
		T_EQ_INT(sum[i].orgs, one.orgs);
		T_EQ_INT(sum[i].sensors, one.sensors);
		T_CHECK(sum[i].score == one.score);
		T_CHECK(sum[i].period_s == one.period_s);
	}
	T_EQ_INT(nfound, 5);
	T_EQ_INT(sum[0].hosts, 3); /* 198.51.100.3: k = 2 */
	T_EQ_INT(sum[1].hosts, 5); /* the domain: k = 4 */
	T_EQ_INT(sum[4].sensors, 2);
	store_batch_free(b);
	store_close(s);
}

/* ---- prepared batches: sorted runs merged give what one sort gives --------- */
#define PP_PAIRS 40
#define PP_MAX 3000
struct pp_sight {
	unsigned pair, sensor, seq;
	int64_t t;
	uint64_t out, in;
};
static struct pp_sight pp[PP_MAX];
static size_t npp;

/* Pair k: an IP destination or a domain of its own length (so that the
 * pair hash reads whole words and tails), from one of five clients. */
static void pp_obs(struct store_obs *o, const struct pp_sight *x)
{
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_CLIENT;
	o->time_first = o->time_last = x->t;
	o->count = 1;
	snprintf(o->sensor, sizeof(o->sensor), "s%u", x->sensor);
	o->client.src = x->pair % 7 == 0 ? STORE_CSRC_TLS : STORE_CSRC_CONN;
	o->client.has_bytes = x->pair % 5 != 0;
	o->client.bytes_out = x->out;
	o->client.bytes_in = x->in;
	if (x->pair % 2 == 0) {
		o->client.dtype = STORE_DEST_IP;
		o->client.ip[10] = o->client.ip[11] = 0xff;
		o->client.ip[12] = 198;
		o->client.ip[15] = (uint8_t)(1 + x->pair);
	} else {
		o->client.dtype = STORE_DEST_DOMAIN;
		snprintf(o->client.name, sizeof(o->client.name), "%.*s.example.net",
		         (int)(1 + x->pair),
		         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	}
	o->client.client[10] = o->client.client[11] = 0xff;
	o->client.client[12] = 10;
	o->client.client[15] = (uint8_t)(1 + x->pair % 5);
}

/* Sightings whose order is hard on a sort: pair 0 in reverse (a long run
 * of one hash), pair 1 all in one second (half its byte counts past any
 * bucket a byte holds), the rest shuffled; sensor s2
 * on a few pairs.  Batch i of nb takes a slice in arrival order. */
static void pp_make(void)
{
	npp = 0;
	for (unsigned i = 0; i < 400; i++)
		pp[npp++] = (struct pp_sight){0, 1, 0, 1700100000 - (int64_t)i * 900, 300, 4000};
	for (unsigned i = 0; i < 100; i++)
		pp[npp++] = (struct pp_sight){1, 1, 0, 1700000000, 10 + i, i % 2 ? UINT64_MAX : 20};
	while (npp < PP_MAX) {
		unsigned k = 2 + (unsigned)(rnd() * (PP_PAIRS - 2));
		int64_t t = 1700000000 + (int64_t)(rnd() * 7 * 86400);
		pp[npp++] =
		    (struct pp_sight){k, k % 6 == 0 ? 2 : 1,       0,
		                      t, (uint64_t)(rnd() * 5000), (uint64_t)(rnd() * 90000)};
	}
	for (size_t i = npp - 1; i > 500; i--) { /* shuffle all but pairs 0 and 1 */
		size_t j = 500 + (size_t)(rnd() * (double)(i - 500 + 1));
		struct pp_sight x = pp[i];
		pp[i] = pp[j];
		pp[j] = x;
	}
	for (size_t i = 0; i < npp; i++)
		pp[i].seq = (unsigned)i;
}

/* Write the sightings in nb batches (prepared or not) into a new store,
 * then read back every row, encoded, in scan order. */
static size_t pp_write(bool prepare, size_t nb, uint8_t (*rows)[STORE_CLIENT_VAL_MAX + 64],
                       size_t *lens);

struct pp_read {
	uint8_t (*rows)[STORE_CLIENT_VAL_MAX + 64];
	size_t *lens, n;
};

static int pp_row_cb(const struct store_client_row *row, void *ctx)
{
	struct pp_read *r = ctx;
	T_CHECK(r->n < PP_PAIRS * 2);
	uint8_t *b = r->rows[r->n];
	size_t l = 0;
	b[l++] = row->dtype;
	b[l++] = row->src;
	b[l++] = (uint8_t)row->sensor_id;
	memcpy(b + l, row->client, 16);
	l += 16;
	memcpy(b + l, row->ip, 16);
	l += 16;
	l += store_client_enc(&row->st, b + l);
	r->lens[r->n++] = l;
	return 0;
}

static size_t pp_write(bool prepare, size_t nb, uint8_t (*rows)[STORE_CLIENT_VAL_MAX + 64],
                       size_t *lens)
{
	store_t *s;
	store_batch_t *b[8];
	T_EQ_INT(store_open(&s, t_tmpdir(), STORE_NOSYNC, 0), 0);
	for (size_t i = 0; i < nb; i++)
		T_EQ_INT(store_batch_new(&b[i]), 0);
	struct store_obs o;
	for (size_t i = 0; i < npp; i++) {
		pp_obs(&o, &pp[i]);
		/* the last batch mixes both sensors: left unprepared */
		size_t bi = pp[i].sensor == 2 ? nb - 1 : i * (nb - 1) / npp;
		T_EQ_INT(store_batch_add(b[bi], &o), 0);
	}
	/* every other batch sorts in room of ours, reused as a helper does */
	struct util_buf tmp;
	util_buf_init(&tmp, SIZE_MAX / 2);
	for (size_t i = 0; prepare && i < nb; i++)
		T_EQ_INT(store_client_batch_prepare(b[i], i % 2 ? &tmp : NULL), 0);
	util_buf_free(&tmp);
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write_batches(s, b, nb, &ws), 0);
	T_EQ_INT(ws.clients, npp);
	store_rtxn_t *r;
	struct pp_read rd = {rows, lens, 0};
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(store_clients_scan(r, pp_row_cb, &rd), 0);
	store_read_end(r);
	for (size_t i = 0; i < nb; i++)
		store_batch_free(b[i]);
	store_close(s);
	return rd.n;
}

static int pp_cmp(const void *a, const void *b)
{
	const struct pp_sight *x = a, *y = b;
	if (x->pair != y->pair)
		return x->pair < y->pair ? -1 : 1;
	if (x->sensor != y->sensor)
		return x->sensor < y->sensor ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The oracle: each (pair, sensor)'s sightings sorted by time and
 * arrival, folded one by one. */
static void pp_expect(struct store_client_state *exp, unsigned *nexp)
{
	static struct pp_sight sorted[PP_MAX];
	memcpy(sorted, pp, npp * sizeof(pp[0]));
	qsort(sorted, npp, sizeof(sorted[0]), pp_cmp);
	*nexp = 0;
	for (size_t i = 0; i < npp; i++) {
		if (i == 0 || sorted[i].pair != sorted[i - 1].pair ||
		    sorted[i].sensor != sorted[i - 1].sensor)
			store_client_state_init(&exp[(*nexp)++]);
		struct store_obs o;
		pp_obs(&o, &sorted[i]);
		store_client_add(&exp[*nexp - 1], sorted[i].t, o.client.has_bytes, sorted[i].out,
		                 sorted[i].in);
	}
}

static void test_prepared(void)
{
	static uint8_t a[PP_PAIRS * 2][STORE_CLIENT_VAL_MAX + 64];
	static uint8_t b[PP_PAIRS * 2][STORE_CLIENT_VAL_MAX + 64];
	size_t la[PP_PAIRS * 2], lb[PP_PAIRS * 2];
	pp_make();
	/* a prepared batch is sorted once; adding to it undoes that */
	store_batch_t *x;
	struct store_obs o;
	T_EQ_INT(store_batch_new(&x), 0);
	T_EQ_INT(store_client_batch_prepare(x, NULL), 0); /* empty: nothing to do */
	pp_obs(&o, &pp[0]);
	T_EQ_INT(store_batch_add(x, &o), 0);
	T_EQ_INT(store_client_batch_prepare(x, NULL), 0);
	T_EQ_INT(store_batch_add(x, &o), 0);
	T_EQ_INT(store_batch_len(x), 2);
	store_batch_free(x);
	size_t na = pp_write(false, 6, a, la);
	size_t nb = pp_write(true, 6, b, lb);
	struct store_client_state exp[PP_PAIRS * 2];
	unsigned nexp;
	pp_expect(exp, &nexp);
	T_EQ_INT(na, nexp);
	T_EQ_INT(nb, nexp);
	for (size_t i = 0; i < na && i < nb; i++) {
		T_EQ_INT(la[i], lb[i]);
		T_CHECK(memcmp(a[i], b[i], la[i]) == 0);
	}
	/* each row against the oracle's fold of its pair (rows come in key
	 * order, the oracle in pair order: match by encoding) */
	unsigned matched = 0;
	for (unsigned k = 0; k < nexp; k++) {
		uint8_t enc[STORE_CLIENT_VAL_MAX];
		size_t l = store_client_enc(&exp[k], enc);
		for (size_t i = 0; i < nb; i++)
			if (lb[i] == 35 + l && memcmp(b[i] + 35, enc, l) == 0) {
				matched++;
				break;
			}
	}
	T_EQ_INT(matched, nexp);
	/* pair 0 came in reverse order: sorted, its 399 gaps are all real */
	T_EQ_INT(exp[0].count, 400);
	T_EQ_INT(exp[0].neg_gaps, 0);
	T_EQ_INT(store_hist_total(&exp[0].gaps), 399);
}

/* Rows of the IP pairs of pp, added as observations or as parsed
 * sightings (store_client_batch_add_ip): the same rows. */
static size_t pp_write_ip(bool direct, uint8_t (*rows)[STORE_CLIENT_VAL_MAX + 64], size_t *lens)
{
	store_t *s;
	store_batch_t *b;
	T_EQ_INT(store_open(&s, t_tmpdir(), STORE_NOSYNC, 0), 0);
	T_EQ_INT(store_batch_new(&b), 0);
	struct store_obs o;
	for (size_t i = 0; i < npp; i++) {
		if (pp[i].pair % 2 != 0)
			continue;
		pp_obs(&o, &pp[i]);
		struct store_client_ip_sight x = {.t = o.time_first,
		                                  .src = o.client.src,
		                                  .has_bytes = o.client.has_bytes,
		                                  .bytes_out = o.client.bytes_out,
		                                  .bytes_in = o.client.bytes_in,
		                                  .client = o.client.client,
		                                  .ip = o.client.ip};
		T_EQ_INT(direct ? store_client_batch_add_ip(b, o.sensor, &x)
		                : store_batch_add(b, &o),
		         0);
	}
	T_EQ_INT(store_write_batches(s, &b, 1, NULL), 0);
	store_rtxn_t *r;
	struct pp_read rd = {rows, lens, 0};
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(store_clients_scan(r, pp_row_cb, &rd), 0);
	store_read_end(r);
	store_batch_free(b);
	store_close(s);
	return rd.n;
}

static void test_add_ip(void)
{
	static uint8_t a[PP_PAIRS * 2][STORE_CLIENT_VAL_MAX + 64];
	static uint8_t b[PP_PAIRS * 2][STORE_CLIENT_VAL_MAX + 64];
	size_t la[PP_PAIRS * 2], lb[PP_PAIRS * 2];
	pp_make();
	size_t na = pp_write_ip(false, a, la), nb = pp_write_ip(true, b, lb);
	T_CHECK(na >= 20);
	T_EQ_INT(na, nb);
	for (size_t i = 0; i < na && i < nb; i++)
		T_CHECK(la[i] == lb[i] && memcmp(a[i], b[i], la[i]) == 0);
	/* what is refused leaves the batch as it was */
	store_batch_t *x;
	T_EQ_INT(store_batch_new(&x), 0);
	uint8_t ip[16] = {0}, cl[16] = {0};
	struct store_client_ip_sight y = {.t = 1, .src = 0, .client = cl, .ip = ip};
	T_EQ_INT(store_client_batch_add_ip(x, "s1", &y), STORE_EBADTYPE);
	y.src = STORE_CSRC_MAX + 1;
	T_EQ_INT(store_client_batch_add_ip(x, "s1", &y), STORE_EBADTYPE);
	y.src = STORE_CSRC_CONN;
	char longname[STORE_SENSOR_MAX + 8];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	T_EQ_INT(store_client_batch_add_ip(x, longname, &y), STORE_ELIMIT);
	T_EQ_INT(store_batch_len(x), 0);
	T_EQ_INT(store_client_batch_add_ip(x, "", &y), 0);
	T_EQ_INT(store_batch_len(x), 1);
	store_batch_free(x);
}

static void test_scorer(void)
{
	struct store_client_state st;
	struct estate_pair_score ps;
	double jit[] = {0, 0.1, 0.3};
	for (unsigned i = 0; i < 3; i++) {
		beacon(&st, 900, jit[i], 0, 700, 300);
		estate_score_pair(&st, NULL, &ps);
		T_CHECK(fabs(ps.period_s - 900) / 900 < 0.1);
		T_CHECK(ps.score > 0.6);
	}
	beacon(&st, 1000, 0.1, 0, 700, 300);
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(fabs(ps.period_s - 1000) / 1000 < 0.05); /* 900 and 1000 apart */
	beacon(&st, 3600, 0.2, 0.3, 200, 300);           /* 30 % of contacts missed */
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(fabs(ps.period_s - 3600) / 3600 < 0.1);
	T_CHECK(ps.score > 0.5);
	double good = ps.score;
	beacon(&st, 3600, 0.2, 0.3, 200, 30 << 20); /* the same with big uploads */
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(ps.score < good / 2);
	/* random contacts: no rhythm */
	store_client_state_init(&st);
	double t = 1700000000;
	for (int i = 0; i < 500; i++) {
		t += -log(1 - rnd()) * 1800;
		store_client_add(&st, (int64_t)t, false, 0, 0);
	}
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(ps.score < 0.3);
	/* too few contacts to say anything */
	beacon(&st, 900, 0, 0, 3, 300);
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(ps.score == 0);
	/* bursts (one-second gaps) are not a period */
	beacon(&st, 1, 0, 0, 500, 300);
	estate_score_pair(&st, NULL, &ps);
	T_CHECK(ps.score == 0);
}

static void test_internal(void)
{
	struct estate_nets nets = {0};
	uint8_t a[16];
	T_EQ_INT(estate_nets_add(&nets, "198.51.100.0/24, 2001:db8::/32"), 0);
	T_EQ_INT(estate_nets_add(&nets, "not-a-cidr"), STORE_EBADADDR);
	const char *in[] = {"10.1.2.3",  "192.168.0.1",  "172.31.255.255",
	                    "127.0.0.1", "169.254.1.1",  "fd00::1",
	                    "fe80::1",   "198.51.100.7", "2001:db8::5"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		store_addr_parse(in[i], strlen(in[i]), a);
		T_CHECK(estate_ip_internal(&nets, a));
	}
	const char *out[] = {"8.8.8.8", "172.32.0.1", "2606:4700::1", "198.51.101.1"};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		store_addr_parse(out[i], strlen(out[i]), a);
		T_CHECK(!estate_ip_internal(&nets, a));
	}
	T_CHECK(estate_name_internal("wsus.corp.internal"));
	T_CHECK(estate_name_internal("printer.local"));
	T_CHECK(estate_name_internal("fileserver"));
	T_CHECK(!estate_name_internal("example.com"));
	T_CHECK(!estate_name_internal("notlocal"
	                              ".com"));
}

int main(void)
{
	test_buckets();
	test_bucket_lookup();
	test_hist_bound();
	test_codec();
	test_order();
	test_merge_order();
	test_summaries();
	test_prepared();
	test_add_ip();
	test_scorer();
	test_internal();
	return t_done();
}
