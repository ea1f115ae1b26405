// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX byte-range locks on one resource: see plock.h.
 *
 * A resource is two arrays.  Its locks, sorted by (start, node, owner id)
 * and canonical: an owner's locks never overlap and never touch with the
 * same type, so an owner's bytes have exactly one representation.  Its
 * waiters, in arrival order.  A change to the locks is built into a spare
 * array of the same capacity and swapped in only once nothing can fail,
 * so an error leaves the resource as it was.
 *
 * Why the capacity is at least n_locks + 2 * n_waiters: applying one lock
 * to an owner's locks adds at most two (RD [0,9] then WR [3,5] leaves
 * RD [0,2], WR [3,5], RD [6,9]), and granting a waiter removes the waiter.
 * So granting waiters, which the calls that cannot fail do (drop_node),
 * never needs memory; the calls that add a lock or a waiter reserve first.
 *
 * The compile-time PLOCK_MUTANT_* switches each plant one bug, for
 * tests/sim/plock-mutation-check.sh to show the simulator catches it.
 */
#include "plock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct glock_plock_res {
	struct glock_plock_lock *locks, *spare; /* both cap_locks long */
	size_t n_locks, cap_locks;
	struct glock_plock_waiter *waiters;
	size_t n_waiters, cap_waiters;
};

#define NONE SIZE_MAX

struct glock_plock_res *glock_plock_res_new(void)
{
	return calloc(1, sizeof(struct glock_plock_res));
}

void glock_plock_res_free(struct glock_plock_res *r)
{
	if (!r)
		return;
	free(r->locks);
	free(r->spare);
	free(r->waiters);
	free(r);
}

bool glock_plock_res_empty(const struct glock_plock_res *r)
{
	return !r || (r->n_locks == 0 && r->n_waiters == 0);
}

bool glock_plock_lock_valid(const struct glock_plock_lock *l)
{
	return l && (l->type == GLOCK_PLOCK_RD || l->type == GLOCK_PLOCK_WR) &&
	       l->start <= l->end && l->owner.node != 0;
}

static bool same_owner(const struct glock_plock_owner *a, const struct glock_plock_owner *b)
{
	return a->node == b->node && a->id == b->id;
}

static bool overlaps(const struct glock_plock_lock *l, uint64_t start, uint64_t end)
{
	return l->start <= end && start <= l->end;
}

/* Does [start, end] begin right after l or end right before it? */
static bool touches(const struct glock_plock_lock *l, uint64_t start, uint64_t end)
{
	return (start > 0 && l->end == start - 1) || (end < GLOCK_PLOCK_EOF && l->start == end + 1);
}

static bool conflicts(const struct glock_plock_lock *a, const struct glock_plock_lock *b)
{
#ifndef PLOCK_MUTANT_SELF_CONFLICT
	if (same_owner(&a->owner, &b->owner))
		return false;
#endif
	return overlaps(a, b->start, b->end) &&
	       (a->type == GLOCK_PLOCK_WR || b->type == GLOCK_PLOCK_WR);
}

/* The lowest-start lock of another owner that conflicts with want, or NONE. */
static size_t first_conflict(const struct glock_plock_lock *locks, size_t n,
			     const struct glock_plock_lock *want)
{
	size_t i;

	for (i = 0; i < n && locks[i].start <= want->end; i++)
		if (conflicts(&locks[i], want))
			return i;
	return NONE;
}

/* The foreach order: start, then node, then owner id (unique: canonical). */
static bool lock_before(const struct glock_plock_lock *a, const struct glock_plock_lock *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->owner.node != b->owner.node)
		return a->owner.node < b->owner.node;
	return a->owner.id < b->owner.id;
}

static void insert_sorted(struct glock_plock_lock *locks, size_t *n,
			  const struct glock_plock_lock *l)
{
	size_t i = *n;

	while (i > 0 && lock_before(l, &locks[i - 1]))
		i--;
	memmove(&locks[i + 1], &locks[i], (*n - i) * sizeof(*locks));
	locks[i] = *l;
	(*n)++;
}

