/*
 * stream_internal.h - what the files of the ingest stream share: the
 * stream's state, the write units, the helper parsers' chunks, and the
 * steps one file calls in another.
 *
 * stream.c        public API, line assembly
 * stream_batch.c  one line into a batch (reading thread and helpers)
 * stream_writer.c the writer thread
 * stream_parse.c  the parallel helper parsers (chunks)
 * stream_report.c reject reports, progress
 */
#ifndef INFRAPIVOT_INGEST_STREAM_INTERNAL_H
#define INFRAPIVOT_INGEST_STREAM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ingest/ingest_internal.h"
#include "util/buf.h"

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
	bool sync; /* someone waits for it: commit it with what is merged */
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

/* A line buffer and the index of its lines.  They are few (NTEXT) and
 * reused, while chunks are many: kept here, their pages are touched
 * once per stream, not once per chunk. */
struct text {
	char *buf;
	size_t cap;
	struct pline *lines;
	size_t caplines;
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
	const void *src_state; /* the reading thread's per-input state (fmt->state_share) */
	struct text *text;     /* lines, each NUL-terminated; returned once parsed */
	size_t len;
	size_t nlines; /* in text->lines */
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
	void *hstate;        /* a helper's copy of the per-input state (state_share) */
	double client_line;  /* a helper's: client sighting bytes a line took in its last chunk */
	struct util_buf sort_tmp; /* a helper's room to sort its chunks' client sightings in */
	const struct ingest_format *hstate_fmt;
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
	bool input_ended; /* ingest_stream_end: what is in flight is the input's last */
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
	bool chunked; /* lines went to the helpers since the last drain */
	uint64_t chunk_seq, retire_seq;
	pthread_cond_t chunk_cv; /* a chunk was queued, or stop */
	pthread_cond_t done_cv;  /* a chunk was parsed, or freed by the writer */
	/* write units */
	struct wbatch pool[NBATCH];
	struct wbatch *queue[NBATCH]; /* handed to the writer, oldest first */
	unsigned qhead, qlen;         /* qlen: written under mu, read anywhere */
	struct wbatch *freel[NBATCH];
	unsigned nfree;
	uint64_t next_seq, done_seq;
	size_t budget;
	bool stop;
	bool hold; /* tests: the writer takes no unit while set */
	int fatal;
	char fatal_msg[512]; /* the writer's store_last_error() of fatal */
	pthread_t writer;
	bool writer_running;
	/* the writer's merge table (stream_writer.c), and what it holds */
	store_batch_t *acc;
	uint64_t acc_records;
	bool acc_pending; /* acc holds records (st->mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ingest_summary sum;
	int64_t newest; /* largest time_last of the accepted lines; -1 none */
	struct timespec t0;
	double last_progress;
	bool progress_shown;
	bool manual;
	/* the input position of whole lines (ingest_stream_set_position) */
	ingest_pos_fn pos_fn;
	void *pos_arg;
	uint64_t line_end_at; /* input bytes up to the end of the line being parsed */
	uint64_t done_at;     /* ... of the last line parsed whole */
	uint64_t done_line;
	uint64_t parsed_records; /* records of the lines parsed in the reading thread */
};

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* While the writer waits for work, the first write unit of a stream
 * takes RAMP_FIRST observations, each next one twice the last, up to the
 * budget: the writer starts on the first unit while the parsers fill the
 * next, instead of waiting for a whole budget (a third of a 3-unit
 * input) with nothing to do.  When an input ends, the lines the helpers
 * still parse go in units of RAMP_FIRST: the writer takes each as it
 * comes and has little left when the parsers are done, instead of a
 * whole last unit written alone.  Small units cost commits, and each
 * commit merges again every pair and record its unit touches, so they
 * are only worth it to a writer with nothing to do: while it is behind
 * (a unit queued or being written), units fill to the budget.  Not with
 * an explicit --batch, which is the unit's size. */
#define RAMP_FIRST 16384
#define RAMP_UNITS 4 /* 16384 << 3 = 131072: past any budget */

/* Observations a transaction should take (the writer updates it). */
static inline size_t budget_now(struct ingest_stream *st)
{
	size_t b = __atomic_load_n(&st->budget, __ATOMIC_RELAXED);
	if (st->opts.batch != 0)
		return b;
	if (__atomic_load_n(&st->qlen, __ATOMIC_RELAXED) != 0)
		return b; /* the writer is behind */
	size_t cap = b;
	if (st->next_seq < RAMP_UNITS)
		cap = (size_t)RAMP_FIRST << st->next_seq;
	if (st->input_ended)
		cap = RAMP_FIRST;
	return cap < b ? cap : b;
}

static inline bool wbatch_empty(const struct wbatch *wb)
{
	return wb->ngroup == 0 && store_batch_empty(wb->sb);
}

/* stream_writer.c */
/* The writer thread's main loop; arg is the stream. */
void *ingest_writer_main(void *arg);
/* Tests: while hold is set the writer takes no unit (they queue up). */
void ingest_writer_hold(struct ingest_stream *st, bool hold);
/* Hand the reading thread's write unit to the writer and take the spare
 * one.  Returns the sequence number the unit will be done at. */
uint64_t ingest_hand_over(struct ingest_stream *st);

/* stream_batch.c */
/* Set up p for st (its line's observation slots).  0 or -ENOMEM. */
int ingest_parser_init(struct parser *p, struct ingest_stream *st);
/* Free what p owns (not p). */
void ingest_parser_free(struct parser *p);
/* Parse one line with fmt in p's context (ctx.line already set). */
void ingest_parse_line(struct parser *p, const struct ingest_format *fmt, char *line, size_t len);
/* Count a parsed line (or unit) that returned r, move its observations
 * into the batch or report why it is rejected. */
void ingest_line_done(struct parser *p, int r, const char *text, size_t len);
/* Go on in a fresh batch: a helper's chunk takes another, the reading
 * thread hands its unit over.  0 or -ENOMEM. */
int ingest_next_batch(struct parser *p);

/* stream_parse.c */
/* Whether this line of fmt goes to the helper parsers (starts them). */
bool ingest_parallel(struct ingest_stream *st, const struct ingest_format *fmt, const char *line,
                     size_t len);
/* Add a line (or the head of an over-long one) to the chunk being
 * filled; queue it when full.  Returns 0 or -ENOMEM. */
int ingest_chunk_add(struct ingest_stream *st, const char *line, size_t len, bool overlong);
/* Every line handed to the helpers parsed and retired. */
void ingest_drain(struct ingest_stream *st);

/* stream_report.c */
/* Report a rejected line (reading thread only). */
void ingest_report_reject(struct ingest_stream *st, uint64_t line, const char *reason,
                          const char *text, size_t len);
/* Keep a helper's reject in its chunk, to be reported in order. */
void ingest_chunk_reject(struct chunk *ch, uint64_t line, const char *reason, const char *text,
                         size_t len);
/* Draw the progress line (rate-limited unless final). */
void ingest_progress(struct ingest_stream *st, bool final);

#endif
