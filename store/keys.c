/*
 * keys.c - certificates by public key, by normalised subject DN and by
 * issuer DN + serial: the normalisations, the index writes cert.c calls
 * while it merges metadata, and the reads the pivot engine and lookups use.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/ch.h"
#include "store/store_internal.h"

/* ---- normalisation -------------------------------------------------------- */

#define DN_MAX_RDNS 32
#define DN_VALUE_MAX 256

struct dn_part {
	char attr[32];
	char val[DN_VALUE_MAX];
};

/* Attribute names as sources spell them differently. */
static void attr_canon(char *a)
{
	for (char *p = a; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (strcmp(a, "E") == 0 || strcmp(a, "EMAIL") == 0)
		memcpy(a, "EMAILADDRESS", 13);
	else if (strcmp(a, "S") == 0 || strcmp(a, "STATEORPROVINCENAME") == 0)
		memcpy(a, "ST", 3);
}

/* One RDN component "attr=value" of s[0..n) into part: the value
 * unescaped (\, \+ \\ \XX), unquoted, trimmed, inner white space runs
 * made one space, lower-cased. */
static int dn_part_parse(const char *s, size_t n, struct dn_part *part)
{
	const char *eq = memchr(s, '=', n);
	if (eq == NULL)
		return STORE_EBADNAME;
	size_t al = (size_t)(eq - s), b = 0;
	while (b < al && s[b] == ' ')
		b++;
	while (al > b && s[al - 1] == ' ')
		al--;
	if (al == b || al - b >= sizeof(part->attr))
		return STORE_EBADNAME;
	memcpy(part->attr, s + b, al - b);
	part->attr[al - b] = '\0';
	attr_canon(part->attr);
	size_t o = 0;
	bool space = false;
	for (size_t i = (size_t)(eq - s) + 1; i < n; i++) {
		char c = s[i];
		if (c == '"')
			continue;
		if (c == '\\' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hx[3] = {s[i + 1], s[i + 2], 0};
			c = (char)strtol(hx, NULL, 16);
			i += 2;
		} else if (c == '\\' && i + 1 < n) {
			c = s[++i];
		}
		if (isspace((unsigned char)c)) {
			space = o > 0;
			continue;
		}
		if (o + 2 >= sizeof(part->val))
			return STORE_ETOOLONG;
		if (space)
			part->val[o++] = ' ';
		space = false;
		part->val[o++] = (char)tolower((unsigned char)c);
	}
	part->val[o] = '\0';
	return 0;
}

static int dn_part_cmp(const void *a, const void *b)
{
	const struct dn_part *x = a, *y = b;
	int d = strcmp(x->attr, y->attr);
	return d != 0 ? d : strcmp(x->val, y->val);
}

/* Split s at unescaped separators (',' and '+', or '/' in the slash
 * form) into parts; *np receives their number. */
static int dn_split(const char *s, size_t n, struct dn_part *parts, size_t *np)
{
	bool slash = n > 0 && s[0] == '/';
	size_t i = slash ? 1 : 0, start = i;
	*np = 0;
	for (; i <= n; i++) {
		bool end = i == n;
		if (!end && s[i] == '\\') {
			i++;
			continue;
		}
		bool sep = end || (slash ? s[i] == '/' : (s[i] == ',' || s[i] == '+'));
		if (!sep)
			continue;
		size_t l = i - start;
		const char *p = s + start;
		start = i + 1;
		while (l > 0 && *p == ' ') {
			p++;
			l--;
		}
		if (l == 0)
			continue;
		if (*np == DN_MAX_RDNS)
			return STORE_ETOOLONG;
		int err = dn_part_parse(p, l, &parts[*np]);
		if (err != 0)
			return err;
		(*np)++;
	}
	return *np == 0 ? STORE_EBADNAME : 0;
}

/* Append s to out at *o, escaping ',', '+', '=' and '\'. */
static int dn_put(char *out, size_t cap, size_t *o, const char *s, bool esc)
{
	for (; *s; s++) {
		bool e = esc && (*s == ',' || *s == '+' || *s == '=' || *s == '\\');
		if (*o + (e ? 2 : 1) >= cap)
			return STORE_ETOOLONG;
		if (e)
			out[(*o)++] = '\\';
		out[(*o)++] = *s;
	}
	out[*o] = '\0';
	return 0;
}

int store_dn_norm(const char *in, size_t len, char *out)
{
	struct dn_part *parts = malloc(DN_MAX_RDNS * sizeof(*parts));
	if (parts == NULL)
		return -ENOMEM;
	size_t np, o = 0;
	int err = dn_split(in, len, parts, &np);
	if (err == 0)
		qsort(parts, np, sizeof(*parts), dn_part_cmp);
	out[0] = '\0';
	for (size_t i = 0; i < np && err == 0; i++) {
		if (i > 0)
			err = dn_put(out, STORE_DN_BUF, &o, ",", false);
		if (err == 0)
			err = dn_put(out, STORE_DN_BUF, &o, parts[i].attr, false);
		if (err == 0)
			err = dn_put(out, STORE_DN_BUF, &o, "=", false);
		if (err == 0)
			err = dn_put(out, STORE_DN_BUF, &o, parts[i].val, true);
	}
	free(parts);
	return err;
}

int store_serial_norm(const char *in, size_t len, char *out)
{
	size_t o = 0;
	if (len > 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
		in += 2;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ':' || c == ' ' || c == '-')
			continue;
		if (!isxdigit((unsigned char)c))
			return STORE_EBADHASH;
		if (o == 0 && c == '0')
			continue; /* leading zeros: the integer, not its encoding */
		if (o + 1 >= STORE_SERIAL_BUF)
			return STORE_ETOOLONG;
		out[o++] = (char)toupper((unsigned char)c);
	}
	bool any = false;
	for (size_t i = 0; i < len && !any; i++)
		any = isxdigit((unsigned char)in[i]);
	if (!any)
		return STORE_EBADHASH;
	if (o == 0)
		out[o++] = '0';
	out[o] = '\0';
	return 0;
}

