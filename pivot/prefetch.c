/*
 * prefetch.c - a BFS level's reads in one go.  Before the walk expands the
 * nodes of a level, the rows each of them will ask for (resolutions by
 * name, by target and by address, certificates by name, sightings by
 * address and by certificate) are read with the store's batched readers,
 * one call per kind for the whole level, and kept; the walk's per-node
 * reads are then answered from them, with the same rows in the same order
 * to the same callbacks, so the walk, its budgets and its output do not
 * change.  Used on a ClickHouse store, where every read is a query
 * (docs/scale-out.md); LMDB answers a node's read faster than a copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/buf.h"

/* The strings of a level's rows: enough for any level the node budget
 * allows; a level past it is read node by node (PF_MAX_ARENA). */
#define PF_MAX_ARENA ((size_t)256 << 20)

enum {
	PF_RR_NAME,
	PF_RR_TARGET,
	PF_NAMECERT,
	PF_RR_ADDR,
	PF_SIGHT_ADDR,
	PF_SIGHT_CERT,
	PF_SNI_IPS,    /* the level's SNI certificates' address counts (a row each) */
	PF_SNI_SIGHT,  /* their sightings, for those not over max_cert_ips */
	PF_PREV_SIGHT, /* the previous level's PF_SNI_SIGHT: those certificates
	                * are often this level's nodes (same reader, same fence) */
	PF_PREV_IPS,   /* the previous level's PF_SNI_IPS, for this level's
	                * certificates' counts (pivot_measure_new) */
	PF_N
};

/* One row as read, its strings in the arena (offsets). */
struct pf_row {
	int64_t tf, tl;
	uint64_t count;
	uint8_t addr[16]; /* a resolution's address, a sighting's */
	struct store_cert_ref ref;
	uint16_t rrtype, port;
	unsigned kind, nsni;
	size_t str[3 + STORE_SNI_KEPT]; /* rrname, rdata, bailiwick, then SNI */
};

struct pf_key {
	uint8_t k[STORE_NAME_BUF];
	size_t klen;
	size_t first, n; /* its rows */
};

struct pf_set {
	bool on;
	size_t nkeys;
	struct pf_key *keys;    /* input order */
	struct pf_key **sorted; /* the keys in key order, for lookups */
	struct pf_row *rows;
	size_t nrows, caprows;
	bool *cut; /* the read's store_cap, a flag a key: over the cap, not
	            * answered here (its rows dropped) */
};

struct pivot_pf {
	struct pf_set set[PF_N];
	struct util_buf arena;
	struct util_buf prev_arena; /* PF_PREV_SIGHT's strings */
	int err;                    /* of a row copy (memory) */
	bool noting;                /* the read-ahead's first pass */
};

static void set_free(struct pf_set *s)
{
	free(s->keys);
	free(s->sorted);
	free(s->rows);
	free(s->cut);
	memset(s, 0, sizeof(*s));
}

void pivot_pf_free(struct pivot_pf *pf)
{
	if (pf == NULL)
		return;
	for (int i = 0; i < PF_N; i++)
		set_free(&pf->set[i]);
	util_buf_free(&pf->arena);
	util_buf_free(&pf->prev_arena);
	free(pf);
}

/* ---- filling ------------------------------------------------------------ */

static size_t keep(struct pivot_pf *pf, const char *s)
{
	size_t at = pf->arena.len;
	util_buf_add(&pf->arena, s, strlen(s) + 1);
	return at;
}

/* A new row of key i in set s (rows come key by key). */
static struct pf_row *row_new(struct pivot_pf *pf, struct pf_set *s, size_t i)
{
	if (s->nrows == s->caprows) {
		size_t cap = s->caprows ? 2 * s->caprows : 256;
		struct pf_row *n = realloc(s->rows, cap * sizeof(*n));
		if (n == NULL) {
			pf->err = -ENOMEM;
			return NULL;
		}
		s->rows = n;
		s->caprows = cap;
	}
	if (s->keys[i].n++ == 0)
		s->keys[i].first = s->nrows;
	struct pf_row *r = &s->rows[s->nrows++];
	memset(r, 0, sizeof(*r));
	return r;
}

struct fill {
	struct pivot_pf *pf;
	struct pf_set *s;
};

