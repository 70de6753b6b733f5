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
	uint64_t *fan[] = {
	    &p->max_ip_domains, &p->max_cert_ips,      &p->max_domain_ips,     &p->max_san,
	    &p->max_key_certs,  &p->max_subject_certs, &p->max_fingerprint_ips};
	for (size_t i = 0; i < sizeof(fan) / sizeof(fan[0]); i++)
		if (*fan[i] > conf->pivot_max_fanout)
			*fan[i] = conf->pivot_max_fanout;
}

/* Every query parameter into p, but format= into *format. */
static bool pivot_query(struct svc_http_req *rq, struct pivot_params *p, const char **format,
                        enum MHD_Result *ret)
{
	bool have_seed = false;
	char msg[256];
	for (unsigned i = 0; i < rq->nparams; i++) {
		const char *n = rq->params[i].name, *v = rq->params[i].value;
		rq->params[i].used = true;
		if (strcmp(n, "format") == 0) {
			if (strcmp(v, "json") != 0 && strcmp(v, "dot") != 0 &&
			    strcmp(v, "stix") != 0 && strcmp(v, "table") != 0 &&
			    strcmp(v, "csv") != 0 && strcmp(v, "misp") != 0) {
				*ret = svc_http_bad_param(
				    rq, "format", "'%.20s': expected json|dot|stix|table|csv|misp",
				    v);
				return false;
			}
			*format = v;
			continue;
		}
		msg[0] = '\0';
		char seed[STORE_NAME_BUF + 8];
		if (strcmp(n, "seed") == 0 &&
		    svc_idn_ascii(v, seed, sizeof(seed), msg, sizeof(msg)) != 0) {
			*ret = svc_http_bad_param(rq, "seed", "%s", msg);
			return false;
		}
		int r = pivot_params_set(p, n, strcmp(n, "seed") == 0 ? seed : v, msg, sizeof(msg));
		if (r != 0) {
			*ret = r == 1 ? svc_http_bad_param(rq, n, "unknown parameter")
			              : svc_http_error(rq, 400, "bad_parameter", "%s",
			                               msg[0] ? msg : store_strerror(r));
			return false;
		}
		if (strcmp(n, "seed") == 0)
			have_seed = true;
	}
	if (!have_seed)
		*ret = svc_http_bad_param(rq, "seed",
		                          "required (a domain, an IP or a certificate hash)");
	return have_seed;
}

/* A pivot that failed: the engine's message says what, its code how bad. */
static enum MHD_Result pivot_failed(struct svc_http_req *rq, int err, const char *msg)
{
	if (msg[0] == '\0')
		return svc_http_store_error(rq, err, "pivot");
	if (err == STORE_ENOTFOUND)
		return svc_http_error(rq, 404, "not_found", "%s", msg);
	if (err == STORE_ELMDB || err == -ENOMEM)
		return svc_http_error(rq, 500, "internal", "%s", msg);
	return svc_http_error(rq, 400, "bad_parameter", "%s", msg);
}

/* Render res (freed) in format and answer with it. */
static enum MHD_Result pivot_send(struct svc_http_req *rq, struct pivot_result *res,
                                  const char *format)
{
	bool csv = strcmp(format, "csv") == 0, table = strcmp(format, "table") == 0;
	if (strcmp(format, "dot") == 0 || csv || table) {
		char *text = csv     ? svc_csv_pivot(res)
		             : table ? pivot_to_table(res)
		                     : pivot_to_dot(res);
		pivot_result_free(res);
		if (text == NULL)
			return svc_http_error(rq, 500, "internal", "rendering failed");
		const char *ctype = csv     ? SVC_HTTP_CSV_CTYPE
		                    : table ? "text/plain; charset=utf-8"
		                            : "text/vnd.graphviz; charset=utf-8";
		return svc_http_send(rq, 200, ctype, text, strlen(text));
	}
	bool stix = strcmp(format, "stix") == 0;
	json_t *o = stix                          ? pivot_to_stix(res)
	            : strcmp(format, "misp") == 0 ? pivot_to_misp(res)
	                                          : pivot_to_json(res);
	pivot_result_free(res);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (s == NULL)
		return svc_http_error(rq, 500, "internal", "rendering failed");
	return svc_http_send(
	    rq, 200, stix ? "application/stix+json;version=2.1" : "application/json", s, strlen(s));
}

enum MHD_Result svc_http_pivot(struct svc_http_req *rq)
{
	struct pivot_params p;
	pivot_params_init(&p);
	enum MHD_Result ret;
	const char *format = svc_http_wants_csv(rq) ? "csv" : "json";
	if (!pivot_query(rq, &p, &format, &ret))
		return ret;
	svc_http_pivot_caps(&rq->srv->conf, &p);
	struct pivot_result *res = NULL;
	char msg[256] = "";
	int err = svc_pivot_run(rq->srv->store, &p, &res, msg, sizeof(msg));
	if (err != 0)
		return pivot_failed(rq, err, msg);
	return pivot_send(rq, res, format);
}
