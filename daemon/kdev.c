/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd's /dev/glock bridge: the kernel as one client of the lock agent.
 *
 * The device carries fixed 144-byte records (include/glock/glock_dev.h,
 * whose top comment is the protocol).  Each read() gives one request of
 * glockfs.ko; each becomes one call into the agent core (agent.c) as the
 * client `acl`, and each answer is one record written back:
 *
 *   LOCK, CONVERT   glock__agent_lock/convert -> GRANT or DENY (now, or
 *                   when the agent's COMPLETE event comes)
 *   RELEASE         glock__agent_unlock -> GRANT (UN)
 *   DEMOTE_DONE     unlock (UN) or convert down -> GRANT (mode)
 *   CANCEL          glock__agent_cancel; the request gets its DENY/GRANT
 *   MOUNT           MOUNT_REPLY: 0 when synced and quorate, else -errno
 *   UNMOUNT         every holder of the lockspace goes
 *   agent DEMOTE    DEMOTE (req_id 0, the mode the node may keep)
 *   agent LOST      LOST (lockspace): the mount withdraws
 *   PLOCK           ops->plock (the lock path, DESIGN §9.2) -> PLOCK_REPLY,
 *                   now (an error) or by glockd_kdev_plock_answer()
 *   CANCEL (PLOCK)  ops->plock CANCEL; the waiting PLOCK gets its answer
 *   plock answer with req_id 0: the node lost its POSIX locks on a file
 *                   -> LOST (the lockspace's mount withdraws, as for a glock)
 *
 * POSIX locks are not glocks: the bridge only checks and forwards them, and
 * remembers each PLOCK until its answer (struct kpl, by req_id), so an
 * answer nobody waits for is dropped and a CANCEL finds its lock.
 *
 * The kernel keeps one grant per glock for the whole node, so the bridge
 * keeps one agent holder per glock name (struct kgl): its handle, the mode
 * the kernel holds and the req_id of its one outstanding LOCK/CONVERT.
 *
 * Problem scenario: the kernel holds SH on an inode and asks CONVERT to EX;
 * another node asks EX and the agent tells the kernel's holder DEMOTE.  The
 * agent honours a demote only once the holder is gone, while glockfs runs
 * its demote work only once its request is answered: neither moves.  So a
 * DEMOTE for a holder with a pending conversion withdraws the conversion
 * and answers it DENY -EDEADLK, which glockfs reads as "release, then lock
 * afresh" (as for a conversion deadlock); it then honours the demote and
 * asks again behind the other node.  The withdrawal runs from a loop job,
 * never inside the agent's event callback.
 *
 * Answers go through a FIFO (DEMOTE after the GRANT it follows, always).
 * The module's write() does not block today; should it ever refuse with
 * EAGAIN the queue waits for POLLOUT (and a short timer, since the module
 * does not report POLLOUT).  Past KDEV_QUEUE_HIGH queued answers no more
 * requests are read until it drains; past KDEV_QUEUE_MAX the device is
 * closed (every mount withdraws) rather than an answer dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qb/qbdefs.h>
#include <qb/qblist.h>
#include <qb/qbloop.h>
#include <qb/qbmap.h>

#include "glock/glock_dev.h"

#include "config.h"
#include "kdev.h"
#include "log.h"

#define KDEV_HASH_SIZE 4096u
#define KDEV_READ_BURST 64        /* requests per wake-up */
#define KDEV_QUEUE_HIGH 4096u     /* stop reading above this many answers */
#define KDEV_QUEUE_LOW 1024u      /* read again below this */
#define KDEV_QUEUE_MAX 262144u    /* close the device rather than drop one */
#define KDEV_RETRY_NS (10u * 1000u * 1000u)
#define KGL_KEY_MAX (GLOCK_LOCKSPACE_MAX + 32)

/* The ABI header restates the engine's values; they must agree. */
_Static_assert(sizeof(struct glock_dev_request) == 144, "request is 144 bytes");
_Static_assert(sizeof(struct glock_dev_reply) == 144, "reply is 144 bytes");
_Static_assert(GLOCK_DEV_LOCKSPACE_LEN == GLOCK_LOCKSPACE_MAX, "lockspace length");
_Static_assert(GLOCK_DEV_LVB_LEN == GLOCK_LVB_LEN, "LVB length");
_Static_assert(GLOCK_DEV_MODE_UN == GLOCK_MODE_UN && GLOCK_DEV_MODE_SH == GLOCK_MODE_SH &&
	       GLOCK_DEV_MODE_DF == GLOCK_MODE_DF && GLOCK_DEV_MODE_EX == GLOCK_MODE_EX,
	       "modes");
_Static_assert(GLOCK_DEV_FLAG_TRY == GLOCK_FLAG_TRY && GLOCK_DEV_FLAG_TRY_1CB == GLOCK_FLAG_TRY_1CB &&
	       GLOCK_DEV_FLAG_NOEXP == GLOCK_FLAG_NOEXP &&
	       GLOCK_DEV_FLAG_PRIORITY == GLOCK_FLAG_PRIORITY && GLOCK_DEV_FLAGS_ALL == GLOCK_FLAGS_ALL,
	       "flags");

_Static_assert(GLOCK_DEV_PLOCK_LOCK == GLOCK_PLOCK_OP_LOCK &&
	       GLOCK_DEV_PLOCK_UNLOCK == GLOCK_PLOCK_OP_UNLOCK &&
	       GLOCK_DEV_PLOCK_GET == GLOCK_PLOCK_OP_GET,
	       "plock sub-ops");
_Static_assert(GLOCK_PLOCK_EOF == ~0ULL, "plock end of file");

/* The kernel's holder of one glock. */
struct kgl {
	char key[KGL_KEY_MAX];
	struct glock_name name;
	uint64_t handle;
	bool has_handle;      /* the agent has a holder for it */
	enum glock_mode mode; /* held by the kernel (UN while a LOCK waits) */
	uint64_t req_id;      /* the kernel's outstanding LOCK/CONVERT, 0 if none */
	int cancel_status;    /* when we withdraw req_id: its DENY status */
	bool demote_cancel;   /* a DEMOTE came while a conversion waits (job) */
};

/* A lockspace the kernel has mounted. */
struct kls {
	struct qb_list_head list;
	char name[GLOCK_LOCKSPACE_MAX];
	bool lost;  /* LOST sent: the mount withdrew and will send nothing more */
	bool purge; /* its remaining holders go (job) */
	uint64_t releases; /* RELEASEs: glocks the kernel gave back unasked */
	uint64_t demotes;  /* DEMOTEs sent: other nodes asked */
};

/* A kernel PLOCK the lock path has not answered yet. */
struct kpl {
	char key[24];
	uint64_t req_id;
	struct glock_name name;
	enum glock_plock_op_kind kind;
};

struct qrec {
	struct qb_list_head list;
	struct glock_dev_reply rec;
};

struct glockd_kdev {
	struct glockd *gd;
	const struct glockd_kdev_ops *ops; /* main.c's wiring */
	struct glockd_agent_owner owner;   /* the agent's events for the kernel's holders */
	struct glock__agent *core;
	struct glock__agent_client *acl;
	int fd;
	int32_t events;            /* poll mask on the loop */
	qb_map_t *glocks;          /* key -> struct kgl */
	size_t n_glocks;
	qb_map_t *plocks;          /* req_id -> struct kpl */
	size_t n_plocks;
	bool told_no_plocks;       /* the lock path has no POSIX locks: said once */
	struct qb_list_head lockspaces;
	struct qb_list_head queue; /* answers not yet written */
	size_t queue_len;
	bool retry_armed;
	qb_loop_timer_handle retry_timer;
	bool job_queued;
	qb_loop_timer_handle job_timer;
	bool closing;              /* a device error: it is being closed */
	bool close_queued;
	bool stopping;
	uint64_t requests, answers, bad_requests, refused_answers;
	struct log_ratelimit rl_bad, rl_write;
	uint32_t warned_version[3]; /* the last kernel ABI version complained about */
};

static void kdev_close(struct glockd_kdev *kd, const char *why);
static void job_arm(struct glockd_kdev *kd);
static void job_run(void *data);
static void close_job(void *data);
static int32_t dev_dispatch(int32_t fd, int32_t revents, void *data);

/* ---- names ---- */

static void kgl_key(const struct glock_name *name, char *key)
{
	snprintf(key, KGL_KEY_MAX, "%s/%" PRIx32 "/%" PRIx64, name->lockspace, name->type,
		 name->number);
}

static struct kgl *kgl_find(struct glockd_kdev *kd, const struct glock_name *name)
{
	char key[KGL_KEY_MAX];

	kgl_key(name, key);
	return qb_map_get(kd->glocks, key);
}

static struct kgl *kgl_new(struct glockd_kdev *kd, const struct glock_name *name)
{
	struct kgl *kg = calloc(1, sizeof(*kg));

	if (!kg)
		return NULL;
	kg->name = *name;
	kgl_key(name, kg->key);
	qb_map_put(kd->glocks, kg->key, kg);
	kd->n_glocks++;
	return kg;
}

static void kgl_free(struct glockd_kdev *kd, struct kgl *kg)
{
	qb_map_rm(kd->glocks, kg->key);
	kd->n_glocks--;
	free(kg);
}

/* Copies of the names of every kernel glock (of one lockspace, or all). */
static struct glock_name *kgl_names(struct glockd_kdev *kd, const char *lockspace, size_t *ret_n)
{
	struct glock_name *v;
	qb_map_iter_t *it;
	size_t n = 0;
	void *p;

	*ret_n = 0;
	if (!kd->n_glocks)
		return NULL;
	v = calloc(kd->n_glocks, sizeof(*v));
	it = v ? qb_map_iter_create(kd->glocks) : NULL;
	if (!it) {
		free(v);
		log_err("kernel client: out of memory listing its glocks");
		return NULL;
	}
	/* To the end, even when full: see for_all() in agent.c (libqb 2.0.6). */
	while (qb_map_iter_next(it, &p)) {
		struct kgl *kg = p;

		if (n >= kd->n_glocks)
			continue;
		if (!lockspace || !strcmp(kg->name.lockspace, lockspace))
			v[n++] = kg->name;
	}
	qb_map_iter_free(it);
	*ret_n = n;
	return v;
}

static struct kls *kls_find(struct glockd_kdev *kd, const char *name)
{
	struct kls *ls;

	qb_list_for_each_entry(ls, &kd->lockspaces, list)
		if (!strcmp(ls->name, name))
			return ls;
	return NULL;
}

static void kls_free(struct kls *ls)
{
	qb_list_del(&ls->list);
	free(ls);
}

static void kpl_key(uint64_t req_id, char *key)
{
	snprintf(key, sizeof(((struct kpl *)0)->key), "%" PRIx64, req_id);
}

static struct kpl *kpl_find(struct glockd_kdev *kd, uint64_t req_id)
{
	char key[sizeof(((struct kpl *)0)->key)];

	kpl_key(req_id, key);
	return qb_map_get(kd->plocks, key);
}

static void kpl_free(struct glockd_kdev *kd, struct kpl *kp)
{
	qb_map_rm(kd->plocks, kp->key);
	kd->n_plocks--;
	free(kp);
}

static struct kpl *kpl_list(struct glockd_kdev *kd, const char *lockspace, size_t *ret_n);

/* Forgets every outstanding PLOCK (glockd stops: the kernel answers them). */
static void kpl_free_all(struct glockd_kdev *kd)
{
	struct kpl *v;
	size_t n, i;

	v = kpl_list(kd, NULL, &n);
	for (i = 0; i < n; i++) {
		struct kpl *kp = kpl_find(kd, v[i].req_id);

		if (kp)
			kpl_free(kd, kp);
	}
	free(v);
}

/* Every outstanding PLOCK, of one lockspace or all (copies). */
static struct kpl *kpl_list(struct glockd_kdev *kd, const char *lockspace, size_t *ret_n)
{
	struct kpl *v;
	qb_map_iter_t *it;
	size_t n = 0;
	void *p;

	*ret_n = 0;
	if (!kd->n_plocks)
		return NULL;
	v = calloc(kd->n_plocks, sizeof(*v));
	it = v ? qb_map_iter_create(kd->plocks) : NULL;
	if (!it) {
		free(v);
		log_err("kernel client: out of memory listing its POSIX lock requests");
		return NULL;
	}
	/* To the end, even when full: see kgl_names(). */
	while (qb_map_iter_next(it, &p)) {
		struct kpl *kp = p;

		if (n >= kd->n_plocks)
			continue;
		if (!lockspace || !strcmp(kp->name.lockspace, lockspace))
			v[n++] = *kp;
	}
	qb_map_iter_free(it);
	*ret_n = n;
	return v;
}

/* ---- answers ---- */

static int errno_of_reason(enum glock_deny_reason reason)
{
	switch (reason) {
	case GLOCK_DENY_TRYFAIL: return -EAGAIN;
	case GLOCK_DENY_CANCELLED: return -ECANCELED;
	case GLOCK_DENY_DEADLOCK: return -EDEADLK;
	case GLOCK_DENY_LOST: return -ENOLCK;
	}
	return -EIO;
}

static void poll_set(struct glockd_kdev *kd, int32_t events)
{
	if (kd->fd < 0 || kd->closing || events == kd->events)
		return;
	if (qb_loop_poll_mod(kd->gd->loop, QB_LOOP_HIGH, kd->fd, events, kd, dev_dispatch) == 0)
		kd->events = events;
}

static void retry_fired(void *data);

/* Writes what the device takes now. */
static void flush(struct glockd_kdev *kd)
{
	int32_t events = POLLIN;
	struct qrec *q;
	ssize_t r;

	while (kd->fd >= 0 && !kd->closing && !qb_list_empty(&kd->queue)) {
		q = qb_list_first_entry(&kd->queue, struct qrec, list);
		r = write(kd->fd, &q->rec, sizeof(q->rec));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			events |= POLLOUT;
			if (!kd->retry_armed &&
			    qb_loop_timer_add(kd->gd->loop, QB_LOOP_HIGH, KDEV_RETRY_NS, kd,
					      retry_fired, &kd->retry_timer) == 0)
				kd->retry_armed = true;
			break;
		}
		if (r != (ssize_t)sizeof(q->rec)) {
			/*
			 * EINVAL: the module no longer knows the req_id or the
			 * lockspace (a mount went away meanwhile): nothing waits
			 * for this answer any more.
			 */
			kd->refused_answers++;
			log_rl(&kd->rl_write, errno == EINVAL ? LOG_DEBUG : LOG_WARNING,
			       "kernel client: %s refused answer op %u req %" PRIu64
			       " %s/%u/%" PRIu64 " status %d: %s",
			       kd->gd->cfg->dev_path, q->rec.op, (uint64_t)q->rec.req_id,
			       q->rec.lockspace, q->rec.type, (uint64_t)q->rec.number,
			       q->rec.status, r < 0 ? strerror(errno) : "short write");
		} else {
			kd->answers++;
		}
		qb_list_del(&q->list);
		free(q);
		kd->queue_len--;
	}
	if (kd->queue_len >= KDEV_QUEUE_HIGH ||
	    ((kd->events & POLLIN) == 0 && kd->queue_len > KDEV_QUEUE_LOW))
		events &= ~POLLIN;
	poll_set(kd, events);
}

static void retry_fired(void *data)
{
	struct glockd_kdev *kd = data;

	kd->retry_armed = false;
	flush(kd);
}

static void queue_reply(struct glockd_kdev *kd, const struct glock_dev_reply *rec)
{
	struct qrec *q;

	if (kd->fd < 0 || kd->closing)
		return;
	if (kd->queue_len >= KDEV_QUEUE_MAX) {
		kdev_close(kd, "answer queue full (the module does not take answers)");
		return;
	}
	q = malloc(sizeof(*q));
	if (!q) {
		kdev_close(kd, "out of memory for an answer");
		return;
	}
	q->rec = *rec;
	q->rec.version[0] = GLOCK_DEV_VERSION_MAJOR;
	q->rec.version[1] = GLOCK_DEV_VERSION_MINOR;
	q->rec.version[2] = GLOCK_DEV_VERSION_PATCH;
	qb_list_add_tail(&q->list, &kd->queue);
	kd->queue_len++;
	if (kd->queue_len == 1)
		flush(kd);
}

static void reply_init(struct glock_dev_reply *rec, uint32_t op, uint64_t req_id,
		       const struct glock_name *name)
{
	memset(rec, 0, sizeof(*rec));
	rec->op = op;
	rec->req_id = req_id;
	if (name) {
		memcpy(rec->lockspace, name->lockspace, GLOCK_DEV_LOCKSPACE_LEN);
		rec->type = name->type;
		rec->number = name->number;
	}
}

static void send_grant(struct glockd_kdev *kd, uint64_t req_id, const struct glock_name *name,
		       enum glock_mode mode, const uint8_t *lvb)
{
	struct glock_dev_reply rec;

	reply_init(&rec, GLOCK_DEV_OP_GRANT, req_id, name);
	rec.mode = mode;
	if (lvb)
		memcpy(rec.lvb, lvb, GLOCK_DEV_LVB_LEN);
	queue_reply(kd, &rec);
}

static void send_deny(struct glockd_kdev *kd, uint64_t req_id, const struct glock_name *name,
		      int status)
{
	struct glock_dev_reply rec;

	reply_init(&rec, GLOCK_DEV_OP_DENY, req_id, name);
	rec.status = status < 0 ? status : (status ? -status : -EIO);
	queue_reply(kd, &rec);
}

static void send_plock_reply(struct glockd_kdev *kd, uint64_t req_id, const struct glock_name *name,
			     int status, const struct glock_plock_lock *conflict)
{
	struct glock_dev_reply rec;

	reply_init(&rec, GLOCK_DEV_OP_PLOCK_REPLY, req_id, name);
	rec.type = GLOCK_DEV_TYPE_PLOCK;
	rec.status = status <= 0 ? status : -status;
	if (conflict && !status) {
		rec.mode = 1;
		rec.conflict.start = conflict->start;
		rec.conflict.end = conflict->end;
		rec.conflict.pid = conflict->owner.pid;
		rec.conflict.nodeid = conflict->owner.node;
		rec.conflict.flags = (conflict->type == GLOCK_PLOCK_WR ? GLOCK_DEV_PLOCK_F_WR : 0) |
				     (conflict->owner.ofd ? GLOCK_DEV_PLOCK_F_OFD : 0);
	}
	queue_reply(kd, &rec);
}

static void send_lost(struct glockd_kdev *kd, const char *lockspace)
{
	struct glock_dev_reply rec;
	struct kls *ls = kls_find(kd, lockspace);

	if (ls && ls->lost)
		return;
	log_warn("lockspace %s: the node lost its locks: telling the kernel (the mount withdraws)",
		 lockspace);
	reply_init(&rec, GLOCK_DEV_OP_LOST, 0, NULL);
	snprintf(rec.lockspace, sizeof(rec.lockspace), "%s", lockspace);
	queue_reply(kd, &rec);
	if (ls) {
		/* The withdrawn mount sends nothing more: its holders go here. */
		ls->lost = true;
		ls->purge = true;
		job_arm(kd);
	}
}

/* ---- agent events for the kernel's holders ---- */

/* The most the kernel may keep when asked to go down to target from held. */
static enum glock_mode demote_target(enum glock_mode held, enum glock_mode target)
{
	/* SH <-> DF is no demotion for the kernel's cache: it gives the glock up. */
	if (held == GLOCK_MODE_EX || target == held)
		return target;
	return GLOCK_MODE_UN;
}

static void ev_complete(struct glockd_kdev *kd, struct kgl *kg, const struct glock__agent_event *ev)
{
	uint64_t req_id = kg->req_id;
	int status;

	if (!req_id || (ev->client_ref && ev->client_ref != req_id))
		log_glock(LOG_WARNING, ev->name,
			  "kernel client: answer for req %" PRIu64 ", expected %" PRIu64,
			  ev->client_ref, req_id);
	if (!req_id)
		req_id = ev->client_ref;
	kg->req_id = 0;
	kg->demote_cancel = false;
	if (!ev->err && !ev->reason) {
		kg->mode = ev->mode;
		kg->cancel_status = 0;
		send_grant(kd, req_id, &kg->name, ev->mode, ev->lvb);
		return;
	}
	status = ev->err ? ev->err : errno_of_reason(ev->reason);
	if (ev->reason == GLOCK_DENY_CANCELLED && kg->cancel_status)
		status = kg->cancel_status;
	kg->cancel_status = 0;
	log_glock(LOG_DEBUG, &kg->name, "kernel client: req %" PRIu64 " denied: %d", req_id,
		  status);
	send_deny(kd, req_id, &kg->name, status);
	if (kg->mode == GLOCK_MODE_UN)
		kgl_free(kd, kg); /* a new lock: the agent dropped its holder */
	else
		kg->mode = ev->mode; /* a conversion: the old mode stays */
}

static void ev_demote(struct glockd_kdev *kd, struct kgl *kg, const struct glock__agent_event *ev)
{
	struct kls *ls = kls_find(kd, kg->name.lockspace);
	struct glock_dev_reply rec;

	reply_init(&rec, GLOCK_DEV_OP_DEMOTE, 0, &kg->name);
	rec.mode = demote_target(kg->mode, ev->mode);
	queue_reply(kd, &rec);
	if (ls)
		ls->demotes++;
	if (kg->req_id && kg->mode != GLOCK_MODE_UN) {
		/* A conversion waits: see the problem scenario at the top. */
		kg->demote_cancel = true;
		job_arm(kd);
	}
}

/* An agent event for one of the kernel's holders. */
static void kdev_event(struct glockd_agent_owner *owner, const struct glock__agent_event *ev)
{
	struct glockd_kdev *kd = glockd_container_of(owner, struct glockd_kdev, owner);
	struct kgl *kg;

	if (kd->stopping)
		return;
	kg = kgl_find(kd, ev->name);
	if (!kg || (kg->has_handle && kg->handle != ev->handle)) {
		log_glock(LOG_WARNING, ev->name,
			  "kernel client: event %d for handle %" PRIu64 " it does not have",
			  ev->kind, ev->handle);
		return;
	}
	if (!kg->has_handle) {
		/* Inside our own call into the agent: it tells us the handle first. */
		kg->handle = ev->handle;
		kg->has_handle = true;
	}
	switch (ev->kind) {
	case GLOCK__AGENT_EV_COMPLETE:
		ev_complete(kd, kg, ev);
		break;
	case GLOCK__AGENT_EV_DEMOTE:
		ev_demote(kd, kg, ev);
		break;
	case GLOCK__AGENT_EV_LOST: {
		char ls[GLOCK_LOCKSPACE_MAX];

		memcpy(ls, kg->name.lockspace, sizeof(ls));
		/* The agent dropped the holder; a waiting conversion went with it. */
		if (kg->req_id)
			send_deny(kd, kg->req_id, &kg->name, -ENOLCK);
		kgl_free(kd, kg);
		send_lost(kd, ls);
		break;
	}
	}
}

/* ---- requests ---- */

static void req_name(const struct glock_dev_request *req, struct glock_name *name)
{
	memset(name, 0, sizeof(*name));
	memcpy(name->lockspace, req->lockspace, GLOCK_LOCKSPACE_MAX);
	name->type = req->type;
	name->number = req->number;
}

/* Withdraws kg's waiting request (its answer: status) and drops its grant. */
static int kgl_release(struct glockd_kdev *kd, const struct glock_name *name, int status,
		       const uint8_t *lvb)
{
	struct kgl *kg = kgl_find(kd, name);
	int err;

	if (kg && kg->req_id && kg->has_handle) {
		kg->cancel_status = status;
		err = glock__agent_cancel(kd->core, kd->acl, name, kg->handle);
		if (err && err != -EALREADY)
			log_glock(LOG_WARNING, name, "kernel client: cancel: %s", strerror(-err));
		kg = kgl_find(kd, name); /* the DENY event may have dropped it */
	}
	if (!kg)
		return 0;
	if (!kg->has_handle || kg->mode == GLOCK_MODE_UN) {
		kgl_free(kd, kg);
		return 0;
	}
	err = glock__agent_unlock(kd->core, kd->acl, name, kg->handle,
				  kg->mode == GLOCK_MODE_EX ? lvb : NULL);
	kg = kgl_find(kd, name);
	if (err == -EBUSY)
		return err; /* still waiting: kept, answered when the agent is done */
	if (kg)
		kgl_free(kd, kg);
	return err == -ENOENT ? 0 : err;
}

/* The agent's immediate answer to a lock or convert for kg. */
static void answer(struct glockd_kdev *kd, const struct glock_dev_request *req,
		   const struct glock_name *name, int err, const struct glock__agent_reply *rep)
{
	struct kgl *kg = kgl_find(kd, name);

	if (!kg)
		return; /* cannot happen: the agent answers our own holder by reply */
	if (!err && !kg->has_handle) {
		kg->handle = rep->handle;
		kg->has_handle = true;
	}
	if (err || rep->reason) {
		send_deny(kd, req->req_id, name, err ? err : errno_of_reason(rep->reason));
		if (kg->mode == GLOCK_MODE_UN)
			kgl_free(kd, kg);
		return;
	}
	if (rep->pending) {
		kg->req_id = req->req_id;
		return;
	}
	kg->mode = rep->mode;
	send_grant(kd, req->req_id, name, rep->mode, rep->lvb);
}

static void do_convert(struct glockd_kdev *kd, const struct glock_dev_request *req,
		       const struct glock_name *name, struct kgl *kg)
{
	struct glock__agent_reply rep;
	const uint8_t *lvb = NULL;
	int err;

	if (kg->req_id) {
		send_deny(kd, req->req_id, name, -EBUSY); /* one outstanding per glock */
		return;
	}
	if (kg->mode == (enum glock_mode)req->mode) {
		send_grant(kd, req->req_id, name, kg->mode, NULL);
		return;
	}
	if (req->lvb_valid && kg->mode == GLOCK_MODE_EX)
		lvb = req->lvb;
	err = glock__agent_convert(kd->core, kd->acl, name, kg->handle, req->mode, req->flags, 0,
				   req->req_id, lvb, &rep);
	answer(kd, req, name, err, &rep);
}

static void do_lock(struct glockd_kdev *kd, const struct glock_dev_request *req,
		    const struct glock_name *name)
{
	struct glock__agent_reply rep;
	struct kgl *kg = kgl_find(kd, name);
	struct kls *ls = kls_find(kd, name->lockspace);
	int err;

	if (!ls || ls->lost) {
		send_deny(kd, req->req_id, name, ls ? -ENOLCK : -ENOTCONN);
		return;
	}
	if (kg && kg->has_handle && kg->mode != GLOCK_MODE_UN) {
		if (req->op == GLOCK_DEV_OP_LOCK)
			log_glock(LOG_WARNING, name,
				  "kernel client: LOCK of a glock it holds in %d: converting", kg->mode);
		do_convert(kd, req, name, kg);
		return;
	}
	if (kg) {
		send_deny(kd, req->req_id, name, -EBUSY);
		return;
	}
	kg = kgl_new(kd, name);
	if (!kg) {
		send_deny(kd, req->req_id, name, -ENOMEM);
		return;
	}
	err = glock__agent_lock(kd->core, kd->acl, name, req->mode, req->flags, 0, req->req_id,
				&rep);
	answer(kd, req, name, err, &rep);
}

static void do_release(struct glockd_kdev *kd, const struct glock_dev_request *req,
		       const struct glock_name *name, enum glock_mode keep)
{
	struct kgl *kg = kgl_find(kd, name);
	struct glock__agent_reply rep;
	const uint8_t *lvb = req->lvb_valid ? req->lvb : NULL;
	int err;

	if (!kg || !kg->has_handle || (kg->mode == GLOCK_MODE_UN && !kg->req_id)) {
		/* Nothing held (lost, or already released): done. */
		if (keep == GLOCK_MODE_UN)
			send_grant(kd, req->req_id, name, GLOCK_MODE_UN, NULL);
		else
			send_deny(kd, req->req_id, name, -ENOENT);
		return;
	}
	if (keep != GLOCK_MODE_UN && !kg->req_id && kg->mode != keep &&
	    kg->mode == GLOCK_MODE_EX) {
		/* DEMOTE_DONE to SH/DF from EX: convert down, never waits. */
		err = glock__agent_convert(kd->core, kd->acl, name, kg->handle, keep, 0, 0,
					   req->req_id, lvb, &rep);
		if (!err && !rep.pending && !rep.reason) {
			kg = kgl_find(kd, name);
			if (kg)
				kg->mode = rep.mode;
			send_grant(kd, req->req_id, name, rep.mode, NULL);
			return;
		}
		log_glock(LOG_WARNING, name, "kernel client: convert down to %d: %s%s", keep,
			  err ? strerror(-err) : "not granted at once", ": releasing instead");
		keep = GLOCK_MODE_UN; /* the kernel answers with what it kept; be safe */
	} else if (keep != GLOCK_MODE_UN && kg->mode == keep && !kg->req_id) {
		send_grant(kd, req->req_id, name, keep, NULL);
		return;
	} else if (keep != GLOCK_MODE_UN) {
		log_glock(LOG_WARNING, name,
			  "kernel client: DEMOTE_DONE keeps %d while it holds %d%s: releasing", keep,
			  kg->mode, kg->req_id ? " with a request waiting" : "");
		err = kgl_release(kd, name, -ECANCELED, lvb);
		send_deny(kd, req->req_id, name, err ? err : -EINVAL);
		return;
	}
	err = kgl_release(kd, name, -ECANCELED, lvb);
	if (err)
		send_deny(kd, req->req_id, name, err);
	else
		send_grant(kd, req->req_id, name, GLOCK_MODE_UN, NULL);
}

static void do_cancel(struct glockd_kdev *kd, const struct glock_dev_request *req,
		      const struct glock_name *name)
{
	struct kgl *kg = kgl_find(kd, name);
	struct glock_name nm;
	qb_map_iter_t *it;
	void *p;
	int err;

	if (!kg || kg->req_id != req->req_id) {
		/* The ABI names the request by req_id: the glock may be left out. */
		kg = NULL;
		it = qb_map_iter_create(kd->glocks);
		while (it && qb_map_iter_next(it, &p))
			if (((struct kgl *)p)->req_id == req->req_id)
				kg = p;
		if (it)
			qb_map_iter_free(it);
	}
	/* A request already answered (or unknown) has nothing to cancel. */
	if (!kg || !kg->has_handle)
		return;
	nm = kg->name; /* the DENY event may free kg */
	err = glock__agent_cancel(kd->core, kd->acl, &nm, kg->handle);
	if (err && err != -EALREADY)
		log_glock(LOG_WARNING, &nm, "kernel client: cancel req %" PRIu64 ": %s",
			  (uint64_t)req->req_id, strerror(-err));
}

/* ---- POSIX locks ---- */

static void plock_op_init(struct glock_plock_op *op, enum glock_plock_op_kind kind, uint64_t req_id,
			  const struct glock_name *name)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->req_id = req_id;
	op->name = *name;
}