static struct glock_plock_lock piece(const struct glock_plock_lock *of, uint64_t start,
				     uint64_t end)
{
	struct glock_plock_lock p = *of;

	p.start = start;
	p.end = end;
	return p;
}

/*
 * Writes in[0..n) into out with owner's [start, end] replaced by a lock of
 * type (0: nothing, an unlock), merged with the owner's overlapping or
 * touching locks of the same type; out has room for n + 2.  The count.
 * In canonical, out canonical: a merge only absorbs locks that overlap or
 * touch [start, end], and whatever they touched had another type.
 */
static size_t apply(const struct glock_plock_lock *in, size_t n, struct glock_plock_lock *out,
		    const struct glock_plock_owner *owner, int type, uint64_t start, uint64_t end)
{
	struct glock_plock_lock added[3];
	size_t k = 0, n_added = 0, i;
	uint64_t merged_start = start, merged_end = end;

	for (i = 0; i < n; i++) {
		const struct glock_plock_lock *l = &in[i];
		bool over = overlaps(l, start, end);

		if (!same_owner(&l->owner, owner) || (!over && !touches(l, start, end))) {
			out[k++] = *l;
			continue;
		}
#ifndef PLOCK_MUTANT_NO_MERGE
		if ((int)l->type == type) {
			if (l->start < merged_start)
				merged_start = l->start;
			if (l->end > merged_end)
				merged_end = l->end;
			continue;
		}
#endif
		if (!over) {
			out[k++] = *l; /* touches with another type: stays */
			continue;
		}
		if (l->start < start)
			added[n_added++] = piece(l, l->start, start - 1);
#ifndef PLOCK_MUTANT_SPLIT_LOSES_TAIL
		if (l->end > end)
			added[n_added++] = piece(l, end + 1, l->end);
#endif
	}
	if (type)
		added[n_added++] = (struct glock_plock_lock){
			.owner = *owner,
			.type = (enum glock_plock_type)type,
			.start = merged_start,
			.end = merged_end,
		};
	for (i = 0; i < n_added; i++)
		insert_sorted(out, &k, &added[i]);
	return k;
}

static void swap_in(struct glock_plock_res *r, size_t n)
{
	struct glock_plock_lock *t = r->locks;

	r->locks = r->spare;
	r->spare = t;
	r->n_locks = n;
}

