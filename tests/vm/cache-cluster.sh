#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cache-cluster.sh: glockfs's bounded glock cache (kmod/glock.c) across two
# qemu guests running the real glockd, through deploy/vm-cluster.
#
#   limit     node 1 mounts with max_glocks=MAX_GLOCKS (default 64) and
#             reads FILES files (default 1000): the glocks it holds stay
#             at most MAX_GLOCKS, in debugfs (cached, and the G: lines)
#             and in glockd's view (glockctl status: "kernel ... glocks
#             held"), the inodes stay, and files node 2 rewrites after
#             node 1 gave their glocks back read the new contents there.
#   shrinker  node 2 (no limit) holds 200 of the files open and reads
#             them all; echo 2 > drop_caches evicts the other inodes and
#             the shrinker gives back the glocks of the open ones, whose
#             inodes stay (debugfs: shrinker_demotes, UN glocks); glockd
#             agrees; a file node 1 rewrites then reads new on node 2.
#
# MAX_GLOCKS=0 tests/vm/cache-cluster.sh mounts node 1 without a limit:
# the limit checks are expected to FAIL (the test catches a missing
# bound).  GLOCK_KMOD=... runs another build of the module.
#
# Needs: root, qemu, a built glockd ($GLOCK_BUILDDIR/daemon/glockd,
# default build/ then the repo), kmod/glockfs.ko, deploy/vm-cluster; skips
# (exit 77) with the reason when any of that is missing.  Env: KEEP=1
# leaves the cluster up, GLOCK_VM_STATE (default: a fresh directory under
# /tmp), GLOCK_VM_NETNS.  Last line: "N passed, N failed".
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
vmc=$top/deploy/vm-cluster
if [ -z "${GLOCK_BUILDDIR:-}" ]; then
	GLOCK_BUILDDIR=$top
	[ -x "$top/build/daemon/glockd" ] && GLOCK_BUILDDIR=$top/build
fi
export GLOCK_BUILDDIR
MAX_GLOCKS=${MAX_GLOCKS:-64}
FILES=${FILES:-1000}
HELD=200
case "$MAX_GLOCKS$FILES" in
*[!0-9]*) echo "MAX_GLOCKS and FILES are numbers"; exit 2 ;;
esac
[ "$FILES" -ge $((HELD + 100)) ] || { echo "FILES must be at least $((HELD + 100))"; exit 2; }
own_state=0
if [ -z "${GLOCK_VM_STATE:-}" ]; then
	GLOCK_VM_STATE=$(mktemp -d /tmp/cache-cluster.XXXXXX)
	own_state=1
fi
export GLOCK_VM_STATE
state=$GLOCK_VM_STATE
mkdir -p "$state" || exit 2
shared=$(mktemp -d /tmp/cache-cluster-shared.XXXXXX)
up=0
fails=0
passes=0
LS=cache
D=/sys/kernel/debug/glockfs/$LS

msg() { echo "cache-cluster: $*"; }
finish() {
	[ "${KEEP:-0}" = 1 ] && exit "$1"
	[ "$up" = 1 ] && "$vmc" down >/dev/null 2>&1
	[ "$own_state" = 1 ] && rm -rf "$state"
	rm -rf "$shared"
	exit "$1"
}
skip() { msg "SKIP: $*"; echo "0 passed, 0 failed"; finish 77; }
trap 'msg interrupted; finish 1' INT TERM HUP
on() {	# on NODE CMD: run CMD (one bash -c string) on NODE, 300 s at most
	local n=$1
	shift
	timeout -k 5 330 "$vmc" exec "$n" --timeout 300 -- "$@"
}
ok() { msg "ok   $*"; passes=$((passes + 1)); }
bad() { msg "FAIL $*"; fails=$((fails + 1)); }
# cache NODE KEY: a line of the mount's debugfs cache file on NODE.
cache() { on "$1" "awk '\$1 == \"$2\" { print \$2 }' $D/cache"; }
# settled NODE: no release or demote queued or running (120 s at most).
settled() {
	on "$1" "for i in \$(seq 1200); do
		grep -q '^G: .* f:[^ ]*[dD]' $D/glocks || exit 0; sleep 0.1; done; exit 1"
}
# kernel_held NODE: glocks the kernel holds in $LS, as glockd counts them.
kernel_held() {
	on "$1" "glockctl status" | awk -v ls="$LS" '$1 == "kernel" && $2 == ls { print $3 }'
}
# agreed NODE WANT: glockd's count reaches the kernel's WANT (its RELEASEs
# are read from /dev/glock in order; 60 s at most).
agreed() {
	local i got
	for i in $(seq 120); do
		got=$(kernel_held "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.5
	done
	echo "    glockd on node $1 counts ${got:-nothing}, the kernel $2"
	return 1
}
# held_lines NODE: debugfs G: lines of inode glocks the node holds.
held_lines() { on "$1" "grep -c '^G: s:[SDE][HFX] n:2/' $D/glocks"; }

[ "$(id -u)" = 0 ] || skip "must be root (network namespace, qemu)"
[ -x "$vmc" ] || skip "no deploy/vm-cluster"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -x "$GLOCK_BUILDDIR/daemon/glockd" ] ||
	skip "no glockd at $GLOCK_BUILDDIR/daemon/glockd (build the daemon first)"
