// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs file operations: the I/O paths.
 *
 * Buffered reads hold the inode glock in SH, buffered writes in EX, direct
 * I/O in DF (compatible only with DF: several nodes do direct I/O at once
 * while buffered I/O waits; the node's page cache is dropped when DF is
 * granted, and direct I/O goes to the lower file past it).
 *
 * Problem scenario: a read() on node A holds file F's glock and copies into
 * a buffer mmapped from file G (or from F itself).  The copy faults, and the
 * fault handler needs G's glock: on A itself (F == G, a recursive deadlock
 * when the fault needs a mode the held one does not cover, or when another
 * holder is queued in between), or held by node B, whose own read() holds G
 * and faults on a mapping of F: ABBA across the cluster.  get_user_pages(),
 * which direct I/O to the lower file uses, faults without any CPU
 * exception, so pagefault_disable() alone does not stop it.
 *
 * So every path that copies to or from user memory under a glock does what
 * gfs2 does since Linux 5.16:
 *   1. fault in (a window of) the user buffer before taking the glock;
 *   2. do the I/O with page faults disabled and the iov_iter marked nofault
 *      (which makes get_user_pages() use FOLL_NOFAULT);
 *   3. when it comes back short, keep what was done, drop the glock, fault
 *      in a bounded window of the rest, retake the glock and carry on;
 *   4. give up (short count, or -EFAULT if nothing was done) only when the
 *      fault-in itself makes no progress.
 * Direct I/O adds one case: when the buffer maps the very file (fstests
 * generic/647, generic/729), retaking DF drops the pages just faulted in,
 * and step 3 would never make progress.  After a round without progress
 * one page goes through a kernel bounce page instead: read from the lower
 * file under DF and copied out with the glock dropped, or copied in with
 * the glock dropped and written to the lower file under DF.
 *
 * glockfs.fault_retry=0 turns all this off (the I/O runs under the glock
 * with page faults enabled): only to show that the tests catch the
 * deadlocks.  The page fault handlers (below) also cope with a task that
 * faults while holding the glock itself, for that mode's sake.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/file.h>
#include <linux/falloc.h>
#include <linux/fs_stack.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <linux/writeback.h>
#include <linux/backing-dev.h>
#include <linux/sched.h>
#include <linux/cred.h>
#include <linux/slab.h>

#include "glockfs.h"

static bool fault_retry = true;
module_param(fault_retry, bool, 0644);
MODULE_PARM_DESC(fault_retry,
		 "Fault user buffers in outside the glock and retry (default Y); N deadlocks, for tests only");

static bool retry_short_copy = true;
module_param(retry_short_copy, bool, 0644);
MODULE_PARM_DESC(retry_short_copy,
		 "With fault_retry: go on after a copy cut short by a fault (default Y); N returns the short count, for tests only");

static bool cut_invalidate_lock = true;
module_param(cut_invalidate_lock, bool, 0644);
MODULE_PARM_DESC(cut_invalidate_lock,
		 "Keep page faults out across truncate and hole punch (default Y); N lets them race the cut, for tests only");

/*
 * The invalidate lock across a cut (truncate, hole punch, zero range).
 * Returns whether it was taken: the parameter may change meanwhile.
 */
bool glockfs_cut_lock(struct address_space *mapping)
{
	if (!READ_ONCE(cut_invalidate_lock))
		return false;
	filemap_invalidate_lock(mapping);
	return true;
}

void glockfs_cut_unlock(struct address_space *mapping, bool locked)
{
	if (locked)
		filemap_invalidate_unlock(mapping);
}

static struct glockfs_glock *file_gl(struct file *file)
{
	return &GLOCKFS_I(file_inode(file))->gi_gl;
}

/*
 * Opens the lower file our page cache reads from and writes to, as the
 * mounter (writeback has no caller to borrow credentials from).  Read-write
 * if possible; a read-only one is upgraded when a writer comes.
 */
static int glockfs_open_lower(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct glockfs_inode *gi = GLOCKFS_I(inode);
	struct glockfs_sb *sbi = GLOCKFS_SB(inode->i_sb);
	bool want_write = file->f_mode & FMODE_WRITE;
	struct file *lower, *old;
	struct path path;
	int err = 0;

	glockfs_lower_path(file->f_path.dentry, &path);
	mutex_lock(&gi->gi_mutex);
	if (gi->gi_lower_file &&
	    (!want_write || (gi->gi_lower_file->f_mode & FMODE_WRITE)))
		goto out_unlock;
	lower = dentry_open(&path, O_RDWR | O_LARGEFILE, sbi->s_cred);
	if (IS_ERR(lower) && !want_write)
		lower = dentry_open(&path, O_RDONLY | O_LARGEFILE, sbi->s_cred);
	if (IS_ERR(lower)) {
		err = PTR_ERR(lower);
		goto out_unlock;
	}
	old = gi->gi_lower_file;
	/* read_folio may be using the old one: it stays until eviction. */
	if (old) {
		WARN_ON_ONCE(gi->gi_lower_file_ro);
		gi->gi_lower_file_ro = old;
	}
	WRITE_ONCE(gi->gi_lower_file, lower);
out_unlock:
	mutex_unlock(&gi->gi_mutex);
	pr_debug("open_lower(%pD2, %s) = %i\n", file,
		 want_write ? "rw" : "ro", err);
	return err;
}

/*
 * The lower file direct I/O goes to, with a reference: opened O_DIRECT on
 * first use where the lower filesystem allows it.  9p does: its reads and
 * writes then go to the server with the user pages pinned by
 * get_user_pages() (the zero-copy path, for more than 1 KiB), or copied
 * through a kernel buffer.  tmpfs in 6.1 refuses O_DIRECT: then the lower
 * file of the page cache serves, and tmpfs copies to or from the user
 * buffer.  Either way our page cache is bypassed.
 */
