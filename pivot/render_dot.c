/*
 * render_dot.c - the pivot result as a Graphviz digraph.  Every string
 * from the data is escaped: quotes and backslashes, entity-looking
 * ampersands, control bytes, and bytes that are not UTF-8 (Graphviz warns
 * on those), so `dot -Tsvg` renders it without a warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/buf.h"
#include "util/time.h"

/* Append s escaped for a DOT quoted string, at most maxch characters. */
static void dot_str(struct util_buf *b, const char *s, size_t maxch)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, chars = 0;
	while (i < n) {
		if (chars == maxch) {
			util_buf_add(b, "...", 3);
			return;
		}
		unsigned char c = p[i];
		size_t l = pivot_utf8_len(p + i, n - i);
		if (l == 0) {
			util_buf_add(b, "?", 1);
			i++;
		} else if (l > 1) {
			util_buf_add(b, s + i, l);
			i += l;
		} else if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			util_buf_add(b, e, 2);
			i++;
		} else if (c == '&') {
			util_buf_add(b, "&amp;", 5);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			util_buf_add(b, " ", 1);
			i++;
		} else {
			util_buf_add(b, s + i, 1);
			i++;
		}
		chars++;
	}
}

static const char *shape(enum pivot_node_type t)
{
	switch (t) {
	case PIVOT_NODE_DOMAIN:
		return "ellipse";
	case PIVOT_NODE_IP:
		return "box";
	case PIVOT_NODE_CERT:
		return "note";
	case PIVOT_NODE_KEY:
		return "hexagon";
	case PIVOT_NODE_SUBJECT:
		return "component";
	case PIVOT_NODE_JARM:
	case PIVOT_NODE_JA3S:
		return "diamond";
	default:
		return "plaintext";
	}
}

/* Append s[0..n) to out (o bytes used, cap in all), without the
 * separators ("," "/" " ") at either end; ", " between parts. */
static size_t add_trimmed(char *out, size_t o, size_t cap, const char *s, size_t n)
{
	while (n > 0 && (*s == ',' || *s == '/' || *s == ' ')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ',' || s[n - 1] == '/' || s[n - 1] == ' '))
		n--;
	if (n == 0 || o >= cap)
		return o;
	int w = snprintf(out + o, cap - o, "%s%.*s", o > 0 ? ", " : "", (int)n, s);
	return w < 0 ? o : o + (size_t)w;
}

/* A certificate's subject for its label: the CN first and whole (up to
 * 100 characters), then the rest of the subject cut at 60, so a long
 * "C=.., O=.., CN=x" no longer loses the one part people read. */
static void dot_subject(struct util_buf *b, const char *subj)
{
	const char *cn;
	size_t cnl, n = strlen(subj);
	if (!store_subject_cn(subj, n, &cn, &cnl)) {
		dot_str(b, subj, 60);
		return;
	}
	char first[STORE_NAME_BUF + 8], rest[2 * 512];
	snprintf(first, sizeof(first), "CN=%.*s", (int)cnl, cn);
	dot_str(b, first, 100);
	size_t pre = (size_t)(cn - 3 - subj), post = (size_t)(cn + cnl - subj);
	size_t o = add_trimmed(rest, 0, sizeof(rest), subj, pre);
	o = add_trimmed(rest, o, sizeof(rest), subj + post, n - post);
	rest[o < sizeof(rest) ? o : sizeof(rest) - 1] = '\0';
	if (rest[0] != '\0') {
		util_buf_add(b, ", ", 2);
		dot_str(b, rest, 60);
	}
}

static void dot_node(struct util_buf *b, const struct pivot_result *r, size_t i)
{
	const struct pivot_node *n = &r->nodes[i].n;
	char l[16];
	util_buf_printf(b, "  n%u [shape=%s, label=\"%s\\n", n->id, shape(n->type),
	                pivot_node_type_name(n->type));
	/* a hash is long: 20 characters tell certificates apart */
	dot_str(b, n->value, n->type == PIVOT_NODE_CERT || n->type == PIVOT_NODE_KEY ? 20 : 80);
	if (n->type == PIVOT_NODE_CERT && n->cert_has_meta && n->subject[0]) {
		util_buf_add(b, "\\n", 2);
		dot_subject(b, n->subject);
	}
	pivot_estate_dot(b, n);
	pivot_day(n->last_seen, "unknown", l, sizeof(l));
	util_buf_printf(b, "\\nlast seen %s", l);
	if (n->pruned != NULL) {
		char det[160];
		pivot_pruned_detail(r, n, det, sizeof(det));
		util_buf_printf(b, "\\npruned: %s\\n", n->pruned);
		dot_str(b, det, 160);
		util_buf_printf(b, "\"%s", pivot_dot_pruned_style(n));
	} else if (i == 0) {
		util_buf_printf(b, "\", style=\"filled,bold\", fillcolor=gold, penwidth=2");
	} else {
		util_buf_printf(b, "\"");
	}
	util_buf_printf(b, ", tooltip=\"");
	dot_str(b, n->value, 300);
	util_buf_printf(b, "\"];\n");
}

