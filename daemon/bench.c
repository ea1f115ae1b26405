/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl bench: lock latencies (median, p99) and throughput through
 * libglock against the local glockd.  Every latency is one call timed with
 * CLOCK_MONOTONIC; --warmup N extra iterations run first and are not kept.
 *
 *   uncached   acquire EX of a new glock (a new number each iteration:
 *              one ordered delivery), then release (local: stays cached)
 *   cached     re-acquire + release of a glock this node already holds:
 *              one IPC round trip each, no network
 *   handoff    (needs a peer) acquire EX of a glock the peer node holds
 *              EX, cached and idle: request, demote, release, grant
 *   shared     (with handoff) acquire SH of a glock the peer holds SH:
 *              a compatible grant with every node holding it
 *   pingpong   (needs a peer) one glock bounced EX between this node and
 *              the peer as fast as both can: each side takes it, stamps
 *              CLOCK_MONOTONIC into the LVB, releases; the other side's
 *              acquire returns at grant and records now - stamp (both run
 *              on one machine: one clock).  Both directions are kept.  A
 *              grant is always fresh here, so glockd's minimum hold time
 *              delays every demote: with the default hold time this
 *              measures the hold time, with hold_*_ms = 0 the protocol.
 *              Bounded by --iterations samples or --pp-seconds.
 *   shared-all acquire SH of glocks --base, --base+1, ... (run it on every
 *              node at once with the same --base: every acquire meets the
 *              other nodes' SH grants or requests), release (stays cached)
 *   throughput --clients K threads, each its own connection, acquire +
 *              release new glocks for --seconds: lock ops/s of this node
 *              (run it on every node at once and add up)
 *
 * --tests LIST (comma-separated) picks tests; default
 * uncached,cached,handoff,pingpong,throughput (handoff and pingpong need
 * a peer: --no-peer drops them).
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
 * --lockspace (default "bench") must match on both nodes.  --json prints
 * one JSON object (fields: test, n, p50_us, p99_us, min_us, max_us,
 * mean_us, ops_per_s, error).
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

#include "glock.h"

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
	uint64_t t_ns;    /* CLOCK_MONOTONIC when the last holder let go */
	uint64_t last_ns; /* the peer's last sample, for the driver to keep */
};

_Static_assert(sizeof(struct b_lvb) == GLOCK_LVB_SIZE, "LVB layout");
_Static_assert(sizeof(struct b_pp_lvb) == GLOCK_LVB_SIZE, "LVB layout");

struct b_opts {
	const char *ls;
	unsigned iterations, warmup, clients, seconds, batch, settle_ms, timeout_s, pp_seconds;
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

enum { R_UNCACHED, R_CACHED, R_HANDOFF, R_SHARED, R_PINGPONG, R_SHALL, R_TPUT, R_MAX };

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

static void summarize(struct b_result *r, uint64_t *v, size_t n)
{
	double sum = 0;
	size_t i;

	r->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
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
static void bench_acquire(struct glock_ls *ls, const struct b_opts *o, struct b_result *r,
			  uint32_t type, uint64_t base, int mode, bool same)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), t0, dt;
	struct glock_handle *h;
	size_t n = 0;
	unsigned i;

	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	for (i = 0; i < o->warmup + o->iterations; i++) {
		t0 = now_ns();
		r->err = glock_lock(ls, type, same ? base : base + i, mode, 0, B_LOCK_TMO_MS, &h);
		dt = now_ns() - t0;
		if (r->err)
			break;
		if (i >= o->warmup)
			v[n++] = dt;
		r->err = glock_unlock(h);
		if (r->err)
			break;
	}
	summarize(r, v, n);
	free(v);
}

