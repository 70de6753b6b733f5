/*
 * pivot.h - the pivot engine: from one seed (domain, IP or certificate)
 * expand breadth-first over resolves/cname/serves/san/sni edges, with
 * noise control, budgets, provenance and freshness; render the graph as
 * JSON, Graphviz DOT, STIX 2.1 or a table.  Reads the store only.
 */
#ifndef INFRAPIVOT_PIVOT_H
#define INFRAPIVOT_PIVOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Node and edge kinds are the store's (store_node_type, store_edge in
 * store/store.h, shared with the standing pivots); these are their names
 * in the pivot engine, the same enums. */
#define pivot_node_type store_node_type
#define PIVOT_NODE_AUTO STORE_NODE_AUTO
#define PIVOT_NODE_DOMAIN STORE_NODE_DOMAIN
#define PIVOT_NODE_IP STORE_NODE_IP
#define PIVOT_NODE_CERT STORE_NODE_CERT
#define PIVOT_NODE_KEY STORE_NODE_KEY
#define PIVOT_NODE_SUBJECT STORE_NODE_SUBJECT
#define PIVOT_NODE_JARM STORE_NODE_JARM
#define PIVOT_NODE_JA3S STORE_NODE_JA3S

#define pivot_edge_type store_edge
#define PIVOT_EDGE_RESOLVES STORE_EDGE_RESOLVES
#define PIVOT_EDGE_CNAME STORE_EDGE_CNAME
#define PIVOT_EDGE_SERVES STORE_EDGE_SERVES
#define PIVOT_EDGE_SAN STORE_EDGE_SAN
#define PIVOT_EDGE_SNI STORE_EDGE_SNI
#define PIVOT_EDGE_KEY STORE_EDGE_KEY
#define PIVOT_EDGE_SUBJECT STORE_EDGE_SUBJECT
#define PIVOT_EDGE_FINGERPRINT STORE_EDGE_FINGERPRINT
#define PIVOT_EDGE_ALL STORE_EDGE_ALL
#define PIVOT_EDGE_DEFAULT STORE_EDGE_DEFAULT

#define PIVOT_MAX_DEPTH 6
#define PIVOT_HARD_MAX_NODES 10000

struct pivot_params {
	char seed[STORE_NAME_BUF + 8];
	enum pivot_node_type seed_type; /* AUTO: detected from the seed */
	unsigned depth;                 /* default 3, max 6 */
	int64_t since, until;           /* edge sightings must overlap; INT64_MIN/MAX */
	unsigned edges;                 /* mask of pivot_edge_type, default DEFAULT */
	uint64_t max_ip_domains;        /* noise limits (store_noise_judge), default 100 */
	uint64_t max_cert_ips;          /* default 50 */
	uint64_t max_domain_ips;        /* default 50 */
	uint64_t max_san;               /* default 80 */
	unsigned max_nodes;             /* default 500, hard cap 10000 */
	unsigned max_ms;                /* default 2000 */
	int64_t now;                    /* for age_days; 0 = time(NULL) */
	uint64_t max_key_certs;         /* certificates of a key, default 25 */
	uint64_t max_subject_certs;     /* certificates of a subject, default 10 */
	uint64_t max_fingerprint_ips;   /* IPs of a JARM/JA3S, default 25 */
	/* temporal affinity: names and certificates on an IP since more than
	 * max_cotenant_days before the path arrived are co-tenants (pruned) */
	bool affinity;              /* default on; "no_affinity" switches it off */
	uint64_t max_cotenant_days; /* default STORE_AFFINITY_MAX_COTENANT_DAYS */
};

void pivot_params_init(struct pivot_params *p);
/* Set one parameter by name, as the CLI (--max-ip-domains, dashes) and
 * HTTP (max_ip_domains, underscores) spell it: seed, type, depth, since,
 * until, edges, max_ip_domains, max_cert_ips, max_domain_ips, max_san,
 * max_key_certs, max_subject_certs, max_fingerprint_ips, max_nodes,
 * max_ms, now, max_cotenant_days, no_affinity (value "", 1 or true
 * switches affinity off; 0 or false leaves it on).  Returns 0, 1 for an unknown name, or
 * STORE_E* (or -EINVAL for a malformed number) with msg naming the
 * parameter and the problem.  Relative since/until ("-7d") count from
 * p->now when it was set before them, else from the current time.
 * A noise limit N prunes nodes over N; 0 switches it off (it becomes
 * UINT32_MAX, which a server still caps). */
int pivot_params_set(struct pivot_params *p, const char *name, const char *value, char *msg,
                     size_t msgcap);
/* Added: checks across parameters (seed given, since <= until).  Returns
 * 0 or STORE_E* with msg set; pivot_run calls it too. */
int pivot_params_check(const struct pivot_params *p, char *msg, size_t msgcap);

