// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dio-test DIR [LOWER] [TEST...]: direct I/O and the mmap + page fault
 * deadlocks on a glockfs mount DIR (over LOWER, whose files are checked
 * byte for byte too when given).  Run in the test guest.
 *
 * Every test runs in its own child under a hard time limit (alarm()); a
 * child that does not finish is reported as HANG and killed; one that
 * cannot be killed as STUCK (the rest are then skipped).  Each test checks
 * the data byte for byte.  Exits 0 if all pass.
 *
 * The user buffer of a read or write is a mapping of a glockfs file: the
 * same file (generic/647, generic/729), or another (generic/708), with
 * pages not yet faulted in, so the copy faults while glockfs holds the
 * file's glock unless it faults the buffer in first and runs the I/O with
 * page faults disabled.  Plus hole punch racing page faults, truncate
 * racing mmap writes, readdir into a mapping, and direct I/O, page faults
 * and mmap() in three threads of one process (the mmap_lock cycle).
 * --abba-* and --rd-* are the two sides of the cross-node tests
 * (tests/vm/dio-cluster.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif

#define PG 4096L

static double now(void);

static const char *dir, *lower;

#define FAIL(...) do {							\
	fprintf(stderr, "  %s:%d: ", __func__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, " (errno %s)\n", strerror(errno));		\
	exit(1);							\
} while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

static char *path(const char *base, const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", base, name);
	return buf[i];
}

static void pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + seed) ^ (i >> 12) ^ 0x5a);
}

static void *xmalloc(size_t n)
{
	void *p;

	CHECK(posix_memalign(&p, PG, n) == 0, "alloc %zu", n);
	return p;
}

/* The first difference of @got from @want, or -1. */
static long diff_at(const unsigned char *got, const unsigned char *want,
		    size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i])
			return (long)i;
	return -1;
}

static void same_at(const char *func, int line, const unsigned char *got,
		    const unsigned char *want, size_t len, const char *fmt, ...)
{
	long d = diff_at(got, want, len);
	va_list ap;

	if (d < 0)
		return;
	fprintf(stderr, "  %s:%d: data differs at byte %ld (0x%02x, want 0x%02x): ",
		func, line, d, got[d], want[d]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

#define SAME(got, want, len, ...) \
	same_at(__func__, __LINE__, (got), (want), (len), __VA_ARGS__)

/* Makes NAME with @len bytes of pattern @seed; returns an O_RDWR fd. */
static int make_file(const char *name, size_t len, unsigned int seed)
{
	unsigned char *buf = xmalloc(len);
	int fd;

	pattern(buf, len, seed);
	fd = open(path(dir, name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "create %s", name);
	CHECK(pwrite(fd, buf, len, 0) == (ssize_t)len, "fill %s", name);
	free(buf);
	return fd;
}

/* The file NAME, read with buffered I/O and (if given) in LOWER, is @want. */
static void check_file(const char *name, const unsigned char *want,
		       size_t len)
{
	unsigned char *got = xmalloc(len + PG);
	struct stat st;
	int fd;

	fd = open(path(dir, name), O_RDONLY);
	CHECK(fd >= 0, "open %s", name);
	CHECK(fsync(fd) == 0 || errno == EBADF || errno == EINVAL, "fsync");
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)len,
	      "%s: size %lld, want %zu", name, (long long)st.st_size, len);
	CHECK(pread(fd, got, len + PG, 0) == (ssize_t)len, "read %s", name);
	SAME(got, want, len, "%s", name);
	close(fd);
	if (!lower) {
		free(got);
		return;
	}
	/* fsync above wrote our pages back: the lower file has them. */
	fd = open(path(dir, name), O_RDWR);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	fd = open(path(lower, name), O_RDONLY);
	CHECK(fd >= 0, "open lower %s", name);
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)len,
	      "lower %s: size %lld, want %zu", name, (long long)st.st_size,
	      len);
	CHECK(pread(fd, got, len + PG, 0) == (ssize_t)len, "read lower %s",
	      name);
	SAME(got, want, len, "lower %s", name);
	close(fd);
	free(got);
}

static unsigned char *map_file(int fd, size_t len, int prot)
{
	unsigned char *map = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	CHECK(map != MAP_FAILED, "mmap");
	return map;
}

/* ---------------------------------------------------------------- tests */

