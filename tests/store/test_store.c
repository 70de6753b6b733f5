/*
 * test_store.c - the store on a real LMDB in a temporary directory:
 * merge semantics, indexes, wildcard and CIDR walks, fences, prevalence
 * counters, SHA-256 -> SHA-1 joining, map growth, schema versions and
 * all-or-nothing batches.
 */
#include <errno.h>
#include <lmdb.h>
#include <math.h>

#include "store/client.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "tests/testutil.h"
#include "util/hex.h"

static struct store_obs dns(const char *name, const char *type, const char *rdata, int64_t tf,
                            int64_t tl, uint64_t count, const char *sensor)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_DNS;
	o.time_first = tf;
	o.time_last = tl;
	o.count = count;
	snprintf(o.sensor, sizeof(o.sensor), "%s", sensor ? sensor : "");
	store_name_norm(name, strlen(name), o.dns.rrname, false);
	store_rrtype_parse(type, strlen(type), &o.dns.rrtype);
	if (o.dns.rrtype == STORE_RR_A || o.dns.rrtype == STORE_RR_AAAA)
		store_addr_parse(rdata, strlen(rdata), o.dns.addr);
	else
		store_rdata_norm(o.dns.rrtype, rdata, strlen(rdata), o.dns.rdata);
	return o;
}

static struct store_cert_meta metas[64];
static unsigned nmetas;

static struct store_obs sight(const char *hash, const char *ip, uint16_t port, int64_t tf,
                              int64_t tl, const char *sni)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CERT;
	o.time_first = tf;
	o.time_last = tl;
	o.count = 1;
	/* a ring: the batch copies the metadata when the observation is added */
	struct store_cert_meta *m = &metas[nmetas++ % 64];
	memset(m, 0, sizeof(*m));
	uint8_t h[32];
	size_t hl = 0;
	store_hash_parse(hash, strlen(hash), h, &hl);
	if (hl == 20) {
		m->has_sha1 = true;
		memcpy(m->sha1, h, 20);
	} else {
		m->has_sha256 = true;
		memcpy(m->sha256, h, 32);
	}
	o.cert.meta = m;
	if (ip != NULL) {
		o.cert.sighting = true;
		store_addr_parse(ip, strlen(ip), o.cert.ip);
		o.cert.port = port;
	}
	if (sni != NULL) /* observations arrive normalised */
		store_name_norm(sni, strlen(sni), o.cert.sni, false);
	return o;
}

struct collect {
	unsigned n;
	char names[64][STORE_NAME_BUF];
	char rdata[64][STORE_RDATA_MAX];
	int64_t tf[64], tl[64];
	uint64_t count[64];
	unsigned nsens[64], more[64];
	char sensor0[64][STORE_SENSOR_MAX];
};

static int collect_rr(const struct store_rr *rr, void *ctx)
{
	struct collect *c = ctx;
	if (c->n < 64) {
		snprintf(c->names[c->n], STORE_NAME_BUF, "%s", rr->rrname);
		snprintf(c->rdata[c->n], STORE_RDATA_MAX, "%s", rr->rdata);
		c->tf[c->n] = rr->time_first;
		c->tl[c->n] = rr->time_last;
		c->count[c->n] = rr->count;
		c->nsens[c->n] = rr->nsensors;
		c->more[c->n] = rr->sensors_more;
		snprintf(c->sensor0[c->n], STORE_SENSOR_MAX, "%s",
		         rr->nsensors ? rr->sensors[0] : "");
	}
	c->n++;
	return 0;
}

static int collect_sight(const struct store_sighting *s, void *ctx)
{
	struct collect *c = ctx;
	if (c->n < 64) {
		store_addr_format(s->ip, c->names[c->n]);
		c->count[c->n] = s->count;
		c->tf[c->n] = s->time_first;
		c->tl[c->n] = s->time_last;
		snprintf(c->rdata[c->n], STORE_RDATA_MAX, "%u:%s", s->port,
		         s->nsni ? s->sni[0] : "");
	}
	c->n++;
	return 0;
}

static store_t *open_new(size_t mapsize)
{
	store_t *s = NULL;
	int err = store_open(&s, t_tmpdir(), 0, mapsize);
	T_EQ_INT(err, 0);
	if (s == NULL)
		exit(1);
	return s;
}

static void test_merge(void)
{
	store_t *s = open_new(0);
	struct store_obs o[3] = {
	    dns("www.example.com", "A", "192.0.2.1", 1000, 2000, 3, "s1"),
	    dns("WWW.EXAMPLE.COM.", "A", "192.0.2.1", 500, 1500, 2, "s2"),
	    dns("www.example.com", "A", "192.0.2.1", 1200, 3000, 1, "s1"),
	};
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write(s, o, 3, NULL, 0, &ws), 0);
	T_EQ_INT(ws.dns_new, 1);
	T_EQ_INT(ws.dns_merged, 2);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};
	T_EQ_INT(store_rr_by_name(r, "www.example.com", 0, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.tf[0], 500);
	T_EQ_INT(c.tl[0], 3000);
	T_EQ_INT(c.count[0], 6);
	T_EQ_INT(c.nsens[0], 2);
	T_EQ_STR(c.names[0], "www.example.com");
	T_EQ_STR(c.rdata[0], "192.0.2.1");
	store_read_end(r);

	/* 20 sensors: 16 kept, 4 more */
	struct store_obs many[20];
	for (int i = 0; i < 20; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "sensor-%02d", i);
		many[i] = dns("busy.example.com", "A", "192.0.2.9", 1, 2, 1, sid);
	}
	T_EQ_INT(store_write(s, many, 20, NULL, 0, NULL), 0);
	T_EQ_INT(store_read_begin(s, &r), 0);
	memset(&c, 0, sizeof(c));
	store_rr_by_name(r, "busy.example.com", STORE_RR_A, NULL, collect_rr, &c);
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.nsens[0], 16);
	T_EQ_INT(c.more[0], 4);
	T_EQ_INT(c.count[0], 20);
	T_EQ_STR(c.sensor0[0], "sensor-00");
	store_read_end(r);
	store_close(s);
}

