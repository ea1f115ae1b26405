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

engine_files="engine.c engine.h hold.c hold.h table.c table.h"

# mutant NAME FILE SED: FILE is one of daemon/engine's files.
mutant() {
	name=$1 file=$2 expr=$3
	for f in $engine_files; do
		cp "$srcdir/daemon/engine/$f" "$work/"
	done
	sed "$expr" "$srcdir/daemon/engine/$file" > "$work/$file"
	if cmp -s "$srcdir/daemon/engine/$file" "$work/$file"; then
		echo "FAIL $name: the mutation did not apply (engine changed?)"
		fail=$((fail + 1))
		return
	fi
	if ! $cc -std=gnu11 -O1 -w -I"$work" "$srcdir/tests/sim/glock-sim.c" "$work/engine.c" \
		"$work/hold.c" "$work/table.c" -o "$work/sim"; then
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
mutant compat-sh-ex table.c 's/\[GLOCK_MODE_SH\] = { true, true, false, false },/[GLOCK_MODE_SH] = { true, true, false, true },/'
# Safety: expired grants of departed nodes stop blocking.
mutant expired-ignored table.c 's/if (!(flags \& GLOCK_FLAG_NOEXP) || !gl->expired\[i\].fenced)/if (0)/'
# Liveness: the queue is never granted after a release.
mutant no-queue-grants table.c 's/^void glock__process(struct glock__table \*tbl, struct glock \*gl)$/&\n{ (void)tbl; (void)gl; }\nvoid glock__process_unused(struct glock__table *tbl, struct glock *gl)/'
# Liveness: blockers are never asked to demote.
mutant no-demotes table.c 's/^		demote(tbl, gl, h->node, t);$/		(void)t;/'
# Sync: a joiner ignores ops delivered while its snapshot is in transit.
mutant no-buffering engine.c 's/return buffer_input(eng, in);/return 0;/'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
