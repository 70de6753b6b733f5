/*
 * cli_probe.c - `infrapivot probe`: what certificate does HOST:PORT serve
 * right now?  Resolves names, probes every address (bounded concurrency
 * over many targets), prints JSON and records the sightings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "service/svc.h"
#include "util/hex.h"
#include "util/time.h"

#define PROBE_ADDRS_MAX 32 /* addresses probed per name */
#define PROBE_TARGETS_MAX 1000000
#define PROBE_SENSOR "probe"

struct target {
	char *spec; /* HOST[:PORT] as given */
	char *sni;  /* per-target SNI from a targets file, or NULL */
};

struct probe_run {
	store_t *store; /* NULL with --no-record */
	struct target *targets;
	size_t ntargets, next;
	const char *sni;
	bool no_sni, pretty;
	int timeout_ms;
	pthread_mutex_t mu;
	unsigned long failures, successes;
	int db_err;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: infrapivot probe [OPTIONS] HOST[:PORT]...\n"
	           "       infrapivot probe [OPTIONS] --targets FILE|-\n"
	           "\n"
	           "Connect with TLS and record the certificate the server presents right now.\n"
	           "Any certificate is accepted: this observes, it does not trust.  A HOST\n"
	           "name is resolved and every address is probed; the resolutions are\n"
	           "recorded too (A/AAAA, sensor \"probe\").  Each probed address prints one\n"
	           "JSON object (NDJSON): ip, port, sni, tls_version, cipher, sha1, sha256,\n"
	           "subject, issuer, serial, not_before, not_after, san_dns, san_ip, chain,\n"
	           "or error.  The sighting (ip, port, SHA-1, SHA-256, SNI) and the\n"
	           "certificates' metadata are recorded with sensor id \"probe\".\n"
	           "\n"
	           "Targets: HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address; PORT\n"
	           "defaults to 443.  A targets file has one target a line, optionally\n"
	           "followed by an SNI name; blank lines and # comments are ignored.\n"
	           "\n"
	           "Options:\n"
	           "  --sni NAME          send this SNI (default: HOST when it is a name;\n"
	           "                      none for an address)\n"
	           "  --no-sni            never send SNI\n"
	           "  --timeout S         seconds for the connect and for the handshake\n"
	           "                      (each; default 10)\n"
	           "  --targets FILE      read targets from FILE (- = standard input)\n"
	           "  --parallel N        probe N targets at once (default 8, max 256)\n"
	           "  --no-record         only print; record nothing\n"
	           "  --pretty            indent the JSON\n"
	           "  --db DIR            database directory\n"
	           "  -h, --help          this help\n"
	           "\n"
	           "Exit status: 0 every address answered with a certificate, 1 some probes\n"
	           "failed (connection refused, timeout, no TLS on the port...), 2 usage or\n"
	           "database error, or no target could be resolved or probed at all.\n");
}

