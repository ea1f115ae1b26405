# libFuzzer target for the wire decoder feeding a real engine.  It needs
# clang, so it is built by its own rule straight from the sources rather
# than as an automake program (which would use $(CC)):
#   make fuzz-wire                       build tests/fuzz/fuzz-wire
#   FUZZ_SECONDS=300 make check TESTS=tests/fuzz/run-fuzz.sh
#   make fuzz-corpus                     regenerate the committed seeds
EXTRA_DIST += \
	tests/fuzz/fuzz_wire.c \
	tests/fuzz/gen_corpus.c \
	tests/fuzz/run-fuzz.sh \
	tests/fuzz/corpus

fuzz_wire_sources = \
	$(top_srcdir)/tests/fuzz/fuzz_wire.c \
	$(top_srcdir)/daemon/codec.c \
	$(top_srcdir)/daemon/p2p_codec.c \
	$(top_srcdir)/daemon/engine/engine.c \
	$(top_srcdir)/daemon/engine/hold.c \
	$(top_srcdir)/daemon/engine/table.c \
	proto/glock_wire.pb-c.c \
	proto/glock_status.pb-c.c
fuzz_wire_headers = \
	$(top_srcdir)/daemon/codec.h \
	$(top_srcdir)/daemon/p2p_codec.h \
	$(top_srcdir)/daemon/engine/engine.h \
	$(top_srcdir)/daemon/engine/hold.h \
	$(top_srcdir)/daemon/engine/table.h \
	proto/glock_wire.pb-c.h \
	proto/glock_status.pb-c.h
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz_cppflags = $(DEFS) -I$(top_builddir) $(AM_CPPFLAGS) -I$(top_srcdir)/daemon \
	$(PROTOBUF_C_CFLAGS)

tests/fuzz/fuzz-wire: $(fuzz_wire_sources) $(fuzz_wire_headers)
	$(AM_V_GEN)$(MKDIR_P) tests/fuzz && \
		$(CLANG) $(FUZZ_CFLAGS) $(fuzz_cppflags) -o $@ $(fuzz_wire_sources) \
		$(PROTOBUF_C_LIBS)
fuzz-wire: tests/fuzz/fuzz-wire

# Seeds are committed; this rewrites them in the source tree.
fuzz-corpus: $(fuzz_wire_sources) $(fuzz_wire_headers) $(top_srcdir)/tests/fuzz/gen_corpus.c
	$(AM_V_GEN)$(MKDIR_P) tests/fuzz && \
		$(CC) -std=gnu11 $(fuzz_cppflags) -o tests/fuzz/gen-corpus \
		$(top_srcdir)/tests/fuzz/gen_corpus.c $(top_srcdir)/daemon/codec.c \
		$(top_srcdir)/daemon/p2p_codec.c $(top_srcdir)/daemon/engine/engine.c $(top_srcdir)/daemon/engine/hold.c \
		$(top_srcdir)/daemon/engine/table.c proto/glock_wire.pb-c.c \
		proto/glock_status.pb-c.c $(PROTOBUF_C_LIBS) && \
		rm -f $(top_srcdir)/tests/fuzz/corpus/* && \
		$(MKDIR_P) $(top_srcdir)/tests/fuzz/corpus && \
		tests/fuzz/gen-corpus $(top_srcdir)/tests/fuzz/corpus
.PHONY: fuzz-wire fuzz-corpus

CLEANFILES += tests/fuzz/fuzz-wire tests/fuzz/gen-corpus
clean-local: clean-local-fuzz
clean-local-fuzz:
	-rm -rf tests/fuzz/artifacts
.PHONY: clean-local-fuzz

if HAVE_CLANG
check_SCRIPTS += tests/fuzz/fuzz-wire
TESTS += tests/fuzz/run-fuzz.sh
endif
