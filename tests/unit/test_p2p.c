// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The p2p lock path (daemon/engine/p2p.h) on a few nodes wired by hand:
 * one FIFO per ordered pair of nodes for the links, one FIFO for the
 * ordered CPG channel, outputs recorded per node.  tests/sim/p2p-sim runs
 * the same code through random schedules; these are the scenarios of
 * docs/DESIGN.md §9 one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "p2p.h"
#include "rendezvous.h"
#include "table.h" /* glock__name_hash(): the order a requester reports in */

#define N_MAX 4
#define Q_MAX 512
#define OUT_MAX 256

struct qmsg {
	uint32_t from, to;
	struct glock_p2p_msg msg;
};

struct queue {
	struct qmsg v[Q_MAX];
	size_t head, n;
};

struct rec {
	enum glock_output_kind kind;
	struct glock_name name;
	uint64_t req_id;
	enum glock_mode mode;
	enum glock_deny_reason reason;
	uint8_t lvb[GLOCK_LVB_LEN];
};

struct tnode {
	uint32_t id;
	bool up;
	struct glock_p2p *p;
	struct rec out[OUT_MAX];
	size_t n_out;
	struct glock_plock_answer pl[OUT_MAX]; /* POSIX lock answers */
	size_t n_pl;
	size_t sends; /* SEND outputs to other nodes */
};

struct tcluster {
	struct tnode node[N_MAX + 1]; /* by node id, 1..N_MAX */
	struct queue link[N_MAX + 1][N_MAX + 1];
	struct queue cpg; /* REPORTs (to .to) and DONE (.msg.kind == 0, from) */
	uint32_t members[N_MAX];
	size_t n_members;
	uint32_t departed[N_MAX];
	size_t n_departed;
	uint64_t req;
};

static struct tcluster C;

static void q_push(struct queue *q, uint32_t from, uint32_t to, const struct glock_p2p_msg *m)
{
	assert_true(q->n < Q_MAX);
	q->v[(q->head + q->n) % Q_MAX] = (struct qmsg){ from, to, m ? *m : (struct glock_p2p_msg){ 0 } };
	q->n++;
}

static struct qmsg q_pop(struct queue *q)
{
	struct qmsg m = q->v[q->head];

	q->head = (q->head + 1) % Q_MAX;
	q->n--;
	return m;
}

static void output(void *ctx, const struct glock_p2p_output *out)
{
	struct tnode *tn = ctx;
	struct rec *r;

	switch (out->kind) {
	case GLOCK_P2P_OUT_LOCAL:
		assert_true(tn->n_out < OUT_MAX);
		r = &tn->out[tn->n_out++];
		*r = (struct rec){
			.kind = out->local->kind, .req_id = out->local->req_id,
			.mode = out->local->mode, .reason = out->local->reason,
		};
		if (out->local->name)
			r->name = *out->local->name;
		if (out->local->lvb)
			memcpy(r->lvb, out->local->lvb, GLOCK_LVB_LEN);
		break;
	case GLOCK_P2P_OUT_SEND:
		assert_int_not_equal(out->node, tn->id); /* to itself never leaves the node */
		tn->sends++;
		q_push(&C.link[tn->id][out->node], tn->id, out->node, out->msg);
		break;
	case GLOCK_P2P_OUT_MULTICAST:
		q_push(&C.cpg, tn->id, out->node, out->msg);
		break;
	case GLOCK_P2P_OUT_LINK_RESET:
		C.link[tn->id][out->node].n = 0;
		C.link[out->node][tn->id].n = 0;
		break;
	case GLOCK_P2P_OUT_PLOCK:
		assert_true(tn->n_pl < OUT_MAX);
		tn->pl[tn->n_pl++] = *out->plock;
		break;
	}
}

static int apply(uint32_t id, const struct glock_p2p_input *in)
{
	return glock_p2p_apply(C.node[id].p, in);
}

/* A start of glockd on node id; first_life as the daemon's start time. */
static void node_start_life(uint32_t id, uint32_t first_life)
{
	struct glock_engine_config cfg;

	glock_engine_config_defaults(&cfg, id);
	cfg.first_life = first_life;
	cfg.hold_min_us = cfg.hold_max_us = 0; /* demotes at once */
	cfg.hold_incr_us = cfg.hold_decr_us = 0;
	C.node[id] = (struct tnode){ .id = id, .up = true };
	C.node[id].p = glock_p2p_new(&cfg, output, &C.node[id]);
	assert_non_null(C.node[id].p);
}

static void node_start(uint32_t id)
{
	node_start_life(id, 0);
}

/* A configuration change in CPG order; each member's DONE follows its reports. */
static void confchg(void)
{
	size_t i;

	for (i = 0; i < C.n_members; i++) {
		struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_CONFCHG };

		in.u.confchg.members = C.members;
		in.u.confchg.n_members = C.n_members;
		in.u.confchg.departed = C.departed;
		in.u.confchg.n_departed = C.n_departed;
		assert_int_equal(apply(C.members[i], &in), 0);
		q_push(&C.cpg, C.members[i], 0, NULL);
	}
}

static void ready_all(void)
{
	size_t i;

	for (i = 0; i < C.n_members; i++) {
		struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_READY, .u.ready = true };

		assert_int_equal(apply(C.members[i], &in), 0);
	}
}

static void deliver_cpg(void)
{
	while (C.cpg.n) {
		struct qmsg m = q_pop(&C.cpg);
		size_t i;

		for (i = 0; i < C.n_members; i++) {
			uint32_t id = C.members[i];
			struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_DONE };

			if (m.to == 0) {
				in.u.node.node = m.from;
			} else {
				if (id != m.to)
					continue;
				in.kind = GLOCK_P2P_IN_MSG;
				in.u.msg.from = m.from;
				in.u.msg.msg = &m.msg;
			}
			assert_int_equal(apply(id, &in), 0);
		}
	}
}

static bool deliver_one_link(void)
{
	uint32_t a, b;

	for (a = 1; a <= N_MAX; a++) {
		for (b = 1; b <= N_MAX; b++) {
			struct queue *q = &C.link[a][b];

			if (q->n) {
				struct qmsg m = q_pop(q);
				struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };

				in.u.msg.from = m.from;
				in.u.msg.msg = &m.msg;
				if (C.node[b].up)
					assert_int_equal(apply(b, &in), 0);
				return true;
			}
		}
	}
	return false;
}

static void deliver_all(void)
{
	do
		deliver_cpg();
	while (deliver_one_link() || C.cpg.n);
}

static void cluster_up(size_t n)
{
	size_t i;

	memset(&C, 0, sizeof(C));
	for (i = 0; i < n; i++) {
		node_start((uint32_t)(i + 1));
		C.members[i] = (uint32_t)(i + 1);
	}
	C.n_members = n;
	confchg();
	ready_all();
	deliver_all();
}

static int teardown(void **state)
{
	uint32_t i;

	(void)state;
	for (i = 1; i <= N_MAX; i++)
		glock_p2p_free(C.node[i].p);
	memset(&C, 0, sizeof(C));
	return 0;
}

static struct glock_name name_mastered_by(uint32_t master, uint64_t from)
{
	struct glock_name n = { .lockspace = "fs", .type = 2 };

	for (n.number = from; n.number < from + 10000; n.number++)
		if (glock_master_of(&n, C.members, C.n_members) == master)
			return n;
	fail_msg("no name mastered by %u", master);
	return n;
}

static int op(uint32_t id, enum glock_op_kind kind, const struct glock_name *name,
	      enum glock_mode mode, uint32_t flags, uint64_t *req)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_OP };

	in.u.op = (struct glock_op){
		.kind = kind, .node = id, .req_id = ++C.req, .name = *name, .mode = mode,
		.flags = flags,
	};
	if (kind == GLOCK_OP_CANCEL)
		in.u.op.req_id = *req;
	else if (req)
		*req = in.u.op.req_id;
	return apply(id, &in);
}

