/*
 * mkscenario.c - write the hunt scenario database (scenario.h) into DIR,
 * for the shell tests of `infrapivot pivot`.
 */
#include "tests/pivot/scenario.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkscenario DIR\n");
		return 2;
	}
	int err = scn_build(argv[1]);
	if (err != 0) {
		fprintf(stderr, "mkscenario: %s\n", store_strerror(err));
		return 1;
	}
	printf("%lld\n", (long long)SCN_NOW);
	return 0;
}
