/*
 * http_ui.c - GET / and GET /ui/...: the analyst's page (service/ui/),
 * served from the arrays the build embedded, with the security headers
 * every page response carries.  `serve --no-ui` answers 404 instead.
 * The page talks to the JSON API only; these routes need no token (the
 * page asks for one and sends it with each API call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_internal.h"
#include "service/http_ui.h"

/* No inline script or style, nothing from another origin, no framing. */
#define UI_CSP                                                                                     \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "    \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                \
	"form-action 'self'; frame-ancestors 'none'"

static const char *const ui_headers[] = {"Content-Security-Policy",
                                         UI_CSP,
                                         "X-Frame-Options",
                                         "DENY",
                                         "Referrer-Policy",
                                         "no-referrer",
                                         "Cross-Origin-Opener-Policy",
                                         "same-origin",
                                         "Cross-Origin-Resource-Policy",
                                         "same-origin",
                                         NULL};

const struct svc_ui_asset *svc_ui_find(const char *name)
{
	for (unsigned i = 0; i < svc_ui_nassets; i++)
		if (strcmp(svc_ui_assets[i].name, name) == 0)
			return &svc_ui_assets[i];
	return NULL;
}

/* The path under /ui/ the request names: "index.html" for / and /ui/. */
static bool ui_name(const struct svc_http_req *rq, char *out, size_t cap)
{
	unsigned n = svc_http_nargs(rq);
	if (n == 0) {
		snprintf(out, cap, "index.html");
		return true;
	}
	size_t o = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *seg = svc_http_arg(rq, i);
		int k = snprintf(out + o, cap - o, "%s%s", i ? "/" : "", seg);
		if (k < 0 || (size_t)k >= cap - o)
			return false;
		o += (size_t)k;
	}
	return true;
}

enum MHD_Result svc_http_ui(struct svc_http_req *rq)
{
	char name[128];
	const struct svc_ui_asset *a = NULL;
	/* query parameters (a link's ?seed=) are the page's, not ours */
	for (unsigned i = 0; i < rq->nparams; i++)
		rq->params[i].used = true;
	if (!rq->srv->conf.no_ui && ui_name(rq, name, sizeof(name)))
		a = svc_ui_find(name);
	if (a == NULL)
		return svc_http_error_h(rq, 404, "not_found", ui_headers, "no such route");
	char *buf = malloc(a->len ? a->len : 1);
	if (buf == NULL)
		return svc_http_error(rq, 500, "internal", "out of memory");
	memcpy(buf, a->data, a->len);
	return svc_http_send_h(rq, 200, a->ctype, buf, a->len, ui_headers);
}
