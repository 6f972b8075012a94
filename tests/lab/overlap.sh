#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Overlapping client addresses behind two ENIs in nat mode. cli1 (behind GWLB gwlb, ENI1) and
# twin (behind a second GWLB stand-in, gwlb2, ENI2) both are 198.19.1.2 / fd00:19:1::2: two
# gwlbsim instances, each in its own namespace with its own GWLB address, because gwlbsim
# picks the ENI by client address. At the same time both send UDP from the same source port
# to the same server port, and download over TCP from the same local port, so their inner
# 5-tuples are identical. Each must get only its own bytes back (a per-client token in every
# UDP reply, the download's sha256), conntrack -L in app must show two entries with the same
# original tuple in the two ENIs' zones with their marks, reply tuples told apart by
# masquerade's port, and neither gwlbsim may see a mismatch or an unknown flow.
#
# What breaks without zones (zone_pre's `ct original zone set`): the second ENI's first packet
# finds the first ENI's conntrack entry (same tuple, same zone 0) and joins that connection.
# mark_pre then rewrites the shared entry's ct mark to the second ENI's index, so the
# replies of both flows follow whichever ENI wrote last: UDP replies of one client arrive at
# the other (a foreign token, and a GENEVE header the other gwlbsim holds for a different
# cookie), and the second TCP SYN lands on an established connection and the download fails.
# Seen with zone_pre flushed by hand: one conntrack entry per tuple instead of two, cli1 got
# twin's UDP tokens, and one download's connection was in TIME_WAIT while the other ran.
#
# --uplink up0: masquerade only out of up0. A second way out, veth up1, carries a flow
# of a nat ENI with its client address kept (conntrack reply tuple), while up0's flows are
# NATed; the nat chains say `oifname "up0"`.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v sha256sum >/dev/null || skip "sha256sum not installed"

UDP_SPORT=40000
TCP_SPORT=40001
UDP6_SPORT=40002
CLI_ADDR=198.19.1.2
CLI_ADDR6=fd00:19:1::2
UP0_ADDR=198.19.250.1		# lab_uplink's
UP0_ADDR6=fd00:19:250::1

lab_test_lab 1

lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- gwlbd ENIs: $(gwlbd_json '.enis[] | "\(.gwi) \(.index) \(.mode) \(.drops)"' 2>/dev/null)"
	echo "--- conntrack in app:"
	lab_exec app conntrack -L 2>/dev/null | head -n 20
	[ -s "$LAB_DIR/sim2.log" ] && { echo "--- last lines of sim2.log:"; tail -n 15 "$LAB_DIR/sim2.log"; }
	[ -s "$LAB_DIR/sim2.json" ] && echo "--- gwlbsim sim2 stats: $(cat "$LAB_DIR/sim2.json")"
	return 0
}

gwi_of() { echo "gwi-$(lab_eni_b60 "$1")"; }
index_of() { gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "$1")\") | .index"; }

# ct_flows PROTO SPORT DPORT: app's conntrack entries of that flow, one per line as
# "ORIG_SRC:SPORT>ORIG_DST:DPORT REPLY_SRC:SPORT>REPLY_DST:DPORT zone=Z mark=M" (M the
# mark's low 16 bits, the ENI index), sorted.
ct_flows()
{
	lab_exec app conntrack -L -p "$1" --orig-port-src "$2" --orig-port-dst "$3" 2>/dev/null |
		awk '{
			n = 0; zone = 0; mark = 0
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == "src") s[++n] = kv[2]
				else if (kv[1] == "dst") d[n] = kv[2]
				else if (kv[1] == "sport") sp[n] = kv[2]
				else if (kv[1] == "dport") dp[n] = kv[2]
				else if (kv[1] == "zone-orig" || kv[1] == "zone") zone = kv[2]
				else if (kv[1] == "mark") mark = kv[2] % 65536
			}
			printf "%s:%s>%s:%s %s:%s>%s:%s zone=%s mark=%s\n", s[1], sp[1], d[1], dp[1],
				s[2], sp[2], d[2], dp[2], zone, mark
		}' | sort
}

