// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lockpath.c: the p2p lock path adapter (see lockpath.h, DESIGN §9).
 *
 *   p2p      daemon/engine/p2p.c: every input goes through lp_apply(),
 *            which then flushes what the p2p asked for: link sends (one
 *            payload per peer per input), REPORTs for CPG, link resets.
 *   links    daemon/links.c: one authenticated TCP connection per peer,
 *            peers from corosync's nodelist (cmap) and link_port.
 *   agent    answers for local clients are queued and handed over from a
 *            loop job (lockpath.h says why).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <corosync/cmap.h>
#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "config.h"
#include "link_peers.h"
#include "links.h"
#include "lockpath.h"
#include "log.h"
#include "p2p_codec.h"

#define LINK_BATCH_MAX 512  /* messages per link payload (~70 KiB at most) */
#define REPORT_BATCH_MAX 256 /* REPORTs per CPG message */

struct out_batch {
	uint32_t node;
	struct glock_p2p_msg *v;
	size_t n, cap;
};

/* A local answer or an op error, kept until defer_timer hands it over. */
struct deferred {
	bool is_error;
	bool is_plock;
	struct glock_plock_answer plock;
	struct glock_output out;
	struct glock_name name;
	uint8_t lvb[GLOCK_LVB_LEN];
	struct glock_op op;
	int err;
};

struct glockd_lockpath {
	struct glockd *gd;
	const struct glockd_lockpath_ops *ops; /* main.c's wiring */
	struct glock_p2p *p2p;
	struct glock_links *links;
	struct glock_link_peer peers[GLOCK_LINK_PEERS_MAX];
	size_t n_peers;

	struct out_batch out[GLOCK_LINK_PEERS_MAX];
	size_t n_out;
	struct glock_p2p_msg *reports;
	uint32_t *report_to;
	size_t n_reports, cap_reports;
	uint32_t resets[GLOCK_NODES_MAX];
	size_t n_resets;
	bool applying;
	bool resetting; /* lp_apply is taking links down (see there) */

	struct deferred *defer;
	size_t n_defer, cap_defer;
	bool job_armed; /* defer_timer is set */
	qb_loop_timer_handle defer_timer;

	bool ready_told;
	uint64_t bad_payloads, bad_msgs, refused_msgs, send_failures;
	struct log_ratelimit rl_bad, rl_send;
};

static struct glockd_lockpath *lp_of(struct glockd *gd)
{
	return gd->lockpath;
}

/* ---- deferred answers to the agent ---- */

static void defer_job(void *data)
{
	struct glockd_lockpath *lp = data;
	size_t i;

	lp->job_armed = false;
	/* Handing one over may submit again and queue more: take turns. */
	for (i = 0; i < lp->n_defer; i++) {
		struct deferred d = lp->defer[i];

		if (d.is_error) {
			lp->ops->op_error(lp->gd, &d.op, d.err);
			continue;
		}
		if (d.is_plock) {
			lp->ops->plock_answer(lp->gd, &d.plock);
			continue;
		}
		d.out.name = &d.name;
		d.out.lvb = d.out.kind == GLOCK_OUT_GRANT ? d.lvb : NULL;
		lp->ops->output(lp->gd, &d.out);
	}
	lp->n_defer = 0;
	lp->ops->due_changed(lp->gd);
}

static struct deferred *defer_push(struct glockd_lockpath *lp)
{
	if (lp->n_defer == lp->cap_defer) {
		size_t cap = lp->cap_defer ? lp->cap_defer * 2 : 64;
		struct deferred *v = realloc(lp->defer, cap * sizeof(*v));

		if (!v)
			return NULL;
		lp->defer = v;
		lp->cap_defer = cap;
	}
	/*
	 * A zero-delay timer, not a loop job: libqb does not run a job added
	 * from a dispatch before it sleeps (cluster.c's sendq_kick() says
	 * more); a job made every local grant wait ~50 ms.
	 */
	if (!lp->job_armed &&
	    qb_loop_timer_add(lp->gd->loop, QB_LOOP_HIGH, 0, lp, defer_job, &lp->defer_timer) == 0)
		lp->job_armed = true;
	return &lp->defer[lp->n_defer++];
}

