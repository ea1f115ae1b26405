#!/bin/sh
# Shows p2p-sim has teeth: each mutant (one deliberate bug in a copy of
# daemon/engine made by sed, or a link that reorders) must be caught, i.e.
# p2p-sim must exit 1 on the seed windows run-p2p-sim.sh passes.
# Usage: p2p-mutation-check.sh [SRCDIR [CC]] (make check passes them by environment)
set -u
srcdir=$(cd "${1:-${srcdir:-.}}" && pwd)
cc=${2:-${CC:-cc}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0

engine_c="engine.c hold.c master.c p2p.c p2p_plock.c plock.c rendezvous.c requester.c table.c"
engine_files="$engine_c engine.h hold.h p2p.h p2p_internal.h plock.h rendezvous.h table.h"

# run_sim [SIM OPTIONS...]: 0 if every window passes, 1 if one is caught.
run_sim() {
	for range in 3-5 6-10 11-16; do
		if ! "$work/sim" --nodes "$range" --steps 3000 --seed 101 --seeds 36 --quiet "$@" \
			> "$work/out" 2>&1; then
			return 1
		fi
	done
	return 0
}

build() {
	(cd "$work" && $cc -std=gnu11 -O1 -w -I"$work" "$srcdir/tests/sim/p2p-sim.c" $engine_c \
		-o "$work/sim")
}

report() {
	name=$1 rc=$2
	if [ "$rc" -eq 1 ]; then
		echo "ok   $name: caught ($(grep -m1 'VIOLATION' "$work/out" | cut -c1-100))"
		pass=$((pass + 1))
	else
		echo "FAIL $name: not caught"
		fail=$((fail + 1))
	fi
}

copy_engine() {
	for f in $engine_files; do
		cp "$srcdir/daemon/engine/$f" "$work/"
	done
}

# mutant NAME FILE SED [RUN]: FILE is one of daemon/engine's files; RUN
# (default run_sim) is what must catch it.
mutant() {
	name=$1 file=$2 expr=$3 run=${4:-run_sim}
	copy_engine
	sed "$expr" "$srcdir/daemon/engine/$file" > "$work/$file"
	if cmp -s "$srcdir/daemon/engine/$file" "$work/$file"; then
		echo "FAIL $name: the mutation did not apply (engine changed?)"
		fail=$((fail + 1))
		return
	fi
	if ! build; then
		echo "FAIL $name: does not build"
		fail=$((fail + 1))
		return
	fi
	$run
	report "$name" $?
}

# Placeholders stand for what a departed node may still use before it
# hears of its departure; the default schedule almost never lets the
# others recover first (the mutant used to be caught only through the LVB
# rule 71a879d removed).  With --stalls a node stops reading CPG for a
# while: this window catches it as an overlap (6-10 nodes, seed 127),
# and the unmutated engine passes it.
run_stalls() {
	"$work/sim" --nodes 6-10 --steps 3000 --seed 127 --seeds 14 --stalls --quiet \
		> "$work/out" 2>&1 || return 1
	return 0
}

# POSIX locks (DESIGN §9.2): owners take byte-range locks too.
run_plocks() {
	for range in 3-5 6-10; do
		if ! "$work/sim" --nodes "$range" --steps 3000 --seed 101 --seeds 24 --plocks \
			--quiet > "$work/out" 2>&1; then
			return 1
		fi
	done
	return 0
}

# The unmutated engine must pass, or nothing below means anything.
copy_engine
if ! build || ! run_sim || ! run_stalls || ! run_plocks; then
	echo "FAIL baseline: p2p-sim fails on the unmutated engine"
	exit 1
fi
echo "ok   baseline: passes"

# Recovery: a master forgets a reported waiter (its request is never answered).
mutant forgets-reported-waiter master.c 's/^	op.kind = pd->kind;$/	return 0;/'
# Recovery: a gained glock gets no placeholders for departed nodes.
mutant no-placeholders master.c 's/^			glock__expired_add(gl, &h);$/			(void)h;/' run_stalls
# Departure: a departed node's grants are dropped instead of expiring.
mutant departed-grants-dropped master.c 's/^		(void)glock__depart(&p->tbl, gone\[i\], v, kept);$/		(void)gone;/'
# Safety: a compatibility entry flipped (SH with EX).
mutant compat-sh-ex table.c 's/\[GLOCK_MODE_SH\] = { true, true, false, false },/[GLOCK_MODE_SH] = { true, true, false, true },/'

# POSIX locks: a requester that reports nothing to a file's new master.
mutant plock-no-report p2p_plock.c 's/^				report(p, q, m);$/				(void)m;/' run_plocks
# POSIX locks: a master that takes ops from before its sender's last EPOCH.
mutant plock-no-epoch p2p_plock.c 's/^	if (msg->gen < epoch_of(s, from)) {$/	if (0) {/' run_plocks
# POSIX locks: a requester that takes the answer to an earlier send.
mutant plock-any-answer p2p_plock.c 's/ || o->gen != msg->gen || / || /' run_plocks
# POSIX locks: a master that grants over a departed node it cannot vouch for.
mutant plock-ignores-departed p2p_plock.c 's/if (!p->departed\[i\].fenced \&\& p2p_needs_placeholder/if (0 \&\& p2p_needs_placeholder/' run_plocks

# Links: one that does not keep FIFO order (a simulator flag, the engine as is).
copy_engine
build
run_sim --mutant-reorder
report link-reorders $?

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
