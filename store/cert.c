/*
 * cert.c - certificates: metadata, sightings on ip:port, the ip, name and
 * SHA-256 indexes, and joining a SHA-256-only certificate to its SHA-1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/store_internal.h"

void certref_enc(const struct store_cert_ref *ref, uint8_t out[SCHEMA_CERTREF_LEN])
{
	memset(out, 0, SCHEMA_CERTREF_LEN);
	out[0] = ref->kind;
	memcpy(out + 1, ref->hash, ref->kind == 1 ? 20 : 32);
}

void certref_dec(const uint8_t in[SCHEMA_CERTREF_LEN], struct store_cert_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->kind = in[0];
	memcpy(ref->hash, in + 1, ref->kind == 1 ? 20 : 32);
}

/* ---- CERTVAL ------------------------------------------------------------ */
enum { CV_SHA1 = 1, CV_SHA256 = 2, CV_META = 4 };

struct certval {
	uint8_t flags;
	uint8_t sha1[20], sha256[32];
	int64_t nb, na;
	const uint8_t *str[5]; /* subject issuer serial san_dns san_ip */
	size_t len[5];
	const uint8_t *der;
	size_t der_len;
};

static int certval_dec(const MDB_val *v, struct certval *c)
{
	const uint8_t *p = v->mv_data;
	size_t n = v->mv_size, o = 69;
	if (n < o)
		return STORE_ECORRUPT;
	c->flags = p[0];
	memcpy(c->sha1, p + 1, 20);
	memcpy(c->sha256, p + 21, 32);
	memcpy(&c->nb, p + 53, 8);
	memcpy(&c->na, p + 61, 8);
	for (int i = 0; i < 5; i++) {
		uint16_t l;
		if (o + 2 > n)
			return STORE_ECORRUPT;
		memcpy(&l, p + o, 2);
		o += 2;
		if (o + l > n)
			return STORE_ECORRUPT;
		c->str[i] = p + o;
		c->len[i] = l;
		o += l;
	}
	uint32_t dl;
	if (o + 4 > n)
		return STORE_ECORRUPT;
	memcpy(&dl, p + o, 4);
	o += 4;
	if (o + dl > n)
		return STORE_ECORRUPT;
	c->der = dl ? p + o : NULL;
	c->der_len = dl;
	return 0;
}

/* Encode into a fresh heap buffer (caller frees). */
static uint8_t *certval_enc(const struct certval *c, size_t *outlen)
{
	size_t n = 69 + 4 + c->der_len;
	for (int i = 0; i < 5; i++)
		n += 2 + c->len[i];
	uint8_t *p = malloc(n);
	if (p == NULL)
		return NULL;
	p[0] = c->flags;
	memcpy(p + 1, c->sha1, 20);
	memcpy(p + 21, c->sha256, 32);
	memcpy(p + 53, &c->nb, 8);
	memcpy(p + 61, &c->na, 8);
	size_t o = 69;
	for (int i = 0; i < 5; i++) {
		uint16_t l = (uint16_t)c->len[i];
		memcpy(p + o, &l, 2);
		o += 2;
		if (l)
			memcpy(p + o, c->str[i], l);
		o += l;
	}
	uint32_t dl = (uint32_t)c->der_len;
	memcpy(p + o, &dl, 4);
	o += 4;
	if (dl)
		memcpy(p + o, c->der, dl);
	*outlen = n;
	return p;
}

/* Fill what `into` lacks from `from`; meta fields of `from` win only
 * when `from_wins` (fresh metadata from the certificate itself). */
static void certval_merge(struct certval *into, const struct certval *from, bool from_wins)
{
	if ((from->flags & CV_SHA1) && !(into->flags & CV_SHA1))
		memcpy(into->sha1, from->sha1, 20);
	if ((from->flags & CV_SHA256) && !(into->flags & CV_SHA256))
		memcpy(into->sha256, from->sha256, 32);
	bool take = (from->flags & CV_META) && (from_wins || !(into->flags & CV_META));
	if (take) {
		for (int i = 0; i < 5; i++) {
			if (from->len[i] > 0 || !(into->flags & CV_META)) {
				into->str[i] = from->str[i];
				into->len[i] = from->len[i];
			}
		}
		if (from->nb)
			into->nb = from->nb;
		if (from->na)
			into->na = from->na;
	}
	if (from->der_len && !into->der_len) {
		into->der = from->der;
		into->der_len = from->der_len;
	}
	into->flags |= from->flags;
}

