/*
 * walk.c - the store walks behind each node type: the neighbours of a
 * domain, an IP or a certificate, gathered as candidates, then sorted and
 * folded so that the order they are added in depends on the data only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pivot/pivot_internal.h"
#include "util/hex.h"

/* Sightings read to date an SNI edge to a too-prevalent certificate. */
#define SNI_SCAN_CAP 1024

/* ---- budgets ------------------------------------------------------------- */

bool pivot_over_time(struct pivot_run *x)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms =
	    (int64_t)(now.tv_sec - x->t0.tv_sec) * 1000 + (now.tv_nsec - x->t0.tv_nsec) / 1000000;
	if (ms >= (int64_t)x->p->max_ms)
		x->timed_out = true;
	return x->timed_out;
}

/* Called once per record a walk visits: long walks stop on the clock. */
bool pivot_tick(struct pivot_run *x)
{
	if ((++x->ticks & 255) == 0)
		return pivot_over_time(x);
	return x->timed_out;
}

/* ---- candidates ------------------------------------------------------------ */

/* A new candidate edge seen from tf to tl, count times (value and the
 * node's key are the caller's); NULL when out of room: cand_fail(). */
static struct pivot_cand *cand_push(struct pivot_run *x, uint8_t etype, uint8_t ntype,
                                    bool nb_is_src, int64_t tf, int64_t tl, uint64_t count)
{
	if (x->nc >= x->maxc) {
		x->cand_overflow = true;
		return NULL;
	}
	if (x->nc == x->capc) {
		size_t cap = x->capc ? x->capc * 2 : 64;
		if (cap > x->maxc)
			cap = x->maxc;
		struct pivot_cand *nc = realloc(x->c, cap * sizeof(*nc));
		if (nc == NULL)
			return NULL;
		x->c = nc;
		x->capc = cap;
	}
	struct pivot_cand *c = &x->c[x->nc++];
	memset(c, 0, offsetof(struct pivot_cand, value));
	c->value[0] = '\0';
	c->etype = etype;
	c->ntype = ntype;
	c->nb_is_src = nb_is_src;
	c->tf = tf;
	c->tl = tl;
	c->count = count;
	return c;
}

/* What a walk callback returns when cand_push() failed. */
static int cand_fail(const struct pivot_run *x)
{
	return x->cand_overflow ? STORE_STOP : -ENOMEM;
}

struct pivot_cand *pivot_cand_push(struct pivot_run *x, uint8_t etype, uint8_t ntype,
                                   bool nb_is_src, int64_t tf, int64_t tl, uint64_t count)
{
	return cand_push(x, etype, ntype, nb_is_src, tf, tl, count);
}

int pivot_cand_fail(const struct pivot_run *x)
{
	return cand_fail(x);
}

static int cand_cmp(const void *a, const void *b)
{
	const struct pivot_cand *x = a, *y = b;
	if (x->etype != y->etype)
		return x->etype < y->etype ? -1 : 1;
	if (x->ntype != y->ntype)
		return x->ntype < y->ntype ? -1 : 1;
	int d;
	if (x->ntype == PIVOT_NODE_IP)
		d = memcmp(x->ip, y->ip, 16);
	else
		d = strcmp(x->value, y->value);
	if (d != 0)
		return d;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->nb_is_src != y->nb_is_src)
		return x->nb_is_src ? 1 : -1;
	return 0;
}

/* Sort, then fold duplicates (an SNI seen on many sightings, a CN that
 * is also in the SAN list) into one candidate. */
void pivot_cand_sort_merge(struct pivot_run *x)
{
	if (x->nc < 2)
		return;
	qsort(x->c, x->nc, sizeof(*x->c), cand_cmp);
	size_t o = 0;
	for (size_t i = 1; i < x->nc; i++) {
		struct pivot_cand *a = &x->c[o], *b = &x->c[i];
		if (cand_cmp(a, b) == 0) {
			if (b->tf < a->tf)
				a->tf = b->tf;
			if (b->tl > a->tl)
				a->tl = b->tl;
			if (a->etype != PIVOT_EDGE_SAN)
				a->count = a->count + b->count < a->count ? UINT64_MAX
				                                          : a->count + b->count;
			continue;
		}
		o++;
		if (o != i)
			x->c[o] = *b;
	}
	x->nc = o + 1;
}

