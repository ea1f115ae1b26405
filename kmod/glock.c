// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-inode glock client state machine.
 *
 * The node holds one grant per glock (gl_state) towards the cluster; any
 * number of local holders share it, as in gfs2.  A request goes to the lock
 * agent only when the node lacks the mode a holder needs.  A DEMOTE from
 * the agent blocks new local holders; once the granted ones are done the
 * demote work writes dirty pages back (giving up EX), invalidates the cache
 * (giving up the right to cache: UN or DF) and answers DEMOTE_DONE.  The
 * minimum hold time is applied by the agent, which simply sends the DEMOTE
 * later.
 *
 * A holder is covered by the node's state if the modes are equal or the
 * node holds EX and the holder wants SH.  Other changes go UN -> mode
 * (LOCK), SH -> EX (CONVERT), or through UN (release, then LOCK), so the
 * cache only has to be dropped in the demote work.
 *
 * All state changes happen under gl_lock and end in gl_run(), which grants
 * covered waiters, starts the demote work, or wakes the head waiter to send
 * the next request.  Requests are only ever sent by the head waiter, in
 * process context, so that allocating them may sleep.
 *
 * The node keeps a grant after its last local holder is gone, until
 * another node asks for it.  Those idle grants wait on the mount's LRU
 * (struct glockfs_cache), and gl_run() keeps the LRU true: a glock goes on
 * its tail when it becomes idle, off it when it is used again.  The
 * shrinker and the max_glocks limit give the oldest back to the cluster
 * through the demote work, as a release (see "The glock cache" below).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/sched/signal.h>
#include <linux/sort.h>
#include <linux/hash.h>
#include <linux/dcache.h>

#include "glockfs.h"

static struct workqueue_struct *glockfs_wq;

const char *glockfs_mode_name(unsigned int mode)
{
	static const char * const names[] = { "UN", "SH", "DF", "EX" };

	return mode < ARRAY_SIZE(names) ? names[mode] : "??";
}

static bool mode_covers(unsigned int state, unsigned int mode)
{
	return state == mode ||
	       (state == GLOCK_DEV_MODE_EX && mode == GLOCK_DEV_MODE_SH);
}

static struct hlist_head *gl_bucket(struct glockfs_sb *sbi, u64 number)
{
	return &sbi->s_glocks[hash_64(number, GLOCKFS_GL_HASH_BITS)];
}

static void gl_lru_update(struct glockfs_glock *gl);
static void gl_limit_check(struct glockfs_glock *gl);

/* Under gl_lock: every change of the node's grant goes through here. */
static void gl_set_state(struct glockfs_glock *gl, unsigned int state)
{
	struct glockfs_cache *c = &gl->gl_sbi->s_cache;

	if (gl->gl_state == GLOCK_DEV_MODE_UN && state != GLOCK_DEV_MODE_UN) {
		atomic_long_inc(&c->c_cached);
		gl_limit_check(gl);
	} else if (gl->gl_state != GLOCK_DEV_MODE_UN &&
		   state == GLOCK_DEV_MODE_UN) {
		atomic_long_dec(&c->c_cached);
	}
	gl->gl_state = state;
}

/* Under gl_lock: grants covered waiters, starts demotes, wakes senders. */
static void gl_run_queue(struct glockfs_glock *gl)
{
	struct glockfs_holder *gh, *tmp;

	if (glockfs_withdrawn(gl->gl_sbi)) {
		wake_up_all(&gl->gl_wq);
		return;
	}
	if (test_bit(GLF_REQ, &gl->gl_flags) ||
	    test_bit(GLF_DEMOTING, &gl->gl_flags))
		return;
	/* A type that keeps nothing cached gives the grant back when idle. */
	if (gl->gl_ops->go_nocache && !gl->gl_holders &&
	    list_empty(&gl->gl_waiters) && gl->gl_state != GLOCK_DEV_MODE_UN)
		set_bit(GLF_RELEASE, &gl->gl_flags);
	if (test_bit(GLF_DEMOTE, &gl->gl_flags) ||
	    test_bit(GLF_RELEASE, &gl->gl_flags)) {
		if (!gl->gl_holders) {
			set_bit(GLF_DEMOTING, &gl->gl_flags);
			queue_work(glockfs_wq, &gl->gl_work);
		}
		return;
	}
	list_for_each_entry_safe(gh, tmp, &gl->gl_waiters, gh_list) {
		if (!mode_covers(gl->gl_state, gh->gh_mode))
			break;
		list_move_tail(&gh->gh_list, &gl->gl_granted);
		gh->gh_granted = true;
		gl->gl_holders++;
	}
	/* Granted holders run; a head that needs a request sends it. */
	wake_up_all(&gl->gl_wq);
}

