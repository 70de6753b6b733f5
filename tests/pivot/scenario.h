/*
 * scenario.h - a database shaped like a real hunt, written through
 * store_write (shared by test_pivot.c and the mkscenario tool).
 *
 * The actor: login-verify.duckdns.org (a free-DNS name) resolves to
 * 198.51.100.10, which serves a self-signed certificate (CN = the seed).
 * The same certificate was served by five more IPs last week
 * (203.0.113.21-25); those host more actor names; one of them also
 * resolves to 203.0.113.40, which hosts a fifth-hop name, another to
 * 2001:db8::23.
 * portal.verify-id.online is a CNAME of the seed.  203.0.113.22:8443
 * serves a second actor certificate whose subject needs escaping.
 *
 * The noise: the seed also resolves to a shared-hosting IP with 5,000
 * unrelated names; the seed was seen as SNI on a CDN certificate served
 * by 300 IPs; 198.51.100.10:8443 serves a default "localhost"
 * certificate seen on 2,000 more IPs; the seed resolves to 192.0.2.90,
 * which hosted 150 names more than a year ago and 5 now; a year ago the seed resolved to
 * 192.0.2.200 (then hosting old-parking.example) and the actor
 * certificate was seen on 198.51.100.99.
 */
#ifndef INFRAPIVOT_TEST_SCENARIO_H
#define INFRAPIVOT_TEST_SCENARIO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "store/store.h"
#include "util/time.h"

#define SCN_DAY 86400
/* 2026-11-01T00:00:00Z, pinned so that age_days is stable */
#define SCN_NOW ((int64_t)util_days_from_civil(2026, 11, 1) * SCN_DAY)

struct scn {
	store_t *s;
	struct store_obs *obs;
	size_t n, cap;
	int err;
};

static inline void scn_sha(const char *label, int bits, uint8_t *out)
{
	unsigned l = 0;
	EVP_Digest(label, strlen(label), out, &l, bits == 1 ? EVP_sha1() : EVP_sha256(), NULL);
}

static inline void scn_flush(struct scn *c)
{
	if (c->n > 0 && c->err == 0)
		c->err = store_write(c->s, c->obs, c->n, NULL, 0, NULL);
	c->n = 0;
}

static inline struct store_obs *scn_next(struct scn *c)
{
	if (c->n == c->cap)
		scn_flush(c);
	struct store_obs *o = &c->obs[c->n++];
	memset(o, 0, sizeof(*o));
	return o;
}

static inline void scn_dns(struct scn *c, const char *name, const char *ip, int64_t tf, int64_t tl)
{
	struct store_obs *o = scn_next(c);
	o->kind = STORE_OBS_DNS;
	o->time_first = tf;
	o->time_last = tl;
	o->count = 3;
	snprintf(o->sensor, sizeof(o->sensor), "sensor-a");
	snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", name);
	o->dns.rrtype = strchr(ip, ':') ? STORE_RR_AAAA : STORE_RR_A;
	if (store_addr_parse(ip, strlen(ip), o->dns.addr) != 0)
		c->err = STORE_EBADADDR;
}

static inline void scn_cname(struct scn *c, const char *name, const char *target, int64_t tf,
                             int64_t tl)
{
	struct store_obs *o = scn_next(c);
	o->kind = STORE_OBS_DNS;
	o->time_first = tf;
	o->time_last = tl;
	o->count = 1;
	snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", name);
	o->dns.rrtype = STORE_RR_CNAME;
	snprintf(o->dns.rdata, sizeof(o->dns.rdata), "%s", target);
}

/* A certificate sighting; meta describes the certificate (kept by the
 * caller until scn_flush), with_meta says whether to store its metadata. */
