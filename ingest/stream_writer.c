/*
 * stream_writer.c - the writer thread: it commits the write units the
 * reading thread hands over, one while the next fills.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingest/stream_internal.h"

/* Release a written unit's chunks (st->mu held). */
static void wbatch_release(struct ingest_stream *st, struct wbatch *wb)
{
	for (unsigned i = 0; i < wb->ngroup; i++) {
		struct chunk *ch = wb->group[i];
		for (size_t j = 0; j < ch->nsb; j++)
			store_batch_reset(ch->sb[j]);
		ch->nsb = 0;
		ch->state = CH_FREE;
	}
	if (wb->ngroup > 0)
		pthread_cond_broadcast(&st->done_cv);
	wb->ngroup = 0;
	wb->group_len = 0;
	wb->sync = false;
	store_batch_reset(wb->sb);
	wb->records = 0;
}

/* The writer's list of the batches of one unit (grows, kept). */
struct wlist {
	store_batch_t **v;
	size_t cap;
};

/* The batches a unit commits, in order: its group's, then its own
 * (st->mu held).  Returns how many, or 0 with st->fatal set. */
static size_t unit_batches(struct ingest_stream *st, struct wbatch *wb, struct wlist *l)
{
	size_t n = 1; /* its own */
	for (unsigned i = 0; i < wb->ngroup; i++)
		n += wb->group[i]->nsb;
	if (n > l->cap) {
		store_batch_t **nl = realloc(l->v, n * sizeof(*nl));
		if (nl == NULL && st->fatal == 0)
			st->fatal = -ENOMEM;
		if (nl != NULL) {
			l->v = nl;
			l->cap = n;
		}
	}
	if (st->fatal != 0)
		return 0;
	n = 0;
	for (unsigned i = 0; i < wb->ngroup; i++)
		for (size_t j = 0; j < wb->group[i]->nsb; j++)
			l->v[n++] = wb->group[i]->sb[j];
	l->v[n++] = wb->sb;
	return n;
}

/* Records were committed: add their counts (st->mu held). */
static void unit_written(struct ingest_stream *st, uint64_t records,
                         const struct store_write_stats *ws, size_t budget)
{
	st->sum.records += records;
	store_write_stats_add(&st->sum.ws, ws);
	__atomic_store_n(&st->budget, budget, __ATOMIC_RELAXED);
}

/* Return a unit to the reading thread (st->mu held). */
static void unit_done(struct ingest_stream *st, struct wbatch *wb)
{
	wbatch_release(st, wb);
	st->done_seq = wb->seq;
	st->qhead = (st->qhead + 1) % NBATCH;
	__atomic_store_n(&st->qlen, st->qlen - 1, __ATOMIC_RELAXED);
	st->freel[st->nfree++] = wb;
	pthread_cond_broadcast(&st->cv);
}

/* What one pass of the writer committed. */
struct wdone {
	struct store_write_stats ws;
	uint64_t records, commits;
	size_t budget;
};

static void wdone_add(struct wdone *d, const struct store_write_stats *ws, uint64_t records)
{
	store_write_stats_add(&d->ws, ws);
	d->records += records;
	d->commits++;
}

/* Commit the merge table, in key-range slices of a quarter of --memory
 * in dirty pages each (store_write_sliced), then the batches v[0..n) in
 * one transaction.  A quarter, not the 3/8 a whole flush once had: while
 * a slice is written the table (a quarter), its sort order (a fifth of
 * the table) and the fixed part (parsers, units in flight: ~150 MiB) are
 * held too, and the peak must stay within --memory. */
static int commit_with_acc(struct ingest_stream *st, store_batch_t **v, size_t n, uint64_t records,
                           struct wdone *d)
{
	if (st->acc != NULL && !store_batch_empty(st->acc)) {
		int err = store_write_sliced(st->store, st->acc, st->opts.memory / 4, &d->ws,
		                             &d->commits);
		if (err != 0)
			return err;
		d->records += st->acc_records;
		store_batch_reset(st->acc);
		st->acc_records = 0;
	}
	if (n == 0)
		return 0;
	struct store_write_stats ws = {0};
	int err = store_write_batches(st->store, v, n, &ws);
	if (err != 0)
		return err;
	wdone_add(d, &ws, records);
	return 0;
}

/* Is the merge table's share of --memory used up? */
static bool acc_full(const struct ingest_stream *st)
{
	return store_batch_bytes(st->acc) >= st->opts.memory / 4;
}

/* Absorb the unit's batches into the merge table, committing the table
 * first when it cannot take one, and after when it is full. */