static int plock_submit(struct glockd_kdev *kd, const struct glock_plock_op *op)
{
	return kd->ops->plock ? kd->ops->plock(kd->gd, op) : -ENOLCK;
}

static void do_plock(struct glockd_kdev *kd, const struct glock_dev_request *req,
		     const struct glock_name *name)
{
	const struct glock_dev_plock *pl = &req->plock;
	struct kls *ls = kls_find(kd, name->lockspace);
	struct glock_plock_op op;
	struct kpl *kp;
	int err;

	if (kpl_find(kd, req->req_id)) {
		/* Answering it would answer the first one: dropped. */
		kd->bad_requests++;
		log_rl(&kd->rl_bad, LOG_WARNING,
		       "kernel client: malformed request (plock req_id %" PRIu64
		       " already outstanding): dropped",
		       (uint64_t)req->req_id);
		return;
	}
	if (!ls || ls->lost) {
		if (!ls) {
			kd->bad_requests++;
			log_rl(&kd->rl_bad, LOG_WARNING,
			       "kernel client: malformed request (plock on lockspace %s, not mounted)",
			       name->lockspace);
		}
		send_plock_reply(kd, req->req_id, name, ls ? -ENOLCK : -EINVAL, NULL);
		return;
	}
	plock_op_init(&op, (enum glock_plock_op_kind)req->mode, req->req_id, name);
	op.lock.owner.node = kd->gd->local_node;
	op.lock.owner.id = pl->owner;
	op.lock.owner.pid = pl->pid;
	op.lock.owner.ofd = pl->flags & GLOCK_DEV_PLOCK_F_OFD;
	op.lock.type = pl->flags & GLOCK_DEV_PLOCK_F_WR ? GLOCK_PLOCK_WR : GLOCK_PLOCK_RD;
	op.lock.start = pl->start;
	op.lock.end = pl->end;
	op.wait = pl->flags & GLOCK_DEV_PLOCK_F_WAIT;

	kp = calloc(1, sizeof(*kp));
	if (!kp) {
		send_plock_reply(kd, req->req_id, name, -ENOMEM, NULL);
		return;
	}
	kp->req_id = req->req_id;
	kp->name = *name;
	kp->kind = op.kind;
	kpl_key(kp->req_id, kp->key);
	qb_map_put(kd->plocks, kp->key, kp);
	kd->n_plocks++;
	log_glock(LOG_DEBUG, name,
		  "kernel: plock %d req %" PRIu64 " owner %" PRIx64 " pid %u %s %" PRIu64
		  "-%" PRIu64 "%s%s",
		  op.kind, op.req_id, op.lock.owner.id, op.lock.owner.pid,
		  op.lock.type == GLOCK_PLOCK_WR ? "WR" : "RD", op.lock.start, op.lock.end,
		  op.wait ? " wait" : "", op.lock.owner.ofd ? " ofd" : "");
	err = plock_submit(kd, &op);
	if (err == -ENOLCK && !kd->told_no_plocks) {
		kd->told_no_plocks = true;
		log_glock(LOG_WARNING, name,
			  "kernel client: fcntl() locks on glockfs need lock_path = p2p "
			  "(glockd.conf(5)); they get ENOLCK");
	}
	if (err) {
		log_glock(err == -ENOLCK ? LOG_DEBUG : LOG_WARNING, name,
			  "kernel client: plock req %" PRIu64 ": %s", op.req_id, strerror(-err));
		kp = kpl_find(kd, req->req_id);
		if (kp)
			kpl_free(kd, kp);
		send_plock_reply(kd, req->req_id, name, err, NULL);
	}
}

