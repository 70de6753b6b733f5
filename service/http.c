/*
 * http.c - the HTTP server core: the libmicrohttpd daemon, its access
 * handler and completion callback, start and graceful stop.
 *
 * Keep-alive: libmicrohttpd answers "Connection: close" when a response
 * is queued on the first call of the access handler, so the first call
 * only parses and checks the request; the response goes out on the second.
 * The exception is a request with a body that we refuse (401/403/413):
 * answering at once means the body is never read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "service/http_internal.h"

void svc_http_conf_init(struct svc_http_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = n > 0 ? (unsigned)n : 2;
	c->max_connections = 512;
	c->timeout = 30;
	c->max_body = 64ull << 20;
	c->max_header = 32 * 1024;
	c->max_url = 4096;
	c->max_limit = 100000;
	c->default_limit = 1000;
	c->pivot_max_nodes = 2000;
	c->pivot_max_ms = 5000;
	c->pivot_max_fanout = 1000;
	c->drain_seconds = 30;
	c->request_timeout = 60;
	c->max_per_ip = 64;
	c->max_buffered = 256ull << 20;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request line was read.  The request
 * starts here; the target is still as sent, so its length tells whether
 * a raw NUL cut it short (checked once the version is known). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	struct svc_http_req *rq = calloc(1, sizeof(*rq));
	if (rq != NULL) {
		rq->raw_uri = uri;
		rq->raw_len = strlen(uri);
	}
	return rq;
}

/* A raw NUL in the target: libmicrohttpd ended the target with a NUL in
 * place of the space before the version, so the target's length is the
 * distance to the version; a C string shorter than that holds a NUL. */
static bool target_has_nul(const struct svc_http_req *rq, const char *url, const char *version)
{
	if (rq->raw_uri != url || version == NULL || version[0] == '\0' || version <= url)
		return false;
	return rq->raw_len != (size_t)(version - 1 - url);
}

/* A buffered body announced with its length: reserve it from
 * --max-buffered-bodies now, or refuse it (503) before it is sent. */
static void reserve_body(struct svc_http_req *rq)
{
	const char *cl = svc_http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;
	if (cl == NULL || svc_parse_u64(cl, &n) != 0 || n == 0 || svc_guard_reserve(rq, n))
		return;
	atomic_fetch_add(&rq->srv->metrics->bodies_refused, 1);
	rq->pending_status = 503;
	snprintf(rq->pending_code, sizeof(rq->pending_code), "busy");
	snprintf(rq->pending_msg, sizeof(rq->pending_msg),
	         "request bodies held in memory are at the server's limit; retry later");
}

/* The first call of a request: parse and check it; answer at once only an
 * error on a request with a body, before the client sends the body. */
static enum MHD_Result on_first_call(struct svc_http_server *srv, struct MHD_Connection *conn,
                                     const char *url, const char *method, const char *version,
                                     void **con_cls)
{
	struct svc_http_req *rq = *con_cls;
	if (rq == NULL)
		rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return MHD_NO;
	*con_cls = rq;
	rq->raw_nul = target_has_nul(rq, url, version);
	rq->version = version;
	rq->srv = srv;
	rq->conn = conn;
	rq->method = method;
	rq->is_head = strcmp(method, "HEAD") == 0;
	clock_gettime(CLOCK_MONOTONIC, &rq->t0);
	atomic_fetch_add(&srv->active, 1);
	svc_http_prepare(rq, url, method);
	if (rq->pending_status == 0 && rq->rt != NULL && rq->rt->body == SVC_BODY_BUFFER)
		reserve_body(rq);
	if (rq->pending_status != 0 && svc_http_has_body(rq))
		return svc_http_send_pending(rq);
	return MHD_YES;
}

/* SVC_BODY_BUFFER: the body is read whole up to the route's limit; the
 * rest is dropped and answered with 413 once the body ended. */