static void bench_uncached(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
{
	r->name = "uncached acquire";
	bench_acquire(ls, o, r, B_UNCACHED_TYPE, fresh_base(), GLOCK_EX, false);
}

static void bench_cached(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
{
	struct glock_handle *h;
	uint64_t num = fresh_base();

	r->name = "cached re-acquire";
	r->err = glock_lock(ls, B_CACHED_TYPE, num, GLOCK_EX, 0, B_LOCK_TMO_MS, &h);
	if (!r->err)
		r->err = glock_unlock(h);
	if (!r->err)
		bench_acquire(ls, o, r, B_CACHED_TYPE, num, GLOCK_EX, true);
}

static void bench_shall(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
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
	struct glock_ls *ls;
	struct glock_handle *h;
	uint64_t i = 0;

	a->err = glock_open(a->o->ls, &ls);
	if (a->err)
		return NULL;
	while (!*a->stop) {
		a->err = glock_lock(ls, B_TPUT_TYPE, a->base + i++, GLOCK_EX, 0, B_LOCK_TMO_MS, &h);
		if (a->err)
			break;
		a->err = glock_unlock(h);
		if (a->err)
			break;
		a->ops++;
	}
	glock_close(ls);
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

static int ctrl_take(struct glock_ls *ls, struct glock_handle **h, struct b_lvb *l, unsigned tmo_s)
{
	int err = glock_lock(ls, B_CTRL_TYPE, 0, GLOCK_EX, 0, tmo_s * 1000u, h);

	if (!err)
		glock_lvb_read(*h, (uint8_t *)l);
	return err;
}

static int ctrl_give(struct glock_handle *h, const struct b_lvb *l)
{
	int err = glock_lvb_write(h, (const uint8_t *)l);

	return err ? err : glock_unlock(h);
}

/*
 * One side of the ping-pong on glock B_PP_TYPE/num.  parity 0: the driver,
 * which keeps both directions' samples in v (up to max) and ends the game
 * by setting stop at its turn once it has enough or the deadline passed;
 * parity 1: the peer, which returns when it sees stop.
 */
static int pp_play(struct glock_ls *ls, uint64_t num, unsigned parity, uint64_t *v, size_t max,
		   size_t *ret_n, unsigned warmup, uint64_t deadline)
{
	struct glock_handle *h;
	struct b_pp_lvb l;
	size_t n = 0;
	uint64_t t, dt, last_turn = now_ns();
	int err;

	for (;;) {
		err = glock_lock(ls, B_PP_TYPE, num, GLOCK_EX, 0, B_LOCK_TMO_MS, &h);
		if (err)
			break;
		t = now_ns();
		glock_lvb_read(h, (uint8_t *)&l);
		if (l.magic != B_PP_MAGIC || l.seq % 2 != parity) {
			/*
			 * Our own grant, still cached here: the other side has not
			 * had it.  A demote glockd never delivers would keep us
			 * here for ever (and the other side waits): give up.
			 */
			err = glock_unlock(h);
			if (!err && t - last_turn > B_PP_STALL_NS)
				err = -ETIMEDOUT;
			if (err)
				break;
			usleep(B_PP_SPIN_US);
			continue;
		}
		last_turn = t;
		dt = t - l.t_ns;
		if (l.stop) { /* peer: the driver is done */
			err = glock_unlock(h);
			break;
		}
		if (parity == 0) {
			/* seq counts handoffs: drop the first `warmup` of each direction */
			if (l.seq > 2 * warmup && l.last_ns && n < max)
				v[n++] = l.last_ns;
			if (l.seq > 2 * warmup && n < max)
				v[n++] = dt;
			if (n >= max || now_ns() >= deadline)
				l.stop = 1;
		}
		l.last_ns = dt;
		l.seq++;
		l.t_ns = now_ns();
		err = glock_lvb_write(h, (const uint8_t *)&l);
		if (!err)
			err = glock_unlock(h);
		if (err || l.stop)
			break;
	}
	if (ret_n)
		*ret_n = n;
	return err;
}

static int run_peer(const struct b_opts *o)
{
	struct glock_ls *ls;
	struct glock_handle *c, *h;
	struct b_lvb l;
	uint32_t seq = 0;
	unsigned i;
	int err = glock_open(o->ls, &ls);

	if (err)
		return err;
	fprintf(stderr, "bench peer: waiting for a driver (lockspace %s)\n", o->ls);
	for (;;) {
		err = ctrl_take(ls, &c, &l, o->timeout_s);
		if (err)
			break;
		if (l.magic == B_MAGIC && l.state == B_STOP) {
			memset(&l, 0, sizeof(l));
			ctrl_give(c, &l);
			break;
		}
		if (l.magic == B_MAGIC && l.state == B_PINGPONG) {
			uint64_t num = l.base;

			l.state = B_PP_ACK;
			err = ctrl_give(c, &l);
			if (!err)
				err = pp_play(ls, num, 1, NULL, 0, NULL, 0, 0);
			if (err) {
				/* the driver reports it; stay around for STOP */
				fprintf(stderr, "bench peer: ping-pong: %s\n", strerror(-err));
				err = 0;
			}
			continue;
		}
		if (l.magic == B_MAGIC && l.state == B_READY && l.seq == seq) {
			/* the driver has not taken the last batch yet */
			glock_unlock(c);
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
			err = glock_lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, 0, B_LOCK_TMO_MS, &h);
			if (!err)
				err = glock_unlock(h);
		}
		usleep(o->settle_ms * 1000u);
		if (!err)
			err = ctrl_give(c, &l);
		if (err)
			break;
	}
	glock_close(ls);
	fprintf(stderr, "bench peer: done (%s)\n", err ? strerror(-err) : "ok");
	return err;
}

/* Takes C once the peer has written a batch (READY, not yet seen). */
static int ctrl_take_ready(struct glock_ls *ls, const struct b_opts *o, struct glock_handle **c,
			   struct b_lvb *l, uint32_t last)
{
	int err;

	for (;;) {
		err = ctrl_take(ls, c, l, o->timeout_s);
		if (err)
			return err;
		if (l->magic == B_MAGIC && l->state == B_READY && l->seq != last)
			return 0;
		glock_unlock(*c);
		usleep(1000);
	}
}

static void bench_peer(struct glock_ls *ls, const struct b_opts *o, struct b_result *ex,
		       struct b_result *sh)
{
	uint64_t *vex = calloc(o->iterations, sizeof(*vex));
	uint64_t *vsh = calloc(o->iterations, sizeof(*vsh));
	size_t nex = 0, nsh = 0, wex = 0, wsh = 0;
	struct glock_handle *c, *h;
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

			err = glock_lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, 0, B_LOCK_TMO_MS, &h);
			dt = now_ns() - t0;
			if (!err)
				err = glock_unlock(h);
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
			err = ctrl_give(c, &l);
	}
	ex->err = sh->err = err;
	summarize(ex, vex, nex);
	summarize(sh, vsh, nsh);
out:
	free(vex);
	free(vsh);
}

