// SPDX-License-Identifier: LGPL-2.1-or-later
/* Master selection by rendezvous hashing. */
#include "rendezvous.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct glock_name name_of(uint64_t number)
{
	struct glock_name n;

	memset(&n, 0, sizeof(n));
	snprintf(n.lockspace, sizeof(n.lockspace), "fs1");
	n.type = 2;
	n.number = number;
	return n;
}

static void test_no_members_no_master(void **state)
{
	struct glock_name n = name_of(1);

	(void)state;
	assert_int_equal(glock_master_of(&n, NULL, 0), GLOCK_NODEID_NONE);
}

static void test_master_is_a_member_and_order_free(void **state)
{
	static const uint32_t a[] = { 1, 2, 3, 4, 5 }, b[] = { 5, 3, 1, 4, 2 };
	uint64_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		struct glock_name n = name_of(i);
		uint32_t m = glock_master_of(&n, a, 5);

		assert_true(m >= 1 && m <= 5);
		assert_int_equal(m, glock_master_of(&n, b, 5));
	}
}

static void test_departure_moves_only_its_glocks(void **state)
{
	static const uint32_t before[] = { 1, 2, 3, 4, 5 }, after[] = { 1, 2, 4, 5 };
	uint64_t i;
	unsigned int moved = 0;

	(void)state;
	for (i = 0; i < 2000; i++) {
		struct glock_name n = name_of(i);
		uint32_t m0 = glock_master_of(&n, before, 5), m1 = glock_master_of(&n, after, 4);

		if (m0 != 3)
			assert_int_equal(m0, m1);
		else
			moved++;
	}
	assert_true(moved > 200 && moved < 600); /* about a fifth */
}

static void test_join_moves_glocks_only_to_the_joiner(void **state)
{
	static const uint32_t before[] = { 1, 2, 3 }, after[] = { 1, 2, 3, 9 };
	uint64_t i;
	unsigned int moved = 0;

	(void)state;
	for (i = 0; i < 2000; i++) {
		struct glock_name n = name_of(i);
		uint32_t m0 = glock_master_of(&n, before, 3), m1 = glock_master_of(&n, after, 4);

		if (m1 != m0) {
			assert_int_equal(m1, 9);
			moved++;
		}
	}
	assert_true(moved > 300 && moved < 700); /* about a quarter */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_members_no_master),
		cmocka_unit_test(test_master_is_a_member_and_order_free),
		cmocka_unit_test(test_departure_moves_only_its_glocks),
		cmocka_unit_test(test_join_moves_glocks_only_to_the_joiner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