static struct file *glockfs_get_lower_dio(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct glockfs_inode *gi = GLOCKFS_I(inode);
	struct glockfs_sb *sbi = GLOCKFS_SB(inode->i_sb);
	bool want_write = file->f_mode & FMODE_WRITE;
	struct file *lower;
	struct path path;

	mutex_lock(&gi->gi_mutex);
	lower = gi->gi_lower_dio;
	if (gi->gi_lower_no_dio ||
	    (lower && (!want_write || (lower->f_mode & FMODE_WRITE))))
		goto out_get;
	glockfs_lower_path(file->f_path.dentry, &path);
	lower = dentry_open(&path, O_RDWR | O_DIRECT | O_LARGEFILE,
			    sbi->s_cred);
	if (IS_ERR(lower) && PTR_ERR(lower) != -EINVAL && !want_write)
		lower = dentry_open(&path, O_RDONLY | O_DIRECT | O_LARGEFILE,
				    sbi->s_cred);
	pr_debug("open_lower_dio(%pD2) = %d\n", file,
		 PTR_ERR_OR_ZERO(lower));
	if (IS_ERR(lower)) {
		if (PTR_ERR(lower) == -EINVAL)
			gi->gi_lower_no_dio = true;
		lower = gi->gi_lower_dio;
		goto out_get;
	}
	if (gi->gi_lower_dio)
		fput(gi->gi_lower_dio);	/* users hold their own reference */
	gi->gi_lower_dio = lower;
out_get:
	if (!lower || (want_write && !(lower->f_mode & FMODE_WRITE)))
		lower = gi->gi_lower_file;
	if (lower)
		get_file(lower);
	mutex_unlock(&gi->gi_mutex);
	return lower ?: ERR_PTR(-EBADF);
}

/*
 * A moment of SH at open, as gfs2_open(): an inode this node cached earlier
 * is reread if another node changed it since.  The VFS checks some calls
 * against our size before the filesystem is asked (copy_file_range cuts
 * the length at the source's EOF, O_LARGEFILE): it is then as of open.
 */
static int glockfs_open_refresh(struct inode *inode)
{
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(&GLOCKFS_I(inode)->gi_gl, GLOCK_DEV_MODE_SH,
			       &gh);
	if (!err)
		glockfs_glock_dq(&gh);
	return err;
}

static int glockfs_file_open(struct inode *inode, struct file *file)
{
	struct glockfs_file *gf;
	int err;

	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb)))
		return -EIO;
	gf = kzalloc(sizeof(*gf), GFP_KERNEL);
	if (!gf)
		return -ENOMEM;
	mutex_init(&gf->gf_mutex);
	file->f_mode |= FMODE_CAN_ODIRECT;
	err = glockfs_open_lower(file);
	if (!err)
		err = glockfs_open_refresh(inode);
	if (err) {
		kfree(gf);
		return err;
	}
	file->private_data = gf;
	return 0;
}

/* After locks_remove_file(): no flock is held any more. */
static int glockfs_file_release(struct inode *inode, struct file *file)
{
	struct glockfs_file *gf = file->private_data;

	WARN_ON_ONCE(gf->gf_flock_gh.gh_granted);
	kfree(gf);
	return 0;
}

/* As gfs2's should_fault_in_pages(): how much to fault in, if anything. */
static bool should_fault_in_pages(struct iov_iter *i, struct kiocb *iocb,
				  size_t *prev_count, size_t *window_size)
{
	size_t count = iov_iter_count(i);
	size_t size, offs;

	if (!count || !user_backed_iter(i))
		return false;
	/* A window first; one page when that made no progress. */
	size = PAGE_SIZE;
	offs = offset_in_page(iocb->ki_pos);
	if (*prev_count != count) {
		size_t nr_dirtied;

		nr_dirtied = max(current->nr_dirtied_pause -
				 current->nr_dirtied, 8);
		size = min_t(size_t, SZ_1M, nr_dirtied << PAGE_SHIFT);
	}
	*prev_count = count;
	*window_size = size - offs;
	return true;
}

/*
 * After a round of I/O under the glock: may the caller drop the glock,
 * fault in and go round again?  Only if the round moved something or
 * stopped at a fault, and the retry is on (see the top).
 */
static bool glockfs_go_round(ssize_t ret, bool retry, bool go_on)
{
	return (ret > 0 || ret == -EFAULT) && retry && go_on;
}

/* Before the glock is first taken: a window of the buffer. */
static void glockfs_prefault(struct iov_iter *i, bool writeable)
{
	size_t window = min_t(size_t, iov_iter_count(i), SZ_1M);

	if (!user_backed_iter(i))
		return;
	if (writeable)
		fault_in_iov_iter_writeable(i, window);
	else
		fault_in_iov_iter_readable(i, window);
}

/* The I/O under a glock: no page faults when retrying. */
static void glockfs_nofault_begin(struct iov_iter *i, bool retry)
{
	if (!retry)
		return;
	pagefault_disable();
	i->nofault = true;
}

static void glockfs_nofault_end(struct iov_iter *i, bool retry)
{
	if (!retry)
		return;
	i->nofault = false;
	pagefault_enable();
}

/* Lower-layer wrappers for direct I/O. */

static ssize_t glockfs_do_lower_read(struct file *lower, struct iov_iter *to,
				     loff_t *pos)
{
	size_t count = iov_iter_count(to);
	loff_t start = *pos;
	ssize_t ret;

	ret = vfs_iter_read(lower, to, pos, 0);
	pr_debug("lower_read(%pD2, %lld, %zu) = %zd\n", lower, start, count,
		 ret);
	return ret;
}

static ssize_t glockfs_do_lower_write(struct file *lower,
				      struct iov_iter *from, loff_t *pos)
{
	size_t count = iov_iter_count(from);
	loff_t start = *pos;
	ssize_t ret;

	file_start_write(lower);
	ret = vfs_iter_write(lower, from, pos, 0);
	file_end_write(lower);
	pr_debug("lower_write(%pD2, %lld, %zu) = %zd\n", lower, start, count,
		 ret);
	return ret;
}

/*
 * Under DF, before direct I/O: our cached pages of the range go (written
 * back first).  Normally there are none: the node dropped its cache when
 * it gave up SH or EX for DF, and nothing caches under DF.
 */
static int glockfs_dio_flush(struct file *file, loff_t pos, size_t count)
{
	struct address_space *mapping = file->f_mapping;
	loff_t end = pos + count - 1;
	int err;

	if (!count || !mapping->nrpages)
		return 0;
	err = filemap_write_and_wait_range(mapping, pos, end);
	if (err)
		return err;
	err = invalidate_inode_pages2_range(mapping, pos >> PAGE_SHIFT,
					    end >> PAGE_SHIFT);
	if (err)	/* -EBUSY: a page could not go; the I/O still may */
		pr_debug("dio_flush(%pD2): %d\n", file, err);
	return 0;
}