static int release_lvb(uint32_t id, const struct glock_name *name, uint8_t byte)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_OP };

	in.u.op = (struct glock_op){
		.kind = GLOCK_OP_RELEASE, .node = id, .req_id = ++C.req, .name = *name,
		.lvb_valid = true,
	};
	memset(in.u.op.lvb, byte, GLOCK_LVB_LEN);
	return apply(id, &in);
}

static size_t count(uint32_t id, enum glock_output_kind kind, uint64_t req)
{
	size_t i, n = 0;

	for (i = 0; i < C.node[id].n_out; i++)
		if (C.node[id].out[i].kind == kind && (req == 0 || C.node[id].out[i].req_id == req))
			n++;
	return n;
}

static const struct rec *last(uint32_t id, enum glock_output_kind kind)
{
	size_t i = C.node[id].n_out;

	while (i--)
		if (C.node[id].out[i].kind == kind)
			return &C.node[id].out[i];
	return NULL;
}

/* ---- tests ---- */

static void test_local_master_costs_no_network(void **state)
{
	struct glock_name g;
	uint64_t r1, r2;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(1, 100);
	C.node[1].sends = 0;
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1); /* answered within the call */
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r2), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r2), 1);
	assert_int_equal(C.node[1].sends, 0);
}

static void test_remote_round_trip(void **state)
{
	struct glock_name g;
	uint64_t r;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(2, 100);
	C.node[1].sends = C.node[2].sends = 0;
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 0);
	assert_int_equal(C.node[1].sends, 1);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 1);
	assert_int_equal(C.node[2].sends, 1); /* one message each way */
	assert_int_equal(glock_p2p_master_of(C.node[3].p, &g), 2);
}

static void test_handoff_carries_lvb(void **state)
{
	struct glock_name g;
	uint64_t r1, r3;
	const struct rec *d, *gr;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(2, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	d = last(1, GLOCK_OUT_DEMOTE);
	assert_non_null(d);
	assert_int_equal(d->mode, GLOCK_MODE_UN);
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 0);
	assert_int_equal(release_lvb(1, &g, 0x5a), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	gr = last(3, GLOCK_OUT_GRANT);
	assert_int_equal(gr->lvb[0], 0x5a);
	assert_int_equal(gr->lvb[GLOCK_LVB_LEN - 1], 0x5a);
}

/*
 * The configuration id is the membership engine's (its CONFCHG's
 * config_id), which tells a configuration from an earlier one of the same
 * members; the p2p stamps and compares that, not a hash of its own.
 */
static void test_messages_carry_the_configuration_id_of_the_confchg(void **state)
{
	const uint32_t two[] = { 1, 2 };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_CONFCHG };
	struct glock_name g;
	uint64_t r;
	uint32_t id;

	(void)state;
	cluster_up(2);
	g = name_mastered_by(2, 100);
	in.u.confchg.members = two;
	in.u.confchg.n_members = 2;
	in.u.confchg.config_id = 0x5eed;
	for (id = 1; id <= 2; id++) {
		assert_int_equal(apply(id, &in), 0);
		q_push(&C.cpg, id, 0, NULL);
	}
	ready_all();
	deliver_all();
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r), 0);
	assert_int_equal(C.link[1][2].n, 1);
	assert_int_equal(C.link[1][2].v[C.link[1][2].head].msg.config_id, 0x5eed);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 1);
}

static void test_op_errors_match_engine(void **state)
{
	struct glock_name g, bad = { .lockspace = "" };
	uint64_t r, unknown = 999;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_OP };
	struct glock_p2p *fresh;
	struct glock_engine_config cfg;

	(void)state;
	cluster_up(2);
	g = name_mastered_by(2, 100);
	assert_int_equal(op(1, GLOCK_OP_CONVERT, &g, GLOCK_MODE_EX, 0, NULL), -ENOENT);
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), -ENOENT);
	assert_int_equal(op(1, GLOCK_OP_CANCEL, &g, GLOCK_MODE_UN, 0, &unknown), -ENOENT);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &bad, GLOCK_MODE_EX, 0, NULL), -EINVAL);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_UN, 0, NULL), -EINVAL);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0x100, NULL), -EINVAL);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r), 0);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, NULL), -EEXIST);
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), -ENOENT);
	deliver_all();
	assert_int_equal(op(1, GLOCK_OP_CONVERT, &g, GLOCK_MODE_SH, 0, NULL), -EALREADY);
	assert_int_equal(release_lvb(1, &g, 1), -EINVAL); /* only EX writes */
	in.u.op = (struct glock_op){ .kind = GLOCK_OP_LOCK, .node = 2, .name = g,
				     .mode = GLOCK_MODE_SH };
	assert_int_equal(apply(1, &in), -ESRCH); /* not this node's client */

	glock_engine_config_defaults(&cfg, 9);
	fresh = glock_p2p_new(&cfg, output, &C.node[1]);
	in.u.op.node = 9;
	assert_int_equal(glock_p2p_apply(fresh, &in), -EAGAIN); /* no configuration yet */
	glock_p2p_free(fresh);
}

static void test_hostile_messages_change_nothing(void **state)
{
	struct glock_name g;
	struct glock_p2p_msg m = { .kind = GLOCK_P2P_LOCK, .mode = GLOCK_MODE_EX };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct glock_p2p_stats st;
	uint64_t r;

	(void)state;
	cluster_up(2);
	g = name_mastered_by(2, 100);
	in.u.msg.msg = &m;
	in.u.msg.from = 1;
	assert_int_equal(apply(2, &in), -EBADMSG); /* empty lockspace */
	m.name = g;
	m.mode = 7;
	assert_int_equal(apply(2, &in), -EBADMSG);
	m.mode = GLOCK_MODE_EX;
	m.kind = 42;
	assert_int_equal(apply(2, &in), -EBADMSG);
	m.kind = GLOCK_P2P_LOCK;
	in.u.msg.from = 3;
	assert_int_equal(apply(2, &in), 0); /* not a member (yet): kept for one change */
	glock_p2p_stats(C.node[2].p, &st);
	assert_int_equal(st.parked, 1);
	m.kind = GLOCK_P2P_DENY;
	m.reason = GLOCK_DENY_TRYFAIL;
	assert_int_equal(apply(1, &in), -EPROTO); /* answers only from members */
	m.kind = GLOCK_P2P_LOCK;
	in.u.msg.msg = NULL;
	assert_int_equal(apply(2, &in), -EBADMSG);
	/* An unsolicited GRANT is dropped, not taken. */
	m.kind = GLOCK_P2P_GRANT;
	in.u.msg.msg = &m;
	in.u.msg.from = 2;
	assert_int_equal(apply(1, &in), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, 0), 0);
	glock_p2p_stats(C.node[1].p, &st);
	assert_true(st.dropped >= 1);
	/* And the cluster still works. */
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 1);
}

/* Kills node id: its links go, the survivors get a configuration without it. */
static void crash(uint32_t id)
{
	size_t i, k = 0;
	uint32_t j;

	C.node[id].up = false;
	glock_p2p_free(C.node[id].p);
	C.node[id].p = NULL;
	for (j = 1; j <= N_MAX; j++)
		C.link[id][j].n = C.link[j][id].n = 0;
	for (i = 0; i < C.n_members; i++)
		if (C.members[i] != id)
			C.members[k++] = C.members[i];
	C.n_members = k;
	C.departed[C.n_departed++] = id;
	confchg();
}

static void departed_event(enum glock_p2p_input_kind kind, uint32_t id)
{
	size_t i;

	for (i = 0; i < C.n_members; i++) {
		struct glock_p2p_input in = { .kind = kind, .u.node.node = id };

		assert_int_equal(apply(C.members[i], &in), 0);
	}
	if (kind == GLOCK_P2P_IN_RECOVERY_DONE)
		C.n_departed = 0;
}

