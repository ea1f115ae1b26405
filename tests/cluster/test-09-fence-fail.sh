#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A fence command that fails keeps a dead node's locks blocked: node 2 (the
# fencer once node 1 is gone) runs fence = command:SCRIPT; node 1 holds EX
# with a waiter on node 3; node 1's glockd is killed.  While SCRIPT exits 1
# the waiter stays blocked (checked over several retries; NOEXP does not
# help either); once SCRIPT succeeds the waiter is granted.  Node 2 goes
# back to fence = none and node 1 is restarted at the end.
. "$(dirname "$0")/lib.sh"
test_begin "failing fence command"
LS=t09-$$

fence=$(fence_command)

check "node 2's glockd restarted with fence = command:$fence" restart_glockd 2 "command:$fence"
check "node 2's config has the fence command" grep -qx "fence = command:$fence" \
	"$GLOCK_NETNS_STATE/n2/glockd.conf"

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1
probe_do p1 "lock a 900 EX" '^a (granted|error)'
check_eq "node 1 holds EX on 2/900" "a granted EX lvb=" "$PROBE_LINE"
probe_do p1 "lock b 901 EX" '^b (granted|error)'
probe_do p3 "alock w 900 EX" '^w (pending|error)'
check_eq "node 3 waits for EX on 2/900" "w pending" "$PROBE_LINE"
check_until 5 "node 2's dump: node 3 waits behind node 1" \
	eval 'holders_are 2 $LS 900 "1:EX" && waiters_are 2 $LS 900 "3:EX"'
m2=$(log_mark 2 glockd)

check "kill -9 node 1's glockd" cluster kill 1 glockd
check_until 10 "node 2 runs the fence command for node 1" grep -q ' fence 1$' "$T_TMP/fence.log"
check_until 10 "node 2 logs the failure" \
	log_since 2 glockd "$m2" 'node 1: fence command .* failed \(exit status 1'
probe_do p2 "lock n 901 EX noexp t=1500" '^n (granted|error)' 10
check_eq "a NOEXP lock over the unfenced node's expired EX is not granted" \
	"n error ETIMEDOUT" "$PROBE_LINE"
expect_no_line "node 3's waiter stays blocked while the fence command fails" p3 '^w (granted|error)' 3
check "the fence command was retried" \
	eval '[ "$(grep -c " fence 1$" "$T_TMP/fence.log")" -ge 2 ]'
check "node 2's dump: node 1's EX is expired, node 3 still waits" \
	eval 'dump_has 2 $LS 900 "^ X: node:1 s:EX" && waiters_are 2 $LS 900 "3:EX"'
check "glockctl members on node 3: node 1 departed, NOT fenced" \
	eval 'ctl 3 members | grep -q "departed, holding expired grants: 1(NOT fenced)"'

touch "$T_TMP/fence.ok"
t0=$(now_ms)
expect_line "once the fence command succeeds, node 3's waiter is granted" p3 '^w granted EX' 15
info "granted $(( $(now_ms) - t0 )) ms after the fence command was made to succeed"
check "node 2 logged node 1 fenced" log_since 2 glockd "$m2" 'node 1.*fenced by '
check_until 5 "no departed node left" eval '! ctl 3 members | grep -q departed'
check_until 5 "no expired grant left on 2/900" dump_lacks 3 $LS 900 '^ X: '
probe_do p3 "unlock w" '^w (unlocked|error)'
probe_stop p1

# Back to fence = none on node 2; node 1 back.
check "node 1's glockd restarted" cluster start 1 glockd
check_until 30 "all synced with 3 members" all_synced
check "node 2's glockd restarted with fence = none" restart_glockd 2 none
check "node 2's config is back to fence = none" grep -qx "fence = none" \
	"$GLOCK_NETNS_STATE/n2/glockd.conf"
check_until 10 "dumps equal on all nodes" tables_equal $LS 1 2 3
test_end
