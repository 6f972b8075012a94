#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbctl and gwlbd's control socket, with traffic through gwlbsim and gwlbd --policy:
# what gwlbctl prints agrees with gwlbd's /json (ENIs, packet counts), shows the client's
# flow, the modules' verdicts, the sets in table gwlbnf, the policy; reload says file:line
# when it refuses and keeps the running policy; -j is JSON; exit codes 0/1/2/3 as gwlbctl(8)
# says; a second gwlbd on the same socket is refused; a killed gwlbd's socket is replaced.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
modir=$top_builddir/src/modules/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"
[ -x "$GWLBCTL" ] || fail "gwlbctl not built ($GWLBCTL)"

CLIENT_PORT=45678

# ctl EXPECTED_STATUS ARGS...: run gwlbctl, output in $out/$err, fail unless it exits so.
ctl()
{
	local want=$1 rc=0
	shift
	echo "+ gwlbctl $*"
	lab_gwlbctl "$@" >"$LAB_DIR/ctl.out" 2>"$LAB_DIR/ctl.err" || rc=$?
	out=$(cat "$LAB_DIR/ctl.out")
	err=$(cat "$LAB_DIR/ctl.err")
	[ -z "$out" ] || sed 's/^/  | /' <<<"$out" | head -n 20
	[ -z "$err" ] || sed 's/^/  stderr: /' <<<"$err"
	[ "$rc" = "$want" ] || fail "gwlbctl $*: exit status $rc, expected $want"
}

# ctl_json ARGS...: gwlbctl -j ARGS must succeed and print one JSON object; it is in $out.
ctl_json()
{
	ctl 0 -j "$@"
	jq -e 'type == "object"' <<<"$out" >/dev/null || fail "gwlbctl -j $*: not one JSON object"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "gwlbctl -j $*: more than one line"
	ok "gwlbctl -j $* parses with jq"
}

write_policy()
{
	cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1
bypass = yes

[policy]
module = accept

[module-path]
dir = $modir
EOF2
}

lab_test_lab 1
SOCK=$LAB_DIR/ctl.sock

step "no gwlbd: the connect error, exit 3"
ctl 3 status
grep -qF "gwlbctl: cannot connect to $SOCK: No such file or directory (is gwlbd running?)" <<<"$err" ||
	fail "no clear connect error: $err"
ok "connect error names the socket and the reason"
GWLBCTL_SOCKET=$SOCK "$GWLBCTL" status 2>"$LAB_DIR/ctl.err" && fail "GWLBCTL_SOCKET: status succeeded" ||
	[ $? = 3 ] || fail "GWLBCTL_SOCKET: not exit 3"
grep -qF "$SOCK" "$LAB_DIR/ctl.err" || fail "GWLBCTL_SOCKET not used: $(cat "$LAB_DIR/ctl.err")"
ok "GWLBCTL_SOCKET names the socket"

step "usage errors: exit 2"
ctl 2 frobnicate
grep -q "unknown command 'frobnicate'" <<<"$err" || fail "no 'unknown command' message"
ctl 2
ctl 2 flows --limit many
grep -q "limit" <<<"$err" || fail "bad --limit not named"
ctl 2 enis extra
ctl 0 --help
grep -q "^  flows" <<<"$out" || fail "--help does not list flows"
ctl 0 help flows
grep -q "gwlbctl .*flows \[--eni ENI\] \[--limit N\]" <<<"$out" || fail "help flows: no usage line"
ok "usage errors exit 2, help works"

write_policy
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" -c "$LAB_HOOK" -r "$LAB_HOOK" \
	-p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"

step "the socket: there, 0600"
[ -S "$SOCK" ] || fail "no socket at $SOCK"
expect_eq "socket mode" "$(stat -c %a "$SOCK")" 600

step "traffic from cli1 (TCP source port $CLIENT_PORT)"
echo "+ [cli1] curl --local-port $CLIENT_PORT http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
lab_exec cli1 curl -s -m 20 --local-port "$CLIENT_PORT" -o "$LAB_DIR/dl" \
	"http://$LAB_SRV4:$LAB_HTTP_PORT/blob" || fail "download through gwlbd failed"
[ "$(stat -c %s "$LAB_DIR/dl")" = "$LAB_BLOB_SIZE" ] || fail "download incomplete"
rm -f "$LAB_DIR/dl"
ok "download complete"

