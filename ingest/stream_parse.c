/*
 * stream_parse.c - the parallel helper parsers.
 *
 * Formats whose lines are independent of each other (COF, EVE) are
 * parsed by helper threads: the reading thread packs lines into
 * chunks, each helper parses whole chunks into store batches of the
 * chunk's own, and the reading thread retires parsed chunks in input
 * order: it counts them, reports their rejects, and appends their
 * batches to the group the writer will merge in one transaction, in
 * that order.  So counts, reject reports and the database come out as
 * if one thread had parsed everything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ingest/stream_internal.h"
#include "store/client.h"
#include "util/mem.h"

static void parse_chunk(struct parser *p, struct chunk *ch)
{
	struct ingest_ctx *c = &p->ctx;
	memset(c, 0, sizeof(*c));
	c->opts = &p->st->opts;
	c->input = p->st->name;
	c->st = p->st;
	c->p = p;
	p->chunk = ch;
	if (ch->fmt->state_share != NULL && ch->src_state != NULL) {
		if (p->hstate != NULL && p->hstate_fmt != ch->fmt) {
			p->hstate_fmt->state_free(p->hstate);
			p->hstate = NULL;
		}
		if (ch->fmt->state_share(&p->hstate, ch->src_state) != 0) {
			ch->nomem = true;
			p->chunk = NULL;
			return;
		}
		p->hstate_fmt = ch->fmt;
		c->state = p->hstate;
	}
	if (ingest_next_batch(p) != 0) {
		ch->nomem = true;
		p->chunk = NULL;
		return;
	}
	/* a fresh chunk's batch would grow by doubling, copying and touching
	 * twice the pages it ends with: size it like the last chunk's */
	if (p->client_line > 0)
		store_client_batch_reserve(ch->sb[ch->nsb - 1],
		                           (size_t)(p->client_line * 1.1 * (double)ch->nlines));
	for (size_t i = 0; i < ch->nlines; i++) {
		struct pline *l = &ch->text->lines[i];
		char *text = ch->text->buf + l->off;
		c->line = l->lineno;
		if (l->overlong) {
			ch->nlines_done++;
			ingest_reject(c, "line longer than %zu bytes (the limit)",
			              p->st->opts.max_line);
			ingest_chunk_reject(ch, l->lineno, c->reason, text, l->len);
			continue;
		}
		ingest_parse_line(p, ch->fmt, text, l->len);
	}
	size_t bytes = 0;
	for (size_t i = 0; i < ch->nsb; i++) {
		bytes += store_client_batch_bytes(ch->sb[i]);
		/* the writer merges what is sorted here (not needed: without
		 * memory it sorts them itself) */
		(void)store_client_batch_prepare(ch->sb[i], &p->sort_tmp);
	}
	p->client_line = ch->nlines > 0 ? (double)bytes / (double)ch->nlines : 0;
	p->chunk = NULL;
}

static void *helper_main(void *arg)
{
	struct parser *p = arg;
	struct ingest_stream *st = p->st;
	pthread_setname_np(pthread_self(), "ip-parser");
	/* the writer is the one thread everything waits for: when the CPUs
	 * are all busy, it goes first (a nicer thread, not a stricter policy:
	 * helpers still get what the writer leaves) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), HELPER_NICE) != 0) {
		/* not fatal: only slower when CPUs are short */
	}
	pthread_mutex_lock(&st->mu);
	for (;;) {
		/* the oldest queued chunk */
		struct chunk *ch = NULL;
		for (unsigned i = 0; i < NCHUNKS; i++)
			if (st->chunks[i].state == CH_QUEUED &&
			    (ch == NULL || st->chunks[i].seq < ch->seq))
				ch = &st->chunks[i];
		if (ch == NULL) {
			if (st->helpers_stop)
				break;
			pthread_cond_wait(&st->chunk_cv, &st->mu);
			continue;
		}
		ch->state = CH_PARSING;
		bool skip = st->fatal != 0;
		pthread_mutex_unlock(&st->mu);
		if (!skip)
			parse_chunk(p, ch);
		pthread_mutex_lock(&st->mu);
		ch->text->busy = false;
		ch->text = NULL;
		ch->state = CH_DONE;
		pthread_cond_broadcast(&st->done_cv);
	}
	pthread_mutex_unlock(&st->mu);
	if (p->hstate != NULL)
		p->hstate_fmt->state_free(p->hstate);
	p->hstate = NULL;
	ingest_json_arena_release();
	return NULL;
}