/* CANCEL of a waiting PLOCK LOCK: the lock path answers that LOCK. */
static void do_plock_cancel(struct glockd_kdev *kd, const struct glock_dev_request *req)
{
	struct kpl *kp = kpl_find(kd, req->req_id);
	struct glock_plock_op op;
	int err;

	if (!kp || kp->kind != GLOCK_PLOCK_OP_LOCK) {
		log_debug("kernel client: cancel of plock req %" PRIu64 ": %s", (uint64_t)req->req_id,
			  kp ? "not a LOCK" : "already answered");
		return;
	}
	plock_op_init(&op, GLOCK_PLOCK_OP_CANCEL, kp->req_id, &kp->name);
	op.lock.owner.node = kd->gd->local_node;
	err = plock_submit(kd, &op);
	if (err)
		log_glock(LOG_WARNING, &kp->name, "kernel client: cancel plock req %" PRIu64 ": %s",
			  op.req_id, strerror(-err));
}

/*
 * The lockspace's mount withdrew or went: its outstanding PLOCKs are
 * answered status here, and a waiting LOCK is withdrawn from the lock path
 * (whose answer then finds nobody).
 */
static void plock_purge(struct glockd_kdev *kd, const char *lockspace, int status)
{
	struct glock_plock_op op;
	struct kpl *v;
	size_t n, i;

	v = kpl_list(kd, lockspace, &n);
	for (i = 0; i < n; i++) {
		struct kpl *kp = kpl_find(kd, v[i].req_id);

		if (!kp)
			continue;
		kpl_free(kd, kp);
		if (v[i].kind == GLOCK_PLOCK_OP_LOCK) {
			plock_op_init(&op, GLOCK_PLOCK_OP_CANCEL, v[i].req_id, &v[i].name);
			op.lock.owner.node = kd->gd->local_node;
			(void)plock_submit(kd, &op);
		}
		send_plock_reply(kd, v[i].req_id, &v[i].name, status, NULL);
	}
	free(v);
	if (n)
		log_info("lockspace %s: answered %zu waiting POSIX lock request(s): %s", lockspace, n,
			 strerror(-status));
}

