# The client side of glockd: the lock agent, its glue and the adapters of
# its clients, IPC and /dev/glock (linked into glockd through
# GLOCKD_CLIENT_SOURCES, see daemon/local.mk), libglock, glockctl.  Include after proto/local.mk, proto/ipc.mk and daemon/local.mk.

GLOCKD_CLIENT_SOURCES = \
	daemon/agent.c \
	daemon/agent.h \
	daemon/agent_glue.c \
	daemon/agent_glue.h \
	daemon/metrics.c \
	daemon/metrics.h \
	daemon/ipc.c \
	daemon/ipc.h \
	daemon/kdev.c \
	daemon/kdev.h

# The agent core alone, for tests/unit/test_agent (no corosync, no IPC).
noinst_LTLIBRARIES += daemon/libglockagent.la
daemon_libglockagent_la_SOURCES = daemon/agent.c daemon/agent.h daemon/metrics.c daemon/metrics.h
daemon_libglockagent_la_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS)
daemon_libglockagent_la_LIBADD = daemon/engine/libglockengine.la $(QB_LIBS)

# libglock: everything in a convenience library (glockctl links that one and
# may use glock__request()); the installed library exports only glock_*.
noinst_LTLIBRARIES += daemon/lib/libglockclient.la
daemon_lib_libglockclient_la_SOURCES = daemon/lib/libglock.c daemon/lib/glock.h
daemon_lib_libglockclient_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon/lib
daemon_lib_libglockclient_la_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(PROTOBUF_C_CFLAGS)
daemon_lib_libglockclient_la_LIBADD = proto/libglockproto.la $(QB_LIBS) $(PROTOBUF_C_LIBS)

# -version-info current:revision:age, libtool's rules: the soname is
# libglock.so.(current - age), packaged as libglock1.  Add an interface:
# current+1, revision=0, age+1; remove or change one: current+1, revision=0,
# age=0 (a new soname, a new package name); same interface: revision+1.
lib_LTLIBRARIES += daemon/lib/libglock.la
daemon_lib_libglock_la_SOURCES =
daemon_lib_libglock_la_LIBADD = daemon/lib/libglockclient.la
daemon_lib_libglock_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:0 \
	-export-symbols-regex '^glock_[a-z0-9]+(_[a-z0-9]+)*$$'
include_HEADERS += daemon/lib/glock.h

pkgconfig_DATA = daemon/lib/libglock.pc
EXTRA_DIST += daemon/lib/libglock.pc.in
CLEANFILES += daemon/lib/libglock.pc
daemon/lib/libglock.pc: $(top_srcdir)/daemon/lib/libglock.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) daemon/lib && \
	$(SED) -e 's|@prefix[@]|$(prefix)|g' \
	       -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	       -e 's|@libdir[@]|$(libdir)|g' \
	       -e 's|@includedir[@]|$(includedir)|g' \
	       -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	       $(top_srcdir)/daemon/lib/libglock.pc.in > $@.tmp && mv $@.tmp $@

bin_PROGRAMS += daemon/glockctl
daemon_glockctl_SOURCES = daemon/glockctl.c daemon/glockctl.h daemon/ctl_metrics.c \
	daemon/ctl_top.c \
	daemon/bench.c daemon/bench_backend.h daemon/bench_glockd.c \
	daemon/ctl_master.c daemon/engine/rendezvous.c
daemon_glockctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon/lib -I$(top_srcdir)/daemon/engine
daemon_glockctl_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(PROTOBUF_C_CFLAGS) -pthread
daemon_glockctl_LDADD = daemon/lib/libglockclient.la $(QB_LIBS) $(PROTOBUF_C_LIBS) -lpthread -lm
if HAVE_LIBDLM
daemon_glockctl_SOURCES += daemon/bench_dlm.c
daemon_glockctl_CFLAGS += $(DLM_CFLAGS) -DHAVE_LIBDLM
daemon_glockctl_LDADD += $(DLM_LIBS)
endif