struct pivot_node {
	unsigned id;
	enum pivot_node_type type;
	char value[STORE_NAME_BUF + 8]; /* name, canonical address, or hex hash */
	unsigned depth;
	int64_t first_seen, last_seen; /* over the edges that touch it (not san: 0 if only san) */
	uint64_t degree;               /* prevalence: names on an IP, IPs of a name/cert, SANs */
	const char *pruned;            /* NULL, or the reason it was not expanded */
	unsigned *path;
	unsigned path_len; /* edge ids from the seed */
	/* certificates */
	bool has_sha1;      /* added: false for a certificate known by SHA-256 only */
	uint64_t san_count; /* added: DNS names in its SAN list */
	bool has_sha256;
	uint8_t sha1[20], sha256[32];
	bool cert_has_meta;
	char subject[512], issuer[512], serial[128];
	int64_t not_before, not_after;
	/* IPs: ports certificates were seen on */
	uint16_t ports[16];
	unsigned nports;
	/* our estate: hosts that contact it (set with pivot_node_estate_set) */
	struct pivot_estate {
		bool known;
		unsigned hosts, orgs, sensors;
		double score, period_s; /* the best client's beacon score and period */
	} estate;
};

struct pivot_edge {
	unsigned id;
	enum pivot_edge_type type;
	unsigned src, dst; /* node ids */
	int64_t first_seen, last_seen;
	uint64_t count;
	uint16_t port; /* serves, fingerprint */
};

struct pivot_result;

/* Expand from p->seed.  *out is freed with pivot_result_free().  Returns 0
 * (the result may be truncated), or an error with msg set (bad seed...). */
int pivot_run(store_t *s, const struct pivot_params *p, struct pivot_result **out, char *msg,
              size_t msgcap);
/* Reads made of the result on the walk's own read transaction once the
 * walk is done (the estate's client sightings of its nodes): fn is called
 * with noting true in the read-ahead's first pass of the last level's
 * measure, so that its reads go out in that round (their answers empty:
 * it must set nothing then), and with noting false once the walk is
 * over, its reads then answered from that round.  On a store without a
 * read-ahead only the second call is made. */
struct pivot_after {
	void (*fn)(store_rtxn_t *rt, struct pivot_result *r, bool noting, void *ctx);
	void *ctx;
};
/* pivot_run with after (NULL: none) called on success. */
int pivot_run_after(store_t *s, const struct pivot_params *p, const struct pivot_after *after,
                    struct pivot_result **out, char *msg, size_t msgcap);
void pivot_result_free(struct pivot_result *r);

size_t pivot_node_count(const struct pivot_result *r);
const struct pivot_node *pivot_node_at(const struct pivot_result *r, size_t i);
/* Attach what our estate knows of node i (rendered as "estate"). */
void pivot_node_estate_set(struct pivot_result *r, size_t i, const struct pivot_estate *e);
size_t pivot_edge_count(const struct pivot_result *r);
const struct pivot_edge *pivot_edge_at(const struct pivot_result *r, size_t i);
bool pivot_truncated(const struct pivot_result *r, const char **budget);
/* Added: the parameters the result was computed with (now resolved). */
const struct pivot_params *pivot_result_params(const struct pivot_result *r);

const char *pivot_node_type_name(enum pivot_node_type t);
const char *pivot_edge_type_name(enum pivot_edge_type t);

/* Renderers.  JSON/STIX return new references; DOT and table return
 * malloc'd strings the caller frees. */
json_t *pivot_to_json(const struct pivot_result *r);
char *pivot_to_dot(const struct pivot_result *r);
json_t *pivot_to_stix(const struct pivot_result *r);
char *pivot_to_table(const struct pivot_result *r);

/* The decision for the node whose value is `value` (a name, address or
 * hash as the pivot prints it; case and address spelling are forgiven):
 * its path with the edges' times, the arrival at each IP on it and the
 * rule that kept or pruned it.  Returns a malloc'd text the caller frees,
 * or NULL when the node is not in the result (or out of memory). */
char *pivot_explain(const struct pivot_result *r, const char *value);
/* The result as a MISP event {"Event": {...}} built from MISP's standard
 * objects (render_misp.c).  New reference, NULL when out of memory. */
json_t *pivot_to_misp(const struct pivot_result *r);
/* MISP building blocks, shared with the watchlist export.  Each returns a
 * new reference; UUIDs are UUIDv5 over key and what the call is given.
 * An event {"Event": {uuid, info, date, timestamp, ..., Attribute: [],
 * Object: []}} for time when: */
json_t *pivot_misp_event(const char *info, const char *key, int64_t when);
/* An object of template "domain-ip", "ip-port" or "x509", empty; with
 * first != 0 it has first_seen/last_seen (and, but for x509, the
 * first-seen/last-seen attributes). */
json_t *pivot_misp_obj(const char *template_name, const char *key, int64_t first, int64_t last);
/* Append an attribute (object_relation relation, MISP type) to obj. */
void pivot_misp_obj_add(json_t *obj, const char *relation, const char *type, const char *value);
/* An attribute; relation NULL for one of the event itself. */
json_t *pivot_misp_attr(const char *key, const char *relation, const char *type, const char *value,
                        bool to_ids);
/* An ObjectReference from one object to another. */
void pivot_misp_ref(json_t *from, const json_t *to, const char *relationship);

/* UUIDv5 (RFC 4122) of name in namespace ns, as text (37 bytes). */
void pivot_uuid5(const uint8_t ns[16], const char *name, size_t len, char *out);

#endif
