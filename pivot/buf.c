/*
 * buf.c - a bounded, growing text buffer for the text renderers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"

int pivot_buf_init(struct pivot_buf *b, size_t max)
{
	b->cap = 4096;
	b->len = 0;
	b->max = max;
	b->failed = false;
	b->p = malloc(b->cap);
	if (b->p == NULL)
		return -1;
	b->p[0] = '\0';
	return 0;
}

/* Room for n more bytes and the NUL. */
static bool reserve(struct pivot_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n < b->cap)
		return true;
	size_t ncap = b->cap;
	while (ncap <= b->len + n)
		ncap *= 2;
	if (ncap > b->max) {
		b->failed = true;
		return false;
	}
	char *np = realloc(b->p, ncap);
	if (np == NULL) {
		b->failed = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

void pivot_buf_add(struct pivot_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pivot_buf_printf(struct pivot_buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *pivot_buf_finish(struct pivot_buf *b)
{
	if (b->failed) {
		free(b->p);
		b->p = NULL;
		return NULL;
	}
	return b->p;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t pivot_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void pivot_utf8_clean(const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0;
	if (cap == 0)
		return;
	while (i < n) {
		size_t l = pivot_utf8_len(p + i, n - i);
		const char *src = in + i;
		size_t sl = l;
		if (l == 0) {
			src = "\xef\xbf\xbd"; /* U+FFFD */
			sl = 3;
			l = 1;
		}
		if (o + sl >= cap)
			break;
		memcpy(out + o, src, sl);
		o += sl;
		i += l;
	}
	out[o] = '\0';
}
