/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's lock agent (agent.c): local holders on top of the node's
 * cluster grants.
 *
 * Cluster holders are nodes; the agent turns them into per-process locks.
 * Per glock it keeps the node's cluster grant (from engine GRANT outputs),
 * the local holders (each with a mode, compatible with one another) and a
 * FIFO of local waiters.  A local request is granted with no network at
 * all when the cached grant covers it (node-level caching); otherwise one
 * LOCK or CONVERT goes to the cluster, never more than one per glock.  A
 * DEMOTE is honoured once the local holders it conflicts with are gone;
 * newer local requests that it would not cover queue behind it, so the
 * remote node never starves.
 *
 * The agent core knows nothing of corosync, libqb IPC or the kernel: it
 * acts through struct glock__agent_ops (submit an op, read the clock, arm
 * one timer, tell a client something).  glockd wires those in
 * agent_glue.c (the lock path it submits to is main.c's choice);
 * tests/unit/test_agent.c wires them to fakes.
 */
#ifndef GLOCKD_AGENT_H
#define GLOCKD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct glock__agent;
struct glock__agent_client; /* one owner of local holders: an IPC connection, the kernel */

enum glock__agent_ev_kind {
	GLOCK__AGENT_EV_COMPLETE = 1, /* a pending lock/convert finished */
	GLOCK__AGENT_EV_DEMOTE = 2,   /* another node wants it: finish, unlock soon */
	GLOCK__AGENT_EV_LOST = 3,     /* the holder's lock is gone; handle dead */
};

struct glock__agent_event {
	enum glock__agent_ev_kind kind;
	const struct glock_name *name;
	uint64_t handle;
	uint64_t client_ref;           /* COMPLETE: the request's */
	int err;                       /* COMPLETE: 0, or -errno (-ETIMEDOUT, ...) */
	enum glock_deny_reason reason; /* COMPLETE: non-zero if denied (err is 0) */
	enum glock_mode mode;          /* COMPLETE: held now; DEMOTE: target; LOST: held */
	const uint8_t *lvb;            /* COMPLETE granted: GLOCK_LVB_LEN bytes */
};

struct glock__agent_ops {
	/* Queue an op of the local node for the cluster: 0, -EAGAIN, -ENOTCONN. */
	int (*submit)(void *ctx, const struct glock_op *op);
	uint64_t (*next_req_id)(void *ctx);
	uint64_t (*now_us)(void *ctx); /* monotonic */
	/* Call glock__agent_timer() at when_us (monotonic); 0 disarms. */
	void (*arm_timer)(void *ctx, uint64_t when_us);
	/* Tell owner (as given to glock__agent_client_new) about one holder. */
	void (*event)(void *ctx, void *owner, const struct glock__agent_event *ev);
};

/* Answer to a local request. */
struct glock__agent_reply {
	bool pending;                  /* outcome comes later as a COMPLETE event */
	enum glock_deny_reason reason; /* non-zero: refused at once (TRYFAIL) */
	uint64_t handle;
	enum glock_mode mode;          /* held now */
	uint8_t lvb[GLOCK_LVB_LEN];    /* when granted */
};

/* Idle cached grants kept before the oldest is released (gfs2's LRU). */
#define GLOCK__AGENT_LRU_MAX 16384u

struct glock__agent *glock__agent_new(const struct glock__agent_ops *ops, void *ctx);
/* Drops everything without submitting anything (the daemon is going away). */
void glock__agent_free(struct glock__agent *ag);
void glock__agent_set_lru_max(struct glock__agent *ag, size_t lru_max);
/*
 * A clean stop: releases every idle cached grant (their LVBs written back)
 * and caches nothing from then on.  Returns how many were released; one the
 * cluster could not take now (-EAGAIN) stays cached for the next call.
 */
size_t glock__agent_release_cached(struct glock__agent *ag);

struct glock__agent_client *glock__agent_client_new(struct glock__agent *ag, void *owner,
						    uint32_t pid);
/* Releases the client's holders and withdraws its waiters; takes NULL. */
void glock__agent_client_free(struct glock__agent *ag, struct glock__agent_client *cl);

/*
 * Local requests.  Each returns 0 with *rep filled in (granted, pending, or
 * refused with rep->reason), or -errno with *rep untouched:
 *   -EINVAL   bad mode, flags or name; an LVB where none may be written
 *   -ENOENT   no such handle of this client on that glock
 *   -EBUSY    the handle is waiting (cancel first)
 *   -EALREADY convert to the mode held
 *   -ENOMEM
 */
int glock__agent_lock(struct glock__agent *ag, struct glock__agent_client *cl,
		      const struct glock_name *name, enum glock_mode mode, uint32_t flags,
		      uint32_t timeout_ms, uint64_t client_ref, struct glock__agent_reply *rep);
int glock__agent_convert(struct glock__agent *ag, struct glock__agent_client *cl,
			 const struct glock_name *name, uint64_t handle, enum glock_mode mode,
			 uint32_t flags, uint32_t timeout_ms, uint64_t client_ref,
			 const uint8_t *lvb, struct glock__agent_reply *rep);
/* Returns 0, -ENOENT, -EBUSY or -EINVAL (LVB while not EX). */
int glock__agent_unlock(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle, const uint8_t *lvb);
/* Withdraws a waiting request: its COMPLETE says CANCELLED.  0, -ENOENT, -EALREADY (not waiting). */
int glock__agent_cancel(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle);

/* From the cluster side. */
void glock__agent_on_output(struct glock__agent *ag, const struct glock_output *out);
void glock__agent_on_op_error(struct glock__agent *ag, const struct glock_op *op, int err);
void glock__agent_cluster_lost(struct glock__agent *ag);
/* The armed timer fired. */
void glock__agent_timer(struct glock__agent *ag);

/* Introspection (dump, stats, status). */
struct glock__agent_local {
	uint64_t handle;
	enum glock_mode mode; /* held; UN before the first grant */
	enum glock_mode want; /* when waiting */
	bool waiting;
	bool demote_told;
	uint32_t pid;
};

struct glock__agent_glock_info {
	const struct glock_name *name;
	enum glock_mode cached;        /* the node's cluster grant */
	bool request_pending;
	bool demote_pending;
	enum glock_mode demote_target;
	size_t n_local;
	const struct glock__agent_local *local;
	/* gfs2 glstats, nanoseconds */
	int64_t srtt, srttvar, srttb, srttvarb, sirt, sirtvar;
	uint64_t dcount, qcount, demotes;
};

typedef int (*glock__agent_info_fn)(void *ctx, const struct glock__agent_glock_info *info);
/* One glock, if the agent knows it: 0 after fn, -ENOENT, -ENOMEM, or fn's value. */
int glock__agent_lookup(struct glock__agent *ag, const struct glock_name *name,
			glock__agent_info_fn fn, void *ctx);
/* Every glock the agent knows, in no defined order; stops at fn's non-zero value. */
int glock__agent_foreach(struct glock__agent *ag, glock__agent_info_fn fn, void *ctx);

struct glock__agent_counts {
	size_t glocks, cached, holders, waiters, clients;
};
void glock__agent_counts(struct glock__agent *ag, struct glock__agent_counts *out);

/* Request counters and durations since the agent started (metrics.h). */
struct glock__metrics;
const struct glock__metrics *glock__agent_metrics(const struct glock__agent *ag);

/* gfs2's smoothing (lock_dlm.c gfs2_update_stats), exposed for the tests. */
void glock__agent_stats_update(int64_t *avg, int64_t *var, int64_t sample);

#endif /* GLOCKD_AGENT_H */
