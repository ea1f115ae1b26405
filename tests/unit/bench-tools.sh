#!/bin/bash
# The benches' own tools, on data whose answer is known, so that a table or
# a plot cannot quietly lie: append-flood's --check (it must find a clean
# file clean and count an overwritten, a doubled and a torn append),
# bench-vm-report (ratios from given medians; a missing figure fails it) and
# plot-cdf (one panel per operation, a missing file named).
# Usage: bench-tools.sh [SRCDIR [CC]] (make check passes them by environment)
set -u
srcdir=${1:-${srcdir:-.}}
cc=${2:-${CC:-cc}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# ---- append-flood --check ----
af=$work/append-flood
if $cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$af" "$srcdir/tests/vm/append-flood.c"; then
	ok "append-flood builds"
	f=$work/flood
	"$af" "$f" 0 0.2 >"$work/w0.json" &
	"$af" "$f" 1 0.2 >"$work/w1.json"
	wait
	n0=$(sed -n 's/.*"n":\([0-9]*\).*/\1/p' "$work/w0.json")
	n1=$(sed -n 's/.*"n":\([0-9]*\).*/\1/p' "$work/w1.json")
	if [ -n "$n0" ] && [ -n "$n1" ] && out=$("$af" --check "$f" 0="$n0" 1="$n1") &&
	   grep -q "^$((n0 + n1)) records, every node's in order, each once" <<<"$out"; then
		ok "two local writers: every append found once ($n0 + $n1)"
	else
		bad "two local writers: --check on a clean file: ${out:-no counts}"
	fi
	# A later append of the same writer over record 3, as a lost O_APPEND
	# race would leave it: one lost, one doubled.
	python3 - "$f" "$work/over" "$work/torn" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
node = lambda i: d[i * 48 + 11:i * 48 + 13]
j = next(j for j in range(4, len(d) // 48) if node(j) == node(3))
d[3 * 48:4 * 48] = d[j * 48:(j + 1) * 48]
open(sys.argv[2], "wb").write(d)
t = bytearray(open(sys.argv[1], "rb").read())
t[5 * 48 + 20] = ord("#")
open(sys.argv[3], "wb").write(t)
EOF
	out=$("$af" --check "$work/over" 0="$n0" 1="$n1")
	rc=$?
	if [ $rc = 1 ] && grep -Eq '^node [01]: wrote [0-9]+, found [0-9]+, lost 1, doubled 1, out of order [0-9]+$' <<<"$out"; then
		ok "an overwritten append is counted lost and doubled"
	else
		bad "an overwritten append (rc $rc): $out"
	fi
	out=$("$af" --check "$work/torn" 0="$n0" 1="$n1" 2>/dev/null)
	rc=$?
	if [ $rc = 1 ] && grep -q '^1 torn or foreign records$' <<<"$out"; then
		ok "a torn record is counted"
	else
		bad "a torn record (rc $rc): $out"
	fi
	if ! "$af" --check "$f" 0=x >/dev/null 2>&1; then
		ok "a bad NODE=COUNT is refused"
	else
		bad "a bad NODE=COUNT was accepted"
	fi
else
	bad "append-flood does not build"
fi

# ---- bench-vm-report: a run whose medians are known ----
W=$work/run
S=$W/shared/samples
mkdir -p "$S"
rawbench() { printf '{"test":"%s","n":50,"p50_us":%s,"p99_us":%s}\n' "$1" "$2" "$3" >"$W/$1.json"; }
rawbench udp-rr 300 900
rawbench cpg-self 3000 9000
rawbench cpg-rr 12000 30000
ub() { # BACKEND PART TEST P50 [TEST P50]...
	local be=$1 part=$2 sep=""
	shift 2
	{
		printf '{"backend":"%s","results":[' "$be"
		while [ $# -gt 1 ]; do
			printf '%s{"test":"%s","n":50,"p50_us":%s,"p99_us":%s}' "$sep" "$1" "$2" "$(($2 * 3))"
			sep=,
			shift 2
		done
		printf ']}\n'
	} >"$W/ub-$be-$part.json"
}
ub glockd local "uncached acquire" 6000 "cached re-acquire" 130
ub dlm local "uncached acquire" 1500 "cached re-acquire" 2
ub glockd peer "EX handoff" 12000 "shared SH" 7000 "EX ping-pong round" 22000
ub dlm peer "EX handoff" 2400 "shared SH" 2000 "EX ping-pong round" 3000
res() { printf '{"section":"kernel","op":"%s","backend":"%s","n":40,"p50_us":%s,"p99_us":null,"note":"n"}\n' "$1" "$2" "$3" >>"$W/results.jsonl"; }
for be in glockfs gfs2; do
	v=100
	[ $be = gfs2 ] && v=25
	for op in "append-in-turns, one turn (wall mean, 2 guests)" "cached open+read+close 4 KiB (guest 1)" \
		"glstats srttb guest 1 (blocking requests, ns->us)" "glstats srttb guest 2 (blocking requests, ns->us)" \
		"glstats srtt guest 1 (non-blocking, ns->us)" "glstats srtt guest 2 (non-blocking, ns->us)"; do
		res "$op" $be $v
	done
	for k in 2 3; do
		res "$k guests appending to one file: appends lost" $be $([ $be = gfs2 ] && echo 7 || echo 0)
		for i in $(seq 1 $k); do
			echo '{"node":0,"n":1000,"p50_us":5,"p99_us":9,"seconds":3,"per_s":400.0}' >>"$W/w-$be-$k.all"
			seq 1 100 >"$S/$be-$k-writers-g$i.dat"
		done
	done
done
for k in 2 3; do
	res "$k guests appending to one file: appends lost" glockfs-hold 0
	for i in $(seq 1 $k); do
		echo '{"node":0,"n":1000,"p50_us":5,"p99_us":9,"seconds":3,"per_s":800.0}' >>"$W/w-glockfs-hold-$k.all"
		seq 1 100 >"$S/glockfs-hold-$k-writers-g$i.dat"
	done
done
res "open+read+close 4 KiB on the 9p lower (guest 1)" 9p 80
report() {
	env WORK="$W" SAMPLES="$S" DLM=1 NODES=3 ACCEL=tcg KVER=6.1 COROSYNC=3.1.7 CPUS=2 LOAD="0 0 0" \
		DATE=now T_QUORATE=1 T_READY=2 ELAPSED=3 CMDLINE="bench-tools.sh" JSON_OUT="$W/table.json" \
		python3 "$srcdir/deploy/bench-vm-report"
}
if out=$(report); then
	if grep -Eq '^  uncached acquire EX \+ release +50 +6,000 .* 1,500 .* 4\.00x' <<<"$out" &&
	   grep -Eq '^  EX ping-pong round \(2 handoffs\) .* 7\.33x' <<<"$out" &&
	   grep -Eq '^  3 guests appending to one file: appends/s +3000 +1,200 +3000 +1,200 +1\.00x' <<<"$out" &&
	   grep -Eq '^  2 guests appending to one file: appends lost +40 +0 +40 +7 ' <<<"$out" &&
	   grep -A8 "^-- kernel, glockd's hold time on" <<<"$out" | grep -Eq '^  3 guests appending to one file: appends/s +3000 +2,400 +3000 +1,200 +2\.00x' &&
	   python3 -c 'import json, sys; t = json.load(open(sys.argv[1])); sys.exit(0 if len(t["rows"]) == 27 and not t["missing"] else 1)' "$W/table.json"; then
		ok "bench-vm-report: ratios, rates and counts from known medians; 27 rows in the JSON"
	else
		bad "bench-vm-report's table is not what the inputs say:"$'\n'"$out"
	fi
else
	bad "bench-vm-report failed on a complete run:"$'\n'"$out"
fi
rm "$W/ub-dlm-peer.json"
out=$(report)
rc=$?
if [ $rc = 1 ] && grep -q '^missing: .*dlm EX handoff' <<<"$out"; then
	ok "bench-vm-report: a missing figure is named and fails the report"
else
	bad "bench-vm-report with the DLM's peer tests missing (rc $rc)"
fi

# ---- plot-cdf ----
if command -v gnuplot >/dev/null; then
	seq 1 200 >"$work/a.dat"
	seq 50 250 >"$work/b.dat"
	if "$srcdir/deploy/plot-cdf" "$work/p.svg" "test plot" "op one|a=$work/a.dat|b=$work/b.dat" \
		"op two|a=$work/a.dat|gone=$work/missing.dat" 2>"$work/plot.err" &&
	   grep -q 'op one' "$work/p.svg" && grep -q 'op two' "$work/p.svg" &&
	   grep -q 'median 101' "$work/p.svg" && grep -q 'missing.dat' "$work/plot.err"; then
		ok "plot-cdf: two panels, medians in the keys, the missing file named"
	else
		bad "plot-cdf: $(cat "$work/plot.err")"
	fi
else
	echo "skip plot-cdf: no gnuplot (deploy/install-deps installs gnuplot-nox)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
