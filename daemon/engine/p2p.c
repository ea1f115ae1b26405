// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The p2p lock path: inputs, membership and the bookkeeping recovery
 * needs (docs/DESIGN.md §9).  master.c decides the glocks this node
 * masters, requester.c speaks for its clients.
 */
#include "p2p_internal.h"
#include "rendezvous.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int uint32_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool sorted_contains(const uint32_t *v, size_t n, uint32_t x)
{
	return bsearch(&x, v, n, sizeof(*v), uint32_compare) != NULL;
}

/* FNV-1a over the sorted member list: a CONFCHG's id when it brings none. */
static uint64_t config_hash(const uint32_t *members, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		for (b = 0; b < 4; b++)
			h = (h ^ ((members[i] >> (8 * b)) & 0xff)) * 1099511628211ull;
	return h ? h : 1;
}

struct p2p_peer *p2p_peer(struct glock_p2p *p, uint32_t node)
{
	uint32_t *m = bsearch(&node, p->members, p->n_members, sizeof(node), uint32_compare);

	return m ? &p->peers[m - p->members] : NULL;
}

bool p2p_is_member(const struct glock_p2p *p, uint32_t node)
{
	return sorted_contains(p->members, p->n_members, node);
}

uint32_t p2p_master_now(const struct glock_p2p *p, const struct glock_name *name)
{
	return glock_master_of(name, p->members, p->n_members);
}

uint32_t glock_p2p_master_of(const struct glock_p2p *p, const struct glock_name *name)
{
	return p->configured ? p2p_master_now(p, name) : GLOCK_NODEID_NONE;
}

static void emit(struct glock_p2p *p, const struct glock_p2p_output *out)
{
	p->output(p->ctx, out);
}

void p2p_local(struct glock_p2p *p, const struct glock_output *local)
{
	struct glock_p2p_output out = {
		.kind = GLOCK_P2P_OUT_LOCAL, .node = p->cfg.local_node, .local = local,
	};

	emit(p, &out);
}

void p2p_send(struct glock_p2p *p, uint32_t to, struct glock_p2p_msg *msg)
{
	struct glock_p2p_output out = { .kind = GLOCK_P2P_OUT_SEND, .node = to, .msg = msg };

	msg->config_id = p->cfg_id;
	if (to != p->cfg.local_node) {
		emit(p, &out);
		return;
	}
	/* To itself: no network, but the same FIFO order as a link. */
	if (p->n_loop == p->cap_loop) {
		size_t cap = p->cap_loop ? p->cap_loop * 2 : 16;
		struct p2p_parked *v = realloc(p->loop, cap * sizeof(*v));

		if (!v) {
			p->error = -ENOMEM; /* lost as on a reset link; the next report repairs it */
			return;
		}
		p->loop = v;
		p->cap_loop = cap;
	}
	p->loop[p->n_loop++] = (struct p2p_parked){ .from = to, .msg = *msg };
}

void p2p_multicast(struct glock_p2p *p, uint32_t to, struct glock_p2p_msg *msg)
{
	struct glock_p2p_output out = { .kind = GLOCK_P2P_OUT_MULTICAST, .node = to, .msg = msg };

	msg->config_id = p->cfg_id;
	emit(p, &out);
}

static const struct p2p_config_rec *history_at(const struct glock_p2p *p, uint64_t no)
{
	size_t i;

	for (i = 0; i < p->n_history; i++) {
		const struct p2p_config_rec *c =
			&p->history[(p->history_head + P2P_HISTORY_MAX - i) % P2P_HISTORY_MAX];

		if (c->no == no)
			return c;
	}
	return NULL;
}

bool p2p_config_seen(const struct glock_p2p *p, uint64_t config_id)
{
	size_t i;

	for (i = 0; i < p->n_history; i++) {
		const struct p2p_config_rec *c =
			&p->history[(p->history_head + P2P_HISTORY_MAX - i) % P2P_HISTORY_MAX];

		if (c->id == config_id)
			return true;
	}
	return false;
}

