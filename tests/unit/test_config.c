/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the glockd.conf parser (daemon/config.c): invalid input
 * first, then every key's accepted values, then the example config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h" /* not autoconf's config.h */

static char tmp_path[] = "/tmp/test_config.XXXXXX";
static char err[512];

static int write_file(const char *text, size_t len)
{
	FILE *f = fopen(tmp_path, "w");

	if (!f)
		return -1;
	if (len && fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* Parses text on top of the defaults; returns the loader's result. */
static int load_text(struct glockd_config *cfg, const char *text)
{
	glockd_config_defaults(cfg);
	assert_int_equal(write_file(text, strlen(text)), 0);
	return glockd_config_load(cfg, tmp_path, err, sizeof(err));
}

/* The text is refused with -EINVAL, the message names FILE:LINE and says why. */
static void assert_refused(const char *text, unsigned int line, const char *why)
{
	struct glockd_config cfg, defaults;
	char where[64];

	glockd_config_defaults(&defaults);
	assert_int_equal(load_text(&cfg, text), -EINVAL);
	if (line)
		snprintf(where, sizeof(where), "%s:%u: ", tmp_path, line);
	else
		snprintf(where, sizeof(where), "%s: ", tmp_path);
	if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, why))
		fail_msg("for \"%s\": got \"%s\", want \"%s...%s\"", text, err, where, why);
	/* All or nothing: a refused file changes nothing. */
	assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

static int setup(void **state)
{
	int fd = mkstemp(tmp_path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(tmp_path);
	return 0;
}

/* ---- invalid input ---- */

static void test_missing_file_is_enoent_with_path(void **state)
{
	struct glockd_config cfg;

	glockd_config_defaults(&cfg);
	assert_int_equal(glockd_config_load(&cfg, "/nonexistent/glockd.conf", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/glockd.conf: cannot open"));
}

static void test_directory_is_an_error_not_a_crash(void **state)
{
	struct glockd_config cfg;

	glockd_config_defaults(&cfg);
	assert_true(glockd_config_load(&cfg, "/", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/:"));
}

static void test_null_arguments_are_refused(void **state)
{
	struct glockd_config cfg;

	glockd_config_defaults(&cfg);
	assert_int_equal(glockd_config_load(&cfg, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(glockd_config_load(NULL, tmp_path, err, sizeof(err)), -EINVAL);
	/* No error buffer is fine too. */
	assert_int_equal(write_file("bogus = 1\n", 10), 0);
	assert_int_equal(glockd_config_load(&cfg, tmp_path, NULL, 0), -EINVAL);
}

static void test_unknown_key_is_refused(void **state)
{
	assert_refused("node_id = 1\nbogus = 2\n", 2, "unknown key 'bogus'");
	assert_refused("run_dir = /run/glockd\n", 1, "unknown key 'run_dir'");
	assert_refused("NODE_ID = 1\n", 1, "unknown key");
}

static void test_line_without_equals_is_refused(void **state)
{
	assert_refused("\n\nnode_id 1\n", 3, "expected 'key = value'");
	assert_refused("= 1\n", 1, "missing key");
}

static void test_duplicate_key_is_refused(void **state)
{
	assert_refused("fence = none\nfence = none\n", 2, "given more than once");
}

static void test_overlong_line_is_refused(void **state)
{
	char text[3000];

	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	assert_refused(text, 1, "line longer than");
	/* An overlong value of a known key, within the line limit. */
	snprintf(text, sizeof(text), "dev_path = /%0300d\n", 0);
	assert_refused(text, 1, "path longer than");
	snprintf(text, sizeof(text), "cpg_group = %0100d\n", 0);
	assert_refused(text, 1, "longer than 63 bytes");
}

static void test_nul_byte_is_refused(void **state)
{
	struct glockd_config cfg;
	static const char text[] = "node_id = 1\nlog = std\0err\n";

	glockd_config_defaults(&cfg);
	assert_int_equal(write_file(text, sizeof(text) - 1), 0);
	assert_int_equal(glockd_config_load(&cfg, tmp_path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: NUL byte"));
}

static void test_binary_garbage_does_not_crash(void **state)
{
	struct glockd_config cfg;
	char text[4096];
	unsigned int seed = 1;
	size_t i;
	int round;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(text); i++) {
			seed = seed * 1103515245u + 12345u;
			text[i] = (char)(seed >> 16);
		}
		glockd_config_defaults(&cfg);
		assert_int_equal(write_file(text, sizeof(text)), 0);
		assert_true(glockd_config_load(&cfg, tmp_path, err, sizeof(err)) <= 0);
	}
}

static void test_bad_node_id_is_refused(void **state)
{
	assert_refused("node_id = -1\n", 1, "not a decimal number");
	assert_refused("node_id = 0x10\n", 1, "not a decimal number");
	assert_refused("node_id = 4294967296\n", 1, "out of range");
	assert_refused("node_id = 99999999999999999999999\n", 1, "out of range");
	assert_refused("node_id =\n", 1, "missing value");
	assert_refused("node_id = 1 2\n", 1, "not a decimal number");
}

static void test_bad_names_are_refused(void **state)
{
	assert_refused("cpg_group = \n", 1, "missing value");
	assert_refused("cpg_group = a/b\n", 1, "may contain only");
	assert_refused("ipc_name = has space\n", 1, "may contain only");
	assert_refused("ipc_name =\n", 1, "missing value");
}

static void test_bad_dev_path_is_refused(void **state)
{
	assert_refused("dev_path = dev/glock\n", 1, "not an absolute path");
}

static void test_bad_fence_is_refused(void **state)
{
	assert_refused("fence = reboot\n", 1, "neither 'none' nor 'command:");
	assert_refused("fence = command:\n", 1, "not an absolute path");
	assert_refused("fence = command:fence_x\n", 1, "not an absolute path");
	assert_refused("fence = command:/usr/sbin/fence x\n", 1, "blank or control");
	assert_refused("fence =\n", 1, "neither");
}

static void test_bad_log_settings_are_refused(void **state)
{
	assert_refused("log = file\n", 1, "neither 'stderr' nor 'syslog'");
	assert_refused("log_level = verbose\n", 1, "not one of debug");
	assert_refused("log_level = LOG_DEBUG\n", 1, "not one of debug");
}

static void test_bad_send_queue_max_is_refused(void **state)
{
	assert_refused("send_queue_max = 0\n", 1, "out of range");
	assert_refused("send_queue_max = 1000001\n", 1, "out of range");
	assert_refused("send_queue_max = lots\n", 1, "not a decimal number");
}

static void test_bad_hold_times_are_refused(void **state)
{
	assert_refused("hold_min_ms = 60001\n", 1, "out of range");
	assert_refused("hold_max_ms = -5\n", 1, "not a decimal number");
	assert_refused("hold_incr_ms = 1.5\n", 1, "not a decimal number");
	assert_refused("hold_decr_ms =\n", 1, "missing value");
	/* Cross-key: reported against the file, not a line. */
	assert_refused("hold_min_ms = 300\nhold_max_ms = 200\n", 0,
		       "hold_min_ms (300) exceeds hold_max_ms (200)");
}

static void test_bad_allow_entries_are_refused(void **state)
{
	char text[2048];
	size_t n = 0;
	int i;

	assert_refused("allow_uid = no-such-user-glockd\n", 1, "no such user");
	assert_refused("allow_gid = no-such-group-glockd\n", 1, "no such group");
	assert_refused("allow_uid = 4294967295\n", 1, "out of range");
	assert_refused("allow_gid = 12ab\n", 1, "not a decimal number");
	assert_refused("allow_uid =\n", 1, "missing value");
	for (i = 0; i <= GLOCKD_ALLOW_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "allow_uid = %d\n", 1000 + i);
	assert_refused(text, GLOCKD_ALLOW_MAX + 1, "more than 32 entries");
}

static void test_bad_link_settings_are_refused(void **state)
{
	assert_refused("link_port = 0\n", 1, "out of range");
	assert_refused("link_port = 65536\n", 1, "out of range");
	assert_refused("link_port = 21065x\n", 1, "not a decimal number");
	assert_refused("link_port = 1\nlink_port = 2\n", 2, "given more than once");
	assert_refused("link_key_file = etc/authkey\n", 1, "not an absolute path");
	assert_refused("link_key_file = /etc/my key\n", 1, "blank or control character");
	assert_refused("link_key_file =\n", 1, "not an absolute path");
	assert_refused("link_queue_max = 0\n", 1, "out of range");
	assert_refused("link_queue_max = 1000001\n", 1, "out of range");
	assert_refused("lock_path = tcp\n", 1, "neither 'cpg' nor 'p2p'");
	assert_refused("lock_path = P2P\n", 1, "neither 'cpg' nor 'p2p'");
	assert_refused("lock_path = cpg\nlock_path = p2p\n", 2, "given more than once");
}

static void test_bad_startup_fencing_is_refused(void **state)
{
	assert_refused("startup_fencing = true\n", 1, "neither 'yes' nor 'no'");
	assert_refused("startup_fencing =\n", 1, "neither 'yes' nor 'no'");
	assert_refused("startup_fence_delay_ms = 600001\n", 1, "out of range");
	assert_refused("startup_fence_delay_ms = -1\n", 1, "not a decimal number");
	assert_refused("startup_fence_delay_ms = 1\nstartup_fence_delay_ms = 2\n", 2,
		       "given more than once");
}

static void test_startup_fencing_settings(void **state)
{
	struct glockd_config cfg;

	glockd_config_defaults(&cfg);
	assert_true(cfg.startup_fencing);
	assert_int_equal(cfg.startup_fence_delay_us, 10000000);
	assert_int_equal(load_text(&cfg, "startup_fencing = no\nstartup_fence_delay_ms = 0\n"), 0);
	assert_false(cfg.startup_fencing);
	assert_int_equal(cfg.startup_fence_delay_us, 0);
	assert_int_equal(load_text(&cfg, "startup_fencing = yes\nstartup_fence_delay_ms = 600000\n"),
			 0);
	assert_true(cfg.startup_fencing);
	assert_int_equal(cfg.startup_fence_delay_us, 600000000ull);
}

/* ---- valid input ---- */

static void test_defaults(void **state)
{
	struct glockd_config cfg;

	glockd_config_defaults(&cfg);
	assert_int_equal(cfg.node_id, 0);
	assert_string_equal(cfg.cpg_group, "glockd");
	assert_string_equal(cfg.ipc_name, "glockd");
	assert_string_equal(cfg.dev_path, "/dev/glock");
	assert_int_equal(cfg.fence, GLOCKD_FENCE_NONE);
	assert_int_equal(cfg.log_target, GLOCKD_LOG_STDERR);
	assert_int_equal(cfg.log_priority, LOG_INFO);
	assert_true(cfg.send_queue_max > 0);
	assert_int_equal(cfg.hold_min_us, 10000);
	assert_int_equal(cfg.hold_max_us, 200000);
	assert_int_equal(cfg.hold_incr_us, 10000);
	assert_int_equal(cfg.hold_decr_us, 1000);
	assert_int_equal(cfg.n_allowed_uids, 0);
	assert_int_equal(cfg.n_allowed_gids, 0);
	assert_int_equal(cfg.link_port, 21065);
	assert_string_equal(cfg.link_key_file, "/etc/corosync/authkey");
	assert_int_equal(cfg.link_queue_max, 4096);
	assert_int_equal(cfg.lock_path, GLOCKD_LOCK_PATH_CPG);
}

static void test_link_settings(void **state)
{
	struct glockd_config cfg;

	assert_int_equal(load_text(&cfg, "link_port = 1\nlink_key_file = /etc/glockd/linkkey\n"
					 "link_queue_max = 1000000\n"),
			 0);
	assert_int_equal(cfg.link_port, 1);
	assert_string_equal(cfg.link_key_file, "/etc/glockd/linkkey");
	assert_int_equal(cfg.link_queue_max, 1000000);
	assert_int_equal(load_text(&cfg, "link_port = 65535\n"), 0);
	assert_int_equal(cfg.link_port, 65535);
	assert_int_equal(load_text(&cfg, "lock_path = p2p\n"), 0);
	assert_int_equal(cfg.lock_path, GLOCKD_LOCK_PATH_P2P);
	assert_int_equal(load_text(&cfg, "lock_path = cpg\n"), 0);
	assert_int_equal(cfg.lock_path, GLOCKD_LOCK_PATH_CPG);
}

static void test_empty_file_and_comments_keep_defaults(void **state)
{
	struct glockd_config cfg, defaults;

	glockd_config_defaults(&defaults);
	assert_int_equal(load_text(&cfg, ""), 0);
	assert_memory_equal(&cfg, &defaults, sizeof(cfg));
	assert_int_equal(load_text(&cfg, "# comment\n\n   \t\n  # indented comment\r\n"), 0);
	assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

static void test_every_scalar_key(void **state)
{
	struct glockd_config cfg;

	assert_int_equal(load_text(&cfg,
				   "node_id = 4294967295\n"
				   "cpg_group = glockd-test_1.x\n"
				   "ipc_name=glockd2\n"
				   "  dev_path\t=\t/dev/glock2  \n"
				   "fence = command:/usr/sbin/fence_glockd\n"
				   "log = syslog\n"
				   "log_level = debug\n"
				   "send_queue_max = 1000000\n"
				   "hold_min_ms = 0\n"
				   "hold_max_ms = 60000\n"
				   "hold_incr_ms = 5\n"
				   "hold_decr_ms = 2 # trailing comment\n"),
			 0);
	assert_int_equal(cfg.node_id, 4294967295u);
	assert_string_equal(cfg.cpg_group, "glockd-test_1.x");
	assert_string_equal(cfg.ipc_name, "glockd2");
	assert_string_equal(cfg.dev_path, "/dev/glock2");
	assert_int_equal(cfg.fence, GLOCKD_FENCE_COMMAND);
	assert_string_equal(cfg.fence_command, "/usr/sbin/fence_glockd");
	assert_int_equal(cfg.log_target, GLOCKD_LOG_SYSLOG);
	assert_int_equal(cfg.log_priority, LOG_DEBUG);
	assert_int_equal(cfg.send_queue_max, 1000000);
	assert_int_equal(cfg.hold_min_us, 0);
	assert_int_equal(cfg.hold_max_us, 60000000);
	assert_int_equal(cfg.hold_incr_us, 5000);
	assert_int_equal(cfg.hold_decr_us, 2000);
}

static void test_fence_none_and_empty_dev_path(void **state)
{
	struct glockd_config cfg;

	assert_int_equal(load_text(&cfg, "fence = none\ndev_path =\nlog = stderr\n"), 0);
	assert_int_equal(cfg.fence, GLOCKD_FENCE_NONE);
	assert_string_equal(cfg.fence_command, "");
	assert_string_equal(cfg.dev_path, "");
	assert_int_equal(cfg.log_target, GLOCKD_LOG_STDERR);
}

static void test_every_log_level(void **state)
{
	static const struct {
		const char *name;
		int prio;
	} v[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "err", LOG_ERR },
	};
	struct glockd_config cfg;
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", v[i].name);
		assert_int_equal(load_text(&cfg, text), 0);
		assert_int_equal(cfg.log_priority, v[i].prio);
	}
}

static void test_allow_entries_add_up_by_name_and_number(void **state)
{
	struct glockd_config cfg;

	assert_int_equal(load_text(&cfg,
				   "allow_uid = root\nallow_uid = 1001\nallow_uid = 1001\n"
				   "allow_gid = root\nallow_gid = 2000\n"),
			 0);
	assert_int_equal(cfg.n_allowed_uids, 2); /* the repeat is folded */
	assert_int_equal(cfg.allowed_uids[0], 0);
	assert_int_equal(cfg.allowed_uids[1], 1001);
	assert_int_equal(cfg.n_allowed_gids, 2);
	assert_int_equal(cfg.allowed_gids[0], 0);
	assert_int_equal(cfg.allowed_gids[1], 2000);
}

static void test_line_at_the_limit_without_newline_is_read(void **state)
{
	struct glockd_config cfg;
	char text[1100];
	int n = snprintf(text, sizeof(text), "cpg_group = abc");

	/* No trailing newline, padded with blanks to exactly 1024 bytes. */
	memset(text + n, ' ', (size_t)(1024 - n));
	text[1024] = '\0';
	assert_int_equal(load_text(&cfg, text), 0);
	assert_string_equal(cfg.cpg_group, "abc");
}

static void test_example_config_is_valid(void **state)
{
	struct glockd_config cfg;
	const char *srcdir = getenv("srcdir");
	char path[1024];

	snprintf(path, sizeof(path), "%s/deploy/glockd.conf", srcdir ? srcdir : ".");
	glockd_config_defaults(&cfg);
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(glockd_config_load(&cfg, path, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file_is_enoent_with_path),
		cmocka_unit_test(test_directory_is_an_error_not_a_crash),
		cmocka_unit_test(test_null_arguments_are_refused),
		cmocka_unit_test(test_unknown_key_is_refused),
		cmocka_unit_test(test_line_without_equals_is_refused),
		cmocka_unit_test(test_duplicate_key_is_refused),
		cmocka_unit_test(test_overlong_line_is_refused),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_binary_garbage_does_not_crash),
		cmocka_unit_test(test_bad_node_id_is_refused),
		cmocka_unit_test(test_bad_names_are_refused),
		cmocka_unit_test(test_bad_dev_path_is_refused),
		cmocka_unit_test(test_bad_fence_is_refused),
		cmocka_unit_test(test_bad_startup_fencing_is_refused),
		cmocka_unit_test(test_startup_fencing_settings),
		cmocka_unit_test(test_bad_log_settings_are_refused),
		cmocka_unit_test(test_bad_send_queue_max_is_refused),
		cmocka_unit_test(test_bad_hold_times_are_refused),
		cmocka_unit_test(test_bad_allow_entries_are_refused),
		cmocka_unit_test(test_bad_link_settings_are_refused),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_link_settings),
		cmocka_unit_test(test_empty_file_and_comments_keep_defaults),
		cmocka_unit_test(test_every_scalar_key),
		cmocka_unit_test(test_fence_none_and_empty_dev_path),
		cmocka_unit_test(test_every_log_level),
		cmocka_unit_test(test_allow_entries_add_up_by_name_and_number),
		cmocka_unit_test(test_line_at_the_limit_without_newline_is_read),
		cmocka_unit_test(test_example_config_is_valid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
