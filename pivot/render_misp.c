/*
 * render_misp.c - the pivot result as a MISP event (the JSON MISP's
 * "add event" API and its file import take), built from MISP's standard
 * object templates (misp-objects): a resolution as a `domain-ip` tuple,
 * a TLS sighting as an `ip-port` tuple that `serves` an `x509` object, a
 * certificate's names as its `dns_names`; first/last seen on each object.
 * The building blocks are shared with the watchlist export (watch/).
 *
 * UUIDs are UUIDv5 in infrapivot's MISP namespace over what identifies
 * the thing, so the same graph gives the same event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/hex.h"
#include "util/time.h"

/* The templates used, as misp-objects defines them (name, uuid, version
 * and meta-category: tests/fixtures/misp-objects). */
static const struct misp_template {
	const char *name, *uuid, *version;
} templates[] = {
    {"domain-ip", "43b3b146-77eb-4931-b4cc-b66c60f28734", "9"},
    {"ip-port", "9f8cea74-16fe-4968-a2b4-026676949ac6", "8"},
    {"x509", "d1ab756a-26b5-4349-9f43-765630f0911c", "13"},
};

/* The namespace: UUIDv5("infrapivot-misp") in the STIX one. */
static void misp_uuid(const char *name, char out[40])
{
	static const uint8_t ns[16] = {0x6c, 0x1f, 0x3e, 0x52, 0x0d, 0x8a, 0x5b, 0x47,
	                               0x9e, 0x21, 0x4a, 0x7c, 0x35, 0x90, 0xe8, 0x13};
	pivot_uuid5(ns, name, strlen(name), out);
}

static void misp_time(int64_t t, char *out, size_t cap)
{
	util_time_format(t, out, cap);
}

/* MISP's category for the attribute types used here. */
static const char *category(const char *type)
{
	if (strcmp(type, "datetime") == 0 || strcmp(type, "text") == 0)
		return "Other";
	return "Network activity"; /* ip-dst, domain, port, x509-*, jarm-fingerprint */
}

json_t *pivot_misp_attr(const char *key, const char *relation, const char *type, const char *value,
                        bool to_ids)
{
	char name[4096], u[40];
	char clean[3 * 512];
	pivot_utf8_clean(value, clean, sizeof(clean));
	snprintf(name, sizeof(name), "attr|%s|%s|%s|%s", key, relation ? relation : "", type,
	         clean);
	misp_uuid(name, u);
	json_t *a = json_object();
	json_object_set_new(a, "uuid", json_string(u));
	if (relation != NULL)
		json_object_set_new(a, "object_relation", json_string(relation));
	json_object_set_new(a, "type", json_string(type));
	json_object_set_new(a, "category", json_string(category(type)));
	json_object_set_new(a, "value", json_string(clean));
	json_object_set_new(a, "to_ids", json_boolean(to_ids));
	if (strcmp(type, "datetime") == 0 || strcmp(type, "text") == 0)
		json_object_set_new(a, "disable_correlation", json_true());
	return a;
}

void pivot_misp_obj_add(json_t *obj, const char *relation, const char *type, const char *value)
{
	const char *key = json_string_value(json_object_get(obj, "uuid"));
	json_array_append_new(json_object_get(obj, "Attribute"),
	                      pivot_misp_attr(key ? key : "", relation, type, value, false));
}

json_t *pivot_misp_obj(const char *template_name, const char *key, int64_t first, int64_t last)
{
	const struct misp_template *t = &templates[0];
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (strcmp(templates[i].name, template_name) == 0)
			t = &templates[i];
	char name[STORE_NAME_BUF * 3 + 200], u[40];
	snprintf(name, sizeof(name), "object|%s|%s", t->name, key);
	misp_uuid(name, u);
	json_t *o = json_object();
	json_object_set_new(o, "uuid", json_string(u));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "meta-category", json_string("network"));
	json_object_set_new(o, "template_uuid", json_string(t->uuid));
	json_object_set_new(o, "template_version", json_string(t->version));
	json_object_set_new(o, "Attribute", json_array());
	if (first == 0)
		return o;
	char f[UTIL_TIME_BUF], l[UTIL_TIME_BUF];
	misp_time(first, f, sizeof(f));
	misp_time(last > first ? last : first, l, sizeof(l));
	json_object_set_new(o, "first_seen", json_string(f));
	json_object_set_new(o, "last_seen", json_string(l));
	if (strcmp(t->name, "x509") != 0) {
		pivot_misp_obj_add(o, "first-seen", "datetime", f);
		pivot_misp_obj_add(o, "last-seen", "datetime", l);
	}
	return o;
}

