/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of fuzz_wire (tests/fuzz/corpus/) in its chunk
 * format: valid messages from several nodes that walk the engine through
 * grants, queues, demotes, conversions, LVB writes, departures, fencing,
 * recovery and snapshots.  Regenerate with `make fuzz-corpus`; the seeds
 * are committed, so a change of wire format shows up in review.
 *
 * Usage: gen_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "engine.h"

#define TAG_TICK 0xe0
#define TAG_CONFCHG 0xf0

struct seed {
	uint8_t buf[8192];
	size_t len;
};

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s\n", what);
	exit(1);
}

static void chunk(struct seed *s, uint8_t tag, const uint8_t *body, size_t len)
{
	if (len > 0xffff || s->len + 3 + len > sizeof(s->buf))
		die("seed too big");
	s->buf[s->len++] = tag;
	s->buf[s->len++] = (uint8_t)len;
	s->buf[s->len++] = (uint8_t)(len >> 8);
	memcpy(s->buf + s->len, body, len);
	s->len += len;
}

/* One message from node `from` carrying `n` inputs. */
static void msg(struct seed *s, uint32_t from, const struct glock_input *in, size_t n)
{
	uint8_t *buf;
	size_t len;

	if (glock_codec_encode(from, in, n, &buf, &len) < 0)
		die("encode failed");
	chunk(s, (uint8_t)from, buf, len);
	free(buf);
}

static struct glock_input op(enum glock_op_kind kind, uint32_t node, uint64_t req_id,
			     uint64_t number, enum glock_mode mode, uint32_t flags)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_OP;
	in.u.op.kind = kind;
	in.u.op.node = node;
	in.u.op.req_id = req_id;
	strcpy(in.u.op.name.lockspace, "gfs2:fs");
	in.u.op.name.type = 2;
	in.u.op.name.number = number;
	in.u.op.mode = mode;
	in.u.op.flags = flags;
	return in;
}

static void one_op(struct seed *s, enum glock_op_kind kind, uint32_t node, uint64_t req_id,
		   uint64_t number, enum glock_mode mode, uint32_t flags)
{
	struct glock_input in = op(kind, node, req_id, number, mode, flags);

	msg(s, node, &in, 1);
}

static void simple(struct seed *s, uint32_t from, enum glock_input_kind kind, uint32_t node,
		   bool flag)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	if (kind == GLOCK_IN_QUORUM) {
		in.u.quorum.from = node;
		in.u.quorum.quorate = flag;
	} else if (kind == GLOCK_IN_HELLO) {
		in.u.hello.node = node;
		in.u.hello.synced = flag;
	} else {
		in.u.departed.node = node;
	}
	msg(s, from, &in, 1);
}

static void confchg(struct seed *s, uint8_t mask)
{
	chunk(s, TAG_CONFCHG, &mask, 1);
}

static void tick(struct seed *s, uint32_t us)
{
	uint8_t b[4] = { (uint8_t)us, (uint8_t)(us >> 8), (uint8_t)(us >> 16), (uint8_t)(us >> 24) };

	chunk(s, TAG_TICK, b, sizeof(b));
}

static void save(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0)
		die(path);
}

/* Contention: EX vs SH, demotes, a conversion with an LVB write, cancel. */
static void seed_contention(const char *dir)
{
	struct seed s = { .len = 0 };
	struct glock_input in;

	one_op(&s, GLOCK_OP_LOCK, 1, 1, 10, GLOCK_MODE_EX, 0);
	one_op(&s, GLOCK_OP_LOCK, 2, 1, 10, GLOCK_MODE_SH, 0);
	one_op(&s, GLOCK_OP_LOCK, 3, 1, 10, GLOCK_MODE_SH, GLOCK_FLAG_PRIORITY);
	tick(&s, 20000);
	in = op(GLOCK_OP_CONVERT, 1, 2, 10, GLOCK_MODE_SH, 0);
	in.u.op.lvb_valid = true;
	memset(in.u.op.lvb, 0x5a, GLOCK_LVB_LEN);
	msg(&s, 1, &in, 1);
	one_op(&s, GLOCK_OP_LOCK, 2, 2, 11, GLOCK_MODE_EX, GLOCK_FLAG_TRY);
	one_op(&s, GLOCK_OP_LOCK, 3, 2, 11, GLOCK_MODE_EX, GLOCK_FLAG_TRY_1CB);
	one_op(&s, GLOCK_OP_CANCEL, 3, 2, 11, GLOCK_MODE_UN, 0);
	one_op(&s, GLOCK_OP_RELEASE, 2, 0, 10, GLOCK_MODE_UN, 0);
	save(dir, "contention", &s);
}

