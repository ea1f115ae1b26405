// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/glock: the channel between glockfs and the node's lock agent.
 *
 * Modelled on fs/dlm/plock.c: fixed-size versioned records, read() hands
 * out one request, write() takes one reply, poll() says when to read.  The
 * record layout and the protocol are documented in glock/glock_dev.h.
 *
 * One agent at a time.  Each open starts a new agent session (generation);
 * a mount belongs to the session it was made in, and is withdrawn when that
 * session ends, so a restarted agent never inherits locks it knows nothing
 * about.
 *
 * PLOCK requests (plock.c) are queued and matched by req_id like the
 * others; their waiter gets -ENOLCK when the agent goes away first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/completion.h>
#include <linux/threads.h>

#include "glockfs.h"

#define GLOCKFS_MOUNT_TIMEOUT	(60 * HZ)
#define GLOCKFS_REQ_HASH_BITS	8

struct glockfs_chan {
	spinlock_t lock;		/* everything below */
	struct list_head queue;		/* requests not yet read */
	DECLARE_HASHTABLE(pending, GLOCKFS_REQ_HASH_BITS); /* awaiting reply */
	struct list_head mounts;	/* struct glockfs_sb, s_dev_list */
	wait_queue_head_t readq;
	u64 next_req_id;
	u64 gen;			/* current agent session, if open */
	bool open;
};

static struct glockfs_chan chan = {
	.lock = __SPIN_LOCK_UNLOCKED(chan.lock),
	.queue = LIST_HEAD_INIT(chan.queue),
	.mounts = LIST_HEAD_INIT(chan.mounts),
	.readq = __WAIT_QUEUE_HEAD_INITIALIZER(chan.readq),
	.next_req_id = 1,
};

static bool op_wants_reply(u32 op)
{
	return op != GLOCK_DEV_OP_CANCEL && op != GLOCK_DEV_OP_UNMOUNT;
}

static struct glockfs_req *chan_find_pending(u64 req_id)
{
	struct glockfs_req *req;

	hash_for_each_possible(chan.pending, req, r_hnode, req_id)
		if (req->r_rec.req_id == req_id)
			return req;
	return NULL;
}

static struct glockfs_sb *chan_find_mount(const char *lockspace)
{
	struct glockfs_sb *sbi;

	list_for_each_entry(sbi, &chan.mounts, s_dev_list)
		if (sbi->s_agent_gen == chan.gen &&
		    !strcmp(sbi->s_lockspace, lockspace))
			return sbi;
	return NULL;
}

/* Under chan.lock: takes req off the queue and the pending hash. */
static void chan_unlink(struct glockfs_req *req)
{
	list_del_init(&req->r_list);
	if (!hlist_unhashed(&req->r_hnode))
		hash_del(&req->r_hnode);
}

/*
 * Queues req for the agent.  Returns -EIO if the mount's agent session is
 * over (the caller still owns req) and 0 once the channel owns it.
 */
int glockfs_dev_send(struct glockfs_sb *sbi, struct glockfs_req *req)
{
	struct glock_dev_request *rec = &req->r_rec;

	rec->version[0] = GLOCK_DEV_VERSION_MAJOR;
	rec->version[1] = GLOCK_DEV_VERSION_MINOR;
	rec->version[2] = GLOCK_DEV_VERSION_PATCH;
	strscpy(rec->lockspace, sbi->s_lockspace, sizeof(rec->lockspace));
	INIT_LIST_HEAD(&req->r_list);
	INIT_HLIST_NODE(&req->r_hnode);

	spin_lock(&chan.lock);
	if (!chan.open || sbi->s_agent_gen != chan.gen ||
	    glockfs_withdrawn(sbi)) {
		spin_unlock(&chan.lock);
		return -EIO;
	}
	if (op_wants_reply(rec->op)) {
		rec->req_id = chan.next_req_id++;
		hash_add(chan.pending, &req->r_hnode, rec->req_id);
		/* What a waiter that gives up cancels (glock.c). */
		if (req->r_gl)
			WRITE_ONCE(req->r_gl->gl_req_id, rec->req_id);
	}
	req->r_sent = ktime_get();
	list_add_tail(&req->r_list, &chan.queue);
	spin_unlock(&chan.lock);
	pr_debug("send op %u req %llu %s/%u/%llx mode %u\n", rec->op,
		 rec->req_id, rec->lockspace, rec->type, rec->number,
		 rec->mode);
	wake_up_interruptible(&chan.readq);
	return 0;
}

