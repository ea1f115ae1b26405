// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs inodes and the namespace: lookup, create, mkdir, symlink, mknod,
 * link, unlink, rmdir, rename, O_TMPFILE, getattr, setattr, fiemap.
 *
 * Namespace changes hold the parent directories (and the victims) in EX,
 * taken in glock-number order, the cluster-wide lock order; lookups hold
 * the directory in SH.  Every call to the lower filesystem goes through one
 * glockfs_do_*() wrapper with a pr_debug, the one place to look when the
 * lower layer misbehaves.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs_stack.h>
#include <linux/namei.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/dcache.h>
#include <linux/fiemap.h>
#include <linux/file.h>
#include <linux/posix_acl.h>

#include "glockfs.h"

/* Lower-layer wrappers: callers hold the lower directory locked. */

static int glockfs_do_create(struct inode *dir, struct dentry *dentry,
			     umode_t mode)
{
	int err = vfs_create(&init_user_ns, dir, dentry, mode, true);

	pr_debug("create(%pd2, 0%o) = %i\n", dentry, mode, err);
	return err;
}

static int glockfs_do_mkdir(struct inode *dir, struct dentry *dentry,
			    umode_t mode)
{
	int err = vfs_mkdir(&init_user_ns, dir, dentry, mode);

	pr_debug("mkdir(%pd2, 0%o) = %i\n", dentry, mode, err);
	return err;
}

static int glockfs_do_symlink(struct inode *dir, struct dentry *dentry,
			      const char *target)
{
	int err = vfs_symlink(&init_user_ns, dir, dentry, target);

	pr_debug("symlink(\"%s\", %pd2) = %i\n", target, dentry, err);
	return err;
}

static int glockfs_do_mknod(struct inode *dir, struct dentry *dentry,
			    umode_t mode, dev_t rdev)
{
	int err = vfs_mknod(&init_user_ns, dir, dentry, mode, rdev);

	pr_debug("mknod(%pd2, 0%o, %u:%u) = %i\n", dentry, mode, MAJOR(rdev),
		 MINOR(rdev), err);
	return err;
}

static int glockfs_do_link(struct dentry *old, struct inode *dir,
			   struct dentry *new)
{
	int err = vfs_link(old, &init_user_ns, dir, new, NULL);

	pr_debug("link(%pd2, %pd2) = %i\n", old, new, err);
	return err;
}

static struct file *glockfs_do_tmpfile(const struct path *dir, umode_t mode,
				       int flags, const struct cred *cred)
{
	struct file *file = vfs_tmpfile_open(&init_user_ns, dir, mode, flags,
					     cred);

	pr_debug("tmpfile(%pd2, 0%o, 0x%x) = %i\n", dir->dentry, mode, flags,
		 PTR_ERR_OR_ZERO(file));
	return file;
}

static int glockfs_do_unlink(struct inode *dir, struct dentry *dentry)
{
	int err = vfs_unlink(&init_user_ns, dir, dentry, NULL);

	pr_debug("unlink(%pd2) = %i\n", dentry, err);
	return err;
}

static int glockfs_do_rmdir(struct inode *dir, struct dentry *dentry)
{
	int err = vfs_rmdir(&init_user_ns, dir, dentry);

	pr_debug("rmdir(%pd2) = %i\n", dentry, err);
	return err;
}

static int glockfs_do_rename(struct inode *olddir, struct dentry *olddentry,
			     struct inode *newdir, struct dentry *newdentry,
			     unsigned int flags)
{
	struct renamedata rd = {
		.old_mnt_userns	= &init_user_ns,
		.old_dir	= olddir,
		.old_dentry	= olddentry,
		.new_mnt_userns	= &init_user_ns,
		.new_dir	= newdir,
		.new_dentry	= newdentry,
		.flags		= flags,
	};
	int err = vfs_rename(&rd);

	pr_debug("rename(%pd2, %pd2, 0x%x) = %i\n", olddentry, newdentry,
		 flags, err);
	return err;
}

static int glockfs_do_setattr(struct dentry *dentry, struct iattr *ia)
{
	int err = notify_change(&init_user_ns, dentry, ia, NULL);

	pr_debug("setattr(%pd2, 0x%x) = %i\n", dentry, ia->ia_valid, err);
	return err;
}

/*
 * Finds or makes the glockfs inode over @lower_dentry's inode.  Inodes are
 * keyed by the lower inode number, which is also the glock number: a
 * lower filesystem may have several inode objects for one file (9p without
 * a cache makes one per lookup), and all of them must share one glock.
 * The inode pins the lower dentry it was made from, so that it can always
 * ask the lower filesystem for fresh attributes.
 */
