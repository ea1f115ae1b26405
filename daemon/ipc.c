/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client IPC adapter: the libqb IPC server for libglock and glockctl.
 * Each connection is one client of the lock agent core (agent.c); the
 * admin requests (status, dump) read the rest of glockd through struct
 * glockd_ipc_ops, wired in main.c.
 *
 * Messages (proto/glock_ipc.proto): a libqb header whose id names the
 * protobuf message that follows.  Every request is checked before it is
 * used: size against the header, header id, protobuf unpack, then every
 * field (modes, flags, name, LVB length).  A bad request gets an INVALID
 * reply and the connection stays usable; nothing a client sends reaches
 * another client.
 *
 * Access: root, or a uid in allowed_uids, or a primary gid in allowed_gids
 * (libqb passes the peer's credentials; supplementary groups are not
 * consulted).
 *
 * Problem scenario: client X stops reading its events; its event buffer
 * fills.  An undeliverable COMPLETE would leave X waiting for ever while
 * the agent thinks X holds the lock, so a failed event send disconnects X
 * (from a loop job, never from inside the agent), which releases its
 * holders and withdraws its waiters like any disconnect.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <qb/qbdefs.h>
#include <qb/qbipcs.h>
#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "agent.h"
#include "codec.h"
#include "config.h"
#include "glock_ipc.pb-c.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"

#define IPC_VERSION_MAJOR 1u
#define IPC_VERSION_MINOR 0u
#define IPC_BUFFER_SIZE (256 * 1024) /* per connection, each direction */
#define IPC_REPLY_SLACK 512          /* header and envelope of a paged reply */
#define IPC_LOCKSPACES_MAX 64        /* in a status reply */

struct glockd_ipc {
	struct glockd *gd;
	const struct glockd_ipc_ops *ops; /* main.c's wiring */
	struct glock__agent *core;
	qb_ipcs_service_t *svc;
	size_t n_clients;
	uint64_t bad_requests;
	uint64_t refused;          /* connections refused by allow_uid/allow_gid */
	struct log_ratelimit rl_bad;
	struct log_ratelimit rl_event;
};

struct ipc_client {
	struct glockd *gd;
	struct glockd_agent_owner owner; /* the agent's events for its holders */
	qb_ipcs_connection_t *conn;
	struct glock__agent_client *acl;
	uint32_t pid;
	bool dropping; /* a disconnect job is queued */
};

/* libqb's poll hooks carry no context: the one loop they run in. */
static qb_loop_t *ipc_loop;

/* ---- status conversion (the codec owns the mapping) ---- */

static GlockStatus status_of(int err, enum glock_deny_reason reason)
{
	if (err)
		return (GlockStatus)glock_codec_status_from_errno(err);
	if (reason)
		return (GlockStatus)glock_codec_status_from_deny(reason);
	return GLOCK_STATUS__GLOCK_STATUS_OK;
}

static void drop_job(void *data)
{
	struct ipc_client *cl = data;
	qb_ipcs_connection_t *conn = cl->conn;

	/*
	 * Our reference keeps cl alive.  If the client hung up meanwhile,
	 * libqb has disconnected it already (ipc_closed cleared cl->acl): a
	 * second qb_ipcs_disconnect() would drop libqb's own reference again.
	 */
	if (cl->acl)
		qb_ipcs_disconnect(conn);
	qb_ipcs_connection_unref(conn);
}

static void client_drop(struct ipc_client *cl, const char *why)
{
	struct glockd_ipc *ipc = cl->gd->ipc;

	if (cl->dropping)
		return;
	log_rl(&ipc->rl_event, LOG_WARNING, "client pid %u: %s: disconnecting it", cl->pid, why);
	qb_ipcs_connection_ref(cl->conn);
	if (qb_loop_job_add(cl->gd->loop, QB_LOOP_HIGH, cl, drop_job)) {
		qb_ipcs_connection_unref(cl->conn);
		return;
	}
	cl->dropping = true;
}

static int send_packed(qb_ipcs_connection_t *conn, bool event, int32_t id, const void *msg,
		       size_t (*size_fn)(const void *), size_t (*pack_fn)(const void *, uint8_t *))
{
	struct qb_ipc_response_header rh = { .id = id };
	struct iovec iov[2];
	size_t len = size_fn(msg);
	uint8_t stackbuf[512];
	uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	pack_fn(msg, buf);
	rh.size = (int32_t)(sizeof(rh) + len);
	iov[0].iov_base = &rh;
	iov[0].iov_len = sizeof(rh);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	r = event ? qb_ipcs_event_sendv(conn, iov, 2) : qb_ipcs_response_sendv(conn, iov, 2);
	if (buf != stackbuf)
		free(buf);
	return r < 0 ? (int)r : 0;
}

