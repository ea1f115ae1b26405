// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The glock table and its grant rules: see table.h and docs/DESIGN.md §2.
 *
 * Every mutation is preceded by validation and by reserving whatever memory
 * it needs, so an op that fails leaves the table exactly as it was.
 */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const bool mode_compat[GLOCK_MODE_COUNT][GLOCK_MODE_COUNT] = {
	/*                UN     SH     DF     EX   */
	[GLOCK_MODE_UN] = { true, true, true, true },
	[GLOCK_MODE_SH] = { true, true, false, false },
	[GLOCK_MODE_DF] = { true, false, true, false },
	[GLOCK_MODE_EX] = { true, false, false, false },
};

bool glock_mode_compatible(enum glock_mode a, enum glock_mode b)
{
	if ((unsigned int)a >= GLOCK_MODE_COUNT || (unsigned int)b >= GLOCK_MODE_COUNT)
		return false;
	return mode_compat[a][b];
}

const char *glock_mode_name(enum glock_mode mode)
{
	switch (mode) {
	case GLOCK_MODE_UN: return "UN";
	case GLOCK_MODE_SH: return "SH";
	case GLOCK_MODE_DF: return "DF";
	case GLOCK_MODE_EX: return "EX";
	}
	return "??";
}

bool glock__mode_requestable(enum glock_mode mode)
{
	return mode == GLOCK_MODE_SH || mode == GLOCK_MODE_DF || mode == GLOCK_MODE_EX;
}

/* ---- names and the hash table ---- */

bool glock_name_valid(const struct glock_name *name)
{
	size_t len = strnlen(name->lockspace, GLOCK_LOCKSPACE_MAX);

	return len > 0 && len < GLOCK_LOCKSPACE_MAX;
}

int glock_name_compare(const struct glock_name *a, const struct glock_name *b)
{
	int c = strncmp(a->lockspace, b->lockspace, GLOCK_LOCKSPACE_MAX);

	if (c)
		return c < 0 ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->number != b->number)
		return a->number < b->number ? -1 : 1;
	return 0;
}

uint32_t glock__name_hash(const struct glock_name *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p = (const unsigned char *)name->lockspace;
	uint64_t v;
	int i;

	for (; *p; p++)
		h = (h ^ *p) * 16777619u;
	v = ((uint64_t)name->type << 32) ^ name->number;
	for (i = 0; i < 8; i++)
		h = (h ^ (unsigned char)(v >> (8 * i))) * 16777619u;
	h = (h ^ name->type) * 16777619u;
	return h;
}

int glock__table_init(struct glock__table *tbl, const struct glock__table_ops *ops, void *ctx)
{
	memset(tbl, 0, sizeof(*tbl));
	tbl->n_buckets = 64;
	tbl->buckets = calloc(tbl->n_buckets, sizeof(*tbl->buckets));
	if (!tbl->buckets)
		return -ENOMEM;
	tbl->ops = ops;
	tbl->ctx = ctx;
	return 0;
}

struct glock *glock__find(const struct glock__table *tbl, const struct glock_name *name)
{
	uint32_t h = glock__name_hash(name);
	struct glock *gl;

	for (gl = tbl->buckets[h & (tbl->n_buckets - 1)]; gl; gl = gl->hash_next)
		if (gl->hash == h && glock_name_compare(&gl->name, name) == 0)
			return gl;
	return NULL;
}

static void table_grow(struct glock__table *tbl)
{
	size_t n = tbl->n_buckets * 2, i;
	struct glock **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* a longer chain is still correct */
	for (i = 0; i < tbl->n_buckets; i++) {
		struct glock *gl = tbl->buckets[i], *next;

		for (; gl; gl = next) {
			next = gl->hash_next;
			gl->hash_next = b[gl->hash & (n - 1)];
			b[gl->hash & (n - 1)] = gl;
		}
	}
	free(tbl->buckets);
	tbl->buckets = b;
	tbl->n_buckets = n;
}

/*
 * Grows an array so that one more element fits.  Mutations reserve first,
 * so they cannot fail half-way.
 */
static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 2;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