struct inode *glockfs_get_inode(struct super_block *sb,
				struct dentry *lower_dentry)
{
	struct glockfs_sb *sbi = GLOCKFS_SB(sb);
	struct inode *lower_inode = d_inode(lower_dentry);
	struct glockfs_inode *gi;
	struct inode *inode;

	if (lower_inode->i_sb != sbi->s_lower.dentry->d_sb)
		return ERR_PTR(-EXDEV);
	if (WARN_ON_ONCE(!lower_inode->i_ino))
		return ERR_PTR(-ESTALE);
	inode = iget_locked(sb, lower_inode->i_ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW) && inode_wrong_type(inode, lower_inode->i_mode)) {
		/*
		 * The lower filesystem reused the number of a removed object
		 * (the 9p server's host does) for one of another type: the
		 * cached inode is stale.  Unhash it; it goes with its last
		 * reference, and this lookup gets a fresh one.
		 */
		remove_inode_hash(inode);
		iput(inode);
		inode = iget_locked(sb, lower_inode->i_ino);
		if (!inode)
			return ERR_PTR(-ENOMEM);
	}
	if (!(inode->i_state & I_NEW)) {
		if (inode_wrong_type(inode, lower_inode->i_mode)) {
			iput(inode);
			return ERR_PTR(-ESTALE);
		}
		return inode;
	}

	gi = GLOCKFS_I(inode);
	gi->gi_lower_dentry = dget(lower_dentry);
	gi->gi_lower = lower_inode;
	inode->i_mapping->a_ops = &glockfs_aops;
	/* Permission checks read the lower's ACLs (xattr.c), as overlayfs. */
	inode->i_acl = ACL_DONT_CACHE;
	inode->i_default_acl = ACL_DONT_CACHE;
	fsstack_copy_attr_all(inode, lower_inode);
	fsstack_copy_inode_size(inode, lower_inode);
	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &glockfs_file_iops;
		inode->i_fop = &glockfs_file_fops;
		break;
	case S_IFDIR:
		inode->i_op = &glockfs_dir_iops;
		inode->i_fop = &glockfs_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &glockfs_symlink_iops;
		break;
	default:
		inode->i_op = &glockfs_file_iops;
		init_special_inode(inode, inode->i_mode, lower_inode->i_rdev);
		break;
	}
	glockfs_glock_init(&gi->gi_gl, sbi, GLOCK_DEV_TYPE_INODE,
			   lower_inode->i_ino, &glockfs_inode_glops);
	unlock_new_inode(inode);
	return inode;
}

/* At most this many other names are tried when the first one is gone. */
#define GLOCKFS_REREAD_ALIASES	4

/*
 * Fills @lowers with the lower dentries of @inode's other names (not
 * @gone), referenced; returns how many.
 */
static int glockfs_other_lowers(struct inode *inode, struct dentry *gone,
				struct dentry **lowers)
{
	struct dentry *alias, *lower;
	int n = 0;

	spin_lock(&inode->i_lock);
	hlist_for_each_entry(alias, &inode->i_dentry, d_u.d_alias) {
		lower = READ_ONCE(alias->d_fsdata);
		if (!lower || lower == gone || d_unhashed(alias))
			continue;
		lowers[n++] = dget(lower);
		if (n == GLOCKFS_REREAD_ALIASES)
			break;
	}
	spin_unlock(&inode->i_lock);
	return n;
}

/*
 * Asks the lower filesystem for @inode's attributes afresh (a remote lower
 * fs, 9p or NFS, fetches them) and copies them, and the size if @size.
 *
 * Problem scenario: F has names A and B (a hard link); our inode was found
 * by A and pins A's lower dentry.  Node 2 unlinks A.  Here the lower fs
 * answers ENOENT for A (9p walks by name), and F's new link count would
 * never be seen: so the other names of the inode are asked too.  When no
 * name answers, F was removed elsewhere: keep what we have.
 */
