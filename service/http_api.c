/*
 * http_api.c - the native /api/v1 routes: health, stats, lookups with
 * cursor pagination, and observation pushes streamed into the store.
 */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"
#include "util/base64.h"
#include "util/be.h"
#include "util/time.h"

#define RESPONSE_MAX (256u << 20) /* a materialised response never grows past this */
#define ERRORS_KEPT 100
#define DISCARD_MAX (16u << 20) /* body bytes past the limit we drop before closing */

enum MHD_Result svc_http_healthz(struct svc_http_req *rq)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "version", json_string("0.1.0"));
	json_object_set_new(o, "uptime_seconds",
	                    json_integer((json_int_t)(time(NULL) - rq->srv->started)));
	return svc_http_send_json(rq, 200, o);
}

enum MHD_Result svc_http_stats(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	json_t *o = NULL;
	int err = svc_stats_json(rq->srv->store, &o);
	if (err != 0)
		return svc_http_store_error(rq, err, "stats");
	return svc_http_send_json(rq, 200, o);
}

/* ---- cursors ----------------------------------------------------------------
 * An opaque cursor is base64url(offset as 8 bytes big-endian, the first 8
 * bytes of a SHA-256 of the query).  A cursor is only accepted for the
 * query that produced it. */
static void query_digest(const struct svc_lookup_req *req, uint8_t out[8])
{
	uint8_t buf[1 + STORE_NAME_BUF + 64 + 2 + sizeof(struct store_fence)];
	size_t vl = strnlen(req->value, STORE_NAME_BUF + 63);
	size_t o = 0;
	buf[o++] = (uint8_t)req->kind;
	memcpy(buf + o, req->value, vl);
	o += vl;
	buf[o++] = 0;
	util_be16_store(buf + o, req->rrtype);
	o += 2;
	memcpy(buf + o, &req->fence, sizeof(req->fence));
	o += sizeof(req->fence);
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256(buf, o, d);
	memcpy(out, d, 8);
}

static void cursor_make(const struct svc_lookup_req *req, uint64_t offset, char *out)
{
	uint8_t raw[16];
	util_be64_store(raw, offset);
	query_digest(req, raw + 8);
	util_base64_encode(raw, sizeof(raw), UTIL_B64_URL, out);
}

static int cursor_parse(const struct svc_lookup_req *req, const char *s, uint64_t *offset)
{
	uint8_t raw[24], d[8];
	size_t n;
	if (strlen(s) != 22 || util_base64_decode(s, 22, UTIL_B64_URL, raw, sizeof(raw), &n) != 0 ||
	    n != 16)
		return -1;
	query_digest(req, d);
	if (memcmp(d, raw + 8, 8) != 0)
		return -2;
	*offset = util_be64_load(raw);
	return 0;
}

/* ---- lookups ----------------------------------------------------------------- */
struct lookup_out {
	struct util_buf buf;
	struct svc_lookup_text text; /* table and csv */
	bool ndjson;
	uint64_t n;
	int err;
};

static int lookup_put(struct lookup_out *o, const char *text, size_t n)
{
	int err = 0;
	if (!o->ndjson && o->n > 0)
		err = util_buf_add(&o->buf, ",", 1);
	if (err == 0)
		err = util_buf_add(&o->buf, text, n);
	if (err == 0 && o->ndjson)
		err = util_buf_add(&o->buf, "\n", 1);
	o->n++;
	if (err != 0) {
		o->err = err;
		return -1;
	}
	return 0;
}

static int lookup_emit(enum svc_result_kind kind, json_t *obj, void *ctx)
{
	struct lookup_out *o = ctx;
	char tmp[4096];
	size_t n = json_dumpb(obj, tmp, sizeof(tmp), JSON_COMPACT | JSON_PRESERVE_ORDER);
	int r;
	if (n > 0 && n <= sizeof(tmp)) {
		r = lookup_put(o, tmp, n);
	} else {
		char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		r = s != NULL ? lookup_put(o, s, strlen(s)) : (o->err = -ENOMEM, -1);
		free(s);
	}
	json_decref(obj);
	return r;
}

