// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX locks on the p2p lock path (docs/DESIGN.md §9.2).  The master of
 * a file's name keeps a plock.c resource and decides its fcntl() locks; a
 * requester keeps what its owners hold (the same plock.c structure, its
 * own owners only) and the ops they wait on.
 *
 * What is stale is told by one number, the requester's plock generation:
 * its life (RESETs and glockd's start) in the high half, its rounds in
 * the low half.  Every op carries the generation it was last sent under.
 * A round starts with the life's first op and at every configuration
 * change: the requester tells every member (EPOCH, through CPG, before
 * its DONE); at a change it also reports what it holds on every file
 * whose master changed (REPORT_BEGIN, HELD.., REPORT_END) and sends every
 * unanswered op again, in order.  A link that comes up gets the
 * unanswered ops again, same generation.  A master takes an op only in
 * the round whose EPOCH it has read (older: dropped; newer: it waits),
 * and answers with the op's generation; a requester takes only the
 * answer to an op's last send.  Ops are idempotent (a waiter sent again
 * is not queued twice, a lock granted again is the same lock, an unlock
 * again changes nothing), so sending the unanswered ones again leaves the
 * master saying what the requester will believe.  A later life makes a
 * master forget what the earlier ones held.
 *
 * A master decides a file only when it may: ready (synced and quorate),
 * the file not gained in a recovery still waiting for DONEs (by then
 * every member's reports and EPOCH are in), and no departed node that
 * may hold locks there unknown to this table still unfenced.  Until then
 * requests are parked, in arrival order; reports are applied at once,
 * granting nobody.
 */
#include "p2p_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PL_BUCKETS 256u
/* Unanswered ops one requester keeps per file. */
#define PL_OPS_MAX 1024u

/* Master: the generation a queued waiter's request was sent under. */
struct pl_gen {
	uint32_t node;
	uint64_t req_id;
	uint64_t gen;
};

/* Master: one file it masters. */
struct pl_res {
	struct glock_name name;
	uint32_t hash;
	struct pl_res *next;
	struct glock_plock_res *res;
	struct pl_gen *gens;
	size_t n_gens, cap_gens;
};

/* Requester: one unanswered op. */
struct pl_op {
	enum glock_plock_op_kind kind; /* LOCK, UNLOCK, GET */
	uint64_t req_id;
	struct glock_plock_lock lock;
	bool wait;
	bool cancel; /* LOCK: withdrawing it was asked */
	uint64_t gen;
	bool sent;   /* under gen */
};

/* Requester: one file its owners hold locks on or wait for. */
struct pl_rq {
	struct glock_name name;
	uint32_t hash;
	struct pl_rq *next;
	uint32_t master; /* the master last reported or sent to */
	struct glock_plock_res *held;
	struct pl_op *ops;
	size_t n_ops, cap_ops;
};

/* Master: a report on its way (REPORT_BEGIN read, REPORT_END not yet). */
struct pl_stash {
	uint32_t from;
	struct glock_name name;
	uint64_t gen;
	struct glock_plock_lock *v;
	size_t n, cap;
	bool overflow;
};

/* Master: a request that cannot be decided yet. */
struct pl_parked {
	uint32_t from;
	uint64_t cfg_no;  /* the configuration it was parked in */
	uint64_t since;   /* the configuration it was first parked in */
	bool stranger;    /* its sender was not a member then */
	struct glock_p2p_msg msg;
};

struct pl_epoch {
	uint32_t node;
	uint64_t gen;
	/* The life it had when it last departed (0: never seen depart). */
	uint64_t departed_life;
};

struct p2p_plock {
	struct pl_res *res[PL_BUCKETS];
	size_t n_res;
	struct pl_epoch epochs[GLOCK_NODES_MAX];
	size_t n_epochs;
	struct pl_stash *stash;
	size_t n_stash;
	struct pl_parked *parked;
	size_t n_parked, cap_parked;
	bool unparking;

	struct pl_rq *rq[PL_BUCKETS];
	size_t n_rq;
	uint64_t gen;
	/*
	 * This life sent POSIX ops: every change then announces the new
	 * generation (EPOCH) to every member.  A node that takes no POSIX
	 * locks multicasts nothing more.
	 */
	bool announcing;
	/*
	 * An earlier life sent POSIX ops: every node that may keep its locks
	 * must hear of this life.  told[]: the members told so far in this
	 * life (a node that was never a member kept nothing of ours).
	 */
	bool ever_sent;
	uint32_t told[GLOCK_NODES_MAX];
	size_t n_told;
	bool quiet; /* being freed: answers nobody */
};

/* ---- small helpers ---- */

static struct p2p_plock *pl(struct glock_p2p *p)
{
	return p->plock;
}

static void answer_local(struct glock_p2p *p, const struct glock_name *name, uint64_t req_id,
			 int status, const struct glock_plock_lock *conflict)
{
	struct glock_plock_answer ans = { .req_id = req_id, .name = *name, .status = status };
	struct glock_p2p_output out = {
		.kind = GLOCK_P2P_OUT_PLOCK, .node = p->cfg.local_node, .plock = &ans,
	};

	if (pl(p)->quiet)
		return;
	if (conflict) {
		ans.conflict_found = true;
		ans.conflict = *conflict;
	}
	p->output(p->ctx, &out);
}

/*
 * The requester's generation on the wire: its life (RESETs, DESIGN §9) in
 * the high half, as the glocks' generations, so that a master tells what a
 * node sent before it lost its locks from what it sends after.
 */
static uint64_t cur_gen(const struct glock_p2p *p)
{
	return p->life << 32 | (p->plock->gen & 0xffffffffu);
}

static uint64_t epoch_of(const struct p2p_plock *s, uint32_t node)
{
	size_t i;

	for (i = 0; i < s->n_epochs; i++)
		if (s->epochs[i].node == node)
			return s->epochs[i].gen;
	return 0;
}

static void epoch_set(struct p2p_plock *s, uint32_t node, uint64_t gen)
{
	size_t i;

	for (i = 0; i < s->n_epochs; i++) {
		if (s->epochs[i].node == node) {
			if (gen > s->epochs[i].gen)
				s->epochs[i].gen = gen;
			return;
		}
	}
	if (s->n_epochs < GLOCK_NODES_MAX)
		s->epochs[s->n_epochs++] = (struct pl_epoch){ .node = node, .gen = gen };
}

/* ---- master: files ---- */

static struct pl_res *res_find(struct p2p_plock *s, const struct glock_name *name)
{
	uint32_t h = glock__name_hash(name);
	struct pl_res *r;

	for (r = s->res[h % PL_BUCKETS]; r; r = r->next)
		if (r->hash == h && glock_name_compare(&r->name, name) == 0)
			return r;
	return NULL;
}

static struct pl_res *res_get(struct p2p_plock *s, const struct glock_name *name)
{
	struct pl_res *r = res_find(s, name);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->res = glock_plock_res_new();
	if (!r->res) {
		free(r);
		return NULL;
	}
	r->name = *name;
	r->hash = glock__name_hash(name);
	r->next = s->res[r->hash % PL_BUCKETS];
	s->res[r->hash % PL_BUCKETS] = r;
	s->n_res++;
	return r;
}

static void res_free(struct pl_res *r)
{
	glock_plock_res_free(r->res);
	free(r->gens);
	free(r);
}

static void res_unlink(struct p2p_plock *s, struct pl_res *r)
{
	struct pl_res **pp = &s->res[r->hash % PL_BUCKETS];

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	s->n_res--;
	res_free(r);
}

static void res_put_if_empty(struct p2p_plock *s, struct pl_res *r)
{
	if (glock_plock_res_empty(r->res))
		res_unlink(s, r);
}

static struct pl_gen *gen_find(struct pl_res *r, uint32_t node, uint64_t req_id)
{
	size_t i;

	for (i = 0; i < r->n_gens; i++)
		if (r->gens[i].node == node && r->gens[i].req_id == req_id)
			return &r->gens[i];
	return NULL;
}

static int gen_set(struct pl_res *r, uint32_t node, uint64_t req_id, uint64_t gen)
{
	struct pl_gen *g = gen_find(r, node, req_id);

	if (g) {
		g->gen = gen;
		return 0;
	}
	if (r->n_gens == r->cap_gens) {
		size_t cap = r->cap_gens ? r->cap_gens * 2 : 8;
		struct pl_gen *v = realloc(r->gens, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->gens = v;
		r->cap_gens = cap;
	}
	r->gens[r->n_gens++] = (struct pl_gen){ node, req_id, gen };
	return 0;
}

/* Forgets the waiter's generation; returns it (0 if none was kept). */
static uint64_t gen_take(struct pl_res *r, uint32_t node, uint64_t req_id)
{
	struct pl_gen *g = gen_find(r, node, req_id);
	uint64_t gen;

	if (!g)
		return 0;
	gen = g->gen;
	*g = r->gens[--r->n_gens];
	return gen;
}

/* Waiters of nodes that are no longer queued (dropped with their node) go. */
static void gens_prune(struct pl_res *r, uint32_t node)
{
	size_t i = 0;

	while (i < r->n_gens) {
		if (r->gens[i].node == node)
			r->gens[i] = r->gens[--r->n_gens];
		else
			i++;
	}
}

/* ---- master: answers ---- */

static void send_answer(struct glock_p2p *p, const struct glock_name *name, uint32_t to,
			uint64_t req_id, uint64_t gen, int status,
			const struct glock_plock_lock *conflict)
{
	struct glock_p2p_msg msg = {
		.kind = GLOCK_P2P_PLOCK_ANSWER, .name = *name, .req_id = req_id, .gen = gen,
		.status = status,
	};

	if (!p2p_is_member(p, to))
		return; /* departed: its locks go when it is fenced */
	if (conflict) {
		msg.plock_valid = true;
		msg.plock = *conflict;
	}
	p2p_send(p, to, &msg);
}

struct grant_ctx {
	struct glock_p2p *p;
	struct pl_res *r;
	/* Grants held back until the op that made them is answered (see granted()). */
	bool defer;
	struct pl_gen *held;
	size_t n_held, cap_held;
};

/*
 * Problem scenario (p2p-sim --plocks --stalls, 3 nodes, seed 15): owner A
 * of node R turns its WR into RD, which lets owner B of R, waiting for RD
 * there, go.  B's grant was sent from inside A's op, before A's answer:
 * R's copy of what its owners hold took B's RD next to A's WR, refused
 * it, and R's next report to a new master left B's lock out.  A node's
 * answers keep the order in which the master applied its ops.
 */
static void granted(void *ctx, const struct glock_plock_waiter *w)
{
	struct grant_ctx *g = ctx;
	uint64_t gen = gen_take(g->r, w->node, w->req_id);

	if (g->defer && g->n_held == g->cap_held) {
		size_t cap = g->cap_held ? g->cap_held * 2 : 4;
		struct pl_gen *v = realloc(g->held, cap * sizeof(*v));

		if (v) {
			g->held = v;
			g->cap_held = cap;
		}
	}
	if (g->defer && g->n_held < g->cap_held) {
		g->held[g->n_held++] = (struct pl_gen){ w->node, w->req_id, gen };
		return;
	}
	send_answer(g->p, &g->r->name, w->node, w->req_id, gen, 0, NULL);
}

static void grants_flush(struct grant_ctx *g)
{
	size_t i;

	for (i = 0; i < g->n_held; i++)
		send_answer(g->p, &g->r->name, g->held[i].node, g->held[i].req_id, g->held[i].gen,
			    0, NULL);
	free(g->held);
	g->held = NULL;
	g->n_held = g->cap_held = 0;
}

/* May this master decide name now (see the top)? */
static bool decidable(struct glock_p2p *p, const struct glock_name *name)
{
	size_t i;

	if (!p->ready || p2p_name_gained(p, name))
		return false;
	for (i = 0; i < p->n_departed; i++)
		if (!p->departed[i].fenced && p2p_needs_placeholder(p, name, &p->departed[i]))
			return false;
	return true;
}

static void granted(void *ctx, const struct glock_plock_waiter *w);
static bool decidable(struct glock_p2p *p, const struct glock_name *name);
static void stash_drop(struct p2p_plock *s, struct pl_stash *st);

/*
 * from speaks from a later life: it lost its locks (a RESET) since what
 * this table has of it.  Problem scenario (p2p-sim --plocks --stalls, 10
 * nodes, seed 34): R's LOCK, sent before R was cut off and lost its
 * locks, waited parked at M, which had lost its own (RESET) and so never
 * saw R leave; at the merge it was granted: a lock R never knew of.
 */
static void forget_life(struct glock_p2p *p, uint32_t from, uint64_t life)
{
	struct p2p_plock *s = pl(p);
	size_t b, i, k;

	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_res *r = s->res[b], *next;

		for (; r; r = next) {
			struct grant_ctx g = { .p = p, .r = r };

			next = r->next;
			glock_plock_drop_node(r->res, from, decidable(p, &r->name) ? granted : NULL,
					      &g);
			gens_prune(r, from);
			res_put_if_empty(s, r);
		}
	}
	for (i = k = 0; i < s->n_parked; i++) {
		if (s->parked[i].from == from && (s->parked[i].msg.gen >> 32) < life)
			p->dropped++;
		else
			s->parked[k++] = s->parked[i];
	}
	s->n_parked = k;
	for (i = 0; i < s->n_stash;) {
		if (s->stash[i].from == from && (s->stash[i].gen >> 32) < life)
			stash_drop(s, &s->stash[i]);
		else
			i++;
	}
	epoch_set(s, from, life << 32);
}

/* false: msg is of an earlier life of its sender (dropped). */
static bool life_check(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	uint64_t known = epoch_of(pl(p), from) >> 32, life = msg->gen >> 32;

	if (life < known) {
		p->dropped++;
		return false;
	}
	if (life > known)
		forget_life(p, from, life);
	return true;
}

/* ---- master: parking ---- */

static void park(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg,
		 const struct pl_parked *before)
{
	struct p2p_plock *s = pl(p);

	if (s->n_parked == s->cap_parked) {
		size_t cap = s->cap_parked ? s->cap_parked * 2 : 16;
		struct pl_parked *v = realloc(s->parked, cap * sizeof(*v));

		if (!v) {
			/* As if lost on a reset link: sent again at the next round. */
			p->error = -ENOMEM;
			p->dropped++;
			return;
		}
		s->parked = v;
		s->cap_parked = cap;
	}
	s->parked[s->n_parked++] = (struct pl_parked){
		.from = from, .cfg_no = p->cfg_no, .msg = *msg,
		.since = before ? before->since : p->cfg_no,
		.stranger = !p->configured || !p2p_is_member(p, from),
	};
}

static bool parked_from(const struct p2p_plock *s, uint32_t from, const struct glock_name *name)
{
	size_t i;

	for (i = 0; i < s->n_parked; i++)
		if (s->parked[i].from == from &&
		    glock_name_compare(&s->parked[i].msg.name, name) == 0)
			return true;
	return false;
}

static int master_request(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg,
			  const struct pl_parked *parked);

/* Runs the parked requests through the checks again, in arrival order. */
static void unpark(struct glock_p2p *p)
{
	struct p2p_plock *s = pl(p);
	struct pl_parked *v = s->parked;
	size_t n = s->n_parked, i;

	if (!n || s->unparking)
		return;
	s->unparking = true;
	s->parked = NULL;
	s->n_parked = s->cap_parked = 0;
	for (i = 0; i < n; i++)
		(void)master_request(p, v[i].from, &v[i].msg, &v[i]);
	s->unparking = false;
	if (!s->parked) {
		s->parked = v;
		s->cap_parked = n;
	} else {
		free(v);
	}
}

/* ---- master: requests ---- */

/* may_grant: false while a departed node may hold locks this table does not know. */
static int apply_request(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg,
			 bool may_grant)
{
	struct p2p_plock *s = pl(p);
	struct pl_res *r = res_find(s, &msg->name);
	struct grant_ctx g = { .p = p, .defer = true };
	struct glock_plock_lock conflict;
	int rc = 0;

	switch (msg->kind) {
	case GLOCK_P2P_PLOCK_LOCK:
		r = r ? r : res_get(s, &msg->name);
		if (!r) {
			send_answer(p, &msg->name, from, msg->req_id, msg->gen, -ENOLCK, NULL);
			return -ENOMEM;
		}
		g.r = r;
		rc = gen_set(r, from, msg->req_id, msg->gen);
		if (!rc)
			rc = glock_plock_lock(r->res, msg->req_id, &msg->plock,
					      msg->flags & GLOCK_P2P_PLOCK_WAIT, granted, &g);
		if (rc != GLOCK_PLOCK_QUEUED)
			(void)gen_take(r, from, msg->req_id);
		if (rc != GLOCK_PLOCK_QUEUED)
			send_answer(p, &msg->name, from, msg->req_id, msg->gen,
				    rc == -ENOMEM ? -ENOLCK : rc, NULL);
		break;
	case GLOCK_P2P_PLOCK_UNLOCK:
		if (r) {
			g.r = r;
			rc = glock_plock_unlock(r->res, &msg->plock.owner, msg->plock.start,
						msg->plock.end, may_grant ? granted : NULL, &g);
		}
		send_answer(p, &msg->name, from, msg->req_id, msg->gen,
			    rc == -ENOMEM ? -ENOLCK : rc, NULL);
		break;
	case GLOCK_P2P_PLOCK_GET:
		rc = r ? glock_plock_get(r->res, &msg->plock, &conflict) : 0;
		send_answer(p, &msg->name, from, msg->req_id, msg->gen, rc < 0 ? rc : 0,
			    rc == 1 ? &conflict : NULL);
		break;
	case GLOCK_P2P_PLOCK_CANCEL:
		/* -ENOENT: answered already, the answer is on its way. */
		if (r && glock_plock_cancel(r->res, from, msg->req_id) == 0) {
			(void)gen_take(r, from, msg->req_id);
			send_answer(p, &msg->name, from, msg->req_id, msg->gen, -EINTR, NULL);
		}
		break;
	default:
		return -EPROTO;
	}
	grants_flush(&g); /* after the op's own answer */
	if (r)
		res_put_if_empty(s, r);
	return 0;
}

static int master_request(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg,
			  const struct pl_parked *parked)
{
	uint64_t parked_cfg = parked ? parked->cfg_no : 0;
	struct p2p_plock *s = pl(p);

	if (!p->configured || !p2p_is_member(p, from)) {
		if (parked_cfg && parked_cfg != p->cfg_no) {
			p->dropped++; /* a configuration went by and the sender is not in it */
			return 0;
		}
		park(p, from, msg, parked); /* a joiner this node has not seen join yet */
		return 0;
	}
	if (parked && parked->stranger && msg->config_id != p->cfg_id) {
		/*
		 * Parked before its sender was a member, and not sent in the
		 * configuration that made it one: sent by a life of it this
		 * node saw leave.  Problem scenario (p2p-sim --plocks --stalls,
		 * 4 nodes, seed 22): R, cut off and not yet told, sent LOCKs to
		 * M, which had seen R leave; R was fenced and came back, a new
		 * process; its old LOCKs, taken at the join, were granted.
		 */
		p->dropped++;
		return 0;
	}
	if (msg->plock_valid && msg->plock.owner.node != from)
		return -EPROTO;
	if (p2p_departed_pending(p, from)) {
		/*
		 * Back before its old life was recovered: what the table has
		 * under its id is the old life's, dropped at its fencing,
		 * which must not take this life's locks with it.
		 */
		park(p, from, msg, parked);
		return 0;
	}
	if (!life_check(p, from, msg))
		return 0;
	if (msg->gen < epoch_of(s, from)) {
		p->dropped++; /* sent before its sender's last round */
		return 0;
	}
	if (msg->gen > epoch_of(s, from)) {
		/*
		 * Its round's EPOCH (through CPG) is not read yet: this node
		 * has not reached the configuration it was sent in, or the
		 * sender's first op overtook it.  Problem scenario (p2p-sim
		 * --plocks --chaos, 5 nodes, seed 122): R, a change ahead of M,
		 * reported nothing on F to M, then asked M for a lock; M, a
		 * change behind and F's master there too, granted it; at the
		 * change R had seen, F moved away from M and back, rebuilt from
		 * R's report of nothing: R used a lock the table no longer had.
		 * (Same members, same configuration id: only the round tells.)
		 * One that never comes is dropped after P2P_HISTORY_MAX changes.
		 */
		if (parked && parked->since + P2P_HISTORY_MAX <= p->cfg_no) {
			p->dropped++;
			return 0;
		}
		park(p, from, msg, parked);
		return 0;
	}
	if (parked_from(s, from, &msg->name)) {
		park(p, from, msg, parked); /* a sender's ops on a file keep their order */
		return 0;
	}
	if (p2p_master_now(p, &msg->name) != p->cfg.local_node) {
		p->dropped++;
		/*
		 * Same configuration, other master: the sender is wrong; of an
		 * older one: its sender sends it again to the file's master.
		 */
		return msg->config_id == p->cfg_id ? -EPROTO : 0;
	}
	if (!decidable(p, &msg->name)) {
		/*
		 * Only what may be granted must wait for a departed node's
		 * fencing: an unlock or a cancel takes nothing (a process in
		 * F_UNLCK, or dying, does not wait for another node's fencing).
		 * Not while the file is rebuilt: a report read later would
		 * bring back what the unlock removed.
		 */
		if ((msg->kind == GLOCK_P2P_PLOCK_UNLOCK || msg->kind == GLOCK_P2P_PLOCK_CANCEL) &&
		    p->ready && !p2p_name_gained(p, &msg->name))
			return apply_request(p, from, msg, false);
		park(p, from, msg, parked);
		return 0;
	}
	return apply_request(p, from, msg, true);
}

/* ---- master: reports ---- */

static struct pl_stash *stash_find(struct p2p_plock *s, uint32_t from,
				   const struct glock_name *name)
{
	size_t i;

	for (i = 0; i < s->n_stash; i++)
		if (s->stash[i].from == from && glock_name_compare(&s->stash[i].name, name) == 0)
			return &s->stash[i];
	return NULL;
}

static void stash_drop(struct p2p_plock *s, struct pl_stash *st)
{
	free(st->v);
	*st = s->stash[--s->n_stash];
}

static int stash_begin(struct p2p_plock *s, uint32_t from, const struct glock_p2p_msg *msg)
{
	struct pl_stash *st = stash_find(s, from, &msg->name);

	if (!st) {
		struct pl_stash *v = realloc(s->stash, (s->n_stash + 1) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->stash = v;
		st = &s->stash[s->n_stash++];
		memset(st, 0, sizeof(*st));
		st->from = from;
		st->name = msg->name;
	}
	st->gen = msg->gen;
	st->n = 0;
	st->overflow = false;
	return 0;
}

static int stash_add(struct pl_stash *st, const struct glock_plock_lock *l)
{
	if (st->n == GLOCK_PLOCK_RES_MAX) {
		st->overflow = true;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 8;
		struct glock_plock_lock *v = realloc(st->v, cap * sizeof(*v));

		if (!v) {
			st->overflow = true;
			return -ENOMEM;
		}
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n++] = *l;
	return 0;
}

/* REPORT_END: what from holds on the file replaces what this table had. */
static int apply_report(struct glock_p2p *p, uint32_t from, struct pl_stash *st)
{
	struct p2p_plock *s = pl(p);
	struct pl_res *r = res_find(s, &st->name);
	bool may = decidable(p, &st->name);
	struct grant_ctx g = { .p = p };
	int rc;

	if (st->overflow)
		return -ENOLCK;
	if (!r && !st->n)
		return 0;
	r = r ? r : res_get(s, &st->name);
	if (!r)
		return -ENOMEM;
	g.r = r;
	rc = glock_plock_set_node(r->res, from, st->v, st->n, may ? granted : NULL, &g);
	res_put_if_empty(s, r);
	return rc;
}

static int master_report(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	struct p2p_plock *s = pl(p);
	struct pl_stash *st;
	int rc = 0;

	if (!p->configured || !p2p_is_member(p, from)) {
		p->dropped++; /* a joiner has nothing to report yet */
		return 0;
	}
	if (!life_check(p, from, msg))
		return 0;
	if (msg->kind == GLOCK_P2P_PLOCK_EPOCH) {
		epoch_set(s, from, msg->gen);
		unpark(p); /* the ops of that round */
		return 0;
	}
	if (msg->gen < epoch_of(s, from) ||
	    p2p_master_now(p, &msg->name) != p->cfg.local_node) {
		p->dropped++; /* stale, or for the master of another configuration */
		return 0;
	}
	st = stash_find(s, from, &msg->name);
	switch (msg->kind) {
	case GLOCK_P2P_PLOCK_REPORT_BEGIN:
		return stash_begin(s, from, msg);
	case GLOCK_P2P_PLOCK_HELD:
		if (!st || st->gen != msg->gen || msg->plock.owner.node != from)
			return -EPROTO;
		return stash_add(st, &msg->plock);
	case GLOCK_P2P_PLOCK_REPORT_END:
		if (!st || st->gen != msg->gen)
			return -EPROTO;
		rc = apply_report(p, from, st);
		stash_drop(s, st);
		if (rc)
			p->dropped++;
		return rc == -ENOMEM ? rc : rc ? -EPROTO : 0;
	default:
		return -EPROTO;
	}
}

int p2p_plock_master_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	if (glock_p2p_kind_multicast(msg->kind))
		return master_report(p, from, msg);
	return master_request(p, from, msg, NULL);
}

/* Grants what may be granted now on every file this node decides, then the parked. */
void p2p_plock_master_kick(struct glock_p2p *p)
{
	struct p2p_plock *s = pl(p);
	size_t b;

	if (!p->configured)
		return;
	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_res *r = s->res[b], *next;

		for (; r; r = next) {
			struct grant_ctx g = { .p = p, .r = r };

			next = r->next;
			if (decidable(p, &r->name))
				glock_plock_grant_waiters(r->res, granted, &g);
		}
	}
	unpark(p);
}

