/* fuzz_zeek.c - libFuzzer target for the zeek line format. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines("zeek", data, size);
	return 0;
}
