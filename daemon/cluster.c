/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster.c: everything between glockd and corosync.
 *
 *   CPG          one group (cfg->cpg_group); agreed-order delivery is decoded
 *                by the codec and applied to the engine, item by item.
 *   votequorum   its verdict is multicast as QUORUM, so that it is ordered
 *                with everything else (docs/DESIGN.md section 3).
 *   send queue   local ops, HELLO/QUORUM/FENCED/RECOVERY_DONE and snapshot
 *                chunks, batched while the ring pushes back.
 *   fencing      the lowest synced member fences departed nodes.
 *   reconnect    when the local corosync dies, start over with a fresh
 *                engine once it is back.
 *
 * Re-entrancy rule: the engine's output callback never calls back into the
 * engine.  Work that needs the engine (exporting a snapshot, deciding who
 * fences) is noted in the callback and done by after_apply() once
 * glock_engine_apply() has returned.  Tearing down the CPG connection is
 * never done from inside a CPG callback or a send: it is deferred to a
 * loop job (cluster_lost()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <qb/qblist.h>
#include <qb/qbloop.h>

#include "cluster.h"
#include "codec.h"
#include "config.h"
#include "glockd.h"
#include "link_peers.h"
#include "log.h"

/*
 * Batching bound: one GlockMessage carries at most this many items or
 * bytes.  An op encodes to ~60-130 bytes, so 512 ops stay near 64 KiB,
 * far below CPG's 1 MiB message limit and small enough for one knet burst.
 */
#define BATCH_ITEMS_MAX 512
#define BATCH_BYTES_MAX (64u * 1024u)
#define SNAPSHOT_MSG_BYTES (64u * 1024u)

/* CS_ERR_TRY_AGAIN backoff: 1 ms doubling to 50 ms. */
#define RETRY_MIN_NS (1000ull * 1000ull)
#define RETRY_MAX_NS (50ull * 1000ull * 1000ull)
/* Reconnect to a dead corosync: 100 ms doubling to 5 s. */
#define RECONNECT_MIN_MS 100u
#define RECONNECT_MAX_MS 5000u
/* A failed fence command is retried after this long. */
#define FENCE_RETRY_MS 2000u
#define FENCE_POLL_MS 100u /* fallback when pidfd_open() is not available */
#define FENCE_JOBS_MAX GLOCK_NODES_MAX
#define JOIN_ATTEMPTS 50     /* cpg_join TRY_AGAIN, 100 ms apart */
#define DEPARTED_MAX (4 * GLOCK_NODES_MAX) /* as many as a snapshot may carry */

#define MS_TO_NS(ms) ((uint64_t)(ms) * 1000000ull)

enum sq_kind {
	SQ_ITEM, /* one input, batched with its neighbours */
	SQ_RAW,  /* a ready message (snapshot chunk), sent alone */
	SQ_REPORT, /* a ready message of p2p REPORTs: kept across changes */
};

struct sq_entry {
	struct qb_list_head list;
	enum sq_kind kind;
	struct glock_input in; /* SQ_ITEM: OP, QUORUM, HELLO, FENCED, RECOVERY_DONE */
	uint8_t *buf;          /* SQ_RAW */
	size_t len;
};

enum fence_state {
	FENCE_FREE = 0,
	FENCE_RUNNING,   /* command running */
	FENCE_BACKOFF,   /* command failed, retry timer armed */
	FENCE_CONFIRMED, /* FENCED + RECOVERY_DONE queued, not yet delivered */
};

struct fence_job {
	struct glockd_cluster *c;
	enum fence_state state;
	uint32_t node;
	pid_t pid;
	int pidfd;               /* -1: polled with waitpid() on a timer */
	bool stale;              /* someone else confirmed: do not confirm again */
	unsigned int attempts;
	qb_loop_timer_handle timer;
	bool timer_armed;
};

struct glockd_cluster {
	struct glockd *gd;
	const struct glockd_cluster_ops *ops; /* main.c's wiring */
	pid_t pid;
	struct cpg_name group;

	cpg_handle_t cpg;
	bool cpg_init, cpg_polled;
	int cpg_fd;
	votequorum_handle_t vq;
	bool vq_init, vq_polled;
	int vq_fd;
	bool vq_quorate; /* last notification */
	bool connected;  /* joined the group */
	bool lost;       /* teardown scheduled (cluster_lost) */

	/* Send queue. */
	struct qb_list_head sendq;
	size_t sq_len;   /* entries */
	size_t sq_ops;   /* of which local ops: bounded by cfg->send_queue_max */
	bool flush_pending; /* flush_timer armed */
	qb_loop_timer_handle flush_timer;
	bool retry_armed;
	qb_loop_timer_handle retry_timer;
	uint64_t retry_ns;
	struct glock_input batch[BATCH_ITEMS_MAX];

	bool reconnect_armed;
	qb_loop_timer_handle reconnect_timer;
	unsigned int reconnect_ms;

	/* Deferred until the current apply() returns. */
	bool snapshot_due;
	bool fence_check_due;

	/*
	 * Members of the current configuration (ascending) and which of them
	 * hold the table, as far as this node can tell: the engine knows but
	 * does not export it.  Mirrored from the ordered stream: joiners start
	 * unsynced; a completed sync (local SYNCED, or a SNAPSHOT_END the
	 * engine accepted) makes everyone synced; a reset (UNSYNCED) nobody.
	 * Only used to pick the fencer while the local node is synced.
	 */
	uint32_t members[GLOCK_NODES_MAX];
	size_t n_members;

	struct fence_job fence[FENCE_JOBS_MAX];
	/* corosync's nodelist as the last HELLO told it (startup fencing). */
	uint32_t configured[GLOCK_NODES_MAX];
	size_t n_configured;
	bool nodelist_error_logged;

	/* Counters for glockctl status. */
	struct glock_codec_stats codec;
	uint64_t msgs_sent, items_sent, try_again, apply_errors;
	uint32_t version_logged[GLOCK_NODES_MAX]; /* senders already logged */
	size_t n_version_logged;
	struct log_ratelimit rl_bad, rl_fence, rl_reconnect, rl_apply;
};

static void sendq_flush(struct glockd_cluster *c);
static void fence_check(struct glockd_cluster *c);
static int cluster_connect(struct glockd_cluster *c);
static void reconnect_arm(struct glockd_cluster *c);

static const char *cs_name(cs_error_t rc)
{
	switch (rc) {
	case CS_OK: return "OK";
	case CS_ERR_LIBRARY: return "CS_ERR_LIBRARY (corosync gone)";
	case CS_ERR_TRY_AGAIN: return "CS_ERR_TRY_AGAIN";
	case CS_ERR_INVALID_PARAM: return "CS_ERR_INVALID_PARAM";
	case CS_ERR_NO_MEMORY: return "CS_ERR_NO_MEMORY";
	case CS_ERR_BAD_HANDLE: return "CS_ERR_BAD_HANDLE";
	case CS_ERR_ACCESS: return "CS_ERR_ACCESS";
	case CS_ERR_NOT_EXIST: return "CS_ERR_NOT_EXIST";
	case CS_ERR_EXIST: return "CS_ERR_EXIST";
	case CS_ERR_TOO_BIG: return "CS_ERR_TOO_BIG";
	case CS_ERR_NOT_SUPPORTED: return "CS_ERR_NOT_SUPPORTED";
	default: return "corosync error";
	}
}

/* ---- send queue ---- */

static struct sq_entry *sq_first(struct glockd_cluster *c)
{
	return qb_list_first_entry(&c->sendq, struct sq_entry, list);
}

static void sq_remove(struct glockd_cluster *c, struct sq_entry *e)
{
	qb_list_del(&e->list);
	c->sq_len--;
	if (e->kind == SQ_ITEM && e->in.kind == GLOCK_IN_OP)
		c->sq_ops--;
	free(e->buf);
	free(e);
}

static int sq_push_item(struct glockd_cluster *c, const struct glock_input *in)
{
	struct sq_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->kind = SQ_ITEM;
	e->in = *in;
	qb_list_add_tail(&e->list, &c->sendq);
	c->sq_len++;
	if (in->kind == GLOCK_IN_OP)
		c->sq_ops++;
	return 0;
}

static int sq_push_raw(struct glockd_cluster *c, const uint8_t *buf, size_t len,
		       enum sq_kind kind)
{
	struct sq_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->buf = malloc(len);
	if (!e->buf) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->buf, buf, len);
	e->len = len;
	e->kind = kind;
	qb_list_add_tail(&e->list, &c->sendq);
	c->sq_len++;
	return 0;
}

