#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Stop = clean, checked by listing the kernel: nft tables, ip -4/-6 rules, ip -4/-6 routes
# of gwlbd's route tables, conntrack entries of gwlbd's zones and marks, gw[io]- links.
# A baseline is listed before gwlbd starts; with three ENIs in different modes, nft-rules
# templates and --policy, with traffic:
#   run 1 (passthrough, route, nat): the idle DESTROY leaves only the daemon's own tables;
#          SIGTERM leaves the baseline.
#   run 2 (local, route, nat): SIGKILL leaves rules and conntrack entries behind; a second
#          gwlbd on another control socket is refused and touches nothing; the restart
#          removes the leftovers and says so in one line (/json counts them), keeps the
#          conntrack entries of the ENIs the state file keeps and flushes the one it does not;
#          traffic works again at once; SIGTERM leaves the baseline.
#   run 3 (passthrough, route, local) on a host with forwarding off and no default route:
#          passthrough works (gwlbd turns on forwarding on its own gwi); route and local
#          get a warning naming what to set, and work once it is set.
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
modir=$top_builddir/src/modules/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"

MAX_ENI=64
lab_test_lab 3

gwi_of() { echo "gwi-$(lab_eni_b60 "$(lab_eni_of "$1")")"; }
index_of() { gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "$1")\") | .index"; }

# Everything of gwlbd's kind in app, one object a line, sorted.
list_tables() { lab_exec app nft list tables | sort; }
list_rules() { local f; for f in -4 -6; do lab_ip app "$f" rule show | sed "s/^/$f /"; done; }
# routes of tables 10001..10000+MAX_ENI, and any route through a gw[io]- device
list_routes()
{
	local f
	for f in -4 -6; do
		lab_ip app "$f" route show table all | awk -v f="$f" -v lo=10001 -v hi=$((10000 + MAX_ENI)) '{
			for (i = 1; i < NF; i++)
				if ($i == "table" && $(i + 1) + 0 >= lo && $(i + 1) + 0 <= hi) { print f, $0; next }
			if ($0 ~ / dev gw[io]-/) print f, $0
		}'
	done
}
# entries of zones 1..MAX_ENI (either direction) or a mark whose bits 0-15 are 1..MAX_ENI
list_ct()
{
	lab_exec app conntrack -L 2>/dev/null | awk -v hi="$MAX_ENI" '{
		o = 0
		if (match($0, /zone(-orig|-reply)?=[0-9]+/)) { z = substr($0, RSTART, RLENGTH); sub(/.*=/, "", z); o = z + 0 }
		if (!o && match($0, /mark=[0-9]+/)) o = (substr($0, RSTART + 5, RLENGTH - 5) + 0) % 65536
		if (o >= 1 && o <= hi) print
	}' | sort
}
list_links() { lab_ip app -o link show | awk -F': ' '$2 ~ /^gw[io]-/ { print $2 }' | sed 's/@.*//' | sort; }
list_all()
{
	echo "## tables"; list_tables
	echo "## rules"; list_rules
	echo "## routes"; list_routes
	echo "## conntrack"; list_ct
	echo "## links"; list_links
}
ct_of() { list_ct | awk -v i="$1" '{
	o = 0
	if (match($0, /zone(-orig|-reply)?=[0-9]+/)) { z = substr($0, RSTART, RLENGTH); sub(/.*=/, "", z); o = z + 0 }
	if (!o && match($0, /mark=[0-9]+/)) o = (substr($0, RSTART + 5, RLENGTH - 5) + 0) % 65536
	if (o == i) n++
} END { print n + 0 }'; }

# expect_baseline WHEN: the listing equals the one before gwlbd started.
expect_baseline()
{
	list_all >"$LAB_DIR/now.txt"
	if ! diff -u "$LAB_DIR/baseline.txt" "$LAB_DIR/now.txt" >"$LAB_DIR/diff.txt"; then
		sed 's/^/  | /' "$LAB_DIR/diff.txt"
		fail "$1: gwlbd left objects behind (diff against the baseline above)"
	fi
	ok "$1: nft tables, rules, routes, conntrack entries and links as before gwlbd started"
}

