// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * p2p-sim: N nodes running the point-to-point lock path (daemon/engine/p2p.h)
 * over simulated links and a simulated CPG.
 *
 * Each node is what glockd runs with lock_path = p2p: a glock_p2p for the
 * locks and a replicated engine (depart_all, no glocks) for membership,
 * quorum, sync and fencing, glued as daemon/lockpath.c and cluster.c glue
 * them: CONFCHG to the engine then to the p2p (with the engine's departed
 * list), REPORTs multicast before HELLO and QUORUM, DONE when a member's
 * HELLO is delivered, READY when the engine is synced and quorate, FENCED
 * and RECOVERY_DONE as the engine takes them, RESET on UNSYNCED.
 *
 * The ordered channel is one log per partition; every member reads it at
 * its own pace (its cursor), so link messages and ordered events interleave
 * in any way, as they do between TCP links and totem.  A message is
 * appended to the log when it is sent, so it may be delivered after a
 * configuration change that happened meanwhile.  Splits and heals flush the
 * logs first (extended virtual synchrony, simplified).  Links are one FIFO
 * per ordered pair; a reset drops what is queued both ways and tells both
 * ends LINK_DOWN before the new connection's LINK_UP.
 *
 * Invariants after every step: no two live nodes believe incompatible
 * modes of a glock; every GRANT or DENY answers the client's pending
 * request; a granted LVB is the last one written (an all-zero LVB is the
 * "not valid" one, or a glock that went idle; a write whose writer died
 * since may be lost).  At the end a drain heals everything and checks
 * that every request is answered and every table empties.
 *
 * The run is a pure function of --seed: a failing seed is its own replay.
 */
#include "engine.h"
#include "p2p.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NODES_MAX 16
#define SIM_GLOCKS 6
#define SIM_TRACE_KEEP 400
#define SIM_DRAIN_STEPS 400000
#define SIM_WRITES_MAX 256
/* --plocks: POSIX locks on a few bytes of a few files, by a few owners per node. */
#define SIM_PFILES 2
#define SIM_POWNERS 2
#define SIM_PBYTES 9 /* bytes 0-7, and 8 for 8..EOF: ranges start below 8 */

#include "sim_common.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "p2p-sim: out of memory\n");
		exit(2);
	}
	return p;
}

/* ---- the model ---- */

/* One event of the ordered channel. */
enum ev_kind { EV_CONFCHG, EV_ENGINE, EV_REPORT };

struct sim_ev {
	enum ev_kind kind;
	uint32_t sender;
	size_t n_members; /* CONFCHG */
	uint32_t members[SIM_NODES_MAX];
	uint64_t incarnations; /* CONFCHG: as cluster.c's hash of the members' pids */
	struct glock_input in; /* ENGINE */
	struct glock_departed_rec *departed; /* ENGINE SNAPSHOT_BEGIN: owned copy */
	uint32_t to; /* REPORT */
	struct glock_p2p_msg msg;
};

/* A partition's log; positions are absolute, v[0] is position start. */
struct sim_log {
	struct sim_ev **v;
	uint64_t start;
	size_t n, cap;
};

/* One direction of a link. */
struct sim_link {
	struct glock_p2p_msg *v;
	size_t head, n, cap;
};

enum client_state { CL_IDLE, CL_LOCKING, CL_HELD, CL_CONVERTING };

struct client_glock {
	enum client_state st;
	enum glock_mode held; /* what the node believes it holds */
	enum glock_mode want; /* LOCKING/CONVERTING */
	uint64_t req_id;      /* outstanding request */
	uint64_t asked_step;
	bool cancel_sent;
	enum glock_mode conv_from; /* CONVERTING: the mode held before */
	bool demote; /* a DEMOTE arrived and is not yet honoured */
	enum glock_mode demote_target;
};

/* One POSIX lock owner of a node (owner 1 takes OFD locks). */
struct plock_owner {
	uint64_t req_id; /* the op waiting for its answer; 0: none */
	enum glock_plock_op_kind kind;
	int file;
	struct glock_plock_lock want;
	bool wait, cancel_sent;
	uint64_t asked_step;
	uint8_t held[SIM_PFILES][SIM_PBYTES]; /* what it believes it holds: 0, RD, WR */
	/*
	 * A LOCK to RD over its own WR: the master may let others read as
	 * soon as it applies it, before the answer is back, so the WR is
	 * not used from the moment it is asked (as an UNLOCK); refused, the
	 * owner still has what it had (saved), unless it lost it meanwhile.
	 */
	uint8_t saved[SIM_PBYTES];
	bool saved_valid;
};

struct sim_node {
	uint32_t id;
	bool alive;
	int part;
	uint64_t pos; /* next position of its partition's log to deliver */
	unsigned int incarnation;
	unsigned int lives; /* RESETs of this incarnation (its locks were lost) */
	uint32_t first_life; /* the p2p's cfg.first_life: the step it started at */
	struct glock_engine *eng;
	struct glock_p2p *p2p;
	bool ready_told;
	bool send_snapshot;
	uint32_t resets[4 * SIM_NODES_MAX]; /* LINK_RESET outputs, done after the apply */
	size_t n_resets;
	uint64_t next_req;
	uint64_t now_us;
	uint64_t stalled_until; /* --stalls: reads no CPG event before this step */
	struct client_glock g[SIM_GLOCKS];
	struct plock_owner po[SIM_POWNERS];
	/* The last GRANT message being delivered to this node (lvb_invalid). */
	const struct glock_p2p_msg *rx_grant;
};

/* An LVB written by an EX holder. */
struct lvb_write {
	uint8_t lvb[GLOCK_LVB_LEN];
	uint32_t writer;
	unsigned int incarnation;
	unsigned int lives; /* the writer's RESETs when it wrote */
};

struct sim {
	unsigned int n;
	struct sim_node node[SIM_NODES_MAX];
	struct sim_log log[SIM_NODES_MAX]; /* by partition id */
	struct sim_link link[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* [from][to] by id */
	bool conn[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];    /* connected (symmetric) */
	bool view_up[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* [a][b]: a was told b's link is up */
	struct lvb_write writes[SIM_GLOCKS][SIM_WRITES_MAX];
	size_t n_writes[SIM_GLOCKS];
	uint64_t lvb_stamp;
	uint64_t violations;
	bool draining;
	bool drain_release_all;
	bool drain_probe; /* phase three: lock what masters still have */
	bool probed[SIM_GLOCKS]; /* once each */
	uint64_t grants, denies, demotes, losts, crashes, restarts, splits, heals, fences,
		recoveries, link_resets, link_msgs, link_drops, events, reports, refused,
		lvb_checked, lvb_invalid_seen;
	uint64_t plock_ops, plock_granted, plock_refused, plock_lost;
};

static struct sim S;
static bool mutant_reorder; /* links that do not keep FIFO order: must be caught */
static bool no_partitions;  /* --no-partitions: no splits (and so no heals) */
/*
 * --chaos: membership changes at any time.  By default a change waits
 * until the previous one has settled (every member read its log, the
 * quorate partitions are synced): with changes in quick succession the
 * membership engine itself loses its way (see the report of issue 10).
 */
static bool chaos;
/*
 * --stalls: now and then a node stops reading its CPG stream for a while
 * (a busy or descheduled glockd), so the others may recover and grant
 * while a departed node has not yet heard of its departure.  Off by
 * default (the seeds of make check's windows stay as they are).
 */
static bool stalls;
/* --plocks: owners take POSIX locks too (DESIGN §9.2), checked byte by byte. */
static bool plocks;
static struct glock_name plock_names[SIM_PFILES];

static void plock_names_init(void)
{
	int i;

	for (i = 0; i < SIM_PFILES; i++) {
		snprintf(plock_names[i].lockspace, GLOCK_LOCKSPACE_MAX, "fs0");
		plock_names[i].type = 7;
		plock_names[i].number = 200 + (uint64_t)i;
	}
}

static int plock_file(const struct glock_name *name)
{
	int i;

	for (i = 0; i < SIM_PFILES; i++)
		if (glock_name_compare(name, &plock_names[i]) == 0)
			return i;
	return -1;
}

/* The model's last cell of a range: the last one stands for 8..GLOCK_PLOCK_EOF. */
static uint64_t plock_last(uint64_t end)
{
	return end >= SIM_PBYTES - 1 ? SIM_PBYTES - 1 : end;
}
/*
 * --no-incarnations: CONFCHG brings no incarnations, so a configuration's
 * id is its member list's alone (as before; the --chaos failures come back).
 */
static bool no_incarnations;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	trace("VIOLATION %s", buf);
	fprintf(stderr, "step %" PRIu64 ": VIOLATION: %s\n", current_step, buf);
	S.violations++;
}

static struct sim_node *node_by_id(uint32_t id)
{
	return id >= 1 && id <= S.n ? &S.node[id - 1] : NULL;
}

static const char *msg_kind_name(enum glock_p2p_msg_kind k)
{
	static const char *names[] = { "?",	     "LOCK",	   "CONVERT",	  "RELEASE",
				       "CANCEL",     "REPORT",	   "GRANT",	  "DENY",
				       "DEMOTE",     "RELEASED",   "PLOCK_LOCK",  "PLOCK_UNLOCK",
				       "PLOCK_GET",  "PLOCK_CANCEL", "PLOCK_EPOCH", "PLOCK_BEGIN",
				       "PLOCK_HELD", "PLOCK_END",  "PLOCK_ANSWER" };

	return (unsigned int)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ---- the ordered channel ---- */

static uint64_t log_end(int p)
{
	return S.log[p].start + S.log[p].n;
}

static void log_append(int p, struct sim_ev *ev)
{
	struct sim_log *l = &S.log[p];

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			fprintf(stderr, "p2p-sim: out of memory\n");
			exit(2);
		}
	}
	l->v[l->n++] = ev;
}

