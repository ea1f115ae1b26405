# Protobuf schemas, compiled by protoc-c at build time into the build tree
# (never into $(srcdir), which is read-only under distcheck).
# Only the .proto files are distributed; the generated code is not.
#
# glock_wire.proto: node-to-node messages (daemon/codec.c is the only user).
# glock_status.proto: the reply status enum shared by IPC and the codec.
proto_files = \
	proto/glock_wire.proto \
	proto/glock_status.proto
proto_generated = \
	proto/glock_wire.pb-c.c \
	proto/glock_wire.pb-c.h \
	proto/glock_status.pb-c.c \
	proto/glock_status.pb-c.h

EXTRA_DIST += $(proto_files)
BUILT_SOURCES += $(proto_generated)
CLEANFILES += $(proto_generated)

noinst_LTLIBRARIES += proto/libglockproto.la
nodist_proto_libglockproto_la_SOURCES = $(proto_generated)
proto_libglockproto_la_CPPFLAGS = $(AM_CPPFLAGS) $(PROTOBUF_C_CFLAGS)
proto_libglockproto_la_LIBADD = $(PROTOBUF_C_LIBS)

# One explicit rule per schema: pattern rules are a GNU make extension.
# protoc-c writes the .c and the .h together; the .h rule recovers if only
# the .h went missing (the automake manual's multiple-outputs recipe).
proto_protoc = $(PROTOC_C) --c_out=$(top_builddir)/proto -I$(top_srcdir)/proto

proto/glock_wire.pb-c.c: $(top_srcdir)/proto/glock_wire.proto
	$(AM_V_GEN)$(MKDIR_P) $(top_builddir)/proto && \
		$(proto_protoc) $(top_srcdir)/proto/glock_wire.proto
proto/glock_wire.pb-c.h: proto/glock_wire.pb-c.c
	@if test -f $@; then :; else \
		rm -f proto/glock_wire.pb-c.c; \
		$(MAKE) $(AM_MAKEFLAGS) proto/glock_wire.pb-c.c; \
	fi

proto/glock_status.pb-c.c: $(top_srcdir)/proto/glock_status.proto
	$(AM_V_GEN)$(MKDIR_P) $(top_builddir)/proto && \
		$(proto_protoc) $(top_srcdir)/proto/glock_status.proto
proto/glock_status.pb-c.h: proto/glock_status.pb-c.c
	@if test -f $@; then :; else \
		rm -f proto/glock_status.pb-c.c; \
		$(MAKE) $(AM_MAKEFLAGS) proto/glock_status.pb-c.c; \
	fi
