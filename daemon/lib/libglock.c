/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libglock: the client side of proto/glock_ipc.proto over libqb IPC.
 *
 * Requests are answered at once (qb_ipcc_sendv_recv); a lock that has to
 * wait is answered `pending` and finishes with a COMPLETE event on the
 * event channel.  A blocking call waits on that channel for its own
 * COMPLETE; any other event read meanwhile is queued for glock_dispatch(),
 * and an eventfd makes glock_fd() readable while the queue is not empty
 * (glock_fd() is an epoll fd over the libqb event socket and that eventfd).
 *
 * Library code: never logs, no globals.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <qb/qbipcc.h>
#include <qb/qblist.h>
#include <qb/qbmap.h>

#include "glock.h"
#include "glock_ipc.pb-c.h"

#define LIB_VERSION_MAJOR 1u
#define LIB_VERSION_MINOR 0u
#define LIB_BUFFER_SIZE (256 * 1024) /* glockd's IPC_BUFFER_SIZE */
#define LIB_HASH_SIZE 1024u
#define HANDLE_KEY_LEN 24

enum handle_state {
	H_PENDING = 1, /* first grant not yet there */
	H_GRANTED = 2,
	H_CONVERTING = 3,
	H_LOST = 4,
};

struct glock_handle {
	struct glock_ls *ls;
	struct qb_list_head node; /* ls->handles */
	char key[HANDLE_KEY_LEN];
	uint32_t type;
	uint64_t number;
	uint64_t id;     /* glockd's handle */
	uint64_t client_ref;
	int mode;
	enum handle_state state;
	bool async;
	void *cookie;
	uint8_t lvb[GLOCK_LVB_SIZE];
	bool lvb_dirty;
};

struct queued_event {
	struct qb_list_head node;
	size_t len;
	uint8_t data[];
};

struct glock_ls {
	qb_ipcc_connection_t *conn;
	char lockspace[GLOCK_LOCKSPACE_LEN + 1];
	uint32_t local_node;
	struct glock_callbacks cb;
	qb_map_t *by_id;
	struct qb_list_head handles;
	struct qb_list_head queue; /* events read while waiting */
	int epfd, evfd;
	uint64_t next_ref;
	uint8_t *buf; /* replies */
	uint8_t *evbuf;
};

/* GlockStatus -> -errno: the client side of glock_codec_status_from_errno(). */
static int status_errno(GlockStatus st)
{
	switch (st) {
	case GLOCK_STATUS__GLOCK_STATUS_OK: return 0;
	case GLOCK_STATUS__GLOCK_STATUS_INVALID: return -EINVAL;
	case GLOCK_STATUS__GLOCK_STATUS_UNKNOWN_NODE: return -ESRCH;
	case GLOCK_STATUS__GLOCK_STATUS_EXISTS: return -EEXIST;
	case GLOCK_STATUS__GLOCK_STATUS_NOT_FOUND: return -ENOENT;
	case GLOCK_STATUS__GLOCK_STATUS_BUSY: return -EBUSY;
	case GLOCK_STATUS__GLOCK_STATUS_ALREADY: return -EALREADY;
	case GLOCK_STATUS__GLOCK_STATUS_PROTOCOL: return -EPROTO;
	case GLOCK_STATUS__GLOCK_STATUS_NO_MEMORY: return -ENOMEM;
	case GLOCK_STATUS__GLOCK_STATUS_TRYFAIL: return -EAGAIN;
	case GLOCK_STATUS__GLOCK_STATUS_CANCELLED: return -ECANCELED;
	case GLOCK_STATUS__GLOCK_STATUS_DEADLOCK: return -EDEADLK;
	case GLOCK_STATUS__GLOCK_STATUS_LOST: return -ENOLCK;
	case GLOCK_STATUS__GLOCK_STATUS_AGAIN: return -ENOBUFS;
	case GLOCK_STATUS__GLOCK_STATUS_TIMEDOUT: return -ETIMEDOUT;
	case GLOCK_STATUS__GLOCK_STATUS_NOT_SYNCED: return -ENOTCONN;
	case GLOCK_STATUS__GLOCK_STATUS_PERMISSION: return -EACCES;
	default: return -EIO;
	}
}

