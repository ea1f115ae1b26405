// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mode compatibility (DESIGN §2 "Modes"): SH+SH, DF+DF and UN with anything
 * are compatible, every other pair conflicts.  Checked on the table itself
 * and on real grants in a small cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_harness.h"

static const enum glock_mode all_modes[] = {
	GLOCK_MODE_UN, GLOCK_MODE_SH, GLOCK_MODE_DF, GLOCK_MODE_EX,
};
static const enum glock_mode lockable[] = { GLOCK_MODE_SH, GLOCK_MODE_DF, GLOCK_MODE_EX };

/* The rule as DESIGN.md states it, written independently of engine.c. */
static bool expected_compatible(enum glock_mode a, enum glock_mode b)
{
	if (a == GLOCK_MODE_UN || b == GLOCK_MODE_UN)
		return true;
	return a == b && a != GLOCK_MODE_EX;
}

static int setup2(void **state)
{
	*state = h_cluster_new(2, false);
	return 0;
}

static int setup3(void **state)
{
	*state = h_cluster_new(3, false);
	return 0;
}

static int teardown(void **state)
{
	h_cluster_free(*state);
	return 0;
}

/* ---- invalid arguments first ---- */

static void test_unknown_modes_are_compatible_with_nothing(void **state)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_false(glock_mode_compatible(all_modes[i], (enum glock_mode)4));
		assert_false(glock_mode_compatible((enum glock_mode)4, all_modes[i]));
		assert_false(glock_mode_compatible(all_modes[i], (enum glock_mode)-1));
		assert_false(glock_mode_compatible((enum glock_mode)0x7fffffff, all_modes[i]));
	}
}

static void test_mode_names_are_distinct_and_unknown_is_marked(void **state)
{
	assert_string_equal(glock_mode_name(GLOCK_MODE_UN), "UN");
	assert_string_equal(glock_mode_name(GLOCK_MODE_SH), "SH");
	assert_string_equal(glock_mode_name(GLOCK_MODE_DF), "DF");
	assert_string_equal(glock_mode_name(GLOCK_MODE_EX), "EX");
	assert_string_equal(glock_mode_name((enum glock_mode)9), "??");
}

/* ---- the table ---- */

static void test_compatibility_table_matches_design(void **state)
{
	size_t i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++) {
			bool want = expected_compatible(all_modes[i], all_modes[j]);

			if (glock_mode_compatible(all_modes[i], all_modes[j]) != want)
				fail_msg("%s+%s: expected %s", glock_mode_name(all_modes[i]),
					 glock_mode_name(all_modes[j]),
					 want ? "compatible" : "conflict");
		}
}

static void test_compatibility_is_symmetric(void **state)
{
	size_t i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			assert_int_equal(glock_mode_compatible(all_modes[i], all_modes[j]),
					 glock_mode_compatible(all_modes[j], all_modes[i]));
}

static void test_un_is_compatible_with_every_mode(void **state)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_true(glock_mode_compatible(GLOCK_MODE_UN, all_modes[i]));
		assert_true(glock_mode_compatible(all_modes[i], GLOCK_MODE_UN));
	}
}

static void test_sh_df_ex_pairs_conflict_except_sh_sh_and_df_df(void **state)
{
	assert_true(glock_mode_compatible(GLOCK_MODE_SH, GLOCK_MODE_SH));
	assert_true(glock_mode_compatible(GLOCK_MODE_DF, GLOCK_MODE_DF));
	assert_false(glock_mode_compatible(GLOCK_MODE_SH, GLOCK_MODE_DF));
	assert_false(glock_mode_compatible(GLOCK_MODE_DF, GLOCK_MODE_SH));
	assert_false(glock_mode_compatible(GLOCK_MODE_SH, GLOCK_MODE_EX));
	assert_false(glock_mode_compatible(GLOCK_MODE_EX, GLOCK_MODE_SH));
	assert_false(glock_mode_compatible(GLOCK_MODE_DF, GLOCK_MODE_EX));
	assert_false(glock_mode_compatible(GLOCK_MODE_EX, GLOCK_MODE_DF));
	assert_false(glock_mode_compatible(GLOCK_MODE_EX, GLOCK_MODE_EX));
}

/* ---- real grants ---- */

/* Node 1 holds a, node 2 asks for b on a fresh glock per pair. */
static void test_second_lock_is_granted_iff_modes_are_compatible(void **state)
{
	struct h_cluster *c = *state;
	uint64_t number = 100;
	size_t i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++, number++) {
			enum glock_mode a = lockable[i], b = lockable[j];
			bool want = expected_compatible(a, b);

			h_clear(c);
			assert_int_equal(h_lock(c, 1, number * 10 + 1, number, a, 0), 0);
			assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, number * 10 + 1));
			assert_int_equal(h_lock(c, 2, number * 10 + 2, number, b, 0), 0);
			if ((h_find(c, 2, GLOCK_OUT_GRANT, number * 10 + 2) != NULL) != want)
				fail_msg("%s held, %s requested: expected %s",
					 glock_mode_name(a), glock_mode_name(b),
					 want ? "a grant" : "a wait");
			assert_int_equal(h_held(c, 3, number, 2), want ? b : GLOCK_MODE_UN);
			assert_int_equal(h_waiting(c, 3, number, 2), want ? -1 : 0);
			h_assert_consistent(c);
		}
}

