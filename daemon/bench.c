/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl bench: lock latencies (median, p99) and throughput through
 * libglock against the local glockd.
 *
 *   uncached   acquire EX of a new glock (a new number each iteration:
 *              one ordered delivery), then release (local: stays cached)
 *   cached     re-acquire + release of a glock this node already holds:
 *              one IPC round trip each, no network
 *   handoff    (needs a peer) acquire EX of a glock the peer node holds
 *              EX, cached and idle: request, demote, release, grant
 *   shared     (needs a peer) acquire SH of a glock the peer holds SH:
 *              a compatible grant with every node holding it
 *   throughput --clients K threads, each its own connection, acquire +
 *              release new glocks for --seconds: cluster lock ops/s
 *
 * Peer coordination (handoff, shared).  Run `glockctl bench --role
 * pingpong-peer` on another node first.  A control glock C (type 0xbe0)
 * carries the protocol in its LVB {magic, seq, state, mode, base, count}.
 * The peer, holding C in EX, takes `count` fresh glocks (type 0xbe1,
 * numbers base..) in `mode` and lets them go idle (cached on the peer's
 * node), waits --settle-ms so they are older than glockd's minimum hold
 * time, writes READY into C's LVB and unlocks C.  The driver, waiting for C
 * in EX, reads READY, measures one acquire per glock of the batch while
 * holding C (so the peer stays quiet), writes DONE and unlocks.  The peer,
 * already queued for C, gets it back, and so on; STOP ends the peer.
 * Each handoff is then exactly: LOCK delivered, DEMOTE to the peer's
 * agent (no hold-time delay), RELEASE delivered, GRANT.
 *
 * --lockspace (default "bench") must match on both nodes.
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
#define B_MAGIC 0x676c6231u /* "glb1" */

enum { B_IDLE = 0, B_READY = 1, B_DONE = 2, B_STOP = 3 };

struct b_lvb {
	uint32_t magic, seq, state, mode;
	uint64_t base;
	uint32_t count, pad;
};

struct b_opts {
	const char *ls;
	unsigned iterations, clients, seconds, batch, settle_ms, timeout_s;
	bool json, peer, no_peer;
};

struct b_result {
	const char *name;
	size_t n;
	double p50, p99, min, max, ops;
	int err;
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

static void summarize(struct b_result *r, uint64_t *v, size_t n)
{
	r->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	r->p50 = v[n / 2] / 1000.0;
	r->p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0;
	r->min = v[0] / 1000.0;
	r->max = v[n - 1] / 1000.0;
}

/* A base number no earlier run used: time-based, so new glocks really are new. */
static uint64_t fresh_base(void)
{
	return (now_ns() / 1000u) << 16;
}

static void bench_uncached(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), base = fresh_base(), t0;
	struct glock_handle *h;
	unsigned i;

	r->name = "uncached acquire";
	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	for (i = 0; i < o->iterations; i++) {
		t0 = now_ns();
		r->err = glock_lock(ls, B_UNCACHED_TYPE, base + i, GLOCK_EX, 0, 10000, &h);
		if (r->err)
			break;
		v[i] = now_ns() - t0;
		r->err = glock_unlock(h);
		if (r->err)
			break;
	}
	summarize(r, v, i);
	free(v);
}

static void bench_cached(struct glock_ls *ls, const struct b_opts *o, struct b_result *r)
{
	uint64_t *v = calloc(o->iterations, sizeof(*v)), num = fresh_base(), t0;
	struct glock_handle *h;
	unsigned i;

	r->name = "cached re-acquire";
	if (!v) {
		r->err = -ENOMEM;
		return;
	}
	r->err = glock_lock(ls, B_CACHED_TYPE, num, GLOCK_EX, 0, 10000, &h);
	if (!r->err)
		r->err = glock_unlock(h);
	for (i = 0; !r->err && i < o->iterations; i++) {
		t0 = now_ns();
		r->err = glock_lock(ls, B_CACHED_TYPE, num, GLOCK_EX, 0, 10000, &h);
		if (r->err)
			break;
		v[i] = now_ns() - t0;
		r->err = glock_unlock(h);
	}
	summarize(r, v, i);
	free(v);
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
		a->err = glock_lock(ls, B_TPUT_TYPE, a->base + i++, GLOCK_EX, 0, 10000, &h);
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
		if (l.magic == B_MAGIC && l.state == B_READY && l.seq == seq) {
			/* the driver has not taken the last batch yet */
			glock_unlock(c);
			usleep(1000);
			continue;
		}
		/* IDLE (a new driver) or DONE: prepare the next batch. */
		memset(&l, 0, sizeof(l));
		l.magic = B_MAGIC;
		l.seq = ++seq;
		l.state = B_READY;
		l.mode = seq % 2 ? GLOCK_EX : GLOCK_SH;
		l.base = fresh_base();
		l.count = o->batch;
		for (i = 0; i < l.count && !err; i++) {
			err = glock_lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, 0, 10000, &h);
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

static void bench_peer(struct glock_ls *ls, const struct b_opts *o, struct b_result *ex,
		       struct b_result *sh)
{
	uint64_t *vex = calloc(o->iterations, sizeof(*vex));
	uint64_t *vsh = calloc(o->iterations, sizeof(*vsh));
	size_t nex = 0, nsh = 0;
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
		err = ctrl_take(ls, &c, &l, o->timeout_s);
		if (err)
			break;
		if (l.magic != B_MAGIC || l.state != B_READY || l.seq == last) {
			glock_unlock(c);
			usleep(1000);
			continue;
		}
		last = l.seq;
		for (i = 0; i < l.count && !err; i++) {
			uint64_t t0 = now_ns(), dt;

			err = glock_lock(ls, B_DATA_TYPE, l.base + i, (int)l.mode, 0, 10000, &h);
			dt = now_ns() - t0;
			if (!err)
				err = glock_unlock(h);
			if (l.mode == GLOCK_EX && nex < o->iterations)
				vex[nex++] = dt;
			else if (l.mode == GLOCK_SH && nsh < o->iterations)
				vsh[nsh++] = dt;
		}
		l.state = B_DONE;
		if (!err)
			err = ctrl_give(c, &l);
	}
	if (!err && !ctrl_take(ls, &c, &l, o->timeout_s)) {
		l.magic = B_MAGIC;
		l.state = B_STOP;
		ctrl_give(c, &l);
	}
	ex->err = sh->err = err;
	summarize(ex, vex, nex);
	summarize(sh, vsh, nsh);
out:
	free(vex);
	free(vsh);
}

