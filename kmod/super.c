// SPDX-License-Identifier: GPL-2.0-only
/*
 * glockfs superblock, dentries, mount options and module glue.
 *
 *   mount -t glockfs -o lockspace=NAME[,max_glocks=N] /shared/dir /mnt/x
 *
 * stacks over a directory on shared storage.  The lockspace names the
 * cluster lock namespace; the mount fails at once when no lock agent has
 * /dev/glock open, and withdraws (I/O returns -EIO, unmount still works)
 * when the agent goes away or reports the node's locks lost.  max_glocks
 * bounds the glocks the node keeps granted for the mount (glock.c's glock
 * cache; 0, the default: only memory pressure does).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/statfs.h>
#include <linux/parser.h>
#include <linux/cred.h>
#include <linux/pagemap.h>
#include <linux/file.h>

#include "glockfs.h"

static struct kmem_cache *glockfs_inode_cachep;

void glockfs_withdraw(struct glockfs_sb *sbi, const char *why)
{
	if (test_and_set_bit(GLOCKFS_SB_WITHDRAWN, &sbi->s_flags))
		return;
	pr_err("%s: withdrawn: %s; I/O now fails with EIO, unmount to recover\n",
	       sbi->s_lockspace, why);
	glockfs_glock_wake_all(sbi);
}

static struct inode *glockfs_alloc_inode(struct super_block *sb)
{
	struct glockfs_inode *gi;

	gi = alloc_inode_sb(sb, glockfs_inode_cachep, GFP_KERNEL);
	if (!gi)
		return NULL;
	gi->gi_lower = NULL;
	gi->gi_lower_dentry = NULL;
	gi->gi_lower_file = NULL;
	gi->gi_lower_file_ro = NULL;
	gi->gi_lower_dio = NULL;
	gi->gi_lower_no_dio = false;
	memset(&gi->gi_gl, 0, sizeof(gi->gi_gl));
	gi->gi_flock_gl = NULL;
	return &gi->vfs_inode;
}

static void glockfs_free_inode(struct inode *inode)
{
	kmem_cache_free(glockfs_inode_cachep, GLOCKFS_I(inode));
}

static void glockfs_evict_inode(struct inode *inode)
{
	struct glockfs_inode *gi = GLOCKFS_I(inode);
	struct glockfs_sb *sbi = GLOCKFS_SB(inode->i_sb);

	/* Dirty pages exist only under EX, which we still hold. */
	if (inode->i_nlink && !glockfs_withdrawn(sbi))
		filemap_write_and_wait(inode->i_mapping);
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (gi->gi_gl.gl_sbi)
		glockfs_glock_evict(&gi->gi_gl);
	glockfs_flock_evict(inode);
	if (gi->gi_lower_file)
		fput(gi->gi_lower_file);
	if (gi->gi_lower_file_ro)
		fput(gi->gi_lower_file_ro);
	if (gi->gi_lower_dio)
		fput(gi->gi_lower_dio);
	dput(gi->gi_lower_dentry);
}

static int glockfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct path lower = GLOCKFS_SB(dentry->d_sb)->s_lower;
	int err;

	err = vfs_statfs(&lower, buf);
	if (!err)
		buf->f_type = GLOCKFS_MAGIC;
	return err;
}

static int glockfs_show_options(struct seq_file *m, struct dentry *root)
{
	struct glockfs_sb *sbi = GLOCKFS_SB(root->d_sb);

	seq_show_option(m, "lockspace", sbi->s_lockspace);
	if (sbi->s_cache.c_max)
		seq_printf(m, ",max_glocks=%lu", sbi->s_cache.c_max);
	if (glockfs_withdrawn(sbi))
		seq_puts(m, ",withdrawn");
	return 0;
}

static const struct super_operations glockfs_sops = {
	.alloc_inode	= glockfs_alloc_inode,
	.free_inode	= glockfs_free_inode,
	.evict_inode	= glockfs_evict_inode,
	.statfs		= glockfs_statfs,
	.show_options	= glockfs_show_options,
};

/*
 * A dentry is trusted until its directory's glock has been given up
 * (another node may have changed the directory since); then it is looked
 * up again, under the directory's glock.
 */
