/*
 * pivot_internal.h - the result structure, shared by the engine and the
 * renderers of the pivot module only.
 */
#ifndef INFRAPIVOT_PIVOT_INTERNAL_H
#define INFRAPIVOT_PIVOT_INTERNAL_H

#include <stddef.h>

#include "pivot.h"

/* A node with what the engine needs to expand it. */
struct pivot_xnode {
	struct pivot_node n;
	struct store_cert_ref ref; /* certificates */
	uint8_t ip[16];            /* IPs */
	unsigned parent_edge;      /* valid when n.depth > 0 */
	bool expanded;
};

struct pivot_result {
	struct pivot_params params; /* now resolved */
	struct pivot_xnode *nodes;
	size_t nnodes, capnodes;
	struct pivot_edge *edges;
	size_t nedges, capedges;
	/* open-addressing indexes: slot holds id + 1, 0 is empty */
	uint32_t *node_ix, *edge_ix;
	size_t node_ix_cap, edge_ix_cap;
	unsigned *paths; /* all node paths, one allocation */
	bool truncated;
	const char *budget; /* "max_nodes" or "max_ms" */
	unsigned expanded, pruned, depth_reached;
};

/* "5000 names on this IP > max_ip_domains 100" for a pruned node. */
void pivot_pruned_detail(const struct pivot_result *r, const struct pivot_node *n, char *out,
			 size_t cap);

/* A bounded text buffer (curl dynbuf): an append past max fails and the
 * failure sticks; pivot_buf_finish then returns NULL. */
struct pivot_buf {
	char *p;
	size_t len, cap, max;
	bool failed;
};
int pivot_buf_init(struct pivot_buf *b, size_t max);
void pivot_buf_printf(struct pivot_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pivot_buf_add(struct pivot_buf *b, const char *s, size_t n);
/* The text (caller frees), or NULL after a failure (buffer released). */
char *pivot_buf_finish(struct pivot_buf *b);

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t pivot_utf8_len(const unsigned char *s, size_t n);
/* Copy in into out[cap] with every invalid UTF-8 byte replaced by U+FFFD
 * (jansson refuses strings that are not UTF-8). */
void pivot_utf8_clean(const char *in, char *out, size_t cap);

/* The STIX namespace for SCO ids. */
extern const uint8_t pivot_stix_ns[16];

#endif
