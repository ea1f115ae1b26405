// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * append-flood: several nodes append records to one shared file at once,
 * as fast as each can, with O_APPEND.  Every write(2) takes the inode's
 * cluster lock EX, so with two or more writers each append is, most of
 * the time, a handoff between nodes.  Used by deploy/bench-vm on glockfs
 * and on GFS2 alike.
 *
 *   append-flood [--ready F] [--go F] [--samples F] FILE NODE SECONDS
 *   append-flood --check FILE NODE=COUNT...
 *
 * A writer opens FILE, creates the --ready file, waits (at most 120 s)
 * until the --go file exists, then appends for SECONDS.  The files are on
 * a directory every node and the host see (the 9p share of the test
 * cluster): the host says go once every writer is ready, so no writer
 * runs alone, uncontended, at the start.  It prints one JSON line:
 * {"node", "n", "p50_us", "p99_us", "seconds", "per_s"}, each write timed
 * on this node's CLOCK_MONOTONIC (nothing compares two nodes' clocks);
 * --samples gets the sorted latencies in microseconds, one per line.  --check reads the file and wants, for
 * each NODE=COUNT, that node's sequence numbers 0..COUNT-1 in order, each
 * once, and nothing else: a lost, torn, doubled or reordered append fails,
 * and the counts of each are printed.
 * Exit 0 on success, 1 on a failure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECLEN 48
#define MAX_NODES 16
#define MAX_SAMPLES (1u << 22)

static void rec_fmt(char *buf, long seq, int node)
{
	memset(buf, '.', RECLEN);
	snprintf(buf, RECLEN, "flood node %02d seq %09ld ", node, seq);
	buf[strlen(buf)] = '.';
	buf[RECLEN - 1] = '\n';
}

static int rec_parse(const char *buf, long *seq, int *node)
{
	char want[RECLEN];

	if (sscanf(buf, "flood node %d seq %ld ", node, seq) != 2)
		return -1;
	if (*node < 0 || *node >= MAX_NODES || *seq < 0)
		return -1;
	rec_fmt(want, *seq, *node);
	return memcmp(want, buf, RECLEN) ? -1 : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Reads the whole file and counts, per node, the appends found, lost
 * (written, never found: overwritten by another node's append at the same
 * offset), doubled and out of order, and the torn or foreign records; so a
 * failure says how much went wrong, not only where it started.
 */
static int check(const char *path, int argc, char **argv)
{
	long want[MAX_NODES] = { 0 }, found[MAX_NODES] = { 0 }, doubled[MAX_NODES] = { 0 };
	long reordered[MAX_NODES] = { 0 }, last[MAX_NODES], seq, total = 0, torn = 0, i;
	long bad_total = 0, first_bad = -1;
	unsigned char *seen[MAX_NODES] = { NULL };
	char buf[RECLEN];
	int node, fd, rc = 1;
	ssize_t r;

	for (i = 0; i < MAX_NODES; i++)
		last[i] = -1;
	for (i = 0; i < argc; i++) {
		if (sscanf(argv[i], "%d=%ld", &node, &seq) != 2 || node < 0 ||
		    node >= MAX_NODES || seq < 0 || seq > (long)MAX_SAMPLES) {
			fprintf(stderr, "append-flood: bad NODE=COUNT '%s'\n", argv[i]);
			goto out;
		}
		want[node] = seq;
		seen[node] = calloc((size_t)seq + 1, 1);
		if (!seen[node]) {
			perror("calloc");
			goto out;
		}
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		goto out;
	}
	for (i = 0;; i++) {
		r = pread(fd, buf, RECLEN, (off_t)i * RECLEN);
		if (r == 0)
			break;
		if (r != RECLEN || rec_parse(buf, &seq, &node) || !seen[node] ||
		    seq >= want[node]) {
			if (first_bad < 0) {
				first_bad = i;
				fprintf(stderr, "record %ld: torn or foreign (%zd bytes): %.*s\n", i, r,
					(int)(r > 0 ? r - 1 : 0), buf);
			}
			torn++;
			if (r != RECLEN)
				break;
			continue;
		}
		total++;
		if (seen[node][seq]) {
			doubled[node]++;
		} else {
			seen[node][seq] = 1;
			found[node]++;
		}
		if (seq < last[node])
			reordered[node]++;
		last[node] = seq;
	}
	close(fd);
	for (node = 0; node < MAX_NODES; node++) {
		long lost = want[node] - found[node];

		if (!seen[node])
			continue;
		if (lost || doubled[node] || reordered[node]) {
			printf("node %d: wrote %ld, found %ld, lost %ld, doubled %ld, out of order %ld\n",
			       node, want[node], found[node], lost, doubled[node], reordered[node]);
			bad_total += lost + doubled[node] + reordered[node];
		}
	}
	if (torn)
		printf("%ld torn or foreign records\n", torn);
	if (bad_total || torn) {
		printf("FAILED: %ld records read\n", total + torn);
		goto out;
	}
	printf("%ld records, every node's in order, each once\n", total);
	rc = 0;
out:
	for (node = 0; node < MAX_NODES; node++)
		free(seen[node]);
	return rc;
}

static int write_samples(const char *path, const uint64_t *v, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f) {
		perror(path);
		return -1;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%.1f\n", (double)v[i] / 1000.0);
	return fclose(f);
}

/* Waits for the host's go, polling: the share has no way to notify. */
static int wait_go(const char *ready, const char *go)
{
	int fd, i;

	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || close(fd)) {
			perror(ready);
			return -1;
		}
	}
	if (!go)
		return 0;
	for (i = 0; i < 120000; i++) {
		if (!access(go, F_OK))
			return 0;
		usleep(1000);
	}
	fprintf(stderr, "append-flood: no %s after 120 s\n", go);
	return -1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--ready F] [--go F] [--samples F] FILE NODE SECONDS\n"
		"       %s --check FILE NODE=COUNT...\n", prog, prog);
}

