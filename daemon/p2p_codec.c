// SPDX-License-Identifier: GPL-2.0-or-later
/* The p2p lock path's messages on the wire: see p2p_codec.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "glock_wire.pb-c.h"
#include "p2p_codec.h"

static bool lockspace_ok(const uint8_t *data, size_t len)
{
	return len > 0 && len < GLOCK_LOCKSPACE_MAX && !memchr(data, 0, len);
}

static bool mode_ok(int m)
{
	return m >= GLOCK_MODE_UN && m <= GLOCK_MODE_EX;
}

/* An EPOCH names no file: its name goes on the wire empty. */
static bool name_needed(enum glock_p2p_msg_kind kind)
{
	return kind != GLOCK_P2P_PLOCK_EPOCH;
}

bool glock_p2p_codec_encodable(const struct glock_p2p_msg *m)
{
	return m->kind >= GLOCK_P2P_LOCK && m->kind <= GLOCK_P2P_KIND_MAX && mode_ok(m->mode) &&
	       (!name_needed(m->kind) ||
		lockspace_ok((const uint8_t *)m->name.lockspace,
			     strnlen(m->name.lockspace, GLOCK_LOCKSPACE_MAX))) &&
	       (!m->pending.valid || mode_ok(m->pending.mode)) &&
	       (!m->plock_valid || m->plock.type == GLOCK_PLOCK_RD ||
		m->plock.type == GLOCK_PLOCK_WR);
}

/* Storage for one message's sub-messages while it is packed. */
struct msg_store {
	Glockwire__P2pMsg msg;
	Glockwire__Name name;
	Glockwire__P2pPending pending;
	Glockwire__P2pDown down;
	Glockwire__P2pPlock plock;
};

static void msg_to_wire(const struct glock_p2p_msg *m, struct msg_store *s)
{
	glockwire__p2p_msg__init(&s->msg);
	glockwire__name__init(&s->name);
	s->name.has_lockspace = true;
	s->name.lockspace.len = strnlen(m->name.lockspace, GLOCK_LOCKSPACE_MAX);
	s->name.lockspace.data = (uint8_t *)m->name.lockspace;
	s->name.has_type = true;
	s->name.type = m->name.type;
	s->name.has_number = true;
	s->name.number = m->name.number;
	s->msg.has_kind = true;
	s->msg.kind = (Glockwire__P2pKind)m->kind;
	s->msg.name = &s->name;
	s->msg.has_config_id = true;
	s->msg.config_id = m->config_id;
	s->msg.has_gen = true;
	s->msg.gen = m->gen;
	s->msg.has_req_id = true;
	s->msg.req_id = m->req_id;
	s->msg.has_mode = true;
	s->msg.mode = (Glockwire__Mode)m->mode;
	s->msg.has_flags = m->flags != 0;
	s->msg.flags = m->flags;
	s->msg.has_reason = m->reason != 0;
	s->msg.reason = m->reason;
	if (m->lvb_valid || m->kind == GLOCK_P2P_REPORT) {
		s->msg.has_lvb = true;
		s->msg.lvb.len = GLOCK_LVB_LEN;
		s->msg.lvb.data = (uint8_t *)m->lvb;
	}
	s->msg.has_lvb_seq = true;
	s->msg.lvb_seq = m->lvb_seq;
	s->msg.has_lvb_invalid = m->lvb_invalid;
	s->msg.lvb_invalid = m->lvb_invalid;
	if (m->pending.valid) {
		glockwire__p2p_pending__init(&s->pending);
		s->pending.has_kind = true;
		s->pending.kind = (Glockwire__OpKind)m->pending.kind;
		s->pending.has_req_id = true;
		s->pending.req_id = m->pending.req_id;
		s->pending.has_mode = true;
		s->pending.mode = (Glockwire__Mode)m->pending.mode;
		s->pending.has_flags = true;
		s->pending.flags = m->pending.flags;
		s->pending.has_cancel = true;
		s->pending.cancel = m->pending.cancel;
		s->msg.pending = &s->pending;
	}
	if (m->down.valid) {
		glockwire__p2p_down__init(&s->down);
		s->down.has_req_id = true;
		s->down.req_id = m->down.req_id;
		if (m->down.lvb_valid) {
			s->down.has_lvb = true;
			s->down.lvb.len = GLOCK_LVB_LEN;
			s->down.lvb.data = (uint8_t *)m->down.lvb;
		}
		s->down.has_lvb_base = true;
		s->down.lvb_base = m->down.lvb_base;
		s->msg.down = &s->down;
	}
	if (m->plock_valid) {
		glockwire__p2p_plock__init(&s->plock);
		s->plock.has_owner_node = s->plock.has_owner_id = s->plock.has_pid = true;
		s->plock.owner_node = m->plock.owner.node;
		s->plock.owner_id = m->plock.owner.id;
		s->plock.pid = m->plock.owner.pid;
		s->plock.has_ofd = m->plock.owner.ofd;
		s->plock.ofd = m->plock.owner.ofd;
		s->plock.has_type = s->plock.has_start = s->plock.has_end = true;
		s->plock.type = m->plock.type;
		s->plock.start = m->plock.start;
		s->plock.end = m->plock.end;
		s->msg.plock = &s->plock;
	}
	s->msg.has_status = m->status != 0;
	s->msg.status = m->status;
}

