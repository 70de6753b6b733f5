/*
 * test_ch_certs.h - the cluster half of test_ch.c for certificates,
 * targets, prevalence and the batched readers (store/ch_cert.c,
 * ch_cert_read.c, ch_target.c, ch_batch.c): on the same observations,
 * every reader gives the same text on both stores, in the same order
 * (sensors and SNI names compared as sets: LMDB keeps the order it met
 * them), and each batched reader gives what looping the LMDB single-node
 * reader over its keys gives, key by key.
 */
#ifndef TEST_CH_CERTS_H
#define TEST_CH_CERTS_H

#include "util/buf.h"
#include "util/hex.h"

/* The certificate observations the LMDB writer merged, metadata copied
 * (the hook's is scratch memory). */
static struct store_obs *cert_obs;
static size_t ncert_obs, cert_cap;

static int capture_cert(const struct store_obs *o)
{
	if (ncert_obs == cert_cap) {
		size_t nc = cert_cap ? cert_cap * 2 : 256;
		struct store_obs *no = realloc(cert_obs, nc * sizeof(*no));
		if (no == NULL)
			return -ENOMEM;
		cert_obs = no;
		cert_cap = nc;
	}
	struct store_cert_meta *m = malloc(sizeof(*m));
	uint8_t *der = o->cert.meta->der_len > 0 ? malloc(o->cert.meta->der_len) : NULL;
	if (m == NULL || (o->cert.meta->der_len > 0 && der == NULL)) {
		free(m);
		return -ENOMEM;
	}
	*m = *o->cert.meta;
	if (der != NULL)
		memcpy(der, o->cert.meta->der, m->der_len);
	m->der = der;
	cert_obs[ncert_obs] = *o;
	cert_obs[ncert_obs++].cert.meta = m;
	return 0;
}

static void free_cert_obs(void)
{
	for (size_t i = 0; i < ncert_obs; i++) {
		free(cert_obs[i].cert.meta->der);
		free(cert_obs[i].cert.meta);
	}
	ncert_obs = 0;
}

static void ref_text(struct util_buf *b, const struct store_cert_ref *ref)
{
	char h[65];
	util_hex_encode(ref->hash, ref->kind == 1 ? 20 : 32, h);
	util_buf_printf(b, "%u:%s", ref->kind, h);
}

/* Names sorted into one text (a set compared as such). */
static void names_text(struct util_buf *b, const char *const *v, unsigned n)
{
	const char *s[STORE_SENSORS_KEPT];
	memcpy(s, v, n * sizeof(s[0]));
	qsort(s, n, sizeof(s[0]), cmp_line);
	for (unsigned i = 0; i < n; i++)
		util_buf_printf(b, "%s,", s[i]);
}

static int sight_line(const struct store_sighting *s, void *ctx)
{
	struct util_buf *b = ctx;
	char ip[STORE_ADDR_BUF];
	store_addr_format(s->ip, ip);
	ref_text(b, &s->ref);
	util_buf_printf(b, " %s %u %lld %lld %llu more=%u sensors=", ip, s->port,
	                (long long)s->time_first, (long long)s->time_last,
	                (unsigned long long)s->count, s->sensors_more);
	names_text(b, s->sensors, s->nsensors);
	util_buf_adds(b, " sni=");
	names_text(b, s->sni, s->nsni);
	util_buf_adds(b, "\n");
	return 0;
}

static int namecert_line(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	ref_text(ctx, ref);
	util_buf_printf(ctx, " %u\n", kind);
	return 0;
}

static int ref_line(const struct store_cert_ref *ref, void *ctx)
{
	ref_text(ctx, ref);
	util_buf_adds(ctx, "\n");
	return 0;
}

static void list_text(struct util_buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i += strnlen(p + i, n - i) + 1)
		util_buf_printf(b, "%.*s|", (int)strnlen(p + i, n - i), p + i);
}

