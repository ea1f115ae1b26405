/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl bench: lock latencies (median, p99) and throughput of a cluster
 * lock service: glockd through libglock (--backend glockd, the default) or
 * the kernel DLM through libdlm (--backend dlm, when built with libdlm).
 * Every latency is one call timed with CLOCK_MONOTONIC on one node; no
 * figure compares two nodes' clocks.  --warmup N extra iterations run
 * first and are not kept.
 *
 * Both backends give the bench a node-level lock that stays cached after
 * its holder lets go, until another node asks for it: glockd's agent does
 * that; the DLM backend keeps one DLM lock per resource and converts it to
 * NL on a blocking AST, as gfs2 does over lock_dlm (bench_dlm.c).  Modes
 * map as lock_dlm maps them: SH -> PR, DF -> CW, EX -> EX, UN -> NL.  So
 * each test means the same on both:
 *
 *   uncached   acquire EX of a lock no node has held (a new number each
 *              iteration), then release (it stays cached on this node).
 *              glockd: one ordered CPG delivery (lock_path = cpg), or
 *              the master's answer (p2p: a round trip unless this node
 *              masters it).  DLM: the directory lookup (a round trip
 *              unless this node is the directory node) and the grant by
 *              the new master, this node.
 *   uncached-local, uncached-remote  (glockd with lock_path = p2p) the
 *              same on glocks this node masters (no network) or another
 *              node masters (one round trip), picked by the master
 *              function glockd uses (ctl_master.c) over its members.
 *   cached     re-acquire + release of a lock this node holds EX, idle.
 *              glockd: one IPC round trip to the agent, no network.  DLM:
 *              no call at all (the cache is in the process, as gfs2's is
 *              in the kernel).
 *   handoff    (needs a peer) acquire EX of a lock the peer node holds
 *              EX, cached and idle: request, demote (DLM: blocking AST and
 *              the peer's conversion to NL), release, grant.
 *   shared     (with handoff) acquire SH of a lock the peer holds SH: a
 *              compatible grant with the peer holding it.
 *   pingpong   (needs a peer) one lock bounced EX between this node and
 *              the peer as fast as both can, each side taking its turn
 *              (the LVB says whose).  Each side times from one of its
 *              grants to its next: a round, two handoffs; the peer passes
 *              its rounds in the LVB.  Both sides' rounds are kept.  A
 *              grant is always fresh here, so glockd's minimum hold time
 *              delays every demote: with the default hold time this
 *              measures the hold time, with hold_*_ms = 0 the protocol.
 *              Bounded by --iterations samples or --pp-seconds.
 *   shared-all acquire SH of locks --base, --base+1, ... (run it on every
 *              node at once with the same --base: every acquire meets the
 *              other nodes' SH grants or requests), release (stays cached)
 *   throughput --clients K threads, each its own connection (DLM: its own
 *              lockspace handle), acquire + release new locks for
 *              --seconds: lock ops/s of this node (run it on every node at
 *              once and add up)
 *
 * --tests LIST (comma-separated) picks tests; default
 * uncached,cached,handoff,pingpong,throughput (handoff and pingpong need
 * a peer: --no-peer drops them).
 *
 * DLM lockspace.  Every node must have joined the lockspace before timing,
 * or the first joiner masters everything locally: open waits until
 * --members N nodes are in it (default: every node dlm_controld put in
 * configfs).  The lockspace stays joined when the bench ends, as a mounted
 * gfs2's would; `dlm_tool leave NAME` leaves it.
 *
 * Peer coordination (handoff, shared, pingpong).  Run `glockctl bench
 * --role pingpong-peer` on another node first.  A control glock C (type
 * 0xbe0) carries the protocol in its LVB {magic, seq, state, mode, base,
 * count}.  The peer, holding C in EX, takes `count` fresh glocks (type
 * 0xbe1, numbers base..) in `mode` and lets them go idle (cached on the
 * peer's node), waits --settle-ms so they are older than glockd's minimum
 * hold time, writes READY into C's LVB and unlocks C.  The driver, waiting
 * for C in EX, reads READY, measures one acquire per glock of the batch
 * while holding C (so the peer stays quiet), writes DONE and unlocks.  The
 * peer, already queued for C, gets it back, and so on.  Instead of DONE the
 * driver may write PINGPONG {base = glock number}: the peer answers with
 * PP_ACK and plays the other side of the ping-pong (type 0xbe5) until the
 * driver sets `stop` in that glock's LVB.  STOP ends the peer.  Each
 * handoff is then exactly: LOCK delivered, DEMOTE to the peer's agent (no
 * hold-time delay), RELEASE delivered, GRANT.
 *
 * --lockspace (default "bench") and --backend must match on both nodes.
 * --json prints one JSON object (backend, lockspace, ...; results: test,
 * n, p50_us, p99_us, min_us, max_us, mean_us, ops_per_s, error).
 * --samples DIR writes every test's samples (save_samples()).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_backend.h"
#include "glock.h"
#include "glockctl.h"

int glock__bench_main(int argc, char **argv);

#define B_CTRL_TYPE 0xbe0u
#define B_DATA_TYPE 0xbe1u
#define B_UNCACHED_TYPE 0xbe2u
#define B_CACHED_TYPE 0xbe3u
#define B_TPUT_TYPE 0xbe4u
#define B_PP_TYPE 0xbe5u
#define B_SHALL_TYPE 0xbe6u
#define B_MAGIC 0x676c6231u    /* "glb1" */
#define B_PP_MAGIC 0x676c7070u /* "glpp" */
#define B_LOCK_TMO_MS 10000u
#ifdef HAVE_LIBDLM
#define HAVE_DLM_TEXT ", dlm"
#else
#define HAVE_DLM_TEXT ""
#endif
#define B_PP_SPIN_US 20u /* not our turn yet: our own cached grant; look again */
#define B_PP_STALL_NS (15ull * 1000000000u) /* no turn for this long: give up */

enum { B_IDLE = 0, B_READY = 1, B_DONE = 2, B_STOP = 3, B_PINGPONG = 4, B_PP_ACK = 5 };

enum {
	T_UNCACHED = 1u << 0,
	T_CACHED = 1u << 1,
	T_HANDOFF = 1u << 2,
	T_PINGPONG = 1u << 3,
	T_SHALL = 1u << 4,
	T_TPUT = 1u << 5,
	T_UNC_LOCAL = 1u << 6,
	T_UNC_REMOTE = 1u << 7,
	T_PEER = T_HANDOFF | T_PINGPONG,
	T_DEFAULT = T_UNCACHED | T_CACHED | T_HANDOFF | T_PINGPONG | T_TPUT,
};

struct b_lvb {
	uint32_t magic, seq, state, mode;
	uint64_t base;
	uint32_t count, pad;
};

/* The ping-pong glock's LVB. */
struct b_pp_lvb {
	uint32_t magic, seq; /* seq even: the driver's turn, odd: the peer's */
	uint32_t stop, pad;
	uint64_t peer_round_ns; /* the peer's last round, by its own clock */
	uint64_t unused;
};

_Static_assert(sizeof(struct b_lvb) == GLOCK_LVB_SIZE, "LVB layout");
_Static_assert(sizeof(struct b_pp_lvb) == GLOCK_LVB_SIZE, "LVB layout");

struct b_opts {
	const struct bench_backend *be;
	const char *ls, *samples_dir;
	unsigned iterations, warmup, clients, seconds, batch, settle_ms, timeout_s, pp_seconds;
	unsigned members;
	unsigned tests;
	uint64_t base;
	bool json, peer, have_base;
};

struct b_result {
	const char *name;
	size_t n;
	double p50, p99, min, max, mean, ops;
	int err;
};

enum {
	R_UNCACHED,
	R_UNC_LOCAL,
	R_UNC_REMOTE,
	R_CACHED,
	R_HANDOFF,
	R_SHARED,
	R_PINGPONG,
	R_SHALL,
	R_TPUT,
	R_MAX
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles, as rawbench. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

/*
 * --samples DIR: every sample of a test, sorted, in microseconds, one per
 * line, in DIR/BACKEND-TEST.dat (spaces in the name become dashes): what
 * the benches' latency plots are drawn from.
 */
static void save_samples(const struct b_opts *o, const struct b_result *r, const uint64_t *v,
			 size_t n)
{
	char path[4096], *p;
	size_t i;
	FILE *f;
	int len;

	len = snprintf(path, sizeof(path), "%s/%s-%s.dat", o->samples_dir, o->be->name, r->name);
	if (len < 0 || (size_t)len >= sizeof(path))
		return;
	for (p = path + strlen(o->samples_dir) + 1; *p; p++)
		if (*p == ' ' || *p == '/')
			*p = '-';
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "glockctl bench: cannot write %s: %s\n", path, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%.1f\n", (double)v[i] / 1000.0);
	if (fclose(f))
		fprintf(stderr, "glockctl bench: cannot write %s: %s\n", path, strerror(errno));
}

static void summarize(const struct b_opts *o, struct b_result *r, uint64_t *v, size_t n)
{
	double sum = 0;
	size_t i;

	r->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	if (o->samples_dir)
		save_samples(o, r, v, n);
	for (i = 0; i < n; i++)
		sum += (double)v[i];
	r->p50 = pct_us(v, n, 0.5);
	r->p99 = pct_us(v, n, 0.99);
	r->min = (double)v[0] / 1000.0;
	r->max = (double)v[n - 1] / 1000.0;
	r->mean = sum / (double)n / 1000.0;
}

/*
 * A base number no earlier run used: time-based, so new glocks really are
 * new; the pid keeps concurrent runs on several nodes apart.
 */
static uint64_t fresh_base(void)
{
	return ((now_ns() / 1000u) << 16) + ((uint64_t)(getpid() & 0xffff) << 48);
}

/*
 * Acquire (timed) + release of glock type/base+i for warmup + iterations
 * values of i; only the last `iterations` are kept.
 */
static void bench_acquire_nums(struct bench_ls *ls, const struct b_opts *o, struct b_result *r,
			       uint32_t type, uint64_t base, int mode, bool same, const uint64_t *nums);

static void bench_acquire(struct bench_ls *ls, const struct b_opts *o, struct b_result *r,
			  uint32_t type, uint64_t base, int mode, bool same)
{
	bench_acquire_nums(ls, o, r, type, base, mode, same, NULL);
}

/* As bench_acquire, of glocks nums[i] when nums is not NULL. */
static void bench_acquire_nums(struct bench_ls *ls, const struct b_opts *o, struct b_result *r,
			       uint32_t type, uint64_t base, int mode, bool same, const uint64_t *nums)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), t0, dt;
	struct bench_lock *h;
	size_t n = 0;
	unsigned i;

	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	for (i = 0; i < o->warmup + o->iterations; i++) {
		t0 = now_ns();
		r->err = o->be->lock(ls, type, nums ? nums[i] : same ? base : base + i, mode,
				     B_LOCK_TMO_MS, &h);
		dt = now_ns() - t0;
		if (r->err)
			break;
		if (i >= o->warmup)
			v[n++] = dt;
		r->err = o->be->unlock(h);
		if (r->err)
			break;
	}
	summarize(o, r, v, n);
	free(v);
}

static void bench_uncached(struct bench_ls *ls, const struct b_opts *o, struct b_result *r)
{
	r->name = "uncached acquire";
	bench_acquire(ls, o, r, B_UNCACHED_TYPE, fresh_base(), GLOCK_EX, false);
}

/*
 * lock_path = p2p: uncached acquires of glocks this node masters (no
 * network at all) or that another node masters (one round trip), picked
 * with the master function glockd uses over the members it names.
 */
static void bench_uncached_by_master(struct bench_ls *ls, const struct b_opts *o,
				     struct b_result *r, bool local)
{
	GlockIpcStatusReply *st = NULL;
	struct glock_ls *admin = NULL;
	size_t need = (size_t)o->warmup + o->iterations, k = 0;
	uint64_t *nums = NULL, num;

	r->name = local ? "uncached, local master" : "uncached, remote master";
	if (o->be != &glock__bench_glockd) {
		r->err = -EOPNOTSUPP; /* the DLM's masters are its own business */
		return;
	}
	r->err = glock__ctl_admin_open(&admin);
	if (r->err)
		return;
	st = glock__ctl_status(admin);
	glock_close(admin);
	if (!st) {
		r->err = -ENOTCONN;
		return;
	}
	if (!st->p2p || (!local && st->n_members < 2)) {
		fprintf(stderr, "glockctl bench: %s needs lock_path = p2p%s\n", r->name,
			local ? "" : " and another member");
		r->err = -EOPNOTSUPP;
		goto out;
	}
	nums = calloc(need, sizeof(*nums));
	if (!nums) {
		r->err = -ENOMEM;
		goto out;
	}
	for (num = fresh_base(); k < need; num++)
		if ((glock__ctl_master_of(o->ls, B_UNCACHED_TYPE, num, st->members, st->n_members) ==
		     st->local_node) == local)
			nums[k++] = num;
	bench_acquire_nums(ls, o, r, B_UNCACHED_TYPE, 0, GLOCK_EX, false, nums);
out:
	free(nums);
	glock_ipc_status_reply__free_unpacked(st, NULL);
}

static void bench_cached(struct bench_ls *ls, const struct b_opts *o, struct b_result *r)
{
	struct bench_lock *h;
	uint64_t num = fresh_base();

	r->name = "cached re-acquire";
	r->err = o->be->lock(ls, B_CACHED_TYPE, num, GLOCK_EX, B_LOCK_TMO_MS, &h);
	if (!r->err)
		r->err = o->be->unlock(h);
	if (!r->err)
		bench_acquire(ls, o, r, B_CACHED_TYPE, num, GLOCK_EX, true);
}

static void bench_shall(struct bench_ls *ls, const struct b_opts *o, struct b_result *r)
{
	r->name = "shared-all SH";
	bench_acquire(ls, o, r, B_SHALL_TYPE, o->have_base ? o->base : fresh_base(), GLOCK_SH,
		      false);
}

/* ---- throughput ---- */

struct tput_arg {
	const struct b_opts *o;
	uint64_t base;
	uint64_t ops;
	int err;
	volatile const bool *stop;
};

static void *tput_thread(void *p)
{
	struct tput_arg *a = p;
	struct bench_ls *ls;
	struct bench_lock *h;
	uint64_t i = 0;

	const struct b_opts *o = a->o;
	const char *why = "";

	a->err = o->be->open(o->ls, o->members, &ls, &why);
	if (a->err)
		return NULL;
	while (!*a->stop) {
		a->err = o->be->lock(ls, B_TPUT_TYPE, a->base + i++, GLOCK_EX, B_LOCK_TMO_MS, &h);
		if (a->err)
			break;
		a->err = o->be->unlock(h);
		if (a->err)
			break;
		a->ops++;
	}
	o->be->close(ls);
	return NULL;
}

static void bench_tput(const struct b_opts *o, struct b_result *r)
{
	pthread_t *th = calloc(o->clients, sizeof(*th));
	struct tput_arg *a = calloc(o->clients, sizeof(*a));
	volatile bool stop = false;
	uint64_t base = fresh_base(), t0, ops = 0;
	unsigned i, started = 0;

	r->name = "throughput";
	if (!th || !a) {
		r->err = -ENOMEM;
		goto out;
	}
	t0 = now_ns();
	for (i = 0; i < o->clients; i++) {
		a[i] = (struct tput_arg){ .o = o, .base = base + ((uint64_t)i << 32), .stop = &stop };
		if (pthread_create(&th[i], NULL, tput_thread, &a[i]))
			break;
		started++;
	}
	sleep(o->seconds);
	stop = true;
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		ops += a[i].ops;
		if (a[i].err && !r->err)
			r->err = a[i].err;
	}
	r->n = ops;
	r->ops = ops / ((now_ns() - t0) / 1e9);
out:
	free(th);
	free(a);
}

