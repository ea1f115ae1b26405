// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * glock-test-agent: a trivial /dev/glock agent for single-guest development
 * of glockfs.ko ONLY.
 *
 * It is NOT glockd and not a substitute for it: it grants every request at
 * once as if this were the only node, keeps no cluster state, knows no
 * corosync.  The real agent is glockd's /dev/glock bridge (daemon/kdev.c),
 * written from include/glock/glock_dev.h.
 *
 *   glock-test-agent [-d /dev/glock] [-D ms] [-p pidfile] [-T]
 *     -D ms   every ms milliseconds, ask for every held glock to be demoted
 *             to UN (exercises writeback/invalidate); SIGUSR1 does it once
 *     -T      ABI self-test: malformed replies must fail with EINVAL, a
 *             second open with EBUSY; exits 0/1 without serving
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glock/glock_dev.h"

#define MAX_HELD 4096

struct held {
	char lockspace[GLOCK_DEV_LOCKSPACE_LEN];
	uint32_t type;
	uint64_t number;
	uint32_t mode;
	int demote_sent;
};

static struct held held[MAX_HELD];
static unsigned int n_held;
static volatile sig_atomic_t demote_now, stop;
static unsigned long n_req, n_demote;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		demote_now = 1;
	else
		stop = 1;
}

static struct held *find_held(const char *ls, uint32_t type, uint64_t number)
{
	unsigned int i;

	for (i = 0; i < n_held; i++)
		if (held[i].type == type && held[i].number == number &&
		    !strcmp(held[i].lockspace, ls))
			return &held[i];
	return NULL;
}

static void set_held(const struct glock_dev_request *rq, uint32_t mode)
{
	struct held *h = find_held(rq->lockspace, rq->type, rq->number);

	if (!h && mode == GLOCK_DEV_MODE_UN)
		return;
	if (!h) {
		if (n_held == MAX_HELD) {
			fprintf(stderr, "agent: too many glocks\n");
			return;
		}
		h = &held[n_held++];
		memcpy(h->lockspace, rq->lockspace, sizeof(h->lockspace));
		h->type = rq->type;
		h->number = rq->number;
	}
	h->demote_sent = 0;
	h->mode = mode;
	if (mode == GLOCK_DEV_MODE_UN)
		*h = held[--n_held];
}

static void fill_version(struct glock_dev_reply *rp)
{
	rp->version[0] = GLOCK_DEV_VERSION_MAJOR;
	rp->version[1] = GLOCK_DEV_VERSION_MINOR;
	rp->version[2] = GLOCK_DEV_VERSION_PATCH;
}

static int send_reply(int fd, const struct glock_dev_reply *rp)
{
	if (write(fd, rp, sizeof(*rp)) != sizeof(*rp)) {
		fprintf(stderr, "agent: write op %u req %llu: %s\n", rp->op,
			(unsigned long long)rp->req_id, strerror(errno));
		return -1;
	}
	return 0;
}

static unsigned long n_plock, n_plock_bad_accepted;

/*
 * Each PLOCK gets malformed answers first, which the module must refuse
 * (EINVAL) without answering the request, then its real answer: -ENOLCK,
 * as glockd with lock_path = cpg (this agent is no cluster).
 */
static int answer_plock(int fd, const struct glock_dev_request *rq,
			struct glock_dev_reply *rp)
{
	struct glock_dev_reply bad;
	int i;

	n_plock++;
	rp->op = GLOCK_DEV_OP_PLOCK_REPLY;
	rp->status = -ENOLCK;
	for (i = 0; i < 10; i++) {
		bad = *rp;
		switch (i) {
		case 0: bad.op = GLOCK_DEV_OP_GRANT; break;
		case 1: bad.op = GLOCK_DEV_OP_DENY; break;
		case 2: bad.type = GLOCK_DEV_TYPE_INODE; break;
		case 3: bad.number = rq->number + 1; break;
		case 4: bad.mode = 2; break;
		case 5: bad.status = 5; break;
		case 6: bad.pad = 1; break;
		case 7: /* a conflict that no GET asked for, or with an error */
			bad.mode = 1;
			if (rq->mode == GLOCK_DEV_PLOCK_GET)
				bad.status = -EAGAIN;
			break;
		case 8: /* a conflict whose range ends before it starts */
			bad.mode = 1;
			bad.status = 0;
			bad.conflict.start = 10;
			bad.conflict.end = 9;
			break;
		case 9: /* unknown conflict flags */
			bad.mode = 1;
			bad.status = 0;
			bad.conflict.end = ~0ULL;
			bad.conflict.flags = 0x80;
			break;
		}
		if (write(fd, &bad, sizeof(bad)) >= 0 || errno != EINVAL) {
			n_plock_bad_accepted++;
			fprintf(stderr, "agent: malformed PLOCK_REPLY %d for req %llu not refused\n",
				i, (unsigned long long)rq->req_id);
		}
	}
	return send_reply(fd, rp);
}