static void certval_from_meta(const struct store_obs *o, struct certval *c)
{
	const struct store_cert_meta *m = o->cert.meta;
	memset(c, 0, sizeof(*c));
	if (m->has_sha1) {
		c->flags |= CV_SHA1;
		memcpy(c->sha1, m->sha1, 20);
	}
	if (m->has_sha256) {
		c->flags |= CV_SHA256;
		memcpy(c->sha256, m->sha256, 32);
	}
	if (o->cert.has_meta) {
		c->flags |= CV_META;
		c->str[0] = (const uint8_t *)m->subject;
		c->len[0] = strnlen(m->subject, sizeof(m->subject));
		c->str[1] = (const uint8_t *)m->issuer;
		c->len[1] = strnlen(m->issuer, sizeof(m->issuer));
		c->str[2] = (const uint8_t *)m->serial;
		c->len[2] = strnlen(m->serial, sizeof(m->serial));
		c->str[3] = (const uint8_t *)m->san_dns;
		c->len[3] = m->san_dns_len;
		c->str[4] = (const uint8_t *)m->san_ip;
		c->len[4] = m->san_ip_len;
		c->nb = m->not_before;
		c->na = m->not_after;
	}
	if (m->der != NULL) {
		c->der = m->der;
		c->der_len = m->der_len;
	}
}

/* ---- name index ----------------------------------------------------------- */

static void namecert_op(struct store_wtxn *w, const char *name, size_t nlen,
                        const uint8_t ref[SCHEMA_CERTREF_LEN], uint8_t kind, bool del)
{
	char norm[STORE_NAME_BUF];
	if (store_name_norm(name, nlen, norm, true) != 0)
		return; /* not a host name (e.g. a CN that is a label) */
	uint8_t nk[SCHEMA_NAMEKEY_MAX];
	int l = namekey_enc(norm, nk);
	if (l < 0)
		return;
	uint8_t val[SCHEMA_CERTREF_LEN + 1];
	memcpy(val, ref, SCHEMA_CERTREF_LEN);
	val[SCHEMA_CERTREF_LEN] = kind;
	MDB_val k = {(size_t)l, nk}, v = {sizeof(val), val};
	if (del)
		w_del(w, DB_NAMECERT, &k, &v);
	else
		w_put(w, DB_NAMECERT, &k, &v, MDB_NODUPDATA);
}

static void index_san(struct store_wtxn *w, const struct certval *c,
                      const uint8_t ref[SCHEMA_CERTREF_LEN], bool del)
{
	if (!(c->flags & CV_META))
		return;
	const char *p = (const char *)c->str[3];
	size_t n = c->len[3];
	size_t i = 0;
	while (i < n) {
		size_t l = strnlen(p + i, n - i);
		if (l > 0)
			namecert_op(w, p + i, l, ref, STORE_NC_SAN, del);
		i += l + 1;
	}
	const char *cn;
	size_t cnl;
	if (store_subject_cn((const char *)c->str[0], c->len[0], &cn, &cnl))
		namecert_op(w, cn, cnl, ref, STORE_NC_SAN, del);
	keys_index_meta(w, ref, (const char *)c->str[0], c->len[0], (const char *)c->str[1],
	                c->len[1], (const char *)c->str[2], c->len[2], del);
}

/* ---- sightings ------------------------------------------------------------ */

struct sightval {
	uint32_t tf, tl;
	uint64_t count;
	unsigned nsens, more, nsni;
	uint16_t sens[STORE_SENSORS_KEPT];
	char sni[STORE_SNI_KEPT][STORE_NAME_BUF];
};

