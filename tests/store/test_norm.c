/*
 * test_norm.c - normalisation of names, addresses, hashes, types, times.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "tests/testutil.h"
#include "util/hex.h"
#include "util/time.h"

static const char *name(const char *in, bool wild)
{
	static char out[STORE_NAME_BUF];
	if (store_name_norm(in, strlen(in), out, wild) != 0)
		return "ERR";
	return out;
}

static void test_names(void)
{
	T_EQ_STR(name("WWW.Example.COM.", false), "www.example.com");
	T_EQ_STR(name("www.example.com", false), "www.example.com");
	T_EQ_STR(name("_dmarc.example.com", false), "_dmarc.example.com");
	T_EQ_STR(name("xn--bcher-kva.example", false), "xn--bcher-kva.example");
	T_EQ_STR(name("a..b", false), "ERR");
	T_EQ_STR(name(".", false), "ERR");
	T_EQ_STR(name("", false), "ERR");
	T_EQ_STR(name(".example.com", false), "ERR");
	T_EQ_STR(name("ex ample.com", false), "ERR");
	T_EQ_STR(name("ex/ample.com", false), "ERR");
	T_EQ_STR(name("bücher.example", false), "ERR");
	/* 63-octet label ok, 64 not */
	char l63[80], l64[80];
	memset(l63, 'a', 63);
	memcpy(l63 + 63, ".com", 5);
	memset(l64, 'a', 64);
	memcpy(l64 + 64, ".com", 5);
	T_CHECK(strcmp(name(l63, false), "ERR") != 0);
	T_EQ_STR(name(l64, false), "ERR");
	/* total 253 ok, 254 not (trailing dot does not count) */
	char n253[300];
	size_t o = 0;
	while (o + 64 < 253) {
		memset(n253 + o, 'b', 63);
		o += 63;
		n253[o++] = '.';
	}
	while (o < 253)
		n253[o++] = 'c';
	n253[o] = '\0';
	T_EQ_INT(strlen(n253), 253);
	T_CHECK(strcmp(name(n253, false), "ERR") != 0);
	n253[253] = '.';
	n253[254] = '\0';
	T_CHECK(strcmp(name(n253, false), "ERR") != 0);
	n253[253] = 'd';
	T_EQ_STR(name(n253, false), "ERR");
	/* wildcard only as whole leftmost label, only when allowed */
	T_EQ_STR(name("*.Example.com", true), "*.example.com");
	T_EQ_STR(name("*.example.com", false), "ERR");
	T_EQ_STR(name("a.*.example.com", true), "ERR");
	T_EQ_STR(name("*a.example.com", true), "ERR");
	T_EQ_STR(name("*", true), "ERR");
}

static const char *addr(const char *in)
{
	static char out[STORE_ADDR_BUF];
	uint8_t a[16];
	if (store_addr_parse(in, strlen(in), a) != 0)
		return "ERR";
	store_addr_format(a, out);
	return out;
}

static uint64_t lcg(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 33;
}

/* A dotted quad of 1-4 digit groups (leading zeros and values over 255
 * included), sometimes with a group missing, one too many, a character
 * dropped or a letter put in. */
static size_t quad_like(uint64_t *seed, char *out)
{
	size_t len = 0;
	unsigned groups = lcg(seed) % 8 == 0 ? 3 + (unsigned)(lcg(seed) % 3) : 4;
	for (unsigned g = 0; g < groups; g++) {
		if (g > 0)
			out[len++] = '.';
		unsigned nd = 1 + (unsigned)(lcg(seed) % 4);
		for (unsigned k = 0; k < nd; k++)
			out[len++] = (char)('0' + lcg(seed) % (k == 0 && nd == 3 ? 3 : 10));
	}
	unsigned r = (unsigned)(lcg(seed) % 10);
	if (r == 0 && len > 0)
		len--; /* dropped */
	else if (r == 1)
		out[lcg(seed) % len] = 'x';
	out[len] = '\0';
	return len;
}

/* The dotted-quad fast path agrees with inet_pton on 200,000 seeded
 * strings shaped like addresses and on the edges. */
static void test_addrs_vs_inet_pton(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned agree = 0, valid = 0, n = 200000;
	for (unsigned i = 0; i < n; i++) {
		char in[32];
		size_t len = quad_like(&seed, in);
		uint8_t a[16];
		struct in_addr v4;
		int want = inet_pton(AF_INET, in, &v4) == 1;
		int got = store_addr_parse(in, len, a) == 0;
		valid += want;
		agree += got == want && (!want || memcmp(a + 12, &v4, 4) == 0);
		if (got != want)
			fprintf(stderr, "disagree on '%s': inet_pton %d, store %d\n", in, want,
			        got);
	}
	T_EQ_INT(agree, n);
	/* both kinds are reached */
	T_CHECK(valid > n / 10);
	T_CHECK(valid < n - n / 10);
	T_EQ_STR(addr("0.0.0.0"), "0.0.0.0");
	T_EQ_STR(addr("255.255.255.255"), "255.255.255.255");
	T_EQ_STR(addr("01.2.3.4"), "ERR");
	T_EQ_STR(addr("1.2.3.1000"), "ERR");
	T_EQ_STR(addr("1.2.3.4."), "ERR");
	T_EQ_STR(addr("1..3.4"), "ERR");
}

