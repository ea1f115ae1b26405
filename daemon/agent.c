/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's lock agent: local holders over node-level cluster grants.
 * See agent.h for the model and docs/DESIGN.md §5.
 *
 * Per glock (struct agl):
 *   cluster   the node's grant as the agent knows it.  It is lowered as
 *             soon as a RELEASE or down-CONVERT is handed to the cluster:
 *             the op is ordered before anything the node sends later, so
 *             nothing granted locally afterwards can rely on the old mode.
 *   holders   every local request on the glock (granted or not)
 *   waiters   FIFO of those waiting: conversions first, then new locks
 *   req_*     the one outstanding LOCK/CONVERT (or down-CONVERT)
 *   demote_*  a DEMOTE not yet honoured
 *
 * Local grant rule (may_grant): the cached grant covers the mode (same
 * mode, or EX, which covers SH and DF as gfs2's may_grant allows), it is
 * compatible with every granted local holder, the waiters ahead have been
 * granted (strict FIFO: nobody overtakes a blocked waiter), and, while a
 * demote is pending, the demote target covers it too (a request the demote
 * would take away queues behind the demote).
 *
 * Problem scenario: node A caches EX on a glock and has a stream of local
 * processes taking it in turn; node B asks for EX.  If A kept granting
 * locally while the demote waits for the current holder, B would starve.
 * So once the demote is known, new local requests it does not cover wait,
 * A releases when the last conflicting holder is done, and A's waiters
 * then ask the cluster again (behind B).
 *
 * Waiters survive a quorum loss (UNSYNCED): they ask again once SYNCED,
 * bounded by their own timeouts.  Holders do not: they are told LOST.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qb/qblist.h>
#include <qb/qbmap.h>

#include "agent.h"
#include "metrics.h"

/* "lockspace/type/number": unique, since type and number have no '/'. */
#define AGL_KEY_MAX (GLOCK_LOCKSPACE_MAX + 32)
#define AGENT_HASH_SIZE 65536u
#define AGENT_RETRY_US 1000u /* resubmit after -EAGAIN */

struct glock__agent_client {
	struct qb_list_head list; /* in ag->clients */
	struct qb_list_head holders;
	void *owner;
	uint32_t pid;
};

struct agl;

struct holder {
	struct qb_list_head gl_node;    /* gl->holders */
	struct qb_list_head wait_node;  /* gl->waiters, while waiting */
	struct qb_list_head cl_node;    /* cl->holders */
	struct qb_list_head timer_node; /* ag->timeouts, while a deadline is set */
	struct agl *gl;
	struct glock__agent_client *cl;
	uint64_t handle;
	uint64_t client_ref;
	enum glock_mode mode; /* held; UN until the first grant */
	enum glock_mode want; /* while waiting */
	uint32_t flags;
	uint64_t deadline_us;
	bool granted;
	bool waiting;
	bool timed;
	bool demote_told;
	uint64_t req_start_us;          /* when its lock/convert came in */
	enum glock__metrics_op req_op;  /* LOCK or CONVERT */
};

struct agl {
	char key[AGL_KEY_MAX];
	struct glock_name name;
	enum glock_mode cluster;
	uint8_t lvb[GLOCK_LVB_LEN];
	bool lvb_dirty;

	struct qb_list_head holders;
	struct qb_list_head waiters;
	size_t n_granted;

	bool req_pending;
	enum glock_op_kind req_kind;
	enum glock_mode req_mode;
	uint64_t req_id;
	uint64_t req_sent_us;
	bool req_blocking;
	bool cancel_sent;
	struct holder *req_owner; /* the waiter it was sent for, if still waiting */

	bool demote_pending;
	enum glock_mode demote_target;

	bool in_lru;
	struct qb_list_head lru_node;
	bool in_retry;
	struct qb_list_head retry_node;

	int64_t srtt, srttvar, srttb, srttvarb, sirt, sirtvar;
	uint64_t last_req_us;
	uint64_t dcount, qcount, demotes;
};

struct glock__agent {
	struct glock__agent_ops ops;
	void *ctx;
	qb_map_t *glocks;
	size_t n_glocks;
	struct qb_list_head clients;
	struct qb_list_head timeouts; /* holders, by deadline */
	struct qb_list_head lru;      /* idle cached glocks, oldest first */
	size_t n_lru;
	size_t lru_max;
	struct qb_list_head retry;    /* glocks to resubmit after -EAGAIN */
	uint64_t retry_at;
	uint64_t armed_at;
	uint64_t next_handle;
	bool suspended; /* engine inquorate: grants may not be used (DESIGN §3 rule 7) */
	struct holder *replying; /* its answer is the reply, not an event */
	int reply_err;
	enum glock_deny_reason reply_reason;
	struct glock__metrics metrics;
};

static const bool mode_compat[GLOCK_MODE_COUNT][GLOCK_MODE_COUNT] = {
	[GLOCK_MODE_UN] = { true, true, true, true },
	[GLOCK_MODE_SH] = { true, true, false, false },
	[GLOCK_MODE_DF] = { true, false, true, false },
	[GLOCK_MODE_EX] = { true, false, false, false },
};

static bool mode_valid(enum glock_mode m)
{
	return m >= GLOCK_MODE_UN && m <= GLOCK_MODE_EX;
}

/* Does holding `have` let the node grant `want` locally? */
static bool covers(enum glock_mode have, enum glock_mode want)
{
	if (want == GLOCK_MODE_UN)
		return true;
	return have == want || have == GLOCK_MODE_EX;
}

void glock__agent_stats_update(int64_t *avg, int64_t *var, int64_t sample)
{
	int64_t delta = sample - *avg;

	*avg += delta / 8;
	*var += ((delta < 0 ? -delta : delta) - *var) / 4;
}

static uint64_t now_us(struct glock__agent *ag)
{
	return ag->ops.now_us(ag->ctx);
}

/* ---- glock table ---- */

static void agl_key(const struct glock_name *name, char *key)
{
	snprintf(key, AGL_KEY_MAX, "%s/%" PRIx32 "/%" PRIx64, name->lockspace, name->type,
		 name->number);
}

static struct agl *agl_find(struct glock__agent *ag, const struct glock_name *name)
{
	char key[AGL_KEY_MAX];

	agl_key(name, key);
	return qb_map_get(ag->glocks, key);
}

static struct agl *agl_get(struct glock__agent *ag, const struct glock_name *name)
{
	struct agl *gl = agl_find(ag, name);

	if (gl)
		return gl;
	gl = calloc(1, sizeof(*gl));
	if (!gl)
		return NULL;
	gl->name = *name;
	agl_key(name, gl->key);
	qb_list_init(&gl->holders);
	qb_list_init(&gl->waiters);
	qb_list_init(&gl->lru_node);
	qb_list_init(&gl->retry_node);
	qb_map_put(ag->glocks, gl->key, gl);
	ag->n_glocks++;
	return gl;
}

static void lru_del(struct glock__agent *ag, struct agl *gl)
{
	if (!gl->in_lru)
		return;
	qb_list_del(&gl->lru_node);
	qb_list_init(&gl->lru_node);
	gl->in_lru = false;
	ag->n_lru--;
}

static void retry_del(struct agl *gl)
{
	if (!gl->in_retry)
		return;
	qb_list_del(&gl->retry_node);
	qb_list_init(&gl->retry_node);
	gl->in_retry = false;
}

static void retry_add(struct glock__agent *ag, struct agl *gl)
{
	if (gl->in_retry)
		return;
	qb_list_add_tail(&gl->retry_node, &ag->retry);
	gl->in_retry = true;
	if (!ag->retry_at)
		ag->retry_at = now_us(ag) + AGENT_RETRY_US;
}

static bool agl_busy(const struct agl *gl)
{
	return !qb_list_empty(&gl->holders) || gl->req_pending || gl->demote_pending ||
	       gl->in_retry;
}

static void agl_destroy(struct glock__agent *ag, struct agl *gl)
{
	lru_del(ag, gl);
	retry_del(gl);
	qb_map_rm(ag->glocks, gl->key);
	ag->n_glocks--;
	free(gl);
}

/* ---- holders ---- */

static void timer_del(struct holder *h)
{
	if (!h->timed)
		return;
	qb_list_del(&h->timer_node);
	qb_list_init(&h->timer_node);
	h->timed = false;
}

static void timer_add(struct glock__agent *ag, struct holder *h, uint32_t timeout_ms)
{
	struct holder *pos;

	timer_del(h);
	if (!timeout_ms)
		return;
	h->deadline_us = now_us(ag) + (uint64_t)timeout_ms * 1000u;
	/* Deadlines mostly grow: scan from the tail. */
	qb_list_for_each_entry_reverse(pos, &ag->timeouts, timer_node) {
		if (pos->deadline_us <= h->deadline_us) {
			qb_list_add(&h->timer_node, &pos->timer_node);
			h->timed = true;
			return;
		}
	}
	qb_list_add(&h->timer_node, &ag->timeouts);
	h->timed = true;
}

static void wait_del(struct holder *h)
{
	if (!h->waiting)
		return;
	qb_list_del(&h->wait_node);
	qb_list_init(&h->wait_node);
	h->waiting = false;
	if (h->gl->req_owner == h)
		h->gl->req_owner = NULL;
}

/* Conversions before new locks; PRIORITY to the front of its part. */
static void wait_add(struct holder *h)
{
	struct agl *gl = h->gl;
	struct holder *pos;
	bool conv = h->granted;

	h->waiting = true;
	if (h->flags & GLOCK_FLAG_PRIORITY) {
		qb_list_for_each_entry(pos, &gl->waiters, wait_node) {
			if (!conv && pos->granted)
				continue;
			qb_list_add_tail(&h->wait_node, &pos->wait_node);
			return;
		}
		qb_list_add_tail(&h->wait_node, &gl->waiters);
		return;
	}
	if (conv) {
		qb_list_for_each_entry(pos, &gl->waiters, wait_node) {
			if (!pos->granted) {
				qb_list_add_tail(&h->wait_node, &pos->wait_node);
				return;
			}
		}
	}
	qb_list_add_tail(&h->wait_node, &gl->waiters);
}

static void holder_free(struct holder *h)
{
	wait_del(h);
	timer_del(h);
	if (h->granted)
		h->gl->n_granted--;
	qb_list_del(&h->gl_node);
	qb_list_del(&h->cl_node);
	free(h);
}

/* A client's holder on the named glock, by handle; NULL if there is none. */
static struct holder *holder_find(struct glock__agent *ag, struct glock__agent_client *cl,
				  const struct glock_name *name, uint64_t handle)
{
	struct agl *gl = agl_find(ag, name);
	struct holder *h;

	if (!gl)
		return NULL;
	qb_list_for_each_entry(h, &gl->holders, gl_node)
		if (h->handle == handle && h->cl == cl)
			return h;
	return NULL;
}

/* The LVB a client hands over goes to the cluster when the node leaves EX. */
static int holder_put_lvb(struct holder *h, const uint8_t *lvb)
{
	if (!lvb)
		return 0;
	if (h->mode != GLOCK_MODE_EX)
		return -EINVAL;
	memcpy(h->gl->lvb, lvb, GLOCK_LVB_LEN);
	h->gl->lvb_dirty = true;
	return 0;
}

static void send_event(struct glock__agent *ag, struct holder *h, enum glock__agent_ev_kind kind,
		       int err, enum glock_deny_reason reason, enum glock_mode mode)
{
	struct glock__agent_event ev = {
		.kind = kind, .name = &h->gl->name, .handle = h->handle,
		.client_ref = h->client_ref, .err = err, .reason = reason, .mode = mode,
		.lvb = h->gl->lvb,
	};

	ag->ops.event(ag->ctx, h->cl->owner, &ev);
}

/*
 * A waiter's request ends without a grant.  A new lock's holder goes with
 * it; a conversion leaves the holder at its old mode.
 */
static void waiter_fail(struct glock__agent *ag, struct holder *h, int err,
			enum glock_deny_reason reason)
{
	wait_del(h);
	timer_del(h);
	h->want = h->mode;
	/* An error the caller returns is counted by the caller. */
	if (!(ag->replying == h && err))
		glock__metrics_observe(&ag->metrics, h->req_op, glock__metrics_outcome_of(err, reason),
				       now_us(ag) - h->req_start_us);
	if (ag->replying == h) {
		/* the caller answers and cleans up */
		ag->reply_err = err;
		ag->reply_reason = reason;
		return;
	}
	send_event(ag, h, GLOCK__AGENT_EV_COMPLETE, err, reason, h->mode);
	if (!h->granted)
		holder_free(h);
}

static void waiter_grant(struct glock__agent *ag, struct holder *h)
{
	wait_del(h);
	timer_del(h);
	glock__metrics_observe(&ag->metrics, h->req_op, GLOCK__METRICS_GRANTED,
			       now_us(ag) - h->req_start_us);
	if (!h->granted)
		h->gl->n_granted++;
	h->granted = true;
	h->mode = h->want;
	h->demote_told = false;
	if (ag->replying != h)
		send_event(ag, h, GLOCK__AGENT_EV_COMPLETE, 0, 0, h->mode);
}

/* ---- the per-glock state machine ---- */

static bool compatible_with_granted(struct agl *gl, const struct holder *self, enum glock_mode m)
{
	struct holder *h;

	qb_list_for_each_entry(h, &gl->holders, gl_node)
		if (h != self && h->granted && !mode_compat[h->mode][m])
			return false;
	return true;
}

static bool may_grant(const struct glock__agent *ag, struct agl *gl, const struct holder *h)
{
	/* While suspended even the node's cached grant may not be handed out. */
	if (ag->suspended || !covers(gl->cluster, h->want))
		return false;
	if (gl->demote_pending && !covers(gl->demote_target, h->want))
		return false;
	return compatible_with_granted(gl, h, h->want);
}

static void stats_request(struct glock__agent *ag, struct agl *gl)
{
	uint64_t now = now_us(ag);

	if (gl->last_req_us)
		glock__agent_stats_update(&gl->sirt, &gl->sirtvar,
					  (int64_t)(now - gl->last_req_us) * 1000);
	gl->last_req_us = now;
	gl->dcount++;
}

static void stats_reply(struct glock__agent *ag, struct agl *gl)
{
	int64_t rtt = (int64_t)(now_us(ag) - gl->req_sent_us) * 1000;

	if (gl->req_blocking)
		glock__agent_stats_update(&gl->srttb, &gl->srttvarb, rtt);
	else
		glock__agent_stats_update(&gl->srtt, &gl->srttvar, rtt);
}

static int submit(struct glock__agent *ag, struct agl *gl, struct glock_op *op)
{
	int err;

	op->node = 0; /* the cluster side fills in the local node */
	op->name = gl->name;
	err = ag->ops.submit(ag->ctx, op);
	if (!err)
		stats_request(ag, gl);
	return err;
}

/* Sends the one LOCK/CONVERT for the head waiter h. */
static void request(struct glock__agent *ag, struct agl *gl, struct holder *h)
{
	struct glock_op op = {
		.kind = gl->cluster == GLOCK_MODE_UN ? GLOCK_OP_LOCK : GLOCK_OP_CONVERT,
		.mode = h->want,
		.flags = h->flags,
	};
	int err;

	op.req_id = ag->ops.next_req_id(ag->ctx);
	err = submit(ag, gl, &op);
	if (err == -EAGAIN && !(h->flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB))) {
		retry_add(ag, gl);
		return;
	}
	if (err == -ENOTCONN && !(h->flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB)))
		return; /* not synced: SYNCED asks again */
	if (err) {
		waiter_fail(ag, h, err, 0);
		return;
	}
	gl->req_pending = true;
	gl->req_kind = op.kind;
	gl->req_mode = op.mode;
	gl->req_id = op.req_id;
	gl->req_sent_us = now_us(ag);
	gl->req_blocking = !(op.flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB));
	gl->cancel_sent = false;
	gl->req_owner = h;
}

