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

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

typedef void (*ingest_reject_cb)(const char *input, uint64_t line, const char *reason, void *ctx);

struct ingest_opts {
	const char *format;         /* "auto" (default), "cof", "observations", ... */
	const char *sensor;         /* sensor id for lines that carry none; NULL */
	FILE *rejects;              /* every rejected line as NDJSON; NULL */
	unsigned stderr_rejects;    /* how many rejects to print on stderr (20) */
	size_t batch;               /* observations per transaction; 0 = sized to the
	                             * database (store_batch_budget, >= 10000) */
	size_t max_line;            /* longest line accepted (1 MiB) */
	bool progress;              /* progress bar on stderr */
	bool quiet;                 /* no reject lines on stderr at all */
	ingest_reject_cb on_reject; /* called for each reject; NULL */
	void *reject_ctx;
	/* passivedns settings (NULL = sensor defaults "||", "SMcsCQTAtn") */
	const char *pdns_delimiter;
	const char *pdns_fields;
	/* certificate files (PEM/DER): also a sighting on cert_ip:cert_port
	 * at the file's modification time (NULL = metadata only) */
	const char *cert_ip;
	uint16_t cert_port; /* 0 = 443 */
	bool dry_run;       /* parse and count, write nothing (store may be NULL) */
	bool no_clients;    /* no client sightings (store/client.h) from sensor logs */
	unsigned parsers;   /* threads parsing line-independent formats (COF,
	                     * EVE): 0 = one per CPU up to 4; 1 = parse in
	                     * the reading thread */
	size_t memory;      /* bytes for the write buffers: the merge table
	                     * (a quarter) and a transaction's dirty pages
	                     * (three eighths); 0 = INGEST_MEMORY_DEFAULT
	                     * (docs/write-path.md) */
};
#define INGEST_MEMORY_DEFAULT ((size_t)512 << 20)
#define INGEST_MEMORY_MIN ((size_t)16 << 20)
void ingest_opts_init(struct ingest_opts *o);

