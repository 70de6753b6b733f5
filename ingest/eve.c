/*
 * eve.c - Suricata EVE JSON: dns events (version 1, 2 and 3 layouts) and
 * tls events.  Every other event type is valid input with nothing for us
 * (skipped, not rejected).
 */
#include <string.h>

#include "ingest/estate_internal.h"

static const char *jstr(json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

static int eve_time(struct ingest_ctx *c, json_t *ev, int64_t *ts)
{
	json_t *v = json_object_get(ev, "timestamp");
	if (v == NULL)
		return ingest_reject(c, "missing timestamp");
	if (ingest_json_time(v, ts) != 0)
		return ingest_reject(c, "timestamp is not a valid time");
	return 0;
}

/* The sensor name Suricata writes as "host" (sensor-name), if any. */
static void eve_sensor(json_t *ev, struct store_obs *o)
{
	size_t n;
	const char *h = jstr(ev, "host", &n);
	if (h != NULL && n > 0 && n < STORE_SENSOR_MAX)
		memcpy(o->sensor, h, n + 1);
}

static int add_rr(struct ingest_ctx *c, json_t *ev, int64_t ts, const char *owner, size_t olen,
                  uint16_t type, const char *rd, size_t rdlen)
{
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "too many answers in one event");
	if (ingest_dns_fill(c, o, owner, olen, type, rd, rdlen) != 0)
		return INGEST_REJECT;
	o->time_first = ts;
	o->time_last = ts;
	eve_sensor(ev, o);
	return 0;
}

/* One answer object {rrname, rrtype, rdata}; *recorded counts records. */
static int eve_answer(struct ingest_ctx *c, json_t *ev, int64_t ts, json_t *a, unsigned *recorded,
                      unsigned *skipped)
{
	size_t nl = 0, tl = 0, rl = 0;
	const char *name = jstr(a, "rrname", &nl);
	const char *type = jstr(a, "rrtype", &tl);
	const char *rdata = jstr(a, "rdata", &rl);
	if (name == NULL || type == NULL)
		return ingest_reject(c, "an answer without rrname or rrtype");
	uint16_t t;
	if (store_rrtype_parse(type, tl, &t) != 0 || rdata == NULL || rl == 0) {
		(*skipped)++; /* unknown types, SOA/SRV objects, empty rdata */
		return 0;
	}
	if (add_rr(c, ev, ts, name, nl, t, rdata, rl) != 0)
		return INGEST_REJECT;
	(*recorded)++;
	return 0;
}

/* The event's client contacted a destination: src_ip, or dest_ip when
 * the event goes from the server (a DNS answer). */
static int eve_client(struct ingest_ctx *c, json_t *ev, int64_t ts, bool from_server, uint8_t dtype,
                      const char *name, const uint8_t *ip, uint8_t src)
{
	size_t cl = 0;
	const char *client = jstr(ev, from_server ? "dest_ip" : "src_ip", &cl);
	struct ingest_client_sight s = {.ts = ts,
	                                .client = client,
	                                .client_len = cl,
	                                .dtype = dtype,
	                                .name = name,
	                                .ip = ip,
	                                .src = src,
	                                .sensor = jstr(ev, "host", NULL)};
	return ingest_client_add(c, &s);
}

/* The query name of a dns event (v3 keeps it in queries[]). */
static const char *eve_qname(json_t *dns, size_t *ql)
{
	const char *qname = jstr(dns, "rrname", ql);
	json_t *queries = json_object_get(dns, "queries");
	if (json_is_array(queries) && json_array_size(queries) > 0)
		qname = jstr(json_array_get(queries, 0), "rrname", ql);
	return qname;
}