step "gwlbctl status"
ctl 0 status
grep -q "^gwlbd .*, up .*, healthy" <<<"$out" || fail "status: no version/uptime/health line"
grep -q "enis 1 " <<<"$out" || fail "status: not 1 ENI"
grep -qF "policy $LAB_DIR/policy.conf" <<<"$out" || fail "status: policy file not shown"
ctl_json status
expect_eq "status -j .enis" "$(jq .enis <<<"$out")" 1

step "gwlbctl enis agrees with /json"
# The connection's last packets may still be on their way: compare once counters settle.
same_counts()
{
	local j c
	j=$(gwlbd_json '.enis[0] | "\(.tunnelIn.packets) \(.tunnelOut.packets)"') || return 1
	c=$(lab_gwlbctl enis | awk -v g="$ENI1_GWI" '$2 == g { print $10, $12 }')
	echo "  /json in/out: $j, gwlbctl enis: $c"
	[ -n "$c" ] && [ "$j" = "$c" ]
}
wait_for same_counts 10 || fail "gwlbctl enis packet counts differ from /json's"
ctl 0 enis
grep -qE "^eni-$LAB_ENI1 +$ENI1_GWI +$ENI1_GWO +ready " <<<"$out" ||
	fail "enis: no line 'eni-$LAB_ENI1 $ENI1_GWI $ENI1_GWO ready'"
head -n 1 <<<"$out" | grep -q "^ENI  *GWI  *GWO  *STATE  *INDEX  *MARK  *ZONE  *TABLE  *PRIO  *RX-PKTS" || fail "enis: no header"
rx=$(awk -v g="$ENI1_GWI" '$2 == g { print $10 }' <<<"$out")
expect_gt "gwlbctl enis RX-PKTS" "$rx" 100
ok "gwlbctl enis lists eni-$LAB_ENI1 on $ENI1_GWI with /json's packet counts"
ctl_json enis
expect_eq "enis -j gwi" "$(jq -r .enis[0].gwi <<<"$out")" "$ENI1_GWI"

step "gwlbctl flows shows the client's flow"
ctl 0 flows
grep -qE "^tcp .*198\.19\.1\.2:$CLIENT_PORT .*eni-$LAB_ENI1 +0x[0-9a-f]{8} " <<<"$out" ||
	fail "flows: no tcp flow of 198.19.1.2:$CLIENT_PORT on eni-$LAB_ENI1"
grep -qE "$LAB_SRV4:$LAB_HTTP_PORT" <<<"$out" || fail "flows: the server end is missing"
ok "flow 198.19.1.2:$CLIENT_PORT <-> $LAB_SRV4:$LAB_HTTP_PORT listed with its cookie"
ctl_json flows --eni "eni-$LAB_ENI1" --limit 5
jq -e ".flows[] | select(.endpoints[].port == $CLIENT_PORT)" <<<"$out" >/dev/null ||
	fail "flows -j --eni: the client's flow is missing"
ctl_json flows --eni 0123456789abcdef0
expect_eq "flows of another ENI" "$(jq '.flows | length' <<<"$out")" 0
ctl 0 flows --limit 1
grep -q "^1 flow shown" <<<"$out" || fail "flows --limit 1: not one flow shown"
ctl 1 flows --eni nonsense
grep -q "bad ENI 'nonsense'" <<<"$err" || fail "flows --eni nonsense: no clear error"

step "gwlbctl modules: accept with accept_flow > 0"
ctl 0 modules
grep -qE "^  accept +[0-9]+ +[0-9]+ +[0-9]+ +[1-9][0-9]* " <<<"$out" ||
	fail "modules: no accept line with ACCEPT-FLOW > 0"
ok "accept module listed with its flow verdicts"
ctl_json modules
expect_gt "modules -j accept_flow" \
	"$(jq '.global[] | select(.name == "accept") | .verdicts.accept_flow' <<<"$out")" 0

step "gwlbctl policy"
ctl 0 policy
grep -q "queue path compat, ct path mark, fail-open" <<<"$out" ||
	grep -q "queue path native" <<<"$out" || fail "policy: no queue/ct path line"
grep -qE "^  0 +[1-9]" <<<"$out" || fail "policy: no counters of queue 0"
ctl_json policy
expect_gt "policy -j top flows" "$(jq '.top_flows | length' <<<"$out")" 0
expect_eq "policy -j queue_path" "$(jq -r .queue_path <<<"$out")" "$(gwlbd_json .policy.queue_path)"