bool p2p_config_of_old_life(const struct glock_p2p *p, uint64_t config_id)
{
	return p->reset_cfg_id && config_id == p->reset_cfg_id && config_id != p->cfg_id &&
	       !p2p_config_seen(p, config_id);
}

/* Did this node master name in every configuration from..to (local numbers)? */
static bool mastered_throughout(const struct glock_p2p *p, const struct glock_name *name,
				uint64_t from, uint64_t to)
{
	uint64_t no;

	if (from == 0)
		return false;
	for (no = from; no <= to; no++) {
		const struct p2p_config_rec *c = history_at(p, no);

		if (!c || glock_master_of(name, c->members, c->n) != p->cfg.local_node)
			return false;
	}
	return true;
}

bool p2p_name_gained(const struct glock_p2p *p, const struct glock_name *name)
{
	if (!p->recovery_pending)
		return false;
	return !mastered_throughout(p, name, p->recovered_cfg, p->cfg_no);
}

bool p2p_needs_placeholder(const struct glock_p2p *p, const struct glock_name *name,
			   const struct p2p_departed *d)
{
	return !mastered_throughout(p, name, d->exact_from, p->cfg_no);
}

static struct p2p_departed *departed_find(struct glock_p2p *p, uint32_t node)
{
	size_t i;

	for (i = 0; i < p->n_departed; i++)
		if (p->departed[i].node == node)
			return &p->departed[i];
	return NULL;
}

bool p2p_departed_pending(const struct glock_p2p *p, uint32_t node)
{
	size_t i;

	for (i = 0; i < p->n_departed; i++)
		if (p->departed[i].node == node)
			return true;
	return false;
}

