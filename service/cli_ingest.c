/*
 * cli_ingest.c - `infrapivot ingest`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "service/svc.h"
#include "service/svc_estate.h"

static void usage_formats(FILE *f)
{
	fputs("Formats (auto-detected from the first line of each input):\n"
	      "  zeek        Zeek dns.log, ssl.log, x509.log, conn.log (TSV or JSON\n"
	      "              writer; files.log supplies hashes for pre-4.2 cert_chain_fuids)\n"
	      "  eve         Suricata EVE JSON: dns (v1, v2, v3), tls and flow events\n"
	      "  passivedns  gamelinux/passivedns text (|| separated) or JSON (-j)\n"
	      "  x509        PEM (one or many blocks) or DER certificate files\n"
	      "  observations / cof  the JSON lines below\n"
	      "\n"
	      "Input lines (observations format):\n"
	      "  COF:  {\"rrname\":\"www.example.com\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\n"
	      "         \"time_first\":1700000000,\"time_last\":1700003600,\"count\":3,\n"
	      "         \"bailiwick\":\"example.com\",\"sensor_id\":\"s1\"}\n"
	      "  cert: {\"ip\":\"203.0.113.5\",\"port\":443,\"cert_sha1\":\"...\",\n"
	      "         \"time_first\":...,\"time_last\":...,\"count\":1,\"sni\":\"x.example\"}\n"
	      "        cert_sha256 instead of or with cert_sha1; cert_pem or cert_der_b64\n"
	      "        carry the certificate itself (metadata only without ip).\n"
	      "\n"
	      "Exit status: 0 all lines accepted, 1 some lines rejected (or, on a\n"
	      "ClickHouse store, observations of kinds it does not take yet), 2 an\n"
	      "input could not be read or the database failed.\n",
	      f);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: infrapivot ingest [OPTIONS] FILE... | -\n"
	        "       infrapivot ingest [OPTIONS] --follow FILE\n"
	        "\n"
	        "Record DNS resolutions and certificate sightings from sensor output.\n"
	        "Each FILE may be gzip-compressed (read transparently) or a directory\n"
	        "(its files are read in name order); - reads standard input.\n"
	        "\n"
	        "Options:\n"
	        "  --db DIR            database directory (default $INFRAPIVOT_DB, else\n"
	        "                      ./infrapivot-data); created when missing\n"
	        "  --store STORE       lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB (DNS\n"
	        "                      and certificates so far; docs/scale-out.md)\n"
	        "  --format NAME       input format: %s\n"
	        "                      (auto detects each input from its first line)\n"
	        "  --sensor ID         sensor id for lines that carry none\n"
	        "  --rejects FILE      write every rejected line as NDJSON\n"
	        "                      {input, line, reason, text} to FILE\n"
	        "  --batch N           observations per transaction (default: sized to the\n"
	        "                      database, 100000 while small; each commit is durable)\n"
	        "  --max-line BYTES    longest line accepted (default 1048576)\n"
	        "  --memory BYTES      memory for the write buffers (default 512M; K, M, G\n"
	        "                      suffixes; 16M-64G): repeats are merged in memory and\n"
	        "                      committed in large transactions; a crash loses what\n"
	        "                      was not committed yet (docs/write-path.md)\n"
	        "  --parsers N         threads parsing COF/observations, EVE and Zeek\n"
	        "                      dns/conn input, whose lines are independent (default:\n"
	        "                      one per CPU, up to 4; 1 parses in the reading\n"
	        "                      thread).  Rejects are\n"
	        "                      reported in input order either way\n"
	        "  --passivedns-delimiter STR  field delimiter of passivedns text logs\n"
	        "                      (the sensor's -d; default ||)\n"
	        "  --passivedns-fields F  fields of passivedns text logs, in the order the\n"
	        "                      sensor prints them (its -f; default SMcsCQTAtn)\n"
	        "  --ip ADDR           certificate files (PEM/DER): also record a sighting of\n"
	        "                      each certificate on ADDR at the file's modification time\n"
	        "  --port N            port of that sighting (default 443)\n"
	        "  --follow FILE       follow FILE as a sensor writes it (like tail -F):\n"
	        "                      appended lines, rotation and truncation; the position\n"
	        "                      is kept in the database with the records, so a restart\n"
	        "                      resumes where it stopped.  Commits when a batch is\n"
	        "                      full (--batch) or 1 s after its first line.\n"
	        "                      SIGINT/SIGTERM commit and exit 0\n"
	        "  --poll MS           follow: how often to look for new data (default 200)\n"
	        "  --exit-idle SECONDS follow: stop after SECONDS without new data\n"
	        "  --progress          show a progress bar even when stderr is not a terminal\n"
	        "  --no-progress       never show the progress bar\n"
	        "  --no-clients        record no client sightings (who contacted what)\n"
	        "  --client-days N     drop client pairs not seen for N days (default 30)\n"
	        "  -q, --quiet         do not print rejected lines on stderr\n"
	        "  -n, --dry-run       check the input (every line parsed, rejects reported),\n"
	        "                      write nothing; no database is opened\n"
	        "  -h, --help          this help\n"
	        "\n",
	        ingest_format_list());
	usage_formats(f);
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* What the command line asks for. */
struct ingest_cli {
	struct ingest_opts o;
	struct ingest_follow_opts fo;
	const char *db, *rejects, *follow;
	int progress;         /* -1: when stderr is a terminal */
	uint64_t client_days; /* retention of client pairs */
};