static enum MHD_Result buffer_body(struct svc_http_req *rq, const char *data, size_t *size)
{
	if (!rq->body_too_large && !rq->over_cap) {
		if (rq->body.limit == 0)
			util_buf_init(&rq->body, (size_t)svc_http_body_limit(rq));
		/* a body without Content-Length reserves as it grows */
		uint64_t want = rq->body.len + *size;
		if (want > rq->reserved && !svc_guard_reserve(rq, want - rq->reserved)) {
			atomic_fetch_add(&rq->srv->metrics->bodies_refused, 1);
			rq->over_cap = true;
			util_buf_free(&rq->body);
			svc_guard_release(rq);
		} else if (util_buf_add(&rq->body, data, *size) != 0) {
			rq->body_too_large = true;
		}
	}
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
	struct svc_http_req *rq = *con_cls;
	if (rq == NULL || rq->srv == NULL)
		return on_first_call(cls, conn, url, method, version, con_cls);
	if (*size == 0 && !rq->read_whole) {
		rq->read_whole = true; /* out of --request-timeout's reach */
		svc_guard_busy(rq, true);
	}
	if (rq->responded) {
		*size = 0; /* the rest of a refused body */
		return MHD_YES;
	}
	if (rq->pending_status != 0)
		return svc_http_send_pending(rq);
	if (rq->rt->body == SVC_BODY_STREAM)
		return rq->rt->stream(rq, data, size);
	if (*size != 0 && rq->rt->body == SVC_BODY_BUFFER)
		return buffer_body(rq, data, size);
	if (rq->over_cap) {
		static const char *const h[] = {"Retry-After", "1", NULL};
		return svc_http_error_h(rq, 503, "busy", h,
		                        "request bodies held in memory are at the server's limit; "
		                        "retry later");
	}
	if (rq->body_too_large) {
		atomic_fetch_add(&rq->srv->metrics->bodies_too_large, 1);
		return svc_http_error(rq, 413, "payload_too_large",
		                      "the body is over the limit of %llu bytes",
		                      (unsigned long long)svc_http_body_limit(rq));
	}
	if (*size != 0) {
		*size = 0; /* a body on a route that takes none means nothing to us */
		return MHD_YES;
	}
	return svc_http_dispatch(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct svc_http_server *srv = cls;
	struct svc_http_req *rq = *con_cls;
	if (rq == NULL)
		return;
	*con_cls = NULL;
	if (rq->srv == NULL) {
		free(rq); /* the head never completed */
		return;
	}
	svc_guard_busy(rq, false);
	svc_guard_release(rq);
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - rq->t0.tv_sec) + (t1.tv_nsec - rq->t0.tv_nsec) / 1e9;
	if (rq->status != 0)
		svc_metrics_observe(srv->metrics, rq->route, rq->status, el);
	if (rq->rt != NULL && rq->rt->cleanup != NULL)
		rq->rt->cleanup(rq);
	util_buf_free(&rq->body);
	for (unsigned i = 0; i < rq->nsegs; i++)
		free(rq->segs[i]);
	for (unsigned i = 0; i < rq->nparams; i++) {
		free(rq->params[i].name);
		free(rq->params[i].value);
	}
	free(rq);
	atomic_fetch_sub(&srv->active, 1);
}

/* Leave decoding to us: we want the raw bytes to reject bad encodings. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

/* ---- start and stop --------------------------------------------------------- */
/* "ADDR:PORT" or "[V6]:PORT" into the host part and where the port starts;
 * -1 when malformed. */
static int split_listen(const char *s, char *host, size_t cap, const char **port)
{
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || e[1] != ':' || (size_t)(e - s - 1) >= cap)
			return -1;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		*port = e + 2;
		return 0;
	}
	/* IPv6 needs brackets: "::1:80" is ambiguous */
	const char *c = strchr(s, ':');
	if (c == NULL || strchr(c + 1, ':') != NULL || (size_t)(c - s) >= cap)
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	*port = c + 1;
	return 0;
}

int svc_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl, bool *loopback)
{
	char host[256];
	const char *port;
	memset(ss, 0, sizeof(*ss));
	uint64_t pn;
	if (split_listen(s, host, sizeof(host), &port) != 0 || svc_parse_u64(port, &pn) != 0 ||
	    pn > 65535)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)pn);
		*sl = sizeof(*v4);
		*loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)pn);
		*sl = sizeof(*v6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
		return 0;
	}
	return -1;
}

static int listen_socket(const struct sockaddr_storage *ss, socklen_t sl, char *msg, size_t msgcap)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(msg, msgcap, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) != 0) {
		snprintf(msg, msgcap, "cannot bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 511) != 0) {
		snprintf(msg, msgcap, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The daemon on the listening socket fd, its threads started. */
static int start_daemon(struct svc_http_server *srv, int fd)
{
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	unsigned threads = srv->conf.threads > 0 ? srv->conf.threads : 1;
	srv->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	    srv->conf.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, srv->conf.timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->conf.max_header, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->conf.max_per_ip, MHD_OPTION_NOTIFY_CONNECTION,
	    svc_guard_conn, srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_END);
	return srv->daemon != NULL ? 0 : -1;
}

int svc_http_start(struct svc_http_server *srv, char *msg, size_t msgcap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (svc_http_parse_listen(srv->conf.listen, &ss, &sl, &loopback) != 0) {
		snprintf(msg, msgcap, "--listen: '%s' is not ADDR:PORT or [IPV6]:PORT",
		         srv->conf.listen);
		return -1;
	}
	if (!loopback && srv->tokens == NULL) {
		snprintf(msg, msgcap,
		         "refusing to listen on %s without --tokens: an open API "
		         "only on loopback addresses (127.0.0.0/8, ::1)",
		         srv->conf.listen);
		return -1;
	}
	int fd = listen_socket(&ss, sl, msg, msgcap);
	if (fd < 0)
		return -1;
	srv->metrics = calloc(1, sizeof(*srv->metrics));
	if (srv->metrics == NULL) {
		close(fd);
		snprintf(msg, msgcap, "out of memory");
		return -1;
	}
	srv->started = time(NULL);
	if (svc_guard_start(srv) != 0 || start_daemon(srv, fd) != 0) {
		svc_guard_stop(srv);
		close(fd);
		free(srv->metrics);
		srv->metrics = NULL;
		snprintf(msg, msgcap, "libmicrohttpd failed to start (see above)");
		return -1;
	}
	return 0;
}

void svc_http_stop(struct svc_http_server *srv)
{
	if (srv->daemon == NULL)
		return;
	atomic_store(&srv->draining, true);
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* requests in flight finish; idle keep-alive connections are closed
	 * by MHD_stop_daemon */
	struct timespec ts = {0, 20 * 1000 * 1000};
	for (unsigned i = 0; i < srv->conf.drain_seconds * 50u; i++) {
		if (atomic_load(&srv->active) == 0)
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
	svc_guard_stop(srv);
	free(srv->metrics);
	srv->metrics = NULL;
}
