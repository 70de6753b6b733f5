/*
 * noise.c - the graph's edge names and the one noise rule that the pivot
 * engine and the standing pivots both apply.
 */
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static const struct {
	const char *name;
	enum store_edge edge;
} edge_names[] = {
    {"resolves", STORE_EDGE_RESOLVES}, {"cname", STORE_EDGE_CNAME},
    {"serves", STORE_EDGE_SERVES},     {"san", STORE_EDGE_SAN},
    {"sni", STORE_EDGE_SNI},           {"key", STORE_EDGE_KEY},
    {"subject", STORE_EDGE_SUBJECT},   {"fingerprint", STORE_EDGE_FINGERPRINT},
};
#define NEDGES (sizeof(edge_names) / sizeof(edge_names[0]))

const char *store_edge_name(unsigned edge)
{
	for (size_t i = 0; i < NEDGES; i++)
		if ((unsigned)edge_names[i].edge == edge)
			return edge_names[i].name;
	return "?";
}

unsigned store_edge_by_name(const char *s, size_t len)
{
	for (size_t i = 0; i < NEDGES; i++)
		if (strlen(edge_names[i].name) == len && memcmp(edge_names[i].name, s, len) == 0)
			return edge_names[i].edge;
	return 0;
}

static bool over(struct store_noise *out, enum store_noise_rule rule, uint64_t count,
                 uint64_t limit)
{
	if (count <= limit)
		return false;
	*out = (struct store_noise){.rule = rule, .count = count, .limit = limit};
	return true;
}

bool store_noise_judge(enum store_node_type type, uint64_t degree, uint64_t nsan,
                       const struct store_noise_limits *lim, struct store_noise *out)
{
	*out = (struct store_noise){.rule = STORE_NOISE_NONE};
	switch (type) {
	case STORE_NODE_IP:
		return over(out, STORE_NOISE_SHARED_HOSTING, degree, lim->max_ip_domains);
	case STORE_NODE_DOMAIN:
		return over(out, STORE_NOISE_BUSY_NAME, degree, lim->max_domain_ips);
	case STORE_NODE_CERT:
		return over(out, STORE_NOISE_BUSY_CERT, degree, lim->max_cert_ips) ||
		       over(out, STORE_NOISE_MULTI_TENANT, nsan, lim->max_san);
	case STORE_NODE_KEY:
		return over(out, STORE_NOISE_SHARED_KEY, degree, lim->max_key_certs);
	case STORE_NODE_SUBJECT:
		return over(out, STORE_NOISE_COMMON_SUBJECT, degree, lim->max_subject_certs);
	case STORE_NODE_JARM:
	case STORE_NODE_JA3S:
		return over(out, STORE_NOISE_COMMON_FP, degree, lim->max_fp_ips);
	default:
		return false;
	}
}

const char *store_noise_code(enum store_noise_rule rule)
{
	switch (rule) {
	case STORE_NOISE_SHARED_HOSTING:
		return "shared_hosting";
	case STORE_NOISE_BUSY_NAME:
		return "cdn_or_fast_flux_name";
	case STORE_NOISE_BUSY_CERT:
		return "cdn_or_default_cert";
	case STORE_NOISE_MULTI_TENANT:
		return "multi_tenant_cert";
	case STORE_NOISE_SHARED_KEY:
		return "shared_key";
	case STORE_NOISE_COMMON_SUBJECT:
		return "common_subject";
	case STORE_NOISE_COMMON_FP:
		return "common_fingerprint";
	default:
		return NULL;
	}
}

void store_noise_why(const struct store_noise *n, const char *value, char *out, size_t cap)
{
	/* "VALUE (TYPE): PREFIXCOUNT UNIT > LIMIT" */
	static const struct {
		const char *type, *prefix, *unit;
	} w[] = {
	    [STORE_NOISE_SHARED_HOSTING] = {"ip", "shared hosting, ", "names"},
	    [STORE_NOISE_BUSY_NAME] = {"domain", "on ", "IPs"},
	    [STORE_NOISE_BUSY_CERT] = {"cert", "on ", "IPs"},
	    [STORE_NOISE_MULTI_TENANT] = {"cert", "", "SAN names"},
	    [STORE_NOISE_SHARED_KEY] = {"key", "in ", "certificates"},
	    [STORE_NOISE_COMMON_SUBJECT] = {"subject", "of ", "certificates"},
	    [STORE_NOISE_COMMON_FP] = {"fingerprint", "on ", "IPs"},
	};
	if (n->rule <= STORE_NOISE_NONE || n->rule > STORE_NOISE_COMMON_FP) {
		snprintf(out, cap, "%s: not noise", value);
		return;
	}
	snprintf(out, cap, "%s (%s): %s%llu %s > %llu", value, w[n->rule].type, w[n->rule].prefix,
	         (unsigned long long)n->count, w[n->rule].unit, (unsigned long long)n->limit);
}