static void cert_text(struct util_buf *b, int err, const struct store_cert_info *ci)
{
	util_buf_printf(b, "err=%d", err);
	if (err != 0)
		return;
	char h1[41], h2[65];
	util_hex_encode(ci->sha1, 20, h1);
	util_hex_encode(ci->sha256, 32, h2);
	util_buf_printf(
	    b, " sha1=%s sha256=%s meta=%d subject=%s issuer=%s serial=%s %lld-%lld san=",
	    ci->has_sha1 ? h1 : "-", ci->has_sha256 ? h2 : "-", ci->has_meta, ci->subject,
	    ci->issuer, ci->serial, (long long)ci->not_before, (long long)ci->not_after);
	list_text(b, ci->san_dns, ci->san_dns_len);
	util_buf_adds(b, " ip=");
	list_text(b, ci->san_ip, ci->san_ip_len);
	util_buf_printf(b, " der=%zu:", ci->der_len);
	if (ci->der_len > 0)
		util_buf_add(b, ci->der, ci->der_len);
}

/* Two texts must be equal; the label says which lookup. */
static int same_text(const char *label, struct util_buf *a, struct util_buf *b)
{
	int same = a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
	if (!same)
		fprintf(stderr, "%s differs:\n-- lmdb\n%.*s\n-- clickhouse\n%.*s\n", label,
		        (int)a->len, a->p ? a->p : "", (int)b->len, b->p ? b->p : "");
	T_CHECK(same);
	int found = same && a->len > 0;
	util_buf_reset(a);
	util_buf_reset(b);
	return found;
}

/* Both stores' answers to one lookup; what the lambdas would be. */
struct both {
	store_rtxn_t *r;
	store_ch_t *c;
	struct util_buf a, b;
	unsigned found, lookups, joined;
};

static void both_check(struct both *x, const char *label, int ea, int eb)
{
	T_EQ_INT(ea, eb);
	if (ea != eb)
		fprintf(stderr, "%s: lmdb %d, clickhouse %d (%s)\n", label, ea, eb,
		        store_last_error());
	x->found += (unsigned)same_text(label, &x->a, &x->b);
	x->lookups++;
}

/* Prevalence counts; nb is read after the call that sets it (an
 * argument list has no order of evaluation). */
static void cmp_prev(struct both *x, const char *label, int ea, uint64_t na, int eb,
                     const uint64_t *nb_after)
{
	uint64_t nb = *nb_after;
	util_buf_printf(&x->a, "%llu", (unsigned long long)na);
	util_buf_printf(&x->b, "%llu", (unsigned long long)nb);
	both_check(x, label, ea, eb);
}

/* The reference LMDB stores an observation under; false when it joined a
 * SHA-256-only reference to a SHA-1 the observation did not carry. */
static bool obs_ref(store_rtxn_t *r, const struct store_obs *o, struct store_cert_ref *ref)
{
	const struct store_cert_meta *m = o->cert.meta;
	if (m->has_sha1) {
		ref->kind = 1;
		memset(ref->hash, 0, 32);
		memcpy(ref->hash, m->sha1, 20);
		return true;
	}
	T_EQ_INT(store_cert_resolve(r, m->sha256, 32, ref), 0);
	return ref->kind == 2;
}

/* Resolving each hash the certificate came with. */
static void cmp_resolve(struct both *x, const struct store_cert_meta *m)
{
	for (int i = 0; i < 2; i++) {
		if (!(i == 0 ? m->has_sha1 : m->has_sha256))
			continue;
		struct store_cert_ref ra, rb;
		const uint8_t *h = i == 0 ? m->sha1 : m->sha256;
		int ea = store_cert_resolve(x->r, h, i == 0 ? 20 : 32, &ra);
		int eb = store_ch_cert_resolve(x->c, h, i == 0 ? 20 : 32, &rb);
		ref_text(&x->a, &ra);
		ref_text(&x->b, &rb);
		both_check(x, "cert_resolve", ea, eb);
	}
}

/* A SHA-1 LMDB joined a SHA-256-only certificate to (cert.c, cert_join). */
static bool joined_to(store_rtxn_t *r, const struct store_cert_ref *ref)
{
	for (size_t i = 0; i < ncert_obs && ref->kind == 1; i++) {
		const struct store_cert_meta *m = cert_obs[i].cert.meta;
		struct store_cert_ref j;
		if (m->has_sha1 || store_cert_resolve(r, m->sha256, 32, &j) != 0 || j.kind != 1)
			continue;
		if (memcmp(j.hash, ref->hash, 20) == 0)
			return true;
	}
	return false;
}

