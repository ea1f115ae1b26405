// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs extended attributes, POSIX ACLs and inode flags: all passed to
 * the lower filesystem, as overlayfs does, under the inode glock: SH to
 * read (getxattr, listxattr, FS_IOC_GETFLAGS), EX to change (setxattr,
 * removexattr, FS_IOC_SETFLAGS).  A change makes the other nodes give up
 * the glock, so their next reader asks the lower filesystem afresh.
 *
 * One handler takes every name (user.*, trusted.*, security.*, and the
 * ACLs, system.posix_acl_*), so the lower filesystem decides what it
 * supports: a name it lacks gives its -EOPNOTSUPP.  The VFS copies values
 * between user memory and a kernel buffer outside these calls: nothing
 * here faults on a mapping of a glockfs file under a glock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/xattr.h>
#include <linux/posix_acl.h>
#include <linux/fileattr.h>

#include "glockfs.h"

static struct glockfs_glock *inode_gl(struct inode *inode)
{
	return &GLOCKFS_I(inode)->gi_gl;
}

/* Lower-layer wrappers. */

static ssize_t glockfs_do_getxattr(struct dentry *lower, const char *name,
				   void *value, size_t size)
{
	ssize_t ret = vfs_getxattr(&init_user_ns, lower, name, value, size);

	pr_debug("getxattr(%pd2, %s, %zu) = %zd\n", lower, name, size, ret);
	return ret;
}

static int glockfs_do_setxattr(struct dentry *lower, const char *name,
			       const void *value, size_t size, int flags)
{
	int err;

	if (value)
		err = vfs_setxattr(&init_user_ns, lower, name, value, size,
				   flags);
	else
		err = vfs_removexattr(&init_user_ns, lower, name);
	pr_debug("%sxattr(%pd2, %s, %zu) = %d\n", value ? "set" : "remove",
		 lower, name, size, err);
	return err;
}

static ssize_t glockfs_do_listxattr(struct dentry *lower, char *list,
				    size_t size)
{
	ssize_t ret = vfs_listxattr(lower, list, size);

	pr_debug("listxattr(%pd2, %zu) = %zd\n", lower, size, ret);
	return ret;
}

static int glockfs_xattr_get(const struct xattr_handler *handler,
			     struct dentry *dentry, struct inode *inode,
			     const char *name, void *value, size_t size)
{
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(inode_gl(inode), GLOCK_DEV_MODE_SH, &gh);
	if (err)
		return err;
	err = glockfs_do_getxattr(glockfs_lower_dentry(dentry), name, value,
				  size);
	glockfs_glock_dq(&gh);
	return err;
}

/* value == NULL: remove.  Under our inode's i_rwsem (the VFS took it). */
static int glockfs_xattr_set(const struct xattr_handler *handler,
			     struct user_namespace *ns, struct dentry *dentry,
			     struct inode *inode, const char *name,
			     const void *value, size_t size, int flags)
{
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(inode_gl(inode), GLOCK_DEV_MODE_EX, &gh);
	if (err)
		return err;
	err = glockfs_do_setxattr(glockfs_lower_dentry(dentry), name, value,
				  size, flags);
	/* ctime; and an ACL may have changed the mode. */
	if (!err)
		glockfs_inode_reread(inode, false);
	glockfs_glock_dq(&gh);
	return err;
}

ssize_t glockfs_listxattr(struct dentry *dentry, char *list, size_t size)
{
	struct glockfs_holder gh;
	ssize_t ret;

	ret = glockfs_glock_nq(inode_gl(d_inode(dentry)), GLOCK_DEV_MODE_SH,
			       &gh);
	if (ret)
		return ret;
	ret = glockfs_do_listxattr(glockfs_lower_dentry(dentry), list, size);
	glockfs_glock_dq(&gh);
	return ret;
}

/*
 * For permission checks: the lower's ACL, which the lower fs caches (our
 * inodes cache none, ACL_DONT_CACHE), as overlayfs.  No glock: a check may
 * run in RCU walk, and setting an ACL goes through the xattr path above.
 */
struct posix_acl *glockfs_get_acl(struct inode *inode, int type, bool rcu)
{
	struct inode *lower = glockfs_lower_inode(inode);

	if (!IS_POSIXACL(lower))
		return NULL;
	if (rcu)
		return get_cached_acl_rcu(lower, type);
	return get_acl(lower, type);
}

/* FS_IOC_GETFLAGS and friends; -ENOIOCTLCMD (ENOTTY) if the lower has none. */
int glockfs_fileattr_get(struct dentry *dentry, struct fileattr *fa)
{
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(inode_gl(d_inode(dentry)), GLOCK_DEV_MODE_SH,
			       &gh);
	if (err)
		return err;
	err = vfs_fileattr_get(glockfs_lower_dentry(dentry), fa);
	pr_debug("fileattr_get(%pd2) = %d\n", dentry, err);
	glockfs_glock_dq(&gh);
	return err;
}

/* Our inode takes the lower's flags: the VFS checks S_APPEND etc. on it. */
int glockfs_fileattr_set(struct user_namespace *ns, struct dentry *dentry,
			 struct fileattr *fa)
{
	struct inode *inode = d_inode(dentry);
	struct glockfs_holder gh;
	int err;

	err = glockfs_glock_nq(inode_gl(inode), GLOCK_DEV_MODE_EX, &gh);
	if (err)
		return err;
	err = vfs_fileattr_set(&init_user_ns, glockfs_lower_dentry(dentry), fa);
	pr_debug("fileattr_set(%pd2, 0x%x) = %d\n", dentry, fa->flags, err);
	if (!err)
		glockfs_inode_reread(inode, false);
	glockfs_glock_dq(&gh);
	return err;
}

static const struct xattr_handler glockfs_xattr_handler = {
	.prefix	= "",	/* every name: the lower fs decides */
	.get	= glockfs_xattr_get,
	.set	= glockfs_xattr_set,
};

const struct xattr_handler *glockfs_xattr_handlers[] = {
	&glockfs_xattr_handler,
	NULL
};
