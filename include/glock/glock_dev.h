/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR LGPL-2.1-or-later */
/*
 * glock_dev.h: the ABI between glockfs.ko and the node's lock agent (glockd)
 * over the misc device /dev/glock.  Modelled on DLM's dlm_plock device.
 *
 * Transport
 *   - One opener at a time: the node's lock agent.  A second open() gets
 *     -EBUSY.  A mount with no agent fails at once (-ENOTCONN).  When the
 *     agent closes the device, every mount that used it withdraws: I/O
 *     returns -EIO and unmount still works; the agent must not expect any
 *     of those mounts back when it reopens.
 *   - read() hands out exactly one struct glock_dev_request (the buffer
 *     must hold one; -EINVAL otherwise).  It blocks until one is queued, or
 *     returns -EAGAIN with O_NONBLOCK.  Requests come out in the order the
 *     kernel queued them.
 *   - write() takes exactly one struct glock_dev_reply and returns its
 *     size.  A malformed reply (wrong size, wrong major version, unknown op,
 *     bad mode, unknown req_id, a lockspace no mount uses) returns -EINVAL
 *     and changes nothing.
 *   - poll() reports EPOLLIN when a request is queued.
 *   - The node's device number is in /proc/misc ("glock"); there is no udev
 *     in the test guests: mknod /dev/glock c 10 MINOR.
 *
 * Requests (kernel -> agent)                             answered by
 *   MOUNT      lockspace: a mount wants to use it          MOUNT_REPLY
 *   UNMOUNT    lockspace: the last glock of it is released  (nothing)
 *   LOCK       the node holds nothing: wants mode          GRANT or DENY
 *   CONVERT    the node holds the glock: change to mode    GRANT or DENY
 *   RELEASE    the node gives the glock up (mode UN)       GRANT (mode UN) or DENY
 *   DEMOTE_DONE  answer to a DEMOTE: the node now holds    GRANT (mode) or DENY
 *              mode (UN: released, else converted down);
 *              cached pages were written back/invalidated
 *   CANCEL     req_id names a pending LOCK/CONVERT:        (that request gets
 *              withdraw it                                  DENY -ECANCELED, or
 *                                                           its GRANT if too late)
 * Every request but CANCEL and UNMOUNT carries a fresh req_id (unique per
 * boot of the module, never 0) and gets exactly one reply with that req_id.
 * The kernel never waits for the reply to RELEASE or DEMOTE_DONE; it uses
 * it for round-trip statistics only.  At most one LOCK/CONVERT per glock
 * is outstanding at a time.
 *
 * Replies and notifications (agent -> kernel)
 *   MOUNT_REPLY  req_id of the MOUNT; status 0 or -errno (mount fails with it)
 *   GRANT      req_id; mode now held by the node; lvb (valid for LOCK and
 *              CONVERT grants)
 *   DENY       req_id; status -errno: -EAGAIN (TRY failed), -ECANCELED,
 *              -EDEADLK (conversion deadlock: the kernel releases and
 *              relocks), -ENOLCK (locks lost: the mount withdraws), others
 *              are passed to the waiting caller
 *   DEMOTE     req_id 0; name; mode = the most the node may keep (UN, or
 *              SH/DF).  The kernel answers with DEMOTE_DONE once its local
 *              holders are done (the minimum hold time is the agent's
 *              business).  A DEMOTE for a glock the node does not hold is
 *              accepted and ignored: its RELEASE is already on the way.
 *   LOST       req_id 0; name (lockspace is enough: type/number ignored);
 *              the node lost its locks: the mount withdraws.
 *
 * Glock names: (lockspace, type, number).  glockfs uses type
 * GLOCK_DEV_TYPE_INODE with number = the lower inode's number, and type
 * GLOCK_DEV_TYPE_FLOCK (same number) for flock() on that inode.
 *
 * POSIX locks (since MINOR 1): fcntl() byte-range locks are not glocks but
 * range locks on a resource named (lockspace, GLOCK_DEV_TYPE_PLOCK, inode
 * number), decided by the cluster (docs/DESIGN.md §9.2), no caching.
 *   PLOCK      mode = GLOCK_DEV_PLOCK_LOCK, _UNLOCK or _GET;  PLOCK_REPLY
 *              plock = the range, the kernel's lock owner, the
 *              process, GLOCK_DEV_PLOCK_F_* flags
 *   CANCEL     type GLOCK_DEV_TYPE_PLOCK, req_id a waiting      (its PLOCK_REPLY:
 *              PLOCK LOCK: withdraw it (a signal)               -EINTR, or 0 if
 *                                                               granted first)
 *   PLOCK_REPLY  req_id; status 0 (locked, unlocked, GET: see mode), or
 *              -EAGAIN (conflict, no WAIT), -EDEADLK, -EINTR (cancelled),
 *              -ENOLCK (no cluster-wide POSIX locks here: the lock path
 *              has none, or the node lost its locks), -EINVAL;
 *              GET: mode 1 and conflict = a conflicting lock, or mode 0
 * Every PLOCK gets exactly one PLOCK_REPLY.  Ranges are inclusive;
 * end = ~0ULL means to the end of the file and beyond (OFFSET_MAX).
 */
#ifndef _GLOCK_DEV_H
#define _GLOCK_DEV_H

#include <linux/types.h>

#define GLOCK_DEV_VERSION_MAJOR	1
#define GLOCK_DEV_VERSION_MINOR	1
#define GLOCK_DEV_VERSION_PATCH	0

#define GLOCK_DEV_MISC_NAME	"glock"
#define GLOCK_DEV_LOCKSPACE_LEN	64	/* including the terminating NUL */
#define GLOCK_DEV_LVB_LEN	32

