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

#include "pivot/pivot_internal.h"

/* Edges are bounded with the node budget: at most this many per node. */
#define PIVOT_EDGES_PER_NODE 64

/* A store error into msg: with the store's detail when the store is a
 * ClickHouse cluster that refused (its message) or lacks the call (what). */
static void store_msg(int err, char *msg, size_t msgcap)
{
	const char *d = store_last_error();
	if ((err == STORE_ENOTSUP || err == STORE_EREMOTE) && *d != '\0')
		snprintf(msg, msgcap, "%s: %s", store_strerror(err), d);
	else
		snprintf(msg, msgcap, "%s", store_strerror(err));
}

/* ---- seed ------------------------------------------------------------------------- */

/* The seed's type when it is to be detected: a hash, an address, or else
 * a name. */
static enum pivot_node_type seed_type(const struct pivot_params *p)
{
	const char *s = p->seed;
	size_t len = strlen(s), hlen;
	uint8_t hash[32], ip[16];
	if (p->seed_type != PIVOT_NODE_AUTO)
		return p->seed_type;
	if (store_hash_parse(s, len, hash, &hlen) == 0)
		return PIVOT_NODE_CERT;
	if (store_addr_parse(s, len, ip) == 0)
		return PIVOT_NODE_IP;
	if (pivot_seed_type_more(s) != PIVOT_NODE_AUTO)
		return pivot_seed_type_more(s);
	return PIVOT_NODE_DOMAIN;
}

static int seed_cert(struct pivot_run *x, char *msg, size_t msgcap)
{
	const char *s = x->p->seed;
	uint8_t hash[32];
	size_t hlen = 0;
	unsigned id;
	if (store_hash_parse(s, strlen(s), hash, &hlen) != 0) {
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
		store_msg(err, msg, msgcap);
		return err;
	}
	char v[STORE_NAME_BUF];
	pivot_cert_value(&ref, v);
	return pivot_node_add(x, PIVOT_NODE_CERT, v, &ref, NULL, 0, &id);
}

static int seed_ip(struct pivot_run *x, char *msg, size_t msgcap)
{
	const char *s = x->p->seed;
	uint8_t ip[16];
	unsigned id;
	if (store_addr_parse(s, strlen(s), ip) != 0) {
		snprintf(msg, msgcap, "seed: '%.80s' is not an IPv4 or IPv6 address", s);
		return STORE_EBADADDR;
	}
	char v[STORE_ADDR_BUF];
	store_addr_format(ip, v);
	return pivot_node_add(x, PIVOT_NODE_IP, v, NULL, ip, 0, &id);
}

static int seed_domain(struct pivot_run *x, char *msg, size_t msgcap)
{
	const struct pivot_params *p = x->p;
	char norm[STORE_NAME_BUF];
	unsigned id;
	int err = store_name_norm(p->seed, strlen(p->seed), norm, false);
	if (err != 0) {
		snprintf(msg, msgcap,
		         p->seed_type == PIVOT_NODE_AUTO
		             ? "seed: '%.80s' is not a domain name, an IP address, or a "
		               "certificate SHA-1/SHA-256"
		             : "seed: '%.80s' is not a valid domain name",
		         p->seed);
		return err;
	}
	return pivot_node_add(x, PIVOT_NODE_DOMAIN, norm, NULL, NULL, 0, &id);
}

static int seed_add(struct pivot_run *x, char *msg, size_t msgcap)
{
	enum pivot_node_type t = seed_type(x->p);
	switch (t) {
	case PIVOT_NODE_CERT:
		return seed_cert(x, msg, msgcap);
	case PIVOT_NODE_IP:
		return seed_ip(x, msg, msgcap);
	case PIVOT_NODE_DOMAIN:
	case PIVOT_NODE_AUTO:
		return seed_domain(x, msg, msgcap);
	default:
		return pivot_seed_more(x, t, msg, msgcap);
	}
}

/* ---- the walk ------------------------------------------------------------ */

/* The node budget is spent: the result says so and the walk stops. */
static void out_of_nodes(struct pivot_result *r, bool *stop)
{
	r->truncated = true;
	r->budget = "max_nodes";
	*stop = true;
}

/* The neighbours of node i into x->c; false when the node turned out to
 * be a shared CNAME target, pruned instead of expanded. */
