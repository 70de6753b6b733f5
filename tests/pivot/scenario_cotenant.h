/*
 * scenario_cotenant.h - planted actor clusters beside co-tenants: the
 * shape of an actor renting a cheap VPS whose address also carries a few
 * dozen long-lived names of other tenants (shared by test_affinity.c and
 * `mkscenario --cotenant`).
 *
 * Cluster c (0..SCN_COT_CLUSTERS-1) arrives at T0 = now - (15 + 9c) days:
 *   a<c>-0.actor.test   on 172.16.c.1 (the shared VPS) from T0; before that
 *                       on 172.16.c.3 (T0-40d .. T0-2d: the name moved)
 *   a<c>-1.actor.test   on 172.16.c.1 from T0+3d (a sister name, days later)
 *   a<c>-2, a<c>-3      on 172.16.c.2 from T0+5d, T0+6d
 *   stage<c>.actor.test on 172.16.c.1 T0-60d .. T0-30d (the actor trying the
 *                       VPS out two months ahead: its own oldest edge there)
 *   a self-signed certificate (SAN a<c>-0..2) on 172.16.c.1:443 from T0+1d
 *   and on 172.16.c.2:443 from T0+5d.
 * The co-tenants of 172.16.c.1: 10 + 10c names (10..90), each first seen
 * 500-700 days before T0 and still resolving, each also on an address of
 * its own (172.17.c.k+1); every third also has a certificate served on
 * both addresses since then.
 * The actor's nodes (ground truth): 5 names, 3 IPs, 1 certificate.
 */
#ifndef INFRAPIVOT_TEST_SCENARIO_COTENANT_H
#define INFRAPIVOT_TEST_SCENARIO_COTENANT_H

#include "tests/pivot/scenario.h"

#define SCN_COT_CLUSTERS 9
#define SCN_COT_ACTOR_NODES 9

static inline int64_t scn_cot_t0(int c)
{
	return SCN_NOW - (int64_t)(15 + 9 * c) * SCN_DAY;
}

static inline unsigned scn_cot_tenants(int c)
{
	return 10 + 10 * (unsigned)c;
}

/* The co-tenant k of cluster c: first seen this many days before T0. */
static inline int64_t scn_cot_age(int c, unsigned k)
{
	return 500 + (int64_t)((k * 37 + (unsigned)c * 11) % 201);
}

/* The actor's nodes of cluster c into v[SCN_COT_ACTOR_NODES][72]: names,
 * then IPs, then the certificate's SHA-1 in hex (set by the caller). */
static inline void scn_cot_actor(int c, char v[][72])
{
	for (int k = 0; k < 4; k++)
		snprintf(v[k], 72, "a%d-%d.actor.test", c, k);
	snprintf(v[4], 72, "stage%d.actor.test", c);
	for (int k = 0; k < 3; k++)
		snprintf(v[5 + k], 72, "172.16.%d.%d", c, k + 1);
	v[8][0] = '\0';
}

static struct store_cert_meta scn_cot_certs[SCN_COT_CLUSTERS];
static struct store_cert_meta scn_cot_tcerts[SCN_COT_CLUSTERS][31];

static inline void scn_cot_tenant(struct scn *c, int cl, unsigned k)
{
	const int64_t d = SCN_DAY, tf = scn_cot_t0(cl) - scn_cot_age(cl, k) * d;
	char name[96], own[48], vps[48], label[48], cn[128];
	snprintf(name, sizeof(name), "shop%02u.tenant%d.test", k, cl);
	snprintf(vps, sizeof(vps), "172.16.%d.1", cl);
	snprintf(own, sizeof(own), "172.17.%d.%u", cl, k + 1);
	scn_dns(c, name, vps, tf, SCN_NOW - d);
	scn_dns(c, name, own, tf, SCN_NOW - d);
	if (k % 3 != 0)
		return;
	struct store_cert_meta *m = &scn_cot_tcerts[cl][k / 3];
	const char *const sans[] = {name, NULL};
	snprintf(label, sizeof(label), "tenant-cert-%d-%u", cl, k);
	snprintf(cn, sizeof(cn), "CN=%s", name);
	scn_meta(m, label, cn, "CN=Public CA", "0a", sans, tf, tf + 900 * d);
	scn_sight(c, m, true, vps, 443, name, tf, SCN_NOW - d);
	scn_sight(c, m, false, own, 443, name, tf, SCN_NOW - d);
}

static inline void scn_cot_cluster(struct scn *c, int cl)
{
	const int64_t d = SCN_DAY, t0 = scn_cot_t0(cl), last = SCN_NOW - d;
	char v[SCN_COT_ACTOR_NODES][72], label[32];
	scn_cot_actor(cl, v);
	scn_dns(c, v[0], v[5], t0, last);
	scn_dns(c, v[0], v[7], t0 - 40 * d, t0 - 2 * d);
	scn_dns(c, v[1], v[5], t0 + 3 * d, last);
	scn_dns(c, v[2], v[6], t0 + 5 * d, last);
	scn_dns(c, v[3], v[6], t0 + 6 * d, last);
	scn_dns(c, v[4], v[5], t0 - 60 * d, t0 - 30 * d);
	const char *const sans[] = {v[0], v[1], v[2], NULL};
	snprintf(label, sizeof(label), "actor-cert-%d", cl);
	char cn[96];
	snprintf(cn, sizeof(cn), "CN=%s", v[0]);
	scn_meta(&scn_cot_certs[cl], label, cn, cn, "77", sans, t0 - d, t0 + 89 * d);
	scn_sight(c, &scn_cot_certs[cl], true, v[5], 443, NULL, t0 + d, last);
	scn_sight(c, &scn_cot_certs[cl], false, v[6], 443, NULL, t0 + 5 * d, last);
	for (unsigned k = 0; k < scn_cot_tenants(cl); k++)
		scn_cot_tenant(c, cl, k);
}

static inline int scn_build_cotenant(const char *dir)
{
	struct scn c;
	int err = scn_begin(&c, dir, 1024);
	if (err != 0)
		return err;
	for (int cl = 0; cl < SCN_COT_CLUSTERS; cl++)
		scn_cot_cluster(&c, cl);
	return scn_end(&c);
}

#endif
