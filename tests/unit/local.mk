# Engine unit tests (cmocka): one program per engine unit, all in TESTS.
# Each links the engine's convenience library and a small shared harness.
engine_unit_tests = \
	tests/unit/test_engine_modes \
	tests/unit/test_engine_queue \
	tests/unit/test_engine_lvb \
	tests/unit/test_engine_membership \
	tests/unit/test_engine_hold \
	tests/unit/test_engine_hostile \
	tests/unit/test_rendezvous \
	tests/unit/test_p2p

check_PROGRAMS += $(engine_unit_tests)
TESTS += $(engine_unit_tests)

engine_unit_harness = tests/unit/engine_harness.c tests/unit/engine_harness.h
engine_unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
engine_unit_ldadd = daemon/engine/libglockengine.la $(CMOCKA_LIBS)

tests_unit_test_engine_modes_SOURCES = tests/unit/test_engine_modes.c $(engine_unit_harness)
tests_unit_test_engine_modes_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_modes_LDADD = $(engine_unit_ldadd)

tests_unit_test_engine_queue_SOURCES = tests/unit/test_engine_queue.c $(engine_unit_harness)
tests_unit_test_engine_queue_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_queue_LDADD = $(engine_unit_ldadd)

tests_unit_test_engine_lvb_SOURCES = tests/unit/test_engine_lvb.c $(engine_unit_harness)
tests_unit_test_engine_lvb_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_lvb_LDADD = $(engine_unit_ldadd)

tests_unit_test_engine_membership_SOURCES = tests/unit/test_engine_membership.c $(engine_unit_harness)
tests_unit_test_engine_membership_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_membership_LDADD = $(engine_unit_ldadd)

tests_unit_test_engine_hold_SOURCES = tests/unit/test_engine_hold.c $(engine_unit_harness)
tests_unit_test_engine_hold_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_hold_LDADD = $(engine_unit_ldadd)

tests_unit_test_engine_hostile_SOURCES = tests/unit/test_engine_hostile.c $(engine_unit_harness)
tests_unit_test_engine_hostile_CFLAGS = $(engine_unit_cflags)
tests_unit_test_engine_hostile_LDADD = $(engine_unit_ldadd)

tests_unit_test_rendezvous_SOURCES = tests/unit/test_rendezvous.c
tests_unit_test_rendezvous_CFLAGS = $(engine_unit_cflags)
tests_unit_test_rendezvous_LDADD = $(engine_unit_ldadd)

tests_unit_test_p2p_SOURCES = tests/unit/test_p2p.c
tests_unit_test_p2p_CFLAGS = $(engine_unit_cflags)
tests_unit_test_p2p_LDADD = $(engine_unit_ldadd)

# The benches' tools (append-flood --check, bench-vm-report, plot-cdf) on
# inputs whose answers are known.
TESTS += tests/unit/bench-tools.sh

# POSIX byte-range locks (daemon/engine/plock.h).  The allocator is wrapped
# so that the test can make any one allocation fail.
check_PROGRAMS += tests/unit/test_plock
TESTS += tests/unit/test_plock
tests_unit_test_plock_SOURCES = tests/unit/test_plock.c
tests_unit_test_plock_CFLAGS = $(engine_unit_cflags)
tests_unit_test_plock_LDADD = $(engine_unit_ldadd)
tests_unit_test_plock_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc
