/*
 * svc.h - the service module: the binary's subcommands, the lookup
 * renderers shared by the CLI and the HTTP API.  Nothing includes this
 * header from another module.
 */
#ifndef INFRAPIVOT_SVC_H
#define INFRAPIVOT_SVC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* ---- lookups (service/lookup.c) ------------------------------------- */
enum svc_lookup_kind {
	SVC_LOOKUP_DOMAIN,
	SVC_LOOKUP_IP,
	SVC_LOOKUP_CERT,
	/* service/lookup_keys.c */
	SVC_LOOKUP_KEY,     /* certificates with a public key (SPKI SHA-256) */
	SVC_LOOKUP_SUBJECT, /* certificates with a subject DN */
	SVC_LOOKUP_SERIAL,  /* certificates with a serial [from an issuer] */
	SVC_LOOKUP_JARM,    /* ip:port sightings of a JARM */
	SVC_LOOKUP_JA3S,    /* ip:port sightings of a JA3S */
};

/* One result: a resolution (COF object), a certificate sighting, or the
 * certificate's metadata.  kind tells which. */
enum svc_result_kind { SVC_RES_RR, SVC_RES_SIGHTING, SVC_RES_CERT, SVC_RES_FP };
typedef int (*svc_result_cb)(enum svc_result_kind kind, json_t *obj, void *ctx);

/* Optional fast path for resolutions: gets the record itself instead of
 * a JSON object (offset and limit still apply).  Return 0 to go on. */
typedef int (*svc_rr_cb)(const struct store_rr *rr, void *ctx);

struct svc_lookup_req {
	enum svc_lookup_kind kind;
	const char *value; /* name, "*.zone", addr[/len], or hash */
	uint16_t rrtype;   /* 0 = any (domain lookups) */
	struct store_fence fence;
	uint64_t limit;     /* results after offset; 0 = no limit */
	uint64_t offset;    /* results to skip (pagination) */
	bool include_certs; /* ip/domain lookups also list certificates */
	svc_rr_cb rr_cb;    /* NULL: resolutions go to cb as JSON too */
	const char *issuer; /* serial lookups: only from this issuer (NULL: any) */
};
struct svc_lookup_res {
	uint64_t emitted;
	bool limited; /* more results exist beyond limit */
};

/* Validate req->value for its kind: 0 or a store error with msg set. */
int svc_lookup_check(const struct svc_lookup_req *req, char *msg, size_t msgcap);
/* Run a lookup; each result goes to cb as a new JSON object that cb
 * must json_decref().  Returns 0 or a store error. */
int svc_lookup(store_t *s, const struct svc_lookup_req *req, svc_result_cb cb, void *ctx,
               struct svc_lookup_res *res);

/* The lookups of lookup_keys.c, run by svc_lookup: emit hands each
 * result on (offset and limit applied) and returns what a store walk
 * callback returns. */
typedef int (*svc_emit_fn)(void *e, enum svc_result_kind kind, json_t *obj);
int svc_lookup_keys(store_rtxn_t *r, const struct svc_lookup_req *req, svc_emit_fn emit, void *e);
/* svc_lookup_check for those kinds; 1 for another kind. */
int svc_lookup_keys_check(const struct svc_lookup_req *req, char *msg, size_t msgcap);
/* A fingerprint sighting as JSON (new reference). */
json_t *svc_fp_json(const struct store_fp_sighting *s);
/* Set "key_sha256" of a certificate's JSON (null when unknown).  0, or
 * the store's error (a ClickHouse store's server may fail). */
int svc_cert_json_key(store_rtxn_t *r, const struct store_cert_ref *ref, json_t *o);

/* JSON renderers (new references). */
json_t *svc_rr_json(const struct store_rr *rr);
/* The compact JSON text of svc_rr_json(rr) (as json_dumps with
 * JSON_COMPACT | JSON_PRESERVE_ORDER prints it) written into out without
 * building the object, NUL-terminated.  Returns the length, or -1 when the
 * record needs the general renderer (a string with non-ASCII or control
 * bytes, or more than cap - 1 bytes). */
int svc_rr_text(const struct store_rr *rr, char *out, size_t cap);
json_t *svc_sighting_json(const struct store_sighting *si);
json_t *svc_cert_json(const struct store_cert_info *ci);
/* Lower-case hex of a cert reference's hash, and its hash name. */
void svc_certref_hex(const struct store_cert_ref *ref, char *out);

/* Parse a fence option value into f (name: first_after, first-after,
 * since ...).  Returns 0, 1 when name is not a fence option, or <0. */
int svc_fence_set(struct store_fence *f, const char *name, const char *val);

/* Counts of every kind of record and the sizes, as a JSON object in a
 * fixed key order (new reference in *out).  Returns 0 or a store error. */
int svc_stats_json(store_t *s, json_t **out);

/* ---- CLI subcommands --------------------------------------------------- */
int svc_cmd_ingest(int argc, char **argv);
int svc_cmd_lookup(int argc, char **argv);
int svc_cmd_pivot(int argc, char **argv);
int svc_cmd_stats(int argc, char **argv);
int svc_cmd_compact(int argc, char **argv);
int svc_cmd_pull(int argc, char **argv);
int svc_cmd_probe(int argc, char **argv);
int svc_cmd_serve(int argc, char **argv);
int svc_cmd_watchlist(int argc, char **argv);
int svc_cmd_migrate(int argc, char **argv);

/* Open the database named by --db / $INFRAPIVOT_DB, with a message on
 * failure.  Returns NULL on failure (message printed). */
