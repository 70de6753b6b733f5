/*
 * num.h - strict decimal number parsing: the whole input is the number.
 */
#ifndef UTIL_NUM_H
#define UTIL_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parse all n characters of s as a decimal number in [0, max]: ASCII digits
 * only (no sign, space, or empty input; leading zeros are fine).
 * 0 and the value in *out; -EINVAL (empty or a non-digit) or -ERANGE (above
 * max); *out is untouched on failure.  Reads s only up to the first
 * non-digit, so a NUL before n is safe. */
int util_u64_parsen(const char *s, size_t n, uint64_t max, uint64_t *out);
/* The same for the NUL-terminated s (NULL gives -EINVAL). */
int util_u64_parse(const char *s, uint64_t max, uint64_t *out);
/* Parse all n characters of s as a decimal number in [min, max], with an
 * optional leading '-'.  0, -EINVAL or -ERANGE as util_u64_parsen(). */
int util_i64_parsen(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);
/* The same for the NUL-terminated s (NULL gives -EINVAL). */
int util_i64_parse(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
