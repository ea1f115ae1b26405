// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The queue (DESIGN §2 "Queue", "Conversions", "Demotes"): one holder per
 * node, conversions before new locks, strict FIFO, PRIORITY, TRY and
 * TRY_1CB, cancel, conversions and their deadlock, demote targets.
 * The minimum hold time is zero here, so demotes go out at once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_harness.h"

#define G 42 /* the glock most tests use */

static int setup3(void **state)
{
	*state = h_cluster_new(3, false);
	return 0;
}

static int setup4(void **state)
{
	*state = h_cluster_new(4, false);
	return 0;
}

static int teardown(void **state)
{
	h_cluster_free(*state);
	return 0;
}

static void assert_waiter(struct h_cluster *c, size_t pos, uint32_t node, bool convert)
{
	struct h_rec rec;

	assert_true(h_lookup(c, 1, G, &rec));
	assert_true(pos < rec.n_waiters);
	assert_int_equal(rec.waiters[pos].node, node);
	assert_int_equal(rec.waiters[pos].convert, convert);
}

static size_t n_waiters(struct h_cluster *c, uint64_t number)
{
	struct h_rec rec;

	return h_lookup(c, 1, number, &rec) ? rec.n_waiters : 0;
}

/* ---- invalid uses of the queue first ---- */

static void test_second_lock_by_a_holder_is_eexist(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_lock(c, 1, 2, G, GLOCK_MODE_SH, 0), -EEXIST);
	assert_int_equal(h_lock(c, 1, 3, G, GLOCK_MODE_EX, 0), -EEXIST);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
}

static void test_second_lock_by_a_waiter_is_eexist(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_lock(c, 2, 3, G, GLOCK_MODE_SH, 0), -EEXIST);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
}

static void test_release_with_pending_conversion_is_ebusy(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 3));
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_release(c, 1, G), -EBUSY);
	assert_int_equal(h_convert(c, 1, 4, G, GLOCK_MODE_DF, 0), -EBUSY);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
}

static void test_convert_to_held_mode_is_ealready(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_convert(c, 1, 2, G, GLOCK_MODE_SH, 0), -EALREADY);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
}

static void test_cancel_of_a_grant_is_enoent(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_cancel(c, 1, 1, G), -ENOENT);
	assert_int_equal(h_held(c, 1, G, 1), GLOCK_MODE_SH);
}

static void test_cancel_with_another_nodes_req_id_is_enoent(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 7, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_cancel(c, 3, 7, G), -ENOENT);
	assert_int_equal(h_waiting(c, 1, G, 2), 0);
}

/* ---- grants and FIFO ---- */

static void test_free_glock_is_granted_at_once(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 2, 5, G, GLOCK_MODE_EX, 0), 0);
	o = h_find(c, 2, GLOCK_OUT_GRANT, 5);
	assert_non_null(o);
	assert_int_equal(o->mode, GLOCK_MODE_EX);
	assert_true(o->has_name);
	assert_int_equal(o->name.number, G);
	/* Outputs go only to the local node. */
	assert_int_equal(h_out_total(c), 1);
	assert_int_equal(h_held(c, 3, G, 2), GLOCK_MODE_EX);
	h_assert_consistent(c);
}

static void test_one_holder_per_node_per_glock(void **state)
{
	struct h_cluster *c = *state;
	struct h_rec rec;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 1, 2, G, GLOCK_MODE_SH, 0), -EEXIST);
	assert_true(h_lookup(c, 2, G, &rec));
	assert_int_equal(rec.n_holders, 1);
	assert_int_equal(rec.n_waiters, 0);
}

static void test_waiters_are_granted_in_fifo_order(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 4, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_waiter(c, 0, 2, false);
	assert_waiter(c, 1, 3, false);
	assert_waiter(c, 2, 4, false);

	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_null(h_find(c, 4, GLOCK_OUT_GRANT, 4));
	assert_int_equal(h_release(c, 3, G), 0);
	assert_non_null(h_find(c, 4, GLOCK_OUT_GRANT, 4));
	h_assert_consistent(c);
}

