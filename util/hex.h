/*
 * hex.h - hexadecimal digits, encoding and decoding.
 */
#ifndef UTIL_HEX_H
#define UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value 0-15 of the hex digit c (either case), -1 if c is not one. */
int util_hex_digit(int c);
/* Write n bytes as 2n lower-case hex digits and a NUL to out (2n + 1 bytes). */
void util_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly len hex digits (len even) into out (cap bytes), the byte
 * count in *outlen.  0, -EINVAL (odd length or a non-hex character) or
 * -E2BIG (more than cap bytes). */
int util_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

#endif