int main(int argc, char **argv)
{
	const char *ready = NULL, *go = NULL, *samples = NULL, *prog = argv[0];
	uint64_t *lat, t0, t1, end, elapsed;
	char buf[RECLEN];
	size_t n = 0;
	double seconds;
	int node, fd;

	if (argc >= 3 && !strcmp(argv[1], "--check"))
		return check(argv[2], argc - 3, argv + 3);
	while (argc > 2 && !strncmp(argv[1], "--", 2)) {
		if (!strcmp(argv[1], "--ready"))
			ready = argv[2];
		else if (!strcmp(argv[1], "--go"))
			go = argv[2];
		else if (!strcmp(argv[1], "--samples"))
			samples = argv[2];
		else
			break;
		argc -= 2;
		argv += 2;
	}
	if (argc != 4) {
		usage(prog);
		return 1;
	}
	node = atoi(argv[2]);
	seconds = atof(argv[3]);
	if (node < 0 || node >= MAX_NODES || seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "append-flood: NODE is 0..%d, SECONDS in (0, 3600]\n",
			MAX_NODES - 1);
		return 1;
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	if (!lat) {
		perror("malloc");
		return 1;
	}
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (wait_go(ready, go))
		return 1;
	t0 = now_ns();
	end = t0 + (uint64_t)(seconds * 1e9);
	for (t1 = t0; t1 < end && n < MAX_SAMPLES;) {
		uint64_t t = t1;

		rec_fmt(buf, (long)n, node);
		if (write(fd, buf, RECLEN) != RECLEN) {
			perror("append-flood: write");
			return 1;
		}
		t1 = now_ns();
		lat[n++] = t1 - t;
	}
	if (close(fd)) {
		perror("append-flood: close");
		return 1;
	}
	elapsed = t1 - t0;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	if (samples && write_samples(samples, lat, n))
		return 1;
	printf("{\"node\":%d,\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"seconds\":%.3f,\"per_s\":%.1f}\n",
	       node, n, n ? lat[n / 2] / 1000.0 : 0.0, n ? lat[n * 99 / 100] / 1000.0 : 0.0,
	       elapsed / 1e9, elapsed ? n * 1e9 / elapsed : 0.0);
	free(lat);
	return 0;
}
