/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rawbench: the raw CPG and UDP round trips that glockd's lock operations
 * are built on, measured between nodes of the netns cluster
 * (deploy/netns-cluster), so that glockd's own figures can be read as
 * ratios of these (docs/DESIGN.md §5).
 *
 *   rawbench cpg-self      --iterations N   multicast, time until own delivery
 *   rawbench cpg-responder [--seconds S]    answer each request on delivery
 *   rawbench cpg-rr        --iterations N   send, time until a responder's
 *                                           answer is delivered
 *   rawbench cpg-flood     --seconds S      send flat out, deliveries per second
 *   rawbench udp-server    --port P         echo datagrams
 *   rawbench udp-rr --peer ADDR --port P --iterations N   UDP ping-pong
 *
 * All CPG messages go to one group (--group, default "glock-rawbench") with
 * AGREED ordering, the only ordering CPG implements.  Results are median,
 * p99, min and max in microseconds (CLOCK_MONOTONIC), one line, or one
 * JSON object line with --json.  cpg_mcast_joined's CS_ERR_TRY_AGAIN is
 * retried after a short sleep and counted; every wait is bounded and a run
 * gives up with a clear error after --timeout seconds.
 *
 * Exit status: 0 done, 1 failed, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

#define RB_MAGIC		0x676c6b72u	/* "glkr" */
#define RB_MAX_SIZE		65536
#define RB_TRY_AGAIN_SLEEP_NS	100000		/* 100 µs between retries */
#define RB_TRY_AGAIN_LIMIT_MS	5000		/* then give up */
#define RB_MSG_TIMEOUT_MS	5000		/* one round trip, at most */
#define RB_JOIN_TIMEOUT_MS	10000
#define RB_DRAIN_TIMEOUT_MS	10000
#define RB_UDP_RESEND_MS	1000
#define RB_UDP_RESENDS		5

enum rb_mode {
	RB_CPG_SELF,
	RB_CPG_RR,
	RB_CPG_RESPONDER,
	RB_CPG_FLOOD,
	RB_UDP_SERVER,
	RB_UDP_RR,
};

static const char *const rb_mode_names[] = {
	[RB_CPG_SELF]		= "cpg-self",
	[RB_CPG_RR]		= "cpg-rr",
	[RB_CPG_RESPONDER]	= "cpg-responder",
	[RB_CPG_FLOOD]		= "cpg-flood",
	[RB_UDP_SERVER]		= "udp-server",
	[RB_UDP_RR]		= "udp-rr",
};

enum rb_type {
	RB_PING = 1,		/* cpg-self: only the sender cares */
	RB_REQ,			/* cpg-rr request */
	RB_RESP,		/* cpg-rr answer, addressed to (to_nodeid, to_pid) */
	RB_FLOOD,
};

/* Wire header, host byte order: every node runs on this machine. */
struct rb_hdr {
	uint32_t magic;
	uint32_t type;
	uint64_t seq;
	uint64_t sent_ns;	/* sender's clock; read only by the sender */
	uint32_t to_nodeid;
	uint32_t to_pid;
};

struct rb_opts {
	enum rb_mode mode;
	long iterations;
	long warmup;
	double seconds;
	double timeout;
	size_t size;
	const char *group;
	const char *peer;
	int port;
	bool json;
	bool exit_when_alone;
};

struct rb_samples {
	uint64_t *ns;
	size_t n, cap;
};

struct rb {
	struct rb_opts o;
	uint64_t deadline_ns;

	cpg_handle_t handle;
	int fd;
	struct cpg_name group;
	unsigned int nodeid;
	uint32_t pid;
	bool joined;
	unsigned int others;		/* group members other than us */
	unsigned int confchgs;

	/* the one message a round-trip run is waiting for */
	enum rb_type want_type;
	uint64_t want_seq;
	bool got;
	uint64_t got_ns;

	/* flood and responder counters */
	uint64_t delivered, own_delivered, answered;
	uint64_t last_delivery_ns;
	bool served;			/* responder: has answered someone */
	int send_error;			/* CS error from a send in a callback */

	uint64_t try_again, resent;
	struct rb_samples s;
	unsigned char *buf;
};

static volatile sig_atomic_t rb_stop;

static void rb_on_signal(int sig)
{
	(void)sig;
	rb_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	nanosleep(&ts, NULL);
}

