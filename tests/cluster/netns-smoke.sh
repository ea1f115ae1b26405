#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# netns-smoke.sh: bring up a 3-node corosync cluster in network namespaces
# (deploy/netns-cluster), check quorum, run rawbench briefly between the
# nodes, kill one corosync and check the other two stay quorate, tear down.
#
# Exit 0 pass, 1 fail, 77 skip (not root, `ip netns` unusable, or a netns
# cluster already up).  Bounded: a watchdog ends the run after
# SMOKE_TIMEOUT seconds (default 240); the EXIT trap always tears down.
#
# Environment: RAWBENCH (binary; default GLOCK_BUILDDIR/tests/bench/rawbench,
# else it is compiled into a temporary directory), GLOCK_BUILDDIR.

# shellcheck disable=SC2317	# cleanup, finish and exited are called indirectly
set -u

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILDDIR=${GLOCK_BUILDDIR:-$SRCDIR}
CLUSTER=$SRCDIR/deploy/netns-cluster
PREFIX=${GLOCK_NETNS_PREFIX:-glk}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-240}
ITER=1000
PORT=17777

passed=0
failed=0
tmp=
watchdog=
declare -a bg_pids=()

skip() { echo "SKIP: $*"; exit 77; }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	[[ -n $tmp ]] && timeout 30 "$CLUSTER" down >/dev/null 2>&1
	[[ -n $watchdog ]] && kill "$watchdog" 2>/dev/null
	[[ -n $tmp ]] && rm -rf -- "$tmp"
}

finish() {
	local rc=$?
	cleanup
	echo "$passed passed, $failed failed"
	(( failed == 0 && rc == 0 )) && exit 0
	exit 1
}

# quorate_with NODE VOTES: node's corosync says quorate with VOTES votes.
quorate_with() {
	timeout 5 "$CLUSTER" exec "$1" -- corosync-quorumtool -s 2>/dev/null |
		awk -v n="$2" '/^Quorate:/ { q = ($2 == "Yes") } /^Total votes:/ { v = $3 }
			END { exit !(q && v == n) }'
}

# poll_until SECONDS CMD...: retry CMD every 50 ms until it succeeds.
poll_until() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	until "$@"; do
		(( $(date +%s%N) < end )) || return 1
		sleep 0.05
	done
}

