/*
 * certfile.c - PEM and DER certificate files: one certificate, a bundle
 * of PEM blocks, or (through files.c) directories of them.  Each
 * certificate is one "line" of the input: its metadata, and with
 * --ip/--port a sighting at the file's modification time.
 */
#include <string.h>

#include "ingest/ingest_internal.h"

bool ingest_certfile_detect(const uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (len - i >= 10 && memcmp(buf + i, "-----BEGIN", 10) == 0)
		return true;
	/* DER: a SEQUENCE with a long-form length */
	return len >= 4 && buf[0] == 0x30 && buf[1] >= 0x81 && buf[1] <= 0x84;
}

struct cert_unit {
	const uint8_t *der; /* DER input, or */
	const char *pem;    /* PEM text */
	size_t len;
	size_t used; /* PEM bytes consumed */
	int64_t mtime;
	bool done;
};

static int cert_one(struct ingest_ctx *c, void *arg)
{
	struct cert_unit *u = arg;
	struct store_obs *o = ingest_obs_new(c);
	struct store_cert_meta *m = o ? ingest_meta_new(c) : NULL;
	if (m == NULL)
		return ingest_reject(c, "out of memory");
	int err;
	if (u->der != NULL) {
		err = ingest_x509_der(u->der, u->len, m);
		u->used = u->len;
	} else {
		err = ingest_x509_pem(u->pem, u->len, m, &u->used);
	}
	if (err == STORE_ENOTFOUND)
		u->done = true;
	if (err != 0)
		return ingest_reject(c, "%s certificate: %s", u->der ? "DER" : "PEM",
		                     store_strerror(err));
	o->kind = STORE_OBS_CERT;
	o->cert.meta = m;
	o->cert.has_meta = true;
	o->time_first = u->mtime;
	o->time_last = u->mtime;
	if (c->opts->cert_ip != NULL) {
		if (store_addr_parse(c->opts->cert_ip, strlen(c->opts->cert_ip), o->cert.ip) != 0)
			return ingest_reject(c, "--ip %s is not an IP address", c->opts->cert_ip);
		o->cert.port = c->opts->cert_port ? c->opts->cert_port : 443;
		o->cert.sighting = true;
	}
	return INGEST_OK;
}

static int no_cert(struct ingest_ctx *c, void *arg)
{
	(void)arg;
	return ingest_reject(c, "no CERTIFICATE block in this file");
}

int ingest_certfile(ingest_stream_t *st, const char *name, const uint8_t *buf, size_t len,
                    int64_t mtime)
{
	int err = ingest_stream_begin(st, name, NULL, len);
	if (err != 0)
		return err;
	struct cert_unit u = {.mtime = mtime};
	bool pem = len > 0 && buf[0] != 0x30;
	if (!pem) {
		u.der = buf;
		u.len = len;
		err = ingest_stream_unit(st, 1, "(DER certificate)", cert_one, &u);
		return err != 0 ? err : ingest_stream_end(st);
	}
	const char *text = (const char *)buf;
	size_t off = 0, counted = 0;
	uint64_t line = 1;
	unsigned units = 0;
	while (off < len && err == 0) {
		const char *b = memmem(text + off, len - off, "-----BEGIN CERTIFICATE-----", 27);
		if (b == NULL)
			break;
		for (; counted < (size_t)(b - text); counted++)
			line += text[counted] == '\n';
		u.pem = b;
		u.len = len - (size_t)(b - text);
		u.used = 0;
		u.done = false;
		err = ingest_stream_unit(st, line, "-----BEGIN CERTIFICATE-----", cert_one, &u);
		units++;
		if (u.done || u.used == 0)
			break;
		off = (size_t)(b - text) + u.used;
	}
	if (err == 0 && units == 0)
		err = ingest_stream_unit(st, 1, "", no_cert, NULL);
	return err != 0 ? err : ingest_stream_end(st);
}