static void cancel_request(struct glock__agent *ag, struct agl *gl)
{
	struct glock_op op = { .kind = GLOCK_OP_CANCEL };

	/* A down-conversion (req_mode == cluster) is never withdrawn. */
	if (!gl->req_pending || gl->cancel_sent ||
	    (gl->req_kind != GLOCK_OP_LOCK &&
	     !(gl->req_kind == GLOCK_OP_CONVERT && gl->req_mode != gl->cluster)))
		return;
	op.req_id = gl->req_id;
	/* -EAGAIN/-ENOTCONN: the grant, if it comes, is simply cached. */
	if (!submit(ag, gl, &op))
		gl->cancel_sent = true;
}

/* Honours a pending demote if the local holders allow it. */
static void demote(struct glock__agent *ag, struct agl *gl)
{
	enum glock_mode target = gl->demote_target;
	struct glock_op op = { 0 };
	struct holder *h;
	bool blocked = false;
	int err;

	if (covers(target, gl->cluster)) {
		gl->demote_pending = false;
		return;
	}
	if (gl->req_pending) {
		/* An up-conversion cannot finish while we are asked to go down. */
		if (gl->req_kind == GLOCK_OP_CONVERT && gl->req_mode != target)
			cancel_request(ag, gl);
		return;
	}
	qb_list_for_each_entry(h, &gl->holders, gl_node) {
		if (!h->granted || covers(target, h->mode))
			continue;
		/*
		 * Problem scenario: nodes A and B hold SH and both convert to
		 * EX.  A's conversion reaches the cluster and demotes B; B's
		 * holder waits for its conversion, the demote waits for B's
		 * holder.  As the DLM does, the conversion fails (DEADLOCK):
		 * the client unlocks and locks again.
		 */
		if (h->waiting)
			waiter_fail(ag, h, 0, GLOCK_DENY_DEADLOCK);
		blocked = true;
		if (!h->demote_told) {
			h->demote_told = true;
			send_event(ag, h, GLOCK__AGENT_EV_DEMOTE, 0, 0, target);
		}
	}
	if (blocked)
		return;
	op.kind = target == GLOCK_MODE_UN ? GLOCK_OP_RELEASE : GLOCK_OP_CONVERT;
	op.mode = target;
	if (gl->cluster == GLOCK_MODE_EX && gl->lvb_dirty) {
		op.lvb_valid = true;
		memcpy(op.lvb, gl->lvb, GLOCK_LVB_LEN);
	}
	if (op.kind == GLOCK_OP_CONVERT)
		op.req_id = ag->ops.next_req_id(ag->ctx);
	err = submit(ag, gl, &op);
	if (err == -EAGAIN) {
		retry_add(ag, gl);
		return;
	}
	gl->demote_pending = false;
	if (err)
		return; /* -ENOTCONN: the table is going; UNSYNCED resets us */
	gl->lvb_dirty = false;
	gl->cluster = target;
	if (op.kind == GLOCK_OP_CONVERT) {
		gl->req_pending = true;
		gl->req_kind = GLOCK_OP_CONVERT;
		gl->req_mode = target;
		gl->req_id = op.req_id;
		gl->req_sent_us = now_us(ag);
		gl->req_blocking = false;
		gl->cancel_sent = false;
		gl->req_owner = NULL;
	}
}

