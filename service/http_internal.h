/*
 * http_internal.h - shared by the service/http*.c files: the server, the
 * request state, routing, responses, auth and metrics.  Nothing outside
 * service/ includes it.
 */
#ifndef INFRAPIVOT_HTTP_INTERNAL_H
#define INFRAPIVOT_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ingest/ingest.h"
#include "service/svc.h"
#include "service/svc_text.h"
#include "util/buf.h"

/* ---- configuration ----------------------------------------------------- */
struct svc_http_conf {
	char listen[300]; /* "ADDR:PORT" as given */
	unsigned threads; /* worker threads (thread pool) */
	unsigned max_connections;
	unsigned timeout;          /* seconds a connection may idle */
	uint64_t max_body;         /* POST body limit */
	size_t max_header;         /* per-connection memory: request line + headers */
	size_t max_url;            /* longest request target accepted */
	uint64_t max_limit;        /* cap on limit= (lookups, DNSDB) */
	uint64_t default_limit;    /* limit when none is given */
	unsigned pivot_max_nodes;  /* server cap on max_nodes */
	unsigned pivot_max_ms;     /* server cap on max_ms */
	uint64_t pivot_max_fanout; /* cap on max_ip_domains & co */
	unsigned drain_seconds;    /* how long SIGTERM waits for requests in flight */
	unsigned request_timeout;  /* seconds for a whole request (head and body); 0: none */
	unsigned max_per_ip;       /* connections per client address */
	uint64_t max_buffered;     /* bytes of all buffered request bodies together */
	const char *tokens_path;
	int64_t now; /* --now: the watchlists' clock pinned (tests); 0 = the clock */
	bool no_ui;  /* --no-ui: GET / and /ui/... answer 404 */
};
void svc_http_conf_init(struct svc_http_conf *c);

/* ---- tokens (http_auth.c) ---------------------------------------------- */
enum svc_role { SVC_ROLE_NONE = 0, SVC_ROLE_READ = 1, SVC_ROLE_WRITE = 2, SVC_ROLE_ADMIN = 3 };
struct svc_tokens;
/* Load a tokens file (TOKEN ROLE [NAME] lines).  On failure msg says which
 * line and why.  Free with svc_tokens_free(). */
int svc_tokens_load(const char *path, struct svc_tokens **out, char *msg, size_t msgcap);
void svc_tokens_free(struct svc_tokens *t);
size_t svc_tokens_count(const struct svc_tokens *t);
/* The role of a presented token, SVC_ROLE_NONE when unknown.  Every entry
 * is compared, in constant time, whatever matches. */
enum svc_role svc_tokens_check(const struct svc_tokens *t, const char *tok, size_t len);
/* Same, and the token's NAME into name (cap bytes; "" when it has none or
 * is unknown), taken without branching on the secret either. */
enum svc_role svc_tokens_check_name(const struct svc_tokens *t, const char *tok, size_t len,
                                    char *name, size_t cap);
const char *svc_role_name(enum svc_role r);
/* The token an Authorization header value presents: "Bearer TOKEN",
 * "Basic base64(USER:TOKEN)" (the password is the token; CIRCL clients) or
 * a bare TOKEN (PyPDNS's auth_token).
 * A Basic token is decoded into buf (cap bytes; the caller wipes it).
 * Returns the token and its length in *len, or NULL for another scheme or
 * malformed credentials. */
const char *svc_auth_token(const char *auth, char *buf, size_t cap, size_t *len);