/* O_DIRECT without mappings: data, coherence with the page cache. */
static void test_dio_basic(void)
{
	size_t len = 16 * PG;
	unsigned char *want = xmalloc(len), *got = xmalloc(len);
	int fd, dfd;

	pattern(want, len, 1);
	dfd = open(path(dir, "basic"), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT,
		   0644);
	CHECK(dfd >= 0, "open O_DIRECT");
	CHECK(pwrite(dfd, want, len, 0) == (ssize_t)len, "extending write");
	memset(got, 0, len);
	CHECK(pread(dfd, got, len, 0) == (ssize_t)len, "direct read");
	SAME(got, want, len, "direct read back");
	check_file("basic", want, len);

	/* Buffered write, then direct read: written back first. */
	fd = open(path(dir, "basic"), O_RDWR);
	CHECK(fd >= 0, "open");
	pattern(want + 3 * PG, 2 * PG, 2);
	CHECK(pwrite(fd, want + 3 * PG, 2 * PG, 3 * PG) == 2 * PG,
	      "buffered write");
	CHECK(pread(dfd, got, len, 0) == (ssize_t)len, "direct read");
	SAME(got, want, len, "direct read after buffered write");

	/* Direct overwrite, then buffered read: the cache was dropped. */
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "buffered read");
	pattern(want + 5 * PG, 4 * PG, 3);
	CHECK(pwrite(dfd, want + 5 * PG, 4 * PG, 5 * PG) == 4 * PG,
	      "direct overwrite");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "buffered read");
	SAME(got, want, len, "buffered read after direct write");

	/* Unaligned offsets, lengths and buffers; a read past EOF. */
	pattern(want + 1000, 5000, 4);
	CHECK(pwrite(dfd, want + 1000, 5000, 1000) == 5000, "unaligned write");
	CHECK(pread(dfd, got + 7, 9000, 333) == 9000, "unaligned read");
	SAME(got + 7, want + 333, 9000, "unaligned");
	CHECK(pread(dfd, got, 3 * PG, len - PG) == PG, "read across EOF");
	CHECK(pread(dfd, got, PG, len) == 0, "read at EOF");
	close(fd);
	close(dfd);
	check_file("basic", want, len);
	free(want);
	free(got);
}

/*
 * read() or write() whose buffer is a mapping of the same file, some pages
 * faulted in and some not.  @flags: O_DIRECT or 0.
 */
static void same_file_io(int flags, const char *name)
{
	size_t len = 16 * PG;
	unsigned char *want = xmalloc(len), *map;
	volatile unsigned char sink;
	int fd, iofd;

	pattern(want, len, 11);
	fd = make_file(name, len, 11);
	iofd = open(path(dir, name), O_RDWR | flags);
	CHECK(iofd >= 0, "open");

	/* Read pages 0..7 into pages 8..15 (9 and 12 faulted in first). */
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	sink = map[9 * PG];
	sink = map[12 * PG + 5];
	(void)sink;
	CHECK(pread(iofd, map + 8 * PG, 8 * PG, 0) == 8 * PG,
	      "read into own mapping");
	memcpy(want + 8 * PG, want, 8 * PG);
	SAME(map + 8 * PG, want, 8 * PG, "buffer after read");
	CHECK(munmap(map, len) == 0, "munmap");
	check_file(name, want, len);

	/* Write pages 0..3 (not faulted in) to pages 4..7. */
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	CHECK(pwrite(iofd, map, 4 * PG, 4 * PG) == 4 * PG,
	      "write from own mapping");
	memcpy(want + 4 * PG, want, 4 * PG);
	CHECK(munmap(map, len) == 0, "munmap");
	check_file(name, want, len);

	/* A page onto itself, then a range straddling 2 pages (g/729). */
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	CHECK(pwrite(iofd, map + 2 * PG, PG, 2 * PG) == PG,
	      "write a mapped page onto itself");
	CHECK(pwrite(iofd, map + 10 * PG + 100, 2 * PG, 10 * PG + 100) ==
	      2 * PG, "write mapped pages onto themselves");
	CHECK(pread(iofd, map + 13 * PG, PG, 13 * PG) == PG,
	      "read a page into its own mapping");
	CHECK(munmap(map, len) == 0, "munmap");
	check_file(name, want, len);
	close(iofd);
	close(fd);
	free(want);
}

static void test_dio_read_write_self(void)
{
	same_file_io(O_DIRECT, "dself");
}

static void test_buffered_read_write_self(void)
{
	same_file_io(0, "bself");
}

/*
 * generic/647 (mmap-rw-fault): a file with a hole, its mapping reaching
 * past EOF, as the buffer of its own reads and writes.  The part past EOF
 * cannot be faulted in: short counts or EFAULT, never a hang.
 */
