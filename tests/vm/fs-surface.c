// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-surface DIR LOWER [TEST...]: the POSIX surface of a glockfs mount DIR
 * over LOWER, beyond read and write: hard links, mknod, O_TMPFILE, xattrs
 * and POSIX ACLs, fallocate, FIEMAP, SEEK_DATA/SEEK_HOLE, copy_file_range,
 * statfs, FS_IOC_GETFLAGS/SETFLAGS.  Run in a test guest as root.
 *
 * Where the lower filesystem lacks an operation, glockfs must give the
 * lower's answer (or its documented emulation): each test asks LOWER
 * directly to know what to expect, so the same test runs over tmpfs and
 * over 9p.  Every test runs in its own child under alarm(); prints
 * "ok   surface: NAME" or "FAIL surface: NAME" and ends with
 * "N passed, N failed".
 *
 * fs-surface copy SRC DST: copy_file_range(2) of all of SRC to DST (for
 * tests/vm/posix-cluster.sh).  fs-surface fiemap FILE: prints the extents.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define GLOCKFS_MAGIC	0x676c6b66
#define PG		4096L

static const char *dir, *lower;

#define FAIL(...) do {							\
	fprintf(stderr, "  %s:%d: ", __func__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, " (errno %s)\n", strerror(errno));		\
	exit(1);							\
} while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
/* The lower lacks it and glockfs said so the same way. */
#define UNSUPPORTED(...) do {						\
	printf("  (unsupported by the lower: ");			\
	printf(__VA_ARGS__);						\
	printf(")\n");							\
	exit(77);							\
} while (0)

static char *at(const char *base, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", base, name) < 0)
		exit(2);
	return p;
}

static char *g(const char *name) { return at(dir, name); }
static char *l(const char *name) { return at(lower, name); }

static void put(const char *p, const void *buf, size_t len, off_t off)
{
	int fd = open(p, O_WRONLY | O_CREAT, 0644);

	CHECK(fd >= 0, "open %s", p);
	CHECK(pwrite(fd, buf, len, off) == (ssize_t)len, "write %s", p);
	CHECK(fsync(fd) == 0, "fsync %s", p);
	close(fd);
}

static off_t size_of(const char *p)
{
	struct stat st;

	CHECK(stat(p, &st) == 0, "stat %s", p);
	return st.st_size;
}

static nlink_t links_of(const char *p)
{
	struct stat st;

	CHECK(stat(p, &st) == 0, "stat %s", p);
	return st.st_nlink;
}

static void fresh(const char *name)
{
	unlink(g(name));
}

/* ---- namespace ---- */

static void t_link(void)
{
	char buf[8] = "";
	int fd;

	fresh("ln-a");
	fresh("ln-b");
	put(g("ln-a"), "linked", 6, 0);
	CHECK(link(g("ln-a"), g("ln-b")) == 0, "link");
	CHECK(links_of(g("ln-a")) == 2, "nlink of a: %lu", (unsigned long)links_of(g("ln-a")));
	CHECK(links_of(g("ln-b")) == 2, "nlink of b");
	CHECK(links_of(l("ln-b")) == 2, "nlink in the lower");
	fd = open(g("ln-b"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 6) == 6 && !memcmp(buf, "linked", 6),
	      "read via the new name");
	close(fd);
	CHECK(link(g("ln-a"), g("ln-b")) < 0 && errno == EEXIST, "EEXIST");
	CHECK(unlink(g("ln-a")) == 0, "unlink a");
	CHECK(links_of(g("ln-b")) == 1, "nlink after unlink: %lu",
	      (unsigned long)links_of(g("ln-b")));
	CHECK(unlink(g("ln-b")) == 0, "unlink b");
	CHECK(access(l("ln-b"), F_OK) < 0, "gone from the lower");
}

