// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX byte-range locks on one resource (daemon/engine/plock.h).
 *
 * The allocator is wrapped (-Wl,--wrap=malloc,calloc,realloc) so that the
 * n-th allocation can fail: every call that allocates must then leave the
 * resource exactly as it was.
 */
#include "plock.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- allocation failure injection ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static unsigned int alloc_fail_at; /* 0: never; else the n-th allocation from now fails */
static unsigned int alloc_count;

static bool alloc_fails(void)
{
	return alloc_fail_at && ++alloc_count == alloc_fail_at;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

static void fail_allocation(unsigned int nth)
{
	alloc_fail_at = nth;
	alloc_count = 0;
}

/* ---- helpers ---- */

#define EOF_ GLOCK_PLOCK_EOF
#define RD GLOCK_PLOCK_RD
#define WR GLOCK_PLOCK_WR

static struct glock_plock_owner owner(uint32_t node, uint64_t id)
{
	return (struct glock_plock_owner){ .node = node, .id = id, .pid = 1000 + (uint32_t)id };
}

static struct glock_plock_owner ofd_owner(uint32_t node, uint64_t id)
{
	struct glock_plock_owner o = owner(node, id);

	o.ofd = true;
	return o;
}

static struct glock_plock_lock lk(struct glock_plock_owner o, enum glock_plock_type type,
				  uint64_t start, uint64_t end)
{
	return (struct glock_plock_lock){ .owner = o, .type = type, .start = start, .end = end };
}

struct grants {
	size_t n;
	struct glock_plock_waiter w[16];
};

static void on_grant(void *ctx, const struct glock_plock_waiter *w)
{
	struct grants *g = ctx;

	assert_true(g->n < 16);
	g->w[g->n++] = *w;
}

/* Numbers near the top print as EOF-k. */
static void put_off(char *buf, size_t size, uint64_t v)
{
	if (v >= EOF_ - 1000)
		snprintf(buf, size, v == EOF_ ? "EOF" : "EOF-%" PRIu64, EOF_ - v);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

#define DUMP_MAX 2048
static char dump_buf[DUMP_MAX];

static void dump_lock(const struct glock_plock_lock *l, const char *tag)
{
	size_t len = strlen(dump_buf);
	char s[32], e[32];

	put_off(s, sizeof(s), l->start);
	put_off(e, sizeof(e), l->end);
	snprintf(dump_buf + len, DUMP_MAX - len, "%s%" PRIu32 ".%" PRIu64 "%s %s %s-%s",
		 len ? ", " : "", l->owner.node, l->owner.id, tag, l->type == RD ? "RD" : "WR", s,
		 e);
}

static int dump_one_lock(void *ctx, const struct glock_plock_lock *l)
{
	(void)ctx;
	dump_lock(l, "");
	return 0;
}

static int dump_one_waiter(void *ctx, const struct glock_plock_waiter *w)
{
	char tag[32];

	(void)ctx;
	snprintf(tag, sizeof(tag), "#%" PRIu64, w->req_id);
	dump_lock(&w->want, tag);
	return 0;
}

/* "node.id RD start-end, ..." in foreach order. */
static const char *locks_of(const struct glock_plock_res *r)
{
	dump_buf[0] = '\0';
	assert_int_equal(glock_plock_foreach_lock(r, dump_one_lock, NULL), 0);
	return dump_buf;
}

/* "node.id#req WR start-end, ..." in arrival order. */
static const char *waiters_of(const struct glock_plock_res *r)
{
	dump_buf[0] = '\0';
	assert_int_equal(glock_plock_foreach_waiter(r, dump_one_waiter, NULL), 0);
	return dump_buf;
}

static int lock_nowait(struct glock_plock_res *r, struct glock_plock_lock l)
{
	return glock_plock_lock(r, 999999, &l, false, NULL, NULL); /* never a waiter's */
}

static int lock_wait(struct glock_plock_res *r, uint64_t req, struct glock_plock_lock l,
		     struct grants *g)
{
	return glock_plock_lock(r, req, &l, true, on_grant, g);
}

/* F_SETLK under a request id of its own, with the grant callback. */
static int lock_once(struct glock_plock_res *r, uint64_t req, struct glock_plock_lock l,
		     struct grants *g)
{
	return glock_plock_lock(r, req, &l, false, g ? on_grant : NULL, g);
}

static int unlock(struct glock_plock_res *r, struct glock_plock_owner o, uint64_t start,
		  uint64_t end, struct grants *g)
{
	return glock_plock_unlock(r, &o, start, end, on_grant, g);
}

static int setup(void **state)
{
	*state = glock_plock_res_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	glock_plock_res_free(*state);
	return 0;
}

/* ---- invalid arguments ---- */

static void test_malformed_requests_are_einval(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), nobody = owner(0, 1);
	struct glock_plock_lock bad_type = lk(a, RD, 0, 9), bad_range = lk(a, RD, 10, 9);
	struct glock_plock_lock bad_node = lk(nobody, RD, 0, 9), ok = lk(a, RD, 0, 9), out;

	bad_type.type = 3;
	assert_false(glock_plock_lock_valid(NULL));
	assert_false(glock_plock_lock_valid(&bad_type));
	assert_false(glock_plock_lock_valid(&bad_range));
	assert_false(glock_plock_lock_valid(&bad_node));
	assert_true(glock_plock_lock_valid(&ok));
	bad_type.type = 0;
	assert_false(glock_plock_lock_valid(&bad_type));

	assert_int_equal(glock_plock_lock(r, 1, &bad_type, true, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_lock(r, 1, &bad_range, false, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_lock(r, 1, &bad_node, false, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_lock(r, 1, NULL, false, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_lock(NULL, 1, &ok, false, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_unlock(r, &a, 10, 9, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_unlock(r, &nobody, 0, 9, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_unlock(r, NULL, 0, 9, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_get(r, &bad_range, &out), -EINVAL);
	assert_int_equal(glock_plock_get(r, &ok, NULL), -EINVAL);
	assert_int_equal(glock_plock_set_node(r, 0, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_set_node(r, 1, &bad_range, 1, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_set_node(r, 2, &ok, 1, NULL, NULL), -EINVAL); /* node 1's */
	assert_int_equal(glock_plock_set_node(r, 1, NULL, 1, NULL, NULL), -EINVAL);
	assert_int_equal(glock_plock_cancel(r, 1, 1), -ENOENT);
	assert_true(glock_plock_res_empty(r));
}

/* ---- conflicts ---- */

static void test_readers_of_different_owners_share(void **state)
{
	struct glock_plock_res *r = *state;

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), RD, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), RD, 50, 149)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), RD, 0, EOF_)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-99, 1.2 RD 0-EOF, 2.1 RD 50-149");
}

static void test_writer_conflict_is_eagain_or_queued(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };
	struct glock_plock_counts c;

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), RD, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), WR, 19, 30)), -EAGAIN);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(3, 1), RD, 5, 5)), -EAGAIN);
	assert_int_equal(lock_wait(r, 7, lk(owner(3, 1), RD, 5, 5), &g), GLOCK_PLOCK_QUEUED);
	assert_string_equal(waiters_of(r), "3.1#7 RD 5-5");
	glock_plock_counts(r, &c);
	assert_int_equal(c.locks, 2);
	assert_int_equal(c.waiters, 1);
	assert_int_equal(g.n, 0);
	assert_false(glock_plock_res_empty(r));
}

