/*
 * estate_internal.h - client sightings from sensor logs (ingest/client.c,
 * zeek_conn.c, eve_flow.c): who inside the estate contacted what.
 */
#ifndef INFRAPIVOT_ESTATE_INTERNAL_H
#define INFRAPIVOT_ESTATE_INTERNAL_H

#include "ingest/ingest_internal.h"
#include "store/client.h"

/* What one sighting says; name for domains, ip for IPs. */
struct ingest_client_sight {
	int64_t ts;
	const char *client; /* the internal host's address as text */
	size_t client_len;
	const uint8_t *client_ip; /* client already parsed, or NULL: parse client */
	uint8_t dtype;            /* STORE_DEST_* */
	const char *name;
	const uint8_t *ip;
	uint8_t src; /* STORE_CSRC_* */
	bool has_bytes;
	uint64_t bytes_out, bytes_in;
	const char *sensor; /* the line's own sensor (EVE host), NULL: the stream's */
};

/* Add a client sighting to the current line unless --no-clients.  A
 * client that is no address, or a destination that is no name, is not
 * recorded (the line is still good for its other records); returns 0,
 * or INGEST_REJECT when the line claimed too many slots. */
int ingest_client_add(struct ingest_ctx *c, const struct ingest_client_sight *s);
/* A client sighting of an IP, parsed, straight into the parser's batch
 * (the conn.log fast path): what ingest_client_add of the same sighting
 * does, without an observation slot.  0, or an error after which
 * nothing was added (the caller takes ingest_client_add instead). */
int ingest_client_ip_direct(struct ingest_ctx *c, const struct store_client_ip_sight *x);
/* True when client sightings are recorded for this stream. */
bool ingest_clients_on(const struct ingest_ctx *c);

/* Zeek conn.log row (zeek_conn.c) and EVE flow event (eve_flow.c). */
struct zrow;
/* ts: the row's ts column parsed as an epoch time by the caller, NULL when
 * it holds none (missing, or another form of time: rejected here). */
int ingest_zeek_conn(struct ingest_ctx *c, struct zrow *r, const int64_t *ts);
int ingest_eve_flow(struct ingest_ctx *c, json_t *ev);

#endif