struct ingest_summary {
	uint64_t inputs;
	uint64_t lines;    /* non-empty lines read */
	uint64_t accepted; /* lines that produced records or were valid */
	uint64_t rejected;
	uint64_t skipped; /* valid lines with nothing to record (other event types, NXDOMAIN...) */
	uint64_t rdata_skipped; /* answers not recorded (RRSIG, TXT... in Zeek dns.log) */
	uint64_t records;       /* observations written */
	uint64_t bytes;
	uint64_t unreadable;  /* inputs that could not be read at all */
	uint64_t commits;     /* write transactions committed */
	uint64_t uncommitted; /* records buffered in the merge table when
	                       * the store failed: not written */
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
/* Largest time_last of every observation accepted by this stream so far
 * (feed checkpoints); -1 when none. */
int64_t ingest_stream_newest(const ingest_stream_t *st);
/* Continue the line numbering of the current input from n (a resumed
 * follow).  */
void ingest_stream_set_line(ingest_stream_t *st, uint64_t n);
/* With manual set, full batches are not written on their own: the caller
 * commits (follow mode, so records and position share a transaction). */
void ingest_stream_set_manual(ingest_stream_t *st, bool manual);
/* Make the record(s) of an input position into sb: bytes of the current
 * input consumed (whole lines only) and the number of its last line.
 * Returns 0 or an error (fatal for the stream). */
typedef int (*ingest_pos_fn)(void *arg, store_batch_t *sb, uint64_t bytes, uint64_t line);
/* From now on every write unit the stream hands over carries fn's record
 * of the position its lines end at, whatever closes it (the budget, a
 * full sensor table, a commit, the end), so records and position share
 * a transaction.  Lines are parsed in the reading thread (no helpers).
 * fn NULL turns it off. */
void ingest_stream_set_position(ingest_stream_t *st, ingest_pos_fn fn, void *arg);
/* The counts of the lines parsed so far (for a position record: call it
 * from the position callback); records counts those parsed, not yet
 * written (reading thread only, so not with parallel helpers). */
void ingest_stream_counts(const ingest_stream_t *st, struct ingest_summary *out);
/* Observations parsed and not yet handed to the writer. */
size_t ingest_stream_pending(const ingest_stream_t *st);

/* Ingest files (a path of "-" is stdin; directories walk their files;
 * ".gz" is decompressed).  Fills sum; returns 0 or a fatal store error. */
int ingest_files(store_t *s, char *const *paths, int n, const struct ingest_opts *o,
                 struct ingest_summary *sum);

/* Ingest a whole certificate file already in memory: one PEM block or
 * more, or one DER certificate.  mtime is the sighting time with
 * opts cert_ip.  Counts one line per certificate.  Returns 0 or a fatal
 * store error. */
int ingest_certfile(ingest_stream_t *st, const char *name, const uint8_t *buf, size_t len,
                    int64_t mtime);
/* True when buf starts like a certificate file (PEM or DER). */
bool ingest_certfile_detect(const uint8_t *buf, size_t len);
/* A passivedns field string the parser understands. */
bool ingest_pdns_fields_valid(const char *fields);

/* ---- follow mode (ingest/follow.c) ---------------------------------- */
struct ingest_follow_opts {
	unsigned poll_ms;            /* idle poll interval (200) */
	unsigned commit_ms;          /* longest time between commits while busy (1000) */
	unsigned exit_idle_ms;       /* stop after this long without new data; 0 = never */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to stop; may be NULL */
};
void ingest_follow_opts_init(struct ingest_follow_opts *fo);
/* Follow path like tail -F: read appended lines, survive rotation and
 * truncation, and keep the position (device, inode, offset, line) in the
 * store's meta record 'F'+absolute path, committed in the same
 * transaction as the records, so a restart resumes exactly.  Returns 0
 * when stopped, or a fatal error (an unreadable path at start, store). */
int ingest_follow(store_t *s, const char *path, const struct ingest_opts *o,
                  const struct ingest_follow_opts *fo, struct ingest_summary *sum);

/* Known format names, for --help and validation. */
bool ingest_format_known(const char *name);
const char *ingest_format_list(void);

/* ---- SAF, DNSDB's streaming framing (ingest/saf.c) ----------------- */
enum {
	INGEST_SAF_NONE = 0,
	INGEST_SAF_BEGIN,
	INGEST_SAF_ONGOING,
	INGEST_SAF_SUCCEEDED,
	INGEST_SAF_LIMITED,
	INGEST_SAF_FAILED,
	INGEST_SAF_UNKNOWN
};
/* Classify one line: INGEST_SAF_NONE when it is no {"cond":...} object,
 * else the condition (INGEST_SAF_UNKNOWN for a name we do not know); its
 * "msg" goes into msg (truncated to msgcap). */
int ingest_saf_cond(const char *line, size_t len, char *msg, size_t msgcap);

/* ---- pulling feeds over HTTP(S) (ingest/pull.c) --------------------- */
/* Project error codes of the puller (returned negated like store codes). */
enum {
	INGEST_EHTTP = -1100,      /* the server answered with an error status */
	INGEST_ETRANSFER = -1101,  /* connection, TLS or timeout failure */
	INGEST_ETOOBIG = -1102,    /* response larger than max_bytes */
	INGEST_ETRUNCATED = -1103, /* SAF stream without succeeded/limited */
	INGEST_ESAFFAILED = -1104, /* SAF stream ended with "failed" */
	INGEST_ESTOPPED = -1105,   /* interrupted (signal) */
};

struct ingest_pull_opts {
	const char *url;
	const char *format;         /* passed to the stream ("auto" allowed) */
	const char *const *headers; /* "Name: value" lines; NULL-terminated or NULL */
	const char *userpwd;        /* "user:password" for basic auth; NULL */
	const char *cacert;         /* CA bundle file; NULL = system default */
	bool insecure;              /* do not verify the server's certificate */
	long connect_timeout;       /* seconds, 0 = 30 */
	long timeout;               /* seconds for the whole transfer, 0 = none */
	uint64_t max_bytes;         /* largest body accepted (decoded), 0 = none */
	const char *checkpoint;     /* feed name for the checkpoint, NULL = none */
	const char *since_param;    /* URL parameter for the checkpoint */
	const char *spool_dir;      /* where the body is spooled; NULL = $TMPDIR|/tmp */
	volatile const int *stop;   /* set non-zero (signal) to abort; NULL */
};

struct ingest_pull_result {
	long http_status;   /* 0 when no response */
	int curl_code;      /* CURLcode of the transfer */
	double retry_after; /* seconds from Retry-After, -1 when absent */
	int saf_cond;       /* INGEST_SAF_* of the last condition line */
	char msg[512];      /* what went wrong (or the SAF limited msg) */
	uint64_t body_bytes;
	int64_t since;      /* checkpoint used for this pull, -1 none */
	int64_t checkpoint; /* checkpoint after this pull, -1 none */
	struct ingest_summary sum;
};

/* One pull: download url into a spool file (the body never sits in
 * memory), and only when the response is complete and successful (2xx,
 * whole body, SAF ending in succeeded/limited) parse it into the store and
 * commit the checkpoint with the last batch.  A failed pull writes
 * nothing.  Returns 0, a store error, or an INGEST_E* code with r->msg. */
int ingest_pull(store_t *s, const struct ingest_pull_opts *po, const struct ingest_opts *o,
                struct ingest_pull_result *r);
/* True when a failed pull is worth retrying (5xx, 429, 408, transfer
 * errors but certificate verification and bad URLs, truncated streams). */
bool ingest_pull_retryable(int err, const struct ingest_pull_result *r);
/* Read checkpoint `name` (-1 when none).  Returns 0 or a store error. */
int ingest_pull_checkpoint_get(store_t *s, const char *name, int64_t *out);
/* Message for an INGEST_E* code (store codes go to store_strerror). */
const char *ingest_strerror(int err);

/* ---- active TLS probe (ingest/probe.c) ------------------------------ */
struct ingest_probe_result {
	uint8_t ip[16];
	char ip_text[STORE_ADDR_BUF];
	uint16_t port;
	char sni[STORE_NAME_BUF]; /* "" when none was sent */
	char tls_version[32];
	char cipher[96];
	struct store_cert_meta leaf;   /* leaf.der malloc'd */
	struct store_cert_meta *chain; /* certificates after the leaf, malloc'd */
	size_t nchain;
	int64_t time;    /* when the handshake finished */
	char error[512]; /* "" on success */
};
/* Connect to ip:port (sockaddr from getaddrinfo), send sni when not NULL
 * or empty, accept any certificate and fill r.  timeout_ms bounds the
 * connect and the handshake each.  Returns 0 or -1 with r->error set.
 * Free r with ingest_probe_result_free().  Thread-safe; the process
 * should ignore SIGPIPE (a peer may close mid-handshake). */
int ingest_probe(const void *sa, size_t salen, const char *sni, int timeout_ms,
                 struct ingest_probe_result *r);
void ingest_probe_result_free(struct ingest_probe_result *r);

/* ---- JARM active TLS fingerprint (ingest/jarm.c) ------------------- */
#define INGEST_JARM_PROBES 10     /* ClientHellos of the method */
#define INGEST_JARM_LEN 62        /* hex characters of a fingerprint */
#define INGEST_JARM_READ_MAX 1484 /* bytes of each answer parsed (as the reference) */
#define INGEST_JARM_TEXT_MAX 2048 /* one answer as text, with its NUL */
struct ingest_jarm_result {
	char fp[INGEST_JARM_LEN + 1]; /* 62 zeros when no probe got a ServerHello */
	/* the ten answers "cipher|version|alpn|ext-ext-..." ("|||" for none),
	 * comma-separated: the reference's raw JARM */
	char raw[INGEST_JARM_PROBES * INGEST_JARM_TEXT_MAX];
	unsigned answered; /* probes answered with a ServerHello */
	char error[256];   /* "" on success */
};
/* Send the ten JARM ClientHellos to sa (from getaddrinfo), one TCP
 * connection each, in order, and fold the answers into r->fp.  sni: the
 * server_name sent (the reference sends the host or address as given);
 * NULL sends none.  timeout_ms bounds each connect and each answer; a
 * timeout ends the run with the fingerprint of zeros, as the reference
 * does.  Returns 0, or -1 with r->error (connection refused, timeout, no
 * ServerHello to any probe).  Thread-safe; raises no SIGPIPE (sends use
 * MSG_NOSIGNAL). */
int ingest_jarm(const void *sa, size_t salen, const char *sni, int timeout_ms,
                struct ingest_jarm_result *r);
/* ClientHello number probe (0-9) as one TLS record into out[cap]; *len
 * its size.  Returns 0, -E2BIG when cap is too small or -EIO (no random
 * bytes). */
int ingest_jarm_hello(unsigned probe, const char *sni, uint8_t *out, size_t cap, size_t *len);
/* One answer (untrusted bytes, at most INGEST_JARM_READ_MAX are read) as
 * its JARM text into out[cap]: "c02f|0303|h2|ff01-0000-0010", or "|||"
 * when it is no well-formed ServerHello.  Returns 1 for a ServerHello,
 * 0 otherwise. */
int ingest_jarm_parse(const uint8_t *data, size_t len, char *out, size_t cap);
/* The 62-character fingerprint of a raw JARM (ten answers).  Returns 0 or
 * -EINVAL when raw is not ten answers of that form. */
int ingest_jarm_hash(const char *raw, char fp[INGEST_JARM_LEN + 1]);

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
