/*
 * norm.c - normalisation of names, addresses, hashes, RR types and times.
 * Pure functions: no LMDB here, so every module can share them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/hex.h"
#include "util/num.h"
#include "util/time.h"

const char *store_strerror(int err)
{
	switch (err) {
	case STORE_EOK:
		return "ok";
	case STORE_ENOTFOUND:
		return "not found";
	case STORE_ENOSPACE:
		return "no space (database map full)";
	case STORE_EVERSION:
		return "unknown database schema version";
	case STORE_ECORRUPT:
		return "corrupt record";
	case STORE_EBADNAME:
		return "invalid domain name";
	case STORE_EBADADDR:
		return "invalid IP address";
	case STORE_EBADHASH:
		return "invalid certificate hash (want 40 or 64 hex digits)";
	case STORE_ETOOLONG:
		return "field too long";
	case STORE_EMISMATCH:
		return "hash does not match the certificate";
	case STORE_EBADTIME:
		return "invalid time";
	case STORE_EBADTYPE:
		return "invalid type";
	case STORE_EBADCERT:
		return "certificate does not parse";
	case STORE_ELMDB:
		return "database error";
	case STORE_EBUSY:
		return "database busy";
	case STORE_ELIMIT:
		return "limit reached";
	case STORE_EEXIST:
		return "already exists";
	case STORE_EREMOTE:
		return "ClickHouse server error";
	case STORE_ENOTSUP:
		return "not supported on the ClickHouse store yet";
	default:
		break;
	}
	if (err < 0 && err > -1000)
		return strerror(-err);
	return "unknown error";
}

static int label_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int store_name_norm(const char *in, size_t len, char *out, bool allow_wildcard)
{
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return STORE_EBADNAME;
	if (len > 253)
		return STORE_ETOOLONG;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return STORE_EBADNAME;
			label = 0;
		} else if (c == '*') {
			/* only as the whole leftmost label */
			if (!allow_wildcard || i != 0 || (len > 1 && in[1] != '.'))
				return STORE_EBADNAME;
			label++;
		} else {
			if (!label_char_ok(c))
				return STORE_EBADNAME;
			if (++label > 63)
				return STORE_ETOOLONG;
		}
		out[i] = (char)c;
	}
	if (label == 0)
		return STORE_EBADNAME;
	out[len] = '\0';
	if (out[0] == '*' && len == 1)
		return STORE_EBADNAME; /* "*" alone names everything: refuse */
	return 0;
}

bool store_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a, pfx, 12) == 0;
}

/* Dotted-quad IPv4 without inet_pton: four groups of 1-3 digits, no
 * leading zero, each <= 255, which inet_pton(AF_INET) accepts alike.
 * Anything else returns -1 and takes the general path. */
static int addr4_fast(const char *in, size_t len, uint8_t out[16])
{
	/* a copy padded with NULs: each group reads up to three digits and
	 * its separator without a bound check (NUL is neither) */
	unsigned char b[20] = {0};
	if (len < 7 || len > 15)
		return -1;
	memcpy(b, in, len);
	const unsigned char *p = b;
	uint8_t q[4];
	for (int k = 0; k < 4; k++) {
		unsigned v = (unsigned)p[0] - '0', d1 = (unsigned)p[1] - '0';
		if (v > 9)
			return -1;
		if (d1 > 9) {
			p += 1;
		} else {
			unsigned d2 = (unsigned)p[2] - '0';
			if (v == 0) /* a leading zero */
				return -1;
			v = v * 10 + d1;
			if (d2 > 9) {
				p += 2;
			} else {
				v = v * 10 + d2;
				p += 3;
				if (v > 255)
					return -1;
			}
		}
		q[k] = (uint8_t)v;
		/* a dot between groups, the end after the last */
		if (*p++ != (k < 3 ? '.' : '\0'))
			return -1;
	}
	if ((size_t)(p - b) != len + 1)
		return -1;
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, q, 4);
	return 0;
}

int store_addr_parse(const char *in, size_t len, uint8_t out[16])
{
	if (addr4_fast(in, len, out) == 0)
		return 0;
	char buf[STORE_ADDR_BUF];
	if (len == 0 || len >= sizeof(buf))
		return STORE_EBADADDR;
	memcpy(buf, in, len);
	buf[len] = '\0';
	/* "[::1]" as in URLs */
	char *p = buf;
	if (p[0] == '[' && len > 2 && p[len - 1] == ']') {
		p[len - 1] = '\0';
		p++;
	}
	struct in_addr v4;
	if (strchr(p, ':') == NULL) {
		if (inet_pton(AF_INET, p, &v4) != 1)
			return STORE_EBADADDR;
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, p, out) != 1)
		return STORE_EBADADDR;
	return 0;
}

