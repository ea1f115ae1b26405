// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * glock-sim: N replicated engines over a simulated total-order bus.
 *
 * Each simulated node is an engine plus a model of what glockd does around
 * it: local clients that lock, convert, release and cancel; HELLO and
 * QUORUM after every configuration change; the donor's snapshot; fencing.
 * The bus keeps one FIFO per partition, so every member of a partition sees
 * the same sequence.  Configuration changes flush the old partition's queue
 * first (extended virtual synchrony: a message is delivered in the
 * configuration it was sent in, to every member or, if its sender crashed,
 * possibly to none).
 *
 * After every step the invariants of the engine issue are checked; the run
 * is a pure function of --seed, so a failing seed is its own replay.
 */
#include "engine.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NODES_MAX 32
#define SIM_GLOCKS 6
#define SIM_TRACE_KEEP 400
#define SIM_DRAIN_STEPS 200000

#include "sim_common.h"

/* ---- the bus ---- */

/* A deep copy of one input, so snapshot records outlive the donor's export. */
struct sim_item {
	struct glock_input in;
	struct glock_record rec;
	struct glock_holder_rec *holders, *expired;
	struct glock_waiter_rec *waiters;
	struct glock_departed_rec *departed;
};

struct sim_msg {
	uint32_t sender;
	struct sim_item item;
	struct sim_msg *next;
};

struct sim_queue {
	struct sim_msg *head, *tail;
	size_t len;
};

/* ---- nodes ---- */

enum client_state { CL_IDLE, CL_LOCKING, CL_HELD, CL_CONVERTING };

struct client_glock {
	enum client_state st;
	enum glock_mode held;   /* what the node believes it holds */
	enum glock_mode want;   /* LOCKING/CONVERTING */
	uint64_t req_id;        /* outstanding request */
	uint64_t asked_step;    /* when the outstanding request was sent */
	bool demote;            /* a DEMOTE arrived and is not yet honoured */
	enum glock_mode demote_target;
};

struct sim_node {
	uint32_t id;
	bool alive;
	int part;
	unsigned int incarnation;
	struct glock_engine *eng;
	uint64_t next_req;
	uint64_t now_us;
	bool send_snapshot;
	struct client_glock g[SIM_GLOCKS];
};

struct sim {
	unsigned int n;
	struct sim_node node[SIM_NODES_MAX];
	struct sim_queue queue[SIM_NODES_MAX]; /* one per partition id */
	uint64_t violations;
	bool draining;
	bool drain_release_all; /* second phase: caching nodes let go too */
	uint64_t grants, denies, demotes, losts, crashes, restarts, splits, heals, fences, snapshots;
	uint64_t delivered;
	uint32_t nodelist[SIM_NODES_MAX]; /* every node: HELLO's configured nodes */
	uint64_t startup_needs; /* startup fencing NEED_FENCEs, summed over members */
};

static struct sim S;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	trace("VIOLATION %s", buf);
	fprintf(stderr, "step %" PRIu64 ": VIOLATION: %s\n", current_step, buf);
	S.violations++;
}

static struct sim_node *node_by_id(uint32_t id)
{
	return id >= 1 && id <= S.n ? &S.node[id - 1] : NULL;
}

/* ---- engine outputs: the node's daemon model ---- */

