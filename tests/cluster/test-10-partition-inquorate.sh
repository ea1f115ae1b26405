#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An inquorate partition grants nothing: with node 1 cut off from 2 and 3,
# node 1 cannot get a new lock, not even one it had cached before the cut,
# and a request it had queued before the cut is not granted there; nodes 2
# and 3 (quorate together) can lock.  Node 1 runs a fence command (that
# would succeed) for the test: the inquorate minority must not fence the
# majority.  Node 1 goes back to fence = none at the end.
. "$(dirname "$0")/lib.sh"
test_begin "inquorate partition grants nothing"
LS=t10-$$

not_quorate() { ctl "$1" status | head -n 1 | grep -q 'NOT quorate'; }

fence=$(fence_command)
touch "$T_TMP/fence.ok" # this one would succeed
check "node 1's glockd restarted with fence = command:$fence (exits 0)" \
	restart_glockd 1 "command:$fence"

probe_start p1 1 $LS || exit 1
probe_do p1 "lock c 1001 EX" '^c (granted|error)'
check_eq "node 1 takes EX on 2/1001 before the cut" "c granted EX lvb=" "$PROBE_LINE"
probe_do p1 "unlock c" '^c (unlocked|error)'
check "node 1 caches EX on 2/1001" dump_has 1 $LS 1001 '^G: .* here:EX'

probe_start p2 2 $LS || exit 1
probe_do p2 "lock h 1004 EX" '^h (granted|error)'
check_eq "node 2 holds EX on 2/1004" "h granted EX lvb=" "$PROBE_LINE"
probe_do p1 "alock w 1004 SH" '^w (pending|error)'
check_eq "node 1 queues SH on 2/1004 before the cut" "w pending" "$PROBE_LINE"
check_until 5 "node 1's request is in the table" waiters_are 2 $LS 1004 "1:SH"

check "partition: node 1 alone, nodes 2 and 3 together" cluster partition 2,3
check_until 20 "node 1 reports NOT quorate" not_quorate 1
check_until 20 "nodes 2 and 3 are synced with 2 members" eval 'synced 2 2 && synced 3 2'
probe_do p1 "lock d 1000 EX t=2000" '^d (granted|error)' 10
check "node 1 cannot get a new lock (libglock: $PROBE_LINE)" \
	test "${PROBE_LINE#d error }" != "$PROBE_LINE"
probe_do p1 "lock e 1001 EX t=2000" '^e (granted|error)' 10
check "node 1 cannot re-take the EX it cached before the cut ($PROBE_LINE)" \
	test "${PROBE_LINE#e error }" != "$PROBE_LINE"
probe_do p1 "lock f 1002 SH try" '^f (granted|error)' 5
check "node 1 cannot get even a TRY SH ($PROBE_LINE)" test "${PROBE_LINE#f error }" != "$PROBE_LINE"
check_not "glockctl run on node 1 fails too" ctl 1 run --ex --timeout 2000 $LS/2/1003 -- true
check "node 2 can lock EX on 2/1000" ctl 2 run --ex --timeout 10000 $LS/2/1000 -- true
check "node 3 can lock EX on 2/1001 (node 1's cached EX was released)" \
	ctl 3 run --ex --timeout 10000 $LS/2/1001 -- true
check "node 2's table has no grant of node 1" eval '! dump_ls 2 $LS | grep -q "node:1 "'
check "node 1's glockd is still running" alive 1 glockd
probe_do p2 "sync" '^sync$'
check "node 2 still holds EX on 2/1004 (its client never let go)" holders_are 2 $LS 1004 "2:EX"
check "node 1 never granted its queued SH on 2/1004 while cut off (node 2 holds EX)" \
	eval '! probe_find p1 "^w granted"'
check "node 1, the inquorate minority, ran no fence command against nodes 2 and 3" \
	eval '! grep -q fence "$T_TMP/fence.log"'
[[ -s $T_TMP/fence.log ]] && info "fence log: $(tr '\n' '|' < "$T_TMP/fence.log")"

check "heal" cluster heal
check_until 30 "after healing all three are synced with 3 members" all_synced
check_until 10 "dumps equal on all nodes" tables_equal $LS 1 2 3
probe_do p1 "lock g 1000 EX t=10000" '^g (granted|error)' 15
check_eq "node 1 can lock again after healing" "g granted EX lvb=" "$PROBE_LINE"
probe_do p1 "unlock g" '^g (unlocked|error)'
probe_do p2 "unlock h" '^h (unlocked|error)'
probe_stop p1
check "node 1's glockd back to fence = none" restart_glockd 1 none
test_end
