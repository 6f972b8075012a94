#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nft-rules (gwlbnf-nft-rules(5)) with two clients, each behind its own ENI:
# - a per-ENI template that names cli1's gwi drops TCP 8000 and UDP 7 for cli1's ENI only,
#   in that ENI's own table inet gwlbnf-eni-<name>; cli2's ENI has the same template but
#   its traffic passes;
# - a broken global file is reported with file:line and nft's message while traffic keeps
#   flowing and the good file stays loaded;
# - SIGHUP picks up a new file and replaces (not duplicates) a changed one;
# - idle DESTROY (-t 3) and SIGTERM leave no gwlbnf-eni-* table and no global table behind.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "no nft(8)"
lab_test_lab 2

ENI2=$(lab_eni_of 2)
GWI1=gwi-$(lab_eni_b60 "$LAB_ENI1")
GWI2=gwi-$(lab_eni_b60 "$ENI2")
T1=gwlbnf-eni-$(lab_eni_b60 "$LAB_ENI1")
T2=gwlbnf-eni-$(lab_eni_b60 "$ENI2")
RULES=$LAB_DIR/nft-rules
mkdir -p "$RULES/eni.d"

cat >"$RULES/10-good.nft" <<NFT
table inet lab-good {
	chain forward {
		type filter hook forward priority filter + 5; policy accept;
		counter comment "version 1"
	}
}
NFT
cat >"$RULES/eni.d/10-block.nft" <<NFT
# Every ENI gets this; only cli1's gwi is in the set, and each table sees its own \$gwi.
table inet \$eni_table {
	set blocked {
		type ifname
		elements = { "$GWI1" }
	}
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname \$gwi iifname @blocked tcp dport $LAB_HTTP_PORT counter drop
		iifname \$gwi iifname @blocked udp dport $LAB_ECHO_PORT counter drop
		iifname \$gwi meta mark & 0x0000ffff == \$eni_mark ct original zone \$eni_zone counter
		meta mark \$eni_rtable counter comment "never matches: shows \$eni_rtable"
	}
}
NFT

lab_gwlbd_start -t 3 -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" \
	--nft-rules "$RULES" --logging policy=info || fail "could not start gwlbd"
pid=$LAB_GWLBD_PID

tables()
{
	lab_exec app nft list tables | awk '{ print $3 }' | sort | tr '\n' ' '
}

curl_ok()
{
	echo "+ [$1] curl http://$LAB_SRV4:$LAB_HTTP_PORT/"
	lab_exec "$1" curl -s -o /dev/null -m 5 "http://$LAB_SRV4:$LAB_HTTP_PORT/"
}

step "the good global file is applied at start"
wait_for "lab_exec app nft list table inet lab-good" 5 || fail "table inet lab-good missing; $(tables)"
ok "table inet lab-good: $(tables)"

step "cli1's ENI: TCP $LAB_HTTP_PORT and UDP $LAB_ECHO_PORT dropped by its template"
ping_ok cli1 "$LAB_SRV4" 2
if curl_ok cli1; then
	fail "curl from cli1 got through: its ENI's template should drop TCP $LAB_HTTP_PORT"
fi
ok "curl from cli1 blocked"
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/oneshot.py" "$LAB_SRV4" "$LAB_ECHO_PORT" blocked)
expect_eq "UDP echo from cli1" "$out" TIMEOUT

step "cli2's ENI: same template, its own table, traffic passes"
curl_ok cli2 || fail "curl from cli2 failed: cli2's ENI must not be blocked"
ok "curl from cli2 went through"
udp_echo cli2 "$LAB_SRV4" "$LAB_ECHO_PORT" nft-cli2

step "nft list ruleset in app: one table per ENI"
ts=$(tables)
echo "tables: $ts"
[[ " $ts " == *" $T1 "* ]] || fail "no table inet $T1 for cli1's ENI in: $ts"
[[ " $ts " == *" $T2 "* ]] || fail "no table inet $T2 for cli2's ENI in: $ts"
ok "tables $T1 and $T2"
r1=$(lab_exec app nft list table inet "$T1")
echo "$r1"
grep -q "iifname \"$GWI1\" iifname @blocked tcp dport $LAB_HTTP_PORT counter packets [1-9]" <<<"$r1" ||
	fail "cli1's table: the TCP drop rule with \$gwi = $GWI1 counted no packet"
