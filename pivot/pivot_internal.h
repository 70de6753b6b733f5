/*
 * pivot_internal.h - the result structure and the engine's working state,
 * shared by the files of the pivot module only.
 */
#ifndef INFRAPIVOT_PIVOT_INTERNAL_H
#define INFRAPIVOT_PIVOT_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "pivot/pivot.h"
#include "util/buf.h"

/* A node with what the engine needs to expand it. */
struct pivot_xnode {
	struct pivot_node n;
	struct store_cert_ref ref; /* certificates */
	uint8_t ip[16];            /* IPs */
	unsigned parent_edge;      /* valid when n.depth > 0 */
	bool expanded;
	/* with a prefetch: degree and noise not read yet (pivot_measure_new),
	 * and the edge the node was found through */
	bool unmeasured;
	unsigned fresh_edge;
	/* with a window: counted again there with its level (recount_new),
	 * and whether it is still over its limit */
	bool recounted, win_over;
	/* temporal affinity (affinity.c) */
	int64_t arrival;       /* IPs: when the path arrived (0: unknown, no rule) */
	unsigned arrival_edge; /* the edge that set it; PIVOT_ARRIVAL_SEED for the seed */
	unsigned cot_from;     /* co-tenants: the IP they were judged on */
	int64_t cot_since;     /* ... and the first sighting of the edge from it */
};

#define PIVOT_ARRIVAL_SEED UINT32_MAX
/* The reason code of a node pruned by temporal affinity. */
#define PIVOT_PRUNED_COTENANT "co_tenant"

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

/* A neighbour found while expanding one node. */
struct pivot_cand {
	uint8_t etype;  /* enum pivot_edge_type */
	uint8_t ntype;  /* enum pivot_node_type of the neighbour */
	bool nb_is_src; /* the neighbour is the edge's source */
	uint16_t port;
	int64_t tf, tl;
	uint64_t count;
	struct store_cert_ref ref;
	uint8_t ip[16];
	char value[STORE_NAME_BUF + 8];
};

/* One pivot in progress: the read transaction, budgets, the candidates
 * of the node being expanded, and the state of the walk in progress. */
struct pivot_run {
	store_rtxn_t *rt;
	const struct pivot_after *after; /* NULL: none */
	struct pivot_result *r;
	const struct pivot_params *p;
	struct store_fence fence;
	bool windowed;
	struct timespec t0;
	bool timed_out;
	unsigned ticks;
	struct pivot_cand *c;
	size_t nc, capc, maxc;
	bool cand_overflow;
	/* the walk in progress */
	const char *match_name; /* SNI walk from the domain side */
	struct pivot_cand *acc;
	bool acc_found;
	uint64_t scanned, scan_cap;
	uint64_t counted, count_limit;
	bool shared_target;
	bool is_seed;
	bool is_key_walk;          /* certificates of a key (else of a subject) */
	bool from_fp;              /* IPs of a fingerprint (else fingerprints of an IP) */
	struct pivot_pf *pf;       /* the level's reads (prefetch.c); NULL: none */
	struct pivot_certs *certs; /* certificates read (certs.c); NULL: none */
	size_t pf_level;           /* the first node of the level they are for */
};

/* ---- prefetch.c ---- */
/* Reads of a BFS level in one batched call per kind (a ClickHouse store:
 * one query each instead of one per node).  pivot_pf_new makes x->pf;
 * when the walk reaches a level, pivot_pf_begin keeps what the last
 * level's reads hold for it, pivot_measure_new(x, first,
 * PIVOT_WITH_EDGES) notes the level's reads with its counts, and
 * pivot_pf_level reads for the level whose first node is first (taking
 * the noted answers); pivot_pf_free frees. */
int pivot_pf_new(struct pivot_run *x);
void pivot_pf_begin(struct pivot_run *x);
int pivot_pf_level(struct pivot_run *x, size_t first);
/* The level's edge reads that do not wait for its noise (resolutions,
 * certificates by name, sightings), taken before its noise is judged
 * (pivot_measure_new), so a window's recount can count their rows;
 * pivot_pf_level reads the rest. */
int pivot_pf_edges(struct pivot_run *x, size_t first);
/* A domain's or an IP's resolutions (to rr) or a certificate's sightings
 * (to sight), from its level's edge reads when they hold them all (a
 * window's recount counts them); STORE_ENOTFOUND when they do not. */
int pivot_pf_rows(struct pivot_run *x, const struct pivot_xnode *xn, store_rr_cb rr,
                  store_sight_cb sight, void *ctx);
/* The read-ahead's first pass of the level's reads (store_ahead_record on):
 * noted, not sent; pivot_pf_level takes their answers. */
