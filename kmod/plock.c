// SPDX-License-Identifier: GPL-2.0-only
/*
 * fcntl() byte-range locks (POSIX and OFD) across the cluster, as
 * fs/dlm/plock.c does for gfs2: the cluster decides, the VFS keeps a copy.
 *
 * Each F_SETLK, F_SETLKW, F_UNLCK and F_GETLK is one PLOCK request to the
 * lock agent (glock/glock_dev.h) on the resource (lockspace, PLOCK, inode
 * number), with the caller's fl_owner as the owner: the files_struct of a
 * process, or the open file for an OFD lock.  The agent's masters apply
 * POSIX's split and merge rules and wake waiters; nothing is cached here.
 *
 * Once the cluster grants a lock it is recorded in the VFS too
 * (locks_lock_file_wait(), FL_SLEEP cleared), so that /proc/locks shows
 * it and close() and exit reach us through locks_remove_posix() with an
 * F_UNLCK.  The VFS copy can lag the cluster for a moment: when another
 * local owner downgrades, the cluster may grant us before that owner's
 * own VFS record is changed; the record then waits for it in the VFS.
 * Should the record fail anyway (a signal in that wait), the cluster lock
 * is given back over the range and the error returned.
 *
 * An unlock changes the VFS first, then the cluster, and waits for the
 * agent's answer, so a close() returns with the node's locks released
 * cluster-wide.
 *
 * F_GETLK looks at the node's own locks (the VFS copy) first: a conflict
 * found there is reported as the VFS reports it.  Otherwise the cluster is
 * asked, and a conflicting lock it reports is another node's: l_pid is
 * then the holder's pid negated (as dlm does; OFD locks show -1 as
 * always), so a program can tell it is no local process.
 *
 * A F_SETLKW waits interruptibly.  On a signal it sends CANCEL and waits,
 * without interruption, for the agent's answer to the LOCK: -EINTR (the
 * wait was withdrawn: the call restarts or fails with EINTR as the signal
 * says) or a grant that came first, which is kept and recorded as any
 * grant (the call succeeds; the signal is handled on return).  The agent
 * answers a CANCEL at once, and closing /dev/glock answers every waiting
 * request (-ENOLCK), so that wait is bounded by the agent.
 *
 * Not supported: lock managers that want asynchronous grants (lockd:
 * fl_lmops->lm_grant); glockfs is not exportable, and such a request gets
 * -ENOLCK.  Directories have no ->lock: their fcntl() locks are the node's
 * alone (as flock.c's).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "glockfs.h"

static bool cluster_plock = true;
module_param(cluster_plock, bool, 0644);
MODULE_PARM_DESC(cluster_plock,
		 "fcntl() locks exclude other nodes (default Y); N leaves them to each node, for tests only");

#define GLOCKFS_PLOCK_EOF	(~0ULL)

/* The agent's answer to a PLOCK; rep == NULL: the agent went away. */
static void plock_done(struct glockfs_req *req,
		       const struct glock_dev_reply *rep)
{
	if (rep) {
		req->r_status = rep->status;
		req->r_found = rep->mode == 1;
		if (req->r_found)
			req->r_conflict = rep->conflict;
	} else {
		req->r_status = -ENOLCK;
	}
	complete(&req->r_comp);
}

static void plock_req_init(struct glockfs_req *req, struct file *file,
			   struct file_lock *fl, u32 mode)
{
	struct inode *inode = file_inode(file);
	struct glock_dev_request *rec = &req->r_rec;
	bool ofd = (fl->fl_flags & FL_OFDLCK) || fl->fl_owner == file;

	memset(req, 0, sizeof(*req));
	init_completion(&req->r_comp);
	req->r_done = plock_done;
	req->r_sbi = GLOCKFS_SB(inode->i_sb);
	rec->op = GLOCK_DEV_OP_PLOCK;
	rec->mode = mode;
	rec->type = GLOCK_DEV_TYPE_PLOCK;
	rec->number = GLOCKFS_I(inode)->gi_gl.gl_number;
	rec->plock.start = fl->fl_start;
	rec->plock.end = fl->fl_end == OFFSET_MAX ? GLOCKFS_PLOCK_EOF :
						    fl->fl_end;
	rec->plock.owner = (u64)(unsigned long)fl->fl_owner;
	rec->plock.pid = ofd ? 0 : fl->fl_pid;
	if (ofd)
		rec->plock.flags |= GLOCK_DEV_PLOCK_F_OFD;
	if (fl->fl_type == F_WRLCK)
		rec->plock.flags |= GLOCK_DEV_PLOCK_F_WR;
}

/* Sends req and waits for its answer: the agent answers every PLOCK. */
static int plock_call(struct glockfs_req *req)
{
	int err = glockfs_dev_send(req->r_sbi, req);

	if (err)
		return err;
	wait_for_completion(&req->r_comp);
	return req->r_status;
}

/* Asks the agent to withdraw req, a waiting LOCK. */
static void plock_cancel(struct glockfs_req *req)
{
	struct glockfs_req *cancel;

	cancel = kzalloc(sizeof(*cancel), GFP_KERNEL | __GFP_NOFAIL);
	cancel->r_rec.op = GLOCK_DEV_OP_CANCEL;
	cancel->r_rec.type = GLOCK_DEV_TYPE_PLOCK;
	cancel->r_rec.number = req->r_rec.number;
	cancel->r_rec.req_id = req->r_rec.req_id;
	cancel->r_sbi = req->r_sbi;
	/* The agent is gone: dev.c answers req itself. */
	if (glockfs_dev_send(req->r_sbi, cancel))
		kfree(cancel);
}

