/* fuzz_saf.c - libFuzzer target for the SAF (DNSDB streaming) format.
 * Registered by adding "saf" to the list in tests/fuzz/CMakeLists.txt. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines("saf", data, size);
	return 0;
}
