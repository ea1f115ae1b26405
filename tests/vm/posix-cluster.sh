#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# posix-cluster.sh: the POSIX surface of glockfs across two qemu guests
# running the real glockd, through deploy/vm-cluster.  Phases (PHASES,
# default all, in this order):
#
#   flock   cluster-wide flock(2): LOCK_EX on one node excludes LOCK_EX and
#           LOCK_SH on the other, LOCK_NB fails at once (flock -n), SH and
#           SH coexist, a conversion, local processes exclude each other,
#           a blocked flock ended by a signal (flock -w) or by kill -9
#           leaves no request behind, kill -9 of the holder releases it,
#           and a counter incremented under flock -x from both nodes at
#           once loses nothing.
#
#   surface the rest of the POSIX surface, each change made on one node and
#           seen on the other: a hard link (nlink 2 on the other node, the
#           data through the new name), an unlink of the first name (nlink
#           1 on the first node), user.* xattrs set, replaced and removed,
#           a POSIX ACL (setfacl / getfacl), fallocate (mode 0 and
#           --keep-size) sizes, a FIFO, copy_file_range (tests/vm/
#           fs-surface.c) read back on the other node, also from a source
#           the copying node had cached before the other grew it, FIEMAP.
#
#   plock   cluster-wide fcntl() locks (tests/vm/plock-test.c), with
#           GLOCK_LOCK_PATH=p2p: a WR lock on node 1 refuses node 2's
#           F_SETLK on an overlapping range (EAGAIN) and grants a disjoint
#           one; RD/RD shared, RD/WR not; F_GETLK on node 2 reports node 1's
#           lock with the pid negated, on node 1 with the pid; /proc/locks
#           shows it; a F_SETLKW on one node is granted when the other
#           unlocks, closes, or its holder is killed; a F_SETLKW ended by a
#           signal (alarm) fails with EINTR and holds nothing, one killed
#           by SIGKILL leaves nothing behind; OFD locks
#           likewise; a F_SETLKW that would close a cycle of two owners
#           on two nodes fails with EDEADLK; a counter incremented under
#           F_SETLKW from both nodes
#           loses nothing; node 2 loses corosync and glockd (kill -9, fence
#           = none) while holding a lock: node 1's waiter is granted.  With
#           lock_path = cpg: every fcntl() lock fails with ENOLCK, cleanly.
#
#   FLOCK_CLUSTER=0 tests/vm/posix-cluster.sh  glockfs.cluster_flock=0 on
#           both nodes (each node's flock is its own): expected to FAIL.
#   PLOCK_CLUSTER=0 GLOCK_LOCK_PATH=p2p PHASES=plock tests/vm/posix-cluster.sh
#           glockfs.cluster_plock=0 on both nodes: expected to FAIL.
#
# Needs: root, qemu, a built kmod/glockfs.ko and glockd
# ($GLOCK_BUILDDIR/daemon/glockd, default build/ then the repo),
# deploy/vm-cluster.  Skips (exit 77) with the reason when any of that is
# missing.  Env: KEEP=1 leaves the cluster up, GLOCK_VM_STATE (default: a
# fresh directory under /tmp), GLOCK_VM_NETNS, COUNT (increments per node
# in the counter checks, default 30), GLOCK_LOCK_PATH (glockd's lock_path
# in the guests: cpg, the default, or p2p; tests/run-all.sh runs both).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
vmc=$top/deploy/vm-cluster
if [ -z "${GLOCK_BUILDDIR:-}" ]; then
	GLOCK_BUILDDIR=$top
	[ -x "$top/build/daemon/glockd" ] && GLOCK_BUILDDIR=$top/build
fi
export GLOCK_BUILDDIR
COUNT=${COUNT:-30}
PHASES=${PHASES:-flock surface plock}
LOCK_PATH=${GLOCK_LOCK_PATH:-cpg}
own_state=0
if [ -z "${GLOCK_VM_STATE:-}" ]; then
	GLOCK_VM_STATE=$(mktemp -d /tmp/posix-cluster.XXXXXX)
	own_state=1