static void sq_clear(struct glockd_cluster *c)
{
	while (!qb_list_empty(&c->sendq))
		sq_remove(c, sq_first(c));
}

/*
 * A configuration change makes unsent HELLO, QUORUM and snapshot chunks
 * meaningless: each belongs to the sync round of the configuration it was
 * queued in, and the engine starts a new round (DESIGN §3 rule 5).  Ops,
 * FENCED and RECOVERY_DONE stay: they are true in any configuration.
 */
static void sq_purge_sync(struct glockd_cluster *c)
{
	struct sq_entry *e, *tmp;
	size_t purged = 0;

	qb_list_for_each_entry_safe(e, tmp, &c->sendq, list) {
		if (e->kind == SQ_REPORT)
			continue; /* the master of its glocks waits for it */
		if (e->kind == SQ_RAW ||
		    (e->in.kind == GLOCK_IN_HELLO || e->in.kind == GLOCK_IN_QUORUM)) {
			sq_remove(c, e);
			purged++;
		}
	}
	if (purged)
		log_debug("dropped %zu unsent sync message(s) of the previous configuration",
			  purged);
}

static void queue_control(struct glockd_cluster *c, const struct glock_input *in)
{
	if (sq_push_item(c, in))
		log_err("out of memory queueing a %d message: it is not sent", in->kind);
}

/*
 * The nodes startup fencing must account for: corosync's nodelist, read
 * afresh for every HELLO (it may be reloaded).  On failure none, logged
 * once: a fresh table is then trusted as before startup fencing.
 */
static void read_configured(struct glockd_cluster *c)
{
	char err[256] = "";
	cmap_handle_t h;
	int r = -ENOTCONN;

	c->n_configured = 0;
	if (!c->gd->cfg->startup_fencing)
		return;
	if (cmap_initialize(&h) == CS_OK) {
		r = glock_nodelist_ids_from_cmap(h, c->configured, GLOCK_NODES_MAX,
						 &c->n_configured, err, sizeof(err));
		cmap_finalize(h);
	} else {
		snprintf(err, sizeof(err), "cannot connect to cmap");
	}
	if (r) {
		c->n_configured = 0;
		if (!c->nodelist_error_logged)
			log_err("startup fencing: corosync's nodelist unreadable (%s): a fresh lock "
				"table will not wait for absent nodes", err);
		c->nodelist_error_logged = true;
	}
}

static void queue_hello(struct glockd_cluster *c)
{
	struct glock_input in = { .kind = GLOCK_IN_HELLO };

	read_configured(c);
	in.u.hello.node = c->gd->local_node;
	in.u.hello.synced = glock_engine_synced(c->gd->engine);
	in.u.hello.config_id = glock_engine_config_id(c->gd->engine);
	in.u.hello.n_configured = c->n_configured;
	in.u.hello.configured = c->configured;
	queue_control(c, &in);
}

static void queue_quorum(struct glockd_cluster *c, bool quorate)
{
	struct glock_input in = { .kind = GLOCK_IN_QUORUM };

	in.u.quorum.from = c->gd->local_node;
	in.u.quorum.quorate = quorate;
	in.u.quorum.config_id = glock_engine_config_id(c->gd->engine);
	queue_control(c, &in);
}

static void retry_fire(void *data)
{
	struct glockd_cluster *c = data;

	c->retry_armed = false;
	sendq_flush(c);
}

/* The ring pushed back: try again soon, backing off while it keeps doing so. */
static void retry_arm(struct glockd_cluster *c)
{
	if (c->retry_armed)
		return;
	c->retry_ns = c->retry_ns ? c->retry_ns * 2 : RETRY_MIN_NS;
	if (c->retry_ns > RETRY_MAX_NS)
		c->retry_ns = RETRY_MAX_NS;
	if (qb_loop_timer_add(c->gd->loop, QB_LOOP_HIGH, c->retry_ns, c, retry_fire,
			      &c->retry_timer) == 0)
		c->retry_armed = true;
	else
		log_err("cannot arm the send retry timer");
}

static void flush_fire(void *data)
{
	struct glockd_cluster *c = data;

	c->flush_pending = false;
	if (!c->retry_armed)
		sendq_flush(c);
}

/*
 * Sends as soon as the current loop iteration's work is done, unless a
 * retry is already pending.  On an idle ring an item thus goes out before
 * the loop next sleeps (no added latency), yet everything queued in the
 * same iteration (a whole CPG dispatch's worth of GRANT-triggered ops, a
 * burst of IPC requests) leaves as one batch.  While the ring pushes back
 * (CS_ERR_TRY_AGAIN) items pile up and leave together on the next attempt.
 *
 * A zero-delay timer, not a loop job: libqb 2.0.6's qb_loop_run() does not
 * look at jobs added while it runs the last priority level (they wait on
 * the level's wait list) before it sleeps in epoll_wait() until the next
 * timer or fd event.  A job added from an IPC or CPG dispatch thus waited
 * for an unrelated timer (~50 ms, measured: uncached acquire 51 ms instead
 * of ~0.2 ms).  An expired timer makes that sleep's timeout 0.
 */
static void sendq_kick(struct glockd_cluster *c)
{
	if (c->retry_armed || c->flush_pending)
		return;
	if (qb_loop_timer_add(c->gd->loop, QB_LOOP_HIGH, 0, c, flush_fire, &c->flush_timer) == 0)
		c->flush_pending = true;
	else
		sendq_flush(c);
}

static void cluster_lost_job(void *data);

/*
 * The local corosync is gone (or the connection is unusable).  Logged once;
 * the teardown runs as a loop job, outside any CPG callback or engine call.
 */
static void cluster_lost(struct glockd_cluster *c, const char *what, cs_error_t rc)
{
	if (c->lost)
		return;
	c->lost = true;
	log_err("lost the connection to corosync (%s: %s): every local lock is lost; reconnecting",
		what, cs_name(rc));
	if (qb_loop_job_add(c->gd->loop, QB_LOOP_HIGH, c, cluster_lost_job))
		log_err("cannot schedule the reconnect job");
}

/*
 * Encodes the run of SQ_ITEM entries at the head of the queue, at most
 * BATCH_ITEMS_MAX items and (unless one item alone is bigger) at most
 * BATCH_BYTES_MAX bytes.  Returns 0 with *ret_n items encoded, or -errno.
 */
