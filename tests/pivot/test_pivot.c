/*
 * test_pivot.c - the pivot engine on a database shaped like a real hunt
 * (scenario.h): the actor cluster is found, noise is pruned with its
 * reason, nothing beyond it leaks in; time windows, budgets, determinism,
 * renderers and every bad parameter.
 */
#include <stdarg.h>

#include "tests/testutil.h"

#include "pivot/pivot.h"
#include "tests/pivot/pivot_run.h"
#include "tests/pivot/scenario.h"
#include "util/hex.h"

static bool has_value_prefix(const struct pivot_result *r, const char *pfx)
{
	for (size_t i = 0; i < pivot_node_count(r); i++)
		if (strncmp(pivot_node_at(r, i)->value, pfx, strlen(pfx)) == 0)
			return true;
	return false;
}

static void hex_of(const char *label, char *out)
{
	uint8_t h[20];
	scn_sha(label, 1, h);
	util_hex_encode(h, 20, out);
}

/* Every node's path is a chain of edges from the seed to it. */
static bool paths_ok(const struct pivot_result *r)
{
	for (size_t i = 0; i < pivot_node_count(r); i++) {
		const struct pivot_node *n = pivot_node_at(r, i);
		if (n->path_len != n->depth)
			return false;
		unsigned at = 0;
		for (unsigned k = 0; k < n->path_len; k++) {
			const struct pivot_edge *e = pivot_edge_at(r, n->path[k]);
			if (e == NULL || (e->src != at && e->dst != at))
				return false;
			at = e->src == at ? e->dst : e->src;
		}
		if (at != n->id)
			return false;
	}
	return true;
}

