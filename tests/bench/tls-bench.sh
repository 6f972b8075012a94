#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Throughput of one long TLS connection through gwlbsim + gwlbd with `--policy` running the
# sni module (allow=the server's name: it decides on the ClientHello and offloads the flow)
# against the same transfer through gwlbsim + gwlbd without a policy ("plain"), and without a
# policy but with conntrack switched on in the appliance's namespace by one `ct state` rule
# ("ct": the price of conntrack alone, which every policy pays since decisions live in the ct
# mark). Same lab, alternating, ABBA order per round; TLS_BENCH_SIDES picks from
# "plain ct sni". Client in cli1, server in srv, TLS 1.3 by Python's ssl (OpenSSL): the client
# asks for TLS_BENCH_BYTES and the server streams them; the time runs from connect to the
# last byte. Also reported:
#   - the same transfer on srv's loopback (both ends, no tunnel): what the endpoints can do
#     on these CPUs, to show that they are not the bottleneck;
#   - gwlbd's CPU time (its threads plus the kernel forwarding they run) per GiB;
#   - packets of each sni transfer that went to userspace (gwlbd /json policy.queues[].received)
#     against the packets gwlbd tunnelled (enis[].tunnelIn.packets).
# Fails (exit 1) when the sni median is below 90% of the no-policy median. Needs root; about
# 5 minutes with the defaults:
#   TLS_BENCH_BYTES=1073741824 TLS_BENCH_ROUNDS=7 TLS_BENCH_SIDES="plain sni" tests/bench/tls-bench.sh
# (add "ct" to the sides for the conntrack-only baseline)
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$here/lib.sh"
CLK_TCK=$(getconf CLK_TCK)
BYTES=${TLS_BENCH_BYTES:-1073741824}
# Three rounds were not enough: single transfers on 2 shared vCPUs vary by +-15 %.
ROUNDS=${TLS_BENCH_ROUNDS:-7}
SIDES=${TLS_BENCH_SIDES:-plain sni}
MODDIR=${GWLB_TEST_MODULE_DIR:-$top_builddir/src/modules/.libs}
NAME=bench.example.com
PORT=8443

bench_need tls-bench "$GWLBD" "$GWLBSIM" "$MODDIR/verdict_sni.so"
for t in jq openssl nft "$PYTHON"; do
	command -v "$t" >/dev/null || { echo "tls-bench: $t needed" >&2; exit 77; }
done

bench_lab_init "tlsb$$"
lab_up 1 || exit 1
lab_sim_start || exit 1

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$LAB_DIR/key.pem" -out "$LAB_DIR/cert.pem" \
	-subj "/CN=$NAME" -days 1 -addext "subjectAltName=DNS:$NAME" >/dev/null 2>&1 ||
	{ echo "tls-bench: openssl could not make a certificate" >&2; exit 1; }
cat >"$LAB_DIR/tlsbench.py" <<'EOF'
# tlsbench.py server PORT CERT KEY: on [::]:PORT, read "N\n" and send N bytes over TLS.
# tlsbench.py client ADDR PORT NAME N: ask for N bytes, print "bytes B seconds S".
import os, socket, ssl, sys, threading, time
CHUNK = 1 << 20
if sys.argv[1] == "server":
    port, cert, key = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    block = os.urandom(CHUNK)
    def serve(c):
        try:
            t = ctx.wrap_socket(c, server_side=True)
            n = int(t.recv(64).split(b"\n")[0])
            view = memoryview(block)
            while n > 0:
                k = min(n, CHUNK)
                t.sendall(view[:k])
                n -= k
            t.unwrap()
        except (OSError, ValueError):
            pass
        finally:
            c.close()
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
else:
    addr, port, name, want = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    t0 = time.monotonic()
    s = socket.create_connection((addr, port), timeout=30)
    t = ctx.wrap_socket(s, server_hostname=name)
    t.sendall(b"%d\n" % want)
    got = 0
    while got < want:
        k = t.recv_into(view)
        if not k:
            break
        got += k
    t1 = time.monotonic()
    print("bytes %d seconds %.3f %s" % (got, t1 - t0, t.version()))
    sys.exit(0 if got == want else 1)
EOF
lab_bg srv tls "$PYTHON" "$LAB_DIR/tlsbench.py" server "$PORT" "$LAB_DIR/cert.pem" "$LAB_DIR/key.pem"
wait_for "lab_exec srv ss -Hltn 'sport = :$PORT' | grep -q LISTEN" 10 ||
	{ echo "tls-bench: TLS server did not start: $(cat "$LAB_DIR/tls.log")" >&2; exit 1; }

cat >"$LAB_DIR/policy.conf" <<EOF
[queue]
count = 1

[policy]
module = sni allow=$NAME unknown=drop

[module-path]
dir = $MODDIR
EOF

json() { lab_health /json | jq -r "$1"; }

# transfer NODE ADDR: one transfer; its rate in MB/s (10^6 bytes) into MBPS.
transfer()
{
	local out
	out=$(lab_exec "$1" "$PYTHON" "$LAB_DIR/tlsbench.py" client "$2" "$PORT" "$NAME" "$BYTES") ||
		{ echo "tls-bench: transfer from $1 to $2 failed: $out" >&2; return 1; }
	MBPS=$(awk '{ printf "%.1f", $2 / $4 / 1e6 }' <<<"$out")
}

