#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fail-open / fail-closed, made visible: gwlbd --policy runs the policy host in a child
# process. SIGKILL the child (its pid from /json) and, while it is down, the queue rule's
# bypass flag decides: with bypass = yes a new TCP connection through gwlbsim + gwlbd still
# works, with bypass = no it fails, while a flow decided before keeps going in the kernel.
# Health is 503 while the child is down and 200 after its restart, whose traffic is judged
# again (the queue counters move); gwlbd's own pid never changes. Then a plug-in that
# segfaults on a packet to one port: the child restarts, the restart is counted, the packet
# that was queued when it died is lost, and the tunnel carries other traffic throughout.
# SIGKILL gwlbd itself: the child goes with it and takes the table along. Last, a SIGTERM
# to the child from someone else leaves the table (bypass = no keeps failing closed), and a
# restart that finds the policy file broken is counted and retried until it is fixed.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
testmodir=$top_builddir/tests/unit/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"
[ -e "$testmodir/verdict_crash.so" ] || skip "test modules not built (make check builds them)"

# Long enough to look at the dead policy host on a busy 2-core machine.
DOWN_MS=8000

# The crash module's SIGSEGV must not leave a core file behind.
ulimit -c 0

lab_test_lab 1

# write_policy BYPASS [MODULE ARGS...]: one queue, the given module (default accept) then accept.
write_policy()
{
	local bypass=$1
	shift
	{
		printf '[queue]\ncount = 1\nbypass = %s\n\n[policy]\n' "$bypass"
		[ "$#" = 0 ] || printf 'module = %s\n' "$*"
		printf 'module = accept\n\n[module-path]\ndir = %s\ndir = %s\n' "$modir" "$testmodir"
	} >"$LAB_DIR/policy.conf"
}

# start_gwlbd FIRST_RESTART_DELAY_MS
start_gwlbd()
{
	GWLBD_POLICY_RESTART_DELAY_MS=$1 lab_gwlbd_start --policy "$LAB_DIR/policy.conf" \
		--logging policy=info -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
		fail "could not start gwlbd --policy"
	GWLBD_PID=$LAB_GWLBD_PID
}

stop_gwlbd()
{
	lab_gwlbd_stop
	if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
		fail "table inet gwlbnf left after gwlbd stopped"
	fi
	ok "gwlbd stopped, no table inet gwlbnf left"
}

# kill_child [SIGNAL]: kill the policy host (default SIGKILL), wait until gwlbd has noticed.
kill_child()
{
	local pid sig=${1:-KILL}
	pid=$(policy_child)
	echo "+ kill -$sig $pid  # the policy host"
	kill -"$sig" "$pid"
	expect_state down 5
	expect_eq "/json .policy.last_exit.signal" "$(gwlbd_json .policy.last_exit.signal)" \
		"$(kill -l "$sig")"
	expect_eq "/json .policy.exits" "$(gwlbd_json .policy.exits)" 1
}

health_down()
{
	local body
	expect_eq "GET / while the policy host is down" "$(http_code /)" 503
	body=$(lab_health /)
	grep -q "policy host is down" <<<"$body" || fail "the 503 page does not name the policy host: $(head -n 1 <<<"$body")"
	ok "503 page: $(head -n 1 <<<"$body")"
	grep -q "^Policy host: down, bypass .*, 1 exits, .*last exit: pid [0-9]* killed by signal" <<<"$body" ||
		fail "the status page has no 'Policy host: down' line: $(grep '^Policy' <<<"$body")"
	ok "status page: $(grep '^Policy host' <<<"$body")"
	expect_eq "gwlbd_policy_up while down" \
		"$(lab_health /metrics | awk '$1 == "gwlbd_policy_up" { print $2 }')" 0
}

# Keeps one UDP flow (one socket, one source port) open across the kill: its echo must work
# before, and after when decided flows stay decided; a new socket is a new, undecided flow.
cat >"$LAB_DIR/flowclient.py" <<'EOF'
import os, socket, sys, time
host, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def echo(s, payload):
    s.settimeout(1.0)
    for attempt in range(3):
        try:
            s.send(payload)
            if s.recv(65535) == payload:
                return "ok"
        except socket.timeout:
            pass
    return "timeout"
old = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
old.connect((host, port))
print("before", echo(old, b"before"), flush=True)
open(os.path.join(d, "flow.ready"), "w").close()
for i in range(600):
    if os.path.exists(os.path.join(d, "flow.go")):
        break
    time.sleep(0.1)
