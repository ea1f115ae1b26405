// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmod-iotest DIR: the glockfs I/O checks a shell cannot do, run inside the
 * test guest on a glockfs mount.  mmap read/write, read()/write() with the
 * user buffer an unfaulted mapping of a glockfs file (the gfs2 page fault
 * retry path), truncate, O_APPEND.  Exits 0 if all pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096
#define NPAGES 64
#define SIZE (NPAGES * PG)

static int fails;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " (errno %s)\n", strerror(errno));	\
		fails++;						\
		return;							\
	}								\
} while (0)

static char *path(const char *dir, const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + seed) ^ (i >> 12));
}

static int make_file(const char *name, unsigned int seed)
{
	unsigned char *buf = malloc(SIZE);
	int fd;

	pattern(buf, SIZE, seed);
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, SIZE) != SIZE) {
		free(buf);
		return -1;
	}
	free(buf);
	return fd;
}

static void test_mmap_write(const char *dir)
{
	unsigned char *map, *want = malloc(SIZE), *got = malloc(SIZE);
	int fd = open(path(dir, "mmap"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0, "open");
	CHECK(ftruncate(fd, SIZE) == 0, "ftruncate");
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap");
	pattern(want, SIZE, 7);
	memcpy(map, want, SIZE);
	CHECK(msync(map, SIZE, MS_SYNC) == 0, "msync");
	CHECK(munmap(map, SIZE) == 0, "munmap");
	CHECK(pread(fd, got, SIZE, 0) == SIZE, "pread");
	CHECK(!memcmp(want, got, SIZE), "mmap data differs from read()");
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap ro");
	CHECK(!memcmp(want, map, SIZE), "mmap read differs");
	munmap(map, SIZE);
	close(fd);
	free(want);
	free(got);
	printf("ok mmap_write\n");
}

/* read() into an unfaulted shared mapping of another glockfs file. */
static void test_read_into_mapping(const char *dir)
{
	unsigned char *map, *want = malloc(SIZE);
	int src = make_file(path(dir, "src"), 3);
	int dst = make_file(path(dir, "dst"), 9);

	CHECK(src >= 0 && dst >= 0, "make files");
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dst, 0);
	CHECK(map != MAP_FAILED, "mmap");
	CHECK(pread(src, map, SIZE, 0) == SIZE, "pread into mapping");
	pattern(want, SIZE, 3);
	CHECK(!memcmp(want, map, SIZE), "data read into mapping differs");
	munmap(map, SIZE);

	/* The same file as both source and buffer. */
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, src, 0);
	CHECK(map != MAP_FAILED, "mmap self");
	CHECK(pread(src, map + SIZE / 2, SIZE / 2, 0) == SIZE / 2,
	      "pread into own mapping");
	CHECK(!memcmp(want, map + SIZE / 2, SIZE / 2), "self read differs");
	munmap(map, SIZE);
	close(src);
	close(dst);
	free(want);
	printf("ok read_into_mapping\n");
}

/* write() from an unfaulted shared mapping of another glockfs file. */
static void test_write_from_mapping(const char *dir)
{
	unsigned char *map, *want = malloc(SIZE), *got = malloc(SIZE);
	int src = make_file(path(dir, "wsrc"), 5);
	int dst = open(path(dir, "wdst"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK(src >= 0 && dst >= 0, "make files");
	close(src);
	src = open(path(dir, "wsrc"), O_RDONLY);
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, src, 0);
	CHECK(map != MAP_FAILED, "mmap");
	CHECK(write(dst, map, SIZE) == SIZE, "write from mapping");
	/* And into itself: dst's own mapping as the source. */
	munmap(map, SIZE);
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, dst, 0);
	CHECK(map != MAP_FAILED, "mmap dst");
	CHECK(pwrite(dst, map, SIZE / 2, SIZE) == SIZE / 2, "self write");
	munmap(map, SIZE);
	pattern(want, SIZE, 5);
	CHECK(pread(dst, got, SIZE, 0) == SIZE, "pread");
	CHECK(!memcmp(want, got, SIZE), "written data differs");
	CHECK(pread(dst, got, SIZE / 2, SIZE) == SIZE / 2, "pread tail");
	CHECK(!memcmp(want, got, SIZE / 2), "self-written data differs");
	close(src);
	close(dst);
	free(want);
	free(got);
	printf("ok write_from_mapping\n");
}

static void test_truncate_append(const char *dir)
{
	unsigned char buf[3 * PG];
	struct stat st;
	int fd = make_file(path(dir, "trunc"), 1), i;

	CHECK(fd >= 0, "make file");
	CHECK(ftruncate(fd, PG + 100) == 0, "shrink");
	CHECK(fstat(fd, &st) == 0 && st.st_size == PG + 100, "size after shrink");
	CHECK(ftruncate(fd, 3 * PG) == 0, "grow");
	CHECK(pread(fd, buf, sizeof(buf), 0) == sizeof(buf), "pread");
	for (i = PG + 100; i < 3 * PG; i++)
		CHECK(buf[i] == 0, "byte %d not zero after shrink+grow", i);
	close(fd);

	fd = open(path(dir, "trunc"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0, "open append");
	CHECK(write(fd, "tail", 4) == 4, "append");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 3 * PG + 4, "size after append");
	close(fd);
	printf("ok truncate_append\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	test_mmap_write(argv[1]);
	test_read_into_mapping(argv[1]);
	test_write_from_mapping(argv[1]);
	test_truncate_append(argv[1]);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
