#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbd's options do what they say, seen from outside: --geneve-port moves the GENEVE socket,
# per-protocol flow timeouts age ICMP flows while a UDP flow stays, --flow-max sizes the
# table, the affinity lists pin the workers, --logging raises one section's level; and
# fragmented inner packets (later fragments carry no ports) go through both ways.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_init
lab_up 1 || fail "could not build the namespace lab"
lab_srv_start || fail "could not start the servers"
lab_sim_start --port 7081 || fail "could not start gwlbsim on port 7081"
lab_gwlbd_start --geneve-port 7081 --udpthreads 1 --tunthreads 1 --udpaffinity 1 \
	--tunaffinity 0 -i 100 --timeout-udp 30 --timeout-icmp 2 --flow-max 1024 \
	--logging tunnel=info -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
	fail "could not start gwlbd"

step "--geneve-port 7081"
ping_ok cli1 "$LAB_SRV4" 3
lab_exec app ss -Hlun 'sport = :7081' | grep -q . || fail "nothing listens on UDP 7081"
ok "gwlbd listens on UDP 7081"
[ -z "$(lab_exec app ss -Hlun 'sport = :6081')" ] || fail "something listens on UDP 6081"
ok "nothing on UDP 6081"
expect_eq "/json udp.port" "$(gwlbd_json .udp.port)" 7081

step "timeouts, table size and affinity in /json"
expect_eq "tcp timeout (-i)" "$(gwlbd_json .flowtab.timeouts.tcp)" 100
expect_eq "udp timeout" "$(gwlbd_json .flowtab.timeouts.udp)" 30
expect_eq "icmp timeout" "$(gwlbd_json .flowtab.timeouts.icmp)" 2
expect_eq "other timeout (default)" "$(gwlbd_json .flowtab.timeouts.other)" 120
expect_eq "flow table capacity" "$(gwlbd_json .flowtab.capacity)" 1024
expect_eq "UDP worker CPU" "$(gwlbd_json '.udp.workers[0].cpu')" 1
expect_eq "tun worker CPU" "$(gwlbd_json '.tun.workers[0].cpu')" 0
echo "+ grep Cpus_allowed_list /proc/$LAB_GWLBD_PID/task/*/status"
cpus=$(grep -h Cpus_allowed_list "/proc/$LAB_GWLBD_PID"/task/*/status | awk '{print $2}' | sort | uniq -c)
echo "$cpus"
grep -qE '^ *1 1$' <<<"$cpus" || fail "no thread pinned to CPU 1"
grep -qE '^ *1 0$' <<<"$cpus" || fail "no thread pinned to CPU 0"
ok "one thread on CPU 0, one on CPU 1"

step "per-protocol ageing: the ICMP flow goes after 2 s, the UDP flow stays"
wait_for "[ \"\$(gwlbd_json '.enis[0].flows')\" = 0 ]" 10 ||
	fail "flows did not age out: $(gwlbd_json '.enis[0].flows')"
ok "ping's flow aged out"
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" "stays-$$"
ping_ok cli1 "$LAB_SRV4" 1
expect_eq "flows after UDP + ICMP" "$(gwlbd_json '.enis[0].flows')" 2
sleep 4
expect_eq "flows 4 s later (ICMP 2 s, UDP 30 s)" "$(gwlbd_json '.enis[0].flows')" 1
expect_gt "flow table expired counter" "$(gwlbd_json .flowtab.expired)" 0

step "fragmented inner packets"
echo "+ [cli1] ping -c 3 -s 4000 $LAB_SRV4"
out=$(lab_exec cli1 ping -c 3 -i 0.2 -W 2 -w 6 -s 4000 "$LAB_SRV4" 2>&1) || true
echo "$out" | tail -n 2
grep -q " 3 received, 0% packet loss" <<<"$out" || fail "4000-byte pings (3 fragments each) lost"
ok "4000-byte pings answered"
expect_eq "drops.frag_no_first" "$(gwlbd_json .drops.frag_no_first)" 0
sim_clean

step "--logging tunnel=info"
grep -q "\[tunnel\] info: ENI eni-$LAB_ENI1 ready" "$LAB_DIR/gwlbd.log" ||
	fail "no tunnel info line in the log (default level is important)"
ok "$(grep -m1 '\[tunnel\] info' "$LAB_DIR/gwlbd.log")"

echo
echo "PASS: $TEST_NAME"