int glock_p2p_msg_from_wire(const Glockwire__P2pMsg *w, struct glock_p2p_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (!w || !w->has_kind || w->kind < GLOCKWIRE__P2P_KIND__P2P_LOCK ||
	    w->kind > (int)GLOCK_P2P_KIND_MAX || !w->name)
		return -EBADMSG;
	if (name_needed((enum glock_p2p_msg_kind)w->kind) &&
	    (!w->name->has_lockspace ||
	     !lockspace_ok(w->name->lockspace.data, w->name->lockspace.len)))
		return -EBADMSG;
	if (w->name->has_lockspace && w->name->lockspace.len &&
	    !lockspace_ok(w->name->lockspace.data, w->name->lockspace.len))
		return -EBADMSG;
	if (w->has_mode && !mode_ok(w->mode))
		return -EBADMSG;
	if (w->has_lvb && w->lvb.len != GLOCK_LVB_LEN)
		return -EBADMSG;
	m->kind = (enum glock_p2p_msg_kind)w->kind;
	if (w->name->has_lockspace && w->name->lockspace.len) /* an EPOCH's is empty */
		memcpy(m->name.lockspace, w->name->lockspace.data, w->name->lockspace.len);
	m->name.type = w->name->type;
	m->name.number = w->name->number;
	m->config_id = w->config_id;
	m->gen = w->gen;
	m->req_id = w->req_id;
	m->mode = (enum glock_mode)w->mode;
	m->flags = w->flags;
	m->reason = (enum glock_deny_reason)w->reason;
	if (w->has_lvb) {
		m->lvb_valid = m->kind != GLOCK_P2P_REPORT;
		memcpy(m->lvb, w->lvb.data, GLOCK_LVB_LEN);
	}
	m->lvb_seq = w->lvb_seq;
	m->lvb_invalid = w->has_lvb_invalid && w->lvb_invalid;
	if (w->pending) {
		if (!w->pending->has_kind || !w->pending->has_req_id || !w->pending->has_mode ||
		    !mode_ok(w->pending->mode))
			return -EBADMSG;
		m->pending.valid = true;
		m->pending.kind = (enum glock_op_kind)w->pending->kind;
		m->pending.req_id = w->pending->req_id;
		m->pending.mode = (enum glock_mode)w->pending->mode;
		m->pending.flags = w->pending->flags;
		m->pending.cancel = w->pending->has_cancel && w->pending->cancel;
	}
	if (w->down) {
		if (!w->down->has_req_id || (w->down->has_lvb && w->down->lvb.len != GLOCK_LVB_LEN))
			return -EBADMSG;
		m->down.valid = true;
		m->down.req_id = w->down->req_id;
		if (w->down->has_lvb) {
			m->down.lvb_valid = true;
			memcpy(m->down.lvb, w->down->lvb.data, GLOCK_LVB_LEN);
		}
		m->down.lvb_base = w->down->lvb_base;
	}
	if (w->plock) {
		const Glockwire__P2pPlock *pl = w->plock;

		if (!pl->has_owner_node || !pl->has_owner_id || !pl->has_type || !pl->has_start ||
		    !pl->has_end || (pl->type != GLOCK_PLOCK_RD && pl->type != GLOCK_PLOCK_WR))
			return -EBADMSG;
		m->plock_valid = true;
		m->plock.owner.node = pl->owner_node;
		m->plock.owner.id = pl->owner_id;
		m->plock.owner.pid = pl->pid;
		m->plock.owner.ofd = pl->has_ofd && pl->ofd;
		m->plock.type = (enum glock_plock_type)pl->type;
		m->plock.start = pl->start;
		m->plock.end = pl->end;
	}
	m->status = w->status;
	return 0;
}