static void test_an_owner_never_conflicts_with_itself(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);

	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 50, 199)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 WR 0-199");
	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 199)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-199");
}

static void test_owners_on_one_node_conflict(void **state)
{
	struct glock_plock_res *r = *state;

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), RD, 9, 9)), -EAGAIN);
	assert_int_equal(lock_nowait(r, lk(ofd_owner(1, 3), WR, 0, 0)), -EAGAIN);
}

/* ---- merge, replace, split ---- */

static void test_overlapping_and_adjacent_locks_of_one_type_merge(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);

	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, RD, 5, 14)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-14");
	assert_int_equal(lock_nowait(r, lk(a, RD, 15, 20)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-20");
	assert_int_equal(lock_nowait(r, lk(a, RD, 22, 30)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-20, 1.1 RD 22-30");
	assert_int_equal(lock_nowait(r, lk(a, WR, 31, 40)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-20, 1.1 RD 22-30, 1.1 WR 31-40");
	/* Fills the gap: touches both neighbours of its type, not the WR. */
	assert_int_equal(lock_nowait(r, lk(a, RD, 21, 21)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-30, 1.1 WR 31-40");
	/* Another owner's adjacent lock is no neighbour. */
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), RD, 41, 50)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, RD, 51, 60)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-30, 1.1 WR 31-40, 1.2 RD 41-50, 1.1 RD 51-60");
	/* One lock over several merges them all. */
	assert_int_equal(lock_nowait(r, lk(a, RD, 25, 55)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-60, 1.2 RD 41-50");
}

static void test_writer_over_part_of_a_reader_leaves_three_pieces(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);

	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-9, 1.1 WR 10-19, 1.1 RD 20-99");
	assert_int_equal(lock_nowait(r, lk(a, RD, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-99");
	/* At the edges: one piece left. */
	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 90, 99)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 WR 0-9, 1.1 RD 10-89, 1.1 WR 90-99");
}

static void test_unlock_in_the_middle_splits(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(unlock(r, a, 40, 59, NULL), 0);
	assert_string_equal(locks_of(r), "1.1 WR 0-39, 1.1 WR 60-99");
	assert_int_equal(unlock(r, a, 30, 69, NULL), 0);
	assert_string_equal(locks_of(r), "1.1 WR 0-29, 1.1 WR 70-99");
	assert_int_equal(unlock(r, a, 0, EOF_, NULL), 0);
	assert_string_equal(locks_of(r), "");
	assert_true(glock_plock_res_empty(r));
}

static void test_unlocking_what_is_not_held_is_no_error(void **state)
{
	struct glock_plock_res *r = *state;

	assert_int_equal(unlock(r, owner(1, 1), 0, EOF_, NULL), 0);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(unlock(r, owner(1, 1), 0, EOF_, NULL), 0);
	assert_int_equal(unlock(r, owner(2, 1), 10, 19, NULL), 0);
	assert_string_equal(locks_of(r), "2.1 WR 0-9");
}

static void test_ranges_at_zero_and_at_eof(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = owner(2, 1);
	struct glock_plock_lock c;

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, EOF_)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(unlock(r, a, 0, 0, NULL), 0);
	assert_string_equal(locks_of(r), "1.1 WR 1-EOF");
	assert_int_equal(unlock(r, a, EOF_, EOF_, NULL), 0);
	assert_string_equal(locks_of(r), "1.1 WR 1-EOF-1");
	assert_int_equal(lock_nowait(r, lk(b, RD, EOF_, EOF_)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(b, RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "2.1 RD 0-0, 1.1 WR 1-EOF-1, 2.1 RD EOF-EOF");
	assert_int_equal(lock_nowait(r, lk(b, RD, EOF_ - 1, EOF_)), -EAGAIN);
	c = lk(b, WR, EOF_, EOF_);
	assert_int_equal(glock_plock_get(r, &c, &c), 0);
	assert_int_equal(unlock(r, b, 0, EOF_, NULL), 0);
	/* Merges at both ends: end + 1 and start - 1 must not wrap. */
	assert_int_equal(lock_nowait(r, lk(a, WR, EOF_, EOF_)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 WR 0-EOF");
	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, RD, EOF_, EOF_)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-0, 1.1 WR 1-EOF-1, 1.1 RD EOF-EOF");
	assert_int_equal(lock_nowait(r, lk(a, RD, 1, EOF_ - 1)), GLOCK_PLOCK_GRANTED);
	assert_string_equal(locks_of(r), "1.1 RD 0-EOF");
}

/* ---- waiters ---- */

static void test_unlock_grants_waiters_in_arrival_order(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(2, 1), WR, 0, 9), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(owner(3, 1), RD, 50, 59), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(owner(3, 2), RD, 5, 5), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 3, lk(owner(3, 3), RD, 55, 55), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(unlock(r, a, 0, EOF_, &g), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.w[0].node, 2);
	assert_int_equal(g.w[0].want.owner.id, 1);
	assert_int_equal(g.w[1].want.owner.id, 1);
	assert_int_equal(g.w[1].node, 3);
	assert_int_equal(g.w[2].want.owner.id, 3);
	assert_int_equal(g.w[2].req_id, 3);
	/* 3.2 now conflicts with 2.1's grant, which came first. */
	assert_string_equal(waiters_of(r), "3.2#2 RD 5-5");
	assert_string_equal(locks_of(r), "2.1 WR 0-9, 3.1 RD 50-59, 3.3 RD 55-55");
}

static void test_a_later_waiter_is_not_held_up_by_an_earlier_one(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), WR, 10, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(2, 1), WR, 0, 99), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(owner(2, 2), RD, 50, 50), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(unlock(r, owner(1, 2), 0, EOF_, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.w[0].req_id, 2);
	assert_string_equal(waiters_of(r), "2.1#1 WR 0-99");
}

static void test_a_downgrade_by_lock_wakes_readers(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 99)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(2, 1), RD, 10, 19), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(owner(2, 2), WR, 20, 29), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_once(r, 9, lk(a, RD, 0, 99), &g), GLOCK_PLOCK_GRANTED);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.w[0].req_id, 1);
	assert_string_equal(waiters_of(r), "2.2#2 WR 20-29");
	/* A shorter range lowers too. */
	assert_int_equal(unlock(r, a, 20, 29, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.w[1].req_id, 2);
}

static void test_a_grant_that_lowers_its_owner_wakes_earlier_waiters(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = owner(2, 1);
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(b, WR, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(3, 1), RD, 5, 5), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(a, RD, 0, 19), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(unlock(r, b, 0, EOF_, &g), 0);
	/* a's RD replaced its WR: 3.1 (examined first, blocked then) goes too. */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.w[0].node, 1);
	assert_int_equal(g.w[1].node, 3);
	assert_string_equal(locks_of(r), "1.1 RD 0-19, 3.1 RD 5-5");
	assert_true(glock_plock_res_empty(r) == false);
	assert_string_equal(waiters_of(r), "");
}

/* Each RD grant lowers the lock the waiter before it waits for. */
static void test_a_chain_of_lowering_grants_runs_to_its_end(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };
	uint64_t i;

	for (i = 0; i <= 5; i++)
		assert_int_equal(lock_nowait(r, lk(owner(1, i), WR, i, i)), GLOCK_PLOCK_GRANTED);
	for (i = 0; i < 5; i++)
		assert_int_equal(lock_wait(r, 10 + i, lk(owner(1, i), RD, i, i + 1), &g),
				 GLOCK_PLOCK_QUEUED);
	assert_int_equal(unlock(r, owner(1, 5), 0, EOF_, &g), 0);
	assert_int_equal(g.n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(g.w[i].req_id, 14 - i);
	assert_string_equal(locks_of(r),
			    "1.0 RD 0-1, 1.1 RD 1-2, 1.2 RD 2-3, 1.3 RD 3-4, 1.4 RD 4-5");
}

static void test_the_same_request_again_is_queued_once(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_lock want = lk(owner(2, 1), WR, 0, 9);
	struct glock_plock_counts c;

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 5, want, NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 5, want, NULL), GLOCK_PLOCK_QUEUED);
	glock_plock_counts(r, &c);
	assert_int_equal(c.waiters, 1);
	/* The same request id for something else is refused. */
	want.end = 10;
	assert_int_equal(lock_wait(r, 5, want, NULL), -EBUSY);
	/* Another node's request 5 is another request. */
	assert_int_equal(lock_wait(r, 5, lk(owner(3, 1), WR, 0, 9), NULL), GLOCK_PLOCK_QUEUED);
	assert_string_equal(waiters_of(r), "2.1#5 WR 0-9, 3.1#5 WR 0-9");
}

static void test_an_owner_waits_once(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner b = owner(2, 1);
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(b, WR, 0, 0), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(b, WR, 5, 5), &g), -EBUSY);
	/* What nothing blocks is granted; a conflict without wait is EAGAIN. */
	assert_int_equal(lock_wait(r, 3, lk(b, WR, 20, 29), &g), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_once(r, 4, lk(b, RD, 9, 9), &g), -EAGAIN);
	assert_string_equal(waiters_of(r), "2.1#1 WR 0-0");
	assert_string_equal(locks_of(r), "1.1 WR 0-9, 2.1 WR 20-29");
}

