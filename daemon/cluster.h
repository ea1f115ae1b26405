/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The membership adapter (cluster.c): everything that goes to or comes
 * from corosync.  CPG's agreed order feeds the engine (the replicated lock
 * table); votequorum's verdict, HELLOs and fencing ride the same order.
 *
 * It calls no other adapter: what it tells the rest goes through struct
 * glockd_cluster_ops, wired in main.c.  The engine's lifetime follows the
 * CPG connection: main.c knows how to build one (ops->table_new), this
 * adapter decides when (at start, and afresh after the local corosync went
 * away and came back).
 */
#ifndef GLOCKD_CLUSTER_H
#define GLOCKD_CLUSTER_H

#include "glockd.h"
#include "p2p.h"

struct glockd_cluster_ops {
	/*
	 * A fresh, empty gd->engine (and lock path) for gd->local_node, with
	 * glockd_cluster_engine_output() as the engine's output; one already
	 * there goes first.  0 or -errno (logged).
	 */
	int (*table_new)(struct glockd *gd);
	/*
	 * Before each delivered message is applied: brings the engine's clock
	 * up to date.
	 */
	void (*clock)(struct glockd *gd);
	/* After every input the engine applied: readiness and timers may have moved. */
	void (*applied)(struct glockd *gd);
	/*
	 * Engine outputs that are not this adapter's own business (GRANT,
	 * DENY, DEMOTE, LOST, SYNCED, UNSYNCED), for the local lock agent.
	 */
	void (*output)(struct glockd *gd, const struct glock_output *out);
	/*
	 * A local op submitted with glockd_cluster_submit() came back in agreed
	 * order and the engine refused it, or it could not be encoded; no
	 * GRANT/DENY output follows for it (agent_glue.h says more).
	 */
	void (*op_error)(struct glockd *gd, const struct glock_op *op, int err);
	/*
	 * The local corosync went away: every local grant and pending request
	 * is gone, the engine is about to be replaced by an empty one.
	 */
	void (*lost)(struct glockd *gd);

	/*
	 * In CPG order, for the p2p lock path (lock_path = p2p; REPORTs are
	 * only decoded then).  confchg: after the engine applied the same;
	 * member_done: a member's HELLO (its REPORTs came before it); fenced:
	 * FENCED, or RECOVERY_DONE when recovered.
	 */
	void (*confchg)(struct glockd *gd, const uint32_t *members, size_t n);
	void (*member_done)(struct glockd *gd, uint32_t node);
	void (*fenced)(struct glockd *gd, uint32_t node, bool recovered);
	int (*report)(struct glockd *gd, uint32_t from, uint32_t to,
		      const struct glock_p2p_msg *msg);
};

/* Connects to corosync (the node id, then ops->table_new) and joins the group. */
int glockd_cluster_start(struct glockd *gd, const struct glockd_cluster_ops *ops);
void glockd_cluster_stop(struct glockd *gd);

/*
 * Queues one op of the local node for agreed-order multicast.  Returns 0,
 * -EAGAIN when the send queue is full (bounded), -ENOTCONN when the node is
 * not synced or not connected.  The answer comes back as an engine output.
 */
int glockd_cluster_submit(struct glockd *gd, const struct glock_op *op);
/*
 * Whether the node may submit an op at all: 0, -ENOTCONN (not connected or
 * not synced), -EINVAL (not an op of the local node).  glockd_cluster_submit()
 * checks the same; the p2p lock path asks before it takes an op.
 */
int glockd_cluster_accepts(struct glockd *gd, const struct glock_op *op);
/*
 * The p2p lock path's ready GlockMessage of REPORTs, multicast in order
 * after what is queued already and never dropped at a configuration
 * change (a master waits for it).  0 or -ENOMEM.
 */
int glockd_cluster_multicast_report(struct glockd *gd, const uint8_t *buf, size_t len);
/* The engine's output callback; ctx is the struct glockd. */
void glockd_cluster_engine_output(void *ctx, const struct glock_output *out);

void glockd_cluster_status(struct glockd *gd, struct glockd_cluster_status *out);

#endif /* GLOCKD_CLUSTER_H */
