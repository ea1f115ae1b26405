// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The requester: what this node's clients hold and ask for, and the one
 * voice that speaks for them to each glock's master (docs/DESIGN.md §9).
 *
 * Its held mode is the truth a master rebuilds from: a release or a
 * down-conversion from EX takes effect here at once (nothing can refuse
 * it) and is sent, and reported until the master answers RELEASED.  An
 * up request waits for the master's GRANT or DENY.  An answer counts only
 * from the glock's current master, for the pending request, and under the
 * generation of this node's last report to that master.
 */
#include "p2p_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table of glocks this node has ---- */

static struct rq_glock *rq_find(const struct glock_p2p *p, const struct glock_name *name)
{
	uint32_t h = glock__name_hash(name);
	struct rq_glock *g;

	for (g = p->rq.buckets[h & (p->rq.n_buckets - 1)]; g; g = g->next)
		if (g->hash == h && glock_name_compare(&g->name, name) == 0)
			return g;
	return NULL;
}

static void rq_grow(struct rq_table *t)
{
	size_t n = t->n_buckets * 2, i;
	struct rq_glock **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains are still correct */
	for (i = 0; i < t->n_buckets; i++) {
		struct rq_glock *g = t->buckets[i], *next;

		for (; g; g = next) {
			next = g->next;
			g->next = b[g->hash & (n - 1)];
			b[g->hash & (n - 1)] = g;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static struct rq_glock *rq_create(struct glock_p2p *p, const struct glock_name *name)
{
	struct rq_glock *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->name = *name;
	g->hash = glock__name_hash(name);
	glock__hold_init(&g->hold, p->cfg.hold_min_us);
	if (p->rq.n >= p->rq.n_buckets * 2)
		rq_grow(&p->rq);
	g->next = p->rq.buckets[g->hash & (p->rq.n_buckets - 1)];
	p->rq.buckets[g->hash & (p->rq.n_buckets - 1)] = g;
	p->rq.n++;
	return g;
}

static void rq_put_if_idle(struct glock_p2p *p, struct rq_glock *g)
{
	struct rq_glock **pp = &p->rq.buckets[g->hash & (p->rq.n_buckets - 1)];

	if (g->held != GLOCK_MODE_UN || g->up.valid || g->down.valid)
		return;
	if (g->hold.delayed)
		p->n_delayed--;
	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
	p->rq.n--;
	free(g);
}

int p2p_rq_init(struct glock_p2p *p)
{
	p->rq.n_buckets = 64;
	p->rq.buckets = calloc(p->rq.n_buckets, sizeof(*p->rq.buckets));
	return p->rq.buckets ? 0 : -ENOMEM;
}

static void rq_clear(struct glock_p2p *p)
{
	size_t i;

	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g = p->rq.buckets[i], *next;

		for (; g; g = next) {
			next = g->next;
			free(g);
		}
		p->rq.buckets[i] = NULL;
	}
	p->rq.n = 0;
	p->n_delayed = 0;
}

void p2p_rq_fini(struct glock_p2p *p)
{
	if (!p->rq.buckets)
		return;
	rq_clear(p);
	free(p->rq.buckets);
	p->rq.buckets = NULL;
}

size_t p2p_rq_count(const struct glock_p2p *p)
{
	return p->rq.n;
}

/* ---- talking to masters ---- */

static void send_to_master(struct glock_p2p *p, struct rq_glock *g, struct glock_p2p_msg *msg)
{
	struct p2p_peer *peer;

	g->master = p2p_master_now(p, &g->name);
	peer = p2p_peer(p, g->master);
	if (!peer || peer->link_down)
		return; /* reported when the link is back, or to the next master */
	msg->name = g->name;
	msg->gen = peer->gen;
	p2p_send(p, g->master, msg);
}

static void report_fill(const struct rq_glock *g, uint64_t gen, struct glock_p2p_msg *msg)
{
	*msg = (struct glock_p2p_msg){
		.kind = GLOCK_P2P_REPORT, .name = g->name, .gen = gen, .mode = g->held,
		.flags = g->held_flags, .lvb_seq = g->lvb_seq, .pending = g->up, .down = g->down,
	};
	memcpy(msg->lvb, g->lvb, GLOCK_LVB_LEN);
}

/* Bumps the generation of each member that gets a report round, once. */
static uint64_t round_gen(struct glock_p2p *p, uint32_t master, bool *bumped)
{
	struct p2p_peer *peer = p2p_peer(p, master);
	size_t i = (size_t)(peer - p->peers);

	if (!bumped[i]) {
		if (peer->gen < p->gen_last)
			peer->gen = p->gen_last;
		peer->gen++;
		p->gen_last = peer->gen;
		bumped[i] = true;
	}
	return peer->gen;
}

/*
 * A master that gains one of this node's glocks gets a report round, and
 * the round covers every glock it masters, not only the gained ones.
 * Problem scenario (p2p-sim): R waits for A at M; B moves to M, R reports B
 * under a new generation; M grants A before it reads that report, and R
 * drops the GRANT (old generation).  A was not in the round, so nothing
 * sent it again: R waited for ever while M had it as a holder.
 */
void p2p_rq_confchg(struct glock_p2p *p)
{
	bool bumped[GLOCK_NODES_MAX] = { false };
	bool round[GLOCK_NODES_MAX] = { false };
	size_t i;

	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			uint32_t m = p2p_master_now(p, &g->name);

			if (m != g->master)
				round[p2p_peer(p, m) - p->peers] = true;
		}
	}
	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			uint32_t m = p2p_master_now(p, &g->name);
			struct glock_p2p_msg msg;

			if (!round[p2p_peer(p, m) - p->peers])
				continue;
			report_fill(g, round_gen(p, m, bumped), &msg);
			g->master = m;
			p2p_multicast(p, m, &msg);
		}
	}
}