static void release_idle(struct glock__agent *ag, struct agl *gl)
{
	struct glock_op op = { .kind = GLOCK_OP_RELEASE };

	if (gl->cluster == GLOCK_MODE_EX && gl->lvb_dirty) {
		op.lvb_valid = true;
		memcpy(op.lvb, gl->lvb, GLOCK_LVB_LEN);
	}
	if (submit(ag, gl, &op) == -EAGAIN)
		return;
	gl->cluster = GLOCK_MODE_UN;
	gl->lvb_dirty = false;
}

static void process(struct glock__agent *ag, struct agl *gl)
{
	struct holder *h;

	while (!qb_list_empty(&gl->waiters)) {
		h = qb_list_first_entry(&gl->waiters, struct holder, wait_node);
		if (!may_grant(ag, gl, h))
			break;
		waiter_grant(ag, h);
	}
	if (gl->demote_pending)
		demote(ag, gl);
	/* Suspended: QUORATE runs process() again on every glock. */
	if (ag->suspended || gl->demote_pending || gl->req_pending || qb_list_empty(&gl->waiters))
		return;
	h = qb_list_first_entry(&gl->waiters, struct holder, wait_node);
	/* Ask the cluster only once the local holders would allow it. */
	if (!compatible_with_granted(gl, h, h->want))
		return;
	retry_del(gl);
	request(ag, gl, h);
}

