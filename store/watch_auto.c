/*
 * watch_auto.c - standing pivots: the store's write hook.  After each
 * observation is merged, look its two ends up in the reverse index of
 * watched indicators; for each list with a rule over that edge, add the
 * other end in the same write transaction, unless a noise limit marks
 * either end or the other end is a co-tenant of a watched IP (temporal
 * affinity; counted, with the last such case kept for `show`).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/watch_internal.h"
#include "util/be.h"
#include "util/hex.h"
#include "util/time.h"

#define HOOK_MAX_LISTS 256 /* lists looked at per watched indicator (more are not expanded) */

/* snprintf that may cut the text short: these are messages. */
static void textf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void textf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

/* One end of a link, with what the noise limits need. */
struct node {
	uint8_t type;
	char text[STORE_WATCH_IND_BUF];
	char alt[STORE_WATCH_IND_BUF]; /* a certificate's SHA-256 when text is its SHA-1 */
	uint8_t addr[16];
	uint8_t keyb[32]; /* a key's bytes */
	struct store_cert_ref ref;
	bool has_ref;
};

struct link {
	unsigned edge;
	const struct node *a, *b;
	const struct store_obs *o;
	uint16_t port;
	uint64_t nsan; /* SAN names of the certificate (san edges) */
	int64_t now;
	int64_t at; /* when the observation was written (INT64_MAX: now) */
};

/* How common a node is: names on an IP, IPs of a name or a certificate
 * (0 when it cannot be counted). */
static uint64_t node_degree(struct store_wtxn *w, const struct node *n)
{
	uint64_t deg = 0;
	int err = 0;
	if (n->type == STORE_WATCH_IP)
		err = store_prev_ip_names(&w->reader, n->addr, &deg);
	else if (n->type == STORE_WATCH_CERT && n->has_ref)
		err = store_prev_cert_ips(&w->reader, &n->ref, &deg);
	else if (n->type == STORE_WATCH_KEY)
		err = store_prev_key_certs(&w->reader, n->keyb, &deg);
	else if (n->type == STORE_WATCH_DOMAIN)
		err = store_prev_name_ips(&w->reader, n->text, &deg);
	return err == 0 ? deg : 0;
}

/* The store's noise rule with the list's limits; nsan: the SAN names of a
 * certificate node (0 to leave that rule out).  True (why filled) when
 * the node is noise. */
static bool noisy(struct store_wtxn *w, const struct wl *wl, const struct node *n, uint64_t nsan,
                  char *why, size_t cap)
{
	const struct store_watch_settings *st = &wl->info.set;
	const struct store_noise_limits lim = {
	    st->max_ip_domains,    st->max_cert_ips,          st->max_domain_ips,
	    st->max_san,           STORE_NOISE_MAX_KEY_CERTS, STORE_NOISE_MAX_SUBJECT_CERTS,
	    STORE_NOISE_MAX_FP_IPS};
	struct store_noise v;
	if (!store_noise_judge(n->type, node_degree(w, n), nsan, &lim, &v))
		return false;
	store_noise_why(&v, n->text, why, cap);
	return true;
}

/* ---- temporal affinity ------------------------------------------------------ */

/* The earliest first sighting of one link as merged in the store. */
struct first_seen {
	const uint8_t *addr;
	const struct store_cert_ref *ref;
	int64_t tf;
};

static void first_min(struct first_seen *f, int64_t tf)
{
	if (tf != 0 && (f->tf == 0 || tf < f->tf))
		f->tf = tf;
}

static int cb_rr_first(const struct store_rr *rr, void *ctx)
{
	struct first_seen *f = ctx;
	if ((rr->rrtype == STORE_RR_A || rr->rrtype == STORE_RR_AAAA) &&
	    memcmp(rr->addr, f->addr, 16) == 0)
		first_min(f, rr->time_first);
	return 0;
}

static int cb_sight_first(const struct store_sighting *s, void *ctx)
{
	struct first_seen *f = ctx;
	if (s->ref.kind == f->ref->kind &&
	    memcmp(s->ref.hash, f->ref->hash, f->ref->kind == 1 ? 20 : 32) == 0)
		first_min(f, s->time_first);
	return 0;
}

/* When the link from IP x to y was first seen: as merged in the store (an
 * old co-tenant's name comes back with a fresh sighting), or the
 * observation's own time when that is earlier or the store cannot tell. */
