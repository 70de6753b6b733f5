/*
 * fuzz_http_input.c - libFuzzer target for what the HTTP service parses
 * from clients: path and query percent-decoding, cursors, DNSDB times and
 * rdata rewriting, --listen values, Authorization values (Basic), name
 * patterns (*.zone, head.*); and a differential check that the
 * fast resolution renderer prints exactly what jansson prints.
 *
 * The first byte picks the parser; the rest is its input.  Built with
 * -DINFRAPIVOT_FUZZ=ON it is a libFuzzer binary; otherwise the replay
 * driver (tests/fuzz/fuzz_replay.c) runs it over
 * tests/fuzz/corpus/http_input/ as a regression test.
 */
#include "service/http.c"
#include "service/http_api.c"
#include "service/http_dnsdb.c"
#include "service/http_request.c"
#include "service/http_response.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void rr_differential(const char *s, size_t n)
{
	/* split the input on '|' into rrname, rdata, bailiwick, sensor */
	char buf[2048];
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	const char *f[4] = {"", "", "", ""};
	char *p = buf;
	for (int i = 0; i < 4 && p != NULL; i++) {
		f[i] = p;
		p = strchr(p, '|');
		if (p != NULL)
			*p++ = '\0';
	}
	struct store_rr rr = {.rrname = f[0],
	                      .rrtype = (uint16_t)n,
	                      .rdata = f[1],
	                      .time_first = (int64_t)n * 1000003 - 5000000,
	                      .time_last = (int64_t)n,
	                      .count = n * 7,
	                      .bailiwick = f[2]};
	if (f[3][0] != '\0') {
		rr.nsensors = 1;
		rr.sensors[0] = f[3];
		rr.sensors_more = (unsigned)(n % 3);
	}
	char out[8192];
	int len = svc_rr_text(&rr, out, sizeof(out));
	if (len < 0)
		return;
	json_t *o = svc_rr_json(&rr);
	char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (want == NULL || strlen(want) != (size_t)len || memcmp(want, out, (size_t)len) != 0)
		abort();
	free(want);
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	char z[4096];
	if (n >= sizeof(z))
		n = sizeof(z) - 1;
	memcpy(z, s, n);
	z[n] = '\0';
	switch (data[0] % 8) {
	case 0: {
		char *d = pct_decode(s, n);
		if (d != NULL && strlen(d) > n)
			abort();
		free(d);
		break;
	}
	case 1: {
		struct svc_lookup_req req = {.kind = SVC_LOOKUP_DOMAIN, .value = "www.example.com"};
		store_fence_init(&req.fence);
		uint64_t off;
		cursor_parse(&req, z, &off);
		break;
	}
	case 2: {
		int64_t t;
		dnsdb_time(z, &t);
		break;
	}
	case 3: {
		char out[STORE_RDATA_MAX + 8];
		uint16_t types[] = {STORE_RR_CNAME, STORE_RR_MX,  STORE_RR_SRV,
		                    STORE_RR_SOA,   STORE_RR_TXT, STORE_RR_A};
		rdata_dotted(types[n % 6], z, out, sizeof(out));
		if (strlen(out) >= sizeof(out))
			abort();
		break;
	}
	case 4: {
		struct sockaddr_storage ss;
		socklen_t sl;
		bool lo;
		svc_http_parse_listen(z, &ss, &sl, &lo);
		break;
	}
	case 6: {
		char buf[512];
		size_t len = 0;
		const char *t = svc_auth_token(z, buf, sizeof(buf), &len);
		if (t != NULL && len > strlen(t))
			abort();
		break;
	}
	case 7: {
		char out[STORE_NAME_BUF];
		if (store_name_pattern(z, strlen(z), out) == 0 && strlen(out) >= sizeof(out))
			abort();
		break;
	}
	default:
		rr_differential(z, n);
		break;
	}
	return 0;
}