static void g647(int flags, const char *name)
{
	unsigned char *want = xmalloc(3 * PG), *map;
	ssize_t n;
	int fd;

	memset(want, 0, PG);
	pattern(want + PG, 2 * PG, 21);
	fd = open(path(dir, name), O_RDWR | O_CREAT | O_TRUNC | flags, 0644);
	CHECK(fd >= 0, "create");
	CHECK(pwrite(fd, want + PG, 2 * PG, PG) == 2 * PG, "fill");
	map = map_file(fd, 4 * PG, PROT_READ | PROT_WRITE);

	/* Into the hole page, never faulted in. */
	CHECK(pread(fd, map, PG, PG) == PG, "read into hole page");
	memcpy(want, want + PG, PG);
	SAME(map, want, PG, "hole page after read");
	/* Page 2 to offset 0, from the mapping. */
	CHECK(pwrite(fd, map + 2 * PG, PG, 0) == PG, "write from mapping");
	memcpy(want, want + 2 * PG, PG);
	/* A buffer running past EOF: short. */
	n = pread(fd, map + 2 * PG, 2 * PG, PG);
	CHECK(n == PG, "read into mapping past EOF returned %zd, want %ld",
	      n, PG);
	memcpy(want + 2 * PG, want + PG, PG);
	SAME(map + 2 * PG, want + 2 * PG, PG, "page 2 after read");
	/* A buffer wholly past EOF: EFAULT. */
	n = pwrite(fd, map + 3 * PG, PG, 0);
	CHECK(n == -1 && errno == EFAULT, "write from past EOF returned %zd",
	      n);
	n = pread(fd, map + 3 * PG, PG, 0);
	CHECK(n == -1 && errno == EFAULT, "read to past EOF returned %zd", n);
	CHECK(munmap(map, 4 * PG) == 0, "munmap");
	close(fd);
	check_file(name, want, 3 * PG);
	free(want);
}

static void test_g647_direct(void)
{
	g647(O_DIRECT, "g647d");
}

static void test_g647_buffered(void)
{
	g647(0, "g647b");
}

/*
 * generic/708 (dio-buf-fault): the buffer of a direct write is a mapping of
 * another file with only its first page faulted in; and the same for a
 * direct read into another file's mapping.
 */
static void test_g708(void)
{
	size_t len = 2 << 20;
	unsigned char *want = xmalloc(len), *map;
	volatile unsigned char sink;
	int src, dst, fd;
	ssize_t n;

	pattern(want, len, 31);
	src = make_file("g708src", len, 31);
	close(src);
	src = open(path(dir, "g708src"), O_RDONLY);
	CHECK(src >= 0, "reopen");
	map = map_file(src, len, PROT_READ);
	sink = map[0];
	(void)sink;
	dst = open(path(dir, "g708dst"), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT,
		   0644);
	CHECK(dst >= 0, "create dst");
	CHECK(ftruncate(dst, len) == 0, "size dst");
	n = pwrite(dst, map, len, 0);
	CHECK(n == (ssize_t)len,
	      "direct write from another file's mapping: %zd of %zu", n, len);
	CHECK(munmap(map, len) == 0, "munmap");
	check_file("g708dst", want, len);

	/* Direct read into a third file's mapping, not faulted in. */
	fd = make_file("g708buf", len, 32);
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	n = pread(dst, map, len, 0);
	CHECK(n == (ssize_t)len,
	      "direct read into another file's mapping: %zd of %zu", n, len);
	SAME(map, want, len, "buffer after direct read");
	CHECK(munmap(map, len) == 0, "munmap");
	check_file("g708buf", want, len);
	close(fd);
	close(dst);
	close(src);
	free(want);
}

/*
 * ABBA on one node: two tasks, each reading one file into a mapping of the
 * other.  With the glock held across a faulting copy each holds its file
 * and waits in a fault for the other's.
 */
