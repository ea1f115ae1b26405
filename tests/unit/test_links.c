/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the node-link adapter (daemon/links.c): real glock_links
 * instances on one qb loop, over loopback TCP (127.X.Y.N, X.Y from the pid
 * so that concurrent runs do not meet).  Nodes 2, 3 and 4 run; node 1 is
 * in every peer list but never runs: the hostile client speaks as node 1
 * (the lowest id, so nodes connect to it never and accept from it always).
 *
 * Waiting is bounded (10 s per step); a step that runs out fails.  No
 * assertion is about time.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <qb/qblog.h>
#include <qb/qbloop.h>

#include "link_client.h"
#include "links.h"

#define NODES 4   /* ids 1..4; 1 is the hostile client's */
#define PORT 21065
#define STEP_MS 10000
#define MSGS 2000

struct node {
	uint32_t id;
	struct glock_links *l;
	uint64_t next_seq[NODES + 1];  /* next expected from each sender */
	uint64_t received[NODES + 1];
	uint64_t fifo_errors;
	unsigned int ups[NODES + 1], downs[NODES + 1], writables[NODES + 1];
	int last_down_err[NODES + 1];
	bool reenter;      /* on_down calls set_peers again (as lockpath.c could) */
	int reenter_err;
};

static qb_loop_t *loop;
static struct node nodes[NODES + 1];
static struct glock_link_peer peers[NODES];
static uint8_t key[GLOCK_LINK_KEY_BYTES], other_key[GLOCK_LINK_KEY_BYTES];

/* ---- harness ---- */

struct msg {
	uint32_t from;
	uint64_t seq;
	char pad[40];
};

static void on_up(void *data, uint32_t id)
{
	struct node *n = data;

	n->ups[id]++;
	n->next_seq[id] = 0; /* a new session numbers afresh */
}

static void on_down(void *data, uint32_t id, int err)
{
	struct node *n = data;

	n->downs[id]++;
	n->last_down_err[id] = err;
	if (n->reenter)
		n->reenter_err = glock_links_set_peers(n->l, peers, NODES);
}

static void on_receive(void *data, uint32_t id, const void *payload, size_t len)
{
	struct node *n = data;
	struct msg m;

	n->received[id]++;
	if (len < sizeof(m.from) + sizeof(m.seq)) {
		return; /* the hostile client's short payloads */
	}
	memcpy(&m, payload, sizeof(m) < len ? sizeof(m) : len);
	if (m.from != id || m.seq != n->next_seq[id])
		n->fifo_errors++;
	n->next_seq[id] = m.seq + 1;
}

static void on_writable(void *data, uint32_t id)
{
	struct node *n = data;

	n->writables[id]++;
}

static const struct glock_links_ops ops = {
	.up = on_up, .down = on_down, .receive = on_receive, .writable = on_writable,
};

static void fill_peer(struct glock_link_peer *p, uint32_t id)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->addrs[0];
	unsigned int pid = (unsigned int)getpid();

	memset(p, 0, sizeof(*p));
	p->nodeid = id;
	p->n_addrs = 1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(PORT);
	sin->sin_addr.s_addr = htonl((127u << 24) | (((pid >> 8) & 0xff) << 16) |
				     ((pid & 0xff) << 8) | id);
	p->addr_lens[0] = sizeof(*sin);
}

static void node_start(uint32_t id, size_t queue_max)
{
	struct glock_links_config cfg = { .local_node = id, .queue_max_msgs = queue_max,
					  .reconnect_min_ms = 10, .reconnect_max_ms = 200 };
	struct node *n = &nodes[id];
	int err = 0;

	memcpy(cfg.key, key, sizeof(key));
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->l = glock_links_new(loop, &cfg, &ops, n, &err);
	assert_non_null(n->l);
	assert_int_equal(glock_links_set_peers(n->l, peers, NODES), 0);
}

static void node_stop(uint32_t id)
{
	glock_links_free(nodes[id].l);
	nodes[id].l = NULL;
}

/* Runs the loop until pred() holds (checked every 2 ms) or STEP_MS pass. */
static bool (*wait_pred)(void);
static bool wait_met;
static qb_loop_timer_handle wait_timer;

