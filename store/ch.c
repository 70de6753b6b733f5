/*
 * ch.c - the ClickHouse HTTP client: store addresses, credentials, one
 * request per statement with a bounded response, and ClickHouse's own
 * error message carried to store_last_error().
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/ch_internal.h"
#include "store/store_internal.h"
#include "util/num.h"

#define CH_STR_(x) #x
#define CH_STR(x) CH_STR_(x)

struct store_ch {
	CURL *curl;
	struct store_ch_url url;
	char user[STORE_CH_USER_BUF];
	char pass[STORE_CH_PASS_BUF];
	size_t response_max;
	unsigned cur; /* the entry point that answered last */
	/* while set, INSERTs are recorded here instead of sent (ch_intent.c) */
	struct util_buf *capture;
	struct ch_ahead *ahead; /* a read-ahead's statements and answers */
	/* whether rows are filed under SHA-256 references (ch_s256): -1 not
	 * asked yet (asked with the session's first read-ahead), -2 asked and
	 * not answered, 0 none, 1 some */
	int s256;
};

static bool host_ok(const char *s, size_t n)
{
	if (n == 0 || n >= STORE_CH_HOST_BUF)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	}
	return true;
}

static bool db_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= STORE_CH_DB_BUF || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

/* One entry point "HOST:PORT" (n bytes at s) into e; *why on failure. */
static int entry_parse(const char *s, size_t n, struct store_ch_entry *e, const char **why)
{
	const char *colon = memchr(s, ':', n);
	uint64_t port;
	*why = n == 0 ? "an empty entry point" : "an entry point without :PORT";
	if (colon == NULL)
		return -EINVAL;
	*why = "a bad host (a name or an IPv4 address)";
	if (!host_ok(s, (size_t)(colon - s)))
		return -EINVAL;
	*why = "a bad port (1-65535)";
	if (util_u64_parsen(colon + 1, n - (size_t)(colon - s) - 1, 65535, &port) != 0 || port == 0)
		return -EINVAL;
	memcpy(e->host, s, (size_t)(colon - s));
	e->host[colon - s] = '\0';
	e->port = (unsigned)port;
	return 0;
}

static bool entry_listed(const struct store_ch_url *u, const struct store_ch_entry *e)
{
	for (unsigned i = 0; i < u->n; i++) {
		if (u->entry[i].port == e->port && strcmp(u->entry[i].host, e->host) == 0)
			return true;
	}
	return false;
}