static int sightval_dec(const MDB_val *v, struct sightval *s)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < 20)
		return STORE_ECORRUPT;
	memcpy(&s->tf, p, 4);
	memcpy(&s->tl, p + 4, 4);
	memcpy(&s->count, p + 8, 8);
	s->nsens = p[16];
	s->nsni = p[17];
	uint16_t more;
	memcpy(&more, p + 18, 2);
	s->more = more;
	size_t o = 20;
	if (s->nsens > STORE_SENSORS_KEPT || s->nsni > STORE_SNI_KEPT ||
	    o + 2 * s->nsens > v->mv_size)
		return STORE_ECORRUPT;
	memcpy(s->sens, p + o, 2 * s->nsens);
	o += 2 * s->nsens;
	for (unsigned i = 0; i < s->nsni; i++) {
		if (o >= v->mv_size || o + 1 + p[o] > v->mv_size)
			return STORE_ECORRUPT;
		memcpy(s->sni[i], p + o + 1, p[o]);
		s->sni[i][p[o]] = '\0';
		o += 1 + p[o];
	}
	return 0;
}

static size_t sightval_enc(const struct sightval *s, uint8_t *p)
{
	memcpy(p, &s->tf, 4);
	memcpy(p + 4, &s->tl, 4);
	memcpy(p + 8, &s->count, 8);
	p[16] = (uint8_t)s->nsens;
	p[17] = (uint8_t)s->nsni;
	uint16_t more = (uint16_t)s->more;
	memcpy(p + 18, &more, 2);
	size_t o = 20;
	memcpy(p + o, s->sens, 2 * s->nsens);
	o += 2 * s->nsens;
	for (unsigned i = 0; i < s->nsni; i++) {
		size_t l = strlen(s->sni[i]);
		p[o++] = (uint8_t)l;
		memcpy(p + o, s->sni[i], l);
		o += l;
	}
	return o;
}
#define SIGHTVAL_MAX (20 + 2 * STORE_SENSORS_KEPT + STORE_SNI_KEPT * STORE_NAME_BUF)

static bool sni_add(struct sightval *s, const char *sni)
{
	for (unsigned i = 0; i < s->nsni; i++)
		if (strcmp(s->sni[i], sni) == 0)
			return false;
	if (s->nsni >= STORE_SNI_KEPT)
		return false;
	snprintf(s->sni[s->nsni++], STORE_NAME_BUF, "%s", sni);
	return true;
}

static void sightval_merge(struct sightval *into, const struct sightval *from)
{
	seen_merge(&into->tf, &into->tl, &into->count, from->tf, from->tl, from->count);
	for (unsigned i = 0; i < from->nsens; i++)
		sensors_merge(into->sens, &into->nsens, &into->more, from->sens[i]);
	into->more += from->more;
	for (unsigned i = 0; i < from->nsni; i++)
		sni_add(into, from->sni[i]);
}

/* Does the certificate have any sighting on ip (any port)? */
static bool cert_has_ip(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                        const uint8_t ip[16])
{
	if (w->err)
		return false;
	uint8_t pfx[SCHEMA_CERTREF_LEN + 16];
	memcpy(pfx, ref, SCHEMA_CERTREF_LEN);
	memcpy(pfx + SCHEMA_CERTREF_LEN, ip, 16);
	bool found = false;
	struct scan sc;
	SCAN_PREFIX(&sc, w->txn, w->s->dbi[DB_SIGHT], pfx, sizeof(pfx), sizeof(pfx))
	{
		found = true;
		break;
	}
	w_scan_end(w, &sc);
	return found;
}

static void ipcert_op(struct store_wtxn *w, const uint8_t ip[16],
                      const uint8_t ref[SCHEMA_CERTREF_LEN], uint16_t port, bool del)
{
	uint8_t val[SCHEMA_CERTREF_LEN + 2];
	memcpy(val, ref, SCHEMA_CERTREF_LEN);
	util_be16_store(val + SCHEMA_CERTREF_LEN, port);
	MDB_val k = {16, (void *)ip}, v = {sizeof(val), val};
	if (del)
		w_del(w, DB_IPCERT, &k, &v);
	else
		w_put(w, DB_IPCERT, &k, &v, MDB_NODUPDATA);
}

