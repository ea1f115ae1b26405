/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The p2p lock path's wire: link payloads and CPG REPORT items round trip
 * every field, keep order, and refuse what a peer could forge or mangle
 * (wrong sender, other major version, bad modes, short LVBs, truncation).
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
#include "glock_wire.pb-c.h"
#include "p2p_codec.h"

#define MAX_GOT 8

struct got {
	size_t n;
	struct glock_p2p_msg m[MAX_GOT];
	uint32_t from[MAX_GOT], to[MAX_GOT];
};

static int got_msg(void *ctx, const struct glock_p2p_msg *m)
{
	struct got *g = ctx;

	assert_true(g->n < MAX_GOT);
	g->m[g->n++] = *m;
	return 0;
}

static int got_report(void *ctx, uint32_t from, uint32_t to, const struct glock_p2p_msg *m)
{
	struct got *g = ctx;

	assert_true(g->n < MAX_GOT);
	g->from[g->n] = from;
	g->to[g->n] = to;
	g->m[g->n++] = *m;
	return 0;
}

static int no_input(void *ctx, const struct glock_input *in)
{
	(void)ctx;
	(void)in;
	fail_msg("a REPORT item was delivered as an engine input");
	return 0;
}

static struct glock_p2p_msg msg_of(enum glock_p2p_msg_kind kind, uint64_t number)
{
	struct glock_p2p_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	strcpy(m.name.lockspace, "fs1");
	m.name.type = 2;
	m.name.number = number;
	m.config_id = 0x1122334455667788ull;
	m.gen = 7;
	m.req_id = 1000 + number;
	m.mode = GLOCK_MODE_EX;
	return m;
}

static void assert_msg_equal(const struct glock_p2p_msg *a, const struct glock_p2p_msg *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->name.lockspace, b->name.lockspace);
	assert_int_equal(a->name.type, b->name.type);
	assert_int_equal(a->name.number, b->name.number);
	assert_int_equal(a->config_id, b->config_id);
	assert_int_equal(a->gen, b->gen);
	assert_int_equal(a->req_id, b->req_id);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->lvb_valid, b->lvb_valid);
	if (a->lvb_valid || a->kind == GLOCK_P2P_REPORT)
		assert_memory_equal(a->lvb, b->lvb, GLOCK_LVB_LEN);
	assert_int_equal(a->lvb_seq, b->lvb_seq);
	assert_int_equal(a->lvb_invalid, b->lvb_invalid);
	assert_int_equal(a->pending.valid, b->pending.valid);
	if (a->pending.valid) {
		assert_int_equal(a->pending.kind, b->pending.kind);
		assert_int_equal(a->pending.req_id, b->pending.req_id);
		assert_int_equal(a->pending.mode, b->pending.mode);
		assert_int_equal(a->pending.flags, b->pending.flags);
		assert_int_equal(a->pending.cancel, b->pending.cancel);
	}
	assert_int_equal(a->down.valid, b->down.valid);
	if (a->down.valid) {
		assert_int_equal(a->down.req_id, b->down.req_id);
		assert_int_equal(a->down.lvb_valid, b->down.lvb_valid);
		if (a->down.lvb_valid)
			assert_memory_equal(a->down.lvb, b->down.lvb, GLOCK_LVB_LEN);
		assert_int_equal(a->down.lvb_base, b->down.lvb_base);
	}
	assert_int_equal(a->plock_valid, b->plock_valid);
	if (a->plock_valid) {
		assert_int_equal(a->plock.owner.node, b->plock.owner.node);
		assert_int_equal(a->plock.owner.id, b->plock.owner.id);
		assert_int_equal(a->plock.owner.pid, b->plock.owner.pid);
		assert_int_equal(a->plock.owner.ofd, b->plock.owner.ofd);
		assert_int_equal(a->plock.type, b->plock.type);
		assert_int_equal(a->plock.start, b->plock.start);
		assert_int_equal(a->plock.end, b->plock.end);
	}
	assert_int_equal(a->status, b->status);
}

