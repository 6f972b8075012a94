#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbnf-ct against real conntrack entries of three ENIs (an idle TCP connection, pings and
# UDP echo per client, plus entries in zone 0 that name their ENI by the ct mark only):
# list shows exactly one ENI's entries with its id, count agrees with conntrack -L, flush
# removes exactly one ENI's entries; ENIs named by id, bare hex, gwi and index; the state
# file stands in for a stopped gwlbd; SIGTERM and an idle DESTROY (-t 2) flush the ENIs'
# entries in gwlbd itself.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
[ -x "$GWLBNF_CT" ] || skip "gwlbnf-ct not built ($GWLBNF_CT)"

lab_test_lab 3
STATE=$LAB_DIR/enis.state

ct() { lab_exec app "$GWLBNF_CT" --socket "$LAB_DIR/ctl.sock" --state-file "$STATE" "$@"; }
gwi_of() { echo "gwi-$(lab_eni_b60 "$(lab_eni_of "$1")")"; }

# Entries of ENI index $1 by conntrack -L itself: zone-orig (or zone) = index, or, with no
# zone, mark bits 0-15 = index.
ct_count()
{
	lab_exec app conntrack -L 2>/dev/null | awk -v i="$1" '{
		o = -1
		if (match($0, /zone-orig=[0-9]+/)) o = substr($0, RSTART + 10, RLENGTH - 10) + 0
		else if (match($0, / zone=[0-9]+/)) o = substr($0, RSTART + 6, RLENGTH - 6) + 0
		else if (match($0, /mark=[0-9]+/)) o = (substr($0, RSTART + 5, RLENGTH - 5) + 0) % 65536
		if (o == i) n++
	} END { print n + 0 }'
}

# A zone-0 entry that names ENI index $1 only by its ct mark ($2 = decision bits).
ct_insert_mark()
{
	lab_exec app conntrack -I -p udp -s "10.99.$1.1" -d 10.99.0.2 --sport 999 --dport "$((1000 + $1))" \
		-t 600 -m "$(($2 * 65536 + $1))" >/dev/null 2>&1 || fail "conntrack -I (mark $1) failed"
}

# One in zone $1 (original direction), as gwlbd's zone rule makes them.
ct_insert_zone()
{
	lab_exec app conntrack -I -p tcp -s "10.98.$1.1" -d 10.98.0.2 --sport 999 --dport 80 \
		--state ESTABLISHED -t 600 --orig-zone "$1" -m "$1" >/dev/null 2>&1 ||
		fail "conntrack -I (zone $1) failed"
}

cat >"$LAB_DIR/idle.py" <<'EOF'
# A TCP connection that stays open and silent: its conntrack entry lives on, unrefreshed.
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected", flush=True)
time.sleep(int(sys.argv[3]))
EOF

traffic()
{
	local k
	for k in "$@"; do
		ping_ok "cli$k" "$LAB_SRV4" 2
		udp_echo "cli$k" "$LAB_SRV4" "$LAB_ECHO_PORT" "ct-$k"
	done
}

step "three ENIs with an idle TCP connection, pings and UDP each"
lab_gwlbd_start || fail "could not start gwlbd"
traffic 1 2 3
declare -A IDX
for k in 1 2 3; do
	IDX[$k]=$(gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "$k")\") | .index")
	[[ ${IDX[$k]} =~ ^[0-9]+$ ]] || fail "no index for $(gwi_of "$k") in /json"
	lab_bg "cli$k" "idle$k" "$PYTHON" "$LAB_DIR/idle.py" "$LAB_SRV4" "$LAB_HTTP_PORT" 600
	wait_for "lab_exec app conntrack -L -p tcp 2>/dev/null | grep -q 'ESTABLISHED src=198.19.$k.2 .*dport=$LAB_HTTP_PORT .*zone-orig=${IDX[$k]}'" 10 ||
		fail "no ESTABLISHED TCP entry from cli$k in zone ${IDX[$k]}"
done
ok "indexes ${IDX[1]} ${IDX[2]} ${IDX[3]}, each with an established TCP entry in its zone"
# Zone 0, ENI named by the mark only: ENI 2 accepted, ENI 1 dropped.
ct_insert_mark "${IDX[2]}" 1
ct_insert_mark "${IDX[1]}" 2
lab_exec app conntrack -L 2>/dev/null | sed -n '1,20p'

step "list: one ENI's entries only, decoded to its id, gwi and decision"
out=$(ct list "eni-$LAB_ENI1")
echo "$out"
want=$(ct_count "${IDX[1]}")
[ "$want" -ge 4 ] || fail "conntrack -L has only $want entries of ENI 1, expected TCP, ICMP, UDP and the mark one"
expect_eq "list eni-$LAB_ENI1: entries" "$(tail -n +2 <<<"$out" | wc -l)" "$want"
awk -v e="eni-$LAB_ENI1" -v g="$(gwi_of 1)" -v i="${IDX[1]}" 'NR > 1 && ($1 != e || $2 != g || $3 != i) { bad = 1 }
	END { exit bad }' <<<"$out" || fail "list eni-$LAB_ENI1 shows a line of another ENI"
