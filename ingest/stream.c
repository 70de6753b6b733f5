/*
 * stream.c - line assembly, batching, the writer thread, the helper
 * parsers, reject reports and the progress bar.
 *
 * The reading thread cuts input into lines.  Lines of most formats are
 * parsed right there into the batch being filled, which is handed to
 * the writer thread when it reaches the budget; the writer commits one
 * batch while the next fills.
 *
 * Formats whose lines are independent of each other (COF, EVE) are
 * parsed by helper threads instead: the reading thread packs lines into
 * chunks, each helper parses whole chunks into store batches of the
 * chunk's own, and the reading thread retires parsed chunks in input
 * order: it counts them, reports their rejects, and appends their
 * batches to the group the writer will merge in one transaction, in
 * that order.  So counts, reject reports and the database come out as
 * if one thread had parsed everything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define LINE_SLACK 1024 /* observations one line may produce */

#define MAX_PARSERS 4
#define HELPER_NICE 10
#define CHUNK_BYTES (512 * 1024)
#define CHUNK_LINES 4096
#define GROUP_MAX 64 /* chunks merged in one transaction, at most */
#define NCHUNKS (2 * GROUP_MAX + 2 * MAX_PARSERS + 2)
#define NTEXT (2 * MAX_PARSERS + 2) /* line buffers: filling, queued, parsing */

/* Write units: the reading thread fills one while the writer thread
 * commits the other.  (A third measured no faster on two cores, and
 * costs RSS.)  A unit is a batch parsed in the reading thread, or a
 * group of parsed chunks, or both (groups first). */
#define NBATCH 2
struct chunk;
struct wbatch {
	store_batch_t *sb;
	struct chunk *group[GROUP_MAX];
	unsigned ngroup;
	size_t group_len; /* observations in the group */
	uint64_t seq;
	size_t records;
};

struct pline {
	uint64_t lineno;
	size_t off, len;
	bool overlong; /* text is the head of an over-long line */
};

struct preject {
	uint64_t line;
	size_t text_off, text_len; /* in the chunk's rtext */
	char reason[256];
};

struct text {
	char *buf;
	size_t cap;
	bool busy;
};

enum chunk_state {
	CH_FREE,    /* unused */
	CH_FILLING, /* the reading thread adds lines */
	CH_QUEUED,  /* waits for a helper */
	CH_PARSING, /* a helper parses it */
	CH_DONE,    /* parsed, to be retired in order */
	CH_GROUPED, /* retired; its batches wait in a write unit */
};

struct chunk {
	enum chunk_state state;
	uint64_t seq;
	const struct ingest_format *fmt;
	struct text *text; /* lines, each NUL-terminated; returned once parsed */
	size_t len;
	struct pline *lines;
	size_t nlines, caplines;
	/* results */
	store_batch_t **sb; /* in order; a new one when one's sensor table is full */
	size_t nsb, capsb;
	size_t records;
	struct preject *rej;
	size_t nrej, caprej;
	char *rtext;
	size_t rtlen, rtcap;
	uint64_t nlines_done, accepted, skipped, rdata_skipped;
	int64_t newest;
	bool nomem;
};

/* What one parsing thread owns: its context and the observations of the
 * line being parsed; the reading thread also fills a write unit. */
struct parser {
	struct ingest_stream *st;
	struct ingest_ctx ctx;
	struct store_obs *lobs;
	size_t nlobs;
	struct store_cert_meta **lmetas;
	size_t nlmetas, caplmetas;
	struct wbatch *cur;  /* the reading thread's write unit */
	struct chunk *chunk; /* the chunk a helper parses; NULL in the reading thread */
	pthread_t tid;
	bool running;
};

