/*
 * http_metrics.c - request counters and latency histograms, rendered in
 * the Prometheus text format by GET /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"

static const double bucket_le[SVC_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

void svc_metrics_observe(struct svc_metrics *m, enum svc_route_id r, unsigned status,
                         double seconds)
{
	if (m == NULL || r >= SVC_R_COUNT)
		return;
	if (status >= 100 && status <= 599)
		atomic_fetch_add(&m->requests[r][status - 100], 1);
	unsigned b = 0;
	while (b < SVC_HIST_BUCKETS && seconds > bucket_le[b])
		b++;
	atomic_fetch_add(&m->hist[r][b], 1);
	atomic_fetch_add(&m->hist_sum_us[r], (uint_fast64_t)(seconds * 1e6));
}

static int addf(struct util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct util_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return util_buf_add(b, line, (size_t)n);
}

static void add_requests(struct util_buf *b, struct svc_metrics *m)
{
	addf(b, "# HELP infrapivot_http_requests_total HTTP requests answered, by route and "
	        "status.\n# TYPE infrapivot_http_requests_total counter\n");
	for (unsigned r = 0; r < SVC_R_COUNT; r++)
		for (unsigned s = 0; s < 500; s++) {
			uint64_t v = atomic_load(&m->requests[r][s]);
			if (v != 0)
				addf(b,
				     "infrapivot_http_requests_total{route=\"%s\",status=\"%u\"} "
				     "%llu\n",
				     svc_http_route_label(r), s + 100, (unsigned long long)v);
		}
}

/* The latency histogram of route r; nothing when it saw no request. */
static void add_histogram(struct util_buf *b, struct svc_metrics *m, unsigned r)
{
	uint64_t cum = 0;
	uint64_t counts[SVC_HIST_BUCKETS + 1];
	for (unsigned i = 0; i <= SVC_HIST_BUCKETS; i++) {
		counts[i] = atomic_load(&m->hist[r][i]);
		cum += counts[i];
	}
	if (cum == 0)
		return;
	const char *l = svc_http_route_label(r);
	uint64_t c = 0;
	for (unsigned i = 0; i < SVC_HIST_BUCKETS; i++) {
		c += counts[i];
		addf(b,
		     "infrapivot_http_request_duration_seconds_bucket{route=\"%s\","
		     "le=\"%g\"} %llu\n",
		     l, bucket_le[i], (unsigned long long)c);
	}
	addf(b,
	     "infrapivot_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
	     "%llu\n",
	     l, (unsigned long long)cum);
	addf(b, "infrapivot_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", l,
	     (double)atomic_load(&m->hist_sum_us[r]) / 1e6);
	addf(b, "infrapivot_http_request_duration_seconds_count{route=\"%s\"} %llu\n", l,
	     (unsigned long long)cum);
}

static void add_histograms(struct util_buf *b, struct svc_metrics *m)
{
	addf(b, "# HELP infrapivot_http_request_duration_seconds Time from the request "
	        "line to the completed response.\n"
	        "# TYPE infrapivot_http_request_duration_seconds histogram\n");
	for (unsigned r = 0; r < SVC_R_COUNT; r++)
		add_histogram(b, m, r);
}