/* Every kind, with every optional part, in one payload, in order. */
static void test_link_round_trip_keeps_every_field_and_order(void **state)
{
	struct glock_p2p_msg v[4];
	struct got g = { 0 };
	uint64_t bad = 0;
	uint8_t *buf;
	size_t len, i;

	(void)state;
	v[0] = msg_of(GLOCK_P2P_LOCK, 1);
	v[0].flags = GLOCK_FLAG_TRY | GLOCK_FLAG_NOEXP;
	v[1] = msg_of(GLOCK_P2P_GRANT, 2);
	v[1].lvb_valid = true;
	memset(v[1].lvb, 0xa5, GLOCK_LVB_LEN);
	v[1].lvb_seq = 99;
	v[1].lvb_invalid = true;
	v[2] = msg_of(GLOCK_P2P_REPORT, 3);
	v[2].mode = GLOCK_MODE_SH;
	memset(v[2].lvb, 0x3c, GLOCK_LVB_LEN);
	v[2].pending = (struct glock_p2p_pending){ .valid = true, .kind = GLOCK_OP_CONVERT,
						   .req_id = 77, .mode = GLOCK_MODE_EX,
						   .flags = GLOCK_FLAG_PRIORITY, .cancel = true };
	v[2].down = (struct glock_p2p_down){ .valid = true, .req_id = 76, .lvb_valid = true,
					     .lvb_base = 12 };
	memset(v[2].down.lvb, 0x5a, GLOCK_LVB_LEN);
	v[3] = msg_of(GLOCK_P2P_DENY, 4);
	v[3].mode = GLOCK_MODE_UN;
	v[3].reason = GLOCK_DENY_TRYFAIL;

	assert_int_equal(glock_p2p_codec_encode_link(5, v, 4, &buf, &len), 0);
	assert_int_equal(glock_p2p_codec_decode_link(buf, len, 5, got_msg, &g, &bad), 0);
	free(buf);
	assert_int_equal(bad, 0);
	assert_int_equal(g.n, 4);
	for (i = 0; i < 4; i++)
		assert_msg_equal(&v[i], &g.m[i]);
}

/* The authenticated peer must be the payload's sender: no relaying. */
static void test_link_from_another_sender_is_refused(void **state)
{
	struct glock_p2p_msg m = msg_of(GLOCK_P2P_LOCK, 1);
	struct got g = { 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 1, &buf, &len), 0);
	assert_int_equal(glock_p2p_codec_decode_link(buf, len, 6, got_msg, &g, NULL), -EBADMSG);
	free(buf);
	assert_int_equal(g.n, 0);
}

static void test_link_of_another_major_version_is_refused(void **state)
{
	Glockwire__LinkMessage lm = GLOCKWIRE__LINK_MESSAGE__INIT;
	struct got g = { 0 };
	uint8_t buf[64];
	size_t len;

	(void)state;
	lm.has_version_major = lm.has_sender = true;
	lm.version_major = GLOCK_WIRE_VERSION_MAJOR + 1;
	lm.sender = 5;
	len = glockwire__link_message__pack(&lm, buf);
	assert_int_equal(glock_p2p_codec_decode_link(buf, len, 5, got_msg, &g, NULL),
			 -EPROTONOSUPPORT);
	lm.has_version_major = false;
	len = glockwire__link_message__pack(&lm, buf);
	assert_int_equal(glock_p2p_codec_decode_link(buf, len, 5, got_msg, &g, NULL),
			 -EPROTONOSUPPORT);
	assert_int_equal(g.n, 0);
}

/*
 * One bad message among good ones is skipped and counted; its
 * neighbours still arrive, in order.
 */
