/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The glock table: the grant rules of docs/DESIGN.md §2, shared by the
 * replicated engine (engine.c, every node applies the agreed stream) and
 * the master (master.c, one node decides the glocks it masters).
 *
 * Internal to daemon/engine.  The table decides; whoever embeds it says
 * through an ops table whether grants may be made now and what becomes of
 * an answer or a demote (the replicated engine tells only its local node,
 * the master sends to every requester).
 */
#ifndef GLOCK_TABLE_H
#define GLOCK_TABLE_H

#include "engine.h"
#include "hold.h"

struct glock__holder {
	uint32_t node;
	uint64_t req_id; /* the request whose grant made this entry */
	enum glock_mode mode;
	uint32_t flags;
	enum glock_mode demote_target;
	bool demote_sent;
	bool fenced; /* expired entries: this incarnation's fencing is confirmed */
};

struct glock__waiter {
	uint32_t node;
	uint64_t req_id;
	enum glock_mode mode;
	uint32_t flags;
	bool convert;
};

struct glock {
	struct glock_name name;
	uint32_t hash;
	struct glock *hash_next;
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t lvb_seq;  /* bumped by every write */
	bool lvb_invalid;  /* master path: lost in recovery, until the next write */
	struct glock__holder *holders; /* live, sorted by node */
	size_t n_holders, cap_holders;
	struct glock__holder *expired; /* sorted by node */
	size_t n_expired, cap_expired;
	struct glock__waiter *waiters; /* converts first, then locks; FIFO in each */
	size_t n_waiters, cap_waiters;
	/* Replicated engine, node-local: the local node's minimum hold time. */
	struct glock__hold hold;
	/* Master: gained in configuration gained_seq, not grantable until recovered. */
	bool recovering;
	uint64_t gained_seq;
};

struct glock__table_ops {
	/* May anything be granted on gl now (quorate, recovered)? */
	bool (*may_grant)(void *ctx, const struct glock *gl);
	void (*granted)(void *ctx, struct glock *gl, uint32_t node, uint64_t req_id,
			enum glock_mode mode);
	void (*denied)(void *ctx, const struct glock_name *name, uint32_t node, uint64_t req_id,
		       enum glock_deny_reason reason);
	/* A holder is asked (once per target) to give up to target. */
	void (*demote)(void *ctx, struct glock *gl, uint32_t node, enum glock_mode target);
	/* Optional: node released its grant on gl; gl is about to be unlinked. */
	void (*released)(void *ctx, struct glock *gl, uint32_t node);
	void (*unlinking)(void *ctx, struct glock *gl);
};

struct glock__table {
	struct glock **buckets;
	size_t n_buckets;
	size_t n_glocks;
	const struct glock__table_ops *ops;
	void *ctx;
	/*
	 * Master path: an LVB write is applied only on top of the sequence the
	 * writer's grant carried (a write reported again after recovery must
	 * not undo a later one).  The replicated engine applies every write.
	 */
	bool lvb_check_base;
	uint64_t hold_min_us; /* initial hold time of a new glock */
};

/* Expired grants per glock: a node that fails again before recovery adds one. */
#define GLOCK__EXPIRED_MAX (4 * GLOCK_NODES_MAX)

int glock__table_init(struct glock__table *tbl, const struct glock__table_ops *ops, void *ctx);
/* Drops every glock, emitting nothing. */
void glock__table_clear(struct glock__table *tbl);
void glock__table_fini(struct glock__table *tbl);

uint32_t glock__name_hash(const struct glock_name *name);
struct glock *glock__find(const struct glock__table *tbl, const struct glock_name *name);
struct glock *glock__create(struct glock__table *tbl, const struct glock_name *name);
void glock__unlink(struct glock__table *tbl, struct glock *gl);
bool glock__idle(const struct glock *gl);
void glock__put_if_idle(struct glock__table *tbl, struct glock *gl);
/* All glocks in name order; caller frees.  NULL with *n == 0 when empty. */
struct glock **glock__sorted(const struct glock__table *tbl, size_t *n, int *err);
int glock__ptr_compare(const void *a, const void *b);

struct glock__holder *glock__holder_of(struct glock *gl, uint32_t node);
struct glock__waiter *glock__waiter_of(struct glock *gl, uint32_t node);
void glock__holder_remove(struct glock *gl, struct glock__holder *h);
void glock__waiter_remove(struct glock *gl, size_t i);
bool glock__mode_requestable(enum glock_mode mode);

/* Name, flags, mode and LVB checks of an op; not membership. */
int glock__op_check(const struct glock_op *op);
/* Applies a checked op: 0 or -errno as glock_engine_apply() documents. */
int glock__op_apply(struct glock__table *tbl, const struct glock_op *op);
/* Grants what the queue allows, then demotes whoever blocks its head. */
void glock__process(struct glock__table *tbl, struct glock *gl);
/* glock__process() then drop if idle, for every glock in name order. */
int glock__process_all(struct glock__table *tbl);

/*
 * Departures: reserve room for the expired grants of the nodes not in
 * next[] (sorted), then move one node's grants to the expired lists and
 * drop its waiters.  depart returns whether the node held anything.
 */
int glock__departures_reserve(struct glock__table *tbl, const uint32_t *next, size_t n_next,
			      struct glock **v, size_t n);
bool glock__depart(struct glock__table *tbl, uint32_t node, struct glock **v, size_t n);
/* Adds an expired entry (reserved by the caller) keeping node order. */
void glock__expired_add(struct glock *gl, const struct glock__holder *h);
/* FENCED: the node's expired grants may be passed by NOEXP requests. */
void glock__fence(struct glock **v, size_t n, uint32_t node);
/* RECOVERY_DONE: the node's expired grants go. */
void glock__drop_expired(struct glock **v, size_t n, uint32_t node);

/*
 * Master path.  lower: node's EX grant becomes mode (UN: released), writing
 * the LVB on top of lvb_base, and the queue is processed; -ENOENT without
 * a grant, -EINVAL unless it is EX going down.  holder_set: node holds
 * mode as its requester reported (recovery trusts the holder).
 */
int glock__lower(struct glock__table *tbl, struct glock *gl, uint32_t node, uint64_t req_id,
		 enum glock_mode mode, bool lvb_valid, const uint8_t *lvb, uint64_t lvb_base);
int glock__holder_set(struct glock *gl, uint32_t node, enum glock_mode mode, uint32_t flags);
int glock__expired_reserve(struct glock *gl, size_t more);
int glock__waiters_reserve(struct glock *gl, size_t more);

/* Snapshot and dump records. */
int glock__record_emit(const struct glock *gl, glock_record_fn fn, void *ctx);
bool glock__record_valid(const struct glock_record *r);
int glock__record_load(struct glock__table *tbl, const struct glock_record *r);

#endif /* GLOCK_TABLE_H */