static void test_indexes(void)
{
	store_t *s = open_new(0);
	struct store_obs o[] = {
	    dns("example.com", "A", "192.0.2.1", 100, 200, 1, NULL),
	    dns("www.example.com", "A", "192.0.2.1", 100, 200, 1, NULL),
	    dns("mail.example.com", "A", "192.0.2.200", 100, 200, 1, NULL),
	    dns("deep.sub.example.com", "AAAA", "2001:db8::5", 100, 200, 1, NULL),
	    dns("badexample.com", "A", "192.0.3.1", 100, 200, 1, NULL),
	    dns("example.com.evil.net", "A", "198.51.100.1", 100, 200, 1, NULL),
	    dns("alias.example.net", "CNAME", "www.example.com", 100, 200, 1, NULL),
	    dns("example.org", "MX", "10 mail.example.com", 100, 200, 1, NULL),
	    dns("old.example.com", "A", "192.0.2.2", 10, 20, 1, NULL),
	};
	size_t n = sizeof(o) / sizeof(o[0]);
	T_EQ_INT(store_write(s, o, n, NULL, 0, NULL), 0);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};

	/* wildcard: names under example.com, not the apex, not lookalikes */
	T_EQ_INT(store_rr_by_name(r, "*.example.com", 0, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 4);
	bool apex = false, lookalike = false;
	for (unsigned i = 0; i < c.n && i < 64; i++) {
		apex |= strcmp(c.names[i], "example.com") == 0;
		lookalike |= strcmp(c.names[i], "badexample.com") == 0;
	}
	T_CHECK(!apex);
	T_CHECK(!lookalike);
	/* ... of one type: the AAAA only (the wildcard walk took every type) */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_rr_by_name(r, "*.example.com", STORE_RR_AAAA, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.names[0], "deep.sub.example.com");

	/* address index */
	memset(&c, 0, sizeof(c));
	uint8_t a[16];
	unsigned plen;
	store_prefix_parse("192.0.2.1", 9, a, &plen);
	T_EQ_INT(store_rr_by_addr(r, a, plen, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 2);
	/* CIDR /24 */
	memset(&c, 0, sizeof(c));
	store_prefix_parse("192.0.2.0/24", 12, a, &plen);
	T_EQ_INT(store_rr_by_addr(r, a, plen, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 4); /* .1 twice, .200, .2 ; not 192.0.3.1 */
	/* IPv6 /48 */
	memset(&c, 0, sizeof(c));
	store_prefix_parse("2001:db8::/48", 13, a, &plen);
	T_EQ_INT(store_rr_by_addr(r, a, plen, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.names[0], "deep.sub.example.com");
	T_EQ_STR(c.rdata[0], "2001:db8::5");

	/* target index: CNAME and MX */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_rr_by_target(r, "www.example.com", NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.names[0], "alias.example.net");
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_rr_by_target(r, "mail.example.com", NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.rdata[0], "10 mail.example.com");

	/* fences */
	struct store_fence f;
	store_fence_init(&f);
	f.last_after = 100;
	memset(&c, 0, sizeof(c));
	store_prefix_parse("192.0.2.0/24", 12, a, &plen);
	store_rr_by_addr(r, a, plen, &f, collect_rr, &c);
	T_EQ_INT(c.n, 3); /* old.example.com (last 20) fenced out */
	store_fence_init(&f);
	f.until = 50;
	memset(&c, 0, sizeof(c));
	store_rr_by_addr(r, a, plen, &f, collect_rr, &c);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.names[0], "old.example.com");

	/* prevalence */
	uint64_t cnt;
	store_prefix_parse("192.0.2.1", 9, a, &plen);
	T_EQ_INT(store_prev_ip_names(r, a, &cnt), 0);
	T_EQ_INT(cnt, 2);
	store_read_end(r);

	/* the same resolutions again do not bump the counters */
	T_EQ_INT(store_write(s, o, n, NULL, 0, NULL), 0);
	struct store_obs more[] = {
	    dns("www.example.com", "A", "192.0.2.77", 100, 200, 1, NULL),
	    dns("www.example.com", "AAAA", "2001:db8::77", 100, 200, 1, NULL),
	};
	T_EQ_INT(store_write(s, more, 2, NULL, 0, NULL), 0);
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(store_prev_name_ips(r, "www.example.com", &cnt), 0);
	T_EQ_INT(cnt, 3);
	store_prefix_parse("192.0.2.1", 9, a, &plen);
	T_EQ_INT(store_prev_ip_names(r, a, &cnt), 0);
	T_EQ_INT(cnt, 2);
	T_EQ_INT(store_prev_name_ips(r, "nothing.example", &cnt), 0);
	T_EQ_INT(cnt, 0);
	T_EQ_INT(store_prev_name_ips(r, "mail.example.com", &cnt), 0); /* one: no counter */
	T_EQ_INT(cnt, 1);
	T_EQ_INT(store_prev_name_ips(r, "alias.example.net", &cnt), 0); /* CNAME only */
	T_EQ_INT(cnt, 0);
	store_read_end(r);

	/* an A record keeps 4 octets, an AAAA 16: an address that does not
	 * fit its type is refused, and nothing of the batch lands */
	struct store_obs bad[] = {
	    dns("v4.example.com", "A", "192.0.2.50", 100, 200, 1, NULL),
	    dns("v6.example.com", "A", "2001:db8::50", 100, 200, 1, NULL),
	};
	T_EQ_INT(store_write(s, bad, 2, NULL, 0, NULL), STORE_EBADADDR);
	bad[1] = dns("v6.example.com", "AAAA", "::ffff:192.0.2.50", 100, 200, 1, NULL);
	T_EQ_INT(store_write(s, bad, 2, NULL, 0, NULL), STORE_EBADADDR);
	T_EQ_INT(store_read_begin(s, &r), 0);
	memset(&c, 0, sizeof(c));
	store_prefix_parse("192.0.2.50", 10, a, &plen);
	T_EQ_INT(store_rr_by_addr(r, a, plen, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 0);
	/* both families of one name come back by name, with their types */
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_rr_by_name(r, "www.example.com", STORE_RR_A, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 2);
	T_EQ_STR(c.rdata[0], "192.0.2.1");
	T_EQ_STR(c.rdata[1], "192.0.2.77");
	memset(&c, 0, sizeof(c));
	T_EQ_INT(store_rr_by_name(r, "www.example.com", STORE_RR_AAAA, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.rdata[0], "2001:db8::77");
	store_read_end(r);
	store_close(s);
}

static void test_certs_and_join(void)
{
	store_t *s = open_new(0);
	const char *sha1 = "82437e7830614e2500679d121590d25381de1dac";
	const char *sha256 = "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244";
	nmetas = 0;
	struct store_obs o[] = {
	    /* Zeek 4.2+: only the SHA-256, on two IPs */
	    sight(sha256, "74.125.224.79", 443, 1000, 2000, "ssl.gstatic.com"),
	    sight(sha256, "74.125.224.80", 443, 1100, 2100, NULL),
	    /* Suricata: the SHA-1 on one of them and on another port */
	    sight(sha1, "74.125.224.79", 443, 900, 1500, "ssl.gstatic.com."),
	    sight(sha1, "74.125.224.79", 8443, 900, 1500, NULL),
	};
	T_EQ_INT(store_write(s, o, 4, NULL, 0, NULL), 0);
	store_rtxn_t *r;
	uint8_t h[32];
	size_t hl;
	struct store_cert_ref ref;
	uint64_t cnt;
	T_EQ_INT(store_read_begin(s, &r), 0);
	store_hash_parse(sha256, 64, h, &hl);
	T_EQ_INT(store_cert_resolve(r, h, hl, &ref), 0);
	T_EQ_INT(ref.kind, 2); /* not joined yet */
	store_prev_cert_ips(r, &ref, &cnt);
	T_EQ_INT(cnt, 2);
	store_hash_parse(sha1, 40, h, &hl);
	T_EQ_INT(store_cert_resolve(r, h, hl, &ref), 0);
	store_prev_cert_ips(r, &ref, &cnt);
	T_EQ_INT(cnt, 1); /* two ports, one IP */
	store_read_end(r);

	/* a source with both hashes joins them */
	struct store_obs both = sight(sha1, NULL, 0, 0, 0, NULL);
	both.cert.meta->has_sha256 = true;
	store_hash_parse(sha256, 64, both.cert.meta->sha256, &hl);
	both.cert.has_meta = true;
	snprintf(both.cert.meta->subject, sizeof(both.cert.meta->subject),
	         "CN=*.gstatic.com, O=Google Inc, L=Mountain View, ST=California, C=US");
	memcpy(both.cert.meta->san_dns, "*.gstatic.com\0gstatic.com\0", 26);
	both.cert.meta->san_dns_len = 26;
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write(s, &both, 1, NULL, 0, &ws), 0);
	T_EQ_INT(ws.certs_joined, 1);

	T_EQ_INT(store_read_begin(s, &r), 0);
	store_hash_parse(sha256, 64, h, &hl);
	T_EQ_INT(store_cert_resolve(r, h, hl, &ref), 0);
	T_EQ_INT(ref.kind, 1);
	char hex[65];
	util_hex_encode(ref.hash, 20, hex);
	T_EQ_STR(hex, sha1);
	struct collect c = {0};
	T_EQ_INT(store_sight_by_cert(r, &ref, NULL, collect_sight, &c), 0);
	T_EQ_INT(c.n, 3); /* .79:443 merged, .79:8443, .80:443 */
	for (unsigned i = 0; i < c.n; i++) {
		if (strcmp(c.names[i], "74.125.224.79") == 0 &&
		    strncmp(c.rdata[i], "443:", 4) == 0) {
			T_EQ_INT(c.count[i], 2);
			T_EQ_INT(c.tf[i], 900);
			T_EQ_INT(c.tl[i], 2000);
			T_EQ_STR(c.rdata[i], "443:ssl.gstatic.com");
		}
	}
	T_EQ_INT(store_prev_cert_ips(r, &ref, &cnt), 0);
	T_EQ_INT(cnt, 2);
	/* the ip index points at the SHA-1 now */
	memset(&c, 0, sizeof(c));
	uint8_t a[16];
	unsigned plen;
	store_prefix_parse("74.125.224.80", 13, a, &plen);
	T_EQ_INT(store_sight_by_addr(r, a, plen, NULL, collect_sight, &c), 0);
	T_EQ_INT(c.n, 1);
	struct store_cert_info ci;
	T_EQ_INT(store_cert_get(r, &ref, &ci), 0);
	T_CHECK(ci.has_sha1 && ci.has_sha256 && ci.has_meta);
	store_read_end(r);
	store_close(s);
}

static int count_nc(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	unsigned *k = ctx;
	k[kind == STORE_NC_SAN ? 0 : 1]++;
	(void)ref;
	return 0;
}

static void test_name_cert_index(void)
{
	store_t *s = open_new(0);
	nmetas = 0;
	struct store_obs o = sight("e2fb0771ee6fc0d0e324bc863c02b57921257c86", "74.125.239.97", 443,
	                           1, 2, "www.google.com");
	o.cert.has_meta = true;
	snprintf(o.cert.meta->subject, sizeof(o.cert.meta->subject),
	         "CN=*.google.com, O=Google Inc");
	memcpy(o.cert.meta->san_dns, "*.google.com\0www.google.com\0", 28);
	o.cert.meta->san_dns_len = 28;
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	unsigned k[2] = {0, 0};
	T_EQ_INT(store_certs_by_name(r, "www.google.com", count_nc, k), 0);
	T_EQ_INT(k[0], 1); /* SAN */
	T_EQ_INT(k[1], 1); /* SNI */
	k[0] = k[1] = 0;
	T_EQ_INT(store_certs_by_name(r, "*.google.com", count_nc, k), 0);
	T_EQ_INT(k[0], 1); /* from the SAN list and the CN: one entry */
	store_read_end(r);
	store_close(s);
}

static void test_map_growth(void)
{
	/* a tiny map must grow, batch by batch, without losing anything */
	store_t *s = open_new(64 * 1024);
	static struct store_obs o[2000];
	for (int i = 0; i < 2000; i++) {
		char name[64], ip[32];
		snprintf(name, sizeof(name), "host%04d.growth.example", i);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		o[i] = dns(name, "A", ip, i, i + 10, 1, "grow");
	}
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write(s, o, 2000, NULL, 0, &ws), 0);
	T_CHECK(ws.retries > 0);
	T_EQ_INT(ws.dns_new, 2000);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};
	store_rr_by_name(r, "*.growth.example", 0, NULL, collect_rr, &c);
	T_EQ_INT(c.n, 2000);
	store_read_end(r);
	struct store_stats st;
	T_EQ_INT(store_stats(s, &st), 0);
	T_EQ_INT(st.resolutions, 2000);
	T_EQ_INT(st.addr_index, 2000);
	T_EQ_INT(st.sensors, 1);
	T_CHECK(st.map_bytes > 64 * 1024);
	store_close(s);
}

static void test_batch_atomic(void)
{
	store_t *s = open_new(0);
	struct store_obs o[2] = {
	    dns("good.example", "A", "192.0.2.1", 1, 2, 1, NULL),
	    dns("good2.example", "A", "192.0.2.2", 1, 2, 1, NULL),
	};
	o[1].dns.rrname[0] = '\0'; /* invalid: the whole batch must fail */
	T_CHECK(store_write(s, o, 2, NULL, 0, NULL) != 0);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};
	store_rr_by_name(r, "good.example", 0, NULL, collect_rr, &c);
	T_EQ_INT(c.n, 0);
	store_read_end(r);
	/* meta records ride with a batch */
	struct store_meta_put mp = {"Ktest", 5, "12345", 5};
	T_EQ_INT(store_write(s, o, 1, &mp, 1, NULL), 0);
	char buf[16];
	size_t bl = 0;
	T_EQ_INT(store_meta_get(s, "Ktest", 5, buf, sizeof(buf), &bl), 0);
	T_EQ_INT(bl, 5);
	T_CHECK(memcmp(buf, "12345", 5) == 0);
	T_EQ_INT(store_meta_get(s, "Knone", 5, buf, sizeof(buf), &bl), STORE_ENOTFOUND);
	store_close(s);
}

