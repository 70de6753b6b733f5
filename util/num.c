/*
 * num.c - strict decimal number parsing (util/num.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util/num.h"

int util_u64_parsen(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (s == NULL || n == 0)
		return -EINVAL;
	uint64_t v = 0;
	if (n <= 19) { /* below 10^19: no overflow to watch for */
		for (size_t i = 0; i < n; i++) {
			unsigned d = (unsigned)((unsigned char)s[i] - '0');
			if (d > 9)
				return -EINVAL;
			v = v * 10 + d;
		}
		if (v > max)
			return -ERANGE;
		*out = v;
		return 0;
	}
	bool range = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	if (range || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_u64_parse(const char *s, uint64_t max, uint64_t *out)
{
	if (s == NULL)
		return -EINVAL;
	return util_u64_parsen(s, strlen(s), max, out);
}

int util_i64_parsen(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	if (s == NULL || n == 0)
		return -EINVAL;
	bool neg = s[0] == '-';
	uint64_t mag;
	/* the magnitude of INT64_MIN is INT64_MAX + 1 */
	int err = util_u64_parsen(s + neg, n - neg, (uint64_t)INT64_MAX + neg, &mag);
	if (err != 0)
		return err;
	int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_i64_parse(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (s == NULL)
		return -EINVAL;
	return util_i64_parsen(s, strlen(s), min, max, out);
}
