#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The cidr verdict module and the kernel sets behind it, through gwlbsim + gwlbd --policy with
#   module = cidr allow-file=(cli1's /24) deny-file=(cli2's /24 and /64) block-timeout=4
#   module = sets deny-port=9 block-port=5555     (test module: feeds cidr_block4, drops port 9)
#   module = accept
# cli1 (allowed) downloads without a packet going to userspace; cli2 (denied) gets nothing and
# the queue counter does not move while its rule counter does; cli3 is judged in userspace. A
# packet of cli3 to port 5555 puts it into cidr_block4: blocked until the element times out.
# A TCP connection to port 9 is dropped on its SYN: its retransmits are dropped in the kernel
# by the sticky-drop set (the queue sees that flow once) and the element is in dropflow4. A
# SIGHUP with the same sets keeps the block set's elements.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
testmodir=$top_builddir/tests/unit/.libs
[ -e "$modir/verdict_cidr.so" ] || skip "cidr verdict module not built ($modir)"
[ -e "$testmodir/verdict_sets.so" ] || skip "test module verdict_sets not built (make check)"

lab_test_lab 3
CLI1=198.19.1.2
CLI2=198.19.2.2
CLI3=198.19.3.2

printf '# lab client 1\n198.19.1.0/24\n' >"$LAB_DIR/allow.txt"
printf '# lab client 2, both families\n198.19.2.0/24\nfd00:19:2::/64   # v6\n' >"$LAB_DIR/deny.txt"
cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1
drop-flow-timeout = 60

[policy]
module = cidr allow-file=$LAB_DIR/allow.txt deny-file=$LAB_DIR/deny.txt block-timeout=4
module = sets deny-port=9 block-port=5555
module = accept

[module-path]
dir = $modir
dir = $testmodir
EOF2
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" --logging policy=info -c "$LAB_HOOK" \
	-r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"

queued() { gwlbd_json '.policy.queues[0].received // 0'; }
# rule_packets SET: packets counted by the (first) policy_pre rule that looks up @SET.
rule_packets()
{
	lab_exec app nft list chain inet gwlbnf policy_pre 2>/dev/null |
		grep -m1 "@$1 " | sed -n 's/.* counter packets \([0-9]*\) .*/\1/p'
}
# fails NODE URL: curl gets nothing within 3 s.
fails()
{
	local rc=0
	echo "+ [$1] curl -s -m 3 -o /dev/null $2"
	lab_exec "$1" curl -s -g -m 3 -o /dev/null "$2" || rc=$?
	[ "$rc" != 0 ] || fail "$2 from $1 succeeded, expected it blocked"
	ok "$2 from $1 fails (curl status $rc)"
}

step "the sets and their rules in gwlbd's table"
expect_eq "/json declared sets" "$(gwlbd_json '[.policy.sets[].name] | join(",")')" \
	"cidr_block4,cidr_block6,cidr_deny4,cidr_deny6,cidr_allow4,cidr_allow6"
table=$(lab_exec app nft list table inet gwlbnf 2>/dev/null) || fail "no table inet gwlbnf"
for want in "set cidr_deny4 {" "elements = { 198.19.2.0/24 }" "elements = { fd00:19:2::/64 }" \
	"elements = { 198.19.1.0/24 }" "set cidr_block4 {" "timeout 4s" \
	"ip saddr @cidr_deny4 counter packets 0" "ip6 saddr @cidr_deny6 counter packets 0" \
	"ip saddr @cidr_block4 counter packets 0" "ip saddr @cidr_allow4 ct mark set" \
	"@dropflow4 counter packets 0 bytes 0 drop"; do
	grep -qF "$want" <<<"$table" || fail "'$want' not in nft list table inet gwlbnf: $table"
done
grep -A12 'set cidr_deny4' <<<"$table" | grep -q 'flags interval' ||
	fail "cidr_deny4 is not an interval set: $table"
ok "interval sets with the prefixes, block sets with a 4 s timeout, lookup rules with counters"

step "cli1 (allowed prefix): accepted in the kernel, nothing queued"
q0=$(queued)
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_eq "packets queued for cli1's download" "$(( $(queued) - q0 ))" 0
expect_gt "cidr_allow4 rule packets" "$(rule_packets cidr_allow4)" 0
ct=$(lab_exec app conntrack -L -p tcp --dport "$LAB_HTTP_PORT" --src "$CLI1" 2>/dev/null)
[ -n "$(ct_with_decision 1 <<<"$ct")" ] || fail "cli1's flow has no accepted decision in conntrack: $ct"
ok "cli1's flow carries the accepted decision (mark bits 16-17 = 1) without a verdict from userspace"