step "an uplink app <-> srv, an address on lo for local mode, nft-rules and a policy"
lab_uplink 2
lab_ip app addr add 198.19.200.1/32 dev lo
lab_ip app -6 addr add fd00:19:200::1/128 dev lo
lab_sysctl app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
lab_bg app echo-app "$PYTHON" "$LAB_DIR/udpecho.py" "$LAB_ECHO_PORT"
wait_for "lab_exec app ss -Hlun 'sport = :$LAB_ECHO_PORT' | grep -q ." 10 || fail "udp echo in app did not start"
RULES=$LAB_DIR/nft-rules
mkdir -p "$RULES/eni.d"
cat >"$RULES/10-global.nft" <<'NFT'
table inet lab-leftovers {
	chain forward {
		type filter hook forward priority filter + 5; policy accept;
		counter
	}
}
NFT
cat >"$RULES/eni.d/10-count.nft" <<'NFT'
table inet $eni_table {
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname $gwi ct original zone $eni_zone counter
	}
}
NFT
printf '[queue]\ncount = 1\nbypass = yes\n[policy]\nmodule = accept\n[module-path]\ndir = %s\n' \
	"$modir" >"$LAB_DIR/policy.conf"
GWLBD_ARGS=(-p "$LAB_HEALTH_PORT" --max-eni "$MAX_ENI" --nft-rules "$RULES" --policy "$LAB_DIR/policy.conf")
list_all >"$LAB_DIR/baseline.txt"
sed 's/^/  | /' "$LAB_DIR/baseline.txt"
ok "baseline listed"

step "run 1: passthrough, route and nat ENIs with traffic"
lab_gwlbd_start "${GWLBD_ARGS[@]}" -t 8 --mode passthrough \
	--eni-mode "eni-$(lab_eni_of 2)=route" --eni-mode "eni-$(lab_eni_of 3)=nat" ||
	fail "could not start gwlbd"
for k in 1 2 3; do
	ping_ok "cli$k" "$LAB_SRV4" 2
	ping_ok "cli$k" "$LAB_SRV6" 2
	udp_echo "cli$k" "$LAB_SRV4" "$LAB_ECHO_PORT" "run1-$k"
done
sim_clean
list_all >"$LAB_DIR/live.txt"
sed 's/^/  | /' "$LAB_DIR/live.txt"
# the listing sees what gwlbd made: otherwise "as the baseline" would prove nothing
for t in gwlbnf gwlbnf-net "gwlbnf-eni-$(lab_eni_b60 "$(lab_eni_of 1)")"; do
	grep -qx "table inet $t" "$LAB_DIR/live.txt" || fail "live listing lacks table inet $t"
done
expect_eq "live: rules in gwlbd's range (3 ENIs, v4+v6)" \
	"$(list_rules | awk '{ p = $2 + 0 } p > 10000 && p <= 10000 + '"$MAX_ENI"'' | wc -l)" 10
expect_eq "live: routes in gwlbd's tables" "$(list_routes | grep -c ' table 100')" 6
for k in 1 2 3; do
	expect_gt "live: conntrack entries of cli$k's ENI" "$(ct_of "$(index_of "$k")")" 0
done

step "run 1: the idle DESTROY (-t 8) leaves only the daemon's own tables"
wait_for "[ \"\$(gwlbd_json '.enis | length')\" = 0 ]" 30 || fail "ENIs not destroyed after 30 s idle"
# the last tun queue fds close after /json stops listing the ENI: the devices go then
wait_for "[ -z \"\$(list_links)\" ]" 5 || fail "gw[io]- devices still there 5 s after the DESTROY"
list_all >"$LAB_DIR/idle.txt"
grep -v -x -e 'table inet gwlbnf' -e 'table inet gwlbnf-net' -e 'table inet lab-leftovers' \
	"$LAB_DIR/idle.txt" >"$LAB_DIR/idle-rest.txt" || true
