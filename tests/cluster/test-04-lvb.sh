#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Lock value blocks: what an EX holder writes (at unlock, or at a down-
# conversion) is what the next holder on another node reads; an EX holder
# that writes nothing leaves it alone; SH holders cannot write.
. "$(dirname "$0")/lib.sh"
test_begin "LVB across nodes"
LS=t04-$$

hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
lvb_hex() { # lvb_hex TEXT: the 32-byte LVB as glockctl dump prints it
	local h
	h=$(hex "$1")
	while (( ${#h} < 64 )); do h+=0; done
	echo "$h"
}

probe_start p1 1 $LS || exit 1
probe_start p2 2 $LS || exit 1
probe_start p3 3 $LS || exit 1

probe_do p1 "lock a 400 EX" '^a (granted|error)'
check_eq "node 1 takes EX on 2/400 (empty LVB)" "a granted EX lvb=" "$PROBE_LINE"
probe_do p1 "lvbw a from-node-1" '^a (lvbw-ok|error)'
check_eq "node 1 writes the LVB" "a lvbw-ok" "$PROBE_LINE"
probe_do p1 "unlock a" '^a (unlocked|error)'
probe_do p2 "lock b 400 SH t=10000" '^b (granted|error)'
check_eq "node 2's SH reads node 1's LVB (written at unlock, carried by the demote)" \
	"b granted SH lvb=from-node-1" "$PROBE_LINE"
check_until 5 "node 3's dump shows the LVB" dump_has 3 $LS 400 "lvb:$(lvb_hex from-node-1)\$"
probe_do p2 "lvbw b nope" '^b (lvbw-ok|error)'
check_eq "an SH holder cannot write the LVB" "b error EPERM" "$PROBE_LINE"
probe_do p2 "unlock b" '^b (unlocked|error)'

probe_do p3 "lock c 400 EX t=10000" '^c (granted|error)'
check_eq "node 3's EX reads it too" "c granted EX lvb=from-node-1" "$PROBE_LINE"
probe_do p3 "lvbw c from-node-3" '^c (lvbw-ok|error)'
probe_do p3 "convert c SH" '^c (converted|error)'
check_eq "node 3 converts EX->SH" "c converted SH lvb=from-node-3" "$PROBE_LINE"
probe_do p1 "lock d 400 SH t=10000" '^d (granted|error)'
check_eq "node 1's SH reads the LVB node 3 wrote at its down-conversion" \
	"d granted SH lvb=from-node-3" "$PROBE_LINE"
probe_do p1 "unlock d" '^d (unlocked|error)'
probe_do p3 "unlock c" '^c (unlocked|error)'

probe_do p2 "lock e 400 EX t=10000" '^e (granted|error)'
check_eq "node 2's EX reads node 3's LVB" "e granted EX lvb=from-node-3" "$PROBE_LINE"
probe_do p2 "unlock e" '^e (unlocked|error)'
probe_do p1 "lock f 400 SH t=10000" '^f (granted|error)'
check_eq "an EX holder that wrote nothing left the LVB as it was" \
	"f granted SH lvb=from-node-3" "$PROBE_LINE"
probe_do p1 "unlock f" '^f (unlocked|error)'

# The 32nd byte too: a full LVB.
full=abcdefghijklmnopqrstuvwxyz012345
probe_do p3 "lock g 400 EX t=10000" '^g (granted|error)'
probe_do p3 "lvbw g $full" '^g (lvbw-ok|error)'
probe_do p3 "unlock g" '^g (unlocked|error)'
probe_do p2 "lock h 400 SH t=10000" '^h (granted|error)'
check_eq "a full 32-byte LVB arrives whole" "h granted SH lvb=$full" "$PROBE_LINE"
check_until 5 "tables (LVB included) equal on all nodes" tables_equal $LS 1 2 3
test_end
