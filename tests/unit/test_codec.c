/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The codec: engine inputs <-> wire messages, hostile input, status mapping,
 * and snapshot transfer between two real engines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "engine.h"
#include "glock_status.pb-c.h"
#include "glock_wire.pb-c.h"

#define MAX_CAPTURED 32

/* ---- helpers ---- */

/* A deep copy of one decoded input, owning its arrays. */
struct captured {
	struct glock_input in;
	struct glock_record rec;
	struct glock_holder_rec holders[GLOCK_NODES_MAX], expired[GLOCK_NODES_MAX];
	struct glock_waiter_rec waiters[GLOCK_NODES_MAX];
	struct glock_departed_rec departed[GLOCK_NODES_MAX];
	uint32_t configured[GLOCK_NODES_MAX];
};

struct capture {
	size_t n;
	struct captured c[MAX_CAPTURED];
	int stop_after; /* return -ECANCELED after this many; 0: never */
};

static int capture_fn(void *ctx, const struct glock_input *in)
{
	struct capture *cap = ctx;
	struct captured *c;

	assert_true(cap->n < MAX_CAPTURED);
	c = &cap->c[cap->n++];
	c->in = *in;
	if (in->kind == GLOCK_IN_SNAPSHOT_RECORD) {
		const struct glock_record *r = in->u.snapshot_record.record;

		assert_true(r->n_holders <= GLOCK_NODES_MAX && r->n_expired <= GLOCK_NODES_MAX &&
			    r->n_waiters <= GLOCK_NODES_MAX);
		c->rec = *r;
		memcpy(c->holders, r->holders, r->n_holders * sizeof(*r->holders));
		memcpy(c->expired, r->expired, r->n_expired * sizeof(*r->expired));
		memcpy(c->waiters, r->waiters, r->n_waiters * sizeof(*r->waiters));
		c->rec.holders = c->holders;
		c->rec.expired = c->expired;
		c->rec.waiters = c->waiters;
		c->in.u.snapshot_record.record = &c->rec;
	} else if (in->kind == GLOCK_IN_SNAPSHOT_BEGIN) {
		size_t n = in->u.snapshot_begin.n_departed;

		assert_true(n <= GLOCK_NODES_MAX);
		memcpy(c->departed, in->u.snapshot_begin.departed, n * sizeof(*c->departed));
		c->in.u.snapshot_begin.departed = c->departed;
	} else if (in->kind == GLOCK_IN_HELLO && in->u.hello.n_configured) {
		size_t n = in->u.hello.n_configured;

		assert_true(n <= GLOCK_NODES_MAX);
		memcpy(c->configured, in->u.hello.configured, n * sizeof(*c->configured));
		c->in.u.hello.configured = c->configured;
	}
	if (cap->stop_after && (int)cap->n == cap->stop_after)
		return -ECANCELED;
	return 0;
}

static void assert_holders_equal(const struct glock_holder_rec *a,
				 const struct glock_holder_rec *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(a[i].node, b[i].node);
		assert_int_equal(a[i].mode, b[i].mode);
		assert_int_equal(a[i].flags, b[i].flags);
		assert_int_equal(a[i].demote_target, b[i].demote_target);
		assert_int_equal(a[i].demote_sent, b[i].demote_sent);
		assert_int_equal(a[i].fenced, b[i].fenced);
	}
}

static void assert_record_equal(const struct glock_record *a, const struct glock_record *b)
{
	size_t i;

	assert_int_equal(glock_name_compare(&a->name, &b->name), 0);
	assert_memory_equal(a->lvb, b->lvb, GLOCK_LVB_LEN);
	assert_int_equal(a->n_holders, b->n_holders);
	assert_int_equal(a->n_expired, b->n_expired);
	assert_int_equal(a->n_waiters, b->n_waiters);
	assert_holders_equal(a->holders, b->holders, a->n_holders);
	assert_holders_equal(a->expired, b->expired, a->n_expired);
	for (i = 0; i < a->n_waiters; i++) {
		assert_int_equal(a->waiters[i].node, b->waiters[i].node);
		assert_int_equal(a->waiters[i].req_id, b->waiters[i].req_id);
		assert_int_equal(a->waiters[i].mode, b->waiters[i].mode);
		assert_int_equal(a->waiters[i].flags, b->waiters[i].flags);
		assert_int_equal(a->waiters[i].convert, b->waiters[i].convert);
	}
}

static void assert_input_equal(const struct glock_input *a, const struct glock_input *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	switch (a->kind) {
	case GLOCK_IN_OP:
		assert_int_equal(a->u.op.kind, b->u.op.kind);
		assert_int_equal(a->u.op.node, b->u.op.node);
		assert_int_equal(a->u.op.req_id, b->u.op.req_id);
		assert_int_equal(glock_name_compare(&a->u.op.name, &b->u.op.name), 0);
		assert_string_equal(a->u.op.name.lockspace, b->u.op.name.lockspace);
		assert_int_equal(a->u.op.mode, b->u.op.mode);
		assert_int_equal(a->u.op.flags, b->u.op.flags);
		assert_int_equal(a->u.op.lvb_valid, b->u.op.lvb_valid);
		if (a->u.op.lvb_valid)
			assert_memory_equal(a->u.op.lvb, b->u.op.lvb, GLOCK_LVB_LEN);
		break;
	case GLOCK_IN_QUORUM:
		assert_int_equal(a->u.quorum.from, b->u.quorum.from);
		assert_int_equal(a->u.quorum.quorate, b->u.quorum.quorate);
		assert_true(a->u.quorum.config_id == b->u.quorum.config_id);
		break;
	case GLOCK_IN_HELLO:
		assert_int_equal(a->u.hello.node, b->u.hello.node);
		assert_int_equal(a->u.hello.synced, b->u.hello.synced);
		assert_true(a->u.hello.config_id == b->u.hello.config_id);
		assert_int_equal(a->u.hello.n_configured, b->u.hello.n_configured);
		for (i = 0; i < a->u.hello.n_configured; i++)
			assert_int_equal(a->u.hello.configured[i], b->u.hello.configured[i]);
		break;
	case GLOCK_IN_FENCED:
	case GLOCK_IN_RECOVERY_DONE:
		assert_int_equal(a->u.departed.node, b->u.departed.node);
		break;
	case GLOCK_IN_SNAPSHOT_BEGIN:
		assert_int_equal(a->u.snapshot_begin.donor, b->u.snapshot_begin.donor);
		assert_int_equal(a->u.snapshot_begin.n_departed, b->u.snapshot_begin.n_departed);
		for (i = 0; i < a->u.snapshot_begin.n_departed; i++) {
			assert_int_equal(a->u.snapshot_begin.departed[i].node,
					 b->u.snapshot_begin.departed[i].node);
			assert_int_equal(a->u.snapshot_begin.departed[i].fenced,
					 b->u.snapshot_begin.departed[i].fenced);
			assert_int_equal(a->u.snapshot_begin.departed[i].startup,
					 b->u.snapshot_begin.departed[i].startup);
			assert_int_equal(a->u.snapshot_begin.departed[i].unknown,
					 b->u.snapshot_begin.departed[i].unknown);
		}
		break;
	case GLOCK_IN_SNAPSHOT_RECORD:
		assert_int_equal(a->u.snapshot_record.donor, b->u.snapshot_record.donor);
		assert_record_equal(a->u.snapshot_record.record, b->u.snapshot_record.record);
		break;
	case GLOCK_IN_SNAPSHOT_END:
		assert_int_equal(a->u.snapshot_end.donor, b->u.snapshot_end.donor);
		assert_int_equal(a->u.snapshot_end.n_records, b->u.snapshot_end.n_records);
		break;
	default:
		fail_msg("unexpected kind %d", a->kind);
	}
}