static void abba(int flags, const char *na, const char *nb)
{
	size_t len = 16 * PG;
	unsigned char *want = xmalloc(len);
	int fa, fb, i, st, bad = 0;
	pid_t pid[2];

	pattern(want, len, 41);
	fa = make_file(na, len, 41);
	fb = make_file(nb, len, 41);
	close(fa);
	close(fb);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		CHECK(pid[i] >= 0, "fork");
		if (!pid[i]) {
			double t0 = now();
			int src, buf, k;
			unsigned char *map;

			src = open(path(dir, i ? nb : na), O_RDWR | flags);
			buf = open(path(dir, i ? na : nb), O_RDWR);
			if (src < 0 || buf < 0)
				_exit(2);
			/* 2 s of rounds: demotes come in between. */
			for (k = 0; k < 10 || now() - t0 < 2; k++) {
				map = mmap(NULL, len, PROT_READ | PROT_WRITE,
					   MAP_SHARED, buf, 0);
				if (map == MAP_FAILED)
					_exit(3);
				if (pread(src, map, len, 0) != (ssize_t)len)
					_exit(4);
				munmap(map, len);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++) {
		CHECK(waitpid(pid[i], &st, 0) == pid[i], "waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "  task %d: %s %d\n", i,
				WIFEXITED(st) ? "exit" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad = 1;
		}
	}
	CHECK(!bad, "crosswise I/O failed");
	check_file(na, want, len);
	check_file(nb, want, len);
	free(want);
}

static void test_abba_direct(void)
{
	abba(O_DIRECT, "abba_d1", "abba_d2");
}

static void test_abba_buffered(void)
{
	abba(0, "abba_b1", "abba_b2");
}

/* I/O with buffers that cannot be faulted in: EFAULT, never a hang. */
static void test_efault(void)
{
	void *volatile low = (void *)8;
	unsigned char *none;
	int fd, dfd;

	fd = make_file("efault", 4 * PG, 51);
	dfd = open(path(dir, "efault"), O_RDWR | O_DIRECT);
	CHECK(dfd >= 0, "open");
	none = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	CHECK(none != MAP_FAILED, "mmap");
	CHECK(pread(fd, none, PG, 0) == -1 && errno == EFAULT, "read");
	CHECK(pread(dfd, none, PG, 0) == -1 && errno == EFAULT, "direct read");
	CHECK(pwrite(fd, none, PG, 0) == -1 && errno == EFAULT, "write");
	CHECK(pwrite(dfd, none, PG, 0) == -1 && errno == EFAULT,
	      "direct write");
	CHECK(pread(dfd, low, PG, 0) == -1 && errno == EFAULT,
	      "direct read to NULL page");
	munmap(none, 2 * PG);
	close(fd);
	close(dfd);
}

static int child_loop(void (*fn)(int, unsigned char *, int), int fd,
		      unsigned char *map, volatile int *stop)
{
	pid_t pid = fork();
	int k = 0;

	CHECK(pid >= 0, "fork");
	if (pid)
		return pid;
	while (!*stop)
		fn(fd, map, k++);
	_exit(0);
}

static void touch_pages(int fd, unsigned char *map, int k)
{
	volatile unsigned char sink;
	unsigned char buf[64];
	int p;

	for (p = 0; p < 16; p++)
		sink = map[p * PG + (k % 64)];
	(void)sink;
	pread(fd, buf, sizeof(buf), (k % 16) * PG);
}

/*
 * Hole punch racing page faults on the same range: after every punch the
 * range reads back zero through read() and the mapping, however the
 * faults fell.  A fault that read a page back in from the lower file
 * before it was punched would leave the old data in the cache.
 */
static void test_punch_race(void)
{
	size_t len = 16 * PG;
	unsigned char *want = xmalloc(len), *got = xmalloc(len), *map;
	volatile int *stop;
	int fd, i, st;
	pid_t pid;

	pattern(want, len, 61);
	fd = make_file("punch", len, 61);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1) &&
	    errno == EOPNOTSUPP) {
		printf("  (hole punch not supported)\n");
		return;
	}
	pwrite(fd, want, 1, 0);
	stop = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	map = map_file(fd, len, PROT_READ);
	pid = child_loop(touch_pages, fd, map, stop);
	for (i = 0; i < 60; i++) {
		off_t off = (i % 2) ? 4 * PG : 3 * PG + 100;
		off_t plen = (i % 2) ? 8 * PG : 9 * PG - 300;

		CHECK(pwrite(fd, want, len, 0) == (ssize_t)len, "refill");
		CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				off, plen) == 0, "punch");
		CHECK(pread(fd, got, len, 0) == (ssize_t)len, "read back");
		memset(want + off, 0, plen);
		SAME(got, want, len, "read after punch %d", i);
		SAME(map, want, len, "mapping after punch %d", i);
		pattern(want, len, 61);
	}
	*stop = 1;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "toucher");
	CHECK(munmap(map, len) == 0, "munmap");
	memset(want + 4 * PG, 0, 8 * PG);
	close(fd);
	check_file("punch", want, len);
	free(want);
	free(got);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static void mmap_writer(int fd, unsigned char *map, int k)
{
	static volatile int p;

	(void)fd;
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(bus_jmp, 1))
		p++;	/* that page is past EOF now: the next one */
	for (; p < 16 * 64; p++)
		map[(p % 16) * PG + (p / 16) * 64] = (unsigned char)(k | 1);
	p = 0;
}

/* Writeback at any moment, as the flusher or another task's sync would. */
static void syncer(int fd, unsigned char *map, int k)
{
	(void)map;
	(void)k;
	fsync(fd);
}

/*
 * Truncate racing mmap writes: the writer dirties every page of the
 * mapping while the file is cut to 2 pages and grown again, and another
 * task writes back whatever is dirty.  Once a cut is done and written
 * back, the lower file has exactly 2 pages: no page redirtied during the
 * cut was written back past the new end.  At the end, everything past the
 * cut reads zero.
 */
static void test_truncate_race(void)
{
	size_t len = 16 * PG;
	unsigned char *want = xmalloc(len), *got = xmalloc(len), *map;
	volatile int *stop;
	struct stat st;
	int fd, i, ws;
	pid_t pid, sync_pid;

	fd = make_file("trunc", len, 71);
	stop = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	pid = child_loop(mmap_writer, fd, map, stop);
	sync_pid = child_loop(syncer, fd, map, stop);
	for (i = 0; i < 40; i++) {
		CHECK(ftruncate(fd, 2 * PG) == 0, "cut");
		CHECK(fsync(fd) == 0, "fsync");
		CHECK(fstat(fd, &st) == 0 && st.st_size == 2 * PG, "size");
		if (lower) {
			CHECK(stat(path(lower, "trunc"), &st) == 0, "stat");
			CHECK(st.st_size == 2 * PG,
			      "lower size %lld after cut %d, want %ld",
			      (long long)st.st_size, i, 2 * PG);
		}
		CHECK(ftruncate(fd, len) == 0, "grow");
	}
	*stop = 1;
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws), "writer");
	CHECK(waitpid(sync_pid, &ws, 0) == sync_pid && WIFEXITED(ws),
	      "syncer");
	CHECK(munmap(map, len) == 0, "munmap");
	CHECK(pread(fd, want, 2 * PG, 0) == 2 * PG, "read head");
	CHECK(ftruncate(fd, 2 * PG) == 0, "cut");
	CHECK(ftruncate(fd, len) == 0, "grow");
	memset(want + 2 * PG, 0, len - 2 * PG);
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "read");
	SAME(got, want, len, "after the last cut");
	close(fd);
	check_file("trunc", want, len);
	free(want);
	free(got);
}

