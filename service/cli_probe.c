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
	bool jarm;  /* --jarm: the JARM fingerprint of each address too */
	bool table; /* --format table */
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
	           "--jarm adds the JARM fingerprint of each address (Salesforce's method:\n"
	           "ten hand-built ClientHellos on their own connections, the ServerHellos\n"
	           "folded into 62 hex characters): \"jarm\", \"jarm_raw\" (the ten answers\n"
	           "cipher|version|alpn|extensions) and, when it failed, \"jarm_error\" (the\n"
	           "fingerprint is then 62 zeros).  The server_name sent is the SNI as\n"
	           "above, else the address (as the reference implementation does).\n"
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
	           "                      (each; default 10); with --jarm also for each\n"
	           "                      of its ten connects and answers (a timeout\n"
	           "                      ends the JARM run with zeros)\n"
	           "  --jarm              also take the JARM fingerprint of each address\n"
	           "  --format json|table one JSON object per address (default) or a table\n"
	           "  --targets FILE      read targets from FILE (- = standard input)\n"
	           "  --parallel N        probe N targets at once (default 8, max 256)\n"
	           "  --no-record         only print; record nothing\n"
	           "  --pretty            indent the JSON\n"
	           "  --db DIR            database directory\n"
	           "  --store STORE       lmdb:DIR (as --db) or clickhouse://H:P[,H:P...]/DB\n"
	           "  -h, --help          this help\n"
	           "\n"
	           "Exit status: 0 every address answered with a certificate (and a JARM\n"
	           "with --jarm), 1 some probes failed (connection refused, timeout, no TLS\n"
	           "on the port...), 2 usage or database error, or no target could be\n"
	           "resolved or probed at all.\n");
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

static const char *field_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL && *s != '\0' ? s : "-";
}

/* The table's columns; the JARM column (with its space) only with --jarm. */
#define TABLE_FMT "%-28s %-39s %5s %-8s %-40s %s%s\n"

static void table_jarm_col(const struct probe_run *run, const char *v, char *out, size_t cap)
{
	out[0] = '\0';
	if (run->jarm)
		snprintf(out, cap, "%-62s ", v);
}

static void table_header(const struct probe_run *run)
{
	char jarm[INGEST_JARM_LEN + 2];
	table_jarm_col(run, "JARM", jarm, sizeof(jarm));
	printf(TABLE_FMT, "TARGET", "IP", "PORT", "TLS", "SHA1", jarm, "ERROR");
}

/* One address as a line of the table (--format table); malloc'd. */
static char *table_line(const struct probe_run *run, const json_t *o)
{
	char port[8] = "-", jarm[INGEST_JARM_LEN + 2], err[1100];
	const json_t *p = json_object_get(o, "port");
	if (p != NULL)
		snprintf(port, sizeof(port), "%u", (unsigned)json_integer_value(p));
	table_jarm_col(run, field_str(o, "jarm"), jarm, sizeof(jarm));
	const char *e = json_string_value(json_object_get(o, "error"));
	const char *je = json_string_value(json_object_get(o, "jarm_error"));
	snprintf(err, sizeof(err), "%s%s%s%s", e ? e : "", e && je ? "; " : "", je ? "JARM: " : "",
	         je ? je : "");
	size_t cap = 2048;
	char *s = malloc(cap);
	if (s != NULL)
		snprintf(s, cap, TABLE_FMT, field_str(o, "target"), field_str(o, "ip"), port,
		         field_str(o, "tls_version"), field_str(o, "sha1"), jarm,
		         err[0] ? err : "-");
	return s;
}

