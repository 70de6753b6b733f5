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
#include <time.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

/* The control LMDB's record of the address it serves. */
#define CH_URL_META "clickhouse_url"
/* The bytes a write's INSERT bodies take together by default (ingest
 * sets its share of --memory: store_set_insert_memory). */
#define CH_INSERT_MEMORY ((size_t)64 << 20)
/* The hard limit of one body: the share above is a threshold checked
 * after each observation, so a body may pass it by one observation's rows
 * (a certificate's DER); this catches a runaway. */
#define CH_BODY_MAX ((size_t)1 << 30)

void store_set_insert_memory(store_t *s, size_t bytes)
{
	s->ch_insert_memory = bytes;
}

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

/* The probe's answer kept (docs/scale-out.md, "The probe's answer
 * kept").  A read session's first read-ahead asks whether any row is
 * filed under a SHA-256 reference (store/ch.c, s256_probe), a query on
 * three Distributed tables that costs more server time than any read of
 * a pivot's level.  The answer changes only when such a row is written,
 * so the process keeps it for the sessions that begin within
 * INFRAPIVOT_CH_PROBE_KEEP_MS (default 1000; 0 keeps none) of the session
 * that asked, unless a write went through this store_t since that session
 * began: a write elsewhere (another process, another node) is seen by the
 * sessions that begin after the kept answer's time is up. */
#define PROBE_KEEP_MS 1000

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* INFRAPIVOT_CH_PROBE_KEEP_MS, else the default, into *ms. */
static int probe_keep_ms(uint64_t *ms)
{
	const char *e = getenv("INFRAPIVOT_CH_PROBE_KEEP_MS");
	*ms = PROBE_KEEP_MS;
	if (e == NULL || *e == '\0')
		return 0;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(e, &end, 10);
	if (*e < '0' || *e > '9' || *end != '\0' || errno != 0 || v > 86400000ULL) {
		store_set_error("INFRAPIVOT_CH_PROBE_KEEP_MS: not a number of milliseconds from 0 "
		                "to 86400000: '%.40s'",
		                e);
		return -EINVAL;
	}
	*ms = v;
	return 0;
}

static int open_clickhouse(store_t **out, const char *url, unsigned flags, size_t mapsize)
{
	uint64_t keep;
	int err = probe_keep_ms(&keep);
	store_ch_t *c;
	if (err == 0)
		err = store_ch_open(&c, url);
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
	pthread_mutex_init(&s->ch_memo_lock, NULL);
	s->ch_s256 = -1;
	s->ch_keep_ms = keep;
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
	pthread_mutex_destroy(&s->ch_memo_lock);
	s->ch = NULL;
}

/* The kept answer to the session r, when recent and no write since. */
static void s256_give(store_rtxn_t *r)
{
	store_t *s = r->s;
	r->ch_t0 = now_ms();
	r->ch_given = false;
	pthread_mutex_lock(&s->ch_memo_lock);
	r->ch_wgen = s->ch_wgen;
	if (s->ch_s256 >= 0 && r->ch_t0 - s->ch_s256_ms < s->ch_keep_ms) {
		ch_s256_give(r->ch, s->ch_s256);
		r->ch_given = true;
	}
	pthread_mutex_unlock(&s->ch_memo_lock);
}

/* The session's own answer kept, timed from its beginning, unless a write
 * went through s since then (the answer may be older than its rows). */
static void s256_keep(store_rtxn_t *r)
{
	store_t *s = r->s;
	int v = ch_s256(r->ch);
	if (r->ch_given || v < 0)
		return;
	pthread_mutex_lock(&s->ch_memo_lock);
	if (s->ch_wgen == r->ch_wgen) {
		s->ch_s256 = v;
		s->ch_s256_ms = r->ch_t0;
	}
	pthread_mutex_unlock(&s->ch_memo_lock);
}

void store_ch_wrote(store_t *s)
{
	if (s->ch == NULL)
		return;
	pthread_mutex_lock(&s->ch_memo_lock);
	s->ch_wgen++;
	s->ch_s256 = -1;
	pthread_mutex_unlock(&s->ch_memo_lock);
}

int store_ch_read_begin(store_rtxn_t *r)
{
	r->ch = NULL;
	if (r->s->ch == NULL)
		return 0;
	/* a session per read transaction: a curl handle serves one thread */
	int err = store_ch_open(&r->ch, r->s->ch_url);
	if (err == 0)
		s256_give(r);
	return err;
}