static inline void scn_sight(struct scn *c, struct store_cert_meta *m, bool with_meta,
                             const char *ip, unsigned port, const char *sni, int64_t tf, int64_t tl)
{
	struct store_obs *o = scn_next(c);
	o->kind = STORE_OBS_CERT;
	o->time_first = tf;
	o->time_last = tl;
	o->count = 2;
	o->cert.sighting = true;
	o->cert.has_meta = with_meta;
	o->cert.port = (uint16_t)port;
	if (store_addr_parse(ip, strlen(ip), o->cert.ip) != 0)
		c->err = STORE_EBADADDR;
	if (sni != NULL)
		snprintf(o->cert.sni, sizeof(o->cert.sni), "%s", sni);
	o->cert.meta = m;
}

static inline void scn_meta(struct store_cert_meta *m, const char *label, const char *subject,
                            const char *issuer, const char *serial, const char *const *sans,
                            int64_t nb, int64_t na)
{
	memset(m, 0, sizeof(*m));
	m->has_sha1 = m->has_sha256 = true;
	scn_sha(label, 1, m->sha1);
	scn_sha(label, 256, m->sha256);
	snprintf(m->subject, sizeof(m->subject), "%s", subject);
	snprintf(m->issuer, sizeof(m->issuer), "%s", issuer);
	snprintf(m->serial, sizeof(m->serial), "%s", serial);
	for (size_t i = 0; sans != NULL && sans[i] != NULL; i++) {
		size_t l = strlen(sans[i]);
		if (m->san_dns_len + l + 1 > sizeof(m->san_dns))
			break;
		memcpy(m->san_dns + m->san_dns_len, sans[i], l + 1);
		m->san_dns_len += l + 1;
	}
	m->not_before = nb;
	m->not_after = na;
}

/* Open a scenario database in dir with room for cap observations a batch:
 * 0 or an error (nothing to undo then). */
static inline int scn_begin(struct scn *c, const char *dir, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	int err = store_open_url(&c->s, dir, STORE_NOSYNC, 0);
	if (err != 0)
		return err;
	c->obs = calloc(c->cap, sizeof(*c->obs));
	if (c->obs == NULL) {
		store_close(c->s);
		return -12;
	}
	return 0;
}

/* Write what is pending and close: the first error of the scenario. */
static inline int scn_end(struct scn *c)
{
	scn_flush(c);
	free(c->obs);
	store_close(c->s);
	return c->err;
}

/* Certificates, static so that observations can point at them. */
static struct store_cert_meta scn_actor, scn_actor2, scn_cdn, scn_localhost;

