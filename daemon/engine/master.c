// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The master: decides the glocks this node masters with the rules of
 * table.c, and rebuilds the ones it gains at a configuration change from
 * what their holders and waiters report (docs/DESIGN.md §9).
 *
 * A request is taken only when it can be decided correctly now; until then
 * it is parked, in arrival order:
 *   - it names a configuration this node has not reached yet (a sender's
 *     DONE for our configuration turns such a request into a stale one);
 *   - it carries a generation whose report has not been read yet;
 *   - its glock is being rebuilt (gained, and not every DONE is in).
 */
#include "p2p_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A queued conversion a report asked to cancel (flag bits above the API's). */
#define P2P_WAITER_CANCELLED (1u << 31)

/* ---- what the table decides, sent to the requester ---- */

static struct glock_p2p *of(void *ctx)
{
	return ctx;
}

static bool m_may_grant(void *ctx, const struct glock *gl)
{
	return of(ctx)->ready && !gl->recovering;
}

static void send_grant(struct glock_p2p *p, const struct glock *gl, uint32_t node,
		       uint64_t req_id, enum glock_mode mode)
{
	struct p2p_peer *peer = p2p_peer(p, node);
	struct glock_p2p_msg msg = {
		.kind = GLOCK_P2P_GRANT, .name = gl->name, .req_id = req_id, .mode = mode,
		.lvb_valid = true, .lvb_seq = gl->lvb_seq, .lvb_invalid = gl->lvb_invalid,
	};

	if (!peer)
		return;
	msg.gen = peer->gen_seen;
	memcpy(msg.lvb, gl->lvb, GLOCK_LVB_LEN);
	if (gl->lvb_seq > p->lvb_seq_sent)
		p->lvb_seq_sent = gl->lvb_seq;
	p2p_send(p, node, &msg);
}

static void m_granted(void *ctx, struct glock *gl, uint32_t node, uint64_t req_id,
		      enum glock_mode mode)
{
	send_grant(of(ctx), gl, node, req_id, mode);
}

static void send_simple(struct glock_p2p *p, enum glock_p2p_msg_kind kind,
			const struct glock_name *name, uint32_t node, uint64_t req_id,
			enum glock_mode mode, enum glock_deny_reason reason)
{
	struct p2p_peer *peer = p2p_peer(p, node);
	struct glock_p2p_msg msg = {
		.kind = kind, .name = *name, .req_id = req_id, .mode = mode, .reason = reason,
	};

	if (!peer)
		return;
	msg.gen = peer->gen_seen;
	p2p_send(p, node, &msg);
}

static void m_denied(void *ctx, const struct glock_name *name, uint32_t node, uint64_t req_id,
		     enum glock_deny_reason reason)
{
	send_simple(of(ctx), GLOCK_P2P_DENY, name, node, req_id, GLOCK_MODE_UN, reason);
}

static void m_demote(void *ctx, struct glock *gl, uint32_t node, enum glock_mode target)
{
	send_simple(of(ctx), GLOCK_P2P_DEMOTE, &gl->name, node, 0, target, 0);
}

static const struct glock__table_ops master_ops = {
	.may_grant = m_may_grant,
	.granted = m_granted,
	.denied = m_denied,
	.demote = m_demote,
};

int p2p_master_init(struct glock_p2p *p)
{
	int err = glock__table_init(&p->tbl, &master_ops, p);

	p->tbl.lvb_check_base = true;
	p->tbl.hold_min_us = p->cfg.hold_min_us;
	return err;
}

void p2p_master_clear(struct glock_p2p *p)
{
	glock__table_clear(&p->tbl);
	p->n_parked = 0;
}

void p2p_master_fini(struct glock_p2p *p)
{
	glock__table_fini(&p->tbl);
	free(p->parked);
	p->parked = NULL;
}

size_t p2p_master_recovering(const struct glock_p2p *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->tbl.n_buckets; i++) {
		const struct glock *gl;

		for (gl = p->tbl.buckets[i]; gl; gl = gl->hash_next)
			n += gl->recovering;
	}
	return n;
}