/* Under gl_lock, after any change: moves the queue, then the LRU. */
static void gl_run(struct glockfs_glock *gl)
{
	gl_run_queue(gl);
	gl_lru_update(gl);
}

static void gl_stats_request(struct glockfs_glock *gl, ktime_t now)
{
	s64 *st = gl->gl_stats.stats;

	if (gl->gl_last_req)
		glockfs_stats_update(&gl->gl_stats, GLOCKFS_LKS_SIRT,
				     ktime_to_ns(ktime_sub(now,
							   gl->gl_last_req)));
	gl->gl_last_req = now;
	st[GLOCKFS_LKS_DCOUNT]++;
}

/* Reply to our LOCK/CONVERT.  Under the channel lock. */
static void gl_req_done(struct glockfs_req *req,
			const struct glock_dev_reply *rep)
{
	struct glockfs_glock *gl = req->r_gl;
	struct glockfs_holder *head;

	spin_lock(&gl->gl_lock);
	WARN_ON_ONCE(!test_bit(GLF_REQ, &gl->gl_flags));
	if (rep) {
		glockfs_stats_update(&gl->gl_stats, GLOCKFS_LKS_SRTTB,
				     ktime_to_ns(ktime_sub(ktime_get(),
							   req->r_sent)));
	}
	if (rep && rep->op == GLOCK_DEV_OP_GRANT) {
		if (gl->gl_state == GLOCK_DEV_MODE_UN)
			set_bit(GLF_REFRESH, &gl->gl_flags);
		gl_set_state(gl, rep->mode);
		memcpy(gl->gl_lvb, rep->lvb, sizeof(gl->gl_lvb));
	} else if (rep && rep->status == -EDEADLK) {
		/* Conversion deadlock: drop what we hold, then lock afresh. */
		set_bit(GLF_RELEASE, &gl->gl_flags);
	} else if (rep && rep->status == -ENOLCK) {
		glockfs_withdraw(gl->gl_sbi, "lock agent reports locks lost");
	} else if (rep && rep->status != -ECANCELED) {
		/*
		 * The answer is for the holder that asked, if it still
		 * waits (a TRY's -EAGAIN is no answer for anyone else).  We
		 * cancel only what nobody waits for: -ECANCELED is for
		 * nobody, and a holder that came since asks again.
		 */
		head = gl->gl_req_gh;
		if (head && !head->gh_granted) {
			list_del_init(&head->gh_list);
			head->gh_error = rep->status;
		}
	}
	gl->gl_req_gh = NULL;
	WRITE_ONCE(gl->gl_req_id, 0);
	gl->gl_req_mode = GLOCK_DEV_MODE_UN;
	clear_bit(GLF_REQ, &gl->gl_flags);
	gl_run(gl);
	spin_unlock(&gl->gl_lock);
	kfree(req);
}

/* Finds a glock by name.  Under sbi->s_gl_lock. */
static struct glockfs_glock *gl_find(struct glockfs_sb *sbi, u32 type,
				     u64 number)
{
	struct glockfs_glock *gl;

	hlist_for_each_entry(gl, gl_bucket(sbi, number), gl_hnode)
		if (gl->gl_number == number && gl->gl_type == type)
			return gl;
	return NULL;
}

/* Reply to RELEASE or DEMOTE_DONE: statistics only.  Under chan lock. */
static void gl_ack_done(struct glockfs_req *req,
			const struct glock_dev_reply *rep)
{
	struct glockfs_sb *sbi = req->r_sbi;
	struct glockfs_glock *gl;

	if (sbi && rep) {
		spin_lock(&sbi->s_gl_lock);
		gl = gl_find(sbi, req->r_rec.type, req->r_rec.number);
		if (gl) {
			spin_lock(&gl->gl_lock);
			glockfs_stats_update(&gl->gl_stats, GLOCKFS_LKS_SRTT,
					     ktime_to_ns(ktime_sub(ktime_get(),
								   req->r_sent)));
			spin_unlock(&gl->gl_lock);
		}
		spin_unlock(&sbi->s_gl_lock);
	}
	if (rep && rep->op == GLOCK_DEV_OP_DENY)
		pr_warn_ratelimited("%s: agent refused %s of glock %u/%llx: %d\n",
				    req->r_rec.lockspace,
				    req->r_rec.op == GLOCK_DEV_OP_RELEASE ?
				    "RELEASE" : "DEMOTE_DONE",
				    req->r_rec.type, req->r_rec.number,
				    rep->status);
	kfree(req);
}

