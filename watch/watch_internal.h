/*
 * watch_internal.h - helpers shared by the files of the watch module.
 */
#ifndef INFRAPIVOT_WATCH_INTERNAL_H
#define INFRAPIVOT_WATCH_INTERNAL_H

#include "watch/watch.h"

/* snprintf into a message buffer (cut short when it does not fit). */
void watch_msgf(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* now, or the clock when now is 0. */
int64_t watch_clock(int64_t now);

#endif