/* --db, --format, --sensor, --batch, --max-line, --rejects, --progress,
 * --no-progress, --quiet, --dry-run */
static int opt_input(void *ctx, int c, const char *arg)
{
	struct ingest_cli *ic = ctx;
	switch (c) {
	case 'd':
		ic->db = arg;
		return SVC_OPT_OK;
	case 'f':
		if (!ingest_format_known(arg)) {
			fprintf(stderr, "infrapivot ingest: unknown format '%s' (known: %s)\n", arg,
			        ingest_format_list());
			return SVC_OPT_BAD;
		}
		ic->o.format = arg;
		return SVC_OPT_OK;
	case 's':
	case 'b':
	case 'L':
		return svc_ingest_opt("ingest", c, arg, &ic->o) != 0 ? SVC_OPT_BAD : SVC_OPT_OK;
	case 'r':
		ic->rejects = arg;
		return SVC_OPT_OK;
	case 'P':
	case 'N':
		ic->progress = c == 'P';
		return SVC_OPT_OK;
	case 'q':
		ic->o.quiet = true;
		return SVC_OPT_OK;
	case 'n':
		ic->o.dry_run = true;
		return SVC_OPT_OK;
	case 'C':
	case 'K':
		return svc_estate_ingest_opt(c, arg, &ic->o, &ic->client_days) != 0 ? SVC_OPT_BAD
		                                                                    : SVC_OPT_OK;
	default:
		return SVC_OPT_OTHER;
	}
}

/* --passivedns-delimiter, --passivedns-fields, --ip, --port */
static int opt_format_detail(void *ctx, int c, const char *arg)
{
	struct ingest_cli *ic = ctx;
	uint8_t addr[16];
	uint64_t v;
	switch (c) {
	case 'D':
		if (strlen(arg) == 0 || strlen(arg) > 15) {
			fprintf(stderr, "infrapivot ingest: --passivedns-delimiter must be "
			                "1-15 bytes\n");
			return SVC_OPT_BAD;
		}
		ic->o.pdns_delimiter = arg;
		return SVC_OPT_OK;
	case 'F':
		if (!ingest_pdns_fields_valid(arg)) {
			fprintf(stderr, "infrapivot ingest: --passivedns-fields: letters of "
			                "HSMcsCQTAtnhpLl, with a time (S/M/H), Q, T and A\n");
			return SVC_OPT_BAD;
		}
		ic->o.pdns_fields = arg;
		return SVC_OPT_OK;
	case 'I':
		if (store_addr_parse(arg, strlen(arg), addr) != 0) {
			fprintf(stderr, "infrapivot ingest: --ip %s is not an IP address\n", arg);
			return SVC_OPT_BAD;
		}
		ic->o.cert_ip = arg;
		return SVC_OPT_OK;
	case 'p':
		if (svc_opt_u64("ingest", arg, 1, 65535, "--port must be 1-65535", &v) != 0)
			return SVC_OPT_BAD;
		ic->o.cert_port = (uint16_t)v;
		return SVC_OPT_OK;
	default:
		return SVC_OPT_OTHER;
	}
}

