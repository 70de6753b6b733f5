/*
 * test_formats.c - the sensor formats through the stream API: which
 * parser auto-detection picks for every fixture, byte-at-a-time feeding,
 * reject reports, the pre-4.2 Zeek join across inputs, bounded vectors.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "tests/testutil.h"

static const char *fixtures;

static char *slurp(const char *rel, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", fixtures, rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static const char *detected(const char *rel)
{
	size_t len;
	char *buf = slurp(rel, &len);
	if (buf == NULL)
		return "(unreadable)";
	char *nl = strchr(buf, '\n');
	size_t l = nl ? (size_t)(nl - buf) : len;
	const struct ingest_format *f = ingest_format_detect(buf, l);
	free(buf);
	return f ? f->name : "(none)";
}

struct rej {
	unsigned n;
	char last[256];
	uint64_t line;
};

static void on_reject(const char *input, uint64_t line, const char *reason, void *ctx)
{
	struct rej *r = ctx;
	r->n++;
	r->line = line;
	snprintf(r->last, sizeof(r->last), "%s", reason);
	(void)input;
}

static int count_rr(const struct store_rr *rr, void *ctx)
{
	(void)rr;
	(*(unsigned *)ctx)++;
	return 0;
}

static int feed_all(ingest_stream_t *st, const char *name, const char *buf, size_t len, size_t step)
{
	ingest_stream_begin(st, name, NULL, 0);
	for (size_t i = 0; i < len; i += step)
		ingest_stream_feed(st, buf + i, len - i < step ? len - i : step);
	return ingest_stream_end(st);
}

/* The time stamp parser against a plain statement of its rule (digits,
 * at most UINT32_MAX, then optionally a dot and at least one digit) on
 * seeded strings: the eight-at-a-time path and the general loop agree. */
static int epoch_ref(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		v = v > UINT32_MAX ? v : v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (i == 0 || v > UINT32_MAX)
		return -1;
	if (i < n) {
		size_t f = ++i;
		if (s[f - 1] != '.')
			return -1;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i != n)
			return -1;
	}
	*out = (int64_t)v;
	return 0;
}

static uint64_t lcg(uint64_t *seed)
{
	return *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
}

static void test_epoch_parse(void)
{
	static const char alpha[] = "0123456789012345678901234567890123456789.x-";
	uint64_t seed = 0x2545F4914F6CDD1Dull;
	unsigned agree = 0, valid = 0, n = 300000;
	for (unsigned k = 0; k < n; k++) {
		char s[24];
		lcg(&seed);
		size_t len = (size_t)(seed >> 59) % 20;
		if (k % 2 == 0) { /* shaped like a time stamp */
			len = (size_t)snprintf(s, sizeof(s), "%010llu.%06llu",
			                       (unsigned long long)(seed >> 28) % 9000000000ull,
			                       (unsigned long long)(seed >> 8) % 1000000);
			if (k % 6 == 0)
				len = 10 + (size_t)(seed >> 40) % 8; /* cut short */
			if (k % 10 == 0)
				s[(seed >> 20) % len] = alpha[(seed >> 12) % (sizeof(alpha) - 1)];
		} else {
			for (size_t i = 0; i < len; i++)
				s[i] = alpha[(lcg(&seed) >> 33) % (sizeof(alpha) - 1)];
		}
		int64_t a = -1, b = -1;
		int ra = ingest_epoch_parse(s, len, &a), rb = epoch_ref(s, len, &b);
		valid += rb == 0;
		agree += (ra == 0) == (rb == 0) && (rb != 0 || a == b);
		if ((ra == 0) != (rb == 0) || (rb == 0 && a != b))
			fprintf(stderr, "disagree on '%.*s': %d %lld, want %d %lld\n", (int)len, s,
			        ra, (long long)a, rb, (long long)b);
	}
	T_EQ_INT(agree, n);
	T_CHECK(valid > n / 5 && valid < n - n / 5);
	int64_t t;
	T_EQ_INT(ingest_epoch_parse("4294967295", 10, &t), 0);
	T_EQ_INT(t, 4294967295ll);
	T_CHECK(ingest_epoch_parse("4294967296.5", 12, &t) != 0);
	T_CHECK(ingest_epoch_parse("1700000000.", 11, &t) != 0);
	T_CHECK(ingest_epoch_parse("1700000000x5", 12, &t) != 0);
	T_CHECK(ingest_epoch_parse("17000000:0.5", 12, &t) != 0);
	T_EQ_INT(ingest_epoch_parse("00000000001.25", 14, &t), 0);
	T_EQ_INT(t, 1);
}

