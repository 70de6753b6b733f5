/*
 * sweep.c - standing pivots on a ClickHouse store (docs/scale-out.md, "The
 * watch sweep").  Data written through any node reaches the cluster, not
 * this node's watchlists, so the serving node sweeps: from the checkpoint
 * in its control LMDB, less an overlap for late rows (inserts still
 * running, replicas catching up, clocks behind), it reads the cluster's
 * logs of inserted resolutions and certificate observations that touch
 * watched domains, IPs, certificates and keys (store/sweep.h), drops the rows it fed before (their
 * hashes from the overlap are kept with the checkpoint), and feeds the rest, in insertion order, to
 * the standing-pivot hook LMDB runs as it writes.  The lists' changes and the new checkpoint are
 * one control transaction.
 *
 *   meta "watch_sweep"  ->  be32 checkpoint (the cluster's clock when the
 *                           last sweep began), be32 floor, be32 n, n x
 *                           (be64 hash, be32 ins): every row seen with ins
 *                           >= floor (checkpoint - overlap, never lower
 *                           than the floor before: below it nothing is
 *                           remembered, so no sweep reads below it),
 *                           be64 at: this node's clock when the sweep began
 *                           (missing in a record of an older version: what
 *                           is watched counts as watched then)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sweep.h"
#include "util/be.h"
#include "util/hash.h"
#include "util/hex.h"
#include "watch/watch.h"

#define SWEEP_KEY "watch_sweep"
#define SWEEP_SEEN_MAX 262144u /* rows remembered from the overlap */
#define SWEEP_ROWS_MAX 65536u  /* rows one sweep feeds */

struct seen {
	uint64_t hash;
	uint32_t ins;
};

/* What the hook reads of a certificate observation's metadata. */
struct cmeta {
	bool has_sha1, has_sha256, has_key;
	uint8_t sha1[20], sha256[32], key[32];
	size_t san_len;
	char san[];
};

struct row {
	uint32_t ins, seq; /* seq: a certificate's place in its batch */
	bool feed;         /* the first of its hash, not fed before */
	uint64_t blk, hash;
	struct store_obs o;
	struct cmeta *cm; /* a certificate's (o.cert.meta is NULL here) */
};

/* Watched indicators. */
struct wset {
	char (*names)[STORE_WATCH_IND_BUF], (*certs)[STORE_WATCH_IND_BUF];
	const char **nptr, **cptr;
	uint8_t (*addrs)[16], (*keys)[32];
	size_t nn, na, nc, nk, cap_n, cap_a, cap_c, cap_k;
};

struct sweep {
	/* all: what is watched; old: what was watched when the last sweep
	 * began (the rows below its checkpoint are fed for those only) */
	struct wset all, old;
	int64_t last_at;              /* when the last sweep began (this node's clock) */
	bool want_rr, want_cert;      /* a list expands over resolutions, certificates */
	struct store_cert_meta *meta; /* get_row's, for a certificate */
	/* the rows of this sweep; feed: the indexes of those to feed */
	struct row *rows;
	size_t nrows, cap_rows, *feed, nfeed;
	/* the checkpoint's record */
	uint32_t cp, floor;
	struct seen *seen;
	size_t nseen;
	bool has_cp;
	int64_t now;
	uint32_t clock;   /* the cluster's when this sweep began (now on this node) */
	bool pinned;      /* now is not the clock: rows cannot be placed on it */
	unsigned max_gen; /* of the list being read */
};

/* What makes a row itself: its batch and content, not when it landed (a
 * retry in another second lands twice). */
static uint64_t row_hash(uint64_t blk, const struct store_obs *o)
{
	uint64_t h = UTIL_FNV64_INIT;
	uint32_t t[2] = {(uint32_t)o->time_first, (uint32_t)o->time_last};
	h = util_fnv64(h, &blk, 8);
	h = util_fnv64(h, o->dns.rrname, strlen(o->dns.rrname) + 1);
	h = util_fnv64(h, &o->dns.rrtype, 2);
	h = util_fnv64(h, o->dns.rdata, strlen(o->dns.rdata) + 1);
	h = util_fnv64(h, o->dns.addr, 16);
	h = util_fnv64(h, t, sizeof(t));
	h = util_fnv64(h, &o->count, 8);
	h = util_fnv64(h, o->sensor, strlen(o->sensor) + 1);
	return h;
}

