#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ENI lifecycle with -t 2: traffic creates the ENI (CREATE hook with gwlbtun's arguments),
# two idle seconds destroy it (DESTROY hook, interfaces gone), five times over without leaking
# file descriptors (gwlbtun leaked tun fds). Then "idle" must count both directions: an ENI
# kept busy only by appliance -> GWLB traffic must stay.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_lab 1
export HOOK_LOG=$LAB_DIR/hook.log
: >"$HOOK_LOG"
lab_gwlbd_start -t 2 -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd"
pid=$LAB_GWLBD_PID

create_line="CREATE $ENI1_GWI $ENI1_GWO $LAB_ENI1"
destroy_line="DESTROY $ENI1_GWI $ENI1_GWO $LAB_ENI1"

nfd()
{
	ls "/proc/$pid/fd" | wc -l
}

# The fd count once it has stopped moving (a tun fd may be closed a moment after the link
# goes, once no worker can still be reading it).
nfd_settled()
{
	local a b i
	a=$(nfd)
	for i in 1 2 3 4 5 6; do
		sleep 0.5
		b=$(nfd)
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$b"
}

# Wait until both interfaces are gone; print how many seconds that took after $1 (ns).
wait_gone()
{
	local since=$1
	wait_for "! lab_ip app link show $ENI1_GWI && ! lab_ip app link show $ENI1_GWO" 10 ||
		fail "$ENI1_GWI/$ENI1_GWO still exist 10 s after traffic stopped (-t 2)"
	echo $(( ($(date +%s%N) - since) / 1000000 ))
}

# Sleep until the monotonic clock's fraction of a second is $1: with traffic ending just
# before a whole second, an idle check done in truncated seconds would destroy the ENI
# up to a second early. Every round ends its traffic there, so such a bug shows every time.
align_mono()
{
	"$PYTHON" -c '
import sys, time
f = float(sys.argv[1])
now = time.clock_gettime(time.CLOCK_MONOTONIC)
time.sleep((f - now % 1.0) % 1.0)' "$1"
}

fd_ref=
for round in 1 2 3 4 5; do
	step "round $round: traffic creates the ENI"
	align_mono 0.65
	ping_ok cli1 "$LAB_SRV4" 2
	stopped=$(date +%s%N)
	expect_eq "CREATE hook calls" "$(grep -cx "$create_line" "$HOOK_LOG")" "$round"
	lab_ip app link show "$ENI1_GWI" >/dev/null || fail "$ENI1_GWI missing right after traffic"

	step "round $round: idle for 2 s destroys it"
	ms=$(wait_gone "$stopped")
	# -t is a minimum (gwlbtun: "minimum time between last packet seen and ... timed out"):
	# gone before ~2 s of idleness is as wrong as never. $stopped is taken after ping's last
	# reply, so $ms slightly understates the idle time.
	[ "$ms" -ge 1900 ] || fail "interfaces disappeared $ms ms after the last packet, but -t 2 means at least 2 s idle"
	[ "$ms" -le 6000 ] || fail "interfaces disappeared $ms ms after traffic, expected within ~2-5 s"
	ok "interfaces gone $ms ms after the last packet"
	wait_for "[ \$(grep -cx '$destroy_line' '$HOOK_LOG') -ge $round ]" 3 ||
		fail "DESTROY hook not logged with '$destroy_line'; log: $(cat "$HOOK_LOG")"
	expect_eq "DESTROY hook calls" "$(grep -cx "$destroy_line" "$HOOK_LOG")" "$round"
	expect_eq "ENIs in /json" "$(gwlbd_json '.enis | length')" 0
	n=$(nfd_settled)
	if [ -z "$fd_ref" ]; then
		fd_ref=$n
		ok "open fds after the first destroy: $fd_ref"
	else
		expect_eq "open fds after destroy $round (first: $fd_ref)" "$n" "$fd_ref"
	fi
done
echo "hook log:"
cat "$HOOK_LOG"
[ "$(wc -l <"$HOOK_LOG")" = 10 ] || fail "expected exactly 10 hook calls, got $(wc -l <"$HOOK_LOG")"

step "idle counts both directions: only appliance -> client traffic keeps the ENI"
lab_say lab_ip app addr add 198.19.100.250/32 dev lo || fail "cannot add 198.19.100.250 on app lo"
cat >"$LAB_DIR/responder.py" <<'EOF'
# Wait for one datagram, then send the sender a datagram every 0.5 s for 5 s.
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.19.100.250", 5000))
data, peer = s.recvfrom(2048)
print("got", data, "from", peer, flush=True)
end = time.time() + 5
n = 0
while time.time() < end:
    try:
        s.sendto(b"tick %d" % n, peer)
        n += 1
    except OSError as e:
        print("send:", e, flush=True)
    time.sleep(0.5)
print("sent", n, flush=True)
EOF
cat >"$LAB_DIR/listener.py" <<'EOF'
# Send one datagram, then only listen (never send again, so no port unreachable either).
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("198.19.100.250", 5000))
s.send(b"start")
s.settimeout(0.5)
end = time.time() + float(sys.argv[1])
n = 0
while time.time() < end:
    try:
        s.recv(2048)
        n += 1
    except socket.timeout:
        pass
print(n)
EOF
lab_bg app responder "$PYTHON" "$LAB_DIR/responder.py"
resp_pid=$LAB_LAST_PID
wait_for "lab_exec app ss -Hlun 'sport = :5000' | grep -q ." 5 || fail "responder did not start"
echo "+ [cli1] send one datagram to 198.19.100.250:5000, then listen for 8 s"
lab_exec cli1 "$PYTHON" "$LAB_DIR/listener.py" 8 >"$LAB_DIR/listener.out" 2>&1 &
listener=$!
start=$(date +%s%N)
wait_for "lab_ip app link show $ENI1_GWI" 5 || fail "$ENI1_GWI not created by the client's datagram"
lab_say lab_ip app route add 198.19.1.0/24 dev "$ENI1_GWI" || fail "cannot route the client subnet via $ENI1_GWI"
# At 4 s the only traffic for 3.x s has been appliance -> GWLB.
while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 4000 ]; do
	sleep 0.1
done
lab_ip app link show "$ENI1_GWI" >/dev/null ||
	fail "$ENI1_GWI destroyed at 4 s although the appliance kept sending to the client (-t 2 must count both directions)"
ok "$ENI1_GWI still exists after 4 s of appliance -> client traffic only"
wait "$listener" || fail "listener failed: $(cat "$LAB_DIR/listener.out")"
got=$(cat "$LAB_DIR/listener.out")
expect_gt "datagrams the client received from the appliance" "$got" 4
wait "$resp_pid" 2>/dev/null || true
cat "$LAB_DIR/responder.log"
wait_for "! lab_ip app link show $ENI1_GWI" 8 || fail "$ENI1_GWI still exists 8 s after the responder stopped"
ok "$ENI1_GWI destroyed once the responder stopped"
sim_clean

echo
echo "PASS: $TEST_NAME"