/* Typed wrappers so that protobuf-c's per-message functions fit one signature. */
#define PB_SEND(conn, event, id, type, msg)                                          \
	send_packed((conn), (event), (id), (msg),                                    \
		    (size_t(*)(const void *))type##__get_packed_size,                 \
		    (size_t(*)(const void *, uint8_t *))type##__pack)

/* An agent event for one of the client's holders. */
static void client_event(struct glockd_agent_owner *owner, const struct glock__agent_event *ev)
{
	struct ipc_client *cl = glockd_container_of(owner, struct ipc_client, owner);
	GlockIpcEvent e = GLOCK_IPC_EVENT__INIT;
	int r;

	if (cl->dropping)
		return;
	e.handle = ev->handle;
	e.has_client_ref = true;
	e.client_ref = ev->client_ref;
	e.has_mode = true;
	e.mode = ev->mode;
	switch (ev->kind) {
	case GLOCK__AGENT_EV_COMPLETE:
		e.kind = GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_COMPLETE;
		e.has_status = true;
		e.status = status_of(ev->err, ev->reason);
		if (!ev->err && !ev->reason && ev->lvb) {
			e.has_lvb = true;
			e.lvb.len = GLOCK_LVB_LEN;
			e.lvb.data = (uint8_t *)ev->lvb;
		}
		break;
	case GLOCK__AGENT_EV_DEMOTE:
		e.kind = GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_DEMOTE;
		break;
	case GLOCK__AGENT_EV_LOST:
		e.kind = GLOCK_IPC_EVENT_KIND__GLOCK_IPC_EV_LOST;
		break;
	}
	r = PB_SEND(cl->conn, true, GLOCK_IPC_MSG__GLOCK_IPC_EVENT, glock_ipc_event, &e);
	if (r)
		client_drop(cl, "cannot send it an event");
}

/* ---- requests ---- */

static int name_from(const GlockIpcName *in, struct glock_name *out)
{
	size_t len;

	if (!in || !in->lockspace)
		return -EINVAL;
	len = strlen(in->lockspace);
	if (!len || len >= GLOCK_LOCKSPACE_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->lockspace, in->lockspace, len);
	out->type = in->type;
	out->number = in->number;
	return 0;
}

static int lvb_from(bool has, const ProtobufCBinaryData *b, const uint8_t **out)
{
	*out = NULL;
	if (!has)
		return 0;
	if (b->len != GLOCK_LVB_LEN)
		return -EINVAL;
	*out = b->data;
	return 0;
}

static int mode_from(uint32_t m, enum glock_mode *out)
{
	if (m < GLOCK_MODE_SH || m > GLOCK_MODE_EX)
		return -EINVAL;
	*out = (enum glock_mode)m;
	return 0;
}

static int reply_status(qb_ipcs_connection_t *conn, int32_t id, GlockStatus st)
{
	GlockIpcReply r = GLOCK_IPC_REPLY__INIT;

	r.status = st;
	return PB_SEND(conn, false, id, glock_ipc_reply, &r);
}

/* Answer to LOCK and CONVERT; `async` turns an immediate answer into an event too. */
static int reply_agent(struct ipc_client *cl, int32_t id, int err,
		       const struct glock__agent_reply *rep, bool async, uint64_t client_ref,
		       const struct glock_name *name)
{
	GlockIpcReply r = GLOCK_IPC_REPLY__INIT;

	r.status = status_of(err, err ? 0 : rep->reason);
	if (!err) {
		r.has_handle = true;
		r.handle = rep->handle;
		r.has_mode = true;
		r.mode = rep->mode;
		r.has_pending = true;
		r.pending = rep->pending;
		if (!rep->pending && !rep->reason) {
			r.has_lvb = true;
			r.lvb.len = GLOCK_LVB_LEN;
			r.lvb.data = (uint8_t *)rep->lvb;
		}
	}
	if (async && !err && !rep->pending) {
		/* The async API always hears the outcome as an event. */
		struct glock__agent_event ev = {
			.kind = GLOCK__AGENT_EV_COMPLETE, .name = name, .handle = rep->handle,
			.client_ref = client_ref, .reason = rep->reason, .mode = rep->mode,
			.lvb = rep->lvb,
		};

		r.has_pending = true;
		r.pending = true;
		client_event(&cl->owner, &ev);
	}
	return PB_SEND(cl->conn, false, id, glock_ipc_reply, &r);
}

static int do_hello(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcHello *m = glock_ipc_hello__unpack(NULL, len, p);
	GlockIpcHelloReply r = GLOCK_IPC_HELLO_REPLY__INIT;
	int ret;

	if (!m)
		return -EBADMSG;
	r.status = m->version_major == IPC_VERSION_MAJOR ? GLOCK_STATUS__GLOCK_STATUS_OK
							 : GLOCK_STATUS__GLOCK_STATUS_PROTOCOL;
	if (r.status != GLOCK_STATUS__GLOCK_STATUS_OK)
		log_warn("client pid %u speaks IPC version %u.%u, we speak %u.%u: refused", cl->pid,
			 m->version_major, m->version_minor, IPC_VERSION_MAJOR, IPC_VERSION_MINOR);
	r.version_major = IPC_VERSION_MAJOR;
	r.version_minor = IPC_VERSION_MINOR;
	r.has_local_node = true;
	r.local_node = cl->gd->local_node;
	glock_ipc_hello__free_unpacked(m, NULL);
	ret = PB_SEND(cl->conn, false, id, glock_ipc_hello_reply, &r);
	return ret;
}

static int do_lock(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcLock *m = glock_ipc_lock__unpack(NULL, len, p);
	struct glock__agent_reply rep;
	struct glock_name name;
	enum glock_mode mode;
	int err, ret;

	if (!m)
		return -EBADMSG;
	err = name_from(m->name, &name);
	if (!err)
		err = mode_from(m->mode, &mode);
	if (!err && (m->flags & ~GLOCK_FLAGS_ALL))
		err = -EINVAL;
	if (!err)
		err = glock__agent_lock(cl->gd->ipc->core, cl->acl, &name, mode, m->flags,
					m->timeout_ms, m->client_ref, &rep);
	ret = reply_agent(cl, id, err, &rep, m->async, m->client_ref, &name);
	glock_ipc_lock__free_unpacked(m, NULL);
	return ret;
}

static int do_convert(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcConvert *m = glock_ipc_convert__unpack(NULL, len, p);
	struct glock__agent_reply rep;
	struct glock_name name;
	enum glock_mode mode;
	const uint8_t *lvb;
	int err, ret;

	if (!m)
		return -EBADMSG;
	err = name_from(m->name, &name);
	if (!err)
		err = mode_from(m->mode, &mode);
	if (!err)
		err = lvb_from(m->has_lvb, &m->lvb, &lvb);
	if (!err && (m->flags & ~GLOCK_FLAGS_ALL))
		err = -EINVAL;
	if (!err)
		err = glock__agent_convert(cl->gd->ipc->core, cl->acl, &name, m->handle, mode,
					   m->flags, m->timeout_ms, m->client_ref, lvb, &rep);
	ret = reply_agent(cl, id, err, &rep, m->async, m->client_ref, &name);
	glock_ipc_convert__free_unpacked(m, NULL);
	return ret;
}

static int do_unlock(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcUnlock *m = glock_ipc_unlock__unpack(NULL, len, p);
	struct glock_name name;
	const uint8_t *lvb;
	int err, ret;

	if (!m)
		return -EBADMSG;
	err = name_from(m->name, &name);
	if (!err)
		err = lvb_from(m->has_lvb, &m->lvb, &lvb);
	if (!err)
		err = glock__agent_unlock(cl->gd->ipc->core, cl->acl, &name, m->handle, lvb);
	ret = reply_status(cl->conn, id, status_of(err, 0));
	glock_ipc_unlock__free_unpacked(m, NULL);
	return ret;
}

static int do_cancel(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcCancel *m = glock_ipc_cancel__unpack(NULL, len, p);
	struct glock_name name;
	int err, ret;

	if (!m)
		return -EBADMSG;
	err = name_from(m->name, &name);
	if (!err)
		err = glock__agent_cancel(cl->gd->ipc->core, cl->acl, &name, m->handle);
	ret = reply_status(cl->conn, id, status_of(err, 0));
	glock_ipc_cancel__free_unpacked(m, NULL);
	return ret;
}

/* ---- status ---- */

struct ls_count_ctx {
	GlockIpcLockspaceCount *v;
	GlockIpcLockspaceCount **pv;
	char (*names)[GLOCK_LOCKSPACE_MAX];
	size_t n;
	struct glock__agent *core;
};

static GlockIpcLockspaceCount *ls_slot(struct ls_count_ctx *c, const char *ls)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], ls))
			return &c->v[i];
	if (c->n == IPC_LOCKSPACES_MAX)
		return NULL;
	snprintf(c->names[c->n], GLOCK_LOCKSPACE_MAX, "%s", ls);
	glock_ipc_lockspace_count__init(&c->v[c->n]);
	c->v[c->n].lockspace = c->names[c->n];
	c->pv[c->n] = &c->v[c->n];
	return &c->v[c->n++];
}