r2=$(lab_exec app nft list table inet "$T2")
grep -q "iifname \"$GWI2\" iifname @blocked tcp dport $LAB_HTTP_PORT counter packets 0 " <<<"$r2" ||
	fail "cli2's table: expected its own \$gwi ($GWI2) and no drop; got: $r2"
ok "each ENI's table names its own gwi; only cli1's drops"
# the per-ENI state's values reach the template: mark, zone and route table of cli2's ENI
m2=$(gwlbd_json ".enis[] | select(.gwi == \"$GWI2\") | .mark")
z2=$(gwlbd_json ".enis[] | select(.gwi == \"$GWI2\") | .zone")
t2=$(gwlbd_json ".enis[] | select(.gwi == \"$GWI2\") | .route_table")
expect_gt "cli2's ENI mark" "$m2" 0
grep -qE "meta mark & 0x0000ffff == $(printf '0x%08x' "$m2") ct original zone $z2 counter packets [1-9]" <<<"$r2" &&
	grep -q "meta mark $(printf '0x%08x' "$t2") counter" <<<"$r2" ||
	fail "cli2's table: \$eni_mark/\$eni_zone/\$eni_rtable are not the ENI's mark $m2, zone $z2, table $t2 (or the rule counted nothing): $r2"
ok "cli2's template saw \$eni_mark = $m2, \$eni_zone = $z2, \$eni_rtable = $t2 and matched its traffic"

step "a broken global file: file:line and nft's message, the rest untouched"
cat >"$RULES/20-broken.nft" <<NFT
table inet lab-broken {
	chain c {
		tcp dport 22 frobnicate
	}
}
NFT
kill -HUP "$pid"
wait_for "grep -q '20-broken.nft:3: syntax error' '$LAB_DIR/gwlbd.log'" 10 ||
	fail "no 'nft-rules/20-broken.nft:3: syntax error' in gwlbd's log"
grep "20-broken.nft" "$LAB_DIR/gwlbd.log"
ok "reported with file, line and nft's message"
ts=$(tables)
[[ " $ts " != *" lab-broken "* ]] || fail "table lab-broken exists though its file is broken"
[[ " $ts " == *" lab-good "* ]] || fail "lab-good gone after a reload with a broken file: $ts"
ok "lab-good still loaded, lab-broken not created"
udp_echo cli2 "$LAB_SRV4" "$LAB_ECHO_PORT" still-flowing
kill -0 "$pid" || fail "gwlbd died"
out=$(lab_gwlbctl reload)
echo "$out"
grep -q "20-broken.nft:3: syntax error" <<<"$out" || fail "gwlbctl reload does not report the broken file"
ok "gwlbctl reload reports it too"
rm "$RULES/20-broken.nft"

step "SIGHUP: a new file is applied, a changed one replaced"
cat >"$RULES/30-new.nft" <<NFT
table ip lab-new {
	chain input {
		type filter hook input priority filter; policy accept;
		counter
	}
}
NFT
sed -i 's/version 1/version 2/' "$RULES/10-good.nft"
kill -HUP "$pid"
wait_for "lab_exec app nft list table ip lab-new" 10 || fail "table ip lab-new not created on SIGHUP; $(tables)"
ok "table ip lab-new after SIGHUP"
g=$(lab_exec app nft list table inet lab-good)
expect_eq "lab-good rules with 'version 2'" "$(grep -c 'comment "version 2"' <<<"$g")" 1
expect_eq "lab-good rules with 'version 1'" "$(grep -c 'comment "version 1"' <<<"$g" || true)" 0

step "idle DESTROY (-t 3) removes each ENI's table"
wait_for "! lab_exec app nft list tables | grep -q gwlbnf-eni-" 20 ||
	fail "ENI tables still there after the ENIs went idle: $(tables)"
ok "no gwlbnf-eni-* table: $(tables)"
ping_ok cli1 "$LAB_SRV4" 2
wait_for "lab_exec app nft list table inet $T1" 5 || fail "cli1's ENI came back without its table"
ok "cli1's ENI back, with table $T1"

step "SIGTERM: no table of gwlbd's left"
lab_gwlbd_stop
ts=$(tables)
echo "tables after stop: '$ts'"
[[ " $ts " != *" gwlbnf-eni-"* ]] || fail "ENI tables left after SIGTERM: $ts"
[[ " $ts " != *" lab-good "* && " $ts " != *" lab-new "* ]] || fail "global files' tables left after SIGTERM: $ts"
ok "app has no gwlbnf-eni-* and no global file's table"

echo
echo "PASS: $TEST_NAME"
