/*
 * env.c - opening the environment, the batch writer with map growth,
 * read transactions, meta records, stats and compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sys/statvfs.h>

#include "store/ch.h"
#include "store/store_internal.h"
#include "store/watch.h"
#include "util/mem.h"

/* Free bytes below which a failed write is taken for a full disk. */
#define STORE_DISK_FULL_SLACK (4u << 20)

static _Thread_local char last_error[512];

void store_set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *store_last_error(void)
{
	return last_error;
}

void store_last_error_set(const char *msg)
{
	snprintf(last_error, sizeof(last_error), "%s", msg);
}

int store_lmdb_err(int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return STORE_ENOTFOUND;
	case MDB_MAP_FULL:
		return STORE_ENOSPACE;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		store_set_error("%s: %s", what, mdb_strerror(rc));
		return STORE_ECORRUPT;
	case MDB_VERSION_MISMATCH:
		store_set_error("%s: %s", what, mdb_strerror(rc));
		return STORE_EVERSION;
	default:
		store_set_error("%s: %s", what, mdb_strerror(rc));
		if (rc > 0 && rc < 1000)
			return -rc; /* errno */
		return STORE_ELMDB;
	}
}

const char *store_default_dir(const char *dir_opt)
{
	if (dir_opt != NULL && *dir_opt != '\0')
		return dir_opt;
	const char *env = getenv("INFRAPIVOT_DB");
	if (env != NULL && *env != '\0')
		return env;
	return "./infrapivot-data";
}

static const struct {
	const char *name;
	unsigned flags;
} db_defs[DB_COUNT] = {
    [DB_META] = {"meta", 0},
    [DB_RR] = {"rr", 0},
    [DB_ADDR] = {"addr", MDB_DUPSORT},
    [DB_TARGET] = {"target", MDB_DUPSORT},
    [DB_SIGHT] = {"sight", 0},
    [DB_IPCERT] = {"ipcert", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_CERT] = {"cert", 0},
    [DB_NAMECERT] = {"namecert", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_ALIAS] = {"alias", 0},
    [DB_PREV] = {"prev", 0},
    [DB_WLIST] = {"wlist", 0},
    [DB_WENTRY] = {"wentry", 0},
    [DB_WVER] = {"wver", MDB_DUPSORT},
    [DB_WTIME] = {"wtime", 0},
    [DB_WIND] = {"wind", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_CLIENT] = {"client", 0},
    [DB_FWD] = {"fwd", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_CERTKEY] = {"certkey", 0},
    [DB_KEYCERT] = {"keycert", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_SUBJCERT] = {"subjcert", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_SERIALCERT] = {"serialcert", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_FPSIGHT] = {"fpsight", 0},
    [DB_IPFP] = {"ipfp", MDB_DUPSORT | MDB_DUPFIXED},
};

#define VERSION_KEY "schema_version"

/* Open every table (the watchlist ones may be missing from an older
 * database opened read-only). */
static int open_tables(store_t *s, MDB_txn *txn, bool rdonly)
{
	for (int i = 0; i < DB_COUNT; i++) {
		unsigned fl = db_defs[i].flags | (rdonly ? 0 : MDB_CREATE);
		int rc = mdb_dbi_open(txn, db_defs[i].name, fl, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && rdonly && i >= DB_FIRST_OPTIONAL) {
			if (i == DB_CLIENT)
				s->no_client = true;
			else if (i == DB_FWD)
				s->no_fwd = true;
			else if (i >= DB_FIRST_KEYS)
				s->no_keys = true;
			else
				s->no_watch = true;
			continue;
		}
		if (rc == MDB_NOTFOUND && rdonly) {
			store_set_error("not an infrapivot database (no '%s' table)",
			                db_defs[i].name);
			return STORE_EVERSION;
		}
		if (rc != 0)
			return store_lmdb_err(rc, "open table");
	}
	return 0;
}

