/*
 * http_text.c - format=json|table|csv and Accept: text/csv for the HTTP
 * lookups, pivots and watchlist exports (the renderers are service/text.c).
 */
#include <string.h>

#include "service/http_internal.h"

bool svc_http_wants_csv(struct svc_http_req *rq)
{
	const char *a = svc_http_header(rq, MHD_HTTP_HEADER_ACCEPT);
	return a != NULL && strstr(a, "text/csv") != NULL;
}

bool svc_http_text_fmt(struct svc_http_req *rq, enum svc_text_fmt *fmt, enum MHD_Result *ret)
{
	const char *v = svc_http_param(rq, "format");
	if (v == NULL) {
		*fmt = svc_http_wants_csv(rq) ? SVC_TEXT_CSV : SVC_TEXT_JSON;
		return true;
	}
	if (svc_text_fmt_parse(v, fmt) != 0) {
		*ret = svc_http_bad_param(rq, "format", "'%.20s': expected json|table|csv", v);
		return false;
	}
	return true;
}

const char *svc_http_text_ctype(enum svc_text_fmt fmt)
{
	if (fmt == SVC_TEXT_CSV)
		return SVC_HTTP_CSV_CTYPE;
	return fmt == SVC_TEXT_TABLE ? "text/plain; charset=utf-8" : "application/json";
}
