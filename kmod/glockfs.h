/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * glockfs: a stacking filesystem whose inodes are protected by cluster
 * glocks granted by the node's lock agent (glockd) over /dev/glock.
 *
 * Private header.  Lock order, outermost first:
 *   inode i_rwsem -> glock holder (glockfs_glock_nq) ->
 *	mapping invalidate_lock -> page lock
 *   mmap_lock -> glock holder (page faults)
 *   dev channel lock -> sbi->s_gl_lock -> gl->gl_lock ->
 *	sbi->s_cache.c_lru_lock (the LRU walks only trylock gl_lock)
 *
 * No task copies to or from user memory while it holds a glock and page
 * faults are enabled (see file.c): a fault needs a glock itself.
 */
#ifndef _GLOCKFS_H
#define _GLOCKFS_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/shrinker.h>
#include <linux/atomic.h>

#include "glock/glock_dev.h"

#define GLOCKFS_MAGIC		0x676c6b66	/* "glkf" */
#define GLOCKFS_GL_HASH_BITS	8
#define GLOCKFS_MAX_GLOCKS_MIN	64	/* least max_glocks (super.c) */

/* Per-glock round-trip statistics, as gfs2's struct gfs2_lkstats. */
enum {
	GLOCKFS_LKS_SRTT,	/* non-blocking requests (RELEASE, DEMOTE_DONE) */
	GLOCKFS_LKS_SRTTVAR,
	GLOCKFS_LKS_SRTTB,	/* blocking requests (LOCK, CONVERT) */
	GLOCKFS_LKS_SRTTVARB,
	GLOCKFS_LKS_SIRT,	/* inter-request time */
	GLOCKFS_LKS_SIRTVAR,
	GLOCKFS_LKS_DCOUNT,	/* requests sent to the agent */
	GLOCKFS_LKS_QCOUNT,	/* local holders queued */
	GLOCKFS_NR_LKSTATS
};

struct glockfs_lkstats {
	s64 stats[GLOCKFS_NR_LKSTATS];
};

/* gl_flags bits */
enum {
	GLF_REQ,	/* a LOCK or CONVERT is with the agent */
	GLF_DEMOTE,	/* the agent asked us to demote to gl_demote_mode */
	GLF_RELEASE,	/* we must drop to UN before the next request */
	GLF_DEMOTING,	/* the demote work owns the glock */
	GLF_REFRESH,	/* granted from UN: reread the inode from the lower fs */
	GLF_RECLAIM,	/* the release was started by the glock cache (LRU) */
	GLF_FREEING,	/* the inode goes: never back on the LRU */
};

struct glockfs_sb;
struct glockfs_req;
struct glockfs_glock;

/*
 * What a glock type does around its state changes, as gfs2's glops: the
 * inode glock syncs and rereads the inode, the flock glock nothing.
 */
struct glockfs_glock_ops {
	/* Before the node gives up @from for @to: write back, invalidate. */
	void (*go_sync)(struct glockfs_glock *gl, unsigned int from,
			unsigned int to);
	/* After a grant from UN (GLF_REFRESH), for the first holder. */
	int (*go_refresh)(struct glockfs_glock *gl);
	/* Give the grant back as soon as no local holder is left. */
	bool go_nocache;
};

/* Holder flags (gh_flags). */
#define GLOCKFS_GH_TRY		0x1	/* ask the agent with TRY: -EAGAIN */
#define GLOCKFS_GH_INTR		0x2	/* any signal ends the wait */

/*
 * A glock: one per inode (type GLOCK_DEV_TYPE_INODE), and one per inode
 * that has been flock()ed (GLOCK_DEV_TYPE_FLOCK).  The node holds gl_state
 * towards the cluster; local holders share that grant.
 */
struct glockfs_glock {
	struct hlist_node gl_hnode;	/* sbi->s_glocks, under sbi->s_gl_lock */
	struct list_head gl_lru;	/* sbi->s_lru: cached and idle */
	struct glockfs_sb *gl_sbi;
	const struct glockfs_glock_ops *gl_ops;
	u64 gl_number;
	u32 gl_type;
	unsigned long gl_flags;
	spinlock_t gl_lock;	/* state, holders, waiters, stats */
	u8 gl_state;		/* mode the node holds */
	u8 gl_req_mode;		/* mode asked for while GLF_REQ */
	u8 gl_demote_mode;	/* target while GLF_DEMOTE */
	unsigned int gl_holders;	/* granted local holders */
	struct list_head gl_granted;	/* the granted holders */
	struct list_head gl_waiters;	/* local holders not yet granted */
	struct glockfs_holder *gl_req_gh;	/* who sent the LOCK/CONVERT */
	u64 gl_req_id;		/* its req_id once queued (dev.c), else 0 */
	wait_queue_head_t gl_wq;
	struct work_struct gl_work;	/* demote / release */
	struct mutex gl_refresh_mutex;
	unsigned long gl_generation;	/* bumped when the cache is invalidated */
	u8 gl_lvb[GLOCK_DEV_LVB_LEN];
	ktime_t gl_last_req;
	unsigned long gl_demote_time;	/* jiffies of the last DEMOTE */
	struct glockfs_lkstats gl_stats;
};