/* ---- routes ------------------------------------------------------------- */
enum svc_route_id {
	SVC_R_NONE = 0, /* unknown route: 404 */
	SVC_R_HEALTHZ,
	SVC_R_METRICS,
	SVC_R_STATS,
	SVC_R_LOOKUP_DOMAIN,
	SVC_R_LOOKUP_IP,
	SVC_R_LOOKUP_CERT,
	SVC_R_PIVOT,
	SVC_R_OBSERVATIONS,
	SVC_R_DNSDB_PING,
	SVC_R_DNSDB_RATE,
	SVC_R_DNSDB_LOOKUP,
	SVC_R_DNSDB_SUMMARIZE,
	SVC_R_CIRCL_PDNS,
	SVC_R_CIRCL_QUERY,
	SVC_R_CIRCL_CQUERY,
	SVC_R_CIRCL_CFETCH,
	SVC_R_WATCHLISTS,    /* GET /api/v1/watchlists */
	SVC_R_WATCHLIST_GET, /* GET /api/v1/watchlists/{name} */
	SVC_R_WATCHLIST_PUT,
	SVC_R_WATCHLIST_DELETE,
	SVC_R_WATCHLIST_POST,         /* .../{name}/entries and .../{name}/pivot */
	SVC_R_WATCHLIST_ENTRY_DELETE, /* .../{name}/entries/{indicator} */
	SVC_R_WATCHLIST_ENTRY_GET,
	SVC_R_CLIENTS,        /* GET /api/v1/clients/{domain|ip}/{value} */
	SVC_R_BEACONS,        /* GET /api/v1/beacons */
	SVC_R_SENSORS,        /* GET /api/v1/sensors */
	SVC_R_SENSOR_PUT,     /* PUT /api/v1/sensors/{sensor}?org= (admin) */
	SVC_R_OPENAPI,        /* GET /api/v1/openapi.json */
	SVC_R_UI_ROOT,        /* GET /: the analyst's page (http_ui.c) */
	SVC_R_UI,             /* GET /ui/{file...} */
	SVC_R_LOOKUP_KEY,     /* GET /api/v1/lookup/key/{sha256} */
	SVC_R_LOOKUP_SUBJECT, /* GET /api/v1/lookup/subject/{dn} */
	SVC_R_LOOKUP_SERIAL,  /* GET /api/v1/lookup/serial/{hex}?issuer= */
	SVC_R_LOOKUP_JARM,    /* GET /api/v1/lookup/jarm/{hash} */
	SVC_R_LOOKUP_JA3S,    /* GET /api/v1/lookup/ja3s/{hash} */
	SVC_R_COUNT
};

#define SVC_HTTP_MAX_SEGS 12
#define SVC_HTTP_MAX_PARAMS 32

struct svc_http_req;

/* How a route takes a request body. */
enum svc_body {
	SVC_BODY_NONE = 0, /* none expected: one sent is read and dropped */
	SVC_BODY_BUFFER,   /* read whole into rq->body; 413 past the limit */
	SVC_BODY_STREAM,   /* each chunk to the route's stream handler */
};

/* One route of the table (http_routes.c): what the request parser checks
 * before the handler runs. */
struct svc_route {
	enum svc_route_id id;
	const char *label;  /* for metrics */
	const char *prefix; /* fixed segments */
	unsigned min_args, max_args;
	const char *method; /* GET also answers HEAD */
	enum svc_role role; /* needed when tokens are configured */
	enum svc_body body;
	uint64_t max_body; /* a larger Content-Length is refused; 0: --max-body */
	/* Checks the query before the body is read; false with msg: 400. */
	bool (*check)(struct svc_http_req *rq, char *msg, size_t cap);
	/* Answers the request once its body (if any) was read. */
	enum MHD_Result (*fn)(struct svc_http_req *rq);
	/* SVC_BODY_STREAM: each chunk of the body, then once with size 0. */
	enum MHD_Result (*stream)(struct svc_http_req *rq, const char *data, size_t *size);
	/* Frees what the handlers kept in the request, when it completed. */
	void (*cleanup)(struct svc_http_req *rq);
};
extern const struct svc_route svc_routes[];
extern const size_t svc_nroutes;

/* ---- metrics (http_metrics.c) ------------------------------------------ */
#define SVC_HIST_BUCKETS 12
struct svc_metrics {
	atomic_uint_fast64_t requests[SVC_R_COUNT][500]; /* status 100..599 */
	atomic_uint_fast64_t hist[SVC_R_COUNT][SVC_HIST_BUCKETS + 1];
	atomic_uint_fast64_t hist_sum_us[SVC_R_COUNT];
	atomic_uint_fast64_t records_ingested;
	atomic_uint_fast64_t lines_accepted;
	atomic_uint_fast64_t lines_rejected;
	atomic_uint_fast64_t bodies_too_large;
	atomic_uint_fast64_t requests_timed_out; /* cut by --request-timeout */
	atomic_uint_fast64_t bodies_refused;     /* 503: --max-buffered-bodies */
};
void svc_metrics_observe(struct svc_metrics *m, enum svc_route_id r, unsigned status,
                         double seconds);