/* format=table and format=csv: rows into the buffer. */
static int lookup_emit_text(enum svc_result_kind kind, json_t *obj, void *ctx)
{
	struct lookup_out *o = ctx;
	svc_lookup_text_row(&o->text, &o->buf, kind, obj);
	json_decref(obj);
	o->n++;
	if (o->buf.err != 0) {
		o->err = o->buf.err;
		return -1;
	}
	return 0;
}

/* Resolutions skip jansson: the text is the same, the cost a fraction. */
static int lookup_emit_rr(const struct store_rr *rr, void *ctx)
{
	char tmp[4096];
	int n = svc_rr_text(rr, tmp, sizeof(tmp));
	if (n < 0)
		return lookup_emit(SVC_RES_RR, svc_rr_json(rr), ctx);
	return lookup_put(ctx, tmp, (size_t)n);
}

static const char *const fence_names[] = {"first_after", "first_before", "last_after",
                                          "last_before", "since",        "until"};

/* Parse the time-fence parameters into f; false with an error queued. */
bool svc_http_fences(struct svc_http_req *rq, struct store_fence *f, enum MHD_Result *ret)
{
	for (size_t i = 0; i < sizeof(fence_names) / sizeof(fence_names[0]); i++) {
		const char *v = svc_http_param(rq, fence_names[i]);
		if (v == NULL)
			continue;
		if (svc_fence_set(f, fence_names[i], v) != 0) {
			char why[256];
			int64_t t;
			util_time_parse(v, 0, &t, why, sizeof(why));
			*ret = svc_http_bad_param(rq, fence_names[i], "%s", why);
			return false;
		}
	}
	return true;
}

/* limit=: default from the configuration, 0 or anything above the cap
 * means the cap. */
bool svc_http_limit(struct svc_http_req *rq, uint64_t *limit, enum MHD_Result *ret)
{
	uint64_t v = rq->srv->conf.default_limit;
	if (!svc_http_u64_param(rq, "limit", &v, ret))
		return false;
	if (v == 0 || v > rq->srv->conf.max_limit)
		v = rq->srv->conf.max_limit;
	*limit = v;
	return true;
}

static bool wants_ndjson(struct svc_http_req *rq)
{
	const char *a = svc_http_header(rq, MHD_HTTP_HEADER_ACCEPT);
	return a != NULL && strstr(a, "application/x-ndjson") != NULL;
}

/* The kind and value of the lookup from the route and its path; what
 * names it in messages. */
static bool lookup_target(struct svc_http_req *rq, struct svc_lookup_req *req, char *value,
                          size_t cap, const char **what, enum MHD_Result *ret)
{
	static const struct {
		enum svc_route_id route;
		enum svc_lookup_kind kind;
		const char *what;
	} kinds[] = {
	    {SVC_R_LOOKUP_DOMAIN, SVC_LOOKUP_DOMAIN, "domain"},
	    {SVC_R_LOOKUP_IP, SVC_LOOKUP_IP, "ip"},
	    {SVC_R_LOOKUP_CERT, SVC_LOOKUP_CERT, "cert"},
	    {SVC_R_LOOKUP_KEY, SVC_LOOKUP_KEY, "key"},
	    {SVC_R_LOOKUP_SUBJECT, SVC_LOOKUP_SUBJECT, "subject"},
	    {SVC_R_LOOKUP_SERIAL, SVC_LOOKUP_SERIAL, "serial"},
	    {SVC_R_LOOKUP_JARM, SVC_LOOKUP_JARM, "jarm"},
	    {SVC_R_LOOKUP_JA3S, SVC_LOOKUP_JA3S, "ja3s"},
	};
	const char *a0 = svc_http_arg(rq, 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].route == rq->route) {
			req->kind = kinds[i].kind;
			*what = kinds[i].what;
		}
	}
	if (req->kind == SVC_LOOKUP_SERIAL)
		req->issuer = svc_http_param(rq, "issuer");
	if (req->kind == SVC_LOOKUP_IP && svc_http_nargs(rq) == 2)
		snprintf(value, cap, "%s/%s", a0, svc_http_arg(rq, 1));
	else
		snprintf(value, cap, "%s", a0);
	if (strlen(a0) >= STORE_NAME_BUF + 32) {
		*ret = svc_http_error(rq, 400, "bad_request", "%s: value too long", *what);
		return false;
	}
	char why[256];
	if (req->kind == SVC_LOOKUP_DOMAIN &&
	    svc_idn_ascii(a0, value, cap, why, sizeof(why)) != 0) {
		*ret = svc_http_error(rq, 400, "bad_request", "%s: %s", *what, why);
		return false;
	}
	req->value = value;
	return true;
}