static void rb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rb_err(const char *fmt, ...)
{
	va_list ap;

	fputs("rawbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *cs_name(cs_error_t e)
{
	switch (e) {
	case CS_OK:			return "CS_OK";
	case CS_ERR_LIBRARY:		return "CS_ERR_LIBRARY (corosync gone?)";
	case CS_ERR_TRY_AGAIN:		return "CS_ERR_TRY_AGAIN";
	case CS_ERR_INVALID_PARAM:	return "CS_ERR_INVALID_PARAM";
	case CS_ERR_NO_MEMORY:		return "CS_ERR_NO_MEMORY";
	case CS_ERR_BAD_HANDLE:		return "CS_ERR_BAD_HANDLE";
	case CS_ERR_ACCESS:		return "CS_ERR_ACCESS";
	case CS_ERR_NOT_EXIST:		return "CS_ERR_NOT_EXIST";
	case CS_ERR_EXIST:		return "CS_ERR_EXIST";
	case CS_ERR_TOO_BIG:		return "CS_ERR_TOO_BIG";
	case CS_ERR_BAD_FLAGS:		return "CS_ERR_BAD_FLAGS";
	default:			return "CS error";
	}
}

static bool past_deadline(const struct rb *b)
{
	return now_ns() >= b->deadline_ns;
}

/* ------------------------------------------------------------ statistics */

static int samples_add(struct rb_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *p = realloc(s->ns, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p of them at or below. */
static double pct_us(const struct rb_samples *s, double p)
{
	size_t rank = (size_t)(p * (double)s->n + 0.999999);

	if (rank < 1)
		rank = 1;
	return (double)s->ns[rank - 1] / 1000.0;
}

/* Print one result line; extra is appended as-is (already formatted). */
static void report(struct rb *b, const char *extra_plain, const char *extra_json)
{
	struct rb_samples *s = &b->s;
	const char *name = rb_mode_names[b->o.mode];
	double sum = 0;
	size_t i;

	if (s->n == 0) {
		if (b->o.json)
			printf("{\"bench\":\"%s\",\"n\":0%s}\n", name, extra_json);
		else
			printf("%s: no samples%s\n", name, extra_plain);
		return;
	}
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	for (i = 0; i < s->n; i++)
		sum += (double)s->ns[i];
	if (b->o.json)
		printf("{\"bench\":\"%s\",\"n\":%zu,\"size\":%zu,\"p50_us\":%.1f,"
		       "\"p99_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f,"
		       "\"mean_us\":%.1f,\"try_again\":%" PRIu64 ",\"resent\":%" PRIu64 "%s}\n",
		       name, s->n, b->o.size, pct_us(s, 0.5), pct_us(s, 0.99),
		       pct_us(s, 0.0), (double)s->ns[s->n - 1] / 1000.0,
		       sum / (double)s->n / 1000.0, b->try_again, b->resent, extra_json);
	else
		printf("%s: n=%zu size=%zu  p50 %.1f us  p99 %.1f us  min %.1f us  "
		       "max %.1f us  (mean %.1f us, try_again %" PRIu64 ", resent %" PRIu64 ")%s\n",
		       name, s->n, b->o.size, pct_us(s, 0.5), pct_us(s, 0.99),
		       pct_us(s, 0.0), (double)s->ns[s->n - 1] / 1000.0,
		       sum / (double)s->n / 1000.0, b->try_again, b->resent, extra_plain);
	fflush(stdout);
}

/* ------------------------------------------------------------------- CPG */

static bool from_me(const struct rb *b, unsigned int nodeid, uint32_t pid)
{
	return nodeid == b->nodeid && pid == b->pid;
}

/*
 * Multicast one message, retrying CS_ERR_TRY_AGAIN (membership change or
 * full queue: the only back-pressure signal CPG gives) after a short sleep.
 * Outside a callback, deliveries are dispatched while waiting so that our
 * own queue keeps draining; inside one, cpg_dispatch must not be reentered.
 */
static cs_error_t cpg_send(struct rb *b, enum rb_type type, uint64_t seq,
			   unsigned int to_nodeid, uint32_t to_pid, bool in_callback)
{
	struct rb_hdr *h = (struct rb_hdr *)b->buf;
	struct iovec iov = { .iov_base = b->buf, .iov_len = b->o.size };
	uint64_t give_up = 0;
	cs_error_t e;

	*h = (struct rb_hdr){
		.magic = RB_MAGIC, .type = type, .seq = seq,
		.to_nodeid = to_nodeid, .to_pid = to_pid,
	};
	for (;;) {
		h->sent_ns = now_ns();
		e = cpg_mcast_joined(b->handle, CPG_TYPE_AGREED, &iov, 1);
		if (e != CS_ERR_TRY_AGAIN)
			return e;
		b->try_again++;
		if (!give_up)
			give_up = now_ns() + RB_TRY_AGAIN_LIMIT_MS * 1000000ull;
		else if (now_ns() > give_up || rb_stop)
			return e;
		sleep_ns(RB_TRY_AGAIN_SLEEP_NS);
		if (in_callback)
			continue;
		e = cpg_dispatch(b->handle, CS_DISPATCH_ALL);
		if (e != CS_OK)
			return e;
	}
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group,
		       uint32_t nodeid, uint32_t pid, void *msg, size_t len)
{
	struct rb *b = NULL;
	struct rb_hdr h;
	uint64_t t = now_ns();
	cs_error_t e;

	(void)group;
	if (cpg_context_get(handle, (void **)&b) != CS_OK || !b)
		return;
	/* Validate length and magic before reading the payload. */
	if (len < sizeof(h))
		return;
	memcpy(&h, msg, sizeof(h));
	if (h.magic != RB_MAGIC)
		return;

	switch (h.type) {
	case RB_PING:
		if (from_me(b, nodeid, pid) && b->want_type == RB_PING && h.seq == b->want_seq) {
			b->got = true;
			b->got_ns = t;
		}
		break;
	case RB_REQ:
		if (b->o.mode != RB_CPG_RESPONDER || from_me(b, nodeid, pid))
			break;
		/* Answer at once, from inside the delivery: that is the round trip. */
		e = cpg_send(b, RB_RESP, h.seq, nodeid, pid, true);
		if (e != CS_OK) {
			b->send_error = e;
			break;
		}
		b->answered++;
		b->served = true;
		break;
	case RB_RESP:
		if (h.to_nodeid == b->nodeid && h.to_pid == b->pid &&
		    b->want_type == RB_RESP && h.seq == b->want_seq && !b->got) {
			b->got = true;
			b->got_ns = t;
		}
		break;
	case RB_FLOOD:
		b->delivered++;
		b->last_delivery_ns = t;
		if (from_me(b, nodeid, pid)) {
			b->own_delivered++;
			if (samples_add(&b->s, t - h.sent_ns) < 0)
				b->send_error = CS_ERR_NO_MEMORY;
		}
		break;
	default:
		break;
	}
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group,
		       const struct cpg_address *members, size_t n_members,
		       const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	struct rb *b = NULL;
	bool me = false;
	size_t i;

	(void)group; (void)left; (void)n_left; (void)joined; (void)n_joined;
	if (cpg_context_get(handle, (void **)&b) != CS_OK || !b)
		return;
	for (i = 0; i < n_members; i++)
		if (from_me(b, members[i].nodeid, members[i].pid))
			me = true;
	b->joined = me;
	b->others = (unsigned int)(n_members - (me ? 1 : 0));
	b->confchgs++;
}

/* Dispatch until *flag is set or timeout_ms passes; 0, -ETIMEDOUT, -EINTR, -EIO. */
static int cpg_wait(struct rb *b, const bool *flag, int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
	cs_error_t e;
	uint64_t t;
	int r;

	while (!*flag) {
		if (rb_stop)
			return -EINTR;
		if (b->send_error)
			return -EIO;
		t = now_ns();
		if (t >= end)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)((end - t) / 1000000u) + 1);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			rb_err("lost the connection to corosync");
			return -EIO;
		}
		e = cpg_dispatch(b->handle, CS_DISPATCH_ALL);
		if (e != CS_OK) {
			rb_err("cpg_dispatch: %s", cs_name(e));
			return -EIO;
		}
	}
	return 0;
}

static int cpg_open(struct rb *b)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
	};
	uint64_t give_up = now_ns() + RB_JOIN_TIMEOUT_MS * 1000000ull;
	cs_error_t e;

	b->pid = (uint32_t)getpid();
	if (strlen(b->o.group) >= CPG_MAX_NAME_LENGTH) {
		rb_err("group name too long (max %d)", CPG_MAX_NAME_LENGTH - 1);
		return -EINVAL;
	}
	b->group.length = (uint32_t)strlen(b->o.group);
	memcpy(b->group.value, b->o.group, b->group.length);

	while ((e = cpg_model_initialize(&b->handle, CPG_MODEL_V1,
					 (cpg_model_data_t *)&model, b)) == CS_ERR_TRY_AGAIN &&
	       now_ns() < give_up && !rb_stop)
		sleep_ns(RB_TRY_AGAIN_SLEEP_NS * 10);
	if (e != CS_OK) {
		rb_err("cannot connect to corosync (cpg_model_initialize: %s); "
		      "run inside a node, e.g. netns-cluster exec 1 -- rawbench ...", cs_name(e));
		return -EIO;
	}
	e = cpg_local_get(b->handle, &b->nodeid);
	if (e == CS_OK)
		e = cpg_fd_get(b->handle, &b->fd);
	if (e != CS_OK) {
		rb_err("cpg_local_get/cpg_fd_get: %s", cs_name(e));
		goto out_finalize;
	}
	while ((e = cpg_join(b->handle, &b->group)) == CS_ERR_TRY_AGAIN &&
	       now_ns() < give_up && !rb_stop)
		sleep_ns(RB_TRY_AGAIN_SLEEP_NS * 10);
	if (e != CS_OK) {
		rb_err("cpg_join(%s): %s", b->o.group, cs_name(e));
		goto out_finalize;
	}
	if (cpg_wait(b, &b->joined, RB_JOIN_TIMEOUT_MS) < 0) {
		rb_err("no join confirmation for group %s within %d ms", b->o.group,
		      RB_JOIN_TIMEOUT_MS);
		goto out_finalize;
	}
	return 0;

