/*
 * files.c - ingesting files, directories and stdin; gzip through zlib.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/ingest_internal.h"

#define READ_CHUNK (256 * 1024)

#define CERTFILE_MAX (64u << 20) /* a certificate file read whole */

/* After gzread returned 0: the end of the input, or a cut (truncated)
 * or corrupt gzip stream, which zlib tells only now.  Reports the latter
 * (an unreadable input: exit 2) and returns true. */
static bool gz_cut(gzFile gz, const char *name, uint64_t line, struct ingest_summary *sum)
{
	int zerr;
	const char *msg = gzerror(gz, &zerr);
	if (zerr == Z_OK)
		return false;
	fprintf(stderr,
	        "infrapivot: %s: the compressed input is cut or corrupt after line %llu (%s): "
	        "what follows is lost\n",
	        name, (unsigned long long)line, msg);
	sum->unreadable++;
	return true;
}

/* A PEM/DER certificate file: read it whole (bounded), then parse. */
static int ingest_one_certfile(ingest_stream_t *st, gzFile gz, const char *name, const char *first,
                               size_t nfirst, struct ingest_summary *sum)
{
	size_t cap = nfirst + READ_CHUNK, len = nfirst;
	uint8_t *all = malloc(cap);
	if (all == NULL) {
		gzclose(gz);
		return -ENOMEM;
	}
	memcpy(all, first, nfirst);
	for (;;) {
		if (len == cap) {
			if (cap >= CERTFILE_MAX) {
				fprintf(stderr,
				        "infrapivot: %s: a certificate file larger than %u "
				        "bytes: not read\n",
				        name, CERTFILE_MAX);
				sum->unreadable++;
				free(all);
				gzclose(gz);
				return 0;
			}
			uint8_t *na = realloc(all, cap * 2);
			if (na == NULL) {
				free(all);
				gzclose(gz);
				return -ENOMEM;
			}
			all = na;
			cap *= 2;
		}
		int n = gzread(gz, all + len, (unsigned)(cap - len));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	bool cut = gz_cut(gz, name, 0, sum);
	gzclose(gz);
	if (cut) {
		free(all);
		return 0;
	}
	struct stat sb;
	int64_t mtime = (int64_t)time(NULL);
	if (strcmp(name, "<stdin>") != 0 && stat(name, &sb) == 0)
		mtime = (int64_t)sb.st_mtime;
	int err = ingest_certfile(st, name, all, len, mtime);
	free(all);
	return err;
}

/* Open path (or stdin for "-") through zlib; *size is its size on
 * disk, *fd the file's own descriptor (-1 for stdin), which reads a
 * plain file on.  NULL when it cannot be read (counted, message printed). */
static gzFile input_open(const char *path, uint64_t *size, int *fd, struct ingest_summary *sum)
{
	gzFile gz = NULL;
	*size = 0;
	*fd = -1;
	if (strcmp(path, "-") == 0) {
		gz = gzdopen(dup(0), "rb");
	} else {
		struct stat sb;
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd >= 0 && fstat(*fd, &sb) == 0)
			*size = (uint64_t)sb.st_size;
		if (*fd >= 0)
			gz = gzdopen(dup(*fd), "rb");
	}
	if (gz == NULL) {
		fprintf(stderr, "infrapivot: cannot read %s: %s\n", path, strerror(errno));
		sum->unreadable++;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return NULL;
	}
	/* zlib reads into the caller's buffer only when asked for twice its
	 * own buffer's size (a gzip file then decompresses there) */
	gzbuffer(gz, READ_CHUNK / 2);
	return gz;
}

/* The rest of a plain file, past what zlib has delivered, with read(2):
 * zlib would copy every byte through its own buffer. */
static int feed_plain(ingest_stream_t *st, int fd, const char *path, char *buf,
                      struct ingest_summary *sum)
{
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "infrapivot: %s: read error after line %llu: %s\n", path,
			        (unsigned long long)ingest_stream_line(st), strerror(errno));
			sum->unreadable++;
			return 0;
		}
		if (n == 0)
			return 0;
		int err = ingest_stream_feed(st, buf, (size_t)n);
		if (err != 0)
			return err;
	}
}

