/*
 * stream.c - line assembly, batching, the writer thread, reject reports
 * and the progress bar.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest_internal.h"

#define LINE_SLACK 4096 /* observations one line may produce */

struct batch {
	struct store_obs *obs;
	size_t n, cap;
	struct store_cert_meta **metas;
	size_t nmetas, capmetas;
	struct store_meta_put meta[4];
	void *meta_copy[8];
	size_t nmeta;
	uint64_t seq;
};

struct ingest_stream {
	store_t *store;
	struct ingest_opts opts;
	/* current input */
	char name[1024];
	const struct ingest_format *fmt;
	const struct ingest_format *default_fmt;
	bool auto_detect;
	struct ingest_ctx ctx;
	char *line;
	size_t line_len, line_cap;
	bool overlong;
	uint64_t size_hint, input_bytes;
	/* run states of formats, indexed by format pointer */
	struct {
		const struct ingest_format *fmt;
		void *state;
	} runs[16];
	/* batches: cur is filled by the parser, the writer takes full ones */
	struct batch pool[3];
	struct batch *cur;
	struct batch *queue[3];
	unsigned qhead, qlen;
	struct batch *freel[3];
	unsigned nfree;
	uint64_t next_seq, done_seq;
	bool stop;
	int fatal;
	pthread_t writer;
	bool writer_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t line_start; /* first slot of the line being parsed */
	size_t line_meta_start;
	struct ingest_summary sum;
	struct timespec t0;
	double last_progress;
	bool progress_shown;
	bool manual;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ingest_opts_init(struct ingest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = "auto";
	o->stderr_rejects = 20;
	o->batch = 10000;
	o->max_line = 1 << 20;
}

static void batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->nmetas; i++) {
		ingest_cert_meta_free(b->metas[i]);
		free(b->metas[i]);
	}
	b->nmetas = 0;
	for (size_t i = 0; i < b->nmeta * 2; i++)
		free(b->meta_copy[i]);
	b->nmeta = 0;
	b->n = 0;
}

static void *writer_main(void *arg)
{
	struct ingest_stream *st = arg;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->qlen == 0 && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->qlen == 0 && st->stop)
			break;
		struct batch *b = st->queue[st->qhead];
		pthread_mutex_unlock(&st->mu);
		int err = 0;
		struct store_write_stats ws = { 0 };
		if (st->fatal == 0 && !st->opts.dry_run)
			err = store_write(st->store, b->obs, b->n, b->meta, b->nmeta, &ws);
		pthread_mutex_lock(&st->mu);
		if (err != 0 && st->fatal == 0)
			st->fatal = err;
		st->sum.records += err == 0 ? b->n : 0;
		st->sum.ws.dns_new += ws.dns_new;
		st->sum.ws.dns_merged += ws.dns_merged;
		st->sum.ws.sight_new += ws.sight_new;
		st->sum.ws.sight_merged += ws.sight_merged;
		st->sum.ws.certs_new += ws.certs_new;
		st->sum.ws.certs_joined += ws.certs_joined;
		st->sum.ws.retries += ws.retries;
		st->qhead = (st->qhead + 1) % 3;
		st->qlen--;
		st->done_seq = b->seq;
		batch_reset(b);
		st->freel[st->nfree++] = b;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

int ingest_stream_new(ingest_stream_t **out, store_t *s, const struct ingest_opts *o)
{
	struct ingest_stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->store = s;
	st->opts = *o;
	if (st->opts.batch == 0)
		st->opts.batch = 10000;
	if (st->opts.max_line == 0)
		st->opts.max_line = 1 << 20;
	if (st->opts.format == NULL)
		st->opts.format = "auto";
	if (strcmp(st->opts.format, "auto") != 0 && strcmp(st->opts.format, "x509") != 0) {
		st->default_fmt = ingest_format_find(st->opts.format);
		if (st->default_fmt == NULL) {
			free(st);
			return -EINVAL;
		}
	}
	for (int i = 0; i < 3; i++) {
		st->pool[i].cap = st->opts.batch + LINE_SLACK;
		st->pool[i].obs = malloc(st->pool[i].cap * sizeof(struct store_obs));
		if (st->pool[i].obs == NULL)
			goto fail;
		if (i > 0)
			st->freel[st->nfree++] = &st->pool[i];
	}
	st->cur = &st->pool[0];
	st->line_cap = 4096;
	st->line = malloc(st->line_cap + 1);
	if (st->line == NULL)
		goto fail;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0)
		goto fail;
	st->writer_running = true;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	*out = st;
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		free(st->pool[i].obs);
	free(st->line);
	free(st);
	return -ENOMEM;
}