/* The entry points between h and slash, separated by commas. */
static int entries_parse(const char *h, const char *slash, struct store_ch_url *out,
                         const char **why)
{
	for (const char *p = h;;) {
		const char *comma = memchr(p, ',', (size_t)(slash - p));
		const char *end = comma ? comma : slash;
		struct store_ch_entry e;
		*why = "more than " CH_STR(STORE_CH_ENTRIES_MAX) " entry points";
		if (out->n == STORE_CH_ENTRIES_MAX)
			return -EINVAL;
		if (entry_parse(p, (size_t)(end - p), &e, why) != 0)
			return -EINVAL;
		*why = "an entry point listed twice";
		if (entry_listed(out, &e))
			return -EINVAL;
		out->entry[out->n++] = e;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

int store_ch_url_parse(const char *url, struct store_ch_url *out)
{
	static const char scheme[] = "clickhouse://";
	const char *why = "not clickhouse://";
	memset(out, 0, sizeof(*out));
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		goto bad;
	const char *h = url + sizeof(scheme) - 1;
	const char *slash = strchr(h, '/');
	why = "no /DATABASE";
	if (slash == NULL || entries_parse(h, slash, out, &why) != 0)
		goto bad;
	why = "a bad database name ([A-Za-z0-9_], not starting with a digit)";
	if (!db_ok(slash + 1))
		goto bad;
	memcpy(out->db, slash + 1, strlen(slash + 1) + 1);
	return 0;
bad:
	store_set_error("not a ClickHouse store address (clickhouse://HOST:PORT/DATABASE) "
	                "or list of entry points (clickhouse://HOST:PORT,HOST:PORT/DATABASE): "
	                "%.200s: %s",
	                url, why);
	return -EINVAL;
}

/* "user:password" on the first line of path. */
static int credentials_file(const char *path, char *user, char *pass)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		store_set_error("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	char line[STORE_CH_USER_BUF + STORE_CH_PASS_BUF + 2];
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[got ? strcspn(line, "\r\n") : 0] = '\0';
	char *colon = strchr(line, ':');
	if (colon == NULL || colon == line || (size_t)(colon - line) >= STORE_CH_USER_BUF ||
	    strlen(colon + 1) >= STORE_CH_PASS_BUF) {
		store_set_error("%s: want one line user:password", path);
		return -EINVAL;
	}
	*colon = '\0';
	memcpy(user, line, strlen(line) + 1);
	memcpy(pass, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int store_ch_credentials(char user[STORE_CH_USER_BUF], char pass[STORE_CH_PASS_BUF])
{
	const char *u = getenv("INFRAPIVOT_CH_USER");
	const char *p = getenv("INFRAPIVOT_CH_PASSWORD");
	const char *file = getenv("INFRAPIVOT_CH_CREDENTIALS");
	snprintf(user, STORE_CH_USER_BUF, "default");
	pass[0] = '\0';
	if (u != NULL && *u != '\0') {
		if (strlen(u) >= STORE_CH_USER_BUF ||
		    (p != NULL && strlen(p) >= STORE_CH_PASS_BUF)) {
			store_set_error("INFRAPIVOT_CH_USER or _PASSWORD too long");
			return -EINVAL;
		}
		snprintf(user, STORE_CH_USER_BUF, "%s", u);
		snprintf(pass, STORE_CH_PASS_BUF, "%s", p ? p : "");
		return 0;
	}
	if (file != NULL && *file != '\0')
		return credentials_file(file, user, pass);
	return 0;
}

int store_ch_open(store_ch_t **out, const char *url)
{
	struct store_ch *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	int err = store_ch_url_parse(url, &c->url);
	if (err == 0)
		err = store_ch_credentials(c->user, c->pass);
	if (err == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		err = -ENOMEM;
	if (err == 0) {
		c->curl = curl_easy_init();
		if (c->curl == NULL)
			err = -ENOMEM;
	}
	if (err != 0) {
		free(c);
		return err;
	}
	c->response_max = STORE_CH_RESPONSE_MAX;
	c->s256 = -1;
	*out = c;
	return 0;
}

void store_ch_close(store_ch_t *c)
{
	if (c == NULL)
		return;
	store_ch_ahead_drop(c);
	free(c->ahead);
	curl_easy_cleanup(c->curl);
	explicit_bzero(c->pass, sizeof(c->pass));
	free(c);
}

const char *store_ch_db(const store_ch_t *c)
{
	return c->url.db;
}

struct util_buf *ch_capture(store_ch_t *c, struct util_buf *to)
{
	struct util_buf *was = c->capture;
	c->capture = to;
	return was;
}

void store_ch_set_response_max(store_ch_t *c, size_t max)
{
	c->response_max = max;
}

struct sink {
	struct util_buf *b;
	bool over;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (util_buf_add(s->b, p, n) != 0) {
		s->over = s->b->err == -E2BIG;
		return 0; /* aborts the transfer */
	}
	return n;
}

/* The request's path: the statement and the settings as parameters. */
static char *request_path(store_ch_t *c, const char *sql, const char *settings)
{
	char *q = sql ? curl_easy_escape(c->curl, sql, 0) : NULL;
	struct util_buf u;
	util_buf_init(&u, 1 << 20);
	util_buf_printf(&u, "/?database=%s", c->url.db);
	if (q != NULL)
		util_buf_printf(&u, "&query=%s", q);
	if (settings != NULL)
		util_buf_printf(&u, "&%s", settings);
	curl_free(q);
	return util_buf_finish(&u, NULL);
}

/* ClickHouse's message: "Code: 60, e.displayText() = DB::Exception: ...",
 * its first line, into store_last_error(). */
static int server_error(long status, const struct util_buf *b)
{
	const char *m = b->p ? b->p : "";
	size_t n = strcspn(m, "\n");
	store_set_error("clickhouse: HTTP %ld: %.*s", status, (int)(n > 400 ? 400 : n), m);
	return STORE_EREMOTE;
}

/* The options of one request to url on handle h (reset first): the
 * handle's credentials, the body (NULL: a GET), the response into s and
 * the headers hdr. */
static void easy_opts(store_ch_t *c, CURL *h, const char *url, const void *body, size_t blen,
                      struct sink *s, struct curl_slist *hdr)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
}

/* One request to entry point e.  *down: it did not answer (no
 * connection, or the connection broke before a whole answer came). */
static int perform_at(store_ch_t *c, const struct store_ch_entry *e, const char *path,
                      const void *body, size_t blen, struct util_buf *out, bool *down)
{
	CURL *h = c->curl;
	struct sink s = {out, false};
	char *url = NULL;
	if (asprintf(&url, "http://%s:%u%s", e->host, e->port, path) < 0)
		return -ENOMEM;
	/* no "Expect: 100-continue": a round trip less for every INSERT */
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	CURLcode rc = hdr == NULL ? CURLE_OUT_OF_MEMORY : CURLE_OK;
	if (rc == CURLE_OK) {
		easy_opts(c, h, url, body, blen, &s, hdr);
		rc = curl_easy_perform(h);
	}
	curl_slist_free_all(hdr);
	free(url);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s.over) {
		store_set_error("clickhouse: response over %zu bytes", c->response_max);
		return STORE_ELIMIT;
	}
	if (rc != CURLE_OK) {
		store_set_error("clickhouse %s:%u: %s", e->host, e->port, curl_easy_strerror(rc));
		*down = rc != CURLE_OUT_OF_MEMORY && out->err != -ENOMEM;
		return *down ? STORE_EREMOTE : -ENOMEM;
	}
	if (status != 200)
		return server_error(status, out);
	return 0;
}

/* The request on the entry point that answered last, then on each other
 * one in turn while they do not answer (ch.h says why that is safe).  A
 * dead entry point's partial answer is dropped from out. */
static int perform(store_ch_t *c, const char *path, const void *body, size_t blen,
                   struct util_buf *out)
{
	size_t mark = out->len;
	struct util_buf why;
	bool down = true;
	int err = STORE_EREMOTE;
	util_buf_init(&why, 4096);
	for (unsigned k = 0; k < c->url.n && down; k++) {
		unsigned i = (c->cur + k) % c->url.n;
		down = false;
		out->len = mark;
		if (out->p != NULL)
			out->p[mark] = '\0';
		err = perform_at(c, &c->url.entry[i], path, body, blen, out, &down);
		if (!down)
			c->cur = i;
		else
			util_buf_printf(&why, "%s%s", k > 0 ? "; " : "", store_last_error());
	}
	if (down && c->url.n > 1)
		store_set_error("clickhouse: every entry point is down (%s)", why.p ? why.p : "");
	util_buf_free(&why);
	return err;
}

int store_ch_exec(store_ch_t *c, const char *sql, const void *body, size_t blen,
                  const char *settings, struct util_buf *out)
{
	struct util_buf local;
	util_buf_init(&local, c->response_max);
	struct util_buf *b = out ? out : &local;
	if (out != NULL && out->limit > c->response_max)
		out->limit = c->response_max;
	/* a statement without rows goes in the body, where its length has no
	 * URL limit (a pivot level's IN list); an INSERT's rows take the body */
	char *path = request_path(c, body ? sql : NULL, settings);
	int err = path == NULL ? -ENOMEM
	          : body       ? perform(c, path, body, blen, b)
	                       : perform(c, path, sql, strlen(sql), b);
	free(path);
	util_buf_free(&local);
	return err;
}

int store_ch_ping(store_ch_t *c)
{
	struct util_buf b;
	util_buf_init(&b, 4096);
	/* without parameters: with any, 18.16 takes /ping for a query */
	int err = perform(c, "/ping", NULL, 0, &b);
	if (err == 0 && (b.p == NULL || strncmp(b.p, "Ok.", 3) != 0)) {
		const struct store_ch_entry *e = &c->url.entry[c->cur];
		store_set_error("clickhouse %s:%u: /ping did not answer Ok.", e->host, e->port);
		err = STORE_EREMOTE;
	}
	util_buf_free(&b);
	return err;
}

/* ---- read-ahead: independent reads sent at once --------------------------- */

#define AHEAD_MAX 64 /* statements kept; more are sent when read */
#define AHEAD_PAR 8  /* requests in flight at once */

struct ahead_req {
	char *sql;            /* as ch_query sends it */
	struct util_buf resp; /* its whole answer, when ok */
	struct sink sink;
	CURL *h; /* in flight */
	bool ok;
};

struct ch_ahead {
	bool recording;
	size_t n;
	struct ahead_req req[AHEAD_MAX];
};

int store_ch_ahead_record(store_ch_t *c)
{
	if (c->ahead == NULL && (c->ahead = calloc(1, sizeof(*c->ahead))) == NULL)
		return -ENOMEM;
	store_ch_ahead_drop(c);
	c->ahead->recording = true;
	return 0;
}

bool ch_ahead_answer(store_ch_t *c, const char *sql, struct util_buf *resp)
{
	struct ch_ahead *a = c->ahead;
	if (a == NULL)
		return false;
	if (a->recording) {
		/* noted once: a first pass may make a read twice (a seed's
		 * certificate keys, by its counts and by its edges) */
		for (size_t i = 0; i < a->n; i++)
			if (strcmp(a->req[i].sql, sql) == 0)
				return true;
		if (a->n < AHEAD_MAX && (a->req[a->n].sql = strdup(sql)) != NULL)
			a->n++;
		return true; /* answered with no rows */
	}
	for (size_t i = 0; i < a->n; i++) {
		struct ahead_req *r = &a->req[i];
		if (r->ok && strcmp(r->sql, sql) == 0) {
			util_buf_free(resp);
			*resp = r->resp; /* taken: a read made twice is sent twice */
			memset(&r->resp, 0, sizeof(r->resp));
			r->ok = false;
			return true;
		}
	}
	return false;
}

/* Start request i of a on multi handle m (url: the entry point and path;
 * hdr: the headers).  A request that cannot start stays not ok. */
static void ahead_start(store_ch_t *c, CURLM *m, size_t i, const char *url, struct curl_slist *hdr)
{
	struct ahead_req *r = &c->ahead->req[i];
	CURL *h = curl_easy_init();
	if (h == NULL)
		return;
	util_buf_init(&r->resp, c->response_max);
	r->sink = (struct sink){&r->resp, false};
	easy_opts(c, h, url, r->sql, strlen(r->sql), &r->sink, hdr);
	curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)r);
	if (curl_multi_add_handle(m, h) != CURLM_OK)
		curl_easy_cleanup(h);
	else
		r->h = h;
}

/* Take the finished transfers of m: a 200 with its whole body is ok. */
static size_t ahead_done(CURLM *m)
{
	size_t done = 0;
	int left;
	for (CURLMsg *msg; (msg = curl_multi_info_read(m, &left)) != NULL;) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct ahead_req *r = NULL;
		long status = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		r->ok = msg->data.result == CURLE_OK && status == 200 && !r->sink.over;
		curl_multi_remove_handle(m, r->h);
		curl_easy_cleanup(r->h);
		r->h = NULL;
		done++;
	}
	return done;
}