static int64_t link_first_seen(struct store_wtxn *w, const struct link *l, const struct node *x,
                               const struct node *y)
{
	struct first_seen f = {.addr = x->addr, .ref = &y->ref, .tf = 0};
	struct store_fence fence;
	store_fence_init(&fence);
	if (l->edge == STORE_EDGE_RESOLVES)
		(void)store_rr_by_name(&w->reader, y->text, 0, &fence, cb_rr_first, &f);
	else if (y->has_ref)
		(void)store_sight_by_addr(&w->reader, x->addr, 128, &fence, cb_sight_first, &f);
	first_min(&f, l->o->time_first);
	return f.tf;
}

/* The pivot engine's temporal affinity: x, an IP the list reached through
 * an edge first seen at F (the last hop of its first provenance), leads on
 * to y first seen on it long before F: a co-tenant, not followed (why
 * filled).  An IP a person added has no arrival: no rule. */
static bool cotenant(struct store_wtxn *w, const struct link *l, const struct node *x,
                     const struct node *y, const struct store_watch_entry *xe, char *why,
                     size_t cap)
{
	if (x->type != STORE_WATCH_IP ||
	    (l->edge != STORE_EDGE_RESOLVES && l->edge != STORE_EDGE_SERVES))
		return false;
	const struct store_watch_prov *p = &xe->prov_first;
	if (p->nhops == 0)
		return false;
	int64_t arrival = p->hops[p->nhops - 1].first_seen, days;
	int64_t tf = link_first_seen(w, l, x, y);
	if (!store_affinity_judge(arrival, tf, STORE_AFFINITY_MAX_COTENANT_DAYS, &days))
		return false;
	char r[STORE_WATCH_TEXT_BUF];
	store_affinity_why(x->text, tf, days, r, sizeof(r));
	textf(why, cap, "%s: %s", y->text, r);
	return true;
}

static bool live_at(const struct store_watch_entry *e, int64_t now)
{
	return e->state == STORE_WATCH_LIVE && (e->expires == 0 || e->expires > now);
}

/* The watched entry x of list wl, when it is live; tries the alternative
 * hash of a certificate too. */
static bool watched_entry(struct store_wtxn *w, const struct wl *wl, const struct node *x,
                          struct store_watch_entry *e, int64_t now)
{
	struct wikey ik;
	if (wikey_enc(x->type, x->text, &ik) == 0 &&
	    went_load(w->txn, w->s, wl->info.id, &ik, e) == 0 && live_at(e, now))
		return true;
	if (x->alt[0] != '\0' && wikey_enc(x->type, x->alt, &ik) == 0 &&
	    went_load(w->txn, w->s, wl->info.id, &ik, e) == 0 && live_at(e, now))
		return true;
	return false;
}

/* Whether node n is in list id's reverse index (live, or expired and not
 * yet recorded). */
static bool in_list(struct store_wtxn *w, uint32_t id, const struct node *n)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *text = pass == 0 ? n->text : n->alt;
		struct wikey ik;
		if (*text == '\0' || wikey_enc(n->type, text, &ik) != 0)
			continue;
		uint8_t kb[1 + WIKEY_MAX], ib[4];
		kb[0] = ik.type;
		memcpy(kb + 1, ik.k, ik.len);
		util_be32_store(ib, id);
		bool found = false;
		struct scan sc = {.v = {4, ib}};
		SCAN_FOREACH(&sc, w->txn, w->s->dbi[DB_WIND], MDB_GET_BOTH, MDB_NEXT_DUP, kb,
		             1 + ik.len, 0)
		{
			found = true;
			break;
		}
		/* on a failure, let the full check decide */
		if (scan_end(&sc, 0, "watchlist index") != 0 || found)
			return true;
	}
	return false;
}

/* The provenance of y joining through l from the watched entry xe: xe's
 * path, then this edge, with a note naming the sighting. */