static int ls_count_engine(void *ctx, const struct glock_record *rec)
{
	GlockIpcLockspaceCount *s = ls_slot(ctx, rec->name.lockspace);

	if (s)
		s->glocks++;
	return 0;
}

static int ls_count_agent(void *ctx, const struct glock__agent_glock_info *info)
{
	GlockIpcLockspaceCount *s;

	if (info->cached == GLOCK_MODE_UN)
		return 0;
	s = ls_slot(ctx, info->name->lockspace);
	if (s)
		s->local_glocks++;
	return 0;
}

/*
 * The request series that have counted something, for the status reply;
 * the reply points into m (the agent's counters outlive the send).
 */
static size_t fill_series(const struct glock__metrics *m, GlockIpcRequestSeries *v,
			  GlockIpcRequestSeries **pv)
{
	size_t n = 0;
	int op, o;

	for (op = 0; op < GLOCK__METRICS_OP_COUNT; op++) {
		for (o = 0; o < GLOCK__METRICS_OUTCOME_COUNT; o++) {
			const struct glock__metrics_series *s = &m->req[op][o];

			if (!s->count)
				continue;
			glock_ipc_request_series__init(&v[n]);
			v[n].op = (char *)glock__metrics_op_name(op);
			v[n].outcome = (char *)glock__metrics_outcome_name(o);
			v[n].count = s->count;
			v[n].sum_us = s->sum_us;
			v[n].n_buckets = GLOCK__METRICS_BUCKETS + 1;
			v[n].buckets = (uint64_t *)s->buckets;
			pv[n] = &v[n];
			n++;
		}
	}
	return n;
}

/* lock_path = p2p: the masters' counters and the node links, into r (sl holds them). */
struct status_links {
	GlockIpcLink link[GLOCK_LINK_PEERS_MAX], *plink[GLOCK_LINK_PEERS_MAX];
	struct glock_link_counters cnt[GLOCK_LINK_PEERS_MAX];
	uint32_t node[GLOCK_LINK_PEERS_MAX];
};

static void status_p2p(struct glockd *gd, const struct glock_p2p_stats *ps, struct status_links *sl,
		       GlockIpcStatusReply *r)
{
	struct glockd_lockpath_counters lpc;
	size_t i;

	gd->ipc->ops->p2p_counters(gd, &lpc);
	r->has_p2p_recovering = r->has_p2p_parked = r->has_p2p_stale_dropped = true;
	r->has_p2p_bad_payloads = r->has_p2p_refused_msgs = r->has_links_unknown = true;
	r->p2p_recovering = ps->recovering;
	r->p2p_parked = ps->parked;
	r->has_plock_files = r->has_plock_locks = r->has_plock_waiters = true;
	r->has_plock_parked = r->has_plock_pending = true;
	r->plock_files = ps->plock_files;
	r->plock_locks = ps->plock_locks;
	r->plock_waiters = ps->plock_waiters;
	r->plock_parked = ps->plock_parked;
	r->plock_pending = ps->plock_pending;
	r->p2p_stale_dropped = ps->dropped;
	r->p2p_bad_payloads = lpc.bad_payloads;
	r->p2p_refused_msgs = lpc.refused_msgs;
	r->links_unknown = lpc.links_unknown;
	r->n_links = gd->ipc->ops->p2p_links(gd, sl->node, sl->cnt, GLOCK_LINK_PEERS_MAX);
	for (i = 0; i < r->n_links; i++) {
		GlockIpcLink *l = &sl->link[i];

		glock_ipc_link__init(l);
		l->node = sl->node[i];
		l->up = sl->cnt[i].up;
		l->sent = sl->cnt[i].sent;
		l->received = sl->cnt[i].received;
		l->dropped = sl->cnt[i].dropped;
		l->lost = sl->cnt[i].lost;
		l->refused = sl->cnt[i].refused;
		l->reconnects = sl->cnt[i].reconnects;
		l->queued = sl->cnt[i].queued;
		sl->plink[i] = l;
	}
	r->links = sl->plink;
}

