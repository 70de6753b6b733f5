/*
 * explain.c - `pivot --explain NODE`: why one node is in the result and
 * what was decided about it: the path of edges from the seed with their
 * times, when the path arrived at each IP on it, and the rule applied
 * (temporal affinity, a noise limit, or none).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"

/* Edges touching the node listed in full; the rest are counted. */
#define EXPLAIN_MAX_EDGES 20

/* The node as the pivot names it, trying the spellings a person may use. */
static long explain_find(const struct pivot_result *r, const char *value)
{
	char v[STORE_NAME_BUF + 8];
	uint8_t buf[32];
	size_t hlen;
	size_t len = strlen(value);
	for (size_t i = 0; i < r->nnodes; i++)
		if (strcmp(r->nodes[i].n.value, value) == 0)
			return (long)i;
	if (store_addr_parse(value, len, buf) == 0) {
		store_addr_format(buf, v);
		return pivot_node_find(r, PIVOT_NODE_IP, v);
	}
	if (store_hash_parse(value, len, buf, &hlen) == 0) {
		for (size_t i = 0; i < r->nnodes; i++) {
			const struct pivot_node *n = &r->nodes[i].n;
			if (n->type == PIVOT_NODE_CERT &&
			    ((hlen == 20 && n->has_sha1 && memcmp(n->sha1, buf, 20) == 0) ||
			     (hlen == 32 && n->has_sha256 && memcmp(n->sha256, buf, 32) == 0)))
				return (long)i;
		}
		return -1;
	}
	if (store_name_norm(value, len, v, true) == 0)
		return pivot_node_find(r, PIVOT_NODE_DOMAIN, v);
	return -1;
}

static void edge_line(struct util_buf *b, const struct pivot_result *r, const struct pivot_edge *e,
                      unsigned from)
{
	char f[16], l[16];
	pivot_day(e->first_seen, "unknown", f, sizeof(f));
	pivot_day(e->last_seen, "unknown", l, sizeof(l));
	unsigned to = e->src == from ? e->dst : e->src;
	util_buf_printf(b, "  %s -> %s: %s", r->nodes[from].n.value, r->nodes[to].n.value,
	                pivot_edge_type_name(e->type));
	if (e->type == PIVOT_EDGE_SERVES)
		util_buf_printf(b, " port %u", e->port);
	util_buf_printf(b, ", %s %s to %s\n", e->type == PIVOT_EDGE_SAN ? "valid" : "seen", f, l);
}

/* When the path arrived at IP node ip, and through which edge. */
static void arrival_line(struct util_buf *b, const struct pivot_result *r, unsigned ip)
{
	const struct pivot_xnode *xn = &r->nodes[ip];
	char a[16];
	pivot_day(xn->arrival, "unknown", a, sizeof(a));
	if (xn->arrival == 0) {
		util_buf_printf(b,
		                "    the path's arrival at %s is unknown: no affinity rule there\n",
		                xn->n.value);
	} else if (xn->arrival_edge == PIVOT_ARRIVAL_SEED) {
		util_buf_printf(b,
		                "    the path arrived at %s (the seed) on %s: the newest first "
		                "sighting on it\n",
		                xn->n.value, a);
	} else {
		const struct pivot_edge *e = &r->edges[xn->arrival_edge];
		unsigned other = e->src == ip ? e->dst : e->src;
		util_buf_printf(b,
		                "    the path arrived at %s on %s (%s from %s, the earliest edge "
		                "that reached it)\n",
		                xn->n.value, a, pivot_edge_type_name(e->type),
		                r->nodes[other].n.value);
	}
}