static int apply_confchg(struct glock_p2p *p, const struct glock_p2p_input *in)
{
	size_t n = in->u.confchg.n_members, nd = in->u.confchg.n_departed, i, n_gone = 0;
	uint32_t next[GLOCK_NODES_MAX], gone[GLOCK_NODES_MAX];
	struct p2p_peer peers[GLOCK_NODES_MAX];
	struct p2p_departed dep[P2P_DEPARTED_MAX];
	uint32_t forgot[P2P_DEPARTED_MAX];
	size_t n_dep = 0, n_forgot = 0;
	struct p2p_config_rec *rec;
	int err;

	if (n == 0 || n > GLOCK_NODES_MAX || !in->u.confchg.members ||
	    nd > P2P_DEPARTED_MAX || (nd && !in->u.confchg.departed))
		return -EINVAL;
	memcpy(next, in->u.confchg.members, n * sizeof(*next));
	qsort(next, n, sizeof(*next), uint32_compare);
	for (i = 0; i < n; i++)
		if (next[i] == GLOCK_NODEID_NONE || (i && next[i] == next[i - 1]))
			return -EINVAL;
	if (!sorted_contains(next, n, p->cfg.local_node))
		return -EINVAL;
	for (i = 0; i < nd; i++)
		if (in->u.confchg.departed[i] == GLOCK_NODEID_NONE)
			return -EINVAL;

	for (i = 0; i < p->n_members; i++)
		if (!sorted_contains(next, n, p->members[i]))
			gone[n_gone++] = p->members[i];
	for (i = 0; i < n; i++) {
		struct p2p_peer *old = p->configured ? p2p_peer(p, next[i]) : NULL;

		peers[i] = old ? *old : (struct p2p_peer){ .node = next[i], .gen = p->life << 32 };
		if (!old && next[i] == p->cfg.local_node)
			peers[i].gen_seen = p->life << 32; /* its own life it knows */
		peers[i].gen_cfg = peers[i].gen_seen;
		peers[i].done = false;
	}

	/* Departed until recovered: the engine's list and what this node saw leave. */
	for (i = 0; i < nd + n_gone && n_dep < P2P_DEPARTED_MAX; i++) {
		uint32_t node = i < nd ? in->u.confchg.departed[i] : gone[i - nd];
		struct p2p_departed *old = departed_find(p, node);
		size_t k;

		for (k = 0; k < n_dep && dep[k].node != node; k++)
			;
		if (k < n_dep)
			continue;
		if (old)
			dep[n_dep] = *old;
		else
			dep[n_dep] = (struct p2p_departed){ .node = node };
		if (sorted_contains(gone, n_gone, node)) {
			/*
			 * Seen leaving now: this table is exact since the last
			 * completed recovery; a node that fails again is fenced again.
			 */
			dep[n_dep].exact_from = p->recovery_pending ? p->recovered_cfg :
								    p->cfg_no;
			dep[n_dep].fenced = false;
		}
		n_dep++;
	}

	/* Commit. */
	memcpy(p->members, next, n * sizeof(*next));
	memcpy(p->peers, peers, n * sizeof(*peers));
	p->n_members = n;
	p->cfg_id = in->u.confchg.config_id ? in->u.confchg.config_id : config_hash(next, n);
	p->cfg_no++;
	p->history_head = (p->history_head + 1) % P2P_HISTORY_MAX;
	rec = &p->history[p->history_head];
	rec->no = p->cfg_no;
	rec->id = p->cfg_id;
	rec->n = n;
	memcpy(rec->members, next, n * sizeof(*next));
	if (p->n_history < P2P_HISTORY_MAX)
		p->n_history++;
	/*
	 * Problem scenario (p2p-sim): in a partition without quorum this node
	 * made placeholders for the nodes on the other side; at the merge
	 * they are members again, departed nowhere, and nobody would ever
	 * send their RECOVERY_DONE.  A node that leaves the list goes as if
	 * recovered.
	 */
	for (i = 0; i < p->n_departed; i++) {
		size_t k;

		for (k = 0; k < n_dep && dep[k].node != p->departed[i].node; k++)
			;
		if (k == n_dep)
			forgot[n_forgot++] = p->departed[i].node;
	}
	memcpy(p->departed, dep, n_dep * sizeof(*dep));
	p->n_departed = n_dep;
	if (n_gone || !p->configured)
		p->ready = false;
	p->configured = true;
	p->recovery_pending = true;

	for (i = 0; i < n_gone; i++) {
		struct glock_p2p_output out = { .kind = GLOCK_P2P_OUT_LINK_RESET, .node = gone[i] };

		emit(p, &out);
	}
	for (i = 0; i < n_forgot; i++) {
		p2p_master_recovery_done(p, forgot[i]);
		p2p_plock_master_drop_node(p, forgot[i]);
	}
	err = p2p_master_confchg(p, gone, n_gone);
	p2p_rq_confchg(p);
	p2p_plock_master_confchg(p, gone, n_gone);
	p2p_plock_rq_confchg(p);
	return err;
}

/*
 * Problem scenario (p2p-sim): a partition splits in two halves without
 * quorum; every node RESETs as it reaches that point of the stream, and
 * generations started again at 0.  A REPORT of before the reset (multicast,
 * or sent on a link by a node not reset yet) then set a generation that
 * made every later request of its sender look stale, or put grants of its
 * old life into a master's table for good.  A new life starts its
 * generations higher (master.c forgets the old one when it shows).
 */