out_finalize:
	cpg_finalize(b->handle);
	return -EIO;
}

static void cpg_close(struct rb *b)
{
	cpg_leave(b->handle, &b->group);
	cpg_finalize(b->handle);
}

/*
 * One timed round: send, wait for the message it is waiting for.  A
 * request caught in a membership change may never be answered, so on a
 * confchg while waiting it is sent again (same seq) and counted.
 */
static int cpg_round(struct rb *b, enum rb_type send_type, enum rb_type want,
		     uint64_t seq, uint64_t *ret_ns)
{
	unsigned int confchgs = b->confchgs;
	uint64_t t0, end;
	cs_error_t e;
	int r;

	b->want_type = want;
	b->want_seq = seq;
	b->got = false;
	t0 = now_ns();
	end = t0 + RB_MSG_TIMEOUT_MS * 1000000ull;
	e = cpg_send(b, send_type, seq, 0, 0, false);
	/* Wait in slices so that a membership change is seen; poll still wakes
	 * on the delivery at once. */
	while (e == CS_OK && (r = cpg_wait(b, &b->got, 50)) == -ETIMEDOUT) {
		if (now_ns() >= end)
			return -ETIMEDOUT;
		if (b->confchgs != confchgs) {
			confchgs = b->confchgs;
			b->resent++;
			e = cpg_send(b, send_type, seq, 0, 0, false);
		}
	}
	if (e != CS_OK) {
		rb_err("cpg_mcast_joined: %s", cs_name(e));
		return -EIO;
	}
	if (r < 0)
		return r;
	*ret_ns = b->got_ns - t0;
	return 0;
}

