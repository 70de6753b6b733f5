/*
 * idn.c - internationalised domain names typed by people: U-labels to
 * A-labels (IDNA2008 with the UTS #46 non-transitional mapping, as
 * browsers do) with libidn2, and back for display.
 */
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"

static bool has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

int svc_idn_ascii(const char *in, char *out, size_t cap, char *why, size_t whycap)
{
	if (!has_non_ascii(in)) {
		if (snprintf(out, cap, "%s", in) >= (int)cap) {
			snprintf(why, whycap, "'%.80s' is too long", in);
			return -1;
		}
		return 0;
	}
	/* a wildcard label at either end ("*.x", "x.*") is no label libidn2
	 * would take: converted without it, put back after */
	size_t len = strlen(in);
	bool lhs = strncmp(in, "*.", 2) == 0;
	bool rhs = !lhs && len > 2 && strcmp(in + len - 2, ".*") == 0;
	char name[1024];
	if (snprintf(name, sizeof(name), "%.*s", (int)(len - (lhs || rhs ? 2 : 0)),
	             in + (lhs ? 2 : 0)) >= (int)sizeof(name)) {
		snprintf(why, whycap, "'%.80s' is too long", in);
		return -1;
	}
	char *a = NULL;
	int rc = idn2_to_ascii_8z(name, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		snprintf(why, whycap, "'%.80s' is not a valid internationalised domain name (%s)",
		         in, idn2_strerror(rc));
		return -1;
	}
	int n = snprintf(out, cap, "%s%s%s", lhs ? "*." : "", a, rhs ? ".*" : "");
	idn2_free(a);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(why, whycap, "'%.80s' is too long as an A-label name", in);
		return -1;
	}
	return 0;
}

bool svc_idn_unicode(const char *in, char *out, size_t cap)
{
	if (strncmp(in, "xn--", 4) != 0 && strstr(in, ".xn--") == NULL)
		return false;
	char *u = NULL;
	if (idn2_to_unicode_8z8z(in, &u, 0) != IDN2_OK)
		return false;
	int n = snprintf(out, cap, "%s", u);
	idn2_free(u);
	return n > 0 && (size_t)n < cap;
}
