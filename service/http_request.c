/*
 * http_request.c - from request line and headers to a route: strict
 * percent-decoding of the path and the query, routing (404/405),
 * authentication (401/403) and the checks made before a body is read.
 * Errors found here are kept in the request and answered by
 * svc_http_send_pending().
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/http_internal.h"
#include "util/hex.h"

/* ---- request parsing ------------------------------------------------------ */
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
			h = util_hex_digit(s[i + 1]);
			l = util_hex_digit(s[i + 2]);
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

static void set_pending(struct svc_http_req *rq, unsigned status, const char *code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static void set_pending(struct svc_http_req *rq, unsigned status, const char *code, const char *fmt,
                        ...)
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

static const struct svc_route *find_route(struct svc_http_req *rq, const char *method)
{
	const struct svc_route *path_match = NULL;
	char allow[64] = "";
	for (size_t i = 0; i < svc_nroutes; i++) {
		const struct svc_route *r = &svc_routes[i];
		unsigned k = prefix_match(rq, r->prefix);
		if (k == 0 && r->prefix[0] != '\0')
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

bool svc_http_has_body(struct svc_http_req *rq)
{
	const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = svc_http_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

static void authenticate(struct svc_http_req *rq, const struct svc_route *r)
{
	struct svc_tokens *t = rq->srv->tokens;
	if (t == NULL) {
		rq->role = SVC_ROLE_ADMIN;
		return;
	}
	const char *tok = NULL;
	char basic[512];
	size_t toklen = 0;
	const char *auth = svc_http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth != NULL)
		tok = svc_auth_token(auth, basic, sizeof(basic), &toklen);
	if (tok == NULL) {
		tok = svc_http_header(rq, "X-API-Key");
		toklen = tok != NULL ? strlen(tok) : 0;
	}
	rq->role = tok != NULL ? svc_tokens_check_name(t, tok, toklen, rq->token_name,
	                                               sizeof(rq->token_name))
	                       : SVC_ROLE_NONE;
	OPENSSL_cleanse(basic, sizeof(basic));
	if (r->role == SVC_ROLE_NONE)
		return;
	if (tok == NULL)
		set_pending(
		    rq, 401, "unauthorized",
		    "a token is required (Authorization: Bearer TOKEN, Basic with the token as "
		    "password, or X-API-Key)");
	else if (rq->role == SVC_ROLE_NONE)
		set_pending(rq, 401, "unauthorized", "unknown token");
	else if (rq->role < r->role)
		set_pending(rq, 403, "forbidden", "this needs the %s role; the token has %s",
		            svc_role_name(r->role), svc_role_name(rq->role));
}

static bool check_target(struct svc_http_req *rq, const char *url)
{
	if (strlen(url) > rq->srv->conf.max_url) {
		set_pending(rq, 414, "uri_too_long", "the request target is longer than %zu bytes",
		            rq->srv->conf.max_url);
		return false;
	}
	if (url[0] != '/') {
		set_pending(rq, 400, "bad_request", "the request target must be an absolute path");
		return false;
	}
	return true;
}

/* Split the path on '/' and decode each segment; a trailing '/' is
 * tolerated. */
static bool split_path(struct svc_http_req *rq, const char *url)
{
	const char *p = url + 1;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0) {
			if (e == NULL || e[1] == '\0')
				break;
			set_pending(rq, 400, "bad_request", "empty path segment");
			return false;
		}
		if (rq->nsegs >= SVC_HTTP_MAX_SEGS) {
			set_pending(rq, 404, "not_found", "no such route");
			return false;
		}
		char *seg = pct_decode(p, l);
		if (seg == NULL) {
			set_pending(rq, 400, "bad_request",
			            "malformed path: bad percent-encoding in segment %u",
			            rq->nsegs + 1);
			return false;
		}
		rq->segs[rq->nsegs++] = seg;
		p += l;
		if (*p == '/')
			p++;
	}
	return true;
}

static bool parse_query(struct svc_http_req *rq)
{
	struct param_ctx pc = {.rq = rq};
	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, on_param, &pc);
	if (pc.err == 1)
		set_pending(rq, 400, "bad_parameter", "%s: bad percent-encoding", pc.bad);
	else if (pc.err == 2)
		set_pending(rq, 400, "bad_request", "more than %d query parameters",
		            SVC_HTTP_MAX_PARAMS);
	else if (pc.err == 3)
		set_pending(rq, 400, "bad_parameter", "%s: given more than once", pc.bad);
	return pc.err == 0;
}

