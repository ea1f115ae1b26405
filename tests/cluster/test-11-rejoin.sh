#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A node rejoining after a partition: node 1, holding SH and EX, is cut off;
# its clients are told their locks were lost; nodes 2 and 3 release node
# 1's locks and take new ones; after healing node 1 loads the snapshot (its
# dump matches the others') and can lock again.
. "$(dirname "$0")/lib.sh"
test_begin "rejoin after a partition"
LS=t11-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1
probe_do p1 "lock a 1100 SH" '^a (granted|error)'
check_eq "node 1 holds SH on 2/1100" "a granted SH lvb=" "$PROBE_LINE"
probe_do p1 "lock b 1101 EX" '^b (granted|error)'
check_eq "node 1 holds EX on 2/1101" "b granted EX lvb=" "$PROBE_LINE"
probe_do p1 "lvbw b before-cut" '^b (lvbw-ok|error)'
probe_do p2 "lock c 1102 EX" '^c (granted|error)'
check_eq "node 2 holds EX on 2/1102" "c granted EX lvb=" "$PROBE_LINE"
probe_do p1 "alock w 1102 SH" '^w (pending|error)'
check_eq "node 1 waits for SH on 2/1102" "w pending" "$PROBE_LINE"
m1=$(log_mark 1 glockd)

check "partition: node 1 alone" cluster partition 2,3
expect_line "node 1's SH holder is told its lock was lost" p1 '^a lost$' 20
expect_line "node 1's EX holder is told its lock was lost" p1 '^b lost$' 5
probe_do p1 "mode b" '^b mode='
check_eq "the handle reads lost" "b mode=UN lost=1" "$PROBE_LINE"
check "node 1 logged going unsynced" log_since 1 glockd "$m1" 'unsynced: quorum lost'
check_until 20 "nodes 2 and 3 are synced with 2 members" eval 'synced 2 2 && synced 3 2'
probe_do p2 "lock d 1101 EX t=10000" '^d (granted|error)' 15
check_eq "node 2 gets EX on 2/1101 (node 1's EX was released)" "d granted EX lvb=" "$PROBE_LINE"
probe_do p3 "lock e 1103 EX" '^e (granted|error)' 15
check_eq "node 3 takes EX on a new glock 2/1103 during the partition" "e granted EX lvb=" "$PROBE_LINE"
probe_do p3 "lock f 1100 SH t=10000" '^f (granted|error)' 15
check_eq "node 3 takes SH on 2/1100" "f granted SH lvb=" "$PROBE_LINE"
expect_no_line "node 1's pending SH on 2/1102 is not granted while cut off" p1 '^w granted' 0.5
before=$(grants $LS 2 3 | sed -e '/^ N: /s/ d:[A-Z]*//')

m1=$(log_mark 1 glockd)
check "heal" cluster heal
check_until 30 "all three synced with 3 members" all_synced
check "node 1 logged that it synced again" log_since 1 glockd "$m1" 'synced: this node holds'
check_until 10 "node 1's dump matches nodes 2 and 3 (the snapshot)" tables_equal $LS 1 2 3
# Node 1's waiter survives the quorum loss and asks again once synced
# (daemon/agent.c), so its W: line may be back, and with it the demote of
# the EX it waits for (" d:SH" on node 2's grant of 2/1102): leave both out.
check_eq "the table is the one the majority built while node 1 was cut off" "$before" \
	"$(grants $LS 1 2 3 | sed -e '/^ W: node:1 /d' -e '/^ N: /s/ d:[A-Z]*//')"
check "node 1's table: node 2 holds EX on 2/1101" holders_are 1 $LS 1101 "2:EX"
check "node 1's table: node 3 holds EX on 2/1103" holders_are 1 $LS 1103 "3:EX"
check "node 1's table: node 1 holds nothing on 2/1100 (node 3 SH only)" holders_are 1 $LS 1100 "3:SH"
check "node 1's table: node 2's EX on 2/1102, held through the partition" \
	eval 'holders_are 1 $LS 1102 "2:EX"'
# Node 1's waiter may have been asked again after the sync (it was not a holder).
probe_do p1 "unlock a" '^a (unlocked|error)'
check_eq "unlocking a lost handle frees it" "a unlocked" "$PROBE_LINE"
probe_do p1 "unlock b" '^b (unlocked|error)'
probe_do p2 "unlock c" '^c (unlocked|error)'
expect_line "node 1's SH request on 2/1102, made before the cut, is granted after the heal" \
	p1 '^w granted SH' 15
probe_do p2 "unlock d" '^d (unlocked|error)'
probe_do p1 "lock g 1101 EX t=10000" '^g (granted|error)' 15
check_eq "node 1 locks 2/1101 again (the LVB it set but never released went with its EX)" \
	"g granted EX lvb=" "$PROBE_LINE"
probe_do p1 "unlock g" '^g (unlocked|error)'
check_until 10 "dumps equal on all nodes at the end" tables_equal $LS 1 2 3
test_end
