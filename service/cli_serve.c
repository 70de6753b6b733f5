/*
 * cli_serve.c - `infrapivot serve`: the HTTP API.
 *
 * SIGTERM and SIGINT are blocked in every thread and taken by the main
 * thread with sigwait(): on either the server stops accepting, lets the
 * requests in flight finish (their observations are committed), closes
 * the database and exits 0.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"
#include "store/watch.h"
#include "watch/watch.h"

/* The watch sweep of a ClickHouse store (docs/scale-out.md, "The watch
 * sweep"): a thread that sweeps every `interval` seconds until stopped. */
struct sweeper {
	uint64_t interval, overlap; /* --watch-sweep, --watch-sweep-overlap */
	store_t *store;
	int64_t now; /* --now */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, running;
};
static struct sweeper sweeper = {.interval = WATCH_SWEEP_INTERVAL, .overlap = WATCH_SWEEP_OVERLAP};

static void usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot serve [OPTIONS]\n"
	           "\n"
	           "Serve the REST API (and the DNSDB v2 and CIRCL compatible routes)\n"
	           "over HTTP.  docs/http-api.md describes every route.\n"
	           "\n"
	           "Options:\n"
	           "  --db DIR               database directory (created when missing)\n"
	           "  --store STORE          lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	           "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080;\n"
	           "                         IPv6 as [::1]:8080)\n"
	           "  --tokens FILE          API tokens, lines of TOKEN ROLE [NAME], roles\n"
	           "                         read, write, admin.  Without it the API is open\n"
	           "                         and only loopback addresses may be used.\n"
	           "  --threads N            worker threads (default: number of cores)\n"
	           "  --max-connections N    concurrent connections (default 512)\n"
	           "  --timeout SECONDS      idle time before a connection is closed (default 30)\n"
	           "  --request-timeout SECS a whole request (head and body) must arrive within\n"
	           "                         this long of the connection being ready for it, or\n"
	           "                         the connection is closed (default 60; 0: none)\n"
	           "  --max-per-ip N         concurrent connections per client address\n"
	           "                         (default 64)\n"
	           "  --max-buffered-bodies SIZE  memory of all request bodies held whole\n"
	           "                         (watchlists) together; past it 503 with\n"
	           "                         Retry-After (default 256M)\n"
	           "  --max-body SIZE        largest POST body, e.g. 64M (default 64M)\n"
	           "  --max-header SIZE      memory per connection for the request line and\n"
	           "                         headers (default 32K)\n"
	           "  --max-limit N          cap on limit= (default 100000)\n"
	           "  --default-limit N      results when no limit= is given (default 1000)\n"
	           "  --pivot-max-nodes N    cap on a pivot's max_nodes (default 2000)\n"
	           "  --pivot-max-ms N       cap on a pivot's max_ms (default 5000)\n"
	           "  --drain-timeout SECS   on SIGTERM, wait this long for requests in flight\n"
	           "                         (default 30)\n"
	           "  --now T                for tests: the watchlists' clock stands still at T\n"
	           "                         (expiries, versions, standing pivots); T as in\n"
	           "                         `infrapivot watchlist --now`\n"
	           "  --watch-sweep SECS     ClickHouse store: feed the standing pivots the\n"
	           "                         resolutions and certificates any writer sent to\n"
	           "                         the cluster, every\n"
	           "                         SECS seconds (default 60; 0: never, see\n"
	           "                         `infrapivot watchlist sweep`)\n"
	           "  --watch-sweep-overlap SECS  read this much before the last sweep again\n"
	           "                         for rows that arrive late (default 300)\n"
	           "  --no-ui                do not serve the analyst's page (GET / and /ui/)\n"
	           "  -h, --help             this help\n");
}

static int num_opt(const char *name, const char *v, uint64_t max, uint64_t *out)
{
	if (svc_parse_u64(v, out) != 0 || *out > max) {
		fprintf(stderr, "infrapivot serve: --%s: '%s' is not a number up to %llu\n", name,
		        v, (unsigned long long)max);
		return -1;
	}
	return 0;
}