int glockfs_inode_reread(struct inode *inode, bool size)
{
	struct glockfs_sb *sbi = GLOCKFS_SB(inode->i_sb);
	struct dentry *first = GLOCKFS_I(inode)->gi_lower_dentry;
	struct dentry *lowers[GLOCKFS_REREAD_ALIASES];
	struct path path = { .mnt = sbi->s_lower.mnt, .dentry = first };
	struct dentry *from = NULL;
	struct kstat stat;
	int i, n, err;

	err = vfs_getattr(&path, &stat, STATX_BASIC_STATS, AT_STATX_FORCE_SYNC);
	if (!err)
		from = first;
	if (err != -ENOENT && err != -ESTALE)
		goto out_copy;
	n = glockfs_other_lowers(inode, first, lowers);
	err = 0;
	for (i = 0; i < n; i++) {
		path.dentry = lowers[i];
		if (!from && d_really_is_positive(lowers[i]) &&
		    !vfs_getattr(&path, &stat, STATX_BASIC_STATS,
				 AT_STATX_FORCE_SYNC)) {
			from = dget(lowers[i]);
		}
		dput(lowers[i]);
	}
	pr_debug("reread(ino %lu): first name gone, %d other(s), %s\n",
		 inode->i_ino, n, from ? "one answered" : "none answered");
out_copy:
	if (from) {
		fsstack_copy_attr_all(inode, d_inode(from));
		if (size)
			fsstack_copy_inode_size(inode, d_inode(from));
		if (from != first)
			dput(from);
	}
	return err;
}

/*
 * The node was granted the inode's glock after holding nothing: another
 * node may have changed it, so reread it from the lower filesystem.  The
 * page cache is empty (it was invalidated when the glock was given up).
 */
static int glockfs_inode_refresh(struct inode *inode)
{
	if (S_ISREG(inode->i_mode))
		invalidate_mapping_pages(glockfs_lower_inode(inode)->i_mapping,
					 0, -1);
	return glockfs_inode_reread(inode, true);
}

/*
 * Before the node gives up @from for @to: write dirty pages to the lower
 * file when giving up EX; drop the cache when giving up the right to cache
 * (to UN, or to DF, which is for direct I/O).
 */
static void glockfs_inode_sync(struct inode *inode, unsigned int from,
			       unsigned int to)
{
	struct glockfs_inode *gi = GLOCKFS_I(inode);
	struct address_space *mapping = inode->i_mapping;
	int err;

	if (from == GLOCK_DEV_MODE_EX && S_ISREG(inode->i_mode)) {
		err = filemap_write_and_wait(mapping);
		if (!err && gi->gi_lower_file)
			err = vfs_fsync(gi->gi_lower_file, 1);
		if (err)
			pr_warn_ratelimited("%s: writeback of inode %lu before demote: %d\n",
					    GLOCKFS_SB(inode->i_sb)->s_lockspace,
					    inode->i_ino, err);
	}
	if (to == GLOCK_DEV_MODE_UN || to == GLOCK_DEV_MODE_DF) {
		unmap_mapping_range(mapping, 0, 0, 0);
		truncate_inode_pages(mapping, 0);
		set_bit(GLF_REFRESH, &gi->gi_gl.gl_flags);
	}
}

static void glockfs_inode_go_sync(struct glockfs_glock *gl, unsigned int from,
				  unsigned int to)
{
	glockfs_inode_sync(glockfs_gl_inode(gl), from, to);
}

static int glockfs_inode_go_refresh(struct glockfs_glock *gl)
{
	return glockfs_inode_refresh(glockfs_gl_inode(gl));
}

const struct glockfs_glock_ops glockfs_inode_glops = {
	.go_sync	= glockfs_inode_go_sync,
	.go_refresh	= glockfs_inode_go_refresh,
};

static struct glockfs_glock *GL(struct inode *inode)
{
	return inode ? &GLOCKFS_I(inode)->gi_gl : NULL;
}

/* Makes @dentry stand for @lower_dentry (whose reference it takes). */
static struct dentry *glockfs_interpose(struct inode *dir,
					struct dentry *dentry,
					struct dentry *lower_dentry)
{
	struct inode *inode, *lower_inode;

	dentry->d_fsdata = lower_dentry;
	dentry->d_time = READ_ONCE(GL(dir)->gl_generation);
	lower_inode = READ_ONCE(lower_dentry->d_inode);
	if (!lower_inode) {
		d_add(dentry, NULL);
		return NULL;
	}
	inode = glockfs_get_inode(dentry->d_sb, lower_dentry);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	return d_splice_alias(inode, dentry);
}

/*
 * Problem scenario: node A renames or unlinks F; node B still has the lower
 * dentry of F cached (our inode pins it), and a lower filesystem without
 * d_revalidate (9p with cache=none) hands it back as if F still existed.
 * Holding the directory's glock, we know our cached view may be stale, so
 * a cached lower dentry that cannot revalidate itself is dropped and
 * looked up afresh.  Directories are kept: dropping one still in use
 * breaks a later rmdir on the lower filesystem.
 */
