/*
 * merge.c - the merge table: a batch that absorbs the batches of many
 * write units, so that one large transaction merges them (ingest's
 * writer thread, docs/write-path.md).  Repeats of a DNS record from one
 * sensor become one record of the table as they arrive: time_first the
 * least, time_last the greatest, counts summed.  The sensor union and the
 * bailiwick are made at commit by rr_put_batches, exactly as when the
 * records came in separate batches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

void merge_reset(store_batch_t *b)
{
	b->absorbed = 0;
	if (b->htab != NULL)
		memset(b->htab, 0, b->hcap * sizeof(*b->htab));
}

/* FNV-1a over the rr key and the sensor slot. */
static size_t rec_hash(const uint8_t *k, size_t n, uint8_t sensor)
{
	uint64_t h = 1469598103934665603ull ^ sensor;
	for (size_t i = 0; i < n; i++) {
		h ^= k[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

/* Room in the index for `more` records (load at most one half). */
static int htab_room(store_batch_t *b, size_t more)
{
	size_t need = (b->nrecs + more) * 2;
	if (need <= b->hcap)
		return 0;
	size_t nc = b->hcap ? b->hcap : 1 << 16;
	while (nc < need)
		nc *= 2;
	uint32_t *nt = calloc(nc, sizeof(*nt));
	if (nt == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct brec *r = (const struct brec *)(b->arena + b->recs[i]);
		size_t j = rec_hash(r->key, r->klen, r->sensor) & (nc - 1);
		while (nt[j] != 0)
			j = (j + 1) & (nc - 1);
		nt[j] = (uint32_t)i + 1;
	}
	free(b->htab);
	b->htab = nt;
	b->hcap = nc;
	return 0;
}

/* Can x take r's observations?  Same key and sensor, and r brings no
 * bailiwick that x lacks (the first one seen is kept, as at commit). */
static bool rec_joins(const struct brec *x, const struct brec *r, uint8_t sensor)
{
	return x->klen == r->klen && x->sensor == sensor && memcmp(x->key, r->key, r->klen) == 0 &&
	       (r->bail_len == 0 || x->bail_len > 0);
}

/* One DNS record of another batch into the table (sensor: its slot in
 * dst).  Room in the index is made by the caller. */
static int absorb_rec(store_batch_t *d, const struct brec *r, uint8_t sensor)
{
	size_t mask = d->hcap - 1;
	size_t i = rec_hash(r->key, r->klen, sensor) & mask;
	for (; d->htab[i] != 0; i = (i + 1) & mask) {
		struct brec *x = (struct brec *)(d->arena + d->recs[d->htab[i] - 1]);
		if (rec_joins(x, r, sensor)) {
			seen_merge(&x->tf, &x->tl, &x->count, r->tf, r->tl, r->count);
			d->absorbed++;
			return 0;
		}
	}
	size_t len = sizeof(struct brec) + r->klen + r->bail_len;
	struct brec *n;
	int err = batch_rec_new(d, (len + 7) & ~(size_t)7, &n);
	if (err != 0)
		return err;
	memcpy(n, r, len);
	n->sensor = sensor;
	n->seq = d->seq++;
	d->htab[i] = (uint32_t)d->nrecs;
	return 0;
}

/* The slots in dst of src's sensors (map[src slot] = dst slot), or
 * STORE_ELIMIT, before anything is absorbed, when dst's table cannot take
 * them all. */
static int sensors_map(store_batch_t *d, const store_batch_t *s, uint8_t *map)
{
	unsigned missing = 0;
	for (unsigned i = 0; i < s->nsensors; i++) {
		unsigned j = 0;
		while (j < d->nsensors && strcmp(d->sensors[j], s->sensors[i]) != 0)
			j++;
		missing += j == d->nsensors;
	}
	if (d->nsensors + missing > BATCH_SENSORS || d->nmeta + s->nmeta > 8)
		return STORE_ELIMIT;
	map[0] = 0;
	for (unsigned i = 0; i < s->nsensors; i++)
		map[i + 1] = (uint8_t)batch_sensor_slot(d, s->sensors[i]);
	return 0;
}

/* src's certificate records, copied. */
static int absorb_certs(store_batch_t *d, const store_batch_t *s)
{
	if (s->ncerts == 0)
		return 0;
	struct store_obs *o = malloc(sizeof(*o));
	struct store_cert_meta *scratch = malloc(sizeof(*scratch));
	int err = o == NULL || scratch == NULL ? -ENOMEM : 0;
	for (size_t i = 0; i < s->ncerts && err == 0; i++) {
		batch_cert_obs(s, &s->certs[i], o, scratch);
		err = store_batch_add(d, o);
	}
	free(o);
	free(scratch);
	return err;
}

bool store_batch_absorbable(const store_batch_t *b)
{
	return client_batch_len(b) == 0 && b->nfps == 0;
}

int store_batch_absorb(store_batch_t *dst, const store_batch_t *src)
{
	if (!store_batch_absorbable(src))
		return STORE_EBADTYPE;
	uint8_t map[BATCH_SENSORS + 1];
	int err = sensors_map(dst, src, map);
	if (err == 0)
		err = htab_room(dst, src->nrecs);
	for (size_t i = 0; i < src->nrecs && err == 0; i++) {
		const struct brec *r = (const struct brec *)(src->arena + src->recs[i]);
		err = absorb_rec(dst, r, map[r->sensor]);
	}
	if (err == 0)
		err = absorb_certs(dst, src);
	for (size_t i = 0; i < src->nmeta && err == 0; i++)
		err = store_batch_meta(dst, &src->meta[i]);
	return err;
}

size_t store_batch_bytes(const store_batch_t *b)
{
	size_t certs = b->ncerts * sizeof(struct bcert);
	for (size_t i = 0; i < b->ncerts; i++)
		if (b->certs[i].full != NULL) /* rare: metadata */
			certs += sizeof(*b->certs[i].full) + b->certs[i].full->der_len;
	/* what is in use: the arena and lists grow by doubling, and only the
	 * pages written count in RSS */
	return b->alen + b->nrecs * sizeof(uint32_t) + b->hcap * sizeof(uint32_t) + certs;
}
