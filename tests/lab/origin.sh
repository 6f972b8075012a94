#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --allowed-origin: GENEVE from a source outside the list is dropped and counted (drops.origin)
# and creates no ENI; with the sim's network in the list (IPv4 and IPv6 prefixes mixed) the
# same traffic goes through.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_lab 1

step "allowed origin 203.0.113.0/24 only: the sim (198.18.0.1) is refused"
lab_gwlbd_start --allowed-origin 203.0.113.0/24 -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
	fail "could not start gwlbd"
echo "+ [cli1] ping -c 3 -i 0.2 -W 1 $LAB_SRV4 (must fail)"
out=$(lab_exec cli1 ping -c 3 -i 0.2 -W 1 "$LAB_SRV4" 2>&1 || true)
echo "$out" | tail -n 2
grep -q " 0 received" <<<"$out" || fail "ping went through although the sim's address is not allowed"
ok "no reply"
json=$(lab_health /json) || fail "no answer from gwlbd /json"
expect_gt "drops.origin" "$(jq -r .drops.origin <<<"$json")" 2
expect_eq "ENIs created" "$(jq '.enis | length' <<<"$json")" 0
links=$(lab_ip app -o link show | grep -c ' gw[io]-' || true)
expect_eq "gwi/gwo interfaces in app" "$links" 0
lab_gwlbd_stop

step "allowed origin 198.18.0.0/24,2001:db8::/32: traffic goes through"
lab_gwlbd_start --allowed-origin 198.18.0.0/24,2001:db8::/32 -c "$LAB_HOOK" -r "$LAB_HOOK" \
	-p "$LAB_HEALTH_PORT" || fail "could not start gwlbd with a mixed IPv4/IPv6 origin list"
ping_ok cli1 "$LAB_SRV4" 3
udp_echo cli1 "$LAB_SRV6" "$LAB_ECHO_PORT" "origin-ok"
json=$(lab_health /json) || fail "no answer from gwlbd /json"
expect_eq "drops.origin" "$(jq -r .drops.origin <<<"$json")" 0
expect_eq "ENIs" "$(jq -r '[.enis[].gwi] | join(",")' <<<"$json")" "$ENI1_GWI"
lab_gwlbd_stop

step "repeatable option: --allowed-origin 2001:db8::/32 --allowed-origin 198.18.0.1/32"
lab_gwlbd_start --allowed-origin 2001:db8::/32 --allowed-origin 198.18.0.1/32 -c "$LAB_HOOK" -r "$LAB_HOOK" \
	-p "$LAB_HEALTH_PORT" || fail "could not start gwlbd with --allowed-origin given twice"
ping_ok cli1 "$LAB_SRV4" 2
expect_eq "drops.origin" "$(gwlbd_json .drops.origin)" 0
sim_clean

echo
echo "PASS: $TEST_NAME"
