#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/vm/vm-cluster-test.sh - glockfs.ko + glockd on a 3-guest qemu cluster
# (deploy/vm-cluster).  Every check is bounded in time and looks at data:
#
#   mount      all three guests mount one lockspace over /shared/fs
#   coherent   guest 1 writes 256 KiB, guests 2 and 3 read the same bytes
#   stale      a guest that cached a page sees another guest's overwrite
#   mmap       a store through a shared mapping on 1 is read on 2 (no msync)
#   turns      guests 1 and 2 append one record each in turns, ROUNDS times,
#              the turn read from the file itself (tests/vm/append-turns.c);
#              guest 3 and the host find every record once, in order
#   names      rename, unlink, mkdir on one guest are seen on the others
#   race       two guests open(O_CREAT) the same new names at once
#   withdraw   glockd killed on guest 3: I/O there fails with EIO without
#              hanging, umount and rmmod work, guests 1 and 2 carry on
#   logs       glockd's /dev/glock bridge logged no warning on any guest
#   unload     umount, glockd stop and rmmod are clean on guests 1 and 2
#   dmesg      no WARNING/BUG/Oops/hung task in any guest kernel log
#
# Exit 0 pass, 1 fail, 77 skip (not root; no qemu, kernel image, gcc,
# glockd build or glockfs.ko).  Last line: "N passed, N failed".
#
# Environment: GLOCK_BUILDDIR (default REPO/build: daemon/glockd,
# daemon/glockctl), GLOCK_KMOD (default REPO/kmod/glockfs.ko),
# GLOCK_VM_TEST_ROUNDS (default 1000), GLOCK_VM_TEST_STATE and
# GLOCK_VM_TEST_NETNS (default /run/glockd-vm-test, glk-vmtest: apart from
# other users of the harness), GLOCK_VM_KERNEL as deploy/vm-cluster.
#
# The guests run glockd with a short minimum hold time (1-5 ms instead of
# 10-200 ms): the turn-taking is a worst case of contention and would take
# ~15 minutes under TCG with the defaults; the hold-time path still runs.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VMC=$REPO/deploy/vm-cluster
export GLOCK_VM_STATE=${GLOCK_VM_TEST_STATE:-/run/glockd-vm-test}
export GLOCK_VM_NETNS=${GLOCK_VM_TEST_NETNS:-glk-vmtest}
BUILDDIR=$(readlink -m "${GLOCK_BUILDDIR:-$REPO/build}")
KMOD=${GLOCK_KMOD:-$REPO/kmod/glockfs.ko}
ROUNDS=${GLOCK_VM_TEST_ROUNDS:-1000}
NODES=3
LS=vmtest
M=/mnt/glockfs
LOWER=/shared/fs
CTL=$BUILDDIR/daemon/glockctl

skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, taps, qemu)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
if [ -n "${GLOCK_VM_KERNEL:-}" ]; then
    [ -r "$GLOCK_VM_KERNEL" ] || skip "kernel image $GLOCK_VM_KERNEL not readable"
else
    ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || skip "no kernel image /boot/vmlinuz-*-amd64"
fi
command -v gcc >/dev/null || skip "gcc not installed (builds tests/vm/append-turns.c)"
[ -x "$BUILDDIR/daemon/glockd" ] || skip "no glockd in $BUILDDIR (set GLOCK_BUILDDIR or run deploy/build)"
[ -x "$CTL" ] || skip "no glockctl in $BUILDDIR"
[ -f "$KMOD" ] || skip "no $KMOD (make -C kmod, or set GLOCK_KMOD)"
[ -x "$VMC" ] || { echo "FAIL: $VMC missing"; echo "0 passed, 1 failed"; exit 1; }
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$GLOCK_VM_NETNS" &&
   [ -n "$(ip netns pids "$GLOCK_VM_NETNS" 2>/dev/null)" ]; then
    skip "a cluster is already running in netns $GLOCK_VM_NETNS"
