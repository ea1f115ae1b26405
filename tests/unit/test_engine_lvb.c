// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The lock value block (DESIGN §2 "LVB"): written when an EX holder
 * releases or converts down with lvb_valid, handed to every later grant,
 * dropped with the glock when it goes idle.
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

static const uint8_t zero_lvb[GLOCK_LVB_LEN];

static void fill(uint8_t *lvb, uint8_t seed)
{
	size_t i;

	for (i = 0; i < GLOCK_LVB_LEN; i++)
		lvb[i] = (uint8_t)(seed + i * 7);
}

static int setup(void **state)
{
	*state = h_cluster_new(4, false);
	return 0;
}

static int teardown(void **state)
{
	h_cluster_free(*state);
	return 0;
}

static void assert_grant_lvb(struct h_cluster *c, uint32_t node, uint64_t req,
			     const uint8_t *lvb)
{
	const struct h_out *o = h_find(c, node, GLOCK_OUT_GRANT, req);

	assert_non_null(o);
	assert_true(o->has_lvb);
	assert_memory_equal(o->lvb, lvb, GLOCK_LVB_LEN);
}

static void assert_table_lvb(struct h_cluster *c, uint32_t id, const uint8_t *lvb)
{
	struct h_rec rec;

	assert_true(h_lookup(c, id, G, &rec));
	assert_memory_equal(rec.lvb, lvb, GLOCK_LVB_LEN);
}

/* ---- invalid uses first ---- */

static void test_lvb_valid_release_from_sh_holder_is_einval_and_keeps_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN], b[GLOCK_LVB_LEN];

	fill(a, 1);
	fill(b, 99);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert_lvb(c, 1, 3, G, GLOCK_MODE_SH, a), 0);
	assert_table_lvb(c, 3, a);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_release_lvb(c, 2, G, b), -EINVAL);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
	assert_table_lvb(c, 4, a);
	assert_int_equal(h_held(c, 1, G, 2), GLOCK_MODE_SH);
}

static void test_lvb_valid_release_from_df_holder_is_einval(void **state)
{
	struct h_cluster *c = *state;
	uint8_t b[GLOCK_LVB_LEN];

	fill(b, 5);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_DF, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_release_lvb(c, 1, G, b), -EINVAL);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
	assert_table_lvb(c, 2, zero_lvb);
}

static void test_lvb_valid_up_conversion_from_sh_is_einval_and_keeps_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t b[GLOCK_LVB_LEN];

	fill(b, 5);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_SH, 0), 0);
	h_clear(c);
	h_freeze(c);
	assert_int_equal(h_convert_lvb(c, 1, 2, G, GLOCK_MODE_EX, b), -EINVAL);
	h_assert_unchanged(c);
	assert_int_equal(h_out_total(c), 0);
	assert_int_equal(h_held(c, 2, G, 1), GLOCK_MODE_SH);
}

static void test_lvb_valid_on_lock_is_einval(void **state)
{
	struct h_cluster *c = *state;
	struct glock_input in = h_op_in(GLOCK_OP_LOCK, 1, 1, G, GLOCK_MODE_EX, 0);

	in.u.op.lvb_valid = true;
	fill(in.u.op.lvb, 3);
	assert_int_equal(h_apply(c, &in), -EINVAL);
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 0);
	assert_int_equal(h_out_total(c), 0);
}

/* ---- behaviour ---- */

static void test_new_glock_grants_a_zero_lvb(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_grant_lvb(c, 1, 1, zero_lvb);
	assert_table_lvb(c, 2, zero_lvb);
}

static void test_ex_release_with_lvb_valid_hands_lvb_to_next_grant(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 10);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	assert_grant_lvb(c, 2, 2, a);
	assert_table_lvb(c, 3, a);
	h_assert_consistent(c);
}

static void test_lvb_is_handed_to_every_later_grant(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 20);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	assert_grant_lvb(c, 2, 2, a);
	assert_grant_lvb(c, 3, 3, a);
	/* A grant long after the write still sees it. */
	assert_int_equal(h_lock(c, 4, 4, G, GLOCK_MODE_SH, 0), 0);
	assert_grant_lvb(c, 4, 4, a);
	assert_int_equal(h_release(c, 2, G), 0);
	assert_int_equal(h_convert(c, 3, 5, G, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_release(c, 4, G), 0);
	assert_grant_lvb(c, 3, 5, a);
	h_assert_consistent(c);
}