#define RESERVE(gl, field, need) \
	reserve((void **)&(gl)->field, &(gl)->cap_##field, (need), sizeof(*(gl)->field))

struct glock *glock__create(struct glock__table *tbl, const struct glock_name *name)
{
	struct glock *gl = calloc(1, sizeof(*gl));

	if (!gl)
		return NULL;
	memcpy(&gl->name, name, sizeof(*name));
	gl->hash = glock__name_hash(name);
	glock__hold_init(&gl->hold, tbl->hold_min_us);
	if (tbl->n_glocks >= tbl->n_buckets * 2)
		table_grow(tbl);
	gl->hash_next = tbl->buckets[gl->hash & (tbl->n_buckets - 1)];
	tbl->buckets[gl->hash & (tbl->n_buckets - 1)] = gl;
	tbl->n_glocks++;
	return gl;
}

static void glock_destroy(struct glock *gl)
{
	free(gl->holders);
	free(gl->expired);
	free(gl->waiters);
	free(gl);
}

void glock__unlink(struct glock__table *tbl, struct glock *gl)
{
	struct glock **pp = &tbl->buckets[gl->hash & (tbl->n_buckets - 1)];

	if (tbl->ops->unlinking)
		tbl->ops->unlinking(tbl->ctx, gl);
	while (*pp != gl)
		pp = &(*pp)->hash_next;
	*pp = gl->hash_next;
	tbl->n_glocks--;
	glock_destroy(gl);
}

bool glock__idle(const struct glock *gl)
{
	return !gl->n_holders && !gl->n_expired && !gl->n_waiters;
}

void glock__put_if_idle(struct glock__table *tbl, struct glock *gl)
{
	if (glock__idle(gl))
		glock__unlink(tbl, gl);
}

void glock__table_clear(struct glock__table *tbl)
{
	size_t j;

	/* Free in bucket order: nothing is emitted, so the order does not matter. */
	for (j = 0; j < tbl->n_buckets; j++) {
		struct glock *gl = tbl->buckets[j], *next;

		for (; gl; gl = next) {
			next = gl->hash_next;
			glock_destroy(gl);
		}
		tbl->buckets[j] = NULL;
	}
	tbl->n_glocks = 0;
}

void glock__table_fini(struct glock__table *tbl)
{
	if (!tbl->buckets)
		return;
	glock__table_clear(tbl);
	free(tbl->buckets);
	tbl->buckets = NULL;
}

int glock__ptr_compare(const void *a, const void *b)
{
	const struct glock *const *x = a, *const *y = b;

	return glock_name_compare(&(*x)->name, &(*y)->name);
}

struct glock **glock__sorted(const struct glock__table *tbl, size_t *n, int *err)
{
	struct glock **v;
	size_t i, k = 0;

	*n = 0;
	*err = 0;
	if (!tbl->n_glocks)
		return NULL;
	v = malloc(tbl->n_glocks * sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < tbl->n_buckets; i++) {
		struct glock *gl;

		for (gl = tbl->buckets[i]; gl; gl = gl->hash_next)
			v[k++] = gl;
	}
	qsort(v, k, sizeof(*v), glock__ptr_compare);
	*n = k;
	return v;
}

/* ---- grant rules ---- */

struct glock__holder *glock__holder_of(struct glock *gl, uint32_t node)
{
	size_t i;

	for (i = 0; i < gl->n_holders; i++)
		if (gl->holders[i].node == node)
			return &gl->holders[i];
	return NULL;
}

struct glock__waiter *glock__waiter_of(struct glock *gl, uint32_t node)
{
	size_t i;

	for (i = 0; i < gl->n_waiters; i++)
		if (gl->waiters[i].node == node)
			return &gl->waiters[i];
	return NULL;
}

static size_t converts_pending(const struct glock *gl)
{
	size_t i;

	for (i = 0; i < gl->n_waiters && gl->waiters[i].convert; i++)
		;
	return i;
}

static bool may_grant(struct glock__table *tbl, const struct glock *gl)
{
	return tbl->ops->may_grant(tbl->ctx, gl);
}

static void deny(struct glock__table *tbl, const struct glock_name *name, uint32_t node,
		 uint64_t req_id, enum glock_deny_reason reason)
{
	tbl->ops->denied(tbl->ctx, name, node, req_id, reason);
}

static void demote(struct glock__table *tbl, struct glock *gl, uint32_t node,
		   enum glock_mode target)
{
	tbl->ops->demote(tbl->ctx, gl, node, target);
}

/* May node hold mode next to every other grant, live and expired? */
static bool compatible_with_holders(const struct glock *gl, uint32_t node, enum glock_mode mode,
				    uint32_t flags)
{
	size_t i;

	for (i = 0; i < gl->n_holders; i++)
		if (gl->holders[i].node != node && !mode_compat[gl->holders[i].mode][mode])
			return false;
	for (i = 0; i < gl->n_expired; i++) {
		if (mode_compat[gl->expired[i].mode][mode])
			continue;
		if (!(flags & GLOCK_FLAG_NOEXP) || !gl->expired[i].fenced)
			return false;
	}
	return true;
}

static void holder_insert(struct glock *gl, uint32_t node, uint64_t req_id, enum glock_mode mode,
			  uint32_t flags)
{
	size_t i = gl->n_holders;

	while (i > 0 && gl->holders[i - 1].node > node) {
		gl->holders[i] = gl->holders[i - 1];
		i--;
	}
	gl->holders[i] = (struct glock__holder){
		.node = node, .req_id = req_id, .mode = mode, .flags = flags,
	};
	gl->n_holders++;
}

void glock__holder_remove(struct glock *gl, struct glock__holder *h)
{
	size_t i = (size_t)(h - gl->holders);

	memmove(&gl->holders[i], &gl->holders[i + 1], (gl->n_holders - i - 1) * sizeof(*h));
	gl->n_holders--;
}

void glock__waiter_remove(struct glock *gl, size_t i)
{
	memmove(&gl->waiters[i], &gl->waiters[i + 1],
		(gl->n_waiters - i - 1) * sizeof(gl->waiters[0]));
	gl->n_waiters--;
}

static void waiter_insert(struct glock *gl, const struct glock__waiter *w)
{
	size_t conv = converts_pending(gl), pos;

	if (w->convert)
		pos = (w->flags & GLOCK_FLAG_PRIORITY) ? 0 : conv;
	else
		pos = (w->flags & GLOCK_FLAG_PRIORITY) ? conv : gl->n_waiters;
	memmove(&gl->waiters[pos + 1], &gl->waiters[pos], (gl->n_waiters - pos) * sizeof(*w));
	gl->waiters[pos] = *w;
	gl->n_waiters++;
}

/* Gives node its grant (new or converted) and answers its request. */
static void grant(struct glock__table *tbl, struct glock *gl, uint32_t node, uint64_t req_id,
		  enum glock_mode mode, uint32_t flags)
{
	struct glock__holder *h = glock__holder_of(gl, node);

	if (h) {
		h->mode = mode;
		h->flags = flags;
		h->req_id = req_id;
		h->demote_sent = false;
		h->demote_target = GLOCK_MODE_UN;
	} else {
		holder_insert(gl, node, req_id, mode, flags);
	}
	tbl->ops->granted(tbl->ctx, gl, node, req_id, mode);
}

/* What a holder blocking a request for mode is asked to give up to. */
static enum glock_mode demote_target_for(enum glock_mode wanted)
{
	return wanted == GLOCK_MODE_EX ? GLOCK_MODE_UN : wanted;
}

/* Asks every holder that blocks (node, mode) to demote, once per target. */
static void send_demotes(struct glock__table *tbl, struct glock *gl, uint32_t node,
			 enum glock_mode mode)
{
	enum glock_mode target = demote_target_for(mode);
	size_t i;

	for (i = 0; i < gl->n_holders; i++) {
		struct glock__holder *h = &gl->holders[i];
		enum glock_mode t = target;

		if (h->node == node || mode_compat[h->mode][mode])
			continue;
		if (h->demote_sent) {
			if (h->demote_target == GLOCK_MODE_UN || h->demote_target == t)
				continue;
			t = GLOCK_MODE_UN; /* asked for SH before, DF now: only UN serves both */
		}
		h->demote_sent = true;
		h->demote_target = t;
		demote(tbl, gl, h->node, t);
	}
}

/*
 * A demoted holder whose conversion came to nothing (cancelled, failed as
 * TRY, or refused as a deadlock) still blocks, but its demote is marked
 * sent: nobody would ask it again and the waiter would starve.  Ask again;
 * after a deadlock ask for UN, since the same conversion would deadlock
 * again.
 */
static void demote_again(struct glock__table *tbl, struct glock *gl, uint32_t node, bool release)
{
	struct glock__holder *h = glock__holder_of(gl, node);

	if (!h || !h->demote_sent)
		return;
	if (release && h->demote_target != GLOCK_MODE_UN) {
		h->demote_target = GLOCK_MODE_UN;
		demote(tbl, gl, h->node, GLOCK_MODE_UN);
		return;
	}
	h->demote_sent = false;
	glock__process(tbl, gl);
}

/*
 * Grants what the queue allows: every pending conversion that fits (as the
 * DLM grants conversions in any order), then new locks strictly from the
 * head, and only once no conversion waits.  Then demotes whoever blocks.
 */
void glock__process(struct glock__table *tbl, struct glock *gl)
{
	size_t i;
	bool progress = true;

	if (!may_grant(tbl, gl))
		return;
	while (progress) {
		progress = false;
		for (i = 0; i < gl->n_waiters && gl->waiters[i].convert; i++) {
			struct glock__waiter w = gl->waiters[i];

			if (compatible_with_holders(gl, w.node, w.mode, w.flags)) {
				glock__waiter_remove(gl, i);
				grant(tbl, gl, w.node, w.req_id, w.mode, w.flags);
				progress = true;
				break;
			}
		}
	}
	while (gl->n_waiters && !gl->waiters[0].convert) {
		struct glock__waiter w = gl->waiters[0];

		if (!compatible_with_holders(gl, w.node, w.mode, w.flags))
			break;
		glock__waiter_remove(gl, 0);
		grant(tbl, gl, w.node, w.req_id, w.mode, w.flags);
	}
	for (i = 0; i < gl->n_waiters; i++) {
		send_demotes(tbl, gl, gl->waiters[i].node, gl->waiters[i].mode);
		if (!gl->waiters[i].convert)
			break; /* only the head of the lock queue asks */
	}
}

int glock__process_all(struct glock__table *tbl)
{
	size_t n, i;
	int err;
	struct glock **v = glock__sorted(tbl, &n, &err);

	if (err)
		return err;
	for (i = 0; i < n; i++) {
		glock__process(tbl, v[i]);
		glock__put_if_idle(tbl, v[i]);
	}
	free(v);
	return 0;
}

/* ---- ops ---- */

int glock__op_check(const struct glock_op *op)
{
	if (!glock_name_valid(&op->name) || (op->flags & ~GLOCK_FLAGS_ALL))
		return -EINVAL;
	switch (op->kind) {
	case GLOCK_OP_LOCK:
	case GLOCK_OP_CONVERT:
		if (!glock__mode_requestable(op->mode))
			return -EINVAL;
		break;
	case GLOCK_OP_RELEASE:
	case GLOCK_OP_CANCEL:
		break;
	default:
		return -EINVAL;
	}
	if (op->lvb_valid && op->kind != GLOCK_OP_CONVERT && op->kind != GLOCK_OP_RELEASE)
		return -EINVAL;
	return 0;
}

/* A try request that cannot be granted now; TRY_1CB still nudges the holders. */
static bool try_fails(struct glock__table *tbl, struct glock *gl, const struct glock_op *op)
{
	if (!(op->flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB)))
		return false;
	if (op->flags & GLOCK_FLAG_TRY_1CB)
		send_demotes(tbl, gl, op->node, op->mode);
	deny(tbl, &gl->name, op->node, op->req_id, GLOCK_DENY_TRYFAIL);
	return true;
}