/* kdev: the lockspaces the kernel has mounted here, for the status reply. */
struct status_kernel {
	struct glockd_kdev_mount *v;
	GlockIpcKernelMount *km;
	GlockIpcKernelMount **pkm;
};

static void status_kernel(struct glockd *gd, GlockIpcStatusReply *r, struct status_kernel *sk)
{
	size_t n, i;

	memset(sk, 0, sizeof(*sk));
	if (gd->ipc->ops->kernel_mounts(gd, &sk->v, &n) || !n)
		return;
	sk->km = calloc(n, sizeof(*sk->km));
	sk->pkm = calloc(n, sizeof(*sk->pkm));
	if (!sk->km || !sk->pkm)
		return; /* the counts are left out */
	for (i = 0; i < n; i++) {
		glock_ipc_kernel_mount__init(&sk->km[i]);
		sk->km[i].lockspace = sk->v[i].lockspace;
		sk->km[i].glocks = sk->v[i].glocks;
		sk->km[i].has_releases = sk->km[i].has_demotes = true;
		sk->km[i].releases = sk->v[i].releases;
		sk->km[i].demotes = sk->v[i].demotes;
		sk->pkm[i] = &sk->km[i];
	}
	r->n_kernel_mounts = n;
	r->kernel_mounts = sk->pkm;
}

static void status_kernel_free(struct status_kernel *sk)
{
	free(sk->v);
	free(sk->km);
	free(sk->pkm);
}

static int do_status(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	struct glockd *gd = cl->gd;
	GlockIpcStatusReq *m = glock_ipc_status_req__unpack(NULL, len, p);
	GlockIpcStatusReply r = GLOCK_IPC_STATUS_REPLY__INIT;
	struct glockd_cluster_status st;
	struct glock__agent_counts ac;
	GlockIpcDeparted dep[GLOCK_NODES_MAX], *pdep[GLOCK_NODES_MAX];
	struct ls_count_ctx lc = { 0 };
	const struct glock__metrics *metrics;
	GlockIpcRequestSeries series[GLOCK__METRICS_OP_COUNT * GLOCK__METRICS_OUTCOME_COUNT];
	GlockIpcRequestSeries *pseries[GLOCK__METRICS_OP_COUNT * GLOCK__METRICS_OUTCOME_COUNT];
	struct status_links sl;
	struct glock_p2p_stats ps;
	struct status_kernel sk = { 0 };
	const struct glockd_ipc_ops *ops = gd->ipc->ops;
	bool p2p = glockd_config_p2p(gd->cfg);
	size_t i;
	int ret;

	if (!m)
		return -EBADMSG;
	glock_ipc_status_req__free_unpacked(m, NULL);
	lc.v = calloc(IPC_LOCKSPACES_MAX, sizeof(*lc.v));
	lc.pv = calloc(IPC_LOCKSPACES_MAX, sizeof(*lc.pv));
	lc.names = calloc(IPC_LOCKSPACES_MAX, sizeof(*lc.names));
	lc.core = gd->ipc->core;
	if (!lc.v || !lc.pv || !lc.names) {
		ret = reply_status(cl->conn, id, GLOCK_STATUS__GLOCK_STATUS_NO_MEMORY);
		goto out_free;
	}
	ops->cluster_status(gd, &st);
	glock__agent_counts(gd->ipc->core, &ac);
	r.status = GLOCK_STATUS__GLOCK_STATUS_OK;
	r.connected = st.connected;
	r.quorate = st.quorate;
	r.synced = st.synced;
	r.local_node = st.local_node;
	r.n_members = st.n_members;
	r.members = st.members;
	for (i = 0; i < st.n_departed; i++) {
		glock_ipc_departed__init(&dep[i]);
		dep[i].node = st.departed[i].node;
		dep[i].fenced = st.departed[i].fenced;
		dep[i].has_startup = st.departed[i].startup;
		dep[i].startup = st.departed[i].startup;
		dep[i].has_unknown = st.departed[i].unknown;
		dep[i].unknown = st.departed[i].unknown;
		pdep[i] = &dep[i];
	}
	r.n_departed = st.n_departed;
	r.departed = pdep;
	ops->p2p_stats(gd, &ps);
	r.glocks = ops->table_glocks(gd);
	r.agent_glocks = ac.glocks;
	r.local_holders = ac.holders;
	r.local_waiters = ac.waiters;
	r.clients = ac.clients;
	(void)ops->table_export(gd, ls_count_engine, &lc);
	(void)glock__agent_foreach(gd->ipc->core, ls_count_agent, &lc);
	r.n_lockspaces = lc.n;
	r.lockspaces = lc.pv;
	r.has_msgs_sent = r.has_msgs_received = r.has_items_sent = r.has_items_received = true;
	r.has_bad_msgs = r.has_try_again = r.has_queue_len = true;
	r.msgs_sent = st.msgs_sent;
	r.msgs_received = st.msgs_received;
	r.items_sent = st.items_sent;
	r.items_received = st.items_received;
	r.bad_msgs = st.bad_msgs;
	r.try_again = st.try_again;
	r.queue_len = st.queue_len;
	r.has_cache_hits = r.has_demotes = r.has_cached_idle = r.has_ipc_refused = true;
	r.has_kernel_bad_requests = r.has_version_mismatches = r.has_items_refused = true;
	r.has_ipc_bad_requests = true;
	metrics = glock__agent_metrics(gd->ipc->core);
	r.cache_hits = metrics->cache_hits;
	r.demotes = metrics->demotes;
	r.cached_idle = ac.cached;
	r.ipc_refused = gd->ipc->refused;
	r.ipc_bad_requests = gd->ipc->bad_requests;
	r.kernel_bad_requests = ops->kernel_bad_requests(gd);
	r.version_mismatches = st.version_mismatches;
	r.items_refused = st.apply_errors;
	r.n_latency_bounds_us = GLOCK__METRICS_BUCKETS;
	r.latency_bounds_us = (uint64_t *)glock__metrics_bounds_us;
	r.n_requests = fill_series(metrics, series, pseries);
	r.requests = pseries;
	r.has_p2p = true;
	r.p2p = p2p;
	if (p2p)
		status_p2p(gd, &ps, &sl, &r);
	status_kernel(gd, &r, &sk);
	ret = PB_SEND(cl->conn, false, id, glock_ipc_status_reply, &r);
out_free:
	status_kernel_free(&sk);
	free(lc.v);
	free(lc.pv);
	free(lc.names);
	return ret;
}

