// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * plock-sim: a randomized model check of one POSIX lock resource
 * (daemon/engine/plock.h) against a reference model computed another way.
 *
 * Several nodes, each with POSIX and OFD owners, lock, wait, unlock, look
 * up, cancel, fail (drop_node) and report their locks (set_node, as after
 * a master change: what they hold, a subset of it, in pieces, sometimes
 * with a lock that conflicts) on a small file.  The model keeps, per owner,
 * the type it holds on every cell of the file: bytes 0..63, then one cell
 * for [64, EOF-1] and one for [EOF, EOF], so ranges reach the top of the
 * offset space and its edges.  It decides the expected result of every
 * call by itself: conflicts byte by byte, the wait-for graph between
 * owners for -EDEADLK.  Grants the resource reports through its callback
 * are replayed on the model, each checked to be a waiting request that
 * nothing conflicts with at that moment.
 *
 * After every step: no two owners hold conflicting bytes; the resource's
 * lock list is sorted, canonical (an owner's locks neither overlap nor
 * touch with the same type) and exactly the model's bytes; its waiters
 * are the model's, in arrival order; no waiter is left that nothing
 * conflicts with (no lost wake-up); counts agree.
 *
 * The run is a pure function of --seed: a failing seed is its own replay.
 */
#include "plock.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NODES_MAX 6
#define OWNERS_PER_NODE 3
#define OWNERS_MAX (SIM_NODES_MAX * OWNERS_PER_NODE)
#define BYTES 64
#define CELLS (BYTES + 2) /* + [64, EOF-1] and [EOF, EOF] */
#define TRACE_KEEP 60
#define REPORT_MAX (OWNERS_MAX * CELLS * 2)

/* ---- deterministic randomness (xorshift64*, as sim_common.h) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned int rng_below(unsigned int n)
{
	return n ? (unsigned int)(rng_next() % n) : 0;
}

static bool rng_chance(unsigned int percent)
{
	return rng_below(100) < percent;
}

/* ---- trace ---- */

static char trace_ring[TRACE_KEEP][200];
static uint64_t trace_count, current_step, violations;
static bool trace_all;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
	char *line = trace_ring[trace_count % TRACE_KEEP];
	int off = snprintf(line, sizeof(trace_ring[0]), "%8" PRIu64 " ", current_step);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(trace_ring[0]) - (size_t)off, fmt, ap);
	va_end(ap);
	trace_count++;
	if (trace_all)
		printf("%s\n", line);
}

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
	violations++;
}

static void print_trace_tail(void)
{
	uint64_t i = trace_count > TRACE_KEEP ? trace_count - TRACE_KEEP : 0;

	fprintf(stderr, "--- last %" PRIu64 " events ---\n", trace_count - i);
	for (; i < trace_count; i++)
		fprintf(stderr, "%s\n", trace_ring[i % TRACE_KEEP]);
}

/* ---- the file's cells ---- */

static uint64_t cell_start(int c)
{
	return c < BYTES ? (uint64_t)c : c == BYTES ? BYTES : GLOCK_PLOCK_EOF;
}

static uint64_t cell_end(int c)
{
	return c < BYTES ? (uint64_t)c : c == BYTES ? GLOCK_PLOCK_EOF - 1 : GLOCK_PLOCK_EOF;
}

static int cell_of_start(uint64_t v)
{
	return v <= BYTES ? (int)v : v == GLOCK_PLOCK_EOF ? BYTES + 1 : -1;
}

static int cell_of_end(uint64_t v)
{
	if (v < BYTES)
		return (int)v;
	if (v == GLOCK_PLOCK_EOF - 1)
		return BYTES;
	return v == GLOCK_PLOCK_EOF ? BYTES + 1 : -1;
}