void p2p_rq_link_up(struct glock_p2p *p, uint32_t node)
{
	bool bumped[GLOCK_NODES_MAX] = { false };
	size_t i;

	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			struct glock_p2p_msg msg;

			if (p2p_master_now(p, &g->name) != node)
				continue;
			report_fill(g, round_gen(p, node, bumped), &msg);
			g->master = node;
			p2p_send(p, node, &msg);
		}
	}
}

/* ---- local ops ---- */

/* A release or a down-conversion from EX: true here at once, sent, reported until answered. */
static void lower(struct rq_glock *g, const struct glock_op *op, enum glock_mode mode,
		  struct glock_p2p_msg *msg)
{
	if (op->lvb_valid) {
		g->down.lvb_valid = true;
		memcpy(g->down.lvb, op->lvb, GLOCK_LVB_LEN);
		g->down.lvb_base = g->lvb_seq;
		memcpy(g->lvb, op->lvb, GLOCK_LVB_LEN);
		msg->lvb_valid = true;
		memcpy(msg->lvb, op->lvb, GLOCK_LVB_LEN);
		msg->lvb_seq = g->lvb_seq;
		g->lvb_seq++;
	}
	g->down.valid = true;
	g->down.req_id = op->req_id;
	g->held = mode;
}

static void hold_cancel(struct glock_p2p *p, struct rq_glock *g)
{
	if (g->hold.delayed) {
		g->hold.delayed = false;
		p->n_delayed--;
	}
}

int p2p_rq_op(struct glock_p2p *p, const struct glock_op *op)
{
	struct rq_glock *g = rq_find(p, &op->name);
	struct glock_p2p_msg msg = { .req_id = op->req_id, .mode = op->mode, .flags = op->flags };
	int err = glock__op_check(op);

	if (err)
		return err;
	switch (op->kind) {
	case GLOCK_OP_LOCK:
		if (g && (g->held != GLOCK_MODE_UN || g->up.valid))
			return -EEXIST;
		if (!g) {
			g = rq_create(p, &op->name);
			if (!g)
				return -ENOMEM;
		}
		g->up = (struct glock_p2p_pending){
			.valid = true, .kind = GLOCK_OP_LOCK, .req_id = op->req_id,
			.mode = op->mode, .flags = op->flags,
		};
		msg.kind = GLOCK_P2P_LOCK;
		send_to_master(p, g, &msg);
		return 0;
	case GLOCK_OP_CONVERT:
		if (!g || g->held == GLOCK_MODE_UN)
			return -ENOENT;
		if (g->up.valid)
			return -EBUSY;
		if (g->held == op->mode)
			return -EALREADY;
		if (op->lvb_valid && g->held != GLOCK_MODE_EX)
			return -EINVAL;
		msg.kind = GLOCK_P2P_CONVERT;
		if (g->held == GLOCK_MODE_EX) {
			struct glock_output out = {
				.kind = GLOCK_OUT_GRANT, .name = &g->name, .req_id = op->req_id,
				.mode = op->mode, .lvb = g->lvb, .node = p->cfg.local_node,
			};

			lower(g, op, op->mode, &msg);
			hold_cancel(p, g);
			p2p_local(p, &out);
		} else {
			g->up = (struct glock_p2p_pending){
				.valid = true, .kind = GLOCK_OP_CONVERT, .req_id = op->req_id,
				.mode = op->mode, .flags = op->flags,
			};
		}
		send_to_master(p, g, &msg);
		return 0;
	case GLOCK_OP_RELEASE:
		if (!g || g->held == GLOCK_MODE_UN)
			return -ENOENT;
		if (g->up.valid)
			return -EBUSY;
		if (op->lvb_valid && g->held != GLOCK_MODE_EX)
			return -EINVAL;
		msg.kind = GLOCK_P2P_RELEASE;
		lower(g, op, GLOCK_MODE_UN, &msg);
		hold_cancel(p, g);
		send_to_master(p, g, &msg);
		return 0;
	case GLOCK_OP_CANCEL:
		if (!g || !g->up.valid || g->up.req_id != op->req_id || g->up.cancel)
			return -ENOENT;
		g->up.cancel = true;
		msg.kind = GLOCK_P2P_CANCEL;
		send_to_master(p, g, &msg);
		return 0;
	}
	return -EINVAL;
}

/* ---- answers ---- */

