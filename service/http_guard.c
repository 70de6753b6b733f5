/*
 * http_guard.c - what keeps hostile clients from starving the server:
 *
 *  - a deadline for the whole request (head and body): libmicrohttpd's
 *    --timeout is an idle timeout that every byte restarts, so a client
 *    sending a header byte every few seconds would hold a connection
 *    forever.  Each connection is registered (notify-connection
 *    callback); a reaper thread shuts down the socket of one that has not
 *    delivered a whole request within --request-timeout seconds of being
 *    ready for it (accepted, or its previous response done).  libmicrohttpd
 *    then sees the socket end and closes the connection itself.
 *  - a cap on the memory of all buffered request bodies together
 *    (--max-buffered-bodies): past it, 503 with Retry-After.
 *
 * The cap on connections per client address is libmicrohttpd's own
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT, set in http.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "service/http_internal.h"

struct svc_conn {
	struct svc_conn *prev, *next;
	int fd;
	double since; /* ready for a request since (monotonic seconds) */
	bool busy;    /* the request was read whole: its answer is going out */
	bool shut;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void svc_guard_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                    enum MHD_ConnectionNotificationCode code)
{
	struct svc_http_server *srv = cls;
	struct svc_conn *c = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (c == NULL || ci == NULL) {
			free(c);
			return; /* not watched: only the idle timeout applies */
		}
		c->fd = ci->connect_fd;
		c->since = mono_s();
		pthread_mutex_lock(&srv->guard_mu);
		c->next = srv->conns;
		if (c->next != NULL)
			c->next->prev = c;
		srv->conns = c;
		pthread_mutex_unlock(&srv->guard_mu);
		*socket_context = c;
		return;
	}
	if (c == NULL)
		return;
	/* closed: libmicrohttpd closes the socket after this returns, so the
	 * reaper (under the same lock) never touches a reused descriptor */
	pthread_mutex_lock(&srv->guard_mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&srv->guard_mu);
	free(c);
	*socket_context = NULL;
}

/* The connection of rq: busy (its request was read whole) or ready for
 * the next request from now. */
void svc_guard_busy(struct svc_http_req *rq, bool busy)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || ci->socket_context == NULL)
		return;
	struct svc_conn *c = ci->socket_context;
	pthread_mutex_lock(&rq->srv->guard_mu);
	c->busy = busy;
	c->since = mono_s();
	pthread_mutex_unlock(&rq->srv->guard_mu);
}

static void *reaper_main(void *arg)
{
	struct svc_http_server *srv = arg;
	pthread_setname_np(pthread_self(), "ip-reaper");
	struct timespec tick = {0, 200 * 1000 * 1000};
	pthread_mutex_lock(&srv->guard_mu);
	while (!srv->guard_stop) {
		double now = mono_s();
		unsigned shut = 0;
		for (struct svc_conn *c = srv->conns; c != NULL; c = c->next) {
			if (c->busy || c->shut || now - c->since < srv->conf.request_timeout)
				continue;
			shutdown(c->fd, SHUT_RDWR);
			c->shut = true;
			shut++;
		}
		if (shut > 0)
			atomic_fetch_add(&srv->metrics->requests_timed_out, shut);
		pthread_mutex_unlock(&srv->guard_mu);
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&srv->guard_mu);
	}
	pthread_mutex_unlock(&srv->guard_mu);
	return NULL;
}

int svc_guard_start(struct svc_http_server *srv)
{
	pthread_mutex_init(&srv->guard_mu, NULL);
	pthread_mutex_init(&srv->idem_mu, NULL);
	srv->guard_stop = false;
	if (srv->conf.request_timeout == 0)
		return 0;
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0)
		return -ENOMEM;
	srv->reaper_running = true;
	return 0;
}

void svc_guard_stop(struct svc_http_server *srv)
{
	pthread_mutex_lock(&srv->guard_mu);
	srv->guard_stop = true;
	pthread_mutex_unlock(&srv->guard_mu);
	if (srv->reaper_running)
		pthread_join(srv->reaper, NULL);
	srv->reaper_running = false;
}

bool svc_guard_reserve(struct svc_http_req *rq, uint64_t n)
{
	uint64_t cap = rq->srv->conf.max_buffered;
	uint64_t now = atomic_fetch_add(&rq->srv->buffered, n) + n;
	if (now > cap) {
		atomic_fetch_sub(&rq->srv->buffered, n);
		return false;
	}
	rq->reserved += n;
	return true;
}

void svc_guard_release(struct svc_http_req *rq)
{
	if (rq->reserved > 0)
		atomic_fetch_sub(&rq->srv->buffered, rq->reserved);
	rq->reserved = 0;
}
