/*
 * formats.c - the registry of input formats and auto-detection.
 */
#include <string.h>

#include "ingest/ingest_internal.h"

extern const struct ingest_format ingest_fmt_observations;
extern const struct ingest_format ingest_fmt_cof;
extern const struct ingest_format ingest_fmt_zeek;
extern const struct ingest_format ingest_fmt_eve;
extern const struct ingest_format ingest_fmt_passivedns;
extern const struct ingest_format ingest_fmt_saf;

static const struct ingest_format *const formats[] = {
    &ingest_fmt_observations, &ingest_fmt_cof,        &ingest_fmt_zeek,
    &ingest_fmt_eve,          &ingest_fmt_passivedns, &ingest_fmt_saf,
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct ingest_format *ingest_format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (strcmp(formats[i]->name, name) == 0)
			return formats[i];
	return NULL;
}

bool ingest_format_known(const char *name)
{
	return strcmp(name, "auto") == 0 || strcmp(name, "x509") == 0 ||
	       ingest_format_find(name) != NULL;
}

const char *ingest_format_list(void)
{
	return "auto, observations, cof, zeek, eve, passivedns, saf, x509";
}

const struct ingest_format *ingest_format_detect(const char *line, size_t len)
{
	const struct ingest_format *best = NULL;
	int best_score = 0;
	for (size_t i = 0; i < NFORMATS; i++) {
		if (formats[i]->detect == NULL)
			continue;
		int s = formats[i]->detect(line, len);
		if (s > best_score) {
			best_score = s;
			best = formats[i];
		}
	}
	return best;
}