static void on_output(void *ctx, const struct glock_output *out)
{
	struct sim_node *nd = ctx;
	int gi = out->name ? glock_index(out->name) : -1;
	struct client_glock *c = gi >= 0 ? &nd->g[gi] : NULL;

	switch (out->kind) {
	case GLOCK_OUT_GRANT:
		S.grants++;
		if (!c || (c->st != CL_LOCKING && c->st != CL_CONVERTING) || c->req_id != out->req_id) {
			violation("node %u: grant of req %" PRIu64 " that it is not waiting for",
				  nd->id, out->req_id);
			return;
		}
		if (out->mode != c->want)
			violation("node %u: granted %s, asked %s", nd->id,
				  glock_mode_name(out->mode), glock_mode_name(c->want));
		trace("n%u grant g%d %s req %" PRIu64, nd->id, gi, glock_mode_name(out->mode),
		      out->req_id);
		c->st = CL_HELD;
		c->held = out->mode;
		c->demote = false;
		break;
	case GLOCK_OUT_DENY:
		S.denies++;
		if (!c || (c->st != CL_LOCKING && c->st != CL_CONVERTING) || c->req_id != out->req_id) {
			violation("node %u: deny of req %" PRIu64 " that it is not waiting for",
				  nd->id, out->req_id);
			return;
		}
		trace("n%u deny g%d req %" PRIu64 " reason %d", nd->id, gi, out->req_id,
		      out->reason);
		if (out->reason == GLOCK_DENY_LOST) {
			c->st = CL_IDLE;
			c->held = GLOCK_MODE_UN;
			c->demote = false;
		} else {
			c->st = c->st == CL_CONVERTING ? CL_HELD : CL_IDLE;
		}
		break;
	case GLOCK_OUT_DEMOTE:
		S.demotes++;
		if (!c) {
			violation("node %u: demote for an unknown glock", nd->id);
			return;
		}
		/* Stale: our RELEASE is in flight, the table still has us. */
		if (c->st != CL_HELD && c->st != CL_CONVERTING)
			return;
		trace("n%u demote g%d to %s", nd->id, gi, glock_mode_name(out->mode));
		c->demote = true;
		c->demote_target = out->mode;
		break;
	case GLOCK_OUT_LOST:
		S.losts++;
		if (!c) {
			violation("node %u: lost an unknown glock", nd->id);
			return;
		}
		if (c->st != CL_HELD && c->st != CL_CONVERTING)
			return; /* released already; the RELEASE was in flight */
		trace("n%u lost g%d", nd->id, gi);
		/* A pending conversion's DENY(LOST) comes separately. */
		if (c->st == CL_HELD) {
			c->st = CL_IDLE;
			c->demote = false;
		}
		c->held = GLOCK_MODE_UN;
		break;
	case GLOCK_OUT_SEND_SNAPSHOT:
		nd->send_snapshot = true;
		break;
	case GLOCK_OUT_SYNCED:
		trace("n%u synced", nd->id);
		break;
	case GLOCK_OUT_UNSYNCED: {
		int i;

		/*
		 * The engine answered what it had queued; requests still in
		 * flight are the daemon's to fail, as glockd does.
		 */
		trace("n%u unsynced", nd->id);
		for (i = 0; i < SIM_GLOCKS; i++) {
			if (nd->g[i].st != CL_IDLE) {
				nd->g[i].st = CL_IDLE;
				nd->g[i].held = GLOCK_MODE_UN;
				nd->g[i].demote = false;
			}
		}
		break;
	}
	case GLOCK_OUT_NEED_FENCE:
		S.startup_needs += out->startup; /* counted on every member */
		break; /* the fence step asks the engines directly */
	case GLOCK_OUT_QUORATE:
	case GLOCK_OUT_INQUORATE:
		break; /* the belief check reads glock_engine_quorate() */
	}
}

/* ---- bus ---- */

static void item_free(struct sim_item *it)
{
	free(it->holders);
	free(it->expired);
	free(it->waiters);
	free(it->departed);
}

static void *dup_array(const void *src, size_t n, size_t size)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p) {
		fprintf(stderr, "glock-sim: out of memory\n");
		exit(2);
	}
	memcpy(p, src, n * size);
	return p;
}

static void bus_send(struct sim_node *from, const struct glock_input *in)
{
	struct sim_msg *m = calloc(1, sizeof(*m));
	struct sim_queue *q = &S.queue[from->part];

	if (!m) {
		fprintf(stderr, "glock-sim: out of memory\n");
		exit(2);
	}
	m->sender = from->id;
	m->item.in = *in;
	if (in->kind == GLOCK_IN_SNAPSHOT_RECORD) {
		const struct glock_record *r = in->u.snapshot_record.record;

		m->item.rec = *r;
		m->item.holders = dup_array(r->holders, r->n_holders, sizeof(*r->holders));
		m->item.expired = dup_array(r->expired, r->n_expired, sizeof(*r->expired));
		m->item.waiters = dup_array(r->waiters, r->n_waiters, sizeof(*r->waiters));
		m->item.rec.holders = m->item.holders;
		m->item.rec.expired = m->item.expired;
		m->item.rec.waiters = m->item.waiters;
	} else if (in->kind == GLOCK_IN_SNAPSHOT_BEGIN) {
		m->item.departed = dup_array(in->u.snapshot_begin.departed,
					     in->u.snapshot_begin.n_departed,
					     sizeof(*m->item.departed));
	}
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len++;
}

static void node_apply(struct sim_node *nd, const struct glock_input *in);

static void send_snapshot_if_asked(struct sim_node *nd);

/* Delivers the head of partition p's queue to every live member. */
static void bus_deliver_one(int p)
{
	struct sim_queue *q = &S.queue[p];
	struct sim_msg *m = q->head;
	struct glock_input in;
	unsigned int i;

	if (!m)
		return;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	in = m->item.in;
	if (in.kind == GLOCK_IN_SNAPSHOT_RECORD)
		in.u.snapshot_record.record = &m->item.rec;
	else if (in.kind == GLOCK_IN_SNAPSHOT_BEGIN)
		in.u.snapshot_begin.departed = m->item.departed;
	S.delivered++;
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p)
			node_apply(&S.node[i], &in);
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p)
			send_snapshot_if_asked(&S.node[i]);
	item_free(&m->item);
	free(m);
}