/* rrtype, the fences, limit, and offset or cursor. */
static bool lookup_params(struct svc_http_req *rq, struct svc_lookup_req *req, const char *what,
                          enum MHD_Result *ret)
{
	const char *t = req->kind == SVC_LOOKUP_DOMAIN ? svc_http_param(rq, "rrtype") : NULL;
	if (t != NULL && strcasecmp(t, "ANY") != 0 &&
	    store_rrtype_parse(t, strlen(t), &req->rrtype) != 0) {
		*ret = svc_http_bad_param(rq, "rrtype", "unknown RR type '%.20s'", t);
		return false;
	}
	if (!svc_http_fences(rq, &req->fence, ret) || !svc_http_limit(rq, &req->limit, ret))
		return false;
	const char *offs = svc_http_param(rq, "offset");
	const char *cursor = svc_http_param(rq, "cursor");
	if (offs != NULL && cursor != NULL) {
		*ret = svc_http_bad_param(rq, "cursor", "give either cursor or offset, not both");
		return false;
	}
	if (!svc_http_u64_param(rq, "offset", &req->offset, ret) || svc_http_reject_unused(rq, ret))
		return false;
	char msg[256];
	if (svc_lookup_check(req, msg, sizeof(msg)) != 0) {
		*ret = svc_http_error(rq, 400, "bad_request", "%s: %s", what, msg);
		return false;
	}
	int c = cursor != NULL ? cursor_parse(req, cursor, &req->offset) : 0;
	if (c != 0)
		*ret = svc_http_bad_param(rq, "cursor",
		                          c == -1 ? "not a cursor from this server"
		                                  : "belongs to a different query");
	return c == 0;
}

/* The JSON form opens with the query and the results array. */
static void lookup_head(struct lookup_out *out, const char *what, const char *value)
{
	json_t *q = json_object();
	json_object_set_new(q, "type", json_string(what));
	json_object_set_new(q, "value", json_string(value));
	util_buf_adds(&out->buf, "{\"query\":");
	util_buf_add_json(&out->buf, q);
	util_buf_adds(&out->buf, ",\"results\":[");
	json_decref(q);
}

static int lookup_tail(struct lookup_out *out, const struct svc_lookup_res *res, const char *next)
{
	char tail[160];
	snprintf(tail, sizeof(tail), "],\"count\":%llu,\"limited\":%s,\"next_cursor\":%s%s%s}\n",
	         (unsigned long long)res->emitted, res->limited ? "true" : "false",
	         res->limited ? "\"" : "", res->limited ? next : "null", res->limited ? "\"" : "");
	return util_buf_adds(&out->buf, tail);
}