/* An EX holder writes the LVB (on the master path only on top of what it saw). */
static void lvb_write(struct glock__table *tbl, struct glock *gl, const struct glock_op *op)
{
	if (!op->lvb_valid)
		return;
	if (tbl->lvb_check_base && op->lvb_base != gl->lvb_seq)
		return; /* reported again after a later write: stale */
	memcpy(gl->lvb, op->lvb, GLOCK_LVB_LEN);
	gl->lvb_seq++;
	gl->lvb_invalid = false;
}

static int op_lock(struct glock__table *tbl, const struct glock_op *op)
{
	struct glock *gl = glock__find(tbl, &op->name);
	struct glock__waiter w = {
		.node = op->node, .req_id = op->req_id, .mode = op->mode,
		.flags = op->flags, .convert = false,
	};
	bool head;

	if (gl && (glock__holder_of(gl, op->node) || glock__waiter_of(gl, op->node)))
		return -EEXIST;
	if (!gl) {
		gl = glock__create(tbl, &op->name);
		if (!gl)
			return -ENOMEM;
	}
	/* Every waiter may become a holder: keep room for all of them. */
	if (RESERVE(gl, holders, gl->n_holders + gl->n_waiters + 1) ||
	    RESERVE(gl, waiters, gl->n_waiters + 1)) {
		glock__put_if_idle(tbl, gl);
		return -ENOMEM;
	}
	head = gl->n_waiters == 0 ||
	       ((op->flags & GLOCK_FLAG_PRIORITY) && converts_pending(gl) == 0);
	if (may_grant(tbl, gl) && head &&
	    compatible_with_holders(gl, op->node, op->mode, op->flags)) {
		grant(tbl, gl, op->node, op->req_id, op->mode, op->flags);
		return 0;
	}
	if (try_fails(tbl, gl, op)) {
		glock__put_if_idle(tbl, gl);
		return 0;
	}
	waiter_insert(gl, &w);
	glock__process(tbl, gl);
	return 0;
}

