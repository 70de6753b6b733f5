/*
 * test_watch.c - watchlists in the store on a real LMDB: add/refresh with
 * first and latest provenance, removals, versions, deltas, expiries
 * computed at read time and numbered as the next write records them,
 * tombstone pruning, delete and re-create, and the standing-pivot hook
 * (a watched certificate on a new IP; on a shared-hosting IP; on a VPS
 * with long-lived co-tenants).
 */
#include <lmdb.h>

#include "store/store.h"
#include "store/watch.h"
#include "tests/testutil.h"

#define T0 1700000000

struct coll {
	unsigned n;
	char ind[64][STORE_WATCH_IND_BUF];
	unsigned state[64];
	uint64_t version[64];
	char source[64][STORE_WATCH_TEXT_BUF];
	char note_first[64][STORE_WATCH_TEXT_BUF];
	char note_latest[64][STORE_WATCH_TEXT_BUF];
	unsigned nhops[64];
	unsigned gen[64];
};

static int collect(const struct store_watch_entry *e, void *ctx)
{
	struct coll *c = ctx;
	if (c->n >= 64)
		return STORE_STOP;
	snprintf(c->ind[c->n], sizeof(c->ind[0]), "%s", e->indicator);
	c->state[c->n] = e->state;
	c->version[c->n] = e->version;
	snprintf(c->source[c->n], sizeof(c->source[0]), "%s", e->source);
	snprintf(c->note_first[c->n], sizeof(c->note_first[0]), "%s", e->prov_first.note);
	snprintf(c->note_latest[c->n], sizeof(c->note_latest[0]), "%s",
	         e->has_latest ? e->prov_latest.note : "");
	c->nhops[c->n] = e->prov_first.nhops;
	c->gen[c->n] = e->gen;
	c->n++;
	return 0;
}

static int find(const struct coll *c, const char *ind)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->ind[i], ind) == 0)
			return (int)i;
	return -1;
}

static struct store_watch_item item(const char *ind, int64_t expires, const char *src,
                                    const struct store_watch_prov *p)
{
	static char norm[16][STORE_WATCH_IND_BUF];
	static unsigned k;
	char *out = norm[k++ % 16];
	unsigned type = 0;
	if (store_watch_indicator_norm(ind, &type, out) != 0)
		out[0] = '\0';
	struct store_watch_item it = {
	    .type = (uint8_t)type, .indicator = out, .expires = expires, .source = src, .prov = p};
	return it;
}

static void test_norm(void)
{
	char out[STORE_WATCH_IND_BUF];
	unsigned t = 0;
	T_EQ_INT(store_watch_indicator_norm("WWW.Example.COM.", &t, out), 0);
	T_EQ_INT(t, STORE_WATCH_DOMAIN);
	T_EQ_STR(out, "www.example.com");
	t = 0;
	T_EQ_INT(store_watch_indicator_norm("2001:DB8:0:0::1", &t, out), 0);
	T_EQ_INT(t, STORE_WATCH_IP);
	T_EQ_STR(out, "2001:db8::1");
	t = 0;
	T_EQ_INT(store_watch_indicator_norm(
	             "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01", &t, out),
	         0);
	T_EQ_INT(t, STORE_WATCH_CERT);
	T_EQ_STR(out, "abcdef0123456789abcdef0123456789abcdef01");
	t = STORE_WATCH_IP;
	T_CHECK(store_watch_indicator_norm("example.com", &t, out) != 0);
	t = 0;
	T_CHECK(store_watch_indicator_norm("*.example.com", &t, out) != 0);
	T_CHECK(store_watch_name_ok("apt-29_c2.v1"));
	T_CHECK(!store_watch_name_ok("bad/name"));
	T_CHECK(!store_watch_name_ok(""));
	T_CHECK(!store_watch_name_ok("..x"));
}

