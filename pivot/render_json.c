/*
 * render_json.c - the pivot result as JSON, and as a table for people.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include "pivot/pivot_internal.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/time.h"

static json_t *bound_json(int64_t t)
{
	if (t == INT64_MIN || t == INT64_MAX)
		return json_null();
	char buf[32];
	util_time_format(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *age_json(const struct pivot_result *r, int64_t last)
{
	if (last == 0)
		return json_null();
	int64_t d = r->params.now - last;
	if (d < 0)
		d = 0;
	return json_integer(d / 86400);
}

static json_t *params_json(const struct pivot_result *r)
{
	const struct pivot_params *p = &r->params;
	json_t *o = json_object();
	json_object_set_new(o, "depth", json_integer(p->depth));
	json_object_set_new(o, "since", bound_json(p->since));
	json_object_set_new(o, "until", bound_json(p->until));
	json_t *e = json_array();
	for (unsigned b = 1; b <= PIVOT_EDGE_FINGERPRINT; b <<= 1)
		if (p->edges & b)
			json_array_append_new(e, json_string(pivot_edge_type_name(b)));
	json_object_set_new(o, "edges", e);
	json_object_set_new(o, "max_ip_domains", json_integer((json_int_t)p->max_ip_domains));
	json_object_set_new(o, "max_cert_ips", json_integer((json_int_t)p->max_cert_ips));
	json_object_set_new(o, "max_domain_ips", json_integer((json_int_t)p->max_domain_ips));
	json_object_set_new(o, "max_san", json_integer((json_int_t)p->max_san));
	json_object_set_new(o, "max_key_certs", json_integer((json_int_t)p->max_key_certs));
	json_object_set_new(o, "max_subject_certs", json_integer((json_int_t)p->max_subject_certs));
	json_object_set_new(o, "max_fingerprint_ips",
	                    json_integer((json_int_t)p->max_fingerprint_ips));
	json_object_set_new(o, "max_nodes", json_integer(p->max_nodes));
	json_object_set_new(o, "max_ms", json_integer(p->max_ms));
	json_object_set_new(o, "affinity", json_boolean(p->affinity));
	json_object_set_new(o, "max_cotenant_days", json_integer((json_int_t)p->max_cotenant_days));
	return o;
}

static json_t *path_json(const struct pivot_node *n)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n->path_len; i++)
		json_array_append_new(a, json_integer(n->path[i]));
	return a;
}

static json_t *ports_json(const struct pivot_node *n)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n->nports; i++)
		json_array_append_new(a, json_integer(n->ports[i]));
	return a;
}

static void set_clean_text(json_t *o, const char *key, const char *text)
{
	char clean[3 * 512];
	pivot_utf8_clean(text, clean, sizeof(clean));
	json_object_set_new(o, key, json_string(clean));
}

/* A certificate node's hashes and, when known, its metadata. */
static void cert_fields(json_t *o, const struct pivot_node *n)
{
	char hex[65];
	if (n->has_sha1) {
		util_hex_encode(n->sha1, 20, hex);
		json_object_set_new(o, "sha1", json_string(hex));
	}
	if (n->has_sha256) {
		util_hex_encode(n->sha256, 32, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	}
	if (!n->cert_has_meta)
		return;
	set_clean_text(o, "subject", n->subject);
	set_clean_text(o, "issuer", n->issuer);
	set_clean_text(o, "serial", n->serial);
	json_object_set_new(o, "not_before", util_time_json(n->not_before));
	json_object_set_new(o, "not_after", util_time_json(n->not_after));
	json_object_set_new(o, "san_count", json_integer((json_int_t)n->san_count));
}

static json_t *node_json(const struct pivot_result *r, const struct pivot_node *n)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(n->id));
	json_object_set_new(o, "type", json_string(pivot_node_type_name(n->type)));
	json_object_set_new(o, "value", json_string(n->value));
	json_object_set_new(o, "depth", json_integer(n->depth));
	json_object_set_new(o, "first_seen", util_time_json(n->first_seen));
	json_object_set_new(o, "last_seen", util_time_json(n->last_seen));
	json_object_set_new(o, "age_days", age_json(r, n->last_seen));
	json_object_set_new(o, "degree", json_integer((json_int_t)n->degree));
	json_object_set_new(o, "pruned", n->pruned ? json_string(n->pruned) : json_null());
	if (n->pruned != NULL) {
		char d[160];
		pivot_pruned_detail(r, n, d, sizeof(d));
		json_object_set_new(o, "pruned_detail", json_string(d));
	}
	json_object_set_new(o, "path", path_json(n));
	json_t *est = pivot_estate_json(n);
	if (est != NULL)
		json_object_set_new(o, "estate", est);
	if (n->type == PIVOT_NODE_IP)
		json_object_set_new(o, "ports", ports_json(n));
	if (n->type == PIVOT_NODE_CERT)
		cert_fields(o, n);
	return o;
}

