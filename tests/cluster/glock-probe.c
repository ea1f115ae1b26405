/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glock-probe: a scriptable libglock client for the netns cluster tests
 * (tests/cluster/), for what glockctl cannot express: handles held across
 * commands, async locks, cancel, conversions, LVBs, demote and lost events,
 * and a hostile raw-IPC client.
 *
 *   glock-probe [--ls LOCKSPACE]
 *       Reads commands from stdin, one per line, and answers on stdout, one
 *       line per result or event (flushed at once).  L is a label the
 *       script chooses for a handle; NAME is NUMBER (type 2, an inode glock
 *       as GFS2 names it) or TYPE/NUMBER; MODE is SH, DF or EX; FLAGS are
 *       any of try 1cb noexp prio and t=MS (timeout).
 *         lock L NAME MODE [FLAGS]    blocking: "L granted MODE lvb=S" | "L error ENAME"
 *         alock L NAME MODE [FLAGS]   async: "L pending", later "L granted ..." | "L error E"
 *         convert L MODE [FLAGS]      blocking: "L converted MODE lvb=S" | "L error E"
 *         unlock L                    "L unlocked" | "L error E"
 *         cancel L                    "L cancel-ok" | "L cancel-error E"
 *         lvbw L TEXT                 "L lvbw-ok" | "L error E"   (TEXT, NUL-padded)
 *         mode L                      "L mode=MODE lost=0|1"
 *         sleep MS                    runs callbacks for MS ms, then "slept"
 *         sync                        runs callbacks, then "sync"
 *         quit                        closes (glockd releases everything), exits 0
 *       Events: "L demote MODE", "L lost".  "L granted/error" of alock too.
 *       S in lvb=S is the LVB up to its first NUL byte, other bytes '.'.
 *       If glockd goes away: "disconnected ENAME" and exit status 3.
 *       Every line also goes to stderr with the time of day in front.
 *
 *   glock-probe hostile [SERVICE]
 *       A hostile client of glockd's libqb IPC service (default "glockd"):
 *       garbage, truncated, oversized-header, wrong-id and bad-value
 *       requests on one raw connection, checking that each is answered with
 *       an error and the connection still answers a STATUS; then a client
 *       that floods requests without reading the replies and vanishes, and
 *       junk bytes on the service's connection socket.  One "ok: ..." or
 *       "FAIL: ..." line per check; exit 0 if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbipcc.h>
#include <qb/qbipc_common.h>

#include "glock.h"
#include "glock_ipc.pb-c.h"

#define LABELS_MAX 256
#define LINE_MAX_LEN 1024

static const char *const mode_names[] = { "UN", "SH", "DF", "EX" };

static const char *errname(int err)
{
	const char *n = strerrorname_np(err < 0 ? -err : err);

	return n ? n : "E?";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------ interactive */

struct label {
	char name[32];
	struct glock_handle *h;
	bool used;
};

static struct label labels[LABELS_MAX];
static struct glock_ls *ls;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	/* The same line, time-stamped, on stderr (a transcript to match with the daemon logs). */
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld ", stamp, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct label *label_get(const char *name, bool create)
{
	struct label *free_slot = NULL;
	size_t i;

	for (i = 0; i < LABELS_MAX; i++) {
		if (labels[i].used && !strcmp(labels[i].name, name))
			return &labels[i];
		if (!labels[i].used && !free_slot)
			free_slot = &labels[i];
	}
	if (!create || !free_slot || strlen(name) >= sizeof(free_slot->name))
		return NULL;
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	free_slot->used = true;
	free_slot->h = NULL;
	return free_slot;
}

static struct label *label_of(struct glock_handle *h)
{
	size_t i;

	for (i = 0; h && i < LABELS_MAX; i++)
		if (labels[i].used && labels[i].h == h)
			return &labels[i];
	return NULL;
}

static const char *lvb_str(const struct glock_handle *h, char *buf)
{
	uint8_t lvb[GLOCK_LVB_SIZE];
	size_t i;

	buf[0] = 0;
	if (glock_lvb_read(h, lvb))
		return buf;
	for (i = 0; i < GLOCK_LVB_SIZE && lvb[i]; i++)
		buf[i] = lvb[i] > 32 && lvb[i] < 127 ? (char)lvb[i] : '.';
	buf[i] = 0;
	return buf;
}

static const char *mode_str(int m)
{
	return m >= 0 && m < 4 ? mode_names[m] : "??";
}

static void cb_completion(void *cookie, int status, struct glock_handle *h)
{
	struct label *l = cookie;
	char lvb[GLOCK_LVB_SIZE + 1];

	if (status) {
		if (h == NULL)
			l->h = NULL; /* libglock freed it */
		out("%s error %s", l->name, errname(status));
		return;
	}
	l->h = h;
	out("%s granted %s lvb=%s", l->name, mode_str(glock_handle_mode(h)), lvb_str(h, lvb));
}

static void cb_demote(struct glock_handle *h, int target)
{
	struct label *l = label_of(h);

	out("%s demote %s", l ? l->name : "?", mode_str(target));
}

static void cb_lost(struct glock_handle *h)
{
	struct label *l = label_of(h);

	out("%s lost", l ? l->name : "?");
}

static void dispatch(void)
{
	int r = glock_dispatch(ls);

	if (r < 0) {
		out("disconnected %s", errname(r));
		exit(3);
	}
}

static int parse_mode(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "SH"))
		return GLOCK_SH;
	if (!strcasecmp(s, "DF"))
		return GLOCK_DF;
	if (!strcasecmp(s, "EX"))
		return GLOCK_EX;
	return -1;
}

