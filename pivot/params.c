/*
 * params.c - pivot parameters: defaults, parsing by name (shared by the
 * CLI and the HTTP API), names of node and edge types, UUIDv5.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pivot/pivot_internal.h"
#include "util/num.h"
#include "util/time.h"

void pivot_params_init(struct pivot_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed_type = PIVOT_NODE_AUTO;
	p->depth = 3;
	p->since = INT64_MIN;
	p->until = INT64_MAX;
	p->edges = PIVOT_EDGE_DEFAULT;
	p->max_key_certs = STORE_NOISE_MAX_KEY_CERTS;
	p->max_subject_certs = STORE_NOISE_MAX_SUBJECT_CERTS;
	p->max_fingerprint_ips = STORE_NOISE_MAX_FP_IPS;
	p->max_ip_domains = STORE_NOISE_MAX_IP_DOMAINS;
	p->max_cert_ips = STORE_NOISE_MAX_CERT_IPS;
	p->max_domain_ips = STORE_NOISE_MAX_DOMAIN_IPS;
	p->max_san = STORE_NOISE_MAX_SAN;
	p->max_nodes = 500;
	p->max_ms = 2000;
	p->now = 0;
	p->affinity = true;
	p->max_cotenant_days = STORE_AFFINITY_MAX_COTENANT_DAYS;
}

const char *pivot_node_type_name(enum pivot_node_type t)
{
	switch (t) {
	case PIVOT_NODE_DOMAIN:
		return "domain";
	case PIVOT_NODE_IP:
		return "ip";
	case PIVOT_NODE_CERT:
		return "cert";
	case PIVOT_NODE_KEY:
		return "key";
	case PIVOT_NODE_SUBJECT:
		return "subject";
	case PIVOT_NODE_JARM:
		return "jarm";
	case PIVOT_NODE_JA3S:
		return "ja3s";
	case PIVOT_NODE_AUTO:
		break;
	}
	return "auto";
}

const char *pivot_edge_type_name(enum pivot_edge_type t)
{
	return store_edge_name(t);
}

/* "max-ip-domains" and "max_ip_domains" are the same parameter. */
static bool name_is(const char *name, const char *want)
{
	for (; *name && *want; name++, want++) {
		char c = *name == '-' ? '_' : *name;
		if (c != *want)
			return false;
	}
	return *name == '\0' && *want == '\0';
}