/*
 * One request, one reply.  Internal, shared with glockctl (which links the
 * convenience library): packs nothing, just frames.  *ret_reply points into
 * ls's reply buffer, valid until the next request.
 */
int glock__request(struct glock_ls *ls, int32_t id, const void *payload, size_t len,
		   const uint8_t **ret_reply, size_t *ret_len);

int glock__request(struct glock_ls *ls, int32_t id, const void *payload, size_t len,
		   const uint8_t **ret_reply, size_t *ret_len)
{
	struct qb_ipc_request_header hdr = { .id = id, .size = (int32_t)(sizeof(hdr) + len) };
	const struct qb_ipc_response_header *rh = (const void *)ls->buf;
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	ssize_t r;

	if (sizeof(hdr) + len > LIB_BUFFER_SIZE)
		return -EMSGSIZE;
	r = qb_ipcc_sendv_recv(ls->conn, iov, 2, ls->buf, LIB_BUFFER_SIZE, -1);
	if (r < 0)
		return (int)r;
	if ((size_t)r < sizeof(*rh) || rh->size != r || rh->id != id)
		return -EPROTO;
	*ret_reply = ls->buf + sizeof(*rh);
	*ret_len = (size_t)r - sizeof(*rh);
	return 0;
}

/* Packs a protobuf message into a stack or heap buffer and sends it. */
#define REQUEST(ls, id, type, msg, ret_p, ret_len)                                   \
	({                                                                           \
		size_t len_ = type##__get_packed_size(msg);                          \
		uint8_t sbuf_[256], *b_ = len_ <= sizeof(sbuf_) ? sbuf_ : malloc(len_); \
		int r_ = -ENOMEM;                                                    \
		if (b_) {                                                            \
			type##__pack((msg), b_);                                     \
			r_ = glock__request((ls), (id), b_, len_, (ret_p), (ret_len)); \
			if (b_ != sbuf_)                                             \
				free(b_);                                            \
		}                                                                    \
		r_;                                                                  \
	})

static int handle_add(struct glock_ls *ls, struct glock_handle *h, uint64_t id)
{
	h->id = id;
	snprintf(h->key, sizeof(h->key), "%" PRIx64, id);
	qb_map_put(ls->by_id, h->key, h);
	return 0;
}

static void handle_free(struct glock_handle *h)
{
	if (h->key[0])
		qb_map_rm(h->ls->by_id, h->key);
	qb_list_del(&h->node);
	free(h);
}

static struct glock_handle *handle_new(struct glock_ls *ls, uint32_t type, uint64_t number)
{
	struct glock_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ls = ls;
	h->type = type;
	h->number = number;
	qb_list_add_tail(&h->node, &ls->handles);
	return h;
}

static void name_init(GlockIpcName *n, struct glock_ls *ls, uint32_t type, uint64_t number)
{
	glock_ipc_name__init(n);
	n->lockspace = ls->lockspace;
	n->type = type;
	n->number = number;
}

static void evfd_signal(struct glock_ls *ls)
{
	uint64_t one = 1;

	(void)!write(ls->evfd, &one, sizeof(one));
}

static void evfd_drain(struct glock_ls *ls)
{
	uint64_t v;

	(void)!read(ls->evfd, &v, sizeof(v));
}

