// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The replicated glock engine: see engine.h and docs/DESIGN.md §2-§3.
 *
 * Every mutation is preceded by validation and by reserving whatever memory
 * it needs, so an input that fails leaves the table exactly as it was.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct holder {
	uint32_t node;
	enum glock_mode mode;
	uint32_t flags;
	enum glock_mode demote_target;
	bool demote_sent;
	bool fenced; /* expired entries: this incarnation's fencing is confirmed */
};

struct waiter {
	uint32_t node;
	uint64_t req_id;
	enum glock_mode mode;
	uint32_t flags;
	bool convert;
};

struct glock {
	struct glock_name name;
	uint32_t hash;
	struct glock *hash_next;
	uint8_t lvb[GLOCK_LVB_LEN];
	struct holder *holders; /* live, sorted by node */
	size_t n_holders, cap_holders;
	struct holder *expired; /* sorted by node */
	size_t n_expired, cap_expired;
	struct waiter *waiters; /* converts first, then locks; FIFO in each */
	size_t n_waiters, cap_waiters;
	/* Node-local, never replicated: the minimum hold time. */
	uint64_t local_granted_us;
	uint64_t hold_us;
	bool local_demote_delayed;
	enum glock_mode local_demote_target;
	uint64_t local_demote_due_us;
};

struct departed {
	uint32_t node;
	bool fenced;
};

enum sync_phase {
	SYNC_COLLECTING, /* waiting for every HELLO and quorum */
	SYNC_TRANSFER,   /* sync point passed, donor's snapshot expected */
	SYNC_DONE,       /* nothing more to do in this configuration */
};

struct glock_engine {
	struct glock_engine_config cfg;
	glock_output_fn output;
	void *ctx;

	struct glock **buckets;
	size_t n_buckets;
	size_t n_glocks;

	uint32_t members[GLOCK_NODES_MAX]; /* sorted */
	size_t n_members;
	uint64_t config_id;
	bool member_synced[GLOCK_NODES_MAX];
	bool member_hello[GLOCK_NODES_MAX];
	bool member_joined[GLOCK_NODES_MAX]; /* joined in the current configuration */

	struct departed *departed; /* sorted by node */
	size_t n_departed, cap_departed;

	bool quorate;
	bool confirmed;          /* QUORUM{true} since the last departure */
	bool quorum_in_config;   /* QUORUM{true} since the last confchg */
	bool reset_since_confchg; /* every member dropped its table */

	enum sync_phase sync_phase;
	uint32_t donor;
	bool snapshot_begun;
	uint64_t snapshot_records;
	struct glock_name snapshot_last; /* records come in name order */
	bool snapshot_failed;
	struct glock_input *buffered; /* table inputs delivered while the snapshot is in transit */
	size_t n_buffered;
	size_t cap_buffered;

	uint64_t now_us;
	struct glock **delayed; /* glocks with a delayed local demote, unordered */
	size_t n_delayed, cap_delayed;
};

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

const char *glock_engine_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case -EINVAL: return "malformed input";
	case -ESRCH: return "node is not a member";
	case -EEXIST: return "node already holds or waits for this glock";
	case -ENOENT: return "no such grant or request";
	case -EBUSY: return "a conversion is pending: cancel it first";
	case -EALREADY: return "already held in that mode";
	case -EPROTO: return "snapshot input out of sequence";
	case -ESTALE: return "message from an earlier configuration";
	case -ENOMEM: return "out of memory";
	}
	return "unknown error";
}

void glock_engine_config_defaults(struct glock_engine_config *cfg, uint32_t local_node)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->local_node = local_node;
	cfg->hold_min_us = 10000;
	cfg->hold_max_us = 200000;
	cfg->hold_incr_us = 10000;
	cfg->hold_decr_us = 1000;
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

static uint32_t name_hash(const struct glock_name *name)
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

static struct glock *glock_find(const struct glock_engine *eng, const struct glock_name *name)
{
	uint32_t h = name_hash(name);
	struct glock *gl;

	for (gl = eng->buckets[h & (eng->n_buckets - 1)]; gl; gl = gl->hash_next)
		if (gl->hash == h && glock_name_compare(&gl->name, name) == 0)
			return gl;
	return NULL;
}