step "gwlbctl sets"
ctl 0 sets
# the sticky-drop sets are always there (drop-flow-timeout defaults to 60 s)
grep -qE "^  dropflow4 +inet_proto \. ipv4_addr \. ipv4_addr \. inet_service \. inet_service +timeout +1m00s" \
	<<<"$out" || fail "sets: the sticky-drop set dropflow4 is not listed"
ok "sets lists the sticky-drop sets"
ctl 1 sets nosuch
grep -q "no set 'nosuch' in table inet gwlbnf" <<<"$err" || fail "sets nosuch: no clear error"
echo "+ [app] nft add set inet gwlbnf ctltest { type ipv4_addr; flags timeout; }; add element 192.0.2.7 timeout 90s"
lab_exec app nft add set inet gwlbnf ctltest '{ type ipv4_addr; flags timeout; }'
lab_exec app nft add element inet gwlbnf ctltest '{ 192.0.2.7 timeout 90s }'
ctl 0 sets
grep -qE "^  ctltest +ipv4_addr +timeout " <<<"$out" || fail "sets: ctltest not listed"
ctl 0 sets ctltest
grep -qE "^  192\.0\.2\.7 +1m30s +1m[0-9]" <<<"$out" || fail "sets ctltest: element with timeout missing"
ok "set ctltest and its element 192.0.2.7 (timeout 1m30s) listed"
ctl_json sets
ctl_json sets ctltest
expect_eq "sets -j element" "$(jq -r .elements[0].key <<<"$out")" 192.0.2.7

step "gwlbctl reload: a broken policy is refused with file:line, the old one stays"
printf '[queue]\ncount = 1\n[policy]\nmodule = accept\nfial = open\n' >"$LAB_DIR/policy.conf"
ctl 1 reload
grep -qF "gwlbctl: reload: $LAB_DIR/policy.conf:5:" <<<"$err" || fail "reload: no file:line in the error"
ok "refused: $err"
ctl_json modules
expect_eq "module still running" "$(jq -r '.global[0].name' <<<"$out")" accept
ping_ok cli1 "$LAB_SRV4" 3
ctl 1 -j reload
jq -e .error <<<"$out" >/dev/null || fail "reload -j: no error object"
write_policy
ctl 0 reload
grep -qF "reloaded $LAB_DIR/policy.conf" <<<"$out" || fail "reload: no 'reloaded' line"
ctl_json policy
expect_eq "reloads" "$(jq .reloads <<<"$out")" 1
expect_eq "reload failures" "$(jq .reload_failures <<<"$out")" 2
ping_ok cli1 "$LAB_SRV4" 3

step "a second gwlbd on the same socket is refused"
rc=0
echo "+ [app] gwlbd --ctl-socket $SOCK --geneve-port 7082"
lab_exec app timeout 10 "$GWLBD" --ctl-socket "$SOCK" --state-file "$LAB_DIR/enis2.state" --geneve-port 7082 \
	>"$LAB_DIR/out2" 2>"$LAB_DIR/err2" || rc=$?
sed 's/^/  stderr: /' "$LAB_DIR/err2"
expect_eq "second gwlbd exit status" "$rc" 1
grep -qF "another gwlbd is running on $SOCK" "$LAB_DIR/err2" || fail "no 'another gwlbd' error"
ctl 0 status
lab_exec app nft list table inet gwlbnf >/dev/null || fail "the first gwlbd's table is gone"
ok "the first gwlbd still answers and keeps its table"

step "a killed gwlbd's socket is replaced"
kill -KILL "$LAB_GWLBD_PID"
wait_for "! kill -0 $LAB_GWLBD_PID" 5 || fail "gwlbd survived SIGKILL"
[ -S "$SOCK" ] || fail "no stale socket left to test with"
ctl 3 status
grep -q "Connection refused (is gwlbd running?)" <<<"$err" || fail "stale socket: no 'Connection refused'"
lab_gwlbd_start -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "gwlbd does not replace a stale socket"
ctl 0 status
grep -q "no policy" <<<"$out" || fail "status without --policy does not say so"
ctl 1 modules
grep -q "no policy is running" <<<"$err" || fail "modules without --policy: no clear error"
ctl 1 reload
ctl 1 sets

step "a clean stop removes the socket"
lab_gwlbd_stop
[ ! -e "$SOCK" ] || fail "socket $SOCK left after SIGTERM"
ok "no socket after SIGTERM"

echo
echo "PASS: $TEST_NAME"
