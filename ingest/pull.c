/*
 * pull.c - pulling a feed over HTTP(S) with libcurl.
 *
 * Why a spool: records merge into the store by adding counts, so a pull
 * whose records were committed and that is then fetched again (because
 * it failed half-way and its checkpoint did not move) would count them
 * twice.  The body therefore streams from libcurl's write callback into
 * an unlinked temporary file (never into memory), and only a complete,
 * successful response is parsed into the store; the checkpoint is
 * committed in the same transaction as the last batch.  An HTTP error,
 * a dropped connection, a timeout, an oversized body or a truncated SAF
 * stream writes nothing.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"
#include "util/num.h"

#define PULL_CHUNK (256 * 1024)
#define PULL_HEAD 4096  /* first bytes kept for format detection */
#define PULL_TAIL 65536 /* last bytes read back for the SAF end condition */

struct xfer {
	FILE *spool;
	uint64_t bytes, max;
	bool toobig, write_failed;
	long status;
	char errbody[512];
	size_t errlen;
	char head[PULL_HEAD + 1];
	size_t headlen;
	double retry_after;
	CURL *curl;
	volatile const int *stop;
};

const char *ingest_strerror(int err)
{
	switch (err) {
	case INGEST_EHTTP:
		return "the server answered with an error status";
	case INGEST_ETRANSFER:
		return "transfer failed";
	case INGEST_ETOOBIG:
		return "response larger than --max-bytes";
	case INGEST_ETRUNCATED:
		return "stream truncated";
	case INGEST_ESAFFAILED:
		return "the server reported the query failed";
	case INGEST_ESTOPPED:
		return "interrupted";
	default:
		return store_strerror(err);
	}
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	char line[512];
	size_t l = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, buf, l);
	line[l] = '\0';
	while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == '\n'))
		line[--l] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		x->retry_after = -1; /* a new response (after 100 Continue...) */
	} else if (strncasecmp(line, "Retry-After:", 12) == 0) {
		const char *v = line + 12;
		while (*v == ' ' || *v == '\t')
			v++;
		uint64_t secs;
		if (util_u64_parse(v, UINT64_MAX, &secs) == 0) {
			x->retry_after = (double)secs;
		} else {
			/* an HTTP-date */
			time_t when = curl_getdate(v, NULL);
			if (when != -1) {
				time_t now = time(NULL);
				x->retry_after = when > now ? (double)(when - now) : 0;
			}
		}
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (x->status == 0)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status > 299) {
		/* keep the start of an error body for the message */
		size_t room = sizeof(x->errbody) - 1 - x->errlen;
		size_t c = len < room ? len : room;
		memcpy(x->errbody + x->errlen, buf, c);
		x->errlen += c;
		x->errbody[x->errlen] = '\0';
		return len;
	}
	if (x->max > 0 && x->bytes + len > x->max) {
		x->toobig = true;
		return 0; /* aborts the transfer */
	}
	if (x->headlen < PULL_HEAD) {
		size_t c = PULL_HEAD - x->headlen < len ? PULL_HEAD - x->headlen : len;
		memcpy(x->head + x->headlen, buf, c);
		x->headlen += c;
		x->head[x->headlen] = '\0';
	}
	if (fwrite(buf, 1, len, x->spool) != len) {
		x->write_failed = true;
		return 0;
	}
	x->bytes += len;
	return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = ud;
	return x->stop != NULL && *x->stop ? 1 : 0;
}

static FILE *spool_open(const char *dir)
{
	if (dir == NULL)
		dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	char path[4096];
	int l = snprintf(path, sizeof(path), "%s/infrapivot-pull-XXXXXX", dir);
	if (l < 0 || (size_t)l >= sizeof(path))
		return NULL;
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	/* unlinked: the spool disappears with the process, whatever happens */
	unlink(path);
	FILE *f = fdopen(fd, "w+b");
	if (f == NULL)
		close(fd);
	return f;
}

/* The last non-blank line of the spool (at most PULL_TAIL bytes). */
static size_t spool_last_line(FILE *f, uint64_t size, char *out, size_t cap)
{
	uint64_t off = size > cap - 1 ? size - (cap - 1) : 0;
	size_t n = (size_t)(size - off);
	if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(out, 1, n, f) != n)
		return 0;
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		n--;
	size_t start = n;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return n - start;
}

