// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The minimum hold time (DESIGN §2): a demote for a local grant younger
 * than the glock's hold time waits for a TICK past it; the hold time grows
 * by 10 ms (up to 200 ms) on contention and shrinks by 1 ms (down to 10 ms)
 * otherwise.  Engines use GFS2's defaults here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_harness.h"

#define G 42
#define MS 1000u
#define HOLD_MIN (10 * MS)
#define HOLD_MAX (200 * MS)
#define HOLD_INCR (10 * MS)
#define HOLD_DECR (1 * MS)
#define ROUND (1000 * MS) /* longer than any hold time */

struct hold_state {
	struct h_cluster *c;
	uint64_t req;
	uint64_t t;
};

static int setup(void **state)
{
	struct hold_state *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->c = h_cluster_new(3, true);
	s->req = 100;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct hold_state *s = *state;

	h_cluster_free(s->c);
	free(s);
	return 0;
}

static void tick(struct h_cluster *c, uint64_t t)
{
	assert_int_equal(h_tick(c, t), 0);
}

static size_t demotes(struct h_cluster *c, uint32_t node)
{
	return h_count_glock(c, node, GLOCK_OUT_DEMOTE, G);
}

/* ---- the delay itself ---- */

static void test_demote_inside_hold_time_waits_for_a_tick_past_it(void **state)
{
	struct h_cluster *c = ((struct hold_state *)*state)->c;

	tick(c, 1000);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, 1));
	tick(c, 5000);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(demotes(c, 1), 0);
	/* The table knows the demote was asked for; only its delivery waits. */
	{
		struct h_rec rec;

		assert_true(h_lookup(c, 3, G, &rec));
		assert_true(rec.holders[0].demote_sent);
	}
	/* The daemon arms its timer from this: exactly when the demote is due. */
	{
		uint64_t due = 0;

		assert_true(glock_engine_next_due(h_eng(c, 1), &due));
		assert_true(due == 1000 + HOLD_MIN);
		assert_false(glock_engine_next_due(h_eng(c, 2), &due));
	}
	tick(c, 1000 + HOLD_MIN - 1);
	assert_int_equal(demotes(c, 1), 0);
	tick(c, 1000 + HOLD_MIN);
	assert_int_equal(demotes(c, 1), 1);
	{
		uint64_t due;

		assert_false(glock_engine_next_due(h_eng(c, 1), &due));
	}
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_UN);
	tick(c, 1000 + 5 * HOLD_MIN);
	assert_int_equal(demotes(c, 1), 1);
	h_assert_consistent(c);
}

static void test_demote_after_hold_time_is_sent_at_once(void **state)
{
	struct h_cluster *c = ((struct hold_state *)*state)->c;

	tick(c, 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	tick(c, HOLD_MIN);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(demotes(c, 1), 1);
	assert_int_equal(h_find_glock(c, 1, GLOCK_OUT_DEMOTE, G)->mode, GLOCK_MODE_SH);
}

static void test_delayed_demote_is_dropped_when_the_holder_releases_first(void **state)
{
	struct h_cluster *c = ((struct hold_state *)*state)->c;

	tick(c, 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, 2));
	tick(c, 10 * HOLD_MAX);
	assert_int_equal(demotes(c, 1), 0);
}