/* mknod of KIND on glockfs; the lower refusing it too is fine. */
static int mknod_both(const char *name, mode_t mode, dev_t dev)
{
	int err, lerr;
	char *lp = l("probe-node");

	unlink(g(name));
	err = mknod(g(name), mode, dev) < 0 ? errno : 0;
	if (!err)
		return 0;
	unlink(lp);
	lerr = mknod(lp, mode, dev) < 0 ? errno : 0;
	unlink(lp);
	if (lerr == err)
		UNSUPPORTED("mknod 0%o: %s", mode, strerror(err));
	errno = err;
	FAIL("mknod 0%o: glockfs %s, lower %s", mode, strerror(err),
	     strerror(lerr));
}

static void t_mknod(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4];
	struct stat st;
	int fd, s, c;

	mknod_both("fifo", S_IFIFO | 0644, 0);
	CHECK(stat(g("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "fifo type");
	CHECK(lstat(l("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "lower fifo");
	fd = open(g("fifo"), O_RDWR);
	CHECK(fd >= 0, "open fifo");
	CHECK(write(fd, "fif", 3) == 3 && read(fd, buf, 3) == 3 &&
	      !memcmp(buf, "fif", 3), "data through the fifo");
	close(fd);
	CHECK(unlink(g("fifo")) == 0, "unlink fifo");

	mknod_both("null", S_IFCHR | 0666, makedev(1, 3));
	CHECK(stat(g("null"), &st) == 0 && S_ISCHR(st.st_mode) &&
	      st.st_rdev == makedev(1, 3), "char device type and number");
	fd = open(g("null"), O_RDWR);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1 && read(fd, buf, 1) == 0,
	      "the device is /dev/null");
	close(fd);
	CHECK(unlink(g("null")) == 0, "unlink device");

	/* A socket: bind(2) makes it through mknod. */
	unlink(g("sock"));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(s >= 0, "socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		mknod_both("sock", S_IFSOCK | 0644, 0);	/* same answer? */
		errno = err;
		FAIL("bind failed but mknod of a socket worked");
	}
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(c >= 0 && sendto(c, "so", 2, 0, (struct sockaddr *)&sa,
			       sizeof(sa)) == 2, "send to the bound socket");
	CHECK(recv(s, buf, 2, 0) == 2 && !memcmp(buf, "so", 2), "receive");
	close(c);
	close(s);
	CHECK(unlink(g("sock")) == 0, "unlink socket");
}

static void t_tmpfile(void)
{
	char proc[64], buf[8] = "";
	int fd, lfd;

	fresh("tmp-linked");
	fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		int err = errno;

		lfd = open(lower, O_TMPFILE | O_RDWR, 0600);
		if (lfd < 0 && errno == err)
			UNSUPPORTED("O_TMPFILE: %s", strerror(err));
		FAIL("O_TMPFILE on glockfs: %s, on the lower %s",
		     strerror(err), lfd < 0 ? strerror(errno) : "works");
	}
	CHECK(write(fd, "unnamed", 7) == 7 && fsync(fd) == 0, "write tmpfile");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	CHECK(linkat(AT_FDCWD, proc, AT_FDCWD, g("tmp-linked"),
		     AT_SYMLINK_FOLLOW) == 0, "linkat of the tmpfile");
	close(fd);
	CHECK(links_of(g("tmp-linked")) == 1, "nlink 1 once linked");
	fd = open(g("tmp-linked"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 7) == 7 && !memcmp(buf, "unnamed", 7),
	      "data via the name");
	close(fd);
	CHECK(size_of(l("tmp-linked")) == 7, "in the lower");
	CHECK(unlink(g("tmp-linked")) == 0, "unlink");

	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	CHECK(fd >= 0, "O_TMPFILE | O_EXCL");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	CHECK(linkat(AT_FDCWD, proc, AT_FDCWD, g("tmp-linked"),
		     AT_SYMLINK_FOLLOW) < 0, "O_EXCL tmpfile cannot be linked");
	close(fd);
}

/* ---- attributes ---- */

/* One name: set, get, list, in the lower, remove. */
static void xattr_round_trip(const char *name)
{
	char *p = g("xa"), buf[256];
	ssize_t n;
	int err;

	if (setxattr(p, name, "val-1", 5, 0) < 0) {
		err = errno;
		if (setxattr(l("xa"), name, "val-1", 5, 0) < 0 && errno == err)
			UNSUPPORTED("setxattr %s: %s", name, strerror(err));
		errno = err;
		FAIL("setxattr %s on glockfs", name);
	}
	n = getxattr(p, name, buf, sizeof(buf));
	CHECK(n == 5 && !memcmp(buf, "val-1", 5), "getxattr %s: %zd", name, n);
	CHECK(getxattr(p, name, NULL, 0) == 5, "size query");
	CHECK(getxattr(p, name, buf, 2) < 0 && errno == ERANGE, "ERANGE");
	n = getxattr(l("xa"), name, buf, sizeof(buf));
	CHECK(n == 5 && !memcmp(buf, "val-1", 5), "in the lower");
	CHECK(setxattr(p, name, "v2", 2, XATTR_CREATE) < 0 && errno == EEXIST,
	      "XATTR_CREATE on an existing name");
	CHECK(setxattr(p, name, "v2", 2, XATTR_REPLACE) == 0, "replace");
	n = listxattr(p, buf, sizeof(buf));
	CHECK(n > 0, "listxattr");
	for (char *q = buf; q < buf + n; q += strlen(q) + 1)
		if (!strcmp(q, name))
			goto listed;
	FAIL("%s not listed", name);
listed:
	CHECK(removexattr(p, name) == 0, "removexattr");
	CHECK(getxattr(p, name, buf, sizeof(buf)) < 0 && errno == ENODATA,
	      "ENODATA after remove");
	CHECK(getxattr(l("xa"), name, buf, sizeof(buf)) < 0, "removed below");
}

static void t_xattr_user(void)
{
	fresh("xa");
	put(g("xa"), "x", 1, 0);
	xattr_round_trip("user.glockfs");
}

static void t_xattr_trusted(void)
{
	fresh("xa");
	put(g("xa"), "x", 1, 0);
	xattr_round_trip("trusted.glockfs");
}

static void t_xattr_security(void)
{
	fresh("xa");
	put(g("xa"), "x", 1, 0);
	xattr_round_trip("security.glockfs");
}

/* posix_acl_xattr format, version 2 (linux/posix_acl_xattr.h). */
struct acl_entry { uint16_t tag, perm; uint32_t id; };
static const struct { uint32_t version; struct acl_entry e[5]; } acl = {
	2, {
		{ 0x01, 6, -1 },	/* ACL_USER_OBJ rw- */
		{ 0x02, 4, 1234 },	/* ACL_USER 1234 r-- */
		{ 0x04, 0, -1 },	/* ACL_GROUP_OBJ --- */
		{ 0x10, 4, -1 },	/* ACL_MASK r-- */
		{ 0x20, 0, -1 },	/* ACL_OTHER --- */
	}
};

/* Can uid open P for reading?  0 or an errno, from a child. */
static int read_as(const char *p, uid_t uid)
{
	int st;
	pid_t pid = fork();

	if (!pid) {
		if (setgid(uid) || setuid(uid))
			_exit(100);
		_exit(open(p, O_RDONLY) < 0 ? errno : 0);
	}
	waitpid(pid, &st, 0);
	return WEXITSTATUS(st);
}

static void t_acl(void)
{
	char *p = g("acl"), buf[256];
	struct stat st;
	ssize_t n;
	int err;

	fresh("acl");
	put(p, "secret", 6, 0);
	CHECK(chmod(p, 0600) == 0, "chmod");
	if (setxattr(p, "system.posix_acl_access", &acl, sizeof(acl), 0) < 0) {
		err = errno;
		if (setxattr(l("acl"), "system.posix_acl_access", &acl,
			     sizeof(acl), 0) < 0 && errno == err)
			UNSUPPORTED("ACL: %s", strerror(err));
		errno = err;
		FAIL("set ACL on glockfs");
	}
	n = getxattr(p, "system.posix_acl_access", buf, sizeof(buf));
	CHECK(n == sizeof(acl) && !memcmp(buf, &acl, n), "ACL read back: %zd", n);
	n = getxattr(l("acl"), "system.posix_acl_access", buf, sizeof(buf));
	CHECK(n == sizeof(acl) && !memcmp(buf, &acl, n), "ACL in the lower");
	/* The mask became the group bits, on glockfs as below. */
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640,
	      "mode after the ACL: 0%o", st.st_mode & 0777);
	/* Enforced as the lower enforces it (9p leaves it to the server). */
	CHECK(read_as(p, 1234) == read_as(l("acl"), 1234),
	      "uid 1234 (ACL entry): glockfs %s, lower %s",
	      strerror(read_as(p, 1234)), strerror(read_as(l("acl"), 1234)));
	CHECK(read_as(p, 1235) == EACCES, "uid 1235 (no entry) refused");
	CHECK(removexattr(p, "system.posix_acl_access") == 0, "remove ACL");
	CHECK(read_as(p, 1234) == EACCES, "uid 1234 refused without the ACL");
}

static void t_fileattr(void)
{
	int fd, lfd, flags = 0, lflags = 0, err;

	fresh("fa");
	put(g("fa"), "x", 1, 0);
	fd = open(g("fa"), O_RDONLY);
	lfd = open(l("fa"), O_RDONLY);
	CHECK(fd >= 0 && lfd >= 0, "open");
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		err = errno;
		if (ioctl(lfd, FS_IOC_GETFLAGS, &lflags) < 0 && errno == err)
			UNSUPPORTED("FS_IOC_GETFLAGS: %s", strerror(err));
		errno = err;
		FAIL("FS_IOC_GETFLAGS on glockfs");
	}
	CHECK(ioctl(lfd, FS_IOC_GETFLAGS, &lflags) == 0 && flags == lflags,
	      "flags as the lower's: 0x%x, 0x%x", flags, lflags);
	flags |= FS_APPEND_FL;
	CHECK(ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0, "set FS_APPEND_FL");
	CHECK(ioctl(lfd, FS_IOC_GETFLAGS, &lflags) == 0 &&
	      (lflags & FS_APPEND_FL), "append-only in the lower");
	CHECK(open(g("fa"), O_WRONLY) < 0 && errno == EPERM,
	      "append-only file refuses O_WRONLY");
	err = open(g("fa"), O_WRONLY | O_APPEND);
	CHECK(err >= 0, "O_APPEND allowed");
	close(err);
	flags &= ~FS_APPEND_FL;
	CHECK(ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0, "clear");
	close(fd);
	close(lfd);
}

static void t_statfs(void)
{
	struct statfs a, b;

	CHECK(statfs(dir, &a) == 0 && statfs(lower, &b) == 0, "statfs");
	CHECK(a.f_type == GLOCKFS_MAGIC, "f_type 0x%lx", (long)a.f_type);
	CHECK(a.f_bsize == b.f_bsize && a.f_blocks == b.f_blocks &&
	      a.f_namelen == b.f_namelen, "numbers as the lower's");
}

/* ---- data layout ---- */

static int zeros(int fd, off_t off, size_t len)
{
	static char buf[65536];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (pread(fd, buf, n, off) != (ssize_t)n)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return 0;
		off += n;
		len -= n;
	}
	return 1;
}