static void bus_flush(int p)
{
	while (S.queue[p].head)
		bus_deliver_one(p);
}

static void bus_drop_from(int p, uint32_t sender)
{
	struct sim_msg **pp = &S.queue[p].head, *m;

	S.queue[p].tail = NULL;
	while ((m = *pp)) {
		if (m->sender == sender) {
			*pp = m->next;
			S.queue[p].len--;
			item_free(&m->item);
			free(m);
			continue;
		}
		S.queue[p].tail = m;
		pp = &m->next;
	}
}

/* ---- applying inputs ---- */

static void node_apply(struct sim_node *nd, const struct glock_input *in)
{
	int err = glock_engine_apply(nd->eng, in);

	/* Duplicate HELLO/QUORUM and the like are fine; a broken snapshot is not. */
	if (err == -EPROTO || err == -ENOMEM || (err == -EINVAL && in->kind != GLOCK_IN_TICK))
		violation("node %u: input kind %d rejected: %s", nd->id, in->kind,
			  glock_engine_strerror(err));
}

struct export_ctx {
	struct sim_node *nd;
	uint64_t n;
};

static int export_record(void *ctx, const struct glock_record *rec)
{
	struct export_ctx *x = ctx;
	struct glock_input in = { .kind = GLOCK_IN_SNAPSHOT_RECORD };

	in.u.snapshot_record.donor = x->nd->id;
	in.u.snapshot_record.record = rec;
	bus_send(x->nd, &in);
	x->n++;
	return 0;
}

/* The donor exports right after the apply() that asked: never from inside it. */
static void send_snapshot_if_asked(struct sim_node *nd)
{
	struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
	struct glock_input in = { .kind = GLOCK_IN_SNAPSHOT_BEGIN };
	struct export_ctx x = { nd, 0 };
	size_t n;

	if (!nd->send_snapshot)
		return;
	nd->send_snapshot = false;
	S.snapshots++;
	n = glock_engine_departed(nd->eng, dep, 4 * GLOCK_NODES_MAX);
	in.u.snapshot_begin.donor = nd->id;
	in.u.snapshot_begin.n_departed = n;
	in.u.snapshot_begin.departed = dep;
	bus_send(nd, &in);
	glock_engine_export(nd->eng, export_record, &x);
	in = (struct glock_input){ .kind = GLOCK_IN_SNAPSHOT_END };
	in.u.snapshot_end.donor = nd->id;
	in.u.snapshot_end.n_records = x.n;
	bus_send(nd, &in);
	trace("n%u sends snapshot: %" PRIu64 " glocks", nd->id, x.n);
}

static unsigned int part_size(int p)
{
	unsigned int i, k = 0;

	for (i = 0; i < S.n; i++)
		k += S.node[i].alive && S.node[i].part == p;
	return k;
}

static bool part_quorate(int p)
{
	return part_size(p) * 2 > S.n;
}

/* Delivers a configuration change to every member of p, then HELLO/QUORUM. */
static void confchg(int p)
{
	uint32_t members[SIM_NODES_MAX];
	struct glock_input in = { .kind = GLOCK_IN_CONFCHG };
	size_t k = 0;
	unsigned int i;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p)
			members[k++] = S.node[i].id;
	if (!k)
		return;
	in.u.confchg.members = members;
	in.u.confchg.n_members = k;
	/* Every departure here is a crash or a split: gone with its corosync. */
	in.u.confchg.lost = S.nodelist;
	in.u.confchg.n_lost = S.n;
	trace("confchg part %d: %zu members, %s", p, k, part_quorate(p) ? "quorate" : "inquorate");
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p)
			node_apply(&S.node[i], &in);
	for (i = 0; i < S.n; i++) {
		struct sim_node *nd = &S.node[i];
		struct glock_input h = { .kind = GLOCK_IN_HELLO };
		struct glock_input qm = { .kind = GLOCK_IN_QUORUM };

		if (!nd->alive || nd->part != p)
			continue;
		h.u.hello.node = nd->id;
		h.u.hello.synced = glock_engine_synced(nd->eng);
		h.u.hello.config_id = glock_engine_config_id(nd->eng);
		/* Startup fencing: a fresh table waits for every absent node. */
		h.u.hello.n_configured = S.n;
		h.u.hello.configured = S.nodelist;
		bus_send(nd, &h);
		qm.u.quorum.from = nd->id;
		qm.u.quorum.quorate = part_quorate(p);
		qm.u.quorum.config_id = glock_engine_config_id(nd->eng);
		bus_send(nd, &qm);
	}
}

/* ---- node life ---- */

