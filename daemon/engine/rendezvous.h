/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Master selection by rendezvous hashing: see rendezvous.c. */
#ifndef GLOCK_RENDEZVOUS_H
#define GLOCK_RENDEZVOUS_H

#include "engine.h"

/*
 * The master of name among members (any order, no duplicates needed);
 * GLOCK_NODEID_NONE when there is no member.
 */
uint32_t glock_master_of(const struct glock_name *name, const uint32_t *members, size_t n);
/* The weight node has for name (the master has the highest). */
uint64_t glock_master_weight(const struct glock_name *name, uint32_t node);

#endif /* GLOCK_RENDEZVOUS_H */
