/*
 * ch_dispatch.c - a store_t whose data plane is a ClickHouse cluster
 * (docs/architecture.md, "Two stores"): opening one by its address beside
 * its local control LMDB, the write path's ClickHouse side (DNS and
 * certificate records of a batch), read sessions,
 * and the error of a call that has no ClickHouse implementation yet.
 *
 * The public store functions dispatch at their top: `if (r->s->ch)` to
 * store_ch_* where it exists, STORE_LMDB_ONLY otherwise, so nothing on a
 * ClickHouse store silently reads or writes the (empty) LMDB data tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

/* The control LMDB's record of the address it serves. */
#define CH_URL_META "clickhouse_url"
/* Observations converted and sent per INSERT (a struct store_obs is
 * about 1 KiB: 8 MiB of them at a time). */
#define CH_WRITE_CHUNK 8192
/* Certificate observations per INSERT: a hashes-only one needs a
 * struct store_cert_meta of scratch (about 4 KiB), so fewer at a time
 * (5 MiB with their observations). */
#define CH_CERT_CHUNK 1024

int store_ch_unsupported(const char *what)
{
	store_set_error("%s", what);
	return STORE_ENOTSUP;
}

const char *store_control_dir(void)
{
	const char *env = getenv("INFRAPIVOT_CONTROL");
	return env != NULL && *env != '\0' ? env : "./infrapivot-control";
}

const char *store_backend(const store_t *s)
{
	return s->ch != NULL ? "clickhouse" : "lmdb";
}

/* The control directory serves one cluster database: a follow position
 * or a watchlist of one must not be taken for another's. */
static int control_bind(store_t *s, const char *url, const char *dir)
{
	char got[512];
	size_t n = 0;
	int err = store_meta_get(s, CH_URL_META, strlen(CH_URL_META), got, sizeof(got) - 1, &n);
	if (err == 0) {
		got[n] = '\0';
		if (strcmp(got, url) == 0)
			return 0;
		store_set_error("control directory %s belongs to %s, not %s (set "
		                "INFRAPIVOT_CONTROL to another directory)",
		                dir, got, url);
		return -EINVAL;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	if (s->flags & STORE_RDONLY)
		return 0; /* bound by the first write */
	struct store_meta_put m = {CH_URL_META, strlen(CH_URL_META), url, strlen(url)};
	return store_write(s, NULL, 0, &m, 1, NULL);
}

static int open_clickhouse(store_t **out, const char *url, unsigned flags, size_t mapsize)
{
	store_ch_t *c;
	int err = store_ch_open(&c, url);
	if (err != 0)
		return err;
	/* an unreachable server, a wrong password or a missing database is
	 * told before any input is read (/ping asks for no password) */
	err = store_ch_exec(c, "SELECT 1", NULL, 0, NULL, NULL);
	if (err != 0) {
		store_ch_close(c);
		return err;
	}
	const char *dir = store_control_dir();
	struct stat st;
	/* a first lookup creates the control directory too */
	if ((flags & STORE_RDONLY) && stat(dir, &st) != 0 && errno == ENOENT)
		flags &= ~(unsigned)STORE_RDONLY;
	store_t *s = NULL;
	err = store_open(&s, dir, flags, mapsize);
	if (err == 0)
		err = control_bind(s, url, dir);
	char *u = err == 0 ? strdup(url) : NULL;
	if (err == 0 && u == NULL)
		err = -ENOMEM;
	if (err != 0) {
		store_close(s);
		store_ch_close(c);
		return err;
	}
	s->ch = c;
	s->ch_url = u;
	pthread_mutex_init(&s->ch_lock, NULL);
	/* a batch a crash left between its INSERTs and its position */
	err = flags & STORE_RDONLY ? 0 : ch_intent_replay(s);
	if (err != 0) {
		store_close(s);
		return err;
	}
	/* standing pivots run in LMDB writes; on ClickHouse they are a sweep
	 * (watch/sweep.c; docs/scale-out.md, "The watch sweep") */
	store_set_write_hook(s, NULL, NULL);
	*out = s;
	return 0;
}

int store_open_url(store_t **out, const char *spec, unsigned flags, size_t mapsize)
{
	if (strncmp(spec, "clickhouse://", 13) == 0)
		return open_clickhouse(out, spec, flags, mapsize);
	if (strncmp(spec, "lmdb:", 5) == 0)
		spec += 5;
	if (*spec == '\0' || strstr(spec, "://") != NULL) {
		store_set_error("not a store (lmdb:DIR, DIR or clickhouse://HOST:PORT/DATABASE): "
		                "'%.200s'",
		                spec);
		return -EINVAL;
	}
	return store_open(out, spec, flags, mapsize);
}

/* Called by store_close. */
void store_ch_detach(store_t *s)
{
	if (s->ch == NULL)
		return;
	store_ch_close(s->ch);
	free(s->ch_url);
	pthread_mutex_destroy(&s->ch_lock);
	s->ch = NULL;
}

int store_ch_read_begin(store_rtxn_t *r)
{
	r->ch = NULL;
	if (r->s->ch == NULL)
		return 0;
	/* a session per read transaction: a curl handle serves one thread */
	return store_ch_open(&r->ch, r->s->ch_url);
}

void store_ch_read_end(store_rtxn_t *r)
{
	if (r->ch != NULL) {
		ch_cert_mem_release();
		ch_client_mem_release();
	}
	store_ch_close(r->ch);
	r->ch = NULL;
}

int store_ch_session(store_rtxn_t *r, store_ch_t **c)
{
	if (r->ch == NULL)
		return store_ch_unsupported("reading inside a write transaction");
	*c = r->ch;
	return 0;
}

/* The token of a batch's next INSERT: random without a seed, else the
 * seed's n-th (ch_intent.c), so that a batch built again from the same
 * seed is the same bytes. */
static uint64_t next_token(uint64_t seed, uint64_t *n)
{
	return seed == 0 ? store_ch_token() : ch_intent_token(seed, (*n)++);
}

/* The DNS records of one batch, CH_WRITE_CHUNK to an INSERT, each under a
 * new token (a retry inside store_ch_write keeps it). */
static int write_dns(store_t *s, const store_batch_t *b, struct store_obs *obs, uint64_t seed,
                     uint64_t *tn, uint64_t *rows)
{
	int err = 0;
	size_t n = 0;
	for (size_t i = 0; i < b->nrecs && err == 0; i++) {
		rr_rec_obs(b, (const struct brec *)(b->arena + b->recs[i]), &obs[n++]);
		if (n == CH_WRITE_CHUNK || i + 1 == b->nrecs) {
			err = store_ch_write(s->ch, obs, n, next_token(seed, tn), NULL);
			*rows += err == 0 ? n : 0;
			n = 0;
		}
	}
	return err;
}

/* The certificate records of one batch (sightings, metadata, the name and
 * attribute indexes: ch_cert.c), CH_CERT_CHUNK to a store_ch_write, each
 * under a new token as write_dns; scratch holds the metadata of the
 * hashes-only records.  Sightings count as new: the cluster merges them
 * when read. */
static int write_certs(store_t *s, const store_batch_t *b, struct store_obs *obs,
                       struct store_cert_meta *scratch, uint64_t seed, uint64_t *tn,
                       struct store_write_stats *st)
{
	int err = 0;
	size_t n = 0, sightings = 0;
	for (size_t i = 0; i < b->ncerts && err == 0; i++) {
		batch_cert_obs(b, &b->certs[i], &obs[n], &scratch[n]);
		sightings += obs[n++].cert.sighting;
		if (n == CH_CERT_CHUNK || i + 1 == b->ncerts) {
			err = store_ch_write(s->ch, obs, n, next_token(seed, tn), NULL);
			st->sight_new += err == 0 ? sightings : 0;
			n = sightings = 0;
		}
	}
	return err;
}

bool store_ch_control_only(store_batch_t *const *bs, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		if (bs[i]->nrecs + bs[i]->ncerts + bs[i]->nfps + client_batch_len(bs[i]) > 0)
			return false;
	}
	return true;
}