static void demote(struct glock_p2p *p, struct rq_glock *g, enum glock_mode target)
{
	struct glock_output out = {
		.kind = GLOCK_OUT_DEMOTE, .name = &g->name, .mode = target,
		.node = p->cfg.local_node,
	};

	if (g->held == GLOCK_MODE_UN || g->held == target)
		return;
	if (glock__hold_early(&g->hold, p->now_us)) {
		if (g->hold.delayed) {
			if (g->hold.target != target)
				g->hold.target = GLOCK_MODE_UN; /* only UN serves both */
			return;
		}
		glock__hold_delay(&g->hold, &p->hold_cfg, target);
		p->n_delayed++;
		return;
	}
	glock__hold_relax(&g->hold, &p->hold_cfg);
	hold_cancel(p, g);
	p2p_local(p, &out);
}

int p2p_rq_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	struct rq_glock *g = rq_find(p, &msg->name);
	struct p2p_peer *peer = p2p_peer(p, from);
	struct glock_output out = {
		.name = &msg->name, .req_id = msg->req_id, .node = p->cfg.local_node,
	};

	if ((msg->gen >> 32) < (peer->gen >> 32) && from == p2p_master_now(p, &msg->name) &&
	    (msg->kind == GLOCK_P2P_GRANT || msg->kind == GLOCK_P2P_DEMOTE)) {
		/*
		 * The master believes what this node held or asked before its
		 * RESET (see apply_reset()): tell it the truth in this life.
		 */
		struct rq_glock none = { .name = msg->name };
		struct glock_p2p_msg r;

		report_fill(g ? g : &none, peer->gen, &r);
		p2p_send(p, from, &r);
	}
	if (!g || from != g->master || from != p2p_master_now(p, &msg->name) ||
	    msg->gen != peer->gen) {
		p->dropped++; /* not the current master's answer to what we now ask */
		return 0;
	}
	switch (msg->kind) {
	case GLOCK_P2P_GRANT:
		if (!g->up.valid || g->up.req_id != msg->req_id)
			break;
		g->held = msg->mode;
		g->held_flags = g->up.flags;
		memcpy(g->lvb, msg->lvb, GLOCK_LVB_LEN);
		g->lvb_seq = msg->lvb_seq;
		g->up.valid = false;
		hold_cancel(p, g);
		glock__hold_granted(&g->hold, p->now_us);
		out.kind = GLOCK_OUT_GRANT;
		out.mode = msg->mode;
		out.lvb = g->lvb;
		p2p_local(p, &out);
		return 0;
	case GLOCK_P2P_DENY:
		if (!g->up.valid || g->up.req_id != msg->req_id)
			break;
		g->up.valid = false;
		out.kind = GLOCK_OUT_DENY;
		out.reason = msg->reason;
		p2p_local(p, &out);
		rq_put_if_idle(p, g);
		return 0;
	case GLOCK_P2P_DEMOTE:
		demote(p, g, msg->mode);
		return 0;
	case GLOCK_P2P_RELEASED:
		if (!g->down.valid)
			break;
		if (g->down.req_id == msg->req_id) {
			memset(&g->down, 0, sizeof(g->down));
			rq_put_if_idle(p, g);
		}
		return 0;
	default:
		break;
	}
	p->dropped++;
	return 0;
}

/* ---- time and loss ---- */

void p2p_rq_tick(struct glock_p2p *p)
{
	size_t i;

	if (!p->n_delayed)
		return;
	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			struct glock_output out = {
				.kind = GLOCK_OUT_DEMOTE, .name = &g->name, .mode = g->hold.target,
				.node = p->cfg.local_node,
			};

			if (!g->hold.delayed || p->now_us < g->hold.due_us)
				continue;
			hold_cancel(p, g);
			if (g->held != GLOCK_MODE_UN && g->held != out.mode)
				p2p_local(p, &out);
		}
	}
}

bool p2p_rq_next_due(const struct glock_p2p *p, uint64_t *due)
{
	bool any = false;
	size_t i;

	if (!p->n_delayed)
		return false;
	for (i = 0; i < p->rq.n_buckets; i++) {
		const struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			if (g->hold.delayed && (!any || g->hold.due_us < *due)) {
				*due = g->hold.due_us;
				any = true;
			}
		}
	}
	return any;
}

void p2p_rq_lose_all(struct glock_p2p *p)
{
	size_t i;

	for (i = 0; i < p->rq.n_buckets; i++) {
		struct rq_glock *g;

		for (g = p->rq.buckets[i]; g; g = g->next) {
			struct glock_output out = { .name = &g->name, .node = p->cfg.local_node };

			if (g->held != GLOCK_MODE_UN) {
				out.kind = GLOCK_OUT_LOST;
				out.mode = g->held;
				p2p_local(p, &out);
			}
			if (g->up.valid) {
				out.kind = GLOCK_OUT_DENY;
				out.req_id = g->up.req_id;
				out.reason = GLOCK_DENY_LOST;
				out.mode = GLOCK_MODE_UN;
				p2p_local(p, &out);
			}
		}
	}
	rq_clear(p);
}