void glockd_kdev_plock_answer(struct glockd *gd, const struct glock_plock_answer *ans)
{
	struct glockd_kdev *kd = gd->kdev;
	struct glock_name name;
	struct kpl *kp;
	bool get;

	if (!kd || kd->stopping)
		return;
	if (!ans->req_id) {
		/* The node lost its POSIX locks on a file (a RESET): as LOST for a glock. */
		log_glock(LOG_WARNING, &ans->name, "kernel client: the node lost its POSIX locks: %s",
			  strerror(ans->status < 0 ? -ans->status : ENOLCK));
		if (kls_find(kd, ans->name.lockspace))
			send_lost(kd, ans->name.lockspace);
		return;
	}
	kp = kpl_find(kd, ans->req_id);
	if (!kp) {
		log_info("kernel client: answer %d to plock req %" PRIu64
			 " that nobody waits for: dropped",
			 ans->status, ans->req_id);
		return;
	}
	name = kp->name;
	get = kp->kind == GLOCK_PLOCK_OP_GET;
	kpl_free(kd, kp);
	log_glock(LOG_DEBUG, &name, "kernel client: plock req %" PRIu64 " answered %d%s",
		  ans->req_id, ans->status, get && ans->conflict_found ? " (conflict)" : "");
	send_plock_reply(kd, ans->req_id, &name, ans->status,
			 get && ans->conflict_found ? &ans->conflict : NULL);
}