/* ---- the server ---------------------------------------------------------- */
struct svc_http_server {
	struct svc_http_conf conf;
	store_t *store;
	struct svc_tokens *tokens; /* NULL: no auth (loopback only) */
	struct MHD_Daemon *daemon;
	struct svc_metrics *metrics;
	atomic_int active;    /* requests in flight */
	atomic_bool draining; /* SIGTERM seen: answer with Connection: close */
	time_t started;
	/* http_guard.c */
	pthread_mutex_t guard_mu;
	struct svc_conn *conns; /* open connections (guard_mu) */
	bool guard_stop;
	pthread_t reaper;
	bool reaper_running;
	atomic_uint_fast64_t buffered; /* bytes reserved by buffered bodies */
	/* http_idem.c */
	pthread_mutex_t idem_mu;
	struct svc_idem_busy *idem_busy; /* keys of pushes in progress */
	_Atomic int64_t idem_pruned;     /* when old records were last deleted */
};

/* How far a push under an Idempotency-Key got, and its counts. */
struct svc_idem_counts {
	uint64_t bytes, line, accepted, rejected, skipped, records;
};

struct svc_http_param {
	char *name, *value; /* decoded, NUL-terminated, owned by the request */
	bool used;
};

/* One request: created on the first call of the access handler, freed
 * when MHD reports the request completed. */
struct svc_http_req {
	struct svc_http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	bool is_head;
	bool started;
	bool responded;
	enum svc_route_id route;
	const struct svc_route *rt;    /* the route matched, NULL when none */
	enum svc_role role;            /* of the token presented (ADMIN without tokens) */
	char *segs[SVC_HTTP_MAX_SEGS]; /* decoded path segments */
	unsigned nsegs;
	unsigned args_at; /* first variable segment of the route */
	struct svc_http_param params[SVC_HTTP_MAX_PARAMS];
	unsigned nparams;
	/* an error found before the body was read, answered on the next call */
	unsigned pending_status;
	char pending_code[32];
	char pending_msg[256];
	char pending_allow[64]; /* Allow: for a 405 */
	unsigned status;        /* of the response queued, for metrics */
	struct timespec t0;
	/* POST /api/v1/observations */
	ingest_stream_t *ingest;
	uint64_t body_bytes;
	json_t *errors;
	uint64_t errors_total;
	bool too_large;
	uint64_t discarded; /* body bytes dropped past the limit */
	json_t *deferred;   /* the 413 answer, sent once the body ended */
	unsigned deferred_status;
	bool ingest_failed;
	/* routes with a JSON body (watchlists): the body, bounded */
	struct util_buf body;
	bool body_too_large;
	char token_name[64]; /* NAME of the token presented, "" when none */
	uint64_t reserved;   /* bytes of --max-buffered-bodies held */
	bool read_whole;     /* the request (head and body) was read */
	bool over_cap;       /* a body past --max-buffered-bodies: 503 at its end */
	/* the request target as libmicrohttpd saw it (URI log callback) */
	const char *raw_uri; /* where it starts */
	size_t raw_len;      /* its strlen: shorter than it when a NUL is in it */
	bool raw_nul;        /* a raw NUL byte in the request target */
	const char *version;
	/* POST /api/v1/observations with an Idempotency-Key (http_idem.c) */
	bool idem;         /* the request has one */
	bool idem_claimed; /* this request holds it */
	bool idem_done;    /* a done record was found: answered from it */
	bool idem_final;   /* the last commit: the record says done */
	uint8_t idem_k[2 + 64 + STORE_IDEM_KEY_MAX];
	size_t idem_klen;
	uint64_t idem_skip;               /* body bytes still to skip (committed before) */
	struct svc_idem_counts idem_base; /* what earlier attempts committed */
};