static void test_params(void)
{
	struct pivot_params p;
	char msg[256];
	pivot_params_init(&p);
	T_EQ_INT(p.depth, 3);
	T_EQ_INT(p.max_ip_domains, 100);
	T_EQ_INT(p.max_cert_ips, 50);
	T_EQ_INT(p.max_domain_ips, 50);
	T_EQ_INT(p.max_san, 80);
	T_EQ_INT(p.max_nodes, 500);
	T_EQ_INT(p.max_ms, 2000);
	T_EQ_INT(p.edges, PIVOT_EDGE_DEFAULT); /* all but subject and fingerprint */
	T_EQ_INT(pivot_params_set(&p, "max-ip-domains", "7", msg, sizeof(msg)), 0);
	T_EQ_INT(p.max_ip_domains, 7);
	/* 0 switches a noise limit off: the largest limit (issue 19) */
	T_EQ_INT(pivot_params_set(&p, "max_cert_ips", "0", msg, sizeof(msg)), 0);
	T_EQ_INT(p.max_cert_ips, UINT32_MAX);
	T_EQ_INT(pivot_params_set(&p, "edges", "resolves,sni", msg, sizeof(msg)), 0);
	T_EQ_INT(p.edges, PIVOT_EDGE_RESOLVES | PIVOT_EDGE_SNI);
	T_EQ_INT(pivot_params_set(&p, "type", "cert", msg, sizeof(msg)), 0);
	T_EQ_INT(p.seed_type, PIVOT_NODE_CERT);
	T_EQ_INT(pivot_params_set(&p, "now", "2026-11-01", msg, sizeof(msg)), 0);
	T_EQ_INT(pivot_params_set(&p, "since", "-7d", msg, sizeof(msg)), 0);
	T_EQ_INT(p.since, SCN_NOW - 7 * SCN_DAY);
	T_EQ_INT(pivot_params_set(&p, "depth", "6", msg, sizeof(msg)), 0);

	/* every bad value names the parameter and the problem */
	static const struct {
		const char *name, *value, *want;
	} bad[] = {
	    {"depth", "7", "depth: 7 is out of range (0 to 6)"},
	    {"depth", "two", "depth: 'two' is not a non-negative whole number"},
	    {"depth", "-1", "depth: '-1' is not a non-negative whole number"},
	    {"max_nodes", "0", "max_nodes: 0 is out of range (1 to 10000)"},
	    {"max-nodes", "10001", "max_nodes: 10001 is out of range (1 to 10000)"},
	    {"max_ms", "0", "max_ms: 0 is out of range (1 to 600000)"},
	    {"max_ip_domains", "", "max_ip_domains: '' is not a non-negative whole number"},
	    {"max_cert_ips", "5x", "max_cert_ips: '5x' is not a non-negative whole number"},
	    {"max_domain_ips", "99999999999",
	     "max_domain_ips: 99999999999 is out of range (0 to 4294967295)"},
	    {"max_san", "1e3", "max_san: '1e3' is not a non-negative whole number"},
	    {"since", "yesterday", "since: 'yesterday' is not a time"},
	    {"until", "2024-13-01", "until: '2024-13-01' is not a time"},
	    {"edges", "resolves,dns", "edges: unknown edge type 'dns'"},
	    {"edges", "", "edges: empty list"},
	    {"type", "url",
	     "type: 'url' is not domain, ip, cert, key, subject, jarm, ja3s or auto"},
	    {"now", "soon", "now: 'soon' is not a time"},
	    {"seed", "", "seed: empty"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pivot_params q;
		pivot_params_init(&q);
		int err = pivot_params_set(&q, bad[i].name, bad[i].value, msg, sizeof(msg));
		T_CHECK(err < 0);
		if (strncmp(msg, bad[i].want, strlen(bad[i].want)) != 0) {
			fprintf(stderr, "param %s=%s: message '%s', want '%s...'\n", bad[i].name,
			        bad[i].value, msg, bad[i].want);
			t_fail++;
		} else {
			t_pass++;
		}
	}
	T_EQ_INT(pivot_params_set(&p, "colour", "red", msg, sizeof(msg)), 1);

	/* checks across parameters */
	static const struct {
		const char *type, *seed, *want;
	} seeds[] = {
	    {"auto", "bad..name", "seed: 'bad..name' is not a domain name, an IP address"},
	    {"domain", "10.0.0.1/8", "seed: '10.0.0.1/8' is not a valid domain name"},
	    {"ip", "example.com", "seed: 'example.com' is not an IPv4 or IPv6 address"},
	    {"cert", "abcd", "seed: 'abcd' is not a certificate SHA-1 or SHA-256"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct pivot_params q;
		pivot_params_init(&q);
		pivot_params_set(&q, "type", seeds[i].type, msg, sizeof(msg));
		pivot_params_set(&q, "seed", seeds[i].seed, msg, sizeof(msg));
		T_CHECK(pivot_params_check(&q, msg, sizeof(msg)) < 0);
		T_CHECK(strncmp(msg, seeds[i].want, strlen(seeds[i].want)) == 0);
		struct pivot_result *r = (struct pivot_result *)1;
		T_CHECK(pivot_run(db, &q, &r, msg, sizeof(msg)) < 0);
		T_CHECK(r == NULL);
	}
	struct pivot_params q;
	pivot_params_init(&q);
	T_CHECK(pivot_params_check(&q, msg, sizeof(msg)) < 0);
	T_CHECK(strstr(msg, "seed: missing") != NULL);
	pivot_params_set(&q, "seed", "example.com", msg, sizeof(msg));
	pivot_params_set(&q, "since", "2026-02-01", msg, sizeof(msg));
	pivot_params_set(&q, "until", "2026-01-01", msg, sizeof(msg));
	T_EQ_INT(pivot_params_check(&q, msg, sizeof(msg)), STORE_EBADTIME);
	T_CHECK(strstr(msg, "is after until") != NULL);
}

static void test_uuid5(void)
{
	/* RFC 4122 DNS namespace, as Python's uuid.uuid5(NAMESPACE_DNS, "python.org") */
	static const uint8_t dns_ns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
	                                   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	char u[40];
	pivot_uuid5(dns_ns, "python.org", 10, u);
	T_EQ_STR(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

static void test_hunt(void)
{
	char actor[41], actor2[41], cdn[41], lh[41];
	hex_of("actor-cert", actor);
	hex_of("actor-cert-2", actor2);
	hex_of("cdn-cert", cdn);
	hex_of("localhost-cert", lh);
	struct pivot_result *r = run("login-verify.duckdns.org", "depth", "4", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	const char *budget = "x";
	T_CHECK(!pivot_truncated(r, &budget));
	T_CHECK(budget == NULL);

	/* the whole actor cluster */
	static const char *const names[] = {
	    "login-verify.duckdns.org",        "portal.verify-id.online",
	    "account-check.example-actor.net", "secure-mail-login.top",
	    "cdn-update-service.xyz",          "verify-id.online",
	    "mail.secure-mail-login.top",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, names[i]) != NULL);
	static const char *const ips[] = {"198.51.100.10", "203.0.113.21", "203.0.113.22",
	                                  "203.0.113.23",  "203.0.113.24", "203.0.113.25",
	                                  "203.0.113.40",  "2001:db8::23"};
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		const struct pivot_node *n = test_find_node(r, PIVOT_NODE_IP, ips[i]);
		T_CHECK(n != NULL && n->pruned == NULL);
	}
	const struct pivot_node *c1 = test_find_node(r, PIVOT_NODE_CERT, actor);
	T_CHECK(c1 != NULL && c1->pruned == NULL && c1->depth == 1);
	T_CHECK(c1 != NULL && c1->has_sha1 && c1->has_sha256 && c1->cert_has_meta);
	T_CHECK(c1 != NULL && strcmp(c1->subject, "CN=login-verify.duckdns.org") == 0);
	T_CHECK(test_find_node(r, PIVOT_NODE_CERT, actor2) != NULL);
	/* named in a certificate only: a validity period is not a sighting */
	const struct pivot_node *sano =
	    test_find_node(r, PIVOT_NODE_DOMAIN, "mail.secure-mail-login.top");
	T_CHECK(sano != NULL && sano->first_seen == 0 && sano->last_seen == 0);
	T_CHECK(c1 != NULL && c1->last_seen == SCN_NOW - SCN_DAY);

	/* the seed and the node it was found from */
	const struct pivot_node *seed = pivot_node_at(r, 0);
	T_EQ_STR(seed->value, "login-verify.duckdns.org");
	T_EQ_INT(seed->depth, 0);
	T_CHECK(seed->pruned == NULL);
	const struct pivot_node *ip10 = test_find_node(r, PIVOT_NODE_IP, "198.51.100.10");
	T_CHECK(ip10 != NULL && ip10->depth == 1 && ip10->nports == 2);
	T_CHECK(ip10 != NULL && ip10->ports[0] == 443 && ip10->ports[1] == 8443);
	T_EQ_INT(ip10 ? ip10->last_seen : 0, SCN_NOW - SCN_DAY);
	const struct pivot_node *far = test_find_node(r, PIVOT_NODE_IP, "203.0.113.40");
	T_CHECK(far != NULL && far->depth == 4 && far->path_len == 4);
	T_CHECK(paths_ok(r));

	/* noise: included, pruned with the reason and the degree, not expanded */
	const struct pivot_node *n = test_find_node(r, PIVOT_NODE_IP, "192.0.2.80");
	T_CHECK(n != NULL && n->pruned != NULL && strcmp(n->pruned, "shared_hosting") == 0);
	T_EQ_INT(n ? n->degree : 0, 5000);
	n = test_find_node(r, PIVOT_NODE_IP, "192.0.2.90");
	T_CHECK(n != NULL && n->pruned != NULL && strcmp(n->pruned, "shared_hosting") == 0);
	T_EQ_INT(n ? n->degree : 0, 155);
	n = test_find_node(r, PIVOT_NODE_CERT, cdn);
	T_CHECK(n != NULL && n->pruned != NULL && strcmp(n->pruned, "cdn_or_default_cert") == 0);
	T_EQ_INT(n ? n->degree : 0, 300);
	n = test_find_node(r, PIVOT_NODE_CERT, lh);
	T_CHECK(n != NULL && n->pruned != NULL && strcmp(n->pruned, "cdn_or_default_cert") == 0);
	T_EQ_INT(n ? n->degree : 0, 2001);
	T_CHECK(n != NULL && strcmp(n->subject, "CN=localhost") == 0);

	/* ... and nothing beyond them, nor beyond the depth */
	T_CHECK(!has_value_prefix(r, "site"));
	T_CHECK(!has_value_prefix(r, "oldsite"));
	T_CHECK(!has_value_prefix(r, "fresh"));
	T_CHECK(!has_value_prefix(r, "customer"));
	T_CHECK(!has_value_prefix(r, "100.64."));
	T_CHECK(!has_value_prefix(r, "198.18."));
	T_CHECK(!has_value_prefix(r, "localhost"));
	T_CHECK(!has_value_prefix(r, "cdn-provider"));
	T_CHECK(!has_value_prefix(r, "unrelated"));
	T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "next-stage.example-actor.net") == NULL);

	/* stale sightings are there, and old */
	n = test_find_node(r, PIVOT_NODE_IP, "192.0.2.200");
	T_CHECK(n != NULL && (SCN_NOW - n->last_seen) / SCN_DAY == 365);
	T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "old-parking.example") != NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.99") != NULL);
	T_EQ_INT(pivot_node_count(r), 24);

	/* edges carry the underlying sighting */
	bool found = false;
	for (size_t i = 0; i < pivot_edge_count(r); i++) {
		const struct pivot_edge *e = pivot_edge_at(r, i);
		if (e->type == PIVOT_EDGE_SERVES && ip10 != NULL && e->src == ip10->id &&
		    c1 != NULL && e->dst == c1->id) {
			found = true;
			T_EQ_INT(e->port, 443);
			T_EQ_INT(e->first_seen, SCN_NOW - 10 * SCN_DAY);
			T_EQ_INT(e->last_seen, SCN_NOW - 1 * SCN_DAY);
			T_EQ_INT(e->count, 2);
		}
		if (e->type == PIVOT_EDGE_SNI)
			T_CHECK(pivot_node_at(r, e->dst)->type == PIVOT_NODE_CERT);
	}
	T_CHECK(found);
	pivot_result_free(r);

	/* a window over the last month drops the stale sightings, keeps the
	 * actor, and counts prevalence within it: 192.0.2.90 hosts 5 names now */
	r = run("login-verify.duckdns.org", "depth", "4", "since", "-30d", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "192.0.2.200") == NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "old-parking.example") == NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.99") == NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, names[i]) != NULL);
	n = test_find_node(r, PIVOT_NODE_IP, "192.0.2.80");
	T_CHECK(n != NULL && n->pruned != NULL);
	n = test_find_node(r, PIVOT_NODE_IP, "192.0.2.90");
	T_CHECK(n != NULL && n->pruned == NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "fresh0.reused-host.example") != NULL);
	T_CHECK(!has_value_prefix(r, "oldsite"));
	T_CHECK(test_find_node(r, PIVOT_NODE_CERT, cdn) != NULL);
	T_CHECK(paths_ok(r));
	for (size_t i = 0; i < pivot_edge_count(r); i++) {
		const struct pivot_edge *e = pivot_edge_at(r, i);
		T_CHECK(e->last_seen == 0 || e->last_seen >= SCN_NOW - 30 * SCN_DAY);
	}
	pivot_result_free(r);

	/* a window a year back: only what was seen then */
	r = run("login-verify.duckdns.org", "depth", "4", "until", "-300d", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "192.0.2.200") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "old-parking.example") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.10") == NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_CERT, actor) == NULL);
		T_EQ_INT(pivot_node_count(r), 3);
		pivot_result_free(r);
	}
}

