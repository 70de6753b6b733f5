/*
 * http_auth.c - API tokens: a file of "TOKEN ROLE [NAME]" lines, and the
 * token a request presents (Authorization: Bearer, Basic with the token as
 * the password, or the bare token, for CIRCL clients; X-API-Key is read by
 * the caller).
 *
 * Only SHA-256 digests of the tokens are kept.  A presented token is
 * hashed and compared with every entry using CRYPTO_memcmp, without
 * stopping at a match, so neither the position of a match nor the length
 * of a token shows in the time taken.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "service/http_internal.h"
#include "util/base64.h"

#define TOKENS_MAX 4096
#define TOKEN_MIN_LEN 16

struct svc_token {
	uint8_t digest[SHA256_DIGEST_LENGTH];
	enum svc_role role;
	char name[64];
};

struct svc_tokens {
	struct svc_token *v;
	size_t n;
};

const char *svc_role_name(enum svc_role r)
{
	switch (r) {
	case SVC_ROLE_READ:
		return "read";
	case SVC_ROLE_WRITE:
		return "write";
	case SVC_ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Next whitespace-separated field of line at *pos: start and length. */
static size_t field(const char *line, size_t *pos, const char **start)
{
	size_t i = *pos;
	while (line[i] != '\0' && is_space(line[i]))
		i++;
	*start = line + i;
	size_t b = i;
	while (line[i] != '\0' && !is_space(line[i]))
		i++;
	*pos = i;
	return i - b;
}

static int role_parse(const char *role, size_t rl, enum svc_role *out)
{
	if (rl == 4 && memcmp(role, "read", 4) == 0)
		*out = SVC_ROLE_READ;
	else if (rl == 5 && memcmp(role, "write", 5) == 0)
		*out = SVC_ROLE_WRITE;
	else if (rl == 5 && memcmp(role, "admin", 5) == 0)
		*out = SVC_ROLE_ADMIN;
	else
		return -1;
	return 0;
}

/* One line of a tokens file into e (the token only as its digest): 0, 1
 * for a blank or comment line, -1 with msg. */
static int token_line(const char *line, const char *where, struct svc_token *e, char *msg,
                      size_t msgcap)
{
	size_t pos = 0;
	const char *tok, *role, *name, *extra;
	size_t tl = field(line, &pos, &tok);
	if (tl == 0 || tok[0] == '#')
		return 1;
	size_t rl = field(line, &pos, &role);
	size_t nl = field(line, &pos, &name);
	size_t xl = field(line, &pos, &extra);
	if (rl == 0 || xl != 0) {
		snprintf(msg, msgcap, "%s: expected TOKEN ROLE [NAME]", where);
		return -1;
	}
	if (tl < TOKEN_MIN_LEN) {
		snprintf(msg, msgcap, "%s: token shorter than %d characters", where, TOKEN_MIN_LEN);
		return -1;
	}
	if (role_parse(role, rl, &e->role) != 0) {
		snprintf(msg, msgcap, "%s: unknown role '%.*s' (read, write or admin)", where,
		         (int)(rl > 20 ? 20 : rl), role);
		return -1;
	}
	SHA256((const unsigned char *)tok, tl, e->digest);
	snprintf(e->name, sizeof(e->name), "%.*s", (int)(nl > 63 ? 63 : nl), nl ? name : "");
	return 0;
}

static int token_add(struct svc_tokens *t, const struct svc_token *e, const char *path, char *msg,
                     size_t msgcap)
{
	if (t->n >= TOKENS_MAX) {
		snprintf(msg, msgcap, "%s: more than %d tokens", path, TOKENS_MAX);
		return -1;
	}
	struct svc_token *nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		snprintf(msg, msgcap, "out of memory");
		return -1;
	}
	t->v = nv;
	t->v[t->n++] = *e;
	return 0;
}

/* Every line of f into t; the secrets are wiped from the line buffer. */
static int tokens_read(FILE *f, const char *path, struct svc_tokens *t, char *msg, size_t msgcap)
{
	char line[1024], where[1100];
	unsigned lineno = 0;
	int err = 0;
	while (err == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(msg, msgcap, "%s: line too long", where);
			err = -1;
			break;
		}
		struct svc_token e = {0};
		err = token_line(line, where, &e, msg, msgcap);
		if (err == 0)
			err = token_add(t, &e, path, msg, msgcap);
		else if (err == 1)
			err = 0;
		OPENSSL_cleanse(line, sizeof(line));
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (err == 0 && t->n == 0) {
		snprintf(msg, msgcap, "%s: no tokens", path);
		err = -1;
	}
	return err;
}

