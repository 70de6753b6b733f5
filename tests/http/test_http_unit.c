/*
 * test_http_unit.c - the pieces of the HTTP service that parse untrusted
 * input or must match another renderer byte for byte: percent-decoding,
 * --listen parsing, tokens, cursors, DNSDB name dots and times, and the
 * fast resolution renderer against svc_rr_json, the token an Authorization
 * header presents and name patterns; and that the OpenAPI description
 * built into the binary describes every route of the table.
 */
#include "service/http.c"
#include "service/http_api.c"
#include "service/http_auth.c"
#include "service/http_dnsdb.c"
#include "service/http_request.c"
#include "service/http_response.c"

#include "tests/testutil.h"

static void test_pct_decode(void)
{
	char *s = pct_decode("a%2Fb%41", 8);
	T_EQ_STR(s, "a/bA");
	free(s);
	const char *bad[] = {"%", "%2", "%zz", "a%G0", "%00", "%0a", "%7f", "\x01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = pct_decode(bad[i], strlen(bad[i]));
		T_CHECK(s == NULL);
		free(s);
	}
	s = pct_decode("", 0);
	T_EQ_STR(s, "");
	free(s);
}

static void test_listen(void)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool lo;
	T_EQ_INT(svc_http_parse_listen("127.0.0.1:8080", &ss, &sl, &lo), 0);
	T_CHECK(lo);
	T_EQ_INT(svc_http_parse_listen("127.8.9.1:1", &ss, &sl, &lo), 0);
	T_CHECK(lo);
	T_EQ_INT(svc_http_parse_listen("[::1]:8080", &ss, &sl, &lo), 0);
	T_CHECK(lo && ss.ss_family == AF_INET6);
	T_EQ_INT(svc_http_parse_listen("0.0.0.0:80", &ss, &sl, &lo), 0);
	T_CHECK(!lo);
	T_EQ_INT(svc_http_parse_listen("[2001:db8::1]:80", &ss, &sl, &lo), 0);
	T_CHECK(!lo);
	T_EQ_INT(svc_http_parse_listen("localhost:80", &ss, &sl, &lo), 0);
	T_CHECK(lo);
	const char *bad[] = {"",          "8080", "1.2.3.4",         "1.2.3.4:",   "1.2.3.4:65536",
	                     "[::1]8080", "[::1", "host.example:80", "1.2.3.4:-1", "::1:80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(svc_http_parse_listen(bad[i], &ss, &sl, &lo) != 0);
}

static void test_tokens(void)
{
	const char *d = t_tmpdir();
	char path[300], msg[256];
	snprintf(path, sizeof(path), "%s/tokens", d);
	FILE *f = fopen(path, "w");
	fprintf(f, "# c\n\n  rrrrrrrrrrrrrrrr read a\nwwwwwwwwwwwwwwww\twrite\naaaaaaaaaaaaaaaa "
	           "admin x\n");
	fclose(f);
	chmod(path, 0600);
	struct svc_tokens *t = NULL;
	T_EQ_INT(svc_tokens_load(path, &t, msg, sizeof(msg)), 0);
	T_EQ_INT(svc_tokens_count(t), 3);
	T_EQ_INT(svc_tokens_check(t, "rrrrrrrrrrrrrrrr", 16), SVC_ROLE_READ);
	T_EQ_INT(svc_tokens_check(t, "wwwwwwwwwwwwwwww", 16), SVC_ROLE_WRITE);
	T_EQ_INT(svc_tokens_check(t, "aaaaaaaaaaaaaaaa", 16), SVC_ROLE_ADMIN);
	T_EQ_INT(svc_tokens_check(t, "aaaaaaaaaaaaaaa", 15), SVC_ROLE_NONE);
	T_EQ_INT(svc_tokens_check(t, "", 0), SVC_ROLE_NONE);
	svc_tokens_free(t);
	const char *bad[] = {"short read\n", "rrrrrrrrrrrrrrrr\n", "rrrrrrrrrrrrrrrr root\n",
	                     "rrrrrrrrrrrrrrrr read a b\n", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		t = NULL;
		T_CHECK(svc_tokens_load(path, &t, msg, sizeof(msg)) != 0);
		T_CHECK(t == NULL);
	}
}

static void test_cursor(void)
{
	struct svc_lookup_req a = {.kind = SVC_LOOKUP_DOMAIN, .value = "www.example.com"};
	store_fence_init(&a.fence);
	struct svc_lookup_req b = a;
	b.value = "other.example.com";
	char c[32];
	uint64_t off = 0;
	cursor_make(&a, 123456789012ull, c);
	T_EQ_INT(strlen(c), 22);
	T_EQ_INT(cursor_parse(&a, c, &off), 0);
	T_EQ_INT(off, 123456789012ull);
	T_EQ_INT(cursor_parse(&b, c, &off), -2);
	struct svc_lookup_req f = a;
	f.fence.since = 5;
	T_EQ_INT(cursor_parse(&f, c, &off), -2);
	T_EQ_INT(cursor_parse(&a, "AAAA", &off), -1);
	T_EQ_INT(cursor_parse(&a, "!!!!!!!!!!!!!!!!!!!!!!", &off), -1);
}

