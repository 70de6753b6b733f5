/*
 * test_jarm.c - the JARM building blocks of ingest/jarm.c without a
 * network: list orders worked out by hand from the method's description,
 * the ten ClientHellos taken apart field by field, the ServerHello parser
 * on well-formed, truncated and hostile answers, and the fingerprint of
 * answers whose value was derived by hand (hash part: sha256sum).
 * Includes the .c to reach its static tables.
 */
#include "ingest/jarm.c"

#include "tests/testutil.h"

static void test_order(void)
{
	uint8_t idx[8];
	size_t n;
	/* 5 entries: top half = the middle, then the lower half backwards */
	n = jarm_order(5, ORD_TOP_HALF, idx);
	T_CHECK(n == 3 && idx[0] == 2 && idx[1] == 1 && idx[2] == 0);
	n = jarm_order(5, ORD_BOTTOM_HALF, idx);
	T_CHECK(n == 2 && idx[0] == 3 && idx[1] == 4);
	n = jarm_order(5, ORD_MIDDLE_OUT, idx);
	T_CHECK(n == 5 && idx[0] == 2 && idx[1] == 3 && idx[2] == 1 && idx[3] == 4 && idx[4] == 0);
	/* 4 entries */
	n = jarm_order(4, ORD_TOP_HALF, idx);
	T_CHECK(n == 2 && idx[0] == 1 && idx[1] == 0);
	n = jarm_order(4, ORD_BOTTOM_HALF, idx);
	T_CHECK(n == 2 && idx[0] == 2 && idx[1] == 3);
	n = jarm_order(4, ORD_MIDDLE_OUT, idx);
	T_CHECK(n == 4 && idx[0] == 2 && idx[1] == 1 && idx[2] == 3 && idx[3] == 0);
	n = jarm_order(4, ORD_REVERSE, idx);
	T_CHECK(n == 4 && idx[0] == 3 && idx[3] == 0);
	n = jarm_order(3, ORD_FORWARD, idx);
	T_CHECK(n == 3 && idx[0] == 0 && idx[2] == 2);
	T_EQ_INT(JARM_NOFFER, 69);
	T_EQ_INT(JARM_NRANK, 69);
}

/* A ClientHello taken apart. */
struct hello {
	uint16_t rec_version, version;
	size_t nsuites;
	uint16_t suites[80];
	size_t next;
	uint16_t types[20];
	const uint8_t *val[20];
	size_t vlen[20];
};

static bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && v >> 8 == (v & 0xff);
}

/* Checks every length field on the way; false when one is wrong. */
static bool hello_split(const uint8_t *p, size_t n, struct hello *h)
{
	memset(h, 0, sizeof(*h));
	if (n < 9 + 2 + 32 + 1 + 32 + 2 || p[0] != 0x16 || util_be16_load(p + 3) != n - 5 ||
	    p[5] != 1 || ((size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8]) != n - 9 || p[43] != 32)
		return false;
	h->rec_version = util_be16_load(p + 1);
	h->version = util_be16_load(p + 9);
	size_t off = 76, cl = util_be16_load(p + off);
	if (cl % 2 || cl / 2 > 80 || off + 2 + cl + 4 > n)
		return false;
	for (size_t i = 0; i < cl / 2; i++)
		h->suites[h->nsuites++] = util_be16_load(p + off + 2 + 2 * i);
	off += 2 + cl;
	if (p[off] != 1 || p[off + 1] != 0 || util_be16_load(p + off + 2) != n - off - 4)
		return false;
	struct ext_walk w = {p + off + 4, n - off - 4, 0};
	int rc;
	while (h->next < 20 &&
	       (rc = ext_next(&w, &h->types[h->next], &h->val[h->next], &h->vlen[h->next])) > 0)
		h->next++;
	return w.off == w.n;
}

static const uint8_t *ext_val(const struct hello *h, uint16_t type, size_t *len)
{
	for (size_t i = 0; i < h->next; i++)
		if (h->types[i] == type) {
			*len = h->vlen[i];
			return h->val[i];
		}
	return NULL;
}

