/*
 * passivedns.c - logs of gamelinux/passivedns: the text form (fields and
 * delimiter as configured on the sensor, default "||" and SMcsCQTAtn)
 * and the JSON form (-j).  Lines of its NXDOMAIN log, whose answer is the
 * rcode name, are valid and skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "util/num.h"

#define PDNS_MAX_FIELDS 32

enum pf {
	PF_TIME,
	PF_YMD,
	PF_CLIENT,
	PF_SERVER,
	PF_CLASS,
	PF_QUERY,
	PF_TYPE,
	PF_ANSWER,
	PF_TTL,
	PF_COUNT,
	PF_SENSOR,
	PF_OTHER
};

struct pdns_state {
	char delim[16];
	size_t dlen;
	enum pf col[PDNS_MAX_FIELDS];
	int ncols;
};

/* The columns a field string prints: S and M together are one column
 * ("sec.usec"), as the sensor prints them. */
static int pdns_columns(const char *fields, enum pf *col, int *ncols)
{
	int n = 0;
	for (const char *f = fields; *f; f++) {
		enum pf k;
		switch (*f) {
		case 'S':
			k = PF_TIME;
			if (f[1] == 'M')
				f++;
			break;
		case 'M':
			k = PF_TIME;
			break;
		case 'H':
			k = PF_YMD;
			break;
		case 'c':
			k = PF_CLIENT;
			break;
		case 's':
			k = PF_SERVER;
			break;
		case 'C':
			k = PF_CLASS;
			break;
		case 'Q':
			k = PF_QUERY;
			break;
		case 'T':
			k = PF_TYPE;
			break;
		case 'A':
			k = PF_ANSWER;
			break;
		case 't':
			k = PF_TTL;
			break;
		case 'n':
			k = PF_COUNT;
			break;
		case 'h':
			k = PF_SENSOR;
			break;
		case 'p':
		case 'L':
		case 'l':
			k = PF_OTHER;
			break;
		default:
			return -1;
		}
		if (n >= PDNS_MAX_FIELDS)
			return -1;
		col[n++] = k;
	}
	*ncols = n;
	return 0;
}

bool ingest_pdns_fields_valid(const char *fields)
{
	enum pf col[PDNS_MAX_FIELDS];
	int n;
	if (pdns_columns(fields, col, &n) != 0)
		return false;
	bool q = false, t = false, a = false, ts = false;
	for (int i = 0; i < n; i++) {
		q |= col[i] == PF_QUERY;
		t |= col[i] == PF_TYPE;
		a |= col[i] == PF_ANSWER;
		ts |= col[i] == PF_TIME || col[i] == PF_YMD;
	}
	return q && t && a && ts;
}

static struct pdns_state *pdns_state(struct ingest_ctx *c)
{
	if (c->state != NULL)
		return c->state;
	struct pdns_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	const char *d = c->opts->pdns_delimiter ? c->opts->pdns_delimiter : "||";
	const char *f = c->opts->pdns_fields ? c->opts->pdns_fields : "SMcsCQTAtn";
	s->dlen = strlen(d);
	if (s->dlen == 0 || s->dlen >= sizeof(s->delim) ||
	    pdns_columns(f, s->col, &s->ncols) != 0) {
		free(s);
		return NULL;
	}
	memcpy(s->delim, d, s->dlen + 1);
	c->state = s;
	return s;
}

static bool is_rcode_name(const char *a, size_t n)
{
	static const char *const names[] = {"NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP",
	                                    "YXDOMAIN", "NXRRSET",  "NOTAUTH", "NOTZONE"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], a, n) == 0)
			return true;
	return false;
}

struct pdns_rec {
	int64_t ts;
	const char *cls, *query, *type, *answer, *sensor;
	size_t clsl, queryl, typel, answerl, sensorl;
	uint64_t count;
};

static int pdns_record(struct ingest_ctx *c, const struct pdns_rec *r)
{
	if (r->query == NULL || r->type == NULL || r->answer == NULL)
		return ingest_reject(c, "missing query, type or answer");
	if (is_rcode_name(r->answer, r->answerl))
		return INGEST_SKIP; /* the NXDOMAIN log form */
	if (r->cls != NULL && !(r->clsl == 2 && memcmp(r->cls, "IN", 2) == 0))
		return INGEST_SKIP; /* CHAOS and friends */
	uint16_t t;
	if (store_rrtype_parse(r->type, r->typel, &t) != 0)
		return ingest_reject(c, "type %.*s is not a known RR type",
		                     (int)(r->typel > 40 ? 40 : r->typel), r->type);
	struct store_obs *o = ingest_obs_new(c);
	if (o == NULL)
		return ingest_reject(c, "out of memory");
	if (ingest_dns_fill(c, o, r->query, r->queryl, t, r->answer, r->answerl) != 0)
		return INGEST_REJECT;
	o->time_first = r->ts;
	o->time_last = r->ts;
	o->count = r->count;
	if (r->sensor != NULL && r->sensorl > 0 && r->sensorl < STORE_SENSOR_MAX) {
		memcpy(o->sensor, r->sensor, r->sensorl);
		o->sensor[r->sensorl] = '\0';
	}
	return INGEST_OK;
}

static int ymd_time(const char *s, size_t n, int64_t *out)
{
	char tmp[48];
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return store_time_parse(tmp, 0, out) == 0 && *out >= 0 ? 0 : -1;
}

