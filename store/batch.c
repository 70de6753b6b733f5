/*
 * batch.c - compact batches of observations and the write transaction
 * that merges one: growth of the map and retry, write hooks, meta records.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store/store_internal.h"
#include "store/watch.h"

int store_batch_new(store_batch_t **out)
{
	store_batch_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	*out = b;
	return 0;
}

/* Free the metadata copies of the certificates from index `from` on and
 * keep the ones before. */
static void free_certs(store_batch_t *b, size_t from)
{
	for (size_t i = from; i < b->ncerts; i++) {
		if (b->certs[i].full != NULL) {
			free(b->certs[i].full->der);
			free(b->certs[i].full);
		}
	}
	b->ncerts = from;
}

void store_batch_reset(store_batch_t *b)
{
	free_certs(b, 0);
	for (size_t i = 0; i < b->nmeta * 2; i++)
		free(b->meta_mem[i]);
	b->nmeta = 0;
	client_batch_truncate(b, 0);
	b->nfps = 0;
	b->alen = 0;
	b->nrecs = 0;
	b->nsensors = 0;
	b->last_sensor = 0;
	b->seq = 0;
	merge_reset(b);
}

void store_batch_free(store_batch_t *b)
{
	if (b == NULL)
		return;
	store_batch_reset(b);
	client_batch_free(b);
	fp_batch_free(b);
	free(b->arena);
	free(b->recs);
	free(b->certs);
	free(b->htab);
	free(b);
}

size_t store_batch_len(const store_batch_t *b)
{
	return b->nrecs + b->ncerts + client_batch_len(b) + b->nfps;
}

void store_batch_mark(const store_batch_t *b, struct store_batch_mark *m)
{
	m->nrecs = b->nrecs;
	m->ncerts = b->ncerts;
	m->alen = b->alen;
	m->seq = b->seq;
	m->nclients = client_batch_len(b);
	m->nfps = b->nfps;
}

void store_batch_truncate(store_batch_t *b, const struct store_batch_mark *m)
{
	free_certs(b, m->ncerts);
	b->nrecs = m->nrecs;
	b->alen = m->alen;
	b->seq = m->seq;
	client_batch_truncate(b, m->nclients);
	b->nfps = m->nfps;
}

bool store_batch_empty(const store_batch_t *b)
{
	return b->nrecs + b->ncerts + client_batch_len(b) + b->nfps + b->nmeta == 0;
}

int batch_sensor_slot(store_batch_t *b, const char *name)
{
	if (name[0] == '\0')
		return 0;
	if (b->last_sensor > 0 && strcmp(b->sensors[b->last_sensor - 1], name) == 0)
		return (int)b->last_sensor;
	for (unsigned i = 0; i < b->nsensors; i++) {
		if (strcmp(b->sensors[i], name) == 0) {
			b->last_sensor = i + 1;
			return (int)i + 1;
		}
	}
	if (b->nsensors == BATCH_SENSORS)
		return -1;
	snprintf(b->sensors[b->nsensors], STORE_SENSOR_MAX, "%s", name);
	b->last_sensor = ++b->nsensors;
	return (int)b->nsensors;
}

/* Room for need more bytes in the arena (records are addressed by u32
 * offsets).  Returns 0, -ENOMEM or STORE_ELIMIT. */
int batch_arena_reserve(store_batch_t *b, size_t need)
{
	if (b->alen > UINT32_MAX - need)
		return STORE_ELIMIT;
	if (b->alen + need <= b->acap)
		return 0;
	size_t nc = b->acap ? b->acap * 2 : 1 << 20;
	while (nc < b->alen + need)
		nc *= 2;
	uint8_t *na = realloc(b->arena, nc);
	if (na == NULL)
		return -ENOMEM;
	b->arena = na;
	b->acap = nc;
	return 0;
}

