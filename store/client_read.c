/*
 * client_read.c - reading client sightings, the sensor -> organisation
 * and internal-network settings, and retention.
 */
#include <string.h>

#include "store/ch_internal.h"
#include "store/client.h"
#include "store/store_internal.h"
#include "util/be.h"

static int row_dec(const MDB_val *k, const MDB_val *v, struct store_client_row *row, char *name)
{
	const uint8_t *p = k->mv_data;
	size_t n = k->mv_size;
	memset(row, 0, sizeof(*row));
	if (n < 1 + 16 + 3)
		return STORE_ECORRUPT;
	row->dtype = p[0];
	size_t off = 1;
	if (row->dtype == STORE_DEST_DOMAIN) {
		int used = namekey_dec(p + 1, n - 1, name);
		if (used < 0)
			return STORE_ECORRUPT;
		row->name = name;
		off += (size_t)used;
	} else if (row->dtype == STORE_DEST_IP) {
		memcpy(row->ip, p + 1, 16);
		off += 16;
	} else {
		return STORE_ECORRUPT;
	}
	if (n != off + 19)
		return STORE_ECORRUPT;
	memcpy(row->client, p + off, 16);
	row->sensor_id = util_be16_load(p + off + 16);
	row->src = p[off + 18];
	row->klen = k->mv_size;
	row->vlen = v->mv_size;
	return store_client_dec(v->mv_data, v->mv_size, &row->st);
}

/* Walk rows whose key starts with prefix (plen 0: all). */
static int walk(store_rtxn_t *r, const uint8_t *prefix, size_t plen, store_client_cb cb, void *ctx)
{
	if (r->s->no_client)
		return 0;
	int err = 0;
	char name[STORE_NAME_BUF];
	struct scan sc;
	SCAN_FOREACH(&sc, r->txn, r->s->dbi[DB_CLIENT], plen ? MDB_SET_RANGE : MDB_FIRST, MDB_NEXT,
	             plen ? prefix : NULL, plen, plen)
	{
		struct store_client_row row;
		if (row_dec(&sc.k, &sc.v, &row, name) == 0)
			err = cb(&row, ctx);
		if (err != 0)
			break;
	}
	return walk_done(scan_end(&sc, err, "client walk"));
}

static int dest_prefix(uint8_t dtype, const char *name, const uint8_t ip[16], uint8_t *out)
{
	out[0] = dtype;
	if (dtype == STORE_DEST_IP) {
		memcpy(out + 1, ip, 16);
		return 17;
	}
	char norm[STORE_NAME_BUF];
	int err = store_name_norm(name, strlen(name), norm, false);
	if (err != 0)
		return err;
	int n = namekey_enc(norm, out + 1);
	return n < 0 ? n : n + 1;
}

int store_clients_of(store_rtxn_t *r, uint8_t dtype, const char *name, const uint8_t ip[16],
                     store_client_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_clients, r, dtype, name, ip, NULL, 0, cb, ctx);
	uint8_t key[SCHEMA_KEY_MAX];
	int n = dest_prefix(dtype, name, ip, key);
	if (n < 0)
		return n;
	return walk(r, key, (size_t)n, cb, ctx);
}

int ch_client_key_tramp(const struct store_client_row *row, void *ctx)
{
	const struct ch_client_key *k = ctx;
	return k->cb(k->i, row, k->ctx);
}

int store_clients_of_many(store_rtxn_t *r, const struct store_client_dest *dests, size_t n,
                          store_client_key_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_clients_of_many, r, dests, n, cb, ctx);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		struct ch_client_key k = {cb, i, ctx};
		err = store_clients_of(r, dests[i].dtype, dests[i].name, dests[i].ip,
		                       ch_client_key_tramp, &k);
		err = err == STORE_STOP ? 0 : err;
	}
	return err;
}

int store_clients_pair(store_rtxn_t *r, uint8_t dtype, const char *name, const uint8_t ip[16],
                       const uint8_t client[16], uint16_t sensor_id, store_client_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_clients, r, dtype, name, ip, client, sensor_id, cb, ctx);
	uint8_t key[SCHEMA_KEY_MAX];
	int n = dest_prefix(dtype, name, ip, key);
	if (n < 0)
		return n;
	memcpy(key + n, client, 16);
	util_be16_store(key + n + 16, sensor_id);
	return walk(r, key, (size_t)n + 18, cb, ctx);
}

int store_clients_scan(store_rtxn_t *r, store_client_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_clients, r, 0, NULL, NULL, NULL, 0, cb, ctx);
	return walk(r, NULL, 0, cb, ctx);
}

/* ---- settings ---------------------------------------------------------------- */
static int meta_read(store_rtxn_t *r, const void *key, size_t klen, char *out, size_t cap)
{
	MDB_val k = {klen, (void *)key};
	MDB_val v;
	out[0] = '\0';
	if (mdb_get(r->txn, r->s->dbi[DB_META], &k, &v) != 0 || v.mv_size >= cap)
		return STORE_ENOTFOUND;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return 0;
}

void store_sensor_name(store_rtxn_t *r, uint16_t id, char *out)
{
	if (r->ch != NULL && ch_client_sensor_name(id, out))
		return;
	uint8_t ik[3] = {'I', (uint8_t)(id >> 8), (uint8_t)id};
	if (id == 0 || meta_read(r, ik, 3, out, STORE_SENSOR_MAX) != 0)
		out[0] = '\0';
}