static void dot_edge(struct util_buf *b, const struct pivot_result *r, const struct pivot_edge *e)
{
	char l[16];
	pivot_day(e->last_seen, "unknown", l, sizeof(l));
	util_buf_printf(b, "  n%u -> n%u [label=\"%s", e->src, e->dst,
	                pivot_edge_type_name(e->type));
	if (e->type == PIVOT_EDGE_SERVES || e->type == PIVOT_EDGE_FINGERPRINT)
		util_buf_printf(b, " :%u", e->port);
	util_buf_printf(b, "\\n%s\"", l);
	if (r->nodes[e->dst].n.pruned != NULL || r->nodes[e->src].n.pruned != NULL)
		util_buf_printf(b, ", color=grey60, fontcolor=grey40, style=dashed");
	util_buf_printf(b, "];\n");
}

/* The legend: one node of each kind in its shape (domain, ip and cert
 * always; key, subject, jarm and ja3s when the graph has one), the seed's
 * and a pruned node's style, and a pruned edge, in a cluster of their own. */
static void dot_legend(struct util_buf *b, const struct pivot_result *r)
{
	bool present[PIVOT_NODE_JA3S + 1] = {false};
	for (size_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i].n.type <= PIVOT_NODE_JA3S)
			present[r->nodes[i].n.type] = true;
	util_buf_printf(b, "  subgraph cluster_legend {\n"
	                   "    label=\"legend\"; fontsize=10; color=grey70; style=rounded;\n"
	                   "    node [fontsize=9]; edge [fontsize=9];\n");
	for (unsigned t = PIVOT_NODE_DOMAIN; t <= PIVOT_NODE_JA3S; t++)
		if (t <= PIVOT_NODE_CERT || present[t])
			util_buf_printf(b, "    legend_%s [shape=%s, label=\"%s\"];\n",
			                pivot_node_type_name(t), shape(t), pivot_node_type_name(t));
	util_buf_printf(b, "    legend_seed [shape=box, label=\"seed\", style=\"filled,bold\", "
	                   "fillcolor=gold, penwidth=2];\n"
	                   "    legend_pruned [shape=box, label=\"pruned: noise,\\nnot expanded\", "
	                   "style=dashed, color=grey60, fontcolor=grey40];\n"
	                   "    legend_seed -> legend_pruned [label=\"edge to a\\npruned node\", "
	                   "color=grey60, fontcolor=grey40, style=dashed];\n"
	                   "  }\n");
}

char *pivot_to_dot(const struct pivot_result *r)
{
	struct util_buf b;
	util_buf_init(&b, PIVOT_RENDER_MAX);
	const struct pivot_node *seed = &r->nodes[0].n;
	util_buf_printf(&b, "digraph infrapivot {\n"
	                    "  graph [rankdir=LR, label=\"");
	char hdr[400];
	snprintf(hdr, sizeof(hdr), "pivot from %s %s, depth %u: %zu nodes, %zu edges%s%s",
	         pivot_node_type_name(seed->type), seed->value, r->params.depth, r->nnodes,
	         r->nedges, r->truncated ? ", truncated by " : "", r->truncated ? r->budget : "");
	dot_str(&b, hdr, 400);
	util_buf_printf(&b, "\", labelloc=t];\n"
	                    "  node [style=solid];\n");
	for (size_t i = 0; i < r->nnodes; i++)
		dot_node(&b, r, i);
	for (size_t i = 0; i < r->nedges; i++)
		dot_edge(&b, r, &r->edges[i]);
	dot_legend(&b, r);
	util_buf_printf(&b, "}\n");
	return util_buf_finish(&b, NULL);
}