static struct glock_input make_op(enum glock_op_kind kind, uint32_t node, uint64_t req_id,
				  const char *ls, uint64_t number, enum glock_mode mode,
				  uint32_t flags)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_OP;
	in.u.op.kind = kind;
	in.u.op.node = node;
	in.u.op.req_id = req_id;
	snprintf(in.u.op.name.lockspace, sizeof(in.u.op.name.lockspace), "%s", ls);
	in.u.op.name.type = 2;
	in.u.op.name.number = number;
	in.u.op.mode = mode;
	in.u.op.flags = flags;
	return in;
}

static struct glock_input make_simple(enum glock_input_kind kind, uint32_t node, bool flag)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	switch (kind) {
	case GLOCK_IN_QUORUM:
		in.u.quorum.from = node;
		in.u.quorum.quorate = flag;
		in.u.quorum.config_id = 0x1234567890abcdefull;
		break;
	case GLOCK_IN_HELLO:
		in.u.hello.node = node;
		in.u.hello.synced = flag;
		in.u.hello.config_id = 0xfedcba0987654321ull;
		if (flag) { /* the nodelist startup fencing reads */
			static const uint32_t nodelist[] = { 3, 1, 2, 0x7fffffffu };

			in.u.hello.n_configured = 4;
			in.u.hello.configured = nodelist;
		}
		break;
	default:
		in.u.departed.node = node;
		break;
	}
	return in;
}

static const struct glock_holder_rec sample_holders[] = {
	{ .node = 1, .mode = GLOCK_MODE_SH, .flags = GLOCK_FLAG_NOEXP },
	{ .node = 3, .mode = GLOCK_MODE_SH, .flags = 0, .demote_target = GLOCK_MODE_UN,
	  .demote_sent = true },
};
static const struct glock_holder_rec sample_expired[] = {
	{ .node = 7, .mode = GLOCK_MODE_SH, .flags = GLOCK_FLAG_PRIORITY, .fenced = true },
	{ .node = 7, .mode = GLOCK_MODE_SH, .flags = 0 }, /* failed twice */
};
static const struct glock_waiter_rec sample_waiters[] = {
	{ .node = 1, .req_id = 99, .mode = GLOCK_MODE_EX, .flags = 0, .convert = true },
	{ .node = 2, .req_id = UINT64_MAX, .mode = GLOCK_MODE_EX, .flags = GLOCK_FLAG_TRY_1CB },
};
static const struct glock_departed_rec sample_departed[] = {
	{ .node = 7, .fenced = false },
	{ .node = 9, .fenced = true },
	{ .node = 11, .fenced = false, .startup = true, .unknown = true },
	{ .node = 12, .fenced = true, .unknown = true },
};

static struct glock_record sample_record(void)
{
	struct glock_record rec;
	size_t i;

	memset(&rec, 0, sizeof(rec));
	strcpy(rec.name.lockspace, "gfs2:fsA");
	rec.name.type = 5;
	rec.name.number = 0x1122334455667788ull;
	for (i = 0; i < GLOCK_LVB_LEN; i++)
		rec.lvb[i] = (uint8_t)(0xa0 + i);
	rec.n_holders = 2;
	rec.holders = sample_holders;
	rec.n_expired = 2;
	rec.expired = sample_expired;
	rec.n_waiters = 2;
	rec.waiters = sample_waiters;
	return rec;
}

static void round_trip(uint32_t sender, const struct glock_input *in, size_t n)
{
	struct glock_codec_stats stats = { 0 };
	struct capture *cap = calloc(1, sizeof(*cap));
	uint8_t *buf = NULL;
	size_t len = 0, i;

	assert_non_null(cap);
	assert_int_equal(glock_codec_encode(sender, in, n, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(glock_codec_decode(buf, len, sender, capture_fn, cap, &stats), 0);
	assert_int_equal(cap->n, n);
	for (i = 0; i < n; i++)
		assert_input_equal(&in[i], &cap->c[i].in);
	assert_int_equal(stats.messages, 1);
	assert_int_equal(stats.items, n);
	assert_int_equal(stats.bad_items, 0);
	assert_int_equal(stats.bad_messages, 0);
	free(buf);
	free(cap);
}

/* Packs a hand-built message: lets tests say what the encoder never would. */
static size_t pack_raw(uint32_t major, uint32_t sender, Glockwire__GlockItem **items, size_t n,
		       uint8_t **ret)
{
	Glockwire__GlockMessage msg = GLOCKWIRE__GLOCK_MESSAGE__INIT;
	size_t len;

	msg.has_version_major = true;
	msg.version_major = major;
	msg.has_version_minor = true;
	msg.version_minor = 7;
	msg.has_sender = true;
	msg.sender = sender;
	msg.n_items = n;
	msg.items = items;
	len = glockwire__glock_message__get_packed_size(&msg);
	*ret = malloc(len ? len : 1);
	assert_non_null(*ret);
	assert_int_equal(glockwire__glock_message__pack(&msg, *ret), len);
	return len;
}

/* A valid wire op from node 1, for tests to spoil one field of. */
struct raw_op {
	Glockwire__GlockItem item;
	Glockwire__Op op;
	Glockwire__Name name;
	uint8_t lvb[64];
};

static void raw_op_init(struct raw_op *r)
{
	glockwire__glock_item__init(&r->item);
	glockwire__op__init(&r->op);
	glockwire__name__init(&r->name);
	r->name.has_lockspace = true;
	r->name.lockspace.data = (uint8_t *)"fs";
	r->name.lockspace.len = 2;
	r->name.has_type = true;
	r->name.type = 2;
	r->name.has_number = true;
	r->name.number = 17;
	r->op.has_kind = true;
	r->op.kind = GLOCKWIRE__OP_KIND__OP_KIND_LOCK;
	r->op.has_node = true;
	r->op.node = 1;
	r->op.has_req_id = true;
	r->op.req_id = 5;
	r->op.name = &r->name;
	r->op.has_mode = true;
	r->op.mode = GLOCKWIRE__MODE__MODE_EX;
	r->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_OP;
	r->item.op = &r->op;
	memset(r->lvb, 0x5a, sizeof(r->lvb));
}

/*
 * Decodes [good op, spoiled item, good op] from node 1: the spoiled item
 * must be skipped and counted, the good ones delivered in order.
 */
static void assert_item_skipped(Glockwire__GlockItem *bad, bool spoofed)
{
	struct glock_codec_stats stats = { 0 };
	struct capture *cap = calloc(1, sizeof(*cap));
	struct raw_op good1, good2;
	Glockwire__GlockItem *items[3];
	uint8_t *buf;
	size_t len;

	assert_non_null(cap);
	raw_op_init(&good1);
	raw_op_init(&good2);
	good2.op.req_id = 6;
	items[0] = &good1.item;
	items[1] = bad;
	items[2] = &good2.item;
	len = pack_raw(GLOCK_WIRE_VERSION_MAJOR, 1, items, 3, &buf);
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, cap, &stats), 0);
	assert_int_equal(cap->n, 2);
	assert_int_equal(cap->c[0].in.u.op.req_id, 5);
	assert_int_equal(cap->c[1].in.u.op.req_id, 6);
	assert_int_equal(stats.items, 2);
	assert_int_equal(stats.bad_items, 1);
	assert_int_equal(stats.spoofed_items, spoofed ? 1 : 0);
	assert_int_equal(stats.bad_messages, 0);
	free(buf);
	free(cap);
}