static json_t *edge_json(const struct pivot_edge *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(e->id));
	json_object_set_new(o, "type", json_string(pivot_edge_type_name(e->type)));
	json_object_set_new(o, "src", json_integer(e->src));
	json_object_set_new(o, "dst", json_integer(e->dst));
	json_object_set_new(o, "first_seen", util_time_json(e->first_seen));
	json_object_set_new(o, "last_seen", util_time_json(e->last_seen));
	json_object_set_new(o, "count", json_integer((json_int_t)e->count));
	if (e->type == PIVOT_EDGE_SERVES || e->type == PIVOT_EDGE_FINGERPRINT)
		json_object_set_new(o, "port", json_integer(e->port));
	return o;
}

json_t *pivot_to_json(const struct pivot_result *r)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	const struct pivot_node *seed = &r->nodes[0].n;
	json_t *sd = json_object();
	json_object_set_new(sd, "type", json_string(pivot_node_type_name(seed->type)));
	json_object_set_new(sd, "value", json_string(seed->value));
	json_object_set_new(o, "seed", sd);
	json_object_set_new(o, "params", params_json(r));
	json_object_set_new(o, "truncated", json_boolean(r->truncated));
	json_object_set_new(o, "truncated_by", r->budget ? json_string(r->budget) : json_null());
	json_t *nodes = json_array();
	for (size_t i = 0; i < r->nnodes; i++)
		json_array_append_new(nodes, node_json(r, &r->nodes[i].n));
	json_object_set_new(o, "nodes", nodes);
	json_t *edges = json_array();
	for (size_t i = 0; i < r->nedges; i++)
		json_array_append_new(edges, edge_json(&r->edges[i]));
	json_object_set_new(o, "edges", edges);
	unsigned by[8] = {0};
	for (size_t i = 0; i < r->nnodes; i++)
		by[r->nodes[i].n.type & 7]++;
	json_t *st = json_object();
	json_object_set_new(st, "nodes", json_integer((json_int_t)r->nnodes));
	json_object_set_new(st, "edges", json_integer((json_int_t)r->nedges));
	json_object_set_new(st, "domains", json_integer(by[PIVOT_NODE_DOMAIN]));
	json_object_set_new(st, "ips", json_integer(by[PIVOT_NODE_IP]));
	json_object_set_new(st, "certs", json_integer(by[PIVOT_NODE_CERT]));
	json_object_set_new(st, "keys", json_integer(by[PIVOT_NODE_KEY]));
	json_object_set_new(st, "subjects", json_integer(by[PIVOT_NODE_SUBJECT]));
	json_object_set_new(st, "fingerprints",
	                    json_integer(by[PIVOT_NODE_JARM] + by[PIVOT_NODE_JA3S]));
	json_object_set_new(st, "expanded", json_integer(r->expanded));
	json_object_set_new(st, "pruned", json_integer(r->pruned));
	json_object_set_new(st, "depth_reached", json_integer(r->depth_reached));
	json_object_set_new(o, "stats", st);
	return o;
}

/* ---- table ---------------------------------------------------------------- */

void pivot_day(int64_t t, const char *unknown, char *out, size_t cap)
{
	if (t == 0) {
		snprintf(out, cap, "%s", unknown);
		return;
	}
	char buf[32];
	util_time_format(t, buf, sizeof(buf));
	snprintf(out, cap, "%.10s", buf);
}