/* ---- peer protocol ---- */

static int ctrl_take(const struct b_opts *o, struct bench_ls *ls, struct bench_lock **h,
		     struct b_lvb *l)
{
	int err = o->be->lock(ls, B_CTRL_TYPE, 0, GLOCK_EX, o->timeout_s * 1000u, h);

	if (!err)
		o->be->lvb_read(*h, (uint8_t *)l);
	return err;
}

static int ctrl_give(const struct b_opts *o, struct bench_lock *h, const struct b_lvb *l)
{
	int err = o->be->lvb_write(h, (const uint8_t *)l);

	return err ? err : o->be->unlock(h);
}

/*
 * One side of the ping-pong on glock B_PP_TYPE/num.  Each side times its
 * own successive grants (one clock per sample: the sides may be guests
 * with clocks of their own): a round, from one grant of this side to the
 * next, is two handoffs.  parity 0: the driver, which keeps its own rounds
 * and the peer's (passed in the LVB) in v (up to max) and ends the game
 * by setting stop at its turn once it has enough or the deadline passed;
 * parity 1: the peer, which returns when it sees stop.
 */
static int pp_play(const struct b_opts *o, struct bench_ls *ls, uint64_t num, unsigned parity,
		   uint64_t *v, size_t max, size_t *ret_n, unsigned warmup, uint64_t deadline)
{
	struct bench_lock *h;
	struct b_pp_lvb l;
	size_t n = 0;
	uint64_t t, prev_grant = 0, last_turn = now_ns();
	int err;

	for (;;) {
		err = o->be->lock(ls, B_PP_TYPE, num, GLOCK_EX, B_LOCK_TMO_MS, &h);
		if (err)
			break;
		t = now_ns();
		o->be->lvb_read(h, (uint8_t *)&l);
		if (l.magic != B_PP_MAGIC || l.seq % 2 != parity) {
			/*
			 * Our own grant, still cached here: the other side has not
			 * had it.  A demote the lock service never delivers would
			 * keep us here for ever (and the other side waits): give up.
			 */
			err = o->be->unlock(h);
			if (!err && t - last_turn > B_PP_STALL_NS)
				err = -ETIMEDOUT;
			if (err)
				break;
			usleep(B_PP_SPIN_US);
			continue;
		}
		last_turn = t;
		if (l.stop) { /* peer: the driver is done */
			err = o->be->unlock(h);
			break;
		}
		/* seq counts handoffs: drop each side's first `warmup` rounds */
		if (parity == 0 && l.seq > 2 * warmup) {
			if (l.peer_round_ns && n < max)
				v[n++] = l.peer_round_ns;
			if (prev_grant && n < max)
				v[n++] = t - prev_grant;
			if (n >= max || now_ns() >= deadline)
				l.stop = 1;
		}
		if (parity == 1)
			l.peer_round_ns = prev_grant ? t - prev_grant : 0;
		prev_grant = t;
		l.seq++;
		err = o->be->lvb_write(h, (const uint8_t *)&l);
		if (!err)
			err = o->be->unlock(h);
		if (err || l.stop)
			break;
	}
	if (ret_n)
		*ret_n = n;
	return err;
}

