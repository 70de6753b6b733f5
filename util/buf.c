/*
 * buf.c - the growable buffer with a hard limit (util/buf.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define BUF_FIRST_CAP 4096

void util_buf_init(struct util_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void util_buf_init_fixed(struct util_buf *b, void *mem, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->p = mem;
	b->p[0] = '\0';
	b->cap = size;
	b->limit = size - 1;
	b->fixed = true;
}

int util_buf_set_error(struct util_buf *b, int err)
{
	if (b->err == 0)
		b->err = err;
	return err;
}

/* The capacity to allocate for need bytes: doubling, but never past the
 * limit (and its NUL). */
static size_t grown_cap(const struct util_buf *b, size_t need)
{
	size_t nc = b->cap != 0 ? b->cap : BUF_FIRST_CAP;
	while (nc < need) {
		if (nc > SIZE_MAX / 2) {
			nc = need;
			break;
		}
		nc *= 2;
	}
	if (nc - 1 > b->limit)
		nc = b->limit + 1;
	return nc;
}

int util_buf_reserve(struct util_buf *b, size_t n)
{
	if (b->len > b->limit || n > b->limit - b->len)
		return util_buf_set_error(b, -E2BIG);
	size_t need = b->len + n + 1;
	if (b->p != NULL && need <= b->cap)
		return 0;
	if (b->fixed)
		return util_buf_set_error(b, -E2BIG);
	size_t nc = grown_cap(b, need);
	char *np = realloc(b->p, nc);
	if (np == NULL)
		return util_buf_set_error(b, -ENOMEM);
	if (b->p == NULL)
		np[0] = '\0';
	b->p = np;
	b->cap = nc;
	return 0;
}

int util_buf_add(struct util_buf *b, const void *data, size_t n)
{
	int err = util_buf_reserve(b, n);
	if (err != 0)
		return err;
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int util_buf_adds(struct util_buf *b, const char *s)
{
	return util_buf_add(b, s, strlen(s));
}

int util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
{
	char *dst = b->p != NULL ? b->p + b->len : NULL;
	size_t room = b->p != NULL ? b->cap - b->len : 0;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(dst, room, fmt, ap2);
	va_end(ap2);
	if (n >= 0 && (size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	/* vsnprintf may have written a cut-off text past the content */
	if (b->p != NULL)
		b->p[b->len] = '\0';
	if (n < 0)
		return util_buf_set_error(b, -EINVAL);
	int err = util_buf_reserve(b, (size_t)n);
	if (err != 0)
		return err;
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int util_buf_printf(struct util_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = util_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

struct json_sink {
	struct util_buf *b;
	int err;
};

static int json_sink_cb(const char *s, size_t n, void *data)
{
	struct json_sink *k = data;
	k->err = util_buf_add(k->b, s, n);
	return k->err == 0 ? 0 : -1;
}

int util_buf_add_json(struct util_buf *b, const json_t *obj)
{
	size_t before = b->len;
	struct json_sink k = {b, 0};
	if (json_dump_callback(obj, json_sink_cb, &k,
	                       JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) == 0)
		return 0;
	b->len = before;
	if (b->p != NULL)
		b->p[b->len] = '\0';
	return util_buf_set_error(b, k.err != 0 ? k.err : -EINVAL);
}

void util_buf_reset(struct util_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

char *util_buf_take(struct util_buf *b, size_t *len)
{
	char *p = b->p;
	if (p == NULL || b->fixed) {
		p = malloc(b->len + 1);
		if (p == NULL)
			return NULL;
		if (b->len > 0)
			memcpy(p, b->p, b->len);
		p[b->len] = '\0';
	}
	if (len != NULL)
		*len = b->len;
	if (!b->fixed) {
		b->p = NULL;
		b->cap = 0;
	}
	util_buf_reset(b);
	return p;
}

char *util_buf_finish(struct util_buf *b, size_t *len)
{
	if (b->err != 0) {
		util_buf_free(b);
		return NULL;
	}
	return util_buf_take(b, len);
}

void util_buf_free(struct util_buf *b)
{
	if (!b->fixed) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	util_buf_reset(b);
}
