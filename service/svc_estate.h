/*
 * svc_estate.h - the estate view in the service: client lookups, beacon
 * ranking, sensor organisations (CLI and HTTP), and the ingest options
 * for client sightings.
 */
#ifndef INFRAPIVOT_SVC_ESTATE_H
#define INFRAPIVOT_SVC_ESTATE_H

#include <jansson.h>
#include <stdio.h>

#include "estate/estate.h"
#include "ingest/ingest.h"
#include "pivot/pivot.h"

/* CLI subcommands (cli_beacons.c). */
int svc_cmd_beacons(int argc, char **argv);
int svc_cmd_sensor(int argc, char **argv);
/* `lookup domain|ip X --clients` (argv as svc_cmd_lookup gets it). */
int svc_cmd_lookup_clients(int argc, char **argv);
/* True when a lookup's arguments ask for --clients. */
bool svc_estate_wants_clients(int argc, char **argv);

/* ingest --no-clients ('C') and --client-days ('K'). 0 or -1 (printed). */
int svc_estate_ingest_opt(int opt, const char *arg, struct ingest_opts *o, uint64_t *days);
/* After an ingest: drop pairs not seen for days (relative to the newest
 * client sighting).  Returns 0 or a store error. */
int svc_estate_retain(store_t *s, uint64_t days, struct ingest_summary *sum);
/* The client part of the ingest summary line on stderr (when any). */
void svc_estate_ingest_note(const struct ingest_summary *sum);

/* pivot_run, with what the estate knows attached to every domain and IP
 * node of the result. */
int svc_pivot_run(store_t *s, const struct pivot_params *p, struct pivot_result **out, char *msg,
                  size_t msgcap);

/* JSON (estate_json.c): a destination as in docs/estate.md (new ref). */
json_t *svc_estate_dest_json(const struct estate_dest *d, bool beacon);
/* A table of destinations or of one destination's clients. */
void svc_estate_print_table(FILE *f, const struct estate_dest *d, size_t n, bool clients);

#endif