static int walk_node(struct pivot_run *x, size_t i, const struct pivot_xnode *cur, bool *expand)
{
	int err = 0;
	switch (cur->n.type) {
	case PIVOT_NODE_DOMAIN:
		err = pivot_walk_domain(x, cur);
		break;
	case PIVOT_NODE_IP:
		err = pivot_walk_ip(x, cur);
		break;
	case PIVOT_NODE_CERT:
		err = pivot_walk_cert(x, cur);
		break;
	case PIVOT_NODE_KEY:
		err = pivot_walk_key(x, cur);
		break;
	case PIVOT_NODE_SUBJECT:
		err = pivot_walk_subject(x, cur);
		break;
	case PIVOT_NODE_JARM:
	case PIVOT_NODE_JA3S:
		err = pivot_walk_fp(x, cur);
		break;
	default:
		break;
	}
	*expand = err == 0 && !x->shared_target;
	if (err == 0 && x->shared_target)
		x->r->nodes[i].n.pruned = "shared_cname_target";
	return err;
}

/* Link node i to candidate c, adding c as a node one hop deeper when new. */
static int link_cand(struct pivot_run *x, size_t i, unsigned depth, const struct pivot_cand *c,
                     bool *stop)
{
	struct pivot_result *r = x->r;
	if (r->nedges >= (size_t)x->p->max_nodes * PIVOT_EDGES_PER_NODE) {
		out_of_nodes(r, stop);
		return 0;
	}
	long nb = pivot_node_find(r, c->ntype, c->value);
	bool fresh = nb < 0;
	if (fresh) {
		if (r->nnodes >= x->p->max_nodes) {
			out_of_nodes(r, stop);
			return 0;
		}
		unsigned id;
		int err = pivot_node_add(x, c->ntype, c->value, &c->ref, c->ip, depth, &id);
		if (err != 0)
			return err;
		nb = (long)id;
	}
	unsigned src = c->nb_is_src ? (unsigned)nb : (unsigned)i;
	unsigned dst = c->nb_is_src ? (unsigned)i : (unsigned)nb;
	unsigned eid;
	bool added;
	int err = pivot_edge_add(r, c, src, dst, &eid, &added);
	if (err == 0 && fresh)
		r->nodes[nb].parent_edge = r->nodes[nb].fresh_edge = eid;
	if (err == 0 && x->p->affinity)
		pivot_affinity_link(x, i, (size_t)nb, fresh, c, eid);
	return err;
}

static int expand_one(struct pivot_run *x, size_t i, bool *stop)
{
	struct pivot_result *r = x->r;
	x->nc = 0;
	x->is_seed = i == 0;
	x->shared_target = false;
	/* a copy: adding nodes below may move the array */
	struct pivot_xnode cur = r->nodes[i];
	bool expand;
	int err = walk_node(x, i, &cur, &expand);
	if (err != 0 || !expand)
		return err;
	r->nodes[i].expanded = true;
	r->expanded++;
	pivot_cand_sort_merge(x);
	pivot_affinity_anchor(x, i);
	for (size_t k = 0; k < x->nc && !*stop; k++) {
		err = link_cand(x, i, cur.n.depth + 1, &x->c[k], stop);
		if (err != 0)
			return err;
	}
	if (x->cand_overflow && !r->truncated) {
		r->truncated = true;
		r->budget = "max_nodes";
	}
	return 0;
}

/* Times over the sightings that touch a node: san edges carry a
 * certificate's validity, not a sighting (it may end years ahead), so a
 * node touched by nothing else has no seen times. */
static void edge_times(struct pivot_result *r, const struct pivot_edge *e)
{
	unsigned ends[2] = {e->src, e->dst};
	for (int k = 0; e->type != PIVOT_EDGE_SAN && k < 2; k++) {
		struct pivot_node *nd = &r->nodes[ends[k]].n;
		if (e->first_seen != 0 && (nd->first_seen == 0 || e->first_seen < nd->first_seen))
			nd->first_seen = e->first_seen;
		if (e->last_seen > nd->last_seen)
			nd->last_seen = e->last_seen;
	}
}

