/*
 * http_dnsdb.c - DNSDB API v2 compatible routes, so DNSDB clients (dnsdbq,
 * the Python and Go libraries) work against infrapivot.
 *
 * Responses use SAF framing: {"cond":"begin"}, one {"obj":{...}} line per
 * result, then {"cond":"succeeded"} or {"cond":"limited","msg":...}.
 * Names carry trailing dots as DNSDB prints them.
 *
 * rrset semantics: infrapivot stores single records.  An rrset is rebuilt
 * as the records of one owner name, type and bailiwick that were always
 * seen together: the same time_first, time_last and count.  rrset results
 * carry rdata as an array; rdata results carry one record and rdata as a
 * string, as DNSDB does.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"
#include "util/time.h"

#define RESPONSE_MAX (256u << 20)
#define DNSDB_DEFAULT_LIMIT 10000
#define RUN_MAX 4096 /* records of one name and type grouped at a time */

enum MHD_Result svc_http_dnsdb_ping(struct svc_http_req *rq)
{
	json_t *o = json_object();
	json_object_set_new(o, "ping", json_string("ok"));
	return svc_http_send_json(rq, 200, o);
}

enum MHD_Result svc_http_dnsdb_rate(struct svc_http_req *rq)
{
	json_t *r = json_object();
	json_object_set_new(r, "reset", json_string("n/a"));
	json_object_set_new(r, "limit", json_string("unlimited"));
	json_object_set_new(r, "remaining", json_string("n/a"));
	json_t *o = json_object();
	json_object_set_new(o, "rate", r);
	return svc_http_send_json(rq, 200, o);
}

/* Add the trailing dot to the name fields of rdata. */
static void rdata_dotted(uint16_t type, const char *rdata, char *out, size_t cap)
{
	size_t l = strlen(rdata);
	int names_from = -1, names_upto = 0; /* token range that holds names */
	switch (type) {
	case STORE_RR_CNAME:
	case STORE_RR_NS:
	case STORE_RR_PTR:
	case STORE_RR_DNAME:
		names_from = 0;
		names_upto = 1;
		break;
	case STORE_RR_MX:
		names_from = 1;
		names_upto = 2;
		break;
	case STORE_RR_SRV:
		names_from = 3;
		names_upto = 4;
		break;
	case STORE_RR_SOA:
		names_from = 0;
		names_upto = 2;
		break;
	default:
		break;
	}
	if (names_from < 0 || l == 0) {
		snprintf(out, cap, "%s", rdata);
		return;
	}
	size_t o = 0;
	int tok = 0;
	size_t i = 0;
	while (i < l && o + 2 < cap) {
		size_t b = i;
		while (i < l && rdata[i] != ' ')
			i++;
		size_t tl = i - b;
		if (o + tl + 2 >= cap)
			break;
		memcpy(out + o, rdata + b, tl);
		o += tl;
		if (tok >= names_from && tok < names_upto && tl > 0 && rdata[i - 1] != '.')
			out[o++] = '.';
		while (i < l && rdata[i] == ' ' && o + 1 < cap) {
			out[o++] = ' ';
			i++;
		}
		tok++;
	}
	out[o] = '\0';
}

static void name_dotted(const char *name, char *out, size_t cap)
{
	size_t l = strlen(name);
	if (l == 0 || name[l - 1] == '.')
		snprintf(out, cap, "%s", l ? name : ".");
	else
		snprintf(out, cap, "%s.", name);
}

struct group {
	char bailiwick[STORE_NAME_BUF];
	int64_t tf, tl;
	uint64_t count;
	json_t *rdata; /* array */
};

struct dnsdb_ctx {
	bool rrset, summarize, humantime;
	bool aggr;       /* false: every record its own rrset row (aggr=f) */
	uint16_t rrtype; /* 0 = any */
	bool has_bw;
	char bailiwick[STORE_NAME_BUF];
	uint64_t offset, limit, max_count;
	uint64_t seen, emitted;
	bool limited, stopped;
	const char *limit_msg;
	/* summarize */
	uint64_t sum_count, num_results;
	int64_t tf_min, tl_max;
	/* the current run of one name and type (rrset grouping) */
	char run_name[STORE_NAME_BUF];
	uint16_t run_type;
	struct group *groups;
	size_t ngroups, cap_groups, run_records;
	struct util_buf *out;
	int err;
};