/* A certificate's row: its batch, place and content. */
static uint64_t cert_hash(uint64_t blk, uint32_t seq, const struct store_obs *o,
                          const struct cmeta *m)
{
	uint64_t h = UTIL_FNV64_INIT;
	uint32_t t[2] = {(uint32_t)o->time_first, (uint32_t)o->time_last};
	uint8_t f[5] = {m->has_sha1, m->has_sha256, m->has_key, o->cert.sighting, o->cert.has_meta};
	h = util_fnv64(h, &blk, 8);
	h = util_fnv64(h, &seq, 4);
	h = util_fnv64(h, f, sizeof(f));
	h = util_fnv64(h, m->sha1, 20);
	h = util_fnv64(h, m->sha256, 32);
	h = util_fnv64(h, m->key, 32);
	h = util_fnv64(h, m->san, m->san_len);
	h = util_fnv64(h, o->cert.ip, 16);
	h = util_fnv64(h, &o->cert.port, 2);
	h = util_fnv64(h, o->cert.sni, strlen(o->cert.sni) + 1);
	h = util_fnv64(h, t, sizeof(t));
	h = util_fnv64(h, &o->count, 8);
	h = util_fnv64(h, o->sensor, strlen(o->sensor) + 1);
	return h;
}

static int cmp_seen(const void *a, const void *b)
{
	uint64_t x = ((const struct seen *)a)->hash, y = ((const struct seen *)b)->hash;
	return x < y ? -1 : x > y;
}

static bool was_seen(const struct sweep *w, uint64_t hash)
{
	struct seen k = {hash, 0};
	return w->nseen > 0 && bsearch(&k, w->seen, w->nseen, sizeof(k), cmp_seen) != NULL;
}

/* The checkpoint's record, if any. */
static int load_state(store_t *s, struct sweep *w)
{
	size_t cap = 20 + (size_t)SWEEP_SEEN_MAX * 12, len = 0;
	uint8_t *v = malloc(cap);
	w->seen = malloc(SWEEP_SEEN_MAX * sizeof(*w->seen));
	if (v == NULL || w->seen == NULL) {
		free(v);
		return -ENOMEM;
	}
	int err = store_meta_get(s, SWEEP_KEY, strlen(SWEEP_KEY), v, cap, &len);
	if (err == STORE_ENOTFOUND) {
		free(v);
		return 0;
	}
	uint32_t n = len >= 12 ? util_be32_load(v + 8) : 0;
	size_t end = 12 + (size_t)n * 12;
	if (err == 0 && (len < 12 || n > SWEEP_SEEN_MAX || (len != end && len != end + 8)))
		err = STORE_ECORRUPT;
	w->last_at = err == 0 && len == end + 8 ? (int64_t)util_be64_load(v + end) : INT64_MAX;
	for (uint32_t i = 0; err == 0 && i < n; i++) {
		w->seen[i].hash = util_be64_load(v + 12 + 12 * i);
		w->seen[i].ins = util_be32_load(v + 20 + 12 * i);
	}
	if (err == 0) {
		w->has_cp = true;
		w->cp = util_be32_load(v);
		w->floor = util_be32_load(v + 4);
		w->nseen = n;
		if (n > 1) /* seen is NULL when n is 0: no qsort of a null pointer */
			qsort(w->seen, n, sizeof(*w->seen), cmp_seen);
	}
	free(v);
	return err;
}

#define SWEEP_WATCHED_MAX 1000000u /* watched indicators one sweep asks for */
#define SWEEP_RR_EDGES (STORE_EDGE_RESOLVES | STORE_EDGE_CNAME)
#define SWEEP_CERT_EDGES (STORE_EDGE_SERVES | STORE_EDGE_SNI | STORE_EDGE_SAN | STORE_EDGE_KEY)

static int grow(void **p, size_t *cap, size_t need, size_t each)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 256;
	void *q = realloc(*p, c * each);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* A watched name or certificate (its text), address or key (its bytes). */