static void test_model(store_t *s)
{
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "apt");
	snprintf(set.description, sizeof(set.description), "test list");
	bool created = false;
	T_EQ_INT(store_watch_put(s, &set, T0, &created), 0);
	T_CHECK(created);
	struct store_watch_info info;
	T_EQ_INT(store_watch_get(s, "apt", T0, &info), 0);
	T_EQ_INT(info.version, 1);
	T_EQ_STR(info.set.description, "test list");
	T_EQ_INT(info.set.ttl_days, 30);

	struct store_watch_prov p1 = {.note = "pivot from seed.example", .nhops = 1};
	p1.hops[0] = (struct store_watch_hop){.edge = STORE_EDGE_RESOLVES,
	                                      .from_type = 1,
	                                      .to_type = 2,
	                                      .from = "seed.example",
	                                      .to = "192.0.2.1",
	                                      .first_seen = 1,
	                                      .last_seen = 2};
	struct store_watch_item its[3] = {
	    item("seed.example", T0 + 1000, "alice", NULL),
	    item("192.0.2.1", T0 + 500, "pivot from seed.example", &p1),
	    item("192.0.2.2", 0, "alice", NULL),
	};
	int res[3];
	uint64_t ver = 0;
	T_EQ_INT(store_watch_add(s, "apt", its, 3, T0 + 10, res, &ver), 0);
	T_EQ_INT(res[0], STORE_WATCH_ADDED);
	T_EQ_INT(ver, 2);

	/* refresh: keeps first provenance, records the latest, never shortens */
	struct store_watch_prov p2 = {.note = "pivot from other.example"};
	struct store_watch_item again = item("192.0.2.1", T0 + 400, "bob", &p2);
	T_EQ_INT(store_watch_add(s, "apt", &again, 1, T0 + 20, res, &ver), 0);
	T_EQ_INT(res[0], STORE_WATCH_REFRESHED);
	T_EQ_INT(ver, 3);
	struct store_watch_entry e;
	T_EQ_INT(store_watch_entry_get(s, "apt", STORE_WATCH_IP, "192.0.2.1", T0 + 20, &e), 0);
	T_EQ_STR(e.prov_first.note, "pivot from seed.example");
	T_EQ_INT(e.prov_first.nhops, 1);
	T_EQ_STR(e.prov_first.hops[0].to, "192.0.2.1");
	T_CHECK(e.has_latest);
	T_EQ_STR(e.prov_latest.note, "pivot from other.example");
	T_EQ_INT(e.expires, T0 + 500);
	T_EQ_STR(e.source, "pivot from seed.example");

	struct coll c = {0};
	bool full = false;
	T_EQ_INT(store_watch_read(s, "apt", T0 + 30, 0, collect, &c, &info, &full), 0);
	T_CHECK(full);
	T_EQ_INT(c.n, 3);
	T_EQ_INT(info.live, 3);

	/* remove: a tombstone in the delta */
	struct store_watch_item rm = item("192.0.2.2", 0, NULL, NULL);
	T_EQ_INT(store_watch_remove(s, "apt", &rm, 1, T0 + 40, res, &ver), 0);
	T_EQ_INT(res[0], STORE_WATCH_REMOVED_OK);
	T_EQ_INT(ver, 4);
	T_EQ_INT(store_watch_remove(s, "apt", &rm, 1, T0 + 41, res, &ver), 0);
	T_EQ_INT(res[0], STORE_WATCH_ABSENT);
	T_EQ_INT(ver, 4); /* nothing changed, no new version */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 50, 3, collect, &c, &info, &full), 0);
	T_CHECK(!full);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.ind[0], "192.0.2.2");
	T_EQ_INT(c.state[0], STORE_WATCH_REMOVED);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 50, 4, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 0);
	T_EQ_INT(info.version, 4);

	/* expiry at read time: 192.0.2.1 at T0+500 is gone at T0+500 */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 499, 0, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 2);
	T_EQ_INT(info.version, 4);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 500, 0, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.ind[0], "seed.example");
	T_EQ_INT(info.version, 5);
	T_EQ_INT(info.expired_due, 1);
	/* and visible in the delta with its own version */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 600, 4, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.ind[0], "192.0.2.1");
	T_EQ_INT(c.state[0], STORE_WATCH_EXPIRED);
	T_EQ_INT(c.version[0], 5);
	/* seed.example expires at T0+1000: version 6 at T0+1000 */
	T_EQ_INT(store_watch_get(s, "apt", T0 + 1000, &info), 0);
	T_EQ_INT(info.version, 6);
	T_EQ_INT(info.live, 0);
	/* a write at T0+2000 records both expiries with those numbers, then
	 * takes 7 for itself */
	struct store_watch_item add3 = item("c2.example", 0, "alice", NULL);
	T_EQ_INT(store_watch_add(s, "apt", &add3, 1, T0 + 2000, res, &ver), 0);
	T_EQ_INT(ver, 7);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 2000, 4, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 3);
	int i1 = find(&c, "192.0.2.1"), i2 = find(&c, "seed.example"), i3 = find(&c, "c2.example");
	T_CHECK(i1 >= 0 && i2 >= 0 && i3 >= 0);
	if (i1 >= 0 && i2 >= 0 && i3 >= 0) {
		T_EQ_INT(c.version[i1], 5);
		T_EQ_INT(c.version[i2], 6);
		T_EQ_INT(c.version[i3], 7);
		T_EQ_INT(c.state[i2], STORE_WATCH_EXPIRED);
	}
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 2000, 6, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 1);
	/* re-adding an expired indicator makes it new again */
	struct store_watch_item back = item("192.0.2.1", 0, "carol", NULL);
	T_EQ_INT(store_watch_add(s, "apt", &back, 1, T0 + 2100, res, &ver), 0);
	T_EQ_INT(res[0], STORE_WATCH_ADDED);
	T_EQ_INT(store_watch_entry_get(s, "apt", STORE_WATCH_IP, "192.0.2.1", T0 + 2100, &e), 0);
	T_EQ_STR(e.source, "carol");
	T_EQ_INT(e.added, T0 + 2100);

	/* tombstones past tombstone_days are pruned; older deltas get the full list */
	T_EQ_INT(store_watch_get(s, "apt", T0 + 2100, &info), 0);
	T_EQ_INT(info.tombstones, 2); /* 192.0.2.2 removed, seed.example expired */
	T_EQ_INT(store_watch_add(s, "apt", &add3, 1, T0 + 31 * 86400, res, &ver), 0);
	T_EQ_INT(store_watch_get(s, "apt", T0 + 31 * 86400, &info), 0);
	T_EQ_INT(info.tombstones, 0);
	T_EQ_INT(info.delta_floor, 6);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 31 * 86400, 4, collect, &c, &info, &full), 0);
	T_CHECK(full);
	T_EQ_INT(c.n, 2);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 31 * 86400, 6, collect, &c, &info, &full), 0);
	T_CHECK(!full);

	/* unknown list, bad indicator */
	T_EQ_INT(store_watch_add(s, "nope", &add3, 1, T0, res, &ver), STORE_ENOTFOUND);
	T_EQ_INT(store_watch_get(s, "nope", T0, &info), STORE_ENOTFOUND);

	/* delete and create again: versions start above the old ones */
	uint64_t old_version = info.version;
	T_EQ_INT(store_watch_delete(s, "apt"), 0);
	T_EQ_INT(store_watch_delete(s, "apt"), STORE_ENOTFOUND);
	T_EQ_INT(store_watch_get(s, "apt", T0, &info), STORE_ENOTFOUND);
	T_EQ_INT(store_watch_put(s, &set, T0 + 32 * 86400, &created), 0);
	T_CHECK(created);
	T_EQ_INT(store_watch_get(s, "apt", T0 + 32 * 86400, &info), 0);
	T_CHECK(info.version > old_version);
	T_EQ_INT(info.live, 0);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_watch_read(s, "apt", T0 + 32 * 86400, 0, collect, &c, &info, &full), 0);
	T_EQ_INT(c.n, 0);
	/* settings change bumps the version */
	uint64_t v0 = info.version;
	set.ttl_days = 7;
	T_EQ_INT(store_watch_put(s, &set, T0 + 32 * 86400, &created), 0);
	T_CHECK(!created);
	T_EQ_INT(store_watch_get(s, "apt", T0 + 32 * 86400, &info), 0);
	T_EQ_INT(info.version, v0 + 1);
	T_EQ_INT(info.set.ttl_days, 7);
}

