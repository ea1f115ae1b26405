#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cancel and timeout: a blocked lock with a timeout comes back TIMEDOUT and
# leaves no waiter behind (in any node's table or in the local agent); a
# cancelled lock comes back CANCELED, likewise; a waiter queued behind a
# timed-out one still gets the glock.
. "$(dirname "$0")/lib.sh"
test_begin "cancel and timeout"
LS=t06-$$

no_waiter_anywhere() { # no_waiter_anywhere NUMBER
	local n
	for n in 1 2 3; do
		dump_lacks "$n" $LS "$1" '^ W: ' || return 1
		dump_lacks "$n" $LS "$1" '^ H: .* w:' || return 1
	done
}

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1

probe_do p1 "lock a 600 EX" '^a (granted|error)'
check_eq "node 1 holds EX on 2/600" "a granted EX lvb=" "$PROBE_LINE"

t0=$(now_ms)
probe_do p2 "lock b 600 EX t=1500" '^b (granted|error)' 15
dt=$(( $(now_ms) - t0 ))
check_eq "node 2's EX with a 1.5 s timeout returns ETIMEDOUT" "b error ETIMEDOUT" "$PROBE_LINE"
check "... after waiting (${dt} ms >= 1400 ms)" test "$dt" -ge 1400
check_until 5 "no waiter left on 2/600 in any node's table or agent" no_waiter_anywhere 600
local_waiters() { ctl "$1" status | grep -q '^local: .* 0 waiters'; }
check "node 2's status: 0 local waiters" local_waiters 2

probe_do p2 "alock c 600 EX" '^c (pending|error)'
check_eq "node 2's async EX is pending" "c pending" "$PROBE_LINE"
check_until 5 "node 1's dump shows node 2 waiting" dump_has 1 $LS 600 '^ W: node:2 s:EX'
probe_do p2 "cancel c" '^c (cancel-ok|cancel-error)'
check_eq "cancel is accepted" "c cancel-ok" "$PROBE_LINE"
expect_line "the cancelled lock completes with ECANCELED" p2 '^c error ECANCELED$' 10
check_until 5 "no waiter left on 2/600 after the cancel" no_waiter_anywhere 600
probe_do p1 "cancel a" '^a (cancel-ok|cancel-error)'
check_eq "cancel of a granted lock: EALREADY" "a cancel-error EALREADY" "$PROBE_LINE"

probe_do p1 "unlock a" '^a (unlocked|error)'
probe_do p3 "lock d 600 EX t=10000" '^d (granted|error)' 15
check_eq "node 3's EX is granted after node 1 unlocks (no ghost waiter ahead)" \
	"d granted EX lvb=" "$PROBE_LINE"
check "node 2 got nothing from its timed-out and cancelled requests" \
	dump_lacks 1 $LS 600 '^ N: node:2 '
probe_do p3 "unlock d" '^d (unlocked|error)'

# A waiter behind a timed-out one.
probe_do p1 "lock e 601 EX" '^e (granted|error)'
probe_do p2 "alock f 601 EX t=1500" '^f (pending|error)'
check_until 5 "node 2 waits on 2/601" dump_has 1 $LS 601 '^ W: node:2 s:EX'
probe_do p3 "alock g 601 EX" '^g (pending|error)'
check_until 5 "node 3 waits behind node 2" waiters_are 1 $LS 601 "2:EX 3:EX"
expect_line "node 2's waiter times out" p2 '^f error ETIMEDOUT$' 10
check_until 5 "only node 3 still waits on 2/601" waiters_are 2 $LS 601 "3:EX"
expect_no_line "node 3 is not granted while node 1 holds EX" p3 '^g granted' 0.5
probe_do p1 "unlock e" '^e (unlocked|error)'
expect_line "node 3's waiter gets EX once node 1 unlocks" p3 '^g granted EX' 10
probe_do p3 "unlock g" '^g (unlocked|error)'
check_until 5 "tables equal on all nodes" tables_equal $LS 1 2 3
test_end