/* The numeric options: each sets one field of struct svc_http_conf. */
#define CONF_FIELD(f) offsetof(struct svc_http_conf, f), sizeof(((struct svc_http_conf *)0)->f)
static const struct num_conf {
	int opt;
	const char *name;
	uint64_t max;
	bool nonzero;
	size_t off, size;
} num_confs[] = {
    {'t', "threads", 256, true, CONF_FIELD(threads)},
    {'c', "max-connections", 100000, true, CONF_FIELD(max_connections)},
    {'o', "timeout", 86400, true, CONF_FIELD(timeout)},
    {'L', "max-limit", 10000000, true, CONF_FIELD(max_limit)},
    {'D', "default-limit", 10000000, false, CONF_FIELD(default_limit)},
    {'n', "pivot-max-nodes", 10000, true, CONF_FIELD(pivot_max_nodes)},
    {'m', "pivot-max-ms", 600000, true, CONF_FIELD(pivot_max_ms)},
    {'r', "drain-timeout", 3600, false, CONF_FIELD(drain_seconds)},
    {'R', "request-timeout", 86400, false, CONF_FIELD(request_timeout)},
    {'P', "max-per-ip", 100000, true, CONF_FIELD(max_per_ip)},
};

/* A numeric option into its field: 1 when opt is none, 0 when set, -1 on
 * a bad value (reported). */
static int num_conf_set(struct svc_http_conf *conf, int opt, const char *v)
{
	for (size_t i = 0; i < sizeof(num_confs) / sizeof(num_confs[0]); i++) {
		const struct num_conf *n = &num_confs[i];
		if (n->opt != opt)
			continue;
		uint64_t x;
		if (num_opt(n->name, v, n->max, &x) != 0 || (n->nonzero && x == 0))
			return -1;
		unsigned u = (unsigned)x;
		memcpy((char *)conf + n->off, n->size == sizeof(u) ? (void *)&u : (void *)&x,
		       n->size);
		return 0;
	}
	return 1;
}

/* The options that are not plain numbers: 0, or 2 on a bad value. */
static int conf_set(struct svc_http_conf *conf, int opt, const char *v)
{
	uint64_t n;
	switch (opt) {
	case 'l':
		if (strlen(v) >= sizeof(conf->listen)) {
			fprintf(stderr, "infrapivot serve: --listen: too long\n");
			return 2;
		}
		snprintf(conf->listen, sizeof(conf->listen), "%s", v);
		return 0;
	case 'T':
		conf->tokens_path = v;
		return 0;
	case 'U':
		conf->no_ui = true;
		return 0;
	case 'W':
		return num_opt("watch-sweep", v, 86400, &sweeper.interval) != 0 ? 2 : 0;
	case 'O':
		return num_opt("watch-sweep-overlap", v, 86400, &sweeper.overlap) != 0 ? 2 : 0;
	case 'N':
		if (svc_time_opt(NULL, "now", v, (int64_t)time(NULL), &conf->now) != 0)
			return 2;
		return 0;
	case 'b':
		if (svc_parse_size(v, &conf->max_body) != 0 || conf->max_body == 0) {
			fprintf(stderr, "infrapivot serve: --max-body: not a size: '%s'\n", v);
			return 2;
		}
		return 0;
	case 'B':
		if (svc_parse_size(v, &conf->max_buffered) != 0 || conf->max_buffered == 0) {
			fprintf(stderr,
			        "infrapivot serve: --max-buffered-bodies: not a size: '%s'\n", v);
			return 2;
		}
		return 0;
	case 'H':
		if (svc_parse_size(v, &n) != 0 || n < 4096 || n > (16u << 20)) {
			fprintf(stderr, "infrapivot serve: --max-header: a size from 4K to 16M\n");
			return 2;
		}
		conf->max_header = (size_t)n;
		conf->max_url = conf->max_header / 2;
		return 0;
	}
	return num_conf_set(conf, opt, v) == 0 ? 0 : 2;
}