void pivot_misp_ref(json_t *from, const json_t *to, const char *relationship)
{
	const char *a = json_string_value(json_object_get(from, "uuid"));
	const char *b = json_string_value(json_object_get(to, "uuid"));
	char name[128], u[40];
	snprintf(name, sizeof(name), "ref|%s|%s|%s", a ? a : "", b ? b : "", relationship);
	misp_uuid(name, u);
	json_t *refs = json_object_get(from, "ObjectReference");
	if (refs == NULL) {
		refs = json_array();
		json_object_set_new(from, "ObjectReference", refs);
	}
	json_t *r = json_object();
	json_object_set_new(r, "uuid", json_string(u));
	json_object_set_new(r, "object_uuid", json_string(a ? a : ""));
	json_object_set_new(r, "referenced_uuid", json_string(b ? b : ""));
	json_object_set_new(r, "relationship_type", json_string(relationship));
	json_array_append_new(refs, r);
}

json_t *pivot_misp_event(const char *info, const char *key, int64_t when)
{
	char name[STORE_NAME_BUF + 700], u[40], day[UTIL_TIME_BUF], ts[32];
	snprintf(name, sizeof(name), "event|%s", key);
	misp_uuid(name, u);
	misp_time(when, day, sizeof(day));
	day[10] = '\0';
	snprintf(ts, sizeof(ts), "%lld", (long long)when);
	json_t *e = json_object();
	json_object_set_new(e, "uuid", json_string(u));
	json_object_set_new(e, "info", json_string(info));
	json_object_set_new(e, "date", json_string(day));
	json_object_set_new(e, "timestamp", json_string(ts));
	json_object_set_new(e, "analysis", json_string("0"));
	json_object_set_new(e, "threat_level_id", json_string("4"));
	json_object_set_new(e, "distribution", json_string("0"));
	json_object_set_new(e, "published", json_false());
	json_t *tags = json_array();
	json_t *tag = json_object();
	json_object_set_new(tag, "name", json_string("infrapivot"));
	json_array_append_new(tags, tag);
	json_object_set_new(e, "Tag", tags);
	json_object_set_new(e, "Attribute", json_array());
	json_object_set_new(e, "Object", json_array());
	json_t *w = json_object();
	json_object_set_new(w, "Event", e);
	return w;
}

/* The standalone attribute type of a node. */
static const char *node_attr_type(const struct pivot_node *n)
{
	if (n->type == PIVOT_NODE_IP)
		return "ip-dst";
	if (n->type == PIVOT_NODE_CERT)
		return n->has_sha1 ? "x509-fingerprint-sha1" : "x509-fingerprint-sha256";
	if (n->type == PIVOT_NODE_JARM)
		return "jarm-fingerprint";
	if (n->type == PIVOT_NODE_KEY || n->type == PIVOT_NODE_SUBJECT ||
	    n->type == PIVOT_NODE_JA3S)
		return "text"; /* MISP has no type for these: said in the comment */
	return "domain";
}

/* What a "text" attribute of a node holds (its comment). */
static const char *node_comment(const struct pivot_node *n)
{
	switch (n->type) {
	case PIVOT_NODE_KEY:
		return "infrapivot key: SHA-256 of a certificate's SubjectPublicKeyInfo";
	case PIVOT_NODE_SUBJECT:
		return "infrapivot subject: a certificate subject DN shared by the pivot's "
		       "certificates";
	case PIVOT_NODE_JA3S:
		return "infrapivot ja3s: JA3S TLS server fingerprint";
	default:
		return NULL;
	}
}

/* Edges MISP's standard objects carry (the others: their nodes are
 * attributes of the event). */
