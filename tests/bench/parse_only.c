/*
 * parse_only.c - the benchmark's yardstick: how fast jansson alone parses
 * every line of a file (read in the same 256 KiB chunks as ingest).
 * Prints "lines seconds lines/s".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: parse_only FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 2;
	}
	size_t cap = 1 << 20, len = 0;
	char *line = malloc(cap);
	char *buf = malloc(256 * 1024);
	if (line == NULL || buf == NULL)
		return 2;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long long lines = 0, bad = 0;
	size_t n;
	while ((n = fread(buf, 1, 256 * 1024, f)) > 0) {
		size_t i = 0;
		while (i < n) {
			char *nl = memchr(buf + i, '\n', n - i);
			size_t chunk = nl ? (size_t)(nl - (buf + i)) : n - i;
			if (len + chunk < cap) {
				memcpy(line + len, buf + i, chunk);
				len += chunk;
			}
			i += chunk;
			if (nl == NULL)
				break;
			i++;
			json_error_t err;
			json_t *j = json_loadb(line, len, 0, &err);
			if (j == NULL)
				bad++;
			json_decref(j);
			lines++;
			len = 0;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu %.3f %.0f\n", lines, s, lines / s);
	fclose(f);
	free(line);
	free(buf);
	return bad ? 1 : 0;
}