# exited PID: our child PID has exited (a zombie counts).
exited() {
	[[ ! -e /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# json_field NAME: a numeric field of the JSON line on stdin.
json_field() { grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d: -f2; }

# ------------------------------------------------------------ preconditions

(( EUID == 0 )) || skip "not root"
probe=$PREFIX-smoke-probe-$$
ip netns add "$probe" 2>/dev/null || skip "ip netns unusable (cannot add a namespace)"
ip netns exec "$probe" true 2>/dev/null
probe_rc=$?
ip netns delete "$probe" 2>/dev/null
(( probe_rc == 0 )) || skip "ip netns exec unusable"
ip netns list | awk '{print $1}' | grep -Eq "^$PREFIX-(br|n[0-9]+)\$" &&
	skip "a $PREFIX-* netns cluster is already up (run deploy/netns-cluster down)"
command -v corosync >/dev/null || skip "corosync not installed"

tmp=$(mktemp -d /tmp/glk-smoke.XXXXXX)
export GLOCK_NETNS_STATE=$tmp/state
trap finish EXIT
trap 'fail "interrupted by a signal or the watchdog"; exit 1' INT TERM
(
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	sleep "$SMOKE_TIMEOUT" &
	sleeper=$!
	wait "$sleeper"
	echo "FAIL: watchdog: smoke test took over $SMOKE_TIMEOUT s"
	kill -TERM $$
) &
watchdog=$!

RAWBENCH=${RAWBENCH:-$BUILDDIR/tests/bench/rawbench}
if [[ ! -x $RAWBENCH ]]; then
	RAWBENCH=$tmp/rawbench
	# shellcheck disable=SC2046
	if ! gcc -std=gnu11 -O2 -Wall -Wextra "$SRCDIR/tests/bench/rawbench.c" \
			$(pkg-config --cflags --libs libcpg libqb) -o "$RAWBENCH"; then
		fail "cannot build rawbench"
		exit 1
	fi
fi

# --------------------------------------------------------------------- tests

if out=$(timeout 60 "$CLUSTER" up --nodes 3 --no-glockd 2>&1); then
	pass "up: $out"
else
	fail "up: $out"
	exit 1
fi

ok=1
for i in 1 2 3; do
	quorate_with "$i" 3 || { ok=0; fail "node $i not quorate with 3 votes"; }
done
(( ok )) && pass "all 3 nodes quorate with 3 votes"

out=$(timeout 60 "$CLUSTER" exec 1 -- "$RAWBENCH" cpg-self --iterations $ITER --json)
rc=$?
p50=$(json_field p50_us <<< "$out")
if (( rc == 0 )) && [[ -n $p50 ]] && [[ $(json_field n <<< "$out") == "$ITER" ]]; then
	pass "cpg-self: $out"
else
	fail "cpg-self (status $rc): $out"
fi

timeout 90 "$CLUSTER" exec 2 -- "$RAWBENCH" cpg-responder --seconds 60 --exit-when-alone \
	>"$tmp/responder.out" 2>&1 &
responder=$!
bg_pids+=("$responder")
out=$(timeout 60 "$CLUSTER" exec 1 -- "$RAWBENCH" cpg-rr --iterations $ITER --json)
rc=$?
if (( rc == 0 )) && [[ $(json_field n <<< "$out") == "$ITER" ]]; then
	pass "cpg-rr: $out"
else
	fail "cpg-rr (status $rc): $out / responder: $(tr '\n' ' ' < "$tmp/responder.out")"
fi
# The responder leaves once the requester has gone; it is bounded anyway.
if poll_until 5 exited "$responder"; then
	wait "$responder"
	rc=$?
	if (( rc == 0 )); then
		pass "cpg-responder exited by itself"
	else
		fail "cpg-responder status $rc: $(tr '\n' ' ' < "$tmp/responder.out")"
	fi
else
	fail "cpg-responder still running after the requester left"
fi

timeout 90 "$CLUSTER" exec 3 -- "$RAWBENCH" udp-server --port $PORT --seconds 60 \
	>"$tmp/udp-server.out" 2>&1 &
udp_server=$!
bg_pids+=("$udp_server")
sleep 0.2
out=$(timeout 60 "$CLUSTER" exec 1 -- "$RAWBENCH" udp-rr --peer 10.77.0.3 --port $PORT \
	--iterations $ITER --json)
rc=$?
if (( rc == 0 )) && [[ $(json_field n <<< "$out") == "$ITER" ]]; then
	pass "udp-rr: $out"
else
	fail "udp-rr (status $rc): $out"
fi
kill -TERM "$udp_server" 2>/dev/null
wait "$udp_server" 2>/dev/null

if out=$(timeout 10 "$CLUSTER" kill 3 corosync 2>&1); then
	pass "$out"
	if poll_until 10 eval 'quorate_with 1 2 && quorate_with 2 2'; then
		pass "nodes 1 and 2 quorate with 2 votes after node 3's corosync died"
	else
		fail "nodes 1 and 2 not quorate with 2 votes within 10 s"
	fi
	# Stay quorate, not just pass through it.
	sleep 1
	if quorate_with 1 2 && quorate_with 2 2; then
		pass "still quorate 1 s later"
	else
		fail "lost quorum after the kill"
	fi
	if out=$(timeout 30 "$CLUSTER" exec 1 -- "$RAWBENCH" cpg-self --iterations 100 --json); then
		pass "cpg-self on the 2-node ring: $out"
	else
		fail "cpg-self on the 2-node ring: $out"
	fi
else
	fail "kill 3 corosync: $out"
fi

# Tear down here to check that it cleans up; the EXIT trap's down is a no-op then.
corosync_pids=$(cat "$GLOCK_NETNS_STATE"/n*/pids/corosync 2>/dev/null)
if timeout 30 "$CLUSTER" down; then
	left=$(ip netns list | awk '{print $1}' | grep -E "^$PREFIX-(br|n[0-9]+)\$")
	alive=
	for p in $corosync_pids; do
		[[ -e /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive+=" $p"
	done
	shm=
	for p in $corosync_pids; do
		shm+=$(ls -d /dev/shm/qb-"$p"-* /dev/shm/qb-*-"$p"-blackbox-* 2>/dev/null)
	done
	if [[ -z $left && -z $alive && -z $shm && ! -e $GLOCK_NETNS_STATE ]]; then
		pass "down: no namespaces, corosync processes, shm files or state left"
	else
		fail "down left namespaces [$left] processes [$alive] shm [$shm]"
	fi
else
	fail "down failed"
fi

exit 0
