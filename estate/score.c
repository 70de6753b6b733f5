/*
 * score.c - the rhythm of one (client, destination) pair from its bounded
 * state: the dominant gap and how tightly gaps gather around it (and its
 * multiples, for missed contacts), hours-of-day persistence, and small
 * steady byte counts.  The reasoning is in docs/estate.md.
 */
#include <math.h>
#include <string.h>

#include "estate/estate.h"

/* Window around the period: +-35 % holds uniform jitter of +-30 %. */
#define WIN_LOG2 0.433 /* log2(1.35) */
/* Window around multiples of the period (missed contacts). */
#define HARM_LOG2 0.2 /* log2(1.15) */

struct gapwin {
	unsigned lo, hi; /* bucket range of the best window */
	uint64_t mass;
};

static uint64_t mass_in(const struct store_hist *h, double lo, double hi)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (h->idx[i] >= lo && h->idx[i] <= hi)
			m += h->cnt[i];
	return m;
}

/* The window of +-WIN holding most gaps (each bucket a candidate centre). */
static void best_window(const struct store_hist *h, unsigned min_idx, struct gapwin *w)
{
	double half = WIN_LOG2 * STORE_GAP_STEPS;
	memset(w, 0, sizeof(*w));
	for (unsigned i = 0; i < h->n; i++) {
		if (h->idx[i] < min_idx)
			continue;
		/* windows starting at a bucket: a skewed jitter still fits */
		double lo = h->idx[i], hi = h->idx[i] + 2 * half;
		uint64_t m = mass_in(h, lo, hi);
		if (m > w->mass) {
			w->mass = m;
			w->lo = h->idx[i];
			w->hi = (unsigned)hi;
		}
	}
}

/* Mean gap in the window and the mean relative deviation around it. */
static double window_period(const struct store_hist *h, const struct gapwin *w, double *spread)
{
	double sum = 0, n = 0;
	for (unsigned i = 0; i < h->n; i++) {
		if (h->idx[i] < w->lo || h->idx[i] > w->hi)
			continue;
		sum += store_gap_value(h->idx[i]) * h->cnt[i];
		n += h->cnt[i];
	}
	double p = n > 0 ? sum / n : 0;
	double dev = 0;
	for (unsigned i = 0; i < h->n && p > 0; i++)
		if (h->idx[i] >= w->lo && h->idx[i] <= w->hi)
			dev += fabs(store_gap_value(h->idx[i]) - p) / p * h->cnt[i];
	*spread = n > 0 ? dev / n : 1;
	return p;
}

/* Gaps at 2, 3 and 4 times the period: contacts the sensor missed. */
static uint64_t harmonics(const struct store_hist *h, double period)
{
	uint64_t m = 0;
	for (int k = 2; k <= 4; k++) {
		double c = STORE_GAP_STEPS * log2(period * k);
		m += mass_in(h, c - HARM_LOG2 * STORE_GAP_STEPS, c + HARM_LOG2 * STORE_GAP_STEPS);
	}
	return m;
}

static double regularity(const struct store_client_state *st, struct estate_pair_score *ps)
{
	const struct store_hist *h = &st->gaps;
	unsigned min_idx = store_gap_bucket(ESTATE_MIN_PERIOD);
	uint64_t total = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (h->idx[i] >= min_idx)
			total += h->cnt[i];
	ps->gaps = total;
	if (total < 3)
		return 0;
	struct gapwin w;
	best_window(h, min_idx, &w);
	ps->period_s = window_period(h, &w, &ps->spread);
	uint64_t harm = harmonics(h, ps->period_s);
	ps->regular = (double)(w.mass + harm) / (double)total;
	if (ps->regular > 1)
		ps->regular = 1;
	/* uniform +-30 % jitter spreads gaps by ~0.15 on average */
	double tight = 1 - fmin(1, ps->spread / 0.4);
	double confidence = 1 - exp(-(double)w.mass / 6.0);
	return ps->regular * (0.5 + 0.5 * tight) * confidence;
}

static double hours_persistence(const struct store_client_state *st)
{
	double span_h = (double)(st->last_seen - st->first_seen) / 3600.0 + 1;
	double expect = fmin(24, fmin(span_h, (double)st->count));
	unsigned got = (unsigned)__builtin_popcount(st->hours & 0xffffff);
	return expect > 0 ? fmin(1, got / expect) : 0;
}

/* 1 up to good bytes, falling to 0 at bad (log scale). */
static double small(double v, double good, double bad)
{
	if (v <= good)
		return 1;
	if (v >= bad)
		return 0;
	return 1 - log(v / good) / log(bad / good);
}

static double bytes_factor(const struct store_client_state *bst, struct estate_pair_score *ps)
{
	ps->bytes_out_median = ps->bytes_in_median = -1;
	if (bst == NULL || bst->out.n == 0)
		return 0.5; /* unknown: neither for nor against */
	ps->bytes_out_median = store_bytes_value(store_hist_quantile(&bst->out, 0.5));
	ps->bytes_in_median = store_bytes_value(store_hist_quantile(&bst->in, 0.5));
	double size = fmin(small(ps->bytes_out_median, 4096, 1 << 20),
	                   small(ps->bytes_in_median, 65536, 16 << 20));
	double iqr =
	    (double)(store_hist_quantile(&bst->out, 0.75) - store_hist_quantile(&bst->out, 0.25)) /
	    STORE_BYTES_STEPS;
	double steady = 1 - fmin(1, iqr / 3.0);
	/* large transfers are downloads or uploads, whatever their rhythm */
	return size * (0.5 + 0.5 * steady);
}

void estate_score_pair(const struct store_client_state *st, const struct store_client_state *bst,
                       struct estate_pair_score *ps)
{
	memset(ps, 0, sizeof(*ps));
	double r = regularity(st, ps);
	ps->hours = hours_persistence(st);
	ps->bytes = bytes_factor(bst != NULL ? bst : st, ps);
	ps->score = r * sqrt(ps->hours) * (0.25 + 0.75 * ps->bytes);
}
