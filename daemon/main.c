/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd: the cluster glock daemon.  This file is the table of contents:
 * options and config, logging, the lock table and its clock, the wiring
 * of the adapters, and the order they start and stop in (run()).  Each
 * adapter is one file with one ops table, and calls no other adapter:
 * what it needs of the rest is in its table, filled in here.
 *
 *   adapter                       file          ops table (below)
 *   membership: CPG, votequorum   cluster.c     membership_ops
 *   node links: the p2p path      lockpath.c    lockpath_ops   (links.c under it)
 *   client IPC: libqb server      ipc.c         ipc_ops
 *   /dev/glock: the kernel        kdev.c        kdev_ops
 *
 * Between them: the lock agent (agent.c, run on the loop by agent_glue.c,
 * agent_ops), whose clients are IPC connections and the kernel; the pure
 * engine (engine/, the replicated table) and p2p state machines; drain.c
 * (a clean stop); codec.c (wire <-> engine); config.c (/etc/glockd.conf).
 *
 * Requests flow: client -> ipc.c or kdev.c -> agent -> agent_ops.submit ->
 * the lock path (cluster.c's send queue, or lockpath.c) -> engine or p2p
 * output -> membership_ops/lockpath_ops.output -> agent -> the client's
 * owner (ipc.c or kdev.c).
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

#include <qb/qbloop.h>

#include "agent_glue.h"
#include "cluster.h"
#include "config.h"
#include "glockd.h"
#include "ipc.h"
#include "kdev.h"
#include "lockpath.h"
#include "log.h"

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

/* ---- the lock table's clock ---- */

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

/*
 * Before each delivered message: brings the engine's clock up to date
 * (a TICK) and keeps the hold-time tick running for a while.
 */
static void engine_clock(struct glockd *gd)
{
	engine_tick(gd, monotonic_us());
}

/* (Re)arms the timer for the engine's, or the p2p's, next delayed demote. */
static void hold_timer_update(struct glockd *gd)
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
	engine_clock(gd);
	hold_timer_update(gd);
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

static void close_hold_timer(struct glockd *gd)
{
	if (gd->hold_timer_fd < 0)
		return;
	qb_loop_poll_del(gd->loop, gd->hold_timer_fd);
	close(gd->hold_timer_fd);
	gd->hold_timer_fd = -1;
}

/* ---- the wiring: what each adapter is given ---- */

/* Node links: the p2p lock path's REPORTs go through CPG, its answers to the agent. */
static const struct glockd_lockpath_ops lockpath_ops = {
	.multicast = glockd_cluster_multicast_report,
	.output = glockd_agent_on_output,
	.op_error = glockd_agent_on_op_error,
	.due_changed = hold_timer_update,
	.plock_answer = glockd_kdev_plock_answer,
};

/*
 * A fresh lock table for gd->local_node: the engine, with the membership
 * adapter as its output, and (lock_path = p2p) the p2p lock path.
 */
static int table_new(struct glockd *gd)
{
	struct glock_engine_config ec;

	glock_engine_config_defaults(&ec, gd->local_node);
	ec.hold_min_us = gd->cfg->hold_min_us;
	ec.hold_max_us = gd->cfg->hold_max_us;
	ec.hold_incr_us = gd->cfg->hold_incr_us;
	ec.hold_decr_us = gd->cfg->hold_decr_us;
	ec.depart_all = glockd_config_p2p(gd->cfg);
	glock_engine_free(gd->engine);
	gd->engine = glock_engine_new(&ec, glockd_cluster_engine_output, gd);
	if (!gd->engine) {
		log_err("cannot create the lock engine for node %u", gd->local_node);
		return -ENOMEM;
	}
	return glockd_lockpath_create(gd, &lockpath_ops);
}

static void table_free(struct glockd *gd)
{
	glockd_lockpath_free(gd);
	glock_engine_free(gd->engine);
	gd->engine = NULL;
}

static void table_applied(struct glockd *gd)
{
	glockd_lockpath_sync(gd);
	hold_timer_update(gd);
}

static void table_output(struct glockd *gd, const struct glock_output *out)
{
	if (out->kind == GLOCK_OUT_UNSYNCED)
		glockd_lockpath_reset(gd);
	glockd_agent_on_output(gd, out);
}

static void cluster_lost(struct glockd *gd)
{
	glockd_lockpath_reset(gd);
	glockd_agent_on_cluster_lost(gd);
}

/* Membership: the engine's outputs and CPG's order go to the agent and the p2p lock path. */
static const struct glockd_cluster_ops membership_ops = {
	.table_new = table_new,
	.clock = engine_clock,
	.applied = table_applied,
	.output = table_output,
	.op_error = glockd_agent_on_op_error,
	.lost = cluster_lost,
	.confchg = glockd_lockpath_confchg,
	.member_done = glockd_lockpath_done,
	.fenced = glockd_lockpath_fenced,
	.report = glockd_lockpath_report,
};

/* The lock path a local op takes: CPG's agreed order, or the p2p masters. */
static int lock_path_submit(struct glockd *gd, const struct glock_op *op)
{
	int r;

	if (!glockd_config_p2p(gd->cfg))
		return glockd_cluster_submit(gd, op);
	r = glockd_cluster_accepts(gd, op);
	return r ? r : glockd_lockpath_submit(gd, op);
}

static const struct glockd_agent_ops agent_ops = {
	.submit = lock_path_submit,
};

static int table_export(struct glockd *gd, glock_record_fn fn, void *ctx)
{
	if (glockd_config_p2p(gd->cfg))
		return glockd_lockpath_export(gd, fn, ctx);
	return gd->engine ? glock_engine_export(gd->engine, fn, ctx) : 0;
}

static size_t table_glocks(struct glockd *gd)
{
	struct glock_p2p_stats ps;

	if (glockd_config_p2p(gd->cfg)) {
		glockd_lockpath_stats(gd, &ps);
		return ps.mastered;
	}
	return gd->engine ? glock_engine_glock_count(gd->engine) : 0;
}

/* Client IPC: what glockctl status and dump show. */
static const struct glockd_ipc_ops ipc_ops = {
	.cluster_status = glockd_cluster_status,
	.table_export = table_export,
	.table_glocks = table_glocks,
	.master_of = glockd_lockpath_master_of,
	.p2p_stats = glockd_lockpath_stats,
	.p2p_counters = glockd_lockpath_counters,
	.p2p_links = glockd_lockpath_links,
	.plock_export = glockd_lockpath_export_plocks,
	.kernel_bad_requests = glockd_kdev_bad_requests,
	.kernel_mounts = glockd_kdev_mounts,
};

/*
 * /dev/glock: a kernel MOUNT is answered from the membership's state, its
 * POSIX locks by the lock path.
 */
static const struct glockd_kdev_ops kdev_ops = {
	.cluster_status = glockd_cluster_status,
	.plock = glockd_lockpath_plock,
};

/* ---- signals, config ---- */

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

/* ---- start, loop, stop ---- */

/*
 * The adapters in the order they start, the loop, and the reverse.  Each
 * start registers its own fds and timers on gd->loop, which dispatches
 * them: cpg and votequorum (cluster.c), node links (lockpath.c, links.c),
 * libqb IPC connections (ipc.c), /dev/glock (kdev.c), the hold timer and
 * the signals (here).
 */
static int run(struct glockd *gd)
{
	int status = EXIT_FAILURE;

	gd->loop = qb_loop_create();
	if (!gd->loop) {
		log_err("cannot create the main loop");
		return status;
	}
	if (setup_signals(gd)) {
		log_err("cannot install signal handlers");
		goto out_loop;
	}
	if (setup_hold_timer(gd)) {
		log_err("cannot set up the hold-time timer: %s", strerror(errno));
		goto out_timer;
	}
	/* Membership first: corosync tells us our node id, which the table needs. */
	if (glockd_cluster_start(gd, &membership_ops)) {
		log_err("cannot start the cluster connection");
		goto out_table;
	}
	if (glockd_agent_start(gd, &agent_ops) ||
	    glockd_ipc_start(gd, glockd_agent_core(gd), &ipc_ops) ||
	    glockd_kdev_start(gd, glockd_agent_core(gd), &kdev_ops)) {
		log_err("cannot start the lock agent");
		goto out_clients;
	}

	qb_loop_run(gd->loop);
	status = EXIT_SUCCESS;

out_clients:
	/* Leave the group first, so no delivery reaches a stopping agent. */
	glockd_cluster_stop(gd);
	/* The agent's clients before the agent core their holders live in. */
	glockd_kdev_stop(gd);
	glockd_ipc_stop(gd);
	glockd_agent_stop(gd);
out_table:
	table_free(gd);
out_timer:
	close_hold_timer(gd);
out_loop:
	qb_loop_destroy(gd->loop);
	return status;
}

int main(int argc, char **argv)
{
	struct glockd_config cfg;
	struct glockd gd = { .cfg = &cfg, .hold_timer_fd = -1 };
	const char *path = GLOCKD_CONFIG_DEFAULT;
	bool foreground = false, test_only = false, debug = false;
	char err[512];
	int opt, r, status;

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

	status = run(&gd);

	log_notice("glockd exiting (%d)", status);
	qb_log_fini();
	return status;
}
