/*
 * time.c - calendar arithmetic and ISO 8601 formatting (util/time.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/num.h"
#include "util/time.h"

/* Howard Hinnant's days_from_civil: proleptic Gregorian, UTC. */
int64_t util_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void util_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void util_time_format(int64_t t, char *out, size_t outlen)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int64_t y;
	unsigned m, d;
	util_civil_from_days(days, &y, &m, &d);
	/* the ranges are the calendar's (secs in [0, 86400), |y| < 3e11 for
	 * any int64 t); the modulos change nothing but tell them to the
	 * compiler, whose -Wformat-truncation cannot see them */
	snprintf(out, outlen, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)(y % 1000000000000LL),
	         m % 100u, d % 100u, (unsigned)(secs / 3600) % 100u, (unsigned)(secs / 60 % 60),
	         (unsigned)(secs % 60));
}

json_t *util_time_json(int64_t t)
{
	if (t == 0)
		return json_null();
	char buf[UTIL_TIME_BUF];
	util_time_format(t, buf, sizeof(buf));
	return json_string(buf);
}

/* ---- parsing ------------------------------------------------------------ */

/* Bounds that keep the arithmetic in int64_t: a relative amount (times a
 * week's seconds), months, and epoch seconds. */
#define REL_MAX 10000000000000ull
#define MONTHS_MAX 1200000ull
#define EPOCH_MAX 10000000000000000ull

/* why = "'in' msg", cut to cap. */
static void why_set(char *why, size_t cap, const char *in, const char *msg)
{
	if (why != NULL && cap > 0)
		snprintf(why, cap, "'%s' %s", in, msg);
}

/* Exactly digits decimal digits at *p into out; *p moves past them. */
static int fixed_uint(const char **p, int digits, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < digits; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += digits;
	*out = v;
	return 0;
}

/* t moved by months calendar months (the day clamped to the month's end). */
static int64_t add_months(int64_t t, int64_t months)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400, y;
	unsigned m, d;
	util_civil_from_days(days, &y, &m, &d);
	int64_t idx = y * 12 + (int64_t)m - 1 + months;
	y = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
	m = (unsigned)(idx - y * 12) + 1;
	int64_t first = util_days_from_civil(y, m, 1);
	int64_t next =
	    m == 12 ? util_days_from_civil(y + 1, 1, 1) : util_days_from_civil(y, m + 1, 1);
	if (d > next - first)
		d = (unsigned)(next - first);
	return (first + d - 1) * 86400 + secs;
}

static int64_t unit_secs(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 604800;
	default:
		return 0;
	}
}

/* [+-]N[unit]...: relative to now, units y M w d h m s, each at most once;
 * a bare number is seconds (DNSDB's relative times).  in[0] is + or -. */
static int time_relative(const char *in, int64_t now, int64_t *out, char *why, size_t cap)
{
	int sign = in[0] == '-' ? -1 : 1;
	const char *p = in + 1, *units = "yMwdhms";
	int64_t secs = 0, months = 0;
	unsigned seen = 0;
	do {
		size_t n = strspn(p, "0123456789");
		uint64_t v;
		if (n == 0 || util_u64_parsen(p, n, REL_MAX, &v) != 0)
			goto bad;
		p += n;
		char u = *p ? *p++ : 's';
		const char *at = strchr(units, u);
		if (at == NULL || u == '\0' || (seen & (1u << (at - units)))) {
			why_set(why, cap, in,
			        "is not a relative time: units y (years) M (months) w d h "
			        "m (minutes) s, each at most once");
			return -1;
		}
		seen |= 1u << (at - units);
		if ((u == 'y' || u == 'M') && v > MONTHS_MAX)
			goto bad;
		if (u == 'y' || u == 'M')
			months += (int64_t)v * (u == 'y' ? 12 : 1);
		else
			secs += (int64_t)v * unit_secs(u);
	} while (*p != '\0');
	*out = add_months(now, sign * months) + sign * secs;
	return 0;
bad:
	why_set(why, cap, in, "is not a relative time (e.g. -7d, -1d12h, -1M, +30d)");
	return -1;
}

/* An ISO 8601 zone: nothing, Z, +hh:mm, -hh:mm or +hhmm; *offset: seconds
 * east of UTC. */