static void test_release_grants_every_compatible_waiter_at_the_head(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 4, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_null(h_find(c, 4, GLOCK_OUT_GRANT, 4));
	assert_int_equal(h_waiting(c, 1, G, 4), 0);
	h_assert_consistent(c);
}

static void test_compatible_newcomer_waits_behind_blocked_waiter(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	/* SH is compatible with the SH holder, but EX waits ahead of it. */
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_waiter(c, 0, 2, false);
	assert_waiter(c, 1, 3, false);

	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	h_assert_consistent(c);
}

static void test_conversion_is_queued_before_new_locks(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_convert(c, 1, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_waiter(c, 0, 1, true);
	assert_waiter(c, 1, 3, false);

	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 4));
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_held(c, 2, G, 1), GLOCK_MODE_EX);
	assert_int_equal(h_waiting(c, 2, G, 3), 0);
	h_assert_consistent(c);
}

static void test_priority_lock_goes_to_the_front_of_the_locks(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, GLOCK_FLAG_PRIORITY), 0);
	assert_waiter(c, 0, 3, false);
	assert_waiter(c, 1, 2, false);
	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	h_assert_consistent(c);
}

static void test_priority_lock_stays_behind_pending_conversions(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_EX, 0), 0);
	/* SH fits the holders, but a conversion is pending ahead of it. */
	assert_int_equal(h_lock(c, 3, 4, G, GLOCK_MODE_SH, GLOCK_FLAG_PRIORITY), 0);
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 4));
	assert_waiter(c, 0, 1, true);
	assert_waiter(c, 1, 3, false);
	h_assert_consistent(c);
}

/* ---- TRY, TRY_1CB ---- */

static void test_try_lock_on_held_glock_fails_without_queueing(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, GLOCK_FLAG_TRY), 0);
	o = h_find(c, 2, GLOCK_OUT_DENY, 2);
	assert_non_null(o);
	assert_int_equal(o->reason, GLOCK_DENY_TRYFAIL);
	assert_int_equal(n_waiters(c, G), 0);
	/* Nobody was asked to demote and nothing else was said. */
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 0);
	assert_int_equal(h_out_total(c), 1);
	h_assert_consistent(c);
}

static void test_try_lock_on_free_glock_is_granted(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, GLOCK_FLAG_TRY), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_int_equal(h_count(c, 2, GLOCK_OUT_DENY), 0);
}

static void test_try_lock_behind_a_blocked_waiter_fails(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, GLOCK_FLAG_TRY), 0);
	assert_non_null(h_find(c, 3, GLOCK_OUT_DENY, 3));
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(n_waiters(c, G), 1);
}

static void test_try_lock_on_idle_glock_while_inquorate_leaves_no_glock(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	h_node(c, 3)->active = false; /* node 3 leaves: inquorate */
	assert_int_equal(h_confchg(c, 2, two), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, GLOCK_FLAG_TRY), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_DENY, 1));
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 0);
}

static void test_try_1cb_fails_and_sends_blockers_one_demote(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, GLOCK_FLAG_TRY_1CB), 0);
	o = h_find(c, 3, GLOCK_OUT_DENY, 3);
	assert_non_null(o);
	assert_int_equal(o->reason, GLOCK_DENY_TRYFAIL);
	assert_int_equal(n_waiters(c, G), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find(c, 1, GLOCK_OUT_DEMOTE, H_ANY_REQ)->mode, GLOCK_MODE_UN);
	assert_int_equal(h_find(c, 2, GLOCK_OUT_DEMOTE, H_ANY_REQ)->mode, GLOCK_MODE_UN);
	h_assert_consistent(c);
}

/* ---- cancel ---- */

static void test_cancel_denies_cancelled_and_later_waiters_advance(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_cancel(c, 2, 2, G), 0);
	o = h_find(c, 2, GLOCK_OUT_DENY, 2);
	assert_non_null(o);
	assert_int_equal(o->reason, GLOCK_DENY_CANCELLED);
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_held(c, 1, G, 3), GLOCK_MODE_SH);
	assert_int_equal(n_waiters(c, G), 0);
	h_assert_consistent(c);
}