/* ---- dump and stats (paged) ---- */

static void pb_name_free(GlockIpcName *n)
{
	if (n)
		free(n->lockspace);
	free(n);
}

static GlockIpcName *pb_name_new(const struct glock_name *name)
{
	GlockIpcName *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	glock_ipc_name__init(n);
	n->lockspace = strdup(name->lockspace);
	if (!n->lockspace) {
		free(n);
		return NULL;
	}
	n->type = name->type;
	n->number = name->number;
	return n;
}

static void node_modes_free(GlockIpcNodeMode **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void dump_record_free(GlockIpcDumpRecord *r)
{
	size_t i;

	if (!r)
		return;
	pb_name_free(r->name);
	free(r->lvb.data);
	node_modes_free(r->holders, r->n_holders);
	node_modes_free(r->expired, r->n_expired);
	node_modes_free(r->waiters, r->n_waiters);
	for (i = 0; i < r->n_local; i++)
		free(r->local[i]);
	free(r->local);
	for (i = 0; i < r->n_plocks; i++)
		free(r->plocks[i]);
	free(r->plocks);
	free(r);
}

static GlockIpcNodeMode **holders_to_pb(const struct glock_holder_rec *h, size_t n)
{
	GlockIpcNodeMode **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = malloc(sizeof(*v[i]));
		if (!v[i]) {
			node_modes_free(v, i);
			return NULL;
		}
		glock_ipc_node_mode__init(v[i]);
		v[i]->node = h[i].node;
		v[i]->mode = h[i].mode;
		v[i]->has_flags = true;
		v[i]->flags = h[i].flags;
		v[i]->has_demote_sent = true;
		v[i]->demote_sent = h[i].demote_sent;
		v[i]->has_demote_target = true;
		v[i]->demote_target = h[i].demote_target;
	}
	return v;
}

static GlockIpcNodeMode **waiters_to_pb(const struct glock_waiter_rec *w, size_t n)
{
	GlockIpcNodeMode **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = malloc(sizeof(*v[i]));
		if (!v[i]) {
			node_modes_free(v, i);
			return NULL;
		}
		glock_ipc_node_mode__init(v[i]);
		v[i]->node = w[i].node;
		v[i]->mode = w[i].mode;
		v[i]->has_flags = true;
		v[i]->flags = w[i].flags;
		v[i]->has_req_id = true;
		v[i]->req_id = w[i].req_id;
		v[i]->has_convert = true;
		v[i]->convert = w[i].convert;
	}
	return v;
}

static int local_to_pb(void *ctx, const struct glock__agent_glock_info *info)
{
	GlockIpcDumpRecord *r = ctx;
	size_t i;

	r->has_cached_mode = r->has_request_pending = true;
	r->has_demote_pending = r->has_demote_target = true;
	r->cached_mode = info->cached;
	r->request_pending = info->request_pending;
	r->demote_pending = info->demote_pending;
	r->demote_target = info->demote_target;
	if (!info->n_local)
		return 0;
	r->local = calloc(info->n_local, sizeof(*r->local));
	if (!r->local)
		return -ENOMEM;
	for (i = 0; i < info->n_local; i++) {
		GlockIpcLocalHolder *l = malloc(sizeof(*l));

		if (!l)
			return -ENOMEM;
		glock_ipc_local_holder__init(l);
		l->handle = info->local[i].handle;
		l->mode = info->local[i].mode;
		l->has_want = l->has_pid = l->has_waiting = l->has_demote_asked = true;
		l->want = info->local[i].want;
		l->pid = info->local[i].pid;
		l->waiting = info->local[i].waiting;
		l->demote_asked = info->local[i].demote_told;
		r->local[r->n_local++] = l;
	}
	return 0;
}

struct page_ctx {
	struct glockd *gd;
	bool p2p; /* records say their master */
	const char *lockspace; /* filter, or NULL */
	uint64_t start, index;
	size_t budget, used;
	bool more;
	int err;
	GlockIpcDumpRecord **recs;
	size_t n, cap;
};

/* Adds r to the page, or ends the page (1) when it does not fit; takes r. */
static int page_add(struct page_ctx *pc, GlockIpcDumpRecord *r)
{
	size_t sz = glock_ipc_dump_record__get_packed_size(r) + 8;

	if (pc->n && pc->used + sz > pc->budget) {
		dump_record_free(r);
		pc->more = true;
		return 1;
	}
	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 64;
		GlockIpcDumpRecord **v = realloc(pc->recs, cap * sizeof(*v));

		if (!v) {
			dump_record_free(r);
			pc->err = -ENOMEM;
			return 1;
		}
		pc->recs = v;
		pc->cap = cap;
	}
	pc->recs[pc->n++] = r;
	pc->used += sz;
	return 0;
}

