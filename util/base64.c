/*
 * base64.c - base64 encoding and decoding (util/base64.h).
 */
#include <errno.h>

#include "util/base64.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t util_base64_encoded_len(size_t n, unsigned flags)
{
	if (flags & UTIL_B64_PAD)
		return 4 * ((n + 2) / 3);
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void util_base64_encode(const uint8_t *in, size_t n, unsigned flags, char *out)
{
	const char *a = flags & UTIL_B64_URL ? url_alpha : std_alpha;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		else if (flags & UTIL_B64_PAD)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = a[v & 63];
		else if (flags & UTIL_B64_PAD)
			out[o++] = '=';
	}
	out[o] = '\0';
}

/* The 6-bit value of c, -1 if not in an accepted alphabet. */
static int b64_value(unsigned char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (flags & UTIL_B64_STD) {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	}
	if (flags & UTIL_B64_URL) {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	}
	return -1;
}

int util_base64_decode(const char *in, size_t len, unsigned flags, uint8_t *out, size_t cap,
                       size_t *outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=' && (flags & UTIL_B64_PAD))
			break;
		if ((c == ' ' || c == '\n' || c == '\r' || c == '\t') && (flags & UTIL_B64_SPACE))
			continue;
		int v = b64_value(c, flags);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -E2BIG;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return 0;
}