/* Both lock arrays hold at least need. */
static int reserve_locks(struct glock_plock_res *r, size_t need)
{
	struct glock_plock_lock *p;
	size_t cap = r->cap_locks ? r->cap_locks : 8;

	if (need <= r->cap_locks)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(r->locks, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->locks = p; /* still holds the locks; cap_locks is not raised yet */
	p = realloc(r->spare, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->spare = p;
	r->cap_locks = cap;
	return 0;
}

static int reserve_waiters(struct glock_plock_res *r, size_t need)
{
	struct glock_plock_waiter *p;
	size_t cap = r->cap_waiters ? r->cap_waiters : 4;

	if (need <= r->cap_waiters)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(r->waiters, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->waiters = p;
	r->cap_waiters = cap;
	return 0;
}

/* A change that leaves n locks: refused if it grows the resource past the limit. */
static bool over_limit(const struct glock_plock_res *r, size_t n)
{
	return n > r->n_locks && n + r->n_waiters > GLOCK_PLOCK_RES_MAX;
}

static size_t find_waiter(const struct glock_plock_res *r, uint32_t node, uint64_t req_id)
{
	size_t i;

	for (i = 0; i < r->n_waiters; i++)
		if (r->waiters[i].node == node && r->waiters[i].req_id == req_id)
			return i;
	return NONE;
}

static size_t owner_waiter(const struct glock_plock_res *r, const struct glock_plock_owner *o)
{
	size_t i;

	for (i = 0; i < r->n_waiters; i++)
		if (same_owner(&r->waiters[i].want.owner, o))
			return i;
	return NONE;
}

static void remove_waiter(struct glock_plock_res *r, size_t i)
{
	memmove(&r->waiters[i], &r->waiters[i + 1], (r->n_waiters - i - 1) * sizeof(*r->waiters));
	r->n_waiters--;
}

/*
 * Grants, in arrival order, every waiter nothing conflicts with.  A grant
 * adds locks (later waiters may now conflict) but may also lower its
 * owner's (an RD over its WR), letting an earlier waiter go: after RD
 * grants the queue is examined again, until a pass grants no RD.  Only
 * the bytes an RD grant covered changed for the others, so a new pass
 * examines only the waiters that overlap the span of the last pass's RD
 * grants (without it, a chain of 2000 waiters each freed by the next one's
 * grant took seconds).  Needs no memory (the capacity rule above).
 */
static void grant_waiters(struct glock_plock_res *r, glock_plock_granted_fn fn, void *ctx)
{
	uint64_t from = 0, to = GLOCK_PLOCK_EOF; /* the first pass examines every waiter */
	bool again = true;

	while (again) {
		uint64_t lowered_from = GLOCK_PLOCK_EOF, lowered_to = 0;
		size_t i = 0;

		again = false;
		while (i < r->n_waiters) {
			struct glock_plock_waiter w = r->waiters[i];
			size_t n;

			if (!overlaps(&w.want, from, to) ||
			    first_conflict(r->locks, r->n_locks, &w.want) != NONE) {
				i++;
				continue;
			}
			remove_waiter(r, i);
			n = apply(r->locks, r->n_locks, r->spare, &w.want.owner, (int)w.want.type,
				  w.want.start, w.want.end);
			swap_in(r, n);
#ifndef PLOCK_MUTANT_NO_REPASS
			if (w.want.type == GLOCK_PLOCK_RD) {
				again = true;
				if (w.want.start < lowered_from)
					lowered_from = w.want.start;
				if (w.want.end > lowered_to)
					lowered_to = w.want.end;
			}
#endif
			fn(ctx, &w);
		}
		from = lowered_from;
		to = lowered_to;
	}
}

/*
 * Deadlock detection, as Linux's posix_locks_deadlock but over the whole
 * wait-for graph of this resource: from the owners whose locks block want,
 * through the locks that block their own (POSIX) waiters, and so on; a
 * path back to want's owner is a cycle.  1, 0, or -ENOMEM.
 */
struct dl_walk {
	const struct glock_plock_res *r;
	const struct glock_plock_owner *requester;
	size_t *lock_waiter; /* per lock: its owner's waiter, NONE, or unknown */
	bool *seen;	     /* per waiter */
	size_t *stack, top;
};

#define UNKNOWN (SIZE_MAX - 1)

/* Pushes the unseen POSIX waiters of the owners blocking want; true if the requester blocks it. */
static bool dl_push_blockers(struct dl_walk *dw, const struct glock_plock_lock *want)
{
	const struct glock_plock_res *r = dw->r;
	size_t i, w;

	for (i = 0; i < r->n_locks && r->locks[i].start <= want->end; i++) {
		if (!conflicts(&r->locks[i], want))
			continue;
		if (same_owner(&r->locks[i].owner, dw->requester))
			return true;
		if (dw->lock_waiter[i] == UNKNOWN)
			dw->lock_waiter[i] = owner_waiter(r, &r->locks[i].owner);
		w = dw->lock_waiter[i];
		if (w != NONE && !r->waiters[w].want.owner.ofd && !dw->seen[w]) {
			dw->seen[w] = true;
			dw->stack[dw->top++] = w;
		}
	}
	return false;
}

static int deadlock(const struct glock_plock_res *r, const struct glock_plock_lock *want)
{
	struct dl_walk dw = { .r = r, .requester = &want->owner };
	size_t i;
	int found = 0;

#ifdef PLOCK_MUTANT_NO_DEADLOCK
	return 0;
#endif
	dw.lock_waiter = malloc((r->n_locks + 1) * sizeof(size_t));
	dw.seen = calloc(r->n_waiters + 1, sizeof(bool));
	dw.stack = malloc((r->n_waiters + 1) * sizeof(size_t));
	if (!dw.lock_waiter || !dw.seen || !dw.stack) {
		found = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->n_locks; i++)
		dw.lock_waiter[i] = UNKNOWN;
	found = dl_push_blockers(&dw, want);
	while (!found && dw.top)
		found = dl_push_blockers(&dw, &r->waiters[dw.stack[--dw.top]].want);
out:
	free(dw.lock_waiter);
	free(dw.seen);
	free(dw.stack);
	return found;
}

static bool same_want(const struct glock_plock_lock *a, const struct glock_plock_lock *b)
{
	return same_owner(&a->owner, &b->owner) && a->type == b->type && a->start == b->start &&
	       a->end == b->end;
}

static int lock_now(struct glock_plock_res *r, const struct glock_plock_lock *want,
		    glock_plock_granted_fn fn, void *ctx)
{
	size_t n;
	int rc = reserve_locks(r, r->n_locks + 2 + 2 * r->n_waiters);

	if (rc)
		return rc;
	n = apply(r->locks, r->n_locks, r->spare, &want->owner, (int)want->type, want->start,
		  want->end);
	if (over_limit(r, n))
		return -ENOLCK;
	swap_in(r, n);
	if (fn)
		grant_waiters(r, fn, ctx);
	return GLOCK_PLOCK_GRANTED;
}

static int enqueue(struct glock_plock_res *r, uint64_t req_id, const struct glock_plock_lock *want)
{
	int rc;

	if (r->n_locks + r->n_waiters + 1 > GLOCK_PLOCK_RES_MAX)
		return -ENOLCK;
	rc = reserve_waiters(r, r->n_waiters + 1);
	if (!rc)
		rc = reserve_locks(r, r->n_locks + 2 * (r->n_waiters + 1));
	if (rc)
		return rc;
	r->waiters[r->n_waiters++] = (struct glock_plock_waiter){
		.node = want->owner.node,
		.req_id = req_id,
		.want = *want,
	};
	return GLOCK_PLOCK_QUEUED;
}

int glock_plock_lock(struct glock_plock_res *r, uint64_t req_id,
		     const struct glock_plock_lock *want, bool wait, glock_plock_granted_fn fn,
		     void *ctx)
{
	size_t w;
	int rc;

	if (!r || !glock_plock_lock_valid(want))
		return -EINVAL;
	w = find_waiter(r, want->owner.node, req_id);
	if (w != NONE)
		return same_want(&r->waiters[w].want, want) ? GLOCK_PLOCK_QUEUED : -EBUSY;
	if (first_conflict(r->locks, r->n_locks, want) == NONE)
		return lock_now(r, want, fn, ctx);
	if (!wait)
		return -EAGAIN;
	if (owner_waiter(r, &want->owner) != NONE)
		return -EBUSY;
	if (!want->owner.ofd) {
		rc = deadlock(r, want);
		if (rc)
			return rc < 0 ? rc : -EDEADLK;
	}
	return enqueue(r, req_id, want);
}

int glock_plock_unlock(struct glock_plock_res *r, const struct glock_plock_owner *owner,
		       uint64_t start, uint64_t end, glock_plock_granted_fn fn, void *ctx)
{
	size_t n;
	int rc;

	if (!r || !owner || owner->node == 0 || start > end)
		return -EINVAL;
	rc = reserve_locks(r, r->n_locks + 2 + 2 * r->n_waiters);
	if (rc)
		return rc;
	n = apply(r->locks, r->n_locks, r->spare, owner, 0, start, end);
	if (over_limit(r, n))
		return -ENOLCK;
	swap_in(r, n);
#ifndef PLOCK_MUTANT_NO_WAKE
	if (fn)
		grant_waiters(r, fn, ctx);
#else
	(void)fn;
	(void)ctx;
#endif
	return 0;
}

int glock_plock_get(const struct glock_plock_res *r, const struct glock_plock_lock *probe,
		    struct glock_plock_lock *conflict)
{
	size_t i;

	if (!r || !glock_plock_lock_valid(probe) || !conflict)
		return -EINVAL;
	i = first_conflict(r->locks, r->n_locks, probe);
	if (i == NONE)
		return 0;
	*conflict = r->locks[i];
	return 1;
}

int glock_plock_cancel(struct glock_plock_res *r, uint32_t node, uint64_t req_id)
{
	size_t w;

	if (!r)
		return -EINVAL;
	w = find_waiter(r, node, req_id);
	if (w == NONE)
		return -ENOENT;
	remove_waiter(r, w);
	return 0;
}

void glock_plock_drop_node(struct glock_plock_res *r, uint32_t node, glock_plock_granted_fn fn,
			   void *ctx)
{
	size_t i, k;

	if (!r)
		return;
	for (i = k = 0; i < r->n_locks; i++)
		if (r->locks[i].owner.node != node)
			r->locks[k++] = r->locks[i];
	r->n_locks = k;
	for (i = k = 0; i < r->n_waiters; i++)
		if (r->waiters[i].node != node)
			r->waiters[k++] = r->waiters[i];
	r->n_waiters = k;
	if (fn)
		grant_waiters(r, fn, ctx);
}

/* Does a lock of node conflict with a lock of another owner in locks? */
static bool report_conflicts(const struct glock_plock_lock *locks, size_t n, uint32_t node)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (locks[i].owner.node != node)
			continue;
		for (j = 0; j < n; j++)
			if (j != i && conflicts(&locks[i], &locks[j]))
				return true;
	}
	return false;
}

int glock_plock_set_node(struct glock_plock_res *r, uint32_t node,
			 const struct glock_plock_lock *locks, size_t n_locks,
			 glock_plock_granted_fn fn, void *ctx)
{
	struct glock_plock_lock *a = NULL, *b = NULL, *t;
	size_t i, k = 0, room;
	int rc = 0;

	if (!r || node == 0 || (n_locks && !locks))
		return -EINVAL;
	for (i = 0; i < n_locks; i++)
		if (!glock_plock_lock_valid(&locks[i]) || locks[i].owner.node != node)
			return -EINVAL;
	if (n_locks > GLOCK_PLOCK_RES_MAX)
		return -ENOLCK;
	/* Each reported lock adds at most two, and apply wants two spare. */
	room = r->n_locks + 2 * n_locks + 2;
	a = malloc(room * sizeof(*a));
	b = malloc(room * sizeof(*b));
	if (!a || !b) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->n_locks; i++)
		if (r->locks[i].owner.node != node)
			a[k++] = r->locks[i];
	for (i = 0; i < n_locks; i++) {
		k = apply(a, k, b, &locks[i].owner, (int)locks[i].type, locks[i].start,
			  locks[i].end);
		t = a;
		a = b;
		b = t;
	}
	if (report_conflicts(a, k, node)) {
		rc = -EPROTO;
		goto out;
	}
	if (over_limit(r, k)) {
		rc = -ENOLCK;
		goto out;
	}
	rc = reserve_locks(r, k + 2 * r->n_waiters);
	if (rc)
		goto out;
	if (k)
		memcpy(r->locks, a, k * sizeof(*a)); /* r->locks may be NULL otherwise */
	r->n_locks = k;
	if (fn)
		grant_waiters(r, fn, ctx);
out:
	free(a);
	free(b);
	return rc;
}

int glock_plock_foreach_lock(const struct glock_plock_res *r, glock_plock_lock_fn fn, void *ctx)
{
	size_t i;
	int rc;

	if (!r || !fn)
		return -EINVAL;
	for (i = 0; i < r->n_locks; i++) {
		rc = fn(ctx, &r->locks[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int glock_plock_foreach_waiter(const struct glock_plock_res *r, glock_plock_waiter_fn fn, void *ctx)
{
	size_t i;
	int rc;

	if (!r || !fn)
		return -EINVAL;
	for (i = 0; i < r->n_waiters; i++) {
		rc = fn(ctx, &r->waiters[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void glock_plock_counts(const struct glock_plock_res *r, struct glock_plock_counts *out)
{
	if (!out)
		return;
	out->locks = r ? r->n_locks : 0;
	out->waiters = r ? r->n_waiters : 0;
}

void glock_plock_grant_waiters(struct glock_plock_res *r, glock_plock_granted_fn fn, void *ctx)
{
	if (r && fn)
		grant_waiters(r, fn, ctx);
}