static int refuse_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	(void)w;
	(void)ctx;
	return strcmp(o->dns.rrname, "refused.example") == 0 ? -EPERM : 0;
}

/* Several batches in one transaction merge in order: the first sensors
 * kept are those of the first batch, and a later meta record wins. */
static void test_write_batches(void)
{
	store_t *s = open_new(0);
	store_batch_t *b[3];
	for (int i = 0; i < 3; i++)
		T_EQ_INT(store_batch_new(&b[i]), 0);
	for (int i = 0; i < 30; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "s%02d", i);
		struct store_obs o =
		    dns("multi.example", "A", "192.0.2.3", 100 + i, 200 + i, 1, sid);
		T_EQ_INT(store_batch_add(b[i / 10], &o), 0);
	}
	struct store_meta_put m1 = {"Kpos", 4, "one", 3}, m2 = {"Kpos", 4, "three", 5};
	T_EQ_INT(store_batch_meta(b[0], &m1), 0);
	T_EQ_INT(store_batch_meta(b[2], &m2), 0);
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write_batches(s, b, 3, &ws), 0);
	T_EQ_INT(ws.dns_new, 1);
	T_EQ_INT(ws.dns_merged, 29);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};
	T_EQ_INT(store_rr_by_name(r, "multi.example", 0, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.count[0], 30);
	T_EQ_INT(c.tf[0], 100);
	T_EQ_INT(c.tl[0], 229);
	T_EQ_INT(c.nsens[0], 16);
	T_EQ_INT(c.more[0], 14);
	T_EQ_STR(c.sensor0[0], "s00");
	store_read_end(r);
	char buf[16];
	size_t bl = 0;
	T_EQ_INT(store_meta_get(s, "Kpos", 4, buf, sizeof(buf), &bl), 0);
	T_EQ_INT(bl, 5);
	T_CHECK(memcmp(buf, "three", 5) == 0);
	/* a batch that fails while it is merged: none of them lands */
	struct store_obs ok = dns("late.example", "A", "192.0.2.4", 1, 2, 1, NULL);
	struct store_obs bad = dns("refused.example", "A", "192.0.2.5", 1, 2, 1, NULL);
	for (int i = 0; i < 3; i++)
		store_batch_reset(b[i]);
	T_EQ_INT(store_batch_add(b[0], &ok), 0);
	T_EQ_INT(store_batch_add(b[1], &bad), 0);
	store_set_write_hook(s, refuse_hook, NULL);
	T_EQ_INT(store_write_batches(s, b, 2, NULL), -EPERM);
	T_EQ_INT(store_read_begin(s, &r), 0);
	memset(&c, 0, sizeof(c));
	store_rr_by_name(r, "late.example", 0, NULL, collect_rr, &c);
	T_EQ_INT(c.n, 0);
	store_read_end(r);
	for (int i = 0; i < 3; i++)
		store_batch_free(b[i]);
	store_close(s);
}

