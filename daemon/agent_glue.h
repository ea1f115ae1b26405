/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_glue.c: runs the node's lock agent core (agent.c) inside glockd.
 *
 * The core acts through struct glock__agent_ops; the glue gives it the
 * loop's clock and one loop timer, request ids, the lock path to submit
 * to (struct glockd_agent_ops, wired in main.c) and the owners of its
 * clients to tell about their holders (struct glockd_agent_owner: an IPC
 * connection in ipc.c, the kernel in kdev.c).  What the lock path says
 * back comes in through glockd_agent_on_*(), also wired in main.c.
 */
#ifndef GLOCKD_AGENT_GLUE_H
#define GLOCKD_AGENT_GLUE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.h"
#include "glockd.h"

struct glockd_agent_ops {
	/*
	 * Queue an op of the local node (op->node is set) on the lock path:
	 * 0, -EAGAIN (queue full), -ENOTCONN (not synced or connected), -EINVAL.
	 * The answer comes back as glockd_agent_on_output() or _on_op_error().
	 */
	int (*submit)(struct glockd *gd, const struct glock_op *op);
};

/* The core, with ops wired to the loop and to ops.  0 or -ENOMEM (logged). */
int glockd_agent_start(struct glockd *gd, const struct glockd_agent_ops *ops);
/* Drops everything without submitting anything; after ipc and kdev stopped. */
void glockd_agent_stop(struct glockd *gd);
/* The core, for the clients' adapters (ipc.c, kdev.c); NULL before start. */
struct glock__agent *glockd_agent_core(struct glockd *gd);

/*
 * From the lock path (the membership adapter's engine outputs, or the
 * p2p lock path's answers).
 *
 * on_output: every engine output that is not the membership adapter's own
 * business (GRANT, DENY, DEMOTE, LOST, SYNCED, UNSYNCED).
 *
 * on_op_error: a local op submitted through ops.submit came back refused
 * (err from glock_engine_apply(), e.g. -EEXIST for a request resent after
 * a config change that is already queued, -ENOENT, -EBUSY), or it could
 * not be encoded (-EINVAL).  No GRANT/DENY output will follow for it;
 * answer the requester from err.
 *
 * on_cluster_lost: the local corosync went away.  Every local grant and
 * pending request is gone (the engine is being replaced by an empty one;
 * no LOST/DENY outputs are emitted for them); until the next SYNCED output
 * submit() returns -ENOTCONN.
 */
void glockd_agent_on_output(struct glockd *gd, const struct glock_output *out);
void glockd_agent_on_op_error(struct glockd *gd, const struct glock_op *op, int err);
void glockd_agent_on_cluster_lost(struct glockd *gd);

/*
 * A clean stop (drain.c): releases the node's idle cached grants and caches
 * nothing more.  *released: how many went now; *busy: glocks the agent
 * still has (held or wanted by a local client).  true when none is cached.
 */
bool glockd_agent_give_back(struct glockd *gd, size_t *released, size_t *busy);

#endif /* GLOCKD_AGENT_GLUE_H */
