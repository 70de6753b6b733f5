/*
 * jarm.c - the JARM active TLS server fingerprint: the published method
 * of Salesforce (John Althouse et al., BSD-3; github.com/salesforce/jarm),
 * written here from its description and reference implementation.
 *
 * Ten ClientHellos, built by hand and each sent on its own TCP connection
 * (OpenSSL's handshake cannot send them: odd cipher orders, GREASE, TLS 1.3
 * suites in a TLS 1.2 hello), differ in version, cipher list and order,
 * GREASE, ALPN list and the supported_versions extension.  The first record
 * of each answer becomes "cipher|version|alpn|ext-ext-..." ("|||" when it is
 * no ServerHello); the fingerprint is, per answer, the cipher's position in
 * a fixed list (2 hex digits) and the version's last digit as a letter
 * (0300 a ... 0304 e), followed by the first 32 hex digits of the SHA-256
 * of all the ALPN and extension texts.
 *
 * Same fingerprints as the reference, so its quirks are kept: the version
 * is the ServerHello's legacy_version (0303 under TLS 1.3); the ALPN list
 * has "spdy/3" and "h2" as one entry (a missing comma), which matters when
 * the list is reversed; the address is sent as server_name when there is
 * no name; a timeout in any probe makes the whole fingerprint zeros; at
 * most 1484 bytes of an answer are looked at.  Where the reference reads
 * past a malformed ServerHello we stop: a ServerHello whose extensions do
 * not fit its own lengths, or whose ALPN is not printable text, counts as
 * no ServerHello ("|||"); one without extensions gives "cipher|version||||"
 * as the reference's own check does.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "util/be.h"
#include "util/buf.h"
#include "util/hex.h"

enum { ORD_FORWARD, ORD_REVERSE, ORD_TOP_HALF, ORD_BOTTOM_HALF, ORD_MIDDLE_OUT };
enum { SV_NONE, SV_12, SV_13 }; /* supported_versions: none, up to 1.2, up to 1.3 */

#define V13 0x0304 /* a TLS 1.3 hello: record 0301, hello 0303, supported_versions */

struct jarm_spec {
	uint16_t version;
	bool no13;       /* the cipher list without the TLS 1.3 suites */
	uint8_t ciphers; /* ORD_* of the cipher list */
	bool grease;
	bool rare_alpn; /* ALPN list without http/1.1 and h2 */
	uint8_t sv;     /* SV_* */
	uint8_t lists;  /* ORD_* of the ALPN and supported_versions lists */
};

/* The ten probes, in the order of the fingerprint. */
static const struct jarm_spec jarm_specs[INGEST_JARM_PROBES] = {
    {0x0303, false, ORD_FORWARD, false, false, SV_12, ORD_REVERSE},
    {0x0303, false, ORD_REVERSE, false, false, SV_12, ORD_FORWARD},
    {0x0303, false, ORD_TOP_HALF, false, false, SV_NONE, ORD_FORWARD},
    {0x0303, false, ORD_BOTTOM_HALF, false, true, SV_NONE, ORD_FORWARD},
    {0x0303, false, ORD_MIDDLE_OUT, true, true, SV_NONE, ORD_REVERSE},
    {0x0302, false, ORD_FORWARD, false, false, SV_NONE, ORD_FORWARD},
    {V13, false, ORD_FORWARD, false, false, SV_13, ORD_REVERSE},
    {V13, false, ORD_REVERSE, false, false, SV_13, ORD_FORWARD},
    {V13, true, ORD_FORWARD, false, false, SV_13, ORD_FORWARD},
    {V13, false, ORD_MIDDLE_OUT, true, false, SV_13, ORD_REVERSE},
};

