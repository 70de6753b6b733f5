/*
 * render_stix.c - the pivot result as a STIX 2.1 bundle.
 *
 * Observables get the deterministic ids of STIX 2.1 section 2.9: UUIDv5
 * in the STIX namespace over the canonical JSON of the ID contributing
 * properties (domain-name and ip: value; x509-certificate: one hash, SHA-1
 * before SHA-256, and serial_number).  Relationships and the bundle get
 * UUIDv5 ids in infrapivot's own namespace (derived from the STIX one),
 * over what identifies them, so the same graph gives the same bundle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/hex.h"
#include "util/time.h"

/* The custom observable for a certificate's wildcard name ("*.example.com"),
 * which the domain-name object may not hold. */
#define PIVOT_STIX_WILDCARD "x-infrapivot-wildcard-name"

/* infrapivot as the identity that creates the relationships and the
 * grouping; a fixed created time keeps bundles byte-identical. */
#define STIX_IDENTITY_CREATED "2026-01-01T00:00:00.000Z"

const uint8_t pivot_stix_ns[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
                                   0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};

/* infrapivot's namespace: UUIDv5("infrapivot") in the STIX namespace */
static void own_ns(uint8_t out[16])
{
	char u[40];
	pivot_uuid5(pivot_stix_ns, "infrapivot", 10, u);
	size_t o = 0;
	for (size_t i = 0; u[i] && o < 16; i++) {
		if (u[i] == '-')
			continue;
		out[o++] = (uint8_t)(util_hex_digit(u[i]) << 4 | util_hex_digit(u[i + 1]));
		i++;
	}
}

static void ts(int64_t t, bool millis, char *out, size_t cap)
{
	char buf[32];
	util_time_format(t, buf, sizeof(buf));
	if (millis)
		snprintf(out, cap, "%.19s.000Z", buf);
	else
		snprintf(out, cap, "%s", buf);
}

static const char *sco_type(const struct pivot_node *n)
{
	switch (n->type) {
	case PIVOT_NODE_DOMAIN:
		/* RFC 1034 names only: a SAN wildcard is not a domain name */
		return n->value[0] == '*' ? PIVOT_STIX_WILDCARD : "domain-name";
	case PIVOT_NODE_IP:
		return strchr(n->value, ':') ? "ipv6-addr" : "ipv4-addr";
	/* STIX 2.1 has no object for these: custom observables (spec 11.1),
	 * their value the node's (docs/pivot.md) */
	case PIVOT_NODE_KEY:
		return "x-infrapivot-public-key";
	case PIVOT_NODE_SUBJECT:
		return "x-infrapivot-subject";
	case PIVOT_NODE_JARM:
		return "x-infrapivot-jarm";
	case PIVOT_NODE_JA3S:
		return "x-infrapivot-ja3s";
	default:
		return "x509-certificate";
	}
}

/* A certificate's hashes: for its id only the one that contributes to it
 * (SHA-1 before SHA-256), otherwise every one known. */
static json_t *cert_hashes(const struct pivot_node *n, bool id_only)
{
	char hex[65];
	json_t *h = json_object();
	if (n->has_sha1) {
		util_hex_encode(n->sha1, 20, hex);
		json_object_set_new(h, "SHA-1", json_string(hex));
	}
	if (id_only ? !n->has_sha1 : n->has_sha256) {
		util_hex_encode(n->sha256, 32, hex);
		json_object_set_new(h, "SHA-256", json_string(hex));
	}
	return h;
}

/* Set key to the text of a certificate field, made valid UTF-8; an empty
 * field is left out. */
static void set_clean(json_t *o, const char *key, const char *text)
{
	char clean[3 * 512];
	if (text[0] == '\0')
		return;
	pivot_utf8_clean(text, clean, sizeof(clean));
	json_object_set_new(o, key, json_string(clean));
}

