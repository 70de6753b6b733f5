/*
 * ch_client.c - the estate's client sightings on ClickHouse (the client
 * table of store/clickhouse/schema.sql; docs/estate.md, docs/scale-out.md).
 *
 * Writing: a pair's merge is order-dependent (the gap from one batch's
 * last contact to the next one's first, out-of-order contacts, histograms
 * folding past their cap), so the writer reads each pair's newest state,
 * folds the batch's sightings in with the LMDB store's code
 * (client_batch_pairs, client_pair_fold) and inserts the result at
 * ver + 1: the state is LMDB's, byte for byte.  Reading: argMax(state, ver)
 * per pair, in the LMDB store's key order (destination, client, sensor id,
 * source), the sensor ids those of the control LMDB.  Each query also
 * reads the cutoff row (ch_client_cut.c): a pair that retention dropped
 * is skipped by readers and started afresh by the writer, whether or not
 * the cluster has deleted its rows yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/client.h"
#include "store/store_internal.h"
#include "util/hex.h"

#define CLIENT_CHUNK 4096 /* pairs per SELECT and INSERT */
#define CLIENT_SLOTS 8192 /* the chunk's pk index (a power of two > CLIENT_CHUNK) */
#define CLIENT_COLUMNS "dtype, dest, client, sensor, src, argMax(state, ver), max(ver)"
#define CLIENT_GROUP " GROUP BY dtype, dest, client, sensor, src"
/* and the cutoff row, first in dtype order */
#define CLIENT_CUT " OR dtype = 0"
/* a SELECT naming a chunk's pairs is longer than the default 256 KiB */
#define CLIENT_SETTINGS "wait_end_of_query=1&max_query_size=16777216"
#define CLIENT_INSERT                                                                              \
	"INSERT INTO client (blk, pk, dtype, dest, client, sensor, src, ver, first_seen, "         \
	"last_seen, cnt, state) FORMAT RowBinary"
/* ids for sensors the control LMDB does not know (written through
 * another node): 0xFF00 + i, for the read that met them */
#define SENSOR_SYNTH 0xFF00u
#define SENSOR_SYNTH_MAX 255u

/* One row of CLIENT_COLUMNS; state points into the response. */
struct craw {
	uint8_t dtype, src;
	char dest[STORE_NAME_BUF];
	uint8_t client[16];
	char sensor[STORE_SENSOR_MAX];
	const uint8_t *state;
	size_t slen;
	uint64_t ver;
};

static void rd_craw(struct ch_rb_in *r, struct craw *x)
{
	x->dtype = (uint8_t)ch_rd_uint(r, 1);
	ch_rd_str(r, x->dest, sizeof(x->dest));
	ch_rd_fixed(r, x->client, 16);
	ch_rd_str(r, x->sensor, sizeof(x->sensor));
	x->src = (uint8_t)ch_rd_uint(r, 1);
	uint64_t n = ch_rd_varint(r);
	if (r->bad || n > STORE_CLIENT_VAL_MAX || n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return;
	}
	x->state = r->p;
	x->slen = (size_t)n;
	r->p += n;
	x->ver = ch_rd_uint(r, 8);
}

/* The table's pk: a hash of the pair's key columns. */
static uint64_t craw_pk(const struct craw *x)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = util_fnv64(h, &x->dtype, 1);
	h = util_fnv64(h, x->dest, strlen(x->dest) + 1);
	h = util_fnv64(h, x->client, 16);
	h = util_fnv64(h, x->sensor, strlen(x->sensor) + 1);
	h = util_fnv64(h, &x->src, 1);
	return h;
}

static bool craw_same(const struct craw *a, const struct craw *b)
{
	return a->dtype == b->dtype && a->src == b->src && strcmp(a->dest, b->dest) == 0 &&
	       memcmp(a->client, b->client, 16) == 0 && strcmp(a->sensor, b->sensor) == 0;
}

/* ---- writing ------------------------------------------------------------- */

/* The batches' sensors with their ids in the control LMDB, assigned there
 * in the order the LMDB store assigns them (so both stores number alike). */
struct stab {
	store_batch_t *const *bs;
	size_t nb;
	const char **name;
	uint16_t *id;
	size_t n;
};