static void node_start(struct sim_node *nd, int part)
{
	struct glock_engine_config cfg;

	glock_engine_config_defaults(&cfg, nd->id);
	nd->eng = glock_engine_new(&cfg, on_output, nd);
	if (!nd->eng) {
		fprintf(stderr, "glock-sim: engine_new failed\n");
		exit(2);
	}
	nd->alive = true;
	nd->part = part;
	nd->incarnation++;
	nd->send_snapshot = false;
	memset(nd->g, 0, sizeof(nd->g));
}

static void node_crash(struct sim_node *nd)
{
	int p = nd->part;

	trace("n%u crashes", nd->id);
	S.crashes++;
	if (rng_chance(50))
		bus_drop_from(p, nd->id); /* its last messages never made it out */
	bus_flush(p);
	nd->alive = false;
	glock_engine_free(nd->eng);
	nd->eng = NULL;
	confchg(p);
}

static int free_part(void)
{
	unsigned int p, i;

	for (p = 0; p < S.n; p++) {
		for (i = 0; i < S.n; i++)
			if (S.node[i].alive && S.node[i].part == (int)p)
				break;
		if (i == S.n && !S.queue[p].head)
			return (int)p;
	}
	return -1;
}

/* ---- clients ---- */

static void send_op(struct sim_node *nd, int gi, enum glock_op_kind kind, enum glock_mode mode,
		    uint32_t flags, uint64_t req_id, bool lvb)
{
	struct glock_input in = { .kind = GLOCK_IN_OP };
	struct glock_op *op = &in.u.op;

	op->kind = kind;
	op->node = nd->id;
	op->req_id = req_id;
	op->name = glock_names[gi];
	op->mode = mode;
	op->flags = flags;
	if (lvb) {
		op->lvb_valid = true;
		memcpy(op->lvb, &current_step, sizeof(current_step));
		memcpy(op->lvb + 8, &nd->id, sizeof(nd->id));
	}
	bus_send(nd, &in);
}

/* Gives the glock up (or down) as a demote asked; the daemon's job. */
static bool honour_demote(struct sim_node *nd, int gi)
{
	struct client_glock *c = &nd->g[gi];
	bool lvb = c->held == GLOCK_MODE_EX && rng_chance(50);

	if (!c->demote || c->st != CL_HELD)
		return false;
	c->demote = false;
	if (c->demote_target == GLOCK_MODE_UN || c->demote_target == c->held || rng_chance(30)) {
		trace("n%u releases g%d (demote)", nd->id, gi);
		send_op(nd, gi, GLOCK_OP_RELEASE, GLOCK_MODE_UN, 0, 0, lvb);
		c->st = CL_IDLE;
		c->held = GLOCK_MODE_UN;
		return true;
	}
	trace("n%u converts g%d %s->%s (demote)", nd->id, gi, glock_mode_name(c->held),
	      glock_mode_name(c->demote_target));
	c->req_id = ++nd->next_req;
	c->want = c->demote_target;
	c->st = CL_CONVERTING;
	c->asked_step = current_step;
	/* Going down from EX, the node uses only the weaker mode from now on. */
	if (c->held == GLOCK_MODE_EX)
		c->held = c->want;
	send_op(nd, gi, GLOCK_OP_CONVERT, c->want, 0, c->req_id, lvb);
	return true;
}

static bool node_caches(const struct sim_node *nd)
{
	return nd->id % 2 == 1;
}

static bool requests_pending(void)
{
	unsigned int i;
	int gi;

	for (i = 0; i < S.n; i++)
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].alive && (S.node[i].g[gi].st == CL_LOCKING ||
						S.node[i].g[gi].st == CL_CONVERTING))
				return true;
	return false;
}