static bool helpers_start(struct ingest_stream *st)
{
	if (!st->helpers_started) {
		for (unsigned i = 0; i < st->nhelpers; i++) {
			if (pthread_create(&st->helpers[i].tid, NULL, helper_main,
			                   &st->helpers[i]) != 0) {
				st->nhelpers = i; /* go on with the ones there are */
				break;
			}
			st->helpers[i].running = true;
		}
		st->helpers_started = true;
	}
	return st->nhelpers > 0;
}

/* Retire a parsed chunk: counts and rejects into the summary, its
 * batches into the write unit.  Called with st->mu held (dropped while
 * reporting); may hand the unit over. */
static void retire(struct ingest_stream *st, struct chunk *ch)
{
	ch->state = CH_GROUPED;
	st->retire_seq++;
	if (ch->nomem && st->fatal == 0)
		st->fatal = -ENOMEM;
	pthread_mutex_unlock(&st->mu);
	st->sum.lines += ch->nlines_done;
	st->sum.accepted += ch->accepted;
	st->sum.skipped += ch->skipped;
	st->sum.rdata_skipped += ch->rdata_skipped;
	if (ch->newest > st->newest)
		st->newest = ch->newest;
	for (size_t i = 0; i < ch->nrej; i++)
		ingest_report_reject(st, ch->rej[i].line, ch->rej[i].reason,
		                     ch->rtext + ch->rej[i].text_off, ch->rej[i].text_len);
	ch->nlines = ch->nrej = ch->rtlen = 0;
	ch->nlines_done = ch->accepted = ch->skipped = ch->rdata_skipped = 0;
	ch->nomem = false;
	/* a unit holds parsed chunks after what the reading thread parsed
	 * itself: keep input order by handing that over first */
	struct wbatch *wb = st->main.cur;
	if (!store_batch_empty(wb->sb) || wb->ngroup == GROUP_MAX)
		ingest_hand_over(st);
	wb = st->main.cur;
	wb->group[wb->ngroup++] = ch;
	wb->records += ch->records;
	for (size_t j = 0; j < ch->nsb; j++)
		wb->group_len += store_batch_len(ch->sb[j]);
	ch->records = 0;
	if (!st->manual && wb->group_len >= budget_now(st))
		ingest_hand_over(st);
	pthread_mutex_lock(&st->mu);
}

/* Retire the parsed chunks at the head of the input, in order; with
 * wait, until no chunk is queued or being parsed. */
static void retire_ready(struct ingest_stream *st, bool wait)
{
	pthread_mutex_lock(&st->mu);
	for (;;) {
		struct chunk *next = NULL;
		bool pending = false;
		for (unsigned i = 0; i < NCHUNKS; i++) {
			struct chunk *ch = &st->chunks[i];
			if (ch->state == CH_QUEUED || ch->state == CH_PARSING ||
			    ch->state == CH_DONE) {
				pending = true;
				if (ch->seq == st->retire_seq)
					next = ch;
			}
		}
		if (next != NULL && next->state == CH_DONE) {
			retire(st, next);
			continue;
		}
		if (!wait || !pending)
			break;
		pthread_cond_wait(&st->done_cv, &st->mu);
	}
	pthread_mutex_unlock(&st->mu);
}

/* Queue the chunk being filled for the helpers. */
static void chunk_queue(struct ingest_stream *st)
{
	struct chunk *ch = st->filling;
	if (ch == NULL)
		return;
	st->filling = NULL;
	pthread_mutex_lock(&st->mu);
	ch->state = CH_QUEUED;
	pthread_cond_signal(&st->chunk_cv);
	pthread_mutex_unlock(&st->mu);
	retire_ready(st, false);
}

/* Every line handed to the helpers parsed and retired (their batches
 * wait in the write unit). */
void ingest_drain(struct ingest_stream *st)
{
	if (!st->helpers_started)
		return;
	chunk_queue(st);
	retire_ready(st, true);
	st->chunked = false;
}

/* A chunk to fill, with a line buffer.  When every chunk or buffer is
 * in use, retire what is parsed, and hand the unit over when nothing
 * else can free one. */