/* Sends a RELEASE or DEMOTE_DONE; may sleep. */
static void gl_send_ack(struct glockfs_glock *gl, u32 op, unsigned int mode)
{
	struct glockfs_req *req;

	req = kzalloc(sizeof(*req), GFP_NOFS | __GFP_NOFAIL);
	req->r_sbi = gl->gl_sbi;
	req->r_done = gl_ack_done;
	req->r_rec.op = op;
	req->r_rec.type = gl->gl_type;
	req->r_rec.number = gl->gl_number;
	req->r_rec.mode = mode;
	spin_lock(&gl->gl_lock);
	gl_stats_request(gl, ktime_get());
	spin_unlock(&gl->gl_lock);
	if (glockfs_dev_send(gl->gl_sbi, req))
		kfree(req);
}

/*
 * The demote work: runs with no local holders and new ones blocked, so it
 * owns the cached pages.  Writes back before EX is given up, invalidates
 * before the right to cache is given up, then answers the agent.
 */
static void gl_work(struct work_struct *work)
{
	struct glockfs_glock *gl = container_of(work, struct glockfs_glock,
						gl_work);
	unsigned int from, to;
	bool demote;
	u32 op;

	spin_lock(&gl->gl_lock);
	WARN_ON_ONCE(!test_bit(GLF_DEMOTING, &gl->gl_flags));
	WARN_ON_ONCE(gl->gl_holders);
	from = gl->gl_state;
	demote = test_bit(GLF_DEMOTE, &gl->gl_flags);
	to = demote ? gl->gl_demote_mode : GLOCK_DEV_MODE_UN;
	spin_unlock(&gl->gl_lock);

	if (from != to && gl->gl_ops->go_sync &&
	    !glockfs_withdrawn(gl->gl_sbi))
		gl->gl_ops->go_sync(gl, from, to);

	if (from != GLOCK_DEV_MODE_UN && !glockfs_withdrawn(gl->gl_sbi)) {
		op = demote ? GLOCK_DEV_OP_DEMOTE_DONE : GLOCK_DEV_OP_RELEASE;
		gl_send_ack(gl, op, to);
	}

	spin_lock(&gl->gl_lock);
	if (to == GLOCK_DEV_MODE_UN || to == GLOCK_DEV_MODE_DF)
		gl->gl_generation++;
	gl_set_state(gl, to);
	if (test_and_clear_bit(GLF_RECLAIM, &gl->gl_flags))
		atomic_long_dec(&gl->gl_sbi->s_cache.c_reclaiming);
	clear_bit(GLF_DEMOTE, &gl->gl_flags);
	clear_bit(GLF_RELEASE, &gl->gl_flags);
	clear_bit(GLF_DEMOTING, &gl->gl_flags);
	gl_run(gl);
	spin_unlock(&gl->gl_lock);
}

/*
 * A DEMOTE from the agent.  Under the channel lock; the glock is looked up
 * under s_gl_lock, which glockfs_glock_evict() also takes before it cancels
 * the work, so the work is never queued for a glock being freed.
 */
void glockfs_glock_demote_req(struct glockfs_sb *sbi,
			      const struct glock_dev_reply *rep)
{
	struct glockfs_glock *gl;

	spin_lock(&sbi->s_gl_lock);
	gl = gl_find(sbi, rep->type, rep->number);
	if (gl) {
		spin_lock(&gl->gl_lock);
		/* Not held: our RELEASE is on its way and answers it. */
		if (gl->gl_state != GLOCK_DEV_MODE_UN &&
		    !test_bit(GLF_DEMOTE, &gl->gl_flags)) {
			gl->gl_demote_mode = rep->mode;
			gl->gl_demote_time = jiffies;
			set_bit(GLF_DEMOTE, &gl->gl_flags);
			gl_run(gl);
		}
		spin_unlock(&gl->gl_lock);
	}
	spin_unlock(&sbi->s_gl_lock);
}

void glockfs_glock_wake_all(struct glockfs_sb *sbi)
{
	struct glockfs_glock *gl;
	unsigned int i;

	spin_lock(&sbi->s_gl_lock);
	for (i = 0; i < ARRAY_SIZE(sbi->s_glocks); i++)
		hlist_for_each_entry(gl, &sbi->s_glocks[i], gl_hnode)
			wake_up_all(&gl->gl_wq);
	spin_unlock(&sbi->s_gl_lock);
}