/* Check the schema version, or record it in a new database. */
static int check_schema(store_t *s, MDB_txn *txn, bool rdonly)
{
	MDB_val k = {strlen(VERSION_KEY), (void *)VERSION_KEY};
	MDB_val v;
	int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND && !rdonly) {
		uint32_t ver = STORE_SCHEMA_VERSION;
		v.mv_size = sizeof(ver);
		v.mv_data = &ver;
		rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
		return rc != 0 ? store_lmdb_err(rc, "write schema version") : 0;
	}
	if (rc == MDB_NOTFOUND) {
		store_set_error("not an infrapivot database (no schema version)");
		return STORE_EVERSION;
	}
	if (rc != 0)
		return store_lmdb_err(rc, "read schema version");
	uint32_t ver = 0;
	if (v.mv_size == sizeof(ver))
		memcpy(&ver, v.mv_data, sizeof(ver));
	if (ver == STORE_SCHEMA_VERSION)
		return 0;
	store_set_error("database schema version %u is not supported "
	                "(this build reads version %u%s)",
	                ver, STORE_SCHEMA_VERSION,
	                ver == 1 ? "; version 1 came from an earlier build "
	                           "of infrapivot: ingest the data again into "
	                           "a new database"
	                         : "");
	return STORE_EVERSION;
}

static int open_dbs(store_t *s)
{
	bool rdonly = s->flags & STORE_RDONLY;
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return store_lmdb_err(rc, "begin");
	int err = open_tables(s, txn, rdonly);
	if (err == 0)
		err = check_schema(s, txn, rdonly);
	if (err != 0) {
		mdb_txn_abort(txn);
		return err;
	}
	/* commit even when read-only: dbi handles of an aborted txn are lost */
	rc = mdb_txn_commit(txn);
	return store_lmdb_err(rc, "commit");
}

/* Create and open the environment of dir with a map of at least mapsize
 * bytes (never shrinking an existing, larger database). */
static int open_env(store_t *s, const char *dir, unsigned flags, size_t mapsize)
{
	int rc = mdb_env_create(&s->env);
	if (rc != 0)
		return store_lmdb_err(rc, "open");
	mdb_env_set_maxdbs(s->env, DB_COUNT + 8);
	mdb_env_set_maxreaders(s->env, 512);
	rc = mdb_env_set_mapsize(s->env, mapsize);
	if (rc != 0) {
		mdb_env_close(s->env);
		return store_lmdb_err(rc, "open");
	}
	unsigned eflags = MDB_NOTLS | MDB_NORDAHEAD;
	if (flags & STORE_RDONLY)
		eflags |= MDB_RDONLY;
	if (flags & STORE_NOSYNC)
		eflags |= MDB_NOSYNC;
	rc = mdb_env_open(s->env, dir, eflags, 0640);
	if (rc != 0) {
		int err = store_lmdb_err(rc, "open");
		store_set_error("cannot open database %s: %s", dir, mdb_strerror(rc));
		mdb_env_close(s->env);
		return err;
	}
	/* adopt the size recorded in the file when it is larger */
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	if (info.me_mapsize < mapsize)
		mdb_env_set_mapsize(s->env, mapsize);
	return 0;
}

int store_open(store_t **out, const char *dir, unsigned flags, size_t mapsize)
{
	store_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->flags = flags;
	pthread_rwlock_init(&s->grow_lock, NULL);
	if (!(flags & STORE_RDONLY) && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		store_set_error("cannot create %s: %s", dir, strerror(errno));
		int err = -errno;
		free(s);
		return err;
	}
	int err = open_env(s, dir, flags, mapsize == 0 ? (size_t)1 << 30 : mapsize);
	if (err != 0) {
		free(s);
		return err;
	}
	char rp[PATH_MAX];
	char df[PATH_MAX + 16];
	snprintf(df, sizeof(df), "%s/data.mdb", dir);
	if (realpath(df, rp) != NULL)
		snprintf(s->datafile, sizeof(s->datafile), "%s", rp);
	err = open_dbs(s);
	if (err != 0) {
		mdb_env_close(s->env);
		free(s);
		return err;
	}
	if (!(flags & STORE_RDONLY))
		store_set_write_hook(s, store_watch_hook, NULL);
	*out = s;
	return 0;
}

void store_close(store_t *s)
{
	if (s == NULL)
		return;
	store_ch_detach(s);
	mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->grow_lock);
	util_big_free(s->client_sort);
	free(s);
}

void store_set_write_hook(store_t *s, store_write_hook hook, void *ctx)
{
	s->hook = hook;
	s->hook_ctx = ctx;
}