/* The merge table (store/merge.c): repeats from one sensor become one
 * record as they are absorbed, and its commit equals a commit of the
 * absorbed batches; a sensor table it cannot take is refused before
 * anything is absorbed; client sightings are not absorbable. */
static void test_absorb(void)
{
	store_t *s = open_new(0);
	store_batch_t *acc, *b;
	T_EQ_INT(store_batch_new(&acc), 0);
	T_EQ_INT(store_batch_new(&b), 0);
	for (int i = 0; i < 40; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "s%d", i % 3);
		struct store_obs o = dns("hot.example", "A", "192.0.2.9", 500 - i, 600 + i, 2, sid);
		T_EQ_INT(store_batch_add(b, &o), 0);
		if (i % 10 == 9) {
			T_EQ_INT(store_batch_absorb(acc, b), 0);
			store_batch_reset(b);
		}
	}
	struct store_obs cold = dns("cold.example", "A", "192.0.2.10", 7, 8, 1, "s1");
	T_EQ_INT(store_batch_add(b, &cold), 0);
	struct store_meta_put m = {"Kpos", 4, "four", 4};
	T_EQ_INT(store_batch_meta(b, &m), 0);
	T_EQ_INT(store_batch_absorb(acc, b), 0);
	/* one record per (key, sensor): 3 of hot.example, 1 of cold.example */
	T_EQ_INT(store_batch_len(acc), 4);
	T_CHECK(store_batch_bytes(acc) > 0);
	struct store_write_stats ws = {0};
	T_EQ_INT(store_write_batch(s, acc, &ws), 0);
	T_EQ_INT(ws.dns_new, 2);
	T_EQ_INT(ws.dns_merged, 39); /* 36 in memory, 3 at commit */
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	struct collect c = {0};
	T_EQ_INT(store_rr_by_name(r, "hot.example", 0, NULL, collect_rr, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.count[0], 80);
	T_EQ_INT(c.tf[0], 461);
	T_EQ_INT(c.tl[0], 639);
	T_EQ_INT(c.nsens[0], 3);
	T_EQ_STR(c.sensor0[0], "s0");
	store_read_end(r);
	char buf[8];
	size_t bl = 0;
	T_EQ_INT(store_meta_get(s, "Kpos", 4, buf, sizeof(buf), &bl), 0);
	T_EQ_INT(bl, 4);
	/* a full sensor table: refused whole, nothing absorbed */
	store_batch_reset(acc);
	store_batch_reset(b);
	for (int i = 0; i < 250; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "a%d", i);
		struct store_obs o = dns("many.example", "A", "192.0.2.11", 1, 2, 1, sid);
		T_EQ_INT(store_batch_add(acc, &o), 0);
	}
	for (int i = 0; i < 10; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "b%d", i);
		struct store_obs o = dns("more.example", "A", "192.0.2.12", 1, 2, 1, sid);
		T_EQ_INT(store_batch_add(b, &o), 0);
	}
	size_t before = store_batch_len(acc);
	T_EQ_INT(store_batch_absorb(acc, b), STORE_ELIMIT);
	T_EQ_INT(store_batch_len(acc), before);
	/* client sightings: not absorbable */
	store_batch_reset(b);
	struct store_obs cl = {
	    .kind = STORE_OBS_CLIENT, .time_first = 10, .time_last = 10, .count = 1};
	cl.client.dtype = STORE_DEST_DOMAIN;
	snprintf(cl.client.name, sizeof(cl.client.name), "c2.example");
	store_addr_parse("10.0.0.1", 8, cl.client.client);
	cl.client.src = STORE_CSRC_DNS;
	T_EQ_INT(store_batch_add(b, &cl), 0);
	T_CHECK(!store_batch_absorbable(b));
	T_EQ_INT(store_batch_absorb(acc, b), STORE_EBADTYPE);
	store_batch_free(acc);
	store_batch_free(b);
	store_close(s);
}