static int fill_rr(size_t key, const struct store_rr *rr, void *ctx)
{
	struct fill *f = ctx;
	struct pf_row *r = row_new(f->pf, f->s, key);
	if (r == NULL)
		return f->pf->err;
	r->tf = rr->time_first;
	r->tl = rr->time_last;
	r->count = rr->count;
	r->rrtype = rr->rrtype;
	memcpy(r->addr, rr->addr, 16);
	r->str[0] = keep(f->pf, rr->rrname);
	r->str[1] = keep(f->pf, rr->rdata);
	r->str[2] = keep(f->pf, rr->bailiwick ? rr->bailiwick : "");
	return f->pf->arena.err;
}

static int fill_sight(size_t key, const struct store_sighting *si, void *ctx)
{
	struct fill *f = ctx;
	struct pf_row *r = row_new(f->pf, f->s, key);
	if (r == NULL)
		return f->pf->err;
	r->tf = si->time_first;
	r->tl = si->time_last;
	r->count = si->count;
	r->ref = si->ref;
	memcpy(r->addr, si->ip, 16);
	r->port = si->port;
	r->nsni = si->nsni;
	for (unsigned i = 0; i < si->nsni; i++)
		r->str[3 + i] = keep(f->pf, si->sni[i]);
	return f->pf->arena.err;
}

static int fill_nc(size_t key, const struct store_cert_ref *ref, unsigned kind, void *ctx)
{
	struct fill *f = ctx;
	struct pf_row *r = row_new(f->pf, f->s, key);
	if (r == NULL)
		return f->pf->err;
	r->ref = *ref;
	r->kind = kind;
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct pf_key *a = *(const struct pf_key *const *)pa;
	const struct pf_key *b = *(const struct pf_key *const *)pb;
	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	return memcmp(a->k, b->k, a->klen);
}

/* Room for n keys in set s; the caller fills keys[i].k and klen. */
static int set_init(struct pf_set *s, size_t n)
{
	set_free(s);
	s->keys = calloc(n ? n : 1, sizeof(*s->keys));
	s->sorted = calloc(n ? n : 1, sizeof(*s->sorted));
	s->cut = calloc(n ? n : 1, sizeof(*s->cut));
	if (s->keys == NULL || s->sorted == NULL || s->cut == NULL)
		return -ENOMEM;
	s->nkeys = n;
	return 0;
}

/* A certificate's key in a set: its kind, then its hash. */
static void cert_key(struct pf_key *k, const struct store_cert_ref *ref)
{
	k->klen = 1 + sizeof(ref->hash);
	k->k[0] = ref->kind;
	memcpy(k->k + 1, ref->hash, sizeof(ref->hash));
}

/* The keys are in: index them, and take the read's result.  A read too
 * large for memory or a response bound leaves the set off (its nodes are
 * read one by one, as without a prefetch); another error is the walk's. */
static int set_done(struct pivot_pf *pf, struct pf_set *s, int err)
{
	if (err == 0 && pf->err == 0 && !pf->arena.err) {
		for (size_t i = 0; i < s->nkeys; i++)
			s->sorted[i] = &s->keys[i];
		qsort(s->sorted, s->nkeys, sizeof(*s->sorted), key_cmp);
		s->on = true;
		return 0;
	}
	set_free(s);
	bool too_big = err == STORE_ELIMIT || pf->err != 0 || pf->arena.err;
	pf->err = 0;
	pf->arena.err = 0;
	return too_big ? 0 : err;
}

/* ---- a level ------------------------------------------------------------ */

/* The nodes of the level starting at node first, of type t, into idx
 * (their count): pruned ones too.  The reads go out with the level's
 * counts, before its noise is judged (pivot_measure_new), and are made
 * again to take their answers after it: the same keys both times, so the
 * same statements.  A noise node's rows stop at the cap (pf_cap) and are
 * never asked for: the walk does not expand it. */
static size_t level_nodes(const struct pivot_run *x, size_t first, enum pivot_node_type t,
                          size_t *idx)
{
	const struct pivot_result *r = x->r;
	unsigned depth = r->nodes[first].n.depth;
	size_t n = 0;
	for (size_t i = first; i < r->nnodes && r->nodes[i].n.depth == depth; i++) {
		const struct pivot_node *nd = &r->nodes[i].n;
		if (nd->type == t && !(t == PIVOT_NODE_DOMAIN && nd->value[0] == '*'))
			idx[n++] = i;
	}
	return n;
}

/* A key's rows read ahead of its noise: a node within the noise limits
 * has about as many edges of a kind as its count, so twice the largest
 * limit and some (216 rows by default); a node the walk takes with more
 * (a window's recount, a name on many certificates) is read alone. */
