/*
 * test_ch_fake_certs.h - the certificate, target, prevalence and batched
 * readers (store/ch_cert*.c, ch_target.c, ch_batch.c) against
 * tests/store/ch_fake_server.py: good rows decoded field by field, and
 * every bad answer (a server error, a truncated or malformed row, keys out
 * of order, a response over the bound) an error, never data; the rows a
 * certificate write sends and their retry under the same token.
 */
#ifndef TEST_CH_FAKE_CERTS_H
#define TEST_CH_FAKE_CERTS_H

#include <unistd.h>

static struct store_cert_ref fake_ref(uint8_t byte)
{
	struct store_cert_ref r = {.kind = 1};
	memset(r.hash, byte, 20);
	return r;
}

struct fake_seen {
	unsigned n;
	char text[1024];
	int stop_after;
};

static int fake_sight_cb(const struct store_sighting *s, void *ctx)
{
	struct fake_seen *f = ctx;
	char ip[STORE_ADDR_BUF];
	store_addr_format(s->ip, ip);
	size_t l = strlen(f->text);
	snprintf(f->text + l, sizeof(f->text) - l, "%u:%02x %s:%u %lld-%lld %llu %u[%s,%s] %u[%s];",
	         s->ref.kind, s->ref.hash[0], ip, s->port, (long long)s->time_first,
	         (long long)s->time_last, (unsigned long long)s->count, s->nsensors,
	         s->nsensors > 0 ? s->sensors[0] : "", s->nsensors > 1 ? s->sensors[1] : "",
	         s->nsni, s->nsni > 0 ? s->sni[0] : "");
	f->n++;
	return 0;
}

static void fake_sightings(store_ch_t *c)
{
	struct store_fence f;
	store_fence_init(&f);
	struct fake_seen s = {0};
	struct store_cert_ref aa = fake_ref(0xaa), ab = fake_ref(0xab), ac = fake_ref(0xac);
	T_EQ_INT(store_ch_sight_by_cert(c, &aa, &f, fake_sight_cb, &s), 0);
	/* the empty sensor is no sensor; the SNI comes back the right way round */
	T_EQ_STR(s.text, "1:aa 192.0.2.1:443 1000-2000 5 2[s1,s2] 1[www.example.com];"
	                 "1:aa 192.0.2.2:8443 1000-2000 5 0[,] 0[];");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(store_ch_sight_by_cert(c, &ab, &f, fake_sight_cb, &s), STORE_ECORRUPT);
	T_EQ_INT(store_ch_sight_by_cert(c, &ac, &f, fake_sight_cb, &s), STORE_ECORRUPT);
	T_CHECK(strstr(store_last_error(), "RowBinary") != NULL);
	T_EQ_INT(s.n, 0);
	uint64_t n = 7;
	T_EQ_INT(store_ch_prev_cert_ips(c, &aa, &n), 0);
	T_EQ_INT(n, 42);
	T_EQ_INT(store_ch_prev_cert_ips(c, &ab, &n), STORE_ECORRUPT); /* 3 bytes */
	T_EQ_INT(n, 0);
	T_EQ_INT(store_ch_prev_ip_names(c, aa.hash, &n), 0); /* no row: none */
	T_EQ_INT(n, 0);
	T_EQ_INT(store_ch_prev_name_ips(c, "bad..name", &n), STORE_EBADNAME);
}

