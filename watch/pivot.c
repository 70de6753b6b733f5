/*
 * pivot.c - pivot to watchlist: run a pivot and add every node it did not
 * prune, each with the path of edges from the seed as its provenance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"
#include "watch/watch_internal.h"

/* ---- pivot to watchlist ------------------------------------------------------------- */

static const struct pivot_node *node_by_id(const struct pivot_result *r, unsigned id)
{
	if (id < pivot_node_count(r) && pivot_node_at(r, id)->id == id)
		return pivot_node_at(r, id);
	for (size_t i = 0; i < pivot_node_count(r); i++)
		if (pivot_node_at(r, i)->id == id)
			return pivot_node_at(r, i);
	return NULL;
}

static const struct pivot_edge *edge_by_id(const struct pivot_result *r, unsigned id)
{
	if (id < pivot_edge_count(r) && pivot_edge_at(r, id)->id == id)
		return pivot_edge_at(r, id);
	for (size_t i = 0; i < pivot_edge_count(r); i++)
		if (pivot_edge_at(r, i)->id == id)
			return pivot_edge_at(r, i);
	return NULL;
}

/* The node's path as hops oriented from the seed outwards. */
static void path_hops(const struct pivot_result *r, const struct pivot_node *seed,
                      const struct pivot_node *n, struct store_watch_prov *p)
{
	unsigned cur = seed->id;
	p->nhops = 0;
	for (unsigned i = 0; i < n->path_len && p->nhops < STORE_WATCH_HOPS_MAX; i++) {
		const struct pivot_edge *e = edge_by_id(r, n->path[i]);
		if (e == NULL)
			break;
		unsigned from = e->src == cur ? e->src : e->dst;
		unsigned to = e->src == cur ? e->dst : e->src;
		const struct pivot_node *fn = node_by_id(r, from), *tn = node_by_id(r, to);
		if (fn == NULL || tn == NULL)
			break;
		struct store_watch_hop *h = &p->hops[p->nhops++];
		h->edge = (uint8_t)e->type;
		if (e->type == PIVOT_EDGE_CNAME && e->src != cur)
			h->edge |= STORE_WATCH_HOP_BACKWARD;
		h->from_type = (uint8_t)fn->type;
		h->to_type = (uint8_t)tn->type;
		watch_msgf(h->from, sizeof(h->from), "%s", fn->value);
		watch_msgf(h->to, sizeof(h->to), "%s", tn->value);
		h->first_seen = e->first_seen;
		h->last_seen = e->last_seen;
		h->port = e->type == PIVOT_EDGE_SERVES ? e->port : 0;
		cur = to;
	}
}

/* What a pivot adds to a list: the nodes it did not prune, as items with
 * their provenance. */
struct harvest {
	const struct pivot_result *r;
	const struct pivot_node *seed;
	struct watch_items it;
	struct store_watch_prov *provs;
	const struct pivot_node **nodes;
	int *results;
	unsigned npruned;
};

static int harvest_init(struct harvest *h, const struct pivot_result *r)
{
	size_t nn = pivot_node_count(r);
	memset(h, 0, sizeof(*h));
	h->r = r;
	for (size_t i = 0; i < nn && h->seed == NULL; i++)
		if (pivot_node_at(r, i)->depth == 0)
			h->seed = pivot_node_at(r, i);
	watch_items_init(&h->it);
	h->provs = calloc(nn ? nn : 1, sizeof(*h->provs));
	h->results = calloc(nn ? nn : 1, sizeof(*h->results));
	h->nodes = calloc(nn ? nn : 1, sizeof(*h->nodes));
	return h->provs && h->results && h->nodes ? 0 : -ENOMEM;
}

static void harvest_free(struct harvest *h)
{
	watch_items_free(&h->it);
	free(h->nodes);
	free(h->results);
	free(h->provs);
}

/* Each node that was not pruned as an item (source src, noted "src by
 * who"), with its path from the seed.  0 or an error with msg set. */
