/*
 * http_openapi.c - GET /api/v1/openapi.json: the OpenAPI 3.1 description
 * of every route, docs/openapi.json as built into the binary (CMake turns
 * it into svc_openapi_json[], see service/CMakeLists.txt).  The HTTP tests
 * check every response they receive against that same file.
 */
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"

extern const char svc_openapi_json[];
extern const size_t svc_openapi_json_len;

enum MHD_Result svc_http_openapi(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	char *copy = malloc(svc_openapi_json_len + 1);
	if (copy == NULL)
		return svc_http_error(rq, 500, "internal", "out of memory");
	memcpy(copy, svc_openapi_json, svc_openapi_json_len);
	copy[svc_openapi_json_len] = '\0';
	return svc_http_send(rq, 200, "application/json", copy, svc_openapi_json_len);
}