struct ingest_stream {
	store_t *store;
	struct ingest_opts opts;
	/* current input */
	char name[1024];
	const struct ingest_format *fmt;
	const struct ingest_format *default_fmt;
	char *line;
	size_t line_len, line_cap;
	bool overlong;
	uint64_t size_hint, input_bytes;
	/* run states of formats (joins across inputs of one stream) */
	struct {
		const struct ingest_format *fmt;
		void *state;
	} runs[16];
	struct parser main; /* the reading thread */
	struct parser helpers[MAX_PARSERS];
	unsigned nhelpers; /* helper threads wanted (0: parse in place) */
	bool helpers_started;
	bool helpers_stop;
	struct chunk chunks[NCHUNKS];
	struct text texts[NTEXT];
	struct chunk *filling;
	uint64_t chunk_seq, retire_seq;
	pthread_cond_t chunk_cv; /* a chunk was queued, or stop */
	pthread_cond_t done_cv;  /* a chunk was parsed, or freed by the writer */
	/* write units */
	struct wbatch pool[NBATCH];
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

/* Observations a transaction should take (the writer updates it). */
static size_t budget_now(struct ingest_stream *st)
{
	return __atomic_load_n(&st->budget, __ATOMIC_RELAXED);
}

static bool wbatch_empty(const struct wbatch *wb)
{
	return wb->ngroup == 0 && store_batch_empty(wb->sb);
}

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

static void *writer_main(void *arg)
{
	struct ingest_stream *st = arg;
	pthread_setname_np(pthread_self(), "ip-writer"); /* for top -H, perf */
	store_batch_t **list = NULL;
	size_t caplist = 0;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->qlen == 0 && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->qlen == 0 && st->stop)
			break;
		struct wbatch *wb = st->queue[st->qhead];
		int fatal = st->fatal;
		/* the group's batches, then the unit's own */
		size_t n = 1;
		for (unsigned i = 0; i < wb->ngroup; i++)
			n += wb->group[i]->nsb;
		if (n > caplist) {
			store_batch_t **nl = realloc(list, n * sizeof(*nl));
			if (nl == NULL && fatal == 0)
				fatal = st->fatal = -ENOMEM;
			if (nl != NULL) {
				list = nl;
				caplist = n;
			}
		}
		n = 0;
		for (unsigned i = 0; i < wb->ngroup && fatal == 0; i++)
			for (size_t j = 0; j < wb->group[i]->nsb; j++)
				list[n++] = wb->group[i]->sb[j];
		if (fatal == 0)
			list[n++] = wb->sb;
		pthread_mutex_unlock(&st->mu);
		struct store_write_stats ws = {0};
		int err = 0;
		size_t budget = st->budget;
		if (fatal == 0 && !st->opts.dry_run) {
			err = store_write_batches(st->store, list, n, &ws);
			budget = st->opts.batch ? st->opts.batch : store_batch_budget(st->store);
		}
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
			st->sum.ws.clients += ws.clients;
			st->sum.ws.client_pairs_new += ws.client_pairs_new;
			st->sum.ws.retries += ws.retries;
			__atomic_store_n(&st->budget, budget, __ATOMIC_RELAXED);
		}
		wbatch_release(st, wb);
		st->done_seq = wb->seq;
		st->qhead = (st->qhead + 1) % NBATCH;
		st->qlen--;
		st->freel[st->nfree++] = wb;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	free(list);
	return NULL;
}

static int parser_init(struct parser *p, struct ingest_stream *st)
{
	p->st = st;
	p->lobs = malloc(LINE_SLACK * sizeof(*p->lobs));
	return p->lobs == NULL ? -ENOMEM : 0;
}

static void free_line_metas(struct parser *p)
{
	for (size_t i = 0; i < p->nlmetas; i++) {
		ingest_cert_meta_free(p->lmetas[i]);
		free(p->lmetas[i]);
	}
	p->nlmetas = 0;
}

static void parser_free(struct parser *p)
{
	free_line_metas(p);
	free(p->lmetas);
	free(p->lobs);
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
	st->nhelpers = parsers_wanted(&st->opts);
	st->line_cap = 4096;
	st->line = malloc(st->line_cap + 1);
	if (st->line == NULL || parser_init(&st->main, st) != 0)
		goto fail;
	for (unsigned i = 0; i < st->nhelpers; i++)
		if (parser_init(&st->helpers[i], st) != 0)
			goto fail;
	for (int i = 0; i < NBATCH; i++)
		if (store_batch_new(&st->pool[i].sb) != 0)
			goto fail;
	st->main.cur = &st->pool[0];
	for (int i = 1; i < NBATCH; i++)
		st->freel[st->nfree++] = &st->pool[i];
	st->budget = st->opts.batch ? st->opts.batch : s ? store_batch_budget(s) : 100000;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pthread_cond_init(&st->chunk_cv, NULL);
	pthread_cond_init(&st->done_cv, NULL);
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->cv);
		pthread_cond_destroy(&st->chunk_cv);
		pthread_cond_destroy(&st->done_cv);
		goto fail;
	}
	st->writer_running = true;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	*out = st;
	return 0;
