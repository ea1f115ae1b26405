/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Engine inputs <-> proto/glock_wire.proto, and engine errors -> GlockStatus.
 * See codec.h for the contract and docs/DESIGN.md section 4 for the wire.
 *
 * Encoding writes a message as its packed header (version, sender) followed
 * by each item framed as field 4 of GlockMessage.  Protobuf allows a
 * repeated field to arrive in pieces, so this is exactly what packing the
 * whole GlockMessage would give, and it lets the snapshot encoder pack each
 * record the moment the engine hands it over (the record is only valid
 * during the export callback) and cut messages at any item boundary.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "codec.h"
#include "p2p_codec.h"
#include "glock_status.pb-c.h"
#include "glock_wire.pb-c.h"

/* Tag of GlockMessage.items: field 4, wire type 2 (length-delimited). */
#define ITEMS_TAG ((4u << 3) | 2u)
#define VARINT_MAX_LEN 10

/* Grow-only array storage, reused across items and freed once. */
struct scratch {
	void *mem;
	size_t cap; /* bytes */
};

static void *scratch_get(struct scratch *s, size_t n, size_t size)
{
	void *mem;

	if (n == 0)
		n = 1; /* a valid pointer even for an empty array */
	if (n > SIZE_MAX / size)
		return NULL;
	if (n * size <= s->cap)
		return s->mem;
	mem = realloc(s->mem, n * size);
	if (!mem)
		return NULL;
	s->mem = mem;
	s->cap = n * size;
	return mem;
}

static void scratch_free(struct scratch *s)
{
	free(s->mem);
	s->mem = NULL;
	s->cap = 0;
}

/* ---- validation, shared by both directions ---- */

static bool mode_valid(int mode)
{
	return mode >= GLOCK_MODE_UN && mode < GLOCK_MODE_COUNT;
}

static bool flags_valid(uint32_t flags)
{
	return (flags & ~GLOCK_FLAGS_ALL) == 0;
}

static bool op_kind_valid(int kind)
{
	return kind >= GLOCK_OP_LOCK && kind <= GLOCK_OP_CANCEL;
}

/* 1..GLOCK_LOCKSPACE_MAX-1 bytes, no NUL. */
static bool lockspace_valid(const uint8_t *data, size_t len)
{
	return len > 0 && len < GLOCK_LOCKSPACE_MAX && data && !memchr(data, '\0', len);
}

static bool holder_valid(const struct glock_holder_rec *h)
{
	return mode_valid(h->mode) && mode_valid(h->demote_target) && flags_valid(h->flags);
}

static bool waiter_valid(const struct glock_waiter_rec *w)
{
	return mode_valid(w->mode) && flags_valid(w->flags);
}

static bool lvb_is_zero(const uint8_t *lvb)
{
	static const uint8_t zero[GLOCK_LVB_LEN];

	return memcmp(lvb, zero, GLOCK_LVB_LEN) == 0;
}

/* ---- encoding ---- */

struct enc {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t hdr_len;
	size_t n_items;  /* items in the current message */
	size_t max_len;  /* flush before exceeding, unless the message is empty */
	int (*send)(void *ctx, const uint8_t *buf, size_t len);
	void *send_ctx;
	/* Storage for one item's sub-messages while it is packed. */
	struct scratch holders, holder_ptrs, waiters, waiter_ptrs, departed, departed_ptrs;
};

static int enc_reserve(struct enc *e, size_t more)
{
	size_t cap;
	uint8_t *buf;

	if (more > SIZE_MAX - e->len)
		return -ENOMEM;
	if (e->len + more <= e->cap)
		return 0;
	cap = e->cap ? e->cap : 256;
	while (cap < e->len + more)
		cap = cap > SIZE_MAX / 2 ? e->len + more : cap * 2;
	buf = realloc(e->buf, cap);
	if (!buf)
		return -ENOMEM;
	e->buf = buf;
	e->cap = cap;
	return 0;
}

static int enc_init(struct enc *e, uint32_t sender, size_t max_len)
{
	Glockwire__GlockMessage hdr = GLOCKWIRE__GLOCK_MESSAGE__INIT;
	int r;

	memset(e, 0, sizeof(*e));
	e->max_len = max_len;
	hdr.has_version_major = true;
	hdr.version_major = GLOCK_WIRE_VERSION_MAJOR;
	hdr.has_version_minor = true;
	hdr.version_minor = GLOCK_WIRE_VERSION_MINOR;
	hdr.has_sender = true;
	hdr.sender = sender;
	e->hdr_len = glockwire__glock_message__get_packed_size(&hdr);
	r = enc_reserve(e, e->hdr_len);
	if (r < 0)
		return r;
	e->len = glockwire__glock_message__pack(&hdr, e->buf);
	return 0;
}