/* ---- glocks ---- */

/*
 * A glock new to this table.  If this node has not decided it throughout
 * since the last recovery it is rebuilt from reports first; a departed
 * node this table cannot vouch for gets an expired EX placeholder.
 */
static struct glock *glock_new(struct glock_p2p *p, const struct glock_name *name)
{
	struct glock *gl = glock__create(&p->tbl, name);
	size_t i, k = 0;

	if (!gl)
		return NULL;
	if (p2p_name_gained(p, name)) {
		gl->recovering = true;
		gl->lvb_invalid = true;
		gl->gained_seq = p->cfg_no;
	} else {
		/*
		 * Problem scenario (p2p-sim --nodes 3 --seed 795): R's release
		 * of G wrote the LVB at sequence s, its RELEASED was lost; G
		 * went idle here and came back at sequence 0 for H.  At the
		 * next master change R's stale copy (s + 1) beat H's and came
		 * back as the LVB.  A glock made again starts above every
		 * sequence this master gave out or was reported (a holder adds 1
		 * when it writes).
		 */
		gl->lvb_seq = p->lvb_seq_sent + 2;
	}
	for (i = 0; i < p->n_departed; i++)
		k += p2p_needs_placeholder(p, name, &p->departed[i]);
	if (k && glock__expired_reserve(gl, k)) {
		glock__unlink(&p->tbl, gl);
		return NULL;
	}
	for (i = 0; i < p->n_departed; i++) {
		struct glock__holder h = {
			.node = p->departed[i].node, .mode = GLOCK_MODE_EX,
			.fenced = p->departed[i].fenced,
		};

		if (p2p_needs_placeholder(p, name, &p->departed[i]))
			glock__expired_add(gl, &h);
	}
	return gl;
}

static struct glock **all_glocks(struct glock_p2p *p, size_t *n);

static void drop(struct glock_p2p *p)
{
	p->dropped++;
}

/* ---- parking ---- */

static void park(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	if (p->n_parked == p->cap_parked) {
		size_t cap = p->cap_parked ? p->cap_parked * 2 : 16;
		struct p2p_parked *v = realloc(p->parked, cap * sizeof(*v));

		if (!v) {
			/* As if lost on a reset link: the requester's next report repairs it. */
			p->error = -ENOMEM;
			drop(p);
			return;
		}
		p->parked = v;
		p->cap_parked = cap;
	}
	p->parked[p->n_parked++] = (struct p2p_parked){
		.from = from, .cfg_no = p->cfg_no, .msg = *msg,
		.since = p->unparking_since ? p->unparking_since : p->cfg_no,
	};
}

/* Is a request or report of from on name parked? */
static bool parked_from(const struct glock_p2p *p, uint32_t from, const struct glock_name *name)
{
	size_t i;

	for (i = 0; i < p->n_parked; i++)
		if (p->parked[i].from == from &&
		    glock_name_compare(&p->parked[i].msg.name, name) == 0)
			return true;
	return false;
}

/* Runs every parked request through the checks again, in arrival order. */
static void unpark(struct glock_p2p *p)
{
	struct p2p_parked *v = p->parked;
	size_t n = p->n_parked, i;

	if (!n)
		return;
	p->parked = NULL;
	p->n_parked = 0;
	p->cap_parked = 0;
	for (i = 0; i < n; i++) {
		if (p2p_is_member(p, v[i].from) || v[i].cfg_no == p->cfg_no) {
			p->unparking_since = v[i].since;
			(void)p2p_master_receive(p, v[i].from, &v[i].msg);
			p->unparking_since = 0;
		} else
			drop(p); /* a configuration went by and the sender is not in it */
	}
	if (!p->parked) {
		p->parked = v;
		p->cap_parked = n;
	} else {
		free(v);
	}
}

/* ---- requests ---- */

