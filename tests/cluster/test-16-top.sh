#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# glockctl top, on a terminal (tmux: new-session, capture-pane, send-keys)
# while a bench hammers one glock: the EX ping-pong between nodes 1 and 2
# (glockctl bench --tests pingpong, glock type 0xbe5).  Its row shows up
# among the first ones, with holders and a waiter; the header says the node
# is quorate and synced; 'q' quits with status 0 and the terminal
# restored.  Then the plain-text mode (stdout not a terminal): -n N blocks,
# no escape sequences.  Nothing here is timed: every check waits, bounded,
# for what it wants to see.
. "$(dirname "$0")/lib.sh"
test_begin "glockctl top: live view in tmux while a bench runs; plain text"
LS=t16-$$
SESSION=top
TOP_ROWS=5                 # the hammered glock must be among the first rows

command -v tmux >/dev/null || { fail "tmux not installed (deploy/install-deps)"; test_end; }
SOCK=$T_TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
screen() { tm capture-pane -p -t "$SESSION" 2>/dev/null; }

# The bench: peer on node 2, driver on node 1, for at most 60 s.
"$CLUSTER" exec 2 -- glockctl bench --role pingpong-peer --lockspace "$LS" \
	>"$T_TMP/peer.log" 2>&1 &
T_BG+=($!)
"$CLUSTER" exec 1 -- glockctl bench --tests pingpong --pp-seconds 60 --iterations 1000000 \
	--lockspace "$LS" >"$T_TMP/driver.log" 2>&1 &
driver=$!
T_BG+=($driver)

# top runs on node 1; with lock_path = p2p on the ping-pong glock's master,
# the one node that knows every node's holders and waiters of it.
TOP_NODE=1
pp_master() {
	# glockctl dump prints the type in decimal: 0xbe5 = 3045
	dump_ls 1 "$LS" | awk '$3 ~ /^n:3045\// { for (i = 4; i <= NF; i++)
		if ($i ~ /^m:[0-9]+$/) { print substr($i, 3); exit } }'
}
if lock_path_p2p; then
	check_until 30 "node 1 names the ping-pong glock's master" eval '[[ -n $(pp_master) ]]'
	TOP_NODE=$(pp_master)
	TOP_NODE=${TOP_NODE:-1}
	info "top runs on node $TOP_NODE, the ping-pong glock's master"
fi

# top in a terminal; the pane stays after it exits, with its status.
tm -f /dev/null new-session -d -s "$SESSION" -x 160 -y 40 \
	"GLOCK_NETNS_STATE=$GLOCK_NETNS_STATE GLOCK_NETNS_PREFIX=$PREFIX $CLUSTER exec $TOP_NODE -- glockctl top -d 0.5; echo TOP-EXITED rc=\$?; sleep 60"
server=$(tm display-message -p '#{pid}' 2>/dev/null)
[[ -n $server ]] && T_BG+=("$server")
check "tmux session runs" tm has-session -t "$SESSION"

# header_ok: the first line names the node, quorate and synced, 3 members.
header_ok() {
	screen | head -n 1 |
		grep -Eq "^glockctl top - [0-9:]+  node $TOP_NODE: connected, quorate, synced  members 3\$"
}
# hammered_row: the ping-pong glock's row, among the first TOP_ROWS glock rows.
hammered_row() {
	screen | awk '/^GLOCK /{on = 1; next} on && NF { print; if (++n == rows) exit }' \
		rows="$TOP_ROWS" | grep -E "^$LS:be5/[0-9a-f]+ "
}
row_has_holder() { hammered_row | grep -Eq "^$LS:be5/[0-9a-f]+ +(EX|UN|-) +[12]:EX "; }
row_has_waiter() {
	hammered_row | grep -Eq "^$LS:be5/[0-9a-f]+ +(EX|UN|-) +[12]:EX +[12]:EX "
}

check_until 20 "top shows the header: node $TOP_NODE quorate, synced, 3 members" header_ok
check_until 30 "the hammered glock ($LS:be5/...) is among the first $TOP_ROWS rows" hammered_row
check_until 30 "... with a node holding it EX" row_has_holder
check_until 30 "... and the other node waiting for EX" row_has_waiter
check "the screen is redrawn in place (one header on the screen)" \
	eval '[[ $(screen | grep -c "^glockctl top - ") == 1 ]]'
info "screen: $(screen | head -n 6 | tr '\n' '|')"

tm send-keys -t "$SESSION" q
check_until 10 "'q' quits top with status 0" eval 'screen | grep -q "^TOP-EXITED rc=0$"'
tm kill-server 2>/dev/null

# Plain text: stdout is a file.
out=$T_TMP/plain.txt
check "plain mode: top -n 3 -d 0.2 exits 0" eval 'on $TOP_NODE glockctl top -n 3 -d 0.2 > $out'
check "plain mode: three refreshes, one after another" \
	eval '[[ $(grep -c "^glockctl top - " $out) == 3 ]]'
check "plain mode: no escape sequences" eval '! grep -q $'"'"'\033'"'"' $out'
check "plain mode: the hammered glock is listed" grep -Eq "^$LS:be5/" "$out"
check "plain mode: --lockspace shows only that lockspace" \
	eval 'on 1 glockctl top -n 1 --lockspace $LS | awk "/^GLOCK /{on=1;next} on && NF" | grep -v "^$LS:" | { ! grep -q .; }'
check_not "bad -n is a usage error" on 1 glockctl top -n 0
check_not "bad -d is a usage error" on 1 glockctl top -d x

# The bench ends by itself (its 60 s bound); stop it now.
kill -TERM "$driver" 2>/dev/null
test_end
