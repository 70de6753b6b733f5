/*
 * watch_codec.c - watchlists: names and indicators, the INDKEY, WLVAL and
 * ENTVAL codecs (schema.h), and loading lists and entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/watch_internal.h"
#include "util/be.h"
#include "util/buf.h"
#include "util/hex.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const type_names[] = {
    [STORE_WATCH_DOMAIN] = "domain", [STORE_WATCH_IP] = "ip",           [STORE_WATCH_CERT] = "cert",
    [STORE_WATCH_KEY] = "key",       [STORE_WATCH_SUBJECT] = "subject", [STORE_WATCH_JARM] = "jarm",
    [STORE_WATCH_JA3S] = "ja3s"};

const char *store_watch_type_name(unsigned type)
{
	if (type >= 1 && type <= STORE_WATCH_NTYPES)
		return type_names[type];
	return "?";
}

const char *store_watch_state_name(unsigned state)
{
	switch (state) {
	case STORE_WATCH_LIVE:
		return "live";
	case STORE_WATCH_REMOVED:
		return "removed";
	case STORE_WATCH_EXPIRED:
		return "expired";
	default:
		return "?";
	}
}

int store_watch_type_parse(const char *s, unsigned *type)
{
	if (strcmp(s, "auto") == 0 || *s == '\0') {
		*type = 0;
		return 0;
	}
	for (unsigned t = 1; t <= STORE_WATCH_NTYPES; t++) {
		if (strcmp(s, type_names[t]) == 0) {
			*type = t;
			return 0;
		}
	}
	if (strcmp(s, "addr") == 0 || strcmp(s, "ipv4") == 0 || strcmp(s, "ipv6") == 0) {
		*type = STORE_WATCH_IP;
		return 0;
	}
	if (strcmp(s, "name") == 0) {
		*type = STORE_WATCH_DOMAIN;
		return 0;
	}
	return STORE_EBADTYPE;
}

bool store_watch_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= STORE_WATCH_NAME_BUF || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static bool looks_hex(const char *s, size_t n)
{
	size_t digits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			digits++;
		else if (c != ':')
			return false;
	}
	return digits == 40 || digits == 64;
}

/* An untyped indicator that is none of domain, IP, certificate hash by
 * shape: a JARM (62 hex digits) or JA3S (32), else a domain. */
static unsigned watch_type_more(const char *in, size_t n)
{
	char h[STORE_FP_HASH_BUF];
	if (store_fp_norm(STORE_FP_JARM, in, n, h) == 0)
		return STORE_WATCH_JARM;
	if (store_fp_norm(STORE_FP_JA3S, in, n, h) == 0)
		return STORE_WATCH_JA3S;
	return STORE_WATCH_DOMAIN;
}

/* Normalise a key, subject, JARM or JA3S indicator into out. */
static int watch_norm_more(unsigned t, const char *in, size_t n, char *out)
{
	uint8_t k[32];
	size_t kl;
	char dn[STORE_DN_BUF];
	int err;
	switch (t) {
	case STORE_WATCH_KEY:
		if (util_hex_decode(in, n, k, sizeof(k), &kl) != 0 || kl != 32)
			return STORE_EBADHASH;
		util_hex_encode(k, 32, out);
		return 0;
	case STORE_WATCH_SUBJECT:
		err = store_dn_norm(in, n, dn);
		if (err == 0 && strlen(dn) >= STORE_WATCH_IND_BUF)
			err = STORE_ETOOLONG;
		if (err == 0)
			memcpy(out, dn, strlen(dn) + 1);
		return err;
	case STORE_WATCH_JARM:
		return store_fp_norm(STORE_FP_JARM, in, n, out);
	case STORE_WATCH_JA3S:
		return store_fp_norm(STORE_FP_JA3S, in, n, out);
	default:
		return STORE_EBADTYPE;
	}
}

int store_watch_indicator_norm(const char *in, unsigned *type, char *out)
{
	size_t n = strlen(in);
	while (n > 0 && (in[0] == ' ' || in[0] == '\t')) {
		in++;
		n--;
	}
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r'))
		n--;
	unsigned t = *type;
	if (t == 0) {
		uint8_t a[16];
		if (store_addr_parse(in, n, a) == 0)
			t = STORE_WATCH_IP;
		else if (looks_hex(in, n))
			t = STORE_WATCH_CERT;
		else
			t = watch_type_more(in, n);
	}
	int err;
	if (t >= STORE_WATCH_KEY) {
		err = watch_norm_more(t, in, n, out);
	} else if (t == STORE_WATCH_IP) {
		uint8_t a[16];
		err = store_addr_parse(in, n, a);
		if (err == 0)
			store_addr_format(a, out);
	} else if (t == STORE_WATCH_CERT) {
		uint8_t h[32];
		size_t hl = 0;
		err = store_hash_parse(in, n, h, &hl);
		if (err == 0)
			util_hex_encode(h, hl, out);
	} else if (t == STORE_WATCH_DOMAIN) {
		err = store_name_norm(in, n, out, false);
	} else {
		return STORE_EBADTYPE;
	}
	if (err == 0)
		*type = t;
	return err;
}