static void fake_cert_get(store_ch_t *c)
{
	struct store_cert_info ci;
	struct store_cert_ref bb = fake_ref(0xbb), cc = fake_ref(0xcc), dd = fake_ref(0xdd),
	                      ee = fake_ref(0xee);
	T_EQ_INT(store_ch_cert_get(c, &bb, &ci), 0);
	T_CHECK(ci.has_sha1 && !ci.has_sha256 && ci.has_meta);
	T_CHECK(ci.sha1[0] == 0xbb && ci.sha1[19] == 0xbb);
	T_EQ_STR(ci.subject, "CN=www.example.com");
	T_EQ_STR(ci.issuer, "CN=Issuer");
	T_EQ_STR(ci.serial, "0a");
	T_EQ_INT(ci.not_before, 100);
	T_EQ_INT(ci.not_after, 200);
	T_EQ_INT(ci.san_dns_len, 28);
	T_CHECK(memcmp(ci.san_dns, "www.example.com\0example.com\0", 28) == 0);
	T_EQ_INT(ci.san_ip_len, 0);
	T_EQ_INT(ci.der_len, 5);
	T_CHECK(ci.der != NULL && memcmp(ci.der, "\x30\x03\x02\x01\x00", 5) == 0);
	T_EQ_INT(store_ch_cert_get(c, &cc, &ci), STORE_ENOTFOUND);
	T_EQ_INT(store_ch_cert_get(c, &dd, &ci), STORE_ECORRUPT); /* a 5-byte SHA-1 */
	T_EQ_INT(store_ch_cert_get(c, &ee, &ci), STORE_ECORRUPT); /* a byte too many */
	/* the key, from the key index */
	uint8_t key[32];
	T_EQ_INT(store_ch_cert_key(c, &bb, key), 0);
	T_CHECK(key[0] == 0xab && key[31] == 0xab);
	T_EQ_INT(store_ch_cert_key(c, &cc, key), STORE_ENOTFOUND);
	T_EQ_INT(store_ch_cert_key(c, &ee, key), STORE_ECORRUPT); /* not 64 hex digits */
	T_EQ_INT(store_ch_cert_key(c, &dd, key), STORE_ECORRUPT); /* two values in one row */
}

static int fake_namecert_cb(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct fake_seen *f = ctx;
	size_t l = strlen(f->text);
	snprintf(f->text + l, sizeof(f->text) - l, "%u:%02x/%u;", ref->kind, ref->hash[0], kind);
	f->n++;
	return f->stop_after > 0 && f->n >= (unsigned)f->stop_after ? STORE_STOP : 0;
}

