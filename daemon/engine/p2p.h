/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The point-to-point lock path (docs/DESIGN.md §9): one node's half of the
 * per-glock master protocol.  Every glock has a master chosen by
 * rendezvous hashing over the members; a node is the requester for its own
 * clients and the master of the glocks it wins.  Lock traffic travels as
 * glock_p2p_msg between nodes over FIFO links; CPG still orders what needs
 * agreement (membership, the report rounds that rebuild moved glocks, the
 * DONE that closes them, fencing).
 *
 * Pure, as the replicated engine: no I/O, no clock, no globals.  Inputs
 * arrive through glock_p2p_apply(); everything it wants done comes out of
 * one callback: local answers (glock_output), link sends, multicasts and
 * link resets.  The output callback must not call back into the p2p.
 */
#ifndef GLOCK_P2P_H
#define GLOCK_P2P_H

#include "engine.h"
#include "plock.h"

enum glock_p2p_msg_kind {
	/* requester -> master */
	GLOCK_P2P_LOCK = 1,
	GLOCK_P2P_CONVERT = 2,
	GLOCK_P2P_RELEASE = 3,
	GLOCK_P2P_CANCEL = 4,
	GLOCK_P2P_REPORT = 5, /* what the requester has on one glock */
	/* master -> requester */
	GLOCK_P2P_GRANT = 6,
	GLOCK_P2P_DENY = 7,
	GLOCK_P2P_DEMOTE = 8,
	GLOCK_P2P_RELEASED = 9, /* a RELEASE or a down-conversion is applied */
	/*
	 * POSIX locks (DESIGN §9.2).  requester -> master, on the link:
	 * .req_id, .plock (the lock, the range, or the probe), .gen the
	 * requester's plock generation; LOCK's .flags: GLOCK_P2P_PLOCK_WAIT.
	 */
	GLOCK_P2P_PLOCK_LOCK = 10,
	GLOCK_P2P_PLOCK_UNLOCK = 11,
	GLOCK_P2P_PLOCK_GET = 12,
	GLOCK_P2P_PLOCK_CANCEL = 13, /* .req_id: the LOCK */
	/*
	 * requester -> master, through CPG (a round: the life's first op, and
	 * every configuration change): EPOCH .gen: nothing older of this
	 * requester counts any more, and its ops of .gen may be decided; at a
	 * change, a report of what it holds on one file whose master changed
	 * is REPORT_BEGIN, one HELD per lock (.plock), REPORT_END.
	 */
	GLOCK_P2P_PLOCK_EPOCH = 14,
	GLOCK_P2P_PLOCK_REPORT_BEGIN = 15,
	GLOCK_P2P_PLOCK_HELD = 16,
	GLOCK_P2P_PLOCK_REPORT_END = 17,
	/* master -> requester: .req_id, .gen of the request, .status; GET: .plock_found, .plock */
	GLOCK_P2P_PLOCK_ANSWER = 18,
};
#define GLOCK_P2P_KIND_MAX GLOCK_P2P_PLOCK_ANSWER
#define GLOCK_P2P_PLOCK_WAIT 0x1u

/* Is kind one that travels through CPG (glockd_lockpath_report)? */
static inline bool glock_p2p_kind_multicast(enum glock_p2p_msg_kind kind)
{
	return kind == GLOCK_P2P_REPORT || kind == GLOCK_P2P_PLOCK_EPOCH ||
	       kind == GLOCK_P2P_PLOCK_REPORT_BEGIN || kind == GLOCK_P2P_PLOCK_HELD ||
	       kind == GLOCK_P2P_PLOCK_REPORT_END;
}

static inline bool glock_p2p_kind_plock(enum glock_p2p_msg_kind kind)
{
	return kind >= GLOCK_P2P_PLOCK_LOCK && kind <= GLOCK_P2P_PLOCK_ANSWER;
}

/* REPORT: the requester's request still unanswered, if any. */
struct glock_p2p_pending {
	bool valid;
	enum glock_op_kind kind; /* LOCK or CONVERT (up) */
	uint64_t req_id;
	enum glock_mode mode;
	uint32_t flags;
	bool cancel; /* a CANCEL was asked for it */
};

/* REPORT: the last release or down-conversion not yet answered. */
struct glock_p2p_down {
	bool valid;
	uint64_t req_id;
	bool lvb_valid; /* it wrote the LVB */
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t lvb_base;
};

