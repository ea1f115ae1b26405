/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node links: one authenticated TCP connection per pair of glockd nodes,
 * carrying opaque payloads in FIFO order, driven by a libqb main loop.
 *
 * A link is a session: while it is up, what send() accepted arrives once
 * and in order, or the link goes down.  Across down/up nothing is
 * promised: messages still queued when a connection breaks are discarded
 * (counted as lost) and the caller resends what matters after up(), as it
 * resends to a departed master.  The lower node id connects, the higher
 * accepts (docs/DESIGN.md, "Node links", says why).
 *
 * Callbacks run from the loop; they may call send() and the getters, not
 * glock_links_free().  Payloads passed to receive() live until it returns.
 */
#ifndef GLOCK_LINKS_H
#define GLOCK_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <qb/qbloop.h>

#include "link_wire.h"

#define GLOCK_LINK_ADDRS_MAX 2 /* ring0_addr, ring1_addr */

struct glock_links;

/* A node and where its glockd listens (port included). */
struct glock_link_peer {
	uint32_t nodeid;
	size_t n_addrs;
	struct sockaddr_storage addrs[GLOCK_LINK_ADDRS_MAX];
	socklen_t addr_lens[GLOCK_LINK_ADDRS_MAX];
};

struct glock_link_counters {
	uint64_t sent;       /* messages written whole to the connection */
	uint64_t received;   /* messages authenticated and delivered */
	uint64_t dropped;    /* frames or handshakes refused: bad length, tag, key, protocol */
	uint64_t lost;       /* queued messages discarded when a connection broke */
	uint64_t refused;    /* send() calls refused: queue full, link down, too big */
	uint64_t reconnects; /* connections authenticated after the first */
	uint64_t queued;     /* messages queued now */
	bool up;
};

struct glock_links_ops {
	void (*up)(void *data, uint32_t nodeid);
	/* err: why (-ECONNRESET, -ETIMEDOUT, -EBADMSG, -ESTALE: replaced, ...). */
	void (*down)(void *data, uint32_t nodeid, int err);
	void (*receive)(void *data, uint32_t nodeid, const void *payload, size_t len);
	/* The queue of nodeid, full at a refused send(), has drained to half. */
	void (*writable)(void *data, uint32_t nodeid);
};

struct glock_links_config {
	uint32_t local_node;
	uint8_t key[GLOCK_LINK_KEY_BYTES];
	size_t queue_max_msgs;      /* per peer; 0: 4096 */
	size_t queue_max_bytes;     /* per peer; 0: 4 MiB */
	uint32_t reconnect_min_ms;  /* first retry; 0: 100 */
	uint32_t reconnect_max_ms;  /* backoff cap; 0: 5000 */
	uint32_t handshake_timeout_ms; /* 0: 5000 */
};

/* NULL with *ret_err (-errno) on failure.  Listens nowhere until set_peers. */
struct glock_links *glock_links_new(qb_loop_t *loop, const struct glock_links_config *cfg,
				    const struct glock_links_ops *ops, void *data, int *ret_err);
/* Takes the link down for every peer, closes everything, wipes keys; NULL ok. */
void glock_links_free(struct glock_links *l);

/*
 * The cluster's nodes, the local one included (its addresses are where
 * this node listens).  Peers no longer listed go down; new ones are
 * connected (if their id is higher) or awaited.  0, or -errno (the
 * local node is missing, or no address of it can be listened on; -EBUSY
 * when called from the down callback of a peer this call drops).
 */
int glock_links_set_peers(struct glock_links *l, const struct glock_link_peer *peers, size_t n);

/*
 * Queues payload for nodeid.  0; -ENOTCONN (link down), -EAGAIN (queue
 * full: writable() follows), -EMSGSIZE, -ENOENT (not a peer).
 */
int glock_links_send(struct glock_links *l, uint32_t nodeid, const void *payload, size_t len);

bool glock_links_is_up(const struct glock_links *l, uint32_t nodeid);
/* 0, or -ENOENT (not a peer). */
int glock_links_counters(const struct glock_links *l, uint32_t nodeid,
			 struct glock_link_counters *out);
/* Connections refused before they named a known peer (bad HELLO, unknown id). */
uint64_t glock_links_unknown(const struct glock_links *l);

#endif /* GLOCK_LINKS_H */
