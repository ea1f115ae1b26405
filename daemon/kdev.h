/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kdev.c: glockd's /dev/glock bridge.  The kernel (glockfs.ko) is one more
 * client of the node's lock agent, next to the libqb IPC connections; its
 * requests come as fixed 144-byte records (include/glock/glock_dev.h).
 *
 * main.c wires it in: glockd_kdev_start() after the agent core exists,
 * glockd_kdev_stop() before it is freed.  The agent's events for the
 * kernel's holders come through the bridge's struct glockd_agent_owner;
 * what it asks of the membership adapter goes through struct
 * glockd_kdev_ops.
 */
#ifndef GLOCKD_KDEV_H
#define GLOCKD_KDEV_H

#include <stdbool.h>

#include "agent.h"
#include "glockd.h"
#include "p2p.h"

struct glockd_kdev_ops {
	/* Connected, quorate and synced: a MOUNT is answered from these. */
	void (*cluster_status)(struct glockd *gd, struct glockd_cluster_status *out);
	/*
	 * A POSIX lock op of the kernel (glockd_lockpath_plock): 0 and the
	 * answer comes back through glockd_kdev_plock_answer(), or -errno
	 * (the kernel is answered with it at once).
	 */
	int (*plock)(struct glockd *gd, const struct glock_plock_op *op);
};

/*
 * Opens gd->cfg->dev_path and serves the kernel on gd->loop as a client
 * of core.  A missing device (or an empty dev_path) only disables kernel
 * clients; so does a device that cannot be opened, with an error logged.
 * Returns 0, or -ENOMEM.
 */
int glockd_kdev_start(struct glockd *gd, struct glock__agent *core,
		      const struct glockd_kdev_ops *ops);
/* The answer to a POSIX lock op the kernel asked through ops->plock. */
void glockd_kdev_plock_answer(struct glockd *gd, const struct glock_plock_answer *ans);
/* Closes the device (every kernel mount withdraws) and drops the kernel's holders. */
void glockd_kdev_stop(struct glockd *gd);
/* A lockspace the kernel has mounted, as glockd sees it. */
struct glockd_kdev_mount {
	char lockspace[GLOCK_LOCKSPACE_MAX];
	uint64_t glocks;   /* held by the kernel now (granted, not UN) */
	uint64_t releases; /* RELEASEs: glocks the kernel gave back unasked (its
			    * glock cache, an evicted inode, a mode change) */
	uint64_t demotes;  /* DEMOTEs sent to the kernel: other nodes asked */
};
/* The kernel's mounts (*ret_v: *ret_n of them, to free).  0 or -ENOMEM. */
int glockd_kdev_mounts(const struct glockd *gd, struct glockd_kdev_mount **ret_v, size_t *ret_n);
/* Malformed requests read from the device since start (0 without a device). */
uint64_t glockd_kdev_bad_requests(const struct glockd *gd);

#endif /* GLOCKD_KDEV_H */