struct glock_p2p_msg {
	enum glock_p2p_msg_kind kind;
	struct glock_name name;
	/* The sender's configuration (its CONFCHG's config_id). */
	uint64_t config_id;
	/*
	 * The requester's generation for this master: requests carry the
	 * sender's, answers the one of the last report the master read.
	 */
	uint64_t gen;
	uint64_t req_id;      /* requests, GRANT, DENY, RELEASED; CANCEL: the request */
	enum glock_mode mode; /* LOCK/CONVERT: wanted; GRANT: granted; DEMOTE: target;
			       * REPORT: held (after the downs in flight) */
	uint32_t flags;
	enum glock_deny_reason reason; /* DENY */
	bool lvb_valid;                /* RELEASE/CONVERT: writes; GRANT: carries */
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t lvb_seq; /* writes: the sequence written on; GRANT, REPORT: seen */
	bool lvb_invalid; /* GRANT: the master lost the LVB in recovery */
	struct glock_p2p_pending pending; /* REPORT */
	struct glock_p2p_down down;       /* REPORT */
	/* POSIX locks */
	bool plock_valid;              /* .plock is set (requests, HELD, a GET's conflict) */
	struct glock_plock_lock plock;
	int32_t status;                /* PLOCK_ANSWER: 0 or -errno */
};

/*
 * POSIX locks (plock.h) on the p2p path, DESIGN §9.2: a local client's
 * fcntl() lock op, on the range-aware resource its name's master keeps.
 */
enum glock_plock_op_kind {
	GLOCK_PLOCK_OP_LOCK = 1,   /* F_SETLK, or F_SETLKW with wait */
	GLOCK_PLOCK_OP_UNLOCK = 2, /* F_UNLCK over the range */
	GLOCK_PLOCK_OP_GET = 3,    /* F_GETLK */
	GLOCK_PLOCK_OP_CANCEL = 4, /* withdraw the waiting LOCK req_id */
};

struct glock_plock_op {
	enum glock_plock_op_kind kind;
	uint64_t req_id; /* unique per node, never 0; CANCEL: the LOCK to withdraw */
	struct glock_name name;
	struct glock_plock_lock lock; /* owner.node is the local node; unused by CANCEL */
	bool wait;                    /* LOCK */
};

/*
 * Exactly one per LOCK, UNLOCK and GET; none for CANCEL (its LOCK gets one).
 * req_id 0 (status -ENOLCK): this node lost its POSIX locks on name (a
 * RESET: it left the quorate partition), as GLOCK_OUT_LOST for a glock.
 */
struct glock_plock_answer {
	uint64_t req_id;
	struct glock_name name;
	/*
	 * 0 (locked, unlocked, looked up), -EAGAIN (conflict, no wait),
	 * -EDEADLK, -EINTR (cancelled), -ENOLCK (the node lost its locks, or
	 * the resource is full), -EBUSY (the owner already waits there).
	 */
	int status;
	bool conflict_found;              /* GET */
	struct glock_plock_lock conflict; /* GET, when found */
};

enum glock_p2p_input_kind {
	GLOCK_P2P_IN_OP = 1,            /* a local client's op */
	GLOCK_P2P_IN_MSG = 2,           /* from a link, or a delivered REPORT */
	GLOCK_P2P_IN_CONFCHG = 3,       /* CPG member list, in agreed order */
	GLOCK_P2P_IN_DONE = 4,          /* member's reports for this config are in */
	GLOCK_P2P_IN_READY = 5,         /* synced and quorate: may grant; or not */
	GLOCK_P2P_IN_RESET = 6,         /* left the quorate partition: drop all */
	GLOCK_P2P_IN_FENCED = 7,
	GLOCK_P2P_IN_RECOVERY_DONE = 8,
	GLOCK_P2P_IN_LINK_DOWN = 9,     /* the link to a peer broke */
	GLOCK_P2P_IN_LINK_UP = 10,      /* a new connection to the peer */
	GLOCK_P2P_IN_TICK = 11,         /* node-local time, microseconds */
	GLOCK_P2P_IN_PLOCK = 12,        /* a local client's POSIX lock op */
};