static int batch_encode(struct glockd_cluster *c, uint8_t **ret_buf, size_t *ret_len,
			size_t *ret_n)
{
	struct sq_entry *e;
	size_t n = 0, len;
	uint8_t *buf;
	int r;

	qb_list_for_each_entry(e, &c->sendq, list) {
		if (e->kind != SQ_ITEM || n == BATCH_ITEMS_MAX)
			break;
		c->batch[n++] = e->in;
	}
	for (;;) {
		r = glock_codec_encode(c->gd->local_node, c->batch, n, &buf, &len);
		if (r)
			return r;
		if (len <= BATCH_BYTES_MAX || n == 1)
			break;
		free(buf);
		n /= 2;
	}
	*ret_buf = buf;
	*ret_len = len;
	*ret_n = n;
	return 0;
}

/*
 * Only reachable through a bug: submit() checks each op with the encoder
 * and the control items are built here.  Drops what does not encode, so
 * one bad item cannot wedge the queue.
 */
static void sq_drop_unencodable(struct glockd_cluster *c)
{
	struct sq_entry *e, *tmp;

	qb_list_for_each_entry_safe(e, tmp, &c->sendq, list) {
		uint8_t *buf;
		size_t len;
		struct glock_op op;
		bool local_op;

		if (e->kind != SQ_ITEM)
			break;
		if (glock_codec_encode(c->gd->local_node, &e->in, 1, &buf, &len) == 0) {
			free(buf);
			continue;
		}
		log_err("dropping an unencodable queued item (kind %d)", e->in.kind);
		local_op = e->in.kind == GLOCK_IN_OP;
		op = e->in.u.op;
		sq_remove(c, e);
		if (local_op)
			c->ops->op_error(c->gd, &op, -EINVAL);
	}
}

static void sendq_flush(struct glockd_cluster *c)
{
	while (!qb_list_empty(&c->sendq) && c->connected && !c->lost) {
		struct sq_entry *head = sq_first(c);
		struct iovec iov;
		uint8_t *buf = NULL;
		size_t len, n = 1, i;
		cs_error_t rc;
		int r;

		if (head->kind != SQ_ITEM) {
			iov.iov_base = head->buf;
			iov.iov_len = head->len;
		} else {
			r = batch_encode(c, &buf, &len, &n);
			if (r == -EINVAL) {
				sq_drop_unencodable(c);
				continue;
			}
			if (r) {
				log_err("cannot encode a batch of %zu: %s; retrying",
					n, strerror(-r));
				retry_arm(c);
				return;
			}
			iov.iov_base = buf;
			iov.iov_len = len;
		}
		rc = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
		free(buf);
		if (rc == CS_ERR_TRY_AGAIN) {
			c->try_again++;
			retry_arm(c);
			return;
		}
		if (rc != CS_OK) {
			cluster_lost(c, "cpg_mcast_joined", rc);
			return;
		}
		c->msgs_sent++;
		c->items_sent += head->kind != SQ_ITEM ? 0 : n;
		c->retry_ns = 0;
		for (i = 0; i < n; i++)
			sq_remove(c, sq_first(c));
	}
}

/* ---- applying inputs ---- */

static int snapshot_chunk(void *ctx, const uint8_t *buf, size_t len)
{
	return sq_push_raw(ctx, buf, len, SQ_RAW);
}

/* The local node is the donor: export the table as it is at the sync point. */
static void snapshot_send(struct glockd_cluster *c)
{
	size_t before = c->sq_len, glocks = glock_engine_glock_count(c->gd->engine);
	int r;

	c->snapshot_due = false;
	r = glock_codec_encode_snapshot(c->gd->engine, c->gd->local_node, SNAPSHOT_MSG_BYTES,
					snapshot_chunk, c);
	if (r) {
		/*
		 * Chunks already queued go out; without SNAPSHOT_END the joiners
		 * keep waiting, and the next configuration change retries.
		 */
		log_err("cannot export the snapshot: %s", strerror(-r));
		return;
	}
	log_info("donor: sending the table (%zu glocks) in %zu message(s)", glocks,
		 c->sq_len - before);
	sendq_kick(c);
}

/* The engine's departed list (at most DEPARTED_MAX), for before/after. */
static size_t departed_now(const struct glock_engine *eng, struct glock_departed_rec *d)
{
	size_t n = glock_engine_departed(eng, d, DEPARTED_MAX);

	return n < DEPARTED_MAX ? n : DEPARTED_MAX;
}

static const struct glock_departed_rec *departed_in(const struct glock_departed_rec *d, size_t n,
						    uint32_t node)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d[i].node == node)
			return &d[i];
	return NULL;
}

/*
 * Departed nodes that a HELLO or QUORUM took off the list without a
 * RECOVERY_DONE: a startup node that joined, or what a fresh table does
 * not keep (DESIGN §3 rule 8).  They hold nothing any table knows, so the
 * lock path's placeholders for them go as after a recovery (DESIGN §9).
 */
static void departed_vanished(struct glockd_cluster *c, const struct glock_departed_rec *before,
			      size_t n_before)
{
	struct glock_departed_rec *after = malloc(DEPARTED_MAX * sizeof(*after));
	size_t n_after, i;

	if (!after) {
		log_err("out of memory comparing departed lists");
		return;
	}
	n_after = departed_now(c->gd->engine, after);
	for (i = 0; i < n_before; i++) {
		if (departed_in(after, n_after, before[i].node))
			continue;
		if (before[i].startup)
			log_node(LOG_NOTICE, before[i].node,
				 "startup fencing: node %u joined before it was fenced: not fenced",
				 before[i].node);
		c->ops->fenced(c->gd, before[i].node, false);
		c->ops->fenced(c->gd, before[i].node, true);
	}
	free(after);
}

/* Work noted by the output callback, done once apply() has returned. */
static void after_apply(struct glockd_cluster *c)
{
	c->ops->applied(c->gd);
	if (c->snapshot_due)
		snapshot_send(c);
	if (c->fence_check_due)
		fence_check(c);
}

static void fence_job_free(struct fence_job *j);

static int deliver_item(void *ctx, const struct glock_input *in)
{
	struct glockd_cluster *c = ctx;
	struct glockd *gd = c->gd;
	/* HELLO and QUORUM may end departures without a RECOVERY_DONE. */
	bool watch = in->kind == GLOCK_IN_HELLO || in->kind == GLOCK_IN_QUORUM;
	struct glock_departed_rec *before = NULL;
	size_t n_before = 0;
	int err;

	if (watch && glock_engine_departed(gd->engine, NULL, 0)) {
		before = malloc(DEPARTED_MAX * sizeof(*before));
		if (before)
			n_before = departed_now(gd->engine, before);
	}
	err = glock_engine_apply(gd->engine, in);
	if (err && in->kind == GLOCK_IN_OP && in->u.op.node == gd->local_node) {
		/* The agent answers its requester (-EEXIST: a resend, already queued). */
		c->ops->op_error(gd, &in->u.op, err);
	} else if (err) {
		c->apply_errors++;
		log_rl(&c->rl_apply, LOG_DEBUG, "input kind %d refused by the engine: %s",
		       in->kind, glock_engine_strerror(err));
	}
	/* Not a quorum loss: the lock path drops its table then anyway (RESET). */
	if (!err && n_before && glock_engine_synced(gd->engine))
		departed_vanished(c, before, n_before);
	free(before);
	if (!err && in->kind == GLOCK_IN_HELLO)
		c->ops->member_done(gd, in->u.hello.node); /* its REPORTs came before */
	if (!err && (in->kind == GLOCK_IN_FENCED || in->kind == GLOCK_IN_RECOVERY_DONE))
		c->ops->fenced(gd, in->u.departed.node, in->kind == GLOCK_IN_RECOVERY_DONE);
	if (in->kind == GLOCK_IN_SNAPSHOT_END && !err) { /* everyone holds the table now */
		c->fence_check_due = true;
	}
	if (in->kind == GLOCK_IN_FENCED) {
		size_t i;

		/* Confirmed (by us or a fencer before us): no need to fence it again. */
		for (i = 0; i < FENCE_JOBS_MAX; i++) {
			struct fence_job *j = &c->fence[i];

			if (j->state == FENCE_FREE || j->node != in->u.departed.node)
				continue;
			if (j->state == FENCE_RUNNING)
				j->stale = true;
			else
				fence_job_free(j);
		}
	}
	after_apply(c);
	return 0;
}