/* Every entry of every table of two stores, compared: the count of
 * tables that differ (0: byte for byte the same). */
static int tables_differ(store_t *a, store_t *b)
{
	MDB_txn *ta, *tb;
	T_EQ_INT(mdb_txn_begin(a->env, NULL, MDB_RDONLY, &ta), 0);
	T_EQ_INT(mdb_txn_begin(b->env, NULL, MDB_RDONLY, &tb), 0);
	int differ = 0;
	for (int db = 0; db < DB_COUNT; db++) {
		MDB_cursor *ca, *cb;
		T_EQ_INT(mdb_cursor_open(ta, a->dbi[db], &ca), 0);
		T_EQ_INT(mdb_cursor_open(tb, b->dbi[db], &cb), 0);
		MDB_val ka, va, kb, vb;
		int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
		int rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
		bool same = true;
		for (; ra == 0 && rb == 0 && same;) {
			same = ka.mv_size == kb.mv_size && va.mv_size == vb.mv_size &&
			       memcmp(ka.mv_data, kb.mv_data, ka.mv_size) == 0 &&
			       memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0;
			ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
			rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
		}
		if (!same || ra != rb) {
			fprintf(stderr, "table %d differs\n", db);
			differ++;
		}
		mdb_cursor_close(ca);
		mdb_cursor_close(cb);
	}
	mdb_txn_abort(ta);
	mdb_txn_abort(tb);
	return differ;
}

