// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * append-turns: two nodes append one record each to one glockfs file, in
 * turns, the turn being read from the file itself.
 *
 *   append-turns FILE ME ROUNDS [TIMEOUT_S]     ME: 0 (starts) or 1
 *   append-turns --check FILE ROUNDS            the file holds every record
 *
 * Records are RECLEN bytes: "seq SSSSSSS node N pad...\n".  Record i is
 * written by node i % 2.  Node ME writes record i only once the file holds
 * exactly i records and record i-1 is the other node's: every read and the
 * append each run under the inode's glock (SH, then EX), so a node that
 * saw a stale file would append a duplicate or out-of-order record, and
 * --check would fail.  Exit 0 on success, 1 on a protocol violation or an
 * I/O error, 2 on timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECLEN 32

static void rec_fmt(char *buf, long seq, int node)
{
	memset(buf, '.', RECLEN);
	snprintf(buf, RECLEN, "seq %07ld node %d ", seq, node);
	buf[strlen(buf)] = '.';
	buf[RECLEN - 1] = '\n';
}

/* 0 with the sequence number and node of a record, or -1 if it is not one. */
static int rec_parse(const char *buf, long *seq, int *node)
{
	char want[RECLEN];

	if (sscanf(buf, "seq %ld node %d ", seq, node) != 2)
		return -1;
	rec_fmt(want, *seq, *node);
	return memcmp(want, buf, RECLEN) ? -1 : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int check(const char *path, long rounds)
{
	char buf[RECLEN];
	long i, seq, total = 2 * rounds;
	int node, fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (i = 0; i < total; i++) {
		r = pread(fd, buf, RECLEN, i * RECLEN);
		if (r != RECLEN) {
			fprintf(stderr, "record %ld: short read (%zd)\n", i, r);
			return 1;
		}
		if (rec_parse(buf, &seq, &node) || seq != i || node != i % 2) {
			fprintf(stderr, "record %ld: bad: %.*s\n", i, RECLEN - 1, buf);
			return 1;
		}
	}
	r = pread(fd, buf, 1, total * RECLEN);
	if (r != 0) {
		fprintf(stderr, "data after record %ld\n", total - 1);
		return 1;
	}
	close(fd);
	printf("%ld records, all in order, each once\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds, written = 0, waits = 0, seq, n;
	double t0 = now(), limit;
	char buf[RECLEN];
	struct stat st;
	int me, fd, node;

	if (argc == 4 && !strcmp(argv[1], "--check"))
		return check(argv[2], atol(argv[3]));
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s FILE ME ROUNDS [TIMEOUT_S] | --check FILE ROUNDS\n",
			argv[0]);
		return 1;
	}
	me = atoi(argv[2]);
	rounds = atol(argv[3]);
	limit = argc == 5 ? atof(argv[4]) : 300;
	if ((me != 0 && me != 1) || rounds <= 0) {
		fprintf(stderr, "ME is 0 or 1, ROUNDS > 0\n");
		return 1;
	}
	fd = open(argv[1], O_RDWR | O_APPEND | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	while (written < rounds) {
		if (now() - t0 > limit) {
			fprintf(stderr, "node %d: timeout after %ld records\n", me, written);
			return 2;
		}
		if (fstat(fd, &st)) {
			perror("fstat");
			return 1;
		}
		if (st.st_size % RECLEN) {
			fprintf(stderr, "node %d: size %lld is not a whole number of records\n", me,
				(long long)st.st_size);
			return 1;
		}
		n = st.st_size / RECLEN;
		if (n % 2 != me) {
			/* Not our turn yet. */
			waits++;
			usleep(2000);
			continue;
		}
		if (n) {
			if (pread(fd, buf, RECLEN, (n - 1) * RECLEN) != RECLEN ||
			    rec_parse(buf, &seq, &node)) {
				fprintf(stderr, "node %d: record %ld unreadable\n", me, n - 1);
				return 1;
			}
			if (seq != n - 1 || node != !me) {
				fprintf(stderr, "node %d: last record is seq %ld node %d, want %ld %d\n",
					me, seq, node, n - 1, !me);
				return 1;
			}
		}
		if (n != 2 * written + me) {
			fprintf(stderr, "node %d: file holds %ld records, expected %ld\n", me, n,
				2 * written + me);
			return 1;
		}
		rec_fmt(buf, n, me);
		if (write(fd, buf, RECLEN) != RECLEN) {
			perror("write");
			return 1;
		}
		written++;
	}
	close(fd);
	printf("node %d: %ld records in %.1f s (%ld waits)\n", me, written, now() - t0, waits);
	return 0;
}