# expect_twins WHAT PROTO SPORT DPORT ORIG: exactly two entries, both with original tuple
# ORIG, one in each ENI's zone with its mark, their reply tuples different and NATed to up0.
expect_twins()
{
	local what=$1 lines want_nat=$UP0_ADDR
	lines=$(ct_flows "$2" "$3" "$4")
	echo "$lines" | sed 's/^/  | /'
	[ "$(grep -c . <<<"$lines")" = 2 ] || fail "$what: expected 2 conntrack entries, got: $lines"
	[ "$(cut -d' ' -f1 <<<"$lines" | sort -u)" = "$5" ] ||
		fail "$what: both entries must have the original tuple $5"
	expect_eq "$what: zones and marks" "$(cut -d' ' -f3,4 <<<"$lines" | sort | tr '\n' ' ')" \
		"$(printf 'zone=%s mark=%s\n' "$I1" "$I1" "$I2" "$I2" | sort | tr '\n' ' ')"
	[ "$(cut -d' ' -f2 <<<"$lines" | sort -u | grep -c .)" = 2 ] ||
		fail "$what: the two entries share a reply tuple"
	[[ $5 == *::* ]] && want_nat=$UP0_ADDR6
	cut -d' ' -f2 <<<"$lines" | grep -qv ">$want_nat:" &&
		fail "$what: a reply tuple not to up0's $want_nat (not masqueraded)"
	ok "$what: two entries, same original tuple, zones $I1/$I2, marks $I1/$I2, distinct NATed replies"
}

# The clients below live until the test has looked at conntrack: they stop once $STOP exists
# (or after MAX_S, far longer than the listing takes even on a loaded machine), so no fixed
# run time races the listing.
STOP=$LAB_DIR/stop
MAX_S=60

# tokenudp.py HOST PORT SPORT TOKEN STOPFILE MAXSECS: from UDP source port SPORT, "TOKEN n"
# every 50 ms until STOPFILE exists (at most MAXSECS); every reply must be one of ours. Exit 0
# when all came back and none was foreign.
cat >"$LAB_DIR/tokenudp.py" <<'EOF'
import os, socket, sys, time
host, port, sport, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
stop, secs = sys.argv[5], float(sys.argv[6])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
s.connect((host, port))
sent, got, foreign = 0, set(), []
def drain(until):
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        s.settimeout(left)
        try:
            data = s.recv(65535).decode(errors="replace")
        except socket.timeout:
            return
        except ConnectionRefusedError:
            foreign.append("ECONNREFUSED")
            continue
        t, _, n = data.partition(" ")
        if t == token:
            got.add(n)
        else:
            foreign.append(data)
end = time.monotonic() + secs
while time.monotonic() < end and not os.path.exists(stop):
    s.send(f"{token} {sent}".encode())
    sent += 1
    drain(time.monotonic() + 0.05)
drain(time.monotonic() + 1.0)
print(f"{token}: sent {sent} replies {len(got)} foreign {len(foreign)} {foreign[:3]}")
sys.exit(0 if len(got) == sent and not foreign else 1)
EOF

# slowget.py HOST PORT PATH SPORT OUT STOPFILE MAXSECS: HTTP GET from TCP source port SPORT
# into OUT. Until STOPFILE exists (at most MAXSECS) it reads 4 KB every 50 ms through a
# small receive buffer, so the server waits on the window and the connection stays open;
# then the rest at full speed. Prints the body's length.
cat >"$LAB_DIR/slowget.py" <<'EOF'
import os, socket, sys, time
host, port, path, sport, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
end = time.monotonic() + float(sys.argv[7])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
s.settimeout(30)
s.connect((host, port))
s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
buf = bytearray()
while True:
    slow = time.monotonic() < end and not os.path.exists(stop)
    data = s.recv(4096 if slow else 1 << 20)
    if not data:
        break
    buf += data
    if slow:
        time.sleep(0.05)
head, _, body = bytes(buf).partition(b"\r\n\r\n")
if not head.split(b"\r\n")[0].endswith(b" 200 OK"):
    print("bad response:", head[:80])
    sys.exit(1)
with open(out, "wb") as f:
    f.write(body)
print(len(body))
EOF

