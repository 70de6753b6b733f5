/* fuzz_eve.c - libFuzzer target for the eve line format. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines("eve", data, size);
	return 0;
}
