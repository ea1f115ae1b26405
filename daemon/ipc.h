/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client IPC adapter (ipc.c): glockd's libqb IPC service for libglock
 * and glockctl (proto/glock_ipc.proto).  Lock requests go to the lock
 * agent core it is given at start; the admin requests (status, dump,
 * stats) read the rest of glockd through struct glockd_ipc_ops, wired in
 * main.c, so that this adapter calls no other.
 */
#ifndef GLOCKD_IPC_H
#define GLOCKD_IPC_H

#include "agent.h"
#include "glockd.h"
#include "kdev.h"
#include "links.h"
#include "lockpath.h"

struct glockd_ipc_ops {
	/* The membership adapter's view: connection, quorum, members, CPG counters. */
	void (*cluster_status)(struct glockd *gd, struct glockd_cluster_status *out);
	/*
	 * The lock table this node keeps: the replicated engine's (lock_path =
	 * cpg), or the glocks this node masters (p2p).  0, or fn's non-zero value.
	 */
	int (*table_export)(struct glockd *gd, glock_record_fn fn, void *ctx);
	size_t (*table_glocks)(struct glockd *gd);
	/* lock_path = p2p: who masters a name, the masters' and the node links' counters. */
	uint32_t (*master_of)(struct glockd *gd, const struct glock_name *name);
	void (*p2p_stats)(struct glockd *gd, struct glock_p2p_stats *out);
	void (*p2p_counters)(struct glockd *gd, struct glockd_lockpath_counters *out);
	size_t (*p2p_links)(struct glockd *gd, uint32_t *nodes, struct glock_link_counters *links,
			    size_t max);
	/* The POSIX locks of the files this node masters, for dump. */
	int (*plock_export)(struct glockd *gd, glock_p2p_plock_fn fn, void *ctx);
	/* Malformed requests read from /dev/glock, and the lockspaces the kernel mounted. */
	uint64_t (*kernel_bad_requests)(const struct glockd *gd);
	int (*kernel_mounts)(const struct glockd *gd, struct glockd_kdev_mount **ret_v,
			     size_t *ret_n);
};

/*
 * Serves gd->cfg->ipc_name on gd->loop; every connection becomes a client
 * of core.  0 or -errno (logged).
 */
int glockd_ipc_start(struct glockd *gd, struct glock__agent *core,
		     const struct glockd_ipc_ops *ops);
/* Closes every connection (their holders go); before the agent core goes. */
void glockd_ipc_stop(struct glockd *gd);

#endif /* GLOCKD_IPC_H */