/* An observation of a certificate LMDB joined: ref is where LMDB has it. */
static bool obs_joined(store_rtxn_t *r, const struct store_obs *o, struct store_cert_ref *ref)
{
	return !obs_ref(r, o, ref) || joined_to(r, ref);
}

/* An address in the /24 (/48) of a sighting of a joined certificate, or a
 * name one names: the cluster's indexes by address and name still give its
 * SHA-256 rows as a certificate of their own (docs/scale-out.md). */
static bool near_joined(store_rtxn_t *r, const uint8_t ip[16], const char *name)
{
	for (size_t i = 0; i < ncert_obs; i++) {
		const struct store_obs *o = &cert_obs[i];
		struct store_cert_ref ref;
		if (!obs_joined(r, o, &ref))
			continue;
		size_t net = store_addr_is_v4(o->cert.ip) ? 15 : 6;
		if (ip != NULL && o->cert.sighting && memcmp(ip, o->cert.ip, net) == 0)
			return true;
		if (name != NULL && strcasecmp(name, o->cert.sni) == 0)
			return true;
		const struct store_cert_meta *m = o->cert.meta;
		for (size_t j = 0; name != NULL && o->cert.has_meta && j < m->san_dns_len;
		     j += strlen(m->san_dns + j) + 1)
			if (strcasecmp(name, m->san_dns + j) == 0)
				return true;
	}
	return false;
}

/* The reads that take a certificate reference: LMDB's joined certificate
 * on the cluster is its SHA-1's rows and its SHA-256's, merged at read time
 * (store/ch_cert.c, ch_where_cert). */
static void cmp_by_ref(struct both *x, const struct store_obs *o, const struct store_cert_ref *ref,
                       const struct store_fence *late)
{
	struct store_cert_info ci;
	struct store_fence all;
	store_fence_init(&all);
	cmp_resolve(x, o->cert.meta);
	int ea = store_cert_get(x->r, ref, &ci);
	cert_text(&x->a, ea, &ci);
	int eb = store_ch_cert_get(x->c, ref, &ci);
	cert_text(&x->b, eb, &ci);
	both_check(x, "cert_get", 0, 0);
	T_EQ_INT(ea, eb);
	ea = store_sight_by_cert(x->r, ref, &all, sight_line, &x->a);
	both_check(x, "sight_by_cert", ea,
	           store_ch_sight_by_cert(x->c, ref, &all, sight_line, &x->b));
	ea = store_sight_by_cert(x->r, ref, late, sight_line, &x->a);
	both_check(x, "sight_by_cert late", ea,
	           store_ch_sight_by_cert(x->c, ref, late, sight_line, &x->b));
	uint64_t na, nb;
	ea = store_prev_cert_ips(x->r, ref, &na);
	cmp_prev(x, "prev_cert_ips", ea, na, store_ch_prev_cert_ips(x->c, ref, &nb), &nb);
	uint8_t ka[32], kb[32];
	ea = store_cert_key(x->r, ref, ka);
	eb = store_ch_cert_key(x->c, ref, kb);
	util_buf_printf(&x->a, "%d", ea);
	util_buf_printf(&x->b, "%d", eb);
	if (ea == 0 && eb == 0) {
		util_buf_add(&x->a, ka, 32);
		util_buf_add(&x->b, kb, 32);
	}
	both_check(x, "cert_key", ea, eb);
}

/* Everything about one certificate on both stores.  False when LMDB joined
 * the certificate from its SHA-256 to its SHA-1: then only the reads by
 * reference are compared, as the indexes that name certificates (by
 * address, name, key) give the SHA-256 on the cluster (docs/scale-out.md,
 * "Known differences"). */