static int stab_fn(struct store_wtxn *w, void *ctx)
{
	struct stab *t = ctx;
	t->n = 0;
	for (size_t i = 0; i < t->nb; i++) {
		for (unsigned k = 0; k < t->bs[i]->nsensors; k++) {
			const char *name = t->bs[i]->sensors[k];
			int err = sensor_id(w, name, &t->id[t->n]);
			if (err != 0)
				return err;
			t->name[t->n++] = name;
		}
	}
	return 0;
}

static int stab_sid(void *ctx, const char *sensor, uint16_t *id)
{
	const struct stab *t = ctx;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->name[i], sensor) == 0) {
			*id = t->id[i];
			return 0;
		}
	}
	return STORE_ENOTFOUND;
}

static const char *stab_name(const struct stab *t, uint16_t id)
{
	for (size_t i = 0; i < t->n && id != 0; i++)
		if (t->id[i] == id)
			return t->name[i];
	return "";
}

struct cpair {
	struct client_pair p;
	struct craw k;
	uint64_t pk;
	const uint8_t *old; /* its newest state in the response, NULL when none */
	size_t oldlen;
	uint64_t ver;
};

struct cw {
	store_ch_t *c;
	const struct stab *tab;
	struct store_write_stats *st;
	struct cpair *pairs;
	size_t n;
	uint32_t *slots; /* pk index: pair + 1, 0 empty */
	int64_t cut;     /* the retention cutoff in force (CH_CUT_NONE) */
};

static void pair_key_cols(const char *sensor, const struct client_pair *p, struct craw *k)
{
	memset(k, 0, sizeof(*k));
	k->dtype = p->key[0];
	if (k->dtype == STORE_DEST_IP) {
		util_hex_encode(p->key + 1, 16, k->dest);
	} else {
		char name[STORE_NAME_BUF];
		if (namekey_dec(p->key + 1, p->dlen - 1, name) < 0)
			name[0] = '\0';
		ch_name_rev(name, k->dest);
	}
	memcpy(k->client, p->key + p->dlen, 16);
	snprintf(k->sensor, sizeof(k->sensor), "%s", sensor);
	k->src = p->key[p->dlen + 18];
}

/* The chunk's pairs' newest states: one SELECT by destination (the
 * table's key) and pk. */
static int chunk_select(struct cw *w, struct util_buf *resp)
{
	struct util_buf q;
	util_buf_init(&q, (size_t)32 << 20);
	util_buf_adds(&q, "SELECT " CLIENT_COLUMNS " FROM client WHERE dest IN (");
	for (size_t i = 0; i < w->n; i++) {
		if (i > 0)
			util_buf_adds(&q, ",");
		ch_sql_str(&q, w->pairs[i].k.dest);
	}
	util_buf_adds(&q, ") AND pk IN (");
	for (size_t i = 0; i < w->n; i++)
		util_buf_printf(&q, "%s%llu", i > 0 ? "," : "", (unsigned long long)w->pairs[i].pk);
	util_buf_adds(&q, ")" CLIENT_CUT CLIENT_GROUP " FORMAT RowBinary");
	util_buf_init(resp, STORE_CH_RESPONSE_MAX);
	int err = q.err;
	if (err == 0)
		err = store_ch_exec(w->c, q.p, NULL, 0, CLIENT_SETTINGS, resp);
	util_buf_free(&q);
	return err;
}

/* Hand each answered row to its pair (by pk, then the whole key). */
static int chunk_match(struct cw *w, const struct util_buf *resp)
{
	struct ch_rb_in r = {(const uint8_t *)resp->p, (const uint8_t *)resp->p + resp->len, false};
	while (r.p < r.end && !r.bad) {
		struct craw x;
		rd_craw(&r, &x);
		if (r.bad)
			break;
		if (x.dtype == CH_CUT_DTYPE) {
			w->cut = ch_cut_of_ver(x.ver);
			continue;
		}
		uint64_t pk = craw_pk(&x);
		for (size_t s = pk & (CLIENT_SLOTS - 1); w->slots[s] != 0;
		     s = (s + 1) & (CLIENT_SLOTS - 1)) {
			struct cpair *cp = &w->pairs[w->slots[s] - 1];
			if (cp->pk == pk && craw_same(&cp->k, &x)) {
				cp->old = x.state;
				cp->oldlen = x.slen;
				cp->ver = x.ver;
				break;
			}
		}
	}
	return r.bad ? ch_corrupt() : 0;
}