int glock_open(const char *lockspace, struct glock_ls **ret)
{
	const char *svc = getenv("GLOCK_IPC_NAME");
	GlockIpcHello hello = GLOCK_IPC_HELLO__INIT;
	GlockIpcHelloReply *rep;
	struct epoll_event ev = { .events = EPOLLIN };
	struct glock_ls *ls;
	const uint8_t *p;
	size_t len;
	int32_t qbfd;
	int err;

	if (!lockspace || !ret || !*lockspace || strlen(lockspace) > GLOCK_LOCKSPACE_LEN)
		return -EINVAL;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	ls->epfd = ls->evfd = -1;
	qb_list_init(&ls->handles);
	qb_list_init(&ls->queue);
	snprintf(ls->lockspace, sizeof(ls->lockspace), "%s", lockspace);
	ls->buf = malloc(LIB_BUFFER_SIZE);
	ls->evbuf = malloc(LIB_BUFFER_SIZE);
	ls->by_id = qb_hashtable_create(LIB_HASH_SIZE);
	if (!ls->buf || !ls->evbuf || !ls->by_id) {
		err = -ENOMEM;
		goto out_free;
	}
	ls->conn = qb_ipcc_connect(svc && *svc ? svc : "glockd", LIB_BUFFER_SIZE);
	if (!ls->conn) {
		err = errno ? -errno : -ENOTCONN;
		if (err == -ENOENT || err == -ECONNREFUSED)
			err = -ENOTCONN;
		goto out_free;
	}
	ls->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ls->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ls->evfd < 0 || ls->epfd < 0 || qb_ipcc_fd_get(ls->conn, &qbfd)) {
		err = errno ? -errno : -EIO;
		goto out_free;
	}
	ev.data.fd = qbfd;
	if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, qbfd, &ev)) {
		err = -errno;
		goto out_free;
	}
	ev.data.fd = ls->evfd;
	if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, ls->evfd, &ev)) {
		err = -errno;
		goto out_free;
	}
	hello.version_major = LIB_VERSION_MAJOR;
	hello.version_minor = LIB_VERSION_MINOR;
	hello.lockspace = ls->lockspace;
	err = REQUEST(ls, GLOCK_IPC_MSG__GLOCK_IPC_HELLO, glock_ipc_hello, &hello, &p, &len);
	if (err)
		goto out_free;
	rep = glock_ipc_hello_reply__unpack(NULL, len, p);
	if (!rep) {
		err = -EPROTO;
		goto out_free;
	}
	err = status_errno(rep->status);
	ls->local_node = rep->has_local_node ? rep->local_node : 0;
	glock_ipc_hello_reply__free_unpacked(rep, NULL);
	if (err)
		goto out_free;
	*ret = ls;
	return 0;
out_free:
	glock_close(ls);
	return err;
}

void glock_close(struct glock_ls *ls)
{
	struct glock_handle *h, *hn;
	struct queued_event *q, *qn;

	if (!ls)
		return;
	if (ls->conn)
		qb_ipcc_disconnect(ls->conn);
	qb_list_for_each_entry_safe(h, hn, &ls->handles, node)
		handle_free(h);
	qb_list_for_each_entry_safe(q, qn, &ls->queue, node)
		free(q);
	if (ls->by_id)
		qb_map_destroy(ls->by_id);
	if (ls->epfd >= 0)
		close(ls->epfd);
	if (ls->evfd >= 0)
		close(ls->evfd);
	free(ls->buf);
	free(ls->evbuf);
	free(ls);
}

int glock_set_callbacks(struct glock_ls *ls, const struct glock_callbacks *cb)
{
	if (!ls)
		return -EINVAL;
	if (cb)
		ls->cb = *cb;
	else
		memset(&ls->cb, 0, sizeof(ls->cb));
	return 0;
}

static bool mode_ok(int mode)
{
	return mode >= GLOCK_SH && mode <= GLOCK_EX;
}

static void grant_from(struct glock_handle *h, uint32_t mode, bool has_lvb,
		       const ProtobufCBinaryData *lvb)
{
	h->mode = (int)mode;
	h->state = H_GRANTED;
	if (has_lvb && lvb->len == GLOCK_LVB_SIZE)
		memcpy(h->lvb, lvb->data, GLOCK_LVB_SIZE);
	h->lvb_dirty = false;
}

/* Reads one event from glockd into ls->evbuf: its payload length, or -errno. */
static int event_read(struct glock_ls *ls, int32_t timeout_ms, size_t *ret_len)
{
	const struct qb_ipc_response_header *rh = (const void *)ls->evbuf;
	ssize_t r = qb_ipcc_event_recv(ls->conn, ls->evbuf, LIB_BUFFER_SIZE, timeout_ms);

	if (r < 0)
		return (int)r;
	if ((size_t)r < sizeof(*rh) || rh->size != r || rh->id != GLOCK_IPC_MSG__GLOCK_IPC_EVENT)
		return -EPROTO;
	*ret_len = (size_t)r - sizeof(*rh);
	return 0;
}

static int queue_event(struct glock_ls *ls, const uint8_t *p, size_t len)
{
	struct queued_event *q = malloc(sizeof(*q) + len);

	if (!q)
		return -ENOMEM;
	q->len = len;
	memcpy(q->data, p, len);
	qb_list_add_tail(&q->node, &ls->queue);
	evfd_signal(ls);
	return 0;
}

