/*
 * test_idem.c - idempotency records (store/idem.c) on a real LMDB: keys
 * per scope, a record written in a batch's transaction with its data,
 * read back, replaced by a later one, and pruned by age only.
 */
#include "store/store.h"
#include "tests/testutil.h"

static int put(store_t *s, const char *scope, const char *key, int64_t when, const char *rec,
               bool with_obs)
{
	uint8_t k[256];
	size_t klen;
	store_batch_t *b;
	int err = store_idem_key(scope, key, k, sizeof(k), &klen);
	if (err == 0)
		err = store_batch_new(&b);
	if (err != 0)
		return err;
	if (with_obs) {
		struct store_obs o;
		memset(&o, 0, sizeof(o));
		o.kind = STORE_OBS_DNS;
		o.count = 1;
		o.time_first = o.time_last = 1000000000;
		snprintf(o.dns.rrname, sizeof(o.dns.rrname), "i.example.com");
		o.dns.rrtype = 1;
		snprintf(o.dns.rdata, sizeof(o.dns.rdata), "192.0.2.9");
		err = store_addr_parse("192.0.2.9", 9, o.dns.addr);
		if (err == 0)
			err = store_batch_add(b, &o);
	}
	if (err == 0)
		err = store_idem_put(b, k, klen, when, rec);
	if (err == 0)
		err = store_write_batch(s, b, NULL);
	store_batch_free(b);
	return err;
}

static int get(store_t *s, const char *scope, const char *key, char *rec, size_t cap)
{
	uint8_t k[256];
	size_t klen;
	int64_t when;
	int err = store_idem_key(scope, key, k, sizeof(k), &klen);
	return err != 0 ? err : store_idem_get(s, k, klen, &when, rec, cap);
}

int main(void)
{
	store_t *s;
	T_EQ_INT(store_open(&s, t_tmpdir(), 0, 0), 0);
	char rec[STORE_IDEM_REC_MAX + 1];
	T_EQ_INT(put(s, "sensor-a", "k1", 1000, "{\"state\":\"partial\"}", true), 0);
	T_EQ_INT(get(s, "sensor-a", "k1", rec, sizeof(rec)), 0);
	T_EQ_STR(rec, "{\"state\":\"partial\"}");
	/* another token's key of the same name is another record */
	T_EQ_INT(get(s, "sensor-b", "k1", rec, sizeof(rec)), STORE_ENOTFOUND);
	/* a later record replaces it */
	T_EQ_INT(put(s, "sensor-a", "k1", 5000, "{\"state\":\"done\"}", false), 0);
	T_EQ_INT(get(s, "sensor-a", "k1", rec, sizeof(rec)), 0);
	T_EQ_STR(rec, "{\"state\":\"done\"}");
	T_EQ_INT(put(s, "", "old", 100, "{}", false), 0);
	/* bad keys */
	uint8_t k[512];
	size_t klen;
	char longkey[STORE_IDEM_KEY_MAX + 2];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	T_EQ_INT(store_idem_key("", longkey, k, sizeof(k), &klen), STORE_ETOOLONG);
	T_EQ_INT(store_idem_key("", "", k, sizeof(k), &klen), STORE_ETOOLONG);
	/* prune by age: only "old" goes; other meta records stay */
	uint64_t deleted = 0;
	T_EQ_INT(store_idem_prune(s, 1000, &deleted), 0);
	T_EQ_INT(deleted, 1);
	T_EQ_INT(get(s, "", "old", rec, sizeof(rec)), STORE_ENOTFOUND);
	T_EQ_INT(get(s, "sensor-a", "k1", rec, sizeof(rec)), 0);
	T_EQ_INT(store_idem_prune(s, 6000, &deleted), 0);
	T_EQ_INT(deleted, 1);
	T_EQ_INT(get(s, "sensor-a", "k1", rec, sizeof(rec)), STORE_ENOTFOUND);
	store_close(s);
	return t_done();
}
