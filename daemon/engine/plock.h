/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * POSIX byte-range locks on one resource (one file): the range-aware
 * resource a glock's master keeps for fcntl() locks (docs/DESIGN.md §9.2).
 *
 * Pure, as the rest of the engine: no I/O, no clock, no globals.  Waiters
 * that become grantable are reported through a callback, in queue order.
 *
 * Semantics are POSIX's (fcntl(2), "Advisory record locking"):
 *   - An owner is (node, id): the kernel's lock owner on that node (the
 *     files_struct of a process, or the open file for an OFD lock).  An
 *     owner's own locks never conflict with its new ones: a new lock
 *     replaces whatever the owner held in its range (splitting locks at
 *     the range's edges), and the owner's adjacent or overlapping locks of
 *     the same type are merged, so an owner never has two locks that
 *     overlap or touch with the same type.
 *   - RD conflicts with another owner's WR; WR with another owner's RD or
 *     WR, wherever the ranges overlap.
 *   - An unlock removes the owner's locks in the range, splitting at its
 *     edges; unlocking what is not held is not an error.
 *   - A waiter (F_SETLKW) is granted as soon as no other owner's lock
 *     conflicts with it; waiters are examined in arrival order and do not
 *     block one another (as Linux: no FIFO fairness among byte ranges).
 *   - Deadlock: a POSIX (not OFD) waiter whose wait would close a cycle of
 *     POSIX owners each waiting for the next one's lock on this resource
 *     gets -EDEADLK instead of waiting.  Only cycles within one resource
 *     can be seen here (one master knows one file); DESIGN §9.2 says what
 *     that leaves.  As in Linux, the test is made when a request would
 *     wait: a cycle closed later by an owner that waits and is granted
 *     another lock meanwhile (another thread of it), or by a set_node()
 *     report, is not found afterwards.
 *
 * Ranges are inclusive: [start, end], end >= start, end ==
 * GLOCK_PLOCK_EOF for "to the end of the file and beyond" (OFFSET_MAX).
 */
#ifndef GLOCK_PLOCK_H
#define GLOCK_PLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLOCK_PLOCK_EOF UINT64_MAX
/* Locks plus waiters one resource keeps; beyond it a request gets -ENOLCK. */
#define GLOCK_PLOCK_RES_MAX 4096u

enum glock_plock_type {
	GLOCK_PLOCK_RD = 1,
	GLOCK_PLOCK_WR = 2,
};

struct glock_plock_owner {
	uint32_t node; /* where the owner lives; never 0 */
	uint64_t id;   /* that node's kernel lock owner */
	uint32_t pid;  /* the process that took the lock, for F_GETLK (0: none) */
	bool ofd;      /* an open file description lock: no deadlock detection */
};

struct glock_plock_lock {
	struct glock_plock_owner owner;
	enum glock_plock_type type;
	uint64_t start, end; /* inclusive */
};

struct glock_plock_waiter {
	uint32_t node;   /* == want.owner.node */
	uint64_t req_id; /* that node's request id */
	struct glock_plock_lock want;
};

struct glock_plock_res;

/* A waiter was granted (and applied); called before the call that freed it returns. */
typedef void (*glock_plock_granted_fn)(void *ctx, const struct glock_plock_waiter *w);

struct glock_plock_res *glock_plock_res_new(void);
void glock_plock_res_free(struct glock_plock_res *r);
/* No lock and no waiter: the master may forget the resource. */
bool glock_plock_res_empty(const struct glock_plock_res *r);

/* Is l well formed (type, start <= end, node != 0)? */
bool glock_plock_lock_valid(const struct glock_plock_lock *l);

enum glock_plock_result {
	GLOCK_PLOCK_GRANTED = 0,
	GLOCK_PLOCK_QUEUED = 1,
};

/*
 * F_SETLK (wait false) or F_SETLKW (wait true) by want.owner for req_id.
 * Returns GLOCK_PLOCK_GRANTED (applied now), GLOCK_PLOCK_QUEUED (a waiter
 * now, or already: the same (node, req_id) waiting is not an error, so a
 * request resent after a master change is idempotent), or
 *   -EAGAIN   conflicts, and wait is false
 *   -EDEADLK  waiting would close a cycle (POSIX owners only)
 *   -EBUSY    this owner already waits here under another req_id
 *   -EINVAL   malformed want
 *   -ENOLCK   the resource is full (GLOCK_PLOCK_RES_MAX)
 *   -ENOMEM
 * On an error nothing changes.  A grant may lower the owner's locks (WR to
 * RD, or a shorter range) and so let waiters go: fn is called for them.
 * -EBUSY is only for a request that would wait: an owner that waits may
 * still be granted what nothing blocks (POSIX lets another thread of the
 * process lock meanwhile), or get -EAGAIN.  The same (node, req_id)
 * waiting with a different want is -EBUSY too.  fn must not change r.
 * The limit refuses requests, never grants: granting waiters may take the
 * resource a little past it, and then what would grow it gets -ENOLCK.
 */
int glock_plock_lock(struct glock_plock_res *r, uint64_t req_id, const struct glock_plock_lock *want,
		     bool wait, glock_plock_granted_fn fn, void *ctx);

/*
 * Removes owner's locks in [start, end] (splitting at the edges), then
 * grants waiters that no longer conflict.  0, -EINVAL, -ENOLCK (a split
 * past the limit) or -ENOMEM; on an error nothing changes.
 */
int glock_plock_unlock(struct glock_plock_res *r, const struct glock_plock_owner *owner,
		       uint64_t start, uint64_t end, glock_plock_granted_fn fn, void *ctx);

/*
 * F_GETLK: the first lock (lowest start, then node, then owner id) of
 * another owner that conflicts with probe.  1 with *conflict filled, 0 if
 * there is none, -EINVAL.
 */
int glock_plock_get(const struct glock_plock_res *r, const struct glock_plock_lock *probe,
		    struct glock_plock_lock *conflict);

/* Withdraws the waiter (node, req_id): 0, or -ENOENT if it is not waiting. */
int glock_plock_cancel(struct glock_plock_res *r, uint32_t node, uint64_t req_id);

/*
 * The node's locks and waiters go (it was fenced, or its owner died):
 * waiters that no longer conflict are granted.
 */
void glock_plock_drop_node(struct glock_plock_res *r, uint32_t node, glock_plock_granted_fn fn,
			   void *ctx);

/*
 * Recovery and reconciliation: what node reports it holds here replaces
 * what the resource had for it (locks only; its waiters stay, a report's
 * pending requests come back through glock_plock_lock()).  The reported
 * locks are merged per owner as a lock() would.  Then waiters are
 * examined.  0, -EINVAL (a malformed lock, or one of another node),
 * -EPROTO (a reported lock conflicts with another node's lock, or with
 * another owner's in the same report: nothing changes), -ENOLCK (also a
 * report of more than GLOCK_PLOCK_RES_MAX locks), -ENOMEM.
 */
int glock_plock_set_node(struct glock_plock_res *r, uint32_t node,
			 const struct glock_plock_lock *locks, size_t n_locks,
			 glock_plock_granted_fn fn, void *ctx);

/*
 * A master that may not grant yet (recovering, not quorate) passes fn NULL
 * to glock_plock_unlock(), drop_node() and set_node(): waiters are then
 * not examined, and glock_plock_grant_waiters() examines them later.
 */
void glock_plock_grant_waiters(struct glock_plock_res *r, glock_plock_granted_fn fn, void *ctx);

/* Every lock, by start then node then owner id; stops at fn's non-zero value. */
typedef int (*glock_plock_lock_fn)(void *ctx, const struct glock_plock_lock *l);
int glock_plock_foreach_lock(const struct glock_plock_res *r, glock_plock_lock_fn fn, void *ctx);
/* Every waiter in arrival order; stops at fn's non-zero value. */
typedef int (*glock_plock_waiter_fn)(void *ctx, const struct glock_plock_waiter *w);
int glock_plock_foreach_waiter(const struct glock_plock_res *r, glock_plock_waiter_fn fn, void *ctx);

struct glock_plock_counts {
	size_t locks, waiters;
};
void glock_plock_counts(const struct glock_plock_res *r, struct glock_plock_counts *out);

#endif /* GLOCK_PLOCK_H */