static bool cmp_cert(struct both *x, const struct store_obs *o, const struct store_fence *late)
{
	struct store_cert_ref ref;
	bool joined = obs_joined(x->r, o, &ref);
	cmp_by_ref(x, o, &ref, late);
	if (joined) {
		x->joined++;
		return false;
	}
	uint64_t na, nb;
	int ea;
	const struct store_cert_meta *m = o->cert.meta;
	if (m->has_key) {
		ea = store_certs_by_key(x->r, m->key, ref_line, &x->a);
		both_check(x, "certs_by_key", ea,
		           store_ch_certs_by_key(x->c, m->key, ref_line, &x->b));
		ea = store_prev_key_certs(x->r, m->key, &na);
		cmp_prev(x, "prev_key_certs", ea, na, store_ch_prev_key_certs(x->c, m->key, &nb),
		         &nb);
	}
	char dn[STORE_DN_BUF];
	if (o->cert.has_meta && store_dn_norm(m->subject, strlen(m->subject), dn) == 0) {
		ea = store_certs_by_subject(x->r, dn, ref_line, &x->a);
		both_check(x, "certs_by_subject", ea,
		           store_ch_certs_by_subject(x->c, dn, ref_line, &x->b));
		ea = store_prev_subject_certs(x->r, dn, &na);
		cmp_prev(x, "prev_subject_certs", ea, na,
		         store_ch_prev_subject_certs(x->c, dn, &nb), &nb);
	}
	return true;
}

static void cmp_name_certs(struct both *x, const char *name)
{
	char norm[STORE_NAME_BUF];
	if (store_name_norm(name, strlen(name), norm, true) != 0)
		return;
	int ea = store_certs_by_name(x->r, norm, namecert_line, &x->a);
	both_check(x, "certs_by_name", ea,
	           store_ch_certs_by_name(x->c, norm, namecert_line, &x->b));
}

/* An address alone and in its /24 or /48: certificates and names. */
static void cmp_sight_addr(struct both *x, const uint8_t ip[16])
{
	struct store_fence all;
	store_fence_init(&all);
	unsigned net = store_addr_is_v4(ip) ? 96 + 24 : 48;
	int ea = store_sight_by_addr(x->r, ip, 128, &all, sight_line, &x->a);
	both_check(x, "sight_by_addr", ea,
	           store_ch_sight_by_addr(x->c, ip, 128, &all, sight_line, &x->b));
	ea = store_sight_by_addr(x->r, ip, net, &all, sight_line, &x->a);
	both_check(x, "sight_by_addr net", ea,
	           store_ch_sight_by_addr(x->c, ip, net, &all, sight_line, &x->b));
}

/* An observation of the same certificate, address and SNI came before. */
static bool cert_seen(size_t i)
{
	const struct store_obs *o = &cert_obs[i];
	for (size_t j = 0; j < i; j++) {
		const struct store_obs *p = &cert_obs[j];
		if (memcmp(p->cert.meta->sha1, o->cert.meta->sha1, 20) == 0 &&
		    memcmp(p->cert.meta->sha256, o->cert.meta->sha256, 32) == 0 &&
		    memcmp(p->cert.ip, o->cert.ip, 16) == 0 &&
		    strcmp(p->cert.sni, o->cert.sni) == 0 && p->cert.has_meta == o->cert.has_meta)
			return true;
	}
	return false;
}

static void compare_certs(struct both *x, const struct store_fence *late)
{
	for (size_t i = 0; i < ncert_obs; i++) {
		const struct store_obs *o = &cert_obs[i];
		if (cert_seen(i))
			continue;
		if (!cmp_cert(x, o, late))
			continue;
		if (o->cert.sighting && !near_joined(x->r, o->cert.ip, NULL))
			cmp_sight_addr(x, o->cert.ip);
		if (o->cert.sighting && o->cert.sni[0] != '\0' &&
		    !near_joined(x->r, NULL, o->cert.sni))
			cmp_name_certs(x, o->cert.sni);
		const struct store_cert_meta *m = o->cert.meta;
		if (!o->cert.has_meta)
			continue;
		for (size_t j = 0; j < m->san_dns_len; j += strlen(m->san_dns + j) + 1)
			if (!near_joined(x->r, NULL, m->san_dns + j))
				cmp_name_certs(x, m->san_dns + j);
	}
}