/*
 * One page of a direct read that the retry loop could not move: read
 * under DF into a bounce page, copied out with the glock dropped.  The
 * copy may fault, and the fault takes this file's glock itself.
 */
static ssize_t glockfs_direct_read_bounce(struct kiocb *iocb,
					  struct iov_iter *to,
					  struct file *lower)
{
	struct glockfs_glock *gl = file_gl(iocb->ki_filp);
	size_t len = min_t(size_t, iov_iter_count(to),
			   PAGE_SIZE - offset_in_page(iocb->ki_pos));
	struct glockfs_holder gh;
	loff_t pos = iocb->ki_pos;
	size_t copied;
	ssize_t ret;
	void *buf;

	buf = (void *)__get_free_page(GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_DF, &gh);
	if (ret)
		goto out_free;
	ret = glockfs_dio_flush(iocb->ki_filp, pos, len);
	if (!ret)
		ret = kernel_read(lower, buf, len, &pos);
	glockfs_glock_dq(&gh);
	if (ret <= 0)
		goto out_free;
	copied = copy_to_iter(buf, ret, to);
	iocb->ki_pos += copied;
	ret = copied ? copied : -EFAULT;
out_free:
	free_page((unsigned long)buf);
	pr_debug("direct_read_bounce(%pD2, %zu) = %zd\n", iocb->ki_filp, len,
		 ret);
	return ret;
}

static ssize_t glockfs_direct_read(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct glockfs_glock *gl = file_gl(file);
	size_t prev_count = 0, window_size = 0;
	bool retry = READ_ONCE(fault_retry);
	bool go_on = READ_ONCE(retry_short_copy);
	struct glockfs_holder gh;
	struct file *lower;
	size_t read = 0;
	bool stuck;
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	if (iocb->ki_flags & IOCB_NOWAIT)
		return -EAGAIN;
	lower = glockfs_get_lower_dio(file);
	if (IS_ERR(lower))
		return PTR_ERR(lower);
	if (retry)
		glockfs_prefault(to, true);
lock:
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_DF, &gh);
	if (ret)
		goto out_put;
	ret = glockfs_dio_flush(file, iocb->ki_pos, iov_iter_count(to));
	if (ret)
		goto out_dq;
	glockfs_nofault_begin(to, retry);
	ret = glockfs_do_lower_read(lower, to, &iocb->ki_pos);
	glockfs_nofault_end(to, retry);
	if (ret > 0)
		read += ret;
	if (!glockfs_go_round(ret, retry, go_on))
		goto out_dq;

	/* A round that moved nothing with a one-page window: bounce. */
	stuck = prev_count == iov_iter_count(to) && window_size <= PAGE_SIZE;
	if (!should_fault_in_pages(to, iocb, &prev_count, &window_size))
		goto out_dq;
	glockfs_glock_dq(&gh);
	if (stuck) {
		ret = glockfs_direct_read_bounce(iocb, to, lower);
		if (ret <= 0)
			goto out_put;
		read += ret;
		/* Straight to the bounce page if the next round is stuck. */
		prev_count = iov_iter_count(to);
		window_size = PAGE_SIZE;
		goto lock;
	}
	window_size -= fault_in_iov_iter_writeable(to, window_size);
	if (window_size)
		goto lock;
	ret = -EFAULT;
	goto out_put;

out_dq:
	glockfs_glock_dq(&gh);
out_put:
	fput(lower);
	return read ? read : ret;
}

/* The write-side twin of glockfs_direct_read_bounce(). */
static ssize_t glockfs_direct_write_bounce(struct kiocb *iocb,
					   struct iov_iter *from,
					   struct file *lower)
{
	struct file *file = iocb->ki_filp;
	struct glockfs_glock *gl = file_gl(file);
	size_t len = min_t(size_t, iov_iter_count(from),
			   PAGE_SIZE - offset_in_page(iocb->ki_pos));
	struct glockfs_holder gh;
	loff_t pos = iocb->ki_pos;
	size_t copied;
	ssize_t ret;
	void *buf;

	buf = (void *)__get_free_page(GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	copied = copy_from_iter(buf, len, from);
	ret = -EFAULT;
	if (!copied)
		goto out_free;
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_DF, &gh);
	if (ret)
		goto out_revert;
	ret = -EAGAIN;	/* grew or shrank meanwhile: the caller rechecks */
	if (pos + copied <= i_size_read(file_inode(file)))
		ret = glockfs_dio_flush(file, pos, copied);
	if (!ret)
		ret = kernel_write(lower, buf, copied, &pos);
	glockfs_glock_dq(&gh);
out_revert:
	if (ret < (ssize_t)copied)
		iov_iter_revert(from, copied - max_t(ssize_t, ret, 0));
	if (ret > 0)
		iocb->ki_pos += ret;
out_free:
	free_page((unsigned long)buf);
	pr_debug("direct_write_bounce(%pD2, %zu) = %zd\n", file, len, ret);
	return ret;
}

static ssize_t glockfs_buffered_write(struct kiocb *iocb,
				      struct iov_iter *from);

/*
 * A direct write that would extend the file goes through the page cache
 * under EX, as in gfs2 (DF holders on other nodes must not see the size
 * change under them), and is then written back and dropped from the cache.
 */
static ssize_t glockfs_direct_write_buffered(struct kiocb *iocb,
					     struct iov_iter *from)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	loff_t pos = iocb->ki_pos;
	ssize_t ret;
	int err;

	ret = glockfs_buffered_write(iocb, from);
	if (ret <= 0)
		return ret;
	/* Dirty pages imply the node holds EX: no glock needed to flush. */
	err = filemap_write_and_wait_range(mapping, pos, pos + ret - 1);
	if (err)
		return err;
	invalidate_mapping_pages(mapping, pos >> PAGE_SHIFT,
				 (pos + ret - 1) >> PAGE_SHIFT);
	return ret;
}

