# tests/unit/test_codec: round trips, hostile messages, status mapping,
# and a snapshot carried between two real engines.
check_PROGRAMS += tests/unit/test_codec
TESTS += tests/unit/test_codec
tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon \
	$(PROTOBUF_C_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_codec_LDADD = daemon/libglockcodec.la $(PROTOBUF_C_LIBS) $(CMOCKA_LIBS)

# tests/unit/test_p2p_codec: the p2p lock path's link payloads and REPORTs.
check_PROGRAMS += tests/unit/test_p2p_codec
TESTS += tests/unit/test_p2p_codec
tests_unit_test_p2p_codec_SOURCES = tests/unit/test_p2p_codec.c
tests_unit_test_p2p_codec_CPPFLAGS = $(tests_unit_test_codec_CPPFLAGS)
tests_unit_test_p2p_codec_LDADD = $(tests_unit_test_codec_LDADD)
