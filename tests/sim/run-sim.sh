#!/bin/sh
# Bounded simulator runs for make check: several node counts, many seeds.
# SIM_SEEDS / SIM_STEPS make it longer.
set -u
sim=${SIM:-tests/sim/glock-sim}
seeds=${SIM_SEEDS:-40}
steps=${SIM_STEPS:-5000}
pass=0
fail=0
for range in 3-5 6-16 17-32; do
	if "$sim" --nodes "$range" --steps "$steps" --seed 1 --seeds "$seeds" --quiet; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