/* After a configuration change: the files this node no longer masters go to their new master. */
void p2p_plock_master_confchg(struct glock_p2p *p, const uint32_t *gone, size_t n_gone)
{
	struct p2p_plock *s = pl(p);
	size_t b, i, k;

	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_res *r = s->res[b], *next;

		for (; r; r = next) {
			next = r->next;
			if (p2p_master_now(p, &r->name) != p->cfg.local_node)
				res_unlink(s, r);
		}
	}
	/*
	 * A node's epoch outlives its departure (its next life, a later
	 * start of glockd included, comes with a higher life), so that its
	 * fencing drops only what its departed life held (see drop_node).
	 */
	for (i = 0; i < s->n_epochs; i++) {
		size_t j;

		for (j = 0; j < n_gone; j++) {
			if (s->epochs[i].node == gone[j])
				s->epochs[i].departed_life = s->epochs[i].gen >> 32;
		}
	}
	for (i = 0; i < s->n_stash;) {
		if (!p2p_is_member(p, s->stash[i].from))
			stash_drop(s, &s->stash[i]);
		else
			i++;
	}
	/*
	 * Problem scenario (p2p-sim --plocks --stalls, 10 nodes, seed 34): R's
	 * LOCK waited here, parked; R was cut off, lost its locks (RESET) and
	 * came back at a merge, its old life forgotten.  Unparked then, the
	 * LOCK of its old life was granted: a lock R never knew of, for good.
	 * What a departed node asked goes with it.
	 */
	for (i = k = 0; i < s->n_parked; i++) {
		bool left = false;
		size_t j;

		for (j = 0; j < n_gone; j++)
			left |= s->parked[i].from == gone[j];
		if (left)
			p->dropped++;
		else
			s->parked[k++] = s->parked[i];
	}
	s->n_parked = k;
	p2p_plock_master_kick(p);
}