static void wait_tick(void *data)
{
	if (wait_pred()) {
		wait_met = true;
		qb_loop_stop(loop);
		return;
	}
	qb_loop_timer_add(loop, QB_LOOP_LOW, 2 * 1000000u, NULL, wait_tick, &wait_timer);
}

static void wait_expired(void *data)
{
	qb_loop_stop(loop);
}

static bool run_until(bool (*pred)(void))
{
	qb_loop_timer_handle guard;

	wait_pred = pred;
	wait_met = pred();
	if (wait_met)
		return true;
	qb_loop_timer_add(loop, QB_LOOP_LOW, 2 * 1000000u, NULL, wait_tick, &wait_timer);
	qb_loop_timer_add(loop, QB_LOOP_LOW, (uint64_t)STEP_MS * 1000000u, NULL, wait_expired,
			  &guard);
	qb_loop_run(loop);
	qb_loop_timer_del(loop, wait_timer);
	qb_loop_timer_del(loop, guard);
	return wait_met;
}

/* The hostile client's pump: one short turn of the loop. */
static bool never(void)
{
	return false;
}

static void pump_expired(void *data)
{
	qb_loop_stop(loop);
}

static void pump(void *arg)
{
	qb_loop_timer_handle h;

	wait_pred = never;
	qb_loop_timer_add(loop, QB_LOOP_LOW, 2 * 1000000u, NULL, pump_expired, &h);
	qb_loop_run(loop);
}

static bool real_links_up(void)
{
	uint32_t a, b;

	for (a = 2; a <= NODES; a++)
		for (b = 2; b <= NODES; b++)
			if (a != b && (!nodes[a].l || !glock_links_is_up(nodes[a].l, b)))
				return false;
	return true;
}

static struct glock_link_counters counters(uint32_t at, uint32_t of)
{
	struct glock_link_counters c;

	assert_int_equal(glock_links_counters(nodes[at].l, of, &c), 0);
	return c;
}

static uint64_t seq_out[NODES + 1][NODES + 1];

static int send_msg(uint32_t from, uint32_t to)
{
	struct msg m = { .from = from, .seq = seq_out[from][to] };
	int r = glock_links_send(nodes[from].l, to, &m, sizeof(m));

	if (!r)
		seq_out[from][to]++;
	return r;
}

static uint64_t want_received[NODES + 1][NODES + 1];

static bool all_received(void)
{
	uint32_t a, b;

	for (a = 2; a <= NODES; a++)
		for (b = 2; b <= NODES; b++)
			if (nodes[b].received[a] < want_received[a][b])
				return false;
	return true;
}

static int setup(void **state)
{
	uint32_t i;

	qb_log_init("test_links", LOG_USER, LOG_WARNING);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_WARNING);
	assert_int_equal(glock_link_wire_init(), 0);
	glock_link_key_derive("the cluster key for test_links", 30, key);
	glock_link_key_derive("another cluster's key", 21, other_key);
	loop = qb_loop_create();
	assert_non_null(loop);
	for (i = 1; i <= NODES; i++)
		fill_peer(&peers[i - 1], i);
	return 0;
}

static int teardown(void **state)
{
	uint32_t i;

	for (i = 2; i <= NODES; i++)
		node_stop(i);
	qb_loop_destroy(loop);
	qb_log_fini();
	return 0;
}

/* ---- invalid use first ---- */

static void test_bad_arguments_are_refused(void **state)
{
	struct glock_links_config cfg = { .local_node = 0 };
	struct glock_link_peer dup[2];
	struct glock_links *l;
	int err = 0;

	assert_null(glock_links_new(loop, &cfg, &ops, NULL, &err));
	assert_int_equal(err, -EINVAL);
	cfg.local_node = 7;
	l = glock_links_new(loop, &cfg, &ops, NULL, &err);
	assert_non_null(l);
	/* The local node must be listed, and no node twice. */
	assert_int_equal(glock_links_set_peers(l, peers, NODES), -ENOENT);
	fill_peer(&dup[0], 7);
	fill_peer(&dup[1], 7);
	assert_int_equal(glock_links_set_peers(l, dup, 2), -EINVAL);
	assert_int_equal(glock_links_send(l, 3, "x", 1), -ENOENT);
	glock_links_free(l);
	glock_links_free(NULL);
}