/* rdata's target (store/rr.c's rule), or NULL. */
static const char *obs_target(const struct store_obs *o, char *buf)
{
	uint16_t t = o->dns.rrtype;
	if (!store_rrtype_has_target(t))
		return NULL;
	const char *p = o->dns.rdata;
	for (int skip = t == STORE_RR_MX ? 1 : t == STORE_RR_SRV ? 3 : 0; skip > 0 && p; skip--)
		p = (p = strchr(p, ' ')) ? p + 1 : NULL;
	if (p == NULL || *p == '\0' || strcmp(p, ".") == 0)
		return NULL;
	if (strlen(p) >= STORE_NAME_BUF)
		return NULL;
	memcpy(buf, p, strlen(p) + 1);
	return buf;
}

/* Targets (and their zones), and the prevalence of every name and address. */
static void compare_targets(struct both *x, const struct captured *cap,
                            const struct store_fence *late)
{
	for (size_t i = 0; i < cap->n; i++) {
		const struct store_obs *o = &cap->o[i];
		char tb[STORE_NAME_BUF];
		const char *t = obs_target(o, tb);
		uint64_t na, nb;
		int ea = 0;
		if (i == 0 || strcmp(o->dns.rrname, cap->o[i - 1].dns.rrname) != 0) {
			ea = store_prev_name_ips(x->r, o->dns.rrname, &na);
			cmp_prev(x, "prev_name_ips", ea, na,
			         store_ch_prev_name_ips(x->c, o->dns.rrname, &nb), &nb);
		}
		if ((o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA) && i % 3 == 0) {
			char label[STORE_ADDR_BUF + 32];
			store_addr_format(o->dns.addr,
			                  label + snprintf(label, 32, "prev_ip_names "));
			ea = store_prev_ip_names(x->r, o->dns.addr, &na);
			cmp_prev(x, label, ea, na, store_ch_prev_ip_names(x->c, o->dns.addr, &nb),
			         &nb);
		}
		if (t == NULL)
			continue;
		ea = store_rr_by_target(x->r, t, late, line_cb, &x->a);
		both_check(x, "rr_by_target", ea,
		           store_ch_rr_by_target(x->c, t, late, line_cb, &x->b));
		const char *dot = strchr(t, '.');
		char zone[STORE_NAME_BUF + 2];
		if (dot != NULL && strchr(dot + 1, '.') != NULL && i % 5 == 0) {
			snprintf(zone, sizeof(zone), "*%s", dot);
			ea = store_rr_by_target_pattern(x->r, zone, late, line_cb, &x->a);
			both_check(x, "rr_by_target_pattern", ea,
			           store_ch_rr_by_target_pattern(x->c, zone, late, line_cb, &x->b));
		}
	}
}

/* ---- batched readers against loops of the LMDB single-node readers ---- */

static int rr_key_line(size_t key, const struct store_rr *rr, void *ctx)
{
	util_buf_printf(ctx, "#%zu ", key);
	return line_cb(rr, ctx);
}

static int sight_key_line(size_t key, const struct store_sighting *s, void *ctx)
{
	util_buf_printf(ctx, "#%zu ", key);
	return sight_line(s, ctx);
}

/* The keys of one batched read: distinct addresses, names, targets,
 * certificates, plus a repeat and a key nothing matches. */
struct batch_in {
	uint8_t (*addr)[16];
	size_t naddr;
	const char **name, **target;
	size_t nname, ntarget;
	char (*tbuf)[STORE_NAME_BUF];
	uint8_t (*sip)[16];
	size_t nsip;
	struct store_cert_ref *ref;
	size_t nref;
	char (*cname)[STORE_NAME_BUF]; /* SAN and SNI names, normalised */
	const char **cnp;
	size_t ncname;
};

/* A certificate's name for the batched certs_by_names, if it normalises. */
static void add_cname(store_rtxn_t *r, struct batch_in *in, const char *name)
{
	if (near_joined(r, NULL, name))
		return;
	if (store_name_norm(name, strlen(name), in->cname[in->ncname], true) != 0)
		return;
	in->cnp[in->ncname] = in->cname[in->ncname];
	in->ncname++;
}