/* node was fenced (or recovered, or forgotten): its locks and waiters go. */
void p2p_plock_master_drop_node(struct glock_p2p *p, uint32_t node)
{
	struct p2p_plock *s = pl(p);
	size_t b, i;

	/*
	 * Problem scenario (p2p-sim --plocks --chaos, 3 nodes, seed 171): N
	 * crashed, came back as a new glockd and took a lock before its old
	 * life was fenced; the fencing dropped the new life's lock, and M
	 * granted over it.  A later life that spoke made this table forget
	 * the departed one's locks already (forget_life): what is here is
	 * the new life's.
	 */
	for (i = 0; i < s->n_epochs; i++) {
		const struct pl_epoch *e = &s->epochs[i];

		if (e->node == node && p2p_is_member(p, node) && (e->gen >> 32) > e->departed_life) {
			p2p_plock_master_kick(p);
			return;
		}
	}

	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_res *r = s->res[b], *next;

		for (; r; r = next) {
			struct grant_ctx g = { .p = p, .r = r };

			next = r->next;
			glock_plock_drop_node(r->res, node, decidable(p, &r->name) ? granted : NULL,
					      &g);
			gens_prune(r, node);
			res_put_if_empty(s, r);
		}
	}
	p2p_plock_master_kick(p);
}

