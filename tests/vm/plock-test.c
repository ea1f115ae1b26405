// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * plock-test: fcntl() byte-range locks for the guest tests
 * (tests/vm/posix-cluster.sh phase plock, tests/vm/kmod-single.sh).
 *
 *   plock-test [-o] [-a SECS] try  FILE r|w START LEN
 *       F_SETLK (-o: F_OFD_SETLK): exit 0 locked (then released by exit),
 *       75 refused (EAGAIN/EACCES), 37 ENOLCK, 1 another error (printed).
 *   plock-test [-o] [-a SECS] wait FILE r|w START LEN
 *       F_SETLKW (-o: F_OFD_SETLKW), with alarm(SECS) if -a (a handler
 *       without SA_RESTART): exit 0 granted, 4 interrupted (EINTR), 1 other.
 *   plock-test [-o] get FILE r|w START LEN
 *       F_GETLK (-o: F_OFD_GETLK): prints "none", or "W|R START LEN PID".
 *   plock-test [-o] [-w] [-a SECS] hold FILE r|w START LEN PIDFILE
 *       Takes the lock (F_SETLKW with -w, else F_SETLK; -a as for wait),
 *       writes "PID RESULT" to PIDFILE (RESULT: ok, eagain, eintr, or
 *       err:ERRNO; written to PIDFILE.new first, then renamed; "PID
 *       waiting" goes there before the call), and stays: SIGUSR1 unlocks
 *       the range (F_UNLCK; then "PID unlocked"), SIGUSR2 closes the file
 *       ("PID closed"), SIGTERM ends it.  It keeps the file open otherwise.
 *       With -2 OFF, SIGHUP asks a second lock: F_SETLKW WR on byte OFF
 *       ("PID waiting2", then ok2, edeadlk, eintr2 or err2:ERRNO).
 *   plock-test count FILE N
 *       N times: F_SETLKW WR on byte 0, read the decimal counter at the
 *       start of FILE, write it back plus one, F_UNLCK.
 *
 * LEN 0 means to the end of the file and beyond, as in struct flock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ofd, wait_flag;
static unsigned int alarm_secs;
static long long second_off = -1;
static volatile sig_atomic_t got_usr1, got_usr2, got_term, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	/* SIGALRM: only to interrupt F_SETLKW */
}

static void handle(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: F_SETLKW fails with EINTR */
	sigaction(sig, &sa, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: plock-test [-o] [-w] [-a SECS] [-2 OFF] try|wait|get|hold FILE r|w START LEN [PIDFILE]\n"
			"       plock-test count FILE N\n");
	exit(2);
}

static void fill(struct flock *fl, const char *type, const char *start, const char *len)
{
	memset(fl, 0, sizeof(*fl));
	if (!strcmp(type, "r"))
		fl->l_type = F_RDLCK;
	else if (!strcmp(type, "w"))
		fl->l_type = F_WRLCK;
	else
		usage();
	fl->l_whence = SEEK_SET;
	fl->l_start = strtoll(start, NULL, 0);
	fl->l_len = strtoll(len, NULL, 0);
}

static int setlk(int fd, struct flock *fl, int wait)
{
	int cmd = ofd ? (wait ? F_OFD_SETLKW : F_OFD_SETLK) : (wait ? F_SETLKW : F_SETLK);

	fl->l_pid = 0;
	return fcntl(fd, cmd, fl);
}

static void put_state(const char *pidfile, const char *what)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", pidfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d %s\n", (int)getpid(), what) < 0 || fclose(f)) {
		perror(tmp);
		exit(1);
	}
	if (rename(tmp, pidfile)) {
		perror(pidfile);
		exit(1);
	}
}

static const char *result_of(int r, int err, char *buf, size_t len)
{
	if (!r)
		return "ok";
	if (err == EAGAIN || err == EACCES)
		return "eagain";
	if (err == EINTR)
		return "eintr";
	snprintf(buf, len, "err:%s", strerror(err));
	return buf;
}

