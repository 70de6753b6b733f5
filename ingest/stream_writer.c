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
	size_t n = 1;
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

/* A unit was written: add its counts (st->mu held). */
static void unit_written(struct ingest_stream *st, const struct wbatch *wb,
                         const struct store_write_stats *ws, size_t budget)
{
	st->sum.records += wb->records;
	st->sum.ws.dns_new += ws->dns_new;
	st->sum.ws.dns_merged += ws->dns_merged;
	st->sum.ws.sight_new += ws->sight_new;
	st->sum.ws.sight_merged += ws->sight_merged;
	st->sum.ws.certs_new += ws->certs_new;
	st->sum.ws.certs_joined += ws->certs_joined;
	st->sum.ws.clients += ws->clients;
	st->sum.ws.client_pairs_new += ws->client_pairs_new;
	st->sum.ws.retries += ws->retries;
	__atomic_store_n(&st->budget, budget, __ATOMIC_RELAXED);
}

/* Return a unit to the reading thread (st->mu held). */
static void unit_done(struct ingest_stream *st, struct wbatch *wb)
{
	wbatch_release(st, wb);
	st->done_seq = wb->seq;
	st->qhead = (st->qhead + 1) % NBATCH;
	st->qlen--;
	st->freel[st->nfree++] = wb;
	pthread_cond_broadcast(&st->cv);
}

void *ingest_writer_main(void *arg)
{
	struct ingest_stream *st = arg;
	pthread_setname_np(pthread_self(), "ip-writer"); /* for top -H, perf */
	struct wlist list = {0};
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->qlen == 0 && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->qlen == 0 && st->stop)
			break;
		struct wbatch *wb = st->queue[st->qhead];
		size_t n = unit_batches(st, wb, &list);
		int fatal = st->fatal;
		pthread_mutex_unlock(&st->mu);
		struct store_write_stats ws = {0};
		int err = 0;
		size_t budget = st->budget;
		if (fatal == 0 && !st->opts.dry_run) {
			err = store_write_batches(st->store, list.v, n, &ws);
			budget = st->opts.batch ? st->opts.batch : store_batch_budget(st->store);
		}
		pthread_mutex_lock(&st->mu);
		if (err != 0 && st->fatal == 0) {
			st->fatal = err;
			snprintf(st->fatal_msg, sizeof(st->fatal_msg), "%s", store_last_error());
		}
		if (err == 0 && fatal == 0)
			unit_written(st, wb, &ws, budget);
		unit_done(st, wb);
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
	st->qlen++;
	p->cur = st->freel[--st->nfree];
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return seq;
}