static void test_seeds_and_edges(void)
{
	char actor[41];
	hex_of("actor-cert", actor);
	/* an IP seed */
	struct pivot_result *r = run("198.51.100.10", "depth", "1", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_EQ_INT(pivot_node_at(r, 0)->type, PIVOT_NODE_IP);
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "login-verify.duckdns.org") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_CERT, actor) != NULL);
		T_EQ_INT(pivot_node_count(r), 4);
		pivot_result_free(r);
	}
	/* a certificate seed by SHA-256 lands on its SHA-1 */
	uint8_t h[32];
	char hex[65];
	scn_sha("actor-cert", 256, h);
	util_hex_encode(h, 32, hex);
	r = run(hex, "depth", "1", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_EQ_STR(pivot_node_at(r, 0)->value, actor);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.25") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "login-verify.duckdns.org") != NULL);
		pivot_result_free(r);
	}
	/* the seed is always expanded, even when it is noise */
	r = run("192.0.2.80", "depth", "1", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const char *budget = NULL;
		T_CHECK(pivot_node_at(r, 0)->pruned == NULL);
		T_EQ_INT(pivot_node_at(r, 0)->degree, 5000);
		T_CHECK(pivot_truncated(r, &budget));
		T_EQ_STR(budget, "max_nodes");
		T_EQ_INT(pivot_node_count(r), 500);
		pivot_result_free(r);
	}
	/* unknown to the store: the seed alone */
	r = run("never-seen.example", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_EQ_INT(pivot_node_count(r), 1);
		T_EQ_INT(pivot_edge_count(r), 0);
		T_CHECK(!pivot_truncated(r, NULL));
		pivot_result_free(r);
	}
	r = run("0123456789abcdef0123456789abcdef01234567", NULL);
	T_CHECK(r != NULL && pivot_node_count(r) == 1 &&
	        pivot_node_at(r, 0)->type == PIVOT_NODE_CERT);
	pivot_result_free(r);
	/* a forced type: a name that looks like a hash */
	r = run("0123456789abcdef0123456789abcdef01234567", "type", "domain", NULL);
	T_CHECK(r != NULL && pivot_node_at(r, 0)->type == PIVOT_NODE_DOMAIN);
	pivot_result_free(r);
	/* depth 0: the seed alone; names are normalised; IPv6 and colon hashes */
	r = run("Login-Verify.DuckDNS.org.", "depth", "0", NULL);
	T_CHECK(r != NULL && pivot_node_count(r) == 1 && pivot_edge_count(r) == 0);
	T_CHECK(r != NULL && strcmp(pivot_node_at(r, 0)->value, "login-verify.duckdns.org") == 0);
	T_CHECK(r != NULL && pivot_node_at(r, 0)->degree == 4);
	pivot_result_free(r);
	r = run("2001:DB8:0::23", "depth", "1", NULL);
	T_CHECK(r != NULL && strcmp(pivot_node_at(r, 0)->value, "2001:db8::23") == 0);
	T_CHECK(r != NULL &&
	        test_find_node(r, PIVOT_NODE_DOMAIN, "cdn-update-service.xyz") != NULL);
	pivot_result_free(r);
	char colons[64];
	size_t o = 0;
	for (size_t k = 0; k < 40; k += 2)
		o += (size_t)snprintf(colons + o, sizeof(colons) - o, "%s%c%c", k ? ":" : "",
		                      actor[k] - 32 * (actor[k] >= 'a'), actor[k + 1]);
	r = run(colons, "depth", "1", NULL);
	T_CHECK(r != NULL && strcmp(pivot_node_at(r, 0)->value, actor) == 0);
	T_CHECK(r != NULL && pivot_node_count(r) > 5);
	pivot_result_free(r);
	/* DNS edges only: no certificates */
	r = run("login-verify.duckdns.org", "depth", "4", "edges", "resolves,cname", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		for (size_t i = 0; i < pivot_node_count(r); i++)
			T_CHECK(pivot_node_at(r, i)->type != PIVOT_NODE_CERT);
		T_CHECK(test_find_node(r, PIVOT_NODE_DOMAIN, "portal.verify-id.online") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.21") == NULL);
		pivot_result_free(r);
	}
	/* a lifted limit: the shared IP is walked (and the node budget stops it) */
	r = run("login-verify.duckdns.org", "depth", "2", "max_ip_domains", "4294967295", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const char *budget = NULL;
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "192.0.2.80")->pruned == NULL);
		T_CHECK(has_value_prefix(r, "site"));
		T_CHECK(pivot_truncated(r, &budget));
		T_EQ_STR(budget, "max_nodes");
		pivot_result_free(r);
	}
	/* 0 switches a limit off (docs/http-api.md; it used to prune every
	 * linked node, issue 19): as the lifted limit above */
	r = run("login-verify.duckdns.org", "depth", "2", "max_ip_domains", "0", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const char *budget = NULL;
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "192.0.2.80")->pruned == NULL);
		T_CHECK(has_value_prefix(r, "site"));
		T_CHECK(pivot_truncated(r, &budget));
		pivot_result_free(r);
	}
	/* a tighter SAN limit prunes the CDN certificate (lifted IP limit) */
	r = run("login-verify.duckdns.org", "depth", "2", "max_cert_ips", "4294967295", "max_san",
	        "1", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		char cdn[41];
		hex_of("cdn-cert", cdn);
		const struct pivot_node *n = test_find_node(r, PIVOT_NODE_CERT, cdn);
		T_CHECK(n != NULL && n->pruned != NULL &&
		        strcmp(n->pruned, "multi_tenant_cert") == 0);
		T_EQ_INT(n ? n->san_count : 0, 2);
		pivot_result_free(r);
	}
}

