#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The policy host's watchdog (the policy file's stall-timeout): a plug-in whose verdict()
# never returns on a packet to one port kills nothing, it only stops its queue's worker.
# Traffic to that port must get the child killed by gwlbd within stall-timeout plus the
# watchdog's look, counted in /json (.policy.watchdog), logged with the queue and what the
# kernel does meanwhile, and restarted by the supervisor: health 503 between, 200 after,
# other traffic judged again, gwlbd's pid unchanged. A child that answers nothing at all
# (SIGSTOP) is killed the same way. With stall-timeout = 0 the hang stays, as before.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
testmodir=$top_builddir/tests/unit/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"
[ -e "$testmodir/verdict_hang.so" ] || skip "test modules not built (make check builds them)"

STALL=3
# The restart delay: long enough to look at the killed policy host on a busy 2-core machine.
DOWN_MS=6000

lab_test_lab 1

# A policy host this test stopped, or left stuck, ends neither with gwlbd's SIGTERM nor
# after its parent is gone: a failed run kills it by its pid.
leftover=
lab_test_cleanup_hook()
{
	[ -n "$leftover" ] && tr '\0' ' ' <"/proc/$leftover/cmdline" 2>/dev/null |
		grep -q -- '--policy-child' || return 0
	echo "+ kill -KILL $leftover  # the policy host this test left stuck"
	kill -KILL "$leftover" 2>/dev/null || true
}

# write_policy STALL_TIMEOUT: one queue, bypass = yes, the hang module on the echo port.
write_policy()
{
	printf '[queue]\ncount = 1\nbypass = yes\nstall-timeout = %s\n\n[policy]\n' "$1" >"$LAB_DIR/policy.conf"
	printf 'module = hang port=%s\nmodule = accept\n\n[module-path]\ndir = %s\ndir = %s\n' \
		"$LAB_ECHO_PORT" "$modir" "$testmodir" >>"$LAB_DIR/policy.conf"
}

start_gwlbd()
{
	GWLBD_POLICY_RESTART_DELAY_MS=$DOWN_MS lab_gwlbd_start --policy "$LAB_DIR/policy.conf" \
		--logging policy=info -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
		fail "could not start gwlbd --policy"
}