/* One row of CLIENT_INSERT: a pair's state val (CLIVAL) at version ver. */
static void row_cols(struct util_buf *b, uint64_t token, const struct craw *k, uint64_t ver,
                     const struct store_client_state *st, const uint8_t *val, size_t vl)
{
	ch_rb_uint(b, token, 8);
	ch_rb_uint(b, craw_pk(k), 8);
	ch_rb_uint(b, k->dtype, 1);
	ch_rb_str(b, k->dest);
	util_buf_add(b, k->client, 16);
	ch_rb_str(b, k->sensor);
	ch_rb_uint(b, k->src, 1);
	ch_rb_uint(b, ver, 8);
	ch_rb_uint(b, ch_clamp_u32(st->first_seen), 4);
	ch_rb_uint(b, ch_clamp_u32(st->last_seen), 4);
	ch_rb_uint(b, st->count, 8);
	ch_rb_bytes(b, val, vl);
}

static void insert_row(struct util_buf *b, const struct cpair *cp,
                       const struct store_client_state *st, uint64_t token, int64_t cut)
{
	uint8_t val[STORE_CLIENT_VAL_MAX];
	size_t vl = store_client_enc(st, val);
	row_cols(b, token, &cp->k, ch_client_ver(cp->old != NULL ? cp->ver : 0, cut), st, val, vl);
}

int ch_client_cut_put(store_ch_t *c, int64_t cut)
{
	struct craw k;
	memset(&k, 0, sizeof(k));
	k.dtype = CH_CUT_DTYPE;
	struct store_client_state st;
	memset(&st, 0, sizeof(st));
	struct util_buf b;
	util_buf_init(&b, 4096);
	row_cols(&b, store_ch_token(), &k, ch_cut_ver(cut), &st, (const uint8_t *)"", 0);
	int err = b.err != 0 ? b.err : ch_insert_retried(c, CLIENT_INSERT, &b);
	util_buf_free(&b);
	return err;
}

int ch_client_row(struct util_buf *b, uint64_t token, const uint8_t *key, size_t klen,
                  const char *sensor, const uint8_t *val, size_t vlen, uint64_t ver)
{
	struct store_client_state st;
	struct client_pair p = {.klen = klen};
	if (klen < 1 + 2 + 19 || klen > sizeof(p.key) || store_client_dec(val, vlen, &st) != 0)
		return STORE_ECORRUPT;
	memcpy(p.key, key, klen);
	p.dlen = klen - 19;
	struct craw k;
	pair_key_cols(sensor, &p, &k);
	row_cols(b, token, &k, ver, &st, val, vlen);
	return 0;
}

/* Fold each pair's sightings into its newest state and insert them all,
 * under one token (a retry is the same bytes). */
static int chunk_insert(struct cw *w)
{
	struct util_buf b;
	util_buf_init(&b, (size_t)64 << 20);
	uint64_t token = store_ch_token(), created = 0, merged = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct cpair *cp = &w->pairs[i];
		struct store_client_state st;
		/* a pair retention dropped starts afresh, as on LMDB */
		if (cp->old == NULL || store_client_dec(cp->old, cp->oldlen, &st) != 0 ||
		    ch_client_dropped(st.last_seen, cp->ver, w->cut)) {
			store_client_state_init(&st);
			created++;
		}
		client_pair_fold(&cp->p, &st);
		merged += cp->p.n;
		insert_row(&b, cp, &st, token, w->cut);
	}
	int err = b.err != 0 ? b.err : ch_insert_retried(w->c, CLIENT_INSERT, &b);
	util_buf_free(&b);
	if (err == 0 && w->st != NULL) {
		w->st->clients += merged;
		w->st->client_pairs_new += created;
	}
	return err;
}

