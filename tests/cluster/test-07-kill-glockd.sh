#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGKILL of node 3's glockd while it holds EX and SH with waiters on the
# other nodes: the survivors see node 3 depart holding locks, fence = none
# releases them, and the waiters are granted within a bound; node 3's
# client sees its daemon go.  Node 3's glockd is then restarted and rejoins
# with the survivors' table.
. "$(dirname "$0")/lib.sh"
test_begin "SIGKILL of a glockd"
LS=t07-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1

probe_do p3 "lock a 700 EX" '^a (granted|error)'
check_eq "node 3 holds EX on 2/700" "a granted EX lvb=" "$PROBE_LINE"
probe_do p3 "lock b 701 SH" '^b (granted|error)'
check_eq "node 3 holds SH on 2/701" "b granted SH lvb=" "$PROBE_LINE"
probe_do p1 "alock w 700 EX" '^w (pending|error)'
check_eq "node 1 waits for EX on 2/700" "w pending" "$PROBE_LINE"
probe_do p2 "alock v 701 EX" '^v (pending|error)'
check_eq "node 2 waits for EX on 2/701" "v pending" "$PROBE_LINE"
check_until 5 "node 1's dump: node 3 holds 2/700, node 1 waits" \
	eval 'holders_are 1 $LS 700 "3:EX" && waiters_are 1 $LS 700 "1:EX"'
m1=$(log_mark 1 glockd)
m2=$(log_mark 2 glockd)

check "kill -9 node 3's glockd" cluster kill 3 glockd
t0=$(now_ms)
expect_line "node 1's waiter is granted EX on 2/700" p1 '^w granted EX' 20
expect_line "node 2's waiter is granted EX on 2/701" p2 '^v granted EX' 20
info "waiters granted $(( $(now_ms) - t0 )) ms after the kill"
expect_line "node 3's client sees its glockd go" p3 '^disconnected' 10
check "node 1 logged node 3 departing holding locks" \
	log_since 1 glockd "$m1" 'node 3.*departed holding locks'
check "node 2 logged it too" log_since 2 glockd "$m2" 'node 3.*departed holding locks'
check "the fencer (node 1, lowest) released them with fence = none, loudly" \
	log_since 1 glockd "$m1" "crit: .*fencing disabled \\(fence = none\\): node 3's locks are released"
check_until 5 "no grant of node 3 left (dump of node 2)" \
	eval '! dump_ls 2 $LS | grep -q "node:3"'
check "no departed node left in node 2's members" \
	eval '! ctl 2 members | grep -q departed'
check "node 1's status: 2 members, synced" synced 1 2

check "restart node 3's glockd" cluster start 3 glockd
check_until 30 "node 3 rejoins: all three synced with 3 members" all_synced
check_until 10 "node 3 got the table: dumps equal on all nodes" tables_equal $LS 1 2 3
check "node 3's table shows node 1's EX on 2/700" holders_are 3 $LS 700 "1:EX"
probe_do p1 "unlock w" '^w (unlocked|error)'
probe_do p2 "unlock v" '^v (unlocked|error)'
check_until 10 "node 3 can lock again after its restart" \
	ctl 3 run --ex --timeout 10000 $LS/2/700 -- true
test_end