/* Hand the current batch to the writer and take a free one. */
static int flush_batch(struct ingest_stream *st, bool force)
{
	if (st->cur->n == 0 && st->cur->nmeta == 0 && !force)
		return st->fatal;
	pthread_mutex_lock(&st->mu);
	st->cur->seq = ++st->next_seq;
	st->queue[(st->qhead + st->qlen) % 3] = st->cur;
	st->qlen++;
	pthread_cond_broadcast(&st->cv);
	while (st->nfree == 0)
		pthread_cond_wait(&st->cv, &st->mu);
	st->cur = st->freel[--st->nfree];
	int fatal = st->fatal;
	pthread_mutex_unlock(&st->mu);
	return fatal;
}

struct store_obs *ingest_obs_new(struct ingest_ctx *c)
{
	struct ingest_stream *st = c->st;
	struct batch *b = st->cur;
	if (b->n >= b->cap || b->n - st->line_start >= LINE_SLACK)
		return NULL;
	struct store_obs *o = &b->obs[b->n++];
	memset(o, 0, offsetof(struct store_obs, dns));
	memset(&o->dns, 0, sizeof(o->dns) > sizeof(o->cert) ? sizeof(o->dns) : sizeof(o->cert));
	o->count = 1;
	if (st->opts.sensor != NULL)
		snprintf(o->sensor, sizeof(o->sensor), "%s", st->opts.sensor);
	return o;
}

struct store_cert_meta *ingest_meta_new(struct ingest_ctx *c)
{
	struct batch *b = c->st->cur;
	if (b->nmetas == b->capmetas) {
		size_t nc = b->capmetas ? b->capmetas * 2 : 64;
		struct store_cert_meta **nm = realloc(b->metas, nc * sizeof(*nm));
		if (nm == NULL)
			return NULL;
		b->metas = nm;
		b->capmetas = nc;
	}
	struct store_cert_meta *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	b->metas[b->nmetas++] = m;
	return m;
}

void ingest_note_rdata_skipped(struct ingest_ctx *c, uint64_t n)
{
	c->st->sum.rdata_skipped += n;
}

int ingest_reject(struct ingest_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return INGEST_REJECT;
}

static void json_escape_to(FILE *f, const char *s, size_t n)
{
	json_t *str = json_stringn_nocheck(s, n);
	char *enc = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	fputs(enc ? enc : "\"\"", f);
	free(enc);
	json_decref(str);
}

static void report_reject(struct ingest_stream *st, const char *text, size_t len)
{
	struct ingest_ctx *c = &st->ctx;
	st->sum.rejected++;
	if (!st->opts.quiet && st->sum.rejected <= st->opts.stderr_rejects) {
		if (st->progress_shown) {
			fputs("\r\033[K", stderr);
		}
		fprintf(stderr, "%s:%llu: rejected: %s\n", st->name, (unsigned long long)c->line,
			c->reason);
		if (st->sum.rejected == st->opts.stderr_rejects)
			fprintf(stderr, "(further rejects not shown here%s)\n",
				st->opts.rejects ? "; all are in the rejects file" : "; use --rejects FILE");
	}
	if (st->opts.rejects != NULL) {
		FILE *f = st->opts.rejects;
		fputs("{\"input\":", f);
		json_escape_to(f, st->name, strlen(st->name));
		fprintf(f, ",\"line\":%llu,\"reason\":", (unsigned long long)c->line);
		json_escape_to(f, c->reason, strlen(c->reason));
		fputs(",\"text\":", f);
		json_escape_to(f, text, len > 1024 ? 1024 : len);
		fputs("}\n", f);
	}
	if (st->opts.on_reject != NULL)
		st->opts.on_reject(st->name, c->line, c->reason, st->opts.reject_ctx);
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
	struct ingest_ctx *c = &st->ctx;
	c->line++;
	while (len > 0 && (line[len - 1] == '\r'))
		line[--len] = '\0';
	size_t ws = 0;
	while (ws < len && (line[ws] == ' ' || line[ws] == '\t'))
		ws++;
	if (ws == len)
		return; /* blank */
	if (st->fmt == NULL) {
		st->fmt = ingest_format_detect(line, len);
		if (st->fmt == NULL) {
			st->sum.lines++;
			ingest_reject(c, "cannot detect the format of this input from this line "
					 "(use --format)");
			report_reject(st, line, len);
			return;
		}
		c->run_state = run_state_slot(st, st->fmt);
	}
	st->line_start = st->cur->n;
	st->line_meta_start = st->cur->nmetas;
	c->reason[0] = '\0';
	int r = st->fmt->line(c, line, len);
	if (c->run_state != NULL)
		run_state_save(st, st->fmt, c->run_state);
	if (r == INGEST_HEADER)
		return;
	st->sum.lines++;
	if (r == INGEST_REJECT) {
		/* drop whatever the line claimed */
		struct batch *b = st->cur;
		for (size_t i = st->line_meta_start; i < b->nmetas; i++) {
			ingest_cert_meta_free(b->metas[i]);
			free(b->metas[i]);
		}
		b->nmetas = st->line_meta_start;
		b->n = st->line_start;
		if (c->reason[0] == '\0')
			snprintf(c->reason, sizeof(c->reason), "invalid line");
		report_reject(st, line, len);
		return;
	}
	if (r == INGEST_SKIP)
		st->sum.skipped++;
	else
		st->sum.accepted++;
	if (st->cur->n >= st->opts.batch && !st->manual)
		flush_batch(st, false);
}

