/*
 * cli_ingest.c - `infrapivot ingest`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "service/svc.h"
#include "service/svc_estate.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
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
	    "  --format NAME       input format: %s\n"
	    "                      (auto detects each input from its first line)\n"
	    "  --sensor ID         sensor id for lines that carry none\n"
	    "  --rejects FILE      write every rejected line as NDJSON\n"
	    "                      {input, line, reason, text} to FILE\n"
	    "  --batch N           observations per transaction (default: sized to the\n"
	    "                      database, 100000 while small; each commit is durable)\n"
	    "  --max-line BYTES    longest line accepted (default 1048576)\n"
	    "  --parsers N         threads parsing COF/observations and EVE input, whose\n"
	    "                      lines are independent (default: one per CPU, up to\n"
	    "                      4; 1 parses in the reading thread).  Rejects are\n"
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
	    "                      resumes where it stopped.  SIGINT/SIGTERM commit and\n"
	    "                      exit 0\n"
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
	    "\n"
	    "Formats (auto-detected from the first line of each input):\n"
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
	    "Exit status: 0 all lines accepted, 1 some lines rejected, 2 an input\n"
	    "could not be read or the database failed.\n",
	    ingest_format_list());
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int svc_cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"sensor", required_argument, NULL, 's'},
	    {"rejects", required_argument, NULL, 'r'},
	    {"batch", required_argument, NULL, 'b'},
	    {"max-line", required_argument, NULL, 'L'},
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
	    {"no-clients", no_argument, NULL, 'C'},
	    {"client-days", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ingest_opts o;
	ingest_opts_init(&o);
	const char *db = NULL, *rejects = NULL, *follow = NULL;
	struct ingest_follow_opts fo;
	ingest_follow_opts_init(&fo);
	uint8_t addr[16];
	int progress = -1;
	uint64_t client_days = 30;
	int c;
	uint64_t v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (!ingest_format_known(optarg)) {
				fprintf(stderr,
				        "infrapivot ingest: unknown format '%s' (known: %s)\n",
				        optarg, ingest_format_list());
				return 2;
			}
			o.format = optarg;
			break;
		case 's':
		case 'b':
		case 'L':
			if (svc_ingest_opt("ingest", c, optarg, &o) != 0)
				return 2;
			break;
		case 'r':
			rejects = optarg;
			break;
		case 'D':
			if (strlen(optarg) == 0 || strlen(optarg) > 15) {
				fprintf(stderr, "infrapivot ingest: --passivedns-delimiter must be "
				                "1-15 bytes\n");
				return 2;
			}
			o.pdns_delimiter = optarg;
			break;
		case 'F':
			if (!ingest_pdns_fields_valid(optarg)) {
				fprintf(stderr,
				        "infrapivot ingest: --passivedns-fields: letters of "
				        "HSMcsCQTAtnhpLl, with a time (S/M/H), Q, T and A\n");
				return 2;
			}
			o.pdns_fields = optarg;
			break;
		case 'I':
			if (store_addr_parse(optarg, strlen(optarg), addr) != 0) {
				fprintf(stderr, "infrapivot ingest: --ip %s is not an IP address\n",
				        optarg);
				return 2;
			}
			o.cert_ip = optarg;
			break;
		case 'p':
			if (svc_parse_u64(optarg, &v) != 0 || v < 1 || v > 65535) {
				fprintf(stderr, "infrapivot ingest: --port must be 1-65535\n");
				return 2;
			}
			o.cert_port = (uint16_t)v;
			break;
		case 'w':
			follow = optarg;
			break;
		case 'O':
			if (svc_parse_u64(optarg, &v) != 0 || v < 1 || v > 60000) {
				fprintf(stderr, "infrapivot ingest: --poll must be 1-60000 ms\n");
				return 2;
			}
			fo.poll_ms = (unsigned)v;
			break;
		case 'E':
			if (svc_parse_u64(optarg, &v) != 0 || v < 1 || v > 86400) {
				fprintf(stderr,
				        "infrapivot ingest: --exit-idle must be 1-86400 s\n");
				return 2;
			}
			fo.exit_idle_ms = (unsigned)v * 1000;
			break;
		case 'T':
			if (svc_parse_u64(optarg, &v) != 0 || v < 1 || v > 4) {
				fprintf(stderr, "infrapivot ingest: --parsers must be 1-4\n");
				return 2;
			}
			o.parsers = (unsigned)v;
			break;
		case 'C':
		case 'K':
			if (svc_estate_ingest_opt(c, optarg, &o, &client_days) != 0)
				return 2;
			break;
		case 'P':
			progress = 1;
			break;
		case 'N':
			progress = 0;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (follow != NULL && optind < argc) {
		fprintf(stderr, "infrapivot ingest: --follow takes one FILE and no other inputs\n");
		return 2;
	}
	if (follow == NULL && optind >= argc) {
		fprintf(stderr, "infrapivot ingest: no input (give FILE... or - for stdin)\n");
		usage(stderr);
		return 2;
	}
	o.progress = progress == -1 ? isatty(2) : progress == 1;
	FILE *rf = NULL;
	if (rejects != NULL) {
		rf = fopen(rejects, "w");
		if (rf == NULL) {
			perror(rejects);
			return 2;
		}
		o.rejects = rf;
	}
	if (o.dry_run && follow != NULL) {
		fprintf(stderr, "infrapivot ingest: --dry-run and --follow do not go together\n");
		if (rf)
			fclose(rf);
		return 2;
	}
	store_t *s = o.dry_run ? NULL : svc_open_db(db, false);
	if (s == NULL && !o.dry_run) {
		if (rf)
			fclose(rf);
		return 2;
	}
	struct ingest_summary sum;
	int err;
	if (follow != NULL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		fo.stop = &stop_flag;
		err = ingest_follow(s, follow, &o, &fo, &sum);
		if (err != 0 && err > -1000) {
			fprintf(stderr, "infrapivot ingest: --follow %s: %s\n", follow,
			        store_strerror(err));
			store_close(s);
			if (rf != NULL)
				fclose(rf);
			return 2;
		}
	} else {
		err = ingest_files(s, argv + optind, argc - optind, &o, &sum);
	}
	if (err == 0 && s != NULL && !o.no_clients)
		err = svc_estate_retain(s, client_days, &sum);
	store_close(s);
	if (rf != NULL && fclose(rf) != 0)
		perror(rejects);
	char skipped_note[96] = "";
	if (sum.rdata_skipped > 0)
		snprintf(skipped_note, sizeof(skipped_note),
		         "; %llu answers not recorded "
		         "(rdata of other types)",
		         (unsigned long long)sum.rdata_skipped);
	double rate = sum.seconds > 0 ? (double)sum.records / sum.seconds : 0;
	fprintf(stderr,
	        "ingest: %llu lines read, %llu accepted, %llu rejected, %llu skipped; "
	        "%llu records (%llu new, %llu merged) in %.2f s, %.0f records/s%s\n",
	        (unsigned long long)sum.lines, (unsigned long long)sum.accepted,
	        (unsigned long long)sum.rejected, (unsigned long long)sum.skipped,
	        (unsigned long long)sum.records,
	        (unsigned long long)(sum.ws.dns_new + sum.ws.sight_new),
	        (unsigned long long)(sum.ws.dns_merged + sum.ws.sight_merged), sum.seconds, rate,
	        skipped_note);
	svc_estate_ingest_note(&sum);
	if (err != 0) {
		const char *d = store_last_error();
		fprintf(stderr,
		        "infrapivot ingest: database error: %s%s%s (nothing of the "
		        "failed batch was committed)\n",
		        store_strerror(err), *d ? ": " : "", d);
		return 2;
	}
	if (sum.unreadable > 0)
		return 2;
	if (follow != NULL)
		return 0; /* a clean stop; rejects were reported */
	return sum.rejected > 0 ? 1 : 0;
}
