#!/bin/sh
# Bounded plock-sim runs for make check: one node to six, fixed seed
# windows (a run is a pure function of its seed).  PLOCK_SIM_SEEDS /
# PLOCK_SIM_STEPS make it longer.
set -u
sim=${PLOCK_SIM:-tests/sim/plock-sim}
seeds=${PLOCK_SIM_SEEDS:-15}
steps=${PLOCK_SIM_STEPS:-10000}
pass=0
fail=0
for range in 1-2 3-4 5-6; do
	if "$sim" --nodes "$range" --steps "$steps" --seed 1 --seeds "$seeds" --quiet; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