static void enc_free(struct enc *e)
{
	free(e->buf);
	scratch_free(&e->holders);
	scratch_free(&e->holder_ptrs);
	scratch_free(&e->waiters);
	scratch_free(&e->waiter_ptrs);
	scratch_free(&e->departed);
	scratch_free(&e->departed_ptrs);
}

static size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t varint_put(uint8_t *out, size_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static int enc_flush(struct enc *e)
{
	int r;

	if (e->n_items == 0)
		return 0;
	r = e->send(e->send_ctx, e->buf, e->len);
	e->len = e->hdr_len;
	e->n_items = 0;
	return r;
}

/* Appends one packed item, first sending the current message if it would overflow. */
static int enc_append(struct enc *e, const Glockwire__GlockItem *item)
{
	size_t size = glockwire__glock_item__get_packed_size(item);
	size_t frame = 1 + varint_len(size) + size;
	int r;

	if (e->n_items > 0 && e->len + frame > e->max_len) {
		r = enc_flush(e);
		if (r)
			return r;
	}
	r = enc_reserve(e, 1 + VARINT_MAX_LEN + size);
	if (r < 0)
		return r;
	e->buf[e->len++] = ITEMS_TAG;
	e->len += varint_put(e->buf + e->len, size);
	e->len += glockwire__glock_item__pack(item, e->buf + e->len);
	e->n_items++;
	return 0;
}

/* Everything one item may point to, on the caller's stack. */
struct item_store {
	Glockwire__GlockItem item;
	Glockwire__Name name;
	union {
		Glockwire__Op op;
		Glockwire__Quorum quorum;
		Glockwire__Hello hello;
		Glockwire__Fenced fenced;
		Glockwire__RecoveryDone recovery_done;
		Glockwire__SnapshotBegin snapshot_begin;
		Glockwire__SnapshotRecord snapshot_record;
		Glockwire__SnapshotEnd snapshot_end;
	} u;
};

static int name_to_wire(const struct glock_name *name, Glockwire__Name *w)
{
	size_t len = strnlen(name->lockspace, GLOCK_LOCKSPACE_MAX);

	if (!lockspace_valid((const uint8_t *)name->lockspace, len))
		return -EINVAL;
	glockwire__name__init(w);
	w->has_lockspace = true;
	w->lockspace.len = len;
	w->lockspace.data = (uint8_t *)name->lockspace;
	w->has_type = true;
	w->type = name->type;
	w->has_number = true;
	w->number = name->number;
	return 0;
}

bool glock_codec_op_encodable(const struct glock_op *op)
{
	return op_kind_valid(op->kind) && mode_valid(op->mode) && flags_valid(op->flags) &&
	       lockspace_valid((const uint8_t *)op->name.lockspace,
			       strnlen(op->name.lockspace, GLOCK_LOCKSPACE_MAX));
}

static int op_to_wire(const struct glock_op *op, struct item_store *st)
{
	Glockwire__Op *w = &st->u.op;

	if (!op_kind_valid(op->kind) || !mode_valid(op->mode) || !flags_valid(op->flags))
		return -EINVAL;
	glockwire__op__init(w);
	if (name_to_wire(&op->name, &st->name) < 0)
		return -EINVAL;
	w->has_kind = true;
	w->kind = (Glockwire__OpKind)op->kind;
	w->has_node = true;
	w->node = op->node;
	w->has_req_id = true;
	w->req_id = op->req_id;
	w->name = &st->name;
	w->has_mode = true;
	w->mode = (Glockwire__Mode)op->mode;
	w->has_flags = true;
	w->flags = op->flags;
	if (op->lvb_valid) {
		w->has_lvb = true;
		w->lvb.len = GLOCK_LVB_LEN;
		w->lvb.data = (uint8_t *)op->lvb;
	}
	st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_OP;
	st->item.op = w;
	return 0;
}

static int departed_to_wire(struct enc *e, size_t n, const struct glock_departed_rec *recs,
			    Glockwire__SnapshotBegin *w)
{
	Glockwire__Departed *d = scratch_get(&e->departed, n, sizeof(*d));
	Glockwire__Departed **p = scratch_get(&e->departed_ptrs, n, sizeof(*p));
	size_t i;

	if (!d || !p)
		return -ENOMEM;
	if (n && !recs)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		glockwire__departed__init(&d[i]);
		d[i].has_node = true;
		d[i].node = recs[i].node;
		d[i].has_fenced = true;
		d[i].fenced = recs[i].fenced;
		d[i].has_startup = recs[i].startup;
		d[i].startup = recs[i].startup;
		d[i].has_unknown = recs[i].unknown;
		d[i].unknown = recs[i].unknown;
		p[i] = &d[i];
	}
	w->n_departed = n;
	w->departed = p;
	return 0;
}