void glockfs_glock_init(struct glockfs_glock *gl, struct glockfs_sb *sbi,
			u32 type, u64 number,
			const struct glockfs_glock_ops *ops)
{
	gl->gl_sbi = sbi;
	gl->gl_ops = ops;
	gl->gl_number = number;
	gl->gl_type = type;
	gl->gl_state = GLOCK_DEV_MODE_UN;
	spin_lock_init(&gl->gl_lock);
	INIT_LIST_HEAD(&gl->gl_waiters);
	INIT_LIST_HEAD(&gl->gl_granted);
	init_waitqueue_head(&gl->gl_wq);
	INIT_WORK(&gl->gl_work, gl_work);
	INIT_LIST_HEAD(&gl->gl_lru);
	mutex_init(&gl->gl_refresh_mutex);
	if (ops->go_refresh)
		set_bit(GLF_REFRESH, &gl->gl_flags);

	spin_lock(&sbi->s_gl_lock);
	hlist_add_head(&gl->gl_hnode, gl_bucket(sbi, number));
	sbi->s_nr_glocks++;
	spin_unlock(&sbi->s_gl_lock);
}

/*
 * The inode goes away.  Waits for a request still with the agent (left by
 * a holder that was killed while waiting), then releases the node's grant.
 * Dirty pages were written back by the caller.
 */
void glockfs_glock_evict(struct glockfs_glock *gl)
{
	struct glockfs_sb *sbi = gl->gl_sbi;

	wait_event(gl->gl_wq, !test_bit(GLF_REQ, &gl->gl_flags) ||
		   glockfs_withdrawn(sbi));

	spin_lock(&sbi->s_gl_lock);
	hlist_del_init(&gl->gl_hnode);
	sbi->s_nr_glocks--;
	spin_unlock(&sbi->s_gl_lock);
	/* Off the LRU for good before the work goes: nothing queues it again. */
	spin_lock(&gl->gl_lock);
	set_bit(GLF_FREEING, &gl->gl_flags);
	gl_lru_update(gl);
	spin_unlock(&gl->gl_lock);
	cancel_work_sync(&gl->gl_work);

	WARN_ON_ONCE(gl->gl_holders || !list_empty(&gl->gl_waiters));
	/* A RELEASE also answers a DEMOTE we had not got round to. */
	if (gl->gl_state != GLOCK_DEV_MODE_UN && !glockfs_withdrawn(sbi)) {
		gl_send_ack(gl, GLOCK_DEV_OP_RELEASE, GLOCK_DEV_MODE_UN);
		atomic_long_inc(&sbi->s_cache.c_evict_releases);
	}
	spin_lock(&gl->gl_lock);
	gl_set_state(gl, GLOCK_DEV_MODE_UN);
	/* A release the cache started, cancelled before it ran. */
	if (test_and_clear_bit(GLF_RECLAIM, &gl->gl_flags))
		atomic_long_dec(&sbi->s_cache.c_reclaiming);
	spin_unlock(&gl->gl_lock);
}

/* Under gl_lock, for the head waiter: the request it should send, or 0. */
static u32 gl_next_op(struct glockfs_glock *gl, struct glockfs_holder *gh)
{
	if (list_first_entry(&gl->gl_waiters, struct glockfs_holder,
			     gh_list) != gh)
		return 0;
	if (test_bit(GLF_REQ, &gl->gl_flags) ||
	    test_bit(GLF_DEMOTING, &gl->gl_flags) ||
	    test_bit(GLF_DEMOTE, &gl->gl_flags) ||
	    test_bit(GLF_RELEASE, &gl->gl_flags))
		return 0;
	if (gl->gl_state == GLOCK_DEV_MODE_UN)
		return GLOCK_DEV_OP_LOCK;
	if (gl->gl_holders)
		return 0;
	if (gl->gl_state == GLOCK_DEV_MODE_SH &&
	    gh->gh_mode == GLOCK_DEV_MODE_EX)
		return GLOCK_DEV_OP_CONVERT;
	/* Any other change goes through UN, so the cache is dropped. */
	set_bit(GLF_RELEASE, &gl->gl_flags);
	gl_run(gl);
	return 0;
}

/* Sends a LOCK or CONVERT for the head waiter; gl_lock dropped around. */
static void gl_send_req(struct glockfs_glock *gl, u32 op,
			struct glockfs_holder *gh)
{
	unsigned int mode = gh->gh_mode;
	struct glockfs_req *req;

	set_bit(GLF_REQ, &gl->gl_flags);
	gl->gl_req_mode = mode;
	gl->gl_req_gh = gh;
	WRITE_ONCE(gl->gl_req_id, 0);
	gl_stats_request(gl, ktime_get());
	spin_unlock(&gl->gl_lock);

