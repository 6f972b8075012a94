#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One client, one ENI: ping, a TCP download, a UDP echo over IPv4 and IPv6 through
# gwlbsim -> gwlbd -> kernel forwarding -> gwlbd -> gwlbsim; then the counters on both sides,
# the interface's MTU and the absence of IPv6 autoconfiguration on it.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_start 1

step "IPv4 traffic cli1 -> srv"
ping_ok cli1 "$LAB_SRV4" 5
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" "hello-v4-$$"

step "IPv6 traffic cli1 -> srv"
ping_ok cli1 "$LAB_SRV6" 5
download_ok cli1 "http://[$LAB_SRV6]:$LAB_HTTP_PORT/blob"
udp_echo cli1 "$LAB_SRV6" "$LAB_ECHO_PORT" "hello-v6-$$"

step "gwlbsim counters"
sim_clean
expect_gt "gwlbsim rx" "$(lab_sim_stat .rx)" 0
expect_gt "gwlbsim ENI1 rx" "$(lab_sim_stat ".enis[\"$LAB_ENI1\"].rx // 0")" 0

step "gwlbd status"
json=$(lab_health /json) || fail "no answer from gwlbd /json"
eni=$(jq -c --arg id "$LAB_ENI1" '.enis[] | select(.id == $id)' <<<"$json")
[ -n "$eni" ] || fail "ENI $LAB_ENI1 missing from /json: $(jq -c .enis <<<"$json")"
echo "ENI: $eni"
expect_eq "ENI gwi name" "$(jq -r .gwi <<<"$eni")" "$ENI1_GWI"
expect_eq "ENI gwo name" "$(jq -r .gwo <<<"$eni")" "$ENI1_GWO"
expect_eq "ENI eni string" "$(jq -r .eni <<<"$eni")" "eni-$LAB_ENI1"
expect_gt "ENI tunnelIn packets" "$(jq -r .tunnelIn.packets <<<"$eni")" 0
expect_gt "ENI tunnelOut packets" "$(jq -r .tunnelOut.packets <<<"$eni")" 0
expect_eq "gwlbd healthy" "$(jq -r .healthy <<<"$json")" true

step "interfaces in app"
echo "+ ip -n app link show $ENI1_GWI"
link=$(lab_ip app link show "$ENI1_GWI") || fail "$ENI1_GWI does not exist in app"
echo "$link"
grep -q " mtu 8500 " <<<"$link" || fail "$ENI1_GWI: expected mtu 8500 in: $link"
ok "$ENI1_GWI has mtu 8500"
lab_ip app link show "$ENI1_GWO" | grep -q " mtu 8500 " || fail "$ENI1_GWO: expected mtu 8500"
ok "$ENI1_GWO has mtu 8500"
for dev in "$ENI1_GWI" "$ENI1_GWO"; do
	echo "+ ip -n app -6 addr show dev $dev"
	addrs=$(lab_ip app -6 addr show dev "$dev")
	[ -z "$addrs" ] || fail "$dev has IPv6 addresses (autoconf noise): $addrs"
	ok "$dev has no IPv6 address"
done

echo
echo "PASS: $TEST_NAME"