static void table_grow(struct glock_engine *eng)
{
	size_t n = eng->n_buckets * 2, i;
	struct glock **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* a longer chain is still correct */
	for (i = 0; i < eng->n_buckets; i++) {
		struct glock *gl = eng->buckets[i], *next;

		for (; gl; gl = next) {
			next = gl->hash_next;
			gl->hash_next = b[gl->hash & (n - 1)];
			b[gl->hash & (n - 1)] = gl;
		}
	}
	free(eng->buckets);
	eng->buckets = b;
	eng->n_buckets = n;
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

/* Expired grants per glock: a node that fails again before recovery adds one. */
#define GLOCK_EXPIRED_MAX (4 * GLOCK_NODES_MAX)

#define RESERVE(gl, field, need) \
	reserve((void **)&(gl)->field, &(gl)->cap_##field, (need), sizeof(*(gl)->field))

static struct glock *glock_create(struct glock_engine *eng, const struct glock_name *name)
{
	struct glock *gl = calloc(1, sizeof(*gl));

	if (!gl)
		return NULL;
	memcpy(&gl->name, name, sizeof(*name));
	gl->hash = name_hash(name);
	gl->hold_us = eng->cfg.hold_min_us;
	if (eng->n_glocks >= eng->n_buckets * 2)
		table_grow(eng);
	gl->hash_next = eng->buckets[gl->hash & (eng->n_buckets - 1)];
	eng->buckets[gl->hash & (eng->n_buckets - 1)] = gl;
	eng->n_glocks++;
	return gl;
}

static void glock_destroy(struct glock *gl)
{
	free(gl->holders);
	free(gl->expired);
	free(gl->waiters);
	free(gl);
}

static void delayed_forget(struct glock_engine *eng, struct glock *gl)
{
	size_t i;

	for (i = 0; i < eng->n_delayed; i++) {
		if (eng->delayed[i] == gl) {
			eng->delayed[i] = eng->delayed[--eng->n_delayed];
			return;
		}
	}
}

static void delay_cancel(struct glock_engine *eng, struct glock *gl)
{
	if (gl->local_demote_delayed) {
		gl->local_demote_delayed = false;
		delayed_forget(eng, gl);
	}
}

static void glock_unlink(struct glock_engine *eng, struct glock *gl)
{
	if (gl->local_demote_delayed)
		delayed_forget(eng, gl);
	struct glock **pp = &eng->buckets[gl->hash & (eng->n_buckets - 1)];

	while (*pp != gl)
		pp = &(*pp)->hash_next;
	*pp = gl->hash_next;
	eng->n_glocks--;
	glock_destroy(gl);
}

static bool glock_idle(const struct glock *gl)
{
	return !gl->n_holders && !gl->n_expired && !gl->n_waiters;
}

static void glock_put_if_idle(struct glock_engine *eng, struct glock *gl)
{
	if (glock_idle(gl))
		glock_unlink(eng, gl);
}

static int glock_ptr_compare(const void *a, const void *b)
{
	const struct glock *const *x = a, *const *y = b;

	return glock_name_compare(&(*x)->name, &(*y)->name);
}

/* All glocks in name order; caller frees.  NULL with *n == 0 when empty. */
static struct glock **glocks_sorted(const struct glock_engine *eng, size_t *n, int *err)
{
	struct glock **v;
	size_t i, k = 0;

	*n = 0;
	*err = 0;
	if (!eng->n_glocks)
		return NULL;
	v = malloc(eng->n_glocks * sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < eng->n_buckets; i++) {
		struct glock *gl;

		for (gl = eng->buckets[i]; gl; gl = gl->hash_next)
			v[k++] = gl;
	}
	qsort(v, k, sizeof(*v), glock_ptr_compare);
	*n = k;
	return v;
}

/* ---- members ---- */

static int member_index(const struct glock_engine *eng, uint32_t node)
{
	size_t i;

	for (i = 0; i < eng->n_members; i++)
		if (eng->members[i] == node)
			return (int)i;
	return -1;
}

static struct departed *departed_find(const struct glock_engine *eng, uint32_t node)
{
	size_t i;

	for (i = 0; i < eng->n_departed; i++)
		if (eng->departed[i].node == node)
			return &eng->departed[i];
	return NULL;
}

/* ---- outputs ---- */

static void emit(struct glock_engine *eng, const struct glock_output *out)
{
	if (eng->output)
		eng->output(eng->ctx, out);
}

static void emit_grant(struct glock_engine *eng, struct glock *gl, uint64_t req_id,
		       enum glock_mode mode)
{
	struct glock_output out = {
		.kind = GLOCK_OUT_GRANT, .name = &gl->name, .req_id = req_id,
		.mode = mode, .lvb = gl->lvb,
	};

	gl->local_granted_us = eng->now_us;
	delay_cancel(eng, gl);
	emit(eng, &out);
}

static void emit_deny(struct glock_engine *eng, const struct glock_name *name, uint32_t node,
		      uint64_t req_id, enum glock_deny_reason reason)
{
	struct glock_output out = {
		.kind = GLOCK_OUT_DENY, .name = name, .req_id = req_id, .reason = reason,
	};

	if (node == eng->cfg.local_node)
		emit(eng, &out);
}

static void emit_simple(struct glock_engine *eng, enum glock_output_kind kind, uint32_t node)
{
	struct glock_output out = { .kind = kind, .node = node };

	emit(eng, &out);
}

/*
 * The local node is asked to demote.  If it got the grant less than the hold
 * time ago, the request waits for a TICK; contention lengthens the hold
 * time, quiet shortens it (gfs2's gl_hold_time).
 */
static void local_demote(struct glock_engine *eng, struct glock *gl, enum glock_mode target)
{
	uint64_t due = gl->local_granted_us + gl->hold_us;
	struct glock_output out = { .kind = GLOCK_OUT_DEMOTE, .name = &gl->name, .mode = target };

	if (eng->now_us < due) {
		if (!gl->local_demote_delayed &&
		    reserve((void **)&eng->delayed, &eng->cap_delayed, eng->n_delayed + 1,
			    sizeof(*eng->delayed)) == 0)
			eng->delayed[eng->n_delayed++] = gl;
		else if (!gl->local_demote_delayed)
			goto send_now; /* no memory to wait: demote at once */
		gl->hold_us += eng->cfg.hold_incr_us;
		if (gl->hold_us > eng->cfg.hold_max_us)
			gl->hold_us = eng->cfg.hold_max_us;
		gl->local_demote_delayed = true;
		gl->local_demote_target = target;
		gl->local_demote_due_us = due;
		return;
	}
	if (gl->hold_us >= eng->cfg.hold_min_us + eng->cfg.hold_decr_us)
		gl->hold_us -= eng->cfg.hold_decr_us;
	else
		gl->hold_us = eng->cfg.hold_min_us;
send_now:
	delay_cancel(eng, gl);
	emit(eng, &out);
}

/* ---- grant rules ---- */

static struct holder *holder_find(struct glock *gl, uint32_t node)
{
	size_t i;

	for (i = 0; i < gl->n_holders; i++)
		if (gl->holders[i].node == node)
			return &gl->holders[i];
	return NULL;
}

static struct waiter *waiter_find_node(struct glock *gl, uint32_t node)
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

/* May node hold mode next to every other grant, live and expired? */
static bool compatible_with_holders(const struct glock_engine *eng, const struct glock *gl,
				    uint32_t node, enum glock_mode mode, uint32_t flags)
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

static void holder_insert(struct glock *gl, uint32_t node, enum glock_mode mode, uint32_t flags)
{
	size_t i = gl->n_holders;

	while (i > 0 && gl->holders[i - 1].node > node) {
		gl->holders[i] = gl->holders[i - 1];
		i--;
	}
	gl->holders[i] = (struct holder){ .node = node, .mode = mode, .flags = flags };
	gl->n_holders++;
}

static void holder_remove(struct glock *gl, struct holder *h)
{
	size_t i = (size_t)(h - gl->holders);

	memmove(&gl->holders[i], &gl->holders[i + 1], (gl->n_holders - i - 1) * sizeof(*h));
	gl->n_holders--;
}

static void waiter_remove(struct glock *gl, size_t i)
{
	memmove(&gl->waiters[i], &gl->waiters[i + 1],
		(gl->n_waiters - i - 1) * sizeof(gl->waiters[0]));
	gl->n_waiters--;
}

static void waiter_insert(struct glock *gl, const struct waiter *w)
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
static void grant(struct glock_engine *eng, struct glock *gl, uint32_t node, uint64_t req_id,
		  enum glock_mode mode, uint32_t flags)
{
	struct holder *h = holder_find(gl, node);

	if (h) {
		h->mode = mode;
		h->flags = flags;
		h->demote_sent = false;
		h->demote_target = GLOCK_MODE_UN;
	} else {
		holder_insert(gl, node, mode, flags);
	}
	if (node == eng->cfg.local_node)
		emit_grant(eng, gl, req_id, mode);
}

/* What a holder blocking a request for mode is asked to give up to. */
static enum glock_mode demote_target_for(enum glock_mode wanted)
{
	return wanted == GLOCK_MODE_EX ? GLOCK_MODE_UN : wanted;
}

/* Asks every holder that blocks (node, mode) to demote, once per target. */
static void send_demotes(struct glock_engine *eng, struct glock *gl, uint32_t node,
			 enum glock_mode mode)
{
	enum glock_mode target = demote_target_for(mode);
	size_t i;

	for (i = 0; i < gl->n_holders; i++) {
		struct holder *h = &gl->holders[i];
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
		if (h->node == eng->cfg.local_node)
			local_demote(eng, gl, t);
	}
}

/*
 * A demoted holder whose conversion came to nothing (cancelled, failed as
 * TRY, or refused as a deadlock) still blocks, but its demote is marked
 * sent: nobody would ask it again and the waiter would starve.  Ask again;
 * after a deadlock ask for UN, since the same conversion would deadlock
 * again.
 */
static void glock_process(struct glock_engine *eng, struct glock *gl);

static void demote_again(struct glock_engine *eng, struct glock *gl, uint32_t node,
			 bool release)
{
	struct holder *h = holder_find(gl, node);

	if (!h || !h->demote_sent)
		return;
	if (release && h->demote_target != GLOCK_MODE_UN) {
		h->demote_target = GLOCK_MODE_UN;
		if (h->node == eng->cfg.local_node)
			local_demote(eng, gl, GLOCK_MODE_UN);
		return;
	}
	h->demote_sent = false;
	glock_process(eng, gl);
}

/*
 * Grants what the queue allows: every pending conversion that fits (as the
 * DLM grants conversions in any order), then new locks strictly from the
 * head, and only once no conversion waits.  Then demotes whoever blocks.
 */
static void glock_process(struct glock_engine *eng, struct glock *gl)
{
	size_t i;
	bool progress = true;

	if (!eng->quorate)
		return;
	while (progress) {
		progress = false;
		for (i = 0; i < gl->n_waiters && gl->waiters[i].convert; i++) {
			struct waiter w = gl->waiters[i];

			if (compatible_with_holders(eng, gl, w.node, w.mode, w.flags)) {
				waiter_remove(gl, i);
				grant(eng, gl, w.node, w.req_id, w.mode, w.flags);
				progress = true;
				break;
			}
		}
	}
	while (gl->n_waiters && !gl->waiters[0].convert) {
		struct waiter w = gl->waiters[0];

		if (!compatible_with_holders(eng, gl, w.node, w.mode, w.flags))
			break;
		waiter_remove(gl, 0);
		grant(eng, gl, w.node, w.req_id, w.mode, w.flags);
	}
	for (i = 0; i < gl->n_waiters; i++) {
		send_demotes(eng, gl, gl->waiters[i].node, gl->waiters[i].mode);
		if (!gl->waiters[i].convert)
			break; /* only the head of the lock queue asks */
	}
}

static int process_all(struct glock_engine *eng)
{
	size_t n, i;
	int err;
	struct glock **v = glocks_sorted(eng, &n, &err);

	if (err)
		return err;
	for (i = 0; i < n; i++) {
		glock_process(eng, v[i]);
		glock_put_if_idle(eng, v[i]);
	}
	free(v);
	return 0;
}

/* ---- ops ---- */

static bool mode_requestable(enum glock_mode mode)
{
	return mode == GLOCK_MODE_SH || mode == GLOCK_MODE_DF || mode == GLOCK_MODE_EX;
}

static int op_validate(const struct glock_engine *eng, const struct glock_op *op)
{
	if (!glock_name_valid(&op->name) || (op->flags & ~GLOCK_FLAGS_ALL))
		return -EINVAL;
	switch (op->kind) {
	case GLOCK_OP_LOCK:
	case GLOCK_OP_CONVERT:
		if (!mode_requestable(op->mode))
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
	if (op->node == GLOCK_NODEID_NONE || member_index(eng, op->node) < 0)
		return -ESRCH;
	return 0;
}

/* A try request that cannot be granted now; TRY_1CB still nudges the holders. */
static bool try_fails(struct glock_engine *eng, struct glock *gl, const struct glock_op *op)
{
	if (!(op->flags & (GLOCK_FLAG_TRY | GLOCK_FLAG_TRY_1CB)))
		return false;
	if (op->flags & GLOCK_FLAG_TRY_1CB)
		send_demotes(eng, gl, op->node, op->mode);
	emit_deny(eng, &gl->name, op->node, op->req_id, GLOCK_DENY_TRYFAIL);
	return true;
}

static int op_lock(struct glock_engine *eng, const struct glock_op *op)
{
	struct glock *gl = glock_find(eng, &op->name);
	struct waiter w = {
		.node = op->node, .req_id = op->req_id, .mode = op->mode,
		.flags = op->flags, .convert = false,
	};
	bool head;

	if (gl && (holder_find(gl, op->node) || waiter_find_node(gl, op->node)))
		return -EEXIST;
	if (!gl) {
		gl = glock_create(eng, &op->name);
		if (!gl)
			return -ENOMEM;
	}
	/* Every waiter may become a holder: keep room for all of them. */
	if (RESERVE(gl, holders, gl->n_holders + gl->n_waiters + 1) ||
	    RESERVE(gl, waiters, gl->n_waiters + 1)) {
		glock_put_if_idle(eng, gl);
		return -ENOMEM;
	}
	head = gl->n_waiters == 0 ||
	       ((op->flags & GLOCK_FLAG_PRIORITY) && converts_pending(gl) == 0);
	if (eng->quorate && head &&
	    compatible_with_holders(eng, gl, op->node, op->mode, op->flags)) {
		grant(eng, gl, op->node, op->req_id, op->mode, op->flags);
		return 0;
	}
	if (try_fails(eng, gl, op)) {
		glock_put_if_idle(eng, gl);
		return 0;
	}
	waiter_insert(gl, &w);
	glock_process(eng, gl);
	return 0;
}

/* Would queueing this conversion wait forever on a conversion queued before it? */
static bool conversion_deadlocks(struct glock *gl, const struct holder *self, enum glock_mode want)
{
	size_t i;

	for (i = 0; i < gl->n_waiters && gl->waiters[i].convert; i++) {
		const struct waiter *w = &gl->waiters[i];
		const struct holder *other = holder_find(gl, w->node);

		if (other && !mode_compat[self->mode][w->mode] && !mode_compat[other->mode][want])
			return true;
	}
	return false;
}

static int op_convert(struct glock_engine *eng, const struct glock_op *op)
{
	struct glock *gl = glock_find(eng, &op->name);
	struct holder *h = gl ? holder_find(gl, op->node) : NULL;
	struct waiter w = {
		.node = op->node, .req_id = op->req_id, .mode = op->mode,
		.flags = op->flags, .convert = true,
	};

	if (!h)
		return -ENOENT;
	if (waiter_find_node(gl, op->node))
		return -EBUSY;
	if (h->mode == op->mode)
		return -EALREADY;
	if (op->lvb_valid && h->mode != GLOCK_MODE_EX)
		return -EINVAL;
	if (RESERVE(gl, waiters, gl->n_waiters + 1))
		return -ENOMEM;
	if (op->lvb_valid)
		memcpy(gl->lvb, op->lvb, GLOCK_LVB_LEN);
	if (eng->quorate && compatible_with_holders(eng, gl, op->node, op->mode, op->flags)) {
		grant(eng, gl, op->node, op->req_id, op->mode, op->flags);
		glock_process(eng, gl); /* a down-conversion may unblock others */
		return 0;
	}
	if (try_fails(eng, gl, op)) {
		demote_again(eng, gl, op->node, false);
		return 0;
	}
	if (conversion_deadlocks(gl, h, op->mode)) {
		/*
		 * Problem scenario: A and B hold SH, a DF waiter demotes both
		 * to DF; A's SH->DF queues behind B's SH, B's SH->DF deadlocks
		 * with A's.  B must give the glock up instead.
		 */
		emit_deny(eng, &gl->name, op->node, op->req_id, GLOCK_DENY_DEADLOCK);
		demote_again(eng, gl, op->node, true);
		return 0;
	}
	waiter_insert(gl, &w);
	glock_process(eng, gl);
	return 0;
}

static int op_release(struct glock_engine *eng, const struct glock_op *op)
{
	struct glock *gl = glock_find(eng, &op->name);
	struct holder *h = gl ? holder_find(gl, op->node) : NULL;

	if (!h)
		return -ENOENT;
	if (waiter_find_node(gl, op->node))
		return -EBUSY;
	if (op->lvb_valid && h->mode != GLOCK_MODE_EX)
		return -EINVAL;
	if (op->lvb_valid)
		memcpy(gl->lvb, op->lvb, GLOCK_LVB_LEN);
	holder_remove(gl, h);
	if (op->node == eng->cfg.local_node)
		delay_cancel(eng, gl);
	glock_process(eng, gl);
	glock_put_if_idle(eng, gl);
	return 0;
}

static int op_cancel(struct glock_engine *eng, const struct glock_op *op)
{
	struct glock *gl = glock_find(eng, &op->name);
	size_t i;

	for (i = 0; gl && i < gl->n_waiters; i++) {
		if (gl->waiters[i].node == op->node && gl->waiters[i].req_id == op->req_id) {
			bool convert = gl->waiters[i].convert;

			waiter_remove(gl, i);
			emit_deny(eng, &gl->name, op->node, op->req_id, GLOCK_DENY_CANCELLED);
			if (convert)
				demote_again(eng, gl, op->node, false);
			glock_process(eng, gl);
			glock_put_if_idle(eng, gl);
			return 0;
		}
	}
	return -ENOENT;
}

static int apply_op(struct glock_engine *eng, const struct glock_op *op)
{
	switch (op->kind) {
	case GLOCK_OP_LOCK: return op_lock(eng, op);
	case GLOCK_OP_CONVERT: return op_convert(eng, op);
	case GLOCK_OP_RELEASE: return op_release(eng, op);
	case GLOCK_OP_CANCEL: return op_cancel(eng, op);
	}
	return -EINVAL;
}

/* ---- reset, membership, quorum, sync ---- */

/*
 * A node may use its grants only while its partition is quorate: another
 * partition may be granting the same glocks (DESIGN §3), so leaving quorum
 * tells the local node to suspend.
 */
static void set_quorate(struct glock_engine *eng, bool quorate)
{
	if (eng->quorate == quorate)
		return;
	eng->quorate = quorate;
	emit_simple(eng, quorate ? GLOCK_OUT_QUORATE : GLOCK_OUT_INQUORATE, eng->cfg.local_node);
}


static void table_clear(struct glock_engine *eng, bool report_local)
{
	size_t n, i, j;
	int err;
	struct glock **v = glocks_sorted(eng, &n, &err);

	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];
		struct holder *h = holder_find(gl, eng->cfg.local_node);
		struct waiter *w = waiter_find_node(gl, eng->cfg.local_node);

		if (report_local && h) {
			struct glock_output out = {
				.kind = GLOCK_OUT_LOST, .name = &gl->name, .mode = h->mode,
			};
			emit(eng, &out);
		}
		if (report_local && w)
			emit_deny(eng, &gl->name, w->node, w->req_id, GLOCK_DENY_LOST);
	}
	free(v);
	/* Free in bucket order: nothing is emitted, so the order does not matter. */
	for (j = 0; j < eng->n_buckets; j++) {
		struct glock *gl = eng->buckets[j], *next;

		for (; gl; gl = next) {
			next = gl->hash_next;
			glock_destroy(gl);
		}
		eng->buckets[j] = NULL;
	}
	eng->n_glocks = 0;
	eng->n_delayed = 0;
	free(eng->departed);
	eng->departed = NULL;
	eng->n_departed = 0;
	eng->cap_departed = 0;
}

static void buffer_clear(struct glock_engine *eng)
{
	eng->n_buffered = 0;
	eng->snapshot_begun = false;
	eng->snapshot_records = 0;
	eng->snapshot_failed = false;
}

/* This node (and, the stream being shared, every member) drops its table. */
static void unsync_all(struct glock_engine *eng)
{
	bool was_synced = glock_engine_synced(eng);
	size_t i;

	table_clear(eng, was_synced);
	for (i = 0; i < eng->n_members; i++)
		eng->member_synced[i] = false;
	eng->reset_since_confchg = true;
	if (was_synced)
		emit_simple(eng, GLOCK_OUT_UNSYNCED, eng->cfg.local_node);
}

static int uint32_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool sorted_contains(const uint32_t *v, size_t n, uint32_t x)
{
	return bsearch(&x, v, n, sizeof(*v), uint32_compare) != NULL;
}

/*
 * Reserves what the departures in next[] will need: a departed entry per
 * node and an expired slot per grant.  Nothing changes if this fails.
 */
static int departures_reserve(struct glock_engine *eng, const uint32_t *next, size_t n,
			      struct glock **v, size_t n_glocks)
{
	size_t i, k, leaving = 0;

	for (i = 0; i < eng->n_members; i++)
		if (!sorted_contains(next, n, eng->members[i]))
			leaving++;
	if (!leaving)
		return 0;
	for (i = 0; i < n_glocks; i++) {
		size_t need = v[i]->n_expired;

		for (k = 0; k < v[i]->n_holders; k++)
			if (!sorted_contains(next, n, v[i]->holders[k].node))
				need++;
		if (RESERVE(v[i], expired, need))
			return -ENOMEM;
	}
	if (eng->n_departed + leaving > eng->cap_departed) {
		size_t cap = eng->n_departed + leaving;
		struct departed *d = realloc(eng->departed, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		eng->departed = d;
		eng->cap_departed = cap;
	}
	return 0;
}

/* Moves a departed node's grants to the expired lists, drops its waiters. */
static void depart_node(struct glock_engine *eng, uint32_t node, struct glock **v, size_t n)
{
	bool held = false;
	size_t i;
	struct departed *d = departed_find(eng, node);

	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];
		struct holder *h = holder_find(gl, node);
		size_t k;

		for (k = 0; k < gl->n_waiters; k++) {
			if (gl->waiters[k].node == node) {
				waiter_remove(gl, k);
				break;
			}
		}
		if (!h)
			continue;
		/*
		 * Appended after any expired grant of an earlier incarnation of
		 * the same node, which keeps its own fenced state.
		 */
		k = gl->n_expired;
		while (k > 0 && gl->expired[k - 1].node > node) {
			gl->expired[k] = gl->expired[k - 1];
			k--;
		}
		gl->expired[k] = *h;
		gl->expired[k].fenced = false;
		gl->expired[k].demote_sent = false;
		gl->expired[k].demote_target = GLOCK_MODE_UN;
		gl->n_expired++;
		holder_remove(gl, h);
		held = true;
	}
	if (!held)
		return;
	if (!d) {
		size_t j = eng->n_departed;

		while (j > 0 && eng->departed[j - 1].node > node) {
			eng->departed[j] = eng->departed[j - 1];
			j--;
		}
		eng->departed[j] = (struct departed){ .node = node, .fenced = false };
		eng->n_departed++;
	} else {
		d->fenced = false; /* failed again holding new grants: fence again */
	}
	emit_simple(eng, GLOCK_OUT_NEED_FENCE, node);
}