static json_t *time_value(const struct dnsdb_ctx *c, int64_t t)
{
	if (!c->humantime)
		return json_integer(t);
	char buf[32];
	util_time_format(t, buf, sizeof(buf));
	/* DNSDB's human form: "2024-01-31 12:00:00" */
	buf[10] = ' ';
	buf[19] = '\0';
	return json_string(buf);
}

/* Apply offset, limit and max_count to one result; obj is consumed. */
static int emit_obj(struct dnsdb_ctx *c, json_t *obj, uint64_t count, int64_t tf, int64_t tl)
{
	c->seen++;
	if (c->seen <= c->offset) {
		json_decref(obj);
		return 0;
	}
	if (c->emitted >= c->limit) {
		c->limited = true;
		c->limit_msg = "Result limit reached";
		c->stopped = true;
		json_decref(obj);
		return STORE_STOP;
	}
	c->emitted++;
	if (c->summarize) {
		json_decref(obj);
		c->sum_count += count;
		c->num_results++;
		if (c->num_results == 1 || tf < c->tf_min)
			c->tf_min = tf;
		if (c->num_results == 1 || tl > c->tl_max)
			c->tl_max = tl;
		if (c->max_count > 0 && c->sum_count >= c->max_count) {
			c->limited = true;
			c->limit_msg = "max_count reached";
			c->stopped = true;
			return STORE_STOP;
		}
		return 0;
	}
	int err = util_buf_adds(c->out, "{\"obj\":");
	if (err == 0)
		err = util_buf_add_json(c->out, obj);
	if (err == 0)
		err = util_buf_adds(c->out, "}\n");
	json_decref(obj);
	if (err != 0) {
		c->err = err;
		c->stopped = true;
		return STORE_STOP;
	}
	return 0;
}

static json_t *obj_head(const struct dnsdb_ctx *c, uint64_t count, int64_t tf, int64_t tl,
                        const char *rrname, uint16_t rrtype)
{
	char nb[STORE_NAME_BUF + 2], tb[16];
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)count));
	json_object_set_new(o, "time_first", time_value(c, tf));
	json_object_set_new(o, "time_last", time_value(c, tl));
	name_dotted(rrname, nb, sizeof(nb));
	json_object_set_new(o, "rrname", json_string(nb));
	json_object_set_new(o, "rrtype", json_string(store_rrtype_name(rrtype, tb)));
	return o;
}

static int flush_run(struct dnsdb_ctx *c)
{
	int r = 0;
	for (size_t i = 0; i < c->ngroups; i++) {
		struct group *g = &c->groups[i];
		if (r == 0 && !c->stopped) {
			json_t *o = obj_head(c, g->count, g->tf, g->tl, c->run_name, c->run_type);
			if (g->bailiwick[0] != '\0') {
				char bb[STORE_NAME_BUF + 2];
				name_dotted(g->bailiwick, bb, sizeof(bb));
				json_object_set_new(o, "bailiwick", json_string(bb));
			}
			json_object_set_new(o, "rdata", json_incref(g->rdata));
			r = emit_obj(c, o, g->count, g->tf, g->tl);
		}
		json_decref(g->rdata);
	}
	c->ngroups = 0;
	c->run_records = 0;
	return r;
}

/* The group of the run with rr's times, count and bailiwick, added when
 * new (un-aggregated: always a new one); NULL when out of memory. */
static struct group *group_of(struct dnsdb_ctx *c, const struct store_rr *rr, const char *bw)
{
	for (size_t i = 0; c->aggr && i < c->ngroups; i++) {
		struct group *h = &c->groups[i];
		if (h->tf == rr->time_first && h->tl == rr->time_last && h->count == rr->count &&
		    strcmp(h->bailiwick, bw) == 0)
			return h;
	}
	if (c->ngroups == c->cap_groups) {
		size_t nc = c->cap_groups ? c->cap_groups * 2 : 16;
		struct group *ng = realloc(c->groups, nc * sizeof(*ng));
		if (ng == NULL)
			return NULL;
		c->groups = ng;
		c->cap_groups = nc;
	}
	struct group *g = &c->groups[c->ngroups++];
	snprintf(g->bailiwick, sizeof(g->bailiwick), "%s", bw);
	g->tf = rr->time_first;
	g->tl = rr->time_last;
	g->count = rr->count;
	g->rdata = json_array();
	return g;
}

