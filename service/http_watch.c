/*
 * http_watch.c - the watchlist routes:
 *   GET    /api/v1/watchlists                       every list (read)
 *   GET    /api/v1/watchlists/{name}?format=&type=&since_version=
 *                                                   the export sensors pull (read);
 *                                                   ETag = version, If-None-Match -> 304
 *   PUT    /api/v1/watchlists/{name}                create or change settings (write)
 *   DELETE /api/v1/watchlists/{name}                (write)
 *   POST   /api/v1/watchlists/{name}/entries        add indicators (write)
 *   POST   /api/v1/watchlists/{name}/pivot          add a pivot's result (write)
 *   GET    /api/v1/watchlists/{name}/entries/{indicator}  one entry, any state (read)
 *   DELETE /api/v1/watchlists/{name}/entries/{indicator}  (write)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"
#include "util/time.h"
#include "watch/watch.h"

static bool name_arg(struct svc_http_req *rq, const char **name, enum MHD_Result *ret)
{
	*name = svc_http_arg(rq, 0);
	if (*name == NULL || !store_watch_name_ok(*name)) {
		*ret = svc_http_error(rq, 400, "bad_request",
		                      "'%.64s' is not a watchlist name (1-64 of A-Z a-z 0-9 . _ -)",
		                      *name ? *name : "");
		return false;
	}
	return true;
}

/* /watchlists/{name} without query parameters: the list's name; false
 * with *ret answered otherwise. */
static bool list_route(struct svc_http_req *rq, const char **name, enum MHD_Result *ret)
{
	return name_arg(rq, name, ret) && !svc_http_reject_unused(rq, ret);
}

/* /watchlists/{name}/entries/{indicator}[?type=]: the list's name and the
 * indicator's type (0 = guess); false with *ret answered otherwise. */
static bool entry_route(struct svc_http_req *rq, const char **name, unsigned *type,
                        enum MHD_Result *ret)
{
	if (!name_arg(rq, name, ret))
		return false;
	const char *what = svc_http_arg(rq, 1);
	if (what == NULL || strcmp(what, "entries") != 0) {
		*ret = svc_http_error(rq, 404, "not_found", "no such route");
		return false;
	}
	const char *t = svc_http_param(rq, "type");
	if (t != NULL && store_watch_type_parse(t, type) != 0) {
		*ret = svc_http_bad_param(rq, "type", "'%.20s': ip, domain or cert", t);
		return false;
	}
	return !svc_http_reject_unused(rq, ret);
}

static enum MHD_Result not_found(struct svc_http_req *rq, const char *name)
{
	return svc_http_error(rq, 404, "not_found", "no watchlist named '%.64s'", name);
}

static enum MHD_Result store_err(struct svc_http_req *rq, int err, const char *name)
{
	if (err == STORE_ENOTFOUND)
		return not_found(rq, name);
	if (err == STORE_ELIMIT)
		return svc_http_error(rq, 409, "limit", "%s", store_last_error());
	if (err == -EINVAL || err == STORE_EBADNAME || err == STORE_ETOOLONG)
		return svc_http_error(rq, 400, "bad_request", "%s", store_last_error());
	return svc_http_store_error(rq, err, "watchlist");
}

/* The body as JSON; on failure a 400 is queued. */
static json_t *body_json(struct svc_http_req *rq, bool allow_empty, enum MHD_Result *ret)
{
	if (rq->body.len == 0) {
		if (allow_empty)
			return json_object();
		*ret = svc_http_error(rq, 400, "bad_request", "a JSON body is required");
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(rq->body.p, rq->body.len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		*ret = svc_http_error(rq, 400, "bad_request", "body: not JSON: line %d: %s",
		                      je.line, je.text);
	return j;
}

/* The watchlists' clock: the time `serve --now` pinned (tests), else 0,
 * which the watch and store functions take as the current time. */
static int64_t now_of(const struct svc_http_req *rq)
{
	return rq->srv->conf.now;
}

static const char *who(const struct svc_http_req *rq)
{
	if (rq->token_name[0] != '\0')
		return rq->token_name;
	return rq->srv->tokens == NULL ? "api" : "api token";
}

static enum MHD_Result send_etag(struct svc_http_req *rq, unsigned status, const char *ctype,
                                 char *buf, size_t len, uint64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)version);
	const char *const h[] = {"ETag", etag, NULL};
	return svc_http_send_h(rq, status, ctype, buf, len, h);
}

