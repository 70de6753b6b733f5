/*
 * follow.c - `ingest --follow FILE`: tail -F for sensor logs.
 *
 * Only whole lines are parsed; the position after the last parsed line
 * (device, inode, offset, line number) is committed with the records of
 * those lines in one transaction (ingest_stream_commit), so after a crash
 * or a restart nothing is lost and nothing is counted twice.  The stream
 * never writes a batch without the position (ingest_stream_set_position):
 * units close when full (the batch budget), when a sensor table fills, or
 * commit_ms after their oldest line was read, whichever comes first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define FOLLOW_CHUNK (256 * 1024)
#define FOLLOW_HEAD_MAX (64 * 1024) /* header lines re-read on resume */

/* The meta record: 'F' + absolute path -> struct follow_pos (LE). */
struct follow_pos {
	uint64_t dev, ino, offset, line;
};

struct follow {
	ingest_stream_t *st;
	const struct ingest_opts *o;
	char path[PATH_MAX];
	char key[PATH_MAX + 1];
	size_t klen;
	int fd;
	uint64_t dev, ino;
	uint64_t offset;    /* bytes of whole lines parsed */
	uint64_t committed; /* offset in the last commit */
	/* the stream's input byte base_bytes is the file's byte base_off (the
	 * header lines replayed on resume come first) */
	uint64_t base_off, base_bytes;
	double first_at; /* when the oldest uncommitted line was read; 0: none */
	char *pend;      /* bytes read after the last newline */
	size_t npend;
	char *buf;
};

void ingest_follow_opts_init(struct ingest_follow_opts *fo)
{
	memset(fo, 0, sizeof(*fo));
	fo->poll_ms = 200;
	fo->commit_ms = 1000;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The position record of every unit the stream hands over: the file
 * offset after its last whole line. */
static int put_position(void *arg, store_batch_t *sb, uint64_t bytes, uint64_t line)
{
	struct follow *f = arg;
	uint8_t val[32];
	put_le64(val, f->dev);
	put_le64(val + 8, f->ino);
	put_le64(val + 16, f->base_off + (bytes - f->base_bytes));
	put_le64(val + 24, line);
	struct store_meta_put mp = {f->key, f->klen, val, sizeof(val)};
	return store_batch_meta(sb, &mp);
}

/* Make everything read so far durable, with its position. */
static int commit(struct follow *f)
{
	int err = ingest_stream_commit(f->st, NULL, 0);
	if (err == 0)
		f->committed = f->offset;
	f->first_at = 0;
	return err;
}

static int begin_input(struct follow *f, uint64_t line)
{
	int err = ingest_stream_begin(f->st, f->path, NULL, 0);
	if (err == 0)
		ingest_stream_set_line(f->st, line);
	f->npend = 0;
	f->base_off = f->base_bytes = 0;
	return err;
}

/* Feed the whole lines of f->pend.  Units the stream closes on its own
 * (full, or a full sensor table) carry their position (put_position). */
static int feed_lines(struct follow *f)
{
	char *nl = f->npend > 0 ? memrchr(f->pend, '\n', f->npend) : NULL;
	size_t n = nl != NULL ? (size_t)(nl - f->pend) + 1 : 0;
	int err = n > 0 ? ingest_stream_feed(f->st, f->pend, n) : 0;
	if (err != 0)
		return err;
	f->offset += n;
	memmove(f->pend, f->pend + n, f->npend - n);
	f->npend -= n;
	/* a line longer than the limit: let the stream reject it in pieces
	 * rather than buffer it */
	if (f->npend > f->o->max_line) {
		err = ingest_stream_feed(f->st, f->pend, f->npend);
		f->offset += f->npend;
		f->npend = 0;
	}
	return err;
}

/* On resume in the middle of a file, re-read the header lines at its top
 * (Zeek #fields...) without counting them, so the format knows the
 * columns. */
static int replay_headers(struct follow *f)
{
	ssize_t n = pread(f->fd, f->buf, FOLLOW_HEAD_MAX, 0);
	if (n <= 0)
		return 0;
	size_t i = 0;
	while (i < (size_t)n && f->buf[i] == '#') {
		char *nl = memchr(f->buf + i, '\n', (size_t)n - i);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - (f->buf + i)) + 1;
		int err = ingest_stream_feed(f->st, f->buf + i, len);
		if (err != 0)
			return err;
		i += len;
	}
	f->base_bytes = i;
	return 0;
}

static int open_file(struct follow *f, uint64_t offset, uint64_t line)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->dev = (uint64_t)sb.st_dev;
	f->ino = (uint64_t)sb.st_ino;
	if (offset > (uint64_t)sb.st_size) {
		offset = 0; /* truncated while we were away */
		line = 0;
	}
	f->offset = offset;
	f->committed = offset;
	int err = begin_input(f, 0);
	f->base_off = offset;
	if (err == 0 && offset > 0)
		err = replay_headers(f);
	ingest_stream_set_line(f->st, line);
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	return err;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* a signal cuts it short: fine */
}