fi

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# vexec NODE TIMEOUT CMD...: run CMD in a guest (bounded on both sides).
vexec() {
    local n=$1 t=$2
    shift 2
    timeout -k 5 $((t + 20)) "$VMC" exec "$n" --timeout "$t" -- "$@"
}

# Everything the guests need from the host goes through one shared dir
# (the guests' /shared): the module, the helper and the glockd config.
WORK=$(mktemp -d /var/tmp/glock-vm-test.XXXXXX)
SHARED=$WORK/shared
mkdir -p "$SHARED/fs"
finish() {
    local rc=$?
    trap - EXIT INT TERM HUP
    timeout 120 "$VMC" down >/dev/null 2>&1 || echo "warning: vm-cluster down failed"
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$GLOCK_VM_NETNS"; then
        echo "warning: netns $GLOCK_VM_NETNS left behind"
    fi
    rm -rf "$WORK"
    exit $rc
}
trap finish EXIT
trap 'echo "interrupted"; exit 1' INT TERM HUP

# summary: the last line, and the exit code.
summary() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ] && exit 0
    exit 1
}

if ! gcc -O2 -Wall -Wextra -o "$SHARED/append-turns" "$HERE/append-turns.c"; then
    bad "build tests/vm/append-turns.c"
    summary
fi
cp "$KMOD" "$SHARED/glockfs.ko"
sed -e 's/^hold_min_ms.*/hold_min_ms = 1/' -e 's/^hold_max_ms.*/hold_max_ms = 5/' \
    -e 's/^hold_incr_ms.*/hold_incr_ms = 1/' -e 's/^hold_decr_ms.*/hold_decr_ms = 1/' \
    "$REPO/deploy/glockd.conf" >"$SHARED/glockd.conf"
export GLOCK_KMOD=/shared/glockfs.ko GLOCK_CONF=/shared/glockd.conf GLOCK_BUILDDIR=$BUILDDIR

# ---------------------------------------------------------------- bring-up --
t0=$(now)
if ! timeout 400 nice "$VMC" up --nodes "$NODES" --shared "$SHARED"; then
    bad "vm-cluster up"
    summary
fi
t_quorate=$(since "$t0")

# glock_ready NODE: module loaded, /dev/glock served by glockd, cluster
# synced.  Starts the glock stack again if glockd is not running (it may
# have started before corosync answered).
glock_ready() {
    vexec "$1" 120 "
        for i in \$(seq 1 90); do
            if ! { [ -f /run/glockd.vm.pid ] && kill -0 \$(cat /run/glockd.vm.pid) 2>/dev/null; }; then
                deploy/vm-guest-init start-glock >/dev/null 2>&1
                sleep 1
            fi
            if [ -c /dev/glock ] && grep -q 'kernel clients served' /var/log/glockd.log &&
               $CTL status 2>/dev/null | head -n1 | grep -q 'quorate, synced'; then
                exit 0
            fi
            sleep 1
        done
        echo \"glockd log:\"; tail -n 20 /var/log/glockd.log; ls -l /dev/glock; exit 1"
}
rdy=0
for i in $(seq 1 $NODES); do glock_ready "$i" >"$WORK/ready$i.out" 2>&1 & done
for i in $(seq 1 $NODES); do
    wait -n && rdy=$((rdy + 1))
done
if [ $rdy = $NODES ]; then
    ok "bring-up: corosync quorate in ${t_quorate} s, glockd synced with /dev/glock on all $NODES guests in $(since "$t0") s"
else
    bad "bring-up: glockd not ready on every guest"
    cat "$WORK"/ready*.out
    summary
fi

# exec puts the build's daemon/ first on PATH in the guest.
got=$(vexec 2 30 'command -v glockctl')
if [ "$got" = "$(readlink -f "$CTL")" ] || [ "$got" = "$CTL" ]; then
    ok "exec: plain glockctl in a guest is the build's ($got)"
else
    bad "exec: glockctl on the guest's PATH is [$got], not $CTL"
