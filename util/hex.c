/*
 * hex.c - hexadecimal digits, encoding and decoding (util/hex.h).
 */
#include <errno.h>

#include "util/hex.h"

int util_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void util_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int util_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	if (len % 2 != 0)
		return -EINVAL;
	if (len / 2 > cap)
		return -E2BIG;
	for (size_t i = 0; i < len; i += 2) {
		int hi = util_hex_digit((unsigned char)in[i]);
		int lo = util_hex_digit((unsigned char)in[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = len / 2;
	return 0;
}