static int run_cpg_rounds(struct rb *b)
{
	enum rb_type send_type = b->o.mode == RB_CPG_SELF ? RB_PING : RB_REQ;
	enum rb_type want = b->o.mode == RB_CPG_SELF ? RB_PING : RB_RESP;
	long i, total = b->o.warmup + b->o.iterations;
	uint64_t ns;
	int r;

	if (b->o.mode == RB_CPG_RR && !b->others) {
		/* Give a responder that is starting up a moment to join. */
		uint64_t end = now_ns() + RB_JOIN_TIMEOUT_MS * 1000000ull;

		while (!b->others && now_ns() < end && !rb_stop)
			cpg_wait(b, &b->got, 50);
		if (!b->others) {
			rb_err("nobody else in group %s: start `rawbench cpg-responder` "
			      "on another node first", b->o.group);
			return -ENOENT;
		}
	}
	for (i = 0; i < total; i++) {
		if (past_deadline(b)) {
			rb_err("timed out after %ld of %ld rounds (--timeout %.0f s)",
			      i, total, b->o.timeout);
			return -ETIMEDOUT;
		}
		r = cpg_round(b, send_type, want, (uint64_t)i + 1, &ns);
		if (r == -ETIMEDOUT) {
			rb_err("round %ld: no %s within %d ms%s", i + 1,
			      want == RB_PING ? "own delivery" : "answer", RB_MSG_TIMEOUT_MS,
			      want == RB_RESP ? " (is cpg-responder running?)" : "");
			return r;
		}
		if (r < 0)
			return r;
		if (i >= b->o.warmup && samples_add(&b->s, ns) < 0) {
			rb_err("out of memory");
			return -ENOMEM;
		}
	}
	report(b, "", "");
	return 0;
}

