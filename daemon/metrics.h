/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Request counters of the node's lock agent (metrics.c): how many local
 * requests (from libglock clients and the kernel) ended how, and how long
 * each lock or convert took from the request to its answer, as histogram
 * buckets.  Plain counters, no I/O, clock or globals: the agent passes the
 * durations in; glockd sends them to `glockctl metrics` in its status reply.
 */
#ifndef GLOCKD_METRICS_H
#define GLOCKD_METRICS_H

#include <stdint.h>

#include "engine.h"

enum glock__metrics_op {
	GLOCK__METRICS_LOCK,
	GLOCK__METRICS_CONVERT,
	GLOCK__METRICS_UNLOCK,
	GLOCK__METRICS_CANCEL,
	GLOCK__METRICS_OP_COUNT,
};

enum glock__metrics_outcome {
	GLOCK__METRICS_GRANTED,   /* lock/convert granted; unlock/cancel done */
	GLOCK__METRICS_TRYFAIL,   /* TRY and not grantable now */
	GLOCK__METRICS_CANCELLED, /* withdrawn by a cancel */
	GLOCK__METRICS_DEADLOCK,  /* conversion deadlock */
	GLOCK__METRICS_LOST,      /* the node lost its locks */
	GLOCK__METRICS_TIMEDOUT,
	GLOCK__METRICS_ERROR,     /* refused with another errno */
	GLOCK__METRICS_OUTCOME_COUNT,
};

/* Upper bounds (microseconds, inclusive) of the duration buckets; +Inf is implied. */
#define GLOCK__METRICS_BUCKETS 16
extern const uint64_t glock__metrics_bounds_us[GLOCK__METRICS_BUCKETS];

struct glock__metrics_series {
	uint64_t count;
	uint64_t sum_us;
	uint64_t buckets[GLOCK__METRICS_BUCKETS + 1]; /* not cumulative; the last is +Inf */
};

struct glock__metrics {
	struct glock__metrics_series req[GLOCK__METRICS_OP_COUNT][GLOCK__METRICS_OUTCOME_COUNT];
	uint64_t cache_hits; /* lock/convert granted at once from the node's cached grant */
	uint64_t demotes;    /* demote requests received from the cluster */
};

const char *glock__metrics_op_name(enum glock__metrics_op op);
const char *glock__metrics_outcome_name(enum glock__metrics_outcome o);
/* The outcome of an answer: err (-errno or 0) and a deny reason (0: none). */
enum glock__metrics_outcome glock__metrics_outcome_of(int err, enum glock_deny_reason reason);
/* Counts one request of op that ended with outcome after duration_us. */
void glock__metrics_observe(struct glock__metrics *m, enum glock__metrics_op op,
			    enum glock__metrics_outcome outcome, uint64_t duration_us);

#endif /* GLOCKD_METRICS_H */
