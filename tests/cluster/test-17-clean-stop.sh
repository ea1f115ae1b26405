#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A clean stop (SIGTERM) gives back the node's cached grants before it
# leaves, so the cluster need not fence it for them.  Node 1 caches EX on
# 2/17xx (taken, released) and a client of node 1 holds EX on 2/1701;
# node 2, the fencer once node 1 is gone, runs a fence command that fails.
# After SIGTERM to node 1's glockd, node 3 gets 2/17xx at once although
# node 1 is never fenced: with a kill -9 (test-09) a cached grant stays
# blocked like a held one.  The EX node 1's client held is not given back
# (the process could still write): it stays blocked until the fence command
# succeeds.  Node 2 goes back to fence = none and node 1 restarts.
. "$(dirname "$0")/lib.sh"
test_begin "clean stop gives back cached grants"
LS=t17-$$

fence=$(fence_command)
check "node 2's glockd restarted with fence = command:$fence (fails)" \
	restart_glockd 2 "command:$fence"

probe_start p1 1 $LS || exit 1
probe_start p3 3 $LS || exit 1
# lock_path = p2p: a node that leaves is always fenced (the masters' tables
# are not replicated), and a glock it mastered waits for that on its new
# master (DESIGN §9, placeholders); so the cached glock is one another node
# masters.  cpg: the first number will do.
G=
for (( n = 1710; n < 1740; n++ )); do
	probe_do p1 "lock a$n $n EX" "^a$n (granted|error)"
	probe_do p1 "unlock a$n" "^a$n (unlocked|error)"
	if ! lock_path_p2p || ! own_block 1 $LS $n | head -n 1 | grep -q ' m:1 '; then
		G=$n
		break
	fi
done
check "node 1 caches EX on 2/$G" \
	eval '[[ -n $G ]] && dump_has 1 $LS $G "^G: .* here:EX"'
probe_do p1 "lock b 1701 EX" '^b (granted|error)'
check_eq "node 1's client holds EX on 2/1701" "b granted EX lvb=" "$PROBE_LINE"
m1=$(log_mark 1 glockd)
m2=$(log_mark 2 glockd)

check "SIGTERM to node 1's glockd; it exits by itself" cluster stop 1 glockd
check "node 1 logged what it gave back and what went with it" \
	log_since 1 glockd "$m1" 'gave back [0-9]+ cached grant\(s\); 1 glock\(s\) still held'
check_until 20 "nodes 2 and 3 are synced with 2 members" eval 'synced 2 2 && synced 3 2'
probe_do p3 "lock c $G EX t=5000" '^c (granted|error)' 10
check_eq "node 3 gets 2/$G with node 1 not fenced" "c granted EX lvb=" "$PROBE_LINE"
check "the fence command has not succeeded" eval '! [ -e "$T_TMP/fence.ok" ]'
probe_do p3 "lock d 1701 EX t=1500" '^d (granted|error)' 10
check_eq "2/1701, held by node 1's client, stays blocked until node 1 is fenced" \
	"d error ETIMEDOUT" "$PROBE_LINE"
check_until 10 "node 2 runs the fence command for node 1" grep -q ' fence 1$' "$T_TMP/fence.log"

touch "$T_TMP/fence.ok"
probe_do p3 "lock e 1701 EX t=15000" '^e (granted|error)' 20
check_eq "once node 1 is fenced, node 3 gets 2/1701" "e granted EX lvb=" "$PROBE_LINE"
check "node 2 logged node 1 fenced" log_since 2 glockd "$m2" 'node 1.*fenced by '
probe_do p3 "unlock c" '^c (unlocked|error)'
probe_do p3 "unlock e" '^e (unlocked|error)'
probe_stop p1

check "node 1's glockd restarted" cluster start 1 glockd
check_until 30 "all synced with 3 members" all_synced
check "node 2's glockd restarted with fence = none" restart_glockd 2 none
test_end
