/*
 * base64.h - base64 (RFC 4648) encoding and decoding, standard and URL-safe.
 */
#ifndef UTIL_BASE64_H
#define UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Flags.  Encoding: UTIL_B64_URL picks the URL-safe alphabet ('-', '_'
 * instead of '+', '/'); UTIL_B64_PAD pads with '='.  Decoding:
 * UTIL_B64_STD and UTIL_B64_URL say which alphabets are accepted (at least
 * one), UTIL_B64_PAD stops at the first '=', UTIL_B64_SPACE skips spaces,
 * tabs and line ends.  Left-over bits of an incomplete last group are
 * dropped. */
#define UTIL_B64_STD 1u
#define UTIL_B64_URL 2u
#define UTIL_B64_PAD 4u
#define UTIL_B64_SPACE 8u

/* The length of the encoding of n bytes, without the NUL. */
size_t util_base64_encoded_len(size_t n, unsigned flags);
/* Encode n bytes into out (util_base64_encoded_len() + 1 bytes, NUL-terminated). */
void util_base64_encode(const uint8_t *in, size_t n, unsigned flags, char *out);
/* Decode len characters into out (cap bytes), the byte count in *outlen.
 * 0, -EINVAL (a character outside the accepted alphabet) or -E2BIG (more
 * than cap bytes). */
int util_base64_decode(const char *in, size_t len, unsigned flags, uint8_t *out, size_t cap,
                       size_t *outlen);

#endif