grep -q "dropped *udp *- *10.99.${IDX[1]}.1:999 " <<<"$out" ||
	fail "the zone-0 entry with mark ${IDX[1]} (dropped) is not in ENI 1's list as dropped"
grep -q "ESTABLISHED *198.19.1.2:[0-9]* *$LAB_SRV4:$LAB_HTTP_PORT" <<<"$out" || fail "cli1's TCP connection is not listed"
grep -q "198.19.[23].2" <<<"$out" && fail "list of ENI 1 shows cli2's or cli3's flows"
ok "list eni-$LAB_ENI1: $want entries, all with eni-$LAB_ENI1 $(gwi_of 1) index ${IDX[1]}"
for ref in "$(gwi_of 1)" "gwo-$(lab_eni_b60 "$LAB_ENI1")" "${IDX[1]}" "$LAB_ENI1"; do
	expect_eq "list $ref: entries" "$(ct list "$ref" | tail -n +2 | wc -l)" "$want"
done
json=$(ct -j list "$(gwi_of 2)")
expect_eq "list -j: source" "$(jq -r .source <<<"$json")" gwlbd
expect_eq "list -j ENI 2: entries of other ENIs" \
	"$(jq --arg e "eni-$LAB_ENI2" --argjson i "${IDX[2]}" '[.entries[] | select(.eni != $e or .index != $i)] | length' <<<"$json")" 0
expect_eq "list -j ENI 2: its mark-only entry is accepted" \
	"$(jq -r '.entries[] | select(.original.src == "10.99.'"${IDX[2]}"'.1") | "\(.decision) \(.zone_orig) \(.mark % 65536)"' <<<"$json")" \
	"accepted 0 ${IDX[2]}"
expect_eq "list -j ENI 2: TCP entry in its zone" \
	"$(jq -r '[.entries[] | select(.proto == 6 and .state == "ESTABLISHED" and .zone_orig == '"${IDX[2]}"')] | length' <<<"$json")" 1

step "count: per-ENI totals as conntrack -L has them"
out=$(ct count)
echo "$out"
for k in 1 2 3; do
	n=$(ct_count "${IDX[$k]}")
	awk -v e="eni-$(lab_eni_of "$k")" -v i="${IDX[$k]}" -v n="$n" '$1 == e && $3 == i && $4 == n { f = 1 }
		END { exit !f }' <<<"$out" || fail "count: no line 'eni-$(lab_eni_of "$k") ... ${IDX[$k]} $n'"
	ok "count: ENI $k (index ${IDX[$k]}) has $n entries, as conntrack -L"
done
expect_eq "count -j ENI 3 by bare hex" "$(ct -j count "$LAB_ENI3" | jq -c '[.enis[] | [.index, .entries]]')" \
	"[[${IDX[3]},$(ct_count "${IDX[3]}")]]"

step "flush by gwi: exactly ENI 2's entries go"
before1=$(ct_count "${IDX[1]}") before2=$(ct_count "${IDX[2]}") before3=$(ct_count "${IDX[3]}")
out=$(ct flush "$(gwi_of 2)")
echo "$out"
grep -qx "eni-$LAB_ENI2 ($(gwi_of 2), index ${IDX[2]}): $before2 conntrack entries flushed" <<<"$out" ||
	fail "flush did not say it flushed the $before2 entries of ENI 2"
expect_eq "conntrack -L: entries of ENI 2 left" "$(ct_count "${IDX[2]}")" 0
lab_exec app conntrack -L 2>/dev/null | grep -q "zone-orig=${IDX[2]}\b" && fail "conntrack -L still shows zone-orig=${IDX[2]}"
expect_eq "conntrack -L: entries of ENI 1 left" "$(ct_count "${IDX[1]}")" "$before1"
expect_eq "conntrack -L: entries of ENI 3 left" "$(ct_count "${IDX[3]}")" "$before3"
expect_eq "flush by index again" "$(ct -j flush "${IDX[2]}" | jq .flushed)" 0
expect_eq "list ENI 2 after the flush" "$(ct list "${IDX[2]}")" "no conntrack entries of ${IDX[2]}"