static const char *off_str(uint64_t v, char *buf)
{
	if (v == GLOCK_PLOCK_EOF)
		return "EOF";
	if (v == GLOCK_PLOCK_EOF - 1)
		return "EOF-1";
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

/* ---- owners and the model ---- */

struct mwaiter {
	uint64_t req;
	int owner;
	int type;
	int cs, ce; /* cells */
};

static struct sim {
	unsigned int nodes, n_owners;
	struct glock_plock_owner owner[OWNERS_MAX];
	uint8_t cell[OWNERS_MAX][CELLS]; /* 0, GLOCK_PLOCK_RD or GLOCK_PLOCK_WR */
	struct mwaiter w[OWNERS_MAX];
	unsigned int n_w;
	uint64_t next_req[SIM_NODES_MAX + 1];
	struct glock_plock_res *res;
	uint64_t grants_seen, granted, queued, eagain, deadlocks, busy, unlocks, gets, cancels,
		drops, reports, eprotos;
} S;

static int owner_index(const struct glock_plock_owner *o)
{
	unsigned int i;

	for (i = 0; i < S.n_owners; i++)
		if (S.owner[i].node == o->node && S.owner[i].id == o->id)
			return (int)i;
	return -1;
}

static const char *lock_str(int o, int type, int cs, int ce, char *buf, size_t size)
{
	char a[24], b[24];

	snprintf(buf, size, "n%u.%" PRIu64 "%s %s [%s,%s]", S.owner[o].node, S.owner[o].id,
		 S.owner[o].ofd ? "(ofd)" : "", type == GLOCK_PLOCK_RD ? "RD" : "WR",
		 off_str(cell_start(cs), a), off_str(cell_end(ce), b));
	return buf;
}

static struct glock_plock_lock lock_of(int o, int type, int cs, int ce)
{
	return (struct glock_plock_lock){ .owner = S.owner[o], .type = (enum glock_plock_type)type,
					  .start = cell_start(cs), .end = cell_end(ce) };
}

static bool types_conflict(int a, int b)
{
	return a && b && (a == GLOCK_PLOCK_WR || b == GLOCK_PLOCK_WR);
}

/* Does another owner hold a cell of [cs, ce] in a way that conflicts with type? */
static bool model_blocked_by(int o, int type, int cs, int ce, int by)
{
	int c;

	if (by == o)
		return false;
	for (c = cs; c <= ce; c++)
		if (types_conflict(type, S.cell[by][c]))
			return true;
	return false;
}

static bool model_blocked(int o, int type, int cs, int ce)
{
	unsigned int by;

	for (by = 0; by < S.n_owners; by++)
		if (model_blocked_by(o, type, cs, ce, (int)by))
			return true;
	return false;
}

static int model_waiter_of(int o)
{
	unsigned int i;

	for (i = 0; i < S.n_w; i++)
		if (S.w[i].owner == o)
			return (int)i;
	return -1;
}

/*
 * Would o's waiting for (type, cs, ce) close a cycle?  Reachability over
 * owners: X -> Y when X waits (X is the requester, or a POSIX owner with
 * a waiter) for something Y's bytes conflict with.
 */
static bool model_cycle(int o, int type, int cs, int ce)
{
	bool seen[OWNERS_MAX] = { false };
	int stack[OWNERS_MAX], top = 0;
	unsigned int y;

	for (y = 0; y < S.n_owners; y++)
		if (model_blocked_by(o, type, cs, ce, (int)y)) {
			seen[y] = true;
			stack[top++] = (int)y;
		}
	while (top) {
		int x = stack[--top], wi = model_waiter_of(x);

		if (x == o)
			return true;
		if (wi < 0 || S.owner[x].ofd)
			continue;
		for (y = 0; y < S.n_owners; y++)
			if (!seen[y] &&
			    model_blocked_by(x, S.w[wi].type, S.w[wi].cs, S.w[wi].ce, (int)y)) {
				seen[y] = true;
				stack[top++] = (int)y;
			}
	}
	return false;
}

static void model_set(int o, int type, int cs, int ce)
{
	int c;

	for (c = cs; c <= ce; c++)
		S.cell[o][c] = (uint8_t)type;
}

static void model_remove_waiter(unsigned int i)
{
	memmove(&S.w[i], &S.w[i + 1], (S.n_w - i - 1) * sizeof(S.w[0]));
	S.n_w--;
}

/* The resource granted w: replay it on the model, which must agree. */
static void on_granted(void *ctx, const struct glock_plock_waiter *w)
{
	int o = owner_index(&w->want.owner), cs = cell_of_start(w->want.start),
	    ce = cell_of_end(w->want.end);
	unsigned int i;
	char buf[80];

	(void)ctx;
	S.grants_seen++;
	for (i = 0; i < S.n_w; i++)
		if (S.owner[S.w[i].owner].node == w->node && S.w[i].req == w->req_id)
			break;
	if (i == S.n_w) {
		violation("granted n%u#%" PRIu64 ", which does not wait (twice, or never queued)",
			  w->node, w->req_id);
		return;
	}
	if (o != S.w[i].owner || cs != S.w[i].cs || ce != S.w[i].ce ||
	    (int)w->want.type != S.w[i].type) {
		violation("granted n%u#%" PRIu64 " with another want", w->node, w->req_id);
		return;
	}
	trace("  granted n%u#%" PRIu64 " %s", w->node, w->req_id,
	      lock_str(o, S.w[i].type, cs, ce, buf, sizeof(buf)));
	if (model_blocked(o, S.w[i].type, cs, ce))
		violation("granted n%u#%" PRIu64 " while another owner's lock conflicts", w->node,
			  w->req_id);
	model_set(o, S.w[i].type, cs, ce);
	model_remove_waiter(i);
}

/* ---- the model's lock list, as the resource should list it ---- */

static int lock_order(const void *pa, const void *pb)
{
	const struct glock_plock_lock *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->owner.node != b->owner.node)
		return a->owner.node < b->owner.node ? -1 : 1;
	if (a->owner.id != b->owner.id)
		return a->owner.id < b->owner.id ? -1 : 1;
	return 0;
}

