/*
 * cli_common.c - helpers shared by the subcommands.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "service/svc.h"
#include "util/num.h"

store_t *svc_open_db(const char *dir_opt, bool rdonly)
{
	const char *dir = store_default_dir(dir_opt);
	store_t *s = NULL;
	size_t mapsize = 0;
	const char *ms = getenv("INFRAPIVOT_MAPSIZE");
	uint64_t v;
	if (ms != NULL && svc_parse_size(ms, &v) == 0)
		mapsize = (size_t)v;
	int err = store_open_url(&s, dir, rdonly ? STORE_RDONLY : 0, mapsize);
	if (err != 0) {
		const char *detail = store_last_error();
		const char *cmd = svc_command() ? svc_command() : "";
		const char *sp = *cmd ? " " : "";
		const char *shown = strncmp(dir, "lmdb:", 5) == 0 ? dir + 5 : dir;
		if (strncmp(dir, "clickhouse://", 13) == 0)
			fprintf(stderr, "infrapivot%s%s: cannot open store %s: %s\n", sp, cmd, dir,
			        *detail ? detail : store_strerror(err));
		else if (rdonly && err == -ENOENT)
			fprintf(stderr,
			        "infrapivot%s%s: no database at %s (create one with "
			        "`infrapivot ingest`)\n",
			        sp, cmd, shown);
		else if (strncmp(detail, "cannot ", 7) == 0) /* names dir and why */
			fprintf(stderr, "infrapivot%s%s: %s\n", sp, cmd, detail);
		else
			fprintf(stderr, "infrapivot%s%s: cannot open database %s: %s\n", sp, cmd,
			        shown, *detail ? detail : store_strerror(err));
		return NULL;
	}
	return s;
}

bool svc_lmdb_only(const store_t *s, const char *what)
{
	if (strcmp(store_backend(s), "lmdb") == 0)
		return true;
	fprintf(stderr, "infrapivot %s: not supported on the ClickHouse store yet: %s\n",
	        svc_command() ? svc_command() : "", what);
	return false;
}

const char *svc_store_error(int err)
{
	static _Thread_local char msg[600];
	const char *d = store_last_error();
	if ((err != STORE_ENOTSUP && err != STORE_EREMOTE) || *d == '\0')
		return store_strerror(err);
	snprintf(msg, sizeof(msg), "%s: %s", store_strerror(err), d);
	return msg;
}

const char *svc_next_now(int argc, char **argv, int *i)
{
	for (; *i < argc; (*i)++) {
		const char *a = argv[*i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--now") == 0 && *i + 1 < argc) {
			*i += 2;
			return argv[*i - 1];
		}
		if (strncmp(a, "--now=", 6) == 0) {
			(*i)++;
			return a + 6;
		}
	}
	*i = argc;
	return NULL;
}

int svc_db_opts(int argc, char **argv, const struct option *longopts, const char **db,
                void (*usage)(FILE *f))
{
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
		} else if (c != 0) {
			return 2;
		}
	}
	return -1;
}

int svc_print_json(json_t *j, size_t flags)
{
	if (j == NULL)
		return -1;
	char *s = json_dumps(j, flags);
	json_decref(j);
	if (s == NULL)
		return -1;
	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

int svc_parse_u64(const char *s, uint64_t *out)
{
	return util_u64_parse(s, UINT64_MAX, out) == 0 ? 0 : -1;
}

int svc_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t l = strlen(s);
	if (l == 0 || l >= sizeof(num))
		return -1;
	memcpy(num, s, l + 1);
	uint64_t mult = 1;
	char u = num[l - 1];
	if (u == 'k' || u == 'K')
		mult = 1ull << 10;
	else if (u == 'm' || u == 'M')
		mult = 1ull << 20;
	else if (u == 'g' || u == 'G')
		mult = 1ull << 30;
	if (mult != 1)
		num[l - 1] = '\0';
	uint64_t v;
	if (svc_parse_u64(num, &v) != 0 || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int svc_ingest_opt(const char *cmd, int opt, const char *arg, struct ingest_opts *o)
{
	uint64_t v;
	switch (opt) {
	case 's':
		if (strlen(arg) == 0 || strlen(arg) >= STORE_SENSOR_MAX) {
			fprintf(stderr, "infrapivot %s: --sensor must be 1-%d bytes\n", cmd,
			        STORE_SENSOR_MAX - 1);
			return -1;
		}
		o->sensor = arg;
		return 0;
	case 'b':
		if (svc_parse_u64(arg, &v) != 0 || v == 0 || v > 1000000) {
			fprintf(stderr, "infrapivot %s: --batch must be 1-1000000\n", cmd);
			return -1;
		}
		o->batch = (size_t)v;
		return 0;
	case 'L':
		if (svc_parse_size(arg, &v) != 0 || v < 64 || v > (1u << 30)) {
			fprintf(stderr, "infrapivot %s: --max-line must be 64 bytes - 1G\n", cmd);
			return -1;
		}
		o->max_line = (size_t)v;
		return 0;
	default:
		return -1;
	}
}

int svc_opt_u64(const char *cmd, const char *arg, uint64_t lo, uint64_t hi, const char *msg,
                uint64_t *out)
{
	uint64_t v;
	if (svc_parse_u64(arg, &v) != 0 || v < lo || v > hi) {
		fprintf(stderr, "infrapivot %s: %s\n", cmd, msg);
		return -1;
	}
	*out = v;
	return 0;
}

int svc_rejects_open(const char *path, struct ingest_opts *o)
{
	if (path == NULL)
		return 0;
	FILE *rf = fopen(path, "w");
	if (rf == NULL) {
		perror(path);
		return -1;
	}
	o->rejects = rf;
	return 0;
}

void svc_on_stop_signals(void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int svc_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const svc_opt_fn *handlers, void *ctx, void (*usage)(FILE *f))
{
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			svc_opt_error(NULL, argc, argv, shortopts, longopts);
			return 2;
		}
		int r = SVC_OPT_OTHER;
		for (size_t i = 0; handlers[i] != NULL && r == SVC_OPT_OTHER; i++)
			r = handlers[i](ctx, c, optarg);
		if (r == SVC_OPT_OTHER)
			usage(stderr);
		if (r != SVC_OPT_OK)
			return 2;
	}
	return -1;
}
