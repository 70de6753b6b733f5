/*
 * jsonutil.c - helpers shared by the JSON line formats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "ingest/ingest_internal.h"
#include "util/base64.h"

/* jansson allocates a handful of blocks for every parsed line.  Once a
 * process has a second thread (the writer) glibc's malloc takes its arena
 * lock on every call, which made JSON lines cost 10-20% more than jansson
 * alone.  While a parser thread parses one line, jansson's blocks come from
 * a thread-local bump arena instead; nothing parsed outlives the line
 * (observations copy what they keep), so the arena is simply rewound.
 * Outside that window, in other threads, and for blocks that do not fit,
 * the functions fall back to malloc/free. */
#define ARENA_SIZE (1u << 20)
static _Thread_local struct {
	char *buf;
	size_t used;
	bool on;
} arena;

static void *arena_malloc(size_t n)
{
	if (arena.on && arena.buf != NULL) {
		size_t need = (n + 15) & ~(size_t)15;
		if (need <= ARENA_SIZE - arena.used) {
			void *p = arena.buf + arena.used;
			arena.used += need;
			return p;
		}
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	if (p != NULL && arena.buf != NULL && (char *)p >= arena.buf &&
	    (char *)p < arena.buf + ARENA_SIZE)
		return; /* rewound with the arena */
	free(p);
}

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static void arena_install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void ingest_json_arena_begin(void)
{
	pthread_once(&arena_once, arena_install);
	if (arena.buf == NULL)
		arena.buf = malloc(ARENA_SIZE);
	arena.used = 0;
	arena.on = arena.buf != NULL;
}

void ingest_json_arena_end(void)
{
	arena.on = false;
	arena.used = 0;
}

void ingest_json_arena_release(void)
{
	arena.on = false;
	free(arena.buf);
	arena.buf = NULL;
}

int ingest_json_object_line(struct ingest_ctx *c, const char *line, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *obj = json_loadb(line, len, 0, &jerr);
	if (obj == NULL)
		return ingest_reject(c, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return ingest_reject(c, "not a JSON object");
	}
	*out = obj;
	return 0;
}

const char *ingest_json_str(json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

int ingest_json_rr_get(struct ingest_ctx *c, json_t *obj, const char *missing, bool rrtype_string,
                       struct ingest_json_rr *rr)
{
	rr->rrname = json_object_get(obj, "rrname");
	rr->rrtype = json_object_get(obj, "rrtype");
	rr->rdata = json_object_get(obj, "rdata");
	if (!json_is_string(rr->rrname))
		return rr->rrname ? ingest_reject(c, "rrname is not a string")
		                  : ingest_reject(c, "%s rrname", missing);
	if (rr->rrtype == NULL)
		return ingest_reject(c, "%s rrtype", missing);
	if (rrtype_string && !json_is_string(rr->rrtype))
		return ingest_reject(c, "rrtype is not a string");
	if (rr->rdata == NULL)
		return ingest_reject(c, "%s rdata", missing);
	return 0;
}

int ingest_json_count(struct ingest_ctx *c, json_t *obj, uint64_t *count)
{
	json_t *cnt = json_object_get(obj, "count");
	*count = 1;
	if (cnt == NULL)
		return 0;
	if (!json_is_integer(cnt) || json_integer_value(cnt) < 0)
		return ingest_reject(c, "count is not a non-negative integer");
	*count = (uint64_t)json_integer_value(cnt);
	return 0;
}

int ingest_json_time(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t t = json_integer_value(v);
		if (t < 0 || t > (json_int_t)UINT32_MAX)
			return STORE_EBADTIME;
		*out = (int64_t)t;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d) || d < 0 || d > (double)UINT32_MAX)
			return STORE_EBADTIME;
		*out = (int64_t)d;
		return 0;
	}
	if (json_is_string(v)) {
		int64_t t;
		if (store_time_parse(json_string_value(v), (int64_t)time(NULL), &t) != 0)
			return STORE_EBADTIME;
		if (t < 0 || t > (int64_t)UINT32_MAX)
			return STORE_EBADTIME;
		*out = t;
		return 0;
	}
	return STORE_EBADTIME;
}

/* Whether the eight bytes of w are all ASCII digits. */
static inline bool digits8(uint64_t w)
{
	const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, d0 = 0x3030303030303030ull;
	return (w & hi) == d0 && ((w + 0x0606060606060606ull) & hi) == d0;
}