/* ---- API misuse ---- */

static void test_encode_rejects_bad_arguments(void **state)
{
	struct glock_input in = make_simple(GLOCK_IN_HELLO, 1, true);
	uint8_t *buf = (uint8_t *)"untouched";
	size_t len = 12345;

	(void)state;
	assert_int_equal(glock_codec_encode(1, NULL, 1, &buf, &len), -EINVAL);
	assert_int_equal(glock_codec_encode(1, &in, 0, &buf, &len), -EINVAL);
	assert_int_equal(glock_codec_encode(1, &in, 1, NULL, &len), -EINVAL);
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, NULL), -EINVAL);
	assert_string_equal((char *)buf, "untouched");
	assert_int_equal(len, 12345);
}

static void test_encode_refuses_local_inputs(void **state)
{
	uint32_t members[] = { 1, 2 };
	struct glock_input in[2];
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(in, 0, sizeof(in));
	in[0] = make_simple(GLOCK_IN_HELLO, 1, true);
	in[1].kind = GLOCK_IN_CONFCHG;
	in[1].u.confchg.n_members = 2;
	in[1].u.confchg.members = members;
	assert_int_equal(glock_codec_encode(1, in, 2, &buf, &len), -EINVAL);
	in[1].kind = GLOCK_IN_TICK;
	in[1].u.tick.now_us = 5;
	assert_int_equal(glock_codec_encode(1, in, 2, &buf, &len), -EINVAL);
	in[1].kind = 0;
	assert_int_equal(glock_codec_encode(1, in, 2, &buf, &len), -EINVAL);
	assert_null(buf);
	assert_int_equal(len, 0);
}

static void test_encode_refuses_what_decode_would_refuse(void **state)
{
	struct glock_input in;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct glock_record rec;
	struct glock_holder_rec bad_holder = { .node = 1, .mode = 9 };

	(void)state;
	in = make_op(GLOCK_OP_LOCK, 1, 1, "fs", 1, 4, 0);
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	in = make_op(GLOCK_OP_LOCK, 1, 1, "fs", 1, GLOCK_MODE_EX, 0x10);
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	in = make_op(5, 1, 1, "fs", 1, GLOCK_MODE_EX, 0);
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	in = make_op(GLOCK_OP_LOCK, 1, 1, "", 1, GLOCK_MODE_EX, 0);
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	in = make_op(GLOCK_OP_LOCK, 1, 1, "fs", 1, GLOCK_MODE_EX, 0);
	memset(in.u.op.name.lockspace, 'x', GLOCK_LOCKSPACE_MAX); /* unterminated */
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);

	rec = sample_record();
	rec.n_holders = 1;
	rec.holders = &bad_holder;
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_RECORD;
	in.u.snapshot_record.donor = 1;
	in.u.snapshot_record.record = &rec;
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	in.u.snapshot_record.record = NULL;
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), -EINVAL);
	assert_null(buf);
}

static void test_decode_rejects_bad_arguments(void **state)
{
	struct capture cap = { 0 };

	(void)state;
	assert_int_equal(glock_codec_decode(NULL, 5, 1, capture_fn, &cap, NULL), -EINVAL);
	assert_int_equal(glock_codec_decode((const uint8_t *)"", 0, 1, NULL, &cap, NULL), -EINVAL);
}

/* ---- round trips ---- */

static void test_op_round_trips_every_kind(void **state)
{
	struct glock_input in[4];
	size_t i;

	(void)state;
	in[0] = make_op(GLOCK_OP_LOCK, 3, 1, "fs", 1, GLOCK_MODE_SH,
			GLOCK_FLAG_TRY | GLOCK_FLAG_NOEXP | GLOCK_FLAG_PRIORITY);
	in[1] = make_op(GLOCK_OP_CONVERT, 3, UINT64_MAX, "a-63-char-lockspace-name-"
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", UINT64_MAX, GLOCK_MODE_DF,
			GLOCK_FLAG_TRY_1CB);
	assert_int_equal(strlen(in[1].u.op.name.lockspace), GLOCK_LOCKSPACE_MAX - 1);
	in[1].u.op.lvb_valid = true;
	for (i = 0; i < GLOCK_LVB_LEN; i++)
		in[1].u.op.lvb[i] = (uint8_t)i;
	in[2] = make_op(GLOCK_OP_RELEASE, 3, 0, "fs", 0, GLOCK_MODE_UN, 0);
	in[2].u.op.lvb_valid = true; /* an all-zero LVB is still a write */
	in[3] = make_op(GLOCK_OP_CANCEL, 3, 77, "fs", 9, GLOCK_MODE_UN, 0);
	in[3].u.op.name.type = UINT32_MAX;
	for (i = 0; i < 4; i++)
		round_trip(3, &in[i], 1);
}

static void test_membership_items_round_trip(void **state)
{
	struct glock_input in[6];
	size_t i;

	(void)state;
	in[0] = make_simple(GLOCK_IN_QUORUM, 2, true);
	in[1] = make_simple(GLOCK_IN_QUORUM, 2, false);
	in[2] = make_simple(GLOCK_IN_HELLO, 2, true);
	in[3] = make_simple(GLOCK_IN_HELLO, 2, false);
	in[4] = make_simple(GLOCK_IN_FENCED, 5, false);
	in[5] = make_simple(GLOCK_IN_RECOVERY_DONE, 5, false);
	for (i = 0; i < 6; i++)
		round_trip(2, &in[i], 1);
}

