/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl: look at and use glockd from the command line.
 *
 * Glock names on the command line:
 *   LOCKSPACE/TYPE/NUMBER   as GFS2 names glocks; TYPE and NUMBER decimal
 *                           or 0x-prefixed hex, e.g. fs1/2/0x805b
 *   LOCKSPACE/NAME          any other NAME is hashed (64-bit FNV-1a) to a
 *                           number of type 0x100 (GLOCKCTL_NAME_TYPE), so
 *                           scripts can use words: backups/nightly
 *
 * `lock` must outlive glockctl: it forks a small holder process that takes
 * the lock, holds it until `glockctl unlock NAME` (SIGTERM) or its own
 * death, and records its pid in $GLOCKCTL_RUNDIR (default /run/glockctl)
 * as NAME with '/' turned into '%'.  glockctl lock returns once the holder
 * has the lock (or failed to get it).  If the holder dies, glockd releases
 * the lock with its connection.
 *
 * Exit status: 0 success (run: the command's own status; 128+N if it died
 * of signal N), 1 failure (lock not obtained, glockd unreachable, ...),
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbipc_common.h>

#include "glockctl.h"

#define GLOCKCTL_NAME_TYPE 0x100u
#define GLOCKCTL_RUNDIR "/run/glockctl"
#define ADMIN_LOCKSPACE "glockctl"

/* libglock's internal request call (the convenience library exports it). */
int glock__request(struct glock_ls *ls, int32_t id, const void *payload, size_t len,
		   const uint8_t **ret_reply, size_t *ret_len);
/* bench.c */
int glock__bench_main(int argc, char **argv);

static const char *prog = "glockctl";

static const char *const mode_names[] = { "UN", "SH", "DF", "EX" };

const char *glock__ctl_mode_str(uint32_t m)
{
	return m < 4 ? mode_names[m] : "??";
}

#define mode_str glock__ctl_mode_str

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [ARGS]\n"
		"  status                         membership, quorum, sync, lockspaces, counts\n"
		"  members                        cluster members and departed nodes\n"
		"  dump [--lockspace LS]          every glock: grants per node, waiters, expired,\n"
		"                                 LVB, and this node's local holders\n"
		"  stats [--lockspace LS]         gfs2 glstats per glock this node knows\n"
		"  run (--sh|--ex|--df) NAME [--timeout MS] [--try] -- COMMAND [ARG...]\n"
		"                                 hold NAME while COMMAND runs (like flock(1))\n"
		"  lock (--sh|--ex|--df) NAME [--timeout MS] [--try]\n"
		"                                 take NAME and keep it after glockctl exits\n"
		"  unlock NAME                    release a lock taken by `lock`\n"
		"  bench [OPTIONS]                lock latency and throughput (bench --help)\n"
		"  metrics [--textfile PATH]      counters in Prometheus' text format\n"
		"  top [-n N] [-d S] [-l LINES] [--lockspace LS]\n"
		"                                 live view: busiest glocks, holders, waiters\n"
		"NAME: LOCKSPACE/TYPE/NUMBER (GFS2 style, decimal or 0x hex) or LOCKSPACE/WORD\n"
		"(WORD hashed with FNV-1a to a number of type 0x%x).\n"
		"Exit: 0 ok (run: COMMAND's status), 1 failed, 2 usage.\n",
		prog, GLOCKCTL_NAME_TYPE);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	return 1;
}

/* ---- names ---- */

