/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small cluster of glock engines for the engine unit tests.
 *
 * Every engine is driven as glockd drives it: the cluster's inputs go to
 * every active engine in the same order (only the local node differs), and
 * each engine's outputs are recorded for inspection.  Helpers fail the
 * running cmocka test on their own when something is structurally wrong
 * (engines disagree on a return value, an output array overflows).
 */
#ifndef GLOCK_ENGINE_HARNESS_H
#define GLOCK_ENGINE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define H_NODES_MAX 8
#define H_OUT_MAX 256
#define H_ANY_REQ UINT64_MAX

struct h_out {
	enum glock_output_kind kind;
	bool has_name;
	struct glock_name name;
	uint64_t req_id;
	enum glock_mode mode;
	enum glock_deny_reason reason;
	bool has_lvb;
	uint8_t lvb[GLOCK_LVB_LEN];
	uint32_t node;
	bool startup;
};

struct h_node {
	uint32_t id;
	bool active; /* receives the cluster's stream (h_apply) */
	struct glock_engine *eng;
	struct h_out out[H_OUT_MAX];
	size_t n_out;
};

#define H_OWNED_MAX 16

/* A growable byte buffer: the serialized state of one engine. */
struct h_buf {
	uint8_t *p;
	size_t len, cap;
};

/*
 * Buffers live in the cluster, not on the test's stack, so that a failing
 * assertion (cmocka longjmps out of the test) leaks nothing under valgrind.
 */
struct h_cluster {
	size_t n;
	struct h_node node[H_NODES_MAX];
	struct h_buf frozen[H_NODES_MAX];
	struct h_buf scratch[2];
	void *owned[H_OWNED_MAX]; /* snapshot record arrays */
};

/* A deep copy of one glock as export/lookup reports it. */
struct h_rec {
	bool found;
	struct glock_name name;
	uint8_t lvb[GLOCK_LVB_LEN];
	size_t n_holders, n_expired, n_waiters;
	struct glock_holder_rec holders[GLOCK_NODES_MAX];
	struct glock_holder_rec expired[GLOCK_NODES_MAX];
	struct glock_waiter_rec waiters[GLOCK_NODES_MAX];
};

/*
 * Engines for nodes 1..n, all fed CONFCHG{1..n}, HELLO{i, unsynced} for
 * each and QUORUM{1, true}: a fresh, synced, quorate cluster with its
 * outputs cleared.  hold=false gives a zero minimum hold time (demotes at
 * once), hold=true GFS2's defaults.
 */
struct h_cluster *h_cluster_new(size_t n, bool hold);
/* Engines for nodes 1..n that have seen nothing yet. */
struct h_cluster *h_cluster_new_blank(size_t n, bool hold);
void h_cluster_free(struct h_cluster *c);
/* Adds an engine for a new node (active, fed nothing yet). */
struct h_node *h_add_node(struct h_cluster *c, uint32_t id, bool hold);
struct h_node *h_node(struct h_cluster *c, uint32_t id);
struct glock_engine *h_eng(struct h_cluster *c, uint32_t id);

/*
 * Applies one input to every active engine.  Engines that were synced
 * before the input must all return the same value (for non-op inputs every
 * engine must); that value is returned.
 */
int h_apply(struct h_cluster *c, const struct glock_input *in);
int h_apply_to(struct h_cluster *c, uint32_t id, const struct glock_input *in);

/* Input builders; names are (lockspace "fs1", type 2, number). */
struct glock_name h_name(uint64_t number);
struct glock_input h_op_in(enum glock_op_kind kind, uint32_t node, uint64_t req,
			   uint64_t number, enum glock_mode mode, uint32_t flags);
int h_lock(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
	   enum glock_mode mode, uint32_t flags);
int h_convert(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
	      enum glock_mode mode, uint32_t flags);
int h_convert_lvb(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number,
		  enum glock_mode mode, const uint8_t *lvb);
int h_release(struct h_cluster *c, uint32_t node, uint64_t number);
int h_release_lvb(struct h_cluster *c, uint32_t node, uint64_t number, const uint8_t *lvb);
int h_cancel(struct h_cluster *c, uint32_t node, uint64_t req, uint64_t number);
struct glock_input h_confchg_in(size_t n, const uint32_t *members);
int h_confchg(struct h_cluster *c, size_t n, const uint32_t *members);
uint64_t h_config_id(const struct h_cluster *c);
int h_quorum(struct h_cluster *c, uint32_t from, bool quorate);
int h_hello(struct h_cluster *c, uint32_t node, bool synced);
int h_fenced(struct h_cluster *c, uint32_t node);
int h_recovery_done(struct h_cluster *c, uint32_t node);
int h_tick(struct h_cluster *c, uint64_t now_us);

/* Outputs. */
void h_clear(struct h_cluster *c);
size_t h_out_total(struct h_cluster *c);
size_t h_count(struct h_cluster *c, uint32_t id, enum glock_output_kind kind);
/* The first output of kind on engine id for req (H_ANY_REQ: any). */
const struct h_out *h_find(struct h_cluster *c, uint32_t id, enum glock_output_kind kind,
			   uint64_t req);
/* The first output of kind on engine id naming glock number. */
const struct h_out *h_find_glock(struct h_cluster *c, uint32_t id,
				 enum glock_output_kind kind, uint64_t number);
size_t h_count_glock(struct h_cluster *c, uint32_t id, enum glock_output_kind kind,
		     uint64_t number);

/* The table. */
bool h_lookup(struct h_cluster *c, uint32_t id, uint64_t number, struct h_rec *rec);
/* Mode node holds on glock number as engine id sees it, UN if none. */
enum glock_mode h_held(struct h_cluster *c, uint32_t id, uint64_t number, uint32_t node);
/* Queue position of node's request, or -1. */
int h_waiting(struct h_cluster *c, uint32_t id, uint64_t number, uint32_t node);

/* Engine state as bytes: export, departed list, members, synced, quorate. */
void h_state(const struct glock_engine *eng, struct h_buf *b);
void h_buf_free(struct h_buf *b);
/* Every active synced engine holds the same state as the first one. */
void h_assert_consistent(struct h_cluster *c);
/* Records every engine's state, to prove an input changed nothing. */
void h_freeze(struct h_cluster *c);
/* Asserts every engine's state equals the one h_freeze() recorded. */
void h_assert_unchanged(struct h_cluster *c);

/*
 * A deep copy of an engine's export plus departed list: what a donor
 * multicasts as a snapshot.  h_snapshot_feed() applies it to the cluster as
 * SNAPSHOT_BEGIN, RECORDs, SNAPSHOT_END{n_records + end_adjust}, asserting
 * each of BEGIN and RECORD returns 0, and returns END's value.
 */
struct h_snapshot {
	uint32_t donor;
	size_t n_departed;
	struct glock_departed_rec departed[4 * GLOCK_NODES_MAX];
	size_t n_records;
	struct h_rec *records;
};
void h_snapshot_take(struct h_cluster *c, uint32_t donor, struct h_snapshot *s);
int h_snapshot_feed(struct h_cluster *c, const struct h_snapshot *s, int64_t end_adjust);
void h_snapshot_free(struct h_cluster *c, struct h_snapshot *s);
/* A record view of an h_rec, for SNAPSHOT_RECORD inputs. */
struct glock_record h_record_of(const struct h_rec *r);

#endif /* GLOCK_ENGINE_HARNESS_H */
