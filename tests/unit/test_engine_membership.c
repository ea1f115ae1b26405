// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Membership, quorum and sync (DESIGN §2 "Expired grants", §3): departed
 * waiters and grants, fencing and recovery, quorum loss, rule 3, the sync
 * point and the snapshot transfer to a joiner.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine_harness.h"

#define G 42
#define G2 43

static int setup3(void **state)
{
	*state = h_cluster_new(3, false);
	return 0;
}

static int setup2(void **state)
{
	*state = h_cluster_new(2, false);
	return 0;
}

static int setup4(void **state)
{
	*state = h_cluster_new(4, false);
	return 0;
}

static int setup_blank2(void **state)
{
	*state = h_cluster_new_blank(2, false);
	return 0;
}

static int setup_blank3(void **state)
{
	*state = h_cluster_new_blank(3, false);
	return 0;
}

static int teardown(void **state)
{
	h_cluster_free(*state);
	return 0;
}

static struct h_rec lookup(struct h_cluster *c, uint32_t id, uint64_t number)
{
	struct h_rec rec;

	assert_true(h_lookup(c, id, number, &rec));
	return rec;
}

/* Node id leaves: its engine stops hearing the cluster, the rest see members. */
static void depart(struct h_cluster *c, uint32_t id, size_t n, const uint32_t *members)
{
	h_node(c, id)->active = false;
	assert_int_equal(h_confchg(c, n, members), 0);
}

static size_t departed(struct h_cluster *c, uint32_t id, struct glock_departed_rec *out)
{
	return glock_engine_departed(h_eng(c, id), out, 8);
}

/*
 * Node id (a new engine) joins: CONFCHG{members}, a HELLO from everyone
 * (old members synced), then QUORUM{from}: the sync point.
 */
static void join_to_sync_point(struct h_cluster *c, uint32_t id, size_t n,
			       const uint32_t *members, uint32_t quorum_from)
{
	size_t i;

	h_add_node(c, id, false);
	assert_int_equal(h_confchg(c, n, members), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(h_hello(c, members[i], members[i] != id), 0);
	assert_false(glock_engine_synced(h_eng(c, id)));
	assert_int_equal(h_quorum(c, quorum_from, true), 0);
}

/* ---- departures ---- */

static void test_departed_waiters_are_removed_and_the_queue_advances(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	struct glock_departed_rec d[8];

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	h_clear(c);
	depart(c, 3, 2, two);
	assert_int_equal(h_waiting(c, 1, G, 3), -1);
	assert_int_equal(h_waiting(c, 1, G, 2), 0);
	/* Node 3 held nothing: no fencing, no departed record. */
	assert_int_equal(h_count(c, 1, GLOCK_OUT_NEED_FENCE), 0);
	assert_int_equal(departed(c, 1, d), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	h_assert_consistent(c);
}

static void test_departed_grants_expire_keep_blocking_and_need_fence(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	struct glock_departed_rec d[8];
	struct h_rec rec;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	h_clear(c);
	depart(c, 3, 2, two);
	rec = lookup(c, 1, G);
	assert_int_equal(rec.n_holders, 0);
	assert_int_equal(rec.n_expired, 1);
	assert_int_equal(rec.expired[0].node, 3);
	assert_int_equal(rec.expired[0].mode, GLOCK_MODE_EX);
	o = h_find(c, 1, GLOCK_OUT_NEED_FENCE, H_ANY_REQ);
	assert_non_null(o);
	assert_int_equal(o->node, 3);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_NEED_FENCE), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_NEED_FENCE), 1);
	assert_int_equal(departed(c, 2, d), 1);
	assert_int_equal(d[0].node, 3);
	assert_false(d[0].fenced);

	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_waiting(c, 2, G, 1), 0);
	h_assert_consistent(c);
}

/*
 * A node gone with its corosync is fenced even holding nothing here: in
 * its own partition it may have delivered, and granted itself, its own
 * last ops (engine.h, confchg.lost).  One that left otherwise is not.
 */
static void test_a_node_lost_with_its_corosync_is_fenced_holding_nothing(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 }, lost[] = { 3 };
	struct glock_departed_rec d[8];
	struct glock_input in = h_confchg_in(2, two);

	in.u.confchg.lost = lost;
	in.u.confchg.n_lost = 1;
	h_node(c, 3)->active = false;
	assert_int_equal(h_apply(c, &in), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_NEED_FENCE), 1);
	assert_int_equal(departed(c, 2, d), 1);
	assert_int_equal(d[0].node, 3);
	assert_false(d[0].fenced);
	assert_true(d[0].unknown);
	assert_false(d[0].startup);
	h_assert_consistent(c);
}

/*
 * Problem scenario (the fault campaign's overlap, seed 338): node 3 asks
 * for EX on G as the network cuts it off; its own LOCK is delivered in its
 * own partition only, where it grants itself G.  Fencing it eventually is
 * not enough: nodes 1 and 2 must not grant G, or any glock (they cannot
 * tell which one it asked for), before it is fenced.
 */
static void test_nothing_is_granted_until_a_lost_node_is_fenced(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 }, lost[] = { 3 };
	struct glock_input in = h_confchg_in(2, two);

	in.u.confchg.lost = lost;
	in.u.confchg.n_lost = 1;
	h_node(c, 3)->active = false;
	assert_int_equal(h_apply(c, &in), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G2, GLOCK_MODE_SH, GLOCK_FLAG_NOEXP), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_fenced(c, 3), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_recovery_done(c, 3), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	h_assert_consistent(c);
}

