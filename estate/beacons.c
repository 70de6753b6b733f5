/*
 * beacons.c - one pass over the client table, grouped by destination:
 * pairs scored (pairs.c), destinations kept when their rhythm can rank,
 * then prevalence against every organisation's hosts and freshness.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estate/estate_internal.h"

void estate_opts_init(struct estate_opts *o, int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->now = now;
	o->limit = 50;
}

static size_t dest_key(const struct store_client_row *row, uint8_t *key)
{
	key[0] = row->dtype;
	if (row->dtype == STORE_DEST_IP) {
		memcpy(key + 1, row->ip, 16);
		return 17;
	}
	size_t n = strlen(row->name);
	memcpy(key + 1, row->name, n);
	return n + 1;
}

static void dest_begin(struct destacc *d, const struct store_client_row *row)
{
	memset(d, 0, sizeof(*d));
	d->klen = dest_key(row, d->key);
	d->dtype = row->dtype;
	if (row->dtype == STORE_DEST_IP) {
		memcpy(d->ip, row->ip, 16);
		store_addr_format(row->ip, d->name);
	} else {
		snprintf(d->name, sizeof(d->name), "%s", row->name);
	}
}

static int client_org_cmp(const void *a, const void *b)
{
	const struct estate_client *x = a, *y = b;
	if (x->org_idx != y->org_idx)
		return x->org_idx < y->org_idx ? -1 : 1;
	return memcmp(x->client, y->client, 16);
}

/* Hosts per organisation (a private address is a host of its org only). */
static int dest_orgs(struct scan *sc, struct destacc *d)
{
	qsort(d->clients, d->nclients, sizeof(d->clients[0]), client_org_cmp);
	d->oc = calloc(d->nclients, sizeof(*d->oc));
	if (d->oc == NULL)
		return -1;
	for (size_t i = 0; i < d->nclients; i++) {
		const struct estate_client *c = &d->clients[i];
		bool new_org = i == 0 || c->org_idx != d->clients[i - 1].org_idx;
		if (new_org)
			d->oc[d->noc++] = (struct orgcount){c->org_idx, 0};
		if (new_org || memcmp(c->client, d->clients[i - 1].client, 16) != 0)
			d->oc[d->noc - 1].hosts++;
		if (sc->o->org != NULL && new_org && strcmp(c->org, sc->o->org) == 0)
			d->org_match = true;
	}
	return 0;
}

static double dest_rhythm(const struct destacc *d)
{
	double top[5] = {0};
	for (size_t i = 0; i < d->nclients; i++) {
		double s = d->clients[i].ps.score;
		for (int k = 0; k < 5; k++) {
			if (s > top[k]) {
				memmove(&top[k + 1], &top[k], (size_t)(4 - k) * sizeof(double));
				top[k] = s;
				break;
			}
		}
	}
	size_t n = d->nclients < 5 ? d->nclients : 5;
	double mean = 0;
	for (size_t k = 0; k < n; k++)
		mean += top[k] / (double)n;
	return 0.6 * top[0] + 0.4 * mean;
}

static bool dest_internal(struct scan *sc, struct destacc *d)
{
	if (d->dtype == STORE_DEST_IP)
		return estate_ip_internal(&sc->nets, d->ip);
	if (estate_name_internal(d->name))
		return true;
	dest_resolve(sc, d);
	for (unsigned i = 0; i < d->nips; i++)
		if (!estate_ip_internal(&sc->nets, d->ips[i]))
			return false;
	return d->nips > 0;
}

static void dest_drop(struct destacc *d)
{
	free(d->clients);
	free(d->oc);
	d->clients = NULL;
	d->oc = NULL;
	d->nclients = d->capclients = 0;
}

static int dest_keep(struct scan *sc, struct destacc *d)
{
	if (sc->ncands == sc->capcands) {
		size_t nc = sc->capcands ? sc->capcands * 2 : 64;
		struct destacc *n = realloc(sc->cands, nc * sizeof(*n));
		if (n == NULL)
			return -1;
		sc->cands = n;
		sc->capcands = nc;
	}
	sc->cands[sc->ncands++] = *d;
	d->clients = NULL;
	d->oc = NULL;
	return 0;
}

/* A candidate keeps its counts, not its clients: the ranked ones are
 * read again (dest_reload), so memory follows the candidates, not pairs. */
static void dest_slim(struct destacc *d)
{
	d->first_seen = INT64_MAX;
	for (size_t i = 0; i < d->nclients; i++)
		if (d->clients[i].first_seen < d->first_seen)
			d->first_seen = d->clients[i].first_seen;
	free(d->clients);
	d->clients = NULL;
	d->nclients = d->capclients = 0;
}