static void ev_free(struct sim_ev *ev)
{
	if (!ev)
		return;
	free(ev->departed);
	free(ev);
}

static struct sim_ev *ev_new(enum ev_kind kind, uint32_t sender)
{
	struct sim_ev *ev = xmalloc(sizeof(*ev));

	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->sender = sender;
	return ev;
}

/* Frees what every live member of p has delivered. */
static void log_trim(int p)
{
	struct sim_log *l = &S.log[p];
	uint64_t min = log_end(p);
	size_t k, i;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p && S.node[i].pos < min)
			min = S.node[i].pos;
	k = (size_t)(min - l->start);
	if (k < 64 && k < l->n)
		return;
	for (i = 0; i < k; i++)
		ev_free(l->v[i]);
	if (l->n > k) /* l->v is NULL while the log has never held anything */
		memmove(l->v, l->v + k, (l->n - k) * sizeof(*l->v));
	l->n -= k;
	l->start = min;
}

static void log_clear(int p)
{
	struct sim_log *l = &S.log[p];
	size_t i;

	for (i = 0; i < l->n; i++)
		ev_free(l->v[i]);
	l->start += l->n;
	l->n = 0;
}

static void send_engine(struct sim_node *nd, const struct glock_input *in)
{
	struct sim_ev *ev = ev_new(EV_ENGINE, nd->id);

	ev->in = *in;
	if (in->kind == GLOCK_IN_SNAPSHOT_BEGIN && in->u.snapshot_begin.n_departed) {
		size_t n = in->u.snapshot_begin.n_departed;

		ev->departed = xmalloc(n * sizeof(*ev->departed));
		memcpy(ev->departed, in->u.snapshot_begin.departed, n * sizeof(*ev->departed));
		ev->in.u.snapshot_begin.departed = ev->departed;
	}
	log_append(nd->part, ev);
}

/* ---- links ---- */

static void link_push(uint32_t from, uint32_t to, const struct glock_p2p_msg *m)
{
	struct sim_link *l = &S.link[from][to];
	size_t pos;

	if (l->head + l->n == l->cap) {
		if (l->head) {
			memmove(l->v, l->v + l->head, l->n * sizeof(*l->v));
			l->head = 0;
		} else {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->v = realloc(l->v, l->cap * sizeof(*l->v));
			if (!l->v) {
				fprintf(stderr, "p2p-sim: out of memory\n");
				exit(2);
			}
		}
	}
	pos = l->head + l->n;
	l->v[pos] = *m;
	l->n++;
	if (mutant_reorder && l->n >= 2 && rng_chance(30)) {
		/* The mutant link: a message overtakes the one before it. */
		struct glock_p2p_msg t = l->v[pos];

		l->v[pos] = l->v[pos - 1];
		l->v[pos - 1] = t;
	}
}

static void link_clear(uint32_t a, uint32_t b)
{
	S.link[a][b].head = S.link[a][b].n = 0;
	S.link[b][a].head = S.link[b][a].n = 0;
}

/* ---- applying inputs, as lockpath.c and cluster.c do ---- */

static void link_break(uint32_t a, uint32_t b);

static int node_p2p(struct sim_node *nd, const struct glock_p2p_input *in)
{
	struct glock_p2p_stats before, after;
	int r;

	glock_p2p_stats(nd->p2p, &before);
	r = glock_p2p_apply(nd->p2p, in);
	glock_p2p_stats(nd->p2p, &after);
	if (after.dropped != before.dropped || after.parked != before.parked)
		trace("n%u input %d: dropped +%" PRIu64 ", parked %zu -> %zu", nd->id, in->kind,
		      after.dropped - before.dropped, before.parked, after.parked);

	if (r == -ENOMEM)
		violation("n%u: p2p input kind %d: out of memory", nd->id, in->kind);
	/* Resets last, as lp_apply(): taking a link down applies LINK_DOWN. */
	while (nd->n_resets && nd->alive) {
		uint32_t peer = nd->resets[--nd->n_resets];

		link_break(nd->id, peer);
	}
	return r;
}

static void link_notify(struct sim_node *nd, uint32_t peer, bool up)
{
	struct glock_p2p_input in = { .kind = up ? GLOCK_P2P_IN_LINK_UP : GLOCK_P2P_IN_LINK_DOWN };

	if (!nd || !nd->alive || S.view_up[nd->id][peer] == up)
		return;
	S.view_up[nd->id][peer] = up;
	in.u.node.node = peer;
	(void)node_p2p(nd, &in); /* -ESRCH: not a member, nothing to do */
}

/* The connection breaks: what is queued both ways is lost, both ends hear of it. */
static void link_break(uint32_t a, uint32_t b)
{
	if (S.conn[a][b]) {
		S.conn[a][b] = S.conn[b][a] = false;
		link_clear(a, b);
		S.link_resets++;
		trace("link n%u-n%u breaks", a, b);
	}
	if (rng_chance(50)) {
		link_notify(node_by_id(a), b, false);
		link_notify(node_by_id(b), a, false);
	} else {
		link_notify(node_by_id(b), a, false);
		link_notify(node_by_id(a), b, false);
	}
}

/* A new connection: both ends were told of the old one's end, both hear UP. */
static void link_restore(uint32_t a, uint32_t b)
{
	struct sim_node *x = node_by_id(a), *y = node_by_id(b);

	if (S.conn[a][b] || !x->alive || !y->alive || S.view_up[a][b] || S.view_up[b][a])
		return;
	S.conn[a][b] = S.conn[b][a] = true;
	trace("link n%u-n%u up", a, b);
	if (rng_chance(50)) {
		link_notify(x, b, true);
		link_notify(y, a, true);
	} else {
		link_notify(y, a, true);
		link_notify(x, b, true);
	}
}

static void node_engine_apply(struct sim_node *nd, const struct glock_input *in, int *ret);

static void lockpath_sync(struct sim_node *nd)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_READY };
	bool ready;

	if (!nd->alive)
		return;
	ready = glock_engine_synced(nd->eng) && glock_engine_quorate(nd->eng);
	if (ready == nd->ready_told)
		return;
	in.u.ready = ready;
	if (node_p2p(nd, &in) == 0)
		nd->ready_told = ready;
}

/* The donor exports right after the apply() that asked: never from inside it. */
static int export_record(void *ctx, const struct glock_record *rec)
{
	struct sim_node *nd = ctx;

	(void)rec;
	violation("n%u: the membership engine holds a glock", nd->id);
	return -EINVAL;
}

static void after_apply(struct sim_node *nd)
{
	struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
	struct glock_input in = { .kind = GLOCK_IN_SNAPSHOT_BEGIN };
	size_t n;

	if (!nd->alive)
		return;
	lockpath_sync(nd);
	if (!nd->send_snapshot)
		return;
	nd->send_snapshot = false;
	n = glock_engine_departed(nd->eng, dep, 4 * GLOCK_NODES_MAX);
	in.u.snapshot_begin.donor = nd->id;
	in.u.snapshot_begin.n_departed = n;
	in.u.snapshot_begin.departed = dep;
	send_engine(nd, &in);
	glock_engine_export(nd->eng, export_record, nd);
	in = (struct glock_input){ .kind = GLOCK_IN_SNAPSHOT_END };
	in.u.snapshot_end.donor = nd->id;
	in.u.snapshot_end.n_records = 0;
	send_engine(nd, &in);
	trace("n%u sends the snapshot (%zu departed)", nd->id, n);
}

static void departed_str(struct sim_node *nd, char *buf, size_t len)
{
	struct glock_departed_rec dep[16];
	size_t n = glock_engine_departed(nd->eng, dep, 16), k;
	int off = 0;

	buf[0] = '\0';
	for (k = 0; k < n && k < 16 && off < (int)len - 8; k++)
		off += snprintf(buf + off, len - (size_t)off, " %u%s", dep[k].node,
				dep[k].fenced ? "F" : "");
}

static void node_engine_apply(struct sim_node *nd, const struct glock_input *in, int *ret)
{
	char before[128], after[128];
	int err;

	departed_str(nd, before, sizeof(before));
	err = glock_engine_apply(nd->eng, in);
	if (err && in->kind >= GLOCK_IN_SNAPSHOT_BEGIN && in->kind <= GLOCK_IN_SNAPSHOT_END)
		trace("n%u engine refuses snapshot input %d from n%u: %s", nd->id, in->kind,
		      in->u.snapshot_begin.donor, glock_engine_strerror(err));
	if (nd->alive) {
		departed_str(nd, after, sizeof(after));
		if (strcmp(before, after))
			trace("n%u engine input %d (err %d): departed [%s ] -> [%s ]", nd->id,
			      in->kind, err, before, after);
	}

	if (ret)
		*ret = err;
	/*
	 * -EPROTO: a snapshot sent before a change and delivered after it; the
	 * engine drops it and the next change retries, as in glockd.
	 */
	if (err == -ENOMEM || (err == -EINVAL && in->kind != GLOCK_IN_TICK))
		violation("n%u: engine input kind %d rejected: %s", nd->id, in->kind,
			  glock_engine_strerror(err));
}