/* After any change: free an unused glock, or park a cached one on the LRU. */
static void settle(struct glock__agent *ag, struct agl *gl)
{
	struct agl *old;

	if (agl_busy(gl)) {
		lru_del(ag, gl);
		return;
	}
	if (gl->cluster == GLOCK_MODE_UN) {
		agl_destroy(ag, gl);
		return;
	}
	if (!gl->in_lru) {
		qb_list_add_tail(&gl->lru_node, &ag->lru);
		gl->in_lru = true;
		ag->n_lru++;
	}
	while (ag->n_lru > ag->lru_max) {
		old = qb_list_first_entry(&ag->lru, struct agl, lru_node);
		release_idle(ag, old);
		if (old->cluster != GLOCK_MODE_UN)
			break; /* -EAGAIN: later */
		agl_destroy(ag, old);
	}
}

static void rearm(struct glock__agent *ag)
{
	uint64_t when = ag->retry_at;
	struct holder *h;

	if (!qb_list_empty(&ag->timeouts)) {
		h = qb_list_first_entry(&ag->timeouts, struct holder, timer_node);
		if (!when || h->deadline_us < when)
			when = h->deadline_us;
	}
	if (when != ag->armed_at) {
		ag->armed_at = when;
		ag->ops.arm_timer(ag->ctx, when);
	}
}

static void finish(struct glock__agent *ag, struct agl *gl)
{
	if (gl)
		settle(ag, gl);
	rearm(ag);
}

/* ---- life cycle ---- */

struct glock__agent *glock__agent_new(const struct glock__agent_ops *ops, void *ctx)
{
	struct glock__agent *ag;

	if (!ops || !ops->submit || !ops->next_req_id || !ops->now_us || !ops->arm_timer ||
	    !ops->event)
		return NULL;
	ag = calloc(1, sizeof(*ag));
	if (!ag)
		return NULL;
	ag->glocks = qb_hashtable_create(AGENT_HASH_SIZE);
	if (!ag->glocks) {
		free(ag);
		return NULL;
	}
	ag->ops = *ops;
	ag->ctx = ctx;
	ag->lru_max = GLOCK__AGENT_LRU_MAX;
	ag->next_handle = 1;
	qb_list_init(&ag->clients);
	qb_list_init(&ag->timeouts);
	qb_list_init(&ag->lru);
	qb_list_init(&ag->retry);
	return ag;
}