/* Would queueing this conversion wait forever on a conversion queued before it? */
static bool conversion_deadlocks(struct glock *gl, const struct glock__holder *self,
				 enum glock_mode want)
{
	size_t i;

	for (i = 0; i < gl->n_waiters && gl->waiters[i].convert; i++) {
		const struct glock__waiter *w = &gl->waiters[i];
		const struct glock__holder *other = glock__holder_of(gl, w->node);

		if (other && !mode_compat[self->mode][w->mode] && !mode_compat[other->mode][want])
			return true;
	}
	return false;
}

static int op_convert(struct glock__table *tbl, const struct glock_op *op)
{
	struct glock *gl = glock__find(tbl, &op->name);
	struct glock__holder *h = gl ? glock__holder_of(gl, op->node) : NULL;
	struct glock__waiter w = {
		.node = op->node, .req_id = op->req_id, .mode = op->mode,
		.flags = op->flags, .convert = true,
	};

	if (!h)
		return -ENOENT;
	if (glock__waiter_of(gl, op->node))
		return -EBUSY;
	if (h->mode == op->mode)
		return -EALREADY;
	if (op->lvb_valid && h->mode != GLOCK_MODE_EX)
		return -EINVAL;
	if (RESERVE(gl, waiters, gl->n_waiters + 1))
		return -ENOMEM;
	lvb_write(tbl, gl, op);
	if (may_grant(tbl, gl) && compatible_with_holders(gl, op->node, op->mode, op->flags)) {
		grant(tbl, gl, op->node, op->req_id, op->mode, op->flags);
		glock__process(tbl, gl); /* a down-conversion may unblock others */
		return 0;
	}
	if (try_fails(tbl, gl, op)) {
		demote_again(tbl, gl, op->node, false);
		return 0;
	}
	if (conversion_deadlocks(gl, h, op->mode)) {
		/*
		 * Problem scenario: A and B hold SH, a DF waiter demotes both
		 * to DF; A's SH->DF queues behind B's SH, B's SH->DF deadlocks
		 * with A's.  B must give the glock up instead.
		 */
		deny(tbl, &gl->name, op->node, op->req_id, GLOCK_DENY_DEADLOCK);
		demote_again(tbl, gl, op->node, true);
		return 0;
	}
	waiter_insert(gl, &w);
	glock__process(tbl, gl);
	return 0;
}

