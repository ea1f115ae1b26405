/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl's internal interface: the admin requests glockctl.c makes for
 * every command, used by the commands that live in files of their own
 * (ctl_metrics.c: `glockctl metrics`, ctl_top.c: `glockctl top`).
 */
#ifndef GLOCKCTL_H
#define GLOCKCTL_H

#include <stddef.h>
#include <stdint.h>

#include "glock.h"
#include "glock_ipc.pb-c.h"

/* Connects to glockd for admin requests; says why on stderr when it cannot. */
int glock__ctl_admin_open(struct glock_ls **ls);
/* The status reply (free with glock_ipc_status_reply__free_unpacked), or NULL, said on stderr. */
GlockIpcStatusReply *glock__ctl_status(struct glock_ls *ls);
/*
 * One page of STATS or DUMP records of lockspace (NULL: all) from start:
 * the unpacked reply, or NULL with *ret_err set (said on stderr).
 */
GlockIpcStatsReply *glock__ctl_stats_page(struct glock_ls *ls, const char *lockspace,
					  uint64_t start, int *ret_err);
GlockIpcDumpReply *glock__ctl_dump_page(struct glock_ls *ls, const char *lockspace,
					uint64_t start, int *ret_err);
const char *glock__ctl_mode_str(uint32_t mode);
/* lock_path = p2p: the master of lockspace/type/number among members (ctl_master.c). */
uint32_t glock__ctl_master_of(const char *lockspace, uint32_t type, uint64_t number,
			      const uint32_t *members, size_t n);

/* ctl_metrics.c, ctl_top.c: argv[0] is the command's name. */
int glock__ctl_metrics_main(int argc, char **argv);
int glock__ctl_top_main(int argc, char **argv);

#endif /* GLOCKCTL_H */