static void t_fallocate(void)
{
	char buf[4];
	struct rlimit rl = { 3 << 20, 3 << 20 };
	int fd;

	fresh("fa0");
	fd = open(g("fa0"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0, "open");
	CHECK(fallocate(fd, 0, 0, 1 << 20) == 0, "mode 0 on an empty file");
	CHECK(size_of(g("fa0")) == 1 << 20, "size 1 MiB: %ld",
	      (long)size_of(g("fa0")));
	CHECK(zeros(fd, 0, 1 << 20), "reads zeros");
	CHECK(pwrite(fd, "abc", 3, 100) == 3, "write");
	CHECK(fallocate(fd, 0, 0, PG) == 0, "mode 0 below EOF");
	CHECK(pread(fd, buf, 3, 100) == 3 && !memcmp(buf, "abc", 3),
	      "data kept");
	CHECK(size_of(g("fa0")) == 1 << 20, "size kept below EOF");
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0,
	      "KEEP_SIZE past EOF");
	CHECK(size_of(g("fa0")) == 1 << 20, "KEEP_SIZE keeps the size");
	CHECK(fallocate(fd, 0, (2 << 20) - 1, 2) == 0, "mode 0 across 2 MiB");
	CHECK(size_of(g("fa0")) == (2 << 20) + 1, "size 2 MiB + 1: %ld",
	      (long)size_of(g("fa0")));
	CHECK(zeros(fd, 1 << 20, (1 << 20) + 1), "the grown part reads zeros");
	CHECK(fsync(fd) == 0, "fsync");
	CHECK(size_of(l("fa0")) == (2 << 20) + 1, "size in the lower");
	CHECK(fallocate(fd, 0, 0, 0) < 0 && errno == EINVAL, "len 0: EINVAL");
	CHECK(fallocate(fd, 0, -1, 1) < 0 && errno == EINVAL, "offset < 0");
	CHECK(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PG) < 0 &&
	      errno == EOPNOTSUPP, "COLLAPSE_RANGE: EOPNOTSUPP");
	/* RLIMIT_FSIZE: EFBIG (SIGXFSZ ignored), the size unchanged. */
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit");
	CHECK(fallocate(fd, 0, 0, 4 << 20) < 0 && errno == EFBIG,
	      "past RLIMIT_FSIZE: EFBIG");
	CHECK(size_of(g("fa0")) == (2 << 20) + 1, "size unchanged by EFBIG");
	close(fd);
	fd = open(g("fa0"), O_RDONLY);
	CHECK(fallocate(fd, 0, 0, PG) < 0 && errno == EBADF, "read-only: EBADF");
	close(fd);
	CHECK(unlink(g("fa0")) == 0, "unlink");
}

