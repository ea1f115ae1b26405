/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node links (links.h): TCP connections between glockd nodes, one per
 * pair, on a libqb loop.  The bytes on them are link_wire.c's.
 *
 * Connection rule: the lower node id connects, the higher accepts.  A
 * connection that authenticates replaces the one it finds (the lower side
 * connects again only when it saw its connection die, so the newer one is
 * the live one: problem scenario in docs/DESIGN.md, "Node links").
 *
 * Lifetimes: a failing connection is closed at once and parked; parked
 * connections are freed when the outermost entry point (a loop callback or
 * glock_links_send()) returns, so a callback that makes another connection
 * fail never frees memory the caller is still walking.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "links.h"
#include "log.h"

#define QUEUE_MSGS_DEFAULT 4096
#define QUEUE_BYTES_DEFAULT (4u * 1024u * 1024u)
#define RECONNECT_MIN_MS_DEFAULT 100
#define RECONNECT_MAX_MS_DEFAULT 5000
#define HANDSHAKE_MS_DEFAULT 5000
#define PENDING_MAX 32        /* accepted, not yet authenticated */
#define RX_INITIAL 16384
#define READS_PER_DISPATCH 16 /* then let other fds have the loop */
#define LOG_INTERVAL_MS 10000 /* one line per peer per reason per interval */
/* A dead peer is noticed without traffic: 5 s idle + 3 probes 1 s apart. */
#define KEEPIDLE_S 5
#define KEEPINTVL_S 1
#define KEEPCNT 3
#define USER_TIMEOUT_MS 10000

enum conn_state {
	CONN_CONNECTING, /* connector: connect() in progress */
	CONN_HELLO,      /* waiting for the other side's HELLO (connector: + AUTH_a) */
	CONN_AUTH,       /* acceptor: waiting for AUTH_c */
	CONN_UP,
};

struct txent {
	uint32_t len;
	bool msg; /* a message (counted) rather than handshake bytes */
};

struct peer;

struct conn {
	struct glock_links *l;
	struct peer *peer; /* acceptor: NULL until the HELLO names a peer */
	int fd;
	bool connector;
	bool dead;
	bool want_out; /* POLLOUT armed */
	enum conn_state state;
	uint8_t hello_c[GLOCK_LINK_HELLO_BYTES], hello_a[GLOCK_LINK_HELLO_BYTES];
	struct glock_link_session s;
	qb_loop_timer_handle timer;
	bool timer_armed;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	uint8_t *tx;
	size_t tx_head, tx_len, tx_cap;
	struct txent *ents; /* ring */
	size_t ent_head, n_ents, ent_cap;
	size_t head_left;   /* bytes of ents[ent_head] not yet written */
	size_t n_msgs;      /* messages among ents */
	struct conn *next;  /* l->pending or l->parked */
};

struct peer {
	struct glock_links *l;
	struct glock_link_peer addr;
	size_t next_addr;
	struct conn *conn; /* connector: the connection; acceptor: the authenticated one */
	bool ever_up;
	bool want_writable;
	bool removed;
	uint32_t backoff_ms;
	qb_loop_timer_handle retry;
	bool retry_armed;
	struct glock_link_counters c;
	struct log_ratelimit rl_bad, rl_connect;
};

struct listener {
	int fd;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct glock_links {
	qb_loop_t *loop;
	struct glock_links_config cfg;
	struct glock_links_ops ops;
	void *data;
	struct peer **peers;
	size_t n_peers;
	struct listener listeners[GLOCK_LINK_ADDRS_MAX];
	size_t n_listeners;
	struct conn *pending, *parked;
	size_t n_pending;
	unsigned int depth; /* nested entry points; parked conns are freed at 0 */
	bool setting_peers; /* set_peers runs: a down callback may not call it again */
	uint64_t unknown;
	struct log_ratelimit rl_unknown;
	uint8_t plain[GLOCK_LINK_PAYLOAD_MAX]; /* one opened payload at a time */
};

static void conn_fail(struct conn *c, int err, const char *why);
static void peer_connect(struct peer *p);
static int32_t conn_ready(int32_t fd, int32_t revents, void *data);

/* ---- small helpers ---- */

static void enter(struct glock_links *l)
{
	l->depth++;
}

static void conn_free(struct conn *c)
{
	glock_link_session_wipe(&c->s);
	free(c->rx);
	free(c->tx);
	free(c->ents);
	free(c);
}

static void leave(struct glock_links *l)
{
	struct conn *c;

	if (--l->depth)
		return;
	while ((c = l->parked)) {
		l->parked = c->next;
		conn_free(c);
	}
}

static const char *addr_str(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t n)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(buf, n, "?");
	else
		snprintf(buf, n, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	return buf;
}

static struct peer *peer_find(const struct glock_links *l, uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < l->n_peers; i++)
		if (l->peers[i]->addr.nodeid == nodeid)
			return l->peers[i];
	return NULL;
}