static struct store_cap pf_cap(const struct pivot_run *x, struct pf_set *s)
{
	const struct pivot_params *p = x->p;
	uint64_t m = p->max_ip_domains;
	const uint64_t more[3] = {p->max_domain_ips, p->max_cert_ips, p->max_san};
	for (int i = 0; i < 3; i++)
		m = more[i] > m ? more[i] : m;
	const uint64_t most = (uint64_t)1 << 30;
	return (struct store_cap){(size_t)(m < most ? 2 * m + 16 : 2 * most), s->cut};
}

/* Domain nodes: by target, by name, certificates by name. */
static int level_domains(struct pivot_run *x, const size_t *idx, size_t n)
{
	struct pivot_pf *pf = x->pf;
	const char **names = malloc((n ? n : 1) * sizeof(*names));
	if (names == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		names[i] = x->r->nodes[idx[i]].n.value;
	const unsigned e = x->p->edges;
	const bool want[3] = {e & PIVOT_EDGE_CNAME, e & (PIVOT_EDGE_RESOLVES | PIVOT_EDGE_CNAME),
	                      e & (PIVOT_EDGE_SAN | PIVOT_EDGE_SNI)};
	const int kinds[3] = {PF_RR_TARGET, PF_RR_NAME, PF_NAMECERT};
	int err = 0;
	for (int k = 0; k < 3 && err == 0; k++) {
		struct pf_set *s = &pf->set[kinds[k]];
		if (!want[k] || n == 0 || (err = set_init(s, n)) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			s->keys[i].klen = strlen(names[i]);
			memcpy(s->keys[i].k, names[i], s->keys[i].klen);
		}
		struct fill f = {pf, s};
		struct store_cap cap = pf_cap(x, s);
		int rd = kinds[k] == PF_RR_TARGET
		             ? store_rr_by_targets(x->rt, names, n, &x->fence, &cap, fill_rr, &f)
		         : kinds[k] == PF_RR_NAME
		             ? store_rr_by_names(x->rt, names, n, &x->fence, &cap, fill_rr, &f)
		             : store_certs_by_names(x->rt, names, n, &cap, fill_nc, &f);
		err = set_done(pf, s, rd);
	}
	free(names);
	return err;
}

static int ref_cmp(const void *pa, const void *pb)
{
	const struct store_cert_ref *a = pa, *b = pb;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return memcmp(a->hash, b->hash, sizeof(a->hash));
}

/* The distinct certificates the level's names the walk expands (idx:
 * the set's nodes) were seen with as SNI (the certificates-by-name rows)
 * into refs, in key order; their count. */
static size_t sni_refs(const struct pivot_run *x, const struct pf_set *nc, const size_t *idx,
                       struct store_cert_ref *refs)
{
	size_t n = 0;
	for (size_t i = 0; i < nc->nkeys; i++) {
		const struct pf_key *k = &nc->keys[i];
		if (nc->cut[i] || x->r->nodes[idx[i]].n.pruned != NULL)
			continue;
		for (size_t j = k->first; j < k->first + k->n; j++)
			if (nc->rows[j].kind == STORE_NC_SNI)
				refs[n++] = nc->rows[j].ref;
	}
	if (n < 2)
		return n;
	qsort(refs, n, sizeof(*refs), ref_cmp);
	size_t o = 1;
	for (size_t i = 1; i < n; i++)
		if (ref_cmp(&refs[o - 1], &refs[i]) != 0)
			refs[o++] = refs[i];
	return o;
}

/* The SNI certificates' address counts (into ips too): a row a key. */
static int sni_counts(struct pivot_run *x, const struct store_cert_ref *refs, size_t n,
                      uint64_t *ips)
{
	struct pivot_pf *pf = x->pf;
	struct pf_set *s = &pf->set[PF_SNI_IPS];
	int err = set_init(s, n);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n; i++)
		cert_key(&s->keys[i], &refs[i]);
	int rd = store_prev_cert_ips_n(x->rt, refs, n, ips);
	for (size_t i = 0; i < n && rd == 0; i++) {
		struct pf_row *r = row_new(pf, s, i);
		if (r == NULL)
			break;
		r->count = ips[i];
	}
	return set_done(pf, s, rd);
}

