#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Demote callbacks: a holder in a conflicting mode is asked to demote (SH
# wanted: to SH; EX wanted: to UN), `glockctl dump` shows the request, and
# a grant only cached by the node (no local holder) is given up unasked.
. "$(dirname "$0")/lib.sh"
test_begin "demote callbacks and node-level caching"
LS=t02-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1

# A. Node 1's client holds EX; node 2 asks SH: node 1's holder gets DEMOTE(SH).
probe_do p1 "lock a 200 EX" '^a (granted|error)'
check_eq "node 1 holds EX on 2/200" "a granted EX lvb=" "$PROBE_LINE"
probe_do p2 "alock b 200 SH" '^b (pending|error)'
check_eq "node 2's SH request is queued" "b pending" "$PROBE_LINE"
expect_line "node 1's holder gets a demote event with target SH" p1 '^a demote SH$' 10
check_until 5 "node 1's dump: its EX grant was sent a demote to SH (N: node:1 s:EX d:SH)" \
	dump_has 1 $LS 200 '^ N: node:1 s:EX d:SH'
check "node 1's dump: its local holder is marked demote-asked" \
	dump_has 1 $LS 200 '^ H: s:EX .*demote-asked'
check "node 1's dump: node 2 waits for SH" dump_has 1 $LS 200 '^ W: node:2 s:SH'
check "node 2's dump shows the same demote request" dump_has 2 $LS 200 '^ N: node:1 s:EX d:SH'
expect_no_line "node 2's SH is not granted while node 1's client still holds EX" p2 '^b granted' 1
probe_do p1 "unlock a" '^a (unlocked|error)'
expect_line "node 2 gets SH once node 1's client unlocks" p2 '^b granted SH' 10
check_until 5 "node 1 no longer holds EX on 2/200 (dump of node 3)" \
	dump_lacks 3 $LS 200 '^ N: node:1 s:EX'
check "node 2 holds SH on 2/200 (dump of node 3)" dump_has 3 $LS 200 '^ N: node:2 s:SH'
probe_do p2 "unlock b" '^b (unlocked|error)'

# B. Node 1 only caches EX (its client released): given up without any client.
probe_do p1 "lock c 201 EX" '^c (granted|error)'
probe_do p1 "unlock c" '^c (unlocked|error)'
check_eq "node 1 took and released EX on 2/201" "c unlocked" "$PROBE_LINE"
check "node 1's dump: here:EX and N: node:1 s:EX" \
	dump_has 1 $LS 201 '^G: .* here:EX'
check "node 1's dump: no local holder of the cached grant" dump_lacks 1 $LS 201 '^ H: '
check "node 2's dump: node 1 holds (cached) EX" dump_has 2 $LS 201 '^ N: node:1 s:EX'
probe_do p2 "lock d 201 SH t=10000" '^d (granted|error)'
check_eq "node 2's SH is granted: node 1 gave up its cached EX" "d granted SH lvb=" "$PROBE_LINE"
check_until 5 "node 1's dump: no EX grant of node 1 left on 2/201" \
	dump_lacks 1 $LS 201 '^ N: node:1 s:EX'
check "node 1's stats count the demote of 2/201" stats_has 1 $LS 201 'demotes: [1-9]'

probe_do p2 "unlock d" '^d (unlocked|error)'

# C. Node 1 holds SH, node 2 wants EX: node 1's holder is asked for UN.
probe_do p1 "lock e 202 SH" '^e (granted|error)'
check_eq "node 1 holds SH on 2/202" "e granted SH lvb=" "$PROBE_LINE"
probe_do p2 "alock f 202 EX" '^f (pending|error)'
expect_line "node 1's SH holder gets a demote event with target UN" p1 '^e demote UN$' 10
check_until 5 "dump: node 1's SH grant was sent a demote to UN" \
	dump_has 2 $LS 202 '^ N: node:1 s:SH d:UN'
probe_do p1 "unlock e" '^e (unlocked|error)'
expect_line "node 2 gets EX once node 1 unlocks" p2 '^f granted EX' 10
check_until 5 "node 1 holds nothing on 2/202 any more" dump_lacks 3 $LS 202 '^ N: node:1 '
probe_do p2 "unlock f" '^f (unlocked|error)'
check_until 10 "tables equal on all nodes" tables_equal $LS 1 2 3
test_end
