/*
 * render_estate.c - what our estate knows of a pivot node: how many of
 * our hosts, organisations and sensors contact it, and how much its best
 * client looks like a beacon (docs/estate.md).  The service fills it.
 */
#include <math.h>

#include "pivot/pivot_internal.h"
#include "util/buf.h"

void pivot_node_estate_set(struct pivot_result *r, size_t i, const struct pivot_estate *e)
{
	if (i < r->nnodes)
		r->nodes[i].n.estate = *e;
}

json_t *pivot_estate_json(const struct pivot_node *n)
{
	const struct pivot_estate *e = &n->estate;
	if (!e->known)
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "hosts", json_integer(e->hosts));
	json_object_set_new(o, "orgs", json_integer(e->orgs));
	json_object_set_new(o, "sensors", json_integer(e->sensors));
	json_t *b = json_object();
	json_object_set_new(b, "score", json_real(round(e->score * 1000) / 1000));
	json_object_set_new(
	    b, "period_s", e->period_s > 0 ? json_real(round(e->period_s * 10) / 10) : json_null());
	json_object_set_new(o, "beacon", b);
	return o;
}

void pivot_estate_dot(struct util_buf *b, const struct pivot_node *n)
{
	const struct pivot_estate *e = &n->estate;
	if (!e->known)
		return;
	util_buf_printf(b, "\\nestate: %u hosts, %u orgs", e->hosts, e->orgs);
	if (e->period_s > 0 && e->score >= 0.3)
		util_buf_printf(b, ", beacon %.2f every %.0fs", e->score, e->period_s);
}
