/*
 * eve.c - Suricata EVE JSON: dns events (version 1, 2 and 3 layouts) and
 * tls events.  Every other event type is valid input with nothing for us
 * (skipped, not rejected).
 */
#include <string.h>

#include "ingest/estate_internal.h"

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
	const char *h = ingest_json_str(ev, "host", &n);
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
	const char *name = ingest_json_str(a, "rrname", &nl);
	const char *type = ingest_json_str(a, "rrtype", &tl);
	const char *rdata = ingest_json_str(a, "rdata", &rl);
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

/* dns.answers[] (v2 detailed, v3): one object per answer. */
static int eve_answers(struct ingest_ctx *c, json_t *ev, int64_t ts, json_t *answers,
                       unsigned *recorded, unsigned *skipped)
{
	if (!json_is_array(answers))
		return ingest_reject(c, "dns.answers is not an array");
	size_t i;
	json_t *a;
	json_array_foreach(answers, i, a)
	{
		if (!json_is_object(a))
			return ingest_reject(c, "dns.answers holds a non-object");
		if (eve_answer(c, ev, ts, a, recorded, skipped) != 0)
			return INGEST_REJECT;
	}
	return 0;
}

/* dns.grouped.CNAME: the chain from the query name, in order. */
static int eve_grouped_cnames(struct ingest_ctx *c, json_t *ev, int64_t ts, json_t *grouped,
                              char *prev, unsigned *recorded)
{
	json_t *cn = json_object_get(grouped, "CNAME");
	for (size_t i = 0; json_is_array(cn) && i < json_array_size(cn); i++) {
		json_t *v = json_array_get(cn, i);
		if (!json_is_string(v))
			return ingest_reject(c, "dns.grouped.CNAME holds a non-string");
		if (add_rr(c, ev, ts, prev, strlen(prev), STORE_RR_CNAME, json_string_value(v),
		           json_string_length(v)) != 0)
			return INGEST_REJECT;
		(*recorded)++;
		store_name_norm(json_string_value(v), json_string_length(v), prev, false);
	}
	return 0;
}

/* dns.grouped's other types: each value belongs to the query name. */
static int eve_grouped_values(struct ingest_ctx *c, json_t *ev, int64_t ts, json_t *grouped,
                              const char *qname, size_t ql, unsigned *recorded, unsigned *skipped)
{
	const char *key;
	json_t *vals;
	json_object_foreach(grouped, key, vals)
	{
		uint16_t t;
		if (strcmp(key, "CNAME") == 0)
			continue;
		if (!json_is_array(vals))
			return ingest_reject(c, "dns.grouped.%s is not an array", key);
		if (store_rrtype_parse(key, strlen(key), &t) != 0) {
			*skipped += (unsigned)json_array_size(vals);
			continue;
		}
		for (size_t i = 0; i < json_array_size(vals); i++) {
			json_t *v = json_array_get(vals, i);
			if (!json_is_string(v) || json_string_length(v) == 0) {
				(*skipped)++;
				continue;
			}
			if (add_rr(c, ev, ts, qname, ql, t, json_string_value(v),
			           json_string_length(v)) != 0)
				return INGEST_REJECT;
			(*recorded)++;
		}
	}
	return 0;
}

/* dns.grouped only: no owner names, so addresses belong to the query
 * name and CNAMEs form its chain (as with Zeek). */
static int eve_grouped(struct ingest_ctx *c, json_t *ev, int64_t ts, json_t *grouped,
                       const char *qname, size_t ql, unsigned *recorded, unsigned *skipped)
{
	if (!json_is_object(grouped))
		return ingest_reject(c, "dns.grouped is not an object");
	if (qname == NULL)
		return ingest_reject(c, "grouped answers without a query rrname");
	char prev[STORE_NAME_BUF];
	if (store_name_norm(qname, ql, prev, false) != 0)
		return ingest_reject(c, "rrname %.*s is not a valid domain name",
		                     (int)(ql > 80 ? 80 : ql), qname);
	if (eve_grouped_cnames(c, ev, ts, grouped, prev, recorded) != 0)
		return INGEST_REJECT;
	return eve_grouped_values(c, ev, ts, grouped, qname, ql, recorded, skipped);
}

/* A query event goes from the client; an answer from the server. */
static bool eve_dns_query(json_t *dns)
{
	const char *type = ingest_json_str(dns, "type", NULL);
	return type != NULL && (strcmp(type, "query") == 0 || strcmp(type, "request") == 0);
}

/* Queries and failed answers carry nothing to record. */
static bool eve_dns_answered(json_t *dns)
{
	if (eve_dns_query(dns))
		return false;
	const char *rcode = ingest_json_str(dns, "rcode", NULL);
	return rcode == NULL || strcmp(rcode, "NOERROR") == 0;
}

/* The event's client contacted a destination: src_ip, or dest_ip when
 * the event goes from the server (a DNS answer). */
static int eve_client(struct ingest_ctx *c, json_t *ev, int64_t ts, bool from_server, uint8_t dtype,
                      const char *name, const uint8_t *ip, uint8_t src)
{
	size_t cl = 0;
	const char *client = ingest_json_str(ev, from_server ? "dest_ip" : "src_ip", &cl);
	struct ingest_client_sight s = {.ts = ts,
	                                .client = client,
	                                .client_len = cl,
	                                .dtype = dtype,
	                                .name = name,
	                                .ip = ip,
	                                .src = src,
	                                .sensor = ingest_json_str(ev, "host", NULL)};
	return ingest_client_add(c, &s);
}