int ingest_stream_unit(ingest_stream_t *st, uint64_t lineno, const char *text,
		       int (*fn)(struct ingest_ctx *c, void *arg), void *arg)
{
	struct ingest_ctx *c = &st->ctx;
	c->line = lineno;
	st->line_start = st->cur->n;
	st->line_meta_start = st->cur->nmetas;
	c->reason[0] = '\0';
	int r = fn(c, arg);
	st->sum.lines++;
	if (r == INGEST_REJECT) {
		struct batch *b = st->cur;
		for (size_t i = st->line_meta_start; i < b->nmetas; i++) {
			ingest_cert_meta_free(b->metas[i]);
			free(b->metas[i]);
		}
		b->nmetas = st->line_meta_start;
		b->n = st->line_start;
		if (c->reason[0] == '\0')
			snprintf(c->reason, sizeof(c->reason), "invalid input");
		report_reject(st, text, strlen(text));
	} else if (r == INGEST_SKIP) {
		st->sum.skipped++;
	} else {
		st->sum.accepted++;
	}
	if (st->cur->n >= st->opts.batch && !st->manual)
		flush_batch(st, false);
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
	st->ctx.run_state = NULL;
}

void ingest_stream_set_line(ingest_stream_t *st, uint64_t n)
{
	st->ctx.line = n;
}

void ingest_stream_set_manual(ingest_stream_t *st, bool manual)
{
	st->manual = manual;
}

size_t ingest_stream_pending(const ingest_stream_t *st)
{
	return st->cur->n;
}

int ingest_stream_begin(ingest_stream_t *st, const char *name, const char *format,
			uint64_t size_hint)
{
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->fmt = st->default_fmt;
	if (format != NULL && strcmp(format, "auto") != 0) {
		st->fmt = ingest_format_find(format);
		if (st->fmt == NULL)
			return -EINVAL;
	} else if (format != NULL) {
		st->fmt = NULL;
	}
	memset(&st->ctx, 0, sizeof(st->ctx));
	st->ctx.opts = &st->opts;
	st->ctx.input = st->name;
	st->ctx.st = st;
	if (st->fmt != NULL)
		st->ctx.run_state = run_state_slot(st, st->fmt);
	st->line_len = 0;
	st->overlong = false;
	st->size_hint = size_hint;
	st->input_bytes = 0;
	st->sum.inputs++;
	return 0;
}

static void progress(struct ingest_stream *st, bool final)
{
	if (!st->opts.progress)
		return;
	double t = now_s();
	double start = (double)st->t0.tv_sec + st->t0.tv_nsec / 1e9;
	double el = t - start;
	if (!final && (el < 2.0 || t - st->last_progress < 0.25))
		return;
	if (final && !st->progress_shown)
		return;
	st->last_progress = t;
	st->progress_shown = true;
	double rate = el > 0 ? (double)st->sum.lines / el : 0;
	if (st->size_hint > 0) {
		double frac = (double)st->input_bytes / (double)st->size_hint;
		if (frac > 1)
			frac = 1;
		char bar[31];
		int fill = (int)(frac * 30);
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '=' : ' ';
		bar[30] = '\0';
		double eta = frac > 0 ? el / frac - el : 0;
		fprintf(stderr, "\r\033[K[%s] %3.0f%% %.1f/%.1f MB %.0f lines/s ETA %d:%02d", bar,
			frac * 100, st->input_bytes / 1e6, st->size_hint / 1e6, rate,
			(int)eta / 60, (int)eta % 60);
	} else {
		fprintf(stderr, "\r\033[K%.1f MB %llu lines %.0f lines/s", st->input_bytes / 1e6,
			(unsigned long long)st->sum.lines, rate);
	}
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

int ingest_stream_feed(ingest_stream_t *st, const char *buf, size_t len)
{
	st->sum.bytes += len;
	st->input_bytes += len;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (buf + i)) : len - i;
		if (!st->overlong) {
			if (st->line_len + chunk > st->opts.max_line) {
				st->overlong = true;
			} else {
				if (st->line_len + chunk > st->line_cap) {
					size_t nc = st->line_cap;
					while (nc < st->line_len + chunk)
						nc *= 2;
					if (nc > st->opts.max_line)
						nc = st->opts.max_line;
					char *nb = realloc(st->line, nc + 1);
					if (nb == NULL)
						return -ENOMEM;
					st->line = nb;
					st->line_cap = nc;
				}
				memcpy(st->line + st->line_len, buf + i, chunk);
				st->line_len += chunk;
			}
		}
		i += chunk;
		if (nl == NULL)
			break;
		i++; /* the newline */
		if (st->overlong) {
			st->ctx.line++;
			st->sum.lines++;
			ingest_reject(&st->ctx, "line longer than %zu bytes (the limit)",
				      st->opts.max_line);
			report_reject(st, st->line, st->line_len);
			st->overlong = false;
		} else {
			st->line[st->line_len] = '\0';
			process_line(st, st->line, st->line_len);
		}
		st->line_len = 0;
		if (st->fatal)
			return st->fatal;
	}
	progress(st, false);
	return st->fatal;
}