/* The offered cipher suites, in the method's order. */
static const uint16_t jarm_offer[] = {
    0x0016, 0x0033, 0x0067, 0xc09e, 0xc0a2, 0x009e, 0x0039, 0x006b, 0xc09f, 0xc0a3, 0x009f, 0x0045,
    0x00be, 0x0088, 0x00c4, 0x009a, 0xc008, 0xc009, 0xc023, 0xc0ac, 0xc0ae, 0xc02b, 0xc00a, 0xc024,
    0xc0ad, 0xc0af, 0xc02c, 0xc072, 0xc073, 0xcca9, 0x1302, 0x1301, 0xcc14, 0xc007, 0xc012, 0xc013,
    0xc027, 0xc02f, 0xc014, 0xc028, 0xc030, 0xc060, 0xc061, 0xc076, 0xc077, 0xcca8, 0x1305, 0x1304,
    0x1303, 0xcc13, 0xc011, 0x000a, 0x002f, 0x003c, 0xc09c, 0xc0a0, 0x009c, 0x0035, 0x003d, 0xc09d,
    0xc0a1, 0x009d, 0x0041, 0x00ba, 0x0084, 0x00c0, 0x0007, 0x0004, 0x0005,
};
#define JARM_NOFFER (sizeof(jarm_offer) / sizeof(jarm_offer[0]))

/* The fingerprint's cipher positions (1-based; 0 none, past the end
 * unknown). */
static const uint16_t jarm_rank[] = {
    0x0004, 0x0005, 0x0007, 0x000a, 0x0016, 0x002f, 0x0033, 0x0035, 0x0039, 0x003c, 0x003d, 0x0041,
    0x0045, 0x0067, 0x006b, 0x0084, 0x0088, 0x009a, 0x009c, 0x009d, 0x009e, 0x009f, 0x00ba, 0x00be,
    0x00c0, 0x00c4, 0xc007, 0xc008, 0xc009, 0xc00a, 0xc011, 0xc012, 0xc013, 0xc014, 0xc023, 0xc024,
    0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xc060, 0xc061, 0xc072, 0xc073, 0xc076, 0xc077,
    0xc09c, 0xc09d, 0xc09e, 0xc09f, 0xc0a0, 0xc0a1, 0xc0a2, 0xc0a3, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af,
    0xcc13, 0xcc14, 0xcca8, 0xcca9, 0x1301, 0x1302, 0x1303, 0x1304, 0x1305,
};
#define JARM_NRANK (sizeof(jarm_rank) / sizeof(jarm_rank[0]))

/* ALPN entries with their length bytes; "spdy/3" and "h2" are one entry
 * in the reference, and so here. */
static const char *const jarm_alpn_all[] = {"\x08http/0.9", "\x08http/1.0", "\x08http/1.1",
                                            "\x06spdy/1",   "\x06spdy/2",   "\x06spdy/3\x02h2",
                                            "\x03h2c",      "\x02hq"};
static const char *const jarm_alpn_rare[] = {
    "\x08http/0.9", "\x08http/1.0", "\x06spdy/1", "\x06spdy/2", "\x06spdy/3", "\x03h2c", "\x02hq"};

/* Extensions sent as they are: extended_master_secret, max_fragment_length
 * 512, renegotiation_info, supported_groups (x25519, P-256, P-384, P-521),
 * ec_point_formats, session_ticket. */
static const uint8_t jarm_ext_fixed[] = {0x00, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xff,
                                         0x01, 0x00, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08,
                                         0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19, 0x00, 0x0b,
                                         0x00, 0x02, 0x01, 0x00, 0x00, 0x23, 0x00, 0x00};
/* signature_algorithms */
static const uint8_t jarm_ext_sigalgs[] = {0x00, 0x0d, 0x00, 0x14, 0x00, 0x12, 0x04, 0x03,
                                           0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05,
                                           0x05, 0x01, 0x08, 0x06, 0x06, 0x01, 0x02, 0x01};
/* psk_key_exchange_modes: psk_dhe_ke */
static const uint8_t jarm_ext_psk[] = {0x00, 0x2d, 0x00, 0x02, 0x01, 0x01};

