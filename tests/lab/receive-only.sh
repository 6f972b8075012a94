#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --receive-only (gwlbtun's NO_RETURN_TRAFFIC): packets from GWLB are delivered on gwi, no gwo
# exists and nothing is ever sent back (the sim receives nothing).
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_lab 1
lab_gwlbd_start --receive-only -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --receive-only"
expect_eq "/json receive_only" "$(gwlbd_json .receive_only)" true

# rx_packets of a link in app, from ip -s (for a tun, packets gwlbd writes count as RX).
rx_packets()
{
	lab_ip app -s -j link show "$1" | jq -r '.[0].stats64.rx.packets'
}

cat >"$LAB_DIR/send.py" <<'EOF'
# Send N datagrams, never wait for anything.
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"one-way %d" % i, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.05)
EOF

step "first datagrams create gwi only"
lab_say lab_exec cli1 "$PYTHON" "$LAB_DIR/send.py" "$LAB_SRV4" "$LAB_ECHO_PORT" 3 || fail "send failed"
wait_for "lab_ip app link show $ENI1_GWI" 5 || fail "$ENI1_GWI was not created"
ok "$ENI1_GWI exists"
if lab_ip app link show "$ENI1_GWO" >/dev/null 2>&1; then
	fail "$ENI1_GWO exists in receive-only mode"
fi
ok "$ENI1_GWO does not exist"

step "10 more datagrams arrive on gwi"
before=$(rx_packets "$ENI1_GWI")
lab_say lab_exec cli1 "$PYTHON" "$LAB_DIR/send.py" "$LAB_SRV4" "$LAB_ECHO_PORT" 10 || fail "send failed"
wait_for "[ \$(rx_packets $ENI1_GWI) -ge $((before + 10)) ]" 3 ||
	fail "$ENI1_GWI rx packets $(rx_packets "$ENI1_GWI"), expected >= $((before + 10))"
ok "$ENI1_GWI rx packets $before -> $(rx_packets "$ENI1_GWI")"
lab_ip app -s link show "$ENI1_GWI"

step "nothing comes back"
sim_clean
expect_gt "gwlbsim tx" "$(lab_sim_stat .tx)" 12
expect_eq "gwlbsim rx" "$(lab_sim_stat .rx)" 0
eni=$(lab_health /json | jq -c --arg id "$LAB_ENI1" '.enis[] | select(.id == $id)')
echo "ENI: $eni"
expect_gt "ENI tunnelIn packets" "$(jq -r .tunnelIn.packets <<<"$eni")" 12
expect_eq "ENI tunnelOut packets" "$(jq -r .tunnelOut.packets <<<"$eni")" 0

echo
echo "PASS: $TEST_NAME"
