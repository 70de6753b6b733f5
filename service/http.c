/*
 * http.c - the HTTP server core: daemon set-up and shutdown, per-request
 * state, strict path and query decoding, routing, authentication and the
 * response helpers every route uses.
 *
 * Keep-alive: libmicrohttpd answers "Connection: close" when a response
 * is queued on the first call of the access handler, so the first call
 * only parses and checks the request; the response goes out on the second.
 * The exception is a request with a body that we refuse (401/403/413):
 * answering at once means the body is never read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_internal.h"

void svc_http_conf_init(struct svc_http_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = n > 0 ? (unsigned)n : 2;
	c->max_connections = 512;
	c->timeout = 30;
	c->max_body = 64ull << 20;
	c->max_header = 32 * 1024;
	c->max_url = 4096;
	c->max_limit = 100000;
	c->default_limit = 1000;
	c->pivot_max_nodes = 2000;
	c->pivot_max_ms = 5000;
	c->pivot_max_fanout = 1000;
	c->drain_seconds = 30;
}

/* ---- bounded buffer ------------------------------------------------------ */
void svc_buf_init(struct svc_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int svc_buf_add(struct svc_buf *b, const void *data, size_t n)
{
	if (n > b->max - b->len)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > b->max + 1)
			nc = b->max + 1;
		char *np = realloc(b->p, nc);
		if (np == NULL)
			return -ENOMEM;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int svc_buf_adds(struct svc_buf *b, const char *s)
{
	return svc_buf_add(b, s, strlen(s));
}

static int buf_dump_cb(const char *buf, size_t size, void *data)
{
	return svc_buf_add(data, buf, size) == 0 ? 0 : -1;
}

int svc_buf_add_json(struct svc_buf *b, const json_t *obj)
{
	size_t before = b->len;
	if (json_dump_callback(obj, buf_dump_cb, b,
			       JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) != 0) {
		b->len = before;
		if (b->p != NULL)
			b->p[b->len] = '\0';
		return -E2BIG;
	}
	return 0;
}

char *svc_buf_take(struct svc_buf *b, size_t *len)
{
	char *p = b->p;
	*len = b->len;
	if (p == NULL) {
		p = malloc(1);
		if (p != NULL)
			p[0] = '\0';
	}
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void svc_buf_free(struct svc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- responses ----------------------------------------------------------- */
enum MHD_Result svc_http_send_h(struct svc_http_req *rq, unsigned status, const char *ctype,
				char *buf, size_t len, const char *const *hdrs)
{
	struct MHD_Response *resp;
	if (buf == NULL)
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL && hdrs[i + 1] != NULL; i += 2)
		MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
	if (atomic_load(&rq->srv->draining))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result r = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	rq->responded = true;
	rq->status = status;
	return r;
}

enum MHD_Result svc_http_send(struct svc_http_req *rq, unsigned status, const char *ctype,
			      char *buf, size_t len)
{
	return svc_http_send_h(rq, status, ctype, buf, len, NULL);
}

enum MHD_Result svc_http_send_json(struct svc_http_req *rq, unsigned status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (s == NULL)
		return MHD_NO;
	size_t n = strlen(s);
	/* one line, newline-terminated, pleasant in a terminal */
	char *t = realloc(s, n + 2);
	if (t == NULL) {
		free(s);
		return MHD_NO;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return svc_http_send(rq, status, "application/json", t, n + 1);
}

static enum MHD_Result error_v(struct svc_http_req *rq, unsigned status, const char *code,
			       const char *const *hdrs, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(code));
	/* the message may quote input that is not UTF-8 */
	json_t *m = json_string(msg);
	if (m == NULL)
		m = json_string("(message not representable)");
	json_object_set_new(e, "message", m);
	json_t *o = json_object();
	json_object_set_new(o, "error", e);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return MHD_NO;
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (t == NULL) {
		free(s);
		return MHD_NO;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return svc_http_send_h(rq, status, "application/json", t, n + 1, hdrs);
}

static enum MHD_Result error_h(struct svc_http_req *rq, unsigned status, const char *code,
			       const char *const *hdrs, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static enum MHD_Result error_h(struct svc_http_req *rq, unsigned status, const char *code,
			       const char *const *hdrs, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = error_v(rq, status, code, hdrs, fmt, ap);
	va_end(ap);
	return r;
}

enum MHD_Result svc_http_error(struct svc_http_req *rq, unsigned status, const char *code,
			       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = error_v(rq, status, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

enum MHD_Result svc_http_bad_param(struct svc_http_req *rq, const char *param,
				   const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return svc_http_error(rq, 400, "bad_parameter", "%s: %s", param, msg);
}

enum MHD_Result svc_http_store_error(struct svc_http_req *rq, int err, const char *what)
{
	switch (err) {
	case STORE_EBADNAME:
	case STORE_EBADADDR:
	case STORE_EBADHASH:
	case STORE_ETOOLONG:
	case STORE_EBADTIME:
	case STORE_EBADTYPE:
		return svc_http_error(rq, 400, "bad_request", "%s: %s", what, store_strerror(err));
	case STORE_ENOTFOUND:
		return svc_http_error(rq, 404, "not_found", "%s: %s", what, store_strerror(err));
	case -E2BIG:
		return svc_http_error(rq, 413, "response_too_large",
				      "%s: the response would be too large; lower limit", what);
	default:
		return svc_http_error(rq, 500, "internal", "%s: %s", what, store_strerror(err));
	}
}

/* ---- request parsing ------------------------------------------------------ */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict percent-decoding into a new string: "%" must be followed by two
 * hex digits and may not encode NUL or a control character. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				goto bad;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				goto bad;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

struct param_ctx {
	struct svc_http_req *rq;
	int err; /* 0, or 1 bad encoding, 2 too many, 3 duplicate */
	char bad[64];
};

static enum MHD_Result on_param(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct param_ctx *p = cls;
	struct svc_http_req *rq = p->rq;
	if (rq->nparams >= SVC_HTTP_MAX_PARAMS) {
		p->err = 2;
		return MHD_NO;
	}
	char *k = pct_decode(key, strlen(key));
	if (k == NULL) {
		p->err = 1;
		snprintf(p->bad, sizeof(p->bad), "%.60s", key);
		return MHD_NO;
	}
	char *v = pct_decode(value ? value : "", value ? strlen(value) : 0);
	if (v == NULL) {
		p->err = 1;
		snprintf(p->bad, sizeof(p->bad), "%.60s", k);
		free(k);
		return MHD_NO;
	}
	for (unsigned i = 0; i < rq->nparams; i++) {
		if (strcmp(rq->params[i].name, k) == 0) {
			p->err = 3;
			snprintf(p->bad, sizeof(p->bad), "%.60s", k);
			free(k);
			free(v);
			return MHD_NO;
		}
	}
	rq->params[rq->nparams].name = k;
	rq->params[rq->nparams].value = v;
	rq->nparams++;
	return MHD_YES;
}

const char *svc_http_param(struct svc_http_req *rq, const char *name)
{
	for (unsigned i = 0; i < rq->nparams; i++) {
		if (strcmp(rq->params[i].name, name) == 0) {
			rq->params[i].used = true;
			return rq->params[i].value;
		}
	}
	return NULL;
}

bool svc_http_reject_unused(struct svc_http_req *rq, enum MHD_Result *ret)
{
	for (unsigned i = 0; i < rq->nparams; i++) {
		if (!rq->params[i].used) {
			*ret = svc_http_bad_param(rq, rq->params[i].name, "unknown parameter");
			return true;
		}
	}
	return false;
}

const char *svc_http_arg(const struct svc_http_req *rq, unsigned i)
{
	return rq->args_at + i < rq->nsegs ? rq->segs[rq->args_at + i] : NULL;
}

unsigned svc_http_nargs(const struct svc_http_req *rq)
{
	return rq->nsegs - rq->args_at;
}

const char *svc_http_header(struct svc_http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

bool svc_http_u64_param(struct svc_http_req *rq, const char *name, uint64_t *out,
			enum MHD_Result *ret)
{
	const char *v = svc_http_param(rq, name);
	if (v == NULL)
		return true;
	if (svc_parse_u64(v, out) != 0) {
		*ret = svc_http_bad_param(rq, name, "'%.40s' is not a non-negative integer", v);
		return false;
	}
	return true;
}

/* ---- routing ---------------------------------------------------------------- */
typedef enum MHD_Result (*route_fn)(struct svc_http_req *rq);

static const struct route {
	enum svc_route_id id;
	const char *label;      /* for metrics */
	const char *prefix;     /* fixed segments */
	unsigned min_args, max_args;
	const char *method;     /* GET also answers HEAD */
	enum svc_role role;     /* needed when tokens are configured */
	route_fn fn;
} routes[] = {
	{ SVC_R_HEALTHZ, "/healthz", "healthz", 0, 0, "GET", SVC_ROLE_NONE, svc_http_healthz },
	{ SVC_R_METRICS, "/metrics", "metrics", 0, 0, "GET", SVC_ROLE_READ, svc_http_metrics },
	{ SVC_R_STATS, "/api/v1/stats", "api/v1/stats", 0, 0, "GET", SVC_ROLE_READ,
	  svc_http_stats },
	{ SVC_R_LOOKUP_DOMAIN, "/api/v1/lookup/domain", "api/v1/lookup/domain", 1, 1, "GET",
	  SVC_ROLE_READ, svc_http_lookup },
	{ SVC_R_LOOKUP_IP, "/api/v1/lookup/ip", "api/v1/lookup/ip", 1, 2, "GET", SVC_ROLE_READ,
	  svc_http_lookup },
	{ SVC_R_LOOKUP_CERT, "/api/v1/lookup/cert", "api/v1/lookup/cert", 1, 1, "GET",
	  SVC_ROLE_READ, svc_http_lookup },
	{ SVC_R_PIVOT, "/api/v1/pivot", "api/v1/pivot", 0, 0, "GET", SVC_ROLE_READ,
	  svc_http_pivot },
	{ SVC_R_OBSERVATIONS, "/api/v1/observations", "api/v1/observations", 0, 0, "POST",
	  SVC_ROLE_WRITE, NULL },
	{ SVC_R_DNSDB_PING, "/dnsdb/v2/ping", "dnsdb/v2/ping", 0, 0, "GET", SVC_ROLE_NONE,
	  svc_http_dnsdb_ping },
	{ SVC_R_DNSDB_RATE, "/dnsdb/v2/rate_limit", "dnsdb/v2/rate_limit", 0, 0, "GET",
	  SVC_ROLE_READ, svc_http_dnsdb_rate },
	{ SVC_R_DNSDB_LOOKUP, "/dnsdb/v2/lookup", "dnsdb/v2/lookup", 3, 5, "GET", SVC_ROLE_READ,
	  svc_http_dnsdb },
	{ SVC_R_DNSDB_SUMMARIZE, "/dnsdb/v2/summarize", "dnsdb/v2/summarize", 3, 5, "GET",
	  SVC_ROLE_READ, svc_http_dnsdb },
	{ SVC_R_CIRCL_PDNS, "/pdns/query", "pdns/query", 1, 1, "GET", SVC_ROLE_READ,
	  svc_http_circl_pdns },
	{ SVC_R_CIRCL_QUERY, "/v2pssl/query", "v2pssl/query", 1, 2, "GET", SVC_ROLE_READ,
	  svc_http_circl_pssl },
	{ SVC_R_CIRCL_CQUERY, "/v2pssl/cquery", "v2pssl/cquery", 1, 1, "GET", SVC_ROLE_READ,
	  svc_http_circl_pssl },
	{ SVC_R_CIRCL_CFETCH, "/v2pssl/cfetch", "v2pssl/cfetch", 1, 1, "GET", SVC_ROLE_READ,
	  svc_http_circl_pssl },
	{ SVC_R_WATCHLISTS, "/api/v1/watchlists", "api/v1/watchlists", 0, 0, "GET", SVC_ROLE_READ,
	  svc_http_watchlists },
	{ SVC_R_WATCHLIST_GET, "/api/v1/watchlists/{name}", "api/v1/watchlists", 1, 1, "GET",
	  SVC_ROLE_READ, svc_http_watchlist_get },
	{ SVC_R_WATCHLIST_PUT, "/api/v1/watchlists/{name}:put", "api/v1/watchlists", 1, 1, "PUT",
	  SVC_ROLE_WRITE, svc_http_watchlist_put },
	{ SVC_R_WATCHLIST_DELETE, "/api/v1/watchlists/{name}:delete", "api/v1/watchlists", 1, 1,
	  "DELETE", SVC_ROLE_WRITE, svc_http_watchlist_delete },
	{ SVC_R_WATCHLIST_POST, "/api/v1/watchlists/{name}/entries|pivot", "api/v1/watchlists", 2,
	  2, "POST", SVC_ROLE_WRITE, svc_http_watchlist_post },
	{ SVC_R_WATCHLIST_ENTRY_DELETE, "/api/v1/watchlists/{name}/entries/{indicator}",
	  "api/v1/watchlists", 3, 3, "DELETE", SVC_ROLE_WRITE, svc_http_watchlist_entry_delete },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const char *svc_http_route_label(enum svc_route_id id)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (routes[i].id == id)
			return routes[i].label;
	return "other";
}

/* Number of segments of prefix that match, or 0 when they do not. */
static unsigned prefix_match(const struct svc_http_req *rq, const char *prefix)
{
	unsigned k = 0;
	const char *p = prefix;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (k >= rq->nsegs || strlen(rq->segs[k]) != l || memcmp(rq->segs[k], p, l) != 0)
			return 0;
		k++;
		p += l;
		if (*p == '/')
			p++;
	}
	return k;
}

static void set_pending(struct svc_http_req *rq, unsigned status, const char *code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set_pending(struct svc_http_req *rq, unsigned status, const char *code,
			const char *fmt, ...)
{
	if (rq->pending_status != 0)
		return;
	rq->pending_status = status;
	snprintf(rq->pending_code, sizeof(rq->pending_code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rq->pending_msg, sizeof(rq->pending_msg), fmt, ap);
	va_end(ap);
}

static const struct route *find_route(struct svc_http_req *rq, const char *method)
{
	const struct route *path_match = NULL;
	char allow[64] = "";
	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *r = &routes[i];
		unsigned k = prefix_match(rq, r->prefix);
		if (k == 0)
			continue;
		unsigned nargs = rq->nsegs - k;
		if (nargs < r->min_args || nargs > r->max_args)
			continue;
		bool ok = strcmp(method, r->method) == 0 ||
			  (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
		if (ok) {
			rq->args_at = k;
			return r;
		}
		/* a path several routes share (watchlists) allows each one's method */
		path_match = r;
		size_t al = strlen(allow);
		snprintf(allow + al, sizeof(allow) - al, "%s%s%s", al ? ", " : "", r->method,
			 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
	}
	if (path_match != NULL) {
		rq->route = path_match->id;
		snprintf(rq->pending_allow, sizeof(rq->pending_allow), "%s", allow);
		set_pending(rq, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
			    method, allow);
	} else {
		set_pending(rq, 404, "not_found", "no such route");
	}
	return NULL;
}

static bool is_body_method(struct svc_http_req *rq)
{
	const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = svc_http_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

static void authenticate(struct svc_http_req *rq, const struct route *r)
{
	struct svc_tokens *t = rq->srv->tokens;
	if (t == NULL) {
		rq->role = SVC_ROLE_ADMIN;
		return;
	}
	const char *tok = NULL;
	const char *auth = svc_http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		tok = auth + 7;
		while (*tok == ' ')
			tok++;
	}
	if (tok == NULL)
		tok = svc_http_header(rq, "X-API-Key");
	rq->role = tok != NULL ? svc_tokens_check_name(t, tok, strlen(tok), rq->token_name,
						       sizeof(rq->token_name))
			       : SVC_ROLE_NONE;
	if (r->role == SVC_ROLE_NONE)
		return;
	if (tok == NULL)
		set_pending(rq, 401, "unauthorized",
			    "a token is required (Authorization: Bearer TOKEN or X-API-Key)");
	else if (rq->role == SVC_ROLE_NONE)
		set_pending(rq, 401, "unauthorized", "unknown token");
	else if (rq->role < r->role)
		set_pending(rq, 403, "forbidden", "this needs the %s role; the token has %s",
			    svc_role_name(r->role), svc_role_name(rq->role));
}

/* Parse the request line and headers into rq; errors become pending. */
static const struct route *prepare(struct svc_http_req *rq, const char *url, const char *method)
{
	size_t ulen = strlen(url);
	if (ulen > rq->srv->conf.max_url) {
		set_pending(rq, 414, "uri_too_long", "the request target is longer than %zu bytes",
			    rq->srv->conf.max_url);
		return NULL;
	}
	if (url[0] != '/') {
		set_pending(rq, 400, "bad_request", "the request target must be an absolute path");
		return NULL;
	}
	/* split on '/', decode each segment; a trailing '/' is tolerated */
	const char *p = url + 1;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0) {
			if (e == NULL || e[1] == '\0')
				break;
			set_pending(rq, 400, "bad_request", "empty path segment");
			return NULL;
		}
		if (rq->nsegs >= SVC_HTTP_MAX_SEGS) {
			set_pending(rq, 404, "not_found", "no such route");
			return NULL;
		}
		char *seg = pct_decode(p, l);
		if (seg == NULL) {
			set_pending(rq, 400, "bad_request",
				    "malformed path: bad percent-encoding in segment %u", rq->nsegs + 1);
			return NULL;
		}
		rq->segs[rq->nsegs++] = seg;
		p += l;
		if (*p == '/')
			p++;
	}
	struct param_ctx pc = { .rq = rq };
	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, on_param, &pc);
	if (pc.err == 1) {
		set_pending(rq, 400, "bad_parameter", "%s: bad percent-encoding", pc.bad);
		return NULL;
	}
	if (pc.err == 2) {
		set_pending(rq, 400, "bad_request", "more than %d query parameters",
			    SVC_HTTP_MAX_PARAMS);
		return NULL;
	}
	if (pc.err == 3) {
		set_pending(rq, 400, "bad_parameter", "%s: given more than once", pc.bad);
		return NULL;
	}
	const struct route *r = find_route(rq, method);
	if (r == NULL)
		return NULL;
	rq->route = r->id;
	authenticate(rq, r);
	if (rq->pending_status != 0)
		return r;
	if (r->id == SVC_R_WATCHLIST_PUT || r->id == SVC_R_WATCHLIST_POST) {
		const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl != NULL && svc_parse_u64(cl, &n) == 0 && n > SVC_HTTP_WATCH_MAX_BODY)
			set_pending(rq, 413, "payload_too_large",
				    "the body (%llu bytes) is over the limit of %u bytes",
				    (unsigned long long)n, SVC_HTTP_WATCH_MAX_BODY);
	}
	if (r->id == SVC_R_OBSERVATIONS) {
		char msg[256];
		if (!svc_http_observations_check(rq, msg, sizeof(msg))) {
			set_pending(rq, 400, "bad_parameter", "%s", msg);
			return r;
		}
		const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl != NULL && svc_parse_u64(cl, &n) == 0 && n > rq->srv->conf.max_body) {
			atomic_fetch_add(&rq->srv->metrics->bodies_too_large, 1);
			set_pending(rq, 413, "payload_too_large",
				    "the body (%llu bytes) is over the limit of %llu bytes",
				    (unsigned long long)n,
				    (unsigned long long)rq->srv->conf.max_body);
		}
	}
	return r;
}

static enum MHD_Result send_pending(struct svc_http_req *rq)
{
	if (rq->pending_status == 401) {
		static const char *const h[] = { "WWW-Authenticate", "Bearer realm=\"infrapivot\"",
						 NULL };
		return error_h(rq, 401, rq->pending_code, h, "%s", rq->pending_msg);
	}
	if (rq->pending_status == 405) {
		const char *const h[] = { "Allow", rq->pending_allow, NULL };
		return error_h(rq, 405, rq->pending_code, h, "%s", rq->pending_msg);
	}
	return svc_http_error(rq, rq->pending_status, rq->pending_code, "%s", rq->pending_msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct svc_http_server *srv = cls;
	struct svc_http_req *rq = *con_cls;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*con_cls = rq;
		rq->srv = srv;
		rq->conn = conn;
		rq->method = method;
		rq->is_head = strcmp(method, "HEAD") == 0;
		clock_gettime(CLOCK_MONOTONIC, &rq->t0);
		atomic_fetch_add(&srv->active, 1);
		prepare(rq, url, method);
		/* refuse a body we will not read before the client sends it */
		if (rq->pending_status != 0 && is_body_method(rq))
			return send_pending(rq);
		return MHD_YES;
	}
	if (rq->responded) {
		*size = 0; /* the rest of a refused body */
		return MHD_YES;
	}
	if (rq->pending_status != 0)
		return send_pending(rq);
	if (rq->route == SVC_R_OBSERVATIONS)
		return svc_http_observations(rq, data, size);
	if (*size != 0 && (rq->route == SVC_R_WATCHLIST_PUT || rq->route == SVC_R_WATCHLIST_POST)) {
		/* a JSON body, read whole up to its limit; the rest is dropped and
		 * answered with 413 once the body ended */
		if (!rq->body_too_large) {
			if (rq->body.max == 0)
				svc_buf_init(&rq->body, SVC_HTTP_WATCH_MAX_BODY);
			if (svc_buf_add(&rq->body, data, *size) != 0)
				rq->body_too_large = true;
		}
		*size = 0;
		return MHD_YES;
	}
	if (rq->body_too_large)
		return svc_http_error(rq, 413, "payload_too_large",
				      "the body is over the limit of %u bytes", SVC_HTTP_WATCH_MAX_BODY);
	if (*size != 0) {
		*size = 0; /* a body on a GET means nothing to us */
		return MHD_YES;
	}
	for (size_t i = 0; i < NROUTES; i++)
		if (routes[i].id == rq->route)
			return routes[i].fn(rq);
	return svc_http_error(rq, 404, "not_found", "no such route");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct svc_http_server *srv = cls;
	struct svc_http_req *rq = *con_cls;
	if (rq == NULL)
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - rq->t0.tv_sec) + (t1.tv_nsec - rq->t0.tv_nsec) / 1e9;
	if (rq->status != 0)
		svc_metrics_observe(srv->metrics, rq->route, rq->status, el);
	svc_http_observations_cleanup(rq);
	svc_buf_free(&rq->body);
	for (unsigned i = 0; i < rq->nsegs; i++)
		free(rq->segs[i]);
	for (unsigned i = 0; i < rq->nparams; i++) {
		free(rq->params[i].name);
		free(rq->params[i].value);
	}
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->active, 1);
}

/* Leave decoding to us: we want the raw bytes to reject bad encodings. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

/* ---- start and stop --------------------------------------------------------- */
int svc_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl,
			  bool *loopback)
{
	char host[256];
	const char *port;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		port = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (c == NULL || (size_t)(c - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = '\0';
		port = c + 1;
	}
	uint64_t pn;
	if (svc_parse_u64(port, &pn) != 0 || pn > 65535)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)pn);
		*sl = sizeof(*v4);
		*loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)pn);
		*sl = sizeof(*v6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
		return 0;
	}
	return -1;
}

