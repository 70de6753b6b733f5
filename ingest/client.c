/*
 * client.c - client sightings of the sensor formats: one observation per
 * (client, destination) contact, which the store folds into bounded
 * per-pair state (store/client.h).
 */
#include <string.h>

#include "ingest/estate_internal.h"

bool ingest_clients_on(const struct ingest_ctx *c)
{
	return !c->opts->no_clients;
}

int ingest_client_add(struct ingest_ctx *c, const struct ingest_client_sight *s)
{
	if (!ingest_clients_on(c) || s->client == NULL || s->ts < 0)
		return 0;
	uint8_t client[16];
	if (s->client_ip != NULL)
		memcpy(client, s->client_ip, 16);
	else if (store_addr_parse(s->client, s->client_len, client) != 0)
		return 0;
	char name[STORE_NAME_BUF];
	name[0] = '\0';
	if (s->dtype == STORE_DEST_DOMAIN &&
	    (s->name == NULL || store_name_norm(s->name, strlen(s->name), name, false) != 0))
		return 0;
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "too many records in one line");
	o->kind = STORE_OBS_CLIENT;
	o->time_first = o->time_last = s->ts;
	o->client.dtype = s->dtype;
	o->client.src = s->src;
	o->client.has_bytes = s->has_bytes;
	memcpy(o->client.name, name, strlen(name) + 1); /* an IP's: "" */
	if (s->dtype == STORE_DEST_IP)
		memcpy(o->client.ip, s->ip, 16);
	else
		memset(o->client.ip, 0, 16);
	memcpy(o->client.client, client, 16);
	o->client.bytes_out = s->bytes_out;
	o->client.bytes_in = s->bytes_in;
	size_t sl = s->sensor != NULL ? strlen(s->sensor) : 0;
	if (sl > 0 && sl < STORE_SENSOR_MAX)
		memcpy(o->sensor, s->sensor, sl + 1);
	return 0;
}