enum MHD_Result svc_http_lookup(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct svc_lookup_req req = {.include_certs = true, .rr_cb = lookup_emit_rr};
	store_fence_init(&req.fence);
	char value[STORE_NAME_BUF + 64];
	const char *what;
	struct lookup_out out = {.ndjson = wants_ndjson(rq)};
	if (!lookup_target(rq, &req, value, sizeof(value), &what, &ret) ||
	    !svc_http_text_fmt(rq, &out.text.fmt, &ret) || !lookup_params(rq, &req, what, &ret))
		return ret;
	bool text = out.text.fmt != SVC_TEXT_JSON;
	util_buf_init(&out.buf, RESPONSE_MAX);
	if (text)
		req.rr_cb = NULL;
	else if (!out.ndjson)
		lookup_head(&out, what, value);
	/* the lookup reads in one short transaction and materialises; the
	 * response is sent after the transaction ended */
	struct svc_lookup_res res;
	int err =
	    svc_lookup(rq->srv->store, &req, text ? lookup_emit_text : lookup_emit, &out, &res);
	if (out.err != 0)
		err = out.err;
	else if (err == -1)
		err = STORE_ELMDB;
	char next[32] = "";
	if (err == 0 && res.limited)
		cursor_make(&req, req.offset + res.emitted, next);
	if (err == 0 && text)
		svc_lookup_text_end(&out.text, &out.buf);
	if (err == 0 && text && out.buf.err != 0)
		err = out.buf.err;
	if (err == 0 && !text && !out.ndjson && lookup_tail(&out, &res, next) != 0)
		err = -E2BIG;
	if (err != 0) {
		util_buf_free(&out.buf);
		return svc_http_store_error(rq, err, what);
	}
	size_t len;
	char *body = util_buf_take(&out.buf, &len);
	const char *hdrs[] = {"X-Next-Cursor", next, NULL, NULL, NULL};
	const char *ctype = text         ? svc_http_text_ctype(out.text.fmt)
	                    : out.ndjson ? "application/x-ndjson"
	                                 : "application/json";
	return svc_http_send_h(rq, 200, ctype, body, len, res.limited ? hdrs : NULL);
}

/* ---- observations ----------------------------------------------------------- */
static void on_reject(const char *input, uint64_t line, const char *reason, void *ctx)
{
	struct svc_http_req *rq = ctx;
	rq->errors_total++;
	if (json_array_size(rq->errors) >= ERRORS_KEPT)
		return;
	json_t *e = json_object();
	json_object_set_new(e, "line", json_integer((json_int_t)line));
	json_t *r = json_string(reason);
	json_object_set_new(e, "reason", r ? r : json_string("invalid line"));
	json_array_append_new(rq->errors, e);
}

bool svc_http_observations_check(struct svc_http_req *rq, char *msg, size_t cap)
{
	const char *format = svc_http_param(rq, "format");
	const char *sensor = svc_http_param(rq, "sensor");
	if (format != NULL && !ingest_format_known(format)) {
		snprintf(msg, cap, "format: unknown format '%.40s' (known: %s)", format,
		         ingest_format_list());
		return false;
	}
	if (sensor != NULL && (sensor[0] == '\0' || strlen(sensor) >= STORE_SENSOR_MAX)) {
		snprintf(msg, cap, "sensor: 1 to %d characters", STORE_SENSOR_MAX - 1);
		return false;
	}
	if (!svc_idem_check(rq, msg, cap))
		return false;
	for (unsigned i = 0; i < rq->nparams; i++) {
		if (!rq->params[i].used) {
			snprintf(msg, cap, "%.60s: unknown parameter", rq->params[i].name);
			return false;
		}
	}
	return true;
}

/* Runs on the first call with body data: errors cannot be answered then,
 * so they are kept for the end of the body. */
static int obs_start(struct svc_http_req *rq)
{
	int err = svc_idem_begin(rq);
	if (err != 0 || rq->idem_done)
		return err; /* a replay needs no stream */
	struct ingest_opts o;
	ingest_opts_init(&o);
	const char *format = svc_http_param(rq, "format");
	o.format = format != NULL ? format : "auto";
	o.sensor = svc_http_param(rq, "sensor");
	o.quiet = true;
	o.stderr_rejects = 0;
	o.batch = 2000;
	o.on_reject = on_reject;
	o.reject_ctx = rq;
	rq->errors = json_array();
	err = ingest_stream_new(&rq->ingest, rq->srv->store, &o);
	if (err == 0)
		err = ingest_stream_begin(rq->ingest, "body", NULL, 0);
	if (err == 0 && rq->idem) {
		/* each commit carries the key's record; a resume numbers its
		 * lines on from what was committed */
		ingest_stream_set_position(rq->ingest, svc_idem_position, rq);
		ingest_stream_set_line(rq->ingest, rq->idem_base.line);
	}
	return err;
}

/* Flush, commit and report.  The accepted lines are durable when this
 * returns. */
