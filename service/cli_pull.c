/*
 * cli_pull.c - `infrapivot pull`: fetch a feed over HTTP(S), once or
 * every --interval seconds, with retries and a checkpoint.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "service/svc.h"

#define MAX_HEADERS 32
#define TOKEN_MAX 8192

static volatile int pull_stop;

static void on_signal(int sig)
{
	pull_stop = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: infrapivot pull URL [OPTIONS]\n"
	        "\n"
	        "Fetch a passive DNS / certificate feed over HTTP(S) and record it.\n"
	        "The body streams to a temporary spool file (never into memory); only a\n"
	        "complete, successful response is recorded, so a failed pull records\n"
	        "nothing and a retry counts nothing twice.\n"
	        "\n"
	        "Input:\n"
	        "  --format NAME         %s, zeek-json\n"
	        "                        (default auto; saf = DNSDB API v2 streaming framing)\n"
	        "  --sensor ID           sensor id for records that carry none\n"
	        "  --rejects FILE        write every rejected line as NDJSON to FILE\n"
	        "  --batch N             observations per transaction (default: sized to\n"
	        "                        the database, 100000 while small)\n"
	        "  --max-line BYTES      longest line accepted (default 1048576)\n"
	        "  --max-bytes SIZE      largest response accepted, e.g. 500M (default 1G;\n"
	        "                        0 = no limit); a larger one records nothing\n"
	        "Authentication and transport:\n"
	        "  -H, --header 'NAME: VALUE'  extra request header (repeatable), e.g.\n"
	        "                        'X-API-Key: ...' for DNSDB\n"
	        "  -u, --user USER:PASS  HTTP basic authentication (CIRCL passive DNS)\n"
	        "  --token-file FILE     read a secret from FILE: a header line\n"
	        "                        ('X-API-Key: ...', 'Authorization: Bearer ...')\n"
	        "                        or a bare key, sent as 'X-API-Key: KEY'\n"
	        "  --cacert FILE         trust the CA certificates in FILE (PEM)\n"
	        "  -k, --insecure        do not verify the server's certificate (tests only)\n"
	        "  --connect-timeout S   seconds to connect (default 30)\n"
	        "  --timeout S           seconds for the whole transfer (default none; a\n"
	        "                        stream that stalls for 300 s fails anyway)\n"
	        "Incremental pulls and repetition:\n"
	        "  --checkpoint NAME     remember the newest time_last recorded from this\n"
	        "                        feed (stored in the database with the records) and\n"
	        "                        ask only for newer records next time\n"
	        "  --since-param NAME    URL parameter carrying the checkpoint\n"
	        "                        (default time_last_after, as DNSDB)\n"
	        "  --interval S          pull again every S seconds until interrupted\n"
	        "  --count N             stop after N pulls (with --interval)\n"
	        "  --retries N           retries of a failed pull: 5xx, 429, 408, connection\n"
	        "                        errors, truncated streams (default 3)\n"
	        "  --backoff S           first retry delay; doubles each retry, with jitter\n"
	        "                        (default 1; fractions allowed)\n"
	        "  --max-backoff S       longest retry delay (default 300); Retry-After\n"
	        "                        on 429/503 is honoured as given (up to a day)\n"
	        "Other:\n"
	        "  --db DIR              database directory\n"
	        "  --store STORE         lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	        "  -q, --quiet           do not print rejected lines on stderr\n"
	        "  -h, --help            this help\n"
	        "\n"
	        "Exit status: 0 recorded completely, 1 recorded but some lines were\n"
	        "rejected or the server limited the results (SAF \"limited\"), 2 nothing\n"
	        "recorded (HTTP error, transfer failure, truncated or failed stream, too\n"
	        "large, database error).  With --interval: the status of the last pull.\n",
	        ingest_format_list());
}

/* A token file holds a header line or a bare key; it stays off argv. */
static int read_token(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "infrapivot pull: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077) != 0)
		fprintf(stderr, "infrapivot pull: warning: %s is readable by other users\n", path);
	char buf[TOKEN_MAX];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	if (more) {
		fprintf(stderr, "infrapivot pull: %s is larger than %d bytes\n", path, TOKEN_MAX);
		return -1;
	}
	buf[n] = '\0';
	/* first non-blank line, trimmed */
	char *p = buf;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	size_t l = strcspn(p, "\r\n");
	while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
		l--;
	p[l] = '\0';
	if (l == 0) {
		fprintf(stderr, "infrapivot pull: %s is empty\n", path);
		return -1;
	}
	size_t name = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	int w;
	if (name > 0 && p[name] == ':')
		w = snprintf(out, cap, "%s", p);
	else
		w = snprintf(out, cap, "X-API-Key: %s", p);
	if (w < 0 || (size_t)w >= cap)
		return -1;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > 86400 * 365)
		return -1;
	*out = v;
	return 0;
}