/* A merge table of n observations: names in random order, repeats from
 * several sensors, CNAME and MX records (target index), names with many
 * addresses (prevalence counter), bailiwicks, certificate sightings. */
static void sliced_table(store_batch_t *acc, int n, unsigned seed)
{
	store_batch_t *b;
	T_EQ_INT(store_batch_new(&b), 0);
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % 3000, v = (seed >> 4) % 7;
		char name[64], rd[64], sid[16];
		snprintf(sid, sizeof(sid), "s%u", v % 4);
		struct store_obs o;
		if (v == 0) {
			snprintf(name, sizeof(name), "c%u.zone%u.example", k, k % 5);
			snprintf(rd, sizeof(rd), "t%u.target.example", k % 300);
			o = dns(name, "CNAME", rd, 1000 + i, 2000 + i, 1, sid);
		} else if (v == 1) {
			snprintf(name, sizeof(name), "zone%u.example", k % 50);
			snprintf(rd, sizeof(rd), "10 mx%u.example", k % 20);
			o = dns(name, "MX", rd, 1000 + i, 2000 + i, 2, sid);
		} else if (v == 2) {
			char hash[41];
			snprintf(hash, sizeof(hash), "%040x", k % 61);
			snprintf(rd, sizeof(rd), "198.51.100.%u", k % 200 + 1);
			o = sight(hash, rd, 443, 1000 + i, 2000 + i, "s.certs.example");
		} else {
			snprintf(name, sizeof(name), "h%u.zone%u.example", k % 900, k % 5);
			snprintf(rd, sizeof(rd), "10.%u.%u.%u", k % 250, v, (k * 7) % 250);
			o = dns(name, "A", rd, 5000 - i, 6000 + i, 1 + v, sid);
			if (k % 11 == 0)
				store_name_norm("zone1.example", 13, o.dns.bailiwick, false);
		}
		T_EQ_INT(store_batch_add(b, &o), 0);
		if (i % 997 == 996 || i == n - 1) {
			T_EQ_INT(store_batch_absorb(acc, b), 0);
			store_batch_reset(b);
		}
	}
	store_batch_free(b);
}

/* Refuse the at-th record the hook sees (counting from 1). */
struct refuse_at {
	unsigned at, seen;
};

static int refuse_at_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	(void)w;
	(void)o;
	struct refuse_at *r = ctx;
	return ++r->seen == r->at ? -EPERM : 0;
}

static int count_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	(void)w;
	(void)o;
	(*(unsigned *)ctx)++;
	return 0;
}

/* The merge table written in key-range slices (store_write_sliced): with
 * room for one slice it is one commit, with room for a few pages many;
 * either way every table equals the one-transaction write of the same
 * table, on an empty store and on one that holds an earlier table; every
 * record's hook runs once.  A slice that fails stops the write there: the
 * slices before it stay, the failing one is not committed. */