static void test_budgets(void)
{
	struct pivot_result *r =
	    run("login-verify.duckdns.org", "depth", "4", "max_nodes", "5", NULL);
	const char *budget = NULL;
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_CHECK(pivot_truncated(r, &budget));
		T_EQ_STR(budget, "max_nodes");
		T_EQ_INT(pivot_node_count(r), 5);
		T_CHECK(paths_ok(r));
		for (size_t i = 0; i < pivot_edge_count(r); i++) {
			const struct pivot_edge *e = pivot_edge_at(r, i);
			T_CHECK(e->src < 5 && e->dst < 5);
		}
		json_t *j = pivot_to_json(r);
		T_CHECK(json_is_true(json_object_get(j, "truncated")));
		T_EQ_STR(json_string_value(json_object_get(j, "truncated_by")), "max_nodes");
		json_decref(j);
		pivot_result_free(r);
	}
	/* a time budget of 1 ms cannot walk 5,000 names and all behind them */
	r = run("192.0.2.80", "depth", "6", "max_ip_domains", "4294967295", "max_cert_ips",
	        "4294967295", "max_domain_ips", "4294967295", "max_san", "4294967295", "max_nodes",
	        "10000", "max_ms", "1", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_CHECK(pivot_truncated(r, &budget));
		T_EQ_STR(budget, "max_ms");
		T_CHECK(pivot_node_count(r) >= 1);
		T_CHECK(paths_ok(r));
		pivot_result_free(r);
	}
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static void test_renderers(void)
{
	struct pivot_result *a = run("login-verify.duckdns.org", "depth", "4", NULL);
	struct pivot_result *b = run("login-verify.duckdns.org", "depth", "4", NULL);
	T_CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	/* byte-identical, every format */
	char *ja = dump(pivot_to_json(a)), *jb = dump(pivot_to_json(b));
	T_CHECK(ja != NULL && jb != NULL && strcmp(ja, jb) == 0);
	char *sa = dump(pivot_to_stix(a)), *sb = dump(pivot_to_stix(b));
	T_CHECK(sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	char *da = pivot_to_dot(a), *db2 = pivot_to_dot(b);
	T_CHECK(da != NULL && db2 != NULL && strcmp(da, db2) == 0);
	char *ta = pivot_to_table(a), *tb = pivot_to_table(b);
	T_CHECK(ta != NULL && tb != NULL && strcmp(ta, tb) == 0);

	/* JSON shape */
	json_error_t jerr;
	json_t *j = json_loads(ja, 0, &jerr);
	T_CHECK(j != NULL);
	T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "seed"), "value")),
	         "login-verify.duckdns.org");
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "params"), "depth")), 4);
	T_CHECK(json_is_null(json_object_get(json_object_get(j, "params"), "since")));
	T_EQ_INT(json_array_size(json_object_get(j, "nodes")), pivot_node_count(a));
	T_EQ_INT(json_array_size(json_object_get(j, "edges")), pivot_edge_count(a));
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "stats"), "pruned")), 4);
	json_t *n1 = json_array_get(json_object_get(j, "nodes"), 1);
	T_CHECK(json_object_get(n1, "age_days") != NULL);
	T_CHECK(json_object_get(n1, "path") != NULL);
	size_t i;
	json_t *v;
	bool saw_pruned = false, saw_port = false, saw_subject = false;
	json_array_foreach(json_object_get(j, "nodes"), i, v)
	{
		if (json_is_string(json_object_get(v, "pruned"))) {
			saw_pruned = true;
			T_CHECK(json_is_string(json_object_get(v, "pruned_detail")));
		}
		const char *subj = json_string_value(json_object_get(v, "subject"));
		if (subj != NULL && strstr(subj, "evil") != NULL)
			saw_subject = true; /* not UTF-8 in the store, cleaned for JSON */
	}
	json_array_foreach(json_object_get(j, "edges"), i, v)
	{
		const char *t = json_string_value(json_object_get(v, "type"));
		if (strcmp(t, "serves") == 0)
			saw_port = json_integer_value(json_object_get(v, "port")) > 0;
		else
			T_CHECK(json_object_get(v, "port") == NULL);
	}
	T_CHECK(saw_pruned && saw_port && saw_subject);
	json_decref(j);

	/* STIX: the deterministic id of a domain-name per STIX 2.1 section 2.9 */
	j = json_loads(sa, 0, &jerr);
	T_EQ_STR(json_string_value(json_object_get(j, "type")), "bundle");
	json_t *objs = json_object_get(j, "objects");
	/* the identity, the observables, the relationships, the grouping */
	T_EQ_INT(json_array_size(objs), 1 + pivot_node_count(a) + pivot_edge_count(a) + 1);
	T_EQ_STR(json_string_value(json_object_get(json_array_get(objs, 0), "type")), "identity");
	json_t *grp = json_array_get(objs, json_array_size(objs) - 1);
	T_EQ_STR(json_string_value(json_object_get(grp, "type")), "grouping");
	T_EQ_STR(json_string_value(json_object_get(grp, "context")), "suspicious-activity");
	T_EQ_INT(json_array_size(json_object_get(grp, "object_refs")),
	         pivot_node_count(a) + pivot_edge_count(a));
	char want[80], u[40];
	const char *canon = "{\"value\":\"login-verify.duckdns.org\"}";
	pivot_uuid5((const uint8_t[16]){0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01,
	                                0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7},
	            canon, strlen(canon), u);
	snprintf(want, sizeof(want), "domain-name--%s", u);
	json_t *o0 = json_array_get(objs, 1);
	T_EQ_STR(json_string_value(json_object_get(o0, "id")), want);
	T_CHECK(json_array_size(json_object_get(o0, "resolves_to_refs")) >= 3);
	bool saw_rel = false, saw_x509 = false;
	json_array_foreach(objs, i, v)
	{
		const char *t = json_string_value(json_object_get(v, "type"));
		if (strcmp(t, "relationship") == 0 &&
		    strcmp(json_string_value(json_object_get(v, "relationship_type")),
		           "resolves-to") == 0)
			saw_rel = true;
		if (strcmp(t, "ipv6-addr") == 0)
			T_EQ_STR(json_string_value(json_object_get(v, "value")), "2001:db8::23");
		if (strcmp(t, "x509-certificate") == 0 &&
		    json_object_get(json_object_get(v, "hashes"), "SHA-256") != NULL)
			saw_x509 = true;
	}
	T_CHECK(saw_rel && saw_x509);
	json_decref(j);

	/* DOT: shapes, the seed, pruned nodes, escaping */
	T_CHECK(strncmp(da, "digraph infrapivot {", 20) == 0);
	T_CHECK(strstr(da, "n0 [shape=ellipse") != NULL);
	T_CHECK(strstr(da, "fillcolor=gold") != NULL);
	T_CHECK(strstr(da, "shape=note") != NULL && strstr(da, "shape=box") != NULL);
	T_CHECK(strstr(da, "pruned: shared_hosting") != NULL);
	T_CHECK(strstr(da, "style=dashed") != NULL);
	T_CHECK(strstr(da, "CN=evil \\\"quoted\\\" \\\\back\\\\slash &amp; amp;") != NULL);
	T_CHECK(strchr(da, '\xff') == NULL);
	T_CHECK(strstr(da, "serves :443\\n2026-10-31") != NULL);

	/* table: nodes by depth */
	T_CHECK(strstr(ta, "\ndepth 4\n") != NULL);
	T_CHECK(strstr(ta, "PRUNED shared_hosting") != NULL);

	free(ja);
	free(jb);
	free(sa);
	free(sb);
	free(da);
	free(db2);
	free(ta);
	free(tb);
	pivot_result_free(a);
	pivot_result_free(b);
}