/* With depart_all (the p2p lock path) the masters hold placeholders instead. */
static void test_a_lost_node_blocks_nothing_with_depart_all(void **state)
{
	struct glock_engine_config cfg;
	struct glock_engine *eng;
	struct glock_departed_rec d[4];
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 }, lost[] = { 3 };
	struct glock_input in = { .kind = GLOCK_IN_CONFCHG };
	size_t i;

	(void)state;
	glock_engine_config_defaults(&cfg, 1);
	cfg.depart_all = true;
	eng = glock_engine_new(&cfg, NULL, NULL);
	assert_non_null(eng);
	in.u.confchg.n_members = 3;
	in.u.confchg.members = three;
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	for (i = 0; i < 3; i++) {
		struct glock_input h = { .kind = GLOCK_IN_HELLO };

		h.u.hello.node = three[i];
		h.u.hello.config_id = glock_engine_config_id(eng);
		assert_int_equal(glock_engine_apply(eng, &h), 0);
	}
	in = (struct glock_input){ .kind = GLOCK_IN_CONFCHG };
	in.u.confchg.n_members = 2;
	in.u.confchg.members = two;
	in.u.confchg.n_lost = 1;
	in.u.confchg.lost = lost;
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	assert_int_equal(glock_engine_departed(eng, d, 4), 1);
	assert_false(d[0].unknown);
	glock_engine_free(eng);
}

static void test_a_node_that_left_holding_nothing_is_not_fenced(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	struct glock_departed_rec d[8];

	depart(c, 3, 2, two);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_NEED_FENCE), 0);
	assert_int_equal(departed(c, 2, d), 0);
}

static void test_noexp_is_granted_over_expired_grants_only_after_fenced(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	struct glock_departed_rec d[8];

	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 4, G2, GLOCK_MODE_EX, 0), 0);
	depart(c, 3, 2, two);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, GLOCK_FLAG_NOEXP), 0);
	assert_int_equal(h_lock(c, 2, 2, G2, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));

	assert_int_equal(h_fenced(c, 3), 0);
	assert_int_equal(departed(c, 1, d), 1);
	assert_true(d[0].fenced);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	/* Without NOEXP the expired grant still blocks. */
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_waiting(c, 1, G2, 2), 0);
	assert_int_equal(lookup(c, 2, G).n_expired, 1);
	h_assert_consistent(c);
}

static void test_noexp_lock_after_fenced_is_granted_at_once(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	depart(c, 3, 2, two);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_fenced(c, 3), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, GLOCK_FLAG_NOEXP), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_lock(c, 1, 1, G2, GLOCK_MODE_EX, GLOCK_FLAG_NOEXP), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	h_assert_consistent(c);
}

static void test_recovery_done_before_fenced_is_ebusy_and_changes_nothing(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	depart(c, 3, 2, two);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_recovery_done(c, 3), -EBUSY);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
}

static void test_recovery_done_after_fenced_drops_expired_and_grants_waiters(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	struct glock_departed_rec d[8];

	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 4, G2, GLOCK_MODE_SH, 0), 0);
	depart(c, 3, 2, two);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_fenced(c, 3), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_recovery_done(c, 3), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(lookup(c, 2, G).n_expired, 0);
	/* G2 had only the expired grant: it is idle now and gone. */
	assert_false(h_lookup(c, 2, G2, &(struct h_rec){ 0 }));
	assert_int_equal(departed(c, 1, d), 0);
	/* A second RECOVERY_DONE has nothing to act on. */
	assert_int_equal(h_recovery_done(c, 3), -ENOENT);
	h_assert_consistent(c);
}

static void test_departure_makes_the_engine_inquorate_until_quorum_true(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	depart(c, 3, 2, two);
	assert_false(glock_engine_quorate(h_eng(c, 1)));
	assert_false(glock_engine_quorate(h_eng(c, 2)));
	assert_int_equal(h_count(c, 1, GLOCK_OUT_INQUORATE), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_INQUORATE), 1);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_QUORATE), 0);
	assert_true(glock_engine_synced(h_eng(c, 1)));
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G2, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_GRANT) + h_count(c, 2, GLOCK_OUT_GRANT), 0);
	/* HELLOs alone do not restore quorum. */
	assert_int_equal(h_hello(c, 1, true), 0);
	assert_int_equal(h_hello(c, 2, true), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_quorum(c, 2, true), 0);
	assert_true(glock_engine_quorate(h_eng(c, 1)));
	assert_int_equal(h_count(c, 1, GLOCK_OUT_QUORATE), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_QUORATE), 1);
	/* A second verdict changes nothing and says nothing. */
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_QUORATE), 1);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	h_assert_consistent(c);
}

static void test_join_without_departure_keeps_quorum_and_grants(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t four[] = { 1, 2, 3, 4 };

	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 4, four), 0);
	assert_true(glock_engine_quorate(h_eng(c, 1)));
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
}

/* ---- quorum loss ---- */