/* FNV-1a over the sorted member list; never 0 for a non-empty list. */
static uint64_t config_hash(const uint32_t *members, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		for (b = 0; b < 4; b++)
			h = (h ^ ((members[i] >> (8 * b)) & 0xff)) * 1099511628211ull;
	return h ? h : 1;
}

static int apply_confchg(struct glock_engine *eng, const struct glock_input *in)
{
	uint32_t next[GLOCK_NODES_MAX];
	bool next_synced[GLOCK_NODES_MAX] = { false };
	bool next_joined[GLOCK_NODES_MAX] = { false };
	size_t n = in->u.confchg.n_members, i, n_glocks = 0;
	bool departures = false, reset;
	struct glock **v = NULL;
	int err = 0;

	if (n == 0 || n > GLOCK_NODES_MAX || !in->u.confchg.members)
		return -EINVAL;
	memcpy(next, in->u.confchg.members, n * sizeof(*next));
	qsort(next, n, sizeof(*next), uint32_compare);
	for (i = 0; i < n; i++)
		if (next[i] == GLOCK_NODEID_NONE || (i && next[i] == next[i - 1]))
			return -EINVAL;
	for (i = 0; i < eng->n_members; i++)
		if (!sorted_contains(next, n, eng->members[i]))
			departures = true;

	/* Rule 3 of DESIGN §3: unconfirmed since a departure means out of sync. */
	reset = glock_engine_synced(eng) && !eng->confirmed;
	if (!glock_engine_synced(eng))
		table_clear(eng, false); /* a snapshot cut short: nothing of it is valid */
	if (!reset) {
		v = glocks_sorted(eng, &n_glocks, &err);
		if (!err)
			err = departures_reserve(eng, next, n, v, n_glocks);
		if (err) {
			free(v);
			return err;
		}
	} else {
		unsync_all(eng);
	}
	for (i = 0; i < eng->n_members; i++)
		if (!sorted_contains(next, n, eng->members[i]))
			depart_node(eng, eng->members[i], v, n_glocks);
	for (i = 0; i < n_glocks; i++)
		glock_put_if_idle(eng, v[i]);
	free(v);

	for (i = 0; i < n; i++) {
		int old = member_index(eng, next[i]);

		next_joined[i] = old < 0;
		next_synced[i] = old >= 0 && eng->member_synced[old];
	}
	memcpy(eng->members, next, n * sizeof(*next));
	eng->config_id = config_hash(next, n);
	memcpy(eng->member_synced, next_synced, sizeof(next_synced));
	memcpy(eng->member_joined, next_joined, sizeof(next_joined));
	memset(eng->member_hello, 0, sizeof(eng->member_hello));
	eng->n_members = n;
	if (departures) {
		set_quorate(eng, false);
		eng->confirmed = false;
	}
	eng->quorum_in_config = false;
	eng->reset_since_confchg = false;
	eng->sync_phase = SYNC_COLLECTING;
	eng->donor = GLOCK_NODEID_NONE;
	buffer_clear(eng);
	return 0;
}

