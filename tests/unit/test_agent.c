/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The lock agent's caching, demote and timeout logic, driven through
 * agent.h with fake ops: submitted ops are recorded, the clock is a
 * variable, client events are recorded.  No corosync, no IPC.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"
#include "metrics.h"

#define MAX_REC 64

struct fake {
	struct glock_op ops[MAX_REC];
	size_t n_ops;
	struct glock__agent_event evs[MAX_REC];
	void *ev_owner[MAX_REC];
	size_t n_evs;
	uint64_t now, armed, next_id;
	int submit_ret;
};

static int f_submit(void *ctx, const struct glock_op *op)
{
	struct fake *f = ctx;

	if (f->submit_ret)
		return f->submit_ret;
	assert_true(f->n_ops < MAX_REC);
	f->ops[f->n_ops++] = *op;
	return 0;
}

static uint64_t f_next(void *ctx) { return ++((struct fake *)ctx)->next_id; }
static uint64_t f_now(void *ctx) { return ((struct fake *)ctx)->now; }
static void f_arm(void *ctx, uint64_t when) { ((struct fake *)ctx)->armed = when; }

static void f_event(void *ctx, void *owner, const struct glock__agent_event *ev)
{
	struct fake *f = ctx;

	assert_true(f->n_evs < MAX_REC);
	f->ev_owner[f->n_evs] = owner;
	f->evs[f->n_evs++] = *ev;
}

static const struct glock__agent_ops fops = {
	.submit = f_submit, .next_req_id = f_next, .now_us = f_now,
	.arm_timer = f_arm, .event = f_event,
};

struct env {
	struct fake f;
	struct glock__agent *ag;
	struct glock__agent_client *a, *b;
	struct glock_name n;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->f.now = 1000000;
	e->ag = glock__agent_new(&fops, &e->f);
	assert_non_null(e->ag);
	e->a = glock__agent_client_new(e->ag, (void *)0xa, 1);
	e->b = glock__agent_client_new(e->ag, (void *)0xb, 2);
	strcpy(e->n.lockspace, "ls");
	e->n.type = 2;
	e->n.number = 42;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	glock__agent_free(e->ag);
	free(e);
	return 0;
}

static void grant(struct env *e, uint64_t req_id, enum glock_mode m)
{
	uint8_t lvb[GLOCK_LVB_LEN] = { 0 };
	struct glock_output o = { .kind = GLOCK_OUT_GRANT, .name = &e->n, .req_id = req_id,
				  .mode = m, .lvb = lvb };

	glock__agent_on_output(e->ag, &o);
}

static void demote(struct env *e, enum glock_mode target)
{
	struct glock_output o = { .kind = GLOCK_OUT_DEMOTE, .name = &e->n, .mode = target };

	glock__agent_on_output(e->ag, &o);
}

/* First lock goes to the cluster; the GRANT completes it. */
static uint64_t take_ex(struct env *e, struct glock__agent_client *cl)
{
	struct glock__agent_reply r;

	assert_int_equal(glock__agent_lock(e->ag, cl, &e->n, GLOCK_MODE_EX, 0, 0, 7, &r), 0);
	assert_true(r.pending);
	assert_int_equal(e->f.ops[e->f.n_ops - 1].kind, GLOCK_OP_LOCK);
	grant(e, e->f.ops[e->f.n_ops - 1].req_id, GLOCK_MODE_EX);
	assert_int_equal(e->f.evs[e->f.n_evs - 1].kind, GLOCK__AGENT_EV_COMPLETE);
	assert_int_equal(e->f.evs[e->f.n_evs - 1].err, 0);
	return r.handle;
}

static void test_invalid_requests_are_refused(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	struct glock_name bad = { 0 };

	assert_int_equal(glock__agent_lock(e->ag, e->a, &bad, GLOCK_MODE_EX, 0, 0, 0, &r), -EINVAL);
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_UN, 0, 0, 0, &r), -EINVAL);
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, 9, 0, 0, 0, &r), -EINVAL);
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_SH, 0x100, 0, 0, &r),
			 -EINVAL);
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, 99, NULL), -ENOENT);
	assert_int_equal(e->f.n_ops, 0);
}

