/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd: the cluster glock daemon.  This file is the table of contents:
 * options and config, logging, the loop, and the order things start and
 * stop in.  The work is elsewhere:
 *
 *   cluster.c   corosync CPG + votequorum, send queue, sync, fencing
 *   agent.c     the node's lock agent (ipc.c: user-space clients,
 *               kdev.c: the kernel via /dev/glock)
 *   engine/     the replicated lock state machine (pure)
 *   lockpath.c  lock_path = p2p: per-glock masters over node links
 *   codec.c     engine inputs <-> wire messages
 *   config.c    /etc/glockd.conf
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbdefs.h>
#include <qb/qblog.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include "cluster.h"
#include "config.h"
#include "glockd.h"
#include "lockpath.h"
#include "log.h"

/*
 * Minimum hold time (DESIGN §2): the engine delays a demote of a grant
 * younger than its hold time until a TICK shows the time has passed, and
 * stamps each grant with the time of the last TICK.  So a TICK with the
 * monotonic clock goes in before every delivered message (cheap: it looks
 * only at delayed demotes), and one timerfd is armed for the instant the
 * earliest delayed demote falls due (glock_engine_next_due).  No periodic
 * tick: an idle daemon never wakes, and a demote is sent when it is due,
 * not at the next 5 ms boundary.  A timerfd rather than a libqb timer,
 * whose sub-millisecond rest libqb spins out on epoll.
 */

#ifndef GLOCKD_VERSION
#define GLOCKD_VERSION "unknown"
#endif
#define BLACKBOX_BYTES (1024 * 1024)

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [-f] [-d] [-c FILE] [-t] [-h]\n"
		"  -f       stay in the foreground\n"
		"  -c FILE  configuration file (default %s)\n"
		"  -t       check the configuration and exit (0: valid, 1: not)\n"
		"  -d       log at debug level\n"
		"  -h       this help\n",
		prog, GLOCKD_CONFIG_DEFAULT);
}

static void log_setup(const struct glockd_config *cfg, bool foreground, bool debug)
{
	int prio = debug ? LOG_DEBUG : cfg->log_priority;
	bool to_syslog = cfg->log_target == GLOCKD_LOG_SYSLOG || !foreground;

	qb_log_init("glockd", LOG_DAEMON, prio);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, to_syslog ? QB_TRUE : QB_FALSE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED,
		   cfg->log_target == GLOCKD_LOG_STDERR && foreground ? QB_TRUE : QB_FALSE);
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", prio);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", prio);
	qb_log_format_set(QB_LOG_STDERR, "%T %N[%P] %p: %b");
	/* The blackbox keeps everything, debug included, for `glockctl dump --log`. */
	qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, BLACKBOX_BYTES);
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
}