static void test_cancel_of_conversion_keeps_the_grant(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_cancel(c, 1, 3, G), 0);
	assert_int_equal(h_find(c, 1, GLOCK_OUT_DENY, 3)->reason, GLOCK_DENY_CANCELLED);
	assert_int_equal(h_held(c, 2, G, 1), GLOCK_MODE_SH);
	assert_int_equal(n_waiters(c, G), 0);
	/* The conversion is gone, so release is no longer busy. */
	assert_int_equal(h_release(c, 1, G), 0);
	h_assert_consistent(c);
}

static void test_cancel_of_the_last_waiter_on_orphan_glock_drops_it(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t two[] = { 1, 2 };

	h_node(c, 3)->active = false; /* node 3 leaves: inquorate, nothing granted */
	assert_int_equal(h_confchg(c, 2, two), 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 1);
	assert_int_equal(h_cancel(c, 1, 1, G), 0);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 0);
}

/* ---- conversions ---- */

static void test_up_conversion_of_sole_holder_is_granted_at_once(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 2, G, GLOCK_MODE_EX, 0), 0);
	o = h_find(c, 1, GLOCK_OUT_GRANT, 2);
	assert_non_null(o);
	assert_int_equal(o->mode, GLOCK_MODE_EX);
	assert_int_equal(h_held(c, 2, G, 1), GLOCK_MODE_EX);
	h_assert_consistent(c);
}

static void test_down_conversion_is_granted_at_once_and_unblocks_waiters(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 4, G, GLOCK_MODE_SH, 0), 0);
	o = h_find(c, 1, GLOCK_OUT_GRANT, 4);
	assert_non_null(o);
	assert_int_equal(o->mode, GLOCK_MODE_SH);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(n_waiters(c, G), 0);
	h_assert_consistent(c);
}

static void test_blocked_up_conversion_is_granted_when_the_blocker_leaves(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_GRANT, 3));
	/* While it waits node 1 still holds SH. */
	assert_int_equal(h_held(c, 3, G, 1), GLOCK_MODE_SH);
	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_held(c, 3, G, 1), GLOCK_MODE_EX);
	h_assert_consistent(c);
}

static void test_second_sh_to_ex_conversion_is_denied_deadlock(void **state)
{
	struct h_cluster *c = *state;
	const struct h_out *o;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_null(h_find(c, 1, GLOCK_OUT_DENY, 3));
	assert_int_equal(h_convert(c, 2, 4, G, GLOCK_MODE_EX, 0), 0);
	o = h_find(c, 2, GLOCK_OUT_DENY, 4);
	assert_non_null(o);
	assert_int_equal(o->reason, GLOCK_DENY_DEADLOCK);
	/* The newcomer keeps its SH, only the first conversion waits. */
	assert_int_equal(h_held(c, 1, G, 2), GLOCK_MODE_SH);
	assert_int_equal(n_waiters(c, G), 1);
	assert_waiter(c, 0, 1, true);
	/* It releases and retries, as the DLM's CONVDEADLK asks. */
	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 3));
	h_assert_consistent(c);
}

/* SH->DF twice: each waits for the other's SH to go, a deadlock as well. */
static void test_second_sh_to_df_conversion_is_denied_deadlock(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert(c, 1, 4, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_convert(c, 2, 5, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_find(c, 2, GLOCK_OUT_DENY, 5)->reason, GLOCK_DENY_DEADLOCK);
	assert_null(h_find(c, 1, GLOCK_OUT_DENY, 4));
	assert_int_equal(n_waiters(c, G), 1);
	h_assert_consistent(c);
}

/* ---- demotes ---- */

static void test_ex_request_demotes_sh_holders_to_un(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_UN);
	assert_int_equal(h_find_glock(c, 2, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_UN);
	assert_int_equal(h_count(c, 3, GLOCK_OUT_DEMOTE), 0);
	h_assert_consistent(c);
}

static void test_sh_request_demotes_ex_holder_to_sh(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_SH);
}

static void test_df_request_demotes_sh_holder_to_df(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_DF);
}