static void test_master_crash_rebuilds_from_reports(void **state)
{
	struct glock_name g, other;
	uint64_t r1, r2, ro;
	uint32_t new_master;
	const struct rec *gr;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(3, 100);
	other = name_mastered_by(1, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_equal(release_lvb(1, &g, 0x11), 0);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all(); /* 2 waits, 1 is asked to demote */
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0);

	crash(3);
	ready_all();
	deliver_all(); /* reports, DONEs */
	new_master = glock_p2p_master_of(C.node[1].p, &g);
	assert_true(new_master == 1 || new_master == 2);

	/* A glock 3 neither mastered nor held keeps granting before any fencing. */
	assert_int_equal(op(2, GLOCK_OP_LOCK, &other, GLOCK_MODE_EX, 0, &ro), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, ro), 1);

	/* The holder's report kept its grant: 2 still waits, and 1 is asked again. */
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0);
	assert_int_equal(release_lvb(1, &g, 0x22), 0);
	deliver_all();
	/* 3's placeholder (what it may have granted before dying) blocks until recovered. */
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0);
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0); /* not NOEXP */
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	gr = last(2, GLOCK_OUT_GRANT);
	assert_int_equal(gr->lvb[0], 0x22);
}

static void test_waiter_survives_master_crash(void **state)
{
	struct glock_name g;
	uint64_t r1;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(3, 100);
	/* The LOCK is lost with its master: the report to the new one carries it. */
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, GLOCK_FLAG_NOEXP, &r1), 0);
	crash(3);
	ready_all();
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 0); /* placeholder, not fenced */
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1); /* NOEXP passes a fenced one */
	assert_int_equal(count(1, GLOCK_OUT_DENY, 0), 0);
}

static void link_reset(uint32_t a, uint32_t b)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_LINK_DOWN };

	C.link[a][b].n = C.link[b][a].n = 0;
	in.u.node.node = b;
	assert_int_equal(apply(a, &in), 0);
	in.u.node.node = a;
	assert_int_equal(apply(b, &in), 0);
	in.kind = GLOCK_P2P_IN_LINK_UP;
	assert_int_equal(apply(b, &in), 0);
	in.u.node.node = b;
	assert_int_equal(apply(a, &in), 0);
}

/*
 * A master that comes back must see generations newer than any it saw
 * before: node 3's glockd loses corosync (a fresh p2p), node 1's report
 * round of a link reset reaches the fresh one over the link that survived
 * and waits there for a configuration; node 3 departs and rejoins.  If
 * node 1 counted its generations for node 3 from zero again, node 3 would
 * take its report of the rejoin for an old one, answer with the stale
 * generation, and node 1 would drop the DEMOTE: nobody else ever gets G.
 */
static void test_a_master_back_sees_only_newer_generations(void **state)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct glock_name g;
	struct queue held;
	uint64_t r1, r3;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(3, 300);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	link_reset(1, 3); /* a first round, taken: node 1's generation for 3 goes up */
	deliver_all();
	link_reset(1, 3);
	held = C.link[1][3];
	C.link[1][3].n = C.link[3][1].n = 0;
	glock_p2p_free(C.node[3].p);
	node_start(3);
	while (held.n) {
		struct qmsg m = q_pop(&held);

		in.u.msg.from = m.from;
		in.u.msg.msg = &m.msg;
		(void)apply(3, &in); /* no configuration yet: kept for one */
	}
	C.members[0] = 1;
	C.members[1] = 2;
	C.n_members = 2;
	C.departed[0] = 3;
	C.n_departed = 1;
	confchg();
	ready_all();
	deliver_all();
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();
	C.members[2] = 3;
	C.n_members = 3;
	confchg();
	ready_all();
	deliver_all();
	assert_int_equal(glock_p2p_master_of(C.node[1].p, &g), 3);

	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_DEMOTE, 0), 1);
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
}

static void test_grant_lost_on_reset_is_sent_again(void **state)
{
	struct glock_name g;
	uint64_t r1, r3;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct qmsg m;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(2, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	m = q_pop(&C.link[1][2]);
	in.u.msg.from = 1;
	in.u.msg.msg = &m.msg;
	assert_int_equal(apply(2, &in), 0); /* the master grants ... */
	assert_int_equal(C.link[2][1].n, 1);
	link_reset(1, 2); /* ... and the GRANT is lost */
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	/* The master's table agrees: a second EX waits and demotes node 1. */
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 0);
	assert_non_null(last(1, GLOCK_OUT_DEMOTE));
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
}

static void test_release_lost_on_reset_is_reported(void **state)
{
	struct glock_name g;
	uint64_t r1, r3;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(2, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	assert_int_equal(release_lvb(1, &g, 0x77), 0);
	link_reset(1, 2); /* the RELEASE never arrives */
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	assert_int_equal(last(3, GLOCK_OUT_GRANT)->lvb[0], 0x77);
}

static void test_reset_loses_everything_local(void **state)
{
	struct glock_name g, h;
	uint64_t r1, r2;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };
	struct glock_p2p_stats st;

	(void)state;
	cluster_up(2);
	g = name_mastered_by(2, 100);
	h = name_mastered_by(2, g.number + 1);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(op(2, GLOCK_OP_LOCK, &h, GLOCK_MODE_EX, 0, &r2), 0);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &h, GLOCK_MODE_EX, 0, &r2), 0);
	assert_int_equal(apply(1, &in), 0);
	assert_int_equal(count(1, GLOCK_OUT_LOST, 0), 1);
	assert_int_equal(count(1, GLOCK_OUT_DENY, r2), 1);
	assert_int_equal(last(1, GLOCK_OUT_DENY)->reason, GLOCK_DENY_LOST);
	glock_p2p_stats(C.node[1].p, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.mastered, 0);
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): 2 sends LOCK to G's master
 * 1; 4 joins before the LOCK arrives and G stays with 1, so 2 reports
 * nothing; 2's DONE for the new configuration (CPG) reaches 1 before the
 * LOCK (link).  The master dropped it as sent in an earlier configuration:
 * 2 waited for ever.
 */
static void test_request_from_previous_configuration_is_not_lost(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 4 };
	struct glock_name g = { .lockspace = "fs", .type = 2 };
	uint64_t r;

	(void)state;
	cluster_up(3);
	for (g.number = 100; g.number < 10100; g.number++)
		if (glock_master_of(&g, three, 3) == 1 && glock_master_of(&g, four, 4) == 1)
			break;
	assert_int_equal(glock_master_of(&g, four, 4), 1);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r), 0);
	assert_int_equal(C.link[2][1].n, 1); /* the LOCK is on its way */
	node_start(4);
	C.members[C.n_members++] = 4;
	confchg();
	ready_all();
	deliver_cpg(); /* every DONE is in before the LOCK arrives */
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r), 1);
}

/* A name whose master is a among members x[] and b among y[]. */
static struct glock_name name_moving(const uint32_t *x, size_t nx, uint32_t a, const uint32_t *y,
				     size_t ny, uint32_t b, uint64_t from)
{
	struct glock_name n = { .lockspace = "fs", .type = 2 };

	for (n.number = from; n.number < from + 100000; n.number++)
		if (glock_master_of(&n, x, nx) == a && glock_master_of(&n, y, ny) == b)
			return n;
	fail_msg("no such name");
	return n;
}

/* Delivers the head of the CPG queue, whatever the p2p says of it. */
static void deliver_cpg_head(void)
{
	struct qmsg m = q_pop(&C.cpg);
	size_t i;

	for (i = 0; i < C.n_members; i++) {
		struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_DONE };

		if (m.to == 0) {
			in.u.node.node = m.from;
		} else {
			if (C.members[i] != m.to)
				continue;
			in.kind = GLOCK_P2P_IN_MSG;
			in.u.msg.from = m.from;
			in.u.msg.msg = &m.msg;
		}
		(void)apply(C.members[i], &in);
	}
}

static void deliver_link_head(uint32_t from, uint32_t to)
{
	struct qmsg m = q_pop(&C.link[from][to]);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };

	in.u.msg.from = m.from;
	in.u.msg.msg = &m.msg;
	assert_int_equal(apply(to, &in), 0);
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): 1 waits for A at 2; 3
 * dies and B, which 1 holds, moves to 2: 1 reports B under a new
 * generation.  2 grants A before it reads that report; 1 drops the GRANT
 * (old generation).  A was not in the round, so nothing sent it again.
 */
