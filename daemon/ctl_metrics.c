/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl metrics: glockd's counters in the Prometheus text exposition
 * format (version 0.0.4), from one status request.
 *
 *   glockctl metrics                  to standard output
 *   glockctl metrics --textfile PATH  to PATH, atomically (PATH.tmp.PID,
 *                                     fsync, rename), for node_exporter's
 *                                     textfile collector; PATH should end
 *                                     in .prom
 *
 * Names follow Prometheus' conventions: a glockd_ prefix, _total for
 * counters, base units (seconds), one histogram per op and outcome
 * (glockd_request_duration_seconds).  When glockd cannot be reached the
 * output holds glockd_up 0 alone and the exit status is 1, so that a
 * scrape of the textfile shows the daemon down rather than stale numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glockctl.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static bool timed(const GlockIpcRequestSeries *s)
{
	return !strcmp(s->op, "lock") || !strcmp(s->op, "convert");
}

static void requests(FILE *f, const GlockIpcStatusReply *r)
{
	size_t i, b;

	family(f, "glockd_requests_total", "counter",
	       "Local lock requests (libglock clients and the kernel) by operation and outcome.");
	for (i = 0; i < r->n_requests; i++) {
		fputs("glockd_requests_total{op=\"", f);
		label_value(f, r->requests[i]->op);
		fputs("\",outcome=\"", f);
		label_value(f, r->requests[i]->outcome);
		fprintf(f, "\"} %" PRIu64 "\n", r->requests[i]->count);
	}
	family(f, "glockd_request_duration_seconds", "histogram",
	       "Time from a lock or convert request to its answer.");
	for (i = 0; i < r->n_requests; i++) {
		const GlockIpcRequestSeries *s = r->requests[i];
		uint64_t cum = 0;

		if (!timed(s) || s->n_buckets != r->n_latency_bounds_us + 1)
			continue;
		for (b = 0; b <= r->n_latency_bounds_us; b++) {
			cum += s->buckets[b];
			fprintf(f, "glockd_request_duration_seconds_bucket{op=\"%s\",outcome=\"%s\",le=\"",
				s->op, s->outcome);
			if (b < r->n_latency_bounds_us)
				fprintf(f, "%g", (double)r->latency_bounds_us[b] / 1e6);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %" PRIu64 "\n", cum);
		}
		fprintf(f, "glockd_request_duration_seconds_sum{op=\"%s\",outcome=\"%s\"} %.6f\n",
			s->op, s->outcome, (double)s->sum_us / 1e6);
		fprintf(f, "glockd_request_duration_seconds_count{op=\"%s\",outcome=\"%s\"} %" PRIu64
			"\n", s->op, s->outcome, s->count);
	}
}

static void lockspaces(FILE *f, const GlockIpcStatusReply *r)
{
	size_t i;

	family(f, "glockd_lockspace_glocks", "gauge", "Glocks of the cluster table per lockspace.");
	for (i = 0; i < r->n_lockspaces; i++) {
		fputs("glockd_lockspace_glocks{lockspace=\"", f);
		label_value(f, r->lockspaces[i]->lockspace);
		fprintf(f, "\"} %" PRIu64 "\n", r->lockspaces[i]->glocks);
	}
	family(f, "glockd_lockspace_local_glocks", "gauge",
	       "Glocks per lockspace held or cached by this node.");
	for (i = 0; i < r->n_lockspaces; i++) {
		fputs("glockd_lockspace_local_glocks{lockspace=\"", f);
		label_value(f, r->lockspaces[i]->lockspace);
		fprintf(f, "\"} %" PRIu64 "\n", r->lockspaces[i]->local_glocks);
	}
}

/* The link counters, one accessor each, for link_family(). */
#define LINK_FIELD(field)                                        \
	static uint64_t link_##field(const GlockIpcLink *l)      \
	{                                                        \
		return (uint64_t)l->field;                       \
	}
LINK_FIELD(up)
LINK_FIELD(sent)
LINK_FIELD(received)
LINK_FIELD(dropped)
LINK_FIELD(lost)
LINK_FIELD(refused)
LINK_FIELD(reconnects)
LINK_FIELD(queued)