static int chunk_flush(struct cw *w)
{
	if (w->n == 0)
		return 0;
	memset(w->slots, 0, CLIENT_SLOTS * sizeof(*w->slots));
	for (size_t i = 0; i < w->n; i++) {
		size_t s = w->pairs[i].pk & (CLIENT_SLOTS - 1);
		while (w->slots[s] != 0)
			s = (s + 1) & (CLIENT_SLOTS - 1);
		w->slots[s] = (uint32_t)i + 1;
	}
	struct util_buf resp;
	int err = chunk_select(w, &resp);
	if (err == 0)
		err = chunk_match(w, &resp);
	if (err == 0)
		err = chunk_insert(w); /* reads the old states in resp */
	util_buf_free(&resp);
	w->n = 0;
	return err;
}

static int pair_cb(void *ctx, const struct client_pair *p)
{
	struct cw *w = ctx;
	struct cpair *cp = &w->pairs[w->n++];
	cp->p = *p;
	pair_key_cols(stab_name(w->tab, p->sid), p, &cp->k);
	cp->pk = craw_pk(&cp->k);
	cp->old = NULL;
	cp->oldlen = 0;
	cp->ver = 0;
	return w->n == CLIENT_CHUNK ? chunk_flush(w) : 0;
}

int ch_client_write(store_t *s, store_batch_t *const *bs, size_t nb, struct store_write_stats *st)
{
	size_t total = 0, ns = 0;
	for (size_t i = 0; i < nb; i++) {
		total += client_batch_len(bs[i]);
		ns += bs[i]->nsensors;
	}
	if (total == 0)
		return 0;
	struct stab tab = {bs, nb, calloc(ns + 1, sizeof(char *)), calloc(ns + 1, 2), 0};
	struct cw w = {s->ch,      &tab,
	               st,         malloc(CLIENT_CHUNK * sizeof(struct cpair)),
	               0,          malloc(CLIENT_SLOTS * sizeof(uint32_t)),
	               CH_CUT_NONE};
	int err = tab.name == NULL || tab.id == NULL || w.pairs == NULL || w.slots == NULL
	              ? -ENOMEM
	              : store_wtxn_run(s, stab_fn, &tab);
	if (err == 0)
		err = client_batch_pairs(s, bs, nb, stab_sid, &tab, pair_cb, &w);
	if (err == 0)
		err = chunk_flush(&w);
	free(w.slots);
	free(w.pairs);
	free(tab.id);
	free(tab.name);
	return err;
}

/* ---- reading -------------------------------------------------------------- */

static _Thread_local char synth[SENSOR_SYNTH_MAX][STORE_SENSOR_MAX];
static _Thread_local unsigned nsynth;

bool ch_client_sensor_name(uint16_t id, char out[STORE_SENSOR_MAX])
{
	if (id < SENSOR_SYNTH || id - SENSOR_SYNTH >= nsynth)
		return false;
	memcpy(out, synth[id - SENSOR_SYNTH], STORE_SENSOR_MAX);
	return true;
}

void ch_client_mem_release(void)
{
	nsynth = 0;
}

/* A sensor's id in the control LMDB; one it does not know gets an id of
 * this thread's read. */
static uint16_t sensor_sid(store_rtxn_t *r, const char *name)
{
	size_t nl = strlen(name);
	if (nl == 0)
		return 0;
	uint8_t kb[STORE_SENSOR_MAX + 1];
	kb[0] = 'S';
	memcpy(kb + 1, name, nl);
	MDB_val k = {nl + 1, kb};
	MDB_val v;
	uint16_t id;
	if (mdb_get(r->txn, r->s->dbi[DB_META], &k, &v) == 0 && v.mv_size == 2) {
		memcpy(&id, v.mv_data, 2);
		return id;
	}
	for (unsigned i = 0; i < nsynth; i++)
		if (strcmp(synth[i], name) == 0)
			return (uint16_t)(SENSOR_SYNTH + i);
	if (nsynth == SENSOR_SYNTH_MAX)
		return 0;
	memcpy(synth[nsynth], name, nl + 1);
	return (uint16_t)(SENSOR_SYNTH + nsynth++);
}

/* A row of one destination, to be put in the LMDB key order. */
struct centry {
	uint8_t client[16];
	uint16_t sid;
	uint8_t src;
	const uint8_t *row;
};