/* --follow, --poll, --exit-idle, --parsers, --memory */
static int opt_follow(void *ctx, int c, const char *arg)
{
	struct ingest_cli *ic = ctx;
	uint64_t v;
	switch (c) {
	case 'm':
		if (svc_parse_size(arg, &v) != 0 || v < INGEST_MEMORY_MIN ||
		    v > ((uint64_t)64 << 30)) {
			fprintf(stderr,
			        "infrapivot ingest: --memory must be 16M-64G (bytes, or "
			        "a number with K, M or G), not '%s'\n",
			        arg);
			return SVC_OPT_BAD;
		}
		ic->o.memory = (size_t)v;
		return SVC_OPT_OK;
	case 'w':
		ic->follow = arg;
		return SVC_OPT_OK;
	case 'O':
		if (svc_opt_u64("ingest", arg, 1, 60000, "--poll must be 1-60000 ms", &v) != 0)
			return SVC_OPT_BAD;
		ic->fo.poll_ms = (unsigned)v;
		return SVC_OPT_OK;
	case 'E':
		if (svc_opt_u64("ingest", arg, 1, 86400, "--exit-idle must be 1-86400 s", &v) != 0)
			return SVC_OPT_BAD;
		ic->fo.exit_idle_ms = (unsigned)v * 1000;
		return SVC_OPT_OK;
	case 'T':
		if (svc_opt_u64("ingest", arg, 1, 4, "--parsers must be 1-4", &v) != 0)
			return SVC_OPT_BAD;
		ic->o.parsers = (unsigned)v;
		return SVC_OPT_OK;
	default:
		return SVC_OPT_OTHER;
	}
}

/* Parse the command line into ic.  Returns -1 to go on, else the exit
 * status. */