static void test_cached_grant_needs_no_network(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	uint64_t h = take_ex(e, e->a);
	size_t ops;

	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	ops = e->f.n_ops;
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_EX, 0, 0, 0, &r), 0);
	assert_false(r.pending);
	assert_int_equal(r.mode, GLOCK_MODE_EX);
	assert_int_equal(e->f.n_ops, ops); /* nothing submitted: node-level caching */
	/* SH is covered by the cached EX too, once the EX holder is gone. */
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, r.handle, NULL), 0);
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_SH, 0, 0, 0, &r), 0);
	assert_false(r.pending);
	assert_int_equal(e->f.n_ops, ops);
}

static void test_cached_grant_is_not_used_while_inquorate(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	struct glock_output inq = { .kind = GLOCK_OUT_INQUORATE };
	struct glock_output quo = { .kind = GLOCK_OUT_QUORATE };
	uint64_t h = take_ex(e, e->a);
	size_t ops, evs;

	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	glock__agent_on_output(e->ag, &inq);
	ops = e->f.n_ops;
	evs = e->f.n_evs;
	/* Another partition may be granting this glock: the cache is off limits. */
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_SH, 0, 0, 0, &r), 0);
	assert_true(r.pending);
	assert_int_equal(e->f.n_ops, ops);
	assert_int_equal(e->f.n_evs, evs);
	glock__agent_on_output(e->ag, &quo);
	assert_int_equal(e->f.n_evs, evs + 1);
	assert_int_equal(e->f.evs[evs].kind, GLOCK__AGENT_EV_COMPLETE);
	assert_int_equal(e->f.evs[evs].err, 0);
	assert_int_equal(e->f.n_ops, ops); /* still the cached grant: no network */
}

static void test_conversion_against_own_demote_fails_as_deadlock(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	uint64_t h;

	/* a holds SH; another node's EX request makes the cluster demote us. */
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_SH, 0, 0, 0, &r), 0);
	grant(e, e->f.ops[e->f.n_ops - 1].req_id, GLOCK_MODE_SH);
	h = r.handle;
	demote(e, GLOCK_MODE_UN);
	/* Converting up now would wait on the demote that waits on us. */
	assert_int_equal(glock__agent_convert(e->ag, e->a, &e->n, h, GLOCK_MODE_EX, 0, 0, 0, NULL,
					      &r), 0);
	assert_false(r.pending);
	assert_int_equal(r.reason, GLOCK_DENY_DEADLOCK);
	assert_int_equal(r.mode, GLOCK_MODE_SH);
	/* Once the holder lets go, the node gives the glock up. */
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	assert_int_equal(e->f.ops[e->f.n_ops - 1].kind, GLOCK_OP_RELEASE);
}

static void test_local_ex_holders_exclude_each_other(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	uint64_t h = take_ex(e, e->a);

	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_EX, GLOCK_FLAG_TRY, 0, 0,
					   &r), 0);
	assert_int_equal(r.reason, GLOCK_DENY_TRYFAIL);
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_EX, 0, 0, 5, &r), 0);
	assert_true(r.pending);
	e->f.n_evs = 0;
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	assert_int_equal(e->f.n_evs, 1);
	assert_ptr_equal(e->f.ev_owner[0], (void *)0xb);
	assert_int_equal(e->f.evs[0].client_ref, 5);
	assert_int_equal(e->f.evs[0].err, 0);
}

static void test_demote_waits_for_holder_then_releases_with_lvb(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	uint8_t lvb[GLOCK_LVB_LEN];
	uint64_t h = take_ex(e, e->a);
	size_t ops = e->f.n_ops;

	e->f.n_evs = 0;
	demote(e, GLOCK_MODE_UN);
	assert_int_equal(e->f.n_ops, ops); /* holder still there */
	assert_int_equal(e->f.n_evs, 1);
	assert_int_equal(e->f.evs[0].kind, GLOCK__AGENT_EV_DEMOTE);
	/* A newcomer queues behind the demote instead of taking the cache. */
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_SH, 0, 0, 0, &r), 0);
	assert_true(r.pending);
	memset(lvb, 0x5a, sizeof(lvb));
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, lvb), 0);
	assert_int_equal(e->f.ops[ops].kind, GLOCK_OP_RELEASE);
	assert_true(e->f.ops[ops].lvb_valid);
	assert_memory_equal(e->f.ops[ops].lvb, lvb, GLOCK_LVB_LEN);
	/* ...and then the waiter asks the cluster again, behind the remote node. */
	assert_int_equal(e->f.ops[ops + 1].kind, GLOCK_OP_LOCK);
	assert_int_equal(e->f.ops[ops + 1].mode, GLOCK_MODE_SH);
}