static void mark_all_synced(struct glock_engine *eng)
{
	bool was = glock_engine_synced(eng);
	size_t i;

	for (i = 0; i < eng->n_members; i++)
		eng->member_synced[i] = true;
	eng->sync_phase = SYNC_DONE;
	if (!was)
		emit_simple(eng, GLOCK_OUT_SYNCED, eng->cfg.local_node);
}

/* The sync point: every HELLO in and quorate.  Same place on every member. */
static void sync_check(struct glock_engine *eng)
{
	size_t i;

	/*
	 * A joiner cannot know the quorum state before this configuration, so
	 * the sync point waits for a verdict delivered inside it: every member
	 * then sees the sync point at the same place.
	 */
	if (eng->sync_phase != SYNC_COLLECTING || !eng->quorate || !eng->quorum_in_config)
		return;
	for (i = 0; i < eng->n_members; i++)
		if (!eng->member_hello[i])
			return;
	for (i = 0; i < eng->n_members; i++)
		if (eng->member_synced[i])
			break;
	if (i == eng->n_members) {
		mark_all_synced(eng); /* nobody has a table: start empty */
		return;
	}
	eng->donor = eng->members[i];
	for (i = 0; i < eng->n_members; i++)
		if (!eng->member_synced[i])
			break;
	if (i == eng->n_members) {
		eng->sync_phase = SYNC_DONE; /* everyone has it already */
		return;
	}
	eng->sync_phase = SYNC_TRANSFER;
	buffer_clear(eng);
	if (eng->donor == eng->cfg.local_node)
		emit_simple(eng, GLOCK_OUT_SEND_SNAPSHOT, eng->donor);
}