static void auto_prov(const struct link *l, const struct node *x, const struct node *y,
                      const struct store_watch_entry *xe, struct store_watch_prov *prov)
{
	const struct store_watch_prov *xp = xe->has_latest ? &xe->prov_latest : &xe->prov_first;
	memset(prov, 0, sizeof(*prov));
	prov->at = l->now;
	if (xp->nhops < STORE_WATCH_HOPS_MAX) {
		memcpy(prov->hops, xp->hops, xp->nhops * sizeof(prov->hops[0]));
		prov->nhops = xp->nhops;
	}
	struct store_watch_hop *h = &prov->hops[prov->nhops++];
	h->edge = (uint8_t)l->edge;
	if (l->edge == STORE_EDGE_CNAME && x == l->b)
		h->edge |= STORE_WATCH_HOP_BACKWARD;
	h->from_type = x->type;
	h->to_type = y->type;
	textf(h->from, sizeof(h->from), "%s", xe->indicator);
	textf(h->to, sizeof(h->to), "%s", y->text);
	h->first_seen = l->o->time_first;
	h->last_seen = l->o->time_last;
	h->port = l->port;
	char seen[32];
	util_time_format(l->o->time_last, seen, sizeof(seen));
	textf(prov->note, sizeof(prov->note), "auto: %s with %s, seen %s by %s",
	      store_edge_name(l->edge), xe->indicator, seen,
	      l->o->sensor[0] ? l->o->sensor : "an unnamed sensor");
}

/* Count a link the list did not follow, keeping why for `show`. */
static void skipped(struct wl *wl, int64_t now, const char *why)
{
	wl->info.noise_skipped++;
	wl->info.last_skip_time = now;
	textf(wl->info.last_skip, sizeof(wl->info.last_skip), "%s", why);
}

/* Whether list wl's rule expands from x to y now: x is a live entry below
 * the generation limit, and y is not on the list already (or is an auto
 * entry past half its time, to be refreshed).  xe receives x's entry. */
static bool wants(struct store_wtxn *w, uint32_t id, const struct wl *wl, const struct link *l,
                  const struct node *x, const struct node *y, struct store_watch_entry *xe)
{
	static _Thread_local struct store_watch_entry ye;
	unsigned ttl =
	    wl->info.set.auto_ttl_days ? wl->info.set.auto_ttl_days : wl->info.set.ttl_days;
	if (!(wl->info.set.auto_edges & l->edge))
		return false;
	/* the common case, a sighting of what the list already has, costs
	 * one index probe; an entry the standing pivot added lives on while
	 * its sightings go on, refreshed once half its time is gone (so a
	 * busy link costs at most two versions per ttl) */
	if (in_list(w, id, y) && watched_entry(w, wl, y, &ye, l->now) &&
	    (ye.gen == 0 || ye.expires == 0 || ttl == 0 ||
	     ye.expires - l->now > (int64_t)ttl * 86400 / 2))
		return false;
	/* an entry added after the write does not expand from it: LMDB's
	 * hook sees only the writes after an entry, the sweep older rows */
	return watched_entry(w, wl, x, xe, l->now) && xe->added <= l->at &&
	       xe->gen < wl->info.set.auto_max_gen;
}

static int expand_list(struct store_wtxn *w, uint32_t id, const struct link *l,
                       const struct node *x, const struct node *y)
{
	struct wl wl;
	if (wl_load_id(w->txn, w->s, id, &wl) != 0)
		return 0; /* a list being deleted in this transaction */
	static _Thread_local struct store_watch_entry xe;
	if (!wants(w, id, &wl, l, x, y, &xe))
		return 0;
	char why[STORE_WATCH_TEXT_BUF];
	/* a SAN link says how many names the certificate carries */
	uint64_t nsan = l->edge == STORE_EDGE_SAN && x->type == STORE_WATCH_CERT ? l->nsan : 0;
	bool skip = noisy(w, &wl, y, 0, why, sizeof(why)) ||
	            noisy(w, &wl, x, nsan, why, sizeof(why)) ||
	            cotenant(w, l, x, y, &xe, why, sizeof(why));
	wl_settle(w, &wl, l->now);
	if (skip) {
		skipped(&wl, l->now, why);
		wl_save(w, &wl);
		return 0;
	}
	static _Thread_local struct store_watch_prov prov;
	auto_prov(l, x, y, &xe, &prov);
	unsigned ttl = wl.info.set.auto_ttl_days ? wl.info.set.auto_ttl_days : wl.info.set.ttl_days;
	struct store_watch_item it = {
	    .type = y->type,
	    .indicator = y->text,
	    .expires = ttl ? l->now + (int64_t)ttl * 86400 : 0,
	    .source = "auto",
	    .reason = NULL,
	    .prov = &prov,
	};
	uint64_t opver = 0;
	int r = wl_add_one(w, &wl, &it, xe.gen + 1u, l->now, &opver);
	textf(why, sizeof(why), "%s: list full", y->text);
	if (r == STORE_ELIMIT)
		skipped(&wl, l->now, why);
	else if (r == STORE_WATCH_ADDED)
		wl.info.auto_added++;
	if (r < 0 && r != STORE_ELIMIT)
		return r;
	if (opver != 0)
		wl.info.updated = l->now;
	wl_save(w, &wl);
	return 0;
}

