/*
 * probe.c - an active TLS probe: connect, hand-shake with OpenSSL while
 * accepting any certificate (this observes what a server presents; it
 * does not trust it) and describe the certificates it sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"

#define PROBE_CHAIN_MAX 16

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* OpenSSL's error queue drained into one message. */
static void ssl_errmsg(char *out, size_t cap, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[200] = "";
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(out, cap, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	int64_t left = deadline - mono_ms();
	if (left <= 0)
		return 0;
	struct pollfd p = {.fd = fd, .events = ev};
	int r;
	do {
		r = poll(&p, 1, (int)left);
	} while (r < 0 && errno == EINTR);
	return r;
}

static int tcp_connect(const struct sockaddr *sa, socklen_t salen, int timeout_ms,
                       struct ingest_probe_result *r)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(r->error, sizeof(r->error), "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) != 0 && errno != EINPROGRESS) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	int w = wait_fd(fd, POLLOUT, mono_ms() + timeout_ms);
	if (w <= 0) {
		snprintf(r->error, sizeof(r->error), "connect: no answer within %d ms", timeout_ms);
		close(fd);
		return -1;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr != 0) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(soerr));
		close(fd);
		return -1;
	}
	return fd;
}

static int cert_fill(X509 *x, struct store_cert_meta *m)
{
	unsigned char *der = NULL;
	int dl = i2d_X509(x, &der);
	if (dl <= 0)
		return STORE_EBADCERT;
	int err = ingest_x509_der(der, (size_t)dl, m);
	OPENSSL_free(der);
	return err;
}

static int handshake(SSL *ssl, int fd, int timeout_ms, struct ingest_probe_result *r)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		ERR_clear_error();
		int rc = SSL_connect(ssl);
		if (rc == 1)
			return 0;
		int e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int w = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w <= 0) {
				snprintf(r->error, sizeof(r->error),
				         "no TLS handshake answer within %d ms (not a TLS port?)",
				         timeout_ms);
				ERR_clear_error();
				return -1;
			}
			continue;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			snprintf(r->error, sizeof(r->error),
			         "connection closed during the TLS handshake%s%s (not a TLS port?)",
			         errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		char why[200];
		ssl_errmsg(why, sizeof(why), "handshake failed");
		/* a plain-text server answers with bytes that are no TLS record */
		if (strstr(why, "wrong version number") || strstr(why, "packet length too long") ||
		    strstr(why, "unknown protocol") || strstr(why, "record layer failure"))
			snprintf(r->error, sizeof(r->error),
			         "no TLS on this port: the server answered with something that is "
			         "not TLS (%s)",
			         why);
		else
			snprintf(r->error, sizeof(r->error), "%s", why);
		return -1;
	}
}

/* The address, port and SNI to probe, into r. */
static int probe_target(const void *sa, const char *sni, struct ingest_probe_result *r)
{
	const struct sockaddr *s = sa;
	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;
		r->ip[10] = r->ip[11] = 0xff;
		memcpy(r->ip + 12, &in->sin_addr, 4);
		r->port = ntohs(in->sin_port);
	} else if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;
		memcpy(r->ip, &in6->sin6_addr, 16);
		r->port = ntohs(in6->sin6_port);
	} else {
		snprintf(r->error, sizeof(r->error), "unsupported address family");
		return -1;
	}
	store_addr_format(r->ip, r->ip_text);
	if (sni != NULL && *sni != '\0')
		snprintf(r->sni, sizeof(r->sni), "%s", sni);
	return 0;
}

/* A client context that accepts whatever the server offers. */
static SSL_CTX *probe_ctx_new(struct ingest_probe_result *r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_errmsg(r->error, sizeof(r->error), "SSL_CTX_new");
		return NULL;
	}
	/* observation, not trust: old protocols, weak keys, any certificate */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
	return ctx;
}

/* After the handshake: the session's parameters, the leaf and the
 * chain. */
static int probe_collect(SSL *ssl, struct ingest_probe_result *r)
{
	r->time = (int64_t)time(NULL);
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_get_cipher_name(ssl));
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	if (leaf == NULL) {
		snprintf(r->error, sizeof(r->error), "the server sent no certificate");
		return -1;
	}
	if (cert_fill(leaf, &r->leaf) != 0) {
		ssl_errmsg(r->error, sizeof(r->error), "the server's certificate does not parse");
		return -1;
	}
	/* the client-side chain starts with the leaf */
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	int n = chain ? sk_X509_num(chain) : 0;
	if (n > 1) {
		size_t want = (size_t)(n - 1) < PROBE_CHAIN_MAX ? (size_t)(n - 1) : PROBE_CHAIN_MAX;
		r->chain = calloc(want, sizeof(*r->chain));
		for (size_t i = 0; r->chain != NULL && i < want; i++)
			if (cert_fill(sk_X509_value(chain, (int)i + 1), &r->chain[r->nchain]) == 0)
				r->nchain++;
	}
	return 0;
}

int ingest_probe(const void *sa, size_t salen, const char *sni, int timeout_ms,
                 struct ingest_probe_result *r)
{
	memset(r, 0, sizeof(*r));
	if (probe_target(sa, sni, r) != 0)
		return -1;
	int fd = tcp_connect(sa, (socklen_t)salen, timeout_ms, r);
	if (fd < 0)
		return -1;
	int ret = -1;
	SSL_CTX *ctx = probe_ctx_new(r);
	if (ctx == NULL)
		goto close_fd;
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL) {
		ssl_errmsg(r->error, sizeof(r->error), "SSL_new");
		goto free_ctx;
	}
	SSL_set_fd(ssl, fd);
	if (r->sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, r->sni) != 1) {
		ssl_errmsg(r->error, sizeof(r->error), "cannot set SNI");
		goto free_ssl;
	}
	if (handshake(ssl, fd, timeout_ms, r) != 0 || probe_collect(ssl, r) != 0)
		goto free_ssl;
	ret = 0;
	SSL_shutdown(ssl);
free_ssl:
	SSL_free(ssl);
free_ctx:
	SSL_CTX_free(ctx);
close_fd:
	close(fd);
	ERR_clear_error();
	return ret;
}

void ingest_probe_result_free(struct ingest_probe_result *r)
{
	ingest_cert_meta_free(&r->leaf);
	for (size_t i = 0; i < r->nchain; i++)
		ingest_cert_meta_free(&r->chain[i]);
	free(r->chain);
	r->chain = NULL;
	r->nchain = 0;
}