fail:
	for (int i = 0; i < NBATCH; i++)
		store_batch_free(st->pool[i].sb);
	parser_free(&st->main);
	for (unsigned i = 0; i < MAX_PARSERS; i++)
		parser_free(&st->helpers[i]);
	free(st->line);
	free(st);
	return -ENOMEM;
}

/* Hand the reading thread's write unit to the writer and take the spare
 * one.  Returns the sequence number the unit will be done at. */
static uint64_t hand_over(struct ingest_stream *st)
{
	struct parser *p = &st->main;
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

struct store_obs *ingest_obs_new(struct ingest_ctx *c)
{
	struct parser *p = c->p;
	struct ingest_stream *st = c->st;
	if (p->nlobs >= LINE_SLACK)
		return NULL;
	struct store_obs *o = &p->lobs[p->nlobs++];
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
	struct parser *p = c->p;
	if (p->nlmetas == p->caplmetas) {
		size_t nc = p->caplmetas ? p->caplmetas * 2 : 16;
		struct store_cert_meta **nm = realloc(p->lmetas, nc * sizeof(*nm));
		if (nm == NULL)
			return NULL;
		p->lmetas = nm;
		p->caplmetas = nc;
	}
	struct store_cert_meta *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	p->lmetas[p->nlmetas++] = m;
	return m;
}

void ingest_note_rdata_skipped(struct ingest_ctx *c, uint64_t n)
{
	if (c->p->chunk != NULL)
		c->p->chunk->rdata_skipped += n;
	else
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

/* Report a rejected line: stderr (the first few), the rejects file, the
 * callback.  Only the reading thread reports. */
static void report(struct ingest_stream *st, uint64_t line, const char *reason, const char *text,
                   size_t len)
{
	st->sum.rejected++;
	if (!st->opts.quiet && st->sum.rejected <= st->opts.stderr_rejects) {
		if (st->progress_shown) {
			fputs("\r\033[K", stderr);
		}
		fprintf(stderr, "%s:%llu: rejected: %s\n", st->name, (unsigned long long)line,
		        reason);
		if (st->sum.rejected == st->opts.stderr_rejects)
			fprintf(stderr, "(further rejects not shown here%s)\n",
			        st->opts.rejects ? "; all are in the rejects file"
			                         : "; use --rejects FILE");
	}
	if (st->opts.rejects != NULL) {
		FILE *f = st->opts.rejects;
		fputs("{\"input\":", f);
		json_escape_to(f, st->name, strlen(st->name));
		fprintf(f, ",\"line\":%llu,\"reason\":", (unsigned long long)line);
		json_escape_to(f, reason, strlen(reason));
		fputs(",\"text\":", f);
		json_escape_to(f, text, len > 1024 ? 1024 : len);
		fputs("}\n", f);
	}
	if (st->opts.on_reject != NULL)
		st->opts.on_reject(st->name, line, reason, st->opts.reject_ctx);
}

/* A helper keeps the reject in its chunk, to be reported in order. */
static void chunk_reject(struct chunk *ch, uint64_t line, const char *reason, const char *text,
                         size_t len)
{
	if (len > 1024)
		len = 1024;
	if (ch->nrej == ch->caprej) {
		size_t nc = ch->caprej ? ch->caprej * 2 : 64;
		struct preject *nr = realloc(ch->rej, nc * sizeof(*nr));
		if (nr == NULL) {
			ch->nomem = true;
			return;
		}
		ch->rej = nr;
		ch->caprej = nc;
	}
	if (ch->rtlen + len > ch->rtcap) {
		size_t nc = ch->rtcap ? ch->rtcap : 16384;
		while (nc < ch->rtlen + len)
			nc *= 2;
		char *nt = realloc(ch->rtext, nc);
		if (nt == NULL) {
			ch->nomem = true;
			return;
		}
		ch->rtext = nt;
		ch->rtcap = nc;
	}
	struct preject *r = &ch->rej[ch->nrej++];
	r->line = line;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->text_off = ch->rtlen;
	r->text_len = len;
	memcpy(ch->rtext + ch->rtlen, text, len);
	ch->rtlen += len;
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

/* The batch a parser adds to: the chunk's last (helpers) or the write
 * unit's (reading thread). */
static store_batch_t *target(struct parser *p)
{
	return p->chunk != NULL ? p->chunk->sb[p->chunk->nsb - 1] : p->cur->sb;
}

/* The batch's sensor table is full: go on in a fresh batch (a helper's
 * chunk takes another; the reading thread hands its unit over). */
static int next_batch(struct parser *p)
{
	struct chunk *ch = p->chunk;
	if (ch == NULL) {
		hand_over(p->st);
		return 0;
	}
	if (ch->nsb == ch->capsb) {
		size_t nc = ch->capsb ? ch->capsb * 2 : 2;
		store_batch_t **nb = realloc(ch->sb, nc * sizeof(*nb));
		if (nb == NULL)
			return -ENOMEM;
		memset(nb + ch->capsb, 0, (nc - ch->capsb) * sizeof(*nb));
		ch->sb = nb;
		ch->capsb = nc;
	}
	if (ch->sb[ch->nsb] == NULL && store_batch_new(&ch->sb[ch->nsb]) != 0)
		return -ENOMEM;
	ch->nsb++;
	return 0;
}

/* Copy the accepted line's observations into the parser's batch.
 * Returns 0, or a reason (in the context) to reject the line after all. */
static int add_line(struct parser *p)
{
	struct store_batch_mark mark;
	store_batch_mark(target(p), &mark);
	for (size_t i = 0; i < p->nlobs; i++) {
		int err = store_batch_add(target(p), &p->lobs[i]);
		if (err == STORE_ELIMIT) {
			/* start the line again in a fresh batch */
			store_batch_truncate(target(p), &mark);
			if (next_batch(p) != 0)
				return ingest_reject(&p->ctx, "%s", strerror(ENOMEM));
			store_batch_mark(target(p), &mark);
			i = (size_t)-1;
			continue;
		}
		if (err != 0) {
			store_batch_truncate(target(p), &mark);
			return ingest_reject(&p->ctx, "%s", store_strerror(err));
		}
	}
	/* client sightings are counted by the store (ws.clients), not here */
	size_t nrec = 0;
	for (size_t i = 0; i < p->nlobs; i++)
		nrec += p->lobs[i].kind != STORE_OBS_CLIENT;
	if (p->chunk != NULL)
		p->chunk->records += nrec;
	else
		p->cur->records += nrec;
	return 0;
}

/* Count a parsed line (or unit), move its observations into the batch
 * or report why it is rejected, and hand a full unit to the writer. */
static void line_done(struct parser *p, int r, const char *text, size_t len)
{
	struct ingest_stream *st = p->st;
	struct chunk *ch = p->chunk;
	if (ch != NULL)
		ch->nlines_done++;
	else
		st->sum.lines++;
	if (r != INGEST_REJECT && p->nlobs > 0 && add_line(p) != 0)
		r = INGEST_REJECT;
	free_line_metas(p); /* the batch holds its own copies */
	if (r == INGEST_REJECT) {
		if (p->ctx.reason[0] == '\0')
			snprintf(p->ctx.reason, sizeof(p->ctx.reason), "invalid line");
		if (ch != NULL)
			chunk_reject(ch, p->ctx.line, p->ctx.reason, text, len);
		else
			report(st, p->ctx.line, p->ctx.reason, text, len);
		return;
	}
	int64_t *newest = ch != NULL ? &ch->newest : &st->newest;
	if (r == INGEST_SKIP)
		(*(ch != NULL ? &ch->skipped : &st->sum.skipped))++;
	else
		(*(ch != NULL ? &ch->accepted : &st->sum.accepted))++;
	for (size_t i = 0; i < p->nlobs; i++)
		if (p->lobs[i].time_last > *newest)
			*newest = p->lobs[i].time_last;
	if (ch == NULL && !st->manual && store_batch_len(p->cur->sb) >= budget_now(st))
		hand_over(st);
}

/* Parse one line with fmt in p's context (ctx.line already set). */
static void parse_line(struct parser *p, const struct ingest_format *fmt, char *line, size_t len)
{
	struct ingest_ctx *c = &p->ctx;
	p->nlobs = 0;
	c->reason[0] = '\0';
	ingest_json_arena_begin();
	int r = fmt->line(c, line, len);
	ingest_json_arena_end();
	if (r == INGEST_HEADER) {
		free_line_metas(p);
		return;
	}
	line_done(p, r, line, len);
}

/* ---- helper parsers ------------------------------------------------------ */

static void parse_chunk(struct parser *p, struct chunk *ch)
{
	struct ingest_ctx *c = &p->ctx;
	memset(c, 0, sizeof(*c));
	c->opts = &p->st->opts;
	c->input = p->st->name;
	c->st = p->st;
	c->p = p;
	p->chunk = ch;
	if (next_batch(p) != 0) {
		ch->nomem = true;
		p->chunk = NULL;
		return;
	}
	for (size_t i = 0; i < ch->nlines; i++) {
		struct pline *l = &ch->lines[i];
		char *text = ch->text->buf + l->off;
		c->line = l->lineno;
		if (l->overlong) {
			ch->nlines_done++;
			ingest_reject(c, "line longer than %zu bytes (the limit)",
			              p->st->opts.max_line);
			chunk_reject(ch, l->lineno, c->reason, text, l->len);
			continue;
		}
		parse_line(p, ch->fmt, text, l->len);
	}
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
		report(st, ch->rej[i].line, ch->rej[i].reason, ch->rtext + ch->rej[i].text_off,
		       ch->rej[i].text_len);
	ch->nlines = ch->nrej = ch->rtlen = 0;
	ch->nlines_done = ch->accepted = ch->skipped = ch->rdata_skipped = 0;
	ch->nomem = false;
	/* a unit holds parsed chunks after what the reading thread parsed
	 * itself: keep input order by handing that over first */
	struct wbatch *wb = st->main.cur;
	if (!store_batch_empty(wb->sb) || wb->ngroup == GROUP_MAX)
		hand_over(st);
	wb = st->main.cur;
	wb->group[wb->ngroup++] = ch;
	wb->records += ch->records;
	for (size_t j = 0; j < ch->nsb; j++)
		wb->group_len += store_batch_len(ch->sb[j]);
	ch->records = 0;
	if (!st->manual && wb->group_len >= budget_now(st))
		hand_over(st);
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
static void drain(struct ingest_stream *st)
{
	if (!st->helpers_started)
		return;
	chunk_queue(st);
	retire_ready(st, true);
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
		for (unsigned i = 0; i < NTEXT && tx == NULL; i++)
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
				hand_over(st);
				pthread_mutex_lock(&st->mu);
			}
			continue;
		}
		if (!parsing && ch == NULL && st->main.cur->ngroup > 0) {
			pthread_mutex_unlock(&st->mu);
			hand_over(st);
			pthread_mutex_lock(&st->mu);
			continue;
		}
		/* a helper will finish a chunk, or the writer free some */
		pthread_cond_wait(&st->done_cv, &st->mu);
	}
}

/* Add a line (or the head of an over-long one) to the chunk being
 * filled; queue it when full.  Returns 0 or -ENOMEM. */
static int chunk_add(struct ingest_stream *st, const char *line, size_t len, bool overlong)
{
	struct chunk *ch = chunk_get(st);
	struct text *tx = ch->text;
	ch->fmt = st->fmt;
	if (overlong && len > 1024)
		len = 1024;
	if (ch->len + len + 1 > tx->cap) {
		size_t nc = tx->cap ? tx->cap : CHUNK_BYTES + 4096;
		while (nc < ch->len + len + 1)
			nc *= 2;
		char *nb = realloc(tx->buf, nc);
		if (nb == NULL)
			return -ENOMEM;
		tx->buf = nb;
		tx->cap = nc;
	}
	if (ch->nlines == ch->caplines) {
		size_t nc = ch->caplines ? ch->caplines * 2 : 1024;
		struct pline *nl = realloc(ch->lines, nc * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		ch->lines = nl;
		ch->caplines = nc;
	}
	ch->lines[ch->nlines++] = (struct pline){st->main.ctx.line, ch->len, len, overlong};
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

/* Whether lines of fmt go to the helper parsers. */
static bool parallel(struct ingest_stream *st, const struct ingest_format *fmt)
{
	if (!fmt->independent || st->manual || st->nhelpers == 0)
		return false;
	return helpers_start(st);
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
	if (st->fmt == NULL) {
		st->fmt = ingest_format_detect(line, len);
		if (st->fmt == NULL) {
			drain(st); /* reports stay in input order */
			st->sum.lines++;
			ingest_reject(c, "cannot detect the format of this input from this line "
			                 "(use --format)");
			report(st, c->line, c->reason, line, len);
			return;
		}
		c->run_state = run_state_slot(st, st->fmt);
	}
	if (parallel(st, st->fmt)) {
		if (chunk_add(st, line, len, false) != 0 && st->fatal == 0)
			st->fatal = -ENOMEM;
		return;
	}
	parse_line(&st->main, st->fmt, line, len);
	if (c->run_state != NULL)
		run_state_save(st, st->fmt, c->run_state);
}

static void overlong_line(struct ingest_stream *st)
{
	struct ingest_ctx *c = &st->main.ctx;
	c->line++;
	if (st->fmt != NULL && parallel(st, st->fmt)) {
		if (chunk_add(st, st->line, st->line_len, true) != 0 && st->fatal == 0)
			st->fatal = -ENOMEM;
		return;
	}
	drain(st);
	st->sum.lines++;
	ingest_reject(c, "line longer than %zu bytes (the limit)", st->opts.max_line);
	report(st, c->line, c->reason, st->line, st->line_len);
}

int ingest_stream_unit(ingest_stream_t *st, uint64_t lineno, const char *text,
                       int (*fn)(struct ingest_ctx *c, void *arg), void *arg)
{
	drain(st);
	struct parser *p = &st->main;
	struct ingest_ctx *c = &p->ctx;
	c->line = lineno;
	p->nlobs = 0;
	c->reason[0] = '\0';
	ingest_json_arena_begin();
	int r = fn(c, arg);
	ingest_json_arena_end();
	line_done(p, r, text, strlen(text));
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
	drain(st);
	st->manual = manual;
}

size_t ingest_stream_pending(const ingest_stream_t *st)
{
	return store_batch_len(st->main.cur->sb) + st->main.cur->group_len;
}

int ingest_stream_begin(ingest_stream_t *st, const char *name, const char *format,
                        uint64_t size_hint)
{
	drain(st);
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
		        frac * 100, st->input_bytes / 1e6, st->size_hint / 1e6, rate, (int)eta / 60,
		        (int)eta % 60);
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
				/* keep the head for the reject report */
				size_t keep = st->line_len < 1024 ? 1024 - st->line_len : 0;
				if (keep > chunk)
					keep = chunk;
				if (keep > st->line_cap - st->line_len)
					keep = st->line_cap - st->line_len;
				memcpy(st->line + st->line_len, buf + i, keep);
				st->line_len += keep;
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
			overlong_line(st);
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
		overlong_line(st);
	} else if (st->line_len > 0) {
		st->line[st->line_len] = '\0';
		process_line(st, st->line, st->line_len);
	}
	st->line_len = 0;
	st->overlong = false;
	drain(st);
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
	drain(st);
	for (size_t i = 0; i < nmeta; i++) {
		int err = store_batch_meta(st->main.cur->sb, &meta[i]);
		if (err != 0)
			return err;
	}
	if (wbatch_empty(st->main.cur))
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
	drain(st);
	if (!wbatch_empty(st->main.cur))
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
	for (unsigned i = 0; i < sizeof(st->runs) / sizeof(st->runs[0]); i++)
		if (st->runs[i].fmt != NULL && st->runs[i].fmt->run_state_free != NULL &&
		    st->runs[i].state != NULL)
			st->runs[i].fmt->run_state_free(st->runs[i].state);
	if (st->fmt != NULL && st->fmt->state_free != NULL && st->main.ctx.state != NULL)
		st->fmt->state_free(st->main.ctx.state);
	ingest_json_arena_release(); /* this thread parsed for the stream */
	for (int i = 0; i < NBATCH; i++)
		store_batch_free(st->pool[i].sb);
	parser_free(&st->main);
	for (unsigned i = 0; i < MAX_PARSERS; i++)
		parser_free(&st->helpers[i]);
	for (unsigned i = 0; i < NCHUNKS; i++) {
		struct chunk *ch = &st->chunks[i];
		for (size_t j = 0; j < ch->capsb; j++)
			store_batch_free(ch->sb[j]);
		free(ch->sb);
		free(ch->lines);
		free(ch->rej);
		free(ch->rtext);
	}
	for (unsigned i = 0; i < NTEXT; i++)
		free(st->texts[i].buf);
	free(st->line);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	pthread_cond_destroy(&st->chunk_cv);
	pthread_cond_destroy(&st->done_cv);
	free(st);
}