static void defer_output(struct glockd_lockpath *lp, const struct glock_output *out)
{
	struct deferred *d = defer_push(lp);

	if (!d) {
		log_err("out of memory: an answer for a local client is lost");
		return;
	}
	memset(d, 0, sizeof(*d));
	d->out = *out;
	if (out->name)
		d->name = *out->name;
	if (out->lvb)
		memcpy(d->lvb, out->lvb, GLOCK_LVB_LEN);
}

static void defer_plock(struct glockd_lockpath *lp, const struct glock_plock_answer *ans)
{
	struct deferred *d = defer_push(lp);

	if (!d) {
		log_err("out of memory: the answer to POSIX lock request %llu is lost",
			(unsigned long long)ans->req_id);
		return;
	}
	memset(d, 0, sizeof(*d));
	d->is_plock = true;
	d->plock = *ans;
}

static void defer_error(struct glockd_lockpath *lp, const struct glock_op *op, int err)
{
	struct deferred *d = defer_push(lp);

	if (!d) {
		log_err("out of memory: an answer for a local client is lost");
		return;
	}
	memset(d, 0, sizeof(*d));
	d->is_error = true;
	d->op = *op;
	d->err = err;
}

/* ---- what the p2p asks for ---- */

static const char *p2p_kind_str(enum glock_p2p_msg_kind k)
{
	static const char *const names[] = {
		[GLOCK_P2P_LOCK] = "LOCK",       [GLOCK_P2P_CONVERT] = "CONVERT",
		[GLOCK_P2P_RELEASE] = "RELEASE", [GLOCK_P2P_CANCEL] = "CANCEL",
		[GLOCK_P2P_REPORT] = "REPORT",   [GLOCK_P2P_GRANT] = "GRANT",
		[GLOCK_P2P_DENY] = "DENY",       [GLOCK_P2P_DEMOTE] = "DEMOTE",
		[GLOCK_P2P_RELEASED] = "RELEASED",
	};

	return (unsigned int)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "?";
}

/*
 * Debug level, into the blackbox (`glockctl dump --log`): the REPORTs of
 * recovery only; lock traffic itself is not logged, it is the hot path.
 */
static void log_report(const char *dir, uint32_t node, const struct glock_p2p_msg *m)
{
	log_glock(LOG_DEBUG, &m->name, "%s node %u: %s req %llu mode %d gen %llu", dir, node,
		  p2p_kind_str(m->kind), (unsigned long long)m->req_id, (int)m->mode,
		  (unsigned long long)m->gen);
}

static struct out_batch *batch_for(struct glockd_lockpath *lp, uint32_t node)
{
	size_t i;

	for (i = 0; i < lp->n_out; i++)
		if (lp->out[i].node == node)
			return &lp->out[i];
	if (lp->n_out == GLOCK_LINK_PEERS_MAX)
		return NULL;
	lp->out[lp->n_out] = (struct out_batch){ .node = node };
	return &lp->out[lp->n_out++];
}

static void queue_send(struct glockd_lockpath *lp, uint32_t node, const struct glock_p2p_msg *m)
{
	struct out_batch *b = batch_for(lp, node);

	if (b && b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct glock_p2p_msg *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			b = NULL;
		else {
			b->v = v;
			b->cap = cap;
		}
	}
	if (!b) {
		lp->send_failures++;
		return; /* as lost on a reset link: the next report repairs it */
	}
	b->v[b->n++] = *m;
}