uint64_t svc_http_body_limit(const struct svc_http_req *rq)
{
	if (rq->rt != NULL && rq->rt->max_body != 0)
		return rq->rt->max_body;
	return rq->srv->conf.max_body;
}

/* What the route asks of a request before its body is read: its own check
 * of the query, and a Content-Length within its body limit. */
static void check_route(struct svc_http_req *rq, const struct svc_route *r)
{
	char msg[256];
	if (r->check != NULL && !r->check(rq, msg, sizeof(msg))) {
		set_pending(rq, 400, "bad_parameter", "%s", msg);
		return;
	}
	if (r->body == SVC_BODY_NONE)
		return;
	const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n, max = svc_http_body_limit(rq);
	if (cl != NULL && svc_parse_u64(cl, &n) == 0 && n > max) {
		atomic_fetch_add(&rq->srv->metrics->bodies_too_large, 1);
		set_pending(rq, 413, "payload_too_large",
		            "the body (%llu bytes) is over the limit of %llu bytes",
		            (unsigned long long)n, (unsigned long long)max);
	}
}

/* Parse the request line and headers into rq; errors become pending. */
void svc_http_prepare(struct svc_http_req *rq, const char *url, const char *method)
{
	if (rq->raw_nul) {
		set_pending(rq, 400, "bad_request", "a raw NUL byte in the request target");
		return;
	}
	/* RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request
	 * without Host */
	if (rq->version != NULL && strcmp(rq->version, MHD_HTTP_VERSION_1_1) == 0 &&
	    svc_http_header(rq, MHD_HTTP_HEADER_HOST) == NULL) {
		set_pending(rq, 400, "bad_request", "an HTTP/1.1 request needs a Host header");
		return;
	}
	if (!check_target(rq, url) || !split_path(rq, url) || !parse_query(rq))
		return;
	const struct svc_route *r = find_route(rq, method);
	if (r == NULL)
		return;
	rq->route = r->id;
	rq->rt = r;
	authenticate(rq, r);
	if (rq->pending_status != 0)
		return;
	check_route(rq, r);
}

enum MHD_Result svc_http_send_pending(struct svc_http_req *rq)
{
	if (rq->pending_status == 401) {
		static const char *const h[] = {"WWW-Authenticate", "Bearer realm=\"infrapivot\"",
		                                NULL};
		return svc_http_error_h(rq, 401, rq->pending_code, h, "%s", rq->pending_msg);
	}
	if (rq->pending_status == 503) {
		static const char *const h[] = {"Retry-After", "1", NULL};
		return svc_http_error_h(rq, 503, rq->pending_code, h, "%s", rq->pending_msg);
	}
	if (rq->pending_status == 405) {
		const char *const h[] = {"Allow", rq->pending_allow, NULL};
		return svc_http_error_h(rq, 405, rq->pending_code, h, "%s", rq->pending_msg);
	}
	return svc_http_error(rq, rq->pending_status, rq->pending_code, "%s", rq->pending_msg);
}

enum MHD_Result svc_http_dispatch(struct svc_http_req *rq)
{
	if (rq->rt != NULL && rq->rt->fn != NULL)
		return rq->rt->fn(rq);
	return svc_http_error(rq, 404, "not_found", "no such route");
}
