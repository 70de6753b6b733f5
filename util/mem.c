/*
 * mem.c - memory that is about to be written whole, and the big buffers'
 * huge-page region (util/mem.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define BIG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_ASAN 1
#endif
#endif
#ifdef BIG_ASAN
#include <sanitizer/asan_interface.h>
#define BIG_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define BIG_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define BIG_POISON(p, n) ((void)(p), (void)(n))
#define BIG_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

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

/* ---- the big buffers' region ---------------------------------------------- */

/* Address space only: a page is backed when first written.  Buffers are
 * cut from its start in sizes of four steps an octave, from UTIL_BIG_MIN
 * to 1 GiB (big_size: a quarter at most is slack, where powers of two
 * left up to half of a huge page unused); each BIG_SLOT of the region
 * records the size class of the buffer starting there, plus one (0:
 * none). */
#define BIG_REGION ((size_t)8 << 30)
#define BIG_SLOT ((size_t)16 * 1024) /* every size is a multiple */
#define BIG_SLOTS (BIG_REGION / BIG_SLOT)
#define BIG_CLASSES 57 /* class 56 is 1 GiB */

static size_t big_size(unsigned c)
{
	return (size_t)(4 + c % 4) << (14 + c / 4); /* class 0: 64 KiB */
}

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	uint8_t *base; /* NULL: no region, everything goes to malloc */
	size_t top;    /* bytes cut so far */
	void *freel[BIG_CLASSES];
	size_t used, kept;
	uint8_t cls[BIG_SLOTS];
} big = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, NULL, 0, {0}, 0, 0, {0}};

static void big_init(void)
{
	void *m = mmap(NULL, BIG_REGION, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return;
#ifdef MADV_HUGEPAGE
	(void)madvise(m, BIG_REGION, MADV_HUGEPAGE); /* best effort, as THP is */
#endif
	/* not poisoned whole under ASan: 8 GiB is 1 GiB of shadow to write,
	 * seconds at the first big buffer (a server's first push timed out);
	 * what was never cut is never handed out, and a freed buffer is
	 * poisoned until it is taken again */
	big.base = m;
}

static bool in_region(const void *p)
{
	return big.base != NULL && p != NULL && (const uint8_t *)p >= big.base &&
	       (const uint8_t *)p < big.base + BIG_REGION;
}

/* A region buffer of class c, or NULL when the region is full. */
static void *big_take(unsigned c)
{
	size_t n = big_size(c);
	uint8_t *p = NULL;
	pthread_mutex_lock(&big.mu);
	if (big.freel[c] != NULL) {
		p = big.freel[c];
		BIG_UNPOISON(p, sizeof(void *));
		memcpy(&big.freel[c], p, sizeof(void *));
		big.kept--;
	} else if (big.top + n <= BIG_REGION) {
		p = big.base + big.top;
		big.top += n;
		big.cls[(size_t)(p - big.base) / BIG_SLOT] = (uint8_t)(c + 1);
	}
	if (p != NULL)
		big.used++;
	pthread_mutex_unlock(&big.mu);
	if (p != NULL)
		BIG_UNPOISON(p, n);
	return p;
}

/* The size class of region buffer p. */
static unsigned big_class(const void *p)
{
	return big.cls[(size_t)((const uint8_t *)p - big.base) / BIG_SLOT] - 1u;
}

void util_big_free(void *p)
{
	if (!in_region(p)) {
		free(p);
		return;
	}
	unsigned c = big_class(p);
	/* poisoned while still ours: once on the list another thread may
	 * take it and unpoison it, and a poison after that would land on
	 * its buffer */
	BIG_POISON(p, big_size(c));
	pthread_mutex_lock(&big.mu);
	BIG_UNPOISON(p, sizeof(void *));
	memcpy(p, &big.freel[c], sizeof(void *));
	BIG_POISON(p, sizeof(void *));
	big.freel[c] = p;
	big.used--;
	big.kept++;
	pthread_mutex_unlock(&big.mu);
}

void *util_big_realloc(void *p, size_t keep, size_t want, size_t *cap)
{
	pthread_once(&big.once, big_init);
	if (in_region(p) && want <= big_size(big_class(p))) {
		if (cap != NULL)
			*cap = big_size(big_class(p));
		return p;
	}
	unsigned c = 0;
	while (c < BIG_CLASSES && big_size(c) < want)
		c++;
	void *q = want >= UTIL_BIG_MIN && c < BIG_CLASSES && big.base != NULL ? big_take(c) : NULL;
	size_t got = q != NULL ? big_size(c) : want;
	if (q == NULL && !in_region(p))
		q = realloc(p, want ? want : 1); /* p is malloc's */
	else {
		if (q == NULL && (q = malloc(want ? want : 1)) == NULL)
			return NULL;
		if (p != NULL && keep > 0)
			memcpy(q, p, keep);
		util_big_free(p);
	}
	if (q != NULL && cap != NULL)
		*cap = got;
	return q;
}

void util_big_stats(size_t *used, size_t *kept)
{
	pthread_mutex_lock(&big.mu);
	*used = big.used;
	*kept = big.kept;
	pthread_mutex_unlock(&big.mu);
}
