/*
 * test_pivot_keys.c - pivots over keys, subjects and server fingerprints
 * (issue 15) on scenario_keys.h: a re-issued cluster found from one seed
 * through `key`, a rare JARM cluster found through `fingerprint` while a
 * JARM on thousands of IPs is pruned, subjects opt-in, seeds of the new
 * types, the new nodes in every renderer, and the bad parameters.
 */
#include "tests/testutil.h"

#include "pivot/pivot_internal.h"
#include "tests/pivot/pivot_run.h"
#include "tests/pivot/scenario_keys.h"
#include "util/hex.h"

static unsigned count_prefix(const struct pivot_result *r, const char *pfx)
{
	unsigned n = 0;
	for (size_t i = 0; i < pivot_node_count(r); i++)
		n += strncmp(pivot_node_at(r, i)->value, pfx, strlen(pfx)) == 0;
	return n;
}

static void cert_hex(const char *label, char *out)
{
	uint8_t h[20];
	scn_sha(label, 1, h);
	util_hex_encode(h, 20, out);
}

static void key_hex(const char *label, char *out)
{
	uint8_t k[32];
	sk_key(label, k);
	util_hex_encode(k, 32, out);
}

/* The re-issued cluster: from the seed certificate to its siblings and
 * their IPs through the key, with the default edges. */
static void test_reissued_cluster(void)
{
	char seed[41], c1[41], c2[41], noisy1[41], ka[65], kn[65];
	cert_hex("k-cert-0", seed);
	cert_hex("k-cert-1", c1);
	cert_hex("k-cert-2", c2);
	cert_hex("k-noisy-1", noisy1);
	key_hex("key-actor", ka);
	key_hex("key-noisy", kn);
	struct pivot_result *r = run(seed, NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	const struct pivot_node *k = test_find_node(r, PIVOT_NODE_KEY, ka);
	T_CHECK(k != NULL && k->depth == 1 && k->pruned == NULL && k->degree == 3);
	const struct pivot_node *n1 = test_find_node(r, PIVOT_NODE_CERT, c1);
	T_CHECK(n1 != NULL && n1->depth == 2);
	if (n1 != NULL) {
		const struct pivot_edge *e = pivot_edge_at(r, n1->path[1]);
		T_CHECK(e->type == PIVOT_EDGE_KEY && e->first_seen == 0);
	}
	T_CHECK(test_find_node(r, PIVOT_NODE_CERT, c2) != NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.61") != NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.62") != NULL);
	/* the hoster's key, reached through the certificate on :8443, is
	 * pruned with its degree, and none of its 39 other certificates leak */
	const struct pivot_node *nk = test_find_node(r, PIVOT_NODE_KEY, kn);
	T_CHECK(nk != NULL && nk->pruned != NULL && strcmp(nk->pruned, "shared_key") == 0);
	T_CHECK(nk != NULL && nk->degree == 40);
	T_CHECK(test_find_node(r, PIVOT_NODE_CERT, noisy1) == NULL);
	T_EQ_INT(count_prefix(r, "100.64."), 0);
	/* subjects are opt-in: the look-alike is not there by default */
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.63") == NULL);
	T_EQ_INT(count_prefix(r, "C=au"), 0);
	pivot_result_free(r);
	/* without the key edge the siblings stay out of reach */
	r = run(seed, "edges", "resolves,cname,serves,san,sni", NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_CERT, c1) == NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "198.51.100.61") == NULL);
	pivot_result_free(r);
	/* a window does not unprune the hoster's key: a key, a subject or a
	 * fingerprint has no recount within a window (only domains, IPs and
	 * certificates do), so its all-time count stands */
	r = run(seed, "since", "-60d", NULL);
	nk = r ? test_find_node(r, PIVOT_NODE_KEY, kn) : NULL;
	T_CHECK(nk != NULL && nk->pruned != NULL && strcmp(nk->pruned, "shared_key") == 0);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_CERT, noisy1) == NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_CERT, c1) != NULL);
	pivot_result_free(r);
	/* the noise limit is a parameter */
	r = run(seed, "max_key_certs", "2", NULL);
	k = r ? test_find_node(r, PIVOT_NODE_KEY, ka) : NULL;
	T_CHECK(k != NULL && k->pruned != NULL && strcmp(k->pruned, "shared_key") == 0);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_CERT, c1) == NULL);
	pivot_result_free(r);
}