static int dump_one(void *ctx, const struct glock_record *rec)
{
	struct page_ctx *pc = ctx;
	GlockIpcDumpRecord *r;

	if (pc->lockspace && strcmp(pc->lockspace, rec->name.lockspace))
		return 0;
	if (pc->index++ < pc->start)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	glock_ipc_dump_record__init(r);
	r->name = pb_name_new(&rec->name);
	r->lvb.data = malloc(GLOCK_LVB_LEN);
	r->holders = holders_to_pb(rec->holders, rec->n_holders);
	r->expired = holders_to_pb(rec->expired, rec->n_expired);
	r->waiters = waiters_to_pb(rec->waiters, rec->n_waiters);
	if (!r->name || !r->lvb.data || !r->holders || !r->expired || !r->waiters)
		goto nomem_r;
	r->lvb.len = GLOCK_LVB_LEN;
	memcpy(r->lvb.data, rec->lvb, GLOCK_LVB_LEN);
	r->n_holders = rec->n_holders;
	r->n_expired = rec->n_expired;
	r->n_waiters = rec->n_waiters;
	if (glock__agent_lookup(pc->gd->ipc->core, &rec->name, local_to_pb, r) == -ENOMEM)
		goto nomem_r;
	if (pc->p2p) {
		r->has_master = true;
		r->master = pc->gd->ipc->ops->master_of(pc->gd, &rec->name);
	}
	return page_add(pc, r);
nomem_r:
	dump_record_free(r);
nomem:
	pc->err = -ENOMEM;
	return 1;
}

/*
 * p2p: after the mastered glocks, the ones this node's agent knows and
 * another node masters, with no holders (the master has those).
 */
static int dump_not_mastered(void *ctx, const struct glock__agent_glock_info *info)
{
	struct page_ctx *pc = ctx;
	struct glock_record rec;

	if (pc->gd->ipc->ops->master_of(pc->gd, info->name) == pc->gd->local_node)
		return 0;
	memset(&rec, 0, sizeof(rec));
	rec.name = *info->name;
	return dump_one(pc, &rec);
}

/* p2p: last, one record per file whose POSIX locks this node masters. */
struct plock_page {
	struct page_ctx *pc;
	GlockIpcDumpRecord *cur; /* the file being filled, not yet on the page */
	struct glock_name name;
	bool skip; /* the file is before the page's start, or filtered out */
	bool any;
};

static int plock_flush(struct plock_page *pp)
{
	GlockIpcDumpRecord *r = pp->cur;

	pp->cur = NULL;
	return r ? page_add(pp->pc, r) : 0;
}

static int dump_plock(void *ctx, const struct glock_name *name, const struct glock_plock_lock *l,
		      const struct glock_plock_waiter *w)
{
	struct plock_page *pp = ctx;
	struct page_ctx *pc = pp->pc;
	const struct glock_plock_lock *x = l ? l : &w->want;
	GlockIpcPlock *e, **v;
	GlockIpcDumpRecord *r;

	if (!pp->any || glock_name_compare(name, &pp->name)) {
		if (plock_flush(pp))
			return 1;
		pp->any = true;
		pp->name = *name;
		pp->skip = (pc->lockspace && strcmp(pc->lockspace, name->lockspace)) ||
			   pc->index++ < pc->start;
		if (pp->skip)
			return 0;
		r = calloc(1, sizeof(*r));
		if (!r)
			goto nomem;
		glock_ipc_dump_record__init(r);
		pp->cur = r;
		r->name = pb_name_new(name);
		if (!r->name)
			goto nomem;
		r->has_master = true;
		r->master = pc->gd->local_node;
	}
	if (pp->skip)
		return 0;
	r = pp->cur;
	e = calloc(1, sizeof(*e));
	v = e ? realloc(r->plocks, (r->n_plocks + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(e);
		goto nomem;
	}
	r->plocks = v;
	glock_ipc_plock__init(e);
	e->node = x->owner.node;
	e->owner = x->owner.id;
	e->has_pid = e->has_ofd = e->has_waiting = true;
	e->pid = x->owner.pid;
	e->ofd = x->owner.ofd;
	e->write = x->type == GLOCK_PLOCK_WR;
	e->start = x->start;
	e->end = x->end;
	e->waiting = w != NULL;
	r->plocks[r->n_plocks++] = e;
	return 0;
nomem:
	pc->err = -ENOMEM;
	return 1;
}

static size_t page_budget(qb_ipcs_connection_t *conn)
{
	int32_t sz = qb_ipcs_connection_get_buffer_size(conn);

	if (sz <= 0 || (size_t)sz > IPC_BUFFER_SIZE)
		sz = IPC_BUFFER_SIZE;
	return (size_t)sz > 2 * IPC_REPLY_SLACK ? (size_t)sz - IPC_REPLY_SLACK : IPC_REPLY_SLACK;
}

static int do_dump(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcPageReq *m = glock_ipc_page_req__unpack(NULL, len, p);
	GlockIpcDumpReply r = GLOCK_IPC_DUMP_REPLY__INIT;
	struct page_ctx pc = { .gd = cl->gd };
	size_t i;
	int ret;

	if (!m)
		return -EBADMSG;
	pc.start = m->start;
	pc.lockspace = m->lockspace;
	pc.budget = page_budget(cl->conn);
	pc.p2p = glockd_config_p2p(cl->gd->cfg);
	if (!cl->gd->ipc->ops->table_export(cl->gd, dump_one, &pc) && pc.p2p && !pc.more && !pc.err)
		(void)glock__agent_foreach(cl->gd->ipc->core, dump_not_mastered, &pc);
	if (pc.p2p && !pc.more && !pc.err) {
		struct plock_page pp = { .pc = &pc };

		if (!cl->gd->ipc->ops->plock_export(cl->gd, dump_plock, &pp))
			(void)plock_flush(&pp);
		else
			dump_record_free(pp.cur);
	}
	r.status = status_of(pc.err, 0);
	if (!pc.err) {
		r.n_records = pc.n;
		r.records = pc.recs;
		r.has_more = true;
		r.more = pc.more;
		r.has_next = true;
		r.next = pc.start + pc.n;
	}
	ret = PB_SEND(cl->conn, false, id, glock_ipc_dump_reply, &r);
	for (i = 0; i < pc.n; i++)
		dump_record_free(pc.recs[i]);
	free(pc.recs);
	glock_ipc_page_req__free_unpacked(m, NULL);
	return ret;
}

struct stats_ctx {
	GlockIpcStatsRecord *v;
	struct glock_name *names;
	size_t n, cap;
	const char *lockspace;
	int err;
};

static int stats_collect(void *ctx, const struct glock__agent_glock_info *info)
{
	struct stats_ctx *sc = ctx;
	GlockIpcStatsRecord *r;

	if (sc->lockspace && strcmp(sc->lockspace, info->name->lockspace))
		return 0;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		GlockIpcStatsRecord *v = realloc(sc->v, cap * sizeof(*v));
		struct glock_name *nv;

		if (!v) {
			sc->err = -ENOMEM;
			return 1;
		}
		sc->v = v;
		nv = realloc(sc->names, cap * sizeof(*nv));
		if (!nv) {
			sc->err = -ENOMEM;
			return 1;
		}
		sc->names = nv;
		sc->cap = cap;
	}
	r = &sc->v[sc->n];
	glock_ipc_stats_record__init(r);
	sc->names[sc->n] = *info->name;
	r->srtt = info->srtt;
	r->srttvar = info->srttvar;
	r->srttb = info->srttb;
	r->srttvarb = info->srttvarb;
	r->sirt = info->sirt;
	r->sirtvar = info->sirtvar;
	r->dcount = info->dcount;
	r->qcount = info->qcount;
	r->demotes = info->demotes;
	r->cached_mode = info->cached;
	sc->n++;
	return 0;
}

