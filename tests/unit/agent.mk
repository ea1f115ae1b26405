# The lock agent (daemon/agent.c) with fake ops: caching, demotes, timeouts.
check_PROGRAMS += tests/unit/test_agent
TESTS += tests/unit/test_agent
tests_unit_test_agent_SOURCES = tests/unit/test_agent.c
tests_unit_test_agent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_agent_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(QB_CFLAGS)
tests_unit_test_agent_LDADD = daemon/libglockagent.la $(CMOCKA_LIBS)
