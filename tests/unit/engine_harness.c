// SPDX-License-Identifier: LGPL-2.1-or-later
/* A small cluster of glock engines for the engine unit tests. */
#include "engine_harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- outputs ---- */

static void record_output(void *ctx, const struct glock_output *o)
{
	struct h_node *nd = ctx;
	struct h_out *r;

	assert_true(nd->n_out < H_OUT_MAX);
	r = &nd->out[nd->n_out++];
	memset(r, 0, sizeof(*r));
	r->kind = o->kind;
	if (o->name) {
		r->has_name = true;
		memcpy(&r->name, o->name, sizeof(r->name));
	}
	r->req_id = o->req_id;
	r->mode = o->mode;
	r->reason = o->reason;
	if (o->lvb) {
		r->has_lvb = true;
		memcpy(r->lvb, o->lvb, GLOCK_LVB_LEN);
	}
	r->node = o->node;
	r->startup = o->startup;
	if (o->kind == GLOCK_OUT_GRANT)
		assert_non_null(o->lvb); /* the header promises an LVB on every grant */
}

void h_clear(struct h_cluster *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		c->node[i].n_out = 0;
}

size_t h_out_total(struct h_cluster *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->node[i].n_out;
	return n;
}

size_t h_count(struct h_cluster *c, uint32_t id, enum glock_output_kind kind)
{
	struct h_node *nd = h_node(c, id);
	size_t i, n = 0;

	for (i = 0; i < nd->n_out; i++)
		if (nd->out[i].kind == kind)
			n++;
	return n;
}

const struct h_out *h_find(struct h_cluster *c, uint32_t id, enum glock_output_kind kind,
			   uint64_t req)
{
	struct h_node *nd = h_node(c, id);
	size_t i;

	for (i = 0; i < nd->n_out; i++)
		if (nd->out[i].kind == kind && (req == H_ANY_REQ || nd->out[i].req_id == req))
			return &nd->out[i];
	return NULL;
}

const struct h_out *h_find_glock(struct h_cluster *c, uint32_t id,
				 enum glock_output_kind kind, uint64_t number)
{
	struct h_node *nd = h_node(c, id);
	struct glock_name name = h_name(number);
	size_t i;

	for (i = 0; i < nd->n_out; i++)
		if (nd->out[i].kind == kind && nd->out[i].has_name &&
		    glock_name_compare(&nd->out[i].name, &name) == 0)
			return &nd->out[i];
	return NULL;
}

size_t h_count_glock(struct h_cluster *c, uint32_t id, enum glock_output_kind kind,
		     uint64_t number)
{
	struct h_node *nd = h_node(c, id);
	struct glock_name name = h_name(number);
	size_t i, n = 0;

	for (i = 0; i < nd->n_out; i++)
		if (nd->out[i].kind == kind && nd->out[i].has_name &&
		    glock_name_compare(&nd->out[i].name, &name) == 0)
			n++;
	return n;
}

/* ---- the cluster ---- */

static void config_for(struct glock_engine_config *cfg, uint32_t id, bool hold)
{
	glock_engine_config_defaults(cfg, id);
	if (!hold) {
		cfg->hold_min_us = 0;
		cfg->hold_max_us = 0;
		cfg->hold_incr_us = 0;
		cfg->hold_decr_us = 0;
	}
}

struct h_node *h_add_node(struct h_cluster *c, uint32_t id, bool hold)
{
	struct glock_engine_config cfg;
	struct h_node *nd;

	assert_true(c->n < H_NODES_MAX);
	nd = &c->node[c->n];
	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	nd->active = true;
	config_for(&cfg, id, hold);
	nd->eng = glock_engine_new(&cfg, record_output, nd);
	assert_non_null(nd->eng);
	c->n++;
	return nd;
}

struct h_cluster *h_cluster_new_blank(size_t n, bool hold)
{
	struct h_cluster *c = calloc(1, sizeof(*c));
	size_t i;

