/*
 * test_affinity.c - temporal affinity on planted clusters beside
 * co-tenants (scenario_cotenant.h): from each cluster's domain, its shared
 * IP and its certificate, default pivots find the whole cluster (recall
 * 1.0) with precision >= 0.9, where switching the rule off drowns it; the
 * actor's own sister names days apart are never co-tenants, in either
 * direction; the reason, the renderers, --explain and every bad value.
 *
 * Precision and recall are over the nodes the pivot follows (not pruned):
 * what a pivot to a watchlist adds.  Pruned nodes stay in the result as
 * context, with their reason.
 */
#include <stdarg.h>

#include "tests/testutil.h"

#include "pivot/pivot.h"
#include "tests/pivot/pivot_run.h"
#include "tests/pivot/scenario_cotenant.h"
#include "util/hex.h"

static const struct pivot_node *find(const struct pivot_result *r, const char *value)
{
	for (size_t i = 0; i < pivot_node_count(r); i++)
		if (strcmp(pivot_node_at(r, i)->value, value) == 0)
			return pivot_node_at(r, i);
	return NULL;
}

static bool is_cotenant(const struct pivot_node *n)
{
	return n != NULL && n->pruned != NULL && strcmp(n->pruned, "co_tenant") == 0;
}

static void cert_hex(int c, char *out)
{
	char label[32];
	uint8_t h[20];
	snprintf(label, sizeof(label), "actor-cert-%d", c);
	scn_sha(label, 1, h);
	util_hex_encode(h, 20, out);
}

struct figures {
	unsigned found, followed, shown;
};

/* The actor's nodes of cluster c the pivot followed, and all it followed. */
static struct figures measure(const struct pivot_result *r, int c)
{
	char v[SCN_COT_ACTOR_NODES][72];
	struct figures f = {0, 0, 0};
	scn_cot_actor(c, v);
	cert_hex(c, v[8]);
	f.shown = (unsigned)pivot_node_count(r);
	for (size_t i = 0; i < pivot_node_count(r); i++)
		f.followed += pivot_node_at(r, i)->pruned == NULL;
	for (int k = 0; k < SCN_COT_ACTOR_NODES; k++) {
		const struct pivot_node *n = find(r, v[k]);
		f.found += n != NULL && n->pruned == NULL;
	}
	return f;
}

/* Pivots from the domain, the shared IP and the certificate of every
 * cluster; prints each figure and returns the worst precision and recall
 * (and the pooled ones in *pooled_p). */
static void sweep(const char *no_aff, const char *days, const char *depth, bool verbose,
                  double *min_p, double *min_r, double *pooled_p)
{
	unsigned found = 0, followed = 0;
	*min_p = *min_r = 1.0;
	for (int c = 0; c < SCN_COT_CLUSTERS; c++) {
		char seeds[3][72], v[SCN_COT_ACTOR_NODES][72];
		scn_cot_actor(c, v);
		snprintf(seeds[0], 72, "%s", v[0]);
		snprintf(seeds[1], 72, "%s", v[5]);
		cert_hex(c, seeds[2]);
		for (int s = 0; s < 3; s++) {
			struct pivot_result *r =
			    run(seeds[s], "no_affinity", no_aff, "max_cotenant_days", days, "depth",
			        depth, NULL);
			T_CHECK(r != NULL);
			if (r == NULL)
				continue;
			struct figures f = measure(r, c);
			double p = (double)f.found / f.followed;
			double rc = (double)f.found / SCN_COT_ACTOR_NODES;
			printf(
			    "  cluster %d (%2u co-tenants) from %-6s: recall %.2f precision %.2f "
			    "(%u of %u followed; %u nodes shown)\n",
			    c, scn_cot_tenants(c),
			    s == 0   ? "domain"
			    : s == 1 ? "IP"
			             : "cert",
			    rc, p, f.found, f.followed, f.shown);
			*min_p = p < *min_p ? p : *min_p;
			*min_r = rc < *min_r ? rc : *min_r;
			found += f.found;
			followed += f.followed;
			pivot_result_free(r);
		}
	}
	*pooled_p = followed ? (double)found / followed : 0;
}

