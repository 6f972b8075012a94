#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The health/metrics server: text, JSON (-j) and status-only (-s) pages; /json, /metrics
# (every line valid Prometheus text format, per-ENI counters), 404, 405 (the request is read,
# unlike gwlbtun's), HEAD; and 503 with a reason when a UDP worker has died.
set -eu
. "$(dirname "$0")/lib.sh"

restart_gwlbd()
{
	lab_gwlbd_stop
	lab_gwlbd_start -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" "$@" || fail "could not start gwlbd $*"
}

lab_test_start 1

step "text page"
expect_eq "GET / status" "$(http_code /)" 200
body=$(lab_health /)
echo "$body"
grep -q "healthy" <<<"$body" || fail "text page does not say healthy"
grep -qv '^[[:space:]]*[{[]' <<<"$(head -n 1 <<<"$body")" || fail "text page looks like JSON"
ok "text page says healthy"
expect_eq "HEAD / status" "$(http_code / -I)" 200
expect_eq "GET /nope status" "$(http_code /nope)" 404
expect_eq "POST / status (the request line is read)" "$(http_code / -X POST -d x=1)" 405
expect_eq "DELETE /json status" "$(http_code /json -X DELETE)" 405

step "traffic, then /json and /metrics"
ping_ok cli1 "$LAB_SRV4" 3
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" "health"
expect_eq "GET /json status" "$(http_code /json)" 200
echo "+ [app] curl -s 127.0.0.1:$LAB_HEALTH_PORT/json | jq -e '.healthy == true and (.enis|length) == 1'"
lab_health /json | jq -e '.healthy == true and (.enis | length) == 1' >/dev/null ||
	fail "/json is not healthy with one ENI: $(lab_health /json | jq -c '{healthy, reason, enis: [.enis[].gwi]}')"
ok "/json healthy with one ENI"
for key in version uptime_s receive_only udp.port udp.workers tun.workers drops flowtab.capacity \
	flowtab.timeouts.tcp hold.overflow; do
	lab_health /json | jq -e ".$key != null" >/dev/null || fail "/json lacks .$key"
done
ok "/json has the documented top-level keys"
for reason in origin geneve_short geneve_version geneve_oam geneve_proto geneve_optarea geneve_optlen \
	geneve_no_eni geneve_no_attach geneve_no_cookie geneve_no_inner inner_malformed hdr_too_long \
	hold_overflow max_eni tun_write no_flow frag_no_first too_big send_error eni_gone; do
	lab_health /json | jq -e ".drops.$reason | type == \"number\"" >/dev/null ||
		fail "/json .drops.$reason missing"
done
ok "/json lists every drop reason"

expect_eq "GET /metrics status" "$(http_code /metrics)" 200
lab_health /metrics >"$LAB_DIR/metrics.txt"
echo "/metrics: $(wc -l <"$LAB_DIR/metrics.txt") lines"
"$PYTHON" - "$LAB_DIR/metrics.txt" <<'EOF' || fail "/metrics is not valid Prometheus text format (see above)"
# Prometheus text exposition format 0.0.4, checked line by line.
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
value = r'(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)'
sample = re.compile(r'^(%s)(?:\{(?:%s(?:,%s)*,?)?\})? %s(?: -?[0-9]+)?$' % (name, label, label, value))
help_ = re.compile(r'^# HELP (%s) .*$' % name)
type_ = re.compile(r'^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$' % name)
bad = 0
typed = {}
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if line == "":
        continue
    if line.startswith("#"):
        m = type_.match(line)
        if m:
            typed[m.group(1)] = m.group(2)
        elif not help_.match(line):
            print("line %d: bad comment: %r" % (n, line)); bad += 1
        continue
    m = sample.match(line)
    if not m:
        print("line %d: not a sample: %r" % (n, line)); bad += 1
    elif m.group(1) not in typed:
        print("line %d: %s has no # TYPE before it" % (n, m.group(1))); bad += 1