static inline int scn_build(const char *dir)
{
	const int64_t now = SCN_NOW, d = SCN_DAY;
	struct scn c = {.cap = 1024};
	int err = store_open_url(&c.s, dir, STORE_NOSYNC, 0);
	if (err != 0)
		return err;
	c.obs = calloc(c.cap, sizeof(*c.obs));
	if (c.obs == NULL) {
		store_close(c.s);
		return -12;
	}
	char name[128], ip[48];

	/* the actor */
	scn_dns(&c, "login-verify.duckdns.org", "198.51.100.10", now - 10 * d, now - 1 * d);
	scn_dns(&c, "unrelated-one.duckdns.org", "198.51.100.77", now - 20 * d, now - 2 * d);
	scn_dns(&c, "unrelated-two.duckdns.org", "198.51.100.78", now - 20 * d, now - 2 * d);
	scn_cname(&c, "portal.verify-id.online", "login-verify.duckdns.org", now - 6 * d,
	          now - 3 * d);
	scn_meta(&scn_actor, "actor-cert", "CN=login-verify.duckdns.org",
	         "CN=login-verify.duckdns.org", "1a2b3c", NULL, now - 60 * d, now + 305 * d);
	scn_sight(&c, &scn_actor, true, "198.51.100.10", 443, NULL, now - 10 * d, now - 1 * d);
	static const char *const actor_names[] = {
	    "account-check.example-actor.net", "secure-mail-login.top", "cdn-update-service.xyz",
	    "account-check.example-actor.net", "verify-id.online",
	};
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 21 + i);
		scn_sight(&c, &scn_actor, false, ip, 443, NULL, now - 7 * d, now - 2 * d);
		scn_dns(&c, actor_names[i], ip, now - 7 * d, now - 1 * d);
	}
	scn_dns(&c, "secure-mail-login.top", "203.0.113.40", now - 5 * d, now - 1 * d);
	scn_dns(&c, "cdn-update-service.xyz", "2001:db8::23", now - 5 * d, now - 1 * d);
	scn_dns(&c, "next-stage.example-actor.net", "203.0.113.40", now - 4 * d, now - 1 * d);
	static const char *const sans2[] = {"mail.secure-mail-login.top", NULL};
	scn_meta(&scn_actor2, "actor-cert-2",
	         "CN=evil \"quoted\" \\back\\slash & amp; <tag> \xff\xfe bad, O=\xc3\x9c"
	         "n\xc3\xaf"
	         "code",
	         "CN=evil \"quoted\" \\back\\slash & amp; <tag> \xff\xfe bad, O=\xc3\x9c"
	         "n\xc3\xaf"
	         "code",
	         "00:ff", sans2, now - 30 * d, now + 30 * d);
	scn_sight(&c, &scn_actor2, true, "203.0.113.22", 8443, NULL, now - 7 * d, now - 2 * d);

	/* noise: shared hosting */
	scn_dns(&c, "login-verify.duckdns.org", "192.0.2.80", now - 9 * d, now - 1 * d);
	for (int i = 0; i < 4999; i++) {
		snprintf(name, sizeof(name), "site%04d.shared-host.example", i);
		scn_dns(&c, name, "192.0.2.80", now - 200 * d, now - 1 * d);
	}
	/* an IP that hosted 150 names a year and more ago and 5 now (the seed
	 * among them): shared hosting over all time, not within the last month */
	scn_dns(&c, "login-verify.duckdns.org", "192.0.2.90", now - 8 * d, now - 2 * d);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "oldsite%03d.reused-host.example", i);
		scn_dns(&c, name, "192.0.2.90", now - 500 * d, now - 400 * d);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "fresh%d.reused-host.example", i);
		scn_dns(&c, name, "192.0.2.90", now - 20 * d, now - 2 * d);
	}
	/* noise: a CDN certificate on 300 IPs, one of them seen for the seed */
	static const char *const cdn_sans[] = {"cdn-provider.example", "*.cdn-provider.example",
	                                       NULL};
	scn_meta(&scn_cdn, "cdn-cert", "CN=cdn-provider.example, O=CDN Provider",
	         "CN=Public CA R3, O=Public CA", "0fedcba987", cdn_sans, now - 40 * d,
	         now + 50 * d);
	for (int i = 0; i < 300; i++) {
		snprintf(ip, sizeof(ip), "100.64.%d.%d", i / 200, 1 + i % 200);
		snprintf(name, sizeof(name), "customer%03d.example", i);
		scn_sight(&c, &scn_cdn, i == 0, ip, 443, i == 7 ? "login-verify.duckdns.org" : name,
		          now - 30 * d, now - 1 * d);
	}
	/* noise: a default certificate on 2,000 IPs and on the actor's IP */
	static const char *const lh_sans[] = {"localhost", NULL};
	scn_meta(&scn_localhost, "localhost-cert", "CN=localhost", "CN=localhost", "00", lh_sans,
	         now - 3000 * d, now + 3000 * d);
	scn_sight(&c, &scn_localhost, true, "198.51.100.10", 8443, NULL, now - 10 * d, now - 1 * d);
	for (int i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, 1 + i % 250);
		scn_sight(&c, &scn_localhost, false, ip, 8443, NULL, now - 100 * d, now - 1 * d);
	}
	/* noise: stale sightings from a year ago */
	scn_dns(&c, "login-verify.duckdns.org", "192.0.2.200", now - 400 * d, now - 365 * d);
	scn_dns(&c, "old-parking.example", "192.0.2.200", now - 420 * d, now - 370 * d);
	scn_sight(&c, &scn_actor, false, "198.51.100.99", 443, NULL, now - 390 * d, now - 366 * d);

	scn_flush(&c);
	err = c.err;
	free(c.obs);
	store_close(c.s);
	return err;
}

#endif