/* The affinity verdict on a hop from IP node `from` over edge e. */
static void hop_verdict(struct util_buf *b, const struct pivot_result *r, unsigned from,
                        const struct pivot_edge *e)
{
	const struct pivot_params *p = &r->params;
	const struct pivot_xnode *ip = &r->nodes[from];
	int64_t days;
	if (!p->affinity || ip->arrival == 0)
		return;
	arrival_line(b, r, from);
	bool cot = store_affinity_judge(ip->arrival, e->first_seen, p->max_cotenant_days, &days);
	if (e->first_seen == 0)
		util_buf_printf(b, "    this edge's first sighting is unknown: not judged\n");
	else if (e->first_seen >= ip->arrival)
		util_buf_printf(b, "    this edge was first seen after the path arrived: kept\n");
	else
		util_buf_printf(b,
		                "    this edge was first seen %lld days before the path arrived: "
		                "%s max_cotenant_days %llu%s\n",
		                (long long)days,
		                cot ? ">" : "<=", (unsigned long long)p->max_cotenant_days,
		                cot ? ", a co-tenant" : ", the same tenant");
}

static void path_lines(struct util_buf *b, const struct pivot_result *r, const struct pivot_node *n)
{
	unsigned at = 0;
	util_buf_printf(b, "path from the seed (%u hops):\n", n->path_len);
	for (unsigned k = 0; k < n->path_len; k++) {
		const struct pivot_edge *e = &r->edges[n->path[k]];
		edge_line(b, r, e, at);
		if (r->nodes[at].n.type == PIVOT_NODE_IP)
			hop_verdict(b, r, at, e);
		at = e->src == at ? e->dst : e->src;
	}
}

static void edges_lines(struct util_buf *b, const struct pivot_result *r, unsigned id)
{
	unsigned shown = 0, more = 0;
	util_buf_printf(b, "edges touching it:\n");
	for (size_t i = 0; i < r->nedges; i++) {
		const struct pivot_edge *e = &r->edges[i];
		if (e->src != id && e->dst != id)
			continue;
		if (shown++ < EXPLAIN_MAX_EDGES)
			edge_line(b, r, e, e->src == id ? e->dst : e->src);
		else
			more++;
	}
	if (more > 0)
		util_buf_printf(b, "  ... and %u more\n", more);
}

static void decision_lines(struct util_buf *b, const struct pivot_result *r,
                           const struct pivot_node *n)
{
	const struct pivot_params *p = &r->params;
	const struct pivot_xnode *xn = &r->nodes[n->id];
	if (n->pruned != NULL) {
		char det[300];
		pivot_pruned_detail(r, n, det, sizeof(det));
		util_buf_printf(b, "decision: pruned %s: %s\n", n->pruned, det);
		util_buf_printf(b, "  kept in the result, not expanded\n");
	} else if (n->depth == 0) {
		util_buf_printf(b, "decision: the seed, always expanded\n");
	} else {
		util_buf_printf(b, "decision: %s\n",
		                xn->expanded ? "kept and expanded"
		                             : "kept (not expanded: depth or budget reached)");
	}
	if (n->type == PIVOT_NODE_IP && p->affinity && xn->expanded)
		arrival_line(b, r, n->id);
	if (!p->affinity)
		util_buf_printf(b, "rule: temporal affinity is off (no_affinity)\n");
	else
		util_buf_printf(b,
		                "rule: temporal affinity, max_cotenant_days %llu: an edge from an "
		                "IP first seen more than that before the path arrived at the IP "
		                "leads to a co-tenant\n",
		                (unsigned long long)p->max_cotenant_days);
}

char *pivot_explain(const struct pivot_result *r, const char *value)
{
	long id = explain_find(r, value);
	if (id < 0)
		return NULL;
	const struct pivot_node *n = &r->nodes[id].n;
	struct util_buf b;
	util_buf_init(&b, PIVOT_RENDER_MAX);
	char f[16], l[16];
	pivot_day(n->first_seen, "unknown", f, sizeof(f));
	pivot_day(n->last_seen, "unknown", l, sizeof(l));
	util_buf_printf(&b, "%s (%s), depth %u, seen %s to %s, degree %llu\n", n->value,
	                pivot_node_type_name(n->type), n->depth, f, l,
	                (unsigned long long)n->degree);
	path_lines(&b, r, n);
	edges_lines(&b, r, n->id);
	decision_lines(&b, r, n);
	return util_buf_finish(&b, NULL);
}