/* Does [tf, tl] overlap the window?  Unknown times (0) always do. */
static bool in_window(const struct pivot_run *x, int64_t tf, int64_t tl)
{
	if (tl != 0 && tl < x->p->since)
		return false;
	if (tf != 0 && tf > x->p->until)
		return false;
	return true;
}

/* ---- walks: domain ------------------------------------------------------ */

static int cb_domain_rr(const struct store_rr *rr, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	struct pivot_cand *c = NULL;
	if ((rr->rrtype == STORE_RR_A || rr->rrtype == STORE_RR_AAAA) &&
	    (x->p->edges & PIVOT_EDGE_RESOLVES)) {
		c = cand_push(x, PIVOT_EDGE_RESOLVES, PIVOT_NODE_IP, false, rr->time_first,
		              rr->time_last, rr->count);
		if (c == NULL)
			return cand_fail(x);
		memcpy(c->ip, rr->addr, 16);
		store_addr_format(rr->addr, c->value);
	} else if (rr->rrtype == STORE_RR_CNAME && (x->p->edges & PIVOT_EDGE_CNAME)) {
		char norm[STORE_NAME_BUF];
		if (store_name_norm(rr->rdata, strlen(rr->rdata), norm, false) != 0)
			return 0;
		c = cand_push(x, PIVOT_EDGE_CNAME, PIVOT_NODE_DOMAIN, false, rr->time_first,
		              rr->time_last, rr->count);
		if (c == NULL)
			return cand_fail(x);
		snprintf(c->value, sizeof(c->value), "%s", norm);
	}
	return 0;
}

static int cb_domain_target(const struct store_rr *rr, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	if (rr->rrtype != STORE_RR_CNAME)
		return 0;
	x->counted++;
	/* many names aliased to one: a shared service, not infrastructure */
	if (!x->is_seed && x->counted > x->count_limit) {
		x->shared_target = true;
		return STORE_STOP;
	}
	struct pivot_cand *c = cand_push(x, PIVOT_EDGE_CNAME, PIVOT_NODE_DOMAIN, true,
	                                 rr->time_first, rr->time_last, rr->count);
	if (c == NULL)
		return cand_fail(x);
	snprintf(c->value, sizeof(c->value), "%s", rr->rrname);
	return 0;
}

/* SNI sightings of one certificate that name x->match_name. */
static int cb_sni_match(const struct store_sighting *s, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	if (x->scan_cap != 0 && ++x->scanned > x->scan_cap)
		return STORE_STOP;
	for (unsigned i = 0; i < s->nsni; i++) {
		char norm[STORE_NAME_BUF];
		if (store_name_norm(s->sni[i], strlen(s->sni[i]), norm, false) != 0)
			continue;
		if (strcmp(norm, x->match_name) != 0)
			continue;
		struct pivot_cand *a = x->acc;
		if (!x->acc_found) {
			a->tf = s->time_first;
			a->tl = s->time_last;
			a->count = s->count;
			x->acc_found = true;
		} else {
			if (s->time_first < a->tf)
				a->tf = s->time_first;
			if (s->time_last > a->tl)
				a->tl = s->time_last;
			a->count += s->count;
		}
		break;
	}
	return 0;
}

void pivot_cert_value(const struct store_cert_ref *ref, char *out)
{
	util_hex_encode(ref->hash, ref->kind == 1 ? 20 : 32, out);
}

/* Push a certificate candidate; 0, or what a callback returns when that
 * failed. */