static int deliver_report(void *ctx, uint32_t from, uint32_t to, const struct glock_p2p_msg *msg)
{
	struct glockd_cluster *c = ctx;

	return c->ops->report(c->gd, from, to, msg);
}

static struct glockd_cluster *cpg_cluster(cpg_handle_t handle)
{
	void *ctx = NULL;

	if (cpg_context_get(handle, &ctx) != CS_OK)
		return NULL;
	return ctx;
}

static bool version_logged(struct glockd_cluster *c, uint32_t node)
{
	size_t i;

	for (i = 0; i < c->n_version_logged; i++)
		if (c->version_logged[i] == node)
			return true;
	if (c->n_version_logged < GLOCK_NODES_MAX)
		c->version_logged[c->n_version_logged++] = node;
	return false;
}

static void cpg_deliver_cb(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
			   uint32_t pid, void *msg, size_t len)
{
	struct glockd_cluster *c = cpg_cluster(handle);
	uint64_t bad_before;
	int r;

	if (!c || c->lost)
		return;
	c->ops->clock(c->gd);
	bad_before = c->codec.bad_items;
	r = glock_codec_decode_ex(msg, len, nodeid, deliver_item,
				  glockd_config_p2p(c->gd->cfg) ? deliver_report : NULL, c,
				  &c->codec);
	if (r == -EPROTONOSUPPORT) {
		if (!version_logged(c, nodeid))
			log_node(LOG_ERR, nodeid,
				 "speaks wire version %u, this glockd speaks %u: its messages are dropped "
				 "and it cannot join until both run the same major version",
				 c->codec.last_bad_major, GLOCK_WIRE_VERSION_MAJOR);
	} else if (r == -EBADMSG) {
		log_rl(&c->rl_bad, LOG_WARNING, "node %u: unreadable message (%zu bytes) dropped",
		       nodeid, len);
	} else if (r) {
		log_err("node %u: decoding a message: %s", nodeid, strerror(-r));
	}
	if (c->codec.bad_items > bad_before)
		log_rl(&c->rl_bad, LOG_WARNING, "node %u: %llu invalid item(s) skipped", nodeid,
		       (unsigned long long)(c->codec.bad_items - bad_before));
}

static int uint32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* votequorum's verdict right now, asked synchronously. */
static bool vq_quorate_now(struct glockd_cluster *c)
{
	struct votequorum_info info;
	cs_error_t rc;

	if (!c->vq_init)
		return false;
	rc = votequorum_getinfo(c->vq, 0 /* local node */, &info);
	if (rc != CS_OK) {
		log_warn("votequorum_getinfo: %s; using the last notification (%s)", cs_name(rc),
			 c->vq_quorate ? "quorate" : "not quorate");
		return c->vq_quorate;
	}
	c->vq_quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
	/*
	 * Problem scenario (seen in tests/cluster): node 1 is cut off alone;
	 * at its CPG change votequorum_getinfo still says "quorate" (its own
	 * notification comes 4 ms later).  A QUORUM{true} from that stale
	 * answer would let a one-node partition grant and fence.  A partition
	 * with fewer glockd members than the quorum needs votes (one vote per
	 * node) cannot be quorate, whatever getinfo says.
	 */
	if (c->vq_quorate && info.quorum > 0 && c->n_members < info.quorum) {
		log_notice("votequorum says quorate but only %zu of the %u nodes quorum needs are "
			   "here: not quorate", c->n_members, info.quorum);
		return false;
	}
	return c->vq_quorate;
}

/*
 * The CONFCHG's incarnations (engine.h): FNV-1a over the sorted members'
 * node ids and glockd pids, as every member's confchg lists them.  A glockd
 * that restarted has another pid, so a member list that comes back is
 * another configuration.  (corosync's totem ring id would not do: its
 * callback comes after the CPG changes of a new ring, and a glockd that
 * restarts stays in the ring.)
 */
static uint64_t incarnations_hash(const struct cpg_address *list, size_t n_list,
				  const uint32_t *sorted, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i, k;
	int b;

	for (i = 0; i < n; i++) {
		for (k = 0; k < n_list && list[k].nodeid != sorted[i]; k++)
			;
		if (k == n_list)
			continue;
		for (b = 0; b < 4; b++)
			h = (h ^ ((sorted[i] >> (8 * b)) & 0xff)) * 1099511628211ull;
		for (b = 0; b < 4; b++)
			h = (h ^ ((list[k].pid >> (8 * b)) & 0xff)) * 1099511628211ull;
	}
	return h ? h : 1;
}