/* ---- request handling (http_request.c) ---------------------------------- */
/* Decode, route and authenticate; errors are kept as pending. */
void svc_http_prepare(struct svc_http_req *rq, const char *url, const char *method);
/* Answer the pending error. */
enum MHD_Result svc_http_send_pending(struct svc_http_req *rq);
/* The request announces a body (Content-Length > 0 or Transfer-Encoding). */
bool svc_http_has_body(struct svc_http_req *rq);
/* Call the route's handler. */
enum MHD_Result svc_http_dispatch(struct svc_http_req *rq);
/* The body limit of the request's route. */
uint64_t svc_http_body_limit(const struct svc_http_req *rq);

/* ---- responses (http_response.c) ------------------------------------------------- */
/* Queue a response owning the malloc'd buf (freed by MHD).  Returns an
 * MHD_Result for the access handler. */
enum MHD_Result svc_http_send(struct svc_http_req *rq, unsigned status, const char *ctype,
                              char *buf, size_t len);
/* Same with extra headers: hdrs is NULL or "Name", "value", ..., NULL. */
enum MHD_Result svc_http_send_h(struct svc_http_req *rq, unsigned status, const char *ctype,
                                char *buf, size_t len, const char *const *hdrs);
/* Queue obj as JSON (obj is consumed). */
enum MHD_Result svc_http_send_json(struct svc_http_req *rq, unsigned status, json_t *obj);
/* The same with reals printed to `digits` significant digits. */
enum MHD_Result svc_http_send_json_prec(struct svc_http_req *rq, unsigned status, json_t *obj,
                                        unsigned digits);