struct gname {
	char ls[GLOCK_LOCKSPACE_LEN + 1];
	uint32_t type;
	uint64_t number;
};

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int parse_name(const char *arg, struct gname *n)
{
	const char *slash = strchr(arg, '/');
	const char *rest, *slash2;
	uint64_t t, num;
	size_t lslen;

	if (!slash || slash == arg || !slash[1])
		return -EINVAL;
	lslen = (size_t)(slash - arg);
	if (lslen > GLOCK_LOCKSPACE_LEN)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	memcpy(n->ls, arg, lslen);
	rest = slash + 1;
	slash2 = strchr(rest, '/');
	if (slash2 && !strchr(slash2 + 1, '/')) {
		char tbuf[32];
		size_t tl = (size_t)(slash2 - rest);

		if (tl < sizeof(tbuf)) {
			memcpy(tbuf, rest, tl);
			tbuf[tl] = 0;
			if (parse_u64(tbuf, &t) && t <= UINT32_MAX && parse_u64(slash2 + 1, &num)) {
				n->type = (uint32_t)t;
				n->number = num;
				return 0;
			}
		}
	}
	n->type = GLOCKCTL_NAME_TYPE;
	n->number = fnv1a(rest);
	return 0;
}

/* ---- admin requests ---- */

int glock__ctl_admin_open(struct glock_ls **ls)
{
	int err = glock_open(ADMIN_LOCKSPACE, ls);

	if (err)
		fprintf(stderr, "%s: cannot reach glockd: %s\n", prog, strerror(-err));
	return err;
}

GlockIpcStatusReply *glock__ctl_status(struct glock_ls *ls)
{
	GlockIpcStatusReq req = GLOCK_IPC_STATUS_REQ__INIT;
	uint8_t buf[16];
	const uint8_t *p;
	size_t len, n = glock_ipc_status_req__pack(&req, buf);
	int err = glock__request(ls, GLOCK_IPC_MSG__GLOCK_IPC_STATUS, buf, n, &p, &len);

	if (err) {
		fail("status", err);
		return NULL;
	}
	return glock_ipc_status_reply__unpack(NULL, len, p);
}

/* The departed nodes of one kind (startup fencing or not), on one line. */
static void print_departed(const GlockIpcStatusReply *r, bool startup, const char *title)
{
	size_t i;
	bool any = false;

	for (i = 0; i < r->n_departed; i++) {
		if (r->departed[i]->startup != startup)
			continue;
		printf("%s %u(%s%s)", any ? "" : title, r->departed[i]->node,
		       r->departed[i]->fenced ? "fenced" : "NOT fenced",
		       r->departed[i]->unknown && !startup ?
			       ", lost with its corosync: every lock waits" : "");
		any = true;
	}
	if (any)
		printf("\n");
}

static int cmd_status(bool members_only)
{
	struct glock_ls *ls;
	GlockIpcStatusReply *r;
	size_t i;

	if (glock__ctl_admin_open(&ls))
		return 1;
	r = glock__ctl_status(ls);
	glock_close(ls);
	if (!r)
		return 1;
	if (!members_only) {
		printf("node %u: %s, %s, %s\n", r->local_node,
		       r->connected ? "connected" : "NOT connected",
		       r->quorate ? "quorate" : "NOT quorate", r->synced ? "synced" : "NOT synced");
	}
	printf("members (%zu):", r->n_members);
	for (i = 0; i < r->n_members; i++)
		printf(" %u%s", r->members[i], r->members[i] == r->local_node ? "*" : "");
	printf("\n");
	print_departed(r, false, "departed, holding expired grants:");
	print_departed(r, true, "absent at a fresh start, every lock waits (startup fencing):");
	if (!members_only) {
		printf("glocks: %" PRIu64 " in the cluster table, %" PRIu64
		       " known to this node's agent\n", r->glocks, r->agent_glocks);
		printf("local: %" PRIu64 " holders, %" PRIu64 " waiters, %" PRIu64 " clients\n",
		       r->local_holders, r->local_waiters, r->clients);
		for (i = 0; i < r->n_lockspaces; i++)
			printf("lockspace %-20s %8" PRIu64 " glocks, %8" PRIu64 " held here\n",
			       r->lockspaces[i]->lockspace, r->lockspaces[i]->glocks,
			       r->lockspaces[i]->local_glocks);
		for (i = 0; i < r->n_kernel_mounts; i++) {
			const GlockIpcKernelMount *k = r->kernel_mounts[i];

			printf("kernel %-20s %8" PRIu64 " glocks held, %" PRIu64
			       " released unasked, %" PRIu64 " demotes asked\n",
			       k->lockspace, k->glocks, k->releases, k->demotes);
		}
		printf("cpg: %" PRIu64 " msgs sent, %" PRIu64 " received, %" PRIu64
		       " queued, %" PRIu64 " try-again, %" PRIu64 " bad\n",
		       r->msgs_sent, r->msgs_received, r->queue_len, r->try_again, r->bad_msgs);
		if (r->p2p) {
			printf("lock path: p2p, %" PRIu64 " glocks mastered here (%" PRIu64
			       " recovering), %" PRIu64 " requests parked, %" PRIu64
			       " stale dropped, %" PRIu64 " bad payloads, %" PRIu64 " refused\n",
			       r->glocks, r->p2p_recovering, r->p2p_parked, r->p2p_stale_dropped,
			       r->p2p_bad_payloads, r->p2p_refused_msgs);
			printf("posix locks: %" PRIu64 " files mastered here, %" PRIu64 " locks, %" PRIu64
			       " waiters, %" PRIu64 " parked; %" PRIu64 " ops of this node unanswered\n",
			       r->plock_files, r->plock_locks, r->plock_waiters, r->plock_parked,
			       r->plock_pending);
			for (i = 0; i < r->n_links; i++) {
				const GlockIpcLink *l = r->links[i];

				printf("link node %u: %s, %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64
				       " queued, %" PRIu64 " dropped, %" PRIu64 " lost, %" PRIu64
				       " reconnects\n",
				       l->node, l->up ? "up" : "DOWN", l->sent, l->received, l->queued,
				       l->dropped, l->lost, l->reconnects);
			}
		}
	}
	glock_ipc_status_reply__free_unpacked(r, NULL);
	return 0;
}