# run SIDE: gwlbd without (plain) or with (sni) the policy, one transfer, gwlbd stopped again.
# Side ct: no policy, but conntrack tracks the packets in app, as gwlbd's ruleset makes it do.
run()
{
	local args=(-c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT") q0 q1 rx0 rx1 a0 a1 g0 g1
	[ "$1" = sni ] && args+=(--policy "$LAB_DIR/policy.conf")
	if [ "$1" = ct ]; then
		printf 'table inet tlsbench {\n chain track {\n  type filter hook forward priority 0;\n  ct state established counter\n }\n}\n' |
			lab_exec app nft -f - ||
			return 1
	fi
	lab_gwlbd_start "${args[@]}" || return 1
	# the ENI exists before the clock starts
	wait_for "lab_exec cli1 ping -c 1 -W 1 $LAB_SRV4 >/dev/null" 10 || return 1
	q0=$(json '[.policy.queues[]?.received] | add // 0')
	rx0=$(json '[.enis[].tunnelIn.packets] | add // 0')
	a0=$(json '[.policy.modules[]? | select(.name == "sni") | .counters.allowed] | add // 0')
	g0=$(awk '{ print $14 + $15 }' "/proc/$LAB_GWLBD_PID/stat")
	transfer cli1 "$LAB_SRV4" || { lab_gwlbd_stop; return 1; }
	g1=$(awk '{ print $14 + $15 }' "/proc/$LAB_GWLBD_PID/stat")
	q1=$(json '[.policy.queues[]?.received] | add // 0')
	rx1=$(json '[.enis[].tunnelIn.packets] | add // 0')
	a1=$(json '[.policy.modules[]? | select(.name == "sni") | .counters.allowed] | add // 0')
	lab_gwlbd_stop
	[ "$1" != ct ] || lab_exec app nft delete table inet tlsbench
	QUEUED=$((q1 - q0))
	TUNNELLED=$((rx1 - rx0))
	# gwlbd's CPU (its threads and the kernel's forwarding they run) per GiB moved
	CPU=$(awk -v t=$((g1 - g0)) -v hz="$CLK_TCK" -v b="$BYTES" 'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }')
	if [ "$1" = sni ] && [ "$((a1 - a0))" != 1 ]; then
		echo "tls-bench: the sni module allowed $((a1 - a0)) flows, expected 1" >&2
		return 1
	fi
}

median()
{
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mib=$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
echo "tls-bench: $mib MiB per transfer, $ROUNDS rounds, $(nproc) CPUs, kernel $(uname -r)" >&2
declare -A RES RESCPU
QS=""
for r in $(seq "$ROUNDS"); do
	transfer srv 127.0.0.1 || exit 1
	RES[loopback]+="$MBPS "
	echo "  round $r loopback (srv to itself, no tunnel): $MBPS MB/s" >&2
	order=$SIDES
	[ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$SIDES" | tac | tr '\n' ' ')
	for side in $order; do
		run "$side" || { echo "tls-bench: round $r $side failed" >&2; exit 1; }
		RES[$side]+="$MBPS "
		RESCPU[$side]+="$CPU "
		if [ "$side" = sni ]; then
			QS+="$QUEUED/$TUNNELLED "
			echo "  round $r sni:   $MBPS MB/s, gwlbd $CPU CPU s/GiB, $QUEUED of $TUNNELLED tunnelled packets to userspace" >&2
		else
			echo "  round $r $side: $MBPS MB/s, gwlbd $CPU CPU s/GiB ($QUEUED packets to userspace)" >&2
		fi
	done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
lo=$(med "${RES[loopback]:-}")
p=$(med "${RES[plain]:-}")
s=$(med "${RES[sni]:-}")
ratio=$(awk -v s="$s" -v p="$p" 'BEGIN { printf "%.2f", p ? s / p : 0 }')
echo "| $mib MiB over one TLS connection | MB/s (median of $ROUNDS) | all rounds | gwlbd CPU s/GiB (median) | packets to userspace |"
echo "|---|---|---|---|---|"
echo "| endpoints alone (srv loopback) | $lo | ${RES[loopback]:-}| - | - |"
echo "| gwlbsim + gwlbd, no policy | $p | ${RES[plain]:-}| $(med "${RESCPU[plain]:-}") | 0 |"
if [ -n "${RES[ct]:-}" ]; then
	echo "| gwlbsim + gwlbd, no policy, conntrack on in app | $(med "${RES[ct]}") | ${RES[ct]}| $(med "${RESCPU[ct]}") | 0 |"
fi
echo "| gwlbsim + gwlbd --policy, sni allow=$NAME | $s | ${RES[sni]:-}| $(med "${RESCPU[sni]:-}") | $QS(queued/tunnelled) |"
echo "sni / no policy: $ratio"
if [ -n "${RES[ct]:-}" ]; then
	echo "sni / conntrack only: $(awk -v s="$s" -v c="$(med "${RES[ct]}")" 'BEGIN { printf "%.2f", c ? s / c : 0 }')"
fi
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.90) }' || { echo "tls-bench: sni below 90% of no policy" >&2; exit 1; }
exit 0