static void test_addrs(void)
{
	T_EQ_STR(addr("192.0.2.7"), "192.0.2.7");
	T_EQ_STR(addr("::ffff:192.0.2.7"), "192.0.2.7");
	T_EQ_STR(addr("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
	T_EQ_STR(addr("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
	T_EQ_STR(addr("2001:db8:0:0:1:0:0:0"), "2001:db8:0:0:1::");
	T_EQ_STR(addr("[::1]"), "::1");
	T_EQ_STR(addr("2a00:1450:4001:0c01:0000:0000:0000:0063"), "2a00:1450:4001:c01::63");
	T_EQ_STR(addr("192.0.2.256"), "ERR");
	T_EQ_STR(addr("192.0.2"), "ERR");
	T_EQ_STR(addr("hello"), "ERR");
	T_EQ_STR(addr("1:2:3:4:5:6:7:8:9"), "ERR");
	T_EQ_STR(addr(""), "ERR");

	uint8_t a[16];
	unsigned plen;
	T_EQ_INT(store_prefix_parse("192.0.2.77/24", 13, a, &plen), 0);
	T_EQ_INT(plen, 96 + 24);
	char out[STORE_ADDR_BUF];
	store_addr_format(a, out);
	T_EQ_STR(out, "192.0.2.0");
	T_EQ_INT(store_prefix_parse("2001:db8::/48", 13, a, &plen), 0);
	T_EQ_INT(plen, 48);
	T_EQ_INT(store_prefix_parse("10.0.0.1,16", 11, a, &plen), 0);
	T_EQ_INT(plen, 96 + 16);
	T_CHECK(store_prefix_parse("10.0.0.1/33", 11, a, &plen) != 0);
	T_CHECK(store_prefix_parse("10.0.0.1/", 9, a, &plen) != 0);
	T_CHECK(store_prefix_parse("::/129", 6, a, &plen) != 0);
	T_EQ_INT(store_prefix_parse("10.0.0.1", 8, a, &plen), 0);
	T_EQ_INT(plen, 128);
}

static void test_hashes(void)
{
	uint8_t h[32];
	size_t hl;
	char hex[65];
	const char *colon = "E2:FB:07:71:EE:6F:C0:D0:E3:24:BC:86:3C:02:B5:79:21:25:7C:86";
	T_EQ_INT(store_hash_parse(colon, strlen(colon), h, &hl), 0);
	T_EQ_INT(hl, 20);
	util_hex_encode(h, hl, hex);
	T_EQ_STR(hex, "e2fb0771ee6fc0d0e324bc863c02b57921257c86");
	const char *plain = "e2fb0771ee6fc0d0e324bc863c02b57921257c86";
	T_EQ_INT(store_hash_parse(plain, strlen(plain), h, &hl), 0);
	const char *s256 = "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244";
	T_EQ_INT(store_hash_parse(s256, strlen(s256), h, &hl), 0);
	T_EQ_INT(hl, 32);
	T_CHECK(store_hash_parse("e2fb07", 6, h, &hl) != 0);
	T_CHECK(store_hash_parse("e2fb0771ee6fc0d0e324bc863c02b57921257c8g", 40, h, &hl) != 0);
	T_CHECK(store_hash_parse("e2:fb:07:71:ee:6f:c0:d0:e3:24:bc:86:3c:02:b5:79:21:25:7c:86:", 60,
	                         h, &hl) != 0);
	T_CHECK(store_hash_parse("e2fb0771ee6fc0d0e324bc863c02b57921257c8", 39, h, &hl) != 0);
	T_CHECK(store_hash_parse("e2:fb07", 7, h, &hl) != 0);
}

static void test_types_and_rdata(void)
{
	uint16_t t;
	char buf[16], out[STORE_RDATA_MAX];
	T_EQ_INT(store_rrtype_parse("aaaa", 4, &t), 0);
	T_EQ_INT(t, 28);
	T_EQ_INT(store_rrtype_parse("TYPE65534", 9, &t), 0);
	T_EQ_INT(t, 65534);
	T_EQ_STR(store_rrtype_name(65534, buf), "TYPE65534");
	T_EQ_INT(store_rrtype_parse("99999", 5, &t), STORE_EBADTYPE);
	T_EQ_INT(store_rrtype_parse("BOGUS", 5, &t), STORE_EBADTYPE);
	T_EQ_INT(store_rdata_norm(STORE_RR_MX, "10 MX1.Example.ORG.", 19, out), 0);
	T_EQ_STR(out, "10 mx1.example.org");
	T_EQ_INT(store_rdata_norm(STORE_RR_CNAME, "WWW-CMU.ANDREW.cmu.edu", 22, out), 0);
	T_EQ_STR(out, "www-cmu.andrew.cmu.edu");
	T_EQ_INT(store_rdata_norm(STORE_RR_A, "2001:db8::1", 11, out), STORE_EBADADDR);
	T_EQ_INT(store_rdata_norm(STORE_RR_AAAA, "192.0.2.1", 9, out), STORE_EBADADDR);
	T_EQ_INT(store_rdata_norm(STORE_RR_MX, "mx.example.org", 14, out), STORE_EBADNAME);
}

static void test_times(void)
{
	int64_t t;
	int64_t now = 1700000000;
	T_EQ_INT(store_time_parse("1315586409", now, &t), 0);
	T_EQ_INT(t, 1315586409);
	T_EQ_INT(store_time_parse("1322849924.408856", now, &t), 0);
	T_EQ_INT(t, 1322849924);
	T_EQ_INT(store_time_parse("2011-09-09", now, &t), 0);
	T_EQ_INT(t, 1315526400);
	T_EQ_INT(store_time_parse("2011-09-09T16:40:09Z", now, &t), 0);
	T_EQ_INT(t, 1315586409);
	T_EQ_INT(store_time_parse("2013-03-19T18:06:36.798286+0000", now, &t), 0);
	T_EQ_INT(t, 1363716396);
	T_EQ_INT(store_time_parse("2013-03-19T20:06:36+02:00", now, &t), 0);
	T_EQ_INT(t, 1363716396);
	T_EQ_INT(store_time_parse("-7d", now, &t), 0);
	T_EQ_INT(t, now - 7 * 86400);
	T_EQ_INT(store_time_parse("-12h", now, &t), 0);
	T_EQ_INT(t, now - 12 * 3600);
	T_EQ_INT(store_time_parse("-2w", now, &t), 0);
	T_EQ_INT(t, now - 14 * 86400);
	T_EQ_INT(store_time_parse("yesterday", now, &t), STORE_EBADTIME);
	T_EQ_INT(store_time_parse("2011-13-01", now, &t), STORE_EBADTIME);
	T_EQ_INT(store_time_parse("2011-09-09T25:00:00Z", now, &t), STORE_EBADTIME);
	T_EQ_INT(store_time_parse("-7x", now, &t), STORE_EBADTIME);
	T_EQ_INT(store_time_parse("XXXXXXXXXX.XXXXXX", now, &t), STORE_EBADTIME);
	T_EQ_INT(store_time_parse("", now, &t), STORE_EBADTIME);
	char buf[32];
	util_time_format(1315586409, buf, sizeof(buf));
	T_EQ_STR(buf, "2011-09-09T16:40:09Z");
	util_time_format(0, buf, sizeof(buf));
	T_EQ_STR(buf, "1970-01-01T00:00:00Z");
	util_time_format(951782400, buf, sizeof(buf)); /* leap day 2000 */
	T_EQ_STR(buf, "2000-02-29T00:00:00Z");

	struct store_fence f;
	store_fence_init(&f);
	T_CHECK(store_fence_match(&f, 1, 2));
	f.since = 100;
	f.until = 200;
	T_CHECK(store_fence_match(&f, 50, 150));  /* overlaps the start */
	T_CHECK(store_fence_match(&f, 150, 250)); /* overlaps the end */
	T_CHECK(!store_fence_match(&f, 10, 99));
	T_CHECK(!store_fence_match(&f, 201, 300));
	store_fence_init(&f);
	f.first_after = 100;
	T_CHECK(!store_fence_match(&f, 99, 500));
	T_CHECK(store_fence_match(&f, 100, 500));
	store_fence_init(&f);
	f.first_before = 100;
	T_CHECK(store_fence_match(&f, 100, 500));
	T_CHECK(!store_fence_match(&f, 101, 500));
	store_fence_init(&f);
	f.last_after = 100;
	T_CHECK(!store_fence_match(&f, 1, 99));
	T_CHECK(store_fence_match(&f, 1, 100));
	store_fence_init(&f);
	f.last_before = 100;
	T_CHECK(store_fence_match(&f, 1, 100));
	T_CHECK(!store_fence_match(&f, 1, 101));
}

int main(void)
{
	test_names();
	test_addrs();
	test_addrs_vs_inet_pton();
	test_hashes();
	test_types_and_rdata();
	test_times();
	T_EQ_STR(store_strerror(STORE_EVERSION), "unknown database schema version");
	return t_done();
}