static int apply_hello(struct glock_engine *eng, const struct glock_input *in)
{
	int idx = member_index(eng, in->u.hello.node);

	if (in->u.hello.node == GLOCK_NODEID_NONE || idx < 0)
		return -ESRCH;
	if (in->u.hello.config_id != eng->config_id)
		return -ESTALE;
	if (eng->member_hello[idx])
		return -EALREADY;
	eng->member_hello[idx] = true;
	/* Only a newcomer's own word counts: old members' state is known here. */
	if (eng->member_joined[idx])
		eng->member_synced[idx] = in->u.hello.synced && !eng->reset_since_confchg;
	sync_check(eng);
	return 0;
}

static int apply_quorum(struct glock_engine *eng, const struct glock_input *in)
{
	int idx = member_index(eng, in->u.quorum.from);

	if (in->u.quorum.from == GLOCK_NODEID_NONE || idx < 0)
		return -ESRCH;
	if (in->u.quorum.config_id != eng->config_id)
		return -ESTALE; /* a verdict on another membership says nothing here */
	if (!in->u.quorum.quorate) {
		/* A newcomer's votequorum may lag; only a synced member can sink us. */
		if (!eng->member_synced[idx])
			return 0;
		set_quorate(eng, false);
		/* Everyone here dropped its table: a later QUORUM{true} starts afresh. */
		eng->sync_phase = SYNC_COLLECTING;
		buffer_clear(eng);
		unsync_all(eng);
		return 0;
	}
	set_quorate(eng, true);
	eng->confirmed = true;
	eng->quorum_in_config = true;
	sync_check(eng);
	if (glock_engine_synced(eng))
		return process_all(eng);
	return 0;
}

