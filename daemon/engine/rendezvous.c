// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The master of a glock: rendezvous (highest random weight) hashing over
 * the members, as the DLM's nodir mode (docs/DESIGN.md §9).  A pure
 * function of the name and the member set: every node that saw the same
 * configuration picks the same master, a departure moves only the departed
 * node's glocks and a join moves only the glocks the joiner wins.
 */
#include "rendezvous.h"

#include <string.h>

/* splitmix64's finaliser: a good 64-bit mix. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t name_key(const struct glock_name *name)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a 64 */
	size_t i, len = strnlen(name->lockspace, GLOCK_LOCKSPACE_MAX);

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name->lockspace[i]) * 1099511628211ull;
	h = mix64(h ^ name->type);
	return mix64(h ^ name->number);
}

uint64_t glock_master_weight(const struct glock_name *name, uint32_t node)
{
	return mix64(name_key(name) ^ mix64((uint64_t)node + 0x9e3779b97f4a7c15ull));
}

uint32_t glock_master_of(const struct glock_name *name, const uint32_t *members, size_t n)
{
	uint64_t key = name_key(name), best_w = 0;
	uint32_t best = GLOCK_NODEID_NONE;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t w;

		if (members[i] == GLOCK_NODEID_NONE)
			continue;
		w = mix64(key ^ mix64((uint64_t)members[i] + 0x9e3779b97f4a7c15ull));
		/* Ties (never in practice) go to the higher id: order-independent. */
		if (best == GLOCK_NODEID_NONE || w > best_w || (w == best_w && members[i] > best)) {
			best = members[i];
			best_w = w;
		}
	}
	return best;
}
