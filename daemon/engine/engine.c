// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The replicated glock engine: see engine.h and docs/DESIGN.md §2-§3.
 * The grant rules live in table.c, shared with the master path; this file
 * is what replication adds: membership, quorum, sync and snapshots, and the
 * local node's view (only its own answers and demotes are emitted).
 *
 * Every mutation is preceded by validation and by reserving whatever memory
 * it needs, so an input that fails leaves the table exactly as it was.
 */
#include "engine.h"
#include "hold.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct departed {
	uint32_t node;
	bool fenced;
	bool startup; /* absent at a fresh start: holds an unknown set of glocks */
	/* Its grants are not all in this table (startup, or lost with its corosync). */
	bool unknown;
};

enum sync_phase {
	SYNC_COLLECTING, /* waiting for every HELLO and quorum */
	SYNC_TRANSFER,   /* sync point passed, donor's snapshot expected */
	SYNC_DONE,       /* nothing more to do in this configuration */
};

struct glock_engine {
	struct glock_engine_config cfg;
	struct glock__hold_cfg hold_cfg;
	glock_output_fn output;
	void *ctx;

	struct glock__table tbl;

	uint32_t members[GLOCK_NODES_MAX]; /* sorted */
	size_t n_members;
	uint64_t config_id;
	bool member_synced[GLOCK_NODES_MAX];
	bool member_hello[GLOCK_NODES_MAX];
	/*
	 * This node does not know the member's sync state: it joined in the
	 * current configuration, or in an earlier one whose HELLO of it this
	 * node never got.  Its HELLO's word counts.
	 */
	bool member_joined[GLOCK_NODES_MAX];
	/* This node has followed the member's sync state (its HELLO, or a sync point). */
	bool member_known[GLOCK_NODES_MAX];

	struct departed *departed; /* sorted by node */
	size_t n_departed, cap_departed;
	size_t n_startup; /* departed entries with startup set */
	size_t n_unknown; /* departed entries with unknown set: nothing is granted */
	/* The union of this configuration's HELLOs' configured nodes, sorted. */
	uint32_t *configured;
	size_t n_configured;

	bool quorate;
	bool confirmed;          /* QUORUM{true} since the last departure */
	bool departure_seen;     /* a departure was applied here: confirmed is the stream's */
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

/* ---- outputs: the local node's view ---- */

static void emit(struct glock_engine *eng, const struct glock_output *out)
{
	if (eng->output)
		eng->output(eng->ctx, out);
}

static void emit_simple(struct glock_engine *eng, enum glock_output_kind kind, uint32_t node)
{
	struct glock_output out = { .kind = kind, .node = node };

	emit(eng, &out);
}

static void emit_deny(struct glock_engine *eng, const struct glock_name *name, uint32_t node,
		      uint64_t req_id, enum glock_deny_reason reason)
{
	struct glock_output out = {
		.kind = GLOCK_OUT_DENY, .name = name, .req_id = req_id, .reason = reason,
		.node = node,
	};

	if (node == eng->cfg.local_node)
		emit(eng, &out);
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
	if (gl->hold.delayed) {
		gl->hold.delayed = false;
		delayed_forget(eng, gl);
	}
}

/*
 * The local node is asked to demote.  If it got the grant less than the hold
 * time ago, the request waits for a TICK; contention lengthens the hold
 * time, quiet shortens it (gfs2's gl_hold_time).
 */
static void local_demote(struct glock_engine *eng, struct glock *gl, enum glock_mode target)
{
	struct glock_output out = {
		.kind = GLOCK_OUT_DEMOTE, .name = &gl->name, .mode = target,
		.node = eng->cfg.local_node,
	};

	if (glock__hold_early(&gl->hold, eng->now_us)) {
		if (!gl->hold.delayed) {
			if (eng->n_delayed == eng->cap_delayed) {
				size_t cap = eng->cap_delayed ? eng->cap_delayed * 2 : 8;
				struct glock **d = realloc(eng->delayed, cap * sizeof(*d));

				if (!d)
					goto send_now; /* no memory to wait: demote at once */
				eng->delayed = d;
				eng->cap_delayed = cap;
			}
			eng->delayed[eng->n_delayed++] = gl;
		}
		glock__hold_delay(&gl->hold, &eng->hold_cfg, target);
		return;
	}
	glock__hold_relax(&gl->hold, &eng->hold_cfg);
send_now:
	delay_cancel(eng, gl);
	emit(eng, &out);
}

/* ---- the table's ops ---- */

static bool eng_may_grant(void *ctx, const struct glock *gl)
{
	struct glock_engine *eng = ctx;

	(void)gl;
	return eng->quorate && !eng->n_unknown;
}

static void eng_granted(void *ctx, struct glock *gl, uint32_t node, uint64_t req_id,
			enum glock_mode mode)
{
	struct glock_engine *eng = ctx;
	struct glock_output out = {
		.kind = GLOCK_OUT_GRANT, .name = &gl->name, .req_id = req_id,
		.mode = mode, .lvb = gl->lvb, .node = node,
	};