static void cpg_confchg_cb(cpg_handle_t handle, const struct cpg_name *group,
			   const struct cpg_address *member_list, size_t n_member,
			   const struct cpg_address *left_list, size_t n_left,
			   const struct cpg_address *joined_list, size_t n_joined)
{
	struct glockd_cluster *c = cpg_cluster(handle);
	uint32_t nodes[GLOCK_NODES_MAX], without[GLOCK_NODES_MAX], lost[GLOCK_NODES_MAX];
	struct glock_input in = { .kind = GLOCK_IN_CONFCHG };
	size_t n = 0, i, k, n_lost = 0;
	bool self = false;
	int err;

	if (!c || c->lost)
		return;
	for (i = 0; i < n_left; i++) {
		log_node(left_list[i].reason == CPG_REASON_LEAVE ? LOG_INFO : LOG_NOTICE,
			 left_list[i].nodeid, "glockd (pid %u) left the group (reason %u)",
			 left_list[i].pid, left_list[i].reason);
		/*
		 * Gone with its corosync: it may have delivered its own last
		 * ops in its own partition (engine.h, confchg.lost), so it is
		 * fenced even if it holds nothing here.  A glockd that exited
		 * or left cleanly had every message of its delivered to all.
		 */
		if (left_list[i].reason == CPG_REASON_NODEDOWN && n_lost < GLOCK_NODES_MAX &&
		    left_list[i].nodeid != c->gd->local_node)
			lost[n_lost++] = left_list[i].nodeid;
	}
	in.u.confchg.lost = lost;
	in.u.confchg.n_lost = n_lost;
	for (i = 0; i < n_joined; i++)
		log_node(LOG_INFO, joined_list[i].nodeid, "glockd (pid %u) joined the group",
			 joined_list[i].pid);
	for (i = 0; i < n_member; i++) {
		uint32_t id = member_list[i].nodeid;

		if (id == c->gd->local_node && member_list[i].pid == (uint32_t)c->pid)
			self = true;
		for (k = 0; k < n && nodes[k] != id; k++)
			;
		if (k < n) {
			log_node(LOG_ERR, id, "more than one glockd in the group (pid %u): "
				 "one glockd per node", member_list[i].pid);
			continue;
		}
		if (n == GLOCK_NODES_MAX) {
			log_err("more than %d nodes in the group: node %u ignored",
				GLOCK_NODES_MAX, id);
			continue;
		}
		nodes[n++] = id;
	}
	if (!self) {
		log_debug("configuration change without this glockd (leaving)");
		return;
	}
	qsort(nodes, n, sizeof(nodes[0]), uint32_cmp);
	memcpy(c->members, nodes, n * sizeof(nodes[0]));
	c->n_members = n;
	c->ops->clock(c->gd);

	/*
	 * Problem scenario: glockd on node 3 dies and restarts between two
	 * deliveries; one change lists node 3 as left and joined, and the
	 * member set looks unchanged.  The old incarnation's grants must
	 * still expire, so the engine first sees the membership without it.
	 */
	k = 0;
	for (i = 0; i < n; i++) {
		size_t j;
		bool restarted = false;

		for (j = 0; j < n_left; j++)
			if (left_list[j].nodeid == nodes[i])
				restarted = true;
		if (!restarted || nodes[i] == c->gd->local_node)
			without[k++] = nodes[i];
	}
	if (k < n && k > 0) {
		in.u.confchg.n_members = k;
		in.u.confchg.members = without;
		in.u.confchg.incarnations = incarnations_hash(member_list, n_member, without, k);
		err = glock_engine_apply(c->gd->engine, &in);
		if (!err) {
			c->ops->confchg(c->gd, without, k);
			after_apply(c);
		}
	}

	in.u.confchg.n_members = n;
	in.u.confchg.members = nodes;
	in.u.confchg.incarnations = incarnations_hash(member_list, n_member, nodes, n);
	err = glock_engine_apply(c->gd->engine, &in);
	if (err) {
		/* Our table would now differ from everyone's: start over, empty. */
		log_err("the engine refused the configuration change: %s; rejoining afresh",
			glock_engine_strerror(err));
		cluster_lost(c, "confchg", CS_OK);
		return;
	}
	/* Before HELLO: this node's REPORTs go out ahead of it (DESIGN §9). */
	c->ops->confchg(c->gd, nodes, n);
	after_apply(c);
	log_info("configuration: %zu member(s), local node %s, %s", n,
		 glock_engine_synced(c->gd->engine) ? "synced" : "not synced",
		 glock_engine_quorate(c->gd->engine) ? "quorate" : "not quorate until QUORUM");

	/*
	 * DESIGN §3, rules 1 and 4: after every configuration change, say
	 * whether we hold the table and what votequorum thinks, in order.
	 * Whatever of the previous round is still unsent is obsolete.
	 */
	sq_purge_sync(c);
	queue_hello(c);
	queue_quorum(c, vq_quorate_now(c));

	/* The fencer may have left: whoever is lowest now takes over. */
	c->fence_check_due = true;
	after_apply(c);
	sendq_kick(c);
}

static void cpg_totem_confchg_cb(cpg_handle_t handle, struct cpg_ring_id ring_id,
				 uint32_t n_member, const uint32_t *member_list)
{
	log_debug("totem ring %u.%llu: %u node(s)", ring_id.nodeid,
		  (unsigned long long)ring_id.seq, n_member);
}

static void vq_notify_cb(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
			 uint32_t n_nodes, votequorum_node_t nodes[])
{
	struct glockd_cluster *c = NULL;

	if (votequorum_context_get(handle, (void **)&c) != CS_OK || !c || c->lost)
		return;
	if ((quorate != 0) != c->vq_quorate)
		log_notice("votequorum: %s (%u node(s))", quorate ? "quorate" : "NOT quorate",
			   n_nodes);
	c->vq_quorate = quorate != 0;
	if (!c->connected)
		return;
	/* DESIGN §3 rule 1: the verdict is only acted on once it is ordered. */
	queue_quorum(c, c->vq_quorate);
	sendq_kick(c);
}

/* ---- fencing ---- */

/* Is the local node the lowest member holding the table? */
static bool local_is_fencer(const struct glockd_cluster *c)
{
	size_t i;

	/* An inquorate minority must never fence the majority. */
	if (!glock_engine_synced(c->gd->engine) || !glock_engine_quorate(c->gd->engine))
		return false;
	for (i = 0; i < c->n_members; i++)
		if (glock_engine_member_synced(c->gd->engine, c->members[i]))
			return c->members[i] == c->gd->local_node;
	return false;
}

static struct fence_job *fence_job_find(struct glockd_cluster *c, uint32_t node)
{
	size_t i;

	for (i = 0; i < FENCE_JOBS_MAX; i++)
		if (c->fence[i].state != FENCE_FREE && c->fence[i].node == node)
			return &c->fence[i];
	return NULL;
}

static void fence_job_timer_del(struct fence_job *j)
{
	if (j->timer_armed)
		qb_loop_timer_del(j->c->gd->loop, j->timer);
	j->timer_armed = false;
}

static void fence_job_free(struct fence_job *j)
{
	fence_job_timer_del(j);
	if (j->pidfd >= 0) {
		qb_loop_poll_del(j->c->gd->loop, j->pidfd);
		close(j->pidfd);
	}
	j->pidfd = -1;
	j->state = FENCE_FREE;
	j->stale = false;
	j->pid = 0;
}

/* FENCED then RECOVERY_DONE: its expired grants go (DESIGN §2). */
static void fence_confirm(struct fence_job *j)
{
	struct glockd_cluster *c = j->c;
	struct glock_input in = { .kind = GLOCK_IN_FENCED };

	in.u.departed.node = j->node;
	queue_control(c, &in);
	in.kind = GLOCK_IN_RECOVERY_DONE;
	queue_control(c, &in);
	j->state = FENCE_CONFIRMED;
	sendq_kick(c);
}

static void fence_start(struct fence_job *j);

static bool is_member(const struct glockd_cluster *c, uint32_t node)
{
	size_t i;

	for (i = 0; i < c->n_members; i++)
		if (c->members[i] == node)
			return true;
	return false;
}

static void fence_retry_fire(void *data)
{
	struct fence_job *j = data;
	struct glockd_cluster *c = j->c;
	struct glock_departed_rec d[DEPARTED_MAX];
	size_t n, i;

	j->timer_armed = false;
	n = glock_engine_departed(c->gd->engine, d, DEPARTED_MAX);
	if (n > DEPARTED_MAX)
		n = DEPARTED_MAX;
	for (i = 0; i < n && d[i].node != j->node; i++)
		;
	if (i == n || d[i].fenced || !local_is_fencer(c) ||
	    (d[i].startup && is_member(c, d[i].node))) {
		fence_job_free(j);
		return;
	}
	fence_start(j);
}

