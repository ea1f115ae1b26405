/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * campaign-client: one client of the fault campaign (test-19-campaign.sh).
 * Until SIGTERM (or --seconds), it takes glock 2/1 EX in lockspace LS and,
 * inside the critical section, increments a counter kept twice: in the
 * file DIR/counter and in the glock's LVB.  Each increment is appended to
 * DIR/journal ("VALUE CLIENT") and fsynced before the counter is written;
 * "ack VALUE" goes to stdout only once the unlock has returned 0.
 *
 * Overlapping critical sections are detected, not assumed away: the
 * section starts by linking DIR/inside into place (its content names the
 * client) and ends by removing it; EEXIST prints "OVERLAP OWNER" and the
 * client exits 1.  A fenced client (killed inside) leaves the marker; the
 * campaign's fence command removes a marker of the node it fences.
 *
 * glockd going away (killed, its corosync killed, inquorate) is expected:
 * the client reconnects with a short backoff and goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glock.h"

#define CAMPAIGN_MAGIC 0x63616d70u /* "camp" */
#define LOCK_TIMEOUT_MS 10000u

struct campaign_lvb {
	uint32_t magic, pad;
	uint64_t value;
	uint8_t unused[16];
};

_Static_assert(sizeof(struct campaign_lvb) == GLOCK_LVB_SIZE, "LVB layout");

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };

	nanosleep(&ts, NULL);
}

static int path_of(char *buf, size_t len, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) < len ? 0 : -ENAMETOOLONG;
}

static int read_counter(const char *path, uint64_t *v)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*v = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static int write_all_sync(const char *path, int flags, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
	size_t len = strlen(text);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		err = -EIO;
	close(fd);
	return err;
}

/*
 * One critical section under EX: 0 and *acked set when it ran and the
 * unlock returned 0; 1 on an overlap; -errno when glockd failed us.
 */
static int one_round(struct glock_ls *ls, const char *dir, const char *id, uint64_t *acked,
		     uint64_t *lvb_mismatch)
{
	char counter[4096], journal[4096], inside[4096], mine[4200], line[128];
	struct glock_handle *h;
	struct campaign_lvb lvb;
	uint64_t v;
	int err;

	if (path_of(counter, sizeof(counter), dir, "counter") ||
	    path_of(journal, sizeof(journal), dir, "journal") ||
	    path_of(inside, sizeof(inside), dir, "inside"))
		return -ENAMETOOLONG;
	err = glock_lock(ls, 2, 1, GLOCK_EX, 0, LOCK_TIMEOUT_MS, &h);
	if (err)
		return err;
	/*
	 * The marker appears whole, with its owner in it: written to a file of
	 * this client's, then linked (EEXIST: somebody is inside).  A client
	 * killed between an O_EXCL create and its write would leave an empty
	 * marker that no fence command could tell from a live one.
	 */
	if ((size_t)snprintf(mine, sizeof(mine), "%s.%s", inside, id) >= sizeof(mine)) {
		glock_unlock(h);
		return -ENAMETOOLONG;
	}
	err = write_all_sync(mine, O_CREAT | O_TRUNC, id);
	if (!err && link(mine, inside))
		err = -errno;
	unlink(mine);
	if (err && err != -EEXIST) {
		glock_unlock(h);
		return err;
	}
	if (err) {
		char owner[64] = "?";
		int rfd = open(inside, O_RDONLY | O_CLOEXEC);

		if (rfd >= 0) {
			ssize_t n = read(rfd, owner, sizeof(owner) - 1);

			owner[n > 0 ? n : 0] = 0;
			close(rfd);
		}
		printf("OVERLAP %s\n", owner);
		fflush(stdout);
		glock_unlock(h);
		return 1;
	}
	err = read_counter(counter, &v);
	if (!err) {
		glock_lvb_read(h, (uint8_t *)&lvb);
		/* An LVB lost in recovery reads zero; one that disagrees is counted. */
		if (lvb.magic == CAMPAIGN_MAGIC && lvb.value != v)
			(*lvb_mismatch)++;
		v++;
		snprintf(line, sizeof(line), "%" PRIu64 " %s\n", v, id);
		err = write_all_sync(journal, O_CREAT | O_APPEND, line);
	}
	if (!err) {
		snprintf(line, sizeof(line), "%" PRIu64 "\n", v);
		err = write_all_sync(counter, O_CREAT | O_TRUNC, line);
	}
	if (!err) {
		memset(&lvb, 0, sizeof(lvb));
		lvb.magic = CAMPAIGN_MAGIC;
		lvb.value = v;
		err = glock_lvb_write(h, (const uint8_t *)&lvb);
	}
	if (unlink(inside) && !err)
		err = -errno;
	if (glock_handle_lost(h))
		err = err ? err : -ENOLCK;
	if (glock_unlock(h) == 0 && !err)
		*acked = v;
	return err;
}

int main(int argc, char **argv)
{
	const char *ls_name = "campaign", *dir = NULL, *id = NULL;
	unsigned int seconds = 3600;
	uint64_t acks = 0, errors = 0, lvb_mismatch = 0;
	struct glock_ls *ls = NULL;
	struct sigaction sa;
	time_t deadline;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "l:d:i:s:")) != -1) {
		switch (c) {
		case 'l': ls_name = optarg; break;
		case 'd': dir = optarg; break;
		case 'i': id = optarg; break;
		case 's': seconds = (unsigned int)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (!dir || !id || optind != argc)
		goto usage;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	deadline = time(NULL) + seconds;
	while (!stop && time(NULL) < deadline) {
		uint64_t acked = 0;
		int err;

		if (!ls && glock_open(ls_name, &ls)) {
			ls = NULL;
			sleep_ms(100);
			continue;
		}
		err = one_round(ls, dir, id, &acked, &lvb_mismatch);
		if (err == 1) {
			rc = 1;
			break;
		}
		if (acked) {
			printf("ack %" PRIu64 "\n", acked);
			fflush(stdout);
			acks++;
		}
		if (err) {
			errors++;
			glock_close(ls); /* glockd went away or refused: start again */
			ls = NULL;
			sleep_ms(50);
		}
	}
	glock_close(ls);
	printf("done acks=%" PRIu64 " errors=%" PRIu64 " lvb_mismatch=%" PRIu64 "\n", acks, errors,
	       lvb_mismatch);
	return rc;
usage:
	fprintf(stderr, "usage: campaign-client -d DIR -i ID [-l LOCKSPACE] [-s SECONDS]\n");
	return 2;
}
