#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Three clients behind three GWLB endpoints (ENIs), traffic from all at once: gwlbd must
# create three interface pairs with the gwlbtun names and keep each ENI's traffic on its own
# header (gwlbsim counts a reply with another ENI's header as a mismatch). ENI3 is above 2^63.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_start 3

step "simultaneous ping, download and UDP echo from cli1, cli2, cli3"
# ping -w: wait for every reply up to the deadline (see ping_ok), not two round trips
pids=()
for k in 1 2 3; do
	echo "+ [cli$k] ping -c 10 -i 0.1 -W 2 -w 10 $LAB_SRV4 &"
	lab_exec "cli$k" ping -c 10 -i 0.1 -W 2 -w 10 "$LAB_SRV4" >"$LAB_DIR/ping.$k" 2>&1 &
	pids+=($!)
	echo "+ [cli$k] ping -6 -c 10 -i 0.1 -W 2 -w 10 $LAB_SRV6 &"
	lab_exec "cli$k" ping -6 -c 10 -i 0.1 -W 2 -w 10 "$LAB_SRV6" >"$LAB_DIR/ping6.$k" 2>&1 &
	pids+=($!)
	echo "+ [cli$k] curl http://$LAB_SRV4:$LAB_HTTP_PORT/blob &"
	lab_exec "cli$k" curl -s -m 20 -o "$LAB_DIR/dl.$k" "http://$LAB_SRV4:$LAB_HTTP_PORT/blob" &
	pids+=($!)
	echo "+ [cli$k] udp echo to $LAB_SRV4 &"
	lab_exec "cli$k" "$PYTHON" "$LAB_DIR/udpclient.py" echo "$LAB_SRV4" "$LAB_ECHO_PORT" "multi-$k" \
		>"$LAB_DIR/udp.$k" 2>&1 &
	pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
	wait "$pid" || failed=$((failed + 1))
done
for k in 1 2 3; do
	for f in ping ping6; do
		tail -n 2 "$LAB_DIR/$f.$k"
		grep -q " 10 received, 0% packet loss" "$LAB_DIR/$f.$k" ||
			fail "cli$k $f: expected 10 received, 0% packet loss (gwlbd drops:" \
				"$(gwlbd_json ".drops | tojson"), gwlbsim: $(cat "$LAB_DIR/sim.json"))"
	done
	ok "cli$k: IPv4 and IPv6 ping 10/10"
	size=$(stat -c %s "$LAB_DIR/dl.$k" 2>/dev/null || echo 0)
	sha=$(sha256sum "$LAB_DIR/dl.$k" | cut -d' ' -f1)
	[ "$size" = "$LAB_BLOB_SIZE" ] && [ "$sha" = "$LAB_BLOB_SHA" ] ||
		fail "cli$k download: $size bytes sha256 $sha, expected $LAB_BLOB_SIZE bytes sha256 $LAB_BLOB_SHA"
	ok "cli$k: download $size bytes, sha256 matches"
	expect_eq "cli$k UDP echo" "$(cat "$LAB_DIR/udp.$k")" "multi-$k"
done
[ "$failed" = 0 ] || fail "$failed of ${#pids[@]} client commands exited non-zero"

step "gwlbd: three ENIs, each with traffic both ways"
json=$(lab_health /json) || fail "no answer from gwlbd /json"
jq -c '.enis[] | {eni, gwi, gwo, state, tunnelIn, tunnelOut}' <<<"$json"
expect_eq "number of ENIs" "$(jq '.enis | length' <<<"$json")" 3
expect_eq "distinct gwi names" "$(jq '[.enis[].gwi] | unique | length' <<<"$json")" 3
for k in 1 2 3; do
	id=$(lab_eni_of "$k")
	want=gwi-$(lab_eni_b60 "$id")
	eni=$(jq -c --arg id "$id" '.enis[] | select(.id == $id)' <<<"$json")
	[ -n "$eni" ] || fail "ENI $id (cli$k) missing from /json"
	expect_eq "ENI $id gwi" "$(jq -r .gwi <<<"$eni")" "$want"
	expect_gt "ENI $id tunnelIn packets" "$(jq -r .tunnelIn.packets <<<"$eni")" 0
	expect_gt "ENI $id tunnelOut packets" "$(jq -r .tunnelOut.packets <<<"$eni")" 0
	lab_ip app link show "$want" >/dev/null || fail "$want does not exist in app"
	lab_ip app link show "gwo-${want#gwi-}" >/dev/null || fail "gwo-${want#gwi-} does not exist in app"
done

step "gwlbsim: replies per ENI, no mismatch"
sim_clean
for k in 1 2 3; do
	id=$(lab_eni_of "$k")
	expect_gt "gwlbsim ENI $id rx" "$(lab_sim_stat ".enis[\"$id\"].rx // 0")" 0
done

echo
echo "PASS: $TEST_NAME"
