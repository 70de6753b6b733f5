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
 * cut from its start in power-of-two sizes from UTIL_BIG_MIN (log2 16)
 * to BIG_MAXLOG; each slot of UTIL_BIG_MIN bytes records the log2 size
 * of the buffer starting there (0: none). */
#define BIG_REGION ((size_t)8 << 30)
#define BIG_MINLOG 16
#define BIG_MAXLOG 30
#define BIG_SLOTS (BIG_REGION >> BIG_MINLOG)

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	uint8_t *base; /* NULL: no region, everything goes to malloc */
	size_t top;    /* bytes cut so far */
	void *freel[BIG_MAXLOG + 1];
	size_t used, kept;
	uint8_t lg[BIG_SLOTS];
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
	BIG_POISON(m, BIG_REGION);
	big.base = m;
}

static bool in_region(const void *p)
{
	return big.base != NULL && p != NULL && (const uint8_t *)p >= big.base &&
	       (const uint8_t *)p < big.base + BIG_REGION;
}

/* A region buffer of 2^lg bytes, or NULL when the region is full. */
static void *big_take(unsigned lg)
{
	size_t n = (size_t)1 << lg;
	uint8_t *p = NULL;
	pthread_mutex_lock(&big.mu);
	if (big.freel[lg] != NULL) {
		p = big.freel[lg];
		BIG_UNPOISON(p, sizeof(void *));
		memcpy(&big.freel[lg], p, sizeof(void *));
		big.kept--;
	} else if (big.top + n <= BIG_REGION) {
		p = big.base + big.top;
		big.top += n;
		big.lg[(size_t)(p - big.base) >> BIG_MINLOG] = (uint8_t)lg;
	}
	if (p != NULL)
		big.used++;
	pthread_mutex_unlock(&big.mu);
	if (p != NULL)
		BIG_UNPOISON(p, n);
	return p;
}

/* The log2 size of region buffer p. */
static unsigned big_lg(const void *p)
{
	return big.lg[(size_t)((const uint8_t *)p - big.base) >> BIG_MINLOG];
}

void util_big_free(void *p)
{
	if (!in_region(p)) {
		free(p);
		return;
	}
	unsigned lg = big_lg(p);
	pthread_mutex_lock(&big.mu);
	memcpy(p, &big.freel[lg], sizeof(void *));
	big.freel[lg] = p;
	big.used--;
	big.kept++;
	pthread_mutex_unlock(&big.mu);
	BIG_POISON(p, (size_t)1 << lg);
}

void *util_big_realloc(void *p, size_t keep, size_t want, size_t *cap)
{
	pthread_once(&big.once, big_init);
	if (in_region(p) && want <= (size_t)1 << big_lg(p)) {
		if (cap != NULL)
			*cap = (size_t)1 << big_lg(p);
		return p;
	}
	unsigned lg = BIG_MINLOG;
	while (lg <= BIG_MAXLOG && ((size_t)1 << lg) < want)
		lg++;
	void *q =
	    want >= UTIL_BIG_MIN && lg <= BIG_MAXLOG && big.base != NULL ? big_take(lg) : NULL;
	size_t got = q != NULL ? (size_t)1 << lg : want;
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
