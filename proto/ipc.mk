# glock_ipc.proto: client <-> glockd messages (daemon/ipc.c, libglock).
# Appended to proto/local.mk's lists, so it is generated, distributed and
# cleaned like the others and lands in proto/libglockproto.la.
# Include after proto/local.mk.
proto_files += proto/glock_ipc.proto
proto_generated += \
	proto/glock_ipc.pb-c.c \
	proto/glock_ipc.pb-c.h

proto/glock_ipc.pb-c.c: $(top_srcdir)/proto/glock_ipc.proto $(top_srcdir)/proto/glock_status.proto
	$(AM_V_GEN)$(MKDIR_P) $(top_builddir)/proto && \
		$(proto_protoc) $(top_srcdir)/proto/glock_ipc.proto
proto/glock_ipc.pb-c.h: proto/glock_ipc.pb-c.c
	@if test -f $@; then :; else \
		rm -f proto/glock_ipc.pb-c.c; \
		$(MAKE) $(AM_MAKEFLAGS) proto/glock_ipc.pb-c.c; \
	fi