/* Glock types. */
#define GLOCK_DEV_TYPE_INODE	2
#define GLOCK_DEV_TYPE_FLOCK	6	/* as gfs2's LM_TYPE_FLOCK */
#define GLOCK_DEV_TYPE_PLOCK	7	/* as gfs2's LM_TYPE_PLOCK */

/* Modes: the values of the daemon engine's enum glock_mode. */
#define GLOCK_DEV_MODE_UN	0
#define GLOCK_DEV_MODE_SH	1
#define GLOCK_DEV_MODE_DF	2
#define GLOCK_DEV_MODE_EX	3

/* Request flags: the values of the daemon engine's enum glock_flag. */
#define GLOCK_DEV_FLAG_TRY	0x1
#define GLOCK_DEV_FLAG_TRY_1CB	0x2
#define GLOCK_DEV_FLAG_NOEXP	0x4
#define GLOCK_DEV_FLAG_PRIORITY	0x8
#define GLOCK_DEV_FLAGS_ALL	0xf

/* Request ops (kernel -> agent).  LOCK..CANCEL equal enum glock_op_kind. */
#define GLOCK_DEV_OP_LOCK		1
#define GLOCK_DEV_OP_CONVERT		2
#define GLOCK_DEV_OP_RELEASE		3
#define GLOCK_DEV_OP_CANCEL		4
#define GLOCK_DEV_OP_MOUNT		5
#define GLOCK_DEV_OP_UNMOUNT		6
#define GLOCK_DEV_OP_DEMOTE_DONE	7
#define GLOCK_DEV_OP_PLOCK		8

/* Reply ops (agent -> kernel); a distinct range so a request echoed back fails. */
#define GLOCK_DEV_OP_GRANT		129
#define GLOCK_DEV_OP_DENY		130
#define GLOCK_DEV_OP_DEMOTE		131
#define GLOCK_DEV_OP_LOST		132
#define GLOCK_DEV_OP_MOUNT_REPLY	133
#define GLOCK_DEV_OP_PLOCK_REPLY	134

/* PLOCK: what is asked, in the request's mode field. */
#define GLOCK_DEV_PLOCK_LOCK	1	/* F_SETLK, F_SETLKW (flag WAIT) */
#define GLOCK_DEV_PLOCK_UNLOCK	2	/* F_UNLCK over the range */
#define GLOCK_DEV_PLOCK_GET	3	/* F_GETLK */

/* PLOCK flags (request), and the conflicting lock's (reply). */
#define GLOCK_DEV_PLOCK_F_WR	0x1	/* F_WRLCK; else F_RDLCK */
#define GLOCK_DEV_PLOCK_F_WAIT	0x2	/* F_SETLKW */
#define GLOCK_DEV_PLOCK_F_OFD	0x4	/* an OFD lock: owner is the open file */
#define GLOCK_DEV_PLOCK_F_ALL	0x7

/* PLOCK request: in place of the LVB.  32 bytes. */
struct glock_dev_plock {
	__u64 start;
	__u64 end;		/* inclusive; ~0ULL: OFFSET_MAX */
	__u64 owner;		/* the kernel's fl_owner, opaque */
	__u32 pid;		/* fl_pid */
	__u32 flags;		/* GLOCK_DEV_PLOCK_F_* */
};

/* PLOCK_REPLY to a GET that found a conflict: in place of the LVB.  32 bytes. */
struct glock_dev_plock_conflict {
	__u64 start;
	__u64 end;
	__u32 pid;		/* of its process on its node (0: OFD) */
	__u32 nodeid;		/* the node that holds it */
	__u32 flags;		/* GLOCK_DEV_PLOCK_F_WR, _OFD */
	__u32 pad;		/* zero */
};

/* Kernel -> agent: 144 bytes, no implicit padding. */
struct glock_dev_request {
	__u32 version[3];	/* MAJOR, MINOR, PATCH of the kernel */
	__u32 op;		/* GLOCK_DEV_OP_LOCK .. DEMOTE_DONE */
	__u64 req_id;		/* CANCEL: the request to cancel */
	char lockspace[GLOCK_DEV_LOCKSPACE_LEN];	/* NUL-terminated */
	__u32 type;
	__u32 mode;		/* LOCK, CONVERT, DEMOTE_DONE: wanted/kept mode */
	__u64 number;
	__u32 flags;		/* GLOCK_DEV_FLAG_* */
	__u32 lvb_valid;	/* RELEASE/CONVERT/DEMOTE_DONE from EX: write lvb */
	union {
		__u8 lvb[GLOCK_DEV_LVB_LEN];
		struct glock_dev_plock plock;	/* PLOCK */
	};
};

/* Agent -> kernel: 144 bytes, no implicit padding. */
struct glock_dev_reply {
	__u32 version[3];	/* MAJOR must match; MINOR/PATCH are informative */
	__u32 op;		/* GLOCK_DEV_OP_GRANT .. MOUNT_REPLY */
	__u64 req_id;		/* 0 for DEMOTE and LOST */
	char lockspace[GLOCK_DEV_LOCKSPACE_LEN];
	__u32 type;
	__u32 mode;		/* GRANT: held; DEMOTE: target */
	__u64 number;
	__s32 status;		/* 0 or -errno (DENY, MOUNT_REPLY) */
	__u32 pad;		/* zero */
	union {
		__u8 lvb[GLOCK_DEV_LVB_LEN];	/* GRANT */
		struct glock_dev_plock_conflict conflict;	/* PLOCK_REPLY, GET */
	};
};

#endif /* _GLOCK_DEV_H */
