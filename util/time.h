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

#endif