static void answer_released(struct glock_p2p *p, const struct glock_name *name, uint32_t node,
			    uint64_t req_id)
{
	send_simple(p, GLOCK_P2P_RELEASED, name, node, req_id, GLOCK_MODE_UN, 0);
}

static int apply_request(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg,
			 struct glock *gl)
{
	struct glock_op op = {
		.node = from, .req_id = msg->req_id, .name = msg->name, .mode = msg->mode,
		.flags = msg->flags,
	};
	struct glock__holder *h = gl ? glock__holder_of(gl, from) : NULL;
	int err = 0;

	switch (msg->kind) {
	case GLOCK_P2P_LOCK:
		if (!gl) {
			gl = glock_new(p, &msg->name);
			if (!gl)
				return -ENOMEM;
			if (gl->recovering) {
				/* Gained after all: its reports are still to come. */
				park(p, from, msg);
				return 0;
			}
		}
		op.kind = GLOCK_OP_LOCK;
		err = glock__op_apply(&p->tbl, &op);
		break;
	case GLOCK_P2P_CONVERT:
		if (h && h->mode == GLOCK_MODE_EX && msg->mode != GLOCK_MODE_EX) {
			err = glock__lower(&p->tbl, gl, from, msg->req_id, msg->mode,
					   msg->lvb_valid, msg->lvb, msg->lvb_seq);
			answer_released(p, &msg->name, from, msg->req_id);
			break;
		}
		op.kind = GLOCK_OP_CONVERT;
		err = gl ? glock__op_apply(&p->tbl, &op) : -ENOENT;
		break;
	case GLOCK_P2P_RELEASE:
		if (h && h->mode == GLOCK_MODE_EX) {
			err = glock__lower(&p->tbl, gl, from, msg->req_id, GLOCK_MODE_UN,
					   msg->lvb_valid, msg->lvb, msg->lvb_seq);
		} else if (h) {
			op.kind = GLOCK_OP_RELEASE;
			err = glock__op_apply(&p->tbl, &op);
			gl = glock__find(&p->tbl, &msg->name);
		}
		/* Answered even without a grant here: a release is idempotent. */
		answer_released(p, &msg->name, from, msg->req_id);
		break;
	case GLOCK_P2P_CANCEL:
		op.kind = GLOCK_OP_CANCEL;
		err = gl ? glock__op_apply(&p->tbl, &op) : -ENOENT;
		if (err == -ENOENT)
			err = 0; /* answered already: the answer is on its way */
		break;
	default:
		return -EPROTO;
	}
	gl = glock__find(&p->tbl, &msg->name);
	if (gl)
		glock__put_if_idle(&p->tbl, gl);
	if (err) {
		drop(p); /* the requester and this table disagree: its next report settles it */
		return err == -ENOMEM ? err : -EPROTO;
	}
	return 0;
}

/* ---- reports ---- */

/* The requester's state is the truth: make the table say what it holds. */
static int reconcile_held(struct glock_p2p *p, struct glock *gl, uint32_t from,
			  const struct glock_p2p_msg *r)
{
	struct glock__holder *h = glock__holder_of(gl, from);
	const struct glock_p2p_down *d = &r->down;

	if (r->mode == GLOCK_MODE_UN) {
		if (!h)
			return 0;
		if (h->mode == GLOCK_MODE_EX)
			return glock__lower(&p->tbl, gl, from, d->req_id, GLOCK_MODE_UN,
					    d->lvb_valid, d->lvb, d->lvb_base);
		glock__holder_remove(gl, h);
		return 0;
	}
	if (h && h->mode == GLOCK_MODE_EX && r->mode != GLOCK_MODE_EX)
		return glock__lower(&p->tbl, gl, from, d->req_id, r->mode, d->lvb_valid, d->lvb,
				    d->lvb_base);
	/* A DEMOTE may have been lost with the link: ask again. */
	return glock__holder_set(gl, from, r->mode, r->flags);
}

