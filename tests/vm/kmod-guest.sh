#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kmod-guest.sh: /init of the kmod-single.sh guest (busybox initramfs).
# Loads glockfs.ko, runs the checks below against the single-node test
# agent, writes the number of failures to /results/rc and powers off.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug
for m in $(cat /modules.order); do
	insmod "/lib/modules/$m.ko" || echo "insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /results
mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=262144,ro \
	hostroot /host

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
t() {	# t DESCRIPTION COMMAND...: COMMAND must succeed
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
tn() {	# tn DESCRIPTION COMMAND...: COMMAND must fail
	d=$1
	shift
	if "$@" 2>/dev/null; then bad "$d (succeeded)"; else ok "$d"; fi
}
same() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'"; return 1; }; }
settled() {	# settled LOCKSPACE: no demote queued or running (10 s at most)
	i=0
	while grep -q '^G: .* f:[^ ]*[dD]' "/sys/kernel/debug/glockfs/$1/glocks"; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

agent_start() {
	/glock-test-agent -p /tmp/agent.pid "$@" 2>>/tmp/agent.log &
	sleep 0.3
}
agent_stop() {	# agent_stop SIGNAL
	kill "-$1" "$(cat /tmp/agent.pid)"
	sleep 0.3
}

io_checks() {	# io_checks LOWER
	lower=$1
	g=/mnt/g
	t "mount over $lower" mount -t glockfs -o lockspace=ls1 "$lower" $g || return
	t "create+write" sh -c "echo hello > $g/a"
	t "read back" same "$(cat $g/a)" hello
	dd if=/dev/urandom of=/tmp/rand bs=64k count=16 2>/dev/null
	t "copy 1 MiB in" cp /tmp/rand $g/big
	t "read 1 MiB back" cmp /tmp/rand $g/big
	t "fsync reaches lower" sh -c "sync && cmp /tmp/rand $lower/big"
	t "mkdir" mkdir $g/d
	t "rename across dirs" mv $g/a $g/d/b
	t "renamed in lower" test -f "$lower/d/b" -a ! -e "$lower/a"
	t "old name gone" test ! -e $g/a
	t "readdir" same "$(ls $g | tr '\n' ' ')" "big d "
	t "readdir subdir" same "$(ls $g/d)" b
	t "symlink" ln -s big $g/lnk
	t "read via symlink" cmp /tmp/rand $g/lnk
	t "truncate" truncate -s 1000 $g/big
	t "size after truncate" same "$(stat -c %s $g/big)" 1000
	t "lower size after truncate" same "$(stat -c %s "$lower/big")" 1000
	t "kmod-iotest (mmap, fault-in retry, truncate, append)" /kmod-iotest $g
	dyndbg='file file.c +p'
	echo "$dyndbg" >/sys/kernel/debug/dynamic_debug/control 2>/dev/null
	t "dio-test (O_DIRECT, mmapped buffers, punch, truncate)" \
		/dio-test $g "$lower" $dio_tests
	echo "${dyndbg%+p}-p" >/sys/kernel/debug/dynamic_debug/control 2>/dev/null
	t "fs-surface (link, mknod, tmpfile, xattr, ACL, fallocate, fiemap, seek, copy_file_range)" \
		/fs-surface $g "$lower"
	# Which paths ran (pr_debug of kmod/file.c; approximate if the ring
	# buffer wrapped).
	for w in 'open_lower_dio.* = 0' 'open_lower_dio.* = -22' lower_read \
		lower_write direct_read_bounce direct_write_bounce fallocate \
		fault_wait_unlocked; do
		echo "  path $w: $(dmesg | grep -c "glockfs: $w")"
	done
	dmesg | grep 'glockfs: fallocate' | tail -1
	t "unlink" rm $g/d/b $g/lnk
	t "rmdir" rmdir $g/d
	t "rmdir in lower" test ! -e "$lower/d"

	# Demote: dirty data must reach the lower file, the cache must go.
	echo cached >$g/dem
	cat $g/dem >/dev/null
	agent_stop USR1
	t "demotes done" settled ls1
	t "demote wrote back" same "$(cat "$lower/dem")" cached
	t "demote left the glock UN" grep -q 's:UN' /sys/kernel/debug/glockfs/ls1/glocks
	echo "changed elsewhere" >"$lower/dem"
	t "reread after demote sees lower change" same "$(cat $g/dem)" "changed elsewhere"
	t "glstats" grep -q 'srttb:' /sys/kernel/debug/glockfs/ls1/glstats
	echo "--- glocks"
	cat /sys/kernel/debug/glockfs/ls1/glocks
	echo "--- glstats"
	head -5 /sys/kernel/debug/glockfs/ls1/glstats
	rm -f $g/*
	t "umount" umount $g
}

# The glock cache (kmod/glock.c): max_glocks bounds the glocks the node
# keeps granted; the shrinker gives idle ones back while their inodes stay.
cache_val() {	# cache_val KEY: a line of the mount's debugfs cache file
	awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/debug/glockfs/lsc/cache
}
cache_checks() {
	lower=/tmp/lowc
	n=300
	max=64
	mkdir -p $lower /mnt/g2
	for i in $(seq 1 $n); do echo "f$i" >$lower/f$i; done
	t "mount with max_glocks=$max" mount -t glockfs \
		-o lockspace=lsc,max_glocks=$max $lower /mnt/g || return
	t "max_glocks in /proc/mounts" grep -q "/mnt/g glockfs .*max_glocks=$max" /proc/mounts
	tn "max_glocks below 64 refused" mount -t glockfs \
		-o lockspace=lsc2,max_glocks=63 $lower /mnt/g2
	tn "max_glocks not a number refused" mount -t glockfs \
		-o lockspace=lsc2,max_glocks=x $lower /mnt/g2
	t "max_glocks refusal says why" sh -c "dmesg | grep -q 'max_glocks must be 0 (no limit) or at least 64'"
	t "read $n files" sh -c "cat /mnt/g/f* >/dev/null"
	t "releases done" settled lsc
	cat /sys/kernel/debug/glockfs/lsc/cache | tr '\n' ' '
	echo
	cached=$(cache_val cached)
	held=$(grep -c '^G: s:[SDE]' /sys/kernel/debug/glockfs/lsc/glocks)
	t "limit: cached glocks $cached <= max_glocks $max" [ "$cached" -le $max ]
	t "limit: debugfs glocks agrees ($held held)" same "$held" "$cached"
	t "limit: $(cache_val limit_demotes) demotes >= $((n - max))" \
		[ "$(cache_val limit_demotes)" -ge $((n - max)) ]
	t "limit: inodes stayed (no release by eviction)" same "$(cache_val evict_releases)" 0
	echo "changed" >$lower/f1
	t "limit: a demoted file reads the lower's new data" same "$(cat /mnt/g/f1)" changed
	t "umount" umount /mnt/g

	# The shrinker: no limit; 200 files held open so that their inodes
	# stay when drop_caches evicts the rest.
	t "mount without max_glocks" mount -t glockfs -o lockspace=lsc $lower /mnt/g || return
	fds=
	for i in $(seq 1 200); do fds="$fds $((i + 19))</mnt/g/f$i"; done
	sh -c "exec $fds; exec sleep 3600" &
	holder=$!
	t "read $n files" sh -c "cat /mnt/g/f* >/dev/null"
	t "releases done" settled lsc
	before=$(cache_val cached)
	t "shrinker: $before glocks cached before" [ "$before" -ge 200 ]
	echo 2 >/proc/sys/vm/drop_caches
	t "releases done" settled lsc
	cat /sys/kernel/debug/glockfs/lsc/cache | tr '\n' ' '
	echo
	un=$(grep -c '^G: s:UN n:2/' /sys/kernel/debug/glockfs/lsc/glocks)
	t "shrinker: $(cache_val shrinker_demotes) demotes >= 200" \
		[ "$(cache_val shrinker_demotes)" -ge 200 ]
	t "shrinker: $un glocks UN with their inode kept (>= 200)" [ "$un" -ge 200 ]
	t "shrinker: LRU empty ($(cache_val lru))" same "$(cache_val lru)" 0
	echo "changed" >$lower/f2
	t "shrinker: a demoted open file reads the lower's new data" \
		same "$(cat /mnt/g/f2)" changed
	kill $holder
	wait $holder 2>/dev/null
	t "umount" umount /mnt/g
}

# GLOCKFS_PARAMS (e.g. fault_retry=0): glockfs with a protection turned
# off by its test-only parameters, dio-test only; failures expected.
broken() {
	params=$(echo "$GLOCKFS_PARAMS" | tr , ' ')
	echo "=== kmod-guest: $(uname -r), glockfs $params"
	t "insmod glockfs $params" insmod /glockfs.ko $params || return
	minor=$(awk '$2 == "glock" { print $1 }' /proc/misc)
	[ -c /dev/glock ] || mknod /dev/glock c 10 "$minor"
	for p in $params; do
		t "${p%%=*} is off" same \
			"$(cat /sys/module/glockfs/parameters/${p%%=*})" N
	done
	mkdir -p /tmp/lower /results/lower
	# Demotes now and then (as other nodes would ask) so that glocks are
	# converted under the tests, not just found cached in EX.
	agent_start -D 50
	for lower in /tmp/lower /results/lower; do
		t "mount over $lower" mount -t glockfs -o lockspace=ls1 \
			$lower /mnt/g || return
		t "dio-test with $params over $lower" \
			/dio-test /mnt/g $lower $dio_tests
		echo "--- glocks"
		grep -A3 'f:.*W\|h:[1-9]' /sys/kernel/debug/glockfs/ls1/glocks
		umount /mnt/g || { echo "umount failed"; break; }
	done
	echo "--- hung tasks"
	for p in /proc/[0-9]*; do
		grep -q '^State:.*D ' "$p/status" 2>/dev/null &&
			echo "$(cat "$p/comm") $(basename "$p"): $(cat "$p/wchan")"
	done
	dmesg | grep -E 'glockfs|WARNING|BUG|Call Trace' | tail -20
}

# fcntl() locks: the test agent answers every PLOCK -ENOLCK (it is no
# cluster), after replies the module must refuse (glock-test-agent.c).
plock_checks() {
	p=/mnt/g/pl
	t "mount for fcntl locks" mount -t glockfs -o lockspace=lsp /tmp/lower /mnt/g || return
	: >$p
	st=0
	/plock-test try $p w 0 10 2>/dev/null || st=$?
	t "F_SETLK: ENOLCK from an agent with no cluster locks" same $st 37
	st=0
	/plock-test -o try $p r 0 0 2>/dev/null || st=$?
	t "F_OFD_SETLK: ENOLCK" same $st 37
	t "F_SETLKW: ENOLCK, no wait" sh -c \
		"/plock-test wait $p w 0 10 2>&1 | grep -q 'No locks available'"
	t "F_GETLK: ENOLCK" sh -c "/plock-test get $p w 0 10 2>&1 | grep -q 'No locks available'"
	tn "nothing recorded in /proc/locks" grep -q ":$(stat -c %i $p) " /proc/locks
	tn "every malformed PLOCK_REPLY refused" grep -q 'malformed PLOCK_REPLY' /tmp/agent.log
	echo N >/sys/module/glockfs/parameters/cluster_plock
	st=0
	/plock-test try $p w 0 10 || st=$?
	t "cluster_plock=N: node-local F_SETLK works" same $st 0
	echo Y >/sys/module/glockfs/parameters/cluster_plock
	t "umount" umount /mnt/g
}

run() {
	echo "=== kmod-guest: $(uname -r)"
	t "insmod glockfs" insmod /glockfs.ko || return
	minor=$(awk '$2 == "glock" { print $1 }' /proc/misc)
	t "misc device registered" test -n "$minor" || return
	# devtmpfs makes the node; without it (no udev either) make it by hand.
	[ -c /dev/glock ] || mknod /dev/glock c 10 "$minor"
	mkdir -p /tmp/lower /results/lower

	tn "mount without agent fails" mount -t glockfs -o lockspace=ls0 /tmp/lower /mnt/g
	t "mount without agent says why" sh -c "dmesg | grep -q 'no lock agent'"
	t "mount without lockspace= fails" sh -c \
		"! mount -t glockfs /tmp/lower /mnt/g 2>/dev/null"
	t "ABI self-test (EINVAL on malformed, EBUSY on 2nd open)" \
		/glock-test-agent -T 2>>/tmp/agent.log

	agent_start
	io_checks /tmp/lower
	io_checks /results/lower
	cache_checks
	plock_checks

	# Periodic demotes under load.
	agent_stop TERM
	agent_start -D 20
	t "mount with demoting agent" mount -t glockfs -o lockspace=ls1 /tmp/lower /mnt/g
	t "iotest while demoting every 20 ms" /kmod-iotest /mnt/g
	t "dio-test while demoting every 20 ms" /dio-test /mnt/g - $dio_tests
	t "umount" umount /mnt/g

	# Withdraw when the agent dies.
	agent_stop TERM
	agent_start
	t "mount for withdraw" mount -t glockfs -o lockspace=ls2 /tmp/lower /mnt/g
	echo before >/mnt/g/w
	sync
	exec 3</mnt/g/w
	agent_stop KILL
	t "withdraw logged" sh -c "dmesg | grep -q 'ls2: withdrawn'"
	tn "read after withdraw fails" cat /mnt/g/w
	tn "write after withdraw fails" sh -c "echo x > /mnt/g/w"
	tn "stat after withdraw fails" stat /mnt/g/w
	exec 3<&-
	t "umount after withdraw" umount /mnt/g
	agent_start
	t "mount with a new agent" mount -t glockfs -o lockspace=ls2 /tmp/lower /mnt/g
	t "data from before the withdraw" same "$(cat /mnt/g/w)" before
	t "umount" umount /mnt/g
	agent_stop TERM

	t "the agent saw PLOCKs and no malformed reply was accepted" grep -Eq \
		' [1-9][0-9]* plocks, 0 malformed plock replies accepted' /tmp/agent.log
	t "rmmod glockfs" rmmod glockfs
	if dmesg | grep -E 'WARNING|BUG|Oops|Call Trace|general protection'; then
		bad "kernel log has warnings"
	else
		ok "kernel log clean"
	fi
	echo "--- agent log"
	cat /tmp/agent.log
}

# SURFACE_ONLY=1: fs-surface alone, over tmpfs and 9p.
surface() {
	echo "=== kmod-guest: $(uname -r), fs-surface only"
	t "insmod glockfs" insmod /glockfs.ko || return
	minor=$(awk '$2 == "glock" { print $1 }' /proc/misc)
	[ -c /dev/glock ] || mknod /dev/glock c 10 "$minor"
	mkdir -p /tmp/lower /results/lower
	agent_start
	for lower in /tmp/lower /results/lower; do
		t "mount over $lower" mount -t glockfs -o lockspace=ls1 \
			$lower /mnt/g || return
		t "fs-surface over $lower" /fs-surface /mnt/g $lower
		umount /mnt/g || { echo "umount failed"; break; }
	done
	dmesg | grep -E 'WARNING|BUG|Call Trace' | tail -20
}

dio_tests=
[ "${DIO_TESTS:-all}" = all ] || dio_tests=$(echo "$DIO_TESTS" | tr , ' ')
if [ "${SURFACE_ONLY:-0}" = 1 ]; then
	surface >/results/guest.log 2>&1
elif [ -n "${GLOCKFS_PARAMS:-}" ]; then
	broken >/results/guest.log 2>&1
else
	run >/results/guest.log 2>&1
fi
echo "failures: $fails" >>/results/guest.log
dmesg >/results/dmesg.txt
echo $fails >/results/rc
sync
umount /results
poweroff -f