static bool parse_name(const char *s, uint32_t *type, uint64_t *number)
{
	const char *slash;
	char *end;

	if (!s || !*s)
		return false;
	slash = strchr(s, '/');
	*type = 2;
	if (slash) {
		*type = (uint32_t)strtoul(s, &end, 0);
		if (end != slash)
			return false;
		s = slash + 1;
	}
	*number = strtoull(s, &end, 0);
	return *s && !*end;
}

/* FLAGS words from argv[i...]. */
static bool parse_flags(char **w, int n, uint32_t *flags, uint32_t *timeout)
{
	int i;

	*flags = 0;
	*timeout = 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(w[i], "try"))
			*flags |= GLOCK_TRY;
		else if (!strcmp(w[i], "1cb"))
			*flags |= GLOCK_TRY_1CB;
		else if (!strcmp(w[i], "noexp"))
			*flags |= GLOCK_NOEXP;
		else if (!strcmp(w[i], "prio"))
			*flags |= GLOCK_PRIORITY;
		else if (!strncmp(w[i], "t=", 2))
			*timeout = (uint32_t)strtoul(w[i] + 2, NULL, 10);
		else
			return false;
	}
	return true;
}

static void run_sleep(uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	struct pollfd p = { .fd = glock_fd(ls), .events = POLLIN };

	for (;;) {
		uint64_t now = now_ms();

		dispatch();
		if (now >= end)
			break;
		(void)poll(&p, 1, (int)(end - now));
	}
}