static void mount_done(struct glockfs_req *req,
		       const struct glock_dev_reply *rep)
{
	req->r_status = rep ? rep->status : -ENOTCONN;
	complete(&req->r_comp);
}

/*
 * Joins sbi's lockspace through the agent.  Fails at once with -ENOTCONN
 * when nobody has /dev/glock open.
 */
int glockfs_dev_mount(struct glockfs_sb *sbi)
{
	struct glockfs_req req = {};
	long left;
	int err;

	spin_lock(&chan.lock);
	if (!chan.open) {
		spin_unlock(&chan.lock);
		pr_err("%s: no lock agent: nobody has /dev/glock open (is glockd running?)\n",
		       sbi->s_lockspace);
		return -ENOTCONN;
	}
	if (chan_find_mount(sbi->s_lockspace)) {
		spin_unlock(&chan.lock);
		pr_err("%s: lockspace already mounted on this node\n",
		       sbi->s_lockspace);
		return -EBUSY;
	}
	sbi->s_agent_gen = chan.gen;
	list_add_tail(&sbi->s_dev_list, &chan.mounts);
	sbi->s_registered = true;
	spin_unlock(&chan.lock);

	init_completion(&req.r_comp);
	req.r_done = mount_done;
	req.r_sbi = sbi;
	req.r_rec.op = GLOCK_DEV_OP_MOUNT;
	err = glockfs_dev_send(sbi, &req);
	if (err) {
		pr_err("%s: lock agent went away\n", sbi->s_lockspace);
		return -ENOTCONN;
	}

	left = wait_for_completion_killable_timeout(&req.r_comp,
						    GLOCKFS_MOUNT_TIMEOUT);
	spin_lock(&chan.lock);
	if (left <= 0 && !completion_done(&req.r_comp)) {
		/* Not answered: take the request back before it goes away. */
		chan_unlink(&req);
		spin_unlock(&chan.lock);
		pr_err("%s: lock agent did not answer MOUNT\n",
		       sbi->s_lockspace);
		return left ? left : -ETIMEDOUT;
	}
	spin_unlock(&chan.lock);
	if (req.r_status)
		pr_err("%s: lock agent refused the mount: %d\n",
		       sbi->s_lockspace, req.r_status);
	return req.r_status;
}

/*
 * The mount is going away: tell the agent (if it is still ours), and
 * orphan the acknowledgements still owed to this mount.
 */
void glockfs_dev_unmount(struct glockfs_sb *sbi)
{
	struct glockfs_req *req;
	unsigned int bkt;

	if (!sbi->s_registered)
		return;
	req = kzalloc(sizeof(*req), GFP_KERNEL | __GFP_NOFAIL);
	req->r_rec.op = GLOCK_DEV_OP_UNMOUNT;
	req->r_sbi = sbi;
	if (glockfs_dev_send(sbi, req))
		kfree(req);

	spin_lock(&chan.lock);
	hash_for_each(chan.pending, bkt, req, r_hnode)
		if (req->r_sbi == sbi) {
			WARN_ON_ONCE(req->r_gl);
			req->r_sbi = NULL;
		}
	list_for_each_entry(req, &chan.queue, r_list)
		if (req->r_sbi == sbi)
			req->r_sbi = NULL;
	list_del(&sbi->s_dev_list);
	sbi->s_registered = false;
	spin_unlock(&chan.lock);
}

static int dev_open(struct inode *inode, struct file *file)
{
	int err = 0;

	spin_lock(&chan.lock);
	if (chan.open) {
		err = -EBUSY;
	} else {
		chan.open = true;
		chan.gen++;
	}
	spin_unlock(&chan.lock);
	if (!err)
		pr_info("lock agent connected (pid %d, session %llu)\n",
			task_pid_nr(current), chan.gen);
	return err;
}

