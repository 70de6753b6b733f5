/*
 * fuzz_replay.c - a main() for builds without libFuzzer: runs a target
 * once on each file named, so the seed corpora are regression tests in
 * every build (plain and sanitizer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int ran = 0;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		uint8_t *buf = malloc(1 << 20);
		size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
		ran++;
	}
	printf("%d inputs replayed\n", ran);
	return ran > 0 ? 0 : 1;
}