static void batch_keys(store_rtxn_t *r, const struct captured *cap, struct batch_in *in)
{
	size_t n = cap->n + 2, m = ncert_obs + 2;
	in->addr = calloc(n, 16);
	in->name = calloc(n, sizeof(char *));
	in->target = calloc(n, sizeof(char *));
	in->tbuf = calloc(n, STORE_NAME_BUF);
	in->sip = calloc(m, 16);
	in->ref = calloc(m, sizeof(*in->ref));
	in->cname = calloc(2 * m + 1, STORE_NAME_BUF);
	in->cnp = calloc(2 * m + 1, sizeof(char *));
	for (size_t i = 0; i < cap->n; i++) {
		const struct store_obs *o = &cap->o[i];
		if (i == 0 || strcmp(o->dns.rrname, cap->o[i - 1].dns.rrname) != 0)
			in->name[in->nname++] = o->dns.rrname;
		if (o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA)
			memcpy(in->addr[in->naddr++], o->dns.addr, 16);
		if (obs_target(o, in->tbuf[in->ntarget]) != NULL && i % 2 == 0)
			in->target[in->ntarget] = in->tbuf[in->ntarget], in->ntarget++;
	}
	for (size_t i = 0; i < ncert_obs; i++) {
		/* LMDB's joined certificates: by reference only (cmp_cert), the
		 * batched reads by certificate resolving the join too */
		bool joined = obs_joined(r, &cert_obs[i], &in->ref[in->nref]);
		in->nref++;
		if (joined)
			continue;
		if (cert_obs[i].cert.sighting && !near_joined(r, cert_obs[i].cert.ip, NULL))
			memcpy(in->sip[in->nsip++], cert_obs[i].cert.ip, 16);
		if (cert_obs[i].cert.sni[0] != '\0')
			add_cname(r, in, cert_obs[i].cert.sni);
		const struct store_cert_meta *cm = cert_obs[i].cert.meta;
		if (cert_obs[i].cert.has_meta && cm->san_dns_len > 0)
			add_cname(r, in, cm->san_dns); /* the first SAN name */
	}
	add_cname(r, in, "nowhere.invalid");
	/* a key twice, and one that is nowhere */
	if (in->naddr > 0)
		memcpy(in->addr[in->naddr++], in->addr[0], 16);
	memset(in->addr[in->naddr++], 0x7f, 16);
	in->name[in->nname++] = "nowhere.invalid";
	if (in->nsip > 0)
		memcpy(in->sip[in->nsip++], in->sip[0], 16);
	in->ref[in->nref++] = (struct store_cert_ref){.kind = 1};
}

static void batch_free(struct batch_in *in)
{
	free(in->addr);
	free(in->name);
	free(in->target);
	free(in->tbuf);
	free(in->sip);
	free(in->ref);
	free(in->cname);
	free(in->cnp);
}

/* An LMDB single-node call's rows, marked with the key's index. */
struct lk {
	struct util_buf *b;
	size_t key;
};

static int lk_rr(const struct store_rr *rr, void *ctx)
{
	struct lk *l = ctx;
	return rr_key_line(l->key, rr, l->b);
}

static int lk_sight(const struct store_sighting *s, void *ctx)
{
	struct lk *l = ctx;
	return sight_key_line(l->key, s, l->b);
}

static void batched_rr(struct both *x, const struct batch_in *in, const struct store_fence *f)
{
	int ea = 0;
	for (size_t i = 0; i < in->naddr && ea == 0; i++)
		ea = store_rr_by_addr(x->r, in->addr[i], 128, f, lk_rr, &(struct lk){&x->a, i});
	both_check(x, "rr_by_addrs", ea,
	           store_ch_rr_by_addrs(x->c, (const uint8_t(*)[16])in->addr, in->naddr, f, NULL,
	                                rr_key_line, &x->b));
	for (size_t i = 0; i < in->nname && ea == 0; i++)
		ea = store_rr_by_name(x->r, in->name[i], 0, f, lk_rr, &(struct lk){&x->a, i});
	both_check(x, "rr_by_names", ea,
	           store_ch_rr_by_names(x->c, in->name, in->nname, f, NULL, rr_key_line, &x->b));
	for (size_t i = 0; i < in->ntarget && ea == 0; i++)
		ea = store_rr_by_target(x->r, in->target[i], f, lk_rr, &(struct lk){&x->a, i});
	both_check(
	    x, "rr_by_targets", ea,
	    store_ch_rr_by_targets(x->c, in->target, in->ntarget, f, NULL, rr_key_line, &x->b));
}

