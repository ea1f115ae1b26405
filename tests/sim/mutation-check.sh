#!/bin/sh
# Shows the simulator has teeth: each mutant engine (one deliberate bug,
# made by sed on a copy) must be caught, i.e. glock-sim must exit 1.
# Usage: mutation-check.sh [SRCDIR [CC]] (make check passes them by environment)
set -u
srcdir=${1:-${srcdir:-.}}
cc=${2:-${CC:-cc}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0

mutant() {
	name=$1 expr=$2
	sed "$expr" "$srcdir/daemon/engine/engine.c" > "$work/engine.c"
	if cmp -s "$srcdir/daemon/engine/engine.c" "$work/engine.c"; then
		echo "FAIL $name: the mutation did not apply (engine changed?)"
		fail=$((fail + 1))
		return
	fi
	cp "$srcdir/daemon/engine/engine.h" "$work/"
	if ! $cc -std=gnu11 -O1 -w -I"$work" "$srcdir/tests/sim/glock-sim.c" "$work/engine.c" -o "$work/sim"; then
		echo "FAIL $name: does not build"
		fail=$((fail + 1))
		return
	fi
	"$work/sim" --nodes 3-8 --steps 20000 --seed 1 --seeds 20 --quiet > "$work/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ]; then
		echo "ok   $name: caught ($(grep -m1 'VIOLATION' "$work/out" | cut -c1-100))"
		pass=$((pass + 1))
	else
		echo "FAIL $name: not caught (exit $rc)"
		fail=$((fail + 1))
	fi
}

# Safety: a compatibility entry flipped.
mutant compat-sh-ex 's/\[GLOCK_MODE_SH\] = { true, true, false, false },/[GLOCK_MODE_SH] = { true, true, false, true },/'
# Safety: expired grants of departed nodes stop blocking.
mutant expired-ignored 's/if (!(flags \& GLOCK_FLAG_NOEXP) || !gl->expired\[i\].fenced)/if (0)/'
# Liveness: the queue is never granted after a release.
mutant no-queue-grants 's/^static void glock_process(struct glock_engine \*eng, struct glock \*gl)$/&\n{ (void)eng; (void)gl; }\nstatic void glock_process_unused(struct glock_engine *eng, struct glock *gl)/'
# Liveness: blockers are never asked to demote.
mutant no-demotes 's/^		if (h->node == eng->cfg.local_node)$/		if (0)/'
# Sync: a joiner ignores ops delivered while its snapshot is in transit.
mutant no-buffering 's/return buffer_input(eng, in);/return 0;/'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