static int glockfs_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct dentry *lower = glockfs_lower_dentry(dentry);
	struct dentry *parent;
	struct inode *dir;
	int ret = 1;

	if (IS_ROOT(dentry) || !lower)
		return 1;
	if (flags & LOOKUP_RCU) {
		parent = READ_ONCE(dentry->d_parent);
		dir = d_inode_rcu(parent);
		if (!dir)
			return -ECHILD;
		if (READ_ONCE(dentry->d_time) !=
		    READ_ONCE(GLOCKFS_I(dir)->gi_gl.gl_generation))
			return 0;
		if (lower->d_flags & DCACHE_OP_REVALIDATE)
			return -ECHILD;
		return d_unhashed(lower) ? 0 : 1;
	}

	parent = dget_parent(dentry);
	dir = d_inode(parent);
	if (dentry->d_time != READ_ONCE(GLOCKFS_I(dir)->gi_gl.gl_generation))
		ret = 0;
	dput(parent);
	if (ret && (lower->d_flags & DCACHE_OP_REVALIDATE))
		ret = lower->d_op->d_revalidate(lower, flags);
	if (ret > 0 && (d_unhashed(lower) ||
			d_really_is_negative(lower) !=
			d_really_is_negative(dentry)))
		ret = 0;
	return ret;
}

static void glockfs_d_release(struct dentry *dentry)
{
	dput(dentry->d_fsdata);
}

const struct dentry_operations glockfs_dentry_ops = {
	.d_revalidate	= glockfs_d_revalidate,
	.d_release	= glockfs_d_release,
};

enum { OPT_LOCKSPACE, OPT_MAX_GLOCKS, OPT_ERR };

static const match_table_t glockfs_tokens = {
	{ OPT_LOCKSPACE, "lockspace=%s" },
	{ OPT_MAX_GLOCKS, "max_glocks=%s" },
	{ OPT_ERR, NULL },
};

static int glockfs_parse_options(struct glockfs_sb *sbi, char *options)
{
	substring_t args[MAX_OPT_ARGS];
	unsigned int max;
	char *p;

	while (options && (p = strsep(&options, ",")) != NULL) {
		if (!*p)
			continue;
		switch (match_token(p, glockfs_tokens, args)) {
		case OPT_LOCKSPACE:
			if (args[0].to - args[0].from < 1 ||
			    args[0].to - args[0].from >= GLOCK_DEV_LOCKSPACE_LEN) {
				pr_err("lockspace name must be 1..%d bytes\n",
				       GLOCK_DEV_LOCKSPACE_LEN - 1);
				return -EINVAL;
			}
			match_strlcpy(sbi->s_lockspace, &args[0],
				      sizeof(sbi->s_lockspace));
			break;
		case OPT_MAX_GLOCKS:
			/*
			 * An access may need idle glocks to stay (a copy
			 * between two mapped files faults on both): below
			 * a few per task the mount would release what it
			 * is using, and page faults could go round for ever.
			 */
			if (match_uint(&args[0], &max) ||
			    (max && max < GLOCKFS_MAX_GLOCKS_MIN)) {
				pr_err("max_glocks must be 0 (no limit) or at least %d\n",
				       GLOCKFS_MAX_GLOCKS_MIN);
				return -EINVAL;
			}
			sbi->s_cache.c_max = max;
			break;
		default:
			pr_err("unknown mount option \"%s\"\n", p);
			return -EINVAL;
		}
	}
	if (!sbi->s_lockspace[0]) {
		pr_err("mount option lockspace=NAME is required\n");
		return -EINVAL;
	}
	return 0;
}

struct glockfs_mount_data {
	const char *lower_name;
	char *options;
};

static int glockfs_fill_super(struct super_block *sb, void *data, int silent)
{
	struct glockfs_mount_data *md = data;
	struct super_block *lower_sb;
	struct glockfs_sb *sbi;
	struct inode *inode;
	unsigned int i;
	int err;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sb->s_fs_info = sbi;	/* from here on glockfs_kill_sb() frees it */
	sbi->s_sb = sb;
	spin_lock_init(&sbi->s_gl_lock);
	for (i = 0; i < ARRAY_SIZE(sbi->s_glocks); i++)
		INIT_HLIST_HEAD(&sbi->s_glocks[i]);
	INIT_LIST_HEAD(&sbi->s_dev_list);
	glockfs_cache_init(sbi);

	err = glockfs_parse_options(sbi, md->options);
	if (err)
		return err;
	if (!md->lower_name || !*md->lower_name) {
		pr_err("%s: no lower directory given\n", sbi->s_lockspace);
		return -EINVAL;
	}
	err = kern_path(md->lower_name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY,
			&sbi->s_lower);
	if (err) {
		pr_err("%s: lower directory %s: %d\n", sbi->s_lockspace,
		       md->lower_name, err);
		return err;
	}
	lower_sb = sbi->s_lower.dentry->d_sb;
	sb->s_stack_depth = lower_sb->s_stack_depth + 1;
	if (sb->s_stack_depth > FILESYSTEM_MAX_STACK_DEPTH) {
		pr_err("%s: stacked too deep\n", sbi->s_lockspace);
		return -EINVAL;
	}
	sbi->s_cred = get_current_cred();
	/* A real bdi: the noop one would make writeback skip our pages. */
	err = super_setup_bdi(sb);
	if (err)
		return err;
	sb->s_magic = GLOCKFS_MAGIC;
	sb->s_op = &glockfs_sops;
	sb->s_d_op = &glockfs_dentry_ops;
	sb->s_maxbytes = lower_sb->s_maxbytes;
	sb->s_time_gran = lower_sb->s_time_gran;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_flags |= SB_NOSEC;
	/* ACLs are the lower's: with them the VFS leaves umask to it. */
	sb->s_flags |= lower_sb->s_flags & SB_POSIXACL;
	sb->s_xattr = glockfs_xattr_handlers;

	err = glockfs_dev_mount(sbi);
	if (err)
		return err;

	inode = glockfs_get_inode(sb, sbi->s_lower.dentry);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	sb->s_root = d_make_root(inode);
	if (!sb->s_root)
		return -ENOMEM;
	sb->s_root->d_fsdata = dget(sbi->s_lower.dentry);
	err = glockfs_cache_mount(sbi);
	if (err)
		return err;
	glockfs_stats_mount(sbi);
	pr_info("%s: mounted over %s\n", sbi->s_lockspace, md->lower_name);
	return 0;
}