static int cand_cert(struct pivot_run *x, uint8_t etype, bool nb_is_src, int64_t tf, int64_t tl,
                     uint64_t count, const struct store_cert_ref *ref)
{
	struct pivot_cand *c = cand_push(x, etype, PIVOT_NODE_CERT, nb_is_src, tf, tl, count);
	if (c == NULL)
		return cand_fail(x);
	c->ref = *ref;
	pivot_cert_value(ref, c->value);
	return 0;
}

/* A certificate naming the domain in its SAN. */
static int domain_san(struct pivot_run *x, const struct store_cert_ref *ref)
{
	struct store_cert_info ci;
	int err = pivot_cert_get(x, ref, &ci);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
	/* a SAN is a claim of the certificate: its validity is the edge's time */
	if (!in_window(x, ci.not_before, ci.not_after))
		return 0;
	return cand_cert(x, PIVOT_EDGE_SAN, true, ci.not_before, ci.not_after, 1, ref);
}

/* A certificate served for the domain as SNI, dated by its sightings. */
static int domain_sni(struct pivot_run *x, const struct store_cert_ref *ref)
{
	struct pivot_cand acc;
	memset(&acc, 0, sizeof(acc));
	x->acc = &acc;
	x->acc_found = false;
	x->scanned = 0;
	x->scan_cap = 0;
	/* A certificate over max_cert_ips is noise that will not be
	 * expanded: reading all its sightings (a CDN's are thousands) to
	 * date this one edge would cost more than the rest of the pivot,
	 * so only the first SNI_SCAN_CAP are read for the times. */
	uint64_t ips = 0;
	int err = pivot_sni_cert_ips(x, ref, &ips);
	if (err != 0)
		return err;
	bool capped = ips > x->p->max_cert_ips;
	if (capped)
		x->scan_cap = SNI_SCAN_CAP;
	err = pivot_sni_sight(x, ref, cb_sni_match);
	x->scan_cap = 0;
	if (err != 0)
		return err;
	if (!x->acc_found && !(capped && x->scanned > SNI_SCAN_CAP))
		return 0;
	/* capped without a match: the index says the name was seen with
	 * it; the edge stays, its times unknown */
	return cand_cert(x, PIVOT_EDGE_SNI, false, acc.tf, acc.tl, acc.count, ref);
}

static int cb_domain_cert(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	if (kind == STORE_NC_SAN && (x->p->edges & PIVOT_EDGE_SAN))
		return domain_san(x, ref);
	if (kind == STORE_NC_SNI && (x->p->edges & PIVOT_EDGE_SNI))
		return domain_sni(x, ref);
	return 0;
}

int pivot_walk_domain(struct pivot_run *x, const struct pivot_xnode *xn)
{
	const char *name = xn->n.value;
	bool wild = name[0] == '*';
	int err;
	x->match_name = name;
	if (!wild && (x->p->edges & PIVOT_EDGE_CNAME)) {
		x->counted = 0;
		x->count_limit = x->p->max_ip_domains;
		x->shared_target = false;
		err = pivot_rr_by_target(x, name, cb_domain_target);
		if (err != 0)
			return err;
		if (x->shared_target)
			return 0;
	}
	if (!wild && (x->p->edges & (PIVOT_EDGE_RESOLVES | PIVOT_EDGE_CNAME))) {
		err = pivot_rr_by_name(x, name, cb_domain_rr);
		if (err != 0)
			return err;
	}
	if (x->p->edges & (PIVOT_EDGE_SAN | PIVOT_EDGE_SNI)) {
		err = pivot_certs_by_name(x, name, cb_domain_cert);
		if (err != 0)
			return err;
	}
	return 0;
}

/* ---- walks: IP ------------------------------------------------------------ */

static int cb_ip_rr(const struct store_rr *rr, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	struct pivot_cand *c = cand_push(x, PIVOT_EDGE_RESOLVES, PIVOT_NODE_DOMAIN, true,
	                                 rr->time_first, rr->time_last, rr->count);
	if (c == NULL)
		return cand_fail(x);
	snprintf(c->value, sizeof(c->value), "%s", rr->rrname);
	return 0;
}