static int on_rrset(const struct store_rr *rr, void *ctx)
{
	struct dnsdb_ctx *c = ctx;
	if (c->rrtype != 0 && rr->rrtype != c->rrtype)
		return 0;
	const char *bw = rr->bailiwick ? rr->bailiwick : "";
	if (c->has_bw && strcmp(bw, c->bailiwick) != 0)
		return 0;
	if (c->run_records >= RUN_MAX || rr->rrtype != c->run_type ||
	    strcmp(rr->rrname, c->run_name) != 0) {
		int r = flush_run(c);
		if (r != 0)
			return r;
		snprintf(c->run_name, sizeof(c->run_name), "%s", rr->rrname);
		c->run_type = rr->rrtype;
	}
	struct group *g = group_of(c, rr, bw);
	if (g == NULL) {
		c->err = -ENOMEM;
		return STORE_STOP;
	}
	char rd[STORE_RDATA_MAX + 8];
	rdata_dotted(rr->rrtype, rr->rdata, rd, sizeof(rd));
	json_t *s = json_string(rd);
	json_array_append_new(g->rdata, s ? s : json_string(""));
	c->run_records++;
	return 0;
}

static int on_rdata(const struct store_rr *rr, void *ctx)
{
	struct dnsdb_ctx *c = ctx;
	if (c->rrtype != 0 && rr->rrtype != c->rrtype)
		return 0;
	json_t *o = obj_head(c, rr->count, rr->time_first, rr->time_last, rr->rrname, rr->rrtype);
	char rd[STORE_RDATA_MAX + 8];
	rdata_dotted(rr->rrtype, rr->rdata, rd, sizeof(rd));
	json_t *s = json_string(rd);
	json_object_set_new(o, "rdata", s ? s : json_string(""));
	return emit_obj(c, o, rr->count, rr->time_first, rr->time_last);
}

/* DNSDB times: epoch seconds, or a negative number of seconds before now.
 * ISO dates and -7d style are accepted too. */
static int dnsdb_time(const char *v, int64_t *out)
{
	const char *p = v;
	bool neg = false;
	if (*p == '-') {
		neg = true;
		p++;
	}
	uint64_t n;
	if (svc_parse_u64(p, &n) == 0 && n <= (uint64_t)INT64_MAX / 2) {
		*out = neg ? (int64_t)time(NULL) - (int64_t)n : (int64_t)n;
		return 0;
	}
	return store_time_parse(v, (int64_t)time(NULL), out);
}

/* A DNSDB boolean: t, true, 1 (or the bare parameter) and f, false, 0,
 * in any case, as DNSDB and its clients (dnsdbq sends aggr=f) write them. */
static bool bool_param(struct svc_http_req *rq, const char *name, bool *out, enum MHD_Result *ret)
{
	static const char *const yes[] = {"", "t", "true", "1"}, *const no[] = {"f", "false", "0"};
	const char *v = svc_http_param(rq, name);
	if (v == NULL)
		return true;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	*ret =
	    svc_http_bad_param(rq, name, "'%.20s' is not a boolean (t, f, true, false, 1, 0)", v);
	return false;
}

enum dnsdb_mode { BY_NAME, BY_TARGET, BY_ADDR };

/* What the path asks for: the rrset of a name, the names whose rdata is a
 * name, or those whose rdata is an address in a prefix. */
struct dnsdb_query {
	enum dnsdb_mode mode;
	char name[STORE_NAME_BUF];
	uint8_t addr[16];
	unsigned plen;
	struct store_fence fence;
};

static bool dnsdb_path_kind(struct svc_http_req *rq, struct dnsdb_query *q, enum MHD_Result *ret)
{
	const char *kind = svc_http_arg(rq, 0), *by = svc_http_arg(rq, 1);
	unsigned nargs = svc_http_nargs(rq);
	if (strcmp(kind, "rrset") == 0 && strcmp(by, "name") == 0) {
		q->mode = BY_NAME;
	} else if (strcmp(kind, "rdata") == 0 && strcmp(by, "name") == 0 && nargs <= 4) {
		q->mode = BY_TARGET;
	} else if (strcmp(kind, "rdata") == 0 && strcmp(by, "ip") == 0 && nargs == 3) {
		q->mode = BY_ADDR;
	} else {
		*ret = svc_http_error(
		    rq, 404, "not_found",
		    "supported: lookup|summarize /rrset/name/NAME[/TYPE[/BAILIWICK]], "
		    "/rdata/name/NAME[/TYPE], /rdata/ip/ADDR[,PREFIXLEN]");
		return false;
	}
	return true;
}

