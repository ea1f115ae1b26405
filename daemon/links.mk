# Node links (daemon/links.c, link_wire.c, link_peers.c): a convenience
# library that glockd will link when the lock path moves onto links, and
# that tests/unit/test_link_* and tests/links/ link today.
noinst_LTLIBRARIES += daemon/libglocklinks.la
daemon_libglocklinks_la_SOURCES = \
	daemon/link_wire.c daemon/link_wire.h \
	daemon/links.c daemon/links.h \
	daemon/link_peers.c daemon/link_peers.h
daemon_libglocklinks_la_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(CMAP_CFLAGS) $(SODIUM_CFLAGS)
daemon_libglocklinks_la_LIBADD = $(QB_LIBS) $(CMAP_LIBS) $(SODIUM_LIBS)

links_test_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/tests/links
links_test_cflags = $(AM_CFLAGS) $(QB_CFLAGS) $(CMAP_CFLAGS) $(SODIUM_CFLAGS) $(CMOCKA_CFLAGS)
links_test_ldadd = daemon/libglocklinks.la $(QB_LIBS) $(CMAP_LIBS) $(SODIUM_LIBS)

# Unit tests: the wire format alone, then the adapter over loopback TCP.
check_PROGRAMS += tests/unit/test_link_wire tests/unit/test_links
TESTS += tests/unit/test_link_wire tests/unit/test_links
tests_unit_test_link_wire_SOURCES = tests/unit/test_link_wire.c
tests_unit_test_link_wire_CPPFLAGS = $(links_test_cppflags)
tests_unit_test_link_wire_CFLAGS = $(links_test_cflags)
tests_unit_test_link_wire_LDADD = $(links_test_ldadd) $(CMOCKA_LIBS)
tests_unit_test_links_SOURCES = tests/unit/test_links.c tests/links/link_client.c tests/links/link_client.h
tests_unit_test_links_CPPFLAGS = $(links_test_cppflags)
tests_unit_test_links_CFLAGS = $(links_test_cflags)
tests_unit_test_links_LDADD = $(links_test_ldadd) $(CMOCKA_LIBS)

# linkcrypto: per-message cost of the candidate libraries (DESIGN "Node links").
if HAVE_LINKCRYPTO_BENCH
noinst_PROGRAMS += tests/bench/linkcrypto
tests_bench_linkcrypto_SOURCES = tests/bench/linkcrypto.c
tests_bench_linkcrypto_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(GNUTLS_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_linkcrypto_LDADD = $(SODIUM_LIBS) $(GNUTLS_LIBS) $(OPENSSL_LIBS)
endif