static void command(char *line)
{
	char *w[16];
	int n = 0, mode, err;
	uint32_t type, flags, timeout;
	uint64_t number;
	struct label *l;
	char lvb[GLOCK_LVB_SIZE + 1];
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && n < 16;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = tok;
	if (!n)
		return;
	dispatch(); /* events that arrived first are printed first */
	if (!strcmp(w[0], "quit")) {
		glock_close(ls);
		exit(0);
	}
	if (!strcmp(w[0], "sync")) {
		out("sync");
		return;
	}
	if (!strcmp(w[0], "sleep") && n == 2) {
		run_sleep(strtoull(w[1], NULL, 10));
		out("slept");
		return;
	}
	if ((!strcmp(w[0], "lock") || !strcmp(w[0], "alock")) && n >= 4) {
		bool async = w[0][0] == 'a';

		l = label_get(w[1], true);
		mode = parse_mode(w[3]);
		if (!l || mode < 0 || !parse_name(w[2], &type, &number) ||
		    !parse_flags(w + 4, n - 4, &flags, &timeout)) {
			out("usage %s", w[0]);
			return;
		}
		if (l->h) {
			out("%s error label-in-use", l->name);
			return;
		}
		if (async) {
			err = glock_lock_async(ls, type, number, mode, flags, timeout, l, &l->h);
			if (err)
				out("%s error %s", l->name, errname(err));
			else
				out("%s pending", l->name);
			return;
		}
		err = glock_lock(ls, type, number, mode, flags, timeout, &l->h);
		if (err) {
			l->h = NULL;
			out("%s error %s", l->name, errname(err));
		} else {
			out("%s granted %s lvb=%s", l->name, mode_str(glock_handle_mode(l->h)),
			    lvb_str(l->h, lvb));
		}
		return;
	}
	l = n >= 2 ? label_get(w[1], false) : NULL;
	if (n >= 2 && (!l || !l->h)) {
		out("%s error no-handle", w[1]);
		return;
	}
	if (!strcmp(w[0], "convert") && n >= 3) {
		mode = parse_mode(w[2]);
		if (mode < 0 || !parse_flags(w + 3, n - 3, &flags, &timeout)) {
			out("usage convert");
			return;
		}
		err = glock_convert(l->h, mode, flags, timeout);
		if (err)
			out("%s error %s", l->name, errname(err));
		else
			out("%s converted %s lvb=%s", l->name, mode_str(glock_handle_mode(l->h)),
			    lvb_str(l->h, lvb));
		return;
	}
	if (!strcmp(w[0], "unlock") && n == 2) {
		err = glock_unlock(l->h);
		if (err && err != -ENOTCONN) {
			out("%s error %s", l->name, errname(err));
			if (err == -EBUSY || err == -EINVAL)
				return; /* the handle is still there */
		} else {
			out("%s unlocked", l->name);
		}
		l->h = NULL;
		l->used = false;
		return;
	}
	if (!strcmp(w[0], "cancel") && n == 2) {
		err = glock_cancel(l->h);
		if (err)
			out("%s cancel-error %s", l->name, errname(err));
		else
			out("%s cancel-ok", l->name);
		return;
	}
	if (!strcmp(w[0], "lvbw") && n == 3) {
		uint8_t buf[GLOCK_LVB_SIZE] = { 0 };

		memcpy(buf, w[2], strnlen(w[2], sizeof(buf)));
		err = glock_lvb_write(l->h, buf);
		if (err)
			out("%s error %s", l->name, errname(err));
		else
			out("%s lvbw-ok", l->name);
		return;
	}
	if (!strcmp(w[0], "mode") && n == 2) {
		out("%s mode=%s lost=%d", l->name, mode_str(glock_handle_mode(l->h)),
		    glock_handle_lost(l->h) ? 1 : 0);
		return;
	}
	out("usage unknown-command %s", w[0]);
}

static int interactive(const char *lockspace)
{
	static const struct glock_callbacks cb = {
		.completion = cb_completion, .demote = cb_demote, .lost = cb_lost,
	};
	char buf[LINE_MAX_LEN * 4];
	size_t have = 0;
	int err;

	err = glock_open(lockspace, &ls);
	if (err) {
		out("open-error %s", errname(err));
		return 3;
	}
	glock_set_callbacks(ls, &cb);
	out("ready node=%u", glock_local_node(ls));
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = 0, .events = POLLIN },
			{ .fd = glock_fd(ls), .events = POLLIN },
		};
		char *nl;
		ssize_t r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 4;
		}
		if (p[1].revents)
			dispatch();
		if (!p[0].revents)
			continue;
		r = read(0, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0) {
			glock_close(ls); /* stdin closed: as quit */
			return 0;
		}
		have += (size_t)r;
		buf[have] = 0;
		while ((nl = strchr(buf, '\n'))) {
			size_t used = (size_t)(nl - buf) + 1;

			*nl = 0;
			command(buf);
			memmove(buf, buf + used, have - used + 1);
			have -= used;
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* an endless line: drop it */
	}
}

/* ---------------------------------------------------------------- hostile */

static int fails;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	fputs(ok ? "ok: " : "FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		fails++;
}

#define RAW_BUF (256 * 1024)
static uint8_t reply_buf[RAW_BUF];

/*
 * Sends one message of `len` bytes whose header claims (id, hdr_size) and
 * waits up to 5 s for the reply.  Returns the reply length (header
 * included) or -errno; *ret_id is the reply's header id.
 */
static ssize_t raw_call(qb_ipcc_connection_t *c, int32_t id, int32_t hdr_size,
			const void *payload, size_t plen, int32_t *ret_id)
{
	struct qb_ipc_request_header hdr = { .id = id, .size = hdr_size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = plen },
	};
	const struct qb_ipc_response_header *rh = (const void *)reply_buf;
	ssize_t r = qb_ipcc_sendv_recv(c, iov, plen ? 2 : 1, reply_buf, sizeof(reply_buf), 5000);

	if (r >= (ssize_t)sizeof(*rh))
		*ret_id = rh->id;
	return r;
}

