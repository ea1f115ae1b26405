# The many-node simulator.  make check runs a bounded set of seeds and the
# mutation check (mutant engines must be caught); longer runs by hand:
#   tests/sim/glock-sim --nodes 3-16 --steps 5000 --seeds 200
check_PROGRAMS += tests/sim/glock-sim
tests_sim_glock_sim_SOURCES = tests/sim/glock-sim.c
tests_sim_glock_sim_LDADD = daemon/engine/libglockengine.la

TESTS += tests/sim/run-sim.sh tests/sim/mutation-check.sh
EXTRA_DIST += tests/sim/run-sim.sh tests/sim/mutation-check.sh