static void test_sliced(void)
{
	store_t *one = open_new(0), *many = open_new(0), *big = open_new(0);
	store_batch_t *acc;
	T_EQ_INT(store_batch_new(&acc), 0);
	unsigned hooks_one = 0, hooks_many = 0;
	store_set_write_hook(one, count_hook, &hooks_one);
	store_set_write_hook(many, count_hook, &hooks_many);
	for (unsigned round = 0; round < 2; round++) {
		sliced_table(acc, 20000, 7 + round);
		size_t recs = store_batch_len(acc);
		struct store_write_stats w1 = {0}, w2 = {0}, w3 = {0};
		T_EQ_INT(store_write_batch(one, acc, &w1), 0);
		uint64_t c2 = 0, c3 = 0;
		T_EQ_INT(store_write_sliced(many, acc, 64 * 4096, &w2, &c2), 0);
		T_EQ_INT(store_write_sliced(big, acc, (size_t)1 << 30, &w3, &c3), 0);
		fprintf(stderr, "sliced: %zu records, %llu commits\n", recs,
		        (unsigned long long)c2);
		T_CHECK(c2 > 20);
		T_EQ_INT(c3, 1);
		T_EQ_INT(w2.dns_new, w1.dns_new);
		T_EQ_INT(w2.dns_merged, w1.dns_merged);
		T_EQ_INT(w2.sight_new + w2.sight_merged, w1.sight_new + w1.sight_merged);
		T_EQ_INT(w3.dns_new, w1.dns_new);
		T_EQ_INT(hooks_many, hooks_one);
		T_CHECK(hooks_one >= recs);
		store_batch_reset(acc);
	}
	T_EQ_INT(tables_differ(one, many), 0);
	T_EQ_INT(tables_differ(one, big), 0);
	/* a hook that refuses a record of the third slice */
	store_t *part = open_new(0);
	sliced_table(acc, 5000, 99);
	struct refuse_at r = {.at = 0};
	uint64_t c = 0;
	store_set_write_hook(part, count_hook, &r.seen);
	T_EQ_INT(store_write_sliced(part, acc, 64 * 4096, NULL, &c), 0);
	r.at = r.seen / 2;
	r.seen = 0;
	store_t *fail = open_new(0);
	store_set_write_hook(fail, refuse_at_hook, &r);
	c = 0;
	T_EQ_INT(store_write_sliced(fail, acc, 64 * 4096, NULL, &c), -EPERM);
	T_CHECK(c > 0);
	store_rtxn_t *rt;
	T_EQ_INT(store_read_begin(fail, &rt), 0);
	MDB_stat ms;
	T_EQ_INT(mdb_stat(rt->txn, fail->dbi[DB_RR], &ms), 0);
	T_CHECK(ms.ms_entries > 0);
	T_CHECK(ms.ms_entries < store_batch_len(acc));
	store_read_end(rt);
	store_batch_free(acc);
	store_close(one);
	store_close(many);
	store_close(big);
	store_close(part);
	store_close(fail);
}

/* n certificate sightings of 500 certificates on random addresses (new
 * rows in trees that grow past a slice's budget), and a few DNS records. */
static void cert_table(store_batch_t *acc, int n, unsigned seed)
{
	store_batch_t *b;
	T_EQ_INT(store_batch_new(&b), 0);
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % 500, a = seed ^ (seed >> 13) * 2654435761u;
		char hash[41], ip[32], sni[64];
		snprintf(hash, sizeof(hash), "%040x", k + 1);
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24 & 127, a >> 16 & 255, a >> 8 & 255,
		         a & 255);
		snprintf(sni, sizeof(sni), "s%u.certs.example", k);
		struct store_obs o = i % 100 == 0 ? dns(sni, "A", ip, 1000 + i, 2000 + i, 1, "s1")
		                                  : sight(hash, ip, 443, 1000 + i, 2000 + i, sni);
		T_EQ_INT(store_batch_add(b, &o), 0);
		if (i % 997 == 996 || i == n - 1) {
			T_EQ_INT(store_batch_absorb(acc, b), 0);
			store_batch_reset(b);
		}
	}
	store_batch_free(b);
}

/* Certificates are sliced like DNS records: a table of 30,000 new
 * sightings over certificate trees many times a slice's budget is
 * written in many commits, each of which wrote about the budget
 * (measured: the bytes the commit passed to write(2)), and the tables
 * equal a one-transaction write.  With the certificates in the last
 * slice, that commit wrote ten times the budget. */