step "cli2 (denied prefix): dropped in the kernel before the queue"
q0=$(queued)
fails cli2 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
fails cli2 "http://[$LAB_SRV6]:$LAB_HTTP_PORT/blob"
echo "+ [cli2] ping -c 2 -W 1 $LAB_SRV4"
if lab_exec cli2 ping -c 2 -W 1 "$LAB_SRV4" >/dev/null 2>&1; then
	fail "ping from the denied cli2 got replies"
fi
ok "ping from cli2 gets no reply"
expect_gt "cidr_deny4 rule packets" "$(rule_packets cidr_deny4)" 2
expect_gt "cidr_deny6 rule packets" "$(rule_packets cidr_deny6)" 0
expect_eq "packets of the denied client queued to userspace" "$(( $(queued) - q0 ))" 0
expect_eq "cidr module saw packets from cli1 or cli2" "$(gwlbd_json \
	'.policy.modules[] | select(.name == "cidr") | .counters.queued')" 0

step "cli3 (no list): judged in userspace"
q0=$(queued)
download_ok cli3 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
expect_gt "packets queued for cli3's download" "$(( $(queued) - q0 ))" 0
ping_ok cli3 "$LAB_SRV4" 3

step "a module feeds cidr_block4: cli3 blocked until the element times out"
echo "+ [cli3] one UDP datagram to $LAB_SRV4:5555"
lab_exec cli3 "$PYTHON" -c 'import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"report me", (sys.argv[1], 5555))' \
	"$LAB_SRV4"
wait_for "lab_exec app nft list set inet gwlbnf cidr_block4 2>/dev/null | grep -q '$CLI3 '" 5 ||
	fail "cli3 did not appear in cidr_block4: $(lab_exec app nft list set inet gwlbnf cidr_block4)"
ok "$(lab_exec app nft list set inet gwlbnf cidr_block4 | grep -o "$CLI3 [^}]*")"
expect_eq "sets module set_add to cidr_block4" "$(gwlbd_json \
	'.policy.modules[] | select(.name == "sets") | .counters.block_ok')" 1
b0=$(rule_packets cidr_block4)
echo "+ [cli3] ping -c 2 -W 1 $LAB_SRV4"
if lab_exec cli3 ping -c 2 -W 1 "$LAB_SRV4" >/dev/null 2>&1; then
	fail "ping from the blocked cli3 got replies (its flow was accepted before: the block list must cut it)"
fi
ok "ping from blocked cli3 gets no reply"
expect_gt "cidr_block4 rule packets" "$(rule_packets cidr_block4)" "$b0"
wait_for "! lab_exec app nft list set inet gwlbnf cidr_block4 2>/dev/null | grep -q '$CLI3 '" 15 ||
	fail "cli3's block did not time out"
ok "cli3's element timed out"
ping_ok cli3 "$LAB_SRV4" 3

step "sticky drop: a flow dropped on its first packet stays dropped in the kernel"
q0=$(queued)
s0=$(rule_packets dropflow4)
fails cli3 "http://$LAB_SRV4:9/"
q1=$(queued)
echo "queued during the attempt: $((q1 - q0)); dropflow4 rule packets: $s0 -> $(rule_packets dropflow4)"
expect_eq "packets of the port-9 flow queued to userspace" "$((q1 - q0))" 1
expect_gt "SYN retransmits dropped by the dropflow4 rule" "$(rule_packets dropflow4)" "$s0"
expect_eq "/json sticky_drops.requested" "$(gwlbd_json .policy.sticky_drops.requested)" 1
set4=$(lab_exec app nft list set inet gwlbnf dropflow4)
grep -qE "tcp \. $CLI3 \. $LAB_SRV4 \. [0-9]+ \. 9 expires" <<<"$set4" ||
	fail "no element for cli3's port-9 flow in dropflow4: $set4"
ok "$(grep -oE "tcp \. $CLI3 \. [^,}]*" <<<"$set4")"

step "SIGHUP with the same sets keeps the dynamic elements"
lab_exec app nft add element inet gwlbnf cidr_block4 '{ 192.0.2.99 timeout 1h }'
kill -HUP "$LAB_GWLBD_PID"
wait_for "[ \"\$(gwlbd_json .policy.reloads)\" = 1 ]" 10 || fail "the policy was not reloaded"
table=$(lab_exec app nft list table inet gwlbnf)
grep -q "192.0.2.99 timeout 1h" <<<"$table" || fail "cidr_block4 lost its element on reload: $table"
grep -qF "elements = { 198.19.2.0/24 }" <<<"$table" || fail "cidr_deny4 lost its prefixes: $table"
grep -qE "tcp \. $CLI3 \. $LAB_SRV4" <<<"$table" || fail "dropflow4 lost its element: $table"
ok "block, deny and dropflow sets kept across the reload"
fails cli2 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"

lab_gwlbd_stop
if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
	fail "table inet gwlbnf left after SIGTERM"
fi
ok "no gwlbnf table after SIGTERM"

echo
echo "PASS: $TEST_NAME"
