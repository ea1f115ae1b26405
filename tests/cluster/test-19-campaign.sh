#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The fault campaign (issue 10, item 6): a client on every node increments
# a counter under EX of one glock, in a shared file and in the LVB
# (tests/cluster/campaign-client.c), while a seeded schedule kills glockd,
# kills corosync or cuts a node off, then restarts or heals it.  Fencing is
# real for the clients: every node runs a fence command that kills the
# fenced node's clients (their I/O stops) and clears the critical-section
# marker one of them may have left; locks pass only after that.
#
# At the end: no two critical sections overlapped (the clients check it
# with an O_EXCL marker), the journal holds every increment 1..N exactly
# once, every acknowledged increment is in it under the client that
# acknowledged it, the counter file says N, and every client stopped when
# asked (nothing hung).
#
#   GLOCK_CAMPAIGN_SECONDS  schedule length (default 120)
#   GLOCK_CAMPAIGN_SEED     the schedule's seed (default: the date's day)
# An hour:  GLOCK_CAMPAIGN_SECONDS=3600 GLOCK_TEST_STEP_TIMEOUT=4000 \
#   GLOCK_CLUSTER_TIMEOUT=4000 tests/cluster/run-all.sh test-19-campaign.sh
# step-timeout: 420
. "$(dirname "$0")/lib.sh"
test_begin "fault campaign: counters under EX while nodes fail"
LS=t19-$$
SECONDS_RUN=${GLOCK_CAMPAIGN_SECONDS:-120}
SEED=${GLOCK_CAMPAIGN_SEED:-$(date +%j)}
RANDOM=$SEED
info "seed $SEED, $SECONDS_RUN s, lock_path ${GLOCK_LOCK_PATH:-cpg} (replay: GLOCK_CAMPAIGN_SEED=$SEED)"

CLIENT=${GLOCK_CAMPAIGN_CLIENT:-$BUILDDIR/tests/cluster/campaign-client}
[[ -x $CLIENT ]] || { fail "no $CLIENT (build first)"; test_end; }
D=$T_TMP/shared
mkdir -p "$D"

# The fence command: kill node $1's clients, wait until they are gone,
# then clear a marker its client left inside the critical section.
fence=$T_TMP/fence.sh
cat > "$fence" <<EOS
#!/bin/bash
echo "\$(date +%s.%N) fence \$1" >> "$T_TMP/fence.log"
for p in \$(cat "$D/pids.\$1" 2>/dev/null); do kill -KILL "\$p" 2>/dev/null; done
for p in \$(cat "$D/pids.\$1" 2>/dev/null); do
	for i in \$(seq 100); do [ -e /proc/\$p ] || break; sleep 0.05; done
	[ -e /proc/\$p ] && exit 1
done
grep -q "^n\$1-" "$D/inside" 2>/dev/null && rm -f "$D/inside"
exit 0
EOS
chmod 755 "$fence"
: > "$T_TMP/fence.log"

for n in $(seq 1 "$NODES"); do
	check "node $n's glockd restarted with the campaign's fence command" \
		restart_glockd "$n" "command:$fence"
done
# Every later start (after a kill, or restore_cluster) keeps the fence
# command: a glockd started without it would release a departed node's
# locks unfenced, and its clients' critical sections could overlap.
export GLOCK_FENCE="command:$fence"

declare -A CLIENT_PID=()
GEN=0
# start_client NODE: a new client there (ids n1-0, n1-1, ...); its pid is
# what the fence command kills.
start_client() {
	local n=$1 id
	id=n$n-$GEN
	GEN=$((GEN + 1))
	"$CLUSTER" exec "$n" -- "$CLIENT" -l "$LS" -d "$D" -i "$id" \
		> "$D/out.$id" 2> "$D/err.$id" &
	CLIENT_PID[$n]=$!
	T_BG+=("$!")
	echo "$!" > "$D/pids.$n"
}
client_alive() { [[ -n ${CLIENT_PID[$1]:-} ]] && ! probe_gone "${CLIENT_PID[$1]}"; }

for n in $(seq 1 "$NODES"); do start_client "$n"; done

# One fault, then back to normal, then every node synced and a client on it.
actions=0
end=$(( $(now_ms) + SECONDS_RUN * 1000 ))
while (( $(now_ms) < end )); do
	sleep "0.$(( RANDOM % 9 + 1 ))"
	n=$(( RANDOM % NODES + 1 ))
	case $(( RANDOM % 3 )) in
	0)	what="kill -9 node $n's glockd"
		cluster kill "$n" glockd >/dev/null
		sleep 1
		cluster start "$n" glockd >/dev/null ;;
	1)	what="kill -9 node $n's corosync"
		cluster kill "$n" corosync >/dev/null
		sleep 1
		cluster start "$n" corosync >/dev/null ;;
	2)	what="cut node $n off"
		others=$(seq 1 "$NODES" | grep -vx "$n" | paste -sd,)
		cluster partition "$others" >/dev/null
		sleep 2
		cluster heal >/dev/null ;;
	esac
	actions=$((actions + 1))
	if ! wait_until 60 all_synced; then
		restore_cluster >/dev/null 2>&1
		wait_until 60 all_synced || { fail "after '$what' the cluster did not come back"; break; }
	fi
	for m in $(seq 1 "$NODES"); do client_alive "$m" || start_client "$m"; done
	echo "$(date +%T) $what" >> "$T_TMP/schedule.log"
done
info "$actions faults: $(tr '\n' ';' < "$T_TMP/schedule.log" | cut -c1-600)"
info "fenced: $(grep -c fence "$T_TMP/fence.log") times"

# Stop the clients: each finishes its round and exits.
for n in "${!CLIENT_PID[@]}"; do kill -TERM "${CLIENT_PID[$n]}" 2>/dev/null; done
stopped=1
for n in "${!CLIENT_PID[@]}"; do
	for i in $(seq 300); do probe_gone "${CLIENT_PID[$n]}" && break; sleep 0.1; done
	probe_gone "${CLIENT_PID[$n]}" || stopped=0
done
check "every client stopped within 30 s of being asked (nothing hung)" test "$stopped" = 1

overlaps=$(grep -h "^OVERLAP" "$D"/out.* | tr '\n' ';')
check "no two critical sections overlapped${overlaps:+ ($overlaps marker: $(cat "$D/inside" 2>/dev/null))}" \
	test -z "$overlaps"
N=$(tail -n 1 "$D/journal" 2>/dev/null | cut -d" " -f1)
acks=$(cat "$D"/out.* | grep -c '^ack ')
info "counter $N, $acks acknowledged increments, $(grep -h '^done' "$D"/out.* | tr '\n' ';')"
check "the clients made progress (>= 10 increments)" eval '(( ${N:-0} >= 10 ))'
check "the journal holds every increment 1..$N exactly once, in order" \
	eval '[[ "$(cut -d" " -f1 "$D/journal")" == "$(seq 1 "$N")" ]]'
check "the counter file says $N" eval '[[ "$(cat "$D/counter")" == "$N" ]]'
# Acks as journal lines ("VALUE CLIENT"), less what the journal holds.
lost=$(for f in "$D"/out.*; do
	awk -v id="${f##*/out.}" '$1 == "ack" { print $2 " " id }' "$f"
done | sort -u | comm -23 - <(sort -u "$D/journal") | wc -l)
check "every acknowledged increment is in the journal under its client ($lost missing)" \
	test "$lost" = 0

unset GLOCK_FENCE
for n in $(seq 1 "$NODES"); do
	check "node $n's glockd back to fence = none" restart_glockd "$n" none
done
test_end