static void test_grant_outside_report_round_is_sent_again(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_name a, b;
	uint64_t ra, rb, r2;

	(void)state;
	cluster_up(3);
	a = name_moving(three, 3, 2, two, 2, 2, 100);
	b = name_moving(three, 3, 3, two, 2, 2, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &b, GLOCK_MODE_SH, 0, &rb), 0);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &a, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, rb), 1);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &a, GLOCK_MODE_EX, 0, &ra), 0);
	deliver_all(); /* 1 waits behind 2 */
	crash(3);
	ready_all();
	assert_int_equal(op(2, GLOCK_OP_RELEASE, &a, GLOCK_MODE_UN, 0, NULL), 0);
	assert_int_equal(C.link[2][1].n, 1); /* the GRANT, under the old generation */
	deliver_link_head(2, 1);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, ra), 0);
	deliver_all(); /* the reports */
	assert_int_equal(count(1, GLOCK_OUT_GRANT, ra), 1);
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): 1 holds G (master 2) and
 * H (master 3); 3 dies, H moves to 2 and 1's round to 2 reports both.  2
 * reads H's REPORT (the new generation), then 1's RELEASE of G (link),
 * then G's REPORT (CPG) saying EX: 1's EX came back for good and the next
 * EX waiter starved.
 */
static void test_release_overtaking_its_report_is_not_undone(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_name g, h, first, second;
	uint64_t rg, rh, r2;
	size_t i;

	(void)state;
	cluster_up(3);
	/* The requester reports in hash-bucket order: H's REPORT goes first. */
	h = name_moving(three, 3, 3, two, 2, 2, 100);
	g = name_moving(three, 3, 2, two, 2, 2, 100);
	while ((glock__name_hash(&g) & 63) <= (glock__name_hash(&h) & 63))
		g = name_moving(three, 3, 2, two, 2, 2, g.number + 1);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &rg), 0);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &h, GLOCK_MODE_EX, 0, &rh), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, rg), 1);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, rh), 1);
	crash(3);
	ready_all();
	/* CPG up to 1's first REPORT for 2. */
	for (i = 0; C.cpg.n; i++) {
		struct qmsg *m = &C.cpg.v[C.cpg.head];
		bool report = m->from == 1 && m->to == 2;

		if (report)
			first = m->msg.name;
		deliver_cpg_head();
		if (report)
			break;
	}
	assert_int_equal(glock_name_compare(&first, &h), 0);
	second = g;
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &second, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_link_head(1, 2);
	deliver_all(); /* the second REPORT, the DONEs */
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &second, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): 1 reports G to itself at
 * a change, then RESETs (quorum lost) before the REPORT is delivered.  The
 * REPORT of its old life came after the reset and made every later
 * request of its new life (generations again from 0) look stale.
 */
static void test_report_from_before_a_reset_is_dropped(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };
	struct glock_name g;
	uint64_t r;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 3, two, 2, 1, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 1);
	crash(3); /* 1 reports G to itself: in the CPG queue */
	assert_int_equal(apply(1, &in), 0);
	assert_int_equal(count(1, GLOCK_OUT_LOST, 0), 1);
	while (C.cpg.n)
		deliver_cpg_head(); /* the old REPORT reaches the reset node */
	confchg(); /* it is configured again, as after its next change */
	ready_all();
	while (C.cpg.n)
		deliver_cpg_head();
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r), 1);
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): 1 holds DF and converts
 * to SH; the master 3 grants it, then SH to 2, and dies with 1's GRANT.
 * 1 reports DF with the conversion pending, 2 reports SH; 1 cancels.
 * Cancelled, 1 would use DF again next to 2's SH.
 */
static void test_conversion_granted_by_a_dead_master_is_granted_again(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_name g;
	uint64_t r1, rc, r2;
	uint32_t m;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 3, two, 2, 1, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_DF, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_equal(op(1, GLOCK_OP_CONVERT, &g, GLOCK_MODE_SH, 0, &rc), 0);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r2), 0);
	deliver_link_head(1, 3); /* the conversion is granted ... */
	deliver_link_head(2, 3);
	deliver_link_head(3, 2); /* ... and 2's SH next to it */
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	crash(3); /* with 1's GRANT */
	m = glock_p2p_master_of(C.node[1].p, &g);
	assert_int_equal(m, 1);
	assert_int_equal(op(1, GLOCK_OP_CANCEL, &g, GLOCK_MODE_UN, 0, &rc), 0);
	ready_all();
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_DENY, rc), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, rc), 1);
}

/* As above, the cancel sent before the crash: the REPORT carries it. */
static void test_reported_cancel_of_a_granted_conversion_is_granted(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_name g;
	uint64_t r1, rc, r2;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 3, two, 2, 1, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_DF, 0, &r1), 0);
	deliver_all();
	assert_int_equal(op(1, GLOCK_OP_CONVERT, &g, GLOCK_MODE_SH, 0, &rc), 0);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r2), 0);
	deliver_link_head(1, 3);
	deliver_link_head(2, 3);
	deliver_link_head(3, 2);
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	assert_int_equal(op(1, GLOCK_OP_CANCEL, &g, GLOCK_MODE_UN, 0, &rc), 0); /* lost with 3 */
	crash(3);
	ready_all();
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_DENY, rc), 0);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, rc), 1);
}

/* One node's configuration change; its DONE follows its reports in CPG. */
static void confchg_one(uint32_t id)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_CONFCHG };

	in.u.confchg.members = C.members;
	in.u.confchg.n_members = C.n_members;
	in.u.confchg.departed = C.departed;
	in.u.confchg.n_departed = C.n_departed;
	assert_int_equal(apply(id, &in), 0);
	q_push(&C.cpg, id, 0, NULL);
}

/*
 * Problem scenario (p2p-sim --nodes 7 --seed 991): 1 holds G in SH; G's
 * master 3 dies and G moves to 2.  1 sees the change, its link to 2 comes
 * up and it reports G over the link; 2 reads that report while still in
 * the configuration where 3 masters G.  Dropped there but its generation
 * taken, it made 1's REPORT through CPG look older: 2 rebuilt G without
 * 1's SH and granted EX next to it.
 */
static void report_not_reached(bool seen_before)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_name g;
	uint64_t r1, r2;
	uint32_t j;

	if (seen_before) {
		/* {1, 2} was a configuration before: the same id as the one to come. */
		cluster_up(2);
		node_start(3);
		memcpy(C.members, three, sizeof(three));
		C.n_members = 3;
		confchg();
		ready_all();
		deliver_all();
	} else {
		cluster_up(3);
	}
	g = name_moving(three, 3, 3, two, 2, 2, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);

	/* 3 dies; only 1 has read the change yet. */
	C.node[3].up = false;
	glock_p2p_free(C.node[3].p);
	C.node[3].p = NULL;
	for (j = 1; j <= N_MAX; j++)
		C.link[3][j].n = C.link[j][3].n = 0;
	memcpy(C.members, two, sizeof(two));
	C.n_members = 2;
	C.departed[C.n_departed++] = 3;
	confchg_one(1);
	link_reset(1, 2); /* 1 reports G to 2 over the new link */
	assert_true(C.link[1][2].n > 0);
	while (C.link[1][2].n)
		deliver_link_head(1, 2);
	confchg_one(2);
	ready_all();
	deliver_all();
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();

	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0); /* 1 still holds SH */
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
}

static void test_report_from_a_configuration_not_reached_waits(void **state)
{
	(void)state;
	report_not_reached(false);
}

/* As above, {1, 2} a configuration before (p2p-sim --nodes 9 --seed 1668). */
static void test_report_from_a_configuration_not_reached_waits_same_members(void **state)
{
	(void)state;
	report_not_reached(true);
}

/*
 * Problem scenario (p2p-sim --nodes 5 --seed 197): 2 and 3 are left
 * without quorum; 3 reports G (SH, its copy of the LVB) to 2, G's master
 * there, and both RESET before 2 reads the report.  The report waited for
 * 2's next configuration and was taken: 3's old life held SH in 2's
 * table (4's EX waited for good) and its stale copy became the LVB.
 */