/* The certificates the level's names were seen with as SNI, which the
 * walk dates (walk.c, domain_sni): their address counts in one read, then
 * the sightings of those not over max_cert_ips in one more (a certificate
 * over it is read alone, only as far as the walk's scan cap). */
static int level_sni(struct pivot_run *x, const size_t *idx)
{
	struct pivot_pf *pf = x->pf;
	const struct pf_set *nc = &pf->set[PF_NAMECERT];
	if (!nc->on || nc->nrows == 0 || !(x->p->edges & PIVOT_EDGE_SNI))
		return 0;
	struct store_cert_ref *refs = malloc(nc->nrows * sizeof(*refs));
	uint64_t *ips = malloc(nc->nrows * sizeof(*ips));
	int err = refs && ips ? 0 : -ENOMEM;
	size_t n = err == 0 ? sni_refs(x, nc, idx, refs) : 0, m = 0;
	if (n > 0)
		err = sni_counts(x, refs, n, ips);
	for (size_t i = 0; i < n && err == 0 && pf->set[PF_SNI_IPS].on; i++)
		if (ips[i] <= x->p->max_cert_ips)
			refs[m++] = refs[i];
	struct pf_set *s = &pf->set[PF_SNI_SIGHT];
	if (m > 0 && (err = set_init(s, m)) == 0) {
		for (size_t i = 0; i < m; i++)
			cert_key(&s->keys[i], &refs[i]);
		struct fill f = {pf, s};
		err = set_done(
		    pf, s, store_sight_by_certs(x->rt, refs, m, &x->fence, NULL, fill_sight, &f));
	}
	free(refs);
	free(ips);
	return err;
}