static void test_snapshot_items_round_trip(void **state)
{
	struct glock_record rec = sample_record(), empty;
	struct glock_input in;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in.u.snapshot_begin.donor = 4;
	in.u.snapshot_begin.n_departed = 4;
	in.u.snapshot_begin.departed = sample_departed;
	round_trip(4, &in, 1);
	in.u.snapshot_begin.n_departed = 0;
	in.u.snapshot_begin.departed = NULL;
	round_trip(4, &in, 1);

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_RECORD;
	in.u.snapshot_record.donor = 4;
	in.u.snapshot_record.record = &rec;
	round_trip(4, &in, 1);
	/* An all-zero LVB is left off the wire and comes back as zeros. */
	empty = rec;
	memset(empty.lvb, 0, sizeof(empty.lvb));
	empty.n_expired = 0;
	empty.n_waiters = 0;
	in.u.snapshot_record.record = &empty;
	round_trip(4, &in, 1);

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_END;
	in.u.snapshot_end.donor = 4;
	in.u.snapshot_end.n_records = UINT64_MAX;
	round_trip(4, &in, 1);
}

static void test_batch_keeps_order(void **state)
{
	struct glock_record rec = sample_record();
	struct glock_input in[10];
	size_t i;

	(void)state;
	memset(in, 0, sizeof(in));
	in[0] = make_simple(GLOCK_IN_HELLO, 1, false);
	in[1] = make_simple(GLOCK_IN_QUORUM, 1, true);
	for (i = 2; i < 6; i++)
		in[i] = make_op(GLOCK_OP_LOCK, 1, i, "fs", i * 1000, GLOCK_MODE_EX, 0);
	in[6].kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in[6].u.snapshot_begin.donor = 1;
	in[6].u.snapshot_begin.n_departed = 4;
	in[6].u.snapshot_begin.departed = sample_departed;
	in[7].kind = GLOCK_IN_SNAPSHOT_RECORD;
	in[7].u.snapshot_record.donor = 1;
	in[7].u.snapshot_record.record = &rec;
	in[8].kind = GLOCK_IN_SNAPSHOT_END;
	in[8].u.snapshot_end.donor = 1;
	in[8].u.snapshot_end.n_records = 1;
	in[9] = make_simple(GLOCK_IN_FENCED, 9, false);
	round_trip(1, in, 10);
}

static void test_decode_stops_when_callback_says_so(void **state)
{
	struct glock_input in[3];
	struct capture *cap = calloc(1, sizeof(*cap));
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_non_null(cap);
	in[0] = make_simple(GLOCK_IN_HELLO, 1, false);
	in[1] = make_simple(GLOCK_IN_QUORUM, 1, true);
	in[2] = make_simple(GLOCK_IN_FENCED, 4, false);
	assert_int_equal(glock_codec_encode(1, in, 3, &buf, &len), 0);
	cap->stop_after = 2;
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, cap, NULL), -ECANCELED);
	assert_int_equal(cap->n, 2);
	free(buf);
	free(cap);
}

/* ---- hostile messages ---- */

static void test_truncated_message_is_refused_whole(void **state)
{
	struct glock_input in[3];
	struct glock_codec_stats stats = { 0 };
	struct capture *cap = calloc(1, sizeof(*cap));
	uint8_t *buf, *copy;
	size_t len, cut;

	(void)state;
	assert_non_null(cap);
	in[0] = make_op(GLOCK_OP_LOCK, 1, 1, "fs", 1, GLOCK_MODE_EX, 0);
	in[1] = make_op(GLOCK_OP_LOCK, 1, 2, "fs", 2, GLOCK_MODE_EX, 0);
	in[2] = make_simple(GLOCK_IN_HELLO, 1, true);
	assert_int_equal(glock_codec_encode(1, in, 3, &buf, &len), 0);
	/* Cut inside the last item: the whole message goes, nothing is delivered. */
	for (cut = len - 1; cut > len - 4; cut--) {
		copy = malloc(cut); /* exact size, so ASan sees any overread */
		assert_non_null(copy);
		memcpy(copy, buf, cut);
		cap->n = 0;
		assert_int_equal(glock_codec_decode(copy, cut, 1, capture_fn, cap, &stats),
				 -EBADMSG);
		assert_int_equal(cap->n, 0);
		free(copy);
	}
	assert_int_equal(stats.bad_messages, 3);
	/* Any cut: never a crash, and what is delivered is a prefix of the batch. */
	for (cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, buf, cut);
		cap->n = 0;
		(void)glock_codec_decode(copy, cut, 1, capture_fn, cap, NULL);
		assert_true(cap->n < 3);
		free(copy);
	}
	free(buf);
	free(cap);
}

static void test_random_garbage_never_crashes(void **state)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	struct glock_codec_stats stats = { 0 };
	uint8_t buf[256];
	unsigned int seed = 12345;
	int i, r;
	size_t j, len;

	(void)state;
	assert_non_null(cap);
	for (i = 0; i < 20000; i++) {
		len = (size_t)rand_r(&seed) % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		cap->n = 0;
		r = glock_codec_decode(buf, len, 1, capture_fn, cap, &stats);
		assert_true(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
		if (r)
			assert_int_equal(cap->n, 0);
	}
	assert_int_equal(stats.messages, 20000);
	assert_true(stats.bad_messages + stats.version_mismatches > 0);
	free(cap);
}

static void test_wrong_major_version_delivers_nothing(void **state)
{
	struct glock_codec_stats stats = { 0 };
	struct capture cap = { 0 };
	struct raw_op op;
	Glockwire__GlockItem *items[1];
	Glockwire__GlockMessage msg = GLOCKWIRE__GLOCK_MESSAGE__INIT;
	uint8_t *buf;
	size_t len;

	(void)state;
	raw_op_init(&op);
	items[0] = &op.item;
	len = pack_raw(GLOCK_WIRE_VERSION_MAJOR + 1, 1, items, 1, &buf);
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, &cap, &stats),
			 -EPROTONOSUPPORT);
	assert_int_equal(cap.n, 0);
	assert_int_equal(stats.version_mismatches, 1);
	assert_int_equal(stats.last_bad_major, GLOCK_WIRE_VERSION_MAJOR + 1);
	free(buf);

	/* No version at all is not version 1 either. */
	msg.has_sender = true;
	msg.sender = 1;
	msg.n_items = 1;
	msg.items = items;
	len = glockwire__glock_message__get_packed_size(&msg);
	buf = malloc(len);
	assert_non_null(buf);
	glockwire__glock_message__pack(&msg, buf);
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, &cap, &stats),
			 -EPROTONOSUPPORT);
	assert_int_equal(cap.n, 0);
	assert_int_equal(stats.version_mismatches, 2);
	free(buf);

	/* An empty buffer is a valid, empty protobuf message without a version. */
	assert_int_equal(glock_codec_decode((const uint8_t *)"", 0, 1, capture_fn, &cap, &stats),
			 -EPROTONOSUPPORT);
}

