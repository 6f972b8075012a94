#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Several NFQUEUE queues, one worker each, with flow-stable spreading: with `count = 2` and
# a policy that never decides (so every packet goes to userspace), pings from 16 client
# addresses reach both queues, and every packet of a flow - both directions - lands on the
# same queue (gwlbctl's top flows, where each directional flow says its queue).
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
[ -e "$modir/verdict_log.so" ] || skip "verdict modules not built"
[ -x "$GWLBCTL" ] || skip "gwlbctl not built"

NADDR=16
NPING=4

lab_test_lab 1

cat >"$LAB_DIR/policy.conf" <<EOF
[queue]
count = 2

[policy]
# log decides nothing: every packet is judged in userspace
module = log sample=1000000

[module-path]
dir = $modir
EOF
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" -c "$LAB_HOOK" -r "$LAB_HOOK" \
	-p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"

step "the queue rule spreads over queues 0-1"
ruleset=$(lab_exec app nft list chain inet gwlbnf policy_pre)
grep -qE 'queue (flags [a-z,]+ )?num 0-1|NFQUEUE.*(balance 0:1|num 0 total 2)' <<<"$ruleset" ||
	grep -q 'xt target "NFQUEUE"' <<<"$ruleset" || fail "no queue rule in policy_pre: $ruleset"
expect_eq "workers" "$(gwlbd_json '.policy.queues | length')" 2

step "$NADDR client addresses, $NPING pings each"
for k in $(seq 10 $((10 + NADDR - 1))); do
	lab_ip cli1 addr add "198.19.1.$k/24" dev eth0
done
wait_for "lab_exec cli1 ip -o addr show | grep -q '198.19.1.$((10 + NADDR - 1))/'" 5 ||
	fail "client addresses not added"
for k in $(seq 10 $((10 + NADDR - 1))); do
	# -w: every reply until the deadline, not two round trips after the last request
	out=$(lab_exec cli1 ping -n -q -c "$NPING" -i 0.05 -W 2 -w 10 -I "198.19.1.$k" "$LAB_SRV4" 2>&1) || true
	grep -q " $NPING received" <<<"$out" || fail "ping from 198.19.1.$k: $(tail -n 2 <<<"$out")"
done
ok "$((NADDR * NPING)) echo requests from $NADDR addresses answered"

step "both queues judged packets, each flow on one queue"
q0=$(gwlbd_json '.policy.queues[0].received')
q1=$(gwlbd_json '.policy.queues[1].received')
echo "queue 0: $q0 packets, queue 1: $q1 packets"
expect_gt "queue 0 packets" "$q0" 0
expect_gt "queue 1 packets" "$q1" 0
[ $((q0 + q1)) -ge $((2 * NADDR * NPING)) ] ||
	fail "$((q0 + q1)) packets queued, expected at least $((2 * NADDR * NPING)) (requests and replies)"
ok "$((q0 + q1)) packets judged in userspace"
top=$(lab_gwlbctl -j policy --limit 200)
# per client address: the set of queues its flows (either direction) used
spread=$(jq -r '[.top_flows[] | select(.proto == 1)
	| {a: (if (.src | startswith("198.19.1.")) then .src else .dst end), q: .queue}]
	| group_by(.a) | map("\(.[0].a) \([.[].q] | unique | map(tostring) | join(","))") | .[]' <<<"$top")
echo "$spread"
expect_eq "client addresses seen in top flows" "$(wc -l <<<"$spread")" "$NADDR"
if grep -q "," <<<"$spread"; then
	fail "a flow's packets were judged on two queues: $(grep , <<<"$spread" | head -n 3)"
fi
ok "every flow stayed on one queue, both directions"
expect_eq "flows with requests and replies" \
	"$(jq '[.top_flows[] | select(.proto == 1)] | length' <<<"$top")" "$((2 * NADDR))"
sim_clean

lab_gwlbd_stop
echo
echo "PASS: $TEST_NAME"