int ingest_stream_end(ingest_stream_t *st)
{
	if (st->overlong) {
		st->ctx.line++;
		st->sum.lines++;
		ingest_reject(&st->ctx, "line longer than %zu bytes (the limit)", st->opts.max_line);
		report_reject(st, st->line, st->line_len);
	} else if (st->line_len > 0) {
		st->line[st->line_len] = '\0';
		process_line(st, st->line, st->line_len);
	}
	st->line_len = 0;
	st->overlong = false;
	if (st->fmt != NULL && st->fmt->state_free != NULL && st->ctx.state != NULL)
		st->fmt->state_free(st->ctx.state);
	st->ctx.state = NULL;
	return st->fatal;
}

uint64_t ingest_stream_line(const ingest_stream_t *st)
{
	return st->ctx.line;
}

int ingest_stream_commit(ingest_stream_t *st, const struct store_meta_put *meta, size_t nmeta)
{
	struct batch *b = st->cur;
	if (nmeta > 4)
		return -EINVAL;
	for (size_t i = 0; i < nmeta; i++) {
		void *k = malloc(meta[i].klen ? meta[i].klen : 1);
		void *v = malloc(meta[i].vlen ? meta[i].vlen : 1);
		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			return -ENOMEM;
		}
		memcpy(k, meta[i].key, meta[i].klen);
		memcpy(v, meta[i].val, meta[i].vlen);
		b->meta_copy[2 * i] = k;
		b->meta_copy[2 * i + 1] = v;
		b->meta[i] = (struct store_meta_put){ k, meta[i].klen, v, meta[i].vlen };
	}
	b->nmeta = nmeta;
	if (b->n == 0 && nmeta == 0)
		return st->fatal;
	int err = flush_batch(st, true);
	uint64_t seq = st->next_seq;
	pthread_mutex_lock(&st->mu);
	while (st->done_seq < seq && st->fatal == 0)
		pthread_cond_wait(&st->cv, &st->mu);
	err = st->fatal;
	pthread_mutex_unlock(&st->mu);
	return err;
}

int ingest_stream_finish(ingest_stream_t *st, struct ingest_summary *sum)
{
	flush_batch(st, false);
	pthread_mutex_lock(&st->mu);
	st->stop = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->writer, NULL);
	st->writer_running = false;
	progress(st, true);
	st->sum.seconds = now_s() - ((double)st->t0.tv_sec + st->t0.tv_nsec / 1e9);
	if (sum != NULL)
		*sum = st->sum;
	return st->fatal;
}

void ingest_stream_free(ingest_stream_t *st)
{
	if (st == NULL)
		return;
	if (st->writer_running) {
		pthread_mutex_lock(&st->mu);
		st->stop = true;
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->writer, NULL);
	}
	for (int i = 0; i < 3; i++) {
		batch_reset(&st->pool[i]);
		free(st->pool[i].obs);
		free(st->pool[i].metas);
	}
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++)
		if (st->runs[i].fmt != NULL && st->runs[i].fmt->run_state_free != NULL &&
		    st->runs[i].state != NULL)
			st->runs[i].fmt->run_state_free(st->runs[i].state);
	if (st->fmt != NULL && st->fmt->state_free != NULL && st->ctx.state != NULL)
		st->fmt->state_free(st->ctx.state);
	free(st->line);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}