void glock__agent_set_lru_max(struct glock__agent *ag, size_t lru_max)
{
	ag->lru_max = lru_max;
}

size_t glock__agent_release_cached(struct glock__agent *ag)
{
	struct agl *gl, *next;
	size_t n = 0;

	ag->lru_max = 0; /* and nothing is cached from now on */
	qb_list_for_each_entry_safe(gl, next, &ag->lru, lru_node) {
		release_idle(ag, gl);
		if (gl->cluster != GLOCK_MODE_UN)
			continue; /* -EAGAIN: the next call tries again */
		agl_destroy(ag, gl);
		n++;
	}
	return n;
}

static void for_all(struct glock__agent *ag, void (*fn)(struct glock__agent *, struct agl *));

void glock__agent_free(struct glock__agent *ag)
{
	struct glock__agent_client *cl, *cln;
	struct holder *h, *hn;

	if (!ag)
		return;
	qb_list_for_each_entry_safe(cl, cln, &ag->clients, list) {
		qb_list_for_each_entry_safe(h, hn, &cl->holders, cl_node)
			holder_free(h);
		qb_list_del(&cl->list);
		free(cl);
	}
	for_all(ag, agl_destroy);
	qb_map_destroy(ag->glocks);
	free(ag);
}

struct glock__agent_client *glock__agent_client_new(struct glock__agent *ag, void *owner,
						    uint32_t pid)
{
	struct glock__agent_client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->owner = owner;
	cl->pid = pid;
	qb_list_init(&cl->holders);
	qb_list_add_tail(&cl->list, &ag->clients);
	return cl;
}

void glock__agent_client_free(struct glock__agent *ag, struct glock__agent_client *cl)
{
	struct holder *h;
	struct agl *gl;

	if (!cl)
		return;
	while (!qb_list_empty(&cl->holders)) {
		h = qb_list_first_entry(&cl->holders, struct holder, cl_node);
		gl = h->gl;
		if (gl->req_owner == h && !h->granted)
			gl->req_owner = NULL;
		holder_free(h);
		if (gl->req_pending && qb_list_empty(&gl->waiters))
			cancel_request(ag, gl);
		process(ag, gl);
		settle(ag, gl);
	}
	qb_list_del(&cl->list);
	free(cl);
	rearm(ag);
}

/* ---- local requests ---- */

static bool name_ok(const struct glock_name *name)
{
	return name && glock_name_valid(name);
}

static void reply_fill(struct glock__agent_reply *rep, const struct holder *h, bool pending,
		       enum glock_deny_reason reason)
{
	memset(rep, 0, sizeof(*rep));
	rep->pending = pending;
	rep->reason = reason;
	rep->handle = h->handle;
	rep->mode = h->mode;
	if (!pending && !reason)
		memcpy(rep->lvb, h->gl->lvb, GLOCK_LVB_LEN);
}

/*
 * Runs h's request through the queue with h as the one whose answer is the
 * reply: granted now, refused now (ag->reply_*), or left pending.
 */
static void run_request(struct glock__agent *ag, struct holder *h, uint32_t timeout_ms)
{
	struct agl *gl = h->gl;
	bool try = h->flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB);
	bool head;

	gl->qcount++;
	h->req_start_us = now_us(ag);
	h->req_op = h->granted ? GLOCK__METRICS_CONVERT : GLOCK__METRICS_LOCK;
	wait_add(h);
	head = qb_list_first_entry(&gl->waiters, struct holder, wait_node) == h;
	ag->replying = h;
	ag->reply_err = 0;
	ag->reply_reason = 0;
	if (try && (!head || ag->suspended || !compatible_with_granted(gl, h, h->want) ||
		    (gl->demote_pending && !covers(gl->demote_target, h->want))))
		waiter_fail(ag, h, 0, GLOCK_DENY_TRYFAIL); /* TRY never queues locally */
	else
		process(ag, gl);
	ag->replying = NULL;
	if (h->waiting)
		timer_add(ag, h, timeout_ms);
}

static struct holder *holder_new(struct glock__agent *ag, struct glock__agent_client *cl,
				 struct agl *gl)
{
	struct holder *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->gl = gl;
	h->cl = cl;
	h->handle = ag->next_handle++;
	qb_list_init(&h->wait_node);
	qb_list_init(&h->timer_node);
	qb_list_add_tail(&h->gl_node, &gl->holders);
	qb_list_add_tail(&h->cl_node, &cl->holders);
	return h;
}

static int agent_lock(struct glock__agent *ag, struct glock__agent_client *cl,
		      const struct glock_name *name, enum glock_mode mode, uint32_t flags,
		      uint32_t timeout_ms, uint64_t client_ref, struct glock__agent_reply *rep)
{
	struct agl *gl;
	struct holder *h;
	int err = 0;

	if (!cl || !rep || !name_ok(name) || !mode_valid(mode) || mode == GLOCK_MODE_UN ||
	    (flags & ~GLOCK_FLAGS_ALL))
		return -EINVAL;
	gl = agl_get(ag, name);
	if (!gl)
		return -ENOMEM;
	h = holder_new(ag, cl, gl);
	if (!h) {
		finish(ag, gl);
		return -ENOMEM;
	}
	h->client_ref = client_ref;
	h->want = mode;
	h->flags = flags;
	lru_del(ag, gl);

	/* The cached path: no queue, no network. */
	if (qb_list_empty(&gl->waiters) && may_grant(ag, gl, h)) {
		gl->qcount++;
		glock__metrics_observe(&ag->metrics, GLOCK__METRICS_LOCK, GLOCK__METRICS_GRANTED, 0);
		ag->metrics.cache_hits++;
		h->granted = true;
		h->mode = mode;
		gl->n_granted++;
		reply_fill(rep, h, false, 0);
		return 0;
	}
	run_request(ag, h, timeout_ms);
	if (h->waiting) {
		reply_fill(rep, h, true, 0);
	} else if (h->granted) {
		reply_fill(rep, h, false, 0);
	} else {
		err = ag->reply_err;
		if (!err)
			reply_fill(rep, h, false, ag->reply_reason);
		holder_free(h);
		process(ag, gl);
	}
	finish(ag, gl);
	return err;
}