fi
export GLOCK_VM_STATE
state=$GLOCK_VM_STATE
shared=$(mktemp -d /tmp/posix-cluster-shared.XXXXXX)
up=0
fails=0
passes=0

msg() { echo "posix-cluster: $*"; }
skip() { msg "SKIP: $*"; finish 77; }
finish() {
	[ "${KEEP:-0}" = 1 ] && exit "$1"
	[ "$up" = 1 ] && "$vmc" down >/dev/null 2>&1
	[ "$own_state" = 1 ] && rm -rf "$state"
	rm -rf "$shared"
	exit "$1"
}
on() {	# on NODE CMD...: run CMD (one bash -c string) on NODE, 120 s at most
	local n=$1
	shift
	"$vmc" exec "$n" --timeout 120 -- "$@"
}
ok() { msg "ok   $*"; passes=$((passes + 1)); }
bad() { msg "FAIL $*"; fails=$((fails + 1)); }
check() {	# check DESCRIPTION WANT_RC NODE CMD: CMD on NODE exits WANT_RC
	local d=$1 want=$2 n=$3 rc
	shift 3
	on "$n" "$@"
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$d"; else bad "$d (exit $rc, want $want)"; fi
}

[ "$(id -u)" = 0 ] || skip "must be root (network namespace, qemu)"
[ -x "$vmc" ] || skip "no deploy/vm-cluster"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -x "$GLOCK_BUILDDIR/daemon/glockd" ] ||
	skip "no glockd at $GLOCK_BUILDDIR/daemon/glockd (build the daemon first)"
make -s -C "$top/kmod" >/dev/null 2>&1 || skip "kmod/glockfs.ko does not build"
command -v flock >/dev/null || skip "flock(1) (util-linux) not installed"
case " $PHASES " in
*" surface "*)
	for c in setfattr getfattr setfacl getfacl fallocate; do
		command -v $c >/dev/null ||
			skip "$c not installed (packages attr, acl, util-linux)"
	done
	gcc -static -O2 -Wall -Werror -o "$shared/fs-surface" \
		"$top/tests/vm/fs-surface.c" || skip "tests/vm/fs-surface.c does not build"
	;;
esac
case " $PHASES " in
*" plock "*)
	gcc -static -O2 -Wall -Wextra -Werror -o "$shared/plock-test" \
		"$top/tests/vm/plock-test.c" || skip "tests/vm/plock-test.c does not build"
	;;
esac
case $LOCK_PATH in
cpg | p2p) ;;
*) skip "GLOCK_LOCK_PATH=$LOCK_PATH: cpg or p2p" ;;
esac
# glockd.conf for the guests: the lock path asked for, and a link key
# every guest reads from /shared (the guests have no corosync authkey).
head -c 64 /dev/urandom >"$shared/linkkey"
sed -e "s|^lock_path = .*|lock_path = $LOCK_PATH|" \
	-e "s|^link_key_file = .*|link_key_file = /shared/linkkey|" \
	"$top/deploy/glockd.conf" >"$shared/glockd.conf"
grep -q "^lock_path = $LOCK_PATH\$" "$shared/glockd.conf" ||
	skip "deploy/glockd.conf has no lock_path line to set"
export GLOCK_CONF=/shared/glockd.conf

mkdir -p "$shared/fs"
msg "bringing up 2 guests (state $state, lock_path = $LOCK_PATH)"
if ! nice "$vmc" up --nodes 2 --shared "$shared" >"$state/up.log" 2>&1; then
	tail -20 "$state/up.log"
	skip "vm-cluster up failed (log above)"
fi
up=1