/* Runs of one type in an owner's cells are its locks. */
static size_t model_locks(struct glock_plock_lock *out, int only_node)
{
	size_t n = 0;
	unsigned int o;
	int c, run;

	for (o = 0; o < S.n_owners; o++) {
		if (only_node && S.owner[o].node != (uint32_t)only_node)
			continue;
		for (c = 0; c < CELLS; c = run) {
			for (run = c + 1; run < CELLS && S.cell[o][run] == S.cell[o][c]; run++)
				;
			if (S.cell[o][c])
				out[n++] = lock_of((int)o, S.cell[o][c], c, run - 1);
		}
	}
	qsort(out, n, sizeof(*out), lock_order);
	return n;
}

/* ---- the checks after every step ---- */

struct collected {
	struct glock_plock_lock l[OWNERS_MAX * CELLS];
	size_t n;
	struct glock_plock_waiter w[OWNERS_MAX * 2];
	size_t n_w;
	bool overflow;
};

static int collect_lock(void *ctx, const struct glock_plock_lock *l)
{
	struct collected *c = ctx;

	if (c->n == sizeof(c->l) / sizeof(c->l[0])) {
		c->overflow = true;
		return 1;
	}
	c->l[c->n++] = *l;
	return 0;
}

static int collect_waiter(void *ctx, const struct glock_plock_waiter *w)
{
	struct collected *c = ctx;

	if (c->n_w == sizeof(c->w) / sizeof(c->w[0])) {
		c->overflow = true;
		return 1;
	}
	c->w[c->n_w++] = *w;
	return 0;
}

static bool same_lock(const struct glock_plock_lock *a, const struct glock_plock_lock *b)
{
	return a->owner.node == b->owner.node && a->owner.id == b->owner.id &&
	       a->owner.pid == b->owner.pid && a->owner.ofd == b->owner.ofd && a->type == b->type &&
	       a->start == b->start && a->end == b->end;
}

