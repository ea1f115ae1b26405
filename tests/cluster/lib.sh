# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/cluster/lib.sh: helpers for the netns cluster tests (sourced).
#
# A test script does:
#     . "$(dirname "$0")/lib.sh"
#     test_begin "what it checks"        # skip checks, cluster, traps
#     ... on 2 glockctl status; check "..." cmd; probe_start ...; ...
#     test_end                           # "N passed, N failed", exit status
#
# Run alone, test_begin brings up its own 3-node cluster (glockd with
# fence = none) and tears it down on exit.  Under run-all.sh the cluster is
# already up (GLOCK_TEST_SHARED=1, GLOCK_NETNS_STATE set) and is left up;
# a test that kills daemons restarts them (restore_cluster) before it ends.
#
# Exit status of a test: 0 all checks passed, 1 a check failed, 77 skipped
# (not root, namespaces unusable, corosync missing).
#
# Environment:
#   GLOCK_BUILDDIR       build tree (default: SRCDIR/build, as deploy/build
#                        makes it, else the source tree)
#   GLOCK_NETNS_PREFIX   namespace prefix (default gct)
#   GLOCK_PROBE          glock-probe binary (default BUILDDIR/tests/cluster/
#                        glock-probe, else compiled into the temp dir)
#   GLOCK_TEST_TIMEOUT   seconds a lone test may take (default 300)
#   GLOCK_TEST_KEEP_LOGS directory to copy daemon logs to when a check failed
#                        (default /tmp/glockd-cluster-logs.PID)

# shellcheck disable=SC2034	# variables used by the test scripts
set -u

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -z ${GLOCK_BUILDDIR:-} && ! -x $SRCDIR/build/daemon/glockd && -x $SRCDIR/daemon/glockd ]]; then
	BUILDDIR=$SRCDIR	# an in-tree build
else
	BUILDDIR=${GLOCK_BUILDDIR:-$SRCDIR/build}
fi
CLUSTER=$SRCDIR/deploy/netns-cluster
export GLOCK_NETNS_PREFIX=${GLOCK_NETNS_PREFIX:-gct}
export GLOCK_BUILDDIR=$BUILDDIR
PREFIX=$GLOCK_NETNS_PREFIX
GLOCKCTL=${GLOCKCTL:-$BUILDDIR/daemon/glockctl}
GLOCKD=${GLOCKD:-$BUILDDIR/daemon/glockd}
NODES=3
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}

passed=0
failed=0
T_OWN_CLUSTER=0     # this process brought the cluster up and takes it down
T_TMP=              # temp dir owned by this process
T_WATCHDOG=
declare -A PROBE_FD=() PROBE_PID=() PROBE_OUT=() PROBE_USED=()
declare -a T_BG=()  # other background pids to stop on exit

# ------------------------------------------------------------ reporting

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
T_START_MS=$(now_ms)
elapsed() { local d=$(( $(now_ms) - T_START_MS )); printf '%d.%d s' $((d / 1000)) $((d % 1000 / 100)); }

