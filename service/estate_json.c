/*
 * estate_json.c - destinations and their clients as JSON and tables.
 */
#include <math.h>
#include <stdio.h>

#include "service/svc_estate.h"
#include "util/time.h"

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(round(v * 10) / 10);
}

static json_t *score_json(double v)
{
	return json_real(round(v * 1000) / 1000);
}

static json_t *client_json(const struct estate_client *c)
{
	char ip[STORE_ADDR_BUF];
	store_addr_format(c->client, ip);
	json_t *o = json_object();
	json_object_set_new(o, "client", json_string(ip));
	json_object_set_new(o, "sensor", json_string(c->sensor));
	json_object_set_new(o, "org", json_string(c->org));
	json_object_set_new(o, "count", json_integer((json_int_t)c->count));
	json_object_set_new(o, "period_s", num_or_null(c->ps.period_s > 0 ? c->ps.period_s : -1));
	json_object_set_new(o, "score", score_json(c->ps.score));
	json_object_set_new(o, "bytes_out_median", num_or_null(c->ps.bytes_out_median));
	json_object_set_new(o, "first_seen", util_time_json(c->first_seen));
	json_object_set_new(o, "last_seen", util_time_json(c->last_seen));
	json_t *src = json_array();
	for (unsigned k = 1; k <= STORE_CSRC_MAX; k++)
		if (c->srcs & (1u << k))
			json_array_append_new(src, json_string(store_client_src_name(k)));
	json_object_set_new(o, "sources", src);
	return o;
}

json_t *svc_estate_dest_json(const struct estate_dest *d, bool beacon)
{
	json_t *o = json_object();
	json_object_set_new(o, "destination", json_string(d->name));
	json_object_set_new(o, "type", json_string(d->dtype == STORE_DEST_IP ? "ip" : "domain"));
	json_object_set_new(o, "score", score_json(d->score));
	json_object_set_new(o, "period_s", num_or_null(d->period_s > 0 ? d->period_s : -1));
	json_object_set_new(o, "hosts", json_integer(d->hosts));
	json_object_set_new(o, "orgs", json_integer(d->orgs));
	json_object_set_new(o, "sensors", json_integer(d->sensors));
	json_t *cl = json_array();
	for (size_t i = 0; i < d->nclients; i++)
		json_array_append_new(cl, client_json(&d->clients[i]));
	json_object_set_new(o, "clients", cl);
	json_object_set_new(o, "first_seen", util_time_json(d->first_seen));
	json_object_set_new(o, "last_seen", util_time_json(d->last_seen));
	json_object_set_new(o, "age_days", num_or_null(d->age_days));
	json_object_set_new(o, "bytes_out_median", num_or_null(d->bytes_out_median));
	if (beacon) {
		json_object_set_new(o, "prevalence", score_json(d->prevalence));
		json_object_set_new(o, "rhythm", score_json(d->rhythm));
	}
	json_object_set_new(o, "internal", json_boolean(d->internal));
	json_t *r = json_array();
	for (unsigned i = 0; i < d->nreasons; i++)
		json_array_append_new(r, json_string(d->reasons[i]));
	json_object_set_new(o, "reasons", r);
	return o;
}

static void print_clients(FILE *f, const struct estate_dest *d)
{
	fprintf(f, "%-39s %-16s %-16s %7s %9s %6s %10s\n", "CLIENT", "SENSOR", "ORG", "COUNT",
	        "PERIOD_S", "SCORE", "OUT_MED");
	for (size_t i = 0; i < d->nclients; i++) {
		const struct estate_client *c = &d->clients[i];
		char ip[STORE_ADDR_BUF];
		store_addr_format(c->client, ip);
		fprintf(f, "%-39s %-16s %-16s %7llu %9.0f %6.3f %10.0f\n", ip, c->sensor, c->org,
		        (unsigned long long)c->count, c->ps.period_s, c->ps.score,
		        c->ps.bytes_out_median);
	}
	fprintf(f, "hosts %u, orgs %u, sensors %u\n", d->hosts, d->orgs, d->sensors);
}

void svc_estate_print_table(FILE *f, const struct estate_dest *d, size_t n, bool clients)
{
	if (clients) {
		for (size_t i = 0; i < n; i++)
			print_clients(f, &d[i]);
		return;
	}
	fprintf(f, "%-6s %-40s %-6s %9s %5s %4s %8s %10s\n", "SCORE", "DESTINATION", "TYPE",
	        "PERIOD_S", "HOSTS", "ORGS", "AGE_D", "OUT_MED");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%6.3f %-40s %-6s %9.0f %5u %4u %8.1f %10.0f\n", d[i].score, d[i].name,
		        d[i].dtype == STORE_DEST_IP ? "ip" : "domain", d[i].period_s, d[i].hosts,
		        d[i].orgs, d[i].age_days, d[i].bytes_out_median);
}
