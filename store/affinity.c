/*
 * affinity.c - temporal affinity, the co-tenant rule that the pivot
 * engine and the standing pivots both apply: an edge leading on from an
 * IP that was first seen long before the path arrived at that IP belongs
 * to another tenant of the address, not to the actor who brought the path.
 */
#include <stdio.h>

#include "store/store.h"
#include "util/time.h"

#define DAY 86400

bool store_affinity_judge(int64_t arrival, int64_t first_seen, uint64_t max_days,
                          int64_t *days_before)
{
	*days_before = 0;
	/* unknown times (0) never make a co-tenant: recall comes first */
	if (arrival == 0 || first_seen == 0 || first_seen >= arrival)
		return false;
	if (first_seen < 0 && arrival > INT64_MAX + first_seen)
		return false; /* nonsense times; the difference would overflow */
	int64_t diff = arrival - first_seen;
	*days_before = diff / DAY;
	if (max_days > STORE_AFFINITY_MAX_DAYS)
		return false;
	return diff > (int64_t)max_days * DAY;
}

void store_affinity_why(const char *on, int64_t since, int64_t days_before, char *out, size_t cap)
{
	char t[32];
	util_time_format(since, t, sizeof(t));
	snprintf(out, cap, "co-tenant: on %s since %.10s, %lld days before the path arrived", on, t,
	         (long long)days_before);
}
