/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node-link wire format: the handshake that proves both ends hold the
 * cluster key and agrees fresh session keys, and the sealed frames that
 * carry opaque payloads.  Pure (libsodium only: no sockets, no logging);
 * links.c moves these bytes.  The rules and their reasons are in
 * docs/DESIGN.md, "Node links".
 *
 *   HELLO  (48 bytes)  "GLNK" | major u16 | minor u16 | from u32 | to u32 | nonce[32]
 *   AUTH   (32 bytes)  keyed BLAKE2b(cluster key, role | HELLO_c | HELLO_a)
 *   FRAME              length u32 (= payload + 16) | ChaCha20-Poly1305 (payload)
 *
 * All integers are big-endian.  The connector (the lower node id) sends
 * HELLO_c; the acceptor answers HELLO_a + AUTH_a; the connector answers
 * AUTH_c.  Frames follow in both directions.  A frame's nonce is its
 * sequence number on this connection in this direction (never sent), and
 * its header is authenticated data: a frame replayed, reordered, dropped,
 * cut or moved from another connection fails the tag.
 */
#ifndef GLOCK_LINK_WIRE_H
#define GLOCK_LINK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLOCK_LINK_VERSION_MAJOR 1
#define GLOCK_LINK_VERSION_MINOR 0
#define GLOCK_LINK_KEY_BYTES 32
#define GLOCK_LINK_NONCE_BYTES 32
#define GLOCK_LINK_HELLO_BYTES 48
#define GLOCK_LINK_AUTH_BYTES 32
#define GLOCK_LINK_HDR_BYTES 4
#define GLOCK_LINK_TAG_BYTES 16
/* Largest payload; a header announcing more is refused before any read. */
#define GLOCK_LINK_PAYLOAD_MAX (256u * 1024u)
#define GLOCK_LINK_FRAME_MAX (GLOCK_LINK_HDR_BYTES + GLOCK_LINK_PAYLOAD_MAX + GLOCK_LINK_TAG_BYTES)
/* A key file shorter than this is refused (corosync's authkey is 128..4096). */
#define GLOCK_LINK_KEYFILE_MIN 16
#define GLOCK_LINK_KEYFILE_MAX 4096

struct glock_link_hello {
	uint16_t major, minor;
	uint32_t from, to;
	uint8_t nonce[GLOCK_LINK_NONCE_BYTES];
};

/* One direction pair of a connection, after the handshake. */
struct glock_link_session {
	uint8_t tx_key[GLOCK_LINK_KEY_BYTES];
	uint8_t rx_key[GLOCK_LINK_KEY_BYTES];
	uint64_t tx_seq, rx_seq;
};

/* 0, or -errno if libsodium cannot start (no entropy source). */
int glock_link_wire_init(void);

/*
 * Reads a key file (corosync's authkey or any file of 16..4096 bytes) and
 * derives the 32-byte cluster key from it.  0, or -errno with err set.
 */
int glock_link_key_load(const char *path, uint8_t key[GLOCK_LINK_KEY_BYTES], char *err,
			size_t err_len);
void glock_link_key_derive(const void *raw, size_t len, uint8_t key[GLOCK_LINK_KEY_BYTES]);

/* A HELLO from `from` to `to` with a fresh random nonce. */
void glock_link_hello_make(struct glock_link_hello *h, uint32_t from, uint32_t to);
void glock_link_hello_encode(const struct glock_link_hello *h, uint8_t out[GLOCK_LINK_HELLO_BYTES]);
/* 0; -EPROTO (not a link HELLO), -EPROTONOSUPPORT (other major version). */
int glock_link_hello_decode(const uint8_t in[GLOCK_LINK_HELLO_BYTES], struct glock_link_hello *h);

/*
 * The proof of `by_connector`'s side over both HELLOs as sent (connector's
 * first).  Roles are part of the tag, so a side's proof cannot be reflected.
 */
void glock_link_auth_make(const uint8_t key[GLOCK_LINK_KEY_BYTES], bool by_connector,
			  const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES],
			  uint8_t tag[GLOCK_LINK_AUTH_BYTES]);
/* 0, or -EBADMSG (another key, or a proof from another connection). */
int glock_link_auth_check(const uint8_t key[GLOCK_LINK_KEY_BYTES], bool by_connector,
			  const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t tag[GLOCK_LINK_AUTH_BYTES]);

/* Session keys for this side, from the cluster key and both HELLOs. */
void glock_link_session_init(struct glock_link_session *s, const uint8_t key[GLOCK_LINK_KEY_BYTES],
			     bool connector, const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			     const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES]);
void glock_link_session_wipe(struct glock_link_session *s);

static inline size_t glock_link_frame_size(size_t payload_len)
{
	return GLOCK_LINK_HDR_BYTES + payload_len + GLOCK_LINK_TAG_BYTES;
}

/*
 * Seals payload into out (glock_link_frame_size(len) bytes) as the next
 * frame of s.  0, or -EMSGSIZE (len > GLOCK_LINK_PAYLOAD_MAX).
 */
int glock_link_frame_seal(struct glock_link_session *s, const void *payload, size_t len,
			  uint8_t *out);
/*
 * The body length (payload + tag) a header announces.  0, or -EMSGSIZE
 * (shorter than a tag or longer than the largest frame).
 */
int glock_link_frame_body_len(const uint8_t hdr[GLOCK_LINK_HDR_BYTES], size_t *ret_len);
/*
 * Checks and opens one frame (header + body_len bytes of body) as the next
 * frame of s into payload (body_len - 16 bytes).  0 and *ret_len, or
 * -EMSGSIZE (bad length) / -EBADMSG (tag: forged, replayed, reordered,
 * another key or connection); on failure s is unchanged.
 */
int glock_link_frame_open(struct glock_link_session *s, const uint8_t *frame, size_t frame_len,
			  uint8_t *payload, size_t *ret_len);

#endif /* GLOCK_LINK_WIRE_H */