static int add_text(char (**v)[STORE_WATCH_IND_BUF], size_t *n, size_t *cap, const char *text)
{
	if (grow((void **)v, cap, *n + 1, sizeof(**v)) != 0)
		return -ENOMEM;
	memcpy((*v)[(*n)++], text, STORE_WATCH_IND_BUF);
	return 0;
}

static int add_to(struct wset *v, const struct store_watch_entry *e)
{
	size_t klen = 0;
	if (e->type == STORE_WATCH_DOMAIN)
		return add_text(&v->names, &v->nn, &v->cap_n, e->indicator);
	if (e->type == STORE_WATCH_CERT)
		return add_text(&v->certs, &v->nc, &v->cap_c, e->indicator);
	if (e->type == STORE_WATCH_IP) {
		if (grow((void **)&v->addrs, &v->cap_a, v->na + 1, 16) != 0)
			return -ENOMEM;
		if (store_addr_parse(e->indicator, strlen(e->indicator), v->addrs[v->na]) == 0)
			v->na++;
	} else if (e->type == STORE_WATCH_KEY) {
		if (grow((void **)&v->keys, &v->cap_k, v->nk + 1, 32) != 0)
			return -ENOMEM;
		if (util_hex_decode(e->indicator, strlen(e->indicator), v->keys[v->nk], 32,
		                    &klen) == 0 &&
		    klen == 32)
			v->nk++;
	}
	return 0;
}

/* A live entry of a list with a standing pivot, of a generation it
 * expands from (the hook adds nothing from the others); old too when it
 * was there when the last sweep began (what that sweep added is not: its
 * rows were read with it then, and those before it are not LMDB's). */
static int add_watched(const struct store_watch_entry *e, void *ctx)
{
	struct sweep *w = ctx;
	if (e->gen >= w->max_gen)
		return 0;
	if (w->all.nn + w->all.na + w->all.nc + w->all.nk >= SWEEP_WATCHED_MAX)
		return STORE_ELIMIT;
	int err = add_to(&w->all, e);
	if (err == 0 && (e->added < w->last_at || (e->gen == 0 && e->added == w->last_at)))
		err = add_to(&w->old, e);
	return err;
}

struct names {
	char (*v)[STORE_WATCH_NAME_BUF];
	unsigned *max_gen;
	size_t n, cap, cap_g;
	struct sweep *w;
};

static int add_list(const struct store_watch_info *info, void *ctx)
{
	struct names *l = ctx;
	unsigned edges = info->set.auto_edges;
	if (!(edges & (SWEEP_RR_EDGES | SWEEP_CERT_EDGES)))
		return 0;
	l->w->want_rr |= (edges & SWEEP_RR_EDGES) != 0;
	l->w->want_cert |= (edges & SWEEP_CERT_EDGES) != 0;
	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) != 0 ||
	    grow((void **)&l->max_gen, &l->cap_g, l->n + 1, sizeof(*l->max_gen)) != 0)
		return -ENOMEM;
	l->max_gen[l->n] = info->set.auto_max_gen;
	memcpy(l->v[l->n++], info->set.name, STORE_WATCH_NAME_BUF);
	return 0;
}