static int op_release(struct glock__table *tbl, const struct glock_op *op)
{
	struct glock *gl = glock__find(tbl, &op->name);
	struct glock__holder *h = gl ? glock__holder_of(gl, op->node) : NULL;

	if (!h)
		return -ENOENT;
	if (glock__waiter_of(gl, op->node))
		return -EBUSY;
	if (op->lvb_valid && h->mode != GLOCK_MODE_EX)
		return -EINVAL;
	lvb_write(tbl, gl, op);
	glock__holder_remove(gl, h);
	if (tbl->ops->released)
		tbl->ops->released(tbl->ctx, gl, op->node);
	glock__process(tbl, gl);
	glock__put_if_idle(tbl, gl);
	return 0;
}

static int op_cancel(struct glock__table *tbl, const struct glock_op *op)
{
	struct glock *gl = glock__find(tbl, &op->name);
	size_t i;

	for (i = 0; gl && i < gl->n_waiters; i++) {
		if (gl->waiters[i].node == op->node && gl->waiters[i].req_id == op->req_id) {
			bool convert = gl->waiters[i].convert;

			glock__waiter_remove(gl, i);
			deny(tbl, &gl->name, op->node, op->req_id, GLOCK_DENY_CANCELLED);
			if (convert)
				demote_again(tbl, gl, op->node, false);
			glock__process(tbl, gl);
			glock__put_if_idle(tbl, gl);
			return 0;
		}
	}
	return -ENOENT;
}

