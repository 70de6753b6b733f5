/*
 * ingest_internal.h - the parser interface shared by the format files.
 *
 * A format parses one line at a time.  It claims observation slots with
 * ingest_obs_new() and returns INGEST_OK, INGEST_SKIP (valid line with
 * nothing to record) or INGEST_HEADER (not a data line), or calls
 * ingest_reject() and returns its result.  When a line is rejected every
 * slot it claimed is released, so a line is recorded whole or not at all.
 */
#ifndef INFRAPIVOT_INGEST_INTERNAL_H
#define INFRAPIVOT_INGEST_INTERNAL_H

#include <jansson.h>

#include "ingest/ingest.h"

enum { INGEST_OK = 0, INGEST_SKIP = 1, INGEST_HEADER = 2, INGEST_REJECT = -1 };

struct ingest_ctx {
	const struct ingest_opts *opts;
	const char *input; /* name for reports */
	uint64_t line;     /* current line number */
	void *state;       /* per-input state of the format, or NULL */
	void *run_state;   /* per-stream state of the format (joins) */
	char reason[256];
	struct ingest_stream *st;
	struct parser *p; /* the thread parsing this context */
};

struct ingest_format {
	const char *name;
	/* Higher is a better match for this first line; 0 = not this format. */
	int (*detect)(const char *line, size_t len);
	int (*line)(struct ingest_ctx *c, char *line, size_t len);
	/* Per-input state: created lazily by the format, freed here. */
	void (*state_free)(void *state);
	void (*run_state_free)(void *state);
	/* Lines are independent of each other and of the per-input and
	 * per-run states: helper threads may parse them in any order. */
	bool independent;
	/* A format with a per-input header (Zeek TSV) whose data lines are
	 * independent once the header is read: whether this line may go to
	 * a helper, given the reading thread's state (NULL: only independent
	 * decides).  Lines it refuses are parsed by the reading thread after
	 * every earlier line, so they may change the state. */
	bool (*line_parallel)(const void *state, const char *line, size_t len);
	/* Make *helper (created on first use, freed with state_free) parse
	 * as the reading thread's state src would.  0 or -ENOMEM. */
	int (*state_share)(void **helper, const void *src);
};

/* Formats register here (ingest/formats.c). */
const struct ingest_format *ingest_format_find(const char *name);
const struct ingest_format *ingest_format_detect(const char *line, size_t len);

/* A zeroed observation slot in the current batch, with the default
 * sensor filled in; NULL when the line already claimed too many. */
struct store_obs *ingest_obs_new(struct ingest_ctx *c);
/* Certificate metadata owned by the batch (freed after the write). */
struct store_cert_meta *ingest_meta_new(struct ingest_ctx *c);
/* A JARM/JA3S fingerprint seen on ip:port at ts (tls_keys.c): checked
 * (a bad one rejects the line) and added as an observation.  sensor NULL
 * or "" keeps the default.  Returns INGEST_OK or INGEST_REJECT. */
int ingest_fp_sighting(struct ingest_ctx *c, unsigned fptype, const char *hash, size_t len,
                       const uint8_t ip[16], uint16_t port, int64_t ts, const char *sensor);
/* A certificate's DER in base64 (EVE tls.certificate, Zeek x509.log
 * `cert`) into m: its metadata, hashes and key; m->der malloc'd (the
 * caller frees it).  0 or STORE_EBADCERT. */
int ingest_cert_b64(const char *b64, size_t len, struct store_cert_meta *m);
/* An EVE event's server end (dest_ip, dest_port 1-65535) into ip and
 * *port; 0, or INGEST_REJECT with the reason recorded. */
int ingest_eve_server(struct ingest_ctx *c, json_t *ev, uint8_t ip[16], uint16_t *port);
/* EVE tls.ja3s.hash as a fingerprint of dest_ip:dest_port; INGEST_SKIP
 * when the event has none. */
int ingest_eve_ja3s(struct ingest_ctx *c, json_t *ev, json_t *tls, int64_t ts, const char *sensor);
/* EVE tls.certificate (the leaf o names: its metadata and key replace m)
 * and tls.chain (metadata of each certificate).  INGEST_OK or
 * INGEST_REJECT. */
int ingest_eve_certs(struct ingest_ctx *c, struct store_obs *o, struct store_cert_meta *m,
                     json_t *tls);