static int reconcile_pending(struct glock_p2p *p, struct glock *gl, uint32_t from,
			     const struct glock_p2p_msg *r)
{
	const struct glock_p2p_pending *pd = &r->pending;
	struct glock__waiter *w = glock__waiter_of(gl, from);
	struct glock_op op = {
		.node = from, .req_id = pd->req_id, .name = gl->name, .mode = pd->mode,
		.flags = pd->flags,
	};

	if (w && (!pd->valid || w->req_id != pd->req_id)) {
		/* A request the requester no longer has. */
		glock__waiter_remove(gl, (size_t)(w - gl->waiters));
		w = NULL;
	}
	if (!pd->valid)
		return 0;
	if (w) {
		if (!pd->cancel)
			return 0;
		op.kind = GLOCK_OP_CANCEL;
		return glock__op_apply(&p->tbl, &op);
	}
	if (pd->cancel && gl->recovering && pd->kind == GLOCK_OP_CONVERT) {
		/* The old master may have granted it: decided with every report in. */
		op.kind = GLOCK_OP_CONVERT;
		op.flags |= P2P_WAITER_CANCELLED;
		return glock__op_apply(&p->tbl, &op);
	}
	if (pd->cancel) {
		m_denied(p, &gl->name, from, pd->req_id, GLOCK_DENY_CANCELLED);
		return 0;
	}
	op.kind = pd->kind;
	return glock__op_apply(&p->tbl, &op);
}

static int apply_report(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *r)
{
	struct glock *gl = glock__find(&p->tbl, &r->name);
	struct glock__holder *h;
	int err;

	if (r->lvb_seq > p->lvb_seq_sent)
		p->lvb_seq_sent = r->lvb_seq; /* (see glock_new) */
	if (!gl) {
		if (r->mode == GLOCK_MODE_UN && !r->pending.valid) {
			if (r->down.valid)
				answer_released(p, &r->name, from, r->down.req_id);
			return 0;
		}
		gl = glock_new(p, &r->name);
		if (!gl)
			return -ENOMEM;
	}
	/*
	 * A holder's copy is the LVB: nobody wrote it since its grant (or
	 * since its own down-conversion from EX, which its copy is).
	 * Problem scenario (p2p-sim --nodes 9 --seed 923, --nodes 3 --seed
	 * 915): R released G writing v1; the old master applied it, but R's
	 * RELEASED was lost; H took EX, wrote v2, was answered; the old
	 * master died (or forgot G).  R reports its release in flight: its
	 * copy was taken, and the sequence that judged it is not comparable
	 * with anything the new master has (the lineage that wrote v2 is
	 * gone), so v1 came back as the LVB, or beat the copy of a holder
	 * granted since.  A release in flight to a master that is no longer
	 * G's may have been applied and overwritten: its LVB is not used
	 * (the DLM likewise ends an unlock in flight to a dead master and
	 * marks the LVB not valid).  With no holder, G's LVB is not valid.
	 */
	if (gl->recovering && r->mode != GLOCK_MODE_UN &&
	    (gl->lvb_invalid || r->lvb_seq > gl->lvb_seq)) {
		memcpy(gl->lvb, r->lvb, GLOCK_LVB_LEN);
		gl->lvb_seq = r->lvb_seq;
		gl->lvb_invalid = false;
	}
	if (glock__waiters_reserve(gl, 1)) {
		glock__put_if_idle(&p->tbl, gl);
		return -ENOMEM;
	}
	h = glock__holder_of(gl, from);
	if (r->pending.valid && h && h->req_id == r->pending.req_id) {
		/* Granted, and the GRANT was lost: say it again. */
		h->demote_sent = false;
		send_grant(p, gl, from, h->req_id, h->mode);
		err = 0;
	} else {
		err = reconcile_held(p, gl, from, r);
		if (!err)
			err = reconcile_pending(p, gl, from, r);
	}
	if (r->down.valid)
		answer_released(p, &r->name, from, r->down.req_id);
	gl = glock__find(&p->tbl, &r->name);
	if (gl) {
		glock__process(&p->tbl, gl);
		glock__put_if_idle(&p->tbl, gl);
	}
	if (err) {
		drop(p);
		return err == -ENOMEM ? err : -EPROTO;
	}
	return 0;
}

