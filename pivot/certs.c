/*
 * certs.c - the certificates a pivot reads, kept for the run: metadata
 * (store_cert_get) and keys (store_cert_key).  With a prefetch (a
 * ClickHouse store, where each read is a query) a level's new
 * certificates' metadata is read in one batched call when the level's
 * nodes are measured, and the keys of a level's certificate nodes when
 * the level is prefetched; the walk's reads (a node's metadata, its SAN
 * walk, a domain's SAN edges, the key edge) are answered from here, and a
 * certificate read alone is kept too.  Without a prefetch (LMDB) every
 * read goes to the store.  Only what the pivot uses is kept: the hashes,
 * the dates, subject, issuer, serial and the SAN names (no DER, no SAN
 * addresses).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/buf.h"
#include "util/hash.h"

/* strings of the run's certificates (bounded like the prefetch's arena) */
#define PC_MAX_ARENA ((size_t)256 << 20)

enum { PC_UNKNOWN, PC_FOUND, PC_NONE };

struct pc_entry {
	struct store_cert_ref ref;
	uint8_t meta, key; /* PC_* */
	bool has_sha1, has_sha256, has_meta;
	uint8_t sha1[20], sha256[32], spki[32];
	int64_t not_before, not_after;
	size_t subject, issuer, serial, san, san_len; /* in the arena */
};

struct pivot_certs {
	struct pc_entry *e;
	size_t n, cap;
	uint32_t *ix; /* open addressing: entry + 1, 0 free */
	size_t ixcap;
	struct util_buf arena;
};

int pivot_certs_new(struct pivot_run *x)
{
	x->certs = calloc(1, sizeof(*x->certs));
	if (x->certs == NULL)
		return -ENOMEM;
	util_buf_init(&x->certs->arena, PC_MAX_ARENA);
	return 0;
}

void pivot_certs_free(struct pivot_certs *pc)
{
	if (pc == NULL)
		return;
	free(pc->e);
	free(pc->ix);
	util_buf_free(&pc->arena);
	free(pc);
}

static uint64_t ref_hash(const struct store_cert_ref *ref)
{
	return util_fnv64(util_fnv64(UTIL_FNV64_INIT, &ref->kind, 1), ref->hash, sizeof(ref->hash));
}

static bool ref_eq(const struct store_cert_ref *a, const struct store_cert_ref *b)
{
	return a->kind == b->kind && memcmp(a->hash, b->hash, sizeof(a->hash)) == 0;
}

static struct pc_entry *find(const struct pivot_certs *pc, const struct store_cert_ref *ref)
{
	if (pc == NULL || pc->ixcap == 0)
		return NULL;
	for (size_t s = ref_hash(ref) & (pc->ixcap - 1); pc->ix[s] != 0;
	     s = (s + 1) & (pc->ixcap - 1))
		if (ref_eq(&pc->e[pc->ix[s] - 1].ref, ref))
			return &pc->e[pc->ix[s] - 1];
	return NULL;
}

/* Index entry i (0-based) of ref in ix[cap] (a free slot is there). */
static void ix_put(uint32_t *ix, size_t cap, const struct store_cert_ref *ref, size_t i)
{
	size_t s = ref_hash(ref) & (cap - 1);
	while (ix[s] != 0)
		s = (s + 1) & (cap - 1);
	ix[s] = (uint32_t)i + 1;
}

static int reindex(struct pivot_certs *pc, size_t cap)
{
	uint32_t *ix = calloc(cap, sizeof(*ix));
	if (ix == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < pc->n; i++)
		ix_put(ix, cap, &pc->e[i].ref, i);
	free(pc->ix);
	pc->ix = ix;
	pc->ixcap = cap;
	return 0;
}

