#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbd --policy: verdict modules behind NFQUEUE. With `log` then `accept`, a flow's first
# packet is judged in userspace, the decision lands in its conntrack mark (seen with
# `conntrack -L`) and the rest of a long download never leaves the kernel; gwlbd's table is
# in `nft list ruleset` while it runs and gone after it stops; a broken policy file on
# SIGHUP keeps the running policy (file:line: reason logged) and a good one is reloaded.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"

lab_test_lab 1

write_policy()
{
	cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1
bypass = $1

[policy]
module = log sample=1
module = accept

[module-path]
dir = $modir
EOF2
}

write_policy yes
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" --logging policy=info -c "$LAB_HOOK" \
	-r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"

step "gwlbd's table in the ruleset"
ruleset=$(lab_exec app nft list table inet gwlbnf 2>/dev/null) || fail "no table inet gwlbnf"
grep -q 'chain policy_pre' <<<"$ruleset" || fail "no policy_pre chain: $ruleset"
grep -qE 'queue num 0|NFQUEUE' <<<"$ruleset" || fail "no queue rule: $ruleset"
ok "table inet gwlbnf with policy_pre and its queue rule"
expect_eq "/json policy.queue_path" "$(gwlbd_json .policy.queue_path)" compat

step "first packets judged, the rest offloaded"
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
json=$(lab_health /json)
rx=$(jq '.enis[0].tunnelIn.packets' <<<"$json")
queued=$(jq '.policy.queues[0].received' <<<"$json")
flows=$(jq '.policy.queues[0].flows_accepted' <<<"$json")
echo "packets through gwlbd: $rx, queued to userspace: $queued, flows accepted: $flows"
expect_gt "packets through gwlbd" "$rx" 1000
expect_gt "flows accepted by policy" "$flows" 0
[ "$queued" -lt 20 ] || fail "$queued packets went to userspace: decided flows must stay in the kernel"
ok "only $queued of $rx packets were queued"
expect_gt "accept module's accept_flow verdicts" \
	"$(jq '.policy.modules[] | select(.name == "accept") | .verdicts.accept_flow' <<<"$json")" 0
grep -q "module log:" "$LAB_DIR/gwlbd.log" || fail "the log module logged nothing"
ok "log module: $(grep -m1 'module log:' "$LAB_DIR/gwlbd.log" | cut -c1-160)"

step "the decision is in conntrack"
echo "+ [app] conntrack -L -p tcp --dport $LAB_HTTP_PORT"
ct=$(lab_exec app conntrack -L -p tcp --dport "$LAB_HTTP_PORT" 2>/dev/null)
echo "$ct" | head -n 3
# The decision (bits 16-17) shares the mark with the ENI's index (bits 0-15).
idx=$(gwlbd_json '.enis[0].index')
want=$((65536 + idx))
grep -q "mark=$want " <<<"$ct" ||
	fail "no conntrack entry with mark=$want (decision 'accepted' | ENI index $idx)"
ok "conntrack entry carries the accepted decision and the ENI's index (mark=$want)"

step "SIGHUP with a broken policy keeps the running one"
printf '[queue]\ncount = 1\n[policy]\nmodule = accept\nfial = open\n' >"$LAB_DIR/policy.conf"
kill -HUP "$LAB_GWLBD_PID"
wait_for "grep -q 'reload refused' '$LAB_DIR/gwlbd.log'" 5 || fail "no 'reload refused' log line"
grep -m1 'reload refused' "$LAB_DIR/gwlbd.log" | grep -q 'policy.conf:5' ||
	fail "the refusal does not name file and line: $(grep -m1 'reload refused' "$LAB_DIR/gwlbd.log")"
ok "$(grep -m1 'reload refused' "$LAB_DIR/gwlbd.log" | cut -c1-200)"
expect_eq "reload_failures" "$(gwlbd_json .policy.reload_failures)" 1
ping_ok cli1 "$LAB_SRV4" 3
write_policy yes
kill -HUP "$LAB_GWLBD_PID"
wait_for "[ \"\$(gwlbd_json .policy.reloads)\" = 1 ]" 5 || fail "a good policy was not reloaded"
ok "good policy reloaded"
ping_ok cli1 "$LAB_SRV4" 3

step "clean stop removes the table"
lab_gwlbd_stop
if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
	fail "table inet gwlbnf left after SIGTERM"
fi
ok "no gwlbnf table after SIGTERM"

echo
echo "PASS: $TEST_NAME"