static int apply_fenced(struct glock_engine *eng, const struct glock_input *in)
{
	struct departed *d = departed_find(eng, in->u.departed.node);

	if (!d)
		return -ENOENT;
	size_t n, i, k;
	int err;
	struct glock **v = glocks_sorted(eng, &n, &err);

	if (err)
		return err;
	/* A node back in the membership may be fenced: its old grants are. */
	d->fenced = true;
	for (i = 0; i < n; i++)
		for (k = 0; k < v[i]->n_expired; k++)
			if (v[i]->expired[k].node == d->node)
				v[i]->expired[k].fenced = true;
	for (i = 0; i < n; i++)
		glock_process(eng, v[i]);
	free(v);
	return 0;
}

static int apply_recovery_done(struct glock_engine *eng, const struct glock_input *in)
{
	struct departed *d = departed_find(eng, in->u.departed.node);
	size_t n, i, k;
	int err;
	struct glock **v;

	if (!d)
		return -ENOENT;
	if (!d->fenced)
		return -EBUSY;
	v = glocks_sorted(eng, &n, &err);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];

		for (k = 0; k < gl->n_expired;) {
			if (gl->expired[k].node == d->node) {
				memmove(&gl->expired[k], &gl->expired[k + 1],
					(gl->n_expired - k - 1) * sizeof(gl->expired[0]));
				gl->n_expired--;
			} else {
				k++;
			}
		}
	}
	k = (size_t)(d - eng->departed);
	memmove(d, d + 1, (eng->n_departed - k - 1) * sizeof(*d));
	eng->n_departed--;
	for (i = 0; i < n; i++) {
		glock_process(eng, v[i]);
		glock_put_if_idle(eng, v[i]);
	}
	free(v);
	return 0;
}

/* Inputs that change the table: applied when synced, buffered during a transfer. */
static int apply_table_input(struct glock_engine *eng, const struct glock_input *in)
{
	switch (in->kind) {
	case GLOCK_IN_OP:
		return apply_op(eng, &in->u.op);
	case GLOCK_IN_FENCED:
		return apply_fenced(eng, in);
	case GLOCK_IN_RECOVERY_DONE:
		return apply_recovery_done(eng, in);
	default:
		return -EINVAL;
	}
}

