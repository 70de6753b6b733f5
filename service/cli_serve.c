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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"
#include "store/watch.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot serve [OPTIONS]\n"
	           "\n"
	           "Serve the REST API (and the DNSDB v2 and CIRCL compatible routes)\n"
	           "over HTTP.  docs/http-api.md describes every route.\n"
	           "\n"
	           "Options:\n"
	           "  --db DIR               database directory (created when missing)\n"
	           "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080;\n"
	           "                         IPv6 as [::1]:8080)\n"
	           "  --tokens FILE          API tokens, lines of TOKEN ROLE [NAME], roles\n"
	           "                         read, write, admin.  Without it the API is open\n"
	           "                         and only loopback addresses may be used.\n"
	           "  --threads N            worker threads (default: number of cores)\n"
	           "  --max-connections N    concurrent connections (default 512)\n"
	           "  --timeout SECONDS      idle time before a connection is closed (default 30)\n"
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

int svc_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
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
	    {"now", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct svc_http_server srv;
	memset(&srv, 0, sizeof(srv));
	struct svc_http_conf *conf = &srv.conf;
	svc_http_conf_init(conf);
	const char *db = NULL;
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'l':
			if (strlen(optarg) >= sizeof(conf->listen)) {
				fprintf(stderr, "infrapivot serve: --listen: too long\n");
				return 2;
			}
			snprintf(conf->listen, sizeof(conf->listen), "%s", optarg);
			break;
		case 'T':
			conf->tokens_path = optarg;
			break;
		case 't':
			if (num_opt("threads", optarg, 256, &v) != 0 || v == 0)
				return 2;
			conf->threads = (unsigned)v;
			break;
		case 'c':
			if (num_opt("max-connections", optarg, 100000, &v) != 0 || v == 0)
				return 2;
			conf->max_connections = (unsigned)v;
			break;
		case 'o':
			if (num_opt("timeout", optarg, 86400, &v) != 0 || v == 0)
				return 2;
			conf->timeout = (unsigned)v;
			break;
		case 'b':
			if (svc_parse_size(optarg, &conf->max_body) != 0 || conf->max_body == 0) {
				fprintf(stderr, "infrapivot serve: --max-body: not a size: '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'H':
			if (svc_parse_size(optarg, &v) != 0 || v < 4096 || v > (16u << 20)) {
				fprintf(stderr,
				        "infrapivot serve: --max-header: a size from 4K to 16M\n");
				return 2;
			}
			conf->max_header = (size_t)v;
			conf->max_url = conf->max_header / 2;
			break;
		case 'L':
			if (num_opt("max-limit", optarg, 10000000, &conf->max_limit) != 0 ||
			    conf->max_limit == 0)
				return 2;
			break;
		case 'D':
			if (num_opt("default-limit", optarg, 10000000, &conf->default_limit) != 0)
				return 2;
			break;
		case 'n':
			if (num_opt("pivot-max-nodes", optarg, 10000, &v) != 0 || v == 0)
				return 2;
			conf->pivot_max_nodes = (unsigned)v;
			break;
		case 'm':
			if (num_opt("pivot-max-ms", optarg, 600000, &v) != 0 || v == 0)
				return 2;
			conf->pivot_max_ms = (unsigned)v;
			break;
		case 'r':
			if (num_opt("drain-timeout", optarg, 3600, &v) != 0)
				return 2;
			conf->drain_seconds = (unsigned)v;
			break;
		case 'N':
			if (store_time_parse(optarg, (int64_t)time(NULL), &conf->now) != 0 ||
			    conf->now <= 0) {
				fprintf(stderr, "infrapivot serve: --now: '%s' is not a time\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	char msg[512];
	if (conf->tokens_path != NULL &&
	    svc_tokens_load(conf->tokens_path, &srv.tokens, msg, sizeof(msg)) != 0) {
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
	srv.store = svc_open_db(db, false);
	if (srv.store == NULL) {
		svc_tokens_free(srv.tokens);
		return 2;
	}
	/* the standing pivots run in the write hook: on the same clock */
	if (conf->now != 0)
		store_set_write_hook(srv.store, store_watch_hook, &conf->now);
	if (svc_http_start(&srv, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "infrapivot serve: %s\n", msg);
		store_close(srv.store);
		svc_tokens_free(srv.tokens);
		return 2;
	}
	fprintf(stderr, "infrapivot serve: listening on %s (%u threads, %s)\n", conf->listen,
	        conf->threads, srv.tokens ? "tokens required" : "no tokens: loopback only");
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "infrapivot serve: %s: finishing requests in flight\n",
	        sig == SIGINT ? "SIGINT" : "SIGTERM");
	svc_http_stop(&srv);
	store_close(srv.store);
	svc_tokens_free(srv.tokens);
	fprintf(stderr, "infrapivot serve: stopped\n");
	return 0;
}
