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

size_t pivot_estate_text(const struct pivot_node *n, char *out, size_t cap)
{
	const struct pivot_estate *e = &n->estate;
	if (!e->known || cap == 0)
		return 0;
	int k = snprintf(out, cap, "estate: %u hosts, %u orgs", e->hosts, e->orgs);
	size_t o = k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
	if (e->period_s > 0 && e->score >= 0.3) {
		k = snprintf(out + o, cap - o, ", beacon %.2f every %.0fs", e->score, e->period_s);
		o += k < 0 ? 0 : (size_t)k < cap - o ? (size_t)k : cap - o - 1;
	}
	return o;
}

void pivot_estate_dot(struct util_buf *b, const struct pivot_node *n)
{
	char text[128];
	if (pivot_estate_text(n, text, sizeof(text)) > 0)
		util_buf_printf(b, "\\n%s", text);
}