/* Expand from x (if watched) to y. */
static int expand(struct store_wtxn *w, const struct link *l, const struct node *x,
                  const struct node *y)
{
	uint32_t ids[HOOK_MAX_LISTS];
	unsigned nids = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *text = pass == 0 ? x->text : x->alt;
		if (*text == '\0')
			continue;
		struct wikey ik;
		if (wikey_enc(x->type, text, &ik) != 0)
			continue;
		uint8_t kb[1 + WIKEY_MAX];
		kb[0] = ik.type;
		memcpy(kb + 1, ik.k, ik.len);
		struct scan sc;
		SCAN_DUPS(&sc, w->txn, w->s->dbi[DB_WIND], kb, 1 + ik.len)
		{
			if (nids >= HOOK_MAX_LISTS)
				break;
			if (sc.v.mv_size == 4) {
				uint32_t id = util_be32_load(sc.v.mv_data);
				bool dup = false;
				for (unsigned i = 0; i < nids; i++)
					dup |= ids[i] == id;
				if (!dup)
					ids[nids++] = id;
			}
		}
		if (scan_end(&sc, 0, "watchlist index") != 0) {
			w->err = sc.rc;
			return STORE_ELMDB;
		}
	}
	for (unsigned i = 0; i < nids && w->err == 0; i++) {
		int err = expand_list(w, ids[i], l, x, y);
		if (err < 0)
			return err;
	}
	return 0;
}

static int link_both(struct store_wtxn *w, struct link *l)
{
	int err = expand(w, l, l->a, l->b);
	if (err == 0)
		err = expand(w, l, l->b, l->a);
	return err;
}

static void node_domain(struct node *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->type = STORE_WATCH_DOMAIN;
	textf(n->text, sizeof(n->text), "%s", name);
}

static void node_ip(struct node *n, const uint8_t a[16])
{
	memset(n, 0, sizeof(*n));
	n->type = STORE_WATCH_IP;
	memcpy(n->addr, a, 16);
	store_addr_format(a, n->text);
}

static int node_cert(struct store_wtxn *w, struct node *n, const struct store_cert_meta *m)
{
	memset(n, 0, sizeof(*n));
	n->type = STORE_WATCH_CERT;
	int err = STORE_ENOTFOUND;
	if (m->has_sha1)
		err = store_cert_resolve(&w->reader, m->sha1, 20, &n->ref);
	else if (m->has_sha256)
		err = store_cert_resolve(&w->reader, m->sha256, 32, &n->ref);
	else
		return STORE_ENOTFOUND;
	if (err != 0 && err != STORE_ENOTFOUND)
		return err;
	n->has_ref = err == 0;
	if (n->has_ref) {
		util_hex_encode(n->ref.hash, n->ref.kind == 1 ? 20 : 32, n->text);
	} else if (m->has_sha1) {
		util_hex_encode(m->sha1, 20, n->text);
	} else {
		util_hex_encode(m->sha256, 32, n->text);
	}
	if (m->has_sha256 && strlen(n->text) == 40)
		util_hex_encode(m->sha256, 32, n->alt);
	return 0;
}

/* A certificate's public key: key (cert - key). */
static int hook_key(struct store_wtxn *w, struct link *l, struct node *a, const struct node *c)
{
	memset(a, 0, sizeof(*a));
	a->type = STORE_WATCH_KEY;
	memcpy(a->keyb, l->o->cert.meta->key, 32);
	util_hex_encode(a->keyb, 32, a->text);
	l->a = c;
	l->b = a;
	l->edge = STORE_EDGE_KEY;
	l->port = 0;
	int err = link_both(w, l);
	l->a = a;
	return err;
}