new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
new.connect((host, port))
print("old", echo(old, b"old flow"), "new", echo(new, b"new flow"), flush=True)
EOF

step "bypass = yes: the policy host is a child of gwlbd"
write_policy yes
start_gwlbd "$DOWN_MS"
expect_state running 5
pid1=$(policy_child)
ok "policy host runs as pid $pid1, a child of gwlbd $GWLBD_PID"
expect_eq "/json .policy.bypass" "$(gwlbd_json .policy.bypass)" true
expect_eq "/json .policy.restarts" "$(gwlbd_json .policy.restarts)" 0
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_gt "flows accepted by the policy host" "$(gwlbd_json '.policy.queues[0].flows_accepted')" 0

step "bypass = yes: SIGKILL the policy host, a new TCP connection still works"
kill_child
gwlbd_log_line=$(grep -m1 "policy host (pid $pid1) killed by signal 9" "$LAB_DIR/gwlbd.log") ||
	fail "gwlbd logged no line about the killed policy host"
ok "gwlbd says: ${gwlbd_log_line#*] }"
health_down
expect_eq "/json .reason names the bypass" \
	"$(gwlbd_json '.reason | test("policy host is down.*accepts.*bypass = yes")')" true
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
still_down "a new TCP connection with bypass = yes"
ok "a new TCP connection works while the policy host is down (bypass = yes)"
gwlbd_alive

step "bypass = yes: the restarted policy host judges traffic again"
expect_state running $((DOWN_MS / 1000 + 15))
pid2=$(policy_child)
[ "$pid2" != "$pid1" ] || fail "the policy host's pid did not change ($pid1)"
ok "restarted as pid $pid2"
expect_eq "/json .policy.restarts" "$(gwlbd_json .policy.restarts)" 1
expect_eq "GET / after the restart" "$(http_code /)" 200
ruleset=$(lab_exec app nft list table inet gwlbnf) || fail "no table inet gwlbnf after the restart"
grep -q 'chain policy_pre' <<<"$ruleset" || fail "no policy_pre chain after the restart"
ok "table inet gwlbnf re-installed"
received=$(gwlbd_json '.policy.queues[0].received')
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_gt "packets queued to the restarted policy host" "$(gwlbd_json '.policy.queues[0].received')" "$received"
expect_gt "flows it accepted" "$(gwlbd_json '.policy.queues[0].flows_accepted')" 0
gwlbd_alive
stop_gwlbd

step "bypass = no: a decided flow goes on, a new connection fails while the policy host is down"
write_policy no
start_gwlbd "$DOWN_MS"
expect_state running 5
expect_eq "/json .policy.bypass" "$(gwlbd_json .policy.bypass)" false
rm -f "$LAB_DIR/flow.ready" "$LAB_DIR/flow.go"
lab_bg cli1 flowclient "$PYTHON" "$LAB_DIR/flowclient.py" "$LAB_SRV4" "$LAB_ECHO_PORT" "$LAB_DIR"
flow_pid=$LAB_LAST_PID
wait_for "test -e '$LAB_DIR/flow.ready'" 10 || fail "the UDP flow client did not start: $(cat "$LAB_DIR/flowclient.log")"
grep -q "before ok" "$LAB_DIR/flowclient.log" || fail "UDP flow before the kill: $(cat "$LAB_DIR/flowclient.log")"
ok "UDP flow echoes before the kill"
ct=$(lab_exec app conntrack -L -p udp --dport "$LAB_ECHO_PORT" 2>/dev/null)
[ -n "$(ct_with_decision 1 <<<"$ct")" ] || fail "the UDP flow is not decided in conntrack: $ct"
ok "the UDP flow is decided in conntrack (accepted in mark bits 16-17)"
kill_child
health_down
echo "+ [cli1] curl -s -m 3 -o /dev/null http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
rc=0
lab_exec cli1 curl -s -m 3 -o /dev/null "http://$LAB_SRV4:$LAB_HTTP_PORT/blob" || rc=$?
[ "$rc" != 0 ] || fail "a new TCP connection worked while the policy host was down with bypass = no"
ok "a new TCP connection fails while the policy host is down (curl status $rc)"
touch "$LAB_DIR/flow.go"
wait_for "! kill -0 $flow_pid" 15 || fail "the UDP flow client did not finish"
wait "$flow_pid" 2>/dev/null || true
out=$(grep '^old' "$LAB_DIR/flowclient.log") || fail "UDP flow client: $(cat "$LAB_DIR/flowclient.log")"
echo "UDP flow client: $out"
[ "$out" = "old ok new timeout" ] ||
	fail "expected the decided flow to echo and a new flow to be dropped, got '$out'"