# killed_by_watchdog PID KILLS REASON_REGEX: the watchdog killed PID, the KILLS-th time.
killed_by_watchdog()
{
	local pid=$1 kills=$2 re=$3 reason line body
	expect_state down $((STALL + 10))
	expect_eq "/json .policy.watchdog.kills" "$(gwlbd_json .policy.watchdog.kills)" "$kills"
	reason=$(gwlbd_json .policy.watchdog.last_reason)
	grep -Eq "$re" <<<"$reason" || fail "/json .policy.watchdog.last_reason is '$reason', expected /$re/"
	ok "/json .policy.watchdog.last_reason = $reason"
	expect_eq "/json .policy.last_exit.pid" "$(gwlbd_json .policy.last_exit.pid)" "$pid"
	expect_eq "/json .policy.last_exit.signal" "$(gwlbd_json .policy.last_exit.signal)" 9
	line=$(grep "policy host (pid $pid) hangs: " "$LAB_DIR/gwlbd.log") ||
		fail "gwlbd logged no 'hangs' line for pid $pid"
	re=${re#^}
	grep -Eq "hangs: ${re%\$} \(stall-timeout = $STALL s\); meanwhile the kernel accepts what a full queue cannot take \(fail = open\).*SIGKILL" <<<"$line" ||
		fail "the watchdog's log line does not say what happened: $line"
	ok "gwlbd says: ${line#*] }"
	expect_eq "GET / while the killed policy host is down" "$(http_code /)" 503
	body=$(lab_health /)
	grep -q "policy host is down" <<<"$body" || fail "the 503 page does not name the policy host: $(head -n 1 <<<"$body")"
	grep -q "^Policy host: down, .* $kills watchdog kills (last: " <<<"$body" ||
		fail "the status page does not count the watchdog kill: $(grep '^Policy' <<<"$body")"
	ok "status page: $(grep '^Policy host' <<<"$body")"
	expect_eq "gwlbd_policy_watchdog_kills_total" \
		"$(lab_health /metrics | awk '$1 == "gwlbd_policy_watchdog_kills_total" { print $2 }')" "$kills"
	still_down "health while down"
	gwlbd_alive
}

# back_up OLD_PID RESTARTS: the supervisor restarted the policy host, which judges again.
back_up()
{
	local pid received
	expect_state running $((DOWN_MS / 1000 + 15))
	pid=$(policy_child)
	[ "$pid" != "$1" ] || fail "the policy host's pid did not change ($1)"
	ok "restarted as pid $pid"
	expect_eq "/json .policy.restarts" "$(gwlbd_json .policy.restarts)" "$2"
	expect_eq "GET / after the restart" "$(http_code /)" 200
	received=$(gwlbd_json '.policy.queues[0].received')
	download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
	ping_ok cli1 "$LAB_SRV4" 3
	expect_gt "packets judged by the restarted policy host" "$(gwlbd_json '.policy.queues[0].received')" "$received"
	gwlbd_alive
}

step "stall-timeout = $STALL: a worker stuck in verdict() gets the policy host killed and restarted"
write_policy "$STALL"
start_gwlbd
expect_state running 5
pid1=$(policy_child)
expect_eq "/json .policy.watchdog.enabled" "$(gwlbd_json .policy.watchdog.enabled)" true
expect_eq "/json .policy.watchdog.stall_timeout_ms" "$(gwlbd_json .policy.watchdog.stall_timeout_ms)" $((STALL * 1000))
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
# Longer than a stall-timeout with traffic and without: a queue that moves or idles is fine.
sleep $((STALL + 2))
expect_eq "watchdog kills of a healthy policy host" "$(gwlbd_json .policy.watchdog.kills)" 0
expect_eq "the policy host's pid" "$(policy_child)" "$pid1"
leftover=$pid1
echo "+ [cli1] one UDP datagram to $LAB_SRV4:$LAB_ECHO_PORT (the hang module's port)"
lab_bg cli1 oneshot "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" hang
shot_pid=$LAB_LAST_PID
wait_for "[ \"\$(gwlbd_json '.policy.queues[0].kernel_waiting')\" -ge 1 ]" "$STALL" ||
	fail "no packet waits in the kernel for the stuck worker: $(gwlbd_json '.policy | {state, queues}' | jq -c .)"
snap=$(lab_health /json)
[ "$(jq -r .policy.state <<<"$snap")" = running ] ||
	fail "the watchdog killed the policy host before the stuck worker was seen: raise STALL ($STALL)"
ok "the worker is stuck: $(jq -r '.policy.queues[0].kernel_waiting' <<<"$snap") packet(s) wait in the kernel, health $(http_code /) until the watchdog acts"
killed_by_watchdog "$pid1" 1 "^queue 0 gave no verdict for [0-9]+ ms with [0-9]+ packets waiting$"
ms=$(gwlbd_json .policy.watchdog.last_reason | sed -E 's/.* for ([0-9]+) ms.*/\1/')
[ "$ms" -ge $((STALL * 1000)) ] || fail "killed after $ms ms without a verdict, before stall-timeout ($STALL s)"
ok "killed after $ms ms without a verdict (stall-timeout $STALL s)"
wait_for "! kill -0 $shot_pid" 10 || fail "the UDP client did not finish"
wait "$shot_pid" 2>/dev/null || true
expect_eq "the datagram the stuck worker held (dropped with the killed policy host)" \
	"$(cat "$LAB_DIR/oneshot.log")" TIMEOUT
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
still_down "a new TCP connection (bypass = yes)"
ok "a new TCP connection works while the killed policy host is down (bypass = yes)"
back_up "$pid1" 1
expect_eq "/json .policy.watchdog.kills after the restart" "$(gwlbd_json .policy.watchdog.kills)" 1

step "a policy host that answers nothing (SIGSTOP) is killed too"
pid2=$(policy_child)
echo "+ kill -STOP $pid2  # the policy host"
leftover=$pid2
kill -STOP "$pid2"
killed_by_watchdog "$pid2" 2 "^it answered nothing for [0-9]+ ms$"
back_up "$pid2" 2
lab_gwlbd_stop
ok "gwlbd stopped"

step "stall-timeout = 0: no watchdog, the stuck worker stays stuck"
write_policy 0
start_gwlbd
expect_state running 5
pid3=$(policy_child)
leftover=$pid3
expect_eq "/json .policy.watchdog.enabled" "$(gwlbd_json .policy.watchdog.enabled)" false
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" hang)
expect_eq "a datagram to the hang module's port" "$out" TIMEOUT
sleep $((STALL + 3))
expect_eq "/json .policy.state with the worker stuck and no watchdog" "$(gwlbd_json .policy.state)" running
expect_eq "the policy host's pid" "$(policy_child)" "$pid3"
expect_gt "packets waiting for the stuck worker" "$(gwlbd_json '.policy.queues[0].kernel_waiting')" 0
expect_eq "/json .policy.watchdog.kills" "$(gwlbd_json .policy.watchdog.kills)" 0
ok "without a watchdog nothing notices: health $(http_code /)"
lab_gwlbd_stop
if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
	fail "table inet gwlbnf left after gwlbd stopped"
fi
ok "gwlbd stopped, no table inet gwlbnf left"

step "gwlbd SIGKILLed while a worker is stuck: the policy host does not linger"
start_gwlbd
expect_state running 5
pid4=$(policy_child)
leftover=$pid4
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" hang)
expect_eq "a datagram to the hang module's port" "$out" TIMEOUT
echo "+ kill -KILL $LAB_GWLBD_PID  # gwlbd; its stuck policy host $pid4 gets its death signal"
kill -KILL "$LAB_GWLBD_PID"
wait "$LAB_GWLBD_PID" 2>/dev/null || true
LAB_GWLBD_PID=
wait_for "! kill -0 $pid4" 12 || fail "policy host $pid4 still runs 12 s after gwlbd was killed"
ok "the stuck policy host exited after gwlbd was killed"
if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
	fail "table inet gwlbnf left behind by the stuck policy host"
fi
ok "no table inet gwlbnf left"
leftover=

echo
echo "PASS: $TEST_NAME"