	req = kzalloc(sizeof(*req), GFP_NOFS | __GFP_NOFAIL);
	req->r_gl = gl;
	req->r_sbi = gl->gl_sbi;
	req->r_done = gl_req_done;
	req->r_rec.op = op;
	req->r_rec.type = gl->gl_type;
	req->r_rec.number = gl->gl_number;
	req->r_rec.mode = mode;
	if (gh->gh_flags & GLOCKFS_GH_TRY)
		req->r_rec.flags = GLOCK_DEV_FLAG_TRY;
	if (glockfs_dev_send(gl->gl_sbi, req)) {
		kfree(req);
		spin_lock(&gl->gl_lock);
		clear_bit(GLF_REQ, &gl->gl_flags);
		gl->gl_req_gh = NULL;
		gl_run(gl);
		return;
	}
	spin_lock(&gl->gl_lock);
}

static int gl_refresh(struct glockfs_glock *gl)
{
	int err = 0;

	if (!test_bit(GLF_REFRESH, &gl->gl_flags) || !gl->gl_ops->go_refresh)
		return 0;
	mutex_lock(&gl->gl_refresh_mutex);
	if (test_bit(GLF_REFRESH, &gl->gl_flags)) {
		err = gl->gl_ops->go_refresh(gl);
		if (!err)
			clear_bit(GLF_REFRESH, &gl->gl_flags);
	}
	mutex_unlock(&gl->gl_refresh_mutex);
	return err;
}

/*
 * A waiter gives up (signal, TRY failed): if the LOCK/CONVERT it sent is
 * still with the agent and no other local holder waits, withdraw it, so
 * that the node is not granted what nobody here wants (another node may
 * be waiting for it).  Under gl_lock; returns the req_id to cancel, or 0.
 */
static u64 gl_abandon(struct glockfs_glock *gl, struct glockfs_holder *gh)
{
	if (gl->gl_req_gh != gh)
		return 0;
	gl->gl_req_gh = NULL;
	if (!test_bit(GLF_REQ, &gl->gl_flags) || !list_empty(&gl->gl_waiters))
		return 0;
	return READ_ONCE(gl->gl_req_id);
}

/* Asks the agent to withdraw request @req_id; its answer comes as usual. */
static void gl_send_cancel(struct glockfs_glock *gl, u64 req_id)
{
	struct glockfs_req *req;

	req = kzalloc(sizeof(*req), GFP_NOFS | __GFP_NOFAIL);
	req->r_sbi = gl->gl_sbi;
	req->r_rec.op = GLOCK_DEV_OP_CANCEL;
	req->r_rec.req_id = req_id;
	req->r_rec.type = gl->gl_type;
	req->r_rec.number = gl->gl_number;
	if (glockfs_dev_send(gl->gl_sbi, req))
		kfree(req);
}

/* Under gl_lock: should this waiter stop waiting, and with what? */
static int gl_wait_error(struct glockfs_glock *gl, struct glockfs_holder *gh)
{
	if (glockfs_withdrawn(gl->gl_sbi))
		return -EIO;
	if (gh->gh_error)
		return gh->gh_error;
	if (fatal_signal_pending(current))
		return -EINTR;
	if ((gh->gh_flags & GLOCKFS_GH_INTR) && signal_pending(current))
		return -ERESTARTSYS;
	return 0;
}

/*
 * Under gl_lock, for a TRY holder that cannot send its request now: the
 * node is busy with someone else's request or another node's demote, or
 * other holders queued first.  Only our own release work is waited for.
 */
static bool gl_try_fails(struct glockfs_glock *gl, struct glockfs_holder *gh)
{
	if (!(gh->gh_flags & GLOCKFS_GH_TRY) || gl->gl_req_gh == gh)
		return false;
	return test_bit(GLF_REQ, &gl->gl_flags) ||
	       test_bit(GLF_DEMOTE, &gl->gl_flags) ||
	       list_first_entry(&gl->gl_waiters, struct glockfs_holder,
				gh_list) != gh;
}

/*
 * glockfs_glock_nq() and its variants.  @local_try: -EAGAIN where the
 * others would wait or ask the agent.  @flags: GLOCKFS_GH_*.
 */
static int gl_nq(struct glockfs_glock *gl, unsigned int mode,
		 struct glockfs_holder *gh, bool local_try, unsigned int flags)
{
	unsigned int state = (flags & GLOCKFS_GH_INTR) ? TASK_INTERRUPTIBLE :
							  TASK_KILLABLE;
	DEFINE_WAIT(wait);
	u64 cancel = 0;
	int err = 0;
	u32 op;

