/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node links adapter, the p2p lock path (lock_path = p2p,
 * docs/DESIGN.md §9): the pure glock_p2p state machine and the node links
 * (links.c) it talks over.  What CPG's order tells it comes in through the
 * functions below, what it says goes out through struct
 * glockd_lockpath_ops; main.c wires both.  With lock_path = cpg none of
 * this runs (every call below returns at once).
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

struct glockd_lockpath_ops {
	/*
	 * A ready GlockMessage of REPORTs for CPG, multicast in order after
	 * what is queued and never dropped at a configuration change (the
	 * membership adapter).  0 or -errno.
	 */
	int (*multicast)(struct glockd *gd, const uint8_t *buf, size_t len);
	/* Answers for the local agent, from a loop job (see above). */
	void (*output)(struct glockd *gd, const struct glock_output *out);
	void (*op_error)(struct glockd *gd, const struct glock_op *op, int err);
	/* The next delayed demote (glockd_lockpath_next_due) may have moved. */
	void (*due_changed)(struct glockd *gd);
	/* The answer to a local POSIX lock op (glockd_lockpath_plock), from a loop job. */
	void (*plock_answer)(struct glockd *gd, const struct glock_plock_answer *ans);
};

/*
 * With the engine (main.c): a fresh p2p for gd->local_node; the links are
 * made once, at the first call, from corosync's nodelist.  0 or -errno.
 */
int glockd_lockpath_create(struct glockd *gd, const struct glockd_lockpath_ops *ops);
void glockd_lockpath_free(struct glockd *gd);

/* A local op, once glockd_cluster_accepts() it; answered as the engine would. */
int glockd_lockpath_submit(struct glockd *gd, const struct glock_op *op);
/*
 * A local POSIX lock op (the kernel's fcntl() locks): 0, and the answer
 * comes through ops->plock_answer; or -errno and no answer will come:
 * -ENOLCK with lock_path = cpg (POSIX locks need the p2p path), -EAGAIN
 * before the first configuration, -EINVAL, -ENOMEM.
 */
int glockd_lockpath_plock(struct glockd *gd, const struct glock_plock_op *op);
/* In CPG order.  confchg: after the engine applied the same. */
void glockd_lockpath_confchg(struct glockd *gd, const uint32_t *members, size_t n);
void glockd_lockpath_done(struct glockd *gd, uint32_t node);
void glockd_lockpath_fenced(struct glockd *gd, uint32_t node, bool recovered);
int glockd_lockpath_report(struct glockd *gd, uint32_t from, uint32_t to,
			   const struct glock_p2p_msg *msg);
/* After every engine apply: ready = synced && quorate. */
void glockd_lockpath_sync(struct glockd *gd);
/* UNSYNCED, or the local corosync went away. */
void glockd_lockpath_reset(struct glockd *gd);

/* The clock, and the next delayed demote. */
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

/* For glockctl dump: the glocks this node masters, and who masters a name. */
int glockd_lockpath_export(struct glockd *gd, glock_record_fn fn, void *ctx);
uint32_t glockd_lockpath_master_of(struct glockd *gd, const struct glock_name *name);
/* The POSIX locks and waiters of the files this node masters (nothing with cpg). */
int glockd_lockpath_export_plocks(struct glockd *gd, glock_p2p_plock_fn fn, void *ctx);

#endif /* GLOCKD_LOCKPATH_H */