static int agent_convert(struct glock__agent *ag, struct glock__agent_client *cl,
			 const struct glock_name *name, uint64_t handle, enum glock_mode mode,
			 uint32_t flags, uint32_t timeout_ms, uint64_t client_ref,
			 const uint8_t *lvb, struct glock__agent_reply *rep)
{
	struct agl *gl;
	struct holder *h;
	int err = 0;

	if (!cl || !rep || !name_ok(name) || !mode_valid(mode) || mode == GLOCK_MODE_UN ||
	    (flags & ~GLOCK_FLAGS_ALL))
		return -EINVAL;
	h = holder_find(ag, cl, name, handle);
	if (!h)
		return -ENOENT;
	gl = h->gl;
	if (h->waiting)
		return -EBUSY;
	if (h->mode == mode)
		return -EALREADY;
	if (holder_put_lvb(h, lvb))
		return -EINVAL;
	h->client_ref = client_ref;
	h->flags = flags;
	h->want = mode;
	/* Down from EX never waits; anything else the cache covers needs nobody. */
	if (covers(h->mode, mode) ||
	    (qb_list_empty(&gl->waiters) && may_grant(ag, gl, h))) {
		gl->qcount++;
		glock__metrics_observe(&ag->metrics, GLOCK__METRICS_CONVERT, GLOCK__METRICS_GRANTED, 0);
		ag->metrics.cache_hits++;
		h->mode = mode;
		h->demote_told = false;
		reply_fill(rep, h, false, 0);
		process(ag, gl);
		finish(ag, gl);
		return 0;
	}
	run_request(ag, h, timeout_ms);
	if (h->waiting) {
		reply_fill(rep, h, true, 0);
	} else if (h->mode == mode) {
		reply_fill(rep, h, false, 0);
	} else {
		err = ag->reply_err;
		if (!err)
			reply_fill(rep, h, false, ag->reply_reason);
		process(ag, gl);
	}
	finish(ag, gl);
	return err;
}

static int agent_unlock(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle, const uint8_t *lvb)
{
	struct agl *gl;
	struct holder *h;

	if (!name_ok(name))
		return -EINVAL;
	h = holder_find(ag, cl, name, handle);
	if (!h)
		return -ENOENT;
	gl = h->gl;
	if (h->waiting)
		return -EBUSY;
	if (holder_put_lvb(h, lvb))
		return -EINVAL;
	holder_free(h);
	process(ag, gl);
	finish(ag, gl);
	return 0;
}

/* A waiter gives up (cancel, timeout): withdraw the cluster request if nobody else needs it. */
static void waiter_withdraw(struct glock__agent *ag, struct holder *h, int err,
			    enum glock_deny_reason reason)
{
	struct agl *gl = h->gl;

	waiter_fail(ag, h, err, reason);
	if (gl->req_pending && !gl->cancel_sent) {
		struct holder *w;
		bool needed = false;

		/* Still useful if a remaining waiter is covered by what was asked. */
		qb_list_for_each_entry(w, &gl->waiters, wait_node)
			if (covers(gl->req_mode, w->want))
				needed = true;
		if (!needed)
			cancel_request(ag, gl);
	}
	process(ag, gl);
}

static int agent_cancel(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle)
{
	struct agl *gl;
	struct holder *h;

	if (!name_ok(name))
		return -EINVAL;
	h = holder_find(ag, cl, name, handle);
	if (!h)
		return -ENOENT;
	gl = h->gl;
	if (!h->waiting)
		return -EALREADY;
	waiter_withdraw(ag, h, 0, GLOCK_DENY_CANCELLED);
	finish(ag, gl);
	return 0;
}

/*
 * The entry points count every request in ag->metrics: a request refused
 * with -errno here, the others where they end (waiter_grant, waiter_fail,
 * the cached paths).
 */
static int count_refused(struct glock__agent *ag, enum glock__metrics_op op, int err)
{
	if (err < 0)
		glock__metrics_observe(&ag->metrics, op, glock__metrics_outcome_of(err, 0), 0);
	return err;
}

int glock__agent_lock(struct glock__agent *ag, struct glock__agent_client *cl,
		      const struct glock_name *name, enum glock_mode mode, uint32_t flags,
		      uint32_t timeout_ms, uint64_t client_ref, struct glock__agent_reply *rep)
{
	return count_refused(ag, GLOCK__METRICS_LOCK,
			     agent_lock(ag, cl, name, mode, flags, timeout_ms, client_ref, rep));
}

int glock__agent_convert(struct glock__agent *ag, struct glock__agent_client *cl,
			 const struct glock_name *name, uint64_t handle, enum glock_mode mode,
			 uint32_t flags, uint32_t timeout_ms, uint64_t client_ref,
			 const uint8_t *lvb, struct glock__agent_reply *rep)
{
	return count_refused(ag, GLOCK__METRICS_CONVERT,
			     agent_convert(ag, cl, name, handle, mode, flags, timeout_ms,
					   client_ref, lvb, rep));
}

