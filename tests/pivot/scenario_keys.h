/*
 * scenario_keys.h - a hunt over more than the certificate hash (issue 15),
 * written through store_write like scenario.h (whose helpers it uses).
 *
 * Cluster K: the seed certificate (label "k-cert-0") on 198.51.100.60:443
 * was re-issued twice (k-cert-1, k-cert-2: new hashes, the same key
 * KEY_ACTOR) and those moved to 198.51.100.61 and .62, which share nothing
 * else with the seed.  A fourth certificate shares the seed's odd subject
 * (spelled another way, with another key) on 198.51.100.63.  A noisy key sits in 40 certificates
 * (a hosting company's), one of them on 198.51.100.60:8443; 30
 * certificates share OpenSSL's default subject, one of them the noisy
 * key's.
 *
 * Cluster J: 203.0.113.70-75 answer with a rare JARM (JARM_RARE) on 443;
 * 203.0.113.70 also answers with the JARM of a stock TLS stack (JARM_COMMON)
 * on 8443, which 3000 other IPs (10.x) share; .71 has a JA3S that .76 shares.
 */
#ifndef INFRAPIVOT_TEST_SCENARIO_KEYS_H
#define INFRAPIVOT_TEST_SCENARIO_KEYS_H

#include "tests/pivot/scenario.h"

#define SK_JARM_RARE "2ad2ad0002ad2ad22c2ad2ad2ad2ad2d6c6a56f1ba1a6d3d71e0e6b1a3e5b1"
#define SK_JARM_COMMON "27d40d40d29d40d1dc42d43d00041d4689ee210389f4f6b4b5b1b93f92252d"
#define SK_JA3S "15af977ce25de452b96affa2addb1036"
#define SK_SUBJECT "CN=Totally Legit Server, O=Totally Legit Ltd"
/* OpenSSL's default subject: thousands of test certificates carry it */
#define SK_SUBJECT_COMMON "C=AU, ST=Some-State, O=Internet Widgits Pty Ltd"

static struct store_cert_meta sk_certs[3], sk_odd, sk_noisy[40], sk_local[29];

static inline void sk_key(const char *label, uint8_t out[32])
{
	scn_sha(label, 256, out);
}

static inline void sk_fp(struct scn *c, unsigned type, const char *hash, const char *ip,
                         unsigned port, int64_t tf, int64_t tl)
{
	struct store_obs *o = scn_next(c);
	o->kind = STORE_OBS_FP;
	o->time_first = tf;
	o->time_last = tl;
	o->count = 1;
	o->fp.fptype = (uint8_t)type;
	snprintf(o->fp.hash, sizeof(o->fp.hash), "%s", hash);
	o->fp.port = (uint16_t)port;
	if (store_addr_parse(ip, strlen(ip), o->fp.ip) != 0)
		c->err = STORE_EBADADDR;
}

static inline void sk_cluster_k(struct scn *c, int64_t now)
{
	const int64_t d = SCN_DAY;
	char label[32], ip[32];
	for (int i = 0; i < 3; i++) {
		snprintf(label, sizeof(label), "k-cert-%d", i);
		scn_meta(&sk_certs[i], label, SK_SUBJECT, "CN=Totally Legit CA", "0a", NULL,
		         now - 90 * d, now + 300 * d);
		sk_certs[i].has_key = true;
		sk_key("key-actor", sk_certs[i].key);
		snprintf(ip, sizeof(ip), "198.51.100.%d", 60 + i);
		scn_sight(c, &sk_certs[i], true, ip, 443, NULL, now - (30 - 10 * i) * d,
		          now - (21 - 10 * i) * d);
	}
	scn_meta(&sk_odd, "k-odd", "/O=totally legit ltd/CN=TOTALLY LEGIT  SERVER", "CN=Other CA",
	         "0b", NULL, now - 90 * d, now + 300 * d);
	sk_odd.has_key = true;
	sk_key("key-odd", sk_odd.key);
	scn_sight(c, &sk_odd, true, "198.51.100.63", 443, NULL, now - 5 * d, now - d);
	for (int i = 0; i < 40; i++) {
		snprintf(label, sizeof(label), "k-noisy-%d", i);
		scn_meta(&sk_noisy[i], label, i == 0 ? SK_SUBJECT_COMMON : "O=Hoster Inc",
		         "CN=Hoster CA", "01", NULL, now - 90 * d, now + 300 * d);
		sk_noisy[i].has_key = true;
		sk_key("key-noisy", sk_noisy[i].key);
		snprintf(ip, sizeof(ip), "100.64.%d.%d", i / 200, i % 200 + 1);
		scn_sight(c, &sk_noisy[i], true, i == 0 ? "198.51.100.60" : ip, i == 0 ? 8443 : 443,
		          NULL, now - 20 * d, now - 2 * d);
	}
	for (int i = 0; i < 29; i++) {
		snprintf(label, sizeof(label), "k-local-%d", i);
		scn_meta(&sk_local[i], label, SK_SUBJECT_COMMON, SK_SUBJECT_COMMON, "01", NULL,
		         now - 90 * d, now + 300 * d);
		snprintf(ip, sizeof(ip), "100.65.0.%d", i + 1);
		scn_sight(c, &sk_local[i], true, ip, 443, NULL, now - 20 * d, now - 2 * d);
	}
}

static inline void sk_cluster_j(struct scn *c, int64_t now)
{
	const int64_t d = SCN_DAY;
	char ip[32];
	for (int i = 0; i < 6; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 70 + i);
		sk_fp(c, STORE_FP_JARM, SK_JARM_RARE, ip, 443, now - 20 * d, now - (i + 1) * d);
	}
	sk_fp(c, STORE_FP_JARM, SK_JARM_COMMON, "203.0.113.70", 8443, now - 20 * d, now - d);
	for (int i = 0; i < 3000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		sk_fp(c, STORE_FP_JARM, SK_JARM_COMMON, ip, 443, now - 20 * d, now - d);
	}
	sk_fp(c, STORE_FP_JA3S, SK_JA3S, "203.0.113.71", 443, now - 9 * d, now - 8 * d);
	sk_fp(c, STORE_FP_JA3S, SK_JA3S, "203.0.113.76", 443, now - 9 * d, now - 8 * d);
}

static inline int sk_build(const char *dir)
{
	struct scn c = {.cap = 1024};
	int err = store_open(&c.s, dir, STORE_NOSYNC, 0);
	if (err != 0)
		return err;
	c.obs = calloc(c.cap, sizeof(*c.obs));
	if (c.obs == NULL) {
		store_close(c.s);
		return -12;
	}
	sk_cluster_k(&c, SCN_NOW);
	sk_cluster_j(&c, SCN_NOW);
	scn_flush(&c);
	free(c.obs);
	store_close(c.s);
	return c.err;
}

#endif
