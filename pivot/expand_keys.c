/*
 * expand_keys.c - the pivot engine's key, subject and fingerprint nodes:
 * their seeds, their prevalence, and the walks behind the key, subject and
 * fingerprint edges (certificate - key, certificate - subject, IP -
 * JARM/JA3S), in both directions.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pivot/pivot_internal.h"
#include "util/hex.h"

/* ---- types and seeds ------------------------------------------------------ */

bool pivot_node_type_parse_more(const char *v, enum pivot_node_type *t)
{
	static const struct {
		const char *name;
		enum pivot_node_type type;
	} names[] = {{"key", PIVOT_NODE_KEY},
	             {"subject", PIVOT_NODE_SUBJECT},
	             {"jarm", PIVOT_NODE_JARM},
	             {"ja3s", PIVOT_NODE_JA3S}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i].name) == 0) {
			*t = names[i].type;
			return true;
		}
	}
	return false;
}

static unsigned fp_type_of(enum pivot_node_type t)
{
	return t == PIVOT_NODE_JARM ? STORE_FP_JARM : STORE_FP_JA3S;
}

/* The canonical value of a seed of one of the new types into
 * out[STORE_NAME_BUF + 8], or an error with msg set. */
static int seed_value(enum pivot_node_type t, const char *s, char *out, char *msg, size_t msgcap)
{
	size_t len = strlen(s), hl;
	uint8_t key[32];
	char dn[STORE_DN_BUF];
	switch (t) {
	case PIVOT_NODE_KEY:
		if (util_hex_decode(s, len, key, sizeof(key), &hl) != 0 || hl != 32)
			break;
		util_hex_encode(key, 32, out);
		return 0;
	case PIVOT_NODE_SUBJECT:
		if (store_dn_norm(s, len, dn) != 0 || strlen(dn) >= STORE_NAME_BUF)
			break;
		memcpy(out, dn, strlen(dn) + 1);
		return 0;
	case PIVOT_NODE_JARM:
	case PIVOT_NODE_JA3S:
		if (store_fp_norm(fp_type_of(t), s, len, out) != 0)
			break;
		return 0;
	default:
		break;
	}
	static const char *const want[] = {
	    [PIVOT_NODE_KEY] = "a public key SHA-256 (64 hex digits)",
	    [PIVOT_NODE_SUBJECT] = "a subject DN (CN=..., O=...) of at most 255 characters "
	                           "normalised",
	    [PIVOT_NODE_JARM] = "a JARM fingerprint (62 hex digits)",
	    [PIVOT_NODE_JA3S] = "a JA3S fingerprint (32 hex digits)",
	};
	snprintf(msg, msgcap, "seed: '%.80s' is not %s", s,
	         t >= PIVOT_NODE_KEY && t <= PIVOT_NODE_JA3S ? want[t] : "a seed");
	return t == PIVOT_NODE_SUBJECT ? STORE_EBADNAME : STORE_EBADHASH;
}

int pivot_check_seed_more(const struct pivot_params *p, char *msg, size_t msgcap)
{
	char v[STORE_NAME_BUF + 8];
	return seed_value(p->seed_type, p->seed, v, msg, msgcap);
}

enum pivot_node_type pivot_seed_type_more(const char *s)
{
	char h[STORE_FP_HASH_BUF];
	size_t len = strlen(s);
	if (store_fp_norm(STORE_FP_JARM, s, len, h) == 0)
		return PIVOT_NODE_JARM;
	if (store_fp_norm(STORE_FP_JA3S, s, len, h) == 0)
		return PIVOT_NODE_JA3S;
	return PIVOT_NODE_AUTO;
}

int pivot_seed_more(struct pivot_run *x, enum pivot_node_type t, char *msg, size_t msgcap)
{
	char v[STORE_NAME_BUF + 8];
	unsigned id;
	int err = seed_value(t, x->p->seed, v, msg, msgcap);
	if (err != 0)
		return err;
	/* a seed of these types asks for its edge, opt-in or not (the
	 * result's params say so) */
	x->r->params.edges |= t == PIVOT_NODE_KEY       ? PIVOT_EDGE_KEY
	                      : t == PIVOT_NODE_SUBJECT ? PIVOT_EDGE_SUBJECT
	                                                : PIVOT_EDGE_FINGERPRINT;
	return pivot_node_add(x, t, v, NULL, NULL, 0, &id);
}

/* ---- prevalence -------------------------------------------------------------- */

int pivot_measure_more(struct pivot_run *x, struct pivot_xnode *xn)
{
	struct pivot_node *n = &xn->n;
	uint8_t key[32];
	size_t hl;
	switch (n->type) {
	case PIVOT_NODE_KEY:
		if (util_hex_decode(n->value, strlen(n->value), key, 32, &hl) != 0 || hl != 32)
			return 0;
		return store_prev_key_certs(x->rt, key, &n->degree);
	case PIVOT_NODE_SUBJECT:
		return store_prev_subject_certs(x->rt, n->value, &n->degree);
	case PIVOT_NODE_JARM:
	case PIVOT_NODE_JA3S:
		return store_prev_fp_ips(x->rt, fp_type_of(n->type), n->value, &n->degree);
	default:
		return 0;
	}
}

