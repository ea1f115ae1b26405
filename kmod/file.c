// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs file operations: the I/O paths.
 *
 * Buffered reads hold the inode glock in SH, writes in EX, and both follow
 * gfs2 (since Linux 5.16) to avoid the mmap + page fault deadlock: the user
 * buffer is faulted in before the glock is taken, the copy runs with page
 * faults disabled, and a copy cut short by a fault keeps what was done,
 * drops the glock, faults in a bounded window and carries on.  Without
 * this, a read() into a buffer mmapped from another glockfs file would
 * fault while holding a glock, and the fault would need a second glock:
 * two nodes doing that crosswise deadlock.
 *
 * Direct I/O will hold the glock in DF the same way (glockfs_direct_*),
 * with the cache dropped when DF is granted; for now O_DIRECT opens fail
 * (there is no ->direct_IO).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/file.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <linux/writeback.h>
#include <linux/backing-dev.h>
#include <linux/sched.h>
#include <linux/cred.h>

#include "glockfs.h"

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

static int glockfs_file_open(struct inode *inode, struct file *file)
{
	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb)))
		return -EIO;
	return glockfs_open_lower(file);
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

static ssize_t glockfs_direct_read(struct kiocb *iocb, struct iov_iter *to)
{
	return -EINVAL;	/* would hold the glock in DF; see the top */
}

static ssize_t glockfs_direct_write(struct kiocb *iocb, struct iov_iter *from)
{
	return -EINVAL;
}

static ssize_t glockfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct glockfs_glock *gl = file_gl(iocb->ki_filp);
	size_t prev_count = 0, window_size = 0;
	struct glockfs_holder gh;
	bool held = false;
	size_t read = 0;
	ssize_t ret;

	if (iocb->ki_flags & IOCB_DIRECT)
		return glockfs_direct_read(iocb, to);
	if (!iov_iter_count(to))
		return 0;
retry:
	ret = glockfs_glock_nq(gl, GLOCK_DEV_MODE_SH, &gh);
	if (ret)
		goto out;
	held = true;
	pagefault_disable();
	to->nofault = true;
	ret = generic_file_read_iter(iocb, to);
	to->nofault = false;
	pagefault_enable();
	if (ret <= 0 && ret != -EFAULT)
		goto out_dq;
	if (ret > 0)
		read += ret;

	if (should_fault_in_pages(to, iocb, &prev_count, &window_size)) {
		glockfs_glock_dq(&gh);
		held = false;
		window_size -= fault_in_iov_iter_writeable(to, window_size);
		if (window_size)
			goto retry;
	}
out_dq:
	if (held)
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
	struct glockfs_holder gh;
	bool held = false;
	size_t written = 0;
	ssize_t ret;

	if (should_fault_in_pages(from, iocb, &prev_count, &window_size)) {
retry:
		window_size -= fault_in_iov_iter_readable(from, window_size);
		if (!window_size) {
			ret = -EFAULT;
			goto out;
		}
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
	pagefault_disable();
	ret = generic_perform_write(iocb, from);	/* advances ki_pos */
	pagefault_enable();
	current->backing_dev_info = NULL;
	if (ret > 0)
		written += ret;
	if (ret <= 0 && ret != -EFAULT)
		goto out_dq;

	from->count = orig_count - written;
	if (should_fault_in_pages(from, iocb, &prev_count, &window_size)) {
		glockfs_glock_dq(&gh);
		held = false;
		goto retry;
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

	if (iocb->ki_flags & IOCB_DIRECT)
		return glockfs_direct_write(iocb, from);
	if (iocb->ki_flags & IOCB_NOWAIT)
		return -EOPNOTSUPP;

	inode_lock(inode);
	/* Before the glock: it may call our setattr, which takes EX too. */
	ret = file_remove_privs(file);
	if (!ret)
		ret = glockfs_buffered_write(iocb, from);
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

static vm_fault_t glockfs_fault(struct vm_fault *vmf)
{
	struct glockfs_holder gh;
	vm_fault_t ret;
	int err;

	err = glockfs_glock_nq(file_gl(vmf->vma->vm_file), GLOCK_DEV_MODE_SH,
			       &gh);
	if (err)
		return vmf_error(err);
	ret = filemap_fault(vmf);
	glockfs_glock_dq(&gh);
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
	err = glockfs_glock_nq(file_gl(file), GLOCK_DEV_MODE_EX, &gh);
	if (err) {
		ret = vmf_error(err);
		goto out;
	}
	lock_page(page);
	if (page->mapping != inode->i_mapping ||
	    page_offset(page) >= i_size_read(inode)) {
		unlock_page(page);
		ret = VM_FAULT_NOPAGE;	/* truncated or invalidated: refault */
		goto out_dq;
	}
	set_page_dirty(page);
	wait_for_stable_page(page);
out_dq:
	glockfs_glock_dq(&gh);
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
	ret = generic_file_llseek(file, offset, whence);
	glockfs_glock_dq(&gh);
	return ret;
}

const struct file_operations glockfs_file_fops = {
	.open		= glockfs_file_open,
	.llseek		= glockfs_file_llseek,
	.read_iter	= glockfs_file_read_iter,
	.write_iter	= glockfs_file_write_iter,
	.mmap		= glockfs_file_mmap,
	.fsync		= glockfs_file_fsync,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
};

/* Directories: an open lower directory per open file, read under SH. */

static int glockfs_dir_open(struct inode *inode, struct file *file)
{
	struct file *lower;
	struct path path;

	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb)))
		return -EIO;
	glockfs_lower_path(file->f_path.dentry, &path);
	lower = dentry_open(&path, O_RDONLY | O_DIRECTORY | O_LARGEFILE,
			    current_cred());
	if (IS_ERR(lower))
		return PTR_ERR(lower);
	file->private_data = lower;
	return 0;
}

static int glockfs_dir_release(struct inode *inode, struct file *file)
{
	fput(file->private_data);
	return 0;
}

struct glockfs_readdir {
	struct dir_context ctx;
	struct dir_context *caller;
};

static bool glockfs_filldir(struct dir_context *ctx, const char *name,
			    int namelen, loff_t offset, u64 ino,
			    unsigned int d_type)
{
	struct glockfs_readdir *rd = container_of(ctx, struct glockfs_readdir,
						  ctx);

	rd->caller->pos = rd->ctx.pos;
	return dir_emit(rd->caller, name, namelen, ino, d_type);
}

static int glockfs_iterate(struct file *file, struct dir_context *ctx)
{
	struct file *lower = file->private_data;
	struct glockfs_readdir rd = {
		.ctx.actor = glockfs_filldir,
		.ctx.pos = ctx->pos,
		.caller = ctx,
	};
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(file_gl(file), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	lower->f_pos = ctx->pos;
	err = iterate_dir(lower, &rd.ctx);
	ctx->pos = rd.ctx.pos;
	glockfs_glock_dq(&gh);
	return err;
}

static loff_t glockfs_dir_llseek(struct file *file, loff_t offset, int whence)
{
	loff_t ret = vfs_llseek(file->private_data, offset, whence);

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
