/* fuzz_certfile.c - libFuzzer target for PEM/DER certificate files. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ingest_certfile(fuzz_stream("x509", "192.0.2.1"), "fuzz", data, size, 1700000000);
	return 0;
}