static int obs_finish(struct svc_http_req *rq, struct ingest_summary *sum, bool cut)
{
	/* a cut body: a partial last line is dropped, not parsed */
	int err = cut ? 0 : ingest_stream_end(rq->ingest);
	if (err == 0 && !cut && rq->idem) {
		rq->idem_final = true; /* the record of the last commit says done */
		err = ingest_stream_commit(rq->ingest, NULL, 0);
	}
	int err2 = ingest_stream_finish(rq->ingest, sum);
	ingest_stream_free(rq->ingest);
	rq->ingest = NULL;
	struct svc_metrics *m = rq->srv->metrics;
	atomic_fetch_add(&m->records_ingested, sum->records);
	atomic_fetch_add(&m->lines_accepted, sum->accepted);
	atomic_fetch_add(&m->lines_rejected, sum->rejected);
	return err2 != 0 ? err2 : err;
}

static json_t *obs_summary(struct svc_http_req *rq, const struct ingest_summary *sum)
{
	/* with an Idempotency-Key: the counts of the whole body, earlier
	 * attempts' included */
	const struct svc_idem_counts *b = &rq->idem_base;
	json_t *o = json_object();
	json_object_set_new(
	    o, "accepted",
	    json_integer((json_int_t)(b->accepted + b->skipped + sum->accepted + sum->skipped)));
	json_object_set_new(o, "rejected", json_integer((json_int_t)(b->rejected + sum->rejected)));
	json_object_set_new(o, "records", json_integer((json_int_t)(b->records + sum->records)));
	json_object_set_new(o, "skipped", json_integer((json_int_t)(b->skipped + sum->skipped)));
	if (b->line > 0)
		json_object_set_new(o, "resumed_after_line", json_integer((json_int_t)b->line));
	if (sum->ws.unsupported > 0) /* a ClickHouse store: fingerprints */
		json_object_set_new(o, "not_recorded",
		                    json_integer((json_int_t)sum->ws.unsupported));
	json_object_set_new(o, "errors", json_incref(rq->errors));
	if (rq->errors_total > ERRORS_KEPT)
		json_object_set_new(o, "errors_truncated", json_true());
	return o;
}

/* Keep {"error":{code, message}} (into o, or a new object) as the answer
 * given once the body ended; the rest of the body is dropped. */
static void obs_defer(struct svc_http_req *rq, json_t *o, unsigned status, const char *code,
                      const char *msg)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", json_string(msg));
	if (o == NULL)
		o = json_object();
	json_object_set_new(o, "error", e);
	rq->deferred = o;
	rq->deferred_status = status;
	rq->too_large = true;
}

/* A chunked body that grew past the limit: the complete lines before the
 * limit are committed and reported. */
static void obs_overflow(struct svc_http_req *rq, const char *data, size_t *size, uint64_t max)
{
	atomic_fetch_add(&rq->srv->metrics->bodies_too_large, 1);
	size_t room = (size_t)(max - rq->body_bytes);
	const char *nl = room > 0 ? memrchr(data, '\n', room) : NULL;
	int err = 0;
	if (nl != NULL)
		err = ingest_stream_feed(rq->ingest, data, (size_t)(nl - data) + 1);
	struct ingest_summary sum;
	int err2 = obs_finish(rq, &sum, true);
	if (err == 0)
		err = err2;
	char msg[200];
	snprintf(msg, sizeof(msg),
	         "the body is over the limit of %llu bytes; lines "
	         "before the limit were %s",
	         (unsigned long long)max, err == 0 ? "committed" : "not committed");
	obs_defer(rq, obs_summary(rq, &sum), 413, "payload_too_large", msg);
	rq->discarded = *size;
	*size = 0;
}

/* A replayed push's body is dropped; a resumed one's first bytes (the
 * lines committed before) are skipped.  Returns the bytes left to feed. */
static size_t obs_skip(struct svc_http_req *rq, const char **data, size_t size)
{
	if (rq->idem_done)
		return 0;
	size_t n = rq->idem_skip < size ? (size_t)rq->idem_skip : size;
	rq->idem_skip -= n;
	*data += n;
	return size - n;
}

