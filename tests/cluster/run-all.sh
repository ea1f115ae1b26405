#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-all.sh: run tests/cluster/test-*.sh (or the ones named) against ONE
# 3-node corosync + glockd cluster in network namespaces, brought up once.
#
#   tests/cluster/run-all.sh [test-NN-name.sh ...]
#
# Each test runs as its own process with GLOCK_TEST_SHARED=1 and a bound
# of GLOCK_TEST_STEP_TIMEOUT seconds (default 150); a test that kills
# daemons or partitions the network restores the cluster itself, and after
# every test this script checks that all nodes are synced again (restarting
# what is missing, or rebuilding the cluster if that fails).  The whole run
# is bounded by GLOCK_CLUSTER_TIMEOUT seconds (default 600) and always tears
# the cluster down (trap on EXIT, INT, TERM), then checks that no namespace
# or daemon of ours is left.
#
# Exit: 0 every check passed, 1 something failed, 77 skipped (not root,
# namespaces unusable, corosync missing, or a cluster with our prefix is
# already up).  The last line is "N passed, N failed" (checks, all tests).
# When something failed, the daemon logs and probe transcripts are copied
# to /tmp/glockd-cluster-logs.PID (GLOCK_TEST_KEEP_LOGS).

TEST_NAME=run-all
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

TESTDIR=$SRCDIR/tests/cluster
TOTAL_TIMEOUT=${GLOCK_CLUSTER_TIMEOUT:-900}
STEP_TIMEOUT=${GLOCK_TEST_STEP_TIMEOUT:-150}
declare -a RESULTS=()
current=

finish_all() {
	local rc=$? left p r
	trap - EXIT INT TERM
	[[ -n $current ]] && kill -TERM "$current" 2>/dev/null && wait "$current" 2>/dev/null
	probe_stop_all
	(( failed )) && keep_logs
	local pids
	pids=$(cat "$GLOCK_NETNS_STATE"/n*/pids/* 2>/dev/null)
	timeout -k 5 60 "$CLUSTER" down >/dev/null 2>&1 || fail "netns-cluster down failed"
	left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-(br|n[0-9]+)\$" | tr '\n' ' ')
	local alive=
	for p in $pids; do
		[[ -e /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive+=" $p"
	done
	if [[ -z $left && -z $alive && ! -e $GLOCK_NETNS_STATE ]]; then
		say "teardown: no $PREFIX-* namespaces, daemons or state left"
	else
		fail "teardown left namespaces [$left] processes [$alive]"
	fi
	[[ -n $T_WATCHDOG ]] && kill "$T_WATCHDOG" 2>/dev/null
	rm -rf -- "$T_TMP"
	say "---- summary ($(elapsed))"
	for r in "${RESULTS[@]}"; do
		say "$r"
	done
	say "$passed passed, $failed failed"
	(( failed == 0 && rc == 0 )) && exit 0
	exit 1
}

# healthy: every node's corosync and glockd run and glockd is synced with all.
healthy() {
	local n
	[[ ! -e $GLOCK_NETNS_STATE/partition ]] || return 1
	for n in $(seq 1 "$NODES"); do
		alive "$n" corosync && alive "$n" glockd && synced "$n" || return 1
	done
}

ensure_healthy() {
	healthy && return 0
	say "  .. cluster not healthy after $1: restoring"
	restore_cluster && healthy && return 0
	fail "cluster could not be restored after $1: rebuilding it"
	timeout -k 5 60 "$CLUSTER" down >/dev/null 2>&1
	cluster_up && healthy
}

# ------------------------------------------------------------ main

preflight
ip netns list | awk '{print $1}' | grep -Eq "^$PREFIX-(br|n[0-9]+)\$" &&
	skip "a $PREFIX-* netns cluster is already up (GLOCK_NETNS_PREFIX=$PREFIX $CLUSTER down)"

T_TMP=$(mktemp -d "/tmp/$PREFIX-run-all.XXXXXX")
export GLOCK_TEST_KEEP_LOGS=${GLOCK_TEST_KEEP_LOGS:-/tmp/glockd-cluster-logs.$$}
export GLOCK_NETNS_STATE=$T_TMP/state
trap finish_all EXIT
trap 'fail "interrupted by a signal or the watchdog"; exit 1' INT TERM
start_watchdog "$TOTAL_TIMEOUT"
find_probe
write_conf_extra

if (( $# )); then
	tests=()
	for t in "$@"; do tests+=("$TESTDIR/$(basename "$t")"); done
else
	tests=("$TESTDIR"/test-*.sh)
fi

T_OWN_CLUSTER=1
cluster_up || exit 1
healthy || { fail "cluster not synced after bring-up"; exit 1; }

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$T_TMP/$name.log
	t0=$(now_ms)
	# A test may ask for more: a "# step-timeout: N" line in its header.
	tmo=$(sed -n 's/^# step-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	(( ${tmo:-0} > STEP_TIMEOUT )) || tmo=$STEP_TIMEOUT
	GLOCK_TEST_SHARED=1 TEST_NAME=$name timeout -k 10 "$tmo" bash "$t" \
		> >(tee "$log") 2>&1 &
	current=$!
	wait "$current"
	rc=$?
	current=
	sleep 0.1	# let tee finish
	dt=$(( $(now_ms) - t0 ))
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
	p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<< "$line")
	f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<< "$line")
	p=${p:-0}
	f=${f:-0}
	passed=$(( passed + p ))
	failed=$(( failed + f ))
	if (( rc == 77 )); then
		verdict=SKIP
	elif (( rc == 124 || rc == 137 )); then
		verdict="FAIL (timed out after $tmo s)"
		fail "$name timed out after $tmo s"
	elif (( rc != 0 )); then
		verdict="FAIL (status $rc)"
		(( f == 0 )) && fail "$name exited with status $rc and no failed check"
	else
		verdict=PASS
	fi
	RESULTS+=("$(printf '%-28s %-6s %3d passed %3d failed %6d.%d s' "$name" "${verdict%% *}" \
		"$p" "$f" $((dt / 1000)) $((dt % 1000 / 100)))")
	ensure_healthy "$name" || { fail "giving up: no healthy cluster"; exit 1; }
done
exit 0
