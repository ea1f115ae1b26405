/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl bench's kernel DLM backend (libdlm).
 *
 * A DLM lock is a process's, not a node's, and it is gone when unlocked;
 * glockd's grants are the node's and stay cached.  So this backend keeps
 * one DLM lock per resource and a holder count over it, as gfs2's glock
 * layer does over lock_dlm: the bench's unlock only drops the holder; the
 * DLM lock keeps its mode until a blocking AST says another node wants it,
 * and then, once no holder is left, it is converted down to NL (gfs2's
 * UN).  Modes as lock_dlm maps them: SH -> PR, DF -> CW, EX -> EX.  The
 * LVB travels with LKF_VALBLK: the DLM stores it when EX converts down and
 * hands it to the next grant.  While a blocking AST is pending no new
 * local holder is admitted (gfs2 does the same), so the other node gets
 * its turn.
 *
 * ASTs arrive on the lockspace handle's fd; a thread per handle dispatches
 * them.  Every handle is its own fd, so the kernel keeps its locks apart
 * from other handles' and drops them all when the handle is closed.
 *
 * Before the first lock, open waits until the expected number of nodes
 * have joined the lockspace (configfs lists them), so the resource
 * directory is spread over the cluster as in real use: a lockspace that
 * only this node has joined masters everything here.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libdlm.h>
#include <qb/qbmap.h>

#include "bench_backend.h"
#include "glock.h"

#define DLM_CONFIGFS "/sys/kernel/config/dlm/cluster"
#define DLM_JOIN_WAIT_MS 120000u
#define DLM_GIVE_BACK_MS 10000u

struct bench_ls {
	dlm_lshandle_t dlm;
	int fd, stop_fd;
	pthread_t dispatcher;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	qb_map_t *res; /* resource name -> struct dres */
};

/* One DLM lock kept for one resource. */
struct dres {
	struct bench_ls *ls;
	char name[DLM_RESNAME_MAXLEN + 1];
	struct dlm_lksb lksb;
	char lvb[DLM_LVB_LEN];
	int granted;	/* DLM mode held, -1 none yet */
	int asked;	/* mode of the request in flight */
	bool busy;	/* a request is in flight */
	bool blocked;	/* a blocking AST came: demote once idle */
	unsigned int holders;
};

static int dlm_mode(int mode)
{
	switch (mode) {
	case GLOCK_SH: return LKM_PRMODE;
	case GLOCK_DF: return LKM_CWMODE;
	case GLOCK_EX: return LKM_EXMODE;
	}
	return -1;
}

/* A held DLM mode serves a holder wanting want (EX serves all). */
static bool mode_serves(int held, int want)
{
	return held == LKM_EXMODE || (held == want && held != LKM_NLMODE);
}

/* sb_status of a finished request as -errno. */
static int dlm_status(int st)
{
	if (st == 0)
		return 0;
	if (st == -ECANCEL || st == ECANCEL)
		return -ECANCELED;
	return st < 0 ? st : -st;
}

