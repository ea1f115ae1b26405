/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private seam between main.c and cluster.c (the public seams are in
 * glockd.h).  The engine's lifetime follows the CPG connection: main.c
 * knows how to build one from the config, cluster.c decides when (at
 * start, and afresh after the local corosync went away and came back).
 */
#ifndef GLOCKD_CLUSTER_H
#define GLOCKD_CLUSTER_H

#include "glockd.h"

/* main.c */
/*
 * Creates gd->engine for gd->local_node with the configured hold times and
 * glockd_cluster_engine_output() as its output.  Frees an engine already
 * there first.  Returns 0 or -errno (logged).
 */
int glockd_engine_create(struct glockd *gd);
/*
 * Called before each delivered message is applied: brings the engine's
 * clock up to date (a TICK, unless one is recent) and keeps the hold-time
 * tick running for a while.
 */
void glockd_engine_clock(struct glockd *gd);
/* main.c: (re)arms the timer for the engine's next delayed demote. */
void glockd_hold_timer_update(struct glockd *gd);

/* cluster.c */
/*
 * lockpath.c: a ready GlockMessage of p2p REPORTs, multicast in order
 * after what is queued already and never dropped at a configuration
 * change (a master waits for it).  0 or -ENOMEM.
 */
int glockd_cluster_multicast_report(struct glockd *gd, const uint8_t *buf, size_t len);
/* The engine's output callback; ctx is the struct glockd. */
void glockd_cluster_engine_output(void *ctx, const struct glock_output *out);

#endif /* GLOCKD_CLUSTER_H */