/* The agent is gone: every mount of its session withdraws. */
static int dev_release(struct inode *inode, struct file *file)
{
	struct glockfs_req *req, *tmp;
	struct glockfs_sb *sbi;
	struct hlist_node *htmp;
	unsigned int bkt;

	spin_lock(&chan.lock);
	chan.open = false;
	list_for_each_entry(sbi, &chan.mounts, s_dev_list)
		if (sbi->s_agent_gen == chan.gen)
			glockfs_withdraw(sbi, "lock agent closed /dev/glock");
	list_for_each_entry_safe(req, tmp, &chan.queue, r_list) {
		if (hlist_unhashed(&req->r_hnode)) {
			list_del_init(&req->r_list);
			kfree(req);	/* CANCEL, UNMOUNT */
		}
	}
	hash_for_each_safe(chan.pending, bkt, htmp, req, r_hnode) {
		chan_unlink(req);
		req->r_done(req, NULL);
	}
	spin_unlock(&chan.lock);
	pr_info("lock agent disconnected (session %llu)\n", chan.gen);
	return 0;
}

static ssize_t dev_read(struct file *file, char __user *u, size_t count,
			loff_t *ppos)
{
	struct glock_dev_request rec;
	struct glockfs_req *req;
	bool one_way;

	if (count < sizeof(rec))
		return -EINVAL;

	spin_lock(&chan.lock);
	while (list_empty(&chan.queue)) {
		spin_unlock(&chan.lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(chan.readq,
					     !list_empty(&chan.queue)))
			return -ERESTARTSYS;
		spin_lock(&chan.lock);
	}
	req = list_first_entry(&chan.queue, struct glockfs_req, r_list);
	list_del_init(&req->r_list);
	rec = req->r_rec;
	one_way = hlist_unhashed(&req->r_hnode);
	spin_unlock(&chan.lock);

	if (copy_to_user(u, &rec, sizeof(rec))) {
		/* Put it back in front unless it was answered meanwhile. */
		spin_lock(&chan.lock);
		if (!one_way)
			req = chan_find_pending(rec.req_id);
		if (req)
			list_add(&req->r_list, &chan.queue);
		spin_unlock(&chan.lock);
		return -EFAULT;
	}
	if (one_way)
		kfree(req);
	return sizeof(rec);
}

static bool plock_reply_valid(const struct glock_dev_reply *rep);

static bool reply_valid(const struct glock_dev_reply *rep)
{
	if (rep->version[0] != GLOCK_DEV_VERSION_MAJOR) {
		pr_warn_ratelimited("agent ABI %u.%u.%u, module %u.%u.%u: refused\n",
				    rep->version[0], rep->version[1],
				    rep->version[2], GLOCK_DEV_VERSION_MAJOR,
				    GLOCK_DEV_VERSION_MINOR,
				    GLOCK_DEV_VERSION_PATCH);
		return false;
	}
	if (rep->op < GLOCK_DEV_OP_GRANT || rep->op > GLOCK_DEV_OP_PLOCK_REPLY)
		return false;
	if (rep->mode > GLOCK_DEV_MODE_EX)
		return false;
	if (rep->status > 0 || rep->status < -MAX_ERRNO)
		return false;
	if (!memchr(rep->lockspace, '\0', sizeof(rep->lockspace)))
		return false;
	switch (rep->op) {
	case GLOCK_DEV_OP_DEMOTE:
		return rep->mode != GLOCK_DEV_MODE_EX && rep->lockspace[0];
	case GLOCK_DEV_OP_LOST:
		return rep->lockspace[0];
	case GLOCK_DEV_OP_DENY:
		return rep->status < 0;
	case GLOCK_DEV_OP_PLOCK_REPLY:
		return plock_reply_valid(rep);
	default:
		return true;
	}
}

static bool plock_offset_valid(u64 off)
{
	return off == ~0ULL || off <= OFFSET_MAX;
}

/* A PLOCK_REPLY's own fields; that it answers a PLOCK: dev_dispatch(). */
static bool plock_reply_valid(const struct glock_dev_reply *rep)
{
	const struct glock_dev_plock_conflict *c = &rep->conflict;

	if (rep->type != GLOCK_DEV_TYPE_PLOCK || rep->pad || rep->mode > 1)
		return false;
	if (!rep->mode)
		return true;
	/* A conflict comes only with a successful GET (dev_dispatch()). */
	return !rep->status && c->start <= c->end &&
	       plock_offset_valid(c->start) && plock_offset_valid(c->end) &&
	       !(c->flags & ~(GLOCK_DEV_PLOCK_F_WR | GLOCK_DEV_PLOCK_F_OFD)) &&
	       c->pid <= PID_MAX_LIMIT && !c->pad;
}