/* Pointers to n texts (*out NULL when n is 0). */
static int text_ptrs(char (*v)[STORE_WATCH_IND_BUF], size_t n, const char ***out)
{
	*out = n > 0 ? malloc(n * sizeof(**out)) : NULL;
	if (n > 0 && *out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = v[i];
	return 0;
}

/* The watched indicators of every list with a standing pivot. */
static int load_watched(store_t *s, struct sweep *w)
{
	struct names l = {NULL, NULL, 0, 0, 0, w};
	int err = store_watch_list(s, w->now, add_list, &l);
	for (size_t i = 0; i < l.n && err == 0; i++) {
		w->max_gen = l.max_gen[i];
		err = store_watch_read(s, l.v[i], w->now, 0, add_watched, w, NULL, NULL);
		if (err == STORE_ENOTFOUND)
			err = 0; /* deleted meanwhile */
	}
	free(l.v);
	free(l.max_gen);
	struct wset *v[2] = {&w->all, &w->old};
	for (int i = 0; i < 2 && err == 0; i++) {
		err = text_ptrs(v[i]->names, v[i]->nn, &v[i]->nptr);
		if (err == 0)
			err = text_ptrs(v[i]->certs, v[i]->nc, &v[i]->cptr);
	}
	return err;
}

static int take_row(uint32_t ins, uint64_t blk, const struct store_obs *o, void *ctx)
{
	struct sweep *w = ctx;
	if (w->nrows >= SWEEP_ROWS_MAX)
		return STORE_ELIMIT;
	if (grow((void **)&w->rows, &w->cap_rows, w->nrows + 1, sizeof(*w->rows)) != 0)
		return -ENOMEM;
	struct row *r = &w->rows[w->nrows++];
	memset(r, 0, offsetof(struct row, o));
	r->ins = ins;
	r->blk = blk;
	r->o = *o;
	r->cm = NULL;
	r->hash = row_hash(blk, o);
	return 0;
}

/* A certificate observation: its metadata as the hook reads it, the
 * rest in the row. */
static int take_cert(uint32_t ins, uint64_t blk, uint32_t seq, const struct store_obs *o, void *ctx)
{
	struct sweep *w = ctx;
	const struct store_cert_meta *m = o->cert.meta;
	struct cmeta *cm = malloc(sizeof(*cm) + m->san_dns_len + 1);
	if (cm == NULL)
		return -ENOMEM;
	cm->has_sha1 = m->has_sha1;
	cm->has_sha256 = m->has_sha256;
	cm->has_key = m->has_key;
	memcpy(cm->sha1, m->sha1, 20);
	memcpy(cm->sha256, m->sha256, 32);
	memcpy(cm->key, m->key, 32);
	cm->san_len = m->san_dns_len;
	memcpy(cm->san, m->san_dns, m->san_dns_len);
	int err = take_row(ins, blk, o, w);
	if (err != 0) {
		free(cm);
		return err;
	}
	struct row *r = &w->rows[w->nrows - 1];
	r->seq = seq;
	r->cm = cm;
	r->o.cert.meta = NULL;
	r->hash = cert_hash(blk, seq, o, cm);
	return 0;
}

/* Within a batch: LMDB's hook order, its resolutions, then its
 * certificates in their order. */
static int cmp_cert(const struct row *x, const struct row *y)
{
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Insertion order: the log's, across its queries. */
static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->ins != y->ins)
		return x->ins < y->ins ? -1 : 1;
	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	if (x->o.kind != y->o.kind)
		return x->o.kind == STORE_OBS_DNS ? -1 : 1;
	if (x->o.kind == STORE_OBS_CERT)
		return cmp_cert(x, y);
	int c = strcmp(x->o.dns.rrname, y->o.dns.rrname);
	if (c == 0)
		c = (int)x->o.dns.rrtype - (int)y->o.dns.rrtype;
	if (c == 0)
		c = strcmp(x->o.dns.rdata, y->o.dns.rdata);
	if (c == 0)
		c = memcmp(x->o.dns.addr, y->o.dns.addr, 16);
	if (c == 0)
		c = strcmp(x->o.sensor, y->o.sensor);
	return c != 0 ? c : x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int cmp_seen_ins(const void *a, const void *b)
{
	int c = cmp_seen(a, b);
	uint32_t x = ((const struct seen *)a)->ins, y = ((const struct seen *)b)->ins;
	return c != 0 ? c : x < y ? -1 : x > y;
}

/* Mark the rows to feed: the first (in insertion order) of each hash that
 * the last sweeps did not see.  rows sorted by cmp_row. */
static int mark_rows(struct sweep *w)
{
	struct seen *h = malloc((w->nrows + 1) * sizeof(*h));
	w->feed = malloc((w->nrows + 1) * sizeof(*w->feed));
	if (h == NULL || w->feed == NULL) {
		free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->nrows; i++)
		h[i] = (struct seen){w->rows[i].hash, (uint32_t)i}; /* ins: the row's index */
	qsort(h, w->nrows, sizeof(*h), cmp_seen_ins);
	for (size_t i = 0; i < w->nrows; i++) {
		struct row *r = &w->rows[h[i].ins];
		r->feed = (i == 0 || h[i - 1].hash != h[i].hash) && !was_seen(w, r->hash);
	}
	free(h);
	for (size_t i = 0; i < w->nrows; i++) {
		if (w->rows[i].feed)
			w->feed[w->nfeed++] = i;
	}
	return 0;
}

/* The checkpoint's new record: t, the floor, and the hashes seen with ins
 * >= the floor (this sweep's rows and the last ones'), each once with its
 * latest ins.  *out malloc'd. */
static int new_state(const struct sweep *w, uint32_t t, uint32_t overlap, uint8_t **out,
                     size_t *len)
{
	uint32_t lo = t > overlap ? t - overlap : 0;
	if (lo < w->floor)
		lo = w->floor;
	struct seen *v = malloc((w->nseen + w->nrows + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].ins >= lo)
			v[n++] = w->seen[i];
	for (size_t i = 0; i < w->nrows; i++)
		if (w->rows[i].ins >= lo)
			v[n++] = (struct seen){w->rows[i].hash, w->rows[i].ins};
	qsort(v, n, sizeof(*v), cmp_seen_ins);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u > 0 && v[u - 1].hash == v[i].hash)
			u--; /* the same row: keep the latest ins */
		v[u++] = v[i];
	}
	*out = u <= SWEEP_SEEN_MAX ? malloc(20 + u * 12) : NULL;
	int err = u > SWEEP_SEEN_MAX ? STORE_ELIMIT : *out == NULL ? -ENOMEM : 0;
	for (size_t i = 0; err == 0 && i < u; i++) {
		util_be64_store(*out + 12 + 12 * i, v[i].hash);
		util_be32_store(*out + 20 + 12 * i, v[i].ins);
	}
	if (err == 0) {
		util_be32_store(*out, t);
		util_be32_store(*out + 4, lo);
		util_be32_store(*out + 8, (uint32_t)u);
		util_be64_store(*out + 12 + u * 12, (uint64_t)w->now);
		*len = 20 + u * 12;
	}
	free(v);
	return err;
}