static int cb_ip_sight(const struct store_sighting *s, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	int err =
	    cand_cert(x, PIVOT_EDGE_SERVES, false, s->time_first, s->time_last, s->count, &s->ref);
	if (err == 0)
		x->c[x->nc - 1].port = s->port;
	return err;
}

int pivot_walk_ip(struct pivot_run *x, const struct pivot_xnode *xn)
{
	int err;
	if (x->p->edges & PIVOT_EDGE_RESOLVES) {
		err = pivot_rr_by_addr(x, xn->ip, cb_ip_rr);
		if (err != 0)
			return err;
	}
	if (x->p->edges & PIVOT_EDGE_SERVES) {
		err = pivot_sight_by_addr(x, xn->ip, cb_ip_sight);
		if (err != 0)
			return err;
	}
	return pivot_walk_ip_fps(x, xn);
}

/* ---- walks: certificate ------------------------------------------------ */

static int cb_cert_sight(const struct store_sighting *s, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	if (x->p->edges & PIVOT_EDGE_SERVES) {
		struct pivot_cand *c = cand_push(x, PIVOT_EDGE_SERVES, PIVOT_NODE_IP, true,
		                                 s->time_first, s->time_last, s->count);
		if (c == NULL)
			return cand_fail(x);
		memcpy(c->ip, s->ip, 16);
		store_addr_format(s->ip, c->value);
		c->port = s->port;
	}
	if (x->p->edges & PIVOT_EDGE_SNI) {
		for (unsigned i = 0; i < s->nsni; i++) {
			char norm[STORE_NAME_BUF];
			if (store_name_norm(s->sni[i], strlen(s->sni[i]), norm, false) != 0)
				continue;
			struct pivot_cand *c = cand_push(x, PIVOT_EDGE_SNI, PIVOT_NODE_DOMAIN, true,
			                                 s->time_first, s->time_last, s->count);
			if (c == NULL)
				return cand_fail(x);
			snprintf(c->value, sizeof(c->value), "%s", norm);
		}
	}
	return 0;
}

static int san_cand(struct pivot_run *x, const char *name, size_t len, int64_t nb, int64_t na)
{
	char norm[STORE_NAME_BUF];
	if (store_name_norm(name, len, norm, true) != 0)
		return 0;
	struct pivot_cand *c = cand_push(x, PIVOT_EDGE_SAN, PIVOT_NODE_DOMAIN, false, nb, na, 1);
	if (c == NULL)
		return cand_fail(x);
	snprintf(c->value, sizeof(c->value), "%s", norm);
	return 0;
}

int pivot_walk_cert(struct pivot_run *x, const struct pivot_xnode *xn)
{
	int err = pivot_walk_cert_keys(x, xn);
	if (err != 0)
		return err;
	if (x->p->edges & (PIVOT_EDGE_SERVES | PIVOT_EDGE_SNI)) {
		err = pivot_sight_by_cert(x, &xn->ref, cb_cert_sight);
		if (err != 0)
			return err;
	}
	if (!(x->p->edges & PIVOT_EDGE_SAN))
		return 0;
	struct store_cert_info ci;
	err = pivot_cert_get(x, &xn->ref, &ci);
	if (err == STORE_ENOTFOUND || (err == 0 && !ci.has_meta))
		return 0;
	if (err != 0)
		return err;
	if (!in_window(x, ci.not_before, ci.not_after))
		return 0;
	size_t i = 0;
	while (i < ci.san_dns_len) {
		size_t l = strnlen(ci.san_dns + i, ci.san_dns_len - i);
		if (l > 0) {
			err = san_cand(x, ci.san_dns + i, l, ci.not_before, ci.not_after);
			if (err != 0)
				return err == STORE_STOP ? 0 : err;
		}
		i += l + 1;
	}
	const char *cn;
	size_t cnl;
	if (store_subject_cn(ci.subject, strlen(ci.subject), &cn, &cnl)) {
		err = san_cand(x, cn, cnl, ci.not_before, ci.not_after);
		if (err != 0)
			return err == STORE_STOP ? 0 : err;
	}
	return 0;
}
