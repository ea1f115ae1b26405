/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The replicated glock engine.
 *
 * A pure state machine: every node feeds it the same totally ordered stream
 * of inputs (CPG agreed order) and so computes the same lock table and the
 * same grant decisions.  It does no I/O, reads no clock and has no globals;
 * it reports what happened through one output callback.  Only outputs that
 * concern the local node are emitted.
 *
 * Time enters only as TICK inputs, which are node-local: they decide when
 * the local node is told to demote (the minimum hold time) and never touch
 * the replicated table.  See docs/DESIGN.md, "The engine".
 */
#ifndef GLOCK_ENGINE_H
#define GLOCK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLOCK_LVB_LEN 32
#define GLOCK_LOCKSPACE_MAX 64 /* including the terminating NUL */
#define GLOCK_NODES_MAX 64
#define GLOCK_NODEID_NONE 0u

enum glock_mode {
	GLOCK_MODE_UN = 0,
	GLOCK_MODE_SH = 1,
	GLOCK_MODE_DF = 2,
	GLOCK_MODE_EX = 3,
};
#define GLOCK_MODE_COUNT 4

enum glock_flag {
	GLOCK_FLAG_TRY = 1u << 0,     /* fail unless grantable now */
	GLOCK_FLAG_TRY_1CB = 1u << 1, /* like TRY, but demote the blockers once */
	GLOCK_FLAG_NOEXP = 1u << 2,   /* grantable over expired holders of fenced nodes */
	GLOCK_FLAG_PRIORITY = 1u << 3, /* queue at the front */
};
#define GLOCK_FLAGS_ALL 0xfu

/* A glock is named (lockspace, type, number), as GFS2 names its glocks. */
struct glock_name {
	char lockspace[GLOCK_LOCKSPACE_MAX];
	uint32_t type;
	uint64_t number;
};

enum glock_op_kind {
	GLOCK_OP_LOCK = 1,    /* node holds nothing: request mode */
	GLOCK_OP_CONVERT = 2, /* node holds the glock: change to mode */
	GLOCK_OP_RELEASE = 3, /* node gives the glock up */
	GLOCK_OP_CANCEL = 4,  /* withdraw the pending request req_id */
};

enum glock_input_kind {
	GLOCK_IN_OP = 1,
	GLOCK_IN_CONFCHG = 2,       /* new member list of this partition */
	GLOCK_IN_QUORUM = 3,        /* votequorum's verdict, multicast in order */
	GLOCK_IN_HELLO = 4,         /* a member's sync state after a confchg */
	GLOCK_IN_FENCED = 5,        /* a departed node is confirmed fenced */
	GLOCK_IN_RECOVERY_DONE = 6, /* its expired grants may now go */
	GLOCK_IN_SNAPSHOT_BEGIN = 7,
	GLOCK_IN_SNAPSHOT_RECORD = 8,
	GLOCK_IN_SNAPSHOT_END = 9,
	GLOCK_IN_TICK = 10,         /* node-local time, microseconds */
};

struct glock_op {
	enum glock_op_kind kind;
	uint32_t node;
	uint64_t req_id; /* unique per node; CANCEL names the request to cancel */
	struct glock_name name;
	enum glock_mode mode; /* LOCK and CONVERT */
	uint32_t flags;       /* enum glock_flag */
	bool lvb_valid;       /* RELEASE or CONVERT down from EX: write the LVB */
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t lvb_base;    /* master path: the LVB sequence the writer's grant carried */
};

struct glock_holder_rec {
	uint32_t node;
	enum glock_mode mode;
	uint32_t flags;                /* flags of the request that was granted */
	enum glock_mode demote_target; /* UN if none sent; else target already asked for */
	bool demote_sent;
	bool fenced;                   /* expired grants only: its node was fenced since */
};

struct glock_waiter_rec {
	uint32_t node;
	uint64_t req_id;
	enum glock_mode mode;
	uint32_t flags;
	bool convert;
};

/*
 * One glock as it appears in a snapshot or a dump.  Arrays are owned by
 * whoever built the record; the engine copies what it loads.
 */
struct glock_record {
	struct glock_name name;
	uint8_t lvb[GLOCK_LVB_LEN];
	size_t n_holders;
	const struct glock_holder_rec *holders; /* live grants, sorted by node */
	size_t n_expired;
	const struct glock_holder_rec *expired; /* grants of departed nodes, by node;
						 * a node that failed twice may have two */
	size_t n_waiters;
	const struct glock_waiter_rec *waiters; /* queue order: conversions first */
};