static void test_hello_suites(void)
{
	uint8_t buf[1024];
	size_t len;
	struct hello h[INGEST_JARM_PROBES];
	for (unsigned i = 0; i < INGEST_JARM_PROBES; i++) {
		T_EQ_INT(ingest_jarm_hello(i, "jarm.test", buf, sizeof(buf), &len), 0);
		T_CHECK(hello_split(buf, len, &h[i]));
	}
	T_EQ_INT(h[0].nsuites, 69);
	T_CHECK(memcmp(h[0].suites, jarm_offer, sizeof(jarm_offer)) == 0);
	T_CHECK(h[1].suites[0] == 0x0005 && h[1].suites[68] == 0x0016);
	/* top half of 69: the middle (35th) down to the first; bottom half:
	 * the 36th to the last; middle out: 35th, 36th, 34th, ... */
	T_EQ_INT(h[2].nsuites, 35);
	T_CHECK(h[2].suites[0] == jarm_offer[34] && h[2].suites[34] == 0x0016);
	T_EQ_INT(h[3].nsuites, 34);
	T_CHECK(h[3].suites[0] == jarm_offer[35] && h[3].suites[33] == 0x0005);
	T_EQ_INT(h[4].nsuites, 70);
	T_CHECK(is_grease(h[4].suites[0]) && h[4].suites[1] == jarm_offer[34] &&
	        h[4].suites[2] == jarm_offer[35] && h[4].suites[3] == jarm_offer[33] &&
	        h[4].suites[69] == 0x0016);
	T_EQ_INT(h[8].nsuites, 64);
	for (size_t k = 0; k < h[8].nsuites; k++)
		T_CHECK(h[8].suites[k] >> 8 != 0x13);
	T_CHECK(h[5].rec_version == 0x0302 && h[5].version == 0x0302);
	T_CHECK(h[0].rec_version == 0x0303 && h[0].version == 0x0303);
	T_CHECK(h[6].rec_version == 0x0301 && h[6].version == 0x0303);
}

static void test_hello_extensions(void)
{
	static const uint16_t want0[] = {0x0000, 0x0017, 0x0001, 0xff01, 0x000a, 0x000b,
	                                 0x0023, 0x0010, 0x000d, 0x0033, 0x002d, 0x002b};
	uint8_t buf[1024];
	size_t len, vl;
	struct hello h;
	T_EQ_INT(ingest_jarm_hello(0, "jarm.test", buf, sizeof(buf), &len), 0);
	T_CHECK(hello_split(buf, len, &h));
	T_EQ_INT(h.next, 12);
	for (size_t i = 0; i < 12 && i < h.next; i++)
		T_EQ_INT(h.types[i], want0[i]);
	const uint8_t *v = ext_val(&h, 0x0000, &vl);
	T_CHECK(v != NULL && vl == 14 && memcmp(v + 5, "jarm.test", 9) == 0);
	/* the first probe's ALPN list reversed: hq, h2c, then spdy/3 and h2 as one */
	v = ext_val(&h, 0x0010, &vl);
	T_CHECK(v != NULL && vl > 20 && memcmp(v + 2, "\x02hq\x03h2c\x06spdy/3\x02h2", 17) == 0);
	v = ext_val(&h, 0x002b, &vl);
	T_CHECK(v != NULL && vl == 7 && memcmp(v, "\x06\x03\x03\x03\x02\x03\x01", 7) == 0);
	/* the fifth: GREASE first, no supported_versions, rare ALPN reversed */
	T_EQ_INT(ingest_jarm_hello(4, NULL, buf, sizeof(buf), &len), 0);
	T_CHECK(hello_split(buf, len, &h));
	T_CHECK(h.next == 11 && is_grease(h.types[0]) && h.types[1] == 0x0017);
	T_CHECK(ext_val(&h, 0x002b, &vl) == NULL && ext_val(&h, 0x0000, &vl) == NULL);
	v = ext_val(&h, 0x0010, &vl);
	T_CHECK(v != NULL && memcmp(v + 2, "\x02hq\x03h2c\x06spdy/3\x06spdy/2", 21) == 0);
	v = ext_val(&h, 0x0033, &vl); /* GREASE share of one byte, then x25519 */
	T_CHECK(v != NULL && vl == 2 + 5 + 36 && is_grease(util_be16_load(v + 2)) &&
	        util_be16_load(v + 7) == 0x001d);
	/* the tenth: GREASE, then 1.3 .. 1.0 */
	T_EQ_INT(ingest_jarm_hello(9, "x", buf, sizeof(buf), &len), 0);
	T_CHECK(hello_split(buf, len, &h));
	v = ext_val(&h, 0x002b, &vl);
	T_CHECK(v != NULL && vl == 11 && is_grease(util_be16_load(v + 1)) &&
	        memcmp(v + 3, "\x03\x04\x03\x03\x03\x02\x03\x01", 8) == 0);
	/* bad arguments */
	T_EQ_INT(ingest_jarm_hello(10, NULL, buf, sizeof(buf), &len), -EINVAL);
	T_EQ_INT(ingest_jarm_hello(0, NULL, buf, 100, &len), -E2BIG);
}