/* Status of a GlockIpcReply in reply_buf, or -1 if it is none. */
static int reply_status(ssize_t r)
{
	GlockIpcReply *rep;
	int st;

	if (r < (ssize_t)sizeof(struct qb_ipc_response_header))
		return -1;
	rep = glock_ipc_reply__unpack(NULL, (size_t)r - sizeof(struct qb_ipc_response_header),
				      reply_buf + sizeof(struct qb_ipc_response_header));
	if (!rep)
		return -1;
	st = rep->status;
	glock_ipc_reply__free_unpacked(rep, NULL);
	return st;
}

/* The connection still answers: a STATUS request gets an OK status reply. */
static bool still_serves(qb_ipcc_connection_t *c)
{
	GlockIpcStatusReq req = GLOCK_IPC_STATUS_REQ__INIT;
	GlockIpcStatusReply *rep;
	uint8_t buf[16];
	size_t n = glock_ipc_status_req__pack(&req, buf);
	int32_t id = -1;
	ssize_t r = raw_call(c, GLOCK_IPC_MSG__GLOCK_IPC_STATUS,
			     (int32_t)(sizeof(struct qb_ipc_request_header) + n), buf, n, &id);
	bool ok;

	if (r < (ssize_t)sizeof(struct qb_ipc_response_header) ||
	    id != GLOCK_IPC_MSG__GLOCK_IPC_STATUS)
		return false;
	rep = glock_ipc_status_reply__unpack(NULL, (size_t)r - sizeof(struct qb_ipc_response_header),
					     reply_buf + sizeof(struct qb_ipc_response_header));
	ok = rep && rep->status == GLOCK_STATUS__GLOCK_STATUS_OK;
	if (rep)
		glock_ipc_status_reply__free_unpacked(rep, NULL);
	return ok;
}

/* One bad request: expect an INVALID (or `want2`) reply and a usable connection. */
static void bad_request(qb_ipcc_connection_t *c, const char *what, int32_t id, int32_t hdr_size,
			const void *payload, size_t plen, int want2)
{
	int32_t rid = -12345;
	ssize_t r = raw_call(c, id, hdr_size, payload, plen, &rid);
	int st = reply_status(r);

	check(r > 0 && (st == GLOCK_STATUS__GLOCK_STATUS_INVALID || (want2 >= 0 && st == want2)),
	      "%s: answered with status %d (reply %zd bytes, id %d)", what, st, r, rid);
	check(still_serves(c), "%s: the connection still answers STATUS", what);
}

static size_t pack_lock(uint8_t *buf, const char *lockspace, uint32_t mode, uint32_t flags)
{
	GlockIpcLock m = GLOCK_IPC_LOCK__INIT;
	GlockIpcName name = GLOCK_IPC_NAME__INIT;

	name.lockspace = (char *)lockspace;
	name.type = 2;
	name.number = 0x4057117e;
	m.name = &name;
	m.mode = mode;
	m.has_flags = true;
	m.flags = flags;
	return glock_ipc_lock__pack(&m, buf);
}

