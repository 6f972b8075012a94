#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ICMP through the appliance:
#  (a) an ICMP error the appliance itself generates (TTL exceeded) leaves via gwi and must go
#      back to GWLB with the cookie of the flow it is about (gwlbtun used an unrelated one);
#  (b) the appliance answering a ping itself: the reply leaves via gwi, not gwo;
#  (c) port unreachable from the server travels the normal path back to the client.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_start 1

step "bring ENI1 up and route the client subnet back through gwi"
ping_ok cli1 "$LAB_SRV4" 2
wait_for "lab_ip app link show $ENI1_GWI" 5 || fail "$ENI1_GWI was not created"
lab_say lab_ip app route add 198.19.1.0/24 dev "$ENI1_GWI" || fail "cannot add route via $ENI1_GWI in app"
lab_say lab_ip app -6 route add fd00:19:1::/64 dev "$ENI1_GWI" || fail "cannot add IPv6 route via $ENI1_GWI in app"
# The appliance's own addresses: the source of its ICMPv6 errors (a) and the ping target of (b).
lab_say lab_ip app addr add 198.19.100.250/32 dev lo || fail "cannot add 198.19.100.250 on app lo"
lab_say lab_ip app -6 addr add fd00:19:100::250/128 dev lo nodad || fail "cannot add fd00:19:100::250 on app lo"
lab_sim_fresh
err_before=$(lab_sim_stat .icmp_err_ok)

step "(a) TTL 2: gwlb forwards with TTL 1, the appliance answers Time to live exceeded"
echo "+ [cli1] ping -c 3 -i 0.3 -W 2 -t 2 $LAB_SRV4"
out=$(lab_exec cli1 ping -c 3 -i 0.3 -W 2 -t 2 "$LAB_SRV4" 2>&1 || true)
echo "$out"
grep -q "Time to live exceeded" <<<"$out" || fail "ping -t 2 did not report 'Time to live exceeded'"
ok "ping -t 2 reports Time to live exceeded from the appliance"
echo "+ [cli1] ping -6 -c 3 -i 0.3 -W 2 -t 2 $LAB_SRV6"
out=$(lab_exec cli1 ping -6 -c 3 -i 0.3 -W 2 -t 2 "$LAB_SRV6" 2>&1 || true)
echo "$out"
grep -qi "Time exceeded: Hop limit\|Time to live exceeded" <<<"$out" ||
	fail "IPv6 ping with hop limit 2 did not report a time exceeded error"
ok "IPv6 hop limit 2 reports Time exceeded"
sim_clean
err_after=$(lab_sim_stat .icmp_err_ok)
expect_gt "gwlbsim icmp_err_ok after TTL test (before: $err_before)" "$err_after" "$err_before"

step "(b) the appliance answers a ping itself; the reply leaves via gwi"
gwi_tx_before=$(gwlbd_json ".enis[] | select(.id == \"$LAB_ENI1\") | .tunnelOut.packets")
ping_ok cli1 198.19.100.250 3
ping_ok cli1 fd00:19:100::250 3
sim_clean
gwi_tx_after=$(gwlbd_json ".enis[] | select(.id == \"$LAB_ENI1\") | .tunnelOut.packets")
expect_gt "ENI1 tunnelOut packets after the appliance's own replies (before: $gwi_tx_before)" \
	"$gwi_tx_after" "$((gwi_tx_before + 5))"

step "(c) UDP to a closed port on srv: port unreachable reaches the client"
for dst in "$LAB_SRV4" "$LAB_SRV6"; do
	echo "+ [cli1] udp to [$dst]:9 (nothing listens), expect ECONNREFUSED"
	out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/udpclient.py" refused "$dst" 9 probe 2>&1) ||
		fail "UDP to closed port [$dst]:9: expected ECONNREFUSED, got '$out'"
	ok "UDP to closed port [$dst]:9: $out"
done
sim_clean

echo
echo "PASS: $TEST_NAME"
