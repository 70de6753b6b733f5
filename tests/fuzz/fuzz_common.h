/*
 * fuzz_common.h - the harness shared by the parser fuzz targets: one
 * dry-run stream (no LMDB), each fuzz input one input of it.  Creating a
 * stream per input would cost its batch buffers (megabytes) every time.
 * After each input the batch is handed over and the run states freed, so
 * an input leaves no allocation behind (libFuzzer's leak check stays
 * cheap) and every input is reproducible on its own.
 */
#ifndef INFRAPIVOT_FUZZ_COMMON_H
#define INFRAPIVOT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"

static inline void fuzz_opts(struct ingest_opts *o, const char *format)
{
	ingest_opts_init(o);
	o->format = format;
	o->quiet = true;
	o->max_line = 64 * 1024;
	o->batch = 1000;
	o->dry_run = true;
}

/* The stream of this process (format and cert_ip fixed at first use). */
static inline ingest_stream_t *fuzz_stream(const char *format, const char *cert_ip)
{
	static ingest_stream_t *st;
	static struct ingest_opts o;
	if (st != NULL)
		return st;
	fuzz_opts(&o, format);
	o.cert_ip = cert_ip;
	if (ingest_stream_new(&st, NULL, &o) != 0)
		abort();
	return st;
}

static inline void fuzz_done(ingest_stream_t *st)
{
	ingest_stream_commit(st, NULL, 0);
	ingest_stream_reset_runs(st);
}

/* Feed data in two pieces (a split inside a line is part of the test). */
static inline void fuzz_lines(const char *format, const uint8_t *data, size_t size)
{
	ingest_stream_t *st = fuzz_stream(format, NULL);
	size_t half = size / 2;
	ingest_stream_begin(st, "fuzz", NULL, size);
	ingest_stream_feed(st, (const char *)data, half);
	ingest_stream_feed(st, (const char *)data + half, size - half);
	ingest_stream_end(st);
	fuzz_done(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