static void test_send_before_the_link_is_up_is_refused_and_counted(void **state)
{
	node_start(2, 0);
	assert_int_equal(glock_links_send(nodes[2].l, 3, "x", 1), -ENOTCONN);
	assert_int_equal(glock_links_send(nodes[2].l, 9, "x", 1), -ENOENT);
	assert_int_equal(counters(2, 3).refused, 1);
	assert_false(glock_links_is_up(nodes[2].l, 3));
}

/* ---- the real links ---- */

static void test_links_come_up_and_carry_messages_in_order(void **state)
{
	uint32_t a, b;
	int i;

	node_start(3, 0);
	node_start(4, 0);
	assert_true(run_until(real_links_up));
	for (i = 0; i < MSGS; i++)
		for (a = 2; a <= NODES; a++)
			for (b = 2; b <= NODES; b++)
				if (a != b) {
					while (send_msg(a, b) == -EAGAIN)
						pump(NULL);
					want_received[a][b]++;
				}
	assert_true(run_until(all_received));
	for (a = 2; a <= NODES; a++) {
		assert_int_equal(nodes[a].fifo_errors, 0);
		for (b = 2; b <= NODES; b++) {
			if (a == b)
				continue;
			assert_int_equal(counters(a, b).sent, MSGS);
			assert_int_equal(counters(a, b).received, MSGS);
			assert_int_equal(counters(a, b).dropped, 0);
			assert_int_equal(nodes[a].ups[b], 1);
		}
	}
}

static bool drained_2_to_3(void)
{
	return nodes[2].writables[3] > 0 && all_received();
}

static void test_a_full_queue_refuses_then_drains_in_order(void **state)
{
	static char big[60000];
	size_t accepted = 0;
	uint64_t refused;
	uint32_t i;
	int r;

	/* Restart 2 with a small queue; the loop does not run while we fill it. */
	node_stop(2);
	node_start(2, 8);
	for (i = 2; i <= NODES; i++)
		seq_out[2][i] = seq_out[i][2] = 0; /* new sessions number afresh */
	assert_true(run_until(real_links_up));
	refused = counters(2, 3).refused;
	memset(big, 'b', sizeof(big));
	for (;;) {
		struct msg m = { .from = 2, .seq = seq_out[2][3] };

		memcpy(big, &m, sizeof(m));
		r = glock_links_send(nodes[2].l, 3, big, sizeof(big));
		if (r)
			break;
		seq_out[2][3]++;
		accepted++;
	}
	assert_int_equal(r, -EAGAIN);
	assert_true(accepted >= 8);
	assert_int_equal(counters(2, 3).refused, refused + 1);
	want_received[2][3] = nodes[3].received[2] + accepted;
	memset(want_received[3], 0, sizeof(want_received[3]));
	memset(want_received[4], 0, sizeof(want_received[4]));
	want_received[2][4] = 0;
	assert_true(run_until(drained_2_to_3));
	assert_int_equal(nodes[3].fifo_errors, 0);
	assert_int_equal(counters(2, 3).queued, 0);
}

static bool node3_sees_2_back(void)
{
	return nodes[3].ups[2] >= 2 && glock_links_is_up(nodes[3].l, 2) && real_links_up();
}

static void test_a_restarted_node_reconnects_and_is_counted(void **state)
{
	/* Node 2 restarted in the previous test: 3 and 4 saw it go and return. */
	assert_true(run_until(node3_sees_2_back));
	assert_true(nodes[3].downs[2] >= 1);
	assert_true(counters(3, 2).reconnects >= 1);
	assert_true(counters(4, 2).reconnects >= 1);
	/* And the new session carries messages from sequence 0 again. */
	assert_int_equal(seq_out[2][4], 0);
	assert_int_equal(send_msg(2, 4), 0);
	want_received[2][4] = nodes[4].received[2] + 1;
	assert_true(run_until(all_received));
	assert_int_equal(nodes[4].fifo_errors, 0);
}

/* ---- hostile input, at node 4, while 2 and 3 keep talking ---- */

static struct glock_link_counters before_1;
static uint64_t unknown_before;
static unsigned int real_downs_before;
static uint64_t want_dropped;

static unsigned int real_downs(void)
{
	uint32_t a, b;
	unsigned int n = 0;

	for (a = 2; a <= NODES; a++)
		for (b = 2; b <= NODES; b++)
			n += nodes[a].downs[b];
	return n;
}