/* The file at path is no longer ours (rotated) or shrank (truncated)? */
static int check_rotation(struct follow *f, bool *switched)
{
	*switched = false;
	struct stat sb, cur;
	if (fstat(f->fd, &cur) == 0 && (uint64_t)cur.st_size < f->offset + f->npend) {
		/* truncated: start over on the same file */
		ingest_stream_end(f->st);
		f->offset = 0;
		f->committed = (uint64_t)-1;
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return -errno;
		*switched = true;
		return begin_input(f, 0);
	}
	if (stat(f->path, &sb) != 0)
		return 0; /* moved away, new one not there yet: keep reading */
	if ((uint64_t)sb.st_ino == f->ino && (uint64_t)sb.st_dev == f->dev)
		return 0;
	/* rotated: the old file is drained (we are at its end); a last line
	 * without newline counts as a line */
	if (f->npend > 0) {
		int err = ingest_stream_feed(f->st, f->pend, f->npend);
		if (err != 0)
			return err;
		f->offset += f->npend;
		f->npend = 0;
	}
	int err = ingest_stream_end(f->st);
	if (err == 0)
		err = commit(f); /* the old file's last lines, with its position */
	if (err != 0)
		return err;
	err = open_file(f, 0, 0);
	if (err != 0)
		return err;
	f->committed = (uint64_t)-1; /* a new file: commit its position */
	*switched = true;
	return 0;
}

/* New data in f->pend: parse its whole lines; commit fo->commit_ms after
 * the oldest line not yet committed was read (units that fill up are
 * written on their own before that). */
static int on_data(struct follow *f, const struct ingest_follow_opts *fo)
{
	double now = mono();
	if (f->first_at == 0)
		f->first_at = now;
	int err = feed_lines(f);
	if (err == 0 && now - f->first_at >= fo->commit_ms / 1000.0)
		err = commit(f);
	return err;
}

/* Nothing new (or stopping): make what we have durable, then stop (set
 * *done) or look for a rotation and wait. */
static int on_idle(struct follow *f, const struct ingest_follow_opts *fo, bool stopping,
                   double last_data, bool *done)
{
	*done = true;
	if (f->offset != f->committed || ingest_stream_pending(f->st) > 0) {
		int err = commit(f);
		if (err != 0)
			return err;
	}
	if (stopping)
		return 0;
	if (fo->exit_idle_ms > 0 && (mono() - last_data) * 1000 >= fo->exit_idle_ms)
		return 0;
	bool switched;
	int err = check_rotation(f, &switched);
	if (err != 0)
		return err;
	*done = false;
	if (!switched)
		sleep_ms(fo->poll_ms);
	return 0;
}

/* Read and parse until stopped, idle long enough, or an error. */
static int follow_loop(struct follow *f, const struct ingest_follow_opts *fo)
{
	double last_data = mono();
	for (;;) {
		bool stopping = fo->stop != NULL && *fo->stop;
		ssize_t n = 0;
		if (!stopping) {
			n = read(f->fd, f->pend + f->npend, FOLLOW_CHUNK);
			if (n < 0 && errno != EINTR)
				return -errno;
		}
		int err;
		if (n > 0) {
			f->npend += (size_t)n;
			last_data = mono();
			err = on_data(f, fo);
			if (err != 0)
				return err;
			continue;
		}
		bool done;
		err = on_idle(f, fo, stopping, last_data, &done);
		if (err != 0 || done)
			return err;
	}
}

/* The file's absolute path (not resolved: a sensor's "current" symlink
 * that is re-pointed on rotation must look like a rotation) and the key
 * of its position. */
static int follow_set_path(struct follow *f, const char *path)
{
	if (path[0] == '/') {
		if (strlen(path) >= sizeof(f->path))
			return -ENAMETOOLONG;
		memcpy(f->path, path, strlen(path) + 1);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		int n = snprintf(f->path, sizeof(f->path), "%s/%s", cwd, path);
		if (n < 0 || (size_t)n >= sizeof(f->path))
			return -ENAMETOOLONG;
	}
	if (access(f->path, R_OK) != 0)
		return -errno;
	f->key[0] = 'F';
	f->klen = 1 + strlen(f->path);
	if (f->klen > 400)
		return -ENAMETOOLONG;
	memcpy(f->key + 1, f->path, f->klen - 1);
	return 0;
}

/* Where we stopped last time, when it is still the same file. */
static void resume_point(store_t *s, const struct follow *f, uint64_t *offset, uint64_t *line)
{
	uint8_t val[32];
	size_t vlen = 0;
	struct stat sb;
	*offset = 0;
	*line = 0;
	if (store_meta_get(s, f->key, f->klen, val, sizeof(val), &vlen) == 0 && vlen == 32 &&
	    stat(f->path, &sb) == 0 && get_le64(val) == (uint64_t)sb.st_dev &&
	    get_le64(val + 8) == (uint64_t)sb.st_ino) {
		*offset = get_le64(val + 16);
		*line = get_le64(val + 24);
	}
}

int ingest_follow(store_t *s, const char *path, const struct ingest_opts *o,
                  const struct ingest_follow_opts *fo, struct ingest_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	struct follow f = {.o = o, .fd = -1};
	int err = follow_set_path(&f, path);
	if (err != 0)
		return err;
	struct ingest_opts so = *o;
	so.progress = false;
	err = ingest_stream_new(&f.st, s, &so);
	if (err != 0)
		return err;
	ingest_stream_set_position(f.st, put_position, &f);
	f.buf = malloc(FOLLOW_CHUNK);
	f.pend = malloc(FOLLOW_CHUNK + o->max_line + 1);
	if (f.buf == NULL || f.pend == NULL) {
		err = -ENOMEM;
	} else {
		uint64_t offset, line;
		resume_point(s, &f, &offset, &line);
		err = open_file(&f, offset, line);
		if (err == 0)
			err = follow_loop(&f, fo);
	}
	err = ingest_stream_close(f.st, f.buf, sum, err);
	sum->inputs = 1;
	if (f.fd >= 0)
		close(f.fd);
	free(f.pend);
	return err;
}