/* ---- GET /api/v1/watchlists ------------------------------------------------------ */
static int list_cb(const struct store_watch_info *i, void *ctx)
{
	json_array_append_new(ctx, watch_info_json(i));
	return 0;
}

enum MHD_Result svc_http_watchlists(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	json_t *arr = json_array();
	int err = store_watch_list(rq->srv->store, now_of(rq), list_cb, arr);
	if (err != 0) {
		json_decref(arr);
		return svc_http_store_error(rq, err, "watchlists");
	}
	json_t *o = json_object();
	json_object_set_new(o, "watchlists", arr);
	return svc_http_send_json(rq, 200, o);
}

/* ---- GET /api/v1/watchlists/{name} -------------------------------------------------- */
enum MHD_Result svc_http_watchlist_get(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	if (!name_arg(rq, &name, &ret))
		return ret;
	struct watch_export_opts x = {.fmt = WATCH_FMT_JSON, .now = now_of(rq)};
	const char *v = svc_http_param(rq, "format");
	/* csv is the JSON export re-rendered (svc_csv_watch) */
	bool csv = v != NULL ? strcmp(v, "csv") == 0 : svc_http_wants_csv(rq);
	if (v != NULL && !csv && watch_fmt_parse(v, &x.fmt) != 0)
		return svc_http_bad_param(
		    rq, "format", "'%.20s': expected json|text|zeek|suricata|stix|csv|misp", v);
	v = svc_http_param(rq, "type");
	if (v != NULL && (store_watch_type_parse(v, &x.type) != 0 || x.type == 0))
		return svc_http_bad_param(rq, "type", "'%.20s': ip, domain or cert", v);
	if (!svc_http_u64_param(rq, "since_version", &x.since, &ret))
		return ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	char msg[300] = "";
	if (x.since != 0 && (csv || (x.fmt != WATCH_FMT_JSON && x.fmt != WATCH_FMT_STIX)))
		return svc_http_bad_param(rq, "since_version",
		                          "works with format=json or stix (the "
		                          "other formats are whole files)");
	if (x.fmt == WATCH_FMT_SURICATA && x.type == 0)
		return svc_http_bad_param(rq, "type",
		                          "a Suricata dataset holds one type: ip, domain "
		                          "or cert");
	/* a sensor whose copy is current gets 304 without a render */
	const char *inm = svc_http_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct store_watch_info info;
	if (inm != NULL) {
		int err = store_watch_get(rq->srv->store, name, now_of(rq), &info);
		if (err != 0)
			return store_err(rq, err, name);
		if (watch_etag_match(inm, info.version))
			return send_etag(rq, 304, NULL, NULL, 0, info.version);
	}
	char *out = NULL;
	size_t len = 0;
	int err = watch_export(rq->srv->store, name, &x, &out, &len, &info, msg, sizeof(msg));
	if (err == -E2BIG)
		return svc_http_error(rq, 413, "response_too_large", "%s", msg);
	if (err == -EINVAL)
		return svc_http_error(rq, 400, "bad_parameter", "%s", msg);
	if (err != 0)
		return store_err(rq, err, name);
	if (csv) {
		char *text = svc_csv_watch(out, len, &len);
		free(out);
		if (text == NULL)
			return svc_http_error(rq, 500, "internal", "rendering failed");
		return send_etag(rq, 200, SVC_HTTP_CSV_CTYPE, text, len, info.version);
	}
	return send_etag(rq, 200, watch_ctype(x.fmt), out, len, info.version);
}