/* glockd_lockpath_confchg(), after the engine took the change. */
static void lockpath_confchg(struct sim_node *nd, const uint32_t *members, size_t n)
{
	struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
	uint32_t departed[4 * GLOCK_NODES_MAX];
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_CONFCHG };
	size_t nd_dep, i;
	int r;

	nd_dep = glock_engine_departed(nd->eng, dep, 4 * GLOCK_NODES_MAX);
	if (nd_dep > 4 * GLOCK_NODES_MAX)
		nd_dep = 4 * GLOCK_NODES_MAX;
	for (i = 0; i < nd_dep; i++)
		departed[i] = dep[i].node;
	in.u.confchg.members = members;
	in.u.confchg.n_members = n;
	in.u.confchg.departed = departed;
	in.u.confchg.n_departed = nd_dep;
	in.u.confchg.config_id = glock_engine_config_id(nd->eng); /* lockpath.c */
	r = node_p2p(nd, &in);
	if (r)
		violation("n%u: the p2p refused the configuration change: %s", nd->id, strerror(-r));
	nd->ready_told = false;
	lockpath_sync(nd);
	for (i = 0; i < nd_dep && nd->alive; i++) {
		struct glock_p2p_input f = { .kind = GLOCK_P2P_IN_FENCED, .u.node.node = dep[i].node };

		if (dep[i].fenced)
			(void)node_p2p(nd, &f);
	}
}

static void deliver_confchg(struct sim_node *nd, const struct sim_ev *ev)
{
	struct glock_input in = { .kind = GLOCK_IN_CONFCHG };
	struct glock_input h = { .kind = GLOCK_IN_HELLO };
	struct glock_input q = { .kind = GLOCK_IN_QUORUM };
	int err;

	in.u.confchg.members = ev->members;
	in.u.confchg.n_members = ev->n_members;
	in.u.confchg.incarnations = no_incarnations ? 0 : ev->incarnations;
	trace("n%u confchg: %zu members", nd->id, ev->n_members);
	node_engine_apply(nd, &in, &err);
	if (err)
		return;
	/* Before HELLO: this node's REPORTs go out ahead of it (DESIGN §9). */
	lockpath_confchg(nd, ev->members, ev->n_members);
	after_apply(nd);
	if (!nd->alive)
		return;
	h.u.hello.node = nd->id;
	h.u.hello.synced = glock_engine_synced(nd->eng);
	h.u.hello.config_id = glock_engine_config_id(nd->eng);
	send_engine(nd, &h);
	q.u.quorum.from = nd->id;
	q.u.quorum.quorate = ev->n_members * 2 > S.n;
	q.u.quorum.config_id = glock_engine_config_id(nd->eng);
	send_engine(nd, &q);
}

/* cluster.c deliver_item(): the engine first, then what the lock path hears of it. */
static void deliver_engine(struct sim_node *nd, const struct sim_ev *ev)
{
	const struct glock_input *in = &ev->in;
	int err;

	node_engine_apply(nd, in, &err);
	if (!nd->alive)
		return;
	if (!err && in->kind == GLOCK_IN_HELLO) {
		struct glock_p2p_input d = { .kind = GLOCK_P2P_IN_DONE };

		d.u.node.node = in->u.hello.node;
		(void)node_p2p(nd, &d);
	}
	if (!err && (in->kind == GLOCK_IN_FENCED || in->kind == GLOCK_IN_RECOVERY_DONE)) {
		struct glock_p2p_input f = {
			.kind = in->kind == GLOCK_IN_FENCED ? GLOCK_P2P_IN_FENCED
							    : GLOCK_P2P_IN_RECOVERY_DONE,
		};

		f.u.node.node = in->u.departed.node;
		(void)node_p2p(nd, &f);
	}
	after_apply(nd);
}

static void deliver_report(struct sim_node *nd, const struct sim_ev *ev)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	int r;

	if (ev->to != nd->id)
		return;
	S.reports++;
	trace("n%u <- n%u REPORT g%d held %s pending %d req %" PRIu64 "%s down %d gen %" PRIu64,
	      nd->id, ev->sender, glock_index(&ev->msg.name), glock_mode_name(ev->msg.mode),
	      ev->msg.pending.valid, ev->msg.pending.req_id, ev->msg.pending.cancel ? " cancel" : "",
	      ev->msg.down.valid, ev->msg.gen);
	in.u.msg.from = ev->sender;
	in.u.msg.msg = &ev->msg;
	r = node_p2p(nd, &in);
	if (r == -EBADMSG || r == -EPROTO) {
		S.refused++;
		trace("n%u refuses REPORT from n%u: %s", nd->id, ev->sender, strerror(-r));
	}
}

/* Delivers the next event of nd's partition log to nd; false if none. */
static bool deliver_event(struct sim_node *nd)
{
	struct sim_log *l;
	struct sim_ev *ev;

	if (!nd->alive)
		return false;
	l = &S.log[nd->part];
	if (nd->pos >= log_end(nd->part))
		return false;
	ev = l->v[nd->pos - l->start];
	nd->pos++;
	S.events++;
	switch (ev->kind) {
	case EV_CONFCHG:
		deliver_confchg(nd, ev);
		break;
	case EV_ENGINE:
		deliver_engine(nd, ev);
		break;
	case EV_REPORT:
		deliver_report(nd, ev);
		break;
	}
	return true;
}

/* Every member of p reads p's log to its end (new events included). */
static void log_flush(int p)
{
	bool any = true;
	unsigned int i;

	while (any) {
		any = false;
		for (i = 0; i < S.n; i++)
			if (S.node[i].alive && S.node[i].part == p)
				while (deliver_event(&S.node[i]))
					any = true;
	}
	log_trim(p);
}

/* ---- outputs ---- */

static bool lvb_zero(const uint8_t *lvb)
{
	size_t i;

	for (i = 0; i < GLOCK_LVB_LEN; i++)
		if (lvb[i])
			return false;
	return true;
}

static bool writer_gone(const struct lvb_write *w)
{
	const struct sim_node *nd = node_by_id(w->writer);

	/* Dead, or its locks were lost since (quorum): the write may be lost with them. */
	return !nd->alive || nd->incarnation != w->incarnation || nd->lives != w->lives;
}

/* A grant's LVB is the last write, unless the writers of what it misses died. */
static void lvb_check(struct sim_node *nd, int gi, const uint8_t *lvb)
{
	size_t n = S.n_writes[gi], k, j;

	S.lvb_checked++;
	if (lvb_zero(lvb)) {
		/* Not valid (lost with a master), or the glock went idle: nothing is promised. */
		S.n_writes[gi] = 0;
		return;
	}
	for (k = n; k-- > 0;)
		if (memcmp(S.writes[gi][k].lvb, lvb, GLOCK_LVB_LEN) == 0)
			break;
	if (k == (size_t)-1) {
		violation("n%u: g%d granted an LVB that is not the last write (%zu writes kept)",
			  nd->id, gi, n);
		return;
	}
	for (j = k + 1; j < n; j++) {
		if (!writer_gone(&S.writes[gi][j])) {
			violation("n%u: g%d granted a stale LVB: write %zu of %zu, n%u's later write "
				  "is lost", nd->id, gi, k + 1, n, S.writes[gi][j].writer);
			return;
		}
	}
	/* Later writes of dead writers are lost for good: they must not come back. */
	S.n_writes[gi] = k + 1;
}

static void lvb_written(struct sim_node *nd, int gi, const uint8_t *lvb)
{
	struct lvb_write *w;

	if (S.n_writes[gi] == SIM_WRITES_MAX) {
		memmove(&S.writes[gi][0], &S.writes[gi][1],
			(SIM_WRITES_MAX - 1) * sizeof(S.writes[gi][0]));
		S.n_writes[gi]--;
	}
	w = &S.writes[gi][S.n_writes[gi]++];
	memcpy(w->lvb, lvb, GLOCK_LVB_LEN);
	w->writer = nd->id;
	w->incarnation = nd->incarnation;
	w->lives = nd->lives;
}

static void on_local(struct sim_node *nd, const struct glock_output *out)
{
	int gi = out->name ? glock_index(out->name) : -1;
	struct client_glock *c = gi >= 0 ? &nd->g[gi] : NULL;

	switch (out->kind) {
	case GLOCK_OUT_GRANT:
		S.grants++;
		if (!c || (c->st != CL_LOCKING && c->st != CL_CONVERTING) ||
		    c->req_id != out->req_id) {
			violation("n%u: grant of req %" PRIu64 " that it is not waiting for", nd->id,
				  out->req_id);
			return;
		}
		if (out->mode != c->want)
			violation("n%u: granted %s, asked %s", nd->id, glock_mode_name(out->mode),
				  glock_mode_name(c->want));
		trace("n%u grant g%d %s req %" PRIu64 " lvb %02x%02x", nd->id, gi,
		      glock_mode_name(out->mode), out->req_id, out->lvb ? out->lvb[0] : 0,
		      out->lvb ? out->lvb[1] : 0);
		if (!out->lvb)
			violation("n%u: grant without an LVB", nd->id);
		else if (nd->rx_grant && nd->rx_grant->req_id == out->req_id &&
			 nd->rx_grant->lvb_invalid)
			S.lvb_invalid_seen++; /* the master says it lost it: nothing to check */
		else
			lvb_check(nd, gi, out->lvb);
		c->st = CL_HELD;
		c->held = out->mode;
		c->demote = false;
		break;
	case GLOCK_OUT_DENY:
		S.denies++;
		if (!c || (c->st != CL_LOCKING && c->st != CL_CONVERTING) ||
		    c->req_id != out->req_id) {
			violation("n%u: deny of req %" PRIu64 " that it is not waiting for", nd->id,
				  out->req_id);
			return;
		}
		trace("n%u deny g%d req %" PRIu64 " reason %d", nd->id, gi, out->req_id,
		      out->reason);
		if (out->reason == GLOCK_DENY_LOST) {
			c->st = CL_IDLE;
			c->held = GLOCK_MODE_UN;
			c->demote = false;
		} else if (c->st == CL_CONVERTING) {
			c->st = CL_HELD;
			c->held = c->conv_from; /* refused: back to what it held */
		} else {
			c->st = CL_IDLE;
		}
		break;
	case GLOCK_OUT_DEMOTE:
		S.demotes++;
		if (!c) {
			violation("n%u: demote for an unknown glock", nd->id);
			return;
		}
		if (c->st != CL_HELD && c->st != CL_CONVERTING)
			return; /* released already */
		trace("n%u demote g%d to %s", nd->id, gi, glock_mode_name(out->mode));
		c->demote = true;
		c->demote_target = out->mode;
		break;
	case GLOCK_OUT_LOST:
		S.losts++;
		if (!c) {
			violation("n%u: lost an unknown glock", nd->id);
			return;
		}
		trace("n%u lost g%d", nd->id, gi);
		if (c->st == CL_HELD) {
			c->st = CL_IDLE;
			c->demote = false;
		}
		c->held = GLOCK_MODE_UN; /* a pending conversion's DENY(LOST) follows */
		break;
	default:
		violation("n%u: unexpected local output kind %d from the p2p", nd->id, out->kind);
		break;
	}
}

