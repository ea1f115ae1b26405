#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# TRY and TRY_1CB: both fail at once without queueing when the glock is
# held elsewhere; TRY leaves the holder alone, TRY_1CB makes it get a
# demote (so a cached grant is given up and a later TRY succeeds).
. "$(dirname "$0")/lib.sh"
test_begin "TRY and TRY_1CB"
LS=t05-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1

probe_do p1 "lock a 500 EX" '^a (granted|error)'
check_eq "node 1 holds EX on 2/500" "a granted EX lvb=" "$PROBE_LINE"
probe_do p2 "lock b 500 EX try" '^b (granted|error)' 5
check_eq "node 2's EX TRY fails with EAGAIN" "b error EAGAIN" "$PROBE_LINE"
check "a failed TRY leaves no waiter" dump_lacks 1 $LS 500 '^ W: '
expect_no_line "TRY sends node 1's holder no demote" p1 '^a demote' 1
probe_do p2 "lock c 500 SH 1cb" '^c (granted|error)' 5
check_eq "node 2's SH TRY_1CB fails with EAGAIN" "c error EAGAIN" "$PROBE_LINE"
expect_line "TRY_1CB makes node 1's holder get a demote (to SH)" p1 '^a demote SH$' 10
check "a failed TRY_1CB leaves no waiter" dump_lacks 1 $LS 500 '^ W: '
check "node 1 still holds EX until its client acts" dump_has 3 $LS 500 '^ N: node:1 s:EX'
probe_do p1 "unlock a" '^a (unlocked|error)'
check_until 10 "after node 1's client unlocks, node 2's SH TRY succeeds" \
	ctl 2 run --sh --try $LS/2/500 -- true
check_until 5 "node 1 went down to SH as the demote asked (or let go)" \
	dump_lacks 2 $LS 500 '^ N: node:1 s:EX'

# A grant cached by node 3 (no local holder): TRY does not make it go, TRY_1CB does.
probe_do p3 "lock e 501 EX" '^e (granted|error)'
probe_do p3 "unlock e" '^e (unlocked|error)'
check_eq "node 3 took and released EX on 2/501" "e unlocked" "$PROBE_LINE"
probe_do p2 "lock f 501 EX try" '^f (granted|error)' 5
check_eq "node 2's EX TRY fails against node 3's cached EX" "f error EAGAIN" "$PROBE_LINE"
sleep 0.5
check "node 3 still caches EX after a plain TRY" dump_has 3 $LS 501 '^ N: node:3 s:EX'
probe_do p2 "lock g 501 EX 1cb" '^g (granted|error)' 5
check "node 2's EX TRY_1CB against a cached grant: EAGAIN (or granted if the demote won the race)" \
	test "$PROBE_LINE" = "g error EAGAIN" -o "$PROBE_LINE" = "g granted EX lvb="
[[ $PROBE_LINE == "g granted"* ]] && probe_do p2 "unlock g" '^g (unlocked|error)'
check_until 5 "node 3 gave up its cached EX after the TRY_1CB" \
	dump_lacks 1 $LS 501 '^ N: node:3 s:EX'
probe_do p2 "lock h 501 EX try" '^h (granted|error)' 5
check_eq "node 2's EX TRY now succeeds" "h granted EX lvb=" "$PROBE_LINE"
probe_do p2 "unlock h" '^h (unlocked|error)'
check_until 5 "tables equal on all nodes" tables_equal $LS 1 2 3
test_end