/* When row r was written, on this node's clock (the cluster's clock moved
 * to it; never after this sweep began).  A pinned clock does not move, so
 * every row counts as written after every entry (INT64_MAX). */
static int64_t row_at(const struct sweep *w, const struct row *r)
{
	if (w->pinned)
		return INT64_MAX;
	return r->ins >= w->clock ? w->now : w->now - (int64_t)(w->clock - r->ins);
}

static int get_row(size_t i, struct store_obs *o, int64_t *at, void *ctx)
{
	const struct sweep *w = ctx;
	const struct row *r = &w->rows[w->feed[i]];
	*o = r->o;
	*at = row_at(w, r);
	if (r->cm == NULL)
		return 0;
	struct store_cert_meta *m = w->meta;
	memset(m, 0, sizeof(*m));
	m->has_sha1 = r->cm->has_sha1;
	m->has_sha256 = r->cm->has_sha256;
	m->has_key = r->cm->has_key;
	memcpy(m->sha1, r->cm->sha1, 20);
	memcpy(m->sha256, r->cm->sha256, 32);
	memcpy(m->key, r->cm->key, 32);
	m->san_dns_len = r->cm->san_len;
	memcpy(m->san_dns, r->cm->san, r->cm->san_len);
	o->cert.meta = m;
	return 0;
}

static void sweep_free(struct sweep *w)
{
	for (size_t i = 0; i < w->nrows; i++)
		free(w->rows[i].cm);
	struct wset *v[2] = {&w->all, &w->old};
	for (int i = 0; i < 2; i++) {
		free(v[i]->names);
		free(v[i]->nptr);
		free(v[i]->certs);
		free(v[i]->cptr);
		free(v[i]->keys);
		free(v[i]->addrs);
	}
	free(w->meta);
	free(w->rows);
	free(w->feed);
	free(w->seen);
}

/* What went wrong, for the caller's message. */
static int sweep_err(int err, const char *what, char *msg, size_t cap)
{
	if (err == STORE_ELIMIT && strcmp(what, "read") == 0)
		snprintf(msg, cap,
		         "watch sweep: more than %u rows or %u watched indicators in one sweep "
		         "(sweep more often); checkpoint not moved",
		         SWEEP_ROWS_MAX, SWEEP_WATCHED_MAX);
	else if (err == STORE_ELIMIT)
		snprintf(msg, cap,
		         "watch sweep: more than %u rows in the overlap; checkpoint not moved",
		         SWEEP_SEEN_MAX);
	else
		snprintf(msg, cap, "watch sweep: %s: %s; checkpoint not moved", what,
		         *store_last_error() ? store_last_error() : store_strerror(err));
	return err;
}

