/*
 * http_idem.c - pushes safe to retry: POST /api/v1/observations with an
 * Idempotency-Key header.
 *
 * Every transaction of such a push carries the key's record (store/idem.c):
 * how far into the body its whole lines were committed and what they
 * counted, "partial" until the last one, which says "done".  A retry with
 * the same key (and the same body) is answered from a "done" record
 * without ingesting anything, or, after a "partial" one (the push failed
 * or the client went away), skips the bytes already committed and goes
 * on from there: every line is counted once.  Two pushes with one key at
 * the same time: the second gets 409.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_internal.h"

/* Keys of the pushes in progress (srv->idem_mu). */
struct svc_idem_busy {
	struct svc_idem_busy *next;
	size_t klen;
	uint8_t k[];
};

bool svc_idem_check(struct svc_http_req *rq, char *msg, size_t cap)
{
	const char *key = svc_http_header(rq, "Idempotency-Key");
	if (key == NULL)
		return true;
	size_t n = strlen(key);
	bool ok = n > 0 && n <= STORE_IDEM_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] > 0x20 && key[i] < 0x7f;
	if (!ok)
		snprintf(msg, cap, "Idempotency-Key: 1 to %d printable ASCII characters, no spaces",
		         STORE_IDEM_KEY_MAX);
	return ok;
}

/* Claim the key for this request: false when another push holds it. */
static bool claim(struct svc_http_req *rq)
{
	struct svc_http_server *srv = rq->srv;
	bool ok = true;
	pthread_mutex_lock(&srv->idem_mu);
	for (struct svc_idem_busy *b = srv->idem_busy; b != NULL && ok; b = b->next)
		ok = b->klen != rq->idem_klen || memcmp(b->k, rq->idem_k, b->klen) != 0;
	struct svc_idem_busy *nb = ok ? malloc(sizeof(*nb) + rq->idem_klen) : NULL;
	if (nb != NULL) {
		nb->klen = rq->idem_klen;
		memcpy(nb->k, rq->idem_k, rq->idem_klen);
		nb->next = srv->idem_busy;
		srv->idem_busy = nb;
		rq->idem_claimed = true;
	}
	pthread_mutex_unlock(&srv->idem_mu);
	return ok && nb != NULL;
}

void svc_idem_release(struct svc_http_req *rq)
{
	if (!rq->idem_claimed)
		return;
	struct svc_http_server *srv = rq->srv;
	pthread_mutex_lock(&srv->idem_mu);
	for (struct svc_idem_busy **p = &srv->idem_busy; *p != NULL; p = &(*p)->next) {
		struct svc_idem_busy *b = *p;
		if (b->klen == rq->idem_klen && memcmp(b->k, rq->idem_k, b->klen) == 0) {
			*p = b->next;
			free(b);
			break;
		}
	}
	pthread_mutex_unlock(&srv->idem_mu);
	rq->idem_claimed = false;
}

/* Records past their time are deleted at most once an hour. */
static void prune_now_and_then(struct svc_http_server *srv, int64_t now)
{
	int64_t last = atomic_load(&srv->idem_pruned);
	if (now - last < 3600 || !atomic_compare_exchange_strong(&srv->idem_pruned, &last, now))
		return;
	store_idem_prune(srv->store, now - STORE_IDEM_TTL, NULL);
}

/* The record's counts into rq (a resume) or as they are (a replay). */
static int parse_record(struct svc_http_req *rq, const char *rec)
{
	json_t *j = json_loads(rec, 0, NULL);
	if (j == NULL)
		return STORE_ECORRUPT;
	const char *state = json_string_value(json_object_get(j, "state"));
	rq->idem_done = state != NULL && strcmp(state, "done") == 0;
	struct svc_idem_counts *b = &rq->idem_base;
	b->bytes = (uint64_t)json_integer_value(json_object_get(j, "bytes"));
	b->line = (uint64_t)json_integer_value(json_object_get(j, "line"));
	b->accepted = (uint64_t)json_integer_value(json_object_get(j, "accepted"));
	b->rejected = (uint64_t)json_integer_value(json_object_get(j, "rejected"));
	b->skipped = (uint64_t)json_integer_value(json_object_get(j, "skipped"));
	b->records = (uint64_t)json_integer_value(json_object_get(j, "records"));
	json_decref(j);
	return 0;
}

int svc_idem_begin(struct svc_http_req *rq)
{
	const char *key = svc_http_header(rq, "Idempotency-Key");
	if (key == NULL)
		return 0;
	int err =
	    store_idem_key(rq->token_name, key, rq->idem_k, sizeof(rq->idem_k), &rq->idem_klen);
	if (err != 0)
		return err;
	rq->idem = true;
	if (!claim(rq))
		return -EBUSY;
	int64_t now = (int64_t)time(NULL);
	prune_now_and_then(rq->srv, now);
	char rec[STORE_IDEM_REC_MAX + 1];
	int64_t when;
	err = store_idem_get(rq->srv->store, rq->idem_k, rq->idem_klen, &when, rec, sizeof(rec));
	if (err == STORE_ENOTFOUND || (err == 0 && when < now - STORE_IDEM_TTL))
		return 0; /* a first attempt */
	if (err == 0)
		err = parse_record(rq, rec);
	if (err == 0 && !rq->idem_done)
		rq->idem_skip = rq->idem_base.bytes; /* committed already */
	return err;
}

/* The counts of the body so far: the earlier attempts' and this one's. */
static void counts_now(struct svc_http_req *rq, struct svc_idem_counts *c, uint64_t bytes,
                       uint64_t line)
{
	struct ingest_summary s;
	ingest_stream_counts(rq->ingest, &s);
	const struct svc_idem_counts *b = &rq->idem_base;
	c->bytes = b->bytes + bytes;
	c->line = line;
	c->accepted = b->accepted + s.accepted;
	c->rejected = b->rejected + s.rejected;
	c->skipped = b->skipped + s.skipped;
	c->records = b->records + s.records;
}

int svc_idem_position(void *arg, store_batch_t *sb, uint64_t bytes, uint64_t line)
{
	struct svc_http_req *rq = arg;
	struct svc_idem_counts c;
	counts_now(rq, &c, bytes, line);
	char rec[STORE_IDEM_REC_MAX];
	snprintf(rec, sizeof(rec),
	         "{\"state\":\"%s\",\"bytes\":%llu,\"line\":%llu,\"accepted\":%llu,"
	         "\"rejected\":%llu,\"skipped\":%llu,\"records\":%llu}",
	         rq->idem_final ? "done" : "partial", (unsigned long long)c.bytes,
	         (unsigned long long)c.line, (unsigned long long)c.accepted,
	         (unsigned long long)c.rejected, (unsigned long long)c.skipped,
	         (unsigned long long)c.records);
	return store_idem_put(sb, rq->idem_k, rq->idem_klen, (int64_t)time(NULL), rec);
}

json_t *svc_idem_committed(struct svc_http_req *rq)
{
	char rec[STORE_IDEM_REC_MAX + 1];
	int64_t when;
	if (!rq->idem ||
	    store_idem_get(rq->srv->store, rq->idem_k, rq->idem_klen, &when, rec, sizeof(rec)) != 0)
		return NULL;
	json_t *j = json_loads(rec, 0, NULL);
	if (j != NULL)
		json_object_del(j, "state");
	return j;
}