static void test_newer_minor_version_is_accepted(void **state)
{
	struct capture cap = { 0 };
	struct raw_op op;
	Glockwire__GlockItem *items[1];
	uint8_t *buf;
	size_t len;

	(void)state;
	raw_op_init(&op);
	items[0] = &op.item;
	len = pack_raw(GLOCK_WIRE_VERSION_MAJOR, 1, items, 1, &buf); /* minor 7 */
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, &cap, NULL), 0);
	assert_int_equal(cap.n, 1);
	free(buf);
}

static void test_envelope_from_another_node_is_refused(void **state)
{
	struct glock_codec_stats stats = { 0 };
	struct capture cap = { 0 };
	struct glock_input in = make_simple(GLOCK_IN_FENCED, 5, false);
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(glock_codec_encode(2, &in, 1, &buf, &len), 0);
	assert_int_equal(glock_codec_decode(buf, len, 1, capture_fn, &cap, &stats), -EBADMSG);
	assert_int_equal(cap.n, 0);
	assert_int_equal(stats.bad_messages, 1);
	free(buf);
}

static void test_items_claiming_another_node_are_skipped(void **state)
{
	struct raw_op op;
	Glockwire__GlockItem item = GLOCKWIRE__GLOCK_ITEM__INIT;
	Glockwire__Quorum quorum = GLOCKWIRE__QUORUM__INIT;
	Glockwire__Hello hello = GLOCKWIRE__HELLO__INIT;
	Glockwire__SnapshotBegin begin = GLOCKWIRE__SNAPSHOT_BEGIN__INIT;
	Glockwire__SnapshotRecord rec = GLOCKWIRE__SNAPSHOT_RECORD__INIT;
	Glockwire__SnapshotEnd end = GLOCKWIRE__SNAPSHOT_END__INIT;

	(void)state;
	raw_op_init(&op);
	op.op.node = 2;
	assert_item_skipped(&op.item, true);

	quorum.has_from = true;
	quorum.from = 2;
	quorum.has_quorate = true;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_QUORUM;
	item.quorum = &quorum;
	assert_item_skipped(&item, true);

	hello.has_node = true;
	hello.node = 3;
	hello.has_synced = true;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_HELLO;
	item.hello = &hello;
	assert_item_skipped(&item, true);

	begin.has_donor = true;
	begin.donor = 2;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_BEGIN;
	item.snapshot_begin = &begin;
	assert_item_skipped(&item, true);

	rec.has_donor = true;
	rec.donor = 2;
	rec.name = &op.name;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_RECORD;
	item.snapshot_record = &rec;
	assert_item_skipped(&item, true);

	end.has_donor = true;
	end.donor = 2;
	end.has_n_records = true;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_END;
	item.snapshot_end = &end;
	assert_item_skipped(&item, true);
}

static void test_op_with_bad_fields_is_skipped(void **state)
{
	struct raw_op op;

	(void)state;
	raw_op_init(&op);
	op.op.mode = 4;
	assert_item_skipped(&op.item, false);
	op.op.mode = -1;
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	op.op.kind = 0;
	assert_item_skipped(&op.item, false);
	op.op.kind = 5;
	assert_item_skipped(&op.item, false);
	op.op.has_kind = false;
	op.op.kind = GLOCKWIRE__OP_KIND__OP_KIND_LOCK;
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	op.op.has_flags = true;
	op.op.flags = GLOCK_FLAGS_ALL + 1;
	assert_item_skipped(&op.item, false);
	op.op.flags = 0x80000000u;
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	op.op.has_node = false; /* no author at all */
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	op.op.name = NULL;
	assert_item_skipped(&op.item, false);
}

static void test_op_with_wrong_lvb_length_is_skipped(void **state)
{
	static const size_t bad_lens[] = { 0, 1, GLOCK_LVB_LEN - 1, GLOCK_LVB_LEN + 1, 64 };
	struct raw_op op;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		raw_op_init(&op);
		op.op.kind = GLOCKWIRE__OP_KIND__OP_KIND_RELEASE;
		op.op.has_lvb = true;
		op.op.lvb.data = op.lvb;
		op.op.lvb.len = bad_lens[i];
		assert_item_skipped(&op.item, false);
	}
}

static void test_op_with_bad_lockspace_is_skipped(void **state)
{
	char longer[GLOCK_LOCKSPACE_MAX + 1];
	struct raw_op op;

	(void)state;
	raw_op_init(&op);
	op.name.lockspace.len = 0;
	assert_item_skipped(&op.item, false);
	op.name.has_lockspace = false;
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	memset(longer, 'l', sizeof(longer));
	op.name.lockspace.data = (uint8_t *)longer;
	op.name.lockspace.len = GLOCK_LOCKSPACE_MAX; /* no room for the NUL */
	assert_item_skipped(&op.item, false);
	op.name.lockspace.len = sizeof(longer);
	assert_item_skipped(&op.item, false);

	raw_op_init(&op);
	op.name.lockspace.data = (uint8_t *)"f\0s";
	op.name.lockspace.len = 3;
	assert_item_skipped(&op.item, false);
	op.name.lockspace.data = (uint8_t *)"fs\0";
	assert_item_skipped(&op.item, false);
}

static void test_record_with_bad_fields_is_skipped(void **state)
{
	Glockwire__GlockItem item = GLOCKWIRE__GLOCK_ITEM__INIT;
	Glockwire__SnapshotRecord rec = GLOCKWIRE__SNAPSHOT_RECORD__INIT;
	Glockwire__Holder holder = GLOCKWIRE__HOLDER__INIT, *holders[1] = { &holder };
	Glockwire__Waiter waiter = GLOCKWIRE__WAITER__INIT, *waiters[1] = { &waiter };
	Glockwire__Name name = GLOCKWIRE__NAME__INIT;
	uint8_t lvb[GLOCK_LVB_LEN + 1] = { 0 };

	(void)state;
	name.has_lockspace = true;
	name.lockspace.data = (uint8_t *)"fs";
	name.lockspace.len = 2;
	rec.has_donor = true;
	rec.donor = 1;
	rec.name = &name;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_RECORD;
	item.snapshot_record = &rec;

	rec.has_lvb = true;
	rec.lvb.data = lvb;
	rec.lvb.len = GLOCK_LVB_LEN + 1;
	assert_item_skipped(&item, false);
	rec.lvb.len = GLOCK_LVB_LEN - 1;
	assert_item_skipped(&item, false);
	rec.has_lvb = false;

	holder.has_node = true;
	holder.node = 1;
	holder.has_mode = true;
	holder.mode = 4;
	rec.n_holders = 1;
	rec.holders = holders;
	assert_item_skipped(&item, false);
	holder.mode = GLOCKWIRE__MODE__MODE_SH;
	holder.has_demote_target = true;
	holder.demote_target = 17;
	assert_item_skipped(&item, false);
	holder.demote_target = GLOCKWIRE__MODE__MODE_UN;
	holder.has_flags = true;
	holder.flags = 0x100;
	assert_item_skipped(&item, false);
	rec.n_holders = 0;
	rec.n_expired = 1;
	rec.expired = holders;
	assert_item_skipped(&item, false);
	rec.n_expired = 0;

	waiter.has_node = true;
	waiter.node = 2;
	waiter.has_mode = true;
	waiter.mode = -3;
	rec.n_waiters = 1;
	rec.waiters = waiters;
	assert_item_skipped(&item, false);
	waiter.mode = GLOCKWIRE__MODE__MODE_EX;
	waiter.has_flags = true;
	waiter.flags = 0x20;
	assert_item_skipped(&item, false);
	waiter.flags = 0;
	waiter.has_node = false;
	assert_item_skipped(&item, false);
	waiter.has_node = true;

	name.lockspace.len = 0;
	assert_item_skipped(&item, false);
	rec.name = NULL;
	assert_item_skipped(&item, false);
}