static void test_report_from_the_configuration_of_a_reset_is_dropped(void **state)
{
	const uint32_t four[] = { 1, 2, 3, 4 }, two[] = { 2, 3 }, three[] = { 2, 3, 4 };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };
	struct glock_p2p_input down = { .kind = GLOCK_P2P_IN_OP };
	struct glock_name g = { .lockspace = "fs", .type = 2 };
	const struct rec *gr;
	uint64_t r3, r4;

	(void)state;
	cluster_up(4);
	for (g.number = 100;; g.number++)
		if (glock_master_of(&g, four, 4) == 1 && glock_master_of(&g, two, 2) == 2 &&
		    glock_master_of(&g, three, 3) == 2)
			break;
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	down.u.op = (struct glock_op){
		.kind = GLOCK_OP_CONVERT, .node = 3, .req_id = ++C.req, .name = g,
		.mode = GLOCK_MODE_SH, .lvb_valid = true,
	};
	memset(down.u.op.lvb, 0x33, GLOCK_LVB_LEN);
	assert_int_equal(apply(3, &down), 0); /* 3 holds SH, its copy 0x33 */
	deliver_all();

	/* 1 and 4 go at once: 3 reports G to 2, then both RESET. */
	C.node[1].up = C.node[4].up = false;
	glock_p2p_free(C.node[1].p);
	glock_p2p_free(C.node[4].p);
	C.node[1].p = C.node[4].p = NULL;
	memset(C.link, 0, sizeof(C.link));
	memcpy(C.members, two, sizeof(two));
	C.n_members = 2;
	C.departed[0] = 1;
	C.departed[1] = 4;
	C.n_departed = 2;
	confchg();
	assert_int_equal(apply(2, &in), 0);
	assert_int_equal(apply(3, &in), 0);
	while (C.cpg.n)
		deliver_cpg_head(); /* 3's REPORT reaches the reset 2 */

	/* 4 comes back; 2 masters G again, 3 holds nothing in its new life. */
	node_start(4);
	memcpy(C.members, three, sizeof(three));
	C.n_members = 3;
	C.n_departed = 0;
	confchg();
	ready_all();
	deliver_all();
	assert_int_equal(op(4, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r4), 0);
	deliver_all();
	assert_int_equal(count(4, GLOCK_OUT_GRANT, r4), 1);
	gr = last(4, GLOCK_OUT_GRANT);
	assert_int_not_equal(gr->lvb[0], 0x33); /* lost with the reset, not 3's old copy */
}

/*
 * Problem scenario (p2p-sim --stalls --nodes 3-5 --seed 143): 3 holds G
 * in SH (master 1); its link to 1 comes back and it reports G over it,
 * but 1 has seen 3 depart: the REPORT, from a node that is no member,
 * waits.  3's glockd starts again and joins: the old REPORT was taken as
 * the new glockd's (both started their generations at 0), 1 kept an SH
 * nobody holds and 2's EX waited for good.  Every start of glockd begins
 * its generations above the one before (cfg.first_life).
 */
static void test_report_of_an_earlier_start_of_glockd_is_dropped(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 };
	struct glock_p2p_input down = { .kind = GLOCK_P2P_IN_LINK_DOWN, .u.node.node = 1 };
	struct glock_p2p_input up = { .kind = GLOCK_P2P_IN_LINK_UP, .u.node.node = 1 };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct glock_p2p_stats st;
	struct glock_name g;
	struct qmsg old;
	uint64_t r3, r2;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 1, two, 2, 1, 100);
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r3), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	assert_int_equal(apply(3, &down), 0);
	assert_int_equal(apply(3, &up), 0); /* 3 reports G to 1 over the link */
	assert_int_equal(C.link[3][1].n, 1);
	old = q_pop(&C.link[3][1]);
	assert_int_equal(old.msg.kind, GLOCK_P2P_REPORT);

	crash(3);
	in.u.msg.from = 3;
	in.u.msg.msg = &old.msg;
	assert_int_equal(apply(1, &in), 0);
	glock_p2p_stats(C.node[1].p, &st);
	assert_int_equal(st.parked, 1); /* from a node that is no member */
	ready_all();
	deliver_all();
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();

	node_start_life(3, 1); /* a later start of glockd */
	memcpy(C.members, three, sizeof(three));
	C.n_members = 3;
	confchg();
	ready_all();
	deliver_all();
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
}

/*
 * Problem scenario (p2p-sim --nodes 8 --seed 302): 2 holds G in EX (master
 * 3); 4 joins and G stays with 3.  3 sees the change first; 2 converts to
 * SH writing the LVB (parked at 3 until 2's DONE), then sees the change
 * and releases.  The RELEASE, of the new configuration, was taken at once:
 * it overtook the CONVERT and the LVB written was lost.
 */
static void test_request_behind_a_parked_one_keeps_its_order(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 4 };
	struct glock_p2p_input down = { .kind = GLOCK_P2P_IN_OP };
	struct glock_name g;
	uint64_t r2, r1;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 3, four, 4, 3, 100);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r1), 0);
	deliver_all(); /* 1 waits: G stays in 3's table */
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 0);

	node_start(4);
	memcpy(C.members, four, sizeof(four));
	C.n_members = 4;
	confchg_one(3);
	down.u.op = (struct glock_op){
		.kind = GLOCK_OP_CONVERT, .node = 2, .req_id = ++C.req, .name = g,
		.mode = GLOCK_MODE_SH, .lvb_valid = true,
	};
	memset(down.u.op.lvb, 0x44, GLOCK_LVB_LEN);
	assert_int_equal(apply(2, &down), 0);
	deliver_link_head(2, 3); /* parked: 2 is behind */
	confchg_one(2);
	assert_int_equal(op(2, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_link_head(2, 3);
	confchg_one(1);
	confchg_one(4);
	ready_all();
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_equal(last(1, GLOCK_OUT_GRANT)->lvb[0], 0x44);
}

/*
 * Problem scenario (p2p-sim --nodes 3 --seed 795): 3 releases G writing
 * the LVB; 2, G's master, applies it, G goes idle and 2 forgets it; 1
 * takes G (made again at LVB sequence 0) before 3 has read its RELEASED;
 * 4 joins and gains G.  3 reports its release in flight (sequence 1), 1
 * its EX (sequence 0): 3's stale copy became the LVB.
 */
static void test_glock_made_again_starts_above_its_old_lvb_sequence(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 4 };
	struct glock_name g;
	uint64_t r3, r1, r2;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 2, four, 4, 4, 100);
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_all();
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	assert_int_equal(release_lvb(3, &g, 0x33), 0);
	deliver_link_head(3, 2); /* applied, G idle; the RELEASED stays in flight */
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_link_head(1, 2);
	deliver_link_head(2, 1);
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);

	node_start(4);
	memcpy(C.members, four, sizeof(four));
	C.n_members = 4;
	confchg(); /* 1 reports EX, 3 its release in flight */
	ready_all();
	deliver_all();
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r2), 0);
	deliver_all(); /* 2 waits for 1's EX */
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 0);
	assert_int_equal(op(1, GLOCK_OP_RELEASE, &g, GLOCK_MODE_UN, 0, NULL), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	assert_int_not_equal(last(2, GLOCK_OUT_GRANT)->lvb[0], 0x33);
}

/*
 * Problem scenario (p2p-sim --nodes 3 --seed 1419): 4 joins and gains G;
 * 1 sees it first.  2, still in the configuration without 4, reports G
 * over a new link to 1, G's master there: the report waits at 1 (which
 * configuration it is of the id cannot say).  Had its generation waited
 * with it, 2's LOCK of H under that generation would wait for good.
 */