static void queue_report(struct glockd_lockpath *lp, uint32_t to, const struct glock_p2p_msg *m)
{
	if (lp->n_reports == lp->cap_reports) {
		size_t cap = lp->cap_reports ? lp->cap_reports * 2 : 64;
		struct glock_p2p_msg *v = realloc(lp->reports, cap * sizeof(*v));
		uint32_t *t = v ? realloc(lp->report_to, cap * sizeof(*t)) : NULL;

		if (v)
			lp->reports = v;
		if (!t) {
			log_err("out of memory: a REPORT for node %u is not sent", to);
			return;
		}
		lp->report_to = t;
		lp->cap_reports = cap;
	}
	lp->reports[lp->n_reports] = *m;
	lp->report_to[lp->n_reports++] = to;
}

static void p2p_output(void *ctx, const struct glock_p2p_output *out)
{
	struct glockd_lockpath *lp = ctx;

	switch (out->kind) {
	case GLOCK_P2P_OUT_LOCAL:
		defer_output(lp, out->local);
		break;
	case GLOCK_P2P_OUT_PLOCK:
		defer_plock(lp, out->plock);
		break;
	case GLOCK_P2P_OUT_SEND:
		queue_send(lp, out->node, out->msg);
		break;
	case GLOCK_P2P_OUT_MULTICAST:
		log_report("cpg to", out->node, out->msg);
		queue_report(lp, out->node, out->msg);
		break;
	case GLOCK_P2P_OUT_LINK_RESET:
		if (lp->n_resets < GLOCK_NODES_MAX)
			lp->resets[lp->n_resets++] = out->node;
		break;
	}
}

/*
 * Breaks the connection to node: links.c takes a peer that is no longer
 * listed down, and connects afresh when it is listed again.  Nothing sent
 * on the old connection arrives after that (DESIGN §9, "Connection resets").
 */
static void link_reset(struct glockd_lockpath *lp, uint32_t node)
{
	struct glock_link_peer without[GLOCK_LINK_PEERS_MAX];
	size_t i, k = 0;

	if (!lp->links)
		return;
	for (i = 0; i < lp->n_peers; i++)
		if (lp->peers[i].nodeid != node)
			without[k++] = lp->peers[i];
	if (k == lp->n_peers)
		return;
	if (glock_links_set_peers(lp->links, without, k) ||
	    glock_links_set_peers(lp->links, lp->peers, lp->n_peers))
		log_node(LOG_ERR, node, "cannot reset the node link");
}

static void flush_sends(struct glockd_lockpath *lp)
{
	size_t i, off;

	for (i = 0; i < lp->n_out; i++) {
		struct out_batch *b = &lp->out[i];

		for (off = 0; off < b->n; off += LINK_BATCH_MAX) {
			size_t k = b->n - off < LINK_BATCH_MAX ? b->n - off : LINK_BATCH_MAX;
			uint8_t *buf;
			size_t len;
			int r = glock_p2p_codec_encode_link(lp->gd->local_node, b->v + off, k,
							    &buf, &len);

			if (!r) {
				r = lp->links ? glock_links_send(lp->links, b->node, buf, len)
					      : -ENOTCONN;
				free(buf);
			}
			if (r == -ENOTCONN || !r)
				continue; /* down: reported again when it is back up */
			/*
			 * Queue full, too big, or not encodable: the messages
			 * are lost on a link that stays up, so take it down;
			 * both ends report again at up (DESIGN §9).
			 */
			lp->send_failures++;
			log_rl(&lp->rl_send, LOG_WARNING,
			       "node %u: %zu link message(s) not sent (%s): resetting the link",
			       b->node, k, strerror(-r));
			if (lp->n_resets < GLOCK_NODES_MAX)
				lp->resets[lp->n_resets++] = b->node;
		}
		b->n = 0;
	}
}

static void flush_reports(struct glockd_lockpath *lp)
{
	size_t off;

	for (off = 0; off < lp->n_reports; off += REPORT_BATCH_MAX) {
		size_t k = lp->n_reports - off;
		uint8_t *buf;
		size_t len;
		int r;

		if (k > REPORT_BATCH_MAX)
			k = REPORT_BATCH_MAX;
		r = glock_p2p_codec_encode_reports(lp->gd->local_node, lp->report_to + off,
						   lp->reports + off, k, &buf, &len);
		if (!r) {
			r = lp->ops->multicast(lp->gd, buf, len);
			free(buf);
		}
		if (r)
			log_err("%zu REPORT(s) not multicast: %s; their glocks wait for the next "
				"configuration", k, strerror(-r));
	}
	lp->n_reports = 0;
}