static void test_items_missing_their_fields_are_skipped(void **state)
{
	Glockwire__GlockItem item = GLOCKWIRE__GLOCK_ITEM__INIT;
	Glockwire__Quorum quorum = GLOCKWIRE__QUORUM__INIT;
	Glockwire__Hello hello = GLOCKWIRE__HELLO__INIT;
	Glockwire__Fenced fenced = GLOCKWIRE__FENCED__INIT;
	Glockwire__RecoveryDone done = GLOCKWIRE__RECOVERY_DONE__INIT;
	Glockwire__SnapshotBegin begin = GLOCKWIRE__SNAPSHOT_BEGIN__INIT;
	Glockwire__Departed departed = GLOCKWIRE__DEPARTED__INIT, *dp[1] = { &departed };
	Glockwire__SnapshotEnd end = GLOCKWIRE__SNAPSHOT_END__INIT;

	(void)state;
	quorum.has_from = true;
	quorum.from = 1; /* but no verdict */
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_QUORUM;
	item.quorum = &quorum;
	assert_item_skipped(&item, false);

	hello.has_node = true;
	hello.node = 1;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_HELLO;
	item.hello = &hello;
	assert_item_skipped(&item, false);

	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_FENCED;
	item.fenced = &fenced;
	assert_item_skipped(&item, false);
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_RECOVERY_DONE;
	item.recovery_done = &done;
	assert_item_skipped(&item, false);

	begin.has_donor = true;
	begin.donor = 1;
	begin.n_departed = 1;
	begin.departed = dp;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_BEGIN;
	item.snapshot_begin = &begin;
	assert_item_skipped(&item, false);

	end.has_donor = true;
	end.donor = 1;
	item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_END;
	item.snapshot_end = &end;
	assert_item_skipped(&item, false);
}

static void test_unknown_item_kind_is_skipped_and_counted(void **state)
{
	struct glock_codec_stats stats = { 0 };
	struct capture cap = { 0 };
	struct glock_input in = make_simple(GLOCK_IN_HELLO, 1, true);
	/* items { field 15: varint 1 }: an item kind from a future minor version. */
	static const uint8_t future_item[] = { 0x22, 0x02, 0x78, 0x01 };
	uint8_t *buf, *msg;
	size_t len;

	(void)state;
	assert_int_equal(glock_codec_encode(1, &in, 1, &buf, &len), 0);
	msg = malloc(len + sizeof(future_item));
	assert_non_null(msg);
	memcpy(msg, buf, len);
	memcpy(msg + len, future_item, sizeof(future_item));
	assert_int_equal(glock_codec_decode(msg, len + sizeof(future_item), 1, capture_fn, &cap,
					    &stats), 0);
	assert_int_equal(cap.n, 1);
	assert_int_equal(stats.unknown_items, 1);
	assert_int_equal(stats.bad_items, 1);
	free(msg);
	free(buf);
}

/* ---- status ---- */

static void test_every_engine_error_has_its_own_status(void **state)
{
	static const struct {
		int err;
		int status;
		const char *name;
	} map[] = {
		{ 0, GLOCK_STATUS__GLOCK_STATUS_OK, "OK" },
		{ -EINVAL, GLOCK_STATUS__GLOCK_STATUS_INVALID, "INVALID" },
		{ -ESRCH, GLOCK_STATUS__GLOCK_STATUS_UNKNOWN_NODE, "UNKNOWN_NODE" },
		{ -EEXIST, GLOCK_STATUS__GLOCK_STATUS_EXISTS, "EXISTS" },
		{ -ENOENT, GLOCK_STATUS__GLOCK_STATUS_NOT_FOUND, "NOT_FOUND" },
		{ -EBUSY, GLOCK_STATUS__GLOCK_STATUS_BUSY, "BUSY" },
		{ -EALREADY, GLOCK_STATUS__GLOCK_STATUS_ALREADY, "ALREADY" },
		{ -EPROTO, GLOCK_STATUS__GLOCK_STATUS_PROTOCOL, "PROTOCOL" },
		{ -ENOMEM, GLOCK_STATUS__GLOCK_STATUS_NO_MEMORY, "NO_MEMORY" },
		{ -EAGAIN, GLOCK_STATUS__GLOCK_STATUS_AGAIN, "AGAIN" },
		{ -ETIMEDOUT, GLOCK_STATUS__GLOCK_STATUS_TIMEDOUT, "TIMEDOUT" },
		{ -ENOTCONN, GLOCK_STATUS__GLOCK_STATUS_NOT_SYNCED, "NOT_SYNCED" },
		{ -EPERM, GLOCK_STATUS__GLOCK_STATUS_PERMISSION, "PERMISSION" },
		{ -EACCES, GLOCK_STATUS__GLOCK_STATUS_PERMISSION, "PERMISSION" },
		{ -EIO, GLOCK_STATUS__GLOCK_STATUS_INTERNAL, "INTERNAL" },
		{ -99999, GLOCK_STATUS__GLOCK_STATUS_INTERNAL, "INTERNAL" },
		{ EBUSY, GLOCK_STATUS__GLOCK_STATUS_BUSY, "BUSY" }, /* positive errno */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(glock_codec_status_from_errno(map[i].err), map[i].status);
		assert_string_equal(glock_codec_status_name(map[i].status), map[i].name);
	}
}

static void test_every_deny_reason_has_its_own_status(void **state)
{
	(void)state;
	assert_int_equal(glock_codec_status_from_deny(GLOCK_DENY_TRYFAIL),
			 GLOCK_STATUS__GLOCK_STATUS_TRYFAIL);
	assert_int_equal(glock_codec_status_from_deny(GLOCK_DENY_CANCELLED),
			 GLOCK_STATUS__GLOCK_STATUS_CANCELLED);
	assert_int_equal(glock_codec_status_from_deny(GLOCK_DENY_DEADLOCK),
			 GLOCK_STATUS__GLOCK_STATUS_DEADLOCK);
	assert_int_equal(glock_codec_status_from_deny(GLOCK_DENY_LOST),
			 GLOCK_STATUS__GLOCK_STATUS_LOST);
	assert_int_equal(glock_codec_status_from_deny(0), GLOCK_STATUS__GLOCK_STATUS_INTERNAL);
	assert_string_equal(glock_codec_status_name(GLOCK_STATUS__GLOCK_STATUS_DEADLOCK),
			    "DEADLOCK");
	assert_string_equal(glock_codec_status_name(-1), "UNRECOGNISED");
	assert_string_equal(glock_codec_status_name(1000), "UNRECOGNISED");
}

