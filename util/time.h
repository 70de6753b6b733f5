/*
 * time.h - calendar arithmetic and ISO 8601 formatting of Unix times (UTC).
 */
#ifndef UTIL_TIME_H
#define UTIL_TIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for any util_time_format() output and its NUL. */
#define UTIL_TIME_BUF 32

/* Days since 1970-01-01 of the date y-m-d (proleptic Gregorian). */
int64_t util_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The date of day z since 1970-01-01 (the inverse of util_days_from_civil). */
void util_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Write t as "2024-01-31T12:00:00Z" into out (cut to outlen, NUL-terminated). */
void util_time_format(int64_t t, char *out, size_t outlen);
/* t as a JSON string in that form, or JSON null for 0 (unknown).  New
 * reference (the caller owns it, e.g. for json_object_set_new()). */
json_t *util_time_json(int64_t t);

/* The time a person (or a client) wrote, never guessed:
 *   2024-01-31, 2024-01-31T12:00[:00[.frac]][Z|+hh:mm|-hh:mm|+hhmm]
 *   now
 *   epoch seconds (1706702400, 1706702400.25, or @20261126)
 *   relative to now: -7d, -1d12h, +30d, -1y, -6M, -86400 (seconds);
 *     units y (calendar years) M (calendar months) w d h m (minutes) s,
 *     each at most once
 * An all-digit value that also reads as a compact date (20261126,
 * 202611261200, 20261126120000) is refused as ambiguous.
 * Returns 0 with *out set, or -1 with why (when not NULL) saying what was
 * wrong and how to write it. */
int util_time_parse(const char *in, int64_t now, int64_t *out, char *why, size_t whycap);

#endif