/*
 * Holders and expired grants share one array: holders first, then
 * expired, so both can live in the scratch at once.
 */
static int holders_to_wire(struct enc *e, const struct glock_record *rec,
			   Glockwire__SnapshotRecord *w)
{
	size_t n = rec->n_holders + rec->n_expired, i;
	Glockwire__Holder *h;
	Glockwire__Holder **p;

	if (n < rec->n_holders)
		return -EINVAL;
	if ((rec->n_holders && !rec->holders) || (rec->n_expired && !rec->expired))
		return -EINVAL;
	h = scratch_get(&e->holders, n, sizeof(*h));
	p = scratch_get(&e->holder_ptrs, n, sizeof(*p));
	if (!h || !p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct glock_holder_rec *src = i < rec->n_holders ?
			&rec->holders[i] : &rec->expired[i - rec->n_holders];

		if (!holder_valid(src))
			return -EINVAL;
		glockwire__holder__init(&h[i]);
		h[i].has_node = true;
		h[i].node = src->node;
		h[i].has_mode = true;
		h[i].mode = (Glockwire__Mode)src->mode;
		h[i].has_flags = true;
		h[i].flags = src->flags;
		h[i].has_demote_target = true;
		h[i].demote_target = (Glockwire__Mode)src->demote_target;
		h[i].has_demote_sent = true;
		h[i].demote_sent = src->demote_sent;
		h[i].has_fenced = true;
		h[i].fenced = src->fenced;
		p[i] = &h[i];
	}
	w->n_holders = rec->n_holders;
	w->holders = p;
	w->n_expired = rec->n_expired;
	w->expired = p + rec->n_holders;
	return 0;
}

static int waiters_to_wire(struct enc *e, const struct glock_record *rec,
			   Glockwire__SnapshotRecord *w)
{
	size_t n = rec->n_waiters, i;
	Glockwire__Waiter *q = scratch_get(&e->waiters, n, sizeof(*q));
	Glockwire__Waiter **p = scratch_get(&e->waiter_ptrs, n, sizeof(*p));

	if (!q || !p)
		return -ENOMEM;
	if (n && !rec->waiters)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct glock_waiter_rec *src = &rec->waiters[i];

		if (!waiter_valid(src))
			return -EINVAL;
		glockwire__waiter__init(&q[i]);
		q[i].has_node = true;
		q[i].node = src->node;
		q[i].has_req_id = true;
		q[i].req_id = src->req_id;
		q[i].has_mode = true;
		q[i].mode = (Glockwire__Mode)src->mode;
		q[i].has_flags = true;
		q[i].flags = src->flags;
		q[i].has_convert = true;
		q[i].convert = src->convert;
		p[i] = &q[i];
	}
	w->n_waiters = n;
	w->waiters = p;
	return 0;
}

static int record_to_wire(struct enc *e, uint32_t donor, const struct glock_record *rec,
			  struct item_store *st)
{
	Glockwire__SnapshotRecord *w = &st->u.snapshot_record;
	int r;

	if (!rec)
		return -EINVAL;
	glockwire__snapshot_record__init(w);
	w->has_donor = true;
	w->donor = donor;
	r = name_to_wire(&rec->name, &st->name);
	if (r < 0)
		return r;
	w->name = &st->name;
	/* An all-zero LVB (the usual case) is left out; absent means zero. */
	if (!lvb_is_zero(rec->lvb)) {
		w->has_lvb = true;
		w->lvb.len = GLOCK_LVB_LEN;
		w->lvb.data = (uint8_t *)rec->lvb;
	}
	r = holders_to_wire(e, rec, w);
	if (r < 0)
		return r;
	r = waiters_to_wire(e, rec, w);
	if (r < 0)
		return r;
	st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_RECORD;
	st->item.snapshot_record = w;
	return 0;
}

