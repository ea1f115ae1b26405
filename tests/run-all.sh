#!/bin/bash
# The whole test suite, as CI runs it (.ci/run):
#   1. install what is needed (deploy/install-deps), build with -Werror;
#   2. make check: engine and codec unit tests (cmocka), the many-node
#      simulator and its mutation check, a short fuzz run;
#   3. the same under AddressSanitizer/UBSan, and the unit tests under valgrind;
#   4. cluster tests: real corosync + glockd in network namespaces, with
#      lock_path = cpg and again with lock_path = p2p;
#   5. packages (tests/pkg/pkg-test.sh): the README's package path on this
#      machine, which must be disposable: build-debs, lintian, apt install,
#      the installed glockd on a netns cluster, the DKMS-built glockfs.ko in
#      a guest, then purge (the host's package list as before);
#   6. VM tests: glockfs.ko in qemu guests (skipped, with the reason, where
#      qemu or a kernel image is missing).
# Every stage ends with "N passed, N failed"; so does this script.
#   GLOCK_TEST_STAGES="unit asan valgrind cluster pkg vm" picks stages.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
stages=${GLOCK_TEST_STAGES:-unit asan valgrind cluster pkg vm}
builddir=${GLOCK_BUILDDIR:-$top/build}
logdir=${GLOCK_TEST_LOGS:-$top/build-logs}
mkdir -p "$logdir"
total_pass=0
total_fail=0
total_skip=0
summary=()

stage_result() { # name pass fail skip
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
	summary+=("$(printf '%-10s %4d passed, %d failed, %d skipped' "$1" "$2" "$3" "$4")")
}

# Counts from automake's test-suite summary ("# PASS:  12").
automake_counts() { # logfile -> "pass fail skip"
	local p f e s
	p=$(sed -n 's/^# PASS: *//p' "$1" | tail -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$1" | tail -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$1" | tail -n 1)
	s=$(sed -n 's/^# SKIP: *//p' "$1" | tail -n 1)
	echo "${p:-0} $(( ${f:-1} + ${e:-0} )) ${s:-0}"
}

# Counts from a script's last "N passed, N failed" line; 77 means skipped.
script_counts() { # rc logfile -> "pass fail skip"
	local rc=$1 line p f
	if [ "$rc" -eq 77 ]; then
		echo "0 0 1"
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "0 1 0"
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	# A script that failed without counting a failure still failed.
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "$p $f 0"
}

run_script() { # stage-name logname command...
	local name=$1 log=$logdir/$2.log rc counts
	shift 2
	echo "== $name: $*"
	"$@" > "$log" 2>&1
	rc=$?
	tail -n 25 "$log"
	counts=$(script_counts "$rc" "$log")
	# shellcheck disable=SC2086
	stage_result "$name" $counts
	[ "$rc" -eq 77 ] && echo "   skipped: $(grep -m1 -i skip "$log")"
	return 0
}

echo "== install and build"
if ! deploy/install-deps > "$logdir/install.log" 2>&1; then
	cat "$logdir/install.log"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! deploy/build "$builddir" > "$logdir/build.log" 2>&1; then
	cat "$logdir/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
export GLOCK_BUILDDIR=$builddir

for stage in $stages; do
	case $stage in
	unit)
		echo "== make check"
		make -C "$builddir" -j2 check > "$logdir/check.log" 2>&1
		grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS):' "$logdir/check.log"
		for f in $(grep -lE '^(FAIL|ERROR)' "$builddir"/tests/*/*.log 2>/dev/null); do
			echo "--- $f"; tail -n 40 "$f"
		done
		# shellcheck disable=SC2046
		stage_result unit $(automake_counts "$logdir/check.log")
		;;
	asan)
		echo "== make check under AddressSanitizer + UBSan"
		if deploy/build "$top/build-asan" --enable-sanitizers > "$logdir/asan-build.log" 2>&1; then
			ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
				make -C "$top/build-asan" -j2 check > "$logdir/asan.log" 2>&1
			grep -E '^(PASS|FAIL|SKIP|ERROR):' "$logdir/asan.log"
			# shellcheck disable=SC2046
			stage_result asan $(automake_counts "$logdir/asan.log")
		else
			tail -n 30 "$logdir/asan-build.log"
			stage_result asan 0 1 0
		fi
		;;
	valgrind)
		echo "== unit tests under valgrind"
		make -C "$builddir" check-valgrind > "$logdir/valgrind.log" 2>&1
		tail -n 15 "$logdir/valgrind.log"
		# shellcheck disable=SC2046
		stage_result valgrind $(script_counts 0 "$logdir/valgrind.log")
		;;
	cluster)
		if [ -x tests/cluster/run-all.sh ]; then
			run_script cluster cluster tests/cluster/run-all.sh
			# The same tests with per-glock masters over node links.
			run_script cluster-p2p cluster-p2p env GLOCK_LOCK_PATH=p2p tests/cluster/run-all.sh
		else
			run_script cluster cluster-smoke tests/cluster/netns-smoke.sh
		fi
		;;
	pkg)
		# Installs the packages and purges them before it ends, so the
		# vm stage after it sees the host as before.
		run_script pkg pkg tests/pkg/pkg-test.sh
		;;
	vm)
		if [ -f "$builddir/Makefile" ]; then
			make -C "$top/kmod" KDIR="$(sed -n 's/^KERNEL_DIR = //p' "$builddir/Makefile")" \
				> "$logdir/kmod-build.log" 2>&1 || tail -n 30 "$logdir/kmod-build.log"
		fi
		run_script vm-smoke vm-smoke tests/vm/vm-smoke.sh
		[ -x tests/vm/kmod-single.sh ] && run_script kmod kmod-single tests/vm/kmod-single.sh
		[ -x tests/vm/vm-cluster-test.sh ] && run_script vm-cluster vm-cluster tests/vm/vm-cluster-test.sh
		[ -x tests/vm/dio-cluster.sh ] && run_script dio-cluster dio-cluster tests/vm/dio-cluster.sh
		if [ -x tests/vm/posix-cluster.sh ]; then
			run_script posix-cluster posix-cluster tests/vm/posix-cluster.sh
			# fcntl() locks need the p2p lock path; in the guests it does not
			# start reliably yet (issue 12's note: glockd's p2p is left
			# without a configuration when the engine goes unsynced and
			# synced again inside one change), so that run is by hand:
			#   GLOCK_LOCK_PATH=p2p tests/vm/posix-cluster.sh
			[ -n "${GLOCK_TEST_P2P_GUESTS:-}" ] &&
				run_script posix-cluster-p2p posix-cluster-p2p \
					env GLOCK_LOCK_PATH=p2p tests/vm/posix-cluster.sh
		fi
		[ -x tests/vm/cache-cluster.sh ] && run_script cache-cluster cache-cluster tests/vm/cache-cluster.sh
		;;
	*)
		echo "unknown stage $stage" >&2
		stage_result "$stage" 0 1 0
		;;
	esac
done

echo "== summary (logs in $logdir)"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