	if (WARN_ON_ONCE(mode == GLOCK_DEV_MODE_UN || mode > GLOCK_DEV_MODE_EX))
		return -EINVAL;
	gh->gh_gl = gl;
	gh->gh_mode = mode;
	gh->gh_flags = flags;
	gh->gh_granted = false;
	gh->gh_error = 0;
	gh->gh_owner = task_pid_nr(current);

	spin_lock(&gl->gl_lock);
	gl->gl_stats.stats[GLOCKFS_LKS_QCOUNT]++;
	list_add_tail(&gh->gh_list, &gl->gl_waiters);
	gl_run(gl);
	while (!gh->gh_granted) {
		err = gl_wait_error(gl, gh);
		if (err)
			break;
		if (local_try || gl_try_fails(gl, gh)) {
			err = -EAGAIN;
			break;
		}
		op = gl_next_op(gl, gh);
		if (op) {
			gl_send_req(gl, op, gh);
			continue;
		}
		prepare_to_wait(&gl->gl_wq, &wait, state);
		spin_unlock(&gl->gl_lock);
		schedule();
		finish_wait(&gl->gl_wq, &wait);
		spin_lock(&gl->gl_lock);
	}
	if (err) {
		if (gh->gh_granted)
			gl->gl_holders--;
		list_del_init(&gh->gh_list);
		gh->gh_granted = false;
		cancel = gl_abandon(gl, gh);
		gl_run(gl);
	}
	spin_unlock(&gl->gl_lock);
	if (cancel)
		gl_send_cancel(gl, cancel);
	if (err)
		return err;

	err = gl_refresh(gl);
	if (err)
		glockfs_glock_dq(gh);
	return err;
}

/**
 * glockfs_glock_nq - become a local holder of @gl in @mode
 * @gl: the glock
 * @mode: GLOCK_DEV_MODE_SH, _DF or _EX
 * @gh: the holder, on the caller's stack
 *
 * Sleeps (killable) until the node holds a covering mode.  Returns 0, -EIO
 * once the mount is withdrawn, -EINTR on a fatal signal, or the error the
 * agent denied the request with.
 */
int glockfs_glock_nq(struct glockfs_glock *gl, unsigned int mode,
		     struct glockfs_holder *gh)
{
	return gl_nq(gl, mode, gh, false, 0);
}

/**
 * glockfs_glock_nq_try - glockfs_glock_nq() only if it would not wait
 * @gl: the glock
 * @mode: GLOCK_DEV_MODE_SH, _DF or _EX
 * @gh: the holder, on the caller's stack
 *
 * Returns -EAGAIN, and asks nobody for anything, unless the node holds a
 * covering mode that nothing queued or pending stands in the way of.
 */
int glockfs_glock_nq_try(struct glockfs_glock *gl, unsigned int mode,
			 struct glockfs_holder *gh)
{
	return gl_nq(gl, mode, gh, true, 0);
}

/**
 * glockfs_glock_nq_flags - glockfs_glock_nq() with holder flags
 * @gl: the glock
 * @mode: GLOCK_DEV_MODE_SH, _DF or _EX
 * @flags: GLOCKFS_GH_TRY: the agent is asked with TRY and the call
 *	returns -EAGAIN when it refuses, or when the node could only wait
 *	for someone else; GLOCKFS_GH_INTR: any signal ends the wait
 *	(-ERESTARTSYS)
 * @gh: the holder
 */
int glockfs_glock_nq_flags(struct glockfs_glock *gl, unsigned int mode,
			   unsigned int flags, struct glockfs_holder *gh)
{
	return gl_nq(gl, mode, gh, false, flags);
}

void glockfs_glock_dq(struct glockfs_holder *gh)
{
	struct glockfs_glock *gl = gh->gh_gl;

	spin_lock(&gl->gl_lock);
	if (!WARN_ON_ONCE(!gh->gh_granted || !gl->gl_holders)) {
		list_del_init(&gh->gh_list);
		gh->gh_granted = false;
		if (!--gl->gl_holders)
			gl_run(gl);
	}
	spin_unlock(&gl->gl_lock);
}

/**
 * glockfs_glock_held_by_me - does the current task hold @gl already?
 * @gl: the glock
 * @mode: the mode the caller is about to ask for
 *
 * For the page fault handlers, which may run in a task that holds the
 * glock itself (a copy to or from user memory under the glock with page
 * faults enabled: fault_retry=0).  Returns 0 if the task holds no holder
 * of @gl, 1 if one of its holders covers @mode (the caller goes on under
 * it: asking again could queue behind a conflicting waiter that waits for
 * this very task), -EDEADLK if it holds @gl in a mode that does not cover
 * @mode (waiting would wait for itself).
 */
