// SPDX-License-Identifier: LGPL-2.1-or-later
/* The minimum hold time: see hold.h. */
#include "hold.h"

void glock__hold_init(struct glock__hold *h, uint64_t hold_us)
{
	*h = (struct glock__hold){ .hold_us = hold_us };
}

void glock__hold_granted(struct glock__hold *h, uint64_t now_us)
{
	h->granted_us = now_us;
	h->delayed = false;
}

bool glock__hold_early(const struct glock__hold *h, uint64_t now_us)
{
	return now_us < h->granted_us + h->hold_us;
}

void glock__hold_delay(struct glock__hold *h, const struct glock__hold_cfg *cfg,
		       enum glock_mode target)
{
	h->due_us = h->granted_us + h->hold_us;
	h->hold_us += cfg->incr_us;
	if (h->hold_us > cfg->max_us)
		h->hold_us = cfg->max_us;
	h->delayed = true;
	h->target = target;
}

void glock__hold_relax(struct glock__hold *h, const struct glock__hold_cfg *cfg)
{
	if (h->hold_us >= cfg->min_us + cfg->decr_us)
		h->hold_us -= cfg->decr_us;
	else
		h->hold_us = cfg->min_us;
}