/* Split HOST[:PORT] / [v6]:PORT / bare v6 into host and port. */
static int split_target(const char *spec, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *p;
	size_t hl;
	snprintf(port, pcap, "443");
	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');
		if (e == NULL)
			return -1;
		hl = (size_t)(e - spec - 1);
		if (hl == 0 || hl >= hcap)
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (e[1] == ':')
			snprintf(port, pcap, "%s", e + 2);
		else if (e[1] != '\0')
			return -1;
	} else if ((p = strchr(spec, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		hl = (size_t)(p - spec);
		if (hl == 0 || hl >= hcap)
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		snprintf(port, pcap, "%s", p + 1);
	} else {
		if (strlen(spec) >= hcap || *spec == '\0')
			return -1;
		snprintf(host, hcap, "%s", spec);
	}
	uint64_t v;
	if (svc_parse_u64(port, &v) != 0 || v == 0 || v > 65535)
		return -1;
	return 0;
}

static json_t *list_json(const char *l, size_t len)
{
	json_t *a = json_array();
	for (size_t i = 0; i < len;) {
		size_t n = strnlen(l + i, len - i);
		json_array_append_new(a, json_stringn(l + i, n));
		i += n + 1;
	}
	return a;
}

static json_t *cert_json(const struct store_cert_meta *m, json_t *o)
{
	char hex[65];
	util_hex_encode(m->sha1, 20, hex);
	json_object_set_new(o, "sha1", json_string(hex));
	util_hex_encode(m->sha256, 32, hex);
	json_object_set_new(o, "sha256", json_string(hex));
	json_object_set_new(o, "subject", json_string(m->subject));
	json_object_set_new(o, "issuer", json_string(m->issuer));
	json_object_set_new(o, "serial", json_string(m->serial));
	json_object_set_new(o, "not_before", util_time_json(m->not_before));
	json_object_set_new(o, "not_after", util_time_json(m->not_after));
	json_object_set_new(o, "san_dns", list_json(m->san_dns, m->san_dns_len));
	json_object_set_new(o, "san_ip", list_json(m->san_ip, m->san_ip_len));
	return o;
}

static void emit(struct probe_run *run, json_t *o)
{
	char *s = json_dumps(o, run->pretty ? JSON_INDENT(2) : JSON_COMPACT);
	pthread_mutex_lock(&run->mu);
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	pthread_mutex_unlock(&run->mu);
	free(s);
	json_decref(o);
}

static void tally(struct probe_run *run, bool ok)
{
	pthread_mutex_lock(&run->mu);
	if (ok)
		run->successes++;
	else
		run->failures++;
	pthread_mutex_unlock(&run->mu);
}

static void fail(struct probe_run *run, const char *spec, const char *ip, const char *why)
{
	fprintf(stderr, "infrapivot probe: %s%s%s: %s\n", spec, ip ? " at " : "", ip ? ip : "",
	        why);
	tally(run, false);
}

/* Record the resolutions and sightings of one target in one transaction. */
static void record(struct probe_run *run, const char *name, struct ingest_probe_result *res,
                   size_t nres, const bool *ok)
{
	size_t cap = nres * (2 + 16);
	struct store_obs *obs = calloc(cap ? cap : 1, sizeof(*obs));
	if (obs == NULL) {
		run->db_err = -ENOMEM;
		return;
	}
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < nres; i++) {
		int64_t t = ok[i] ? res[i].time : now;
		if (name != NULL) {
			struct store_obs *o = &obs[n++];
			o->kind = STORE_OBS_DNS;
			o->time_first = o->time_last = t;
			o->count = 1;
			snprintf(o->sensor, sizeof(o->sensor), "%s", PROBE_SENSOR);
			snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", name);
			o->dns.rrtype = store_addr_is_v4(res[i].ip) ? STORE_RR_A : STORE_RR_AAAA;
			memcpy(o->dns.addr, res[i].ip, 16);
		}
		if (!ok[i])
			continue;
		struct store_obs *o = &obs[n++];
		o->kind = STORE_OBS_CERT;
		o->time_first = o->time_last = t;
		o->count = 1;
		snprintf(o->sensor, sizeof(o->sensor), "%s", PROBE_SENSOR);
		o->cert.sighting = true;
		o->cert.has_meta = true;
		memcpy(o->cert.ip, res[i].ip, 16);
		o->cert.port = res[i].port;
		memcpy(o->cert.sni, res[i].sni, sizeof(o->cert.sni));
		o->cert.meta = &res[i].leaf;
		/* the chain's certificates: metadata only, for pivots by issuer */
		for (size_t k = 0; k < res[i].nchain && k < 16; k++) {
			struct store_obs *c = &obs[n++];
			c->kind = STORE_OBS_CERT;
			c->time_first = c->time_last = t;
			c->count = 1;
			snprintf(c->sensor, sizeof(c->sensor), "%s", PROBE_SENSOR);
			c->cert.has_meta = true;
			c->cert.meta = &res[i].chain[k];
		}
	}
	int err = n > 0 ? store_write(run->store, obs, n, NULL, 0, NULL) : 0;
	free(obs);
	if (err != 0) {
		const char *d = store_last_error();
		fprintf(stderr, "infrapivot probe: database error: %s%s%s\n", store_strerror(err),
		        *d ? ": " : "", d);
		pthread_mutex_lock(&run->mu);
		run->db_err = err;
		pthread_mutex_unlock(&run->mu);
	}
}