static int run_cpg_responder(struct rb *b)
{
	uint64_t end = now_ns() + (uint64_t)(b->o.seconds * 1e9);
	bool never = false;
	int r;

	fprintf(stderr, "rawbench: cpg-responder node %u pid %u in group %s, for %.0f s\n",
		b->nodeid, b->pid, b->o.group, b->o.seconds);
	while (!rb_stop && now_ns() < end) {
		r = cpg_wait(b, &never, 200);
		if (r != -ETIMEDOUT && r != -EINTR) {
			if (b->send_error)
				rb_err("answering: %s", cs_name(b->send_error));
			return -EIO;
		}
		if (b->o.exit_when_alone && b->served && !b->others)
			break;
	}
	if (b->o.json)
		printf("{\"bench\":\"cpg-responder\",\"answered\":%" PRIu64
		       ",\"try_again\":%" PRIu64 "}\n", b->answered, b->try_again);
	else
		printf("cpg-responder: answered %" PRIu64 " requests (try_again %" PRIu64 ")\n",
		       b->answered, b->try_again);
	return 0;
}

/*
 * Send flat out for --seconds, dispatching whenever deliveries are waiting,
 * then wait for our own messages to come back.  The rate counts every
 * flood message this node delivered (other nodes may flood too) from the
 * first send to the last delivery.  The latencies are of our own messages
 * and so include the queueing a flood causes.
 */