/* -1 to go on serving, or the exit code. */
static int parse_opts(int argc, char **argv, struct svc_http_conf *conf, const char **db)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"tokens", required_argument, NULL, 'T'},
	    {"threads", required_argument, NULL, 't'},
	    {"max-connections", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 'o'},
	    {"max-body", required_argument, NULL, 'b'},
	    {"max-header", required_argument, NULL, 'H'},
	    {"max-limit", required_argument, NULL, 'L'},
	    {"default-limit", required_argument, NULL, 'D'},
	    {"pivot-max-nodes", required_argument, NULL, 'n'},
	    {"pivot-max-ms", required_argument, NULL, 'm'},
	    {"drain-timeout", required_argument, NULL, 'r'},
	    {"request-timeout", required_argument, NULL, 'R'},
	    {"max-per-ip", required_argument, NULL, 'P'},
	    {"max-buffered-bodies", required_argument, NULL, 'B'},
	    {"now", required_argument, NULL, 'N'},
	    {"no-ui", no_argument, NULL, 'U'},
	    {"watch-sweep", required_argument, NULL, 'W'},
	    {"watch-sweep-overlap", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'd') {
			*db = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else if (c == '?' || c == ':') {
			svc_opt_error(NULL, argc, argv, "h", longopts);
			return 2;
		} else if (conf_set(conf, c, optarg) != 0) {
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Sweep now, then every interval seconds, until sweeper_stop; a failure
 * is reported and the next sweep reads from the same checkpoint. */
static void *sweep_main(void *arg)
{
	struct sweeper *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		struct watch_sweep_opts o = {(uint32_t)w->overlap, w->now};
		struct watch_sweep_stats st;
		char msg[700] = "";
		if (watch_sweep(w->store, &o, &st, msg, sizeof(msg)) != 0)
			fprintf(stderr, "infrapivot serve: %s\n", msg);
		else if (st.fed > 0)
			fprintf(stderr, "infrapivot serve: watch sweep: %llu rows fed\n",
			        (unsigned long long)st.fed);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)w->interval;
		pthread_mutex_lock(&w->lock);
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0) {
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Start the sweeper on a ClickHouse store (LMDB runs the standing pivots
 * in its writes). */
static void sweeper_start(struct sweeper *w, store_t *s, int64_t now)
{
	if (w->interval == 0 || strcmp(store_backend(s), "clickhouse") != 0)
		return;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->lock, NULL);
	w->store = s;
	w->now = now;
	w->running = pthread_create(&w->thread, NULL, sweep_main, w) == 0;
}

static void sweeper_stop(struct sweeper *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->running = false;
}

/* Serve until SIGTERM or SIGINT; the signals must be blocked in set. */
static int serve(struct svc_http_server *srv, const char *db, sigset_t *set)
{
	char msg[512];
	srv->store = svc_open_db(db, false);
	if (srv->store == NULL)
		return 2;
	/* the standing pivots run in the write hook: on the same clock */
	if (srv->conf.now != 0)
		store_set_write_hook(srv->store, store_watch_hook, &srv->conf.now);
	if (svc_http_start(srv, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot serve: %s\n", msg);
		store_close(srv->store);
		return 2;
	}
	fprintf(stderr, "infrapivot serve: listening on %s (%u threads, %s)\n", srv->conf.listen,
	        srv->conf.threads, srv->tokens ? "tokens required" : "no tokens: loopback only");
	sweeper_start(&sweeper, srv->store, srv->conf.now);
	int sig = 0;
	sigwait(set, &sig);
	fprintf(stderr, "infrapivot serve: %s: finishing requests in flight\n",
	        sig == SIGINT ? "SIGINT" : "SIGTERM");
	sweeper_stop(&sweeper);
	svc_http_stop(srv);
	store_close(srv->store);
	fprintf(stderr, "infrapivot serve: stopped\n");
	return 0;
}

int svc_cmd_serve(int argc, char **argv)
{
	struct svc_http_server srv;
	memset(&srv, 0, sizeof(srv));
	svc_http_conf_init(&srv.conf);
	const char *db = NULL;
	int rc = parse_opts(argc, argv, &srv.conf, &db);
	if (rc >= 0)
		return rc;
	char msg[512];
	if (srv.conf.tokens_path != NULL &&
	    svc_tokens_load(srv.conf.tokens_path, &srv.tokens, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot serve: --tokens: %s\n", msg);
		return 2;
	}
	/* every thread started from here on inherits the blocked set */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = serve(&srv, db, &set);
	svc_tokens_free(srv.tokens);
	return rc;
}
