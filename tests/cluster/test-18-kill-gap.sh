#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a node's death costs the others (issue 10's recovery figures,
# printed, never asserted: timed assertions do not belong in tests).  While
# node 2 acquires and releases new glocks back to back (glockctl bench;
# with lock_path = p2p only glocks node 2 masters, which node 3 neither
# masters nor holds), node 3's glockd is killed, then its corosync; node 1
# waits for EX on a glock node 3 held.  The checks: node 2's bench went on
# to its end with no error, node 1's waiter was granted (fence = none).
# The figures: node 2's longest acquire (the gap the death caused it) and
# how long node 1's waiter waited after the kill, one host clock.  Node 3
# comes back at the end.
. "$(dirname "$0")/lib.sh"
test_begin "a node's death: the gap for the others (printed)"
LS=t18-$$

probe_start p1 1 $LS || exit 1
probe_start p3 3 $LS || exit 1
probe_do p3 "lock a 1800 EX" '^a (granted|error)'
check_eq "node 3 holds EX on 2/1800" "a granted EX lvb=" "$PROBE_LINE"
probe_do p1 "alock w 1800 EX" '^w (pending|error)'
check_eq "node 1 waits for EX on 2/1800" "w pending" "$PROBE_LINE"

tests=uncached
lock_path_p2p && tests=uncached-local
bench=$T_TMP/bench.json
on 2 glockctl bench --json --tests "$tests" --iterations 60000 --warmup 0 \
	--lockspace "$LS-b" > "$bench" 2> "$T_TMP/bench.err" &
bpid=$!
T_BG+=("$bpid")
sleep 2
t0=$(now_ms)
check "kill -9 node 3's glockd" cluster kill 3 glockd
check "kill -9 node 3's corosync" cluster kill 3 corosync
expect_line "node 1's waiter is granted EX on 2/1800 (fence = none)" p1 '^w granted EX' 30
waited=$(( $(now_ms) - t0 ))
check_until 20 "nodes 1 and 2 are synced with 2 members" eval 'synced 1 2 && synced 2 2'
members_ms=$(( $(now_ms) - t0 ))
wait "$bpid"
brc=$?
check "node 2's bench ran to its end (status $brc)" test "$brc" -eq 0
check "... with no error" eval 'grep -q "\"error\":\"\"" "$bench"'
max=$(sed -n 's/.*"max_us":\([0-9.]*\).*/\1/p' "$bench")
p50=$(sed -n 's/.*"p50_us":\([0-9.]*\).*/\1/p' "$bench")
info "lock_path ${GLOCK_LOCK_PATH:-cpg}: node 2's $tests acquires, median ${p50:-?} us, longest ${max:-?} us (the gap node 3's death caused); node 1's waiter for node 3's glock granted $waited ms after the kill; nodes 1 and 2 seen synced with 2 members by $members_ms ms (polled)"
probe_do p1 "unlock w" '^w (unlocked|error)'
probe_stop p3

check "node 3's corosync restarted" cluster start 3 corosync
check_until 30 "node 3's corosync answers" on 3 corosync-cmapctl -g totem.cluster_name
check "node 3's glockd restarted" cluster start 3 glockd
check_until 60 "all synced with 3 members" all_synced
test_end