fi

# ------------------------------------------------------------------- mount --
mounted=0
for i in $(seq 1 $NODES); do
    if vexec "$i" 60 "mkdir -p $LOWER $M
        for k in \$(seq 1 20); do
            mount -t glockfs -o lockspace=$LS $LOWER $M && exit 0
            sleep 1
        done
        exit 1"; then
        mounted=$((mounted + 1))
    fi
done
if [ $mounted = $NODES ]; then
    ok "mount: lockspace $LS mounted on all $NODES guests"
else
    bad "mount: only $mounted of $NODES guests mounted"
    summary
fi

# -------------------------------------------------------------- coherence --
want=$(vexec 1 60 "head -c 262144 /dev/urandom >/tmp/blob && cp /tmp/blob $M/blob && md5sum </tmp/blob")
for i in 2 3; do
    got=$(vexec "$i" 60 "md5sum <$M/blob")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        ok "coherent: guest $i reads the 256 KiB guest 1 wrote"
    else
        bad "coherent: guest $i read md5 '$got', guest 1 wrote '$want'"
    fi
done

# ------------------------------------------------------- no stale pages ----
# In-place overwrites (size unchanged): only the glock can tell the reader's
# cached page is stale.  The writer alternates between guests 1 and 2.
vexec 1 60 "head -c 8192 /dev/zero >$M/stale" >/dev/null
stale_ok=1
for k in 1 2 3 4; do
    w=$((k % 2 + 1))
    r=$((3 - w))
    vexec "$r" 60 "cat $M/stale >/dev/null" >/dev/null   # reader caches it
    tok=$(printf 'W%d-%05d' "$k" "$RANDOM")
    vexec "$w" 60 "printf %s $tok | dd of=$M/stale bs=1 seek=4100 conv=notrunc status=none" >/dev/null
    got=$(vexec "$r" 60 "dd if=$M/stale bs=1 skip=4100 count=${#tok} status=none")
    if [ "$got" != "$tok" ]; then
        stale_ok=0
        bad "stale: guest $r read '$got' after guest $w wrote '$tok'"
    fi
done
[ $stale_ok = 1 ] && ok "stale: 4 in-place overwrites, each seen by the guest that cached the page"

# -------------------------------------------------------------------- mmap --
vexec 1 60 "head -c 16384 /dev/zero >$M/mm" >/dev/null
vexec 2 60 "cat $M/mm >/dev/null" >/dev/null               # guest 2 caches it
tok=MMAP-$RANDOM-$RANDOM
if vexec 1 60 "python3 -c \"
import mmap, os
fd = os.open('$M/mm', os.O_RDWR)
m = mmap.mmap(fd, 16384)
m[9000:9000 + len('$tok')] = b'$tok'
m.close()
os.close(fd)
\""; then
    got=$(vexec 2 60 "dd if=$M/mm bs=1 skip=9000 count=${#tok} status=none")
    if [ "$got" = "$tok" ]; then
        ok "mmap: a store through a shared mapping on guest 1 is read on guest 2"
    else
        bad "mmap: guest 2 read '$got', guest 1 stored '$tok'"
    fi
else
    bad "mmap: the store on guest 1 failed"
fi

# ------------------------------------------------------------------- turns --
at=/tmp/append-turns
vexec 1 60 "cp /shared/append-turns $at && : >$M/turns" >/dev/null
vexec 2 60 "cp /shared/append-turns $at" >/dev/null
vexec 3 60 "cp /shared/append-turns $at" >/dev/null
tt=$(now)
tlimit=$((ROUNDS / 4 + 120))
vexec 1 $((tlimit + 30)) "$at $M/turns 0 $ROUNDS $tlimit" >"$WORK/turns1.out" 2>&1 &
p1=$!
vexec 2 $((tlimit + 30)) "$at $M/turns 1 $ROUNDS $tlimit" >"$WORK/turns2.out" 2>&1
r2=$?
wait $p1
r1=$?
if [ $r1 = 0 ] && [ $r2 = 0 ]; then
    ok "turns: guests 1 and 2 appended $ROUNDS records each in turns in $(since "$tt") s"
