#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# SIGTERM with two ENIs up: gwlbd runs the DESTROY hook of each with gwlbtun's arguments,
# removes every gwi/gwo interface (and so the hook's rules and routes are gone too) and
# exits 0.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_lab 2
export HOOK_LOG=$LAB_DIR/hook.log
: >"$HOOK_LOG"
lab_gwlbd_start || fail "could not start gwlbd"
pid=$LAB_GWLBD_PID

step "traffic from two ENIs"
ping_ok cli1 "$LAB_SRV4" 3
ping_ok cli2 "$LAB_SRV4" 3
gwis=$(lab_health /json | jq -r '.enis[].gwi' | sort)
echo "ENIs: $(echo $gwis)"
expect_eq "ENIs up" "$(echo "$gwis" | grep -c .)" 2
expect_eq "CREATE hook calls" "$(grep -c '^CREATE ' "$HOOK_LOG")" 2
rules=$(lab_ip app rule show | grep -c 'iif gwi-' || true)
expect_gt "hook's ip rules in app" "$rules" 0

step "SIGTERM"
echo "+ kill -TERM $pid"
kill -TERM "$pid"
rc=0
wait_for "! kill -0 $pid" 15 || fail "gwlbd still running 15 s after SIGTERM"
wait "$pid" || rc=$?
LAB_GWLBD_PID=
expect_eq "gwlbd exit status" "$rc" 0
cat "$HOOK_LOG"
for gwi in $gwis; do
	grep -qE "^DESTROY $gwi gwo-${gwi#gwi-} [0-9a-f]{17}$" "$HOOK_LOG" ||
		fail "no DESTROY hook call for $gwi with gwlbtun's arguments"
	ok "DESTROY $gwi ran"
done
left=$(lab_ip app -o link show | grep -c ' gw[io]-' || true)
expect_eq "gwi/gwo interfaces left" "$left" 0
rules=$(lab_ip app rule show | grep -c 'iif gwi-' || true)
expect_eq "hook's ip rules left" "$rules" 0
grep -q "shutting down" "$LAB_DIR/gwlbd.log" || fail "gwlbd did not log its shutdown"
ok "gwlbd logged: $(grep -m1 'shutting down' "$LAB_DIR/gwlbd.log")"

echo
echo "PASS: $TEST_NAME"