static int run_peer(const struct b_opts *o)
{
	struct bench_ls *ls;
	struct bench_lock *c, *h;
	struct b_lvb l;
	uint32_t seq = 0;
	unsigned i;
	const char *why = "";
	int err = o->be->open(o->ls, o->members, &ls, &why);

	if (err) {
		fprintf(stderr, "bench peer: %s: %s\n", why, strerror(-err));
		return err;
	}
	fprintf(stderr, "bench peer: waiting for a driver (lockspace %s)\n", o->ls);
	for (;;) {
		err = ctrl_take(o, ls, &c, &l);
		if (err)
			break;
		if (l.magic == B_MAGIC && l.state == B_STOP) {
			memset(&l, 0, sizeof(l));
			ctrl_give(o, c, &l);
			break;
		}
		if (l.magic == B_MAGIC && l.state == B_PINGPONG) {
			uint64_t num = l.base;

			l.state = B_PP_ACK;
			err = ctrl_give(o, c, &l);
			if (!err)
				err = pp_play(o, ls, num, 1, NULL, 0, NULL, 0, 0);
			if (err) {
				/* the driver reports it; stay around for STOP */
				fprintf(stderr, "bench peer: ping-pong: %s\n", strerror(-err));
				err = 0;
			}
			continue;
		}
		if (l.magic == B_MAGIC && l.state == B_READY && l.seq == seq) {
			/* the driver has not taken the last batch yet */
			o->be->unlock(c);
			usleep(1000);
			continue;
		}
		/* IDLE (a new driver), DONE or PP_ACK: prepare the next batch. */
		memset(&l, 0, sizeof(l));
		l.magic = B_MAGIC;
		l.seq = ++seq;
		l.state = B_READY;
		l.mode = seq % 2 ? GLOCK_EX : GLOCK_SH;
		l.base = fresh_base();
		l.count = o->batch;
		for (i = 0; i < l.count && !err; i++) {
			err = o->be->lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, B_LOCK_TMO_MS, &h);
			if (!err)
				err = o->be->unlock(h);
		}
		usleep(o->settle_ms * 1000u);
		if (!err)
			err = ctrl_give(o, c, &l);
		if (err)
			break;
	}
	o->be->close(ls);
	fprintf(stderr, "bench peer: done (%s)\n", err ? strerror(-err) : "ok");
	return err;
}