/* Waits for the COMPLETE of client_ref; queues every other event. */
static int wait_complete(struct glock_ls *ls, uint64_t client_ref, GlockIpcEvent **ret)
{
	const uint8_t *p = ls->evbuf + sizeof(struct qb_ipc_response_header);
	GlockIpcEvent *e;
	size_t len = 0;
	int err;

	for (;;) {
		err = event_read(ls, -1, &len);
		if (err == -EAGAIN || err == -ETIMEDOUT)
			continue;
		if (err)
			return err;
		e = glock_ipc_event__unpack(NULL, len, p);
		if (!e)
			return -EPROTO;
		if (e->kind == GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_COMPLETE &&
		    e->client_ref == client_ref) {
			*ret = e;
			return 0;
		}
		glock_ipc_event__free_unpacked(e, NULL);
		err = queue_event(ls, p, len);
		if (err)
			return err;
	}
}

static int lock_common(struct glock_ls *ls, uint32_t type, uint64_t number, int mode,
		       uint32_t flags, uint32_t timeout_ms, bool async, void *cookie,
		       struct glock_handle **ret)
{
	GlockIpcLock m = GLOCK_IPC_LOCK__INIT;
	GlockIpcName name;
	GlockIpcReply *rep;
	GlockIpcEvent *ev = NULL;
	struct glock_handle *h;
	const uint8_t *p;
	size_t len;
	int err;

	if (!ls || !mode_ok(mode) || (flags & ~0xfu) || (!async && !ret))
		return -EINVAL;
	name_init(&name, ls, type, number);
	m.name = &name;
	m.mode = (uint32_t)mode;
	m.has_flags = m.has_timeout_ms = m.has_client_ref = m.has_async = true;
	m.flags = flags;
	m.timeout_ms = timeout_ms;
	m.client_ref = ++ls->next_ref;
	m.async = async;
	err = REQUEST(ls, GLOCK_IPC_MSG__GLOCK_IPC_LOCK, glock_ipc_lock, &m, &p, &len);
	if (err)
		return err;
	rep = glock_ipc_reply__unpack(NULL, len, p);
	if (!rep)
		return -EPROTO;
	err = status_errno(rep->status);
	if (err || !rep->has_handle)
		goto out_rep;
	h = handle_new(ls, type, number);
	if (!h) {
		/* glockd holds it for us: let it go again */
		err = -ENOMEM;
		goto out_rep;
	}
	handle_add(ls, h, rep->handle);
	h->client_ref = m.client_ref;
	h->cookie = cookie;
	h->async = async;
	h->state = H_PENDING;
	if (!rep->pending) {
		grant_from(h, rep->mode, rep->has_lvb, &rep->lvb);
		*ret = h;
		goto out_rep;
	}
	if (async) {
		if (ret)
			*ret = h;
		goto out_rep;
	}
	err = wait_complete(ls, m.client_ref, &ev);
	if (!err)
		err = status_errno(ev->status);
	if (err) {
		handle_free(h);
	} else {
		grant_from(h, ev->mode, ev->has_lvb, &ev->lvb);
		*ret = h;
	}
	if (ev)
		glock_ipc_event__free_unpacked(ev, NULL);
out_rep:
	glock_ipc_reply__free_unpacked(rep, NULL);
	return err;
}

int glock_lock(struct glock_ls *ls, uint32_t type, uint64_t number, int mode, uint32_t flags,
	       uint32_t timeout_ms, struct glock_handle **ret)
{
	return lock_common(ls, type, number, mode, flags, timeout_ms, false, NULL, ret);
}

int glock_lock_async(struct glock_ls *ls, uint32_t type, uint64_t number, int mode,
		     uint32_t flags, uint32_t timeout_ms, void *cookie,
		     struct glock_handle **ret_handle)
{
	return lock_common(ls, type, number, mode, flags, timeout_ms, true, cookie, ret_handle);
}

