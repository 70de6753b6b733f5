/*
 * main.c - the infrapivot binary: one command, subcommands.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "service/svc_estate.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
    {"ingest", svc_cmd_ingest, "record sightings from sensor logs, COF and certificate lines"},
    {"lookup", svc_cmd_lookup, "what the store knows of a domain, an IP/prefix or a certificate"},
    {"pivot", svc_cmd_pivot,
     "expand a domain, IP or certificate into the infrastructure behind it"},
    {"pull", svc_cmd_pull, "fetch a passive DNS feed over HTTP(S) (COF, DNSDB SAF, ...)"},
    {"probe", svc_cmd_probe, "connect to HOST[:PORT] with TLS and record its certificate"},
    {"stats", svc_cmd_stats, "counts of every kind of record and the database size"},
    {"compact", svc_cmd_compact, "write a compacted copy of the database"},
    {"watchlist", svc_cmd_watchlist,
     "pivot results for sensors: expiry, provenance, standing pivots, exports"},
    {"beacons", svc_cmd_beacons, "destinations our hosts contact, ranked as C2 beacons"},
    {"sensor", svc_cmd_sensor, "sensor organisations and internal networks"},
    {"serve", svc_cmd_serve, "the HTTP API (REST, DNSDB v2 and CIRCL compatible)"},
    {"migrate", svc_cmd_migrate, "copy an LMDB store's resolutions into a ClickHouse store"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot COMMAND [OPTIONS] [ARGS]\n\n"
	           "Passive DNS and TLS-certificate pivot service.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`infrapivot COMMAND --help` describes each command's options.\n"
	           "The database is --db DIR, else $INFRAPIVOT_DB, else ./infrapivot-data;\n"
	           "--store lmdb:DIR is the same, --store clickhouse://HOST:PORT/DATABASE a\n"
	           "ClickHouse cluster (its control plane in $INFRAPIVOT_CONTROL, else\n"
	           "./infrapivot-control; credentials from $INFRAPIVOT_CH_USER and\n"
	           "$INFRAPIVOT_CH_PASSWORD or the user:password file named by\n"
	           "$INFRAPIVOT_CH_CREDENTIALS); --db and --store may come before the\n"
	           "command (infrapivot --db DIR stats).\n");
}

static int run(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("infrapivot 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			svc_set_command(commands[i].name);
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	if (strcmp(argv[1], "--db") == 0 || strncmp(argv[1], "--db=", 5) == 0 ||
	    strcmp(argv[1], "--store") == 0 || strncmp(argv[1], "--store=", 8) == 0)
		fprintf(stderr, "infrapivot: no command after %s\n\n", argv[1]);
	else if (argv[1][0] == '-')
		fprintf(stderr,
		        "infrapivot: unknown option %s before the command (only --db DIR or "
		        "--store STORE)\n\n",
		        argv[1]);
	else
		fprintf(stderr, "infrapivot: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	/* every command reports a refused option itself (svc_opt_error) */
	opterr = 0;
	int n;
	char **v = svc_global_opts(argc, argv, &n);
	int rc = run(n, v != NULL ? v : argv);
	free(v);
	return rc;
}