/* The text fields kept as they are: class, query, type, answer, sensor. */
static int pdns_text_field(int col, const char *p, size_t fl, struct pdns_rec *r)
{
	switch (col) {
	case PF_CLASS:
		r->cls = p;
		r->clsl = fl;
		break;
	case PF_QUERY:
		r->query = p;
		r->queryl = fl;
		break;
	case PF_TYPE:
		r->type = p;
		r->typel = fl;
		break;
	case PF_ANSWER:
		r->answer = p;
		r->answerl = fl;
		break;
	case PF_SENSOR:
		r->sensor = p;
		r->sensorl = fl;
		break;
	default:
		break;
	}
	return 0;
}

/* One field of a text line (column kind col) into r. */
static int pdns_field(struct ingest_ctx *c, int col, const char *p, size_t fl, struct pdns_rec *r,
                      bool *have_time)
{
	switch (col) {
	case PF_TIME:
		if (ingest_epoch_parse(p, fl, &r->ts) != 0)
			return ingest_reject(c, "timestamp '%.*s' is not epoch seconds",
			                     (int)(fl > 40 ? 40 : fl), p);
		*have_time = true;
		return 0;
	case PF_YMD:
		if (!*have_time && ymd_time(p, fl, &r->ts) != 0)
			return ingest_reject(c, "timestamp '%.*s' is not a date",
			                     (int)(fl > 40 ? 40 : fl), p);
		*have_time = true;
		return 0;
	case PF_CLIENT:
	case PF_SERVER: {
		uint8_t a[16];
		if (store_addr_parse(p, fl, a) != 0)
			return ingest_reject(c, "%s %.*s is not an IP address",
			                     col == PF_CLIENT ? "client" : "server",
			                     (int)(fl > 60 ? 60 : fl), p);
		return 0;
	}
	case PF_COUNT:
		if (util_u64_parsen(p, fl, UINT64_MAX, &r->count) != 0)
			return ingest_reject(c, "count '%.*s' is not a number",
			                     (int)(fl > 40 ? 40 : fl), p);
		return 0;
	default:
		return pdns_text_field(col, p, fl, r);
	}
}

static int pdns_text(struct ingest_ctx *c, struct pdns_state *s, char *line, size_t len)
{
	struct pdns_rec r = {.count = 1};
	const char *p = line;
	const char *end = line + len;
	int i = 0;
	bool have_time = false;
	for (;; i++) {
		const char *d = memmem(p, (size_t)(end - p), s->delim, s->dlen);
		const char *fe = d ? d : end;
		size_t fl = (size_t)(fe - p);
		if (i < s->ncols && pdns_field(c, s->col[i], p, fl, &r, &have_time) != 0)
			return INGEST_REJECT;
		if (d == NULL)
			break;
		p = d + s->dlen;
	}
	if (i + 1 != s->ncols)
		return ingest_reject(c,
		                     "%d fields where the field string declares %d "
		                     "(--passivedns-fields/--passivedns-delimiter)",
		                     i + 1, s->ncols);
	if (!have_time)
		return ingest_reject(c, "no timestamp field");
	return pdns_record(c, &r);
}

static int pdns_json(struct ingest_ctx *c, char *line, size_t len)
{
	json_t *obj;
	if (ingest_json_object_line(c, line, len, &obj) != 0)
		return INGEST_REJECT;
	int rc = INGEST_REJECT;
	struct pdns_rec r = {.count = 1};
	json_t *ts = json_object_get(obj, "timestamp_s");
	if (ts == NULL)
		ts = json_object_get(obj, "timestamp");
	if (ts == NULL || ingest_json_time(ts, &r.ts) != 0) {
		ingest_reject(c, "timestamp_s is missing or not a time");
		goto out;
	}
	r.cls = ingest_json_str(obj, "class", &r.clsl);
	r.query = ingest_json_str(obj, "query", &r.queryl);
	r.type = ingest_json_str(obj, "type", &r.typel);
	r.answer = ingest_json_str(obj, "answer", &r.answerl);
	r.sensor = ingest_json_str(obj, "hostname", &r.sensorl);
	if (ingest_json_count(c, obj, &r.count) != 0)
		goto out;
	static const char *const addr_keys[] = {"client", "server"};
	for (int i = 0; i < 2; i++) {
		size_t il = 0;
		uint8_t a[16];
		const char *ip = ingest_json_str(obj, addr_keys[i], &il);
		if (ip != NULL && store_addr_parse(ip, il, a) != 0) {
			ingest_reject(c, "%s %.*s is not an IP address", addr_keys[i],
			              (int)(il > 60 ? 60 : il), ip);
			goto out;
		}
	}
	rc = pdns_record(c, &r);
out:
	json_decref(obj);
	return rc;
}

static int pdns_line(struct ingest_ctx *c, char *line, size_t len)
{
	if (line[0] == '{')
		return pdns_json(c, line, len);
	struct pdns_state *s = pdns_state(c);
	if (s == NULL)
		return ingest_reject(c, "bad --passivedns-fields or --passivedns-delimiter");
	return pdns_text(c, s, line, len);
}

static int pdns_detect(const char *line, size_t len)
{
	if (len > 0 && line[0] == '{') {
		if (memmem(line, len, "\"event_type\"", 12) == NULL &&
		    memmem(line, len, "\"query\"", 7) != NULL &&
		    memmem(line, len, "\"answer\"", 8) != NULL)
			return 55;
		return 0;
	}
	const char *d = memmem(line, len, "||", 2);
	if (d == NULL || d == line)
		return 0;
	int64_t t;
	if (ingest_epoch_parse(line, (size_t)(d - line), &t) != 0)
		return 0;
	return 70;
}

const struct ingest_format ingest_fmt_passivedns = {
    .name = "passivedns",
    .detect = pdns_detect,
    .line = pdns_line,
    .state_free = free,
};
