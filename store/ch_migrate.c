/*
 * ch_migrate.c - copy an LMDB store into a ClickHouse store (`infrapivot
 * migrate`), resumable and safe to retry: resolutions, then certificates
 * (metadata, then sightings), server fingerprints and client sightings.
 *
 * Each kind is a phase walking one LMDB table in key order, a chunk at a
 * time, each chunk in a short read transaction.  A chunk's token is a hash
 * of what it read, so a chunk sent again after a failure is the same
 * block and the replicated tables drop it (docs/scale-out.md).  After each
 * chunk the key of its last record is committed in the destination's
 * control LMDB, one checkpoint a phase: a run that stopped resumes there,
 * and a finished phase sends nothing again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"

/* Observations a chunk holds (a record with several sensors takes one
 * each: see add_record). */
#define MIGRATE_CHUNK 8192
/* Certificates a chunk holds (each with a 4 KiB metadata struct and its
 * DER, read in place), and sightings (a struct each for its hashes). */
#define MIGRATE_CERTS 512
#define MIGRATE_SIGHTS 2048
#define MIGRATE_KEY "migrate:"
#define FPSIGHT_KLEN (64 + 18) /* fp.c: u8 type, hash padded to 63, IP, be16 port */
#define FPVAL_LEN 16           /* u32 first, u32 last, u64 count */

/* The checkpoint: done flag, chunks sent, then the last key sent. */
struct ckpt {
	uint8_t done;
	uint64_t chunks;
	uint8_t key[SCHEMA_KEY_MAX];
	size_t klen;
};

struct chunk {
	struct store_obs *obs; /* resolutions and certificates */
	size_t n;
	struct store_cert_meta *metas; /* a certificate's metadata or hashes */
	size_t nmeta;
	struct store_cert_ref ref; /* the certificate of metas[nmeta - 1] */
	struct util_buf raw;       /* fingerprint and client rows, tokens at offs */
	size_t *offs;
	size_t nrows;
	uint64_t records, h; /* records read, FNV-1a of their keys and values */
	uint8_t last[SCHEMA_KEY_MAX];
	size_t lastlen;
};

/* A kind of record: the LMDB table walked and what a record becomes. */
struct phase {
	const char *tag; /* the checkpoint key: MIGRATE_KEY tag path */
	int db;
	/* add the record k/v to the chunk; STORE_STOP when it is full */
	int (*add)(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, struct chunk *ch);
	const char *insert; /* raw rows' INSERT, NULL: observations */
	size_t stat;        /* its counter in struct store_migrate_stats */
};

static void ckpt_key(const store_t *from, const struct phase *ph, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", MIGRATE_KEY, ph->tag, from->datafile);
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
	uint64_t h = UTIL_FNV64_INIT;
	for (size_t i = 0; i < ch->n; i++) {
		const struct store_obs *o = &ch->obs[i];
		h = util_fnv64(h, o->dns.rrname, strlen(o->dns.rrname) + 1);
		h = util_fnv64(h, &o->dns.rrtype, sizeof(o->dns.rrtype));
		h = util_fnv64(h, o->dns.addr, 16);
		h = util_fnv64(h, o->dns.rdata, strlen(o->dns.rdata) + 1);
		h = util_fnv64(h, o->dns.bailiwick, strlen(o->dns.bailiwick) + 1);
		h = util_fnv64(h, o->sensor, strlen(o->sensor) + 1);
		h = util_fnv64(h, &o->time_first, 8);
		h = util_fnv64(h, &o->time_last, 8);
		h = util_fnv64(h, &o->count, 8);
	}
	return h != 0 ? h : 1;
}

/* ---- certificates, fingerprints, client sightings --------------------- */

/* A certificate's metadata (or its hashes alone) as one observation: the
 * cluster's cert, name_cert and cert_attr rows. */