static bool dnsdb_fence(struct svc_http_req *rq, struct store_fence *fence, enum MHD_Result *ret)
{
	static const struct {
		const char *name;
		size_t off;
	} tf[] = {
	    {"time_first_before", offsetof(struct store_fence, first_before)},
	    {"time_first_after", offsetof(struct store_fence, first_after)},
	    {"time_last_before", offsetof(struct store_fence, last_before)},
	    {"time_last_after", offsetof(struct store_fence, last_after)},
	};
	store_fence_init(fence);
	for (size_t i = 0; i < sizeof(tf) / sizeof(tf[0]); i++) {
		const char *v = svc_http_param(rq, tf[i].name);
		if (v == NULL)
			continue;
		int64_t t;
		if (dnsdb_time(v, &t) != 0) {
			*ret = svc_http_bad_param(rq, tf[i].name,
			                          "'%.40s' is not epoch seconds or -SECONDS", v);
			return false;
		}
		memcpy((char *)fence + tf[i].off, &t, sizeof(t));
	}
	return true;
}

/* limit, offset, max_count, aggr, humantime.  Other parameters (swclient,
 * version, id ...) are what DNSDB clients add; they are ignored. */
static bool dnsdb_options(struct svc_http_req *rq, struct dnsdb_ctx *c, enum MHD_Result *ret)
{
	uint64_t limit = DNSDB_DEFAULT_LIMIT;
	if (!svc_http_u64_param(rq, "limit", &limit, ret))
		return false;
	if (limit == 0 || limit > rq->srv->conf.max_limit)
		limit = rq->srv->conf.max_limit;
	c->limit = limit;
	if (!svc_http_u64_param(rq, "offset", &c->offset, ret) ||
	    !svc_http_u64_param(rq, "max_count", &c->max_count, ret))
		return false;
	c->aggr = true;
	if (!bool_param(rq, "aggr", &c->aggr, ret) ||
	    !bool_param(rq, "humantime", &c->humantime, ret))
		return false;
	if (c->max_count > 0 && !c->summarize) {
		*ret = svc_http_bad_param(rq, "max_count", "only for summarize");
		return false;
	}
	return true;
}

/* ADDR or ADDR,PREFIXLEN */
static bool dnsdb_addr(struct svc_http_req *rq, const char *value, struct dnsdb_query *q,
                       enum MHD_Result *ret)
{
	char v[STORE_ADDR_BUF + 8];
	if (strlen(value) >= sizeof(v)) {
		*ret = svc_http_error(rq, 400, "bad_request", "ip: too long");
		return false;
	}
	snprintf(v, sizeof(v), "%s", value);
	char *comma = strchr(v, ',');
	if (comma != NULL)
		*comma = '/';
	if (strchr(v, '-') != NULL) {
		*ret = svc_http_error(rq, 400, "bad_request",
		                      "ip: address ranges are not supported; use ADDR,PREFIXLEN");
		return false;
	}
	struct svc_lookup_req lr = {.kind = SVC_LOOKUP_IP, .value = v};
	char msg[256];
	if (svc_lookup_check(&lr, msg, sizeof(msg)) != 0) {
		*ret = svc_http_error(rq, 400, "bad_request", "ip: %s", msg);
		return false;
	}
	store_prefix_parse(v, strlen(v), q->addr, &q->plen);
	return true;
}

static bool dnsdb_name(struct svc_http_req *rq, const char *value, struct dnsdb_query *q,
                       enum MHD_Result *ret)
{
	/* U-labels as their A-label form (wildcard ends kept) */
	char ascii[STORE_NAME_BUF + 8], why[256];
	if (svc_idn_ascii(value, ascii, sizeof(ascii), why, sizeof(why)) != 0) {
		*ret = svc_http_error(rq, 400, "bad_request", "name: %s", why);
		return false;
	}
	if (store_name_pattern(ascii, strlen(ascii), q->name) == 0)
		return true;
	const char *hint = "";
	if (strchr(value, '*') != NULL)
		hint = " (wildcards: *.example.com or www.example.*, one at either end)";
	*ret = svc_http_error(rq, 400, "bad_request", "name: '%.80s' is not a valid domain name%s",
	                      value, hint);
	return false;
}