/* One family of per-peer link series: name{peer="N"}. */
static void link_family(FILE *f, const GlockIpcStatusReply *r, const char *name, const char *type,
			const char *help, uint64_t (*value)(const GlockIpcLink *))
{
	size_t i;

	family(f, name, type, help);
	for (i = 0; i < r->n_links; i++)
		fprintf(f, "%s{peer=\"%u\"} %" PRIu64 "\n", name, r->links[i]->node,
			value(r->links[i]));
}

/* lock_path = p2p: the node links and the per-glock masters. */
static void p2p_metrics(FILE *f, const GlockIpcStatusReply *r)
{
	link_family(f, r, "glockd_link_up", "gauge", "1 while the node link to the peer is up.",
		    link_up);
	link_family(f, r, "glockd_link_messages_sent_total", "counter",
		    "Messages written to the node link.", link_sent);
	link_family(f, r, "glockd_link_messages_received_total", "counter",
		    "Messages authenticated and delivered from the node link.", link_received);
	link_family(f, r, "glockd_link_dropped_frames_total", "counter",
		    "Frames or handshakes refused: forged, replayed, foreign key, bad length.",
		    link_dropped);
	link_family(f, r, "glockd_link_lost_messages_total", "counter",
		    "Queued messages discarded when the connection broke.", link_lost);
	link_family(f, r, "glockd_link_refused_sends_total", "counter",
		    "Sends refused: queue full or link down.", link_refused);
	link_family(f, r, "glockd_link_reconnects_total", "counter",
		    "Connections authenticated after the first.", link_reconnects);
	link_family(f, r, "glockd_link_queue_length", "gauge", "Messages queued for the peer.",
		    link_queued);
	one(f, "glockd_link_unknown_connections_total", "counter",
	    "Connections refused before they named a known peer.", r->links_unknown);
	one(f, "glockd_p2p_recovering_glocks", "gauge",
	    "Glocks this node masters that are being rebuilt from reports.", r->p2p_recovering);
	one(f, "glockd_p2p_parked_requests", "gauge",
	    "Requests waiting for a report, a configuration or recovery.", r->p2p_parked);
	one(f, "glockd_p2p_stale_dropped_total", "counter",
	    "Answers or requests dropped as stale (old master, old generation).",
	    r->p2p_stale_dropped);
	one(f, "glockd_p2p_bad_payloads_total", "counter", "Link payloads that did not decode.",
	    r->p2p_bad_payloads);
	one(f, "glockd_p2p_refused_messages_total", "counter",
	    "Lock messages that made no sense from their sender.", r->p2p_refused_msgs);
	one(f, "glockd_plock_files", "gauge", "Files whose POSIX locks this node masters.",
	    r->plock_files);
	one(f, "glockd_plock_locks", "gauge", "POSIX locks on the files this node masters.",
	    r->plock_locks);
	one(f, "glockd_plock_waiters", "gauge", "POSIX lock waiters on the files this node masters.",
	    r->plock_waiters);
	one(f, "glockd_plock_parked_requests", "gauge",
	    "POSIX lock requests waiting for recovery or a departed node's fencing.",
	    r->plock_parked);
	one(f, "glockd_plock_pending_ops", "gauge",
	    "This node's POSIX lock ops not answered yet.", r->plock_pending);
}