int wikey_enc(unsigned type, const char *text, struct wikey *out)
{
	out->type = (uint8_t)type;
	if (type == STORE_WATCH_DOMAIN) {
		int l = namekey_enc(text, out->k);
		if (l < 0)
			return STORE_EBADNAME;
		out->len = (size_t)l;
		return 0;
	}
	if (type == STORE_WATCH_IP) {
		out->len = 16;
		return store_addr_parse(text, strlen(text), out->k);
	}
	if (type == STORE_WATCH_CERT) {
		int err = store_hash_parse(text, strlen(text), out->k, &out->len);
		return err;
	}
	if (type == STORE_WATCH_SUBJECT) {
		out->len = strlen(text);
		if (out->len == 0 || out->len > WIKEY_MAX)
			return STORE_EBADNAME;
		memcpy(out->k, text, out->len);
		return 0;
	}
	if (type >= STORE_WATCH_KEY && type <= STORE_WATCH_NTYPES)
		return util_hex_decode(text, strlen(text), out->k, WIKEY_MAX, &out->len) == 0
		           ? 0
		           : STORE_EBADHASH;
	return STORE_EBADTYPE;
}

int wikey_dec(unsigned type, const uint8_t *k, size_t len, char *text)
{
	if (type == STORE_WATCH_DOMAIN) {
		int l = namekey_dec(k, len, text);
		return l < 0 ? STORE_ECORRUPT : 0;
	}
	if (type == STORE_WATCH_IP && len == 16) {
		store_addr_format(k, text);
		return 0;
	}
	if (type == STORE_WATCH_CERT && (len == 20 || len == 32)) {
		util_hex_encode(k, len, text);
		return 0;
	}
	if (type == STORE_WATCH_SUBJECT && len < STORE_WATCH_IND_BUF) {
		memcpy(text, k, len);
		text[len] = '\0';
		return 0;
	}
	if ((type == STORE_WATCH_KEY && len == 32) || (type == STORE_WATCH_JARM && len == 31) ||
	    (type == STORE_WATCH_JA3S && len == 16)) {
		util_hex_encode(k, len, text);
		return 0;
	}
	return STORE_ECORRUPT;
}

/* ---- value codec: little-endian integers, length-prefixed strings --------
 * Encoders write into the caller's buffer through a fixed util_buf (which
 * keeps a NUL after the value: a value may take cap - 1 bytes). */

static void ve_uint(struct util_buf *b, uint64_t v, unsigned bytes)
{
	uint8_t t[8];
	for (unsigned i = 0; i < bytes; i++) {
		t[i] = (uint8_t)v;
		v >>= 8;
	}
	util_buf_add(b, t, bytes);
}

static void ve_str(struct util_buf *b, const char *s, unsigned lenbytes)
{
	size_t n = strlen(s);
	size_t max = lenbytes == 1 ? 255 : 65535;
	if (n > max)
		n = max;
	ve_uint(b, n, lenbytes);
	util_buf_add(b, s, n);
}