ok "the flow decided before still works in the kernel; a new UDP flow is dropped"
still_down "new connections with bypass = no"
lab_exec app nft list table inet gwlbnf >/dev/null || fail "table inet gwlbnf is gone while the policy host is down"
ok "table inet gwlbnf stays in the kernel while the policy host is down"
gwlbd_alive
expect_state running $((DOWN_MS / 1000 + 15))
expect_eq "GET / after the restart" "$(http_code /)" 200
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_gt "packets queued to the restarted policy host" "$(gwlbd_json '.policy.queues[0].received')" 0
gwlbd_alive
stop_gwlbd

step "a plug-in that segfaults: the child restarts, the tunnel carries on"
write_policy yes "crash port=$LAB_ECHO_PORT"
start_gwlbd "$DOWN_MS"
expect_eq "/json crash module loaded" "$(gwlbd_json '[.policy.modules[] | select(.name == "crash")] | length')" 1
pid1=$(policy_child)
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
echo "+ [cli1] one UDP datagram to $LAB_SRV4:$LAB_ECHO_PORT (the crash module's port)"
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" crash)
expect_state down 5
expect_eq "/json .policy.last_exit.signal" "$(gwlbd_json .policy.last_exit.signal)" 11
grep -q "policy host (pid $pid1) killed by signal 11" "$LAB_DIR/gwlbd.log" ||
	fail "gwlbd logged no line about the crashed policy host"
ok "gwlbd says: $(grep -m1 "policy host (pid $pid1) killed by signal 11" "$LAB_DIR/gwlbd.log" | cut -d' ' -f4-)"
expect_eq "the datagram queued when the policy host crashed (dropped by the kernel)" "$out" TIMEOUT
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" "while down"
ping_ok cli1 "$LAB_SRV4" 3
still_down "traffic while the crashed policy host is down"
gwlbd_alive
expect_state running $((DOWN_MS / 1000 + 15))
expect_eq "/json .policy.restarts" "$(gwlbd_json .policy.restarts)" 1
expect_eq "GET / after the restart" "$(http_code /)" 200
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_gt "flows accepted after the restart" "$(gwlbd_json '.policy.queues[0].flows_accepted')" 0
expect_eq "ENIs (the tunnel was never torn down)" "$(gwlbd_json '.enis | length')" 1
gwlbd_alive
sim_clean

step "SIGKILL gwlbd: the policy host dies with it and removes the table"
pid2=$(policy_child)
echo "+ kill -KILL $GWLBD_PID  # gwlbd"
kill -KILL "$GWLBD_PID"
wait_for "! kill -0 $pid2" 10 || fail "the policy host (pid $pid2) outlived gwlbd"
ok "the policy host (pid $pid2) ended with gwlbd"
wait_for "! lab_exec app nft list table inet gwlbnf" 5 || fail "table inet gwlbnf left after gwlbd was killed"
ok "no table inet gwlbnf left"
lab_gwlbd_stop

step "SIGTERM from outside, bypass = no: the table stays and fails closed; a broken file is retried"
write_policy no
start_gwlbd 3000
printf '[queue]\ncount = 1\n[policy]\nmodule = accept\nfial = open\n' >"$LAB_DIR/policy.conf"
kill_child TERM
lab_exec app nft list table inet gwlbnf >/dev/null ||
	fail "table inet gwlbnf is gone after a SIGTERM that did not come from gwlbd"
ok "table inet gwlbnf stays after a SIGTERM from outside"
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" closed)
expect_eq "a new UDP flow while the policy host is down (bypass = no)" "$out" TIMEOUT
wait_for "[ \"\$(gwlbd_json .policy.failed_starts)\" -ge 1 ]" 15 ||
	fail "no failed restart counted: $(gwlbd_json .policy | jq -c '{state, restarts, failed_starts}')"
err=$(gwlbd_json .policy.last_start_error)
grep -q 'policy.conf:5' <<<"$err" || fail "last_start_error does not name file:line: '$err'"
ok "/json .policy.last_start_error = $err"
grep -q "policy host restart failed: .*policy.conf:5" "$LAB_DIR/gwlbd.log" || fail "no 'restart failed' log line"
expect_eq "GET / while restarts fail" "$(http_code /)" 503
write_policy no
expect_state running 15
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" "judged again"
expect_eq "GET / once the file is fixed" "$(http_code /)" 200
gwlbd_alive
stop_gwlbd

echo
echo "PASS: $TEST_NAME"
