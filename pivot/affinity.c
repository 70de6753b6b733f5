/*
 * affinity.c - temporal affinity in the pivot engine: the actor's names,
 * IPs and certificates appear within days of each other, so a name that
 * has resolved to an IP (or a certificate the IP has served) since long
 * before the path arrived at that IP belongs to another tenant of the
 * address.  Such a node is kept in the result, marked co_tenant, and not
 * expanded.  The rule itself is the store's (store_affinity_judge), shared
 * with the standing pivots.
 */
#include <stdio.h>
#include <string.h>

#include "pivot/pivot_internal.h"

void pivot_affinity_anchor(struct pivot_run *x, size_t i)
{
	struct pivot_xnode *seed = &x->r->nodes[i];
	if (i != 0 || !x->p->affinity || seed->n.type != PIVOT_NODE_IP)
		return;
	/* An IP seed has no path into it: the analyst came for its newest
	 * tenant, so the path arrives with the newest first sighting on it
	 * (within the window: --until moves the anchor back). */
	int64_t newest = 0;
	for (size_t k = 0; k < x->nc; k++)
		if (x->c[k].tf != 0 && (newest == 0 || x->c[k].tf > newest))
			newest = x->c[k].tf;
	seed->arrival = newest;
	seed->arrival_edge = PIVOT_ARRIVAL_SEED;
}

/* Is the edge from node `from` to candidate c a co-tenant's? */
static bool cotenant(const struct pivot_run *x, const struct pivot_xnode *from,
                     const struct pivot_cand *c)
{
	int64_t days;
	if (from->n.type != PIVOT_NODE_IP || from->arrival == 0)
		return false;
	return store_affinity_judge(from->arrival, c->tf, x->p->max_cotenant_days, &days);
}

void pivot_affinity_link(struct pivot_run *x, size_t i, size_t nb, bool fresh,
                         const struct pivot_cand *c, unsigned eid)
{
	struct pivot_xnode *from = &x->r->nodes[i], *to = &x->r->nodes[nb];
	bool cot = cotenant(x, from, c);
	bool deeper = to->n.depth == from->n.depth + 1;
	if (cot) {
		/* noise keeps its own reason; a node an earlier path of the
		 * actor's reached stays in */
		if (fresh && to->n.pruned == NULL) {
			to->n.pruned = PIVOT_PRUNED_COTENANT;
			to->cot_from = (unsigned)i;
			to->cot_since = c->tf;
		}
		return;
	}
	if (!deeper)
		return;
	/* the actor's own edge into a node first met as a co-tenant: it is
	 * the actor's too, reached through this edge (not expanded yet: its
	 * whole depth comes after this one) */
	if (to->n.pruned != NULL && strcmp(to->n.pruned, PIVOT_PRUNED_COTENANT) == 0) {
		to->n.pruned = NULL;
		to->parent_edge = eid;
	}
	/* the path arrives at an IP with the earliest of the edges into it */
	if (to->n.type == PIVOT_NODE_IP && c->tf != 0 &&
	    (to->arrival == 0 || c->tf < to->arrival)) {
		to->arrival = c->tf;
		to->arrival_edge = eid;
	}
}

void pivot_affinity_detail(const struct pivot_result *r, const struct pivot_node *n, char *out,
                           size_t cap)
{
	const struct pivot_xnode *xn = &r->nodes[n->id];
	const struct pivot_xnode *ip = &r->nodes[xn->cot_from];
	int64_t days;
	store_affinity_judge(ip->arrival, xn->cot_since, r->params.max_cotenant_days, &days);
	store_affinity_why(ip->n.value, xn->cot_since, days, out, cap);
}

const char *pivot_dot_pruned_style(const struct pivot_node *n)
{
	if (n->pruned != NULL && strcmp(n->pruned, PIVOT_PRUNED_COTENANT) == 0)
		return ", style=\"dotted,bold\", color=darkorange3, fontcolor=darkorange4";
	return ", style=dashed, color=grey60, fontcolor=grey40";
}
