/*
 * stream.c - the public stream API and line assembly.
 *
 * The reading thread cuts input into lines.  Lines of most formats are
 * parsed right there into the batch being filled (stream_batch.c), which
 * is handed to the writer thread (stream_writer.c) when it reaches the
 * budget; the writer commits one batch while the next fills.  Lines of
 * formats whose lines are independent go to the helper parsers
 * (stream_parse.c).  Rejects and progress: stream_report.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/stream_internal.h"
#include "util/mem.h"

void ingest_opts_init(struct ingest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = "auto";
	o->stderr_rejects = 20;
	o->batch = 0; /* sized to the database: see store_batch_budget() */
	o->max_line = 1 << 20;
}

static unsigned parsers_wanted(const struct ingest_opts *o)
{
	unsigned n = o->parsers;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus < 1 ? 1 : cpus > MAX_PARSERS ? MAX_PARSERS : (unsigned)cpus;
	}
	if (n > MAX_PARSERS)
		n = MAX_PARSERS;
	return n > 1 ? n : 0;
}

/* The options with their defaults filled in, and the named format. */
static int stream_opts(struct ingest_stream *st, const struct ingest_opts *o)
{
	st->opts = *o;
	if (st->opts.max_line == 0)
		st->opts.max_line = 1 << 20;
	if (st->opts.format == NULL)
		st->opts.format = "auto";
	if (strcmp(st->opts.format, "auto") != 0 && strcmp(st->opts.format, "x509") != 0) {
		st->default_fmt = ingest_format_find(st->opts.format);
		if (st->default_fmt == NULL)
			return -EINVAL;
	}
	return 0;
}

/* The line buffer, the parsers and the write units.  0 or -ENOMEM
 * (stream_buffers_free releases what was made). */
static int stream_buffers(struct ingest_stream *st)
{
	st->line_cap = 4096;
	st->line = malloc(st->line_cap + 1);
	if (st->line == NULL || ingest_parser_init(&st->main, st) != 0)
		return -ENOMEM;
	for (unsigned i = 0; i < st->nhelpers; i++)
		if (ingest_parser_init(&st->helpers[i], st) != 0)
			return -ENOMEM;
	for (int i = 0; i < NBATCH; i++)
		if (store_batch_new(&st->pool[i].sb) != 0)
			return -ENOMEM;
	st->main.cur = &st->pool[0];
	for (int i = 1; i < NBATCH; i++)
		st->freel[st->nfree++] = &st->pool[i];
	return 0;
}

static void stream_buffers_free(struct ingest_stream *st)
{
	for (int i = 0; i < NBATCH; i++)
		store_batch_free(st->pool[i].sb);
	ingest_parser_free(&st->main);
	for (unsigned i = 0; i < MAX_PARSERS; i++)
		ingest_parser_free(&st->helpers[i]);
	free(st->line);
}

static void stream_sync_destroy(struct ingest_stream *st)
{
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	pthread_cond_destroy(&st->chunk_cv);
	pthread_cond_destroy(&st->done_cv);
}

/* The locks and the writer thread. */
static int stream_start_writer(struct ingest_stream *st)
{
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pthread_cond_init(&st->chunk_cv, NULL);
	pthread_cond_init(&st->done_cv, NULL);
	if (pthread_create(&st->writer, NULL, ingest_writer_main, st) != 0) {
		stream_sync_destroy(st);
		return -ENOMEM;
	}
	st->writer_running = true;
	return 0;
}

int ingest_stream_new(ingest_stream_t **out, store_t *s, const struct ingest_opts *o)
{
	struct ingest_stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->store = s;
	st->newest = -1;
	if (stream_opts(st, o) != 0) {
		free(st);
		return -EINVAL;
	}
	st->nhelpers = parsers_wanted(&st->opts);
	if (stream_buffers(st) != 0)
		goto fail;
	if (st->opts.memory == 0)
		st->opts.memory = INGEST_MEMORY_DEFAULT;
	/* a ClickHouse store has no dirty pages: their three eighths hold
	 * the INSERT bodies of a write (store/ch_dispatch.c) */
	if (s != NULL)
		store_set_insert_memory(s, st->opts.memory / 8 * 3);
	/* the merge table (stream_writer.c): not with --batch, which asks for
	 * a commit every N observations */
	if (s != NULL && !st->opts.dry_run && st->opts.batch == 0) {
		if (store_batch_new(&st->acc) != 0)
			goto fail;
	}
	/* with the merge table, write units only carry records to it: their
	 * size no longer follows the trees, only the memory budget */
	if (st->acc != NULL)
		st->budget = st->opts.memory / 512 < 100000 ? st->opts.memory / 512 : 100000;
	else
		st->budget = st->opts.batch ? st->opts.batch : s ? store_batch_budget(s) : 100000;
	if (stream_start_writer(st) != 0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	*out = st;
	return 0;
fail:
	store_batch_free(st->acc);
	stream_buffers_free(st);
	free(st);
	return -ENOMEM;
}

static void *run_state_slot(struct ingest_stream *st, const struct ingest_format *f)
{
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++) {
		if (st->runs[i].fmt == f)
			return st->runs[i].state;
		if (st->runs[i].fmt == NULL)
			return NULL;
	}
	return NULL;
}