static void test_quorum_false_from_synced_member_loses_everything(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;
	size_t i;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G2, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 1, 3, G2, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	assert_int_equal(h_quorum(c, 2, false), 0);

	o = h_find_glock(c, 1, GLOCK_OUT_LOST, G);
	assert_non_null(o);
	assert_int_equal(o->mode, GLOCK_MODE_EX);
	o = h_find(c, 1, GLOCK_OUT_DENY, 3);
	assert_non_null(o);
	assert_int_equal(o->reason, GLOCK_DENY_LOST);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_LOST), 1);
	assert_int_equal(h_find_glock(c, 2, GLOCK_OUT_LOST, G2)->mode, GLOCK_MODE_EX);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_LOST), 1);
	assert_int_equal(h_count(c, 3, GLOCK_OUT_LOST), 0);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(h_count(c, (uint32_t)i, GLOCK_OUT_UNSYNCED), 1);
		assert_false(glock_engine_synced(h_eng(c, (uint32_t)i)));
		assert_false(glock_engine_quorate(h_eng(c, (uint32_t)i)));
		assert_int_equal(glock_engine_glock_count(h_eng(c, (uint32_t)i)), 0);
	}
	/* Unsynced engines grant nothing. */
	h_clear(c);
	assert_int_equal(h_lock(c, 3, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_out_total(c), 0);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 3)), 0);
}

static void test_quorum_false_from_unsynced_joiner_is_ignored(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t four[] = { 1, 2, 3, 4 };

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 4, four), 0);
	assert_int_equal(h_hello(c, 1, true), 0);
	assert_int_equal(h_hello(c, 2, true), 0);
	assert_int_equal(h_hello(c, 3, true), 0);
	assert_int_equal(h_hello(c, 4, false), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_quorum(c, 4, false), 0);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
	assert_true(glock_engine_synced(h_eng(c, 1)));
	assert_true(glock_engine_quorate(h_eng(c, 1)));
}

/* ---- sync ---- */

static void test_fresh_cluster_syncs_at_the_last_of_hellos_and_quorum(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 3, 1, 2 }; /* any order: the engine sorts */
	const uint32_t *m;
	size_t i;

	assert_int_equal(h_confchg(c, 3, three), 0);
	assert_int_equal(glock_engine_members(h_eng(c, 1), &m), 3);
	assert_int_equal(m[0], 1);
	assert_int_equal(m[2], 3);
	assert_int_equal(h_quorum(c, 2, true), 0);
	assert_int_equal(h_hello(c, 1, false), 0);
	assert_int_equal(h_hello(c, 3, false), 0);
	assert_false(glock_engine_synced(h_eng(c, 1)));
	for (i = 1; i <= 3; i++) {
		assert_int_equal(h_count(c, (uint32_t)i, GLOCK_OUT_SYNCED), 0);
		assert_int_equal(h_count(c, (uint32_t)i, GLOCK_OUT_QUORATE), 1);
	}
	h_clear(c);
	assert_int_equal(h_hello(c, 2, false), 0);
	for (i = 1; i <= 3; i++) {
		assert_true(glock_engine_synced(h_eng(c, (uint32_t)i)));
		assert_int_equal(h_count(c, (uint32_t)i, GLOCK_OUT_SYNCED), 1);
		assert_int_equal(h_count(c, (uint32_t)i, GLOCK_OUT_SEND_SNAPSHOT), 0);
	}
	assert_int_equal(h_out_total(c), 3);
	assert_int_equal(h_lock(c, 2, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 1));
	h_assert_consistent(c);
}

static void test_fresh_cluster_does_not_sync_without_quorum(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	assert_int_equal(h_confchg(c, 2, two), 0);
	assert_int_equal(h_hello(c, 1, false), 0);
	assert_int_equal(h_hello(c, 2, false), 0);
	assert_false(glock_engine_synced(h_eng(c, 1)));
	assert_int_equal(h_quorum(c, 1, false), 0);
	assert_false(glock_engine_synced(h_eng(c, 2)));
	assert_int_equal(h_out_total(c), 0);
}

/* A table with grants, waiters, an LVB and a departed node with expired grants. */
static void build_rich_table(struct h_cluster *c)
{
	const uint32_t three[] = { 1, 2, 3 };
	struct glock_input in = h_op_in(GLOCK_OP_RELEASE, 1, 0, G2, GLOCK_MODE_UN, 0);

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, GLOCK_FLAG_PRIORITY), 0);
	assert_int_equal(h_lock(c, 1, 4, G2, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 5, G2, GLOCK_MODE_SH, 0), 0);
	in.u.op.lvb_valid = true;
	memset(in.u.op.lvb, 0xa5, GLOCK_LVB_LEN);
	in.u.op.kind = GLOCK_OP_CONVERT;
	in.u.op.mode = GLOCK_MODE_SH;
	in.u.op.req_id = 6;
	assert_int_equal(h_apply(c, &in), 0);
	assert_int_equal(h_lock(c, 4, 7, G2, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 4, 8, 44, GLOCK_MODE_DF, 0), 0);
	depart(c, 4, 3, three);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 3);
	h_clear(c);
}

static void test_join_transfers_the_lowest_synced_members_table(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 3, 5 };
	struct h_snapshot s;

	build_rich_table(c);
	join_to_sync_point(c, 5, 4, members, 2);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_SEND_SNAPSHOT), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_SEND_SNAPSHOT), 0);
	assert_int_equal(h_count(c, 3, GLOCK_OUT_SEND_SNAPSHOT), 0);
	assert_int_equal(h_count(c, 5, GLOCK_OUT_SEND_SNAPSHOT), 0);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(s.n_records, 3);
	assert_int_equal(s.n_departed, 1);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	assert_true(glock_engine_synced(h_eng(c, 5)));
	assert_int_equal(h_count(c, 5, GLOCK_OUT_SYNCED), 1);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_SYNCED), 0);
	h_assert_consistent(c);
	h_snapshot_free(c, &s);

	/* The joiner then takes part like anyone. */
	h_clear(c);
	assert_int_equal(h_lock(c, 5, 9, G2, GLOCK_MODE_SH, 0), 0);
	assert_non_null(h_find(c, 5, GLOCK_OUT_GRANT, 9));
	h_assert_consistent(c);
}