static void test_cancel_withdraws_a_waiter(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(2, 1), WR, 0, 0), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(owner(2, 2), WR, 1, 1), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(glock_plock_cancel(r, 2, 3), -ENOENT);
	assert_int_equal(glock_plock_cancel(r, 3, 1), -ENOENT);
	assert_int_equal(glock_plock_cancel(r, 2, 1), 0);
	assert_int_equal(glock_plock_cancel(r, 2, 1), -ENOENT);
	assert_string_equal(waiters_of(r), "2.2#2 WR 1-1");
	assert_int_equal(unlock(r, owner(1, 1), 0, EOF_, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.w[0].req_id, 2);
	assert_string_equal(locks_of(r), "2.2 WR 1-1");
}

/* ---- deadlock ---- */

static void test_a_two_owner_cycle_is_edeadlk(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = owner(2, 1);
	struct glock_plock_counts c;

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(b, WR, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(a, WR, 10, 10), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(b, RD, 5, 5), NULL), -EDEADLK);
	glock_plock_counts(r, &c);
	assert_int_equal(c.waiters, 1);
	/* Without waiting it is only a conflict. */
	assert_int_equal(lock_once(r, 2, lk(b, RD, 5, 5), NULL), -EAGAIN);
	/* Once a no longer waits there is no cycle. */
	assert_int_equal(glock_plock_cancel(r, 1, 1), 0);
	assert_int_equal(lock_wait(r, 3, lk(b, RD, 5, 5), NULL), GLOCK_PLOCK_QUEUED);
}

