#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Per-ENI state owned by gwlbd: three ENIs get indexes 1..3, each its own conntrack zone and
# the index in the low bits of its flows' ct mark (nft table inet gwlbnf-net, conntrack -L);
# hooks see the values in GWLBNF_*; a restart keeps every ENI's index (state file), even when
# the ENIs come back in another order; an idle DESTROY removes the ENI's objects and gives
# its index back; SIGTERM removes the table; a broken state file stops gwlbd at start.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"

lab_test_lab 3
STATE=$LAB_DIR/enis.state
export HOOK_LOG=$LAB_DIR/hook.log
: >"$HOOK_LOG"
# The shipped hook, plus one line per call with the GWLBNF_* variables gwlbd exports.
cat >"$LAB_DIR/hook.sh" <<EOF
#!/bin/bash
echo "\$1 \$2 index=\${GWLBNF_INDEX:-} mark=\${GWLBNF_MARK:-} zone=\${GWLBNF_ZONE:-} table=\${GWLBNF_TABLE:-} prio=\${GWLBNF_PRIORITY:-}" >>"$LAB_DIR/env.log"
exec "$LAB_HOOK" "\$@"
EOF
chmod +x "$LAB_DIR/hook.sh"
: >"$LAB_DIR/env.log"
HOOK=$LAB_DIR/hook.sh

gwi_of() { echo "gwi-$(lab_eni_b60 "$(lab_eni_of "$1")")"; }
net_table() { lab_exec app nft list table inet gwlbnf-net; }
index_of() { gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "$1")\") | .index"; }

traffic()
{
	local k
	for k in "$@"; do
		ping_ok "cli$k" "$LAB_SRV4" 2
		expect_eq "cli$k UDP echo" \
			"$(lab_exec "cli$k" "$PYTHON" "$LAB_DIR/udpclient.py" echo "$LAB_SRV4" "$LAB_ECHO_PORT" "st-$k")" \
			"st-$k"
	done
}

step "gwlbd starts with an empty table inet gwlbnf-net"
lab_gwlbd_start -c "$HOOK" -r "$HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd"
out=$(net_table) || fail "no table inet gwlbnf-net after start"
echo "$out" | sed -n '1,40p'
grep -q 'ct original zone set iifname map @eni_zone' <<<"$out" ||
	fail "chain zone_pre has no 'ct original zone set iifname map @eni_zone'"
grep -q 'type filter hook prerouting priority raw' <<<"$out" || fail "zone_pre is not at priority raw"
grep -q 'type filter hook prerouting priority mangle' <<<"$out" || fail "mark_pre is not at priority mangle"
grep -q 'iifname != "gwi-\*" ct mark & 0x0000ffff vmap @eni_return' <<<"$out" ||
	fail "chain mark_pre does not give replies their ENI's mark back"
grep -q '"gwi-.*" :' <<<"$out" && fail "map elements before any ENI"
ok "chains zone_pre (raw) and mark_pre (mangle) and the three maps are there"

step "three ENIs: indexes 1..3, each with its zone, mark, table and priority"
traffic 1 2 3
json=$(lab_health /json)
jq -c '.enis[] | {gwi, index, mark, zone, route_table, rule_priority}' <<<"$json"
expect_eq "distinct indexes" "$(jq -c '[.enis[].index] | sort' <<<"$json")" "[1,2,3]"
declare -A IDX
for k in 1 2 3; do
	g=$(gwi_of "$k")
	i=$(jq --arg g "$g" '.enis[] | select(.gwi == $g) | .index' <<<"$json")
	IDX[$k]=$i
	expect_eq "$g values" \
		"$(jq -c --arg g "$g" '.enis[] | select(.gwi == $g) | [.mark, .zone, .route_table, .rule_priority]' <<<"$json")" \
		"[$i,$i,$((10000 + i)),$((10000 + i))]"
	grep -qx "CREATE $g index=$i mark=$i zone=$i table=$((10000 + i)) prio=$((10000 + i))" "$LAB_DIR/env.log" ||
		fail "CREATE hook of $g did not get GWLBNF_* = $i: $(cat "$LAB_DIR/env.log")"
done
ok "each CREATE hook got GWLBNF_INDEX, _MARK, _ZONE, _TABLE, _PRIORITY"
# The hooks' own arguments stay gwlbtun's four.
expect_eq "hook calls with gwlbtun's 4 arguments" "$(grep -c "^CREATE gwi-[^ ]* gwo-[^ ]* [0-9a-f]\{17\}$" "$HOOK_LOG")" 3

out=$(lab_gwlbctl enis)
echo "$out"
for k in 1 2 3; do
	i=${IDX[$k]}
	awk -v g="$(gwi_of "$k")" -v i="$i" '$2 == g && $5 == i && $6 == i && $7 == i &&
		$8 == 10000 + i && $9 == 10000 + i { f = 1 } END { exit !f }' <<<"$out" ||
		fail "gwlbctl enis: no line for $(gwi_of "$k") with index, mark, zone $i, table and priority $((10000 + i))"
done
ok "gwlbctl enis shows index, mark, zone, table and priority"

