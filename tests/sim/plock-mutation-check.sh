#!/bin/sh
# Shows plock-sim and test_plock have teeth: each mutant of
# daemon/engine/plock.c (one deliberate bug, a PLOCK_MUTANT_* switch at
# compile time) must make plock-sim exit 1 and test_plock fail (the latter
# where pkg-config finds cmocka).
# Usage: plock-mutation-check.sh [SRCDIR [CC]] (make check passes them by environment)
set -u
srcdir=$(cd "${1:-${srcdir:-.}}" && pwd)
cc=${2:-${CC:-cc}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0
engine=$srcdir/daemon/engine
cmocka=$(pkg-config --cflags --libs cmocka 2>/dev/null) || cmocka=

build() { # MUTANT-DEFINE
	$cc -std=gnu11 -O1 -w $1 -I"$engine" "$srcdir/tests/sim/plock-sim.c" "$engine/plock.c" \
		-o "$work/sim" || return 1
	[ -z "$cmocka" ] && return 0
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O1 -w $1 -I"$engine" "$srcdir/tests/unit/test_plock.c" "$engine/plock.c" \
		-Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc $cmocka -o "$work/unit"
}

run_sim() {
	"$work/sim" --nodes 1-6 --steps 20000 --seed 1 --seeds 20 --quiet > "$work/out" 2>&1
}

run_unit() {
	[ -z "$cmocka" ] && return 0
	"$work/unit" > "$work/unit.out" 2>&1
}

if ! build "" || ! run_sim || ! run_unit; then
	echo "FAIL baseline: the unmutated plock.c does not pass"
	cat "$work/out" "$work/unit.out" 2>/dev/null | tail -n 20
	exit 1
fi
echo "ok   baseline: passes"
[ -z "$cmocka" ] && echo "note: no cmocka through pkg-config: the simulator alone is checked"

# NO_MERGE: same-type neighbours stay apart; NO_WAKE: unlock grants nobody;
# SPLIT_LOSES_TAIL: the piece past a replaced or unlocked range is lost;
# NO_DEADLOCK: no -EDEADLK; SELF_CONFLICT: an owner's locks block its own;
# NO_REPASS: a grant that lowers its owner's locks does not re-examine the
# waiters before it.
for m in NO_MERGE NO_WAKE SPLIT_LOSES_TAIL NO_DEADLOCK SELF_CONFLICT NO_REPASS; do
	if ! build "-DPLOCK_MUTANT_$m"; then
		echo "FAIL $m: does not build"
		fail=$((fail + 1))
		continue
	fi
	run_sim
	sim_rc=$?
	run_unit
	unit_rc=$?
	if [ $sim_rc -eq 1 ] && { [ -z "$cmocka" ] || [ $unit_rc -ne 0 ]; }; then
		echo "ok   $m: caught ($(grep -m1 'VIOLATION' "$work/out" | cut -c1-90))"
		[ -n "$cmocka" ] && echo "     and by $unit_rc test_plock tests"
		pass=$((pass + 1))
	else
		echo "FAIL $m: not caught (plock-sim exit $sim_rc, test_plock exit $unit_rc)"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
