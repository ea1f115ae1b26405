#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Startup fencing (DESIGN §3): every glockd stops, so the next table starts
# empty.  Nodes 1 and 2 start again with a fence command and node 3 stays
# away: node 3 may still hold locks nobody remembers, so nothing is granted
# on any glock until it is fenced (checked while the fence command fails,
# then once it succeeds).  Second round: with a long startup delay, node 3
# joins before it is fenced and the waiting lock is granted with no fence
# command run at all.  Nodes 1 and 2 go back to fence = none at the end.
. "$(dirname "$0")/lib.sh"
test_begin "startup fencing"
LS=t20-$$

fence=$(fence_command)
extra=$T_TMP/extra.conf

# with_conf DELAY_MS: node config extras for the nodes started next.
with_conf() {
	{
		[[ -n ${GLOCK_CONF_EXTRA:-} && -r $GLOCK_CONF_EXTRA ]] &&
			grep -v '^startup_fence_delay_ms' "$GLOCK_CONF_EXTRA"
		echo "startup_fence_delay_ms = $1"
	} > "$extra.new"
	mv "$extra.new" "$extra"
}

stop_all_glockd() {
	local n
	for n in 3 2 1; do
		alive "$n" glockd && { cluster stop "$n" glockd >/dev/null || return 1; }
	done
	for n in 1 2 3; do
		! alive "$n" glockd || return 1
	done
}

start_fencing() { # NODE
	GLOCK_FENCE=command:$fence GLOCK_CONF_EXTRA=$extra \
		timeout -k 5 60 "$CLUSTER" start "$1" glockd >/dev/null
}

absent_line() { ctl "$1" members | grep -q "(startup fencing): 3(NOT fenced)"; }

# ---- round 1: node 3 absent, fenced only once the command succeeds
with_conf 1000
check "every glockd stopped (SIGTERM): the next table starts empty" stop_all_glockd
m1=$(log_mark 1 glockd)
check "node 1's glockd started with fence = command:$fence" start_fencing 1
check "node 2's glockd started with fence = command:$fence" start_fencing 2
check_until 30 "nodes 1 and 2 synced with 2 members" eval 'synced 1 2 && synced 2 2'
check_until 10 "glockctl members on node 2: node 3 absent at a fresh start, NOT fenced" \
	absent_line 2
check "node 1 logs node 3 for startup fencing" \
	log_since 1 glockd "$m1" 'node 3.*startup fencing'

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_do p2 "lock n 900 EX t=1500" '^n (granted|error)' 10
check_eq "no lock is granted while node 3 is not fenced" "n error ETIMEDOUT" "$PROBE_LINE"
probe_do p1 "lock x 901 SH noexp t=1500" '^x (granted|error)' 10
check_eq "NOEXP does not pass an absent node either" "x error ETIMEDOUT" "$PROBE_LINE"
check_until 15 "node 1 runs the fence command for node 3, after the 1 s delay" \
	grep -q ' fence 3$' "$T_TMP/fence.log"
check_until 10 "the fence command is retried" \
	eval '[ "$(grep -c " fence 3$" "$T_TMP/fence.log")" -ge 2 ]'
probe_do p2 "alock w 900 EX" '^w (pending|error)'
check_eq "node 2 waits for EX" "w pending" "$PROBE_LINE"

touch "$T_TMP/fence.ok"
t0=$(now_ms)
expect_line "once node 3 is fenced, node 2's waiter is granted" p2 '^w granted EX' 15
info "granted $(( $(now_ms) - t0 )) ms after the fence command was made to succeed"
check "node 1 logged node 3 fenced" log_since 1 glockd "$m1" 'node 3.*fenced by '
check_until 5 "no absent node left" eval '! ctl 1 members | grep -q "startup fencing"'
probe_do p1 "lock y 901 SH t=5000" '^y (granted|error)' 10
check_eq "node 1 is granted SH on another glock" "y granted SH lvb=" "$PROBE_LINE"
probe_stop_all

# ---- round 2: node 3 joins within the delay: no fencing at all
rm -f "$T_TMP/fence.ok"
: > "$T_TMP/fence.log"
with_conf 60000
check "every glockd stopped again" stop_all_glockd
check "node 1's glockd started (delay 60 s)" start_fencing 1
check "node 2's glockd started (delay 60 s)" start_fencing 2
check_until 30 "nodes 1 and 2 synced with 2 members" eval 'synced 1 2 && synced 2 2'
check_until 10 "node 3 absent again" absent_line 1
probe_start q1 1 $LS || exit 1
probe_do q1 "alock v 902 EX" '^v (pending|error)'
check_eq "node 1 waits for EX" "v pending" "$PROBE_LINE"
expect_no_line "not granted while node 3 is away" q1 '^v (granted|error)' 2
check "node 3's glockd started" cluster start 3 glockd
expect_line "node 3 joined: node 1's waiter is granted" q1 '^v granted EX' 20
check_until 30 "all synced with 3 members" all_synced
check "no fence command ran for a node that joined" \
	eval '! grep -q " fence " "$T_TMP/fence.log"'
check "glockctl members: nothing departed" eval '! ctl 2 members | grep -q departed'
probe_stop_all

# ---- back to fence = none on nodes 1 and 2 (what they cache is fenced at once)
touch "$T_TMP/fence.ok"
check "node 1's glockd restarted with fence = none" restart_glockd 1 none
check "node 2's glockd restarted with fence = none" restart_glockd 2 none
check_until 10 "dumps equal on all nodes" tables_equal $LS 1 2 3
test_end
