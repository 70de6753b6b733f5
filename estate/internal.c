/*
 * internal.c - destinations inside the estate: private, unique-local,
 * loopback, link-local and configured networks, and names that only
 * resolve inside (.local, .internal, reverse zones).
 */
#include <string.h>

#include "estate/estate.h"

static const char *const builtin[] = {
    "10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16",  "127.0.0.0/8", "169.254.0.0/16",
    "100.64.0.0/10", "224.0.0.0/4",   "255.255.255.255", "0.0.0.0/8",   "fc00::/7",
    "fe80::/10",     "::1",           "ff00::/8",        "::",
};

static int net_add(struct estate_nets *nets, const char *s, size_t n)
{
	uint8_t a[16];
	unsigned plen;
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 0;
	if (store_prefix_parse(s, n, a, &plen) != 0)
		return STORE_EBADADDR;
	if (nets->n >= ESTATE_NETS_MAX)
		return STORE_ELIMIT;
	store_prefix_bounds(a, plen, nets->lo[nets->n], nets->hi[nets->n]);
	nets->n++;
	return 0;
}

int estate_nets_add(struct estate_nets *nets, const char *cidrs)
{
	const char *p = cidrs;
	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int err = net_add(nets, p, n);
		if (err != 0)
			return err;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static bool in_nets(const struct estate_nets *nets, const uint8_t ip[16])
{
	for (unsigned i = 0; i < nets->n; i++)
		if (memcmp(ip, nets->lo[i], 16) >= 0 && memcmp(ip, nets->hi[i], 16) <= 0)
			return true;
	return false;
}

bool estate_ip_internal(const struct estate_nets *nets, const uint8_t ip[16])
{
	static _Thread_local struct estate_nets fixed;
	static _Thread_local bool ready;
	if (!ready) {
		struct estate_nets f = {0};
		for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
			net_add(&f, builtin[i], strlen(builtin[i]));
		fixed = f;
		ready = true;
	}
	return in_nets(&fixed, ip) || (nets != NULL && in_nets(nets, ip));
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n == k - 1 ? memcmp(s, suffix + 1, n) == 0
	                  : n > k && memcmp(s + n - k, suffix, k) == 0;
}

bool estate_name_internal(const char *name)
{
	static const char *const zones[] = {
	    ".local",    ".lan",       ".internal", ".home.arpa", ".in-addr.arpa",
	    ".ip6.arpa", ".localhost", ".corp",     ".intranet",  ".localdomain"};
	size_t n = strlen(name);
	if (memchr(name, '.', n) == NULL)
		return true; /* a single label: a host on the local search list */
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (ends_with(name, n, zones[i]))
			return true;
	return false;
}