static void set_time(json_t *o, const char *key, int64_t t, bool millis)
{
	char buf[40];
	ts(t, millis, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

/* The SCO id: UUIDv5 over the canonical JSON of the ID contributing
 * properties, written into id. */
static void sco_id(const struct pivot_node *n, const char *type, char *id, size_t idcap)
{
	json_t *contrib = json_object();
	if (n->type != PIVOT_NODE_CERT) {
		json_object_set_new(contrib, "value", json_string(n->value));
	} else {
		json_object_set_new(contrib, "hashes", cert_hashes(n, true));
		if (n->cert_has_meta)
			set_clean(contrib, "serial_number", n->serial);
	}
	char *canon = json_dumps(contrib, JSON_COMPACT | JSON_SORT_KEYS);
	char u[40] = "";
	if (canon != NULL)
		pivot_uuid5(pivot_stix_ns, canon, strlen(canon), u);
	free(canon);
	json_decref(contrib);
	snprintf(id, idcap, "%s--%s", type, u);
}

static void cert_meta(json_t *o, const struct pivot_node *n)
{
	set_clean(o, "serial_number", n->serial);
	set_clean(o, "issuer", n->issuer);
	set_clean(o, "subject", n->subject);
	if (n->not_before != 0)
		set_time(o, "validity_not_before", n->not_before, false);
	if (n->not_after != 0)
		set_time(o, "validity_not_after", n->not_after, false);
	if (n->subject[0] && strcmp(n->subject, n->issuer) == 0)
		json_object_set_new(o, "is_self_signed", json_true());
}

/* The SCO for a node, its id written into id (>= 80 bytes). */
static json_t *sco(const struct pivot_node *n, char *id, size_t idcap)
{
	json_t *o = json_object();
	const char *type = sco_type(n);
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	sco_id(n, type, id, idcap);
	json_object_set_new(o, "id", json_string(id));
	if (n->type != PIVOT_NODE_CERT) {
		json_object_set_new(o, "value", json_string(n->value));
		return o;
	}
	json_object_set_new(o, "hashes", cert_hashes(n, false));
	if (n->cert_has_meta)
		cert_meta(o, n);
	return o;
}

/* A certificate's wildcard names in the graph (san edges to "*." names)
 * as x_infrapivot_wildcard_names: importers that drop custom observables
 * still see them on the certificate. */
static void add_wildcards(const struct pivot_result *r, json_t **scos)
{
	for (size_t i = 0; i < r->nedges; i++) {
		const struct pivot_edge *e = &r->edges[i];
		if (e->type != PIVOT_EDGE_SAN || r->nodes[e->dst].n.value[0] != '*')
			continue;
		json_t *a = json_object_get(scos[e->src], "x_infrapivot_wildcard_names");
		if (a == NULL) {
			a = json_array();
			json_object_set_new(scos[e->src], "x_infrapivot_wildcard_names", a);
		}
		json_array_append_new(a, json_string(r->nodes[e->dst].n.value));
	}
}

/* The SCOs of the nodes, with the pruned marks and resolves_to_refs. */
static void add_scos(const struct pivot_result *r, char (*ids)[96], json_t **scos)
{
	for (size_t i = 0; i < r->nnodes; i++) {
		const struct pivot_node *nd = &r->nodes[i].n;
		scos[i] = sco(nd, ids[i], sizeof(ids[i]));
		json_t *est = pivot_estate_json(nd);
		if (est != NULL)
			json_object_set_new(scos[i], "x_infrapivot_estate", est);
		if (nd->pruned != NULL) {
			char det[160];
			pivot_pruned_detail(r, nd, det, sizeof(det));
			json_object_set_new(scos[i], "x_infrapivot_pruned",
			                    json_string(nd->pruned));
			json_object_set_new(scos[i], "x_infrapivot_pruned_detail",
			                    json_string(det));
		}
	}
	/* resolves_to_refs: addresses and CNAME targets of each name */
	for (size_t i = 0; i < r->nedges; i++) {
		const struct pivot_edge *e = &r->edges[i];
		if (e->type != PIVOT_EDGE_RESOLVES && e->type != PIVOT_EDGE_CNAME)
			continue;
		json_t *refs = json_object_get(scos[e->src], "resolves_to_refs");
		if (refs == NULL) {
			refs = json_array();
			json_object_set_new(scos[e->src], "resolves_to_refs", refs);
		}
		json_array_append_new(refs, json_string(ids[e->dst]));
	}
	add_wildcards(r, scos);
}

/* The relationship type and description of an edge (dbuf: room for it). */
static const char *edge_desc(const struct pivot_edge *e, const char **rtype, char *dbuf, size_t cap)
{
	*rtype = "related-to";
	switch (e->type) {
	case PIVOT_EDGE_RESOLVES:
		*rtype = "resolves-to";
		return "DNS resolution (A/AAAA), from passive DNS";
	case PIVOT_EDGE_CNAME:
		*rtype = "resolves-to";
		return "DNS CNAME, from passive DNS";
	case PIVOT_EDGE_SERVES:
		snprintf(dbuf, cap, "the IP served the certificate on port %u (TLS sighting)",
		         e->port);
		return dbuf;
	case PIVOT_EDGE_SAN:
		return "the certificate names the domain in its subject alternative names "
		       "or common name";
	case PIVOT_EDGE_SNI:
		return "the certificate was served for this name (TLS SNI)";
	case PIVOT_EDGE_KEY:
		return "the certificate holds this public key (SHA-256 of its "
		       "SubjectPublicKeyInfo)";
	case PIVOT_EDGE_SUBJECT:
		return "the certificate's subject DN, normalised";
	case PIVOT_EDGE_FINGERPRINT:
		snprintf(dbuf, cap, "the IP answered with this TLS server fingerprint on port %u",
		         e->port);
		return dbuf;
	default:
		return "related";
	}
}

/* "PREFIX--" and UUIDv5 in namespace ns over name (len as snprintf
 * returned it, cut to the buffer). */
static void own_id(const uint8_t ns[16], const char *prefix, const char *name, int len,
                   size_t namecap, char *id, size_t idcap)
{
	char u[40];
	pivot_uuid5(ns, name, (size_t)len < namecap ? (size_t)len : namecap - 1, u);
	snprintf(id, idcap, "%s--%s", prefix, u);
}

/* The relationship for edge e; latest stands in for created where the
 * edge has no sighting time. */
static json_t *relationship(const uint8_t ns[16], const struct pivot_edge *e, char (*ids)[96],
                            int64_t latest, const char *creator)
{
	const char *rtype;
	char dbuf[160], name[300], id[64];
	const char *desc = edge_desc(e, &rtype, dbuf, sizeof(dbuf));
	int len = snprintf(name, sizeof(name), "%s|%s|%s|%u", pivot_edge_type_name(e->type),
	                   ids[e->src], ids[e->dst], e->port);
	own_id(ns, "relationship", name, len, sizeof(name), id, sizeof(id));
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("relationship"));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "created_by_ref", json_string(creator));
	bool sighted = e->type != PIVOT_EDGE_SAN && e->first_seen != 0;
	int64_t created = sighted ? e->first_seen : latest;
	int64_t modified = sighted && e->last_seen > created ? e->last_seen : created;
	set_time(o, "created", created, true);
	set_time(o, "modified", modified, true);
	json_object_set_new(o, "relationship_type", json_string(rtype));
	json_object_set_new(o, "description", json_string(desc));
	json_object_set_new(o, "source_ref", json_string(ids[e->src]));
	json_object_set_new(o, "target_ref", json_string(ids[e->dst]));
	/* STIX wants stop_time later than start_time: a sighting within one
	 * second holds until the end of that second */
	if (e->first_seen != 0) {
		set_time(o, "start_time", e->first_seen, false);
		set_time(o, "stop_time",
		         e->last_seen > e->first_seen ? e->last_seen : e->first_seen + 1, false);
	}
	json_object_set_new(o, "x_infrapivot_count", json_integer((json_int_t)e->count));
	return o;
}