/*
 * Problem scenario (p2p-sim --chaos --nodes 3-8, seeds 83, 148, 179): 4 joins
 * {1,2,3}; 2's and 3's HELLOs reach it, then 5 joins before 1's.  To 4, 1
 * was an old member of its first configuration whose state it never
 * learnt, taken as unsynced: 4 waited for 2's snapshot while 1 sent it,
 * and never synced.  A member whose state a node never learnt is a
 * newcomer to it: its HELLO's word counts.
 */
static void test_joiner_takes_the_word_of_a_member_it_never_heard(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t four[] = { 1, 2, 3, 4 }, five[] = { 1, 2, 3, 4, 5 };
	struct h_snapshot s;
	uint32_t i;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 4, four), 0);
	assert_int_equal(h_hello(c, 2, true), 0);
	assert_int_equal(h_hello(c, 3, true), 0);
	assert_int_equal(h_hello(c, 4, false), 0);
	h_add_node(c, 5, false);
	assert_int_equal(h_confchg(c, 5, five), 0);
	for (i = 1; i <= 5; i++)
		assert_int_equal(h_hello(c, i, i <= 3), 0);
	assert_int_equal(h_quorum(c, 2, true), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_SEND_SNAPSHOT), 1);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	assert_true(glock_engine_synced(h_eng(c, 4)));
	assert_true(glock_engine_synced(h_eng(c, 5)));
	assert_int_equal(h_held(c, 4, G, 1), GLOCK_MODE_EX);
	h_assert_consistent(c);
	h_snapshot_free(c, &s);
}

static void test_ops_between_sync_point_and_snapshot_end_are_replayed(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 3, 5 };
	struct h_snapshot s;
	const struct h_out *o;

	build_rich_table(c);
	join_to_sync_point(c, 5, 4, members, 1);
	h_snapshot_take(c, 1, &s); /* the donor exports at the sync point */
	/* Delivered after the sync point, before the snapshot. */
	assert_int_equal(h_lock(c, 5, 10, G2, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_release(c, 1, G), 0);
	assert_int_equal(h_lock(c, 5, 11, 45, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release(c, 2, G2), 0);
	assert_int_equal(h_count(c, 5, GLOCK_OUT_GRANT), 0);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 5)), 0);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);

	o = h_find(c, 5, GLOCK_OUT_GRANT, 10);
	assert_non_null(o);
	assert_memory_equal(o->lvb, "\xa5\xa5\xa5\xa5", 4);
	assert_non_null(h_find(c, 5, GLOCK_OUT_GRANT, 11));
	h_assert_consistent(c);
}

static void test_snapshot_end_with_wrong_count_is_eproto_and_joiner_stays_empty(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 3, 5 };
	struct h_snapshot s;

	build_rich_table(c);
	join_to_sync_point(c, 5, 4, members, 1);
	h_snapshot_take(c, 1, &s);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_snapshot_feed(c, &s, 1), -EPROTO);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
	assert_false(glock_engine_synced(h_eng(c, 5)));
	assert_int_equal(glock_engine_glock_count(h_eng(c, 5)), 0);
	h_snapshot_free(c, &s);
}

static void test_fenced_between_sync_point_and_snapshot_end_reaches_joiner(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 3, 5 };
	struct h_snapshot s;

	build_rich_table(c); /* node 4 departed holding grants */
	join_to_sync_point(c, 5, 4, members, 1);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(h_fenced(c, 4), 0);
	assert_int_equal(h_recovery_done(c, 4), 0);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);
	assert_true(glock_engine_synced(h_eng(c, 5)));
	h_assert_consistent(c);
}

static void test_snapshot_taken_after_quorum_regained_includes_its_grants(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 4 };
	struct h_snapshot s;
	size_t i;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	/* Node 3 leaves and node 4 joins in one change. */
	h_node(c, 3)->active = false;
	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 3, members), 0);
	assert_int_equal(h_release(c, 1, G), 0); /* inquorate: node 2 waits */
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	for (i = 0; i < 3; i++)
		assert_int_equal(h_hello(c, members[i], members[i] != 4), 0);
	assert_int_equal(h_quorum(c, 1, true), 0); /* sync point and grant */
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_count(c, 1, GLOCK_OUT_SEND_SNAPSHOT), 1);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);
	h_assert_consistent(c);
}

/*
 * Problem scenario: the donor's snapshot is cut off by a configuration
 * change in which every synced member is gone; the joiner, alone, must
 * start from an empty table (DESIGN §3 rule 4), not from a partial copy.
 */
