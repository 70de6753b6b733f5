/*
 * fuzz_pivot_params.c - libFuzzer target for what the HTTP API hands the
 * pivot engine from the network: parameter names and values
 * (pivot_params_set, pivot_params_check), and certificate strings from
 * sensors through every renderer (escaping, UTF-8 cleaning, bounded buffers)
 * and --explain.
 *
 * Input: NUL-separated name, value, name, value, ...; the last value is
 * also used as a certificate subject in a one-node result.
 */
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	struct pivot_params p;
	pivot_params_init(&p);
	char msg[256];
	const char *last = "";
	size_t i = 0;
	while (i < size) {
		const char *name = buf + i;
		i += strlen(name) + 1;
		const char *value = i <= size ? buf + i : "";
		i += strlen(value) + 1;
		pivot_params_set(&p, name, value, msg, sizeof(msg));
		last = value;
	}
	pivot_params_check(&p, msg, sizeof(msg));

	/* a one-node result whose certificate strings come from the input */
	struct pivot_result r;
	struct pivot_xnode n;
	memset(&r, 0, sizeof(r));
	memset(&n, 0, sizeof(n));
	r.params = p;
	r.nodes = &n;
	r.nnodes = 1;
	n.n.type = PIVOT_NODE_CERT;
	n.n.has_sha1 = true;
	n.n.cert_has_meta = true;
	snprintf(n.n.value, sizeof(n.n.value), "%.40s", last);
	snprintf(n.n.subject, sizeof(n.n.subject), "%s", last);
	snprintf(n.n.issuer, sizeof(n.n.issuer), "%s", buf);
	snprintf(n.n.serial, sizeof(n.n.serial), "%s", last);
	n.n.pruned = size % 2 ? "multi_tenant_cert" : NULL;
	if (size % 3 == 0) {
		/* a co-tenant judged on itself, with times from the input's size */
		n.n.pruned = PIVOT_PRUNED_COTENANT;
		n.arrival = (int64_t)size * 86400 * 97;
		n.cot_since = (int64_t)size * 86400 - 1;
	}
	json_decref(pivot_to_json(&r));
	free(pivot_explain(&r, last));
	json_decref(pivot_to_stix(&r));
	free(pivot_to_dot(&r));
	free(pivot_to_table(&r));
	free(buf);
	return 0;
}