static int run_cpg_flood(struct rb *b)
{
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
	uint64_t t0, send_end, drain_end, sent = 0;
	char plain[160], json[160];
	double secs, rate;
	cs_error_t e;
	bool done = false;
	int r;

	t0 = now_ns();
	send_end = t0 + (uint64_t)(b->o.seconds * 1e9);
	while (!rb_stop && now_ns() < send_end) {
		e = cpg_send(b, RB_FLOOD, sent + 1, 0, 0, false);
		if (e != CS_OK) {
			rb_err("cpg_mcast_joined after %" PRIu64 " messages: %s", sent, cs_name(e));
			return -EIO;
		}
		sent++;
		if (poll(&pfd, 1, 0) > 0) {
			e = cpg_dispatch(b->handle, CS_DISPATCH_ALL);
			if (e != CS_OK) {
				rb_err("cpg_dispatch: %s", cs_name(e));
				return -EIO;
			}
		}
		if (b->send_error) {
			rb_err("out of memory");
			return -ENOMEM;
		}
	}
	/* Drain: wait for our own last message. */
	drain_end = now_ns() + RB_DRAIN_TIMEOUT_MS * 1000000ull;

	while (b->own_delivered < sent) {
		if (now_ns() >= drain_end) {
			rb_err("only %" PRIu64 " of %" PRIu64 " own messages delivered "
			      "%d ms after the flood", b->own_delivered, sent, RB_DRAIN_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		r = cpg_wait(b, &done, 50);
		if (r != -ETIMEDOUT)
			return r < 0 ? r : -EIO;
	}
	secs = (double)(b->last_delivery_ns - t0) / 1e9;
	rate = secs > 0 ? (double)b->delivered / secs : 0;
	snprintf(plain, sizeof(plain), "  flood %.0f msg/s (%" PRIu64 " delivered, %" PRIu64
		 " own, in %.2f s)", rate, b->delivered, b->own_delivered, secs);
	snprintf(json, sizeof(json), ",\"msgs_per_s\":%.0f,\"delivered\":%" PRIu64
		 ",\"own_delivered\":%" PRIu64 ",\"seconds\":%.3f", rate, b->delivered,
		 b->own_delivered, secs);
	report(b, plain, json);
	return 0;
}

static int run_cpg(struct rb *b)
{
	int r;

	if (cpg_open(b) < 0)
		return -EIO;
	switch (b->o.mode) {
	case RB_CPG_SELF:
	case RB_CPG_RR:
		r = run_cpg_rounds(b);
		break;
	case RB_CPG_RESPONDER:
		r = run_cpg_responder(b);
		break;
	default:
		r = run_cpg_flood(b);
		break;
	}
	if (r == -EINTR)
		rb_err("interrupted");
	cpg_close(b);
	return r;
}

/* ------------------------------------------------------------------- UDP */

static int udp_socket(const struct rb *b, struct sockaddr_in *sin)
{
	int fd;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)b->o.port);
	if (b->o.mode == RB_UDP_SERVER) {
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, b->o.peer, &sin->sin_addr) != 1) {
		rb_err("--peer %s: not an IPv4 address", b->o.peer);
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rb_err("socket: %s", strerror(errno));
		return -errno;
	}
	if (b->o.mode == RB_UDP_SERVER ?
	    bind(fd, (struct sockaddr *)sin, sizeof(*sin)) :
	    connect(fd, (struct sockaddr *)sin, sizeof(*sin))) {
		int err = errno;

		rb_err("%s port %d: %s", b->o.mode == RB_UDP_SERVER ? "bind" : "connect",
		      b->o.port, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

static int run_udp_server(struct rb *b)
{
	uint64_t end = now_ns() + (uint64_t)(b->o.seconds * 1e9), answered = 0;
	struct sockaddr_in sin, from;
	struct pollfd pfd;
	socklen_t flen;
	ssize_t n;
	int fd;

	fd = udp_socket(b, &sin);
	if (fd < 0)
		return fd;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	fprintf(stderr, "rawbench: udp-server on port %d for %.0f s\n", b->o.port, b->o.seconds);
	while (!rb_stop && now_ns() < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		flen = sizeof(from);
		n = recvfrom(fd, b->buf, RB_MAX_SIZE, 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			continue;
		if (sendto(fd, b->buf, (size_t)n, 0, (struct sockaddr *)&from, flen) == n)
			answered++;
	}
	close(fd);
	if (b->o.json)
		printf("{\"bench\":\"udp-server\",\"answered\":%" PRIu64 "}\n", answered);
	else
		printf("udp-server: answered %" PRIu64 " datagrams\n", answered);
	return 0;
}

/* One UDP round trip: send, wait for this round's echo (dropping stale
 * ones), resend after RB_UDP_RESEND_MS of silence. */
static int udp_round(struct rb *b, int fd, uint64_t seq, uint64_t *ret_ns)
{
	struct rb_hdr *h = (struct rb_hdr *)b->buf, in;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t t0 = now_ns();
	ssize_t n;
	int tries;

	*h = (struct rb_hdr){ .magic = RB_MAGIC, .type = RB_REQ, .seq = seq };
	for (tries = 0; tries <= RB_UDP_RESENDS; tries++) {
		if (tries)
			b->resent++;
		if (send(fd, b->buf, b->o.size, 0) != (ssize_t)b->o.size) {
			rb_err("send to %s:%d: %s", b->o.peer, b->o.port, strerror(errno));
			return -EIO;
		}
		while (poll(&pfd, 1, RB_UDP_RESEND_MS) > 0) {
			n = recv(fd, &in, sizeof(in), MSG_TRUNC);
			if (n < 0 && errno == ECONNREFUSED) {
				rb_err("%s:%d refused: is `rawbench udp-server` running there?",
				      b->o.peer, b->o.port);
				return -ECONNREFUSED;
			}
			if (n >= (ssize_t)sizeof(in) && in.magic == RB_MAGIC && in.seq == seq) {
				*ret_ns = now_ns() - t0;
				return 0;
			}
		}
		if (rb_stop) {
			rb_err("interrupted");
			return -EINTR;
		}
	}
	rb_err("no answer from %s:%d after %d tries", b->o.peer, b->o.port, tries);
	return -ETIMEDOUT;
}

static int run_udp_rr(struct rb *b)
{
	long i, total = b->o.warmup + b->o.iterations;
	struct sockaddr_in sin;
	uint64_t ns;
	int fd, r = 0;

	fd = udp_socket(b, &sin);
	if (fd < 0)
		return fd;
	for (i = 0; i < total; i++) {
		if (past_deadline(b)) {
			rb_err("timed out after %ld of %ld rounds (--timeout %.0f s)",
			      i, total, b->o.timeout);
			r = -ETIMEDOUT;
			break;
		}
		r = udp_round(b, fd, (uint64_t)i + 1, &ns);
		if (r < 0)
			break;
		if (i >= b->o.warmup && samples_add(&b->s, ns) < 0) {
			rb_err("out of memory");
			r = -ENOMEM;
			break;
		}
	}
	close(fd);
	if (r == 0)
		report(b, "", "");
	return r;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fputs("usage: rawbench cpg-self      [--iterations N] [common]\n"
	      "       rawbench cpg-rr        [--iterations N] [common]\n"
	      "       rawbench cpg-responder [--seconds S] [--exit-when-alone] [common]\n"
	      "       rawbench cpg-flood     [--seconds S] [common]\n"
	      "       rawbench udp-server    --port P [--seconds S] [common]\n"
	      "       rawbench udp-rr        --peer ADDR --port P [--iterations N] [common]\n"
	      "common: --group NAME (glock-rawbench)  --size BYTES (64)  --warmup N (10)\n"
	      "        --timeout S (300, whole run)  --json\n"
	      "defaults: --iterations 1000, --seconds 5 (flood) or 600 (servers)\n", f);
}

static bool parse_num(const char *s, double lo, double hi, double *ret)
{
	char *end;
	double v;

	if (!s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

static int parse_args(int argc, char **argv, struct rb_opts *o)
{
	bool have_seconds = false;
	double v;
	int i;
	size_t m;

	if (argc < 2)
		return -EINVAL;
	for (m = 0; m < sizeof(rb_mode_names) / sizeof(rb_mode_names[0]); m++)
		if (!strcmp(argv[1], rb_mode_names[m]))
			break;
	if (m == sizeof(rb_mode_names) / sizeof(rb_mode_names[0])) {
		rb_err("unknown mode '%s'", argv[1]);
		return -EINVAL;
	}
	*o = (struct rb_opts){
		.mode = (enum rb_mode)m, .iterations = 1000, .warmup = 10,
		.seconds = 5, .timeout = 300, .size = 64, .group = "glock-rawbench",
		.port = 0,
	};
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "--exit-when-alone")) {
			o->exit_when_alone = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!val) {
			rb_err("%s: missing value", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--group")) {
			o->group = val;
		} else if (!strcmp(a, "--peer")) {
			o->peer = val;
		} else if (!strcmp(a, "--iterations") && parse_num(val, 1, 1e8, &v)) {
			o->iterations = (long)v;
		} else if (!strcmp(a, "--warmup") && parse_num(val, 0, 1e6, &v)) {
			o->warmup = (long)v;
		} else if (!strcmp(a, "--seconds") && parse_num(val, 0.01, 86400, &v)) {
			o->seconds = v;
			have_seconds = true;
		} else if (!strcmp(a, "--timeout") && parse_num(val, 0.1, 86400, &v)) {
			o->timeout = v;
		} else if (!strcmp(a, "--size") && parse_num(val, sizeof(struct rb_hdr), RB_MAX_SIZE, &v)) {
			o->size = (size_t)v;
		} else if (!strcmp(a, "--port") && parse_num(val, 1, 65535, &v)) {
			o->port = (int)v;
		} else {
			rb_err("bad option or value: %s %s", a, val);
			return -EINVAL;
		}
	}
	if (!have_seconds && (o->mode == RB_CPG_RESPONDER || o->mode == RB_UDP_SERVER))
		o->seconds = 600;
	if ((o->mode == RB_UDP_SERVER || o->mode == RB_UDP_RR) && !o->port) {
		rb_err("%s needs --port", rb_mode_names[o->mode]);
		return -EINVAL;
	}
	if (o->mode == RB_UDP_RR && !o->peer) {
		rb_err("udp-rr needs --peer ADDR");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = rb_on_signal };	/* no SA_RESTART */
	struct rb b = { .fd = -1 };
	int r;

	if (parse_args(argc, argv, &b.o) < 0) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	b.buf = calloc(1, RB_MAX_SIZE);
	if (!b.buf) {
		rb_err("out of memory");
		return 1;
	}
	b.deadline_ns = now_ns() + (uint64_t)(b.o.timeout * 1e9);
	switch (b.o.mode) {
	case RB_UDP_SERVER:
		r = run_udp_server(&b);
		break;
	case RB_UDP_RR:
		r = run_udp_rr(&b);
		break;
	default:
		r = run_cpg(&b);
		break;
	}
	free(b.s.ns);
	free(b.buf);
	return r < 0 ? 1 : 0;
}