static int add_cert(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, struct chunk *ch)
{
	(void)v;
	if (ch->n >= MIGRATE_CERTS)
		return STORE_STOP;
	if (k->mv_size != SCHEMA_CERTREF_LEN)
		return STORE_ECORRUPT;
	struct store_cert_ref ref;
	struct store_cert_info in;
	certref_dec(k->mv_data, &ref);
	int err = store_cert_get(r, &ref, &in);
	if (err != 0)
		return err;
	struct store_cert_meta *m = &ch->metas[ch->nmeta++];
	struct store_obs *o = &ch->obs[ch->n++];
	memset(o, 0, sizeof(*o));
	memset(m, 0, sizeof(*m));
	o->kind = STORE_OBS_CERT;
	o->cert.has_meta = in.has_meta;
	o->cert.meta = m;
	m->has_sha1 = in.has_sha1;
	m->has_sha256 = in.has_sha256;
	memcpy(m->sha1, in.sha1, 20);
	memcpy(m->sha256, in.sha256, 32);
	snprintf(m->subject, sizeof(m->subject), "%s", in.subject);
	snprintf(m->issuer, sizeof(m->issuer), "%s", in.issuer);
	snprintf(m->serial, sizeof(m->serial), "%s", in.serial);
	m->not_before = in.not_before;
	m->not_after = in.not_after;
	m->san_dns_len = in.san_dns_len < sizeof(m->san_dns) ? in.san_dns_len : sizeof(m->san_dns);
	memcpy(m->san_dns, in.san_dns, m->san_dns_len);
	m->san_ip_len = in.san_ip_len < sizeof(m->san_ip) ? in.san_ip_len : sizeof(m->san_ip);
	memcpy(m->san_ip, in.san_ip, m->san_ip_len);
	m->der = (uint8_t *)in.der; /* LMDB's memory: the chunk is sent inside the read */
	m->der_len = in.der != NULL ? in.der_len : 0;
	m->has_key = store_cert_key(r, &ref, m->key) == 0;
	return 0;
}

/* A sighting as rows of sight_in: the first with its times and count,
 * first sensor and SNI name, one more with count 0 per further sensor or
 * name (the merge unions them).  Rows of one certificate share its
 * hashes. */
static int sight_rows(const struct store_sighting *s, void *ctx)
{
	struct chunk *ch = ctx;
	struct store_cert_meta *m = ch->nmeta > 0 ? &ch->metas[ch->nmeta - 1] : NULL;
	if (m == NULL || memcmp(&ch->ref, &s->ref, sizeof(s->ref)) != 0) {
		ch->ref = s->ref;
		m = &ch->metas[ch->nmeta++];
		memset(m, 0, sizeof(*m));
		m->has_sha1 = s->ref.kind == 1;
		m->has_sha256 = s->ref.kind != 1;
		memcpy(s->ref.kind == 1 ? m->sha1 : m->sha256, s->ref.hash,
		       s->ref.kind == 1 ? 20 : 32);
	}
	unsigned rows = s->nsensors > s->nsni ? s->nsensors : s->nsni;
	for (unsigned i = 0; i < (rows > 0 ? rows : 1); i++) {
		struct store_obs *o = &ch->obs[ch->n++];
		memset(o, 0, sizeof(*o));
		o->kind = STORE_OBS_CERT;
		o->time_first = s->time_first;
		o->time_last = s->time_last;
		o->count = i == 0 ? s->count : 0;
		snprintf(o->sensor, sizeof(o->sensor), "%s", i < s->nsensors ? s->sensors[i] : "");
		o->cert.sighting = true;
		memcpy(o->cert.ip, s->ip, 16);
		o->cert.port = s->port;
		snprintf(o->cert.sni, sizeof(o->cert.sni), "%s", i < s->nsni ? s->sni[i] : "");
		o->cert.meta = m;
	}
	return 0;
}

static int add_sight(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, struct chunk *ch)
{
	if (ch->n + STORE_SENSORS_KEPT + STORE_SNI_KEPT > MIGRATE_CHUNK ||
	    ch->nmeta >= MIGRATE_SIGHTS)
		return STORE_STOP;
	if (k->mv_size != SCHEMA_CERTREF_LEN + 18)
		return STORE_ECORRUPT;
	return sight_emit(r, k, v, sight_rows, ch);
}

