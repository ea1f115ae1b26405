/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to daemon/engine: the state of one node's p2p lock path, shared
 * by p2p.c (inputs, membership, recovery bookkeeping), master.c (the
 * glocks this node masters) and requester.c (what its clients hold).
 */
#ifndef GLOCK_P2P_INTERNAL_H
#define GLOCK_P2P_INTERNAL_H

#include "hold.h"
#include "p2p.h"
#include "table.h"

#define P2P_HISTORY_MAX 16
#define P2P_DEPARTED_MAX (4 * GLOCK_NODES_MAX)

struct p2p_peer {
	uint32_t node;
	uint64_t gen;      /* requester: our generation for this master */
	uint64_t gen_seen; /* master: generation of this requester's last report */
	bool done;         /* its DONE for the current configuration is in */
	uint64_t gen_cfg;  /* master: gen_seen when the current configuration began */
	bool link_down;
};

struct p2p_departed {
	uint32_t node;
	bool fenced;
	/*
	 * The configuration (local number) from which this node's master table
	 * was exact up to the departure: the last completed recovery then.
	 * 0: unknown (it departed before this node knew the cluster).
	 */
	uint64_t exact_from;
};

struct p2p_config_rec {
	uint64_t no; /* local count of configurations */
	uint64_t id;
	size_t n;
	uint32_t members[GLOCK_NODES_MAX];
};

/* A request a master cannot take yet (see master.c for when it can). */
struct p2p_parked {
	uint32_t from;
	uint64_t cfg_no; /* configuration it arrived in */
	uint64_t since;  /* configuration it was first parked in */
	struct glock_p2p_msg msg;
};

/* What this node's clients hold and ask for on one glock. */
struct rq_glock {
	struct glock_name name;
	uint32_t hash;
	struct rq_glock *next;
	enum glock_mode held; /* after the downs in flight */
	uint32_t held_flags;
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t lvb_seq;
	struct glock_p2p_down down;
	struct glock_p2p_pending up;
	uint32_t master; /* the master it was last sent or reported to */
	struct glock__hold hold;
};

struct rq_table {
	struct rq_glock **buckets;
	size_t n_buckets, n;
};

struct p2p_plock;

struct glock_p2p {
	struct glock_engine_config cfg;
	struct glock__hold_cfg hold_cfg;
	glock_p2p_output_fn output;
	void *ctx;
	uint64_t now_us;

	/* membership */
	bool configured, ready;
	uint32_t members[GLOCK_NODES_MAX]; /* sorted */
	struct p2p_peer peers[GLOCK_NODES_MAX]; /* parallel to members */
	size_t n_members;
	uint64_t cfg_id, cfg_no;
	struct p2p_config_rec history[P2P_HISTORY_MAX]; /* ring, newest at history_head */
	size_t history_head, n_history;
	struct p2p_departed departed[P2P_DEPARTED_MAX]; /* sorted by node */
	size_t n_departed;
	bool recovery_pending;
	/*
	 * cfg.first_life plus the RESETs so far: the high half of every
	 * generation this node starts with, so that a master tells its
	 * messages from those of before, and of an earlier start of glockd.
	 */
	uint64_t life;
	/*
	 * Requester: the last generation given to any master.  One counter
	 * for all of them: a master that departs and comes back gets a new
	 * peer entry here, and must still never see a generation it saw
	 * before (it may hold a report of ours from before its departure).
	 */
	uint64_t gen_last;
	uint64_t recovered_cfg; /* configuration whose recovery completed last; 0: none */
	uint64_t reset_cfg_id; /* the configuration the last RESET ended; 0: none */

	/* master */
	struct glock__table tbl;
	uint64_t lvb_seq_sent; /* the highest LVB sequence this master granted or was reported */
	struct p2p_parked *parked;
	size_t n_parked, cap_parked;
	uint64_t unparking_since; /* .since of the parked message run again now; 0: none */

	/* requester */
	struct rq_table rq;
	size_t n_delayed;

	/* messages to self, delivered after the current input */
	struct p2p_parked *loop;
	size_t n_loop, cap_loop;
	bool draining;

	/* POSIX locks, master and requester (p2p_plock.c) */
	struct p2p_plock *plock;