/* ---- requester ---- */

static struct pl_rq *rq_find(struct p2p_plock *s, const struct glock_name *name)
{
	uint32_t h = glock__name_hash(name);
	struct pl_rq *q;

	for (q = s->rq[h % PL_BUCKETS]; q; q = q->next)
		if (q->hash == h && glock_name_compare(&q->name, name) == 0)
			return q;
	return NULL;
}

static struct pl_rq *rq_get(struct glock_p2p *p, const struct glock_name *name)
{
	struct p2p_plock *s = pl(p);
	struct pl_rq *q = rq_find(s, name);

	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->held = glock_plock_res_new();
	if (!q->held) {
		free(q);
		return NULL;
	}
	q->name = *name;
	q->hash = glock__name_hash(name);
	q->master = p2p_master_now(p, name);
	q->next = s->rq[q->hash % PL_BUCKETS];
	s->rq[q->hash % PL_BUCKETS] = q;
	s->n_rq++;
	return q;
}

static void rq_free(struct pl_rq *q)
{
	glock_plock_res_free(q->held);
	free(q->ops);
	free(q);
}

static void rq_put_if_idle(struct p2p_plock *s, struct pl_rq *q)
{
	struct pl_rq **pp;

	if (q->n_ops || !glock_plock_res_empty(q->held))
		return;
	pp = &s->rq[q->hash % PL_BUCKETS];
	while (*pp != q)
		pp = &(*pp)->next;
	*pp = q->next;
	s->n_rq--;
	rq_free(q);
}

