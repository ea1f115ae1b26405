/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The lock service glockctl bench measures, behind one table: glockd
 * through libglock, or the kernel DLM through libdlm.  Both give the bench
 * the same thing: a node-level lock that stays cached after its holder lets
 * go, until another node's request demotes it (glockd does that in the
 * agent; the DLM backend keeps its own holder cache over the DLM locks, as
 * gfs2's glock layer does over lock_dlm).
 */
#ifndef GLOCK_BENCH_BACKEND_H
#define GLOCK_BENCH_BACKEND_H

#include <stdint.h>

#define BENCH_LVB_SIZE 32

struct bench_ls;
struct bench_lock;

struct bench_backend {
	const char *name;
	/*
	 * 0 or -errno; ret_why (static text) says what is missing on failure.
	 * members: nodes that must have joined the lockspace (0: all; glockd
	 * has no joining and ignores it)
	 */
	int (*open)(const char *lockspace, unsigned int members, struct bench_ls **ret,
		    const char **ret_why);
	void (*close)(struct bench_ls *ls);
	/* mode: GLOCK_SH, GLOCK_DF or GLOCK_EX; waits at most tmo_ms */
	int (*lock)(struct bench_ls *ls, uint32_t type, uint64_t number, int mode,
		    unsigned int tmo_ms, struct bench_lock **ret);
	/* the holder lets go; the node keeps the lock cached */
	int (*unlock)(struct bench_lock *h);
	void (*lvb_read)(struct bench_lock *h, uint8_t buf[BENCH_LVB_SIZE]);
	/* written back when the node gives up EX */
	int (*lvb_write)(struct bench_lock *h, const uint8_t buf[BENCH_LVB_SIZE]);
};

extern const struct bench_backend glock__bench_glockd;
#ifdef HAVE_LIBDLM
extern const struct bench_backend glock__bench_dlm;
#endif

#endif