/* Begin a txn with the grow lock held shared; handles MAP_RESIZED. */
int store_txn_begin_locked(store_t *s, unsigned flags, MDB_txn **txn)
{
	for (int tries = 0; tries < 8; tries++) {
		pthread_rwlock_rdlock(&s->grow_lock);
		int rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->grow_lock);
		if (rc == MDB_MAP_RESIZED) {
			pthread_rwlock_wrlock(&s->grow_lock);
			mdb_env_set_mapsize(s->env, 0);
			pthread_rwlock_unlock(&s->grow_lock);
			continue;
		}
		if (rc == MDB_READERS_FULL) {
			int dead = 0;
			mdb_reader_check(s->env, &dead);
			if (dead > 0)
				continue;
		}
		return store_lmdb_err(rc, "begin transaction");
	}
	return STORE_EBUSY;
}

int store_grow_map(store_t *s)
{
	pthread_rwlock_wrlock(&s->grow_lock);
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	size_t next = info.me_mapsize * 2;
	if (next < info.me_mapsize || next > ((size_t)1 << 44)) {
		pthread_rwlock_unlock(&s->grow_lock);
		store_set_error("database map cannot grow beyond %zu bytes", info.me_mapsize);
		return STORE_ENOSPACE;
	}
	int rc = mdb_env_set_mapsize(s->env, next);
	pthread_rwlock_unlock(&s->grow_lock);
	return store_lmdb_err(rc, "grow map");
}

/* Pages of the map a write transaction touches stay in this process's
 * RSS, and the kernel's fault-around maps up to 16 cached neighbours with
 * each, so a bulk write over a large database would hold most of the file.
 * Every RSS_CHECK_EVERY operations look at the file-backed resident size
 * (/proc/self/statm, a few microseconds) and drop the map's pages when it
 * passes RSS_FILE_MAX (store_drop_mapped; they stay in the page cache). */
#define RSS_CHECK_EVERY 256
#define RSS_FILE_MAX (16ul << 20)
static void rss_check(store_t *s)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	unsigned long size, resident, shared;
	if (sscanf(buf, "%lu %lu %lu", &size, &resident, &shared) == 3 &&
	    shared * (unsigned long)sysconf(_SC_PAGESIZE) > RSS_FILE_MAX)
		store_drop_mapped(s);
}

double store_tree_pages(const store_t *s, MDB_txn *txn, const int *dbs, size_t n)
{
	double pages = 0;
	MDB_stat ms;
	for (size_t i = 0; i < n; i++)
		if (mdb_stat(txn, s->dbi[dbs[i]], &ms) == 0)
			pages += (double)(ms.ms_leaf_pages + ms.ms_branch_pages);
	return pages;
}

uint64_t store_thread_wchar(void)
{
	char buf[512];
	int fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strstr(buf, "wchar:");
	unsigned long long v;
	return p != NULL && sscanf(p, "wchar: %llu", &v) == 1 ? (uint64_t)v : 0;
}

static inline void w_count(struct store_wtxn *w)
{
	if (++w->ops % RSS_CHECK_EVERY == 0)
		rss_check(w->s);
}

void w_put(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
	if (w->err != 0)
		return;
	w_count(w);
	int rc = mdb_put(w->txn, w->s->dbi[db], k, v, flags);
	if (rc == MDB_KEYEXIST && (flags & (MDB_NODUPDATA | MDB_NOOVERWRITE)))
		return;
	if (rc != 0)
		w->err = rc;
}

int w_get(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v)
{
	if (w->err != 0)
		return STORE_ENOTFOUND;
	w_count(w);
	int rc = mdb_get(w->txn, w->s->dbi[db], k, v);
	if (rc == MDB_NOTFOUND)
		return STORE_ENOTFOUND;
	if (rc != 0) {
		w->err = rc;
		return STORE_ENOTFOUND;
	}
	return 0;
}