store_t *svc_open_db(const char *dir_opt, bool rdonly);
/* Whether s is an LMDB store; if not, "infrapivot CMD: not supported on
 * the ClickHouse store yet: WHAT" is printed (for what a command refuses
 * before it starts). */
bool svc_lmdb_only(const store_t *s, const char *what);
/* A store error for a person: store_strerror(err), and for the errors of
 * a ClickHouse store (STORE_ENOTSUP, STORE_EREMOTE) ": " and what
 * store_last_error() says.  A thread-local buffer. */
const char *svc_store_error(int err);
/* Size strings like "64M", "1G"; returns 0 or -1. */
int svc_parse_size(const char *s, uint64_t *out);
/* The ingest options ingest and pull share: --sensor ('s'), --batch
 * ('b'), --max-line ('L').  Sets o; on a bad value prints why, naming
 * cmd, and returns -1. */
struct ingest_opts;
int svc_ingest_opt(const char *cmd, int opt, const char *arg, struct ingest_opts *o);
/* The long options ingest and pull share, first in their tables:
 * --db ('d'), --format ('f'), then those of svc_ingest_opt and
 * --rejects ('r'). */
/* clang-format off */
#define SVC_INGEST_LONGOPTS \
	{"db", required_argument, NULL, 'd'}, {"store", required_argument, NULL, 'd'}, \
	{"format", required_argument, NULL, 'f'}, \
	{"sensor", required_argument, NULL, 's'}, \
	{"rejects", required_argument, NULL, 'r'}, \
	{"batch", required_argument, NULL, 'b'}, \
	{"max-line", required_argument, NULL, 'L'}
/* clang-format on */
/* The options of a command that takes --db ('d'), --help ('h') and flags
 * (longopts entries with a flag pointer, which getopt_long sets).  Returns
 * -1 to go on (optind at the first operand), 0 after the help, 2 on a bad
 * option. */
struct option;
int svc_db_opts(int argc, char **argv, const struct option *longopts, const char **db,
                void (*usage)(FILE *f));
/* The value of the next --now (or --now=T) in argv from *i on, before any
 * "--", with *i moved past it; NULL when there is none.  Subcommands read
 * --now before their other options: relative times count from it. */
const char *svc_next_now(int argc, char **argv, int *i);
/* Print j (consumed) to standard output as json_dumps(j, flags) and a
 * newline.  Returns 0, or -1 when j is NULL or cannot be rendered. */
int svc_print_json(json_t *j, size_t flags);
/* Non-negative decimal (util_u64_parse() over the whole u64 range); 0 or -1. */
int svc_parse_u64(const char *s, uint64_t *out);
/* An option's number in [lo, hi] into out; otherwise prints
 * "infrapivot CMD: MSG" and returns -1. */
int svc_opt_u64(const char *cmd, const char *arg, uint64_t lo, uint64_t hi, const char *msg,
                uint64_t *out);
/* --rejects FILE: open path (when not NULL) for writing into o->rejects.
 * Returns 0, or -1 with the reason printed.  The caller closes it. */
int svc_rejects_open(const char *path, struct ingest_opts *o);
/* A subcommand's option handler: SVC_OPT_OK, SVC_OPT_BAD (why printed)
 * or SVC_OPT_OTHER (not one of its options). */
enum { SVC_OPT_OK = 0, SVC_OPT_BAD = -1, SVC_OPT_OTHER = 1 };
typedef int (*svc_opt_fn)(void *ctx, int opt, const char *arg);
/* getopt_long over argv, offering each option to the NULL-terminated
 * handlers in turn; -h/--help prints usage to stdout, an unknown option
 * usage to stderr.  Returns -1 when every option was taken, else the
 * exit status (0 after --help, 2). */
int svc_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const svc_opt_fn *handlers, void *ctx, void (*usage)(FILE *f));
/* The command being run ("lookup"), for messages; set by main(). */
void svc_set_command(const char *name);
const char *svc_command(void);
/* After getopt_long (opterr 0) returned '?' or ':': print one line naming
 * the program, the command (and sub, when not NULL) and what was wrong:
 * an unknown option with the nearest one offered, an ambiguous
 * abbreviation, a missing or unwanted value. */
void svc_opt_error(const char *sub, int argc, char **argv, const char *shortopts,
                   const struct option *longopts);
/* The time option --opt V (util_time_parse(), relative to now, after 1970)
 * into out: 0, or -1 with "infrapivot CMD [SUB]: --opt ... why" printed. */
int svc_time_opt(const char *sub, const char *opt, const char *v, int64_t now, int64_t *out);
/* Global options given before the command (infrapivot --db X stats) moved
 * after it, as if written there.  Returns a new argv of *newargc entries
 * (the caller frees the array, not the strings), or NULL when there were
 * none (argv stands). */
char **svc_global_opts(int argc, char **argv, int *newargc);
/* A domain name a person typed, in its A-label (ASCII) form into out: a
 * name with U-labels (bücher.example, *.bücher.example) is converted by
 * libidn2 (IDNA2008, UTS #46 non-transitional); an ASCII name is copied
 * as it is.  Returns 0, or -1 with why saying what was wrong. */
int svc_idn_ascii(const char *in, char *out, size_t cap, char *why, size_t whycap);
/* The Unicode form of a name with A-labels (xn--...) into out: true, or
 * false when it has none or they do not decode. */
bool svc_idn_unicode(const char *in, char *out, size_t cap);
/* Call fn on SIGINT and SIGTERM. */
void svc_on_stop_signals(void (*fn)(int));

#endif