static void test_dnsdb(void)
{
	char out[512];
	rdata_dotted(STORE_RR_CNAME, "www.example.com", out, sizeof(out));
	T_EQ_STR(out, "www.example.com.");
	rdata_dotted(STORE_RR_MX, "10 mx.example.com", out, sizeof(out));
	T_EQ_STR(out, "10 mx.example.com.");
	rdata_dotted(STORE_RR_SRV, "0 5 5060 sip.example.com", out, sizeof(out));
	T_EQ_STR(out, "0 5 5060 sip.example.com.");
	rdata_dotted(STORE_RR_SOA, "ns.example.com host.example.com 1 2 3 4 5", out, sizeof(out));
	T_EQ_STR(out, "ns.example.com. host.example.com. 1 2 3 4 5");
	rdata_dotted(STORE_RR_NS, "ns1.example.com.", out, sizeof(out));
	T_EQ_STR(out, "ns1.example.com.");
	rdata_dotted(STORE_RR_A, "192.0.2.1", out, sizeof(out));
	T_EQ_STR(out, "192.0.2.1");
	rdata_dotted(STORE_RR_TXT, "v=spf1 -all", out, sizeof(out));
	T_EQ_STR(out, "v=spf1 -all");
	name_dotted("example.com", out, sizeof(out));
	T_EQ_STR(out, "example.com.");
	int64_t t;
	T_EQ_INT(dnsdb_time("1700000000", &t), 0);
	T_EQ_INT(t, 1700000000);
	T_EQ_INT(dnsdb_time("-60", &t), 0);
	T_CHECK(t <= (int64_t)time(NULL) - 60 && t > (int64_t)time(NULL) - 70);
	T_CHECK(dnsdb_time("soon", &t) != 0);
	T_CHECK(dnsdb_time("-", &t) != 0);
}

static void check_rr_text(const struct store_rr *rr)
{
	char buf[4096];
	json_t *o = svc_rr_json(rr);
	char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int n = svc_rr_text(rr, buf, sizeof(buf));
	T_CHECK(n > 0);
	if (n > 0) {
		buf[n] = '\0';
		T_EQ_STR(buf, want);
	}
	free(want);
	json_decref(o);
}

static void test_rr_text(void)
{
	struct store_rr rr = {.rrname = "www.example.com",
	                      .rrtype = 1,
	                      .rdata = "192.0.2.1",
	                      .time_first = 1700000000,
	                      .time_last = 1700003600,
	                      .count = 3,
	                      .bailiwick = ""};
	check_rr_text(&rr);
	rr.bailiwick = "example.com";
	rr.nsensors = 2;
	rr.sensors[0] = "s1";
	rr.sensors[1] = "sensor \"two\" \\ x";
	rr.sensors_more = 7;
	check_rr_text(&rr);
	rr.rrtype = 16;
	rr.rdata = "\"v=spf1 include:_spf.example.com ~all\"";
	rr.time_first = -5;
	rr.count = 0;
	check_rr_text(&rr);
	rr.rrtype = 65534;
	check_rr_text(&rr);
	/* the general renderer's cases: non-ASCII, control bytes, no room */
	char buf[4096];
	rr.rdata = "caf\xc3\xa9";
	T_EQ_INT(svc_rr_text(&rr, buf, sizeof(buf)), -1);
	rr.rdata = "a\tb";
	T_EQ_INT(svc_rr_text(&rr, buf, sizeof(buf)), -1);
	rr.rdata = "x";
	T_EQ_INT(svc_rr_text(&rr, buf, 20), -1);
}

/* Does the description have an operation `method` on a path of prefix
 * and exactly nargs more segments? */
static bool spec_has(json_t *paths, const char *prefix, unsigned nargs, const char *method)
{
	char m[16], pre[128];
	size_t i = 0;
	for (; method[i] && i + 1 < sizeof(m); i++)
		m[i] = (char)(method[i] | 0x20);
	m[i] = '\0';
	snprintf(pre, sizeof(pre), "/%s", prefix);
	size_t pl = strlen(pre);
	const char *path;
	json_t *ops;
	json_object_foreach(paths, path, ops)
	{
		if (strncmp(path, pre, pl) != 0 || (path[pl] != '\0' && path[pl] != '/'))
			continue;
		unsigned segs = 0;
		for (const char *c = path + pl; *c; c++)
			segs += *c == '/';
		if (segs == nargs && json_object_get(ops, m) != NULL)
			return true;
	}
	return false;
}