/* The latest sighting in the graph stands in where an edge has no
 * sighting time: a san edge carries the certificate's validity, which
 * may lie in the future, and created/modified must not. */
static int64_t latest_sighting(const struct pivot_result *r)
{
	int64_t latest = 0;
	for (size_t i = 0; i < r->nedges; i++)
		if (r->edges[i].type != PIVOT_EDGE_SAN && r->edges[i].last_seen > latest)
			latest = r->edges[i].last_seen;
	return latest;
}

/* The bundle id (and, with prefix "grouping", the grouping's): what was
 * asked and what came back. */
static void bundle_id(const uint8_t ns[16], const char *prefix, const struct pivot_result *r,
                      const char *seed_id, char *bid, size_t cap)
{
	char bname[600];
	const struct pivot_params *p = &r->params;
	int blen = snprintf(
	    bname, sizeof(bname), "bundle|%s|%s|%u|%lld|%lld|%u|%llu|%llu|%llu|%llu|%u|%zu|%zu",
	    seed_id, r->nodes[0].n.value, p->depth, (long long)p->since, (long long)p->until,
	    p->edges, (unsigned long long)p->max_ip_domains, (unsigned long long)p->max_cert_ips,
	    (unsigned long long)p->max_domain_ips, (unsigned long long)p->max_san, p->max_nodes,
	    r->nnodes, r->nedges);
	own_id(ns, prefix, bname, blen, sizeof(bname), bid, cap);
}

