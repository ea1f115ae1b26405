// SPDX-License-Identifier: GPL-2.0-only
/*
 * flock(2) across the cluster, as gfs2 does it: each inode that is
 * flock()ed gets a second glock, of type GLOCK_DEV_TYPE_FLOCK and the
 * inode's number, and an open file holding a flock holds that glock in SH
 * (LOCK_SH) or EX (LOCK_EX) until LOCK_UN or its last close (which covers
 * the death of the process).  Local holders share the node's grant, so
 * the node's own VFS flock (locks_lock_file_wait) is taken too, and first:
 * it makes local processes exclude each other, and it leaves the glock
 * only conflicts with other nodes to wait for.
 *
 * Unlike the inode glock, the flock glock is not kept cached once no
 * local holder is left (go_nocache): a node that merely held a flock
 * some time ago must not make another node's LOCK_NB fail.  LOCK_NB asks
 * the agent with TRY, so it fails at once when another node holds a
 * conflicting flock, and only then.  A blocked flock() waits
 * interruptibly; a waiter that gives up cancels its request (glock.c).
 *
 * A conversion (LOCK_SH <-> LOCK_EX on the same open file) drops the lock
 * and takes the new one, as flock(2) allows ("not guaranteed to be
 * atomic") and as gfs2 and the local VFS do: a LOCK_NB conversion that
 * fails leaves the file with no lock.
 *
 * Directories have no flock glock: a flock() on a glockfs directory is
 * the node's alone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "glockfs.h"

static bool cluster_flock = true;
module_param(cluster_flock, bool, 0644);
MODULE_PARM_DESC(cluster_flock,
		 "flock() excludes other nodes (default Y); N leaves it to each node, for tests only");

static const struct glockfs_glock_ops glockfs_flock_glops = {
	.go_nocache	= true,
};

/* The inode's flock glock, made on first use. */
static struct glockfs_glock *glockfs_flock_glock(struct inode *inode)
{
	struct glockfs_inode *gi = GLOCKFS_I(inode);
	struct glockfs_glock *gl;

	mutex_lock(&gi->gi_mutex);
	gl = gi->gi_flock_gl;
	if (!gl) {
		gl = kzalloc(sizeof(*gl), GFP_KERNEL);
		if (gl) {
			glockfs_glock_init(gl, GLOCKFS_SB(inode->i_sb),
					   GLOCK_DEV_TYPE_FLOCK,
					   gi->gi_gl.gl_number,
					   &glockfs_flock_glops);
			gi->gi_flock_gl = gl;
		}
	}
	mutex_unlock(&gi->gi_mutex);
	return gl;
}

/* The inode goes: no open file is left, so no holder either. */
void glockfs_flock_evict(struct inode *inode)
{
	struct glockfs_inode *gi = GLOCKFS_I(inode);

	if (!gi->gi_flock_gl)
		return;
	glockfs_glock_evict(gi->gi_flock_gl);
	kfree(gi->gi_flock_gl);
	gi->gi_flock_gl = NULL;
}

/* Drops @file's local flock. */
static void glockfs_flock_local_unlock(struct file *file)
{
	struct file_lock fl;

	locks_init_lock(&fl);
	fl.fl_file = file;
	fl.fl_owner = file;
	fl.fl_pid = current->tgid;
	fl.fl_flags = FL_FLOCK;
	fl.fl_type = F_UNLCK;
	locks_lock_file_wait(file, &fl);
}

static int glockfs_do_flock(struct file *file, int cmd, struct file_lock *fl)
{
	struct glockfs_file *gf = file->private_data;
	struct glockfs_holder *gh = &gf->gf_flock_gh;
	unsigned int mode = fl->fl_type == F_WRLCK ? GLOCK_DEV_MODE_EX :
						     GLOCK_DEV_MODE_SH;
	unsigned int flags = GLOCKFS_GH_INTR;
	struct glockfs_glock *gl;
	int err;

	if (!READ_ONCE(cluster_flock))
		return locks_lock_file_wait(file, fl);
	if (!IS_SETLKW(cmd))
		flags |= GLOCKFS_GH_TRY;
	gl = glockfs_flock_glock(file_inode(file));
	if (!gl)
		return -ENOMEM;
	err = mutex_lock_killable(&gf->gf_mutex);
	if (err)
		return err;
	if (gh->gh_granted) {
		if (gh->gh_mode == mode)
			goto out_unlock;
		/* A conversion: let go first (see the top). */
		glockfs_glock_dq(gh);
		glockfs_flock_local_unlock(file);
	}
	/* Local processes first: the glock then waits for other nodes only. */
	err = locks_lock_file_wait(file, fl);
	if (err)
		goto out_unlock;
	err = glockfs_glock_nq_flags(gl, mode, flags, gh);
	if (err)
		glockfs_flock_local_unlock(file);
out_unlock:
	mutex_unlock(&gf->gf_mutex);
	pr_debug("flock(%pD2, %s%s) = %d\n", file, glockfs_mode_name(mode),
		 IS_SETLKW(cmd) ? "" : ", NB", err);
	return err;
}

/* LOCK_UN, and the last close of a file that holds a flock. */
static void glockfs_unflock(struct file *file, struct file_lock *fl)
{
	struct glockfs_file *gf = file->private_data;

	mutex_lock(&gf->gf_mutex);
	if (gf->gf_flock_gh.gh_granted)
		glockfs_glock_dq(&gf->gf_flock_gh);
	locks_lock_file_wait(file, fl);
	mutex_unlock(&gf->gf_mutex);
}

int glockfs_flock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(fl->fl_flags & FL_FLOCK))
		return -ENOLCK;
	if (fl->fl_type == F_UNLCK) {
		glockfs_unflock(file, fl);
		return 0;
	}
	return glockfs_do_flock(file, cmd, fl);
}
