/*
 * buf.h - the one growable byte/text buffer, with a hard limit set when it
 * is created (curl's dynbuf).
 *
 * Failure convention: every function that can fail returns 0 or a negative
 * errno: -E2BIG when the content would pass the limit, -ENOMEM when memory
 * runs out.  A failed call leaves the content as it was (still
 * NUL-terminated) and the buffer usable; later calls still work, so a writer
 * may append a short trailer after a record that did not fit.  The first
 * failure is also kept in `err` until util_buf_reset()/util_buf_take(), so a
 * writer that appends without checking each call checks `err` once at the
 * end.
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct util_buf {
	char *p;      /* the content, NUL-terminated; NULL before the first append */
	size_t len;   /* bytes of content, without the NUL */
	size_t cap;   /* bytes at p */
	size_t limit; /* the most bytes of content */
	int err;      /* the first failure since init/reset/take, 0 if none */
	bool fixed;   /* p is the caller's memory: never grown nor freed */
};

/* An empty buffer that grows on the heap up to limit bytes of content. */
void util_buf_init(struct util_buf *b, size_t limit);
/* An empty buffer writing into the caller's mem of size bytes (size >= 1):
 * it never grows and holds at most size - 1 bytes of content and the NUL. */
void util_buf_init_fixed(struct util_buf *b, void *mem, size_t size);

/* Make room for n more bytes (and the NUL).  0, -E2BIG or -ENOMEM. */
int util_buf_reserve(struct util_buf *b, size_t n);
/* Append n bytes of data.  0, -E2BIG or -ENOMEM. */
int util_buf_add(struct util_buf *b, const void *data, size_t n);
/* Append the string s.  0, -E2BIG or -ENOMEM. */
int util_buf_adds(struct util_buf *b, const char *s);
/* Append printf-style text.  0, -E2BIG, -ENOMEM or -EINVAL (bad format). */
int util_buf_printf(struct util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append obj as compact JSON in key order (JSON_COMPACT | JSON_PRESERVE_ORDER |
 * JSON_ENCODE_ANY); obj is not consumed.  On failure nothing of obj stays.
 * 0, -E2BIG, -ENOMEM or -EINVAL (jansson could not encode obj). */
int util_buf_add_json(struct util_buf *b, const json_t *obj);
/* Record a failure the writer found itself (input it cannot encode), unless
 * one is recorded already.  Returns err. */
int util_buf_set_error(struct util_buf *b, int err);

/* Empty the content and forget the error; keeps the memory and the limit. */
void util_buf_reset(struct util_buf *b);
/* Hand the content over: a malloc'd NUL-terminated string the caller frees
 * (a copy for a fixed buffer), its length in *len (len may be NULL).  The
 * buffer is left empty, without error, with its limit.  NULL when out of
 * memory (the buffer is then unchanged). */
char *util_buf_take(struct util_buf *b, size_t *len);
/* For writers that check once at the end: util_buf_take(), unless a call
 * failed since the last reset (err != 0); then the buffer is released and
 * NULL returned. */
char *util_buf_finish(struct util_buf *b, size_t *len);
/* Release the memory (not a fixed buffer's) and empty the buffer; the limit
 * stays. */
void util_buf_free(struct util_buf *b);

#endif