static int lp_apply(struct glockd_lockpath *lp, const struct glock_p2p_input *in)
{
	int r;
	size_t i;

	lp->applying = true;
	r = glock_p2p_apply(lp->p2p, in);
	lp->applying = false;
	flush_sends(lp);
	flush_reports(lp);
	/*
	 * Resets last: taking a link down calls back into lp_apply() (link
	 * down), whose own resets this loop takes, so links.c's peer list is
	 * never swapped while it drops a peer.
	 */
	if (lp->resetting)
		goto out;
	lp->resetting = true;
	while (lp->n_resets) {
		uint32_t node = lp->resets[--lp->n_resets];

		for (i = 0; i < lp->n_resets; i++)
			if (lp->resets[i] == node)
				break;
		if (i == lp->n_resets)
			link_reset(lp, node);
	}
	lp->resetting = false;
out:
	/* A grant or a demote may have moved the next delayed demote. */
	lp->ops->due_changed(lp->gd);
	return r;
}

/* The p2p's clock, as main.c's tick: CLOCK_MONOTONIC in microseconds. */
static void lp_clock(struct glockd_lockpath *lp)
{
	glockd_lockpath_tick(lp->gd, qb_util_nano_current_get() / 1000u);
}

/* ---- links ---- */

static void link_up(void *data, uint32_t nodeid)
{
	struct glockd_lockpath *lp = data;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_LINK_UP, .u.node.node = nodeid };

	log_node(LOG_INFO, nodeid, "node link up");
	if (lp->p2p)
		(void)lp_apply(lp, &in); /* -ESRCH: not a member (yet) */
}

static void link_down(void *data, uint32_t nodeid, int err)
{
	struct glockd_lockpath *lp = data;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_LINK_DOWN, .u.node.node = nodeid };

	log_node(LOG_INFO, nodeid, "node link down: %s", strerror(-err));
	if (lp->p2p)
		(void)lp_apply(lp, &in);
}

struct link_rx {
	struct glockd_lockpath *lp;
	uint32_t from;
};

static int link_msg(void *ctx, const struct glock_p2p_msg *msg)
{
	struct link_rx *rx = ctx;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	int r;

	in.u.msg.from = rx->from;
	in.u.msg.msg = msg;
	r = lp_apply(rx->lp, &in);
	if (r == -EBADMSG || r == -EPROTO) {
		rx->lp->refused_msgs++;
		log_rl(&rx->lp->rl_bad, LOG_WARNING, "node %u: %s link message refused: %s",
		       rx->from, msg->kind == GLOCK_P2P_REPORT ? "REPORT" : "lock",
		       strerror(-r));
	}
	return 0;
}

static void link_receive(void *data, uint32_t nodeid, const void *payload, size_t len)
{
	struct glockd_lockpath *lp = data;
	struct link_rx rx = { lp, nodeid };
	int r;

	if (!lp->p2p)
		return;
	lp_clock(lp); /* hold times count from now */
	r = glock_p2p_codec_decode_link(payload, len, nodeid, link_msg, &rx, &lp->bad_msgs);
	if (r) {
		lp->bad_payloads++;
		log_rl(&lp->rl_bad, LOG_WARNING, "node %u: unreadable link payload (%zu bytes): %s",
		       nodeid, len, strerror(-r));
	}
}

static const struct glock_links_ops link_ops = {
	.up = link_up,
	.down = link_down,
	.receive = link_receive,
};