static int unit_absorb(struct ingest_stream *st, store_batch_t **v, size_t n, struct wdone *d)
{
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		err = store_batch_absorb(st->acc, v[i]);
		if (err == STORE_ELIMIT) {
			err = commit_with_acc(st, v, 0, 0, d);
			if (err == 0)
				err = store_batch_absorb(st->acc, v[i]);
		}
		if (err == 0)
			st->acc_records += store_batch_len(v[i]);
		/* batch by batch: a unit of many chunks must not overshoot */
		if (err == 0 && acc_full(st))
			err = commit_with_acc(st, v, 0, 0, d);
	}
	return err;
}

/* Write one unit: into the merge table in plain ingest, else committed
 * with what the table holds (a unit someone waits for, or one holding
 * records the table does not take). */
static int unit_write(struct ingest_stream *st, const struct wbatch *wb, store_batch_t **v,
                      size_t n, struct wdone *d)
{
	bool absorb = st->acc != NULL && !st->manual && st->pos_fn == NULL && !wb->sync;
	for (size_t i = 0; i < n && absorb; i++)
		absorb = store_batch_absorbable(v[i]);
	if (absorb)
		return unit_absorb(st, v, n, d);
	return commit_with_acc(st, v, n, wb->records, d);
}

/* The writer's step outside the lock: unit wb (NULL at the end: commit
 * the merge table).  Returns 0 or the store's error. */
static int writer_step(struct ingest_stream *st, const struct wbatch *wb, store_batch_t **v,
                       size_t n, int fatal, struct wdone *d)
{
	d->budget = st->budget;
	if (fatal != 0 || st->opts.dry_run)
		return 0;
	int err = wb != NULL ? unit_write(st, wb, v, n, d) : commit_with_acc(st, v, 0, 0, d);
	if (st->opts.batch)
		d->budget = st->opts.batch;
	else if (st->acc == NULL || st->manual || st->pos_fn != NULL)
		d->budget = store_batch_budget(st->store);
	return err;
}

/* After a step (st->mu held): the error, the counts of what was committed. */
static void step_done(struct ingest_stream *st, int err, const struct wdone *d)
{
	if (err != 0 && st->fatal == 0) {
		st->fatal = err;
		snprintf(st->fatal_msg, sizeof(st->fatal_msg), "%s", store_last_error());
	}
	unit_written(st, d->records, &d->ws, d->budget);
	st->sum.commits += d->commits;
	st->acc_pending = st->acc != NULL && !store_batch_empty(st->acc);
	st->sum.uncommitted = st->fatal != 0 ? st->acc_records : 0;
}

void *ingest_writer_main(void *arg)
{
	struct ingest_stream *st = arg;
	pthread_setname_np(pthread_self(), "ip-writer"); /* for top -H, perf */
	struct wlist list = {0};
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while ((st->qlen == 0 || st->hold) && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		struct wbatch *wb = st->qlen > 0 ? st->queue[st->qhead] : NULL;
		size_t n = wb != NULL ? unit_batches(st, wb, &list) : 0;
		if (wb == NULL && !st->acc_pending)
			break;
		int fatal = st->fatal;
		pthread_mutex_unlock(&st->mu);
		struct wdone d = {0};
		store_batch_t **v = list.v;
		int err = writer_step(st, wb, v, n, fatal, &d);
		pthread_mutex_lock(&st->mu);
		step_done(st, err, &d);
		if (wb != NULL)
			unit_done(st, wb);
		if (wb == NULL && st->fatal != 0)
			break;
	}
	pthread_mutex_unlock(&st->mu);
	free(list.v);
	return NULL;
}

/* Hand the reading thread's write unit to the writer and take the spare
 * one.  Returns the sequence number the unit will be done at. */
uint64_t ingest_hand_over(struct ingest_stream *st)
{
	struct parser *p = &st->main;
	/* the position the unit's lines end at (in add_line, the line that
	 * did not fit is not in it yet: done_at is still the line before) */
	if (st->pos_fn != NULL && st->fatal == 0) {
		int err = st->pos_fn(st->pos_arg, p->cur->sb, st->done_at, st->done_line);
		if (err != 0)
			st->fatal = err;
	}
	pthread_mutex_lock(&st->mu);
	while (st->nfree == 0)
		pthread_cond_wait(&st->cv, &st->mu);
	uint64_t seq = ++st->next_seq;
	p->cur->seq = seq;
	st->queue[(st->qhead + st->qlen) % NBATCH] = p->cur;
	__atomic_store_n(&st->qlen, st->qlen + 1, __ATOMIC_RELAXED);
	p->cur = st->freel[--st->nfree];
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return seq;
}

void ingest_writer_hold(struct ingest_stream *st, bool hold)
{
	pthread_mutex_lock(&st->mu);
	st->hold = hold;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}