static int harvest_nodes(struct harvest *h, const char *src, const char *who, const char *reason,
                         int64_t ttl_days, uint32_t default_ttl, int64_t now, char *msg, size_t cap)
{
	for (size_t i = 0; i < pivot_node_count(h->r); i++) {
		const struct pivot_node *n = pivot_node_at(h->r, i);
		if (n->pruned != NULL) {
			h->npruned++;
			continue;
		}
		char sub[300];
		int err = watch_items_add(&h->it, n->value, n->type, reason, src, ttl_days, 0,
		                          default_ttl, now, sub, sizeof(sub));
		if (err != 0) {
			watch_msgf(msg, cap, "node %u: %s", n->id, sub);
			return err;
		}
		struct store_watch_prov *pv = &h->provs[h->it.n - 1];
		pv->at = now;
		if (who != NULL && *who != '\0')
			watch_msgf(pv->note, sizeof(pv->note), "%s by %s", src, who);
		else
			watch_msgf(pv->note, sizeof(pv->note), "%s", src);
		if (h->seed != NULL)
			path_hops(h->r, h->seed, n, pv);
		h->nodes[h->it.n - 1] = n;
	}
	/* the items may have moved while they grew */
	for (size_t i = 0; i < h->it.n; i++)
		h->it.v[i].prov = &h->provs[i];
	return 0;
}

/* entries:[{indicator, type, result, depth, expires, path}]; counts the
 * adds and refreshes. */
static json_t *harvest_entries(const struct harvest *h, bool dry_run, unsigned *nadd,
                               unsigned *nref)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < h->it.n; i++) {
		bool added = h->results[i] == STORE_WATCH_ADDED;
		*nadd += !dry_run && added;
		*nref += !dry_run && !added;
		json_t *e = json_object();
		json_object_set_new(e, "indicator", json_string(h->it.v[i].indicator));
		json_object_set_new(e, "type", json_string(store_watch_type_name(h->it.v[i].type)));
		json_object_set_new(e, "result",
		                    json_string(dry_run ? "would add"
		                                : added ? "added"
		                                        : "refreshed"));
		json_object_set_new(e, "depth", json_integer(h->nodes[i]->depth));
		json_object_set_new(e, "expires", util_time_json(h->it.v[i].expires));
		json_t *pj = watch_prov_json(&h->provs[i]);
		json_object_set(e, "path", json_object_get(pj, "path"));
		json_decref(pj);
		json_array_append_new(arr, e);
	}
	return arr;
}

static json_t *harvest_json(const struct harvest *h, const char *name, const char *seed,
                            uint64_t version, bool dry_run)
{
	json_t *res = json_object();
	json_object_set_new(res, "watchlist", json_string(name));
	json_object_set_new(res, "seed", json_string(seed));
	json_object_set_new(res, "version", json_integer((json_int_t)version));
	json_object_set_new(res, "dry_run", json_boolean(dry_run));
	const char *budget = NULL;
	bool trunc = pivot_truncated(h->r, &budget);
	json_object_set_new(res, "truncated", json_boolean(trunc));
	if (trunc && budget != NULL)
		json_object_set_new(res, "budget", json_string(budget));
	unsigned nadd = 0, nref = 0;
	json_t *arr = harvest_entries(h, dry_run, &nadd, &nref);
	json_object_set_new(res, "added", json_integer(nadd));
	json_object_set_new(res, "refreshed", json_integer(nref));
	json_object_set_new(res, "pruned", json_integer(h->npruned));
	json_object_set_new(res, "entries", arr);
	return res;
}

int watch_pivot(store_t *s, const char *name, const struct pivot_params *p, int64_t ttl_days,
                const char *who, const char *reason, int64_t now, bool dry_run, json_t **result,
                char *msg, size_t cap)
{
	now = watch_clock(now);
	struct store_watch_info info;
	int err = store_watch_get(s, name, now, &info);
	if (err == STORE_ENOTFOUND)
		watch_msgf(msg, cap, "no watchlist named '%.64s'", name);
	if (err != 0)
		return err;
	struct pivot_result *r = NULL;
	msg[0] = '\0';
	err = pivot_run(s, p, &r, msg, cap);
	if (err != 0)
		return err;
	struct harvest h;
	err = harvest_init(&h, r);
	const char *seed = h.seed ? h.seed->value : p->seed;
	char src[STORE_WATCH_TEXT_BUF];
	watch_msgf(src, sizeof(src), "pivot from %s", seed);
	if (err == 0)
		err =
		    harvest_nodes(&h, src, who, reason, ttl_days, info.set.ttl_days, now, msg, cap);
	uint64_t version = info.version;
	if (err == 0 && !dry_run && h.it.n > 0) {
		err = store_watch_add(s, name, h.it.v, h.it.n, now, h.results, &version);
		const char *d = store_last_error();
		if (err != 0)
			watch_msgf(msg, cap, "%s%s%s", store_strerror(err), *d ? ": " : "", d);
	}
	if (err == 0)
		*result = harvest_json(&h, name, seed, version, dry_run);
	harvest_free(&h);
	pivot_result_free(r);
	return err;
}