int glock_p2p_codec_encode_link(uint32_t sender, const struct glock_p2p_msg *msgs, size_t n,
				uint8_t **ret_buf, size_t *ret_len)
{
	Glockwire__LinkMessage lm = GLOCKWIRE__LINK_MESSAGE__INIT;
	struct msg_store *st;
	Glockwire__P2pMsg **v;
	uint8_t *buf;
	size_t i, len;

	if (!n || !msgs)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!glock_p2p_codec_encodable(&msgs[i]))
			return -EINVAL;
	st = calloc(n, sizeof(*st));
	v = calloc(n, sizeof(*v));
	if (!st || !v) {
		free(st);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		msg_to_wire(&msgs[i], &st[i]);
		v[i] = &st[i].msg;
	}
	lm.has_version_major = lm.has_version_minor = lm.has_sender = true;
	lm.version_major = GLOCK_WIRE_VERSION_MAJOR;
	lm.version_minor = GLOCK_WIRE_VERSION_MINOR;
	lm.sender = sender;
	lm.n_msgs = n;
	lm.msgs = v;
	len = glockwire__link_message__get_packed_size(&lm);
	buf = malloc(len ? len : 1);
	if (buf)
		glockwire__link_message__pack(&lm, buf);
	free(st);
	free(v);
	if (!buf)
		return -ENOMEM;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int glock_p2p_codec_decode_link(const uint8_t *buf, size_t len, uint32_t peer,
				glock_p2p_msg_fn fn, void *ctx, uint64_t *bad)
{
	Glockwire__LinkMessage *lm = glockwire__link_message__unpack(NULL, len, buf);
	struct glock_p2p_msg m;
	size_t i;
	int r = 0;

	if (!lm)
		return -EBADMSG;
	if (!lm->has_version_major || lm->version_major != GLOCK_WIRE_VERSION_MAJOR) {
		r = -EPROTONOSUPPORT;
	} else if (!lm->has_sender || lm->sender != peer) {
		r = -EBADMSG;
	} else {
		for (i = 0; i < lm->n_msgs && !r; i++) {
			if (glock_p2p_msg_from_wire(lm->msgs[i], &m)) {
				if (bad)
					(*bad)++;
				continue;
			}
			r = fn(ctx, &m);
		}
	}
	glockwire__link_message__free_unpacked(lm, NULL);
	return r;
}

int glock_p2p_codec_encode_reports(uint32_t sender, const uint32_t *to,
				   const struct glock_p2p_msg *msgs, size_t n, uint8_t **ret_buf,
				   size_t *ret_len)
{
	Glockwire__GlockMessage gm = GLOCKWIRE__GLOCK_MESSAGE__INIT;
	Glockwire__GlockItem *item = calloc(n ? n : 1, sizeof(*item));
	Glockwire__GlockItem **items = calloc(n ? n : 1, sizeof(*items));
	Glockwire__P2pReport *rep = calloc(n ? n : 1, sizeof(*rep));
	struct msg_store *st = calloc(n ? n : 1, sizeof(*st));
	uint8_t *buf = NULL;
	size_t len = 0, i;
	int r = -ENOMEM;

	if (!item || !items || !rep || !st)
		goto out;
	r = -EINVAL;
	if (!n)
		goto out;
	for (i = 0; i < n; i++) {
		if (!glock_p2p_codec_encodable(&msgs[i]) || !glock_p2p_kind_multicast(msgs[i].kind))
			goto out;
		msg_to_wire(&msgs[i], &st[i]);
		glockwire__p2p_report__init(&rep[i]);
		rep[i].has_from = rep[i].has_to = true;
		rep[i].from = sender;
		rep[i].to = to[i];
		rep[i].msg = &st[i].msg;
		glockwire__glock_item__init(&item[i]);
		item[i].item_case = GLOCKWIRE__GLOCK_ITEM__ITEM_P2P_REPORT;
		item[i].p2p_report = &rep[i];
		items[i] = &item[i];
	}
	gm.has_version_major = gm.has_version_minor = gm.has_sender = true;
	gm.version_major = GLOCK_WIRE_VERSION_MAJOR;
	gm.version_minor = GLOCK_WIRE_VERSION_MINOR;
	gm.sender = sender;
	gm.n_items = n;
	gm.items = items;
	len = glockwire__glock_message__get_packed_size(&gm);
	r = -ENOMEM;
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	glockwire__glock_message__pack(&gm, buf);
	*ret_buf = buf;
	*ret_len = len;
	r = 0;
out:
	free(item);
	free(items);
	free(rep);
	free(st);
	return r;
}