/* Fills st->item from one input.  -EINVAL for local-only or invalid input. */
static int input_to_wire(struct enc *e, const struct glock_input *in, struct item_store *st)
{
	glockwire__glock_item__init(&st->item);
	switch (in->kind) {
	case GLOCK_IN_OP:
		return op_to_wire(&in->u.op, st);
	case GLOCK_IN_QUORUM:
		glockwire__quorum__init(&st->u.quorum);
		st->u.quorum.has_from = true;
		st->u.quorum.from = in->u.quorum.from;
		st->u.quorum.has_quorate = true;
		st->u.quorum.quorate = in->u.quorum.quorate;
		st->u.quorum.has_config_id = true;
		st->u.quorum.config_id = in->u.quorum.config_id;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_QUORUM;
		st->item.quorum = &st->u.quorum;
		return 0;
	case GLOCK_IN_HELLO:
		glockwire__hello__init(&st->u.hello);
		st->u.hello.has_node = true;
		st->u.hello.node = in->u.hello.node;
		st->u.hello.has_synced = true;
		st->u.hello.synced = in->u.hello.synced;
		st->u.hello.has_config_id = true;
		st->u.hello.config_id = in->u.hello.config_id;
		st->u.hello.n_configured = in->u.hello.n_configured;
		st->u.hello.configured = (uint32_t *)in->u.hello.configured;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_HELLO;
		st->item.hello = &st->u.hello;
		return 0;
	case GLOCK_IN_FENCED:
		glockwire__fenced__init(&st->u.fenced);
		st->u.fenced.has_node = true;
		st->u.fenced.node = in->u.departed.node;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_FENCED;
		st->item.fenced = &st->u.fenced;
		return 0;
	case GLOCK_IN_RECOVERY_DONE:
		glockwire__recovery_done__init(&st->u.recovery_done);
		st->u.recovery_done.has_node = true;
		st->u.recovery_done.node = in->u.departed.node;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_RECOVERY_DONE;
		st->item.recovery_done = &st->u.recovery_done;
		return 0;
	case GLOCK_IN_SNAPSHOT_BEGIN: {
		Glockwire__SnapshotBegin *w = &st->u.snapshot_begin;
		int r;

		glockwire__snapshot_begin__init(w);
		w->has_donor = true;
		w->donor = in->u.snapshot_begin.donor;
		r = departed_to_wire(e, in->u.snapshot_begin.n_departed,
				     in->u.snapshot_begin.departed, w);
		if (r < 0)
			return r;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_BEGIN;
		st->item.snapshot_begin = w;
		return 0;
	}
	case GLOCK_IN_SNAPSHOT_RECORD:
		return record_to_wire(e, in->u.snapshot_record.donor,
				      in->u.snapshot_record.record, st);
	case GLOCK_IN_SNAPSHOT_END:
		glockwire__snapshot_end__init(&st->u.snapshot_end);
		st->u.snapshot_end.has_donor = true;
		st->u.snapshot_end.donor = in->u.snapshot_end.donor;
		st->u.snapshot_end.has_n_records = true;
		st->u.snapshot_end.n_records = in->u.snapshot_end.n_records;
		st->item.item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_END;
		st->item.snapshot_end = &st->u.snapshot_end;
		return 0;
	case GLOCK_IN_CONFCHG: /* local: each node learns it from CPG itself */
	case GLOCK_IN_TICK:    /* local: node time is never replicated */
	default:
		return -EINVAL;
	}
}

static int enc_input(struct enc *e, const struct glock_input *in)
{
	struct item_store st;
	int r;

	r = input_to_wire(e, in, &st);
	if (r < 0)
		return r;
	return enc_append(e, &st.item);
}

int glock_codec_encode(uint32_t sender, const struct glock_input *items, size_t n,
		       uint8_t **ret_buf, size_t *ret_len)
{
	struct enc e;
	size_t i;
	int r;

	if (!items || n == 0 || !ret_buf || !ret_len)
		return -EINVAL;
	r = enc_init(&e, sender, SIZE_MAX);
	if (r < 0)
		goto out_free;
	for (i = 0; i < n; i++) {
		r = enc_input(&e, &items[i]);
		if (r < 0)
			goto out_free;
	}
	*ret_buf = e.buf;
	*ret_len = e.len;
	e.buf = NULL;
	r = 0;
out_free:
	enc_free(&e);
	return r;
}

struct snap_ctx {
	struct enc *enc;
	uint32_t donor;
	uint64_t n_records;
};