/* IP nodes: resolutions and sightings by address. */
static int level_ips(struct pivot_run *x, const size_t *idx, size_t n)
{
	struct pivot_pf *pf = x->pf;
	uint8_t(*ips)[16] = malloc((n ? n : 1) * 16);
	if (ips == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		memcpy(ips[i], x->r->nodes[idx[i]].ip, 16);
	const bool want[2] = {x->p->edges & PIVOT_EDGE_RESOLVES, x->p->edges & PIVOT_EDGE_SERVES};
	const int kinds[2] = {PF_RR_ADDR, PF_SIGHT_ADDR};
	int err = 0;
	for (int k = 0; k < 2 && err == 0; k++) {
		struct pf_set *s = &pf->set[kinds[k]];
		if (!want[k] || n == 0 || (err = set_init(s, n)) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			s->keys[i].klen = 16;
			memcpy(s->keys[i].k, ips[i], 16);
		}
		struct fill f = {pf, s};
		struct store_cap cap = pf_cap(x, s);
		int rd = kinds[k] == PF_RR_ADDR
		             ? store_rr_by_addrs(x->rt, (const uint8_t(*)[16])ips, n, &x->fence,
		                                 &cap, fill_rr, &f)
		             : store_sight_by_addrs(x->rt, (const uint8_t(*)[16])ips, n, &x->fence,
		                                    &cap, fill_sight, &f);
		err = set_done(pf, s, rd);
	}
	free(ips);
	return err;
}

static const struct pf_key *find(const struct pivot_run *x, int kind, const void *k, size_t klen);

/* Whether the previous level's SNI dating read ref's sightings. */
static bool prev_sight(const struct pivot_run *x, const struct store_cert_ref *ref)
{
	struct pf_key k;
	cert_key(&k, ref);
	return find(x, PF_PREV_SIGHT, k.k, k.klen) != NULL;
}

/* Whether the previous level's SNI dating counted ref's addresses past
 * max_cert_ips, with no window to count them again in: its node is noise
 * for certain (node_judge), its sightings never asked for. */
static bool known_noise(const struct pivot_run *x, const struct store_cert_ref *ref)
{
	struct pf_key k;
	cert_key(&k, ref);
	/* the previous level's only: the same in both passes (this level's
	 * dating runs in the second) */
	const struct pf_key *key = find(x, PF_PREV_IPS, k.k, k.klen);
	return !x->windowed && key != NULL && key->n == 1 &&
	       x->pf->set[PF_PREV_IPS].rows[key->first].count > x->p->max_cert_ips;
}

/* Certificate nodes: their sightings (but those prev_sight has, and
 * those known to be noise). */
static int level_certs(struct pivot_run *x, const size_t *idx, size_t n)
{
	struct pivot_pf *pf = x->pf;
	struct pf_set *s = &pf->set[PF_SIGHT_CERT];
	if (n == 0 || !(x->p->edges & (PIVOT_EDGE_SERVES | PIVOT_EDGE_SNI)))
		return 0;
	struct store_cert_ref *refs = malloc(n * sizeof(*refs));
	size_t m = 0; /* those the previous level's SNI dating did not read */
	for (size_t i = 0; i < n && refs != NULL; i++) {
		const struct store_cert_ref *ref = &x->r->nodes[idx[i]].ref;
		if (!prev_sight(x, ref) && !known_noise(x, ref))
			refs[m++] = *ref;
	}
	int err = refs == NULL ? -ENOMEM : m == 0 ? 0 : set_init(s, m);
	for (size_t i = 0; i < m && err == 0; i++)
		cert_key(&s->keys[i], &refs[i]);
	struct fill f = {pf, s};
	struct store_cap cap = pf_cap(x, s);
	if (err == 0 && m > 0)
		err = set_done(
		    pf, s, store_sight_by_certs(x->rt, refs, m, &x->fence, &cap, fill_sight, &f));
	free(refs);
	return err;
}

/* Certificate nodes: their keys (certs.c keeps them). */
static int level_keys(struct pivot_run *x, const size_t *idx, size_t n)
{
	/* not in the read-ahead's first pass: certs.c would take its
	 * no-rows answers for certificates without a key */
	if (n == 0 || !(x->p->edges & PIVOT_EDGE_KEY) || x->pf->noting)
		return 0;
	struct store_cert_ref *refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		refs[i] = x->r->nodes[idx[i]].ref;
	int err = pivot_certs_fetch(x, refs, n, true);
	free(refs);
	return err;
}

/* The level's sets emptied (but the previous level's SNI sightings). */
static void level_clear(struct pivot_pf *pf)
{
	for (int i = 0; i < PF_N; i++)
		if (i != PF_PREV_SIGHT && i != PF_PREV_IPS)
			set_free(&pf->set[i]);
	util_buf_free(&pf->arena);
	util_buf_init(&pf->arena, PF_MAX_ARENA);
	pf->err = 0;
}

/* The level's reads: its edges (edges: those that do not wait for its
 * noise: resolutions, certificates by name, sightings), then (rest) the
 * SNI dating of the names not found noise and the certificates' keys. */
static int level_reads(struct pivot_run *x, size_t first, bool edges, bool rest)
{
	size_t *idx = malloc((x->r->nnodes - first) * sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	int err = 0;
	if (edges) {
		err = level_domains(x, idx, level_nodes(x, first, PIVOT_NODE_DOMAIN, idx));
		if (err == 0)
			err = level_ips(x, idx, level_nodes(x, first, PIVOT_NODE_IP, idx));
		if (err == 0)
			err = level_certs(x, idx, level_nodes(x, first, PIVOT_NODE_CERT, idx));
	}
	if (rest && err == 0) {
		(void)level_nodes(x, first, PIVOT_NODE_DOMAIN, idx);
		err = level_sni(x, idx);
	}
	if (rest && err == 0)
		err = level_keys(x, idx, level_nodes(x, first, PIVOT_NODE_CERT, idx));
	free(idx);
	return err;
}

void pivot_pf_note(struct pivot_run *x, size_t first)
{
	struct pivot_pf *pf = x->pf;
	if (pf == NULL)
		return;
	pf->noting = true;
	(void)level_reads(x, first, true, true);
	pf->noting = false;
	level_clear(pf);
}

/* The previous level's set `from` kept as `to` (its strings in
 * prev_arena when it has any). */
static void keep_prev(struct pivot_pf *pf, int from, int to)
{
	set_free(&pf->set[to]);
	pf->set[to] = pf->set[from];
	memset(&pf->set[from], 0, sizeof(pf->set[from]));
}

void pivot_pf_begin(struct pivot_run *x)
{
	struct pivot_pf *pf = x->pf;
	if (pf == NULL)
		return;
	/* the SNI sightings and counts read for the last level, kept for
	 * this one */
	keep_prev(pf, PF_SNI_SIGHT, PF_PREV_SIGHT);
	keep_prev(pf, PF_SNI_IPS, PF_PREV_IPS);
	util_buf_free(&pf->prev_arena);
	pf->prev_arena = pf->arena;
	util_buf_init(&pf->arena, PF_MAX_ARENA); /* its strings are prev_arena's now */
	level_clear(pf);
}

int pivot_pf_edges(struct pivot_run *x, size_t first)
{
	/* they went out with the level's counts (noted, pivot_measure_new);
	 * made again, they take the answers (the sets cleared by
	 * pivot_pf_begin and pivot_pf_note) */
	return x->pf != NULL ? level_reads(x, first, true, false) : 0;
}

int pivot_pf_level(struct pivot_run *x, size_t first)
{
	struct pivot_pf *pf = x->pf;
	if (pf == NULL)
		return 0;
	/* the edges taken (pivot_pf_edges), the reads that wait for another's
	 * rows or for the level's noise: the SNI dating's, the keys */
	int err = level_reads(x, first, false, true);
	store_ahead_drop(x->rt);
	return err;
}

int pivot_pf_new(struct pivot_run *x)
{
	x->pf = calloc(1, sizeof(*x->pf));
	if (x->pf == NULL)
		return -ENOMEM;
	util_buf_init(&x->pf->arena, PF_MAX_ARENA);
	util_buf_init(&x->pf->prev_arena, PF_MAX_ARENA);
	return pivot_certs_new(x);
}

/* ---- answering the walk --------------------------------------------------- */

/* The rows of a key in a set that is on; NULL when the set is off or the
 * key not in it or cut. */
static const struct pf_key *find(const struct pivot_run *x, int kind, const void *k, size_t klen)
{
	if (x->pf == NULL || !x->pf->set[kind].on || klen > STORE_NAME_BUF)
		return NULL;
	const struct pf_set *s = &x->pf->set[kind];
	struct pf_key want;
	want.klen = klen;
	memcpy(want.k, k, klen);
	const struct pf_key *wp = &want;
	struct pf_key **hit = bsearch(&wp, s->sorted, s->nkeys, sizeof(*s->sorted), key_cmp);
	return hit != NULL && !s->cut[*hit - s->keys] ? *hit : NULL;
}

/* A callback's STORE_STOP ends the key's rows without error. */
static int replay_rr(const struct pivot_run *x, int kind, const struct pf_key *key, store_rr_cb cb,
                     void *ctx)
{
	const struct pf_set *s = &x->pf->set[kind];
	const char *a = x->pf->arena.p;
	int err = 0;
	for (size_t i = 0; i < key->n && err == 0; i++) {
		const struct pf_row *r = &s->rows[key->first + i];
		struct store_rr rr = {.rrname = a + r->str[0],
		                      .rrtype = r->rrtype,
		                      .rdata = a + r->str[1],
		                      .time_first = r->tf,
		                      .time_last = r->tl,
		                      .count = r->count,
		                      .bailiwick = a + r->str[2]};
		memcpy(rr.addr, r->addr, 16);
		err = cb(&rr, ctx);
	}
	return err == STORE_STOP ? 0 : err;
}

static int replay_sight(const struct pivot_run *x, int kind, const struct pf_key *key,
                        store_sight_cb cb, void *ctx)
{
	const struct pf_set *s = &x->pf->set[kind];
	const char *a = kind == PF_PREV_SIGHT ? x->pf->prev_arena.p : x->pf->arena.p;
	int err = 0;
	for (size_t i = 0; i < key->n && err == 0; i++) {
		const struct pf_row *r = &s->rows[key->first + i];
		struct store_sighting si = {.ref = r->ref,
		                            .port = r->port,
		                            .time_first = r->tf,
		                            .time_last = r->tl,
		                            .count = r->count,
		                            .nsni = r->nsni};
		memcpy(si.ip, r->addr, 16);
		for (unsigned j = 0; j < r->nsni; j++)
			si.sni[j] = a + r->str[3 + j];
		err = cb(&si, ctx);
	}
	return err == STORE_STOP ? 0 : err;
}

int pivot_rr_by_name(struct pivot_run *x, const char *name, store_rr_cb cb)
{
	const struct pf_key *k = find(x, PF_RR_NAME, name, strlen(name));
	return k ? replay_rr(x, PF_RR_NAME, k, cb, x)
	         : store_rr_by_name(x->rt, name, 0, &x->fence, cb, x);
}

int pivot_rr_by_target(struct pivot_run *x, const char *name, store_rr_cb cb)
{
	const struct pf_key *k = find(x, PF_RR_TARGET, name, strlen(name));
	return k ? replay_rr(x, PF_RR_TARGET, k, cb, x)
	         : store_rr_by_target(x->rt, name, &x->fence, cb, x);
}

int pivot_rr_by_addr(struct pivot_run *x, const uint8_t ip[16], store_rr_cb cb)
{
	const struct pf_key *k = find(x, PF_RR_ADDR, ip, 16);
	return k ? replay_rr(x, PF_RR_ADDR, k, cb, x)
	         : store_rr_by_addr(x->rt, ip, 128, &x->fence, cb, x);
}

int pivot_sight_by_addr(struct pivot_run *x, const uint8_t ip[16], store_sight_cb cb)
{
	const struct pf_key *k = find(x, PF_SIGHT_ADDR, ip, 16);
	return k ? replay_sight(x, PF_SIGHT_ADDR, k, cb, x)
	         : store_sight_by_addr(x->rt, ip, 128, &x->fence, cb, x);
}

int pivot_sight_by_cert(struct pivot_run *x, const struct store_cert_ref *ref, store_sight_cb cb)
{
	struct pf_key k;
	cert_key(&k, ref);
	int kind = PF_SIGHT_CERT;
	const struct pf_key *key = find(x, kind, k.k, k.klen);
	if (key == NULL)
		key = find(x, kind = PF_PREV_SIGHT, k.k, k.klen);
	return key ? replay_sight(x, kind, key, cb, x)
	           : store_sight_by_cert(x->rt, ref, &x->fence, cb, x);
}

int pivot_sni_sight(struct pivot_run *x, const struct store_cert_ref *ref, store_sight_cb cb)
{
	struct pf_key k;
	cert_key(&k, ref);
	const struct pf_key *key = find(x, PF_SNI_SIGHT, k.k, k.klen);
	return key ? replay_sight(x, PF_SNI_SIGHT, key, cb, x)
	           : store_sight_by_cert(x->rt, ref, &x->fence, cb, x);
}

int pivot_pf_rows(struct pivot_run *x, const struct pivot_xnode *xn, store_rr_cb rr,
                  store_sight_cb sight, void *ctx)
{
	const struct pf_key *key;
	struct pf_key k;
	switch (xn->n.type) {
	case PIVOT_NODE_DOMAIN:
		key = find(x, PF_RR_NAME, xn->n.value, strlen(xn->n.value));
		return key ? replay_rr(x, PF_RR_NAME, key, rr, ctx) : STORE_ENOTFOUND;
	case PIVOT_NODE_IP:
		key = find(x, PF_RR_ADDR, xn->ip, 16);
		return key ? replay_rr(x, PF_RR_ADDR, key, rr, ctx) : STORE_ENOTFOUND;
	case PIVOT_NODE_CERT:
		cert_key(&k, &xn->ref);
		if ((key = find(x, PF_SIGHT_CERT, k.k, k.klen)) != NULL)
			return replay_sight(x, PF_SIGHT_CERT, key, sight, ctx);
		key = find(x, PF_PREV_SIGHT, k.k, k.klen);
		return key ? replay_sight(x, PF_PREV_SIGHT, key, sight, ctx) : STORE_ENOTFOUND;
	default:
		return STORE_ENOTFOUND;
	}
}

bool pivot_pf_cert_ips(const struct pivot_run *x, const struct store_cert_ref *ref, uint64_t *n)
{
	struct pf_key k;
	cert_key(&k, ref);
	int kind = PF_SNI_IPS;
	const struct pf_key *key = find(x, kind, k.k, k.klen);
	if (key == NULL)
		key = find(x, kind = PF_PREV_IPS, k.k, k.klen);
	if (key == NULL || key->n != 1)
		return false;
	*n = x->pf->set[kind].rows[key->first].count;
	return true;
}

int pivot_sni_cert_ips(struct pivot_run *x, const struct store_cert_ref *ref, uint64_t *n)
{
	return pivot_pf_cert_ips(x, ref, n) ? 0 : store_prev_cert_ips(x->rt, ref, n);
}

int pivot_certs_by_name(struct pivot_run *x, const char *name, store_namecert_cb cb)
{
	const struct pf_key *key = find(x, PF_NAMECERT, name, strlen(name));
	if (key == NULL)
		return store_certs_by_name(x->rt, name, cb, x);
	const struct pf_set *s = &x->pf->set[PF_NAMECERT];
	int err = 0;
	for (size_t i = 0; i < key->n && err == 0; i++)
		err = cb(&s->rows[key->first + i].ref, s->rows[key->first + i].kind, x);
	return err == STORE_STOP ? 0 : err;
}
