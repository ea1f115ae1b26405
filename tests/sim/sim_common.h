/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the two simulators (glock-sim.c: the replicated engine, p2p-sim.c:
 * the p2p lock path) share, model aside: the deterministic randomness that
 * makes a seed its own replay, the trace ring printed on a violation, the
 * glocks the clients use, the random modes and flags they ask with, and
 * the command line's numbers.  Each simulator is one program: static here.
 * The includer defines SIM_GLOCKS and SIM_TRACE_KEEP and includes engine.h.
 */
#ifndef GLOCK_SIM_COMMON_H
#define GLOCK_SIM_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic randomness (xorshift64*) ---- */

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

static char trace_ring[SIM_TRACE_KEEP][200];
static uint64_t trace_count;
static bool trace_all;
static uint64_t current_step;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
	char *line = trace_ring[trace_count % SIM_TRACE_KEEP];
	int off = snprintf(line, sizeof(trace_ring[0]), "%8" PRIu64 " ", current_step);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(trace_ring[0]) - (size_t)off, fmt, ap);
	va_end(ap);
	trace_count++;
	if (trace_all)
		printf("%s\n", line);
}

static void print_trace_tail(void)
{
	uint64_t i = trace_count > SIM_TRACE_KEEP ? trace_count - SIM_TRACE_KEEP : 0;

	fprintf(stderr, "--- last %" PRIu64 " events ---\n", trace_count - i);
	for (; i < trace_count; i++)
		fprintf(stderr, "%s\n", trace_ring[i % SIM_TRACE_KEEP]);
}

/* ---- the clients' glocks and requests ---- */

static struct glock_name glock_names[SIM_GLOCKS];

static void glock_names_init(void)
{
	int i;

	for (i = 0; i < SIM_GLOCKS; i++) {
		snprintf(glock_names[i].lockspace, GLOCK_LOCKSPACE_MAX, "%s", i % 2 ? "fs1" : "fs0");
		glock_names[i].type = 2;
		glock_names[i].number = 100 + (uint64_t)i;
	}
}

static int glock_index(const struct glock_name *name)
{
	int i;

	for (i = 0; i < SIM_GLOCKS; i++)
		if (glock_name_compare(name, &glock_names[i]) == 0)
			return i;
	return -1;
}

static enum glock_mode random_mode(void)
{
	static const enum glock_mode modes[] = { GLOCK_MODE_SH, GLOCK_MODE_SH, GLOCK_MODE_DF,
						 GLOCK_MODE_EX, GLOCK_MODE_EX };

	return modes[rng_below(5)];
}

static uint32_t random_flags(void)
{
	uint32_t f = 0;

	if (rng_chance(10))
		f |= GLOCK_FLAG_TRY;
	if (rng_chance(5))
		f |= GLOCK_FLAG_TRY_1CB;
	if (rng_chance(5))
		f |= GLOCK_FLAG_PRIORITY;
	if (rng_chance(3))
		f |= GLOCK_FLAG_NOEXP;
	return f;
}

/* ---- the command line ---- */

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

/* --nodes N or A-B, 3 <= A <= B <= max. */
static bool parse_nodes(char *arg, uint64_t *min, uint64_t *max, uint64_t limit)
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
	return *min >= 3 && *max <= limit && *min <= *max;
}

#endif /* GLOCK_SIM_COMMON_H */