/* The recorded statements, AHEAD_PAR at a time, to the entry point that
 * answered last. */
static void ahead_run(store_ch_t *c, CURLM *m, const char *url, struct curl_slist *hdr)
{
	struct ch_ahead *a = c->ahead;
	size_t next = 0, running = 0;
	for (; next < a->n && running < AHEAD_PAR; next++, running++)
		ahead_start(c, m, next, url, hdr);
	while (running > 0) {
		int still = 0;
		if (curl_multi_perform(m, &still) != CURLM_OK)
			break;
		size_t done = ahead_done(m);
		running -= done < running ? done : running;
		for (; next < a->n && running < AHEAD_PAR; next++, running++)
			ahead_start(c, m, next, url, hdr);
		if (running > 0 && done == 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
}

/* Whether any row is filed under a SHA-256 reference (kind 2: a sensor
 * named the certificate by its SHA-256 before its SHA-1 was known): a
 * range of the key of each table a read by certificate reads, cheap.  A
 * certificate observation always writes its cert row, sightings their
 * sight and prev_cert_ips rows; cert_attr's rows come with cert's (its
 * key starts with the attribute, not the certificate).  A reference a
 * branch, not a constant: 18.16 refuses a UNION ALL of constants over
 * Distributed tables ("non constant in source stream"). */
#define S256_KEYS "cert >= toFixedString(unhex('02'), 33) AND cert < toFixedString(unhex('03'), 33)"
static const char s256_probe[] =
    "SELECT cert FROM cert PREWHERE " S256_KEYS
    " LIMIT 1 UNION ALL SELECT cert FROM sight PREWHERE " S256_KEYS
    " LIMIT 1 UNION ALL SELECT cert FROM prev_cert_ips PREWHERE " S256_KEYS " LIMIT 1" CH_ROWBINARY;

int ch_s256(const store_ch_t *c)
{
	return c->s256;
}

void ch_s256_give(store_ch_t *c, int v)
{
	c->s256 = v != 0;
}

/* The probe's answer, when the read-ahead kept one (then forgotten). */
static void s256_take(store_ch_t *c)
{
	struct ch_ahead *a = c->ahead;
	for (size_t i = 0; i < a->n; i++) {
		struct ahead_req *r = &a->req[i];
		if (r->ok && strcmp(r->sql, s256_probe) == 0) {
			c->s256 = r->resp.len > 0;
			util_buf_free(&r->resp);
			r->ok = false;
		}
	}
}

void store_ch_ahead_send(store_ch_t *c)
{
	struct ch_ahead *a = c->ahead;
	if (a == NULL || !a->recording)
		return;
	a->recording = false;
	if (a->n == 0)
		return;
	/* the session's first read-ahead asks whether rows are filed under
	 * SHA-256 references: none, and no read by certificate needs its
	 * alias check (ch_batch.c) */
	if (c->s256 == -1 && a->n < AHEAD_MAX && (a->req[a->n].sql = strdup(s256_probe)) != NULL) {
		a->n++;
		c->s256 = -2; /* asked once: unknown unless answered */
	}
	const struct store_ch_entry *e = &c->url.entry[c->cur];
	char *path = request_path(c, NULL, CH_READ_SETTINGS);
	char *url = NULL;
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	CURLM *m = curl_multi_init();
	if (path != NULL && hdr != NULL && m != NULL &&
	    asprintf(&url, "http://%s:%u%s", e->host, e->port, path) >= 0) {
		ahead_run(c, m, url, hdr);
		free(url);
	}
	/* what did not finish is read as any read is, when it is made */
	for (size_t i = 0; i < a->n; i++) {
		if (a->req[i].h != NULL) {
			curl_multi_remove_handle(m, a->req[i].h);
			curl_easy_cleanup(a->req[i].h);
			a->req[i].h = NULL;
		}
	}
	if (m != NULL)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdr);
	free(path);
	s256_take(c);
}

/* Whether a kept an answer for sql. */
static bool ahead_kept(const struct ch_ahead *a, const char *sql)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->req[i].ok && strcmp(a->req[i].sql, sql) == 0)
			return true;
	return false;
}