static void on_plock(struct sim_node *nd, const struct glock_plock_answer *a)
{
	int f = plock_file(&a->name), i;
	struct plock_owner *o = NULL;
	uint64_t b;

	if (f < 0) {
		violation("n%u: POSIX lock answer for an unknown file", nd->id);
		return;
	}
	if (a->req_id == 0) {
		if (a->status != -ENOLCK)
			violation("n%u: POSIX locks on f%d lost with status %d", nd->id, f, a->status);
		S.plock_lost++;
		trace("n%u lost its POSIX locks on f%d", nd->id, f);
		for (i = 0; i < SIM_POWNERS; i++) {
			memset(nd->po[i].held[f], 0, SIM_PBYTES);
			if (nd->po[i].req_id && nd->po[i].file == f)
				nd->po[i].saved_valid = false;
		}
		return;
	}
	for (i = 0; i < SIM_POWNERS; i++)
		if (nd->po[i].req_id == a->req_id)
			o = &nd->po[i];
	if (!o || o->file != f) {
		violation("n%u: POSIX lock answer to req %" PRIu64 " nobody waits for", nd->id,
			  a->req_id);
		return;
	}
	trace("n%u o%d f%d req %" PRIu64 " answered %d", nd->id, (int)(o - nd->po), f,
	      a->req_id, a->status);
	o->req_id = 0;
	switch (o->kind) {
	case GLOCK_PLOCK_OP_LOCK:
		if (a->status == 0) {
			S.plock_granted++;
			for (b = o->want.start; b <= plock_last(o->want.end); b++)
				o->held[f][b] = (uint8_t)o->want.type;
			return;
		}
		S.plock_refused++;
		if (o->saved_valid)
			memcpy(o->held[f], o->saved, SIM_PBYTES);
		if ((a->status == -EAGAIN && !o->wait) || (a->status == -EINTR && o->cancel_sent) ||
		    (a->status == -EDEADLK && o->wait && !o->want.owner.ofd) ||
		    a->status == -ENOLCK)
			return;
		violation("n%u: POSIX LOCK req %" PRIu64 " (wait %d) answered %d", nd->id,
			  a->req_id, o->wait, a->status);
		return;
	case GLOCK_PLOCK_OP_UNLOCK:
		if (a->status != 0)
			violation("n%u: POSIX UNLOCK answered %d", nd->id, a->status);
		return;
	case GLOCK_PLOCK_OP_GET:
		if (a->status != 0 && a->status != -ENOLCK)
			violation("n%u: POSIX GET answered %d", nd->id, a->status);
		if (a->conflict_found && a->conflict.owner.node == nd->id &&
		    a->conflict.owner.id == o->want.owner.id)
			violation("n%u: GET reports the owner's own lock as a conflict", nd->id);
		if (a->conflict_found && a->conflict.type != GLOCK_PLOCK_WR &&
		    o->want.type != GLOCK_PLOCK_WR)
			violation("n%u: GET reports RD against RD", nd->id);
		return;
	default:
		violation("n%u: answer to a POSIX op of kind %d", nd->id, o->kind);
	}
}

static void on_p2p_output(void *ctx, const struct glock_p2p_output *out)
{
	struct sim_node *nd = ctx;

	switch (out->kind) {
	case GLOCK_P2P_OUT_LOCAL:
		on_local(nd, out->local);
		break;
	case GLOCK_P2P_OUT_SEND:
		if (out->node == nd->id || !node_by_id(out->node)) {
			violation("n%u: SEND to node %u", nd->id, out->node);
			break;
		}
		if (!S.conn[nd->id][out->node]) {
			S.link_drops++; /* links.c: -ENOTCONN, reported again at up */
			break;
		}
		link_push(nd->id, out->node, out->msg);
		break;
	case GLOCK_P2P_OUT_MULTICAST: {
		struct sim_ev *ev = ev_new(EV_REPORT, nd->id);

		if (!glock_p2p_kind_multicast(out->msg->kind))
			violation("n%u: multicast of a %s", nd->id, msg_kind_name(out->msg->kind));
		ev->to = out->node;
		ev->msg = *out->msg;
		log_append(nd->part, ev);
		break;
	}
	case GLOCK_P2P_OUT_LINK_RESET:
		if (nd->n_resets < sizeof(nd->resets) / sizeof(nd->resets[0]) &&
		    node_by_id(out->node))
			nd->resets[nd->n_resets++] = out->node;
		break;
	case GLOCK_P2P_OUT_PLOCK:
		on_plock(nd, out->plock);
		break;
	}
}

static void on_engine_output(void *ctx, const struct glock_output *out)
{
	struct sim_node *nd = ctx;

	switch (out->kind) {
	case GLOCK_OUT_SEND_SNAPSHOT:
		nd->send_snapshot = true;
		break;
	case GLOCK_OUT_UNSYNCED: {
		struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_RESET };

		/* glockd_lockpath_reset(): this node's locks are lost. */
		trace("n%u unsynced: p2p reset", nd->id);
		nd->lives++;
		(void)node_p2p(nd, &in);
		nd->ready_told = false;
		break;
	}
	case GLOCK_OUT_SYNCED:
	case GLOCK_OUT_NEED_FENCE:
	case GLOCK_OUT_QUORATE:
	case GLOCK_OUT_INQUORATE:
		break; /* READY is re-read after every apply; the fencer reads departed[] */
	default:
		violation("n%u: the membership engine answered a lock (%d)", nd->id, out->kind);
		break;
	}
}

/* ---- node life ---- */

static void node_start(struct sim_node *nd, int part)
{
	struct glock_engine_config cfg;
	uint32_t j;

	glock_engine_config_defaults(&cfg, nd->id);
	cfg.depart_all = true; /* as main.c sets it for lock_path = p2p */
	nd->eng = glock_engine_new(&cfg, on_engine_output, nd);
	cfg.depart_all = false;
	/*
	 * glockd's start time in seconds (lockpath.c), the step here: above
	 * the lives of the incarnation before, unless it RESET more often
	 * than once a step, which the daemon assumes no node does.
	 */
	if (nd->incarnation && (uint64_t)current_step + 1 <= (uint64_t)nd->first_life + nd->lives)
		violation("n%u: restarts at step %" PRIu64 " below its last life %u + %u", nd->id,
			  current_step, nd->first_life, nd->lives);
	nd->first_life = (uint32_t)current_step + 1;
	nd->lives = 0;
	cfg.first_life = nd->first_life;
	nd->p2p = glock_p2p_new(&cfg, on_p2p_output, nd);
	if (!nd->eng || !nd->p2p) {
		fprintf(stderr, "p2p-sim: cannot create a node\n");
		exit(2);
	}
	nd->alive = true;
	nd->part = part;
	nd->pos = log_end(part);
	nd->incarnation++;
	nd->ready_told = false;
	nd->send_snapshot = false;
	nd->n_resets = 0;
	nd->rx_grant = NULL;
	memset(nd->g, 0, sizeof(nd->g));
	memset(nd->po, 0, sizeof(nd->po));
	for (j = 1; j <= S.n; j++)
		S.view_up[nd->id][j] = false;
}

static void append_confchg(int p)
{
	struct sim_ev *ev = ev_new(EV_CONFCHG, 0);
	unsigned int i;

	uint64_t h = 14695981039346656037ull;

	/* Every start of a node is a new glockd, with a pid of its own. */
	for (i = 0; i < S.n; i++) {
		if (S.node[i].alive && S.node[i].part == p) {
			ev->members[ev->n_members++] = S.node[i].id;
			h = (h ^ S.node[i].id) * 1099511628211ull;
			h = (h ^ S.node[i].incarnation) * 1099511628211ull;
		}
	}
	ev->incarnations = h ? h : 1;
	if (!ev->n_members) {
		ev_free(ev);
		return;
	}
	trace("confchg appended to partition %d: %zu members", p, ev->n_members);
	log_append(p, ev);
}

/* Drops nd's events that no survivor has delivered yet: they never made it out. */
static void log_drop_from(int p, uint32_t sender)
{
	struct sim_log *l = &S.log[p];
	uint64_t max = l->start;
	size_t i, k;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p && S.node[i].id != sender &&
		    S.node[i].pos > max)
			max = S.node[i].pos;
	k = (size_t)(max - l->start);
	for (i = k; i < l->n; i++) {
		if (l->v[i]->sender == sender) {
			ev_free(l->v[i]);
			l->v[i] = NULL;
		} else {
			l->v[k++] = l->v[i];
		}
	}
	l->n = k;
}

static void node_crash(struct sim_node *nd)
{
	int p = nd->part;
	uint32_t j;

	trace("n%u crashes", nd->id);
	S.crashes++;
	if (rng_chance(50))
		log_drop_from(p, nd->id);
	nd->alive = false;
	glock_p2p_free(nd->p2p);
	nd->p2p = NULL;
	glock_engine_free(nd->eng);
	nd->eng = NULL;
	for (j = 1; j <= S.n; j++)
		if (j != nd->id)
			link_break(nd->id, j);
	append_confchg(p);
	log_trim(p);
}

