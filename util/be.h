/*
 * be.h - big-endian loads and stores of 16, 32 and 64-bit integers, for
 * keys that must sort by number.
 */
#ifndef UTIL_BE_H
#define UTIL_BE_H

#include <stdint.h>

static inline void util_be16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t util_be16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void util_be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t util_be32_load(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void util_be64_store(uint8_t *p, uint64_t v)
{
	util_be32_store(p, (uint32_t)(v >> 32));
	util_be32_store(p + 4, (uint32_t)v);
}

static inline uint64_t util_be64_load(const uint8_t *p)
{
	return (uint64_t)util_be32_load(p) << 32 | util_be32_load(p + 4);
}

#endif