static int stats_order(const void *a, const void *b)
{
	return glock_name_compare(a, b);
}

static int do_stats(struct ipc_client *cl, int32_t id, const uint8_t *p, size_t len)
{
	GlockIpcPageReq *m = glock_ipc_page_req__unpack(NULL, len, p);
	GlockIpcStatsReply r = GLOCK_IPC_STATS_REPLY__INIT;
	struct stats_ctx sc = { 0 };
	GlockIpcStatsRecord **pv = NULL, *sorted = NULL;
	GlockIpcName *pn = NULL;
	size_t i, k, budget, used = 0;
	int ret;

	if (!m)
		return -EBADMSG;
	sc.lockspace = m->lockspace;
	(void)glock__agent_foreach(cl->gd->ipc->core, stats_collect, &sc);
	if (!sc.err && sc.n) {
		/* Sort names with their records: sort indexes by name. */
		struct { struct glock_name name; size_t i; } *ix = calloc(sc.n, sizeof(*ix));

		pv = calloc(sc.n, sizeof(*pv));
		sorted = calloc(sc.n, sizeof(*sorted));
		pn = calloc(sc.n, sizeof(*pn));
		if (!ix || !pv || !sorted || !pn) {
			sc.err = -ENOMEM;
		} else {
			for (i = 0; i < sc.n; i++) {
				ix[i].name = sc.names[i];
				ix[i].i = i;
			}
			qsort(ix, sc.n, sizeof(*ix), stats_order);
			for (i = 0; i < sc.n; i++)
				sorted[i] = sc.v[ix[i].i];
			for (i = 0; i < sc.n; i++)
				sc.names[i] = ix[i].name;
		}
		free(ix);
	}
	r.status = status_of(sc.err, 0);
	if (!sc.err) {
		budget = page_budget(cl->conn);
		for (i = m->start, k = 0; i < sc.n; i++, k++) {
			size_t sz;

			glock_ipc_name__init(&pn[i]);
			pn[i].lockspace = sc.names[i].lockspace;
			pn[i].type = sc.names[i].type;
			pn[i].number = sc.names[i].number;
			sorted[i].name = &pn[i];
			sz = glock_ipc_stats_record__get_packed_size(&sorted[i]) + 8;
			if (k && used + sz > budget) {
				r.has_more = true;
				r.more = true;
				break;
			}
			used += sz;
			pv[k] = &sorted[i];
		}
		r.n_records = k;
		r.records = pv;
		r.has_next = true;
		r.next = m->start + k;
	}
	ret = PB_SEND(cl->conn, false, id, glock_ipc_stats_reply, &r);
	free(pv);
	free(sorted);
	free(pn);
	free(sc.v);
	free(sc.names);
	glock_ipc_page_req__free_unpacked(m, NULL);
	return ret;
}

/* ---- libqb service callbacks ---- */

static bool allowed(const struct glockd_config *cfg, uid_t uid, gid_t gid)
{
	size_t i;

	if (uid == 0)
		return true;
	for (i = 0; i < cfg->n_allowed_uids; i++)
		if (cfg->allowed_uids[i] == uid)
			return true;
	for (i = 0; i < cfg->n_allowed_gids; i++)
		if (cfg->allowed_gids[i] == gid)
			return true;
	return false;
}

static int32_t ipc_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	struct glockd *gd = qb_ipcs_connection_service_context_get(c);

	if (gd->stopping)
		return -ESHUTDOWN;
	if (!allowed(gd->cfg, uid, gid)) {
		gd->ipc->refused++;
		log_rl(&gd->ipc->rl_bad, LOG_WARNING,
		       "IPC connection from uid %u gid %u refused: not in allowed_uids/allowed_gids",
		       (unsigned int)uid, (unsigned int)gid);
		return -EACCES;
	}
	return 0;
}

static void ipc_created(qb_ipcs_connection_t *c)
{
	struct glockd *gd = qb_ipcs_connection_service_context_get(c);
	struct qb_ipcs_connection_stats st;
	struct ipc_client *cl = calloc(1, sizeof(*cl));

	if (cl && qb_ipcs_connection_stats_get(c, &st, QB_FALSE) == 0)
		cl->pid = (uint32_t)st.client_pid;
	if (cl) {
		cl->owner.event = client_event;
		cl->acl = glock__agent_client_new(gd->ipc->core, &cl->owner, cl->pid);
	}
	if (!cl || !cl->acl) {
		free(cl);
		log_err("out of memory for a new IPC client: disconnecting it");
		qb_ipcs_disconnect(c);
		return;
	}
	cl->gd = gd;
	cl->conn = c;
	qb_ipcs_context_set(c, cl);
	gd->ipc->n_clients++;
	log_debug("client pid %u connected", cl->pid);
}