static struct pl_op *op_find(struct pl_rq *q, uint64_t req_id)
{
	size_t i;

	for (i = 0; i < q->n_ops; i++)
		if (q->ops[i].req_id == req_id)
			return &q->ops[i];
	return NULL;
}

static void op_remove(struct pl_rq *q, struct pl_op *op)
{
	size_t i = (size_t)(op - q->ops);

	memmove(op, op + 1, (q->n_ops - i - 1) * sizeof(*op));
	q->n_ops--;
}

static const enum glock_p2p_msg_kind op_msg_kind[] = {
	[GLOCK_PLOCK_OP_LOCK] = GLOCK_P2P_PLOCK_LOCK,
	[GLOCK_PLOCK_OP_UNLOCK] = GLOCK_P2P_PLOCK_UNLOCK,
	[GLOCK_PLOCK_OP_GET] = GLOCK_P2P_PLOCK_GET,
};

static void epoch(struct glock_p2p *p, uint32_t to);

/* Sends op (and its CANCEL, if asked) to the file's master under the current generation. */
static void op_send(struct glock_p2p *p, struct pl_rq *q, struct pl_op *op)
{
	struct p2p_plock *s = pl(p);
	struct glock_p2p_msg msg = {
		.kind = op_msg_kind[op->kind], .name = q->name, .gen = cur_gen(p),
		.req_id = op->req_id, .plock_valid = true, .plock = op->lock,
		.flags = op->wait ? GLOCK_P2P_PLOCK_WAIT : 0,
	};
	struct p2p_peer *peer;

	q->master = p2p_master_now(p, &q->name);
	peer = p2p_peer(p, q->master);
	op->gen = cur_gen(p);
	op->sent = false;
	if (!peer || peer->link_down)
		return; /* sent again when the link is back, or to the next master */
	op->sent = true;
	if (!s->announcing) {
		/* The first op of this life: masters take it once they read this. */
		size_t i;

		s->announcing = s->ever_sent = true;
		for (i = 0; i < p->n_members; i++)
			epoch(p, p->members[i]);
	}
	p2p_send(p, q->master, &msg);
	if (op->cancel) {
		struct glock_p2p_msg c = {
			.kind = GLOCK_P2P_PLOCK_CANCEL, .name = q->name, .gen = cur_gen(p),
			.req_id = op->req_id,
		};

		p2p_send(p, q->master, &c);
	}
}