static void test_stale_report_parked_lets_its_generation_count(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 4 };
	struct glock_name g, h;
	uint64_t rg, rh;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 1, four, 4, 4, 100);
	h = name_moving(three, 3, 1, four, 4, 1, 100);
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &rg), 0);
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, rg), 1);

	node_start(4); /* 4 joins and gains G; 1 sees it first */
	memcpy(C.members, four, sizeof(four));
	C.n_members = 4;
	confchg_one(1);
	link_reset(1, 2); /* 2, behind, reports G to 1 */
	assert_int_equal(op(2, GLOCK_OP_LOCK, &h, GLOCK_MODE_EX, 0, &rh), 0);
	while (C.link[2][1].n)
		deliver_link_head(2, 1);
	confchg_one(2);
	confchg_one(3);
	confchg_one(4);
	ready_all();
	deliver_all();
	assert_int_equal(count(2, GLOCK_OUT_GRANT, rh), 1);
}

/*
 * Problem scenario (p2p-sim --nodes 9 --seed 923, --nodes 3 --seed 915):
 * 1 releases G writing 0x11; G's master 2 applies it and grants 3's EX,
 * 1's RELEASED stays in flight; 3 writes 0x22 and is answered; G goes
 * idle at 2.
 * 4 joins and gains G: 1 reports its release in flight, nobody else has
 * G.  Its copy was taken and 0x11 came back while 3's later write was
 * lost with no one saying so.  (915: the copy's sequence also beat the
 * one of a holder granted since, by a master that had lost the LVB.)
 */
static void test_release_in_flight_to_an_old_master_gives_no_lvb(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 4 };
	struct glock_name g;
	uint64_t r1, r3;

	(void)state;
	cluster_up(3);
	g = name_moving(three, 3, 2, four, 4, 4, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_equal(op(3, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r3), 0);
	deliver_link_head(3, 2); /* 3 waits, 2 asks 1 to demote */
	assert_int_equal(release_lvb(1, &g, 0x11), 0);
	deliver_link_head(1, 2); /* applied; the RELEASED stays in flight */
	deliver_link_head(2, 3);
	assert_int_equal(count(3, GLOCK_OUT_GRANT, r3), 1);
	assert_int_equal(last(3, GLOCK_OUT_GRANT)->lvb[0], 0x11);
	assert_int_equal(release_lvb(3, &g, 0x22), 0);
	deliver_link_head(3, 2);
	deliver_link_head(2, 3); /* 3 is answered, G idle at 2 */
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r1), 0);

	node_start(4);
	memcpy(C.members, four, sizeof(four));
	C.n_members = 4;
	confchg(); /* 1 reports its LOCK and its release in flight to 4 */
	ready_all();
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_not_equal(last(1, GLOCK_OUT_GRANT)->lvb[0], 0x11);
}

/* The same with the old master dead: what it applied since died with it. */
static void test_release_in_flight_to_a_dead_master_gives_no_lvb(void **state)
{
	struct glock_name g;
	uint64_t r1, r2;

	(void)state;
	cluster_up(3);
	g = name_mastered_by(3, 100);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r1), 0);
	deliver_all();
	assert_int_equal(release_lvb(1, &g, 0x11), 0);
	deliver_link_head(1, 3); /* applied; the RELEASED stays in flight */
	assert_int_equal(op(2, GLOCK_OP_LOCK, &g, GLOCK_MODE_EX, 0, &r2), 0);
	deliver_link_head(2, 3);
	deliver_link_head(3, 2);
	assert_int_equal(count(2, GLOCK_OUT_GRANT, r2), 1);
	assert_int_equal(release_lvb(2, &g, 0x22), 0);
	deliver_link_head(2, 3);
	deliver_link_head(3, 2);
	assert_int_equal(op(1, GLOCK_OP_LOCK, &g, GLOCK_MODE_SH, 0, &r1), 0);

	crash(3); /* 1 reports its LOCK and its release in flight */
	ready_all();
	deliver_all();
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 3);
	deliver_all();
	assert_int_equal(count(1, GLOCK_OUT_GRANT, r1), 1);
	assert_int_not_equal(last(1, GLOCK_OUT_GRANT)->lvb[0], 0x11);
}


/* ---- POSIX locks (DESIGN §9.2) ---- */

static struct glock_name file_mastered_by(uint32_t master, uint64_t from)
{
	struct glock_name n = { .lockspace = "fs", .type = 7 };

	for (n.number = from; n.number < from + 10000; n.number++)
		if (glock_master_of(&n, C.members, C.n_members) == master)
			return n;
	fail_msg("no file mastered by %u", master);
	return n;
}

static int plock(uint32_t id, enum glock_plock_op_kind kind, const struct glock_name *name,
		 uint64_t owner, enum glock_plock_type type, uint64_t start, uint64_t end,
		 bool wait, uint64_t *req)
{
	struct glock_plock_op o = {
		.kind = kind, .req_id = ++C.req, .name = *name, .wait = wait,
		.lock = { .owner = { .node = id, .id = owner, .pid = (uint32_t)(1000 + owner) },
			  .type = type, .start = start, .end = end },
	};
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_PLOCK, .u.plock = &o };

	if (kind == GLOCK_PLOCK_OP_CANCEL)
		o.req_id = *req;
	else if (req)
		*req = o.req_id;
	return apply(id, &in);
}

/* The node's answers to req: how many, and the last one in *ret. */
static size_t answers(uint32_t id, uint64_t req, struct glock_plock_answer *ret)
{
	size_t i, n = 0;

	for (i = 0; i < C.node[id].n_pl; i++) {
		if (C.node[id].pl[i].req_id != req)
			continue;
		n++;
		if (ret)
			*ret = C.node[id].pl[i];
	}
	return n;
}

static int answer_status_at(uint32_t id, uint64_t req, int line)
{
	struct glock_plock_answer a = { 0 };

	_assert_int_equal(answers(id, req, &a), 1, __FILE__, line);
	return a.status;
}
#define answer_status(id, req) answer_status_at(id, req, __LINE__)

static struct glock_p2p_plock_stats pstats(uint32_t id)
{
	struct glock_p2p_plock_stats st;

	glock_p2p_plock_stats(C.node[id].p, &st);
	return st;
}

static void test_plock_local_master_costs_no_network(void **state)
{
	struct glock_name f;
	uint64_t r;

	(void)state;
	cluster_up(3);
	f = file_mastered_by(1, 100);
	C.node[1].sends = 0;
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 7, GLOCK_PLOCK_WR, 0, 9, false, &r), 0);
	assert_int_equal(answer_status(1, r), 0);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_UNLOCK, &f, 7, GLOCK_PLOCK_WR, 0, 9, false, &r), 0);
	assert_int_equal(answer_status(1, r), 0);
	assert_int_equal(C.node[1].sends, 0);
	assert_int_equal(pstats(1).files, 0); /* nothing left behind */
}

static void test_plock_conflicts_across_nodes(void **state)
{
	struct glock_name f;
	uint64_t ra, rb, rc, rg;
	struct glock_plock_answer a = { 0 };

	(void)state;
	cluster_up(3);
	f = file_mastered_by(2, 100);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 99, false, &ra), 0);
	deliver_all();
	assert_int_equal(answer_status(1, ra), 0);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 50, 60, false, &rb), 0);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_RD, 100, 200, false, &rc),
			 0);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_GET, &f, 2, GLOCK_PLOCK_RD, 10, 10, false, &rg), 0);
	deliver_all();
	/* Same owner id on another node is another owner. */
	assert_int_equal(answer_status(3, rb), -EAGAIN);
	assert_int_equal(answer_status(3, rc), 0);
	assert_int_equal(answers(3, rg, &a), 1);
	assert_int_equal(a.status, 0);
	assert_true(a.conflict_found);
	assert_int_equal(a.conflict.owner.node, 1);
	assert_int_equal(a.conflict.owner.pid, 1001);
	assert_int_equal(a.conflict.type, GLOCK_PLOCK_WR);
	assert_int_equal(a.conflict.start, 0);
	assert_int_equal(a.conflict.end, 99);
	assert_int_equal(pstats(2).locks, 2);
}