/* Releases the client's holders and withdraws its waiters at once. */
static int32_t ipc_closed(qb_ipcs_connection_t *c)
{
	struct ipc_client *cl = qb_ipcs_context_get(c);

	if (cl && cl->acl) {
		glock__agent_client_free(cl->gd->ipc->core, cl->acl);
		cl->acl = NULL;
		log_debug("client pid %u disconnected", cl->pid);
	}
	return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
	struct ipc_client *cl = qb_ipcs_context_get(c);

	if (!cl)
		return;
	if (cl->acl)
		glock__agent_client_free(cl->gd->ipc->core, cl->acl);
	cl->gd->ipc->n_clients--;
	qb_ipcs_context_set(c, NULL);
	free(cl);
}

static int32_t ipc_msg(qb_ipcs_connection_t *c, void *data, size_t size)
{
	struct ipc_client *cl = qb_ipcs_context_get(c);
	struct qb_ipc_request_header hdr;
	const uint8_t *payload;
	size_t len;
	int32_t id = 0;
	int err;

	if (!cl || !cl->acl) {
		reply_status(c, 0, GLOCK_STATUS__GLOCK_STATUS_INTERNAL);
		return 0;
	}
	if (!data || size < sizeof(hdr)) {
		err = -EBADMSG;
		goto bad;
	}
	/* Copied: libqb's ring buffer aligns messages to 4 bytes, the header wants 8. */
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size < (int32_t)sizeof(hdr) || (size_t)hdr.size != size) {
		err = -EBADMSG;
		goto bad;
	}
	id = hdr.id;
	payload = (const uint8_t *)data + sizeof(hdr);
	len = size - sizeof(hdr);
	switch (id) {
	case GLOCK_IPC_MSG__GLOCK_IPC_HELLO: err = do_hello(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_LOCK: err = do_lock(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_CONVERT: err = do_convert(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_UNLOCK: err = do_unlock(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_CANCEL: err = do_cancel(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_STATUS: err = do_status(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_DUMP: err = do_dump(cl, id, payload, len); break;
	case GLOCK_IPC_MSG__GLOCK_IPC_STATS: err = do_stats(cl, id, payload, len); break;
	default: err = -EBADMSG; break;
	}
	if (err != -EBADMSG) {
		if (err)
			log_rl(&cl->gd->ipc->rl_bad, LOG_WARNING,
			       "client pid %u: cannot send a reply (%s)", cl->pid, strerror(-err));
		return 0;
	}
bad:
	cl->gd->ipc->bad_requests++;
	log_rl(&cl->gd->ipc->rl_bad, LOG_WARNING,
	       "client pid %u: malformed request (id %d, %zu bytes): answered INVALID", cl->pid,
	       (int)id, size);
	reply_status(c, id, GLOCK_STATUS__GLOCK_STATUS_INVALID);
	return 0;
}

static int32_t poll_job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(ipc_loop, p, data, fn);
}

static int32_t poll_dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t evts, void *data,
				 qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(ipc_loop, p, fd, evts, data, fn);
}

static int32_t poll_dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t evts, void *data,
				 qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(ipc_loop, p, fd, evts, data, fn);
}

static int32_t poll_dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(ipc_loop, fd);
}

static struct qb_ipcs_service_handlers service_handlers = {
	.connection_accept = ipc_accept,
	.connection_created = ipc_created,
	.msg_process = ipc_msg,
	.connection_closed = ipc_closed,
	.connection_destroyed = ipc_destroyed,
};

static struct qb_ipcs_poll_handlers poll_handlers = {
	.job_add = poll_job_add,
	.dispatch_add = poll_dispatch_add,
	.dispatch_mod = poll_dispatch_mod,
	.dispatch_del = poll_dispatch_del,
};

int glockd_ipc_start(struct glockd *gd, struct glock__agent *core,
		     const struct glockd_ipc_ops *ops)
{
	struct glockd_ipc *ipc = calloc(1, sizeof(*ipc));
	int err;

	if (!ipc) {
		err = -ENOMEM;
		goto out_log;
	}
	ipc->gd = gd;
	ipc->ops = ops;
	ipc->core = core;
	ipc->rl_bad.interval_ms = 10000;
	ipc->rl_bad.burst = 5;
	ipc->rl_event.interval_ms = 10000;
	ipc->rl_event.burst = 5;
	ipc_loop = gd->loop;
	ipc->svc = qb_ipcs_create(gd->cfg->ipc_name, 0, QB_IPC_SHM, &service_handlers);
	if (!ipc->svc) {
		err = errno ? -errno : -ENOMEM;
		free(ipc);
		goto out_log;
	}
	qb_ipcs_service_context_set(ipc->svc, gd);
	qb_ipcs_poll_handlers_set(ipc->svc, &poll_handlers);
	qb_ipcs_enforce_buffer_size(ipc->svc, IPC_BUFFER_SIZE);
	gd->ipc = ipc;
	err = qb_ipcs_run(ipc->svc);
	if (err) {
		qb_ipcs_destroy(ipc->svc);
		gd->ipc = NULL;
		free(ipc);
		err = err < 0 ? err : -EIO;
		goto out_log;
	}
	log_info("lock agent ready; IPC service '%s'", gd->cfg->ipc_name);
	return 0;
out_log:
	log_err("cannot start the IPC server '%s': %s", gd->cfg->ipc_name, strerror(-err));
	return err;
}

void glockd_ipc_stop(struct glockd *gd)
{
	if (!gd->ipc)
		return;
	/* Destroying the service closes every connection (holders go). */
	qb_ipcs_destroy(gd->ipc->svc);
	free(gd->ipc);
	gd->ipc = NULL;
}