else
    bad "turns: append-turns failed (guest 1 rc $r1, guest 2 rc $r2)"
fi
cat "$WORK/turns1.out" "$WORK/turns2.out" | sed 's/^/    /'
if out=$(vexec 3 120 "$at --check $M/turns $ROUNDS" 2>&1); then
    ok "turns: guest 3 reads every record once, in order ($out)"
else
    bad "turns: guest 3: $out"
fi

# ------------------------------------------------------------------ names ---
# Guest 2 looks the names up first, so a stale dentry would be in its cache.
vexec 1 60 "echo renamed-$$ >$M/ren-a && echo doomed >$M/unl-a && mkdir $M/dir1" >/dev/null
vexec 2 60 "cat $M/ren-a $M/unl-a; ls $M/dir1" >/dev/null
vexec 3 60 "cat $M/ren-a $M/unl-a; ls $M/dir1" >/dev/null
vexec 1 60 "mv $M/ren-a $M/dir1/ren-b && rm $M/unl-a" >/dev/null
for i in 2 3; do
    got=$(vexec "$i" 60 "cat $M/dir1/ren-b")
    if [ "$got" = "renamed-$$" ]; then
        ok "names: guest $i finds the file guest 1 renamed under its new name"
    else
        bad "names: guest $i reads '$got' under the new name, want 'renamed-$$'"
    fi
    left=$(vexec "$i" 60 "for f in ren-a unl-a; do stat -c %n $M/\$f 2>/dev/null; done")
    if [ -z "$left" ]; then
        ok "names: guest $i no longer finds the names guest 1 renamed and unlinked"
    else
        bad "names: guest $i still finds $(echo $left) after guest 1 renamed/unlinked them (stale dentry)"
    fi
done
vexec 3 60 "rm $M/dir1/ren-b && rmdir $M/dir1 && mkdir $M/dir3" >/dev/null
if vexec 1 60 "test -d $M/dir3 && ls $M | grep -qx dir3 && ! ls $M | grep -qx dir1" >/dev/null; then
    ok "names: mkdir and rmdir on guest 3 show in guest 1's readdir"
else
    bad "names: guest 1's readdir does not match guest 3's mkdir/rmdir"
fi
if left=$(vexec 1 60 "stat -c %n $M/dir1/ren-b $M/dir1 2>/dev/null") && [ -n "$left" ]; then
    bad "names: guest 1 still finds $(echo $left) after guest 3 removed them (stale dentry)"
else
    ok "names: guest 1 no longer finds what guest 3 removed"
fi