/* ---- PUT, DELETE /api/v1/watchlists/{name} --------------------------------------------- */
enum MHD_Result svc_http_watchlist_put(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	if (!list_route(rq, &name, &ret))
		return ret;
	json_t *body = body_json(rq, true, &ret);
	if (body == NULL)
		return ret;
	store_t *s = rq->srv->store;
	struct store_watch_settings set;
	struct store_watch_info info;
	char msg[300];
	int err = watch_settings_load(s, name, now_of(rq), &set);
	bool bad = err == 0 && watch_settings_from_json(body, &set, msg, sizeof(msg)) != 0;
	json_decref(body);
	if (err != 0)
		return store_err(rq, err, name);
	if (bad)
		return svc_http_error(rq, 400, "bad_request", "%s", msg);
	bool created = false;
	err = store_watch_put(s, &set, now_of(rq), &created);
	if (err == 0)
		err = store_watch_get(s, name, now_of(rq), &info);
	if (err != 0)
		return store_err(rq, err, name);
	json_t *o = watch_info_json(&info);
	char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (txt == NULL)
		return MHD_NO;
	return send_etag(rq, created ? 201 : 200, "application/json", txt, strlen(txt),
	                 info.version);
}

enum MHD_Result svc_http_watchlist_delete(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	if (!list_route(rq, &name, &ret))
		return ret;
	int err = store_watch_delete(rq->srv->store, name);
	if (err != 0)
		return store_err(rq, err, name);
	json_t *o = json_object();
	json_object_set_new(o, "deleted", json_string(name));
	return svc_http_send_json(rq, 200, o);
}

/* ---- POST /api/v1/watchlists/{name}/entries ------------------------------------------------ */
/* The entries of the body: a list, or {"entries": a list}.  NULL with a
 * 400 queued (and the body freed) otherwise. */
static const json_t *entries_of(struct svc_http_req *rq, json_t *body, enum MHD_Result *ret)
{
	if (!json_is_object(body))
		return body;
	const json_t *arr = json_object_get(body, "entries");
	if (arr != NULL && json_object_size(body) == 1)
		return arr;
	json_decref(body);
	*ret = svc_http_error(rq, 400, "bad_request",
	                      "the body is a list of {indicator, type, reason, ttl_days, expires}, "
	                      "or {\"entries\": that list}");
	return NULL;
}

/* Indicators with U-labels in their A-label form, as watch_items_add()
 * wants them: 0, or -1 with msg saying which entry is wrong. */
static int entries_idn(json_t *arr, char *msg, size_t cap)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		const char *ind = json_string_value(json_object_get(e, "indicator"));
		char ascii[STORE_WATCH_IND_BUF], why[300];
		if (ind == NULL)
			continue;
		if (svc_idn_ascii(ind, ascii, sizeof(ascii), why, sizeof(why)) != 0) {
			snprintf(msg, cap, "entries[%zu]: indicator %s", i, why);
			return -1;
		}
		if (strcmp(ascii, ind) != 0)
			json_object_set_new(e, "indicator", json_string(ascii));
	}
	return 0;
}

/* The entries of body as items for list info (body is freed).  0, or -1
 * with a 400 queued. */
static int entries_items(struct svc_http_req *rq, json_t *body, const struct store_watch_info *info,
                         int64_t now, struct watch_items *it, enum MHD_Result *ret)
{
	const json_t *arr = entries_of(rq, body, ret);
	if (arr == NULL)
		return -1;
	char msg[400];
	if (entries_idn((json_t *)arr, msg, sizeof(msg)) != 0) {
		json_decref(body);
		*ret = svc_http_error(rq, 400, "bad_request", "%s", msg);
		return -1;
	}
	int err =
	    watch_items_from_json(it, arr, who(rq), info->set.ttl_days, now, msg, sizeof(msg));
	json_decref(body);
	if (err != 0)
		*ret = svc_http_error(rq, 400, "bad_request", "%s", msg);
	else if (it->n == 0)
		*ret = svc_http_error(rq, 400, "bad_request", "no entries given");
	return err != 0 || it->n == 0 ? -1 : 0;
}