void store_ch_read_end(store_rtxn_t *r)
{
	if (r->ch != NULL) {
		s256_keep(r);
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

/* The INSERTs one write builds: the resolutions' (rr_in) and the
 * certificates' five tables (the watch sweep's log among them), each
 * body sent when it holds CH_INSERT_ROWS rows or its half of the memory
 * share, and at the end.  Few large INSERTs: each one is a part in every
 * replicated table of each shard it touches (the materialized views'
 * too), written through ZooKeeper. */
struct ch_out {
	store_t *s;
	uint64_t seed, tn;
	size_t half; /* bytes of the rr body, and of the cert bodies */
	struct util_buf rr, cert[CH_CERT_TABLES];
	size_t rr_rows, cert_obs, sightings;
	uint64_t rr_token, cert_token;
	struct store_write_stats *st;
};

static void out_init(struct ch_out *o, store_t *s, uint64_t seed, struct store_write_stats *st)
{
	memset(o, 0, sizeof(*o));
	o->s = s;
	o->seed = seed;
	o->st = st;
	o->half = (s->ch_insert_memory ? s->ch_insert_memory : CH_INSERT_MEMORY) / 2;
	util_buf_init(&o->rr, CH_BODY_MAX);
	for (int i = 0; i < CH_CERT_TABLES; i++)
		util_buf_init(&o->cert[i], CH_BODY_MAX);
}

static void out_free(struct ch_out *o)
{
	util_buf_free(&o->rr);
	for (int i = 0; i < CH_CERT_TABLES; i++)
		util_buf_free(&o->cert[i]);
}

static int out_send_rr(struct ch_out *o)
{
	int err = o->rr.err;
	if (err == 0 && o->rr_rows > 0)
		err = ch_insert_retried(o->s->ch, "INSERT INTO rr_in FORMAT RowBinary", &o->rr);
	if (err == 0)
		o->st->dns_new += o->rr_rows;
	o->rr.len = 0;
	o->rr_rows = 0;
	return err;
}

static int out_send_certs(struct ch_out *o)
{
	int err = o->cert_obs > 0 ? ch_cert_send(o->s->ch, o->cert) : 0;
	if (err == 0)
		o->st->sight_new += o->sightings; /* merged when read */
	for (int i = 0; i < CH_CERT_TABLES; i++)
		o->cert[i].len = 0;
	o->cert_obs = o->sightings = 0;
	return err;
}

/* The DNS records of one batch into the rr_in body. */
static int out_dns(struct ch_out *o, const store_batch_t *b)
{
	int err = 0;
	for (size_t i = 0; i < b->nrecs && err == 0; i++) {
		struct store_obs ob;
		rr_rec_obs(b, (const struct brec *)(b->arena + b->recs[i]), &ob);
		if (o->rr_rows == 0)
			o->rr_token = next_token(o->seed, &o->tn);
		ch_rr_row(&o->rr, &ob, o->rr_token);
		if (++o->rr_rows == CH_INSERT_ROWS || o->rr.len >= o->half)
			err = out_send_rr(o);
	}
	return err;
}

static size_t cert_bytes(const struct ch_out *o)
{
	size_t n = 0;
	for (int i = 0; i < CH_CERT_TABLES; i++)
		n += o->cert[i].len;
	return n;
}

/* The certificate records of one batch (sightings, metadata, the name and
 * attribute indexes, the sweep's log: ch_cert.c) into their bodies; one without a hash
 * fails the write before its body is sent. */
static int out_certs(struct ch_out *o, const store_batch_t *b)
{
	int err = 0;
	for (size_t i = 0; i < b->ncerts && err == 0; i++) {
		struct store_obs ob;
		struct store_cert_meta scratch;
		batch_cert_obs(b, &b->certs[i], &ob, &scratch);
		err = ch_cert_check(&ob);
		if (err != 0)
			break;
		if (o->cert_obs == 0)
			o->cert_token = next_token(o->seed, &o->tn);
		ch_cert_rows(o->cert, &ob, o->cert_token, (uint32_t)o->cert_obs);
		o->sightings += ob.cert.sighting;
		if (++o->cert_obs == CH_INSERT_ROWS || cert_bytes(o) >= o->half)
			err = out_send_certs(o);
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
	struct store_write_stats local = {0};
	struct ch_out *o = malloc(sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	out_init(o, s, seed, &local);
	int err = 0;
	for (size_t i = 0; i < nb && err == 0; i++) {
		err = out_dns(o, bs[i]);
		if (err == 0)
			err = out_certs(o, bs[i]);
		if (err == 0)
			err = ch_fp_write(s->ch, bs[i]);
		local.dns_merged += bs[i]->absorbed;
	}
	if (err == 0)
		err = out_send_rr(o);
	if (err == 0)
		err = out_send_certs(o);
	out_free(o);
	free(o);
	if (err == 0)
		err = ch_client_write(s, bs, nb, &local);
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
	store_ch_wrote(s); /* even a failed write may have sent rows */
	return err;
}
