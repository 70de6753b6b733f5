/*
 * ingest.h - turning sensor output into store observations.
 *
 * A stream takes bytes (from files, follow mode, HTTP bodies or feeds),
 * cuts them into lines, parses each line with the input's format and
 * hands full batches to a writer thread that merges them into the store.
 * Parsing and writing overlap; a batch is one LMDB transaction.
 */
#ifndef INFRAPIVOT_INGEST_H
#define INFRAPIVOT_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

typedef void (*ingest_reject_cb)(const char *input, uint64_t line, const char *reason,
				 void *ctx);

struct ingest_opts {
	const char *format;     /* "auto" (default), "cof", "observations", ... */
	const char *sensor;     /* sensor id for lines that carry none; NULL */
	FILE *rejects;          /* every rejected line as NDJSON; NULL */
	unsigned stderr_rejects; /* how many rejects to print on stderr (20) */
	size_t batch;           /* observations per transaction; 0 = sized to the
	                         * database (store_batch_budget, >= 10000) */
	size_t max_line;        /* longest line accepted (1 MiB) */
	bool progress;          /* progress bar on stderr */
	bool quiet;             /* no reject lines on stderr at all */
	ingest_reject_cb on_reject; /* called for each reject; NULL */
	void *reject_ctx;
	/* passivedns settings (NULL = sensor defaults "||", "SMcsCQTAtn") */
	const char *pdns_delimiter;
	const char *pdns_fields;
};
void ingest_opts_init(struct ingest_opts *o);

struct ingest_summary {
	uint64_t inputs;
	uint64_t lines;    /* non-empty lines read */
	uint64_t accepted; /* lines that produced records or were valid */
	uint64_t rejected;
	uint64_t skipped;  /* valid lines with nothing to record (other event types, NXDOMAIN...) */
	uint64_t records;  /* observations written */
	uint64_t bytes;
	uint64_t unreadable; /* inputs that could not be read at all */
	double seconds;
	struct store_write_stats ws;
};

typedef struct ingest_stream ingest_stream_t;

/* Create a stream writing into s.  Free with ingest_stream_free(). */
int ingest_stream_new(ingest_stream_t **out, store_t *s, const struct ingest_opts *o);
/* Start an input called `name` (used in reject reports).  format NULL
 * means the stream's default format.  size_hint (0 = unknown) feeds the
 * progress bar. */
int ingest_stream_begin(ingest_stream_t *st, const char *name, const char *format,
			uint64_t size_hint);
/* Feed bytes of the current input.  Returns 0, or a fatal error (the
 * store failed); rejected lines are not errors. */
int ingest_stream_feed(ingest_stream_t *st, const char *buf, size_t len);
/* End the current input (a last line without newline is parsed). */
int ingest_stream_end(ingest_stream_t *st);
/* Commit everything parsed so far, together with the meta records given
 * (e.g. a follow position): returns once it is durable. */
int ingest_stream_commit(ingest_stream_t *st, const struct store_meta_put *meta, size_t nmeta);
/* Flush, wait for the writer and report.  Returns the first fatal error. */
int ingest_stream_finish(ingest_stream_t *st, struct ingest_summary *sum);
void ingest_stream_free(ingest_stream_t *st);
/* Current line number of the input (lines begun). */
uint64_t ingest_stream_line(const ingest_stream_t *st);

/* Ingest files (a path of "-" is stdin; directories walk their files;
 * ".gz" is decompressed).  Fills sum; returns 0 or a fatal store error. */
int ingest_files(store_t *s, char *const *paths, int n, const struct ingest_opts *o,
		 struct ingest_summary *sum);

/* Known format names, for --help and validation. */
bool ingest_format_known(const char *name);
const char *ingest_format_list(void);

/* ---- X.509 (ingest/x509.c) ----------------------------------------- */
/* Fill m from a DER certificate: both hashes, subject, issuer, serial,
 * validity, SAN DNS names and IPs.  m->der is set to a malloc'd copy
 * that the caller frees (ingest_cert_meta_free). */
int ingest_x509_der(const uint8_t *der, size_t len, struct store_cert_meta *m);
/* Same from the first PEM certificate in text; *used receives the bytes
 * consumed (so bundles can be walked).  STORE_ENOTFOUND when no more. */
int ingest_x509_pem(const char *text, size_t len, struct store_cert_meta *m, size_t *used);
void ingest_cert_meta_free(struct store_cert_meta *m);
/* The certificate metadata as a JSON-ready summary is built by callers. */

#endif
