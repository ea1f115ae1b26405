#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# dio-cluster.sh: the cross-node mmap + page fault ABBA on two qemu guests
# running the real glockd, through deploy/vm-cluster.
#
# Node 1 reads (direct, then buffered) file 0 into a mapping of file 1 and
# writes it back from there; node 2 does the reverse, at the same time.
# Each node's I/O holds its file's glock while the copy faults on the other
# file, whose glock the other node holds: without the fault-in-and-retry
# in glockfs both nodes wait for each other forever.  Each side has a hard
# time limit (alarm, 120 s; exec --timeout as a backstop) and the data is
# checked byte for byte afterwards.
#
# Then the readdir cycle: node 1 lists a directory (getdents64) into a
# mapping of a file in it while node 2 renames that file back and forth.
# A rename takes the file's glock, numbered below the directory's, first;
# a readdir that copied entries out under the directory's glock would
# hold what the rename waits for and fault on what it holds.
#
#   tests/vm/dio-cluster.sh              the real thing (expected: PASS)
#   FAULT_RETRY=0 tests/vm/dio-cluster.sh   glockfs.fault_retry=0 on both
#                                        nodes: expected to HANG (not CI)
#
# Needs: root, qemu, a built kmod/glockfs.ko and glockd
# ($GLOCK_BUILDDIR/daemon/glockd, default the repo), deploy/vm-cluster.
# Skips (exit 77) with the reason when any of that is missing or the
# cluster does not come up with glockd serving /dev/glock: the cluster rig
# (tests/vm/vm-cluster-test.sh, deploy/vm-cluster) is someone else's and
# may not be ready.  Env: ROUNDS (default 10), KEEP=1 leaves the cluster up,
# GLOCK_VM_STATE (default: a fresh directory under /tmp), PHASES (default
# "direct buffered readdir"), RD_SECONDS (length of the readdir cycle, 15).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
vmc=$top/deploy/vm-cluster
builddir=${GLOCK_BUILDDIR:-$top}
ROUNDS=${ROUNDS:-10}
RD_SECONDS=${RD_SECONDS:-15}
own_state=0
if [ -z "${GLOCK_VM_STATE:-}" ]; then
	GLOCK_VM_STATE=$(mktemp -d /tmp/dio-cluster.XXXXXX)
	own_state=1
fi
export GLOCK_VM_STATE
state=$GLOCK_VM_STATE
# The shared directory lives apart from the harness's state, which `up`
# may clean.
shared=$(mktemp -d /tmp/dio-cluster-shared.XXXXXX)
up=0

msg() { echo "dio-cluster: $*"; }
skip() { msg "SKIP: $*"; finish 77; }
finish() {
	[ "${KEEP:-0}" = 1 ] && exit "$1"
	[ "$up" = 1 ] && "$vmc" down >/dev/null 2>&1
	[ "$own_state" = 1 ] && rm -rf "$state"
	rm -rf "$shared"
	exit "$1"
}
on() {	# on NODE [--timeout S] -- CMD...
	local n=$1
	shift
	"$vmc" exec "$n" "$@"
}

[ "$(id -u)" = 0 ] || skip "must be root (network namespace, qemu)"
[ -x "$vmc" ] || skip "no deploy/vm-cluster"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -x "$builddir/daemon/glockd" ] ||
	skip "no glockd at $builddir/daemon/glockd (build the daemon first; cluster rig not ready)"
make -s -C "$top/kmod" >/dev/null 2>&1 || skip "kmod/glockfs.ko does not build"

# The test program goes to the shared directory: /shared in every guest.
mkdir -p "$shared/bin" "$shared/dio"
gcc -static -O2 -Wall -Werror -pthread -o "$shared/bin/dio-test" \
	"$top/tests/vm/dio-test.c" || { msg "FAIL: build dio-test"; exit 1; }

msg "bringing up 2 guests (state $state)"
if ! nice "$vmc" up --nodes 2 --shared "$shared" >"$state/up.log" 2>&1; then
	tail -20 "$state/up.log"
	skip "vm-cluster up failed (log above): cluster rig not ready"
fi
up=1