/* Takes C once the peer has written a batch (READY, not yet seen). */
static int ctrl_take_ready(struct bench_ls *ls, const struct b_opts *o, struct bench_lock **c,
			   struct b_lvb *l, uint32_t last)
{
	int err;

	for (;;) {
		err = ctrl_take(o, ls, c, l);
		if (err)
			return err;
		if (l->magic == B_MAGIC && l->state == B_READY && l->seq != last)
			return 0;
		o->be->unlock(*c);
		usleep(1000);
	}
}

static void bench_peer(struct bench_ls *ls, const struct b_opts *o, struct b_result *ex,
		       struct b_result *sh)
{
	uint64_t *vex = calloc(o->iterations, sizeof(*vex));
	uint64_t *vsh = calloc(o->iterations, sizeof(*vsh));
	size_t nex = 0, nsh = 0, wex = 0, wsh = 0;
	struct bench_lock *c, *h;
	struct b_lvb l;
	uint32_t last = 0;
	int err = 0;
	unsigned i;

	ex->name = "EX handoff";
	sh->name = "shared SH";
	if (!vex || !vsh) {
		ex->err = sh->err = -ENOMEM;
		goto out;
	}
	while (!err && (nex < o->iterations || nsh < o->iterations)) {
		err = ctrl_take_ready(ls, o, &c, &l, last);
		if (err)
			break;
		last = l.seq;
		for (i = 0; i < l.count && !err; i++) {
			uint64_t t0 = now_ns(), dt;

			err = o->be->lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, B_LOCK_TMO_MS, &h);
			dt = now_ns() - t0;
			if (!err)
				err = o->be->unlock(h);
			if (err)
				break;
			if (l.mode == GLOCK_EX && wex < o->warmup)
				wex++;
			else if (l.mode == GLOCK_EX && nex < o->iterations)
				vex[nex++] = dt;
			else if (l.mode == GLOCK_SH && wsh < o->warmup)
				wsh++;
			else if (l.mode == GLOCK_SH && nsh < o->iterations)
				vsh[nsh++] = dt;
		}
		l.state = B_DONE;
		if (!err)
			err = ctrl_give(o, c, &l);
	}
	ex->err = sh->err = err;
	summarize(o, ex, vex, nex);
	summarize(o, sh, vsh, nsh);
