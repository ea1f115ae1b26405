# glockd: the daemon.  main.c, cluster.c and config.c are here; the client
# side (agent.c, ipc.c, kdev.c) lists its files in GLOCKD_CLIENT_SOURCES
# (daemon/client.mk), the codec is daemon/libglockcodec.la.
#
# The config parser is a convenience library of its own so that
# tests/unit/test_config links it rather than daemon/*.o.
noinst_LTLIBRARIES += daemon/libglockdconfig.la
daemon_libglockdconfig_la_SOURCES = daemon/config.c daemon/config.h

sbin_PROGRAMS += daemon/glockd
daemon_glockd_SOURCES = \
	daemon/main.c \
	daemon/cluster.c \
	daemon/cluster.h \
	daemon/glockd.h \
	daemon/log.h \
	$(GLOCKD_CLIENT_SOURCES)
daemon_glockd_CPPFLAGS = $(AM_CPPFLAGS) -DGLOCKD_VERSION='"$(PACKAGE_VERSION)"'
daemon_glockd_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(CPG_CFLAGS) $(VOTEQUORUM_CFLAGS) \
	$(CMAP_CFLAGS) $(PROTOBUF_C_CFLAGS)
daemon_glockd_LDADD = \
	daemon/libglockdconfig.la \
	daemon/libglockcodec.la \
	daemon/engine/libglockengine.la \
	$(QB_LIBS) $(CPG_LIBS) $(VOTEQUORUM_LIBS) $(CMAP_LIBS) $(PROTOBUF_C_LIBS)

EXTRA_DIST += deploy/glockd.conf deploy/glockd.service \
	deploy/glockd-metrics.service deploy/glockd-metrics.timer
