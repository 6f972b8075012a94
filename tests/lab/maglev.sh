#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The maglev scheduler (--services, scheduler = maglev) with three real HTTP backends behind
# a VIP, cli1's traffic arriving through gwlbsim + gwlbd (route mode):
#   - the kernel's map is the Maglev table: 65537 slots, each backend's share within 1 %;
#   - new connections spread over all backends, and one tuple always lands on one backend;
#   - a backend set down moves only its own slots (plus at most 1 % of the table), and set
#     up again gives back exactly the table it had;
#   - the same file gives the same table and the same backend per flow in another gwlbd
#     (a restart), as two appliances behind one GWLB need.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"

lab_test_lab 1

lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- gwlbd drops: $(gwlbd_json '.drops' 2>/dev/null | tr -d ' \n')"
	echo "--- enis: $(gwlbd_json '.enis[] | "\(.gwi) \(.state)"' 2>/dev/null)"
	lab_exec app conntrack -L 2>/dev/null | head -n 10
}

VIP=198.19.99.20
BE_PORT=8000
BACKENDS="mg1 mg2 mg3"
M=65537

step "three HTTP backends in their own namespaces, each on a veth from app"
k=4
for b in $BACKENDS; do
	k=$((k + 1))
	lb_backend_ns "$b" "$k"
	mkdir -p "$LAB_DIR/www-$b"
	echo "$b" >"$LAB_DIR/www-$b/name"
	lab_bg "$b" "http-$b" "$PYTHON" -m http.server --bind 0.0.0.0 --directory "$LAB_DIR/www-$b" "$BE_PORT"
done
for b in $BACKENDS; do
	wait_for "lab_exec $b ss -Hltn 'sport = :$BE_PORT' | grep -q LISTEN" 10 || fail "http server in $b did not start"
done
lab_sysctl app net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
# The test reuses tuples (curl --local-port): whichever end closed first would hold the last
# one in TIME_WAIT and refuse it (client: connect fails; backend: the SYN is answered with
# an ACK). Nothing here depends on TIME_WAIT.
for n in cli1 $BACKENDS; do
	lab_sysctl "$n" net.ipv4.tcp_max_tw_buckets=0
done
ok "mg1..mg3 serve /name on port $BE_PORT"

cat >"$LAB_DIR/services.conf" <<EOF
[service mag]
vip = $VIP
port = 80
scheduler = maglev
backend = mg1 198.19.205.2:$BE_PORT
backend = mg2 198.19.206.2:$BE_PORT
backend = mg3 198.19.207.2:$BE_PORT
EOF

# slots: the map as "slot backend-address" lines, sorted by slot
slots()
{
	lab_exec app nft -j list map inet gwlbnf-lb mag_sched |
		jq -r '.nftables[] | select(.map) | .map.elem[] | "\(.[0]) \(.[1].concat[0])"' | sort -n
}
# share ADDR FILE: slots of ADDR in FILE
share() { grep -c " $1\$" "$2" || true; }
get() { lb_get "$VIP" name "$@"; }

step "gwlbd --mode route --services services.conf"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route --services "$LAB_DIR/services.conf" ||
	fail "could not start gwlbd"
rule=$(lab_exec app nft list chain inet gwlbnf-lb mag_dnat)
echo "$rule"
grep -Eq "dnat ip to jhash ip saddr \. tcp sport \. ip daddr \. tcp dport mod $M seed 0x[0-9a-f]+ map @mag_sched" <<<"$rule" ||
	fail "no maglev rule (jhash of the tuple mod $M)"
slots >"$LAB_DIR/slots.1"
expect_eq "map elements" "$(wc -l <"$LAB_DIR/slots.1")" "$M"
for a in 198.19.205.2 198.19.206.2 198.19.207.2; do
	n=$(share "$a" "$LAB_DIR/slots.1")
	# a third of 65537 is 21845.7; 1 % of the table is 655 slots
	[ $((n > 21846 ? n - 21846 : 21846 - n)) -le 655 ] ||
		fail "$a has $n of $M slots, not a third within 1 %"
	ok "$a: $n slots (a third within 1 %)"
done

step "new connections spread over the backends; one tuple, one backend"
declare -A seen=()
for p in $(seq 40001 40030); do
	b=$(get --local-port "$p") || fail "request from port $p failed"
	seen[$b]=$(( ${seen[$b]:-0} + 1 ))
	echo "$p $b" >>"$LAB_DIR/flows.1"
done
echo "backends seen: $(for b in "${!seen[@]}"; do echo -n "$b=${seen[$b]} "; done)"
for b in $BACKENDS; do
	[ "${seen[$b]:-0}" -ge 1 ] || fail "$b got none of 30 connections"
done
ok "30 connections reached all three backends"
# the same tuple again (conntrack forgets the old one first) lands on the same backend
lab_exec app conntrack -F >/dev/null 2>&1
p=$(awk 'NR == 7 { print $1 }' "$LAB_DIR/flows.1")
want=$(awk 'NR == 7 { print $2 }' "$LAB_DIR/flows.1")
expect_eq "port $p again" "$(get --local-port "$p")" "$want"

step "mg2 down: only its slots move (plus at most 1 % of the table); up again: the same table"
t0=$(date +%s%N)
lab_gwlbctl backend mag mg2 down >/dev/null || fail "gwlbctl backend mag mg2 down failed"
echo "gwlbctl backend mag mg2 down (the map's $M elements rewritten): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
slots >"$LAB_DIR/slots.2"
own=$(share 198.19.206.2 "$LAB_DIR/slots.1")
expect_eq "mg2's slots after down" "$(share 198.19.206.2 "$LAB_DIR/slots.2")" 0
moved=$(paste -d" " "$LAB_DIR/slots.1" "$LAB_DIR/slots.2" | awk '$2 != $4' | wc -l)
[ "$moved" -le $((own + 655)) ] || fail "$moved slots moved, mg2 had $own (limit $((own + 655)))"
ok "$moved slots moved, mg2 had $own (at most its own plus 655)"
for p in $(seq 40001 40030); do
	b=$(get --local-port "$((p + 100))") || fail "request failed with mg2 down"
	[ "$b" != mg2 ] || fail "a new connection went to mg2 while it is down"
done
ok "30 new connections with mg2 down: none to mg2"
lab_gwlbctl backend mag mg2 up >/dev/null || fail "gwlbctl backend mag mg2 up failed"
slots >"$LAB_DIR/slots.3"
cmp -s "$LAB_DIR/slots.1" "$LAB_DIR/slots.3" || fail "mg2 up again: the table differs from the first"
ok "mg2 up again: the table is the first one, slot for slot"

step "another gwlbd with the same file: the same table and the same backend per flow"
lab_gwlbd_stop
lab_exec app conntrack -F >/dev/null 2>&1
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route --services "$LAB_DIR/services.conf" ||
	fail "could not restart gwlbd"
slots >"$LAB_DIR/slots.4"
cmp -s "$LAB_DIR/slots.1" "$LAB_DIR/slots.4" || fail "the new gwlbd built another table"
ok "the new gwlbd's map is the first one, slot for slot"
same=0
while read -r p want; do
	got=$(get --local-port "$p") || fail "request from port $p failed"
	[ "$got" = "$want" ] && same=$((same + 1))
done <"$LAB_DIR/flows.1"
expect_eq "flows on the same backend as before the restart (of 30)" "$same" 30

step "SIGTERM"
lab_gwlbd_stop
lab_exec app nft list tables | grep -q gwlbnf && fail "nft tables left: $(lab_exec app nft list tables)"
ok "no gwlbnf table left"