static void set_sockopts(int fd)
{
	int one = 1, idle = KEEPIDLE_S, intvl = KEEPINTVL_S, cnt = KEEPCNT;
	unsigned int user_timeout = USER_TIMEOUT_MS;

	/* Lock messages are small and latency is the point (as DLM lowcomms). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

static void conn_poll(struct conn *c, bool want_out)
{
	if (c->want_out == want_out)
		return;
	c->want_out = want_out;
	qb_loop_poll_mod(c->l->loop, QB_LOOP_HIGH, c->fd, POLLIN | (want_out ? POLLOUT : 0), c,
			 conn_ready);
}

static void handshake_timeout(void *data)
{
	struct conn *c = data;
	struct glock_links *l = c->l;

	enter(l);
	c->timer_armed = false;
	conn_fail(c, -ETIMEDOUT, "handshake timed out");
	leave(l);
}

static struct conn *conn_new(struct glock_links *l, int fd, bool connector, struct peer *p)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->l = l;
	c->fd = fd;
	c->connector = connector;
	c->peer = p;
	c->state = connector ? CONN_CONNECTING : CONN_HELLO;
	c->rx_cap = RX_INITIAL;
	c->rx = malloc(c->rx_cap);
	c->ent_cap = l->cfg.queue_max_msgs + 4; /* + handshake pieces */
	c->ents = calloc(c->ent_cap, sizeof(*c->ents));
	if (!c->rx || !c->ents)
		goto out_free;
	c->want_out = connector;
	if (qb_loop_poll_add(l->loop, QB_LOOP_HIGH, fd, POLLIN | (connector ? POLLOUT : 0), c,
			     conn_ready))
		goto out_free;
	if (qb_loop_timer_add(l->loop, QB_LOOP_HIGH,
			      (uint64_t)l->cfg.handshake_timeout_ms * 1000000u, c, handshake_timeout,
			      &c->timer) == 0)
		c->timer_armed = true;
	return c;
out_free:
	free(c->rx);
	free(c->ents);
	free(c);
	return NULL;
}

static void pending_remove(struct glock_links *l, struct conn *c)
{
	struct conn **pp;

	for (pp = &l->pending; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			l->n_pending--;
			return;
		}
	}
}

/* ---- sending ---- */

/* Room for n more bytes at the tail, within the byte bound (+ one frame). */
static int tx_reserve(struct conn *c, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (c->tx_head + c->tx_len + n <= c->tx_cap)
		return 0;
	if (c->tx_head) {
		memmove(c->tx, c->tx + c->tx_head, c->tx_len);
		c->tx_head = 0;
		if (c->tx_len + n <= c->tx_cap)
			return 0;
	}
	want = c->tx_len + n;
	cap = c->tx_cap ? c->tx_cap : 4096;
	while (cap < want)
		cap *= 2;
	p = realloc(c->tx, cap);
	if (!p)
		return -ENOMEM;
	c->tx = p;
	c->tx_cap = cap;
	return 0;
}

static void tx_push(struct conn *c, size_t len, bool msg)
{
	size_t i = (c->ent_head + c->n_ents) % c->ent_cap;

	c->ents[i].len = (uint32_t)len;
	c->ents[i].msg = msg;
	if (!c->n_ents)
		c->head_left = len;
	c->n_ents++;
	c->tx_len += len;
	if (msg)
		c->n_msgs++;
}