out:
	free(vex);
	free(vsh);
}

static void bench_pingpong(struct bench_ls *ls, const struct b_opts *o, struct b_result *r)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), num = fresh_base();
	struct bench_lock *c, *h;
	struct b_pp_lvb pl = { .magic = B_PP_MAGIC, .seq = 1 };
	struct b_lvb l;
	size_t n = 0;

	r->name = "EX ping-pong round";
	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	/* The glock starts here, with the peer to move first. */
	r->err = o->be->lock(ls, B_PP_TYPE, num, GLOCK_EX, B_LOCK_TMO_MS, &h);
	if (!r->err) {
		r->err = o->be->lvb_write(h, (const uint8_t *)&pl);
		if (!r->err)
			r->err = o->be->unlock(h);
	}
	if (!r->err)
		r->err = ctrl_take_ready(ls, o, &c, &l, 0);
	if (!r->err) {
		l.state = B_PINGPONG;
		l.base = num;
		r->err = ctrl_give(o, c, &l);
	}
	if (!r->err)
		r->err = pp_play(o, ls, num, 0, v, o->iterations, &n, o->warmup > 10 ? 10 : o->warmup ? o->warmup : 1,
				 now_ns() + (uint64_t)o->pp_seconds * 1000000000u);
	summarize(o, r, v, n);
	free(v);
}

