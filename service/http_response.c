/*
 * http_response.c - the helpers every route answers with: JSON bodies,
 * JSON errors, store error mapping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"

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

/* obj (consumed) as one line of JSON, newline-terminated, pleasant in a
 * terminal. */
static enum MHD_Result send_json_line(struct svc_http_req *rq, unsigned status, json_t *obj,
                                      const char *const *hdrs, size_t flags)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | flags);
	json_decref(obj);
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

enum MHD_Result svc_http_send_json(struct svc_http_req *rq, unsigned status, json_t *obj)
{
	return send_json_line(rq, status, obj, NULL, 0);
}

enum MHD_Result svc_http_send_json_prec(struct svc_http_req *rq, unsigned status, json_t *obj,
                                        unsigned digits)
{
	return send_json_line(rq, status, obj, NULL, JSON_REAL_PRECISION(digits));
}

static enum MHD_Result error_v(struct svc_http_req *rq, unsigned status, const char *code,
                               const char *const *hdrs, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static enum MHD_Result error_v(struct svc_http_req *rq, unsigned status, const char *code,
                               const char *const *hdrs, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(code));
	/* the message may quote input that is not UTF-8 (or cut a character) */
	json_t *m = json_string(msg);
	if (m == NULL) {
		for (char *p = msg; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		m = json_string(msg);
	}
	json_object_set_new(e, "message", m);
	json_t *o = json_object();
	json_object_set_new(o, "error", e);
	return send_json_line(rq, status, o, hdrs, 0);
}

enum MHD_Result svc_http_error_h(struct svc_http_req *rq, unsigned status, const char *code,
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

enum MHD_Result svc_http_bad_param(struct svc_http_req *rq, const char *param, const char *fmt, ...)
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
	case -ENOSPC:
	case STORE_ENOSPACE:
		return svc_http_error(rq, 507, "insufficient_storage", "%s: %s: %s", what,
		                      store_strerror(err), store_last_error());
	case STORE_ENOTSUP: /* a ClickHouse store: the call has no implementation yet */
		return svc_http_error(rq, 501, "not_implemented", "%s: %s: %s", what,
		                      store_strerror(err), store_last_error());
	case STORE_EREMOTE: /* a ClickHouse store's server failed: its message */
		return svc_http_error(rq, 502, "bad_gateway", "%s: %s: %s", what,
		                      store_strerror(err), store_last_error());
	case -E2BIG:
		return svc_http_error(rq, 413, "response_too_large",
		                      "%s: the response would be too large; lower limit", what);
	default:
		return svc_http_error(rq, 500, "internal", "%s: %s", what, store_strerror(err));
	}
}