static void batched_sight(struct both *x, const struct batch_in *in, const struct store_fence *f)
{
	int ea = 0;
	for (size_t i = 0; i < in->nsip && ea == 0; i++)
		ea =
		    store_sight_by_addr(x->r, in->sip[i], 128, f, lk_sight, &(struct lk){&x->a, i});
	both_check(x, "sight_by_addrs", ea,
	           store_ch_sight_by_addrs(x->c, (const uint8_t(*)[16])in->sip, in->nsip, f, NULL,
	                                   sight_key_line, &x->b));
	for (size_t i = 0; i < in->nref && ea == 0; i++)
		ea = store_sight_by_cert(x->r, &in->ref[i], f, lk_sight, &(struct lk){&x->a, i});
	both_check(
	    x, "sight_by_certs", ea,
	    store_ch_sight_by_certs(x->c, in->ref, in->nref, f, NULL, sight_key_line, &x->b));
}

static int lk_namecert(const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct lk *l = ctx;
	util_buf_printf(l->b, "#%zu ", l->key);
	return namecert_line(ref, kind, l->b);
}

static int namecert_key_line(size_t key, const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	util_buf_printf(ctx, "#%zu ", key);
	return namecert_line(ref, kind, ctx);
}

/* Counts of n keys as text, "#i n" a line. */
static void counts_text(struct util_buf *b, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		util_buf_printf(b, "#%zu %llu\n", i, (unsigned long long)v[i]);
}

/* Batched certificates by name and prevalence counts. */
static void batched_counts(struct both *x, const struct batch_in *in)
{
	int ea = 0;
	for (size_t i = 0; i < in->ncname && ea == 0; i++)
		ea = store_certs_by_name(x->r, in->cnp[i], lk_namecert, &(struct lk){&x->a, i});
	both_check(
	    x, "certs_by_names", ea,
	    store_ch_certs_by_names(x->c, in->cnp, in->ncname, NULL, namecert_key_line, &x->b));
	size_t most = in->naddr + in->nname + in->nref;
	uint64_t *va = calloc(most, sizeof(*va)), *vb = calloc(most, sizeof(*vb));
	for (size_t i = 0; i < in->naddr && ea == 0; i++)
		ea = store_prev_ip_names(x->r, in->addr[i], &va[i]);
	int eb = store_ch_prev_ip_names_n(x->c, (const uint8_t(*)[16])in->addr, in->naddr, vb);
	counts_text(&x->a, va, in->naddr);
	counts_text(&x->b, vb, in->naddr);
	both_check(x, "prev_ip_names_n", ea, eb);
	for (size_t i = 0; i < in->nname && ea == 0; i++)
		ea = store_prev_name_ips(x->r, in->name[i], &va[i]);
	eb = store_ch_prev_name_ips_n(x->c, in->name, in->nname, vb);
	counts_text(&x->a, va, in->nname);
	counts_text(&x->b, vb, in->nname);
	both_check(x, "prev_name_ips_n", ea, eb);
	for (size_t i = 0; i < in->nref && ea == 0; i++)
		ea = store_prev_cert_ips(x->r, &in->ref[i], &va[i]);
	eb = store_ch_prev_cert_ips_n(x->c, in->ref, in->nref, vb);
	counts_text(&x->a, va, in->nref);
	counts_text(&x->b, vb, in->nref);
	both_check(x, "prev_cert_ips_n", ea, eb);
	free(va);
	free(vb);
}

/* A whole chunk of CH_BATCH_KEYS certificates in one query (the keys
 * written three times: some 290 KiB of SQL, over 18.16's default
 * max_query_size): the captured references, then SHA-1s no store has. */