static bool edge_has_object(const struct pivot_edge *e)
{
	return e->type == PIVOT_EDGE_RESOLVES || e->type == PIVOT_EDGE_CNAME ||
	       e->type == PIVOT_EDGE_SNI || e->type == PIVOT_EDGE_SERVES;
}

/* ---- the pivot ------------------------------------------------------------ */

struct misp_ctx {
	const struct pivot_result *r;
	json_t *objects; /* the event's Object array */
	json_t **certs;  /* the x509 object of each certificate node, or NULL */
	bool *covered;   /* the node appears in some object */
};

/* The x509 object of certificate node n: hashes, subject, issuer, serial,
 * validity; first/last seen over its sightings. */
static json_t *x509_object(const struct pivot_node *n)
{
	char hex[65];
	json_t *o = pivot_misp_obj("x509", n->value, n->first_seen, n->last_seen);
	if (n->has_sha1) {
		util_hex_encode(n->sha1, 20, hex);
		pivot_misp_obj_add(o, "x509-fingerprint-sha1", "x509-fingerprint-sha1", hex);
	}
	if (n->has_sha256) {
		util_hex_encode(n->sha256, 32, hex);
		pivot_misp_obj_add(o, "x509-fingerprint-sha256", "x509-fingerprint-sha256", hex);
	}
	if (!n->cert_has_meta)
		return o;
	if (n->subject[0])
		pivot_misp_obj_add(o, "subject", "text", n->subject);
	if (n->issuer[0])
		pivot_misp_obj_add(o, "issuer", "text", n->issuer);
	if (n->serial[0])
		pivot_misp_obj_add(o, "serial-number", "text", n->serial);
	char t[UTIL_TIME_BUF];
	if (n->not_before != 0) {
		misp_time(n->not_before, t, sizeof(t));
		pivot_misp_obj_add(o, "validity-not-before", "datetime", t);
	}
	if (n->not_after != 0) {
		misp_time(n->not_after, t, sizeof(t));
		pivot_misp_obj_add(o, "validity-not-after", "datetime", t);
	}
	return o;
}

/* A certificate's names (san edges): dns_names, wildcards in its text
 * (MISP's hostname type takes no "*" label). */
static void x509_names(struct misp_ctx *c, json_t *x509, size_t cert)
{
	char wild[1024] = "";
	size_t wl = 0;
	for (size_t i = 0; i < c->r->nedges; i++) {
		const struct pivot_edge *e = &c->r->edges[i];
		if (e->type != PIVOT_EDGE_SAN || e->src != cert)
			continue;
		const char *name = c->r->nodes[e->dst].n.value;
		c->covered[e->dst] = true;
		if (name[0] != '*') {
			pivot_misp_obj_add(x509, "dns_names", "hostname", name);
		} else if (wl < sizeof(wild)) {
			int w =
			    snprintf(wild + wl, sizeof(wild) - wl, "%s%s", wl ? ", " : "", name);
			wl += w > 0 ? (size_t)w : 0;
		}
	}
	if (wild[0] == '\0')
		return;
	char text[1100];
	snprintf(text, sizeof(text), "wildcard names: %s", wild);
	pivot_misp_obj_add(x509, "text", "text", text);
}

/* One object for edge e: domain-ip (resolves, cname, sni) or ip-port
 * (serves, which serves the certificate's x509 object). */