/* The node-level state a snapshot carries besides its glocks. */
struct glock_departed_rec {
	uint32_t node;
	bool fenced;
	/*
	 * Startup fencing: configured but absent when the table started
	 * empty, so what it holds is unknown and nothing is granted anywhere
	 * until it is recovered or joins (DESIGN §3).
	 */
	bool startup;
	/*
	 * Its grants are not all in this table: a startup node, or one lost
	 * with its corosync on the cpg lock path (DESIGN §2); nothing is
	 * granted until it is recovered.
	 */
	bool unknown;
};

struct glock_input {
	enum glock_input_kind kind;
	union {
		struct glock_op op;
		struct {
			size_t n_members;
			const uint32_t *members; /* any order; the engine sorts */
			/*
			 * Nodes that left with their corosync (a node down or a
			 * partition, not a clean leave or a process exit): fenced
			 * even when this table shows them holding nothing.  Their
			 * last messages may have been delivered in their own
			 * partition only (EVS delivers a node's own messages in its
			 * transitional configuration), so they may have granted
			 * themselves what nobody else saw.  Optional (NULL, 0).
			 */
			size_t n_lost;
			const uint32_t *lost;
			/*
			 * What tells this configuration from an earlier one of
			 * the same nodes, the same on every member: a hash of the
			 * members' incarnations (their glockd's CPG pids,
			 * cluster.c).  Part of the configuration id.  0: none.
			 */
			uint64_t incarnations;
		} confchg;
		/*
		 * HELLO and QUORUM speak of one configuration: a message sent
		 * just before a change can be delivered after it, and must not
		 * count there.  config_id is glock_engine_config_id() of the
		 * sender when it sent the message; a mismatch is -ESTALE.
		 */
		struct {
			uint32_t from;
			bool quorate;
			uint64_t config_id;
		} quorum;
		struct {
			uint32_t node;
			bool synced;
			uint64_t config_id;
			/*
			 * The sender's configured cluster nodes (corosync's
			 * nodelist), for startup fencing.  Optional (0, NULL):
			 * nothing is known absent.
			 */
			size_t n_configured;
			const uint32_t *configured;
		} hello;
		struct {
			uint32_t node;
		} departed; /* FENCED, RECOVERY_DONE */
		struct {
			uint32_t donor;
			size_t n_departed;
			const struct glock_departed_rec *departed;
		} snapshot_begin;
		struct {
			uint32_t donor;
			const struct glock_record *record;
		} snapshot_record;
		struct {
			uint32_t donor;
			uint64_t n_records; /* how many the donor sent, checked */
		} snapshot_end;
		struct {
			uint64_t now_us;
		} tick;
	} u;
};

enum glock_deny_reason {
	GLOCK_DENY_TRYFAIL = 1,   /* TRY / TRY_1CB and not grantable now */
	GLOCK_DENY_CANCELLED = 2, /* a CANCEL removed it */
	GLOCK_DENY_DEADLOCK = 3,  /* conversion deadlock: release and retry */
	GLOCK_DENY_LOST = 4,      /* this node lost its locks (quorum loss) */
};

enum glock_output_kind {
	GLOCK_OUT_GRANT = 1,         /* local request granted */
	GLOCK_OUT_DENY = 2,          /* local request answered without a grant */
	GLOCK_OUT_DEMOTE = 3,        /* local holder: give up to target mode */
	GLOCK_OUT_LOST = 4,          /* local grant gone (quorum loss reset) */
	GLOCK_OUT_SEND_SNAPSHOT = 5, /* local node is the donor: export now */
	GLOCK_OUT_SYNCED = 6,        /* local node now holds the cluster's table */
	GLOCK_OUT_UNSYNCED = 7,      /* local node dropped its table */
	GLOCK_OUT_NEED_FENCE = 8,    /* a node departed holding grants */
	GLOCK_OUT_QUORATE = 9,       /* local grants usable again */
	GLOCK_OUT_INQUORATE = 10,    /* suspend use of local grants until QUORATE or LOST */
};

struct glock_output {
	enum glock_output_kind kind;
	const struct glock_name *name; /* GRANT, DENY, DEMOTE, LOST */
	uint64_t req_id;               /* GRANT, DENY */
	enum glock_mode mode;          /* GRANT: granted; DEMOTE: target; LOST: held */
	enum glock_deny_reason reason; /* DENY */
	const uint8_t *lvb;            /* GRANT: GLOCK_LVB_LEN bytes */
	uint32_t node;                 /* NEED_FENCE */
	bool startup;                  /* NEED_FENCE: startup fencing (DESIGN §3) */
};

typedef void (*glock_output_fn)(void *ctx, const struct glock_output *out);