static int centry_cmp(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	int c = memcmp(x->client, y->client, 16);
	if (c != 0)
		return c;
	if (x->sid != y->sid)
		return x->sid < y->sid ? -1 : 1;
	return (x->src > y->src) - (x->src < y->src);
}

struct cread {
	const uint8_t *end;
	struct centry *e;
	size_t n, cap;
	store_client_cb cb;
	void *ctx;
	int64_t cut; /* the retention cutoff the answer carried (CH_CUT_NONE) */
};

static int emit_one(struct cread *cr, const struct centry *e)
{
	struct ch_rb_in r = {e->row, cr->end, false};
	struct craw x;
	rd_craw(&r, &x);
	struct store_client_row row;
	char name[STORE_NAME_BUF];
	uint8_t key[SCHEMA_KEY_MAX];
	memset(&row, 0, sizeof(row));
	row.dtype = x.dtype;
	size_t n = 0;
	if (x.dtype == STORE_DEST_DOMAIN) {
		ch_name_rev(x.dest, name);
		row.name = name;
		int kl = namekey_enc(name, key);
		row.klen = 1 + (kl > 0 ? (size_t)kl : 0) + 19;
	} else if (x.dtype != STORE_DEST_IP ||
	           util_hex_decode(x.dest, strlen(x.dest), row.ip, 16, &n) != 0 || n != 16) {
		return ch_corrupt();
	} else {
		row.klen = 1 + 16 + 19;
	}
	memcpy(row.client, x.client, 16);
	row.sensor_id = e->sid;
	row.src = x.src;
	row.vlen = x.slen;
	if (store_client_dec(x.state, x.slen, &row.st) != 0)
		return 0; /* as the LMDB walk, a row that does not decode is skipped */
	if (ch_client_dropped(row.st.last_seen, x.ver, cr->cut))
		return 0; /* retention dropped it: LMDB no longer has it */
	return cr->cb(&row, cr->ctx);
}

static int emit_group(struct cread *cr)
{
	qsort(cr->e, cr->n, sizeof(*cr->e), centry_cmp);
	int err = 0;
	for (size_t i = 0; i < cr->n && err == 0; i++)
		err = emit_one(cr, &cr->e[i]);
	cr->n = 0;
	return err;
}