static void test_hold_time_delays_only_the_local_holders_demote(void **state)
{
	struct h_cluster *c = ((struct hold_state *)*state)->c;

	/* Node 2 got its grant long ago, node 1 just now; both block EX. */
	tick(c, 0);
	assert_int_equal(h_lock(c, 2, 1, G, GLOCK_MODE_SH, 0), 0);
	tick(c, 3 * HOLD_MIN);
	assert_int_equal(h_lock(c, 1, 2, G, GLOCK_MODE_SH, 0), 0);
	assert_int_equal(h_lock(c, 3, 3, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(demotes(c, 2), 1);
	assert_int_equal(demotes(c, 1), 0);
	tick(c, 4 * HOLD_MIN);
	assert_int_equal(demotes(c, 1), 1);
	assert_int_equal(demotes(c, 2), 1);
}

static void test_tick_changes_no_replicated_state(void **state)
{
	struct h_cluster *c = ((struct hold_state *)*state)->c;
	struct glock_input in;

	tick(c, 0);
	assert_int_equal(h_lock(c, 1, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(c, 2, 2, G, GLOCK_MODE_EX, 0), 0);
	/* Only node 1's clock moves: the tables must still agree. */
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_TICK;
	in.u.tick.now_us = HOLD_MAX;
	assert_int_equal(h_apply_to(c, 1, &in), 0);
	assert_int_equal(demotes(c, 1), 1);
	h_assert_consistent(c);
}

/* ---- adaptation ---- */

/*
 * Node 2 holds EX and node 1 waits for EX.  At s->t node 2 releases, so node
 * 1 is granted; node 2 asks again after `ask` us.  Asserts node 1's demote
 * comes exactly `expect_hold` after its grant (at once if ask is past it),
 * then hands the glock back to node 2 and queues node 1 again.
 */
static void hold_round(struct hold_state *s, uint64_t ask, uint64_t expect_hold)
{
	struct h_cluster *c = s->c;
	uint64_t t0 = s->t, grant_req = s->req, due = t0 + expect_hold;

	tick(c, t0);
	assert_int_equal(h_release(c, 2, G), 0);
	assert_non_null(h_find(c, 1, GLOCK_OUT_GRANT, grant_req));
	h_clear(c);
	tick(c, t0 + ask);
	assert_int_equal(h_lock(c, 2, ++s->req, G, GLOCK_MODE_EX, 0), 0);
	if (t0 + ask < due) {
		assert_int_equal(demotes(c, 1), 0);
		tick(c, due - 1);
		if (demotes(c, 1) != 0)
			fail_msg("demote %llu us after the grant, hold time should be %llu",
				 (unsigned long long)(due - 1 - t0),
				 (unsigned long long)expect_hold);
		tick(c, due);
	}
	if (demotes(c, 1) != 1)
		fail_msg("no demote %llu us after the grant (hold time should be %llu)",
			 (unsigned long long)(due - t0), (unsigned long long)expect_hold);
	assert_int_equal(h_release(c, 1, G), 0);
	assert_non_null(h_find(c, 2, GLOCK_OUT_GRANT, s->req));
	assert_int_equal(h_lock(c, 1, ++s->req, G, GLOCK_MODE_EX, 0), 0);
	s->t += ROUND;
}

static void start_rounds(struct hold_state *s)
{
	tick(s->c, 0);
	assert_int_equal(h_lock(s->c, 2, 1, G, GLOCK_MODE_EX, 0), 0);
	assert_int_equal(h_lock(s->c, 1, s->req, G, GLOCK_MODE_EX, 0), 0);
	s->t = ROUND;
}

static void test_contention_grows_hold_time_by_increment(void **state)
{
	struct hold_state *s = *state;

	start_rounds(s);
	hold_round(s, 1 * MS, HOLD_MIN);
	hold_round(s, 1 * MS, HOLD_MIN + HOLD_INCR);
	hold_round(s, 1 * MS, HOLD_MIN + 2 * HOLD_INCR);
	hold_round(s, 1 * MS, HOLD_MIN + 3 * HOLD_INCR);
}

static void test_hold_time_growth_is_capped_at_max(void **state)
{
	struct hold_state *s = *state;
	uint64_t hold = HOLD_MIN;

	start_rounds(s);
	while (hold < HOLD_MAX) {
		hold_round(s, 1 * MS, hold);
		hold += HOLD_INCR;
	}
	hold_round(s, 1 * MS, HOLD_MAX);
	hold_round(s, 1 * MS, HOLD_MAX);
	hold_round(s, 1 * MS, HOLD_MAX);
}

static void test_quiet_demotes_shrink_hold_time_by_decrement(void **state)
{
	struct hold_state *s = *state;

	start_rounds(s);
	hold_round(s, 1 * MS, HOLD_MIN);               /* -> 20 ms */
	hold_round(s, 1 * MS, HOLD_MIN + HOLD_INCR);   /* -> 30 ms */
	hold_round(s, HOLD_MAX + MS, 0);               /* quiet: -> 29 ms */
	hold_round(s, HOLD_MAX + MS, 0);               /* quiet: -> 28 ms */
	hold_round(s, 1 * MS, 30 * MS - 2 * HOLD_DECR); /* contention at 28 ms */
}

static void test_hold_time_decay_stops_at_min(void **state)
{
	struct hold_state *s = *state;
	int i;

	start_rounds(s);
	hold_round(s, 1 * MS, HOLD_MIN); /* -> 20 ms */
	for (i = 0; i < 15; i++)         /* -> 10 ms and no lower */
		hold_round(s, HOLD_MAX + MS, 0);
	hold_round(s, 1 * MS, HOLD_MIN);
	hold_round(s, 1 * MS, HOLD_MIN + HOLD_INCR);
}

static void test_engine_refuses_min_hold_above_max(void **state)
{
	struct glock_engine_config cfg;

	glock_engine_config_defaults(&cfg, 1);
	assert_int_equal(cfg.hold_min_us, HOLD_MIN);
	assert_int_equal(cfg.hold_max_us, HOLD_MAX);
	assert_int_equal(cfg.hold_incr_us, HOLD_INCR);
	assert_int_equal(cfg.hold_decr_us, HOLD_DECR);
	cfg.hold_min_us = cfg.hold_max_us + 1;
	assert_null(glock_engine_new(&cfg, NULL, NULL));
	glock_engine_config_defaults(&cfg, GLOCK_NODEID_NONE);
	assert_null(glock_engine_new(&cfg, NULL, NULL));
	assert_null(glock_engine_new(NULL, NULL, NULL));
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_refuses_min_hold_above_max),
		T(test_demote_inside_hold_time_waits_for_a_tick_past_it),
		T(test_demote_after_hold_time_is_sent_at_once),
		T(test_delayed_demote_is_dropped_when_the_holder_releases_first),
		T(test_hold_time_delays_only_the_local_holders_demote),
		T(test_tick_changes_no_replicated_state),
		T(test_contention_grows_hold_time_by_increment),
		T(test_hold_time_growth_is_capped_at_max),
		T(test_quiet_demotes_shrink_hold_time_by_decrement),
		T(test_hold_time_decay_stops_at_min),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