/* F_SETLKW's wait: a signal withdraws it (see the top). */
static int plock_call_wait(struct glockfs_req *req)
{
	int err = glockfs_dev_send(req->r_sbi, req);

	if (err)
		return err;
	if (!wait_for_completion_interruptible(&req->r_comp))
		return req->r_status;
	plock_cancel(req);
	wait_for_completion(&req->r_comp);
	if (req->r_status == -EINTR)
		return -ERESTARTSYS;
	return req->r_status;
}

/* Gives the cluster's lock on fl's range back (a record that failed). */
static void plock_cluster_unlock(struct file *file, struct file_lock *fl)
{
	struct glockfs_req req;
	int err;

	plock_req_init(&req, file, fl, GLOCK_DEV_PLOCK_UNLOCK);
	req.r_rec.plock.flags &= ~GLOCK_DEV_PLOCK_F_WR;
	err = plock_call(&req);
	if (err)
		pr_warn_ratelimited("%pD2: cannot give back a lock the VFS refused: %d\n",
				    file, err);
}

/* Records a granted lock in the VFS (see the top for why it may wait). */
static int plock_record(struct file *file, struct file_lock *fl)
{
	unsigned int flags = fl->fl_flags;
	int err;

	fl->fl_flags &= ~FL_SLEEP;
	err = locks_lock_file_wait(file, fl);
	if (err == -EAGAIN) {
		fl->fl_flags |= FL_SLEEP;
		err = locks_lock_file_wait(file, fl);
	}
	fl->fl_flags = flags;
	if (err) {
		pr_warn_ratelimited("%pD2: granted lock not recorded locally: %d: giving it back\n",
				    file, err);
		plock_cluster_unlock(file, fl);
	}
	return err;
}

static int plock_lock(struct file *file, int cmd, struct file_lock *fl)
{
	struct glockfs_req req;
	bool wait = IS_SETLKW(cmd);
	int err;

	if (fl->fl_lmops && fl->fl_lmops->lm_grant) {
		pr_warn_once("asynchronous lock requests (lockd) are not supported\n");
		return -ENOLCK;
	}
	plock_req_init(&req, file, fl, GLOCK_DEV_PLOCK_LOCK);
	if (wait)
		req.r_rec.plock.flags |= GLOCK_DEV_PLOCK_F_WAIT;
	err = wait ? plock_call_wait(&req) : plock_call(&req);
	pr_debug("lock(%pD2, %s %lld-%lld%s) = %d\n", file,
		 fl->fl_type == F_WRLCK ? "WR" : "RD", fl->fl_start, fl->fl_end,
		 wait ? ", wait" : "", err);
	if (err)
		return err;
	return plock_record(file, fl);
}

/* F_UNLCK, and close/exit through locks_remove_posix(). */
static int plock_unlock(struct file *file, struct file_lock *fl)
{
	struct glockfs_req req;
	int verr, err;

	verr = locks_lock_file_wait(file, fl);
	if (verr)
		pr_warn_ratelimited("%pD2: local unlock: %d\n", file, verr);
	plock_req_init(&req, file, fl, GLOCK_DEV_PLOCK_UNLOCK);
	err = plock_call(&req);
	pr_debug("unlock(%pD2, %lld-%lld%s) = %d\n", file, fl->fl_start,
		 fl->fl_end, fl->fl_flags & FL_CLOSE ? ", close" : "", err);
	return verr ?: err;
}

static int plock_get(struct file *file, struct file_lock *fl)
{
	const struct glock_dev_plock_conflict *c;
	unsigned char type = fl->fl_type;
	struct glockfs_req req;
	int err;

	/* The node's own locks first: the VFS knows them (see the top). */
	posix_test_lock(file, fl);
	if (fl->fl_type != F_UNLCK)
		return 0;
	fl->fl_type = type;

	plock_req_init(&req, file, fl, GLOCK_DEV_PLOCK_GET);
	err = plock_call(&req);
	if (err)
		return err;
	if (!req.r_found) {
		fl->fl_type = F_UNLCK;
		return 0;
	}
	c = &req.r_conflict;
	fl->fl_type = c->flags & GLOCK_DEV_PLOCK_F_WR ? F_WRLCK : F_RDLCK;
	fl->fl_start = c->start;
	fl->fl_end = c->end == GLOCKFS_PLOCK_EOF ? OFFSET_MAX : c->end;
	fl->fl_flags = FL_POSIX;
	if (c->flags & GLOCK_DEV_PLOCK_F_OFD)
		fl->fl_flags |= FL_OFDLCK;
	/* Another node's process: a negative pid, as locks_translate_pid() keeps. */
	fl->fl_pid = -(pid_t)c->pid;
	return 0;
}

/* Node-local locks: what the VFS does when there is no ->lock. */
static int plock_local(struct file *file, int cmd, struct file_lock *fl)
{
	if (IS_GETLK(cmd)) {
		posix_test_lock(file, fl);
		return 0;
	}
	return posix_lock_file(file, fl, NULL);
}

int glockfs_lock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(fl->fl_flags & FL_POSIX))
		return -ENOLCK;
	if (!READ_ONCE(cluster_plock))
		return plock_local(file, cmd, fl);
	if (IS_GETLK(cmd))
		return plock_get(file, fl);
	if (fl->fl_type == F_UNLCK)
		return plock_unlock(file, fl);
	return plock_lock(file, cmd, fl);
}