static void prev_set(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN], uint32_t n,
                     bool del)
{
	uint8_t pk[1 + SCHEMA_CERTREF_LEN];
	pk[0] = 'C';
	memcpy(pk + 1, ref, SCHEMA_CERTREF_LEN);
	MDB_val k = {sizeof(pk), pk}, v = {4, &n};
	if (del)
		w_del(w, DB_PREV, &k, NULL);
	else
		w_put(w, DB_PREV, &k, &v, 0);
}

static uint32_t prev_get(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN])
{
	uint8_t pk[1 + SCHEMA_CERTREF_LEN];
	pk[0] = 'C';
	memcpy(pk + 1, ref, SCHEMA_CERTREF_LEN);
	MDB_val k = {sizeof(pk), pk}, v;
	uint32_t n = 0;
	if (w_get(w, DB_PREV, &k, &v) == 0 && v.mv_size == 4)
		memcpy(&n, v.mv_data, 4);
	return n;
}

/* Merge one sighting row into (ref, ip, port); maintains the indexes. */
static void sight_merge_row(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                            const uint8_t ip[16], uint16_t port, const struct sightval *add)
{
	uint8_t key[SCHEMA_CERTREF_LEN + 18];
	memcpy(key, ref, SCHEMA_CERTREF_LEN);
	memcpy(key + SCHEMA_CERTREF_LEN, ip, 16);
	util_be16_store(key + SCHEMA_CERTREF_LEN + 16, port);
	MDB_val k = {sizeof(key), key}, v;
	struct sightval *cur = malloc(sizeof(*cur));
	if (cur == NULL) {
		w->err = ENOMEM;
		return;
	}
	bool fresh = w_get(w, DB_SIGHT, &k, &v) != 0;
	if (w->err)
		goto out;
	if (fresh) {
		*cur = *add;
		if (!cert_has_ip(w, ref, ip))
			prev_set(w, ref, prev_get(w, ref) + 1, false);
		ipcert_op(w, ip, ref, port, false);
		w->st->sight_new++;
	} else {
		if (sightval_dec(&v, cur) != 0) {
			w->err = MDB_CORRUPTED;
			goto out;
		}
		sightval_merge(cur, add);
		w->st->sight_merged++;
	}
	for (unsigned i = 0; i < add->nsni; i++)
		namecert_op(w, add->sni[i], strlen(add->sni[i]), ref, STORE_NC_SNI, false);
	uint8_t vb[SIGHTVAL_MAX];
	MDB_val nv = {sightval_enc(cur, vb), vb};
	w_put(w, DB_SIGHT, &k, &nv, 0);
out:
	free(cur);
}

/* Read and decode the CERTVAL under ref into c, which points into *copy:
 * a heap copy (caller frees), since LMDB's memory changes under the
 * writes that follow.  Returns 0, STORE_ENOTFOUND (also when a failure
 * went into w->err), -ENOMEM (w->err set) or STORE_ECORRUPT. */
static int certval_load(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                        struct certval *c, uint8_t **copy)
{
	*copy = NULL;
	MDB_val k = {SCHEMA_CERTREF_LEN, (void *)ref}, v;
	if (w_get(w, DB_CERT, &k, &v) != 0)
		return STORE_ENOTFOUND;
	*copy = malloc(v.mv_size);
	if (*copy == NULL) {
		w->err = ENOMEM;
		return -ENOMEM;
	}
	memcpy(*copy, v.mv_data, v.mv_size);
	MDB_val cv = {v.mv_size, *copy};
	return certval_dec(&cv, c) != 0 ? STORE_ECORRUPT : 0;
}

/* Encode c and put it under ref. */
static void certval_put(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                        const struct certval *c)
{
	size_t nl;
	uint8_t *enc = certval_enc(c, &nl);
	if (enc == NULL) {
		w->err = ENOMEM;
		return;
	}
	MDB_val k = {SCHEMA_CERTREF_LEN, (void *)ref}, nv = {nl, enc};
	w_put(w, DB_CERT, &k, &nv, 0);
	free(enc);
}

/* Move the metadata record of `from` into `to`'s, filling what it lacks.
 * False when there is none (never seen under the SHA-256 alone). */