/* Small database for the rules the hunt does not reach: a CNAME target
 * shared by many names, and window-aware pruning of certificates and
 * fast-flux names. */
static int build_rules(const char *dir)
{
	const int64_t now = SCN_NOW, d = SCN_DAY;
	static struct store_cert_meta m;
	struct scn c = {.cap = 512};
	int err = store_open(&c.s, dir, STORE_NOSYNC, 0);
	if (err != 0)
		return err;
	c.obs = calloc(c.cap, sizeof(*c.obs));
	char name[64], ip[48];
	scn_cname(&c, "a.rules.example", "ghs.hosting.example", now - 5 * d, now - d);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "tenant%03d.example", i);
		scn_cname(&c, name, "ghs.hosting.example", now - 5 * d, now - d);
	}
	scn_dns(&c, "ghs.hosting.example", "192.0.2.1", now - 5 * d, now - d);
	/* b.rules.example: on 203.0.113.9, whose certificate was on 60 IPs a
	 * year ago and is on 3 now; and a CNAME of flux.example, which had 60
	 * IPs a year ago and 2 now */
	scn_dns(&c, "b.rules.example", "203.0.113.9", now - 5 * d, now - d);
	scn_meta(&m, "rules-cert", "CN=b.rules.example", "CN=b.rules.example", "07", NULL,
	         now - 900 * d, now + 900 * d);
	scn_sight(&c, &m, true, "203.0.113.9", 443, NULL, now - 5 * d, now - d);
	for (int i = 0; i < 60; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", 100 + i);
		scn_sight(&c, &m, false, ip, 443, NULL, now - 500 * d, now - 400 * d);
		scn_dns(&c, "flux.example", ip, now - 500 * d, now - 400 * d);
	}
	scn_sight(&c, &m, false, "203.0.113.10", 443, NULL, now - 5 * d, now - d);
	scn_sight(&c, &m, false, "203.0.113.11", 443, NULL, now - 5 * d, now - d);
	scn_cname(&c, "b.rules.example.cdn.example", "flux.example", now - 5 * d, now - d);
	scn_dns(&c, "flux.example", "203.0.113.12", now - 5 * d, now - d);
	scn_dns(&c, "flux.example", "203.0.113.13", now - 5 * d, now - d);
	scn_cname(&c, "b.rules.example", "b.rules.example.cdn.example", now - 5 * d, now - d);
	/* actor.rules.example on two IPs; shared.rules.example, on three, met
	 * first as a co-tenant of the first IP (there for 500 days), then by an
	 * edge of the actor's from the second: noise with max_domain_ips 2 */
	scn_dns(&c, "actor.rules.example", "198.18.0.1", now - 5 * d, now - d);
	scn_dns(&c, "actor.rules.example", "198.18.0.2", now - 5 * d, now - d);
	scn_dns(&c, "shared.rules.example", "198.18.0.1", now - 500 * d, now - d);
	scn_dns(&c, "shared.rules.example", "198.18.0.2", now - 5 * d, now - d);
	scn_dns(&c, "shared.rules.example", "198.18.0.3", now - 5 * d, now - d);
	scn_flush(&c);
	err = c.err;
	free(c.obs);
	store_close(c.s);
	return err;
}