static void fence_child_done(struct fence_job *j, int status)
{
	struct glockd_cluster *c = j->c;
	const char *cmd = c->gd->cfg->fence_command;

	if (j->pidfd >= 0) {
		qb_loop_poll_del(c->gd->loop, j->pidfd);
		close(j->pidfd);
		j->pidfd = -1;
	}
	j->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_node(LOG_NOTICE, j->node, "fenced by %s", cmd);
		if (j->stale || c->lost)
			fence_job_free(j);
		else
			fence_confirm(j);
		return;
	}
	if (WIFEXITED(status))
		log_rl(&c->rl_fence, LOG_ERR,
		       "node %u: fence command %s failed (exit status %d, attempt %u); its locks stay "
		       "blocked, retrying in %u s", j->node, cmd, WEXITSTATUS(status), j->attempts,
		       FENCE_RETRY_MS / 1000);
	else
		log_rl(&c->rl_fence, LOG_ERR,
		       "node %u: fence command %s killed by signal %d (attempt %u); its locks stay "
		       "blocked, retrying in %u s", j->node, cmd,
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0, j->attempts,
		       FENCE_RETRY_MS / 1000);
	if (j->stale || c->lost) {
		fence_job_free(j);
		return;
	}
	j->state = FENCE_BACKOFF;
	if (qb_loop_timer_add(c->gd->loop, QB_LOOP_LOW, MS_TO_NS(FENCE_RETRY_MS), j,
			      fence_retry_fire, &j->timer) == 0)
		j->timer_armed = true;
	else
		fence_job_free(j); /* the next configuration change tries again */
}

/* Reaps the fence child if it has exited; true if it has. */
static bool fence_child_reap(struct fence_job *j)
{
	int status;
	pid_t r;

	do {
		r = waitpid(j->pid, &status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	if (r < 0) {
		log_perr(LOG_ERR, "waitpid(%d) for the fence command", (int)j->pid);
		status = 0xff00; /* counts as a failure */
	}
	fence_child_done(j, status);
	return true;
}

static int32_t fence_pidfd_cb(int32_t fd, int32_t revents, void *data)
{
	struct fence_job *j = data;

	if (j->state == FENCE_RUNNING && j->pid > 0)
		fence_child_reap(j);
	return 0;
}

static void fence_poll_fire(void *data)
{
	struct fence_job *j = data;

	j->timer_armed = false;
	if (j->state != FENCE_RUNNING || j->pid <= 0 || fence_child_reap(j))
		return;
	if (qb_loop_timer_add(j->c->gd->loop, QB_LOOP_LOW, MS_TO_NS(FENCE_POLL_MS), j,
			      fence_poll_fire, &j->timer) == 0)
		j->timer_armed = true;
}

/* In the child: a clean slate, then the fence command with the node id. */
static void fence_exec(const char *cmd, uint32_t node)
{
	char id[16];
	char *const argv[] = { (char *)cmd, id, NULL };
	sigset_t all;
	int sig, fd;

	snprintf(id, sizeof(id), "%u", node);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	/* Keep stdout/stderr (the daemon's log when in the foreground). */
	syscall(SYS_close_range, 3u, ~0u, 0u);
	execv(cmd, argv);
	_exit(127);
}

static void fence_start(struct fence_job *j)
{
	struct glockd_cluster *c = j->c;
	const struct glockd_config *cfg = c->gd->cfg;
	pid_t pid;

	j->attempts++;
	if (cfg->fence == GLOCKD_FENCE_NONE) {
		log_node(LOG_CRIT, j->node,
			 "fencing disabled (fence = none): node %u's locks are released without "
			 "fencing, shared data may be corrupted", j->node);
		fence_confirm(j);
		return;
	}
	log_node(LOG_NOTICE, j->node, "fencing: running %s %u (attempt %u)", cfg->fence_command,
		 j->node, j->attempts);
	pid = fork();
	if (pid < 0) {
		log_perr(LOG_ERR, "fork for the fence command");
		fence_child_done(j, 0xff00);
		return;
	}
	if (pid == 0)
		fence_exec(cfg->fence_command, j->node);
	j->pid = pid;
	j->state = FENCE_RUNNING;
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->pidfd >= 0 &&
	    qb_loop_poll_add(c->gd->loop, QB_LOOP_MED, j->pidfd, POLLIN, j, fence_pidfd_cb) != 0) {
		close(j->pidfd);
		j->pidfd = -1;
	}
	if (j->pidfd < 0 &&
	    qb_loop_timer_add(c->gd->loop, QB_LOOP_LOW, MS_TO_NS(FENCE_POLL_MS), j,
			      fence_poll_fire, &j->timer) == 0)
		j->timer_armed = true;
}

/*
 * Startup fencing: a node absent at a fresh start is given
 * startup_fence_delay_ms to join (its HELLO ends the need) before it is
 * fenced, as dlm_controld's post_join_delay.  True if the job now waits.
 */
static bool fence_startup_wait(struct fence_job *j)
{
	const struct glockd_config *cfg = j->c->gd->cfg;
	uint64_t delay_ms = cfg->startup_fence_delay_us / 1000;

	if (cfg->fence == GLOCKD_FENCE_NONE || !delay_ms)
		return false;
	log_node(LOG_NOTICE, j->node,
		 "startup fencing: node %u is configured but was absent when the lock table started "
		 "empty; no lock is granted until it joins or, after %llu ms, is fenced",
		 j->node, (unsigned long long)delay_ms);
	j->state = FENCE_BACKOFF;
	if (qb_loop_timer_add(j->c->gd->loop, QB_LOOP_LOW, MS_TO_NS(delay_ms), j,
			      fence_retry_fire, &j->timer) != 0)
		return false;
	j->timer_armed = true;
	return true;
}

/*
 * Problem scenario: nodes A, B, C; C fails holding EX on a glock.  A and B
 * both get NEED_FENCE for C at the same place in the stream.  Exactly one
 * of them must fence, and if it fails too before confirming, the other
 * must take over.  So: the lowest synced member fences, and every
 * configuration change (and every completed sync) re-reads the engine's
 * departed list, which the snapshot carries to newcomers too.
 */
static void fence_check(struct glockd_cluster *c)
{
	struct glock_departed_rec d[DEPARTED_MAX];
	bool fencer;
	size_t n, i;

	c->fence_check_due = false;
	if (!c->connected || c->lost)
		return;
	fencer = local_is_fencer(c);
	n = glock_engine_departed(c->gd->engine, d, DEPARTED_MAX);
	if (n > DEPARTED_MAX)
		n = DEPARTED_MAX;
	for (i = 0; i < n; i++) {
		struct fence_job *j = fence_job_find(c, d[i].node);

		if (!fencer) {
			if (j && j->state == FENCE_BACKOFF)
				fence_job_free(j); /* the new fencer takes it from here */
			continue;
		}
		if (d[i].fenced) {
			/* Fenced, but its fencer left before RECOVERY_DONE got out. */
			if (!j) {
				struct glock_input in = { .kind = GLOCK_IN_RECOVERY_DONE };

				in.u.departed.node = d[i].node;
				queue_control(c, &in);
				sendq_kick(c);
			}
			continue;
		}
		if (j)
			continue; /* running, retrying or confirmed already */
		if (d[i].startup && is_member(c, d[i].node))
			continue; /* joined: its HELLO is on the way and ends the need */
		for (j = c->fence; j < c->fence + FENCE_JOBS_MAX && j->state != FENCE_FREE; j++)
			;
		if (j == c->fence + FENCE_JOBS_MAX) {
			log_node(LOG_ERR, d[i].node, "too many fence jobs: not fenced now");
			continue;
		}
		*j = (struct fence_job){ .c = c, .node = d[i].node, .pidfd = -1 };
		if (d[i].startup && fence_startup_wait(j))
			continue;
		j->state = FENCE_RUNNING;
		fence_start(j);
	}
}

/* Forget every job (connection lost): a running child is left to finish. */
static void fence_jobs_abandon(struct glockd_cluster *c)
{
	size_t i;

	for (i = 0; i < FENCE_JOBS_MAX; i++) {
		struct fence_job *j = &c->fence[i];

		if (j->state == FENCE_RUNNING && j->pid > 0)
			j->stale = true; /* reaped when it exits, not confirmed */
		else if (j->state != FENCE_FREE)
			fence_job_free(j);
	}
}

/* ---- engine outputs ---- */

void glockd_cluster_engine_output(void *ctx, const struct glock_output *out)
{
	struct glockd *gd = ctx;
	struct glockd_cluster *c = gd->cluster;

	switch (out->kind) {
	case GLOCK_OUT_SEND_SNAPSHOT:
		if (c)
			c->snapshot_due = true; /* exported once apply() returns */
		return;
	case GLOCK_OUT_NEED_FENCE:
		if (out->startup)
			log_node(LOG_WARNING, out->node,
				 "startup fencing: configured, absent at a fresh start: every lock waits "
				 "until it joins or is fenced");
		else
			log_node(LOG_WARNING, out->node,
				 "departed holding locks (or with its corosync): they stay blocked until it is fenced");
		if (c)
			c->fence_check_due = true;
		return;
	case GLOCK_OUT_QUORATE:
		/* Only a quorate partition fences: now this one may. */
		if (c)
			c->fence_check_due = true;
		break;
	case GLOCK_OUT_SYNCED:
		log_notice("synced: this node holds the cluster's lock table");
		if (c)
			c->fence_check_due = true;
		break;
	case GLOCK_OUT_UNSYNCED:
		log_warn("unsynced: quorum lost or not confirmed; local locks are lost");
		break;
	default:
		break;
	}
	if (c)
		c->ops->output(gd, out);
}

/* ---- connection ---- */

static int32_t cpg_fd_cb(int32_t fd, int32_t revents, void *data)
{
	struct glockd_cluster *c = data;
	cs_error_t rc;

	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		c->cpg_polled = false;
		cluster_lost(c, "CPG connection hang-up", CS_ERR_LIBRARY);
		return -1; /* drop the fd from the loop */
	}
	rc = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);
	if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN) {
		c->cpg_polled = false;
		cluster_lost(c, "cpg_dispatch", rc);
		return -1;
	}
	return 0;
}