static void peer_stop(struct bench_ls *ls, const struct b_opts *o)
{
	struct bench_lock *c;
	struct b_lvb l;

	if (!ctrl_take(o, ls, &c, &l)) {
		memset(&l, 0, sizeof(l));
		l.magic = B_MAGIC;
		l.state = B_STOP;
		ctrl_give(o, c, &l);
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_results(const struct b_opts *o, const struct b_result *r, size_t n)
{
	bool first = true;
	size_t i;

	if (o->json) {
		printf("{\"backend\":");
		json_str(o->be->name);
		printf(",\"lockspace\":");
		json_str(o->ls);
		printf(",\"iterations\":%u,\"warmup\":%u,\"clients\":%u,\"seconds\":%u,"
		       "\"results\":[",
		       o->iterations, o->warmup, o->clients, o->seconds);
		for (i = 0; i < n; i++) {
			if (!r[i].name)
				continue;
			printf("%s{\"test\":\"%s\",\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,"
			       "\"min_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"ops_per_s\":%.0f,"
			       "\"error\":\"%s\"}",
			       first ? "" : ",", r[i].name, r[i].n, r[i].p50, r[i].p99, r[i].min,
			       r[i].max, r[i].mean, r[i].ops, r[i].err ? strerror(-r[i].err) : "");
			first = false;
		}
		printf("]}\n");
		return;
	}
	printf("%-24s %8s %10s %10s %10s %10s %10s\n", "test", "n", "p50 us", "p99 us", "min us",
	       "max us", "ops/s");
	for (i = 0; i < n; i++) {
		if (!r[i].name)
			continue;
		if (r[i].ops)
			printf("%-24s %8zu %10s %10s %10s %10s %10.0f", r[i].name, r[i].n, "-", "-",
			       "-", "-", r[i].ops);
		else
			printf("%-24s %8zu %10.1f %10.1f %10.1f %10.1f %10s", r[i].name, r[i].n,
			       r[i].p50, r[i].p99, r[i].min, r[i].max, "-");
		if (r[i].err)
			printf("  (stopped: %s)", strerror(-r[i].err));
		printf("\n");
	}
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"Usage: glockctl bench [--backend glockd|dlm] [--tests LIST] [--iterations N]\n"
		"                      [--warmup N] [--json] [--samples DIR] [--clients K]\n"
		"                      [--seconds S] [--lockspace LS] [--no-peer] [--batch B]\n"
		"                      [--settle-ms MS] [--pp-seconds S] [--base N] [--members N]\n"
		"       glockctl bench --role pingpong-peer [--backend B] [--lockspace LS]\n"
		"LIST: uncached,uncached-local,uncached-remote,cached,handoff,pingpong,\n"
		"shared-all,throughput (default all but uncached-* and shared-all; handoff\n"
		"also measures shared SH; handoff and pingpong need a peer on another node).\n"
		"The tests mean the same on both backends:\n"
		"  uncached    EX on a lock no node held: glockd one ordered delivery, DLM the\n"
		"              directory lookup and the grant\n"
		"  uncached-local, uncached-remote  (glockd, lock_path = p2p) uncached on\n"
		"              glocks this node masters (no network) or another node does\n"
		"  cached      EX again on a lock this node holds cached: glockd an IPC round\n"
		"              trip, DLM none (the holder cache is in the process, as gfs2's)\n"
		"  handoff     EX on a lock the peer holds EX, idle: request, demote (DLM: a\n"
		"              blocking AST, the peer converts to NL), release, grant\n"
		"  shared      SH on a lock the peer holds SH\n"
		"  pingpong    one lock bounced EX; a sample is one side's grant to its next\n"
		"              (a round: two handoffs), each timed on its own node\n"
		"  shared-all  SH on --base, --base+1, ... run on every node at once\n"
		"  throughput  --clients threads acquire+release new locks for --seconds\n"
		"Modes map as gfs2's lock_dlm: SH->PR, DF->CW, EX->EX, UN->NL.  With the DLM\n"
		"the bench waits for --members N nodes (default all) to join the lockspace.\n"
		"See the comment at the top of daemon/bench.c.\n");
}

static int parse_tests(const char *arg, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "uncached", T_UNCACHED }, { "cached", T_CACHED },	  { "handoff", T_HANDOFF },
		{ "pingpong", T_PINGPONG }, { "shared-all", T_SHALL }, { "throughput", T_TPUT },
		{ "uncached-local", T_UNC_LOCAL }, { "uncached-remote", T_UNC_REMOTE },
	};
	char buf[256], *tok, *save = NULL;
	unsigned t = 0;
	size_t i;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		t |= names[i].bit;
	}
	if (!t)
		return -1;
	*ret = t;
	return 0;
}

