/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node-link wire format (link_wire.h): handshake, session keys, frames.
 * libsodium: keyed BLAKE2b for proofs and key derivation, IETF
 * ChaCha20-Poly1305 for frames (docs/DESIGN.md, "Node links", has the
 * measured costs behind the choice).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "link_wire.h"

static const uint8_t hello_magic[4] = { 'G', 'L', 'N', 'K' };
/* Domain labels: a tag or key made for one purpose is useless for another. */
static const char label_key[] = "glockd link key v1";
static const char label_auth[] = "glockd link auth v1";
static const char label_session[] = "glockd link session v1";

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int glock_link_wire_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void glock_link_key_derive(const void *raw, size_t len, uint8_t key[GLOCK_LINK_KEY_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, GLOCK_LINK_KEY_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label_key, sizeof(label_key));
	crypto_generichash_update(&st, raw, len);
	crypto_generichash_final(&st, key, GLOCK_LINK_KEY_BYTES);
	sodium_memzero(&st, sizeof(st));
}

int glock_link_key_load(const char *path, uint8_t key[GLOCK_LINK_KEY_BYTES], char *err,
			size_t err_len)
{
	uint8_t raw[GLOCK_LINK_KEYFILE_MAX + 1];
	size_t n = 0;
	ssize_t r;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	while (n < sizeof(raw)) {
		r = read(fd, raw + n, sizeof(raw) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			close(fd);
			sodium_memzero(raw, sizeof(raw));
			snprintf(err, err_len, "%s: read error: %s", path, strerror(e));
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n < GLOCK_LINK_KEYFILE_MIN || n > GLOCK_LINK_KEYFILE_MAX) {
		sodium_memzero(raw, sizeof(raw));
		snprintf(err, err_len, "%s: a key file holds %d..%d bytes, this one %s", path,
			 GLOCK_LINK_KEYFILE_MIN, GLOCK_LINK_KEYFILE_MAX,
			 n < GLOCK_LINK_KEYFILE_MIN ? "fewer" : "more");
		return -EINVAL;
	}
	glock_link_key_derive(raw, n, key);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void glock_link_hello_make(struct glock_link_hello *h, uint32_t from, uint32_t to)
{
	h->major = GLOCK_LINK_VERSION_MAJOR;
	h->minor = GLOCK_LINK_VERSION_MINOR;
	h->from = from;
	h->to = to;
	randombytes_buf(h->nonce, sizeof(h->nonce));
}

void glock_link_hello_encode(const struct glock_link_hello *h, uint8_t out[GLOCK_LINK_HELLO_BYTES])
{
	memcpy(out, hello_magic, sizeof(hello_magic));
	put_be16(out + 4, h->major);
	put_be16(out + 6, h->minor);
	put_be32(out + 8, h->from);
	put_be32(out + 12, h->to);
	memcpy(out + 16, h->nonce, GLOCK_LINK_NONCE_BYTES);
}

int glock_link_hello_decode(const uint8_t in[GLOCK_LINK_HELLO_BYTES], struct glock_link_hello *h)
{
	if (memcmp(in, hello_magic, sizeof(hello_magic)))
		return -EPROTO;
	h->major = get_be16(in + 4);
	h->minor = get_be16(in + 6);
	h->from = get_be32(in + 8);
	h->to = get_be32(in + 12);
	memcpy(h->nonce, in + 16, GLOCK_LINK_NONCE_BYTES);
	return h->major == GLOCK_LINK_VERSION_MAJOR ? 0 : -EPROTONOSUPPORT;
}

static void transcript_hash(const uint8_t key[GLOCK_LINK_KEY_BYTES], const char *label,
			    size_t label_len, uint8_t role, const uint8_t *hello_c,
			    const uint8_t *hello_a, uint8_t *out, size_t out_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, GLOCK_LINK_KEY_BYTES, out_len);
	crypto_generichash_update(&st, (const uint8_t *)label, label_len);
	crypto_generichash_update(&st, &role, 1);
	crypto_generichash_update(&st, hello_c, GLOCK_LINK_HELLO_BYTES);
	crypto_generichash_update(&st, hello_a, GLOCK_LINK_HELLO_BYTES);
	crypto_generichash_final(&st, out, out_len);
	sodium_memzero(&st, sizeof(st));
}

void glock_link_auth_make(const uint8_t key[GLOCK_LINK_KEY_BYTES], bool by_connector,
			  const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES],
			  uint8_t tag[GLOCK_LINK_AUTH_BYTES])
{
	transcript_hash(key, label_auth, sizeof(label_auth), by_connector ? 'C' : 'A', hello_c,
			hello_a, tag, GLOCK_LINK_AUTH_BYTES);
}