static int snap_record(void *ctx, const struct glock_record *rec)
{
	struct snap_ctx *sc = ctx;
	struct item_store st;
	int r;

	glockwire__glock_item__init(&st.item);
	r = record_to_wire(sc->enc, sc->donor, rec, &st);
	if (r < 0)
		return r;
	r = enc_append(sc->enc, &st.item);
	if (r)
		return r;
	sc->n_records++;
	return 0;
}

/* All departed nodes: grows the array until the engine's answer fits. */
static int snap_departed(const struct glock_engine *eng, struct glock_departed_rec **ret,
			 size_t *ret_n)
{
	struct glock_departed_rec *recs = NULL, *tmp;
	size_t max = GLOCK_NODES_MAX, n;

	for (;;) {
		tmp = realloc(recs, max * sizeof(*recs));
		if (!tmp) {
			free(recs);
			return -ENOMEM;
		}
		recs = tmp;
		n = glock_engine_departed(eng, recs, max);
		if (n < max)
			break;
		if (max > SIZE_MAX / 2 / sizeof(*recs)) {
			free(recs);
			return -ENOMEM;
		}
		max *= 2;
	}
	*ret = recs;
	*ret_n = n;
	return 0;
}

int glock_codec_encode_snapshot(const struct glock_engine *eng, uint32_t donor,
				size_t max_msg_bytes,
				int (*send_fn)(void *ctx, const uint8_t *buf, size_t len),
				void *ctx)
{
	struct glock_departed_rec *departed = NULL;
	struct glock_input in;
	struct snap_ctx sc;
	struct enc e;
	size_t n_departed;
	int r;

	if (!eng || !send_fn || max_msg_bytes == 0)
		return -EINVAL;
	r = enc_init(&e, donor, max_msg_bytes);
	if (r < 0)
		goto out_free;
	e.send = send_fn;
	e.send_ctx = ctx;

	r = snap_departed(eng, &departed, &n_departed);
	if (r < 0)
		goto out_free;
	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_BEGIN;
	in.u.snapshot_begin.donor = donor;
	in.u.snapshot_begin.n_departed = n_departed;
	in.u.snapshot_begin.departed = departed;
	r = enc_input(&e, &in);
	if (r)
		goto out_free;

	sc.enc = &e;
	sc.donor = donor;
	sc.n_records = 0;
	r = glock_engine_export(eng, snap_record, &sc);
	if (r)
		goto out_free;

	memset(&in, 0, sizeof(in));
	in.kind = GLOCK_IN_SNAPSHOT_END;
	in.u.snapshot_end.donor = donor;
	in.u.snapshot_end.n_records = sc.n_records;
	r = enc_input(&e, &in);
	if (r)
		goto out_free;
	r = enc_flush(&e);
out_free:
	free(departed);
	enc_free(&e);
	return r;
}

/* ---- decoding ---- */

struct dec {
	uint32_t sender;
	struct scratch holders, waiters, departed;
	struct glock_record record;
};

static void dec_free(struct dec *d)
{
	scratch_free(&d->holders);
	scratch_free(&d->waiters);
	scratch_free(&d->departed);
}

/* Item outcomes besides 0 (deliver) and -ENOMEM. */
enum {
	ITEM_BAD = 1,
	ITEM_SPOOFED = 2,
	ITEM_UNKNOWN = 3,
};

static int name_from_wire(const Glockwire__Name *w, struct glock_name *name)
{
	if (!w || !w->has_lockspace || !lockspace_valid(w->lockspace.data, w->lockspace.len))
		return ITEM_BAD;
	memset(name, 0, sizeof(*name));
	memcpy(name->lockspace, w->lockspace.data, w->lockspace.len);
	name->type = w->type;
	name->number = w->number;
	return 0;
}

/* A node id the item claims as its author must be the CPG sender. */
static int author_check(const struct dec *d, protobuf_c_boolean has, uint32_t node)
{
	if (!has)
		return ITEM_BAD;
	return node == d->sender ? 0 : ITEM_SPOOFED;
}

static int op_from_wire(const struct dec *d, const Glockwire__Op *w, struct glock_op *op)
{
	int r;

	if (!w->has_kind || !op_kind_valid(w->kind))
		return ITEM_BAD;
	r = author_check(d, w->has_node, w->node);
	if (r)
		return r;
	if ((w->has_mode && !mode_valid(w->mode)) || !flags_valid(w->flags))
		return ITEM_BAD;
	if (w->has_lvb && w->lvb.len != GLOCK_LVB_LEN)
		return ITEM_BAD;
	memset(op, 0, sizeof(*op));
	r = name_from_wire(w->name, &op->name);
	if (r)
		return r;
	op->kind = (enum glock_op_kind)w->kind;
	op->node = w->node;
	op->req_id = w->req_id;
	op->mode = (enum glock_mode)w->mode;
	op->flags = w->flags;
	if (w->has_lvb) {
		op->lvb_valid = true;
		memcpy(op->lvb, w->lvb.data, GLOCK_LVB_LEN);
	}
	return 0;
}