for n in 1 2; do
	on "$n" --timeout 30 -- 'grep -q "^glockfs " /proc/modules' ||
		skip "node $n: glockfs not loaded by the rig"
	if [ "${FAULT_RETRY:-1}" = 0 ]; then
		on "$n" --timeout 10 -- \
			'echo N > /sys/module/glockfs/parameters/fault_retry' ||
			skip "node $n: cannot set fault_retry"
	fi
	# glockd may still be joining the CPG group: retry the mount a while.
	on "$n" --timeout 90 -- 'mkdir -p /mnt/g; for i in $(seq 60); do
		mount -t glockfs -o lockspace=diocluster /shared/dio /mnt/g && exit 0
		sleep 1; done; exit 1' ||
		skip "node $n: glockfs mount failed (is glockd serving /dev/glock?)"
done
msg "both nodes mounted /shared/dio (fault_retry=${FAULT_RETRY:-1})"

# dio-test with ARGS1 on node 1 and ARGS2 on node 2 at once (word-split
# on purpose); sets r1 and r2 to their exit codes and prints both outputs.
both_sides() {	# TAG "ARGS1" "ARGS2"
	local p1 p2

	# shellcheck disable=SC2086
	on 1 --timeout 150 -- /shared/bin/dio-test $2 >"$state/$1.1" 2>&1 &
	p1=$!
	# shellcheck disable=SC2086
	on 2 --timeout 150 -- /shared/bin/dio-test $3 >"$state/$1.2" 2>&1 &
	p2=$!
	wait $p1
	r1=$?
	wait $p2
	r2=$?
	cat "$state/$1.1" "$state/$1.2"
}
# Either side stopped by its alarm (142) or by exec --timeout (124).
timed_out() {
	[ "$r1" = 142 ] || [ "$r2" = 142 ] || [ "$r1" = 124 ] || [ "$r2" = 124 ]
}

PHASES=${PHASES:-direct buffered readdir}
fails=0
passes=0
for mode in $PHASES; do
	[ "$mode" = readdir ] && continue
	on 1 --timeout 60 -- /shared/bin/dio-test --abba-setup /mnt/g ||
		{ msg "FAIL: setup"; fails=$((fails + 1)); continue; }
	both_sides "abba.$mode" "--abba-side 0 /mnt/g $mode $ROUNDS" \
		"--abba-side 1 /mnt/g $mode $ROUNDS"
	if [ $r1 = 0 ] && [ $r2 = 0 ]; then
		if on 2 --timeout 60 -- /shared/bin/dio-test --abba-check /mnt/g; then
			msg "ok   cross-node ABBA, $mode I/O"
			passes=$((passes + 1))
			continue
		fi
		msg "FAIL cross-node ABBA, $mode I/O: data check"
	elif timed_out; then
		msg "HANG cross-node ABBA, $mode I/O (exit $r1/$r2: time limit)"
	else
		msg "FAIL cross-node ABBA, $mode I/O (exit $r1/$r2)"
	fi
	fails=$((fails + 1))
	[ "${FAULT_RETRY:-1}" = 0 ] && break	# hung tasks hold the glocks
done

readdir_cycle() {
	local r

	on 1 --timeout 60 -- /shared/bin/dio-test --rd-setup /mnt/g
	r=$?
	if [ $r = 77 ]; then
		msg "SKIP readdir cycle: no file numbered below its directory"
		return
	elif [ $r != 0 ]; then
		msg "FAIL readdir cycle: setup (exit $r)"
		fails=$((fails + 1))
		return
	fi
	both_sides readdir "--rd-side 0 /mnt/g $RD_SECONDS" \
		"--rd-side 1 /mnt/g $RD_SECONDS"
	if [ $r1 = 0 ] && [ $r2 = 0 ]; then
		msg "ok   cross-node readdir into a mapping vs rename"
		passes=$((passes + 1))
	elif timed_out; then
		msg "HANG cross-node readdir vs rename (exit $r1/$r2: time limit)"
		fails=$((fails + 1))
	else
		msg "FAIL cross-node readdir vs rename (exit $r1/$r2)"
		fails=$((fails + 1))
	fi
}
case " $PHASES " in
*" readdir "*)
	# With fault_retry=0 the tasks hung above still hold their glocks.
	if [ "${FAULT_RETRY:-1}" = 0 ] && [ $fails != 0 ]; then
		msg "readdir cycle not run: hung tasks from above"
	else
		readdir_cycle
	fi ;;
esac

if "$vmc" dmesg-check; then
	passes=$((passes + 1))
else
	msg "FAIL: guest kernel log shows trouble"
	fails=$((fails + 1))
fi
msg "$([ $fails = 0 ] && echo PASS || echo "FAIL ($fails)")"
echo "$passes passed, $fails failed"
finish $((fails > 0))
