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

#define LINE_SLACK 1024 /* observations one line may produce */

/* Store batches: the parser fills one while the writer thread commits
 * another.  (A third measured no faster on two cores, and costs RSS.) */
#define NBATCH 2
struct wbatch {
	store_batch_t *sb;
	uint64_t seq;
	size_t records;
};

struct ingest_stream {
	store_t *store;
	struct ingest_opts opts;
	/* current input */
	char name[1024];
	const struct ingest_format *fmt;
	const struct ingest_format *default_fmt;
	struct ingest_ctx ctx;
	char *line;
	size_t line_len, line_cap;
	bool overlong;
	uint64_t size_hint, input_bytes;
	/* run states of formats (joins across inputs of one stream) */
	struct {
		const struct ingest_format *fmt;
		void *state;
	} runs[16];
	/* the observations of the line being parsed */
	struct store_obs *lobs;
	size_t nlobs;
	struct store_cert_meta **lmetas;
	size_t nlmetas, caplmetas;
	/* batches */
	struct wbatch pool[NBATCH];
	struct wbatch *cur;      /* filled by the parser */
	struct wbatch *queue[NBATCH]; /* handed to the writer, oldest first */
	unsigned qhead, qlen;
	struct wbatch *freel[NBATCH];
	unsigned nfree;
	uint64_t next_seq, done_seq;
	size_t budget;
	bool stop;
	int fatal;
	pthread_t writer;
	bool writer_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ingest_summary sum;
	int64_t newest; /* largest time_last of the accepted lines; -1 none */
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
	o->batch = 0; /* sized to the database: see store_batch_budget() */
	o->max_line = 1 << 20;
}

static void *writer_main(void *arg)
{
	struct ingest_stream *st = arg;
	pthread_setname_np(pthread_self(), "ip-writer"); /* for top -H, perf */
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->qlen == 0 && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->qlen == 0 && st->stop)
			break;
		struct wbatch *wb = st->queue[st->qhead];
		int fatal = st->fatal;
		pthread_mutex_unlock(&st->mu);
		struct store_write_stats ws = { 0 };
		int err = 0;
		size_t budget = st->budget;
		if (fatal == 0 && !st->opts.dry_run) {
			err = store_write_batch(st->store, wb->sb, &ws);
			budget = st->opts.batch ? st->opts.batch : store_batch_budget(st->store);
		}
		store_batch_reset(wb->sb);
		pthread_mutex_lock(&st->mu);
		if (err != 0 && st->fatal == 0)
			st->fatal = err;
		if (err == 0 && fatal == 0) {
			st->sum.records += wb->records;
			st->sum.ws.dns_new += ws.dns_new;
			st->sum.ws.dns_merged += ws.dns_merged;
			st->sum.ws.sight_new += ws.sight_new;
			st->sum.ws.sight_merged += ws.sight_merged;
			st->sum.ws.certs_new += ws.certs_new;
			st->sum.ws.certs_joined += ws.certs_joined;
			st->sum.ws.retries += ws.retries;
			st->budget = budget;
		}
		wb->records = 0;
		st->done_seq = wb->seq;
		st->qhead = (st->qhead + 1) % NBATCH;
		st->qlen--;
		st->freel[st->nfree++] = wb;
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
	st->newest = -1;
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
	st->lobs = malloc(LINE_SLACK * sizeof(*st->lobs));
	st->line_cap = 4096;
	st->line = malloc(st->line_cap + 1);
	if (st->lobs == NULL || st->line == NULL)
		goto fail;
	for (int i = 0; i < NBATCH; i++)
		if (store_batch_new(&st->pool[i].sb) != 0)
			goto fail;
	st->cur = &st->pool[0];
	for (int i = 1; i < NBATCH; i++)
		st->freel[st->nfree++] = &st->pool[i];
	st->budget = st->opts.batch ? st->opts.batch : s ? store_batch_budget(s) : 100000;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->cv);
		goto fail;
	}
	st->writer_running = true;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	*out = st;
	return 0;
fail:
	for (int i = 0; i < NBATCH; i++)
		store_batch_free(st->pool[i].sb);
	free(st->lobs);
	free(st->line);
	free(st);
	return -ENOMEM;
}

/* Hand the batch being filled to the writer and take the spare one.
 * Returns the sequence number the handed batch will be done at. */
static uint64_t hand_over(struct ingest_stream *st)
{
	pthread_mutex_lock(&st->mu);
	while (st->nfree == 0)
		pthread_cond_wait(&st->cv, &st->mu);
	uint64_t seq = ++st->next_seq;
	st->cur->seq = seq;
	st->queue[(st->qhead + st->qlen) % NBATCH] = st->cur;
	st->qlen++;
	st->cur = st->freel[--st->nfree];
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return seq;
}

static void free_line_metas(struct ingest_stream *st)
{
	for (size_t i = 0; i < st->nlmetas; i++) {
		ingest_cert_meta_free(st->lmetas[i]);
		free(st->lmetas[i]);
	}
	st->nlmetas = 0;
}

struct store_obs *ingest_obs_new(struct ingest_ctx *c)
{
	struct ingest_stream *st = c->st;
	if (st->nlobs >= LINE_SLACK)
		return NULL;
	struct store_obs *o = &st->lobs[st->nlobs++];
	/* zero the header and the certificate part (it overlaps the start of
	 * the DNS part), then the DNS fields beyond it */
	memset(o, 0, offsetof(struct store_obs, dns) + sizeof(o->cert));
	o->dns.bailiwick[0] = '\0';
	o->dns.rrtype = 0;
	o->dns.rdata[0] = '\0';
	memset(o->dns.addr, 0, sizeof(o->dns.addr));
	o->count = 1;
	if (st->opts.sensor != NULL) {
		size_t l = strnlen(st->opts.sensor, STORE_SENSOR_MAX - 1);
		memcpy(o->sensor, st->opts.sensor, l);
		o->sensor[l] = '\0';
	}
	return o;
}