static void apply_reset(struct glock_p2p *p)
{
	size_t i;

	/* What is in flight on the links is of the old life; a master asks again at up. */
	for (i = 0; i < p->n_members; i++) {
		struct glock_p2p_output out = {
			.kind = GLOCK_P2P_OUT_LINK_RESET, .node = p->members[i],
		};

		if (p->members[i] != p->cfg.local_node)
			emit(p, &out);
	}
	/*
	 * Problem scenario (p2p-sim --nodes 5 --seed 197): 2 and 3 lose
	 * quorum together; 3's REPORT (SH, LVB v) of that configuration
	 * reaches 2 after 2's RESET, waits for 2's next configuration and
	 * was taken then: 3's old life held SH again in 2's table, and its
	 * copy of v became the LVB of a glock whose LVB was lost since.
	 * Its members reset with it (the same quorum verdict): what was sent
	 * in it is of their old lives.  (A later configuration of the same
	 * members, without quorum again, has nothing to send.)
	 */
	if (p->configured)
		p->reset_cfg_id = p->cfg_id;
	p->life++;
	p2p_rq_lose_all(p);
	p2p_plock_lose_all(p);
	p2p_master_clear(p);
	p->configured = false;
	p->ready = false;
	p->n_members = 0;
	p->cfg_id = 0;
	p->n_history = 0;
	p->n_departed = 0;
	p->recovery_pending = false;
	p->recovered_cfg = 0;
	p->n_loop = 0;
}

static int apply_departed(struct glock_p2p *p, enum glock_p2p_input_kind kind, uint32_t node)
{
	struct p2p_departed *d = departed_find(p, node);

	if (node == GLOCK_NODEID_NONE)
		return -EINVAL;
	if (!d)
		return -ENOENT;
	if (kind == GLOCK_P2P_IN_FENCED) {
		d->fenced = true;
		p2p_master_fenced(p, node);
		p2p_plock_master_drop_node(p, node);
		return 0;
	}
	p->n_departed--;
	memmove(d, d + 1, (size_t)(&p->departed[p->n_departed] - d) * sizeof(*d));
	p2p_master_recovery_done(p, node);
	p2p_plock_master_drop_node(p, node);
	return 0;
}

static bool plock_msg_valid(const struct glock_p2p_msg *m)
{
	if (m->kind == GLOCK_P2P_PLOCK_EPOCH)
		return true; /* names no file */
	if (!glock_name_valid(&m->name))
		return false;
	switch (m->kind) {
	case GLOCK_P2P_PLOCK_LOCK:
	case GLOCK_P2P_PLOCK_UNLOCK:
	case GLOCK_P2P_PLOCK_GET:
	case GLOCK_P2P_PLOCK_HELD:
		return m->plock_valid && glock_plock_lock_valid(&m->plock) &&
		       !(m->flags & ~GLOCK_P2P_PLOCK_WAIT) &&
		       (m->req_id != 0 || m->kind == GLOCK_P2P_PLOCK_HELD);
	case GLOCK_P2P_PLOCK_CANCEL:
		return m->req_id != 0;
	case GLOCK_P2P_PLOCK_ANSWER:
		return m->req_id != 0 && m->status <= 0 && m->status > -4096 &&
		       (!m->plock_valid || glock_plock_lock_valid(&m->plock));
	default:
		return true; /* REPORT_BEGIN, REPORT_END */
	}
}

static bool msg_valid(const struct glock_p2p_msg *m)
{
	if (m && glock_p2p_kind_plock(m->kind))
		return plock_msg_valid(m);
	if (!m || !glock_name_valid(&m->name))
		return false;
	switch (m->kind) {
	case GLOCK_P2P_LOCK:
	case GLOCK_P2P_CONVERT:
		return glock__mode_requestable(m->mode) && !(m->flags & ~GLOCK_FLAGS_ALL);
	case GLOCK_P2P_RELEASE:
	case GLOCK_P2P_CANCEL:
	case GLOCK_P2P_RELEASED:
		return true;
	case GLOCK_P2P_REPORT:
		if ((unsigned int)m->mode >= GLOCK_MODE_COUNT || (m->flags & ~GLOCK_FLAGS_ALL))
			return false;
		if (m->pending.valid &&
		    ((m->pending.kind != GLOCK_OP_LOCK && m->pending.kind != GLOCK_OP_CONVERT) ||
		     !glock__mode_requestable(m->pending.mode) ||
		     (m->pending.flags & ~GLOCK_FLAGS_ALL)))
			return false;
		/* A lock needs no grant, a conversion one. */
		if (m->pending.valid &&
		    (m->pending.kind == GLOCK_OP_CONVERT) != (m->mode != GLOCK_MODE_UN))
			return false;
		return true;
	case GLOCK_P2P_GRANT:
		return glock__mode_requestable(m->mode);
	case GLOCK_P2P_DENY:
		return m->reason >= GLOCK_DENY_TRYFAIL && m->reason <= GLOCK_DENY_LOST;
	case GLOCK_P2P_DEMOTE:
		return m->mode == GLOCK_MODE_UN || m->mode == GLOCK_MODE_SH ||
		       m->mode == GLOCK_MODE_DF;
	default:
		return false;
	}
}