void pivot_pf_note(struct pivot_run *x, size_t first);
void pivot_pf_free(struct pivot_pf *pf);
/* The walk's reads: from the level's prefetch when it holds the key, else
 * the store's single-node reader (x->fence; ctx is x). */
int pivot_rr_by_name(struct pivot_run *x, const char *name, store_rr_cb cb);
int pivot_rr_by_target(struct pivot_run *x, const char *name, store_rr_cb cb);
int pivot_rr_by_addr(struct pivot_run *x, const uint8_t ip[16], store_rr_cb cb);
int pivot_sight_by_addr(struct pivot_run *x, const uint8_t ip[16], store_sight_cb cb);
int pivot_sight_by_cert(struct pivot_run *x, const struct store_cert_ref *ref, store_sight_cb cb);
int pivot_certs_by_name(struct pivot_run *x, const char *name, store_namecert_cb cb);
/* For the SNI dating of a domain's certificate (walk.c): its sightings and
 * its address count, from the level's batched reads when they hold it. */
int pivot_sni_sight(struct pivot_run *x, const struct store_cert_ref *ref, store_sight_cb cb);
int pivot_sni_cert_ips(struct pivot_run *x, const struct store_cert_ref *ref, uint64_t *n);
/* The address count of a certificate the level's SNI dating read (the next
 * level's measure takes it from there); false when it did not. */
bool pivot_pf_cert_ips(const struct pivot_run *x, const struct store_cert_ref *ref, uint64_t *n);

/* ---- certs.c ---- */
/* Certificates' metadata and keys kept for the run (with a prefetch:
 * pivot_pf_new makes x->certs; pivot_certs_free frees).  pivot_certs_fetch
 * reads, in one batched call, the metadata (keys) of those of refs (n,
 * reordered) not known yet; a batch over a bound is no error (the walk
 * reads them alone).  pivot_cert_get and pivot_cert_key answer as
 * store_cert_get and store_cert_key, from what is kept when it can (ci's
 * strings then live until the next fetch; no DER, no SAN addresses).
 * pivot_certs_note makes the read pivot_certs_fetch would make, keeping
 * nothing: the read-ahead's first pass, which answers every read empty. */
int pivot_certs_new(struct pivot_run *x);
void pivot_certs_free(struct pivot_certs *pc);
int pivot_certs_fetch(struct pivot_run *x, struct store_cert_ref *refs, size_t n, bool keys);
void pivot_certs_note(struct pivot_run *x, struct store_cert_ref *refs, size_t n, bool keys);
int pivot_cert_get(struct pivot_run *x, const struct store_cert_ref *ref,
                   struct store_cert_info *ci);
int pivot_cert_key(struct pivot_run *x, const struct store_cert_ref *ref, uint8_t key[32]);