static int json_both(const char *seed, const char *k, const char *v, bool *same);

/* The prefetch reads a level's prevalence counts in one batched call per
 * kind and judges the noise then: the same JSON as the store's reads one
 * by one, over nodes pruned as noise, as shared targets and as co-tenants,
 * all time and within a window (the window's recount of a node over its
 * limit), and with a node budget. */
static void rules_prefetch(void)
{
	static const char *const seeds[] = {"a.rules.example",     "b.rules.example",
	                                    "ghs.hosting.example", "flux.example",
	                                    "203.0.113.9",         "b.rules.example.cdn.example",
	                                    "actor.rules.example"};
	static const char *const opt[][2] = {
	    {"depth", "3"},      {"depth", "4"},   {"since", "-30d"},      {"no_affinity", "1"},
	    {"max_nodes", "40"}, {"edges", "all"}, {"max_domain_ips", "2"}};
	unsigned runs = 0, bad = 0;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		for (size_t o = 0; o < sizeof(opt) / sizeof(opt[0]); o++) {
			bool same;
			T_CHECK(json_both(seeds[i], opt[o][0], opt[o][1], &same) > 1);
			runs++;
			bad += !same;
		}
	T_EQ_INT(bad, 0);
	T_EQ_INT(runs, 49);
	/* every noise limit 1: the level's reads capped at 18 rows a key,
	 * which ghs.hosting.example's 151 aliases, flux.example's 62 addresses
	 * and rules-cert's 63 sightings pass; a cut key is read alone.  And
	 * within a window, where most nodes are counted again: from their
	 * level's reads when not cut (over the limit or not), else in one
	 * batched read a kind (pivot/graph.c, recount_new) */
	for (size_t w = 0; w < 2 * sizeof(seeds) / sizeof(seeds[0]); w++) {
		size_t i = w % (sizeof(seeds) / sizeof(seeds[0]));
		char *j[2] = {NULL, NULL};
		size_t nodes = 0;
		for (int pf = 0; pf < 2; pf++) {
			if (pf)
				setenv("INFRAPIVOT_PIVOT_PREFETCH", "1", 1);
			struct pivot_result *r =
			    run(seeds[i], "max_ms", "600000", "depth", "3", "max_ip_domains", "1",
			        "max_domain_ips", "1", "max_cert_ips", "1", "max_san", "1",
			        w == i ? "max_ms" : "since", w == i ? "600000" : "-30d", NULL);
			unsetenv("INFRAPIVOT_PIVOT_PREFETCH");
			j[pf] = r ? dump(pivot_to_json(r)) : NULL;
			nodes = r ? pivot_node_count(r) : 0;
			pivot_result_free(r);
		}
		T_CHECK(j[0] != NULL && j[1] != NULL && strcmp(j[0], j[1]) == 0);
		T_CHECK(nodes > 1);
		free(j[0]);
		free(j[1]);
	}
}

