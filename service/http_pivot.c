/*
 * http_pivot.c - GET /api/v1/pivot: the pivot engine over HTTP, with the
 * same parameters as `infrapivot pivot` (underscores for dashes) and the
 * budgets capped by the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"
#include "service/svc_estate.h"

#include "pivot/pivot.h"

void svc_http_pivot_caps(const struct svc_http_conf *conf, struct pivot_params *p)
{
	if (p->max_nodes > conf->pivot_max_nodes)
		p->max_nodes = conf->pivot_max_nodes;
	if (p->max_ms == 0 || p->max_ms > conf->pivot_max_ms)
		p->max_ms = conf->pivot_max_ms;
	uint64_t *fan[] = {&p->max_ip_domains, &p->max_cert_ips, &p->max_domain_ips, &p->max_san};
	for (size_t i = 0; i < sizeof(fan) / sizeof(fan[0]); i++)
		if (*fan[i] > conf->pivot_max_fanout)
			*fan[i] = conf->pivot_max_fanout;
}

enum MHD_Result svc_http_pivot(struct svc_http_req *rq)
{
	const struct svc_http_conf *conf = &rq->srv->conf;
	struct pivot_params p;
	pivot_params_init(&p);
	const char *format = "json";
	bool have_seed = false;
	char msg[256];
	for (unsigned i = 0; i < rq->nparams; i++) {
		const char *n = rq->params[i].name, *v = rq->params[i].value;
		rq->params[i].used = true;
		if (strcmp(n, "format") == 0) {
			if (strcmp(v, "json") != 0 && strcmp(v, "dot") != 0 &&
			    strcmp(v, "stix") != 0)
				return svc_http_bad_param(rq, "format",
				                          "'%.20s': json, dot or stix", v);
			format = v;
			continue;
		}
		msg[0] = '\0';
		int r = pivot_params_set(&p, n, v, msg, sizeof(msg));
		if (r == 1)
			return svc_http_bad_param(rq, n, "unknown parameter");
		if (r != 0)
			return svc_http_error(rq, 400, "bad_parameter", "%s",
			                      msg[0] ? msg : store_strerror(r));
		if (strcmp(n, "seed") == 0)
			have_seed = true;
	}
	if (!have_seed)
		return svc_http_bad_param(rq, "seed",
		                          "required (a domain, an IP or a certificate "
		                          "hash)");
	svc_http_pivot_caps(conf, &p);
	struct pivot_result *res = NULL;
	msg[0] = '\0';
	int err = pivot_run(rq->srv->store, &p, &res, msg, sizeof(msg));
	if (err == 0)
		svc_estate_annotate(rq->srv->store, res);
	if (err != 0) {
		if (msg[0] == '\0')
			return svc_http_store_error(rq, err, "pivot");
		unsigned st = err == STORE_ENOTFOUND                   ? 404
		              : (err == STORE_ELMDB || err == -ENOMEM) ? 500
		                                                       : 400;
		return svc_http_error(rq, st,
		                      st == 400   ? "bad_parameter"
		                      : st == 404 ? "not_found"
		                                  : "internal",
		                      "%s", msg);
	}
	enum MHD_Result ret;
	if (strcmp(format, "dot") == 0) {
		char *dot = pivot_to_dot(res);
		pivot_result_free(res);
		if (dot == NULL)
			return svc_http_error(rq, 500, "internal", "rendering failed");
		ret = svc_http_send(rq, 200, "text/vnd.graphviz; charset=utf-8", dot, strlen(dot));
	} else {
		json_t *o = strcmp(format, "stix") == 0 ? pivot_to_stix(res) : pivot_to_json(res);
		pivot_result_free(res);
		if (o == NULL)
			return svc_http_error(rq, 500, "internal", "rendering failed");
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (s == NULL)
			return svc_http_error(rq, 500, "internal", "rendering failed");
		ret =
		    svc_http_send(rq, 200,
		                  strcmp(format, "stix") == 0 ? "application/stix+json;version=2.1"
		                                              : "application/json",
		                  s, strlen(s));
	}
	return ret;
}