static void glockfs_drop_stale_lower(struct dentry *lower_dir, const struct qstr *name)
{
	struct inode *dir = d_inode(lower_dir);
	struct dentry *cached, *fresh;

	/*
	 * tmpfs and the like (simple_lookup) keep a directory only in the
	 * dcache: their dentries are never stale, and dropping one would
	 * remove the file.
	 */
	if (dir->i_op->lookup == simple_lookup)
		return;
	/* Exclusive: no lower lookup of this directory runs in between. */
	inode_lock_nested(dir, I_MUTEX_PARENT);
	cached = d_hash_and_lookup(lower_dir, (struct qstr *)name);
	if (IS_ERR_OR_NULL(cached))
		goto out_unlock;
	if ((cached->d_flags & DCACHE_OP_REVALIDATE) || d_is_dir(cached) ||
	    d_really_is_negative(cached))
		goto out_put;
	d_drop(cached);
	fresh = lookup_one_len(name->name, lower_dir, name->len);
	if (IS_ERR(fresh))
		goto out_put;
	/*
	 * Still the same object under this name: keep the dentry that our
	 * inodes and open files use (9p makes a new inode per lookup, so
	 * compare inode numbers).
	 */
	if (d_really_is_positive(fresh) &&
	    d_inode(fresh)->i_ino == d_inode(cached)->i_ino) {
		d_drop(fresh);
		d_rehash(cached);
	}
	dput(fresh);
out_put:
	dput(cached);
out_unlock:
	inode_unlock(dir);
}

static struct dentry *glockfs_lookup(struct inode *dir, struct dentry *dentry,
				     unsigned int flags)
{
	struct dentry *lower_dir = glockfs_lower_dentry(dentry->d_parent);
	struct dentry *lower_dentry, *res;
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(GL(dir), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return ERR_PTR(err);
	glockfs_drop_stale_lower(lower_dir, &dentry->d_name);
	lower_dentry = lookup_one_len_unlocked(dentry->d_name.name, lower_dir,
					       dentry->d_name.len);
	if (IS_ERR(lower_dentry))
		res = ERR_CAST(lower_dentry);
	else
		res = glockfs_interpose(dir, dentry, lower_dentry);
	glockfs_glock_dq(&gh);
	return res;
}

/* Locks the lower parent of @dentry; fails if the lower tree moved. */
static int glockfs_lock_parent(struct dentry *dentry, struct inode **ret_dir)
{
	struct dentry *lower_dir = glockfs_lower_dentry(dentry->d_parent);
	struct dentry *lower_dentry = glockfs_lower_dentry(dentry);

	inode_lock_nested(d_inode(lower_dir), I_MUTEX_PARENT);
	if (lower_dentry->d_parent != lower_dir) {
		inode_unlock(d_inode(lower_dir));
		return -EINVAL;
	}
	*ret_dir = d_inode(lower_dir);
	return 0;
}

/*
 * After creating, some filesystems leave the dentry unhashed or negative
 * (mkdir), or give it an inode without an identity (9p without a cache
 * makes one with inode number 0): look the new object up again.  Under
 * the lower directory's lock.
 */
static int glockfs_relookup(struct dentry *dentry, bool force)
{
	struct dentry *lower_dir = glockfs_lower_dentry(dentry->d_parent);
	struct dentry *lower = glockfs_lower_dentry(dentry);
	struct dentry *fresh;

	/* A dcache-only lower (tmpfs) would lose the file. */
	if (force && d_inode(lower_dir)->i_op->lookup == simple_lookup)
		force = false;
	if (!force && !d_unhashed(lower) && d_really_is_positive(lower) &&
	    d_inode(lower)->i_ino)
		return 0;
	d_drop(lower);
	fresh = lookup_one_len(dentry->d_name.name, lower_dir,
			       dentry->d_name.len);
	if (IS_ERR(fresh))
		return PTR_ERR(fresh);
	if (d_really_is_negative(fresh)) {
		dput(fresh);
		return -ENOENT;
	}
	dentry->d_fsdata = fresh;
	dput(lower);
	return 0;
}

enum glockfs_new_kind {
	GLOCKFS_NEW_FILE, GLOCKFS_NEW_DIR, GLOCKFS_NEW_LINK, GLOCKFS_NEW_NODE
};

static int glockfs_create_object(struct inode *dir, struct dentry *dentry,
				 enum glockfs_new_kind kind, umode_t mode,
				 const char *target, dev_t rdev, bool excl)
{
	struct glockfs_holder gh;
	struct inode *lower_dir, *inode;
	int err;

	err = glockfs_glock_nq(GL(dir), GLOCK_DEV_MODE_EX, &gh);
	if (err)
		return err;
	err = glockfs_lock_parent(dentry, &lower_dir);
	if (err)
		goto out_dq;

	switch (kind) {
	case GLOCKFS_NEW_FILE:
		err = glockfs_do_create(lower_dir, glockfs_lower_dentry(dentry),
					mode);
		/*
		 * Problem scenario: B's lookup (under the directory's SH glock)
		 * found no F; then A created F.  Holding EX now, B finds F on
		 * the lower filesystem: open(O_CREAT) without O_EXCL must open
		 * it, not fail with EEXIST.
		 */
		if (err == -EEXIST && !excl) {
			err = glockfs_relookup(dentry, false);
			if (!err && !d_is_reg(glockfs_lower_dentry(dentry)))
				err = -EEXIST;
		} else if (!err) {
			err = glockfs_relookup(dentry, false);
		}
		break;
	case GLOCKFS_NEW_DIR:
		err = glockfs_do_mkdir(lower_dir, glockfs_lower_dentry(dentry),
				       mode);
		if (!err)
			err = glockfs_relookup(dentry, false);
		break;
	case GLOCKFS_NEW_LINK:
		err = glockfs_do_symlink(lower_dir,
					 glockfs_lower_dentry(dentry), target);
		if (!err)
			err = glockfs_relookup(dentry, false);
		break;
	case GLOCKFS_NEW_NODE:
		/* -EPERM or -EOPNOTSUPP where the lower fs refuses the kind. */
		err = glockfs_do_mknod(lower_dir, glockfs_lower_dentry(dentry),
				       mode, rdev);
		if (!err)
			err = glockfs_relookup(dentry, false);
		break;
	}
	if (err)
		goto out_unlock;

	inode = glockfs_get_inode(dir->i_sb, glockfs_lower_dentry(dentry));
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto out_unlock;
	}
	d_instantiate(dentry, inode);
	fsstack_copy_attr_times(dir, lower_dir);
	fsstack_copy_inode_size(dir, lower_dir);
	set_nlink(dir, lower_dir->i_nlink);
out_unlock:
	inode_unlock(lower_dir);
out_dq:
	glockfs_glock_dq(&gh);
	return err;
}