static int ingest_parse_args(struct ingest_cli *ic, int argc, char **argv)
{
	static const struct option longopts[] = {
	    SVC_INGEST_LONGOPTS,
	    {"progress", no_argument, NULL, 'P'},
	    {"no-progress", no_argument, NULL, 'N'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"passivedns-delimiter", required_argument, NULL, 'D'},
	    {"passivedns-fields", required_argument, NULL, 'F'},
	    {"ip", required_argument, NULL, 'I'},
	    {"port", required_argument, NULL, 'p'},
	    {"follow", required_argument, NULL, 'w'},
	    {"poll", required_argument, NULL, 'O'},
	    {"exit-idle", required_argument, NULL, 'E'},
	    {"parsers", required_argument, NULL, 'T'},
	    {"memory", required_argument, NULL, 'm'},
	    {"no-clients", no_argument, NULL, 'C'},
	    {"client-days", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const svc_opt_fn handlers[] = {opt_input, opt_format_detail, opt_follow, NULL};
	return svc_getopt(argc, argv, "qnh", longopts, handlers, ic, usage);
}

/* The inputs: --follow FILE alone, or FILE... */
static int check_inputs(const struct ingest_cli *ic, int argc)
{
	if (ic->follow != NULL && optind < argc) {
		fprintf(stderr, "infrapivot ingest: --follow takes one FILE and no other inputs\n");
		return -1;
	}
	if (ic->follow == NULL && optind >= argc) {
		fprintf(stderr, "infrapivot ingest: no input (give FILE... or - for stdin)\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Whether any input can be read; when none can, each is reported and the
 * database is never opened, so a mistyped path creates no empty one. */
static bool any_readable(char **files, int n)
{
	int errs[64];
	for (int i = 0; i < n; i++) {
		FILE *f = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "r");
		if (f != NULL) {
			if (f != stdin)
				fclose(f);
			return true;
		}
		if (i < 64)
			errs[i] = errno;
	}
	for (int i = 0; i < n && i < 64; i++)
		fprintf(stderr, "infrapivot ingest: cannot read %s: %s\n", files[i],
		        strerror(errs[i]));
	return false;
}

static void print_summary(const struct ingest_summary *sum)
{
	char skipped_note[96] = "";
	if (sum->rdata_skipped > 0)
		snprintf(skipped_note, sizeof(skipped_note),
		         "; %llu answers not recorded "
		         "(rdata of other types)",
		         (unsigned long long)sum->rdata_skipped);
	/* what a merge table's largest slice wrote: its dirty pages, which
	 * --memory bounds (docs/write-path.md) */
	char largest[64] = "";
	if (sum->ws.commit_bytes_max > 0)
		snprintf(largest, sizeof(largest), "; largest commit %.1f MiB",
		         (double)sum->ws.commit_bytes_max / (1 << 20));
	double rate = sum->seconds > 0 ? (double)sum->records / sum->seconds : 0;
	fprintf(stderr,
	        "ingest: %llu lines read, %llu accepted, %llu rejected, %llu skipped; "
	        "%llu records (%llu new, %llu merged) in %.2f s, %.0f records/s, "
	        "%llu commit%s%s%s\n",
	        (unsigned long long)sum->lines, (unsigned long long)sum->accepted,
	        (unsigned long long)sum->rejected, (unsigned long long)sum->skipped,
	        (unsigned long long)sum->records,
	        (unsigned long long)(sum->ws.dns_new + sum->ws.sight_new),
	        (unsigned long long)(sum->ws.dns_merged + sum->ws.sight_merged), sum->seconds, rate,
	        (unsigned long long)sum->commits, sum->commits == 1 ? "" : "s", largest,
	        skipped_note);
}

/* The exit status of a finished ingest (its summary printed). */
static int ingest_outcome(const struct ingest_cli *ic, int err, const struct ingest_summary *sum)
{
	print_summary(sum);
	svc_estate_ingest_note(sum);
	if (err != 0) {
		const char *d = store_last_error();
		fprintf(stderr,
		        "infrapivot ingest: database error: %s%s%s (nothing of the "
		        "failed batch was committed)\n",
		        store_strerror(err), *d ? ": " : "", d);
		if (sum->uncommitted > 0)
			fprintf(stderr,
			        "infrapivot ingest: %llu records merged in memory were not "
			        "committed; the %llu records counted above were\n",
			        (unsigned long long)sum->uncommitted,
			        (unsigned long long)sum->records);
		return 2;
	}
	if (sum->unreadable > 0)
		return 2;
	if (sum->ws.unsupported > 0) {
		fprintf(stderr,
		        "infrapivot ingest: %llu fingerprint observations not recorded: "
		        "not supported on the ClickHouse store yet (DNS resolutions, "
		        "certificates and client sightings were)\n",
		        (unsigned long long)sum->ws.unsupported);
		return 1;
	}
	if (ic->follow != NULL)
		return 0; /* a clean stop; rejects were reported */
	return sum->rejected > 0 ? 1 : 0;
}

/* Follow one file until stopped; *err is the error to report with the
 * summary.  Returns -1 when following failed (message printed). */
static int run_follow(store_t *s, struct ingest_cli *ic, struct ingest_summary *sum, int *err)
{
	svc_on_stop_signals(on_stop);
	ic->fo.stop = &stop_flag;
	*err = ingest_follow(s, ic->follow, &ic->o, &ic->fo, sum);
	/* a full disk is the database's error (reported with the summary) */
	if (*err != 0 && *err > -1000 && *err != -ENOSPC) {
		fprintf(stderr, "infrapivot ingest: --follow %s: %s\n", ic->follow,
		        store_strerror(*err));
		return -1;
	}
	return 0;
}

int svc_cmd_ingest(int argc, char **argv)
{
	struct ingest_cli ic = {.progress = -1, .client_days = 30};
	ingest_opts_init(&ic.o);
	ingest_follow_opts_init(&ic.fo);
	int status = ingest_parse_args(&ic, argc, argv);
	if (status >= 0)
		return status;
	if (check_inputs(&ic, argc) != 0)
		return 2;
	if (ic.follow == NULL && !any_readable(argv + optind, argc - optind))
		return 2;
	ic.o.progress = ic.progress == -1 ? isatty(2) : ic.progress == 1;
	if (svc_rejects_open(ic.rejects, &ic.o) != 0)
		return 2;
	struct ingest_summary sum;
	int err = 0;
	bool ran = false;
	if (ic.o.dry_run && ic.follow != NULL) {
		fprintf(stderr, "infrapivot ingest: --dry-run and --follow do not go together\n");
		goto close_rejects;
	}
	store_t *s = ic.o.dry_run ? NULL : svc_open_db(ic.db, false);
	if (s == NULL && !ic.o.dry_run)
		goto close_rejects;
	if (ic.follow != NULL) {
		ran = run_follow(s, &ic, &sum, &err) == 0;
	} else {
		err = ingest_files(s, argv + optind, argc - optind, &ic.o, &sum);
		ran = true;
	}
	if (ran && err == 0 && s != NULL && !ic.o.no_clients)
		err = svc_estate_retain(s, ic.client_days, &sum);
	store_close(s);
close_rejects:
	/* a failed close matters only when the input was read through */
	if (ic.o.rejects != NULL && fclose(ic.o.rejects) != 0 && ran)
		perror(ic.rejects);
	return ran ? ingest_outcome(&ic, err, &sum) : 2;
}
