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
#   FLOCK_CLUSTER=0 tests/vm/posix-cluster.sh  glockfs.cluster_flock=0 on
#           both nodes (each node's flock is its own): expected to FAIL.
#
# Needs: root, qemu, a built kmod/glockfs.ko and glockd
# ($GLOCK_BUILDDIR/daemon/glockd, default build/ then the repo),
# deploy/vm-cluster.  Skips (exit 77) with the reason when any of that is
# missing.  Env: KEEP=1 leaves the cluster up, GLOCK_VM_STATE (default: a
# fresh directory under /tmp), GLOCK_VM_NETNS, COUNT (increments per node
# in the counter check, default 30).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
vmc=$top/deploy/vm-cluster
if [ -z "${GLOCK_BUILDDIR:-}" ]; then
	GLOCK_BUILDDIR=$top
	[ -x "$top/build/daemon/glockd" ] && GLOCK_BUILDDIR=$top/build
fi
export GLOCK_BUILDDIR
COUNT=${COUNT:-30}
PHASES=${PHASES:-flock surface}
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

mkdir -p "$shared/fs"
msg "bringing up 2 guests (state $state)"
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

for phase in $PHASES; do
	case $phase in
	flock) phase_flock ;;
	surface) phase_surface ;;
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
