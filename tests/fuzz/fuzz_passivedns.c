/* fuzz_passivedns.c - libFuzzer target for the passivedns line format. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines("passivedns", data, size);
	return 0;
}
