/*
 * test_ch_parity.h - the cluster half of test_ch.c: the same observations
 * in LMDB and in ClickHouse give the same lookups.
 */
#ifndef TEST_CH_PARITY_H
#define TEST_CH_PARITY_H

#include "util/buf.h"

static int capture_cert(const struct store_obs *o);

/* The DNS observations the LMDB writer merged, as its hook saw them. */
struct captured {
	struct store_obs *o;
	size_t n, cap;
};

static int capture_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	(void)w;
	struct captured *c = ctx;
	if (o->kind == STORE_OBS_CERT)
		return capture_cert(o); /* test_ch_certs.h */
	if (o->kind != STORE_OBS_DNS)
		return 0;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		struct store_obs *no = realloc(c->o, nc * sizeof(*no));
		if (no == NULL)
			return -ENOMEM;
		c->o = no;
		c->cap = nc;
	}
	c->o[c->n++] = *o;
	return 0;
}

/* One resolution as a line: every field a lookup shows. */
static int line_cb(const struct store_rr *rr, void *ctx)
{
	struct util_buf *b = ctx;
	util_buf_printf(b, "%s %u %s %lld %lld %llu bw=%s more=%u sensors=", rr->rrname, rr->rrtype,
	                rr->rdata, (long long)rr->time_first, (long long)rr->time_last,
	                (unsigned long long)rr->count, rr->bailiwick, rr->sensors_more);
	const char *s[STORE_SENSORS_KEPT];
	unsigned n = rr->nsensors;
	memcpy(s, rr->sensors, n * sizeof(s[0]));
	/* LMDB keeps sensors in the order it met them, ClickHouse sorted */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (strcmp(s[j], s[i]) < 0) {
				const char *t = s[i];
				s[i] = s[j];
				s[j] = t;
			}
	for (unsigned i = 0; i < n; i++)
		util_buf_printf(b, "%s,", s[i]);
	util_buf_adds(b, "\n");
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of b sorted in place (the stores order addresses and names
 * differently: bytes of the key there, text here). */
static void sort_lines(struct util_buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	char **v = calloc(n + 1, sizeof(*v));
	char *copy = malloc(b->len + 1);
	if (v == NULL || copy == NULL || b->len == 0)
		goto out;
	memcpy(copy, b->p, b->len + 1);
	size_t k = 0;
	for (char *p = copy, *e; k < n && (e = strchr(p, '\n')) != NULL; p = e + 1) {
		*e = '\0';
		v[k++] = p;
	}
	qsort(v, k, sizeof(*v), cmp_line);
	util_buf_reset(b);
	for (size_t i = 0; i < k; i++)
		util_buf_printf(b, "%s\n", v[i]);
out:
	free(v);
	free(copy);
}

/* A lookup: by name when name is set, else by addr/plen. */
struct lookup {
	const char *name;
	const uint8_t *addr;
	unsigned plen;
};

static int run_lmdb(store_t *s, const struct lookup *l, const struct store_fence *f,
                    struct util_buf *out)
{
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	if (l->name != NULL)
		err = store_rr_by_name(r, l->name, 0, f, line_cb, out);
	else
		err = store_rr_by_addr(r, l->addr, l->plen, f, line_cb, out);
	store_read_end(r);
	return err;
}

static int run_ch(store_ch_t *c, const struct lookup *l, const struct store_fence *f,
                  struct util_buf *out)
{
	if (l->name != NULL)
		return store_ch_rr_by_name(c, l->name, 0, f, line_cb, out);
	return store_ch_rr_by_addr(c, l->addr, l->plen, f, line_cb, out);
}

/* One lookup on both stores; 1 when they agree and found something. */
static int compare_one(store_t *s, store_ch_t *c, const struct lookup *l,
                       const struct store_fence *f)
{
	struct util_buf a, b;
	util_buf_init(&a, 1 << 24);
	util_buf_init(&b, 1 << 24);
	T_EQ_INT(run_lmdb(s, l, f, &a), 0);
	T_EQ_INT(run_ch(c, l, f, &b), 0);
	sort_lines(&a);
	sort_lines(&b);
	int same = a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
	if (!same) {
		char at[STORE_ADDR_BUF] = "";
		if (l->addr != NULL)
			store_addr_format(l->addr, at);
		fprintf(stderr, "lookup %s%s/%u differs:\n-- lmdb\n%s-- clickhouse\n%s",
		        l->name ? l->name : "", at, l->plen, a.p ? a.p : "", b.p ? b.p : "");
	}
	T_CHECK(same);
	int found = a.len > 0;
	util_buf_free(&a);
	util_buf_free(&b);
	return same && found;
}

static int compare_name(store_t *s, store_ch_t *c, const char *name, const struct store_fence *f)
{
	struct lookup l = {name, NULL, 0};
	return compare_one(s, c, &l, f);
}

/* An address alone, and its IPv4 /24 or IPv6 /48. */
static unsigned compare_addr(store_t *s, store_ch_t *c, const uint8_t a[16],
                             const struct store_fence *f)
{
	struct lookup one = {NULL, a, 128};
	struct lookup net = {NULL, a, store_addr_is_v4(a) ? 96 + 24 : 48};
	return (unsigned)compare_one(s, c, &one, f) + (unsigned)compare_one(s, c, &net, f);
}

/* Every name, every parent zone as "*.zone", and every name under a fence
 * (time_last >= the middle time) on both stores. */
static void compare_all(store_t *s, store_ch_t *c, const struct captured *cap)
{
	struct store_fence all, late;
	store_fence_init(&all);
	store_fence_init(&late);
	late.last_after = (cap->o[0].time_first + cap->o[cap->n - 1].time_last) / 2;
	unsigned found = 0;
	for (size_t i = 0; i < cap->n; i++) {
		const char *name = cap->o[i].dns.rrname;
		if (i > 0 && strcmp(name, cap->o[i - 1].dns.rrname) == 0)
			continue;
		found += (unsigned)compare_name(s, c, name, &all);
		compare_name(s, c, name, &late);
		uint16_t t = cap->o[i].dns.rrtype;
		if ((t == STORE_RR_A || t == STORE_RR_AAAA) && i % 3 == 0)
			found += compare_addr(s, c, cap->o[i].dns.addr, &all);
		const char *dot = strchr(name, '.');
		char zone[STORE_NAME_BUF + 2];
		if (dot != NULL && strchr(dot + 1, '.') != NULL && i % 7 == 0) {
			snprintf(zone, sizeof(zone), "*%s", dot);
			compare_name(s, c, zone, &all);
		}
	}
	T_CHECK(found > 0);
	fprintf(stderr, "parity: %u lookups found the same on both stores\n", found);
}

static int cmp_obs_name(const void *a, const void *b)
{
	return strcmp(((const struct store_obs *)a)->dns.rrname,
	              ((const struct store_obs *)b)->dns.rrname);
}

/* Write the captured observations in batches of 500, token base+i. */
static void write_batches(store_ch_t *c, const struct captured *cap, uint64_t base)
{
	for (size_t i = 0; i < cap->n; i += 500) {
		size_t n = cap->n - i < 500 ? cap->n - i : 500;
		int err = store_ch_write(c, cap->o + i, n, base + i, NULL);
		if (err != 0)
			fprintf(stderr, "store_ch_write: %s\n", store_last_error());
		T_EQ_INT(err, 0);
	}
}

static void ingest_lmdb(store_t *s, char **paths, int n)
{
	struct ingest_opts o;
	struct ingest_summary sum;
	ingest_opts_init(&o);
	o.quiet = true;
	o.parsers = 1;
	o.sensor = "parity";
	T_EQ_INT(ingest_files(s, paths, n, &o, &sum), 0);
	T_CHECK(sum.records > 0);
}

/* The server's message in errors; responses bounded. */
static void server_errors(store_ch_t *c)
{
	struct util_buf b;
	util_buf_init(&b, 1 << 20);
	T_EQ_INT(store_ch_exec(c, "SELECT count() FROM no_such_table", NULL, 0, NULL, &b),
	         STORE_EREMOTE);
	T_CHECK(strstr(store_last_error(), "Code: 60") != NULL);
	T_CHECK(strstr(store_last_error(), "no_such_table") != NULL);
	util_buf_reset(&b);
	store_ch_set_response_max(c, 100);
	T_EQ_INT(
	    store_ch_exec(c, "SELECT number FROM system.numbers LIMIT 1000", NULL, 0, NULL, &b),
	    STORE_ELIMIT);
	T_CHECK(strstr(store_last_error(), "over 100 bytes") != NULL);
	store_ch_set_response_max(c, STORE_CH_RESPONSE_MAX);
	util_buf_reset(&b);
	b.limit = STORE_CH_RESPONSE_MAX;
	T_EQ_INT(store_ch_exec(c, "SELECT 6 * 7", NULL, 0, NULL, &b), 0);
	T_EQ_STR(b.p, "42\n");
	util_buf_free(&b);
}

#include "tests/store/test_ch_certs.h"

static void parity(const char *url, char **paths, int n)
{
	store_t *s;
	store_ch_t *c;
	struct captured cap = {0};
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, 0), 0);
	store_set_write_hook(s, capture_hook, &cap);
	ingest_lmdb(s, paths, n);
	T_CHECK(cap.n > 0);
	T_EQ_INT(store_ch_open(&c, url), 0);
	T_EQ_INT(store_ch_ping(c), 0);
	server_errors(c);
	uint64_t base = store_ch_token();
	write_batches(c, &cap, base);
	write_cert_batches(c, base + (1ull << 39));
	/* a retry of every batch (same tokens, same rows) counts nothing */
	write_batches(c, &cap, base);
	write_cert_batches(c, base + (1ull << 39));
	qsort(cap.o, cap.n, sizeof(*cap.o), cmp_obs_name);
	compare_all(s, c, &cap);
	compare_more(s, c, &cap);
	/* the inputs again: LMDB counts them twice, and so must the cluster
	 * under new tokens (retried once more: not a third time) */
	size_t before = cap.n, certs_before = ncert_obs;
	cap.n = 0;
	free_cert_obs();
	ingest_lmdb(s, paths, n);
	T_EQ_INT(cap.n, before);
	T_EQ_INT(ncert_obs, certs_before);
	write_batches(c, &cap, base + (1ull << 40));
	write_batches(c, &cap, base + (1ull << 40));
	write_cert_batches(c, base + (3ull << 39));
	write_cert_batches(c, base + (3ull << 39));
	qsort(cap.o, cap.n, sizeof(*cap.o), cmp_obs_name);
	compare_all(s, c, &cap);
	compare_more(s, c, &cap);
	free_cert_obs();
	free(cert_obs);
	store_ch_close(c);
	store_close(s);
	free(cap.o);
}

#endif