/* ---- the entry point for what requesters send ---- */

/* node RESET since what this table has of it: it holds and asks for nothing. */
static void forget_life(struct glock_p2p *p, uint32_t node, uint64_t life)
{
	size_t n, i, k;
	struct glock **v = all_glocks(p, &n);

	for (i = 0; i < n; i++) {
		struct glock__holder *h = glock__holder_of(v[i], node);
		struct glock__waiter *w = glock__waiter_of(v[i], node);

		if (h)
			glock__holder_remove(v[i], h);
		if (w)
			glock__waiter_remove(v[i], (size_t)(w - v[i]->waiters));
		glock__process(&p->tbl, v[i]);
		glock__put_if_idle(&p->tbl, v[i]);
	}
	free(v);
	for (i = k = 0; i < p->n_parked; i++) {
		if (p->parked[i].from == node && (p->parked[i].msg.gen >> 32) < life)
			drop(p);
		else
			p->parked[k++] = p->parked[i];
	}
	p->n_parked = k;
}

int p2p_master_receive(struct glock_p2p *p, uint32_t from, const struct glock_p2p_msg *msg)
{
	struct p2p_peer *peer = p->configured ? p2p_peer(p, from) : NULL;
	struct glock *gl;
	bool old_cfg;

	if (p2p_config_of_old_life(p, msg->config_id)) {
		drop(p); /* sent before this node's RESET, by a node that RESET too */
		return 0;
	}
	if (!peer) {
		/*
		 * Problem scenario: B joins; B sees the change first and sends
		 * LOCK to its master A, which has not seen it yet.  Dropped,
		 * the request would be lost for good (no link reset follows).
		 * Kept until A's next configuration says whether B is in.
		 */
		park(p, from, msg);
		return 0;
	}
	if ((msg->gen >> 32) < (peer->gen_seen >> 32)) {
		drop(p); /* sent before its sender's RESET */
		return 0;
	}
	if ((msg->gen >> 32) > (peer->gen_seen >> 32)) {
		forget_life(p, from, msg->gen >> 32);
		peer->gen_seen = msg->gen >> 32 << 32;
	}
	if (msg->kind == GLOCK_P2P_REPORT) {
		bool newer = msg->gen > peer->gen_seen;
		int err = 0;

		if (msg->gen < peer->gen_seen) {
			drop(p); /* a later round was read already */
			return 0;
		}
		if (msg->config_id != p->cfg_id &&
		    p2p_master_now(p, &msg->name) != p->cfg.local_node &&
		    (p->unparking_since ? p->unparking_since : p->cfg_no) + P2P_HISTORY_MAX >
			    p->cfg_no) {
			/*
			 * Problem scenario (p2p-sim 7 nodes, seed 991): M departs;
			 * R sees it, its link to N comes up and it reports G (SH)
			 * to N, G's new master, over the link; N, still in the
			 * configuration where M masters G, dropped the report but
			 * took its generation, so R's REPORT of the same round
			 * through CPG looked older and was dropped too: N rebuilt
			 * G without R's SH and let DF next to it.  A report from a
			 * configuration this node has not reached waits for it.
			 * Which one that is the id cannot say (the same members
			 * make the same id: p2p-sim --nodes 9 --seed 1668), so any
			 * other waits, a stale one at most P2P_HISTORY_MAX changes
			 * (a later round of its sender, read first, drops it).
			 * Its generation counts now (a stale one's sender goes on
			 * with it: p2p-sim --nodes 3 --seed 1419); the sender's
			 * requests on this glock wait behind it.
			 */
			peer->gen_seen = msg->gen;
			park(p, from, msg);
			if (newer)
				unpark(p);
			return 0;
		}
		/* Answers from now on carry the new generation: they account for it. */
		peer->gen_seen = msg->gen;
		if (p2p_master_now(p, &msg->name) == p->cfg.local_node)
			err = apply_report(p, from, msg);
		else
			drop(p); /* not ours in this configuration: reported to its master */
		if (newer)
			unpark(p); /* requests sent after the report */
		return err;
	}
	if (parked_from(p, from, &msg->name)) {
		/*
		 * Problem scenario (p2p-sim --nodes 8 --seed 302): R converts
		 * G from EX to SH with an LVB before it sees a change this
		 * master has seen: parked until R's DONE.  R then sees the
		 * change and releases G; taken at once, the RELEASE overtook
		 * the CONVERT and R's LVB was lost.  A sender's requests on a
		 * glock keep their order.
		 */
		park(p, from, msg);
		return 0;
	}
	old_cfg = msg->config_id != p->cfg_id;
	if (old_cfg && !peer->done) {
		park(p, from, msg); /* sent after a change this node has not seen yet */
		return 0;
	}
	/*
	 * Else sent before the sender reached this configuration.  Problem
	 * scenario (p2p-sim): 2 sends LOCK to G's master 1; 4 joins, G stays
	 * with 1, so 2 reports nothing; 2's DONE (CPG) overtakes the LOCK
	 * (link).  Dropped here, the request was lost for good.  Only a report
	 * supersedes it, and the generation says whether one did.
	 */
	if (msg->gen < peer->gen_seen) {
		drop(p); /* its report, read since, said what counts */
		return 0;
	}
	if (msg->gen > peer->gen_seen) {
		park(p, from, msg);
		return 0;
	}
	if (!peer->done && msg->gen > peer->gen_cfg) {
		/*
		 * Problem scenario (p2p-sim): R's report round for this
		 * configuration covers G and H; H's REPORT sets the generation,
		 * R's RELEASE of G (link) overtakes G's REPORT (CPG), and the
		 * late REPORT gives R its EX back for good.  Until R's DONE,
		 * which follows its REPORTs, the round may be incomplete.
		 */
		park(p, from, msg);
		return 0;
	}
	if (p2p_master_now(p, &msg->name) != p->cfg.local_node) {
		drop(p);
		/* Same configuration, other master: the sender is wrong. */
		return old_cfg ? 0 : -EPROTO;
	}
	gl = glock__find(&p->tbl, &msg->name);
	if ((gl && gl->recovering) || (!gl && p2p_name_gained(p, &msg->name))) {
		park(p, from, msg);
		return 0;
	}
	return apply_request(p, from, msg, gl);
}