static bool join_meta(struct store_wtxn *w, const uint8_t from[SCHEMA_CERTREF_LEN],
                      const uint8_t to[SCHEMA_CERTREF_LEN])
{
	struct certval old, cur;
	uint8_t *oldcopy, *curcopy;
	if (certval_load(w, from, &old, &oldcopy) != 0) {
		free(oldcopy);
		return false;
	}
	index_san(w, &old, from, true);
	int err = certval_load(w, to, &cur, &curcopy);
	if (err == 0)
		certval_merge(&cur, &old, false);
	else if (err == STORE_ENOTFOUND)
		cur = old;
	else if (err == STORE_ECORRUPT)
		w->err = MDB_CORRUPTED;
	if (w->err == 0) {
		certval_put(w, to, &cur);
		index_san(w, &cur, to, false);
	}
	MDB_val fk = {SCHEMA_CERTREF_LEN, (void *)from};
	w_del(w, DB_CERT, &fk, NULL);
	free(curcopy);
	free(oldcopy);
	return true;
}

/* A sighting row of a certificate, moved by a join. */
struct sight_row {
	uint8_t ip[16];
	uint16_t port;
	struct sightval sv;
};

/* The sighting rows of ref; *rows is the caller's to free. */
static size_t sight_rows(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                         struct sight_row **rows)
{
	size_t nrows = 0, cap = 0;
	*rows = NULL;
	struct scan sc;
	SCAN_PREFIX(&sc, w->txn, w->s->dbi[DB_SIGHT], ref, SCHEMA_CERTREF_LEN, SCHEMA_CERTREF_LEN)
	{
		if (sc.k.mv_size != SCHEMA_CERTREF_LEN + 18)
			break;
		if (nrows == cap) {
			cap = cap ? cap * 2 : 16;
			struct sight_row *nr = realloc(*rows, cap * sizeof(**rows));
			if (nr == NULL) {
				w->err = ENOMEM;
				break;
			}
			*rows = nr;
		}
		struct sight_row *row = &(*rows)[nrows];
		const uint8_t *kp = sc.k.mv_data;
		memcpy(row->ip, kp + SCHEMA_CERTREF_LEN, 16);
		row->port = util_be16_load(kp + SCHEMA_CERTREF_LEN + 16);
		if (sightval_dec(&sc.v, &row->sv) == 0)
			nrows++;
	}
	w_scan_end(w, &sc);
	return nrows;
}

/* Move one sighting row of `from` to `to`, with its index items. */
static void join_row(struct store_wtxn *w, const uint8_t from[SCHEMA_CERTREF_LEN],
                     const uint8_t to[SCHEMA_CERTREF_LEN], const struct sight_row *row)
{
	uint8_t key[SCHEMA_CERTREF_LEN + 18];
	memcpy(key, from, SCHEMA_CERTREF_LEN);
	memcpy(key + SCHEMA_CERTREF_LEN, row->ip, 16);
	util_be16_store(key + SCHEMA_CERTREF_LEN + 16, row->port);
	MDB_val dk = {sizeof(key), key};
	w_del(w, DB_SIGHT, &dk, NULL);
	ipcert_op(w, row->ip, from, row->port, true);
	for (unsigned j = 0; j < row->sv.nsni; j++)
		namecert_op(w, row->sv.sni[j], strlen(row->sv.sni[j]), from, STORE_NC_SNI, true);
	sight_merge_row(w, to, row->ip, row->port, &row->sv);
}

/* Move everything stored under the SHA-256-only reference `from` to the
 * SHA-1 reference `to`. */
static void cert_join(struct store_wtxn *w, const uint8_t from[SCHEMA_CERTREF_LEN],
                      const uint8_t to[SCHEMA_CERTREF_LEN])
{
	if (!join_meta(w, from, to))
		return;
	/* sightings: collect the rows first, then move them */
	if (w->err)
		return;
	struct sight_row *rows;
	size_t nrows = sight_rows(w, from, &rows);
	for (size_t i = 0; i < nrows && !w->err; i++)
		join_row(w, from, to, &rows[i]);
	free(rows);
	keys_join(w, from, to);
	prev_set(w, from, 0, true);
	w->st->certs_joined++;
}