static int holder_from_wire(const Glockwire__Holder *w, struct glock_holder_rec *h)
{
	if (!w->has_node || !mode_valid(w->mode) || !mode_valid(w->demote_target) ||
	    !flags_valid(w->flags))
		return ITEM_BAD;
	/* A compound literal: any field the wire does not carry is zero. */
	*h = (struct glock_holder_rec){
		.node = w->node,
		.mode = (enum glock_mode)w->mode,
		.flags = w->flags,
		.demote_target = (enum glock_mode)w->demote_target,
		.demote_sent = w->demote_sent,
		.fenced = w->fenced,
	};
	return 0;
}

static int record_from_wire(struct dec *d, const Glockwire__SnapshotRecord *w,
			    struct glock_input *in)
{
	struct glock_record *rec = &d->record;
	struct glock_holder_rec *h;
	struct glock_waiter_rec *q;
	size_t n, i;
	int r;

	r = author_check(d, w->has_donor, w->donor);
	if (r)
		return r;
	if (w->has_lvb && w->lvb.len != GLOCK_LVB_LEN)
		return ITEM_BAD;
	memset(rec, 0, sizeof(*rec));
	r = name_from_wire(w->name, &rec->name);
	if (r)
		return r;
	if (w->has_lvb)
		memcpy(rec->lvb, w->lvb.data, GLOCK_LVB_LEN);

	/* Sizes come from a message that was unpacked, so they cannot overflow. */
	n = w->n_holders + w->n_expired;
	h = scratch_get(&d->holders, n, sizeof(*h));
	q = scratch_get(&d->waiters, w->n_waiters, sizeof(*q));
	if (!h || !q)
		return -ENOMEM;
	for (i = 0; i < w->n_holders; i++) {
		if (holder_from_wire(w->holders[i], &h[i]))
			return ITEM_BAD;
	}
	for (i = 0; i < w->n_expired; i++) {
		if (holder_from_wire(w->expired[i], &h[w->n_holders + i]))
			return ITEM_BAD;
	}
	for (i = 0; i < w->n_waiters; i++) {
		const Glockwire__Waiter *src = w->waiters[i];

		if (!src->has_node || !mode_valid(src->mode) || !flags_valid(src->flags))
			return ITEM_BAD;
		q[i] = (struct glock_waiter_rec){
			.node = src->node,
			.req_id = src->req_id,
			.mode = (enum glock_mode)src->mode,
			.flags = src->flags,
			.convert = src->convert,
		};
	}
	rec->n_holders = w->n_holders;
	rec->holders = h;
	rec->n_expired = w->n_expired;
	rec->expired = h + w->n_holders;
	rec->n_waiters = w->n_waiters;
	rec->waiters = q;
	in->u.snapshot_record.donor = w->donor;
	in->u.snapshot_record.record = rec;
	return 0;
}

static int begin_from_wire(struct dec *d, const Glockwire__SnapshotBegin *w,
			   struct glock_input *in)
{
	struct glock_departed_rec *recs;
	size_t i;
	int r;

	r = author_check(d, w->has_donor, w->donor);
	if (r)
		return r;
	recs = scratch_get(&d->departed, w->n_departed, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < w->n_departed; i++) {
		if (!w->departed[i]->has_node)
			return ITEM_BAD;
		recs[i] = (struct glock_departed_rec){
			.node = w->departed[i]->node,
			.fenced = w->departed[i]->fenced,
			.startup = w->departed[i]->startup,
			.unknown = w->departed[i]->unknown,
		};
	}
	in->u.snapshot_begin.donor = w->donor;
	in->u.snapshot_begin.n_departed = w->n_departed;
	in->u.snapshot_begin.departed = recs;
	return 0;
}

