/*
 * eve_flow.c - Suricata EVE flow events: one client sighting per flow,
 * src_ip -> dest_ip at flow.start with bytes_toserver/bytes_toclient.
 */
#include <string.h>

#include "ingest/estate_internal.h"

static int flow_bytes(struct ingest_ctx *c, json_t *flow, const char *key, uint64_t *out,
                      bool *known)
{
	json_t *v = json_object_get(flow, key);
	*out = 0;
	if (v == NULL) {
		*known = false;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return ingest_reject(c, "flow.%s is not a byte count", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int ingest_eve_flow(struct ingest_ctx *c, json_t *ev)
{
	if (!ingest_clients_on(c))
		return INGEST_SKIP;
	json_t *flow = json_object_get(ev, "flow");
	if (!json_is_object(flow))
		return ingest_reject(c, "flow event without a flow object");
	json_t *t = json_object_get(flow, "start");
	if (t == NULL)
		t = json_object_get(ev, "timestamp");
	int64_t ts;
	if (t == NULL || ingest_json_time(t, &ts) != 0)
		return ingest_reject(c, "flow.start is not a valid time");
	size_t sl = 0, dl = 0;
	const char *src = ingest_json_str(ev, "src_ip", &sl);
	const char *dst = ingest_json_str(ev, "dest_ip", &dl);
	uint8_t a[16], d[16];
	if (src == NULL || store_addr_parse(src, sl, a) != 0)
		return ingest_reject(c, "src_ip is not an IP address");
	if (dst == NULL || store_addr_parse(dst, dl, d) != 0)
		return ingest_reject(c, "dest_ip is not an IP address");
	uint64_t out, in;
	bool ko = true, ki = true;
	if (flow_bytes(c, flow, "bytes_toserver", &out, &ko) != 0 ||
	    flow_bytes(c, flow, "bytes_toclient", &in, &ki) != 0)
		return INGEST_REJECT;
	const char *host = ingest_json_str(ev, "host", NULL);
	struct ingest_client_sight s = {.ts = ts,
	                                .client = src,
	                                .client_len = sl,
	                                .dtype = STORE_DEST_IP,
	                                .ip = d,
	                                .src = STORE_CSRC_FLOW,
	                                .has_bytes = ko && ki,
	                                .bytes_out = out,
	                                .bytes_in = in,
	                                .sensor = host};
	if (ingest_client_add(c, &s) != 0)
		return INGEST_REJECT;
	return INGEST_OK;
}
