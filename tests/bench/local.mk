# rawbench: raw CPG and UDP round trips under glockd, for side-by-side
# figures on the netns cluster (deploy/netns-cluster).  Not installed.
noinst_PROGRAMS += tests/bench/rawbench
tests_bench_rawbench_SOURCES = tests/bench/rawbench.c
tests_bench_rawbench_CFLAGS = $(AM_CFLAGS) $(CPG_CFLAGS) $(QB_CFLAGS)
tests_bench_rawbench_LDADD = $(CPG_LIBS) $(QB_LIBS)