struct glockfs_holder {
	struct list_head gh_list;	/* on gl_waiters, then on gl_granted */
	struct glockfs_glock *gh_gl;
	u8 gh_mode;
	u8 gh_flags;		/* GLOCKFS_GH_* */
	bool gh_granted;
	int gh_error;
	pid_t gh_owner;
};

struct glockfs_inode {
	struct dentry *gi_lower_dentry;	/* pinned: where fresh attrs come from */
	struct inode *gi_lower;		/* its inode */
	struct file *gi_lower_file;	/* regular files, opened on first open */
	struct file *gi_lower_file_ro;	/* replaced by a read-write one */
	struct file *gi_lower_dio;	/* O_DIRECT, opened on first use */
	bool gi_lower_no_dio;		/* the lower fs refuses O_DIRECT */
	struct mutex gi_mutex;		/* gi_lower_file, gi_lower_dio */
	struct glockfs_glock gi_gl;
	struct glockfs_glock *gi_flock_gl;	/* on first flock, under gi_mutex */
	struct inode vfs_inode;
};

/* An open regular file (file->private_data). */
struct glockfs_file {
	struct mutex gf_mutex;		/* gf_flock_gh */
	struct glockfs_holder gf_flock_gh;	/* granted while a flock is held */
};

/*
 * The node's cache of granted glocks, per mount (glock.c), as gfs2's glock
 * LRU and shrinker: glocks granted to the node with no local holder and
 * nothing queued wait on an LRU, oldest first, until the shrinker or the
 * max_glocks limit gives them back (to UN) or a holder comes.
 */
struct glockfs_cache {
	spinlock_t c_lru_lock;		/* c_lru, c_lru_count; inside gl_lock */
	struct list_head c_lru;		/* of gl_lru, least recently used first */
	unsigned long c_lru_count;
	atomic_long_t c_cached;		/* glocks the node holds (not UN) */
	atomic_long_t c_reclaiming;	/* releases started here, not done */
	unsigned long c_max;		/* mount option max_glocks; 0: none */
	struct shrinker c_shrinker;
	bool c_shrinker_on;
	atomic_long_t c_shrink_demotes;	/* releases started by the shrinker */
	atomic_long_t c_limit_demotes;	/* by the max_glocks limit */
	atomic_long_t c_evict_releases;	/* glocks released with their inode */
};

/* s_flags bits */
enum {
	GLOCKFS_SB_WITHDRAWN,
};

struct glockfs_sb {
	struct super_block *s_sb;
	char s_lockspace[GLOCK_DEV_LOCKSPACE_LEN];
	struct path s_lower;		/* lower root */
	const struct cred *s_cred;	/* of the mounter, for lower opens */
	unsigned long s_flags;
	spinlock_t s_gl_lock;		/* s_glocks, s_nr_glocks */
	struct hlist_head s_glocks[1 << GLOCKFS_GL_HASH_BITS];
	unsigned int s_nr_glocks;
	struct list_head s_dev_list;	/* dev channel mounts */
	u64 s_agent_gen;		/* agent session this mount belongs to */
	bool s_registered;
	struct dentry *s_debugfs;
	struct glockfs_cache s_cache;	/* glocks granted to the node */
};

/*
 * One record for the agent.  LOCK/CONVERT have r_gl set; acknowledged
 * one-way messages (RELEASE, DEMOTE_DONE) only r_sbi, which goes NULL when
 * the mount goes away first.  PLOCK requests live on their waiter's
 * stack until answered (plock.c).
 */
struct glockfs_req {
	struct list_head r_list;	/* channel send queue */
	struct hlist_node r_hnode;	/* channel pending hash, by req_id */
	struct glock_dev_request r_rec;
	struct glockfs_glock *r_gl;
	struct glockfs_sb *r_sbi;
	ktime_t r_sent;
	/* Called under the channel lock; rep == NULL: the agent went away. */
	void (*r_done)(struct glockfs_req *req,
		       const struct glock_dev_reply *rep);
	/* MOUNT and PLOCK: the waiter's answer */
	struct completion r_comp;
	int r_status;
	/* PLOCK GET: the conflicting lock the agent found */
	bool r_found;
	struct glock_dev_plock_conflict r_conflict;
};

static inline struct glockfs_inode *GLOCKFS_I(struct inode *inode)
{
	return container_of(inode, struct glockfs_inode, vfs_inode);
}

static inline struct glockfs_sb *GLOCKFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct inode *glockfs_lower_inode(struct inode *inode)
{
	return GLOCKFS_I(inode)->gi_lower;
}

