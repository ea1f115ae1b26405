#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kmod-single.sh: single-guest test of glockfs.ko, for module development.
#
# Builds the module, the test agent (tests/vm/glock-test-agent.c, NOT
# glockd) and kmod-iotest, packs them with busybox and the 9p/virtio
# modules into a small initramfs, boots ONE guest under TCG with the
# host's / read-only over 9p and a writable 9p share for results, and runs
# tests/vm/kmod-guest.sh in it as /init.
#
# Exit: 0 pass, 1 fail, 77 skip (no qemu, kernel image, modules or static
# busybox).  Env: KVER (default: newest /boot/vmlinuz-*-amd64 with headers),
# QEMU_TIMEOUT (seconds, default 300), KEEP=1 keeps the work directory,
# DIO_TESTS (names of tests/vm/dio-test.c tests to run; default all),
# GLOCKFS_PARAMS=p=0[,p=0...] loads glockfs with test-only parameters that
# turn a protection off (fault_retry=0: the naive I/O paths, faults taken
# under the glock; retry_short_copy=0: faults disabled but no retry, the
# short count returned; cut_invalidate_lock=0: page faults race truncate
# and hole punch) and runs only dio-test, to show which of its tests hang
# or fail without it: that run is expected to fail, and is not for CI.
# SURFACE_ONLY=1 runs only tests/vm/fs-surface.c (links, mknod, O_TMPFILE,
# xattrs, ACLs, fallocate, FIEMAP, SEEK_DATA/HOLE, copy_file_range, statfs,
# inode flags) over tmpfs and 9p: with the module of a branch without them,
# to show which of its tests fail.
# FAULT_RETRY=0 is short for GLOCKFS_PARAMS=fault_retry=0.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}
GLOCKFS_PARAMS=${GLOCKFS_PARAMS:-}
[ "${FAULT_RETRY:-1}" = 0 ] && GLOCKFS_PARAMS=fault_retry=0
case $GLOCKFS_PARAMS in
*[!a-z_=0,]*) echo "GLOCKFS_PARAMS: parameter=0 names, comma-separated"; exit 2 ;;
esac

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
command -v cpio >/dev/null || skip "cpio not installed"
if [ -z "${KVER:-}" ]; then
	for k in $(ls -v /boot/vmlinuz-*-amd64 2>/dev/null); do
		v=${k#/boot/vmlinuz-}
		[ -d "/usr/src/linux-headers-$v" ] && KVER=$v
	done
fi
[ -n "${KVER:-}" ] || skip "no /boot/vmlinuz-*-amd64 with matching linux-headers"
kernel=/boot/vmlinuz-$KVER
moddir=/lib/modules/$KVER
[ -r "$kernel" ] || skip "$kernel not readable"
[ -f "$moddir/modules.dep" ] || skip "$moddir/modules.dep missing"
busybox=$(command -v busybox) || skip "busybox not installed"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	skip "$busybox is not statically linked (install busybox-static)"

work=$(mktemp -d /tmp/kmod-single.XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
echo "kmod-single: kernel $KVER, work dir $work"

# Build: module, agent, io test.
make -s -C "$top/kmod" KDIR="/usr/src/linux-headers-$KVER" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; fail "module build"; }
if grep -q 'warning:' "$work/build.log"; then
	cat "$work/build.log"
	fail "module build has warnings"
fi
for p in glock-test-agent kmod-iotest dio-test fs-surface plock-test; do
	gcc -static -O2 -Wall -Werror -pthread -I"$top/include" -o "$work/$p" \
		"$top/tests/vm/$p.c" || fail "build $p"
done

# Initramfs: busybox, modules for virtio + 9p (in modules.dep order).
root=$work/initrd
mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/mnt/g" "$root/host" "$root/results"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
: >"$root/modules.order"
add_mod() {	# add_mod NAME: NAME and its dependencies, dependencies first
	local path deps d
	grep -qx "$1" "$root/modules.order" && return 0
	path=$(grep -E "(^|/)$1\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | cut -d: -f1)
	[ -n "$path" ] || skip "module $1 not in $moddir"
	deps=$(grep -E "(^|/)$1\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | cut -d: -f2)
	for d in $deps; do
		add_mod "$(basename "$d" | sed -E 's/\.ko(\.xz|\.zst)?$//')"
	done
	case $path in
	*.xz) xz -dc "$moddir/$path" >"$root/lib/modules/$1.ko" ;;
	*.zst) zstd -qdc "$moddir/$path" >"$root/lib/modules/$1.ko" ;;
	*) cp "$moddir/$path" "$root/lib/modules/$1.ko" ;;
	esac
	echo "$1" >>"$root/modules.order"
}
for m in virtio_pci 9pnet_virtio 9p; do add_mod $m; done
cp "$top/kmod/glockfs.ko" "$work/glock-test-agent" "$work/kmod-iotest" \
	"$work/dio-test" "$work/fs-surface" "$work/plock-test" "$root/"
cp "$top/tests/vm/kmod-guest.sh" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img" ||
	fail "initramfs"

mkdir -p "$work/results"
echo "kmod-single: booting (timeout ${QEMU_TIMEOUT}s)"
start=$(date +%s)
timeout --foreground -k 10 "$QEMU_TIMEOUT" nice qemu-system-x86_64 \
	-accel tcg,tb-size=256 -m 1024 -smp 1 \
	-nographic -no-reboot -monitor none \
	-serial "file:$work/console.log" \
	-kernel "$kernel" -initrd "$work/initrd.img" \
	-append "console=ttyS0 panic=-1 loglevel=4 log_buf_len=8M ${GLOCKFS_PARAMS:+GLOCKFS_PARAMS=$GLOCKFS_PARAMS }DIO_TESTS=${DIO_TESTS:-all} SURFACE_ONLY=${SURFACE_ONLY:-0}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$work/results,mount_tag=results,security_model=none" \
	</dev/null >"$work/qemu.log" 2>&1
qrc=$?
echo "kmod-single: guest finished in $(($(date +%s) - start))s (qemu rc $qrc)"

if [ -f "$work/results/guest.log" ]; then
	cat "$work/results/guest.log"
else
	tail -50 "$work/console.log" 2>/dev/null
fi
rc=$(cat "$work/results/rc" 2>/dev/null)
# The guest's checks, counted for the suite's summary line.
n_ok=$(grep -cE '^ok( |$)' "$work/results/guest.log" 2>/dev/null)
n_bad=$(grep -cE '^FAIL( |$)' "$work/results/guest.log" 2>/dev/null)
case $rc in
0) echo "kmod-single: PASS"; echo "${n_ok:-0} passed, 0 failed"; exit 0 ;;
'')
	[ "$qrc" = 124 ] && fail "guest timed out"
	tail -40 "$work/console.log" 2>/dev/null
	fail "guest left no result" ;;
*)
	echo "--- guest dmesg (tail) ---"
	tail -60 "$work/results/dmesg.txt" 2>/dev/null
	echo "${n_ok:-0} passed, ${n_bad:-1} failed"
	fail "$rc guest check(s) failed" ;;
esac