static int eve_dns(struct ingest_ctx *c, json_t *ev, json_t *dns)
{
	int64_t ts;
	if (eve_time(c, ev, &ts) != 0)
		return INGEST_REJECT;
	const char *type = jstr(dns, "type", NULL);
	bool query = type != NULL && (strcmp(type, "query") == 0 || strcmp(type, "request") == 0);
	size_t cql = 0;
	const char *cq = eve_qname(dns, &cql);
	if (cq != NULL && cql < STORE_NAME_BUF) {
		char qn[STORE_NAME_BUF];
		memcpy(qn, cq, cql);
		qn[cql] = '\0';
		if (eve_client(c, ev, ts, !query, STORE_DEST_DOMAIN, qn, NULL, STORE_CSRC_DNS) != 0)
			return INGEST_REJECT;
	}
	if (query)
		return INGEST_SKIP;
	const char *rcode = jstr(dns, "rcode", NULL);
	if (rcode != NULL && strcmp(rcode, "NOERROR") != 0)
		return INGEST_SKIP;
	/* the query name: v3 keeps it in queries[], v1/v2 at the top */
	size_t ql = cql;
	const char *qname = cq;
	unsigned recorded = 0, skipped = 0;
	json_t *answers = json_object_get(dns, "answers");
	json_t *grouped = json_object_get(dns, "grouped");
	if (answers != NULL) {
		if (!json_is_array(answers))
			return ingest_reject(c, "dns.answers is not an array");
		size_t i;
		json_t *a;
		json_array_foreach(answers, i, a)
		{
			if (!json_is_object(a))
				return ingest_reject(c, "dns.answers holds a non-object");
			if (eve_answer(c, ev, ts, a, &recorded, &skipped) != 0)
				return INGEST_REJECT;
		}
	} else if (grouped != NULL) {
		/* grouped only: no owner names, so addresses belong to the query
		 * name and CNAMEs form its chain (as with Zeek) */
		if (!json_is_object(grouped))
			return ingest_reject(c, "dns.grouped is not an object");
		if (qname == NULL)
			return ingest_reject(c, "grouped answers without a query rrname");
		char prev[STORE_NAME_BUF];
		if (store_name_norm(qname, ql, prev, false) != 0)
			return ingest_reject(c, "rrname %.*s is not a valid domain name",
			                     (int)(ql > 80 ? 80 : ql), qname);
		const char *key;
		json_t *vals;
		json_t *cn = json_object_get(grouped, "CNAME");
		for (size_t i = 0; json_is_array(cn) && i < json_array_size(cn); i++) {
			json_t *v = json_array_get(cn, i);
			if (!json_is_string(v))
				return ingest_reject(c, "dns.grouped.CNAME holds a non-string");
			if (add_rr(c, ev, ts, prev, strlen(prev), STORE_RR_CNAME,
			           json_string_value(v), json_string_length(v)) != 0)
				return INGEST_REJECT;
			recorded++;
			store_name_norm(json_string_value(v), json_string_length(v), prev, false);
		}
		json_object_foreach(grouped, key, vals)
		{
			uint16_t t;
			if (strcmp(key, "CNAME") == 0)
				continue;
			if (!json_is_array(vals))
				return ingest_reject(c, "dns.grouped.%s is not an array", key);
			if (store_rrtype_parse(key, strlen(key), &t) != 0) {
				skipped += (unsigned)json_array_size(vals);
				continue;
			}
			for (size_t i = 0; i < json_array_size(vals); i++) {
				json_t *v = json_array_get(vals, i);
				if (!json_is_string(v) || json_string_length(v) == 0) {
					skipped++;
					continue;
				}
				if (add_rr(c, ev, ts, qname, ql, t, json_string_value(v),
				           json_string_length(v)) != 0)
					return INGEST_REJECT;
				recorded++;
			}
		}
	} else if (jstr(dns, "rdata", NULL) != NULL) {
		/* version 1: one event per answer */
		if (eve_answer(c, ev, ts, dns, &recorded, &skipped) != 0)
			return INGEST_REJECT;
	}
	ingest_note_rdata_skipped(c, skipped);
	return recorded > 0 ? INGEST_OK : INGEST_SKIP;
}

/* "1E:58:FD" -> "1E58FD": the serial as other sources print it. */
static void serial_copy(char *out, size_t cap, const char *in, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char ch = in[i];
		if (ch == ':')
			continue;
		if (ch >= 'a' && ch <= 'f')
			ch = (char)(ch - 'a' + 'A');
		out[o++] = ch;
	}
	out[o] = '\0';
}

/* A TLS client hello: to the SNI name, else to the server's address.
 * Resumed sessions count too (they carry no certificate). */
static int eve_tls_client(struct ingest_ctx *c, json_t *ev, json_t *tls)
{
	json_t *tv = json_object_get(ev, "timestamp");
	int64_t ts;
	if (!ingest_clients_on(c) || tv == NULL || ingest_json_time(tv, &ts) != 0)
		return 0;
	size_t sl = 0, il = 0;
	const char *sni = jstr(tls, "sni", &sl);
	if (sni != NULL && sl > 0 && sl < STORE_NAME_BUF) {
		char name[STORE_NAME_BUF];
		memcpy(name, sni, sl);
		name[sl] = '\0';
		return eve_client(c, ev, ts, false, STORE_DEST_DOMAIN, name, NULL, STORE_CSRC_SNI);
	}
	const char *ip = jstr(ev, "dest_ip", &il);
	uint8_t a[16];
	if (ip == NULL || store_addr_parse(ip, il, a) != 0)
		return 0;
	return eve_client(c, ev, ts, false, STORE_DEST_IP, NULL, a, STORE_CSRC_TLS);
}