static void probe_target(struct probe_run *run, const struct target *t)
{
	char host[STORE_NAME_BUF], port[16];
	if (split_target(t->spec, host, sizeof(host), port, sizeof(port)) != 0) {
		fail(run, t->spec, NULL, "not HOST[:PORT] with a port 1-65535");
		json_t *o = json_pack("{s:s,s:s}", "target", t->spec, "error",
		                      "not HOST[:PORT] with a port 1-65535");
		emit(run, o);
		return;
	}
	uint8_t lit[16];
	bool is_addr = store_addr_parse(host, strlen(host), lit) == 0;
	char name[STORE_NAME_BUF] = "";
	if (!is_addr && store_name_norm(host, strlen(host), name, false) != 0) {
		fail(run, t->spec, NULL, "not a valid host name or address");
		emit(run, json_pack("{s:s,s:s}", "target", t->spec, "error",
		                    "not a valid host name or address"));
		return;
	}
	char sni[STORE_NAME_BUF] = "";
	const char *want = t->sni ? t->sni : run->sni ? run->sni : is_addr ? NULL : name;
	if (!run->no_sni && want != NULL && store_name_norm(want, strlen(want), sni, false) != 0) {
		fail(run, t->spec, NULL, "the SNI is not a valid host name");
		emit(run, json_pack("{s:s,s:s}", "target", t->spec, "error",
		                    "the SNI is not a valid host name"));
		return;
	}
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (is_addr ? AI_NUMERICHOST : 0);
	int gerr = getaddrinfo(host, port, &hints, &ai);
	if (gerr != 0) {
		char why[300];
		snprintf(why, sizeof(why), "cannot resolve %s: %s", host, gai_strerror(gerr));
		fail(run, t->spec, NULL, why);
		emit(run,
		     json_pack("{s:s,s:s,s:s}", "target", t->spec, "host", host, "error", why));
		return;
	}
	struct ingest_probe_result *res = calloc(PROBE_ADDRS_MAX, sizeof(*res));
	bool ok[PROBE_ADDRS_MAX] = {false};
	size_t nres = 0;
	for (struct addrinfo *a = ai; a != NULL && res != NULL && nres < PROBE_ADDRS_MAX;
	     a = a->ai_next) {
		/* getaddrinfo may list an address once per protocol */
		bool dup = false;
		for (struct addrinfo *b = ai; b != a; b = b->ai_next)
			if (b->ai_addrlen == a->ai_addrlen &&
			    memcmp(b->ai_addr, a->ai_addr, a->ai_addrlen) == 0)
				dup = true;
		if (dup)
			continue;
		struct ingest_probe_result *r = &res[nres];
		ok[nres] = ingest_probe(a->ai_addr, a->ai_addrlen, run->no_sni ? NULL : sni,
		                        run->timeout_ms, r) == 0;
		json_t *o = json_object();
		json_object_set_new(o, "target", json_string(t->spec));
		json_object_set_new(o, "host", json_string(host));
		json_object_set_new(o, "ip", json_string(r->ip_text));
		json_object_set_new(o, "port", json_integer(r->port));
		json_object_set_new(o, "sni", r->sni[0] ? json_string(r->sni) : json_null());
		if (ok[nres]) {
			json_object_set_new(o, "time", util_time_json(r->time));
			json_object_set_new(o, "tls_version", json_string(r->tls_version));
			json_object_set_new(o, "cipher", json_string(r->cipher));
			cert_json(&r->leaf, o);
			json_t *chain = json_array();
			for (size_t k = 0; k < r->nchain; k++)
				json_array_append_new(chain,
				                      cert_json(&r->chain[k], json_object()));
			json_object_set_new(o, "chain", chain);
			json_object_set_new(o, "recorded", json_boolean(run->store != NULL));
			tally(run, true);
		} else {
			json_object_set_new(o, "error", json_string(r->error));
			fail(run, t->spec, r->ip_text, r->error);
		}
		emit(run, o);
		nres++;
	}
	freeaddrinfo(ai);
	if (run->store != NULL && res != NULL)
		record(run, is_addr ? NULL : name, res, nres, ok);
	for (size_t i = 0; res != NULL && i < nres; i++)
		ingest_probe_result_free(&res[i]);
	free(res);
}

static void *worker(void *arg)
{
	struct probe_run *run = arg;
	for (;;) {
		pthread_mutex_lock(&run->mu);
		size_t i = run->next++;
		pthread_mutex_unlock(&run->mu);
		if (i >= run->ntargets)
			return NULL;
		probe_target(run, &run->targets[i]);
	}
}