/* The reference a certificate is stored under: its SHA-1, or its SHA-256
 * until the SHA-1 is known.  A SHA-1 seen with its SHA-256 for the first
 * time records the alias and joins what the SHA-256 alone collected. */
static void cert_ref(struct store_wtxn *w, const struct store_cert_meta *m,
                     uint8_t refb[SCHEMA_CERTREF_LEN])
{
	struct store_cert_ref ref = {0};
	MDB_val ak = {32, (void *)m->sha256}, av;
	if (m->has_sha1) {
		ref.kind = 1;
		memcpy(ref.hash, m->sha1, 20);
		certref_enc(&ref, refb);
		if (!m->has_sha256 || w_get(w, DB_ALIAS, &ak, &av) == 0)
			return;
		MDB_val nv = {20, (void *)m->sha1};
		w_put(w, DB_ALIAS, &ak, &nv, 0);
		struct store_cert_ref t = {.kind = 2};
		memcpy(t.hash, m->sha256, 32);
		uint8_t tb[SCHEMA_CERTREF_LEN];
		certref_enc(&t, tb);
		cert_join(w, tb, refb);
		return;
	}
	if (w_get(w, DB_ALIAS, &ak, &av) == 0 && av.mv_size == 20) {
		ref.kind = 1;
		memcpy(ref.hash, av.mv_data, 20);
	} else {
		ref.kind = 2;
		memcpy(ref.hash, m->sha256, 32);
	}
	certref_enc(&ref, refb);
}

/* The metadata record (always present for a known certificate): a new
 * one, or what the observation adds to the stored one. */
static int cert_meta_put(struct store_wtxn *w, const struct store_obs *o,
                         const uint8_t refb[SCHEMA_CERTREF_LEN])
{
	struct certval add, cur;
	certval_from_meta(o, &add);
	uint8_t *copy;
	int err = certval_load(w, refb, &cur, &copy);
	if (w->err || err == -ENOMEM)
		return 0;
	if (err == STORE_ECORRUPT) {
		free(copy);
		return STORE_ECORRUPT;
	}
	bool changed = true;
	if (err == STORE_ENOTFOUND) {
		cur = add;
		w->st->certs_new++;
	} else {
		uint8_t before = cur.flags;
		size_t before_der = cur.der_len;
		certval_merge(&cur, &add, o->cert.has_meta);
		changed = o->cert.has_meta || cur.flags != before || cur.der_len != before_der;
	}
	if (changed) {
		certval_put(w, refb, &cur);
		if (o->cert.has_meta && w->err == 0)
			index_san(w, &add, refb, false);
	}
	free(copy);
	return 0;
}

/* The sighting of the certificate on ip:port. */
static void cert_sight_put(struct store_wtxn *w, const struct store_obs *o,
                           const uint8_t refb[SCHEMA_CERTREF_LEN])
{
	struct sightval *sv = calloc(1, sizeof(*sv));
	if (sv == NULL) {
		w->err = ENOMEM;
		return;
	}
	sv->tf = clamp_time(o->time_first);
	sv->tl = clamp_time(o->time_last);
	sv->count = o->count;
	uint16_t sid;
	if (o->sensor[0] != '\0' && sensor_id(w, o->sensor, &sid) == 0)
		sensors_merge(sv->sens, &sv->nsens, &sv->more, sid);
	if (o->cert.sni[0] != '\0')
		sni_add(sv, o->cert.sni);
	sight_merge_row(w, refb, o->cert.ip, o->cert.port, sv);
	free(sv);
}

