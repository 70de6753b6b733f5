/*
 * hash.h - 64-bit FNV-1a, for hash tables and content tokens that need a
 * stable, fast hash (not a cryptographic one).
 */
#ifndef UTIL_HASH_H
#define UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define UTIL_FNV64_INIT 0xcbf29ce484222325ULL

/* h (UTIL_FNV64_INIT to start) extended by the n bytes at p. */
static inline uint64_t util_fnv64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#endif