/* Every kernel holder of the lockspace goes (waiters are answered status). */
static void purge_lockspace(struct glockd_kdev *kd, const char *lockspace, int status)
{
	struct glock_name *names;
	size_t n, i;

	names = kgl_names(kd, lockspace, &n);
	for (i = 0; i < n; i++)
		(void)kgl_release(kd, &names[i], status, NULL);
	free(names);
	if (n)
		log_info("lockspace %s: dropped %zu kernel glock(s)", lockspace, n);
}

static void do_mount(struct glockd_kdev *kd, const struct glock_dev_request *req)
{
	struct glockd_cluster_status st;
	struct glock_dev_reply rec;
	struct kls *ls;

	reply_init(&rec, GLOCK_DEV_OP_MOUNT_REPLY, req->req_id, NULL);
	memcpy(rec.lockspace, req->lockspace, sizeof(rec.lockspace));
	kd->ops->cluster_status(kd->gd, &st);
	if (!st.connected) {
		log_warn("lockspace %s: kernel mount refused: not connected to corosync (ENOTCONN)",
			 req->lockspace);
		rec.status = -ENOTCONN;
	} else if (!st.quorate || !st.synced) {
		log_warn("lockspace %s: kernel mount refused for now: the cluster is %s (EAGAIN: "
			 "retry once `glockctl status` shows quorate and synced)",
			 req->lockspace, !st.quorate ? "not quorate" : "not synced yet");
		rec.status = -EAGAIN;
	} else {
		ls = kls_find(kd, req->lockspace);
		if (ls) {
			/* An earlier mount withdrew without UNMOUNT: its holders go. */
			purge_lockspace(kd, ls->name, -ENOLCK);
			plock_purge(kd, ls->name, -ENOLCK);
			ls->lost = ls->purge = false;
		} else {
			ls = calloc(1, sizeof(*ls));
			if (ls) {
				memcpy(ls->name, req->lockspace, sizeof(ls->name));
				qb_list_add_tail(&ls->list, &kd->lockspaces);
			}
		}
		if (!ls) {
			log_err("lockspace %s: kernel mount refused: out of memory", req->lockspace);
			rec.status = -ENOMEM;
		} else {
			log_info("lockspace %s: kernel mount (node %u, %zu members)", req->lockspace,
				 st.local_node, st.n_members);
		}
	}
	queue_reply(kd, &rec);
}