static void test_bad_messages_are_skipped_and_counted(void **state)
{
	struct glock_p2p_msg good[2] = { msg_of(GLOCK_P2P_LOCK, 1), msg_of(GLOCK_P2P_CANCEL, 2) };
	Glockwire__LinkMessage *lm;
	struct got g = { 0 };
	uint64_t bad = 0;
	uint8_t *buf, *out;
	size_t len, i;
	uint8_t short_lvb[3] = { 1, 2, 3 };

	(void)state;
	assert_int_equal(glock_p2p_codec_encode_link(5, good, 2, &buf, &len), 0);
	lm = glockwire__link_message__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(lm);
	/* Mangle each in turn: mode out of range, short LVB, kind unknown, no name. */
	for (i = 0; i < 4; i++) {
		Glockwire__P2pMsg *w = lm->msgs[0];
		Glockwire__P2pMsg saved = *w;

		if (i == 0)
			w->mode = (Glockwire__Mode)42;
		else if (i == 1) {
			w->has_lvb = true;
			w->lvb.len = sizeof(short_lvb);
			w->lvb.data = short_lvb;
		} else if (i == 2)
			w->kind = (Glockwire__P2pKind)99;
		else
			w->name = NULL;
		out = malloc(glockwire__link_message__get_packed_size(lm));
		assert_non_null(out);
		len = glockwire__link_message__pack(lm, out);
		*w = saved;
		g.n = 0;
		assert_int_equal(glock_p2p_codec_decode_link(out, len, 5, got_msg, &g, &bad), 0);
		free(out);
		assert_int_equal(bad, i + 1);
		assert_int_equal(g.n, 1);
		assert_msg_equal(&good[1], &g.m[0]);
	}
	glockwire__link_message__free_unpacked(lm, NULL);
}

/* Every prefix of a payload, and noise, is an error or skips; never a crash. */
static void test_truncated_and_random_payloads_do_not_crash(void **state)
{
	struct glock_p2p_msg v[2] = { msg_of(GLOCK_P2P_REPORT, 1), msg_of(GLOCK_P2P_GRANT, 2) };
	uint8_t *buf, noise[256];
	size_t len, cut, i;
	uint32_t x = 2463534242u;
	struct got g;

	(void)state;
	v[0].pending = (struct glock_p2p_pending){ .valid = true, .kind = GLOCK_OP_LOCK,
						   .req_id = 3, .mode = GLOCK_MODE_SH };
	assert_int_equal(glock_p2p_codec_encode_link(5, v, 2, &buf, &len), 0);
	for (cut = 0; cut < len; cut++) {
		g.n = 0;
		(void)glock_p2p_codec_decode_link(buf, cut, 5, got_msg, &g, NULL);
		assert_true(g.n <= 2);
	}
	free(buf);
	for (i = 0; i < 2000; i++) {
		size_t k;

		for (k = 0; k < sizeof(noise); k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			noise[k] = (uint8_t)x;
		}
		g.n = 0;
		(void)glock_p2p_codec_decode_link(noise, 1 + x % sizeof(noise), 5, got_msg, &g,
						  NULL);
		assert_true(g.n <= MAX_GOT);
	}
}

static void test_unencodable_messages_are_refused(void **state)
{
	struct glock_p2p_msg m = msg_of(GLOCK_P2P_LOCK, 1);
	uint32_t to = 2;
	uint8_t *buf = NULL;
	size_t len;

	(void)state;
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 0, &buf, &len), -EINVAL);
	m.mode = (enum glock_mode)9;
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 1, &buf, &len), -EINVAL);
	m = msg_of(GLOCK_P2P_LOCK, 1);
	m.name.lockspace[0] = '\0';
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 1, &buf, &len), -EINVAL);
	m = msg_of(GLOCK_P2P_LOCK, 1);
	m.kind = (enum glock_p2p_msg_kind)0;
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 1, &buf, &len), -EINVAL);
	/* Only REPORTs go through CPG. */
	m = msg_of(GLOCK_P2P_GRANT, 1);
	assert_int_equal(glock_p2p_codec_encode_reports(5, &to, &m, 1, &buf, &len), -EINVAL);
	assert_null(buf);
}