static int glockfs_create(struct user_namespace *ns, struct inode *dir,
			  struct dentry *dentry, umode_t mode, bool excl)
{
	return glockfs_create_object(dir, dentry, GLOCKFS_NEW_FILE, mode, NULL, 0,
				     excl);
}

static int glockfs_mkdir(struct user_namespace *ns, struct inode *dir,
			 struct dentry *dentry, umode_t mode)
{
	return glockfs_create_object(dir, dentry, GLOCKFS_NEW_DIR, mode, NULL, 0,
				     true);
}

static int glockfs_symlink(struct user_namespace *ns, struct inode *dir,
			   struct dentry *dentry, const char *target)
{
	return glockfs_create_object(dir, dentry, GLOCKFS_NEW_LINK, 0, target, 0,
				     true);
}

static int glockfs_mknod(struct user_namespace *ns, struct inode *dir,
			 struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return glockfs_create_object(dir, dentry, GLOCKFS_NEW_NODE, mode, NULL,
				     rdev, true);
}

/*
 * A hard link holds the directory and the inode in EX, in glock-number
 * order as rename does: the inode's link count changes, and every node
 * that cached it (or the directory) rereads it when it is next granted.
 * The count is our own, as in remove below: a lower fs without a cache
 * (9p) does not update its object.
 */
static int glockfs_link(struct dentry *old_dentry, struct inode *dir,
			struct dentry *new_dentry)
{
	struct inode *inode = d_inode(old_dentry);
	struct glockfs_glock *gls[2] = { GL(dir), GL(inode) };
	struct dentry *lower_old = glockfs_lower_dentry(old_dentry);
	struct glockfs_holder ghs[2];
	struct inode *lower_dir;
	int err;

	err = glockfs_glock_nq_m(2, gls, GLOCK_DEV_MODE_EX, ghs);
	if (err)
		return err;
	err = glockfs_lock_parent(new_dentry, &lower_dir);
	if (err)
		goto out_dq;
	dget(lower_old);
	/* An O_TMPFILE's lower dentry is unhashed: only a negative is gone. */
	if (d_really_is_negative(lower_old))
		err = -ENOENT;
	else
		err = glockfs_do_link(lower_old, lower_dir,
				      glockfs_lower_dentry(new_dentry));
	dput(lower_old);
	/*
	 * 9p gives the new lower dentry the old name's inode object, whose
	 * open fids name the old path: once that name is unlinked (by any
	 * node), calls through the new name would fail with ENOENT.  A
	 * lookup of its own gives it an object that walks its own name.
	 */
	if (!err)
		err = glockfs_relookup(new_dentry, true);
	if (err)
		goto out_unlock;
	inc_nlink(inode);
	inode->i_ctime = current_time(inode);
	ihold(inode);
	d_instantiate(new_dentry, inode);
	fsstack_copy_attr_times(dir, lower_dir);
	fsstack_copy_inode_size(dir, lower_dir);
out_unlock:
	inode_unlock(lower_dir);
out_dq:
	glockfs_glock_dq_m(2, ghs);
	return err;
}