static unsigned int part_size(int p)
{
	unsigned int i, k = 0;

	for (i = 0; i < S.n; i++)
		k += S.node[i].alive && S.node[i].part == p;
	return k;
}

static int free_part(void)
{
	unsigned int p;

	for (p = 0; p < S.n; p++)
		if (!part_size((int)p))
			return (int)p;
	return -1;
}

/* ---- clients ---- */

static int submit(struct sim_node *nd, int gi, enum glock_op_kind kind, enum glock_mode mode,
		  uint32_t flags, uint64_t req_id, bool lvb)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_OP };
	struct glock_op *op = &in.u.op;
	int r;

	op->kind = kind;
	op->node = nd->id;
	op->req_id = req_id;
	op->name = glock_names[gi];
	op->mode = mode;
	op->flags = flags;
	if (lvb && !glock_engine_quorate(nd->eng))
		lvb = false; /* its grants are suspended (INQUORATE): nothing to write with */
	if (lvb) {
		uint64_t stamp = ++S.lvb_stamp;

		op->lvb_valid = true;
		memcpy(op->lvb, &stamp, sizeof(stamp));
		memcpy(op->lvb + 8, &nd->id, sizeof(nd->id));
		op->lvb[12] = 0xa5; /* never all zero */
		lvb_written(nd, gi, op->lvb);
	}
	r = node_p2p(nd, &in);
	if (r)
		violation("n%u: op %d on g%d refused: %s", nd->id, kind, gi, strerror(-r));
	return r;
}

static void client_release(struct sim_node *nd, int gi, bool lvb)
{
	struct client_glock *c = &nd->g[gi];

	trace("n%u release g%d%s", nd->id, gi, lvb ? " (writes the LVB)" : "");
	c->st = CL_IDLE;
	c->held = GLOCK_MODE_UN;
	c->demote = false;
	(void)submit(nd, gi, GLOCK_OP_RELEASE, GLOCK_MODE_UN, 0, 0, lvb);
}

static void client_convert(struct sim_node *nd, int gi, enum glock_mode m, uint32_t flags,
			   bool lvb)
{
	struct client_glock *c = &nd->g[gi];

	c->req_id = ++nd->next_req;
	c->want = m;
	c->st = CL_CONVERTING;
	c->asked_step = current_step;
	c->cancel_sent = false;
	c->conv_from = c->held;
	/* Going down from EX, the node uses only the weaker mode from now on. */
	if (c->held == GLOCK_MODE_EX)
		c->held = m;
	/*
	 * Between SH and DF neither mode covers the other: GFS2 drains its
	 * local holders before it asks, so the node uses neither until the
	 * answer (the master may grant others what fits the new mode at once).
	 */
	if ((c->held == GLOCK_MODE_SH && m == GLOCK_MODE_DF) ||
	    (c->held == GLOCK_MODE_DF && m == GLOCK_MODE_SH))
		c->held = GLOCK_MODE_UN;
	trace("n%u convert g%d ->%s req %" PRIu64 "%s", nd->id, gi, glock_mode_name(m), c->req_id,
	      lvb ? " (writes the LVB)" : "");
	(void)submit(nd, gi, GLOCK_OP_CONVERT, m, flags, c->req_id, lvb);
}

/* Gives the glock up (or down) as a demote asked; the daemon's job. */
static bool honour_demote(struct sim_node *nd, int gi)
{
	struct client_glock *c = &nd->g[gi];
	bool lvb = c->held == GLOCK_MODE_EX && rng_chance(50);

	if (!c->demote || c->st != CL_HELD)
		return false;
	c->demote = false;
	if (c->demote_target == GLOCK_MODE_UN || c->demote_target == c->held || rng_chance(30)) {
		client_release(nd, gi, lvb);
		return true;
	}
	client_convert(nd, gi, c->demote_target, 0, lvb);
	return true;
}

static bool node_caches(const struct sim_node *nd)
{
	return nd->id % 2 == 1;
}

static bool node_usable(const struct sim_node *nd)
{
	/* The agent submits once synced (SYNCED asks again); the p2p needs a configuration. */
	return nd->alive && glock_engine_synced(nd->eng) &&
	       glock_p2p_master_of(nd->p2p, &glock_names[0]) != GLOCK_NODEID_NONE;
}

static int find_glock(void *ctx, const struct glock_record *r)
{
	return glock_name_compare(&r->name, ctx) == 0;
}

/* Does some master still have gi in its table? */
static bool glock_in_tables(int gi)
{
	unsigned int i;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive &&
		    glock_p2p_export_mastered(S.node[i].p2p, find_glock, &glock_names[gi]) == 1)
			return true;
	return false;
}

static void client_action(struct sim_node *nd)
{
	int gi = (int)rng_below(SIM_GLOCKS);
	struct client_glock *c = &nd->g[gi];

	if (!node_usable(nd))
		return;
	if (honour_demote(nd, gi))
		return;
	switch (c->st) {
	case CL_IDLE:
		if (S.draining && !(S.drain_probe && !S.probed[gi] && glock_in_tables(gi)))
			return;
		if (S.draining)
			S.probed[gi] = true;
		c->req_id = ++nd->next_req;
		c->want = S.draining ? GLOCK_MODE_EX : random_mode(); /* a probe demotes all */
		c->st = CL_LOCKING;
		c->asked_step = current_step;
		c->cancel_sent = false;
		trace("n%u lock g%d %s req %" PRIu64, nd->id, gi, glock_mode_name(c->want),
		      c->req_id);
		(void)submit(nd, gi, GLOCK_OP_LOCK, c->want, S.draining ? 0 : random_flags(),
			     c->req_id, false);
		break;
	case CL_LOCKING:
	case CL_CONVERTING:
		if (!S.draining && !c->cancel_sent && rng_chance(15)) {
			trace("n%u cancel g%d req %" PRIu64, nd->id, gi, c->req_id);
			c->cancel_sent = true;
			(void)submit(nd, gi, GLOCK_OP_CANCEL, GLOCK_MODE_UN, 0, c->req_id, false);
		}
		break;
	case CL_HELD:
		if (!S.draining && rng_chance(25)) {
			enum glock_mode m = random_mode();

			if (m == c->held)
				break;
			client_convert(nd, gi, m, random_flags() & ~GLOCK_FLAG_NOEXP,
				       c->held == GLOCK_MODE_EX && m != GLOCK_MODE_EX &&
					       rng_chance(50));
			break;
		}
		/* Odd nodes cache like glockd: a grant stays until a demote asks for it. */
		if (node_caches(nd) ? (S.drain_release_all || (!S.draining && rng_chance(3)))
				    : (S.draining || rng_chance(40)))
			client_release(nd, gi, c->held == GLOCK_MODE_EX && rng_chance(50));
		break;
	}
}

/* An owner's next POSIX lock op, or a signal to a waiting one. */
static void plock_action(struct sim_node *nd)
{
	int oi = (int)rng_below(SIM_POWNERS), f, k;
	struct plock_owner *o = &nd->po[oi];
	struct glock_plock_op op = { 0 };
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_PLOCK, .u.plock = &op };
	uint64_t b;
	int r;

	if (!node_usable(nd))
		return;
	if (o->req_id) {
		/* Draining, a signal still ends what waits in a cycle across files. */
		if (o->kind != GLOCK_PLOCK_OP_LOCK || !o->wait || o->cancel_sent ||
		    !rng_chance(S.draining ? 2 : 10))
			return;
		op.kind = GLOCK_PLOCK_OP_CANCEL;
		op.req_id = o->req_id;
		op.name = plock_names[o->file];
		o->cancel_sent = true;
		trace("n%u o%d cancel req %" PRIu64, nd->id, oi, o->req_id);
		r = node_p2p(nd, &in);
		if (r)
			violation("n%u: POSIX CANCEL refused: %s", nd->id, strerror(-r));
		return;
	}
	op.lock.owner = (struct glock_plock_owner){
		.node = nd->id, .id = (uint64_t)oi + 1, .pid = 100u + (uint32_t)oi, .ofd = oi == 1,
	};
	op.lock.type = rng_chance(50) ? GLOCK_PLOCK_WR : GLOCK_PLOCK_RD;
	if (S.draining) {
		/* Let go of everything, one file at a time. */
		for (f = 0; f < SIM_PFILES; f++)
			for (b = 0; b < SIM_PBYTES; b++)
				if (o->held[f][b])
					goto found;
		return;
found:
		op.kind = GLOCK_PLOCK_OP_UNLOCK;
		op.lock.start = 0;
		op.lock.end = GLOCK_PLOCK_EOF;
	} else {
		f = (int)rng_below(SIM_PFILES);
		k = (int)rng_below(100);
		op.kind = k < 55 ? GLOCK_PLOCK_OP_LOCK :
			  k < 85 ? GLOCK_PLOCK_OP_UNLOCK : GLOCK_PLOCK_OP_GET;
		op.lock.start = rng_below(SIM_PBYTES - 1);
		op.lock.end = op.lock.start + rng_below(SIM_PBYTES - 1 - (unsigned int)op.lock.start);
		if (rng_chance(15))
			op.lock.end = GLOCK_PLOCK_EOF;
		op.wait = op.kind == GLOCK_PLOCK_OP_LOCK && rng_chance(60);
	}
	op.req_id = ++nd->next_req;
	op.name = plock_names[f];
	if (op.kind == GLOCK_PLOCK_OP_UNLOCK)
		for (b = op.lock.start; b <= plock_last(op.lock.end); b++)
			o->held[f][b] = 0; /* not used from the moment it is asked */
	o->saved_valid = op.kind == GLOCK_PLOCK_OP_LOCK;
	memcpy(o->saved, o->held[f], SIM_PBYTES);
	if (op.kind == GLOCK_PLOCK_OP_LOCK && op.lock.type == GLOCK_PLOCK_RD)
		for (b = op.lock.start; b <= plock_last(op.lock.end); b++)
			if (o->held[f][b] == GLOCK_PLOCK_WR)
				o->held[f][b] = GLOCK_PLOCK_RD;
	/* Set before the apply: a file this node masters is answered inside it. */
	o->req_id = op.req_id;
	o->kind = op.kind;
	o->file = f;
	o->want = op.lock;
	o->wait = op.wait;
	o->cancel_sent = false;
	o->asked_step = current_step;
	S.plock_ops++;
	trace("n%u o%d %s f%d %s %" PRIu64 "-%" PRIu64 "%s req %" PRIu64, nd->id, oi,
	      op.kind == GLOCK_PLOCK_OP_LOCK ? "lock" :
	      op.kind == GLOCK_PLOCK_OP_UNLOCK ? "unlock" : "get", f,
	      op.lock.type == GLOCK_PLOCK_WR ? "WR" : "RD", op.lock.start,
	      plock_last(op.lock.end), op.wait ? " wait" : "", op.req_id);
	r = node_p2p(nd, &in);
	if (r) {
		violation("n%u: POSIX op refused: %s", nd->id, strerror(-r));
		o->req_id = 0;
	}
}

