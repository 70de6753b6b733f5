/*
 * http_routes.c - the route table: for each route its path, method, the
 * role it needs, how it takes a body (and up to what size), the check of
 * its query made before the body is read, and its handler.  The request
 * parser (http_request.c) and the access handler (http.c) know no route
 * but through this table.
 */
#include "service/http_internal.h"

/* the common fields, then the designated ones a route needs: .fn, and for
 * a body .body, .max_body, .check, .stream */
#define ROUTE(id_, label_, prefix_, min_, max_, method_, role_, ...)                               \
	{                                                                                          \
		.id = (id_), .label = (label_), .prefix = (prefix_), .min_args = (min_),           \
		.max_args = (max_), .method = (method_), .role = (role_), __VA_ARGS__              \
	}

const struct svc_route svc_routes[] = {
    ROUTE(SVC_R_HEALTHZ, "/healthz", "healthz", 0, 0, "GET", SVC_ROLE_NONE, .fn = svc_http_healthz),
    ROUTE(SVC_R_METRICS, "/metrics", "metrics", 0, 0, "GET", SVC_ROLE_READ, .fn = svc_http_metrics),
    ROUTE(SVC_R_STATS, "/api/v1/stats", "api/v1/stats", 0, 0, "GET", SVC_ROLE_READ,
          .fn = svc_http_stats),
    ROUTE(SVC_R_LOOKUP_DOMAIN, "/api/v1/lookup/domain", "api/v1/lookup/domain", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_IP, "/api/v1/lookup/ip", "api/v1/lookup/ip", 1, 2, "GET", SVC_ROLE_READ,
          .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_CERT, "/api/v1/lookup/cert", "api/v1/lookup/cert", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_KEY, "/api/v1/lookup/key", "api/v1/lookup/key", 1, 1, "GET", SVC_ROLE_READ,
          .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_SUBJECT, "/api/v1/lookup/subject", "api/v1/lookup/subject", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_SERIAL, "/api/v1/lookup/serial", "api/v1/lookup/serial", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_JARM, "/api/v1/lookup/jarm", "api/v1/lookup/jarm", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_LOOKUP_JA3S, "/api/v1/lookup/ja3s", "api/v1/lookup/ja3s", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_lookup),
    ROUTE(SVC_R_PIVOT, "/api/v1/pivot", "api/v1/pivot", 0, 0, "GET", SVC_ROLE_READ,
          .fn = svc_http_pivot),
    /* a push streams its body into the store; its query is checked first */
    ROUTE(SVC_R_OBSERVATIONS, "/api/v1/observations", "api/v1/observations", 0, 0, "POST",
          SVC_ROLE_WRITE, .body = SVC_BODY_STREAM, .check = svc_http_observations_check,
          .stream = svc_http_observations, .cleanup = svc_http_observations_cleanup),
    ROUTE(SVC_R_DNSDB_PING, "/dnsdb/v2/ping", "dnsdb/v2/ping", 0, 0, "GET", SVC_ROLE_NONE,
          .fn = svc_http_dnsdb_ping),
    ROUTE(SVC_R_DNSDB_RATE, "/dnsdb/v2/rate_limit", "dnsdb/v2/rate_limit", 0, 0, "GET",
          SVC_ROLE_READ, .fn = svc_http_dnsdb_rate),
    ROUTE(SVC_R_DNSDB_LOOKUP, "/dnsdb/v2/lookup", "dnsdb/v2/lookup", 3, 5, "GET", SVC_ROLE_READ,
          .fn = svc_http_dnsdb),
    ROUTE(SVC_R_DNSDB_SUMMARIZE, "/dnsdb/v2/summarize", "dnsdb/v2/summarize", 3, 5, "GET",
          SVC_ROLE_READ, .fn = svc_http_dnsdb),
    ROUTE(SVC_R_CIRCL_PDNS, "/pdns/query", "pdns/query", 1, 1, "GET", SVC_ROLE_READ,
          .fn = svc_http_circl_pdns),
    ROUTE(SVC_R_CIRCL_QUERY, "/v2pssl/query", "v2pssl/query", 1, 2, "GET", SVC_ROLE_READ,
          .fn = svc_http_circl_pssl),
    ROUTE(SVC_R_CIRCL_CQUERY, "/v2pssl/cquery", "v2pssl/cquery", 1, 1, "GET", SVC_ROLE_READ,
          .fn = svc_http_circl_pssl),
    ROUTE(SVC_R_CIRCL_CFETCH, "/v2pssl/cfetch", "v2pssl/cfetch", 1, 1, "GET", SVC_ROLE_READ,
          .fn = svc_http_circl_pssl),
    ROUTE(SVC_R_WATCHLISTS, "/api/v1/watchlists", "api/v1/watchlists", 0, 0, "GET", SVC_ROLE_READ,
          .fn = svc_http_watchlists),
    ROUTE(SVC_R_WATCHLIST_GET, "/api/v1/watchlists/{name}", "api/v1/watchlists", 1, 1, "GET",
          SVC_ROLE_READ, .fn = svc_http_watchlist_get),
    /* watchlist writes take one JSON document, read whole */
    ROUTE(SVC_R_WATCHLIST_PUT, "/api/v1/watchlists/{name}:put", "api/v1/watchlists", 1, 1, "PUT",
          SVC_ROLE_WRITE, .body = SVC_BODY_BUFFER, .max_body = SVC_HTTP_WATCH_MAX_BODY,
          .fn = svc_http_watchlist_put),
    ROUTE(SVC_R_WATCHLIST_DELETE, "/api/v1/watchlists/{name}:delete", "api/v1/watchlists", 1, 1,
          "DELETE", SVC_ROLE_WRITE, .fn = svc_http_watchlist_delete),
    ROUTE(SVC_R_WATCHLIST_POST, "/api/v1/watchlists/{name}/entries|pivot", "api/v1/watchlists", 2,
          2, "POST", SVC_ROLE_WRITE, .body = SVC_BODY_BUFFER, .max_body = SVC_HTTP_WATCH_MAX_BODY,
          .fn = svc_http_watchlist_post),
    ROUTE(SVC_R_WATCHLIST_ENTRY_DELETE, "/api/v1/watchlists/{name}/entries/{indicator}",
          "api/v1/watchlists", 3, 3, "DELETE", SVC_ROLE_WRITE,
          .fn = svc_http_watchlist_entry_delete),
    ROUTE(SVC_R_WATCHLIST_ENTRY_GET, "/api/v1/watchlists/{name}/entries/{indicator}:get",
          "api/v1/watchlists", 3, 3, "GET", SVC_ROLE_READ, .fn = svc_http_watchlist_entry_get),
    ROUTE(SVC_R_CLIENTS, "/api/v1/clients", "api/v1/clients", 2, 2, "GET", SVC_ROLE_READ,
          .fn = svc_http_clients),
    ROUTE(SVC_R_BEACONS, "/api/v1/beacons", "api/v1/beacons", 0, 0, "GET", SVC_ROLE_READ,
          .fn = svc_http_beacons),
    ROUTE(SVC_R_SENSORS, "/api/v1/sensors", "api/v1/sensors", 0, 0, "GET", SVC_ROLE_READ,
          .fn = svc_http_sensors),
    ROUTE(SVC_R_SENSOR_PUT, "/api/v1/sensors/{sensor}", "api/v1/sensors", 1, 1, "PUT",
          SVC_ROLE_ADMIN, .fn = svc_http_sensor_put),
    /* the description of every route here: docs/openapi.json */
    ROUTE(SVC_R_OPENAPI, "/api/v1/openapi.json", "api/v1/openapi.json", 0, 0, "GET", SVC_ROLE_NONE,
          .fn = svc_http_openapi),
    /* the page: the empty prefix matches "/" alone; its files need no token */
    ROUTE(SVC_R_UI_ROOT, "/", "", 0, 0, "GET", SVC_ROLE_NONE, .fn = svc_http_ui),
    ROUTE(SVC_R_UI, "/ui", "ui", 0, 4, "GET", SVC_ROLE_NONE, .fn = svc_http_ui),
};
const size_t svc_nroutes = sizeof(svc_routes) / sizeof(svc_routes[0]);

const char *svc_http_route_label(enum svc_route_id id)
{
	for (size_t i = 0; i < svc_nroutes; i++)
		if (svc_routes[i].id == id)
			return svc_routes[i].label;
	return "other";
}