# ------------------------------------------------------------ create race --
# Both guests open(O_CREAT) the same 50 new names at once, without O_EXCL:
# whoever comes second must open the file the other created, not get EEXIST.
race="python3 -c '
import os, sys
for i in range(50):
    try:
        os.close(os.open(\"$M/race%d\" % i, os.O_CREAT | os.O_WRONLY, 0o644))
    except OSError as e:
        sys.exit(\"race%d: %s\" % (i, e))
'"
vexec 1 120 "$race" >"$WORK/race1.out" 2>&1 &
p1=$!
vexec 2 120 "$race" >"$WORK/race2.out" 2>&1
r2=$?
wait $p1
r1=$?
n=$(vexec 3 60 "ls $M | grep -c '^race'" | tr -d '\r')
if [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$n" = 50 ]; then
    ok "create race: guests 1 and 2 both open(O_CREAT) the same 50 new names; guest 3 sees 50"
else
    bad "create race: rc $r1/$r2, guest 3 sees $n files: $(cat "$WORK/race1.out" "$WORK/race2.out" | head -n 3)"
fi

# ---------------------------------------------------------------- withdraw --
vexec 3 60 "cat $M/blob >/dev/null" >/dev/null               # guest 3 holds a glock
tw=$(now)
if out=$(vexec 3 90 "
    kill -KILL \$(cat /run/glockd.vm.pid) || exit 2
    rm -f /run/glockd.vm.pid
    for i in \$(seq 1 40); do grep -q \"$M .*withdrawn\" /proc/mounts && break; sleep 0.5; done
    grep -q \"$M .*withdrawn\" /proc/mounts || { echo 'mount not withdrawn'; exit 1; }
    err=\$(timeout 20 cat $M/blob 2>&1 >/dev/null); rc=\$?
    [ \$rc = 124 ] && { echo 'read hung'; exit 1; }
    case \$err in *'Input/output error'*) ;; *) echo \"read: rc \$rc '\$err', want EIO\"; exit 1 ;; esac
    err=\$(timeout 20 sh -c 'echo x >$M/new' 2>&1); rc=\$?
    case \$err in *'Input/output error'*) ;; *) echo \"create: rc \$rc '\$err', want EIO\"; exit 1 ;; esac
    timeout 30 umount $M || { echo 'umount failed'; exit 1; }
    timeout 30 rmmod glockfs || { echo 'rmmod failed'; exit 1; }
    ! grep -q '^glockfs ' /proc/modules" 2>&1); then
    ok "withdraw: glockd killed on guest 3: mount withdrawn, EIO, umount and rmmod in $(since "$tw") s"
else
    bad "withdraw: $out"
fi
# The others carry on (guest 3's grants are dropped once it is fenced: fence = none).
tok=after-$RANDOM
if vexec 1 120 "echo $tok >$M/after" >/dev/null &&
   [ "$(vexec 2 120 "cat $M/after")" = "$tok" ] &&
   [ "$(vexec 2 60 "md5sum <$M/blob")" = "$want" ]; then
    ok "withdraw: guests 1 and 2 carry on after guest 3's glockd died"
else
    bad "withdraw: guests 1 and 2 stuck or wrong after guest 3's glockd died"
fi

# ------------------------------------------------------------ glockd logs --
# The /dev/glock bridge logs every refused or unexpected record at warning
# level or above ("kernel client: ..."); none is expected here.
klog=""
for i in $(seq 1 $NODES); do
    l=$(vexec "$i" 60 "grep -E '(warning|error|crit): kernel client' /var/log/glockd.log | grep -v 'closing'")
    [ -n "$l" ] && klog+="guest $i: $l"$'\n'
done
if [ -z "$klog" ]; then
    ok "glockd logs: no /dev/glock bridge warnings on any guest"
else
    bad "glockd logs: /dev/glock bridge warnings:"
    echo "$klog" | sed 's/^/    /'
fi

# ------------------------------------------------------------------ unload --
for i in 1 2; do
    if out=$(vexec "$i" 90 "
        timeout 30 umount $M || { echo 'umount failed'; exit 1; }
        deploy/vm-guest-init stop-glock >/dev/null 2>&1
        grep -q '^glockfs ' /proc/modules && { echo 'module still loaded'; exit 1; }
        grep -q 'glockd exiting (0)' /var/log/glockd.log || { echo 'glockd did not exit cleanly'; tail -n 5 /var/log/glockd.log; exit 1; }
        exit 0" 2>&1); then
        ok "unload: guest $i: umount, glockd stop, rmmod clean"
    else
        bad "unload: guest $i: $out"
    fi
done
# The lower file on the host: the whole history, written through glockfs.
if out=$("$SHARED/append-turns" --check "$SHARED/fs/turns" "$ROUNDS" 2>&1); then
    ok "turns: the lower file on the host holds every record once, in order"
else
    bad "turns: lower file on the host: $out"
fi

# ------------------------------------------------------------------- dmesg --
if out=$(timeout 180 "$VMC" dmesg-check 2>&1); then
    ok "dmesg: $out"
else
    bad "dmesg: guest kernel logs show trouble:"
    echo "$out" | sed 's/^/    /'
fi

summary