static void test_abandoned_snapshot_leaves_no_partial_table(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 3 };
	const uint32_t alone[] = { 3 };
	struct h_snapshot s;
	struct glock_input in;
	struct glock_record rec;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	join_to_sync_point(c, 3, 3, members, 1);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(s.n_records, 1);
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in.u.snapshot_begin.donor = 1;
	assert_int_equal(h_apply(c, &in), 0);
	rec = h_record_of(&s.records[0]);
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_RECORD;
	in.u.snapshot_record.donor = 1;
	in.u.snapshot_record.record = &rec;
	assert_int_equal(h_apply(c, &in), 0);
	h_snapshot_free(c, &s);

	/* Nodes 1 and 2 vanish before SNAPSHOT_END. */
	h_node(c, 1)->active = false;
	h_node(c, 2)->active = false;
	h_clear(c);
	assert_int_equal(h_confchg(c, 1, alone), 0);
	assert_int_equal(h_hello(c, 3, false), 0);
	assert_int_equal(h_quorum(c, 3, true), 0);
	assert_true(glock_engine_synced(h_eng(c, 3)));
	assert_int_equal(glock_engine_glock_count(h_eng(c, 3)), 0);
	assert_int_equal(h_count(c, 3, GLOCK_OUT_NEED_FENCE), 0);
}

/*
 * Problem scenario (DESIGN §3): nodes 1, 2, 3; the link to 3 breaks.  1 and
 * 2 see 3 leave and hear QUORUM{true}; 3 sees 1 and 2 leave and hears
 * nothing more.  At the merge 3 must drop its table, 1 and 2 keep theirs.
 */
static void test_node_without_quorum_true_after_departure_drops_table_at_next_confchg(
	void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };
	const uint32_t alone[] = { 3 };
	const uint32_t all[] = { 1, 2, 3 };
	struct glock_input cc = h_confchg_in(1, alone);
	struct glock_input hello;
	struct h_snapshot s;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 3, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 1, 2, G2, GLOCK_MODE_SH, 0), 0);
	h_clear(c);

	/* Side of 1 and 2. */
	depart(c, 3, 2, two);
	assert_int_equal(h_hello(c, 1, true), 0);
	assert_int_equal(h_hello(c, 2, true), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	/* Side of 3: its own change, its HELLO, no verdict. */
	assert_int_equal(h_apply_to(c, 3, &cc), 0);
	memset(&hello, 0, sizeof(hello));
	hello.kind = GLOCK_IN_HELLO;
	hello.u.hello.node = 3;
	hello.u.hello.synced = true;
	hello.u.hello.config_id = glock_engine_config_id(h_eng(c, 3));
	assert_int_equal(h_apply_to(c, 3, &hello), 0);
	assert_true(glock_engine_synced(h_eng(c, 3)));
	assert_int_equal(h_count(c, 3, GLOCK_OUT_LOST), 0);

	/* The merge. */
	h_node(c, 3)->active = true;
	h_clear(c);
	assert_int_equal(h_confchg(c, 3, all), 0);
	o = h_find_glock(c, 3, GLOCK_OUT_LOST, G);
	assert_non_null(o);
	assert_int_equal(o->mode, GLOCK_MODE_EX);
	assert_int_equal(h_count(c, 3, GLOCK_OUT_UNSYNCED), 1);
	assert_false(glock_engine_synced(h_eng(c, 3)));
	assert_int_equal(glock_engine_glock_count(h_eng(c, 3)), 0);
	assert_true(glock_engine_synced(h_eng(c, 1)));
	assert_int_equal(h_count(c, 1, GLOCK_OUT_LOST), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_UNSYNCED), 0);
	assert_int_equal(h_held(c, 2, G2, 1), GLOCK_MODE_SH);

	/* And it is brought back by the usual transfer. */
	assert_int_equal(h_hello(c, 1, true), 0);
	assert_int_equal(h_hello(c, 2, true), 0);
	assert_int_equal(h_hello(c, 3, false), 0);
	assert_int_equal(h_quorum(c, 2, true), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_SEND_SNAPSHOT), 1);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);
	assert_true(glock_engine_synced(h_eng(c, 3)));
	h_assert_consistent(c);
}

static void ignore_output(void *ctx, const struct glock_output *out)
{
	(void)ctx;
	(void)out;
}

/*
 * Problem scenario (found by tests/sim/p2p-sim): lock_path = p2p runs the
 * engine with depart_all.  Node 1 is synced; node 3 departs and, before a
 * QUORUM{true} confirms the change, node 2 departs too.  Rule 3 drops the
 * table (and the departed list with it); recording node 2 as departed then
 * wrote through a NULL list.
 */
static void test_depart_all_second_departure_before_quorum_resets_cleanly(void **state)
{
	const uint32_t three[] = { 1, 2, 3 }, two[] = { 1, 2 }, one[] = { 1 };
	struct glock_engine_config cfg;
	struct glock_engine *eng;
	struct glock_departed_rec dep[4];
	struct glock_input in = { .kind = GLOCK_IN_CONFCHG };
	uint32_t i;

	(void)state;
	glock_engine_config_defaults(&cfg, 1);
	cfg.depart_all = true;
	eng = glock_engine_new(&cfg, ignore_output, NULL);
	assert_non_null(eng);
	in.u.confchg.n_members = 3;
	in.u.confchg.members = three;
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	for (i = 1; i <= 3; i++) {
		struct glock_input h = { .kind = GLOCK_IN_HELLO };

		h.u.hello.node = i;
		h.u.hello.config_id = glock_engine_config_id(eng);
		assert_int_equal(glock_engine_apply(eng, &h), 0);
	}
	in = (struct glock_input){ .kind = GLOCK_IN_QUORUM };
	in.u.quorum.from = 1;
	in.u.quorum.quorate = true;
	in.u.quorum.config_id = glock_engine_config_id(eng);
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	assert_true(glock_engine_synced(eng));

	in = (struct glock_input){ .kind = GLOCK_IN_CONFCHG };
	in.u.confchg.n_members = 2;
	in.u.confchg.members = two;
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	assert_int_equal(glock_engine_departed(eng, dep, 4), 1);
	in.u.confchg.n_members = 1;
	in.u.confchg.members = one;
	assert_int_equal(glock_engine_apply(eng, &in), 0);
	assert_false(glock_engine_synced(eng));
	assert_int_equal(glock_engine_departed(eng, dep, 4), 1);
	assert_int_equal(dep[0].node, 2);
	assert_false(dep[0].fenced);
	glock_engine_free(eng);
}