void store_sensor_org(store_rtxn_t *r, const char *sensor, char *out)
{
	uint8_t key[STORE_SENSOR_MAX + 1];
	size_t n = strnlen(sensor, STORE_SENSOR_MAX - 1);
	key[0] = 'O';
	memcpy(key + 1, sensor, n);
	if (meta_read(r, key, n + 1, out, STORE_SENSOR_MAX) != 0 || out[0] == '\0')
		memcpy(out, sensor, n + 1);
}

struct kv_put {
	const void *k;
	size_t kl;
	const char *v; /* NULL or "": delete */
};

static int kv_fn(struct store_wtxn *w, void *ctx)
{
	const struct kv_put *p = ctx;
	MDB_val k = {p->kl, (void *)p->k};
	if (p->v == NULL || p->v[0] == '\0') {
		MDB_val v;
		if (w_get(w, DB_META, &k, &v) == 0)
			w_del(w, DB_META, &k, NULL);
		return 0;
	}
	MDB_val v = {strlen(p->v), (void *)p->v};
	w_put(w, DB_META, &k, &v, 0);
	return 0;
}

int store_sensor_org_set(store_t *s, const char *sensor, const char *org)
{
	size_t n = strlen(sensor);
	if (n == 0 || n >= STORE_SENSOR_MAX || (org != NULL && strlen(org) >= STORE_SENSOR_MAX))
		return STORE_ETOOLONG;
	uint8_t key[STORE_SENSOR_MAX + 1];
	key[0] = 'O';
	memcpy(key + 1, sensor, n);
	struct kv_put p = {key, n + 1, org};
	return store_wtxn_run(s, kv_fn, &p);
}

int store_sensors_list(store_rtxn_t *r, store_sensor_cb cb, void *ctx)
{
	int err = 0;
	struct scan sc;
	/* 'I' + be16 id -> sensor name */
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[DB_META], "I", 1, 1)
	{
		if (sc.k.mv_size != 3)
			break;
		char name[STORE_SENSOR_MAX], org[STORE_SENSOR_MAX];
		size_t n = sc.v.mv_size < STORE_SENSOR_MAX ? sc.v.mv_size : STORE_SENSOR_MAX - 1;
		memcpy(name, sc.v.mv_data, n);
		name[n] = '\0';
		store_sensor_org(r, name, org);
		err = cb(name, org, ctx);
		if (err != 0)
			break;
	}
	return walk_done(scan_end(&sc, err, "sensor walk"));
}

#define INTERNAL_KEY "internal_cidrs"

int store_internal_set(store_t *s, const char *cidrs)
{
	if (strlen(cidrs) >= STORE_INTERNAL_MAX)
		return STORE_ETOOLONG;
	struct kv_put p = {INTERNAL_KEY, strlen(INTERNAL_KEY), cidrs};
	return store_wtxn_run(s, kv_fn, &p);
}

void store_internal_get(store_rtxn_t *r, char *out)
{
	meta_read(r, INTERNAL_KEY, strlen(INTERNAL_KEY), out, STORE_INTERNAL_MAX);
}

int store_client_newest(store_rtxn_t *r, int64_t *newest)
{
	STORE_CH_READ(r, store_ch_client_newest, newest);
	MDB_val k = {13, (void *)"client_newest"};
	MDB_val v;
	*newest = 0;
	if (mdb_get(r->txn, r->s->dbi[DB_META], &k, &v) == 0 && v.mv_size == 8)
		memcpy(newest, v.mv_data, 8);
	return 0;
}

/* ---- retention ----------------------------------------------------------------- */
/* The cutoff of the last full scan: the next one waits for a day more of
 * data, so that ingesting every few seconds does not read the whole table
 * each time. */
#define PRUNED_KEY "client_pruned"
#define PRUNE_EVERY 86400

struct prune_ctx {
	int64_t before;
	uint64_t dropped;
};

static int prune_fn(struct store_wtxn *w, void *ctx)
{
	struct prune_ctx *p = ctx;
	p->dropped = 0;
	MDB_val k = {sizeof(PRUNED_KEY) - 1, (void *)PRUNED_KEY};
	MDB_val v;
	int64_t last = INT64_MIN;
	if (w_get(w, DB_META, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&last, v.mv_data, 8);
	if (last != INT64_MIN && p->before < last + PRUNE_EVERY)
		return 0;
	struct scan sc;
	/* after mdb_cursor_del, MDB_NEXT goes on from the item that followed */
	SCAN_ALL(&sc, w->txn, w->s->dbi[DB_CLIENT])
	{
		struct store_client_state st;
		if (store_client_dec(sc.v.mv_data, sc.v.mv_size, &st) != 0 ||
		    st.last_seen < p->before) {
			sc.rc = mdb_cursor_del(sc.cur, 0);
			if (sc.rc != 0)
				break;
			p->dropped++;
		}
	}
	w_scan_end(w, &sc);
	MDB_val nv = {8, &p->before};
	w_put(w, DB_META, &k, &nv, 0);
	return 0;
}

int store_client_prune(store_t *s, int64_t before, uint64_t *dropped)
{
	if (s->ch != NULL) {
		uint64_t n = 0;
		int err = store_ch_client_prune(s->ch, before, &n);
		if (dropped != NULL)
			*dropped = n;
		return err;
	}
	struct prune_ctx p = {before, 0};
	int err = store_wtxn_run(s, prune_fn, &p);
	if (dropped != NULL)
		*dropped = p.dropped;
	return err;
}