static void test_sliced_certs(void)
{
	/* no fsync: 2,000 commits */
	store_t *one = NULL, *many = NULL;
	T_EQ_INT(store_open(&one, t_tmpdir(), STORE_NOSYNC, 0), 0);
	T_EQ_INT(store_open(&many, t_tmpdir(), STORE_NOSYNC, 0), 0);
	if (one == NULL || many == NULL)
		exit(1);
	store_batch_t *acc;
	T_EQ_INT(store_batch_new(&acc), 0);
	unsigned hooks_one = 0, hooks_many = 0;
	store_set_write_hook(one, count_hook, &hooks_one);
	store_set_write_hook(many, count_hook, &hooks_many);
	const size_t budget = 128 * 4096;
	for (unsigned round = 0; round < 3; round++) {
		cert_table(acc, 30000, 11 + round);
		struct store_write_stats w1 = {0}, w2 = {0};
		uint64_t c = 0;
		T_EQ_INT(store_write_batch(one, acc, &w1), 0);
		T_EQ_INT(store_write_sliced(many, acc, budget, &w2, &c), 0);
		fprintf(stderr,
		        "sliced certs: %llu commits, largest wrote %llu pages (budget %zu)\n",
		        (unsigned long long)c, (unsigned long long)w2.commit_bytes_max / 4096,
		        budget / 4096);
		T_EQ_INT(w2.sight_new, w1.sight_new);
		T_EQ_INT(w2.sight_merged, w1.sight_merged);
		T_EQ_INT(w2.dns_new, w1.dns_new);
		T_EQ_INT(hooks_many, hooks_one);
		T_CHECK(c > 10);
		T_CHECK(w2.commit_bytes_max > 0);
		T_CHECK(w2.commit_bytes_max <= budget * 3 / 2);
		store_batch_reset(acc);
	}
	T_EQ_INT(tables_differ(one, many), 0);
	store_batch_free(acc);
	store_close(one);
	store_close(many);
}

/* The transaction budget: everything while the tree is smaller than the
 * dirty-page budget, then what keeps the expected dirty pages at it. */
static void test_budget(void)
{
	T_EQ_INT(batch_budget_for_pages(0), BATCH_MAX_RECORDS);
	T_EQ_INT(batch_budget_for_pages((uint64_t)BATCH_MAX_DIRTY), BATCH_MAX_RECORDS);
	size_t prev = BATCH_MAX_RECORDS;
	for (uint64_t p = (uint64_t)BATCH_MAX_DIRTY + 1; p < 4000000; p = p * 5 / 4) {
		size_t n = batch_budget_for_pages(p);
		T_CHECK(n <= prev); /* a larger tree never takes a larger batch */
		T_CHECK(n >= (size_t)(BATCH_MAX_DIRTY / BATCH_PER_RECORD));
		double dirty = (double)p * (1 - exp(-BATCH_PER_RECORD * (double)n / (double)p));
		T_CHECK(dirty <= BATCH_MAX_DIRTY * 1.001);
		prev = n;
	}
	/* twice the budget: ln 2 of a sixth of the tree */
	size_t n2 = batch_budget_for_pages((uint64_t)(2 * BATCH_MAX_DIRTY));
	T_CHECK(n2 > 4700 && n2 < 4760);
}

static void test_schema_version(void)
{
	const char *dir = t_tmpdir();
	store_t *s;
	T_EQ_INT(store_open(&s, dir, 0, 0), 0);
	store_close(s);
	/* rewrite the version behind the store's back */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 32);
	T_EQ_INT(mdb_env_open(env, dir, 0, 0640), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", 0, &dbi);
	uint32_t v = 99;
	MDB_val k = {14, (void *)"schema_version"}, val = {4, &v};
	T_EQ_INT(mdb_put(txn, dbi, &k, &val, 0), 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	s = NULL;
	T_EQ_INT(store_open(&s, dir, 0, 0), STORE_EVERSION);
	T_CHECK(s == NULL);
	T_CHECK(strstr(store_last_error(), "version 99") != NULL);
	T_EQ_INT(store_open(&s, dir, STORE_RDONLY, 0), STORE_EVERSION);
	/* schema 1 (16-byte A rdata) came from earlier builds: say what to do */
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 32);
	T_EQ_INT(mdb_env_open(env, dir, 0, 0640), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", 0, &dbi);
	v = 1;
	T_EQ_INT(mdb_put(txn, dbi, &k, &val, 0), 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	T_EQ_INT(store_open(&s, dir, 0, 0), STORE_EVERSION);
	T_CHECK(strstr(store_last_error(), "version 1 ") != NULL);
	T_CHECK(strstr(store_last_error(), "ingest the data again") != NULL);
	/* a directory that holds no database, read-only */
	T_CHECK(store_open(&s, "/nonexistent/infrapivot", STORE_RDONLY, 0) != 0);
}

static void test_compact(void)
{
	store_t *s = open_new(0);
	struct store_obs o = dns("c.example", "A", "192.0.2.1", 1, 2, 1, NULL);
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	char out[300];
	snprintf(out, sizeof(out), "%s/copy", t_tmpdir());
	T_EQ_INT(store_compact(s, out), 0);
	T_EQ_INT(store_compact(s, out), STORE_EEXIST); /* never overwrite */
	store_close(s);
	store_t *c;
	T_EQ_INT(store_open(&c, out, STORE_RDONLY, 0), 0);
	struct store_stats st;
	store_stats(c, &st);
	T_EQ_INT(st.resolutions, 1);
	store_close(c);
}

int main(void)
{
	test_merge();
	test_indexes();
	test_certs_and_join();
	test_name_cert_index();
	test_map_growth();
	test_batch_atomic();
	test_write_batches();
	test_budget();
	test_absorb();
	test_sliced();
	test_sliced_certs();
	test_schema_version();
	test_compact();
	return t_done();
}