/*
 * Problem scenario: 1, 2 and 3 lost quorum and dropped their tables; 3
 * crashes (lost with its corosync) as 4 joins: {1,2,3} -> {1,2,4}.  1 and
 * 2 saw 3 leave and recorded it, 4 never knew 3.  If those records
 * outlived the fresh start, 1 and 2 would hold every grant for 3's fencing
 * while 4 granted: the tables would part.  A fresh table starts with the
 * departed list the HELLOs agree on (startup fencing), the same everywhere.
 */
static void test_a_fresh_start_agrees_on_the_departed_list(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 1, 2, 3 }, next[] = { 1, 2, 4 }, lost[] = { 3 };
	struct glock_departed_rec d1[8], d4[8];
	struct glock_input in;
	size_t n1, n4, i;

	assert_int_equal(h_confchg(c, 3, three), 0); /* unsynced: no quorum yet */
	h_node(c, 3)->active = false;
	h_add_node(c, 4, false);
	in = h_confchg_in(3, next);
	in.u.confchg.lost = lost;
	in.u.confchg.n_lost = 1;
	assert_int_equal(h_apply(c, &in), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(h_hello(c, next[i], false), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_true(glock_engine_synced(h_eng(c, 4)));
	n1 = departed(c, 1, d1);
	n4 = departed(c, 4, d4);
	assert_int_equal(n1, n4);
	assert_int_equal(h_lock(c, 4, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_non_null(h_find(c, 4, GLOCK_OUT_GRANT, 1));
	h_assert_consistent(c);
}

/* ---- startup fencing (DESIGN §3) ---- */

/* HELLO from node with its configured nodes (corosync's nodelist). */
static int hello_cfg(struct h_cluster *c, uint32_t node, bool synced, size_t n,
		     const uint32_t *configured)
{
	struct glock_input in = { .kind = GLOCK_IN_HELLO };

	in.u.hello.node = node;
	in.u.hello.synced = synced;
	in.u.hello.config_id = h_config_id(c);
	in.u.hello.n_configured = n;
	in.u.hello.configured = configured;
	return h_apply(c, &in);
}

/* Nodes 1 and 2 of a nodelist {1, 2, 3} start afresh without node 3. */
static void fresh_start_without_3(struct h_cluster *c)
{
	const uint32_t two[] = { 1, 2 }, nodelist[] = { 3, 2, 1 };

	assert_int_equal(h_confchg(c, 2, two), 0);
	assert_int_equal(hello_cfg(c, 1, false, 3, nodelist), 0);
	assert_int_equal(hello_cfg(c, 2, false, 3, nodelist), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_true(glock_engine_synced(h_eng(c, 1)));
}

/*
 * Problem scenario: nodes 1, 2, 3; 2 and 3 die holding EX on G; node 1
 * loses quorum and drops its table, with the record that 2 and 3 need
 * fencing.  2 comes back; 1 and 2 start afresh and would grant G while 3,
 * hung rather than dead, still writes under its EX.
 */
static void test_fresh_start_blocks_every_grant_until_absent_nodes_are_fenced(void **state)
{
	struct h_cluster *c = *state;
	struct glock_departed_rec dep[8];
	const struct h_out *o;

	fresh_start_without_3(c);
	assert_true(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_true(glock_engine_quorate(h_eng(c, 1)));
	o = h_find(c, 1, GLOCK_OUT_NEED_FENCE, 0);
	assert_non_null(o);
	assert_int_equal(o->node, 3);
	assert_true(o->startup);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_NEED_FENCE), 1);
	assert_int_equal(departed(c, 1, dep), 1);
	assert_int_equal(dep[0].node, 3);
	assert_true(dep[0].startup);
	assert_false(dep[0].fenced);

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G2, GLOCK_MODE_SH, GLOCK_FLAG_NOEXP), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_waiting(c, 1, G, 1), 0);

	/* Fenced alone is not enough: its unknown grants are not expired ones. */
	assert_int_equal(h_fenced(c, 3), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_recovery_done(c, 3), 0);
	assert_false(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(departed(c, 2, dep), 0);
	h_assert_consistent(c);
}

static void test_an_absent_node_that_joins_needs_no_fencing(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 1, 2, 3 }, nodelist[] = { 1, 2, 3 };
	struct glock_departed_rec dep[8];
	struct h_snapshot s;

	fresh_start_without_3(c);
	assert_int_equal(h_lock(c, 2, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 1));

	h_add_node(c, 3, false);
	assert_int_equal(h_confchg(c, 3, three), 0);
	assert_int_equal(hello_cfg(c, 1, true, 3, nodelist), 0);
	assert_int_equal(hello_cfg(c, 2, true, 3, nodelist), 0);
	assert_true(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_int_equal(hello_cfg(c, 3, false, 3, nodelist), 0);
	assert_false(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_int_equal(departed(c, 1, dep), 0);
	/* Inquorate? No: a join is no departure, so the waiter goes at once. */
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 1));

	assert_int_equal(h_quorum(c, 1, true), 0);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(s.n_departed, 0);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);
	assert_true(glock_engine_synced(h_eng(c, 3)));
	assert_false(glock_engine_startup_fencing(h_eng(c, 3)));
	h_assert_consistent(c);
}