	if (node != eng->cfg.local_node)
		return;
	delay_cancel(eng, gl);
	glock__hold_granted(&gl->hold, eng->now_us);
	emit(eng, &out);
}

static void eng_denied(void *ctx, const struct glock_name *name, uint32_t node, uint64_t req_id,
		       enum glock_deny_reason reason)
{
	emit_deny(ctx, name, node, req_id, reason);
}

static void eng_demote(void *ctx, struct glock *gl, uint32_t node, enum glock_mode target)
{
	struct glock_engine *eng = ctx;

	if (node == eng->cfg.local_node)
		local_demote(eng, gl, target);
}

static void eng_released(void *ctx, struct glock *gl, uint32_t node)
{
	struct glock_engine *eng = ctx;

	if (node == eng->cfg.local_node)
		delay_cancel(eng, gl);
}

static void eng_unlinking(void *ctx, struct glock *gl)
{
	struct glock_engine *eng = ctx;

	if (gl->hold.delayed)
		delayed_forget(eng, gl);
}

static const struct glock__table_ops eng_table_ops = {
	.may_grant = eng_may_grant,
	.granted = eng_granted,
	.denied = eng_denied,
	.demote = eng_demote,
	.released = eng_released,
	.unlinking = eng_unlinking,
};

/* ---- ops ---- */

static int op_validate(const struct glock_engine *eng, const struct glock_op *op)
{
	int err = glock__op_check(op);

	if (err)
		return err;
	if (op->node == GLOCK_NODEID_NONE || member_index(eng, op->node) < 0)
		return -ESRCH;
	return 0;
}

static int apply_op(struct glock_engine *eng, const struct glock_op *op)
{
	return glock__op_apply(&eng->tbl, op);
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
	size_t n, i;
	int err;
	struct glock **v = glock__sorted(&eng->tbl, &n, &err);

	for (i = 0; i < n; i++) {
		struct glock *gl = v[i];
		struct glock__holder *h = glock__holder_of(gl, eng->cfg.local_node);
		struct glock__waiter *w = glock__waiter_of(gl, eng->cfg.local_node);

		if (report_local && h) {
			struct glock_output out = {
				.kind = GLOCK_OUT_LOST, .name = &gl->name, .mode = h->mode,
				.node = eng->cfg.local_node,
			};
			emit(eng, &out);
		}
		if (report_local && w)
			emit_deny(eng, &gl->name, w->node, w->req_id, GLOCK_DENY_LOST);
	}
	free(v);
	glock__table_clear(&eng->tbl);
	eng->n_delayed = 0;
	free(eng->departed);
	eng->departed = NULL;
	eng->n_departed = 0;
	eng->cap_departed = 0;
	eng->n_startup = 0;
	eng->n_unknown = 0;
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
	for (i = 0; i < eng->n_members; i++) {
		eng->member_synced[i] = false;
		eng->member_known[i] = true;
	}
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
	if (!n)
		return false; /* v may be NULL, which bsearch() must not see */
	return bsearch(&x, v, n, sizeof(*v), uint32_compare) != NULL;
}

/*
 * Reserves what the departures in next[] will need: a departed entry per
 * node and an expired slot per grant.  Nothing changes if this fails.
 */
static int departures_reserve(struct glock_engine *eng, const uint32_t *next, size_t n,
			      struct glock **v, size_t n_glocks)
{
	size_t i, leaving = 0;
	int err;

