/*
 * http_estate.c - the estate routes: GET /api/v1/clients/{domain|ip}/{value},
 * GET /api/v1/beacons, GET /api/v1/sensors and PUT /api/v1/sensors/{sensor}
 * (admin) to set a sensor's organisation.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"
#include "service/svc_estate.h"

/* Scores and periods with ten significant digits, not seventeen. */
static enum MHD_Result send_json(struct svc_http_req *rq, json_t *obj)
{
	return svc_http_send_json_prec(rq, 200, obj, 10);
}

static bool time_param(struct svc_http_req *rq, const char *name, int64_t now, int64_t *out,
                       enum MHD_Result *ret)
{
	const char *v = svc_http_param(rq, name);
	if (v == NULL || store_time_parse(v, now, out) == 0)
		return true;
	*ret = svc_http_bad_param(rq, name, "'%.40s' is not a time", v);
	return false;
}

/* The query parameters both routes share into o. */
static bool est_params(struct svc_http_req *rq, struct estate_opts *o, enum MHD_Result *ret)
{
	estate_opts_init(o, (int64_t)time(NULL));
	o->min_score = 0.1;
	uint64_t limit = 50;
	const char *ms = svc_http_param(rq, "min_score");
	if (ms != NULL)
		o->min_score = strtod(ms, NULL);
	if (!time_param(rq, "now", o->now, &o->now, ret) ||
	    !time_param(rq, "since", o->now, &o->since, ret) ||
	    !time_param(rq, "until", o->now, &o->until, ret) ||
	    !svc_http_u64_param(rq, "limit", &limit, ret))
		return false;
	o->limit = limit > 1000 ? 1000 : (size_t)limit;
	o->org = svc_http_param(rq, "org");
	o->internal = svc_http_param(rq, "internal");
	const char *ii = svc_http_param(rq, "include_internal");
	o->include_internal = ii != NULL && (strcmp(ii, "1") == 0 || strcmp(ii, "true") == 0);
	return !svc_http_reject_unused(rq, ret);
}

enum MHD_Result svc_http_clients(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *kind = svc_http_arg(rq, 0);
	const char *value = svc_http_arg(rq, 1);
	if (kind == NULL || value == NULL || (strcmp(kind, "domain") && strcmp(kind, "ip")))
		return svc_http_error(rq, 404, "not_found", "use /api/v1/clients/domain|ip/VALUE");
	struct estate_opts o;
	if (!est_params(rq, &o, &ret))
		return ret;
	struct estate_dest d;
	uint8_t dtype = strcmp(kind, "ip") == 0 ? STORE_DEST_IP : STORE_DEST_DOMAIN;
	int err = estate_clients(rq->srv->store, dtype, value, &o, &d);
	if (err != 0)
		return svc_http_store_error(rq, err, "clients");
	json_t *j = svc_estate_dest_json(&d, false);
	estate_dest_free(&d);
	return send_json(rq, j);
}

enum MHD_Result svc_http_beacons(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct estate_opts o;
	if (!est_params(rq, &o, &ret))
		return ret;
	struct estate_dest *d;
	size_t n;
	int err = estate_beacons(rq->srv->store, &o, &d, &n);
	if (err != 0)
		return svc_http_store_error(rq, err, "beacons");
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, svc_estate_dest_json(&d[i], true));
	estate_dests_free(d, n);
	return send_json(rq, a);
}

static int sensor_json(const char *sensor, const char *org, void *ctx)
{
	json_t *o = json_object();
	json_object_set_new(o, "sensor", json_string(sensor));
	json_object_set_new(o, "org", json_string(org));
	json_array_append_new(ctx, o);
	return 0;
}

enum MHD_Result svc_http_sensors(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	store_rtxn_t *r;
	int err = store_read_begin(rq->srv->store, &r);
	if (err != 0)
		return svc_http_store_error(rq, err, "sensors");
	json_t *a = json_array();
	err = store_sensors_list(r, sensor_json, a);
	store_read_end(r);
	if (err != 0) {
		json_decref(a);
		return svc_http_store_error(rq, err, "sensors");
	}
	return send_json(rq, a);
}

enum MHD_Result svc_http_sensor_put(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *sensor = svc_http_arg(rq, 0);
	const char *org = svc_http_param(rq, "org");
	if (org == NULL)
		return svc_http_bad_param(rq, "org", "org=NAME is required (empty clears)");
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	int err = store_sensor_org_set(rq->srv->store, sensor, org);
	if (err != 0)
		return svc_http_store_error(rq, err, "sensor");
	json_t *o = json_object();
	json_object_set_new(o, "sensor", json_string(sensor));
	json_object_set_new(o, "org", json_string(org[0] ? org : sensor));
	return send_json(rq, o);
}
