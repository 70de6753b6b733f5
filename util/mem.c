/*
 * mem.c - memory that is about to be written whole (util/mem.h).
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/mem.h"

void util_populate(void *p, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
	long ps = sysconf(_SC_PAGESIZE); /* called as a buffer grows: rarely */
	size_t page = ps > 0 ? (size_t)ps : 4096;
	uintptr_t a = ((uintptr_t)p + from + page - 1) & ~(uintptr_t)(page - 1);
	uintptr_t e = ((uintptr_t)p + to) & ~(uintptr_t)(page - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p, (void)from, (void)to;
#endif
}
