/*
 * fuzz_watch_input.c - libFuzzer target for what clients send the
 * watchlist API: the input is one JSON document given as settings (PUT),
 * as entries (POST .../entries) and, when it is a string, as an
 * If-None-Match header, an indicator and an edge list.  Built as a
 * libFuzzer binary with -DINFRAPIVOT_FUZZ=ON, else replayed over the seed
 * corpus in every build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "watch/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[400];
	/* raw text: a header value, an indicator, an edge list */
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)watch_etag_match(text, 12);
	char out[STORE_WATCH_IND_BUF];
	unsigned type = 0;
	(void)store_watch_indicator_norm(text, &type, out);
	unsigned mask;
	(void)watch_edges_parse(text, &mask, msg, sizeof(msg));
	(void)store_watch_name_ok(text);
	free(text);

	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return 0;
	struct store_watch_settings set;
	store_watch_settings_init(&set);
	snprintf(set.name, sizeof(set.name), "fuzz");
	(void)watch_settings_from_json(j, &set, msg, sizeof(msg));
	struct watch_items it;
	watch_items_init(&it);
	const json_t *arr = json_is_object(j) ? json_object_get(j, "entries") : j;
	if (arr != NULL)
		(void)watch_items_from_json(&it, arr, "fuzz", 30, 1700000000, msg, sizeof(msg));
	watch_items_free(&it);
	json_decref(j);
	return 0;
}