static int links_start(struct glockd_lockpath *lp)
{
	struct glockd *gd = lp->gd;
	struct glock_links_config lc = {
		.local_node = gd->local_node, .queue_max_msgs = gd->cfg->link_queue_max,
	};
	cmap_handle_t cmap;
	char err[256];
	int r;

	r = glock_link_wire_init();
	if (r) {
		log_err("node links: libsodium: %s", strerror(-r));
		return r;
	}
	r = glock_link_key_load(gd->cfg->link_key_file, lc.key, err, sizeof(err));
	if (r) {
		log_err("node links: %s", err);
		return r;
	}
	if (cmap_initialize(&cmap) != CS_OK) {
		log_err("node links: cannot read corosync's nodelist (cmap)");
		return -ENOTCONN;
	}
	r = glock_link_peers_from_cmap(cmap, gd->cfg->link_port, lp->peers, GLOCK_LINK_PEERS_MAX,
				       &lp->n_peers, err, sizeof(err));
	cmap_finalize(cmap);
	if (r) {
		log_err("node links: %s", err);
		return r;
	}
	lp->links = glock_links_new(gd->loop, &lc, &link_ops, lp, &r);
	if (!lp->links) {
		log_err("node links: %s", strerror(-r));
		return r;
	}
	memset(lc.key, 0, sizeof(lc.key));
	r = glock_links_set_peers(lp->links, lp->peers, lp->n_peers);
	if (r) {
		log_err("node links: cannot listen on port %u for node %u: %s",
			gd->cfg->link_port, gd->local_node, strerror(-r));
		glock_links_free(lp->links);
		lp->links = NULL;
		return r;
	}
	log_notice("node links: %zu node(s) in the nodelist, listening on port %u",
		   lp->n_peers, gd->cfg->link_port);
	return 0;
}

/*
 * Problem scenario (p2p-sim --stalls --nodes 3-5 --seed 143): master 1 kept
 * a REPORT of node 3 that came after 3 departed; 3's glockd restarted and
 * joined, and the old REPORT was taken as the new glockd's (both started
 * their generations at 0): 1 granted what nobody asked for, and every later
 * waiter starved.  A glockd's lives start at its start time in seconds,
 * above those of a glockd before it on this node (glockd.service restarts
 * one 2 s after a failure) as long as that one did not RESET more often than
 * once a second (each RESET is a loss of quorum, a membership change); a p2p
 * made again in this process starts above the old one's.
 */
static uint32_t first_life(const struct glockd_lockpath *lp)
{
	struct timespec ts;
	uint32_t life = 1;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 0)
		life = (uint32_t)ts.tv_sec;
	if (lp->p2p && glock_p2p_next_life(lp->p2p) > life)
		life = glock_p2p_next_life(lp->p2p);
	return life;
}

/* ---- the seams ---- */

int glockd_lockpath_create(struct glockd *gd, const struct glockd_lockpath_ops *ops)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_engine_config ec;
	int r;

	if (!glockd_config_p2p(gd->cfg))
		return 0;
	if (!lp) {
		lp = calloc(1, sizeof(*lp));
		if (!lp)
			return -ENOMEM;
		lp->gd = gd;
		lp->ops = ops;
		lp->rl_bad = (struct log_ratelimit){ .interval_ms = 10000, .burst = 5 };
		lp->rl_send = (struct log_ratelimit){ .interval_ms = 10000, .burst = 5 };
		gd->lockpath = lp;
	}
	if (!lp->links) {
		r = links_start(lp);
		if (r)
			return r;
	}
	glock_engine_config_defaults(&ec, gd->local_node);
	ec.hold_min_us = gd->cfg->hold_min_us;
	ec.hold_max_us = gd->cfg->hold_max_us;
	ec.hold_incr_us = gd->cfg->hold_incr_us;
	ec.hold_decr_us = gd->cfg->hold_decr_us;
	ec.first_life = first_life(lp);
	glock_p2p_free(lp->p2p);
	lp->p2p = glock_p2p_new(&ec, p2p_output, lp);
	lp->ready_told = false;
	lp->n_defer = 0;
	if (!lp->p2p) {
		log_err("cannot create the p2p lock path for node %u", gd->local_node);
		return -ENOMEM;
	}
	log_info("lock path: p2p (per-glock masters over node links)");
	return 0;
}

