#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# IPC access control: root may use glockd; `nobody` (not in allow_uid) is
# refused and logged; `daemon`, listed with allow_uid in the test cluster's
# config (lib.sh write_conf_extra), may.
. "$(dirname "$0")/lib.sh"
test_begin "IPC access by uid"
LS=t13-$$

as() { # as USER CMD...: run CMD in node 1 as USER (its primary group, no others)
	local u=$1
	shift
	on 1 setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@"
}

check "glockd.conf of node 1 allows uid daemon" grep -qx 'allow_uid = daemon' \
	"$GLOCK_NETNS_STATE/n1/glockd.conf"
check "root: glockctl status works" ctl 1 status
m1=$(log_mark 1 glockd)
out=$(as nobody "$GLOCKCTL" status 2>&1)
rc=$?
check "nobody: glockctl status fails" test "$rc" -ne 0
check "nobody: ... because glockd refuses it (\"$out\")" \
	eval '[[ $out == *"cannot reach glockd: Permission denied"* ]]'
out=$(as nobody "$GLOCKCTL" run --ex --timeout 2000 $LS/2/1300 -- true 2>&1)
rc=$?
check "nobody: glockctl run --ex fails (\"$out\")" \
	eval '(( rc == 1 )) && [[ $out == *"Permission denied"* ]]'
# The log line is rate limited (shared with the malformed-request warnings
# of test 12): ask again until the limiter lets one through.
refusal_logged() {
	as nobody "$GLOCKCTL" status >/dev/null 2>&1
	log_since 1 glockd "$m1" 'IPC connection from uid 65534 gid 65534 refused'
}
check_until 15 "nobody's refusal is logged with its uid" refusal_logged
check "nobody got nothing: no grant on 2/1300" eval '! dump_ls 1 $LS | grep -q "n:2/514 "'
check "daemon (allow_uid): glockctl status works" as daemon "$GLOCKCTL" status
check "daemon (allow_uid): glockctl run --ex works" \
	as daemon "$GLOCKCTL" run --ex --timeout 5000 $LS/2/1300 -- true
check "root: glockctl run --ex works" ctl 1 run --ex --timeout 5000 $LS/2/1300 -- true
check "node 1's glockd still synced" synced 1
test_end
