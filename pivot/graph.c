/*
 * graph.c - the result graph: node and edge indexes, adding nodes with
 * their prevalence and certificate metadata, judged by the store's noise
 * rule (store_noise_judge, shared with the standing pivots).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/hash.h"

/* ---- indexes ------------------------------------------------------------------ */

static uint64_t node_hash(unsigned type, const char *value)
{
	uint8_t t = (uint8_t)type;
	return util_fnv64(util_fnv64(UTIL_FNV64_INIT, &t, 1), value, strlen(value));
}

static uint64_t edge_hash(unsigned type, unsigned src, unsigned dst, uint16_t port)
{
	uint32_t k[4] = {type, src, dst, port};
	return util_fnv64(UTIL_FNV64_INIT, k, sizeof(k));
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

long pivot_node_find(const struct pivot_result *r, unsigned type, const char *value)
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

/* Counting the rows of n nodes of one type within the window: a domain's
 * A and AAAA resolutions, an IP's resolutions, a certificate's distinct
 * addresses (its sightings come by address); each key's rows end past the
 * limit. */
struct recount {
	struct pivot_run *x;
	uint64_t limit;
	bool domains;
	uint64_t *n;
	uint8_t (*last)[16]; /* certificates: the address of the key's last row */
};

static int recount_rr(size_t key, const struct store_rr *rr, void *ctx)
{
	struct recount *c = ctx;
	if (pivot_tick(c->x))
		return STORE_STOP;
	if (c->domains && rr->rrtype != STORE_RR_A && rr->rrtype != STORE_RR_AAAA)
		return 0;
	return ++c->n[key] > c->limit ? STORE_STOP : 0;
}

static int recount_sight(size_t key, const struct store_sighting *s, void *ctx)
{
	struct recount *c = ctx;
	if (pivot_tick(c->x))
		return STORE_STOP;
	if (c->n[key] > 0 && memcmp(s->ip, c->last[key], 16) == 0)
		return 0;
	memcpy(c->last[key], s->ip, 16);
	return ++c->n[key] > c->limit ? STORE_STOP : 0;
}

/* The same for one key's rows (key 0), from the level's edge reads. */
static int recount_rr1(const struct store_rr *rr, void *ctx)
{
	return recount_rr(0, rr, ctx);
}

static int recount_sight1(const struct store_sighting *s, void *ctx)
{
	return recount_sight(0, s, ctx);
}

/* The rows within the window of n keys of type t (names, addresses or
 * certificate references) into counts, each up to limit + 1: one batched
 * read (a query on ClickHouse, a loop on LMDB). */
static int recount_read(struct pivot_run *x, unsigned t, const void *keys, size_t n, uint64_t limit,
                        uint64_t *counts)
{
	struct recount c = {x, limit, t == PIVOT_NODE_DOMAIN, counts,
	                    t == PIVOT_NODE_CERT ? calloc(n, 16) : NULL};
	memset(counts, 0, n * sizeof(*counts));
	if (t == PIVOT_NODE_CERT && c.last == NULL)
		return -ENOMEM;
	int err = t == PIVOT_NODE_DOMAIN ? store_rr_by_names(x->rt, (const char *const *)keys, n,
	                                                     &x->fence, NULL, recount_rr, &c)
	          : t == PIVOT_NODE_IP
	              ? store_rr_by_addrs(x->rt, (const uint8_t(*)[16])keys, n, &x->fence, NULL,
	                                  recount_rr, &c)
	              : store_sight_by_certs(x->rt, (const struct store_cert_ref *)keys, n,
	                                     &x->fence, NULL, recount_sight, &c);
	free(c.last);
	return err;
}

/* With a time window, is the node still over `limit` counting only what
 * was seen in the window?  Only asked when the all-time counter is over
 * the limit, and the count stops at limit + 1.  Domains, IPs and
 * certificates are counted again (with their level's, recount_new, or
 * here alone); any other node stays over. */
static int window_over(struct pivot_run *x, const struct pivot_xnode *xn, uint64_t limit,
                       bool *over)
{
	*over = true;
	if (!x->windowed)
		return 0;
	if (xn->recounted) {
		*over = xn->win_over;
		return 0;
	}
	const void *key = xn->n.type == PIVOT_NODE_IP     ? (const void *)xn->ip
	                  : xn->n.type == PIVOT_NODE_CERT ? (const void *)&xn->ref
	                                                  : NULL;
	const char *name = xn->n.value;
	if (xn->n.type == PIVOT_NODE_DOMAIN)
		key = &name;
	if (key == NULL) /* a key, subject or fingerprint: its all-time count stands */
		return 0;
	uint64_t n;
	int err = recount_read(x, xn->n.type, key, 1, limit, &n);
	*over = n > limit;
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

/* A certificate's hashes and metadata (SAN count included). */
static int cert_meta(struct pivot_run *x, struct pivot_xnode *xn)
{
	struct pivot_node *n = &xn->n;
	n->has_sha1 = xn->ref.kind == 1;
	if (n->has_sha1) {
		memcpy(n->sha1, xn->ref.hash, 20);
	} else {
		n->has_sha256 = true;
		memcpy(n->sha256, xn->ref.hash, 32);
	}
	struct store_cert_info ci;
	int err = pivot_cert_get(x, &xn->ref, &ci);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
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
	return 0;
}

/* Whether the node is noise, by the store's one rule (store_noise_judge)
 * with the run's limits.  With a time window, a node over its degree
 * limit all-time is counted again within the window; the SAN rule still
 * applies when it is not over there. */
static int node_judge(struct pivot_run *x, struct pivot_xnode *xn)
{
	struct pivot_node *n = &xn->n;
	const struct pivot_params *p = x->p;
	const struct store_noise_limits lim = {
	    p->max_ip_domains, p->max_cert_ips,      p->max_domain_ips,     p->max_san,
	    p->max_key_certs,  p->max_subject_certs, p->max_fingerprint_ips};
	struct store_noise v;
	if (!store_noise_judge(n->type, n->degree, n->san_count, &lim, &v))
		return 0;
	if (v.rule != STORE_NOISE_MULTI_TENANT) {
		bool over;
		int err = window_over(x, xn, v.limit, &over);
		if (err != 0)
			return err;
		if (!over && !store_noise_judge(n->type, 0, n->san_count, &lim, &v))
			return 0;
	}
	n->pruned = store_noise_code(v.rule);
	return 0;
}

/* Fill degree and certificate metadata, and decide whether the node is
 * noise (never the seed). */
static int node_measure(struct pivot_run *x, struct pivot_xnode *xn, bool seed)
{
	struct pivot_node *n = &xn->n;
	int err = 0;
	switch (n->type) {
	case PIVOT_NODE_DOMAIN:
		if (n->value[0] != '*')
			err = store_prev_name_ips(x->rt, n->value, &n->degree);
		break;
	case PIVOT_NODE_IP:
		err = store_prev_ip_names(x->rt, xn->ip, &n->degree);
		break;
	case PIVOT_NODE_CERT:
		err = store_prev_cert_ips(x->rt, &xn->ref, &n->degree);
		if (err == 0)
			err = cert_meta(x, xn);
		break;
	default:
		err = pivot_measure_more(x, xn);
		break;
	}
	if (err != 0 || seed)
		return err;
	return node_judge(x, xn);
}

int pivot_node_add(struct pivot_run *x, unsigned type, const char *value,
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
	/* with a prefetch, a new node's counts are read with its level's */
	xn->unmeasured = x->pf != NULL && (type == PIVOT_NODE_DOMAIN || type == PIVOT_NODE_IP ||
	                                   type == PIVOT_NODE_CERT);
	if (!xn->unmeasured)
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
int pivot_edge_add(struct pivot_result *r, const struct pivot_cand *c, unsigned src, unsigned dst,
                   unsigned *id, bool *added)
{
	bool ported = c->etype == PIVOT_EDGE_SERVES || c->etype == PIVOT_EDGE_FINGERPRINT;
	uint16_t port = ported ? c->port : 0;
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

/* ---- the prevalence of a level's new nodes, batched ---- */

/* The degrees of the unmeasured nodes of type t from `from` on, in one
 * batched read: the keys into keys (names, addresses or certificates). */
static int measure_kind(struct pivot_run *x, size_t from, unsigned t, void *keys, uint64_t *out,
                        size_t *idx)
{
	struct pivot_result *r = x->r;
	size_t n = 0;
	for (size_t i = from; i < r->nnodes; i++) {
		struct pivot_xnode *xn = &r->nodes[i];
		if (!xn->unmeasured || xn->n.type != t ||
		    (t == PIVOT_NODE_DOMAIN && xn->n.value[0] == '*'))
			continue;
		if (t == PIVOT_NODE_DOMAIN)
			((const char **)keys)[n] = xn->n.value;
		else if (t == PIVOT_NODE_IP)
			memcpy(((uint8_t(*)[16])keys)[n], xn->ip, 16);
		else if (pivot_pf_cert_ips(x, &xn->ref, &xn->n.degree))
			continue; /* counted by the last level's SNI dating */
		else
			((struct store_cert_ref *)keys)[n] = xn->ref;
		idx[n++] = i;
	}
	if (n == 0)
		return 0;
	int err = t == PIVOT_NODE_DOMAIN
	              ? store_prev_name_ips_n(x->rt, (const char *const *)keys, n, out)
	          : t == PIVOT_NODE_IP
	              ? store_prev_ip_names_n(x->rt, (const uint8_t(*)[16])keys, n, out)
	              : store_prev_cert_ips_n(x->rt, (const struct store_cert_ref *)keys, n, out);
	for (size_t k = 0; k < n && err == 0; k++)
		r->nodes[idx[k]].n.degree = out[k];
	return err;
}

/* The unmeasured certificates from `from` on into refs (keys: only those
 * the walk may expand, above the depth limit); their count. */
static size_t unmeasured_certs(const struct pivot_run *x, size_t from, bool keys,
                               struct store_cert_ref *refs)
{
	const struct pivot_result *r = x->r;
	size_t n = 0;
	for (size_t i = from; i < r->nnodes; i++)
		if (r->nodes[i].unmeasured && r->nodes[i].n.type == PIVOT_NODE_CERT &&
		    (!keys || r->nodes[i].n.depth < x->p->depth))
			refs[n++] = r->nodes[i].ref;
	return n;
}

/* The metadata of the unmeasured certificates from `from` on, in one
 * batched read (refs: room for them), for cert_meta to find; with the key
 * edge, the keys of those the walk will expand too, read with them rather
 * than a round trip later when their level is prefetched.  noting: the
 * read-ahead's first pass (the reads noted, nothing kept). */
static int measure_certs(struct pivot_run *x, size_t from, struct store_cert_ref *refs, bool noting)
{
	int err = 0;
	for (int keys = 0; keys < 2 && err == 0; keys++) {
		if (keys && !(x->p->edges & PIVOT_EDGE_KEY))
			break;
		size_t n = unmeasured_certs(x, from, keys, refs);
		if (noting)
			pivot_certs_note(x, refs, n, keys);
		else
			err = pivot_certs_fetch(x, refs, n, keys);
	}
	return err;
}

/* ---- a window's recounts, batched ---- */

/* The new nodes of type t from `from` on (the seed never) over their
 * degree limit all-time, counted again within the window: from their
 * level's edge reads when those hold all their rows, the others in one
 * batched read (keys: room for them), not one read a node.  An answer too
 * large for a response leaves them to window_over, one by one. */
static int recount_kind(struct pivot_run *x, size_t from, unsigned t, void *keys, size_t *idx)
{
	const struct pivot_params *p = x->p;
	struct pivot_result *r = x->r;
	const uint64_t limit = t == PIVOT_NODE_DOMAIN ? p->max_domain_ips
	                       : t == PIVOT_NODE_IP   ? p->max_ip_domains
	                                              : p->max_cert_ips;
	size_t n = 0;
	for (size_t i = from; i < r->nnodes; i++) {
		struct pivot_xnode *xn = &r->nodes[i];
		if (!xn->unmeasured || xn->n.type != t || xn->n.depth == 0 ||
		    xn->n.degree <= limit || (t == PIVOT_NODE_DOMAIN && xn->n.value[0] == '*'))
			continue;
		uint64_t rows = 0;
		uint8_t last[1][16];
		struct recount one = {x, limit, t == PIVOT_NODE_DOMAIN, &rows, last};
		int held = pivot_pf_rows(x, xn, recount_rr1, recount_sight1, &one);
		if (held == 0) { /* its level's edges hold them */
			xn->recounted = true;
			xn->win_over = rows > limit;
			continue;
		}
		if (held != STORE_ENOTFOUND)
			return held;
		if (t == PIVOT_NODE_DOMAIN)
			((const char **)keys)[n] = xn->n.value;
		else if (t == PIVOT_NODE_IP)
			memcpy(((uint8_t(*)[16])keys)[n], xn->ip, 16);
		else
			((struct store_cert_ref *)keys)[n] = xn->ref;
		idx[n++] = i;
	}
	if (n == 0)
		return 0;
	uint64_t *counts = malloc(n * sizeof(*counts));
	int err = counts != NULL ? recount_read(x, t, keys, n, limit, counts) : -ENOMEM;
	for (size_t k = 0; k < n && err == 0; k++) {
		r->nodes[idx[k]].recounted = true;
		r->nodes[idx[k]].win_over = counts[k] > limit;
	}
	free(counts);
	return err == STORE_ELIMIT ? 0 : err;
}

static int recount_new(struct pivot_run *x, size_t from, void *keys, size_t *idx)
{
	static const unsigned types[3] = {PIVOT_NODE_DOMAIN, PIVOT_NODE_IP, PIVOT_NODE_CERT};
	int err = 0;
	for (int k = 0; k < 3 && err == 0; k++)
		err = recount_kind(x, from, types[k], keys, idx);
	return err;
}

/* The rest of the measure of node xn, its degree read: metadata, noise.
 * Noise found now undoes what temporal affinity did to the node since it
 * was added (a noise node keeps its reason and the edge it came by). */
static int measure_rest(struct pivot_run *x, struct pivot_xnode *xn)
{
	int err = xn->n.type == PIVOT_NODE_CERT ? cert_meta(x, xn) : 0;
	const char *before = xn->n.pruned;
	if (err == 0 && xn->n.depth > 0) /* never the seed */
		err = node_judge(x, xn);
	if (err == 0 && xn->n.pruned != before) {
		xn->parent_edge = xn->fresh_edge;
		xn->cot_from = 0;
		xn->cot_since = 0;
	}
	xn->unmeasured = false;
	return err;
}

int pivot_measure_new(struct pivot_run *x, size_t from, enum pivot_measure_with with)
{
	struct pivot_result *r = x->r;
	size_t n = r->nnodes > from ? r->nnodes - from : 0;
	if (n == 0)
		return 0;
	/* room for any kind's keys: a name pointer, an address, a reference */
	size_t each = sizeof(struct store_cert_ref) > 16 ? sizeof(struct store_cert_ref) : 16;
	void *keys = malloc(n * each);
	uint64_t *out = malloc(n * sizeof(*out));
	size_t *idx = malloc(n * sizeof(*idx));
	int err = keys && out && idx ? 0 : -ENOMEM;
	static const unsigned types[3] = {PIVOT_NODE_DOMAIN, PIVOT_NODE_IP, PIVOT_NODE_CERT};
	/* the three counts and the certificates' metadata and keys at once on
	 * a store with a read-ahead: noted (the degrees 0 until the second
	 * pass), sent, then read; the level's edge reads or the after's
	 * noted with them, their answers kept for pivot_pf_level or it */
	bool ahead = err == 0 && store_ahead_record(x->rt);
	if (ahead) {
		for (int k = 0; k < 3; k++)
			(void)measure_kind(x, from, types[k], keys, out, idx);
		(void)measure_certs(x, from, keys, true);
		if (with == PIVOT_WITH_EDGES)
			pivot_pf_note(x, from);
		else if (with == PIVOT_WITH_AFTER && x->after != NULL)
			x->after->fn(x->rt, x->r, true, x->after->ctx);
		store_ahead_send(x->rt);
	}
	for (int k = 0; k < 3 && err == 0; k++)
		err = measure_kind(x, from, types[k], keys, out, idx);
	if (err == 0)
		err = measure_certs(x, from, keys, false);
	/* the level's edges (the read-ahead's answers), then within a window
	 * the nodes over a limit counted again there: from those edges, or
	 * a batched read a kind, not one a node */
	if (err == 0 && with == PIVOT_WITH_EDGES)
		err = pivot_pf_edges(x, from);
	if (err == 0 && x->windowed)
		err = recount_new(x, from, keys, idx);
	if (err != 0)
		store_ahead_drop(x->rt);
	for (size_t i = from; i < r->nnodes && err == 0; i++)
		if (r->nodes[i].unmeasured)
			err = measure_rest(x, &r->nodes[i]);
	free(keys);
	free(out);
	free(idx);
	return err;
}
