// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Request counters of the lock agent: see metrics.h.  The buckets run from
 * 10 us (a cached re-acquire over IPC) to 10 s (a waiter behind a long
 * holder); an uncached acquire in network namespaces lands near 250 us, a
 * handoff between guests near 25 ms.
 */
#include <errno.h>

#include "metrics.h"

const uint64_t glock__metrics_bounds_us[GLOCK__METRICS_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 1000000, 10000000,
};

static const char *const op_names[GLOCK__METRICS_OP_COUNT] = {
	[GLOCK__METRICS_LOCK] = "lock",
	[GLOCK__METRICS_CONVERT] = "convert",
	[GLOCK__METRICS_UNLOCK] = "unlock",
	[GLOCK__METRICS_CANCEL] = "cancel",
};

static const char *const outcome_names[GLOCK__METRICS_OUTCOME_COUNT] = {
	[GLOCK__METRICS_GRANTED] = "granted",
	[GLOCK__METRICS_TRYFAIL] = "tryfail",
	[GLOCK__METRICS_CANCELLED] = "cancelled",
	[GLOCK__METRICS_DEADLOCK] = "deadlock",
	[GLOCK__METRICS_LOST] = "lost",
	[GLOCK__METRICS_TIMEDOUT] = "timedout",
	[GLOCK__METRICS_ERROR] = "error",
};

const char *glock__metrics_op_name(enum glock__metrics_op op)
{
	return (unsigned int)op < GLOCK__METRICS_OP_COUNT ? op_names[op] : "unknown";
}

const char *glock__metrics_outcome_name(enum glock__metrics_outcome o)
{
	return (unsigned int)o < GLOCK__METRICS_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

enum glock__metrics_outcome glock__metrics_outcome_of(int err, enum glock_deny_reason reason)
{
	if (err == -ETIMEDOUT)
		return GLOCK__METRICS_TIMEDOUT;
	if (err == -ECANCELED)
		return GLOCK__METRICS_CANCELLED;
	if (err)
		return GLOCK__METRICS_ERROR;
	switch (reason) {
	case GLOCK_DENY_TRYFAIL:
		return GLOCK__METRICS_TRYFAIL;
	case GLOCK_DENY_CANCELLED:
		return GLOCK__METRICS_CANCELLED;
	case GLOCK_DENY_DEADLOCK:
		return GLOCK__METRICS_DEADLOCK;
	case GLOCK_DENY_LOST:
		return GLOCK__METRICS_LOST;
	}
	return reason ? GLOCK__METRICS_ERROR : GLOCK__METRICS_GRANTED;
}

void glock__metrics_observe(struct glock__metrics *m, enum glock__metrics_op op,
			    enum glock__metrics_outcome outcome, uint64_t duration_us)
{
	struct glock__metrics_series *s;
	unsigned int i;

	if ((unsigned int)op >= GLOCK__METRICS_OP_COUNT ||
	    (unsigned int)outcome >= GLOCK__METRICS_OUTCOME_COUNT)
		return;
	s = &m->req[op][outcome];
	s->count++;
	s->sum_us += duration_us;
	for (i = 0; i < GLOCK__METRICS_BUCKETS; i++)
		if (duration_us <= glock__metrics_bounds_us[i])
			break;
	s->buckets[i]++;
}
