/*
 * mem.h - memory that is about to be written whole.
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

#endif