int glock__agent_unlock(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle, const uint8_t *lvb)
{
	int err = agent_unlock(ag, cl, name, handle, lvb);

	if (!err)
		glock__metrics_observe(&ag->metrics, GLOCK__METRICS_UNLOCK, GLOCK__METRICS_GRANTED, 0);
	return count_refused(ag, GLOCK__METRICS_UNLOCK, err);
}

int glock__agent_cancel(struct glock__agent *ag, struct glock__agent_client *cl,
			const struct glock_name *name, uint64_t handle)
{
	int err = agent_cancel(ag, cl, name, handle);

	if (!err)
		glock__metrics_observe(&ag->metrics, GLOCK__METRICS_CANCEL, GLOCK__METRICS_GRANTED, 0);
	return count_refused(ag, GLOCK__METRICS_CANCEL, err);
}

/* ---- from the cluster ---- */

static void on_grant(struct glock__agent *ag, const struct glock_output *out)
{
	struct agl *gl = agl_find(ag, out->name);

	if (!gl) {
		/* A grant we no longer want (its waiters went): cache it. */
		gl = agl_get(ag, out->name);
		if (!gl)
			return;
	} else if (gl->req_pending && gl->req_id == out->req_id) {
		stats_reply(ag, gl);
		gl->req_pending = false;
		gl->req_owner = NULL;
	}
	gl->cluster = out->mode;
	if (out->lvb)
		memcpy(gl->lvb, out->lvb, GLOCK_LVB_LEN);
	gl->lvb_dirty = false;
	process(ag, gl);
	finish(ag, gl);
}

static void on_deny(struct glock__agent *ag, const struct glock_output *out)
{
	struct agl *gl = agl_find(ag, out->name);
	struct holder *owner;

	if (!gl || !gl->req_pending || gl->req_id != out->req_id)
		return;
	stats_reply(ag, gl);
	owner = gl->req_owner;
	gl->req_pending = false;
	gl->req_owner = NULL;
	switch (out->reason) {
	case GLOCK_DENY_TRYFAIL:
	case GLOCK_DENY_DEADLOCK:
		if (owner && owner->waiting)
			waiter_fail(ag, owner, 0, out->reason);
		break;
	case GLOCK_DENY_CANCELLED: /* the waiter that wanted it is gone, or a demote came */
	case GLOCK_DENY_LOST:      /* waiters ask again once SYNCED */
	default:
		break;
	}
	process(ag, gl);
	finish(ag, gl);
}

static void on_demote(struct glock__agent *ag, const struct glock_output *out)
{
	struct agl *gl = agl_find(ag, out->name);
	struct glock_op op = { .kind = GLOCK_OP_RELEASE };

	ag->metrics.demotes++;
	if (!gl) {
		/* The cluster thinks we hold it and we know nothing: give it back. */
		op.name = *out->name;
		(void)ag->ops.submit(ag->ctx, &op);
		return;
	}
	gl->demotes++;
	if (gl->demote_pending && gl->demote_target != out->mode)
		gl->demote_target = GLOCK_MODE_UN;
	else
		gl->demote_target = out->mode;
	gl->demote_pending = true;
	lru_del(ag, gl);
	process(ag, gl);
	finish(ag, gl);
}

/* Every holder is told LOST and goes; `waiters_too` answers the waiters LOST as well. */
static void lose(struct glock__agent *ag, struct agl *gl, bool waiters_too)
{
	struct holder *h, *hn;

	qb_list_for_each_entry_safe(h, hn, &gl->holders, gl_node) {
		if (h->granted) {
			send_event(ag, h, GLOCK__AGENT_EV_LOST, 0, 0, h->mode);
			holder_free(h);
		} else if (waiters_too) {
			waiter_fail(ag, h, 0, GLOCK_DENY_LOST);
		}
	}
	gl->cluster = GLOCK_MODE_UN;
	gl->lvb_dirty = false;
	gl->demote_pending = false;
}

static void on_lost(struct glock__agent *ag, const struct glock_output *out)
{
	struct agl *gl = agl_find(ag, out->name);

	if (!gl)
		return;
	lose(ag, gl, true);
	process(ag, gl);
	finish(ag, gl);
}

/* Applies fn to every glock; fn may destroy the glock it is given. */
static void for_all(struct glock__agent *ag, void (*fn)(struct glock__agent *, struct agl *))
{
	struct agl **v;
	qb_map_iter_t *it;
	void *p;
	size_t n = 0, i, cap = ag->n_glocks;

	if (!cap)
		return;
	v = calloc(cap, sizeof(*v));
	it = v ? qb_map_iter_create(ag->glocks) : NULL;
	if (!it) {
		free(v);
		return;
	}
	/*
	 * Iterate to the end: libqb 2.0.6's hashtable iterator, freed
	 * mid-way, keeps a reference on its node, which then leaks when
	 * removed (seen with valgrind).
	 */
	while (qb_map_iter_next(it, &p))
		if (n < cap)
			v[n++] = p;
	qb_map_iter_free(it);
	for (i = 0; i < n; i++)
		fn(ag, v[i]);
	free(v);
}

static void reset_one(struct glock__agent *ag, struct agl *gl)
{
	lose(ag, gl, false);
	gl->req_pending = false;
	gl->req_owner = NULL;
	gl->cancel_sent = false;
	retry_del(gl);
	settle(ag, gl);
}

static void resubmit_one(struct glock__agent *ag, struct agl *gl)
{
	process(ag, gl);
	settle(ag, gl);
}

void glock__agent_cluster_lost(struct glock__agent *ag)
{
	for_all(ag, reset_one);
	rearm(ag);
}