static void do_unmount(struct glockd_kdev *kd, const struct glock_dev_request *req)
{
	struct kls *ls = kls_find(kd, req->lockspace);

	purge_lockspace(kd, req->lockspace, -ECANCELED);
	plock_purge(kd, req->lockspace, -ECANCELED);
	if (ls)
		kls_free(ls);
	log_info("lockspace %s: kernel unmount", req->lockspace);
}

static bool op_wants_reply(uint32_t op)
{
	return op != GLOCK_DEV_OP_CANCEL && op != GLOCK_DEV_OP_UNMOUNT;
}

/* NULL if a PLOCK is well formed (but for its lockspace and req_id: do_plock()). */
static const char *plock_check(const struct glock_dev_request *req)
{
	const struct glock_dev_plock *pl = &req->plock;
	struct glock_name name;

	if (req->mode < GLOCK_DEV_PLOCK_LOCK || req->mode > GLOCK_DEV_PLOCK_GET)
		return "unknown plock op";
	if (req->type != GLOCK_DEV_TYPE_PLOCK)
		return "plock of a type other than PLOCK";
	if (pl->flags & ~GLOCK_DEV_PLOCK_F_ALL)
		return "unknown plock flags";
	if ((pl->flags & GLOCK_DEV_PLOCK_F_WAIT) && req->mode != GLOCK_DEV_PLOCK_LOCK)
		return "plock WAIT on other than LOCK";
	if (pl->start > pl->end)
		return "plock range ends before it starts";
	if (req->flags || req->lvb_valid)
		return "glock flags or lvb_valid on a plock";
	req_name(req, &name);
	if (!glock_name_valid(&name))
		return "bad glock name";
	return NULL;
}

/* NULL if req is well formed, else what is wrong with it. */
static const char *req_check(const struct glock_dev_request *req)
{
	struct glock_name name;

	if (req->op < GLOCK_DEV_OP_LOCK || req->op > GLOCK_DEV_OP_PLOCK)
		return "unknown op";
	if (!memchr(req->lockspace, '\0', sizeof(req->lockspace)) || !req->lockspace[0])
		return "lockspace empty or not NUL-terminated";
	if (!req->req_id && req->op != GLOCK_DEV_OP_UNMOUNT)
		return "req_id 0";
	if (req->flags & ~GLOCK_DEV_FLAGS_ALL)
		return "unknown flags";
	if (req->lvb_valid > 1)
		return "lvb_valid not 0 or 1";
	switch (req->op) {
	case GLOCK_DEV_OP_LOCK:
	case GLOCK_DEV_OP_CONVERT:
		if (req->mode < GLOCK_DEV_MODE_SH || req->mode > GLOCK_DEV_MODE_EX)
			return "bad mode";
		break;
	case GLOCK_DEV_OP_DEMOTE_DONE:
		if (req->mode > GLOCK_DEV_MODE_EX || req->mode == GLOCK_DEV_MODE_EX)
			return "bad mode";
		break;
	case GLOCK_DEV_OP_RELEASE:
		if (req->mode != GLOCK_DEV_MODE_UN)
			return "bad mode";
		break;
	case GLOCK_DEV_OP_PLOCK:
		return plock_check(req);
	default:
		return NULL; /* MOUNT, UNMOUNT, CANCEL: the lockspace is the name */
	}
	req_name(req, &name);
	if (!glock_name_valid(&name))
		return "bad glock name";
	return NULL;
}

