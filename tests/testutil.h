/*
 * testutil.h - the few checks every test program uses.  Each failed check
 * prints file:line and the values; t_done() prints "N passed, N failed"
 * and gives the exit status.
 */
#ifndef INFRAPIVOT_TESTUTIL_H
#define INFRAPIVOT_TESTUTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned t_pass, t_fail;

#define T_CHECK(cond)                                                                              \
	do {                                                                                       \
		if (cond) {                                                                        \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define T_EQ_INT(a, b)                                                                             \
	do {                                                                                       \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                            \
		if (t_a_ == t_b_) {                                                                \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
			        __LINE__, #a, #b, t_a_, t_b_);                                     \
		}                                                                                  \
	} while (0)

#define T_EQ_STR(a, b)                                                                             \
	do {                                                                                       \
		const char *t_a_ = (a), *t_b_ = (b);                                               \
		if (t_a_ != NULL && t_b_ != NULL && strcmp(t_a_, t_b_) == 0) {                     \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
			        __LINE__, #a, #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
		}                                                                                  \
	} while (0)

/* A fresh temporary directory (removed by t_cleanup). */
static char t_dir_buf[8][256];
static unsigned t_ndirs;
static inline const char *t_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *d = t_dir_buf[t_ndirs++ % 8];
	snprintf(d, 256, "%s/infrapivot-test-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(d) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return d;
}

static inline void t_cleanup(void)
{
	for (unsigned i = 0; i < t_ndirs && i < 8; i++) {
		char cmd[sizeof(t_dir_buf[0]) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%.255s'", t_dir_buf[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", t_dir_buf[i]);
	}
}

static inline int t_done(void)
{
	t_cleanup();
	printf("%u passed, %u failed\n", t_pass, t_fail);
	return t_fail == 0 && t_pass > 0 ? 0 : 1;
}

#endif
