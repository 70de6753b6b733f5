/*
 * expand.c - the pivot engine: breadth-first expansion from a seed over
 * the store's indexes, with noise control, budgets and provenance.
 *
 * Determinism: nodes are expanded in id order (breadth-first), and the
 * neighbours found for one node are sorted before they are added, so ids
 * and output depend only on the database and the parameters (and on the
 * clock only when the max_ms budget is hit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pivot_internal.h"

/* A neighbour found while expanding one node. */
struct cand {
	uint8_t etype;  /* enum pivot_edge_type */
	uint8_t ntype;  /* enum pivot_node_type of the neighbour */
	bool nb_is_src; /* the neighbour is the edge's source */
	uint16_t port;
	int64_t tf, tl;
	uint64_t count;
	struct store_cert_ref ref;
	uint8_t ip[16];
	char value[STORE_NAME_BUF + 8];
};

struct run {
	store_rtxn_t *rt;
	struct pivot_result *r;
	const struct pivot_params *p;
	struct store_fence fence;
	bool windowed;
	struct timespec t0;
	bool timed_out;
	unsigned ticks;
	struct cand *c;
	size_t nc, capc, maxc;
	bool cand_overflow;
	/* the walk in progress */
	const char *match_name; /* SNI walk from the domain side */
	struct cand *acc;
	bool acc_found;
	uint64_t counted, count_limit;
	uint8_t last_ip[16];
	bool shared_target;
	bool is_seed;
};

/* ---- budgets ------------------------------------------------------------- */

static bool over_time(struct run *x)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - x->t0.tv_sec) * 1000 +
		     (now.tv_nsec - x->t0.tv_nsec) / 1000000;
	if (ms >= (int64_t)x->p->max_ms)
		x->timed_out = true;
	return x->timed_out;
}

/* Called once per record a walk visits: long walks stop on the clock. */
static bool tick(struct run *x)
{
	if ((++x->ticks & 255) == 0)
		return over_time(x);
	return x->timed_out;
}

/* ---- candidates ------------------------------------------------------------ */