/* REPORTs through CPG: each to its master, in order, from the CPG sender. */
static void test_reports_round_trip_through_the_cpg_codec(void **state)
{
	struct glock_p2p_msg v[3] = { msg_of(GLOCK_P2P_REPORT, 1), msg_of(GLOCK_P2P_REPORT, 2),
				      msg_of(GLOCK_P2P_REPORT, 3) };
	uint32_t to[3] = { 1, 2, 4 };
	struct glock_codec_stats st = { 0 };
	struct got g = { 0 };
	uint8_t *buf;
	size_t len, i;

	(void)state;
	v[1].down = (struct glock_p2p_down){ .valid = true, .req_id = 8 };
	v[2].mode = GLOCK_MODE_UN;
	v[2].pending = (struct glock_p2p_pending){ .valid = true, .kind = GLOCK_OP_LOCK,
						   .req_id = 9, .mode = GLOCK_MODE_DF };
	assert_int_equal(glock_p2p_codec_encode_reports(3, to, v, 3, &buf, &len), 0);
	assert_int_equal(glock_codec_decode_ex(buf, len, 3, no_input, got_report, &g, &st), 0);
	assert_int_equal(g.n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(g.from[i], 3);
		assert_int_equal(g.to[i], to[i]);
		assert_msg_equal(&v[i], &g.m[i]);
	}
	/* Another CPG sender cannot speak for node 3. */
	g.n = 0;
	assert_int_equal(glock_codec_decode_ex(buf, len, 4, no_input, got_report, &g, &st),
			 -EBADMSG);
	assert_int_equal(g.n, 0);
	/* The replicated path (no report_fn) skips them as unknown. */
	assert_int_equal(glock_codec_decode_ex(buf, len, 3, no_input, NULL, &g, &st), 0);
	assert_int_equal(g.n, 0);
	/* An item claiming another author is skipped; the rest arrive. */
	{
		Glockwire__GlockMessage *gm = glockwire__glock_message__unpack(NULL, len, buf);
		uint8_t *out;

		assert_non_null(gm);
		assert_int_equal(gm->n_items, 3);
		gm->items[0]->p2p_report->from = 4;
		gm->items[2]->p2p_report->has_to = false;
		out = malloc(glockwire__glock_message__get_packed_size(gm));
		assert_non_null(out);
		len = glockwire__glock_message__pack(gm, out);
		glockwire__glock_message__free_unpacked(gm, NULL);
		assert_int_equal(glock_codec_decode_ex(out, len, 3, no_input, got_report, &g, &st),
				 0);
		free(out);
		assert_int_equal(g.n, 1);
		assert_msg_equal(&v[1], &g.m[0]);
	}
	free(buf);
}

