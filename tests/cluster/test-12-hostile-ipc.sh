#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hostile IPC client: a raw libqb connection to node 1's glockd sends
# garbage, truncated, lying-header, wrong-id and bad-value requests (each
# must be answered with an error, the connection staying usable), floods
# requests without reading replies and vanishes, and writes junk on the
# service socket.  Meanwhile a normal client on the same node waits for a
# lock held on node 2: the daemon (same pid) keeps serving it and everyone.
. "$(dirname "$0")/lib.sh"
test_begin "hostile IPC client"
LS=t12-$$

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_do p2 "lock a 1200 EX" '^a (granted|error)'
check_eq "node 2 holds EX on 2/1200" "a granted EX lvb=" "$PROBE_LINE"
probe_do p1 "alock w 1200 EX" '^w (pending|error)'
check_eq "a normal client on node 1 waits for it" "w pending" "$PROBE_LINE"
# shellcheck disable=SC2034	# used in an eval below
gpid=$(daemon_pid 1 glockd)
m1=$(log_mark 1 glockd)

out=$(timeout -k 5 120 "$CLUSTER" exec 1 -- "$PROBE" hostile 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  .. hostile: /' | grep -v ': ok: ' | head -n 40
nok=$(grep -c '^ok: ' <<< "$out")
check "the hostile client's $nok checks all passed (every bad request answered with an error)" \
	test "$rc" -eq 0
check "node 1's glockd is the same process, still running" \
	eval '[ "$(daemon_pid 1 glockd)" = "$gpid" ] && alive 1 glockd'
check "node 1's glockd logged the malformed requests" \
	log_since 1 glockd "$m1" 'malformed request.*answered INVALID'
check "node 1's glockd still synced with 3 members" synced 1
check "glockctl on node 1 works" ctl 1 run --ex --timeout 5000 $LS/2/1201 -- true
check_until 10 "the vanished hostile client holds and waits for nothing (no H: line)" \
	eval 'dump_ls 1 hostile >/dev/null && ! dump_ls 1 hostile | grep -q "^ H: "'
probe_do p2 "unlock a" '^a (unlocked|error)'
expect_line "the waiting client on node 1 is granted after node 2 unlocks" p1 '^w granted EX' 10
probe_do p1 "unlock w" '^w (unlocked|error)'
check_until 10 "dumps equal on all nodes" tables_equal $LS 1 2 3
test_end
