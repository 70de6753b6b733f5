/*
 * tls_keys.c - what sensors tell beyond the certificate hash: server
 * fingerprints (EVE tls.ja3s.hash, Zeek ssl.log ja3s) as sightings of
 * ip:port, and the certificates Suricata logs whole (EVE tls.certificate
 * and tls.chain, base64 DER), whose public key and metadata we read.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "util/base64.h"

#define B64_FLAGS (UTIL_B64_STD | UTIL_B64_SPACE | UTIL_B64_PAD)
#define EVE_CHAIN_MAX 8 /* certificates of tls.chain read; a real chain has 2-4 */

int ingest_fp_sighting(struct ingest_ctx *c, unsigned fptype, const char *hash, size_t len,
                       const uint8_t ip[16], uint16_t port, int64_t ts, const char *sensor)
{
	char h[STORE_FP_HASH_BUF];
	if (store_fp_norm(fptype, hash, len, h) != 0)
		return ingest_reject(c, "%s %.*s is not a %s fingerprint (%s hex digits)",
		                     store_fp_type_name(fptype), (int)(len > 80 ? 80 : len), hash,
		                     store_fp_type_name(fptype),
		                     fptype == STORE_FP_JARM ? "62" : "32");
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "too many observations on one line");
	o->kind = STORE_OBS_FP;
	o->time_first = o->time_last = ts;
	if (sensor != NULL && sensor[0] != '\0')
		memcpy(o->sensor, sensor, STORE_SENSOR_MAX);
	memcpy(o->fp.ip, ip, 16);
	o->fp.port = port;
	o->fp.fptype = (uint8_t)fptype;
	memcpy(o->fp.hash, h, sizeof(h));
	return INGEST_OK;
}

/* Decode the base64 DER of a certificate into m (m->der malloc'd). */
int ingest_cert_b64(const char *b64, size_t len, struct store_cert_meta *m)
{
	uint8_t *buf = malloc(len + 1);
	if (buf == NULL)
		return STORE_EBADCERT;
	size_t n = 0;
	int rc = util_base64_decode(b64, len, B64_FLAGS, buf, len, &n);
	int err = rc != 0 || n == 0 ? STORE_EBADCERT : ingest_x509_der(buf, n, m);
	free(buf);
	return err;
}

/* tls.certificate: the leaf itself, which must be the one tls.fingerprint
 * names.  Its metadata replaces what the event's fields said. */
static int eve_leaf(struct ingest_ctx *c, struct store_obs *o, struct store_cert_meta *m,
                    const char *b64, size_t len)
{
	struct store_cert_meta *full = ingest_meta_new(c);
	if (full == NULL)
		return ingest_reject(c, "out of memory");
	int err = ingest_cert_b64(b64, len, full);
	if (err != 0)
		return ingest_reject(c, "tls.certificate: %s", store_strerror(err));
	if (memcmp(full->sha1, m->sha1, 20) != 0)
		return ingest_reject(c, "tls.certificate does not match tls.fingerprint");
	o->cert.meta = full;
	o->cert.has_meta = true;
	return INGEST_OK;
}

/* tls.chain: every certificate after the leaf, as metadata without a
 * sighting (the issuers the server sent). */
static int eve_chain(struct ingest_ctx *c, const struct store_obs *leaf, json_t *chain)
{
	size_t n = json_array_size(chain);
	if (n > EVE_CHAIN_MAX)
		return ingest_reject(c, "tls.chain holds %zu certificates (at most %d)", n,
		                     EVE_CHAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(chain, i);
		if (!json_is_string(e))
			return ingest_reject(c, "tls.chain[%zu] is not a string", i);
		struct store_obs *o = ingest_obs_new(c);
		struct store_cert_meta *m = o ? ingest_meta_new(c) : NULL;
		if (m == NULL)
			return ingest_reject(c, "out of memory");
		int err = ingest_cert_b64(json_string_value(e), json_string_length(e), m);
		if (err != 0)
			return ingest_reject(c, "tls.chain[%zu]: %s", i, store_strerror(err));
		o->kind = STORE_OBS_CERT;
		o->time_first = leaf->time_first;
		o->time_last = leaf->time_last;
		memcpy(o->sensor, leaf->sensor, STORE_SENSOR_MAX);
		o->cert.meta = m;
		o->cert.has_meta = true;
	}
	return INGEST_OK;
}

int ingest_eve_certs(struct ingest_ctx *c, struct store_obs *o, struct store_cert_meta *m,
                     json_t *tls)
{
	json_t *cert = json_object_get(tls, "certificate");
	json_t *chain = json_object_get(tls, "chain");
	if (cert != NULL && !json_is_string(cert))
		return ingest_reject(c, "tls.certificate is not a string");
	if (chain != NULL && !json_is_array(chain))
		return ingest_reject(c, "tls.chain is not an array");
	if (cert != NULL &&
	    eve_leaf(c, o, m, json_string_value(cert), json_string_length(cert)) != INGEST_OK)
		return INGEST_REJECT;
	/* Suricata's chain starts with the leaf: it is recorded already when
	 * tls.certificate came too */
	return chain != NULL ? eve_chain(c, o, chain) : INGEST_OK;
}

int ingest_eve_server(struct ingest_ctx *c, json_t *ev, uint8_t ip[16], uint16_t *port)
{
	size_t il = 0;
	const char *s = ingest_json_str(ev, "dest_ip", &il);
	if (s == NULL || store_addr_parse(s, il, ip) != 0)
		return ingest_reject(c, "dest_ip %.*s is not an IP address",
		                     s ? (int)(il > 60 ? 60 : il) : 0, s ? s : "");
	json_t *p = json_object_get(ev, "dest_port");
	if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 65535)
		return ingest_reject(c, "dest_port is not an integer 1-65535");
	*port = (uint16_t)json_integer_value(p);
	return 0;
}

int ingest_eve_ja3s(struct ingest_ctx *c, json_t *ev, json_t *tls, int64_t ts, const char *sensor)
{
	json_t *ja3s = json_object_get(tls, "ja3s");
	if (ja3s == NULL)
		return INGEST_SKIP;
	size_t hl = 0;
	const char *h = ingest_json_str(ja3s, "hash", &hl);
	if (h == NULL)
		return ingest_reject(c, "tls.ja3s has no hash string");
	uint8_t a[16];
	uint16_t port;
	if (ingest_eve_server(c, ev, a, &port) != 0)
		return INGEST_REJECT;
	return ingest_fp_sighting(c, STORE_FP_JA3S, h, hl, a, port, ts, sensor);
}