bool store_watch_active(struct store_wtxn *w)
{
	MDB_stat ms;
	return !w->s->no_watch && w->err == 0 && mdb_stat(w->txn, w->s->dbi[DB_WIND], &ms) == 0 &&
	       ms.ms_entries > 0;
}

/* A DNS observation: resolves (A/AAAA) or cname. */
static int hook_dns(struct store_wtxn *w, struct link *l, struct node *a, struct node *b)
{
	const struct store_obs *o = l->o;
	if (o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA) {
		node_domain(a, o->dns.rrname);
		node_ip(b, o->dns.addr);
		l->edge = STORE_EDGE_RESOLVES;
		return link_both(w, l);
	}
	if (o->dns.rrtype == STORE_RR_CNAME) {
		node_domain(a, o->dns.rrname);
		node_domain(b, o->dns.rdata);
		l->edge = STORE_EDGE_CNAME;
		return link_both(w, l);
	}
	return 0;
}

/* A certificate sighting: serves (ip - cert) and, with an SNI, sni. */
static int hook_sighting(struct store_wtxn *w, struct link *l, struct node *a, struct node *b,
                         const struct node *c)
{
	const struct store_obs *o = l->o;
	node_ip(a, o->cert.ip);
	l->a = a;
	l->b = c;
	l->edge = STORE_EDGE_SERVES;
	l->port = o->cert.port;
	int err = link_both(w, l);
	if (err != 0 || o->cert.sni[0] == '\0')
		return err;
	node_domain(b, o->cert.sni);
	l->a = b;
	l->edge = STORE_EDGE_SNI;
	l->port = 0;
	return link_both(w, l);
}

/* A certificate's SAN names: san (cert - domain) for each that is not a
 * wildcard (not an indicator a sensor can match). */
static int hook_san(struct store_wtxn *w, struct link *l, struct node *a, const struct node *c)
{
	const struct store_cert_meta *m = l->o->cert.meta;
	uint64_t nsan = 0;
	for (size_t i = 0; i < m->san_dns_len; i += strnlen(m->san_dns + i, m->san_dns_len - i) + 1)
		nsan++;
	l->nsan = nsan;
	l->edge = STORE_EDGE_SAN;
	l->port = 0;
	l->b = c;
	int err = 0;
	size_t step;
	for (size_t i = 0; i < m->san_dns_len && err == 0; i += step + 1) {
		const char *san = m->san_dns + i;
		step = strnlen(san, m->san_dns_len - i);
		char norm[STORE_NAME_BUF];
		if (store_name_norm(san, step, norm, false) != 0)
			continue;
		node_domain(a, norm);
		l->a = a;
		err = link_both(w, l);
	}
	return err;
}

int store_watch_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	return store_watch_hook_at(w, o, ctx != NULL ? *(const int64_t *)ctx : 0, INT64_MAX);
}

int store_watch_hook_at(struct store_wtxn *w, const struct store_obs *o, int64_t now, int64_t at)
{
	if (w->s->no_watch || w->err != 0)
		return 0;
	/* the common case: nobody watches anything */
	MDB_stat ms;
	if (mdb_stat(w->txn, w->s->dbi[DB_WIND], &ms) != 0 || ms.ms_entries == 0)
		return 0;
	struct node a, b;
	struct link l = {.a = &a, .b = &b, .o = o, .at = at};
	l.now = watch_now(now);
	if (o->kind == STORE_OBS_DNS)
		return hook_dns(w, &l, &a, &b);
	if (o->kind != STORE_OBS_CERT || o->cert.meta == NULL)
		return 0;
	static _Thread_local struct node c;
	int err = node_cert(w, &c, o->cert.meta);
	if (err == STORE_ENOTFOUND)
		return 0;
	/* the key first: a certificate a watched key brings in is watched
	 * when its sighting's link is looked at */
	if (err == 0 && o->cert.meta->has_key)
		err = hook_key(w, &l, &a, &c);
	if (err == 0 && o->cert.sighting)
		err = hook_sighting(w, &l, &a, &b, &c);
	if (err == 0 && o->cert.has_meta && o->cert.meta->san_dns_len > 0)
		err = hook_san(w, &l, &a, &c);
	return err;
}