int cert_put(struct store_wtxn *w, const struct store_obs *o)
{
	const struct store_cert_meta *m = o->cert.meta;
	if (m == NULL || (!m->has_sha1 && !m->has_sha256))
		return STORE_EBADHASH;
	uint8_t refb[SCHEMA_CERTREF_LEN];
	cert_ref(w, m, refb);
	if (w->err)
		return 0;
	int err = cert_meta_put(w, o, refb);
	if (err == 0 && m->has_key)
		keys_put_key(w, refb, m->key);
	if (err != 0 || w->err || !o->cert.sighting)
		return err;
	cert_sight_put(w, o, refb);
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

int store_cert_resolve(store_rtxn_t *r, const uint8_t *hash, size_t hlen,
                       struct store_cert_ref *ref)
{
	STORE_CH_READ(r, store_ch_cert_resolve, hash, hlen, ref);
	memset(ref, 0, sizeof(*ref));
	if (hlen == 32) {
		MDB_val ak = {32, (void *)hash}, av;
		int rc = mdb_get(r->txn, r->s->dbi[DB_ALIAS], &ak, &av);
		if (rc == 0 && av.mv_size == 20) {
			ref->kind = 1;
			memcpy(ref->hash, av.mv_data, 20);
		} else if (rc != 0 && rc != MDB_NOTFOUND) {
			return store_lmdb_err(rc, "alias");
		} else {
			ref->kind = 2;
			memcpy(ref->hash, hash, 32);
		}
	} else if (hlen == 20) {
		ref->kind = 1;
		memcpy(ref->hash, hash, 20);
	} else {
		return STORE_EBADHASH;
	}
	uint8_t rb[SCHEMA_CERTREF_LEN];
	certref_enc(ref, rb);
	MDB_val k = {sizeof(rb), rb}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_CERT], &k, &v);
	return store_lmdb_err(rc, "cert");
}

int store_cert_get(store_rtxn_t *r, const struct store_cert_ref *ref, struct store_cert_info *out)
{
	STORE_CH_READ(r, store_ch_cert_get, ref, out);
	uint8_t rb[SCHEMA_CERTREF_LEN];
	certref_enc(ref, rb);
	MDB_val k = {sizeof(rb), rb}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_CERT], &k, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "cert");
	struct certval c;
	if (certval_dec(&v, &c) != 0)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->ref = *ref;
	out->has_sha1 = c.flags & CV_SHA1;
	out->has_sha256 = c.flags & CV_SHA256;
	out->has_meta = c.flags & CV_META;
	memcpy(out->sha1, c.sha1, 20);
	memcpy(out->sha256, c.sha256, 32);
	out->not_before = c.nb;
	out->not_after = c.na;
	/* strings are not NUL-terminated in the map: copy into a
	 * thread-local buffer that lives until the next call */
	static _Thread_local char buf[3][1024];
	const char **dst[3] = {&out->subject, &out->issuer, &out->serial};
	for (int i = 0; i < 3; i++) {
		size_t l = c.len[i] < sizeof(buf[i]) - 1 ? c.len[i] : sizeof(buf[i]) - 1;
		memcpy(buf[i], c.str[i], l);
		buf[i][l] = '\0';
		*dst[i] = buf[i];
	}
	out->san_dns = (const char *)c.str[3];
	out->san_dns_len = c.len[3];
	out->san_ip = (const char *)c.str[4];
	out->san_ip_len = c.len[4];
	out->der = c.der;
	out->der_len = c.der_len;
	return 0;
}

static int emit_sight(store_rtxn_t *r, const MDB_val *k, const MDB_val *v,
                      const struct store_fence *f, store_sight_cb cb, void *ctx)
{
	struct sightval *sv = malloc(sizeof(*sv));
	if (sv == NULL)
		return STORE_ECORRUPT;
	int ret = 0;
	if (k->mv_size != SCHEMA_CERTREF_LEN + 18 || sightval_dec(v, sv) != 0) {
		ret = STORE_ECORRUPT;
		goto out;
	}
	if (!store_fence_match(f, sv->tf, sv->tl))
		goto out;
	struct store_sighting s;
	memset(&s, 0, sizeof(s));
	const uint8_t *kp = k->mv_data;
	certref_dec(kp, &s.ref);
	memcpy(s.ip, kp + SCHEMA_CERTREF_LEN, 16);
	s.port = util_be16_load(kp + SCHEMA_CERTREF_LEN + 16);
	s.time_first = sv->tf;
	s.time_last = sv->tl;
	s.count = sv->count;
	s.nsensors = sv->nsens;
	for (unsigned i = 0; i < sv->nsens; i++)
		s.sensors[i] = sensor_name(r->txn, r->s, sv->sens[i]);
	s.sensors_more = sv->more;
	s.nsni = sv->nsni;
	for (unsigned i = 0; i < sv->nsni; i++)
		s.sni[i] = sv->sni[i];
	ret = cb(&s, ctx);
out:
	free(sv);
	return ret;
}