static int add_fp(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, struct chunk *ch)
{
	(void)r;
	if (ch->nrows >= MIGRATE_CHUNK)
		return STORE_STOP;
	if (k->mv_size != FPSIGHT_KLEN || v->mv_size != FPVAL_LEN)
		return STORE_ECORRUPT;
	uint32_t tf, tl;
	uint64_t count;
	memcpy(&tf, v->mv_data, 4);
	memcpy(&tl, (const uint8_t *)v->mv_data + 4, 4);
	memcpy(&count, (const uint8_t *)v->mv_data + 8, 8);
	ch->offs[ch->nrows++] = ch->raw.len;
	ch_fp_row(&ch->raw, 0, k->mv_data, tf, tl, count);
	return ch->raw.err;
}

/* A client pair's state as it is, at version 0: an ingest's next write of
 * the pair reads it and goes on at 1 (docs/scale-out.md, "migrate"). */
static int add_client(store_rtxn_t *r, const MDB_val *k, const MDB_val *v, struct chunk *ch)
{
	if (ch->nrows >= MIGRATE_CHUNK)
		return STORE_STOP;
	const uint8_t *kp = k->mv_data;
	if (k->mv_size < 20)
		return STORE_ECORRUPT;
	uint16_t sid = util_be16_load(kp + k->mv_size - 3);
	ch->offs[ch->nrows++] = ch->raw.len;
	int err = ch_client_row(&ch->raw, 0, kp, k->mv_size,
	                        sid != 0 ? sensor_name(r->txn, r->s, sid) : "", v->mv_data,
	                        v->mv_size, 0);
	return err != 0 ? err : ch->raw.err;
}

