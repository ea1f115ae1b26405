#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGKILL of node 3's corosync while its glockd holds EX with a waiter on
# node 1: the survivors see node 3 depart (after the token timeout), fence =
# none releases its locks and node 1 is granted within a bound; node 3's
# glockd tells its client the lock is lost.  Corosync is restarted and node
# 3's glockd (still running) reconnects and resyncs by itself.
. "$(dirname "$0")/lib.sh"
test_begin "SIGKILL of a corosync"
LS=t08-$$

probe_start p1 1 $LS || exit 1
probe_start p3 3 $LS || exit 1

probe_do p3 "lock a 800 EX" '^a (granted|error)'
check_eq "node 3 holds EX on 2/800" "a granted EX lvb=" "$PROBE_LINE"
probe_do p1 "alock w 800 EX" '^w (pending|error)'
check_eq "node 1 waits for EX on 2/800" "w pending" "$PROBE_LINE"
check_until 5 "node 2's dump: node 3 holds, node 1 waits" \
	eval 'holders_are 2 $LS 800 "3:EX" && waiters_are 2 $LS 800 "1:EX"'
m1=$(log_mark 1 glockd)
m3=$(log_mark 3 glockd)
gpid3=$(daemon_pid 3 glockd)

check "kill -9 node 3's corosync" cluster kill 3 corosync
t0=$(now_ms)
expect_line "node 1's waiter is granted EX" p1 '^w granted EX' 30
info "granted $(( $(now_ms) - t0 )) ms after the kill"
expect_line "node 3's client is told its lock is lost" p3 '^a lost$' 15
probe_do p3 "mode a" '^a mode='
check_eq "node 3's handle reads lost" "a mode=UN lost=1" "$PROBE_LINE"
check "node 1 logged node 3 departing holding locks" \
	log_since 1 glockd "$m1" 'node 3.*departed holding locks'
check "node 1 released them (fence = none)" \
	log_since 1 glockd "$m1" "fencing disabled \\(fence = none\\): node 3's locks"
check "node 3's glockd logged the lost corosync connection" \
	log_since 3 glockd "$m3" 'lost the connection to corosync'
check "node 3's glockd kept running" alive 3 glockd
check_until 5 "node 3's status: NOT connected" \
	eval 'ctl 3 status | grep -q "NOT connected"'
check "node 3 cannot lock while corosync is down" \
	eval '! ctl 3 run --ex --timeout 1000 $LS/2/801 -- true'
probe_do p3 "unlock a" '^a (unlocked|error)'
check_eq "unlocking the lost handle just frees it" "a unlocked" "$PROBE_LINE"

check "restart node 3's corosync" cluster start 3 corosync
check_until 40 "node 3's glockd reconnects by itself: all synced with 3 members" all_synced
check_eq "... the same glockd process" "$gpid3" "$(daemon_pid 3 glockd)"
check "node 3's glockd logged the reconnect" log_since 3 glockd "$m3" 'reconnected to corosync'
check_until 10 "dumps equal on all nodes" tables_equal $LS 1 2 3
check "node 3's table shows node 1's EX" holders_are 3 $LS 800 "1:EX"
probe_do p1 "unlock w" '^w (unlocked|error)'
check_until 10 "node 3 can lock again" ctl 3 run --ex --timeout 10000 $LS/2/800 -- true
test_end
