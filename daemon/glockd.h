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

struct glockd {
	const struct glockd_config *cfg;
	qb_loop_t *loop;
	uint32_t local_node;
	struct glock_engine *engine;
	struct glockd_cluster *cluster;
	struct glockd_agent *agent;
	struct glockd_ipc *ipc;
	struct glockd_kdev *kdev;
	bool stopping;
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

/* agent.c: receives every engine output for the local node. */
void glockd_agent_on_output(struct glockd *gd, const struct glock_output *out);

#endif /* GLOCKD_H */