/* Converts one item: 0 (in is filled), ITEM_* (skip it) or -ENOMEM. */
static int item_from_wire(struct dec *d, const Glockwire__GlockItem *w, struct glock_input *in)
{
	int r;

	memset(in, 0, sizeof(*in));
	switch (w->item_case) {
	case GLOCKWIRE__GLOCK_ITEM__ITEM_OP:
		in->kind = GLOCK_IN_OP;
		return op_from_wire(d, w->op, &in->u.op);
	case GLOCKWIRE__GLOCK_ITEM__ITEM_QUORUM:
		in->kind = GLOCK_IN_QUORUM;
		r = author_check(d, w->quorum->has_from, w->quorum->from);
		if (r)
			return r;
		if (!w->quorum->has_quorate)
			return ITEM_BAD;
		in->u.quorum.from = w->quorum->from;
		in->u.quorum.quorate = w->quorum->quorate;
		in->u.quorum.config_id = w->quorum->config_id;
		return 0;
	case GLOCKWIRE__GLOCK_ITEM__ITEM_HELLO:
		in->kind = GLOCK_IN_HELLO;
		r = author_check(d, w->hello->has_node, w->hello->node);
		if (r)
			return r;
		if (!w->hello->has_synced)
			return ITEM_BAD;
		in->u.hello.node = w->hello->node;
		in->u.hello.synced = w->hello->synced;
		in->u.hello.config_id = w->hello->config_id;
		in->u.hello.n_configured = w->hello->n_configured;
		in->u.hello.configured = w->hello->configured;
		return 0;
	case GLOCKWIRE__GLOCK_ITEM__ITEM_FENCED:
		/* About another node: whoever fenced it says so. */
		in->kind = GLOCK_IN_FENCED;
		if (!w->fenced->has_node)
			return ITEM_BAD;
		in->u.departed.node = w->fenced->node;
		return 0;
	case GLOCKWIRE__GLOCK_ITEM__ITEM_RECOVERY_DONE:
		in->kind = GLOCK_IN_RECOVERY_DONE;
		if (!w->recovery_done->has_node)
			return ITEM_BAD;
		in->u.departed.node = w->recovery_done->node;
		return 0;
	case GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_BEGIN:
		in->kind = GLOCK_IN_SNAPSHOT_BEGIN;
		return begin_from_wire(d, w->snapshot_begin, in);
	case GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_RECORD:
		in->kind = GLOCK_IN_SNAPSHOT_RECORD;
		return record_from_wire(d, w->snapshot_record, in);
	case GLOCKWIRE__GLOCK_ITEM__ITEM_SNAPSHOT_END:
		in->kind = GLOCK_IN_SNAPSHOT_END;
		r = author_check(d, w->snapshot_end->has_donor, w->snapshot_end->donor);
		if (r)
			return r;
		if (!w->snapshot_end->has_n_records)
			return ITEM_BAD;
		in->u.snapshot_end.donor = w->snapshot_end->donor;
		in->u.snapshot_end.n_records = w->snapshot_end->n_records;
		return 0;
	case GLOCKWIRE__GLOCK_ITEM__ITEM__NOT_SET:
	default:
		/* A kind added by a newer minor version: unknown fields. */
		return ITEM_UNKNOWN;
	}
}

static void count_skipped(struct glock_codec_stats *stats, int why)
{
	if (!stats)
		return;
	stats->bad_items++;
	if (why == ITEM_SPOOFED)
		stats->spoofed_items++;
	else if (why == ITEM_UNKNOWN)
		stats->unknown_items++;
}

/* A P2pReport: 0 (delivered or skipped), or report_fn's non-zero value. */
static int report_from_wire(const struct dec *d, const Glockwire__GlockItem *w,
			    glock_codec_report_fn report_fn, void *ctx,
			    struct glock_codec_stats *stats)
{
	const Glockwire__P2pReport *rep = w->p2p_report;
	struct glock_p2p_msg m;
	int r;

	if (!report_fn) {
		count_skipped(stats, ITEM_UNKNOWN);
		return 0;
	}
	r = author_check(d, rep->has_from, rep->from);
	if (!r && (!rep->has_to || glock_p2p_msg_from_wire(rep->msg, &m) ||
		   !glock_p2p_kind_multicast(m.kind)))
		r = ITEM_BAD;
	if (r) {
		count_skipped(stats, r);
		return 0;
	}
	if (stats)
		stats->items++;
	return report_fn(ctx, rep->from, rep->to, &m);
}

int glock_codec_decode(const uint8_t *buf, size_t len, uint32_t cpg_sender,
		       glock_codec_input_fn fn, void *ctx, struct glock_codec_stats *stats)
{
	return glock_codec_decode_ex(buf, len, cpg_sender, fn, NULL, ctx, stats);
}

