#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The helpers a newcomer runs without GLOCK_BUILDDIR: deploy/netns-cluster
# and deploy/vm-cluster find the build tree deploy/build makes (TOP/build),
# refuse to come up when there is no glockd (non-zero, saying why, nothing
# left behind), and `netns-cluster exec N -- glockctl` runs the build's
# glockctl.  A copy of deploy/ in a scratch tree stands for a fresh clone:
# without TOP/build, then with TOP/build -> this build.  The shared cluster
# is taken down and brought up again through the copy, so that at no time
# are two clusters up.  (vm-cluster's exec PATH is checked in the VM stage,
# tests/vm/vm-cluster-test.sh: it needs guests.)
. "$(dirname "$0")/lib.sh"
test_begin "netns-cluster / vm-cluster find the build, refuse without glockd"

real_ctl=$(realpath -- "$GLOCKCTL")
path_ctl=$(on 1 sh -c 'command -v glockctl' 2>&1)
check_eq "exec: glockctl on PATH is the build's" "$real_ctl" "$(realpath -m -- "$path_ctl")"
check "exec: plain 'glockctl status' works in node 2" on 2 glockctl status

# A scratch clone: deploy/ only, no build tree yet.
tree=$T_TMP/clone
mkdir -p "$tree/deploy"
cp -- "$SRCDIR"/deploy/{netns-cluster,vm-cluster,corosync.conf.in,glockd.conf.in,glockd.conf} "$tree/deploy/"
fresh() { env -u GLOCK_BUILDDIR -u GLOCKD -u GLOCKCTL "$@"; }
our_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-(br|n[0-9]+)\$"; }

check "shared cluster down" cluster down
check "no $PREFIX namespaces left" eval '[[ -z $(our_ns) ]]'

out=$(fresh timeout -k 5 60 "$tree/deploy/netns-cluster" up --nodes "$NODES" 2>&1)
rc=$?
check "netns-cluster up with no build: fails" test "$rc" -ne 0
check "... saying there is no glockd (\"$out\")" \
	eval '[[ $out == *"no glockd at $tree/build/daemon/glockd"* ]]'
check "... and leaves no namespace or state" \
	eval '[[ -z $(our_ns) && ! -e $GLOCK_NETNS_STATE ]]'
out=$(fresh timeout -k 5 60 "$tree/deploy/netns-cluster" up --nodes 1 --no-glockd 2>&1)
rc=$?
check "netns-cluster up --no-glockd with no build: comes up (\"$out\")" test "$rc" -eq 0
check "... and goes down" fresh timeout -k 5 60 "$tree/deploy/netns-cluster" down

# vm-cluster: the refusal comes before anything is booted or created.
vm_env=(GLOCK_VM_NETNS="$PREFIX-vmt" GLOCK_VM_STATE="$T_TMP/vm-state")
out=$(fresh "${vm_env[@]}" timeout -k 5 60 "$tree/deploy/vm-cluster" up --nodes 1 2>&1)
rc=$?
check "vm-cluster up with no build: fails" test "$rc" -ne 0
check "... saying there is no glockd (\"$out\")" \
	eval '[[ $out == *"no glockd at $tree/build/daemon/glockd"* ]]'
check "... before creating its netns or state" \
	eval '! ip netns list | grep -q "^$PREFIX-vmt" && [[ ! -e $T_TMP/vm-state ]]'

# Now the clone has TOP/build (this build).
real_build=$(realpath -- "$BUILDDIR")
ln -s -- "$real_build" "$tree/build"
# A qemu that does not exist stops vm-cluster right after it chose glockd.
out=$(fresh "${vm_env[@]}" GLOCK_VM_QEMU=/nonexistent/qemu \
	timeout -k 5 60 "$tree/deploy/vm-cluster" up --nodes 1 2>&1)
check "vm-cluster up with TOP/build: picks its glockd (\"$out\")" \
	eval '[[ $out == *"glockd: $real_build/daemon/glockd"* ]]'
check "... and gets past the glockd check (stops at qemu)" \
	eval '[[ $out == *"qemu not installed"* && $out != *"no glockd"* ]]'

out=$(fresh timeout -k 5 90 "$tree/deploy/netns-cluster" up --nodes "$NODES" 2>&1)
rc=$?
check "netns-cluster up with TOP/build and no GLOCK_BUILDDIR: status 0 (\"$out\")" test "$rc" -eq 0
check "... glockd is the one TOP/build leads to" \
	eval '[[ $out == *"glockd ready in "*"($real_build/daemon/glockd)"* ]]'
check "... every node synced" all_synced
path_ctl=$(fresh timeout -k 5 30 "$tree/deploy/netns-cluster" exec 3 -- sh -c 'command -v glockctl' 2>&1)
check_eq "exec (no GLOCK_BUILDDIR): glockctl on PATH is the build's" \
	"$real_ctl" "$(realpath -m -- "$path_ctl")"
check "exec (no GLOCK_BUILDDIR): 'glockctl run --ex' works" \
	fresh timeout -k 5 30 "$tree/deploy/netns-cluster" exec 1 -- \
	glockctl run --ex --timeout 5000 t14/2/1 -- true
test_end