/* ---- walk.c ---- */
/* Has the max_ms budget run out?  (sticky: sets x->timed_out) */
bool pivot_over_time(struct pivot_run *x);
/* Once per record a walk visits; true when the walk should stop. */
bool pivot_tick(struct pivot_run *x);
/* Neighbours of a node into x->c (0 or a store error). */
int pivot_walk_domain(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_ip(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_cert(struct pivot_run *x, const struct pivot_xnode *xn);
/* Sort the candidates and fold duplicates. */
void pivot_cand_sort_merge(struct pivot_run *x);
/* Hex of a certificate reference into out[65]. */
void pivot_cert_value(const struct store_cert_ref *ref, char *out);

/* Push a candidate seen from tf to tl count times (value and the node's
 * key are the caller's); NULL when out of room: return
 * pivot_cand_fail(x) from the walk callback then. */
struct pivot_cand *pivot_cand_push(struct pivot_run *x, uint8_t etype, uint8_t ntype,
                                   bool nb_is_src, int64_t tf, int64_t tl, uint64_t count);
int pivot_cand_fail(const struct pivot_run *x);

/* ---- expand_keys.c: key, subject, jarm and ja3s nodes ---- */
/* "key", "subject", "jarm", "ja3s" as a seed type. */
bool pivot_node_type_parse_more(const char *v, enum pivot_node_type *t);
/* The seed's syntax for those types (0 or an error with msg set). */
int pivot_check_seed_more(const struct pivot_params *p, char *msg, size_t msgcap);
/* JARM or JA3S when an untyped seed is one, else AUTO. */
enum pivot_node_type pivot_seed_type_more(const char *s);
/* Add the seed node of those types. */
int pivot_seed_more(struct pivot_run *x, enum pivot_node_type t, char *msg, size_t msgcap);
/* Degree of those nodes (certificates of a key or subject, IPs of a
 * fingerprint). */
int pivot_measure_more(struct pivot_run *x, struct pivot_xnode *xn);
/* The detail of their pruning reasons; false for another reason. */
bool pivot_pruned_detail_more(const struct pivot_result *r, const struct pivot_node *n, char *out,
                              size_t cap);
/* The walks: a certificate's key and subject, an IP's fingerprints, and
 * the certificates of a key or subject, the IPs of a fingerprint. */
int pivot_walk_cert_keys(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_ip_fps(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_key(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_subject(struct pivot_run *x, const struct pivot_xnode *xn);
int pivot_walk_fp(struct pivot_run *x, const struct pivot_xnode *xn);

/* ---- graph.c ---- */
/* The id of the node (type, value), or -1. */
long pivot_node_find(const struct pivot_result *r, unsigned type, const char *value);
/* Add a node at depth: measures its degree, reads certificate metadata,
 * applies the noise rules (not to the seed, node 0). */
int pivot_node_add(struct pivot_run *x, unsigned type, const char *value,
                   const struct store_cert_ref *ref, const uint8_t *ip, unsigned depth,
                   unsigned *id);
/* With a prefetch (x->pf), pivot_node_add leaves the prevalence and the
 * certificate metadata of a new domain, IP or certificate unread: this
 * reads them for the nodes from `from` on, one batched call per kind
 * (store_prev_*_n), then judges their noise in node order (never the
 * seed's).  The walk calls it when a level starts (its nodes are all
 * known then) and once at the end.  edges: the level's edge reads go out
 * with the counts (pivot_pf_note), for every node of the level, as its
 * noise is not known yet (a noise node's rows stop at a cap and are not
 * used), and pivot_pf_level(x, from) must follow to take them. */
enum pivot_measure_with {
	PIVOT_WITH_EDGES, /* a level's: its edge reads */
	PIVOT_WITH_AFTER, /* the last: x->after's reads, kept for it */
};
int pivot_measure_new(struct pivot_run *x, size_t from, enum pivot_measure_with with);
/* Add an edge from candidate c unless known; *id is the edge either way. */
int pivot_edge_add(struct pivot_result *r, const struct pivot_cand *c, unsigned src, unsigned dst,
                   unsigned *id, bool *added);

/* ---- affinity.c ---- */
/* The seed IP's arrival: the newest first sighting among the candidates
 * just gathered for it (when node i is the seed and affinity is on). */
void pivot_affinity_anchor(struct pivot_run *x, size_t i);
/* After node i was linked to node nb through edge eid (candidate c; fresh:
 * nb was just added): judge a co-tenant, lift the mark when a path of the
 * actor's own reaches nb, and date the arrival at an IP. */
void pivot_affinity_link(struct pivot_run *x, size_t i, size_t nb, bool fresh,
                         const struct pivot_cand *c, unsigned eid);
/* pruned_detail of a co-tenant: "co-tenant: on IP since DATE, N days ..." */
void pivot_affinity_detail(const struct pivot_result *r, const struct pivot_node *n, char *out,
                           size_t cap);
/* DOT attributes of a pruned node (co-tenants stand out from noise). */
const char *pivot_dot_pruned_style(const struct pivot_node *n);

/* "5000 names on this IP > max_ip_domains 100" for a pruned node. */
void pivot_pruned_detail(const struct pivot_result *r, const struct pivot_node *n, char *out,
                         size_t cap);

/* The date of t ("2026-10-31"), or `unknown` when t is 0, into out[cap]. */
void pivot_day(int64_t t, const char *unknown, char *out, size_t cap);

/* The text renderers' output limit (util_buf). */
#define PIVOT_RENDER_MAX (((size_t)64 << 20) - 1) /* 64 MiB with the NUL */

/* A node's estate as JSON (new reference; NULL when unknown) and as a
 * line of a DOT label (render_estate.c). */
json_t *pivot_estate_json(const struct pivot_node *n);
void pivot_estate_dot(struct util_buf *b, const struct pivot_node *n);
/* "estate: 6 hosts, 1 orgs, beacon 0.83 every 900s" into out[cap]; the
 * length written (0 when nothing is known). */
size_t pivot_estate_text(const struct pivot_node *n, char *out, size_t cap);

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t pivot_utf8_len(const unsigned char *s, size_t n);
/* Copy in into out[cap] with every invalid UTF-8 byte replaced by U+FFFD
 * (jansson refuses strings that are not UTF-8). */
void pivot_utf8_clean(const char *in, char *out, size_t cap);

/* The STIX namespace for SCO ids. */
extern const uint8_t pivot_stix_ns[16];

#endif