static inline struct dentry *glockfs_lower_dentry(struct dentry *dentry)
{
	return dentry->d_fsdata;
}

static inline void glockfs_lower_path(struct dentry *dentry,
				      struct path *path)
{
	path->mnt = GLOCKFS_SB(dentry->d_sb)->s_lower.mnt;
	path->dentry = glockfs_lower_dentry(dentry);
}

static inline bool glockfs_withdrawn(const struct glockfs_sb *sbi)
{
	return test_bit(GLOCKFS_SB_WITHDRAWN, &sbi->s_flags);
}

/* Only for glocks of type GLOCK_DEV_TYPE_INODE, embedded in the inode. */
static inline struct inode *glockfs_gl_inode(struct glockfs_glock *gl)
{
	return &container_of(gl, struct glockfs_inode, gi_gl)->vfs_inode;
}

const char *glockfs_mode_name(unsigned int mode);

/* super.c */
void glockfs_withdraw(struct glockfs_sb *sbi, const char *why);
extern const struct dentry_operations glockfs_dentry_ops;

/* inode.c */
struct inode *glockfs_get_inode(struct super_block *sb,
				struct dentry *lower_dentry);
extern const struct glockfs_glock_ops glockfs_inode_glops;
extern const struct inode_operations glockfs_dir_iops;
extern const struct inode_operations glockfs_file_iops;
extern const struct inode_operations glockfs_symlink_iops;
int glockfs_inode_reread(struct inode *inode, bool size);

/* xattr.c */
extern const struct xattr_handler *glockfs_xattr_handlers[];
ssize_t glockfs_listxattr(struct dentry *dentry, char *list, size_t size);
struct posix_acl *glockfs_get_acl(struct inode *inode, int type, bool rcu);
int glockfs_fileattr_get(struct dentry *dentry, struct fileattr *fa);
int glockfs_fileattr_set(struct user_namespace *ns, struct dentry *dentry,
			 struct fileattr *fa);

/* flock.c */
int glockfs_flock(struct file *file, int cmd, struct file_lock *fl);
void glockfs_flock_evict(struct inode *inode);

/* plock.c */
int glockfs_lock(struct file *file, int cmd, struct file_lock *fl);

/* file.c */
extern const struct file_operations glockfs_file_fops;
extern const struct file_operations glockfs_dir_fops;
bool glockfs_cut_lock(struct address_space *mapping);
void glockfs_cut_unlock(struct address_space *mapping, bool locked);

/* aops.c */
extern const struct address_space_operations glockfs_aops;

/* glock.c */
int glockfs_glock_module_init(void);
void glockfs_glock_module_exit(void);
void glockfs_glock_init(struct glockfs_glock *gl, struct glockfs_sb *sbi,
			u32 type, u64 number,
			const struct glockfs_glock_ops *ops);
void glockfs_glock_evict(struct glockfs_glock *gl);
int glockfs_glock_nq(struct glockfs_glock *gl, unsigned int mode,
		     struct glockfs_holder *gh);
int glockfs_glock_nq_try(struct glockfs_glock *gl, unsigned int mode,
			 struct glockfs_holder *gh);
int glockfs_glock_nq_flags(struct glockfs_glock *gl, unsigned int mode,
			   unsigned int flags, struct glockfs_holder *gh);
void glockfs_glock_dq(struct glockfs_holder *gh);
int glockfs_glock_nq_m(unsigned int n, struct glockfs_glock **gls,
		       unsigned int mode, struct glockfs_holder *ghs);
void glockfs_glock_dq_m(unsigned int n, struct glockfs_holder *ghs);
int glockfs_glock_held_by_me(struct glockfs_glock *gl, unsigned int mode);
void glockfs_glock_demote_req(struct glockfs_sb *sbi,
			      const struct glock_dev_reply *rep);
void glockfs_glock_wake_all(struct glockfs_sb *sbi);
void glockfs_cache_init(struct glockfs_sb *sbi);
int glockfs_cache_mount(struct glockfs_sb *sbi);
void glockfs_cache_unmount(struct glockfs_sb *sbi);
void glockfs_cache_exit(struct glockfs_sb *sbi);

/* dev.c */
int glockfs_dev_init(void);
void glockfs_dev_exit(void);
int glockfs_dev_mount(struct glockfs_sb *sbi);
void glockfs_dev_unmount(struct glockfs_sb *sbi);
int glockfs_dev_send(struct glockfs_sb *sbi, struct glockfs_req *req);

/* stats.c */
void glockfs_stats_update(struct glockfs_lkstats *s, unsigned int index,
			  s64 sample);
int glockfs_stats_module_init(void);
void glockfs_stats_module_exit(void);
void glockfs_stats_mount(struct glockfs_sb *sbi);
void glockfs_stats_unmount(struct glockfs_sb *sbi);

#endif /* _GLOCKFS_H */