int glock_codec_decode_ex(const uint8_t *buf, size_t len, uint32_t cpg_sender,
			  glock_codec_input_fn fn, glock_codec_report_fn report_fn, void *ctx,
			  struct glock_codec_stats *stats)
{
	Glockwire__GlockMessage *msg;
	struct glock_input in;
	struct dec d;
	size_t i;
	int r;

	if ((!buf && len > 0) || !fn)
		return -EINVAL;
	if (stats)
		stats->messages++;
	msg = glockwire__glock_message__unpack(NULL, len, buf);
	if (!msg) {
		/* protobuf-c does not tell garbage from out of memory. */
		if (stats)
			stats->bad_messages++;
		return -EBADMSG;
	}
	if (!msg->has_version_major || msg->version_major != GLOCK_WIRE_VERSION_MAJOR) {
		if (stats) {
			stats->version_mismatches++;
			stats->last_bad_major = msg->version_major;
		}
		r = -EPROTONOSUPPORT;
		goto out_free_msg;
	}
	if (!msg->has_sender || msg->sender != cpg_sender) {
		if (stats)
			stats->bad_messages++;
		r = -EBADMSG;
		goto out_free_msg;
	}

	memset(&d, 0, sizeof(d));
	d.sender = cpg_sender;
	r = 0;
	for (i = 0; i < msg->n_items && r == 0; i++) {
		if (msg->items[i]->item_case == GLOCKWIRE__GLOCK_ITEM__ITEM_P2P_REPORT) {
			r = report_from_wire(&d, msg->items[i], report_fn, ctx, stats);
			continue;
		}
		r = item_from_wire(&d, msg->items[i], &in);
		if (r > 0) {
			count_skipped(stats, r);
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (stats)
			stats->items++;
		r = fn(ctx, &in);
	}
	dec_free(&d);
out_free_msg:
	glockwire__glock_message__free_unpacked(msg, NULL);
	return r;
}

/* ---- status ---- */

int glock_codec_status_from_errno(int err)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case 0:
		return GLOCK_STATUS__GLOCK_STATUS_OK;
	case -EINVAL:
		return GLOCK_STATUS__GLOCK_STATUS_INVALID;
	case -ESRCH:
		return GLOCK_STATUS__GLOCK_STATUS_UNKNOWN_NODE;
	case -EEXIST:
		return GLOCK_STATUS__GLOCK_STATUS_EXISTS;
	case -ENOENT:
		return GLOCK_STATUS__GLOCK_STATUS_NOT_FOUND;
	case -EBUSY:
		return GLOCK_STATUS__GLOCK_STATUS_BUSY;
	case -EALREADY:
		return GLOCK_STATUS__GLOCK_STATUS_ALREADY;
	case -EPROTO:
		return GLOCK_STATUS__GLOCK_STATUS_PROTOCOL;
	case -ENOMEM:
		return GLOCK_STATUS__GLOCK_STATUS_NO_MEMORY;
	case -EAGAIN:
		return GLOCK_STATUS__GLOCK_STATUS_AGAIN;
	case -ETIMEDOUT:
		return GLOCK_STATUS__GLOCK_STATUS_TIMEDOUT;
	case -ENOTCONN:
		return GLOCK_STATUS__GLOCK_STATUS_NOT_SYNCED;
	case -EPERM:
	case -EACCES:
		return GLOCK_STATUS__GLOCK_STATUS_PERMISSION;
	default:
		return GLOCK_STATUS__GLOCK_STATUS_INTERNAL;
	}
}

int glock_codec_status_from_deny(enum glock_deny_reason reason)
{
	switch (reason) {
	case GLOCK_DENY_TRYFAIL:
		return GLOCK_STATUS__GLOCK_STATUS_TRYFAIL;
	case GLOCK_DENY_CANCELLED:
		return GLOCK_STATUS__GLOCK_STATUS_CANCELLED;
	case GLOCK_DENY_DEADLOCK:
		return GLOCK_STATUS__GLOCK_STATUS_DEADLOCK;
	case GLOCK_DENY_LOST:
		return GLOCK_STATUS__GLOCK_STATUS_LOST;
	default:
		return GLOCK_STATUS__GLOCK_STATUS_INTERNAL;
	}
}

const char *glock_codec_status_name(int status)
{
	static const char prefix[] = "GLOCK_STATUS_";
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(&glock_status__descriptor, status);
	if (!v || strncmp(v->name, prefix, sizeof(prefix) - 1) != 0)
		return "UNRECOGNISED";
	return v->name + sizeof(prefix) - 1;
}