int batch_rec_new(store_batch_t *b, size_t need, struct brec **out)
{
	int err = batch_arena_reserve(b, need);
	if (err != 0)
		return err;
	if (b->nrecs == b->caprecs) {
		size_t nc = b->caprecs ? b->caprecs * 2 : 4096;
		uint32_t *nr = realloc(b->recs, nc * sizeof(*nr));
		if (nr == NULL)
			return -ENOMEM;
		b->recs = nr;
		b->caprecs = nc;
	}
	*out = (struct brec *)(b->arena + b->alen);
	b->recs[b->nrecs++] = (uint32_t)b->alen;
	b->alen += need;
	return 0;
}

static int add_dns(store_batch_t *b, const struct store_obs *o)
{
	uint8_t key[SCHEMA_KEY_MAX + 1];
	uint16_t nk;
	int klen = rr_key(o, key, &nk);
	if (klen < 0)
		return klen;
	uint8_t bail[SCHEMA_NAMEKEY_MAX];
	int bl = 0;
	if (o->dns.bailiwick[0] != '\0') {
		bl = namekey_enc(o->dns.bailiwick, bail);
		if (bl < 0)
			return bl;
	}
	int slot = batch_sensor_slot(b, o->sensor);
	if (slot < 0)
		return STORE_ELIMIT;
	size_t need = (sizeof(struct brec) + (size_t)klen + (size_t)bl + 7) & ~(size_t)7;
	struct brec *r;
	int err = batch_rec_new(b, need, &r);
	if (err != 0)
		return err;
	r->count = o->count;
	r->tf = clamp_time(o->time_first);
	r->tl = clamp_time(o->time_last);
	r->seq = b->seq++;
	r->klen = (uint16_t)klen;
	r->nk = nk;
	r->sensor = (uint8_t)slot;
	r->bail_len = (uint8_t)bl;
	memcpy(r->key, key, (size_t)klen);
	if (bl > 0)
		memcpy(r->key + klen, bail, (size_t)bl);
	return 0;
}

/* Give c an owned copy of the metadata m, DER included. */
static int meta_copy(struct bcert *c, const struct store_cert_meta *m)
{
	c->full = malloc(sizeof(*c->full));
	if (c->full == NULL)
		return -ENOMEM;
	*c->full = *m;
	c->full->der = NULL;
	c->full->der_len = 0;
	if (m->der == NULL)
		return 0;
	c->full->der = malloc(m->der_len);
	if (c->full->der == NULL) {
		free(c->full);
		c->full = NULL;
		return -ENOMEM;
	}
	memcpy(c->full->der, m->der, m->der_len);
	c->full->der_len = m->der_len;
	return 0;
}

