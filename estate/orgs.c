/*
 * orgs.c - sensors, their organisations, and the hosts each organisation
 * has: the denominators of prevalence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estate/estate_internal.h"

unsigned org_index(struct scan *sc, const char *org)
{
	for (unsigned i = 0; i < sc->norgs; i++)
		if (strcmp(sc->orgs[i], org) == 0)
			return i;
	if (sc->norgs == sc->caporgs) {
		unsigned nc = sc->caporgs ? sc->caporgs * 2 : 16;
		char(*no)[STORE_SENSOR_MAX] = realloc(sc->orgs, nc * sizeof(*no));
		uint64_t *nh = realloc(sc->org_hosts, nc * sizeof(*nh));
		if (no != NULL)
			sc->orgs = no;
		if (nh != NULL)
			sc->org_hosts = nh;
		if (no == NULL || nh == NULL) {
			sc->err = -1;
			return 0;
		}
		sc->caporgs = nc;
	}
	snprintf(sc->orgs[sc->norgs], STORE_SENSOR_MAX, "%s", org);
	sc->org_hosts[sc->norgs] = 0;
	return sc->norgs++;
}

void sensor_info(struct scan *sc, uint16_t sid, char *sensor, char *org)
{
	if (sc->sens == NULL && (sc->sens = calloc(65536, sizeof(*sc->sens))) == NULL) {
		sc->err = -1;
		sensor[0] = org[0] = '\0';
		return;
	}
	struct sensinfo *si = &sc->sens[sid];
	if (!si->known) {
		char o[STORE_SENSOR_MAX];
		store_sensor_name(sc->r, sid, si->name);
		store_sensor_org(sc->r, si->name, o);
		si->org = org_index(sc, o);
		si->known = true;
	}
	memcpy(sensor, si->name, STORE_SENSOR_MAX);
	memcpy(org, sc->orgs[si->org], STORE_SENSOR_MAX);
}

static uint64_t host_hash(const uint8_t client[16], uint32_t org)
{
	uint64_t h = 1469598103934665603ull ^ org;
	for (int i = 0; i < 16; i++) {
		h ^= client[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int hosts_grow(struct scan *sc)
{
	size_t nc = sc->caphosts ? sc->caphosts * 2 : 4096;
	struct hostent *n = calloc(nc, sizeof(*n));
	if (n == NULL)
		return -1;
	for (size_t i = 0; i < sc->caphosts; i++) {
		if (sc->hosts[i].org == 0)
			continue;
		size_t j = host_hash(sc->hosts[i].client, sc->hosts[i].org) & (nc - 1);
		while (n[j].org != 0)
			j = (j + 1) & (nc - 1);
		n[j] = sc->hosts[i];
	}
	free(sc->hosts);
	sc->hosts = n;
	sc->caphosts = nc;
	return 0;
}

int org_host_note(struct scan *sc, const struct estate_client *c)
{
	uint32_t org = org_index(sc, c->org) + 1;
	if ((sc->nhosts + 1) * 2 > sc->caphosts && hosts_grow(sc) != 0)
		return -1;
	size_t j = host_hash(c->client, org) & (sc->caphosts - 1);
	while (sc->hosts[j].org != 0) {
		if (sc->hosts[j].org == org && memcmp(sc->hosts[j].client, c->client, 16) == 0)
			return 0;
		j = (j + 1) & (sc->caphosts - 1);
	}
	memcpy(sc->hosts[j].client, c->client, 16);
	sc->hosts[j].org = org;
	sc->nhosts++;
	sc->org_hosts[org - 1]++;
	return 0;
}