/* Handshake bytes: small, few, always fit. */
static int tx_raw(struct conn *c, const void *buf, size_t len)
{
	if (tx_reserve(c, len))
		return -ENOMEM;
	memcpy(c->tx + c->tx_head + c->tx_len, buf, len);
	tx_push(c, len, false);
	return 0;
}

static void tx_consumed(struct conn *c, size_t w)
{
	struct peer *p = c->peer;

	c->tx_head += w;
	c->tx_len -= w;
	while (w && c->n_ents) {
		size_t take = w < c->head_left ? w : c->head_left;

		c->head_left -= take;
		w -= take;
		if (c->head_left)
			break;
		if (c->ents[c->ent_head].msg) {
			c->n_msgs--;
			if (p)
				p->c.sent++;
		}
		c->ent_head = (c->ent_head + 1) % c->ent_cap;
		c->n_ents--;
		c->head_left = c->n_ents ? c->ents[c->ent_head].len : 0;
	}
	if (!c->tx_len)
		c->tx_head = 0;
}

/* Writes what is queued; arms POLLOUT for the rest.  The conn may die. */
static void conn_flush(struct conn *c)
{
	struct glock_links *l = c->l;
	struct peer *p = c->peer;
	ssize_t w;

	while (c->tx_len) {
		w = send(c->fd, c->tx + c->tx_head, c->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			conn_fail(c, -errno, strerror(errno));
			return;
		}
		tx_consumed(c, (size_t)w);
	}
	conn_poll(c, c->tx_len != 0);
	if (p && p->want_writable && c->state == CONN_UP && c->n_msgs <= l->cfg.queue_max_msgs / 2 &&
	    c->tx_len <= l->cfg.queue_max_bytes / 2) {
		p->want_writable = false;
		if (l->ops.writable)
			l->ops.writable(l->data, p->addr.nodeid);
	}
}

/* ---- connection state ---- */

static void peer_schedule(struct peer *p, uint32_t delay_ms);