say()  { printf '%s\n' "$*"; }
info() { printf '  .. %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS: %s [%s]: %s\n' "$TEST_NAME" "$(elapsed)" "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL: %s [%s, %s]: %s\n' "$TEST_NAME" "$(elapsed)" "$(date +%T.%3N)" "$*"; }
skip() { printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*"; exit 77; }

# check DESC CMD...: CMD must succeed.  (Locals are _-prefixed: CMD may be
# an eval of the caller's variables.)
check() {
	local _desc=$1 _out _rc
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	if (( _rc == 0 )); then pass "$_desc"; return 0; fi
	fail "$_desc (status $_rc: $(printf '%s' "$_out" | tail -n 5 | tr '\n' '|'))"
	return 1
}

# check_not DESC CMD...: CMD must fail.
check_not() {
	local _desc=$1 _out _rc
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	if (( _rc != 0 )); then pass "$_desc"; return 0; fi
	fail "$_desc (it succeeded: $(printf '%s' "$_out" | tail -n 5 | tr '\n' '|'))"
	return 1
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [[ $2 == "$3" ]]; then pass "$1"; return 0; fi
	fail "$1: expected [$2], got [$3]"
	return 1
}

# wait_until SECONDS CMD...: retry CMD every 100 ms until it succeeds;
# status 1 after SECONDS (plus at most one run of CMD, itself bounded).
wait_until() {
	local _end=$(( $(now_ms) + $1 * 1000 ))
	shift
	until "$@" >/dev/null 2>&1; do
		(( $(now_ms) < _end )) || return 1
		sleep 0.1
	done
}

# check_until SECONDS DESC CMD...: CMD succeeds within SECONDS.
check_until() {
	local _secs=$1 _desc=$2 _out
	shift 2
	if wait_until "$_secs" "$@"; then pass "$_desc"; return 0; fi
	_out=$("$@" 2>&1)
	fail "$_desc (not within $_secs s; last: $(printf '%s' "$_out" | tail -n 5 | tr '\n' '|'))"
	return 1
}

# ------------------------------------------------------------ cluster access

# on NODE CMD...: run CMD in node NODE's namespace (bounded to 60 s).
on() {
	local n=$1
	shift
	timeout -k 5 60 "$CLUSTER" exec "$n" -- "$@"
}

ctl() { local n=$1; shift; on "$n" "$GLOCKCTL" "$@"; }

# try_refused NODE MODE NAME: `glockctl run --MODE --try NAME` fails at once
# because the lock is not grantable (exit 1, "lock: Resource temporarily
# unavailable"), not for another reason.
try_refused() {
	local out rc
	out=$(timeout -k 2 10 "$CLUSTER" exec "$1" -- "$GLOCKCTL" run "--$2" --try "$3" -- true 2>&1)
	rc=$?
	(( rc == 1 )) && [[ $out == *"lock: Resource temporarily unavailable"* ]] && return 0
	printf 'status %d: %s\n' "$rc" "$out"
	return 1
}

# dump_ls NODE LS: `glockctl dump` of one lockspace.
dump_ls() { ctl "$1" dump --lockspace "$2"; }

# lock_path = p2p (GLOCK_LOCK_PATH): a glock's holders, expired grants and
# waiters live only on its master; every dump names the master (" m:N").
lock_path_p2p() { [[ ${GLOCK_LOCK_PATH:-cpg} == p2p ]]; }

# table NODE LS: the replicated part of the dump (this node's agent state,
# "here:..." and the H: lines, removed) -- equal on every synced node.
# p2p: the "glock master" pairs this node's dump names, sorted.
table() {
	if lock_path_p2p; then
		dump_ls "$1" "$2" | awk '/^G: / { m = "?"; for (i = 4; i <= NF; i++)
			if ($i ~ /^m:/) m = $i; print $3, m }' | sort
		return "${PIPESTATUS[0]}"
	fi
	dump_ls "$1" "$2" | sed -e '/^ H: /d' -e 's/ here:.* lvb:/ lvb:/'
}

# tables_equal LS NODE...: every node's table of LS is the same.
# p2p: every node that knows a glock names the same master for it.
tables_equal() {
	local ls=$1 first n t
	shift
	if lock_path_p2p; then
		for n in "$@"; do
			table "$n" "$ls" || return 1
		done | sort -u | awk '{ if (($1 in m) && m[$1] != $2) bad = 1; m[$1] = $2 }
			END { exit bad }'
		return
	fi
	first=$(table "$1" "$ls") || return 1
	for n in "${@:2}"; do
		t=$(table "$n" "$ls") || return 1
		[[ $t == "$first" ]] || return 1
	done
}

# own_block NODE LS NUMBER: glock 2/NUMBER's block in NODE's own dump.
own_block() {
	dump_ls "$1" "$2" | awk -v want="n:2/$(printf '%x' "$3")" '
		/^G: / { on = ($3 == want) }
		on'
}

# glock_block NODE LS NUMBER: the dump block of glock 2/NUMBER (hex).
# p2p: NODE's header and H: lines, with the N:, X: and W: lines of the
# glock's master: the one NODE names, else the node whose own dump says it
# masters it.
glock_block() {
	local own mine m n blk
	if ! lock_path_p2p; then
		own_block "$@"
		return
	fi
	own=$(own_block "$@")
	m=$(head -n 1 <<< "$own" | grep -Eo ' m:[0-9]+' | cut -d: -f2)
	for n in $m $(seq 1 "$NODES"); do
		blk=$(own_block "$n" "$2" "$3" 2>/dev/null) || continue
		if head -n 1 <<< "$blk" | grep -Eq " m:$n( |\$)"; then
			mine=$blk
			break
		fi
	done
	[[ -n $own || -n $mine ]] || return 0
	if [[ -n $own ]]; then head -n 1 <<< "$own"; else head -n 1 <<< "$mine"; fi
	[[ -n $mine ]] && grep -E '^ [NXW]: ' <<< "$mine"
	[[ -n $own ]] && grep -E '^ H: ' <<< "$own"
	return 0
}

# grants LS NODE...: the cluster's grants, expired grants and waiters of
# LS as the first NODE sees them (its table).  p2p: every glock any NODE
# lists, each with the N:, X: and W: lines of its master, by name.
grants() {
	local ls=$1 g n num
	shift
	if ! lock_path_p2p; then
		table "$1" "$ls"
		return
	fi
	for g in $(for n in "$@"; do dump_ls "$n" "$ls" | awk '/^G: / { print $3 }'; done | sort -u); do
		num=$((16#${g#n:2/}))
		for n in "$@"; do
			own_block "$n" "$ls" "$num" | grep -q . && break
		done
		echo "$g"
		glock_block "$n" "$ls" "$num" | grep -E '^ [NXW]: '
	done
}

# dump_has NODE LS NUMBER REGEX: glock 2/NUMBER's block matches REGEX.
dump_has() { glock_block "$1" "$2" "$3" | grep -Eq -- "$4"; }
dump_lacks() { ! glock_block "$1" "$2" "$3" | grep -Eq -- "$4"; }

# holders NODE LS NUMBER: "1:EX 2:SH" -- the grants of glock 2/NUMBER in
# NODE's table; waiters: the same for its waiters ("3:EX").
holders() {
	glock_block "$1" "$2" "$3" | awk '/^ N: / { sub("node:", "", $2); sub("s:", "", $3)
		printf "%s%s:%s", sep, $2, $3; sep = " " }'
}
waiters() {
	glock_block "$1" "$2" "$3" | awk '/^ W: / { sub("node:", "", $2); sub("s:", "", $3)
		printf "%s%s:%s", sep, $2, $3; sep = " " }'
}
holders_are() { [[ $(holders "$1" "$2" "$3") == "$4" ]]; }
waiters_are() { [[ $(waiters "$1" "$2" "$3") == "$4" ]]; }

# stats_has NODE LS NUMBER REGEX: glock 2/NUMBER's `glockctl stats` line matches.
stats_has() {
	ctl "$1" stats --lockspace "$2" | grep "^G: ls:$2 n:2/$(printf '%x' "$3") " | grep -Eq -- "$4"
}

status_line() { ctl "$1" status | head -n 1; }

# synced NODE [MEMBERS]: quorate and synced, with MEMBERS members (default 3).
synced() {
	local out
	out=$(ctl "$1" status 2>/dev/null) || return 1
	grep -q ' connected, quorate, synced$' <<< "$out" || return 1
	grep -q "^members (${2:-$NODES}):" <<< "$out"
}

all_synced() {
	local n
	for n in $(seq 1 "$NODES"); do synced "$n" || return 1; done
}

daemon_pid() { local f=$GLOCK_NETNS_STATE/n$1/pids/$2; [[ -f $f ]] && cat "$f"; }

alive() {
	local p
	p=$(daemon_pid "$1" "$2") || return 1
	[[ -e /proc/$p && $(cat "/proc/$p/comm" 2>/dev/null) == "$2" ]]
}

node_log() { echo "$GLOCK_NETNS_STATE/n$1/$2.log"; }

# log_has NODE DAEMON REGEX: the daemon's log has a line matching REGEX.
log_has() { grep -Eq -- "$3" "$(node_log "$1" "$2")"; }

# log_mark NODE DAEMON: number of lines now; log_since NODE DAEMON MARK REGEX.
log_mark() { wc -l < "$(node_log "$1" "$2")"; }
log_since() { tail -n +"$(( $3 + 1 ))" "$(node_log "$1" "$2")" | grep -Eq -- "$4"; }

cluster() { timeout -k 5 60 "$CLUSTER" "$@"; }

# restore_cluster: heal, start whatever is not running, wait until every
# glockd is synced with all members.  Returns 1 if that fails in 60 s.
restore_cluster() {
	local n
	cluster heal >/dev/null || return 1
	for n in $(seq 1 "$NODES"); do
		alive "$n" corosync || cluster start "$n" corosync >/dev/null || return 1
	done
	for n in $(seq 1 "$NODES"); do
		alive "$n" glockd || cluster start "$n" glockd >/dev/null || return 1
	done
	wait_until 60 all_synced
}

# fence_command: writes $T_TMP/fence.sh, a fence command for glockd.conf's
# "fence = command:..." that appends "TIME fence NODE" to $T_TMP/fence.log
# and exits 0 once $T_TMP/fence.ok exists, 1 before; prints its path.
fence_command() {
	cat > "$T_TMP/fence.sh" <<EOS
#!/bin/sh
echo "\$(date +%s.%N) fence \$1" >> "$T_TMP/fence.log"
[ -e "$T_TMP/fence.ok" ] && exit 0
exit 1
EOS
	chmod 755 "$T_TMP/fence.sh"
	: > "$T_TMP/fence.log"
	echo "$T_TMP/fence.sh"
}

# restart_glockd NODE FENCE: kill -9 NODE's glockd, start it again with
# fence = FENCE, wait until every node is synced.
restart_glockd() {
	cluster kill "$1" glockd >/dev/null &&
		GLOCK_FENCE=$2 timeout -k 5 60 "$CLUSTER" start "$1" glockd >/dev/null &&
		wait_until 30 all_synced
}

# ------------------------------------------------------------ probes
#
# A probe is a glock-probe process in a node: probe_cmd writes a command
# line to it, its answers and events go to a file.  probe_expect finds the
# first line not yet consumed that matches a regex (waiting, bounded) and
# consumes it; lines are never consumed out from under another expect, so
# events may arrive in any order.  Use a fresh label per step.

# probe_start NAME NODE [LOCKSPACE]
probe_start() {
	local name=$1 node=$2 ls=${3:-probe} fifo fd
	fifo=$T_TMP/probe.$name.in
	PROBE_OUT[$name]=$T_TMP/probe.$name.out
	rm -f -- "$fifo" "${PROBE_OUT[$name]}"
	mkfifo "$fifo"
	"$CLUSTER" exec "$node" -- "$PROBE" --ls "$ls" <"$fifo" >"${PROBE_OUT[$name]}" \
		2>"$T_TMP/probe.$name.log" &
	PROBE_PID[$name]=$!
	exec {fd}>"$fifo"
	PROBE_FD[$name]=$fd
	PROBE_USED[$name]=" "
	if ! probe_expect "$name" '^ready' 15; then
		fail "probe $name on node $node did not start: $(tr '\n' '|' < "${PROBE_OUT[$name]}")"
		return 1
	fi
}

probe_cmd() {
	local name=$1
	shift
	# In a subshell: if the probe has exited, SIGPIPE ends only that.
	(printf '%s\n' "$*" >&"${PROBE_FD[$name]}") 2>/dev/null
}

# probe_find NAME REGEX: print the number of the first unconsumed line that matches.
probe_find() {
	awk -v re="$2" -v used="${PROBE_USED[$1]}" '
		index(used, " " NR " ") == 0 && $0 ~ re { print NR; found = 1; exit }
		END { exit !found }' "${PROBE_OUT[$1]}"
}

# probe_expect NAME REGEX [SECONDS]: consume the matching line into PROBE_LINE.
probe_expect() {
	local name=$1 re=$2 secs=${3:-10} end nr
	end=$(( $(now_ms) + secs * 1000 ))
	while :; do
		if nr=$(probe_find "$name" "$re"); then
			PROBE_USED[$name]+="$nr "
			PROBE_LINE=$(sed -n "${nr}p" "${PROBE_OUT[$name]}")
			return 0
		fi
		(( $(now_ms) < end )) || break
		sleep 0.05
	done
	PROBE_LINE=
	return 1
}

# probe_tail NAME: its last lines, on one line, for a failure message.
probe_tail() { tail -n 6 "${PROBE_OUT[$1]}" 2>/dev/null | tr '\n' '|'; }

# expect_line DESC NAME REGEX [SECONDS]: a check on probe_expect.
expect_line() {
	local desc=$1 name=$2 re=$3 secs=${4:-10}
	if probe_expect "$name" "$re" "$secs"; then
		pass "$desc"
		return 0
	fi
	fail "$desc (no line /$re/ from probe $name within $secs s; it said: $(probe_tail "$name") $(tail -n 2 "$T_TMP/probe.$name.log" | tr '\n' '|'))"
	return 1
}

# expect_no_line DESC NAME REGEX SECONDS: nothing matching shows up in SECONDS.
expect_no_line() {
	local desc=$1 name=$2 re=$3 secs=$4 nr
	sleep "$secs"
	if nr=$(probe_find "$name" "$re"); then
		fail "$desc (probe $name said: $(sed -n "${nr}p" "${PROBE_OUT[$name]}"))"
		return 1
	fi
	pass "$desc"
}

# probe_do NAME COMMAND REGEX [SECONDS]: send, then expect (no check counted).
probe_do() {
	probe_cmd "$1" "$2"
	probe_expect "$1" "$3" "${4:-10}"
}

probe_stop() {
	local name=$1 pid=${PROBE_PID[$1]:-} fd=${PROBE_FD[$1]:-}
	[[ -n $pid ]] || return 0
	probe_cmd "$name" quit
	[[ -n $fd ]] && exec {fd}>&-
	if ! wait_until 5 probe_gone "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		wait_until 3 probe_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	unset "PROBE_PID[$name]" "PROBE_FD[$name]"
}

probe_gone() { [[ ! -e /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

probe_stop_all() {
	local name
	for name in "${!PROBE_PID[@]}"; do
		probe_stop "$name"
	done
}

# ------------------------------------------------------------ set-up

# preflight: exit 77 unless root, ip netns and corosync work.
preflight() {
	local probe rc
	(( EUID == 0 )) || skip "not root"
	command -v corosync >/dev/null || skip "corosync not installed"
	command -v ip >/dev/null || skip "ip (iproute2) not installed"
	probe=$PREFIX-preflight-$$
	ip netns add "$probe" 2>/dev/null || skip "ip netns unusable (cannot add a namespace)"
	ip netns exec "$probe" true 2>/dev/null
	rc=$?
	ip netns delete "$probe" 2>/dev/null
	(( rc == 0 )) || skip "ip netns exec unusable"
	[[ -x $GLOCKD && -x $GLOCKCTL ]] || {
		say "ERROR: $TEST_NAME: glockd/glockctl not built ($GLOCKD); set GLOCK_BUILDDIR"
		exit 1
	}
}

# find_probe: PROBE = the glock-probe binary, built into T_TMP if need be.
find_probe() {
	PROBE=${GLOCK_PROBE:-$BUILDDIR/tests/cluster/glock-probe}
	[[ -x $PROBE ]] && return 0
	PROBE=$T_TMP/glock-probe
	# shellcheck disable=SC2046
	gcc -std=gnu11 -O2 -Wall -I"$SRCDIR/daemon/lib" -I"$BUILDDIR/proto" \
		"$SRCDIR/tests/cluster/glock-probe.c" \
		"$BUILDDIR/daemon/lib/.libs/libglockclient.a" "$BUILDDIR/proto/.libs/libglockproto.a" \
		$(pkg-config --cflags --libs libqb libprotobuf-c) -o "$PROBE" 2>"$T_TMP/probe-cc.err" || {
		say "ERROR: $TEST_NAME: cannot build glock-probe: $(head -n 5 "$T_TMP/probe-cc.err")"
		exit 1
	}
	export GLOCK_PROBE=$PROBE
}

# The glockd.conf lines every node gets (deploy/netns-cluster appends them):
# uid `daemon` may use glockd (test 13 checks that `nobody` may not).
write_conf_extra() {
	printf 'allow_uid = daemon\n' > "$T_TMP/glockd-extra.conf"
	export GLOCK_CONF_EXTRA=$T_TMP/glockd-extra.conf
}

# keep_logs: copy the daemon logs somewhere that survives teardown.
keep_logs() {
	local dir=${GLOCK_TEST_KEEP_LOGS:-/tmp/glockd-cluster-logs.$$} f
	[[ -d ${GLOCK_NETNS_STATE:-} ]] || return 0
	mkdir -p "$dir"
	for f in "$GLOCK_NETNS_STATE"/n*/*.log "$GLOCK_NETNS_STATE"/n*/glockd.conf; do
		[[ -e $f ]] || continue
		cp -- "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
	done
	say "daemon logs kept in $dir"
}

# keep_probe_logs: this test's probe transcripts (time-stamped) next to them.
keep_probe_logs() {
	local dir=${GLOCK_TEST_KEEP_LOGS:-/tmp/glockd-cluster-logs.$$} f
	[[ -n $T_TMP ]] || return 0
	mkdir -p "$dir"
	for f in "$T_TMP"/probe.*.log; do
		[[ -e $f ]] && cp -- "$f" "$dir/$TEST_NAME-$(basename "$f")"
	done
}

cluster_up() {
	local out
	if ! out=$(timeout -k 5 90 "$CLUSTER" up --nodes "$NODES" 2>&1); then
		fail "cluster bring-up: $out"
		return 1
	fi
	info "$out"
}

t_cleanup() {
	local p
	trap - EXIT INT TERM
	probe_stop_all
	for p in "${T_BG[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${T_BG[@]}"; do
		wait "$p" 2>/dev/null
	done
	(( failed )) && keep_probe_logs
	if (( T_OWN_CLUSTER )); then
		(( failed )) && keep_logs
		timeout -k 5 60 "$CLUSTER" down >/dev/null 2>&1
	fi
	[[ -n $T_WATCHDOG ]] && kill "$T_WATCHDOG" 2>/dev/null
	[[ -n $T_TMP ]] && rm -rf -- "$T_TMP"
}

t_finish() {
	local rc=$?
	t_cleanup
	say "$TEST_NAME: $passed passed, $failed failed ($(elapsed))"
	(( failed == 0 && rc == 0 )) && exit 0
	exit 1
}

# start_watchdog SECONDS: TERM this shell after SECONDS.
start_watchdog() {
	(
		trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
		sleep "$1" &
		sleeper=$!
		wait "$sleeper"
		echo "FAIL: $TEST_NAME: watchdog: over $1 s"
		kill -TERM $$
	) &
	T_WATCHDOG=$!
}

# test_begin DESCRIPTION
test_begin() {
	say "=== $TEST_NAME: $1"
	T_TMP=$(mktemp -d "/tmp/$PREFIX-$TEST_NAME.XXXXXX")
	trap t_finish EXIT
	trap 'fail "interrupted by a signal or the watchdog"; exit 1' INT TERM
	if [[ ${GLOCK_TEST_SHARED:-} == 1 ]]; then
		[[ -f ${GLOCK_NETNS_STATE:-}/.netns-cluster ]] || {
			fail "GLOCK_TEST_SHARED=1 but no cluster in ${GLOCK_NETNS_STATE:-?}"
			exit 1
		}
		find_probe
		return 0
	fi
	preflight
	ip netns list | awk '{print $1}' | grep -Eq "^$PREFIX-(br|n[0-9]+)\$" &&
		skip "a $PREFIX-* netns cluster is already up (GLOCK_NETNS_PREFIX=$PREFIX $CLUSTER down)"
	start_watchdog "${GLOCK_TEST_TIMEOUT:-300}"
	export GLOCK_NETNS_STATE=$T_TMP/state
	find_probe
	write_conf_extra
	T_OWN_CLUSTER=1
	cluster_up || exit 1
}

test_end() { exit 0; }    # t_finish reports and sets the status