/* Under the inode lock. */
static ssize_t glockfs_direct_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct glockfs_glock *gl = file_gl(file);
	size_t prev_count = 0, window_size = 0;
	bool retry = READ_ONCE(fault_retry);
	bool go_on = READ_ONCE(retry_short_copy);
	struct glockfs_holder gh;
	struct file *lower;
	size_t written = 0;
	bool stuck;
	ssize_t ret;

	lower = glockfs_get_lower_dio(file);
	if (IS_ERR(lower))
		return PTR_ERR(lower);
	if (retry)
		glockfs_prefault(from, false);
lock:
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_DF, &gh);
	if (ret)
		goto out_put;
	/* Under the glock: O_APPEND and the limits see the cluster's size. */
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out_dq;
	if (iocb->ki_pos + iov_iter_count(from) > i_size_read(inode)) {
		glockfs_glock_dq(&gh);
		ret = glockfs_direct_write_buffered(iocb, from);
		if (ret > 0)
			written += ret;
		goto out_put;
	}
	ret = glockfs_dio_flush(file, iocb->ki_pos, iov_iter_count(from));
	if (ret)
		goto out_dq;
	glockfs_nofault_begin(from, retry);
	ret = glockfs_do_lower_write(lower, from, &iocb->ki_pos);
	glockfs_nofault_end(from, retry);
	if (ret > 0)
		written += ret;
	if (!glockfs_go_round(ret, retry, go_on))
		goto out_dq;

	stuck = prev_count == iov_iter_count(from) && window_size <= PAGE_SIZE;
	if (!should_fault_in_pages(from, iocb, &prev_count, &window_size))
		goto out_dq;
	glockfs_glock_dq(&gh);
	if (stuck) {
		ret = glockfs_direct_write_bounce(iocb, from, lower);
		if (ret == -EAGAIN)
			ret = 0;	/* size changed: go round again */
		if (ret < 0)
			goto out_put;
		written += ret;
		prev_count = iov_iter_count(from);
		window_size = PAGE_SIZE;
		goto lock;
	}
	window_size -= fault_in_iov_iter_readable(from, window_size);
	if (window_size)
		goto lock;
	ret = -EFAULT;
	goto out_put;

out_dq:
	glockfs_glock_dq(&gh);
out_put:
	fput(lower);
	return written ? written : ret;
}

static ssize_t glockfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct glockfs_glock *gl = file_gl(iocb->ki_filp);
	size_t prev_count = 0, window_size = 0;
	bool retry = READ_ONCE(fault_retry);
	bool go_on = READ_ONCE(retry_short_copy);
	struct glockfs_holder gh;
	size_t read = 0;
	ssize_t ret;

	if (iocb->ki_flags & IOCB_DIRECT)
		return glockfs_direct_read(iocb, to);
	if (!iov_iter_count(to))
		return 0;
	if (retry)
		glockfs_prefault(to, true);
lock:
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_SH, &gh);
	if (ret)
		goto out;
	glockfs_nofault_begin(to, retry);
	ret = generic_file_read_iter(iocb, to);
	glockfs_nofault_end(to, retry);
	if (ret > 0)
		read += ret;
	if (!glockfs_go_round(ret, retry, go_on))
		goto out_dq;

	if (should_fault_in_pages(to, iocb, &prev_count, &window_size)) {
		glockfs_glock_dq(&gh);
		window_size -= fault_in_iov_iter_writeable(to, window_size);
		if (window_size)
			goto lock;
		goto out;
	}
out_dq:
	glockfs_glock_dq(&gh);
out:
	return read ? read : ret;
}

static ssize_t glockfs_buffered_write(struct kiocb *iocb,
				      struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct glockfs_glock *gl = file_gl(file);
	size_t prev_count = 0, window_size = 0;
	size_t orig_count = iov_iter_count(from);
	bool retry = READ_ONCE(fault_retry);
	bool go_on = READ_ONCE(retry_short_copy);
	struct glockfs_holder gh;
	bool held = false;
	size_t written = 0;
	ssize_t ret;

	if (retry && should_fault_in_pages(from, iocb, &prev_count,
					   &window_size)) {
fault_in:
		window_size -= fault_in_iov_iter_readable(from, window_size);
		if (!window_size) {
			ret = -EFAULT;
			goto out;
		}
		/* One window a round; the whole rest when rounds are off. */
		if (go_on)
			from->count = min(from->count, window_size);
	}
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_EX, &gh);
	if (ret)
		goto out;
	held = true;
	/* Under EX, so O_APPEND sees the cluster's size. */
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out_dq;
	ret = file_update_time(file);
	if (ret)
		goto out_dq;

	current->backing_dev_info = inode_to_bdi(inode);
	if (retry)
		pagefault_disable();
	ret = generic_perform_write(iocb, from);	/* advances ki_pos */
	if (retry)
		pagefault_enable();
	current->backing_dev_info = NULL;
	if (ret > 0)
		written += ret;
	if (!glockfs_go_round(ret, retry, go_on))
		goto out_dq;

	from->count = orig_count - written;
	if (should_fault_in_pages(from, iocb, &prev_count, &window_size)) {
		glockfs_glock_dq(&gh);
		held = false;
		goto fault_in;
	}
out_dq:
	if (held)
		glockfs_glock_dq(&gh);
out:
	from->count = orig_count - written;
	return written ? written : ret;
}