step "a second GWLB (gwlb2, 198.18.1.1) with a client 'twin' that has cli1's addresses"
lab_add_ns gwlb2
lab_add_ns twin
lab_sysctl gwlb2 net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1
lab_veth gwlb2 v-app app eth1 9001
lab_ip gwlb2 addr add 198.18.1.1/24 dev v-app
lab_ip app addr add 198.18.1.2/24 dev eth1
lab_veth gwlb2 v-twin twin eth0
lab_ip gwlb2 addr add 198.19.1.1/24 dev v-twin
lab_ip gwlb2 -6 addr add fd00:19:1::1/64 dev v-twin nodad
lab_ip twin addr add "$CLI_ADDR/24" dev eth0
lab_ip twin -6 addr add "$CLI_ADDR6/64" dev eth0 nodad
lab_ip twin route add default via 198.19.1.1
lab_ip twin -6 route add default via fd00:19:1::1
lab_sysctl gwlb2 net.ipv4.conf.v-twin.rp_filter=0
lab_sim_run gwlb2 sim2 198.18.1.1 198.18.1.2 v-twin \
	--eni "198.19.1.0/24=$LAB_ENI2" --eni "fd00:19:1::/48=$LAB_ENI2" || fail "could not start gwlbsim sim2"
ok "cli1 and twin: both $CLI_ADDR and $CLI_ADDR6, ENI $LAB_ENI1 and ENI $LAB_ENI2"

step "uplinks: up0 to srv (masqueraded), up1 to srv (not an uplink: no masquerade)"
lab_uplink
# srv does not forward: what app routes to 198.19.101.0/24 over up1 ends there, unanswered
lab_veth app up1 srv up1
lab_ip app addr add 198.19.251.1/24 dev up1
lab_ip srv addr add 198.19.251.2/24 dev up1
lab_ip app route add 198.19.101.0/24 via 198.19.251.2
lab_sysctl app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ok "up0: app $UP0_ADDR, srv 198.19.250.2; up1: app 198.19.251.1, 198.19.101.0/24 routed to it"

lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode nat --uplink up0 || fail "could not start gwlbd"

step "both ENIs come up, each with its own index, zone and mark"
ping_ok cli1 "$LAB_SRV4" 2
ping_ok twin "$LAB_SRV4" 2
ping_ok cli1 "$LAB_SRV6" 2
ping_ok twin "$LAB_SRV6" 2
I1=$(index_of "$LAB_ENI1")
I2=$(index_of "$LAB_ENI2")
[[ $I1 =~ ^[0-9]+$ && $I2 =~ ^[0-9]+$ && $I1 != "$I2" ]] ||
	fail "ENI indexes '$I1' and '$I2': expected two different numbers"