/* Every route of the table, with each number of arguments it takes, is
 * in docs/openapi.json as the binary serves it. */
static void test_openapi_routes(void)
{
	extern const char svc_openapi_json[];
	extern const size_t svc_openapi_json_len;
	json_error_t e;
	json_t *spec = json_loadb(svc_openapi_json, svc_openapi_json_len, 0, &e);
	T_EQ_INT(spec != NULL, 1);
	json_t *paths = json_object_get(spec, "paths");
	T_EQ_INT(json_is_object(paths), 1);
	for (size_t r = 0; r < svc_nroutes && paths != NULL; r++) {
		const struct svc_route *rt = &svc_routes[r];
		for (unsigned k = rt->min_args; k <= rt->max_args; k++) {
			bool found = spec_has(paths, rt->prefix, k, rt->method);
			if (!found)
				fprintf(stderr, "openapi.json lacks %s /%s with %u more segments\n",
				        rt->method, rt->prefix, k);
			T_EQ_INT(found, 1);
		}
	}
	/* the check can fail: a route the description does not have */
	T_EQ_INT(spec_has(paths, "api/v1/nothing", 0, "GET"), 0);
	T_EQ_INT(spec_has(paths, "api/v1/stats", 0, "DELETE"), 0);
	T_EQ_INT(spec_has(paths, "api/v1/stats", 1, "GET"), 0);
	json_decref(spec);
}

/* The token an Authorization value presents: Bearer, Basic (the password),
 * bare; anything else none. */
static void test_auth_token(void)
{
	char buf[64];
	size_t len = 0;
	const char *t = svc_auth_token("Bearer  abc", buf, sizeof(buf), &len);
	T_CHECK(t != NULL && len == 3 && memcmp(t, "abc", 3) == 0);
	/* "analyst:tok:en" */
	t = svc_auth_token("Basic YW5hbHlzdDp0b2s6ZW4=", buf, sizeof(buf), &len);
	T_CHECK(t != NULL && len == 6 && memcmp(t, "tok:en", 6) == 0);
	t = svc_auth_token("basic OnRvaw==", buf, sizeof(buf), &len); /* ":tok" */
	T_CHECK(t != NULL && len == 3 && memcmp(t, "tok", 3) == 0);
	t = svc_auth_token("tok-0123456789abcdef", buf, sizeof(buf), &len);
	T_CHECK(t != NULL && len == 20);
	T_CHECK(svc_auth_token("Basic dG9r", buf, sizeof(buf), &len) == NULL); /* "tok" */
	T_CHECK(svc_auth_token("Basic !!!!", buf, sizeof(buf), &len) == NULL);
	/* "a:tok\0x": a NUL in the password (RFC 7617 forbids controls) is no token */
	T_CHECK(svc_auth_token("Basic YTp0b2sAeA==", buf, sizeof(buf), &len) == NULL);
	T_CHECK(svc_auth_token("Digest abc", buf, sizeof(buf), &len) == NULL);
	/* 74 decoded bytes ("aaa...:b") do not fit the 64-byte buffer */
	T_CHECK(svc_auth_token("Basic YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
	                       "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhOmI=",
	                       buf, sizeof(buf), &len) == NULL);
	T_CHECK(svc_auth_token("Basic OnRvaw==", buf, 0, &len) == NULL);
}

/* Name patterns: a wildcard label at one end only. */
static void test_name_pattern(void)
{
	char out[STORE_NAME_BUF];
	T_EQ_INT(store_name_pattern("Update-Check.*", 14, out), 0);
	T_EQ_STR(out, "update-check.*");
	T_CHECK(store_name_is_rhs(out));
	T_EQ_INT(store_name_pattern("www.example.*.", 14, out), 0);
	T_EQ_STR(out, "www.example.*");
	T_EQ_INT(store_name_pattern("*.Example.com.", 14, out), 0);
	T_EQ_STR(out, "*.example.com");
	T_CHECK(!store_name_is_rhs(out));
	T_EQ_INT(store_name_pattern("example.com", 11, out), 0);
	T_CHECK(!store_name_is_rhs(out));
	const char *bad[] = {"*.x.*", "a.*.b", "*", ".*", "x..*", "*.*", "x.**", "x*.*", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(store_name_pattern(bad[i], strlen(bad[i]), out) != 0);
}

int main(void)
{
	test_auth_token();
	test_name_pattern();
	test_pct_decode();
	test_listen();
	test_tokens();
	test_cursor();
	test_dnsdb();
	test_rr_text();
	test_openapi_routes();
	return t_done();
}