/* A ServerHello record: cipher, version, session id length, extensions. */
static size_t server_hello(uint8_t *out, uint16_t cipher, uint16_t version, uint8_t sidlen,
                           const uint8_t *ext, size_t extlen, bool with_ext)
{
	size_t n = 9;
	util_be16_store(out + n, version);
	memset(out + n + 2, 0x11, 32);
	n += 34;
	out[n++] = sidlen;
	memset(out + n, 0x22, sidlen);
	n += sidlen;
	util_be16_store(out + n, cipher);
	out[n + 2] = 0;
	n += 3;
	if (with_ext) {
		util_be16_store(out + n, (uint16_t)extlen);
		memcpy(out + n + 2, ext, extlen);
		n += 2 + extlen;
	}
	out[0] = 0x16;
	util_be16_store(out + 1, 0x0303);
	util_be16_store(out + 3, (uint16_t)(n - 5));
	out[5] = 2;
	out[6] = 0;
	util_be16_store(out + 7, (uint16_t)(n - 9));
	return n;
}

#define EXT(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_parse(void)
{
	uint8_t m[2048];
	char t[INGEST_JARM_TEXT_MAX];
	size_t n = server_hello(m, 0xc02f, 0x0303, 32,
	                        EXT("\xff\x01\x00\x01\x00\x00\x10\x00\x05\x00\x03\x02h2"
	                            "\x00\x0b\x00\x02\x01\x00"),
	                        true);
	T_EQ_INT(ingest_jarm_parse(m, n, t, sizeof(t)), 1);
	T_EQ_STR(t, "c02f|0303|h2|ff01-0010-000b");
	/* every truncation: no ServerHello, or (cut after the compression
	 * method) one without extensions; never a read past n */
	for (size_t k = 0; k < n; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		memcpy(cut, m, k);
		int rc = ingest_jarm_parse(cut, k, t, sizeof(t));
		T_CHECK((rc == 0 && strcmp(t, "|||") == 0) ||
		        (rc == 1 && strcmp(t, "c02f|0303||||") == 0));
		free(cut);
	}
	/* trailing bytes after the record are not read */
	memset(m + n, 0xee, 100);
	T_EQ_INT(ingest_jarm_parse(m, n + 100, t, sizeof(t)), 1);
	T_EQ_STR(t, "c02f|0303|h2|ff01-0010-000b");
	/* TLS 1.3: empty session id echo is fine, legacy version 0303 */
	n = server_hello(m, 0x1301, 0x0303, 0, EXT("\x00\x2b\x00\x02\x03\x04\x00\x33\x00\x00"),
	                 true);
	T_EQ_INT(ingest_jarm_parse(m, n, t, sizeof(t)), 1);
	T_EQ_STR(t, "1301|0303||002b-0033");
	/* no extensions at all; an empty extension block */
	n = server_hello(m, 0x009c, 0x0301, 0, NULL, 0, false);
	T_EQ_INT(ingest_jarm_parse(m, n, t, sizeof(t)), 1);
	T_EQ_STR(t, "009c|0301||||");
	n = server_hello(m, 0x009c, 0x0302, 0, (const uint8_t *)"", 0, true);
	T_EQ_INT(ingest_jarm_parse(m, n, t, sizeof(t)), 1);
	T_EQ_STR(t, "009c|0302||");
}

