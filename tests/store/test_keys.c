/*
 * test_keys.c - certificates by public key, subject and issuer+serial, and
 * JARM/JA3S sightings (store/keys.c, store/fp.c) on a real LMDB.
 */
#include "tests/testutil.h"

#include "store/store.h"
#include "store/watch.h"

static store_t *open_fresh(void)
{
	store_t *s = NULL;
	if (store_open(&s, t_tmpdir(), STORE_NOSYNC, 0) != 0) {
		fprintf(stderr, "open: %s\n", store_last_error());
		exit(2);
	}
	return s;
}

static void test_dn_norm(void)
{
	char a[STORE_DN_BUF], b[STORE_DN_BUF], c[STORE_DN_BUF];
	/* OpenSSL/Suricata, RFC 4514 (Zeek) and the slash form are one DN */
	T_EQ_INT(store_dn_norm("C=US, O=Acme  Corp, CN=Login.Example", 36, a), 0);
	T_EQ_INT(store_dn_norm("CN=login.example,O=Acme Corp,C=US", 33, b), 0);
	T_EQ_INT(store_dn_norm("/C=US/O=Acme Corp/CN=login.example", 34, c), 0);
	T_EQ_STR(a, "C=us,CN=login.example,O=acme corp");
	T_EQ_STR(a, b);
	T_EQ_STR(a, c);
	/* escapes survive as escapes; emailAddress spellings are one */
	T_EQ_INT(store_dn_norm("CN=a\\, b,E=x@y", 14, a), 0);
	T_EQ_STR(a, "CN=a\\, b,EMAILADDRESS=x@y");
	T_EQ_INT(store_dn_norm("CN=\"quoted\"", 11, a), 0);
	T_EQ_STR(a, "CN=quoted");
	/* bad input */
	T_EQ_INT(store_dn_norm("", 0, a), STORE_EBADNAME);
	T_EQ_INT(store_dn_norm("no equals sign", 14, a), STORE_EBADNAME);
	T_EQ_INT(store_dn_norm(", ,", 3, a), STORE_EBADNAME);
	char big[700];
	memset(big, 'x', sizeof(big));
	memcpy(big, "CN=", 3);
	T_EQ_INT(store_dn_norm(big, sizeof(big), a), STORE_ETOOLONG);
	char many[400];
	for (int i = 0; i < 40; i++)
		memcpy(many + 4 * i, "O=a,", 4);
	many[160] = '\0';
	T_EQ_INT(store_dn_norm(many, strlen(many), a), STORE_ETOOLONG);
}

static void test_serial_norm(void)
{
	char s[STORE_SERIAL_BUF];
	T_EQ_INT(store_serial_norm("00:0a:BC", 8, s), 0);
	T_EQ_STR(s, "ABC");
	T_EQ_INT(store_serial_norm("0x0ABC", 6, s), 0);
	T_EQ_STR(s, "ABC");
	T_EQ_INT(store_serial_norm("00", 2, s), 0);
	T_EQ_STR(s, "0");
	T_EQ_INT(store_serial_norm("12g4", 4, s), STORE_EBADHASH);
	T_EQ_INT(store_serial_norm("::", 2, s), STORE_EBADHASH);
	T_EQ_INT(store_serial_norm("", 0, s), STORE_EBADHASH);
	char big[300];
	memset(big, 'f', sizeof(big));
	T_EQ_INT(store_serial_norm(big, sizeof(big), s), STORE_ETOOLONG);
}

static void meta_of(struct store_cert_meta *m, uint8_t tag, bool sha1, uint8_t keytag,
                    const char *subject, const char *issuer, const char *serial)
{
	memset(m, 0, sizeof(*m));
	m->has_sha1 = sha1;
	m->has_sha256 = true;
	memset(m->sha1, tag, 20);
	memset(m->sha256, tag, 32);
	m->has_key = keytag != 0;
	memset(m->key, keytag, 32);
	snprintf(m->subject, sizeof(m->subject), "%s", subject);
	snprintf(m->issuer, sizeof(m->issuer), "%s", issuer);
	snprintf(m->serial, sizeof(m->serial), "%s", serial);
}

static int put_cert(store_t *s, struct store_cert_meta *m, bool meta)
{
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CERT;
	o.time_first = o.time_last = 1700000000;
	o.count = 1;
	o.cert.has_meta = meta;
	o.cert.meta = m;
	return store_write(s, &o, 1, NULL, 0, NULL);
}

struct refs {
	unsigned n;
	struct store_cert_ref r[8];
};

static int collect(const struct store_cert_ref *ref, void *ctx)
{
	struct refs *rs = ctx;
	if (rs->n < 8)
		rs->r[rs->n] = *ref;
	rs->n++;
	return 0;
}