int ch_write_rows(store_t *s, store_batch_t *const *bs, size_t nb, uint64_t seed,
                  struct store_write_stats *st)
{
	struct store_obs *obs = malloc(CH_WRITE_CHUNK * sizeof(*obs));
	struct store_cert_meta *scratch = malloc(CH_CERT_CHUNK * sizeof(*scratch));
	struct store_write_stats local = {0};
	uint64_t tn = 0;
	int err = obs == NULL || scratch == NULL ? -ENOMEM : 0;
	for (size_t i = 0; i < nb && err == 0; i++) {
		err = write_dns(s, bs[i], obs, seed, &tn, &local.dns_new);
		if (err == 0)
			err = write_certs(s, bs[i], obs, scratch, seed, &tn, &local);
		if (err == 0)
			err = ch_fp_write(s->ch, bs[i]);
		local.dns_merged += bs[i]->absorbed;
	}
	if (err == 0)
		err = ch_client_write(s, bs, nb, &local);
	free(scratch);
	free(obs);
	if (err == 0 && st != NULL)
		store_write_stats_add(st, &local);
	return err;
}

int store_ch_write_batches(store_t *s, store_batch_t *const *bs, size_t nb,
                           struct store_write_stats *st)
{
	bool meta = false;
	for (size_t i = 0; i < nb; i++)
		meta = meta || bs[i]->nmeta > 0;
	pthread_mutex_lock(&s->ch_lock);
	/* positions, checkpoints and idempotency records: the three-step
	 * commit (ch_intent.c) */
	int err = meta ? ch_intent_write(s, bs, nb, st) : ch_write_rows(s, bs, nb, 0, st);
	pthread_mutex_unlock(&s->ch_lock);
	return err;
}
