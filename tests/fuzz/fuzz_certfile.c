/* fuzz_certfile.c - libFuzzer target for PEM/DER certificate files. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ingest_stream_t *st = fuzz_stream("x509", "192.0.2.1");
	ingest_certfile(st, "fuzz", data, size, 1700000000);
	fuzz_done(st);
	return 0;
}