static void test_a_joiner_learns_startup_fencing_from_the_snapshot(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t members[] = { 1, 2, 4 }, nodelist[] = { 1, 2, 3, 4 };
	struct glock_departed_rec dep[8];
	struct h_snapshot s;

	fresh_start_without_3(c);
	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 3, members), 0);
	assert_int_equal(hello_cfg(c, 1, true, 4, nodelist), 0);
	assert_int_equal(hello_cfg(c, 2, true, 4, nodelist), 0);
	assert_int_equal(hello_cfg(c, 4, false, 4, nodelist), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	h_snapshot_take(c, 1, &s);
	assert_int_equal(s.n_departed, 1);
	assert_true(s.departed[0].startup);
	assert_int_equal(h_snapshot_feed(c, &s, 0), 0);
	h_snapshot_free(c, &s);
	assert_true(glock_engine_synced(h_eng(c, 4)));
	assert_true(glock_engine_startup_fencing(h_eng(c, 4)));
	assert_int_equal(departed(c, 4, dep), 1);
	assert_true(dep[0].startup);

	assert_int_equal(h_lock(c, 4, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 4, GLOCK_OUT_GRANT, 1));
	assert_int_equal(h_fenced(c, 3), 0);
	assert_int_equal(h_recovery_done(c, 3), 0);
	assert_non_null(h_find(c, 4, GLOCK_OUT_GRANT, 1));
	h_assert_consistent(c);
}

static void test_no_nodelist_trusts_a_fresh_table_at_once(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 }, nodelist[] = { 1, 2 };

	/* Node 1 speaks an older protocol (no list), node 2 lists only members. */
	assert_int_equal(h_confchg(c, 2, two), 0);
	assert_int_equal(h_hello(c, 1, false), 0);
	assert_int_equal(hello_cfg(c, 2, false, 2, nodelist), 0);
	assert_int_equal(h_quorum(c, 2, true), 0);
	assert_false(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_int_equal(h_count(c, 1, GLOCK_OUT_NEED_FENCE), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
}

static void test_a_synced_table_never_adds_startup_nodes(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 1, 2, 3 }, nodelist[] = { 1, 2, 3, 4, 5 };
	struct glock_departed_rec dep[8];

	/* A confchg with a synced member: the table is not fresh. */
	assert_int_equal(h_confchg(c, 3, three), 0);
	assert_int_equal(hello_cfg(c, 1, true, 5, nodelist), 0);
	assert_int_equal(hello_cfg(c, 2, true, 5, nodelist), 0);
	assert_int_equal(hello_cfg(c, 3, true, 5, nodelist), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_false(glock_engine_startup_fencing(h_eng(c, 1)));
	assert_int_equal(departed(c, 1, dep), 0);
}

static void test_a_bad_nodelist_in_hello_is_refused_and_changes_nothing(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 }, with_zero[] = { 1, 0, 2 };
	uint32_t many[GLOCK_NODES_MAX + 1];
	size_t i;

	assert_int_equal(h_confchg(c, 2, two), 0);
	h_freeze(c);
	assert_int_equal(hello_cfg(c, 1, false, 3, with_zero), -EINVAL);
	for (i = 0; i < GLOCK_NODES_MAX + 1; i++)
		many[i] = (uint32_t)(i + 1);
	assert_int_equal(hello_cfg(c, 1, false, GLOCK_NODES_MAX + 1, many), -EINVAL);
	assert_int_equal(hello_cfg(c, 1, false, 2, NULL), -EINVAL);
	h_assert_unchanged(c);
	/* The same HELLO with a good list still counts. */
	assert_int_equal(hello_cfg(c, 1, false, 2, two), 0);
	assert_int_equal(hello_cfg(c, 2, false, 2, two), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_true(glock_engine_synced(h_eng(c, 1)));
}

static int confchg_inc(struct h_cluster *c, size_t n, const uint32_t *members, uint64_t inc)
{
	struct glock_input in = h_confchg_in(n, members);

	in.u.confchg.incarnations = inc;
	return h_apply(c, &in);
}

/*
 * Problem scenario (p2p-sim --chaos --nodes 3-8 --seed 2): node 2's glockd
 * restarts and the member list {1, 2, 3} comes back; node 1, slow, sends
 * its HELLO of the earlier {1, 2, 3} (synced) after the change.  With ids
 * from the member list alone it was taken in the later one.  A restarted
 * glockd is another incarnation (cluster.c: its CPG pid): another id.
 */
static void test_hello_of_an_earlier_configuration_of_the_same_members_is_stale(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 1, 2, 3 };
	struct glock_input stale;
	uint64_t id_a;

	assert_int_equal(confchg_inc(c, 3, three, 0x1111), 0);
	id_a = h_config_id(c);
	memset(&stale, 0, sizeof(stale));
	stale.kind = GLOCK_IN_HELLO;
	stale.u.hello.node = 1;
	stale.u.hello.synced = true;
	stale.u.hello.config_id = id_a;

	assert_int_equal(confchg_inc(c, 3, three, 0x2222), 0);
	assert_int_not_equal(h_config_id(c), id_a);
	assert_int_equal(h_apply(c, &stale), -ESTALE);
	assert_int_equal(h_hello(c, 1, true), 0); /* this configuration's own counts */

	/* The same incarnations make the same id: every member agrees. */
	assert_int_equal(confchg_inc(c, 3, three, 0x1111), 0);
	assert_int_equal(h_config_id(c), id_a);
}

