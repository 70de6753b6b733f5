/*
 * pivot.c - pivot to watchlist: run a pivot and add every node it did not
 * prune, each with the path of edges from the seed as its provenance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int watch_pivot(store_t *s, const char *name, const struct pivot_params *p, int64_t ttl_days,
                const char *who, const char *reason, int64_t now, bool dry_run, json_t **result,
                char *msg, size_t cap)
{
	now = watch_clock(now);
	struct store_watch_info info;
	int err = store_watch_get(s, name, now, &info);
	if (err != 0) {
		if (err == STORE_ENOTFOUND)
			watch_msgf(msg, cap, "no watchlist named '%.64s'", name);
		return err;
	}
	struct pivot_result *r = NULL;
	msg[0] = '\0';
	err = pivot_run(s, p, &r, msg, cap);
	if (err != 0)
		return err;
	size_t nn = pivot_node_count(r);
	const struct pivot_node *seed = NULL;
	for (size_t i = 0; i < nn && seed == NULL; i++)
		if (pivot_node_at(r, i)->depth == 0)
			seed = pivot_node_at(r, i);
	struct store_watch_prov *provs = calloc(nn ? nn : 1, sizeof(*provs));
	int *results = calloc(nn ? nn : 1, sizeof(*results));
	struct watch_items it;
	watch_items_init(&it);
	const struct pivot_node **added_nodes = calloc(nn ? nn : 1, sizeof(*added_nodes));
	if (provs == NULL || results == NULL || added_nodes == NULL) {
		err = -ENOMEM;
		goto out;
	}
	char src[STORE_WATCH_TEXT_BUF];
	watch_msgf(src, sizeof(src), "pivot from %s", seed ? seed->value : p->seed);
	unsigned npruned = 0;
	size_t k = 0;
	for (size_t i = 0; i < nn; i++) {
		const struct pivot_node *n = pivot_node_at(r, i);
		if (n->pruned != NULL) {
			npruned++;
			continue;
		}
		char sub[300];
		err = watch_items_add(&it, n->value, n->type, reason, src, ttl_days, 0,
		                      info.set.ttl_days, now, sub, sizeof(sub));
		if (err != 0) {
			watch_msgf(msg, cap, "node %u: %s", n->id, sub);
			goto out;
		}
		struct store_watch_prov *pv = &provs[k];
		pv->at = now;
		if (who != NULL && *who != '\0')
			watch_msgf(pv->note, sizeof(pv->note), "%s by %s", src, who);
		else
			watch_msgf(pv->note, sizeof(pv->note), "%s", src);
		if (seed != NULL)
			path_hops(r, seed, n, pv);
		added_nodes[k] = n;
		k++;
	}
	for (size_t i = 0; i < k; i++)
		it.v[i].prov = &provs[i];
	uint64_t version = info.version;
	if (!dry_run && k > 0) {
		err = store_watch_add(s, name, it.v, k, now, results, &version);
		if (err != 0) {
			const char *d = store_last_error();
			watch_msgf(msg, cap, "%s%s%s", store_strerror(err), *d ? ": " : "", d);
			goto out;
		}
	}
	json_t *res = json_object();
	json_object_set_new(res, "watchlist", json_string(name));
	json_object_set_new(res, "seed", json_string(seed ? seed->value : p->seed));
	json_object_set_new(res, "version", json_integer((json_int_t)version));
	json_object_set_new(res, "dry_run", json_boolean(dry_run));
	const char *budget = NULL;
	bool trunc = pivot_truncated(r, &budget);
	json_object_set_new(res, "truncated", json_boolean(trunc));
	if (trunc && budget != NULL)
		json_object_set_new(res, "budget", json_string(budget));
	unsigned nadd = 0, nref = 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < k; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "indicator", json_string(it.v[i].indicator));
		json_object_set_new(e, "type", json_string(store_watch_type_name(it.v[i].type)));
		const char *rs = dry_run                           ? "would add"
		                 : results[i] == STORE_WATCH_ADDED ? "added"
		                                                   : "refreshed";
		if (!dry_run && results[i] == STORE_WATCH_ADDED)
			nadd++;
		else if (!dry_run)
			nref++;
		json_object_set_new(e, "result", json_string(rs));
		json_object_set_new(e, "depth", json_integer(added_nodes[i]->depth));
		json_object_set_new(e, "expires", watch_time_json(it.v[i].expires));
		json_t *pj = watch_prov_json(&provs[i]);
		json_object_set(e, "path", json_object_get(pj, "path"));
		json_decref(pj);
		json_array_append_new(arr, e);
	}
	json_object_set_new(res, "added", json_integer(nadd));
	json_object_set_new(res, "refreshed", json_integer(nref));
	json_object_set_new(res, "pruned", json_integer(npruned));
	json_object_set_new(res, "entries", arr);
	*result = res;
	err = 0;
out:
	watch_items_free(&it);
	free(added_nodes);
	free(results);
	free(provs);
	pivot_result_free(r);
	return err;
}