/* Feed the rest of gz to the stream; first is what was read already. */
static int feed_gz(ingest_stream_t *st, gzFile gz, int fd, const char *path, char *buf, int first,
                   struct ingest_summary *sum)
{
	int err = 0;
	for (;;) {
		int n = first;
		first = -2;
		if (n == -2 && fd >= 0 && gzdirect(gz)) {
			z_off_t at = gztell(gz);
			if (at >= 0 && lseek(fd, (off_t)at, SEEK_SET) == (off_t)at)
				return feed_plain(st, fd, path, buf, sum);
		}
		if (n == -2)
			n = gzread(gz, buf, READ_CHUNK);
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			fprintf(stderr, "infrapivot: %s: read error after line %llu: %s\n", path,
			        (unsigned long long)ingest_stream_line(st),
			        zerr == Z_ERRNO ? strerror(errno) : msg);
			sum->unreadable++;
			break;
		}
		if (n == 0) {
			gz_cut(gz, path, ingest_stream_line(st), sum);
			break;
		}
		err = ingest_stream_feed(st, buf, (size_t)n);
		if (err != 0)
			break;
	}
	return err;
}

static int ingest_one(ingest_stream_t *st, const char *path, struct ingest_summary *sum, char *buf)
{
	uint64_t size;
	int fd;
	gzFile gz = input_open(path, &size, &fd, sum);
	if (gz == NULL)
		return 0;
	/* a .gz file's size is compressed bytes: progress then counts the
	 * compressed offset */
	bool compressed = !gzdirect(gz);
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	int first = gzread(gz, buf, READ_CHUNK);
	const char *fmt = ingest_stream_format(st);
	if (first > 0 && (strcmp(fmt, "x509") == 0 ||
	                  (strcmp(fmt, "auto") == 0 &&
	                   ingest_certfile_detect((const uint8_t *)buf, (size_t)first)))) {
		if (fd >= 0)
			close(fd);
		return ingest_one_certfile(st, gz, name, buf, (size_t)first, sum);
	}
	ingest_stream_begin(st, name, NULL, compressed ? 0 : size);
	int err = feed_gz(st, gz, fd, path, buf, first, sum);
	gzclose(gz);
	if (fd >= 0)
		close(fd);
	if (err == 0)
		err = ingest_stream_end(st);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of directory d (no dot files) as paths under path, in
 * name order.  The caller frees them. */
static size_t dir_entries(DIR *d, const char *path, char ***out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (nn == NULL)
				break;
			names = nn;
		}
		size_t l = strlen(path) + strlen(de->d_name) + 2;
		names[n] = malloc(l);
		if (names[n] == NULL)
			break;
		snprintf(names[n], l, "%s/%s", path, de->d_name);
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static int ingest_path(ingest_stream_t *st, const char *path, struct ingest_summary *sum, char *buf,
                       int depth)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return ingest_one(st, path, sum, buf);
	if (depth > 16)
		return 0;
	DIR *d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "infrapivot: cannot read %s: %s\n", path, strerror(errno));
		sum->unreadable++;
		return 0;
	}
	char **names;
	size_t n = dir_entries(d, path, &names);
	closedir(d);
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		if (err == 0)
			err = ingest_path(st, names[i], sum, buf, depth + 1);
		free(names[i]);
	}
	free(names);
	return err;
}

int ingest_files(store_t *s, char *const *paths, int n, const struct ingest_opts *o,
                 struct ingest_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	ingest_stream_t *st;
	char *buf;
	int err = ingest_stream_open(&st, &buf, READ_CHUNK, s, o);
	if (err != 0)
		return err;
	struct ingest_summary local = {0};
	for (int i = 0; i < n && err == 0; i++)
		err = ingest_path(st, paths[i], &local, buf, 0);
	err = ingest_stream_close(st, buf, sum, err);
	sum->unreadable += local.unreadable;
	return err;
}