int glock__op_apply(struct glock__table *tbl, const struct glock_op *op)
{
	switch (op->kind) {
	case GLOCK_OP_LOCK: return op_lock(tbl, op);
	case GLOCK_OP_CONVERT: return op_convert(tbl, op);
	case GLOCK_OP_RELEASE: return op_release(tbl, op);
	case GLOCK_OP_CANCEL: return op_cancel(tbl, op);
	}
	return -EINVAL;
}

/* ---- master path: changes that are not requests ---- */

int glock__lower(struct glock__table *tbl, struct glock *gl, uint32_t node, uint64_t req_id,
		 enum glock_mode mode, bool lvb_valid, const uint8_t *lvb, uint64_t lvb_base)
{
	struct glock__holder *h = glock__holder_of(gl, node);
	struct glock_op op = {
		.kind = GLOCK_OP_CONVERT, .node = node, .req_id = req_id, .mode = mode,
		.lvb_valid = lvb_valid, .lvb_base = lvb_base,
	};

	if (!h)
		return -ENOENT;
	if (h->mode != GLOCK_MODE_EX || mode == GLOCK_MODE_EX)
		return -EINVAL;
	if (lvb_valid)
		memcpy(op.lvb, lvb, GLOCK_LVB_LEN);
	lvb_write(tbl, gl, &op);
	if (mode == GLOCK_MODE_UN) {
		glock__holder_remove(gl, h);
		if (tbl->ops->released)
			tbl->ops->released(tbl->ctx, gl, node);
	} else {
		h->mode = mode;
		h->req_id = req_id;
		h->demote_sent = false;
		h->demote_target = GLOCK_MODE_UN;
	}
	glock__process(tbl, gl);
	return 0;
}

int glock__holder_set(struct glock *gl, uint32_t node, enum glock_mode mode, uint32_t flags)
{
	struct glock__holder *h = glock__holder_of(gl, node);

	if (h) {
		h->mode = mode;
		h->demote_sent = false;
		h->demote_target = GLOCK_MODE_UN;
		return 0;
	}
	if (RESERVE(gl, holders, gl->n_holders + gl->n_waiters + 1))
		return -ENOMEM;
	holder_insert(gl, node, 0, mode, flags);
	return 0;
}

int glock__expired_reserve(struct glock *gl, size_t more)
{
	return RESERVE(gl, expired, gl->n_expired + more);
}

int glock__waiters_reserve(struct glock *gl, size_t more)
{
	if (RESERVE(gl, holders, gl->n_holders + gl->n_waiters + more))
		return -ENOMEM;
	return RESERVE(gl, waiters, gl->n_waiters + more);
}

/* ---- departures ---- */