static struct store_cert_meta metas[8];
static unsigned nmetas;

static struct store_obs sight(const char *sha1, const char *ip, int64_t t, const char *sensor)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CERT;
	o.time_first = t;
	o.time_last = t;
	o.count = 1;
	snprintf(o.sensor, sizeof(o.sensor), "%s", sensor);
	struct store_cert_meta *m = &metas[nmetas++ % 8];
	memset(m, 0, sizeof(*m));
	size_t hl;
	uint8_t h[32];
	store_hash_parse(sha1, strlen(sha1), h, &hl);
	memcpy(m->sha1, h, 20);
	m->has_sha1 = true;
	o.cert.meta = m;
	o.cert.sighting = true;
	store_addr_parse(ip, strlen(ip), o.cert.ip);
	o.cert.port = 443;
	return o;
}

static struct store_obs a_rec(const char *name, const char *ip, int64_t t)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_DNS;
	o.time_first = t;
	o.time_last = t;
	o.count = 1;
	snprintf(o.dns.rrname, sizeof(o.dns.rrname), "%.*s", (int)sizeof(o.dns.rrname) - 1, name);
	o.dns.rrtype = STORE_RR_A;
	store_addr_parse(ip, strlen(ip), o.dns.addr);
	return o;
}

#define CERT "1111111111111111111111111111111111111111"