for n in 1 2; do
	on "$n" 'grep -q "^glockfs " /proc/modules' ||
		skip "node $n: glockfs not loaded by the rig"
	on "$n" 'mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug'
	if [ "${FLOCK_CLUSTER:-1}" = 0 ]; then
		on "$n" 'echo N > /sys/module/glockfs/parameters/cluster_flock' ||
			skip "node $n: cannot set cluster_flock"
	fi
	if [ "${PLOCK_CLUSTER:-1}" = 0 ]; then
		on "$n" 'echo N > /sys/module/glockfs/parameters/cluster_plock' ||
			skip "node $n: cannot set cluster_plock"
	fi
	on "$n" 'mkdir -p /mnt/g; for i in $(seq 60); do
		mount -t glockfs -o lockspace=posix /shared/fs /mnt/g && exit 0
		sleep 1; done; exit 1' ||
		skip "node $n: glockfs mount failed (is glockd serving /dev/glock?)"
done
msg "both nodes mounted /shared/fs"

# ---- flock ----

G=/sys/kernel/debug/glockfs/posix/glocks
# hold NODE OPT TAG: a process on NODE holds flock OPT (-x or -s) on
# /mnt/g/f until killed; returns once it holds it.  Its pid: /tmp/TAG.pid.
hold() {
	on "$1" "rm -f /tmp/$3.pid; setsid bash -c 'exec 9>>/mnt/g/f; flock $2 9 || exit 1;
		echo \$\$ > /tmp/$3.pid.new; mv /tmp/$3.pid.new /tmp/$3.pid; exec sleep 600' \
		</dev/null >/dev/null 2>&1 &
		for i in \$(seq 600); do [ -s /tmp/$3.pid ] && exit 0; sleep 0.1; done; exit 1"
}
# unhold NODE TAG SIGNAL: kill the holder, wait until it is gone.
unhold() {
	on "$1" "p=\$(cat /tmp/$2.pid) && kill -$3 \$p && for i in \$(seq 300); do
		kill -0 \$p 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
}
# The flock glock's line and holders on NODE ("G: ... n:6/..." and " H:").
flock_glock() {
	on "$1" "awk '/^G: /{p = / n:6\\//} p' $G"
}