/* Sleep up to secs, waking early on a signal. */
static void nap(double secs)
{
	double left = secs;
	while (left > 0 && !pull_stop) {
		double step = left < 0.1 ? left : 0.1;
		struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
		nanosleep(&ts, NULL);
		left -= step;
	}
}

static double backoff_delay(double base, double max, unsigned attempt, unsigned *seed)
{
	double d = base * pow(2.0, attempt < 30 ? attempt : 30);
	if (d > max)
		d = max;
	/* "equal jitter": half fixed, half random, so clients spread out */
	return d / 2 + d / 2 * ((double)rand_r(seed) / RAND_MAX);
}

static void print_summary(const char *url, const struct ingest_pull_result *r)
{
	const struct ingest_summary *s = &r->sum;
	char cp[64] = "";
	if (r->checkpoint >= 0 || r->since >= 0)
		snprintf(cp, sizeof(cp), "; checkpoint %" PRId64 " -> %" PRId64, r->since,
		         r->checkpoint);
	fprintf(stderr,
	        "pull: HTTP %ld, %" PRIu64 " bytes; %" PRIu64 " lines read, %" PRIu64
	        " accepted, %" PRIu64 " rejected, %" PRIu64 " skipped; %" PRIu64
	        " records (%" PRIu64 " new, %" PRIu64 " merged)%s\n",
	        r->http_status, r->body_bytes, s->lines, s->accepted, s->rejected, s->skipped,
	        s->records, s->ws.dns_new + s->ws.sight_new, s->ws.dns_merged + s->ws.sight_merged,
	        cp);
}

/* What the command line asks for. */
struct pull_cli {
	struct ingest_opts o;
	struct ingest_pull_opts po;
	const char *headers[MAX_HEADERS + 2];
	size_t nheaders;
	const char *db, *rejects, *token_file;
	double interval, backoff, max_backoff;
	uint64_t count, retries;
};

static void pull_cli_init(struct pull_cli *pc)
{
	memset(pc, 0, sizeof(*pc));
	ingest_opts_init(&pc->o);
	pc->po.max_bytes = 1ull << 30;
	pc->po.since_param = "time_last_after";
	pc->backoff = 1;
	pc->max_backoff = 300;
	pc->retries = 3;
}

static int opt_format(struct pull_cli *pc, const char *arg)
{
	/* eve and zeek-json come with the sensor formats; the stream
	 * validates the name */
	if (!ingest_format_known(arg) && strcmp(arg, "eve") != 0 && strcmp(arg, "zeek-json") != 0) {
		fprintf(stderr, "infrapivot pull: unknown format '%s' (known: %s)\n", arg,
		        ingest_format_list());
		return SVC_OPT_BAD;
	}
	pc->o.format = arg;
	/* the Zeek parser may read JSON logs under its own name */
	if (strcmp(arg, "zeek-json") == 0 && !ingest_format_known(arg) &&
	    ingest_format_known("zeek"))
		pc->o.format = "zeek";
	return SVC_OPT_OK;
}

/* --db, --format, --sensor, --batch, --max-line, --rejects, --max-bytes,
 * --quiet */
static int opt_input(void *ctx, int c, const char *arg)
{
	struct pull_cli *pc = ctx;
	switch (c) {
	case 'd':
		pc->db = arg;
		return SVC_OPT_OK;
	case 'f':
		return opt_format(pc, arg);
	case 's':
	case 'b':
	case 'L':
		return svc_ingest_opt("pull", c, arg, &pc->o) != 0 ? SVC_OPT_BAD : SVC_OPT_OK;
	case 'r':
		pc->rejects = arg;
		return SVC_OPT_OK;
	case 'M':
		if (svc_parse_size(arg, &pc->po.max_bytes) != 0) {
			fprintf(stderr,
			        "infrapivot pull: --max-bytes takes a size (500M, 2G, 0)\n");
			return SVC_OPT_BAD;
		}
		return SVC_OPT_OK;
	case 'q':
		pc->o.quiet = true;
		return SVC_OPT_OK;
	default:
		return SVC_OPT_OTHER;
	}
}

static int opt_header(struct pull_cli *pc, const char *arg)
{
	if (pc->nheaders == MAX_HEADERS) {
		fprintf(stderr, "infrapivot pull: at most %d --header\n", MAX_HEADERS);
		return SVC_OPT_BAD;
	}
	if (strchr(arg, ':') == NULL || strpbrk(arg, "\r\n") != NULL) {
		fprintf(stderr, "infrapivot pull: --header takes 'NAME: VALUE'\n");
		return SVC_OPT_BAD;
	}
	pc->headers[pc->nheaders++] = arg;
	return SVC_OPT_OK;
}