static void test_precision(void)
{
	double p, rc, pooled;
	printf("affinity on (default, max_cotenant_days 180), depth 3:\n");
	sweep("0", "180", "3", true, &p, &rc, &pooled);
	printf("affinity on: worst recall %.2f, worst precision %.2f, pooled precision %.3f\n", rc,
	       p, pooled);
	T_CHECK(rc == 1.0);
	T_CHECK(p >= 0.9);
	/* deeper: nothing more of the co-tenants' comes in */
	sweep("0", "180", "4", false, &p, &rc, &pooled);
	printf("affinity on, depth 4: worst recall %.2f, worst precision %.2f\n", rc, p);
	T_CHECK(rc == 1.0);
	T_CHECK(p >= 0.9);
	sweep("1", "180", "4", false, &p, &rc, &pooled);
	printf("affinity off, depth 4: worst recall %.2f, worst precision %.2f\n", rc, p);
	printf("affinity off (--no-affinity):\n");
	sweep("1", "180", "3", true, &p, &rc, &pooled);
	printf("affinity off: worst recall %.2f, worst precision %.2f, pooled precision %.3f\n", rc,
	       p, pooled);
	/* the scenario is hard without the rule */
	T_CHECK(rc == 1.0);
	T_CHECK(p < 0.5);
	/* the threshold on this data: the actor's oldest edge on its VPS is 63
	 * days before a later arrival, its co-tenants 500 and more */
	static const char *const days[] = {"30", "62", "63", "90", "365", "499", "500", "700"};
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		sweep("0", days[i], "3", false, &p, &rc, &pooled);
		printf("max_cotenant_days %s: worst recall %.2f, worst precision %.2f, pooled "
		       "precision %.3f\n",
		       days[i], rc, p, pooled);
		long dv = strtol(days[i], NULL, 10);
		T_CHECK(dv < 63 ? rc < 1.0 : rc == 1.0);
		if (dv < 500)
			T_CHECK(p >= 0.9);
	}
}

/* The actor's sister names, days apart on the same IP: never co-tenants,
 * whichever is the seed; a threshold under their gap makes them so. */
static void test_sisters(void)
{
	struct pivot_result *r = run("a0-0.actor.test", NULL);
	const struct pivot_node *n = r ? find(r, "a0-1.actor.test") : NULL;
	T_CHECK(n != NULL && n->pruned == NULL && n->depth == 2);
	pivot_result_free(r);
	r = run("a0-1.actor.test", NULL);
	n = r ? find(r, "a0-0.actor.test") : NULL;
	T_CHECK(n != NULL && n->pruned == NULL && n->depth == 2);
	pivot_result_free(r);
	/* 3 days apart: a threshold of 2 days calls the older one a co-tenant
	 * (over DNS alone: the certificate names both) */
	r = run("a0-1.actor.test", "max_cotenant_days", "2", "edges", "resolves", NULL);
	n = r ? find(r, "a0-0.actor.test") : NULL;
	T_CHECK(is_cotenant(n));
	char det[200] = "";
	if (n != NULL && r != NULL) {
		const struct pivot_node *ip = find(r, "172.16.0.1");
		T_CHECK(ip != NULL && ip->depth == 1);
		json_t *j = pivot_to_json(r);
		json_t *nodes = json_object_get(j, "nodes");
		json_t *o = json_array_get(nodes, n->id);
		snprintf(det, sizeof(det), "%s",
		         json_string_value(json_object_get(o, "pruned_detail")));
		json_decref(j);
	}
	T_EQ_STR(det, "co-tenant: on 172.16.0.1 since 2026-10-17, 3 days before the path arrived");
	pivot_result_free(r);
	/* ... and 3 is not more than 3 */
	r = run("a0-1.actor.test", "max_cotenant_days", "3", "edges", "resolves", NULL);
	n = r ? find(r, "a0-0.actor.test") : NULL;
	T_CHECK(n != NULL && n->pruned == NULL);
	pivot_result_free(r);
}