static int add_cert(store_batch_t *b, const struct store_obs *o)
{
	const struct store_cert_meta *m = o->cert.meta;
	if (m == NULL || (!m->has_sha1 && !m->has_sha256))
		return STORE_EBADHASH;
	int slot = batch_sensor_slot(b, o->sensor);
	if (slot < 0)
		return STORE_ELIMIT;
	size_t sl = strnlen(o->cert.sni, sizeof(o->cert.sni) - 1);
	size_t need = (sl + 7) & ~(size_t)7; /* DNS records that follow stay aligned */
	if (b->ncerts == b->capcerts) {
		size_t nc = b->capcerts ? b->capcerts * 2 : 256;
		struct bcert *n = realloc(b->certs, nc * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		b->certs = n;
		b->capcerts = nc;
	}
	int err = batch_arena_reserve(b, need);
	if (err != 0)
		return err;
	struct bcert *c = &b->certs[b->ncerts];
	memset(c, 0, sizeof(*c));
	c->seq = b->seq;
	c->count = o->count;
	c->tf = o->time_first;
	c->tl = o->time_last;
	memcpy(c->ip, o->cert.ip, 16);
	c->port = o->cert.port;
	c->sensor = (uint8_t)slot;
	c->sighting = o->cert.sighting;
	c->has_meta = o->cert.has_meta;
	c->has_sha1 = m->has_sha1;
	c->has_sha256 = m->has_sha256;
	memcpy(c->sha1, m->sha1, 20);
	memcpy(c->sha256, m->sha256, 32);
	c->has_key = m->has_key;
	memcpy(c->key, m->key, 32);
	/* a copy of the metadata only when there is some */
	if ((o->cert.has_meta || m->der != NULL) && meta_copy(c, m) != 0)
		return -ENOMEM;
	c->sni_off = (uint32_t)b->alen;
	c->sni_len = (uint8_t)sl;
	if (sl > 0)
		memcpy(b->arena + b->alen, o->cert.sni, sl);
	b->alen += need;
	b->seq++;
	b->ncerts++;
	return 0;
}

void batch_cert_obs(const struct store_batch *b, const struct bcert *c, struct store_obs *o,
                    struct store_cert_meta *scratch)
{
	memset(o, 0, offsetof(struct store_obs, cert) + sizeof(o->cert));
	o->kind = STORE_OBS_CERT;
	o->time_first = c->tf;
	o->time_last = c->tl;
	o->count = c->count;
	if (c->sensor)
		memcpy(o->sensor, b->sensors[c->sensor - 1], STORE_SENSOR_MAX);
	o->cert.sighting = c->sighting;
	o->cert.has_meta = c->has_meta;
	memcpy(o->cert.ip, c->ip, 16);
	o->cert.port = c->port;
	if (c->sni_len > 0)
		memcpy(o->cert.sni, b->arena + c->sni_off, c->sni_len);
	o->cert.sni[c->sni_len] = '\0';
	if (c->full != NULL) {
		o->cert.meta = c->full;
		return;
	}
	memset(scratch, 0, offsetof(struct store_cert_meta, subject));
	scratch->has_sha1 = c->has_sha1;
	scratch->has_sha256 = c->has_sha256;
	memcpy(scratch->sha1, c->sha1, 20);
	memcpy(scratch->sha256, c->sha256, 32);
	scratch->subject[0] = scratch->issuer[0] = scratch->serial[0] = '\0';
	scratch->san_dns_len = scratch->san_ip_len = 0;
	scratch->not_before = scratch->not_after = 0;
	scratch->der = NULL;
	scratch->der_len = 0;
	scratch->has_key = c->has_key;
	memcpy(scratch->key, c->key, 32);
	o->cert.meta = scratch;
}

int store_batch_add(store_batch_t *b, const struct store_obs *o)
{
	if (o->kind == STORE_OBS_DNS)
		return add_dns(b, o);
	if (o->kind == STORE_OBS_CERT)
		return add_cert(b, o);
	if (o->kind == STORE_OBS_CLIENT)
		return client_batch_add(b, o);
	if (o->kind == STORE_OBS_FP)
		return fp_batch_add(b, o);
	return STORE_EBADTYPE;
}

int store_batch_meta(store_batch_t *b, const struct store_meta_put *m)
{
	if (b->nmeta == sizeof(b->meta) / sizeof(b->meta[0]))
		return STORE_ELIMIT;
	void *k = malloc(m->klen ? m->klen : 1);
	void *v = malloc(m->vlen ? m->vlen : 1);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	memcpy(k, m->key, m->klen);
	memcpy(v, m->val, m->vlen);
	/* a later record under the same key replaces the earlier one */
	for (size_t i = 0; i < b->nmeta; i++) {
		if (b->meta[i].klen == m->klen && memcmp(b->meta[i].key, k, m->klen) == 0) {
			free(b->meta_mem[2 * i]);
			free(b->meta_mem[2 * i + 1]);
			b->meta_mem[2 * i] = k;
			b->meta_mem[2 * i + 1] = v;
			b->meta[i] = (struct store_meta_put){k, m->klen, v, m->vlen};
			return 0;
		}
	}
	b->meta_mem[2 * b->nmeta] = k;
	b->meta_mem[2 * b->nmeta + 1] = v;
	b->meta[b->nmeta++] = (struct store_meta_put){k, m->klen, v, m->vlen};
	return 0;
}

/* What a slice's certificate records may dirty: each new or merged
 * sighting touches about CERT_TOUCHES pages at random in the trees
 * certificates live in (the sighting, its address and SNI index entries,
 * the certificate), and a new one adds FLUSH_NEW_BYTES of new pages. */
#define CERT_TOUCHES 3.0

static double cert_slice_pages(double tree_pages, size_t n)
{
	return store_touched_pages(tree_pages, CERT_TOUCHES * (double)n) +
	       (double)n * (FLUSH_NEW_BYTES / 4096);
}

/* Merge the batch's certificate records from `from` on, until about
 * max_pages pages are dirty (at least one; max_pages < 0: all of them).
 * *end: the record after the last one merged. */
static int certs_put(struct store_wtxn *w, const store_batch_t *b, size_t from, double max_pages,
                     size_t *end)
{
	struct store_obs *o = malloc(sizeof(*o));
	struct store_cert_meta *scratch = malloc(sizeof(*scratch));
	int e = o == NULL || scratch == NULL ? -ENOMEM : 0;
	static const int dbs[] = {DB_CERT, DB_SIGHT, DB_IPCERT, DB_NAMECERT};
	double tree = max_pages >= 0 ? store_tree_pages(w->s, w->txn, dbs, 4) : 0;
	size_t i = from;
	while (i < b->ncerts && e >= 0 && w->err == 0) {
		if (max_pages >= 0 && cert_slice_pages(tree, i + 1 - from) > max_pages && i > from)
			break;
		batch_cert_obs(b, &b->certs[i], o, scratch);
		e = cert_put(w, o);
		i++;
	}
	*end = i;
	free(o);
	free(scratch);
	return e;
}

/* Is there a write hook with something to do?  The default one has
 * nothing while nothing is watched: skip rebuilding every record for it. */
static bool hooks_on(struct store_wtxn *w)
{
	store_t *s = w->s;
	return s->hook != NULL && (s->hook != store_watch_hook || store_watch_active(w));
}

/* Run the write hook for the batch's records: the DNS records
 * sl[from..to) (sl NULL: all of b's, in its order), then the
 * certificates certs[cfrom..cto). */
static int run_hooks(struct store_wtxn *w, const store_batch_t *b, const struct rr_slices *sl,
                     size_t from, size_t to, size_t cfrom, size_t cto)
{
	store_t *s = w->s;
	if (!hooks_on(w))
		return 0;
	struct store_obs *o = malloc(sizeof(*o));
	struct store_cert_meta *scratch = malloc(sizeof(*scratch));
	int e = o == NULL || scratch == NULL ? -ENOMEM : 0;
	for (size_t i = from; i < to && e >= 0 && w->err == 0; i++) {
		const struct brec *r = sl != NULL ? rr_slices_rec(sl, i)
		                                  : (const struct brec *)(b->arena + b->recs[i]);
		rr_rec_obs(b, r, o);
		e = s->hook(w, o, s->hook_ctx);
	}
	for (size_t i = cfrom; i < cto && e >= 0 && w->err == 0; i++) {
		batch_cert_obs(b, &b->certs[i], o, scratch);
		e = s->hook(w, o, s->hook_ctx);
	}
	free(o);
	free(scratch);
	return e < 0 ? e : 0;
}

/* Pages of the trees a DNS record touches (rr and its indexes). */
static uint64_t index_pages(store_t *s)
{
	store_rtxn_t *r;
	if (store_read_begin(s, &r) != 0)
		return UINT64_MAX;
	static const int dbs[] = {DB_RR, DB_ADDR, DB_PREV, DB_TARGET, DB_SIGHT, DB_IPCERT};
	uint64_t pages = (uint64_t)store_tree_pages(s, r->txn, dbs, 6);
	store_read_end(r);
	return pages;
}

size_t store_batch_budget(store_t *s)
{
	uint64_t pages = index_pages(s);
	return pages == UINT64_MAX ? 10000 : batch_budget_for_pages(pages);
}

size_t batch_budget_for(uint64_t pages, double max_dirty, size_t max_records)
{
	/* n records spread over a tree of P pages dirty about
	 * P (1 - exp(-per_record n / P)) of them: solve that for max_dirty.
	 * A tree smaller than the budget cannot dirty more than itself. */
	double P = (double)pages;
	if (P <= max_dirty)
		return max_records;
	double n = P / BATCH_PER_RECORD * log(P / (P - max_dirty));
	return n > (double)max_records ? max_records : (size_t)n;
}

size_t batch_budget_for_pages(uint64_t pages)
{
	return batch_budget_for(pages, BATCH_MAX_DIRTY, BATCH_MAX_RECORDS);
}

int store_write_batch(store_t *s, store_batch_t *b, struct store_write_stats *stats)
{
	return store_write_batches(s, &b, 1, stats);
}

static void meta_put(struct store_wtxn *w, const store_batch_t *b)
{
	for (size_t i = 0; i < b->nmeta && w->err == 0; i++) {
		MDB_val k = {b->meta[i].klen, (void *)b->meta[i].key};
		MDB_val v = {b->meta[i].vlen, (void *)b->meta[i].val};
		w_put(w, DB_META, &k, &v, 0);
	}
}

/* The certificates, hooks and meta records of one batch into the open
 * transaction (its DNS records are merged with the others' first; with
 * dns_hooks, their hooks run here too).  Returns 0 or an error that
 * aborts it (LMDB errors are in w->err). */
static int batch_put(struct store_wtxn *w, const store_batch_t *b, bool dns_hooks)
{
	int e = 0;
	size_t end;
	if (b->ncerts > 0)
		e = certs_put(w, b, 0, -1, &end);
	if (e >= 0 && w->err == 0)
		e = run_hooks(w, b, NULL, 0, dns_hooks ? b->nrecs : 0, 0, b->ncerts);
	if (e >= 0)
		meta_put(w, b);
	return e < 0 ? e : 0;
}

struct batches {
	store_batch_t *const *bs;
	size_t nb;
};

/* Every batch into one transaction: the DNS records of all merged first,
 * then each batch's certificates, hooks and meta records. */
static int batches_fn(struct store_wtxn *w, void *ctx)
{
	const struct batches *c = ctx;
	/* repeats the merge table absorbed are merges too */
	for (size_t i = 0; i < c->nb; i++)
		w->st->dns_merged += c->bs[i]->absorbed;
	int e = rr_put_batches(w, c->bs, c->nb);
	if (e == 0 && w->err == 0)
		e = client_put_batches(w, c->bs, c->nb);
	if (e == 0 && w->err == 0)
		e = fp_put_batches(w, c->bs, c->nb);
	for (size_t i = 0; i < c->nb && e == 0 && w->err == 0; i++)
		e = batch_put(w, c->bs[i], true);
	return e;
}

void store_write_stats_add(struct store_write_stats *to, const struct store_write_stats *add)
{
	to->dns_new += add->dns_new;
	to->dns_merged += add->dns_merged;
	to->sight_new += add->sight_new;
	to->sight_merged += add->sight_merged;
	to->certs_new += add->certs_new;
	to->certs_joined += add->certs_joined;
	to->clients += add->clients;
	to->client_pairs_new += add->client_pairs_new;
	to->retries += add->retries;
	to->unsupported += add->unsupported;
	if (add->commit_bytes_max > to->commit_bytes_max)
		to->commit_bytes_max = add->commit_bytes_max;
}

int store_write_batches(store_t *s, store_batch_t *const *bs, size_t nb,
                        struct store_write_stats *stats)
{
	if (s->ch != NULL && !store_ch_control_only(bs, nb))
		return store_ch_write_batches(s, bs, nb, stats);
	struct batches c = {bs, nb};
	struct store_write_stats local;
	int err = store_wtxn_retry(s, batches_fn, &c, &local, "write batch");
	if (err != 0)
		return err;
	size_t len = 0;
	for (size_t i = 0; i < nb; i++)
		len += store_batch_len(bs[i]);
	if (len >= 10000)
		store_drop_mapped(s);
	if (stats != NULL)
		store_write_stats_add(stats, &local);
	return 0;
}

/* The merge table written in slices: where the next one starts (DNS
 * records, then certificates), where the last one ended, and what one
 * may dirty. */
struct sliced {
	store_batch_t *b;
	struct rr_slices *sl;
	double max_pages;
	size_t from, to;   /* DNS records, in key order */
	size_t cfrom, cto; /* certificates, after the DNS records */
};

/* The certificates of one slice and their hooks, in the room its DNS
 * records left (a slice that has none begins with at least one). */
static int slice_certs(struct store_wtxn *w, struct sliced *c, double used)
{
	double room = c->max_pages - used; /* used is 0 when it has none */
	if (c->cfrom == c->b->ncerts || room <= 0)
		return 0;
	int e = certs_put(w, c->b, c->cfrom, room, &c->cto);
	if (e >= 0 && w->err == 0)
		e = run_hooks(w, c->b, c->sl, 0, 0, c->cfrom, c->cto);
	return e < 0 ? e : 0;
}

/* One slice: a key range of the table's DNS records and their hooks,
 * then, when those are all written, as many certificates as the slice
 * has room for; the first also counts the repeats merged in memory, the
 * last writes the meta records. */
static int slice_fn(struct store_wtxn *w, void *ctx)
{
	struct sliced *c = ctx;
	if (c->from == 0 && c->cfrom == 0)
		w->st->dns_merged += c->b->absorbed;
	int e = 0;
	double used = 0;
	c->to = c->from;
	c->cto = c->cfrom;
	if (c->from < c->b->nrecs)
		e = rr_put_slice(w, c->sl, c->from, c->max_pages, &c->to, &used);
	if (e == 0 && w->err == 0)
		e = run_hooks(w, c->b, c->sl, c->from, c->to, 0, 0);
	if (e == 0 && w->err == 0 && c->to == c->b->nrecs)
		e = slice_certs(w, c, used);
	if (e == 0 && c->to == c->b->nrecs && c->cto == c->b->ncerts)
		meta_put(w, c->b);
	return e;
}

/* Run one transaction of a sliced write; count it and the bytes it
 * wrote. */
static int slice_commit(store_t *s, store_wtxn_fn fn, struct sliced *c,
                        struct store_write_stats *stats, uint64_t *commits)
{
	struct store_write_stats local;
	uint64_t w0 = store_thread_wchar();
	int err = store_wtxn_retry(s, fn, c, &local, "write batch");
	if (err != 0)
		return err;
	uint64_t w1 = store_thread_wchar();
	local.commit_bytes_max = w1 > w0 ? w1 - w0 : 0;
	if (stats != NULL)
		store_write_stats_add(stats, &local);
	(*commits)++;
	store_drop_mapped(s);
	return 0;
}

int store_write_sliced(store_t *s, store_batch_t *b, size_t dirty_bytes,
                       struct store_write_stats *stats, uint64_t *commits)
{
	if (s->ch != NULL) {
		int err = store_write_batches(s, &b, 1, stats);
		*commits += err == 0;
		return err;
	}
	if (!store_batch_absorbable(b))
		return STORE_EBADTYPE; /* not a merge table: client or fingerprint sightings */
	struct sliced c = {.b = b, .max_pages = (double)dirty_bytes / 4096};
	int err = rr_slices_new(b, &c.sl);
	/* at least one transaction: a table of meta records only */
	do {
		if (err == 0)
			err = slice_commit(s, slice_fn, &c, stats, commits);
		c.from = c.to;
		c.cfrom = c.cto;
	} while (err == 0 && (c.from < b->nrecs || c.cfrom < b->ncerts));
	rr_slices_free(c.sl);
	return err;
}

int store_write(store_t *s, const struct store_obs *obs, size_t n,
                const struct store_meta_put *meta, size_t nmeta, struct store_write_stats *stats)
{
	store_batch_t *b;
	int err = store_batch_new(&b);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		err = store_batch_add(b, &obs[i]);
		if (err == STORE_ELIMIT) {
			/* sensor table full: write what we have, go on */
			err = store_write_batch(s, b, stats);
			store_batch_reset(b);
			if (err == 0)
				err = store_batch_add(b, &obs[i]);
		}
	}
	for (size_t i = 0; i < nmeta && err == 0; i++)
		err = store_batch_meta(b, &meta[i]);
	if (err == 0)
		err = store_write_batch(s, b, stats);
	store_batch_free(b);
	return err;
}