static void test_key_index(void)
{
	store_t *s = open_fresh();
	struct store_cert_meta a, b, c;
	/* a re-issued certificate (new hash, same key), and a stranger */
	meta_of(&a, 0x11, true, 0xaa, "CN=evil.example", "CN=Evil CA", "01");
	meta_of(&b, 0x22, true, 0xaa, "CN=evil.example, O=X", "CN=Evil CA", "0x02");
	meta_of(&c, 0x33, true, 0xbb, "CN=other.example", "CN=Other CA", "01");
	T_EQ_INT(put_cert(s, &a, true), 0);
	T_EQ_INT(put_cert(s, &b, true), 0);
	T_EQ_INT(put_cert(s, &c, true), 0);
	T_EQ_INT(put_cert(s, &a, true), 0); /* again: no duplicate index item */
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	uint8_t key[32], want[32];
	memset(want, 0xaa, 32);
	struct store_cert_ref ra = {.kind = 1};
	memset(ra.hash, 0x11, 20);
	T_EQ_INT(store_cert_key(r, &ra, key), 0);
	T_CHECK(memcmp(key, want, 32) == 0);
	struct refs rs = {0};
	T_EQ_INT(store_certs_by_key(r, want, collect, &rs), 0);
	T_EQ_INT(rs.n, 2);
	uint64_t n;
	T_EQ_INT(store_prev_key_certs(r, want, &n), 0);
	T_EQ_INT(n, 2);
	/* serial in any spelling, with and without the issuer */
	memset(&rs, 0, sizeof(rs));
	T_EQ_INT(store_certs_by_serial(r, "00:01", NULL, collect, &rs), 0);
	T_EQ_INT(rs.n, 2);
	memset(&rs, 0, sizeof(rs));
	T_EQ_INT(store_certs_by_serial(r, "1", "cn=evil ca", collect, &rs), 0);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(rs.r[0].hash[0], 0x11);
	T_EQ_INT(store_certs_by_serial(r, "zz", NULL, collect, &rs), STORE_EBADHASH);
	/* subject: normalised */
	char dn[STORE_DN_BUF];
	store_dn_norm("cn=EVIL.example", 15, dn);
	memset(&rs, 0, sizeof(rs));
	T_EQ_INT(store_certs_by_subject(r, dn, collect, &rs), 0);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(store_prev_subject_certs(r, dn, &n), 0);
	T_EQ_INT(n, 1);
	struct store_cert_ref unknown = {.kind = 1};
	T_EQ_INT(store_cert_key(r, &unknown, key), STORE_ENOTFOUND);
	store_read_end(r);
	store_close(s);
}

/* A certificate known by SHA-256 only, then joined to its SHA-1: its key
 * and subject follow it. */
static void test_key_join(void)
{
	store_t *s = open_fresh();
	struct store_cert_meta only256, full;
	meta_of(&only256, 0x44, false, 0xcc, "CN=join.example", "CN=CA", "05");
	T_EQ_INT(put_cert(s, &only256, true), 0);
	meta_of(&full, 0x44, true, 0, "", "", "");
	T_EQ_INT(put_cert(s, &full, false), 0);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	uint8_t k[32];
	memset(k, 0xcc, 32);
	struct refs rs = {0};
	T_EQ_INT(store_certs_by_key(r, k, collect, &rs), 0);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(rs.r[0].kind, 1);
	char dn[STORE_DN_BUF];
	store_dn_norm("CN=join.example", 15, dn);
	memset(&rs, 0, sizeof(rs));
	T_EQ_INT(store_certs_by_subject(r, dn, collect, &rs), 0);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(rs.r[0].kind, 1);
	store_read_end(r);
	store_close(s);
}

static void fp_obs(struct store_obs *o, unsigned type, const char *hash, const char *ip,
                   uint16_t port, int64_t t)
{
	memset(o, 0, sizeof(*o));
	o->kind = STORE_OBS_FP;
	o->time_first = o->time_last = t;
	o->count = 1;
	o->fp.fptype = (uint8_t)type;
	snprintf(o->fp.hash, sizeof(o->fp.hash), "%s", hash);
	o->fp.port = port;
	store_addr_parse(ip, strlen(ip), o->fp.ip);
}

struct fps {
	unsigned n;
	struct store_fp_sighting s[8];
	char hash[8][STORE_FP_HASH_BUF];
};

static int collect_fp(const struct store_fp_sighting *s, void *ctx)
{
	struct fps *f = ctx;
	if (f->n < 8) {
		f->s[f->n] = *s;
		snprintf(f->hash[f->n], STORE_FP_HASH_BUF, "%s", s->hash);
	}
	f->n++;
	return 0;
}