static void test_cotenants(void)
{
	struct pivot_result *r = run("a0-0.actor.test", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	const struct pivot_node *n = find(r, "shop00.tenant0.test");
	T_CHECK(is_cotenant(n) && n->depth == 2);
	char det[200] = "";
	json_t *j = pivot_to_json(r);
	if (n != NULL)
		snprintf(det, sizeof(det), "%s",
		         json_string_value(json_object_get(
		             json_array_get(json_object_get(j, "nodes"), n->id), "pruned_detail")));
	T_EQ_STR(det,
	         "co-tenant: on 172.16.0.1 since 2025-06-04, 500 days before the path arrived");
	json_t *params = json_object_get(j, "params");
	T_CHECK(json_is_true(json_object_get(params, "affinity")));
	T_EQ_INT(json_integer_value(json_object_get(params, "max_cotenant_days")), 180);
	json_decref(j);
	/* every co-tenant and its certificate is there, pruned, not expanded */
	unsigned cot = 0;
	for (size_t i = 0; i < pivot_node_count(r); i++)
		cot += is_cotenant(pivot_node_at(r, i));
	T_EQ_INT(cot, 10 + 4);
	T_CHECK(find(r, "172.17.0.1") == NULL);
	/* the actor's staging name, 60 days before the arrival: the same tenant */
	n = find(r, "stage0.actor.test");
	T_CHECK(n != NULL && n->pruned == NULL);
	pivot_result_free(r);
}

/* Table, DOT (a style of its own) and STIX say which nodes are
 * co-tenants and why. */
static void test_render(void)
{
	struct pivot_result *r = run("a0-0.actor.test", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	char *dot = pivot_to_dot(r), *table = pivot_to_table(r);
	T_CHECK(dot != NULL && strstr(dot, "pruned: co_tenant") != NULL);
	T_CHECK(dot != NULL && strstr(dot, "color=darkorange3") != NULL);
	T_CHECK(dot != NULL && strstr(dot, "pruned: shared_hosting") == NULL);
	T_CHECK(table != NULL && strstr(table, "PRUNED co_tenant (co-tenant: on 172.16.0.1 since "
	                                       "2025-06-04, 500 days before") != NULL);
	free(dot);
	free(table);
	json_t *stix = pivot_to_stix(r);
	char *s = json_dumps(stix, 0);
	T_CHECK(s != NULL && strstr(s, "\"x_infrapivot_pruned\": \"co_tenant\"") != NULL);
	free(s);
	json_decref(stix);
	pivot_result_free(r);
}

/* --explain: the edges, times and the rule, for any node of the result. */
static void test_explain(void)
{
	struct pivot_result *r = run("a0-0.actor.test", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	char *e = pivot_explain(r, "SHOP00.tenant0.test.");
	T_CHECK(e != NULL);
	if (e != NULL) {
		T_CHECK(strstr(e, "a0-0.actor.test -> 172.16.0.1: resolves, seen 2026-10-17") !=
		        NULL);
		T_CHECK(strstr(e, "the path arrived at 172.16.0.1 on 2026-10-17 (resolves from "
		                  "a0-0.actor.test") != NULL);
		T_CHECK(strstr(e, "first seen 500 days before the path arrived: > "
		                  "max_cotenant_days 180, a co-tenant") != NULL);
		T_CHECK(strstr(e, "decision: pruned co_tenant") != NULL);
	}
	free(e);
	e = pivot_explain(r, "stage0.actor.test");
	T_CHECK(e != NULL && strstr(e, "60 days before the path arrived: <= max_cotenant_days "
	                               "180, the same tenant") != NULL);
	T_CHECK(e != NULL && strstr(e, "decision: kept") != NULL);
	free(e);
	char hex[41];
	cert_hex(0, hex);
	for (char *q = hex; *q; q++)
		*q = (char)(*q >= 'a' ? *q - 32 : *q);
	e = pivot_explain(r, hex);
	T_CHECK(e != NULL && strstr(e, "(cert), depth 1") != NULL);
	free(e);
	T_CHECK(pivot_explain(r, "172.017.0.1") == NULL);
	T_CHECK(pivot_explain(r, "not-here.example") == NULL);
	T_CHECK(pivot_explain(r, "bad..name") == NULL);
	e = pivot_explain(r, "172.16.0.1");
	T_CHECK(e != NULL && strstr(e, "decision: kept and expanded") != NULL);
	free(e);
	pivot_result_free(r);

	/* switched off: the co-tenants are followed, and explain says so */
	r = run("a0-0.actor.test", "no_affinity", "", NULL);
	const struct pivot_node *n = r ? find(r, "shop00.tenant0.test") : NULL;
	T_CHECK(n != NULL && n->pruned == NULL);
	T_CHECK(r != NULL && find(r, "172.17.0.1") != NULL);
	e = r ? pivot_explain(r, "shop00.tenant0.test") : NULL;
	T_CHECK(e != NULL && strstr(e, "temporal affinity is off") != NULL);
	free(e);
	pivot_result_free(r);
}

/* An IP seed: the path arrives with the newest first sighting on it;
 * --until moves that anchor back. */
static void test_ip_seed(void)
{
	struct pivot_result *r = run("172.16.0.1", "depth", "1", NULL);
	T_CHECK(r != NULL);
	if (r == NULL)
		return;
	T_CHECK(is_cotenant(find(r, "shop00.tenant0.test")));
	const struct pivot_node *n = find(r, "a0-0.actor.test");
	T_CHECK(n != NULL && n->pruned == NULL);
	char *e = pivot_explain(r, "shop05.tenant0.test");
	T_CHECK(e != NULL &&
	        strstr(e, "(the seed) on 2026-10-20: the newest first sighting") != NULL);
	free(e);
	pivot_result_free(r);
	/* a year and a half back, the co-tenants were the newest there */
	r = run("172.16.0.1", "depth", "1", "until", "2025-07-01", NULL);
	n = r ? find(r, "shop00.tenant0.test") : NULL;
	T_CHECK(n != NULL && n->pruned == NULL);
	T_CHECK(r != NULL && find(r, "a0-0.actor.test") == NULL);
	pivot_result_free(r);
}

/* Small database for what the clusters do not show: a name first met as a
 * co-tenant that the actor's certificate also names is the actor's. */
static int build_rules(const char *dir)
{
	const int64_t now = SCN_NOW, d = SCN_DAY;
	static struct store_cert_meta m;
	struct scn c;
	int err = scn_begin(&c, dir, 64);
	if (err != 0)
		return err;
	scn_dns(&c, "seed.rules.test", "192.0.2.7", now - 10 * d, now - d);
	scn_dns(&c, "old.rules.test", "192.0.2.7", now - 400 * d, now - d);
	scn_dns(&c, "other.rules.test", "192.0.2.7", now - 400 * d, now - d);
	static const char *const sans[] = {"seed.rules.test", "old.rules.test", NULL};
	scn_meta(&m, "rules-cert", "CN=seed.rules.test", "CN=x", "01", sans, now - 11 * d,
	         now + 80 * d);
	scn_sight(&c, &m, true, "192.0.2.8", 443, NULL, now - 10 * d, now - d);
	return scn_end(&c);
}

static void test_rules(void)
{
	store_t *keep = db;
	const char *dir = t_tmpdir();
	T_EQ_INT(build_rules(dir), 0);
	T_EQ_INT(store_open(&db, dir, STORE_RDONLY, 0), 0);
	struct pivot_result *r = run("seed.rules.test", "depth", "2", NULL);
	T_CHECK(r != NULL);
	if (r != NULL) {
		T_CHECK(is_cotenant(find(r, "other.rules.test")));
		const struct pivot_node *n = find(r, "old.rules.test");
		const struct pivot_node *cert = pivot_node_at(r, 2);
		T_CHECK(n != NULL && n->pruned == NULL && n->depth == 2);
		/* reached through the certificate's SAN */
		T_CHECK(n != NULL && n->path_len == 2 &&
		        pivot_edge_at(r, n->path[1])->type == PIVOT_EDGE_SAN);
		T_CHECK(cert->type == PIVOT_NODE_CERT);
		T_EQ_INT(pivot_result_params(r)->max_cotenant_days, 180);
		pivot_result_free(r);
	}
	store_close(db);
	db = keep;
}

static void test_params(void)
{
	struct pivot_params p;
	char msg[256];
	pivot_params_init(&p);
	T_CHECK(p.affinity);
	T_EQ_INT(p.max_cotenant_days, 180);
	T_EQ_INT(pivot_params_set(&p, "max-cotenant-days", "30", msg, sizeof(msg)), 0);
	T_EQ_INT(p.max_cotenant_days, 30);
	T_EQ_INT(pivot_params_set(&p, "max_cotenant_days", "0", msg, sizeof(msg)), 0);
	T_EQ_INT(p.max_cotenant_days, 0);
	T_EQ_INT(pivot_params_set(&p, "no-affinity", "", msg, sizeof(msg)), 0);
	T_CHECK(!p.affinity);
	T_EQ_INT(pivot_params_set(&p, "no_affinity", "0", msg, sizeof(msg)), 0);
	T_CHECK(p.affinity);
	T_EQ_INT(pivot_params_set(&p, "no_affinity", "true", msg, sizeof(msg)), 0);
	T_CHECK(!p.affinity);
	static const struct {
		const char *name, *value, *want;
	} bad[] = {
	    {"max_cotenant_days", "x", "max_cotenant_days: 'x' is not a non-negative whole number"},
	    {"max_cotenant_days", "-1", "max_cotenant_days: '-1' is not a non-negative whole"},
	    {"max_cotenant_days", "", "max_cotenant_days: '' is not a non-negative whole number"},
	    {"max_cotenant_days", "36501", "max_cotenant_days: 36501 is out of range (0 to 36500)"},
	    {"no_affinity", "maybe", "no_affinity: 'maybe' is not 1, true, 0 or false"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pivot_params q;
		pivot_params_init(&q);
		T_CHECK(pivot_params_set(&q, bad[i].name, bad[i].value, msg, sizeof(msg)) < 0);
		T_CHECK(strncmp(msg, bad[i].want, strlen(bad[i].want)) == 0);
		T_CHECK(q.affinity && q.max_cotenant_days == 180);
	}
	/* the rule itself: unknown times are never co-tenancy */
	int64_t days;
	T_CHECK(!store_affinity_judge(0, 1000, 0, &days));
	T_CHECK(!store_affinity_judge(1000 * SCN_DAY, 0, 0, &days));
	T_CHECK(!store_affinity_judge(10 * SCN_DAY, 11 * SCN_DAY, 0, &days));
	T_CHECK(store_affinity_judge(10 * SCN_DAY, 10 * SCN_DAY - 1, 0, &days) && days == 0);
	T_CHECK(!store_affinity_judge(INT64_MAX, INT64_MIN + 1, 10, &days));
	T_CHECK(store_affinity_judge(200 * SCN_DAY, 19 * SCN_DAY, 180, &days) && days == 181);
	T_CHECK(!store_affinity_judge(200 * SCN_DAY, 20 * SCN_DAY, 180, &days) && days == 180);
}

int main(void)
{
	const char *dir = t_tmpdir();
	int err = scn_build_cotenant(dir);
	T_EQ_INT(err, 0);
	if (err != 0)
		return t_done();
	T_EQ_INT(store_open(&db, dir, STORE_RDONLY, 0), 0);
	test_params();
	test_precision();
	test_sisters();
	test_cotenants();
	test_render();
	test_explain();
	test_ip_seed();
	test_rules();
	store_close(db);
	return t_done();
}