static int group_add(struct cread *cr, const struct centry *e)
{
	if (cr->n == cr->cap) {
		size_t nc = cr->cap ? cr->cap * 2 : 256;
		struct centry *ne = realloc(cr->e, nc * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		cr->e = ne;
		cr->cap = nc;
	}
	cr->e[cr->n++] = *e;
	return 0;
}

/* Rows come ordered by destination; within one, sorted here by client,
 * sensor id (the control LMDB's) and source, as the LMDB key. */
static int emit_rows(store_rtxn_t *rt, const struct util_buf *resp, store_client_cb cb, void *ctx)
{
	struct cread cr = {(const uint8_t *)resp->p + resp->len, NULL, 0, 0, cb, ctx, CH_CUT_NONE};
	struct ch_rb_in r = {(const uint8_t *)resp->p, cr.end, false};
	char dest[STORE_NAME_BUF + 2] = "";
	int err = 0;
	while (r.p < r.end && err == 0) {
		struct centry e = {.row = r.p};
		struct craw x;
		rd_craw(&r, &x);
		if (r.bad)
			break;
		if (x.dtype == CH_CUT_DTYPE) {
			cr.cut = ch_cut_of_ver(x.ver);
			continue;
		}
		if (cr.n > 0 && (x.dtype != dest[0] || strcmp(x.dest, dest + 1) != 0))
			err = emit_group(&cr);
		dest[0] = (char)x.dtype;
		snprintf(dest + 1, sizeof(dest) - 1, "%s", x.dest);
		memcpy(e.client, x.client, 16);
		e.sid = sensor_sid(rt, x.sensor);
		e.src = x.src;
		if (err == 0)
			err = group_add(&cr, &e);
	}
	if (err == 0 && r.bad)
		err = ch_corrupt();
	if (err == 0 && cr.n > 0)
		err = emit_group(&cr);
	free(cr.e);
	return err;
}

/* A destination as the table's dest column has it. */
static int dest_col(uint8_t dtype, const char *name, const uint8_t ip[16],
                    char dest[STORE_NAME_BUF])
{
	if (dtype == STORE_DEST_IP) {
		util_hex_encode(ip, 16, dest);
		return 0;
	}
	if (dtype == STORE_DEST_DOMAIN)
		return ch_name_key(name, false, dest);
	return STORE_EBADTYPE;
}

/* WHERE for one destination (dtype 0: every row). */
static int where_dest(struct util_buf *q, uint8_t dtype, const char *name, const uint8_t ip[16])
{
	if (dtype == 0)
		return 0;
	char dest[STORE_NAME_BUF];
	int err = dest_col(dtype, name, ip, dest);
	if (err != 0)
		return err;
	util_buf_printf(q, " WHERE dtype = %u AND dest = ", dtype);
	ch_sql_str(q, dest);
	return 0;
}

int store_ch_clients(store_ch_t *c, store_rtxn_t *rt, uint8_t dtype, const char *name,
                     const uint8_t ip[16], const uint8_t *client, uint16_t sid, store_client_cb cb,
                     void *ctx)
{
	struct util_buf q, resp;
	util_buf_init(&q, 4096);
	util_buf_init(&resp, STORE_CH_RESPONSE_MAX);
	util_buf_adds(&q, "SELECT " CLIENT_COLUMNS " FROM client");
	int err = where_dest(&q, dtype, name, ip);
	if (err == 0 && client != NULL) {
		char sensor[STORE_SENSOR_MAX];
		store_sensor_name(rt, sid, sensor);
		util_buf_adds(&q, " AND client = ");
		ch_sql_fixed(&q, client, 16);
		util_buf_adds(&q, " AND sensor = ");
		ch_sql_str(&q, sensor);
	}
	if (dtype != 0)
		util_buf_adds(&q, CLIENT_CUT); /* a scan reads the cutoff row anyway */
	util_buf_adds(&q,
	              CLIENT_GROUP " ORDER BY dtype, if(dtype = 1, " CH_NAMEKEY("dest") ", dest)");
	if (err == 0)
		err = ch_query(c, &q, &resp);
	if (err == 0)
		err = emit_rows(rt, &resp, cb, ctx);
	util_buf_free(&resp);
	util_buf_free(&q);
	return err;
}

/* ---- many destinations in one query --------------------------------------- */

/* A destination's run of entries [from, to); as an input key, from is
 * the key's index. */
struct cgroup {
	uint8_t dtype;
	char dest[STORE_NAME_BUF];
	size_t from, to;
};

static int cgroup_cmp(const void *a, const void *b)
{
	const struct cgroup *x = a, *y = b;
	if (x->dtype != y->dtype)
		return x->dtype < y->dtype ? -1 : 1;
	return strcmp(x->dest, y->dest);
}

struct cmany {
	struct cread cr;  /* every row's entry, destination by destination */
	struct cgroup *g; /* capg: the keys asked for */
	size_t ng, capg;
};

/* Scan the response: an entry a row, a group a destination. */
static int many_scan(store_rtxn_t *rt, const struct util_buf *resp, struct cmany *m)
{
	struct ch_rb_in r = {(const uint8_t *)resp->p, m->cr.end, false};
	while (r.p < r.end) {
		struct centry e = {.row = r.p};
		struct craw x;
		rd_craw(&r, &x);
		if (r.bad)
			return ch_corrupt();
		if (x.dtype == CH_CUT_DTYPE) {
			m->cr.cut = ch_cut_of_ver(x.ver);
			continue;
		}
		struct cgroup *last = m->ng > 0 ? &m->g[m->ng - 1] : NULL;
		if (last == NULL || last->dtype != x.dtype || strcmp(last->dest, x.dest) != 0) {
			if (m->ng == m->capg)
				return ch_corrupt(); /* more destinations than were asked for */
			last = &m->g[m->ng++];
			last->dtype = x.dtype;
			memcpy(last->dest, x.dest, sizeof(last->dest));
			last->from = m->cr.n;
		}
		memcpy(e.client, x.client, 16);
		e.sid = sensor_sid(rt, x.sensor);
		e.src = x.src;
		if (group_add(&m->cr, &e) != 0)
			return -ENOMEM;
		last->to = m->cr.n;
	}
	qsort(m->g, m->ng, sizeof(*m->g), cgroup_cmp);
	return 0;
}

/* Each key's rows, in input order; a key's in the LMDB key order. */
static int many_emit(struct cmany *m, const struct cgroup *keys, size_t n, store_client_key_cb cb,
                     void *ctx)
{
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		const struct cgroup *g = bsearch(&keys[i], m->g, m->ng, sizeof(*m->g), cgroup_cmp);
		if (g == NULL)
			continue;
		struct ch_client_key k = {cb, keys[i].from, ctx};
		m->cr.cb = ch_client_key_tramp;
		m->cr.ctx = &k;
		qsort(m->cr.e + g->from, g->to - g->from, sizeof(*m->cr.e), centry_cmp);
		for (size_t j = g->from; j < g->to && err == 0; j++)
			err = emit_one(&m->cr, &m->cr.e[j]);
		err = err == STORE_STOP ? 0 : err;
	}
	return err;
}