/* Ingest and body counters, requests in flight. */
static void add_counters(struct util_buf *b, struct svc_http_server *srv)
{
	struct svc_metrics *m = srv->metrics;
	addf(b,
	     "# HELP infrapivot_ingest_records_total Observations committed from "
	     "POST /api/v1/observations.\n# TYPE infrapivot_ingest_records_total counter\n"
	     "infrapivot_ingest_records_total %llu\n",
	     (unsigned long long)atomic_load(&m->records_ingested));
	addf(b,
	     "# HELP infrapivot_ingest_lines_total Observation lines received, by "
	     "outcome.\n# TYPE infrapivot_ingest_lines_total counter\n"
	     "infrapivot_ingest_lines_total{outcome=\"accepted\"} %llu\n"
	     "infrapivot_ingest_lines_total{outcome=\"rejected\"} %llu\n",
	     (unsigned long long)atomic_load(&m->lines_accepted),
	     (unsigned long long)atomic_load(&m->lines_rejected));
	addf(b,
	     "# HELP infrapivot_http_bodies_too_large_total Bodies refused with 413.\n"
	     "# TYPE infrapivot_http_bodies_too_large_total counter\n"
	     "infrapivot_http_bodies_too_large_total %llu\n",
	     (unsigned long long)atomic_load(&m->bodies_too_large));
	addf(b,
	     "# HELP infrapivot_http_requests_timed_out_total Connections closed by "
	     "--request-timeout.\n# TYPE infrapivot_http_requests_timed_out_total counter\n"
	     "infrapivot_http_requests_timed_out_total %llu\n"
	     "# HELP infrapivot_http_bodies_refused_total Bodies refused with 503 "
	     "(--max-buffered-bodies).\n# TYPE infrapivot_http_bodies_refused_total counter\n"
	     "infrapivot_http_bodies_refused_total %llu\n",
	     (unsigned long long)atomic_load(&m->requests_timed_out),
	     (unsigned long long)atomic_load(&m->bodies_refused));
	addf(b,
	     "# HELP infrapivot_http_requests_in_flight Requests being handled.\n"
	     "# TYPE infrapivot_http_requests_in_flight gauge\n"
	     "infrapivot_http_requests_in_flight %d\n",
	     atomic_load(&srv->active));
}

static void add_db(struct util_buf *b, store_t *store)
{
	/* On a ClickHouse store the counts are whole-table GROUP BYs on the
	 * cluster and there is no file: `stats` asks for them, a scrape does
	 * not (docs/scale-out.md, "stats on ClickHouse"). */
	if (strcmp(store_backend(store), "clickhouse") == 0)
		return;
	struct store_stats st;
	if (store_stats(store, &st) == 0) {
		addf(b,
		     "# HELP infrapivot_db_size_bytes Size of the database file.\n"
		     "# TYPE infrapivot_db_size_bytes gauge\ninfrapivot_db_size_bytes %llu\n",
		     (unsigned long long)st.db_bytes);
		addf(b,
		     "# HELP infrapivot_db_used_bytes Database pages in use.\n"
		     "# TYPE infrapivot_db_used_bytes gauge\ninfrapivot_db_used_bytes %llu\n",
		     (unsigned long long)st.used_bytes);
		addf(b,
		     "# HELP infrapivot_db_records Records by kind.\n"
		     "# TYPE infrapivot_db_records gauge\n"
		     "infrapivot_db_records{kind=\"resolutions\"} %llu\n"
		     "infrapivot_db_records{kind=\"cert_sightings\"} %llu\n"
		     "infrapivot_db_records{kind=\"certificates\"} %llu\n",
		     (unsigned long long)st.resolutions, (unsigned long long)st.sightings,
		     (unsigned long long)st.certificates);
	}
}

enum MHD_Result svc_http_metrics(struct svc_http_req *rq)
{
	enum MHD_Result ret;
	if (svc_http_reject_unused(rq, &ret))
		return ret;
	struct svc_metrics *m = rq->srv->metrics;
	struct util_buf b;
	util_buf_init(&b, 4 << 20);
	add_requests(&b, m);
	add_histograms(&b, m);
	add_counters(&b, rq->srv);
	add_db(&b, rq->srv->store);
	addf(&b,
	     "# HELP infrapivot_uptime_seconds Seconds since the server started.\n"
	     "# TYPE infrapivot_uptime_seconds gauge\ninfrapivot_uptime_seconds %lld\n",
	     (long long)(time(NULL) - rq->srv->started));
	size_t len;
	char *out = util_buf_take(&b, &len);
	return svc_http_send(rq, 200, "text/plain; version=0.0.4; charset=utf-8", out, len);
}