static int answer(int fd, const struct glock_dev_request *rq)
{
	struct glock_dev_reply rp;

	memset(&rp, 0, sizeof(rp));
	fill_version(&rp);
	rp.req_id = rq->req_id;
	memcpy(rp.lockspace, rq->lockspace, sizeof(rp.lockspace));
	rp.type = rq->type;
	rp.number = rq->number;
	n_req++;

	switch (rq->op) {
	case GLOCK_DEV_OP_MOUNT:
		rp.op = GLOCK_DEV_OP_MOUNT_REPLY;
		fprintf(stderr, "agent: mount %s\n", rq->lockspace);
		break;
	case GLOCK_DEV_OP_UNMOUNT:
		fprintf(stderr, "agent: unmount %s\n", rq->lockspace);
		return 0;
	case GLOCK_DEV_OP_CANCEL:
		return 0;	/* everything was answered already */
	case GLOCK_DEV_OP_PLOCK:
		return answer_plock(fd, rq, &rp);
	case GLOCK_DEV_OP_LOCK:
	case GLOCK_DEV_OP_CONVERT:
	case GLOCK_DEV_OP_DEMOTE_DONE:
		rp.op = GLOCK_DEV_OP_GRANT;
		rp.mode = rq->mode;
		set_held(rq, rq->mode);
		break;
	case GLOCK_DEV_OP_RELEASE:
		rp.op = GLOCK_DEV_OP_GRANT;
		rp.mode = GLOCK_DEV_MODE_UN;
		set_held(rq, GLOCK_DEV_MODE_UN);
		break;
	default:
		fprintf(stderr, "agent: unknown op %u\n", rq->op);
		return -1;
	}
	return send_reply(fd, &rp);
}

static void demote_all(int fd)
{
	struct glock_dev_reply rp;
	unsigned int i;

	for (i = 0; i < n_held; i++) {
		if (held[i].demote_sent || held[i].mode == GLOCK_DEV_MODE_UN)
			continue;
		memset(&rp, 0, sizeof(rp));
		fill_version(&rp);
		rp.op = GLOCK_DEV_OP_DEMOTE;
		memcpy(rp.lockspace, held[i].lockspace, sizeof(rp.lockspace));
		rp.type = held[i].type;
		rp.number = held[i].number;
		rp.mode = GLOCK_DEV_MODE_UN;
		if (!send_reply(fd, &rp)) {
			held[i].demote_sent = 1;
			n_demote++;
		}
	}
}

static int expect_einval(int fd, const void *buf, size_t len, const char *what)
{
	ssize_t n = write(fd, buf, len);

	if (n >= 0 || errno != EINVAL) {
		fprintf(stderr, "agent -T: %s: got %zd (%s), want EINVAL\n",
			what, n, n < 0 ? strerror(errno) : "accepted");
		return 1;
	}
	fprintf(stderr, "agent -T: %s: EINVAL ok\n", what);
	return 0;
}

