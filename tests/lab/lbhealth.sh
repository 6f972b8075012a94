#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The balancer's health checks (gwlbnf-services.conf(5) check keys, gwlbd's checker) with
# real HTTP backends be1..be3 (tier 0) and bk1 (tier 1) behind app, as lb.sh; cli1's
# requests arrive through gwlbsim + gwlbd in route mode. Each backend's server is ours,
# started and SIGKILLed by its PID; GET /name answers its name, GET /health a set status.
#   web (check = http, /health, 200), tcp (check = tcp; be3 check=none), st (check-status):
#   all up and serving; be1 killed -> out of both maps within interval x fall + interval +
#   timeout (measured), in /json, gwlbctl, /metrics and one log line; 30 requests after
#   that all answered by the others; be1 restarted -> back within interval x rise +
#   interval + timeout (measured from its listen) and taking new connections; be1..be3
#   killed -> bk1 serves, be2 back -> tier 0 again; st: 500 on /health is down, 200 up; a
#   reload that changes st's check-status re-creates its checks and not web's; SIGTERM
#   leaves no table.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"

lab_test_lab 1

VIP_WEB=198.19.99.20
VIP_TCP=198.19.99.21
VIP_ST=198.19.99.22
BE_PORT=8000
ST_PORT=8001
BACKENDS="be1 be2 be3 bk1"
INTERVAL=500	# ms
TIMEOUT=400	# ms
RISE=2
FALL=2
# Down: the first check after the kill is at most an interval away, FALL failures take
# it out. Up: RISE successes from the listen. Slack: one interval and one timeout (a check
# under way when the state changed), which also covers the nft transaction.
DOWN_MS=$((INTERVAL * FALL + INTERVAL + TIMEOUT))
UP_MS=$((INTERVAL * RISE + INTERVAL + TIMEOUT))

lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- nft list table inet gwlbnf-lb:"
	lab_exec app nft list table inet gwlbnf-lb 2>&1 | head -n 80
	echo "--- gwlbctl services:"
	lab_gwlbctl services 2>&1
}

# srv.py NAME PORT [HEALTH_STATUS]: GET /name -> NAME, GET /health -> HEALTH_STATUS (200).
cat >"$LAB_DIR/srv.py" <<'PY'
import http.server, sys, time
name, port = sys.argv[1], int(sys.argv[2])
health = int(sys.argv[3]) if len(sys.argv) > 3 else 200
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/name":
            code, body = 200, name + "\n"
        elif self.path == "/health":
            code, body = health, "%s %d\n" % (name, health)
        else:
            code, body = 404, "not found\n"
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
s = S(("0.0.0.0", port), H)
# CLOCK_REALTIME in ns, date +%s%N's: from when a check can succeed.
print("listening %d" % time.time_ns(), flush=True)
s.serve_forever()
PY

