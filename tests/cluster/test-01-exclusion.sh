#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cross-node exclusion and sharing: EX on node 1 makes an EX try on node 2
# fail and a blocking EX on node 2 wait until node 1 releases; SH is held on
# all three nodes at once.
. "$(dirname "$0")/lib.sh"
test_begin "cross-node exclusion and sharing"
LS=t01-$$

probe_start p1 1 $LS || exit 1
probe_do p1 "lock a 100 EX" '^a (granted|error)'
check_eq "node 1 takes EX on 2/100" "a granted EX lvb=" "$PROBE_LINE"

check "node 2: glockctl run --ex --try is refused while node 1 holds EX" \
	try_refused 2 ex $LS/2/100
check "node 3: glockctl run --sh --try is refused too" try_refused 3 sh $LS/2/100
check "dump on node 2 shows node 1 holding EX" dump_has 2 $LS 100 '^ N: node:1 s:EX'

# Blocking EX on node 2: must wait.
marker=$T_TMP/ran-on-2
ctl 2 run --ex $LS/2/100 -- sh -c "date +%s%N > $marker" >"$T_TMP/run2.out" 2>&1 &
run2=$!
T_BG+=("$run2")
check_until 10 "node 2's blocking EX shows up as a waiter in node 1's dump" \
	dump_has 1 $LS 100 '^ W: node:2 s:EX'
sleep 1
check_not "node 2's blocking EX has not run its command while node 1 holds EX" test -e "$marker"
probe_do p1 "unlock a" '^a (unlocked|error)'
check_eq "node 1 unlocks" "a unlocked" "$PROBE_LINE"
check_until 10 "node 2's blocking EX runs once node 1 released" test -s "$marker"
wait "$run2"
check_eq "glockctl run on node 2 exits 0" 0 $?
check_until 10 "no waiter left on 2/100 (node 3's view)" dump_lacks 3 $LS 100 '^ W: '

# Sharing: SH on all three nodes at once.
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1
for n in 1 2 3; do
	probe_cmd p$n "lock s$n 101 SH t=10000"
done
for n in 1 2 3; do
	expect_line "node $n gets SH on 2/101" p$n "^s$n granted SH" 15
done
check "node 1's dump: SH holders on nodes 1, 2 and 3" holders_are 1 $LS 101 "1:SH 2:SH 3:SH"
probe_do p3 "lock s3b 101 SH try" '^s3b (granted|error)'
check_eq "a second SH (TRY) on node 3 while all hold SH" "s3b granted SH lvb=" "$PROBE_LINE"
check "EX TRY on node 2 is refused while SH is held elsewhere" try_refused 2 ex $LS/2/101
for n in 1 2 3; do
	probe_do p$n "unlock s$n" "^s$n (unlocked|error)"
done
probe_do p3 "unlock s3b" '^s3b (unlocked|error)'
check_until 10 "node 3's EX (blocking, 10 s timeout) granted after all SH released" \
	ctl 3 run --ex --timeout 10000 $LS/2/101 -- true
check_until 10 "tables equal on all nodes" tables_equal $LS 1 2 3
test_end
