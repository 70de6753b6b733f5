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

unsigned sensor_info(struct scan *sc, uint16_t sid, char *sensor, char *org)
{
	if (sc->sens == NULL && (sc->sens = calloc(65536, sizeof(*sc->sens))) == NULL) {
		sc->err = -1;
		sensor[0] = org[0] = '\0';
		return 0;
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
	return si->org;
}

static uint64_t host_fp(const uint8_t client[16], uint32_t org)
{
	uint64_t a, b;
	memcpy(&a, client, 8);
	memcpy(&b, client + 8, 8);
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	h ^= (b + org) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h | 1;
}

static int hosts_grow(struct scan *sc)
{
	size_t nc = sc->caphosts ? sc->caphosts * 2 : 4096;
	struct hostent *n = calloc(nc, sizeof(*n));
	if (n == NULL)
		return -1;
	for (size_t i = 0; i < sc->caphosts; i++) {
		if (sc->hosts[i].fp == 0)
			continue;
		size_t j = sc->hosts[i].fp & (nc - 1);
		while (n[j].fp != 0)
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
	if ((sc->nhosts + 1) * 2 > sc->caphosts && hosts_grow(sc) != 0)
		return -1;
	uint64_t fp = host_fp(c->client, c->org_idx);
	size_t j = fp & (sc->caphosts - 1);
	while (sc->hosts[j].fp != 0) {
		if (sc->hosts[j].fp == fp)
			return 0;
		j = (j + 1) & (sc->caphosts - 1);
	}
	sc->hosts[j].fp = fp;
	sc->nhosts++;
	sc->org_hosts[c->org_idx]++;
	return 0;
}
