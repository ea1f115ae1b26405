#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the fuzz-wire libFuzzer target for a bounded time on a copy of the
# seed corpus (the source tree may be read-only, and libFuzzer writes new
# inputs into its corpus).  A crash, leak or sanitizer report fails the
# test; the reproducer is kept in tests/fuzz/artifacts/ in the build tree.
#
#   FUZZ_SECONDS  how long to fuzz (default 30)
#   FUZZ_BIN      the target (default tests/fuzz/fuzz-wire, built by make)
#   srcdir        the source tree (set by the automake test harness)
#
# Exit 0 pass, 1 fail, 77 skip (no clang, so no target).

seconds=${FUZZ_SECONDS:-30}
bin=${FUZZ_BIN:-tests/fuzz/fuzz-wire}
srcdir=${srcdir:-.}
seeds="$srcdir/tests/fuzz/corpus"
artifacts=tests/fuzz/artifacts

if [ ! -x "$bin" ]; then
	if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
		echo "SKIP: clang not found, so the libFuzzer target cannot be built"
		exit 77
	fi
	echo "$bin not built: run 'make fuzz-wire' first"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -d "$seeds" ]; then
	echo "seed corpus $seeds missing"
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-wire.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp "$seeds"/* "$work"/ || exit 1
mkdir -p "$artifacts" || exit 1

echo "fuzzing $bin for ${seconds}s from $(ls "$seeds" | wc -l) seeds"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" "$work" >"$work.log" 2>&1
rc=$?
grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done|#[0-9]+ *DONE)' \
	"$work.log"
if [ $rc -ne 0 ]; then
	tail -n 60 "$work.log"
	rm -f "$work.log"
	echo "fuzz-wire failed (exit $rc); reproducer in $artifacts/"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$work.log"
echo "1 passed, 0 failed"
exit 0