static void emit(struct probe_run *run, json_t *o)
{
	char *s = run->table ? table_line(run, o)
	                     : json_dumps(o, run->pretty ? JSON_INDENT(2) : JSON_COMPACT);
	pthread_mutex_lock(&run->mu);
	if (s != NULL) {
		fputs(s, stdout);
		if (!run->table)
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

/* The next observation of a probe at time t. */
static struct store_obs *obs_next(struct store_obs *obs, size_t *n, enum store_obs_kind kind,
                                  int64_t t)
{
	struct store_obs *o = &obs[(*n)++];
	o->kind = kind;
	o->time_first = o->time_last = t;
	o->count = 1;
	snprintf(o->sensor, sizeof(o->sensor), "%s", PROBE_SENSOR);
	return o;
}

/* The sighting of one probe's leaf and, metadata only, its chain (for
 * pivots by issuer). */
static void obs_sighting(struct store_obs *obs, size_t *n, struct ingest_probe_result *r, int64_t t)
{
	struct store_obs *o = obs_next(obs, n, STORE_OBS_CERT, t);
	o->cert.sighting = true;
	o->cert.has_meta = true;
	memcpy(o->cert.ip, r->ip, 16);
	o->cert.port = r->port;
	memcpy(o->cert.sni, r->sni, sizeof(o->cert.sni));
	o->cert.meta = &r->leaf;
	for (size_t k = 0; k < r->nchain && k < 16; k++) {
		struct store_obs *c = obs_next(obs, n, STORE_OBS_CERT, t);
		c->cert.has_meta = true;
		c->cert.meta = &r->chain[k];
	}
}

/* The JARM of one address, as probe_addr left it for record(). */
struct addr_jarm {
	bool ok;
	char fp[INGEST_JARM_LEN + 1];
};

/* The JARM fingerprint of ip:port as a sighting at time t: one
 * observation appended to obs[*n] (record() reserves room for it).
 * Returns 0, or STORE_EBADHASH when fp is not a JARM (never from
 * ingest_jarm; then nothing is appended). */
static int record_jarm(struct store_obs *obs, size_t *n, const uint8_t ip[16], uint16_t port,
                       const char *fp, int64_t t)
{
	char h[STORE_FP_HASH_BUF];
	int err = store_fp_norm(STORE_FP_JARM, fp, strlen(fp), h);
	if (err != 0)
		return err;
	struct store_obs *o = obs_next(obs, n, STORE_OBS_FP, t);
	memcpy(o->fp.ip, ip, 16);
	o->fp.port = port;
	o->fp.fptype = STORE_FP_JARM;
	memcpy(o->fp.hash, h, sizeof(h));
	return 0;
}

/* Record the resolutions, sightings and JARMs of one target in one
 * transaction. */
static void record(struct probe_run *run, const char *name, struct ingest_probe_result *res,
                   size_t nres, const bool *ok, const struct addr_jarm *jarm)
{
	size_t cap = nres * (3 + 16);
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
			struct store_obs *o = obs_next(obs, &n, STORE_OBS_DNS, t);
			snprintf(o->dns.rrname, sizeof(o->dns.rrname), "%s", name);
			o->dns.rrtype = store_addr_is_v4(res[i].ip) ? STORE_RR_A : STORE_RR_AAAA;
			memcpy(o->dns.addr, res[i].ip, 16);
		}
		if (ok[i])
			obs_sighting(obs, &n, &res[i], t);
		if (jarm[i].ok)
			record_jarm(obs, &n, res[i].ip, res[i].port, jarm[i].fp, now);
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

/* A target that cannot be probed: a message and a JSON line saying why. */
static void target_error(struct probe_run *run, const char *spec, const char *host, const char *why)
{
	fail(run, spec, NULL, why);
	if (host != NULL)
		emit(run, json_pack("{s:s,s:s,s:s}", "target", spec, "host", host, "error", why));
	else
		emit(run, json_pack("{s:s,s:s}", "target", spec, "error", why));
}

/* A target taken apart: host and port, the host as a name unless it is
 * an address, the SNI to send. */
struct probe_dest {
	char host[STORE_NAME_BUF], port[16];
	bool is_addr;
	char name[STORE_NAME_BUF];
	char sni[STORE_NAME_BUF];
};

static bool dest_parse(struct probe_run *run, const struct target *t, struct probe_dest *d)
{
	if (split_target(t->spec, d->host, sizeof(d->host), d->port, sizeof(d->port)) != 0) {
		target_error(run, t->spec, NULL, "not HOST[:PORT] with a port 1-65535");
		return false;
	}
	uint8_t lit[16];
	d->is_addr = store_addr_parse(d->host, strlen(d->host), lit) == 0;
	d->name[0] = '\0';
	if (!d->is_addr && store_name_norm(d->host, strlen(d->host), d->name, false) != 0) {
		target_error(run, t->spec, NULL, "not a valid host name or address");
		return false;
	}
	d->sni[0] = '\0';
	const char *want = t->sni ? t->sni : run->sni ? run->sni : d->is_addr ? NULL : d->name;
	if (!run->no_sni && want != NULL &&
	    store_name_norm(want, strlen(want), d->sni, false) != 0) {
		target_error(run, t->spec, NULL, "the SNI is not a valid host name");
		return false;
	}
	return true;
}

/* getaddrinfo may list an address once per protocol. */
static bool addr_seen(const struct addrinfo *ai, const struct addrinfo *a)
{
	for (const struct addrinfo *b = ai; b != a; b = b->ai_next)
		if (b->ai_addrlen == a->ai_addrlen &&
		    memcmp(b->ai_addr, a->ai_addr, a->ai_addrlen) == 0)
			return true;
	return false;
}

/* The JARM of one address into its JSON line o and j. */
static void jarm_addr(struct probe_run *run, const char *spec, const struct probe_dest *d,
                      const struct addrinfo *a, const char *ip_text, json_t *o, struct addr_jarm *j)
{
	struct ingest_jarm_result *jr = malloc(sizeof(*jr));
	if (jr == NULL) {
		json_object_set_new(o, "jarm_error", json_string("out of memory"));
		fail(run, spec, ip_text, "JARM: out of memory");
		return;
	}
	/* as the reference: the name, else the address, as server_name */
	const char *sni = run->no_sni ? NULL : d->sni[0] ? d->sni : ip_text;
	j->ok = ingest_jarm(a->ai_addr, a->ai_addrlen, sni, run->timeout_ms, jr) == 0;
	memcpy(j->fp, jr->fp, sizeof(j->fp));
	json_object_set_new(o, "jarm", json_string(jr->fp));
	json_object_set_new(o, "jarm_raw", json_string(jr->raw));
	if (j->ok) {
		tally(run, true);
	} else {
		char why[300];
		snprintf(why, sizeof(why), "JARM: %s", jr->error);
		json_object_set_new(o, "jarm_error", json_string(jr->error));
		fail(run, spec, ip_text, why);
	}
	free(jr);
}

/* Probe one address of a target (and its JARM into j with --jarm) and
 * print its line; true when the certificate probe succeeded. */
static bool probe_addr(struct probe_run *run, const char *spec, const struct probe_dest *d,
                       const struct addrinfo *a, struct ingest_probe_result *r, struct addr_jarm *j)
{
	bool ok = ingest_probe(a->ai_addr, a->ai_addrlen, run->no_sni ? NULL : d->sni,
	                       run->timeout_ms, r) == 0;
	json_t *o = json_object();
	json_object_set_new(o, "target", json_string(spec));
	json_object_set_new(o, "host", json_string(d->host));
	json_object_set_new(o, "ip", json_string(r->ip_text));
	json_object_set_new(o, "port", json_integer(r->port));
	json_object_set_new(o, "sni", r->sni[0] ? json_string(r->sni) : json_null());
	if (ok) {
		json_object_set_new(o, "time", util_time_json(r->time));
		json_object_set_new(o, "tls_version", json_string(r->tls_version));
		json_object_set_new(o, "cipher", json_string(r->cipher));
		cert_json(&r->leaf, o);
		json_t *chain = json_array();
		for (size_t k = 0; k < r->nchain; k++)
			json_array_append_new(chain, cert_json(&r->chain[k], json_object()));
		json_object_set_new(o, "chain", chain);
		json_object_set_new(o, "recorded", json_boolean(run->store != NULL));
		tally(run, true);
	} else {
		json_object_set_new(o, "error", json_string(r->error));
		fail(run, spec, r->ip_text, r->error);
	}
	if (run->jarm)
		jarm_addr(run, spec, d, a, r->ip_text, o, j);
	emit(run, o);
	return ok;
}

static void probe_target(struct probe_run *run, const struct target *t)
{
	struct probe_dest d;
	if (!dest_parse(run, t, &d))
		return;
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (d.is_addr ? AI_NUMERICHOST : 0);
	int gerr = getaddrinfo(d.host, d.port, &hints, &ai);
	if (gerr != 0) {
		char why[300];
		snprintf(why, sizeof(why), "cannot resolve %s: %s", d.host, gai_strerror(gerr));
		target_error(run, t->spec, d.host, why);
		return;
	}
	struct ingest_probe_result *res = calloc(PROBE_ADDRS_MAX, sizeof(*res));
	bool ok[PROBE_ADDRS_MAX] = {false};
	struct addr_jarm jarm[PROBE_ADDRS_MAX];
	memset(jarm, 0, sizeof(jarm));
	size_t nres = 0;
	for (struct addrinfo *a = ai; a != NULL && res != NULL && nres < PROBE_ADDRS_MAX;
	     a = a->ai_next) {
		if (addr_seen(ai, a))
			continue;
		ok[nres] = probe_addr(run, t->spec, &d, a, &res[nres], &jarm[nres]);
		nres++;
	}
	freeaddrinfo(ai);
	if (run->store != NULL && res != NULL)
		record(run, d.is_addr ? NULL : d.name, res, nres, ok, jarm);
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

/* What the options set besides the run. */
struct probe_opts {
	const char *db, *targets_file;
	bool no_record;
	uint64_t parallel;
};

/* One option: 0, or -1 on a bad value (reported). */
static int probe_opt(int c, const char *v, struct probe_run *run, struct probe_opts *o)
{
	uint64_t n;
	if (c == 'd') {
		o->db = v;
	} else if (c == 's') {
		run->sni = v;
	} else if (c == 'S') {
		run->no_sni = true;
	} else if (c == 'T') {
		o->targets_file = v;
	} else if (c == 'n') {
		o->no_record = true;
	} else if (c == 'P') {
		run->pretty = true;
	} else if (c == 'J') {
		run->jarm = true;
	} else if (c == 'F') {
		run->table = strcmp(v, "table") == 0;
		if (!run->table && strcmp(v, "json") != 0) {
			fprintf(stderr, "infrapivot probe: --format json|table\n");
			return -1;
		}
	} else if (c == 't') {
		if (svc_parse_u64(v, &n) != 0 || n == 0 || n > 3600) {
			fprintf(stderr, "infrapivot probe: --timeout takes 1-3600 seconds\n");
			return -1;
		}
		run->timeout_ms = (int)n * 1000;
	} else if (c == 'p') {
		if (svc_parse_u64(v, &o->parallel) != 0 || o->parallel == 0 || o->parallel > 256) {
			fprintf(stderr, "infrapivot probe: --parallel takes 1-256\n");
			return -1;
		}
	}
	return 0;
}

/* -1 to go on, or the exit code. */
static int parse_opts(int argc, char **argv, struct probe_run *run, struct probe_opts *o)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 'd'},
	    {"sni", required_argument, NULL, 's'},
	    {"no-sni", no_argument, NULL, 'S'},
	    {"timeout", required_argument, NULL, 't'},
	    {"targets", required_argument, NULL, 'T'},
	    {"parallel", required_argument, NULL, 'p'},
	    {"no-record", no_argument, NULL, 'n'},
	    {"pretty", no_argument, NULL, 'P'},
	    {"jarm", no_argument, NULL, 'J'},
	    {"format", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			svc_opt_error(NULL, argc, argv, "h", longopts);
			return 2;
		}
		if (probe_opt(c, optarg, run, o) != 0)
			return 2;
	}
	return -1;
}

