/*
 * pairs.c - from client rows to scored (client, sensor) pairs of one
 * destination: the rows of each source are folded, the best stream gives
 * the rhythm, and a domain seen only in DNS queries borrows the rhythm of
 * the connections its clients made to the addresses it resolved to.
 */
#include <stdlib.h>
#include <string.h>

#include "estate/estate_internal.h"

void pairacc_reset(struct pairacc *a)
{
	a->nrows = 0;
	a->srcs = 0;
	store_client_state_init(&a->rhythm);
	store_client_state_init(&a->bytes);
	store_client_state_init(&a->dns);
}

/* Fold one row of the current pair. */
void pairacc_add(struct pairacc *a, const struct store_client_row *row)
{
	if (a->nrows == 0) {
		memcpy(a->client, row->client, 16);
		a->sid = row->sensor_id;
	}
	a->nrows++;
	a->srcs |= (uint8_t)(1u << row->src);
	if (row->src == STORE_CSRC_DNS) {
		a->dns = row->st;
		return;
	}
	/* the busiest non-DNS stream carries the rhythm; bytes come from
	 * connections or flows */
	if (row->st.count > a->rhythm.count)
		a->rhythm = row->st;
	if ((row->src == STORE_CSRC_CONN || row->src == STORE_CSRC_FLOW) &&
	    row->st.count > a->bytes.count)
		a->bytes = row->st;
}

static int ip_cb(const struct store_rr *rr, void *ctx)
{
	struct destacc *d = ctx;
	if ((rr->rrtype == STORE_RR_A || rr->rrtype == STORE_RR_AAAA) && d->nips < DEST_IPS_MAX)
		memcpy(d->ips[d->nips++], rr->addr, 16);
	return 0;
}

/* The addresses the destination's name resolved to (once per dest). */
void dest_resolve(struct scan *sc, struct destacc *d)
{
	if (d->resolved || d->dtype != STORE_DEST_DOMAIN)
		return;
	d->resolved = true;
	struct store_fence f;
	store_fence_init(&f);
	store_rr_by_name(sc->r, d->name, STORE_RR_A, &f, ip_cb, d);
	store_rr_by_name(sc->r, d->name, STORE_RR_AAAA, &f, ip_cb, d);
}

struct join_ctx {
	struct store_client_state *rhythm, *bytes;
};

static int join_cb(const struct store_client_row *row, void *ctx)
{
	struct join_ctx *j = ctx;
	if (row->src == STORE_CSRC_DNS)
		return 0;
	store_client_merge(j->rhythm, &row->st);
	if (row->src == STORE_CSRC_CONN || row->src == STORE_CSRC_FLOW)
		store_client_merge(j->bytes, &row->st);
	return 0;
}

/* The connections of this client (same sensor) to the addresses the
 * destination's name resolved to: r all of them, b those with bytes. */
static void pair_join(struct scan *sc, struct destacc *d, struct pairacc *a,
                      struct store_client_state *r, struct store_client_state *b)
{
	dest_resolve(sc, d);
	store_client_state_init(r);
	store_client_state_init(b);
	struct join_ctx j = {r, b};
	for (unsigned i = 0; i < d->nips; i++)
		store_clients_pair(sc->r, STORE_DEST_IP, NULL, d->ips[i], a->client, a->sid,
		                   join_cb, &j);
}

/* DNS caching hides contacts: a name seen only in DNS queries takes the
 * rhythm of the joined connections; a name seen in TLS takes their bytes.
 * True when the rhythm was joined. */
static bool pair_borrow(struct scan *sc, struct destacc *d, struct pairacc *a, bool dns_only)
{
	struct store_client_state r, b;
	pair_join(sc, d, a, &r, &b);
	if (dns_only && r.count >= 3) {
		a->rhythm = r;
		a->bytes = b;
		return true;
	}
	if (!dns_only && b.count > 0)
		a->bytes = b;
	return false;
}

/* Score the accumulated pair and append it to the destination. */
int pair_finish(struct scan *sc, struct destacc *d, struct pairacc *a)
{
	if (a->nrows == 0)
		return 0;
	if (d->nclients == d->capclients) {
		size_t nc = d->capclients ? d->capclients * 2 : 8;
		struct estate_client *n = realloc(d->clients, nc * sizeof(*n));
		if (n == NULL)
			return -1;
		d->clients = n;
		d->capclients = nc;
	}
	struct estate_client *c = &d->clients[d->nclients++];
	memset(c, 0, sizeof(*c));
	memcpy(c->client, a->client, 16);
	c->srcs = a->srcs;
	c->org_idx = sensor_info(sc, a->sid, c->sensor, c->org);
	bool dns_only = a->rhythm.count == 0;
	bool domain = d->dtype == STORE_DEST_DOMAIN && sc->join;
	if (domain && dns_only && a->dns.count >= 2 && pair_borrow(sc, d, a, true)) {
		c->joined = true;
		dns_only = false;
	}
	const struct store_client_state *st = dns_only ? &a->dns : &a->rhythm;
	estate_score_pair(st, a->bytes.count > 0 ? &a->bytes : NULL, &c->ps);
	if (domain && !dns_only && !c->joined && a->bytes.count == 0 && c->ps.score >= 0.05) {
		pair_borrow(sc, d, a, false);
		if (a->bytes.count > 0)
			estate_score_pair(st, &a->bytes, &c->ps);
	}
	c->dns_only = dns_only;
	c->count = st->count;
	c->first_seen = st->first_seen;
	c->last_seen = st->last_seen;
	return sc->reload ? 0 : org_host_note(sc, c);
}