static void client_action(struct sim_node *nd)
{
	int gi = (int)rng_below(SIM_GLOCKS);
	struct client_glock *c = &nd->g[gi];

	if (!glock_engine_synced(nd->eng))
		return;
	if (honour_demote(nd, gi))
		return;
	switch (c->st) {
	case CL_IDLE:
		if (S.draining)
			return;
		c->req_id = ++nd->next_req;
		c->want = random_mode();
		c->st = CL_LOCKING;
		c->asked_step = current_step;
		trace("n%u lock g%d %s req %" PRIu64, nd->id, gi, glock_mode_name(c->want),
		      c->req_id);
		send_op(nd, gi, GLOCK_OP_LOCK, c->want, S.draining ? 0 : random_flags(), c->req_id,
			false);
		break;
	case CL_LOCKING:
	case CL_CONVERTING:
		if (!S.draining && rng_chance(15)) {
			trace("n%u cancel g%d req %" PRIu64, nd->id, gi, c->req_id);
			send_op(nd, gi, GLOCK_OP_CANCEL, GLOCK_MODE_UN, 0, c->req_id, false);
		}
		break;
	case CL_HELD:
		if (!S.draining && rng_chance(25)) {
			enum glock_mode m = random_mode();

			if (m == c->held)
				break;
			c->req_id = ++nd->next_req;
			c->want = m;
			c->st = CL_CONVERTING;
			c->asked_step = current_step;
			/* Going down from EX, the node uses only the weaker mode from now on. */
			if (c->held == GLOCK_MODE_EX)
				c->held = m;
			trace("n%u convert g%d ->%s req %" PRIu64, nd->id, gi, glock_mode_name(m),
			      c->req_id);
			send_op(nd, gi, GLOCK_OP_CONVERT, m, random_flags() & ~GLOCK_FLAG_NOEXP,
				c->req_id, false);
			break;
		}
		/*
		 * Odd nodes cache like glockd: a grant stays until a demote asks
		 * for it (rarely let go early; never in the drain's first phase).
		 */
		if (node_caches(nd) ? (S.drain_release_all || (!S.draining && rng_chance(3)))
				    : (S.draining || rng_chance(40))) {
			trace("n%u release g%d", nd->id, gi);
			send_op(nd, gi, GLOCK_OP_RELEASE, GLOCK_MODE_UN, 0, 0,
				c->held == GLOCK_MODE_EX && rng_chance(50));
			c->st = CL_IDLE;
			c->held = GLOCK_MODE_UN;
		}
		break;
	}
}

/* ---- fencing, as the lowest synced member of a quorate partition does it ---- */

static bool engine_has_member(const struct glock_engine *eng, uint32_t node)
{
	const uint32_t *m;
	size_t n = glock_engine_members(eng, &m), i;

	for (i = 0; i < n; i++)
		if (m[i] == node)
			return true;
	return false;
}

static void fence_step(bool recover)
{
	unsigned int i;

	for (i = 0; i < S.n; i++) {
		struct sim_node *nd = &S.node[i];
		struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
		size_t n, k;

		if (!nd->alive || !glock_engine_synced(nd->eng) || !glock_engine_quorate(nd->eng))
			continue;
		n = glock_engine_departed(nd->eng, dep, 4 * GLOCK_NODES_MAX);
		for (k = 0; k < n && k < 4 * GLOCK_NODES_MAX; k++) {
			struct glock_input in = { .kind = GLOCK_IN_FENCED };
			struct sim_node *victim = node_by_id(dep[k].node);

			if (dep[k].startup && engine_has_member(nd->eng, dep[k].node))
				continue; /* its HELLO is on the way and ends the need */
			if (!dep[k].fenced) {
				/* Fencing means the node is really gone: power it off. */
				if (victim && victim->alive && victim != nd) {
					trace("n%u fences n%u (power off)", nd->id, victim->id);
					node_crash(victim);
				}
				if (!nd->alive)
					return;
				trace("n%u: n%u fenced", nd->id, dep[k].node);
				in.u.departed.node = dep[k].node;
				bus_send(nd, &in);
				S.fences++;
			} else if (recover) {
				in.kind = GLOCK_IN_RECOVERY_DONE;
				in.u.departed.node = dep[k].node;
				trace("n%u: n%u recovery done", nd->id, dep[k].node);
				bus_send(nd, &in);
			}
		}
		return; /* one fencer per step */
	}
}

/* ---- invariants ---- */

struct table_dump {
	char *buf;
	size_t len, cap;
};