/*
 * O_TMPFILE: the lower's unnamed file, opened here and kept as the lower
 * file of our page cache.  The directory does not change: SH.  A lower fs
 * without ->tmpfile (9p) gives -EOPNOTSUPP, which open(2) returns.
 */
static int glockfs_tmpfile(struct user_namespace *ns, struct inode *dir,
			   struct file *file, umode_t mode)
{
	struct glockfs_sb *sbi = GLOCKFS_SB(dir->i_sb);
	struct dentry *dentry = file->f_path.dentry;
	struct glockfs_inode *gi;
	struct path lower_dir;
	struct glockfs_holder gh;
	struct file *lower;
	struct inode *inode;
	int err;

	glockfs_lower_path(dentry->d_parent, &lower_dir);
	err = glockfs_glock_nq(GL(dir), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	lower = glockfs_do_tmpfile(&lower_dir, mode,
				   O_RDWR | O_LARGEFILE | (file->f_flags & O_EXCL),
				   sbi->s_cred);
	glockfs_glock_dq(&gh);
	if (IS_ERR(lower))
		return PTR_ERR(lower);
	inode = glockfs_get_inode(dir->i_sb, lower->f_path.dentry);
	if (IS_ERR(inode)) {
		fput(lower);
		return PTR_ERR(inode);
	}
	gi = GLOCKFS_I(inode);
	if (gi->gi_lower_dentry != lower->f_path.dentry || inode->i_nlink) {
		/* A cached inode of a removed file whose number came back. */
		iput(inode);
		fput(lower);
		return -ESTALE;
	}
	/* Our page cache's lower file: glockfs_open_lower() finds it. */
	gi->gi_lower_file = lower;
	dentry->d_fsdata = dget(gi->gi_lower_dentry);
	set_nlink(inode, 1);	/* d_tmpfile() takes it to 0 */
	d_tmpfile(file, inode);
	return finish_open_simple(file, 0);
}

static int glockfs_remove(struct inode *dir, struct dentry *dentry, bool isdir)
{
	struct glockfs_glock *gls[2] = { GL(dir), GL(d_inode(dentry)) };
	struct dentry *lower_dentry = glockfs_lower_dentry(dentry);
	struct inode *inode = d_inode(dentry);
	struct glockfs_holder ghs[2];
	struct inode *lower_dir;
	int err;

	err = glockfs_glock_nq_m(2, gls, GLOCK_DEV_MODE_EX, ghs);
	if (err)
		return err;
	err = glockfs_lock_parent(dentry, &lower_dir);
	if (err)
		goto out_dq;
	dget(lower_dentry);	/* keep the lower dentry from going negative */
	if (d_unhashed(lower_dentry) || d_really_is_negative(lower_dentry))
		err = -ENOENT;
	else if (isdir)
		err = glockfs_do_rmdir(lower_dir, lower_dentry);
	else
		err = glockfs_do_unlink(lower_dir, lower_dentry);
	if (!err) {
		/*
		 * Our own count, not the lower inode's: a lower fs without a
		 * cache (9p) may not update that object.  At zero the inode
		 * is evicted at once, which matters because the lower fs may
		 * reuse the number, our inode key and glock name.
		 */
		if (isdir)
			clear_nlink(inode);
		else
			drop_nlink(inode);
		fsstack_copy_attr_times(dir, lower_dir);
		set_nlink(dir, lower_dir->i_nlink);
		inode->i_ctime = dir->i_ctime;
	}
	dput(lower_dentry);
	inode_unlock(lower_dir);
	if (!err)
		d_drop(dentry);
out_dq:
	glockfs_glock_dq_m(2, ghs);
	return err;
}

static int glockfs_unlink(struct inode *dir, struct dentry *dentry)
{
	return glockfs_remove(dir, dentry, false);
}

static int glockfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	return glockfs_remove(dir, dentry, true);
}

