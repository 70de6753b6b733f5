/*
 * http_response.c - the bounded response buffer and the helpers every
 * route answers with: JSON bodies, JSON errors, store error mapping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"

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

/* obj (consumed) as one line of JSON, newline-terminated, pleasant in a
 * terminal. */
static enum MHD_Result send_json_line(struct svc_http_req *rq, unsigned status, json_t *obj,
                                      const char *const *hdrs)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
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
	return send_json_line(rq, status, obj, NULL);
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
	return send_json_line(rq, status, o, hdrs);
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
	case -E2BIG:
		return svc_http_error(rq, 413, "response_too_large",
		                      "%s: the response would be too large; lower limit", what);
	default:
		return svc_http_error(rq, 500, "internal", "%s: %s", what, store_strerror(err));
	}
}