/* Node 1 holds a, node 2 holds a compatible c and converts to b. */
static void test_conversion_is_granted_iff_modes_are_compatible(void **state)
{
	struct h_cluster *c = *state;
	uint64_t number = 200;
	size_t i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			enum glock_mode a = lockable[i], b = lockable[j];
			bool want = expected_compatible(a, b);

			if (a == GLOCK_MODE_EX)
				continue; /* nothing else can be held next to EX */
			/* Node 2 starts in a (compatible with itself), converts to b. */
			if (a == b)
				continue; /* that would be -EALREADY */
			number++;
			h_clear(c);
			assert_int_equal(h_lock(c, 1, 1, number, a, 0), 0);
			assert_int_equal(h_lock(c, 2, 2, number, a, 0), 0);
			assert_int_equal(h_held(c, 1, number, 2), a);
			assert_int_equal(h_convert(c, 2, 3, number, b, 0), 0);
			if ((h_find(c, 2, GLOCK_OUT_GRANT, 3) != NULL) != want)
				fail_msg("%s held, %s->%s: expected %s", glock_mode_name(a),
					 glock_mode_name(a), glock_mode_name(b),
					 want ? "a grant" : "a wait");
			assert_int_equal(h_held(c, 1, number, 2), want ? b : a);
			h_assert_consistent(c);
		}
}

static void test_three_sh_holders_share_a_glock(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, 7, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, 7, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, 7, GLOCK_MODE_SH, 0), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	assert_non_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_held(c, 2, 7, 3), GLOCK_MODE_SH);
	h_assert_consistent(c);
}

static void test_three_df_holders_share_a_glock(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, 7, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, 7, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, 7, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_count(c, 1, GLOCK_OUT_GRANT) + h_count(c, 2, GLOCK_OUT_GRANT) +
				 h_count(c, 3, GLOCK_OUT_GRANT), 3);
	assert_int_equal(h_held(c, 1, 7, 3), GLOCK_MODE_DF);
	h_assert_consistent(c);
}

static void test_sh_holders_block_df_and_df_holders_block_sh(void **state)
{
	struct h_cluster *c = *state;

	assert_int_equal(h_lock(c, 1, 1, 7, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, 7, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, 7, GLOCK_MODE_DF, 0), 0);
	assert_null(h_find(c, 3, GLOCK_OUT_GRANT, 3));
	assert_int_equal(h_waiting(c, 1, 7, 3), 0);

	assert_int_equal(h_lock(c, 1, 11, 8, GLOCK_MODE_DF, 0), 0);
	assert_int_equal(h_lock(c, 2, 12, 8, GLOCK_MODE_SH, 0), 0);
	assert_null(h_find(c, 2, GLOCK_OUT_GRANT, 12));
	assert_int_equal(h_waiting(c, 3, 8, 2), 0);
	h_assert_consistent(c);
}

/* UN is what a node holds once it released: it blocks nobody. */
static void test_released_holder_blocks_nobody(void **state)
{
	struct h_cluster *c = *state;
	size_t i;

	for (i = 0; i < 3; i++) {
		uint64_t number = 300 + i;

		h_clear(c);
		assert_int_equal(h_lock(c, 1, 1, number, GLOCK_MODE_EX, 0), 0);
		assert_int_equal(h_release(c, 1, number), 0);
		assert_int_equal(h_lock(c, 2, 2, number, lockable[i], 0), 0);
		assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
		assert_int_equal(h_held(c, 1, number, 1), GLOCK_MODE_UN);
	}
	h_assert_consistent(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_modes_are_compatible_with_nothing),
		cmocka_unit_test(test_mode_names_are_distinct_and_unknown_is_marked),
		cmocka_unit_test(test_compatibility_table_matches_design),
		cmocka_unit_test(test_compatibility_is_symmetric),
		cmocka_unit_test(test_un_is_compatible_with_every_mode),
		cmocka_unit_test(test_sh_df_ex_pairs_conflict_except_sh_sh_and_df_df),
		cmocka_unit_test_setup_teardown(test_second_lock_is_granted_iff_modes_are_compatible,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_conversion_is_granted_iff_modes_are_compatible,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_three_sh_holders_share_a_glock, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_three_df_holders_share_a_glock, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_sh_holders_block_df_and_df_holders_block_sh,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_released_holder_blocks_nobody, setup2, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