bool ch_ahead_pair(store_ch_t *c, const struct util_buf *q1, const struct util_buf *q2,
                   void **saved)
{
	struct ch_ahead *a = c->ahead;
	if (q1->err != 0 || q2->err != 0 || (a != NULL && a->recording))
		return false;
	struct ch_ahead *two = calloc(1, sizeof(*two));
	if (two == NULL)
		return false;
	const struct util_buf *q[2] = {q1, q2};
	bool kept = false; /* the read-ahead's answer, which ch_query takes */
	for (size_t i = 0; i < 2 && asprintf(&two->req[i].sql, "%s" CH_ROWBINARY, q[i]->p) >= 0;
	     i++) {
		two->n++;
		kept = kept || (a != NULL && ahead_kept(a, two->req[i].sql));
	}
	if (two->n < 2 || kept) {
		for (size_t i = 0; i < two->n; i++)
			free(two->req[i].sql);
		free(two);
		return false;
	}
	two->recording = true;
	*saved = a;
	c->ahead = two;
	store_ch_ahead_send(c);
	return true;
}

void ch_ahead_pair_end(store_ch_t *c, void *saved)
{
	store_ch_ahead_drop(c);
	free(c->ahead);
	c->ahead = saved;
}

void store_ch_ahead_drop(store_ch_t *c)
{
	struct ch_ahead *a = c->ahead;
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->req[i].sql);
		util_buf_free(&a->req[i].resp);
	}
	memset(a, 0, sizeof(*a));
}