/* The order in which the method sends a list of n (< 256) entries: the
 * indexes into idx, their number returned (the halves send fewer). */
static size_t jarm_order(size_t n, int how, uint8_t *idx)
{
	size_t k = 0, m = n / 2, odd = n % 2;
	if (how == ORD_REVERSE) {
		for (size_t i = n; i-- > 0;)
			idx[k++] = (uint8_t)i;
	} else if (how == ORD_TOP_HALF) { /* the first half backwards, middle first */
		for (size_t i = m + odd; i-- > 0;)
			idx[k++] = (uint8_t)i;
	} else if (how == ORD_BOTTOM_HALF) {
		for (size_t i = m + odd; i < n; i++)
			idx[k++] = (uint8_t)i;
	} else if (how == ORD_MIDDLE_OUT) { /* outwards from the middle, upper side first */
		if (odd)
			idx[k++] = (uint8_t)m;
		for (size_t i = 1; i <= m; i++) {
			idx[k++] = (uint8_t)(m - !odd + i);
			idx[k++] = (uint8_t)(m - i);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			idx[k++] = (uint8_t)i;
	}
	return k;
}

static void put8(struct util_buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	util_buf_add(b, &c, 1);
}

static void put16(struct util_buf *b, unsigned v)
{
	uint8_t c[2];
	util_be16_store(c, (uint16_t)v);
	util_buf_add(b, c, 2);
}

static void put_random(struct util_buf *b, size_t n)
{
	uint8_t r[32];
	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1) {
		util_buf_set_error(b, -EIO);
		return;
	}
	util_buf_add(b, r, n);
}

/* A GREASE value (RFC 8701): 0x?a?a. */
static unsigned grease(struct util_buf *b)
{
	uint8_t r = 0;
	if (RAND_bytes(&r, 1) != 1)
		util_buf_set_error(b, -EIO);
	unsigned v = (r & 0xf0u) | 0x0au;
	return v << 8 | v;
}

/* A length field of width bytes to be filled by len_close(); its offset. */
static size_t len_open(struct util_buf *b, size_t width)
{
	static const uint8_t zero[3];
	size_t off = b->len;
	util_buf_add(b, zero, width);
	return off;
}