/* Record why the current line is rejected; returns INGEST_REJECT. */
int ingest_reject(struct ingest_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run fn as one "line" of the current input numbered lineno: slots it
 * claims are released when it returns INGEST_REJECT, and it is counted
 * as accepted, skipped or rejected like a line.  For whole-file formats. */
int ingest_stream_unit(ingest_stream_t *st, uint64_t lineno, const char *text,
                       int (*fn)(struct ingest_ctx *c, void *arg), void *arg);

/* Free the formats' per-run states (the Zeek file-id join): what comes
 * next is a new run.  Call between inputs only. */
void ingest_stream_reset_runs(ingest_stream_t *st);

/* A new stream (ingest_stream_new) with a read buffer of bufsize bytes
 * for the loop that feeds it; both are freed by ingest_stream_close().
 * Returns 0 or an error (nothing to free). */
int ingest_stream_open(ingest_stream_t **st, char **buf, size_t bufsize, store_t *s,
                       const struct ingest_opts *o);
/* Finish st into sum, free st and buf.  Returns err when it is not 0,
 * else the result of finishing. */
int ingest_stream_close(ingest_stream_t *st, char *buf, struct ingest_summary *sum, int err);

/* The stream's --format ("auto" when detecting). */
const char *ingest_stream_format(const ingest_stream_t *st);

/* jansson allocates from a per-thread arena between begin and end (one
 * line); every json_t made in between must be released before end.
 * release frees the thread's arena (stream teardown). */
void ingest_json_arena_begin(void);
void ingest_json_arena_end(void);
void ingest_json_arena_release(void);

/* Helpers shared by the JSON formats (ingest/jsonutil.c). */
/* The line as a JSON object into *out (release with json_decref), or
 * INGEST_REJECT with the reason (not JSON, not an object). */
int ingest_json_object_line(struct ingest_ctx *c, const char *line, size_t len, json_t **out);
/* obj's string member key, its length in *len (when not NULL); NULL
 * when missing or not a string. */
const char *ingest_json_str(json_t *obj, const char *key, size_t *len);
/* The rrname, rrtype and rdata members of a COF or SAF record. */
struct ingest_json_rr {
	json_t *rrname, *rrtype, *rdata;
};
/* Get them from obj: rrname must be a string; a missing member is
 * rejected as "<missing> NAME" (missing is "missing" or "obj has no");
 * with rrtype_string a non-string rrtype is rejected too.  Returns 0 or
 * INGEST_REJECT. */
int ingest_json_rr_get(struct ingest_ctx *c, json_t *obj, const char *missing, bool rrtype_string,
                       struct ingest_json_rr *rr);
/* obj's "count": 1 when missing.  Returns 0 or INGEST_REJECT. */
int ingest_json_count(struct ingest_ctx *c, json_t *obj, uint64_t *count);
/* A time from a JSON number (epoch, fraction allowed) or a string
 * (epoch or ISO 8601).  Returns 0 or STORE_EBADTIME. */
int ingest_json_time(json_t *v, int64_t *out);
/* Epoch seconds as text: digits with an optional fraction (dropped), at
 * most 2^32-1.  Returns 0 or STORE_EBADTIME. */
int ingest_epoch_parse(const char *s, size_t n, int64_t *out);
/* Count answers a line could not record (rdata of a type we cannot tell
 * or do not keep); shown in the summary. */
void ingest_note_rdata_skipped(struct ingest_ctx *c, uint64_t n);
/* Fill a DNS observation: name, type and rdata normalised; returns 0
 * or a store error code with c->reason filled. */
int ingest_dns_fill(struct ingest_ctx *c, struct store_obs *o, const char *rrname,
                    size_t rrname_len, uint16_t rrtype, const char *rdata, size_t rdata_len);
/* One observation per rdata value (a string or an array of strings) of a
 * COF/SAF-style object, with its "bailiwick" checked; sensor NULL or ""
 * keeps the stream's default.  Returns INGEST_OK or INGEST_REJECT. */
int ingest_dns_records(struct ingest_ctx *c, json_t *obj, json_t *rrname, uint16_t type,
                       json_t *rdata, int64_t tf, int64_t tl, uint64_t count, const char *sensor);
/* Fill the certificate part of an observation from a JSON object with
 * cert_sha1 / cert_sha256 / cert_pem / cert_der_b64. */
int ingest_cert_fill(struct ingest_ctx *c, struct store_obs *o, json_t *obj);

#endif