phase_flock() {
	local out

	on 1 ': > /mnt/g/f; echo 0 > /mnt/g/cnt' || { bad "flock: setup"; return; }
	if hold 1 -x A; then ok "node 1 takes flock -x"; else bad "node 1 takes flock -x"; return; fi
	check "node 2: flock -n -x refused while node 1 holds EX" 75 2 \
		'flock -n -E 75 -x /mnt/g/f true'
	check "node 2: flock -n -s refused while node 1 holds EX" 75 2 \
		'flock -n -E 75 -s /mnt/g/f true'
	check "node 1: another local process is refused too (VFS flock)" 75 1 \
		'flock -n -E 75 -s /mnt/g/f true'
	check "node 2: a blocked flock ends on its timer signal (flock -w 2)" 75 2 \
		'flock -w 2 -E 75 -x /mnt/g/f true'

	# A blocked waiter killed by SIGKILL: its request must not stay.
	on 2 "setsid flock -x /mnt/g/f true </dev/null >/dev/null 2>&1 & echo \$! > /tmp/w.pid
		for i in \$(seq 600); do grep -q ' H: s:EX f:W' $G && exit 0; sleep 0.1; done; exit 1" ||
		bad "node 2: blocked flock seen waiting"
	on 2 'kill -9 $(cat /tmp/w.pid)'
	if on 2 "for i in \$(seq 300); do
		awk '/^G: /{p = / n:6\\//} p' $G | grep -qE 'r:pending| H: ' || exit 0
		sleep 0.1; done; exit 1"; then
		ok "node 2: a blocked flock killed by SIGKILL leaves no holder or request"
	else
		bad "node 2: killed waiter left something: $(flock_glock 2 | tr '\n' ' ')"
	fi
	check "node 2: still refused while node 1 holds EX" 75 2 \
		'flock -n -E 75 -x /mnt/g/f true'

	unhold 1 A 9 || bad "node 1: kill -9 of the holder"
	check "node 2: flock -x granted after kill -9 of the holder on node 1" 0 2 \
		'flock -w 60 -E 75 -x /mnt/g/f true'

	if hold 1 -s B; then ok "node 1 takes flock -s"; else bad "node 1 takes flock -s"; fi
	check "node 2: flock -n -s granted while node 1 holds SH" 0 2 \
		'flock -n -E 75 -s /mnt/g/f true'
	check "node 2: flock -n -x refused while node 1 holds SH" 75 2 \
		'flock -n -E 75 -x /mnt/g/f true'
	check "node 2: SH -> EX conversion with -n refused while node 1 holds SH" 75 2 \
		'exec 9>>/mnt/g/f; flock -s 9 && flock -n -E 75 -x 9'
	unhold 1 B TERM || bad "node 1: kill of the SH holder"
	check "node 2: SH -> EX conversion granted once node 1 let go" 0 2 \
		'exec 9>>/mnt/g/f; flock -s 9 && flock -w 60 -E 75 -x 9'

	# Both nodes increment a counter under flock -x at once.
	local inc="for i in \$(seq $COUNT); do flock -x /mnt/g/f sh -c \
		'n=\$(cat /mnt/g/cnt); echo \$((n + 1)) > /mnt/g/cnt' || exit 1; done"
	on 1 "$inc" &
	local p1=$!
	on 2 "$inc" &
	local p2=$!
	wait $p1
	local r1=$?
	wait $p2
	local r2=$?
	out=$(on 1 'cat /mnt/g/cnt')
	if [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$out" = $((2 * COUNT)) ]; then
		ok "counter under flock -x from both nodes: $out"
	else
		bad "counter under flock -x from both nodes: $out, want $((2 * COUNT)) (exit $r1/$r2)"
	fi
	out=$(flock_glock 1; flock_glock 2)
	if echo "$out" | grep -q ' H: '; then
		bad "flock holders left at the end: $(echo "$out" | tr '\n' ' ')"
	else
		ok "no flock holder left on either node"
	fi
}

# ---- surface ----

# same DESCRIPTION GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}

# as_lower DESCRIPTION CMD... PATH: CMD on node 1 with PATH under /mnt/g
# must work, or fail with the error it gives on the lower (/shared/fs);
# returns 0 only when it worked.
as_lower() {
	local d=$1 p=${*: -1} gerr lerr
	shift
	set -- "${@:1:$#-1}"
	if gerr=$(on 1 "$* /mnt/g/$p 2>&1 >/dev/null"); then
		ok "$d"
		return 0
	fi
	lerr=$(on 1 "$* /shared/fs/$p 2>&1 >/dev/null")
	if [ $? != 0 ] && [ "${gerr##*: }" = "${lerr##*: }" ]; then
		ok "$d: refused as the lower refuses it (${gerr##*: })"
	else
		bad "$d: glockfs '$gerr', lower '$lerr'"
	fi
	return 1
}

phase_surface() {
	local d=/mnt/g/s bin=/shared/fs-surface sum out

	on 1 "rm -rf $d; mkdir $d && echo data > $d/a" || { bad "surface: setup"; return; }
	check "node 1: ln a b" 0 1 "ln $d/a $d/b"
	same "node 2: nlink 2 after the link on node 1" "$(on 2 "stat -c %h $d/a")" 2
	same "node 2: the data through the new name" "$(on 2 "cat $d/b")" data
	check "node 2: rm a" 0 2 "rm $d/a"
	same "node 1: nlink 1 after the unlink on node 2" "$(on 1 "stat -c %h $d/b")" 1
	check "node 1: a is gone" 1 1 "test -e $d/a"

	check "node 1: setfattr user.x" 0 1 "setfattr -n user.x -v v1 $d/b"
	same "node 2: getfattr user.x" "$(on 2 "getfattr --only-values -n user.x $d/b")" v1
	check "node 2: setfattr user.x (replace)" 0 2 "setfattr -n user.x -v v2 $d/b"
	same "node 1: the replaced value" "$(on 1 "getfattr --only-values -n user.x $d/b")" v2
	same "node 1: listed" "$(on 1 "getfattr -d -m '^user\\.' $d/b | grep -c '^user.x='")" 1
	check "node 2: setfattr -x user.x" 0 2 "setfattr -x user.x $d/b"
	check "node 1: user.x gone" 1 1 "getfattr -n user.x $d/b >/dev/null 2>&1"
	as_lower "node 1: setfacl -m u:1234:r" setfacl -m u:1234:r s/b &&
		same "node 2: getfacl shows the entry" \
			"$(on 2 "getfacl -cp $d/b 2>/dev/null | grep '^user:1234:'")" "user:1234:r--"

	check "node 1: fallocate -l 1M" 0 1 "fallocate -l 1M $d/f"
	same "node 2: size 1 MiB" "$(on 2 "stat -c %s $d/f")" 1048576
	check "node 2: fallocate -o 1M -l 1M" 0 2 "fallocate -o 1M -l 1M $d/f"
	same "node 1: size 2 MiB" "$(on 1 "stat -c %s $d/f")" 2097152
	check "node 1: fallocate --keep-size past EOF" 0 1 "fallocate -n -o 2M -l 1M $d/f"
	same "node 2: size still 2 MiB" "$(on 2 "stat -c %s $d/f")" 2097152
	same "node 2: zeros" "$(on 2 "tr -d '\\000' < $d/f | wc -c")" 0

	as_lower "node 1: mkfifo" mkfifo s/p &&
		check "node 2: a FIFO" 0 2 "test -p $d/p"

	sum=$(on 1 "head -c 300000 /dev/urandom > $d/src && md5sum < $d/src")
	check "node 2: copy_file_range src dst" 0 2 "$bin copy $d/src $d/dst"
	same "node 1: dst as src" "$(on 1 "md5sum < $d/dst")" "$sum"
	# Node 2 caches src; node 1 grows it; node 2 copies: the new size.
	on 2 "cat $d/src >/dev/null"
	sum=$(on 1 "head -c 200000 /dev/urandom >> $d/src && md5sum < $d/src")
	check "node 2: copy_file_range of src grown on node 1" 0 2 "$bin copy $d/src $d/dst2"
	same "node 1: dst2 as the grown src" "$(on 1 "md5sum < $d/dst2")" "$sum"
	same "node 1: FIEMAP of dst2 (one extent, last)" \
		"$(on 1 "$bin fiemap $d/dst2")" "0 503808 0x3"
}

# ---- plock ----

PT=/shared/plock-test
PF=/mnt/g/pl
# phold NODE TAG "OPTS" TYPE START LEN: a process on NODE (plock-test
# hold) takes the lock on $PF and keeps it; its "PID STATE" is in
# /tmp/TAG.st.  Returns once it has a result, or (with -w) once it asked.
phold() {
	local n=$1 tag=$2 opts=$3
	shift 3
	on "$n" "rm -f /tmp/$tag.st; setsid $PT $opts hold $PF $* /tmp/$tag.st \
		</dev/null >/tmp/$tag.log 2>&1 &
		for i in \$(seq 600); do
			[ -s /tmp/$tag.st ] && { case '$opts' in *-w*) exit 0 ;; esac
				grep -qv ' waiting\$' /tmp/$tag.st && exit 0; }
			sleep 0.1
		done; exit 1"
}
# pstate NODE TAG: the holder's state word.
pstate() { on "$1" "cut -d' ' -f2 /tmp/$2.st"; }
# pwait NODE TAG STATE: until the holder's state is STATE (100 s at most).
pwait() {
	on "$1" "for i in \$(seq 1000); do
		[ \"\$(cut -d' ' -f2 /tmp/$2.st)\" = $3 ] && exit 0; sleep 0.1; done
		cat /tmp/$2.st /tmp/$2.log; exit 1"
}
ppid() { on "$1" "cut -d' ' -f1 /tmp/$2.st"; }
psig() { on "$1" "kill -$3 \$(cut -d' ' -f1 /tmp/$2.st)"; }
# pend NODE TAG [SIGNAL]: the holder ends (TERM by default); returns once gone.
pend() {
	on "$1" "p=\$(cut -d' ' -f1 /tmp/$2.st) && kill -${3:-TERM} \$p 2>/dev/null;
		for i in \$(seq 300); do kill -0 \$p 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
}
# expect_state DESCRIPTION NODE TAG STATE
expect_state() {
	if pwait "$2" "$3" "$4" >/dev/null; then ok "$1"; else bad "$1: state $(pstate "$2" "$3")"; fi
}

phase_plock_cpg() {
	on 1 ": > $PF" || { bad "plock: setup"; return; }
	check "node 1: F_SETLK fails with ENOLCK under lock_path = cpg" 37 1 "$PT try $PF w 0 10"
	check "node 2: F_OFD_SETLK fails with ENOLCK under lock_path = cpg" 37 2 "$PT -o try $PF w 0 10"
	check "node 1: F_SETLKW fails with ENOLCK, does not wait" 0 1 \
		"$PT wait $PF w 0 10 2>&1 | grep -q 'No locks available'"
	check "node 1: F_GETLK fails with ENOLCK" 0 1 \
		"$PT get $PF w 0 10 2>&1 | grep -q 'No locks available'"
	check "node 1: nothing recorded in /proc/locks" 1 1 \
		"grep -q \":\$(stat -c %i $PF) \" /proc/locks"
	check "node 2: the mount still works" 0 2 "echo x > $PF && cat $PF >/dev/null"
}

phase_plock() {
	local pa pc out inc

	if [ "$LOCK_PATH" != p2p ]; then
		phase_plock_cpg
		return
	fi
	# The phase's first command in a guest: an exec that fails at once is
	# tried again (seen twice when plock ran alone: the file was there).
	for pa in 1 2 3; do
		out=$(on 1 ": > $PF && echo 0 > /mnt/g/pcnt && echo ready" 2>&1)
		case $out in *ready) break ;; esac
		sleep 2
	done
	case $out in
	*ready) ;;
	*)
		bad "plock: setup"
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/    /' >&2
		return
		;;
	esac

	# Exclusion and ranges.
	phold 1 A "" w 0 100
	expect_state "node 1: F_SETLK WR 0-99" 1 A ok
	pa=$(ppid 1 A)
	check "node 2: F_SETLK WR 50-59 refused (EAGAIN) while node 1 holds WR 0-99" 75 2 \
		"$PT try $PF w 50 10"
	check "node 2: F_SETLK RD 0 refused while node 1 holds WR" 75 2 "$PT try $PF r 0 1"
	check "node 2: F_SETLK WR 100-109 (disjoint) granted" 0 2 "$PT try $PF w 100 10"
	same "node 2: F_GETLK reports node 1's lock, pid negated" \
		"$(on 2 "$PT get $PF w 0 0")" "W 0 100 -$pa"
	same "node 2: F_GETLK of a disjoint range: none" "$(on 2 "$PT get $PF w 100 0")" none
	check "node 1: another local process is refused too" 75 1 "$PT try $PF w 99 1"
	same "node 1: F_GETLK by another local process: the holder's pid" \
		"$(on 1 "$PT get $PF r 10 1")" "W 0 100 $pa"
	check "node 1: /proc/locks shows the lock" 0 1 \
		"grep -Eq 'POSIX +ADVISORY +WRITE +$pa .* 0 99\$' /proc/locks"
	# The file's master (either node) lists the lock with its owner's node and pid.
	out=$( (on 1 "glockctl dump"; on 2 "glockctl dump") 2>/dev/null)
	if printf '%s\n' "$out" | grep -Eq "^ P: h n:1 o:[0-9a-f]+ p:$pa WR 0-99\$"; then
		ok "glockctl dump at the file's master lists node 1's lock (P: h n:1 p:$pa WR 0-99)"
	else
		bad "glockctl dump does not list node 1's POSIX lock"
		printf '%s\n' "$out" | grep -E '^G: .* n:7/|^ P:' | sed 's/^/    /' >&2
	fi

	# F_SETLKW granted on unlock, on close, on the holder's death.
	phold 2 B "-w" w 0 10
	check "node 2: F_SETLKW WR 0-9 waits while node 1 holds" 0 2 \
		"grep -q ' waiting\$' /tmp/B.st"
	psig 1 A USR1
	expect_state "node 1: F_UNLCK" 1 A unlocked
	expect_state "node 2: the waiting F_SETLKW granted once node 1 unlocked" 2 B ok
	check "node 1: the unlocked range is free on node 1 but for node 2's 0-9" 0 1 \
		"$PT try $PF w 10 90"
	phold 1 C "-w" w 5 1
	psig 2 B USR2
	expect_state "node 2: close() of the holder's file" 2 B closed
	expect_state "node 1: the waiting F_SETLKW granted once node 2 closed the file" 1 C ok
	phold 2 D "-w" r 0 10
	pend 1 C KILL || bad "node 1: kill -9 of the holder"
	expect_state "node 2: the waiting F_SETLKW RD granted once node 1's holder was killed" 2 D ok

	# RD and RD share.
	phold 1 E "" r 0 100
	expect_state "node 1: F_SETLK RD 0-99 while node 2 holds RD 0-9" 1 E ok
	check "node 2: another F_SETLK RD granted while node 1 holds RD" 0 2 "$PT try $PF r 50 10"
	check "node 2: F_SETLK WR refused while node 1 holds RD" 75 2 "$PT try $PF w 50 10"
	pend 2 D || bad "node 2: end of the RD holder"

	# A signal ends a waiting F_SETLKW, which then holds nothing.
	check "node 2: F_SETLKW WR ended by alarm(3): EINTR" 4 2 "$PT -a 3 wait $PF w 0 1"
	phold 2 G "-w -a 3" w 0 1
	expect_state "node 2: a waiting holder's F_SETLKW ended by alarm(3): EINTR" 2 G eintr
	pend 1 E || bad "node 1: end of the RD holder"
	check "node 1: WR 0-99 granted: the interrupted waiter on node 2 (alive) holds nothing" \
		0 1 "$PT try $PF w 0 100"
	pend 2 G || bad "node 2: end of the interrupted holder"
	# A waiter killed by SIGKILL leaves nothing behind either.
	phold 1 Q "" w 0 1
	phold 2 R "-w" w 0 1
	pend 2 R KILL || bad "node 2: kill -9 of a waiter"
	pend 1 Q || bad "node 1: end of the holder"
	check "node 1: WR 0 granted: node 2's waiter killed by SIGKILL left nothing" 0 1 \
		"$PT try $PF w 0 1"

	# OFD locks.
	phold 1 H "-o" w 0 100
	expect_state "node 1: F_OFD_SETLK WR 0-99" 1 H ok
	check "node 2: F_OFD_SETLK WR 0 refused" 75 2 "$PT -o try $PF w 0 1"
	check "node 2: F_SETLK (POSIX) WR 99 refused by the OFD lock" 75 2 "$PT try $PF w 99 1"
	check "node 2: F_OFD_SETLK WR 100 (disjoint) granted" 0 2 "$PT -o try $PF w 100 1"
	same "node 2: F_OFD_GETLK reports node 1's OFD lock (pid -1)" \
		"$(on 2 "$PT -o get $PF r 0 1")" "W 0 100 -1"
	phold 2 I "-o -w" w 0 1
	psig 1 H USR2
	expect_state "node 2: the waiting F_OFD_SETLKW granted once node 1 closed its file" 2 I ok
	phold 1 J "-o -w -a 3" w 0 1
	expect_state "node 1: a waiting F_OFD_SETLKW ended by alarm(3): EINTR" 1 J eintr
	pend 2 I || bad "node 2: end of the OFD holder"
	check "node 2: F_OFD_SETLK WR 0-99 granted: node 1's interrupted waiter holds nothing" \
		0 2 "$PT -o try $PF w 0 100"
	pend 1 J || true
	pend 1 H || true

	# Deadlock: owners on two nodes, each holding the byte the other waits for.
	phold 2 M "-2 0" w 1 1
	phold 1 N "-2 1" w 0 1
	if [ "$(pstate 2 M)$(pstate 1 N)" = okok ]; then
		psig 1 N HUP
		pwait 1 N waiting2 >/dev/null
		psig 2 M HUP
		local i s1 s2 dl=
		for i in $(seq 60); do
			s1=$(pstate 1 N) s2=$(pstate 2 M)
			[ "$s1" = edeadlk ] && { dl="1 N"; break; }
			[ "$s2" = edeadlk ] && { dl="2 M"; break; }
			sleep 1
		done
		if [ -n "$dl" ]; then
			ok "a F_SETLKW that closes a cycle across nodes fails with EDEADLK (node ${dl% *})"
			# shellcheck disable=SC2086
			pend $dl || bad "end of the deadlocked holder"
			if [ "$dl" = "1 N" ]; then expect_state "node 2: granted once the other owner ended" 2 M ok2
			else expect_state "node 1: granted once the other owner ended" 1 N ok2; fi
		else
			bad "no EDEADLK across nodes: node 1 $s1, node 2 $s2"
		fi
	else
		bad "deadlock setup: node 2 $(pstate 2 M), node 1 $(pstate 1 N)"
	fi
	pend 1 N || true
	pend 2 M || true

	# Both nodes increment a counter under F_SETLKW at once.
	inc="$PT count /mnt/g/pcnt $COUNT"
	on 1 "$inc" &
	local p1=$!
	on 2 "$inc" &
	local p2=$!
	wait $p1
	local r1=$?
	wait $p2
	local r2=$?
	out=$(on 1 'cat /mnt/g/pcnt')
	if [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$out" = $((2 * COUNT)) ]; then
		ok "counter under F_SETLKW from both nodes: $out"
	else
		bad "counter under F_SETLKW from both nodes: $out, want $((2 * COUNT)) (exit $r1/$r2)"
	fi
	check "node 1: the whole file lockable: nothing left behind" 0 1 "$PT try $PF w 0 0"
	check "node 2: the whole file lockable: nothing left behind" 0 2 "$PT try $PF w 0 0"
	check "node 1: no lock of the file left in /proc/locks" 1 1 \
		"grep -q \":\$(stat -c %i $PF) \" /proc/locks"

	# Node 2 fails (corosync and glockd killed) while it holds a lock.
	phold 2 K "" w 0 10
	expect_state "node 2: F_SETLK WR 0-9 before it fails" 2 K ok
	phold 1 L "-w" w 0 10
	check "node 1: F_SETLKW waits for node 2's lock" 0 1 "grep -q ' waiting\$' /tmp/L.st"
	on 2 'kill -9 $(cat /run/glockd.vm.pid) $(cat /run/corosync.pid)' ||
		bad "node 2: kill -9 of glockd and corosync"
	if pwait 1 L ok >/dev/null || pwait 1 L ok >/dev/null; then
		ok "node 1: the waiting F_SETLKW granted once node 2 failed and was recovered"
	else
		bad "node 1: waiter not granted after node 2 failed: $(pstate 1 L)"
	fi
	pend 1 L || true
	pend 2 K KILL || true
}

for phase in $PHASES; do
	case $phase in
	flock) phase_flock ;;
	surface) phase_surface ;;
	plock) phase_plock ;;
	*) bad "unknown phase $phase" ;;
	esac
done

if "$vmc" dmesg-check; then
	ok "guest kernel logs clean"
else
	bad "guest kernel log shows trouble"
fi
msg "$([ $fails = 0 ] && echo PASS || echo "FAIL ($fails)")"
echo "$passes passed, $fails failed"
finish $((fails > 0))