/* POSIX lock kinds: every field, EOF ranges, an EPOCH with no file, and the CPG ones. */
static void test_plock_messages_round_trip(void **state)
{
	struct glock_p2p_msg v[4], r[2];
	struct got g = { 0 };
	struct glock_codec_stats st = { 0 };
	uint32_t to[2] = { 2, 3 };
	uint64_t bad = 0;
	uint8_t *buf;
	size_t len, i;

	(void)state;
	v[0] = msg_of(GLOCK_P2P_PLOCK_LOCK, 1);
	v[0].mode = GLOCK_MODE_UN;
	v[0].flags = GLOCK_P2P_PLOCK_WAIT;
	v[0].plock_valid = true;
	v[0].plock = (struct glock_plock_lock){
		.owner = { .node = 5, .id = 0xffff888012345678ull, .pid = 4242, .ofd = true },
		.type = GLOCK_PLOCK_WR, .start = 100, .end = GLOCK_PLOCK_EOF,
	};
	v[1] = msg_of(GLOCK_P2P_PLOCK_ANSWER, 2);
	v[1].mode = GLOCK_MODE_UN;
	v[1].status = -EDEADLK;
	v[2] = v[0];
	v[2].kind = GLOCK_P2P_PLOCK_ANSWER;
	v[2].flags = 0;
	v[2].plock.owner.ofd = false;
	v[2].plock.type = GLOCK_PLOCK_RD;
	v[2].plock.start = 0;
	v[3] = msg_of(GLOCK_P2P_PLOCK_EPOCH, 0);
	memset(&v[3].name, 0, sizeof(v[3].name));
	v[3].mode = GLOCK_MODE_UN;
	assert_int_equal(glock_p2p_codec_encode_link(5, v, 4, &buf, &len), 0);
	assert_int_equal(glock_p2p_codec_decode_link(buf, len, 5, got_msg, &g, &bad), 0);
	free(buf);
	assert_int_equal(bad, 0);
	assert_int_equal(g.n, 4);
	for (i = 0; i < 4; i++)
		assert_msg_equal(&v[i], &g.m[i]);

	r[0] = v[3];
	r[1] = v[0];
	r[1].kind = GLOCK_P2P_PLOCK_HELD;
	g.n = 0;
	assert_int_equal(glock_p2p_codec_encode_reports(5, to, r, 2, &buf, &len), 0);
	assert_int_equal(glock_codec_decode_ex(buf, len, 5, no_input, got_report, &g, &st), 0);
	free(buf);
	assert_int_equal(g.n, 2);
	for (i = 0; i < 2; i++)
		assert_msg_equal(&r[i], &g.m[i]);
	/* A lock request is not a CPG kind. */
	assert_int_equal(glock_p2p_codec_encode_reports(5, to, v, 1, &buf, &len), -EINVAL);
	/* Nor is a lock of an unknown type encodable; a file-less LOCK is refused. */
	v[0].plock.type = 3;
	assert_int_equal(glock_p2p_codec_encode_link(5, v, 1, &buf, &len), -EINVAL);
	v[0].plock.type = GLOCK_PLOCK_WR;
	memset(&v[0].name, 0, sizeof(v[0].name));
	assert_int_equal(glock_p2p_codec_encode_link(5, v, 1, &buf, &len), -EINVAL);
}

/* A POSIX lock of another type, or without its range, is skipped and counted. */
static void test_bad_plock_fields_are_skipped(void **state)
{
	struct glock_p2p_msg m = msg_of(GLOCK_P2P_PLOCK_GET, 1);
	Glockwire__LinkMessage *lm;
	struct got g = { 0 };
	uint64_t bad = 0;
	uint8_t *buf, *out;
	size_t len;

	(void)state;
	m.plock_valid = true;
	m.plock = (struct glock_plock_lock){
		.owner = { .node = 5, .id = 1 }, .type = GLOCK_PLOCK_RD, .start = 1, .end = 2,
	};
	assert_int_equal(glock_p2p_codec_encode_link(5, &m, 1, &buf, &len), 0);
	lm = glockwire__link_message__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(lm);
	lm->msgs[0]->plock->type = 9;
	out = malloc(glockwire__link_message__get_packed_size(lm));
	assert_non_null(out);
	len = glockwire__link_message__pack(lm, out);
	assert_int_equal(glock_p2p_codec_decode_link(out, len, 5, got_msg, &g, &bad), 0);
	free(out);
	assert_int_equal(bad, 1);
	lm->msgs[0]->plock->type = GLOCK_PLOCK_RD;
	lm->msgs[0]->plock->has_end = false;
	out = malloc(glockwire__link_message__get_packed_size(lm));
	assert_non_null(out);
	len = glockwire__link_message__pack(lm, out);
	assert_int_equal(glock_p2p_codec_decode_link(out, len, 5, got_msg, &g, &bad), 0);
	free(out);
	glockwire__link_message__free_unpacked(lm, NULL);
	assert_int_equal(bad, 2);
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_round_trip_keeps_every_field_and_order),
		cmocka_unit_test(test_link_from_another_sender_is_refused),
		cmocka_unit_test(test_link_of_another_major_version_is_refused),
		cmocka_unit_test(test_bad_messages_are_skipped_and_counted),
		cmocka_unit_test(test_truncated_and_random_payloads_do_not_crash),
		cmocka_unit_test(test_unencodable_messages_are_refused),
		cmocka_unit_test(test_reports_round_trip_through_the_cpg_codec),
		cmocka_unit_test(test_plock_messages_round_trip),
		cmocka_unit_test(test_bad_plock_fields_are_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