struct glock_engine_config {
	uint32_t local_node;
	/* Adaptive minimum hold time, as GFS2's gl_hold_time. */
	uint64_t hold_min_us;
	uint64_t hold_max_us;
	uint64_t hold_incr_us;
	uint64_t hold_decr_us;
	/*
	 * Every departed node is fenced and waits for RECOVERY_DONE, even one
	 * that held nothing here: the p2p lock path keeps its grants in the
	 * masters' tables, which this engine does not see (DESIGN §9).
	 */
	bool depart_all;
	/*
	 * The p2p lock path only: the life its generations start in, above
	 * every life an earlier start of glockd on this node reached (the
	 * daemon's start time in seconds; DESIGN §9, "a new start of glockd").
	 * 0 in the replicated engine.
	 */
	uint32_t first_life;
};

struct glock_engine;

/* Fills in GFS2's defaults: 10 ms min, 200 ms max, +10 ms, -1 ms. */
void glock_engine_config_defaults(struct glock_engine_config *cfg, uint32_t local_node);

/* Returns NULL on a bad config or out of memory. */
struct glock_engine *glock_engine_new(const struct glock_engine_config *cfg,
				      glock_output_fn output, void *ctx);
void glock_engine_free(struct glock_engine *eng);

/*
 * Applies one ordered input.  Returns 0, or a negative errno when the input
 * is invalid, in which case the table is unchanged and nothing is emitted:
 *   -EINVAL  malformed (unknown kind, mode or flag, empty lockspace, ...)
 *   -ESRCH   the node is not a member (or is 0)
 *   -EEXIST  LOCK while the node holds or waits on the glock
 *   -ENOENT  CONVERT/RELEASE without a grant, CANCEL of an unknown request
 *   -EBUSY   CONVERT or RELEASE while a conversion is pending: cancel first
 *   -EALREADY CONVERT to the mode already held
 *   -EPROTO  snapshot input out of sequence
 *   -ESTALE  HELLO or QUORUM sent in another configuration (ignored)
 *   -ENOMEM  out of memory (the table is unchanged)
 * Every engine returns the same value for the same input, so a node may
 * reply to its local requester from it.
 */
int glock_engine_apply(struct glock_engine *eng, const struct glock_input *in);

/* Human-readable name of an apply() error, for logs and replies. */
const char *glock_engine_strerror(int err);
const char *glock_mode_name(enum glock_mode mode);
bool glock_mode_compatible(enum glock_mode a, enum glock_mode b);

/* True once the engine holds the cluster's table and may accept local ops. */
bool glock_engine_synced(const struct glock_engine *eng);
bool glock_engine_quorate(const struct glock_engine *eng);
/*
 * When the earliest delayed local demote falls due (the local clock of
 * TICK inputs): a TICK at or after *ret_due_us sends it.  False when no
 * demote waits, so the caller needs no timer.
 */
bool glock_engine_next_due(const struct glock_engine *eng, uint64_t *ret_due_us);
/*
 * Startup fencing (DESIGN §3): true while a node that was configured but
 * absent when the table started empty is neither recovered nor back; no
 * lock is granted meanwhile, on any lock path.
 */
bool glock_engine_startup_fencing(const struct glock_engine *eng);
/* Whether the engine counts member node as holding the cluster's table. */
bool glock_engine_member_synced(const struct glock_engine *eng, uint32_t node);
/*
 * Identifies the current configuration (a hash of the member list and the
 * CONFCHG's incarnations), the same on every member; HELLO and QUORUM carry
 * it, and so do the p2p lock path's messages.
 */
uint64_t glock_engine_config_id(const struct glock_engine *eng);
size_t glock_engine_glock_count(const struct glock_engine *eng);
size_t glock_engine_members(const struct glock_engine *eng, const uint32_t **members);

/*
 * Calls fn for every glock in name order (a defined order, so the same
 * table exports byte-identically everywhere).  The record is valid only
 * during the call.  Stops early and returns fn's value if it is non-zero.
 */
typedef int (*glock_record_fn)(void *ctx, const struct glock_record *rec);
int glock_engine_export(const struct glock_engine *eng, glock_record_fn fn, void *ctx);

/* Departed nodes whose expired grants still block, ascending by node id. */
size_t glock_engine_departed(const struct glock_engine *eng,
			     struct glock_departed_rec *out, size_t max);

/* Looks up one glock; returns -ENOENT if it is not in the table. */
int glock_engine_lookup(const struct glock_engine *eng, const struct glock_name *name,
			glock_record_fn fn, void *ctx);

/* Name comparison, the order export() uses. */
int glock_name_compare(const struct glock_name *a, const struct glock_name *b);
/* Validates a name from outside: NUL-terminated, non-empty lockspace. */
bool glock_name_valid(const struct glock_name *name);

#endif /* GLOCK_ENGINE_H */