int glockfs_glock_held_by_me(struct glockfs_glock *gl, unsigned int mode)
{
	pid_t me = task_pid_nr(current);
	struct glockfs_holder *gh;
	int ret = 0;

	spin_lock(&gl->gl_lock);
	list_for_each_entry(gh, &gl->gl_granted, gh_list) {
		if (gh->gh_owner != me)
			continue;
		if (mode_covers(gh->gh_mode, mode)) {
			ret = 1;
			break;
		}
		ret = -EDEADLK;
	}
	spin_unlock(&gl->gl_lock);
	return ret;
}

static int gl_cmp(const void *a, const void *b)
{
	const struct glockfs_glock *ga = *(struct glockfs_glock * const *)a;
	const struct glockfs_glock *gb = *(struct glockfs_glock * const *)b;

	if (!ga || !gb)
		return !!ga - !!gb;
	if (ga->gl_number != gb->gl_number)
		return ga->gl_number < gb->gl_number ? -1 : 1;
	return 0;
}

/**
 * glockfs_glock_nq_m - hold several glocks in one mode
 * @n: number of glocks (at most 4); duplicates and NULLs are allowed
 * @gls: the glocks; sorted in place by number, the cluster-wide lock order
 * @mode: the mode
 * @ghs: @n holders; unused ones are left ungranted
 */
int glockfs_glock_nq_m(unsigned int n, struct glockfs_glock **gls,
		       unsigned int mode, struct glockfs_holder *ghs)
{
	unsigned int i, j;
	int err;

	sort(gls, n, sizeof(*gls), gl_cmp, NULL);
	for (i = 0; i < n; i++) {
		ghs[i].gh_granted = false;
		if (!gls[i] || (i && gls[i] == gls[i - 1]))
			continue;
		err = glockfs_glock_nq(gls[i], mode, &ghs[i]);
		if (err)
			goto out_dq;
	}
	return 0;

out_dq:
	for (j = 0; j < i; j++)
		if (ghs[j].gh_granted)
			glockfs_glock_dq(&ghs[j]);
	return err;
}

void glockfs_glock_dq_m(unsigned int n, struct glockfs_holder *ghs)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ghs[i].gh_granted)
			glockfs_glock_dq(&ghs[i]);
}

/*
 * The glock cache.  As gfs2's glock LRU: a glock granted to the node that
 * no local holder uses and none waits for is idle, and waits on the
 * mount's LRU, least recently used first.  The shrinker (memory pressure)
 * and the max_glocks limit take idle glocks from the LRU's head and start
 * their release: the demote work writes dirty pages back, invalidates the
 * page cache and sends RELEASE, as for a demote another node asked for.
 * Neither ever waits for the cluster: they queue the work and count what
 * they started.  The inode stays; its next holder locks afresh and rereads
 * it (GLF_REFRESH).
 */

#define GL_NOT_IDLE (BIT(GLF_REQ) | BIT(GLF_DEMOTE) | BIT(GLF_RELEASE) | \
		     BIT(GLF_DEMOTING) | BIT(GLF_FREEING))

/* Under gl_lock: granted to the node, and nobody here uses or wants it. */
static bool gl_idle(const struct glockfs_glock *gl)
{
	return gl->gl_state != GLOCK_DEV_MODE_UN && !gl->gl_holders &&
	       list_empty(&gl->gl_waiters) &&
	       !(READ_ONCE(gl->gl_flags) & GL_NOT_IDLE) &&
	       !glockfs_withdrawn(gl->gl_sbi);
}

/*
 * Under gl_lock: puts @gl on the LRU's tail when it has become idle, takes
 * it off when it is not.  The LRU is only changed under both gl_lock and
 * c_lru_lock, so its membership can be read under either.
 */
static void gl_lru_update(struct glockfs_glock *gl)
{
	struct glockfs_cache *c = &gl->gl_sbi->s_cache;
	bool idle = gl_idle(gl);

	if (idle == !list_empty(&gl->gl_lru))
		return;
	spin_lock(&c->c_lru_lock);
	if (idle) {
		list_add_tail(&gl->gl_lru, &c->c_lru);
		c->c_lru_count++;
	} else {
		list_del_init(&gl->gl_lru);
		c->c_lru_count--;
	}
	spin_unlock(&c->c_lru_lock);
	if (idle)
		gl_limit_check(gl);
}

/* How many glocks the node holds beyond max_glocks, releases not counted. */
static long gl_over_limit(struct glockfs_cache *c)
{
	if (!c->c_max)
		return 0;
	return atomic_long_read(&c->c_cached) -
	       atomic_long_read(&c->c_reclaiming) - (long)c->c_max;
}