/* Conversion deadlock: two SH holders both converting to EX. */
static void seed_deadlock(const char *dir)
{
	struct seed s = { .len = 0 };

	one_op(&s, GLOCK_OP_LOCK, 1, 1, 20, GLOCK_MODE_SH, 0);
	one_op(&s, GLOCK_OP_LOCK, 2, 1, 20, GLOCK_MODE_SH, 0);
	one_op(&s, GLOCK_OP_CONVERT, 1, 2, 20, GLOCK_MODE_EX, 0);
	one_op(&s, GLOCK_OP_CONVERT, 2, 2, 20, GLOCK_MODE_EX, 0);
	one_op(&s, GLOCK_OP_LOCK, 3, 1, 20, GLOCK_MODE_DF, 0);
	save(dir, "deadlock", &s);
}

/* Node 3 dies holding grants: fence, NOEXP grant over it, recovery done. */
static void seed_failure(const char *dir)
{
	struct seed s = { .len = 0 };

	one_op(&s, GLOCK_OP_LOCK, 3, 1, 30, GLOCK_MODE_EX, 0);
	one_op(&s, GLOCK_OP_LOCK, 3, 2, 31, GLOCK_MODE_SH, 0);
	one_op(&s, GLOCK_OP_LOCK, 1, 1, 31, GLOCK_MODE_SH, 0);
	confchg(&s, 0x03); /* nodes 1, 2 */
	simple(&s, 1, GLOCK_IN_QUORUM, 1, true);
	simple(&s, 1, GLOCK_IN_HELLO, 1, true);
	simple(&s, 2, GLOCK_IN_HELLO, 2, true);
	one_op(&s, GLOCK_OP_LOCK, 2, 3, 30, GLOCK_MODE_EX, GLOCK_FLAG_NOEXP);
	simple(&s, 1, GLOCK_IN_FENCED, 3, false);
	simple(&s, 1, GLOCK_IN_RECOVERY_DONE, 3, false);
	one_op(&s, GLOCK_OP_LOCK, 1, 2, 30, GLOCK_MODE_EX, 0);
	save(dir, "failure", &s);
}

/* Quorum loss and a rejoin: node 4 joins and node 1 sends it the table. */
static void seed_join(const char *dir)
{
	struct seed s = { .len = 0 };
	struct glock_record rec;
	struct glock_holder_rec holder = { .node = 2, .mode = GLOCK_MODE_EX };
	struct glock_departed_rec departed = { .node = 3, .fenced = true };
	struct glock_input in[3];

	one_op(&s, GLOCK_OP_LOCK, 2, 1, 40, GLOCK_MODE_EX, 0);
	confchg(&s, 0x0f); /* 4 joins */
	simple(&s, 2, GLOCK_IN_QUORUM, 2, true);
	simple(&s, 4 % 5, GLOCK_IN_HELLO, 4, false);
	simple(&s, 1, GLOCK_IN_HELLO, 1, true);
	simple(&s, 2, GLOCK_IN_HELLO, 2, true);
	simple(&s, 3, GLOCK_IN_HELLO, 3, true);

	memset(&rec, 0, sizeof(rec));
	strcpy(rec.name.lockspace, "gfs2:fs");
	rec.name.type = 2;
	rec.name.number = 40;
	rec.n_holders = 1;
	rec.holders = &holder;
	memset(in, 0, sizeof(in));
	in[0].kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in[0].u.snapshot_begin.donor = 1;
	in[0].u.snapshot_begin.n_departed = 1;
	in[0].u.snapshot_begin.departed = &departed;
	in[1].kind = GLOCK_IN_SNAPSHOT_RECORD;
	in[1].u.snapshot_record.donor = 1;
	in[1].u.snapshot_record.record = &rec;
	in[2].kind = GLOCK_IN_SNAPSHOT_END;
	in[2].u.snapshot_end.donor = 1;
	in[2].u.snapshot_end.n_records = 1;
	msg(&s, 1, in, 3);
	simple(&s, 3, GLOCK_IN_QUORUM, 3, false);
	save(dir, "join", &s);
}

/* A batch: many ops from one node in one message, the daemon's usual case. */
static void seed_batch(const char *dir)
{
	struct seed s = { .len = 0 };
	struct glock_input in[24];
	size_t i;

	for (i = 0; i < 12; i++)
		in[i] = op(GLOCK_OP_LOCK, 2, i + 1, i, i % 2 ? GLOCK_MODE_SH : GLOCK_MODE_EX, 0);
	for (i = 12; i < 24; i++)
		in[i] = op(GLOCK_OP_RELEASE, 2, 0, i - 12, GLOCK_MODE_UN, 0);
	msg(&s, 2, in, 24);
	save(dir, "batch", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	seed_contention(argv[1]);
	seed_deadlock(argv[1]);
	seed_failure(argv[1]);
	seed_join(argv[1]);
	seed_batch(argv[1]);
	return 0;
}
