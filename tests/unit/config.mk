# glockd.conf parser tests (cmocka).  Links daemon/libglockdconfig.la.
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_config_LDADD = daemon/libglockdconfig.la $(CMOCKA_LIBS)