static void handle(struct glockd_kdev *kd, const struct glock_dev_request *req)
{
	struct glock_name name;
	const char *bad;

	kd->requests++;
	if (req->version[0] != GLOCK_DEV_VERSION_MAJOR) {
		kd->bad_requests++;
		if (memcmp(kd->warned_version, req->version, sizeof(kd->warned_version))) {
			memcpy(kd->warned_version, req->version, sizeof(kd->warned_version));
			log_err("kernel client: glockfs speaks /dev/glock ABI %u.%u.%u, glockd %u.%u.%u: "
				"its requests are dropped (load a matching module)",
				req->version[0], req->version[1], req->version[2],
				GLOCK_DEV_VERSION_MAJOR, GLOCK_DEV_VERSION_MINOR,
				GLOCK_DEV_VERSION_PATCH);
		}
		return;
	}
	bad = req_check(req);
	if (bad) {
		struct glock_dev_reply rec;

		kd->bad_requests++;
		log_rl(&kd->rl_bad, LOG_WARNING,
		       "kernel client: malformed request (%s): op %u req %" PRIu64 " mode %u flags %#x",
		       bad, req->op, (uint64_t)req->req_id, req->mode, req->flags);
		/* Answer it if it could be waited for, so nobody hangs on it. */
		if (req->req_id && op_wants_reply(req->op)) {
			reply_init(&rec, req->op == GLOCK_DEV_OP_MOUNT   ? GLOCK_DEV_OP_MOUNT_REPLY
					 : req->op == GLOCK_DEV_OP_PLOCK ? GLOCK_DEV_OP_PLOCK_REPLY
									 : GLOCK_DEV_OP_DENY,
				   req->req_id, NULL);
			if (memchr(req->lockspace, '\0', sizeof(req->lockspace)))
				memcpy(rec.lockspace, req->lockspace, sizeof(rec.lockspace));
			rec.type = req->op == GLOCK_DEV_OP_PLOCK ? GLOCK_DEV_TYPE_PLOCK : req->type;
			rec.number = req->number;
			rec.status = -EINVAL;
			if (req->op != GLOCK_DEV_OP_PLOCK || !kpl_find(kd, req->req_id))
				queue_reply(kd, &rec);
		}
		return;
	}
	req_name(req, &name);
	log_glock(LOG_DEBUG, &name, "kernel: op %u req %" PRIu64 " mode %u flags %#x", req->op,
		  (uint64_t)req->req_id, req->mode, req->flags);
	switch (req->op) {
	case GLOCK_DEV_OP_LOCK:
	case GLOCK_DEV_OP_CONVERT:
		do_lock(kd, req, &name);
		break;
	case GLOCK_DEV_OP_RELEASE: {
		struct kls *ls = kls_find(kd, name.lockspace);

		if (ls)
			ls->releases++;
		do_release(kd, req, &name, GLOCK_MODE_UN);
		break;
	}
	case GLOCK_DEV_OP_DEMOTE_DONE:
		do_release(kd, req, &name, req->mode);
		break;
	case GLOCK_DEV_OP_CANCEL:
		if (req->type == GLOCK_DEV_TYPE_PLOCK)
			do_plock_cancel(kd, req);
		else
			do_cancel(kd, req, &name);
		break;
	case GLOCK_DEV_OP_PLOCK:
		do_plock(kd, req, &name);
		break;
	case GLOCK_DEV_OP_MOUNT:
		do_mount(kd, req);
		break;
	case GLOCK_DEV_OP_UNMOUNT:
		do_unmount(kd, req);
		break;
	}
}

/* ---- deferred work: never done inside an agent callback ---- */

static void job_run(void *data)
{
	struct glockd_kdev *kd = data;
	struct glock_name *names;
	struct kls *ls;
	size_t n, i;

	kd->job_queued = false;
	if (kd->fd < 0 || kd->closing || kd->stopping)
		return;
	/* Conversions that block a demote: withdraw them, DENY -EDEADLK. */
	names = kgl_names(kd, NULL, &n);
	for (i = 0; i < n; i++) {
		struct kgl *kg = kgl_find(kd, &names[i]);
		int err;

		if (!kg || !kg->demote_cancel)
			continue;
		kg->demote_cancel = false;
		if (!kg->req_id || !kg->has_handle)
			continue;
		kg->cancel_status = -EDEADLK;
		log_glock(LOG_DEBUG, &names[i],
			  "kernel client: demote while converting: withdrawing req %" PRIu64,
			  kg->req_id);
		err = glock__agent_cancel(kd->core, kd->acl, &names[i], kg->handle);
		if (err && err != -EALREADY)
			log_glock(LOG_WARNING, &names[i], "kernel client: cancel: %s",
				  strerror(-err));
	}
	free(names);
	/* Lockspaces whose mount withdrew. */
	qb_list_for_each_entry(ls, &kd->lockspaces, list) {
		if (!ls->purge)
			continue;
		ls->purge = false;
		purge_lockspace(kd, ls->name, -ENOLCK);
		plock_purge(kd, ls->name, -ENOLCK);
	}
}

static void job_arm(struct glockd_kdev *kd)
{
	if (kd->job_queued || kd->fd < 0 || kd->closing)
		return;
	/*
	 * A zero timer, not a loop job: libqb 2.0.6 does not see a job added
	 * in its last pass before it sleeps, and the work would wait for an
	 * unrelated wakeup (see sendq_kick() in cluster.c).
	 */
	if (qb_loop_timer_add(kd->gd->loop, QB_LOOP_HIGH, 0, kd, job_run, &kd->job_timer) == 0)
		kd->job_queued = true;
	else
		log_err("kernel client: cannot queue deferred work");
}

/* ---- the device ---- */

static int32_t dev_dispatch(int32_t fd, int32_t revents, void *data)
{
	struct glockd_kdev *kd = data;
	struct glock_dev_request req;
	ssize_t r;
	int i;

	if (kd->closing)
		return 0;
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		kdev_close(kd, "poll error");
		return 0;
	}
	if (revents & POLLOUT)
		flush(kd);
	for (i = 0; (revents & POLLIN) && i < KDEV_READ_BURST && !kd->closing; i++) {
		if (kd->queue_len >= KDEV_QUEUE_HIGH)
			break;
		r = read(fd, &req, sizeof(req));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0) {
			log_rl(&kd->rl_bad, LOG_ERR, "kernel client: read %s: %s",
			       kd->gd->cfg->dev_path, strerror(errno));
			if (errno == ENODEV || errno == EBADF || errno == EIO)
				kdev_close(kd, "read error");
			break;
		}
		if (r != (ssize_t)sizeof(req)) {
			kd->bad_requests++;
			log_rl(&kd->rl_bad, LOG_WARNING,
			       "kernel client: short read (%zd bytes, want %zu): dropped", r,
			       sizeof(req));
			continue;
		}
		handle(kd, &req);
	}
	flush(kd);
	return 0;
}