/* The value of eight ASCII digits, the first in the lowest byte. */
static inline uint64_t value8(uint64_t w)
{
	w -= 0x3030303030303030ull;
	w = w * 10 + (w >> 8);
	return ((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
	        ((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >>
	       32;
}

/* The common time stamp, ten digits of seconds (2001 to 2286) with or
 * without a fraction, eight digits at a time: 0, or -1 for any other
 * shape (the general loop decides those). */
static int epoch10(const char *s, size_t n, int64_t *out)
{
	uint64_t w;
	if (n < 10 || (n > 10 && s[10] != '.') || n == 11)
		return -1;
	memcpy(&w, s, 8);
	unsigned d8 = (unsigned char)s[8] - '0', d9 = (unsigned char)s[9] - '0';
	if (!digits8(w) || d8 > 9 || d9 > 9)
		return -1;
	for (size_t i = 11; i < n; i++)
		if ((unsigned)((unsigned char)s[i] - '0') > 9)
			return -1;
	uint64_t v = value8(w) * 100 + d8 * 10 + d9;
	if (v > UINT32_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int ingest_epoch_parse(const char *s, size_t n, int64_t *out)
{
	if (epoch10(s, n, out) == 0)
		return 0;
	/* one pass over the seconds; past UINT32_MAX v stops growing */
	uint64_t v = 0;
	size_t i = 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(s[i] - '0');
	if (i == 0 || v > UINT32_MAX)
		return STORE_EBADTIME;
	if (i < n && s[i] == '.') {
		i++;
		if (i == n)
			return STORE_EBADTIME;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	if (i != n)
		return STORE_EBADTIME;
	*out = (int64_t)v;
	return 0;
}

int ingest_dns_fill(struct ingest_ctx *c, struct store_obs *o, const char *rrname,
                    size_t rrname_len, uint16_t rrtype, const char *rdata, size_t rdata_len)
{
	o->kind = STORE_OBS_DNS;
	int err = store_name_norm(rrname, rrname_len, o->dns.rrname, false);
	if (err != 0) {
		ingest_reject(c, "rrname %.*s: %s", (int)(rrname_len > 80 ? 80 : rrname_len),
		              rrname, store_strerror(err));
		return err;
	}
	o->dns.rrtype = rrtype;
	if (rrtype == STORE_RR_A || rrtype == STORE_RR_AAAA) {
		/* the common case, straight into the 16 bytes the store keeps */
		while (rdata_len > 0 && (rdata[0] == ' ' || rdata[0] == '\t')) {
			rdata++;
			rdata_len--;
		}
		while (rdata_len > 0 &&
		       (rdata[rdata_len - 1] == ' ' || rdata[rdata_len - 1] == '\t'))
			rdata_len--;
		if (store_addr_parse(rdata, rdata_len, o->dns.addr) != 0 ||
		    (rrtype == STORE_RR_A) != store_addr_is_v4(o->dns.addr)) {
			ingest_reject(c, "rdata %.*s is not valid %s rdata: %s",
			              (int)(rdata_len > 80 ? 80 : rdata_len), rdata,
			              rrtype == STORE_RR_A ? "A" : "AAAA",
			              store_strerror(STORE_EBADADDR));
			return STORE_EBADADDR;
		}
		o->dns.rdata[0] = '\0';
		return 0;
	}
	char norm[STORE_RDATA_MAX + STORE_ADDR_BUF];
	if (rdata_len >= STORE_RDATA_MAX) {
		ingest_reject(c, "rdata longer than %d bytes", STORE_RDATA_MAX - 1);
		return STORE_ETOOLONG;
	}
	err = store_rdata_norm(rrtype, rdata, rdata_len, norm);
	if (err != 0) {
		char tb[16];
		ingest_reject(c, "rdata %.*s is not valid %s rdata: %s",
		              (int)(rdata_len > 80 ? 80 : rdata_len), rdata,
		              store_rrtype_name(rrtype, tb), store_strerror(err));
		return err;
	}
	/* the rr key holds name + type + rdata within LMDB's 511 bytes */
	size_t room = 511 - (strlen(o->dns.rrname) + 2) - 2;
	if (room > STORE_RDATA_MAX - 1)
		room = STORE_RDATA_MAX - 1;
	size_t nl = strlen(norm);
	if (nl > room) {
		ingest_reject(c,
		              "rdata of %zu bytes is too long to index with this name "
		              "(max %zu)",
		              nl, room);
		return STORE_ETOOLONG;
	}
	memcpy(o->dns.rdata, norm, nl + 1); /* fits: checked above */
	return 0;
}

static int hash_field(struct ingest_ctx *c, json_t *obj, const char *key, size_t want, uint8_t *out,
                      bool *has)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	size_t hl = 0;
	uint8_t h[32];
	if (!json_is_string(v) ||
	    store_hash_parse(json_string_value(v), json_string_length(v), h, &hl) != 0 ||
	    hl != want) {
		ingest_reject(c, "%s is not %zu hex digits", key, want * 2);
		return -1;
	}
	memcpy(out, h, want);
	*has = true;
	return 0;
}

/* cert_der_b64: either alphabet, whitespace ignored, up to any padding */
#define CERT_B64 (UTIL_B64_STD | UTIL_B64_URL | UTIL_B64_SPACE | UTIL_B64_PAD)

int ingest_cert_fill(struct ingest_ctx *c, struct store_obs *o, json_t *obj)
{
	struct store_cert_meta *m = ingest_meta_new(c);
	if (m == NULL)
		return ingest_reject(c, "out of memory");
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	bool has1 = false, has256 = false;
	uint8_t sha1[20], sha256[32];
	if (hash_field(c, obj, "cert_sha1", 20, sha1, &has1) != 0 ||
	    hash_field(c, obj, "cert_sha256", 32, sha256, &has256) != 0)
		return INGEST_REJECT;
	json_t *pem = json_object_get(obj, "cert_pem");
	json_t *der = json_object_get(obj, "cert_der_b64");
	if (pem != NULL && !json_is_string(pem))
		return ingest_reject(c, "cert_pem is not a string");
	if (der != NULL && !json_is_string(der))
		return ingest_reject(c, "cert_der_b64 is not a string");
	if (pem != NULL || der != NULL) {
		int err;
		if (pem != NULL) {
			size_t used;
			err = ingest_x509_pem(json_string_value(pem), json_string_length(pem), m,
			                      &used);
		} else {
			size_t cap = json_string_length(der);
			uint8_t *buf = malloc(cap + 1);
			if (buf == NULL)
				return ingest_reject(c, "out of memory");
			size_t n = 0;
			int rc =
			    util_base64_decode(json_string_value(der), cap, CERT_B64, buf, cap, &n);
			err = rc != 0 || n == 0 ? STORE_EBADCERT : ingest_x509_der(buf, n, m);
			free(buf);
		}
		if (err != 0)
			return ingest_reject(c, "%s: %s", pem ? "cert_pem" : "cert_der_b64",
			                     store_strerror(err));
		if (has1 && memcmp(sha1, m->sha1, 20) != 0)
			return ingest_reject(c, "cert_sha1 does not match the certificate");
		if (has256 && memcmp(sha256, m->sha256, 32) != 0)
			return ingest_reject(c, "cert_sha256 does not match the certificate");
		o->cert.has_meta = true;
	} else {
		if (!has1 && !has256)
			return ingest_reject(c, "no certificate: need cert_sha1, cert_sha256, "
			                        "cert_pem or cert_der_b64");
		m->has_sha1 = has1;
		m->has_sha256 = has256;
		if (has1)
			memcpy(m->sha1, sha1, 20);
		if (has256)
			memcpy(m->sha256, sha256, 32);
	}
	return 0;
}

int ingest_dns_records(struct ingest_ctx *c, json_t *obj, json_t *rrname, uint16_t type,
                       json_t *rdata, int64_t tf, int64_t tl, uint64_t count, const char *sensor)
{
	char bail[STORE_NAME_BUF] = "";
	json_t *b = json_object_get(obj, "bailiwick");
	if (b != NULL && !json_is_null(b)) {
		/* the root zone "." is a valid bailiwick */
		bool root = json_is_string(b) && strcmp(json_string_value(b), ".") == 0;
		if (!root && (!json_is_string(b) ||
		              store_name_norm(json_string_value(b), json_string_length(b), bail,
		                              false) != 0))
			return ingest_reject(c, "bailiwick is not a valid domain name");
	}
	size_t n = json_is_array(rdata) ? json_array_size(rdata) : 1;
	if (json_is_array(rdata) && n == 0)
		return ingest_reject(c, "rdata is an empty array");
	for (size_t i = 0; i < n; i++) {
		json_t *rd = json_is_array(rdata) ? json_array_get(rdata, i) : rdata;
		if (!json_is_string(rd))
			return ingest_reject(c, "rdata is not a string or array of strings");
		struct store_obs *o = ingest_obs_new(c);
		if (o == NULL)
			return ingest_reject(c, "too many rdata values in one line");
		if (ingest_dns_fill(c, o, json_string_value(rrname), json_string_length(rrname),
		                    type, json_string_value(rd), json_string_length(rd)) != 0)
			return INGEST_REJECT;
		o->time_first = tf;
		o->time_last = tl;
		o->count = count;
		if (sensor != NULL && sensor[0] != '\0')
			memcpy(o->sensor, sensor, strnlen(sensor, STORE_SENSOR_MAX - 1) + 1);
		memcpy(o->dns.bailiwick, bail, sizeof(bail));
	}
	return INGEST_OK;
}