void glock__agent_on_output(struct glock__agent *ag, const struct glock_output *out)
{
	switch (out->kind) {
	case GLOCK_OUT_GRANT:
		on_grant(ag, out);
		break;
	case GLOCK_OUT_DENY:
		on_deny(ag, out);
		break;
	case GLOCK_OUT_DEMOTE:
		on_demote(ag, out);
		break;
	case GLOCK_OUT_LOST:
		on_lost(ag, out);
		break;
	case GLOCK_OUT_UNSYNCED:
		glock__agent_cluster_lost(ag);
		break;
	case GLOCK_OUT_SYNCED:
		for_all(ag, resubmit_one);
		rearm(ag);
		break;
	case GLOCK_OUT_INQUORATE:
		ag->suspended = true;
		break;
	case GLOCK_OUT_QUORATE:
		ag->suspended = false;
		for_all(ag, process);
		break;
	default:
		break; /* SEND_SNAPSHOT, NEED_FENCE: the cluster side's */
	}
}

void glock__agent_on_op_error(struct glock__agent *ag, const struct glock_op *op, int err)
{
	struct agl *gl = agl_find(ag, &op->name);
	struct holder *owner;

	if (!gl || err == -EEXIST)
		return; /* -EEXIST: a resend of a request already queued: its answer comes */
	if ((op->kind == GLOCK_OP_LOCK || op->kind == GLOCK_OP_CONVERT) && gl->req_pending &&
	    gl->req_id == op->req_id) {
		owner = gl->req_owner;
		gl->req_pending = false;
		gl->req_owner = NULL;
		if (err == -EALREADY)
			gl->cluster = op->mode; /* we held it already */
		else if (owner && owner->waiting)
			waiter_fail(ag, owner, err, 0);
		process(ag, gl);
		finish(ag, gl);
	}
	/* RELEASE -ENOENT, CANCEL -ENOENT: already gone or already answered. */
}

void glock__agent_timer(struct glock__agent *ag)
{
	uint64_t now = now_us(ag);
	struct holder *h;
	struct agl *gl;

	ag->armed_at = 0;
	while (!qb_list_empty(&ag->timeouts)) {
		h = qb_list_first_entry(&ag->timeouts, struct holder, timer_node);
		if (h->deadline_us > now)
			break;
		gl = h->gl;
		waiter_withdraw(ag, h, -ETIMEDOUT, 0);
		settle(ag, gl);
	}
	if (ag->retry_at && ag->retry_at <= now) {
		struct qb_list_head todo;

		ag->retry_at = 0;
		qb_list_init(&todo);
		qb_list_splice(&ag->retry, &todo);
		qb_list_init(&ag->retry);
		while (!qb_list_empty(&todo)) {
			gl = qb_list_first_entry(&todo, struct agl, retry_node);
			qb_list_del(&gl->retry_node);
			qb_list_init(&gl->retry_node);
			gl->in_retry = false;
			process(ag, gl);
			settle(ag, gl);
		}
	}
	rearm(ag);
}

/* ---- introspection ---- */

static int info_call(struct agl *gl, glock__agent_info_fn fn, void *ctx)
{
	struct glock__agent_glock_info info = {
		.name = &gl->name, .cached = gl->cluster, .request_pending = gl->req_pending,
		.demote_pending = gl->demote_pending, .demote_target = gl->demote_target,
		.srtt = gl->srtt, .srttvar = gl->srttvar, .srttb = gl->srttb,
		.srttvarb = gl->srttvarb, .sirt = gl->sirt, .sirtvar = gl->sirtvar,
		.dcount = gl->dcount, .qcount = gl->qcount, .demotes = gl->demotes,
	};
	struct glock__agent_local *v = NULL;
	struct holder *h;
	size_t n = 0;
	int ret;

	qb_list_for_each_entry(h, &gl->holders, gl_node)
		n++;
	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	n = 0;
	qb_list_for_each_entry(h, &gl->holders, gl_node) {
		v[n].handle = h->handle;
		v[n].mode = h->mode;
		v[n].want = h->want;
		v[n].waiting = h->waiting;
		v[n].demote_told = h->demote_told;
		v[n].pid = h->cl->pid;
		n++;
	}
	info.n_local = n;
	info.local = v;
	ret = fn(ctx, &info);
	free(v);
	return ret;
}

int glock__agent_lookup(struct glock__agent *ag, const struct glock_name *name,
			glock__agent_info_fn fn, void *ctx)
{
	struct agl *gl = agl_find(ag, name);

	if (!gl)
		return -ENOENT;
	return info_call(gl, fn, ctx);
}

int glock__agent_foreach(struct glock__agent *ag, glock__agent_info_fn fn, void *ctx)
{
	qb_map_iter_t *it = qb_map_iter_create(ag->glocks);
	void *p;
	int ret = 0;

	if (!it)
		return -ENOMEM;
	while (qb_map_iter_next(it, &p)) /* to the end: see for_all() */
		if (!ret)
			ret = info_call(p, fn, ctx);
	qb_map_iter_free(it);
	return ret;
}

void glock__agent_counts(struct glock__agent *ag, struct glock__agent_counts *out)
{
	struct glock__agent_client *cl;
	struct holder *h;

	memset(out, 0, sizeof(*out));
	out->glocks = ag->n_glocks;
	out->cached = ag->n_lru;
	qb_list_for_each_entry(cl, &ag->clients, list) {
		out->clients++;
		qb_list_for_each_entry(h, &cl->holders, cl_node) {
			if (h->granted)
				out->holders++;
			if (h->waiting)
				out->waiters++;
		}
	}
}

const struct glock__metrics *glock__agent_metrics(const struct glock__agent *ag)
{
	return &ag->metrics;
}