declare -A SRV_PID SRV_N
# srv_start BACKEND [PORT [STATUS]]: start BACKEND's server, wait for its listen; its
# listen time (ns) in LISTEN_NS.
srv_start()
{
	local b=$1 port=${2:-$BE_PORT} status=${3:-200} log
	SRV_N[$b-$port]=$(( ${SRV_N[$b-$port]:-0} + 1 ))
	log=http-$b-$port-${SRV_N[$b-$port]}
	lab_bg "$b" "$log" "$PYTHON" "$LAB_DIR/srv.py" "$b" "$port" "$status"
	SRV_PID[$b-$port]=$LAB_LAST_PID
	wait_for "grep -q '^listening' '$LAB_DIR/$log.log'" 10 || fail "the server in $b does not listen on $port"
	LISTEN_NS=$(awk '/^listening/ { print $2; exit }' "$LAB_DIR/$log.log")
}
# srv_kill BACKEND: SIGKILL its server on BE_PORT, by the PID we started; the time in KILL_NS.
srv_kill()
{
	local pid=${SRV_PID[$1-$BE_PORT]}
	echo "+ kill -KILL $pid   # $1's server"
	KILL_NS=$(date +%s%N)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# in_map SERVICE ADDR: ADDR is in SERVICE's scheduler map.
in_map() { lab_exec app nft list map inet gwlbnf-lb "$1_sched" | grep -q "$2 \\. "; }

# within T0_NS MAX_MS 'CONDITION': poll until CONDITION holds; ELAPSED_MS since T0_NS.
# Fails when it does not hold MAX_MS after T0_NS.
within()
{
	local t0=$1 max=$2 cond=$3 now
	while :; do
		if eval "$cond" >/dev/null 2>&1; then
			now=$(date +%s%N)
			ELAPSED_MS=$(( (now - t0) / 1000000 ))
			return 0
		fi
		now=$(date +%s%N)
		[ $(( (now - t0) / 1000000 )) -le "$max" ] || return 1
		sleep 0.05
	done
}

# requests N VIP: N new connections from cli1, every one answered; the names on stdout.
requests()
{
	local n=$1 vip=$2 i out
	for i in $(seq 1 "$n"); do
		out=$(lb_get "$vip") || { echo "request $i of $n to $vip failed" >&2; return 1; }
		echo "$out"
	done
}

step "four backends in their own namespaces, our HTTP servers on $BE_PORT, two on $ST_PORT"
k=0
for b in $BACKENDS; do
	k=$((k + 1))
	lb_backend_ns "$b" "$k"
	srv_start "$b"
done
srv_start be1 $ST_PORT 200
srv_start be2 $ST_PORT 500
lab_sysctl app net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
ok "servers up: ${SRV_PID[*]}"

# every service's check timing
TIMING="check-interval = ${INTERVAL}ms
check-timeout = ${TIMEOUT}ms
rise = $RISE
fall = $FALL"
cat >"$LAB_DIR/services.conf" <<EOF
# lbhealth.sh
[service web]
vip = $VIP_WEB
port = 80
scheduler = nth
check = http
check-path = /health
$TIMING
backend = be1 198.19.201.2:$BE_PORT
backend = be2 198.19.202.2:$BE_PORT
backend = be3 198.19.203.2:$BE_PORT
backend = bk1 198.19.204.2:$BE_PORT tier=1

[service tcp]
vip = $VIP_TCP
port = 80
scheduler = nth
backend = be1 198.19.201.2:$BE_PORT
backend = be2 198.19.202.2:$BE_PORT
backend = be3 198.19.203.2:$BE_PORT check=none
check = tcp
$TIMING

[service st]
vip = $VIP_ST
port = 80
scheduler = nth
check = http
check-path = /health
check-status = 200
$TIMING
backend = ok 198.19.201.2:$ST_PORT
backend = bad 198.19.202.2:$ST_PORT
EOF

step "gwlbd --mode route --services services.conf"
T_START=$(date +%s%N)
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route --services "$LAB_DIR/services.conf" ||
	fail "could not start gwlbd"
be_j() { gwlbd_json ".services.services[] | select(.name == \"$1\") | .backends[] | select(.name == \"$2\") | $3"; }

step "check-status = 200: st/bad answering 500 goes down, st/ok answering 200 stays up"
# a check starts up (hcstate.h): bad goes down after FALL failures
within "$T_START" $((DOWN_MS + 2000)) "! in_map st 198.19.202.2" ||
	fail "st/bad (HTTP 500 on /health) still in st_sched $((DOWN_MS + 2000)) ms after the start"
expect_eq "st/bad health" "$(be_j st bad .health)" down
expect_eq "st/bad check.last_error" "$(be_j st bad .check.last_error)" "HTTP status 500, expected 200"
expect_eq "st/ok health" "$(be_j st ok .health)" up
expect_eq "st/ok check.state" "$(be_j st ok .check.state)" up
expect_eq "st answers" "$(requests 4 $VIP_ST | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" "be1=4 "
grep -q "service st backend bad down: HTTP status 500, expected 200, $FALL in a row" "$LAB_DIR/gwlbd.log" ||
	fail "no log line for st/bad going down"
ok "st/bad down by its status, st/ok serves"

step "all of web's and tcp's backends up, checked and serving"
for b in be1 be2 be3 bk1; do
	expect_eq "web/$b health, check" "$(be_j web $b '.health + " " + .check.type + " " + .check.state')" "up http up"
done
expect_eq "tcp/be1 check" "$(be_j tcp be1 '.check.type + " " + .check.state')" "tcp up"
expect_eq "tcp/be3 check (check=none on its line)" "$(be_j tcp be3 .check.type)" none
wait_for "[ \"\$(be_j web be1 .check.checks)\" -ge 2 ]" 3 || fail "web/be1: fewer than 2 checks in 3 s"
rtt=$(be_j web be1 .check.last_rtt_us)
[ "$rtt" -ge 0 ] || fail "web/be1 last_rtt_us $rtt after successful checks"
ok "web/be1 checks $(be_j web be1 .check.checks), last rtt $rtt us"
expect_eq "web answers" "$(requests 6 $VIP_WEB | tr '\n' ' ')" "be1 be2 be3 be1 be2 be3 "

step "SIGKILL be1's server: out of web_sched and tcp_sched within $DOWN_MS ms"
srv_kill be1
within "$KILL_NS" "$DOWN_MS" "! in_map web 198.19.201.2" ||
	fail "be1 still in web_sched $DOWN_MS ms after its server was killed"
DOWN_WEB=$ELAPSED_MS
within "$KILL_NS" "$DOWN_MS" "! in_map tcp 198.19.201.2" ||
	fail "be1 still in tcp_sched $DOWN_MS ms after its server was killed"
DOWN_TCP=$ELAPSED_MS
ok "TAKE-OUT: web/be1 out of the map after $DOWN_WEB ms, tcp/be1 after $DOWN_TCP ms (bound $DOWN_MS ms = ${INTERVAL} x $FALL + $INTERVAL + $TIMEOUT)"
echo "+ nft list map inet gwlbnf-lb web_sched"
lab_exec app nft list map inet gwlbnf-lb web_sched | sed 's/^/  | /'
in_map web 198.19.202.2 && in_map web 198.19.203.2 || fail "be2 and be3 not in web_sched"
expect_eq "web/be1 health" "$(be_j web be1 .health)" down
expect_eq "web/be1 check" "$(be_j web be1 '.check.state + ": " + .check.last_error')" "down: connection refused"
expect_eq "tcp/be1 check" "$(be_j tcp be1 '.check.state + ": " + .check.last_error')" "down: connection refused"
expect_eq "web/be1 in_map" "$(be_j web be1 .in_map)" false
grep -q "service web backend be1 down: connection refused, $FALL in a row" "$LAB_DIR/gwlbd.log" ||
	fail "no log line 'service web backend be1 down: connection refused, $FALL in a row'"
grep "service web backend be1 down" "$LAB_DIR/gwlbd.log" | sed 's/^/  | /'
lab_health /metrics >"$LAB_DIR/metrics"
grep -q '^gwlbd_backend_healthy{service="web",backend="be1"} 0$' "$LAB_DIR/metrics" ||
	fail "/metrics: no gwlbd_backend_healthy{service=\"web\",backend=\"be1\"} 0"
grep -q '^gwlbd_backend_healthy{service="web",backend="be2"} 1$' "$LAB_DIR/metrics" ||
	fail "/metrics: no gwlbd_backend_healthy{service=\"web\",backend=\"be2\"} 1"
fails=$(sed -n 's/^gwlbd_backend_check_failures_total{service="web",backend="be1"} //p' "$LAB_DIR/metrics")
expect_gt "/metrics gwlbd_backend_check_failures_total web/be1" "$fails" $((FALL - 1))
lab_gwlbctl services | tee "$LAB_DIR/services.txt" | sed 's/^/  | /'
grep -E '^web +be1 .* down \(http: connection refused\)' "$LAB_DIR/services.txt" >/dev/null ||
	fail "gwlbctl services does not show web/be1 'down (http: connection refused)'"

step "30 requests after the take-out: every one answered, none by be1"
be1_new=$(lb_be_new web be1)
requests 30 $VIP_WEB >"$LAB_DIR/after-kill.txt" || fail "a request failed after be1 was taken out"
expect_eq "answers" "$(wc -l <"$LAB_DIR/after-kill.txt")" 30
expect_eq "answered by be1" "$(grep -c '^be1$' "$LAB_DIR/after-kill.txt" || true)" 0
expect_eq "be2 and be3 alike (nth)" "$(sort "$LAB_DIR/after-kill.txt" | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" "be2=15 be3=15 "
expect_eq "web/be1 new connections" "$(lb_be_new web be1)" "$be1_new"

step "restart be1's server: back within $UP_MS ms of its listen, taking new connections"
srv_start be1
within "$LISTEN_NS" "$UP_MS" "in_map web 198.19.201.2" ||
	fail "be1 not back in web_sched $UP_MS ms after its server listened"
UP_WEB=$ELAPSED_MS
within "$LISTEN_NS" "$UP_MS" "in_map tcp 198.19.201.2" ||
	fail "be1 not back in tcp_sched $UP_MS ms after its server listened"
ok "TAKE-BACK: web/be1 in the map again after $UP_WEB ms, tcp/be1 after $ELAPSED_MS ms (bound $UP_MS ms = $INTERVAL x $RISE + $INTERVAL + $TIMEOUT)"
expect_eq "web/be1 health" "$(be_j web be1 .health)" up
grep -q "service web backend be1 up: HTTP status 200, $RISE in a row" "$LAB_DIR/gwlbd.log" ||
	fail "no log line 'service web backend be1 up: HTTP status 200, $RISE in a row'"
requests 6 $VIP_WEB >"$LAB_DIR/after-up.txt" || fail "a request failed after be1 came back"
expect_eq "be1's share of 6 (nth over 3)" "$(grep -c '^be1$' "$LAB_DIR/after-up.txt" || true)" 2

step "tiers: be1..be3 killed -> bk1 (tier 1) serves; be2 restarted -> tier 0 again"
srv_kill be1
t0=$KILL_NS
srv_kill be2
srv_kill be3
within "$t0" $((DOWN_MS + 500)) "[ \"\$(be_j web bk1 .in_map)\" = true ] && ! in_map web 198.19.201.2 && ! in_map web 198.19.202.2 && ! in_map web 198.19.203.2" ||
	fail "bk1 did not take over within $((DOWN_MS + 500)) ms of the kills"
ok "bk1 serves after $ELAPSED_MS ms"
expect_eq "web serving tier" "$(gwlbd_json '.services.services[] | select(.name == "web") | .tier')" 1
expect_eq "backup answers" "$(requests 4 $VIP_WEB | sort -u)" bk1
# tcp/be3 has check=none: healthy whatever its server does
expect_eq "tcp/be3 health (no check)" "$(be_j tcp be3 .health)" up
srv_start be2
within "$LISTEN_NS" "$UP_MS" "in_map web 198.19.202.2 && ! in_map web 198.19.204.2" ||
	fail "tier 0 not back within $UP_MS ms of be2's listen"
ok "be2 back, bk1 out of the map after $ELAPSED_MS ms"
expect_eq "tier 0 answers" "$(requests 4 $VIP_WEB | sort -u)" be2
srv_start be1
srv_start be3
within "$LISTEN_NS" "$UP_MS" "in_map web 198.19.201.2 && in_map web 198.19.203.2" ||
	fail "be1 and be3 not back within $UP_MS ms"

step "reload: st's check-status 500 re-creates st's checks, web's stay"
web_checks=$(be_j web be2 .check.checks)
sed -i 's/^check-status = 200$/check-status = 500/' "$LAB_DIR/services.conf"
lab_gwlbctl reload | sed 's/^/  | /'
# bad starts down (the map's health) and needs RISE; ok starts up and needs FALL
within "$(date +%s%N)" "$((DOWN_MS + UP_MS))" "in_map st 198.19.202.2 && ! in_map st 198.19.201.2" ||
	fail "after the reload st_sched does not hold bad alone"
ok "st_sched holds bad alone $ELAPSED_MS ms after the reload"
expect_eq "st/ok check.last_error" "$(be_j st ok .check.last_error)" "HTTP status 200, expected 500"
c=$(be_j web be2 .check.checks)
[ "$c" -ge "$web_checks" ] || fail "web/be2's check was re-created by a reload that did not change web ($c < $web_checks checks)"
ok "web/be2's check kept counting: $web_checks -> $c checks"

step "SIGTERM: the checker stops, table inet gwlbnf-lb goes"
lab_gwlbd_stop
lab_exec app nft list tables | grep -q gwlbnf && fail "nft tables left: $(lab_exec app nft list tables)"
grep -q "stopped" "$LAB_DIR/gwlbd.log" || fail "gwlbd did not log 'stopped'"
ok "no gwlbnf table left"

echo
echo "PASS: $TEST_NAME"