	uint64_t dropped;
	int error; /* -ENOMEM met while emitting: reported by apply() */
};

/* p2p.c */
struct p2p_peer *p2p_peer(struct glock_p2p *p, uint32_t node);
bool p2p_is_member(const struct glock_p2p *p, uint32_t node);
/* Was config_id one of this node's configurations (the ones its history keeps)? */
bool p2p_config_seen(const struct glock_p2p *p, uint64_t config_id);
/* Is config_id the one this node's last RESET ended, and not one of its life since? */
bool p2p_config_of_old_life(const struct glock_p2p *p, uint64_t config_id);
uint32_t p2p_master_now(const struct glock_p2p *p, const struct glock_name *name);
void p2p_send(struct glock_p2p *p, uint32_t to, struct glock_p2p_msg *msg);
void p2p_multicast(struct glock_p2p *p, uint32_t to, struct glock_p2p_msg *msg);
void p2p_local(struct glock_p2p *p, const struct glock_output *out);
/* Is node departed and not recovered yet? */
bool p2p_departed_pending(const struct glock_p2p *p, uint32_t node);
/* Must the master wait for the reports of this configuration before deciding name? */
bool p2p_name_gained(const struct glock_p2p *p, const struct glock_name *name);
/* Could departed node d have held name without this node's table knowing? */
bool p2p_needs_placeholder(const struct glock_p2p *p, const struct glock_name *name,
			   const struct p2p_departed *d);

/* master.c */
int p2p_master_init(struct glock_p2p *p);
void p2p_master_fini(struct glock_p2p *p);
void p2p_master_clear(struct glock_p2p *p);
int p2p_master_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg);
/* After the member list changed: departed[] of the old members not in it. */
int p2p_master_confchg(struct glock_p2p *p, const uint32_t *gone, size_t n_gone);
void p2p_master_done(struct glock_p2p *p, uint32_t node);
void p2p_master_try_recover(struct glock_p2p *p);
void p2p_master_fenced(struct glock_p2p *p, uint32_t node);
void p2p_master_recovery_done(struct glock_p2p *p, uint32_t node);
void p2p_master_link_down(struct glock_p2p *p, uint32_t node);
void p2p_master_process_all(struct glock_p2p *p);
size_t p2p_master_recovering(const struct glock_p2p *p);

/* requester.c */
int p2p_rq_init(struct glock_p2p *p);
void p2p_rq_fini(struct glock_p2p *p);
/* RESET: every grant LOST, every pending request DENY(LOST). */
void p2p_rq_lose_all(struct glock_p2p *p);
int p2p_rq_op(struct glock_p2p *p, const struct glock_op *op);
int p2p_rq_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg);
/* Reports to every new master (through CPG); gens bumped once per master. */
void p2p_rq_confchg(struct glock_p2p *p);
/* A new connection to master: report everything it masters over it. */
void p2p_rq_link_up(struct glock_p2p *p, uint32_t node);
void p2p_rq_tick(struct glock_p2p *p);
bool p2p_rq_next_due(const struct glock_p2p *p, uint64_t *due);
size_t p2p_rq_count(const struct glock_p2p *p);

/* p2p_plock.c */
int p2p_plock_init(struct glock_p2p *p);
void p2p_plock_fini(struct glock_p2p *p);
int p2p_plock_master_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg);
/* Grants what may be granted now, then runs the parked requests again. */
void p2p_plock_master_kick(struct glock_p2p *p);
void p2p_plock_master_confchg(struct glock_p2p *p, const uint32_t *gone, size_t n_gone);
void p2p_plock_master_drop_node(struct glock_p2p *p, uint32_t node);
int p2p_plock_rq_op(struct glock_p2p *p, const struct glock_plock_op *op);
int p2p_plock_rq_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg);
void p2p_plock_rq_confchg(struct glock_p2p *p);
void p2p_plock_rq_link_up(struct glock_p2p *p, uint32_t node);
/* RESET: locks held said lost, unanswered local ops get -ENOLCK, every table emptied. */
void p2p_plock_lose_all(struct glock_p2p *p);

#endif /* GLOCK_P2P_INTERNAL_H */