static int32_t vq_fd_cb(int32_t fd, int32_t revents, void *data)
{
	struct glockd_cluster *c = data;
	cs_error_t rc;

	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		c->vq_polled = false;
		cluster_lost(c, "votequorum connection hang-up", CS_ERR_LIBRARY);
		return -1;
	}
	rc = votequorum_dispatch(c->vq, CS_DISPATCH_ALL);
	if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN) {
		c->vq_polled = false;
		cluster_lost(c, "votequorum_dispatch", rc);
		return -1;
	}
	return 0;
}

static void cluster_disconnect(struct glockd_cluster *c)
{
	if (c->cpg_polled)
		qb_loop_poll_del(c->gd->loop, c->cpg_fd);
	if (c->vq_polled)
		qb_loop_poll_del(c->gd->loop, c->vq_fd);
	c->cpg_polled = c->vq_polled = false;
	if (c->cpg_init)
		cpg_finalize(c->cpg);
	if (c->vq_init)
		votequorum_finalize(c->vq);
	c->cpg_init = c->vq_init = false;
	c->connected = false;
}

static const cpg_model_v1_data_t cpg_model = {
	.model = CPG_MODEL_V1,
	.cpg_deliver_fn = cpg_deliver_cb,
	.cpg_confchg_fn = cpg_confchg_cb,
	.cpg_totem_confchg_fn = cpg_totem_confchg_cb,
	.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
};

static votequorum_callbacks_t vq_callbacks = {
	.votequorum_quorum_notify_fn = vq_notify_cb,
};

/*
 * Connects to the local corosync, learns the node id, makes sure there is
 * an engine for it and joins the group.  Returns 0 or -errno; on failure
 * nothing stays connected.  rl: log failures rate-limited (reconnecting).
 */
static int cluster_connect(struct glockd_cluster *c)
{
	struct glockd *gd = c->gd;
	unsigned int nodeid = 0;
	cs_error_t rc;
	const char *what;
	int i, r = -ENOTCONN;

	rc = cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, c);
	what = "cpg_model_initialize";
	if (rc != CS_OK)
		goto out_fail;
	c->cpg_init = true;
	rc = cpg_local_get(c->cpg, &nodeid);
	what = "cpg_local_get";
	if (rc != CS_OK)
		goto out_fail;
	if (gd->cfg->node_id && gd->cfg->node_id != nodeid) {
		log_err("node_id = %u in the config, but corosync says this is node %u",
			gd->cfg->node_id, nodeid);
		r = -EINVAL;
		goto out_disconnect;
	}
	if (!gd->engine || gd->local_node != nodeid) {
		gd->local_node = nodeid;
		r = c->ops->table_new(gd);
		if (r)
			goto out_disconnect;
	}

	rc = votequorum_initialize(&c->vq, &vq_callbacks);
	what = "votequorum_initialize";
	if (rc != CS_OK)
		goto out_fail;
	c->vq_init = true;
	votequorum_context_set(c->vq, c);
	rc = votequorum_trackstart(c->vq, 0, CS_TRACK_CHANGES);
	what = "votequorum_trackstart";
	if (rc != CS_OK)
		goto out_fail;
	rc = votequorum_fd_get(c->vq, &c->vq_fd);
	what = "votequorum_fd_get";
	if (rc != CS_OK)
		goto out_fail;
	rc = cpg_fd_get(c->cpg, &c->cpg_fd);
	what = "cpg_fd_get";
	if (rc != CS_OK)
		goto out_fail;
	if (qb_loop_poll_add(gd->loop, QB_LOOP_HIGH, c->vq_fd, POLLIN, c, vq_fd_cb) ||
	    qb_loop_poll_add(gd->loop, QB_LOOP_HIGH, c->cpg_fd, POLLIN, c, cpg_fd_cb)) {
		log_err("cannot watch the corosync connections");
		goto out_disconnect;
	}
	c->vq_polled = c->cpg_polled = true;
	c->vq_quorate = vq_quorate_now(c);

	what = "cpg_join";
	for (i = 0; i < JOIN_ATTEMPTS; i++) {
		rc = cpg_join(c->cpg, &c->group);
		if (rc != CS_ERR_TRY_AGAIN)
			break;
		usleep(100 * 1000);
	}
	if (rc != CS_OK)
		goto out_fail;
	c->connected = true;
	c->lost = false;
	log_notice("node %u joined CPG group %s (votequorum: %s)", nodeid, gd->cfg->cpg_group,
		   c->vq_quorate ? "quorate" : "not quorate");
	return 0;

out_fail:
	if (c->reconnect_ms)
		log_rl(&c->rl_reconnect, LOG_INFO, "reconnecting to corosync: %s: %s", what,
		       cs_name(rc));
	else
		log_err("cannot connect to corosync: %s: %s", what, cs_name(rc));
out_disconnect:
	cluster_disconnect(c);
	return r;
}

static void reconnect_fire(void *data)
{
	struct glockd_cluster *c = data;

	c->reconnect_armed = false;
	if (c->gd->stopping)
		return;
	if (cluster_connect(c) == 0) {
		log_notice("reconnected to corosync; rejoining with an empty table");
		c->reconnect_ms = 0;
		return;
	}
	reconnect_arm(c);
}