/* The batched readers' cap on LMDB (store/batch_read.c): a key past it is
 * cut after its first max rows, the next key counted afresh. */
struct cap_rows {
	size_t rows[3];
};

static int cap_row(size_t key, const struct store_rr *rr, void *ctx)
{
	(void)rr;
	((struct cap_rows *)ctx)->rows[key]++;
	return 0;
}

static void rules_cap(void)
{
	static const char *const targets[3] = {"ghs.hosting.example", "flux.example",
	                                       "b.rules.example.cdn.example"};
	store_rtxn_t *rt;
	T_EQ_INT(store_read_begin(db, &rt), 0);
	struct store_fence f;
	store_fence_init(&f);
	bool cut[3] = {false, false, false};
	struct store_cap cap = {18, cut};
	struct cap_rows n = {{0, 0, 0}};
	T_EQ_INT(store_rr_by_targets(rt, targets, 3, &f, &cap, cap_row, &n), 0);
	T_CHECK(cut[0] && n.rows[0] == 18); /* 151 aliases */
	T_CHECK(!cut[1] && n.rows[1] == 1); /* one alias each, counted afresh */
	T_CHECK(!cut[2] && n.rows[2] == 1);
	struct cap_rows all = {{0, 0, 0}};
	T_EQ_INT(store_rr_by_targets(rt, targets, 3, &f, NULL, cap_row, &all), 0);
	T_EQ_INT(all.rows[0], 151);
	store_read_end(rt);
}