int sight_emit(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, store_sight_cb cb, void *ctx)
{
	struct store_fence f;
	store_fence_init(&f);
	return emit_sight(r, k, v, &f, cb, ctx);
}

int store_sight_by_cert(store_rtxn_t *r, const struct store_cert_ref *ref,
                        const struct store_fence *f, store_sight_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_sight_by_cert, ref, f, cb, ctx);
	uint8_t rb[SCHEMA_CERTREF_LEN];
	certref_enc(ref, rb);
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[DB_SIGHT], rb, sizeof(rb), sizeof(rb))
	{
		if (sc.k.mv_size == sizeof(rb))
			break;
		ret = emit_sight(r, &sc.k, &sc.v, f, cb, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

struct sight_walk {
	const struct store_fence *f;
	store_sight_cb cb;
	void *ctx;
};

/* Emit the sighting an ipcert index item (IP -> CERTREF port) points at;
 * an index item without its sighting is passed over. */
static int emit_ipcert(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, void *wctx)
{
	const struct sight_walk *sw = wctx;
	if (v->mv_size != SCHEMA_CERTREF_LEN + 2)
		return STORE_ECORRUPT;
	uint8_t key[SCHEMA_CERTREF_LEN + 18];
	memcpy(key, v->mv_data, SCHEMA_CERTREF_LEN);
	memcpy(key + SCHEMA_CERTREF_LEN, k->mv_data, 16);
	memcpy(key + SCHEMA_CERTREF_LEN + 16, (uint8_t *)v->mv_data + SCHEMA_CERTREF_LEN, 2);
	MDB_val sk = {sizeof(key), key}, sv;
	if (mdb_get(r->txn, r->s->dbi[DB_SIGHT], &sk, &sv) != 0)
		return 0;
	return emit_sight(r, &sk, &sv, sw->f, sw->cb, sw->ctx);
}

int store_sight_by_addr(store_rtxn_t *r, const uint8_t addr[16], unsigned plen,
                        const struct store_fence *f, store_sight_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_sight_by_addr, addr, plen, f, cb, ctx);
	struct sight_walk sw = {f, cb, ctx};
	return walk_addr_index(r, DB_IPCERT, addr, plen, emit_ipcert, &sw);
}

int store_certs_by_name(store_rtxn_t *r, const char *name, store_namecert_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_certs_by_name, name, cb, ctx);
	uint8_t nk[SCHEMA_NAMEKEY_MAX];
	int l = namekey_enc(name, nk);
	if (l < 0)
		return l;
	struct scan sc;
	int ret = 0;
	SCAN_DUPS(&sc, r->txn, r->s->dbi[DB_NAMECERT], nk, (size_t)l)
	{
		const uint8_t *vp = sc.v.mv_data;
		if (sc.v.mv_size != SCHEMA_CERTREF_LEN + 1) {
			ret = STORE_ECORRUPT;
			break;
		}
		struct store_cert_ref ref;
		certref_dec(vp, &ref);
		ret = cb(&ref, vp[SCHEMA_CERTREF_LEN], ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

int store_prev_cert_ips(store_rtxn_t *r, const struct store_cert_ref *ref, uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_cert_ips, ref, n);
	uint8_t pk[1 + SCHEMA_CERTREF_LEN];
	pk[0] = 'C';
	certref_enc(ref, pk + 1);
	MDB_val k = {sizeof(pk), pk}, v;
	*n = 0;
	int rc = mdb_get(r->txn, r->s->dbi[DB_PREV], &k, &v);
	if (rc == 0 && v.mv_size == 4) {
		uint32_t c;
		memcpy(&c, v.mv_data, 4);
		*n = c;
		return 0;
	}
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "prevalence");
}