static void test_subject(void)
{
	char seed[41], odd[41], dn[STORE_DN_BUF], common[STORE_DN_BUF];
	cert_hex("k-cert-0", seed);
	cert_hex("k-odd", odd);
	store_dn_norm(SK_SUBJECT, strlen(SK_SUBJECT), dn);
	store_dn_norm(SK_SUBJECT_COMMON, strlen(SK_SUBJECT_COMMON), common);
	struct pivot_result *r = run(seed, "edges", "serves,key,subject", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	const struct pivot_node *s = test_find_node(r, PIVOT_NODE_SUBJECT, dn);
	T_CHECK(s != NULL && s->depth == 1 && s->degree == 4 && s->pruned == NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_CERT, odd) != NULL);
	T_CHECK(test_find_node(r, PIVOT_NODE_IP, "198.51.100.63") != NULL);
	/* OpenSSL's default subject on 30 certificates: pruned */
	const struct pivot_node *c = test_find_node(r, PIVOT_NODE_SUBJECT, common);
	T_CHECK(c != NULL && c->pruned != NULL && strcmp(c->pruned, "common_subject") == 0);
	T_CHECK(c != NULL && c->degree == 30);
	T_EQ_INT(count_prefix(r, "100.65."), 0);
	char det[160];
	if (c != NULL) {
		pivot_pruned_detail(r, c, det, sizeof(det));
		T_EQ_STR(det, "subject of 30 certificates > max_subject_certs 10");
	}
	pivot_result_free(r);
	/* a subject seed, in any spelling */
	r = run("/O=Totally Legit Ltd/CN=totally legit server", "type", "subject", NULL);
	T_CHECK(r != NULL && pivot_node_at(r, 0)->type == PIVOT_NODE_SUBJECT);
	T_CHECK(r != NULL && strcmp(pivot_node_at(r, 0)->value, dn) == 0);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_CERT, odd) != NULL);
	pivot_result_free(r);
}

static void test_jarm_cluster(void)
{
	const char *fpe = "resolves,cname,serves,san,sni,key,fingerprint";
	struct pivot_result *r = run("203.0.113.70", "edges", fpe, NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	for (int i = 71; i <= 75; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		const struct pivot_node *n = test_find_node(r, PIVOT_NODE_IP, ip);
		T_CHECK(n != NULL && n->depth == 2);
	}
	const struct pivot_node *j = test_find_node(r, PIVOT_NODE_JARM, SK_JARM_RARE);
	T_CHECK(j != NULL && j->degree == 6 && j->pruned == NULL);
	const struct pivot_node *cj = test_find_node(r, PIVOT_NODE_JARM, SK_JARM_COMMON);
	T_CHECK(cj != NULL && cj->pruned != NULL && strcmp(cj->pruned, "common_fingerprint") == 0);
	T_CHECK(cj != NULL && cj->degree == 3001);
	T_EQ_INT(count_prefix(r, "10.1."), 0);
	/* the edge keeps its port and times */
	bool port_ok = false;
	for (size_t i = 0; i < pivot_edge_count(r); i++) {
		const struct pivot_edge *e = pivot_edge_at(r, i);
		if (e->type == PIVOT_EDGE_FINGERPRINT && cj != NULL && e->dst == cj->id)
			port_ok = e->port == 8443 && e->src == 0 &&
			          e->first_seen == SCN_NOW - 20 * SCN_DAY;
	}
	T_CHECK(port_ok);
	char det[160];
	if (cj != NULL) {
		pivot_pruned_detail(r, cj, det, sizeof(det));
		T_EQ_STR(det, "seen on 3001 IPs > max_fingerprint_ips 25");
	}
	pivot_result_free(r);
	/* opt-in: not walked by default */
	r = run("203.0.113.70", NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "203.0.113.71") == NULL);
	T_CHECK(r != NULL && pivot_node_count(r) == 1);
	pivot_result_free(r);
	/* JA3S, two hops further */
	r = run("203.0.113.70", "edges", "fingerprint", "depth", "4", NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_JA3S, SK_JA3S) != NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "203.0.113.76") != NULL);
	pivot_result_free(r);
	/* a JARM seed is recognised by its shape */
	r = run(SK_JARM_RARE, "edges", "fingerprint", NULL);
	T_CHECK(r != NULL && pivot_node_at(r, 0)->type == PIVOT_NODE_JARM);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "203.0.113.75") != NULL);
	pivot_result_free(r);
	/* a window: only IPs seen since 2 days ago */
	r = run(SK_JARM_RARE, "edges", "fingerprint", "since", "-2d", "depth", "1", NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "203.0.113.71") != NULL);
	T_CHECK(r != NULL && test_find_node(r, PIVOT_NODE_IP, "203.0.113.72") == NULL);
	pivot_result_free(r);
}

static void test_key_seed_and_renderers(void)
{
	char ka[65];
	key_hex("key-actor", ka);
	struct pivot_result *r = run(ka, "type", "key", "edges", "all", NULL);
	T_CHECK(r != NULL && pivot_node_at(r, 0)->type == PIVOT_NODE_KEY);
	if (r == NULL)
		return;
	json_t *j = pivot_to_json(r);
	json_t *st = json_object_get(j, "stats");
	T_EQ_INT(json_integer_value(json_object_get(st, "keys")), 1);
	T_EQ_INT(json_integer_value(json_object_get(st, "subjects")), 1);
	T_EQ_INT(json_integer_value(json_object_get(st, "domains")), 0);
	json_decref(j);
	char *dot = pivot_to_dot(r);
	T_CHECK(dot != NULL && strstr(dot, "shape=hexagon") != NULL);
	free(dot);
	char *tab = pivot_to_table(r);
	T_CHECK(tab != NULL && strstr(tab, "key ") != NULL);
	free(tab);
	json_t *stix = pivot_to_stix(r);
	char *s = json_dumps(stix, 0);
	T_CHECK(s != NULL && strstr(s, "\"x-infrapivot-public-key--") != NULL);
	T_CHECK(s != NULL && strstr(s, "\"x-infrapivot-subject--") != NULL);
	free(s);
	json_decref(stix);
	pivot_result_free(r);
}