sys.exit(1 if bad else 0)
EOF
ok "every /metrics line is valid exposition format"
for m in gwlbd_healthy gwlbd_uptime_seconds gwlbd_udp_worker_rx_packets_total gwlbd_udp_worker_rx_bytes_total \
	gwlbd_udp_worker_alive gwlbd_tun_worker_tx_packets_total gwlbd_tun_worker_alive \
	gwlbd_udp_rcvbuf_errors_total gwlbd_udp_in_errors_total gwlbd_drops_total gwlbd_flowtab_entries \
	gwlbd_flowtab_capacity gwlbd_flowtab_evictions_total gwlbd_flowtab_expired_total gwlbd_flowtab_bytes \
	gwlbd_hold_packets gwlbd_hold_overflow_total gwlbd_enis gwlbd_eni_rx_packets_total \
	gwlbd_eni_rx_bytes_total gwlbd_eni_tx_packets_total gwlbd_eni_tx_bytes_total gwlbd_eni_drops_total \
	gwlbd_eni_flows gwlbd_eni_flow_evictions_total; do
	grep -q "^# HELP $m " "$LAB_DIR/metrics.txt" || fail "/metrics lacks '# HELP $m'"
	grep -q "^# TYPE $m " "$LAB_DIR/metrics.txt" || fail "/metrics lacks '# TYPE $m'"
done
ok "/metrics has HELP and TYPE for every documented metric"
expect_eq "gwlbd_healthy" "$(awk '$1 == "gwlbd_healthy" { print $2 }' "$LAB_DIR/metrics.txt")" 1
line=$(grep "^gwlbd_eni_rx_packets_total{.*gwi=\"$ENI1_GWI\"" "$LAB_DIR/metrics.txt" || true)
[ -n "$line" ] || fail "/metrics has no gwlbd_eni_rx_packets_total for $ENI1_GWI"
echo "$line"
grep -q "eni=\"eni-$LAB_ENI1\"\|eni=\"$LAB_ENI1\"" <<<"$line" || fail "ENI label missing in: $line"
expect_gt "gwlbd_eni_rx_packets_total for $ENI1_GWI" "$(awk '{ print $2 }' <<<"$line")" 0
line=$(grep "^gwlbd_eni_tx_packets_total{.*gwi=\"$ENI1_GWI\"" "$LAB_DIR/metrics.txt" || true)
expect_gt "gwlbd_eni_tx_packets_total for $ENI1_GWI" "$(awk '{ print $2 }' <<<"$line")" 0
expect_eq "gwlbd_enis" "$(awk '$1 == "gwlbd_enis" { print $2 }' "$LAB_DIR/metrics.txt")" 1

step "-j: the page is JSON"
restart_gwlbd -j
ping_ok cli1 "$LAB_SRV4" 2
echo "+ [app] curl -s 127.0.0.1:$LAB_HEALTH_PORT/ | jq -e '.healthy == true and (.enis|length) == 1'"
lab_health / | jq -e '.healthy == true and (.enis | length) == 1' >/dev/null ||
	fail "-j page is not healthy JSON with one ENI: $(lab_health / | head -c 300)"
ok "-j page: healthy JSON with one ENI"
expect_eq "-j GET / status" "$(http_code /)" 200

step "-s: status only"
restart_gwlbd -s
expect_eq "-s GET / status" "$(http_code /)" 200
body=$(lab_health /)
echo "body: '$body'"
[ "$(wc -l <<<"$body")" -le 1 ] && [ "${#body}" -lt 64 ] || fail "-s body is not short: '$body'"
ok "-s body is short (${#body} bytes)"
lab_health /json | jq -e '.healthy == true' >/dev/null || fail "/json under -s is not JSON"
ok "/json is still JSON under -s"

step "503 when a UDP worker has died (GWLBD_FAULT_INJECT=udp-worker-exit:0)"
lab_gwlbd_stop
GWLBD_FAULT_INJECT=udp-worker-exit:0 lab_gwlbd_start -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" \
	--udpthreads 2 || fail "could not start gwlbd with the fault injected"
wait_for "[ \"\$(http_code /)\" = 503 ]" 10 || fail "GET / status is $(http_code /), expected 503 with a dead UDP worker"
ok "GET / status 503"
body=$(lab_health /)
echo "$body"
grep -qi "worker" <<<"$body" || fail "503 page does not mention the worker: $body"
ok "503 page names the worker"
expect_eq "GET /json status" "$(http_code /json)" 503
reason=$(gwlbd_json .reason)
echo "reason: $reason"
grep -qi "worker" <<<"$reason" || fail "/json .reason does not mention the worker: '$reason'"
expect_eq "/json .healthy" "$(gwlbd_json .healthy)" false
expect_eq "/json udp worker 0 alive" "$(gwlbd_json '.udp.workers[] | select(.id == 0) | .alive')" false
expect_eq "GET /metrics status while unhealthy" "$(http_code /metrics)" 200
expect_eq "gwlbd_healthy while unhealthy" "$(lab_health /metrics | awk '$1 == "gwlbd_healthy" { print $2 }')" 0

echo
echo "PASS: $TEST_NAME"