/*
 * Problem scenario (p2p-sim --chaos --nodes 3-8 --seed 2): 4 joins and
 * learns from the HELLOs that 1, 2 and 3 are synced; 3 departs and no
 * QUORUM{true} follows, so at the next change 1 and 2 drop their tables
 * (rule 3).  4, with no table to drop, kept them as synced: where 1, 2 and
 * 5 saw nobody synced and started afresh, 4 waited for 1's snapshot for
 * good.  An engine that is not synced drops its view of them as well.
 */
static void test_an_unsynced_member_sees_the_others_drop_their_tables(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t four[] = { 1, 2, 3, 4 }, three[] = { 1, 2, 4 }, again[] = { 1, 2, 4, 5 };
	uint32_t i;

	h_add_node(c, 4, false);
	assert_int_equal(h_confchg(c, 4, four), 0);
	for (i = 1; i <= 4; i++)
		assert_int_equal(h_hello(c, i, i <= 3), 0);
	assert_true(glock_engine_member_synced(h_eng(c, 4), 1));
	depart(c, 3, 3, three); /* no QUORUM{true} follows */
	h_add_node(c, 5, false);
	assert_int_equal(h_confchg(c, 4, again), 0);
	assert_false(glock_engine_synced(h_eng(c, 1)));
	assert_false(glock_engine_member_synced(h_eng(c, 4), 1));
	for (i = 0; i < 4; i++)
		assert_int_equal(h_hello(c, again[i], false), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	for (i = 0; i < 4; i++)
		assert_true(glock_engine_synced(h_eng(c, again[i])));
	h_assert_consistent(c);
}

int main(void)
{
#define T3(t) cmocka_unit_test_setup_teardown(t, setup3, teardown)
	const struct CMUnitTest tests[] = {
		T3(test_departed_waiters_are_removed_and_the_queue_advances),
		T3(test_hello_of_an_earlier_configuration_of_the_same_members_is_stale),
		T3(test_an_unsynced_member_sees_the_others_drop_their_tables),
		T3(test_departed_grants_expire_keep_blocking_and_need_fence),
		T3(test_a_node_lost_with_its_corosync_is_fenced_holding_nothing),
		T3(test_a_node_that_left_holding_nothing_is_not_fenced),
		T3(test_nothing_is_granted_until_a_lost_node_is_fenced),
		cmocka_unit_test(test_a_lost_node_blocks_nothing_with_depart_all),
		T3(test_noexp_is_granted_over_expired_grants_only_after_fenced),
		T3(test_noexp_lock_after_fenced_is_granted_at_once),
		T3(test_recovery_done_before_fenced_is_ebusy_and_changes_nothing),
		T3(test_recovery_done_after_fenced_drops_expired_and_grants_waiters),
		T3(test_departure_makes_the_engine_inquorate_until_quorum_true),
		T3(test_join_without_departure_keeps_quorum_and_grants),
		T3(test_quorum_false_from_synced_member_loses_everything),
		T3(test_quorum_false_from_unsynced_joiner_is_ignored),
		cmocka_unit_test_setup_teardown(test_fresh_cluster_syncs_at_the_last_of_hellos_and_quorum, setup_blank3, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_cluster_does_not_sync_without_quorum, setup_blank2, teardown),
		cmocka_unit_test_setup_teardown(test_join_transfers_the_lowest_synced_members_table, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_joiner_takes_the_word_of_a_member_it_never_heard, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_ops_between_sync_point_and_snapshot_end_are_replayed, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_end_with_wrong_count_is_eproto_and_joiner_stays_empty, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_fenced_between_sync_point_and_snapshot_end_reaches_joiner, setup4, teardown),
		T3(test_snapshot_taken_after_quorum_regained_includes_its_grants),
		cmocka_unit_test_setup_teardown(test_abandoned_snapshot_leaves_no_partial_table, setup2, teardown),
		T3(test_node_without_quorum_true_after_departure_drops_table_at_next_confchg),
		cmocka_unit_test(test_depart_all_second_departure_before_quorum_resets_cleanly),
		cmocka_unit_test_setup_teardown(test_a_fresh_start_agrees_on_the_departed_list, setup_blank3, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_start_blocks_every_grant_until_absent_nodes_are_fenced, setup_blank2, teardown),
		cmocka_unit_test_setup_teardown(test_an_absent_node_that_joins_needs_no_fencing, setup_blank2, teardown),
		cmocka_unit_test_setup_teardown(test_a_joiner_learns_startup_fencing_from_the_snapshot, setup_blank2, teardown),
		cmocka_unit_test_setup_teardown(test_no_nodelist_trusts_a_fresh_table_at_once, setup_blank2, teardown),
		T3(test_a_synced_table_never_adds_startup_nodes),
		cmocka_unit_test_setup_teardown(test_a_bad_nodelist_in_hello_is_refused_and_changes_nothing, setup_blank2, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