void glockd_lockpath_free(struct glockd *gd)
{
	struct glockd_lockpath *lp = lp_of(gd);
	size_t i;

	if (!lp)
		return;
	if (lp->job_armed)
		(void)qb_loop_timer_del(gd->loop, lp->defer_timer);
	/*
	 * The p2p first: freeing the links calls link_down() for every peer,
	 * which must not feed the p2p (its report rounds would be sent on the
	 * links being freed).
	 */
	glock_p2p_free(lp->p2p);
	lp->p2p = NULL;
	glock_links_free(lp->links);
	lp->links = NULL;
	for (i = 0; i < lp->n_out; i++)
		free(lp->out[i].v);
	free(lp->reports);
	free(lp->report_to);
	free(lp->defer);
	free(lp);
	gd->lockpath = NULL;
}

int glockd_lockpath_submit(struct glockd *gd, const struct glock_op *op)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_OP };
	int r;

	if (!lp || !lp->p2p)
		return -ENOTCONN;
	lp_clock(lp); /* a local grant's hold time counts from now */
	in.u.op = *op;
	r = lp_apply(lp, &in);
	if (r == -EAGAIN)
		return -ENOTCONN; /* no configuration yet: SYNCED asks again */
	if (r)
		defer_error(lp, op, r); /* answered as the replicated engine would */
	return 0;
}

int glockd_lockpath_plock(struct glockd *gd, const struct glock_plock_op *op)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_PLOCK };

	if (!lp || !lp->p2p)
		return -ENOLCK; /* lock_path = cpg: DESIGN §9.2 */
	in.u.plock = op;
	return lp_apply(lp, &in);
}

void glockd_lockpath_confchg(struct glockd *gd, const uint32_t *members, size_t n)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_departed_rec dep[GLOCK_NODES_MAX * 4];
	uint32_t departed[GLOCK_NODES_MAX * 4];
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_CONFCHG };
	size_t nd, i;
	int r;

	if (!lp || !lp->p2p)
		return;
	nd = glock_engine_departed(gd->engine, dep, GLOCK_NODES_MAX * 4);
	if (nd > GLOCK_NODES_MAX * 4)
		nd = GLOCK_NODES_MAX * 4;
	for (i = 0; i < nd; i++)
		departed[i] = dep[i].node;
	in.u.confchg.members = members;
	in.u.confchg.n_members = n;
	in.u.confchg.departed = departed;
	in.u.confchg.n_departed = nd;
	in.u.confchg.config_id = glock_engine_config_id(gd->engine); /* it applied the same */
	r = lp_apply(lp, &in);
	if (r)
		log_err("the p2p lock path refused the configuration change: %s", strerror(-r));
	lp->ready_told = false;
	glockd_lockpath_sync(gd);
	/* Fencing state the engine already knows (a joiner learns it by snapshot). */
	for (i = 0; i < nd; i++) {
		struct glock_p2p_input f = { .kind = GLOCK_P2P_IN_FENCED, .u.node.node = dep[i].node };

		if (dep[i].fenced)
			(void)lp_apply(lp, &f);
	}
}

void glockd_lockpath_done(struct glockd *gd, uint32_t node)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_DONE, .u.node.node = node };

	if (lp && lp->p2p)
		(void)lp_apply(lp, &in);
}

void glockd_lockpath_fenced(struct glockd *gd, uint32_t node, bool recovered)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = {
		.kind = recovered ? GLOCK_P2P_IN_RECOVERY_DONE : GLOCK_P2P_IN_FENCED,
		.u.node.node = node,
	};

	if (lp && lp->p2p)
		(void)lp_apply(lp, &in);
}