static void run_state_save(struct ingest_stream *st, const struct ingest_format *f, void *state)
{
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++) {
		if (st->runs[i].fmt == f || st->runs[i].fmt == NULL) {
			st->runs[i].fmt = f;
			st->runs[i].state = state;
			return;
		}
	}
}

static void process_line(struct ingest_stream *st, char *line, size_t len)
{
	struct ingest_ctx *c = &st->main.ctx;
	c->line++;
	while (len > 0 && (line[len - 1] == '\r'))
		line[--len] = '\0';
	size_t ws = 0;
	while (ws < len && (line[ws] == ' ' || line[ws] == '\t'))
		ws++;
	if (ws == len)
		return; /* blank */
	/* no text format has a raw NUL: a parser would see the line cut there */
	const char *nul = memchr(line, '\0', len);
	if (nul != NULL) {
		ingest_drain(st); /* reports stay in input order */
		st->sum.lines++;
		ingest_reject(c, "a NUL byte in the line (column %zu)", (size_t)(nul - line) + 1);
		ingest_report_reject(st, c->line, c->reason, line, len);
		return;
	}
	if (st->fmt == NULL) {
		st->fmt = ingest_format_detect(line, len);
		if (st->fmt == NULL) {
			ingest_drain(st); /* reports stay in input order */
			st->sum.lines++;
			ingest_reject(c, "cannot detect the format of this input from this line "
			                 "(use --format)");
			ingest_report_reject(st, c->line, c->reason, line, len);
			return;
		}
		c->run_state = run_state_slot(st, st->fmt);
	}
	if (ingest_parallel(st, st->fmt, line, len)) {
		if (ingest_chunk_add(st, line, len, false) != 0 && st->fatal == 0)
			st->fatal = -ENOMEM;
		return;
	}
	if (st->chunked)
		ingest_drain(st); /* a header line may change what the helpers read */
	ingest_parse_line(&st->main, st->fmt, line, len);
	if (c->run_state != NULL)
		run_state_save(st, st->fmt, c->run_state);
}

static void overlong_line(struct ingest_stream *st)
{
	struct ingest_ctx *c = &st->main.ctx;
	c->line++;
	if (st->fmt != NULL && ingest_parallel(st, st->fmt, NULL, 0)) {
		if (ingest_chunk_add(st, st->line, st->line_len, true) != 0 && st->fatal == 0)
			st->fatal = -ENOMEM;
		return;
	}
	ingest_drain(st);
	st->sum.lines++;
	ingest_reject(c, "line longer than %zu bytes (the limit)", st->opts.max_line);
	ingest_report_reject(st, c->line, c->reason, st->line, st->line_len);
}

int ingest_stream_unit(ingest_stream_t *st, uint64_t lineno, const char *text,
                       int (*fn)(struct ingest_ctx *c, void *arg), void *arg)
{
	ingest_drain(st);
	struct parser *p = &st->main;
	struct ingest_ctx *c = &p->ctx;
	c->line = lineno;
	p->nlobs = 0;
	c->reason[0] = '\0';
	ingest_json_arena_begin();
	int r = fn(c, arg);
	ingest_json_arena_end();
	ingest_line_done(p, r, text, strlen(text));
	return st->fatal;
}

const char *ingest_stream_format(const ingest_stream_t *st)
{
	return st->opts.format;
}

void ingest_stream_reset_runs(ingest_stream_t *st)
{
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++) {
		if (st->runs[i].fmt != NULL && st->runs[i].fmt->run_state_free != NULL &&
		    st->runs[i].state != NULL)
			st->runs[i].fmt->run_state_free(st->runs[i].state);
		st->runs[i].fmt = NULL;
		st->runs[i].state = NULL;
	}
	st->main.ctx.run_state = NULL;
}

void ingest_stream_set_line(ingest_stream_t *st, uint64_t n)
{
	st->main.ctx.line = n;
}

void ingest_stream_set_manual(ingest_stream_t *st, bool manual)
{
	ingest_drain(st);
	st->manual = manual;
}

void ingest_stream_set_position(ingest_stream_t *st, ingest_pos_fn fn, void *arg)
{
	ingest_drain(st);
	st->pos_fn = fn;
	st->pos_arg = arg;
}