static void test_a_three_owner_cycle_is_edeadlk(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = owner(2, 1), c = owner(3, 1);

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(b, WR, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(c, RD, 20, 29)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(a, WR, 15, 15), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(b, WR, 25, 25), NULL), GLOCK_PLOCK_QUEUED);
	/* c waits for d's lock: no cycle. */
	assert_int_equal(lock_nowait(r, lk(owner(4, 1), WR, 30, 39)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(c, WR, 35, 35), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(glock_plock_cancel(r, 3, 1), 0);
	/* c wants a's: c -> a -> b -> c.  Found through a wide request that
	 * conflicts with several owners, the cycle being through one of them. */
	assert_int_equal(lock_wait(r, 2, lk(c, RD, 0, 39), NULL), -EDEADLK);
	assert_int_equal(lock_wait(r, 2, lk(c, RD, 5, 5), NULL), -EDEADLK);
	assert_string_equal(waiters_of(r), "1.1#1 WR 15-15, 2.1#1 WR 25-25");
	/* Broken: b gives up waiting. */
	assert_int_equal(glock_plock_cancel(r, 2, 1), 0);
	assert_int_equal(lock_wait(r, 2, lk(c, RD, 5, 5), NULL), GLOCK_PLOCK_QUEUED);
}

static void test_ofd_owners_break_deadlock_detection(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = ofd_owner(2, 1), c = owner(3, 1);

	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(b, WR, 10, 19)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(c, WR, 20, 29)), GLOCK_PLOCK_GRANTED);
	/* a -> b(OFD) -> c -> a: b's wait is not followed. */
	assert_int_equal(lock_wait(r, 1, lk(a, WR, 10, 10), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(b, WR, 20, 20), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(c, WR, 0, 0), NULL), GLOCK_PLOCK_QUEUED);
	/* An OFD requester closing a POSIX cycle is not refused either. */
	assert_int_equal(lock_nowait(r, lk(ofd_owner(4, 1), WR, 40, 49)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(5, 1), WR, 50, 59)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(5, 1), WR, 40, 40), NULL), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(ofd_owner(4, 1), WR, 50, 50), NULL),
			 GLOCK_PLOCK_QUEUED);
}