/* ---- membership ---- */

int p2p_master_confchg(struct glock_p2p *p, const uint32_t *gone, size_t n_gone)
{
	size_t n, i, kept = 0;
	int err;
	struct glock **v = glock__sorted(&p->tbl, &n, &err);

	if (err) {
		/* No memory to walk the table: start over as a fresh master. */
		glock__table_clear(&p->tbl);
		p->recovered_cfg = 0;
		return err;
	}
	for (i = 0; i < n; i++) {
		if (p2p_master_now(p, &v[i]->name) != p->cfg.local_node)
			glock__unlink(&p->tbl, v[i]); /* its new master rebuilds it */
		else
			v[kept++] = v[i];
	}
	err = glock__departures_reserve(&p->tbl, p->members, p->n_members, v, kept);
	if (err) {
		free(v);
		glock__table_clear(&p->tbl);
		p->recovered_cfg = 0;
		return err;
	}
	for (i = 0; i < n_gone; i++)
		(void)glock__depart(&p->tbl, gone[i], v, kept);
	for (i = 0; i < kept; i++)
		glock__put_if_idle(&p->tbl, v[i]);
	free(v);
	unpark(p);
	p2p_master_process_all(p);
	return 0;
}

/*
 * Every report is in.  Problem scenario (p2p-sim): R holds DF and converts
 * to SH; the old master grants it, then SH to S, and is lost with R's
 * GRANT.  R reports DF with the conversion pending, S reports SH: DF next
 * to SH, and R would use DF again if its conversion were then cancelled.
 * A holder whose mode conflicts with another's while its queued
 * conversion fits them all was granted that conversion: say it again.
 */