static int dispatch_msg(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *m)
{
	if (!msg_valid(m))
		return -EBADMSG;
	if (from == GLOCK_NODEID_NONE)
		return -EPROTO;
	if (m->kind == GLOCK_P2P_PLOCK_ANSWER) {
		if (!p->configured || !p2p_is_member(p, from))
			return -EPROTO; /* only a current master answers */
		return p2p_plock_rq_receive(p, from, m);
	}
	if (glock_p2p_kind_plock(m->kind))
		return p2p_plock_master_receive(p, from, m);
	switch (m->kind) {
	case GLOCK_P2P_LOCK:
	case GLOCK_P2P_CONVERT:
	case GLOCK_P2P_RELEASE:
	case GLOCK_P2P_CANCEL:
	case GLOCK_P2P_REPORT:
		return p2p_master_receive(p, from, m);
	default:
		if (!p->configured || !p2p_is_member(p, from))
			return -EPROTO; /* only a current master answers */
		return p2p_rq_receive(p, from, m);
	}
}

/* Messages to self, in FIFO order; what they send to self joins the queue. */
static void drain_loop(struct glock_p2p *p)
{
	size_t i;

	if (p->draining)
		return;
	p->draining = true;
	for (i = 0; i < p->n_loop; i++) {
		struct p2p_parked e = p->loop[i];

		(void)dispatch_msg(p, e.from, &e.msg);
	}
	p->n_loop = 0;
	p->draining = false;
}

int glock_p2p_apply(struct glock_p2p *p, const struct glock_p2p_input *in)
{
	int ret = 0;

	p->error = 0;
	switch (in->kind) {
	case GLOCK_P2P_IN_OP:
		if (in->u.op.node != p->cfg.local_node)
			return -ESRCH;
		if (!p->configured)
			return -EAGAIN;
		ret = p2p_rq_op(p, &in->u.op);
		break;
	case GLOCK_P2P_IN_PLOCK:
		if (!p->configured)
			return -EAGAIN;
		ret = p2p_plock_rq_op(p, in->u.plock);
		break;
	case GLOCK_P2P_IN_MSG:
		ret = dispatch_msg(p, in->u.msg.from, in->u.msg.msg);
		break;
	case GLOCK_P2P_IN_CONFCHG:
		ret = apply_confchg(p, in);
		break;
	case GLOCK_P2P_IN_DONE:
		if (!p->configured || !p2p_is_member(p, in->u.node.node))
			return -ESRCH;
		p2p_peer(p, in->u.node.node)->done = true;
		p2p_master_done(p, in->u.node.node);
		p2p_plock_master_kick(p);
		break;
	case GLOCK_P2P_IN_READY:
		if (!p->configured)
			return -EAGAIN;
		p->ready = in->u.ready;
		if (p->ready) {
			p2p_master_try_recover(p);
			p2p_master_process_all(p);
			p2p_plock_master_kick(p);
		}
		break;
	case GLOCK_P2P_IN_RESET:
		apply_reset(p);
		return 0;
	case GLOCK_P2P_IN_FENCED:
	case GLOCK_P2P_IN_RECOVERY_DONE:
		ret = apply_departed(p, in->kind, in->u.node.node);
		break;
	case GLOCK_P2P_IN_LINK_DOWN:
	case GLOCK_P2P_IN_LINK_UP: {
		struct p2p_peer *peer = p->configured ? p2p_peer(p, in->u.node.node) : NULL;

		if (!peer || in->u.node.node == p->cfg.local_node)
			return -ESRCH;
		if (in->kind == GLOCK_P2P_IN_LINK_DOWN) {
			peer->link_down = true;
			p2p_master_link_down(p, peer->node);
		} else {
			peer->link_down = false;
			p2p_rq_link_up(p, peer->node);
			p2p_plock_rq_link_up(p, peer->node);
			/*
			 * A DEMOTE sent while the link was down is lost; a holder
			 * with nothing to report (one a master believes from before
			 * the holder's RESET) would never be asked again.
			 */
			p2p_master_link_down(p, peer->node);
			p2p_master_process_all(p);
		}
		break;
	}
	case GLOCK_P2P_IN_TICK:
		if (in->u.now_us > p->now_us)
			p->now_us = in->u.now_us;
		p2p_rq_tick(p);
		break;
	default:
		return -EINVAL;
	}
	drain_loop(p);
	if (!ret && p->error)
		ret = p->error;
	return ret;
}

