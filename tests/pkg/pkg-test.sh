#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/pkg/pkg-test.sh - the README's package path, end to end, on this
# (disposable, root) machine:
#
#   build     deploy/build-debs into a temporary dir (DEB_BUILD_OPTIONS=nocheck)
#   lintian   no error and no warning that debian/*.lintian-overrides does not
#             cover (info tags are shown, not counted)
#   install   apt-get install ./glockd_*.deb ./libglock1_*.deb
#             ./glockfs-dkms_*.deb ./libglock-dev_*.deb, as README.md says;
#             then the files, man pages, the conffile, the unit
#             (systemd-analyze verify, when present), the shipped
#             /etc/glockd.conf accepted by glockd -t, pkg-config libglock and
#             a client (tests/pkg/pkg-client.c) built against the installed
#             header and library
#   netns     the INSTALLED glockd and glockctl (/usr/sbin, /usr/bin) on a
#             3-node deploy/netns-cluster: quorate and synced everywhere,
#             glockctl run on two nodes, a held EX on node 1 refuses the
#             client's TRY on node 2, and is granted to it on node 3 after
#   dkms      the package's postinst built and installed glockfs.ko through
#             DKMS for the guests' kernel (else this test runs dkms build and
#             dkms install itself); make.log has no warning; the module in
#             /lib/modules/KVER/updates/dkms is the one DKMS built
#   guest     one deploy/vm-cluster guest on that kernel: `modprobe glockfs`
#             loads the DKMS module (modinfo path, srcversion), the installed
#             glockd serves /dev/glock, a glockfs mount over /shared/fs
#             writes a file the host reads, umount and rmmod are clean, the
#             guest's kernel log is clean
#   purge     apt-get purge of what was installed; dpkg's package list, the
#             DKMS tree and /lib/modules are as before
#
# Everything is torn down on any exit (EXIT trap: guest, namespaces, purge,
# temporary files).  Bounded: every step has a timeout, and a watchdog ends
# the run after GLOCK_PKG_TIMEOUT seconds (default 600).
#
# Exit 0 pass, 1 fail, 77 skip (not root, or a tool is missing:
# dpkg-buildpackage, apt-get, dkms, lintian, corosync, qemu, busybox, a
# kernel image with its headers: deploy/install-deps installs them all,
# deploy/install-deps --no-vm not qemu and the kernel, so this skips).
# Last line: "N passed, N failed".
#
# Environment: GLOCK_PKG_DEBS (a dir holding already built .debs: skips the
# build), GLOCK_PKG_TIMEOUT, GLOCK_VM_KERNEL (the guests' kernel image,
# default the newest /boot/vmlinuz-*-amd64 with headers), GLOCK_VM_ACCEL
# (as deploy/vm-cluster).  Names used, apart from other runs: netns prefix
# gpk (gpk-n1.. gpk-br, gpk-vmnet), state in /run/glockd-pkg-netns and
# /run/glockd-pkg-vm.
#
# Installing on the host is why this needs a disposable machine: nothing
# else in the suite looks at /usr/sbin/glockd, /usr/bin/glockctl or
# /etc/glockd.conf (the tests run the build tree's binaries by path, or
# with its daemon/ first on PATH), and the packages are purged before the
# run goes on.  A second run of this test on the machine waits for the
# first (flock), as dpkg would anyway.

# The checks' conditions are eval'd strings, expanded when they run:
# shellcheck disable=SC2016,SC2034,SC2317	# and finish is called by the trap
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NETNS_CLUSTER=$REPO/deploy/netns-cluster
VMC=$REPO/deploy/vm-cluster
PKGS=(glockd libglock1 libglock-dev glockfs-dkms)
TIMEOUT=${GLOCK_PKG_TIMEOUT:-600}
LS=pkgtest

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
note() { echo "#      $*"; }
skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }
t_start=$(date +%s)
since() { echo "$(( $(date +%s) - t_start )) s"; }
# check DESCRIPTION CMD...: one test, passed when CMD succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
indent() { sed 's/^/#      /'; }