void ingest_stream_counts(const ingest_stream_t *st, struct ingest_summary *out)
{
	*out = st->sum;
	out->records = st->parsed_records;
}

size_t ingest_stream_pending(const ingest_stream_t *st)
{
	return store_batch_len(st->main.cur->sb) + st->main.cur->group_len;
}

int ingest_stream_begin(ingest_stream_t *st, const char *name, const char *format,
                        uint64_t size_hint)
{
	ingest_drain(st);
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->fmt = st->default_fmt;
	if (format != NULL && strcmp(format, "auto") != 0) {
		st->fmt = ingest_format_find(format);
		if (st->fmt == NULL)
			return -EINVAL;
	} else if (format != NULL) {
		st->fmt = NULL;
	}
	struct ingest_ctx *c = &st->main.ctx;
	memset(c, 0, sizeof(*c));
	c->opts = &st->opts;
	c->input = st->name;
	c->st = st;
	c->p = &st->main;
	if (st->fmt != NULL)
		c->run_state = run_state_slot(st, st->fmt);
	st->line_len = 0;
	st->overlong = false;
	st->size_hint = size_hint;
	st->input_bytes = 0;
	st->input_ended = false;
	st->line_end_at = st->done_at = st->done_line = 0;
	st->sum.inputs++;
	return 0;
}

/* Add n bytes of the current line; past max_line keep only the head
 * (for the reject report).  0 or -ENOMEM. */
static int line_append(struct ingest_stream *st, const char *p, size_t n)
{
	if (st->line_len + n > st->opts.max_line) {
		size_t keep = st->line_len < 1024 ? 1024 - st->line_len : 0;
		if (keep > n)
			keep = n;
		if (keep > st->line_cap - st->line_len)
			keep = st->line_cap - st->line_len;
		memcpy(st->line + st->line_len, p, keep);
		st->line_len += keep;
		st->overlong = true;
		return 0;
	}
	if (st->line_len + n > st->line_cap) {
		size_t nc = st->line_cap;
		while (nc < st->line_len + n)
			nc *= 2;
		if (nc > st->opts.max_line)
			nc = st->opts.max_line;
		char *nb = realloc(st->line, nc + 1);
		if (nb == NULL)
			return -ENOMEM;
		st->line = nb;
		st->line_cap = nc;
	}
	memcpy(st->line + st->line_len, p, n);
	st->line_len += n;
	return 0;
}

/* The current line, ending at input byte `at`, is complete: parse it (or
 * reject it as too long). */
static void line_end(struct ingest_stream *st, uint64_t at)
{
	st->line_end_at = at;
	if (st->overlong) {
		overlong_line(st);
		st->overlong = false;
	} else {
		st->line[st->line_len] = '\0';
		process_line(st, st->line, st->line_len);
	}
	st->line_len = 0;
	st->done_at = at;
	st->done_line = st->main.ctx.line;
}

/* A whole line of the read buffer that goes to the helper parsers is
 * copied once, into their chunk, not first into the line buffer: what
 * process_line does for it, without writing to it.  Returns false for
 * any other line (blank or indented, with a NUL, of a line the helpers
 * do not take), which then takes the line buffer as before. */
static bool line_direct(struct ingest_stream *st, const char *p, size_t n, uint64_t at)
{
	while (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0 || p[0] == ' ' || p[0] == '\t' || st->fmt == NULL ||
	    memchr(p, '\0', n) != NULL || !ingest_parallel(st, st->fmt, p, n))
		return false;
	st->line_end_at = at;
	st->main.ctx.line++;
	if (ingest_chunk_add(st, p, n, false) != 0 && st->fatal == 0)
		st->fatal = -ENOMEM;
	st->done_at = at;
	st->done_line = st->main.ctx.line;
	return true;
}

int ingest_stream_feed(ingest_stream_t *st, const char *buf, size_t len)
{
	uint64_t base = st->input_bytes;
	st->sum.bytes += len;
	st->input_bytes += len;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (buf + i)) : len - i;
		if (nl != NULL && st->line_len == 0 && !st->overlong &&
		    chunk <= st->opts.max_line &&
		    line_direct(st, buf + i, chunk, base + i + chunk + 1)) {
			i += chunk + 1;
			if (st->fatal)
				return st->fatal;
			continue;
		}
		if (!st->overlong && line_append(st, buf + i, chunk) != 0)
			return -ENOMEM;
		i += chunk;
		if (nl == NULL)
			break;
		i++; /* the newline */
		line_end(st, base + i);
		if (st->fatal)
			return st->fatal;
	}
	ingest_progress(st, false);
	return st->fatal;
}

int ingest_stream_end(ingest_stream_t *st)
{
	if (st->overlong || st->line_len > 0)
		line_end(st, st->input_bytes);
	st->input_ended = true;
	ingest_drain(st);
	struct ingest_ctx *c = &st->main.ctx;
	if (st->fmt != NULL && st->fmt->state_free != NULL && c->state != NULL)
		st->fmt->state_free(c->state);
	c->state = NULL;
	return st->fatal;
}

