// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs address space operations: our own page cache over the lower
 * file.  Pages are filled from, and written back to, the lower file with
 * kernel_read()/kernel_write() on the file glockfs_open_lower() opened.
 *
 * None of these take the glock: pages are only read in by holders, and
 * pages are only dirtied under EX, which the node keeps until the demote
 * work has written them back.  Once the mount is withdrawn, writeback
 * discards instead of writing without a lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/highmem.h>
#include <linux/writeback.h>
#include <linux/sched/mm.h>

#include "glockfs.h"

static struct file *lower_file(struct inode *inode)
{
	return READ_ONCE(GLOCKFS_I(inode)->gi_lower_file);
}

/* Fills @page from the lower file, zeroing past its end. */
static int glockfs_read_lower(struct inode *inode, struct page *page)
{
	struct file *lower = lower_file(inode);
	loff_t pos = page_offset(page);
	unsigned int nofs;
	ssize_t n;
	void *addr;

	if (!lower)
		return -EIO;
	addr = kmap_local_page(page);
	nofs = memalloc_nofs_save();
	n = kernel_read(lower, addr, PAGE_SIZE, &pos);
	memalloc_nofs_restore(nofs);
	if (n >= 0 && n < PAGE_SIZE)
		memset(addr + n, 0, PAGE_SIZE - n);
	kunmap_local(addr);
	pr_debug("read_lower(%pD2, %llu) = %zd\n", lower,
		 (unsigned long long)page_offset(page), n);
	if (n < 0)
		return n;
	flush_dcache_page(page);
	return 0;
}

static int glockfs_read_folio(struct file *file, struct folio *folio)
{
	struct page *page = &folio->page;
	int err;

	err = glockfs_read_lower(page->mapping->host, page);
	if (!err)
		SetPageUptodate(page);
	else
		SetPageError(page);
	unlock_page(page);
	return err;
}

static int glockfs_writepage(struct page *page, struct writeback_control *wbc)
{
	struct inode *inode = page->mapping->host;
	loff_t size = i_size_read(inode);
	pgoff_t end_index = size >> PAGE_SHIFT;
	struct file *lower = lower_file(inode);
	loff_t pos = page_offset(page);
	unsigned int len = PAGE_SIZE;
	unsigned int nofs;
	ssize_t n = 0;
	void *addr;

	if (page->index > end_index ||
	    (page->index == end_index && !offset_in_page(size))) {
		unlock_page(page);	/* wholly past EOF: truncated */
		return 0;
	}
	if (page->index == end_index)
		len = offset_in_page(size);

	set_page_writeback(page);
	if (glockfs_withdrawn(GLOCKFS_SB(inode->i_sb))) {
		n = -EIO;	/* the lock is gone: never write without it */
	} else if (!lower || !(lower->f_mode & FMODE_WRITE)) {
		n = -EBADF;
	} else {
		addr = kmap_local_page(page);
		nofs = memalloc_nofs_save();
		n = kernel_write(lower, addr, len, &pos);
		memalloc_nofs_restore(nofs);
		kunmap_local(addr);
		if (n >= 0 && n < len)
			n = -EIO;
	}
	pr_debug("writepage(ino %lu, %llu, %u) = %zd\n", inode->i_ino,
		 (unsigned long long)page_offset(page), len, n);
	if (n < 0) {
		SetPageError(page);
		mapping_set_error(page->mapping, n);
	}
	unlock_page(page);
	end_page_writeback(page);
	return 0;
}

static int glockfs_write_begin(struct file *file,
			       struct address_space *mapping, loff_t pos,
			       unsigned int len, struct page **pagep,
			       void **fsdata)
{
	struct inode *inode = mapping->host;
	unsigned int from = offset_in_page(pos);
	struct page *page;
	int err;

	page = grab_cache_page_write_begin(mapping, pos >> PAGE_SHIFT);
	if (!page)
		return -ENOMEM;
	*pagep = page;
	if (PageUptodate(page) || len == PAGE_SIZE)
		return 0;
	if (page_offset(page) >= i_size_read(inode)) {
		zero_user_segments(page, 0, from, from + len, PAGE_SIZE);
		return 0;
	}
	err = glockfs_read_lower(inode, page);
	if (err) {
		unlock_page(page);
		put_page(page);
		return err;
	}
	SetPageUptodate(page);
	return 0;
}

static int glockfs_write_end(struct file *file, struct address_space *mapping,
			     loff_t pos, unsigned int len, unsigned int copied,
			     struct page *page, void *fsdata)
{
	struct inode *inode = mapping->host;
	loff_t last_pos = pos + copied;

	if (!PageUptodate(page)) {
		/*
		 * Not read in: only a complete copy makes it valid.  Returning
		 * 0 makes generic_perform_write() retry, or stop on a fault.
		 */
		if (copied < len) {
			copied = 0;
			goto out;
		}
		SetPageUptodate(page);
	}
	if (last_pos > inode->i_size)
		i_size_write(inode, last_pos);
	set_page_dirty(page);
out:
	unlock_page(page);
	put_page(page);
	return copied;
}

const struct address_space_operations glockfs_aops = {
	.read_folio	= glockfs_read_folio,
	.writepage	= glockfs_writepage,
	.dirty_folio	= filemap_dirty_folio,
	.write_begin	= glockfs_write_begin,
	.write_end	= glockfs_write_end,
};
