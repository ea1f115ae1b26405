# The netns cluster tests (tests/cluster/run-all.sh, root only; not run by
# `make check`: they need network namespaces and corosync).  glock-probe is
# their scriptable libglock client; run-all.sh builds it itself when the
# build tree has none.
noinst_PROGRAMS += tests/cluster/glock-probe
tests_cluster_glock_probe_SOURCES = tests/cluster/glock-probe.c
tests_cluster_glock_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon/lib
tests_cluster_glock_probe_CFLAGS = $(AM_CFLAGS) $(QB_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_cluster_glock_probe_LDADD = daemon/lib/libglockclient.la $(QB_LIBS) $(PROTOBUF_C_LIBS)

# The fault campaign's client (test-19-campaign.sh).
noinst_PROGRAMS += tests/cluster/campaign-client
tests_cluster_campaign_client_SOURCES = tests/cluster/campaign-client.c
tests_cluster_campaign_client_CPPFLAGS = $(tests_cluster_glock_probe_CPPFLAGS)
tests_cluster_campaign_client_CFLAGS = $(tests_cluster_glock_probe_CFLAGS)
tests_cluster_campaign_client_LDADD = $(tests_cluster_glock_probe_LDADD)

EXTRA_DIST += \
	tests/cluster/lib.sh \
	tests/cluster/run-all.sh \
	tests/cluster/test-01-exclusion.sh \
	tests/cluster/test-02-demote.sh \
	tests/cluster/test-03-convert.sh \
	tests/cluster/test-04-lvb.sh \
	tests/cluster/test-05-try.sh \
	tests/cluster/test-06-cancel-timeout.sh \
	tests/cluster/test-07-kill-glockd.sh \
	tests/cluster/test-08-kill-corosync.sh \
	tests/cluster/test-09-fence-fail.sh \
	tests/cluster/test-10-partition-inquorate.sh \
	tests/cluster/test-11-rejoin.sh \
	tests/cluster/test-12-hostile-ipc.sh \
	tests/cluster/test-13-access.sh \
	tests/cluster/test-14-helpers.sh \
	tests/cluster/test-15-metrics.sh \
	tests/cluster/test-16-top.sh \
	tests/cluster/test-17-clean-stop.sh \
	tests/cluster/test-18-kill-gap.sh \
	tests/cluster/test-19-campaign.sh