/* A number in [lo, hi] for parameter `name`. */
static int set_number(const char *name, const char *value, uint64_t lo, uint64_t hi, uint64_t *out,
                      char *msg, size_t msgcap)
{
	uint64_t v;
	if (util_u64_parse(value, UINT64_MAX, &v) != 0) {
		snprintf(msg, msgcap, "%s: '%s' is not a non-negative whole number", name, value);
		return -EINVAL;
	}
	if (v < lo || v > hi) {
		snprintf(msg, msgcap, "%s: %llu is out of range (%llu to %llu)", name,
		         (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
		return STORE_ELIMIT;
	}
	*out = v;
	return 0;
}

static int set_edges(struct pivot_params *p, const char *value, char *msg, size_t msgcap)
{
	unsigned mask = 0;
	const char *q = value;
	if (strcmp(value, "all") == 0) {
		p->edges = PIVOT_EDGE_ALL;
		return 0;
	}
	while (*q) {
		const char *end = strchr(q, ',');
		size_t len = end ? (size_t)(end - q) : strlen(q);
		unsigned edge = store_edge_by_name(q, len);
		mask |= edge;
		if (edge == 0) {
			snprintf(msg, msgcap,
			         "edges: unknown edge type '%.*s' (resolves, cname, serves, san, "
			         "sni, key, subject, fingerprint, or all)",
			         (int)(len > 64 ? 64 : len), q);
			return STORE_EBADTYPE;
		}
		q += len;
		if (*q == ',')
			q++;
	}
	if (mask == 0) {
		snprintf(msg, msgcap,
		         "edges: empty list (resolves, cname, serves, san, sni, key, subject, "
		         "fingerprint, or all)");
		return STORE_EBADTYPE;
	}
	p->edges = mask;
	return 0;
}

/* The numeric parameters.  A noise limit of 0 switches it off (as
 * docs/http-api.md says): it becomes the largest limit, UINT32_MAX (a
 * server still caps it at --pivot-max-fanout). */
#define PARAM_FIELD(f) offsetof(struct pivot_params, f), sizeof(((struct pivot_params *)0)->f)
static const struct num_param {
	const char *name;
	uint64_t lo, hi;
	size_t off, size;
	bool zero_off; /* 0 means no limit */
} num_params[] = {
    {"depth", 0, PIVOT_MAX_DEPTH, PARAM_FIELD(depth), false},
    {"max_ip_domains", 0, UINT32_MAX, PARAM_FIELD(max_ip_domains), true},
    {"max_cert_ips", 0, UINT32_MAX, PARAM_FIELD(max_cert_ips), true},
    {"max_domain_ips", 0, UINT32_MAX, PARAM_FIELD(max_domain_ips), true},
    {"max_san", 0, UINT32_MAX, PARAM_FIELD(max_san), true},
    {"max_key_certs", 0, UINT32_MAX, PARAM_FIELD(max_key_certs), true},
    {"max_subject_certs", 0, UINT32_MAX, PARAM_FIELD(max_subject_certs), true},
    {"max_fingerprint_ips", 0, UINT32_MAX, PARAM_FIELD(max_fingerprint_ips), true},
    {"max_nodes", 1, PIVOT_HARD_MAX_NODES, PARAM_FIELD(max_nodes), false},
    {"max_ms", 1, 600000, PARAM_FIELD(max_ms), false},
    {"max_cotenant_days", 0, STORE_AFFINITY_MAX_DAYS, PARAM_FIELD(max_cotenant_days), false},
};

/* A numeric parameter into its field: 1 when name is none of them. */
static int set_num_param(struct pivot_params *p, const char *name, const char *value, char *msg,
                         size_t msgcap)
{
	for (size_t i = 0; i < sizeof(num_params) / sizeof(num_params[0]); i++) {
		const struct num_param *n = &num_params[i];
		if (!name_is(name, n->name))
			continue;
		uint64_t v;
		int err = set_number(n->name, value, n->lo, n->hi, &v, msg, msgcap);
		if (err != 0)
			return err;
		if (v == 0 && n->zero_off)
			v = UINT32_MAX;
		unsigned u = (unsigned)v;
		memcpy((char *)p + n->off, n->size == sizeof(u) ? (void *)&u : (void *)&v, n->size);
		return 0;
	}
	return 1;
}

static int set_seed(struct pivot_params *p, const char *value, char *msg, size_t msgcap)
{
	size_t len = strlen(value);
	if (len == 0) {
		snprintf(msg, msgcap, "seed: empty");
		return STORE_EBADNAME;
	}
	if (len >= sizeof(p->seed)) {
		snprintf(msg, msgcap, "seed: longer than %zu characters", sizeof(p->seed) - 1);
		return STORE_ETOOLONG;
	}
	memcpy(p->seed, value, len + 1);
	return 0;
}

static int set_type(struct pivot_params *p, const char *value, char *msg, size_t msgcap)
{
	if (strcmp(value, "domain") == 0 || strcmp(value, "name") == 0)
		p->seed_type = PIVOT_NODE_DOMAIN;
	else if (strcmp(value, "ip") == 0)
		p->seed_type = PIVOT_NODE_IP;
	else if (strcmp(value, "cert") == 0)
		p->seed_type = PIVOT_NODE_CERT;
	else if (pivot_node_type_parse_more(value, &p->seed_type))
		;
	else if (strcmp(value, "auto") == 0)
		p->seed_type = PIVOT_NODE_AUTO;
	else {
		snprintf(msg, msgcap,
		         "type: '%.64s' is not domain, ip, cert, key, subject, jarm, ja3s or "
		         "auto",
		         value);
		return STORE_EBADTYPE;
	}
	return 0;
}

/* since or until; relative times count from --now when given. */
static int set_window(struct pivot_params *p, bool since, const char *value, char *msg,
                      size_t msgcap)
{
	int64_t now = p->now != 0 ? p->now : (int64_t)time(NULL);
	int64_t t;
	char why[200];
	if (util_time_parse(value, now, &t, why, sizeof(why)) != 0) {
		snprintf(msg, msgcap, "%s: %s", since ? "since" : "until", why);
		return STORE_EBADTIME;
	}
	if (since)
		p->since = t;
	else
		p->until = t;
	return 0;
}

static int set_now(struct pivot_params *p, const char *value, char *msg, size_t msgcap)
{
	int64_t t;
	char why[200];
	if (util_time_parse(value, (int64_t)time(NULL), &t, why, sizeof(why)) != 0) {
		snprintf(msg, msgcap, "now: %s", why);
		return STORE_EBADTIME;
	}
	if (t <= 0) {
		snprintf(msg, msgcap, "now: '%.64s' is not after 1970", value);
		return STORE_EBADTIME;
	}
	p->now = t;
	return 0;
}

/* no_affinity: a flag on the CLI, a parameter over HTTP (?no_affinity or
 * no_affinity=1 switch it off, no_affinity=0 leaves it on). */
static int set_no_affinity(struct pivot_params *p, const char *value, char *msg, size_t msgcap)
{
	if (*value == '\0' || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
		p->affinity = false;
	} else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) {
		p->affinity = true;
	} else {
		snprintf(msg, msgcap, "no_affinity: '%.64s' is not 1, true, 0 or false", value);
		return -EINVAL;
	}
	return 0;
}

int pivot_params_set(struct pivot_params *p, const char *name, const char *value, char *msg,
                     size_t msgcap)
{
	if (msgcap > 0)
		msg[0] = '\0';
	if (value == NULL)
		value = "";
	if (name_is(name, "seed"))
		return set_seed(p, value, msg, msgcap);
	if (name_is(name, "type"))
		return set_type(p, value, msg, msgcap);
	if (name_is(name, "since") || name_is(name, "until"))
		return set_window(p, name_is(name, "since"), value, msg, msgcap);
	if (name_is(name, "edges"))
		return set_edges(p, value, msg, msgcap);
	if (name_is(name, "now"))
		return set_now(p, value, msg, msgcap);
	if (name_is(name, "no_affinity"))
		return set_no_affinity(p, value, msg, msgcap);
	int err = set_num_param(p, name, value, msg, msgcap);
	if (err != 1)
		return err;
	snprintf(msg, msgcap, "unknown parameter '%.64s'", name);
	return 1;
}

/* The seed's syntax for its type, so that callers can refuse it before
 * opening a store. */
static int check_seed(const struct pivot_params *p, char *msg, size_t msgcap)
{
	const char *sd = p->seed;
	size_t len = strnlen(sd, sizeof(p->seed));
	uint8_t buf[32];
	size_t hlen;
	char norm[STORE_NAME_BUF];
	bool is_hash = store_hash_parse(sd, len, buf, &hlen) == 0;
	bool is_addr = store_addr_parse(sd, len, buf) == 0;
	bool is_name = store_name_norm(sd, len, norm, false) == 0;
	switch (p->seed_type) {
	case PIVOT_NODE_AUTO:
		if (is_hash || is_addr || is_name)
			return 0;
		snprintf(msg, msgcap,
		         "seed: '%.80s' is not a domain name, an IP address, or a certificate "
		         "SHA-1/SHA-256",
		         sd);
		return STORE_EBADNAME;
	case PIVOT_NODE_DOMAIN:
		if (is_name)
			return 0;
		snprintf(msg, msgcap, "seed: '%.80s' is not a valid domain name", sd);
		return STORE_EBADNAME;
	case PIVOT_NODE_IP:
		if (is_addr)
			return 0;
		snprintf(msg, msgcap, "seed: '%.80s' is not an IPv4 or IPv6 address", sd);
		return STORE_EBADADDR;
	default:
		return pivot_check_seed_more(p, msg, msgcap);
	case PIVOT_NODE_CERT:
		if (is_hash)
			return 0;
		snprintf(msg, msgcap,
		         "seed: '%.80s' is not a certificate SHA-1 or SHA-256 (40 or 64 hex "
		         "digits)",
		         sd);
		return STORE_EBADHASH;
	}
	return 0;
}

static int check_limits(const struct pivot_params *p, char *msg, size_t msgcap)
{
	if (p->depth > PIVOT_MAX_DEPTH) {
		snprintf(msg, msgcap, "depth: %u is out of range (0 to %d)", p->depth,
		         PIVOT_MAX_DEPTH);
		return STORE_ELIMIT;
	}
	if (p->max_nodes < 1 || p->max_nodes > PIVOT_HARD_MAX_NODES) {
		snprintf(msg, msgcap, "max_nodes: %u is out of range (1 to %d)", p->max_nodes,
		         PIVOT_HARD_MAX_NODES);
		return STORE_ELIMIT;
	}
	if (p->max_ms < 1) {
		snprintf(msg, msgcap, "max_ms: must be at least 1");
		return STORE_ELIMIT;
	}
	return 0;
}

int pivot_params_check(const struct pivot_params *p, char *msg, size_t msgcap)
{
	if (p->seed[0] == '\0') {
		snprintf(msg, msgcap,
		         "seed: missing (a domain, an IP address, or a SHA-1/SHA-256)");
		return STORE_EBADNAME;
	}
	int err = check_seed(p, msg, msgcap);
	if (err == 0)
		err = check_limits(p, msg, msgcap);
	if (err != 0)
		return err;
	if ((p->edges & PIVOT_EDGE_ALL) == 0) {
		snprintf(msg, msgcap, "edges: no edge type selected");
		return STORE_EBADTYPE;
	}
	if (p->since > p->until) {
		char a[32], b[32];
		util_time_format(p->since, a, sizeof(a));
		util_time_format(p->until, b, sizeof(b));
		snprintf(msg, msgcap, "since (%s) is after until (%s): the window is empty", a, b);
		return STORE_EBADTIME;
	}
	return 0;
}

void pivot_uuid5(const uint8_t ns[16], const char *name, size_t len, char *out)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	          EVP_DigestUpdate(c, ns, 16) == 1 && EVP_DigestUpdate(c, name, len) == 1 &&
	          EVP_DigestFinal_ex(c, h, &hl) == 1 && hl == 20;
	EVP_MD_CTX_free(c);
	if (!ok)
		memset(h, 0, sizeof(h)); /* only on allocation failure; still a valid form */
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[h[i] >> 4];
		out[o++] = hx[h[i] & 15];
	}
	out[o] = '\0';
}