/* The targets of the command line, then those of the targets file. */
static int gather_targets(int argc, char **argv, const char *targets_file, struct probe_run *run)
{
	size_t cap = 0;
	for (int i = optind; i < argc; i++)
		if (add_target(&run->targets, &run->ntargets, &cap, argv[i], strlen(argv[i]), NULL,
		               0) != 0)
			return -1;
	if (targets_file != NULL &&
	    read_targets(targets_file, &run->targets, &run->ntargets, &cap) != 0)
		return -1;
	if (run->ntargets == 0) {
		fprintf(stderr,
		        "infrapivot probe: no target (give HOST[:PORT] or --targets FILE)\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Probe every target with up to parallel threads (in this one when none
 * can be started). */
static void run_workers(struct probe_run *run, uint64_t parallel)
{
	pthread_mutex_init(&run->mu, NULL);
	size_t nthreads = parallel < run->ntargets ? (size_t)parallel : run->ntargets;
	pthread_t *th = calloc(nthreads, sizeof(*th));
	size_t started = 0;
	for (size_t i = 0; th != NULL && i < nthreads; i++) {
		if (pthread_create(&th[i], NULL, worker, run) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker(run);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&run->mu);
}

static void targets_free(struct probe_run *run)
{
	for (size_t i = 0; i < run->ntargets; i++) {
		free(run->targets[i].spec);
		free(run->targets[i].sni);
	}
	free(run->targets);
}

int svc_cmd_probe(int argc, char **argv)
{
	struct probe_run run;
	memset(&run, 0, sizeof(run));
	run.timeout_ms = 10000;
	struct probe_opts o = {.parallel = 8};
	int rc = parse_opts(argc, argv, &run, &o);
	if (rc >= 0)
		return rc;
	rc = 2;
	if (gather_targets(argc, argv, o.targets_file, &run) != 0)
		goto free_targets;
	/* a server that closes mid-handshake must not kill us with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	if (!o.no_record) {
		run.store = svc_open_db(o.db, false);
		if (run.store == NULL)
			goto free_targets;
	}
	if (run.table)
		table_header(&run);
	run_workers(&run, o.parallel);
	if (run.store != NULL)
		store_close(run.store);
	if (run.db_err != 0 || run.successes == 0)
		rc = 2;
	else
		rc = run.failures > 0 ? 1 : 0;
free_targets:
	targets_free(&run);
	return rc;
}