static int listen_socket(const struct sockaddr_storage *ss, socklen_t sl, char *msg,
			 size_t msgcap)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(msg, msgcap, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) != 0) {
		snprintf(msg, msgcap, "cannot bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 511) != 0) {
		snprintf(msg, msgcap, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int svc_http_start(struct svc_http_server *srv, char *msg, size_t msgcap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (svc_http_parse_listen(srv->conf.listen, &ss, &sl, &loopback) != 0) {
		snprintf(msg, msgcap, "--listen: '%s' is not ADDR:PORT or [IPV6]:PORT",
			 srv->conf.listen);
		return -1;
	}
	if (!loopback && srv->tokens == NULL) {
		snprintf(msg, msgcap, "refusing to listen on %s without --tokens: an open API "
				      "only on loopback addresses (127.0.0.0/8, ::1)",
			 srv->conf.listen);
		return -1;
	}
	int fd = listen_socket(&ss, sl, msg, msgcap);
	if (fd < 0)
		return -1;
	srv->metrics = calloc(1, sizeof(*srv->metrics));
	if (srv->metrics == NULL) {
		close(fd);
		snprintf(msg, msgcap, "out of memory");
		return -1;
	}
	srv->started = time(NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	unsigned threads = srv->conf.threads > 0 ? srv->conf.threads : 1;
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
		srv->conf.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, srv->conf.timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->conf.max_header,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK,
		no_unescape, NULL, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		close(fd);
		free(srv->metrics);
		srv->metrics = NULL;
		snprintf(msg, msgcap, "libmicrohttpd failed to start (see above)");
		return -1;
	}
	return 0;
}

void svc_http_stop(struct svc_http_server *srv)
{
	if (srv->daemon == NULL)
		return;
	atomic_store(&srv->draining, true);
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* requests in flight finish; idle keep-alive connections are closed
	 * by MHD_stop_daemon */
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	for (unsigned i = 0; i < srv->conf.drain_seconds * 50u; i++) {
		if (atomic_load(&srv->active) == 0)
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
	free(srv->metrics);
	srv->metrics = NULL;
}