static int glockfs_rename(struct user_namespace *ns, struct inode *old_dir,
			  struct dentry *old_dentry, struct inode *new_dir,
			  struct dentry *new_dentry, unsigned int flags)
{
	struct glockfs_glock *gls[4] = {
		GL(old_dir), GL(new_dir), GL(d_inode(old_dentry)),
		GL(d_inode(new_dentry)),
	};
	struct dentry *lower_old_dir = glockfs_lower_dentry(old_dentry->d_parent);
	struct dentry *lower_new_dir = glockfs_lower_dentry(new_dentry->d_parent);
	struct dentry *lower_old = glockfs_lower_dentry(old_dentry);
	struct dentry *lower_new = glockfs_lower_dentry(new_dentry);
	struct inode *target = d_inode(new_dentry);
	struct glockfs_holder ghs[4];
	struct dentry *trap;
	int err;

	if (flags & RENAME_WHITEOUT)
		return -EINVAL;
	err = glockfs_glock_nq_m(4, gls, GLOCK_DEV_MODE_EX, ghs);
	if (err)
		return err;

	trap = lock_rename(lower_old_dir, lower_new_dir);
	dget(lower_new);
	err = -EINVAL;
	if (lower_old->d_parent != lower_old_dir ||
	    lower_new->d_parent != lower_new_dir)
		goto out_unlock;
	if (d_unhashed(lower_old) || d_unhashed(lower_new))
		goto out_unlock;
	if (trap == lower_old)	/* source is an ancestor of the target */
		goto out_unlock;
	if (trap == lower_new) {	/* target is an ancestor of the source */
		err = -ENOTEMPTY;
		goto out_unlock;
	}
	err = glockfs_do_rename(d_inode(lower_old_dir), lower_old,
				d_inode(lower_new_dir), lower_new, flags);
	if (err)
		goto out_unlock;
	if (target && !(flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(target->i_mode))
			clear_nlink(target);
		else
			drop_nlink(target);
	}
	fsstack_copy_attr_all(new_dir, d_inode(lower_new_dir));
	if (new_dir != old_dir)
		fsstack_copy_attr_all(old_dir, d_inode(lower_old_dir));
out_unlock:
	dput(lower_new);
	unlock_rename(lower_old_dir, lower_new_dir);
	glockfs_glock_dq_m(4, ghs);
	return err;
}