	assert_non_null(c);
	for (i = 0; i < n; i++)
		h_add_node(c, (uint32_t)(i + 1), hold);
	return c;
}

struct h_cluster *h_cluster_new(size_t n, bool hold)
{
	struct h_cluster *c = h_cluster_new_blank(n, hold);
	uint32_t members[H_NODES_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		members[i] = (uint32_t)(i + 1);
	assert_int_equal(h_confchg(c, n, members), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(h_hello(c, members[i], false), 0);
	assert_int_equal(h_quorum(c, 1, true), 0);
	for (i = 0; i < n; i++) {
		assert_true(glock_engine_synced(c->node[i].eng));
		assert_true(glock_engine_quorate(c->node[i].eng));
	}
	h_clear(c);
	return c;
}

void h_cluster_free(struct h_cluster *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		glock_engine_free(c->node[i].eng);
	for (i = 0; i < H_NODES_MAX; i++)
		h_buf_free(&c->frozen[i]);
	h_buf_free(&c->scratch[0]);
	h_buf_free(&c->scratch[1]);
	for (i = 0; i < H_OWNED_MAX; i++)
		free(c->owned[i]);
	free(c);
}

struct h_node *h_node(struct h_cluster *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->node[i].id == id)
			return &c->node[i];
	fail_msg("no engine for node %u", id);
	return NULL;
}

struct glock_engine *h_eng(struct h_cluster *c, uint32_t id)
{
	return h_node(c, id)->eng;
}

int h_apply(struct h_cluster *c, const struct glock_input *in)
{
	/* Unsynced engines do not judge ops, FENCED or RECOVERY_DONE. */
	bool judged_by_synced_only = in->kind == GLOCK_IN_OP || in->kind == GLOCK_IN_FENCED ||
				     in->kind == GLOCK_IN_RECOVERY_DONE;
	bool have = false;
	int ret = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct h_node *nd = &c->node[i];
		bool judges;
		int r;

		if (!nd->active)
			continue;
		judges = !judged_by_synced_only || glock_engine_synced(nd->eng);
		r = glock_engine_apply(nd->eng, in);
		if (!judges)
			continue;
		if (!have) {
			ret = r;
			have = true;
		} else if (r != ret) {
			fail_msg("engine of node %u returned %d, an earlier one %d (input kind %d)",
				 nd->id, r, ret, in->kind);
		}
	}
	return ret;
}

int h_apply_to(struct h_cluster *c, uint32_t id, const struct glock_input *in)
{
	return glock_engine_apply(h_eng(c, id), in);
}

/* ---- inputs ---- */

struct glock_name h_name(uint64_t number)
{
	struct glock_name name;

	memset(&name, 0, sizeof(name));
	strcpy(name.lockspace, "fs1");
	name.type = 2;
	name.number = number;
	return name;
}

struct glock_input h_op_in(enum glock_op_kind kind, uint32_t node, uint64_t req,
			   uint64_t number, enum glock_mode mode, uint32_t flags)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_OP;
	in.u.op.kind = kind;
	in.u.op.node = node;
	in.u.op.req_id = req;
	in.u.op.name = h_name(number);
	in.u.op.mode = mode;
	in.u.op.flags = flags;
	return in;
}

int h_lock(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
	   enum glock_mode mode, uint32_t flags)
{
	struct glock_input in = h_op_in(GLOCK_OP_LOCK, node, req, number, mode, flags);

	return h_apply(c, &in);
}

int h_convert(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
	      enum glock_mode mode, uint32_t flags)
{
	struct glock_input in = h_op_in(GLOCK_OP_CONVERT, node, req, number, mode, flags);

	return h_apply(c, &in);
}

int h_convert_lvb(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
		  enum glock_mode mode, const uint8_t *lvb)
{
	struct glock_input in = h_op_in(GLOCK_OP_CONVERT, node, req, number, mode, 0);