/* ---- nodes ---- */

static void test_drop_node_frees_its_locks_and_grants_waiters(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), RD, 20, 29)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), RD, 20, 29)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(1, 3), WR, 20, 20), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(owner(3, 1), WR, 0, 0), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 2, lk(owner(3, 2), WR, 25, 25), &g), GLOCK_PLOCK_QUEUED);
	glock_plock_drop_node(r, 1, on_grant, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.w[0].node, 3);
	assert_int_equal(g.w[0].req_id, 1);
	assert_string_equal(locks_of(r), "3.1 WR 0-0, 2.1 RD 20-29");
	assert_string_equal(waiters_of(r), "3.2#2 WR 25-25");
	glock_plock_drop_node(r, 2, on_grant, &g);
	glock_plock_drop_node(r, 3, on_grant, &g);
	assert_int_equal(g.n, 2);
	assert_true(glock_plock_res_empty(r));
}

static void test_set_node_replaces_the_nodes_locks(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);
	struct grants g = { 0 };
	struct glock_plock_lock report[] = {
		lk(a, RD, 4, 9), lk(a, RD, 0, 3), lk(owner(1, 2), RD, 2, 2), lk(a, WR, 40, 49),
		lk(a, RD, 45, 49),
	};

	/* A node that holds nothing, on a resource that never held anything. */
	assert_int_equal(glock_plock_set_node(r, 1, NULL, 0, on_grant, &g), 0);
	assert_true(glock_plock_res_empty(r));
	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, WR, 20, 29)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), RD, 0, 5)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(owner(2, 1), WR, 20, 25), &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_wait(r, 1, lk(owner(1, 3), WR, 0, 0), &g), GLOCK_PLOCK_QUEUED);
	/* Pieces merge, later ones replace earlier ones; 1.1's WR 20-29 is gone. */
	assert_int_equal(glock_plock_set_node(r, 1, report, 5, on_grant, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.w[0].node, 2);
	assert_string_equal(locks_of(r), "1.1 RD 0-9, 2.1 RD 0-5, 1.2 RD 2-2, 2.1 WR 20-25, "
					 "1.1 WR 40-44, 1.1 RD 45-49");
	/* Its waiter stays. */
	assert_string_equal(waiters_of(r), "1.3#1 WR 0-0");
	/* An empty report: the node holds nothing. */
	assert_int_equal(glock_plock_set_node(r, 1, NULL, 0, on_grant, &g), 0);
	assert_string_equal(locks_of(r), "2.1 RD 0-5, 2.1 WR 20-25");
	assert_int_equal(g.n, 1); /* 1.3 still conflicts with 2.1's RD */
}