static ssize_t glockfs_file_write_iter(struct kiocb *iocb,
				       struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t ret;

	if (iocb->ki_flags & IOCB_NOWAIT)
		return (iocb->ki_flags & IOCB_DIRECT) ? -EAGAIN : -EOPNOTSUPP;
	if (!iov_iter_count(from))
		return 0;

	inode_lock(inode);
	/* Before the glock: it may call our setattr, which takes EX too. */
	ret = file_remove_privs(file);
	if (!ret && (iocb->ki_flags & IOCB_DIRECT))
		ret = glockfs_direct_write(iocb, from);
	else if (!ret)
		ret = glockfs_buffered_write(iocb, from);
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/*
 * Page faults take the inode glock: SH to read a page in, EX to dirty one.
 *
 * Our I/O paths never let a fault happen under a glock they hold (faults
 * disabled, nofault iov_iter; see the top), so normally the faulting task
 * holds nothing.  The check below is for everything else, fault_retry=0
 * first of all: a task whose own holder covers the mode goes on under it
 * (asking again could queue it behind a conflicting waiter that waits for
 * its own holder); one whose holder does not cover it (a DF holder wanting
 * SH, SH wanting EX) would wait for itself forever, so the fault fails and
 * the copy returns -EFAULT.  Only a fault taken from kernel mode can see
 * that: no holder outlives a system call.
 *
 * A fault holds mmap_lock, and a direct read or write holding DF takes it
 * too, in get_user_pages(), to pin its buffer: with a writer of mmap_lock
 * queued between them the three would wait for each other.  So when the
 * glock is not to be had at once and the fault may be retried, ->fault
 * lets go of mmap_lock, waits for the glock (which the node then keeps
 * cached), and has the fault retried, as filemap_fault() does around I/O.
 * A write fault on a shared mapping waits for EX there, so that
 * ->page_mkwrite, which cannot be retried, normally finds it cached.
 */
static int glockfs_fault_lock(struct vm_fault *vmf, unsigned int mode,
			      struct glockfs_holder *gh)
{
	struct file *file = vmf->vma->vm_file;
	struct glockfs_glock *gl = file_gl(file);
	int held;

	held = glockfs_glock_held_by_me(gl, mode);
	if (held < 0)
		pr_warn_ratelimited("%s: fault on %pD2 needs %s while the faulting task holds its glock in another mode: refused\n",
				    gl->gl_sbi->s_lockspace, file,
				    glockfs_mode_name(mode));
	if (held) {
		gh->gh_granted = false;	/* nothing to dq */
		return held < 0 ? held : 0;
	}
	if (fault_flag_allow_retry_first(vmf->flags))
		return glockfs_glock_nq_try(gl, mode, gh);
	return glockfs_glock_nq(gl, mode, gh);
}

static void glockfs_fault_unlock(struct glockfs_holder *gh)
{
	if (gh->gh_granted)
		glockfs_glock_dq(gh);
}

/* The glock was not free: wait for it without mmap_lock, then retry. */
static vm_fault_t glockfs_fault_wait_unlocked(struct vm_fault *vmf,
					      unsigned int mode)
{
	struct file *file;
	struct glockfs_holder gh;
	int err;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;	/* the caller keeps mmap_lock */
	file = get_file(vmf->vma->vm_file);
	mmap_read_unlock(vmf->vma->vm_mm);
	err = glockfs_glock_nq(file_gl(file), mode, &gh);
	if (!err)
		glockfs_glock_dq(&gh);
	pr_debug("fault_wait_unlocked(%pD2, %s) = %d\n", file,
		 glockfs_mode_name(mode), err);
	fput(file);
	return VM_FAULT_RETRY;	/* an error comes back on the retry */
}

static vm_fault_t glockfs_fault(struct vm_fault *vmf)
{
	unsigned int mode = GLOCK_DEV_MODE_SH;
	struct glockfs_holder gh;
	vm_fault_t ret;
	int err;

	if ((vmf->flags & FAULT_FLAG_WRITE) &&
	    (vmf->vma->vm_flags & VM_SHARED))
		mode = GLOCK_DEV_MODE_EX;
	err = glockfs_fault_lock(vmf, mode, &gh);
	if (err == -EAGAIN)
		return glockfs_fault_wait_unlocked(vmf, mode);
	if (err)
		return err == -EDEADLK ? VM_FAULT_SIGBUS : vmf_error(err);
	ret = filemap_fault(vmf);
	glockfs_fault_unlock(&gh);
	return ret;
}

static vm_fault_t glockfs_page_mkwrite(struct vm_fault *vmf)
{
	struct page *page = vmf->page;
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct glockfs_holder gh;
	vm_fault_t ret = VM_FAULT_LOCKED;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(file);
	err = glockfs_fault_lock(vmf, GLOCK_DEV_MODE_EX, &gh);
	if (err) {
		ret = err == -EDEADLK ? VM_FAULT_SIGBUS : vmf_error(err);
		goto out;
	}
	/* Truncate and hole punch hold it across writeback and the cut. */
	filemap_invalidate_lock_shared(inode->i_mapping);
	lock_page(page);
	if (page->mapping != inode->i_mapping ||
	    page_offset(page) >= i_size_read(inode)) {
		unlock_page(page);
		ret = VM_FAULT_NOPAGE;	/* truncated or invalidated: refault */
		goto out_unlock;
	}
	set_page_dirty(page);
	wait_for_stable_page(page);
out_unlock:
	filemap_invalidate_unlock_shared(inode->i_mapping);
	glockfs_fault_unlock(&gh);
out:
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct glockfs_vm_ops = {
	.fault		= glockfs_fault,
	.map_pages	= filemap_map_pages,	/* cached pages are valid */
	.page_mkwrite	= glockfs_page_mkwrite,
};

static int glockfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &glockfs_vm_ops;
	return 0;
}

static int glockfs_file_fsync(struct file *file, loff_t start, loff_t end,
			      int datasync)
{
	struct inode *inode = file_inode(file);
	struct file *lower = READ_ONCE(GLOCKFS_I(inode)->gi_lower_file);
	int err;

	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb)))
		return -EIO;
	/* Dirty pages imply the node holds EX: no glock needed to flush. */
	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	return lower ? vfs_fsync_range(lower, start, end, datasync) : 0;
}

static loff_t glockfs_do_lower_llseek(struct file *lower, loff_t offset,
				      int whence)
{
	loff_t ret = vfs_llseek(lower, offset, whence);

	pr_debug("llseek(%pD2, %lld, %d) = %lld\n", lower, offset, whence,
		 ret);
	return ret;
}

/*
 * SEEK_DATA, SEEK_HOLE under SH: the lower's answer where its llseek knows
 * holes (tmpfs, ext4, xfs), once our dirty pages are written back to it;
 * else the generic one (9p): all data, the hole at EOF.  Our size, read
 * under the glock, is the one that counts: a remote lower fs without a
 * cache may hold a stale size in its inode.
 */
static loff_t glockfs_seek_data(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	struct file *lower = READ_ONCE(GLOCKFS_I(inode)->gi_lower_file);
	loff_t size = i_size_read(inode);
	loff_t ret;
	int err;

	if (!lower || !lower->f_op->llseek ||
	    lower->f_op->llseek == generic_file_llseek ||
	    offset < 0 || offset >= size)
		return generic_file_llseek(file, offset, whence);
	err = filemap_write_and_wait_range(inode->i_mapping, offset, LLONG_MAX);
	if (err)
		return err;
	ret = glockfs_do_lower_llseek(lower, offset, whence);
	if (ret == -ENXIO && whence == SEEK_HOLE)
		ret = size;
	if (ret < 0)
		return ret;
	if (ret >= size)	/* nothing but the hole at our EOF */
		return whence == SEEK_HOLE ?
			vfs_setpos(file, size, inode->i_sb->s_maxbytes) : -ENXIO;
	return vfs_setpos(file, ret, inode->i_sb->s_maxbytes);
}