/* ---- snapshot transfer between two engines ---- */

struct sink {
	size_t n_msgs;
	size_t max_len;  /* largest message */
	size_t over_max; /* messages above the limit (must hold one item) */
	size_t limit;
	uint8_t *msgs[256];
	size_t lens[256];
	int fail_at; /* return -EPIPE at this message (1-based); 0: never */
};

static int sink_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct sink *s = ctx;

	assert_true(s->n_msgs < 256);
	if (s->fail_at && (int)s->n_msgs + 1 == s->fail_at)
		return -EPIPE;
	s->msgs[s->n_msgs] = malloc(len);
	assert_non_null(s->msgs[s->n_msgs]);
	memcpy(s->msgs[s->n_msgs], buf, len);
	s->lens[s->n_msgs++] = len;
	if (len > s->max_len)
		s->max_len = len;
	if (len > s->limit)
		s->over_max++;
	return 0;
}

static void sink_free(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n_msgs; i++)
		free(s->msgs[i]);
	s->n_msgs = 0;
}

/* The whole table as one message: equal tables give equal bytes. */
static void snapshot_bytes(const struct glock_engine *eng, uint32_t donor, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->limit = SIZE_MAX;
	assert_int_equal(glock_codec_encode_snapshot(eng, donor, SIZE_MAX, sink_send, s), 0);
	assert_int_equal(s->n_msgs, 1);
}

static void ignore_output(void *ctx, const struct glock_output *out)
{
	(void)ctx;
	(void)out;
}

static void apply_ok(struct glock_engine *eng, const struct glock_input *in)
{
	assert_int_equal(glock_engine_apply(eng, in), 0);
}

static void confchg(struct glock_engine *eng, const uint32_t *members, size_t n)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_CONFCHG;
	in.u.confchg.n_members = n;
	in.u.confchg.members = members;
	apply_ok(eng, &in);
}

static void sync_up(struct glock_engine *eng, const uint32_t *members, size_t n,
		    const bool *synced)
{
	struct glock_input in;
	size_t i;

	confchg(eng, members, n);
	in = make_simple(GLOCK_IN_QUORUM, members[0], true);
	in.u.quorum.config_id = glock_engine_config_id(eng);
	apply_ok(eng, &in);
	for (i = 0; i < n; i++) {
		in = make_simple(GLOCK_IN_HELLO, members[i], synced[i]);
		in.u.hello.config_id = glock_engine_config_id(eng);
		apply_ok(eng, &in);
	}
}

static void op_ok(struct glock_engine *eng, enum glock_op_kind kind, uint32_t node,
		  uint64_t req_id, uint64_t number, enum glock_mode mode)
{
	struct glock_input in = make_op(kind, node, req_id, "fs", number, mode, 0);

	apply_ok(eng, &in);
}

struct apply_ctx {
	struct glock_engine *eng;
	int first_error;
};

static int apply_fn(void *ctx, const struct glock_input *in)
{
	struct apply_ctx *a = ctx;
	int r = glock_engine_apply(a->eng, in);

	if (r && !a->first_error)
		a->first_error = r;
	return 0;
}

/* The scenario below must reach every part of a record, or it proves little. */
static void assert_snapshot_has_everything(const struct sink *s)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	bool expired = false, waiters = false, demote_sent = false, lvb = false, fenced = false;
	size_t i;

	assert_non_null(cap);
	assert_int_equal(glock_codec_decode(s->msgs[0], s->lens[0], 1, capture_fn, cap, NULL), 0);
	assert_true(cap->n > 2);
	assert_int_equal(cap->c[0].in.kind, GLOCK_IN_SNAPSHOT_BEGIN);
	assert_int_equal(cap->c[0].in.u.snapshot_begin.n_departed, 1);
	assert_int_equal(cap->c[0].in.u.snapshot_begin.departed[0].node, 3);
	assert_true(cap->c[0].in.u.snapshot_begin.departed[0].fenced);
	for (i = 1; i + 1 < cap->n; i++) {
		const struct glock_record *r = cap->c[i].in.u.snapshot_record.record;
		size_t j;

		assert_int_equal(cap->c[i].in.kind, GLOCK_IN_SNAPSHOT_RECORD);
		expired |= r->n_expired > 0;
		waiters |= r->n_waiters > 0;
		lvb |= r->lvb[0] == 0x42;
		for (j = 0; j < r->n_holders; j++)
			demote_sent |= r->holders[j].demote_sent;
		for (j = 0; j < r->n_expired; j++)
			fenced |= r->expired[j].fenced;
	}
	assert_int_equal(cap->c[cap->n - 1].in.kind, GLOCK_IN_SNAPSHOT_END);
	assert_int_equal(cap->c[cap->n - 1].in.u.snapshot_end.n_records, cap->n - 2);
	assert_true(expired && waiters && demote_sent && lvb && fenced);
	free(cap);
}

/*
 * Problem scenario: nodes 1, 2, 3 share a table with grants, a queue, a
 * pending demote and an LVB; 3 dies holding grants and is fenced, 4 joins.  Node 1 is
 * the donor: its snapshot, cut into small messages, must rebuild exactly
 * its table on node 4.
 */