static enum MHD_Result obs_chunk(struct svc_http_req *rq, const char *data, size_t *size)
{
	if (rq->too_large) {
		/* libmicrohttpd cannot answer while body data is being delivered:
		 * drop the rest and answer at its end, unless it goes on and on */
		rq->discarded += *size;
		*size = 0;
		return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	uint64_t max = rq->srv->conf.max_body;
	if (rq->body_bytes + *size > max) {
		obs_overflow(rq, data, size, max);
		return MHD_YES;
	}
	rq->body_bytes += *size;
	size_t n = obs_skip(rq, &data, *size);
	int err = n > 0 ? ingest_stream_feed(rq->ingest, data, n) : 0;
	*size = 0;
	if (err != 0)
		rq->ingest_failed = true;
	return MHD_YES;
}

/* The store failed: 507 for a full disk, else 500, saying what was
 * committed: with an Idempotency-Key exactly (the key's record: a retry
 * resumes there), without one only that a part may have been. */
static enum MHD_Result obs_failed(struct svc_http_req *rq, int err)
{
	bool full = err == -ENOSPC || err == STORE_ENOSPACE;
	const char *d = store_last_error();
	json_t *committed = svc_idem_committed(rq);
	char msg[768];
	snprintf(msg, sizeof(msg), "the store failed: %s%s%s; %s", store_strerror(err),
	         *d ? ": " : "", d,
	         rq->idem ? "what was committed is in \"committed\"; a retry with the same "
	                    "Idempotency-Key and body goes on from there"
	                  : "lines before the failure may have been committed, none after it "
	                    "(send an Idempotency-Key to make a retry safe)");
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(full ? "insufficient_storage" : "store_failed"));
	json_object_set_new(e, "message", json_string(msg));
	json_t *o = json_object();
	json_object_set_new(o, "error", e);
	if (rq->idem)
		json_object_set_new(o, "committed", committed != NULL ? committed : json_null());
	return svc_http_send_json(rq, full ? 507 : 500, o);
}

/* The body ended: the deferred answer, or commit and report. */
static enum MHD_Result obs_end(struct svc_http_req *rq)
{
	if (rq->too_large) {
		json_t *o = rq->deferred;
		rq->deferred = NULL;
		return svc_http_send_json(rq, rq->deferred_status, o);
	}
	struct ingest_summary sum;
	if (rq->idem_done) {
		/* a retry of a push that was committed whole: its record */
		memset(&sum, 0, sizeof(sum));
		json_t *o = obs_summary(rq, &sum);
		json_object_del(o, "resumed_after_line");
		json_object_set_new(o, "replayed", json_true());
		return svc_http_send_json(rq, 200, o);
	}
	int err = obs_finish(rq, &sum, false);
	if (err != 0 || rq->ingest_failed)
		return obs_failed(rq, err);
	return svc_http_send_json(rq, 200, obs_summary(rq, &sum));
}

enum MHD_Result svc_http_observations(struct svc_http_req *rq, const char *data, size_t *size)
{
	if (rq->ingest == NULL && !rq->idem_done && !rq->too_large && rq->deferred == NULL) {
		int err = obs_start(rq);
		if (err == -EBUSY) {
			obs_defer(rq, NULL, 409, "conflict",
			          "a push with this Idempotency-Key is in progress");
		} else if (err != 0) {
			char msg[200];
			snprintf(msg, sizeof(msg), "cannot start ingest: %s", store_strerror(err));
			obs_defer(rq, NULL, 500, "internal", msg);
		}
	}
	if (*size > 0)
		return obs_chunk(rq, data, size);
	return obs_end(rq);
}

void svc_http_observations_cleanup(struct svc_http_req *rq)
{
	if (rq->ingest != NULL) {
		/* the client went away mid-body */
		ingest_stream_free(rq->ingest);
		rq->ingest = NULL;
	}
	svc_idem_release(rq); /* after the writer stopped */
	json_decref(rq->errors);
	rq->errors = NULL;
	json_decref(rq->deferred);
	rq->deferred = NULL;
}
