#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cookie restore through conntrack. cli1's ENI is in passthrough mode with a per-ENI template
# that DNATs a VIP (198.19.100.99, fd00:19:100::99) to srv. What gwo then hands gwlbd has a
# tuple GWLB never sent (cli1 -> srv) and no flow entry: gwlbd finds the flow it arrived as
# (cli1 -> VIP) through conntrack and sends the packet back inside that flow's header.
# gwlbsim knows a flow by its header as GWLB does (its "rewritten" count) and delivers it to
# srv; srv's answer comes back through GWLB and the kernel's un-DNAT, and cli1 sees the VIP
# answer. Without the restore the first packet of every such flow is a no_flow drop and
# nothing works. A packet on gwo that conntrack cannot place is still dropped and counted.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"

VIP4=198.19.100.99
VIP6=fd00:19:100::99

lab_test_lab 1

lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- gwlbd nat_restore: $(gwlbd_json '.nat_restore' 2>/dev/null | tr -d ' \n')"
	echo "--- gwlbd drops: $(gwlbd_json '.enis[] | "\(.gwi) \(.drops)"' 2>/dev/null | tr -d ' \n')"
	echo "--- conntrack in app:"
	lab_exec app conntrack -L 2>/dev/null | head -n 20
}

RULES=$LAB_DIR/nft-rules
mkdir -p "$RULES/eni.d"
cat >"$RULES/eni.d/10-vip.nft" <<NFT
table inet \$eni_table {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname \$gwi ip daddr $VIP4 counter dnat ip to $LAB_SRV4
		iifname \$gwi ip6 daddr $VIP6 counter dnat ip6 to $LAB_SRV6
	}
}
NFT
lab_sysctl app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

step "gwlbd --mode passthrough with a DNAT template: VIP -> srv"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode passthrough --nft-rules "$RULES" ||
	fail "could not start gwlbd"

ping_ok cli1 "$VIP4" 3
ping_ok cli1 "$VIP6" 3
udp_echo cli1 "$VIP4" "$LAB_ECHO_PORT" restore-4
udp_echo cli1 "$VIP6" "$LAB_ECHO_PORT" restore-6
download_ok cli1 "http://$VIP4:$LAB_HTTP_PORT/blob"
download_ok cli1 "http://[$VIP6]:$LAB_HTTP_PORT/blob"

step "conntrack holds the DNAT in the ENI's zone; gwlbd restored the first packet of each flow"
index=$(gwlbd_json '.enis[0].index')
ct=$(lab_exec app conntrack -L -p tcp --orig-dst "$VIP4" --dport "$LAB_HTTP_PORT" 2>/dev/null)
echo "$ct"
grep -q "src=$LAB_SRV4 dst=198.19.1.2 sport=$LAB_HTTP_PORT" <<<"$ct" ||
	fail "no conntrack entry cli1 -> $VIP4 with srv's reply tuple"
grep -q "zone-orig=$index" <<<"$ct" || fail "the DNAT entry is not in the ENI's zone $index"
ok "conntrack: cli1 -> $VIP4:$LAB_HTTP_PORT, reply from $LAB_SRV4, zone-orig=$index"
# ping 4 and 6, UDP 4 and 6, two TCP connections: at least one restored packet each
restored=$(gwlbd_json '.nat_restore.restored')
expect_gt "gwlbd nat_restore.restored" "$restored" 5
expect_eq "the ENI's nat_restored" "$(gwlbd_json '.enis[0].nat_restored')" "$restored"
lab_sim_fresh
expect_gt "gwlbsim rewritten (delivered by the flow's header)" "$(lab_sim_stat .rewritten)" 5
sim_clean

step "a packet on gwo that conntrack cannot place is dropped and counted, once per packet"
gwo=$(gwlbd_json '.enis[0].gwo')
lookups0=$(gwlbd_json '.nat_restore.lookups')
# the tun's own MLD reports are no_flow drops too: count from here
drops0=$(gwlbd_json '.drops.no_flow')
strangers()
{
	lab_exec app "$PYTHON" - "$gwo" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
s.bind(("", 40009))  # one tuple for every call
for i in range(int(sys.argv[2])):
    s.sendto(b"stranger", ("198.19.1.2", 9))
EOF
}
strangers 3
wait_for "[ \$(( \$(gwlbd_json '.drops.no_flow') - drops0 )) -ge 3 ]" 5 ||
	fail "3 strangers on $gwo: $(( $(gwlbd_json '.drops.no_flow') - drops0 )) no_flow drops, expected 3"
ok "3 strangers on $gwo: 3 no_flow drops"
expect_eq "still restored" "$(gwlbd_json '.nat_restore.restored')" "$restored"
lookups=$(( $(gwlbd_json '.nat_restore.lookups') - lookups0 ))
# each one queued before the first answer may be looked up (two lookups at most each)
[ "$lookups" -ge 1 ] && [ "$lookups" -le 6 ] ||
	fail "conntrack lookups for 3 strangers of one tuple: $lookups, expected 1 to 6"
ok "conntrack lookups for them: $lookups"
# the tuple is now remembered as unknown for 2 s: no more lookups, the same drops
lookups0=$(gwlbd_json '.nat_restore.lookups')
skipped0=$(gwlbd_json '.nat_restore.skipped')
strangers 5
wait_for "[ \$(( \$(gwlbd_json '.drops.no_flow') - drops0 )) -ge 8 ]" 5 ||
	fail "5 more strangers: $(( $(gwlbd_json '.drops.no_flow') - drops0 - 3 )) more no_flow drops, expected 5"
ok "5 more strangers: 5 more no_flow drops"
expect_eq "conntrack lookups for them" "$(( $(gwlbd_json '.nat_restore.lookups') - lookups0 ))" 0
expect_eq "skipped as recently unknown" "$(( $(gwlbd_json '.nat_restore.skipped') - skipped0 ))" 5

step "SIGTERM"
lab_gwlbd_stop
expect_eq "gwlbnf tables left in app" "$(lab_exec app nft list tables | grep -c gwlbnf || true)" 0