static loff_t glockfs_file_llseek(struct file *file, loff_t offset,
				  int whence)
{
	struct glockfs_holder gh;
	loff_t ret;
	int err;

	if (whence != SEEK_END && whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek(file, offset, whence);
	err = glockfs_glock_nq(file_gl(file), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	if (whence == SEEK_END)
		ret = generic_file_llseek(file, offset, whence);
	else
		ret = glockfs_seek_data(file, offset, whence);
	glockfs_glock_dq(&gh);
	return ret;
}

static int glockfs_do_fallocate(struct file *lower, int mode, loff_t offset,
				loff_t len)
{
	int err = vfs_fallocate(lower, mode, offset, len);

	pr_debug("fallocate(%pD2, 0x%x, %lld, %lld) = %d\n", lower, mode,
		 offset, len, err);
	return err;
}

/*
 * For a lower filesystem without hole punching or zeroing (9p in 6.1 has
 * no fallocate at all; tmpfs cannot zero a range): write zeros.  What a
 * reader sees is the same; the space is not given back.
 */
static int glockfs_zero_lower(struct file *lower, loff_t offset, loff_t len)
{
	size_t chunk;
	ssize_t n;
	void *zero;

	zero = (void *)get_zeroed_page(GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	for (n = 0; len > 0; len -= n) {
		chunk = min_t(loff_t, len, PAGE_SIZE - offset_in_page(offset));
		n = kernel_write(lower, zero, chunk, &offset);
		if (n <= 0)
			break;
	}
	free_page((unsigned long)zero);
	return n < 0 ? n : (len > 0 ? -EIO : 0);
}

/*
 * Preallocation (mode 0, KEEP_SIZE) for a lower filesystem without
 * fallocate (9p in 6.1): what fallocate(2) promises a reader.  Mode 0 past
 * EOF writes zeros up to offset + len, so the size grows as POSIX says and
 * the space is taken; below EOF every byte already reads (data or zeros).
 * KEEP_SIZE cannot reserve space past EOF without showing it, so it
 * leaves the file as it is.  On a failure part way (ENOSPC), the size is
 * what was written, as ext4 leaves it.
 */
static int glockfs_prealloc_lower(struct inode *inode, struct file *lower,
				  int mode, loff_t offset, loff_t len)
{
	loff_t size = i_size_read(inode);
	int err;

	if ((mode & FALLOC_FL_KEEP_SIZE) || offset + len <= size)
		return 0;
	err = glockfs_zero_lower(lower, size, offset + len - size);
	if (err && i_size_read(file_inode(lower)) > size)
		i_size_write(inode, i_size_read(file_inode(lower)));
	pr_debug("prealloc_lower(%pD2, %lld..%lld) = %d\n", lower, size,
		 offset + len, err);
	return err;
}

/*
 * Hole punch, zero range, preallocation.  EX and the mapping's invalidate
 * lock are held from the writeback to the end, so no page fault can read a
 * page of the range back in from the lower file before it is cut (stale
 * data in our cache), nor redirty one that is then punched.
 */
static long glockfs_file_fallocate(struct file *file, int mode,
				   loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	bool zeroing = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
	loff_t end = offset + len - 1, size;
	struct glockfs_holder gh;
	struct file *lower;
	bool cut_locked;
	long err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	lower = READ_ONCE(GLOCKFS_I(inode)->gi_lower_file);
	if (!lower || !(lower->f_mode & FMODE_WRITE))
		return -EBADF;

	inode_lock(inode);
	/* Before the glock: it may call our setattr, which takes EX too. */
	err = file_remove_privs(file);
	if (err)
		goto out_unlock_inode;
	err = glockfs_glock_nq(file_gl(file), GLOCK_DEV_MODE_EX, &gh);
	if (err)
		goto out_unlock_inode;
	cut_locked = glockfs_cut_lock(mapping);
	/* Under EX: the size that counts.  EFBIG (and SIGXFSZ) as ext4. */
	if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) &&
	    offset + len > i_size_read(inode)) {
		err = inode_newsize_ok(inode, offset + len);
		if (err)
			goto out_unlock;
	}
	if (zeroing) {
		/* The partial pages at the ends keep their other bytes. */
		err = filemap_write_and_wait_range(mapping, offset, end);
		if (err)
			goto out_unlock;
		truncate_pagecache_range(inode, offset, end);
	} else {
		/* Growing the lower file must not hide our dirty tail. */
		err = filemap_write_and_wait(mapping);
		if (err)
			goto out_unlock;
	}
	err = glockfs_do_fallocate(lower, mode, offset, len);
	if (err == -EOPNOTSUPP && zeroing) {
		size = i_size_read(inode);
		if (mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
			len = min(len, max_t(loff_t, size - offset, 0));
		err = glockfs_zero_lower(lower, offset, len);
	} else if (err == -EOPNOTSUPP) {
		err = glockfs_prealloc_lower(inode, lower, mode, offset, len);
	}
	if (err)
		goto out_unlock;
	if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) &&
	    offset + len > i_size_read(inode))
		i_size_write(inode, offset + len);
	fsstack_copy_attr_times(inode, glockfs_lower_inode(inode));
	err = file_update_time(file);
out_unlock:
	glockfs_cut_unlock(mapping, cut_locked);
	glockfs_glock_dq(&gh);
out_unlock_inode:
	inode_unlock(inode);
	return err;
}

/*
 * copy_file_range holds the source in SH and the destination in EX, taken
 * in glock-number order (the cluster-wide lock order); one EX when they are
 * the same inode.
 */
static int glockfs_lock_copy(struct inode *in, struct inode *out,
			     struct glockfs_holder *gh_in,
			     struct glockfs_holder *gh_out)
{
	struct glockfs_glock *gl_in = &GLOCKFS_I(in)->gi_gl;
	struct glockfs_glock *gl_out = &GLOCKFS_I(out)->gi_gl;
	int err;