static void test_df_request_demotes_ex_holder_to_df(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	h_clear(c);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_DF);
}

static void test_demote_is_sent_once_not_repeated(void **state)
{
	struct h_cluster *c = *state;
	struct h_rec rec;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_true(h_lookup(c, 3, G, &rec));
	assert_true(rec.holders[0].demote_sent);
	assert_int_equal(rec.holders[0].demote_target, GLOCK_MODE_UN);
	/* More waiters and more queue activity: still one demote. */
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 4, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_cancel(c, 3, 3, G), 0);
	assert_int_equal(h_cancel(c, 2, 2, G), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	h_assert_consistent(c);
}

static void test_no_demote_for_a_waiter_behind_the_head(void **state)
{
	struct h_cluster *c = *state;

	/* Node 1 SH, node 2 waits DF (demotes node 1 to DF), node 3 waits EX. */
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_DF);
}

static void test_demote_is_renewed_when_new_holder_is_granted(void **state)
{
	struct h_cluster *c = *state;

	/* Node 1 EX, node 2 waits SH: node 1 asked for SH, converts down. */
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_convert(c, 1, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	/* A new EX waiter asks both SH holders, node 1 again, for UN. */
	assert_int_equal(h_lock(c, 3, 4, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_DEMOTE), 2);
	assert_int_equal(h_count(c, 2, GLOCK_OUT_DEMOTE), 1);
	assert_int_equal(h_find_glock(c, 2, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_UN);
	h_assert_consistent(c);
}

int main(void)
{
#define T3(t) cmocka_unit_test_setup_teardown(t, setup3, teardown)
#define T4(t) cmocka_unit_test_setup_teardown(t, setup4, teardown)
	const struct CMUnitTest tests[] = {
		T3(test_second_lock_by_a_holder_is_eexist),
		T3(test_second_lock_by_a_waiter_is_eexist),
		T3(test_release_with_pending_conversion_is_ebusy),
		T3(test_convert_to_held_mode_is_ealready),
		T3(test_cancel_of_a_grant_is_enoent),
		T3(test_cancel_with_another_nodes_req_id_is_enoent),
		T3(test_free_glock_is_granted_at_once),
		T3(test_one_holder_per_node_per_glock),
		T4(test_waiters_are_granted_in_fifo_order),
		T4(test_release_grants_every_compatible_waiter_at_the_head),
		T3(test_compatible_newcomer_waits_behind_blocked_waiter),
		T3(test_conversion_is_queued_before_new_locks),
		T3(test_priority_lock_goes_to_the_front_of_the_locks),
		T3(test_priority_lock_stays_behind_pending_conversions),
		T3(test_try_lock_on_held_glock_fails_without_queueing),
		T3(test_try_lock_on_free_glock_is_granted),
		T3(test_try_lock_behind_a_blocked_waiter_fails),
		T3(test_try_lock_on_idle_glock_while_inquorate_leaves_no_glock),
		T3(test_try_1cb_fails_and_sends_blockers_one_demote),
		T3(test_cancel_denies_cancelled_and_later_waiters_advance),
		T3(test_cancel_of_conversion_keeps_the_grant),
		T3(test_cancel_of_the_last_waiter_on_orphan_glock_drops_it),
		T3(test_up_conversion_of_sole_holder_is_granted_at_once),
		T3(test_down_conversion_is_granted_at_once_and_unblocks_waiters),
		T3(test_blocked_up_conversion_is_granted_when_the_blocker_leaves),
		T3(test_second_sh_to_ex_conversion_is_denied_deadlock),
		T3(test_second_sh_to_df_conversion_is_denied_deadlock),
		T3(test_ex_request_demotes_sh_holders_to_un),
		T3(test_sh_request_demotes_ex_holder_to_sh),
		T3(test_df_request_demotes_sh_holder_to_df),
		T3(test_df_request_demotes_ex_holder_to_df),
		T4(test_demote_is_sent_once_not_repeated),
		T3(test_no_demote_for_a_waiter_behind_the_head),
		T3(test_demote_is_renewed_when_new_holder_is_granted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