struct vdec {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint64_t vd_uint(struct vdec *d, unsigned bytes)
{
	if (d->bad || bytes > d->len - d->off) {
		d->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = bytes; i > 0; i--)
		v = v << 8 | d->p[d->off + i - 1];
	d->off += bytes;
	return v;
}

static void vd_str(struct vdec *d, unsigned lenbytes, char *out, size_t cap)
{
	size_t n = (size_t)vd_uint(d, lenbytes);
	if (d->bad || n > d->len - d->off || n >= cap) {
		d->bad = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, d->p + d->off, n);
	out[n] = '\0';
	d->off += n;
}

/* ---- WLVAL ------------------------------------------------------------------ */

static size_t wl_enc(const struct wl *wl, uint8_t *buf, size_t cap)
{
	const struct store_watch_info *i = &wl->info;
	const struct store_watch_settings *st = &i->set;
	struct util_buf b;
	util_buf_init_fixed(&b, buf, cap);
	ve_uint(&b, 1, 1);
	ve_uint(&b, i->id, 4);
	ve_uint(&b, (uint64_t)i->created, 8);
	ve_uint(&b, (uint64_t)i->updated, 8);
	ve_uint(&b, wl->version, 8);
	ve_uint(&b, i->delta_floor, 8);
	ve_uint(&b, st->ttl_days, 4);
	ve_uint(&b, st->tombstone_days, 4);
	ve_uint(&b, st->auto_edges, 4);
	ve_uint(&b, st->auto_ttl_days, 4);
	ve_uint(&b, st->auto_max_gen, 4);
	ve_uint(&b, st->max_ip_domains, 8);
	ve_uint(&b, st->max_cert_ips, 8);
	ve_uint(&b, st->max_domain_ips, 8);
	ve_uint(&b, st->max_san, 8);
	ve_uint(&b, wl->live_total, 8);
	ve_uint(&b, i->tombstones, 8);
	ve_uint(&b, i->auto_added, 8);
	ve_uint(&b, i->noise_skipped, 8);
	ve_uint(&b, (uint64_t)i->last_skip_time, 8);
	ve_str(&b, st->name, 2);
	ve_str(&b, st->description, 2);
	ve_str(&b, i->last_skip, 2);
	return b.err != 0 ? 0 : b.len;
}

static int wl_dec(const MDB_val *v, struct wl *wl)
{
	memset(wl, 0, sizeof(*wl));
	struct store_watch_info *i = &wl->info;
	struct store_watch_settings *st = &i->set;
	struct vdec d = {v->mv_data, v->mv_size, 0, false};
	if (vd_uint(&d, 1) != 1)
		return STORE_ECORRUPT;
	i->id = (uint32_t)vd_uint(&d, 4);
	i->created = (int64_t)vd_uint(&d, 8);
	i->updated = (int64_t)vd_uint(&d, 8);
	wl->version = vd_uint(&d, 8);
	i->delta_floor = vd_uint(&d, 8);
	st->ttl_days = (uint32_t)vd_uint(&d, 4);
	st->tombstone_days = (uint32_t)vd_uint(&d, 4);
	st->auto_edges = (unsigned)vd_uint(&d, 4);
	st->auto_ttl_days = (uint32_t)vd_uint(&d, 4);
	st->auto_max_gen = (unsigned)vd_uint(&d, 4);
	st->max_ip_domains = vd_uint(&d, 8);
	st->max_cert_ips = vd_uint(&d, 8);
	st->max_domain_ips = vd_uint(&d, 8);
	st->max_san = vd_uint(&d, 8);
	wl->live_total = vd_uint(&d, 8);
	i->tombstones = vd_uint(&d, 8);
	i->auto_added = vd_uint(&d, 8);
	i->noise_skipped = vd_uint(&d, 8);
	i->last_skip_time = (int64_t)vd_uint(&d, 8);
	vd_str(&d, 2, st->name, sizeof(st->name));
	vd_str(&d, 2, st->description, sizeof(st->description));
	vd_str(&d, 2, i->last_skip, sizeof(i->last_skip));
	if (d.bad) {
		store_set_error("watchlist record does not decode");
		return STORE_ECORRUPT;
	}
	i->version = wl->version;
	i->live = wl->live_total;
	return 0;
}

size_t wl_name_key(uint8_t cls, const char *name, uint8_t *k)
{
	size_t n = strlen(name);
	k[0] = cls;
	memcpy(k + 1, name, n);
	return n + 1;
}

int wl_load(MDB_txn *txn, store_t *s, const char *name, struct wl *out)
{
	if (s->no_watch || !store_watch_name_ok(name))
		return STORE_ENOTFOUND;
	uint8_t k[1 + STORE_WATCH_NAME_BUF];
	MDB_val kv = {wl_name_key('N', name, k), k}, v;
	int rc = mdb_get(txn, s->dbi[DB_WLIST], &kv, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist");
	return wl_dec(&v, out);
}

int wl_load_id(MDB_txn *txn, store_t *s, uint32_t id, struct wl *out)
{
	uint8_t k[5] = {'I'};
	util_be32_store(k + 1, id);
	MDB_val kv = {5, k}, v;
	int rc = mdb_get(txn, s->dbi[DB_WLIST], &kv, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist id");
	char name[STORE_WATCH_NAME_BUF];
	if (v.mv_size >= sizeof(name))
		return STORE_ECORRUPT;
	memcpy(name, v.mv_data, v.mv_size);
	name[v.mv_size] = '\0';
	return wl_load(txn, s, name, out);
}

void wl_save(struct store_wtxn *w, const struct wl *wl)
{
	uint8_t buf[2048];
	size_t n = wl_enc(wl, buf, sizeof(buf));
	uint8_t k[1 + STORE_WATCH_NAME_BUF];
	MDB_val kv = {wl_name_key('N', wl->info.set.name, k), k};
	MDB_val v = {n, buf};
	if (n == 0 && w->err == 0)
		w->err = MDB_BAD_VALSIZE;
	w_put(w, DB_WLIST, &kv, &v, 0);
}

/* ---- ENTVAL ------------------------------------------------------------------ */

static void prov_enc(struct util_buf *b, const struct store_watch_prov *p)
{
	ve_uint(b, (uint64_t)p->at, 8);
	ve_str(b, p->note, 2);
	unsigned n = p->nhops > STORE_WATCH_HOPS_MAX ? STORE_WATCH_HOPS_MAX : p->nhops;
	ve_uint(b, n, 1);
	for (unsigned i = 0; i < n; i++) {
		const struct store_watch_hop *h = &p->hops[i];
		ve_uint(b, h->edge, 1);
		ve_uint(b, h->from_type, 1);
		ve_str(b, h->from, 1);
		ve_uint(b, h->to_type, 1);
		ve_str(b, h->to, 1);
		ve_uint(b, (uint64_t)h->first_seen, 8);
		ve_uint(b, (uint64_t)h->last_seen, 8);
		ve_uint(b, h->port, 2);
	}
}

static void prov_dec(struct vdec *d, struct store_watch_prov *p)
{
	p->at = (int64_t)vd_uint(d, 8);
	vd_str(d, 2, p->note, sizeof(p->note));
	p->nhops = (unsigned)vd_uint(d, 1);
	if (p->nhops > STORE_WATCH_HOPS_MAX) {
		d->bad = true;
		p->nhops = 0;
	}
	for (unsigned i = 0; i < p->nhops && !d->bad; i++) {
		struct store_watch_hop *h = &p->hops[i];
		h->edge = (uint8_t)vd_uint(d, 1);
		h->from_type = (uint8_t)vd_uint(d, 1);
		vd_str(d, 1, h->from, sizeof(h->from));
		h->to_type = (uint8_t)vd_uint(d, 1);
		vd_str(d, 1, h->to, sizeof(h->to));
		h->first_seen = (int64_t)vd_uint(d, 8);
		h->last_seen = (int64_t)vd_uint(d, 8);
		h->port = (uint16_t)vd_uint(d, 2);
	}
}

size_t went_enc(const struct store_watch_entry *e, uint8_t *buf, size_t cap)
{
	struct util_buf b;
	util_buf_init_fixed(&b, buf, cap);
	ve_uint(&b, 1, 1);
	ve_uint(&b, e->state, 1);
	ve_uint(&b, e->gen, 1);
	ve_uint(&b, e->has_latest ? 1 : 0, 1);
	ve_uint(&b, (uint64_t)e->added, 8);
	ve_uint(&b, (uint64_t)e->updated, 8);
	ve_uint(&b, (uint64_t)e->expires, 8);
	ve_uint(&b, (uint64_t)e->removed, 8);
	ve_uint(&b, e->version, 8);
	ve_str(&b, e->source, 2);
	ve_str(&b, e->reason, 2);
	prov_enc(&b, &e->prov_first);
	if (e->has_latest)
		prov_enc(&b, &e->prov_latest);
	return b.err != 0 ? 0 : b.len;
}

int went_dec(const uint8_t *p, size_t n, struct store_watch_entry *e)
{
	struct vdec d = {p, n, 0, false};
	if (vd_uint(&d, 1) != 1)
		return STORE_ECORRUPT;
	e->state = (uint8_t)vd_uint(&d, 1);
	e->gen = (uint8_t)vd_uint(&d, 1);
	e->has_latest = vd_uint(&d, 1) & 1;
	e->added = (int64_t)vd_uint(&d, 8);
	e->updated = (int64_t)vd_uint(&d, 8);
	e->expires = (int64_t)vd_uint(&d, 8);
	e->removed = (int64_t)vd_uint(&d, 8);
	e->version = vd_uint(&d, 8);
	vd_str(&d, 2, e->source, sizeof(e->source));
	vd_str(&d, 2, e->reason, sizeof(e->reason));
	prov_dec(&d, &e->prov_first);
	if (e->has_latest)
		prov_dec(&d, &e->prov_latest);
	else
		memset(&e->prov_latest, 0, sizeof(e->prov_latest));
	if (d.bad || e->state < STORE_WATCH_LIVE || e->state > STORE_WATCH_EXPIRED) {
		store_set_error("watchlist entry does not decode");
		return STORE_ECORRUPT;
	}
	return 0;
}

size_t went_key(uint32_t id, const struct wikey *ik, uint8_t *k)
{
	util_be32_store(k, id);
	k[4] = ik->type;
	memcpy(k + 5, ik->k, ik->len);
	return 5 + ik->len;
}

int went_load(MDB_txn *txn, store_t *s, uint32_t id, const struct wikey *ik,
              struct store_watch_entry *e)
{
	uint8_t k[5 + WIKEY_MAX];
	MDB_val kv = {went_key(id, ik, k), k}, v;
	int rc = mdb_get(txn, s->dbi[DB_WENTRY], &kv, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "watchlist entry");
	e->type = ik->type;
	int err = wikey_dec(ik->type, ik->k, ik->len, e->indicator);
	if (err != 0)
		return err;
	return went_dec(v.mv_data, v.mv_size, e);
}