static int self_test(int fd, const char *dev)
{
	struct glock_dev_reply rp, bad;
	struct glock_dev_request rq;
	char big[sizeof(rp) + 8];
	int fails = 0, fd2;

	memset(&rp, 0, sizeof(rp));
	fill_version(&rp);
	rp.op = GLOCK_DEV_OP_GRANT;
	rp.req_id = 123456789;
	rp.mode = GLOCK_DEV_MODE_SH;
	strcpy(rp.lockspace, "nosuch");

	fails += expect_einval(fd, &rp, sizeof(rp) - 1, "short write");
	memset(big, 0, sizeof(big));
	memcpy(big, &rp, sizeof(rp));
	fails += expect_einval(fd, big, sizeof(big), "long write");
	bad = rp;
	bad.version[0] = GLOCK_DEV_VERSION_MAJOR + 1;
	fails += expect_einval(fd, &bad, sizeof(bad), "wrong major version");
	bad = rp;
	bad.op = GLOCK_DEV_OP_LOCK;
	fails += expect_einval(fd, &bad, sizeof(bad), "request op echoed");
	bad.op = 999;
	fails += expect_einval(fd, &bad, sizeof(bad), "unknown op");
	bad = rp;
	bad.mode = 4;
	fails += expect_einval(fd, &bad, sizeof(bad), "bad mode");
	fails += expect_einval(fd, &rp, sizeof(rp), "unknown req_id");
	bad = rp;
	bad.op = GLOCK_DEV_OP_DEMOTE;
	bad.req_id = 0;
	fails += expect_einval(fd, &bad, sizeof(bad), "demote, no such lockspace");
	bad = rp;
	bad.op = GLOCK_DEV_OP_DENY;
	bad.status = 0;
	fails += expect_einval(fd, &bad, sizeof(bad), "deny without error");
	bad = rp;
	bad.op = GLOCK_DEV_OP_PLOCK_REPLY;
	bad.type = GLOCK_DEV_TYPE_PLOCK;
	bad.mode = 0;
	fails += expect_einval(fd, &bad, sizeof(bad), "plock reply, unknown req_id");

	if (read(fd, &rq, sizeof(rq) - 1) >= 0 || errno != EINVAL) {
		fprintf(stderr, "agent -T: short read buffer not refused\n");
		fails++;
	}
	fd2 = open(dev, O_RDWR);
	if (fd2 >= 0 || errno != EBUSY) {
		fprintf(stderr, "agent -T: second open: %s, want EBUSY\n",
			fd2 >= 0 ? "succeeded" : strerror(errno));
		fails++;
		if (fd2 >= 0)
			close(fd2);
	} else {
		fprintf(stderr, "agent -T: second open: EBUSY ok\n");
	}
	fprintf(stderr, "agent -T: %s\n", fails ? "FAILED" : "passed");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/glock", *pidfile = NULL;
	struct glock_dev_request rq;
	long demote_ms = 0;
	struct timespec last, now;
	int opt, fd, selftest = 0;

	while ((opt = getopt(argc, argv, "d:D:p:T")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'D':
			demote_ms = strtol(optarg, NULL, 10);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'T':
			selftest = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-d dev] [-D ms] [-p pidfile] [-T]\n",
				argv[0]);
			return 2;
		}
	}

	fd = open(dev, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "agent: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if (selftest)
		return self_test(fd, dev);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "agent: serving %s (ABI %d.%d.%d)\n", dev,
		GLOCK_DEV_VERSION_MAJOR, GLOCK_DEV_VERSION_MINOR,
		GLOCK_DEV_VERSION_PATCH);

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, demote_ms ? (int)demote_ms : 200);

		if (n < 0 && errno != EINTR) {
			perror("agent: poll");
			break;
		}
		if (n > 0 && (pfd.revents & POLLIN)) {
			ssize_t r = read(fd, &rq, sizeof(rq));

			if (r == sizeof(rq)) {
				if (rq.version[0] != GLOCK_DEV_VERSION_MAJOR) {
					fprintf(stderr, "agent: kernel ABI %u.%u.%u, mine %d.%d.%d\n",
						rq.version[0], rq.version[1],
						rq.version[2],
						GLOCK_DEV_VERSION_MAJOR,
						GLOCK_DEV_VERSION_MINOR,
						GLOCK_DEV_VERSION_PATCH);
					break;
				}
				answer(fd, &rq);
			} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				perror("agent: read");
				break;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (demote_ms &&
		    (now.tv_sec - last.tv_sec) * 1000 +
		    (now.tv_nsec - last.tv_nsec) / 1000000 >= demote_ms) {
			demote_now = 1;
			last = now;
		}
		if (demote_now) {
			demote_now = 0;
			demote_all(fd);
		}
	}
	fprintf(stderr, "agent: exiting: %lu requests, %lu demotes, %lu plocks, %lu malformed plock replies accepted\n",
		n_req, n_demote, n_plock, n_plock_bad_accepted);
	close(fd);
	return 0;
}