static void len_close(struct util_buf *b, size_t off, size_t width)
{
	if (b->err != 0)
		return;
	size_t v = b->len - off - width;
	uint8_t *p = (uint8_t *)b->p + off;
	for (size_t i = width; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static void hello_ciphers(struct util_buf *b, const struct jarm_spec *s)
{
	uint16_t list[JARM_NOFFER];
	uint8_t idx[JARM_NOFFER];
	size_t n = 0;
	for (size_t i = 0; i < JARM_NOFFER; i++)
		if (!s->no13 || jarm_offer[i] >> 8 != 0x13)
			list[n++] = jarm_offer[i];
	size_t k = jarm_order(n, s->ciphers, idx);
	size_t off = len_open(b, 2);
	if (s->grease)
		put16(b, grease(b));
	for (size_t i = 0; i < k; i++)
		put16(b, list[idx[i]]);
	len_close(b, off, 2);
}

static void ext_sni(struct util_buf *b, const char *sni)
{
	size_t n = strlen(sni);
	put16(b, 0x0000);
	put16(b, n + 5);
	put16(b, n + 3);
	put8(b, 0); /* host_name */
	put16(b, n);
	util_buf_add(b, sni, n);
}

static void ext_alpn(struct util_buf *b, const struct jarm_spec *s)
{
	const char *const *l = s->rare_alpn ? jarm_alpn_rare : jarm_alpn_all;
	size_t n =
	    s->rare_alpn ? sizeof(jarm_alpn_rare) / sizeof(*l) : sizeof(jarm_alpn_all) / sizeof(*l);
	uint8_t idx[8];
	size_t k = jarm_order(n, s->lists, idx);
	put16(b, 0x0010);
	size_t outer = len_open(b, 2);
	size_t inner = len_open(b, 2);
	for (size_t i = 0; i < k; i++)
		util_buf_adds(b, l[idx[i]]);
	len_close(b, inner, 2);
	len_close(b, outer, 2);
}

/* key_share: x25519 with a random key (no handshake is completed). */
static void ext_key_share(struct util_buf *b, bool with_grease)
{
	put16(b, 0x0033);
	size_t outer = len_open(b, 2);
	size_t inner = len_open(b, 2);
	if (with_grease) {
		put16(b, grease(b));
		put16(b, 1);
		put8(b, 0);
	}
	put16(b, 0x001d);
	put16(b, 32);
	put_random(b, 32);
	len_close(b, inner, 2);
	len_close(b, outer, 2);
}

static void ext_versions(struct util_buf *b, const struct jarm_spec *s)
{
	static const uint16_t v[] = {0x0301, 0x0302, 0x0303, 0x0304};
	uint8_t idx[4];
	size_t k = jarm_order(s->sv == SV_12 ? 3 : 4, s->lists, idx);
	put16(b, 0x002b);
	size_t outer = len_open(b, 2);
	size_t inner = len_open(b, 1);
	if (s->grease)
		put16(b, grease(b));
	for (size_t i = 0; i < k; i++)
		put16(b, v[idx[i]]);
	len_close(b, inner, 1);
	len_close(b, outer, 2);
}

static void hello_extensions(struct util_buf *b, const struct jarm_spec *s, const char *sni)
{
	size_t off = len_open(b, 2);
	if (s->grease) {
		put16(b, grease(b));
		put16(b, 0);
	}
	if (sni != NULL)
		ext_sni(b, sni);
	util_buf_add(b, jarm_ext_fixed, sizeof(jarm_ext_fixed));
	ext_alpn(b, s);
	util_buf_add(b, jarm_ext_sigalgs, sizeof(jarm_ext_sigalgs));
	ext_key_share(b, s->grease);
	util_buf_add(b, jarm_ext_psk, sizeof(jarm_ext_psk));
	if (s->sv != SV_NONE)
		ext_versions(b, s);
	len_close(b, off, 2);
}

int ingest_jarm_hello(unsigned probe, const char *sni, uint8_t *out, size_t cap, size_t *len)
{
	if (probe >= INGEST_JARM_PROBES || cap < 2 || (sni != NULL && strlen(sni) > 255))
		return -EINVAL;
	const struct jarm_spec *s = &jarm_specs[probe];
	uint16_t v = s->version == V13 ? 0x0303 : s->version;
	struct util_buf b;
	util_buf_init_fixed(&b, out, cap);
	put8(&b, 0x16); /* handshake record */
	put16(&b, s->version == V13 ? 0x0301 : v);
	size_t rec = len_open(&b, 2);
	put8(&b, 0x01); /* client_hello */
	size_t hs = len_open(&b, 3);
	put16(&b, v);
	put_random(&b, 32);
	put8(&b, 32); /* a random session id */
	put_random(&b, 32);
	hello_ciphers(&b, s);
	put8(&b, 1); /* compression methods: null */
	put8(&b, 0);
	hello_extensions(&b, s, sni);
	len_close(&b, hs, 3);
	len_close(&b, rec, 2);
	if (b.err != 0)
		return b.err;
	*len = b.len;
	return 0;
}

/* ---- the answer -------------------------------------------------------- */

/* Walks an extension block: 1 and the next extension, 0 at its end, -1
 * when an extension does not fit. */
struct ext_walk {
	const uint8_t *p;
	size_t n, off;
};

static int ext_next(struct ext_walk *w, uint16_t *type, const uint8_t **val, size_t *vlen)
{
	if (w->off == w->n)
		return 0;
	if (w->n - w->off < 4)
		return -1;
	const uint8_t *e = w->p + w->off;
	size_t l = util_be16_load(e + 2);
	if (w->n - w->off - 4 < l)
		return -1;
	*type = util_be16_load(e);
	*val = e + 4;
	*vlen = l;
	w->off += 4 + l;
	return 1;
}

/* "alpn|type-type-..." of a well-formed extension block into b; -1 when
 * it is not one, or the ALPN is no printable text. */
static int exts_text(const uint8_t *p, size_t n, struct util_buf *b)
{
	struct ext_walk w = {p, n, 0};
	uint16_t t;
	const uint8_t *v;
	size_t vl;
	int rc;
	bool alpn = false;
	while ((rc = ext_next(&w, &t, &v, &vl)) > 0) {
		if (t != 0x0010 || alpn)
			continue;
		alpn = true;
		if (vl == 0) /* the reference fails on an empty ALPN */
			return -1;
		/* the reference skips the list and name lengths and takes the rest */
		for (size_t i = 3; i < vl; i++) {
			if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '|' || v[i] == ',')
				return -1;
			util_buf_add(b, &v[i], 1);
		}
	}
	if (rc < 0)
		return -1;
	util_buf_adds(b, "|");
	w.off = 0;
	for (bool first = true; ext_next(&w, &t, &v, &vl) > 0; first = false)
		util_buf_printf(b, "%s%04x", first ? "" : "-", t);
	return 0;
}

/* The end of the ServerHello at the start of d: bounded by what was read,
 * the record's length and the handshake message's length. */
static size_t hello_end(const uint8_t *d, size_t len)
{
	size_t end = len;
	size_t rec = 5 + (size_t)util_be16_load(d + 3);
	if (rec < end)
		end = rec;
	if (len >= 9) {
		size_t hs = 9 + ((size_t)d[6] << 16 | (size_t)d[7] << 8 | d[8]);
		if (hs < end)
			end = hs;
	}
	return end;
}

static int parse_hello(const uint8_t *d, size_t len, struct util_buf *b)
{
	if (len < 6 || d[0] != 0x16 || d[5] != 0x02) /* handshake record, server_hello */
		return -1;
	size_t end = hello_end(d, len);
	if (end < 44)
		return -1;
	size_t c = 44 + (size_t)d[43]; /* after the session id: the cipher */
	if (c + 3 > end || (d[10] & 0x0f) > 5)
		return -1;
	util_buf_printf(b, "%02x%02x|%02x%02x|", d[c], d[c + 1], d[9], d[10]);
	size_t e = c + 3; /* after the compression method: the extensions */
	if (e + 2 > end) {
		util_buf_adds(b, "|||");
		return 0;
	}
	size_t el = util_be16_load(d + e);
	if (el > end - e - 2)
		return -1;
	return exts_text(d + e + 2, el, b);
}

int ingest_jarm_parse(const uint8_t *data, size_t len, char *out, size_t cap)
{
	struct util_buf b;
	util_buf_init_fixed(&b, out, cap);
	if (len > INGEST_JARM_READ_MAX)
		len = INGEST_JARM_READ_MAX;
	if (parse_hello(data, len, &b) == 0 && b.err == 0)
		return 1;
	snprintf(out, cap, "|||");
	return 0;
}

/* ---- the fingerprint --------------------------------------------------- */

/* 2 hex digits for the cipher and a letter for the version of one answer
 * "cipher|version|..." into fp; -1 when they are not hex or no version. */
static int fuzzy_answer(const char *a, char *fp)
{
	size_t cl = strcspn(a, "|,");
	unsigned pos = 0;
	if (cl != 0) {
		uint8_t c[2];
		size_t got = 0;
		if (cl != 4 || util_hex_decode(a, 4, c, 2, &got) != 0 || got != 2)
			return -1;
		uint16_t v = util_be16_load(c);
		for (pos = 1; pos <= JARM_NRANK && jarm_rank[pos - 1] != v; pos++)
			;
	}
	snprintf(fp, 3, "%02x", pos);
	if (a[cl] != '|')
		return -1;
	const char *ver = a + cl + 1;
	size_t vl = strcspn(ver, "|,");
	if (vl == 0)
		fp[2] = '0';
	else if (vl == 4 && ver[3] >= '0' && ver[3] <= '5')
		fp[2] = (char)('a' + (ver[3] - '0'));
	else
		return -1;
	return ver[vl] == '|' ? 0 : -1;
}

/* Past one field of an answer and its '|'. */
static const char *field_skip(const char *f)
{
	size_t l = strcspn(f, "|,");
	return f + l + (f[l] == '|');
}

/* Feeds the ALPN and extension fields of one answer to the hash; the
 * answer's end (the comma or NUL after it). */
static const char *hash_answer(const char *a, EVP_MD_CTX *h)
{
	const char *f = field_skip(field_skip(a)); /* past cipher and version */
	for (int i = 0; i < 2; i++) {
		size_t l = strcspn(f, "|,");
		EVP_DigestUpdate(h, f, l);
		f += l + (f[l] == '|');
	}
	return f + strcspn(f, ",");
}

int ingest_jarm_hash(const char *raw, char fp[INGEST_JARM_LEN + 1])
{
	static const char none[] = "|||,|||,|||,|||,|||,|||,|||,|||,|||,|||";
	memset(fp, '0', INGEST_JARM_LEN);
	fp[INGEST_JARM_LEN] = '\0';
	if (strcmp(raw, none) == 0)
		return 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		return -ENOMEM;
	}
	const char *a = raw;
	int err = 0;
	for (unsigned i = 0; i < INGEST_JARM_PROBES && err == 0; i++) {
		if (fuzzy_answer(a, fp + 3 * i) != 0) {
			err = -EINVAL;
			break;
		}
		a = hash_answer(a, h);
		if (*a != (i + 1 < INGEST_JARM_PROBES ? ',' : '\0'))
			err = -EINVAL;
		a += *a == ',';
	}
	uint8_t md[32];
	unsigned mdl = 0;
	if (err == 0 && EVP_DigestFinal_ex(h, md, &mdl) == 1 && mdl == 32)
		util_hex_encode(md, 16, fp + 30);
	else if (err == 0)
		err = -ENOMEM;
	EVP_MD_CTX_free(h);
	if (err != 0)
		memset(fp, '0', INGEST_JARM_LEN);
	return err;
}