	for (i = 0; i < eng->n_members; i++)
		if (!sorted_contains(next, n, eng->members[i]))
			leaving++;
	if (!leaving)
		return 0;
	err = glock__departures_reserve(&eng->tbl, next, n, v, n_glocks);
	if (err)
		return err;
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
static bool in_list(const uint32_t *v, size_t n, uint32_t node)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		if (v[i] == node)
			return true;
	return false;
}

static void depart_node(struct glock_engine *eng, uint32_t node, struct glock **v, size_t n,
			bool lost)
{
	struct departed *d = departed_find(eng, node);

	if (!glock__depart(&eng->tbl, node, v, n) && !eng->cfg.depart_all && !lost)
		return;
	if (!d) {
		size_t j = eng->n_departed;

		while (j > 0 && eng->departed[j - 1].node > node) {
			eng->departed[j] = eng->departed[j - 1];
			j--;
		}
		eng->departed[j] = (struct departed){ .node = node, .fenced = false };
		d = &eng->departed[j];
		eng->n_departed++;
	} else {
		d->fenced = false; /* failed again holding new grants: fence again */
	}
	/*
	 * Lost with its corosync, it may have granted itself what nobody
	 * here saw, on any glock: nothing is granted until it is fenced and
	 * recovered (as the DLM stops a lockspace until fencing).  The p2p
	 * masters know what they granted and hold placeholders instead.
	 */
	if (lost && !eng->cfg.depart_all && !d->unknown) {
		d->unknown = true;
		eng->n_unknown++;
	}
	emit_simple(eng, GLOCK_OUT_NEED_FENCE, node);
}

/*
 * FNV-1a over the sorted member list, then the incarnations (if any);
 * never 0 for a non-empty list.  Problem scenario (p2p-sim --chaos --nodes
 * 3-8 --seed 2): node 2 restarts, and a member list comes back that was a
 * configuration a moment before; a slow member's HELLO of the earlier one
 * is delivered in the later one.  With the member list alone the ids were
 * equal and the HELLO was taken: the joiner believed that member synced
 * while the others knew it reset since, and waited for a donor that sent
 * nothing.  A restarted glockd is another incarnation (another pid).
 */
static uint64_t config_hash(const uint32_t *members, size_t n, uint64_t incarnations)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		for (b = 0; b < 4; b++)
			h = (h ^ ((members[i] >> (8 * b)) & 0xff)) * 1099511628211ull;
	for (b = 0; incarnations && b < 8; b++)
		h = (h ^ ((incarnations >> (8 * b)) & 0xff)) * 1099511628211ull;
	return h ? h : 1;
}