	gh_in->gh_granted = false;
	if (in == out)
		return glockfs_glock_nq(gl_out, GLOCK_DEV_MODE_EX, gh_out);
	if (gl_in->gl_number < gl_out->gl_number) {
		err = glockfs_glock_nq(gl_in, GLOCK_DEV_MODE_SH, gh_in);
		if (err)
			return err;
		err = glockfs_glock_nq(gl_out, GLOCK_DEV_MODE_EX, gh_out);
	} else {
		err = glockfs_glock_nq(gl_out, GLOCK_DEV_MODE_EX, gh_out);
		if (err)
			return err;
		err = glockfs_glock_nq(gl_in, GLOCK_DEV_MODE_SH, gh_in);
		if (err)
			glockfs_glock_dq(gh_out);
	}
	if (err && gh_in->gh_granted)
		glockfs_glock_dq(gh_in);
	return err;
}

static void glockfs_unlock_copy(struct glockfs_holder *gh_in,
				struct glockfs_holder *gh_out)
{
	glockfs_glock_dq(gh_out);
	if (gh_in->gh_granted)
		glockfs_glock_dq(gh_in);
}

static ssize_t glockfs_do_copy_lower(struct file *in, loff_t pos_in,
				     struct file *out, loff_t pos_out,
				     size_t len)
{
	ssize_t ret = vfs_copy_file_range(in, pos_in, out, pos_out, len, 0);

	pr_debug("copy_file_range(%pD2, %lld, %pD2, %lld, %zu) = %zd\n", in,
		 pos_in, out, pos_out, len, ret);
	return ret;
}

/*
 * What the lower's copy left (it may not copy at all, or stop at a lower
 * size that a remote lower fs without a cache has stale): through a kernel
 * page.
 */
static ssize_t glockfs_copy_bounce(struct file *in, loff_t pos_in,
				   struct file *out, loff_t pos_out,
				   size_t len)
{
	size_t done = 0, chunk;
	ssize_t n = 0, w;
	void *buf;

	buf = (void *)__get_free_page(GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		chunk = min_t(size_t, len - done, PAGE_SIZE);
		n = kernel_read(in, buf, chunk, &pos_in);
		if (n <= 0)
			break;
		w = kernel_write(out, buf, n, &pos_out);
		if (w < 0)
			n = w;
		if (w <= 0)
			break;
		done += w;
		if (w < n)
			break;
	}
	free_page((unsigned long)buf);
	return done ? done : n;
}

/*
 * copy_file_range: the lower files copy (the lower fs's own
 * copy_file_range or clone, else the kernel's splice copy), after our
 * dirty pages of both are written back; the destination's cached pages of
 * the range go afterwards.  The source's size under its glock is the one
 * that counts.  No user memory is touched (the data moves between kernel
 * pages of the lower files), so the page-fault rules at the top of this
 * file have nothing to guard: nothing here can fault on a mapping of a
 * glockfs file while holding a glock.
 */
static ssize_t glockfs_copy_file_range(struct file *file_in, loff_t pos_in,
				       struct file *file_out, loff_t pos_out,
				       size_t len, unsigned int flags)
{
	struct inode *in = file_inode(file_in), *out = file_inode(file_out);
	struct file *lower_in = READ_ONCE(GLOCKFS_I(in)->gi_lower_file);
	struct file *lower_out = READ_ONCE(GLOCKFS_I(out)->gi_lower_file);
	struct glockfs_holder gh_in, gh_out;
	ssize_t ret, more;
	bool cut_locked;
	loff_t size;
	int err;

	if (file_in->f_op != &glockfs_file_fops ||
	    in->i_sb != out->i_sb)
		return -EXDEV;
	if (!lower_in || !lower_out || !(lower_out->f_mode & FMODE_WRITE))
		return -EBADF;
	inode_lock(out);
	/* Before the glock: it may call our setattr, which takes EX too. */
	ret = file_remove_privs(file_out);
	if (ret)
		goto out_unlock_inode;
	ret = glockfs_lock_copy(in, out, &gh_in, &gh_out);
	if (ret)
		goto out_unlock_inode;
	cut_locked = glockfs_cut_lock(out->i_mapping);
	size = i_size_read(in);
	ret = 0;
	if (pos_in >= size)
		goto out_unlock;
	len = min_t(loff_t, len, size - pos_in);
	ret = filemap_write_and_wait_range(in->i_mapping, pos_in,
					   pos_in + len - 1);
	if (!ret && in != out)
		ret = filemap_write_and_wait_range(out->i_mapping, pos_out,
						   pos_out + len - 1);
	if (ret)
		goto out_unlock;
	ret = glockfs_do_copy_lower(lower_in, pos_in, lower_out, pos_out, len);
	if (ret < 0 && ret != -EOPNOTSUPP && ret != -EXDEV && ret != -EINVAL)
		goto out_unlock;
	ret = max_t(ssize_t, ret, 0);
	if (ret < len) {
		more = glockfs_copy_bounce(lower_in, pos_in + ret, lower_out,
					   pos_out + ret, len - ret);
		if (more < 0 && !ret)
			ret = more;
		else if (more > 0)
			ret += more;
	}
	if (ret <= 0)
		goto out_unlock;
	/* Whole pages: a partial one must be read again, not zeroed. */
	err = invalidate_inode_pages2_range(out->i_mapping, pos_out >> PAGE_SHIFT,
					    (pos_out + ret - 1) >> PAGE_SHIFT);
	if (err)
		pr_warn_ratelimited("%s: copy_file_range to inode %lu: cached pages stay: %d\n",
				    GLOCKFS_SB(out->i_sb)->s_lockspace,
				    out->i_ino, err);
	if (pos_out + ret > i_size_read(out))
		i_size_write(out, pos_out + ret);
	fsstack_copy_attr_times(out, glockfs_lower_inode(out));
	file_update_time(file_out);
out_unlock:
	glockfs_cut_unlock(out->i_mapping, cut_locked);
	glockfs_unlock_copy(&gh_in, &gh_out);
out_unlock_inode:
	inode_unlock(out);
	return ret;
}