static void hostile_begin(void)
{
	before_1 = counters(4, 1);
	unknown_before = glock_links_unknown(nodes[4].l);
	real_downs_before = real_downs();
}

static bool dropped_reached(void)
{
	struct glock_link_counters c;

	return !glock_links_counters(nodes[4].l, 1, &c) && c.dropped >= want_dropped;
}

static void connect_to_4(struct link_client *c)
{
	assert_int_equal(link_client_connect(c, (const struct sockaddr *)&peers[3].addrs[0],
					     peers[3].addr_lens[0], pump, NULL),
			 0);
}

static void assert_real_traffic_goes_on(void)
{
	uint32_t a, b;

	assert_true(real_links_up());
	for (a = 2; a <= NODES; a++)
		for (b = 2; b <= NODES; b++)
			if (a != b) {
				assert_int_equal(send_msg(a, b), 0);
				want_received[a][b] = nodes[b].received[a] + 1;
			}
	assert_true(run_until(all_received));
	for (a = 2; a <= NODES; a++)
		assert_int_equal(nodes[a].fifo_errors, 0);
	/* Not one real link went down meanwhile. */
	assert_int_equal(real_downs(), real_downs_before);
}

static void test_garbage_instead_of_a_hello_is_refused(void **state)
{
	struct link_client c;
	uint8_t junk[GLOCK_LINK_HELLO_BYTES];

	hostile_begin();
	connect_to_4(&c);
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(link_client_write(&c, junk, sizeof(junk)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);
	assert_int_equal(glock_links_unknown(nodes[4].l), unknown_before + 1);
	assert_real_traffic_goes_on();
}

static void test_a_hello_from_a_stranger_or_a_higher_id_is_refused(void **state)
{
	struct link_client c;

	hostile_begin();
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 99, 4), -ECONNRESET);
	link_client_close(&c);
	assert_int_equal(glock_links_unknown(nodes[4].l), unknown_before + 1);
	/* Node 3 connects to 4, never the other way: 4 refuses "4 -> 3". */
	assert_int_equal(link_client_connect(&c, (const struct sockaddr *)&peers[2].addrs[0],
					     peers[2].addr_lens[0], pump, NULL),
			 0);
	assert_int_equal(link_client_handshake(&c, key, 4, 3), -ECONNRESET);
	link_client_close(&c);
	assert_int_equal(counters(3, 4).dropped, 1);
	assert_real_traffic_goes_on();
}

static void test_another_cluster_key_is_refused(void **state)
{
	struct link_client c;

	hostile_begin();
	connect_to_4(&c);
	/* The server's proof fails under our key, and ours under its key. */
	assert_int_equal(link_client_handshake(&c, other_key, 1, 4), -EBADMSG);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);
	assert_int_equal(counters(4, 1).dropped, before_1.dropped + 1);
	assert_false(glock_links_is_up(nodes[4].l, 1));
	assert_int_equal(nodes[4].ups[1], 0);
	assert_real_traffic_goes_on();
}

static bool delivered_from_1(void)
{
	return nodes[4].received[1] > before_1.received;
}