static void test_plock_waiter_granted_at_unlock_and_cancel(void **state)
{
	struct glock_name f;
	uint64_t ra, rb, rc, ru;

	(void)state;
	cluster_up(3);
	f = file_mastered_by(2, 100);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 99, false, &ra), 0);
	deliver_all();
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 50, 60, true, &rb), 0);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 2, GLOCK_PLOCK_RD, 90, 95, true, &rc), 0);
	deliver_all();
	assert_int_equal(answers(3, rb, NULL), 0);
	assert_int_equal(answers(3, rc, NULL), 0);
	/* A signal: the waiter withdraws, and says so once. */
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_CANCEL, &f, 2, GLOCK_PLOCK_RD, 0, 0, false, &rc), 0);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_CANCEL, &f, 2, GLOCK_PLOCK_RD, 0, 0, false, &rc),
			 -ENOENT);
	deliver_all();
	assert_int_equal(answer_status(3, rc), -EINTR);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_UNLOCK, &f, 1, GLOCK_PLOCK_WR, 0, 99, false, &ru),
			 0);
	deliver_all();
	assert_int_equal(answer_status(1, ru), 0);
	assert_int_equal(answer_status(3, rb), 0);
	assert_int_equal(answers(3, rc, NULL), 1); /* the cancelled one stays cancelled */
	assert_int_equal(pstats(2).locks, 1);
	assert_int_equal(pstats(2).waiters, 0);
}

/*
 * The master dies: the file's new master rebuilds it from what the
 * holders report, the waiter's request goes to it again, and nothing is
 * granted over the locks the dead master held itself until it is fenced.
 */
static void test_plock_master_crash_rebuilds_from_reports(void **state)
{
	struct glock_name f;
	uint64_t r1, r2, r3, ru;
	uint32_t m;

	(void)state;
	cluster_up(4);
	f = file_mastered_by(4, 100);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r1), 0);
	assert_int_equal(plock(4, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 20, 29, false, &r3),
			 0);
	deliver_all();
	assert_int_equal(answer_status(1, r1), 0);
	assert_int_equal(answer_status(4, r3), 0);
	assert_int_equal(plock(2, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 29, true, &r2), 0);
	deliver_all();
	assert_int_equal(answers(2, r2, NULL), 0);

	crash(4);
	ready_all();
	deliver_all();
	m = glock_p2p_master_of(C.node[1].p, &f);
	assert_true(m >= 1 && m <= 3);
	assert_int_equal(pstats(m).locks, 1); /* 1's report; 2's request parked or queued */
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_UNLOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &ru),
			 0);
	deliver_all();
	assert_int_equal(answer_status(1, ru), 0);
	/* 4 may still hold 20-29 (its own locks were in its own table): not yet. */
	assert_int_equal(answers(2, r2, NULL), 0);
	departed_event(GLOCK_P2P_IN_FENCED, 4);
	deliver_all();
	assert_int_equal(answer_status(2, r2), 0);
	assert_int_equal(pstats(m).locks, 1);
	assert_int_equal(pstats(m).parked, 0);
}

/* A file whose master stays keeps the dead node's locks until it is fenced. */
static void test_plock_dead_holders_locks_go_at_fencing(void **state)
{
	struct glock_name f;
	uint64_t r3, r2;

	(void)state;
	cluster_up(3);
	f = file_mastered_by(1, 100);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 9, GLOCK_PLOCK_RD, 0, 0, false, &r3), 0);
	deliver_all();
	assert_int_equal(answer_status(3, r3), 0);
	crash(3);
	ready_all();
	deliver_all();
	if (glock_p2p_master_of(C.node[1].p, &f) != 1)
		skip(); /* the rendezvous moved it: the other test covers that */
	assert_int_equal(plock(2, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 0, true, &r2), 0);
	deliver_all();
	assert_int_equal(answers(2, r2, NULL), 0);
	departed_event(GLOCK_P2P_IN_FENCED, 3);
	deliver_all();
	assert_int_equal(answer_status(2, r2), 0);
}

/*
 * A grant lost with a broken link: the requester reports what it holds
 * and asks again; the master's table then says what the requester
 * believes (no lock it was never told of is left behind).
 */
static void test_plock_answer_lost_with_the_link_is_asked_again(void **state)
{
	struct glock_name f;
	uint64_t r, rg;
	struct glock_plock_answer a = { 0 };

	(void)state;
	cluster_up(3);
	f = file_mastered_by(2, 100);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r), 0);
	assert_true(deliver_one_link()); /* the LOCK reaches 2, the answer is queued */
	link_reset(1, 2);
	deliver_all();
	assert_int_equal(answer_status(1, r), 0);
	assert_int_equal(pstats(2).locks, 1);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_GET, &f, 1, GLOCK_PLOCK_RD, 5, 5, false, &rg), 0);
	deliver_all();
	assert_int_equal(answers(3, rg, &a), 1);
	assert_true(a.conflict_found);
	assert_int_equal(a.conflict.owner.node, 1);
}

/*
 * An op in flight when the file's master changes: the old master's answer
 * is dropped, the new one's counts, and the new master's table agrees.
 */
static void test_plock_op_in_flight_at_a_master_change(void **state)
{
	struct glock_name f;
	uint64_t r, rg;
	struct glock_plock_answer a = { 0 };
	uint32_t m_new;

	(void)state;
	cluster_up(3);
	/* A file mastered by 2 now and by the joiner 4 later. */
	for (f = file_mastered_by(2, 100);; f = file_mastered_by(2, f.number + 1)) {
		uint32_t four[] = { 1, 2, 3, 4 };

		if (glock_master_of(&f, four, 4) == 4)
			break;
	}
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_RD, 0, 9, false, &r), 0);
	assert_true(deliver_one_link()); /* 2 grants; its answer is on the link */
	node_start(4);
	C.members[C.n_members++] = 4;
	confchg();
	ready_all();
	deliver_all();
	assert_int_equal(answer_status(1, r), 0);
	m_new = glock_p2p_master_of(C.node[1].p, &f);
	assert_int_equal(m_new, 4);
	assert_int_equal(pstats(2).files, 0);
	assert_int_equal(pstats(4).locks, 1);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_GET, &f, 1, GLOCK_PLOCK_WR, 0, 0, false, &rg), 0);
	deliver_all();
	assert_int_equal(answers(3, rg, &a), 1);
	assert_true(a.conflict_found);
}

static void test_plock_reset_answers_what_waits(void **state)
{
	struct glock_name f;
	struct glock_plock_answer a = { 0 };
	uint64_t ra, rb;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };

	(void)state;
	cluster_up(3);
	f = file_mastered_by(2, 100);
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &ra), 0);
	deliver_all();
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, true, &rb), 0);
	deliver_all();
	assert_int_equal(apply(3, &in), 0);
	assert_int_equal(answer_status(3, rb), -ENOLCK);
	assert_int_equal(answers(3, 0, NULL), 0); /* it held nothing */
	assert_int_equal(pstats(3).pending, 0);
	/* The holder is told its lock on f is gone, as LOST for a glock. */
	assert_int_equal(apply(1, &in), 0);
	assert_int_equal(answers(1, 0, &a), 1);
	assert_int_equal(a.status, -ENOLCK);
	assert_int_equal(glock_name_compare(&a.name, &f), 0);
}

static void test_plock_hostile_messages_change_nothing(void **state)
{
	struct glock_name f;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct glock_p2p_msg m = { .kind = GLOCK_P2P_PLOCK_LOCK, .req_id = 5, .plock_valid = true };
	uint64_t r;

	(void)state;
	cluster_up(3);
	f = file_mastered_by(2, 100);
	m.name = f;
	m.config_id = 0;
	m.plock = (struct glock_plock_lock){
		.owner = { .node = 1, .id = 1 }, .type = GLOCK_PLOCK_WR, .start = 0, .end = 9,
	};
	in.u.msg.from = 3; /* claims a lock for an owner of node 1 */
	in.u.msg.msg = &m;
	assert_int_equal(apply(2, &in), -EPROTO);
	m.plock.owner.node = 3;
	m.plock.start = 10; /* start past end */
	assert_int_equal(apply(2, &in), -EBADMSG);
	m.plock.start = 0;
	m.plock.type = 3;
	assert_int_equal(apply(2, &in), -EBADMSG);
	m.plock.type = GLOCK_PLOCK_WR;
	m.kind = GLOCK_P2P_PLOCK_ANSWER;
	m.status = 7; /* answers are 0 or -errno */
	assert_int_equal(apply(1, &in), -EBADMSG);
	assert_int_equal(pstats(2).locks, 0);
	/* Bad local ops are refused before anything is sent. */
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 9, 0, false, &r),
			 -EINVAL);
	assert_int_equal(plock(1, 9, &f, 1, GLOCK_PLOCK_WR, 0, 0, false, &r), -EINVAL);
	assert_int_equal(pstats(1).pending, 0);
}