static struct dentry *glockfs_mount(struct file_system_type *fs_type,
				    int flags, const char *dev_name,
				    void *data)
{
	struct glockfs_mount_data md = {
		.lower_name = dev_name,
		.options = data,
	};

	return mount_nodev(fs_type, flags, &md, glockfs_fill_super);
}

static void glockfs_kill_sb(struct super_block *sb)
{
	struct glockfs_sb *sbi = GLOCKFS_SB(sb);

	if (sbi)
		glockfs_cache_unmount(sbi);
	kill_anon_super(sb);	/* evicts every inode: releases its glock */
	if (!sbi)
		return;
	glockfs_cache_exit(sbi);
	glockfs_stats_unmount(sbi);
	glockfs_dev_unmount(sbi);
	WARN_ON_ONCE(sbi->s_nr_glocks);
	path_put(&sbi->s_lower);
	if (sbi->s_cred)
		put_cred(sbi->s_cred);
	kfree(sbi);
}

static struct file_system_type glockfs_fs_type = {
	.owner		= THIS_MODULE,
	.name		= "glockfs",
	.mount		= glockfs_mount,
	.kill_sb	= glockfs_kill_sb,
};
MODULE_ALIAS_FS("glockfs");

static void glockfs_inode_init_once(void *p)
{
	struct glockfs_inode *gi = p;

	mutex_init(&gi->gi_mutex);
	inode_init_once(&gi->vfs_inode);
}

static int __init glockfs_init(void)
{
	int err;

	glockfs_inode_cachep = kmem_cache_create("glockfs_inode",
						 sizeof(struct glockfs_inode),
						 0, SLAB_RECLAIM_ACCOUNT |
						 SLAB_MEM_SPREAD |
						 SLAB_ACCOUNT,
						 glockfs_inode_init_once);
	if (!glockfs_inode_cachep)
		return -ENOMEM;
	err = glockfs_glock_module_init();
	if (err)
		goto out_cache;
	err = glockfs_stats_module_init();
	if (err)
		goto out_glock;
	err = glockfs_dev_init();
	if (err)
		goto out_stats;
	err = register_filesystem(&glockfs_fs_type);
	if (err)
		goto out_dev;
	pr_info("loaded, /dev/glock ABI %u.%u.%u\n", GLOCK_DEV_VERSION_MAJOR,
		GLOCK_DEV_VERSION_MINOR, GLOCK_DEV_VERSION_PATCH);
	return 0;

out_dev:
	glockfs_dev_exit();
out_stats:
	glockfs_stats_module_exit();
out_glock:
	glockfs_glock_module_exit();
out_cache:
	kmem_cache_destroy(glockfs_inode_cachep);
	return err;
}

static void __exit glockfs_exit(void)
{
	unregister_filesystem(&glockfs_fs_type);
	glockfs_dev_exit();
	glockfs_stats_module_exit();
	glockfs_glock_module_exit();
	rcu_barrier();	/* inodes are freed by RCU */
	kmem_cache_destroy(glockfs_inode_cachep);
}

module_init(glockfs_init);
module_exit(glockfs_exit);
MODULE_DESCRIPTION("glockfs: stacking filesystem under cluster glocks");
MODULE_LICENSE("GPL");