static void test_standing(store_t *s)
{
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "standing");
	set.auto_edges = STORE_EDGE_SERVES;
	set.auto_ttl_days = 7;
	T_EQ_INT(store_watch_put(s, &set, 0, NULL), 0);
	/* a list without the rule sees nothing added */
	struct store_watch_settings quiet;
	store_watch_settings_init(&quiet);
	snprintf(quiet.name, sizeof(quiet.name), "quiet");
	T_EQ_INT(store_watch_put(s, &quiet, 0, NULL), 0);
	struct store_watch_item it = item(CERT, 0, "alice", NULL);
	T_EQ_INT(store_watch_add(s, "standing", &it, 1, 0, NULL, NULL), 0);
	T_EQ_INT(store_watch_add(s, "quiet", &it, 1, 0, NULL, NULL), 0);

	/* the watched certificate on a new IP */
	struct store_obs o = sight(CERT, "198.51.100.7", T0, "sensor-a");
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	struct store_watch_entry e;
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_IP, "198.51.100.7", 0, &e), 0);
	T_EQ_INT(e.state, STORE_WATCH_LIVE);
	T_EQ_STR(e.source, "auto");
	T_EQ_INT(e.gen, 1);
	T_EQ_STR(e.prov_first.note,
	         "auto: serves with " CERT ", seen 2023-11-14T22:13:20Z by sensor-a");
	T_EQ_INT(e.prov_first.nhops, 1);
	T_EQ_INT(e.prov_first.hops[0].port, 443);
	T_CHECK(e.expires > e.added + 7 * 86400 - 5 && e.expires <= e.added + 7 * 86400);
	T_EQ_INT(store_watch_entry_get(s, "quiet", STORE_WATCH_IP, "198.51.100.7", 0, &e),
	         STORE_ENOTFOUND);
	struct store_watch_info info;
	T_EQ_INT(store_watch_get(s, "standing", 0, &info), 0);
	T_EQ_INT(info.auto_added, 1);
	T_EQ_INT(info.live, 2);
	uint64_t v = info.version;
	/* seen again: no change, no new version */
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_get(s, "standing", 0, &info), 0);
	T_EQ_INT(info.version, v);
	/* seen again once half its 7 days are gone: refreshed, latest provenance */
	int64_t later = e.added + 4 * 86400;
	store_set_write_hook(s, store_watch_hook, &later);
	struct store_obs again = sight(CERT, "198.51.100.7", T0 + 86400, "sensor-c");
	T_EQ_INT(store_write(s, &again, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_IP, "198.51.100.7", later, &e),
	         0);
	T_EQ_INT(e.expires, later + 7 * 86400);
	T_CHECK(e.has_latest);
	T_CHECK(strstr(e.prov_latest.note, "by sensor-c") != NULL);
	T_EQ_INT(store_watch_get(s, "standing", later, &info), 0);
	T_EQ_INT(info.version, v + 1);
	T_EQ_INT(info.auto_added, 1);
	v = info.version;
	/* and not again right after */
	T_EQ_INT(store_write(s, &again, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_get(s, "standing", later, &info), 0);
	T_EQ_INT(info.version, v);
	store_set_write_hook(s, store_watch_hook, NULL);
	/* generation 1 is not expanded further by default: another cert on
	 * the auto-added IP stays off */
	struct store_obs o2 =
	    sight("2222222222222222222222222222222222222222", "198.51.100.7", T0, "sensor-a");
	set.auto_edges = STORE_EDGE_SERVES;
	T_EQ_INT(store_write(s, &o2, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_CERT,
	                               "2222222222222222222222222222222222222222", 0, &e),
	         STORE_ENOTFOUND);

	/* a shared-hosting IP: 150 names on it, then the watched cert */
	struct store_obs *batch = calloc(151, sizeof(*batch));
	for (int i = 0; i < 150; i++) {
		char name[64];
		snprintf(name, sizeof(name), "site%d.hoster.example", i);
		batch[i] = a_rec(name, "203.0.113.50", T0);
	}
	batch[150] = sight(CERT, "203.0.113.50", T0 + 60, "sensor-b");
	T_EQ_INT(store_write(s, batch, 151, NULL, 0, NULL), 0);
	free(batch);
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_IP, "203.0.113.50", 0, &e),
	         STORE_ENOTFOUND);
	T_EQ_INT(store_watch_get(s, "standing", 0, &info), 0);
	T_EQ_INT(info.noise_skipped, 1);
	T_EQ_INT(info.version, v);
	T_CHECK(strstr(info.last_skip, "203.0.113.50 (ip): shared hosting, 150 names > 100") !=
	        NULL);
	T_EQ_INT(info.auto_added, 1);

	/* a removed indicator is not watched any more */
	T_EQ_INT(store_watch_remove(s, "standing", &it, 1, 0, NULL, NULL), 0);
	struct store_obs o3 = sight(CERT, "198.51.100.99", T0, "sensor-a");
	T_EQ_INT(store_write(s, &o3, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_IP, "198.51.100.99", 0, &e),
	         STORE_ENOTFOUND);

	/* an auto entry added again by a person: generation 0, first source kept */
	struct store_watch_item man = item("198.51.100.7", 0, "alice", NULL);
	T_EQ_INT(store_watch_add(s, "standing", &man, 1, 0, NULL, NULL), 0);
	T_EQ_INT(store_watch_entry_get(s, "standing", STORE_WATCH_IP, "198.51.100.7", 0, &e), 0);
	T_EQ_INT(e.gen, 0);
	T_EQ_STR(e.source, "auto");
	T_EQ_STR(e.prov_latest.note, "alice");
}