grep -v -x -e 'table inet gwlbnf' -e 'table inet gwlbnf-net' -e 'table inet lab-leftovers' \
	"$LAB_DIR/baseline.txt" >"$LAB_DIR/base-rest.txt" || true
if ! diff -u "$LAB_DIR/base-rest.txt" "$LAB_DIR/idle-rest.txt"; then
	fail "after the idle DESTROY: ENI objects left behind (diff above)"
fi
ok "after the idle DESTROY: no ENI table, rule, route, conntrack entry or link"

step "run 1: traffic again, then SIGTERM"
for k in 1 2 3; do
	ping_ok "cli$k" "$LAB_SRV4" 2
done
lab_gwlbd_stop
expect_baseline "after SIGTERM"

step "run 2: local, route and nat ENIs with traffic, then SIGKILL"
# local mode: a reply's first route lookup needs a route (see README, local mode)
lab_ip app route add default via 198.19.250.2 src 198.19.200.1
lab_ip app -6 route add default via fd00:19:250::2 src fd00:19:200::1
list_all >"$LAB_DIR/baseline.txt"
RUN2=(--mode route --eni-mode "eni-$(lab_eni_of 1)=local" --eni-mode "eni-$(lab_eni_of 3)=nat")
lab_gwlbd_start "${GWLBD_ARGS[@]}" "${RUN2[@]}" || fail "could not start gwlbd"
udp_echo cli1 198.19.200.1 "$LAB_ECHO_PORT" local-1
ping_ok cli1 fd00:19:200::1 2
for k in 2 3; do
	ping_ok "cli$k" "$LAB_SRV4" 2
	udp_echo "cli$k" "$LAB_SRV4" "$LAB_ECHO_PORT" "run2-$k"
done
sim_clean
i1=$(index_of 1)
i2=$(index_of 2)
i3=$(index_of 3)
expect_eq "/json leftovers_removed of a clean start" "$(lab_health /json | jq -c .leftovers_removed)" \
	'{"tables":0,"rules":0,"routes":0,"conntrack":0,"errors":0}'
echo "+ kill -KILL $LAB_GWLBD_PID"
kill -KILL "$LAB_GWLBD_PID"
wait_for "! kill -0 $LAB_GWLBD_PID" 5 || fail "gwlbd survived SIGKILL"
wait "$LAB_GWLBD_PID" 2>/dev/null || true
LAB_GWLBD_PID=
list_all >"$LAB_DIR/killed.txt"
sed 's/^/  | /' "$LAB_DIR/killed.txt"
nrules=$(list_rules | awk '{ p = $2 + 0 } p > 10000 && p <= 10000 + '"$MAX_ENI"'' | wc -l)
expect_gt "SIGKILL: rules left in gwlbd's range" "$nrules" 0
grep -qx 'table inet gwlbnf-net' "$LAB_DIR/killed.txt" || fail "SIGKILL left no table inet gwlbnf-net to test with"
for i in "$i1" "$i2" "$i3"; do
	expect_gt "SIGKILL: conntrack entries of index $i left" "$(ct_of "$i")" 0
done

