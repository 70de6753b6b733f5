/*
 * store_only.c - the store's upsert rate alone: parse a COF/observations
 * file into batches first (not timed), then time writing them into a
 * fresh database the way ingest does.  Prints "records seconds records/s".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static int fill(json_t *j, struct store_obs *o, struct store_cert_meta *m)
{
	memset(o, 0, sizeof(*o));
	o->count = (uint64_t)json_integer_value(json_object_get(j, "count"));
	o->time_first = json_integer_value(json_object_get(j, "time_first"));
	o->time_last = json_integer_value(json_object_get(j, "time_last"));
	const char *sensor = json_string_value(json_object_get(j, "sensor_id"));
	if (sensor != NULL)
		snprintf(o->sensor, sizeof(o->sensor), "%s", sensor);
	const char *rrname = json_string_value(json_object_get(j, "rrname"));
	if (rrname != NULL) {
		const char *t = json_string_value(json_object_get(j, "rrtype"));
		const char *rd = json_string_value(json_object_get(j, "rdata"));
		o->kind = STORE_OBS_DNS;
		if (t == NULL || rd == NULL ||
		    store_name_norm(rrname, strlen(rrname), o->dns.rrname, false) != 0 ||
		    store_rrtype_parse(t, strlen(t), &o->dns.rrtype) != 0)
			return -1;
		if (o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA)
			return store_addr_parse(rd, strlen(rd), o->dns.addr);
		return store_rdata_norm(o->dns.rrtype, rd, strlen(rd), o->dns.rdata);
	}
	const char *ip = json_string_value(json_object_get(j, "ip"));
	const char *h = json_string_value(json_object_get(j, "cert_sha1"));
	if (ip == NULL || h == NULL)
		return -1;
	size_t hl;
	uint8_t hash[32];
	memset(m, 0, sizeof(*m));
	if (store_hash_parse(h, strlen(h), hash, &hl) != 0 || hl != 20)
		return -1;
	memcpy(m->sha1, hash, 20);
	m->has_sha1 = true;
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	o->cert.sighting = true;
	o->cert.port = (uint16_t)json_integer_value(json_object_get(j, "port"));
	const char *sni = json_string_value(json_object_get(j, "sni"));
	if (sni != NULL)
		store_name_norm(sni, strlen(sni), o->cert.sni, false);
	return store_addr_parse(ip, strlen(ip), o->cert.ip);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: store_only FILE DBDIR\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	store_t *s;
	if (f == NULL || store_open(&s, argv[2], 0, 0) != 0) {
		fprintf(stderr, "cannot open input or database\n");
		return 2;
	}
	size_t budget = store_batch_budget(s);
	size_t nb = 0, cap = 64;
	store_batch_t **batches = malloc(cap * sizeof(*batches));
	store_batch_new(&batches[0]);
	nb = 1;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	uint64_t records = 0;
	struct store_obs o;
	struct store_cert_meta m;
	while ((len = getline(&line, &lcap, f)) > 0) {
		json_t *j = json_loadb(line, (size_t)len, 0, NULL);
		if (j == NULL)
			continue;
		if (fill(j, &o, &m) == 0) {
			if (store_batch_len(batches[nb - 1]) >= budget) {
				if (nb == cap) {
					cap *= 2;
					batches = realloc(batches, cap * sizeof(*batches));
				}
				store_batch_new(&batches[nb++]);
			}
			store_batch_add(batches[nb - 1], &o);
			records++;
		}
		json_decref(j);
	}
	free(line);
	fclose(f);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < nb; i++) {
		if (store_write_batch(s, batches[i], NULL) != 0) {
			fprintf(stderr, "write failed: %s\n", store_last_error());
			return 1;
		}
		store_batch_free(batches[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu %.3f %.0f\n", (unsigned long long)records, secs, records / secs);
	free(batches);
	store_close(s);
	return 0;
}