uint64_t ingest_stream_line(const ingest_stream_t *st)
{
	return st->main.ctx.line;
}

int64_t ingest_stream_newest(const ingest_stream_t *st)
{
	return st->newest;
}

int ingest_stream_commit(ingest_stream_t *st, const struct store_meta_put *meta, size_t nmeta)
{
	ingest_drain(st);
	for (size_t i = 0; i < nmeta; i++) {
		int err = store_batch_meta(st->main.cur->sb, &meta[i]);
		if (err != 0)
			return err;
	}
	/* with a position record, a commit also moves the position on past
	 * lines that made no records (rejected, blank); the merge table's
	 * records are committed by any unit someone waits for */
	pthread_mutex_lock(&st->mu);
	bool pending = st->acc_pending || st->qlen > 0;
	pthread_mutex_unlock(&st->mu);
	if (wbatch_empty(st->main.cur) && st->pos_fn == NULL && !pending)
		return st->fatal;
	st->main.cur->sync = true;
	uint64_t seq = ingest_hand_over(st);
	pthread_mutex_lock(&st->mu);
	while (st->done_seq < seq)
		pthread_cond_wait(&st->cv, &st->mu);
	int err = st->fatal;
	pthread_mutex_unlock(&st->mu);
	if (err != 0 && st->fatal_msg[0] != '\0')
		store_last_error_set(st->fatal_msg);
	return err;
}

int ingest_stream_finish(ingest_stream_t *st, struct ingest_summary *sum)
{
	ingest_drain(st);
	if (!wbatch_empty(st->main.cur))
		ingest_hand_over(st);
	pthread_mutex_lock(&st->mu);
	st->stop = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->writer, NULL);
	st->writer_running = false;
	ingest_progress(st, true);
	if (st->fatal != 0 && st->fatal_msg[0] != '\0')
		store_last_error_set(st->fatal_msg); /* for the caller to report */
	st->sum.seconds = now_s() - ((double)st->t0.tv_sec + st->t0.tv_nsec / 1e9);
	if (sum != NULL)
		*sum = st->sum;
	return st->fatal;
}

int ingest_stream_open(ingest_stream_t **st, char **buf, size_t bufsize, store_t *s,
                       const struct ingest_opts *o)
{
	int err = ingest_stream_new(st, s, o);
	if (err != 0)
		return err;
	*buf = util_big_realloc(NULL, 0, bufsize, NULL); /* its pages warm from the last stream */
	if (*buf == NULL) {
		ingest_stream_free(*st);
		return -ENOMEM;
	}
	return 0;
}

int ingest_stream_close(ingest_stream_t *st, char *buf, struct ingest_summary *sum, int err)
{
	util_big_free(buf);
	int ferr = ingest_stream_finish(st, sum);
	ingest_stream_free(st);
	return err != 0 ? err : ferr;
}

/* Stop the helper threads and the writer. */
static void stream_stop_threads(struct ingest_stream *st)
{
	if (st->helpers_started) {
		pthread_mutex_lock(&st->mu);
		st->helpers_stop = true;
		pthread_cond_broadcast(&st->chunk_cv);
		pthread_mutex_unlock(&st->mu);
		for (unsigned i = 0; i < st->nhelpers; i++)
			if (st->helpers[i].running)
				pthread_join(st->helpers[i].tid, NULL);
	}
	if (st->writer_running) {
		pthread_mutex_lock(&st->mu);
		st->stop = true;
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->writer, NULL);
	}
}

static void stream_chunks_free(struct ingest_stream *st)
{
	for (unsigned i = 0; i < NCHUNKS; i++) {
		struct chunk *ch = &st->chunks[i];
		for (size_t j = 0; j < ch->capsb; j++)
			store_batch_free(ch->sb[j]);
		free(ch->sb);
		free(ch->rej);
		free(ch->rtext);
	}
	for (unsigned i = 0; i < NTEXT; i++) {
		util_big_free(st->texts[i].buf);
		util_big_free(st->texts[i].lines);
	}
}

void ingest_stream_free(ingest_stream_t *st)
{
	if (st == NULL)
		return;
	stream_stop_threads(st);
	ingest_stream_reset_runs(st);
	if (st->fmt != NULL && st->fmt->state_free != NULL && st->main.ctx.state != NULL)
		st->fmt->state_free(st->main.ctx.state);
	ingest_json_arena_release(); /* this thread parsed for the stream */
	stream_buffers_free(st);
	stream_chunks_free(st);
	stream_sync_destroy(st);
	store_batch_free(st->acc);
	free(st);
}