static struct chunk *chunk_get(struct ingest_stream *st)
{
	if (st->filling != NULL)
		return st->filling;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		struct chunk *ch = NULL;
		struct text *tx = NULL;
		bool parsing = false, done = false;
		for (unsigned i = 0; i < NCHUNKS; i++) {
			enum chunk_state s = st->chunks[i].state;
			if (s == CH_FREE && ch == NULL)
				ch = &st->chunks[i];
			parsing |= s == CH_QUEUED || s == CH_PARSING;
			/* only the oldest can be retired: later ones wait for it */
			done |= s == CH_DONE && st->chunks[i].seq == st->retire_seq;
		}
		/* one filling, and two a helper (parsing, queued): more only
		 * parse ahead of a writer that bounds the pace anyway, in
		 * pages touched for the first time (some 20 us each where
		 * the host maps a guest's pages lazily) */
		unsigned ntext = 2 * st->nhelpers + 2;
		for (unsigned i = 0; i < ntext && i < NTEXT && tx == NULL; i++)
			if (!st->texts[i].busy)
				tx = &st->texts[i];
		if (ch != NULL && tx != NULL) {
			ch->state = CH_FILLING;
			ch->seq = st->chunk_seq++;
			ch->newest = -1;
			ch->len = 0;
			ch->text = tx;
			tx->busy = true;
			pthread_mutex_unlock(&st->mu);
			st->filling = ch;
			return ch;
		}
		if (done) {
			pthread_mutex_unlock(&st->mu);
			retire_ready(st, false);
			pthread_mutex_lock(&st->mu);
			if (ch == NULL && st->main.cur->ngroup > 0) {
				/* the free chunks are in the unit being filled */
				pthread_mutex_unlock(&st->mu);
				ingest_hand_over(st);
				pthread_mutex_lock(&st->mu);
			}
			continue;
		}
		if (!parsing && ch == NULL && st->main.cur->ngroup > 0) {
			pthread_mutex_unlock(&st->mu);
			ingest_hand_over(st);
			pthread_mutex_lock(&st->mu);
			continue;
		}
		/* a helper will finish a chunk, or the writer free some */
		pthread_cond_wait(&st->done_cv, &st->mu);
	}
}

/* Add a line (or the head of an over-long one) to the chunk being
 * filled; queue it when full.  Returns 0 or -ENOMEM. */
int ingest_chunk_add(struct ingest_stream *st, const char *line, size_t len, bool overlong)
{
	struct chunk *ch = chunk_get(st);
	struct text *tx = ch->text;
	ch->fmt = st->fmt;
	/* unchanged while the chunk is out: a line that could change it is
	 * parsed only after a drain */
	ch->src_state = st->main.ctx.state;
	st->chunked = true;
	if (overlong && len > 1024)
		len = 1024;
	if (ch->len + len + 1 > tx->cap) {
		size_t nc = tx->cap ? tx->cap : CHUNK_BYTES + 4096;
		while (nc < ch->len + len + 1)
			nc *= 2;
		size_t got; /* big-buffer memory, kept across streams (util/mem.h) */
		char *nb = util_big_realloc(tx->buf, ch->len, nc, &got);
		if (nb == NULL)
			return -ENOMEM;
		util_populate(nb, tx->cap, nc); /* lines fill it from start to end */
		tx->buf = nb;
		tx->cap = got;
	}
	if (ch->nlines == tx->caplines) {
		size_t nc = tx->caplines ? tx->caplines * 2 : CHUNK_LINES;
		size_t got;
		struct pline *nl =
		    util_big_realloc(tx->lines, ch->nlines * sizeof(*nl), nc * sizeof(*nl), &got);
		if (nl == NULL)
			return -ENOMEM;
		util_populate(nl, tx->caplines * sizeof(*nl), nc * sizeof(*nl));
		tx->lines = nl;
		tx->caplines = got / sizeof(*nl);
	}
	tx->lines[ch->nlines++] = (struct pline){st->main.ctx.line, ch->len, len, overlong};
	memcpy(tx->buf + ch->len, line, len);
	tx->buf[ch->len + len] = '\0';
	ch->len += len + 1;
	/* a quarter of the budget in lines (a line makes one or more
	 * records), so a unit of a few chunks is about one budget */
	size_t lines = budget_now(st) / 4;
	lines = lines < 256 ? 256 : lines > CHUNK_LINES ? CHUNK_LINES : lines;
	if (ch->len >= CHUNK_BYTES || ch->nlines >= lines)
		chunk_queue(st);
	return 0;
}

/* Whether this line of fmt goes to the helper parsers (line NULL: an
 * over-long line, whose head only is kept). */
bool ingest_parallel(struct ingest_stream *st, const struct ingest_format *fmt, const char *line,
                     size_t len)
{
	if (st->manual || st->pos_fn != NULL || st->nhelpers == 0)
		return false;
	if (!fmt->independent) {
		const void *state = st->main.ctx.state;
		if (fmt->line_parallel == NULL || state == NULL || line == NULL ||
		    !fmt->line_parallel(state, line, len))
			return false;
	}
	return helpers_start(st);
}