static void write_metrics(FILE *f, const GlockIpcStatusReply *r)
{
	size_t i, unfenced = 0;

	for (i = 0; i < r->n_departed; i++)
		unfenced += !r->departed[i]->fenced;
	one(f, "glockd_up", "gauge", "1 if glockd answered.", 1);
	one(f, "glockd_node_id", "gauge", "Corosync node id of this node.", r->local_node);
	one(f, "glockd_connected", "gauge", "1 while glockd is joined to its CPG group.",
	    r->connected);
	one(f, "glockd_quorate", "gauge", "1 while the cluster is quorate in glockd's view.",
	    r->quorate);
	one(f, "glockd_synced", "gauge", "1 while this node holds the replicated lock table.",
	    r->synced);
	one(f, "glockd_members", "gauge", "Members of the cluster.", r->n_members);
	one(f, "glockd_departed_nodes", "gauge", "Departed nodes holding expired grants.",
	    r->n_departed);
	one(f, "glockd_departed_unfenced_nodes", "gauge",
	    "Departed nodes holding expired grants, not fenced yet.", unfenced);
	one(f, "glockd_cluster_glocks", "gauge",
	    "Glocks in the replicated cluster table (lock_path = p2p: mastered here).", r->glocks);
	one(f, "glockd_agent_glocks", "gauge", "Glocks this node's agent knows (held, cached, wanted).",
	    r->agent_glocks);
	one(f, "glockd_cached_idle_glocks", "gauge",
	    "Grants this node keeps cached with no local holder.", r->cached_idle);
	one(f, "glockd_local_holders", "gauge", "Local holders (processes, kernel inodes).",
	    r->local_holders);
	one(f, "glockd_local_waiters", "gauge", "Local requests waiting.", r->local_waiters);
	one(f, "glockd_clients", "gauge", "Connected clients.", r->clients);
	lockspaces(f, r);
	requests(f, r);
	one(f, "glockd_cache_hits_total", "counter",
	    "Lock and convert requests granted at once from the node's cached grant.", r->cache_hits);
	one(f, "glockd_demotes_received_total", "counter",
	    "Demote requests this node received from the cluster.", r->demotes);
	one(f, "glockd_cpg_messages_sent_total", "counter", "CPG messages sent.", r->msgs_sent);
	one(f, "glockd_cpg_messages_received_total", "counter", "CPG messages delivered.",
	    r->msgs_received);
	one(f, "glockd_cpg_items_sent_total", "counter", "Ops sent (batched into messages).",
	    r->items_sent);
	one(f, "glockd_cpg_items_received_total", "counter", "Ops delivered.", r->items_received);
	one(f, "glockd_cpg_try_again_total", "counter", "Sends corosync refused with TRY_AGAIN.",
	    r->try_again);
	one(f, "glockd_cpg_bad_messages_total", "counter",
	    "CPG messages dropped: undecodable or of another major version.", r->bad_msgs);
	one(f, "glockd_cpg_version_mismatch_messages_total", "counter",
	    "CPG messages dropped for another major protocol version.", r->version_mismatches);
	one(f, "glockd_engine_refused_items_total", "counter",
	    "Delivered ops the lock engine refused.", r->items_refused);
	one(f, "glockd_send_queue_length", "gauge", "Ops queued for the cluster.", r->queue_len);
	one(f, "glockd_ipc_refused_connections_total", "counter",
	    "IPC connections refused (not root, allow_uid or allow_gid).", r->ipc_refused);
	one(f, "glockd_ipc_bad_requests_total", "counter", "Malformed IPC requests.",
	    r->ipc_bad_requests);
	one(f, "glockd_kernel_bad_requests_total", "counter", "Malformed /dev/glock requests.",
	    r->kernel_bad_requests);
	if (r->p2p)
		p2p_metrics(f, r);
}

static void write_down(FILE *f)
{
	one(f, "glockd_up", "gauge", "1 if glockd answered.", 0);
}

/* Writes to path through path.tmp.PID, then renames: readers never see half a file. */
static int write_textfile(const char *path, const GlockIpcStatusReply *r)
{
	char tmp[4096];
	FILE *f;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	if (r)
		write_metrics(f, r);
	else
		write_down(f);
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: glockctl metrics [--textfile PATH]\n"
		   "glockd's counters in Prometheus' text format, to stdout or atomically to PATH\n"
		   "(for node_exporter's textfile collector: a PATH ending in .prom).\n");
}

int glock__ctl_metrics_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "textfile", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	GlockIpcStatusReply *r = NULL;
	struct glock_ls *ls;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (path && !*path)) {
		usage(stderr);
		return 2;
	}
	if (!glock__ctl_admin_open(&ls)) {
		r = glock__ctl_status(ls);
		glock_close(ls);
	}
	if (path) {
		err = write_textfile(path, r);
		if (err)
			fprintf(stderr, "glockctl: metrics: %s: %s\n", path, strerror(-err));
	} else {
		if (r)
			write_metrics(stdout, r);
		else
			write_down(stdout);
		err = fflush(stdout) ? -errno : 0;
	}
	if (r)
		glock_ipc_status_reply__free_unpacked(r, NULL);
	return r && !err ? 0 : 1;
}