static int uint32_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool sorted_contains(const uint32_t *v, size_t n, uint32_t x)
{
	return bsearch(&x, v, n, sizeof(*v), uint32_compare) != NULL;
}

int glock__departures_reserve(struct glock__table *tbl, const uint32_t *next, size_t n_next,
			      struct glock **v, size_t n)
{
	size_t i, k;

	(void)tbl;
	for (i = 0; i < n; i++) {
		size_t need = v[i]->n_expired;

		for (k = 0; k < v[i]->n_holders; k++)
			if (!sorted_contains(next, n_next, v[i]->holders[k].node))
				need++;
		if (need > v[i]->n_expired && RESERVE(v[i], expired, need))
			return -ENOMEM;
	}
	return 0;
}

void glock__expired_add(struct glock *gl, const struct glock__holder *h)
{
	/*
	 * Appended after any expired grant of an earlier incarnation of the
	 * same node, which keeps its own fenced state.
	 */
	size_t k = gl->n_expired;

	while (k > 0 && gl->expired[k - 1].node > h->node) {
		gl->expired[k] = gl->expired[k - 1];
		k--;
	}
	gl->expired[k] = *h;
	gl->expired[k].demote_sent = false;
	gl->expired[k].demote_target = GLOCK_MODE_UN;
	gl->n_expired++;
}

bool glock__depart(struct glock__table *tbl, uint32_t node, struct glock **v, size_t n)
{
	bool held = false;
	size_t i;

	(void)tbl;
	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];
		struct glock__holder *h = glock__holder_of(gl, node);
		size_t k;

		for (k = 0; k < gl->n_waiters; k++) {
			if (gl->waiters[k].node == node) {
				glock__waiter_remove(gl, k);
				break;
			}
		}
		if (!h)
			continue;
		h->fenced = false;
		glock__expired_add(gl, h);
		glock__holder_remove(gl, h);
		held = true;
	}
	return held;
}

void glock__fence(struct glock **v, size_t n, uint32_t node)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < v[i]->n_expired; k++)
			if (v[i]->expired[k].node == node)
				v[i]->expired[k].fenced = true;
}

void glock__drop_expired(struct glock **v, size_t n, uint32_t node)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];

		for (k = 0; k < gl->n_expired;) {
			if (gl->expired[k].node == node) {
				memmove(&gl->expired[k], &gl->expired[k + 1],
					(gl->n_expired - k - 1) * sizeof(gl->expired[0]));
				gl->n_expired--;
			} else {
				k++;
			}
		}
	}
}

/* ---- records ---- */

static bool holder_recs_valid(const struct glock_holder_rec *v, size_t n, bool strictly)
{
	size_t i;

	if (n > GLOCK__EXPIRED_MAX || (n && !v))
		return false;
	for (i = 0; i < n; i++) {
		if (v[i].node == GLOCK_NODEID_NONE || !glock__mode_requestable(v[i].mode) ||
		    (unsigned int)v[i].demote_target >= GLOCK_MODE_COUNT ||
		    (v[i].flags & ~GLOCK_FLAGS_ALL))
			return false;
		if (i && (v[i].node < v[i - 1].node || (strictly && v[i].node == v[i - 1].node)))
			return false;
	}
	return true;
}

bool glock__record_valid(const struct glock_record *r)
{
	size_t i, j;

	if (!r || !glock_name_valid(&r->name))
		return false;
	if (!holder_recs_valid(r->holders, r->n_holders, true) ||
	    !holder_recs_valid(r->expired, r->n_expired, false))
		return false;
	if (r->n_waiters > GLOCK_NODES_MAX || (r->n_waiters && !r->waiters))
		return false;
	if (!r->n_holders && !r->n_expired && !r->n_waiters)
		return false; /* idle glocks are never in a table */
	for (i = 0; i < r->n_waiters; i++) {
		const struct glock_waiter_rec *w = &r->waiters[i];

		if (w->node == GLOCK_NODEID_NONE || !glock__mode_requestable(w->mode) ||
		    (w->flags & ~GLOCK_FLAGS_ALL))
			return false;
		if (i && w->convert && !r->waiters[i - 1].convert)
			return false; /* conversions first */
		for (j = 0; j < r->n_holders && r->holders[j].node != w->node; j++)
			;
		if (w->convert != (j < r->n_holders))
			return false; /* a conversion needs a grant, a new lock must not have one */
		for (j = 0; j < i; j++)
			if (r->waiters[j].node == w->node)
				return false;
	}
	for (i = 0; i < r->n_holders; i++)
		for (j = i + 1; j < r->n_holders; j++)
			if (!mode_compat[r->holders[i].mode][r->holders[j].mode])
				return false;
	return true;
}