/* The entry of ref, made (unknown) when new; NULL out of memory. */
static struct pc_entry *entry(struct pivot_certs *pc, const struct store_cert_ref *ref)
{
	struct pc_entry *e = find(pc, ref);
	if (e != NULL)
		return e;
	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 64;
		struct pc_entry *ne = realloc(pc->e, cap * sizeof(*ne));
		if (ne == NULL)
			return NULL;
		pc->e = ne;
		pc->cap = cap;
	}
	if (2 * (pc->n + 1) > pc->ixcap && reindex(pc, pc->ixcap ? pc->ixcap * 2 : 128) != 0)
		return NULL;
	e = &pc->e[pc->n];
	memset(e, 0, sizeof(*e));
	e->ref = *ref;
	ix_put(pc->ix, pc->ixcap, ref, pc->n++);
	return e;
}

static size_t keep(struct pivot_certs *pc, const char *s, size_t n)
{
	size_t at = pc->arena.len;
	util_buf_add(&pc->arena, s, n);
	util_buf_add(&pc->arena, "", 1);
	return at;
}

/* keep() a string that may be NULL (kept as ""). */
static size_t keep_str(struct pivot_certs *pc, const char *s)
{
	return s != NULL ? keep(pc, s, strlen(s)) : keep(pc, "", 0);
}

/* Keep what the pivot uses of ci as ref's metadata. */
static int put_meta(struct pivot_certs *pc, const struct store_cert_ref *ref,
                    const struct store_cert_info *ci)
{
	struct pc_entry *e = entry(pc, ref);
	if (e == NULL)
		return -ENOMEM;
	e->meta = PC_FOUND;
	e->has_sha1 = ci->has_sha1;
	e->has_sha256 = ci->has_sha256;
	memcpy(e->sha1, ci->sha1, 20);
	memcpy(e->sha256, ci->sha256, 32);
	e->has_meta = ci->has_meta;
	e->not_before = ci->not_before;
	e->not_after = ci->not_after;
	e->subject = keep_str(pc, ci->subject);
	e->issuer = keep_str(pc, ci->issuer);
	e->serial = keep_str(pc, ci->serial);
	e->san_len = ci->san_dns ? ci->san_dns_len : 0;
	e->san = keep(pc, ci->san_dns ? ci->san_dns : "", e->san_len);
	if (!pc->arena.err)
		return 0;
	e->meta = PC_UNKNOWN; /* not kept: read alone */
	return -ENOMEM;
}

static void get_meta(const struct pivot_certs *pc, const struct pc_entry *e,
                     struct store_cert_info *ci)
{
	const char *a = pc->arena.p;
	memset(ci, 0, sizeof(*ci));
	ci->ref = e->ref;
	ci->has_sha1 = e->has_sha1;
	ci->has_sha256 = e->has_sha256;
	memcpy(ci->sha1, e->sha1, 20);
	memcpy(ci->sha256, e->sha256, 32);
	ci->has_meta = e->has_meta;
	ci->not_before = e->not_before;
	ci->not_after = e->not_after;
	ci->subject = a + e->subject;
	ci->issuer = a + e->issuer;
	ci->serial = a + e->serial;
	ci->san_dns = a + e->san;
	ci->san_dns_len = e->san_len;
	ci->san_ip = "";
}

int pivot_cert_get(struct pivot_run *x, const struct store_cert_ref *ref,
                   struct store_cert_info *ci)
{
	struct pivot_certs *pc = x->certs;
	const struct pc_entry *e = find(pc, ref);
	if (e != NULL && e->meta == PC_FOUND) {
		get_meta(pc, e, ci);
		return 0;
	}
	if (e != NULL && e->meta == PC_NONE)
		return STORE_ENOTFOUND;
	int err = store_cert_get(x->rt, ref, ci);
	if (pc == NULL || (err != 0 && err != STORE_ENOTFOUND))
		return err;
	if (err == STORE_ENOTFOUND) {
		struct pc_entry *ne = entry(pc, ref);
		if (ne != NULL)
			ne->meta = PC_NONE;
		return err;
	}
	/* ci stays the store's; the copy serves the next read (memory
	 * short: not kept) */
	(void)put_meta(pc, ref, ci);
	return 0;
}