static void reconnect_arm(struct glockd_cluster *c)
{
	c->reconnect_ms = c->reconnect_ms ? c->reconnect_ms * 2 : RECONNECT_MIN_MS;
	if (c->reconnect_ms > RECONNECT_MAX_MS)
		c->reconnect_ms = RECONNECT_MAX_MS;
	if (qb_loop_timer_add(c->gd->loop, QB_LOOP_LOW, MS_TO_NS(c->reconnect_ms), c,
			      reconnect_fire, &c->reconnect_timer) == 0)
		c->reconnect_armed = true;
	else
		log_err("cannot arm the reconnect timer: glockd stays disconnected");
}

/*
 * Problem scenario: this node's corosync is killed while A and B run on.
 * They see us depart and expire our grants; whatever we held is theirs to
 * fence.  Our engine's table is now stale for good, so it goes: the agent
 * learns every local lock is lost, the engine is replaced by an empty one
 * and we rejoin as a newcomer that gets the table by snapshot.
 */
static void cluster_lost_job(void *data)
{
	struct glockd_cluster *c = data;
	struct glockd *gd = c->gd;

	cluster_disconnect(c);
	if (c->retry_armed)
		qb_loop_timer_del(gd->loop, c->retry_timer);
	c->retry_armed = false;
	c->retry_ns = 0;
	sq_clear(c);
	fence_jobs_abandon(c);
	c->n_members = 0;
	c->snapshot_due = c->fence_check_due = false;
	c->ops->lost(gd);
	if (gd->stopping)
		return;
	if (c->ops->table_new(gd)) {
		log_err("cannot create a fresh engine: stopping");
		gd->stopping = true;
		qb_loop_stop(gd->loop);
		return;
	}
	c->lost = false;
	reconnect_arm(c);
}

/* ---- the seams in cluster.h ---- */

int glockd_cluster_start(struct glockd *gd, const struct glockd_cluster_ops *ops)
{
	struct glockd_cluster *c;
	size_t len = strlen(gd->cfg->cpg_group);
	int r;

	if (len == 0 || len >= sizeof(c->group.value))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->gd = gd;
	c->ops = ops;
	c->pid = getpid();
	memcpy(c->group.value, gd->cfg->cpg_group, len);
	c->group.length = (uint32_t)len;
	qb_list_init(&c->sendq);
	c->rl_bad = (struct log_ratelimit){ .interval_ms = 10000, .burst = 5 };
	c->rl_fence = (struct log_ratelimit){ .interval_ms = 60000, .burst = 3 };
	c->rl_reconnect = (struct log_ratelimit){ .interval_ms = 30000, .burst = 2 };
	c->rl_apply = (struct log_ratelimit){ .interval_ms = 1000, .burst = 20 };
	gd->cluster = c;
	r = cluster_connect(c);
	if (r) {
		gd->cluster = NULL;
		free(c);
		return r;
	}
	return 0;
}

void glockd_cluster_stop(struct glockd *gd)
{
	struct glockd_cluster *c = gd->cluster;
	size_t i;

	if (!c)
		return;
	if (c->connected && !c->lost) {
		sendq_flush(c); /* best effort: FENCED/RECOVERY_DONE may be in there */
		if (c->sq_len)
			log_info("leaving with %zu unsent message(s)", c->sq_len);
		if (cpg_leave(c->cpg, &c->group) != CS_OK)
			log_debug("cpg_leave failed; finalizing anyway");
	}
	cluster_disconnect(c);
	if (c->retry_armed)
		qb_loop_timer_del(gd->loop, c->retry_timer);
	if (c->reconnect_armed)
		qb_loop_timer_del(gd->loop, c->reconnect_timer);
	qb_loop_job_del(gd->loop, QB_LOOP_HIGH, c, cluster_lost_job);
	if (c->flush_pending)
		qb_loop_timer_del(gd->loop, c->flush_timer);
	c->flush_pending = false;
	for (i = 0; i < FENCE_JOBS_MAX; i++) {
		if (c->fence[i].state == FENCE_RUNNING && c->fence[i].pid > 0)
			log_node(LOG_WARNING, c->fence[i].node,
				 "exiting while its fence command (pid %d) still runs",
				 (int)c->fence[i].pid);
		if (c->fence[i].state != FENCE_FREE)
			fence_job_free(&c->fence[i]);
	}
	sq_clear(c);
	free(c);
	gd->cluster = NULL;
}

/*
 * Answer path of a submitted op: it is multicast in agreed order and
 * applied on delivery like everyone else's; the engine's GRANT/DENY output
 * (or, if apply() refuses it, ops->op_error) answers it.
 *
 * Across a configuration change an op may be lost in flight (NETNS-NOTES:
 * messages sent while the ring splits reach only one side).  The agent
 * resends its unanswered requests with the same req_id once submit()
 * accepts again; a copy that did get through makes the engine refuse the
 * resend with -EEXIST, which the agent reads as "already queued".  Submit
 * accepts whenever the local engine is synced: across a change that keeps
 * quorum that is at once, otherwise after the SYNCED output.
 */
int glockd_cluster_accepts(struct glockd *gd, const struct glock_op *op)
{
	struct glockd_cluster *c = gd->cluster;

	if (!op)
		return -EINVAL;
	if (!c || !c->connected || c->lost || !glock_engine_synced(gd->engine))
		return -ENOTCONN;
	if (op->node != gd->local_node)
		return -EINVAL;
	return 0;
}

int glockd_cluster_submit(struct glockd *gd, const struct glock_op *op)
{
	struct glockd_cluster *c = gd->cluster;
	struct glock_input in = { .kind = GLOCK_IN_OP };
	int r;

	r = glockd_cluster_accepts(gd, op);
	if (r)
		return r;
	if (c->sq_ops >= gd->cfg->send_queue_max)
		return -EAGAIN;
	/* Validate before use: an op the encoder refuses never enters the queue. */
	if (!glock_codec_op_encodable(op))
		return -EINVAL;
	in.u.op = *op;
	r = sq_push_item(c, &in);
	if (r)
		return r;
	sendq_kick(c);
	return 0;
}

int glockd_cluster_multicast_report(struct glockd *gd, const uint8_t *buf, size_t len)
{
	struct glockd_cluster *c = gd->cluster;
	int r;

	if (!c)
		return -ENOTCONN;
	r = sq_push_raw(c, buf, len, SQ_REPORT);
	if (!r)
		sendq_kick(c);
	return r;
}

void glockd_cluster_status(struct glockd *gd, struct glockd_cluster_status *out)
{
	struct glockd_cluster *c = gd->cluster;
	const uint32_t *members = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->local_node = gd->local_node;
	if (gd->engine) {
		out->quorate = glock_engine_quorate(gd->engine);
		out->synced = glock_engine_synced(gd->engine);
		n = glock_engine_members(gd->engine, &members);
		if (n > GLOCK_NODES_MAX)
			n = GLOCK_NODES_MAX;
		if (n && members)
			memcpy(out->members, members, n * sizeof(*members));
		out->n_members = n;
		out->n_departed = glock_engine_departed(gd->engine, out->departed, GLOCK_NODES_MAX);
		if (out->n_departed > GLOCK_NODES_MAX)
			out->n_departed = GLOCK_NODES_MAX;
	}
	if (!c)
		return;
	out->connected = c->connected && !c->lost;
	out->msgs_sent = c->msgs_sent;
	out->msgs_received = c->codec.messages;
	out->items_sent = c->items_sent;
	out->items_received = c->codec.items;
	out->bad_msgs = c->codec.bad_messages + c->codec.version_mismatches;
	out->try_again = c->try_again;
	out->queue_len = c->sq_len;
	out->version_mismatches = c->codec.version_mismatches;
	out->apply_errors = c->apply_errors;
}