static void check_engine_locks(const struct collected *got)
{
	static struct glock_plock_lock want[OWNERS_MAX * CELLS];
	size_t n = model_locks(want, 0), i, j;
	char a[24], b[24];

	for (i = 0; i < got->n; i++) {
		const struct glock_plock_lock *l = &got->l[i];

		if (!glock_plock_lock_valid(l) || owner_index(&l->owner) < 0 ||
		    cell_of_start(l->start) < 0 || cell_of_end(l->end) < 0) {
			violation(
			    "lock %zu n%u.%" PRIu64 " [%s,%s] is not one the clients could make", i,
			    l->owner.node, l->owner.id, off_str(l->start, a), off_str(l->end, b));
			return;
		}
		if (i && lock_order(&got->l[i - 1], l) >= 0)
			violation("locks %zu and %zu out of order", i - 1, i);
		for (j = 0; j < i; j++) {
			const struct glock_plock_lock *m = &got->l[j];
			bool overlap = m->start <= l->end && l->start <= m->end;

			if (m->owner.node != l->owner.node || m->owner.id != l->owner.id) {
				if (overlap && types_conflict(m->type, l->type))
					violation("n%u.%" PRIu64 " and n%u.%" PRIu64
						  " hold conflicting locks at %s",
						  m->owner.node, m->owner.id, l->owner.node,
						  l->owner.id, off_str(l->start, a));
				continue;
			}
			if (overlap)
				violation("n%u.%" PRIu64 "'s locks overlap at %s", l->owner.node,
					  l->owner.id, off_str(l->start, a));
			else if (m->type == l->type && m->end < l->start && m->end + 1 == l->start)
				violation("n%u.%" PRIu64
					  "'s locks at %s and %s touch with one type: not merged",
					  l->owner.node, l->owner.id, off_str(m->start, a),
					  off_str(l->start, b));
		}
	}
	if (violations)
		return;
	if (n != got->n) {
		violation("the resource has %zu locks, the model %zu", got->n, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (!same_lock(&want[i], &got->l[i])) {
			violation("lock %zu: the resource has n%u.%" PRIu64
				  " [%s,%s], the model n%u.%" PRIu64 " [%s,...]",
				  i, got->l[i].owner.node, got->l[i].owner.id,
				  off_str(got->l[i].start, a), off_str(got->l[i].end, b),
				  want[i].owner.node, want[i].owner.id, off_str(want[i].start, a));
			return;
		}
}

static void check_invariants(void)
{
	static struct collected got;
	struct glock_plock_counts counts;
	unsigned int o, p, i;
	int c;

	/* The model itself: replayed grants must not have made a conflict. */
	for (o = 0; o < S.n_owners; o++)
		for (p = o + 1; p < S.n_owners; p++)
			for (c = 0; c < CELLS; c++)
				if (types_conflict(S.cell[o][c], S.cell[p][c]))
					violation("owners %u and %u hold cell %d in conflict", o, p,
						  c);
	memset(&got, 0, sizeof(got));
	if (glock_plock_foreach_lock(S.res, collect_lock, &got) ||
	    glock_plock_foreach_waiter(S.res, collect_waiter, &got) || got.overflow) {
		violation("foreach failed or listed too much");
		return;
	}
	check_engine_locks(&got);
	if (got.n_w != S.n_w)
		violation("the resource has %zu waiters, the model %u", got.n_w, S.n_w);
	for (i = 0; i < S.n_w && i < got.n_w; i++) {
		const struct mwaiter *m = &S.w[i];
		struct glock_plock_lock l = lock_of(m->owner, m->type, m->cs, m->ce);

		if (got.w[i].req_id != m->req || got.w[i].node != S.owner[m->owner].node ||
		    !same_lock(&got.w[i].want, &l))
			violation(
			    "waiter %u: the resource has n%u#%" PRIu64 ", the model n%u#%" PRIu64,
			    i, got.w[i].node, got.w[i].req_id, S.owner[m->owner].node, m->req);
	}
	for (i = 0; i < S.n_w; i++)
		if (!model_blocked(S.w[i].owner, S.w[i].type, S.w[i].cs, S.w[i].ce))
			violation("n%u#%" PRIu64
				  " still waits and nothing conflicts (a lost wake-up)",
				  S.owner[S.w[i].owner].node, S.w[i].req);
	glock_plock_counts(S.res, &counts);
	if (counts.locks != got.n || counts.waiters != got.n_w)
		violation("counts %zu/%zu, listed %zu/%zu", counts.locks, counts.waiters, got.n,
			  got.n_w);
	if (glock_plock_res_empty(S.res) != (got.n == 0 && got.n_w == 0))
		violation("res_empty disagrees with the lists");
}

/* ---- the steps ---- */

static void random_range(int *cs, int *ce)
{
	unsigned int r = rng_below(100);

	*cs = r < 92 ? (int)rng_below(BYTES) : r < 97 ? BYTES : BYTES + 1;
	r = rng_below(100);
	if (*cs >= BYTES)
		*ce = *cs == BYTES && r < 50 ? BYTES : BYTES + 1;
	else if (r < 15)
		*ce = BYTES + 1;
	else if (r < 20)
		*ce = BYTES;
	else {
		int len = (int)rng_below(r < 60 ? 4 : 16);

		*ce = *cs + len < BYTES ? *cs + len : BYTES - 1;
	}
}

static int random_type(void)
{
	return rng_chance(50) ? GLOCK_PLOCK_RD : GLOCK_PLOCK_WR;
}

static const char *rc_str(int rc)
{
	static char buf[16];

	switch (rc) {
	case GLOCK_PLOCK_GRANTED: return "GRANTED";
	case GLOCK_PLOCK_QUEUED: return "QUEUED";
	case -EAGAIN: return "EAGAIN";
	case -EDEADLK: return "EDEADLK";
	case -EBUSY: return "EBUSY";
	case -EINVAL: return "EINVAL";
	case -ENOLCK: return "ENOLCK";
	case -ENOMEM: return "ENOMEM";
	case -ENOENT: return "ENOENT";
	case -EPROTO: return "EPROTO";
	default:
		snprintf(buf, sizeof(buf), "%d", rc);
		return buf;
	}
}

static void expect(const char *what, int got, int want)
{
	if (got != want)
		violation("%s returned %s, the model says %s", what, rc_str(got), rc_str(want));
}

/* What lock() should return; the model is changed to match. */
static int model_lock(int o, uint64_t req, int type, int cs, int ce, bool wait)
{
	if (!model_blocked(o, type, cs, ce)) {
		model_set(o, type, cs, ce);
		return GLOCK_PLOCK_GRANTED;
	}
	if (!wait)
		return -EAGAIN;
	if (model_waiter_of(o) >= 0)
		return -EBUSY;
	if (!S.owner[o].ofd && model_cycle(o, type, cs, ce))
		return -EDEADLK;
	S.w[S.n_w++] = (struct mwaiter){ .req = req, .owner = o, .type = type, .cs = cs, .ce = ce };
	return GLOCK_PLOCK_QUEUED;
}

static void count_result(int rc)
{
	if (rc == GLOCK_PLOCK_GRANTED)
		S.granted++;
	else if (rc == GLOCK_PLOCK_QUEUED)
		S.queued++;
	else if (rc == -EAGAIN)
		S.eagain++;
	else if (rc == -EDEADLK)
		S.deadlocks++;
	else if (rc == -EBUSY)
		S.busy++;
}

static void step_lock(void)
{
	int o = (int)rng_below(S.n_owners), type = random_type(), cs, ce, want, rc;
	bool wait = rng_chance(60);
	uint64_t req = ++S.next_req[S.owner[o].node];
	struct glock_plock_lock l;
	char buf[80];

	/* Mostly owners that wait do nothing else, as a blocked process. */
	if (model_waiter_of(o) >= 0 && rng_chance(70))
		return;
	random_range(&cs, &ce);
	l = lock_of(o, type, cs, ce);
	trace("lock%s #%" PRIu64 " %s", wait ? "w" : "", req, lock_str(o, type, cs, ce, buf,
									 sizeof(buf)));
	want = model_lock(o, req, type, cs, ce, wait);
	rc = glock_plock_lock(S.res, req, &l, wait, on_granted, NULL);
	trace("  -> %s", rc_str(rc));
	count_result(rc);
	expect("lock", rc, want);
}

/* A waiter's request again (a resend after a master change), or another with its id. */
static void step_resend(void)
{
	struct mwaiter m;
	struct glock_plock_lock l;
	bool other = rng_chance(30);
	int rc;

	if (!S.n_w)
		return;
	m = S.w[rng_below(S.n_w)];
	l = lock_of(m.owner, m.type, m.cs, m.ce);
	if (other)
		l.type = l.type == GLOCK_PLOCK_RD ? GLOCK_PLOCK_WR : GLOCK_PLOCK_RD;
	trace("resend n%u#%" PRIu64 "%s", l.owner.node, m.req, other ? " with another type" : "");
	rc = glock_plock_lock(S.res, m.req, &l, true, on_granted, NULL);
	expect("resend", rc, other ? -EBUSY : GLOCK_PLOCK_QUEUED);
}

static void step_unlock(void)
{
	int o = (int)rng_below(S.n_owners), cs, ce, rc;
	char a[24], b[24];

	random_range(&cs, &ce);
	trace("unlock n%u.%" PRIu64 " [%s,%s]", S.owner[o].node, S.owner[o].id,
	      off_str(cell_start(cs), a), off_str(cell_end(ce), b));
	model_set(o, 0, cs, ce);
	rc = glock_plock_unlock(S.res, &S.owner[o], cell_start(cs), cell_end(ce), on_granted, NULL);
	S.unlocks++;
	expect("unlock", rc, 0);
}

static void step_get(void)
{
	static struct glock_plock_lock all[OWNERS_MAX * CELLS];
	int o = (int)rng_below(S.n_owners), type = random_type(), cs, ce, rc;
	struct glock_plock_lock probe, got, *want = NULL;
	size_t n, i;
	char buf[80];

	random_range(&cs, &ce);
	probe = lock_of(o, type, cs, ce);
	n = model_locks(all, 0);
	for (i = 0; i < n && !want; i++)
		if (owner_index(&all[i].owner) != o && all[i].start <= probe.end &&
		    probe.start <= all[i].end && types_conflict(all[i].type, type))
			want = &all[i];
	memset(&got, 0, sizeof(got));
	rc = glock_plock_get(S.res, &probe, &got);
	trace("get %s -> %d", lock_str(o, type, cs, ce, buf, sizeof(buf)), rc);
	S.gets++;
	if (rc != (want ? 1 : 0))
		violation("get returned %d, the model says %d", rc, want ? 1 : 0);
	if (rc == 1 && want && !same_lock(&got, want))
		violation("get reported n%u.%" PRIu64 " at %" PRIu64 ", the model n%u.%" PRIu64
			  " at %" PRIu64, got.owner.node, got.owner.id, got.start, want->owner.node,
			  want->owner.id, want->start);
}

static void step_cancel(void)
{
	uint32_t node;
	uint64_t req;
	int rc, want = 0;

	if (S.n_w && rng_chance(85)) {
		unsigned int i = rng_below(S.n_w);

		node = S.owner[S.w[i].owner].node;
		req = S.w[i].req;
		model_remove_waiter(i);
	} else {
		node = 1 + rng_below(S.nodes);
		req = S.next_req[node] + 1; /* never asked */
		want = -ENOENT;
	}
	trace("cancel n%u#%" PRIu64, node, req);
	rc = glock_plock_cancel(S.res, node, req);
	S.cancels++;
	expect("cancel", rc, want);
}

static void step_drop_node(void)
{
	uint32_t node = 1 + rng_below(S.nodes);
	unsigned int o, i;

	trace("drop_node n%u", node);
	for (o = 0; o < S.n_owners; o++)
		if (S.owner[o].node == node)
			model_set((int)o, 0, 0, CELLS - 1);
	for (i = 0; i < S.n_w;)
		if (S.owner[S.w[i].owner].node == node)
			model_remove_waiter(i);
		else
			i++;
	glock_plock_drop_node(S.res, node, on_granted, NULL);
	S.drops++;
}

/*
 * A node reports what it holds: its locks (all, or some), maybe cut in
 * adjacent pieces, in any order, maybe with an extra lock of its own
 * owners (which may conflict: -EPROTO) or another node's (-EINVAL).
 */
static void step_set_node(void)
{
	static struct glock_plock_lock held[REPORT_MAX], report[REPORT_MAX];
	static uint8_t cells[OWNERS_MAX][CELLS];
	uint32_t node = 1 + rng_below(S.nodes);
	size_t n = model_locks(held, (int)node), k = 0, i;
	bool subset = rng_chance(40), extra = rng_chance(25), foreign = rng_chance(3);
	unsigned int o, p;
	int want = 0, c, rc;

	for (i = 0; i < n; i++) {
		struct glock_plock_lock l = held[i];
		int cs = cell_of_start(l.start), ce = cell_of_end(l.end);

		if (subset && rng_chance(40))
			continue;
		if (ce > cs && rng_chance(40)) {
			int cut = cs + 1 + (int)rng_below((unsigned int)(ce - cs));

			report[k] = l;
			report[k++].end = cell_end(cut - 1);
			l.start = cell_start(cut);
		}
		report[k++] = l;
	}
	if (extra) {
		int cs, ce, po = (int)((node - 1) * OWNERS_PER_NODE + rng_below(OWNERS_PER_NODE));

		random_range(&cs, &ce);
		report[k++] = lock_of(po, random_type(), cs, ce);
	}
	if (foreign && S.nodes > 1)
		report[k++] =
		    lock_of((int)(node % S.nodes) * OWNERS_PER_NODE, GLOCK_PLOCK_RD, 0, 0);
	for (i = k; i > 1; i--) {
		size_t j = rng_below((unsigned int)i);
		struct glock_plock_lock t = report[i - 1];

		report[i - 1] = report[j];
		report[j] = t;
	}
	trace("set_node n%u: %zu locks%s%s%s", node, k, subset ? ", a subset" : "",
	      extra ? ", one extra" : "", foreign && S.nodes > 1 ? ", one foreign" : "");

	/* The model: the node's owners' cells as the report, applied in order. */
	memcpy(cells, S.cell, sizeof(cells));
	for (o = 0; o < S.n_owners; o++)
		if (S.owner[o].node == node)
			memset(cells[o], 0, CELLS);
	for (i = 0; i < k; i++) {
		int ro = owner_index(&report[i].owner);

		if (report[i].owner.node != node) {
			want = -EINVAL;
			break;
		}
		for (c = cell_of_start(report[i].start); c <= cell_of_end(report[i].end); c++)
			cells[ro][c] = (uint8_t)report[i].type;
	}
	for (o = 0; o < S.n_owners && !want; o++) {
		if (S.owner[o].node != node)
			continue;
		for (p = 0; p < S.n_owners && !want; p++)
			for (c = 0; c < CELLS && p != o; c++)
				if (types_conflict(cells[o][c], cells[p][c])) {
					want = -EPROTO;
					break;
				}
	}
	if (!want)
		memcpy(S.cell, cells, sizeof(cells));
	rc = glock_plock_set_node(S.res, node, report, k, on_granted, NULL);
	trace("  -> %s", rc ? rc_str(rc) : "0");
	S.reports++;
	if (rc == -EPROTO)
		S.eprotos++;
	expect("set_node", rc, want);
}

static void step_invalid(void)
{
	int o = (int)rng_below(S.n_owners);
	struct glock_plock_lock l = lock_of(o, GLOCK_PLOCK_WR, 5, 9);
	struct glock_plock_owner nobody = S.owner[o];

	trace("invalid requests");
	l.start = 10;
	expect("lock start > end", glock_plock_lock(S.res, 1, &l, true, on_granted, NULL), -EINVAL);
	nobody.node = 0;
	expect("unlock by node 0", glock_plock_unlock(S.res, &nobody, 0, 1, on_granted, NULL),
	       -EINVAL);
	l = lock_of(o, GLOCK_PLOCK_WR, 5, 9);
	l.type = 0;
	expect("lock type 0", glock_plock_lock(S.res, 1, &l, false, on_granted, NULL), -EINVAL);
}

static void step_random(void)
{
	unsigned int r = rng_below(100);

	if (r < 38)
		step_lock();
	else if (r < 42)
		step_resend();
	else if (r < 66)
		step_unlock();
	else if (r < 78)
		step_get();
	else if (r < 86)
		step_cancel();
	else if (r < 88)
		step_drop_node();
	else if (r < 99)
		step_set_node();
	else
		step_invalid();
}

static int run_one(unsigned int nodes, uint64_t steps, uint64_t seed)
{
	unsigned int i;
	uint64_t s;

	memset(&S, 0, sizeof(S));
	trace_count = 0;
	current_step = 0;
	violations = 0;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (!rng_state)
		rng_state = 1;
	S.nodes = nodes;
	S.n_owners = nodes * OWNERS_PER_NODE;
	for (i = 0; i < S.n_owners; i++) {
		/* The same ids on every node: an owner is (node, id). */
		S.owner[i].node = i / OWNERS_PER_NODE + 1;
		S.owner[i].id = i % OWNERS_PER_NODE + 1;
		S.owner[i].pid = 1000 + i;
		S.owner[i].ofd = i % OWNERS_PER_NODE == OWNERS_PER_NODE - 1 && rng_chance(70);
	}
	S.res = glock_plock_res_new();
	if (!S.res) {
		fprintf(stderr, "plock-sim: out of memory\n");
		exit(2);
	}
	for (s = 0; s < steps && !violations; s++) {
		current_step = s + 1;
		step_random();
		check_invariants();
	}
	glock_plock_res_free(S.res);
	S.res = NULL;
	return violations ? 1 : 0;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_nodes(char *arg, uint64_t *min, uint64_t *max)
{
	char *dash = strchr(arg, '-');

	if (dash) {
		*dash = '\0';
		if (!parse_u64(arg, min) || !parse_u64(dash + 1, max))
			return false;
	} else {
		if (!parse_u64(arg, min))
			return false;
		*max = *min;
	}
	return *min >= 1 && *max <= SIM_NODES_MAX && *min <= *max;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: plock-sim [--nodes N|A-B] [--steps S] [--seed X] [--seeds K] [--trace] "
	    "[--quiet]\n"
	    "  N nodes (1..%d) of %d owners each on one POSIX lock resource, checked against a\n"
	    "  byte-level model after every step.  --seeds K runs seeds X..X+K-1.\n"
	    "  Exit 0: no violation; 1: violation; 2: usage.\n",
	    SIM_NODES_MAX, OWNERS_PER_NODE);
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
	uint64_t nodes_min = 3, nodes_max = 3, steps = 10000, seed = 1, seeds = 1, k;
	uint64_t total_steps = 0, passed = 0, failed = 0;
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:x:k:tqh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_nodes(optarg, &nodes_min, &nodes_max))
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

		total_steps += current_step;
		if (!quiet || rc)
			printf("seed=%" PRIu64 " nodes=%u steps=%" PRIu64 " violations=%" PRIu64
			       " granted=%" PRIu64 " queued=%" PRIu64 " woken=%" PRIu64
			       " eagain=%" PRIu64 " edeadlk=%" PRIu64 " ebusy=%" PRIu64
			       " unlocks=%" PRIu64 " gets=%" PRIu64 " cancels=%" PRIu64
			       " drops=%" PRIu64 " reports=%" PRIu64 " eproto=%" PRIu64 "\n",
			       x, n, current_step, violations, S.granted, S.queued, S.grants_seen,
			       S.eagain, S.deadlocks, S.busy, S.unlocks, S.gets, S.cancels, S.drops,
			       S.reports, S.eprotos);
		if (rc) {
			failed++;
			print_trace_tail();
			fprintf(stderr, "replay: %s --nodes %u --steps %" PRIu64 " --seed %" PRIu64
				" --trace\n", argv[0], n, steps, x);
			break;
		}
		passed++;
	}
	printf("steps=%" PRIu64 "\n%" PRIu64 " passed, %" PRIu64 " failed\n", total_steps, passed,
	       failed);
	return failed ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