struct store_cert_meta *ingest_meta_new(struct ingest_ctx *c)
{
	struct ingest_stream *st = c->st;
	if (st->nlmetas == st->caplmetas) {
		size_t nc = st->caplmetas ? st->caplmetas * 2 : 16;
		struct store_cert_meta **nm = realloc(st->lmetas, nc * sizeof(*nm));
		if (nm == NULL)
			return NULL;
		st->lmetas = nm;
		st->caplmetas = nc;
	}
	struct store_cert_meta *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	st->lmetas[st->nlmetas++] = m;
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

/* Copy the accepted line's observations into the batch being filled.
 * Returns 0, or a reason (in c->reason) to reject the line after all. */
static int add_line(struct ingest_stream *st)
{
	struct store_batch_mark mark;
	store_batch_mark(st->cur->sb, &mark);
	for (size_t i = 0; i < st->nlobs; i++) {
		int err = store_batch_add(st->cur->sb, &st->lobs[i]);
		if (err == STORE_ELIMIT) {
			/* the batch's sensor table is full: hand the batch over
			 * without this line and start the line again */
			store_batch_truncate(st->cur->sb, &mark);
			hand_over(st);
			store_batch_mark(st->cur->sb, &mark);
			i = (size_t)-1;
			continue;
		}
		if (err != 0) {
			store_batch_truncate(st->cur->sb, &mark);
			return ingest_reject(&st->ctx, "%s", store_strerror(err));
		}
	}
	st->cur->records += st->nlobs;
	return 0;
}

/* Count a parsed line (or unit), move its observations into the batch
 * or report why it is rejected, and hand a full batch to the writer. */
static void line_done(struct ingest_stream *st, int r, const char *text, size_t len)
{
	struct ingest_ctx *c = &st->ctx;
	st->sum.lines++;
	if (r != INGEST_REJECT && st->nlobs > 0 && add_line(st) != 0)
		r = INGEST_REJECT;
	free_line_metas(st); /* the batch holds its own copies */
	if (r == INGEST_REJECT) {
		if (c->reason[0] == '\0')
			snprintf(c->reason, sizeof(c->reason), "invalid line");
		report_reject(st, text, len);
		return;
	}
	if (r == INGEST_SKIP)
		st->sum.skipped++;
	else
		st->sum.accepted++;
	for (size_t i = 0; i < st->nlobs; i++)
		if (st->lobs[i].time_last > st->newest)
			st->newest = st->lobs[i].time_last;
	if (!st->manual && store_batch_len(st->cur->sb) >= st->budget)
		hand_over(st);
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
	st->nlobs = 0;
	c->reason[0] = '\0';
	ingest_json_arena_begin();
	int r = st->fmt->line(c, line, len);
	ingest_json_arena_end();
	if (c->run_state != NULL)
		run_state_save(st, st->fmt, c->run_state);
	if (r == INGEST_HEADER) {
		free_line_metas(st);
		return;
	}
	line_done(st, r, line, len);
}

int ingest_stream_unit(ingest_stream_t *st, uint64_t lineno, const char *text,
		       int (*fn)(struct ingest_ctx *c, void *arg), void *arg)
{
	struct ingest_ctx *c = &st->ctx;
	c->line = lineno;
	st->nlobs = 0;
	c->reason[0] = '\0';
	ingest_json_arena_begin();
	int r = fn(c, arg);
	ingest_json_arena_end();
	line_done(st, r, text, strlen(text));
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
	return store_batch_len(st->cur->sb);
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

int64_t ingest_stream_newest(const ingest_stream_t *st)
{
	return st->newest;
}

int ingest_stream_commit(ingest_stream_t *st, const struct store_meta_put *meta, size_t nmeta)
{
	for (size_t i = 0; i < nmeta; i++) {
		int err = store_batch_meta(st->cur->sb, &meta[i]);
		if (err != 0)
			return err;
	}
	if (store_batch_empty(st->cur->sb))
		return st->fatal;
	uint64_t seq = hand_over(st);
	pthread_mutex_lock(&st->mu);
	while (st->done_seq < seq)
		pthread_cond_wait(&st->cv, &st->mu);
	int err = st->fatal;
	pthread_mutex_unlock(&st->mu);
	return err;
}

int ingest_stream_finish(ingest_stream_t *st, struct ingest_summary *sum)
{
	if (!store_batch_empty(st->cur->sb))
		hand_over(st);
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
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++)
		if (st->runs[i].fmt != NULL && st->runs[i].fmt->run_state_free != NULL &&
		    st->runs[i].state != NULL)
			st->runs[i].fmt->run_state_free(st->runs[i].state);
	if (st->fmt != NULL && st->fmt->state_free != NULL && st->ctx.state != NULL)
		st->fmt->state_free(st->ctx.state);
	free_line_metas(st);
	free(st->lmetas);
	ingest_json_arena_release(); /* this thread parsed for the stream */
	for (int i = 0; i < NBATCH; i++)
		store_batch_free(st->pool[i].sb);
	free(st->lobs);
	free(st->line);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}