static bool plock_op_valid(const struct glock_p2p *p, const struct glock_plock_op *op)
{
	if (!op || op->req_id == 0 || !glock_name_valid(&op->name))
		return false;
	switch (op->kind) {
	case GLOCK_PLOCK_OP_LOCK:
	case GLOCK_PLOCK_OP_GET:
	case GLOCK_PLOCK_OP_UNLOCK:
		return glock_plock_lock_valid(&op->lock) &&
		       op->lock.owner.node == p->cfg.local_node;
	case GLOCK_PLOCK_OP_CANCEL:
		return true;
	}
	return false;
}

int p2p_plock_rq_op(struct glock_p2p *p, const struct glock_plock_op *op)
{
	struct p2p_plock *s = pl(p);
	struct pl_rq *q;
	struct pl_op *o;
	int rc;

	if (!plock_op_valid(p, op))
		return -EINVAL;
	if (op->kind == GLOCK_PLOCK_OP_CANCEL) {
		q = rq_find(s, &op->name);
		o = q ? op_find(q, op->req_id) : NULL;
		if (!o || o->kind != GLOCK_PLOCK_OP_LOCK || !o->wait || o->cancel)
			return -ENOENT;
		o->cancel = true;
		if (o->sent) {
			struct glock_p2p_msg c = {
				.kind = GLOCK_P2P_PLOCK_CANCEL, .name = q->name, .gen = o->gen,
				.req_id = o->req_id,
			};

			p2p_send(p, q->master, &c);
		}
		return 0;
	}
	q = rq_get(p, &op->name);
	if (!q)
		return -ENOMEM;
	if (op_find(q, op->req_id)) {
		rq_put_if_idle(s, q);
		return -EEXIST;
	}
	if (q->n_ops == PL_OPS_MAX) {
		rq_put_if_idle(s, q);
		return -ENOLCK;
	}
	if (q->n_ops == q->cap_ops) {
		size_t cap = q->cap_ops ? q->cap_ops * 2 : 4;
		struct pl_op *v = realloc(q->ops, cap * sizeof(*v));

		if (!v) {
			rq_put_if_idle(s, q);
			return -ENOMEM;
		}
		q->ops = v;
		q->cap_ops = cap;
	}
	if (op->kind == GLOCK_PLOCK_OP_UNLOCK) {
		/* True here at once: what a report says from now on. */
		rc = glock_plock_unlock(q->held, &op->lock.owner, op->lock.start, op->lock.end,
					NULL, NULL);
		if (rc) {
			rq_put_if_idle(s, q);
			return rc;
		}
	}
	o = &q->ops[q->n_ops++];
	*o = (struct pl_op){
		.kind = op->kind, .req_id = op->req_id, .lock = op->lock,
		.wait = op->kind == GLOCK_PLOCK_OP_LOCK && op->wait,
	};
	op_send(p, q, o);
	return 0;
}