static void conn_fail(struct conn *c, int err, const char *why)
{
	struct glock_links *l = c->l;
	struct peer *p = c->peer;
	bool was_up = c->state == CONN_UP;

	if (c->dead)
		return;
	c->dead = true;
	if (c->timer_armed) {
		qb_loop_timer_del(l->loop, c->timer);
		c->timer_armed = false;
	}
	qb_loop_poll_del(l->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (p && p->conn == c) {
		p->conn = NULL;
		p->c.lost += c->n_msgs;
		p->c.up = false;
		p->want_writable = false;
		if (was_up) {
			log_warn("node %u: link down: %s (%zu queued messages discarded)",
				 p->addr.nodeid, why, c->n_msgs);
			if (l->ops.down)
				l->ops.down(l->data, p->addr.nodeid, err);
		} else {
			log_rl(&p->rl_connect, LOG_INFO, "node %u: link not established: %s",
			       p->addr.nodeid, why);
		}
		if (c->connector && !p->removed) /* still a peer: try again */
			peer_schedule(p, was_up ? 0 : p->backoff_ms);
		if (c->connector && !was_up) {
			p->backoff_ms *= 2;
			if (p->backoff_ms > l->cfg.reconnect_max_ms)
				p->backoff_ms = l->cfg.reconnect_max_ms;
		}
	} else if (!c->connector) {
		pending_remove(l, c);
	}
	glock_link_session_wipe(&c->s);
	c->n_msgs = 0;
	c->next = l->parked;
	l->parked = c;
}

/* Something refused on the wire: counted, logged once per interval, closed. */
static void conn_reject(struct conn *c, int err, const char *what)
{
	struct glock_links *l = c->l;
	struct peer *p = c->peer;

	if (p) {
		p->c.dropped++;
		/* A link that was up logs its going down, which says why: once is enough. */
		if (c->state != CONN_UP || p->conn != c)
			log_rl(&p->rl_bad, LOG_WARNING,
			       "node %u: link %s; connection closed (dropped %llu)", p->addr.nodeid,
			       what, (unsigned long long)p->c.dropped);
	} else {
		l->unknown++;
		log_rl(&l->rl_unknown, LOG_WARNING,
		       "link connection refused: %s (unknown %llu)", what,
		       (unsigned long long)l->unknown);
	}
	conn_fail(c, err, what);
}

static void conn_up(struct conn *c)
{
	struct glock_links *l = c->l;
	struct peer *p = c->peer;

	if (c->timer_armed) {
		qb_loop_timer_del(l->loop, c->timer);
		c->timer_armed = false;
	}
	if (!c->connector) {
		pending_remove(l, c);
		if (p->conn)
			conn_fail(p->conn, -ESTALE, "replaced by a newer connection");
		p->conn = c;
	}
	c->state = CONN_UP;
	if (p->ever_up)
		p->c.reconnects++;
	p->ever_up = true;
	p->c.up = true;
	p->backoff_ms = l->cfg.reconnect_min_ms;
	log_notice("node %u: link up (%s)", p->addr.nodeid, c->connector ? "connected" : "accepted");
	if (l->ops.up)
		l->ops.up(l->data, p->addr.nodeid);
}

/* Acceptor: the connector's HELLO names who it is. */
static void on_hello_c(struct conn *c, const uint8_t *u)
{
	struct glock_links *l = c->l;
	struct glock_link_hello h, mine;
	uint8_t auth[GLOCK_LINK_AUTH_BYTES];
	int r;

	memcpy(c->hello_c, u, GLOCK_LINK_HELLO_BYTES);
	r = glock_link_hello_decode(c->hello_c, &h);
	if (r == -EPROTONOSUPPORT) {
		c->peer = peer_find(l, h.from);
		conn_reject(c, -EPROTONOSUPPORT, "speaks another link protocol major version");
		return;
	}
	if (r) {
		conn_reject(c, r, "sent something that is not a link HELLO");
		return;
	}
	c->peer = peer_find(l, h.from);
	if (!c->peer) {
		conn_reject(c, -ENOENT, "from a node id that is not a cluster member");
		return;
	}
	if (h.to != l->cfg.local_node) {
		conn_reject(c, -EPROTO, "HELLO addressed to another node");
		return;
	}
	if (h.from >= l->cfg.local_node) {
		conn_reject(c, -EPROTO, "connection from a higher node id (the lower id connects)");
		return;
	}
	glock_link_hello_make(&mine, l->cfg.local_node, h.from);
	glock_link_hello_encode(&mine, c->hello_a);
	glock_link_auth_make(l->cfg.key, false, c->hello_c, c->hello_a, auth);
	if (tx_raw(c, c->hello_a, sizeof(c->hello_a)) || tx_raw(c, auth, sizeof(auth))) {
		conn_fail(c, -ENOMEM, "out of memory");
		return;
	}
	c->state = CONN_AUTH;
	conn_flush(c);
}

/* Connector: the acceptor's HELLO and proof. */
static void on_hello_a(struct conn *c, const uint8_t *u)
{
	struct glock_links *l = c->l;
	struct glock_link_hello h;
	uint8_t auth[GLOCK_LINK_AUTH_BYTES];
	int r;

	memcpy(c->hello_a, u, GLOCK_LINK_HELLO_BYTES);
	r = glock_link_hello_decode(c->hello_a, &h);
	if (r) {
		conn_reject(c, r, r == -EPROTONOSUPPORT ? "peer speaks another link protocol major version"
						       : "peer sent something that is not a link HELLO");
		return;
	}
	if (h.from != c->peer->addr.nodeid || h.to != l->cfg.local_node) {
		conn_reject(c, -EPROTO, "peer answered as another node");
		return;
	}
	if (glock_link_auth_check(l->cfg.key, false, c->hello_c, c->hello_a,
				  u + GLOCK_LINK_HELLO_BYTES)) {
		conn_reject(c, -EBADMSG, "handshake failed authentication (another cluster key?)");
		return;
	}
	glock_link_session_init(&c->s, l->cfg.key, true, c->hello_c, c->hello_a);
	glock_link_auth_make(l->cfg.key, true, c->hello_c, c->hello_a, auth);
	if (tx_raw(c, auth, sizeof(auth))) {
		conn_fail(c, -ENOMEM, "out of memory");
		return;
	}
	conn_flush(c);
	if (!c->dead)
		conn_up(c);
}

static void on_auth_c(struct conn *c, const uint8_t *u)
{
	struct glock_links *l = c->l;

	if (glock_link_auth_check(l->cfg.key, true, c->hello_c, c->hello_a, u)) {
		conn_reject(c, -EBADMSG, "handshake failed authentication (another cluster key?)");
		return;
	}
	glock_link_session_init(&c->s, l->cfg.key, false, c->hello_c, c->hello_a);
	conn_up(c);
}

/* Bytes the current state needs at u (avail there), 0 if the header is bad. */
static size_t rx_need(const struct conn *c, const uint8_t *u, size_t avail)
{
	size_t body;

	switch (c->state) {
	case CONN_CONNECTING:
		return 0;
	case CONN_HELLO:
		return c->connector ? GLOCK_LINK_HELLO_BYTES + GLOCK_LINK_AUTH_BYTES
				    : GLOCK_LINK_HELLO_BYTES;
	case CONN_AUTH:
		return GLOCK_LINK_AUTH_BYTES;
	case CONN_UP:
		if (avail < GLOCK_LINK_HDR_BYTES)
			return GLOCK_LINK_HDR_BYTES;
		if (glock_link_frame_body_len(u, &body))
			return 0;
		return GLOCK_LINK_HDR_BYTES + body;
	}
	return 0;
}

/* One complete unit of need bytes at u. */
static void rx_unit(struct conn *c, const uint8_t *u, size_t need)
{
	struct glock_links *l = c->l;
	struct peer *p = c->peer;
	size_t len;

	switch (c->state) {
	case CONN_HELLO:
		if (c->connector)
			on_hello_a(c, u);
		else
			on_hello_c(c, u);
		return;
	case CONN_AUTH:
		on_auth_c(c, u);
		return;
	case CONN_UP:
		if (glock_link_frame_open(&c->s, u, need, l->plain, &len)) {
			conn_reject(c, -EBADMSG,
				    "frame failed authentication (forged, replayed, reordered or another key)");
			return;
		}
		p->c.received++;
		if (l->ops.receive)
			l->ops.receive(l->data, p->addr.nodeid, l->plain, len);
		return;
	case CONN_CONNECTING:
		return;
	}
}

static void conn_read(struct conn *c)
{
	size_t need = 0, off;
	ssize_t r;
	int reads;

	for (reads = 0; reads < READS_PER_DISPATCH && !c->dead; reads++) {
		r = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			conn_fail(c, -errno, strerror(errno));
			return;
		}
		if (r == 0) {
			if (c->rx_len && c->state == CONN_UP)
				conn_reject(c, -EPIPE, "connection closed inside a frame (truncated)");
			else if (c->state != CONN_UP)
				conn_reject(c, -ECONNRESET,
					    "connection closed during the handshake (another cluster key?)");
			else
				conn_fail(c, -ECONNRESET, "closed by the peer");
			return;
		}
		c->rx_len += (size_t)r;
		/* Units in the buffer; a callback may kill the connection. */
		off = 0;
		while (!c->dead) {
			need = rx_need(c, c->rx + off, c->rx_len - off);
			if (!need) {
				conn_reject(c, -EMSGSIZE, "frame with an impossible length");
				return;
			}
			if (c->rx_len - off < need)
				break;
			rx_unit(c, c->rx + off, need);
			off += need;
		}
		if (c->dead)
			return;
		c->rx_len -= off;
		memmove(c->rx, c->rx + off, c->rx_len);
		if (need > c->rx_cap) {
			uint8_t *n = realloc(c->rx, need);

			if (!n) {
				conn_fail(c, -ENOMEM, "out of memory");
				return;
			}
			c->rx = n;
			c->rx_cap = need;
		}
	}
}

