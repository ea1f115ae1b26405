# The pure engine: a convenience library that links nothing external.
noinst_LTLIBRARIES += daemon/engine/libglockengine.la
daemon_engine_libglockengine_la_SOURCES = \
	daemon/engine/engine.c \
	daemon/engine/engine.h \
	daemon/engine/hold.c \
	daemon/engine/hold.h \
	daemon/engine/master.c \
	daemon/engine/p2p.c \
	daemon/engine/p2p.h \
	daemon/engine/p2p_plock.c \
	daemon/engine/plock.c \
	daemon/engine/plock.h \
	daemon/engine/p2p_internal.h \
	daemon/engine/plock.c \
	daemon/engine/plock.h \
	daemon/engine/requester.c \
	daemon/engine/rendezvous.c \
	daemon/engine/rendezvous.h \
	daemon/engine/table.c \
	daemon/engine/table.h

# The engine stays pure: no libqb, corosync or protobuf-c in it.
check-local: check-engine-purity
check-engine-purity:
	@if grep -nE '#include *<(qb/|corosync/|protobuf-c/)' $(top_srcdir)/daemon/engine/*.[ch]; then \
		echo "daemon/engine must not include external libraries" >&2; exit 1; \
	fi
.PHONY: check-engine-purity
