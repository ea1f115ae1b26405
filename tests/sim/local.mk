# The many-node simulator.  make check runs a bounded set of seeds and the
# mutation check (mutant engines must be caught); longer runs by hand:
#   tests/sim/glock-sim --nodes 3-16 --steps 5000 --seeds 200
check_PROGRAMS += tests/sim/glock-sim
tests_sim_glock_sim_SOURCES = tests/sim/glock-sim.c tests/sim/sim_common.h
tests_sim_glock_sim_LDADD = daemon/engine/libglockengine.la

TESTS += tests/sim/run-sim.sh tests/sim/mutation-check.sh
EXTRA_DIST += tests/sim/run-sim.sh tests/sim/mutation-check.sh

# The p2p lock path's simulator (daemon/engine/p2p.h); longer runs by hand:
#   tests/sim/p2p-sim --nodes 3-16 --steps 3000 --seeds 300 [--chaos]
check_PROGRAMS += tests/sim/p2p-sim
tests_sim_p2p_sim_SOURCES = tests/sim/p2p-sim.c tests/sim/sim_common.h
tests_sim_p2p_sim_LDADD = daemon/engine/libglockengine.la

TESTS += tests/sim/run-p2p-sim.sh tests/sim/p2p-mutation-check.sh
EXTRA_DIST += tests/sim/run-p2p-sim.sh tests/sim/p2p-mutation-check.sh

# POSIX byte-range locks (daemon/engine/plock.h) against a byte-level
# model; longer runs by hand:
#   tests/sim/plock-sim --nodes 1-6 --steps 100000 --seeds 100
check_PROGRAMS += tests/sim/plock-sim
tests_sim_plock_sim_SOURCES = tests/sim/plock-sim.c
tests_sim_plock_sim_LDADD = daemon/engine/libglockengine.la

TESTS += tests/sim/run-plock-sim.sh tests/sim/plock-mutation-check.sh
EXTRA_DIST += tests/sim/run-plock-sim.sh tests/sim/plock-mutation-check.sh
