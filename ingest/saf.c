/*
 * saf.c - the DNSDB API v2 "streaming API framing" (SAF) format: one JSON
 * object a line, {"cond":"begin"} first, {"obj":{...}} records, and a
 * last {"cond":"succeeded"|"limited"|"failed","msg":...}.  Records are
 * DNSDB rrsets (rdata a string or an array); zone-file data carries
 * zone_time_first/zone_time_last instead of time_first/time_last.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"

struct saf_state {
	int cond; /* last condition seen (INGEST_SAF_*) */
};

static void saf_state_free(void *state)
{
	free(state);
}

int ingest_saf_cond(const char *line, size_t len, char *msg, size_t msgcap)
{
	if (msgcap > 0)
		msg[0] = '\0';
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	json_t *obj = json_loadb(line, len, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return INGEST_SAF_NONE;
	}
	json_t *cond = json_object_get(obj, "cond");
	int r = INGEST_SAF_NONE;
	if (json_is_string(cond)) {
		static const struct {
			const char *name;
			int cond;
		} conds[] = {
		    {"begin", INGEST_SAF_BEGIN},         {"ongoing", INGEST_SAF_ONGOING},
		    {"succeeded", INGEST_SAF_SUCCEEDED}, {"limited", INGEST_SAF_LIMITED},
		    {"failed", INGEST_SAF_FAILED},
		};
		r = INGEST_SAF_UNKNOWN;
		for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
			if (strcmp(json_string_value(cond), conds[i].name) == 0)
				r = conds[i].cond;
		json_t *m = json_object_get(obj, "msg");
		if (json_is_string(m) && msgcap > 0)
			snprintf(msg, msgcap, "%s", json_string_value(m));
	}
	json_decref(obj);
	return r;
}

/* time_first/time_last, else zone_time_first/zone_time_last */
static int saf_times(struct ingest_ctx *c, json_t *obj, int64_t *tf, int64_t *tl)
{
	json_t *f = json_object_get(obj, "time_first");
	json_t *l = json_object_get(obj, "time_last");
	if (f == NULL && l == NULL) {
		f = json_object_get(obj, "zone_time_first");
		l = json_object_get(obj, "zone_time_last");
	}
	if (f == NULL && l == NULL)
		return ingest_reject(c, "obj has neither time_first/time_last nor "
		                        "zone_time_first/zone_time_last");
	if (f != NULL && ingest_json_time(f, tf) != 0)
		return ingest_reject(c, "time_first is not a valid time");
	if (l != NULL && ingest_json_time(l, tl) != 0)
		return ingest_reject(c, "time_last is not a valid time");
	if (f == NULL)
		*tf = *tl;
	if (l == NULL)
		*tl = *tf;
	if (*tf > *tl)
		return ingest_reject(c, "time_first is after time_last");
	return 0;
}

static int saf_obj(struct ingest_ctx *c, json_t *obj)
{
	struct ingest_json_rr rr;
	if (ingest_json_rr_get(c, obj, "obj has no", true, &rr) != 0)
		return INGEST_REJECT;
	json_t *rrtype = rr.rrtype;
	uint16_t type;
	if (store_rrtype_parse(json_string_value(rrtype), json_string_length(rrtype), &type) != 0)
		return ingest_reject(c, "rrtype %.32s is not a known type",
		                     json_string_value(rrtype));
	int64_t tf, tl;
	if (saf_times(c, obj, &tf, &tl) != 0)
		return INGEST_REJECT;
	uint64_t count;
	if (ingest_json_count(c, obj, &count) != 0)
		return INGEST_REJECT;
	return ingest_dns_records(c, obj, rr.rrname, type, rr.rdata, tf, tl, count, NULL);
}

static int saf_line(struct ingest_ctx *c, char *line, size_t len)
{
	struct saf_state *ss = c->state;
	if (ss == NULL) {
		ss = calloc(1, sizeof(*ss));
		if (ss == NULL)
			return ingest_reject(c, "out of memory");
		c->state = ss;
	}
	json_t *top;
	if (ingest_json_object_line(c, line, len, &top) != 0)
		return INGEST_REJECT;
	int r;
	json_t *obj = json_object_get(top, "obj");
	if (json_object_get(top, "cond") != NULL) {
		char msg[8];
		int cond = ingest_saf_cond(line, len, msg, sizeof(msg));
		if (cond == INGEST_SAF_UNKNOWN) {
			r = ingest_reject(c, "unknown SAF condition");
		} else {
			ss->cond = cond;
			r = INGEST_HEADER;
		}
	} else if (obj != NULL) {
		if (ss->cond == INGEST_SAF_SUCCEEDED || ss->cond == INGEST_SAF_LIMITED ||
		    ss->cond == INGEST_SAF_FAILED)
			r = ingest_reject(c, "record after the stream's final condition");
		else if (!json_is_object(obj))
			r = ingest_reject(c, "obj is not a JSON object");
		else
			r = saf_obj(c, obj);
	} else {
		r = ingest_reject(c, "neither a SAF record (obj) nor a condition (cond)");
	}
	json_decref(top);
	return r;
}

static int saf_detect(const char *line, size_t len)
{
	if (len == 0 || line[0] != '{')
		return 0;
	if (memmem(line, len, "\"cond\"", 6) || memmem(line, len, "{\"obj\"", 6))
		return 60;
	return 0;
}

const struct ingest_format ingest_fmt_saf = {
    .name = "saf",
    .detect = saf_detect,
    .line = saf_line,
    .state_free = saf_state_free,
};