	in.u.op.lvb_valid = true;
	memcpy(in.u.op.lvb, lvb, GLOCK_LVB_LEN);
	return h_apply(c, &in);
}

int h_release(struct h_cluster *c, uint32_t node, uint64_t number)
{
	struct glock_input in = h_op_in(GLOCK_OP_RELEASE, node, 0, number, GLOCK_MODE_UN, 0);

	return h_apply(c, &in);
}

int h_release_lvb(struct h_cluster *c, uint32_t node, uint64_t number, const uint8_t *lvb)
{
	struct glock_input in = h_op_in(GLOCK_OP_RELEASE, node, 0, number, GLOCK_MODE_UN, 0);

	in.u.op.lvb_valid = true;
	memcpy(in.u.op.lvb, lvb, GLOCK_LVB_LEN);
	return h_apply(c, &in);
}

int h_cancel(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number)
{
	struct glock_input in = h_op_in(GLOCK_OP_CANCEL, node, req, number, GLOCK_MODE_UN, 0);

	return h_apply(c, &in);
}

struct glock_input h_confchg_in(size_t n, const uint32_t *members)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_CONFCHG;
	in.u.confchg.n_members = n;
	in.u.confchg.members = members;
	return in;
}

int h_confchg(struct h_cluster *c, size_t n, const uint32_t *members)
{
	struct glock_input in = h_confchg_in(n, members);

	return h_apply(c, &in);
}

/* The configuration every active engine is in: what a sender stamps. */
uint64_t h_config_id(const struct h_cluster *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->node[i].active)
			return glock_engine_config_id(c->node[i].eng);
	return 0;
}

int h_quorum(struct h_cluster *c, uint32_t from, bool quorate)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_QUORUM;
	in.u.quorum.from = from;
	in.u.quorum.quorate = quorate;
	in.u.quorum.config_id = h_config_id(c);
	return h_apply(c, &in);
}

int h_hello(struct h_cluster *c, uint32_t node, bool synced)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_HELLO;
	in.u.hello.node = node;
	in.u.hello.synced = synced;
	in.u.hello.config_id = h_config_id(c);
	return h_apply(c, &in);
}

int h_fenced(struct h_cluster *c, uint32_t node)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_FENCED;
	in.u.departed.node = node;
	return h_apply(c, &in);
}

int h_recovery_done(struct h_cluster *c, uint32_t node)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_RECOVERY_DONE;
	in.u.departed.node = node;
	return h_apply(c, &in);
}

int h_tick(struct h_cluster *c, uint64_t now_us)
{
	struct glock_input in;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_TICK;
	in.u.tick.now_us = now_us;
	return h_apply(c, &in);
}

/* ---- the table ---- */

static void rec_copy(struct h_rec *d, const struct glock_record *r)
{
	memset(d, 0, sizeof(*d));
	assert_true(r->n_holders <= GLOCK_NODES_MAX);
	assert_true(r->n_expired <= GLOCK_NODES_MAX);
	assert_true(r->n_waiters <= GLOCK_NODES_MAX);
	d->found = true;
	memcpy(&d->name, &r->name, sizeof(d->name));
	memcpy(d->lvb, r->lvb, GLOCK_LVB_LEN);
	d->n_holders = r->n_holders;
	d->n_expired = r->n_expired;
	d->n_waiters = r->n_waiters;
	if (r->n_holders)
		memcpy(d->holders, r->holders, r->n_holders * sizeof(*r->holders));
	if (r->n_expired)
		memcpy(d->expired, r->expired, r->n_expired * sizeof(*r->expired));
	if (r->n_waiters)
		memcpy(d->waiters, r->waiters, r->n_waiters * sizeof(*r->waiters));
}

static int lookup_cb(void *ctx, const struct glock_record *rec)
{
	rec_copy(ctx, rec);
	return 0;
}

