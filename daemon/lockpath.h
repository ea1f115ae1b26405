/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The p2p lock path adapter (lock_path = p2p, docs/DESIGN.md §9): the pure
 * glock_p2p state machine, the node links it talks over, and what CPG
 * tells it through cluster.c.  With lock_path = cpg none of this runs.
 *
 * Re-entrancy: the p2p's answers to the local agent are queued and handed
 * over from a loop job, never from inside submit() or a CPG callback, so
 * the agent sees them exactly as it sees the replicated engine's (after
 * submit() returned).
 */
#ifndef GLOCKD_LOCKPATH_H
#define GLOCKD_LOCKPATH_H

#include "glockd.h"
#include "p2p.h"
#include "links.h"
#include "link_peers.h"

bool glockd_lockpath_p2p(const struct glockd *gd);

/*
 * With the engine (main.c): a fresh p2p for gd->local_node; the links are
 * made once, at the first call, from corosync's nodelist.  0 or -errno.
 */
int glockd_lockpath_create(struct glockd *gd);
void glockd_lockpath_free(struct glockd *gd);

/* cluster.c: a local op, as glockd_cluster_submit(). */
int glockd_lockpath_submit(struct glockd *gd, const struct glock_op *op);
/* cluster.c, in CPG order.  confchg: after the engine applied the same. */
void glockd_lockpath_confchg(struct glockd *gd, const uint32_t *members, size_t n);
void glockd_lockpath_done(struct glockd *gd, uint32_t node);
void glockd_lockpath_fenced(struct glockd *gd, uint32_t node, bool recovered);
int glockd_lockpath_report(struct glockd *gd, uint32_t from, uint32_t to,
			   const struct glock_p2p_msg *msg);
/* cluster.c after every engine apply: ready = synced && quorate. */
void glockd_lockpath_sync(struct glockd *gd);
/* cluster.c: UNSYNCED, or the local corosync went away. */
void glockd_lockpath_reset(struct glockd *gd);

/* main.c: the clock, and the next delayed demote. */
void glockd_lockpath_tick(struct glockd *gd, uint64_t now_us);
bool glockd_lockpath_next_due(struct glockd *gd, uint64_t *due_us);

void glockd_lockpath_stats(struct glockd *gd, struct glock_p2p_stats *out);

/* For glockctl status and metrics. */
struct glockd_lockpath_counters {
	uint64_t bad_payloads, refused_msgs, links_unknown;
};
void glockd_lockpath_counters(struct glockd *gd, struct glockd_lockpath_counters *out);
/* Fills up to max peers' link counters (nodes[i], links[i]); returns how many. */
size_t glockd_lockpath_links(struct glockd *gd, uint32_t *nodes, struct glock_link_counters *links,
			     size_t max);

/* ipc.c's dump: the glocks this node masters, and who masters a name. */
int glockd_lockpath_export(struct glockd *gd, glock_record_fn fn, void *ctx);
uint32_t glockd_lockpath_master_of(struct glockd *gd, const struct glock_name *name);

#endif /* GLOCKD_LOCKPATH_H */
