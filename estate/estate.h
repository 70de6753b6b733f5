/*
 * estate.h - our estate's view of a destination: which internal hosts in
 * how many organisations contact it, how regularly, with how many bytes;
 * and the ranking of destinations by how much they look like
 * command-and-control beacons.  Reads the client table (store/client.h)
 * only; docs/estate.md explains the scoring.
 */
#ifndef INFRAPIVOT_ESTATE_H
#define INFRAPIVOT_ESTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/client.h"
#include "store/store.h"

/* ---- one pair's rhythm (estate/score.c) --------------------------------- */
struct estate_pair_score {
	double score;            /* 0..1: regularity x hours x bytes */
	double period_s;         /* dominant gap, 0 when none */
	double regular;          /* share of gaps at the period or its multiples */
	double spread;           /* mean relative deviation of gaps around the period */
	double hours;            /* 0..1 hours-of-day persistence */
	double bytes;            /* 0..1 small and steady (0.5 unknown) */
	double bytes_out_median; /* -1 when unknown */
	double bytes_in_median;
	uint64_t gaps; /* gaps counted (>= the shortest period) */
};
#define ESTATE_MIN_PERIOD 10 /* seconds: shorter gaps are bursts */
/* Score the rhythm of st; bytes from bst (NULL: st's own). */
void estate_score_pair(const struct store_client_state *st, const struct store_client_state *bst,
                       struct estate_pair_score *ps);

/* ---- internal destinations (estate/internal.c) --------------------------- */
#define ESTATE_NETS_MAX 64
struct estate_nets {
	unsigned n;
	uint8_t lo[ESTATE_NETS_MAX][16], hi[ESTATE_NETS_MAX][16];
};
/* Parse comma-separated CIDRs and add them to nets.  0 or STORE_EBADADDR. */
int estate_nets_add(struct estate_nets *nets, const char *cidrs);
/* RFC 1918, RFC 4193, loopback, link-local, CGNAT, multicast, or in nets. */
bool estate_ip_internal(const struct estate_nets *nets, const uint8_t ip[16]);
/* Names under .local, .lan, .internal, .home.arpa, in-addr/ip6.arpa ... */
bool estate_name_internal(const char *name);

/* ---- destinations (estate/beacons.c) ------------------------------------- */
struct estate_opts {
	int64_t now;          /* reference time for freshness (required) */
	int64_t since, until; /* pairs seen in [since, until]; 0 = open */
	double min_score;
	size_t limit;          /* 0 = 50 */
	const char *org;       /* only destinations some host of this org contacts */
	const char *internal;  /* extra internal CIDRs (with the stored ones) */
	bool include_internal; /* internal destinations are candidates too */
};
void estate_opts_init(struct estate_opts *o, int64_t now);

struct estate_client {
	uint8_t client[16];
	char sensor[STORE_SENSOR_MAX], org[STORE_SENSOR_MAX];
	uint64_t count;
	int64_t first_seen, last_seen;
	struct estate_pair_score ps;
	uint8_t srcs;     /* bit (1 << STORE_CSRC_x) per source seen */
	bool dns_only;    /* the rhythm comes from DNS queries alone */
	bool joined;      /* the rhythm comes from connections to resolved IPs */
	unsigned org_idx; /* internal: the organisation's index in a scan */
};

#define ESTATE_REASONS 8
#define ESTATE_REASON_LEN 200
struct estate_dest {
	uint8_t dtype;
	char name[STORE_NAME_BUF]; /* domain, or the IP as text */
	uint8_t ip[16];
	double score, period_s;
	unsigned hosts, orgs, sensors;
	uint64_t count;
	int64_t first_seen, last_seen;
	double age_days, bytes_out_median; /* -1 unknown */
	bool internal;
	double rhythm, prevalence, fresh; /* the factors of score */
	struct estate_client *clients;    /* malloc'd, highest score first */
	size_t nclients;
	unsigned nreasons;
	char reasons[ESTATE_REASONS][ESTATE_REASON_LEN];
};
void estate_dest_free(struct estate_dest *d);
void estate_dests_free(struct estate_dest *d, size_t n);

/* Every client of one destination (lookup --clients), scored; d is
 * filled (free with estate_dest_free).  Returns 0 or a store error. */
int estate_clients(store_t *s, uint8_t dtype, const char *value, const struct estate_opts *o,
                   struct estate_dest *d);
/* Destinations ranked by beacon score; *out malloc'd array of *n
 * (free with estate_dests_free).  Returns 0 or a store error. */
int estate_beacons(store_t *s, const struct estate_opts *o, struct estate_dest **out, size_t *n);

/* Compact summary for pivot nodes: hosts, orgs, sensors and the best
 * pair's score and period.  false when the estate knows nothing. */
struct estate_summary {
	unsigned hosts, orgs, sensors;
	double score, period_s;
};
bool estate_summary_get(store_t *s, uint8_t dtype, const char *value, struct estate_summary *sum);
/* The summaries of n destinations in one batched read on the read
 * transaction r (store_clients_of_many): found[i] tells whether sums[i]
 * was set (false where the estate knows nothing).  Returns 0 or a store
 * error (then nothing is set: estate_summary_get a destination still
 * answers). */
int estate_summaries_read(store_rtxn_t *r, const struct store_client_dest *dests, size_t n,
                          struct estate_summary *sums, bool *found);

#endif
