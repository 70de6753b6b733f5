/*
 * cof.c - the observations format: Passive DNS Common Output Format lines
 * (draft-dulaunoy-dnsop-passive-dns-cof) and certificate sighting lines,
 * one JSON object a line, mixed in one stream.
 */
#include <string.h>

#include "ingest/ingest_internal.h"

/* time_first/time_last, or their _ms forms */
static int get_time(struct ingest_ctx *c, json_t *obj, const char *key, bool required, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		char ms[32];
		snprintf(ms, sizeof(ms), "%s_ms", key);
		json_t *m = json_object_get(obj, ms);
		if (m != NULL) {
			if (!json_is_integer(m) || json_integer_value(m) < 0)
				return ingest_reject(c, "%s is not a non-negative integer", ms);
			*out = (int64_t)(json_integer_value(m) / 1000);
			return 0;
		}
		if (required)
			return ingest_reject(c, "missing %s", key);
		*out = -1;
		return 0;
	}
	if (ingest_json_time(v, out) != 0)
		return ingest_reject(c, "%s is not a valid time", key);
	return 0;
}

static int get_common(struct ingest_ctx *c, json_t *obj, bool times_required, int64_t *tf,
                      int64_t *tl, uint64_t *count, char *sensor)
{
	if (get_time(c, obj, "time_first", times_required, tf) != 0 ||
	    get_time(c, obj, "time_last", times_required, tl) != 0)
		return INGEST_REJECT;
	if (*tf < 0 && *tl >= 0)
		*tf = *tl;
	if (*tl < 0 && *tf >= 0)
		*tl = *tf;
	if (*tf > *tl)
		return ingest_reject(c, "time_first is after time_last");
	if (ingest_json_count(c, obj, count) != 0)
		return INGEST_REJECT;
	json_t *sid = json_object_get(obj, "sensor_id");
	if (sid != NULL && !json_is_null(sid)) {
		if (json_is_integer(sid)) {
			snprintf(sensor, STORE_SENSOR_MAX, "%lld",
			         (long long)json_integer_value(sid));
		} else if (json_is_string(sid) && json_string_length(sid) > 0 &&
		           json_string_length(sid) < STORE_SENSOR_MAX) {
			memcpy(sensor, json_string_value(sid), json_string_length(sid) + 1);
		} else {
			return ingest_reject(c, "sensor_id is not a string of 1-%d bytes",
			                     STORE_SENSOR_MAX - 1);
		}
	}
	return 0;
}

static int cof_dns(struct ingest_ctx *c, json_t *obj)
{
	struct ingest_json_rr rr;
	if (ingest_json_rr_get(c, obj, "missing", false, &rr) != 0)
		return INGEST_REJECT;
	json_t *rrtype = rr.rrtype;
	uint16_t type;
	if (json_is_integer(rrtype)) {
		json_int_t t = json_integer_value(rrtype);
		if (t < 1 || t > 65535)
			return ingest_reject(c, "rrtype %lld out of range", (long long)t);
		type = (uint16_t)t;
	} else if (!json_is_string(rrtype) ||
	           store_rrtype_parse(json_string_value(rrtype), json_string_length(rrtype),
	                              &type) != 0) {
		return ingest_reject(c, "rrtype is not a known type name or number");
	}
	int64_t tf, tl;
	uint64_t count;
	char sensor[STORE_SENSOR_MAX] = "";
	if (get_common(c, obj, true, &tf, &tl, &count, sensor) != 0)
		return INGEST_REJECT;
	return ingest_dns_records(c, obj, rr.rrname, type, rr.rdata, tf, tl, count, sensor);
}

static int cof_cert(struct ingest_ctx *c, json_t *obj)
{
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "too many records in one line");
	if (ingest_cert_fill(c, o, obj) != 0)
		return INGEST_REJECT;
	json_t *ip = json_object_get(obj, "ip");
	if (ip == NULL || json_is_null(ip)) {
		/* metadata only */
		if (!o->cert.has_meta)
			return ingest_reject(c, "a line with only hashes records nothing: "
			                        "give ip (and port) or the certificate");
		return INGEST_OK;
	}
	if (!json_is_string(ip) ||
	    store_addr_parse(json_string_value(ip), json_string_length(ip), o->cert.ip) != 0)
		return ingest_reject(c, "ip is not a valid IPv4 or IPv6 address");
	json_t *port = json_object_get(obj, "port");
	o->cert.port = 443;
	if (port != NULL) {
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535)
			return ingest_reject(c, "port is not an integer 1-65535");
		o->cert.port = (uint16_t)json_integer_value(port);
	}
	int64_t tf, tl;
	if (get_common(c, obj, true, &tf, &tl, &o->count, o->sensor) != 0)
		return INGEST_REJECT;
	o->time_first = tf;
	o->time_last = tl;
	json_t *sni = json_object_get(obj, "sni");
	if (sni != NULL && !json_is_null(sni)) {
		if (!json_is_string(sni) ||
		    store_name_norm(json_string_value(sni), json_string_length(sni), o->cert.sni,
		                    false) != 0)
			return ingest_reject(c, "sni is not a valid host name");
	}
	o->cert.sighting = true;
	return INGEST_OK;
}

static int obs_line(struct ingest_ctx *c, char *line, size_t len)
{
	json_t *obj;
	if (ingest_json_object_line(c, line, len, &obj) != 0)
		return INGEST_REJECT;
	int r;
	if (json_object_get(obj, "rrname") != NULL)
		r = cof_dns(c, obj);
	else if (json_object_get(obj, "ip") || json_object_get(obj, "cert_sha1") ||
	         json_object_get(obj, "cert_sha256") || json_object_get(obj, "cert_pem") ||
	         json_object_get(obj, "cert_der_b64"))
		r = cof_cert(c, obj);
	else
		r = ingest_reject(c, "neither a COF line (rrname) nor a certificate line "
		                     "(ip/cert_sha1/cert_sha256/cert_pem/cert_der_b64)");
	json_decref(obj);
	return r;
}

static int obs_detect(const char *line, size_t len)
{
	if (len == 0 || line[0] != '{')
		return 0;
	/* cheap substring checks: detection sees only the first line */
	if (memmem(line, len, "\"rrname\"", 8) && memmem(line, len, "\"rdata\"", 7) &&
	    !memmem(line, len, "\"event_type\"", 12))
		return 50;
	if (memmem(line, len, "\"cert_sha1\"", 11) || memmem(line, len, "\"cert_sha256\"", 13) ||
	    memmem(line, len, "\"cert_pem\"", 10) || memmem(line, len, "\"cert_der_b64\"", 14))
		return 50;
	return 0;
}

const struct ingest_format ingest_fmt_observations = {
    .name = "observations",
    .detect = obs_detect,
    .line = obs_line,
    .independent = true,
};
const struct ingest_format ingest_fmt_cof = {
    .name = "cof",
    .detect = NULL,
    .line = obs_line,
    .independent = true,
};