/* WHERE (dtype = 1 AND dest IN (...)) OR (dtype = 2 AND dest IN (...)) */
static void many_where(struct util_buf *q, const struct cgroup *keys, size_t n)
{
	const char *sep = " WHERE ";
	for (uint8_t t = STORE_DEST_DOMAIN; t <= STORE_DEST_IP; t++) {
		const char *in = "";
		for (size_t i = 0; i < n; i++) {
			if (keys[i].dtype != t)
				continue;
			if (in[0] == '\0')
				util_buf_printf(q, "%s(dtype = %u AND dest IN (", sep, t);
			util_buf_adds(q, in);
			ch_sql_str(q, keys[i].dest);
			in = ", ";
			sep = " OR ";
		}
		if (in[0] != '\0')
			util_buf_adds(q, "))");
	}
}

static int many_chunk(store_ch_t *c, store_rtxn_t *rt, const struct cgroup *keys, size_t n,
                      store_client_key_cb cb, void *ctx)
{
	struct util_buf q, resp;
	util_buf_init(&q, (size_t)1 << 20);
	util_buf_init(&resp, STORE_CH_RESPONSE_MAX);
	util_buf_adds(&q, "SELECT " CLIENT_COLUMNS " FROM client");
	many_where(&q, keys, n);
	util_buf_adds(&q, CLIENT_CUT CLIENT_GROUP
	              " ORDER BY dtype, if(dtype = 1, " CH_NAMEKEY("dest") ", dest)");
	int err = ch_query(c, &q, &resp);
	struct cmany m = {{(const uint8_t *)resp.p + resp.len, NULL, 0, 0, NULL, NULL, CH_CUT_NONE},
	                  malloc(n * sizeof(*m.g)),
	                  0,
	                  n};
	if (err == 0 && m.g == NULL)
		err = -ENOMEM;
	if (err == 0)
		err = many_scan(rt, &resp, &m);
	if (err == 0)
		err = many_emit(&m, keys, n, cb, ctx);
	free(m.cr.e);
	free(m.g);
	util_buf_free(&resp);
	util_buf_free(&q);
	return err;
}

int store_ch_clients_of_many(store_ch_t *c, store_rtxn_t *rt, const struct store_client_dest *dests,
                             size_t n, store_client_key_cb cb, void *ctx)
{
	/* the keys as the response has them; from: the key's index */
	struct cgroup *keys = malloc(n * sizeof(*keys) + 1);
	if (keys == NULL)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		keys[i].dtype = dests[i].dtype;
		keys[i].from = i;
		err = dest_col(dests[i].dtype, dests[i].name, dests[i].ip, keys[i].dest);
	}
	for (size_t i = 0; i < n && err == 0; i += CH_BATCH_KEYS) {
		size_t k = n - i < CH_BATCH_KEYS ? n - i : CH_BATCH_KEYS;
		err = many_chunk(c, rt, keys + i, k, cb, ctx);
	}
	free(keys);
	return err;
}
