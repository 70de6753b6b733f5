/* fuzz_jarm.c - libFuzzer target for the JARM ServerHello parser
 * (ingest_jarm_parse: untrusted server bytes) and for the fingerprint of
 * what it produces: ingest_jarm_hash must accept every answer text the
 * parser gives.  Registered by adding "jarm" to the list in
 * tests/fuzz/CMakeLists.txt; seeds are first records of real ServerHellos
 * (openssl s_server), an alert, and hostile lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char raw[INGEST_JARM_PROBES * INGEST_JARM_TEXT_MAX];
	char text[INGEST_JARM_TEXT_MAX], fp[INGEST_JARM_LEN + 1];
	int hello = ingest_jarm_parse(data, size, text, sizeof(text));
	if (hello != 1 && (hello != 0 || strcmp(text, "|||") != 0))
		abort();
	/* this answer among nine empty ones, first and last */
	snprintf(raw, sizeof(raw), "%s,|||,|||,|||,|||,|||,|||,|||,|||,|||", text);
	if (ingest_jarm_hash(raw, fp) != 0 || strlen(fp) != INGEST_JARM_LEN)
		abort();
	snprintf(raw, sizeof(raw), "|||,|||,|||,|||,|||,|||,|||,|||,|||,%s", text);
	if (ingest_jarm_hash(raw, fp) != 0 || strlen(fp) != INGEST_JARM_LEN)
		abort();
	return 0;
}