int glockd_lockpath_report(struct glockd *gd, uint32_t from, uint32_t to,
			   const struct glock_p2p_msg *msg)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	int r;

	if (!lp || !lp->p2p || to != gd->local_node)
		return 0;
	in.u.msg.from = from;
	in.u.msg.msg = msg;
	r = lp_apply(lp, &in);
	if (r == -EBADMSG || r == -EPROTO) {
		lp->refused_msgs++;
		log_rl(&lp->rl_bad, LOG_WARNING, "node %u: REPORT refused: %s", from, strerror(-r));
	}
	return 0;
}

void glockd_lockpath_sync(struct glockd *gd)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_READY };
	bool ready;

	if (!lp || !lp->p2p || !gd->engine)
		return;
	/* Startup fencing: the unknown holders block every master's grants. */
	ready = glock_engine_synced(gd->engine) && glock_engine_quorate(gd->engine) &&
		!glock_engine_startup_fencing(gd->engine);
	if (ready == lp->ready_told)
		return;
	in.u.ready = ready;
	if (lp_apply(lp, &in) == 0)
		lp->ready_told = ready;
}

void glockd_lockpath_reset(struct glockd *gd)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };

	if (!lp || !lp->p2p)
		return;
	(void)lp_apply(lp, &in);
	lp->ready_told = false;
}

void glockd_lockpath_tick(struct glockd *gd, uint64_t now_us)
{
	struct glockd_lockpath *lp = lp_of(gd);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_TICK, .u.now_us = now_us };

	if (lp && lp->p2p && !lp->applying)
		(void)lp_apply(lp, &in);
}

bool glockd_lockpath_next_due(struct glockd *gd, uint64_t *due_us)
{
	struct glockd_lockpath *lp = lp_of(gd);

	return lp && lp->p2p && glock_p2p_next_due(lp->p2p, due_us);
}

void glockd_lockpath_stats(struct glockd *gd, struct glock_p2p_stats *out)
{
	struct glockd_lockpath *lp = lp_of(gd);

	memset(out, 0, sizeof(*out));
	if (lp && lp->p2p)
		glock_p2p_stats(lp->p2p, out);
}

int glockd_lockpath_export(struct glockd *gd, glock_record_fn fn, void *ctx)
{
	struct glockd_lockpath *lp = lp_of(gd);

	return lp && lp->p2p ? glock_p2p_export_mastered(lp->p2p, fn, ctx) : 0;
}

int glockd_lockpath_export_plocks(struct glockd *gd, glock_p2p_plock_fn fn, void *ctx)
{
	struct glockd_lockpath *lp = lp_of(gd);

	return lp && lp->p2p ? glock_p2p_export_plocks(lp->p2p, fn, ctx) : 0;
}

uint32_t glockd_lockpath_master_of(struct glockd *gd, const struct glock_name *name)
{
	struct glockd_lockpath *lp = lp_of(gd);

	return lp && lp->p2p ? glock_p2p_master_of(lp->p2p, name) : GLOCK_NODEID_NONE;
}

void glockd_lockpath_counters(struct glockd *gd, struct glockd_lockpath_counters *out)
{
	struct glockd_lockpath *lp = lp_of(gd);

	memset(out, 0, sizeof(*out));
	if (!lp)
		return;
	out->bad_payloads = lp->bad_payloads;
	out->refused_msgs = lp->refused_msgs;
	out->links_unknown = lp->links ? glock_links_unknown(lp->links) : 0;
}

size_t glockd_lockpath_links(struct glockd *gd, uint32_t *nodes, struct glock_link_counters *links,
			     size_t max)
{
	struct glockd_lockpath *lp = lp_of(gd);
	size_t i, k = 0;

	if (!lp || !lp->links)
		return 0;
	for (i = 0; i < lp->n_peers && k < max; i++) {
		if (lp->peers[i].nodeid == gd->local_node)
			continue;
		if (glock_links_counters(lp->links, lp->peers[i].nodeid, &links[k]))
			continue;
		nodes[k++] = lp->peers[i].nodeid;
	}
	return k;
}