static void print_nodes(const char *tag, GlockIpcNodeMode **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		printf(" %s: node:%u s:%s", tag, v[i]->node, mode_str(v[i]->mode));
		if (v[i]->flags)
			printf(" f:%x", v[i]->flags);
		if (v[i]->has_req_id)
			printf(" req:%" PRIu64 "%s", v[i]->req_id, v[i]->convert ? " convert" : "");
		if (v[i]->demote_sent)
			printf(" d:%s", mode_str(v[i]->demote_target));
		printf("\n");
	}
}

/* One DUMP or STATS page request; the packed reply, or -errno. */
static int page_request(struct glock_ls *ls, int32_t id, const char *lockspace, uint64_t start,
			const uint8_t **ret_reply, size_t *ret_len)
{
	GlockIpcPageReq req = GLOCK_IPC_PAGE_REQ__INIT;
	uint8_t buf[128];
	size_t n;

	req.lockspace = (char *)lockspace;
	req.has_start = true;
	req.start = start;
	if (glock_ipc_page_req__get_packed_size(&req) > sizeof(buf))
		return -EINVAL;
	n = glock_ipc_page_req__pack(&req, buf);
	return glock__request(ls, id, buf, n, ret_reply, ret_len);
}

GlockIpcDumpReply *glock__ctl_dump_page(struct glock_ls *ls, const char *lockspace,
					uint64_t start, int *ret_err)
{
	GlockIpcDumpReply *r = NULL;
	const uint8_t *p;
	size_t len;
	int err = page_request(ls, GLOCK_IPC_MSG__GLOCK_IPC_DUMP, lockspace, start, &p, &len);

	if (!err) {
		r = glock_ipc_dump_reply__unpack(NULL, len, p);
		if (!r || r->status) {
			err = -EPROTO;
			if (r)
				glock_ipc_dump_reply__free_unpacked(r, NULL);
			r = NULL;
		}
	}
	if (err) {
		*ret_err = err;
		fail("dump", err);
	}
	return r;
}

