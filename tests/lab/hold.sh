#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Packets of a new ENI that arrive while its create hook still runs are held, not dropped:
# with a hook that takes 2 s, the very first ping and the very first UDP datagram (sent once,
# no retry) of brand-new ENIs still get their replies, about 2 s late. With --hold-max 0
# nothing is held and the drop is counted.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_init
lab_up 3 || fail "could not build the namespace lab"
lab_srv_start || fail "could not start the servers"
lab_sim_start || fail "could not start gwlbsim"

cat >"$LAB_DIR/slowhook.sh" <<EOF
#!/bin/bash
# A create hook that takes 2 s before doing the passthrough set-up.
[ "\$1" = CREATE ] && sleep 2
exec "$LAB_HOOK" "\$@"
EOF
chmod +x "$LAB_DIR/slowhook.sh"
lab_gwlbd_start -c "$LAB_DIR/slowhook.sh" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd"

step "first ping of ENI1 while its create hook sleeps 2 s"
echo "+ [cli1] ping -c 1 -W 6 $LAB_SRV4"
out=$(lab_exec cli1 ping -c 1 -W 6 "$LAB_SRV4" 2>&1) || { echo "$out"; fail "the first ping of a new ENI got no reply (dropped, not held)"; }
echo "$out"
rtt=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' <<<"$out")
[ -n "$rtt" ] || fail "no rtt in ping output"
# The reply can only come after the hook finished: proof the packet waited rather than a
# retransmission or a fast path that skipped the hook.
[ "${rtt%.*}" -ge 1500 ] || fail "first ping rtt $rtt ms, expected >= ~2000 ms (held during the 2 s hook)"
ok "first ping answered after $rtt ms (held during the hook)"

step "first UDP datagram of ENI2, sent once"
cat >"$LAB_DIR/once.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(6)
t = time.time()
s.send(b"held-once")
print(s.recv(2048).decode(), "%.0f" % ((time.time() - t) * 1000))
EOF
echo "+ [cli2] one datagram to $LAB_SRV4:$LAB_ECHO_PORT, wait up to 6 s"
out=$(lab_exec cli2 "$PYTHON" "$LAB_DIR/once.py" "$LAB_SRV4" "$LAB_ECHO_PORT" 2>&1) ||
	fail "the first UDP datagram of a new ENI got no echo: $out"
echo "$out"
[ "${out% *}" = held-once ] || fail "echo payload '${out% *}', expected 'held-once'"
ok "first datagram echoed after ${out#* } ms"

json=$(lab_health /json)
expect_eq "hold.overflow" "$(jq -r .hold.overflow <<<"$json")" 0
expect_eq "drops.hold_overflow" "$(jq -r .drops.hold_overflow <<<"$json")" 0
expect_eq "ENIs" "$(jq '.enis | length' <<<"$json")" 2
sim_clean


step "a running create hook holds no other ENI's traffic"
# ENI3's first packet starts its 2 s hook; ENI1 (ready) must not wait for it.
echo "+ [cli3] ping -c 1 -W 6 $LAB_SRV4 &"
lab_exec cli3 ping -c 1 -W 6 "$LAB_SRV4" >"$LAB_DIR/cli3.ping" 2>&1 &
cli3_ping=$!
wait_for "[ \"\$(gwlbd_json '.enis[] | select(.id == \"$LAB_ENI3\") | .state')\" = creating ]" 3 ||
	fail "ENI3 is not in state 'creating' while its hook runs"
ok "ENI3 is creating (hook running)"
echo "+ [cli1] ping -c 5 -i 0.2 -W 1 $LAB_SRV4"
out=$(lab_exec cli1 ping -c 5 -i 0.2 -W 1 -w 4 "$LAB_SRV4" 2>&1) || true
echo "$out" | tail -n 2
grep -q " 5 received" <<<"$out" || fail "ENI1 lost packets while ENI3's hook ran"
max=$(sed -n 's|^rtt .* = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
[ -n "$max" ] && [ "${max%.*}" -lt 500 ] || fail "ENI1's max rtt $max ms while ENI3's hook ran: it waited"
expect_eq "ENI3 still creating after ENI1's pings" \
	"$(gwlbd_json '.enis[] | select(.id == "'"$LAB_ENI3"'") | .state')" creating
ok "ENI1 answered within $max ms while ENI3's hook was still running"
wait "$cli3_ping" || fail "ENI3's first ping was not answered after its hook"
ok "ENI3's first ping answered: $(grep -o 'time=[0-9.]* ms' "$LAB_DIR/cli3.ping")"

step "--hold-max 0: the first packet of a new ENI is dropped and counted"
lab_gwlbd_stop
lab_gwlbd_start --hold-max 0 -c "$LAB_DIR/slowhook.sh" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
	fail "could not start gwlbd --hold-max 0"
echo "+ [cli3] ping -c 1 -W 4 $LAB_SRV4 (expect no reply)"
out=$(lab_exec cli3 ping -c 1 -W 4 "$LAB_SRV4" 2>&1 || true)
echo "$out" | tail -n 2
grep -q " 0 received" <<<"$out" || fail "with --hold-max 0 the first ping during a 2 s hook was answered"
json=$(lab_health /json)
over=$(jq -r '[.hold.overflow, .drops.hold_overflow] | max' <<<"$json")
expect_gt "hold overflow count with --hold-max 0" "$over" 0
# Dropping the packets that arrive during the hook must not stop the ENI from being created.
echo "+ [cli3] ping -c 1 -W 1 $LAB_SRV4, repeated until ENI3 is ready (at most 8 s)"
wait_for "lab_exec cli3 ping -c 1 -W 1 $LAB_SRV4; [ \"\$(gwlbd_json '.enis[] | select(.id == \"$LAB_ENI3\") | .state')\" = ready ]" 8 ||
	fail "with --hold-max 0 ENI3 never became ready although cli3 kept sending (enis: $(lab_health /json | jq -c '[.enis[] | {id, state}]'))"
ok "ENI3 created and ready with --hold-max 0"
ping_ok cli3 "$LAB_SRV4" 2

echo
echo "PASS: $TEST_NAME"