static void dump_put(struct table_dump *d, const void *p, size_t n)
{
	if (!n)
		return;
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;

		while (cap < d->len + n)
			cap *= 2;
		d->buf = realloc(d->buf, cap);
		if (!d->buf) {
			fprintf(stderr, "glock-sim: out of memory\n");
			exit(2);
		}
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static void dump_holders(struct table_dump *d, const struct glock_holder_rec *h, size_t n)
{
	size_t i;

	dump_put(d, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		uint8_t sent = h[i].demote_sent, fenced = h[i].fenced;

		dump_put(d, &h[i].node, sizeof(h[i].node));
		dump_put(d, &h[i].mode, sizeof(h[i].mode));
		dump_put(d, &h[i].flags, sizeof(h[i].flags));
		dump_put(d, &h[i].demote_target, sizeof(h[i].demote_target));
		dump_put(d, &sent, 1);
		dump_put(d, &fenced, 1);
	}
}

struct check_ctx {
	struct sim_node *nd;
	struct table_dump dump;
	struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
	size_t n_dep;
};

static int check_record(void *ctx, const struct glock_record *r)
{
	struct check_ctx *x = ctx;
	size_t i, j;

	for (i = 0; i < r->n_holders; i++) {
		for (j = i + 1; j < r->n_holders; j++)
			if (!glock_mode_compatible(r->holders[i].mode, r->holders[j].mode))
				violation("n%u table: %s/%u/%" PRIu64 " n%u %s vs n%u %s", x->nd->id,
					  r->name.lockspace, r->name.type, r->name.number,
					  r->holders[i].node, glock_mode_name(r->holders[i].mode),
					  r->holders[j].node, glock_mode_name(r->holders[j].mode));
		for (j = 0; j < r->n_expired; j++) {
			bool excused = (r->holders[i].flags & GLOCK_FLAG_NOEXP) &&
				       r->expired[j].fenced;

			if (!excused &&
			    !glock_mode_compatible(r->holders[i].mode, r->expired[j].mode))
				violation("n%u table: n%u %s vs expired n%u %s", x->nd->id,
					  r->holders[i].node, glock_mode_name(r->holders[i].mode),
					  r->expired[j].node, glock_mode_name(r->expired[j].mode));
		}
	}
	/* Canonical bytes for the cross-node comparison, field by field (no padding). */
	dump_put(&x->dump, r->name.lockspace, strlen(r->name.lockspace) + 1);
	dump_put(&x->dump, &r->name.type, sizeof(r->name.type));
	dump_put(&x->dump, &r->name.number, sizeof(r->name.number));
	dump_put(&x->dump, r->lvb, GLOCK_LVB_LEN);
	dump_holders(&x->dump, r->holders, r->n_holders);
	dump_holders(&x->dump, r->expired, r->n_expired);
	dump_put(&x->dump, &r->n_waiters, sizeof(r->n_waiters));
	for (i = 0; i < r->n_waiters; i++) {
		const struct glock_waiter_rec *w = &r->waiters[i];
		uint8_t conv = w->convert;

		dump_put(&x->dump, &w->node, sizeof(w->node));
		dump_put(&x->dump, &w->req_id, sizeof(w->req_id));
		dump_put(&x->dump, &w->mode, sizeof(w->mode));
		dump_put(&x->dump, &w->flags, sizeof(w->flags));
		dump_put(&x->dump, &conv, 1);
	}
	return 0;
}

static bool node_may_use_grants(const struct sim_node *nd)
{
	return nd->alive && glock_engine_quorate(nd->eng);
}

static void check_invariants(void)
{
	struct check_ctx ref[SIM_NODES_MAX];
	int ref_of_part[SIM_NODES_MAX];
	unsigned int i, j;
	int gi;

	for (i = 0; i < S.n; i++)
		ref_of_part[i] = -1;
	memset(ref, 0, sizeof(ref));
	for (i = 0; i < S.n; i++) {
		struct sim_node *nd = &S.node[i];
		struct check_ctx *x = &ref[i];

		if (!nd->alive || !glock_engine_synced(nd->eng))
			continue;
		x->nd = nd;
		x->n_dep = glock_engine_departed(nd->eng, x->dep, 4 * GLOCK_NODES_MAX);
		glock_engine_export(nd->eng, check_record, x);
		dump_put(&x->dump, x->dep, x->n_dep * sizeof(x->dep[0]));
		/* Every live member of a partition holds the same table. */
		if (ref_of_part[nd->part] < 0) {
			ref_of_part[nd->part] = (int)i;
		} else {
			struct check_ctx *r = &ref[ref_of_part[nd->part]];

			if (r->dump.len != x->dump.len ||
			    (x->dump.len && memcmp(r->dump.buf, x->dump.buf, x->dump.len)))
				violation("tables differ: n%u and n%u in partition %d", r->nd->id,
					  nd->id, nd->part);
			if (glock_engine_quorate(r->nd->eng) != glock_engine_quorate(nd->eng))
				violation("quorum differs: n%u and n%u", r->nd->id, nd->id);
		}
	}
	for (i = 0; i < S.n; i++)
		free(ref[i].dump.buf);

	/*
	 * What live nodes may use never conflicts, across partitions too.  A
	 * node uses its grants only while its engine is quorate (INQUORATE
	 * suspends it), as glockd and glockfs do.
	 */
	for (gi = 0; gi < SIM_GLOCKS; gi++) {
		for (i = 0; i < S.n; i++) {
			const struct client_glock *a = &S.node[i].g[gi];

			if (!node_may_use_grants(&S.node[i]) || a->held == GLOCK_MODE_UN)
				continue;
			for (j = i + 1; j < S.n; j++) {
				const struct client_glock *b = &S.node[j].g[gi];

				if (node_may_use_grants(&S.node[j]) && b->held != GLOCK_MODE_UN &&
				    !glock_mode_compatible(a->held, b->held))
					violation("g%d: n%u believes %s while n%u believes %s", gi,
						  S.node[i].id, glock_mode_name(a->held),
						  S.node[j].id, glock_mode_name(b->held));
			}
		}
	}
}

/* ---- the run ---- */

static void step_random(unsigned int min_alive)
{
	unsigned int r = rng_below(1000), i, alive = 0;
	struct sim_node *nd = &S.node[rng_below(S.n)];

	for (i = 0; i < S.n; i++)
		alive += S.node[i].alive;

	if (r < 330) { /* deliver */
		int p = nd->alive ? nd->part : 0;
		unsigned int k = 1 + rng_below(4);

		while (k-- && S.queue[p].head)
			bus_deliver_one(p);
	} else if (r < 700) {
		if (nd->alive)
			client_action(nd);
	} else if (r < 860) {
		if (nd->alive) {
			struct glock_input in = { .kind = GLOCK_IN_TICK };

			nd->now_us += rng_below(30000);
			in.u.tick.now_us = nd->now_us;
			node_apply(nd, &in);
		}
	} else if (r < 870 && !S.draining) {
		if (nd->alive && alive > min_alive)
			node_crash(nd);
	} else if (r < 885 && !S.draining) {
		if (!nd->alive) {
			int p = S.node[rng_below(S.n)].part;

			if (!part_size(p))
				p = nd->part;
			bus_flush(p);
			node_start(nd, p);
			S.restarts++;
			trace("n%u restarts into partition %d", nd->id, p);
			confchg(p);
		}
	} else if (r < 892 && !S.draining) {
		/* split nd's partition in two */
		int p = nd->part, q = free_part();

		if (nd->alive && part_size(p) >= 2 && q >= 0) {
			bus_flush(p);
			for (i = 0; i < S.n; i++)
				if (S.node[i].alive && S.node[i].part == p && rng_chance(50))
					S.node[i].part = q;
			if (part_size(p) && part_size(q)) {
				S.splits++;
				trace("split: partition %d -> %d + %d", p, p, q);
				confchg(p);
				confchg(q);
			} else {
				for (i = 0; i < S.n; i++)
					if (S.node[i].part == q)
						S.node[i].part = p;
			}
		}
	} else if (r < 905) {
		/* heal: merge another partition into nd's */
		struct sim_node *other = &S.node[rng_below(S.n)];

		if (nd->alive && other->alive && other->part != nd->part) {
			int p = nd->part, q = other->part;

			bus_flush(p);
			bus_flush(q);
			for (i = 0; i < S.n; i++)
				if (S.node[i].part == q)
					S.node[i].part = p;
			S.heals++;
			trace("heal: partition %d joins %d", q, p);
			confchg(p);
		}
	} else if (r < 930) {
		fence_step(rng_chance(50));
	} else {
		/* deliver on every partition: keeps queues short */
		for (i = 0; i < S.n; i++)
			if (S.queue[i].head)
				bus_deliver_one((int)i);
	}
}

static bool quiescent(void)
{
	unsigned int i;
	int gi;

	for (i = 0; i < S.n; i++) {
		if (S.queue[i].head)
			return false;
		if (!S.node[i].alive)
			return false; /* fenced late in the drain: it boots first */
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].g[gi].st != CL_IDLE)
				return false;
	}
	return true;
}

