/*
 * stream_batch.c - parsing one line into a batch: the observation slots
 * a format claims, the line's accounting, and the batch it lands in.
 * Used by the reading thread and by the helper parsers alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/estate_internal.h"
#include "ingest/stream_internal.h"

int ingest_parser_init(struct parser *p, struct ingest_stream *st)
{
	p->st = st;
	util_buf_init(&p->sort_tmp, SIZE_MAX / 2);
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

void ingest_parser_free(struct parser *p)
{
	free_line_metas(p);
	free(p->lmetas);
	free(p->lobs);
	util_buf_free(&p->sort_tmp);
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

/* The batch a parser adds to: the chunk's last (helpers) or the write
 * unit's (reading thread). */
static store_batch_t *target(struct parser *p)
{
	return p->chunk != NULL ? p->chunk->sb[p->chunk->nsb - 1] : p->cur->sb;
}

int ingest_client_ip_direct(struct ingest_ctx *c, const struct store_client_ip_sight *x)
{
	struct parser *p = c->p;
	struct ingest_stream *st = c->st;
	if (x->t < 0)
		return 0; /* as ingest_client_add: no sighting, the line good */
	int err = store_client_batch_add_ip(target(p), st->opts.sensor ? st->opts.sensor : "", x);
	if (err != 0)
		return err;
	/* what ingest_line_done takes from the line's observations */
	int64_t *newest = p->chunk != NULL ? &p->chunk->newest : &st->newest;
	if (x->t > *newest)
		*newest = x->t;
	return 0;
}

/* The batch's sensor table is full: go on in a fresh batch (a helper's
 * chunk takes another; the reading thread hands its unit over). */
int ingest_next_batch(struct parser *p)
{
	struct chunk *ch = p->chunk;
	if (ch == NULL) {
		ingest_hand_over(p->st);
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
			if (ingest_next_batch(p) != 0)
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
	if (p->chunk == NULL)
		p->st->parsed_records += nrec;
	return 0;
}

/* Count a parsed line (or unit), move its observations into the batch
 * or report why it is rejected, and hand a full unit to the writer. */
void ingest_line_done(struct parser *p, int r, const char *text, size_t len)
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
			ingest_chunk_reject(ch, p->ctx.line, p->ctx.reason, text, len);
		else
			ingest_report_reject(st, p->ctx.line, p->ctx.reason, text, len);
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
	if (ch != NULL)
		return;
	/* the line is in the batch: a unit closed now ends after it */
	st->done_at = st->line_end_at;
	st->done_line = p->ctx.line;
	if ((!st->manual || st->pos_fn != NULL) && store_batch_len(p->cur->sb) >= budget_now(st))
		ingest_hand_over(st);
}

/* Parse one line with fmt in p's context (ctx.line already set). */
void ingest_parse_line(struct parser *p, const struct ingest_format *fmt, char *line, size_t len)
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
	ingest_line_done(p, r, line, len);
}
