# glockd: the daemon.  main.c, drain.c, cluster.c, lockpath.c and config.c
# are here; the client side (agent.c, agent_glue.c, ipc.c, kdev.c) lists its
# files in GLOCKD_CLIENT_SOURCES (daemon/client.mk), the codec is
# daemon/libglockcodec.la.
#
# The config parser is a convenience library of its own so that
# tests/unit/test_config links it rather than daemon/*.o.
noinst_LTLIBRARIES += daemon/libglockdconfig.la
daemon_libglockdconfig_la_SOURCES = daemon/config.c daemon/config.h

sbin_PROGRAMS += daemon/glockd
daemon_glockd_SOURCES = \
	daemon/main.c \
	daemon/drain.c \
	daemon/cluster.c \
	daemon/cluster.h \
	daemon/lockpath.c \
	daemon/lockpath.h \
	daemon/glockd.h \
	daemon/log.h \
	$(GLOCKD_CLIENT_SOURCES)
daemon_glockd_CPPFLAGS = $(AM_CPPFLAGS) -DGLOCKD_VERSION='"$(PACKAGE_VERSION)"' \
	-DGLOCKD_CONFIG_DEFAULT='"$(sysconfdir)/glockd.conf"'
daemon_glockd_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(CPG_CFLAGS) $(VOTEQUORUM_CFLAGS) \
	$(CMAP_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
daemon_glockd_LDADD = \
	daemon/libglockdconfig.la \
	daemon/libglockcodec.la \
	daemon/libglocklinks.la \
	daemon/engine/libglockengine.la \
	$(QB_LIBS) $(SODIUM_LIBS) $(CPG_LIBS) $(VOTEQUORUM_LIBS) $(CMAP_LIBS) $(PROTOBUF_C_LIBS)

EXTRA_DIST += deploy/glockd.conf deploy/glockd.service \
	deploy/glockd-metrics.service deploy/glockd-metrics.timer

# The systemd unit, with the paths of this configure run (the file in
# deploy/ names /usr/sbin and /etc, as the packages install them).
if HAVE_SYSTEMD_UNITDIR
systemdsystemunit_DATA = daemon/glockd.service
endif
CLEANFILES += daemon/glockd.service
daemon/glockd.service: $(top_srcdir)/deploy/glockd.service Makefile
	$(AM_V_GEN)$(MKDIR_P) daemon && \
	$(SED) -e 's|/usr/sbin/glockd|$(sbindir)/glockd|g' \
	       -e 's|/etc/glockd.conf|$(sysconfdir)/glockd.conf|g' \
	       $(top_srcdir)/deploy/glockd.service > $@.tmp && mv $@.tmp $@

# $(sysconfdir)/glockd.conf: installed when there is none (an edited file
# is kept and the new one is left beside it as glockd.conf.new); uninstall
# removes it only when it is still the file shipped.
install-data-local: install-glockd-conf
uninstall-local: uninstall-glockd-conf
install-glockd-conf:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/glockd.conf' && \
	    ! cmp -s $(top_srcdir)/deploy/glockd.conf '$(DESTDIR)$(sysconfdir)/glockd.conf'; then \
		echo " $(DESTDIR)$(sysconfdir)/glockd.conf exists and was changed: new one as glockd.conf.new"; \
		$(INSTALL_DATA) $(top_srcdir)/deploy/glockd.conf '$(DESTDIR)$(sysconfdir)/glockd.conf.new'; \
	else \
		echo " $(INSTALL_DATA) deploy/glockd.conf '$(DESTDIR)$(sysconfdir)/glockd.conf'"; \
		$(INSTALL_DATA) $(top_srcdir)/deploy/glockd.conf '$(DESTDIR)$(sysconfdir)/glockd.conf'; \
	fi
uninstall-glockd-conf:
	@if cmp -s $(top_srcdir)/deploy/glockd.conf '$(DESTDIR)$(sysconfdir)/glockd.conf'; then \
		echo " rm -f '$(DESTDIR)$(sysconfdir)/glockd.conf'"; \
		rm -f '$(DESTDIR)$(sysconfdir)/glockd.conf'; \
	fi
	rm -f '$(DESTDIR)$(sysconfdir)/glockd.conf.new'
.PHONY: install-glockd-conf uninstall-glockd-conf

# The layout (docs/DESIGN.md §5): no adapter calls another; read from the
# adapters' object files, so it runs after glockd is built.
TESTS += tests/layout/check-adapters.sh
EXTRA_DIST += tests/layout/check-adapters.sh