if [ -z "${GLOCK_KMOD:-}" ]; then
	make -s -C "$top/kmod" >/dev/null 2>&1 || skip "kmod/glockfs.ko does not build"
fi

# The files, made in the lower directory before the guests start.
mkdir -p "$shared/fs/c"
# Another module: through /shared, where the guests see it (their /tmp
# is their own).
if [ -n "${GLOCK_KMOD:-}" ]; then
	cp "$GLOCK_KMOD" "$shared/glockfs.ko" || skip "cannot copy $GLOCK_KMOD"
	export GLOCK_KMOD=/shared/glockfs.ko
fi
for i in $(seq "$FILES"); do echo "v1 $i" >"$shared/fs/c/f$i"; done
msg "bringing up 2 guests (state $state)"
if ! nice "$vmc" up --nodes 2 --shared "$shared" >"$state/up.log" 2>&1; then
	tail -20 "$state/up.log"
	skip "vm-cluster up failed (log above)"
fi
up=1

opts=("lockspace=$LS,max_glocks=$MAX_GLOCKS" "lockspace=$LS")
for n in 1 2; do
	on "$n" 'grep -q "^glockfs " /proc/modules' ||
		skip "node $n: glockfs not loaded by the rig"
	on "$n" 'mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug'
	on "$n" "mkdir -p /mnt/g; for i in \$(seq 60); do
		mount -t glockfs -o ${opts[$((n - 1))]} /shared/fs /mnt/g && exit 0
		sleep 1; done; exit 1" ||
		skip "node $n: glockfs mount failed (is glockd serving /dev/glock?)"
done
msg "node 1 mounted with max_glocks=$MAX_GLOCKS, node 2 without"

# ---- limit ----

phase_limit() {
	local cached held limit evict got

	on 1 "grep -q ' /mnt/g glockfs .*max_glocks=$MAX_GLOCKS' /proc/mounts" ||
		bad "node 1: max_glocks=$MAX_GLOCKS not in /proc/mounts"
	if on 1 "cd /mnt/g/c && stat -c %s f* >/dev/null && cat f* >/dev/null"; then
		ok "node 1: stat and read $FILES files"
	else
		bad "node 1: stat and read $FILES files"
	fi
	settled 1 || bad "node 1: releases still running after 120 s"
	msg "node 1 cache: $(on 1 "tr '\n' ' ' <$D/cache")"
	cached=$(cache 1 cached)
	held=$(held_lines 1)
	limit=$(cache 1 limit_demotes)
	evict=$(cache 1 evict_releases)
	if [ -n "$cached" ] && [ "$cached" -le "$MAX_GLOCKS" ]; then
		ok "node 1: $cached glocks cached after $FILES files, at most max_glocks=$MAX_GLOCKS"
	else
		bad "node 1: ${cached:-?} glocks cached after $FILES files, max_glocks=$MAX_GLOCKS"
	fi
	if [ -n "$held" ] && [ "$held" = "$cached" ]; then
		ok "node 1: debugfs glocks lists $held held, agreeing"
	else
		bad "node 1: debugfs glocks lists ${held:-?} held, cache says ${cached:-?}"
	fi
	if [ -n "$limit" ] && [ "$limit" -ge $((FILES - MAX_GLOCKS)) ] && [ "$evict" = 0 ]; then
		ok "node 1: $limit releases by the limit, none by eviction (the inodes stayed)"
	else
		bad "node 1: ${limit:-?} releases by the limit (want >= $((FILES - MAX_GLOCKS))), ${evict:-?} by eviction"
	fi
	if agreed 1 "$cached"; then
		ok "node 1: glockctl status: the kernel holds $cached glocks of $LS, as debugfs says"
	else
		bad "node 1: glockctl status does not agree with debugfs"
	fi
	on 1 "glockctl status" | grep "^kernel" | sed 's/^/    /'

	# Node 2 rewrites files node 1 gave back (the first read) and one it
	# still holds (the last): node 1 reads the new contents of both.
	on 2 "cd /mnt/g/c && for i in 1 2 3 $FILES; do echo \"v2 \$i\" >f\$i; done" ||
		bad "node 2: rewrite"
	got=$(on 1 "cd /mnt/g/c && cat f1 f2 f3 f$FILES" | tr '\n' ' ')
	if [ "$got" = "v2 1 v2 2 v2 3 v2 $FILES " ]; then
		ok "node 1: reads node 2's new contents of released and cached files"
	else
		bad "node 1: read '$got' after node 2's rewrite"
	fi
	settled 1 || bad "node 1: releases still running after 120 s"
	cached=$(cache 1 cached)
	if [ -n "$cached" ] && [ "$cached" -le "$MAX_GLOCKS" ]; then
		ok "node 1: still $cached glocks cached"
	else
		bad "node 1: ${cached:-?} glocks cached after the rereads"
	fi
}