GlockIpcStatsReply *glock__ctl_stats_page(struct glock_ls *ls, const char *lockspace,
					  uint64_t start, int *ret_err)
{
	GlockIpcStatsReply *r = NULL;
	const uint8_t *p;
	size_t len;
	int err = page_request(ls, GLOCK_IPC_MSG__GLOCK_IPC_STATS, lockspace, start, &p, &len);

	if (!err) {
		r = glock_ipc_stats_reply__unpack(NULL, len, p);
		if (!r || r->status) {
			err = -EPROTO;
			if (r)
				glock_ipc_stats_reply__free_unpacked(r, NULL);
			r = NULL;
		}
	}
	if (err) {
		*ret_err = err;
		fail("stats", err);
	}
	return r;
}

static int cmd_dump(const char *lockspace)
{
	struct glock_ls *ls;
	uint64_t start = 0;
	int ret = 0;

	if (glock__ctl_admin_open(&ls))
		return 1;
	for (;;) {
		GlockIpcDumpReply *r;
		size_t n, i, j;
		int err;

		r = glock__ctl_dump_page(ls, lockspace, start, &err);
		if (!r) {
			ret = 1;
			break;
		}
		for (i = 0; i < r->n_records; i++) {
			GlockIpcDumpRecord *d = r->records[i];

			printf("G: ls:%s n:%u/%" PRIx64, d->name->lockspace, d->name->type,
			       d->name->number);
			if (d->has_master)
				printf(" m:%u", d->master);
			if (d->has_cached_mode)
				printf(" here:%s%s%s", mode_str(d->cached_mode),
				       d->request_pending ? " req" : "",
				       d->demote_pending ? " demoting" : "");
			if (d->demote_pending)
				printf(" d:%s", mode_str(d->demote_target));
			printf(" lvb:");
			for (j = 0; j < d->lvb.len; j++)
				printf("%02x", d->lvb.data[j]);
			printf("\n");
			print_nodes("N", d->holders, d->n_holders);
			print_nodes("X", d->expired, d->n_expired);
			print_nodes("W", d->waiters, d->n_waiters);
			for (j = 0; j < d->n_local; j++) {
				GlockIpcLocalHolder *l = d->local[j];

				printf(" H: s:%s", mode_str(l->mode));
				if (l->waiting)
					printf(" w:%s", mode_str(l->want));
				printf(" id:%" PRIu64 " p:%u%s\n", l->handle, l->pid,
				       l->demote_asked ? " demote-asked" : "");
			}
			for (j = 0; j < d->n_plocks; j++) {
				GlockIpcPlock *pl = d->plocks[j];

				printf(" P: %s n:%u o:%" PRIx64 " p:%u %s %" PRIu64 "-", pl->waiting ? "w" : "h",
				       pl->node, pl->owner, pl->pid, pl->write ? "WR" : "RD", pl->start);
				if (pl->end == UINT64_MAX)
					printf("EOF");
				else
					printf("%" PRIu64, pl->end);
				printf("%s\n", pl->ofd ? " ofd" : "");
			}
		}
		start = r->next;
		n = r->more;
		glock_ipc_dump_reply__free_unpacked(r, NULL);
		if (!n)
			break;
	}
	glock_close(ls);
	return ret;
}

static int cmd_stats(const char *lockspace)
{
	struct glock_ls *ls;
	uint64_t start = 0;
	int ret = 0;

	if (glock__ctl_admin_open(&ls))
		return 1;
	for (;;) {
		GlockIpcStatsReply *r;
		size_t n, i;
		int err;

		r = glock__ctl_stats_page(ls, lockspace, start, &err);
		if (!r) {
			ret = 1;
			break;
		}
		/* gfs2's glstats line, with the lockspace and the demote count added. */
		for (i = 0; i < r->n_records; i++) {
			GlockIpcStatsRecord *s = r->records[i];

			printf("G: ls:%s n:%u/%" PRIx64 " s:%s rtt:%" PRId64 "/%" PRId64
			       " rttb:%" PRId64 "/%" PRId64 " irt:%" PRId64 "/%" PRId64
			       " dcnt: %" PRIu64 " qcnt: %" PRIu64 " demotes: %" PRIu64 "\n",
			       s->name->lockspace, s->name->type, s->name->number,
			       mode_str(s->cached_mode), s->srtt, s->srttvar, s->srttb, s->srttvarb,
			       s->sirt, s->sirtvar, s->dcount, s->qcount, s->demotes);
		}
		start = r->next;
		n = r->more;
		glock_ipc_stats_reply__free_unpacked(r, NULL);
		if (!n)
			break;
	}
	glock_close(ls);
	return ret;
}

