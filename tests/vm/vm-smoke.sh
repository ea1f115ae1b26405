#!/bin/bash
# tests/vm/vm-smoke.sh - smoke test of deploy/vm-cluster.
#
# Boots 3 guests, checks corosync quorum on each, /shared coherence between
# guests, exec exit-code/stderr passing, guest networking, dmesg-check, and
# that `down` leaves no qemu and no network namespace behind.
# Exit: 0 pass, 1 fail, 77 skip (no root, qemu, kernel, or a cluster is in use).
# Bounded: every step has its own timeout; the whole run takes ~1 min on TCG.
# The guests boot with --no-glock (glockfs.ko/glockd are not loaded) so that
# this tests the harness alone; GLOCK_VM_SMOKE_GLOCK=1 loads them too.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VMC=$REPO/deploy/vm-cluster
NETNS=${GLOCK_VM_NETNS:-glk-vmnet}
export GLOCK_VM_STATE=${GLOCK_VM_SMOKE_STATE:-/run/glockd-vm-smoke}
NODES=3

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, taps)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
if [ -n "${GLOCK_VM_KERNEL:-}" ]; then
    [ -r "$GLOCK_VM_KERNEL" ] || skip "kernel $GLOCK_VM_KERNEL not readable"
else
    ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || skip "no /boot/vmlinuz-*-amd64 (install linux-image-amd64)"
fi
[ -x "$VMC" ] || { echo "FAIL: $VMC missing"; exit 1; }
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NETNS" &&
   [ -n "$(ip netns pids "$NETNS" 2>/dev/null)" ]; then
    skip "a vm-cluster is already running in netns $NETNS"
fi

pass=0 fail=0 PIDS=""
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
vexec() { timeout 120 "$VMC" exec "$@"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -d "$GLOCK_VM_STATE" ] || ip netns list 2>/dev/null | grep -qw "$NETNS"; then
        timeout 60 "$VMC" down >/dev/null 2>&1
    fi
    exit $rc
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

t0=$(date +%s)
UPARGS=(--nodes "$NODES")
[ "${GLOCK_VM_SMOKE_GLOCK:-0}" = 1 ] || UPARGS+=(--no-glock)
if timeout 240 "$VMC" up "${UPARGS[@]}"; then
    ok "up: $NODES guests, quorate"
else
    bad "up"
    echo "$pass passed, $fail failed"
    exit 1
fi
PIDS=$(cat "$GLOCK_VM_STATE"/node*/qemu.pid 2>/dev/null | tr '\n' ' ')

for i in $(seq 1 $NODES); do
    out=$(vexec "$i" -- corosync-quorumtool -s)
    if grep -Eq '^Quorate: +Yes' <<<"$out" && grep -Eq "^Total votes: +$NODES\$" <<<"$out"; then
        ok "guest $i: quorate, $NODES votes"
    else
        bad "guest $i: not quorate: $(grep -E 'Quorate|votes' <<<"$out" | tr -s ' \n' ' ')"
    fi
done

# /shared: written on 1, read on 2 and 3; then rewritten on 2, read on 1 and
# 3 again (catches a guest serving its own stale cached copy).
tok1="smoke-$$-$RANDOM"
tok2="rewrite-$$-$RANDOM"
vexec 1 -- "echo $tok1 > /shared/smoke.txt" && ok "guest 1 wrote /shared/smoke.txt" || bad "write on guest 1"
for i in 2 3; do
    got=$(vexec "$i" -- cat /shared/smoke.txt)
    [ "$got" = "$tok1" ] && ok "guest $i reads guest 1's write" || bad "guest $i read '$got', want '$tok1'"
done
vexec 2 -- "echo $tok2 > /shared/smoke.txt"
for i in 1 3; do
    got=$(vexec "$i" -- cat /shared/smoke.txt)
    [ "$got" = "$tok2" ] && ok "guest $i sees guest 2's rewrite" || bad "guest $i read '$got', want '$tok2'"
done
[ "$(cat "$GLOCK_VM_STATE/shared/smoke.txt" 2>/dev/null)" = "$tok2" ] &&
    ok "host sees /shared contents" || bad "host copy of /shared/smoke.txt"

# exec passes exit codes, stdout and stderr through.
vexec 2 -- 'exit 7'
rc=$?
[ $rc = 7 ] && ok "exec passes exit code 7" || bad "exec exit code: got $rc, want 7"
vexec 3 -- false
rc=$?
[ $rc = 1 ] && ok "exec passes exit code 1 (false)" || bad "exec false: got $rc, want 1"
out=$(vexec 1 -- 'echo to-out; echo to-err >&2' 2>/dev/null)
err=$(vexec 1 -- 'echo to-out; echo to-err >&2' 2>&1 >/dev/null)
[ "$out" = to-out ] && [ "$err" = to-err ] && ok "exec separates stdout and stderr" ||
    bad "exec output: out='$out' err='$err'"
timeout 60 "$VMC" exec 3 --timeout 2 -- 'sleep 30'
rc=$?
[ $rc = 124 ] && ok "exec --timeout returns 124" || bad "exec --timeout: got $rc, want 124"

# Guest network (corosync already proves it; this names the failing pair).
vexec 3 -- busybox ping -c 1 -W 5 10.78.0.1 >/dev/null && ok "guest 3 pings guest 1" || bad "ping 3 -> 1"

if out=$(timeout 120 "$VMC" dmesg-check 2>&1); then
    ok "dmesg-check clean"
else
    bad "dmesg-check:"
    echo "$out" | sed 's/^/    /'
fi

if timeout 60 "$VMC" down >/dev/null; then
    ok "down"
else
    bad "down failed"
fi
alive=""
for p in $PIDS; do
    # A zombie (reaped later by PID 1) has an empty cmdline: not running.
    if [ -s "/proc/$p/cmdline" ] && grep -q qemu "/proc/$p/cmdline" 2>/dev/null; then
        alive="$alive $p"
    fi
done
[ -z "$alive" ] && ok "no qemu left (pids $PIDS)" || bad "qemu still running:$alive"
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NETNS"; then
    bad "netns $NETNS still exists"
else
    ok "netns $NETNS removed"
fi
[ ! -e "$GLOCK_VM_STATE/node1" ] && ok "state removed" || bad "state left in $GLOCK_VM_STATE"

echo "elapsed $(( $(date +%s) - t0 )) s"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