int svc_tokens_load(const char *path, struct svc_tokens **out, char *msg, size_t msgcap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(msg, msgcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 0004) != 0)
		fprintf(stderr,
		        "infrapivot serve: warning: %s is world-readable "
		        "(chmod 600 it)\n",
		        path);
	struct svc_tokens *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		fclose(f);
		snprintf(msg, msgcap, "out of memory");
		return -1;
	}
	int err = tokens_read(f, path, t, msg, msgcap);
	fclose(f);
	if (err != 0) {
		svc_tokens_free(t);
		return err;
	}
	*out = t;
	return 0;
}

void svc_tokens_free(struct svc_tokens *t)
{
	if (t == NULL)
		return;
	if (t->v != NULL)
		OPENSSL_cleanse(t->v, t->n * sizeof(*t->v));
	free(t->v);
	free(t);
}

size_t svc_tokens_count(const struct svc_tokens *t)
{
	return t ? t->n : 0;
}

enum svc_role svc_tokens_check(const struct svc_tokens *t, const char *tok, size_t len)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)tok, len, d);
	unsigned role = SVC_ROLE_NONE;
	for (size_t i = 0; i < t->n; i++) {
		/* mask is all ones on a match, zero otherwise: no branch on the secret */
		unsigned eq = (unsigned)(CRYPTO_memcmp(d, t->v[i].digest, sizeof(d)) == 0);
		unsigned mask = 0u - eq;
		role |= (unsigned)t->v[i].role & mask;
	}
	OPENSSL_cleanse(d, sizeof(d));
	return (enum svc_role)role;
}

enum svc_role svc_tokens_check_name(const struct svc_tokens *t, const char *tok, size_t len,
                                    char *name, size_t cap)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)tok, len, d);
	unsigned role = SVC_ROLE_NONE;
	char got[sizeof(t->v[0].name)];
	memset(got, 0, sizeof(got));
	for (size_t i = 0; i < t->n; i++) {
		unsigned eq = (unsigned)(CRYPTO_memcmp(d, t->v[i].digest, sizeof(d)) == 0);
		unsigned mask = 0u - eq;
		role |= (unsigned)t->v[i].role & mask;
		for (size_t j = 0; j < sizeof(got); j++)
			got[j] = (char)((unsigned char)got[j] |
			                ((unsigned char)t->v[i].name[j] & (unsigned char)mask));
	}
	OPENSSL_cleanse(d, sizeof(d));
	got[sizeof(got) - 1] = '\0';
	if (cap > 0)
		snprintf(name, cap, "%s", got);
	return (enum svc_role)role;
}

/* Basic credentials "user:TOKEN" in base64: the token is the password (CIRCL
 * clients send their key that way; the user name is not checked). */
static const char *basic_token(const char *b64, char *buf, size_t cap, size_t *len)
{
	size_t dl;
	size_t n = strlen(b64);
	while (n > 0 && b64[n - 1] == ' ')
		n--;
	if (cap == 0 || util_base64_decode(b64, n, UTIL_B64_STD | UTIL_B64_PAD, (uint8_t *)buf,
	                                   cap - 1, &dl) != 0)
		return NULL;
	buf[dl] = '\0';
	char *colon = memchr(buf, ':', dl);
	/* RFC 7617: no control characters in user-id or password; a NUL would
	 * also cut the token short of its length */
	if (colon == NULL || memchr(buf, '\0', dl) != NULL) {
		OPENSSL_cleanse(buf, dl);
		return NULL;
	}
	*len = dl - (size_t)(colon + 1 - buf);
	return colon + 1;
}

const char *svc_auth_token(const char *auth, char *buf, size_t cap, size_t *len)
{
	const char *p;
	if (strncasecmp(auth, "Bearer ", 7) == 0) {
		p = auth + 7;
		while (*p == ' ')
			p++;
		*len = strlen(p);
		return p;
	}
	if (strchr(auth, ' ') == NULL) {
		/* a bare token: PyPDNS(auth_token=...) sends it as the whole value */
		*len = strlen(auth);
		return auth;
	}
	if (strncasecmp(auth, "Basic ", 6) != 0)
		return NULL;
	p = auth + 6;
	while (*p == ' ')
		p++;
	return basic_token(p, buf, cap, len);
}
