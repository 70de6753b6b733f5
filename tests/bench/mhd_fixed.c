/*
 * mhd_fixed.c - the baseline for scripts/bench-http.sh: libmicrohttpd with
 * the same daemon set-up as `infrapivot serve` (internal epoll thread
 * pool, response queued on the second handler call for keep-alive),
 * answering every request with a fixed body of the given size.
 *
 *   mhd_fixed PORT BODY_BYTES [THREADS]
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *body;
static size_t body_len;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
	static int first_call_marker;
	if (*con_cls == NULL) {
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mhd_fixed PORT BODY_BYTES [THREADS]\n");
		return 2;
	}
	char *end;
	unsigned long port = strtoul(argv[1], &end, 10);
	body_len = strtoul(argv[2], &end, 10);
	unsigned long threads = argc > 3 ? strtoul(argv[3], &end, 10) : 2;
	body = malloc(body_len + 1);
	if (body == NULL)
		return 2;
	memset(body, 'x', body_len);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, (uint16_t)port, NULL,
	    NULL, handler, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "mhd_fixed: cannot start\n");
		return 2;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(body);
	return 0;
}