static void print_results(const struct b_opts *o, const struct b_result *r, size_t n)
{
	size_t i;

	if (o->json) {
		printf("{\"lockspace\":\"%s\",\"iterations\":%u,\"results\":[", o->ls, o->iterations);
		for (i = 0; i < n; i++) {
			if (!r[i].name)
				continue;
			printf("%s{\"test\":\"%s\",\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,"
			       "\"min_us\":%.1f,\"max_us\":%.1f,\"ops_per_s\":%.0f,\"error\":\"%s\"}",
			       i ? "," : "", r[i].name, r[i].n, r[i].p50, r[i].p99, r[i].min,
			       r[i].max, r[i].ops, r[i].err ? strerror(-r[i].err) : "");
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
		"Usage: glockctl bench [--iterations N] [--clients K] [--seconds S] [--json]\n"
		"                      [--lockspace LS] [--no-peer] [--batch B] [--settle-ms MS]\n"
		"       glockctl bench --role pingpong-peer [--lockspace LS]   (on another node)\n"
		"Measures uncached acquire, cached re-acquire, throughput; with a peer also\n"
		"EX handoff and shared SH (see the comment at the top of daemon/bench.c).\n");
}

int glock__bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "lockspace", required_argument, NULL, 'l' },
		{ "role", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "settle-ms", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "no-peer", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct b_opts o = {
		.ls = "bench", .iterations = 10000, .clients = 4, .seconds = 5, .batch = 100,
		.settle_ms = 250, .timeout_s = 60,
	};
	struct b_result res[5] = { { 0 } };
	struct glock_ls *ls;
	int c, err;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:c:s:l:r:b:S:T:njh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.ls = optarg; continue;
		case 'n': o.no_peer = true; continue;
		case 'j': o.json = true; continue;
		case 'h': bench_usage(stdout); return 0;
		case 'r':
			if (strcmp(optarg, "pingpong-peer")) {
				fprintf(stderr, "glockctl bench: unknown role '%s'\n", optarg);
				return 2;
			}
			o.peer = true;
			continue;
		case '?': bench_usage(stderr); return 2;
		}
		v = strtol(optarg, NULL, 10);
		if (v <= 0 || v > 100000000) {
			fprintf(stderr, "glockctl bench: bad value '%s'\n", optarg);
			return 2;
		}
		switch (c) {
		case 'i': o.iterations = (unsigned)v; break;
		case 'c': o.clients = (unsigned)v; break;
		case 's': o.seconds = (unsigned)v; break;
		case 'b': o.batch = (unsigned)v; break;
		case 'S': o.settle_ms = (unsigned)v; break;
		case 'T': o.timeout_s = (unsigned)v; break;
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
	err = glock_open(o.ls, &ls);
	if (err) {
		fprintf(stderr, "glockctl bench: cannot reach glockd: %s\n", strerror(-err));
		return 1;
	}
	bench_uncached(ls, &o, &res[0]);
	bench_cached(ls, &o, &res[1]);
	if (!o.no_peer)
		bench_peer(ls, &o, &res[2], &res[3]);
	glock_close(ls);
	bench_tput(&o, &res[4]);
	print_results(&o, res, 5);
	return res[0].err || res[1].err || res[2].err || res[3].err || res[4].err ? 1 : 0;
}