static void conn_connected(struct conn *c)
{
	struct glock_links *l = c->l;
	struct glock_link_hello h;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_fail(c, -err, strerror(err));
		return;
	}
	glock_link_hello_make(&h, l->cfg.local_node, c->peer->addr.nodeid);
	glock_link_hello_encode(&h, c->hello_c);
	c->state = CONN_HELLO;
	if (tx_raw(c, c->hello_c, sizeof(c->hello_c))) {
		conn_fail(c, -ENOMEM, "out of memory");
		return;
	}
	conn_flush(c);
}

static int32_t conn_ready(int32_t fd, int32_t revents, void *data)
{
	struct conn *c = data;
	struct glock_links *l = c->l;

	enter(l);
	if (c->state == CONN_CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			conn_connected(c);
	} else {
		if (!c->dead && (revents & (POLLIN | POLLERR | POLLHUP)))
			conn_read(c);
		if (!c->dead && (revents & POLLOUT))
			conn_flush(c);
	}
	leave(l);
	return 0;
}

/* ---- connecting (the lower id) ---- */

static void retry_fired(void *data)
{
	struct peer *p = data;
	struct glock_links *l = p->l;

	enter(l);
	p->retry_armed = false;
	if (!p->conn)
		peer_connect(p);
	leave(l);
}