static void close_job(void *data)
{
	struct glockd_kdev *kd = data;

	kd->close_queued = false;
	if (kd->fd < 0)
		return;
	qb_loop_poll_del(kd->gd->loop, kd->fd);
	close(kd->fd);
	kd->fd = -1;
}

/* Stops serving the kernel: closing the device withdraws every mount. */
static void kdev_close(struct glockd_kdev *kd, const char *why)
{
	struct qrec *q, *qn;

	if (kd->fd < 0 || kd->closing)
		return;
	kd->closing = true;
	log_err("kernel client: closing %s (%s): every glockfs mount of this node withdraws",
		kd->gd->cfg->dev_path, why);
	qb_list_for_each_entry_safe(q, qn, &kd->queue, list) {
		qb_list_del(&q->list);
		free(q);
	}
	kd->queue_len = 0;
	if (kd->retry_armed) {
		qb_loop_timer_del(kd->gd->loop, kd->retry_timer);
		kd->retry_armed = false;
	}
	/* From a job: we may be inside the poll dispatch or an agent callback. */
	if (qb_loop_job_add(kd->gd->loop, QB_LOOP_HIGH, kd, close_job))
		close_job(kd);
	else
		kd->close_queued = true;
	/* The holders stay with the agent until stop: nobody releases them early. */
}

int glockd_kdev_start(struct glockd *gd, struct glock__agent *core,
		      const struct glockd_kdev_ops *ops)
{
	const char *path = gd->cfg->dev_path;
	struct glockd_kdev *kd;
	int fd, err;

	if (!path[0]) {
		log_info("dev_path is empty: kernel clients disabled");
		return 0;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			log_info("no %s: kernel clients disabled", path);
		else
			log_err("cannot open %s: %s: kernel clients disabled%s", path, strerror(err),
				err == EBUSY ? " (another lock agent has it open)" : "");
		return 0;
	}
	kd = calloc(1, sizeof(*kd));
	if (kd) {
		kd->glocks = qb_hashtable_create(KDEV_HASH_SIZE);
		kd->plocks = qb_hashtable_create(KDEV_HASH_SIZE);
	}
	if (!kd || !kd->glocks || !kd->plocks) {
		if (kd && kd->glocks)
			qb_map_destroy(kd->glocks);
		if (kd && kd->plocks)
			qb_map_destroy(kd->plocks);
		free(kd);
		close(fd);
		log_err("cannot serve %s: out of memory", path);
		return -ENOMEM;
	}
	kd->gd = gd;
	kd->ops = ops;
	kd->owner.event = kdev_event;
	kd->core = core;
	kd->fd = fd;
	kd->rl_bad.interval_ms = 10000;
	kd->rl_bad.burst = 5;
	kd->rl_write.interval_ms = 10000;
	kd->rl_write.burst = 5;
	qb_list_init(&kd->lockspaces);
	qb_list_init(&kd->queue);
	kd->acl = glock__agent_client_new(core, &kd->owner, 0);
	if (!kd->acl) {
		err = -ENOMEM;
		goto out_free;
	}
	err = qb_loop_poll_add(gd->loop, QB_LOOP_HIGH, fd, POLLIN, kd, dev_dispatch);
	if (err) {
		log_err("cannot watch %s: %s", path, strerror(-err));
		goto out_client;
	}
	kd->events = POLLIN;
	gd->kdev = kd;
	log_info("kernel clients served on %s (ABI %u.%u.%u)", path, GLOCK_DEV_VERSION_MAJOR,
		 GLOCK_DEV_VERSION_MINOR, GLOCK_DEV_VERSION_PATCH);
	return 0;

out_client:
	glock__agent_client_free(core, kd->acl);
out_free:
	close(fd);
	qb_map_destroy(kd->glocks);
	qb_map_destroy(kd->plocks);
	free(kd);
	return err == -ENOMEM ? err : 0;
}

int glockd_kdev_mounts(const struct glockd *gd, struct glockd_kdev_mount **ret_v, size_t *ret_n)
{
	const struct glockd_kdev *kd = gd->kdev;
	struct glockd_kdev_mount *v;
	qb_map_iter_t *it;
	struct kls *ls;
	size_t n = 0, i;
	void *p;

	*ret_v = NULL;
	*ret_n = 0;
	if (!kd)
		return 0;
	qb_list_for_each_entry(ls, &kd->lockspaces, list)
		n++;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	it = v ? qb_map_iter_create(kd->glocks) : NULL;
	if (!it) {
		free(v);
		return -ENOMEM;
	}
	i = 0;
	qb_list_for_each_entry(ls, &kd->lockspaces, list) {
		memcpy(v[i].lockspace, ls->name, sizeof(v[i].lockspace));
		v[i].releases = ls->releases;
		v[i].demotes = ls->demotes;
		i++;
	}
	/* To the end: see kgl_names(). */
	while (qb_map_iter_next(it, &p)) {
		const struct kgl *kg = p;

		if (kg->mode == GLOCK_MODE_UN)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(v[i].lockspace, kg->name.lockspace))
				v[i].glocks++;
	}
	qb_map_iter_free(it);
	*ret_v = v;
	*ret_n = n;
	return 0;
}

uint64_t glockd_kdev_bad_requests(const struct glockd *gd)
{
	return gd->kdev ? gd->kdev->bad_requests : 0;
}

void glockd_kdev_stop(struct glockd *gd)
{
	struct glockd_kdev *kd = gd->kdev;
	struct glock_name *names;
	struct kls *ls, *lsn;
	struct qrec *q, *qn;
	size_t n, i;

	if (!kd)
		return;
	kd->stopping = true;
	if (kd->job_queued)
		qb_loop_timer_del(gd->loop, kd->job_timer);
	if (kd->close_queued)
		qb_loop_job_del(gd->loop, QB_LOOP_HIGH, kd, close_job);
	if (kd->fd >= 0) {
		qb_loop_poll_del(gd->loop, kd->fd);
		close(kd->fd);
		kd->fd = -1;
		log_info("kernel client: %s closed: glockfs mounts of this node withdraw",
			 gd->cfg->dev_path);
	}
	if (kd->retry_armed)
		qb_loop_timer_del(gd->loop, kd->retry_timer);
	/* The agent releases the kernel's holders (events are ignored now). */
	glock__agent_client_free(kd->core, kd->acl);
	names = kgl_names(kd, NULL, &n);
	for (i = 0; i < n; i++) {
		struct kgl *kg = kgl_find(kd, &names[i]);

		if (kg)
			kgl_free(kd, kg);
	}
	free(names);
	qb_map_destroy(kd->glocks);
	kpl_free_all(kd);
	qb_map_destroy(kd->plocks);
	qb_list_for_each_entry_safe(ls, lsn, &kd->lockspaces, list)
		kls_free(ls);
	qb_list_for_each_entry_safe(q, qn, &kd->queue, list) {
		qb_list_del(&q->list);
		free(q);
	}
	gd->kdev = NULL;
	free(kd);
}
