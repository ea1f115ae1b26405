/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The adaptive minimum hold time of one glock on its holder, as GFS2's
 * gl_hold_time (docs/DESIGN.md §2): a demote that arrives less than the
 * hold time after the grant waits; contention lengthens the hold time,
 * quiet shortens it.  Pure: the caller passes the time.  Internal to
 * daemon/engine: the replicated engine and the requester use it.
 */
#ifndef GLOCK_HOLD_H
#define GLOCK_HOLD_H

#include "engine.h"

struct glock__hold_cfg {
	uint64_t min_us, max_us, incr_us, decr_us;
};

struct glock__hold {
	uint64_t granted_us;
	uint64_t hold_us;
	bool delayed;            /* a demote waits for due_us */
	enum glock_mode target;  /* what it asks for */
	uint64_t due_us;
};

void glock__hold_init(struct glock__hold *h, uint64_t hold_us);
/* A grant at now_us: the hold window starts again, a waiting demote is void. */
void glock__hold_granted(struct glock__hold *h, uint64_t now_us);
/* Would a demote at now_us come inside the hold window? */
bool glock__hold_early(const struct glock__hold *h, uint64_t now_us);
/* Delays a demote (early): it falls due at the end of the window. */
void glock__hold_delay(struct glock__hold *h, const struct glock__hold_cfg *cfg,
		       enum glock_mode target);
/* A demote honoured at once: the hold time shrinks. */
void glock__hold_relax(struct glock__hold *h, const struct glock__hold_cfg *cfg);
#endif /* GLOCK_HOLD_H */