uint32_t glock_p2p_next_life(const struct glock_p2p *p)
{
	return (uint32_t)p->life + 1;
}

bool glock_p2p_next_due(const struct glock_p2p *p, uint64_t *ret_due_us)
{
	return p2p_rq_next_due(p, ret_due_us);
}

void glock_p2p_stats(const struct glock_p2p *p, struct glock_p2p_stats *out)
{
	*out = (struct glock_p2p_stats){
		.mastered = p->tbl.n_glocks,
		.recovering = p2p_master_recovering(p),
		.held = p2p_rq_count(p),
		.parked = p->n_parked,
		.dropped = p->dropped,
	};
	struct glock_p2p_plock_stats pl;

	glock_p2p_plock_stats(p, &pl);
	out->plock_files = pl.files;
	out->plock_locks = pl.locks;
	out->plock_waiters = pl.waiters;
	out->plock_parked = pl.parked;
	out->plock_pending = pl.pending;
}

int glock_p2p_export_mastered(const struct glock_p2p *p, glock_record_fn fn, void *ctx)
{
	size_t n, i;
	int err, ret = 0;
	struct glock **v = glock__sorted(&p->tbl, &n, &err);

	if (err)
		return err;
	for (i = 0; i < n && !ret; i++)
		ret = glock__record_emit(v[i], fn, ctx);
	free(v);
	return ret;
}

struct glock_p2p *glock_p2p_new(const struct glock_engine_config *cfg, glock_p2p_output_fn output,
				void *ctx)
{
	struct glock_p2p *p;

	if (!cfg || !output || cfg->local_node == GLOCK_NODEID_NONE ||
	    cfg->hold_min_us > cfg->hold_max_us)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->hold_cfg = (struct glock__hold_cfg){
		cfg->hold_min_us, cfg->hold_max_us, cfg->hold_incr_us, cfg->hold_decr_us,
	};
	p->output = output;
	p->ctx = ctx;
	p->life = cfg->first_life;
	if (p2p_master_init(p)) {
		free(p);
		return NULL;
	}
	if (p2p_rq_init(p)) {
		p2p_master_fini(p);
		free(p);
		return NULL;
	}
	if (p2p_plock_init(p)) {
		p2p_rq_fini(p);
		p2p_master_fini(p);
		free(p);
		return NULL;
	}
	return p;
}

void glock_p2p_free(struct glock_p2p *p)
{
	if (!p)
		return;
	p2p_plock_fini(p);
	p2p_rq_fini(p);
	p2p_master_fini(p);
	free(p->loop);
	free(p);
}