int glockd_engine_create(struct glockd *gd)
{
	struct glock_engine_config ec;

	glock_engine_config_defaults(&ec, gd->local_node);
	ec.hold_min_us = gd->cfg->hold_min_us;
	ec.hold_max_us = gd->cfg->hold_max_us;
	ec.hold_incr_us = gd->cfg->hold_incr_us;
	ec.hold_decr_us = gd->cfg->hold_decr_us;
	ec.depart_all = glockd_lockpath_p2p(gd);
	glock_engine_free(gd->engine);
	gd->engine = glock_engine_new(&ec, glockd_cluster_engine_output, gd);
	if (!gd->engine) {
		log_err("cannot create the lock engine for node %u", gd->local_node);
		return -ENOMEM;
	}
	return glockd_lockpath_create(gd);
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void engine_tick(struct glockd *gd, uint64_t now_us)
{
	struct glock_input in = { .kind = GLOCK_IN_TICK };
	int err;

	if (!gd->engine)
		return;
	glockd_lockpath_tick(gd, now_us);
	in.u.tick.now_us = now_us;
	err = glock_engine_apply(gd->engine, &in);
	if (err)
		log_debug("tick refused: %s", glock_engine_strerror(err));
}

void glockd_engine_clock(struct glockd *gd)
{
	engine_tick(gd, monotonic_us());
}

void glockd_hold_timer_update(struct glockd *gd)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t due = 0;

	if (gd->hold_timer_fd < 0 || !gd->engine)
		return;
	uint64_t p2p_due = 0;
	bool any = glock_engine_next_due(gd->engine, &due);

	if (glockd_lockpath_next_due(gd, &p2p_due) && (!any || p2p_due < due)) {
		due = p2p_due;
		any = true;
	}
	if (!any) {
		if (!gd->hold_timer_due_us)
			return;
		due = 0; /* disarm */
	} else if (due == gd->hold_timer_due_us) {
		return;
	} else if (due == 0) {
		due = 1; /* 0 would disarm: fire at once */
	}
	its.it_value.tv_sec = (time_t)(due / 1000000u);
	its.it_value.tv_nsec = (long)(due % 1000000u) * 1000;
	if (timerfd_settime(gd->hold_timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_err("hold-time timer: %s; demotes may be late", strerror(errno));
	gd->hold_timer_due_us = due;
}

static int32_t hold_timer_fired(int32_t fd, int32_t revents, void *data)
{
	struct glockd *gd = data;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("hold-time timer read: %s", strerror(errno));
	gd->hold_timer_due_us = 0;
	glockd_engine_clock(gd);
	glockd_hold_timer_update(gd);
	return 0;
}

static int setup_hold_timer(struct glockd *gd)
{
	gd->hold_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (gd->hold_timer_fd < 0)
		return -errno;
	return qb_loop_poll_add(gd->loop, QB_LOOP_HIGH, gd->hold_timer_fd, POLLIN, gd,
				hold_timer_fired);
}

static int32_t on_signal(int32_t sig, void *data)
{
	struct glockd *gd = data;

	glockd_drain_start(gd, sig);
	return 0;
}

static int setup_signals(struct glockd *gd)
{
	qb_loop_signal_handle h;

	signal(SIGPIPE, SIG_IGN);
	if (qb_loop_signal_add(gd->loop, QB_LOOP_HIGH, SIGTERM, gd, on_signal, &h) ||
	    qb_loop_signal_add(gd->loop, QB_LOOP_HIGH, SIGINT, gd, on_signal, &h))
		return -1;
	return 0;
}

static int check_config(const struct glockd_config *cfg, const char *path)
{
	if (cfg->fence == GLOCKD_FENCE_COMMAND && access(cfg->fence_command, X_OK) != 0) {
		fprintf(stderr, "%s: fence command %s is not executable: %s\n", path,
			cfg->fence_command, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct glockd_config cfg;
	struct glockd gd = { .cfg = &cfg, .hold_timer_fd = -1 };
	const char *path = GLOCKD_CONFIG_DEFAULT;
	bool foreground = false, test_only = false, debug = false;
	char err[512];
	int opt, r, status = EXIT_FAILURE;

	while ((opt = getopt(argc, argv, "fc:tdh")) != -1) {
		switch (opt) {
		case 'f': foreground = true; break;
		case 'c': path = optarg; break;
		case 't': test_only = true; break;
		case 'd': debug = true; break;
		case 'h': usage(stdout, argv[0]); return EXIT_SUCCESS;
		default: usage(stderr, argv[0]); return EXIT_FAILURE;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return EXIT_FAILURE;
	}

	/* Config: every error names FILE:LINE. */
	glockd_config_defaults(&cfg);
	r = glockd_config_load(&cfg, path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "glockd: %s\n", err);
		return EXIT_FAILURE;
	}
	if (check_config(&cfg, path))
		return EXIT_FAILURE;
	if (test_only) {
		printf("%s: configuration OK\n", path);
		return EXIT_SUCCESS;
	}

	if (!foreground && daemon(0, 0) < 0) {
		perror("glockd: daemon");
		return EXIT_FAILURE;
	}
	log_setup(&cfg, foreground, debug);
	log_notice("glockd %s starting (config %s)", GLOCKD_VERSION, path);
	if (cfg.fence == GLOCKD_FENCE_NONE)
		log_warn("fence = none: a failed node's locks will be released without fencing; "
			 "this is unsafe for shared storage");

	gd.loop = qb_loop_create();
	if (!gd.loop) {
		log_err("cannot create the main loop");
		goto out_log;
	}
	if (setup_signals(&gd)) {
		log_err("cannot install signal handlers");
		goto out_loop;
	}
	if (setup_hold_timer(&gd)) {
		log_err("cannot set up the hold-time timer: %s", strerror(errno));
		goto out_loop;
	}

	/* Corosync first: it tells us our node id, which the engine needs. */
	if (glockd_cluster_start(&gd)) {
		log_err("cannot start the cluster connection");
		goto out_engine;
	}
	if (glockd_agent_start(&gd)) {
		log_err("cannot start the lock agent");
		goto out_cluster;
	}
	qb_loop_run(gd.loop);

	/* Leave the group first, so no delivery reaches a stopping agent. */
	status = EXIT_SUCCESS;
	glockd_cluster_stop(&gd);
	glockd_agent_stop(&gd);
	goto out_engine;
out_cluster:
	glockd_cluster_stop(&gd);
out_engine:
	glockd_lockpath_free(&gd);
	glock_engine_free(gd.engine);
	gd.engine = NULL;
out_loop:
	if (gd.hold_timer_fd >= 0) {
		qb_loop_poll_del(gd.loop, gd.hold_timer_fd);
		close(gd.hold_timer_fd);
	}
	qb_loop_destroy(gd.loop);
out_log:
	log_notice("glockd exiting (%d)", status);
	qb_log_fini();
	return status;
}