static void test_demote_of_idle_cache_releases_at_once(void **state)
{
	struct env *e = *state;
	uint64_t h = take_ex(e, e->a);
	size_t ops;

	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	ops = e->f.n_ops;
	demote(e, GLOCK_MODE_SH);
	assert_int_equal(e->f.n_ops, ops + 1);
	assert_int_equal(e->f.ops[ops].kind, GLOCK_OP_CONVERT);
	assert_int_equal(e->f.ops[ops].mode, GLOCK_MODE_SH);
}

static void test_timeout_cancels_the_cluster_request(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;

	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_EX, 0, 50, 3, &r), 0);
	assert_true(r.pending);
	assert_int_equal(e->f.armed, e->f.now + 50000);
	e->f.now += 50000;
	e->f.n_evs = 0;
	glock__agent_timer(e->ag);
	assert_int_equal(e->f.n_evs, 1);
	assert_int_equal(e->f.evs[0].err, -ETIMEDOUT);
	assert_int_equal(e->f.ops[e->f.n_ops - 1].kind, GLOCK_OP_CANCEL);
	assert_int_equal(e->f.ops[e->f.n_ops - 1].req_id, e->f.ops[0].req_id);
}

static void test_lost_tells_holders_and_waiters(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	struct glock_output o = { .kind = GLOCK_OUT_LOST, .name = &e->n, .mode = GLOCK_MODE_EX };

	take_ex(e, e->a);
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_EX, 0, 0, 0, &r), 0);
	e->f.n_evs = 0;
	glock__agent_on_output(e->ag, &o);
	assert_int_equal(e->f.n_evs, 2);
	assert_int_equal(e->f.evs[0].kind, GLOCK__AGENT_EV_LOST);
	assert_int_equal(e->f.evs[1].kind, GLOCK__AGENT_EV_COMPLETE);
	assert_int_equal(e->f.evs[1].reason, GLOCK_DENY_LOST);
}

static void test_waiters_survive_unsynced_and_ask_again_when_synced(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	struct glock_output un = { .kind = GLOCK_OUT_UNSYNCED }, sy = { .kind = GLOCK_OUT_SYNCED };

	e->f.submit_ret = -ENOTCONN;
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_SH, 0, 0, 0, &r), 0);
	assert_true(r.pending);
	glock__agent_on_output(e->ag, &un);
	e->f.submit_ret = 0;
	glock__agent_on_output(e->ag, &sy);
	assert_int_equal(e->f.n_ops, 1);
	assert_int_equal(e->f.ops[0].kind, GLOCK_OP_LOCK);
}

static void test_disconnect_releases_holders(void **state)
{
	struct env *e = *state;
	struct glock__agent_counts c;

	take_ex(e, e->a);
	glock__agent_client_free(e->ag, e->a);
	e->a = NULL;
	glock__agent_counts(e->ag, &c);
	assert_int_equal(c.holders, 0);
	assert_int_equal(c.cached, 1); /* the node keeps the grant */
}

static void test_stats_follow_gfs2_smoothing(void **state)
{
	int64_t avg = 0, var = 0;

	glock__agent_stats_update(&avg, &var, 800);
	assert_int_equal(avg, 100);
	assert_int_equal(var, 200);
}

/* ---- request counters (metrics.h) ---- */

static const struct glock__metrics_series *series(struct env *e, enum glock__metrics_op op,
						  enum glock__metrics_outcome o)
{
	return &glock__agent_metrics(e->ag)->req[op][o];
}

static void test_metrics_time_a_cluster_grant_and_count_a_cached_one(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	const struct glock__metrics_series *s = series(e, GLOCK__METRICS_LOCK,
							GLOCK__METRICS_GRANTED);
	uint64_t h;

	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_EX, 0, 0, 7, &r), 0);
	e->f.now += 300; /* the cluster answers 300 us later */
	grant(e, e->f.ops[e->f.n_ops - 1].req_id, GLOCK_MODE_EX);
	assert_int_equal(s->count, 1);
	assert_int_equal(s->sum_us, 300);
	assert_int_equal(s->buckets[5], 1); /* (250, 500] */
	assert_int_equal(glock__agent_metrics(e->ag)->cache_hits, 0);
	h = r.handle;
	assert_int_equal(glock__agent_unlock(e->ag, e->a, &e->n, h, NULL), 0);
	assert_int_equal(series(e, GLOCK__METRICS_UNLOCK, GLOCK__METRICS_GRANTED)->count, 1);
	assert_int_equal(glock__agent_lock(e->ag, e->a, &e->n, GLOCK_MODE_SH, 0, 0, 8, &r), 0);
	assert_false(r.pending);
	assert_int_equal(s->count, 2);
	assert_int_equal(s->buckets[0], 1); /* no time passed */
	assert_int_equal(glock__agent_metrics(e->ag)->cache_hits, 1);
}