/* The port of a serves edge into its IP's sorted set of ports. */
static void edge_port(struct pivot_result *r, const struct pivot_edge *e)
{
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

/* The provenance paths: a node's is its parent's and the edge from it.
 * Also counts the pruned nodes. */
static int node_paths(struct pivot_result *r)
{
	size_t total = 0;
	for (size_t i = 0; i < r->nnodes; i++) {
		struct pivot_node *nd = &r->nodes[i].n;
		total += nd->depth;
		if (nd->pruned != NULL)
			r->pruned++;
	}
	r->paths = malloc((total ? total : 1) * sizeof(unsigned));
	if (r->paths == NULL)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < r->nnodes; i++) {
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

static int finalize(struct pivot_result *r)
{
	for (size_t i = 0; i < r->nedges; i++) {
		edge_times(r, &r->edges[i]);
		if (r->edges[i].type == PIVOT_EDGE_SERVES)
			edge_port(r, &r->edges[i]);
	}
	return node_paths(r);
}

static void run_init(struct pivot_run *x, struct pivot_result *r, const struct pivot_params *p)
{
	r->params = *p;
	if (r->params.now == 0)
		r->params.now = (int64_t)time(NULL);
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->p = &r->params;
	store_fence_init(&x->fence);
	x->fence.since = p->since;
	x->fence.until = p->until;
	x->windowed = p->since != INT64_MIN || p->until != INT64_MAX;
	x->maxc = 4 * (size_t)p->max_nodes + 4096;
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
}

/* Breadth-first from the seed until the depth or a budget is reached. */
static int run_walk(struct pivot_run *x, char *msg, size_t msgcap)
{
	struct pivot_result *r = x->r;
	int err = seed_add(x, msg, msgcap);
	if (err != 0)
		return err;
	bool stop = false;
	for (size_t i = 0; i < r->nnodes && !stop; i++) {
		const struct pivot_node *n = &r->nodes[i].n;
		if (n->depth >= x->p->depth)
			break; /* breadth-first: every later node is as deep */
		if (x->pf != NULL && (i == 0 || r->nodes[i - 1].n.depth != n->depth)) {
			/* the level's reads in one go: its nodes' counts with
			 * their edges (those of nodes found noise unused) */
			pivot_pf_begin(x);
			err = pivot_measure_new(x, i, PIVOT_WITH_EDGES);
			if (err == 0)
				err = pivot_pf_level(x, i);
		}
		if (err == 0 && n->pruned != NULL)
			continue;
		if (err == 0 && pivot_over_time(x))
			break;
		if (err == 0)
			err = expand_one(x, i, &stop);
		if (err != 0) {
			store_msg(err, msg, msgcap);
			return err;
		}
		if (x->timed_out)
			break;
	}
	/* the nodes of the last level (or of one cut short); a window's
	 * recount may spend the time budget */
	err = x->pf != NULL ? pivot_measure_new(x, 0, PIVOT_WITH_AFTER) : 0;
	if (err != 0) {
		store_msg(err, msg, msgcap);
		return err;
	}
	if (x->timed_out) {
		r->truncated = true;
		r->budget = "max_ms";
	}
	return 0;
}

int pivot_run(store_t *s, const struct pivot_params *p, struct pivot_result **out, char *msg,
              size_t msgcap)
{
	return pivot_run_after(s, p, NULL, out, msg, msgcap);
}

int pivot_run_after(store_t *s, const struct pivot_params *p, const struct pivot_after *after,
                    struct pivot_result **out, char *msg, size_t msgcap)
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
	struct pivot_run x;
	run_init(&x, r, p);
	x.after = after;
	err = store_read_begin(s, &x.rt);
	if (err != 0) {
		store_msg(err, msg, msgcap);
		goto free_result;
	}
	/* a query per read on ClickHouse: read each level in one go (the
	 * environment variable makes LMDB do it too, for the tests) */
	if (strcmp(store_backend(s), "clickhouse") == 0 ||
	    getenv("INFRAPIVOT_PIVOT_PREFETCH") != NULL)
		err = pivot_pf_new(&x);
	if (err == 0)
		err = run_walk(&x, msg, msgcap);
	if (err == 0 && after != NULL)
		after->fn(x.rt, r, false, after->ctx);
	store_ahead_drop(x.rt);
	if (err != 0 && msgcap > 0 && msg[0] == '\0')
		store_msg(err, msg, msgcap);
	pivot_pf_free(x.pf);
	x.pf = NULL;
	pivot_certs_free(x.certs);
	x.certs = NULL;
	store_read_end(x.rt);
	x.rt = NULL;
	if (err != 0)
		goto free_result;
	err = finalize(r);
	if (err != 0) {
		store_msg(err, msg, msgcap);
		goto free_result;
	}
	free(x.c);
	*out = r;
	return 0;

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
	else if (strcmp(reason, PIVOT_PRUNED_COTENANT) == 0)
		pivot_affinity_detail(r, n, out, cap);
	else if (strcmp(reason, "shared_cname_target") == 0)
		snprintf(out, cap, "more than %llu names are CNAMEs of it (max_ip_domains)",
		         (unsigned long long)p->max_ip_domains);
	else if (!pivot_pruned_detail_more(r, n, out, cap) && cap > 0)
		out[0] = '\0';
}
