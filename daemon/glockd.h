/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd internals: the one struct passed around, and the seams between
 * the adapters.  main.c owns struct glockd; cluster.c (CPG, votequorum,
 * sync, fencing) and agent.c/ipc.c (local lock agent for user-space clients
 * and /dev/glock) meet only through the functions declared here.
 */
#ifndef GLOCKD_H
#define GLOCKD_H

#include <stdbool.h>
#include <stdint.h>

#include <qb/qbloop.h>

#include "engine.h"

struct glockd_config; /* config.h */
struct glockd_cluster; /* cluster.c */
struct glockd_agent;   /* agent.c */
struct glockd_ipc;     /* ipc.c */
struct glockd_kdev;    /* kdev.c, /dev/glock bridge */
struct glockd_lockpath; /* lockpath.c */

struct glockd {
	const struct glockd_config *cfg;
	qb_loop_t *loop;
	uint32_t local_node;
	struct glock_engine *engine;
	struct glockd_cluster *cluster;
	struct glockd_lockpath *lockpath; /* lock_path = p2p (lockpath.c) */
	struct glockd_agent *agent;
	struct glockd_ipc *ipc;
	struct glockd_kdev *kdev;
	int hold_timer_fd;          /* timerfd for the next delayed demote (main.c) */
	uint64_t hold_timer_due_us; /* what it is armed for; 0: disarmed */
	bool stopping;
	bool draining;              /* drain.c: giving back before leaving */
	uint64_t drain_until_us;
	size_t drain_released;
	qb_loop_timer_handle drain_timer;
};

/* cluster.c: everything that goes to or comes from corosync. */
int glockd_cluster_start(struct glockd *gd);
void glockd_cluster_stop(struct glockd *gd);
/*
 * Queues one op of the local node for agreed-order multicast.  Returns 0,
 * -EAGAIN when the send queue is full (bounded), -ENOTCONN when the node is
 * not synced or not connected.  The answer comes back as an engine output.
 */
int glockd_cluster_submit(struct glockd *gd, const struct glock_op *op);
/* A fresh request id for the local node, unique for this daemon's life. */
uint64_t glockd_cluster_next_req_id(struct glockd *gd);

struct glockd_cluster_status {
	bool connected; /* CPG joined */
	bool quorate;   /* engine's view (ordered) */
	bool synced;
	uint32_t local_node;
	size_t n_members;
	uint32_t members[GLOCK_NODES_MAX];
	size_t n_departed;
	struct glock_departed_rec departed[GLOCK_NODES_MAX];
	uint64_t msgs_sent, msgs_received, items_sent, items_received;
	uint64_t bad_msgs, try_again, queue_len;
	uint64_t version_mismatches; /* of bad_msgs: another major version */
	uint64_t apply_errors;       /* delivered items the engine refused */
};
void glockd_cluster_status(struct glockd *gd, struct glockd_cluster_status *out);

/*
 * agent.c: the node's lock agent.  Receives every engine output that is
 * not the cluster adapter's own business (GRANT, DENY, DEMOTE, LOST, SYNCED,
 * UNSYNCED), keeps local holders and node-level caching, and serves
 * user-space clients over libqb IPC (ipc.c) and the kernel (kdev.c).
 */
int glockd_agent_start(struct glockd *gd);
void glockd_agent_stop(struct glockd *gd);
void glockd_agent_on_output(struct glockd *gd, const struct glock_output *out);

/*
 * agent.c: what cluster.c tells the agent besides engine outputs.
 *
 * on_op_error: a local op submitted with glockd_cluster_submit() came back
 * in agreed order and the engine refused it (err from glock_engine_apply(),
 * e.g. -EEXIST for a request resent after a config change that is already
 * queued, -ENOENT, -EBUSY), or it could not be encoded (-EINVAL).  No
 * GRANT/DENY output will follow for it; answer the requester from err.
 *
 * on_cluster_lost: the local corosync went away.  Every local grant and
 * pending request is gone (the engine is being replaced by an empty one;
 * no LOST/DENY outputs are emitted for them); until the next SYNCED output
 * submit() returns -ENOTCONN.
 */
void glockd_agent_on_op_error(struct glockd *gd, const struct glock_op *op, int err);
void glockd_agent_on_cluster_lost(struct glockd *gd);
/*
 * A clean stop (drain.c): releases the node's idle cached grants and caches
 * nothing more.  *released: how many went now; *busy: glocks the agent
 * still has (held or wanted by a local client).  true when none is cached.
 */
bool glockd_agent_give_back(struct glockd *gd, size_t *released, size_t *busy);

/*
 * drain.c: SIGTERM or SIGINT.  Gives back the cached grants and stops the
 * loop once the cluster has them, or after a bound; a second signal stops
 * at once.
 */
void glockd_drain_start(struct glockd *gd, int sig);

#endif /* GLOCKD_H */