static int dest_finish(struct scan *sc)
{
	struct destacc *d = &sc->cur;
	if (pair_finish(sc, d, &sc->pair) != 0)
		return -1;
	pairacc_reset(&sc->pair);
	if (d->nclients == 0)
		return 0;
	if (dest_orgs(sc, d) != 0)
		return -1;
	d->rhythm = dest_rhythm(d);
	if (sc->reload) {
		*sc->reloaded = *d;
		d->clients = NULL;
		d->oc = NULL;
		return 0;
	}
	bool keep =
	    sc->keep_all || (d->rhythm >= sc->keep_min && (sc->o->org == NULL || d->org_match) &&
	                     (sc->o->include_internal || !dest_internal(sc, d)));
	if (keep && !sc->keep_all)
		dest_slim(d);
	if (keep && dest_keep(sc, d) != 0)
		return -1;
	dest_drop(d);
	return 0;
}

static int scan_cb(const struct store_client_row *row, void *ctx)
{
	struct scan *sc = ctx;
	const struct estate_opts *o = sc->o;
	if ((o->since > 0 && row->st.last_seen < o->since) ||
	    (o->until > 0 && row->st.first_seen > o->until))
		return 0;
	uint8_t key[sizeof(sc->cur.key)];
	size_t kl = dest_key(row, key);
	if (kl != sc->cur.klen || memcmp(key, sc->cur.key, kl) != 0) {
		if (sc->cur.klen > 0 && dest_finish(sc) != 0)
			return -ENOMEM;
		dest_begin(&sc->cur, row);
	} else if (sc->pair.nrows > 0 && (memcmp(row->client, sc->pair.client, 16) != 0 ||
	                                  row->sensor_id != sc->pair.sid)) {
		if (pair_finish(sc, &sc->cur, &sc->pair) != 0)
			return -ENOMEM;
		pairacc_reset(&sc->pair);
	}
	pairacc_add(&sc->pair, row);
	return sc->err;
}

/* A scan within the read r (the caller's to end). */
static int scan_setup(struct scan *sc, store_rtxn_t *r, const struct estate_opts *o)
{
	memset(sc, 0, sizeof(*sc));
	sc->r = r;
	sc->o = o;
	sc->join = true;
	sc->keep_min = fmax(0.05, o->min_score);
	pairacc_reset(&sc->pair);
	char stored[STORE_INTERNAL_MAX];
	store_internal_get(sc->r, stored);
	if (estate_nets_add(&sc->nets, stored) != 0 ||
	    (o->internal != NULL && estate_nets_add(&sc->nets, o->internal) != 0))
		return STORE_EBADADDR;
	return 0;
}

static int scan_init(struct scan *sc, store_t *s, const struct estate_opts *o)
{
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	err = scan_setup(sc, r, o);
	if (err != 0)
		store_read_end(r);
	return err;
}

/* Everything but the read. */
static void scan_release(struct scan *sc)
{
	for (size_t i = 0; i < sc->ncands; i++)
		dest_drop(&sc->cands[i]);
	dest_drop(&sc->cur);
	free(sc->cands);
	free(sc->sens);
	free(sc->orgs);
	free(sc->org_hosts);
	free(sc->hosts);
}

static void scan_free(struct scan *sc)
{
	scan_release(sc);
	store_read_end(sc->r);
}

/* Mean share of each organisation's hosts that contact the destination:
 * 1 for a service every host of every organisation uses. */
static double prevalence(const struct scan *sc, const struct destacc *d)
{
	if (sc->norgs == 0)
		return 0;
	double sum = 0;
	for (unsigned i = 0; i < d->noc; i++) {
		uint64_t tot = sc->org_hosts[d->oc[i].org];
		sum += tot > 0 ? fmin(1, (double)d->oc[i].hosts / (double)tot) : 0;
	}
	return sum / sc->norgs;
}

static int score_cmp(const void *a, const void *b)
{
	const struct estate_dest *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct estate_client *x = a, *y = b;
	if (x->ps.score != y->ps.score)
		return x->ps.score < y->ps.score ? 1 : -1;
	return memcmp(x->client, y->client, 16);
}