/* The optional /TYPE and /BAILIWICK segments. */
static bool dnsdb_type_bailiwick(struct svc_http_req *rq, struct dnsdb_ctx *c, enum MHD_Result *ret)
{
	unsigned nargs = svc_http_nargs(rq);
	if (nargs >= 4) {
		const char *t = svc_http_arg(rq, 3);
		if (strcasecmp(t, "ANY") != 0 &&
		    store_rrtype_parse(t, strlen(t), &c->rrtype) != 0) {
			*ret = svc_http_error(rq, 400, "bad_request",
			                      "rrtype: unknown type '%.20s'", t);
			return false;
		}
	}
	if (nargs == 5) {
		const char *b = svc_http_arg(rq, 4);
		if (store_name_norm(b, strlen(b), c->bailiwick, false) != 0) {
			*ret = svc_http_error(rq, 400, "bad_request",
			                      "bailiwick: '%.80s' is not a domain name", b);
			return false;
		}
		c->has_bw = true;
	}
	return true;
}

static bool dnsdb_parse(struct svc_http_req *rq, struct dnsdb_query *q, struct dnsdb_ctx *c,
                        enum MHD_Result *ret)
{
	if (!dnsdb_path_kind(rq, q, ret))
		return false;
	c->rrset = q->mode == BY_NAME;
	if (!dnsdb_fence(rq, &q->fence, ret) || !dnsdb_options(rq, c, ret))
		return false;
	const char *value = svc_http_arg(rq, 2);
	if (q->mode == BY_ADDR ? !dnsdb_addr(rq, value, q, ret) : !dnsdb_name(rq, value, q, ret))
		return false;
	return dnsdb_type_bailiwick(rq, c, ret);
}

/* Stream the records into c->out in one read transaction. */
static int dnsdb_read(store_t *store, const struct dnsdb_query *q, struct dnsdb_ctx *c)
{
	store_rtxn_t *r;
	int err = store_read_begin(store, &r);
	if (err != 0)
		return err;
	if (q->mode == BY_NAME) {
		err = store_rr_by_name(r, q->name, c->rrtype, &q->fence, on_rrset, c);
		if (err != 0 || c->err != 0)
			c->stopped = true;
		flush_run(c); /* the last run; only frees when stopped */
	} else if (q->mode == BY_TARGET) {
		err = store_rr_by_target_pattern(r, q->name, &q->fence, on_rdata, c);
	} else {
		err = store_rr_by_addr(r, q->addr, q->plen, &q->fence, on_rdata, c);
	}
	store_read_end(r);
	return err;
}

static void dnsdb_add_line(struct util_buf *out, json_t *o)
{
	util_buf_add_json(out, o);
	util_buf_adds(out, "\n");
	json_decref(o);
}

/* The summary object (summarize) and the closing condition. */
static void dnsdb_trailer(struct dnsdb_ctx *c, struct util_buf *out)
{
	if (c->summarize) {
		json_t *o = json_object();
		json_object_set_new(o, "count", json_integer((json_int_t)c->sum_count));
		json_object_set_new(o, "num_results", json_integer((json_int_t)c->num_results));
		if (c->num_results > 0) {
			json_object_set_new(o, "time_first", time_value(c, c->tf_min));
			json_object_set_new(o, "time_last", time_value(c, c->tl_max));
		}
		json_t *w = json_object();
		json_object_set_new(w, "obj", o);
		dnsdb_add_line(out, w);
	}
	if (c->limited) {
		json_t *o = json_object();
		json_object_set_new(o, "cond", json_string("limited"));
		json_object_set_new(o, "msg", json_string(c->limit_msg));
		dnsdb_add_line(out, o);
	} else {
		util_buf_adds(out, "{\"cond\":\"succeeded\"}\n");
	}
}

enum MHD_Result svc_http_dnsdb(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	struct dnsdb_ctx c = {.summarize = rq->route == SVC_R_DNSDB_SUMMARIZE};
	struct dnsdb_query q = {0};
	if (!dnsdb_parse(rq, &q, &c, &ret))
		return ret;
	struct util_buf out;
	util_buf_init(&out, RESPONSE_MAX);
	c.out = &out;
	util_buf_adds(&out, "{\"cond\":\"begin\"}\n");
	int err = dnsdb_read(rq->srv->store, &q, &c);
	free(c.groups);
	if (err == 0)
		err = c.err;
	if (err != 0) {
		util_buf_free(&out);
		return svc_http_store_error(rq, err, "lookup");
	}
	dnsdb_trailer(&c, &out);
	size_t len;
	char *body = util_buf_take(&out, &len);
	return svc_http_send(rq, 200, "application/x-ndjson", body, len);
}