static void peer_schedule(struct peer *p, uint32_t delay_ms)
{
	struct glock_links *l = p->l;

	if (p->retry_armed || p->conn)
		return;
	if (qb_loop_timer_add(l->loop, QB_LOOP_HIGH, (uint64_t)delay_ms * 1000000u, p, retry_fired,
			      &p->retry) == 0)
		p->retry_armed = true;
}

static void peer_connect(struct peer *p)
{
	struct glock_links *l = p->l;
	const struct sockaddr_storage *sa;
	char buf[80];
	struct conn *c;
	int fd, e;

	if (!p->addr.n_addrs)
		return;
	/* Alternate between ring0 and ring1 addresses from one attempt to the next. */
	sa = &p->addr.addrs[p->next_addr % p->addr.n_addrs];
	p->next_addr++;
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		e = errno;
		goto retry;
	}
	set_sockopts(fd);
	if (connect(fd, (const struct sockaddr *)sa, p->addr.addr_lens[(p->next_addr - 1) %
								       p->addr.n_addrs]) < 0 &&
	    errno != EINPROGRESS) {
		e = errno;
		close(fd);
		goto retry;
	}
	c = conn_new(l, fd, true, p);
	if (!c) {
		e = ENOMEM;
		close(fd);
		goto retry;
	}
	p->conn = c;
	return;
retry:
	log_rl(&p->rl_connect, LOG_INFO, "node %u: cannot connect to %s: %s", p->addr.nodeid,
	       addr_str(sa, p->addr.addr_lens[(p->next_addr - 1) % p->addr.n_addrs], buf, sizeof(buf)),
	       strerror(e));
	peer_schedule(p, p->backoff_ms);
	p->backoff_ms = p->backoff_ms * 2 > l->cfg.reconnect_max_ms ? l->cfg.reconnect_max_ms
								     : p->backoff_ms * 2;
}

/* ---- accepting (the higher id) ---- */

static int32_t listener_ready(int32_t fd, int32_t revents, void *data)
{
	struct glock_links *l = data;
	struct conn *c;
	int s;

	enter(l);
	while ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (l->n_pending >= PENDING_MAX) {
			close(s);
			l->unknown++;
			log_rl(&l->rl_unknown, LOG_WARNING,
			       "link connection refused: %d handshakes already pending (unknown %llu)",
			       PENDING_MAX, (unsigned long long)l->unknown);
			continue;
		}
		set_sockopts(s);
		c = conn_new(l, s, false, NULL);
		if (!c) {
			close(s);
			continue;
		}
		c->next = l->pending;
		l->pending = c;
		l->n_pending++;
	}
	leave(l);
	return 0;
}

static void listeners_close(struct glock_links *l)
{
	size_t i;

	for (i = 0; i < l->n_listeners; i++) {
		qb_loop_poll_del(l->loop, l->listeners[i].fd);
		close(l->listeners[i].fd);
	}
	l->n_listeners = 0;
}

static bool listeners_match(const struct glock_links *l, const struct glock_link_peer *me)
{
	size_t i;

	if (l->n_listeners != me->n_addrs)
		return false;
	for (i = 0; i < me->n_addrs; i++)
		if (l->listeners[i].addr_len != me->addr_lens[i] ||
		    memcmp(&l->listeners[i].addr, &me->addrs[i], me->addr_lens[i]))
			return false;
	return true;
}