/*
 * readdir into a buffer mmapped from a glockfs file, pages not faulted in:
 * each getdents64 call writes into a fresh page of the mapping, whose
 * fault takes that file's glock.  glockfs must not copy entries out under
 * the directory's glock (a rename holding the file's glock and waiting for
 * the directory's, on another node, would close the cycle), and every
 * entry must come back exactly once across glockfs's internal chunks and
 * the caller's small buffers.
 */
#define RD_ENTRIES 200

struct rd_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void test_readdir_mapping(void)
{
	size_t len = 64 * PG;
	unsigned char seen[RD_ENTRIES] = { 0 };
	char name[128], rd[512], dents[512];
	unsigned char *map;
	int fd, dfd, i, calls = 0, dots = 0;
	long n, off;

	snprintf(rd, sizeof(rd), "%s/rd", dir);
	CHECK(mkdir(rd, 0755) == 0 || errno == EEXIST, "mkdir %s", rd);
	dfd = open(rd, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open %s", rd);
	for (i = 0; i < RD_ENTRIES; i++) {
		snprintf(name, sizeof(name), "entry-%03d-%0100d", i, i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0, "create %s", name);
		close(fd);
	}
	fd = make_file("rdbuf", len, 91);
	map = map_file(fd, len, PROT_READ | PROT_WRITE);
	for (;;) {
		unsigned char *buf = map + (calls % 64) * PG;

		n = syscall(SYS_getdents64, dfd, buf, 2048);
		CHECK(n >= 0, "getdents64 into the mapping, call %d", calls);
		if (!n)
			break;
		calls++;
		for (off = 0; off < n;) {
			struct rd_dirent64 *de = (void *)(buf + off);

			CHECK(de->d_reclen > 0 && off + de->d_reclen <= n,
			      "record at %ld of %ld", off, n);
			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, "..")) {
				dots++;
				continue;
			}
			CHECK(sscanf(de->d_name, "entry-%d-", &i) == 1 &&
			      i >= 0 && i < RD_ENTRIES, "name %s", de->d_name);
			CHECK(!seen[i]++, "entry %d seen twice", i);
		}
		CHECK(calls < 1000, "getdents64 does not end");
	}
	for (i = 0; i < RD_ENTRIES; i++)
		CHECK(seen[i] == 1, "entry %d missing", i);
	CHECK(dots == 2, "%d dot entries", dots);
	CHECK(calls > 1, "one call only");

	/* Seeking: rewind, then to the d_off of the third entry. */
	CHECK(lseek(dfd, 0, SEEK_SET) == 0, "rewind");
	n = syscall(SYS_getdents64, dfd, dents, sizeof(dents));
	CHECK(n > 0, "getdents64 after rewind");
	{
		struct rd_dirent64 *a = (void *)dents;
		struct rd_dirent64 *b = (void *)(dents + a->d_reclen);
		struct rd_dirent64 *c = (void *)((char *)b + b->d_reclen);
		struct rd_dirent64 *d = (void *)((char *)c + c->d_reclen);

		CHECK((char *)d + sizeof(*d) <= dents + n, "4 entries in %ld", n);
		snprintf(name, sizeof(name), "%s", d->d_name);
		CHECK(lseek(dfd, c->d_off, SEEK_SET) == c->d_off, "seek");
	}
	n = syscall(SYS_getdents64, dfd, map, 2048);
	CHECK(n > 0 && !strcmp(((struct rd_dirent64 *)map)->d_name, name),
	      "after the seek: %s, want %s",
	      n > 0 ? ((struct rd_dirent64 *)map)->d_name : "nothing", name);
	CHECK(munmap(map, len) == 0, "munmap");
	close(fd);
	for (i = 0; i < RD_ENTRIES; i++) {
		snprintf(name, sizeof(name), "entry-%03d-%0100d", i, i);
		CHECK(unlinkat(dfd, name, 0) == 0, "unlink %s", name);
	}
	close(dfd);
	CHECK(rmdir(rd) == 0, "rmdir %s", rd);
}