/* Queue {"error":{"code":code,"message":...}}. */
enum MHD_Result svc_http_error(struct svc_http_req *rq, unsigned status, const char *code,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* svc_http_error with extra headers (as svc_http_send_h). */
enum MHD_Result svc_http_error_h(struct svc_http_req *rq, unsigned status, const char *code,
                                 const char *const *hdrs, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* 400 naming the parameter. */
enum MHD_Result svc_http_bad_param(struct svc_http_req *rq, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a store error to a status and answer it. */
enum MHD_Result svc_http_store_error(struct svc_http_req *rq, int err, const char *what);

/* The decoded value of query parameter name (marks it used), NULL when absent. */
const char *svc_http_param(struct svc_http_req *rq, const char *name);
/* 400 for the first parameter no handler asked for; MHD_YES... when all
 * were used.  Returns true when an error response was queued. */
bool svc_http_reject_unused(struct svc_http_req *rq, enum MHD_Result *ret);
/* The variable path segment i of the route (0-based), NULL past the end. */
const char *svc_http_arg(const struct svc_http_req *rq, unsigned i);
unsigned svc_http_nargs(const struct svc_http_req *rq);
/* A request header, NULL when absent. */
const char *svc_http_header(struct svc_http_req *rq, const char *name);
/* Parse limit= (capped by the server), offset= and cursor=-independent
 * numbers; 400 on a bad value (returns false and sets *ret). */
bool svc_http_u64_param(struct svc_http_req *rq, const char *name, uint64_t *out,
                        enum MHD_Result *ret);

/* ---- text formats (http_text.c) ------------------------------------------------- */
#define SVC_HTTP_CSV_CTYPE "text/csv; charset=utf-8; header=present"
/* Whether the Accept header asks for text/csv. */
bool svc_http_wants_csv(struct svc_http_req *rq);
/* format=json|table|csv, else Accept: text/csv, else json; false with a
 * 400 queued in *ret for another format. */
bool svc_http_text_fmt(struct svc_http_req *rq, enum svc_text_fmt *fmt, enum MHD_Result *ret);
/* The Content-Type of a lookup in fmt. */
const char *svc_http_text_ctype(enum svc_text_fmt fmt);

/* Time-fence parameters (first_after ... until) into f; limit= with the
 * server's default and cap.  false with a 400 queued in *ret. */
bool svc_http_fences(struct svc_http_req *rq, struct store_fence *f, enum MHD_Result *ret);
bool svc_http_limit(struct svc_http_req *rq, uint64_t *limit, enum MHD_Result *ret);
/* The metrics label of a route. */
const char *svc_http_route_label(enum svc_route_id id);

/* ---- handlers ------------------------------------------------------------ */
enum MHD_Result svc_http_healthz(struct svc_http_req *rq);
enum MHD_Result svc_http_metrics(struct svc_http_req *rq);
enum MHD_Result svc_http_stats(struct svc_http_req *rq);
enum MHD_Result svc_http_lookup(struct svc_http_req *rq);
enum MHD_Result svc_http_pivot(struct svc_http_req *rq);
struct pivot_params;
/* Clamp a request's pivot limits to the server's (--pivot-max-*). */
void svc_http_pivot_caps(const struct svc_http_conf *conf, struct pivot_params *p);
/* observations: called for each chunk, then once with size 0 */
enum MHD_Result svc_http_observations(struct svc_http_req *rq, const char *data, size_t *size);
void svc_http_observations_cleanup(struct svc_http_req *rq);
/* Check the query parameters of a push before the body is read. */
bool svc_http_observations_check(struct svc_http_req *rq, char *msg, size_t cap);
enum MHD_Result svc_http_dnsdb_ping(struct svc_http_req *rq);
enum MHD_Result svc_http_dnsdb_rate(struct svc_http_req *rq);
enum MHD_Result svc_http_dnsdb(struct svc_http_req *rq);
enum MHD_Result svc_http_circl_pdns(struct svc_http_req *rq);
enum MHD_Result svc_http_circl_pssl(struct svc_http_req *rq);
/* watchlists (http_watch.c) */
#define SVC_HTTP_WATCH_MAX_BODY (16u << 20)
enum MHD_Result svc_http_watchlists(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_get(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_put(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_delete(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_post(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_entry_delete(struct svc_http_req *rq);
enum MHD_Result svc_http_watchlist_entry_get(struct svc_http_req *rq);

/* estate (http_estate.c) */
enum MHD_Result svc_http_clients(struct svc_http_req *rq);
enum MHD_Result svc_http_beacons(struct svc_http_req *rq);
enum MHD_Result svc_http_sensors(struct svc_http_req *rq);
enum MHD_Result svc_http_sensor_put(struct svc_http_req *rq);
/* GET /api/v1/openapi.json (http_openapi.c) */
enum MHD_Result svc_http_openapi(struct svc_http_req *rq);

/* ---- idempotent pushes (http_idem.c) -------------------------------------- */
/* The Idempotency-Key header is well-formed (or absent); false with msg. */
bool svc_idem_check(struct svc_http_req *rq, char *msg, size_t cap);
/* Look the key up and claim it: 0 (rq->idem_done: answer from the record;
 * rq->idem_skip: bytes to skip), -EBUSY when another push holds it, or a
 * store error. */
int svc_idem_begin(struct svc_http_req *rq);
/* Release the key claimed. */
void svc_idem_release(struct svc_http_req *rq);
/* ingest_pos_fn: the key's record into each unit the push commits. */
int svc_idem_position(void *arg, store_batch_t *sb, uint64_t bytes, uint64_t line);
/* What the store holds for the key now (a new JSON object), NULL when
 * nothing. */
json_t *svc_idem_committed(struct svc_http_req *rq);

/* ---- guards (http_guard.c) ------------------------------------------------ */
struct svc_conn;
/* MHD_OPTION_NOTIFY_CONNECTION: register and unregister connections. */
void svc_guard_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                    enum MHD_ConnectionNotificationCode code);
/* The request was read whole (busy) or answered (ready for the next). */
void svc_guard_busy(struct svc_http_req *rq, bool busy);
/* Start and stop the reaper of requests past --request-timeout. */
int svc_guard_start(struct svc_http_server *srv);
void svc_guard_stop(struct svc_http_server *srv);
/* Reserve n bytes of --max-buffered-bodies for rq: false past the cap.
 * svc_guard_release gives back all rq holds. */
bool svc_guard_reserve(struct svc_http_req *rq, uint64_t n);
void svc_guard_release(struct svc_http_req *rq);

/* the analyst's page (http_ui.c) */
enum MHD_Result svc_http_ui(struct svc_http_req *rq);

/* Start and stop (http.c).  svc_http_start returns 0 or -1 with msg. */
int svc_http_start(struct svc_http_server *srv, char *msg, size_t msgcap);
/* Stop accepting, wait up to conf.drain_seconds for requests in flight,
 * stop the daemon. */
void svc_http_stop(struct svc_http_server *srv);
/* Split "ADDR:PORT" / "[V6]:PORT" into a socket address. */
int svc_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl,
                          bool *loopback);

#endif