int glock__record_load(struct glock__table *tbl, const struct glock_record *r)
{
	struct glock *gl;
	size_t i;

	if (glock__find(tbl, &r->name))
		return -EINVAL;
	gl = glock__create(tbl, &r->name);
	if (!gl)
		return -ENOMEM;
	if (RESERVE(gl, holders, r->n_holders + r->n_waiters) || RESERVE(gl, expired, r->n_expired) ||
	    RESERVE(gl, waiters, r->n_waiters)) {
		glock__unlink(tbl, gl);
		return -ENOMEM;
	}
	memcpy(gl->lvb, r->lvb, GLOCK_LVB_LEN);
	for (i = 0; i < r->n_holders; i++)
		gl->holders[i] = (struct glock__holder){
			.node = r->holders[i].node, .mode = r->holders[i].mode,
			.flags = r->holders[i].flags,
			.demote_target = r->holders[i].demote_target,
			.demote_sent = r->holders[i].demote_sent,
		};
	gl->n_holders = r->n_holders;
	for (i = 0; i < r->n_expired; i++)
		gl->expired[i] = (struct glock__holder){
			.node = r->expired[i].node, .mode = r->expired[i].mode,
			.flags = r->expired[i].flags, .fenced = r->expired[i].fenced,
		};
	gl->n_expired = r->n_expired;
	for (i = 0; i < r->n_waiters; i++)
		gl->waiters[i] = (struct glock__waiter){
			.node = r->waiters[i].node, .req_id = r->waiters[i].req_id,
			.mode = r->waiters[i].mode, .flags = r->waiters[i].flags,
			.convert = r->waiters[i].convert,
		};
	gl->n_waiters = r->n_waiters;
	return 0;
}

int glock__record_emit(const struct glock *gl, glock_record_fn fn, void *ctx)
{
	struct glock_holder_rec *holders = calloc(gl->n_holders + 1, sizeof(*holders));
	struct glock_holder_rec *expired = calloc(gl->n_expired + 1, sizeof(*expired));
	struct glock_waiter_rec *waiters = calloc(gl->n_waiters + 1, sizeof(*waiters));
	struct glock_record rec = {
		.n_holders = gl->n_holders, .holders = holders,
		.n_expired = gl->n_expired, .expired = expired,
		.n_waiters = gl->n_waiters, .waiters = waiters,
	};
	size_t i;
	int ret = -ENOMEM;

	if (!holders || !expired || !waiters)
		goto out_free;
	memcpy(&rec.name, &gl->name, sizeof(rec.name));
	memcpy(rec.lvb, gl->lvb, GLOCK_LVB_LEN);
	for (i = 0; i < gl->n_holders; i++)
		holders[i] = (struct glock_holder_rec){
			gl->holders[i].node, gl->holders[i].mode, gl->holders[i].flags,
			gl->holders[i].demote_target, gl->holders[i].demote_sent, false,
		};
	for (i = 0; i < gl->n_expired; i++)
		expired[i] = (struct glock_holder_rec){
			gl->expired[i].node, gl->expired[i].mode, gl->expired[i].flags,
			GLOCK_MODE_UN, false, gl->expired[i].fenced,
		};
	for (i = 0; i < gl->n_waiters; i++)
		waiters[i] = (struct glock_waiter_rec){
			gl->waiters[i].node, gl->waiters[i].req_id, gl->waiters[i].mode,
			gl->waiters[i].flags, gl->waiters[i].convert,
		};
	ret = fn(ctx, &rec);
out_free:
	free(holders);
	free(expired);
	free(waiters);
	return ret;
}