step "nft list table inet gwlbnf-net: each gwi with its own zone and mark"
out=$(net_table)
echo "$out"
for k in 1 2 3; do
	g=$(gwi_of "$k") i=${IDX[$k]}
	grep -q "\"$g\" : $i\b" <<<"$out" || fail "eni_zone has no \"$g\" : $i"
	grep -q "\"$g\" : jump eni_$i\b" <<<"$out" || fail "eni_mark has no \"$g\" : jump eni_$i"
	grep -q "$(printf '0x%08x' "$i") : jump eni_$i\b" <<<"$out" || fail "eni_return has no index $i"
	sed -n "/chain eni_$i {/,/}/p" <<<"$out" | grep -q "meta mark set meta mark & 0xffff.... | $(printf '0x%08x' "$i")" ||
		fail "chain eni_$i does not set mark bits 0-15 to $i"
	ok "$g: zone $i, mark $i (chain eni_$i)"
done

step "conntrack -L: each ENI's flows in its zone, its index in the mark's low bits"
ct=$(lab_exec app conntrack -L 2>/dev/null)
for k in 1 2 3; do
	i=${IDX[$k]}
	lines=$(grep "src=198.19.$k.2 " <<<"$ct" || true)
	echo "$lines" | head -n 2
	[ -n "$lines" ] || fail "no conntrack entry from cli$k (198.19.$k.2)"
	grep -q "zone-orig=$i\b" <<<"$lines" || fail "cli$k's flows are not in zone $i (zone-orig=$i)"
	awk -v i="$i" 'match($0, /mark=[0-9]+/) {
		m = substr($0, RSTART + 5, RLENGTH - 5) + 0; if (m % 65536 != i) bad = 1; n++ }
		END { exit bad || !n }' <<<"$lines" ||
		fail "cli$k's flows do not all carry ENI index $i in mark bits 0-15"
	ok "cli$k: flows in zone $i with mark & 0xffff = $i"
done

step "restart: same indexes from the state file, whatever order the ENIs come back in"
cat "$STATE"
for k in 1 2 3; do
	grep -qx "eni-$(lab_eni_of "$k") ${IDX[$k]}" "$STATE" || fail "state file lacks eni-$(lab_eni_of "$k") ${IDX[$k]}"
done
lab_gwlbd_stop
wait_for "! lab_exec app nft list table inet gwlbnf-net" 5 ||
	fail "table inet gwlbnf-net still there after SIGTERM: $(net_table)"
ok "SIGTERM removed table inet gwlbnf-net"
lab_gwlbd_start -c "$HOOK" -r "$HOOK" -p "$LAB_HEALTH_PORT" || fail "could not restart gwlbd"
traffic 3 2 1
for k in 1 2 3; do
	expect_eq "$(gwi_of "$k") index after the restart" "$(index_of "$k")" "${IDX[$k]}"
done
lab_gwlbd_stop

step "idle DESTROY removes the ENI's map elements and chain, and gives its index back"
lab_gwlbd_start -t 2 -c "$HOOK" -r "$HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd with -t 2"
traffic 1
g=$(gwi_of 1) i=${IDX[1]}
net_table | grep -q "\"$g\" : jump eni_$i" || fail "ENI of cli1 not in gwlbnf-net after traffic"
wait_for "! lab_ip app link show $g" 15 || fail "$g still exists 15 s after traffic stopped (-t 2)"
wait_for "grep -q '^DESTROY $g ' '$LAB_DIR/env.log'" 5 || fail "no DESTROY hook for $g"
grep -q "^DESTROY $g index=$i mark=$i zone=$i " "$LAB_DIR/env.log" || fail "DESTROY hook lacks GWLBNF_* for $g"
out=$(net_table)
grep -q "$g" <<<"$out" && fail "gwlbnf-net still mentions $g after DESTROY: $out"
grep -q "chain eni_$i " <<<"$out" && fail "chain eni_$i still there after DESTROY"
grep -q "$(printf '0x%08x' "$i") :" <<<"$out" && fail "eni_return still has index $i after DESTROY"
ok "no element or chain of $g left in gwlbnf-net"
grep -q "^eni-$(lab_eni_of 1) " "$STATE" && fail "state file still holds the destroyed ENI: $(cat "$STATE")"
ok "its index is released in the state file"
lab_gwlbd_stop
lab_exec app nft list table inet gwlbnf-net >/dev/null 2>&1 && fail "table inet gwlbnf-net left after SIGTERM"
ok "and gone after SIGTERM"

step "a broken state file stops gwlbd at start, naming file and line"
printf '# ok\neni-%s 1\neni-%s 1\n' "$(lab_eni_of 2)" "$(lab_eni_of 3)" >"$LAB_DIR/bad.state"
rc=0
lab_exec app timeout 10 "$GWLBD" --ctl-socket "$LAB_DIR/ctl.sock" --state-file "$LAB_DIR/bad.state" \
	-p 0 >"$LAB_DIR/out" 2>"$LAB_DIR/err" || rc=$?
sed 's/^/  stderr: /' "$LAB_DIR/err"
expect_eq "gwlbd exit status with a broken state file" "$rc" 1
grep -q "bad.state:3: index 1 is given twice" "$LAB_DIR/err" || fail "no 'bad.state:3: ...' reason on stderr"
lab_exec app nft list table inet gwlbnf-net >/dev/null 2>&1 && fail "a refused start left table inet gwlbnf-net"
ok "refused with file:line: reason, nothing left in the kernel"

echo
echo "PASS: $TEST_NAME"