static void batched_full_chunk(struct both *x, const struct batch_in *in,
                               const struct store_fence *f)
{
	struct store_cert_ref *refs = calloc(CH_BATCH_KEYS, sizeof(*refs));
	uint64_t *va = calloc(CH_BATCH_KEYS, sizeof(*va)), *vb = calloc(CH_BATCH_KEYS, sizeof(*vb));
	T_CHECK(refs != NULL && va != NULL && vb != NULL);
	if (refs == NULL || va == NULL || vb == NULL)
		goto out;
	size_t n = in->nref < CH_BATCH_KEYS ? in->nref : CH_BATCH_KEYS;
	memcpy(refs, in->ref, n * sizeof(*refs));
	for (size_t i = n; i < CH_BATCH_KEYS; i++) {
		refs[i].kind = 1;
		memset(refs[i].hash, 0xfe, 20);
		memcpy(refs[i].hash, &i, sizeof(i));
	}
	int ea = 0;
	for (size_t i = 0; i < CH_BATCH_KEYS && ea == 0; i++)
		ea = store_sight_by_cert(x->r, &refs[i], f, lk_sight, &(struct lk){&x->a, i});
	both_check(
	    x, "sight_by_certs (a full chunk)", ea,
	    store_ch_sight_by_certs(x->c, refs, CH_BATCH_KEYS, f, NULL, sight_key_line, &x->b));
	for (size_t i = 0; i < CH_BATCH_KEYS && ea == 0; i++)
		ea = store_prev_cert_ips(x->r, &refs[i], &va[i]);
	int eb = store_ch_prev_cert_ips_n(x->c, refs, CH_BATCH_KEYS, vb);
	counts_text(&x->a, va, CH_BATCH_KEYS);
	counts_text(&x->b, vb, CH_BATCH_KEYS);
	both_check(x, "prev_cert_ips_n (a full chunk)", ea, eb);
out:
	free(refs);
	free(va);
	free(vb);
}

/* Every batched reader over all its keys, with every fence given. */
static void compare_batched(struct both *x, const struct captured *cap,
                            const struct store_fence *late)
{
	struct batch_in in = {0};
	struct store_fence all;
	store_fence_init(&all);
	batch_keys(x->r, cap, &in);
	batched_rr(x, &in, &all);
	batched_rr(x, &in, late);
	batched_sight(x, &in, &all);
	batched_sight(x, &in, late);
	batched_counts(x, &in);
	batched_full_chunk(x, &in, &all);
	fprintf(stderr,
	        "batched: %zu addresses, %zu names, %zu targets, %zu sighting addresses, "
	        "%zu certificates, %zu certificate names\n",
	        in.naddr, in.nname, in.ntarget, in.nsip, in.nref, in.ncname);
	batch_free(&in);
}

/* All of the above, on the stores as they are. */
static void compare_more(store_t *s, store_ch_t *c, const struct captured *cap)
{
	struct both x = {0};
	util_buf_init(&x.a, 1 << 26);
	util_buf_init(&x.b, 1 << 26);
	x.c = c;
	T_EQ_INT(store_read_begin(s, &x.r), 0);
	struct store_fence late;
	store_fence_init(&late);
	late.last_after = (cap->o[0].time_first + cap->o[cap->n - 1].time_last) / 2;
	compare_certs(&x, &late);
	compare_targets(&x, cap, &late);
	compare_batched(&x, cap, &late);
	store_read_end(x.r);
	fprintf(stderr,
	        "parity: %u of %u certificate, target, prevalence and batched lookups "
	        "found something, all the same on both stores; %u observations of "
	        "certificates LMDB joined to a SHA-1 compared by reference only\n",
	        x.found, x.lookups, x.joined);
	T_CHECK(x.found > 0);
	util_buf_free(&x.a);
	util_buf_free(&x.b);
}

/* The captured certificate observations in batches of 500 (token base+i). */
static void write_cert_batches(store_ch_t *c, uint64_t base)
{
	for (size_t i = 0; i < ncert_obs; i += 500) {
		size_t n = ncert_obs - i < 500 ? ncert_obs - i : 500;
		size_t skipped = 1;
		int err = store_ch_write(c, cert_obs + i, n, base + i, &skipped);
		if (err != 0)
			fprintf(stderr, "store_ch_write (certificates): %s\n", store_last_error());
		T_EQ_INT(err, 0);
		T_EQ_INT(skipped, 0);
	}
}

#endif