# ---- shrinker ----

phase_shrinker() {
	local before shrink un lru got

	# A holder keeps HELD files open, so that only their glocks can go.
	on 2 "setsid bash -c 'for i in \$(seq $HELD); do exec {fd}</mnt/g/c/f\$i; done
		echo \$\$ >/tmp/holder.pid.new; mv /tmp/holder.pid.new /tmp/holder.pid
		exec sleep 900' </dev/null >/dev/null 2>&1 &
		for i in \$(seq 600); do [ -s /tmp/holder.pid ] && exit 0; sleep 0.1; done; exit 1" ||
		bad "node 2: holder of $HELD open files"
	on 2 "cd /mnt/g/c && cat f* >/dev/null" || bad "node 2: read $FILES files"
	settled 2 || bad "node 2: demotes still running after 120 s"
	before=$(cache 2 cached)
	msg "node 2 cache before: $(on 2 "tr '\n' ' ' <$D/cache")"
	on 2 'echo 2 >/proc/sys/vm/drop_caches'
	settled 2 || bad "node 2: releases still running after 120 s"
	msg "node 2 cache after drop_caches: $(on 2 "tr '\n' ' ' <$D/cache")"
	shrink=$(cache 2 shrinker_demotes)
	lru=$(cache 2 lru)
	un=$(on 2 "grep -c '^G: s:UN n:2/' $D/glocks")
	if [ -n "$shrink" ] && [ "$shrink" -ge "$HELD" ] && [ "$before" -ge "$HELD" ]; then
		ok "node 2: drop_caches: the shrinker released $shrink of $before cached glocks"
	else
		bad "node 2: drop_caches: the shrinker released ${shrink:-?} of ${before:-?} cached glocks (want >= $HELD)"
	fi
	if [ -n "$un" ] && [ "$un" -ge "$HELD" ]; then
		ok "node 2: $un glocks UN whose inodes stayed (the $HELD open files)"
	else
		bad "node 2: ${un:-?} glocks UN with their inode in memory, want >= $HELD"
	fi
	if [ "$lru" = 0 ]; then ok "node 2: LRU empty"; else bad "node 2: LRU holds ${lru:-?}"; fi
	if agreed 2 "$(cache 2 cached)"; then
		ok "node 2: glockctl status agrees with debugfs after the shrinker"
	else
		bad "node 2: glockctl status does not agree with debugfs after the shrinker"
	fi
	on 1 "echo v3 >/mnt/g/c/f5" || bad "node 1: rewrite f5"
	got=$(on 2 "cat /mnt/g/c/f5")
	if [ "$got" = v3 ]; then
		ok "node 2: an open file whose glock the shrinker released reads node 1's new contents"
	else
		bad "node 2: read '$got' of f5, node 1 wrote v3"
	fi
	on 2 'kill $(cat /tmp/holder.pid)'
}

phase_limit
phase_shrinker

for n in 1 2; do
	on "$n" "timeout 60 umount /mnt/g" || bad "node $n: umount"
done
if "$vmc" dmesg-check; then
	ok "guest kernel logs clean"
else
	bad "guest kernel log shows trouble"
fi
msg "$([ $fails = 0 ] && echo PASS || echo "FAIL ($fails)")"
echo "$passes passed, $fails failed"
finish $((fails > 0))