static void fake_names(store_ch_t *c)
{
	struct fake_seen s = {0};
	T_EQ_INT(store_ch_certs_by_name(c, "OK.Example.com.", fake_namecert_cb, &s), 0);
	T_EQ_STR(s.text, "1:aa/1;1:aa/2;");
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	T_EQ_INT(store_ch_certs_by_name(c, "ok.example.com", fake_namecert_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	T_EQ_INT(store_ch_certs_by_name(c, "bad.example.com", fake_namecert_cb, &s),
	         STORE_ECORRUPT);
	T_EQ_INT(store_ch_certs_by_name(c, "err.example.com", fake_namecert_cb, &s), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "Code: 47") != NULL);
	T_EQ_INT(store_ch_certs_by_name(c, "a..b", fake_namecert_cb, &s), STORE_EBADNAME);
	T_EQ_INT(s.n, 1);
}

static void fake_targets(store_ch_t *c)
{
	struct store_fence f;
	store_fence_init(&f);
	struct rows_seen s = {0};
	T_EQ_INT(store_ch_rr_by_target(c, "ok.example.net", &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 1);
	T_EQ_STR(s.line, "www.example.org 1 ok.example.net 1000 2000 3 example.net 1:t,, more=0");
	store_ch_set_response_max(c, 100);
	T_EQ_INT(store_ch_rr_by_target(c, "big.example.net", &f, seen_cb, &s), STORE_ELIMIT);
	store_ch_set_response_max(c, STORE_CH_RESPONSE_MAX);
	/* a right-hand wildcard: targets ending with the reversed head */
	T_EQ_INT(store_ch_rr_by_target_pattern(c, "OK.example.*", &f, seen_cb, &s), 0);
	T_EQ_INT(s.n, 2);
	T_EQ_STR(s.line, "www.example.org 1 ok.example.com 1000 2000 4 example.net 1:t,, more=0");
	T_EQ_INT(store_ch_rr_by_target_pattern(c, "ok..*", &f, seen_cb, &s), STORE_EBADNAME);
	T_EQ_INT(store_ch_rr_by_target(c, "bad..name", &f, seen_cb, &s), STORE_EBADNAME);
	T_EQ_INT(s.n, 2);
}

struct fake_keyed {
	char text[512];
	int stop_key; /* STORE_STOP after the first row of this key; -1 never */
};

static int fake_key_cb(size_t key, const struct store_rr *rr, void *ctx)
{
	struct fake_keyed *k = ctx;
	size_t l = strlen(k->text);
	snprintf(k->text + l, sizeof(k->text) - l, "%zu:%s;", key, rr->rrname);
	return (int)key == k->stop_key ? STORE_STOP : 0;
}

static void fake_batched(store_ch_t *c)
{
	struct store_fence f;
	store_fence_init(&f);
	uint8_t a[4][16];
	const char *txt[4] = {"192.0.2.2", "192.0.2.1", "192.0.2.3", "192.0.2.2"};
	for (int i = 0; i < 4; i++)
		T_EQ_INT(store_addr_parse(txt[i], strlen(txt[i]), a[i]), 0);
	/* input order, each key's rows, a key without rows, a repeat */
	struct fake_keyed k = {"", -1};
	T_EQ_INT(store_ch_rr_by_addrs(c, (const uint8_t(*)[16])a, 4, &f, NULL, fake_key_cb, &k), 0);
	T_EQ_STR(k.text, "0:b.example.net;1:a.example.net;1:c.example.net;3:b.example.net;");
	/* a STORE_STOP ends its key's rows, not the others' */
	struct fake_keyed k1 = {"", 1};
	T_EQ_INT(store_ch_rr_by_addrs(c, (const uint8_t(*)[16])a, 4, &f, NULL, fake_key_cb, &k1),
	         0);
	T_EQ_STR(k1.text, "0:b.example.net;1:a.example.net;3:b.example.net;");
	/* keys out of order in the answer: not trusted */
	T_EQ_INT(store_addr_parse("192.0.2.9", 9, a[0]), 0);
	struct fake_keyed k2 = {"", -1};
	T_EQ_INT(store_ch_rr_by_addrs(c, (const uint8_t(*)[16])a, 1, &f, NULL, fake_key_cb, &k2),
	         STORE_ECORRUPT);
	T_EQ_STR(k2.text, "");
	struct store_cert_ref refs[2] = {fake_ref(0xaa), fake_ref(0xbb)};
	T_EQ_INT(store_ch_sight_by_certs(c, refs, 2, &f, NULL, NULL, NULL), STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "Code: 241") != NULL);
	const char *names[2] = {"ok.example.net", "bad..name"};
	T_EQ_INT(store_ch_rr_by_names(c, names, 2, &f, NULL, fake_key_cb, &k2), STORE_EBADNAME);
	T_EQ_STR(k2.text, "");
}

static int fake_nc_key_cb(size_t key, const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct fake_seen *f = ctx;
	size_t l = strlen(f->text);
	snprintf(f->text + l, sizeof(f->text) - l, "%zu:", key);
	return fake_namecert_cb(ref, kind, ctx);
}

/* Resolving hashes, certificates of many names, counts of many nodes. */
static void fake_resolve_counts(store_ch_t *c)
{
	struct store_cert_ref ref;
	uint8_t h[32];
	memset(h, 0xcd, sizeof(h));
	T_EQ_INT(store_ch_cert_resolve(c, h, 32, &ref), 0);
	T_CHECK(ref.kind == 1 && ref.hash[0] == 0xaa && ref.hash[19] == 0xaa && ref.hash[20] == 0);
	memset(h, 0xce, sizeof(h));
	T_EQ_INT(store_ch_cert_resolve(c, h, 32, &ref), STORE_ENOTFOUND);
	T_EQ_INT(store_ch_cert_resolve(c, h, 16, &ref), STORE_EBADHASH);
	struct fake_seen s = {0};
	const char *names[3] = {"nowhere.example.com", "OK.example.com", "ok.example.com."};
	T_EQ_INT(store_ch_certs_by_names(c, names, 3, NULL, fake_nc_key_cb, &s), 0);
	T_EQ_STR(s.text, "1:1:aa/1;1:1:aa/2;2:1:aa/1;2:1:aa/2;");
	uint8_t a[2][16];
	T_EQ_INT(store_addr_parse("192.0.2.2", 9, a[0]), 0);
	T_EQ_INT(store_addr_parse("192.0.2.1", 9, a[1]), 0);
	uint64_t n[2] = {7, 7};
	T_EQ_INT(store_ch_prev_ip_names_n(c, (const uint8_t(*)[16])a, 2, n), 0);
	T_CHECK(n[0] == 0 && n[1] == 42);
	struct store_cert_ref refs[1] = {fake_ref(0xaa)};
	T_EQ_INT(store_ch_prev_cert_ips_n(c, refs, 1, n), STORE_ECORRUPT); /* a 2-byte count */
	const char *bad[1] = {"-bad-.."};
	T_EQ_INT(store_ch_prev_name_ips_n(c, bad, 1, n), STORE_EBADNAME);
}

/* Does one of the recorded INSERT bodies from..to-1 contain needle? */
static int body_with(const char *bodies, int from, int to, const void *needle, size_t nl,
                     char *copy, size_t *clen)
{
	for (int i = from; i < to; i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/insert-%d", bodies, i);
		*clen = read_all(p, copy, 4096);
		if (memmem(copy, *clen, needle, nl) != NULL)
			return i;
	}
	return 0;
}

/* A certificate sighting with metadata: four tables, each INSERT retried
 * once (the fake refuses a body's first attempt) with the same bytes.
 * A certificate without a hash fails the batch before anything is sent. */
static void fake_cert_write(store_ch_t *c, const char *bodies, int first)
{
	struct store_cert_meta m;
	memset(&m, 0, sizeof(m));
	m.has_sha1 = true;
	memset(m.sha1, 0x5a, 20);
	snprintf(m.subject, sizeof(m.subject), "CN=www.example.com, O=Example");
	snprintf(m.serial, sizeof(m.serial), "00:0A");
	memcpy(m.san_dns, "www.example.com\0api.example.com\0", 32);
	m.san_dns_len = 32;
	struct store_obs o[2];
	memset(o, 0, sizeof(o));
	o[0].kind = STORE_OBS_CERT;
	o[0].cert.sighting = o[0].cert.has_meta = true;
	o[0].cert.meta = &m;
	o[0].cert.port = 443;
	snprintf(o[0].cert.sni, sizeof(o[0].cert.sni), "login.example.com");
	T_EQ_INT(store_addr_parse("192.0.2.7", 9, o[0].cert.ip), 0);
	o[1].kind = STORE_OBS_CERT; /* no metadata, no hash */
	T_EQ_INT(store_ch_write(c, o, 2, 0x1111111111111111ull, NULL), STORE_EBADHASH);
	char none[512];
	snprintf(none, sizeof(none), "%s/insert-%d", bodies, first);
	T_CHECK(access(none, F_OK) != 0); /* nothing sent */
	T_EQ_INT(store_ch_write(c, o, 1, 0x2222222222222222ull, NULL), 0);
	char a[4096], b[4096];
	size_t na, nb;
	static const char sni[] = "\x11"
	                          "com.example.login";
	int i = body_with(bodies, first, first + 8, "\x22\x22\x22\x22\x22\x22\x22\x22", 8, a, &na);
	T_CHECK(i > 0 && memmem(a, na, sni, sizeof(sni) - 1) != NULL); /* sight_in */
	T_CHECK(body_with(bodies, i + 1, i + 2, a, na, b, &nb) == i + 1 && na == nb);
	i = body_with(bodies, first, first + 8, "com.example.api", 15, a, &na); /* name_cert */
	T_CHECK(i > 0 && memmem(a, na, "\x01\x5a\x5a", 3) != NULL);
	T_CHECK(body_with(bodies, i + 1, i + 2, a, na, b, &nb) == i + 1 && na == nb);
	char dn[STORE_DN_BUF + 2];
	T_EQ_INT(store_dn_norm(m.subject, strlen(m.subject), dn + 2), 0);
	dn[0] = 2; /* attribute 2, the subject */
	dn[1] = (char)strlen(dn + 2);
	i = body_with(bodies, first, first + 8, "CN=www.example.com, O=Example", 29, a, &na);
	T_CHECK(i > 0 && memmem(a, na, dn + 1, strlen(dn + 2) + 1) != NULL); /* cert */
	i = body_with(bodies, first, first + 8,
	              "\x02"
	              "A|",
	              3, a, &na); /* cert_attr: serial|issuer */
	T_CHECK(i > 0 && memmem(a, na, dn, strlen(dn + 2) + 2) != NULL);
}

static void fake_more(store_ch_t *c, const char *bodies, int first_insert)
{
	fake_sightings(c);
	fake_cert_get(c);
	fake_names(c);
	fake_targets(c);
	fake_batched(c);
	fake_resolve_counts(c);
	fake_cert_write(c, bodies, first_insert);
}

#endif
