/*
 * pivot_run.h - the pivot tests' way to run the engine: over the store
 * `db` (the test opens it), with the defaults, the clock pinned to the
 * scenarios' now and name=value pairs on top.
 */
#ifndef INFRAPIVOT_TEST_PIVOT_RUN_H
#define INFRAPIVOT_TEST_PIVOT_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pivot/pivot.h"

static store_t *db;

/* Run with name=value pairs (NULL-terminated) over the defaults. */
static struct pivot_result *run(const char *seed, ...)
{
	struct pivot_params p;
	char msg[256];
	pivot_params_init(&p);
	pivot_params_set(&p, "now", "2026-11-01", msg, sizeof(msg));
	pivot_params_set(&p, "seed", seed, msg, sizeof(msg));
	va_list ap;
	va_start(ap, seed);
	const char *k;
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (pivot_params_set(&p, k, v, msg, sizeof(msg)) != 0)
			fprintf(stderr, "param %s=%s: %s\n", k, v, msg);
	}
	va_end(ap);
	struct pivot_result *r = NULL;
	int err = pivot_run(db, &p, &r, msg, sizeof(msg));
	if (err != 0)
		fprintf(stderr, "pivot_run(%s): %s\n", seed, msg);
	return r;
}

/* The node of type t and value in r, or NULL. */
static inline const struct pivot_node *test_find_node(const struct pivot_result *r,
                                                      enum pivot_node_type t, const char *value)
{
	for (size_t i = 0; i < pivot_node_count(r); i++) {
		const struct pivot_node *n = pivot_node_at(r, i);
		if (n->type == t && strcmp(n->value, value) == 0)
			return n;
	}
	return NULL;
}

#endif