static int add_target(struct target **ts, size_t *n, size_t *cap, const char *spec, size_t slen,
                      const char *sni, size_t snilen)
{
	if (*n >= PROBE_TARGETS_MAX)
		return -1;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct target *nt = realloc(*ts, nc * sizeof(*nt));
		if (nt == NULL)
			return -1;
		*ts = nt;
		*cap = nc;
	}
	struct target *t = &(*ts)[*n];
	t->spec = strndup(spec, slen);
	t->sni = sni ? strndup(sni, snilen) : NULL;
	if (t->spec == NULL || (sni && t->sni == NULL)) {
		free(t->spec);
		free(t->sni);
		return -1;
	}
	(*n)++;
	return 0;
}

static int read_targets(const char *path, struct target **ts, size_t *n, size_t *cap)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "infrapivot probe: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t lcap = 0;
	ssize_t l;
	int err = 0;
	while (err == 0 && (l = getline(&line, &lcap, f)) >= 0) {
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		size_t sl = strcspn(p, " \t\r\n");
		char *q = p + sl;
		while (*q == ' ' || *q == '\t')
			q++;
		size_t ql = strcspn(q, " \t\r\n#");
		err = add_target(ts, n, cap, p, sl, ql ? q : NULL, ql);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

int svc_cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},      {"sni", required_argument, NULL, 's'},
	    {"no-sni", no_argument, NULL, 'S'},        {"timeout", required_argument, NULL, 't'},
	    {"targets", required_argument, NULL, 'T'}, {"parallel", required_argument, NULL, 'p'},
	    {"no-record", no_argument, NULL, 'n'},     {"pretty", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct probe_run run;
	memset(&run, 0, sizeof(run));
	run.timeout_ms = 10000;
	const char *db = NULL, *targets_file = NULL;
	bool no_record = false;
	uint64_t parallel = 8, v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 's':
			run.sni = optarg;
			break;
		case 'S':
			run.no_sni = true;
			break;
		case 't':
			if (svc_parse_u64(optarg, &v) != 0 || v == 0 || v > 3600) {
				fprintf(stderr,
				        "infrapivot probe: --timeout takes 1-3600 seconds\n");
				return 2;
			}
			run.timeout_ms = (int)v * 1000;
			break;
		case 'T':
			targets_file = optarg;
			break;
		case 'p':
			if (svc_parse_u64(optarg, &parallel) != 0 || parallel == 0 ||
			    parallel > 256) {
				fprintf(stderr, "infrapivot probe: --parallel takes 1-256\n");
				return 2;
			}
			break;
		case 'n':
			no_record = true;
			break;
		case 'P':
			run.pretty = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	size_t cap = 0;
	int rc = 2;
	for (int i = optind; i < argc; i++)
		if (add_target(&run.targets, &run.ntargets, &cap, argv[i], strlen(argv[i]), NULL,
		               0) != 0)
			goto free_targets;
	if (targets_file != NULL &&
	    read_targets(targets_file, &run.targets, &run.ntargets, &cap) != 0)
		goto free_targets;
	if (run.ntargets == 0) {
		fprintf(stderr,
		        "infrapivot probe: no target (give HOST[:PORT] or --targets FILE)\n");
		usage(stderr);
		goto free_targets;
	}
	/* a server that closes mid-handshake must not kill us with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	if (!no_record) {
		run.store = svc_open_db(db, false);
		if (run.store == NULL)
			goto free_targets;
	}
	pthread_mutex_init(&run.mu, NULL);
	size_t nthreads = parallel < run.ntargets ? (size_t)parallel : run.ntargets;
	pthread_t *th = calloc(nthreads, sizeof(*th));
	size_t started = 0;
	for (size_t i = 0; th != NULL && i < nthreads; i++) {
		if (pthread_create(&th[i], NULL, worker, &run) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker(&run);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&run.mu);
	if (run.store != NULL)
		store_close(run.store);
	if (run.db_err != 0 || run.successes == 0)
		rc = 2;
	else
		rc = run.failures > 0 ? 1 : 0;
free_targets:
	for (size_t i = 0; i < run.ntargets; i++) {
		free(run.targets[i].spec);
		free(run.targets[i].sni);
	}
	free(run.targets);
	return rc;
}