/* Delivers the first message queued on the link from a to b. */
static void deliver_link(uint32_t a, uint32_t b)
{
	struct qmsg m;
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };

	assert_true(C.link[a][b].n > 0);
	m = q_pop(&C.link[a][b]);
	in.u.msg.from = m.from;
	in.u.msg.msg = &m.msg;
	assert_int_equal(apply(b, &in), 0);
}

/* A file mastered by master among 1-3, and by 4 once 4 joins. */
static struct glock_name file_moving_to_4(uint32_t master)
{
	struct glock_name f;
	uint32_t four[] = { 1, 2, 3, 4 };

	for (f = file_mastered_by(master, 100);; f = file_mastered_by(master, f.number + 1))
		if (glock_master_of(&f, four, 4) == 4)
			return f;
}

/*
 * An answer to an op's earlier send is not its answer: R's F_SETLK is
 * refused (EAGAIN on its way back), a change comes and R asks again, the
 * holder unlocks first.  Taken, the old EAGAIN would leave the master
 * granting R a lock R was told it did not get.
 */
static void test_plock_answer_to_an_earlier_send_is_dropped(void **state)
{
	struct glock_name f;
	uint64_t r3, r1, ru;
	uint32_t four[] = { 1, 2, 3, 4 };

	(void)state;
	cluster_up(3);
	/* Mastered by 2 with or without 4. */
	for (f = file_mastered_by(2, 100); glock_master_of(&f, four, 4) != 2;
	     f = file_mastered_by(2, f.number + 1))
		;
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r3), 0);
	deliver_all();
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r1), 0);
	deliver_link(1, 2); /* EAGAIN is queued back to 1 */
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_UNLOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &ru),
			 0);
	node_start(4);
	C.members[C.n_members++] = 4;
	confchg(); /* 1 sends its LOCK again */
	ready_all();
	deliver_link(3, 2); /* the unlock */
	deliver_all();
	assert_int_equal(answer_status(1, r1), 0);
	assert_int_equal(pstats(2).locks, 1);
}

/*
 * An op that lingers on a link while its file's master moves away and
 * back: the requester asked the interim master since, and was answered.
 * Taken when it arrives, it would give the old master a lock nobody
 * believes it holds.  Its sender's EPOCH of the last change drops it.
 */
static void test_plock_op_from_an_earlier_round_is_dropped(void **state)
{
	struct glock_name f;
	uint64_t r3, r1, ru;
	struct qmsg held;

	(void)state;
	cluster_up(3);
	f = file_moving_to_4(2);
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r3), 0);
	deliver_all();
	assert_int_equal(plock(1, GLOCK_PLOCK_OP_LOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &r1), 0);
	held = q_pop(&C.link[1][2]);
	node_start(4);
	C.members[C.n_members++] = 4;
	confchg();
	ready_all();
	deliver_all();
	assert_int_equal(answer_status(1, r1), -EAGAIN); /* from 4 */
	crash(4);
	ready_all();
	deliver_all();
	departed_event(GLOCK_P2P_IN_FENCED, 4);
	departed_event(GLOCK_P2P_IN_RECOVERY_DONE, 4);
	deliver_all();
	assert_int_equal(plock(3, GLOCK_PLOCK_OP_UNLOCK, &f, 1, GLOCK_PLOCK_WR, 0, 9, false, &ru),
			 0);
	deliver_all();
	assert_int_equal(answer_status(3, ru), 0);
	q_push(&C.link[1][2], held.from, held.to, &held.msg);
	deliver_all();
	assert_int_equal(pstats(2).locks, 0);
	assert_int_equal(answers(1, r1, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_local_master_costs_no_network, teardown),
		cmocka_unit_test_teardown(test_remote_round_trip, teardown),
		cmocka_unit_test_teardown(test_handoff_carries_lvb, teardown),
		cmocka_unit_test_teardown(test_op_errors_match_engine, teardown),
		cmocka_unit_test_teardown(test_hostile_messages_change_nothing, teardown),
		cmocka_unit_test_teardown(test_master_crash_rebuilds_from_reports, teardown),
		cmocka_unit_test_teardown(test_waiter_survives_master_crash, teardown),
		cmocka_unit_test_teardown(test_a_master_back_sees_only_newer_generations, teardown),
		cmocka_unit_test_teardown(test_grant_lost_on_reset_is_sent_again, teardown),
		cmocka_unit_test_teardown(test_release_lost_on_reset_is_reported, teardown),
		cmocka_unit_test_teardown(test_reset_loses_everything_local, teardown),
		cmocka_unit_test_teardown(test_request_from_previous_configuration_is_not_lost,
					  teardown),
		cmocka_unit_test_teardown(test_grant_outside_report_round_is_sent_again, teardown),
		cmocka_unit_test_teardown(test_release_overtaking_its_report_is_not_undone,
					  teardown),
		cmocka_unit_test_teardown(test_report_from_before_a_reset_is_dropped, teardown),
		cmocka_unit_test_teardown(test_conversion_granted_by_a_dead_master_is_granted_again,
					  teardown),
		cmocka_unit_test_teardown(test_reported_cancel_of_a_granted_conversion_is_granted,
					  teardown),
		cmocka_unit_test_teardown(test_report_from_a_configuration_not_reached_waits,
					  teardown),
		cmocka_unit_test_teardown(
			test_report_from_a_configuration_not_reached_waits_same_members, teardown),
		cmocka_unit_test_teardown(test_stale_report_parked_lets_its_generation_count,
					  teardown),
		cmocka_unit_test_teardown(test_report_from_the_configuration_of_a_reset_is_dropped,
					  teardown),
		cmocka_unit_test_teardown(test_report_of_an_earlier_start_of_glockd_is_dropped,
					  teardown),
		cmocka_unit_test_teardown(test_messages_carry_the_configuration_id_of_the_confchg,
					  teardown),
		cmocka_unit_test_teardown(test_request_behind_a_parked_one_keeps_its_order,
					  teardown),
		cmocka_unit_test_teardown(test_glock_made_again_starts_above_its_old_lvb_sequence,
					  teardown),
		cmocka_unit_test_teardown(test_release_in_flight_to_an_old_master_gives_no_lvb,
					  teardown),
		cmocka_unit_test_teardown(test_release_in_flight_to_a_dead_master_gives_no_lvb,
					  teardown),
		cmocka_unit_test_teardown(test_plock_local_master_costs_no_network, teardown),
		cmocka_unit_test_teardown(test_plock_conflicts_across_nodes, teardown),
		cmocka_unit_test_teardown(test_plock_waiter_granted_at_unlock_and_cancel, teardown),
		cmocka_unit_test_teardown(test_plock_master_crash_rebuilds_from_reports, teardown),
		cmocka_unit_test_teardown(test_plock_dead_holders_locks_go_at_fencing, teardown),
		cmocka_unit_test_teardown(test_plock_answer_lost_with_the_link_is_asked_again,
					  teardown),
		cmocka_unit_test_teardown(test_plock_op_in_flight_at_a_master_change, teardown),
		cmocka_unit_test_teardown(test_plock_reset_answers_what_waits, teardown),
		cmocka_unit_test_teardown(test_plock_hostile_messages_change_nothing, teardown),
		cmocka_unit_test_teardown(test_plock_answer_to_an_earlier_send_is_dropped,
					  teardown),
		cmocka_unit_test_teardown(test_plock_op_from_an_earlier_round_is_dropped, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
