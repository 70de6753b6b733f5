/*
 * buf.c - a bounded, growing text buffer for the text renderers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot_internal.h"

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