static struct cand *cand_push(struct run *x, uint8_t etype, uint8_t ntype, bool nb_is_src)
{
	if (x->nc >= x->maxc) {
		x->cand_overflow = true;
		return NULL;
	}
	if (x->nc == x->capc) {
		size_t cap = x->capc ? x->capc * 2 : 64;
		if (cap > x->maxc)
			cap = x->maxc;
		struct cand *nc = realloc(x->c, cap * sizeof(*nc));
		if (nc == NULL)
			return NULL;
		x->c = nc;
		x->capc = cap;
	}
	struct cand *c = &x->c[x->nc++];
	memset(c, 0, offsetof(struct cand, value));
	c->value[0] = '\0';
	c->etype = etype;
	c->ntype = ntype;
	c->nb_is_src = nb_is_src;
	c->count = 1;
	return c;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
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
static void cand_sort_merge(struct run *x)
{
	if (x->nc < 2)
		return;
	qsort(x->c, x->nc, sizeof(*x->c), cand_cmp);
	size_t o = 0;
	for (size_t i = 1; i < x->nc; i++) {
		struct cand *a = &x->c[o], *b = &x->c[i];
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
static bool in_window(const struct run *x, int64_t tf, int64_t tl)
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
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	struct cand *c = NULL;
	if ((rr->rrtype == STORE_RR_A || rr->rrtype == STORE_RR_AAAA) &&
	    (x->p->edges & PIVOT_EDGE_RESOLVES)) {
		c = cand_push(x, PIVOT_EDGE_RESOLVES, PIVOT_NODE_IP, false);
		if (c == NULL)
			return x->cand_overflow ? STORE_STOP : -ENOMEM;
		memcpy(c->ip, rr->addr, 16);
		store_addr_format(rr->addr, c->value);
	} else if (rr->rrtype == STORE_RR_CNAME && (x->p->edges & PIVOT_EDGE_CNAME)) {
		char norm[STORE_NAME_BUF];
		if (store_name_norm(rr->rdata, strlen(rr->rdata), norm, false) != 0)
			return 0;
		c = cand_push(x, PIVOT_EDGE_CNAME, PIVOT_NODE_DOMAIN, false);
		if (c == NULL)
			return x->cand_overflow ? STORE_STOP : -ENOMEM;
		snprintf(c->value, sizeof(c->value), "%s", norm);
	} else {
		return 0;
	}
	c->tf = rr->time_first;
	c->tl = rr->time_last;
	c->count = rr->count;
	return 0;
}

static int cb_domain_target(const struct store_rr *rr, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	if (rr->rrtype != STORE_RR_CNAME)
		return 0;
	x->counted++;
	/* many names aliased to one: a shared service, not infrastructure */
	if (!x->is_seed && x->count_limit != 0 && x->counted > x->count_limit) {
		x->shared_target = true;
		return STORE_STOP;
	}
	struct cand *c = cand_push(x, PIVOT_EDGE_CNAME, PIVOT_NODE_DOMAIN, true);
	if (c == NULL)
		return x->cand_overflow ? STORE_STOP : -ENOMEM;
	snprintf(c->value, sizeof(c->value), "%s", rr->rrname);
	c->tf = rr->time_first;
	c->tl = rr->time_last;
	c->count = rr->count;
	return 0;
}

/* SNI sightings of one certificate that name x->match_name. */
static int cb_sni_match(const struct store_sighting *s, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	for (unsigned i = 0; i < s->nsni; i++) {
		char norm[STORE_NAME_BUF];
		if (store_name_norm(s->sni[i], strlen(s->sni[i]), norm, false) != 0)
			continue;
		if (strcmp(norm, x->match_name) != 0)
			continue;
		struct cand *a = x->acc;
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

static void cert_value(const struct store_cert_ref *ref, char *out)
{
	store_hex(ref->hash, ref->kind == 1 ? 20 : 32, out);
}

static int cb_domain_cert(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	if (kind == STORE_NC_SAN && (x->p->edges & PIVOT_EDGE_SAN)) {
		struct store_cert_info ci;
		int err = store_cert_get(x->rt, ref, &ci);
		if (err == STORE_ENOTFOUND)
			return 0;
		if (err != 0)
			return err;
		/* a SAN is a claim of the certificate: its validity is the edge's time */
		if (!in_window(x, ci.not_before, ci.not_after))
			return 0;
		struct cand *c = cand_push(x, PIVOT_EDGE_SAN, PIVOT_NODE_CERT, true);
		if (c == NULL)
			return x->cand_overflow ? STORE_STOP : -ENOMEM;
		c->ref = *ref;
		cert_value(ref, c->value);
		c->tf = ci.not_before;
		c->tl = ci.not_after;
		return 0;
	}
	if (kind == STORE_NC_SNI && (x->p->edges & PIVOT_EDGE_SNI)) {
		struct cand acc;
		memset(&acc, 0, sizeof(acc));
		x->acc = &acc;
		x->acc_found = false;
		int err = store_sight_by_cert(x->rt, ref, &x->fence, cb_sni_match, x);
		if (err != 0)
			return err;
		if (!x->acc_found)
			return 0;
		struct cand *c = cand_push(x, PIVOT_EDGE_SNI, PIVOT_NODE_CERT, false);
		if (c == NULL)
			return x->cand_overflow ? STORE_STOP : -ENOMEM;
		c->ref = *ref;
		cert_value(ref, c->value);
		c->tf = acc.tf;
		c->tl = acc.tl;
		c->count = acc.count;
	}
	return 0;
}

static int collect_domain(struct run *x, const struct pivot_xnode *xn)
{
	const char *name = xn->n.value;
	bool wild = name[0] == '*';
	int err;
	x->match_name = name;
	if (!wild && (x->p->edges & PIVOT_EDGE_CNAME)) {
		x->counted = 0;
		x->count_limit = x->p->max_ip_domains;
		x->shared_target = false;
		err = store_rr_by_target(x->rt, name, &x->fence, cb_domain_target, x);
		if (err != 0)
			return err;
		if (x->shared_target)
			return 0;
	}
	if (!wild && (x->p->edges & (PIVOT_EDGE_RESOLVES | PIVOT_EDGE_CNAME))) {
		err = store_rr_by_name(x->rt, name, 0, &x->fence, cb_domain_rr, x);
		if (err != 0)
			return err;
	}
	if (x->p->edges & (PIVOT_EDGE_SAN | PIVOT_EDGE_SNI)) {
		err = store_certs_by_name(x->rt, name, cb_domain_cert, x);
		if (err != 0)
			return err;
	}
	return 0;
}

/* ---- walks: IP ------------------------------------------------------------ */

static int cb_ip_rr(const struct store_rr *rr, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	struct cand *c = cand_push(x, PIVOT_EDGE_RESOLVES, PIVOT_NODE_DOMAIN, true);
	if (c == NULL)
		return x->cand_overflow ? STORE_STOP : -ENOMEM;
	snprintf(c->value, sizeof(c->value), "%s", rr->rrname);
	c->tf = rr->time_first;
	c->tl = rr->time_last;
	c->count = rr->count;
	return 0;
}

static int cb_ip_sight(const struct store_sighting *s, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	struct cand *c = cand_push(x, PIVOT_EDGE_SERVES, PIVOT_NODE_CERT, false);
	if (c == NULL)
		return x->cand_overflow ? STORE_STOP : -ENOMEM;
	c->ref = s->ref;
	cert_value(&s->ref, c->value);
	c->port = s->port;
	c->tf = s->time_first;
	c->tl = s->time_last;
	c->count = s->count;
	return 0;
}

static int collect_ip(struct run *x, const struct pivot_xnode *xn)
{
	int err;
	if (x->p->edges & PIVOT_EDGE_RESOLVES) {
		err = store_rr_by_addr(x->rt, xn->ip, 128, &x->fence, cb_ip_rr, x);
		if (err != 0)
			return err;
	}
	if (x->p->edges & PIVOT_EDGE_SERVES) {
		err = store_sight_by_addr(x->rt, xn->ip, 128, &x->fence, cb_ip_sight, x);
		if (err != 0)
			return err;
	}
	return 0;
}

/* ---- walks: certificate ------------------------------------------------ */

static int cb_cert_sight(const struct store_sighting *s, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	if (x->p->edges & PIVOT_EDGE_SERVES) {
		struct cand *c = cand_push(x, PIVOT_EDGE_SERVES, PIVOT_NODE_IP, true);
		if (c == NULL)
			return x->cand_overflow ? STORE_STOP : -ENOMEM;
		memcpy(c->ip, s->ip, 16);
		store_addr_format(s->ip, c->value);
		c->port = s->port;
		c->tf = s->time_first;
		c->tl = s->time_last;
		c->count = s->count;
	}
	if (x->p->edges & PIVOT_EDGE_SNI) {
		for (unsigned i = 0; i < s->nsni; i++) {
			char norm[STORE_NAME_BUF];
			if (store_name_norm(s->sni[i], strlen(s->sni[i]), norm, false) != 0)
				continue;
			struct cand *c = cand_push(x, PIVOT_EDGE_SNI, PIVOT_NODE_DOMAIN, true);
			if (c == NULL)
				return x->cand_overflow ? STORE_STOP : -ENOMEM;
			snprintf(c->value, sizeof(c->value), "%s", norm);
			c->tf = s->time_first;
			c->tl = s->time_last;
			c->count = s->count;
		}
	}
	return 0;
}

/* The CN of "CN=x, O=y", "CN=x,O=y" or "/O=y/CN=x" (as the store indexes it). */
static bool subject_cn(const char *s, const char **cn, size_t *cnl)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + 3 <= n; i++) {
		bool at_start = i == 0 || s[i - 1] == ',' || s[i - 1] == '/' || s[i - 1] == ' ';
		if (at_start && memcmp(s + i, "CN=", 3) == 0) {
			size_t j = i + 3;
			while (j < n && s[j] != ',' && s[j] != '/')
				j++;
			*cn = s + i + 3;
			*cnl = j - i - 3;
			return *cnl > 0;
		}
	}
	return false;
}

static int san_cand(struct run *x, const char *name, size_t len, int64_t nb, int64_t na)
{
	char norm[STORE_NAME_BUF];
	if (store_name_norm(name, len, norm, true) != 0)
		return 0;
	struct cand *c = cand_push(x, PIVOT_EDGE_SAN, PIVOT_NODE_DOMAIN, false);
	if (c == NULL)
		return x->cand_overflow ? STORE_STOP : -ENOMEM;
	snprintf(c->value, sizeof(c->value), "%s", norm);
	c->tf = nb;
	c->tl = na;
	return 0;
}

static int collect_cert(struct run *x, const struct pivot_xnode *xn)
{
	int err;
	if (x->p->edges & (PIVOT_EDGE_SERVES | PIVOT_EDGE_SNI)) {
		err = store_sight_by_cert(x->rt, &xn->ref, &x->fence, cb_cert_sight, x);
		if (err != 0)
			return err;
	}
	if (!(x->p->edges & PIVOT_EDGE_SAN))
		return 0;
	struct store_cert_info ci;
	err = store_cert_get(x->rt, &xn->ref, &ci);
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
	if (subject_cn(ci.subject, &cn, &cnl)) {
		err = san_cand(x, cn, cnl, ci.not_before, ci.not_after);
		if (err != 0)
			return err == STORE_STOP ? 0 : err;
	}
	return 0;
}

/* ---- indexes ------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t node_hash(unsigned type, const char *value)
{
	uint8_t t = (uint8_t)type;
	return fnv(fnv(14695981039346656037ull, &t, 1), value, strlen(value));
}

static uint64_t edge_hash(unsigned type, unsigned src, unsigned dst, uint16_t port)
{
	uint32_t k[4] = { type, src, dst, port };
	return fnv(14695981039346656037ull, k, sizeof(k));
}

/* Grow an index to twice its size when it is half full. */
static int ix_grow(uint32_t **ix, size_t *cap, size_t used, bool nodes, struct pivot_result *r)
{
	if (used * 2 < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 256;
	uint32_t *n = calloc(ncap, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		uint32_t id1 = (*ix)[i];
		if (id1 == 0)
			continue;
		uint64_t h;
		if (nodes) {
			const struct pivot_node *nd = &r->nodes[id1 - 1].n;
			h = node_hash(nd->type, nd->value);
		} else {
			const struct pivot_edge *e = &r->edges[id1 - 1];
			h = edge_hash(e->type, e->src, e->dst, e->port);
		}
		size_t s = (size_t)h & (ncap - 1);
		while (n[s] != 0)
			s = (s + 1) & (ncap - 1);
		n[s] = id1;
	}
	free(*ix);
	*ix = n;
	*cap = ncap;
	return 0;
}

static long node_find(const struct pivot_result *r, unsigned type, const char *value)
{
	if (r->node_ix_cap == 0)
		return -1;
	size_t s = (size_t)node_hash(type, value) & (r->node_ix_cap - 1);
	while (r->node_ix[s] != 0) {
		const struct pivot_node *n = &r->nodes[r->node_ix[s] - 1].n;
		if (n->type == type && strcmp(n->value, value) == 0)
			return (long)r->node_ix[s] - 1;
		s = (s + 1) & (r->node_ix_cap - 1);
	}
	return -1;
}

/* ---- prevalence ------------------------------------------------------------ */

static int cb_count_rr(const struct store_rr *rr, void *ctx)
{
	struct run *x = ctx;
	(void)rr;
	if (tick(x))
		return STORE_STOP;
	return ++x->counted > x->count_limit ? STORE_STOP : 0;
}

static int cb_count_sight(const struct store_sighting *s, void *ctx)
{
	struct run *x = ctx;
	if (tick(x))
		return STORE_STOP;
	/* rows come sorted by IP then port: count distinct IPs */
	if (x->counted > 0 && memcmp(s->ip, x->last_ip, 16) == 0)
		return 0;
	memcpy(x->last_ip, s->ip, 16);
	return ++x->counted > x->count_limit ? STORE_STOP : 0;
}

/* With a time window, is the node still over `limit` counting only what
 * was seen in the window?  Only asked when the all-time counter is over
 * the limit, and the walk stops at limit + 1. */
static int window_over(struct run *x, const struct pivot_xnode *xn, uint64_t limit, bool *over)
{
	int err = 0;
	*over = true;
	if (!x->windowed)
		return 0;
	x->counted = 0;
	x->count_limit = limit;
	switch (xn->n.type) {
	case PIVOT_NODE_IP:
		err = store_rr_by_addr(x->rt, xn->ip, 128, &x->fence, cb_count_rr, x);
		break;
	case PIVOT_NODE_DOMAIN:
		err = store_rr_by_name(x->rt, xn->n.value, STORE_RR_A, &x->fence, cb_count_rr, x);
		if (err == 0 && x->counted <= limit)
			err = store_rr_by_name(x->rt, xn->n.value, STORE_RR_AAAA, &x->fence,
					       cb_count_rr, x);
		break;
	case PIVOT_NODE_CERT:
		err = store_sight_by_cert(x->rt, &xn->ref, &x->fence, cb_count_sight, x);
		break;
	default:
		break;
	}
	*over = x->counted > limit;
	return err;
}

static uint64_t count_list(const char *p, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
	while (i < n) {
		size_t l = strnlen(p + i, n - i);
		if (l > 0)
			c++;
		i += l + 1;
	}
	return c;
}

/* Fill degree, certificate metadata, and decide whether the node is noise. */
static int node_measure(struct run *x, struct pivot_xnode *xn, bool seed)
{
	struct pivot_node *n = &xn->n;
	const struct pivot_params *p = x->p;
	int err = 0;
	uint64_t limit = 0;
	const char *reason = NULL;
	switch (n->type) {
	case PIVOT_NODE_DOMAIN:
		if (n->value[0] != '*')
			err = store_prev_name_ips(x->rt, n->value, &n->degree);
		limit = p->max_domain_ips;
		reason = "cdn_or_fast_flux_name";
		break;
	case PIVOT_NODE_IP:
		err = store_prev_ip_names(x->rt, xn->ip, &n->degree);
		limit = p->max_ip_domains;
		reason = "shared_hosting";
		break;
	case PIVOT_NODE_CERT: {
		err = store_prev_cert_ips(x->rt, &xn->ref, &n->degree);
		if (err != 0)
			return err;
		n->has_sha1 = xn->ref.kind == 1;
		if (n->has_sha1)
			memcpy(n->sha1, xn->ref.hash, 20);
		else {
			n->has_sha256 = true;
			memcpy(n->sha256, xn->ref.hash, 32);
		}
		struct store_cert_info ci;
		err = store_cert_get(x->rt, &xn->ref, &ci);
		if (err == STORE_ENOTFOUND) {
			err = 0;
		} else if (err == 0) {
			if (ci.has_sha1) {
				n->has_sha1 = true;
				memcpy(n->sha1, ci.sha1, 20);
			}
			if (ci.has_sha256) {
				n->has_sha256 = true;
				memcpy(n->sha256, ci.sha256, 32);
			}
			n->cert_has_meta = ci.has_meta;
			if (ci.has_meta) {
				snprintf(n->subject, sizeof(n->subject), "%s", ci.subject);
				snprintf(n->issuer, sizeof(n->issuer), "%s", ci.issuer);
				snprintf(n->serial, sizeof(n->serial), "%s", ci.serial);
				n->not_before = ci.not_before;
				n->not_after = ci.not_after;
				n->san_count = count_list(ci.san_dns, ci.san_dns_len);
			}
		}
		limit = p->max_cert_ips;
		reason = "cdn_or_default_cert";
		break;
	}
	default:
		break;
	}
	if (err != 0 || seed)
		return err;
	if (limit != 0 && n->degree > limit) {
		bool over;
		err = window_over(x, xn, limit, &over);
		if (err != 0)
			return err;
		if (over) {
			n->pruned = reason;
			return 0;
		}
	}
	if (n->type == PIVOT_NODE_CERT && p->max_san != 0 && n->san_count > p->max_san)
		n->pruned = "multi_tenant_cert";
	return 0;
}

static int node_add(struct run *x, unsigned type, const char *value, const struct cand *c,
		    const struct store_cert_ref *ref, const uint8_t *ip, unsigned depth,
		    unsigned *id)
{
	struct pivot_result *r = x->r;
	int err = ix_grow(&r->node_ix, &r->node_ix_cap, r->nnodes + 1, true, r);
	if (err != 0)
		return err;
	if (r->nnodes == r->capnodes) {
		size_t cap = r->capnodes ? r->capnodes * 2 : 32;
		struct pivot_xnode *nn = realloc(r->nodes, cap * sizeof(*nn));
		if (nn == NULL)
			return -ENOMEM;
		r->nodes = nn;
		r->capnodes = cap;
	}
	struct pivot_xnode *xn = &r->nodes[r->nnodes];
	memset(xn, 0, sizeof(*xn));
	xn->n.id = (unsigned)r->nnodes;
	xn->n.type = (enum pivot_node_type)type;
	snprintf(xn->n.value, sizeof(xn->n.value), "%s", value);
	xn->n.depth = depth;
	if (ref != NULL)
		xn->ref = *ref;
	if (ip != NULL)
		memcpy(xn->ip, ip, 16);
	(void)c;
	err = node_measure(x, xn, r->nnodes == 0);
	if (err != 0)
		return err;
	size_t s = (size_t)node_hash(type, xn->n.value) & (r->node_ix_cap - 1);
	while (r->node_ix[s] != 0)
		s = (s + 1) & (r->node_ix_cap - 1);
	r->node_ix[s] = (uint32_t)r->nnodes + 1;
	*id = xn->n.id;
	r->nnodes++;
	if (depth > r->depth_reached)
		r->depth_reached = depth;
	return 0;
}

/* Add the edge unless it is known; *added tells which. */
static int edge_add(struct pivot_result *r, const struct cand *c, unsigned src, unsigned dst,
		    unsigned *id, bool *added)
{
	uint16_t port = c->etype == PIVOT_EDGE_SERVES ? c->port : 0;
	*added = false;
	if (r->edge_ix_cap > 0) {
		size_t s = (size_t)edge_hash(c->etype, src, dst, port) & (r->edge_ix_cap - 1);
		while (r->edge_ix[s] != 0) {
			const struct pivot_edge *e = &r->edges[r->edge_ix[s] - 1];
			if ((unsigned)e->type == c->etype && e->src == src && e->dst == dst &&
			    e->port == port) {
				*id = e->id;
				return 0;
			}
			s = (s + 1) & (r->edge_ix_cap - 1);
		}
	}
	int err = ix_grow(&r->edge_ix, &r->edge_ix_cap, r->nedges + 1, false, r);
	if (err != 0)
		return err;
	if (r->nedges == r->capedges) {
		size_t cap = r->capedges ? r->capedges * 2 : 64;
		struct pivot_edge *ne = realloc(r->edges, cap * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		r->edges = ne;
		r->capedges = cap;
	}
	struct pivot_edge *e = &r->edges[r->nedges];
	memset(e, 0, sizeof(*e));
	e->id = (unsigned)r->nedges;
	e->type = (enum pivot_edge_type)c->etype;
	e->src = src;
	e->dst = dst;
	e->first_seen = c->tf;
	e->last_seen = c->tl;
	e->count = c->count;
	e->port = port;
	size_t s = (size_t)edge_hash(e->type, src, dst, port) & (r->edge_ix_cap - 1);
	while (r->edge_ix[s] != 0)
		s = (s + 1) & (r->edge_ix_cap - 1);
	r->edge_ix[s] = (uint32_t)r->nedges + 1;
	r->nedges++;
	*id = e->id;
	*added = true;
	return 0;
}

/* ---- seed ------------------------------------------------------------------------- */

static int seed_add(struct run *x, char *msg, size_t msgcap)
{
	const struct pivot_params *p = x->p;
	const char *s = p->seed;
	size_t len = strlen(s);
	enum pivot_node_type t = p->seed_type;
	uint8_t hash[32];
	size_t hlen = 0;
	uint8_t ip[16];
	if (t == PIVOT_NODE_AUTO) {
		if (store_hash_parse(s, len, hash, &hlen) == 0)
			t = PIVOT_NODE_CERT;
		else if (store_addr_parse(s, len, ip) == 0)
			t = PIVOT_NODE_IP;
		else
			t = PIVOT_NODE_DOMAIN;
	}
	unsigned id;
	if (t == PIVOT_NODE_CERT) {
		if (store_hash_parse(s, len, hash, &hlen) != 0) {
			snprintf(msg, msgcap,
				 "seed: '%.80s' is not a certificate SHA-1 or SHA-256 (40 or 64 hex "
				 "digits)",
				 s);
			return STORE_EBADHASH;
		}
		struct store_cert_ref ref;
		int err = store_cert_resolve(x->rt, hash, hlen, &ref);
		if (err == STORE_ENOTFOUND) {
			/* unknown to the store: the seed alone, under the given hash */
			memset(&ref, 0, sizeof(ref));
			ref.kind = hlen == 20 ? 1 : 2;
			memcpy(ref.hash, hash, hlen);
		} else if (err != 0) {
			snprintf(msg, msgcap, "%s", store_strerror(err));
			return err;
		}
		char v[STORE_NAME_BUF];
		cert_value(&ref, v);
		return node_add(x, PIVOT_NODE_CERT, v, NULL, &ref, NULL, 0, &id);
	}
	if (t == PIVOT_NODE_IP) {
		if (store_addr_parse(s, len, ip) != 0) {
			snprintf(msg, msgcap, "seed: '%.80s' is not an IPv4 or IPv6 address", s);
			return STORE_EBADADDR;
		}
		char v[STORE_ADDR_BUF];
		store_addr_format(ip, v);
		return node_add(x, PIVOT_NODE_IP, v, NULL, NULL, ip, 0, &id);
	}
	char norm[STORE_NAME_BUF];
	int err = store_name_norm(s, len, norm, false);
	if (err != 0) {
		snprintf(msg, msgcap,
			 p->seed_type == PIVOT_NODE_AUTO
				 ? "seed: '%.80s' is not a domain name, an IP address, or a "
				   "certificate SHA-1/SHA-256"
				 : "seed: '%.80s' is not a valid domain name",
			 s);
		return err;
	}
	return node_add(x, PIVOT_NODE_DOMAIN, norm, NULL, NULL, NULL, 0, &id);
}

/* ---- the walk ------------------------------------------------------------ */

static int expand_one(struct run *x, size_t i, bool *stop)
{
	struct pivot_result *r = x->r;
	x->nc = 0;
	x->is_seed = i == 0;
	x->shared_target = false;
	int err = 0;
	/* a copy: adding nodes below may move the array */
	struct pivot_xnode cur = r->nodes[i];
	switch (cur.n.type) {
	case PIVOT_NODE_DOMAIN: err = collect_domain(x, &cur); break;
	case PIVOT_NODE_IP: err = collect_ip(x, &cur); break;
	case PIVOT_NODE_CERT: err = collect_cert(x, &cur); break;
	default: break;
	}
	if (err != 0)
		return err;
	if (x->shared_target) {
		r->nodes[i].n.pruned = "shared_cname_target";
		return 0;
	}
	r->nodes[i].expanded = true;
	r->expanded++;
	cand_sort_merge(x);
	for (size_t k = 0; k < x->nc; k++) {
		const struct cand *c = &x->c[k];
		long nb = node_find(r, c->ntype, c->value);
		bool fresh = nb < 0;
		if (fresh) {
			if (r->nnodes >= x->p->max_nodes) {
				r->truncated = true;
				r->budget = "max_nodes";
				*stop = true;
				break;
			}
			unsigned id;
			err = node_add(x, c->ntype, c->value, c, &c->ref, c->ip, cur.n.depth + 1, &id);
			if (err != 0)
				return err;
			nb = (long)id;
		}
		unsigned src = c->nb_is_src ? (unsigned)nb : (unsigned)i;
		unsigned dst = c->nb_is_src ? (unsigned)i : (unsigned)nb;
		unsigned eid;
		bool added;
		err = edge_add(r, c, src, dst, &eid, &added);
		if (err != 0)
			return err;
		if (fresh)
			r->nodes[nb].parent_edge = eid;
	}
	if (x->cand_overflow && !r->truncated) {
		r->truncated = true;
		r->budget = "max_nodes";
	}
	return 0;
}

/* Times over the edges that touch a node (SAN edges, which carry a
 * certificate's validity rather than a sighting, only when nothing else
 * does), ports of IPs, and the provenance paths. */
static int finalize(struct pivot_result *r)
{
	size_t n = r->nnodes;
	int64_t(*san)[2] = calloc(n ? n : 1, sizeof(*san));
	if (san == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < r->nedges; i++) {
		const struct pivot_edge *e = &r->edges[i];
		unsigned ends[2] = { e->src, e->dst };
		for (int k = 0; k < 2; k++) {
			struct pivot_node *nd = &r->nodes[ends[k]].n;
			int64_t *tf = e->type == PIVOT_EDGE_SAN ? &san[ends[k]][0] : &nd->first_seen;
			int64_t *tl = e->type == PIVOT_EDGE_SAN ? &san[ends[k]][1] : &nd->last_seen;
			if (e->first_seen != 0 && (*tf == 0 || e->first_seen < *tf))
				*tf = e->first_seen;
			if (e->last_seen > *tl)
				*tl = e->last_seen;
		}
		if (e->type == PIVOT_EDGE_SERVES) {
			struct pivot_node *ipn = &r->nodes[e->src].n;
			unsigned j = 0;
			while (j < ipn->nports && ipn->ports[j] < e->port)
				j++;
			if ((j == ipn->nports || ipn->ports[j] != e->port) &&
			    ipn->nports < sizeof(ipn->ports) / sizeof(ipn->ports[0])) {
				memmove(ipn->ports + j + 1, ipn->ports + j,
					(ipn->nports - j) * sizeof(ipn->ports[0]));
				ipn->ports[j] = e->port;
				ipn->nports++;
			}
		}
	}
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		struct pivot_node *nd = &r->nodes[i].n;
		if (nd->first_seen == 0 && nd->last_seen == 0) {
			nd->first_seen = san[i][0];
			nd->last_seen = san[i][1];
		}
		total += nd->depth;
		if (nd->pruned != NULL)
			r->pruned++;
	}
	free(san);
	r->paths = malloc((total ? total : 1) * sizeof(unsigned));
	if (r->paths == NULL)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		struct pivot_xnode *xn = &r->nodes[i];
		xn->n.path = r->paths + o;
		xn->n.path_len = xn->n.depth;
		if (xn->n.depth > 0) {
			const struct pivot_edge *e = &r->edges[xn->parent_edge];
			unsigned parent = e->src == i ? e->dst : e->src;
			const struct pivot_node *pn = &r->nodes[parent].n;
			memcpy(xn->n.path, pn->path, pn->path_len * sizeof(unsigned));
			xn->n.path[pn->path_len] = xn->parent_edge;
		}
		o += xn->n.depth;
	}
	return 0;
}

int pivot_run(store_t *s, const struct pivot_params *p, struct pivot_result **out, char *msg,
	      size_t msgcap)
{
	*out = NULL;
	if (msgcap > 0)
		msg[0] = '\0';
	int err = pivot_params_check(p, msg, msgcap);
	if (err != 0)
		return err;
	struct pivot_result *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->params = *p;
	if (r->params.now == 0)
		r->params.now = (int64_t)time(NULL);
	struct run x;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.p = &r->params;
	store_fence_init(&x.fence);
	x.fence.since = p->since;
	x.fence.until = p->until;
	x.windowed = p->since != INT64_MIN || p->until != INT64_MAX;
	x.maxc = 4 * (size_t)p->max_nodes + 4096;
	clock_gettime(CLOCK_MONOTONIC, &x.t0);

	err = store_read_begin(s, &x.rt);
	if (err != 0) {
		snprintf(msg, msgcap, "%s", store_strerror(err));
		goto free_result;
	}
	err = seed_add(&x, msg, msgcap);
	if (err != 0)
		goto end_read;
	bool stop = false;
	for (size_t i = 0; i < r->nnodes && !stop; i++) {
		const struct pivot_node *n = &r->nodes[i].n;
		if (n->depth >= p->depth)
			break; /* breadth-first: every later node is as deep */
		if (n->pruned != NULL)
			continue;
		if (over_time(&x))
			break;
		err = expand_one(&x, i, &stop);
		if (err != 0) {
			snprintf(msg, msgcap, "%s", store_strerror(err));
			goto end_read;
		}
		if (x.timed_out)
			break;
	}
	if (x.timed_out) {
		r->truncated = true;
		r->budget = "max_ms";
	}
	store_read_end(x.rt);
	x.rt = NULL;
	err = finalize(r);
	if (err != 0) {
		snprintf(msg, msgcap, "%s", store_strerror(err));
		goto free_result;
	}
	free(x.c);
	*out = r;
	return 0;

end_read:
	store_read_end(x.rt);
free_result:
	free(x.c);
	pivot_result_free(r);
	return err;
}

void pivot_result_free(struct pivot_result *r)
{
	if (r == NULL)
		return;
	free(r->nodes);
	free(r->edges);
	free(r->node_ix);
	free(r->edge_ix);
	free(r->paths);
	free(r);
}

size_t pivot_node_count(const struct pivot_result *r)
{
	return r->nnodes;
}

const struct pivot_node *pivot_node_at(const struct pivot_result *r, size_t i)
{
	return i < r->nnodes ? &r->nodes[i].n : NULL;
}

size_t pivot_edge_count(const struct pivot_result *r)
{
	return r->nedges;
}

const struct pivot_edge *pivot_edge_at(const struct pivot_result *r, size_t i)
{
	return i < r->nedges ? &r->edges[i] : NULL;
}

bool pivot_truncated(const struct pivot_result *r, const char **budget)
{
	if (budget != NULL)
		*budget = r->budget;
	return r->truncated;
}

const struct pivot_params *pivot_result_params(const struct pivot_result *r)
{
	return &r->params;
}

void pivot_pruned_detail(const struct pivot_result *r, const struct pivot_node *n, char *out,
			 size_t cap)
{
	const struct pivot_params *p = &r->params;
	unsigned long long d = (unsigned long long)n->degree;
	const char *reason = n->pruned ? n->pruned : "";
	if (strcmp(reason, "shared_hosting") == 0)
		snprintf(out, cap, "%llu names on this IP > max_ip_domains %llu", d,
			 (unsigned long long)p->max_ip_domains);
	else if (strcmp(reason, "cdn_or_default_cert") == 0)
		snprintf(out, cap, "served on %llu IPs > max_cert_ips %llu", d,
			 (unsigned long long)p->max_cert_ips);
	else if (strcmp(reason, "cdn_or_fast_flux_name") == 0)
		snprintf(out, cap, "resolves to %llu IPs > max_domain_ips %llu", d,
			 (unsigned long long)p->max_domain_ips);
	else if (strcmp(reason, "multi_tenant_cert") == 0)
		snprintf(out, cap, "%llu SAN names > max_san %llu",
			 (unsigned long long)n->san_count, (unsigned long long)p->max_san);
	else if (strcmp(reason, "shared_cname_target") == 0)
		snprintf(out, cap, "more than %llu names are CNAMEs of it (max_ip_domains)",
			 (unsigned long long)p->max_ip_domains);
	else if (cap > 0)
		out[0] = '\0';
}