static int fiemap_of(int fd, struct fiemap *fm, unsigned int max)
{
	memset(fm, 0, sizeof(*fm));
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = max;
	return ioctl(fd, FS_IOC_FIEMAP, fm);
}

static void t_fiemap(void)
{
	struct { struct fiemap fm; struct fiemap_extent fe[8]; } b;
	struct fiemap *mapped;
	struct fiemap_extent *last;
	int fd, mfd;

	fresh("fm");
	fresh("fm-map");
	fd = open(g("fm"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0, "open");
	CHECK(fiemap_of(fd, &b.fm, 8) == 0, "FIEMAP of an empty file");
	CHECK(b.fm.fm_mapped_extents == 0, "no extent for an empty file");
	CHECK(pwrite(fd, "d", 1, 9999) == 1, "write");
	CHECK(fiemap_of(fd, &b.fm, 8) == 0, "FIEMAP");
	CHECK(b.fm.fm_mapped_extents >= 1, "an extent");
	last = &b.fm.fm_extents[b.fm.fm_mapped_extents - 1];
	CHECK(last->fe_flags & FIEMAP_EXTENT_LAST, "the last flagged LAST");
	CHECK(last->fe_logical + last->fe_length >= 10000, "data covered");
	CHECK(fiemap_of(fd, &b.fm, 0) == 0 && b.fm.fm_mapped_extents >= 1,
	      "extent count query");
	/* Into a mapping of a glockfs file (generic/742): no deadlock. */
	mfd = open(g("fm-map"), O_RDWR | O_CREAT, 0644);
	CHECK(mfd >= 0 && ftruncate(mfd, PG) == 0, "map file");
	mapped = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(mapped != MAP_FAILED, "mmap");
	CHECK(fiemap_of(fd, mapped, 8) == 0 && mapped->fm_mapped_extents >= 1,
	      "FIEMAP into a mapped glockfs file");
	munmap(mapped, PG);
	close(mfd);
	close(fd);
}

static void t_seek(void)
{
	off_t size = (1 << 20) + PG, e, got;
	int fd, lfd;

	fresh("sk");
	put(g("sk"), "data", 4, 0);
	put(g("sk"), "more", 4, size - PG);	/* hole in between */
	fd = open(g("sk"), O_RDONLY);
	lfd = open(l("sk"), O_RDONLY);
	CHECK(fd >= 0 && lfd >= 0, "open");
	CHECK(size_of(g("sk")) == size - PG + 4, "size");
	size = size - PG + 4;
	/* The lower's answers (generic ones where it knows no holes). */
	for (off_t off = 0; off < size; off += 256 << 10) {
		e = lseek(lfd, off, SEEK_HOLE);
		got = lseek(fd, off, SEEK_HOLE);
		CHECK(got == e, "SEEK_HOLE %ld: %ld, lower %ld", (long)off,
		      (long)got, (long)e);
		e = lseek(lfd, off, SEEK_DATA);
		got = lseek(fd, off, SEEK_DATA);
		CHECK(got == e, "SEEK_DATA %ld: %ld, lower %ld", (long)off,
		      (long)got, (long)e);
	}
	CHECK(lseek(fd, 0, SEEK_DATA) == 0, "data at 0");
	CHECK(lseek(fd, size, SEEK_DATA) < 0 && errno == ENXIO, "DATA at EOF");
	CHECK(lseek(fd, size, SEEK_HOLE) < 0 && errno == ENXIO, "HOLE at EOF");
	got = lseek(fd, 0, SEEK_HOLE);
	printf("  SEEK_HOLE from 0: %ld (size %ld)\n", (long)got, (long)size);
	close(fd);
	close(lfd);
}

static ssize_t copy_all(int in, off_t *pin, int out, off_t *pout, size_t len)
{
	ssize_t n, done = 0;

	while ((size_t)done < len) {
		n = copy_file_range(in, pin, out, pout, len - done, 0);
		if (n < 0)
			return n;
		if (!n)
			break;
		done += n;
	}
	return done;
}

static void t_copy_range(void)
{
	static char src[300000], got[310000];
	off_t pin = 0, pout = 5000;
	int in, out;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = 'a' + i % 23;
	fresh("cp-in");
	fresh("cp-out");
	in = open(g("cp-in"), O_RDWR | O_CREAT, 0644);
	out = open(g("cp-out"), O_RDWR | O_CREAT, 0644);
	CHECK(in >= 0 && out >= 0, "open");
	/* Dirty in our cache only: the copy must see it. */
	CHECK(write(in, src, sizeof(src)) == sizeof(src), "write source");
	CHECK(pwrite(out, "zzzz", 4, 0) == 4, "write destination head");
	/* Cached pages of the destination range, to be replaced. */
	CHECK(pread(out, got, 4, 0) == 4, "cache the destination");
	CHECK(copy_all(in, &pin, out, &pout, sizeof(src)) == sizeof(src),
	      "copy_file_range");
	CHECK(pin == sizeof(src) && pout == 5000 + (off_t)sizeof(src),
	      "offsets advanced");
	CHECK(size_of(g("cp-out")) == 5000 + (off_t)sizeof(src), "size");
	CHECK(pread(out, got, sizeof(got), 0) == 5000 + (ssize_t)sizeof(src),
	      "read back");
	CHECK(!memcmp(got, "zzzz", 4) && zeros(out, 4, 4996), "head kept");
	CHECK(!memcmp(got + 5000, src, sizeof(src)), "copied bytes");
	pin = sizeof(src);
	CHECK(copy_file_range(in, &pin, out, NULL, 10, 0) == 0, "past EOF: 0");
	/* Within one file, not overlapping: one EX. */
	pin = 0;
	pout = 400000;
	CHECK(copy_all(out, &pin, out, &pout, 5004) == 5004, "same file");
	CHECK(pread(out, got, 4, 400000) == 4 && !memcmp(got, "zzzz", 4),
	      "same-file copy");
	CHECK(fsync(out) == 0, "fsync");
	close(out);
	/* A cached, partly overwritten page: read again, not zeroed. */
	fresh("cp-out2");
	out = open(g("cp-out2"), O_RDWR | O_CREAT, 0644);
	CHECK(out >= 0 && pwrite(out, "zzzz", 4, 0) == 4, "write cp-out2");
	CHECK(fsync(out) == 0 && pread(out, got, 4, 0) == 4, "cache it");
	pin = 0;
	pout = 2;
	CHECK(copy_all(in, &pin, out, &pout, 10) == 10, "copy into a page");
	CHECK(pread(out, got, 12, 0) == 12 && !memcmp(got, "zz", 2) &&
	      !memcmp(got + 2, src, 10), "the page as copied: %.12s", got);
	close(in);
	close(out);
	in = open(l("cp-out"), O_RDONLY);
	CHECK(in >= 0 && pread(in, got, sizeof(src), 5000) == sizeof(src) &&
	      !memcmp(got, src, sizeof(src)), "in the lower");
	close(in);
}

static const struct test {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "link", t_link },
	{ "mknod", t_mknod },
	{ "tmpfile", t_tmpfile },
	{ "xattr_user", t_xattr_user },
	{ "xattr_trusted", t_xattr_trusted },
	{ "xattr_security", t_xattr_security },
	{ "acl", t_acl },
	{ "fileattr", t_fileattr },
	{ "statfs", t_statfs },
	{ "fallocate", t_fallocate },
	{ "fiemap", t_fiemap },
	{ "seek_data_hole", t_seek },
	{ "copy_file_range", t_copy_range },
};

