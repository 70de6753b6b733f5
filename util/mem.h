/*
 * mem.h - memory that is about to be written whole, and big buffers that
 * are kept for reuse in huge pages.
 */
#ifndef UTIL_MEM_H
#define UTIL_MEM_H

#include <stddef.h>

/* Fault in the whole pages of [p + from, p + to) now, in one call, for
 * a buffer that will be written through: otherwise each first write of
 * a page traps on its own, which made most of an ingest's page faults
 * (and on a virtual machine a fault costs more than parsing a line).
 * Best effort: without MADV_POPULATE_WRITE (Linux 5.14) it does nothing
 * and the pages fault as before. */
void util_populate(void *p, size_t from, size_t to);

/* Big buffers (an ingest's chunk arenas, line buffers, sort room).
 * Where a first touch of a 4 KiB page costs 15-30 us (a paravirtualised
 * host) the pages a short ingest touches once cost as much as its
 * parse; from here a buffer of UTIL_BIG_MIN bytes or more comes from
 * one region advised for transparent huge pages (one fault a 2 MiB),
 * in sizes of four steps an octave, and a freed one is kept for the next buffer of
 * its size instead of going back to the kernel.  Smaller requests, and
 * any the region cannot take, go to malloc.
 *
 * util_big_realloc: a buffer of at least want bytes holding the first
 * keep bytes of p (NULL, or a buffer from here; keep <= its size);
 * *cap (may be NULL) becomes its usable size.  NULL when out of memory,
 * p then unchanged.  util_big_free(NULL) does nothing.  Thread-safe. */
#define UTIL_BIG_MIN ((size_t)64 * 1024)
void *util_big_realloc(void *p, size_t keep, size_t want, size_t *cap);
void util_big_free(void *p);

/* Tests: how many region buffers are in use and kept free. */
void util_big_stats(size_t *used, size_t *kept);

#endif
