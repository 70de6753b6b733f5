/*
 * stream_report.c - reject reports (stderr, the rejects file, the
 * callback) and the progress bar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/stream_internal.h"

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
void ingest_report_reject(struct ingest_stream *st, uint64_t line, const char *reason,
                          const char *text, size_t len)
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
void ingest_chunk_reject(struct chunk *ch, uint64_t line, const char *reason, const char *text,
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

void ingest_progress(struct ingest_stream *st, bool final)
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
