/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hand-driven link client for tests: speaks the link handshake and
 * frames (daemon/link_wire.h) one step at a time, so a test can send what
 * a real node never would (another key, a replayed frame, a cut frame).
 * `pump` runs the server side while the client waits (the unit tests run
 * their qb loop in it); NULL means the server is another process.
 */
#ifndef GLOCK_TEST_LINK_CLIENT_H
#define GLOCK_TEST_LINK_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "link_wire.h"

struct link_client {
	int fd;
	uint8_t hello_c[GLOCK_LINK_HELLO_BYTES], hello_a[GLOCK_LINK_HELLO_BYTES];
	struct glock_link_session s;
	void (*pump)(void *arg);
	void *pump_arg;
};

/* 0 or -errno.  The connection is made before the server runs (backlog). */
int link_client_connect(struct link_client *c, const struct sockaddr *sa, socklen_t len,
			void (*pump)(void *arg), void *arg);
void link_client_close(struct link_client *c);
int link_client_write(struct link_client *c, const void *buf, size_t len);
/* Exactly len bytes within 5 s: 0, -ECONNRESET (closed), -ETIMEDOUT. */
int link_client_read(struct link_client *c, void *buf, size_t len);
/* Waits up to 5 s for the server to close: 0 if it did, -ETIMEDOUT. */
int link_client_wait_closed(struct link_client *c);
/*
 * HELLO from -> to, reads HELLO_a + AUTH_a, answers AUTH_c made with key
 * (even when AUTH_a did not check out, so the server judges the key too).
 * 0: authenticated; -EBADMSG: the server's proof failed under key; other
 * -errno: the server closed or did not answer.
 */
int link_client_handshake(struct link_client *c, const uint8_t key[GLOCK_LINK_KEY_BYTES],
			  uint32_t from, uint32_t to);
/* Seals and writes one frame; a copy of its bytes goes to frame_out if set. */
int link_client_send(struct link_client *c, const void *payload, size_t len, uint8_t *frame_out);

#endif /* GLOCK_TEST_LINK_CLIENT_H */