void w_del(struct store_wtxn *w, int db, MDB_val *k, MDB_val *v)
{
	if (w->err != 0)
		return;
	int rc = mdb_del(w->txn, w->s->dbi[db], k, v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		w->err = rc;
}

/* ---- cursor scans (store_internal.h) ------------------------------------ */

void scan_begin(struct scan *sc, MDB_txn *txn, MDB_dbi dbi, MDB_cursor_op first, MDB_cursor_op next,
                const void *key, size_t klen, size_t plen)
{
	sc->start = (MDB_val){klen, (void *)key};
	sc->plen = plen;
	sc->next = next;
	sc->rc = mdb_cursor_open(txn, dbi, &sc->cur);
	if (sc->rc != 0) {
		sc->cur = NULL;
		return;
	}
	sc->k = sc->start;
	sc->rc = mdb_cursor_get(sc->cur, &sc->k, &sc->v, first);
}

bool scan_ok(const struct scan *sc)
{
	if (sc->rc != 0)
		return false;
	if (sc->plen == 0)
		return true;
	return sc->k.mv_size >= sc->plen && memcmp(sc->k.mv_data, sc->start.mv_data, sc->plen) == 0;
}

void scan_next(struct scan *sc)
{
	if (sc->next == MDB_SET_RANGE)
		sc->k = sc->start; /* a draining scan seeks its start again */
	sc->rc = mdb_cursor_get(sc->cur, &sc->k, &sc->v, sc->next);
}

int scan_end(struct scan *sc, int ret, const char *what)
{
	if (sc->cur != NULL)
		mdb_cursor_close(sc->cur);
	sc->cur = NULL;
	if (ret != 0)
		return ret;
	if (sc->rc == MDB_NOTFOUND)
		return 0;
	return store_lmdb_err(sc->rc, what);
}

int walk_addr_index(store_rtxn_t *r, int db, const uint8_t addr[16], unsigned plen, addr_item_fn fn,
                    void *ctx)
{
	if (plen > 128)
		return STORE_EBADADDR;
	uint8_t lo[16], hi[16];
	store_prefix_bounds(addr, plen, lo, hi);
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[db], lo, 16, 0)
	{
		if (sc.k.mv_size != 16 || memcmp(sc.k.mv_data, hi, 16) > 0)
			break;
		ret = fn(r, &sc.k, &sc.v, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

int walk_under(store_rtxn_t *r, int db, const uint8_t *pfx, size_t plen, addr_item_fn fn, void *ctx)
{
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[db], pfx, plen, plen)
	{
		const uint8_t *kp = sc.k.mv_data;
		if (sc.k.mv_size <= plen || kp[plen] == 0)
			continue; /* the prefix's own name */
		ret = fn(r, &sc.k, &sc.v, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

void w_scan_end(struct store_wtxn *w, struct scan *sc)
{
	if (scan_end(sc, 0, "scan") != 0 && w->err == 0)
		w->err = sc->rc;
}

/* ---- the write transaction ---------------------------------------------- */

/* One attempt: begin, run fn, commit.  Returns fn's error (<0, nothing
 * written), else the LMDB result of the transaction (0 when committed). */
static int wtxn_attempt(store_t *s, store_wtxn_fn fn, void *ctx, struct store_write_stats *st,
                        int *err)
{
	memset(st, 0, sizeof(*st));
	struct store_wtxn w = {.s = s, .st = st};
	*err = store_txn_begin_locked(s, 0, &w.txn);
	if (*err != 0)
		return 0;
	w.reader = (struct store_rtxn){.s = s, .txn = w.txn, .own = false, .ch = NULL};
	int e = fn(&w, ctx);
	int rc = w.err;
	if (rc == 0 && e < 0)
		*err = e;
	if (rc == 0 && e >= 0)
		rc = mdb_txn_commit(w.txn);
	else
		mdb_txn_abort(w.txn);
	pthread_rwlock_unlock(&s->grow_lock);
	return rc;
}

/* A write that failed with EIO or ENOSPC: LMDB says EIO when the file
 * system took only part of a page write, which is what a full disk does.
 * When the database's file system has (next to) no room left, say so,
 * naming the database: -ENOSPC; otherwise the error as it is. */
static int write_failed(store_t *s, int rc, const char *what)
{
	char dir[sizeof(s->datafile)];
	snprintf(dir, sizeof(dir), "%s", s->datafile);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	struct statvfs vfs;
	bool full = rc == ENOSPC || rc == EDQUOT;
	if (!full && statvfs(dir, &vfs) == 0)
		full = (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_DISK_FULL_SLACK;
	if (!full)
		return store_lmdb_err(rc, what);
	store_set_error("%s: no space left on device for the database %s (nothing of this "
	                "transaction was committed)",
	                what, dir);
	return -ENOSPC;
}

int store_wtxn_retry(store_t *s, store_wtxn_fn fn, void *ctx, struct store_write_stats *st,
                     const char *what)
{
	if (s->flags & STORE_RDONLY)
		return -EROFS;
	struct store_write_stats local;
	unsigned retries = 0;
	for (;;) {
		int err = 0;
		int rc = wtxn_attempt(s, fn, ctx, &local, &err);
		if (err != 0)
			return err;
		if (rc == MDB_MAP_FULL) {
			/* the attempt is aborted: no transaction is open */
			err = store_grow_map(s);
			if (err != 0)
				return err;
			retries++;
			continue;
		}
		if (rc == EIO || rc == ENOSPC || rc == EDQUOT)
			return write_failed(s, rc, what);
		if (rc != 0)
			return store_lmdb_err(rc, what);
		if (st != NULL) {
			*st = local;
			st->retries = retries;
		}
		return 0;
	}
}

int store_wtxn_run(store_t *s, store_wtxn_fn fn, void *ctx)
{
	return store_wtxn_retry(s, fn, ctx, NULL, "write");
}

int store_meta_get(store_t *s, const void *key, size_t klen, void *val, size_t vcap, size_t *vlen)
{
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	MDB_val k = {klen, (void *)key};
	MDB_val v;
	int rc = mdb_get(r->txn, s->dbi[DB_META], &k, &v);
	if (rc == 0) {
		if (v.mv_size > vcap) {
			err = STORE_ETOOLONG;
		} else {
			memcpy(val, v.mv_data, v.mv_size);
			*vlen = v.mv_size;
		}
	} else {
		err = store_lmdb_err(rc, "meta get");
	}
	store_read_end(r);
	return err;
}

int store_read_begin(store_t *s, store_rtxn_t **out)
{
	store_rtxn_t *r = malloc(sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->s = s;
	r->own = true;
	int err = store_ch_read_begin(r);
	if (err != 0) {
		free(r);
		return err;
	}
	err = store_txn_begin_locked(s, MDB_RDONLY, &r->txn);
	if (err != 0) {
		store_ch_read_end(r);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void store_read_end(store_rtxn_t *r)
{
	if (r == NULL || !r->own)
		return;
	mdb_txn_abort(r->txn);
	pthread_rwlock_unlock(&r->s->grow_lock);
	store_ch_read_end(r);
	free(r);
}

void store_drop_mapped(store_t *s)
{
	/* Pages of the map this process touched count in its RSS although
	 * they are only page cache.  During and after a bulk write, drop them
	 * from our page tables (the page cache keeps them, pointers into the
	 * map stay valid and fault them back in).  Keeps a large ingest's RSS
	 * independent of the database size.  LMDB does not expose the map's
	 * address (me_mapaddr is only set with MDB_FIXEDMAP), so find the
	 * mapping of data.mdb in /proc/self/maps. */
	if (s->datafile[0] == '\0')
		return;
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return;
	char line[4096 + 128];
	while (fgets(line, sizeof(line), f) != NULL) {
		char *path = strchr(line, '/');
		if (path == NULL)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, s->datafile) != 0)
			continue;
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi > lo)
			madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}

/* ---- sensors ------------------------------------------------------------ */

int sensor_id(struct store_wtxn *w, const char *name, uint16_t *id)
{
	for (unsigned i = 0; i < w->nsc; i++) {
		if (strcmp(w->sc[i].name, name) == 0) {
			*id = w->sc[i].id;
			return 0;
		}
	}
	uint8_t kb[STORE_SENSOR_MAX + 1];
	size_t nl = strlen(name);
	kb[0] = 'S';
	memcpy(kb + 1, name, nl);
	MDB_val k = {nl + 1, kb};
	MDB_val v;
	if (w_get(w, DB_META, &k, &v) == 0 && v.mv_size == 2) {
		memcpy(id, v.mv_data, 2);
	} else {
		if (w->err != 0)
			return STORE_ELMDB;
		uint16_t next = 1;
		MDB_val nk = {11, (void *)"sensor_next"};
		if (w_get(w, DB_META, &nk, &v) == 0 && v.mv_size == 2)
			memcpy(&next, v.mv_data, 2);
		if (next == 0xffff)
			return STORE_ELIMIT;
		*id = next;
		next++;
		MDB_val nv = {2, &next};
		w_put(w, DB_META, &nk, &nv, 0);
		MDB_val iv = {2, id};
		w_put(w, DB_META, &k, &iv, 0);
		uint8_t ik[3] = {'I', (uint8_t)(*id >> 8), (uint8_t)*id};
		MDB_val ikv = {3, ik};
		MDB_val namev = {nl, (void *)name};
		w_put(w, DB_META, &ikv, &namev, 0);
	}
	if (w->nsc < sizeof(w->sc) / sizeof(w->sc[0])) {
		memcpy(w->sc[w->nsc].name, name, nl + 1);
		w->sc[w->nsc].id = *id;
		w->nsc++;
	}
	return 0;
}

const char *sensor_name(MDB_txn *txn, store_t *s, uint16_t id)
{
	uint8_t ik[3] = {'I', (uint8_t)(id >> 8), (uint8_t)id};
	MDB_val k = {3, ik};
	MDB_val v;
	/* The name is stored without NUL; LMDB memory is read-only, so the
	 * caller gets a thread-local copy ring. */
	static _Thread_local char ring[STORE_SENSORS_KEPT * 2][STORE_SENSOR_MAX];
	static _Thread_local unsigned pos;
	if (mdb_get(txn, s->dbi[DB_META], &k, &v) != 0 || v.mv_size >= STORE_SENSOR_MAX)
		return "?";
	char *out = ring[pos++ % (STORE_SENSORS_KEPT * 2)];
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return out;
}

void sensors_merge(uint16_t *ids, unsigned *n, unsigned *more, uint16_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	if (*n < STORE_SENSORS_KEPT) {
		ids[(*n)++] = id;
		return;
	}
	/* Without remembering every sensor this over-counts a sensor that
	 * reports again; "more" is a lower bound we do not inflate twice
	 * within one record's lifetime beyond 65535. */
	if (*more < 0xffff)
		(*more)++;
}

/* ---- stats, compaction ------------------------------------------------- */

/* The counts of a ClickHouse store, through a read session's handle. */
static int stats_ch(store_rtxn_t *r, struct store_stats *st)
{
	struct store_ch *c;
	int err = store_ch_session(r, &c);
	if (err == 0)
		err = store_ch_stats(c, st);
	store_read_end(r);
	return err;
}

int store_stats(store_t *s, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	store_rtxn_t *r;
	int err = store_read_begin(s, &r);
	if (err != 0)
		return err;
	if (s->ch != NULL)
		return stats_ch(r, st);
	uint64_t *dst[DB_COUNT] = {
	    [DB_RR] = &st->resolutions,           [DB_ADDR] = &st->addr_index,
	    [DB_TARGET] = &st->target_index,      [DB_SIGHT] = &st->sightings,
	    [DB_IPCERT] = &st->ip_cert_index,     [DB_CERT] = &st->certificates,
	    [DB_NAMECERT] = &st->name_cert_index, [DB_ALIAS] = &st->aliases,
	};
	MDB_stat ms;
	uint64_t pages = 0;
	for (int i = 0; i < DB_COUNT; i++) {
		if (mdb_stat(r->txn, s->dbi[i], &ms) != 0)
			continue;
		if (dst[i] != NULL)
			*dst[i] = ms.ms_entries;
		pages += ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
	}
	/* sensors: count 'I' keys */
	struct scan sc;
	SCAN_PREFIX(&sc, r->txn, s->dbi[DB_META], "I", 1, 1)
	{
		if (sc.k.mv_size != 3)
			break;
		st->sensors++;
	}
	scan_end(&sc, 0, "stats");
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &ms);
	st->used_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	st->map_bytes = info.me_mapsize;
	(void)pages;
	store_read_end(r);
	const char *path;
	if (mdb_env_get_path(s->env, &path) == 0) {
		char file[4096];
		snprintf(file, sizeof(file), "%s/data.mdb", path);
		struct stat sb;
		if (stat(file, &sb) == 0)
			st->db_bytes = (uint64_t)sb.st_blocks * 512;
	}
	return 0;
}

/* An empty directory for a copy of the database. */
static int copy_dir(const char *outdir)
{
	if (mkdir(outdir, 0750) != 0 && errno != EEXIST) {
		store_set_error("cannot create %s: %s", outdir, strerror(errno));
		return -errno;
	}
	char file[4096];
	snprintf(file, sizeof(file), "%s/data.mdb", outdir);
	if (access(file, F_OK) == 0) {
		store_set_error("%s already holds a database", outdir);
		return STORE_EEXIST;
	}
	return 0;
}

int store_compact(store_t *s, const char *outdir)
{
	STORE_LMDB_ONLY(s, "compact (an LMDB file copy)");
	int err = copy_dir(outdir);
	if (err != 0)
		return err;
	int rc = mdb_env_copy2(s->env, outdir, MDB_CP_COMPACT);
	return store_lmdb_err(rc, "compact");
}

/* Commit the copy's transaction and begin the next one.  On failure *wt
 * is NULL. */
static int repack_commit(MDB_env *dst, MDB_txn **wt)
{
	int rc = mdb_txn_commit(*wt);
	*wt = NULL;
	if (rc == 0)
		rc = mdb_txn_begin(dst, NULL, 0, wt);
	if (rc != 0)
		*wt = NULL;
	return rc;
}

/* Copy table i in key order with MDB_APPEND: pages fill completely
 * instead of the ~2/3 that random inserts leave.  Returns an LMDB code. */
static int repack_table(store_t *s, MDB_txn *src, MDB_env *dst, int i)
{
	MDB_txn *wt;
	MDB_dbi ddbi;
	int rc = mdb_txn_begin(dst, NULL, 0, &wt);
	if (rc != 0)
		return rc;
	rc = mdb_dbi_open(wt, db_defs[i].name, db_defs[i].flags | MDB_CREATE, &ddbi);
	/* an older database without the optional tables: create them empty */
	if (rc != 0 || (s->no_watch && i >= DB_FIRST_OPTIONAL && i < DB_CLIENT) ||
	    (s->no_client && i == DB_CLIENT) || (s->no_keys && i >= DB_FIRST_KEYS) ||
	    (s->no_fwd && i == DB_FWD))
		goto done;
	unsigned fl = db_defs[i].flags & MDB_DUPSORT ? MDB_APPENDDUP : MDB_APPEND;
	size_t n = 0;
	struct scan sc;
	SCAN_ALL(&sc, src, s->dbi[i])
	{
		rc = mdb_put(wt, ddbi, &sc.k, &sc.v, fl);
		/* keep each transaction's dirty pages bounded */
		if (rc == 0 && ++n % 100000 == 0)
			rc = repack_commit(dst, &wt);
		if (rc != 0)
			break;
	}
	if (scan_end(&sc, rc, "repack") != 0 && rc == 0)
		rc = sc.rc;
done:
	if (wt == NULL)
		return rc;
	if (rc == 0)
		return mdb_txn_commit(wt);
	mdb_txn_abort(wt);
	return rc;
}

int store_repack(store_t *s, const char *outdir)
{
	STORE_LMDB_ONLY(s, "compact (an LMDB file copy)");
	int err = copy_dir(outdir);
	if (err != 0)
		return err;
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	MDB_env *dst;
	int rc = mdb_env_create(&dst);
	if (rc != 0)
		return store_lmdb_err(rc, "repack");
	mdb_env_set_maxdbs(dst, DB_COUNT + 8);
	mdb_env_set_mapsize(dst, info.me_mapsize);
	rc = mdb_env_open(dst, outdir, MDB_NOSYNC, 0640);
	if (rc != 0) {
		mdb_env_close(dst);
		return store_lmdb_err(rc, "repack open");
	}
	store_rtxn_t *r;
	err = store_read_begin(s, &r);
	if (err != 0) {
		mdb_env_close(dst);
		return err;
	}
	for (int i = 0; i < DB_COUNT && rc == 0; i++)
		rc = repack_table(s, r->txn, dst, i);
	store_read_end(r);
	if (rc == 0)
		rc = mdb_env_sync(dst, 1);
	mdb_env_close(dst);
	return store_lmdb_err(rc, "repack");
}