/* --connect-timeout ('c') and --timeout ('t') */
static int opt_timeout(struct pull_cli *pc, int c, const char *arg)
{
	uint64_t v;
	const char *msg = c == 'c' ? "--connect-timeout takes seconds (0-86400)"
	                           : "--timeout takes seconds (0-86400)";
	if (svc_opt_u64("pull", arg, 0, 86400, msg, &v) != 0)
		return SVC_OPT_BAD;
	if (c == 'c')
		pc->po.connect_timeout = (long)v;
	else
		pc->po.timeout = (long)v;
	return SVC_OPT_OK;
}

/* --header, --user, --token-file, --cacert, --insecure, the timeouts */
static int opt_transport(void *ctx, int c, const char *arg)
{
	struct pull_cli *pc = ctx;
	switch (c) {
	case 'H':
		return opt_header(pc, arg);
	case 'u':
		if (strchr(arg, ':') == NULL) {
			fprintf(stderr, "infrapivot pull: --user takes USER:PASSWORD\n");
			return SVC_OPT_BAD;
		}
		pc->po.userpwd = arg;
		return SVC_OPT_OK;
	case 'T':
		pc->token_file = arg;
		return SVC_OPT_OK;
	case 'C':
		pc->po.cacert = arg;
		return SVC_OPT_OK;
	case 'k':
		pc->po.insecure = true;
		return SVC_OPT_OK;
	case 'c':
	case 't':
		return opt_timeout(pc, c, arg);
	default:
		return SVC_OPT_OTHER;
	}
}

/* --interval ('i'), --backoff ('B'), --max-backoff ('X') */
static int opt_seconds(struct pull_cli *pc, int c, const char *arg)
{
	double d;
	if (parse_seconds(arg, &d) != 0) {
		fprintf(stderr, "infrapivot pull: --%s takes seconds\n",
		        c == 'i'   ? "interval"
		        : c == 'B' ? "backoff"
		                   : "max-backoff");
		return SVC_OPT_BAD;
	}
	if (c == 'i')
		pc->interval = d;
	else if (c == 'B')
		pc->backoff = d;
	else
		pc->max_backoff = d;
	return SVC_OPT_OK;
}

/* --checkpoint, --since-param, --interval, --count, --retries, the
 * backoffs */
static int opt_repeat(void *ctx, int c, const char *arg)
{
	struct pull_cli *pc = ctx;
	switch (c) {
	case 'K':
		pc->po.checkpoint = arg;
		return SVC_OPT_OK;
	case 'S':
		if (*arg == '\0' || strpbrk(arg, "&=?# ") != NULL) {
			fprintf(stderr, "infrapivot pull: --since-param takes a parameter name\n");
			return SVC_OPT_BAD;
		}
		pc->po.since_param = arg;
		return SVC_OPT_OK;
	case 'i':
	case 'B':
	case 'X':
		return opt_seconds(pc, c, arg);
	case 'n':
		return svc_opt_u64("pull", arg, 1, UINT64_MAX, "--count takes a positive number",
		                   &pc->count);
	case 'R':
		return svc_opt_u64("pull", arg, 0, 1000, "--retries takes 0-1000", &pc->retries);
	default:
		return SVC_OPT_OTHER;
	}
}

/* The URL and the checks that need every option. */
static int pull_check_args(struct pull_cli *pc, int argc, char **argv)
{
	if (optind != argc - 1) {
		fprintf(stderr, "infrapivot pull: give exactly one URL\n");
		usage(stderr);
		return -1;
	}
	pc->po.url = argv[optind];
	if (strncmp(pc->po.url, "http://", 7) != 0 && strncmp(pc->po.url, "https://", 8) != 0) {
		fprintf(stderr, "infrapivot pull: URL must start with http:// or https://\n");
		return -1;
	}
	const char *cp = pc->po.checkpoint;
	if (cp != NULL && (strlen(cp) == 0 || strlen(cp) > 200)) {
		fprintf(stderr, "infrapivot pull: --checkpoint NAME must be 1-200 bytes\n");
		return -1;
	}
	if (pc->token_file != NULL) {
		static char token[TOKEN_MAX + 32];
		if (pc->nheaders == MAX_HEADERS ||
		    read_token(pc->token_file, token, sizeof(token)) != 0)
			return -1;
		pc->headers[pc->nheaders++] = token;
	}
	pc->po.headers = pc->headers;
	pc->po.stop = &pull_stop;
	if (pc->count == 0)
		pc->count = pc->interval > 0 ? UINT64_MAX : 1;
	pc->o.progress = false;
	return 0;
}

/* Parse the command line into pc.  Returns -1 to go on, else the exit
 * status. */