/*
 * Liveness: heal everything, bring every node back, fence and recover, stop
 * new requests and let holders release.  Every request must be answered and
 * the table must empty within a bound: a waiter that starves fails here.
 */
static void drain(void)
{
	unsigned int i;
	uint64_t k;

	S.draining = true;
	trace("drain begins");
	for (i = 0; i < S.n; i++)
		bus_flush((int)i);
	for (i = 0; i < S.n; i++) {
		if (!S.node[i].alive) {
			node_start(&S.node[i], 0);
			S.restarts++;
		}
		S.node[i].part = 0;
	}
	confchg(0);
	for (k = 0; k < SIM_DRAIN_STEPS && !S.violations; k++) {
		struct sim_node *nd = &S.node[rng_below(S.n)];

		current_step++;
		if (k % 50 == 0)
			fence_step(true);
		if (!nd->alive) {
			/* fencing powered it off: it boots and rejoins */
			bus_flush(0);
			node_start(nd, 0);
			S.restarts++;
			trace("n%u restarts into partition 0", nd->id);
			confchg(0);
		} else if (rng_chance(50)) {
			bus_deliver_one(0);
		} else {
			struct glock_input in = { .kind = GLOCK_IN_TICK };

			nd->now_us += 20000;
			in.u.tick.now_us = nd->now_us;
			node_apply(nd, &in);
			client_action(nd);
		}
		check_invariants();
		/*
		 * Phase one ends when every request is answered with caching
		 * nodes letting go only on demotes; phase two empties the table.
		 */
		if (!S.drain_release_all && !requests_pending() && !S.queue[0].head &&
		    glock_engine_synced(S.node[0].eng)) {
			S.drain_release_all = true;
			trace("drain: every request answered; everyone releases");
		}
		if (quiescent() && glock_engine_synced(S.node[0].eng) &&
		    glock_engine_glock_count(S.node[0].eng) == 0)
			break;
	}
	if (S.violations)
		return;
	for (i = 0; i < S.n; i++) {
		int gi;

		if (!glock_engine_synced(S.node[i].eng))
			violation("drain: n%u never synced", S.node[i].id);
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].g[gi].st == CL_LOCKING || S.node[i].g[gi].st == CL_CONVERTING)
				violation("drain: n%u request on g%d (req %" PRIu64
					  ", asked at step %" PRIu64 ") never answered",
					  S.node[i].id, gi, S.node[i].g[gi].req_id,
					  S.node[i].g[gi].asked_step);
		if (glock_engine_glock_count(S.node[i].eng))
			violation("drain: n%u still has %zu glocks", S.node[i].id,
				  glock_engine_glock_count(S.node[i].eng));
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: glock-sim [--nodes N] [--steps S] [--seed X] [--seeds K] [--trace]\n"
		"  N engines (3..%d) over a simulated total-order bus with crashes, joins,\n"
		"  partitions and fencing; invariants checked after every step.\n"
		"  --seeds K runs seeds X..X+K-1.  Exit 0: no violation; 1: violation; 2: usage.\n",
		SIM_NODES_MAX);
}

