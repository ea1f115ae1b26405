/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the node-link wire format (daemon/link_wire.c): hostile
 * input first (bad lengths, truncation, forged tags, replays, another key,
 * another connection), then the round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "link_wire.h"

static uint8_t key_a[GLOCK_LINK_KEY_BYTES], key_b[GLOCK_LINK_KEY_BYTES];

/* Both ends of one connection after a handshake under k_c / k_a. */
struct pair {
	uint8_t hc[GLOCK_LINK_HELLO_BYTES], ha[GLOCK_LINK_HELLO_BYTES];
	struct glock_link_session c, a;
};

static void pair_init(struct pair *p, const uint8_t *k_c, const uint8_t *k_a)
{
	struct glock_link_hello h;

	glock_link_hello_make(&h, 1, 2);
	glock_link_hello_encode(&h, p->hc);
	glock_link_hello_make(&h, 2, 1);
	glock_link_hello_encode(&h, p->ha);
	glock_link_session_init(&p->c, k_c, true, p->hc, p->ha);
	glock_link_session_init(&p->a, k_a, false, p->hc, p->ha);
}

static size_t seal(struct glock_link_session *s, const char *text, uint8_t *frame)
{
	assert_int_equal(glock_link_frame_seal(s, text, strlen(text), frame), 0);
	return glock_link_frame_size(strlen(text));
}