static int run(const struct test *t)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		alarm(120);
		t->fn();
		exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("ok   surface: %s\n", t->name);
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("ok   surface: %s (as the lower)\n", t->name);
		return 0;
	}
	printf("FAIL surface: %s (%s %d)\n", t->name,
	       WIFSIGNALED(st) ? "signal" : "exit",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 1;
}

static int cmd_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT |
						 O_TRUNC, 0644);
	struct stat st;
	ssize_t n;

	if (in < 0 || out < 0 || fstat(in, &st) < 0)
		return perror("open"), 1;
	n = copy_all(in, NULL, out, NULL, st.st_size);
	if (n != st.st_size)
		return fprintf(stderr, "copied %zd of %ld: %s\n", n,
			       (long)st.st_size, strerror(errno)), 1;
	return close(out) ? 1 : 0;
}

static int cmd_fiemap(const char *p)
{
	struct { struct fiemap fm; struct fiemap_extent fe[8]; } b;
	int fd = open(p, O_RDONLY);

	if (fd < 0 || fiemap_of(fd, &b.fm, 8) < 0)
		return perror("fiemap"), 1;
	for (unsigned int i = 0; i < b.fm.fm_mapped_extents; i++)
		printf("%llu %llu 0x%x\n",
		       (unsigned long long)b.fm.fm_extents[i].fe_logical,
		       (unsigned long long)b.fm.fm_extents[i].fe_length,
		       b.fm.fm_extents[i].fe_flags);
	return 0;
}

int main(int argc, char **argv)
{
	int fails = 0, n = 0;

	if (argc == 4 && !strcmp(argv[1], "copy"))
		return cmd_copy(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "fiemap"))
		return cmd_fiemap(argv[2]);
	if (argc < 3) {
		fprintf(stderr, "usage: fs-surface DIR LOWER [TEST...] | copy SRC DST | fiemap FILE\n");
		return 2;
	}
	dir = argv[1];
	lower = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int want = argc == 3;

		for (int a = 3; a < argc; a++)
			want |= !strcmp(argv[a], tests[i].name);
		if (!want)
			continue;
		fails += run(&tests[i]);
		n++;
	}
	printf("%d passed, %d failed\n", n - fails, fails);
	return fails ? 1 : 0;
}