int store_prefix_parse(const char *in, size_t len, uint8_t out[16], unsigned *plen)
{
	const char *slash = memchr(in, '/', len);
	if (slash == NULL)
		slash = memchr(in, ',', len); /* DNSDB writes addr,len */
	size_t alen = slash ? (size_t)(slash - in) : len;
	int ret = store_addr_parse(in, alen, out);
	if (ret != 0)
		return ret;
	bool v4 = store_addr_is_v4(out);
	unsigned p = v4 ? 32 : 128;
	if (slash) {
		const char *d = slash + 1;
		size_t dl = len - alen - 1;
		uint64_t v;
		if (dl > 3 || util_u64_parsen(d, dl, v4 ? 32 : 128, &v) != 0)
			return STORE_EBADADDR;
		p = (unsigned)v;
	}
	*plen = v4 ? p + 96 : p;
	/* clear host bits so the prefix is canonical */
	for (unsigned bit = *plen; bit < 128; bit++)
		out[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

void store_addr_format(const uint8_t a[16], char *out)
{
	if (store_addr_is_v4(a)) {
		inet_ntop(AF_INET, a + 12, out, STORE_ADDR_BUF);
		return;
	}
	/* glibc's inet_ntop follows RFC 5952 (longest zero run, lower case) */
	inet_ntop(AF_INET6, a, out, STORE_ADDR_BUF);
}

int store_hash_parse(const char *in, size_t len, uint8_t out[32], size_t *hlen)
{
	size_t n = 0;
	size_t i = 0;
	bool colons = len > 2 && in[2] == ':';
	while (i < len) {
		if (n == 32)
			return STORE_EBADHASH;
		int hi = util_hex_digit((unsigned char)in[i]);
		int lo = i + 1 < len ? util_hex_digit((unsigned char)in[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return STORE_EBADHASH;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (colons && i < len) {
			if (in[i] != ':')
				return STORE_EBADHASH;
			i++;
			if (i == len)
				return STORE_EBADHASH;
		}
	}
	if (n != 20 && n != 32)
		return STORE_EBADHASH;
	*hlen = n;
	return 0;
}

static const struct {
	uint16_t type;
	const char *name;
} rrtypes[] = {
    {1, "A"},      {2, "NS"},    {5, "CNAME"},    {6, "SOA"},    {12, "PTR"},
    {13, "HINFO"}, {15, "MX"},   {16, "TXT"},     {17, "RP"},    {18, "AFSDB"},
    {24, "SIG"},   {25, "KEY"},  {28, "AAAA"},    {29, "LOC"},   {33, "SRV"},
    {35, "NAPTR"}, {37, "CERT"}, {39, "DNAME"},   {43, "DS"},    {44, "SSHFP"},
    {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"},  {50, "NSEC3"}, {51, "NSEC3PARAM"},
    {52, "TLSA"},  {59, "CDS"},  {60, "CDNSKEY"}, {64, "SVCB"},  {65, "HTTPS"},
    {99, "SPF"},   {255, "ANY"}, {257, "CAA"},
};

int store_rrtype_parse(const char *in, size_t len, uint16_t *type)
{
	char buf[16];
	if (len == 0 || len >= sizeof(buf))
		return STORE_EBADTYPE;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)toupper((unsigned char)in[i]);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof(rrtypes) / sizeof(rrtypes[0]); i++) {
		if (strcmp(buf, rrtypes[i].name) == 0) {
			*type = rrtypes[i].type;
			return 0;
		}
	}
	const char *digits = buf;
	if (strncmp(buf, "TYPE", 4) == 0)
		digits = buf + 4;
	uint64_t v;
	if (util_u64_parse(digits, 65535, &v) != 0 || v == 0)
		return STORE_EBADTYPE;
	*type = (uint16_t)v;
	return 0;
}

const char *store_rrtype_name(uint16_t type, char *buf)
{
	for (size_t i = 0; i < sizeof(rrtypes) / sizeof(rrtypes[0]); i++)
		if (rrtypes[i].type == type)
			return rrtypes[i].name;
	snprintf(buf, 16, "TYPE%u", (unsigned)type);
	return buf;
}

bool store_rrtype_has_target(uint16_t type)
{
	return type == STORE_RR_CNAME || type == STORE_RR_NS || type == STORE_RR_MX ||
	       type == STORE_RR_PTR || type == STORE_RR_SRV || type == STORE_RR_DNAME;
}

/* Copy "NUM[ NUM...] name": the leading numeric fields kept, the name
 * normalised.  nums is how many numeric fields precede the name. */
static int norm_numbered_name(const char *in, size_t len, char *out, int nums)
{
	size_t o = 0;
	size_t i = 0;
	for (int k = 0; k < nums; k++) {
		while (i < len && in[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && in[i] >= '0' && in[i] <= '9')
			i++;
		if (i == start || i - start > 5 || i >= len || in[i] != ' ')
			return STORE_EBADNAME;
		memcpy(out + o, in + start, i - start);
		o += i - start;
		out[o++] = ' ';
	}
	while (i < len && in[i] == ' ')
		i++;
	if (len - i == 1 && in[i] == '.') {
		out[o++] = '.'; /* MX 0 . : null MX */
		out[o] = '\0';
		return 0;
	}
	return store_name_norm(in + i, len - i, out + o, false);
}

int store_rdata_norm(uint16_t type, const char *in, size_t len, char *out)
{
	while (len > 0 && (in[0] == ' ' || in[0] == '\t')) {
		in++;
		len--;
	}
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len == 0)
		return STORE_EBADNAME;
	uint8_t a[16];
	switch (type) {
	case STORE_RR_A:
	case STORE_RR_AAAA:
		if (store_addr_parse(in, len, a) != 0)
			return STORE_EBADADDR;
		if ((type == STORE_RR_A) != store_addr_is_v4(a))
			return STORE_EBADADDR;
		store_addr_format(a, out);
		return 0;
	case STORE_RR_CNAME:
	case STORE_RR_NS:
	case STORE_RR_PTR:
	case STORE_RR_DNAME:
		return store_name_norm(in, len, out, false);
	case STORE_RR_MX:
		return norm_numbered_name(in, len, out, 1);
	case STORE_RR_SRV:
		return norm_numbered_name(in, len, out, 3);
	default:
		if (len >= STORE_RDATA_MAX)
			return STORE_ETOOLONG;
		memcpy(out, in, len);
		out[len] = '\0';
		return 0;
	}
}

/* ---- time ------------------------------------------------------------- */

int store_time_parse(const char *in, int64_t now, int64_t *out)
{
	return util_time_parse(in, now, out, NULL, 0) == 0 ? 0 : STORE_EBADTIME;
}

void store_fence_init(struct store_fence *f)
{
	f->first_after = INT64_MIN;
	f->first_before = INT64_MAX;
	f->last_after = INT64_MIN;
	f->last_before = INT64_MAX;
	f->since = INT64_MIN;
	f->until = INT64_MAX;
}

bool store_fence_match(const struct store_fence *f, int64_t tf, int64_t tl)
{
	if (f == NULL)
		return true;
	return tf >= f->first_after && tf <= f->first_before && tl >= f->last_after &&
	       tl <= f->last_before && tl >= f->since && tf <= f->until;
}

bool store_subject_cn(const char *s, size_t n, const char **cn, size_t *cnl)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		bool at_start = i == 0 || s[i - 1] == ',' || s[i - 1] == '/' || s[i - 1] == ' ';
		if (at_start && memcmp(s + i, "CN=", 3) == 0) {
			size_t j = i + 3;
			while (j < n && s[j] != ',' && s[j] != '/')
				j++;
			*cn = s + i + 3;
			*cnl = j - i - 3;
			return *cnl > 0;
		}
	}
	return false;
}

void store_prefix_bounds(const uint8_t addr[16], unsigned plen, uint8_t lo[16], uint8_t hi[16])
{
	memcpy(lo, addr, 16);
	memcpy(hi, addr, 16);
	for (unsigned bit = plen; bit < 128; bit++) {
		lo[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
		hi[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	}
}

int store_name_pattern(const char *in, size_t len, char *out)
{
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len > 2 && in[len - 1] == '*' && in[len - 2] == '.') {
		if (in[0] == '*' || (len > 3 && in[len - 3] == '.'))
			return STORE_EBADNAME; /* a wildcard at both ends, "x..*" */
		int err = store_name_norm(in, len - 2, out, false);
		if (err != 0)
			return err;
		size_t l = strlen(out);
		memcpy(out + l, ".*", 3);
		return 0;
	}
	return store_name_norm(in, len, out, true);
}

bool store_name_is_rhs(const char *pattern)
{
	size_t l = strlen(pattern);
	return l > 2 && pattern[l - 1] == '*' && pattern[l - 2] == '.';
}