int glock_convert(struct glock_handle *h, int mode, uint32_t flags, uint32_t timeout_ms)
{
	GlockIpcConvert m = GLOCK_IPC_CONVERT__INIT;
	GlockIpcName name;
	GlockIpcReply *rep;
	GlockIpcEvent *ev = NULL;
	struct glock_ls *ls;
	const uint8_t *p;
	size_t len;
	int err;

	if (!h || !mode_ok(mode) || (flags & ~0xfu))
		return -EINVAL;
	if (h->state == H_LOST)
		return -ENOLCK;
	if (h->state != H_GRANTED)
		return -EBUSY;
	ls = h->ls;
	name_init(&name, ls, h->type, h->number);
	m.name = &name;
	m.handle = h->id;
	m.mode = (uint32_t)mode;
	m.has_flags = m.has_timeout_ms = m.has_client_ref = true;
	m.flags = flags;
	m.timeout_ms = timeout_ms;
	m.client_ref = ++ls->next_ref;
	if (h->lvb_dirty && h->mode == GLOCK_EX && mode != GLOCK_EX) {
		m.has_lvb = true;
		m.lvb.len = GLOCK_LVB_SIZE;
		m.lvb.data = h->lvb;
	}
	err = REQUEST(ls, GLOCK_IPC_MSG__GLOCK_IPC_CONVERT, glock_ipc_convert, &m, &p, &len);
	if (err)
		return err;
	rep = glock_ipc_reply__unpack(NULL, len, p);
	if (!rep)
		return -EPROTO;
	err = status_errno(rep->status);
	if (err)
		goto out_rep;
	if (m.has_lvb)
		h->lvb_dirty = false;
	if (!rep->pending) {
		grant_from(h, rep->mode, rep->has_lvb, &rep->lvb);
		goto out_rep;
	}
	h->state = H_CONVERTING;
	err = wait_complete(ls, m.client_ref, &ev);
	if (!err)
		err = status_errno(ev->status);
	if (!err)
		grant_from(h, ev->mode, ev->has_lvb, &ev->lvb);
	else if (h->state == H_CONVERTING)
		h->state = H_GRANTED; /* still held in the old mode */
	if (ev)
		glock_ipc_event__free_unpacked(ev, NULL);
out_rep:
	glock_ipc_reply__free_unpacked(rep, NULL);
	return err;
}

int glock_cancel(struct glock_handle *h)
{
	GlockIpcCancel m = GLOCK_IPC_CANCEL__INIT;
	GlockIpcName name;
	GlockIpcReply *rep;
	const uint8_t *p;
	size_t len;
	int err;

	if (!h)
		return -EINVAL;
	if (h->state != H_PENDING && h->state != H_CONVERTING)
		return -EALREADY;
	name_init(&name, h->ls, h->type, h->number);
	m.name = &name;
	m.handle = h->id;
	err = REQUEST(h->ls, GLOCK_IPC_MSG__GLOCK_IPC_CANCEL, glock_ipc_cancel, &m, &p, &len);
	if (err)
		return err;
	rep = glock_ipc_reply__unpack(NULL, len, p);
	if (!rep)
		return -EPROTO;
	err = status_errno(rep->status);
	glock_ipc_reply__free_unpacked(rep, NULL);
	return err;
}

int glock_unlock(struct glock_handle *h)
{
	GlockIpcUnlock m = GLOCK_IPC_UNLOCK__INIT;
	GlockIpcName name;
	GlockIpcReply *rep;
	const uint8_t *p;
	size_t len;
	int err;

	if (!h)
		return 0;
	if (h->state == H_PENDING || h->state == H_CONVERTING)
		return -EBUSY;
	if (h->state == H_LOST) {
		handle_free(h);
		return 0;
	}
	name_init(&name, h->ls, h->type, h->number);
	m.name = &name;
	m.handle = h->id;
	if (h->lvb_dirty && h->mode == GLOCK_EX) {
		m.has_lvb = true;
		m.lvb.len = GLOCK_LVB_SIZE;
		m.lvb.data = h->lvb;
	}
	err = REQUEST(h->ls, GLOCK_IPC_MSG__GLOCK_IPC_UNLOCK, glock_ipc_unlock, &m, &p, &len);
	if (!err) {
		rep = glock_ipc_reply__unpack(NULL, len, p);
		err = rep ? status_errno(rep->status) : -EPROTO;
		if (rep)
			glock_ipc_reply__free_unpacked(rep, NULL);
	}
	if (err == -EBUSY || err == -EINVAL)
		return err;
	/* -ENOENT: lost in a race with its LOST event; -ENOTCONN: glockd is gone. */
	handle_free(h);
	return err == -ENOENT ? 0 : err;
}