const struct file_operations glockfs_file_fops = {
	.open		= glockfs_file_open,
	.release	= glockfs_file_release,
	.flock		= glockfs_flock,
	.lock		= glockfs_lock,
	.llseek		= glockfs_file_llseek,
	.read_iter	= glockfs_file_read_iter,
	.write_iter	= glockfs_file_write_iter,
	.mmap		= glockfs_file_mmap,
	.fsync		= glockfs_file_fsync,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
	.fallocate	= glockfs_file_fallocate,
	.copy_file_range = glockfs_copy_file_range,
};

/*
 * Directories.  readdir copies entries to user memory, which may be a
 * mapping of a glockfs file whose fault needs that file's glock: the copy
 * must not happen under the directory's glock (a rename, which takes the
 * glocks in number order, may hold the file's and wait for the
 * directory's on another node).  So entries are gathered from the lower
 * directory into a page under SH and handed to the caller with the glock
 * dropped.  What the caller had no room for stays in the page for the next
 * call: the lower directory's position cannot go back to it (tmpfs keeps a
 * cursor, 9p a read-ahead buffer, and both move on past what they gave).
 */
struct glockfs_dirent {
	u64 ino;
	loff_t pos;		/* of this entry: where to resume at it */
	unsigned int type;
	unsigned int namelen;
	char name[];
};

struct glockfs_dir_file {
	struct file *lower;
	void *page;		/* gathered entries, NULL until the first */
	size_t used, next;	/* bytes in the page; the next to hand out */
	loff_t lower_pos;	/* the lower's position after the page */
	bool more;		/* the lower stopped because the page was full */
};

struct glockfs_gather {
	struct dir_context ctx;
	struct glockfs_dir_file *df;
};

static size_t glockfs_dirent_size(unsigned int namelen)
{
	return ALIGN(struct_size_t(struct glockfs_dirent, name, namelen),
		     sizeof(u64));
}

static int glockfs_dir_open(struct inode *inode, struct file *file)
{
	struct glockfs_dir_file *df;
	struct path path;

	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb)))
		return -EIO;
	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	glockfs_lower_path(file->f_path.dentry, &path);
	df->lower = dentry_open(&path, O_RDONLY | O_DIRECTORY | O_LARGEFILE,
				current_cred());
	if (IS_ERR(df->lower)) {
		int err = PTR_ERR(df->lower);

		kfree(df);
		return err;
	}
	file->private_data = df;
	return 0;
}

static int glockfs_dir_release(struct inode *inode, struct file *file)
{
	struct glockfs_dir_file *df = file->private_data;

	fput(df->lower);
	free_page((unsigned long)df->page);
	kfree(df);
	return 0;
}

/* Forget the gathered entries and seek the lower (@offset, @whence). */
static loff_t glockfs_dir_reposition(struct glockfs_dir_file *df,
				     loff_t offset, int whence)
{
	loff_t ret = vfs_llseek(df->lower, offset, whence);

	df->used = 0;
	df->next = 0;
	df->more = false;
	if (ret >= 0)
		df->lower_pos = ret;
	return ret;
}

static bool glockfs_gather_entry(struct dir_context *ctx, const char *name,
				 int namelen, loff_t offset, u64 ino,
				 unsigned int d_type)
{
	struct glockfs_gather *g = container_of(ctx, struct glockfs_gather,
						ctx);
	struct glockfs_dir_file *df = g->df;
	size_t size = glockfs_dirent_size(namelen);
	struct glockfs_dirent *de = df->page + df->used;

	if (df->used + size > PAGE_SIZE) {
		df->more = true;
		return false;	/* the lower's position stays at this one */
	}
	de->ino = ino;
	de->pos = ctx->pos;
	de->type = d_type;
	de->namelen = namelen;
	memcpy(de->name, name, namelen);
	df->used += size;
	return true;
}

/* Fill the page from the lower directory, under the directory's glock. */
static int glockfs_dir_gather(struct file *file, struct glockfs_dir_file *df)
{
	struct glockfs_gather g = { .ctx.actor = glockfs_gather_entry,
				    .df = df };
	struct glockfs_holder gh;
	int err;

	df->used = 0;
	df->next = 0;
	df->more = false;
	err = glockfs_glock_nq(file_gl(file), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	err = iterate_dir(df->lower, &g.ctx);
	glockfs_glock_dq(&gh);
	df->lower_pos = df->lower->f_pos;
	return err;
}

static int glockfs_iterate(struct file *file, struct dir_context *ctx)
{
	struct glockfs_dir_file *df = file->private_data;
	struct glockfs_dirent *de;
	bool gathered = false;
	loff_t pos;
	int err;

	if (!df->page) {
		df->page = (void *)__get_free_page(GFP_KERNEL);
		if (!df->page)
			return -ENOMEM;
	}
	/* Where the caller is: the next gathered entry, or the lower's. */
	de = df->page + df->next;
	pos = df->next < df->used ? de->pos : df->lower_pos;
	if (ctx->pos != pos) {
		pos = glockfs_dir_reposition(df, ctx->pos, SEEK_SET);
		if (pos < 0)
			return pos;
	}
	for (;;) {
		while (df->next < df->used) {
			de = df->page + df->next;
			ctx->pos = de->pos;
			if (!dir_emit(ctx, de->name, de->namelen, de->ino,
				      de->type))
				return 0;	/* no room: kept for next time */
			df->next += glockfs_dirent_size(de->namelen);
		}
		ctx->pos = df->lower_pos;
		if (gathered && !df->more)
			return 0;	/* the lower reached its end */
		err = glockfs_dir_gather(file, df);
		gathered = true;
		if (err || !df->used)
			return err;
	}
}

static loff_t glockfs_dir_llseek(struct file *file, loff_t offset, int whence)
{
	loff_t ret;

	/* The lower is ahead of the caller by what is gathered. */
	if (whence == SEEK_CUR) {
		offset += file->f_pos;
		whence = SEEK_SET;
	}
	ret = glockfs_dir_reposition(file->private_data, offset, whence);
	if (ret >= 0)
		file->f_pos = ret;
	return ret;
}

const struct file_operations glockfs_dir_fops = {
	.open		= glockfs_dir_open,
	.release	= glockfs_dir_release,
	.iterate_shared	= glockfs_iterate,
	.read		= generic_read_dir,
	.llseek		= glockfs_dir_llseek,
	.fsync		= noop_fsync,
};
