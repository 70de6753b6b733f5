/*
 * cli_opts.c - what every subcommand's option parsing shares: the command
 * name in messages, global options before the command, and the message for
 * an option getopt_long refused (unknown, ambiguous, missing its value),
 * with the nearest option offered.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "util/time.h"

static const char *command = NULL;

void svc_set_command(const char *name)
{
	command = name;
}

const char *svc_command(void)
{
	return command;
}

/* Levenshtein distance of a and b, counting at most 63 bytes of each. */
static size_t edit_distance(const char *a, size_t al, const char *b, size_t bl)
{
	size_t row[64];
	al = al > 63 ? 63 : al;
	bl = bl > 63 ? 63 : bl;
	for (size_t j = 0; j <= bl; j++)
		row[j] = j;
	for (size_t i = 1; i <= al; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= bl; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[bl];
}

/* The long option nearest to name (within a third of its length, at
 * least 2), or NULL. */
static const char *nearest(const struct option *longopts, const char *name, size_t len)
{
	const char *best = NULL;
	size_t bestd = len / 3 > 2 ? len / 3 : 2;
	for (const struct option *o = longopts; o->name != NULL; o++) {
		size_t d = edit_distance(name, len, o->name, strlen(o->name));
		if (d <= bestd) {
			best = o->name;
			bestd = d;
		}
	}
	return best;
}

/* A long option getopt_long refused: arg is the argument as given. */
static void long_error(const char *cmd, const struct option *longopts, const char *arg)
{
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const struct option *match = NULL;
	int matches = 0;
	for (const struct option *o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (strlen(o->name) == len) {
			match = o;
			matches = 1;
			break;
		}
		match = o;
		matches++;
	}
	if (matches == 1 && match->has_arg == required_argument && name[len] != '=') {
		fprintf(stderr, "%s: --%s needs a value (see --help)\n", cmd, match->name);
	} else if (matches == 1 && match->has_arg == no_argument) {
		fprintf(stderr, "%s: --%s takes no value\n", cmd, match->name);
	} else if (matches > 1) {
		fprintf(stderr, "%s: --%.*s is ambiguous:", cmd, (int)len, name);
		for (const struct option *o = longopts; o->name != NULL; o++)
			if (strncmp(o->name, name, len) == 0)
				fprintf(stderr, " --%s", o->name);
		fputc('\n', stderr);
	} else {
		const char *near = nearest(longopts, name, len);
		fprintf(stderr, "%s: unknown option --%.*s", cmd, (int)len, name);
		if (near != NULL)
			fprintf(stderr, "; did you mean --%s?\n", near);
		else
			fprintf(stderr, " (see --help)\n");
	}
}

void svc_opt_error(const char *sub, int argc, char **argv, const char *shortopts,
                   const struct option *longopts)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "infrapivot %s%s%s", command ? command : argv[0], sub ? " " : "",
	         sub ? sub : "");
	const char *arg = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
		long_error(cmd, longopts, arg);
		return;
	}
	const char *at = optopt != 0 ? strchr(shortopts, optopt) : NULL;
	if (at != NULL && at[1] == ':')
		fprintf(stderr, "%s: -%c needs a value (see --help)\n", cmd, optopt);
	else if (optopt > ' ' && optopt < 127)
		fprintf(stderr, "%s: unknown option -%c (see --help)\n", cmd, optopt);
	else
		fprintf(stderr, "%s: unknown option %s (see --help)\n", cmd, arg);
}

int svc_time_opt(const char *sub, const char *opt, const char *v, int64_t now, int64_t *out)
{
	char why[256];
	int64_t t = 0;
	int rc = util_time_parse(v, now, &t, why, sizeof(why));
	if (rc == 0 && t > 0) {
		*out = t;
		return 0;
	}
	if (rc == 0)
		snprintf(why, sizeof(why), "'%.64s' is not after 1970", v);
	fprintf(stderr, "infrapivot %s%s%s: --%s %s\n", command ? command : "", sub ? " " : "",
	        sub ? sub : "", opt, why);
	return -1;
}

/* Whether argv[i] is a global option; *take: the arguments it spans. */
static bool global_opt(int argc, char **argv, int i, int *take)
{
	if (strncmp(argv[i], "--db=", 5) == 0 || strncmp(argv[i], "--store=", 8) == 0) {
		*take = 1;
		return true;
	}
	if (strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--store") == 0) {
		*take = i + 1 < argc ? 2 : 1;
		return true;
	}
	return false;
}

char **svc_global_opts(int argc, char **argv, int *newargc)
{
	int g = 1;
	int take;
	while (g < argc && global_opt(argc, argv, g, &take))
		g += take;
	*newargc = argc;
	if (g == 1)
		return NULL;
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	/* infrapivot --db X cmd A B [-- C]  ->  infrapivot cmd A B --db X [-- C]:
	 * the options land before any "--", where getopt_long still reads them */
	int n = 0, rest = g < argc ? g + 1 : g, end = rest;
	while (end < argc && strcmp(argv[end], "--") != 0)
		end++;
	v[n++] = argv[0];
	if (g < argc)
		v[n++] = argv[g];
	for (int i = rest; i < end; i++)
		v[n++] = argv[i];
	for (int i = 1; i < g; i++)
		v[n++] = argv[i];
	for (int i = end; i < argc; i++)
		v[n++] = argv[i];
	return v;
}
