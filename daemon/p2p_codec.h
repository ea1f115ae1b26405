/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The p2p lock path's messages on the wire (proto/glock_wire.proto:
 * P2pMsg, LinkMessage, the P2pReport item).  Decoding trusts nothing: a
 * message that fails a check is skipped and counted, never delivered.
 */
#ifndef GLOCK_P2P_CODEC_H
#define GLOCK_P2P_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "p2p.h"

typedef struct Glockwire__P2pMsg Glockwire__P2pMsg;

/* Whether msg can be encoded (and so would be decoded). */
bool glock_p2p_codec_encodable(const struct glock_p2p_msg *msg);

/*
 * One link payload carrying msgs in order, from sender.  0 and a
 * malloc'ed buffer (caller frees), -EINVAL (n == 0, a message not
 * encodable) or -ENOMEM.
 */
int glock_p2p_codec_encode_link(uint32_t sender, const struct glock_p2p_msg *msgs, size_t n,
				uint8_t **ret_buf, size_t *ret_len);

typedef int (*glock_p2p_msg_fn)(void *ctx, const struct glock_p2p_msg *msg);

/*
 * Decodes a link payload from the authenticated peer and calls fn for
 * every valid message in order (valid only during the call).  0, or
 * -EBADMSG (unreadable, or the sender is not peer), -EPROTONOSUPPORT
 * (another major version), or fn's non-zero value.  *bad counts skipped
 * messages.
 */
int glock_p2p_codec_decode_link(const uint8_t *buf, size_t len, uint32_t peer,
				glock_p2p_msg_fn fn, void *ctx, uint64_t *bad);

/* REPORTs, msgs[i] for master to[i], as one CPG GlockMessage of P2pReport items. */
int glock_p2p_codec_encode_reports(uint32_t sender, const uint32_t *to,
				   const struct glock_p2p_msg *msgs, size_t n, uint8_t **ret_buf,
				   size_t *ret_len);

/* For codec.c: a P2pMsg item to a struct; 0, or -EBADMSG. */
int glock_p2p_msg_from_wire(const Glockwire__P2pMsg *w, struct glock_p2p_msg *msg);

#endif /* GLOCK_P2P_CODEC_H */