static void test_rules(void)
{
	store_t *keep = db;
	const char *dir = t_tmpdir();
	T_EQ_INT(build_rules(dir), 0);
	T_EQ_INT(store_open(&db, dir, STORE_RDONLY, 0), 0);
	struct pivot_result *r = run("a.rules.example", "depth", "3", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const struct pivot_node *n =
		    test_find_node(r, PIVOT_NODE_DOMAIN, "ghs.hosting.example");
		T_CHECK(n != NULL && n->pruned != NULL &&
		        strcmp(n->pruned, "shared_cname_target") == 0);
		T_CHECK(!has_value_prefix(r, "tenant"));
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "192.0.2.1") == NULL);
		pivot_result_free(r);
	}
	/* the seed is expanded however many names alias it */
	r = run("ghs.hosting.example", "depth", "1", NULL);
	T_CHECK(r != NULL && pivot_node_count(r) == 153);
	pivot_result_free(r);

	char cert[41];
	hex_of("rules-cert", cert);
	/* all time: the certificate and the name are noise */
	r = run("b.rules.example", "depth", "3", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const struct pivot_node *n = test_find_node(r, PIVOT_NODE_CERT, cert);
		T_CHECK(n != NULL && n->pruned != NULL &&
		        strcmp(n->pruned, "cdn_or_default_cert") == 0);
		T_EQ_INT(n ? n->degree : 0, 63);
		n = test_find_node(r, PIVOT_NODE_DOMAIN, "flux.example");
		T_CHECK(n != NULL && n->pruned != NULL &&
		        strcmp(n->pruned, "cdn_or_fast_flux_name") == 0);
		T_EQ_INT(n ? n->degree : 0, 62);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.10") == NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.12") == NULL);
		pivot_result_free(r);
	}
	/* within the last month they are small: expanded */
	r = run("b.rules.example", "depth", "3", "since", "-30d", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		const struct pivot_node *n = test_find_node(r, PIVOT_NODE_CERT, cert);
		T_CHECK(n != NULL && n->pruned == NULL);
		n = test_find_node(r, PIVOT_NODE_DOMAIN, "flux.example");
		T_CHECK(n != NULL && n->pruned == NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.10") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "203.0.113.12") != NULL);
		T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.100") == NULL);
		pivot_result_free(r);
	}
	rules_prefetch();
	rules_cap();
	store_close(db);
	db = keep;
}

/* The level prefetch (pivot/prefetch.c, what a ClickHouse store uses)
 * answers the walk as the store does: the same JSON from every node of a
 * large pivot as seed, with the default edges, all edges, a window and a
 * node budget that cuts a level. */
static int json_both(const char *seed, const char *k, const char *v, bool *same)
{
	struct pivot_result *a = run(seed, "max_ms", "600000", k, v, NULL);
	setenv("INFRAPIVOT_PIVOT_PREFETCH", "1", 1);
	struct pivot_result *b = run(seed, "max_ms", "600000", k, v, NULL);
	unsetenv("INFRAPIVOT_PIVOT_PREFETCH");
	char *ja = a ? dump(pivot_to_json(a)) : NULL, *jb = b ? dump(pivot_to_json(b)) : NULL;
	*same = ja != NULL && jb != NULL && strcmp(ja, jb) == 0;
	int n = a ? (int)pivot_node_count(a) : 0;
	free(ja);
	free(jb);
	pivot_result_free(a);
	pivot_result_free(b);
	return n;
}

static void test_prefetch(void)
{
	struct pivot_result *big = run("login-verify.duckdns.org", "depth", "4", NULL);
	T_CHECK(big != NULL && pivot_node_count(big) > 20);
	static const char *const opt[][2] = {
	    {"depth", "3"}, {"edges", "all"}, {"since", "2026-06-01"}, {"max_nodes", "7"}};
	unsigned runs = 0, bad = 0, nodes = 0;
	for (size_t i = 0; big != NULL && i < pivot_node_count(big) && i < 40; i++) {
		const struct pivot_node *n = pivot_node_at(big, i);
		for (size_t o = 0; o < sizeof(opt) / sizeof(opt[0]); o++) {
			bool same;
			nodes += (unsigned)json_both(n->value, opt[o][0], opt[o][1], &same);
			runs++;
			bad += !same;
		}
	}
	T_EQ_INT(bad, 0);
	T_CHECK(runs >= 80 && nodes > runs);
	pivot_result_free(big);
}

int main(void)
{
	const char *dir = t_tmpdir();
	int err = scn_build(dir);
	T_EQ_INT(err, 0);
	if (err != 0)
		return t_done();
	T_EQ_INT(store_open(&db, dir, STORE_RDONLY, 0), 0);
	test_params();
	test_uuid5();
	test_hunt();
	test_seeds_and_edges();
	test_budgets();
	test_renderers();
	test_rules();
	test_prefetch();
	store_close(db);
	return t_done();
}