static int pull_parse_args(struct pull_cli *pc, int argc, char **argv)
{
	static const struct option longopts[] = {
	    SVC_INGEST_LONGOPTS,
	    {"max-bytes", required_argument, NULL, 'M'},
	    {"header", required_argument, NULL, 'H'},
	    {"user", required_argument, NULL, 'u'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"cacert", required_argument, NULL, 'C'},
	    {"insecure", no_argument, NULL, 'k'},
	    {"connect-timeout", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"checkpoint", required_argument, NULL, 'K'},
	    {"since-param", required_argument, NULL, 'S'},
	    {"interval", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'n'},
	    {"retries", required_argument, NULL, 'R'},
	    {"backoff", required_argument, NULL, 'B'},
	    {"max-backoff", required_argument, NULL, 'X'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const svc_opt_fn handlers[] = {opt_input, opt_transport, opt_repeat, NULL};
	int status = svc_getopt(argc, argv, "H:u:kqh", longopts, handlers, pc, usage);
	if (status >= 0)
		return status;
	return pull_check_args(pc, argc, argv) == 0 ? -1 : 2;
}

/* How long to wait before retry number attempt + 1. */
static double retry_wait(const struct pull_cli *pc, const struct ingest_pull_result *r,
                         unsigned attempt, unsigned *seed)
{
	if ((r->http_status == 429 || r->http_status == 503) && r->retry_after >= 0)
		return r->retry_after > 86400 ? 86400 : r->retry_after;
	return backoff_delay(pc->backoff, pc->max_backoff, attempt, seed);
}

/* One pull with its retries.  Returns the last attempt's error. */
static int pull_with_retries(store_t *s, const struct pull_cli *pc, struct ingest_pull_result *r,
                             unsigned *seed)
{
	int err = 0;
	for (unsigned attempt = 0;; attempt++) {
		err = ingest_pull(s, &pc->po, &pc->o, r);
		if (err == 0 || pull_stop)
			break;
		fprintf(stderr, "infrapivot pull: %s\n", r->msg[0] ? r->msg : ingest_strerror(err));
		if (!ingest_pull_retryable(err, r) || attempt >= pc->retries)
			break;
		double wait = retry_wait(pc, r, attempt, seed);
		fprintf(stderr, "infrapivot pull: retry %u of %" PRIu64 " in %.1f s\n", attempt + 1,
		        pc->retries, wait);
		nap(wait);
		if (pull_stop)
			break;
	}
	return err;
}

/* Report how a pull ended.  Returns its exit status. */
static int pull_outcome(const struct pull_cli *pc, int err, const struct ingest_pull_result *r)
{
	if (err == 0) {
		print_summary(pc->po.url, r);
		if (r->saf_cond == INGEST_SAF_LIMITED)
			fprintf(stderr,
			        "infrapivot pull: warning: %s (records were recorded; "
			        "the rest of the result set was not sent)\n",
			        r->msg);
		return r->sum.rejected > 0 || r->saf_cond == INGEST_SAF_LIMITED ? 1 : 0;
	}
	if (err == INGEST_ESTOPPED || pull_stop)
		fprintf(stderr, "infrapivot pull: interrupted; nothing of this pull "
		                "was recorded\n");
	else if (!ingest_pull_retryable(err, r) || pc->retries == 0)
		; /* message already printed */
	else
		fprintf(stderr, "infrapivot pull: giving up after %" PRIu64 " retries\n",
		        pc->retries);
	return 2;
}

/* Pull count times, every interval seconds.  Returns the last status. */
static int pull_rounds(store_t *s, const struct pull_cli *pc)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int status = 0;
	for (uint64_t round = 0; round < pc->count && !pull_stop; round++) {
		if (round > 0)
			nap(pc->interval);
		if (pull_stop)
			break;
		struct ingest_pull_result r;
		int err = pull_with_retries(s, pc, &r, &seed);
		status = pull_outcome(pc, err, &r);
	}
	return status;
}

int svc_cmd_pull(int argc, char **argv)
{
	struct pull_cli pc;
	pull_cli_init(&pc);
	int status = pull_parse_args(&pc, argc, argv);
	if (status >= 0)
		return status;
	if (svc_rejects_open(pc.rejects, &pc.o) != 0)
		return 2;
	store_t *s = NULL;
	status = 2;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "infrapivot pull: cannot initialise libcurl\n");
		goto close_rejects;
	}
	s = svc_open_db(pc.db, false);
	if (s == NULL)
		goto cleanup_curl;
	svc_on_stop_signals(on_signal);
	status = pull_rounds(s, &pc);
	store_close(s);
cleanup_curl:
	curl_global_cleanup();
close_rejects:
	/* a failed close matters only when something was written */
	if (pc.o.rejects != NULL && fclose(pc.o.rejects) != 0 && s != NULL)
		perror(pc.rejects);
	return status;
}