/* Temporal affinity: a watched certificate appearing on a long-lived
 * shared IP adds the IP, not its old co-tenants (names or certificates),
 * even when they are seen again now; the actor's names that came with it,
 * or days before it, are added. */
static void test_cotenant(store_t *s)
{
	const char *cert = "3333333333333333333333333333333333333333";
	const char *old_cert = "4444444444444444444444444444444444444444";
	const int64_t d = 86400;
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "affinity");
	set.auto_edges = STORE_EDGE_SERVES | STORE_EDGE_RESOLVES;
	set.auto_max_gen = 2;
	T_EQ_INT(store_watch_put(s, &set, 0, NULL), 0);
	struct store_watch_item it = item(cert, 0, "alice", NULL);
	T_EQ_INT(store_watch_add(s, "affinity", &it, 1, 0, NULL, NULL), 0);
	/* 40 tenants on the VPS for 600 days, and one's certificate */
	struct store_obs batch[42];
	char names[40][64];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "shop%02d.tenant.example", i);
		batch[i] = a_rec(names[i], "203.0.113.60", T0 - 600 * d);
	}
	batch[40] = sight(old_cert, "203.0.113.60", T0 - 600 * d, "sensor-a");
	batch[41] = a_rec("sister.actor.example", "203.0.113.60", T0 - 3 * d);
	T_EQ_INT(store_write(s, batch, 42, NULL, 0, NULL), 0);
	/* the watched certificate arrives there: the IP is added */
	struct store_obs o = sight(cert, "203.0.113.60", T0, "sensor-a");
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	struct store_watch_entry e;
	T_EQ_INT(store_watch_entry_get(s, "affinity", STORE_WATCH_IP, "203.0.113.60", 0, &e), 0);
	T_EQ_INT(e.gen, 1);
	struct store_watch_info info;
	T_EQ_INT(store_watch_get(s, "affinity", 0, &info), 0);
	uint64_t skipped = info.noise_skipped;
	/* the tenants are seen again today: not followed */
	for (int i = 0; i < 40; i++)
		batch[i] = a_rec(names[i], "203.0.113.60", T0 + d);
	batch[40] = sight(old_cert, "203.0.113.60", T0 + d, "sensor-b");
	/* the actor's names: one new with the certificate, one 3 days older */
	batch[41] = a_rec("login.actor.example", "203.0.113.60", T0 + 2 * d);
	T_EQ_INT(store_write(s, batch, 42, NULL, 0, NULL), 0);
	struct store_obs sis = a_rec("sister.actor.example", "203.0.113.60", T0 + d);
	T_EQ_INT(store_write(s, &sis, 1, NULL, 0, NULL), 0);
	for (int i = 0; i < 40; i++)
		T_EQ_INT(store_watch_entry_get(s, "affinity", STORE_WATCH_DOMAIN, names[i], 0, &e),
		         STORE_ENOTFOUND);
	T_EQ_INT(store_watch_entry_get(s, "affinity", STORE_WATCH_CERT, old_cert, 0, &e),
	         STORE_ENOTFOUND);
	T_EQ_INT(
	    store_watch_entry_get(s, "affinity", STORE_WATCH_DOMAIN, "login.actor.example", 0, &e),
	    0);
	T_EQ_INT(e.gen, 2);
	T_EQ_INT(
	    store_watch_entry_get(s, "affinity", STORE_WATCH_DOMAIN, "sister.actor.example", 0, &e),
	    0);
	T_EQ_INT(store_watch_get(s, "affinity", 0, &info), 0);
	T_EQ_INT(info.noise_skipped, skipped + 41);
	T_EQ_STR(info.last_skip, "4444444444444444444444444444444444444444: co-tenant: on "
	                         "203.0.113.60 since 2022-03-24, 600 days before the path arrived");
	T_EQ_INT(info.live, 4);
}