/* Answers that are no ServerHello, each "|||". */
static void test_parse_hostile(void)
{
	uint8_t m[2048];
	char t[INGEST_JARM_TEXT_MAX];
	size_t n;
#define NONE(len)                                                                                  \
	do {                                                                                       \
		T_EQ_INT(ingest_jarm_parse(m, (len), t, sizeof(t)), 0);                            \
		T_EQ_STR(t, "|||");                                                                \
	} while (0)
	memcpy(m, "\x15\x03\x03\x00\x02\x02\x28", 7); /* alert */
	NONE(7);
	memcpy(m, "HTTP/1.0 400 Bad Request\r\n", 26);
	NONE(26);
	NONE(0);
	/* ALPN not printable, with '|', empty; extension overrunning its block */
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT("\x00\x10\x00\x05\x00\x03\x02h\x01"), true);
	NONE(n);
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT("\x00\x10\x00\x05\x00\x03\x02h|"), true);
	NONE(n);
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT("\x00\x10\x00\x00"), true);
	NONE(n);
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT("\xff\x01\x00\x09\x00"), true);
	NONE(n);
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT("\xff\x01\x00"), true);
	NONE(n);
	/* a version the fingerprint has no letter for */
	n = server_hello(m, 0xc02f, 0x7f1c, 0, EXT(""), true);
	NONE(n);
	/* session id length past the message */
	n = server_hello(m, 0xc02f, 0x0303, 0, EXT(""), true);
	m[43] = 0xff;
	NONE(n);
	/* extensions past the 1484 bytes that are read: 400 of them */
	uint8_t big[2000];
	for (size_t i = 0; i < 400; i++)
		memcpy(big + 4 * i, "\x00\x17\x00\x00", 4);
	n = server_hello(m, 0xc02f, 0x0303, 0, big, 1600, true);
	NONE(n);
	/* 300 of them fit: 300 types in the text */
	n = server_hello(m, 0xc02f, 0x0303, 0, big, 1200, true);
	T_EQ_INT(ingest_jarm_parse(m, n, t, sizeof(t)), 1);
	T_EQ_INT(strlen(t), 10 + 1 + 300 * 5 - 1);
	/* an output buffer too small: "|||", not a cut text */
	T_EQ_INT(ingest_jarm_parse(m, n, t, 100), 0);
	T_EQ_STR(t, "|||");
#undef NONE
}

static void test_hash(void)
{
	char fp[INGEST_JARM_LEN + 1], raw[1024];
	T_EQ_INT(ingest_jarm_hash("|||,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), 0);
	T_EQ_STR(fp, "00000000000000000000000000000000000000000000000000000000000000");
	/* c02f is 41st (0x29), 0303 is d; printf 'h2ff01-0010-000b' x10 | sha256sum */
	raw[0] = '\0';
	for (int i = 0; i < 10; i++)
		snprintf(raw + strlen(raw), sizeof(raw) - strlen(raw),
		         "%sc02f|0303|h2|ff01-0010-000b", i ? "," : "");
	T_EQ_INT(ingest_jarm_hash(raw, fp), 0);
	T_EQ_STR(fp, "29d29d29d29d29d29d29d29d29d29d57e0ee603ebead8dfdd95d87460b7000");
	/* openssl s_server (TLS 1.3 default), value from tests/jarm/jarm_ref.py */
	T_EQ_INT(ingest_jarm_hash("0033|0303||ff01-0001-0023-0017,009d|0303||ff01-0001-0023-0017,"
	                          "009f|0303||ff01-0001-0023-0017,c013|0303||ff01-0001-000b-0023-"
	                          "0017,c013|0303||ff01-0001-000b-0023-0017,|||,1302|0303||002b-"
	                          "0033,1303|0303||002b-0033,|||,|||",
	                          fp),
	         0);
	T_EQ_STR(fp, "07d14d16d21d21d00042d43d000000aa99ce74e2c6d013c745aa52b5cc042d");
	/* an unknown cipher is one past the list (70 = 0x46); no-extension
	 * answers hash like empty ones */
	T_EQ_INT(ingest_jarm_hash("abcd|0304||||,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), 0);
	T_CHECK(strncmp(fp, "46e000", 6) == 0);
	/* not ten answers, bad cipher or version */
	T_EQ_INT(ingest_jarm_hash("|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), -EINVAL);
	T_EQ_INT(ingest_jarm_hash("|||,|||,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), -EINVAL);
	T_EQ_INT(ingest_jarm_hash("c0zz|0303||,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), -EINVAL);
	T_EQ_INT(ingest_jarm_hash("c02f|0309||,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), -EINVAL);
	T_EQ_INT(ingest_jarm_hash("c02f,|||,|||,|||,|||,|||,|||,|||,|||,|||", fp), -EINVAL);
	T_EQ_INT(ingest_jarm_hash("", fp), -EINVAL);
	T_EQ_STR(fp, "00000000000000000000000000000000000000000000000000000000000000");
}

int main(void)
{
	test_order();
	test_hello_suites();
	test_hello_extensions();
	test_parse();
	test_parse_hostile();
	test_hash();
	return t_done();
}