int p2p_plock_rq_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	struct p2p_plock *s = pl(p);
	struct pl_rq *q = rq_find(s, &msg->name);
	struct pl_op *o = q ? op_find(q, msg->req_id) : NULL;
	struct pl_op done;

	if (!o || !o->sent || o->gen != msg->gen || from != q->master ||
	    from != p2p_master_now(p, &msg->name)) {
		p->dropped++; /* not the answer to the op's last send */
		return 0;
	}
	done = *o;
	op_remove(q, o);
	if (done.kind == GLOCK_PLOCK_OP_LOCK && msg->status == 0) {
		/* Kept as the master has it: another local owner never conflicts. */
		if (glock_plock_lock(q->held, done.req_id, &done.lock, false, NULL, NULL) < 0)
			p->dropped++;
	}
	answer_local(p, &q->name, done.req_id, msg->status,
		     done.kind == GLOCK_PLOCK_OP_GET && msg->plock_valid ? &msg->plock : NULL);
	rq_put_if_idle(s, q);
	return 0;
}

struct report_ctx {
	struct glock_p2p *p;
	uint32_t to;
	struct glock_p2p_msg msg;
};

static int report_one(void *ctx, const struct glock_plock_lock *l)
{
	struct report_ctx *c = ctx;
	struct glock_p2p_msg m = c->msg;

	m.kind = GLOCK_P2P_PLOCK_HELD;
	m.plock_valid = true;
	m.plock = *l;
	p2p_multicast(c->p, c->to, &m);
	return 0;
}

/* Through CPG, so that the master's recovery waits for it (this node's DONE follows). */
static void report(struct glock_p2p *p, struct pl_rq *q, uint32_t to)
{
	struct report_ctx c = {
		.p = p, .to = to, .msg = { .name = q->name, .gen = cur_gen(p) },
	};
	struct glock_p2p_msg m = c.msg;

	m.kind = GLOCK_P2P_PLOCK_REPORT_BEGIN;
	p2p_multicast(p, to, &m);
	(void)glock_plock_foreach_lock(q->held, report_one, &c);
	m = c.msg;
	m.kind = GLOCK_P2P_PLOCK_REPORT_END;
	p2p_multicast(p, to, &m);
}

static void epoch(struct glock_p2p *p, uint32_t to)
{
	struct glock_p2p_msg m = { .kind = GLOCK_P2P_PLOCK_EPOCH, .gen = cur_gen(p) };

	p2p_multicast(p, to, &m);
}

/*
 * A new configuration: a new generation; EPOCH to every member, reports
 * where a file's master changed (through CPG, before this node's DONE),
 * and every unanswered op again.
 */
void p2p_plock_rq_confchg(struct glock_p2p *p)
{
	struct p2p_plock *s = pl(p);
	size_t b, i;

	s->gen++;
	/*
	 * Problem scenario (p2p-sim --plocks --chaos, 5 nodes, seed 17): R
	 * took a lock at M, then lost its locks (RESET) and sent nothing more;
	 * M, which never saw R leave, kept the lock of R's old life for good.
	 * A new life tells every member it has not told yet (its EPOCH's
	 * life makes M forget the old one's locks).
	 */
	for (i = 0; i < p->n_members; i++) {
		bool told = false;
		size_t j;

		for (j = 0; j < s->n_told; j++)
			told |= s->told[j] == p->members[i];
		if (s->announcing || (s->ever_sent && !told))
			epoch(p, p->members[i]);
		if (s->ever_sent && !told && s->n_told < GLOCK_NODES_MAX)
			s->told[s->n_told++] = p->members[i];
	}
	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_rq *q;

		for (q = s->rq[b]; q; q = q->next) {
			uint32_t m = p2p_master_now(p, &q->name);

			if (m != q->master)
				report(p, q, m);
			q->master = m;
		}
	}
	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_rq *q;

		for (q = s->rq[b]; q; q = q->next)
			for (i = 0; i < q->n_ops; i++)
				op_send(p, q, &q->ops[i]);
	}
}