static enum MHD_Result post_entries(struct svc_http_req *rq, const char *name)
{
	enum MHD_Result ret;
	json_t *body = body_json(rq, false, &ret);
	if (body == NULL)
		return ret;
	store_t *s = rq->srv->store;
	int64_t now = now_of(rq) != 0 ? now_of(rq) : (int64_t)time(NULL);
	struct store_watch_info info;
	int err = store_watch_get(s, name, now_of(rq), &info);
	if (err != 0) {
		json_decref(body);
		return store_err(rq, err, name);
	}
	struct watch_items it;
	watch_items_init(&it);
	int *results = NULL;
	uint64_t version = 0;
	if (entries_items(rq, body, &info, now, &it, &ret) != 0)
		goto out;
	results = calloc(it.n, sizeof(*results));
	err = results == NULL ? -ENOMEM
	                      : store_watch_add(s, name, it.v, it.n, now, results, &version);
	if (err != 0) {
		ret = store_err(rq, err, name);
		goto out;
	}
	unsigned added = 0;
	for (size_t i = 0; i < it.n; i++)
		added += results[i] == STORE_WATCH_ADDED;
	json_t *o = json_object();
	json_object_set_new(o, "watchlist", json_string(name));
	json_object_set_new(o, "version", json_integer((json_int_t)version));
	json_object_set_new(o, "added", json_integer(added));
	json_object_set_new(o, "refreshed", json_integer((json_int_t)(it.n - added)));
	json_object_set_new(o, "results", watch_results_json(&it, results));
	ret = svc_http_send_json(rq, 200, o);
out:
	free(results);
	watch_items_free(&it);
	return ret;
}

/* ---- POST /api/v1/watchlists/{name}/pivot -------------------------------------------------- */
/* What the body of a pivot request carries. */
struct pivot_req {
	struct pivot_params p;
	int64_t ttl; /* -1: the list's */
	const char *reason;
	char reason_buf[STORE_WATCH_TEXT_BUF]; /* the body is freed before the pivot runs */
	bool dry_run, have_seed;
};

/* ttl_days, reason, dry_run: 0 done, 1 when k is none of them, -1 with
 * msg set. */
static int pivot_own_field(struct pivot_req *pr, const char *k, const json_t *v, char *msg,
                           size_t cap)
{
	if (strcmp(k, "ttl_days") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 36500) {
			snprintf(msg, cap, "ttl_days: an integer 0-36500");
			return -1;
		}
		pr->ttl = json_integer_value(v);
	} else if (strcmp(k, "reason") == 0) {
		const char *r = json_string_value(v);
		if (r == NULL || strlen(r) >= STORE_WATCH_TEXT_BUF) {
			snprintf(msg, cap, "reason: a string of at most %d bytes",
			         STORE_WATCH_TEXT_BUF - 1);
			return -1;
		}
		snprintf(pr->reason_buf, sizeof(pr->reason_buf), "%s", r);
		pr->reason = pr->reason_buf;
	} else if (strcmp(k, "dry_run") == 0) {
		if (!json_is_boolean(v)) {
			snprintf(msg, cap, "dry_run: true or false");
			return -1;
		}
		pr->dry_run = json_is_true(v);
	} else {
		return 1;
	}
	return 0;
}

/* A JSON value as a pivot parameter's text, as GET /api/v1/pivot takes
 * it: a string, an integer, or a list of strings joined by commas.  0 or
 * -1 for any other value. */