static double median_of(double *v, size_t n)
{
	if (n == 0)
		return -1;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* Period and byte medians over the pairs that carry the rhythm. */
static void dest_medians(struct estate_dest *d)
{
	double *p = malloc((d->nclients + 1) * 2 * sizeof(double));
	if (p == NULL)
		return;
	double *b = p + d->nclients + 1;
	size_t np = 0, nb = 0;
	double best = d->nclients > 0 ? d->clients[0].ps.score : 0;
	for (size_t i = 0; i < d->nclients; i++) {
		const struct estate_client *c = &d->clients[i];
		if (c->ps.period_s > 0 && c->ps.score >= 0.5 * best)
			p[np++] = c->ps.period_s;
		if (c->ps.bytes_out_median >= 0)
			b[nb++] = c->ps.bytes_out_median;
	}
	d->period_s = np > 0 ? median_of(p, np) : 0;
	d->bytes_out_median = median_of(b, nb);
	free(p);
}

static void dest_counts(const struct destacc *a, struct estate_dest *d)
{
	d->orgs = a->noc;
	d->hosts = 0;
	for (unsigned i = 0; i < a->noc; i++)
		d->hosts += a->oc[i].hosts;
	d->first_seen = INT64_MAX;
	for (size_t i = 0; i < a->nclients; i++) {
		const struct estate_client *c = &a->clients[i];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(a->clients[j].sensor, c->sensor) == 0;
		d->sensors += !seen;
		d->count += c->count;
		if (c->first_seen < d->first_seen)
			d->first_seen = c->first_seen;
		if (c->last_seen > d->last_seen)
			d->last_seen = c->last_seen;
	}
}

/* The result for a candidate: scores, counts, clients, reasons. */
static void materialize(struct scan *sc, struct destacc *a, struct estate_dest *d, bool prev)
{
	memset(d, 0, sizeof(*d));
	d->dtype = a->dtype;
	memcpy(d->name, a->name, sizeof(d->name));
	memcpy(d->ip, a->ip, 16);
	dest_counts(a, d);
	d->age_days = (double)(sc->o->now - d->first_seen) / 86400.0;
	d->rhythm = a->rhythm;
	d->prevalence = prev ? prevalence(sc, a) : 0;
	d->fresh = d->age_days <= 14 ? 1 : exp(-(d->age_days - 14) / 30.0);
	double rare = (1 - d->prevalence) * (1 - d->prevalence);
	d->score = a->rhythm * rare * (0.7 + 0.3 * d->fresh);
	d->internal = dest_internal(sc, a);
	qsort(a->clients, a->nclients, sizeof(a->clients[0]), pair_cmp);
	d->clients = a->clients;
	d->nclients = a->nclients;
	a->clients = NULL;
	dest_medians(d);
	estate_reasons(sc, a, d);
}

static int cand_cmp(const void *a, const void *b)
{
	const struct destacc *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Read a ranked candidate's clients again into out. */
static int dest_reload(struct scan *sc, const struct destacc *cand, struct destacc *out)
{
	memset(out, 0, sizeof(*out));
	memset(&sc->cur, 0, sizeof(sc->cur));
	pairacc_reset(&sc->pair);
	sc->reload = true;
	sc->reloaded = out;
	int err = store_clients_of(sc->r, cand->dtype, cand->name, cand->ip, scan_cb, sc);
	if (err == 0 && sc->cur.klen > 0 && dest_finish(sc) != 0)
		err = -ENOMEM;
	dest_drop(&sc->cur);
	sc->reload = false;
	return err;
}

static void cand_score(struct scan *sc, struct destacc *a)
{
	double rare = 1 - prevalence(sc, a);
	double age = (double)(sc->o->now - a->first_seen) / 86400.0;
	double fresh = age <= 14 ? 1 : exp(-(age - 14) / 30.0);
	a->score = a->rhythm * rare * rare * (0.7 + 0.3 * fresh);
}

static int rank(struct scan *sc, struct estate_dest **out, size_t *n)
{
	size_t limit = sc->o->limit ? sc->o->limit : 50;
	for (size_t i = 0; i < sc->ncands; i++)
		cand_score(sc, &sc->cands[i]);
	/* no candidates: cands is NULL, which qsort may not be given */
	if (sc->ncands > 1)
		qsort(sc->cands, sc->ncands, sizeof(sc->cands[0]), cand_cmp);
	struct estate_dest *res = calloc(limit + 1, sizeof(*res));
	if (res == NULL)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < sc->ncands && k < limit; i++) {
		if (sc->cands[i].score < sc->o->min_score)
			break;
		struct destacc full;
		int err = dest_reload(sc, &sc->cands[i], &full);
		if (err == 0 && full.nclients > 0)
			materialize(sc, &full, &res[k++], true);
		dest_drop(&full);
		if (err != 0) {
			estate_dests_free(res, k);
			return err;
		}
	}
	qsort(res, k, sizeof(*res), score_cmp);
	*out = res;
	*n = k;
	return 0;
}

int estate_beacons(store_t *s, const struct estate_opts *o, struct estate_dest **out, size_t *n)
{
	struct scan sc;
	*out = NULL;
	*n = 0;
	int err = scan_init(&sc, s, o);
	if (err != 0)
		return err;
	err = store_clients_scan(sc.r, scan_cb, &sc);
	if (err == 0 && sc.cur.klen > 0 && dest_finish(&sc) != 0)
		err = -ENOMEM;
	if (err == 0)
		err = rank(&sc, out, n);
	scan_free(&sc);
	return err;
}

int estate_clients(store_t *s, uint8_t dtype, const char *value, const struct estate_opts *o,
                   struct estate_dest *d)
{
	struct scan sc;
	memset(d, 0, sizeof(*d));
	uint8_t ip[16] = {0};
	if (dtype == STORE_DEST_IP && store_addr_parse(value, strlen(value), ip) != 0)
		return STORE_EBADADDR;
	int err = scan_init(&sc, s, o);
	if (err != 0)
		return err;
	sc.keep_all = true;
	err = store_clients_of(sc.r, dtype, value, ip, scan_cb, &sc);
	if (err == 0 && sc.cur.klen > 0 && dest_finish(&sc) != 0)
		err = -ENOMEM;
	if (err == 0 && sc.ncands == 0)
		err = STORE_ENOTFOUND;
	if (err == 0)
		materialize(&sc, &sc.cands[0], d, false);
	scan_free(&sc);
	return err;
}

static void summary_of(struct estate_dest *d, struct estate_summary *sum)
{
	sum->hosts = d->hosts;
	sum->orgs = d->orgs;
	sum->sensors = d->sensors;
	sum->score = d->nclients > 0 ? d->clients[0].ps.score : 0;
	sum->period_s = d->period_s;
	estate_dest_free(d);
}

bool estate_summary_get(store_t *s, uint8_t dtype, const char *value, struct estate_summary *sum)
{
	struct estate_opts o;
	struct estate_dest d;
	estate_opts_init(&o, 0);
	memset(sum, 0, sizeof(*sum));
	if (estate_clients(s, dtype, value, &o, &d) != 0)
		return false;
	summary_of(&d, sum);
	return true;
}

/* One scan a destination, as estate_clients runs it, fed by the batch. */
struct many {
	struct scan sc;
	struct estate_opts o;
	store_rtxn_t *r;
	size_t cur;
	bool open;
	struct estate_summary *sums;
	bool *found;
};

static int many_finish(struct many *m)
{
	struct scan *sc = &m->sc;
	int err = sc->cur.klen > 0 && dest_finish(sc) != 0 ? -ENOMEM : 0;
	if (err == 0 && sc->ncands > 0) {
		struct estate_dest d;
		materialize(sc, &sc->cands[0], &d, false);
		summary_of(&d, &m->sums[m->cur]);
		m->found[m->cur] = true;
	}
	scan_release(sc);
	m->open = false;
	return err;
}

static int many_cb(size_t i, const struct store_client_row *row, void *ctx)
{
	struct many *m = ctx;
	if (m->open && i != m->cur) {
		int err = many_finish(m);
		if (err != 0)
			return err;
	}
	if (!m->open) {
		int err = scan_setup(&m->sc, m->r, &m->o);
		m->sc.keep_all = true;
		m->cur = i;
		m->open = true;
		if (err != 0)
			return err;
	}
	return scan_cb(row, &m->sc);
}

int estate_summaries_read(store_rtxn_t *r, const struct store_client_dest *dests, size_t n,
                          struct estate_summary *sums, bool *found)
{
	struct many m = {.r = r, .sums = sums, .found = found};
	estate_opts_init(&m.o, 0);
	memset(sums, 0, n * sizeof(*sums));
	memset(found, 0, n * sizeof(*found));
	int err = store_clients_of_many(r, dests, n, many_cb, &m);
	if (m.open) {
		int e2 = many_finish(&m);
		err = err != 0 ? err : e2;
	}
	if (err != 0) {
		memset(found, 0, n * sizeof(*found));
		memset(sums, 0, n * sizeof(*sums));
	}
	return err;
}

void estate_dest_free(struct estate_dest *d)
{
	free(d->clients);
	d->clients = NULL;
	d->nclients = 0;
}

void estate_dests_free(struct estate_dest *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		estate_dest_free(&d[i]);
	free(d);
}