static int apply_confchg(struct glock_engine *eng, const struct glock_input *in)
{
	uint32_t next[GLOCK_NODES_MAX];
	bool next_synced[GLOCK_NODES_MAX] = { false };
	bool next_joined[GLOCK_NODES_MAX] = { false };
	bool next_known[GLOCK_NODES_MAX] = { false };
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
	/*
	 * Problem scenario (p2p-sim --chaos --nodes 3-8 --seed 2): J, not
	 * synced, learnt from 3's HELLO that 3 was; 2 departed and no
	 * QUORUM{true} followed, so at the next change 3 dropped its table
	 * (rule 3).  J, with no table to drop, kept 3 as synced; later, where
	 * everyone else saw nobody synced and started afresh, J waited for 3's
	 * snapshot for good.  The members J knew synced dropped theirs too.
	 */
	if (!glock_engine_synced(eng) && eng->departure_seen && !eng->confirmed)
		for (i = 0; i < eng->n_members; i++)
			eng->member_synced[i] = false;
	if (!glock_engine_synced(eng))
		table_clear(eng, false); /* a snapshot cut short: nothing of it is valid */
	if (!reset) {
		v = glock__sorted(&eng->tbl, &n_glocks, &err);
		if (!err)
			err = departures_reserve(eng, next, n, v, n_glocks);
		if (err) {
			free(v);
			return err;
		}
	} else {
		unsync_all(eng);
		/*
		 * Problem scenario (p2p-sim): with depart_all a departure is
		 * recorded even with no grants, and unsync_all() freed the
		 * departed list: without room depart_node() writes to NULL.
		 */
		err = departures_reserve(eng, next, n, NULL, 0);
		if (err)
			return err;
	}
	for (i = 0; i < eng->n_members; i++)
		if (!sorted_contains(next, n, eng->members[i]))
			depart_node(eng, eng->members[i], v, n_glocks,
				    in_list(in->u.confchg.lost, in->u.confchg.n_lost,
					    eng->members[i]));
	for (i = 0; i < n_glocks; i++)
		glock__put_if_idle(&eng->tbl, v[i]);
	free(v);

	for (i = 0; i < n; i++) {
		int old = member_index(eng, next[i]);

		/*
		 * Problem scenario (p2p-sim --chaos --nodes 8 --seed 83): J
		 * joins {1..7}; 1's HELLO for it comes after the next change
		 * (3 back: {1..8}).  J took 1 for an old member it knew to be
		 * unsynced and picked another donor than the others, whose
		 * snapshot it never got: J never synced.  A member whose state
		 * J never learnt is a newcomer to J.
		 */
		next_known[i] = old >= 0 && eng->member_known[old];
		next_joined[i] = !next_known[i];
		next_synced[i] = next_known[i] && eng->member_synced[old];
	}
	memcpy(eng->members, next, n * sizeof(*next));
	eng->config_id = config_hash(next, n, in->u.confchg.incarnations);
	memcpy(eng->member_synced, next_synced, sizeof(next_synced));
	memcpy(eng->member_joined, next_joined, sizeof(next_joined));
	memcpy(eng->member_known, next_known, sizeof(next_known));
	memset(eng->member_hello, 0, sizeof(eng->member_hello));
	eng->n_members = n;
	if (departures) {
		set_quorate(eng, false);
		eng->confirmed = false;
		eng->departure_seen = true;
	}
	eng->quorum_in_config = false;
	eng->n_configured = 0;
	eng->reset_since_confchg = false;
	eng->sync_phase = SYNC_COLLECTING;
	eng->donor = GLOCK_NODEID_NONE;
	buffer_clear(eng);
	return 0;
}

/*
 * The configuration's union of configured nodes with a HELLO's merged in
 * (*ret NULL when nothing is new; else the caller installs or frees it).
 */