static int param_text(const json_t *v, char *val, size_t cap)
{
	if (json_is_string(v)) {
		snprintf(val, cap, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(val, cap, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		size_t i, o = 0;
		json_t *e;
		val[0] = '\0';
		json_array_foreach(v, i, e)
		{
			const char *es = json_string_value(e);
			int n = snprintf(val + o, cap - o, "%s%s", i ? "," : "", es ? es : "?");
			if (n < 0 || (size_t)n >= cap - o)
				break;
			o += (size_t)n;
		}
	} else {
		return -1;
	}
	return 0;
}

/* One field of the body.  0, or -1 with msg set. */
static int pivot_field(struct pivot_req *pr, const char *k, const json_t *v, char *msg, size_t cap)
{
	int r = pivot_own_field(pr, k, v, msg, cap);
	if (r <= 0)
		return r;
	char val[STORE_NAME_BUF + 64];
	if (param_text(v, val, sizeof(val)) != 0) {
		snprintf(msg, cap, "%.40s: not a string or number", k);
		return -1;
	}
	msg[0] = '\0';
	r = pivot_params_set(&pr->p, k, val, msg, cap);
	if (r == 1)
		snprintf(msg, cap,
		         "%.40s: unknown parameter (pivot parameters as in GET /api/v1/pivot, and "
		         "ttl_days, reason, dry_run)",
		         k);
	else if (r != 0 && msg[0] == '\0')
		snprintf(msg, cap, "%s", store_strerror(r));
	if (r != 0)
		return -1;
	pr->have_seed |= strcmp(k, "seed") == 0;
	return 0;
}

/* The body into pr.  0, or -1 with a 400 queued. */
static int pivot_body(struct svc_http_req *rq, struct pivot_req *pr, enum MHD_Result *ret)
{
	json_t *body = body_json(rq, false, ret);
	if (body == NULL)
		return -1;
	char msg[300] = "";
	const char *code = "bad_parameter";
	int err = -1;
	if (!json_is_object(body)) {
		code = "bad_request";
		snprintf(msg, sizeof(msg),
		         "the body is an object of pivot parameters, e.g. "
		         "{\"seed\":\"...\",\"depth\":3}");
	} else if (json_object_get(body, "now") != NULL) {
		snprintf(msg, sizeof(msg), "now: not accepted here");
	} else {
		const char *k;
		json_t *v;
		err = 0;
		json_object_foreach(body, k, v)
		{
			err = pivot_field(pr, k, v, msg, sizeof(msg));
			if (err != 0)
				break;
		}
	}
	json_decref(body);
	if (err != 0)
		*ret = svc_http_error(rq, 400, code, "%s", msg);
	return err;
}

/* The answer to a failed watch_pivot. */
static enum MHD_Result pivot_error(struct svc_http_req *rq, const char *name, int err,
                                   const char *msg)
{
	if (err == STORE_ENOTFOUND && strncmp(msg, "no watchlist", 12) == 0)
		return not_found(rq, name);
	unsigned st = err == STORE_ENOTFOUND                   ? 404
	              : (err == STORE_ELMDB || err == -ENOMEM) ? 500
	              : err == STORE_ELIMIT                    ? 409
	                                                       : 400;
	return svc_http_error(rq, st,
	                      st == 400   ? "bad_parameter"
	                      : st == 404 ? "not_found"
	                      : st == 409 ? "limit"
	                                  : "internal",
	                      "%s", msg[0] ? msg : store_strerror(err));
}

static enum MHD_Result post_pivot(struct svc_http_req *rq, const char *name)
{
	enum MHD_Result ret;
	struct pivot_req pr = {.ttl = -1};
	pivot_params_init(&pr.p);
	pr.p.now = now_of(rq); /* relative since/until count from the watchlists' clock */
	if (pivot_body(rq, &pr, &ret) != 0)
		return ret;
	char msg[300] = "";
	if (!pr.have_seed)
		return svc_http_error(rq, 400, "bad_parameter",
		                      "seed: required (a domain, an IP or a certificate hash)");
	if (pivot_params_check(&pr.p, msg, sizeof(msg)) != 0)
		return svc_http_error(rq, 400, "bad_parameter", "%s", msg);
	svc_http_pivot_caps(&rq->srv->conf, &pr.p); /* as GET /api/v1/pivot */
	json_t *res = NULL;
	msg[0] = '\0';
	int err = watch_pivot(rq->srv->store, name, &pr.p, pr.ttl, who(rq), pr.reason, now_of(rq),
	                      pr.dry_run, &res, msg, sizeof(msg));
	if (err != 0)
		return pivot_error(rq, name, err, msg);
	return svc_http_send_json(rq, 200, res);
}

enum MHD_Result svc_http_watchlist_post(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	if (!list_route(rq, &name, &ret))
		return ret;
	const char *what = svc_http_arg(rq, 1);
	if (what != NULL && strcmp(what, "entries") == 0)
		return post_entries(rq, name);
	if (what != NULL && strcmp(what, "pivot") == 0)
		return post_pivot(rq, name);
	return svc_http_error(rq, 404, "not_found", "no such route");
}

/* ---- DELETE /api/v1/watchlists/{name}/entries/{indicator} ---------------------------------- */
enum MHD_Result svc_http_watchlist_entry_delete(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	unsigned type = 0;
	if (!entry_route(rq, &name, &type, &ret))
		return ret;
	struct watch_items it;
	watch_items_init(&it);
	char msg[300], ascii[STORE_WATCH_IND_BUF];
	if (svc_idn_ascii(svc_http_arg(rq, 2), ascii, sizeof(ascii), msg, sizeof(msg)) != 0 ||
	    watch_items_add(&it, ascii, type, NULL, NULL, 0, 0, 0, 0, msg, sizeof(msg)) != 0) {
		watch_items_free(&it);
		return svc_http_error(rq, 400, "bad_request", "%s", msg);
	}
	int result = 0;
	uint64_t version = 0;
	int err = store_watch_remove(rq->srv->store, name, it.v, 1, now_of(rq), &result, &version);
	if (err != 0) {
		watch_items_free(&it);
		return store_err(rq, err, name);
	}
	if (result != STORE_WATCH_REMOVED_OK) {
		enum MHD_Result r = svc_http_error(rq, 404, "not_found", "%s is not on %s",
		                                   it.v[0].indicator, name);
		watch_items_free(&it);
		return r;
	}
	json_t *o = json_object();
	json_object_set_new(o, "watchlist", json_string(name));
	json_object_set_new(o, "removed", json_string(it.v[0].indicator));
	json_object_set_new(o, "type", json_string(store_watch_type_name(it.v[0].type)));
	json_object_set_new(o, "version", json_integer((json_int_t)version));
	watch_items_free(&it);
	return svc_http_send_json(rq, 200, o);
}

/* ---- GET /api/v1/watchlists/{name}/entries/{indicator} ----------------------------------- */
enum MHD_Result svc_http_watchlist_entry_get(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	const char *name;
	unsigned type = 0;
	if (!entry_route(rq, &name, &type, &ret))
		return ret;
	char ind[STORE_WATCH_IND_BUF], ascii[STORE_WATCH_IND_BUF], why[300];
	if (svc_idn_ascii(svc_http_arg(rq, 2), ascii, sizeof(ascii), why, sizeof(why)) != 0)
		return svc_http_error(rq, 400, "bad_request", "%s", why);
	if (store_watch_indicator_norm(ascii, &type, ind) != 0)
		return svc_http_error(rq, 400, "bad_request",
		                      "'%.80s' is not a domain, an IP or a certificate hash",
		                      svc_http_arg(rq, 2));
	struct store_watch_entry *e = malloc(sizeof(*e));
	if (e == NULL)
		return MHD_NO;
	int err = store_watch_entry_get(rq->srv->store, name, type, ind, now_of(rq), e);
	if (err == STORE_ENOTFOUND) {
		struct store_watch_info info;
		free(e);
		if (store_watch_get(rq->srv->store, name, now_of(rq), &info) != 0)
			return not_found(rq, name);
		return svc_http_error(rq, 404, "not_found", "%s was never on %s", ind, name);
	}
	if (err != 0) {
		free(e);
		return store_err(rq, err, name);
	}
	json_t *o = watch_entry_json(e, true);
	free(e);
	return svc_http_send_json(rq, 200, o);
}