static void test_ex_down_conversion_with_lvb_valid_writes_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 30);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_convert_lvb(c, 1, 3, G, GLOCK_MODE_SH, a), 0);
	assert_grant_lvb(c, 1, 3, a);
	assert_grant_lvb(c, 2, 2, a);
	assert_table_lvb(c, 4, a);
	h_assert_consistent(c);
}

static void test_ex_down_conversion_to_df_with_lvb_valid_writes_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 35);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_convert_lvb(c, 1, 2, G, GLOCK_MODE_DF, a), 0);
	assert_grant_lvb(c, 1, 2, a);
	assert_table_lvb(c, 3, a);
}

static void test_release_without_lvb_valid_keeps_old_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 40);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	assert_grant_lvb(c, 2, 2, a);
	/* Node 2 releases EX without lvb_valid: node 3 gets a, not garbage. */
	assert_int_equal(h_release(c, 2, G), 0);
	assert_grant_lvb(c, 3, 3, a);
	h_assert_consistent(c);
}

static void test_down_conversion_without_lvb_valid_keeps_old_lvb(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 45);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	assert_int_equal(h_convert(c, 2, 3, G, GLOCK_MODE_SH, 0), 0);
	assert_grant_lvb(c, 2, 3, a);
	assert_table_lvb(c, 1, a);
}

static void test_ex_release_without_lvb_valid_does_not_write(void **state)
{
	struct h_cluster *c = *state;
	struct glock_input in = h_op_in(GLOCK_OP_RELEASE, 1, 0, G, GLOCK_MODE_UN, 0);

	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	/* Bytes in the op but lvb_valid false: they must not land. */
	fill(in.u.op.lvb, 50);
	assert_int_equal(h_apply(c, &in), 0);
	assert_grant_lvb(c, 2, 2, zero_lvb);
	assert_table_lvb(c, 3, zero_lvb);
}

static void test_lvb_is_lost_when_the_glock_goes_idle(void **state)
{
	struct h_cluster *c = *state;
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 60);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	/* Documented: an idle glock is dropped with its LVB, as the DLM does. */
	assert_int_equal(glock_engine_glock_count(h_eng(c, 1)), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_grant_lvb(c, 2, 2, zero_lvb);
}

static void test_lvb_survives_while_a_waiter_keeps_the_glock(void **state)
{
	struct h_cluster *c = *state;
	const uint32_t three[] = { 1, 2, 3 };
	uint8_t a[GLOCK_LVB_LEN];

	fill(a, 70);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	/* Node 4 leaves: inquorate, so node 2's request only queues. */
	h_node(c, 4)->active = false;
	assert_int_equal(h_confchg(c, 3, three), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_release_lvb(c, 1, G, a), 0);
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_table_lvb(c, 3, a);
	assert_int_equal(h_quorum(c, 1, true), 0);
	assert_grant_lvb(c, 2, 2, a);
	h_assert_consistent(c);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lvb_valid_release_from_sh_holder_is_einval_and_keeps_lvb),
		T(test_lvb_valid_release_from_df_holder_is_einval),
		T(test_lvb_valid_up_conversion_from_sh_is_einval_and_keeps_lvb),
		T(test_lvb_valid_on_lock_is_einval),
		T(test_new_glock_grants_a_zero_lvb),
		T(test_ex_release_with_lvb_valid_hands_lvb_to_next_grant),
		T(test_lvb_is_handed_to_every_later_grant),
		T(test_ex_down_conversion_with_lvb_valid_writes_lvb),
		T(test_ex_down_conversion_to_df_with_lvb_valid_writes_lvb),
		T(test_release_without_lvb_valid_keeps_old_lvb),
		T(test_down_conversion_without_lvb_valid_keeps_old_lvb),
		T(test_ex_release_without_lvb_valid_does_not_write),
		T(test_lvb_is_lost_when_the_glock_goes_idle),
		T(test_lvb_survives_while_a_waiter_keeps_the_glock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
