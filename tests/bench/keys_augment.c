/*
 * keys_augment.c - give the benchmark database (scripts/gen-dataset, COF)
 * what issue 15's edges walk, so the pivot benchmark can time them: every
 * certificate of the dataset gets a public key (most keys in 1-4
 * certificates, as re-issues are; 2% of certificates share one hoster key)
 * and every IP a certificate was seen on gets a JARM and a JA3S on its
 * port (a third on five stock fingerprints thousands of IPs share, the rest
 * on 20,000 rare ones, a few IPs each).  Deterministic: keys and
 * fingerprints are functions of the hash and the address.
 *   bench_keys_augment DBDIR COF_FILE
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/hex.h"

static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* 32 pseudo-random bytes from a number (no cryptography needed here). */
static void bytes_of(uint64_t v, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v = v * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = (uint8_t)(v >> 56);
	}
}

static void fp_of(uint64_t h, unsigned type, char *out)
{
	uint8_t b[31];
	size_t n = type == STORE_FP_JARM ? 31 : 16;
	/* a third of the IPs answer like one of five stock stacks */
	uint64_t v = h % 3 == 0 ? 1000000 + h % 5 : (h / 3) % 20000;
	bytes_of(v * 2 + type, b, n);
	util_hex_encode(b, n, out);
}

struct aug {
	store_t *s;
	struct store_obs *obs;
	struct store_cert_meta *metas;
	size_t n, cap;
	unsigned long certs, fps;
};

static int flush(struct aug *a)
{
	int err = a->n ? store_write(a->s, a->obs, a->n, NULL, 0, NULL) : 0;
	a->n = 0;
	return err;
}

static int add_line(struct aug *a, json_t *o)
{
	const char *sha1 = json_string_value(json_object_get(o, "cert_sha1"));
	const char *ip = json_string_value(json_object_get(o, "ip"));
	if (sha1 == NULL || ip == NULL || a->n + 3 > a->cap)
		return 0;
	struct store_obs *c = &a->obs[a->n];
	struct store_cert_meta *m = &a->metas[a->n];
	memset(c, 0, sizeof(*c));
	memset(m, 0, sizeof(*m));
	size_t hl;
	uint8_t hb[32];
	if (store_hash_parse(sha1, strlen(sha1), hb, &hl) != 0 || hl != 20)
		return 0;
	memcpy(m->sha1, hb, 20);
	m->has_sha1 = true;
	uint64_t h = fnv(m->sha1, 20);
	m->has_key = true;
	bytes_of(h % 50 == 0 ? 7 : 100 + h % 8000, m->key, 32);
	c->kind = STORE_OBS_CERT;
	c->count = 1;
	c->cert.meta = m;
	a->n++;
	a->certs++;
	int64_t tf = json_integer_value(json_object_get(o, "time_first"));
	int64_t tl = json_integer_value(json_object_get(o, "time_last"));
	for (unsigned type = STORE_FP_JARM; type <= STORE_FP_JA3S; type++) {
		struct store_obs *f = &a->obs[a->n++];
		memset(f, 0, sizeof(*f));
		f->kind = STORE_OBS_FP;
		f->time_first = tf;
		f->time_last = tl;
		f->count = 1;
		f->fp.fptype = (uint8_t)type;
		f->fp.port = (uint16_t)json_integer_value(json_object_get(o, "port"));
		if (store_addr_parse(ip, strlen(ip), f->fp.ip) != 0)
			return -1;
		fp_of(fnv(f->fp.ip, 16), type, f->fp.hash);
		a->fps++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_keys_augment DBDIR COF_FILE\n");
		return 2;
	}
	struct aug a = {.cap = 30000};
	a.obs = calloc(a.cap, sizeof(*a.obs));
	a.metas = calloc(a.cap, sizeof(*a.metas));
	FILE *f = fopen(argv[2], "r");
	if (a.obs == NULL || a.metas == NULL || f == NULL ||
	    store_open(&a.s, argv[1], STORE_NOSYNC, 0) != 0) {
		fprintf(stderr, "bench_keys_augment: cannot open %s or %s\n", argv[1], argv[2]);
		return 2;
	}
	char line[4096];
	int err = 0;
	while (err == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "\"cert_sha1\"") == NULL)
			continue;
		json_t *o = json_loads(line, 0, NULL);
		if (o != NULL)
			err = add_line(&a, o);
		json_decref(o);
		if (err == 0 && a.n + 3 > a.cap)
			err = flush(&a);
	}
	if (err == 0)
		err = flush(&a);
	fclose(f);
	store_close(a.s);
	free(a.obs);
	free(a.metas);
	if (err != 0) {
		fprintf(stderr, "bench_keys_augment: %s\n", store_strerror(err));
		return 1;
	}
	printf("%lu certificate keys, %lu fingerprint sightings\n", a.certs, a.fps);
	return 0;
}