step "errors: exit codes and messages"
rc=0; err=$(ct list eni-0123456789abcdef0 2>&1) || rc=$?
expect_eq "an ENI gwlbd does not have: exit" "$rc" 3
grep -q "is not one of gwlbd's ENIs" <<<"$err" || fail "no clear message for an unknown ENI: $err"
rc=0; err=$(ct flush 70000 2>&1) || rc=$?
expect_eq "index 70000: exit" "$rc" 2
grep -q "out of range" <<<"$err" || fail "no clear message for index 70000: $err"
rc=0; ct flush >/dev/null 2>&1 || rc=$?
expect_eq "flush without ENI: exit" "$rc" 2

step "SIGTERM: gwlbd's DESTROY flushes every ENI's entries"
lab_gwlbd_stop
for k in 1 3; do
	expect_eq "entries of ENI $k after SIGTERM" "$(ct_count "${IDX[$k]}")" 0
done
grep -q "conntrack entries (zone/mark ${IDX[1]}) flushed" "$LAB_DIR/gwlbd.log" ||
	fail "gwlbd did not log the flush of index ${IDX[1]}"
grep "conntrack entries" "$LAB_DIR/gwlbd.log"

step "gwlbd stopped: ENIs from the state file"
cat "$STATE"
ct_insert_zone "${IDX[1]}"
ct_insert_mark "${IDX[1]}" 0
ct_insert_zone "${IDX[3]}"
err=$(ct count 2>&1 >/dev/null)
grep -q "ENI names from the state file $STATE" <<<"$err" || fail "no note that the state file was used: $err"
out=$(ct count 2>/dev/null)
echo "$out"
awk -v e="eni-$LAB_ENI1" -v i="${IDX[1]}" '$1 == e && $3 == i && $4 == 2 { f = 1 } END { exit !f }' <<<"$out" ||
	fail "count from the state file: no 'eni-$LAB_ENI1 ... ${IDX[1]} 2'"
expect_eq "list -j from the state file: source" "$(ct -j list "eni-$LAB_ENI1" | jq -r .source)" state-file
expect_eq "list -j from the state file: ENI ids" "$(ct -j list "eni-$LAB_ENI1" | jq -c '[.entries[].eni] | unique')" "[\"eni-$LAB_ENI1\"]"
expect_eq "flush by id from the state file" "$(ct -j flush "eni-$LAB_ENI1" | jq -c '[.source, .index, .flushed]')" \
	"[\"state-file\",${IDX[1]},2]"
expect_eq "entries of ENI 1 left" "$(ct_count "${IDX[1]}")" 0
expect_eq "entries of ENI 3 left" "$(ct_count "${IDX[3]}")" 1
rc=0; ct --state-file "$LAB_DIR/none.state" list "eni-$LAB_ENI1" >/dev/null 2>&1 || rc=$?
expect_eq "no gwlbd and no state file, ENI by id: exit" "$rc" 3
expect_eq "no gwlbd and no state file, ENI by index" \
	"$(ct --state-file "$LAB_DIR/none.state" -j count "${IDX[3]}" | jq -c '[.source, .enis[0].entries]')" '["none",1]'

step "idle DESTROY (-t 2) flushes the destroyed ENI's entries, and only its"
lab_gwlbd_start -t 2 -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd with -t 2"
# Before the ENI exists: entries it left behind are flushed with the ones it makes.
ct_insert_mark "${IDX[1]}" 1
traffic 1
# Right away: -t 2 destroys it 2-3 s after its last packet.
n=$(ct_count "${IDX[1]}")
[ "$n" -ge 3 ] || fail "expected ICMP, UDP and the mark entry of ENI 1 before its DESTROY, found $n"
ok "ENI 1 has $n entries before its idle DESTROY"
expect_eq "ENI 1's index after the restart" "$(grep -c "^eni-$LAB_ENI1 ${IDX[1]}$" "$STATE")" 1
wait_for "! lab_ip app link show $(gwi_of 1)" 15 || fail "$(gwi_of 1) still exists 15 s after traffic stopped (-t 2)"
wait_for "grep -q 'ENI eni-$LAB_ENI1 destroyed' '$LAB_DIR/gwlbd.log'" 5 || fail "gwlbd did not log ENI 1's destroy"
expect_eq "entries of ENI 1 after its DESTROY" "$(ct_count "${IDX[1]}")" 0
expect_eq "entries of ENI 3 (not destroyed) kept" "$(ct_count "${IDX[3]}")" 1
grep "ENI eni-$LAB_ENI1 destroyed" "$LAB_DIR/gwlbd.log" | tail -n 1
grep "ENI eni-$LAB_ENI1 destroyed" "$LAB_DIR/gwlbd.log" | tail -n 1 | grep -q " and $n conntrack entries" ||
	fail "gwlbd's destroy line does not count the $n conntrack entries"
ok "idle DESTROY flushed ENI 1's $n entries and logged the count"
lab_gwlbd_stop
echo
echo "PASS: $TEST_NAME"
