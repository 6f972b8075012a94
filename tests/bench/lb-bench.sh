#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# New TCP connections per second through gwlbd's balancer: a `maglev` service (a 65537-slot
# map indexed by jhash of the tuple, three backends) against the same traffic DNATed by one
# plain nft rule to one backend. cli1's connections (tests/bench/connrate: handshake, then
# RST) arrive through gwlbsim + gwlbd (route mode) and are DNATed in app to backends on
# veths from app, each running `connrate -l`. Rounds alternate ABAB; the table gives each
# round and the medians.
#
#   tests/bench/lb-bench.sh [ROUNDS [CONNECTIONS [CONCURRENCY]]]   (defaults 4 20000 32)
#
# Nothing here is a test: it prints figures. Needs root; everything lives in namespaces it
# creates and removes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$here/lib.sh"

ROUNDS=${1:-4}
N=${2:-20000}
CONC=${3:-32}
CONNRATE=$top_builddir/tests/bench/connrate
VIP=198.19.99.30
BE_PORT=8000
BACKENDS="lb1 lb2 lb3"

bench_need lb-bench "$GWLBD" "$GWLBSIM" "$CONNRATE"
bench_lab_init "lbb$$"
lab_up 1 || exit 1
lab_sim_start || exit 1

k=0
for b in $BACKENDS; do
	k=$((k + 1))
	lab_add_ns "$b" || exit 1
	lab_veth app "v-$b" "$b" eth0 || exit 1
	lab_ip app addr add "198.19.22$k.1/24" dev "v-$b"
	lab_ip "$b" addr add "198.19.22$k.2/24" dev eth0
	lab_ip "$b" route add default via "198.19.22$k.1"
	lab_bg "$b" "connrate-$b" "$CONNRATE" -l "$BE_PORT"
done
for b in $BACKENDS; do
	wait_for "lab_exec $b ss -Hltn 'sport = :$BE_PORT' | grep -q LISTEN" 10 ||
		{ echo "lb-bench: backend $b did not listen" >&2; exit 1; }
done
lab_sysctl app net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
# a long run makes many connections: room for them in conntrack
lab_sysctl app net.netfilter.nf_conntrack_max=1048576 2>/dev/null || true

cat >"$LAB_DIR/services.conf" <<EOF
[service mag]
vip = $VIP
port = 80
scheduler = maglev
backend = lb1 198.19.221.2:$BE_PORT
backend = lb2 198.19.222.2:$BE_PORT
backend = lb3 198.19.223.2:$BE_PORT
EOF
mkdir -p "$LAB_DIR/nft-rules"
cat >"$LAB_DIR/nft-rules/10-plain.nft" <<EOF
table ip lbbench {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP tcp dport 80 dnat to 198.19.221.2:$BE_PORT
	}
}
EOF

# run SIDE: one round; prints the rate
run()
{
	local args=(-p "$LAB_HEALTH_PORT" --mode route) out
	if [ "$1" = maglev ]; then
		args+=(--services "$LAB_DIR/services.conf")
	else
		args+=(--nft-rules "$LAB_DIR/nft-rules")
	fi
	lab_gwlbd_start "${args[@]}" || return 1
	# the ENI comes up with the first packets: one warm-up connection
	lab_exec cli1 "$CONNRATE" -c 1 -n 1 "$VIP" 80 >/dev/null || true
	out=$(lab_exec cli1 "$CONNRATE" -c "$CONC" -n "$N" "$VIP" 80) || { lab_gwlbd_stop; return 1; }
	lab_gwlbd_stop
	lab_exec app conntrack -F >/dev/null 2>&1 || true
	echo "$out" >&2
	awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "connections/s") print $i }' <<<"$out"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "lb-bench: $ROUNDS rounds each of $N connections, $CONC at once, cli1 -> gwlbsim -> gwlbd -> DNAT"
: >"$LAB_DIR/plain" >"$LAB_DIR/maglev"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="plain maglev"; else order="maglev plain"; fi
	for side in $order; do
		rate=$(run "$side") || { echo "lb-bench: round $r $side failed" >&2; exit 1; }
		echo "$rate" >>"$LAB_DIR/$side"
		printf 'round %d %-7s %8s connections/s\n' "$r" "$side" "$rate"
	done
done
p=$(median <"$LAB_DIR/plain")
m=$(median <"$LAB_DIR/maglev")
echo
echo "| DNAT | new connections/s (median of $ROUNDS) |"
echo "|---|---|"
echo "| plain rule, one backend | $p |"
echo "| maglev service, 3 backends, 65537 slots | $m |"
awk -v p="$p" -v m="$m" 'BEGIN { printf "maglev / plain = %.2f\n", m / p }'