/* The query name of a dns event (v3 keeps it in queries[]). */
static const char *eve_qname(json_t *dns, size_t *ql)
{
	const char *qname = ingest_json_str(dns, "rrname", ql);
	json_t *queries = json_object_get(dns, "queries");
	if (json_is_array(queries) && json_array_size(queries) > 0)
		qname = ingest_json_str(json_array_get(queries, 0), "rrname", ql);
	return qname;
}

static int eve_dns(struct ingest_ctx *c, json_t *ev, json_t *dns)
{
	int64_t ts;
	if (eve_time(c, ev, &ts) != 0)
		return INGEST_REJECT;
	size_t ql = 0;
	const char *qname = eve_qname(dns, &ql);
	if (qname != NULL && ql < STORE_NAME_BUF) {
		char qn[STORE_NAME_BUF];
		memcpy(qn, qname, ql);
		qn[ql] = '\0';
		if (eve_client(c, ev, ts, !eve_dns_query(dns), STORE_DEST_DOMAIN, qn, NULL,
		               STORE_CSRC_DNS) != 0)
			return INGEST_REJECT;
	}
	if (!eve_dns_answered(dns))
		return INGEST_SKIP;
	unsigned recorded = 0, skipped = 0;
	json_t *answers = json_object_get(dns, "answers");
	json_t *grouped = json_object_get(dns, "grouped");
	int r = 0;
	if (answers != NULL)
		r = eve_answers(c, ev, ts, answers, &recorded, &skipped);
	else if (grouped != NULL)
		r = eve_grouped(c, ev, ts, grouped, qname, ql, &recorded, &skipped);
	else if (ingest_json_str(dns, "rdata", NULL) != NULL)
		r = eve_answer(c, ev, ts, dns, &recorded, &skipped); /* v1: one event per answer */
	if (r != 0)
		return INGEST_REJECT;
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

/* What the tls event tells about the certificate itself. */
static int eve_tls_meta(struct ingest_ctx *c, struct store_obs *o, struct store_cert_meta *m,
                        json_t *tls)
{
	size_t n = 0;
	const char *v = ingest_json_str(tls, "subject", &n);
	if (v != NULL) {
		snprintf(m->subject, sizeof(m->subject), "%.*s", (int)n, v);
		o->cert.has_meta = true;
	}
	v = ingest_json_str(tls, "issuerdn", &n);
	if (v != NULL) {
		snprintf(m->issuer, sizeof(m->issuer), "%.*s", (int)n, v);
		o->cert.has_meta = true;
	}
	v = ingest_json_str(tls, "serial", &n);
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

/* A TLS client hello: to the SNI name, else to the server's address.
 * Resumed sessions count too (they carry no certificate). */
static int eve_tls_client(struct ingest_ctx *c, json_t *ev, json_t *tls)
{
	json_t *tv = json_object_get(ev, "timestamp");
	int64_t ts;
	if (!ingest_clients_on(c) || tv == NULL || ingest_json_time(tv, &ts) != 0)
		return 0;
	size_t sl = 0, il = 0;
	const char *sni = ingest_json_str(tls, "sni", &sl);
	if (sni != NULL && sl > 0 && sl < STORE_NAME_BUF) {
		char name[STORE_NAME_BUF];
		memcpy(name, sni, sl);
		name[sl] = '\0';
		return eve_client(c, ev, ts, false, STORE_DEST_DOMAIN, name, NULL, STORE_CSRC_SNI);
	}
	const char *ip = ingest_json_str(ev, "dest_ip", &il);
	uint8_t a[16];
	if (ip == NULL || store_addr_parse(ip, il, a) != 0)
		return 0;
	return eve_client(c, ev, ts, false, STORE_DEST_IP, NULL, a, STORE_CSRC_TLS);
}

/* The server's JA3S (resumed sessions have one too). */
static int eve_tls_ja3s(struct ingest_ctx *c, json_t *ev, json_t *tls)
{
	int64_t ts;
	if (json_object_get(tls, "ja3s") == NULL)
		return INGEST_SKIP;
	if (eve_time(c, ev, &ts) != 0)
		return INGEST_REJECT;
	struct store_obs sens;
	sens.sensor[0] = '\0';
	eve_sensor(ev, &sens);
	return ingest_eve_ja3s(c, ev, tls, ts, sens.sensor);
}

static int eve_tls(struct ingest_ctx *c, json_t *ev, json_t *tls)
{
	if (eve_tls_client(c, ev, tls) != 0)
		return INGEST_REJECT;
	int fr = eve_tls_ja3s(c, ev, tls);
	if (fr == INGEST_REJECT)
		return INGEST_REJECT;
	size_t fl = 0;
	const char *fp = ingest_json_str(tls, "fingerprint", &fl);
	if (fp == NULL || fl == 0)
		return fr; /* resumed session: no certificate */
	int64_t ts;
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
	if (ingest_eve_server(c, ev, o->cert.ip, &o->cert.port) != 0)
		return INGEST_REJECT;
	size_t sl;
	const char *sni = ingest_json_str(tls, "sni", &sl);
	if (sni != NULL && sl > 0 && store_name_norm(sni, sl, o->cert.sni, false) != 0)
		o->cert.sni[0] = '\0'; /* not a host name: keep the sighting anyway */
	o->cert.sighting = true;
	o->time_first = ts;
	o->time_last = ts;
	eve_sensor(ev, o);
	if (eve_tls_meta(c, o, m, tls) != INGEST_OK)
		return INGEST_REJECT;
	return ingest_eve_certs(c, o, m, tls);
}

static int eve_line(struct ingest_ctx *c, char *line, size_t len)
{
	json_t *ev;
	if (ingest_json_object_line(c, line, len, &ev) != 0)
		return INGEST_REJECT;
	int r;
	const char *et = ingest_json_str(ev, "event_type", NULL);
	if (et == NULL) {
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