static int configured_merge(const struct glock_engine *eng, const uint32_t *v, size_t n,
			    uint32_t **ret, size_t *ret_n)
{
	uint32_t *u;
	size_t i, j, k, extra = 0;

	*ret = NULL;
	*ret_n = eng->n_configured;
	for (i = 0; i < n; i++)
		if (!sorted_contains(eng->configured, eng->n_configured, v[i]))
			extra++;
	if (!extra)
		return 0;
	u = malloc((eng->n_configured + extra) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	if (eng->n_configured)
		memcpy(u, eng->configured, eng->n_configured * sizeof(*u));
	k = eng->n_configured;
	for (i = 0; i < n; i++)
		if (!sorted_contains(eng->configured, eng->n_configured, v[i]))
			u[k++] = v[i];
	qsort(u, k, sizeof(*u), uint32_compare);
	for (i = j = 0; i < k; i++) /* v may repeat a node */
		if (!j || u[j - 1] != u[i])
			u[j++] = u[i];
	*ret = u;
	*ret_n = j;
	return 0;
}

/* Room for a startup entry per configured node, so sync_check cannot fail. */
static int departed_reserve_configured(struct glock_engine *eng, size_t n_configured)
{
	size_t cap = eng->n_departed + n_configured;
	struct departed *d;

	if (cap <= eng->cap_departed)
		return 0;
	d = realloc(eng->departed, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	eng->departed = d;
	eng->cap_departed = cap;
	return 0;
}

static void departed_remove(struct glock_engine *eng, struct departed *d)
{
	size_t k = (size_t)(d - eng->departed);

	if (d->startup)
		eng->n_startup--;
	if (d->unknown)
		eng->n_unknown--;
	memmove(d, d + 1, (eng->n_departed - k - 1) * sizeof(*d));
	eng->n_departed--;
}

/*
 * Startup fencing, at a sync point with nobody synced: every configured
 * node that is not a member may hold anything from before (the tables
 * that knew were dropped), so it is departed with unknown grants.
 */
static void startup_departed(struct glock_engine *eng)
{
	size_t i, j;

	for (i = 0; i < eng->n_configured; i++) {
		uint32_t node = eng->configured[i];
		struct departed *d;

		if (member_index(eng, node) >= 0)
			continue;
		d = departed_find(eng, node);
		if (!d) {
			j = eng->n_departed;
			while (j > 0 && eng->departed[j - 1].node > node) {
				eng->departed[j] = eng->departed[j - 1];
				j--;
			}
			d = &eng->departed[j];
			*d = (struct departed){ .node = node };
			eng->n_departed++;
		}
		if (!d->startup)
			eng->n_startup++;
		if (!d->unknown)
			eng->n_unknown++;
		d->startup = true;
		d->unknown = true;
		d->fenced = false;
		emit(eng, &(struct glock_output){ .kind = GLOCK_OUT_NEED_FENCE, .node = node,
						  .startup = true });
	}
}

static void mark_all_synced(struct glock_engine *eng)
{
	bool was = glock_engine_synced(eng);
	size_t i;

	for (i = 0; i < eng->n_members; i++) {
		eng->member_synced[i] = true;
		eng->member_known[i] = true;
	}
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
		/*
		 * Nobody has a table: start empty, departed list included.
		 * Unsynced engines recorded the departures they happened to see
		 * (a joiner saw none), so theirs differ; what everyone agrees
		 * on is the HELLOs' configured nodes (startup fencing).
		 */
		eng->n_departed = 0;
		eng->n_startup = 0;
		eng->n_unknown = 0;
		startup_departed(eng);
		mark_all_synced(eng);
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
	size_t i, nc = in->u.hello.n_configured, n_merged;
	const uint32_t *cfgd = in->u.hello.configured;
	uint32_t *merged;
	struct departed *d;
	int err;

	if (in->u.hello.node == GLOCK_NODEID_NONE || idx < 0)
		return -ESRCH;
	if (nc > GLOCK_NODES_MAX || (nc && !cfgd))
		return -EINVAL;
	for (i = 0; i < nc; i++)
		if (cfgd[i] == GLOCK_NODEID_NONE)
			return -EINVAL;
	if (in->u.hello.config_id != eng->config_id)
		return -ESTALE;
	if (eng->member_hello[idx])
		return -EALREADY;
	/* Allocate first: a refused HELLO leaves everything as it was. */
	err = configured_merge(eng, cfgd, nc, &merged, &n_merged);
	if (!err)
		err = departed_reserve_configured(eng, n_merged);
	if (err) {
		free(merged);
		return err;
	}
	if (merged) {
		free(eng->configured);
		eng->configured = merged;
		eng->n_configured = n_merged;
	}
	eng->member_hello[idx] = true;
	/* Only a newcomer's own word counts: old members' state is known here. */
	if (eng->member_joined[idx])
		eng->member_synced[idx] = in->u.hello.synced && !eng->reset_since_confchg;
	eng->member_known[idx] = true;
	/*
	 * A startup node that joins is fenced no more: its glockd is here, and
	 * a node cut off from the quorate partition dropped its table at the
	 * merge (DESIGN §3 rule 3), as fenced and dlm_controld skip a node
	 * that rejoins before it is fenced.
	 */
	d = departed_find(eng, in->u.hello.node);
	if (d && d->startup) {
		departed_remove(eng, d);
		if (!eng->n_unknown && glock_engine_synced(eng))
			err = glock__process_all(&eng->tbl);
	}
	sync_check(eng);
	return err;
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
		return glock__process_all(&eng->tbl);
	return 0;
}

static int apply_fenced(struct glock_engine *eng, const struct glock_input *in)
{
	struct departed *d = departed_find(eng, in->u.departed.node);
	size_t n, i;
	int err;
	struct glock **v;

	if (!d)
		return -ENOENT;
	v = glock__sorted(&eng->tbl, &n, &err);
	if (err)
		return err;
	/* A node back in the membership may be fenced: its old grants are. */
	d->fenced = true;
	glock__fence(v, n, d->node);
	for (i = 0; i < n; i++)
		glock__process(&eng->tbl, v[i]);
	free(v);
	return 0;
}

static int apply_recovery_done(struct glock_engine *eng, const struct glock_input *in)
{
	struct departed *d = departed_find(eng, in->u.departed.node);
	size_t n, i;
	int err;
	struct glock **v;

	if (!d)
		return -ENOENT;
	if (!d->fenced)
		return -EBUSY;
	v = glock__sorted(&eng->tbl, &n, &err);
	if (err)
		return err;
	glock__drop_expired(v, n, d->node);
	departed_remove(eng, d);
	for (i = 0; i < n; i++) {
		glock__process(&eng->tbl, v[i]);
		glock__put_if_idle(&eng->tbl, v[i]);
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
			for (i = 0; i < n; i++) {
				eng->departed[i] = (struct departed){
					d[i].node, d[i].fenced, d[i].startup,
					d[i].startup || d[i].unknown };
				eng->n_startup += d[i].startup;
				eng->n_unknown += eng->departed[i].unknown;
			}
			eng->n_departed = n;
		}
		return 0;
	}
	if (in->kind == GLOCK_IN_SNAPSHOT_RECORD) {
		int err;

		const struct glock_record *r = in->u.snapshot_record.record;

		if (!glock__record_valid(r) || (eng->snapshot_records &&
					 glock_name_compare(&eng->snapshot_last, &r->name) >= 0)) {
			eng->snapshot_failed = true;
			return -EINVAL;
		}
		eng->snapshot_last = r->name;
		eng->snapshot_records++;
		if (!awaiting_snapshot(eng))
			return 0;
		err = glock__record_load(&eng->tbl, r);
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
		if (now_us >= eng->delayed[i]->hold.due_us)
			due[n++] = eng->delayed[i];
	qsort(due, n, sizeof(*due), glock__ptr_compare);
	for (i = 0; i < n; i++) {
		struct glock *gl = due[i];
		struct glock_output out = {
			.kind = GLOCK_OUT_DEMOTE, .name = &gl->name, .mode = gl->hold.target,
			.node = eng->cfg.local_node,
		};

		delay_cancel(eng, gl);
		if (glock__holder_of(gl, eng->cfg.local_node))
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

bool glock_engine_startup_fencing(const struct glock_engine *eng)
{
	return eng->n_startup != 0;
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
		if (eng->delayed[i]->hold.due_us < due)
			due = eng->delayed[i]->hold.due_us;
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
	return eng->tbl.n_glocks;
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
						      eng->departed[i].fenced,
						      eng->departed[i].startup,
						      eng->departed[i].unknown };
	return eng->n_departed;
}

int glock_engine_export(const struct glock_engine *eng, glock_record_fn fn, void *ctx)
{
	size_t n, i;
	int err, ret = 0;
	struct glock **v = glock__sorted(&eng->tbl, &n, &err);

	if (err)
		return err;
	for (i = 0; i < n && !ret; i++)
		ret = glock__record_emit(v[i], fn, ctx);
	free(v);
	return ret;
}

int glock_engine_lookup(const struct glock_engine *eng, const struct glock_name *name,
			glock_record_fn fn, void *ctx)
{
	const struct glock *gl;

	if (!glock_name_valid(name))
		return -EINVAL;
	gl = glock__find(&eng->tbl, name);
	if (!gl)
		return -ENOENT;
	return glock__record_emit(gl, fn, ctx);
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
	if (glock__table_init(&eng->tbl, &eng_table_ops, eng)) {
		free(eng);
		return NULL;
	}
	eng->cfg = *cfg;
	eng->hold_cfg = (struct glock__hold_cfg){
		cfg->hold_min_us, cfg->hold_max_us, cfg->hold_incr_us, cfg->hold_decr_us,
	};
	eng->tbl.hold_min_us = cfg->hold_min_us;
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
	glock__table_fini(&eng->tbl);
	free(eng->buffered);
	free(eng->delayed);
	free(eng->configured);
	free(eng);
}