static int iso_zone(const char **p, int64_t *offset)
{
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	int sign = *(*p)++ == '-' ? -1 : 1;
	unsigned oh, om = 0;
	if (fixed_uint(p, 2, &oh))
		return -1;
	if (**p == ':')
		(*p)++;
	if (**p != '\0' && fixed_uint(p, 2, &om))
		return -1;
	*offset = sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}

/* HH:MM[:SS[.frac]] and the zone: seconds since midnight UTC. */
static int iso_clock(const char **p, int64_t *secs)
{
	unsigned h, mi, s = 0;
	if (fixed_uint(p, 2, &h) || *(*p)++ != ':' || fixed_uint(p, 2, &mi))
		return -1;
	if (**p == ':') {
		(*p)++;
		if (fixed_uint(p, 2, &s))
			return -1;
		if (**p == '.') {
			(*p)++;
			if (**p < '0' || **p > '9')
				return -1;
			while (**p >= '0' && **p <= '9')
				(*p)++;
		}
	}
	int64_t offset = 0;
	if (h > 23 || mi > 59 || s > 60 || iso_zone(p, &offset) != 0)
		return -1;
	*secs = h * 3600 + mi * 60 + s - offset;
	return 0;
}

/* YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|+hh:mm|-hh:mm|+hhmm] */
static int time_iso(const char *in, int64_t *out)
{
	const char *p = in;
	unsigned y, mo, d;
	if (fixed_uint(&p, 4, &y) || *p++ != '-' || fixed_uint(&p, 2, &mo) || *p++ != '-' ||
	    fixed_uint(&p, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	int64_t secs = 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (iso_clock(&p, &secs) != 0)
			return -1;
	}
	if (*p != '\0')
		return -1;
	*out = util_days_from_civil(y, mo, d) * 86400 + secs;
	return 0;
}

/* Digits that read as a compact date (YYYYMMDD, YYYYMMDDhhmm[ss]) as much
 * as epoch seconds. */
static bool date_like(const char *in, size_t ndig)
{
	const char *p = in;
	unsigned y = 0, m = 0, d = 0;
	if (ndig != 8 && ndig != 12 && ndig != 14)
		return false;
	if (fixed_uint(&p, 4, &y) || fixed_uint(&p, 2, &m) || fixed_uint(&p, 2, &d))
		return false;
	return y >= 1900 && y < 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* Epoch seconds: digits and an optional fraction (a leading @ is
 * stripped by the caller).  1 when in is not of that form. */
static int time_epoch(const char *in, bool marked, int64_t *out, char *why, size_t cap)
{
	size_t ndig = strspn(in, "0123456789");
	if (ndig == 0 || (in[ndig] != '\0' && (in[ndig] != '.' || in[ndig + 1] == '\0' ||
	                                       in[ndig + 1 + strspn(in + ndig + 1, "0123456789")])))
		return 1;
	if (!marked && date_like(in, ndig)) {
		char date[24];
		snprintf(date, sizeof(date), "%.4s-%.2s-%.2s%s", in, in + 4, in + 6,
		         ndig > 8 ? "T..." : "");
		if (why != NULL && cap > 0)
			snprintf(why, cap,
			         "'%s' could be a date or epoch seconds: write %s for the date, "
			         "@%s for epoch seconds",
			         in, date, in);
		return -1;
	}
	uint64_t v;
	if (util_u64_parsen(in, ndig, EPOCH_MAX, &v) != 0) {
		why_set(why, cap, in, "is out of range for epoch seconds");
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int util_time_parse(const char *in, int64_t now, int64_t *out, char *why, size_t whycap)
{
	size_t len = strlen(in);
	if (len == 0 || len > 40) {
		why_set(why, whycap, len ? "..." : "", "is not a time (empty or over 40 bytes)");
		return -1;
	}
	if (strcmp(in, "now") == 0) {
		*out = now;
		return 0;
	}
	if (in[0] == '-' || in[0] == '+')
		return time_relative(in, now, out, why, whycap);
	int err = time_epoch(in[0] == '@' ? in + 1 : in, in[0] == '@', out, why, whycap);
	if (err != 1)
		return err;
	if (in[0] != '@' && time_iso(in, out) == 0)
		return 0;
	why_set(why, whycap, in,
	        "is not a time: write 2024-01-31, 2024-01-31T12:00:00Z, now, "
	        "epoch seconds (1706702400), or relative -7d, -1d12h, -1M "
	        "(units y M w d h m s)");
	return -1;
}