static void client_or_plock_action(struct sim_node *nd)
{
	if (plocks && rng_chance(50))
		plock_action(nd);
	else
		client_action(nd);
}

static void node_tick(struct sim_node *nd, uint64_t dt)
{
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_TICK };

	if (!nd->alive)
		return;
	nd->now_us += dt;
	in.u.now_us = nd->now_us;
	(void)node_p2p(nd, &in);
}

/* ---- links: delivery ---- */

static bool deliver_link(uint32_t from, uint32_t to)
{
	struct sim_link *l = &S.link[from][to];
	struct sim_node *nd = node_by_id(to);
	struct glock_p2p_input in = { .kind = GLOCK_P2P_IN_MSG };
	struct glock_p2p_msg m;
	int r;

	if (!l->n)
		return false;
	m = l->v[l->head];
	l->head++;
	l->n--;
	if (!l->n)
		l->head = 0;
	S.link_msgs++;
	if (!nd->alive)
		return true;
	trace("n%u <- n%u %s g%d req %" PRIu64 " mode %s gen %" PRIu64, to, from,
	      msg_kind_name(m.kind), glock_index(&m.name), m.req_id, glock_mode_name(m.mode), m.gen);
	in.u.msg.from = from;
	in.u.msg.msg = &m;
	nd->rx_grant = m.kind == GLOCK_P2P_GRANT ? &m : NULL;
	r = node_p2p(nd, &in);
	nd->rx_grant = NULL;
	if (r == -EBADMSG || r == -EPROTO) {
		S.refused++;
		trace("n%u refuses %s from n%u: %s", to, msg_kind_name(m.kind), from, strerror(-r));
	}
	return true;
}

/* One message on a random non-empty link. */
static bool deliver_any_link(void)
{
	unsigned int start = rng_below(S.n * S.n), k;

	for (k = 0; k < S.n * S.n; k++) {
		unsigned int x = (start + k) % (S.n * S.n);
		uint32_t a = x / S.n + 1, b = x % S.n + 1;

		if (S.link[a][b].n)
			return deliver_link(a, b);
	}
	return false;
}

static bool links_empty(void)
{
	uint32_t a, b;

	for (a = 1; a <= S.n; a++)
		for (b = 1; b <= S.n; b++)
			if (S.link[a][b].n)
				return false;
	return true;
}

/* ---- fencing, as the lowest synced member of a quorate partition does it ---- */

static void fence_step(bool recover)
{
	unsigned int i;

	for (i = 0; i < S.n; i++) {
		struct sim_node *nd = &S.node[i];
		struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
		bool killed = false, victim_was_alive;
		size_t n, k;

		if (!nd->alive || !glock_engine_synced(nd->eng) || !glock_engine_quorate(nd->eng))
			continue;
		/*
		 * A fencer behind in the stream would power off a node that
		 * rejoined after its FENCED (glockd's fence jobs wait for FENCED
		 * to be delivered); it waits until it has caught up.
		 */
		if (nd->pos < log_end(nd->part))
			return;
		n = glock_engine_departed(nd->eng, dep, 4 * GLOCK_NODES_MAX);
		for (k = 0; k < n && k < 4 * GLOCK_NODES_MAX; k++) {
			struct glock_input in = { .kind = GLOCK_IN_FENCED };
			struct sim_node *victim = node_by_id(dep[k].node);

			in.u.departed.node = dep[k].node;
			if (!dep[k].fenced) {
				/* Fencing means the node is really gone: power it off. */
				victim_was_alive = victim && victim->alive && victim != nd;
				if (victim_was_alive && killed && !chaos)
					return; /* one membership change at a time, as --chaos says */
				if (victim_was_alive) {
					trace("n%u fences n%u (power off)", nd->id, victim->id);
					node_crash(victim);
				}
				if (!nd->alive)
					return;
				trace("n%u: n%u fenced", nd->id, dep[k].node);
				send_engine(nd, &in);
				S.fences++;
				killed = killed || victim_was_alive;
				/* fence_confirm() queues RECOVERY_DONE right behind FENCED. */
				if (recover && rng_chance(50)) {
					in.kind = GLOCK_IN_RECOVERY_DONE;
					send_engine(nd, &in);
					S.recoveries++;
				}
			} else if (recover) {
				in.kind = GLOCK_IN_RECOVERY_DONE;
				trace("n%u: n%u recovery done", nd->id, dep[k].node);
				send_engine(nd, &in);
				S.recoveries++;
			}
		}
		return; /* one fencer per step */
	}
}

/* ---- invariants ---- */

static bool node_may_use_grants(const struct sim_node *nd)
{
	return nd->alive && glock_engine_quorate(nd->eng);
}

/* No byte of a file is WR to one owner and held by another, among nodes that may use locks. */
static void check_plocks(void)
{
	unsigned int i, j;
	int f, a, c;
	uint64_t b;

	for (f = 0; f < SIM_PFILES; f++)
		for (b = 0; b < SIM_PBYTES; b++)
			for (i = 0; i < S.n; i++) {
				if (!node_may_use_grants(&S.node[i]))
					continue;
				for (a = 0; a < SIM_POWNERS; a++) {
					uint8_t x = S.node[i].po[a].held[f][b];

					if (!x)
						continue;
					for (j = i; j < S.n; j++) {
						if (!node_may_use_grants(&S.node[j]))
							continue;
						for (c = j == i ? a + 1 : 0; c < SIM_POWNERS; c++) {
							uint8_t y = S.node[j].po[c].held[f][b];

							if (y && (x == GLOCK_PLOCK_WR ||
								  y == GLOCK_PLOCK_WR))
								violation("f%d byte %" PRIu64
									  ": n%u o%d holds %s while n%u o%d holds %s",
									  f, b, S.node[i].id, a,
									  x == GLOCK_PLOCK_WR ? "WR" : "RD",
									  S.node[j].id, c,
									  y == GLOCK_PLOCK_WR ? "WR" : "RD");
						}
					}
				}
			}
}

static void check_invariants(void)
{
	unsigned int i, j;
	int gi;

	if (plocks)
		check_plocks();

	/*
	 * What live nodes may use never conflicts, across partitions too: a
	 * departed node's grants stay expired (or placeholders) on the new
	 * masters until it is fenced, and fencing powers it off.  A node
	 * uses its grants only while its engine is quorate (INQUORATE
	 * suspends them), as glockd and glockfs do on either lock path.
	 */
	for (gi = 0; gi < SIM_GLOCKS; gi++) {
		for (i = 0; i < S.n; i++) {
			const struct client_glock *a = &S.node[i].g[gi];

			if (!node_may_use_grants(&S.node[i]) || a->held == GLOCK_MODE_UN)
				continue;
			for (j = i + 1; j < S.n; j++) {
				const struct client_glock *b = &S.node[j].g[gi];

				if (node_may_use_grants(&S.node[j]) && b->held != GLOCK_MODE_UN &&
				    !glock_mode_compatible(a->held, b->held))
					violation("g%d: n%u believes %s while n%u believes %s", gi,
						  S.node[i].id, glock_mode_name(a->held),
						  S.node[j].id, glock_mode_name(b->held));
			}
		}
	}
}

/* ---- the run ---- */

static void split(struct sim_node *nd)
{
	int p = nd->part, q = free_part();
	unsigned int i;
	bool cut_links = rng_chance(50);

	if (part_size(p) < 2 || q < 0)
		return;
	log_flush(p);
	if (!nd->alive)
		return;
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == p && rng_chance(50))
			S.node[i].part = q;
	if (!part_size(p) || !part_size(q)) {
		for (i = 0; i < S.n; i++)
			if (S.node[i].part == q)
				S.node[i].part = p;
		return;
	}
	S.splits++;
	log_clear(q);
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].part == q)
			S.node[i].pos = log_end(q);
	trace("split: partition %d -> %d + %d%s", p, p, q, cut_links ? ", links cut" : "");
	append_confchg(p);
	append_confchg(q);
	/* The network may cut the links too, or only totem. */
	if (cut_links)
		for (i = 0; i < S.n; i++)
			for (unsigned int k = 0; k < S.n; k++)
				if (S.node[i].alive && S.node[k].alive && S.node[i].part == p &&
				    S.node[k].part == q)
					link_break(S.node[i].id, S.node[k].id);
}

static void heal(int p, int q)
{
	unsigned int i;

	log_flush(p);
	log_flush(q);
	if (!part_size(p) || !part_size(q) || p == q)
		return;
	for (i = 0; i < S.n; i++) {
		if (S.node[i].alive && S.node[i].part == q) {
			S.node[i].part = p;
			S.node[i].pos = log_end(p);
		}
	}
	log_clear(q);
	S.heals++;
	trace("heal: partition %d joins %d", q, p);
	append_confchg(p);
}