static void test_snapshot_rebuilds_identical_table(void **state)
{
	static const uint32_t three[] = { 1, 2, 3 }, after[] = { 1, 2, 4 };
	static const bool none[] = { false, false, false }, joiner[] = { true, true, false };
	struct glock_engine_config cfg;
	struct glock_engine *a, *b;
	struct glock_input in;
	struct apply_ctx ac;
	struct sink s, sa, sb;
	size_t i, limit;
	uint64_t n;

	(void)state;
	glock_engine_config_defaults(&cfg, 1);
	a = glock_engine_new(&cfg, ignore_output, NULL);
	assert_non_null(a);
	sync_up(a, three, 3, none);
	assert_true(glock_engine_synced(a));
	for (n = 1; n <= 20; n++)
		op_ok(a, GLOCK_OP_LOCK, 1 + (uint32_t)(n % 3), n, n, GLOCK_MODE_SH);
	op_ok(a, GLOCK_OP_LOCK, 2, 100, 3, GLOCK_MODE_EX);      /* waits, demotes 1's SH */
	op_ok(a, GLOCK_OP_LOCK, 3, 101, 200, GLOCK_MODE_EX);
	in = make_op(GLOCK_OP_CONVERT, 3, 102, "fs", 200, GLOCK_MODE_SH, 0);
	in.u.op.lvb_valid = true;
	memset(in.u.op.lvb, 0x42, GLOCK_LVB_LEN);
	apply_ok(a, &in);                                      /* LVB written */
	op_ok(a, GLOCK_OP_LOCK, 2, 103, 200, GLOCK_MODE_EX);    /* waits on 3's SH */
	confchg(a, after, 3);                                  /* 3 departs, 4 joins */
	in = make_simple(GLOCK_IN_QUORUM, 1, true);
	in.u.quorum.config_id = glock_engine_config_id(a);
	apply_ok(a, &in);
	for (i = 0; i < 3; i++) {
		in = make_simple(GLOCK_IN_HELLO, after[i], joiner[i]);
		in.u.hello.config_id = glock_engine_config_id(a);
		apply_ok(a, &in);
	}
	assert_true(glock_engine_synced(a));
	in = make_simple(GLOCK_IN_FENCED, 3, false);
	apply_ok(a, &in);

	glock_engine_config_defaults(&cfg, 4);
	b = glock_engine_new(&cfg, ignore_output, NULL);
	assert_non_null(b);
	sync_up(b, after, 3, joiner);
	assert_false(glock_engine_synced(b));

	limit = 120;
	memset(&s, 0, sizeof(s));
	s.limit = limit;
	assert_int_equal(glock_codec_encode_snapshot(a, 1, limit, sink_send, &s), 0);
	assert_true(s.n_msgs > 3);
	assert_int_equal(s.over_max, 0);
	ac.eng = b;
	ac.first_error = 0;
	for (i = 0; i < s.n_msgs; i++)
		assert_int_equal(glock_codec_decode(s.msgs[i], s.lens[i], 1, apply_fn, &ac, NULL),
				 0);
	assert_int_equal(ac.first_error, 0);
	assert_true(glock_engine_synced(b));
	assert_int_equal(glock_engine_glock_count(b), glock_engine_glock_count(a));

	snapshot_bytes(a, 1, &sa);
	snapshot_bytes(b, 1, &sb);
	assert_snapshot_has_everything(&sa);
	assert_int_equal(sa.lens[0], sb.lens[0]);
	assert_memory_equal(sa.msgs[0], sb.msgs[0], sa.lens[0]);
	sink_free(&sa);
	sink_free(&sb);
	sink_free(&s);

	/* A limit below any item: every item goes alone, none is lost. */
	memset(&s, 0, sizeof(s));
	s.limit = 1;
	assert_int_equal(glock_codec_encode_snapshot(a, 1, 1, sink_send, &s), 0);
	assert_int_equal(s.n_msgs, glock_engine_glock_count(a) + 2);
	sink_free(&s);

	glock_engine_free(a);
	glock_engine_free(b);
}

static void test_snapshot_of_empty_table_is_begin_and_end(void **state)
{
	struct glock_engine_config cfg;
	struct glock_engine *eng;
	struct capture cap = { 0 };
	struct sink s = { .limit = 4096 };

	(void)state;
	glock_engine_config_defaults(&cfg, 1);
	eng = glock_engine_new(&cfg, ignore_output, NULL);
	assert_non_null(eng);
	assert_int_equal(glock_codec_encode_snapshot(eng, 1, 4096, sink_send, &s), 0);
	assert_int_equal(s.n_msgs, 1);
	assert_int_equal(glock_codec_decode(s.msgs[0], s.lens[0], 1, capture_fn, &cap, NULL), 0);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.c[0].in.kind, GLOCK_IN_SNAPSHOT_BEGIN);
	assert_int_equal(cap.c[0].in.u.snapshot_begin.n_departed, 0);
	assert_int_equal(cap.c[1].in.kind, GLOCK_IN_SNAPSHOT_END);
	assert_int_equal(cap.c[1].in.u.snapshot_end.n_records, 0);
	sink_free(&s);
	glock_engine_free(eng);
}

static void test_snapshot_stops_when_send_fails(void **state)
{
	static const uint32_t one[] = { 1 };
	static const bool none[] = { false };
	struct glock_engine_config cfg;
	struct glock_engine *eng;
	struct sink s = { .limit = 1, .fail_at = 2 };
	uint64_t n;

	(void)state;
	glock_engine_config_defaults(&cfg, 1);
	eng = glock_engine_new(&cfg, ignore_output, NULL);
	assert_non_null(eng);
	sync_up(eng, one, 1, none);
	for (n = 1; n <= 5; n++)
		op_ok(eng, GLOCK_OP_LOCK, 1, n, n, GLOCK_MODE_EX);
	assert_int_equal(glock_codec_encode_snapshot(eng, 1, 1, sink_send, &s), -EPIPE);
	assert_int_equal(s.n_msgs, 1);
	assert_int_equal(glock_codec_encode_snapshot(NULL, 1, 1, sink_send, &s), -EINVAL);
	assert_int_equal(glock_codec_encode_snapshot(eng, 1, 0, sink_send, &s), -EINVAL);
	assert_int_equal(glock_codec_encode_snapshot(eng, 1, 1, NULL, &s), -EINVAL);
	sink_free(&s);
	glock_engine_free(eng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_rejects_bad_arguments),
		cmocka_unit_test(test_encode_refuses_local_inputs),
		cmocka_unit_test(test_encode_refuses_what_decode_would_refuse),
		cmocka_unit_test(test_decode_rejects_bad_arguments),
		cmocka_unit_test(test_op_round_trips_every_kind),
		cmocka_unit_test(test_membership_items_round_trip),
		cmocka_unit_test(test_snapshot_items_round_trip),
		cmocka_unit_test(test_batch_keeps_order),
		cmocka_unit_test(test_decode_stops_when_callback_says_so),
		cmocka_unit_test(test_truncated_message_is_refused_whole),
		cmocka_unit_test(test_random_garbage_never_crashes),
		cmocka_unit_test(test_wrong_major_version_delivers_nothing),
		cmocka_unit_test(test_newer_minor_version_is_accepted),
		cmocka_unit_test(test_envelope_from_another_node_is_refused),
		cmocka_unit_test(test_items_claiming_another_node_are_skipped),
		cmocka_unit_test(test_op_with_bad_fields_is_skipped),
		cmocka_unit_test(test_op_with_wrong_lvb_length_is_skipped),
		cmocka_unit_test(test_op_with_bad_lockspace_is_skipped),
		cmocka_unit_test(test_record_with_bad_fields_is_skipped),
		cmocka_unit_test(test_items_missing_their_fields_are_skipped),
		cmocka_unit_test(test_unknown_item_kind_is_skipped_and_counted),
		cmocka_unit_test(test_every_engine_error_has_its_own_status),
		cmocka_unit_test(test_every_deny_reason_has_its_own_status),
		cmocka_unit_test(test_snapshot_rebuilds_identical_table),
		cmocka_unit_test(test_snapshot_of_empty_table_is_begin_and_end),
		cmocka_unit_test(test_snapshot_stops_when_send_fails),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
