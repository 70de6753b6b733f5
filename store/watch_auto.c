/*
 * watch_auto.c - standing pivots: the store's write hook.  After each
 * observation is merged, look its two ends up in the reverse index of
 * watched indicators; for each list with a rule over that edge, add the
 * other end in the same write transaction, unless a noise limit marks
 * either end (counted, with the last such case kept for `show`).
 */
#include <errno.h>
#include <stdarg.h>
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
};

/* How common a node is, against the limit that applies to its type.
 * Returns true (and fills why) when it is over the limit. */
static bool noisy(struct store_wtxn *w, const struct wl *wl, const struct node *n, char *why,
                  size_t cap)
{
	const struct store_watch_settings *st = &wl->info.set;
	uint64_t deg = 0;
	if (n->type == STORE_WATCH_IP) {
		if (store_prev_ip_names(&w->reader, n->addr, &deg) == 0 &&
		    deg > st->max_ip_domains) {
			textf(why, cap, "%s (ip): shared hosting, %llu names > %llu", n->text,
			      (unsigned long long)deg, (unsigned long long)st->max_ip_domains);
			return true;
		}
	} else if (n->type == STORE_WATCH_CERT) {
		if (n->has_ref && store_prev_cert_ips(&w->reader, &n->ref, &deg) == 0 &&
		    deg > st->max_cert_ips) {
			textf(why, cap, "%s (cert): on %llu IPs > %llu", n->text,
			      (unsigned long long)deg, (unsigned long long)st->max_cert_ips);
			return true;
		}
	} else if (n->type == STORE_WATCH_DOMAIN) {
		if (store_prev_name_ips(&w->reader, n->text, &deg) == 0 &&
		    deg > st->max_domain_ips) {
			textf(why, cap, "%s (domain): on %llu IPs > %llu", n->text,
			      (unsigned long long)deg, (unsigned long long)st->max_domain_ips);
			return true;
		}
	}
	return false;
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

static int expand_list(struct store_wtxn *w, uint32_t id, const struct link *l,
                       const struct node *x, const struct node *y)
{
	struct wl wl;
	if (wl_load_id(w->txn, w->s, id, &wl) != 0)
		return 0; /* a list being deleted in this transaction */
	if (!(wl.info.set.auto_edges & l->edge))
		return 0;
	static _Thread_local struct store_watch_entry xe, ye;
	unsigned ttl = wl.info.set.auto_ttl_days ? wl.info.set.auto_ttl_days : wl.info.set.ttl_days;
	/* the common case, a sighting of what the list already has, costs
	 * one index probe; an entry the standing pivot added lives on while
	 * its sightings go on, refreshed once half its time is gone (so a
	 * busy link costs at most two versions per ttl) */
	if (in_list(w, id, y) && watched_entry(w, &wl, y, &ye, l->now) &&
	    (ye.gen == 0 || ye.expires == 0 || ttl == 0 ||
	     ye.expires - l->now > (int64_t)ttl * 86400 / 2))
		return 0;
	if (!watched_entry(w, &wl, x, &xe, l->now) || xe.gen >= wl.info.set.auto_max_gen)
		return 0;
	char why[STORE_WATCH_TEXT_BUF];
	bool skip = noisy(w, &wl, y, why, sizeof(why)) || noisy(w, &wl, x, why, sizeof(why));
	if (!skip && l->edge == STORE_WEDGE_SAN && x->type == STORE_WATCH_CERT &&
	    l->nsan > wl.info.set.max_san) {
		textf(why, sizeof(why), "%s (cert): %llu SAN names > %llu", x->text,
		      (unsigned long long)l->nsan, (unsigned long long)wl.info.set.max_san);
		skip = true;
	}
	wl_settle(w, &wl, l->now);
	if (skip) {
		wl.info.noise_skipped++;
		wl.info.last_skip_time = l->now;
		textf(wl.info.last_skip, sizeof(wl.info.last_skip), "%s", why);
		wl_save(w, &wl);
		return 0;
	}
	/* provenance: the watched entry's path, then this edge */
	static _Thread_local struct store_watch_prov prov;
	const struct store_watch_prov *xp = xe.has_latest ? &xe.prov_latest : &xe.prov_first;
	memset(&prov, 0, sizeof(prov));
	prov.at = l->now;
	if (xp->nhops < STORE_WATCH_HOPS_MAX) {
		memcpy(prov.hops, xp->hops, xp->nhops * sizeof(prov.hops[0]));
		prov.nhops = xp->nhops;
	}
	struct store_watch_hop *h = &prov.hops[prov.nhops++];
	h->edge = (uint8_t)l->edge;
	h->from_type = x->type;
	h->to_type = y->type;
	textf(h->from, sizeof(h->from), "%s", xe.indicator);
	textf(h->to, sizeof(h->to), "%s", y->text);
	h->first_seen = l->o->time_first;
	h->last_seen = l->o->time_last;
	h->port = l->port;
	char seen[32];
	util_time_format(l->o->time_last, seen, sizeof(seen));
	textf(prov.note, sizeof(prov.note), "auto: %s with %s, seen %s by %s",
	      store_watch_edge_name(l->edge), xe.indicator, seen,
	      l->o->sensor[0] ? l->o->sensor : "an unnamed sensor");
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
	if (r == STORE_ELIMIT) {
		wl.info.noise_skipped++;
		wl.info.last_skip_time = l->now;
		textf(wl.info.last_skip, sizeof(wl.info.last_skip), "%s: list full", y->text);
		r = 0;
	} else if (r == STORE_WATCH_ADDED) {
		wl.info.auto_added++;
	}
	if (r < 0)
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

bool store_watch_active(struct store_wtxn *w)
{
	MDB_stat ms;
	return !w->s->no_watch && w->err == 0 && mdb_stat(w->txn, w->s->dbi[DB_WIND], &ms) == 0 &&
	       ms.ms_entries > 0;
}

int store_watch_hook(struct store_wtxn *w, const struct store_obs *o, void *ctx)
{
	if (w->s->no_watch || w->err != 0)
		return 0;
	/* the common case: nobody watches anything */
	MDB_stat ms;
	if (mdb_stat(w->txn, w->s->dbi[DB_WIND], &ms) != 0 || ms.ms_entries == 0)
		return 0;
	struct node a, b;
	struct link l = {.a = &a, .b = &b, .o = o};
	l.now = watch_now(ctx != NULL ? *(const int64_t *)ctx : 0);
	int err = 0;
	if (o->kind == STORE_OBS_DNS) {
		if (o->dns.rrtype == STORE_RR_A || o->dns.rrtype == STORE_RR_AAAA) {
			node_domain(&a, o->dns.rrname);
			node_ip(&b, o->dns.addr);
			l.edge = STORE_WEDGE_RESOLVES;
			err = link_both(w, &l);
		} else if (o->dns.rrtype == STORE_RR_CNAME) {
			node_domain(&a, o->dns.rrname);
			node_domain(&b, o->dns.rdata);
			l.edge = STORE_WEDGE_CNAME;
			err = link_both(w, &l);
		}
		return err;
	}
	if (o->kind != STORE_OBS_CERT || o->cert.meta == NULL)
		return 0;
	static _Thread_local struct node c;
	err = node_cert(w, &c, o->cert.meta);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
	if (o->cert.sighting) {
		node_ip(&a, o->cert.ip);
		l.a = &a;
		l.b = &c;
		l.edge = STORE_WEDGE_SERVES;
		l.port = o->cert.port;
		err = link_both(w, &l);
		if (err == 0 && o->cert.sni[0] != '\0') {
			node_domain(&b, o->cert.sni);
			l.a = &b;
			l.edge = STORE_WEDGE_SNI;
			l.port = 0;
			err = link_both(w, &l);
		}
	}
	if (err == 0 && o->cert.has_meta && o->cert.meta->san_dns_len > 0) {
		const struct store_cert_meta *m = o->cert.meta;
		uint64_t nsan = 0;
		for (size_t i = 0; i < m->san_dns_len;
		     i += strnlen(m->san_dns + i, m->san_dns_len - i) + 1)
			nsan++;
		l.nsan = nsan;
		l.edge = STORE_WEDGE_SAN;
		l.port = 0;
		l.b = &c;
		size_t step;
		for (size_t i = 0; i < m->san_dns_len && err == 0; i += step + 1) {
			const char *san = m->san_dns + i;
			step = strnlen(san, m->san_dns_len - i);
			char norm[STORE_NAME_BUF];
			/* wildcards are not indicators a sensor can match */
			if (store_name_norm(san, step, norm, false) != 0)
				continue;
			node_domain(&a, norm);
			l.a = &a;
			err = link_both(w, &l);
		}
	}
	return err;
}