static void test_a_conflicting_report_is_eproto_and_changes_nothing(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);
	struct glock_plock_lock against_other_node[] = { lk(a, RD, 50, 59), lk(a, WR, 5, 5) };
	struct glock_plock_lock within_the_node[] = { lk(a, WR, 50, 59),
						      lk(owner(1, 2), RD, 59, 60) };
	struct glock_plock_lock replaced_first[] = { lk(a, WR, 5, 5), lk(a, RD, 5, 5) };
	char before[DUMP_MAX];

	assert_int_equal(lock_nowait(r, lk(a, WR, 20, 29)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), RD, 0, 5)), GLOCK_PLOCK_GRANTED);
	snprintf(before, sizeof(before), "%s", locks_of(r));
	assert_int_equal(glock_plock_set_node(r, 1, against_other_node, 2, NULL, NULL), -EPROTO);
	assert_string_equal(locks_of(r), before);
	assert_int_equal(glock_plock_set_node(r, 1, within_the_node, 2, NULL, NULL), -EPROTO);
	assert_string_equal(locks_of(r), before);
	/* The owner's own WR was replaced by its RD before the check: no conflict. */
	assert_int_equal(glock_plock_set_node(r, 1, replaced_first, 2, NULL, NULL), 0);
	assert_string_equal(locks_of(r), "2.1 RD 0-5, 1.1 RD 5-5");
}

/* ---- F_GETLK ---- */

static void test_get_reports_the_lowest_conflicting_lock(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1);
	struct glock_plock_lock probe = lk(a, WR, 0, 99), c;

	assert_int_equal(glock_plock_get(r, &probe, &c), 0);
	assert_int_equal(lock_nowait(r, lk(a, WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(glock_plock_get(r, &probe, &c), 0); /* its own */
	assert_int_equal(lock_nowait(r, lk(owner(3, 1), RD, 30, 39)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 7), RD, 30, 35)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 8), WR, 50, 59)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(glock_plock_get(r, &probe, &c), 1);
	assert_int_equal(c.owner.node, 2);
	assert_int_equal(c.owner.id, 7);
	assert_int_equal(c.owner.pid, 1007);
	assert_int_equal(c.type, RD);
	assert_int_equal(c.start, 30);
	assert_int_equal(c.end, 35);
	/* An RD probe passes the readers. */
	probe.type = RD;
	assert_int_equal(glock_plock_get(r, &probe, &c), 1);
	assert_int_equal(c.owner.id, 8);
	assert_int_equal(c.start, 50);
	probe.start = 60;
	probe.end = EOF_;
	assert_int_equal(glock_plock_get(r, &probe, &c), 0);
	/* Another owner's probe sees a's lock. */
	probe = lk(owner(4, 1), RD, 0, 0);
	assert_int_equal(glock_plock_get(r, &probe, &c), 1);
	assert_int_equal(c.owner.node, 1);
}

/* ---- foreach ---- */

static int stop_at_second(void *ctx, const struct glock_plock_lock *l)
{
	int *seen = ctx;

	(void)l;
	return ++*seen == 2 ? 42 : 0;
}