#define JARM "07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1"
#define JA3S "ae4edc6faf64d08308082ad26be60767"

static void test_fingerprints(void)
{
	store_t *s = open_fresh();
	struct store_obs o[5];
	fp_obs(&o[0], STORE_FP_JARM, JARM, "192.0.2.1", 443, 1000);
	fp_obs(&o[1], STORE_FP_JARM,
	       "07D14D16D21D21D07C42D41D00041D24A458A375EEF0C576D23A7BAB9A9FB1", "192.0.2.1", 443,
	       3000);                                                /* merged, upper case */
	fp_obs(&o[2], STORE_FP_JARM, JARM, "192.0.2.1", 8443, 2000); /* same IP, another port */
	fp_obs(&o[3], STORE_FP_JARM, JARM, "2001:db8::1", 443, 500);
	fp_obs(&o[4], STORE_FP_JA3S, JA3S, "192.0.2.1", 443, 1500);
	T_EQ_INT(store_write(s, o, 5, NULL, 0, NULL), 0);
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	uint64_t n;
	T_EQ_INT(store_prev_fp_ips(r, STORE_FP_JARM, JARM, &n), 0);
	T_EQ_INT(n, 2); /* distinct IPs, not ip:port pairs */
	struct store_fence f;
	store_fence_init(&f);
	struct fps got = {0};
	T_EQ_INT(store_fp_by_hash(r, STORE_FP_JARM, JARM, &f, collect_fp, &got), 0);
	T_EQ_INT(got.n, 3);
	T_EQ_INT(got.s[0].port, 443);
	T_EQ_INT(got.s[0].time_first, 1000);
	T_EQ_INT(got.s[0].time_last, 3000);
	T_EQ_INT(got.s[0].count, 2);
	uint8_t ip[16];
	store_addr_parse("192.0.2.1", 9, ip);
	memset(&got, 0, sizeof(got));
	T_EQ_INT(store_fp_by_addr(r, ip, 128, &f, collect_fp, &got), 0);
	T_EQ_INT(got.n, 3); /* jarm on 443 and 8443, ja3s on 443 */
	T_EQ_INT(got.s[0].fptype, STORE_FP_JARM);
	T_EQ_STR(got.hash[0], JARM);
	T_EQ_INT(got.s[2].fptype, STORE_FP_JA3S);
	/* a fence */
	f.since = 2500;
	memset(&got, 0, sizeof(got));
	T_EQ_INT(store_fp_by_hash(r, STORE_FP_JARM, JARM, &f, collect_fp, &got), 0);
	T_EQ_INT(got.n, 1);
	T_EQ_INT(store_fp_by_hash(r, STORE_FP_JARM, "abc", &f, collect_fp, &got), STORE_EBADHASH);
	store_read_end(r);
	/* bad observations are refused, nothing written */
	struct store_obs bad[2];
	fp_obs(&bad[0], STORE_FP_JARM, JARM, "192.0.2.9", 443, 1000);
	fp_obs(&bad[1], STORE_FP_JA3S, JARM, "192.0.2.9", 443, 1000); /* JARM as JA3S */
	T_EQ_INT(store_write(s, bad, 2, NULL, 0, NULL), STORE_EBADHASH);
	fp_obs(&bad[1], 9, JA3S, "192.0.2.9", 443, 1000);
	T_EQ_INT(store_write(s, bad, 2, NULL, 0, NULL), STORE_EBADTYPE);
	fp_obs(&bad[1], STORE_FP_JA3S, "zz4edc6faf64d08308082ad26be60767", "192.0.2.9", 443, 1);
	T_EQ_INT(store_write(s, bad, 2, NULL, 0, NULL), STORE_EBADHASH);
	T_EQ_INT(store_read_begin(s, &r), 0);
	T_EQ_INT(store_prev_fp_ips(r, STORE_FP_JARM, JARM, &n), 0);
	T_EQ_INT(n, 2);
	store_read_end(r);
	store_close(s);
}