static int do_hold(const char *file, struct flock *fl, const char *pidfile)
{
	char buf[128];
	sigset_t none;
	int fd, r, err;

	fd = open(file, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	handle(SIGUSR1);
	handle(SIGUSR2);
	handle(SIGTERM);
	handle(SIGALRM);
	handle(SIGHUP);
	put_state(pidfile, "waiting");
	if (alarm_secs)
		alarm(alarm_secs);
	r = setlk(fd, fl, wait_flag);
	err = errno;
	alarm(0);
	put_state(pidfile, result_of(r, err, buf, sizeof(buf)));
	sigemptyset(&none);
	while (!got_term) {
		sigset_t all, old;

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		if (!got_usr1 && !got_usr2 && !got_term && !got_hup)
			sigsuspend(&none);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (got_usr1) {
			struct flock un = *fl;

			got_usr1 = 0;
			un.l_type = F_UNLCK;
			if (setlk(fd, &un, 0)) {
				snprintf(buf, sizeof(buf), "err:unlock:%s", strerror(errno));
				put_state(pidfile, buf);
			} else {
				put_state(pidfile, "unlocked");
			}
		}
		if (got_hup && second_off >= 0) {
			struct flock two = *fl;

			got_hup = 0;
			two.l_type = F_WRLCK;
			two.l_start = second_off;
			two.l_len = 1;
			put_state(pidfile, "waiting2");
			if (!setlk(fd, &two, 1))
				put_state(pidfile, "ok2");
			else if (errno == EDEADLK)
				put_state(pidfile, "edeadlk");
			else if (errno == EINTR)
				put_state(pidfile, "eintr2");
			else {
				snprintf(buf, sizeof(buf), "err2:%s", strerror(errno));
				put_state(pidfile, buf);
			}
		}
		if (got_usr2) {
			got_usr2 = 0;
			close(fd);
			put_state(pidfile, "closed");
		}
	}
	return 0;
}

static int do_count(const char *file, long n)
{
	struct flock fl;
	char buf[32];
	long i, v;
	ssize_t r;
	int fd;

	fd = open(file, O_RDWR);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (i = 0; i < n; i++) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_len = 1;
		if (fcntl(fd, F_SETLKW, &fl)) {
			perror("F_SETLKW");
			return 1;
		}
		r = pread(fd, buf, sizeof(buf) - 1, 0);
		if (r < 0) {
			perror("pread");
			return 1;
		}
		buf[r] = '\0';
		v = strtol(buf, NULL, 10) + 1;
		r = snprintf(buf, sizeof(buf), "%ld\n", v);
		if (pwrite(fd, buf, (size_t)r, 0) != r) {
			perror("pwrite");
			return 1;
		}
		fl.l_type = F_UNLCK;
		if (fcntl(fd, F_SETLK, &fl)) {
			perror("F_UNLCK");
			return 1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct flock fl;
	const char *cmd;
	int opt, fd, r;

	while ((opt = getopt(argc, argv, "+owa:2:")) != -1) {
		switch (opt) {
		case 'o':
			ofd = 1;
			break;
		case 'w':
			wait_flag = 1;
			break;
		case 'a':
			alarm_secs = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case '2':
			second_off = strtoll(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 3)
		usage();
	cmd = argv[optind];
	if (!strcmp(cmd, "count"))
		return do_count(argv[optind + 1], strtol(argv[optind + 2], NULL, 10));
	if (argc - optind < 5)
		usage();
	fill(&fl, argv[optind + 2], argv[optind + 3], argv[optind + 4]);
	if (!strcmp(cmd, "hold")) {
		if (argc - optind < 6)
			usage();
		return do_hold(argv[optind + 1], &fl, argv[optind + 5]);
	}
	fd = open(argv[optind + 1], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[optind + 1]);
		return 1;
	}
	if (!strcmp(cmd, "try")) {
		if (!setlk(fd, &fl, 0))
			return 0;
		r = errno;
		if (r == EAGAIN || r == EACCES)
			return 75;
		fprintf(stderr, "F_SETLK: %s\n", strerror(r));
		return r == ENOLCK ? 37 : 1;
	}
	if (!strcmp(cmd, "wait")) {
		handle(SIGALRM);
		if (alarm_secs)
			alarm(alarm_secs);
		r = setlk(fd, &fl, 1);
		if (!r)
			return 0;
		if (errno == EINTR)
			return 4;
		perror("F_SETLKW");
		return 1;
	}
	if (!strcmp(cmd, "get")) {
		fl.l_pid = 0;
		if (fcntl(fd, ofd ? F_OFD_GETLK : F_GETLK, &fl)) {
			perror("F_GETLK");
			return 1;
		}
		if (fl.l_type == F_UNLCK)
			printf("none\n");
		else
			printf("%s %lld %lld %d\n", fl.l_type == F_WRLCK ? "W" : "R",
			       (long long)fl.l_start, (long long)fl.l_len, (int)fl.l_pid);
		return 0;
	}
	usage();
	return 2;
}