struct glock_p2p_input {
	enum glock_p2p_input_kind kind;
	union {
		struct glock_op op; /* op.node must be the local node */
		struct {
			uint32_t from;
			const struct glock_p2p_msg *msg;
		} msg;
		struct {
			size_t n_members;
			const uint32_t *members;
			/* Departed nodes not yet recovered (the engine's list). */
			size_t n_departed;
			const uint32_t *departed;
			/*
			 * The membership engine's glock_engine_config_id() for
			 * it: tells it from an earlier configuration of the same
			 * members.  0: a hash of the member list alone.
			 */
			uint64_t config_id;
		} confchg;
		struct {
			uint32_t node; /* DONE, FENCED, RECOVERY_DONE, LINK_* */
		} node;
		bool ready;
		uint64_t now_us;
		const struct glock_plock_op *plock;
	} u;
};

enum glock_p2p_output_kind {
	GLOCK_P2P_OUT_LOCAL = 1,     /* an answer for the local node: .local */
	GLOCK_P2P_OUT_SEND = 2,      /* .msg to .node over its link */
	GLOCK_P2P_OUT_MULTICAST = 3, /* .msg (a REPORT for .node) through CPG */
	GLOCK_P2P_OUT_LINK_RESET = 4, /* break the link to .node: it departed */
	GLOCK_P2P_OUT_PLOCK = 5,     /* an answer to a local POSIX lock op: .plock */
};

struct glock_p2p_output {
	enum glock_p2p_output_kind kind;
	uint32_t node;
	const struct glock_p2p_msg *msg;
	const struct glock_output *local;
	const struct glock_plock_answer *plock;
};

typedef void (*glock_p2p_output_fn)(void *ctx, const struct glock_p2p_output *out);

struct glock_p2p;

/* cfg as the replicated engine's: local node and hold times. */
struct glock_p2p *glock_p2p_new(const struct glock_engine_config *cfg, glock_p2p_output_fn output,
				void *ctx);
void glock_p2p_free(struct glock_p2p *p);

/*
 * Applies one input.  For OP: 0, or the errno glock_engine_apply() would
 * return for it (checked against what this node holds and asks, nothing is
 * emitted on an error); -EAGAIN before the first configuration or while
 * not ready.  For MSG: 0, or -EBADMSG/-EPROTO for a malformed message or
 * one that makes no sense from that node (dropped, nothing changes).
 * -ENOMEM: nothing changed.
 */
int glock_p2p_apply(struct glock_p2p *p, const struct glock_p2p_input *in);

/*
 * The lowest first_life (engine.h) a p2p that replaces this one in the same
 * process may start with: above every life this one reached.
 */
uint32_t glock_p2p_next_life(const struct glock_p2p *p);

/* The earliest delayed local demote, as glock_engine_next_due(). */
bool glock_p2p_next_due(const struct glock_p2p *p, uint64_t *ret_due_us);

struct glock_p2p_stats {
	size_t mastered;      /* glocks in this node's master table */
	size_t recovering;    /* of which being rebuilt */
	size_t held;          /* glocks this node holds or asks for */
	size_t parked;        /* requests waiting for a report, config or recovery */
	uint64_t dropped;     /* answers or requests dropped as stale */
	/* POSIX locks (glock_p2p_plock_stats) */
	size_t plock_files, plock_locks, plock_waiters, plock_parked, plock_pending;
};
void glock_p2p_stats(const struct glock_p2p *p, struct glock_p2p_stats *out);

struct glock_p2p_plock_stats {
	size_t files;   /* files whose POSIX locks this node masters */
	size_t locks;   /* their locks */
	size_t waiters; /* and waiters */
	size_t parked;  /* POSIX lock requests parked */
	size_t pending; /* this node's ops not answered yet */
};
void glock_p2p_plock_stats(const struct glock_p2p *p, struct glock_p2p_plock_stats *out);

/*
 * For glockctl dump and the simulator: every POSIX lock (waiter NULL) and
 * waiter (lock NULL) on the files this node masters, file by file in no
 * defined order; stops at fn's non-zero value and returns it.
 */
typedef int (*glock_p2p_plock_fn)(void *ctx, const struct glock_name *name,
				  const struct glock_plock_lock *lock,
				  const struct glock_plock_waiter *waiter);
int glock_p2p_export_plocks(const struct glock_p2p *p, glock_p2p_plock_fn fn, void *ctx);

/* Master of name in the current configuration (GLOCK_NODEID_NONE before one). */
uint32_t glock_p2p_master_of(const struct glock_p2p *p, const struct glock_name *name);

/* Calls fn for every glock this node masters, in name order, as engine_export(). */
int glock_p2p_export_mastered(const struct glock_p2p *p, glock_record_fn fn, void *ctx);

#endif /* GLOCK_P2P_H */