/* ---- run, lock, unlock ---- */

struct lock_args {
	int mode;
	uint32_t flags;
	uint32_t timeout_ms;
	struct gname name;
	int argi; /* first non-option argument */
};

static int parse_lock_args(int argc, char **argv, struct lock_args *la)
{
	static const struct option opts[] = {
		{ "sh", no_argument, NULL, 's' }, { "ex", no_argument, NULL, 'e' },
		{ "df", no_argument, NULL, 'd' }, { "timeout", required_argument, NULL, 't' },
		{ "try", no_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(la, 0, sizeof(*la));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+sedt:nh", opts, NULL)) != -1) {
		switch (c) {
		case 's': la->mode = GLOCK_SH; break;
		case 'e': la->mode = GLOCK_EX; break;
		case 'd': la->mode = GLOCK_DF; break;
		case 'n': la->flags |= GLOCK_TRY; break;
		case 't':
			if (!parse_u64(optarg, &v) || v > UINT32_MAX) {
				fprintf(stderr, "%s: bad --timeout '%s'\n", prog, optarg);
				return -1;
			}
			la->timeout_ms = (uint32_t)v;
			break;
		default:
			return -1;
		}
	}
	if (!la->mode) {
		fprintf(stderr, "%s: %s: one of --sh, --ex, --df is required\n", prog, argv[0]);
		return -1;
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: %s: NAME is missing\n", prog, argv[0]);
		return -1;
	}
	if (parse_name(argv[optind], &la->name)) {
		fprintf(stderr, "%s: bad glock name '%s' (want LOCKSPACE/TYPE/NUMBER or LOCKSPACE/WORD)\n",
			prog, argv[optind]);
		return -1;
	}
	la->argi = optind + 1;
	return 0;
}

static int take(const struct lock_args *la, struct glock_ls **ls, struct glock_handle **h)
{
	int err = glock_open(la->name.ls, ls);

	if (err)
		return fail("cannot reach glockd", err);
	err = glock_lock(*ls, la->name.type, la->name.number, la->mode, la->flags,
			 la->timeout_ms, h);
	if (err) {
		glock_close(*ls);
		return fail("lock", err);
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct lock_args la;
	struct glock_ls *ls;
	struct glock_handle *h;
	int status, err;
	pid_t pid;

	if (parse_lock_args(argc, argv, &la))
		return 2;
	if (la.argi < argc && !strcmp(argv[la.argi], "--"))
		la.argi++;
	if (la.argi >= argc) {
		fprintf(stderr, "%s: run: COMMAND is missing (run --ex NAME -- COMMAND)\n", prog);
		return 2;
	}
	if (take(&la, &ls, &h))
		return 1;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		glock_close(ls);
		return fail("fork", err);
	}
	if (pid == 0) {
		execvp(argv[la.argi], &argv[la.argi]);
		fprintf(stderr, "%s: %s: %s\n", prog, argv[la.argi], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	err = glock_unlock(h);
	if (err)
		fprintf(stderr, "%s: unlock: %s\n", prog, strerror(-err));
	glock_close(ls);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static const char *rundir(void)
{
	const char *d = getenv("GLOCKCTL_RUNDIR");

	return d && *d ? d : GLOCKCTL_RUNDIR;
}

static void pid_path(const char *name, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s/", rundir()), i;

	for (i = 0; name[i] && n + 1 < len; i++)
		out[n++] = name[i] == '/' ? '%' : name[i];
	out[n] = 0;
}

static volatile sig_atomic_t holder_stop;

static void holder_sig(int sig)
{
	holder_stop = 1;
}

/* The holder process: takes the lock, says so on fd, holds it until SIGTERM. */
static int holder(const struct lock_args *la, const char *path, int fd)
{
	struct sigaction sa = { .sa_handler = holder_sig };
	struct glock_ls *ls;
	struct glock_handle *h;
	char msg[32];
	sigset_t mask, old;
	FILE *f;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = glock_open(la->name.ls, &ls);
	if (!err) {
		err = glock_lock(ls, la->name.type, la->name.number, la->mode, la->flags,
				 la->timeout_ms, &h);
		if (err)
			glock_close(ls);
	}
	if (!err) {
		f = fopen(path, "wx");
		if (!f) {
			err = -errno;
			glock_close(ls);
		} else {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	snprintf(msg, sizeof(msg), "%d\n", err);
	(void)!write(fd, msg, strlen(msg));
	close(fd);
	if (err)
		return 1;
	while (!holder_stop)
		sigsuspend(&old);
	glock_unlock(h);
	glock_close(ls);
	unlink(path);
	return 0;
}

static int cmd_lock(int argc, char **argv)
{
	struct lock_args la;
	char path[512], msg[32] = "";
	int pfd[2], err, devnull;
	ssize_t n;
	pid_t pid;

	if (parse_lock_args(argc, argv, &la))
		return 2;
	if (la.argi != argc) {
		fprintf(stderr, "%s: lock: unexpected argument '%s'\n", prog, argv[la.argi]);
		return 2;
	}
	if (mkdir(rundir(), 0700) && errno != EEXIST)
		return fail(rundir(), -errno);
	pid_path(argv[la.argi - 1], path, sizeof(path));
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "%s: %s is already held by a glockctl holder (%s)\n", prog,
			argv[la.argi - 1], path);
		return 1;
	}
	if (pipe(pfd))
		return fail("pipe", -errno);
	pid = fork();
	if (pid < 0)
		return fail("fork", -errno);
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			if (devnull > 2)
				close(devnull);
		}
		_exit(holder(&la, path, pfd[1]));
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	if (n <= 0)
		return fail("lock holder", -EIO);
	msg[n] = 0;
	err = atoi(msg);
	if (err) {
		waitpid(pid, NULL, 0);
		return fail("lock", err);
	}
	return 0;
}

static int cmd_unlock(int argc, char **argv)
{
	struct gname n;
	char path[512];
	FILE *f;
	int pid = 0, i;

	if (argc != 2 || parse_name(argv[1], &n)) {
		fprintf(stderr, "%s: usage: unlock NAME\n", prog);
		return 2;
	}
	pid_path(argv[1], path, sizeof(path));
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s is not held by glockctl lock (%s)\n", prog, argv[1], path);
		return 1;
	}
	if (fscanf(f, "%d", &pid) != 1 || pid <= 1) {
		fclose(f);
		fprintf(stderr, "%s: %s: bad pid file\n", prog, path);
		return 1;
	}
	fclose(f);
	if (kill(pid, SIGTERM)) {
		unlink(path); /* the holder died: glockd dropped the lock with it */
		return 0;
	}
	/* Wait until the holder is gone, i.e. the lock is released. */
	for (i = 0; i < 1000 && kill(pid, 0) == 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (kill(pid, 0) == 0) {
		fprintf(stderr, "%s: holder %d did not exit\n", prog, pid);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	const char *lockspace = NULL;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "dump") || !strcmp(cmd, "stats")) {
		if (argc == 4 && !strcmp(argv[2], "--lockspace"))
			lockspace = argv[3];
		else if (argc != 2) {
			usage(stderr);
			return 2;
		}
		return !strcmp(cmd, "dump") ? cmd_dump(lockspace) : cmd_stats(lockspace);
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "members")) {
		if (argc != 2) {
			usage(stderr);
			return 2;
		}
		return cmd_status(!strcmp(cmd, "members"));
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "lock"))
		return cmd_lock(argc - 1, argv + 1);
	if (!strcmp(cmd, "unlock"))
		return cmd_unlock(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return glock__bench_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "metrics"))
		return glock__ctl_metrics_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return glock__ctl_top_main(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
	usage(stderr);
	return 2;
}