static void test_metrics_count_outcomes_other_than_a_grant(void **state)
{
	struct env *e = *state;
	struct glock__agent_reply r;
	uint64_t h = take_ex(e, e->a);

	/* b's TRY fails at once: a holds EX locally. */
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_EX, GLOCK_FLAG_TRY, 0,
					   1, &r), 0);
	assert_int_equal(r.reason, GLOCK_DENY_TRYFAIL);
	assert_int_equal(series(e, GLOCK__METRICS_LOCK, GLOCK__METRICS_TRYFAIL)->count, 1);
	/* b waits 50 ms and times out. */
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, GLOCK_MODE_EX, 0, 50, 2, &r), 0);
	assert_true(r.pending);
	e->f.now += 50000;
	glock__agent_timer(e->ag);
	assert_int_equal(series(e, GLOCK__METRICS_LOCK, GLOCK__METRICS_TIMEDOUT)->count, 1);
	assert_int_equal(series(e, GLOCK__METRICS_LOCK, GLOCK__METRICS_TIMEDOUT)->sum_us, 50000);
	/* A bad request and an unknown handle are errors. */
	assert_int_equal(glock__agent_lock(e->ag, e->b, &e->n, 9, 0, 0, 3, &r), -EINVAL);
	assert_int_equal(series(e, GLOCK__METRICS_LOCK, GLOCK__METRICS_ERROR)->count, 1);
	assert_int_equal(glock__agent_unlock(e->ag, e->b, &e->n, h + 100, NULL), -ENOENT);
	assert_int_equal(series(e, GLOCK__METRICS_UNLOCK, GLOCK__METRICS_ERROR)->count, 1);
	/* A demote from the cluster is counted. */
	demote(e, GLOCK_MODE_UN);
	assert_int_equal(glock__agent_metrics(e->ag)->demotes, 1);
	/* One grant in all (take_ex's). */
	assert_int_equal(series(e, GLOCK__METRICS_LOCK, GLOCK__METRICS_GRANTED)->count, 1);
}

static void test_metrics_outcome_names_and_mapping(void **state)
{
	(void)state;
	assert_int_equal(glock__metrics_outcome_of(0, 0), GLOCK__METRICS_GRANTED);
	assert_int_equal(glock__metrics_outcome_of(0, GLOCK_DENY_DEADLOCK), GLOCK__METRICS_DEADLOCK);
	assert_int_equal(glock__metrics_outcome_of(0, GLOCK_DENY_LOST), GLOCK__METRICS_LOST);
	assert_int_equal(glock__metrics_outcome_of(-ETIMEDOUT, 0), GLOCK__METRICS_TIMEDOUT);
	assert_int_equal(glock__metrics_outcome_of(-ENOTCONN, 0), GLOCK__METRICS_ERROR);
	assert_string_equal(glock__metrics_op_name(GLOCK__METRICS_CONVERT), "convert");
	assert_string_equal(glock__metrics_outcome_name(GLOCK__METRICS_TRYFAIL), "tryfail");
	assert_string_equal(glock__metrics_outcome_name(GLOCK__METRICS_OUTCOME_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invalid_requests_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_grant_needs_no_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_grant_is_not_used_while_inquorate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conversion_against_own_demote_fails_as_deadlock,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_ex_holders_exclude_each_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demote_waits_for_holder_then_releases_with_lvb,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_demote_of_idle_cache_releases_at_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timeout_cancels_the_cluster_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lost_tells_holders_and_waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiters_survive_unsynced_and_ask_again_when_synced,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_releases_holders, setup, teardown),
		cmocka_unit_test(test_stats_follow_gfs2_smoothing),
		cmocka_unit_test_setup_teardown(test_metrics_time_a_cluster_grant_and_count_a_cached_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_count_outcomes_other_than_a_grant, setup,
						teardown),
		cmocka_unit_test(test_metrics_outcome_names_and_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