step "run 2: cli3's ENI dropped from the state file, restart"
cat "$LAB_DIR/enis.state"
sed -i "/^eni-$(lab_eni_of 3) /d" "$LAB_DIR/enis.state"
ct1=$(ct_of "$i1")
ct2=$(ct_of "$i2")
mv "$LAB_DIR/gwlbd.log" "$LAB_DIR/gwlbd.log.1"
lab_gwlbd_start "${GWLBD_ARGS[@]}" "${RUN2[@]}" || fail "could not restart gwlbd"
line=$(grep -F "removed leftovers of a previous gwlbd:" "$LAB_DIR/gwlbd.log" || true)
echo "  log: $line"
[ "$(grep -c . <<<"$line")" = 1 ] || fail "no (or more than one) 'removed leftovers' line in gwlbd's log"
grep -qF "table inet gwlbnf-net" <<<"$line" || fail "the line does not name table inet gwlbnf-net"
grep -qF "table inet gwlbnf-eni-" <<<"$line" || fail "the line does not name the ENIs' tables"
grep -qF " $nrules rules," <<<"$line" || fail "the line does not say $nrules rules"
grep -qE " conntrack entr(y|ies) \(ENI indexes the state file does not keep\)" <<<"$line" ||
	fail "the line does not count the flushed conntrack entries"
grep -F "File exists" "$LAB_DIR/gwlbd.log" && fail "gwlbd's log reports objects in the way"
expect_eq "/json leftovers_removed.rules" "$(gwlbd_json .leftovers_removed.rules)" "$nrules"
expect_gt "/json leftovers_removed.tables" "$(gwlbd_json .leftovers_removed.tables)" 0
expect_gt "/json leftovers_removed.conntrack" "$(gwlbd_json .leftovers_removed.conntrack)" 0
expect_eq "rules in gwlbd's range after the restart, before any ENI" \
	"$(list_rules | awk '{ p = $2 + 0 } p > 10000 && p <= 10000 + '"$MAX_ENI"'' | wc -l)" 0
expect_eq "routes in gwlbd's tables after the restart" "$(list_routes)" ""
expect_eq "ENI tables after the restart" "$(list_tables | grep -c gwlbnf-eni- || true)" 0
expect_eq "conntrack entries of cli3's index $i3 (not in the state file): flushed" "$(ct_of "$i3")" 0
# kept: the flows of ENIs that come back after a quick restart (conntrack's timers age them)
expect_gt "conntrack entries of cli1's index $i1 (in the state file): kept" "$(ct_of "$i1")" 0
expect_gt "conntrack entries of cli2's index $i2 (in the state file): kept" "$(ct_of "$i2")" 0
echo "  (before the restart: index $i1 $ct1, index $i2 $ct2 entries)"

step "run 2: the restarted gwlbd works at once (cli1 only: cli2 stays away)"
udp_echo cli1 198.19.200.1 "$LAB_ECHO_PORT" local-2
ping_ok cli1 fd00:19:200::1 2
expect_eq "cli1 has its index again" "$(index_of 1)" "$i1"
sim_clean

step "a second gwlbd (another control socket) while one lives is refused and removes nothing"
list_all >"$LAB_DIR/live2.txt"
rc=0
echo "+ [app] gwlbd --ctl-socket $LAB_DIR/other.sock (a second one)"
lab_exec app timeout 10 "$GWLBD" --ctl-socket "$LAB_DIR/other.sock" --state-file "$LAB_DIR/other.state" \
	--geneve-port 7082 -p 0 "${RUN2[@]}" >"$LAB_DIR/out2" 2>"$LAB_DIR/err2" || rc=$?
sed 's/^/  stderr: /' "$LAB_DIR/err2"
expect_eq "second gwlbd exit status" "$rc" 1
grep -qF "another gwlbd (pid $LAB_GWLBD_PID) is running in this network namespace" "$LAB_DIR/err2" ||
	fail "no 'another gwlbd (pid $LAB_GWLBD_PID) is running in this network namespace' error"
list_all >"$LAB_DIR/after2.txt"
# conntrack entries come and go with their timers; the rest must be untouched
diff -u <(sed '/^## conntrack/,/^## links/d' "$LAB_DIR/live2.txt") \
	<(sed '/^## conntrack/,/^## links/d' "$LAB_DIR/after2.txt") ||
	fail "the refused gwlbd changed the live one's objects (diff above)"
