/*
 * http_ui.h - the analyst's page: its files, embedded in the binary at
 * build time (service/ui/embed.c writes the table), and its handler.
 */
#ifndef INFRAPIVOT_HTTP_UI_H
#define INFRAPIVOT_HTTP_UI_H

#include <stddef.h>

/* One file of the page, served at /ui/NAME. */
struct svc_ui_asset {
	const char *name;  /* "app.js", "vendor/cytoscape.min.js" */
	const char *ctype; /* Content-Type */
	const unsigned char *data;
	size_t len;
};
extern const struct svc_ui_asset svc_ui_assets[];
extern const unsigned svc_ui_nassets;

/* The asset called name, NULL when there is none. */
const struct svc_ui_asset *svc_ui_find(const char *name);

#endif
