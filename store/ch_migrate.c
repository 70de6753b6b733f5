/*
 * ch_migrate.c - copy an LMDB store's resolutions into a ClickHouse store
 * (`infrapivot migrate`), resumable and safe to retry.
 *
 * The records are read in key order, a chunk at a time, each chunk in a
 * short read transaction.  A chunk's token is a hash of its rows, so a
 * chunk sent again after a failure is the same block and the replicated
 * tables drop it (docs/scale-out.md).  After each chunk the key of its
 * last record is committed in the destination's control LMDB: a run that
 * stopped resumes there, and a finished one sends nothing again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

/* Observations a chunk holds (a record with several sensors takes one
 * each: see add_record). */
#define MIGRATE_CHUNK 8192
#define MIGRATE_KEY "migrate:"

/* The checkpoint: done flag, chunks sent, then the last key sent. */
struct ckpt {
	uint8_t done;
	uint64_t chunks;
	uint8_t key[SCHEMA_KEY_MAX];
	size_t klen;
};

struct chunk {
	struct store_obs *obs;
	size_t n;
	uint64_t records;
	uint8_t last[SCHEMA_KEY_MAX];
	size_t lastlen;
};

static void ckpt_key(const store_t *from, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", MIGRATE_KEY, from->datafile);
}

static int ckpt_get(store_t *to, const char *k, struct ckpt *c)
{
	uint8_t v[1 + 8 + SCHEMA_KEY_MAX];
	size_t n = 0;
	memset(c, 0, sizeof(*c));
	int err = store_meta_get(to, k, strlen(k), v, sizeof(v), &n);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err == 0 && n < 9)
		err = STORE_ECORRUPT;
	if (err != 0)
		return err;
	c->done = v[0];
	memcpy(&c->chunks, v + 1, 8);
	c->klen = n - 9;
	memcpy(c->key, v + 9, c->klen);
	return 0;
}

static int ckpt_put(store_t *to, const char *k, const struct ckpt *c)
{
	uint8_t v[1 + 8 + SCHEMA_KEY_MAX];
	v[0] = c->done;
	memcpy(v + 1, &c->chunks, 8);
	memcpy(v + 9, c->key, c->klen);
	struct store_meta_put m = {k, strlen(k), v, 9 + c->klen};
	return store_write(to, NULL, 0, &m, 1, NULL);
}

/* A record as rows of rr_in: the first carries its times and count with
 * its first sensor, one more row per further sensor with count 0 (the
 * merge takes min/max of equal times and the union of sensors). */
static int add_record(const struct store_rr *rr, const void *key, size_t klen, void *ctx)
{
	struct chunk *ch = ctx;
	if (ch->n + STORE_SENSORS_KEPT > MIGRATE_CHUNK)
		return STORE_STOP;
	unsigned rows = rr->nsensors > 0 ? rr->nsensors : 1;
	for (unsigned i = 0; i < rows; i++) {
		struct store_obs *o = &ch->obs[ch->n++];
		memset(o, 0, sizeof(*o));
		o->kind = STORE_OBS_DNS;
		o->time_first = rr->time_first;
		o->time_last = rr->time_last;
		o->count = i == 0 ? rr->count : 0;
		snprintf(o->sensor, sizeof(o->sensor), "%s",
		         rr->nsensors > 0 ? rr->sensors[i] : "");
		snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", rr->rrname);
		snprintf(o->dns.bailiwick, sizeof(o->dns.bailiwick), "%s", rr->bailiwick);
		o->dns.rrtype = rr->rrtype;
		memcpy(o->dns.addr, rr->addr, 16);
		snprintf(o->dns.rdata, sizeof(o->dns.rdata), "%s", rr->rdata);
	}
	ch->records++;
	memcpy(ch->last, key, klen);
	ch->lastlen = klen;
	return 0;
}

/* The chunk's token: the same rows give the same token. */
static uint64_t chunk_token(const struct chunk *ch)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < ch->n; i++) {
		const struct store_obs *o = &ch->obs[i];
		ch_fnv(&h, o->dns.rrname, strlen(o->dns.rrname) + 1);
		ch_fnv(&h, &o->dns.rrtype, sizeof(o->dns.rrtype));
		ch_fnv(&h, o->dns.addr, 16);
		ch_fnv(&h, o->dns.rdata, strlen(o->dns.rdata) + 1);
		ch_fnv(&h, o->dns.bailiwick, strlen(o->dns.bailiwick) + 1);
		ch_fnv(&h, o->sensor, strlen(o->sensor) + 1);
		ch_fnv(&h, &o->time_first, 8);
		ch_fnv(&h, &o->time_last, 8);
		ch_fnv(&h, &o->count, 8);
	}
	return h != 0 ? h : 1;
}

/* Read the next chunk after c's key. */
static int chunk_read(store_t *from, const struct ckpt *c, struct chunk *ch)
{
	store_rtxn_t *r;
	ch->n = 0;
	ch->records = 0;
	int err = store_read_begin(from, &r);
	if (err != 0)
		return err;
	err = store_rr_scan(r, c->klen > 0 ? c->key : NULL, c->klen, add_record, ch);
	store_read_end(r);
	return err;
}

static int chunk_send(store_t *to, const struct chunk *ch)
{
	pthread_mutex_lock(&to->ch_lock);
	int err = store_ch_write(to->ch, ch->obs, ch->n, chunk_token(ch), NULL);
	pthread_mutex_unlock(&to->ch_lock);
	return err;
}

static int migrate_loop(store_t *from, store_t *to, const char *k, struct ckpt *c,
                        struct store_migrate_stats *st)
{
	struct chunk ch = {.obs = malloc(MIGRATE_CHUNK * sizeof(struct store_obs))};
	if (ch.obs == NULL)
		return -ENOMEM;
	int err = 0;
	for (;;) {
		err = chunk_read(from, c, &ch);
		if (err != 0 || ch.n == 0)
			break;
		err = chunk_send(to, &ch);
		if (err != 0)
			break;
		c->chunks++;
		memcpy(c->key, ch.last, ch.lastlen);
		c->klen = ch.lastlen;
		err = ckpt_put(to, k, c);
		if (err != 0)
			break;
		st->records += ch.records;
		st->rows += ch.n;
		st->chunks++;
	}
	free(ch.obs);
	if (err == 0) {
		c->done = 1;
		err = ckpt_put(to, k, c);
	}
	return err;
}

int store_migrate(store_t *from, store_t *to, struct store_migrate_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (from->ch != NULL || to->ch == NULL) {
		store_set_error("migrate copies an LMDB store into a ClickHouse store");
		return -EINVAL;
	}
	char k[sizeof(MIGRATE_KEY) + sizeof(from->datafile)];
	ckpt_key(from, k, sizeof(k));
	struct ckpt c;
	int err = ckpt_get(to, k, &c);
	if (err != 0)
		return err;
	st->resumed = c.chunks > 0 && !c.done;
	st->already = c.done != 0;
	if (c.done)
		return 0;
	return migrate_loop(from, to, k, &c, st);
}