/* A SHA-256 the store can join to a SHA-1 is kept under the SHA-1. */
static void test_alias(store_t *s)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CERT;
	o.time_first = o.time_last = T0;
	o.count = 1;
	static struct store_cert_meta m;
	memset(&m, 0, sizeof(m));
	m.has_sha1 = m.has_sha256 = true;
	memset(m.sha1, 0x33, 20);
	memset(m.sha256, 0x44, 32);
	o.cert.meta = &m;
	o.cert.sighting = true;
	store_addr_parse("192.0.2.44", 10, o.cert.ip);
	o.cert.port = 443;
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "alias");
	T_EQ_INT(store_watch_put(s, &set, 0, NULL), 0);
	struct store_watch_item it =
	    item("4444444444444444444444444444444444444444444444444444444444444444", 0, "x", NULL);
	T_EQ_INT(it.type, STORE_WATCH_CERT);
	T_EQ_INT(store_watch_add(s, "alias", &it, 1, 0, NULL, NULL), 0);
	struct store_watch_entry e;
	T_EQ_INT(store_watch_entry_get(s, "alias", STORE_WATCH_CERT,
	                               "3333333333333333333333333333333333333333", 0, &e),
	         0);
	T_EQ_STR(e.indicator, "3333333333333333333333333333333333333333");
	int res = 0;
	T_EQ_INT(store_watch_remove(s, "alias", &it, 1, 0, &res, NULL), 0);
	T_EQ_INT(res, STORE_WATCH_REMOVED_OK);
}

static int count_lists(const struct store_watch_info *info, void *ctx)
{
	(*(unsigned *)ctx)++;
	return 0;
}

/* A database from before watchlists: the w* tables dropped. */
static void test_old_db(void)
{
	const char *dir = t_tmpdir();
	store_t *s = NULL;
	T_EQ_INT(store_open(&s, dir, 0, 0), 0);
	store_close(s);
	MDB_env *env;
	MDB_txn *txn;
	T_EQ_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	T_EQ_INT(mdb_env_open(env, dir, 0, 0640), 0);
	T_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
	const char *names[] = {"wlist", "wentry", "wver", "wtime", "wind"};
	for (int i = 0; i < 5; i++) {
		MDB_dbi dbi;
		T_EQ_INT(mdb_dbi_open(txn, names[i], 0, &dbi), 0);
		T_EQ_INT(mdb_drop(txn, dbi, 1), 0);
	}
	T_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	/* read-only: opens, no lists */
	T_EQ_INT(store_open(&s, dir, STORE_RDONLY, 0), 0);
	if (s != NULL) {
		unsigned n = 0;
		T_EQ_INT(store_watch_list(s, 0, count_lists, &n), 0);
		T_EQ_INT(n, 0);
		struct store_watch_info info;
		T_EQ_INT(store_watch_get(s, "x", 0, &info), STORE_ENOTFOUND);
		struct store_stats st;
		T_EQ_INT(store_stats(s, &st), 0);
		store_close(s);
	}
	/* writable: the tables come back */
	T_EQ_INT(store_open(&s, dir, 0, 0), 0);
	if (s != NULL) {
		struct store_watch_settings set;
		store_watch_settings_init(&set);
		snprintf(set.name, sizeof(set.name), "back");
		T_EQ_INT(store_watch_put(s, &set, 0, NULL), 0);
		store_close(s);
	}
}

int main(void)
{
	test_old_db();
	test_norm();
	store_t *s = NULL;
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, 0), 0);
	if (s == NULL)
		return t_done();
	test_model(s);
	test_standing(s);
	test_alias(s);
	test_cotenant(s);
	unsigned n = 0;
	T_EQ_INT(store_watch_list(s, 0, count_lists, &n), 0);
	T_EQ_INT(n, 5);
	store_close(s);
	return t_done();
}
