#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Conversions through libglock: SH->EX and EX->SH on one node, an up-
# conversion that waits for another node's SH holder, a down-conversion that
# lets a waiter in, a conversion deadlock (DEADLK to the newcomer), and a
# conversion that times out keeping the old mode.
. "$(dirname "$0")/lib.sh"
test_begin "conversions"
LS=t03-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1

probe_do p1 "lock a 300 SH" '^a (granted|error)'
check_eq "node 1 takes SH on 2/300" "a granted SH lvb=" "$PROBE_LINE"
probe_do p1 "convert a EX t=10000" '^a (converted|error)'
check_eq "SH->EX with no other holder is granted" "a converted EX lvb=" "$PROBE_LINE"
check_until 5 "dump: node 1 holds EX" dump_has 2 $LS 300 '^ N: node:1 s:EX'
probe_do p1 "convert a SH" '^a (converted|error)'
check_eq "EX->SH is granted" "a converted SH lvb=" "$PROBE_LINE"
# The node may keep EX cached (EX covers SH); the local holder is SH.
check_until 5 "node 1's dump: its local holder is SH" dump_has 1 $LS 300 '^ H: s:SH '


# Up-conversion that has to wait for node 2's SH holder.
probe_do p2 "lock b 300 SH t=10000" '^b (granted|error)'
check_eq "node 2 takes SH alongside" "b granted SH lvb=" "$PROBE_LINE"
probe_cmd p1 "convert a EX t=20000"
check_until 5 "dump: node 1's conversion to EX waits (W: node:1 s:EX ... convert)" \
	dump_has 3 $LS 300 '^ W: node:1 s:EX .*convert'
expect_line "node 2's SH holder is asked to demote to UN" p2 '^b demote UN$' 10
expect_no_line "node 1's conversion is not granted while node 2 holds SH" p1 '^a (converted|error)' 1
probe_do p2 "unlock b" '^b (unlocked|error)'
expect_line "node 1's SH->EX completes once node 2 unlocks" p1 '^a converted EX' 10
check_until 5 "dump: node 1 holds EX, node 2 nothing, no waiter" \
	eval 'holders_are 3 $LS 300 "1:EX" && waiters_are 3 $LS 300 ""'

# Down-conversion with a waiter: EX->SH lets node 2's SH in at once.
probe_do p2 "alock c 300 SH" '^c (pending|error)'
check_eq "node 2's SH waits behind node 1's EX" "c pending" "$PROBE_LINE"
expect_line "node 1's EX holder is asked to demote to SH" p1 '^a demote SH$' 10
probe_do p1 "convert a SH" '^a (converted|error)'
check_eq "node 1 converts EX->SH" "a converted SH lvb=" "$PROBE_LINE"
expect_line "node 2's SH is granted after the down-conversion" p2 '^c granted SH' 10
check_until 5 "dump: nodes 1 and 2 both hold SH" holders_are 3 $LS 300 "1:SH 2:SH"

# Conversion deadlock: both hold SH, both convert to EX.  DESIGN.md §2: the
# newcomer is answered DENY(DEADLOCK) (-EDEADLK), as the DLM's CONVDEADLK.
probe_cmd p1 "convert a EX t=30000"
check_until 5 "dump: node 1's SH->EX is pending" dump_has 2 $LS 300 '^ W: node:1 s:EX .*convert'
expect_line "node 2's SH holder is asked to demote to UN" p2 '^c demote UN$' 10
probe_do p2 "convert c EX t=5000" '^c (converted|error)' 10
check_eq "node 2's SH->EX, second in a conversion deadlock, gets EDEADLK (not a 5 s timeout)" \
	"c error EDEADLK" "$PROBE_LINE"
probe_do p2 "mode c" '^c mode='
check_eq "node 2 still holds SH after EDEADLK" "c mode=SH lost=0" "$PROBE_LINE"
probe_do p2 "unlock c" '^c (unlocked|error)'
check_eq "node 2 unlocks (as DLM's CONVDEADLK asks)" "c unlocked" "$PROBE_LINE"
expect_line "node 1's conversion to EX then completes" p1 '^a converted EX' 10

# A conversion that times out keeps the old mode and leaves no waiter.
probe_do p2 "lock d 301 SH" '^d (granted|error)'
probe_do p1 "lock e 301 SH" '^e (granted|error)'
check_eq "nodes 1 and 2 hold SH on 2/301" "e granted SH lvb=" "$PROBE_LINE"
probe_do p1 "convert e EX t=1000" '^e (converted|error)' 10
check_eq "SH->EX with a 1 s timeout, node 2 holding SH, times out" "e error ETIMEDOUT" "$PROBE_LINE"
probe_do p1 "mode e" '^e mode='
check_eq "node 1 still holds SH after the timed-out conversion" "e mode=SH lost=0" "$PROBE_LINE"
check_until 5 "no waiter left on 2/301" dump_lacks 2 $LS 301 '^ W: '
probe_do p1 "unlock e" '^e (unlocked|error)'
probe_do p2 "unlock d" '^d (unlocked|error)'
probe_do p1 "unlock a" '^a (unlocked|error)'
check_until 10 "tables equal on all nodes" tables_equal $LS 1 2 3
test_end
