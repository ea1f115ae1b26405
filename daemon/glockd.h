/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd internals: the one struct passed around, and what the adapters
 * share.  main.c owns struct glockd and wires the adapters to one another
 * through the ops table each is given at start; no adapter calls another.
 *
 *   cluster.c     membership: CPG + votequorum, agreed order,   glockd_cluster_ops
 *                 sync, fencing
 *   lockpath.c    node links: the p2p lock path over links.c    glockd_lockpath_ops
 *   ipc.c         client IPC: libqb server for libglock         glockd_ipc_ops
 *   kdev.c        /dev/glock: the kernel's requests             glockd_kdev_ops
 *   agent_glue.c  the lock agent core (agent.c) on the loop     glockd_agent_ops
 */
#ifndef GLOCKD_H
#define GLOCKD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qb/qbloop.h>

#include "engine.h"

struct glockd_config; /* config.h */
struct glockd_cluster;  /* cluster.c */
struct glockd_agent;    /* agent_glue.c */
struct glockd_ipc;      /* ipc.c */
struct glockd_kdev;     /* kdev.c, /dev/glock bridge */
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

/*
 * The membership adapter's view (cluster.c), for glockctl status, the
 * kernel's MOUNT and the drain.
 */
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

/*
 * An owner of agent clients (an IPC connection in ipc.c, the kernel in
 * kdev.c) embeds one and hears about its holders through it: the agent
 * glue hands each event to the owner given to glock__agent_client_new().
 */
struct glock__agent_event;
struct glockd_agent_owner {
	void (*event)(struct glockd_agent_owner *owner, const struct glock__agent_event *ev);
};

#define glockd_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * drain.c: SIGTERM or SIGINT.  Gives back the cached grants and stops the
 * loop once the cluster has them, or after a bound; a second signal stops
 * at once.
 */
void glockd_drain_start(struct glockd *gd, int sig);

#endif /* GLOCKD_H */
