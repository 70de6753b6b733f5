/*
 * reasons.c - why a destination ranks where it does, in words.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "estate/estate_internal.h"

static void add(struct estate_dest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct estate_dest *d, const char *fmt, ...)
{
	if (d->nreasons >= ESTATE_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reasons[d->nreasons++], ESTATE_REASON_LEN, fmt, ap);
	va_end(ap);
}

/* "15m", "1h 30m", "45s", "2d 3h" */
static void duration(double s, char *out, size_t cap)
{
	long v = lround(s);
	if (v < 120)
		snprintf(out, cap, "%lds", v);
	else if (v < 7200)
		snprintf(out, cap, "%ldm%s", v / 60, v % 60 ? " and some seconds" : "");
	else if (v < 172800)
		snprintf(out, cap, "%.1fh", (double)v / 3600);
	else
		snprintf(out, cap, "%.1f days", (double)v / 86400);
}

static void bytes_text(double b, char *out, size_t cap)
{
	if (b < 1024)
		snprintf(out, cap, "%.0f B", b);
	else if (b < 1048576)
		snprintf(out, cap, "%.1f KiB", b / 1024);
	else
		snprintf(out, cap, "%.1f MiB", b / 1048576);
}

static void rhythm_reason(struct estate_dest *d)
{
	const struct estate_client *top = d->nclients > 0 ? &d->clients[0] : NULL;
	if (top == NULL || top->ps.period_s <= 0 || top->ps.score < 0.2) {
		add(d, "no regular rhythm: contacts come at irregular times");
		return;
	}
	unsigned regular = 0;
	for (size_t i = 0; i < d->nclients; i++)
		regular += d->clients[i].ps.score >= 0.5 * top->ps.score;
	char p[48];
	duration(d->period_s, p, sizeof(p));
	add(d,
	    "regular: %u of %u client(s) contact it every ~%s (gaps %.0f%% on the period or its "
	    "multiples, mean deviation %.0f%%)",
	    regular, (unsigned)d->nclients, p, 100 * top->ps.regular, 100 * top->ps.spread);
	add(d, "persistent: contacts in %.0f%% of the hours of the day one would expect",
	    100 * top->ps.hours);
}

static void bytes_reason(struct estate_dest *d)
{
	const struct estate_client *top = d->nclients > 0 ? &d->clients[0] : NULL;
	if (top == NULL || top->ps.bytes_out_median < 0) {
		add(d, "byte counts unknown (no conn.log or flow records for this destination)");
		return;
	}
	char o[32], i[32];
	bytes_text(top->ps.bytes_out_median, o, sizeof(o));
	bytes_text(top->ps.bytes_in_median, i, sizeof(i));
	if (top->ps.bytes >= 0.7)
		add(d, "small steady transfers: median %s out, %s in", o, i);
	else
		add(d,
		    "large or varying transfers: median %s out, %s in (downloads look like this)",
		    o, i);
}

static void source_reason(struct estate_dest *d)
{
	bool dns_only = d->nclients > 0, joined = false;
	for (size_t i = 0; i < d->nclients; i++) {
		dns_only = dns_only && d->clients[i].dns_only;
		joined = joined || d->clients[i].joined;
	}
	if (dns_only)
		add(d, "rhythm from DNS queries only: resolver caching hides contacts, so the "
		       "period may be the record's TTL rather than the beacon's");
	else if (joined)
		add(d, "rhythm from connections to the addresses the name resolved to (same client "
		       "and sensor): DNS caching hides most queries");
}

static void prevalence_reason(const struct scan *sc, struct estate_dest *d)
{
	if (d->prevalence >= 0.5)
		add(d,
		    "common: on average %.0f%% of the hosts of each of %u organisation(s) contact "
		    "it - a shared service, not a lead",
		    100 * d->prevalence, sc->norgs);
	else if (sc->norgs > 0 && d->prevalence > 0)
		add(d,
		    "rare: %u host(s) in %u of %u organisation(s), %.1f%% of their hosts on "
		    "average",
		    d->hosts, d->orgs, sc->norgs, 100 * d->prevalence);
}

void estate_reasons(const struct scan *sc, const struct destacc *a, struct estate_dest *d)
{
	(void)a;
	rhythm_reason(d);
	source_reason(d);
	bytes_reason(d);
	prevalence_reason(sc, d);
	if (d->age_days >= 0 && d->age_days <= 14)
		add(d, "fresh: first contact %.1f days before now", d->age_days);
	else if (d->age_days > 14)
		add(d, "known for %.0f days: older contacts weigh less", d->age_days);
	if (d->internal)
		add(d, "internal destination: recorded, not a beacon candidate");
}