static int glockfs_getattr(struct user_namespace *ns, const struct path *path,
			   struct kstat *stat, u32 request_mask,
			   unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(GL(inode), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	generic_fillattr(&init_user_ns, inode, stat);
	stat->blocks = max_t(u64, glockfs_lower_inode(inode)->i_blocks,
			     (i_size_read(inode) + 511) >> 9);
	glockfs_glock_dq(&gh);
	return 0;
}

static int glockfs_setattr(struct user_namespace *ns, struct dentry *dentry,
			   struct iattr *ia)
{
	struct dentry *lower_dentry = glockfs_lower_dentry(dentry);
	struct inode *inode = d_inode(dentry);
	struct inode *lower = glockfs_lower_inode(inode);
	bool truncate = (ia->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode);
	struct iattr lower_ia = *ia;
	struct glockfs_holder gh;
	bool cut_locked = false;
	int err;

	err = setattr_prepare(&init_user_ns, dentry, ia);
	if (err)
		return err;
	err = glockfs_glock_nq(GL(inode), GLOCK_DEV_MODE_EX, &gh);
	if (err)
		return err;
	if (truncate) {
		/*
		 * Page faults stay out from the writeback to the end:
		 * page_mkwrite takes the invalidate lock too.  Otherwise a
		 * page written back here could be redirtied through a
		 * mapping and written back again after the lower file was
		 * cut, past its new end.  The lower file must hold
		 * everything below the old size.
		 */
		cut_locked = glockfs_cut_lock(inode->i_mapping);
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			goto out_unlock;
	}
	lower_ia.ia_valid &= ~ATTR_FILE;
	if (lower_ia.ia_valid & (ATTR_KILL_SUID | ATTR_KILL_SGID))
		lower_ia.ia_valid &= ~ATTR_MODE;

	inode_lock(lower);
	err = glockfs_do_setattr(lower_dentry, &lower_ia);
	inode_unlock(lower);
	if (err)
		goto out_unlock;
	if (truncate)
		truncate_setsize(inode, ia->ia_size);
	fsstack_copy_attr_all(inode, lower);
out_unlock:
	if (truncate)
		glockfs_cut_unlock(inode->i_mapping, cut_locked);
	glockfs_glock_dq(&gh);
	return err;
}

static int glockfs_do_fiemap(struct inode *lower,
			     struct fiemap_extent_info *fieinfo, u64 start,
			     u64 len)
{
	int err = lower->i_op->fiemap(lower, fieinfo, start, len);

	pr_debug("fiemap(ino %lu, %llu, %llu) = %d, %u extents\n",
		 lower->i_ino, start, len, err, fieinfo->fi_extents_mapped);
	return err;
}

/*
 * The lower's FIEMAP copies extents to user memory, which may be a mapping
 * of a glockfs file (generic/742): under SH with page faults disabled, and
 * when that comes back -EFAULT, the array is faulted in with the glock
 * dropped and the whole call done again (see file.c).
 */
static int glockfs_fiemap_lower(struct inode *inode,
				struct fiemap_extent_info *fieinfo,
				u64 start, u64 len)
{
	size_t size = array_size(fieinfo->fi_extents_max,
				 sizeof(struct fiemap_extent));
	char __user *buf = (char __user *)fieinfo->fi_extents_start;
	u32 flags = fieinfo->fi_flags;
	struct glockfs_holder gh;
	int err, tries;

	for (tries = 0; tries < 8; tries++) {
		if (size && fault_in_writeable(buf, size) == size)
			return -EFAULT;
		err = glockfs_glock_nq(GL(inode), GLOCK_DEV_MODE_SH, &gh);
		if (err)
			return err;
		/* The lower fs knows only what was written back to it. */
		err = filemap_write_and_wait(inode->i_mapping);
		if (!err) {
			fieinfo->fi_flags = flags;
			fieinfo->fi_extents_mapped = 0;
			pagefault_disable();
			err = glockfs_do_fiemap(glockfs_lower_inode(inode),
						fieinfo, start, len);
			pagefault_enable();
		}
		glockfs_glock_dq(&gh);
		if (err != -EFAULT)
			break;
	}
	return err;
}

/*
 * FIEMAP: the lower's where it has one; else the truth as far as we know
 * it: the data is all in one extent [0, size) of unknown location, the
 * last one, and an empty file has none.  The size is read under SH and
 * the extent copied out with the glock dropped.
 */
static int glockfs_fiemap(struct inode *inode,
			  struct fiemap_extent_info *fieinfo, u64 start,
			  u64 len)
{
	struct glockfs_holder gh;
	loff_t size;
	int err;

	if (!S_ISREG(inode->i_mode))
		return -EOPNOTSUPP;
	if (glockfs_lower_inode(inode)->i_op->fiemap)
		return glockfs_fiemap_lower(inode, fieinfo, start, len);
	err = fiemap_prep(inode, fieinfo, start, &len, 0);
	if (err)
		return err;
	err = glockfs_glock_nq(GL(inode), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	size = i_size_read(inode);
	glockfs_glock_dq(&gh);
	if (!size || start >= size)
		return 0;
	err = fiemap_fill_next_extent(fieinfo, 0, 0,
				      round_up(size, inode->i_sb->s_blocksize),
				      FIEMAP_EXTENT_LAST |
				      FIEMAP_EXTENT_UNKNOWN);
	return err < 0 ? err : 0;
}

static const char *glockfs_get_link(struct dentry *dentry,
				    struct inode *inode,
				    struct delayed_call *done)
{
	if (!dentry)
		return ERR_PTR(-ECHILD);
	return vfs_get_link(glockfs_lower_dentry(dentry), done);
}

const struct inode_operations glockfs_dir_iops = {
	.lookup		= glockfs_lookup,
	.create		= glockfs_create,
	.mkdir		= glockfs_mkdir,
	.symlink	= glockfs_symlink,
	.mknod		= glockfs_mknod,
	.link		= glockfs_link,
	.unlink		= glockfs_unlink,
	.rmdir		= glockfs_rmdir,
	.rename		= glockfs_rename,
	.tmpfile	= glockfs_tmpfile,
	.getattr	= glockfs_getattr,
	.setattr	= glockfs_setattr,
	.listxattr	= glockfs_listxattr,
	.get_acl	= glockfs_get_acl,
	.fileattr_get	= glockfs_fileattr_get,
	.fileattr_set	= glockfs_fileattr_set,
};

const struct inode_operations glockfs_file_iops = {
	.getattr	= glockfs_getattr,
	.setattr	= glockfs_setattr,
	.listxattr	= glockfs_listxattr,
	.get_acl	= glockfs_get_acl,
	.fiemap		= glockfs_fiemap,
	.fileattr_get	= glockfs_fileattr_get,
	.fileattr_set	= glockfs_fileattr_set,
};

const struct inode_operations glockfs_symlink_iops = {
	.get_link	= glockfs_get_link,
	.getattr	= glockfs_getattr,
	.setattr	= glockfs_setattr,
	.listxattr	= glockfs_listxattr,
};