/*
 * The mmap_lock cycle, three threads of one process: a direct read of F
 * into anonymous memory not faulted in (9p pins the pages with
 * get_user_pages(), which takes mmap_lock for reading while the read
 * holds F's glock in DF); page faults on a mapping of F (each holds
 * mmap_lock for reading and wants F's glock in SH, which waits for the DF
 * holder); mmap/munmap (a writer of mmap_lock, queued behind the fault and
 * ahead of get_user_pages()).  Unless the fault lets go of mmap_lock while
 * it waits for the glock, the three wait for each other.
 */
struct mmap_cycle {
	int dfd;
	unsigned char *anon, *fmap, *want;
	size_t len;
	double end;
	long rounds[3];
};

static void *cycle_direct_read(void *arg)
{
	struct mmap_cycle *c = arg;
	ssize_t n;

	while (now() < c->end) {
		CHECK(madvise(c->anon, c->len, MADV_DONTNEED) == 0, "madvise");
		n = pread(c->dfd, c->anon, c->len, 0);
		CHECK(n == (ssize_t)c->len, "direct read: %zd", n);
		SAME(c->anon, c->want, c->len, "direct read %ld", c->rounds[0]);
		c->rounds[0]++;
	}
	return NULL;
}

static void *cycle_fault(void *arg)
{
	struct mmap_cycle *c = arg;
	size_t p;

	while (now() < c->end) {
		CHECK(madvise(c->fmap, c->len, MADV_DONTNEED) == 0, "madvise");
		for (p = 0; p < c->len; p += PG)
			CHECK(c->fmap[p + 7] == c->want[p + 7],
			      "mapping at %zu", p + 7);
		c->rounds[1]++;
	}
	return NULL;
}

static void *cycle_mapper(void *arg)
{
	struct mmap_cycle *c = arg;
	void *q;

	while (now() < c->end) {
		q = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(q != MAP_FAILED, "mmap");
		CHECK(munmap(q, PG) == 0, "munmap");
		c->rounds[2]++;
	}
	return NULL;
}

static void test_mmap_lock_cycle(void)
{
	struct mmap_cycle c = { .len = 16 * PG };
	void *(*fn[3])(void *) = {
		cycle_direct_read, cycle_fault, cycle_mapper
	};
	pthread_t th[3];
	int fd, i;

	c.want = xmalloc(c.len);
	pattern(c.want, c.len, 101);
	fd = make_file("mlcycle", c.len, 101);
	fsync(fd);
	c.dfd = open(path(dir, "mlcycle"), O_RDONLY | O_DIRECT);
	CHECK(c.dfd >= 0, "open O_DIRECT");
	c.fmap = map_file(fd, c.len, PROT_READ);
	c.anon = mmap(NULL, c.len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(c.anon != MAP_FAILED, "mmap anon");
	c.end = now() + 10;
	for (i = 0; i < 3; i++)
		CHECK(pthread_create(&th[i], NULL, fn[i], &c) == 0, "thread");
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("  %ld direct reads, %ld fault passes, %ld mmaps\n",
	       c.rounds[0], c.rounds[1], c.rounds[2]);
	CHECK(c.rounds[0] && c.rounds[1] && c.rounds[2], "a thread never ran");
	munmap(c.fmap, c.len);
	munmap(c.anon, c.len);
	close(c.dfd);
	close(fd);
	free(c.want);
}

/*
 * The cross-node ABBA (tests/vm/dio-cluster.sh), one node per side:
 *   dio-test --abba-setup DIR             make DIR/xabba_0 and xabba_1
 *   dio-test --abba-side N DIR MODE ITER  loop: read xabba_N into a
 *                                         mapping of xabba_(1-N);
 *                                         MODE direct or buffered
 *   dio-test --abba-check DIR             both still hold the pattern
 * Node 1 holds file 0's glock and faults on file 1's; node 2 the reverse.
 * A side that does not finish within its time limit exits 142 (SIGALRM).
 */
#define XABBA_LEN (64 * PG)

static int abba_side(int side, const char *mode, int iter)
{
	int flags = strcmp(mode, "direct") ? 0 : O_DIRECT;
	unsigned char *want = xmalloc(XABBA_LEN), *map;
	int src, buf, k;

	pattern(want, XABBA_LEN, 81);
	src = open(path(dir, side ? "xabba_1" : "xabba_0"), O_RDWR | flags);
	buf = open(path(dir, side ? "xabba_0" : "xabba_1"), O_RDWR);
	CHECK(src >= 0 && buf >= 0, "open");
	for (k = 0; k < iter; k++) {
		map = map_file(buf, XABBA_LEN, PROT_READ | PROT_WRITE);
		CHECK(pread(src, map, XABBA_LEN, 0) == XABBA_LEN,
		      "read into the other file's mapping, round %d", k);
		SAME(map, want, XABBA_LEN, "round %d", k);
		CHECK(pwrite(src, map + PG, XABBA_LEN - 2 * PG, PG) ==
		      XABBA_LEN - 2 * PG,
		      "write from the other file's mapping, round %d", k);
		CHECK(munmap(map, XABBA_LEN) == 0, "munmap");
	}
	printf("abba side %d: %d rounds of %s I/O done\n", side, iter, mode);
	return 0;
}

static int abba_main(int argc, char **argv)
{
	unsigned char *want = xmalloc(XABBA_LEN);
	int fd;

	if (!strcmp(argv[1], "--abba-setup") && argc == 3) {
		dir = argv[2];
		fd = make_file("xabba_0", XABBA_LEN, 81);
		close(fd);
		fd = make_file("xabba_1", XABBA_LEN, 81);
		fsync(fd);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "--abba-check") && argc == 3) {
		dir = argv[2];
		pattern(want, XABBA_LEN, 81);
		check_file("xabba_0", want, XABBA_LEN);
		check_file("xabba_1", want, XABBA_LEN);
		printf("abba check: both files intact\n");
		return 0;
	}
	if (!strcmp(argv[1], "--abba-side") && argc == 6) {
		dir = argv[3];
		alarm(120);
		return abba_side(atoi(argv[2]), argv[4], atoi(argv[5]));
	}
	fprintf(stderr, "usage: %s --abba-setup|--abba-check DIR | --abba-side N DIR direct|buffered ITER\n",
		argv[0]);
	return 2;
}