static void bench_pingpong(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), num = fresh_base();
	struct glock_handle *c, *h;
	struct b_pp_lvb pl = { .magic = B_PP_MAGIC, .seq = 1 };
	struct b_lvb l;
	size_t n = 0;

	r->name = "EX ping-pong";
	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	/* The glock starts here, with the peer to move first. */
	r->err = glock_lock(ls, B_PP_TYPE, num, GLOCK_EX, 0, B_LOCK_TMO_MS, &h);
	if (!r->err) {
		pl.t_ns = now_ns();
		r->err = glock_lvb_write(h, (const uint8_t *)&pl);
		if (!r->err)
			r->err = glock_unlock(h);
	}
	if (!r->err)
		r->err = ctrl_take_ready(ls, o, &c, &l, 0);
	if (!r->err) {
		l.state = B_PINGPONG;
		l.base = num;
		r->err = ctrl_give(c, &l);
	}
	if (!r->err)
		r->err = pp_play(ls, num, 0, v, o->iterations, &n, o->warmup > 10 ? 10 : o->warmup ? o->warmup : 1,
				 now_ns() + (uint64_t)o->pp_seconds * 1000000000u);
	summarize(r, v, n);
	free(v);
}

static void peer_stop(struct glock_ls *ls, const struct b_opts *o)
{
	struct glock_handle *c;
	struct b_lvb l;

	if (!ctrl_take(ls, &c, &l, o->timeout_s)) {
		memset(&l, 0, sizeof(l));
		l.magic = B_MAGIC;
		l.state = B_STOP;
		ctrl_give(c, &l);
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
		printf("{\"lockspace\":");
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
	printf("%-20s %8s %10s %10s %10s %10s %10s\n", "test", "n", "p50 us", "p99 us", "min us",
	       "max us", "ops/s");
	for (i = 0; i < n; i++) {
		if (!r[i].name)
			continue;
		if (r[i].ops)
			printf("%-20s %8zu %10s %10s %10s %10s %10.0f", r[i].name, r[i].n, "-", "-",
			       "-", "-", r[i].ops);
		else
			printf("%-20s %8zu %10.1f %10.1f %10.1f %10.1f %10s", r[i].name, r[i].n,
			       r[i].p50, r[i].p99, r[i].min, r[i].max, "-");
		if (r[i].err)
			printf("  (stopped: %s)", strerror(-r[i].err));
		printf("\n");
	}
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"Usage: glockctl bench [--tests LIST] [--iterations N] [--warmup N] [--json]\n"
		"                      [--clients K] [--seconds S] [--lockspace LS] [--no-peer]\n"
		"                      [--batch B] [--settle-ms MS] [--pp-seconds S] [--base N]\n"
		"       glockctl bench --role pingpong-peer [--lockspace LS]   (on another node)\n"
		"LIST: uncached,cached,handoff,pingpong,shared-all,throughput (default all but\n"
		"shared-all; handoff also measures shared SH; handoff and pingpong need a peer).\n"
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
		{ "no-peer", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct b_opts o = {
		.ls = "bench", .iterations = 10000, .warmup = 100, .clients = 4, .seconds = 5,
		.batch = 100, .settle_ms = 250, .timeout_s = 60, .pp_seconds = 30,
		.tests = T_DEFAULT,
	};
	struct b_result res[R_MAX] = { { 0 } };
	struct glock_ls *ls;
	bool no_peer = false;
	int c, err;
	size_t i;
	char *end;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:w:c:s:l:r:b:S:T:P:t:B:njh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.ls = optarg; continue;
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
		if (errno || end == optarg || *end || v < (c == 'w' || c == 'S' ? 0 : 1) ||
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
	err = glock_open(o.ls, &ls);
	if (err) {
		fprintf(stderr, "glockctl bench: cannot reach glockd: %s\n", strerror(-err));
		return 1;
	}
	if (o.tests & T_UNCACHED)
		bench_uncached(ls, &o, &res[R_UNCACHED]);
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
	glock_close(ls);
	if (o.tests & T_TPUT)
		bench_tput(&o, &res[R_TPUT]);
	print_results(&o, res, R_MAX);
	for (i = 0; i < R_MAX; i++)
		if (res[i].err)
			return 1;
	return 0;
}