bool pivot_pruned_detail_more(const struct pivot_result *r, const struct pivot_node *n, char *out,
                              size_t cap)
{
	/* "PREFIX DEGREE UNIT > PARAM LIMIT" */
	static const struct {
		const char *reason, *prefix, *unit, *param;
		size_t off;
	} rules[] = {
	    {"shared_key", "in", "certificates", "max_key_certs",
	     offsetof(struct pivot_params, max_key_certs)},
	    {"common_subject", "subject of", "certificates", "max_subject_certs",
	     offsetof(struct pivot_params, max_subject_certs)},
	    {"common_fingerprint", "seen on", "IPs", "max_fingerprint_ips",
	     offsetof(struct pivot_params, max_fingerprint_ips)},
	};
	for (size_t i = 0; n->pruned != NULL && i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(n->pruned, rules[i].reason) != 0)
			continue;
		uint64_t lim;
		memcpy(&lim, (const char *)&r->params + rules[i].off, sizeof(lim));
		snprintf(out, cap, "%s %llu %s > %s %llu", rules[i].prefix,
		         (unsigned long long)n->degree, rules[i].unit, rules[i].param,
		         (unsigned long long)lim);
		return true;
	}
	return false;
}

/* ---- walks --------------------------------------------------------------------- */

/* A candidate that could not be pushed for want of room ends the walk
 * without error (the result says it was truncated). */
static int walk_stop(int err)
{
	return err == STORE_STOP ? 0 : err;
}

/* A certificate - key or certificate - subject edge: a fact of the
 * certificate, not a sighting, so it has no times.  The neighbour is the
 * key or subject named value. */
static int cand_attr(struct pivot_run *x, uint8_t etype, uint8_t ntype, const char *value)
{
	struct pivot_cand *c = pivot_cand_push(x, etype, ntype, false, 0, 0, 1);
	if (c == NULL)
		return pivot_cand_fail(x);
	snprintf(c->value, sizeof(c->value), "%s", value);
	return 0;
}

int pivot_walk_cert_keys(struct pivot_run *x, const struct pivot_xnode *xn)
{
	if (x->p->edges & PIVOT_EDGE_KEY) {
		uint8_t key[32];
		char hex[65];
		int err = pivot_cert_key(x, &xn->ref, key);
		if (err != 0 && err != STORE_ENOTFOUND)
			return err;
		if (err == 0) {
			util_hex_encode(key, 32, hex);
			err = cand_attr(x, PIVOT_EDGE_KEY, PIVOT_NODE_KEY, hex);
			if (err != 0)
				return walk_stop(err);
		}
	}
	if (!(x->p->edges & PIVOT_EDGE_SUBJECT) || !xn->n.cert_has_meta || !xn->n.subject[0])
		return 0;
	char dn[STORE_DN_BUF];
	if (store_dn_norm(xn->n.subject, strlen(xn->n.subject), dn) != 0 ||
	    strlen(dn) >= STORE_NAME_BUF)
		return 0; /* no subject, or too long for a node: no edge */
	return walk_stop(cand_attr(x, PIVOT_EDGE_SUBJECT, PIVOT_NODE_SUBJECT, dn));
}

static int cb_ref(const struct store_cert_ref *ref, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	uint8_t etype = x->is_key_walk ? PIVOT_EDGE_KEY : PIVOT_EDGE_SUBJECT;
	struct pivot_cand *c = pivot_cand_push(x, etype, PIVOT_NODE_CERT, true, 0, 0, 1);
	if (c == NULL)
		return pivot_cand_fail(x);
	c->ref = *ref;
	pivot_cert_value(ref, c->value);
	return 0;
}

int pivot_walk_key(struct pivot_run *x, const struct pivot_xnode *xn)
{
	uint8_t key[32];
	size_t hl;
	if (!(x->p->edges & PIVOT_EDGE_KEY) ||
	    util_hex_decode(xn->n.value, strlen(xn->n.value), key, 32, &hl) != 0 || hl != 32)
		return 0;
	x->is_key_walk = true;
	return store_certs_by_key(x->rt, key, cb_ref, x);
}

int pivot_walk_subject(struct pivot_run *x, const struct pivot_xnode *xn)
{
	if (!(x->p->edges & PIVOT_EDGE_SUBJECT))
		return 0;
	x->is_key_walk = false;
	return store_certs_by_subject(x->rt, xn->n.value, cb_ref, x);
}

/* A fingerprint sighting: from the IP's side the fingerprint is the
 * neighbour, from the fingerprint's side the IP. */
static int cb_fp(const struct store_fp_sighting *s, void *ctx)
{
	struct pivot_run *x = ctx;
	if (pivot_tick(x))
		return STORE_STOP;
	bool from_ip = !x->from_fp;
	uint8_t ntype = !from_ip                     ? PIVOT_NODE_IP
	                : s->fptype == STORE_FP_JARM ? PIVOT_NODE_JARM
	                                             : PIVOT_NODE_JA3S;
	struct pivot_cand *c = pivot_cand_push(x, PIVOT_EDGE_FINGERPRINT, ntype, !from_ip,
	                                       s->time_first, s->time_last, s->count);
	if (c == NULL)
		return pivot_cand_fail(x);
	c->port = s->port;
	if (from_ip) {
		snprintf(c->value, sizeof(c->value), "%s", s->hash);
	} else {
		memcpy(c->ip, s->ip, 16);
		store_addr_format(s->ip, c->value);
	}
	return 0;
}

int pivot_walk_ip_fps(struct pivot_run *x, const struct pivot_xnode *xn)
{
	if (!(x->p->edges & PIVOT_EDGE_FINGERPRINT))
		return 0;
	x->from_fp = false;
	return store_fp_by_addr(x->rt, xn->ip, 128, &x->fence, cb_fp, x);
}

int pivot_walk_fp(struct pivot_run *x, const struct pivot_xnode *xn)
{
	if (!(x->p->edges & PIVOT_EDGE_FINGERPRINT))
		return 0;
	x->from_fp = true;
	return store_fp_by_hash(x->rt, fp_type_of(xn->n.type), xn->n.value, &x->fence, cb_fp, x);
}