static void restart(struct sim_node *nd, int p)
{
	node_start(nd, p);
	S.restarts++;
	trace("n%u restarts into partition %d", nd->id, p);
	append_confchg(p);
}

static void restore_random_link(void)
{
	uint32_t a = 1 + rng_below(S.n), b = 1 + rng_below(S.n);

	if (a != b)
		link_restore(a, b);
}

static unsigned int part_size(int p);

static bool settled(void)
{
	unsigned int i;

	for (i = 0; i < S.n; i++) {
		const struct sim_node *nd = &S.node[i];

		if (!nd->alive)
			continue;
		if (nd->pos < log_end(nd->part))
			return false;
		if (part_size(nd->part) * 2 > S.n && !glock_engine_synced(nd->eng))
			return false;
	}
	return true;
}

static bool stalled(const struct sim_node *nd)
{
	return current_step < nd->stalled_until;
}

static void step_random(unsigned int min_alive)
{
	unsigned int r = rng_below(1000), i, alive = 0;
	struct sim_node *nd = &S.node[rng_below(S.n)];

	if (stalls && rng_chance(1)) {
		struct sim_node *slow = &S.node[rng_below(S.n)];

		slow->stalled_until = current_step + 100 + rng_below(900);
		trace("n%u stalls until step %" PRIu64, slow->id, slow->stalled_until);
	}

	for (i = 0; i < S.n; i++)
		alive += S.node[i].alive;
	/* Membership changes (and fencing, which powers off) wait as the --chaos comment says. */
	if (!chaos && r >= 850 && r < 913 && !settled())
		r = 950;

	if (r < 250) {
		unsigned int k = 1 + rng_below(3);

		while (k-- && deliver_any_link())
			;
	} else if (r < 450) {
		unsigned int k = 1 + rng_below(3);

		while (k-- && !stalled(nd) && deliver_event(nd))
			;
		if (nd->alive)
			log_trim(nd->part);
	} else if (r < 750) {
		client_or_plock_action(nd);
	} else if (r < 850) {
		node_tick(nd, rng_below(30000));
	} else if (r < 854) {
		if (nd->alive && alive > min_alive)
			node_crash(nd);
	} else if (r < 858) {
		client_or_plock_action(nd);
	} else if (r < 873) {
		if (!nd->alive) {
			/* It boots into some live node's partition (a fresh one if none). */
			struct sim_node *peer = &S.node[rng_below(S.n)];

			restart(nd, peer->alive ? peer->part : alive ? nd->part : free_part());
		}
	} else if (r < 878) {
		if (nd->alive && !no_partitions)
			split(nd);
	} else if (r < 888) {
		struct sim_node *other = &S.node[rng_below(S.n)];

		if (nd->alive && other->alive && other->part != nd->part)
			heal(nd->part, other->part);
	} else if (r < 913) {
		fence_step(rng_chance(50));
	} else if (r < 923) {
		uint32_t a = 1 + rng_below(S.n), b = 1 + rng_below(S.n);

		if (a != b && S.conn[a][b])
			link_break(a, b);
	} else if (r < 950) {
		restore_random_link();
	} else {
		/* every node reads a little of its log: keeps the logs short */
		for (i = 0; i < S.n; i++)
			if (!stalled(&S.node[i]))
				deliver_event(&S.node[i]);
		for (i = 0; i < S.n; i++)
			log_trim((int)i);
	}
}

static bool plock_pending(const struct sim_node *nd)
{
	int a;

	for (a = 0; a < SIM_POWNERS; a++)
		if (nd->po[a].req_id)
			return true;
	return false;
}

static bool plock_holds(const struct sim_node *nd)
{
	int a, f;
	uint64_t b;

	for (a = 0; a < SIM_POWNERS; a++)
		for (f = 0; f < SIM_PFILES; f++)
			for (b = 0; b < SIM_PBYTES; b++)
				if (nd->po[a].held[f][b])
					return true;
	return false;
}

static bool requests_pending(void)
{
	unsigned int i;
	int gi;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && plock_pending(&S.node[i]))
			return true;
	for (i = 0; i < S.n; i++)
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].alive && (S.node[i].g[gi].st == CL_LOCKING ||
						S.node[i].g[gi].st == CL_CONVERTING))
				return true;
	return false;
}

static bool logs_read(void)
{
	unsigned int i;

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].pos < log_end(S.node[i].part))
			return false;
	return true;
}

static bool quiescent(void)
{
	unsigned int i;
	int gi;

	if (!logs_read() || !links_empty())
		return false;
	for (i = 0; i < S.n; i++) {
		struct glock_p2p_stats st;

		if (!S.node[i].alive || !glock_engine_synced(S.node[i].eng))
			return false;
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].g[gi].st != CL_IDLE)
				return false;
		/*
		 * Parked messages are not counted: one from before a RESET may
		 * wait for a configuration that never comes (master.c forgets
		 * it later); a parked request that matters leaves a client
		 * waiting, which fails the drain anyway.
		 */
		glock_p2p_stats(S.node[i].p2p, &st);
		if (st.mastered || st.held)
			return false;
		if (plock_pending(&S.node[i]) || plock_holds(&S.node[i]) || st.plock_files ||
		    st.plock_pending)
			return false;
	}
	return true;
}

static bool all_links_up(void)
{
	uint32_t a, b;

	for (a = 1; a <= S.n; a++)
		for (b = a + 1; b <= S.n; b++)
			if (!S.conn[a][b])
				return false;
	return true;
}


static int dump_record(void *ctx, const struct glock_record *r)
{
	struct sim_node *nd = ctx;
	char buf[600];
	int off = 0;
	size_t i;

	off += snprintf(buf + off, sizeof(buf) - (size_t)off, "  n%u masters g%d:", nd->id,
			glock_index(&r->name));
	for (i = 0; i < r->n_holders && off < 500; i++)
		off += snprintf(buf + off, sizeof(buf) - (size_t)off, " n%u:%s%s",
				r->holders[i].node, glock_mode_name(r->holders[i].mode),
				r->holders[i].demote_sent ? "(demoted)" : "");
	for (i = 0; i < r->n_expired && off < 500; i++)
		off += snprintf(buf + off, sizeof(buf) - (size_t)off, " exp n%u:%s%s",
				r->expired[i].node, glock_mode_name(r->expired[i].mode),
				r->expired[i].fenced ? "(fenced)" : "");
	for (i = 0; i < r->n_waiters && off < 500; i++)
		off += snprintf(buf + off, sizeof(buf) - (size_t)off, " wait n%u:%s req %" PRIu64 "%s",
				r->waiters[i].node, glock_mode_name(r->waiters[i].mode),
				r->waiters[i].req_id, r->waiters[i].convert ? "(conv)" : "");
	fprintf(stderr, "%s\n", buf);
	return 0;
}

/* What every node has, when the drain does not converge. */
static int dump_plock(void *ctx, const struct glock_name *name, const struct glock_plock_lock *l,
		      const struct glock_plock_waiter *w)
{
	const struct glock_plock_lock *x = l ? l : &w->want;

	printf("  n%u masters f%d: %s n%u o%" PRIu64 " %s %" PRIu64 "-%" PRIu64 "%s\n",
	       *(const uint32_t *)ctx, plock_file(name), l ? "lock" : "waiter", x->owner.node,
	       x->owner.id - 1, x->type == GLOCK_PLOCK_WR ? "WR" : "RD", x->start,
	       plock_last(x->end), w ? "" : "");
	return 0;
}

static void dump_state(void)
{
	unsigned int i;
	int gi;

	for (i = 0; i < S.n; i++) {
		struct sim_node *nd = &S.node[i];
		struct glock_departed_rec dep[16];
		struct glock_p2p_stats st;
		size_t n, k;

		if (!nd->alive) {
			fprintf(stderr, "n%u: dead\n", nd->id);
			continue;
		}
		glock_p2p_stats(nd->p2p, &st);
		n = glock_engine_departed(nd->eng, dep, 16);
		fprintf(stderr, "n%u: part %d pos %" PRIu64 "/%" PRIu64 " synced %d quorate %d ready %d"
			" mastered %zu recovering %zu held %zu parked %zu dropped %" PRIu64 " departed",
			nd->id, nd->part, nd->pos, log_end(nd->part), glock_engine_synced(nd->eng),
			glock_engine_quorate(nd->eng), nd->ready_told, st.mastered, st.recovering,
			st.held, st.parked, st.dropped);
		for (k = 0; k < n && k < 16; k++)
			fprintf(stderr, " %u%s", dep[k].node, dep[k].fenced ? "F" : "");
		fprintf(stderr, "\n  client:");
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			fprintf(stderr, " g%d:%d/%s(m%u)", gi, nd->g[gi].st,
				glock_mode_name(nd->g[gi].held),
				glock_p2p_master_of(nd->p2p, &glock_names[gi]));
		fprintf(stderr, "\n");
		glock_p2p_export_mastered(nd->p2p, dump_record, nd);
	}
	for (i = 0; plocks && i < S.n; i++)
		if (S.node[i].alive)
			(void)glock_p2p_export_plocks(S.node[i].p2p, dump_plock, &S.node[i].id);
}
/* Lets the cluster take in the last membership change (bounded). */
static void settle(void)
{
	unsigned int k, i;

	for (k = 0; k < 100000 && !settled(); k++) {
		for (i = 0; i < S.n; i++)
			deliver_event(&S.node[i]);
		deliver_any_link();
		if (k % 16 == 0)
			for (i = 0; i < S.n; i++)
				node_tick(&S.node[i], 5000);
	}
	for (i = 0; i < S.n; i++)
		log_trim((int)i);
}

