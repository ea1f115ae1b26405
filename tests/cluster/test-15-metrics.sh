#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# glockctl metrics: Prometheus' text format that promtool accepts, written
# atomically with --textfile, glockd_up 0 when glockd does not answer, and
# counters that move with lock traffic: a bench (uncached and cached
# acquires) and EX handoffs between nodes 1 and 2 (demotes).  The numbers
# checked are differences between two scrapes, compared with what the
# traffic must at least have caused, never absolute values or times.
. "$(dirname "$0")/lib.sh"
test_begin "glockctl metrics: promtool, textfile, counters move"
LS=t15-$$
ITER=200

command -v promtool >/dev/null || { fail "promtool not installed (deploy/install-deps)"; test_end; }

# mval FILE SERIES: the value of one series (exact name and labels), 0 if absent.
mval() {
	awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}
# msum FILE NAME: the sum of NAME's series over all labels.
msum() {
	awk -v n="$2" 'index($1, n "{") == 1 { v += $2 } END { print v + 0 }' "$1"
}
# grew FILE0 FILE1 SERIES MIN: SERIES went up by at least MIN.
grew() {
	local a b
	a=$(mval "$1" "$3")
	b=$(mval "$2" "$3")
	awk -v a="$a" -v b="$b" -v m="$4" 'BEGIN { exit !(b - a >= m) }' ||
		{ echo "$3: $a -> $b, wanted +$4"; return 1; }
}

m0=$T_TMP/m0.prom m1=$T_TMP/m1.prom m2=$T_TMP/m2.prom
check "node 1: glockctl metrics" eval 'on 1 glockctl metrics > $m0'
check "node 2: glockctl metrics" eval 'on 2 glockctl metrics > $m2'
check "promtool check metrics passes (node 1)" promtool check metrics < "$m0"
check "glockd_up 1, 3 members, quorate, synced" \
	eval '[[ $(mval $m0 glockd_up) == 1 && $(mval $m0 glockd_members) == 3 &&
		$(mval $m0 glockd_quorate) == 1 && $(mval $m0 glockd_synced) == 1 ]]'
check "node id is 1" eval '[[ $(mval $m0 glockd_node_id) == 1 ]]'

# Traffic: the bench on node 1, then handoffs of one glock between 1 and 2.
check "bench on node 1 (uncached, cached, $ITER each)" \
	on 1 glockctl bench --tests uncached,cached --iterations "$ITER" --warmup 0 \
	--no-peer --lockspace "$LS"
for i in 1 2 3; do
	on 1 glockctl run --ex --timeout 10000 "$LS/2/77" -- true || fail "handoff $i: node 1"
	on 2 glockctl run --ex --timeout 10000 "$LS/2/77" -- true || fail "handoff $i: node 2"
done
on 2 glockctl run --ex --try "$LS/2/77" -- true >/dev/null 2>&1   # cached on node 2: granted
check "node 1: glockctl metrics after the traffic" eval 'on 1 glockctl metrics > $m1'
check "promtool check metrics passes after the traffic" promtool check metrics < "$m1"

G='{op="lock",outcome="granted"}'
check "lock requests granted grew by >= $((2 * ITER))" \
	grew "$m0" "$m1" "glockd_requests_total$G" $((2 * ITER))
check "unlocks grew by >= $((2 * ITER))" \
	grew "$m0" "$m1" 'glockd_requests_total{op="unlock",outcome="granted"}' $((2 * ITER))
check "cache hits grew by >= $ITER (the cached test)" \
	grew "$m0" "$m1" glockd_cache_hits_total "$ITER"
check "the latency histogram counted them too" \
	grew "$m0" "$m1" "glockd_request_duration_seconds_count$G" $((2 * ITER))
check "histogram: +Inf bucket = count" \
	eval '[[ $(mval $m1 "glockd_request_duration_seconds_bucket{op=\"lock\",outcome=\"granted\",le=\"+Inf\"}") == $(mval $m1 "glockd_request_duration_seconds_count$G") ]]'
check "demotes received grew by >= 3 (node 2 took the glock thrice)" \
	grew "$m0" "$m1" glockd_demotes_received_total 3
if lock_path_p2p; then
	# Lock traffic goes over the node links; CPG carries membership only.
	check "node 1's links to nodes 2 and 3 are up" \
		eval '[[ $(mval $m1 "glockd_link_up{peer=\"2\"}") == 1 && $(mval $m1 "glockd_link_up{peer=\"3\"}") == 1 ]]'
	check "link messages sent grew by >= 3 (handoffs of a glock a link carries)" \
		eval '(( $(msum $m1 glockd_link_messages_sent_total) - $(msum $m0 glockd_link_messages_sent_total) >= 3 ))'
	check "no frame dropped on node 1's links" \
		eval '(( $(msum $m1 glockd_link_dropped_frames_total) == 0 ))'
else
	check "CPG messages sent grew" grew "$m0" "$m1" glockd_cpg_messages_sent_total 1
fi
check "the lockspace has a series" eval 'grep -q "^glockd_lockspace_glocks{lockspace=\"$LS\"} " $m1'

# Refused connections are counted.
before=$(mval "$m1" glockd_ipc_refused_connections_total)
on 1 setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups glockctl status >/dev/null 2>&1
check "a refused IPC connection is counted" \
	eval '(( $(on 1 glockctl metrics | awk "\$1 == \"glockd_ipc_refused_connections_total\" { print \$2 }") > before ))'

# --textfile: atomic, no temporary left, same format.
tf=$T_TMP/text/glockd.prom
mkdir -p "$T_TMP/text"
check "--textfile writes the file" on 1 glockctl metrics --textfile "$tf"
check "... that promtool accepts" promtool check metrics < "$tf"
check "... with no temporary file left" eval '[[ $(ls -A $T_TMP/text) == glockd.prom ]]'
ino=$(stat -c %i "$tf")
check "--textfile again replaces it (rename: a new inode)" \
	eval 'on 1 glockctl metrics --textfile $tf && [[ $(stat -c %i $tf) != "$ino" ]]'
check_not "--textfile into a missing directory fails" \
	on 1 glockctl metrics --textfile "$T_TMP/nonexistent/glockd.prom"

# glockd not answering: glockd_up 0 and exit 1.
out=$(GLOCK_IPC_NAME=glockd-none-$$ on 1 glockctl metrics 2>/dev/null)
rc=$?
check "no glockd: exit status 1" test "$rc" -eq 1
check "no glockd: glockd_up 0 (\"$(tr '\n' '|' <<< "$out")\")" \
	eval '[[ $(awk "\$1 == \"glockd_up\" { print \$2 }" <<< "$out") == 0 ]]'
check "no glockd: still valid for promtool" eval 'promtool check metrics <<< "$out"'
check_not "usage error: an unknown option" on 1 glockctl metrics --bogus
check "deploy/glockd-metrics.timer and .service are shipped" \
	test -f "$SRCDIR/deploy/glockd-metrics.timer" -a -f "$SRCDIR/deploy/glockd-metrics.service"
test_end