int ingest_pull_checkpoint_get(store_t *s, const char *name, int64_t *out)
{
	char key[512];
	int kl = snprintf(key, sizeof(key), "K%s", name);
	if (kl < 0 || (size_t)kl >= sizeof(key))
		return STORE_ETOOLONG;
	char val[32];
	size_t vl;
	*out = -1;
	int err = store_meta_get(s, key, (size_t)kl, val, sizeof(val) - 1, &vl);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
	val[vl] = '\0';
	uint64_t v;
	if (util_u64_parse(val, INT64_MAX, &v) != 0)
		return STORE_ECORRUPT;
	*out = (int64_t)v;
	return 0;
}

bool ingest_pull_retryable(int err, const struct ingest_pull_result *r)
{
	if (err == INGEST_ETRANSFER) {
		/* asking again will not change the answer */
		switch (r->curl_code) {
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_LOGIN_DENIED:
			return false;
		default:
			return true;
		}
	}
	if (err == INGEST_ETRUNCATED)
		return true;
	if (err == INGEST_EHTTP)
		return r->http_status >= 500 || r->http_status == 429 || r->http_status == 408;
	return false;
}

/* scheme://host[:port]/path: what reports show (no credentials, no query) */
static void display_url(CURLU *u, char *out, size_t cap)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	snprintf(out, cap, "%s://%s%s%s%s", scheme ? scheme : "?", host ? host : "?",
	         port ? ":" : "", port ? port : "", path ? path : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
}

static void msg_set(struct ingest_pull_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void msg_set(struct ingest_pull_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* Printable first line of an error body. */
static void body_excerpt(char *b)
{
	for (char *p = b; *p; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = '\0';
			break;
		}
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
	if (strlen(b) > 200)
		b[200] = '\0';
}

/* The meta record that moves the checkpoint to newest, when it moves. */
static size_t checkpoint_meta(const struct ingest_pull_opts *po, int64_t newest, int64_t since,
                              char *key, size_t kcap, char *val, size_t vcap,
                              struct store_meta_put *meta)
{
	if (po->checkpoint == NULL || newest <= since)
		return 0;
	int kl = snprintf(key, kcap, "K%s", po->checkpoint);
	int vl = snprintf(val, vcap, "%" PRId64, newest);
	*meta = (struct store_meta_put){key, (size_t)kl, val, (size_t)vl};
	return 1;
}

/* Parse the spooled body into the store; the last batch carries the
 * checkpoint. */
static int parse_spool(store_t *s, FILE *spool, const char *name, const char *format,
                       const struct ingest_pull_opts *po, const struct ingest_opts *o,
                       struct ingest_pull_result *r)
{
	ingest_stream_t *st;
	char *buf;
	int err = ingest_stream_open(&st, &buf, PULL_CHUNK, s, o);
	if (err != 0)
		return err;
	err = ingest_stream_begin(st, name, format, r->body_bytes);
	if (err == 0 && fseeko(spool, 0, SEEK_SET) != 0)
		err = -errno;
	while (err == 0) {
		size_t n = fread(buf, 1, PULL_CHUNK, spool);
		if (n == 0) {
			if (ferror(spool))
				err = -EIO;
			break;
		}
		err = ingest_stream_feed(st, buf, n);
	}
	if (err == 0)
		err = ingest_stream_end(st);
	struct store_meta_put meta = {0};
	char key[512], val[32];
	size_t nmeta = 0;
	r->checkpoint = r->since;
	if (err == 0)
		nmeta = checkpoint_meta(po, ingest_stream_newest(st), r->since, key, sizeof(key),
		                        val, sizeof(val), &meta);
	if (err == 0)
		err = ingest_stream_commit(st, &meta, nmeta);
	if (err == 0 && nmeta == 1)
		r->checkpoint = ingest_stream_newest(st);
	return ingest_stream_close(st, buf, &r->sum, err);
}

/* The checkpoint this pull starts from, and a format this build knows. */
static int pull_prepare(store_t *s, const struct ingest_pull_opts *po, const struct ingest_opts *o,
                        struct ingest_pull_result *r)
{
	int err;
	if (po->checkpoint != NULL) {
		if (strlen(po->checkpoint) == 0 || strlen(po->checkpoint) > 200)
			return STORE_ETOOLONG;
		err = ingest_pull_checkpoint_get(s, po->checkpoint, &r->since);
		if (err != 0) {
			msg_set(r, "cannot read checkpoint %s: %s", po->checkpoint,
			        store_strerror(err));
			return err;
		}
	}
	const char *fmt = po->format ? po->format : o->format;
	if (fmt != NULL && strcmp(fmt, "auto") != 0 && ingest_format_find(fmt) == NULL) {
		msg_set(r, "format %s is not available in this build (known: %s)", fmt,
		        ingest_format_list());
		return -EINVAL;
	}
	return 0;
}

/* The URL to fetch (with the checkpoint as a query parameter) and its
 * name for reports. */
static int pull_url(const struct ingest_pull_opts *po, struct ingest_pull_result *r, CURLU **out,
                    char *name, size_t cap)
{
	CURLU *u = curl_url();
	if (u == NULL)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, po->url, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		msg_set(r, "not a valid URL: %s", po->url);
		return -EINVAL;
	}
	if (r->since >= 0) {
		char q[256];
		snprintf(q, sizeof(q), "%s=%" PRId64,
		         po->since_param ? po->since_param : "time_last_after", r->since);
		curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
	}
	display_url(u, name, cap);
	*out = u;
	return 0;
}

static int header_list(const struct ingest_pull_opts *po, struct curl_slist **out)
{
	struct curl_slist *hl = NULL;
	for (size_t i = 0; po->headers != NULL && po->headers[i] != NULL; i++) {
		struct curl_slist *nl = curl_slist_append(hl, po->headers[i]);
		if (nl == NULL) {
			curl_slist_free_all(hl);
			return -ENOMEM;
		}
		hl = nl;
	}
	*out = hl;
	return 0;
}

/* Authentication, TLS and the time limits. */
static void set_transport(CURL *c, const struct ingest_pull_opts *po)
{
	if (po->userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_USERPWD, po->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (po->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, po->cacert);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, po->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, po->insecure ? 0L : 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	                 po->connect_timeout > 0 ? po->connect_timeout : 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, po->timeout);
	/* a stalled stream fails after five minutes without a byte */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 300L);
	if (po->max_bytes > 0)
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)po->max_bytes);
}

