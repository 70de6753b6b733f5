/*
 * mkscenario.c - write the hunt scenario database (scenario.h) into DIR,
 * (or a ClickHouse store: DIR may be any store address, store_open_url)
 * or with --cotenant the planted clusters beside co-tenants
 * (scenario_cotenant.h), for the shell tests of `infrapivot pivot`.
 */
#include <string.h>

#include "tests/pivot/scenario_cotenant.h"

int main(int argc, char **argv)
{
	bool cot = argc == 3 && strcmp(argv[1], "--cotenant") == 0;
	if (argc != 2 && !cot) {
		fprintf(stderr, "usage: mkscenario [--cotenant] DIR|STORE\n");
		return 2;
	}
	int err = cot ? scn_build_cotenant(argv[2]) : scn_build(argv[1]);
	if (err != 0) {
		fprintf(stderr, "mkscenario: %s\n", store_strerror(err));
		return 1;
	}
	printf("%lld\n", (long long)SCN_NOW);
	return 0;
}