/* ---- snapshot ---- */

static bool holder_recs_valid(const struct glock_holder_rec *v, size_t n, bool strictly)
{
	size_t i;

	if (n > GLOCK_EXPIRED_MAX || (n && !v))
		return false;
	for (i = 0; i < n; i++) {
		if (v[i].node == GLOCK_NODEID_NONE || !mode_requestable(v[i].mode) ||
		    (unsigned int)v[i].demote_target >= GLOCK_MODE_COUNT ||
		    (v[i].flags & ~GLOCK_FLAGS_ALL))
			return false;
		if (i && (v[i].node < v[i - 1].node || (strictly && v[i].node == v[i - 1].node)))
			return false;
	}
	return true;
}

static bool record_valid(const struct glock_record *r)
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

		if (w->node == GLOCK_NODEID_NONE || !mode_requestable(w->mode) ||
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

static int snapshot_load_record(struct glock_engine *eng, const struct glock_record *r)
{
	struct glock *gl;
	size_t i;

	if (glock_find(eng, &r->name))
		return -EINVAL;
	gl = glock_create(eng, &r->name);
	if (!gl)
		return -ENOMEM;
	if (RESERVE(gl, holders, r->n_holders + r->n_waiters) || RESERVE(gl, expired, r->n_expired) ||
	    RESERVE(gl, waiters, r->n_waiters)) {
		glock_unlink(eng, gl);
		return -ENOMEM;
	}
	memcpy(gl->lvb, r->lvb, GLOCK_LVB_LEN);
	for (i = 0; i < r->n_holders; i++)
		gl->holders[i] = (struct holder){
			.node = r->holders[i].node, .mode = r->holders[i].mode,
			.flags = r->holders[i].flags,
			.demote_target = r->holders[i].demote_target,
			.demote_sent = r->holders[i].demote_sent,
		};
	gl->n_holders = r->n_holders;
	for (i = 0; i < r->n_expired; i++)
		gl->expired[i] = (struct holder){
			.node = r->expired[i].node, .mode = r->expired[i].mode,
			.flags = r->expired[i].flags, .fenced = r->expired[i].fenced,
		};
	gl->n_expired = r->n_expired;
	for (i = 0; i < r->n_waiters; i++)
		gl->waiters[i] = (struct waiter){
			.node = r->waiters[i].node, .req_id = r->waiters[i].req_id,
			.mode = r->waiters[i].mode, .flags = r->waiters[i].flags,
			.convert = r->waiters[i].convert,
		};
	gl->n_waiters = r->n_waiters;
	return 0;
}

static bool awaiting_snapshot(const struct glock_engine *eng)
{
	return eng->sync_phase == SYNC_TRANSFER && !glock_engine_synced(eng);
}

static int apply_snapshot(struct glock_engine *eng, const struct glock_input *in)
{
	uint32_t donor;
	size_t i;

	switch (in->kind) {
	case GLOCK_IN_SNAPSHOT_BEGIN:
		donor = in->u.snapshot_begin.donor;
		break;
	case GLOCK_IN_SNAPSHOT_RECORD:
		donor = in->u.snapshot_record.donor;
		break;
	default:
		donor = in->u.snapshot_end.donor;
		break;
	}
	if (eng->sync_phase != SYNC_TRANSFER || donor != eng->donor)
		return -EPROTO;
	if ((in->kind == GLOCK_IN_SNAPSHOT_BEGIN) == eng->snapshot_begun)
		return -EPROTO;

	if (in->kind == GLOCK_IN_SNAPSHOT_BEGIN) {
		size_t n = in->u.snapshot_begin.n_departed;
		const struct glock_departed_rec *d = in->u.snapshot_begin.departed;

		if (n > 4 * GLOCK_NODES_MAX || (n && !d))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (d[i].node == GLOCK_NODEID_NONE || (i && d[i].node <= d[i - 1].node))
				return -EINVAL;
		eng->snapshot_begun = true;
		eng->snapshot_records = 0;
		if (!awaiting_snapshot(eng))
			return 0;
		table_clear(eng, false);
		if (n) {
			eng->departed = malloc(n * sizeof(*eng->departed));
			if (!eng->departed) {
				eng->snapshot_failed = true;
				return -ENOMEM;
			}
			eng->cap_departed = n;
			for (i = 0; i < n; i++)
				eng->departed[i] = (struct departed){ d[i].node, d[i].fenced };
			eng->n_departed = n;
		}
		return 0;
	}
	if (in->kind == GLOCK_IN_SNAPSHOT_RECORD) {
		int err;

		const struct glock_record *r = in->u.snapshot_record.record;

		if (!record_valid(r) || (eng->snapshot_records &&
					 glock_name_compare(&eng->snapshot_last, &r->name) >= 0)) {
			eng->snapshot_failed = true;
			return -EINVAL;
		}
		eng->snapshot_last = r->name;
		eng->snapshot_records++;
		if (!awaiting_snapshot(eng))
			return 0;
		err = snapshot_load_record(eng, r);
		if (err)
			eng->snapshot_failed = true;
		return err;
	}

	/* SNAPSHOT_END */
	if (eng->snapshot_failed || in->u.snapshot_end.n_records != eng->snapshot_records) {
		/* Everyone agrees it failed; the next configuration change retries. */
		if (awaiting_snapshot(eng))
			table_clear(eng, false);
		eng->sync_phase = SYNC_DONE;
		buffer_clear(eng);
		return -EPROTO;
	}
	if (awaiting_snapshot(eng)) {
		size_t n = eng->n_buffered;

		mark_all_synced(eng);
		for (i = 0; i < n; i++)
			(void)apply_table_input(eng, &eng->buffered[i]);
	} else {
		mark_all_synced(eng);
	}
	buffer_clear(eng);
	return 0;
}

/* ---- the entry point ---- */

/* OP, FENCED and RECOVERY_DONE carry no pointers, so a copy is enough. */
static int buffer_input(struct glock_engine *eng, const struct glock_input *in)
{
	if (eng->n_buffered == eng->cap_buffered) {
		size_t cap = eng->cap_buffered ? eng->cap_buffered * 2 : 64;
		struct glock_input *b = realloc(eng->buffered, cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		eng->buffered = b;
		eng->cap_buffered = cap;
	}
	eng->buffered[eng->n_buffered++] = *in;
	return 0;
}

/* Sends the local demotes whose hold time has passed, in name order. */
static int apply_tick(struct glock_engine *eng, uint64_t now_us)
{
	struct glock **due;
	size_t i, n = 0;

	if (now_us < eng->now_us)
		return -EINVAL;
	eng->now_us = now_us;
	if (!eng->n_delayed)
		return 0;
	due = malloc(eng->n_delayed * sizeof(*due));
	if (!due)
		return -ENOMEM;
	for (i = 0; i < eng->n_delayed; i++)
		if (now_us >= eng->delayed[i]->local_demote_due_us)
			due[n++] = eng->delayed[i];
	qsort(due, n, sizeof(*due), glock_ptr_compare);
	for (i = 0; i < n; i++) {
		struct glock *gl = due[i];
		struct glock_output out = {
			.kind = GLOCK_OUT_DEMOTE, .name = &gl->name, .mode = gl->local_demote_target,
		};

		delay_cancel(eng, gl);
		if (holder_find(gl, eng->cfg.local_node))
			emit(eng, &out);
	}
	free(due);
	return 0;
}

int glock_engine_apply(struct glock_engine *eng, const struct glock_input *in)
{
	int err;

	if (!eng || !in)
		return -EINVAL;
	switch (in->kind) {
	case GLOCK_IN_OP:
		err = op_validate(eng, &in->u.op);
		if (err)
			return err;
		goto table_input;
	case GLOCK_IN_FENCED:
	case GLOCK_IN_RECOVERY_DONE:
		if (in->u.departed.node == GLOCK_NODEID_NONE)
			return -EINVAL;
table_input:
		if (glock_engine_synced(eng))
			return apply_table_input(eng, in);
		if (awaiting_snapshot(eng))
			return buffer_input(eng, in);
		return 0; /* not ours to judge: a snapshot will carry its effect */
	case GLOCK_IN_CONFCHG:
		return apply_confchg(eng, in);
	case GLOCK_IN_QUORUM:
		return apply_quorum(eng, in);
	case GLOCK_IN_HELLO:
		return apply_hello(eng, in);
	case GLOCK_IN_SNAPSHOT_BEGIN:
	case GLOCK_IN_SNAPSHOT_RECORD:
	case GLOCK_IN_SNAPSHOT_END:
		return apply_snapshot(eng, in);
	case GLOCK_IN_TICK:
		return apply_tick(eng, in->u.tick.now_us);
	}
	return -EINVAL;
}

/* ---- queries ---- */

bool glock_engine_synced(const struct glock_engine *eng)
{
	int idx = member_index(eng, eng->cfg.local_node);

	return idx >= 0 && eng->member_synced[idx];
}

bool glock_engine_quorate(const struct glock_engine *eng)
{
	return eng->quorate;
}

bool glock_engine_member_synced(const struct glock_engine *eng, uint32_t node)
{
	int idx = member_index(eng, node);

	return idx >= 0 && eng->member_synced[idx];
}

bool glock_engine_next_due(const struct glock_engine *eng, uint64_t *ret_due_us)
{
	uint64_t due = UINT64_MAX;
	size_t i;

	for (i = 0; i < eng->n_delayed; i++)
		if (eng->delayed[i]->local_demote_due_us < due)
			due = eng->delayed[i]->local_demote_due_us;
	if (!eng->n_delayed)
		return false;
	*ret_due_us = due;
	return true;
}

uint64_t glock_engine_config_id(const struct glock_engine *eng)
{
	return eng->config_id;
}

size_t glock_engine_glock_count(const struct glock_engine *eng)
{
	return eng->n_glocks;
}

size_t glock_engine_members(const struct glock_engine *eng, const uint32_t **members)
{
	*members = eng->members;
	return eng->n_members;
}

size_t glock_engine_departed(const struct glock_engine *eng, struct glock_departed_rec *out,
			     size_t max)
{
	size_t i;

	for (i = 0; i < eng->n_departed && i < max; i++)
		out[i] = (struct glock_departed_rec){ eng->departed[i].node,
						      eng->departed[i].fenced };
	return eng->n_departed;
}

static int record_emit(const struct glock *gl, glock_record_fn fn, void *ctx)
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

int glock_engine_export(const struct glock_engine *eng, glock_record_fn fn, void *ctx)
{
	size_t n, i;
	int err, ret = 0;
	struct glock **v = glocks_sorted(eng, &n, &err);

	if (err)
		return err;
	for (i = 0; i < n && !ret; i++)
		ret = record_emit(v[i], fn, ctx);
	free(v);
	return ret;
}

int glock_engine_lookup(const struct glock_engine *eng, const struct glock_name *name,
			glock_record_fn fn, void *ctx)
{
	const struct glock *gl;

	if (!glock_name_valid(name))
		return -EINVAL;
	gl = glock_find(eng, name);
	if (!gl)
		return -ENOENT;
	return record_emit(gl, fn, ctx);
}

/* ---- life cycle ---- */

struct glock_engine *glock_engine_new(const struct glock_engine_config *cfg,
				      glock_output_fn output, void *ctx)
{
	struct glock_engine *eng;

	if (!cfg || cfg->local_node == GLOCK_NODEID_NONE ||
	    cfg->hold_min_us > cfg->hold_max_us)
		return NULL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return NULL;
	eng->n_buckets = 64;
	eng->buckets = calloc(eng->n_buckets, sizeof(*eng->buckets));
	if (!eng->buckets) {
		free(eng);
		return NULL;
	}
	eng->cfg = *cfg;
	eng->output = output;
	eng->ctx = ctx;
	eng->sync_phase = SYNC_COLLECTING;
	return eng;
}

void glock_engine_free(struct glock_engine *eng)
{
	if (!eng)
		return;
	table_clear(eng, false);
	free(eng->buckets);
	free(eng->buffered);
	free(eng->delayed);
	free(eng);
}
