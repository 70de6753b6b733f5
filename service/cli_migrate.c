/*
 * cli_migrate.c - `infrapivot migrate --from lmdb:DIR --to clickhouse://...`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "service/svc.h"
#include "store/ch.h"

static void usage(FILE *f)
{
	fputs("Usage: infrapivot migrate --from lmdb:DIR --to clickhouse://HOST:PORT/DATABASE\n"
	      "\n"
	      "Copy an LMDB store into a ClickHouse store: resolutions, certificates\n"
	      "(metadata, then sightings), fingerprint sightings and client pairs, in\n"
	      "chunks in key order.  Each chunk's token is a hash of its rows, so a\n"
	      "chunk sent again after a failure is dropped by the cluster's\n"
	      "replicated tables; after each chunk the position is committed in the\n"
	      "destination's control directory ($INFRAPIVOT_CONTROL, else\n"
	      "./infrapivot-control), so running the same command again resumes a\n"
	      "stopped copy and sends nothing after a finished one.  Copy a store\n"
	      "nobody writes to meanwhile.  Client pairs are copied at version 0: an\n"
	      "ingest into the cluster goes on from them (docs/scale-out.md).\n"
	      "\n"
	      "Options:\n"
	      "  --from STORE    the LMDB store: lmdb:DIR or DIR\n"
	      "  --to STORE      the ClickHouse store (credentials from\n"
	      "                  $INFRAPIVOT_CH_USER/_PASSWORD or $INFRAPIVOT_CH_CREDENTIALS)\n"
	      "  -h, --help      this help\n"
	      "\n"
	      "Exit status: 0 copied (or copied before), 2 a store failed (run it again\n"
	      "to resume).\n",
	      f);
}

struct migrate_args {
	const char *from, *to;
};

static int opt_store(void *ctx, int c, const char *arg)
{
	struct migrate_args *a = ctx;
	if (c != 'F' && c != 'T')
		return SVC_OPT_OTHER;
	*(c == 'F' ? &a->from : &a->to) = arg;
	return SVC_OPT_OK;
}

static int parse(int argc, char **argv, const char **from, const char **to)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'F'},
	    {"to", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const svc_opt_fn handlers[] = {opt_store, NULL};
	struct migrate_args a = {NULL, NULL};
	int rc = svc_getopt(argc, argv, "h", longopts, handlers, &a, usage);
	if (rc >= 0)
		return rc;
	*from = a.from;
	*to = a.to;
	if (*from == NULL || *to == NULL || optind != argc) {
		fprintf(stderr, "infrapivot migrate: want --from lmdb:DIR --to "
		                "clickhouse://HOST:PORT/DATABASE and no arguments\n");
		return 2;
	}
	if (strncmp(*to, "clickhouse://", 13) != 0 || strncmp(*from, "clickhouse://", 13) == 0) {
		fprintf(stderr, "infrapivot migrate: copies an LMDB store (--from) into a "
		                "ClickHouse store (--to clickhouse://...)\n");
		return 2;
	}
	return -1;
}

static void report(const char *to, const struct store_migrate_stats *st)
{
	if (st->already) {
		fprintf(stderr,
		        "migrate: already copied into %s (its control directory says "
		        "so); nothing sent\n",
		        to);
		return;
	}
	fprintf(stderr,
	        "migrate: %llu resolutions, %llu certificates, %llu certificate sightings, "
	        "%llu fingerprint sightings and %llu client pairs as %llu rows in %llu chunk%s "
	        "into %s%s\n",
	        (unsigned long long)st->records, (unsigned long long)st->certs,
	        (unsigned long long)st->sightings, (unsigned long long)st->fps,
	        (unsigned long long)st->clients, (unsigned long long)st->rows,
	        (unsigned long long)st->chunks, st->chunks == 1 ? "" : "s", to,
	        st->resumed ? " (resumed)" : "");
}

int svc_cmd_migrate(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	int rc = parse(argc, argv, &from, &to);
	if (rc >= 0)
		return rc;
	store_t *src = svc_open_db(from, true);
	if (src == NULL)
		return 2;
	store_t *dst = svc_open_db(to, false);
	if (dst == NULL) {
		store_close(src);
		return 2;
	}
	struct store_migrate_stats st;
	int err = store_migrate(src, dst, &st);
	store_close(dst);
	store_close(src);
	if (err != 0) {
		const char *d = store_last_error();
		fprintf(stderr,
		        "infrapivot migrate: %s%s%s (%llu records copied in this run; run "
		        "it again to resume)\n",
		        store_strerror(err), *d ? ": " : "", d,
		        (unsigned long long)(st.records + st.certs + st.sightings + st.fps +
		                             st.clients));
		return 2;
	}
	report(to, &st);
	return 0;
}