static void set_options(CURL *c, CURLU *u, struct curl_slist *hl, const struct ingest_pull_opts *po,
                        struct xfer *x, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_CURLU, u);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* no redirects: custom headers (API keys) would follow to any host */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "infrapivot/0.1.0");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	set_transport(c, po);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

static int http_error(struct ingest_pull_result *r, struct xfer *x, const char *name)
{
	body_excerpt(x->errbody);
	const char *hint = "";
	if (r->http_status == 401 || r->http_status == 403)
		hint = " (check --user, --header or --token-file)";
	else if (r->http_status >= 300 && r->http_status < 400)
		hint = " (redirects are not followed: pull the new URL)";
	msg_set(r, "%s: HTTP %ld%s%s%s; nothing recorded", name, r->http_status, hint,
	        x->errbody[0] ? ": " : "", x->errbody);
	return INGEST_EHTTP;
}

/* Whether the transfer cr brought a whole, successful response; else
 * the error, with its message in r. */
static int transfer_result(struct ingest_pull_result *r, struct xfer *x, CURLcode cr,
                           const char *errbuf, const char *name, uint64_t max_bytes)
{
	if (x->toobig || cr == CURLE_FILESIZE_EXCEEDED) {
		msg_set(r, "%s: response larger than --max-bytes %" PRIu64 "; nothing recorded",
		        name, max_bytes);
		return INGEST_ETOOBIG;
	}
	if (x->write_failed) {
		msg_set(r, "%s: cannot write the spool file: %s", name, strerror(errno));
		return -EIO;
	}
	if (cr == CURLE_ABORTED_BY_CALLBACK) {
		msg_set(r, "%s: interrupted; nothing recorded", name);
		return INGEST_ESTOPPED;
	}
	if (r->http_status != 0 && (r->http_status < 200 || r->http_status > 299))
		return http_error(r, x, name);
	if (cr != CURLE_OK) {
		char got[64] = "";
		if (x->bytes > 0)
			snprintf(got, sizeof(got), " after %" PRIu64 " bytes", x->bytes);
		msg_set(r, "%s: %s%s; nothing recorded", name,
		        errbuf[0] ? errbuf : curl_easy_strerror(cr), got);
		return INGEST_ETRANSFER;
	}
	if (fflush(x->spool) != 0)
		return -EIO;
	return 0;
}

/* Download into x's spool; the outcome goes into r. */
static int fetch(CURLU *u, const struct ingest_pull_opts *po, struct xfer *x,
                 struct ingest_pull_result *r, const char *name)
{
	struct curl_slist *hl = NULL;
	CURL *c = curl_easy_init();
	if (c == NULL)
		return -ENOMEM;
	x->curl = c;
	int err = header_list(po, &hl);
	if (err != 0)
		goto free_curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	set_options(c, u, hl, po, x, errbuf);
	CURLcode cr = curl_easy_perform(c);
	r->curl_code = (int)cr;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->http_status);
	r->retry_after = x->retry_after;
	r->body_bytes = x->bytes;
	err = transfer_result(r, x, cr, errbuf, name, po->max_bytes);
	curl_slist_free_all(hl);