static int listen_on(struct glock_links *l, const struct glock_link_peer *me)
{
	char buf[80];
	size_t i;
	int one = 1, fd, e = 0;

	if (listeners_match(l, me))
		return 0;
	listeners_close(l);
	for (i = 0; i < me->n_addrs; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&me->addrs[i];

		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(fd, sa, me->addr_lens[i]) || listen(fd, 64) ||
		    qb_loop_poll_add(l->loop, QB_LOOP_HIGH, fd, POLLIN, l, listener_ready)) {
			e = errno ? errno : EIO;
			log_warn("links: cannot listen on %s: %s",
				 addr_str(&me->addrs[i], me->addr_lens[i], buf, sizeof(buf)), strerror(e));
			if (fd >= 0)
				close(fd);
			continue;
		}
		l->listeners[l->n_listeners].fd = fd;
		l->listeners[l->n_listeners].addr = me->addrs[i];
		l->listeners[l->n_listeners].addr_len = me->addr_lens[i];
		l->n_listeners++;
		log_info("links: listening on %s",
			 addr_str(&me->addrs[i], me->addr_lens[i], buf, sizeof(buf)));
	}
	return l->n_listeners ? 0 : -(e ? e : EADDRNOTAVAIL);
}

/* ---- peers ---- */

static void peer_drop(struct glock_links *l, struct peer *p, const char *why)
{
	struct conn *c, *next;

	if (p->retry_armed)
		qb_loop_timer_del(l->loop, p->retry);
	p->retry_armed = false;
	p->removed = true; /* conn_fail must not schedule a retry */
	for (c = l->pending; c; c = next) {
		next = c->next;
		if (c->peer == p)
			conn_fail(c, -ENOENT, why);
	}
	if (p->conn)
		conn_fail(p->conn, -ENOENT, why);
	free(p);
}

static struct peer *peer_new(struct glock_links *l, const struct glock_link_peer *addr)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->l = l;
	p->addr = *addr;
	p->backoff_ms = l->cfg.reconnect_min_ms;
	p->rl_bad.interval_ms = LOG_INTERVAL_MS;
	p->rl_bad.burst = 1;
	p->rl_connect.interval_ms = LOG_INTERVAL_MS;
	p->rl_connect.burst = 1;
	return p;
}

int glock_links_set_peers(struct glock_links *l, const struct glock_link_peer *peers, size_t n)
{
	const struct glock_link_peer *me = NULL;
	struct peer **list, *p;
	size_t i, j, k;
	int r;

	for (i = 0; i < n; i++) {
		if (peers[i].nodeid == l->cfg.local_node)
			me = &peers[i];
		if (peers[i].n_addrs > GLOCK_LINK_ADDRS_MAX || !peers[i].nodeid)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (peers[j].nodeid == peers[i].nodeid)
				return -EINVAL;
	}
	if (!me || !me->n_addrs)
		return -ENOENT;
	/* The peers dropped below call ops.down, which must not swap the list under us. */
	if (l->setting_peers)
		return -EBUSY;
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	enter(l);
	l->setting_peers = true;
	r = listen_on(l, me);
	if (r) {
		l->setting_peers = false;
		free(list);
		leave(l);
		return r;
	}
	/* Keep known peers (new addresses), add new ones, drop the rest. */
	for (i = 0, k = 0; i < n; i++) {
		if (&peers[i] == me)
			continue;
		p = peer_find(l, peers[i].nodeid);
		if (p) {
			p->addr = peers[i];
		} else {
			p = peer_new(l, &peers[i]);
			if (!p)
				continue; /* stays absent; the next set_peers retries */
		}
		list[k++] = p;
	}
	for (i = 0; i < l->n_peers; i++) {
		for (j = 0; j < k && list[j] != l->peers[i]; j++)
			;
		if (j == k)
			peer_drop(l, l->peers[i], "no longer a cluster member");
	}
	free(l->peers);
	l->peers = list;
	l->n_peers = k;
	for (i = 0; i < k; i++)
		if (list[i]->addr.nodeid > l->cfg.local_node && !list[i]->conn)
			peer_schedule(list[i], 0);
	l->setting_peers = false;
	leave(l);
	return 0;
}