int main(void)
{
	test_epoch_parse();
	fixtures = getenv("FIXTURES");
	if (fixtures == NULL)
		fixtures = "tests/fixtures";

	/* auto-detection */
	T_EQ_STR(detected("zeek/logs-ts/opt.basic__dns.log"), "zeek");
	T_EQ_STR(detected("zeek/logs/opt.basic__dns.log"), "zeek"); /* "### BTest" first */
	T_EQ_STR(detected("zeek/logs-ts/scripts.base.protocols.ssl.basic__x509.log"), "zeek");
	T_EQ_STR(detected("suricata/eve-from-zeek-pcaps.json"), "eve");
	T_EQ_STR(detected("passivedns/passivedns-sample.log"), "passivedns");
	T_EQ_STR(detected("passivedns/passivedns-nxdomain.log"), "passivedns");
	T_EQ_STR(detected("cof/circl-sample.ndjson"), "observations");
	const char *zj =
	    "{\"ts\":1.5,\"uid\":\"C\",\"id.orig_h\":\"1.2.3.4\",\"id.resp_h\":\"1.2.3.5\","
	    "\"query\":\"x.com\"}";
	T_EQ_STR(ingest_format_detect(zj, strlen(zj))->name, "zeek");
	const char *pj = "{\"timestamp_s\":1,\"query\":\"x.com.\",\"answer\":\"1.2.3.4\"}";
	T_EQ_STR(ingest_format_detect(pj, strlen(pj))->name, "passivedns");
	size_t pl;
	char *pem = slurp("zeek/certs/ecdhe-leaf.pem", &pl);
	T_CHECK(pem != NULL && ingest_certfile_detect((const uint8_t *)pem, pl));
	T_CHECK(!ingest_certfile_detect((const uint8_t *)"1322849924||", 12));
	free(pem);

	const char *dir = t_tmpdir();
	store_t *s = NULL;
	T_EQ_INT(store_open(&s, dir, STORE_NOSYNC, 0), 0);
	struct rej rj = {0};
	struct ingest_opts o;
	ingest_opts_init(&o);
	o.quiet = true;
	o.on_reject = on_reject;
	o.reject_ctx = &rj;

	/* byte-at-a-time feeding gives the same result as whole files */
	ingest_stream_t *st;
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	size_t len;
	char *z = slurp("zeek/logs-ts/opt.basic__dns.log", &len);
	T_CHECK(z != NULL);
	feed_all(st, "dns.log", z, len, 1);
	free(z);
	char *e = slurp("suricata/eve-from-zeek-pcaps.json", &len);
	feed_all(st, "eve.json", e, len, 7);
	free(e);
	struct ingest_summary sum;
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.lines, 34 + 27);
	T_EQ_INT(sum.accepted, 6 + 18);
	T_EQ_INT(sum.skipped, 28 + 9);
	T_EQ_INT(sum.rejected, 0);
	T_EQ_INT(sum.records, 13 + 29);

	/* the pre-4.2 join works across inputs of one run, either order */
	const char *ssl = "#separator \\x09\n#path\tssl\n#fields\tts\tid.resp_h\tid.resp_p\t"
	                  "server_name\tcert_chain_fuids\n"
	                  "1400000000\t203.0.113.1\t8443\ta.example\tFabc,Fdef\n";
	const char *x509 = "#separator \\x09\n#path\tx509\n#fields\tts\tid\tfingerprint\t"
	                   "certificate.subject\n"
	                   "1400000000\tFabc\t2222222222222222222222222222222222222222\tCN=a\n";
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	feed_all(st, "ssl.log", ssl, strlen(ssl), 4096);
	feed_all(st, "x509.log", x509, strlen(x509), 4096);
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.accepted, 2);
	T_EQ_INT(sum.records, 2); /* metadata, then the sighting that waited */
	store_rtxn_t *r;
	T_EQ_INT(store_read_begin(s, &r), 0);
	uint8_t h[32];
	size_t hl;
	store_hash_parse("2222222222222222222222222222222222222222", 40, h, &hl);
	struct store_cert_ref ref;
	T_EQ_INT(store_cert_resolve(r, h, hl, &ref), 0);
	uint64_t nips = 0;
	T_EQ_INT(store_prev_cert_ips(r, &ref, &nips), 0);
	T_EQ_INT(nips, 1);
	store_read_end(r);

	/* a huge vector is refused, not allocated; the reason says why */
	size_t big = 200000;
	char *huge = malloc(big + 256);
	int n = snprintf(huge, 256,
	                 "#separator \\x09\n#path\tdns\n#fields\tts\tquery\trcode\t"
	                 "answers\n1400000000\tx.example\t0\t");
	for (size_t i = 0; i < big / 2; i++) {
		huge[n++] = '1';
		huge[n++] = ',';
	}
	huge[n++] = '\n';
	memset(&rj, 0, sizeof(rj));
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	feed_all(st, "huge.log", huge, (size_t)n, 65536);
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	free(huge);
	T_EQ_INT(sum.rejected, 1);
	T_EQ_INT(rj.line, 4);
	T_CHECK(strstr(rj.last, "more than 2048 vector elements") != NULL);

	/* a separator other than tab, with escapes in the header */
	const char *comma = "#separator \\x2c\n#set_separator,;\n#path,dns\n"
	                    "#fields,ts,query,rcode,qtype,answers\n"
	                    "1400000000,sep.example,0,1,192.0.2.1;192.0.2.2\n";
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	feed_all(st, "comma.log", comma, strlen(comma), 3);
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.accepted, 1);
	T_EQ_INT(sum.records, 2);

	/* the row splitter: escapes, the header's own unset/empty markers, a
	 * separator in every byte position of a 16- and 8-byte block, and a
	 * row with one field too many */
	const char *tsv = "#separator \\x09\n#unset_field\tNULL\n#empty_field\tNONE\n"
	                  "#path\tdns\n#fields\tts\tquery\trcode\tqtype\tanswers\n"
	                  "1400000000\tesc\\x2dname.example\t0\t1\t192.0.2.1\n"
	                  "1400000000\ta.example\t0\t1\t192.0.2.2,192.0.2.3\n"
	                  "1400000000\tbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example\tNULL\t1\t"
	                  "192.0.2.4\n"
	                  "1400000000\tc.example\t0\t1\t192.0.2.5\textra\n"
	                  "1400000000\td.example\t0\t1\tNONE\n"
	                  "1400000000\tbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example\t0\t1\t"
	                  "192.0.2.6\n";
	memset(&rj, 0, sizeof(rj));
	T_EQ_INT(ingest_stream_new(&st, s, &o), 0);
	feed_all(st, "split.log", tsv, strlen(tsv), 5);
	T_EQ_INT(ingest_stream_finish(st, &sum), 0);
	ingest_stream_free(st);
	T_EQ_INT(sum.rejected, 1);
	T_EQ_INT(rj.line, 9);
	T_CHECK(strstr(rj.last, "6 fields where #fields declares 5") != NULL);
	T_EQ_INT(sum.skipped, 2); /* the unset rcode, the empty answers */
	T_EQ_INT(sum.records, 4); /* esc-name, a.example twice, the long name once */
	store_rtxn_t *r2;
	T_EQ_INT(store_read_begin(s, &r2), 0);
	unsigned hits = 0;
	T_EQ_INT(store_rr_by_name(r2, "esc-name.example", 0, NULL, count_rr, &hits), 0);
	T_EQ_INT(hits, 1);
	T_EQ_INT(store_rr_by_name(r2, "a.example", 0, NULL, count_rr, &hits), 0);
	T_EQ_INT(hits, 3);
	T_EQ_INT(store_rr_by_name(r2, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example", 0, NULL,
	                          count_rr, &hits),
	         0);
	T_EQ_INT(hits, 4);
	store_read_end(r2);

	store_close(s);
	return t_done();
}