expect_gt "the live gwlbd's conntrack entries of cli1 still there" "$(ct_of "$i1")" 0
ok "the live gwlbd's tables, rules, routes and links are untouched"

step "run 2: SIGTERM (cli1 DESTROYed; cli2 kept but never back) leaves the baseline"
expect_gt "cli2's kept entries before SIGTERM" "$(ct_of "$i2")" 0
lab_gwlbd_stop
expect_baseline "after SIGKILL, restart and SIGTERM"

step "run 3: forwarding off on the host (ip_forward=0, all.forwarding=0), no default route"
lab_sysctl app net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
lab_ip app route del default
lab_ip app -6 route del default
mv "$LAB_DIR/gwlbd.log" "$LAB_DIR/gwlbd.log.2"
lab_gwlbd_start "${GWLBD_ARGS[@]}" --mode passthrough --eni-mode "eni-$(lab_eni_of 2)=route" \
	--eni-mode "eni-$(lab_eni_of 3)=local" || fail "could not start gwlbd"
# passthrough: in on gwi, out of gwo; the kernel asks gwi's conf (IPv4) or its
# force_forwarding (IPv6, 6.17+): gwlbd turns both on for its own device
ping_ok cli1 "$LAB_SRV4" 2
ping_ok cli1 "$LAB_SRV6" 2
g1=$(gwi_of 1)
expect_eq "net.ipv4.conf.$g1.forwarding" "$(lab_exec app sysctl -n "net.ipv4.conf.$g1.forwarding")" 1
if [ -e /proc/sys/net/ipv6/conf/all/force_forwarding ]; then
	expect_eq "net.ipv6.conf.$g1.force_forwarding" \
		"$(lab_exec app sysctl -n "net.ipv6.conf.$g1.force_forwarding")" 1
fi
expect_eq "host IPv4 forwarding untouched" "$(lab_exec app sysctl -n net.ipv4.ip_forward)" 0
expect_eq "host IPv6 forwarding untouched" "$(lab_exec app sysctl -n net.ipv6.conf.all.forwarding)" 0
# route: the replies come back on up0, the host's: gwlbd says which sysctl, and that is enough
echo "+ [cli2] ping -c 2 -W 1 $LAB_SRV4 (replies arrive on up0, which does not forward)"
lab_exec cli2 ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null 2>&1 && fail "route mode worked with up0 not forwarding?"
for v in 4 6; do
	grep -F "eni-$(lab_eni_of 2): route mode: no interface forwards IPv$v" "$LAB_DIR/gwlbd.log" ||
		fail "no warning that no interface forwards IPv$v for the route mode ENI"
done
lab_sysctl app net.ipv4.conf.up0.forwarding=1
[ -e /proc/sys/net/ipv6/conf/all/force_forwarding ] && lab_sysctl app net.ipv6.conf.up0.force_forwarding=1 ||
	lab_sysctl app net.ipv6.conf.all.forwarding=1
ping_ok cli2 "$LAB_SRV4" 2
ping_ok cli2 "$LAB_SRV6" 2
# local: no route for a reply's first lookup
echo "+ [cli3] ping -c 2 -W 1 198.19.200.1 (no route for the reply's first lookup)"
lab_exec cli3 ping -c 2 -i 0.2 -W 1 198.19.200.1 >/dev/null 2>&1 && fail "local mode answered without a route?"
for v in 4 6; do
	grep -F "eni-$(lab_eni_of 3): local mode: no IPv$v route for the replies' first lookup" "$LAB_DIR/gwlbd.log" ||
		fail "no warning about the missing IPv$v route for the local mode ENI"
done
lab_ip app route add default via 198.19.250.2 src 198.19.200.1
ping_ok cli3 198.19.200.1 2
sim_clean
lab_gwlbd_stop
expect_baseline "run 3: after SIGTERM"

echo
echo "PASS: $TEST_NAME"
