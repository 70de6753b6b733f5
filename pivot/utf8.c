/*
 * utf8.c - UTF-8 validation and cleaning for the renderers.
 */
#include <string.h>

#include "pivot/pivot_internal.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t pivot_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void pivot_utf8_clean(const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0;
	if (cap == 0)
		return;
	while (i < n) {
		size_t l = pivot_utf8_len(p + i, n - i);
		const char *src = in + i;
		size_t sl = l;
		if (l == 0) {
			src = "\xef\xbf\xbd"; /* U+FFFD */
			sl = 3;
			l = 1;
		}
		if (o + sl >= cap)
			break;
		memcpy(out + o, src, sl);
		o += sl;
		i += l;
	}
	out[o] = '\0';
}
