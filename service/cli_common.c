/*
 * cli_common.c - helpers shared by the subcommands.
 */
#include <errno.h>
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
	int err = store_open(&s, dir, rdonly ? STORE_RDONLY : 0, mapsize);
	if (err != 0) {
		const char *detail = store_last_error();
		if (rdonly && err == -ENOENT)
			fprintf(stderr,
			        "infrapivot: no database at %s (create one with "
			        "`infrapivot ingest`)\n",
			        dir);
		else
			fprintf(stderr, "infrapivot: cannot open database %s: %s%s%s\n", dir,
			        store_strerror(err), *detail ? ": " : "", detail);
		return NULL;
	}
	return s;
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