static int eve_tls(struct ingest_ctx *c, json_t *ev, json_t *tls)
{
	size_t fl = 0;
	const char *fp = jstr(tls, "fingerprint", &fl);
	int64_t ts;
	if (eve_tls_client(c, ev, tls) != 0)
		return INGEST_REJECT;
	if (fp == NULL || fl == 0)
		return INGEST_SKIP; /* resumed session: no certificate */
	if (eve_time(c, ev, &ts) != 0)
		return INGEST_REJECT;
	struct store_obs *o = ingest_obs_new(c);
	struct store_cert_meta *m = o ? ingest_meta_new(c) : NULL;
	if (m == NULL)
		return ingest_reject(c, "out of memory");
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	uint8_t h[32];
	size_t hl;
	if (store_hash_parse(fp, fl, h, &hl) != 0 || hl != 20)
		return ingest_reject(c, "tls.fingerprint %.*s is not a SHA-1",
		                     (int)(fl > 80 ? 80 : fl), fp);
	m->has_sha1 = true;
	memcpy(m->sha1, h, 20);
	size_t il;
	const char *ip = jstr(ev, "dest_ip", &il);
	if (ip == NULL || store_addr_parse(ip, il, o->cert.ip) != 0)
		return ingest_reject(c, "dest_ip %.*s is not an IP address",
		                     ip ? (int)(il > 60 ? 60 : il) : 0, ip ? ip : "");
	json_t *port = json_object_get(ev, "dest_port");
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535)
		return ingest_reject(c, "dest_port is not an integer 1-65535");
	o->cert.port = (uint16_t)json_integer_value(port);
	size_t sl;
	const char *sni = jstr(tls, "sni", &sl);
	if (sni != NULL && sl > 0 && store_name_norm(sni, sl, o->cert.sni, false) != 0)
		o->cert.sni[0] = '\0'; /* not a host name: keep the sighting anyway */
	o->cert.sighting = true;
	o->time_first = ts;
	o->time_last = ts;
	eve_sensor(ev, o);
	size_t n = 0;
	const char *v = jstr(tls, "subject", &n);
	if (v != NULL) {
		snprintf(m->subject, sizeof(m->subject), "%.*s", (int)n, v);
		o->cert.has_meta = true;
	}
	v = jstr(tls, "issuerdn", &n);
	if (v != NULL) {
		snprintf(m->issuer, sizeof(m->issuer), "%.*s", (int)n, v);
		o->cert.has_meta = true;
	}
	v = jstr(tls, "serial", &n);
	if (v != NULL)
		serial_copy(m->serial, sizeof(m->serial), v, n);
	json_t *t = json_object_get(tls, "notbefore");
	if (t != NULL && ingest_json_time(t, &m->not_before) != 0)
		return ingest_reject(c, "tls.notbefore is not a valid time");
	t = json_object_get(tls, "notafter");
	if (t != NULL && ingest_json_time(t, &m->not_after) != 0)
		return ingest_reject(c, "tls.notafter is not a valid time");
	return INGEST_OK;
}

static int eve_line(struct ingest_ctx *c, char *line, size_t len)
{
	json_error_t jerr;
	json_t *ev = json_loadb(line, len, 0, &jerr);
	if (ev == NULL)
		return ingest_reject(c, "not JSON: %s (column %d)", jerr.text, jerr.column);
	int r;
	const char *et = jstr(ev, "event_type", NULL);
	if (!json_is_object(ev)) {
		r = ingest_reject(c, "not a JSON object");
	} else if (et == NULL) {
		r = ingest_reject(c, "no event_type: not a Suricata EVE event");
	} else if (strcmp(et, "dns") == 0) {
		json_t *dns = json_object_get(ev, "dns");
		r = json_is_object(dns) ? eve_dns(c, ev, dns)
		                        : ingest_reject(c, "dns event without a dns object");
	} else if (strcmp(et, "tls") == 0) {
		json_t *tls = json_object_get(ev, "tls");
		r = json_is_object(tls) ? eve_tls(c, ev, tls)
		                        : ingest_reject(c, "tls event without a tls object");
	} else if (strcmp(et, "flow") == 0) {
		r = ingest_eve_flow(c, ev);
	} else {
		r = INGEST_SKIP; /* alert, http, stats...: not ours */
	}
	json_decref(ev);
	return r;
}

static int eve_detect(const char *line, size_t len)
{
	if (len == 0 || line[0] != '{')
		return 0;
	if (memmem(line, len, "\"event_type\"", 12) != NULL)
		return 80;
	return 0;
}

const struct ingest_format ingest_fmt_eve = {
    .name = "eve",
    .detect = eve_detect,
    .line = eve_line,
    .independent = true,
};