static int run_one(unsigned int nodes, uint64_t steps, uint64_t seed)
{
	unsigned int i;
	uint64_t s;

	memset(&S, 0, sizeof(S));
	trace_count = 0;
	current_step = 0;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (!rng_state)
		rng_state = 1;
	S.n = nodes;
	for (i = 0; i < nodes; i++) {
		S.nodelist[i] = i + 1;
		S.node[i].id = i + 1;
		node_start(&S.node[i], 0);
		S.node[i].incarnation = 0;
	}
	confchg(0);
	for (s = 0; s < steps && !S.violations; s++) {
		current_step = s + 1;
		step_random((nodes + 1) / 2 - (nodes > 4 ? 1 : 0));
		check_invariants();
	}
	if (!S.violations)
		drain();
	for (i = 0; i < S.n; i++) {
		while (S.queue[i].head) {
			struct sim_msg *m = S.queue[i].head;

			S.queue[i].head = m->next;
			item_free(&m->item);
			free(m);
		}
		glock_engine_free(S.node[i].eng);
		S.node[i].eng = NULL;
	}
	return S.violations ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "steps", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'x' },
		{ "seeds", required_argument, NULL, 'k' },
		{ "trace", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t nodes_min = 3, nodes_max = 3, steps = 10000, seed = 1, seeds = 1;
	uint64_t total_steps = 0, total_violations = 0, k;
	bool quiet = false;
	int c;

	glock_names_init();
	while ((c = getopt_long(argc, argv, "n:s:x:k:tqh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_nodes(optarg, &nodes_min, &nodes_max, SIM_NODES_MAX))
				goto bad;
			break;
		case 's':
			if (!parse_u64(optarg, &steps) || !steps)
				goto bad;
			break;
		case 'x':
			if (!parse_u64(optarg, &seed))
				goto bad;
			break;
		case 'k':
			if (!parse_u64(optarg, &seeds) || !seeds)
				goto bad;
			break;
		case 't':
			trace_all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;

	for (k = 0; k < seeds; k++) {
		uint64_t x = seed + k;
		unsigned int n = (unsigned int)(nodes_min + x % (nodes_max - nodes_min + 1));
		int rc = run_one(n, steps, x);

		total_steps += steps;
		if (!quiet || rc)
			printf("seed=%" PRIu64 " nodes=%u steps=%" PRIu64 " violations=%" PRIu64
			       " grants=%" PRIu64 " denies=%" PRIu64 " demotes=%" PRIu64
			       " lost=%" PRIu64 " crashes=%" PRIu64 " restarts=%" PRIu64
			       " splits=%" PRIu64 " heals=%" PRIu64 " fences=%" PRIu64
			       " startup=%" PRIu64 " snapshots=%" PRIu64 " delivered=%" PRIu64 "\n",
			       x, n, steps, S.violations, S.grants, S.denies, S.demotes, S.losts,
			       S.crashes, S.restarts, S.splits, S.heals, S.fences, S.startup_needs,
			       S.snapshots, S.delivered);
		if (rc) {
			total_violations += S.violations;
			print_trace_tail();
			fprintf(stderr, "replay: %s --nodes %u --steps %" PRIu64 " --seed %" PRIu64
				" --trace\n", argv[0], n, steps, x);
			break;
		}
	}
	printf("steps=%" PRIu64 " violations=%" PRIu64 "\n", total_steps, total_violations);
	return total_violations ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
