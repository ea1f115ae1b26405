/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_glue.c: the lock agent core (agent.c) inside glockd (agent_glue.h).
 *
 *   submit        ops->submit (main.c: the CPG send queue or the p2p lock
 *                 path), with the local node id filled in
 *   next_req_id   unique for this daemon's life and distinct from a
 *                 previous incarnation's on this node
 *   now_us        CLOCK_MONOTONIC, as libqb's loop reads it
 *   arm_timer     one libqb loop timer
 *   event         to the holder's owner (ipc.c's connection, kdev.c's
 *                 kernel), through its struct glockd_agent_owner
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "agent_glue.h"
#include "log.h"

struct glockd_agent {
	struct glockd *gd;
	const struct glockd_agent_ops *ops;
	struct glock__agent *core;
	qb_loop_timer_handle timer;
	bool armed;
	uint64_t next_req_id;
};

/* ---- the core's ops ---- */

static int op_submit(void *ctx, const struct glock_op *op)
{
	struct glockd_agent *a = ctx;
	struct glock_op o = *op;

	o.node = a->gd->local_node;
	return a->ops->submit(a->gd, &o);
}

static uint64_t op_next_req_id(void *ctx)
{
	struct glockd_agent *a = ctx;

	return a->next_req_id++;
}

static uint64_t op_now_us(void *ctx)
{
	return qb_util_nano_current_get() / 1000u;
}

static void timer_fired(void *data)
{
	struct glockd_agent *a = data;

	a->armed = false;
	glock__agent_timer(a->core);
}

static void op_arm_timer(void *ctx, uint64_t when_us)
{
	struct glockd_agent *a = ctx;
	uint64_t now = op_now_us(ctx);
	uint64_t delay_ns = when_us > now ? (when_us - now) * 1000u : 0;

	if (a->armed) {
		qb_loop_timer_del(a->gd->loop, a->timer);
		a->armed = false;
	}
	if (!when_us)
		return;
	if (qb_loop_timer_add(a->gd->loop, QB_LOOP_HIGH, delay_ns, a, timer_fired, &a->timer)) {
		log_err("cannot arm the agent timer: lock timeouts are late");
		return;
	}
	a->armed = true;
}

static void op_event(void *ctx, void *owner, const struct glock__agent_event *ev)
{
	struct glockd_agent_owner *o = owner;

	o->event(o, ev);
}

static const struct glock__agent_ops agent_ops = {
	.submit = op_submit,
	.next_req_id = op_next_req_id,
	.now_us = op_now_us,
	.arm_timer = op_arm_timer,
	.event = op_event,
};

/* ---- from the lock path ---- */

void glockd_agent_on_output(struct glockd *gd, const struct glock_output *out)
{
	if (gd->agent)
		glock__agent_on_output(gd->agent->core, out);
}

void glockd_agent_on_op_error(struct glockd *gd, const struct glock_op *op, int err)
{
	if (!gd->agent)
		return;
	log_glock(LOG_DEBUG, &op->name, "op %d req %" PRIu64 " refused: %s", op->kind,
		  op->req_id, glock_engine_strerror(err));
	glock__agent_on_op_error(gd->agent->core, op, err);
}

void glockd_agent_on_cluster_lost(struct glockd *gd)
{
	if (gd->agent)
		glock__agent_cluster_lost(gd->agent->core);
}

bool glockd_agent_give_back(struct glockd *gd, size_t *released, size_t *busy)
{
	struct glock__agent_counts ac;

	*released = *busy = 0;
	if (!gd->agent)
		return false;
	*released = glock__agent_release_cached(gd->agent->core);
	glock__agent_counts(gd->agent->core, &ac);
	*busy = ac.glocks;
	return ac.cached == 0;
}

/* ---- start and stop ---- */

struct glock__agent *glockd_agent_core(struct glockd *gd)
{
	return gd->agent ? gd->agent->core : NULL;
}

int glockd_agent_start(struct glockd *gd, const struct glockd_agent_ops *ops)
{
	struct glockd_agent *a = calloc(1, sizeof(*a));
	struct timespec ts;

	if (!a) {
		log_err("cannot start the lock agent: out of memory");
		return -ENOMEM;
	}
	a->gd = gd;
	a->ops = ops;
	/* Realtime seconds on top: a restarted glockd does not reuse an id. */
	clock_gettime(CLOCK_REALTIME, &ts);
	a->next_req_id = ((uint64_t)ts.tv_sec << 24) + 1;
	a->core = glock__agent_new(&agent_ops, a);
	if (!a->core) {
		free(a);
		log_err("cannot start the lock agent: out of memory");
		return -ENOMEM;
	}
	gd->agent = a;
	return 0;
}

void glockd_agent_stop(struct glockd *gd)
{
	struct glockd_agent *a = gd->agent;

	if (!a)
		return;
	if (a->armed)
		qb_loop_timer_del(gd->loop, a->timer);
	glock__agent_free(a->core);
	free(a);
	gd->agent = NULL;
}