free_curl:
	curl_easy_cleanup(c);
	return err;
}

/* Whether the body is SAF: named, or detected from its first non-blank
 * line as the stream would. */
static bool body_is_saf(const char *format, const struct xfer *x)
{
	if (format != NULL && strcmp(format, "auto") != 0)
		return strcmp(format, "saf") == 0;
	size_t h = 0;
	while (h < x->headlen && x->head[h] != '\0' && strchr(" \t\r\n", x->head[h]) != NULL)
		h++;
	const char *nl = memchr(x->head + h, '\n', x->headlen - h);
	size_t fl = nl ? (size_t)(nl - (x->head + h)) : x->headlen - h;
	const struct ingest_format *f = ingest_format_detect(x->head + h, fl);
	return f != NULL && strcmp(f->name, "saf") == 0;
}

/* A SAF stream must end with its "succeeded" or "limited" condition. */
static int check_saf_end(struct xfer *x, struct ingest_pull_result *r, const char *name)
{
	char *tail = malloc(PULL_TAIL);
	if (tail == NULL)
		return -ENOMEM;
	size_t tl = spool_last_line(x->spool, x->bytes, tail, PULL_TAIL);
	char smsg[400];
	r->saf_cond = ingest_saf_cond(tail, tl, smsg, sizeof(smsg));
	free(tail);
	if (r->saf_cond == INGEST_SAF_FAILED) {
		msg_set(r, "%s: the server reported the query failed: %s; nothing recorded", name,
		        smsg[0] ? smsg : "(no message)");
		return INGEST_ESAFFAILED;
	}
	if (r->saf_cond != INGEST_SAF_SUCCEEDED && r->saf_cond != INGEST_SAF_LIMITED) {
		msg_set(r,
		        "%s: SAF stream truncated (%" PRIu64 " bytes, no final "
		        "\"succeeded\" or \"limited\" condition); nothing recorded",
		        name, x->bytes);
		return INGEST_ETRUNCATED;
	}
	if (r->saf_cond == INGEST_SAF_LIMITED)
		msg_set(r, "%s: the server limited the results: %s", name,
		        smsg[0] ? smsg : "(no message)");
	return 0;
}

static void db_error_msg(struct ingest_pull_result *r, int err, const char *name)
{
	const char *d = store_last_error();
	char partial[200] = "";
	/* batches before the failed one are durable without the checkpoint */
	if (r->sum.records > 0)
		snprintf(partial, sizeof(partial),
		         " (%" PRIu64 " records were committed before it without the "
		         "checkpoint: pulling again adds them again)",
		         r->sum.records);
	msg_set(r, "%s: database error: %s%s%s%s", name, store_strerror(err), *d ? ": " : "", d,
	        partial);
}

/* Fetch into a spool, check the body is whole, then record it. */
static int pull_spooled(store_t *s, CURLU *u, const struct ingest_pull_opts *po,
                        const struct ingest_opts *o, struct ingest_pull_result *r, const char *name)
{
	struct xfer x = {.max = po->max_bytes, .retry_after = -1, .stop = po->stop};
	x.spool = spool_open(po->spool_dir);
	if (x.spool == NULL) {
		int err = -errno;
		msg_set(r, "cannot create a spool file: %s", strerror(errno));
		return err;
	}
	int err = fetch(u, po, &x, r, name);
	/* which format: SAF needs its end condition checked first */
	const char *format = po->format ? po->format : o->format;
	bool saf = err == 0 && body_is_saf(format, &x);
	if (saf)
		err = check_saf_end(&x, r, name);
	if (err == 0) {
		err = parse_spool(s, x.spool, name, saf ? "saf" : format, po, o, r);
		if (err != 0 && r->msg[0] == '\0')
			db_error_msg(r, err, name);
	}
	fclose(x.spool);
	return err;
}

int ingest_pull(store_t *s, const struct ingest_pull_opts *po, const struct ingest_opts *o,
                struct ingest_pull_result *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	r->since = -1;
	r->checkpoint = -1;
	int err = pull_prepare(s, po, o, r);
	if (err != 0)
		return err;
	CURLU *u;
	char name[1024];
	err = pull_url(po, r, &u, name, sizeof(name));
	if (err != 0)
		return err;
	err = pull_spooled(s, u, po, o, r, name);
	curl_url_cleanup(u);
	return err;
}