for e in "$LAB_ENI1:$I1" "$LAB_ENI2:$I2"; do
	expect_eq "/json $(gwi_of "${e%:*}") mode, zone, mark" \
		"$(gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "${e%:*}")\") | \"\(.mode) \(.zone) \(.mark)\"")" \
		"nat ${e#*:} ${e#*:}"
done

step "same 5-tuples at once: UDP from :$UDP_SPORT and :$UDP6_SPORT, TCP from :$TCP_SPORT, both clients"
pids=()
for c in cli1 twin; do
	lab_bg "$c" "udp-$c" "$PYTHON" "$LAB_DIR/tokenudp.py" "$LAB_SRV4" "$LAB_ECHO_PORT" \
		"$UDP_SPORT" "tok-$c" "$STOP" "$MAX_S"
	pids+=("$LAB_LAST_PID")
	lab_bg "$c" "udp6-$c" "$PYTHON" "$LAB_DIR/tokenudp.py" "$LAB_SRV6" "$LAB_ECHO_PORT" \
		"$UDP6_SPORT" "tok6-$c" "$STOP" "$MAX_S"
	pids+=("$LAB_LAST_PID")
	lab_bg "$c" "get-$c" "$PYTHON" "$LAB_DIR/slowget.py" "$LAB_SRV4" "$LAB_HTTP_PORT" /blob \
		"$TCP_SPORT" "$LAB_DIR/dl.$c" "$STOP" "$MAX_S"
	pids+=("$LAB_LAST_PID")
done
# while all of them live
wait_for "[ \"\$(ct_flows tcp $TCP_SPORT $LAB_HTTP_PORT | grep -c .)\" = 2 ] &&
	[ \"\$(ct_flows udp $UDP_SPORT $LAB_ECHO_PORT | grep -c .)\" = 2 ] &&
	[ \"\$(ct_flows udp $UDP6_SPORT $LAB_ECHO_PORT | grep -c .)\" = 2 ]" 20 ||
	fail "not two conntrack entries of each flow within 20 s: $(lab_exec app conntrack -L 2>/dev/null)"
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null || fail "a client ended before the conntrack listing: $(cat "$LAB_DIR"/udp*-*.log "$LAB_DIR"/get-*.log)"
done
expect_twins "UDP" udp "$UDP_SPORT" "$LAB_ECHO_PORT" \
	"$CLI_ADDR:$UDP_SPORT>$LAB_SRV4:$LAB_ECHO_PORT"
expect_twins "UDP over IPv6" udp "$UDP6_SPORT" "$LAB_ECHO_PORT" \
	"$CLI_ADDR6:$UDP6_SPORT>$LAB_SRV6:$LAB_ECHO_PORT"
expect_twins "TCP" tcp "$TCP_SPORT" "$LAB_HTTP_PORT" \
	"$CLI_ADDR:$TCP_SPORT>$LAB_SRV4:$LAB_HTTP_PORT"
# listed: the clients may finish
touch "$STOP"

failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
for c in cli1 twin; do
	for f in udp udp6; do
		echo "  $c $f: $(cat "$LAB_DIR/$f-$c.log")"
		grep -q ": sent [0-9]* replies [0-9]* foreign 0 " "$LAB_DIR/$f-$c.log" ||
			fail "$c $f: got replies that were not its own: $(cat "$LAB_DIR/$f-$c.log")"
	done
	size=$(stat -c %s "$LAB_DIR/dl.$c" 2>/dev/null || echo 0)
	sha=$(sha256sum "$LAB_DIR/dl.$c" 2>/dev/null | cut -d' ' -f1)
	[ "$size" = "$LAB_BLOB_SIZE" ] && [ "$sha" = "$LAB_BLOB_SHA" ] ||
		fail "$c download: $size bytes, sha256 $sha; expected $LAB_BLOB_SIZE, $LAB_BLOB_SHA"
	ok "$c: its own UDP tokens back, download of $size bytes with the right sha256"
done
[ "$failed" = 0 ] || fail "$failed client(s) failed"
sim_clean
sim_clean sim2
expect_gt "gwlbsim ENI1 rx" "$(lab_sim_stat ".enis[\"$LAB_ENI1\"].rx // 0")" 1000
expect_gt "gwlbsim sim2 ENI2 rx" "$(lab_sim_stat ".enis[\"$LAB_ENI2\"].rx // 0" sim2)" 1000

step "--uplink up0: only up0 masquerades; a flow out of up1 keeps the client's address"
for i in "$I1" "$I2"; do
	out=$(lab_exec app nft list chain inet gwlbnf-net "nat_$i")
	grep -q 'oifname "up0" masquerade' <<<"$out" ||
		fail "chain nat_$i has no 'oifname \"up0\" masquerade': $out"
done
ok "nat chains: oifname \"up0\" masquerade"
expect_eq "/json uplinks" "$(gwlbd_json '.uplinks | join(",")')" up0
lab_run cli1 "$PYTHON" "$LAB_DIR/oneshot.py" 198.19.101.2 "$LAB_ECHO_PORT" up1 >/dev/null
lines=$(lab_exec app conntrack -L -p udp -d 198.19.101.2 2>/dev/null)
echo "$lines" | sed 's/^/  | /'
grep -q "src=$CLI_ADDR dst=198.19.101.2 .* src=198.19.101.2 dst=$CLI_ADDR .*mark=$I1 " <<<"$lines" ||
	fail "the flow out of up1 was NATed or is missing (expected reply dst=$CLI_ADDR, mark $I1)"
ok "out of up1: not masqueraded (reply tuple to $CLI_ADDR)"

step "SIGTERM removes gwlbd's table"
lab_gwlbd_stop
lab_exec app nft list table inet gwlbnf-net >/dev/null 2>&1 && fail "table inet gwlbnf-net left behind"
ok "no table inet gwlbnf-net"

echo
echo "PASS: $TEST_NAME"
