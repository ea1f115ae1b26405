/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which node masters a glock under lock_path = p2p, for glockctl bench's
 * uncached-local and uncached-remote tests: the engine's own rendezvous
 * function over the members glockd's status names, so the bench picks
 * glocks by master without asking glockd glock by glock.
 */
#include <stdio.h>
#include <string.h>

#include "glockctl.h"
#include "rendezvous.h"

uint32_t glock__ctl_master_of(const char *lockspace, uint32_t type, uint64_t number,
			      const uint32_t *members, size_t n)
{
	struct glock_name name;

	memset(&name, 0, sizeof(name));
	snprintf(name.lockspace, sizeof(name.lockspace), "%s", lockspace);
	name.type = type;
	name.number = number;
	return glock_master_of(&name, members, n);
}