/* infrapivot as a STIX identity (a system); its id in id[cap]. */
static json_t *identity(const uint8_t ns[16], char *id, size_t cap)
{
	own_id(ns, "identity", "identity|infrapivot", 19, 20, id, cap);
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("identity"));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "created", json_string(STIX_IDENTITY_CREATED));
	json_object_set_new(o, "modified", json_string(STIX_IDENTITY_CREATED));
	json_object_set_new(o, "name", json_string("infrapivot"));
	json_object_set_new(o, "description",
	                    json_string("passive DNS and TLS certificate pivot service"));
	json_object_set_new(o, "identity_class", json_string("system"));
	return o;
}

/* The grouping of every observable and relationship of the pivot (refs:
 * their ids, consumed), so importers take the pivot as one object. */
static json_t *grouping(const uint8_t ns[16], const struct pivot_result *r, const char *seed_id,
                        const char *creator, int64_t latest, json_t *refs)
{
	char gid[64], name[STORE_NAME_BUF + 96];
	bundle_id(ns, "grouping", r, seed_id, gid, sizeof(gid));
	const struct pivot_node *seed = &r->nodes[0].n;
	snprintf(name, sizeof(name), "infrapivot: pivot from %s %s, depth %u",
	         pivot_node_type_name(seed->type), seed->value, r->params.depth);
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("grouping"));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "id", json_string(gid));
	json_object_set_new(o, "created_by_ref", json_string(creator));
	int64_t t = latest != 0 ? latest : r->params.now;
	set_time(o, "created", t, true);
	set_time(o, "modified", t, true);
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "context", json_string("suspicious-activity"));
	json_object_set_new(o, "object_refs", refs);
	return o;
}

json_t *pivot_to_stix(const struct pivot_result *r)
{
	uint8_t ns[16];
	own_ns(ns);
	size_t n = r->nnodes;
	char(*ids)[96] = calloc(n ? n : 1, sizeof(*ids));
	json_t **scos = calloc(n ? n : 1, sizeof(*scos));
	json_t *objs = json_array();
	json_t *bundle = json_object();
	if (ids == NULL || scos == NULL || objs == NULL || bundle == NULL) {
		json_decref(objs);
		json_decref(bundle);
		free(scos);
		free(ids);
		return NULL;
	}
	add_scos(r, ids, scos);
	int64_t latest = latest_sighting(r);
	char creator[64];
	json_array_append_new(objs, identity(ns, creator, sizeof(creator)));
	json_t *refs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(objs, scos[i]);
		json_array_append_new(refs, json_string(ids[i]));
	}
	for (size_t i = 0; i < r->nedges; i++) {
		json_t *rel = relationship(ns, &r->edges[i], ids, latest, creator);
		json_array_append(refs, json_object_get(rel, "id"));
		json_array_append_new(objs, rel);
	}
	json_array_append_new(objs, grouping(ns, r, ids[0], creator, latest, refs));
	char bid[64];
	bundle_id(ns, "bundle", r, ids[0], bid, sizeof(bid));
	json_object_set_new(bundle, "type", json_string("bundle"));
	json_object_set_new(bundle, "id", json_string(bid));
	json_object_set_new(bundle, "objects", objs);
	free(scos);
	free(ids);
	return bundle;
}
