/* fuzz_cof.c - libFuzzer target for the observations line format. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines("observations", data, size);
	return 0;
}