/* ---- API ---- */

struct glock_links *glock_links_new(qb_loop_t *loop, const struct glock_links_config *cfg,
				    const struct glock_links_ops *ops, void *data, int *ret_err)
{
	struct glock_links *l;
	int r;

	r = glock_link_wire_init();
	if (r) {
		*ret_err = r;
		return NULL;
	}
	if (!loop || !cfg || !ops || !cfg->local_node) {
		*ret_err = -EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	l->loop = loop;
	l->cfg = *cfg;
	l->ops = *ops;
	l->data = data;
	if (!l->cfg.queue_max_msgs)
		l->cfg.queue_max_msgs = QUEUE_MSGS_DEFAULT;
	if (!l->cfg.queue_max_bytes)
		l->cfg.queue_max_bytes = QUEUE_BYTES_DEFAULT;
	if (!l->cfg.reconnect_min_ms)
		l->cfg.reconnect_min_ms = RECONNECT_MIN_MS_DEFAULT;
	if (!l->cfg.reconnect_max_ms)
		l->cfg.reconnect_max_ms = RECONNECT_MAX_MS_DEFAULT;
	if (l->cfg.reconnect_max_ms < l->cfg.reconnect_min_ms)
		l->cfg.reconnect_max_ms = l->cfg.reconnect_min_ms;
	if (!l->cfg.handshake_timeout_ms)
		l->cfg.handshake_timeout_ms = HANDSHAKE_MS_DEFAULT;
	l->rl_unknown.interval_ms = LOG_INTERVAL_MS;
	l->rl_unknown.burst = 1;
	return l;
}

void glock_links_free(struct glock_links *l)
{
	size_t i;

	if (!l)
		return;
	enter(l);
	l->ops.up = NULL;
	l->ops.down = NULL;
	l->ops.receive = NULL;
	l->ops.writable = NULL;
	while (l->pending)
		conn_fail(l->pending, -ESHUTDOWN, "shutting down");
	for (i = 0; i < l->n_peers; i++)
		peer_drop(l, l->peers[i], "shutting down");
	free(l->peers);
	l->peers = NULL;
	l->n_peers = 0;
	listeners_close(l);
	leave(l);
	sodium_memzero(l->cfg.key, sizeof(l->cfg.key));
	free(l);
}

int glock_links_send(struct glock_links *l, uint32_t nodeid, const void *payload, size_t len)
{
	struct peer *p = peer_find(l, nodeid);
	struct conn *c;
	size_t fs = glock_link_frame_size(len);

	if (!p)
		return -ENOENT;
	c = p->conn;
	if (!c || c->state != CONN_UP) {
		p->c.refused++;
		return -ENOTCONN;
	}
	if (len > GLOCK_LINK_PAYLOAD_MAX) {
		p->c.refused++;
		return -EMSGSIZE;
	}
	if (c->n_msgs >= l->cfg.queue_max_msgs ||
	    (c->tx_len && c->tx_len + fs > l->cfg.queue_max_bytes)) {
		p->c.refused++;
		p->want_writable = true;
		return -EAGAIN;
	}
	if (tx_reserve(c, fs)) {
		p->c.refused++;
		return -ENOMEM;
	}
	glock_link_frame_seal(&c->s, payload, len, c->tx + c->tx_head + c->tx_len);
	tx_push(c, fs, true);
	if (!c->want_out) {
		enter(l);
		conn_flush(c);
		leave(l);
	}
	return 0;
}

bool glock_links_is_up(const struct glock_links *l, uint32_t nodeid)
{
	const struct peer *p = peer_find(l, nodeid);

	return p && p->conn && p->conn->state == CONN_UP;
}

int glock_links_counters(const struct glock_links *l, uint32_t nodeid,
			 struct glock_link_counters *out)
{
	const struct peer *p = peer_find(l, nodeid);

	if (!p)
		return -ENOENT;
	*out = p->c;
	out->queued = p->conn ? p->conn->n_msgs : 0;
	out->up = p->conn && p->conn->state == CONN_UP;
	return 0;
}

uint64_t glock_links_unknown(const struct glock_links *l)
{
	return l->unknown;
}