/* ---- index keys ------------------------------------------------------------- */

/* The serialcert key: serial, 0x00, issuer (cut to fit LMDB's key limit:
 * a lookup cuts the same way).  Returns its length, or 0 when the serial
 * does not normalise.  An issuer of NULL gives the serial's prefix. */
static size_t serial_key(const char *serial, size_t serl, const char *issuer, size_t il,
                         uint8_t out[SCHEMA_KEY_MAX])
{
	char sn[STORE_SERIAL_BUF], in[STORE_DN_BUF];
	if (store_serial_norm(serial, serl, (char *)sn) != 0)
		return 0;
	size_t l = strlen(sn);
	memcpy(out, sn, l);
	out[l++] = 0;
	if (issuer == NULL)
		return l;
	if (store_dn_norm(issuer, il, in) != 0)
		in[0] = '\0';
	size_t n = strlen(in);
	if (n > SCHEMA_KEY_MAX - l)
		n = SCHEMA_KEY_MAX - l;
	memcpy(out + l, in, n);
	return l + n;
}

/* ---- writing ---------------------------------------------------------------- */

static void ref_index_op(struct store_wtxn *w, int db, const void *key, size_t klen,
                         const uint8_t ref[SCHEMA_CERTREF_LEN], bool del)
{
	MDB_val k = {klen, (void *)key}, v = {SCHEMA_CERTREF_LEN, (void *)ref};
	if (del)
		w_del(w, db, &k, &v);
	else
		w_put(w, db, &k, &v, MDB_NODUPDATA);
}

void keys_index_meta(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                     const char *subject, size_t sl, const char *issuer, size_t il,
                     const char *serial, size_t serl, bool del)
{
	char dn[STORE_DN_BUF];
	if (sl > 0 && store_dn_norm(subject, sl, dn) == 0)
		ref_index_op(w, DB_SUBJCERT, dn, strlen(dn), ref, del);
	uint8_t sk[SCHEMA_KEY_MAX];
	size_t skl = serl > 0 ? serial_key(serial, serl, issuer, il, sk) : 0;
	if (skl > 0)
		ref_index_op(w, DB_SERIALCERT, sk, skl, ref, del);
}

void keys_put_key(struct store_wtxn *w, const uint8_t ref[SCHEMA_CERTREF_LEN],
                  const uint8_t key[32])
{
	MDB_val k = {SCHEMA_CERTREF_LEN, (void *)ref}, v;
	if (w_get(w, DB_CERTKEY, &k, &v) == 0 && v.mv_size == 32) {
		if (memcmp(v.mv_data, key, 32) == 0)
			return;
		/* one certificate has one key: an older record was wrong */
		uint8_t old[32];
		memcpy(old, v.mv_data, 32);
		ref_index_op(w, DB_KEYCERT, old, 32, ref, true);
	}
	MDB_val nv = {32, (void *)key};
	w_put(w, DB_CERTKEY, &k, &nv, 0);
	ref_index_op(w, DB_KEYCERT, key, 32, ref, false);
}