# ------------------------------------------------------------ preconditions --
[ "$(id -u)" = 0 ] || skip "needs root (installs packages, namespaces, qemu)"
for t in dpkg-buildpackage dpkg-checkbuilddeps apt-get dkms lintian corosync \
         corosync-quorumtool qemu-system-x86_64 pkg-config gcc man modinfo readelf flock cpio; do
    command -v "$t" >/dev/null || skip "$t not installed (deploy/install-deps installs it)"
done
if [ -n "${GLOCK_VM_KERNEL:-}" ]; then
    KVER=${GLOCK_VM_KERNEL##*/vmlinuz-}
else
    KVER=
    # shellcheck disable=SC2045	# ls -v: version order
    for k in $(ls -v /boot/vmlinuz-*-amd64 2>/dev/null); do
        v=${k#/boot/vmlinuz-}
        [ -d "/lib/modules/$v/build" ] && KVER=$v
    done
    [ -n "$KVER" ] || skip "no /boot/vmlinuz-*-amd64 with its headers (linux-image-amd64, linux-headers-amd64)"
    export GLOCK_VM_KERNEL=/boot/vmlinuz-$KVER
fi
[ -x /bin/busybox ] || skip "no /bin/busybox (busybox-static: the guests' initramfs)"
[ -r "$GLOCK_VM_KERNEL" ] || skip "kernel image $GLOCK_VM_KERNEL not readable"
[ -d "/lib/modules/$KVER/build" ] || skip "no headers for $KVER (/lib/modules/$KVER/build)"
VERSION=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
UPSTREAM=${VERSION%-*}
ARCH=$(dpkg --print-architecture)

# One run at a time on a machine: the packages are global.
exec 9>/run/glockd-pkg-test.lock
if ! flock -w 300 9; then
    bad "another pkg-test holds /run/glockd-pkg-test.lock for over 300 s"
    echo "$pass passed, $fail failed"
    exit 1
fi

# The host must be as a fresh machine: none of our packages (not even left
# configuration files), none of their files.  Else installing and purging
# would change what someone else set up.
dirty=
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
    [ -n "$st" ] && [ "${st:0:2}" != "un" ] && dirty+=" package $p ($st)"
done
for f in /usr/sbin/glockd /usr/bin/glockctl /etc/glockd.conf "/usr/src/glockfs-$UPSTREAM" \
         /var/lib/dkms/glockfs; do
    [ -e "$f" ] && dirty+=" $f"
done
for f in /lib/modules/*/updates/dkms/glockfs.ko*; do
    [ -e "$f" ] && dirty+=" $f"
done
if [ -n "$dirty" ]; then
    bad "host not clean, refusing to install over:$dirty"
    echo "$pass passed, $fail failed"
    exit 1
fi

export GLOCK_NETNS_PREFIX=gpk GLOCK_NETNS_STATE=/run/glockd-pkg-netns
# One run at a time (the lock above): fixed names; vm-cluster keeps its
# accel probe's result in the state dir for the next run.
export GLOCK_VM_STATE=/run/glockd-pkg-vm GLOCK_VM_NETNS=gpk-vmnet
for ns in gpk-br gpk-n1 gpk-n2 gpk-n3 gpk-vmnet; do
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
        bad "network namespace $ns exists (another run, or left over: ip netns del $ns)"
        echo "$pass passed, $fail failed"
        exit 1
    fi
done

WORK=$(mktemp -d /var/tmp/glockd-pkg-test.XXXXXX)
SHARED=$WORK/shared
mkdir -p "$SHARED/fs" "$WORK/inst/daemon"
installed=0 netns_up=0 vm_up=0 watchdog=
extra_pkgs=()

# The trees the packages and DKMS write to: which paths there are, and
# depmod's output.
host_files() {
    find /var/lib/dkms /usr/src /lib/modules /etc/dkms -xdev -printf '%p %y\n' 2>/dev/null | sort
    md5sum /lib/modules/*/modules.dep 2>/dev/null
}
host_files >"$WORK/files.before"
purge() {
    local f
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -y -q -o DPkg::Lock::Timeout=120 \
        purge "${PKGS[@]}" "${extra_pkgs[@]}" >"$WORK/purge.log" 2>&1 || return 1
    # DKMS makes itself a module signing key at its first build; no
    # package owns it, so the purge leaves it.  Made by this run: removed.
    for f in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
        [ -e "$f" ] && ! grep -q "^$f " "$WORK/files.before" && rm -f "$f"
    done
    return 0
}

finish() {
    local rc=$?
    trap - EXIT INT TERM HUP
    [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
    if [ "$vm_up" = 1 ]; then
        timeout 120 "$VMC" down >/dev/null 2>&1 || echo "warning: vm-cluster down failed"
    fi
    if [ "$netns_up" = 1 ]; then
        timeout 60 "$NETNS_CLUSTER" down >/dev/null 2>&1 || echo "warning: netns-cluster down failed"
    fi
    if [ "$installed" = 1 ]; then
        echo "cleanup: purging ${PKGS[*]} ${extra_pkgs[*]}"
        purge || { echo "warning: purge failed:"; tail -n 20 "$WORK/purge.log"; }
    fi
    rm -rf "$WORK"
    if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
        fail=$((fail + 1))
        echo "FAIL - ended early (exit $rc)"
    fi
    echo "elapsed $(since)"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'echo "interrupted"; exit 1' INT TERM HUP
# Watchdog: the TERM runs finish (teardown, purge) like any other ending.
# Killed at the end, it takes its sleep along.
(
    sleep "$TIMEOUT" &
    sp=$!
    trap 'kill $sp 2>/dev/null; exit 0' TERM
    wait $sp && { echo "pkg-test: watchdog: over $TIMEOUT s"; kill -TERM $$; }
) &
watchdog=$!

echo "pkg-test: version $VERSION, guests' kernel $KVER, work dir $WORK"

# ------------------------------------------------------------------ build --
if [ -n "${GLOCK_PKG_DEBS:-}" ]; then
    DEBS=$(readlink -f "$GLOCK_PKG_DEBS")
    note "using the packages in $DEBS (GLOCK_PKG_DEBS)"
else
    DEBS=$WORK/debs
    if DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" timeout 420 nice \
        "$REPO/deploy/build-debs" "$DEBS" >"$WORK/build.log" 2>&1; then
        ok "build: deploy/build-debs ($(since))"
    else
        bad "build: deploy/build-debs failed"
        tail -n 40 "$WORK/build.log" | indent
        exit 1
    fi
fi
debs=()
for p in "${PKGS[@]}"; do
    a=$ARCH
    [ "$p" = glockfs-dkms ] && a=all
    f=$DEBS/${p}_${VERSION}_$a.deb
    [ -f "$f" ] && debs+=("$f")
done
if [ ${#debs[@]} = ${#PKGS[@]} ]; then
    ok "build: ${PKGS[*]} ($VERSION) are in the output"
else
    bad "build: found only ${debs[*]:-none} in $DEBS"
    exit 1
fi

# ---------------------------------------------------------------- lintian --
# The .changes names the -dbgsym packages too.
lint=("$DEBS/glockd_${VERSION}_$ARCH.changes")
[ -f "${lint[0]}" ] || lint=("${debs[@]}")
if timeout 120 lintian --fail-on error,warning --display-info --tag-display-limit 0 \
    "${lint[@]}" >"$WORK/lintian.log" 2>&1; then
    ok "lintian: no error or warning ($(grep -c '^[IP]: ' "$WORK/lintian.log") info tags)"
else
    bad "lintian: errors or warnings"
fi
grep -E '^[EWIP]: ' "$WORK/lintian.log" | indent

# ---------------------------------------------------------------- install --
dpkg_list() { dpkg-query -W -f='${binary:Package} ${Version} ${db:Status-Abbrev}\n' | sort; }
dpkg_list >"$WORK/dpkg.before"
installed=1   # from here on, the EXIT trap purges (a partial install too)
if (cd "$DEBS" && DEBIAN_FRONTEND=noninteractive timeout 400 apt-get -y -q \
        -o DPkg::Lock::Timeout=120 install ./glockd_*.deb ./libglock1_*.deb \
        ./glockfs-dkms_*.deb ./libglock-dev_*.deb) >"$WORK/install.log" 2>&1; then
    ok "install: apt-get install ./glockd_*.deb ./libglock1_*.deb ./glockfs-dkms_*.deb ./libglock-dev_*.deb ($(since))"
else
    bad "install: apt-get install failed"
    tail -n 40 "$WORK/install.log" | indent
    exit 1
fi
dpkg_list >"$WORK/dpkg.after"
# What else apt installed (dependencies missing here) is purged at the end.
mapfile -t extra_pkgs < <(comm -13 <(awk '{print $1}' "$WORK/dpkg.before" | sort) \
    <(awk '{print $1}' "$WORK/dpkg.after" | sort) | sed 's/:.*//' |
    grep -vxE 'glockd|libglock1|libglock-dev|glockfs-dkms')
[ ${#extra_pkgs[@]} -gt 0 ] && note "apt also installed: ${extra_pkgs[*]} (purged at the end)"
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$p" 2>/dev/null)
    check "install: $p is installed at $VERSION ($st)" test "$st" = "ii  $VERSION"
done
grep -E 'dkms|Building|glockfs' "$WORK/install.log" | indent

# Files where README.md says, owned by the right package.
# dpkg -S names a Multi-Arch: same package with its arch (libglock-dev:amd64).
owner() { dpkg -S "$1" 2>/dev/null | sed -n '1{s/: .*//;s/:.*//;p}'; }
for f in glockd:/usr/sbin/glockd glockd:/usr/bin/glockctl \
         glockd:/lib/systemd/system/glockd.service \
         libglock-dev:/usr/include/glock.h; do
    p=${f%%:*} f=${f#*:}
    check "install: $f from $p" test -e "$f" -a "$(owner "$f")" = "$p"
done
ldd /usr/sbin/glockd /usr/bin/glockctl >"$WORK/ldd.out" 2>&1
check "install: glockd and glockctl find every shared library" \
    eval '! grep -q "not found" "$WORK/ldd.out"'
for m in 8:glockd 8:glockctl 5:glockd.conf 3:libglock 5:glockfs; do
    check "install: man -w $m finds /usr/share/man/man${m%%:*}/${m#*:}.${m%%:*}.gz" \
        test "$(man -w "${m%%:*}" "${m#*:}" 2>/dev/null)" = "/usr/share/man/man${m%%:*}/${m#*:}.${m%%:*}.gz"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' glockd)
check "install: /etc/glockd.conf is a conffile of glockd" \
    eval 'grep -Eq "^ /etc/glockd.conf [0-9a-f]{32}$" <<<"$conffiles"'
check "install: glockd -t accepts the shipped /etc/glockd.conf" \
    eval 'timeout 10 /usr/sbin/glockd -t -c /etc/glockd.conf >"$WORK/conf-t.out" 2>&1'
if command -v systemd-analyze >/dev/null; then
    # Its warnings (unknown keys, ...) do not change its status: any line
    # about our unit counts.  Lines about other units are not ours.
    if timeout 60 systemd-analyze verify /lib/systemd/system/glockd.service >"$WORK/verify.out" 2>&1 &&
       ! grep -q 'glockd\.service' "$WORK/verify.out"; then
        ok "install: systemd-analyze verify glockd.service: nothing to say about it"
    else
        bad "install: systemd-analyze verify glockd.service"
        indent <"$WORK/verify.out"
    fi
else
    note "systemd-analyze not installed: glockd.service not verified"
fi

pc=$(pkg-config --cflags --libs libglock 2>&1)
check "install: pkg-config --cflags --libs libglock: $pc" eval '[[ $pc == *-lglock* ]]'
# shellcheck disable=SC2086	# pkg-config's words
if gcc -std=c11 -Wall -Wextra -Werror -o "$WORK/pkg-client" "$HERE/pkg-client.c" $pc \
    >"$WORK/cc.log" 2>&1; then
    lib=$(ldd "$WORK/pkg-client" | awk '$1 == "libglock.so.1" { print $3 }')
    check "install: pkg-client.c builds against the installed header and links $lib" \
        test "$(readlink -f "$lib")" = "$(readlink -f "$(dpkg -L libglock1 | grep '/libglock\.so\.1$')")"
else
    bad "install: pkg-client.c does not build against libglock-dev"
    indent <"$WORK/cc.log"
fi

# ------------------------------------------------------------------ netns --
# A build-tree-shaped dir whose daemon/ holds only the installed binaries:
# given as GLOCK_BUILDDIR, nothing of the build tree can be picked up (the
# harnesses put its daemon/ first on PATH), and GLOCKD/GLOCKCTL name them.
ln -s /usr/sbin/glockd "$WORK/inst/daemon/glockd"
ln -s /usr/bin/glockctl "$WORK/inst/daemon/glockctl"
export GLOCK_BUILDDIR=$WORK/inst GLOCKD=/usr/sbin/glockd GLOCKCTL=/usr/bin/glockctl
nexec() { local n=$1; shift; timeout -k 5 30 "$NETNS_CLUSTER" exec "$n" -- "$@"; }

netns_up=1
if timeout 150 "$NETNS_CLUSTER" up --nodes 3 >"$WORK/netns-up.log" 2>&1; then
    ok "netns: $(tail -n 1 "$WORK/netns-up.log")"
    for i in 1 2 3; do
        pid=$(cat "$GLOCK_NETNS_STATE/n$i/pids/glockd" 2>/dev/null)
        exe=$(readlink "/proc/${pid:-0}/exe" 2>/dev/null)
        check "netns: node $i runs the installed glockd (pid $pid, $exe)" test "$exe" = /usr/sbin/glockd
        out=$(nexec "$i" glockctl status 2>&1)
        check "netns: node $i glockctl status: $(head -n 2 <<<"$out" | tr '\n' ' ')" \
            eval 'grep -qx "node $i: connected, quorate, synced" <<<"$out" && grep -q "^members (3)" <<<"$out"'
    done
    for i in 1 2; do
        check "netns: node $i glockctl run --ex $LS/2/1 -- true" \
            nexec "$i" glockctl run --ex --timeout 10000 "$LS/2/1" -- true
    done
    # The lock is a cluster lock: held on 1, the client's TRY on 2 is
    # refused; once 1 lets go, node 3 gets it.
    held=$WORK/held
    nexec 1 glockctl run --ex --timeout 10000 "$LS/2/7" -- sh -c "touch $held; sleep 4" \
        >"$WORK/hold.out" 2>&1 &
    holder=$!
    for _ in $(seq 1 100); do [ -e "$held" ] && break; sleep 0.1; done
    if [ -e "$held" ]; then
        nexec 2 "$WORK/pkg-client" "$LS" 2 7 try >"$WORK/try.out" 2>&1
        rc=$?
        check "netns: EX $LS/2/7 held on node 1: pkg-client's TRY on node 2 refused (rc $rc, $(tr '\n' ' ' <"$WORK/try.out"))" \
            test $rc = 3
    else
        bad "netns: node 1 did not get EX $LS/2/7 within 10 s: $(cat "$WORK/hold.out")"
    fi
    wait $holder
    rc=$?
    check "netns: node 1's glockctl run ended cleanly (rc $rc)" test $rc = 0
    out=$(nexec 3 "$WORK/pkg-client" "$LS" 2 7 wait 2>&1)
    check "netns: then pkg-client on node 3: $out" test "$out" = "node 3: EX $LS/2/7 granted"
else
    bad "netns: netns-cluster up with the installed glockd"
    indent <"$WORK/netns-up.log"
fi
if timeout 60 "$NETNS_CLUSTER" down >"$WORK/netns-down.log" 2>&1; then
    netns_up=0
    left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^gpk-(br|n[0-9]+)$' | tr '\n' ' ')
    check "netns: down, no gpk namespace left${left:+ ($left)}" test -z "$left"
else
    bad "netns: down"
    indent <"$WORK/netns-down.log"
fi

# ------------------------------------------------------------------- dkms --
dstatus() { dkms status -m glockfs -v "$UPSTREAM" -k "$KVER" 2>/dev/null; }
st=$(dstatus)
if [[ $st == *": installed"* ]]; then
    ok "dkms: the postinst built and installed glockfs/$UPSTREAM for $KVER ($st)"
else
    # The postinst builds for the running and the newest kernel only; the
    # guests' kernel may be neither.
    note "dkms status after install: ${st:-nothing}; building for $KVER here"
    if timeout 300 nice dkms build -m glockfs -v "$UPSTREAM" -k "$KVER" >"$WORK/dkms.log" 2>&1 &&
       timeout 120 dkms install -m glockfs -v "$UPSTREAM" -k "$KVER" >>"$WORK/dkms.log" 2>&1; then
        ok "dkms: dkms build and dkms install glockfs/$UPSTREAM -k $KVER ($(dstatus))"
    else
        bad "dkms: build or install for $KVER failed"
        tail -n 30 "$WORK/dkms.log" | indent
    fi
fi
# DKMS keeps the build's log beside the module it built.
makelog=
for f in /var/lib/dkms/glockfs/"$UPSTREAM"/"$KVER"/*/log/make.log; do
    [ -f "$f" ] && makelog=$f && break
done
if [ -n "$makelog" ]; then
    check "dkms: $makelog has no warning" eval '! grep -q "warning:" "$makelog"'
else
    bad "dkms: no make.log under /var/lib/dkms/glockfs/$UPSTREAM/$KVER"
fi
built=
for f in /var/lib/dkms/glockfs/"$UPSTREAM"/"$KVER"/*/module/glockfs.ko*; do
    [ -f "$f" ] && built=$f && break
done
KO=$(modinfo -k "$KVER" -n glockfs 2>/dev/null)
check "dkms: modinfo -k $KVER finds glockfs at $KO, the module DKMS built ($built)" \
    eval '[[ $KO == /lib/modules/$KVER/updates/dkms/glockfs.ko* ]] && [ -n "$built" ] && cmp -s "$KO" "$built"'
vermagic=$(modinfo -F vermagic "$KO" 2>/dev/null)
check "dkms: vermagic is $KVER's ($vermagic)" eval '[[ $vermagic == "$KVER "* ]]'
# What names this very build: its GNU build id (the guest's kernel shows
# the loaded module's in /sys/module/glockfs/notes).
buildid=$(readelf -n "$KO" 2>/dev/null | awk '/Build ID:/ { print $3 }')
check "dkms: the module has a build id ($buildid)" eval '[[ $buildid =~ ^[0-9a-f]{16,}$ ]]'

# ------------------------------------------------------------------ guest --
# One guest on $KVER with the host's / (so /lib/modules and the packages'
# files) read-only below it.  --no-glock: nothing is loaded at boot, the
# test loads the module the way README.md says, then starts the installed
# glockd (GLOCK_BUILDDIR above) with the shipped /etc/glockd.conf.
vexec() { local n=$1 t=$2; shift 2; timeout -k 5 $((t + 20)) "$VMC" exec "$n" --timeout "$t" -- "$@"; }
cp /etc/glockd.conf "$SHARED/glockd.conf"
export GLOCK_KMOD=$KO GLOCK_CONF=/shared/glockd.conf
[ -n "$KO" ] && vm_up=1
if [ -z "$KO" ]; then
    bad "guest: not booted, no DKMS module for $KVER"
elif timeout 300 nice "$VMC" up --nodes 1 --no-glock --shared "$SHARED" >"$WORK/vm-up.log" 2>&1; then
    ok "guest: $(tail -n 1 "$WORK/vm-up.log" | sed 's/^vm-cluster: //') ($(since))"
    out=$(vexec 1 60 'modprobe glockfs && grep -w glockfs /proc/filesystems && grep "^glockfs " /proc/modules' 2>&1)
    check "guest: modprobe glockfs; /proc/filesystems and /proc/modules have it: $(tr -s '\t\n' '  ' <<<"$out")" \
        eval 'grep -qw glockfs <<<"$out" && grep -q "^glockfs " <<<"$out"'
    # The note ends with the build id's bytes.
    out=$(vexec 1 30 'modinfo -n glockfs; tail -c '$(( ${#buildid} / 2 ))' /sys/module/glockfs/notes/.note.gnu.build-id | od -An -tx1 | tr -d " \n"; echo' 2>&1)
    check "guest: modprobe took $KO; the loaded module's build id is its ($(tr '\n' ' ' <<<"$out"))" \
        test "$out" = "$KO"$'\n'"$buildid"
    out=$(vexec 1 120 "deploy/vm-guest-init start-glock >/dev/null 2>&1
        for i in \$(seq 1 60); do
            if [ -c /dev/glock ] && grep -q 'kernel clients served' /var/log/glockd.log &&
               glockctl status 2>/dev/null | grep -qx 'node 1: connected, quorate, synced'; then
                echo \"ready \$(readlink /proc/\$(cat /run/glockd.vm.pid)/exe) \$(readlink -f \$(command -v glockctl))\"
                exit 0
            fi
            sleep 1
        done
        echo 'not ready; glockd log:'; tail -n 20 /var/log/glockd.log; exit 1" 2>&1)
    check "guest: the installed glockd serves /dev/glock, quorate and synced ($(head -n 1 <<<"$out"))" \
        test "$(head -n 1 <<<"$out")" = "ready /usr/sbin/glockd /usr/bin/glockctl"
    [ "$(head -n 1 <<<"$out")" = "ready /usr/sbin/glockd /usr/bin/glockctl" ] || indent <<<"$out"
    tok=pkg-$$-$RANDOM
    out=$(vexec 1 60 "mkdir -p /mnt/g && mount -t glockfs -o lockspace=$LS /shared/fs /mnt/g &&
        echo $tok >/mnt/g/hello && cat /mnt/g/hello && umount /mnt/g && ! grep -q ' /mnt/g ' /proc/mounts" 2>&1)
    check "guest: mount -t glockfs -o lockspace=$LS /shared/fs /mnt/g, write, read, umount ($out)" \
        test "$out" = "$tok"
    check "guest: the host reads the guest's write through the lower dir" \
        test "$(cat "$SHARED/fs/hello" 2>/dev/null)" = "$tok"
    out=$(vexec 1 60 'deploy/vm-guest-init stop-glock >/dev/null 2>&1; grep "^glockfs " /proc/modules; echo end' 2>&1)
    check "guest: glockd stopped, glockfs unloaded" test "$out" = end
    if out=$(timeout 120 "$VMC" dmesg-check 2>&1); then
        ok "guest: $out"
    else
        bad "guest: dmesg-check"
        indent <<<"$out"
    fi
else
    bad "guest: vm-cluster up --nodes 1 on $KVER"
    tail -n 20 "$WORK/vm-up.log" | indent
fi
if [ "$vm_up" = 1 ]; then
    if timeout 120 "$VMC" down >"$WORK/vm-down.log" 2>&1; then
        vm_up=0
        check "guest: down, netns $GLOCK_VM_NETNS removed" \
            eval '! ip netns list 2>/dev/null | awk "{print \$1}" | grep -qx "$GLOCK_VM_NETNS"'
    else
        bad "guest: vm-cluster down"
        indent <"$WORK/vm-down.log"
    fi
fi

# ------------------------------------------------------------------ purge --
if purge; then
    installed=0
    ok "purge: apt-get purge ${PKGS[*]} ${extra_pkgs[*]}"
else
    bad "purge: apt-get purge failed"
    tail -n 20 "$WORK/purge.log" | indent
fi
dpkg_list >"$WORK/dpkg.final"
if cmp -s "$WORK/dpkg.before" "$WORK/dpkg.final"; then
    ok "purge: dpkg's package list is as before the install"
else
    bad "purge: dpkg's package list differs from before:"
    diff "$WORK/dpkg.before" "$WORK/dpkg.final" | indent
fi
host_files >"$WORK/files.final"
if cmp -s "$WORK/files.before" "$WORK/files.final"; then
    ok "purge: /var/lib/dkms, /usr/src, /lib/modules (and modules.dep) as before"
else
    bad "purge: files differ from before the install:"
    diff "$WORK/files.before" "$WORK/files.final" | indent
fi
left=
for f in /usr/sbin/glockd /usr/bin/glockctl /etc/glockd.conf "/usr/src/glockfs-$UPSTREAM" \
         /var/lib/dkms/glockfs /lib/modules/*/updates/dkms/glockfs.ko*; do
    [ -e "$f" ] && left+=" $f"
done
check "purge: no file of the packages or of DKMS left${left:+:$left}" test -z "$left"
check "purge: modinfo -k $KVER glockfs finds nothing" eval '! modinfo -k "$KVER" glockfs >/dev/null 2>&1'

# finish (the EXIT trap) prints the counts and sets the exit status.
exit 0
