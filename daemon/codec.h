/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The codec: engine inputs <-> node-to-node wire messages
 * (proto/glock_wire.proto), and engine errors -> wire status
 * (proto/glock_status.proto).  It is the only file that knows both the
 * engine's structs and protobuf-c's; nothing else converts between them.
 *
 * Decoding trusts nothing: a message is checked (length, version, envelope
 * sender) before its items are looked at, and each item is checked (enum
 * values, flags, LVB length, lockspace, claimed node against the CPG
 * sender) before it is handed on.  A bad item is skipped and counted; the
 * rest of the message still goes through, in order.
 *
 * Library code: it never logs.  Callers log from the stats.
 */
#ifndef GLOCK_CODEC_H
#define GLOCK_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define GLOCK_WIRE_VERSION_MAJOR 1u
#define GLOCK_WIRE_VERSION_MINOR 2u /* 2: POSIX lock kinds on the p2p path */

struct glock_codec_stats {
	uint64_t messages;          /* messages decoded (any outcome) */
	uint64_t items;             /* items delivered to the callback */
	uint64_t bad_messages;      /* unreadable, or envelope sender spoofed */
	uint64_t bad_items;         /* items skipped (includes the two below) */
	uint64_t spoofed_items;     /* claimed a node other than the CPG sender */
	uint64_t unknown_items;     /* item kind unknown (newer minor version?) */
	uint64_t version_mismatches; /* other major version: message dropped */
	uint32_t last_bad_major;    /* the major version last refused */
};

/*
 * Encodes a batch of inputs (OP, QUORUM, HELLO, FENCED, RECOVERY_DONE,
 * SNAPSHOT_BEGIN/RECORD/END) from node `sender` as one message, in order.
 * Returns 0 and a malloc'ed buffer (caller frees with free()), or
 *   -EINVAL  n == 0, a local-only input (CONFCHG, TICK), or an input the
 *            decoder would refuse (bad mode/kind/flags, invalid name, ...)
 *   -ENOMEM
 * and leaves *ret_buf and *ret_len untouched.
 */
int glock_codec_encode(uint32_t sender, const struct glock_input *items, size_t n,
		       uint8_t **ret_buf, size_t *ret_len);

/*
 * Receives one decoded input.  `in` and everything it points to belong to
 * the decoder and are valid only during the call.  Return 0 to go on (an
 * engine rejection is a normal outcome, not a reason to stop); a non-zero
 * value stops decoding and is returned by glock_codec_decode().
 */
typedef int (*glock_codec_input_fn)(void *ctx, const struct glock_input *in);

/*
 * Decodes one message received from CPG node `cpg_sender` and passes each
 * valid item to fn in order.  Returns 0 (even if items were skipped: see
 * stats), or
 *   -EBADMSG          unreadable (garbage, truncated) or the envelope's
 *                     sender is not cpg_sender; nothing delivered
 *   -EPROTONOSUPPORT  another major version; nothing delivered
 *   -EINVAL           buf NULL with len > 0, or fn NULL
 *   -ENOMEM           out of memory part way (items before were delivered)
 *   fn's non-zero return value
 * stats may be NULL; otherwise it is added to, never reset.
 */
int glock_codec_decode(const uint8_t *buf, size_t len, uint32_t cpg_sender,
		       glock_codec_input_fn fn, void *ctx, struct glock_codec_stats *stats);

/*
 * glock_codec_decode() that also passes P2pReport items (the p2p lock
 * path's REPORTs, DESIGN §9) to report_fn: from is the CPG sender, to the
 * master the report is for.  report_fn NULL: they are skipped as unknown.
 */
struct glock_p2p_msg;
typedef int (*glock_codec_report_fn)(void *ctx, uint32_t from, uint32_t to,
				     const struct glock_p2p_msg *msg);
int glock_codec_decode_ex(const uint8_t *buf, size_t len, uint32_t cpg_sender,
			  glock_codec_input_fn fn, glock_codec_report_fn report_fn, void *ctx,
			  struct glock_codec_stats *stats);

/*
 * Exports the engine's table as the donor `donor`: SNAPSHOT_BEGIN (with the
 * departed nodes), one SNAPSHOT_RECORD per glock in name order, then
 * SNAPSHOT_END{n_records}, packed in order into messages of at most
 * max_msg_bytes each (an item too big for that goes alone in its message).
 * send_fn() gets each message; the buffer is valid only during the call.
 * Returns 0, -EINVAL (NULL eng/send_fn, max_msg_bytes 0), -ENOMEM, or send_fn()'s
 * non-zero return value, which stops the export.
 */
int glock_codec_encode_snapshot(const struct glock_engine *eng, uint32_t donor,
				size_t max_msg_bytes,
				int (*send_fn)(void *ctx, const uint8_t *buf, size_t len),
				void *ctx);

/*
 * The one place engine errors become wire status.  Values are GlockStatus
 * (proto/glock_status.proto, glock_status.pb-c.h).
 *
 * from_errno takes 0 or -errno (a positive errno is read as its negative):
 * the engine's apply() errors map one to one, -EAGAIN, -ETIMEDOUT,
 * -ENOTCONN (not synced), -EPERM/-EACCES have their own status, and any
 * other errno is INTERNAL.
 */
/* Whether glock_codec_encode() would take this op: the same checks, no packing. */
bool glock_codec_op_encodable(const struct glock_op *op);

int glock_codec_status_from_errno(int err);
int glock_codec_status_from_deny(enum glock_deny_reason reason);
/* "OK", "INVALID", ...; "UNRECOGNISED" for a value not in the enum. */
const char *glock_codec_status_name(int status);

#endif /* GLOCK_CODEC_H */