bool h_lookup(struct h_cluster *c, uint32_t id, uint64_t number, struct h_rec *rec)
{
	struct glock_name name = h_name(number);
	int r;

	memset(rec, 0, sizeof(*rec));
	r = glock_engine_lookup(h_eng(c, id), &name, lookup_cb, rec);
	if (r == -ENOENT)
		return false;
	assert_int_equal(r, 0);
	assert_true(rec->found);
	return true;
}

enum glock_mode h_held(struct h_cluster *c, uint32_t id, uint64_t number, uint32_t node)
{
	struct h_rec rec;
	size_t i;

	if (!h_lookup(c, id, number, &rec))
		return GLOCK_MODE_UN;
	for (i = 0; i < rec.n_holders; i++)
		if (rec.holders[i].node == node)
			return rec.holders[i].mode;
	return GLOCK_MODE_UN;
}

int h_waiting(struct h_cluster *c, uint32_t id, uint64_t number, uint32_t node)
{
	struct h_rec rec;
	size_t i;

	if (!h_lookup(c, id, number, &rec))
		return -1;
	for (i = 0; i < rec.n_waiters; i++)
		if (rec.waiters[i].node == node)
			return (int)i;
	return -1;
}

/* ---- serialized state ---- */

static void buf_put(struct h_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_u64(struct h_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	buf_put(b, x, sizeof(x));
}

static void buf_holders(struct h_buf *b, const struct glock_holder_rec *v, size_t n)
{
	size_t i;

	buf_u64(b, n);
	for (i = 0; i < n; i++) {
		buf_u64(b, v[i].node);
		buf_u64(b, (uint64_t)v[i].mode);
		buf_u64(b, v[i].flags);
		buf_u64(b, (uint64_t)v[i].demote_target);
		buf_u64(b, v[i].demote_sent);
		buf_u64(b, v[i].fenced);
	}
}

static int state_cb(void *ctx, const struct glock_record *r)
{
	struct h_buf *b = ctx;
	size_t len = strnlen(r->name.lockspace, GLOCK_LOCKSPACE_MAX), i;

	buf_u64(b, len);
	buf_put(b, r->name.lockspace, len);
	buf_u64(b, r->name.type);
	buf_u64(b, r->name.number);
	buf_put(b, r->lvb, GLOCK_LVB_LEN);
	buf_holders(b, r->holders, r->n_holders);
	buf_holders(b, r->expired, r->n_expired);
	buf_u64(b, r->n_waiters);
	for (i = 0; i < r->n_waiters; i++) {
		buf_u64(b, r->waiters[i].node);
		buf_u64(b, r->waiters[i].req_id);
		buf_u64(b, (uint64_t)r->waiters[i].mode);
		buf_u64(b, r->waiters[i].flags);
		buf_u64(b, r->waiters[i].convert);
	}
	return 0;
}

void h_state(const struct glock_engine *eng, struct h_buf *b)
{
	struct glock_departed_rec dep[4 * GLOCK_NODES_MAX];
	const uint32_t *members;
	size_t n, i;

	b->len = 0;
	buf_u64(b, glock_engine_synced(eng));
	buf_u64(b, glock_engine_quorate(eng));
	n = glock_engine_members(eng, &members);
	buf_u64(b, n);
	for (i = 0; i < n; i++)
		buf_u64(b, members[i]);
	n = glock_engine_departed(eng, dep, 4 * GLOCK_NODES_MAX);
	assert_true(n <= 4 * GLOCK_NODES_MAX);
	buf_u64(b, n);
	for (i = 0; i < n; i++) {
		buf_u64(b, dep[i].node);
		buf_u64(b, dep[i].fenced);
	}
	buf_u64(b, glock_engine_glock_count(eng));
	assert_int_equal(glock_engine_export(eng, state_cb, b), 0);
}

void h_buf_free(struct h_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void h_assert_consistent(struct h_cluster *c)
{
	struct h_buf *first = &c->scratch[0], *other = &c->scratch[1];
	uint32_t first_id = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct h_node *nd = &c->node[i];

		if (!nd->active || !glock_engine_synced(nd->eng))
			continue;
		if (!first_id) {
			h_state(nd->eng, first);
			first_id = nd->id;
			continue;
		}
		h_state(nd->eng, other);
		if (other->len != first->len || memcmp(other->p, first->p, first->len))
			fail_msg("engine of node %u holds another table than node %u's",
				 nd->id, first_id);
	}
	assert_true(first_id != 0); /* somebody must be synced to compare */
}

void h_freeze(struct h_cluster *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		h_state(c->node[i].eng, &c->frozen[i]);
}

void h_assert_unchanged(struct h_cluster *c)
{
	struct h_buf *now = &c->scratch[0];
	size_t i;

	for (i = 0; i < c->n; i++) {
		h_state(c->node[i].eng, now);
		if (now->len != c->frozen[i].len || memcmp(now->p, c->frozen[i].p, now->len))
			fail_msg("engine of node %u changed its state", c->node[i].id);
	}
}

/* ---- snapshots ---- */

static int snapshot_cb(void *ctx, const struct glock_record *r)
{
	struct h_snapshot *s = ctx;

	s->records = realloc(s->records, (s->n_records + 1) * sizeof(*s->records));
	assert_non_null(s->records);
	rec_copy(&s->records[s->n_records++], r);
	return 0;
}

void h_snapshot_take(struct h_cluster *c, uint32_t donor, struct h_snapshot *s)
{
	struct glock_engine *eng = h_eng(c, donor);
	size_t i;

	memset(s, 0, sizeof(*s));
	s->donor = donor;
	s->n_departed = glock_engine_departed(eng, s->departed, 4 * GLOCK_NODES_MAX);
	assert_true(s->n_departed <= 4 * GLOCK_NODES_MAX);
	assert_int_equal(glock_engine_export(eng, snapshot_cb, s), 0);
	for (i = 0; i < H_OWNED_MAX && c->owned[i]; i++)
		;
	assert_true(i < H_OWNED_MAX);
	c->owned[i] = s->records;
}

struct glock_record h_record_of(const struct h_rec *r)
{
	struct glock_record rec;

	memset(&rec, 0, sizeof(rec));
	memcpy(&rec.name, &r->name, sizeof(rec.name));
	memcpy(rec.lvb, r->lvb, GLOCK_LVB_LEN);
	rec.n_holders = r->n_holders;
	rec.holders = r->holders;
	rec.n_expired = r->n_expired;
	rec.expired = r->expired;
	rec.n_waiters = r->n_waiters;
	rec.waiters = r->waiters;
	return rec;
}

int h_snapshot_feed(struct h_cluster *c, const struct h_snapshot *s, int64_t end_adjust)
{
	struct glock_input in;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in.u.snapshot_begin.donor = s->donor;
	in.u.snapshot_begin.n_departed = s->n_departed;
	in.u.snapshot_begin.departed = s->departed;
	assert_int_equal(h_apply(c, &in), 0);
	for (i = 0; i < s->n_records; i++) {
		struct glock_record rec = h_record_of(&s->records[i]);

		memset(&in, 0, sizeof(in));
		in.kind = GLOCK_IN_SNAPSHOT_RECORD;
		in.u.snapshot_record.donor = s->donor;
		in.u.snapshot_record.record = &rec;
		assert_int_equal(h_apply(c, &in), 0);
	}
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_END;
	in.u.snapshot_end.donor = s->donor;
	in.u.snapshot_end.n_records = (uint64_t)((int64_t)s->n_records + end_adjust);
	return h_apply(c, &in);
}

void h_snapshot_free(struct h_cluster *c, struct h_snapshot *s)
{
	size_t i;

	for (i = 0; i < H_OWNED_MAX; i++)
		if (c->owned[i] == s->records && s->records)
			c->owned[i] = NULL;
	free(s->records);
	memset(s, 0, sizeof(*s));
}
