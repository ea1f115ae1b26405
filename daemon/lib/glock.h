/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libglock: cluster glocks for user-space programs, served by the local
 * glockd over libqb IPC.
 *
 * A glock is named (lockspace, type, number), as GFS2 names its glocks,
 * and held in one of GFS2's modes.  Compatible: SH+SH, DF+DF, UN with
 * anything.  glockd caches grants on the node, so re-taking a glock that
 * this node already holds costs one IPC round trip and no network.
 *
 * Conventions: every function returns 0 or a negative errno; ret_*
 * arguments are written only on success; the library never logs, never
 * raises signals and keeps no global state.  One struct glock_ls is one
 * connection and is not thread-safe: give each thread its own.
 *
 * Errors a lock request can come back with:
 *   -EAGAIN     TRY/TRY_1CB and not grantable now
 *   -ETIMEDOUT  timeout_ms passed
 *   -ECANCELED  glock_cancel() withdrew it
 *   -EDEADLK    conversion deadlock: unlock and retry
 *   -ENOLCK     the node lost its locks (quorum loss)
 *   -ENOTCONN   glockd is not synced with the cluster, or went away
 *   -ENOBUFS    glockd's send queue is full: retry later
 *   -EACCES     glockd refused this user (allowed_uids/allowed_gids)
 *   -EINVAL, -ENOENT, -EBUSY, -EALREADY, -EEXIST, -EPROTO, -ENOMEM, -EIO
 *
 * Environment: GLOCK_IPC_NAME names glockd's IPC service (default
 * "glockd", glockd.conf's ipc_name).
 */
#ifndef GLOCK_H
#define GLOCK_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLOCK_LVB_SIZE 32
#define GLOCK_LOCKSPACE_LEN 63 /* longest lockspace name */

/* Modes (the values glockd uses on the wire). */
#define GLOCK_UN 0
#define GLOCK_SH 1 /* shared */
#define GLOCK_DF 2 /* deferred: shared with DF only (direct I/O) */
#define GLOCK_EX 3 /* exclusive */

/* Flags. */
#define GLOCK_TRY 0x1u      /* fail with -EAGAIN unless grantable now */
#define GLOCK_TRY_1CB 0x2u  /* like TRY, but ask the holders to demote once */
#define GLOCK_NOEXP 0x4u    /* grantable over expired holders of fenced nodes */
#define GLOCK_PRIORITY 0x8u /* queue at the front */

struct glock_ls;
struct glock_handle;

/*
 * Callbacks run from glock_dispatch(), never from anywhere else.
 *   completion  an async lock finished: status 0 and its handle, or
 *               -errno and NULL (the handle is gone)
 *   demote      another node wants this glock in target_mode: finish
 *               and unlock (or convert down) soon
 *   lost        the node lost this lock; the handle stays valid until
 *               glock_unlock(), which then just frees it
 * Any of them may be NULL.
 */
struct glock_callbacks {
	void (*completion)(void *cookie, int status, struct glock_handle *h);
	void (*demote)(struct glock_handle *h, int target_mode);
	void (*lost)(struct glock_handle *h);
};

/* Connects to the local glockd; lockspace names the locks this ls takes. */
int glock_open(const char *lockspace, struct glock_ls **ret);
/* Disconnects: glockd releases every lock of the connection.  Frees all handles.  Takes NULL. */
void glock_close(struct glock_ls *ls);
int glock_set_callbacks(struct glock_ls *ls, const struct glock_callbacks *cb);

/*
 * Takes (type, number) in mode, waiting at most timeout_ms (0: for ever).
 * flags: GLOCK_TRY, ...  *ret is the handle to convert and unlock.
 */
int glock_lock(struct glock_ls *ls, uint32_t type, uint64_t number, int mode, uint32_t flags,
	       uint32_t timeout_ms, struct glock_handle **ret);
/*
 * Same, without waiting: the outcome comes to completion(cookie, ...) from
 * glock_dispatch().  *ret_handle (may be NULL) is the pending handle, for
 * glock_cancel().
 */
int glock_lock_async(struct glock_ls *ls, uint32_t type, uint64_t number, int mode,
		     uint32_t flags, uint32_t timeout_ms, void *cookie,
		     struct glock_handle **ret_handle);
/* Changes the mode of a granted handle; down from EX writes a glock_lvb_write() LVB. */
int glock_convert(struct glock_handle *h, int mode, uint32_t flags, uint32_t timeout_ms);
/* Withdraws a pending async lock: its completion says -ECANCELED. */
int glock_cancel(struct glock_handle *h);
/*
 * Releases and frees the handle (an LVB set by glock_lvb_write() while EX
 * is written).  -EBUSY, handle untouched, while a request is pending on
 * it.  Takes NULL.
 */
int glock_unlock(struct glock_handle *h);

/* The 32-byte lock value block as of the grant. */
int glock_lvb_read(const struct glock_handle *h, uint8_t buf[GLOCK_LVB_SIZE]);
/* Sets the LVB written at unlock or down-conversion; only while EX (-EPERM otherwise). */
int glock_lvb_write(struct glock_handle *h, const uint8_t buf[GLOCK_LVB_SIZE]);

/* A file descriptor that polls readable when glock_dispatch() has work. */
int glock_fd(struct glock_ls *ls);
/* Runs the callbacks for everything received; never blocks.  Returns how many ran. */
int glock_dispatch(struct glock_ls *ls);

/* Handle accessors. */
int glock_handle_mode(const struct glock_handle *h);           /* GLOCK_UN while pending */
bool glock_handle_lost(const struct glock_handle *h);
void *glock_handle_cookie(const struct glock_handle *h);
uint64_t glock_handle_number(const struct glock_handle *h);
uint32_t glock_handle_type(const struct glock_handle *h);
/* glockd's corosync node id, as of glock_open(). */
uint32_t glock_local_node(const struct glock_ls *ls);

#ifdef __cplusplus
}
#endif

#endif /* GLOCK_H */