/*
 * Liveness: heal everything, bring every node back, reconnect every link,
 * fence and recover, stop new requests and let holders release.  Every
 * request must be answered and every table must empty within a bound: a
 * waiter that starves, or a request a master forgot, fails here.
 */
static void drain(void)
{
	unsigned int i;
	uint64_t k;

	int main_part = 0;

	S.draining = true;
	trace("drain begins");
	for (i = 0; i < S.n; i++)
		log_flush((int)i);
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive) {
			main_part = S.node[i].part;
			break;
		}
	for (i = 0; i < S.n; i++) {
		if (!chaos)
			settle();
		if (!S.node[i].alive)
			restart(&S.node[i], main_part);
		else if (S.node[i].part != main_part)
			heal(main_part, S.node[i].part);
	}
	for (k = 0; k < SIM_DRAIN_STEPS && !S.violations; k++) {
		struct sim_node *nd = &S.node[rng_below(S.n)];
		unsigned int r = rng_below(100);
		bool calm = chaos || settled();

		current_step++;
		if (k % 50 == 0 && calm) {
			fence_step(true);
			calm = chaos || settled(); /* a fence powers off: one change at a time */
		}
		if (!nd->alive && calm) {
			restart(nd, main_part); /* fencing powered it off: it boots and rejoins */
		} else if (!nd->alive) {
			deliver_any_link();
		} else if (!all_links_up() && r < 10) {
			uint32_t a, b;

			for (a = 1; a <= S.n; a++)
				for (b = a + 1; b <= S.n; b++)
					link_restore(a, b);
		} else if (r < 45) {
			deliver_event(nd);
			log_trim(main_part);
		} else if (r < 75) {
			deliver_any_link();
		} else {
			node_tick(nd, 20000);
			client_or_plock_action(nd);
		}
		check_invariants();
		/*
		 * Phase one ends when every request is answered with caching
		 * nodes letting go only on demotes; phase two empties the tables.
		 */
		if (!S.drain_release_all && !requests_pending() && logs_read() && links_empty()) {
			S.drain_release_all = true;
			trace("drain: every request answered; everyone releases");
		}
		/*
		 * Phase three: what a master still has with nobody holding it
		 * (a grant it believes from before a RESET) must go once somebody
		 * asks for the glock.
		 */
		if (S.drain_release_all && !S.drain_probe && k % 1000 == 999 && logs_read() &&
		    links_empty()) {
			S.drain_probe = true;
			trace("drain: probing what the masters still have");
		}
		if (quiescent())
			break;
	}
	if (S.violations)
		return;
	if (!quiescent())
		dump_state();
	for (i = 0; i < S.n; i++) {
		struct glock_p2p_stats st;
		int gi;

		if (!S.node[i].alive)
			continue;
		if (!glock_engine_synced(S.node[i].eng))
			violation("drain: n%u never synced", S.node[i].id);
		for (gi = 0; gi < SIM_GLOCKS; gi++)
			if (S.node[i].g[gi].st == CL_LOCKING || S.node[i].g[gi].st == CL_CONVERTING)
				violation("drain: n%u request on g%d (req %" PRIu64
					  ", asked at step %" PRIu64 ") never answered",
					  S.node[i].id, gi, S.node[i].g[gi].req_id,
					  S.node[i].g[gi].asked_step);
		glock_p2p_stats(S.node[i].p2p, &st);
		if (st.mastered || st.held)
			violation("drain: n%u still masters %zu, holds %zu, parks %zu", S.node[i].id,
				  st.mastered, st.held, st.parked);
		for (gi = 0; gi < SIM_POWNERS; gi++)
			if (S.node[i].po[gi].req_id)
				violation("drain: n%u o%d POSIX op req %" PRIu64
					  " (asked at step %" PRIu64 ") never answered",
					  S.node[i].id, gi, S.node[i].po[gi].req_id,
					  S.node[i].po[gi].asked_step);
		if (st.plock_files || st.plock_pending)
			violation("drain: n%u still masters POSIX locks on %zu files (%zu locks, "
				  "%zu waiters), %zu ops unanswered",
				  S.node[i].id, st.plock_files, st.plock_locks, st.plock_waiters,
				  st.plock_pending);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: p2p-sim [--nodes A[-B]] [--steps S] [--seed X] [--seeds K] [--trace]\n"
		"               [--quiet] [--mutant-reorder] [--no-partitions] [--chaos] [--stalls]\n"
		"               [--plocks] [--no-incarnations]\n"
		"  N nodes (3..%d) running the p2p lock path over simulated FIFO links and\n"
		"  CPG, with crashes, joins, partitions, link resets and fencing; invariants\n"
		"  checked after every step.  --seeds K runs seeds X..X+K-1.\n"
		"  --mutant-reorder: links that reorder (the check must fail).\n"
		"  --stalls: a node now and then stops reading CPG for a while.\n"
		"  --plocks: owners take POSIX byte-range locks too, checked byte by byte.\n"
		"  --no-incarnations: configuration ids from the member list alone.\n"
		"  Exit 0: no violation; 1: violation; 2: usage.\n",
		SIM_NODES_MAX);
}

static void run_free(void)
{
	unsigned int i;
	uint32_t a, b;

	for (i = 0; i < S.n; i++) {
		glock_p2p_free(S.node[i].p2p);
		glock_engine_free(S.node[i].eng);
		S.node[i].p2p = NULL;
		S.node[i].eng = NULL;
	}
	for (i = 0; i < SIM_NODES_MAX; i++) {
		log_clear((int)i);
		free(S.log[i].v);
	}
	for (a = 0; a <= SIM_NODES_MAX; a++)
		for (b = 0; b <= SIM_NODES_MAX; b++)
			free(S.link[a][b].v);
}

static int run_one(unsigned int nodes, uint64_t steps, uint64_t seed)
{
	unsigned int i;
	uint32_t a, b;
	uint64_t s;

	memset(&S, 0, sizeof(S));
	trace_count = 0;
	current_step = 0;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (!rng_state)
		rng_state = 1;
	S.n = nodes;
	for (i = 0; i < nodes; i++) {
		S.node[i].id = i + 1;
		node_start(&S.node[i], 0);
		S.node[i].incarnation = 1;
	}
	for (a = 1; a <= nodes; a++)
		for (b = 1; b <= nodes; b++)
			S.conn[a][b] = S.view_up[a][b] = a != b;
	append_confchg(0);
	for (s = 0; s < steps && !S.violations; s++) {
		current_step = s + 1;
		step_random((nodes + 1) / 2 - (nodes > 4 ? 1 : 0));
		check_invariants();
	}
	if (!S.violations)
		drain();
	run_free();
	return S.violations ? 1 : 0;
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
		{ "mutant-reorder", no_argument, NULL, 'r' },
		{ "no-partitions", no_argument, NULL, 'p' },
		{ "chaos", no_argument, NULL, 'c' },
		{ "stalls", no_argument, NULL, 'S' },
		{ "plocks", no_argument, NULL, 'P' },
		{ "no-incarnations", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t nodes_min = 3, nodes_max = 3, steps = 10000, seed = 1, seeds = 1;
	uint64_t total_steps = 0, total_violations = 0, k;
	bool quiet = false;
	int c;

	glock_names_init();
	plock_names_init();
	while ((c = getopt_long(argc, argv, "n:s:x:k:tqrpcSPIh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_nodes(optarg, &nodes_min, &nodes_max, SIM_NODES_MAX))
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
		case 'r':
			mutant_reorder = true;
			break;
		case 'p':
			no_partitions = true;
			break;
		case 'c':
			chaos = true;
			break;
		case 'S':
			stalls = true;
			break;
		case 'P':
			plocks = true;
			break;
		case 'I':
			no_incarnations = true;
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

		total_steps += steps;
		if (!quiet || rc)
			printf("seed=%" PRIu64 " nodes=%u steps=%" PRIu64 " violations=%" PRIu64
			       " grants=%" PRIu64 " denies=%" PRIu64 " demotes=%" PRIu64
			       " lost=%" PRIu64 " crashes=%" PRIu64 " restarts=%" PRIu64
			       " splits=%" PRIu64 " heals=%" PRIu64 " fences=%" PRIu64
			       " recoveries=%" PRIu64 " link_resets=%" PRIu64 " link_msgs=%" PRIu64
			       " events=%" PRIu64 " reports=%" PRIu64 " refused=%" PRIu64
			       " lvb_checked=%" PRIu64 " lvb_invalid=%" PRIu64 "\n",
			       x, n, steps, S.violations, S.grants, S.denies, S.demotes, S.losts,
			       S.crashes, S.restarts, S.splits, S.heals, S.fences, S.recoveries,
			       S.link_resets, S.link_msgs, S.events, S.reports, S.refused,
			       S.lvb_checked, S.lvb_invalid_seen);
		if (plocks && (!quiet || rc))
			printf("  plocks: ops=%" PRIu64 " granted=%" PRIu64 " refused=%" PRIu64
			       " lost=%" PRIu64 "\n",
			       S.plock_ops, S.plock_granted, S.plock_refused, S.plock_lost);
		if (rc) {
			total_violations += S.violations;
			print_trace_tail();
			fprintf(stderr, "replay: %s --nodes %u --steps %" PRIu64 " --seed %" PRIu64
				" --trace%s%s%s%s%s%s\n", argv[0], n, steps, x, plocks ? " --plocks" : "",
				mutant_reorder ? " --mutant-reorder" : "", chaos ? " --chaos" : "",
				no_partitions ? " --no-partitions" : "", stalls ? " --stalls" : "",
				no_incarnations ? " --no-incarnations" : "");
			break;
		}
	}
	printf("steps=%" PRIu64 " violations=%" PRIu64 "\n", total_steps, total_violations);
	return total_violations ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