static const struct phase phases[] = {
    {"", DB_RR, NULL, NULL, offsetof(struct store_migrate_stats, records)},
    {"cert:", DB_CERT, add_cert, NULL, offsetof(struct store_migrate_stats, certs)},
    {"sight:", DB_SIGHT, add_sight, NULL, offsetof(struct store_migrate_stats, sightings)},
    {"fp:", DB_FPSIGHT, add_fp, "INSERT INTO fp_in FORMAT RowBinary",
     offsetof(struct store_migrate_stats, fps)},
    {"client:", DB_CLIENT, add_client,
     "INSERT INTO client (blk, pk, dtype, dest, client, sensor, src, ver, first_seen, "
     "last_seen, cnt, state) FORMAT RowBinary",
     offsetof(struct store_migrate_stats, clients)},
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

/* ---- the walk ------------------------------------------------------------ */

/* Fill ch with the records of ph's table after c's key. */
static int walk_table(store_rtxn_t *r, const struct phase *ph, const struct ckpt *c,
                      struct chunk *ch)
{
	if ((ph->db == DB_CLIENT && r->s->no_client) || (ph->db == DB_FPSIGHT && r->s->no_keys))
		return 0; /* a database from before the table, opened read-only */
	struct scan sc;
	int ret = 0;
	SCAN_FOREACH(&sc, r->txn, r->s->dbi[ph->db], c->klen > 0 ? MDB_SET_RANGE : MDB_FIRST,
	             MDB_NEXT, c->klen > 0 ? c->key : NULL, c->klen, 0)
	{
		if (c->klen > 0 && sc.k.mv_size == c->klen &&
		    memcmp(sc.k.mv_data, c->key, c->klen) == 0)
			continue;
		if (sc.k.mv_size > SCHEMA_KEY_MAX)
			ret = STORE_ECORRUPT;
		if (ret == 0)
			ret = ph->add(r, &sc.k, &sc.v, ch);
		if (ret != 0)
			break;
		ch->h = util_fnv64(ch->h, sc.k.mv_data, sc.k.mv_size);
		ch->h = util_fnv64(ch->h, sc.v.mv_data, sc.v.mv_size);
		memcpy(ch->last, sc.k.mv_data, sc.k.mv_size);
		ch->lastlen = sc.k.mv_size;
		ch->records++;
	}
	ret = scan_end(&sc, ret, "migrate");
	return ret == STORE_STOP ? 0 : ret;
}

static int chunk_send(store_t *to, const struct phase *ph, struct chunk *ch)
{
	uint64_t token = ph->add == NULL ? chunk_token(ch) : ch->h != 0 ? ch->h : 1;
	int err;
	pthread_mutex_lock(&to->ch_lock);
	if (ph->insert == NULL) {
		err = store_ch_write(to->ch, ch->obs, ch->n, token, NULL);
	} else {
		for (size_t i = 0; i < ch->nrows; i++)
			for (int b = 0; b < 8; b++)
				((uint8_t *)ch->raw.p)[ch->offs[i] + b] =
				    (uint8_t)(token >> (8 * b));
		err = ch_insert_retried(to->ch, ph->insert, &ch->raw);
	}
	pthread_mutex_unlock(&to->ch_lock);
	store_ch_wrote(to);
	return err;
}

/* Read the next chunk after c's key and send it, inside one read (a
 * certificate's DER is LMDB's memory). */
static int chunk_next(store_t *from, store_t *to, const struct phase *ph, const struct ckpt *c,
                      struct chunk *ch)
{
	ch->n = ch->nmeta = ch->nrows = 0;
	ch->records = 0;
	ch->h = UTIL_FNV64_INIT;
	ch->raw.len = 0;
	store_rtxn_t *r;
	int err = store_read_begin(from, &r);
	if (err != 0)
		return err;
	if (ph->add == NULL)
		err = store_rr_scan(r, c->klen > 0 ? c->key : NULL, c->klen, add_record, ch);
	else
		err = walk_table(r, ph, c, ch);
	if (err == 0 && ch->records > 0)
		err = chunk_send(to, ph, ch);
	store_read_end(r);
	return err;
}

static int migrate_phase(store_t *from, store_t *to, const struct phase *ph, const char *k,
                         struct ckpt *c, struct chunk *ch, struct store_migrate_stats *st)
{
	int err = 0;
	uint64_t *count = (uint64_t *)((char *)st + ph->stat);
	for (;;) {
		err = chunk_next(from, to, ph, c, ch);
		if (err != 0 || ch->records == 0)
			break;
		c->chunks++;
		memcpy(c->key, ch->last, ch->lastlen);
		c->klen = ch->lastlen;
		err = ckpt_put(to, k, c);
		if (err != 0)
			break;
		*count += ch->records;
		st->rows += ch->n + ch->nrows;
		st->chunks++;
	}
	if (err == 0) {
		c->done = 1;
		err = ckpt_put(to, k, c);
	}
	return err;
}

static int migrate_all(store_t *from, store_t *to, struct store_migrate_stats *st)
{
	struct chunk ch = {.obs = malloc(MIGRATE_CHUNK * sizeof(struct store_obs)),
	                   .metas = malloc(MIGRATE_SIGHTS * sizeof(struct store_cert_meta)),
	                   .offs = malloc(MIGRATE_CHUNK * sizeof(size_t))};
	util_buf_init(&ch.raw, (size_t)256 << 20);
	int err = ch.obs == NULL || ch.metas == NULL || ch.offs == NULL ? -ENOMEM : 0;
	bool all_done = true, some_done = false;
	for (size_t i = 0; i < NPHASES && err == 0; i++) {
		char k[sizeof(MIGRATE_KEY) + 16 + sizeof(from->datafile)];
		ckpt_key(from, &phases[i], k, sizeof(k));
		struct ckpt c;
		err = ckpt_get(to, k, &c);
		some_done |= err == 0 && c.done;
		if (err != 0 || c.done)
			continue;
		all_done = false;
		st->resumed |= c.chunks > 0 || some_done;
		err = migrate_phase(from, to, &phases[i], k, &c, &ch, st);
	}
	st->already = err == 0 && all_done;
	util_buf_free(&ch.raw);
	free(ch.offs);
	free(ch.metas);
	free(ch.obs);
	return err;
}

int store_migrate(store_t *from, store_t *to, struct store_migrate_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (from->ch != NULL || to->ch == NULL) {
		store_set_error("migrate copies an LMDB store into a ClickHouse store");
		return -EINVAL;
	}
	return migrate_all(from, to, st);
}
