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
		unsigned hi = (unsigned)(u[i] <= '9' ? u[i] - '0' : u[i] - 'a' + 10);
		unsigned lo = (unsigned)(u[i + 1] <= '9' ? u[i + 1] - '0' : u[i + 1] - 'a' + 10);
		out[o++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
}

static void ts(int64_t t, bool millis, char *out, size_t cap)
{
	char buf[32];
	store_time_format(t, buf, sizeof(buf));
	if (millis)
		snprintf(out, cap, "%.19s.000Z", buf);
	else
		snprintf(out, cap, "%s", buf);
}

static const char *sco_type(const struct pivot_node *n)
{
	switch (n->type) {
	case PIVOT_NODE_DOMAIN:
		return "domain-name";
	case PIVOT_NODE_IP:
		return strchr(n->value, ':') ? "ipv6-addr" : "ipv4-addr";
	default:
		return "x509-certificate";
	}
}

/* The SCO for a node, its id written into id (>= 80 bytes). */
static json_t *sco(const struct pivot_node *n, char *id, size_t idcap)
{
	json_t *o = json_object();
	json_t *contrib = json_object();
	const char *type = sco_type(n);
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	if (n->type != PIVOT_NODE_CERT) {
		json_object_set_new(contrib, "value", json_string(n->value));
	} else {
		char hex[65];
		json_t *one = json_object();
		if (n->has_sha1) {
			store_hex(n->sha1, 20, hex);
			json_object_set_new(one, "SHA-1", json_string(hex));
		} else {
			store_hex(n->sha256, 32, hex);
			json_object_set_new(one, "SHA-256", json_string(hex));
		}
		json_object_set_new(contrib, "hashes", one);
		if (n->cert_has_meta && n->serial[0]) {
			char clean[3 * 128];
			pivot_utf8_clean(n->serial, clean, sizeof(clean));
			json_object_set_new(contrib, "serial_number", json_string(clean));
		}
	}
	char *canon = json_dumps(contrib, JSON_COMPACT | JSON_SORT_KEYS);
	char u[40] = "";
	if (canon != NULL)
		pivot_uuid5(pivot_stix_ns, canon, strlen(canon), u);
	free(canon);
	json_decref(contrib);
	snprintf(id, idcap, "%s--%s", type, u);
	json_object_set_new(o, "id", json_string(id));
	if (n->type != PIVOT_NODE_CERT) {
		json_object_set_new(o, "value", json_string(n->value));
	} else {
		char hex[65];
		json_t *h = json_object();
		if (n->has_sha1) {
			store_hex(n->sha1, 20, hex);
			json_object_set_new(h, "SHA-1", json_string(hex));
		}
		if (n->has_sha256) {
			store_hex(n->sha256, 32, hex);
			json_object_set_new(h, "SHA-256", json_string(hex));
		}
		json_object_set_new(o, "hashes", h);
		if (n->cert_has_meta) {
			char t[40];
			char clean[3 * 512];
			if (n->serial[0]) {
				pivot_utf8_clean(n->serial, clean, sizeof(clean));
				json_object_set_new(o, "serial_number", json_string(clean));
			}
			if (n->issuer[0]) {
				pivot_utf8_clean(n->issuer, clean, sizeof(clean));
				json_object_set_new(o, "issuer", json_string(clean));
			}
			if (n->subject[0]) {
				pivot_utf8_clean(n->subject, clean, sizeof(clean));
				json_object_set_new(o, "subject", json_string(clean));
			}
			if (n->not_before != 0) {
				ts(n->not_before, false, t, sizeof(t));
				json_object_set_new(o, "validity_not_before", json_string(t));
			}
			if (n->not_after != 0) {
				ts(n->not_after, false, t, sizeof(t));
				json_object_set_new(o, "validity_not_after", json_string(t));
			}
			if (n->subject[0] && strcmp(n->subject, n->issuer) == 0)
				json_object_set_new(o, "is_self_signed", json_true());
		}
	}
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
	if (ids == NULL || scos == NULL || objs == NULL || bundle == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
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
	/* The latest sighting in the graph stands in where an edge has no
	 * sighting time: a san edge carries the certificate's validity, which
	 * may lie in the future, and created/modified must not. */
	int64_t latest = 0;
	for (size_t i = 0; i < r->nedges; i++)
		if (r->edges[i].type != PIVOT_EDGE_SAN && r->edges[i].last_seen > latest)
			latest = r->edges[i].last_seen;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(objs, scos[i]);
	for (size_t i = 0; i < r->nedges; i++) {
		const struct pivot_edge *e = &r->edges[i];
		const char *rtype = "related-to", *desc = NULL;
		char dbuf[160];
		switch (e->type) {
		case PIVOT_EDGE_RESOLVES:
			rtype = "resolves-to";
			desc = "DNS resolution (A/AAAA), from passive DNS";
			break;
		case PIVOT_EDGE_CNAME:
			rtype = "resolves-to";
			desc = "DNS CNAME, from passive DNS";
			break;
		case PIVOT_EDGE_SERVES:
			snprintf(dbuf, sizeof(dbuf),
			         "the IP served the certificate on port %u (TLS sighting)",
			         e->port);
			desc = dbuf;
			break;
		case PIVOT_EDGE_SAN:
			desc = "the certificate names the domain in its subject alternative names "
			       "or common name";
			break;
		case PIVOT_EDGE_SNI:
			desc = "the certificate was served for this name (TLS SNI)";
			break;
		default:
			desc = "related";
			break;
		}
		char name[300], u[40], id[64], t[40];
		int len = snprintf(name, sizeof(name), "%s|%s|%s|%u", pivot_edge_type_name(e->type),
		                   ids[e->src], ids[e->dst], e->port);
		pivot_uuid5(ns, name, (size_t)len < sizeof(name) ? (size_t)len : sizeof(name) - 1,
		            u);
		snprintf(id, sizeof(id), "relationship--%s", u);
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("relationship"));
		json_object_set_new(o, "spec_version", json_string("2.1"));
		json_object_set_new(o, "id", json_string(id));
		bool sighted = e->type != PIVOT_EDGE_SAN && e->first_seen != 0;
		int64_t created = sighted ? e->first_seen : latest;
		int64_t modified = sighted && e->last_seen > created ? e->last_seen : created;
		ts(created, true, t, sizeof(t));
		json_object_set_new(o, "created", json_string(t));
		ts(modified, true, t, sizeof(t));
		json_object_set_new(o, "modified", json_string(t));
		json_object_set_new(o, "relationship_type", json_string(rtype));
		json_object_set_new(o, "description", json_string(desc));
		json_object_set_new(o, "source_ref", json_string(ids[e->src]));
		json_object_set_new(o, "target_ref", json_string(ids[e->dst]));
		if (e->first_seen != 0) {
			ts(e->first_seen, false, t, sizeof(t));
			json_object_set_new(o, "start_time", json_string(t));
		}
		if (e->last_seen > e->first_seen && e->first_seen != 0) {
			ts(e->last_seen, false, t, sizeof(t));
			json_object_set_new(o, "stop_time", json_string(t));
		}
		json_object_set_new(o, "x_infrapivot_count", json_integer((json_int_t)e->count));
		json_array_append_new(objs, o);
	}
	/* the bundle id: what was asked and what came back */
	char bname[600], u[40], bid[64];
	const struct pivot_params *p = &r->params;
	int blen = snprintf(
	    bname, sizeof(bname), "bundle|%s|%s|%u|%lld|%lld|%u|%llu|%llu|%llu|%llu|%u|%zu|%zu",
	    ids[0], r->nodes[0].n.value, p->depth, (long long)p->since, (long long)p->until,
	    p->edges, (unsigned long long)p->max_ip_domains, (unsigned long long)p->max_cert_ips,
	    (unsigned long long)p->max_domain_ips, (unsigned long long)p->max_san, p->max_nodes,
	    r->nnodes, r->nedges);
	pivot_uuid5(ns, bname, (size_t)blen < sizeof(bname) ? (size_t)blen : sizeof(bname) - 1, u);
	snprintf(bid, sizeof(bid), "bundle--%s", u);
	json_object_set_new(bundle, "type", json_string("bundle"));
	json_object_set_new(bundle, "id", json_string(bid));
	json_object_set_new(bundle, "objects", objs);
	free(scos);
	free(ids);
	return bundle;
fail:
	json_decref(objs);
	json_decref(bundle);
	free(scos);
	free(ids);
	return NULL;
}
