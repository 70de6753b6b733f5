/*
 * x509.c - certificate metadata with OpenSSL.
 */
#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "util/time.h"

/* OpenSSL errors are drained here so they never leak into a later call. */
static int ssl_err(int code)
{
	ERR_clear_error();
	return code;
}

static int64_t asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return util_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
	                            (unsigned)tm.tm_mday) *
	           86400 +
	       tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static void name_str(const X509_NAME *n, char *out, size_t cap)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return;
	/* RFC 2253 order is reversed; the OpenSSL one-line form with ", "
	 * separators matches what Suricata prints (CN=..., O=..., C=...). */
	X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SPC_EQ);
	char *data;
	long len = BIO_get_mem_data(b, &data);
	if (len < 0)
		len = 0;
	if ((size_t)len >= cap)
		len = (long)cap - 1;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(b);
}

static void fill_from_x509(X509 *x, struct store_cert_meta *m)
{
	name_str(X509_get_subject_name(x), m->subject, sizeof(m->subject));
	name_str(X509_get_issuer_name(x), m->issuer, sizeof(m->issuer));
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (bn != NULL) {
		char *hex = BN_bn2hex(bn);
		if (hex != NULL) {
			snprintf(m->serial, sizeof(m->serial), "%s", hex);
			OPENSSL_free(hex);
		}
		BN_free(bn);
	}
	m->not_before = asn1_epoch(X509_get0_notBefore(x));
	m->not_after = asn1_epoch(X509_get0_notAfter(x));
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	m->san_dns_len = 0;
	m->san_ip_len = 0;
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
			size_t l = (size_t)ASN1_STRING_length(g->d.dNSName);
			if (l == 0 || memchr(s, 0, l) != NULL ||
			    m->san_dns_len + l + 1 > sizeof(m->san_dns))
				continue;
			memcpy(m->san_dns + m->san_dns_len, s, l);
			m->san_dns_len += l;
			m->san_dns[m->san_dns_len++] = '\0';
		} else if (g->type == GEN_IPADD) {
			const unsigned char *s = ASN1_STRING_get0_data(g->d.iPAddress);
			int l = ASN1_STRING_length(g->d.iPAddress);
			uint8_t a[16] = {0};
			if (l == 4) {
				a[10] = a[11] = 0xff;
				memcpy(a + 12, s, 4);
			} else if (l == 16) {
				memcpy(a, s, 16);
			} else {
				continue;
			}
			char txt[STORE_ADDR_BUF];
			store_addr_format(a, txt);
			size_t tl = strlen(txt);
			if (m->san_ip_len + tl + 1 > sizeof(m->san_ip))
				continue;
			memcpy(m->san_ip + m->san_ip_len, txt, tl + 1);
			m->san_ip_len += tl + 1;
		}
	}
	GENERAL_NAMES_free(gens);
}

/* The key pivot: SHA-256 of the SubjectPublicKeyInfo as DER (what crt.sh
 * calls the SPKI SHA-256). */
static void spki_hash(X509 *x, struct store_cert_meta *m)
{
	unsigned char *spki = NULL;
	int sl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	unsigned int hl;
	m->has_key = sl > 0 && EVP_Digest(spki, (size_t)sl, m->key, &hl, EVP_sha256(), NULL) == 1;
	OPENSSL_free(spki);
}

int ingest_x509_der(const uint8_t *der, size_t len, struct store_cert_meta *m)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return ssl_err(STORE_EBADCERT);
	int dl = i2d_X509(x, NULL);
	/* hash the DER as re-encoded: identical for a well-formed cert, and it
	 * ignores trailing garbage after the certificate */
	if (dl <= 0 || (size_t)(p - der) != (size_t)dl) {
		X509_free(x);
		return ssl_err(STORE_EBADCERT);
	}
	unsigned int hl;
	EVP_Digest(der, (size_t)dl, m->sha1, &hl, EVP_sha1(), NULL);
	EVP_Digest(der, (size_t)dl, m->sha256, &hl, EVP_sha256(), NULL);
	m->has_sha1 = m->has_sha256 = true;
	fill_from_x509(x, m);
	spki_hash(x, m);
	X509_free(x);
	m->der = malloc((size_t)dl);
	if (m->der != NULL) {
		memcpy(m->der, der, (size_t)dl);
		m->der_len = (size_t)dl;
	}
	return ssl_err(0);
}

int ingest_x509_pem(const char *text, size_t len, struct store_cert_meta *m, size_t *used)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *b = memmem(text, len, begin, sizeof(begin) - 1);
	if (b == NULL) {
		*used = len;
		return STORE_ENOTFOUND;
	}
	const char *e = memmem(b, len - (size_t)(b - text), end, sizeof(end) - 1);
	if (e == NULL) {
		*used = len;
		return STORE_EBADCERT;
	}
	e += sizeof(end) - 1;
	*used = (size_t)(e - text);
	BIO *bio = BIO_new_mem_buf(b, (int)(e - b));
	if (bio == NULL)
		return -ENOMEM;
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL)
		return ssl_err(STORE_EBADCERT);
	unsigned char *der = NULL;
	int dl = i2d_X509(x, &der);
	X509_free(x);
	if (dl <= 0)
		return ssl_err(STORE_EBADCERT);
	int err = ingest_x509_der(der, (size_t)dl, m);
	OPENSSL_free(der);
	return err;
}

void ingest_cert_meta_free(struct store_cert_meta *m)
{
	if (m == NULL)
		return;
	free(m->der);
	m->der = NULL;
	m->der_len = 0;
}