static void regrant_conversions(struct glock_p2p *p, struct glock *gl)
{
	size_t i = 0, j;

	while (i < gl->n_waiters) {
		struct glock__waiter w = gl->waiters[i];
		struct glock__holder *h = w.convert ? glock__holder_of(gl, w.node) : NULL;
		bool conflict = false, fits = true;

		for (j = 0; h && j < gl->n_holders; j++) {
			if (gl->holders[j].node == w.node)
				continue;
			conflict |= !glock_mode_compatible(gl->holders[j].mode, h->mode);
			fits &= glock_mode_compatible(gl->holders[j].mode, w.mode);
		}
		if (!h || !conflict || !fits) {
			i++;
			continue;
		}
		glock__waiter_remove(gl, i);
		h->mode = w.mode;
		h->req_id = w.req_id;
		h->flags = w.flags;
		h->demote_sent = false;
		h->demote_target = GLOCK_MODE_UN;
		send_grant(p, gl, w.node, w.req_id, w.mode);
	}
	/* The other conversions reported as cancelled are, now. */
	for (i = 0; i < gl->n_waiters;) {
		struct glock_op op = {
			.kind = GLOCK_OP_CANCEL, .node = gl->waiters[i].node,
			.req_id = gl->waiters[i].req_id, .name = gl->name,
		};

		if (!(gl->waiters[i].flags & P2P_WAITER_CANCELLED)) {
			i++;
			continue;
		}
		if (glock__op_apply(&p->tbl, &op))
			i++; /* cannot happen: it is queued */
	}
}

void p2p_master_try_recover(struct glock_p2p *p)
{
	size_t i;

	if (!p->recovery_pending || !p->ready)
		return;
	for (i = 0; i < p->n_members; i++)
		if (!p->peers[i].done)
			return;
	p->recovery_pending = false;
	p->recovered_cfg = p->cfg_no;
	for (i = 0; i < p->tbl.n_buckets; i++) {
		struct glock *gl;

		for (gl = p->tbl.buckets[i]; gl; gl = gl->hash_next) {
			if (!gl->recovering)
				continue;
			regrant_conversions(p, gl);
			gl->recovering = false;
			if (gl->lvb_invalid)
				gl->lvb_seq++; /* no stale writer's base matches it */
		}
	}
	unpark(p);
	p2p_master_process_all(p);
}

void p2p_master_done(struct glock_p2p *p, uint32_t node)
{
	(void)node;
	unpark(p);
	p2p_master_try_recover(p);
}

void p2p_master_process_all(struct glock_p2p *p)
{
	if (glock__process_all(&p->tbl))
		p->error = -ENOMEM;
}

static struct glock **all_glocks(struct glock_p2p *p, size_t *n)
{
	int err;
	struct glock **v = glock__sorted(&p->tbl, n, &err);

	if (err)
		p->error = err;
	return v;
}

void p2p_master_fenced(struct glock_p2p *p, uint32_t node)
{
	size_t n;
	struct glock **v = all_glocks(p, &n);

	glock__fence(v, n, node);
	free(v);
	p2p_master_process_all(p);
}

void p2p_master_recovery_done(struct glock_p2p *p, uint32_t node)
{
	size_t n;
	struct glock **v = all_glocks(p, &n);

	glock__drop_expired(v, n, node);
	free(v);
	p2p_master_process_all(p);
}

void p2p_master_link_down(struct glock_p2p *p, uint32_t node)
{
	size_t i;

	for (i = 0; i < p->tbl.n_buckets; i++) {
		struct glock *gl;

		for (gl = p->tbl.buckets[i]; gl; gl = gl->hash_next) {
			struct glock__holder *h = glock__holder_of(gl, node);

			if (h)
				h->demote_sent = false; /* asked again after its report */
		}
	}
}