static void test_fp_names(void)
{
	T_EQ_STR(store_fp_type_name(STORE_FP_JARM), "jarm");
	T_EQ_STR(store_fp_type_name(STORE_FP_JA3S), "ja3s");
	T_EQ_STR(store_fp_type_name(0), "?");
	T_EQ_INT(store_fp_type_by_name("ja3s", 4), STORE_FP_JA3S);
	T_EQ_INT(store_fp_type_by_name("ja4", 3), 0);
	T_EQ_INT(store_edge_by_name("key", 3), STORE_EDGE_KEY);
	T_EQ_INT(store_edge_by_name("fingerprint", 11), STORE_EDGE_FINGERPRINT);
	T_EQ_STR(store_edge_name(STORE_EDGE_SUBJECT), "subject");
	struct store_noise_limits lim = {100, 50, 50, 80, 2, 3, 4};
	struct store_noise v;
	T_CHECK(!store_noise_judge(STORE_NODE_KEY, 2, 0, &lim, &v));
	T_CHECK(store_noise_judge(STORE_NODE_KEY, 3, 0, &lim, &v));
	T_EQ_STR(store_noise_code(v.rule), "shared_key");
	T_CHECK(store_noise_judge(STORE_NODE_SUBJECT, 4, 0, &lim, &v));
	T_EQ_STR(store_noise_code(v.rule), "common_subject");
	T_CHECK(store_noise_judge(STORE_NODE_JARM, 5, 0, &lim, &v));
	T_EQ_STR(store_noise_code(v.rule), "common_fingerprint");
	char why[128];
	store_noise_why(&v, "07d1", why, sizeof(why));
	T_EQ_STR(why, "07d1 (fingerprint): on 5 IPs > 4");
}

/* Watchlists take the new kinds; a standing pivot over key adds a new
 * certificate of a watched key, and (next generation) its IP. */
static void test_watch_key(void)
{
	char out[STORE_WATCH_IND_BUF];
	unsigned t = 0;
	T_EQ_INT(store_watch_indicator_norm(JARM, &t, out), 0);
	T_EQ_INT(t, STORE_WATCH_JARM);
	t = 0;
	T_EQ_INT(store_watch_indicator_norm(JA3S, &t, out), 0);
	T_EQ_INT(t, STORE_WATCH_JA3S);
	t = STORE_WATCH_SUBJECT;
	T_EQ_INT(store_watch_indicator_norm("/O=Acme/CN=X Y", &t, out), 0);
	T_EQ_STR(out, "CN=x y,O=acme");
	t = STORE_WATCH_KEY;
	T_EQ_INT(store_watch_indicator_norm("abcd", &t, out), STORE_EBADHASH);
	T_EQ_INT(store_watch_type_parse("ja3s", &t), 0);
	T_EQ_INT(t, STORE_WATCH_JA3S);
	T_EQ_STR(store_watch_type_name(STORE_WATCH_KEY), "key");

	store_t *s = open_fresh();
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "keys");
	set.auto_edges = STORE_EDGE_KEY | STORE_EDGE_SERVES;
	set.auto_max_gen = 2;
	T_EQ_INT(store_watch_put(s, &set, 0, NULL), 0);
	char keyhex[65];
	memset(keyhex, 'a', 64);
	keyhex[64] = '\0';
	struct store_watch_item it = {.type = STORE_WATCH_KEY, .indicator = keyhex, .source = "me"};
	T_EQ_INT(store_watch_add(s, "keys", &it, 1, 0, NULL, NULL), 0);
	/* a new certificate with the watched key, seen on an IP */
	struct store_cert_meta m;
	meta_of(&m, 0x55, true, 0xaa, "CN=new", "CN=CA", "07");
	struct store_obs o;
	memset(&o, 0, sizeof(o));
	o.kind = STORE_OBS_CERT;
	o.time_first = o.time_last = 1700000000;
	o.count = 1;
	o.cert.sighting = true;
	o.cert.has_meta = true;
	o.cert.port = 443;
	store_addr_parse("192.0.2.55", 10, o.cert.ip);
	o.cert.meta = &m;
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	struct store_watch_entry e;
	char sha1[41];
	memset(sha1, '5', 40);
	sha1[40] = '\0';
	T_EQ_INT(store_watch_entry_get(s, "keys", STORE_WATCH_CERT, sha1, 0, &e), 0);
	T_EQ_INT(e.gen, 1);
	T_EQ_STR(e.source, "auto");
	T_EQ_INT(store_watch_entry_get(s, "keys", STORE_WATCH_IP, "192.0.2.55", 0, &e), 0);
	T_EQ_INT(e.gen, 2);
	/* another certificate with another key: nothing */
	meta_of(&m, 0x66, true, 0xbb, "CN=other", "CN=CA", "08");
	store_addr_parse("192.0.2.66", 10, o.cert.ip);
	T_EQ_INT(store_write(s, &o, 1, NULL, 0, NULL), 0);
	T_EQ_INT(store_watch_entry_get(s, "keys", STORE_WATCH_IP, "192.0.2.66", 0, &e),
	         STORE_ENOTFOUND);
	store_close(s);
}

int main(void)
{
	test_dn_norm();
	test_serial_norm();
	test_key_index();
	test_key_join();
	test_fingerprints();
	test_fp_names();
	test_watch_key();
	return t_done();
}
