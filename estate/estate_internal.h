/*
 * estate_internal.h - shared by the estate module's files.
 */
#ifndef INFRAPIVOT_ESTATE_INTERNAL_H
#define INFRAPIVOT_ESTATE_INTERNAL_H

#include "estate/estate.h"

#define DEST_IPS_MAX 16

/* The rows of one (client, sensor) of the destination being read. */
struct pairacc {
	uint8_t client[16];
	uint16_t sid;
	unsigned nrows;
	uint8_t srcs;
	struct store_client_state rhythm, bytes, dns;
};

struct orgcount {
	unsigned org, hosts;
};

/* One destination being read, then a candidate. */
struct destacc {
	uint8_t dtype;
	char name[STORE_NAME_BUF];
	uint8_t ip[16];
	uint8_t key[STORE_NAME_BUF + 17]; /* dtype + name or IP: grouping */
	size_t klen;
	struct estate_client *clients;
	size_t nclients, capclients;
	bool resolved;
	unsigned nips;
	uint8_t ips[DEST_IPS_MAX][16];
	double rhythm;
	struct orgcount *oc;
	unsigned noc;
	bool org_match;
	int64_t first_seen; /* kept with a candidate whose clients are dropped */
	double score;
};

struct sensinfo {
	bool known;
	unsigned org;
	char name[STORE_SENSOR_MAX];
};

/* A host of an organisation as a 64-bit fingerprint of (client, org):
 * 8-byte slots keep the table in cache; 0 is an empty slot. */
struct hostent {
	uint64_t fp;
};

struct scan {
	store_rtxn_t *r;
	const struct estate_opts *o;
	struct estate_nets nets;
	bool join;     /* DNS-only pairs borrow resolved IPs' connections */
	bool keep_all; /* one destination (lookup): keep it whatever its score */
	bool reload;   /* reading a ranked candidate's clients again */
	struct destacc *reloaded;
	double keep_min;       /* candidates need this rhythm */
	struct sensinfo *sens; /* indexed by sensor id (65536) */
	char (*orgs)[STORE_SENSOR_MAX];
	uint64_t *org_hosts;
	unsigned norgs, caporgs;
	struct hostent *hosts;
	size_t nhosts, caphosts;
	struct destacc cur;
	struct pairacc pair;
	struct destacc *cands;
	size_t ncands, capcands;
	int err;
};

void pairacc_reset(struct pairacc *a);
void pairacc_add(struct pairacc *a, const struct store_client_row *row);
int pair_finish(struct scan *sc, struct destacc *d, struct pairacc *a);
void dest_resolve(struct scan *sc, struct destacc *d);

/* Sensor name and organisation of a sensor id (cached); returns the
 * organisation's index. */
unsigned sensor_info(struct scan *sc, uint16_t sid, char *sensor, char *org);
/* Count the client as a host of its organisation (once). */
int org_host_note(struct scan *sc, const struct estate_client *c);
/* Index of an organisation name (cached). */
unsigned org_index(struct scan *sc, const char *org);

/* Reasons in words for a scored destination (reasons.c). */
void estate_reasons(const struct scan *sc, const struct destacc *a, struct estate_dest *d);

#endif
