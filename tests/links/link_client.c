/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hand-driven link client for tests (link_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link_client.h"

#define WAIT_MS 5000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Lets the server run a little: its loop if we have it, else the clock. */
static void client_wait(struct link_client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->pump)
		c->pump(c->pump_arg);
	else
		poll(&pfd, 1, 20);
}

int link_client_connect(struct link_client *c, const struct sockaddr *sa, socklen_t len,
			void (*pump)(void *arg), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->pump = pump;
	c->pump_arg = arg;
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, sa, len) < 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

void link_client_close(struct link_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	glock_link_session_wipe(&c->s);
}

int link_client_write(struct link_client *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t w;

	while (len) {
		w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (now_ms() > end)
				return -ETIMEDOUT;
			client_wait(c);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int link_client_read(struct link_client *c, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t r;

	while (len) {
		r = recv(c->fd, p, len, MSG_DONTWAIT);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (now_ms() > end)
				return -ETIMEDOUT;
			client_wait(c);
			continue;
		}
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int link_client_wait_closed(struct link_client *c)
{
	uint8_t b[256];
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t r;

	for (;;) {
		r = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		if (now_ms() > end)
			return -ETIMEDOUT;
		if (r < 0)
			client_wait(c);
	}
}

int link_client_handshake(struct link_client *c, const uint8_t key[GLOCK_LINK_KEY_BYTES],
			  uint32_t from, uint32_t to)
{
	struct glock_link_hello h;
	uint8_t in[GLOCK_LINK_HELLO_BYTES + GLOCK_LINK_AUTH_BYTES], auth[GLOCK_LINK_AUTH_BYTES];
	int r, proof;

	glock_link_hello_make(&h, from, to);
	glock_link_hello_encode(&h, c->hello_c);
	r = link_client_write(c, c->hello_c, sizeof(c->hello_c));
	if (!r)
		r = link_client_read(c, in, sizeof(in));
	if (r)
		return r;
	memcpy(c->hello_a, in, sizeof(c->hello_a));
	proof = glock_link_auth_check(key, false, c->hello_c, c->hello_a, in + sizeof(c->hello_a));
	glock_link_auth_make(key, true, c->hello_c, c->hello_a, auth);
	r = link_client_write(c, auth, sizeof(auth));
	if (r)
		return r;
	glock_link_session_init(&c->s, key, true, c->hello_c, c->hello_a);
	return proof;
}

int link_client_send(struct link_client *c, const void *payload, size_t len, uint8_t *frame_out)
{
	size_t n = glock_link_frame_size(len);
	uint8_t *f = malloc(n);
	int r;

	if (!f)
		return -ENOMEM;
	r = glock_link_frame_seal(&c->s, payload, len, f);
	if (!r)
		r = link_client_write(c, f, n);
	if (!r && frame_out)
		memcpy(frame_out, f, n);
	free(f);
	return r;
}