int pivot_cert_key(struct pivot_run *x, const struct store_cert_ref *ref, uint8_t key[32])
{
	const struct pc_entry *e = find(x->certs, ref);
	if (e != NULL && e->key == PC_FOUND) {
		memcpy(key, e->spki, 32);
		return 0;
	}
	if (e != NULL && e->key == PC_NONE)
		return STORE_ENOTFOUND;
	return store_cert_key(x->rt, ref, key);
}

/* ---- batches ---------------------------------------------------------------- */

struct fetch {
	struct pivot_certs *pc;
	const struct store_cert_ref *refs;
};

static int meta_cb(size_t i, const struct store_cert_info *ci, void *ctx)
{
	const struct fetch *f = ctx;
	return put_meta(f->pc, &f->refs[i], ci);
}

static int key_cb(size_t i, const uint8_t spki[32], void *ctx)
{
	const struct fetch *f = ctx;
	struct pc_entry *e = entry(f->pc, &f->refs[i]);
	if (e == NULL)
		return -ENOMEM;
	e->key = PC_FOUND;
	memcpy(e->spki, spki, 32);
	return 0;
}

/* The refs whose metadata (keys) is not known yet, compacted in place;
 * their count.  Each gets its entry; mark: marked none until the batch
 * finds it (else left unknown: the read-ahead's first pass). */
static size_t unknown(struct pivot_certs *pc, struct store_cert_ref *refs, size_t n, bool keys,
                      bool mark, int *err)
{
	size_t k = 0;
	for (size_t i = 0; i < n && *err == 0; i++) {
		struct pc_entry *e = entry(pc, &refs[i]);
		if (e == NULL) {
			*err = -ENOMEM;
		} else if ((keys ? e->key : e->meta) == PC_UNKNOWN) {
			if (mark)
				*(keys ? &e->key : &e->meta) = PC_NONE;
			refs[k++] = refs[i];
		}
	}
	return k;
}

static int note_meta(size_t i, const struct store_cert_info *ci, void *ctx)
{
	(void)i, (void)ci, (void)ctx;
	return 0;
}

static int note_key(size_t i, const uint8_t spki[32], void *ctx)
{
	(void)i, (void)spki, (void)ctx;
	return 0;
}

void pivot_certs_note(struct pivot_run *x, struct store_cert_ref *refs, size_t n, bool keys)
{
	int err = 0;
	/* the refs pivot_certs_fetch will ask for, in its order */
	size_t k = x->certs != NULL ? unknown(x->certs, refs, n, keys, false, &err) : 0;
	if (err == 0 && k > 0)
		(void)(keys ? store_cert_key_n(x->rt, refs, k, note_key, NULL)
		            : store_cert_get_n(x->rt, refs, k, note_meta, NULL));
}

int pivot_certs_fetch(struct pivot_run *x, struct store_cert_ref *refs, size_t n, bool keys)
{
	struct pivot_certs *pc = x->certs;
	int err = 0;
	if (pc == NULL)
		return 0;
	n = unknown(pc, refs, n, keys, true, &err);
	if (err != 0 || n == 0)
		return err;
	struct fetch f = {pc, refs};
	err = keys ? store_cert_key_n(x->rt, refs, n, key_cb, &f)
	           : store_cert_get_n(x->rt, refs, n, meta_cb, &f);
	/* a failed batch leaves nothing known: the walk reads alone; one
	 * over a bound (as the prefetch's) is no error */
	for (size_t i = 0; i < n && err != 0; i++) {
		struct pc_entry *e = find(pc, &refs[i]);
		*(keys ? &e->key : &e->meta) = PC_UNKNOWN;
	}
	pc->arena.err = 0;
	return err == STORE_ELIMIT || err == -ENOMEM ? 0 : err;
}