int glock__bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "lockspace", required_argument, NULL, 'l' },
		{ "role", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "settle-ms", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "pp-seconds", required_argument, NULL, 'P' },
		{ "tests", required_argument, NULL, 't' },
		{ "base", required_argument, NULL, 'B' },
		{ "backend", required_argument, NULL, 'k' },
		{ "samples", required_argument, NULL, 'D' },
		{ "members", required_argument, NULL, 'm' },
		{ "no-peer", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct b_opts o = {
		.be = &glock__bench_glockd, .ls = "bench", .iterations = 10000, .warmup = 100, .clients = 4, .seconds = 5,
		.batch = 100, .settle_ms = 250, .timeout_s = 60, .pp_seconds = 30,
		.tests = T_DEFAULT,
	};
	struct b_result res[R_MAX] = { { 0 } };
	const char *why = "";
	struct bench_ls *ls;
	bool no_peer = false;
	int c, err;
	size_t i;
	char *end;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:w:c:s:l:r:b:S:T:P:t:B:k:D:m:njh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.ls = optarg; continue;
		case 'D': o.samples_dir = optarg; continue;
		case 'k':
			if (!strcmp(optarg, "glockd")) {
				o.be = &glock__bench_glockd;
				continue;
			}
#ifdef HAVE_LIBDLM
			if (!strcmp(optarg, "dlm")) {
				o.be = &glock__bench_dlm;
				continue;
			}
#endif
			fprintf(stderr, "glockctl bench: unknown backend '%s' (built with: glockd%s)\n",
				optarg, HAVE_DLM_TEXT);
			return 2;
		case 'n': no_peer = true; continue;
		case 'j': o.json = true; continue;
		case 'h': bench_usage(stdout); return 0;
		case 'r':
			if (strcmp(optarg, "pingpong-peer")) {
				fprintf(stderr, "glockctl bench: unknown role '%s'\n", optarg);
				return 2;
			}
			o.peer = true;
			continue;
		case 't':
			if (parse_tests(optarg, &o.tests)) {
				fprintf(stderr, "glockctl bench: bad --tests '%s'\n", optarg);
				return 2;
			}
			continue;
		case 'B':
			errno = 0;
			o.base = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "glockctl bench: bad --base '%s'\n", optarg);
				return 2;
			}
			o.have_base = true;
			continue;
		case '?': bench_usage(stderr); return 2;
		}
		errno = 0;
		v = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || v < (c == 'w' || c == 'S' || c == 'm' ? 0 : 1) ||
		    v > 100000000) {
			fprintf(stderr, "glockctl bench: bad value '%s'\n", optarg);
			return 2;
		}
		switch (c) {
		case 'i': o.iterations = (unsigned)v; break;
		case 'w': o.warmup = (unsigned)v; break;
		case 'c': o.clients = (unsigned)v; break;
		case 's': o.seconds = (unsigned)v; break;
		case 'b': o.batch = (unsigned)v; break;
		case 'S': o.settle_ms = (unsigned)v; break;
		case 'T': o.timeout_s = (unsigned)v; break;
		case 'P': o.pp_seconds = (unsigned)v; break;
		case 'm': o.members = (unsigned)v; break;
		}
	}
	if (optind != argc) {
		bench_usage(stderr);
		return 2;
	}
	if (o.peer) {
		err = run_peer(&o);
		return err ? 1 : 0;
	}
	if (no_peer)
		o.tests &= ~(unsigned)T_PEER;
	err = o.be->open(o.ls, o.members, &ls, &why);
	if (err) {
		fprintf(stderr, "glockctl bench: %s: %s\n", why, strerror(-err));
		return 1;
	}
	if (o.tests & T_UNCACHED)
		bench_uncached(ls, &o, &res[R_UNCACHED]);
	if (o.tests & T_UNC_LOCAL)
		bench_uncached_by_master(ls, &o, &res[R_UNC_LOCAL], true);
	if (o.tests & T_UNC_REMOTE)
		bench_uncached_by_master(ls, &o, &res[R_UNC_REMOTE], false);
	if (o.tests & T_CACHED)
		bench_cached(ls, &o, &res[R_CACHED]);
	if (o.tests & T_HANDOFF)
		bench_peer(ls, &o, &res[R_HANDOFF], &res[R_SHARED]);
	if (o.tests & T_PINGPONG)
		bench_pingpong(ls, &o, &res[R_PINGPONG]);
	if (o.tests & T_PEER)
		peer_stop(ls, &o);
	if (o.tests & T_SHALL)
		bench_shall(ls, &o, &res[R_SHALL]);
	o.be->close(ls);
	if (o.tests & T_TPUT)
		bench_tput(&o, &res[R_TPUT]);
	print_results(&o, res, R_MAX);
	for (i = 0; i < R_MAX; i++)
		if (res[i].err)
			return 1;
	return 0;
}