static void test_foreach_stops_at_a_non_zero_value(void **state)
{
	struct glock_plock_res *r = *state;
	int seen = 0;

	assert_int_equal(lock_nowait(r, lk(owner(1, 1), RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 2), RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 3), RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(glock_plock_foreach_lock(r, stop_at_second, &seen), 42);
	assert_int_equal(seen, 2);
}

/* ---- limits ---- */

static void test_the_limit_is_enolck_and_changes_nothing(void **state)
{
	struct glock_plock_res *r = *state;
	struct glock_plock_owner a = owner(1, 1), b = owner(2, 1);
	struct glock_plock_counts c;
	struct glock_plock_lock *report;
	struct grants g = { 0 };
	uint64_t i;

	/* Every other byte: nothing touches, nothing merges. */
	for (i = 0; i < GLOCK_PLOCK_RES_MAX; i++)
		assert_int_equal(lock_nowait(r, lk(a, RD, 2 * i, 2 * i)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(a, RD, 2 * i - 1, 2 * i - 1)), GLOCK_PLOCK_GRANTED);
	glock_plock_counts(r, &c);
	assert_int_equal(c.locks, GLOCK_PLOCK_RES_MAX); /* the last one merged */
	assert_int_equal(lock_nowait(r, lk(a, RD, 3 * i, 3 * i)), -ENOLCK);
	assert_int_equal(lock_nowait(r, lk(b, RD, 0, 0)), -ENOLCK);
	assert_int_equal(lock_wait(r, 1, lk(b, WR, 0, 0), NULL), -ENOLCK);
	assert_int_equal(lock_nowait(r, lk(a, WR, 10, 10)), GLOCK_PLOCK_GRANTED); /* replaces */
	assert_int_equal(unlock(r, a, 2, 2, NULL), 0);                           /* shrinks */
	assert_int_equal(lock_nowait(r, lk(a, RD, 0, 3)), GLOCK_PLOCK_GRANTED);  /* merges */
	glock_plock_counts(r, &c);
	assert_int_equal(c.locks, GLOCK_PLOCK_RES_MAX - 2);
	assert_int_equal(lock_nowait(r, lk(b, RD, 0, 0)), GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_wait(r, 1, lk(b, WR, 4, 4), &g), GLOCK_PLOCK_QUEUED);
	glock_plock_counts(r, &c);
	assert_int_equal(c.locks + c.waiters, GLOCK_PLOCK_RES_MAX);
	/* An unlock that would split a lock in two, then one that shortens it. */
	assert_int_equal(unlock(r, a, 2, 2, &g), -ENOLCK);
	assert_string_equal(waiters_of(r), "2.1#1 WR 4-4");
	assert_int_equal(unlock(r, a, 4, 4, &g), 0);
	assert_int_equal(g.n, 1);
	glock_plock_counts(r, &c);
	assert_int_equal(c.locks, GLOCK_PLOCK_RES_MAX);
	assert_int_equal(c.waiters, 0);
	/* A report longer than the limit. */
	report = calloc(GLOCK_PLOCK_RES_MAX + 1, sizeof(*report));
	assert_non_null(report);
	for (i = 0; i <= GLOCK_PLOCK_RES_MAX; i++)
		report[i] = lk(owner(3, 1), RD, 3 * i, 3 * i);
	assert_int_equal(glock_plock_set_node(r, 3, report, GLOCK_PLOCK_RES_MAX + 1, NULL, NULL),
			 -ENOLCK);
	assert_int_equal(glock_plock_set_node(r, 3, report, 1, NULL, NULL), -ENOLCK);
	free(report);
}

/* Nothing changes when any one allocation fails; the call then succeeds. */
static void fails_cleanly(struct glock_plock_res *r, int (*op)(struct glock_plock_res *r),
			  int expected)
{
	char locks[DUMP_MAX], waiters[DUMP_MAX];
	unsigned int nth;
	int rc, enomem = 0;

	snprintf(locks, sizeof(locks), "%s", locks_of(r));
	snprintf(waiters, sizeof(waiters), "%s", waiters_of(r));
	for (nth = 1;; nth++) {
		fail_allocation(nth);
		rc = op(r);
		fail_allocation(0);
		if (rc != -ENOMEM)
			break;
		enomem++;
		assert_string_equal(locks_of(r), locks);
		assert_string_equal(waiters_of(r), waiters);
	}
	assert_int_equal(rc, expected);
	assert_true(enomem > 0);
}

static int op_grow(struct glock_plock_res *r)
{
	return lock_nowait(r, lk(owner(1, 1), WR, 100, 109));
}

static int op_queue(struct glock_plock_res *r)
{
	return lock_wait(r, 1, lk(owner(2, 1), WR, 100, 100), NULL);
}

static int op_deadlock(struct glock_plock_res *r)
{
	return lock_wait(r, 1, lk(owner(1, 1), WR, 200, 200), NULL);
}

static int op_split(struct glock_plock_res *r)
{
	return unlock(r, owner(1, 1), 5, 5, NULL);
}

static int op_report(struct glock_plock_res *r)
{
	struct glock_plock_lock report[] = { lk(owner(1, 1), RD, 0, 150) };

	return glock_plock_set_node(r, 1, report, 1, NULL, NULL);
}

static void test_out_of_memory_changes_nothing(void **state)
{
	struct glock_plock_res *r = *state;

	uint64_t i;

	/* The locks in between fill the arrays (8, then 16), so that each op grows them. */
	fails_cleanly(r, op_grow, GLOCK_PLOCK_GRANTED);
	assert_int_equal(lock_nowait(r, lk(owner(1, 1), WR, 0, 9)), GLOCK_PLOCK_GRANTED);
	for (i = 0; i < 5; i++)
		assert_int_equal(lock_nowait(r, lk(owner(4, 1), RD, 300 + 2 * i, 300 + 2 * i)),
				 GLOCK_PLOCK_GRANTED);
	fails_cleanly(r, op_queue, GLOCK_PLOCK_QUEUED);
	assert_int_equal(lock_nowait(r, lk(owner(2, 1), WR, 200, 200)), GLOCK_PLOCK_GRANTED);
	fails_cleanly(r, op_deadlock, -EDEADLK);
	for (i = 0; i < 5; i++)
		assert_int_equal(lock_nowait(r, lk(owner(3, 1), RD, 1001 + 2 * i, 1001 + 2 * i)),
				 GLOCK_PLOCK_GRANTED);
	fails_cleanly(r, op_split, 0);
	fails_cleanly(r, op_report, 0);
	fail_allocation(1);
	assert_null(glock_plock_res_new());
	fail_allocation(0);
}

/* A master that may not grant yet passes no callback: waiters wait for grant_waiters(). */
static void test_no_callback_grants_nobody_until_asked(void **state)
{
	struct glock_plock_res *r = *state;
	struct grants g = { 0 };
	struct glock_plock_lock a = lk(owner(1, 1), WR, 0, 9), b = lk(owner(2, 1), RD, 5, 5);
	struct glock_plock_lock c = lk(owner(3, 1), RD, 0, 0);

	assert_int_equal(glock_plock_lock(r, 1, &a, false, on_grant, &g), GLOCK_PLOCK_GRANTED);
	assert_int_equal(glock_plock_lock(r, 2, &b, true, on_grant, &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(glock_plock_lock(r, 3, &c, true, on_grant, &g), GLOCK_PLOCK_QUEUED);
	assert_int_equal(glock_plock_unlock(r, &a.owner, 5, 5, NULL, NULL), 0);
	glock_plock_drop_node(r, 1, NULL, NULL);
	assert_int_equal(g.n, 0);
	{
		struct glock_plock_counts n;

		glock_plock_counts(r, &n);
		assert_int_equal(n.locks, 0);
		assert_int_equal(n.waiters, 2);
	}
	glock_plock_grant_waiters(r, on_grant, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.w[0].req_id, 2);
	assert_int_equal(g.w[1].req_id, 3);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_malformed_requests_are_einval),
		T(test_readers_of_different_owners_share),
		T(test_writer_conflict_is_eagain_or_queued),
		T(test_an_owner_never_conflicts_with_itself),
		T(test_owners_on_one_node_conflict),
		T(test_overlapping_and_adjacent_locks_of_one_type_merge),
		T(test_writer_over_part_of_a_reader_leaves_three_pieces),
		T(test_unlock_in_the_middle_splits),
		T(test_unlocking_what_is_not_held_is_no_error),
		T(test_ranges_at_zero_and_at_eof),
		T(test_unlock_grants_waiters_in_arrival_order),
		T(test_a_later_waiter_is_not_held_up_by_an_earlier_one),
		T(test_a_downgrade_by_lock_wakes_readers),
		T(test_a_grant_that_lowers_its_owner_wakes_earlier_waiters),
		T(test_a_chain_of_lowering_grants_runs_to_its_end),
		T(test_the_same_request_again_is_queued_once),
		T(test_an_owner_waits_once),
		T(test_cancel_withdraws_a_waiter),
		T(test_a_two_owner_cycle_is_edeadlk),
		T(test_a_three_owner_cycle_is_edeadlk),
		T(test_ofd_owners_break_deadlock_detection),
		T(test_drop_node_frees_its_locks_and_grants_waiters),
		T(test_set_node_replaces_the_nodes_locks),
		T(test_a_conflicting_report_is_eproto_and_changes_nothing),
		T(test_get_reports_the_lowest_conflicting_lock),
		T(test_foreach_stops_at_a_non_zero_value),
		T(test_the_limit_is_enolck_and_changes_nothing),
		T(test_out_of_memory_changes_nothing),
		cmocka_unit_test_setup_teardown(test_no_callback_grants_nobody_until_asked, setup,
						teardown),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