/*
 * The cross-node readdir cycle (tests/vm/dio-cluster.sh):
 *   dio-test --rd-setup DIR          DIR/rdx with RD_ENTRIES entries and a
 *                                    file "buf" numbered below rdx
 *   dio-test --rd-side 0 DIR SECS    getdents64 of rdx into a mapping of
 *                                    buf, every entry once per pass
 *   dio-test --rd-side 1 DIR SECS    rename buf <-> buf2 in rdx
 * Each side goes on for SECS seconds, so that they overlap whatever
 * their speeds.
 * A rename takes the glocks of buf and rdx in number order: buf first.
 * Side 0's readdir takes rdx and faults on buf.  If readdir copied out
 * under rdx's glock, each side would hold what the other waits for.
 */
static int rd_setup(void)
{
	char rdx[512], cand[64], dst[600];
	struct stat sd, sf;
	int fd, i, k, dfd;
	char name[128];

	/* The file first, then directories until one is numbered above. */
	fd = make_file("rdbuf", 16 * PG, 93);
	CHECK(fstat(fd, &sf) == 0, "fstat");
	close(fd);
	for (k = 0; k < 200; k++) {
		snprintf(cand, sizeof(cand), "rdcand_%d", k);
		CHECK(mkdir(path(dir, cand), 0755) == 0, "mkdir %s", cand);
		CHECK(stat(path(dir, cand), &sd) == 0, "stat %s", cand);
		if (sd.st_ino > sf.st_ino)
			break;
	}
	for (i = 0; i < k; i++) {
		snprintf(cand, sizeof(cand), "rdcand_%d", i);
		CHECK(rmdir(path(dir, cand)) == 0, "rmdir %s", cand);
	}
	if (k == 200) {
		printf("rd setup: no directory numbered above rdbuf (%llu)\n",
		       (unsigned long long)sf.st_ino);
		return 77;
	}
	snprintf(cand, sizeof(cand), "rdcand_%d", k);
	snprintf(rdx, sizeof(rdx), "%s/rdx", dir);
	CHECK(rename(path(dir, cand), rdx) == 0, "rename to %s", rdx);
	dfd = open(rdx, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open %s", rdx);
	for (i = 0; i < RD_ENTRIES; i++) {
		snprintf(name, sizeof(name), "entry-%03d-%0100d", i, i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0, "create %s", name);
		close(fd);
	}
	close(dfd);
	snprintf(dst, sizeof(dst), "%s/buf", rdx);
	CHECK(rename(path(dir, "rdbuf"), dst) == 0, "rename to %s", dst);
	printf("rd setup: rdx is %llu, rdx/buf is %llu\n",
	       (unsigned long long)sd.st_ino, (unsigned long long)sf.st_ino);
	return 0;
}

static int rd_reader(int secs)
{
	double end = now() + secs;
	size_t len = 16 * PG;
	unsigned char seen[RD_ENTRIES], *map;
	char rdx[512];
	int fd = -1, dfd, k, i, calls;
	long n, off;

	snprintf(rdx, sizeof(rdx), "%s/rdx", dir);
	dfd = open(rdx, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open %s", rdx);
	for (k = 0; fd < 0 && k < 100000; k++) {	/* being renamed */
		fd = openat(dfd, "buf", O_RDWR);
		if (fd < 0)
			fd = openat(dfd, "buf2", O_RDWR);
	}
	CHECK(fd >= 0, "open rdx/buf");
	for (k = 0; now() < end; k++) {
		map = map_file(fd, len, PROT_READ | PROT_WRITE);
		memset(seen, 0, sizeof(seen));
		CHECK(lseek(dfd, 0, SEEK_SET) == 0, "rewind");
		for (calls = 0;; calls++) {
			unsigned char *buf = map + (calls % 16) * PG;

			n = syscall(SYS_getdents64, dfd, buf, 2048);
			CHECK(n >= 0, "getdents64 into buf's mapping");
			if (!n)
				break;
			for (off = 0; off < n;) {
				struct rd_dirent64 *de = (void *)(buf + off);

				off += de->d_reclen;
				if (sscanf(de->d_name, "entry-%d-", &i) != 1)
					continue;	/* ., .., buf, buf2 */
				CHECK(i >= 0 && i < RD_ENTRIES &&
				      !seen[i]++, "entry %d twice, round %d",
				      i, k);
			}
		}
		for (i = 0; i < RD_ENTRIES; i++)
			CHECK(seen[i] == 1, "entry %d missing, round %d", i, k);
		CHECK(munmap(map, len) == 0, "munmap");
	}
	printf("rd side 0: %d passes over rdx into buf's mapping\n", k);
	return 0;
}

static int rd_renamer(int secs)
{
	double end = now() + secs;
	char rdx[512], a[600], b[600];
	int k;

	snprintf(rdx, sizeof(rdx), "%s/rdx", dir);
	snprintf(a, sizeof(a), "%s/buf", rdx);
	snprintf(b, sizeof(b), "%s/buf2", rdx);
	for (k = 0; now() < end; k++) {
		CHECK(rename(a, b) == 0, "rename %d", k);
		CHECK(rename(b, a) == 0, "rename back %d", k);
	}
	printf("rd side 1: %d renames in rdx\n", 2 * k);
	return 0;
}

static int rd_main(int argc, char **argv)
{
	if (!strcmp(argv[1], "--rd-setup") && argc == 3) {
		dir = argv[2];
		return rd_setup();
	}
	if (!strcmp(argv[1], "--rd-side") && argc == 5) {
		dir = argv[3];
		alarm(120);
		return atoi(argv[2]) ? rd_renamer(atoi(argv[4])) :
				       rd_reader(atoi(argv[4]));
	}
	fprintf(stderr, "usage: %s --rd-setup DIR | --rd-side 0|1 DIR SECS\n",
		argv[0]);
	return 2;
}

/* ---------------------------------------------------------------- driver */

static const struct {
	const char *name;
	void (*fn)(void);
	unsigned int limit;	/* seconds */
} tests[] = {
	{ "dio_basic", test_dio_basic, 60 },
	{ "efault", test_efault, 30 },
	{ "dio_read_write_self", test_dio_read_write_self, 60 },
	{ "buffered_read_write_self", test_buffered_read_write_self, 60 },
	{ "g647_direct", test_g647_direct, 60 },
	{ "g647_buffered", test_g647_buffered, 60 },
	{ "g708", test_g708, 90 },
	{ "abba_direct", test_abba_direct, 60 },
	{ "abba_buffered", test_abba_buffered, 60 },
	{ "punch_race", test_punch_race, 90 },
	{ "truncate_race", test_truncate_race, 90 },
	{ "readdir_mapping", test_readdir_mapping, 90 },
	{ "mmap_lock_cycle", test_mmap_lock_cycle, 60 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 pass, 1 fail, 2 hang (killed), 3 stuck (could not be killed). */
static int run(unsigned int t)
{
	double start = now();
	int st, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		setpgid(0, 0);
		alarm(tests[t].limit);
		tests[t].fn();
		_exit(0);
	}
	setpgid(pid, pid);
	while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
		if (now() - start > tests[t].limit + 10) {
			kill(-pid, SIGKILL);
			if (now() - start > tests[t].limit + 20)
				break;
		}
		usleep(100000);
	}
	kill(-pid, SIGKILL);	/* helpers the test left behind */
	if (r == 0) {
		printf("STUCK %s: not killable after %us\n", tests[t].name,
		       tests[t].limit + 20);
		return 3;
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
		printf("HANG %s: time limit %us\n", tests[t].name,
		       tests[t].limit);
		return 2;
	}
	if (WIFEXITED(st) && !WEXITSTATUS(st)) {
		printf("ok   %s (%.1fs)\n", tests[t].name, now() - start);
		return 0;
	}
	printf("FAIL %s (%s %d, %.1fs)\n", tests[t].name,
	       WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
	       now() - start);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int t, fails = 0;
	int i, r, any, stuck = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [LOWER|-] [TEST...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strncmp(argv[1], "--abba-", 7))
		return abba_main(argc, argv);
	if (!strncmp(argv[1], "--rd-", 5))
		return rd_main(argc, argv);
	dir = argv[1];
	if (argc > 2 && strcmp(argv[2], "-"))
		lower = argv[2];
	for (t = 0; t < sizeof(tests) / sizeof(tests[0]); t++) {
		any = argc <= 3;
		for (i = 3; i < argc; i++)
			any |= !strcmp(argv[i], tests[t].name);
		if (!any)
			continue;
		if (stuck) {
			printf("SKIP %s: an earlier test is stuck\n",
			       tests[t].name);
			fails++;
			continue;
		}
		r = run(t);
		fails += !!r;
		stuck |= r == 3;
	}
	printf("dio-test: %s (%u failed)\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}