/* ---- the network ------------------------------------------------------- */

enum { JARM_OK, JARM_REFUSED, JARM_TIMEOUT };

static int64_t jarm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int jarm_poll(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - jarm_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A connected non-blocking socket, or -1 with *why JARM_REFUSED (err
 * set) or JARM_TIMEOUT. */
static int jarm_connect(const void *sa, size_t salen, int timeout_ms, int *why, char *err,
                        size_t errcap)
{
	const struct sockaddr *s = sa;
	int fd = socket(s->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	*why = JARM_REFUSED;
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -1;
	}
	int e = connect(fd, s, (socklen_t)salen) == 0 ? 0 : errno;
	if (e == EINPROGRESS) {
		int w = jarm_poll(fd, POLLOUT, jarm_now_ms() + timeout_ms);
		socklen_t el = sizeof(e);
		e = 0;
		if (w == 0)
			*why = JARM_TIMEOUT;
		else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			e = errno;
	}
	if (*why == JARM_TIMEOUT || e != 0) {
		if (e != 0)
			snprintf(err, errcap, "connect: %s", strerror(e));
		close(fd);
		return -1;
	}
	*why = JARM_OK;
	return fd;
}

static int jarm_send(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return JARM_REFUSED;
		} else if (jarm_poll(fd, POLLOUT, deadline) <= 0) {
			return JARM_TIMEOUT;
		}
	}
	return JARM_OK;
}