static void edge_object(struct misp_ctx *c, const struct pivot_edge *e)
{
	const struct pivot_node *s = &c->r->nodes[e->src].n, *d = &c->r->nodes[e->dst].n;
	char key[STORE_NAME_BUF * 2 + 64], text[STORE_NAME_BUF * 2 + 64];
	snprintf(key, sizeof(key), "%s|%s|%s|%u", pivot_edge_type_name(e->type), s->value, d->value,
	         e->port);
	json_t *o;
	if (e->type == PIVOT_EDGE_SERVES) {
		char port[8];
		snprintf(port, sizeof(port), "%u", e->port);
		o = pivot_misp_obj("ip-port", key, e->first_seen, e->last_seen);
		pivot_misp_obj_add(o, "ip", "ip-dst", s->value);
		pivot_misp_obj_add(o, "dst-port", "port", port);
		pivot_misp_obj_add(o, "text", "text",
		                   "TLS: the IP served the certificate on this port");
		pivot_misp_ref(o, c->certs[e->dst], "serves");
	} else {
		o = pivot_misp_obj("domain-ip", key, e->first_seen, e->last_seen);
		pivot_misp_obj_add(o, "domain", "domain", s->value);
		if (e->type == PIVOT_EDGE_RESOLVES) {
			pivot_misp_obj_add(o, "ip", "ip-dst", d->value);
		} else if (e->type == PIVOT_EDGE_CNAME) {
			pivot_misp_obj_add(o, "domain", "domain", d->value);
			snprintf(text, sizeof(text), "CNAME: %s is an alias of %s", s->value,
			         d->value);
			pivot_misp_obj_add(o, "text", "text", text);
		} else {
			pivot_misp_obj_add(o, "text", "text",
			                   "TLS SNI: the certificate was served for this name");
			pivot_misp_ref(o, c->certs[e->dst], "related-to");
		}
	}
	c->covered[e->src] = c->covered[e->dst] = true;
	json_array_append_new(c->objects, o);
}

/* Nodes no object carries (a lone seed, say) as attributes of the event;
 * pruned ones say why. */
static void lone_nodes(struct misp_ctx *c, json_t *attrs, const char *key)
{
	for (size_t i = 0; i < c->r->nnodes; i++) {
		const struct pivot_node *n = &c->r->nodes[i].n;
		if (c->covered[i] || n->type == PIVOT_NODE_CERT)
			continue;
		json_t *a = pivot_misp_attr(key, NULL, node_attr_type(n), n->value, false);
		const char *why = node_comment(n);
		char comment[256];
		snprintf(comment, sizeof(comment), "%s%s%s", why ? why : "",
		         why && n->pruned ? "; pruned: " : "", n->pruned ? n->pruned : "");
		if (comment[0] != '\0')
			json_object_set_new(a, "comment", json_string(comment));
		json_array_append_new(attrs, a);
	}
}

json_t *pivot_to_misp(const struct pivot_result *r)
{
	const struct pivot_node *seed = &r->nodes[0].n;
	char info[STORE_NAME_BUF + 96], key[STORE_NAME_BUF + 96];
	snprintf(info, sizeof(info), "infrapivot: pivot from %s %s, depth %u",
	         pivot_node_type_name(seed->type), seed->value, r->params.depth);
	snprintf(key, sizeof(key), "pivot|%s|%u|%zu|%zu", seed->value, r->params.depth, r->nnodes,
	         r->nedges);
	int64_t latest = 0;
	for (size_t i = 0; i < r->nedges; i++)
		if (r->edges[i].type != PIVOT_EDGE_SAN && r->edges[i].last_seen > latest)
			latest = r->edges[i].last_seen;
	json_t *w = pivot_misp_event(info, key, latest ? latest : r->params.now);
	json_t *ev = json_object_get(w, "Event");
	struct misp_ctx c = {.r = r, .objects = json_object_get(ev, "Object")};
	c.certs = calloc(r->nnodes ? r->nnodes : 1, sizeof(*c.certs));
	c.covered = calloc(r->nnodes ? r->nnodes : 1, sizeof(*c.covered));
	if (c.certs == NULL || c.covered == NULL) {
		free(c.certs);
		free(c.covered);
		json_decref(w);
		return NULL;
	}
	for (size_t i = 0; i < r->nnodes; i++) {
		if (r->nodes[i].n.type != PIVOT_NODE_CERT)
			continue;
		c.certs[i] = x509_object(&r->nodes[i].n);
		x509_names(&c, c.certs[i], i);
		c.covered[i] = true;
		json_array_append_new(c.objects, c.certs[i]);
	}
	for (size_t i = 0; i < r->nedges; i++)
		if (edge_has_object(&r->edges[i]))
			edge_object(&c, &r->edges[i]);
	lone_nodes(&c, json_object_get(ev, "Attribute"), key);
	free(c.certs);
	free(c.covered);
	return w;
}