/*
 * A new connection to node: what was in flight on the old one is lost, so
 * the unanswered ops for the files it masters go again (a lost answer
 * included: the op is done again, idempotently, and answered).
 *
 * No report and no EPOCH: problem scenario (p2p-sim --plocks, 4 nodes,
 * seed 64): a file moves to M at a join; R's report goes through CPG,
 * then R's link to M comes up and R reported again over it, under a
 * newer generation; M read that EPOCH and the report's beginning, the
 * link broke, and the CPG report, older than the EPOCH, was dropped: M
 * rebuilt the file without R's lock.  Reports travel through CPG only,
 * where M's recovery waits for them.
 */
void p2p_plock_rq_link_up(struct glock_p2p *p, uint32_t node)
{
	struct p2p_plock *s = pl(p);
	size_t b, i;

	/*
	 * The same generation: answers to the ops' old sends were lost with
	 * the link, and a newer one would make the master drop this node's
	 * report of this configuration (CPG) as older than these ops.
	 */
	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_rq *q;

		for (q = s->rq[b]; q; q = q->next) {
			if (p2p_master_now(p, &q->name) != node)
				continue;
			q->master = node;
			for (i = 0; i < q->n_ops; i++)
				op_send(p, q, &q->ops[i]);
		}
	}
}

/*
 * RESET: every lock of this node is gone (said per file, as LOST is for a
 * glock); unanswered ops get -ENOLCK.
 */
void p2p_plock_lose_all(struct glock_p2p *p)
{
	struct p2p_plock *s = pl(p);
	size_t b, i;

	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_rq *q, *next;

		for (q = s->rq[b]; q; q = next) {
			next = q->next;
			if (!glock_plock_res_empty(q->held))
				answer_local(p, &q->name, 0, -ENOLCK, NULL);
			for (i = 0; i < q->n_ops; i++)
				answer_local(p, &q->name, q->ops[i].req_id,
					     q->ops[i].kind == GLOCK_PLOCK_OP_UNLOCK ? 0 : -ENOLCK,
					     NULL);
			rq_free(q);
		}
		s->rq[b] = NULL;
	}
	s->n_rq = 0;
	for (b = 0; b < PL_BUCKETS; b++) {
		struct pl_res *r, *next;

		for (r = s->res[b]; r; r = next) {
			next = r->next;
			res_free(r);
		}
		s->res[b] = NULL;
	}
	s->n_res = 0;
	for (i = 0; i < s->n_stash; i++)
		free(s->stash[i].v);
	s->n_stash = 0;
	s->n_epochs = 0;
	s->n_parked = 0;
	s->announcing = false; /* the new life's first op announces it */
	s->n_told = 0;          /* and every change tells those not told yet */
}

/* ---- life ---- */

int p2p_plock_init(struct glock_p2p *p)
{
	p->plock = calloc(1, sizeof(*p->plock));
	return p->plock ? 0 : -ENOMEM;
}

void p2p_plock_fini(struct glock_p2p *p)
{
	struct p2p_plock *s = pl(p);

	if (!s)
		return;
	s->quiet = true; /* nobody to answer: the daemon is going away */
	p2p_plock_lose_all(p);
	free(s->stash);
	free(s->parked);
	free(s);
	p->plock = NULL;
}


void glock_p2p_plock_stats(const struct glock_p2p *p, struct glock_p2p_plock_stats *out)
{
	const struct p2p_plock *s = p->plock;
	size_t b, i;

	memset(out, 0, sizeof(*out));
	out->files = s->n_res;
	out->parked = s->n_parked;
	for (b = 0; b < PL_BUCKETS; b++) {
		const struct pl_res *r;
		const struct pl_rq *q;

		for (r = s->res[b]; r; r = r->next) {
			struct glock_plock_counts c;

			glock_plock_counts(r->res, &c);
			out->locks += c.locks;
			out->waiters += c.waiters;
		}
		for (q = s->rq[b]; q; q = q->next)
			for (i = 0; i < q->n_ops; i++)
				out->pending++;
	}
}

struct export_ctx {
	glock_p2p_plock_fn fn;
	void *ctx;
	const struct glock_name *name;
};

static int export_lock(void *ctx, const struct glock_plock_lock *l)
{
	struct export_ctx *e = ctx;

	return e->fn(e->ctx, e->name, l, NULL);
}

static int export_waiter(void *ctx, const struct glock_plock_waiter *w)
{
	struct export_ctx *e = ctx;

	return e->fn(e->ctx, e->name, NULL, w);
}

int glock_p2p_export_plocks(const struct glock_p2p *p, glock_p2p_plock_fn fn, void *ctx)
{
	const struct p2p_plock *s = p->plock;
	size_t b;
	int rc = 0;

	for (b = 0; b < PL_BUCKETS && !rc; b++) {
		const struct pl_res *r;

		for (r = s->res[b]; r && !rc; r = r->next) {
			struct export_ctx e = { fn, ctx, &r->name };

			rc = glock_plock_foreach_lock(r->res, export_lock, &e);
			if (!rc)
				rc = glock_plock_foreach_waiter(r->res, export_waiter, &e);
		}
	}
	return rc;
}