int glock_lvb_read(const struct glock_handle *h, uint8_t buf[GLOCK_LVB_SIZE])
{
	if (!h || !buf)
		return -EINVAL;
	memcpy(buf, h->lvb, GLOCK_LVB_SIZE);
	return 0;
}

int glock_lvb_write(struct glock_handle *h, const uint8_t buf[GLOCK_LVB_SIZE])
{
	if (!h || !buf)
		return -EINVAL;
	if (h->state != H_GRANTED || h->mode != GLOCK_EX)
		return -EPERM;
	memcpy(h->lvb, buf, GLOCK_LVB_SIZE);
	h->lvb_dirty = true;
	return 0;
}

int glock_fd(struct glock_ls *ls)
{
	return ls ? ls->epfd : -EINVAL;
}

static struct glock_handle *handle_by_id(struct glock_ls *ls, uint64_t id)
{
	char key[HANDLE_KEY_LEN];

	snprintf(key, sizeof(key), "%" PRIx64, id);
	return qb_map_get(ls->by_id, key);
}

/* Runs the callback for one event; returns 1 if one ran. */
static int event_run(struct glock_ls *ls, const uint8_t *p, size_t len)
{
	GlockIpcEvent *e = glock_ipc_event__unpack(NULL, len, p);
	struct glock_handle *h;
	int ran = 0, err;
	void *cookie;

	if (!e)
		return -EPROTO;
	h = handle_by_id(ls, e->handle);
	if (!h)
		goto out;
	switch (e->kind) {
	case GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_COMPLETE:
		err = status_errno(e->status);
		cookie = h->cookie;
		if (!err) {
			grant_from(h, e->mode, e->has_lvb, &e->lvb);
		} else if (h->state == H_PENDING) {
			handle_free(h);
			h = NULL;
		} else if (h->state == H_CONVERTING) {
			h->state = H_GRANTED;
		}
		if (ls->cb.completion) {
			ls->cb.completion(cookie, err, h);
			ran = 1;
		}
		break;
	case GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_DEMOTE:
		if (ls->cb.demote && h->state != H_LOST) {
			ls->cb.demote(h, (int)e->mode);
			ran = 1;
		}
		break;
	case GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_LOST:
		h->state = H_LOST;
		if (ls->cb.lost) {
			ls->cb.lost(h);
			ran = 1;
		}
		break;
	default:
		break; /* a newer glockd's event: ignore */
	}
out:
	glock_ipc_event__free_unpacked(e, NULL);
	return ran;
}

int glock_dispatch(struct glock_ls *ls)
{
	struct queued_event *q;
	size_t len = 0;
	int n = 0, r, err;

	if (!ls)
		return -EINVAL;
	evfd_drain(ls);
	while (!qb_list_empty(&ls->queue)) {
		q = qb_list_first_entry(&ls->queue, struct queued_event, node);
		qb_list_del(&q->node);
		r = event_run(ls, q->data, q->len);
		free(q);
		if (r > 0)
			n += r;
	}
	for (;;) {
		err = event_read(ls, 0, &len);
		if (err == -EAGAIN || err == -ETIMEDOUT)
			break;
		if (err)
			return err;
		r = event_run(ls, ls->evbuf + sizeof(struct qb_ipc_response_header), len);
		if (r > 0)
			n += r;
	}
	return n;
}

int glock_handle_mode(const struct glock_handle *h)
{
	return h && (h->state == H_GRANTED || h->state == H_CONVERTING) ? h->mode : GLOCK_UN;
}

bool glock_handle_lost(const struct glock_handle *h)
{
	return h && h->state == H_LOST;
}

void *glock_handle_cookie(const struct glock_handle *h)
{
	return h ? h->cookie : NULL;
}

uint64_t glock_handle_number(const struct glock_handle *h)
{
	return h ? h->number : 0;
}

uint32_t glock_handle_type(const struct glock_handle *h)
{
	return h ? h->type : 0;
}

uint32_t glock_local_node(const struct glock_ls *ls)
{
	return ls ? ls->local_node : 0;
}