/*
 * Starts the release of up to @nr idle glocks from the LRU's head, as
 * gfs2_scan_glock_lru(): a glock whose gl_lock is taken (against the lock
 * order) is being used and stays.  The caller may hold the gl_lock of
 * @self (or NULL).  Returns how many were started.
 */
static unsigned long gl_lru_reclaim(struct glockfs_cache *c,
				    struct glockfs_glock *self,
				    unsigned long nr)
{
	struct glockfs_glock *gl, *next;
	unsigned long started = 0;

	spin_lock(&c->c_lru_lock);
	list_for_each_entry_safe(gl, next, &c->c_lru, gl_lru) {
		if (started >= nr)
			break;
		if (gl != self && !spin_trylock(&gl->gl_lock))
			continue;
		list_del_init(&gl->gl_lru);
		c->c_lru_count--;
		if (gl_idle(gl)) {
			/* What gl_run() does for GLF_RELEASE, with no holder. */
			set_bit(GLF_RECLAIM, &gl->gl_flags);
			set_bit(GLF_RELEASE, &gl->gl_flags);
			set_bit(GLF_DEMOTING, &gl->gl_flags);
			atomic_long_inc(&c->c_reclaiming);
			queue_work(glockfs_wq, &gl->gl_work);
			started++;
		}
		if (gl != self)
			spin_unlock(&gl->gl_lock);
	}
	spin_unlock(&c->c_lru_lock);
	return started;
}

/*
 * Under gl_lock of @gl, when the node's grants grew or one became idle:
 * past max_glocks the oldest idle ones are released at once (only queued:
 * the caller never waits), so the count is back at the limit when their
 * releases are done, unless every grant is in use.
 */
static void gl_limit_check(struct glockfs_glock *gl)
{
	struct glockfs_cache *c = &gl->gl_sbi->s_cache;
	long over = gl_over_limit(c);

	if (over > 0)
		atomic_long_add(gl_lru_reclaim(c, gl, over),
				&c->c_limit_demotes);
}

static unsigned long gl_shrink_count(struct shrinker *shrink,
				     struct shrink_control *sc)
{
	struct glockfs_cache *c = container_of(shrink, struct glockfs_cache,
					       c_shrinker);

	return vfs_pressure_ratio(READ_ONCE(c->c_lru_count));
}

static unsigned long gl_shrink_scan(struct shrinker *shrink,
				    struct shrink_control *sc)
{
	struct glockfs_cache *c = container_of(shrink, struct glockfs_cache,
					       c_shrinker);
	unsigned long started;

	/* The releases write back: not for an allocation under the fs. */
	if (!(sc->gfp_mask & __GFP_FS))
		return SHRINK_STOP;
	started = gl_lru_reclaim(c, NULL, sc->nr_to_scan);
	atomic_long_add(started, &c->c_shrink_demotes);
	return started;
}

/* Before the mount options are parsed: nothing to undo. */
void glockfs_cache_init(struct glockfs_sb *sbi)
{
	struct glockfs_cache *c = &sbi->s_cache;

	spin_lock_init(&c->c_lru_lock);
	INIT_LIST_HEAD(&c->c_lru);
}

int glockfs_cache_mount(struct glockfs_sb *sbi)
{
	struct glockfs_cache *c = &sbi->s_cache;
	int err;

	c->c_shrinker.count_objects = gl_shrink_count;
	c->c_shrinker.scan_objects = gl_shrink_scan;
	c->c_shrinker.seeks = DEFAULT_SEEKS;
	err = register_shrinker(&c->c_shrinker, "glockfs-%s",
				sbi->s_lockspace);
	if (err)
		return err;
	c->c_shrinker_on = true;
	return 0;
}

/* Before the inodes are evicted: no scan runs from here on. */
void glockfs_cache_unmount(struct glockfs_sb *sbi)
{
	struct glockfs_cache *c = &sbi->s_cache;

	if (c->c_shrinker_on)
		unregister_shrinker(&c->c_shrinker);
	c->c_shrinker_on = false;
}

/* After every inode is gone. */
void glockfs_cache_exit(struct glockfs_sb *sbi)
{
	struct glockfs_cache *c = &sbi->s_cache;

	WARN_ON_ONCE(c->c_lru_count || atomic_long_read(&c->c_cached) ||
		     atomic_long_read(&c->c_reclaiming));
}

int glockfs_glock_module_init(void)
{
	glockfs_wq = alloc_workqueue("glockfs", WQ_MEM_RECLAIM | WQ_FREEZABLE,
				     0);
	return glockfs_wq ? 0 : -ENOMEM;
}

void glockfs_glock_module_exit(void)
{
	destroy_workqueue(glockfs_wq);
}