static int hostile(const char *svc)
{
	const size_t H = sizeof(struct qb_ipc_request_header);
	static uint8_t big[200 * 1024];
	uint8_t buf[4096], garbage[512];
	char longls[300];
	qb_ipcc_connection_t *c;
	size_t n, i;
	int32_t rid;
	ssize_t r;

	srand(12345);
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)rand();
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)rand();

	c = qb_ipcc_connect(svc, RAW_BUF);
	if (!c) {
		check(false, "raw connect to '%s': %s", svc, strerror(errno));
		return 1;
	}
	check(still_serves(c), "raw connection without HELLO answers STATUS");

	/* Garbage payloads under every request id. */
	for (rid = GLOCK_IPC_MSG__GLOCK_IPC_HELLO; rid <= GLOCK_IPC_MSG__GLOCK_IPC_STATS; rid++) {
		char what[64];

		if (rid == GLOCK_IPC_MSG__GLOCK_IPC_STATUS)
			continue; /* any bytes may unpack as an empty StatusReq */
		snprintf(what, sizeof(what), "512 garbage bytes as id %d", rid);
		bad_request(c, what, rid, (int32_t)(H + sizeof(garbage)), garbage, sizeof(garbage),
			    -1);
	}
	/* Truncated: a valid LOCK cut short. */
	n = pack_lock(buf, "hostile", GLOCK_EX, 0);
	bad_request(c, "LOCK truncated to half", GLOCK_IPC_MSG__GLOCK_IPC_LOCK,
		    (int32_t)(H + n / 2), buf, n / 2, -1);
	bad_request(c, "LOCK with no payload", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)H, NULL, 0,
		    -1);
	bad_request(c, "HELLO with no payload", GLOCK_IPC_MSG__GLOCK_IPC_HELLO, (int32_t)H, NULL,
		    0, -1);
	/* Header sizes that lie. */
	bad_request(c, "header size larger than the message", GLOCK_IPC_MSG__GLOCK_IPC_LOCK,
		    (int32_t)(H + n + 1000), buf, n, -1);
	bad_request(c, "header size smaller than the message", GLOCK_IPC_MSG__GLOCK_IPC_LOCK,
		    (int32_t)(H + 1), buf, n, -1);
	bad_request(c, "negative header size", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, -1, buf, n, -1);
	bad_request(c, "header size 0", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, 0, buf, n, -1);
	/* Wrong ids. */
	bad_request(c, "unknown id 9999", 9999, (int32_t)(H + n), buf, n, -1);
	bad_request(c, "id 0 (NONE)", 0, (int32_t)(H + n), buf, n, -1);
	bad_request(c, "negative id -7", -7, (int32_t)(H + n), buf, n, -1);
	bad_request(c, "id 100 (EVENT, daemon to client only)", GLOCK_IPC_MSG__GLOCK_IPC_EVENT,
		    (int32_t)(H + n), buf, n, -1);
	/* Well-formed protobuf, bad values. */
	n = pack_lock(buf, "hostile", 7, 0);
	bad_request(c, "LOCK mode 7", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)(H + n), buf, n, -1);
	n = pack_lock(buf, "hostile", 0, 0);
	bad_request(c, "LOCK mode UN", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)(H + n), buf, n, -1);
	n = pack_lock(buf, "hostile", GLOCK_EX, 0xff00);
	bad_request(c, "LOCK flags 0xff00", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)(H + n), buf, n,
		    -1);
	n = pack_lock(buf, "", GLOCK_EX, 0);
	bad_request(c, "LOCK empty lockspace", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)(H + n), buf,
		    n, -1);
	memset(longls, 'x', sizeof(longls) - 1);
	longls[sizeof(longls) - 1] = 0;
	n = pack_lock(buf, longls, GLOCK_EX, 0);
	bad_request(c, "LOCK 299-byte lockspace", GLOCK_IPC_MSG__GLOCK_IPC_LOCK, (int32_t)(H + n),
		    buf, n, -1);
	{
		GlockIpcUnlock m = GLOCK_IPC_UNLOCK__INIT;
		GlockIpcName name = GLOCK_IPC_NAME__INIT;
		uint8_t lvb[7] = { 1, 2, 3, 4, 5, 6, 7 };

		name.lockspace = (char *)"hostile";
		name.type = 2;
		name.number = 1;
		m.name = &name;
		m.handle = 424242;
		m.has_lvb = true;
		m.lvb.len = sizeof(lvb);
		m.lvb.data = lvb;
		n = glock_ipc_unlock__pack(&m, buf);
		bad_request(c, "UNLOCK with a 7-byte LVB", GLOCK_IPC_MSG__GLOCK_IPC_UNLOCK,
			    (int32_t)(H + n), buf, n, -1);
		m.has_lvb = false;
		n = glock_ipc_unlock__pack(&m, buf);
		bad_request(c, "UNLOCK of a handle never given out", GLOCK_IPC_MSG__GLOCK_IPC_UNLOCK,
			    (int32_t)(H + n), buf, n, GLOCK_STATUS__GLOCK_STATUS_NOT_FOUND);
	}
	{
		GlockIpcCancel m = GLOCK_IPC_CANCEL__INIT;
		GlockIpcName name = GLOCK_IPC_NAME__INIT;

		name.lockspace = (char *)"hostile";
		name.type = 2;
		name.number = 1;
		m.name = &name;
		m.handle = 99;
		n = glock_ipc_cancel__pack(&m, buf);
		bad_request(c, "CANCEL of a handle never given out", GLOCK_IPC_MSG__GLOCK_IPC_CANCEL,
			    (int32_t)(H + n), buf, n, GLOCK_STATUS__GLOCK_STATUS_NOT_FOUND);
	}
	{
		GlockIpcHello m = GLOCK_IPC_HELLO__INIT;

		m.version_major = 99;
		n = glock_ipc_hello__pack(&m, buf);
		r = raw_call(c, GLOCK_IPC_MSG__GLOCK_IPC_HELLO, (int32_t)(H + n), buf, n, &rid);
		if (r > (ssize_t)sizeof(struct qb_ipc_response_header)) {
			GlockIpcHelloReply *hr = glock_ipc_hello_reply__unpack(
				NULL, (size_t)r - sizeof(struct qb_ipc_response_header),
				reply_buf + sizeof(struct qb_ipc_response_header));

			check(hr && hr->status == GLOCK_STATUS__GLOCK_STATUS_PROTOCOL,
			      "HELLO version 99: answered PROTOCOL (status %d)", hr ? (int)hr->status : -1);
			if (hr)
				glock_ipc_hello_reply__free_unpacked(hr, NULL);
		} else {
			check(false, "HELLO version 99: no reply (%zd)", r);
		}
		check(still_serves(c), "HELLO version 99: the connection still answers STATUS");
	}
	bad_request(c, "200 KiB of garbage as LOCK", GLOCK_IPC_MSG__GLOCK_IPC_LOCK,
		    (int32_t)(H + sizeof(big)), big, sizeof(big), -1);
	/* Many bad requests in a row (the log is rate limited; the daemon is not). */
	for (i = 0, n = 0; i < 2000; i++) {
		r = raw_call(c, 4000 + (int32_t)i, (int32_t)(H + 64), garbage + (i % 64), 64, &rid);
		if (reply_status(r) == GLOCK_STATUS__GLOCK_STATUS_INVALID)
			n++;
	}
	check(n == 2000, "2000 requests with unknown ids: %zu answered INVALID", n);
	check(still_serves(c), "after 2000 bad requests the connection still answers STATUS");
	qb_ipcc_disconnect(c);

	/* A client that sends and never reads, holding a lock and queueing more, then vanishes. */
	c = qb_ipcc_connect(svc, RAW_BUF);
	if (!c) {
		check(false, "second raw connect: %s", strerror(errno));
	} else {
		size_t sent = 0;

		for (i = 0; i < 5000; i++) {
			struct qb_ipc_request_header hdr;
			struct iovec iov[2];

			n = pack_lock(buf + H, "hostile", GLOCK_EX, 0);
			hdr.id = GLOCK_IPC_MSG__GLOCK_IPC_LOCK;
			hdr.size = (int32_t)(H + n);
			iov[0].iov_base = &hdr;
			iov[0].iov_len = H;
			iov[1].iov_base = buf + H;
			iov[1].iov_len = n;
			if (qb_ipcc_sendv(c, iov, 2) < 0)
				break;
			sent++;
		}
		check(sent > 0, "unread client: %zu LOCK requests sent without reading a reply", sent);
		qb_ipcc_disconnect(c);
	}

	/* Junk bytes on the service's connection socket (libqb's setup handshake). */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool connected;

		/* libqb binds the whole NUL-padded sun_path (see /proc/net/unix). */
		snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", svc);
		connected = fd >= 0 &&
			    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		check(connected, "raw socket connect to @%s", svc);
		if (connected) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			uint8_t sink[4096];

			(void)!write(fd, garbage, sizeof(garbage));
			/* The server may answer or hang up; wait at most 2 s for either. */
			if (poll(&p, 1, 2000) > 0)
				(void)!read(fd, sink, sizeof(sink));
		}
		if (fd >= 0)
			close(fd);
	}
	/* A fresh, well-behaved client is still served. */
	c = qb_ipcc_connect(svc, RAW_BUF);
	check(c && still_serves(c), "a fresh connection after all that is served");
	if (c)
		qb_ipcc_disconnect(c);
	printf("hostile: %d failed\n", fails);
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "hostile"))
		return hostile(argc >= 3 ? argv[2] : "glockd");
	if (argc == 3 && !strcmp(argv[1], "--ls"))
		return interactive(argv[2]);
	if (argc == 1)
		return interactive("probe");
	fprintf(stderr, "usage: glock-probe [--ls LOCKSPACE] | glock-probe hostile [SERVICE]\n");
	return 2;
}