/* How the walk reached n: the last edge of its path, or "seed". */
static size_t via_path(const struct pivot_result *r, const struct pivot_node *n, char *via,
                       size_t cap)
{
	if (n->path_len == 0)
		return (size_t)snprintf(via, cap, "seed");
	const struct pivot_edge *e = &r->edges[n->path[n->path_len - 1]];
	unsigned other = e->src == n->id ? e->dst : e->src;
	size_t o = (size_t)snprintf(via, cap, "%s %s", pivot_edge_type_name(e->type),
	                            r->nodes[other].n.value);
	if ((e->type == PIVOT_EDGE_SERVES || e->type == PIVOT_EDGE_FINGERPRINT) && o < cap)
		o += (size_t)snprintf(via + o, cap - o, " port %u", e->port);
	return o;
}

/* The "via / notes" column: the path, why it was pruned, a certificate's
 * subject, an address's ports. */
static void via_notes(const struct pivot_result *r, const struct pivot_node *n, char *via,
                      size_t cap)
{
	size_t o = via_path(r, n, via, cap);
	if (n->pruned != NULL && o < cap) {
		char det[160];
		pivot_pruned_detail(r, n, det, sizeof(det));
		o += (size_t)snprintf(via + o, cap - o, "; PRUNED %s (%s)", n->pruned, det);
	}
	if (n->type == PIVOT_NODE_CERT && n->cert_has_meta && o < cap) {
		char clean[3 * 100 + 1];
		pivot_utf8_clean(n->subject, clean, sizeof(clean));
		o += (size_t)snprintf(via + o, cap - o, "; subject %s", clean);
	}
	if (n->type == PIVOT_NODE_IP && n->nports > 0 && o < cap) {
		o += (size_t)snprintf(via + o, cap - o, "; ports");
		for (unsigned k = 0; k < n->nports && o < cap; k++)
			o += (size_t)snprintf(via + o, cap - o, "%s%u", k ? "," : " ", n->ports[k]);
	}
	char est[128];
	if (o < cap && pivot_estate_text(n, est, sizeof(est)) > 0)
		snprintf(via + o, cap - o, "; %s", est);
}

static void table_row(struct util_buf *b, const struct pivot_result *r, const struct pivot_node *n)
{
	char f[16], l[16], age[24], via[400];
	pivot_day(n->first_seen, "-", f, sizeof(f));
	pivot_day(n->last_seen, "-", l, sizeof(l));
	if (n->last_seen == 0)
		snprintf(age, sizeof(age), "-");
	else
		snprintf(
		    age, sizeof(age), "%lldd",
		    (long long)((r->params.now - n->last_seen > 0 ? r->params.now - n->last_seen
		                                                  : 0) /
		                86400));
	via_notes(r, n, via, sizeof(via));
	util_buf_printf(b, "  %-6s %-44s %-10s %-10s %6s %7llu  %s\n",
	                pivot_node_type_name(n->type), n->value, f, l, age,
	                (unsigned long long)n->degree, via);
}

char *pivot_to_table(const struct pivot_result *r)
{
	struct util_buf b;
	util_buf_init(&b, PIVOT_RENDER_MAX);
	const struct pivot_node *seed = &r->nodes[0].n;
	util_buf_printf(&b, "pivot from %s %s, depth %u: %zu nodes, %zu edges, %u pruned%s%s\n",
	                pivot_node_type_name(seed->type), seed->value, r->params.depth, r->nnodes,
	                r->nedges, r->pruned, r->truncated ? ", TRUNCATED by " : "",
	                r->truncated ? r->budget : "");
	for (unsigned d = 0; d <= r->depth_reached; d++) {
		util_buf_printf(&b, "\ndepth %u\n", d);
		util_buf_printf(&b, "  %-6s %-44s %-10s %-10s %6s %7s  %s\n", "type", "value",
		                "first", "last", "age", "degree", "via / notes");
		for (size_t i = 0; i < r->nnodes; i++)
			if (r->nodes[i].n.depth == d)
				table_row(&b, r, &r->nodes[i].n);
	}
	return util_buf_finish(&b, NULL);
}