static void completion_ast(void *arg)
{
	struct dres *r = arg;
	struct bench_ls *ls = r->ls;

	pthread_mutex_lock(&ls->mu);
	r->busy = false;
	if (r->lksb.sb_status == 0) {
		r->granted = r->asked;
		if (r->asked == LKM_NLMODE)
			r->blocked = false;
	}
	pthread_cond_broadcast(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
}

/* Called with ls->mu held. */
static int demote_if_idle(struct dres *r)
{
	int err;

	if (!r->blocked || r->busy || r->holders || r->granted <= LKM_NLMODE)
		return 0;
	r->asked = LKM_NLMODE;
	r->busy = true;
	err = dlm_ls_lock(r->ls->dlm, LKM_NLMODE, &r->lksb, LKF_CONVERT | LKF_VALBLK, r->name,
			  (unsigned int)strlen(r->name), 0, completion_ast, r, NULL, NULL);
	if (err) {
		r->busy = false;
		return -errno;
	}
	return 0;
}

static void blocking_ast(void *arg)
{
	struct dres *r = arg;
	struct bench_ls *ls = r->ls;

	pthread_mutex_lock(&ls->mu);
	/* A late blocking AST for a mode already given up asks for nothing. */
	if (r->granted > LKM_NLMODE || (r->busy && r->asked > LKM_NLMODE))
		r->blocked = true;
	if (demote_if_idle(r))
		fprintf(stderr, "glockctl bench: dlm demote of %s failed: %s\n", r->name,
			strerror(errno));
	pthread_cond_broadcast(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
}

static void *dispatch_thread(void *arg)
{
	struct bench_ls *ls = arg;
	struct pollfd p[2] = { { .fd = ls->fd, .events = POLLIN }, { .fd = ls->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		if (p[0].revents & POLLIN)
			dlm_dispatch(ls->fd);
	}
	return NULL;
}

static unsigned int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until want nodes (0: every node configfs knows) are in the lockspace. */
static int wait_members(const char *lockspace, unsigned int want)
{
	char path[256];
	uint64_t deadline = mono_ms() + DLM_JOIN_WAIT_MS;
	unsigned int have = 0;

	snprintf(path, sizeof(path), DLM_CONFIGFS "/spaces/%s/nodes", lockspace);
	for (;;) {
		unsigned int expect = want ? want : count_dir(DLM_CONFIGFS "/comms");

		have = count_dir(path);
		if (expect && have >= expect)
			return 0;
		if (mono_ms() > deadline) {
			fprintf(stderr,
				"glockctl bench: %u of %u nodes joined DLM lockspace %s in %u s\n",
				have, expect, lockspace, DLM_JOIN_WAIT_MS / 1000u);
			return -ETIMEDOUT;
		}
		usleep(50000);
	}
}

static void deadline_ts(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000u;
	ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits (ls->mu held) while r is busy; false when the deadline passed. */
static bool wait_idle(struct dres *r, const struct timespec *until, bool also_blocked)
{
	while (r->busy || (also_blocked && (r->blocked || r->holders))) {
		if (pthread_cond_timedwait(&r->ls->cv, &r->ls->mu, until) == ETIMEDOUT)
			return false;
	}
	return true;
}

/*
 * Converts every cached lock down to NL with its LVB, as gfs2 does when it
 * puts a glock at unmount.  A lock the kernel drops when the handle closes
 * goes without LKF_VALBLK: the last LVB written under it (a ping-pong's
 * stop, a control block's STOP) would be lost to the other node.
 */
static void give_back_cached(struct bench_ls *ls)
{
	qb_map_iter_t *it;
	struct timespec until;
	struct dres *r;
	void *val;

	deadline_ts(&until, DLM_GIVE_BACK_MS);
	pthread_mutex_lock(&ls->mu);
	it = qb_map_iter_create(ls->res);
	while (qb_map_iter_next(it, &val)) {
		r = val;
		if (!wait_idle(r, &until, false))
			break;
		r->blocked = true;
		if (demote_if_idle(r))
			fprintf(stderr, "glockctl bench: dlm give-back of %s failed: %s\n", r->name,
				strerror(errno));
	}
	qb_map_iter_free(it);
	it = qb_map_iter_create(ls->res);
	while (qb_map_iter_next(it, &val))
		if (!wait_idle(val, &until, false))
			break;
	qb_map_iter_free(it);
	pthread_mutex_unlock(&ls->mu);
}

static void dlm_close(struct bench_ls *ls)
{
	uint64_t one = 1;

	if (!ls)
		return;
	if (ls->res && ls->stop_fd >= 0)
		give_back_cached(ls);
	if (ls->stop_fd >= 0) {
		if (write(ls->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(ls->dispatcher, NULL);
		close(ls->stop_fd);
	}
	/* Closing the handle's fd drops its locks in the kernel. */
	if (ls->dlm)
		dlm_close_lockspace(ls->dlm);
	if (ls->res) {
		qb_map_iter_t *it = qb_map_iter_create(ls->res);
		void *val;

		while (qb_map_iter_next(it, &val))
			free(val);
		qb_map_iter_free(it);
		qb_map_destroy(ls->res);
	}
	pthread_cond_destroy(&ls->cv);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}

static int dlm_open_ls(const char *lockspace, unsigned int members, struct bench_ls **ret,
		       const char **ret_why)
{
	struct bench_ls *ls = calloc(1, sizeof(*ls));
	int err;

	if (!ls)
		return -ENOMEM;
	ls->stop_fd = -1;
	pthread_mutex_init(&ls->mu, NULL);
	pthread_cond_init(&ls->cv, NULL);
	ls->res = qb_hashtable_create(1024);
	if (!ls->res) {
		err = -ENOMEM;
		goto fail;
	}
	/* Creates the lockspace or joins it (dlm_controld must be running). */
	ls->dlm = dlm_create_lockspace(lockspace, 0600);
	if (!ls->dlm) {
		err = errno ? -errno : -ENOENT;
		*ret_why = "cannot join the DLM lockspace (dlm module, dlm_controld, /dev/misc/dlm-control?)";
		goto fail;
	}
	ls->fd = dlm_ls_get_fd(ls->dlm);
	ls->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (ls->fd < 0 || ls->stop_fd < 0) {
		err = -EIO;
		*ret_why = "no fd for the DLM lockspace";
		goto fail;
	}
	if (pthread_create(&ls->dispatcher, NULL, dispatch_thread, ls)) {
		close(ls->stop_fd);
		ls->stop_fd = -1;
		err = -EAGAIN;
		goto fail;
	}
	err = wait_members(lockspace, members);
	if (err) {
		*ret_why = "not every node joined the DLM lockspace";
		goto fail;
	}
	*ret = ls;
	return 0;
fail:
	dlm_close(ls);
	return err;
}

static struct dres *res_get(struct bench_ls *ls, uint32_t type, uint64_t number)
{
	char name[DLM_RESNAME_MAXLEN + 1];
	struct dres *r;

	/* gfs2's resource names: type and number in fixed-width hex */
	snprintf(name, sizeof(name), "%8x%16" PRIx64, type, number);
	r = qb_map_get(ls->res, name);
	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ls = ls;
	memcpy(r->name, name, sizeof(name));
	r->granted = -1;
	r->lksb.sb_lvbptr = r->lvb;
	qb_map_put(ls->res, r->name, r);
	return r;
}

static int dlm_lock_res(struct bench_ls *ls, uint32_t type, uint64_t number, int mode,
			unsigned int tmo_ms, struct bench_lock **ret)
{
	int want = dlm_mode(mode), err = 0;
	struct timespec until;
	struct dres *r;
	uint32_t flags;

	if (want < 0)
		return -EINVAL;
	deadline_ts(&until, tmo_ms);
	pthread_mutex_lock(&ls->mu);
	r = res_get(ls, type, number);
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	/* A cached mode that serves us, with no other node waiting for it. */
	if (!r->busy && !r->blocked && r->granted >= 0 && mode_serves(r->granted, want)) {
		r->holders++;
		goto out;
	}
	/* Let a pending demote (or another local holder) finish first. */
	if (!wait_idle(r, &until, true)) {
		err = -ETIMEDOUT;
		goto out;
	}
	if (r->granted >= 0 && mode_serves(r->granted, want)) {
		r->holders++;
		goto out;
	}
	/*
	 * The holder counts from the request on: a blocking AST that comes
	 * between the grant and our wake-up must not demote what we were
	 * just granted.
	 */
	r->holders++;
	flags = LKF_VALBLK | (r->granted >= 0 ? LKF_CONVERT : 0);
	r->asked = want;
	r->busy = true;
	if (dlm_ls_lock(ls->dlm, (uint32_t)want, &r->lksb, flags, r->name,
			(unsigned int)strlen(r->name), 0, completion_ast, r, blocking_ast, NULL)) {
		err = -errno;
		r->busy = false;
		goto out_unhold;
	}
	if (!wait_idle(r, &until, false)) {
		/* Give up: cancel, and take the outcome, whichever it is. */
		dlm_ls_unlock(ls->dlm, r->lksb.sb_lkid, LKF_CANCEL, &r->lksb, r);
		while (r->busy)
			pthread_cond_wait(&ls->cv, &ls->mu);
		if (r->lksb.sb_status) {
			err = -ETIMEDOUT;
			goto out_unhold;
		}
	}
	err = dlm_status(r->lksb.sb_status);
	if (!err)
		goto out;
out_unhold:
	r->holders--;
	demote_if_idle(r);
	pthread_cond_broadcast(&ls->cv);
out:
	pthread_mutex_unlock(&ls->mu);
	if (!err)
		*ret = (struct bench_lock *)r;
	return err;
}

static int dlm_unlock_res(struct bench_lock *h)
{
	struct dres *r = (struct dres *)h;
	int err;

	pthread_mutex_lock(&r->ls->mu);
	if (!r->holders) {
		pthread_mutex_unlock(&r->ls->mu);
		return -EINVAL;
	}
	r->holders--;
	err = demote_if_idle(r);
	pthread_cond_broadcast(&r->ls->cv);
	pthread_mutex_unlock(&r->ls->mu);
	return err;
}

static void dlm_lvb_read(struct bench_lock *h, uint8_t buf[BENCH_LVB_SIZE])
{
	struct dres *r = (struct dres *)h;

	pthread_mutex_lock(&r->ls->mu);
	if (r->lksb.sb_flags & DLM_SBF_VALNOTVALID)
		memset(buf, 0, BENCH_LVB_SIZE);
	else
		memcpy(buf, r->lvb, BENCH_LVB_SIZE);
	pthread_mutex_unlock(&r->ls->mu);
}

static int dlm_lvb_write(struct bench_lock *h, const uint8_t buf[BENCH_LVB_SIZE])
{
	struct dres *r = (struct dres *)h;
	int err = 0;

	pthread_mutex_lock(&r->ls->mu);
	if (r->granted != LKM_EXMODE || !r->holders)
		err = -EPERM;
	else
		memcpy(r->lvb, buf, BENCH_LVB_SIZE);
	pthread_mutex_unlock(&r->ls->mu);
	return err;
}

_Static_assert(BENCH_LVB_SIZE == DLM_LVB_LEN, "LVB sizes");

const struct bench_backend glock__bench_dlm = {
	.name = "dlm",
	.open = dlm_open_ls,
	.close = dlm_close,
	.lock = dlm_lock_res,
	.unlock = dlm_unlock_res,
	.lvb_read = dlm_lvb_read,
	.lvb_write = dlm_lvb_write,
};
