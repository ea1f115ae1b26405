// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs, per mount, as gfs2's: /sys/kernel/debug/glockfs/LOCKSPACE/
 *   glocks   one "G:" line per glock (state, flags, demote target,
 *            holders) and one "H:" line per waiting holder
 *   glstats  per-glock round-trip statistics in nanoseconds: srtt/srttvar
 *            (non-blocking: RELEASE, DEMOTE_DONE), srttb/srttvarb
 *            (blocking: LOCK, CONVERT), sirt/sirtvar (time between
 *            requests), dcount (requests sent to the agent), qcount (local
 *            holders queued).
 *   cache    the node's glock cache (glock.c): "cached" glocks granted to
 *            the node (not UN), "lru" of those idle on the LRU,
 *            "reclaiming" releases started by the cache and not done,
 *            "max_glocks" the mount's limit (0: none), "shrinker_demotes"
 *            and "limit_demotes" releases started by the shrinker and by
 *            the limit, "evict_releases" glocks released with their inode.
 * The smoothing is gfs2's: srtt moves 1/8 of the way to a sample, the
 * variance 1/4 of the way to the deviation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/jiffies.h>

#include "glockfs.h"

static struct dentry *glockfs_debugfs_root;

void glockfs_stats_update(struct glockfs_lkstats *s, unsigned int index,
			  s64 sample)
{
	s64 delta = sample - s->stats[index];

	s->stats[index] += delta >> 3;
	index++;
	s->stats[index] += (s64)(abs(delta) - s->stats[index]) >> 2;
}

static void glocks_flags(const struct glockfs_glock *gl, char *buf)
{
	static const char letters[] = {
		[GLF_REQ] = 'r', [GLF_DEMOTE] = 'D', [GLF_RELEASE] = 'R',
		[GLF_DEMOTING] = 'd', [GLF_REFRESH] = 'f',
		[GLF_RECLAIM] = 'c', [GLF_FREEING] = 'F',
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(letters); i++)
		if (test_bit(i, &gl->gl_flags))
			*buf++ = letters[i];
	*buf = '\0';
}

static void glocks_show_one(struct seq_file *m, struct glockfs_glock *gl)
{
	struct glockfs_holder *gh;
	char flags[16];

	glocks_flags(gl, flags);
	seq_printf(m, "G: s:%s n:%u/%llx f:%s t:%s d:%s/%lu h:%u r:%s\n",
		   glockfs_mode_name(gl->gl_state), gl->gl_type,
		   gl->gl_number, flags,
		   glockfs_mode_name(gl->gl_req_mode),
		   glockfs_mode_name(gl->gl_demote_mode),
		   test_bit(GLF_DEMOTE, &gl->gl_flags) ?
		   jiffies_to_msecs(jiffies - gl->gl_demote_time) : 0UL,
		   gl->gl_holders,
		   test_bit(GLF_REQ, &gl->gl_flags) ? "pending" : "-");
	list_for_each_entry(gh, &gl->gl_granted, gh_list)
		seq_printf(m, " H: s:%s f:H p:%d\n",
			   glockfs_mode_name(gh->gh_mode), gh->gh_owner);
	list_for_each_entry(gh, &gl->gl_waiters, gh_list)
		seq_printf(m, " H: s:%s f:W p:%d\n",
			   glockfs_mode_name(gh->gh_mode), gh->gh_owner);
}

static void glstats_show_one(struct seq_file *m, struct glockfs_glock *gl)
{
	const s64 *st = gl->gl_stats.stats;

	seq_printf(m, "%u/%llx srtt:%lld srttvar:%lld srttb:%lld srttvarb:%lld sirt:%lld sirtvar:%lld dcount:%lld qcount:%lld\n",
		   gl->gl_type, gl->gl_number,
		   st[GLOCKFS_LKS_SRTT], st[GLOCKFS_LKS_SRTTVAR],
		   st[GLOCKFS_LKS_SRTTB], st[GLOCKFS_LKS_SRTTVARB],
		   st[GLOCKFS_LKS_SIRT], st[GLOCKFS_LKS_SIRTVAR],
		   st[GLOCKFS_LKS_DCOUNT], st[GLOCKFS_LKS_QCOUNT]);
}

/* Walks every glock of the mount under its locks: a snapshot, no sleeping. */
static int glockfs_dump(struct seq_file *m,
			void (*show)(struct seq_file *m,
				     struct glockfs_glock *gl))
{
	struct glockfs_sb *sbi = m->private;
	struct glockfs_glock *gl;
	unsigned int i;

	spin_lock(&sbi->s_gl_lock);
	for (i = 0; i < ARRAY_SIZE(sbi->s_glocks); i++) {
		hlist_for_each_entry(gl, &sbi->s_glocks[i], gl_hnode) {
			spin_lock(&gl->gl_lock);
			show(m, gl);
			spin_unlock(&gl->gl_lock);
		}
	}
	spin_unlock(&sbi->s_gl_lock);
	return 0;
}

static int glocks_show(struct seq_file *m, void *v)
{
	struct glockfs_sb *sbi = m->private;

	seq_printf(m, "lockspace %s%s glocks %u\n", sbi->s_lockspace,
		   glockfs_withdrawn(sbi) ? " withdrawn" : "",
		   sbi->s_nr_glocks);
	return glockfs_dump(m, glocks_show_one);
}
DEFINE_SHOW_ATTRIBUTE(glocks);

static int glstats_show(struct seq_file *m, void *v)
{
	return glockfs_dump(m, glstats_show_one);
}
DEFINE_SHOW_ATTRIBUTE(glstats);

static int cache_show(struct seq_file *m, void *v)
{
	struct glockfs_sb *sbi = m->private;
	struct glockfs_cache *c = &sbi->s_cache;

	seq_printf(m, "cached %ld\n", atomic_long_read(&c->c_cached));
	seq_printf(m, "lru %lu\n", READ_ONCE(c->c_lru_count));
	seq_printf(m, "reclaiming %ld\n", atomic_long_read(&c->c_reclaiming));
	seq_printf(m, "max_glocks %lu\n", c->c_max);
	seq_printf(m, "shrinker_demotes %ld\n",
		   atomic_long_read(&c->c_shrink_demotes));
	seq_printf(m, "limit_demotes %ld\n",
		   atomic_long_read(&c->c_limit_demotes));
	seq_printf(m, "evict_releases %ld\n",
		   atomic_long_read(&c->c_evict_releases));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cache);

void glockfs_stats_mount(struct glockfs_sb *sbi)
{
	sbi->s_debugfs = debugfs_create_dir(sbi->s_lockspace,
					    glockfs_debugfs_root);
	debugfs_create_file("glocks", 0400, sbi->s_debugfs, sbi,
			    &glocks_fops);
	debugfs_create_file("glstats", 0400, sbi->s_debugfs, sbi,
			    &glstats_fops);
	debugfs_create_file("cache", 0400, sbi->s_debugfs, sbi, &cache_fops);
}

void glockfs_stats_unmount(struct glockfs_sb *sbi)
{
	debugfs_remove_recursive(sbi->s_debugfs);
	sbi->s_debugfs = NULL;
}

int glockfs_stats_module_init(void)
{
	glockfs_debugfs_root = debugfs_create_dir("glockfs", NULL);
	return 0;
}

void glockfs_stats_module_exit(void)
{
	debugfs_remove_recursive(glockfs_debugfs_root);
}