void keys_join(struct store_wtxn *w, const uint8_t from[SCHEMA_CERTREF_LEN],
               const uint8_t to[SCHEMA_CERTREF_LEN])
{
	MDB_val k = {SCHEMA_CERTREF_LEN, (void *)from}, v;
	if (w_get(w, DB_CERTKEY, &k, &v) != 0 || v.mv_size != 32)
		return;
	uint8_t key[32];
	memcpy(key, v.mv_data, 32);
	w_del(w, DB_CERTKEY, &k, NULL);
	ref_index_op(w, DB_KEYCERT, key, 32, from, true);
	keys_put_key(w, to, key);
}

/* ---- reading ---------------------------------------------------------------- */

int store_cert_key(store_rtxn_t *r, const struct store_cert_ref *ref, uint8_t key[32])
{
	STORE_CH_READ(r, store_ch_cert_key, ref, key);
	if (r->s->no_keys)
		return STORE_ENOTFOUND;
	uint8_t rb[SCHEMA_CERTREF_LEN];
	certref_enc(ref, rb);
	MDB_val k = {sizeof(rb), rb}, v;
	int rc = mdb_get(r->txn, r->s->dbi[DB_CERTKEY], &k, &v);
	if (rc != 0)
		return store_lmdb_err(rc, "certkey");
	if (v.mv_size != 32)
		return STORE_ECORRUPT;
	memcpy(key, v.mv_data, 32);
	return 0;
}

/* Every certificate under key (exact, or a prefix when prefix). */
static int refs_walk(store_rtxn_t *r, int db, const void *key, size_t klen, bool prefix,
                     store_ref_cb cb, void *ctx)
{
	if (r->s->no_keys || klen == 0)
		return 0;
	struct scan sc;
	int ret = 0;
	SCAN_PREFIX(&sc, r->txn, r->s->dbi[db], key, klen, klen)
	{
		if (!prefix && sc.k.mv_size != klen)
			break;
		if (sc.v.mv_size != SCHEMA_CERTREF_LEN) {
			ret = STORE_ECORRUPT;
			break;
		}
		struct store_cert_ref ref;
		certref_dec(sc.v.mv_data, &ref);
		ret = cb(&ref, ctx);
		if (ret != 0)
			break;
	}
	return walk_done(scan_end(&sc, ret, "walk"));
}

int store_certs_by_key(store_rtxn_t *r, const uint8_t key[32], store_ref_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_certs_by_key, key, cb, ctx);
	return refs_walk(r, DB_KEYCERT, key, 32, false, cb, ctx);
}

int store_certs_by_subject(store_rtxn_t *r, const char *dn, store_ref_cb cb, void *ctx)
{
	STORE_CH_READ(r, store_ch_certs_by_subject, dn, cb, ctx);
	return refs_walk(r, DB_SUBJCERT, dn, strlen(dn), false, cb, ctx);
}

int store_certs_by_serial(store_rtxn_t *r, const char *serial, const char *issuer, store_ref_cb cb,
                          void *ctx)
{
	STORE_CH_READ(r, store_ch_certs_by_serial, serial, issuer, cb, ctx);
	uint8_t sk[SCHEMA_KEY_MAX];
	size_t l = serial_key(serial, strlen(serial), issuer, issuer ? strlen(issuer) : 0, sk);
	if (l == 0)
		return STORE_EBADHASH;
	return refs_walk(r, DB_SERIALCERT, sk, l, issuer == NULL, cb, ctx);
}

/* The duplicates of key in a DUPSORT table (mdb_cursor_count). */
static int dup_count(store_rtxn_t *r, int db, const void *key, size_t klen, uint64_t *n)
{
	*n = 0;
	if (r->s->no_keys || klen == 0)
		return 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(r->txn, r->s->dbi[db], &cur);
	if (rc != 0)
		return store_lmdb_err(rc, "count");
	MDB_val k = {klen, (void *)key}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	size_t c = 0;
	if (rc == 0)
		rc = mdb_cursor_count(cur, &c);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_lmdb_err(rc, "count");
	*n = c;
	return 0;
}

int store_prev_key_certs(store_rtxn_t *r, const uint8_t key[32], uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_key_certs, key, n);
	return dup_count(r, DB_KEYCERT, key, 32, n);
}

int store_prev_subject_certs(store_rtxn_t *r, const char *dn, uint64_t *n)
{
	STORE_CH_READ(r, store_ch_prev_subject_certs, dn, n);
	return dup_count(r, DB_SUBJCERT, dn, strlen(dn), n);
}