static void test_forged_and_replayed_frames_are_dropped(void **state)
{
	struct link_client c;
	uint8_t frame[glock_link_frame_size(5)], bad[sizeof(frame)];

	hostile_begin();
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	assert_int_equal(link_client_send(&c, "hello", 5, frame), 0);
	assert_true(run_until(delivered_from_1));
	assert_int_equal(counters(4, 1).received, before_1.received + 1);
	/* The same bytes again: sequence 1 expected, sequence 0 offered. */
	assert_int_equal(link_client_write(&c, frame, sizeof(frame)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);
	assert_int_equal(counters(4, 1).dropped, before_1.dropped + 1);

	/* A recorded frame replayed into a new, authenticated connection. */
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	assert_int_equal(link_client_write(&c, frame, sizeof(frame)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);
	assert_int_equal(counters(4, 1).dropped, before_1.dropped + 2);

	/* A forged frame: one payload bit flipped. */
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	glock_link_frame_seal(&c.s, "world", 5, bad);
	bad[GLOCK_LINK_HDR_BYTES] ^= 1;
	assert_int_equal(link_client_write(&c, bad, sizeof(bad)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);
	assert_int_equal(counters(4, 1).dropped, before_1.dropped + 3);
	assert_int_equal(counters(4, 1).received, before_1.received + 1);
	assert_real_traffic_goes_on();
}

static void test_bad_lengths_and_truncated_frames_are_dropped(void **state)
{
	struct link_client c;
	const uint8_t huge[4] = { 0x7f, 0xff, 0xff, 0xff }, tiny[4] = { 0, 0, 0, 3 };
	uint8_t frame[glock_link_frame_size(100)];
	char payload[100] = "cut short";

	hostile_begin();
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	assert_int_equal(link_client_write(&c, huge, sizeof(huge)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);

	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	assert_int_equal(link_client_write(&c, tiny, sizeof(tiny)), 0);
	assert_int_equal(link_client_wait_closed(&c), 0);
	link_client_close(&c);

	/* Half a frame, then the connection closes. */
	connect_to_4(&c);
	assert_int_equal(link_client_handshake(&c, key, 1, 4), 0);
	glock_link_frame_seal(&c.s, payload, sizeof(payload), frame);
	assert_int_equal(link_client_write(&c, frame, sizeof(frame) / 2), 0);
	pump(NULL);
	link_client_close(&c);
	want_dropped = before_1.dropped + 3;
	assert_true(run_until(dropped_reached));
	assert_int_equal(counters(4, 1).dropped, before_1.dropped + 3);
	assert_int_equal(counters(4, 1).received, before_1.received);
	assert_real_traffic_goes_on();
}

/* ---- membership ---- */

static bool node2_lost_4(void)
{
	return nodes[2].downs[4] > 0;
}

static void test_a_node_left_out_of_the_peers_goes_down(void **state)
{
	struct glock_link_peer three[3] = { peers[0], peers[1], peers[2] };

	nodes[2].downs[4] = 0;
	assert_int_equal(glock_links_set_peers(nodes[2].l, three, 3), 0);
	assert_true(run_until(node2_lost_4));
	assert_int_equal(nodes[2].last_down_err[4], -ENOENT);
	assert_int_equal(glock_links_send(nodes[2].l, 4, "x", 1), -ENOENT);
	assert_true(glock_links_is_up(nodes[2].l, 3));
}

static bool node2_lost_3(void)
{
	return nodes[2].downs[3] > 0;
}

/* A down callback that sets the peers again is refused, and nothing breaks. */
static void test_set_peers_from_a_down_callback_is_refused(void **state)
{
	struct glock_link_peer two[2] = { peers[0], peers[1] };

	(void)state;
	nodes[2].downs[3] = 0;
	nodes[2].reenter = true;
	nodes[2].reenter_err = 0;
	assert_int_equal(glock_links_set_peers(nodes[2].l, two, 2), 0);
	nodes[2].reenter = false;
	assert_true(run_until(node2_lost_3));
	assert_int_equal(nodes[2].reenter_err, -EBUSY);
	assert_int_equal(glock_links_send(nodes[2].l, 3, "x", 1), -ENOENT);
	assert_int_not_equal(glock_links_send(nodes[2].l, 1, "x", 1), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments_are_refused),
		cmocka_unit_test(test_send_before_the_link_is_up_is_refused_and_counted),
		cmocka_unit_test(test_links_come_up_and_carry_messages_in_order),
		cmocka_unit_test(test_a_full_queue_refuses_then_drains_in_order),
		cmocka_unit_test(test_a_restarted_node_reconnects_and_is_counted),
		cmocka_unit_test(test_garbage_instead_of_a_hello_is_refused),
		cmocka_unit_test(test_a_hello_from_a_stranger_or_a_higher_id_is_refused),
		cmocka_unit_test(test_another_cluster_key_is_refused),
		cmocka_unit_test(test_forged_and_replayed_frames_are_dropped),
		cmocka_unit_test(test_bad_lengths_and_truncated_frames_are_dropped),
		cmocka_unit_test(test_a_node_left_out_of_the_peers_goes_down),
		cmocka_unit_test(test_set_peers_from_a_down_callback_is_refused),
	};

	/* The tests build on each other (one cluster), so they run in order. */
	return cmocka_run_group_tests(tests, setup, teardown);
}
