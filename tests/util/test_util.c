/*
 * test_util.c - the util module: buffer, hex, base64, numbers, time,
 * big-endian helpers, each with its failure paths.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "util/base64.h"
#include "util/be.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/num.h"
#include "util/time.h"

/* The out-of-memory test asks for an impossible size: under ASan that must
 * return NULL instead of aborting. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* ---- buffer ----------------------------------------------------------- */

static void test_buf_basic(void)
{
	struct util_buf b;
	util_buf_init(&b, 100);
	T_CHECK(b.p == NULL);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(b.err, 0);
	T_EQ_INT(util_buf_add(&b, "ab", 2), 0);
	T_EQ_INT(util_buf_adds(&b, "cd"), 0);
	T_EQ_INT(util_buf_add(&b, NULL, 0), 0);
	T_EQ_INT(b.len, 4);
	T_EQ_STR(b.p, "abcd");
	T_EQ_INT(util_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	T_EQ_STR(b.p, "abcd-42-x");
	T_EQ_INT(b.len, 9);
	/* binary content with a NUL inside */
	T_EQ_INT(util_buf_add(&b, "\0z", 2), 0);
	T_EQ_INT(b.len, 11);
	T_CHECK(memcmp(b.p + 9, "\0z", 3) == 0);
	util_buf_reset(&b);
	T_EQ_INT(b.len, 0);
	T_EQ_STR(b.p, "");
	T_EQ_INT(util_buf_adds(&b, "again"), 0);
	T_EQ_STR(b.p, "again");
	util_buf_free(&b);
	T_CHECK(b.p == NULL);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(b.limit, 100);
	/* usable after free */
	T_EQ_INT(util_buf_adds(&b, "x"), 0);
	T_EQ_STR(b.p, "x");
	util_buf_free(&b);
}

/* The limit: a failed append changes nothing, later ones still work, the
 * first error is remembered until reset. */
static void test_buf_limit(void)
{
	struct util_buf b;
	util_buf_init(&b, 10);
	T_EQ_INT(util_buf_add(&b, "12345", 5), 0);
	T_EQ_INT(util_buf_add(&b, "123456", 6), -E2BIG);
	T_EQ_INT(b.len, 5);
	T_EQ_STR(b.p, "12345");
	T_EQ_INT(b.err, -E2BIG);
	T_EQ_INT(util_buf_add(&b, "12345", 5), 0);
	T_EQ_STR(b.p, "1234512345");
	T_EQ_INT(b.err, -E2BIG);
	T_CHECK(b.cap <= 11); /* never allocates past the limit and its NUL */
	T_EQ_INT(util_buf_add(&b, "", 0), 0);
	T_EQ_INT(util_buf_add(&b, "x", 1), -E2BIG);
	T_EQ_INT(util_buf_printf(&b, "%d", 1), -E2BIG);
	T_EQ_STR(b.p, "1234512345");
	T_EQ_INT(util_buf_reserve(&b, 0), 0);
	T_EQ_INT(util_buf_reserve(&b, 1), -E2BIG);
	T_EQ_INT(util_buf_reserve(&b, SIZE_MAX), -E2BIG);
	size_t n = 0;
	char *p = util_buf_take(&b, &n);
	T_EQ_INT(n, 10);
	T_EQ_STR(p, "1234512345");
	free(p);
	T_EQ_INT(b.err, 0);
	T_CHECK(b.p == NULL);
	util_buf_free(&b);

	/* limit 0 holds only the empty text */
	util_buf_init(&b, 0);
	T_EQ_INT(util_buf_add(&b, "", 0), 0);
	T_EQ_INT(util_buf_adds(&b, "a"), -E2BIG);
	T_EQ_INT(util_buf_printf(&b, "a"), -E2BIG);
	T_EQ_INT(util_buf_printf(&b, "%s", ""), 0);
	p = util_buf_take(&b, &n);
	T_EQ_STR(p, "");
	T_EQ_INT(n, 0);
	free(p);
	util_buf_free(&b);

	/* a printf that does not fit leaves the content and its NUL */
	util_buf_init(&b, 8);
	T_EQ_INT(util_buf_adds(&b, "abcd"), 0);
	T_EQ_INT(util_buf_printf(&b, "%s", "efghi"), -E2BIG);
	T_EQ_INT(b.len, 4);
	T_EQ_STR(b.p, "abcd");
	T_EQ_INT(util_buf_printf(&b, "%s", "efgh"), 0);
	T_EQ_STR(b.p, "abcdefgh");
	util_buf_free(&b);
}

static void test_buf_grow(void)
{
	struct util_buf b;
	util_buf_init(&b, 1 << 20);
	char big[5000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* a printf that needs a bigger buffer than the first one */
	T_EQ_INT(util_buf_printf(&b, "<%s>", big), 0);
	T_EQ_INT(b.len, 5001);
	T_CHECK(b.p[0] == '<' && b.p[5000] == '>' && b.p[5001] == '\0');
	T_CHECK(b.cap >= 5002);
	for (int i = 0; i < 100; i++)
		T_EQ_INT(util_buf_add(&b, big, sizeof(big) - 1), 0);
	T_EQ_INT(b.len, 5001 + 100 * 4999);
	T_EQ_INT(b.p[b.len], '\0');
	/* reserve gives room without changing the content */
	size_t len = b.len;
	T_EQ_INT(util_buf_reserve(&b, 1000), 0);
	T_CHECK(b.cap >= len + 1001);
	T_EQ_INT(b.len, len);
	T_EQ_INT(util_buf_reserve(&b, (1 << 20) - len + 1), -E2BIG);
	T_EQ_INT(b.err, -E2BIG);
	util_buf_free(&b);

	/* out of memory: the content survives */
	util_buf_init(&b, SIZE_MAX);
	T_EQ_INT(util_buf_adds(&b, "keep"), 0);
	T_EQ_INT(util_buf_reserve(&b, SIZE_MAX / 2), -ENOMEM);
	T_EQ_INT(b.err, -ENOMEM);
	T_EQ_STR(b.p, "keep");
	T_EQ_INT(util_buf_adds(&b, "!"), 0);
	T_EQ_STR(b.p, "keep!");
	util_buf_free(&b);
}

static void test_buf_json(void)
{
	struct util_buf b;
	util_buf_init(&b, 64);
	json_t *o = json_object();
	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a", json_string("x y"));
	T_EQ_INT(util_buf_adds(&b, "["), 0);
	T_EQ_INT(util_buf_add_json(&b, o), 0);
	T_EQ_STR(b.p, "[{\"z\":1,\"a\":\"x y\"}");
	json_t *s = json_string("s");
	T_EQ_INT(util_buf_add_json(&b, s), 0); /* JSON_ENCODE_ANY */
	T_EQ_STR(b.p, "[{\"z\":1,\"a\":\"x y\"}\"s\"");
	json_decref(s);
	/* too big: nothing of it stays */
	json_t *big = json_array();
	for (int i = 0; i < 20; i++)
		json_array_append_new(big, json_integer(1000 + i));
	size_t before = b.len;
	T_EQ_INT(util_buf_add_json(&b, big), -E2BIG);
	T_EQ_INT(b.len, before);
	T_EQ_STR(b.p, "[{\"z\":1,\"a\":\"x y\"}\"s\"");
	T_EQ_INT(b.err, -E2BIG);
	json_decref(big);
	/* jansson itself refuses (a string that is not UTF-8) */
	util_buf_reset(&b);
	json_t *bad = json_stringn_nocheck("\xff", 1);
	T_EQ_INT(util_buf_add_json(&b, bad), -EINVAL);
	T_EQ_INT(b.len, 0);
	T_EQ_STR(b.p != NULL ? b.p : "", "");
	json_decref(bad);
	json_decref(o);
	util_buf_free(&b);
}

static void test_buf_take_finish(void)
{
	struct util_buf b;
	size_t n = 99;
	/* nothing appended yet: still a string the caller frees */
	util_buf_init(&b, 16);
	char *p = util_buf_take(&b, &n);
	T_CHECK(p != NULL);
	T_EQ_STR(p, "");
	T_EQ_INT(n, 0);
	free(p);
	/* ownership moves: the buffer starts over, with its limit */
	T_EQ_INT(util_buf_adds(&b, "hello"), 0);
	char *old = b.p;
	p = util_buf_take(&b, NULL);
	T_CHECK(p == old);
	T_CHECK(b.p == NULL);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(b.limit, 16);
	T_EQ_STR(p, "hello");
	free(p);
	/* set_error: the first one wins; finish then releases */
	T_EQ_INT(util_buf_adds(&b, "part"), 0);
	T_EQ_INT(util_buf_set_error(&b, -EILSEQ), -EILSEQ);
	T_EQ_INT(util_buf_set_error(&b, -ENOMEM), -ENOMEM);
	T_EQ_INT(b.err, -EILSEQ);
	n = 99;
	T_CHECK(util_buf_finish(&b, &n) == NULL);
	T_EQ_INT(n, 99);
	T_CHECK(b.p == NULL);
	T_EQ_INT(b.err, 0);
	/* finish without an error is take */
	T_EQ_INT(util_buf_adds(&b, "done"), 0);
	p = util_buf_finish(&b, &n);
	T_EQ_STR(p, "done");
	T_EQ_INT(n, 4);
	free(p);
	util_buf_free(&b);
	util_buf_free(&b); /* twice is harmless */
}

static void test_buf_fixed(void)
{
	char mem[8];
	memset(mem, 'X', sizeof(mem));
	struct util_buf b;
	util_buf_init_fixed(&b, mem, sizeof(mem));
	T_CHECK(b.p == mem);
	T_EQ_STR(mem, "");
	T_EQ_INT(b.limit, 7);
	T_EQ_INT(util_buf_adds(&b, "1234567"), 0);
	T_EQ_STR(mem, "1234567");
	T_EQ_INT(util_buf_adds(&b, "8"), -E2BIG);
	T_EQ_INT(util_buf_reserve(&b, 1), -E2BIG);
	T_EQ_STR(mem, "1234567");
	util_buf_reset(&b);
	T_EQ_INT(util_buf_printf(&b, "%d", 123456), 0);
	T_EQ_STR(mem, "123456");
	T_EQ_INT(util_buf_printf(&b, "%d", 78), -E2BIG);
	T_EQ_STR(mem, "123456"); /* the cut-off text is undone */
	T_EQ_INT(util_buf_printf(&b, "%d", 7), 0);
	T_EQ_STR(mem, "1234567");
	/* take copies out of the caller's memory */
	size_t n;
	char *p = util_buf_take(&b, &n);
	T_CHECK(p != mem);
	T_EQ_STR(p, "1234567");
	T_EQ_INT(n, 7);
	free(p);
	T_CHECK(b.p == mem);
	T_EQ_INT(b.len, 0);
	T_EQ_STR(mem, "");
	/* free does not free the caller's memory (ASan would object) */
	T_EQ_INT(util_buf_adds(&b, "ab"), 0);
	util_buf_free(&b);
	T_EQ_INT(b.len, 0);
	/* size 1: only the NUL */
	char one[1] = {'X'};
	util_buf_init_fixed(&b, one, 1);
	T_EQ_INT(one[0], '\0');
	T_EQ_INT(util_buf_add(&b, "", 0), 0);
	T_EQ_INT(util_buf_add(&b, "a", 1), -E2BIG);
	T_EQ_INT(one[0], '\0');
}

/* ---- hex -------------------------------------------------------------- */

static void test_hex(void)
{
	T_EQ_INT(util_hex_digit('0'), 0);
	T_EQ_INT(util_hex_digit('9'), 9);
	T_EQ_INT(util_hex_digit('a'), 10);
	T_EQ_INT(util_hex_digit('f'), 15);
	T_EQ_INT(util_hex_digit('A'), 10);
	T_EQ_INT(util_hex_digit('F'), 15);
	const char *bad = "gG/:@`xz \n";
	for (const char *c = bad; *c; c++)
		T_EQ_INT(util_hex_digit(*c), -1);
	T_EQ_INT(util_hex_digit(0), -1);
	T_EQ_INT(util_hex_digit(-1), -1);
	T_EQ_INT(util_hex_digit(0xe0), -1);
	T_EQ_INT(util_hex_digit((char)0xb0), -1);

	const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];
	util_hex_encode(in, sizeof(in), out);
	T_EQ_STR(out, "00017f80abff");
	util_hex_encode(in, 0, out);
	T_EQ_STR(out, "");

	uint8_t dec[8];
	size_t n = 99;
	T_EQ_INT(util_hex_decode("00017F80abFF", 12, dec, sizeof(dec), &n), 0);
	T_EQ_INT(n, 6);
	T_CHECK(memcmp(dec, in, 6) == 0);
	T_EQ_INT(util_hex_decode("", 0, dec, sizeof(dec), &n), 0);
	T_EQ_INT(n, 0);
	n = 99;
	T_EQ_INT(util_hex_decode("abc", 3, dec, sizeof(dec), &n), -EINVAL);
	T_EQ_INT(util_hex_decode("ag", 2, dec, sizeof(dec), &n), -EINVAL);
	T_EQ_INT(util_hex_decode("a:b0", 4, dec, sizeof(dec), &n), -EINVAL);
	T_EQ_INT(util_hex_decode("-1", 2, dec, sizeof(dec), &n), -EINVAL);
	T_EQ_INT(util_hex_decode("00112233445566778899", 20, dec, sizeof(dec), &n), -E2BIG);
	T_EQ_INT(util_hex_decode("0011223344556677", 16, dec, sizeof(dec), &n), 0);
	T_EQ_INT(n, 8);
	T_EQ_INT(dec[7], 0x77);
}

/* ---- base64 ----------------------------------------------------------- */

static void test_base64_encode(void)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const padded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const bare[] = {"",       "Zg",      "Zm8",     "Zm9v",
	                                   "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[32];
	for (size_t i = 0; i < 7; i++) {
		size_t n = strlen(plain[i]);
		util_base64_encode((const uint8_t *)plain[i], n, UTIL_B64_PAD, out);
		T_EQ_STR(out, padded[i]);
		T_EQ_INT(util_base64_encoded_len(n, UTIL_B64_PAD), strlen(padded[i]));
		util_base64_encode((const uint8_t *)plain[i], n, 0, out);
		T_EQ_STR(out, bare[i]);
		T_EQ_INT(util_base64_encoded_len(n, 0), strlen(bare[i]));
	}
	const uint8_t hi[] = {0xfb, 0xff, 0xbf};
	util_base64_encode(hi, 3, 0, out);
	T_EQ_STR(out, "+/+/");
	util_base64_encode(hi, 3, UTIL_B64_URL, out);
	T_EQ_STR(out, "-_-_");
	util_base64_encode(hi, 2, UTIL_B64_URL | UTIL_B64_PAD, out);
	T_EQ_STR(out, "-_8=");
}

static void test_base64_decode(void)
{
	uint8_t out[16];
	size_t n = 99;
	const unsigned all = UTIL_B64_STD | UTIL_B64_URL | UTIL_B64_PAD | UTIL_B64_SPACE;
	T_EQ_INT(util_base64_decode("Zm9vYmFy", 8, UTIL_B64_STD, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 6);
	T_CHECK(memcmp(out, "foobar", 6) == 0);
	T_EQ_INT(util_base64_decode("", 0, UTIL_B64_STD, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 0);
	/* padding: the end with UTIL_B64_PAD, a bad character without */
	T_EQ_INT(util_base64_decode("Zm8=", 4, UTIL_B64_STD | UTIL_B64_PAD, out, sizeof(out), &n),
	         0);
	T_EQ_INT(n, 2);
	T_CHECK(memcmp(out, "fo", 2) == 0);
	T_EQ_INT(util_base64_decode("Zm8=", 4, UTIL_B64_STD, out, sizeof(out), &n), -EINVAL);
	/* unpadded input decodes as far as whole bytes go */
	T_EQ_INT(util_base64_decode("Zm8", 3, UTIL_B64_STD, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 2);
	/* whitespace only with UTIL_B64_SPACE */
	T_EQ_INT(util_base64_decode("Zm9v\r\n Ym\tFy", 12, all, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 6);
	T_CHECK(memcmp(out, "foobar", 6) == 0);
	T_EQ_INT(util_base64_decode("Zm9v Ym", 7, UTIL_B64_STD, out, sizeof(out), &n), -EINVAL);
	/* alphabets */
	T_EQ_INT(util_base64_decode("+/+/", 4, UTIL_B64_STD, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 3);
	T_CHECK(out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf);
	T_EQ_INT(util_base64_decode("-_-_", 4, UTIL_B64_URL, out, sizeof(out), &n), 0);
	T_EQ_INT(n, 3);
	T_CHECK(out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf);
	T_EQ_INT(util_base64_decode("-_-_", 4, UTIL_B64_STD, out, sizeof(out), &n), -EINVAL);
	T_EQ_INT(util_base64_decode("+/+/", 4, UTIL_B64_URL, out, sizeof(out), &n), -EINVAL);
	T_EQ_INT(util_base64_decode("+_-/", 4, all, out, sizeof(out), &n), 0);
	T_EQ_INT(util_base64_decode("Zm9v!", 5, all, out, sizeof(out), &n), -EINVAL);
	T_EQ_INT(util_base64_decode("Zm\0v", 4, all, out, sizeof(out), &n), -EINVAL);
	T_EQ_INT(util_base64_decode("Zm\xc3\xa9", 4, all, out, sizeof(out), &n), -EINVAL);
	/* the output limit */
	T_EQ_INT(util_base64_decode("Zm9vYmFy", 8, UTIL_B64_STD, out, 6, &n), 0);
	T_EQ_INT(util_base64_decode("Zm9vYmFy", 8, UTIL_B64_STD, out, 5, &n), -E2BIG);
	T_EQ_INT(util_base64_decode("Zg", 2, UTIL_B64_STD, out, 0, &n), -E2BIG);
	/* round trip of every byte value */
	uint8_t all_bytes[256], back[256];
	for (int i = 0; i < 256; i++)
		all_bytes[i] = (uint8_t)i;
	char enc[400];
	util_base64_encode(all_bytes, 256, UTIL_B64_URL, enc);
	T_EQ_INT(util_base64_decode(enc, strlen(enc), UTIL_B64_URL, back, sizeof(back), &n), 0);
	T_EQ_INT(n, 256);
	T_CHECK(memcmp(back, all_bytes, 256) == 0);
}

/* ---- numbers ---------------------------------------------------------- */

static void test_u64(void)
{
	uint64_t v = 7;
	T_EQ_INT(util_u64_parse("0", UINT64_MAX, &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(util_u64_parse("123", UINT64_MAX, &v), 0);
	T_EQ_INT(v, 123);
	T_EQ_INT(util_u64_parse("007", UINT64_MAX, &v), 0);
	T_EQ_INT(v, 7);
	T_EQ_INT(util_u64_parse("18446744073709551615", UINT64_MAX, &v), 0);
	T_CHECK(v == UINT64_MAX);
	T_EQ_INT(util_u64_parse("18446744073709551610", UINT64_MAX, &v), 0);
	T_CHECK(v == UINT64_MAX - 5);
	/* 19 digits, the most the loop without overflow checks takes */
	T_EQ_INT(util_u64_parse("9999999999999999999", UINT64_MAX, &v), 0);
	T_CHECK(v == 9999999999999999999ull);
	T_EQ_INT(util_u64_parse("1000000000000000000", 999999999999999999ull, &v), -ERANGE);
	T_EQ_INT(util_u64_parse("99999999999999999x9", UINT64_MAX, &v), -EINVAL);
	/* failures leave *out alone */
	v = 7;
	T_EQ_INT(util_u64_parse("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	T_EQ_INT(util_u64_parse("99999999999999999999999999", UINT64_MAX, &v), -ERANGE);
	T_EQ_INT(util_u64_parse("65536", 65535, &v), -ERANGE);
	T_EQ_INT(util_u64_parse("1", 0, &v), -ERANGE);
	T_EQ_INT(util_u64_parse("", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse(NULL, UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("-1", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("+1", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse(" 1", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("1 ", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("12a", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("0x10", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parse("1.5", UINT64_MAX, &v), -EINVAL);
	/* trailing junk past a too-big number is still junk */
	T_EQ_INT(util_u64_parse("99999999999999999999x", UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(v, 7);
	T_EQ_INT(util_u64_parse("65535", 65535, &v), 0);
	T_EQ_INT(v, 65535);
	/* counted: only n characters, and never past a NUL */
	T_EQ_INT(util_u64_parsen("123456", 3, UINT64_MAX, &v), 0);
	T_EQ_INT(v, 123);
	T_EQ_INT(util_u64_parsen("12", 0, UINT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_u64_parsen("12\0"
	                         "34",
	                         5, UINT64_MAX, &v),
	         -EINVAL);
	T_EQ_INT(util_u64_parsen(NULL, 3, UINT64_MAX, &v), -EINVAL);
}

static void test_i64(void)
{
	int64_t v = 7;
	T_EQ_INT(util_i64_parse("0", INT64_MIN, INT64_MAX, &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(util_i64_parse("-0", INT64_MIN, INT64_MAX, &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(util_i64_parse("-42", INT64_MIN, INT64_MAX, &v), 0);
	T_EQ_INT(v, -42);
	T_EQ_INT(util_i64_parse("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	T_CHECK(v == INT64_MAX);
	T_EQ_INT(util_i64_parse("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	T_CHECK(v == INT64_MIN);
	v = 7;
	T_EQ_INT(util_i64_parse("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	T_EQ_INT(util_i64_parse("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -ERANGE);
	T_EQ_INT(util_i64_parse("-5", 0, 10, &v), -ERANGE);
	T_EQ_INT(util_i64_parse("11", 0, 10, &v), -ERANGE);
	T_EQ_INT(util_i64_parse("-", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse("--1", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse("+1", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse("", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse(NULL, INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse("1-", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(util_i64_parse(" -1", INT64_MIN, INT64_MAX, &v), -EINVAL);
	T_EQ_INT(v, 7);
	T_EQ_INT(util_i64_parse("10", 0, 10, &v), 0);
	T_EQ_INT(v, 10);
	T_EQ_INT(util_i64_parsen("-123", 3, INT64_MIN, INT64_MAX, &v), 0);
	T_EQ_INT(v, -12);
	T_EQ_INT(util_i64_parsen("-1", 0, INT64_MIN, INT64_MAX, &v), -EINVAL);
}

/* ---- time ------------------------------------------------------------- */

static void test_time(void)
{
	char b[UTIL_TIME_BUF];
	util_time_format(0, b, sizeof(b));
	T_EQ_STR(b, "1970-01-01T00:00:00Z");
	util_time_format(1706702400, b, sizeof(b));
	T_EQ_STR(b, "2024-01-31T12:00:00Z");
	util_time_format(-1, b, sizeof(b));
	T_EQ_STR(b, "1969-12-31T23:59:59Z");
	util_time_format(951782400, b, sizeof(b)); /* a leap day */
	T_EQ_STR(b, "2000-02-29T00:00:00Z");
	util_time_format(253402300799, b, sizeof(b));
	T_EQ_STR(b, "9999-12-31T23:59:59Z");
	util_time_format(1706702400, b, 11); /* cut to the room given */
	T_EQ_STR(b, "2024-01-31");

	T_EQ_INT(util_days_from_civil(1970, 1, 1), 0);
	T_EQ_INT(util_days_from_civil(2000, 3, 1), 11017);
	T_EQ_INT(util_days_from_civil(1969, 12, 31), -1);
	int64_t y;
	unsigned m, d;
	util_civil_from_days(11016, &y, &m, &d);
	T_CHECK(y == 2000 && m == 2 && d == 29);
	for (int64_t z = -800000; z <= 800000; z += 997) {
		util_civil_from_days(z, &y, &m, &d);
		T_EQ_INT(util_days_from_civil(y, m, d), z);
	}

	json_t *j = util_time_json(0);
	T_CHECK(json_is_null(j));
	json_decref(j);
	j = util_time_json(1706702400);
	T_CHECK(json_is_string(j));
	T_EQ_STR(json_string_value(j), "2024-01-31T12:00:00Z");
	json_decref(j);
}

/* Every form util_time_parse() takes, against a pinned clock. */
static void test_time_parse_forms(void)
{
	const int64_t now = 1764504000; /* 2025-11-30T12:00:00Z */
	static const struct {
		const char *in;
		int64_t want;
	} cases[] = {
	    {"now", 1764504000},
	    {"2026-11-26", 1795651200},
	    {"2026-11-26T10:30:00Z", 1795689000},
	    {"2026-11-26T12:30:00+02:00", 1795689000},
	    {"2013-03-19T18:06:36.798286+0000", 1363716396},
	    {"1706702400", 1706702400},
	    {"1322849924.408856", 1322849924},
	    {"@20261126", 20261126},
	    {"-7d", 1764504000 - 7 * 86400},
	    {"-1d12h", 1764504000 - 36 * 3600},
	    {"-2w3d4h5m6s", 1764504000 - (17 * 86400 + 4 * 3600 + 5 * 60 + 6)},
	    {"+30d", 1764504000 + 30 * 86400},
	    {"-86400", 1764504000 - 86400}, /* DNSDB's relative seconds */
	    /* calendar months and years: 2025-10-30, 2024-11-30 at noon */
	    {"-1M", 1761825600},
	    {"-1y", 1732968000},
	    /* Feb 2026 has 28 days: the day is clamped */
	    {"+3M", 1772280000},
	    {"-1y2M3d", 1727697600 - 3 * 86400}, /* 2024-09-30 minus 3 days */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = 0;
		char why[256] = "";
		T_EQ_INT(util_time_parse(cases[i].in, now, &t, why, sizeof(why)), 0);
		T_EQ_INT(t, cases[i].want);
		T_EQ_STR(why, "");
	}
	int64_t t = 0;
	T_EQ_INT(util_time_parse("now", now, &t, NULL, 0), 0); /* no room for why */
	T_EQ_INT(t, now);
}

/* Ambiguous and malformed times are refused, saying how to write them. */
static void test_time_parse_bad(void)
{
	const int64_t now = 1764504000;
	int64_t t = 42;
	char why[256];
	T_EQ_INT(util_time_parse("20261126", now, &t, why, sizeof(why)), -1);
	T_EQ_STR(why, "'20261126' could be a date or epoch seconds: write 2026-11-26 for the "
	              "date, @20261126 for epoch seconds");
	T_EQ_INT(t, 42);
	T_EQ_INT(util_time_parse("20261126120000", now, &t, why, sizeof(why)), -1);
	T_CHECK(strstr(why, "2026-11-26T...") != NULL);
	T_EQ_INT(util_time_parse("202611261200", now, &t, why, sizeof(why)), -1);
	/* eight digits that cannot be a date are epoch seconds */
	T_EQ_INT(util_time_parse("99999999", now, &t, why, sizeof(why)), 0);
	T_EQ_INT(t, 99999999);
	t = 42;
	const char *bad[] = {"",           "yesterday", "2011-13-01", "2011-09-09T25:00:00Z",
	                     "-7x",        "-1d1d",     "-d",         "--7d",
	                     "-7d ",       "1.",        "@",          "@-7d",
	                     "12.5.6",     "2024-1-31", "Now",        "-99999999999999y",
	                     "@2024-01-31"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		T_EQ_INT(util_time_parse(bad[i], now, &t, why, sizeof(why)), -1);
		T_CHECK(why[0] == '\'');
		T_EQ_INT(t, 42);
	}
	T_EQ_INT(util_time_parse("-7x", now, &t, why, sizeof(why)), -1);
	T_CHECK(strstr(why, "units y (years) M (months)") != NULL);
	T_EQ_INT(util_time_parse("yesterday", now, &t, NULL, 0), -1); /* no room for why */
	T_EQ_INT(util_time_parse("yesterday", now, &t, why, 8), -1);  /* cut */
	T_EQ_INT(strlen(why), 7);
}

/* ---- big-endian ------------------------------------------------------- */

static void test_be(void)
{
	uint8_t p[8];
	util_be16_store(p, 0x1234);
	T_CHECK(p[0] == 0x12 && p[1] == 0x34);
	T_EQ_INT(util_be16_load(p), 0x1234);
	util_be32_store(p, 0x89abcdefu);
	T_CHECK(p[0] == 0x89 && p[1] == 0xab && p[2] == 0xcd && p[3] == 0xef);
	T_CHECK(util_be32_load(p) == 0x89abcdefu);
	util_be64_store(p, 0x0102030405060708ull);
	for (int i = 0; i < 8; i++)
		T_EQ_INT(p[i], i + 1);
	T_CHECK(util_be64_load(p) == 0x0102030405060708ull);
	util_be64_store(p, UINT64_MAX);
	T_CHECK(util_be64_load(p) == UINT64_MAX);
	/* the byte order sorts like the number */
	uint8_t a[8], c[8];
	util_be64_store(a, 255);
	util_be64_store(c, 256);
	T_CHECK(memcmp(a, c, 8) < 0);
}

/* ---- populate ---------------------------------------------------------- */

/* util_populate faults pages in and changes no byte: not of the range,
 * not around it; an empty or inverted range does nothing.  Where the
 * kernel has MADV_POPULATE_WRITE, the range's pages are resident after
 * it (mincore) and the pages before and after are not. */
static void test_populate(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 16 * pg;
	uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	m[0] = 0x5a;                               /* page 0 resident and written */
	util_populate(m, 2 * pg + 1, 10 * pg - 1); /* whole pages 3..8 */
	util_populate(m, 12 * pg, 12 * pg);
	util_populate(m, 13 * pg, 12 * pg);
	T_EQ_INT(m[0], 0x5a);
	unsigned char vec[16];
	T_EQ_INT(mincore(m, n, vec), 0);
#ifdef MADV_POPULATE_WRITE
	if (madvise(m + 15 * pg, pg, MADV_POPULATE_WRITE) == 0) { /* the kernel has it */
		for (unsigned i = 3; i <= 8; i++)
			T_CHECK(vec[i] & 1);
		T_CHECK(!(vec[2] & 1));
		T_CHECK(!(vec[9] & 1));
		T_CHECK(!(vec[12] & 1));
	}
#endif
	size_t zero = 0;
	for (size_t i = 1; i < n; i++)
		zero += m[i] == 0;
	T_EQ_INT(zero, n - 1);
	munmap(m, n);
}

/* ---- big buffers ------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static bool same(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 7))
			return false;
	return true;
}

/* Small requests go to malloc; big ones to the region in power-of-two
 * sizes, growing keeps the kept bytes, and a freed buffer is handed out
 * again only once free: never while another holds it. */
static void test_big(void)
{
	size_t used0, kept0, used, kept, cap = 0;
	util_big_stats(&used0, &kept0);
	uint8_t *s = util_big_realloc(NULL, 0, 100, &cap);
	T_CHECK(s != NULL && cap == 100);
	util_big_stats(&used, &kept);
	T_EQ_INT(used, used0); /* malloc's */
	fill(s, 100, 1);
	/* from malloc into the region, the first 100 bytes kept */
	uint8_t *a = util_big_realloc(s, 100, UTIL_BIG_MIN + 1, &cap);
	T_CHECK(a != NULL && same(a, 100, 1));
	util_big_stats(&used, &kept);
	if (used == used0) { /* no region here (mmap refused): all malloc */
		T_CHECK(cap == UTIL_BIG_MIN + 1);
		util_big_free(a);
		return;
	}
	T_EQ_INT(used, used0 + 1);
	/* four sizes an octave: 64, 80, 96, 112, 128 KiB ... */
	T_EQ_INT(cap, UTIL_BIG_MIN / 4 * 5);
	size_t acap = cap;
	fill(a, acap, 2);
	/* within its size: the same buffer */
	T_CHECK(util_big_realloc(a, acap, acap, &cap) == a && cap == acap);
	uint8_t *b = util_big_realloc(NULL, 0, acap, &cap);
	T_CHECK(b != NULL && b != a && cap == acap);
	T_CHECK(b >= a + acap || b + acap <= a);
	fill(b, acap, 3);
	/* a grows: its bytes move, its old buffer is kept and taken next */
	uint8_t *a2 = util_big_realloc(a, acap, 3 * UTIL_BIG_MIN + 1, &cap);
	T_CHECK(a2 != NULL && a2 != a && cap == 7 * UTIL_BIG_MIN / 2);
	T_CHECK(same(a2, acap, 2));
	util_big_stats(&used, &kept);
	T_EQ_INT(kept, kept0 + 1);
	uint8_t *c = util_big_realloc(NULL, 0, acap - 1, &cap);
	T_CHECK(c == a); /* the freed one, reused */
	fill(c, acap, 4);
	T_CHECK(same(b, acap, 3)); /* b untouched by c's use */
	T_CHECK(same(a2, acap, 2));
	util_big_free(a2);
	util_big_free(b);
	util_big_free(c);
	util_big_free(NULL);
	util_big_stats(&used, &kept);
	T_EQ_INT(used, used0);
	T_EQ_INT(kept, kept0 + 3);
}

/* Threads taking, filling, checking and freeing buffers at once: a
 * buffer handed to two holders shows as a changed pattern. */
static void *big_worker(void *arg)
{
	uint8_t seed = (uint8_t)(uintptr_t)arg;
	uintptr_t bad = 0;
	for (int round = 0; round < 200; round++) {
		uint8_t *p[4];
		size_t n[4];
		for (int i = 0; i < 4; i++) {
			p[i] = util_big_realloc(NULL, 0, UTIL_BIG_MIN << (i % 3), &n[i]);
			if (p[i] == NULL)
				return (void *)1;
			fill(p[i], n[i], (uint8_t)(seed + i));
		}
		for (int i = 0; i < 4; i++) {
			bad += !same(p[i], n[i], (uint8_t)(seed + i));
			util_big_free(p[i]);
		}
	}
	return (void *)bad;
}

static void test_big_threads(void)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		T_EQ_INT(pthread_create(&t[i], NULL, big_worker, (void *)(i * 40)), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		T_EQ_INT(pthread_join(t[i], &r), 0);
		T_EQ_INT((uintptr_t)r, 0);
	}
}

int main(void)
{
	test_buf_basic();
	test_buf_limit();
	test_buf_grow();
	test_buf_json();
	test_buf_take_finish();
	test_buf_fixed();
	test_hex();
	test_base64_encode();
	test_base64_decode();
	test_u64();
	test_i64();
	test_time();
	test_time_parse_forms();
	test_time_parse_bad();
	test_be();
	test_populate();
	test_big();
	test_big_threads();
	return t_done();
}