static void assert_opens_as(struct glock_link_session *s, const uint8_t *frame, size_t n,
			    const char *text)
{
	uint8_t out[256];
	size_t len = 0;

	assert_int_equal(glock_link_frame_open(s, frame, n, out, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(out, text, len);
}

static int setup(void **state)
{
	assert_int_equal(glock_link_wire_init(), 0);
	glock_link_key_derive("cluster key A", 13, key_a);
	glock_link_key_derive("cluster key B", 13, key_b);
	return 0;
}

/* ---- hostile input ---- */

static void test_header_lengths_outside_the_bounds_are_refused(void **state)
{
	const uint8_t too_short[4] = { 0, 0, 0, GLOCK_LINK_TAG_BYTES - 1 };
	const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t over[4];
	uint32_t n = GLOCK_LINK_PAYLOAD_MAX + GLOCK_LINK_TAG_BYTES + 1;
	size_t body = 12345;

	over[0] = (uint8_t)(n >> 24);
	over[1] = (uint8_t)(n >> 16);
	over[2] = (uint8_t)(n >> 8);
	over[3] = (uint8_t)n;
	assert_int_equal(glock_link_frame_body_len(too_short, &body), -EMSGSIZE);
	assert_int_equal(glock_link_frame_body_len(huge, &body), -EMSGSIZE);
	assert_int_equal(glock_link_frame_body_len(over, &body), -EMSGSIZE);
	assert_int_equal(body, 12345); /* untouched on failure */
}

static void test_truncated_and_padded_frames_are_refused(void **state)
{
	struct pair p;
	uint8_t frame[128], out[128];
	size_t n, len;

	pair_init(&p, key_a, key_a);
	n = seal(&p.c, "hello", frame);
	assert_int_equal(glock_link_frame_open(&p.a, frame, 0, out, &len), -EMSGSIZE);
	assert_int_equal(glock_link_frame_open(&p.a, frame, 3, out, &len), -EMSGSIZE);
	assert_int_equal(glock_link_frame_open(&p.a, frame, n - 1, out, &len), -EMSGSIZE);
	assert_int_equal(glock_link_frame_open(&p.a, frame, n + 1, out, &len), -EMSGSIZE);
	/* Refusals leave the session where it was: the real frame still opens. */
	assert_opens_as(&p.a, frame, n, "hello");
}

static void test_a_flipped_bit_anywhere_fails_the_tag(void **state)
{
	struct pair p;
	uint8_t frame[128], bad[128], out[128];
	size_t n, len, i;

	pair_init(&p, key_a, key_a);
	n = seal(&p.c, "grant 7", frame);
	for (i = GLOCK_LINK_HDR_BYTES; i < n; i++) {
		memcpy(bad, frame, n);
		bad[i] ^= 0x10;
		assert_int_equal(glock_link_frame_open(&p.a, bad, n, out, &len), -EBADMSG);
	}
	assert_opens_as(&p.a, frame, n, "grant 7");
}

static void test_a_changed_length_fails_even_if_the_bytes_fit(void **state)
{
	struct pair p;
	uint8_t frame[128], out[128];
	size_t n, len;

	pair_init(&p, key_a, key_a);
	n = seal(&p.c, "abcdef", frame);
	/* Claim one byte less and cut the frame to match: still a forgery. */
	frame[3]--;
	assert_int_equal(glock_link_frame_open(&p.a, frame, n - 1, out, &len), -EBADMSG);
}

static void test_a_replayed_frame_is_refused(void **state)
{
	struct pair p;
	uint8_t f1[128], f2[128], out[128];
	size_t n1, n2, len;

	pair_init(&p, key_a, key_a);
	n1 = seal(&p.c, "first", f1);
	n2 = seal(&p.c, "second", f2);
	assert_opens_as(&p.a, f1, n1, "first");
	assert_int_equal(glock_link_frame_open(&p.a, f1, n1, out, &len), -EBADMSG);
	assert_opens_as(&p.a, f2, n2, "second");
	assert_int_equal(glock_link_frame_open(&p.a, f2, n2, out, &len), -EBADMSG);
}

static void test_reordered_and_skipped_frames_are_refused(void **state)
{
	struct pair p;
	uint8_t f1[128], f2[128], out[128];
	size_t n1, n2, len;

	pair_init(&p, key_a, key_a);
	n1 = seal(&p.c, "one", f1);
	n2 = seal(&p.c, "two", f2);
	assert_int_equal(glock_link_frame_open(&p.a, f2, n2, out, &len), -EBADMSG);
	assert_opens_as(&p.a, f1, n1, "one");
	assert_opens_as(&p.a, f2, n2, "two");
}

static void test_a_frame_from_another_connection_is_refused(void **state)
{
	struct pair old, now;
	uint8_t frame[128], out[128];
	size_t n, len;

	pair_init(&old, key_a, key_a);
	pair_init(&now, key_a, key_a);
	/* Same key, same sequence number 0: only the fresh nonces differ. */
	n = seal(&old.c, "from an old connection", frame);
	assert_int_equal(glock_link_frame_open(&now.a, frame, n, out, &len), -EBADMSG);
}

static void test_a_frame_sent_back_to_its_sender_is_refused(void **state)
{
	struct pair p;
	uint8_t frame[128], out[128];
	size_t n, len;

	pair_init(&p, key_a, key_a);
	n = seal(&p.c, "reflected", frame);
	assert_int_equal(glock_link_frame_open(&p.c, frame, n, out, &len), -EBADMSG);
}

static void test_another_cluster_key_fails_everything(void **state)
{
	struct pair p;
	uint8_t frame[128], out[128], tag[GLOCK_LINK_AUTH_BYTES];
	size_t n, len;

	pair_init(&p, key_b, key_a);
	glock_link_auth_make(key_b, true, p.hc, p.ha, tag);
	assert_int_equal(glock_link_auth_check(key_a, true, p.hc, p.ha, tag), -EBADMSG);
	n = seal(&p.c, "foreign", frame);
	assert_int_equal(glock_link_frame_open(&p.a, frame, n, out, &len), -EBADMSG);
}

static void test_proofs_bind_role_and_both_hellos(void **state)
{
	struct pair p, q;
	uint8_t tag[GLOCK_LINK_AUTH_BYTES];

	pair_init(&p, key_a, key_a);
	pair_init(&q, key_a, key_a);
	glock_link_auth_make(key_a, true, p.hc, p.ha, tag);
	assert_int_equal(glock_link_auth_check(key_a, true, p.hc, p.ha, tag), 0);
	/* Reflected as the other role. */
	assert_int_equal(glock_link_auth_check(key_a, false, p.hc, p.ha, tag), -EBADMSG);
	/* Replayed into a connection where the other side chose another nonce. */
	assert_int_equal(glock_link_auth_check(key_a, true, p.hc, q.ha, tag), -EBADMSG);
	assert_int_equal(glock_link_auth_check(key_a, true, q.hc, p.ha, tag), -EBADMSG);
}

static void test_bad_hellos_are_refused(void **state)
{
	struct glock_link_hello h, out;
	uint8_t buf[GLOCK_LINK_HELLO_BYTES];

	glock_link_hello_make(&h, 3, 5);
	glock_link_hello_encode(&h, buf);
	buf[0] = 'X';
	assert_int_equal(glock_link_hello_decode(buf, &out), -EPROTO);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(glock_link_hello_decode(buf, &out), -EPROTO);
	h.major = GLOCK_LINK_VERSION_MAJOR + 1;
	glock_link_hello_encode(&h, buf);
	assert_int_equal(glock_link_hello_decode(buf, &out), -EPROTONOSUPPORT);
	assert_int_equal(out.from, 3); /* still says who, for the log line */
}

static void test_oversized_payload_is_refused_by_seal(void **state)
{
	struct pair p;
	uint8_t dummy[1];

	pair_init(&p, key_a, key_a);
	assert_int_equal(glock_link_frame_seal(&p.c, dummy, GLOCK_LINK_PAYLOAD_MAX + 1, dummy),
			 -EMSGSIZE);
	assert_int_equal(p.c.tx_seq, 0);
}

static void test_key_files_outside_the_bounds_are_refused(void **state)
{
	char path[] = "/tmp/test_link_wire.XXXXXX";
	uint8_t k[GLOCK_LINK_KEY_BYTES];
	char err[256];
	char big[GLOCK_LINK_KEYFILE_MAX + 1];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short", 5), 5);
	assert_int_equal(glock_link_key_load(path, k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fewer"));
	memset(big, 'k', sizeof(big));
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(glock_link_key_load(path, k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more"));
	close(fd);
	unlink(path);
	assert_int_equal(glock_link_key_load(path, k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(glock_link_key_load("/", k, err, sizeof(err)), -EISDIR);
}

/* ---- valid use ---- */

static void test_many_frames_round_trip_in_order_both_ways(void **state)
{
	struct pair p;
	uint8_t frame[128];
	char text[64];
	size_t n;
	int i;

	pair_init(&p, key_a, key_a);
	for (i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "c->a %d", i);
		n = seal(&p.c, text, frame);
		assert_opens_as(&p.a, frame, n, text);
		snprintf(text, sizeof(text), "a->c %d", i);
		n = seal(&p.a, text, frame);
		assert_opens_as(&p.c, frame, n, text);
	}
}

static void test_empty_and_largest_payloads_round_trip(void **state)
{
	struct pair p;
	uint8_t *in = malloc(GLOCK_LINK_PAYLOAD_MAX), *frame = malloc(GLOCK_LINK_FRAME_MAX);
	uint8_t *out = malloc(GLOCK_LINK_PAYLOAD_MAX);
	size_t len = 1, i;

	assert_non_null(in);
	assert_non_null(frame);
	assert_non_null(out);
	pair_init(&p, key_a, key_a);
	assert_int_equal(glock_link_frame_seal(&p.c, in, 0, frame), 0);
	assert_int_equal(glock_link_frame_open(&p.a, frame, glock_link_frame_size(0), out, &len), 0);
	assert_int_equal(len, 0);
	for (i = 0; i < GLOCK_LINK_PAYLOAD_MAX; i++)
		in[i] = (uint8_t)(i * 7);
	assert_int_equal(glock_link_frame_seal(&p.c, in, GLOCK_LINK_PAYLOAD_MAX, frame), 0);
	assert_int_equal(glock_link_frame_open(&p.a, frame, GLOCK_LINK_FRAME_MAX, out, &len), 0);
	assert_int_equal(len, GLOCK_LINK_PAYLOAD_MAX);
	assert_memory_equal(in, out, len);
	free(in);
	free(frame);
	free(out);
}

static void test_key_file_gives_the_same_key_as_derive(void **state)
{
	char path[] = "/tmp/test_link_wire.XXXXXX";
	uint8_t k[GLOCK_LINK_KEY_BYTES], want[GLOCK_LINK_KEY_BYTES];
	const char text[] = "0123456789abcdef-a-cluster-key";
	char err[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(glock_link_key_load(path, k, err, sizeof(err)), 0);
	glock_link_key_derive(text, sizeof(text) - 1, want);
	assert_memory_equal(k, want, sizeof(k));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_lengths_outside_the_bounds_are_refused),
		cmocka_unit_test(test_truncated_and_padded_frames_are_refused),
		cmocka_unit_test(test_a_flipped_bit_anywhere_fails_the_tag),
		cmocka_unit_test(test_a_changed_length_fails_even_if_the_bytes_fit),
		cmocka_unit_test(test_a_replayed_frame_is_refused),
		cmocka_unit_test(test_reordered_and_skipped_frames_are_refused),
		cmocka_unit_test(test_a_frame_from_another_connection_is_refused),
		cmocka_unit_test(test_a_frame_sent_back_to_its_sender_is_refused),
		cmocka_unit_test(test_another_cluster_key_fails_everything),
		cmocka_unit_test(test_proofs_bind_role_and_both_hellos),
		cmocka_unit_test(test_bad_hellos_are_refused),
		cmocka_unit_test(test_oversized_payload_is_refused_by_seal),
		cmocka_unit_test(test_key_files_outside_the_bounds_are_refused),
		cmocka_unit_test(test_many_frames_round_trip_in_order_both_ways),
		cmocka_unit_test(test_empty_and_largest_payloads_round_trip),
		cmocka_unit_test(test_key_file_gives_the_same_key_as_derive),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
