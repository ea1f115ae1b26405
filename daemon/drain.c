/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A clean stop (SIGTERM, SIGINT): before glockd leaves the cluster it
 * gives back the grants its node keeps cached with no holder, and waits
 * until the cluster has taken them (at most DRAIN_MAX_MS), so the other
 * nodes see it depart holding nothing and need not fence it (issue 10:
 * "a clean SIGTERM gives back the node's cached grants before leaving").
 * dlm_controld leaves a lockspace the same way, its locks released first.
 *
 * Grants a local process or the kernel still holds are not given back:
 * their holder may still write to shared storage, so they expire and are
 * fenced as after a crash.  Nothing can be given back while the node is
 * not quorate and synced: it stops at once then.  A second signal stops
 * at once too.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <qb/qbutil.h>

#include "agent_glue.h"
#include "cluster.h"
#include "config.h"
#include "glockd.h"
#include "lockpath.h"
#include "log.h"

#define DRAIN_MAX_MS 5000u
#define DRAIN_POLL_MS 20u

struct local_grants {
	uint32_t node;
	size_t n;
};

static int count_local(void *ctx, const struct glock_record *rec)
{
	struct local_grants *lg = ctx;
	size_t i;

	for (i = 0; i < rec->n_holders; i++)
		if (rec->holders[i].node == lg->node)
			lg->n++;
	return 0;
}

/*
 * Glocks the lock path still knows this node has (held, or a release
 * not yet applied): the p2p's requester, or the replicated table's grants
 * and the ops still in the CPG send queue.
 */
static size_t lower_held(struct glockd *gd, bool *queued)
{
	struct glockd_cluster_status st;
	struct local_grants lg = { gd->local_node, 0 };

	*queued = false;
	if (glockd_config_p2p(gd->cfg)) {
		struct glock_p2p_stats ps;

		glockd_lockpath_stats(gd, &ps);
		return ps.held;
	}
	glockd_cluster_status(gd, &st);
	*queued = st.queue_len > 0;
	if (gd->engine)
		(void)glock_engine_export(gd->engine, count_local, &lg);
	return lg.n;
}

static void drain_stop(struct glockd *gd)
{
	gd->stopping = true;
	qb_loop_stop(gd->loop);
}

static void drain_check(void *data)
{
	struct glockd *gd = data;
	size_t released, busy, held;
	bool none_cached, queued;

	none_cached = glockd_agent_give_back(gd, &released, &busy);
	gd->drain_released += released;
	held = lower_held(gd, &queued);
	if (none_cached && !queued && held <= busy) {
		log_notice("gave back %zu cached grant(s); %zu glock(s) still held by local "
			   "clients go with this node", gd->drain_released, busy);
		drain_stop(gd);
		return;
	}
	if (qb_util_nano_current_get() / 1000u >= gd->drain_until_us) {
		log_warn("%zu grant(s) not given back within %u ms: leaving with them; the "
			 "cluster fences this node for them", held > busy ? held - busy : 0,
			 DRAIN_MAX_MS);
		drain_stop(gd);
		return;
	}
	if (qb_loop_timer_add(gd->loop, QB_LOOP_HIGH, DRAIN_POLL_MS * 1000000ull, gd, drain_check,
			      &gd->drain_timer))
		drain_stop(gd);
}

void glockd_drain_start(struct glockd *gd, int sig)
{
	struct glockd_cluster_status st;

	if (gd->draining) {
		log_notice("caught %s again: stopping now", strsignal(sig));
		drain_stop(gd);
		return;
	}
	glockd_cluster_status(gd, &st);
	if (!st.connected || !st.synced || !st.quorate) {
		log_notice("caught %s: shutting down (not quorate and synced: nothing can be "
			   "given back)", strsignal(sig));
		drain_stop(gd);
		return;
	}
	log_notice("caught %s: giving back cached grants before leaving (at most %u ms; "
		   "the signal again stops now)", strsignal(sig), DRAIN_MAX_MS);
	gd->draining = true;
	gd->drain_until_us = qb_util_nano_current_get() / 1000u + DRAIN_MAX_MS * 1000u;
	drain_check(gd);
}
