#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-adapters.sh: the daemon's layout (docs/DESIGN.md §5).  Each
# adapter of glockd is one file that calls no other adapter: what it needs
# of the rest comes through the ops table main.c gives it.  This reads the
# undefined symbols of each adapter's object file (nm) and fails when one
# needs a glockd_* function other than its own or the config parser's.
#
# Run from the build directory (make check does); 77 (skipped) without nm.

command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }

pass=0
fail=0
for adapter in cluster lockpath ipc kdev agent_glue; do
	obj=daemon/glockd-$adapter.o
	case $adapter in
	agent_glue) own=glockd_agent_ ;;
	*) own=glockd_${adapter}_ ;;
	esac
	if [ ! -f "$obj" ]; then
		echo "FAIL: $adapter: $obj is not built"
		fail=$((fail + 1))
		continue
	fi
	calls=$(nm -u "$obj" | awk '{ print $NF }' | grep '^glockd_' |
		grep -v -e "^$own" -e '^glockd_config_' | tr '\n' ' ')
	if [ -n "$calls" ]; then
		echo "FAIL: $adapter calls another adapter directly: $calls(wire it through its ops table in main.c)"
		fail=$((fail + 1))
	else
		echo "PASS: $adapter calls no other adapter"
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