/* The rows of both logs in [from, until) (until 0: no end) that touch
 * what v watches: the resolutions when a list expands over them, the
 * certificates likewise. */
static int read_set(store_t *s, struct sweep *w, const struct wset *v, uint32_t from,
                    uint32_t until)
{
	const uint8_t(*addrs)[16] = (const uint8_t(*)[16])v->addrs;
	int err = 0;
	if (w->want_rr && v->nn + v->na > 0)
		err = store_sweep_rows(s, from, until, v->nptr, v->nn, addrs, v->na, take_row, w);
	struct store_sweep_watched k = {
	    v->nptr, v->nn, addrs, v->na, v->cptr, v->nc, (const uint8_t(*)[32])v->keys, v->nk};
	if (err == 0 && w->want_cert && v->nn + v->na + v->nc + v->nk > 0) {
		if (w->meta == NULL)
			w->meta = malloc(sizeof(*w->meta));
		err =
		    w->meta == NULL ? -ENOMEM : store_sweep_certs(s, from, until, &k, take_cert, w);
	}
	return err;
}

/* From the checkpoint on, what is watched; below it (the overlap), what
 * was watched when the last sweep began.  The first sweep reads the logs
 * from their start. */
static int read_rows(store_t *s, struct sweep *w, uint32_t from)
{
	if (!w->has_cp || from >= w->cp)
		return read_set(s, w, &w->all, from, 0);
	int err = read_set(s, w, &w->all, w->cp, 0);
	return err != 0 ? err : read_set(s, w, &w->old, from, w->cp);
}

int watch_sweep(store_t *s, const struct watch_sweep_opts *o, struct watch_sweep_stats *st,
                char *msg, size_t cap)
{
	struct sweep w;
	memset(&w, 0, sizeof(w));
	memset(st, 0, sizeof(*st));
	if (strcmp(store_backend(s), "clickhouse") != 0) {
		snprintf(msg, cap,
		         "the watch sweep is for a ClickHouse store (an LMDB store runs "
		         "the standing pivots as it writes)");
		return STORE_ENOTSUP;
	}
	/* one time for the whole sweep: what it adds was added when it began */
	w.now = o->now != 0 ? o->now : (int64_t)time(NULL);
	w.pinned = o->now != 0;
	uint32_t t = 0;
	int err = load_state(s, &w);
	if (err != 0) {
		sweep_free(&w);
		return sweep_err(err, "reading the checkpoint", msg, cap);
	}
	err = load_watched(s, &w);
	if (err == 0)
		err = store_sweep_clock(s, &t);
	st->from = w.has_cp && w.cp > o->overlap ? w.cp - o->overlap : 0;
	if (st->from < w.floor)
		st->from = w.floor; /* nothing is remembered below it */
	st->to = t;
	w.clock = t;
	st->names = w.all.nn;
	st->addrs = w.all.na;
	st->certs = w.all.nc;
	st->keys = w.all.nk;
	if (err == 0)
		err = read_rows(s, &w, st->from);
	if (err != 0) {
		sweep_free(&w);
		return sweep_err(err, "read", msg, cap);
	}
	if (w.nrows > 1) /* rows is NULL when no row came */
		qsort(w.rows, w.nrows, sizeof(*w.rows), cmp_row);
	uint8_t *state = NULL;
	size_t slen = 0;
	err = mark_rows(&w);
	if (err == 0)
		err = new_state(&w, t, o->overlap, &state, &slen);
	struct store_meta_put m = {SWEEP_KEY, strlen(SWEEP_KEY), state, slen};
	if (err == 0)
		err = store_sweep_feed(s, w.nfeed, get_row, &w, w.now, &m);
	st->rows = w.nrows;
	st->fed = w.nfeed;
	free(state);
	sweep_free(&w);
	return err != 0 ? sweep_err(err, "feeding the watchlists", msg, cap) : 0;
}