/* The answer: until its first record is complete, the reading limit,
 * the end of the connection, or bytes that cannot start a ServerHello.
 * JARM_TIMEOUT only when nothing came. */
static int jarm_recv(int fd, uint8_t *buf, size_t *len, int64_t deadline)
{
	size_t n = 0;
	while (n < INGEST_JARM_READ_MAX) {
		if (n >= 5 && n >= 5 + (size_t)util_be16_load(buf + 3))
			break;
		if (n >= 1 && buf[0] != 0x16)
			break;
		ssize_t r = recv(fd, buf + n, INGEST_JARM_READ_MAX - n, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		int w = jarm_poll(fd, POLLIN, deadline);
		if (w == 0 && n == 0) {
			*len = 0;
			return JARM_TIMEOUT;
		}
		if (w <= 0)
			break;
	}
	*len = n;
	return JARM_OK;
}

/* Probe number i: its answer into ans (empty when the connection failed
 * or closed). */
static int jarm_one(const void *sa, size_t salen, unsigned i, const char *sni, int timeout_ms,
                    uint8_t *ans, size_t *anslen, char *err, size_t errcap)
{
	uint8_t hello[1024];
	size_t hl = 0;
	int why;
	*anslen = 0;
	int rc = ingest_jarm_hello(i, sni, hello, sizeof(hello), &hl);
	if (rc != 0) {
		snprintf(err, errcap, "cannot build the ClientHello: %s", strerror(-rc));
		return JARM_REFUSED;
	}
	int fd = jarm_connect(sa, salen, timeout_ms, &why, err, errcap);
	if (fd < 0)
		return why;
	int64_t deadline = jarm_now_ms() + timeout_ms;
	rc = jarm_send(fd, hello, hl, deadline);
	if (rc == JARM_OK)
		rc = jarm_recv(fd, ans, anslen, deadline);
	close(fd);
	return rc == JARM_REFUSED ? JARM_OK : rc; /* a reset is an answer: none */
}

/* A run that ends without a fingerprint: zeros, no answers, why. */
static int jarm_fail(struct ingest_jarm_result *r, const char *why)
{
	memset(r->fp, '0', INGEST_JARM_LEN);
	r->fp[INGEST_JARM_LEN] = '\0';
	snprintf(r->raw, sizeof(r->raw), "|||,|||,|||,|||,|||,|||,|||,|||,|||,|||");
	r->answered = 0;
	snprintf(r->error, sizeof(r->error), "%s", why);
	return -1;
}

int ingest_jarm(const void *sa, size_t salen, const char *sni, int timeout_ms,
                struct ingest_jarm_result *r)
{
	char why[200] = "", text[INGEST_JARM_TEXT_MAX];
	uint8_t ans[INGEST_JARM_READ_MAX];
	struct util_buf raw;
	memset(r, 0, sizeof(*r));
	util_buf_init_fixed(&raw, r->raw, sizeof(r->raw));
	for (unsigned i = 0; i < INGEST_JARM_PROBES; i++) {
		size_t n = 0;
		int rc = jarm_one(sa, salen, i, sni, timeout_ms, ans, &n, why, sizeof(why));
		if (rc == JARM_TIMEOUT) {
			snprintf(why, sizeof(why), "no answer within %d ms to JARM probe %u of %d",
			         timeout_ms, i + 1, INGEST_JARM_PROBES);
			return jarm_fail(r, why);
		}
		if (rc == JARM_REFUSED && i == 0) /* the rest would be refused too */
			return jarm_fail(r, why);
		r->answered += (unsigned)ingest_jarm_parse(ans, n, text, sizeof(text));
		util_buf_printf(&raw, "%s%s", i ? "," : "", text);
	}
	if (raw.err != 0 || ingest_jarm_hash(r->raw, r->fp) != 0)
		return jarm_fail(r, "the answers do not fit the JARM text");
	if (r->answered == 0)
		return jarm_fail(r, "no ServerHello to any of the 10 JARM probes (TLS alerts, "
		                    "closed connections or not TLS)");
	return 0;
}
