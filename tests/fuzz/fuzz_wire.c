/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: hostile wire messages into a real engine.
 *
 * The input is a sequence of chunks, so one input can play several nodes
 * against each other (gen_corpus.c writes seeds in the same format):
 *
 *   chunk := tag(1) len(2, little endian) body(len)
 *   tag 0x00..0xdf  body is a wire message from CPG node tag % 5
 *                   (1..3 are members, 0 and 4 are not)
 *   tag 0xe0..0xef  TICK: the clock advances by body[0..3] (LE) microseconds
 *   tag 0xf0..0xff  CONFCHG: members are the set bits of body[0] (node 1..8)
 *
 * A short last chunk takes what is left.  Every engine starts as nodes
 * 1, 2, 3 (local node 1), quorate and synced.
 *
 * Besides "never crash, never leak", one property is checked: whatever
 * table the engine ends with, its snapshot encodes, and decodes again
 * without a single item refused.  The codec must carry everything the
 * engine can hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NODES 5
#define TAG_TICK 0xe0
#define TAG_CONFCHG 0xf0

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_wire: property violated: %s\n", what);
		abort();
	}
}

/* Touch everything an output points to, so ASan sees a dangling pointer. */
static void on_output(void *ctx, const struct glock_output *out)
{
	volatile unsigned int sum = 0;
	size_t i;

	(void)ctx;
	if (out->name)
		sum += (unsigned int)strnlen(out->name->lockspace, GLOCK_LOCKSPACE_MAX);
	if (out->kind == GLOCK_OUT_GRANT) {
		check(out->lvb != NULL, "GRANT without an LVB");
		for (i = 0; i < GLOCK_LVB_LEN; i++)
			sum += out->lvb[i];
	}
	(void)sum;
}

static int apply_fn(void *ctx, const struct glock_input *in)
{
	struct glock_input copy = *in;

	/*
	 * config_id 0 stands for "the current configuration", so that inputs
	 * can reach the sync paths without guessing a 64-bit hash.
	 */
	if (copy.kind == GLOCK_IN_HELLO && !copy.u.hello.config_id)
		copy.u.hello.config_id = glock_engine_config_id(ctx);
	if (copy.kind == GLOCK_IN_QUORUM && !copy.u.quorum.config_id)
		copy.u.quorum.config_id = glock_engine_config_id(ctx);
	(void)glock_engine_apply(ctx, &copy); /* rejections are normal here */
	return 0;
}

static struct glock_engine *engine_setup(void)
{
	static const uint32_t members[] = { 1, 2, 3 };
	struct glock_engine_config cfg;
	struct glock_engine *eng;
	struct glock_input in;
	uint32_t i;

	glock_engine_config_defaults(&cfg, 1);
	eng = glock_engine_new(&cfg, on_output, NULL);
	check(eng != NULL, "engine_new");
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_CONFCHG;
	in.u.confchg.n_members = 3;
	in.u.confchg.members = members;
	check(glock_engine_apply(eng, &in) == 0, "setup confchg");
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_QUORUM;
	in.u.quorum.from = 1;
	in.u.quorum.quorate = true;
	in.u.quorum.config_id = glock_engine_config_id(eng);
	check(glock_engine_apply(eng, &in) == 0, "setup quorum");
	for (i = 1; i <= 3; i++) {
		memset(&in, 0, sizeof(in));
		in.kind = GLOCK_IN_HELLO;
		in.u.hello.node = i;
		in.u.hello.config_id = glock_engine_config_id(eng);
		check(glock_engine_apply(eng, &in) == 0, "setup hello");
	}
	check(glock_engine_synced(eng), "setup synced");
	return eng;
}

static void local_confchg(struct glock_engine *eng, const uint8_t *body, size_t len)
{
	uint32_t members[8];
	struct glock_input in;
	size_t n = 0;
	unsigned int bit;

	if (len < 1)
		return;
	for (bit = 0; bit < 8; bit++)
		if (body[0] & (1u << bit))
			members[n++] = bit + 1;
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_CONFCHG;
	in.u.confchg.n_members = n;
	in.u.confchg.members = members;
	(void)glock_engine_apply(eng, &in);
}

static void local_tick(struct glock_engine *eng, uint64_t *now, const uint8_t *body, size_t len)
{
	struct glock_input in;
	uint32_t step = 0;
	size_t i;

	for (i = 0; i < len && i < 4; i++)
		step |= (uint32_t)body[i] << (8 * i);
	*now += step;
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_TICK;
	in.u.tick.now_us = *now;
	(void)glock_engine_apply(eng, &in);
}

static int ignore_input(void *ctx, const struct glock_input *in)
{
	(void)ctx;
	(void)in;
	return 0;
}

/* Every snapshot message must decode whole: no item refused. */
static int snapshot_check(void *ctx, const uint8_t *buf, size_t len)
{
	struct glock_codec_stats stats = { 0 };
	int r;

	(void)ctx;
	r = glock_codec_decode(buf, len, 1, ignore_input, NULL, &stats);
	check(r == 0, "snapshot message decodes");
	check(stats.bad_items == 0, "snapshot items all accepted");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct glock_codec_stats stats = { 0 };
	struct glock_engine *eng = engine_setup();
	uint64_t now = 0;
	size_t pos = 0, len;
	uint8_t tag;

	while (pos < size) {
		tag = data[pos++];
		len = 0;
		if (pos < size)
			len = data[pos++];
		if (pos < size)
			len |= (size_t)data[pos++] << 8;
		if (len > size - pos)
			len = size - pos;
		if (tag >= TAG_CONFCHG)
			local_confchg(eng, data + pos, len);
		else if (tag >= TAG_TICK)
			local_tick(eng, &now, data + pos, len);
		else
			(void)glock_codec_decode(data + pos, len, tag % FUZZ_NODES, apply_fn, eng,
						 &stats);
		pos += len;
	}
	check(glock_codec_encode_snapshot(eng, 1, 512, snapshot_check, NULL) == 0,
	      "snapshot encodes");
	glock_engine_free(eng);
	return 0;
}