int glock_link_auth_check(const uint8_t key[GLOCK_LINK_KEY_BYTES], bool by_connector,
			  const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES],
			  const uint8_t tag[GLOCK_LINK_AUTH_BYTES])
{
	uint8_t want[GLOCK_LINK_AUTH_BYTES];
	int r;

	glock_link_auth_make(key, by_connector, hello_c, hello_a, want);
	r = sodium_memcmp(want, tag, sizeof(want)) ? -EBADMSG : 0;
	sodium_memzero(want, sizeof(want));
	return r;
}

void glock_link_session_init(struct glock_link_session *s, const uint8_t key[GLOCK_LINK_KEY_BYTES],
			     bool connector, const uint8_t hello_c[GLOCK_LINK_HELLO_BYTES],
			     const uint8_t hello_a[GLOCK_LINK_HELLO_BYTES])
{
	uint8_t both[2 * GLOCK_LINK_KEY_BYTES]; /* connector->acceptor, acceptor->connector */

	transcript_hash(key, label_session, sizeof(label_session), 0, hello_c, hello_a, both,
			sizeof(both));
	memcpy(s->tx_key, connector ? both : both + GLOCK_LINK_KEY_BYTES, GLOCK_LINK_KEY_BYTES);
	memcpy(s->rx_key, connector ? both + GLOCK_LINK_KEY_BYTES : both, GLOCK_LINK_KEY_BYTES);
	s->tx_seq = 0;
	s->rx_seq = 0;
	sodium_memzero(both, sizeof(both));
}

void glock_link_session_wipe(struct glock_link_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

static void seq_nonce(uint64_t seq, uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
	memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	put_be32(nonce + 4, (uint32_t)(seq >> 32));
	put_be32(nonce + 8, (uint32_t)seq);
}

int glock_link_frame_seal(struct glock_link_session *s, const void *payload, size_t len,
			  uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (len > GLOCK_LINK_PAYLOAD_MAX)
		return -EMSGSIZE;
	put_be32(out, (uint32_t)(len + GLOCK_LINK_TAG_BYTES));
	seq_nonce(s->tx_seq, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + GLOCK_LINK_HDR_BYTES, NULL, payload, len, out,
						  GLOCK_LINK_HDR_BYTES, NULL, nonce, s->tx_key);
	s->tx_seq++;
	return 0;
}

int glock_link_frame_body_len(const uint8_t hdr[GLOCK_LINK_HDR_BYTES], size_t *ret_len)
{
	uint32_t n = get_be32(hdr);

	if (n < GLOCK_LINK_TAG_BYTES || n > GLOCK_LINK_PAYLOAD_MAX + GLOCK_LINK_TAG_BYTES)
		return -EMSGSIZE;
	*ret_len = n;
	return 0;
}

int glock_link_frame_open(struct glock_link_session *s, const uint8_t *frame, size_t frame_len,
			  uint8_t *payload, size_t *ret_len)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	size_t body;

	if (frame_len < GLOCK_LINK_HDR_BYTES || glock_link_frame_body_len(frame, &body) ||
	    frame_len != GLOCK_LINK_HDR_BYTES + body)
		return -EMSGSIZE;
	seq_nonce(s->rx_seq, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(payload, NULL, NULL, frame + GLOCK_LINK_HDR_BYTES,
						      body, frame, GLOCK_LINK_HDR_BYTES, nonce,
						      s->rx_key))
		return -EBADMSG;
	s->rx_seq++;
	*ret_len = body - GLOCK_LINK_TAG_BYTES;
	return 0;
}