/* Under chan.lock.  Returns 0 or -EINVAL; on -EINVAL nothing changed. */
static int dev_dispatch(const struct glock_dev_reply *rep)
{
	struct glockfs_req *req;
	struct glockfs_sb *sbi;
	bool is_mount, mount_reply;

	switch (rep->op) {
	case GLOCK_DEV_OP_GRANT:
	case GLOCK_DEV_OP_DENY:
	case GLOCK_DEV_OP_MOUNT_REPLY:
		req = chan_find_pending(rep->req_id);
		if (!req)
			return -EINVAL;
		is_mount = req->r_rec.op == GLOCK_DEV_OP_MOUNT;
		mount_reply = rep->op == GLOCK_DEV_OP_MOUNT_REPLY;
		if (is_mount != mount_reply ||
		    req->r_rec.op == GLOCK_DEV_OP_PLOCK)
			return -EINVAL;
		if (rep->op == GLOCK_DEV_OP_GRANT &&
		    (req->r_rec.op == GLOCK_DEV_OP_LOCK ||
		     req->r_rec.op == GLOCK_DEV_OP_CONVERT) &&
		    rep->mode != req->r_rec.mode)
			return -EINVAL;
		chan_unlink(req);
		req->r_done(req, rep);
		return 0;
	case GLOCK_DEV_OP_PLOCK_REPLY:
		req = chan_find_pending(rep->req_id);
		if (!req || req->r_rec.op != GLOCK_DEV_OP_PLOCK ||
		    rep->number != req->r_rec.number)
			return -EINVAL;
		if (rep->mode && req->r_rec.mode != GLOCK_DEV_PLOCK_GET)
			return -EINVAL;
		chan_unlink(req);
		req->r_done(req, rep);
		return 0;
	case GLOCK_DEV_OP_DEMOTE:
	case GLOCK_DEV_OP_LOST:
		sbi = chan_find_mount(rep->lockspace);
		if (!sbi)
			return -EINVAL;
		if (rep->op == GLOCK_DEV_OP_LOST)
			glockfs_withdraw(sbi, "lock agent reports locks lost");
		else
			glockfs_glock_demote_req(sbi, rep);
		return 0;
	}
	return -EINVAL;
}

static ssize_t dev_write(struct file *file, const char __user *u,
			 size_t count, loff_t *ppos)
{
	struct glock_dev_reply rep;
	int err;

	if (count != sizeof(rep))
		return -EINVAL;
	if (copy_from_user(&rep, u, sizeof(rep)))
		return -EFAULT;
	if (!reply_valid(&rep))
		return -EINVAL;
	pr_debug("reply op %u req %llu %s/%u/%llx mode %u status %d\n",
		 rep.op, rep.req_id, rep.lockspace, rep.type, rep.number,
		 rep.mode, rep.status);

	spin_lock(&chan.lock);
	err = dev_dispatch(&rep);
	spin_unlock(&chan.lock);
	return err ? err : count;
}

static __poll_t dev_poll(struct file *file, poll_table *wait)
{
	__poll_t mask = EPOLLOUT | EPOLLWRNORM; /* write() never blocks */

	poll_wait(file, &chan.readq, wait);
	spin_lock(&chan.lock);
	if (!list_empty(&chan.queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&chan.lock);
	return mask;
}

static const struct file_operations glockfs_dev_fops = {
	.owner = THIS_MODULE,
	.open = dev_open,
	.release = dev_release,
	.read = dev_read,
	.write = dev_write,
	.poll = dev_poll,
	.llseek = noop_llseek,
};

static struct miscdevice glockfs_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = GLOCK_DEV_MISC_NAME,
	.fops = &glockfs_dev_fops,
};

int glockfs_dev_init(void)
{
	hash_init(chan.pending);
	return misc_register(&glockfs_misc);
}

void glockfs_dev_exit(void)
{
	misc_deregister(&glockfs_misc);
}