static void bad_param(const char *name, const char *value, const char *want)
{
	struct pivot_params p;
	char msg[256];
	pivot_params_init(&p);
	int err = pivot_params_set(&p, name, value, msg, sizeof(msg));
	if (err == 0) {
		pivot_params_set(&p, "type", value, msg, sizeof(msg));
		err = pivot_params_check(&p, msg, sizeof(msg));
	}
	T_CHECK(err != 0);
	T_CHECK(strstr(msg, want) != NULL);
	if (strstr(msg, want) == NULL)
		fprintf(stderr, "  message: %s\n", msg);
}

static void test_bad_params(void)
{
	bad_param("edges", "key,bogus", "unknown edge type 'bogus'");
	bad_param("max_key_certs", "-1", "max_key_certs");
	bad_param("max_fingerprint_ips", "many", "max_fingerprint_ips");
	bad_param("type", "ja4", "is not domain, ip, cert, key");
	struct pivot_params p;
	char msg[256];
	const char *seeds[][2] = {
	    {"key", "abcd"}, {"jarm", "07d14d"}, {"ja3s", SK_JARM_RARE}, {"subject", "no equals"}};
	for (size_t i = 0; i < 4; i++) {
		pivot_params_init(&p);
		pivot_params_set(&p, "seed", seeds[i][1], msg, sizeof(msg));
		pivot_params_set(&p, "type", seeds[i][0], msg, sizeof(msg));
		T_CHECK(pivot_params_check(&p, msg, sizeof(msg)) != 0);
		T_CHECK(strstr(msg, "seed:") != NULL);
	}
	/* the defaults */
	pivot_params_init(&p);
	T_EQ_INT(p.edges, PIVOT_EDGE_DEFAULT);
	T_CHECK(p.edges & PIVOT_EDGE_KEY);
	T_CHECK(!(p.edges & (PIVOT_EDGE_SUBJECT | PIVOT_EDGE_FINGERPRINT)));
	T_EQ_INT(p.max_key_certs, 25);
	T_EQ_INT(p.max_subject_certs, 10);
	T_EQ_INT(p.max_fingerprint_ips, 25);
}

/* The prefetch (a ClickHouse store's way: pivot/prefetch.c, the run's
 * certificates of pivot/certs.c, a level's metadata and keys read in one
 * batched call) gives the JSON of the store's reads one by one, from
 * certificates, keys and subjects, with every edge and a node budget. */
static char *json_of(const char *seed, const char *type, const char *k, const char *v)
{
	struct pivot_result *r = run(seed, "type", type, "edges", "all", "depth", "4", k, v, NULL);
	json_t *j = r ? pivot_to_json(r) : NULL;
	char *s = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
	json_decref(j);
	pivot_result_free(r);
	return s;
}

static void test_prefetch(void)
{
	char seeds[3][65];
	cert_hex("k-cert-0", seeds[0]);
	key_hex("key-actor", seeds[1]);
	cert_hex("k-noisy-1", seeds[2]);
	static const char *const type[3] = {"cert", "key", "cert"};
	unsigned same = 0, certs = 0;
	for (int i = 0; i < 3; i++) {
		for (int o = 0; o < 2; o++) {
			const char *k = o ? "max_nodes" : "max_ms", *v = o ? "5" : "600000";
			char *a = json_of(seeds[i], type[i], k, v);
			setenv("INFRAPIVOT_PIVOT_PREFETCH", "1", 1);
			char *b = json_of(seeds[i], type[i], k, v);
			unsetenv("INFRAPIVOT_PIVOT_PREFETCH");
			same += a != NULL && b != NULL && strcmp(a, b) == 0;
			certs += a != NULL && strstr(a, "\"subject\"") != NULL;
			free(a);
			free(b);
		}
	}
	T_EQ_INT(same, 6);
	T_CHECK(certs >= 4); /* certificates with metadata in them */
}

int main(void)
{
	const char *dir = t_tmpdir();
	int err = sk_build(dir);
	if (err != 0) {
		fprintf(stderr, "scenario: %s\n", store_strerror(err));
		return 2;
	}
	if (store_open(&db, dir, STORE_RDONLY, 0) != 0)
		return 2;
	test_reissued_cluster();
	test_subject();
	test_jarm_cluster();
	test_key_seed_and_renderers();
	test_bad_params();
	test_prefetch();
	store_close(db);
	return t_done();
}
