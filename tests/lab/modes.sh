#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Endpoint modes set up by gwlbd itself (--mode, --eni-mode), no hook scripts:
#   run 1: cli1 passthrough, cli2 route, cli3 nat; app gets an uplink veth to srv that
#          bypasses GWLB (route: srv routes cli2's prefix back over it; nat: masqueraded to
#          app's uplink address, so srv needs no route back).
#   run 2: cli1 local (the appliance's own address answers, nothing is forwarded), cli2 hook
#          mode with contrib/hooks/passthrough.sh (gwlbd adds no rule or route for it).
# In each run `ip rule` and `ip route show table N` in app list exactly each ENI's objects
# while it lives, and nothing after SIGTERM (run 1) or the idle DESTROY (run 2).
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"

lab_test_lab 3

# on failure: what app's kernel and gwlbd saw
lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- gwlbd drops: $(gwlbd_json '.enis[] | "\(.gwi) \(.mode) \(.drops)"' 2>/dev/null)"
	echo "--- conntrack in app:"
	lab_exec app conntrack -L 2>/dev/null | head -n 20
	echo "--- srv UDP/TCP errors:"
	lab_exec srv nstat -az 2>/dev/null | grep -Ei '^Udp' | grep -v ' 0 ' || true
	lab_ip srv -s link show up0 | sed -n '3,6p'
	lab_ip app -s link show up0 | sed -n '3,6p'
	lab_exec app nstat -az 2>/dev/null | grep -Ei 'Udp|Forw|NoRoute|Discard' | grep -v ' 0 ' || true
	echo "--- ip rule in app:"
	lab_ip app rule show
}

gwi_of() { echo "gwi-$(lab_eni_b60 "$(lab_eni_of "$1")")"; }
gwo_of() { echo "gwo-$(lab_eni_b60 "$(lab_eni_of "$1")")"; }
index_of() { gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of "$1")\") | .index"; }
# gwlbd's rules (priorities 10001..10099) in app, one family, as ip prints them
our_rules() { lab_ip app "$1" rule show | awk -F: '$1 >= 10001 && $1 < 10100' | sed 's/[[:space:]]\+/ /g; s/ $//'; }
up0_tx() { lab_ip app -s -j link show up0 | jq '.[0].stats64.tx.packets'; }

step "an uplink app <-> srv that bypasses GWLB (addresses inside the namespaces only)"
# route mode: srv answers cli2 over the uplink; cli3 (nat) gets no route back on purpose.
lab_uplink 2
lab_sysctl app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ok "up0: app 198.19.250.1, srv 198.19.250.2"

step "run 1: --mode passthrough --eni-mode ENI2=route --eni-mode ENI3=nat, no hooks"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode passthrough \
	--eni-mode "eni-$(lab_eni_of 2)=route" --eni-mode "$(gwi_of 3)=nat" || fail "could not start gwlbd"
expect_eq "rules before any ENI" "$(our_rules -4)" ""

tx0=$(up0_tx)
ping_ok cli1 "$LAB_SRV4" 3
ping_ok cli1 "$LAB_SRV6" 3
udp_echo cli1 "$LAB_SRV4" "$LAB_ECHO_PORT" pass-1
# a few are the uplink's own neighbour discovery; cli1's 7 exchanges would be 14 or more
d=$(( $(up0_tx) - tx0 ))
[ "$d" -lt 8 ] || fail "passthrough: $d packets out of the uplink, expected fewer than 8"
ok "passthrough: $d packets out of the uplink (neighbour discovery only)"
for k in 2 3; do
	ping_ok "cli$k" "$LAB_SRV4" 3
	ping_ok "cli$k" "$LAB_SRV6" 3
	udp_echo "cli$k" "$LAB_SRV4" "$LAB_ECHO_PORT" "mode-$k"
	udp_echo "cli$k" "$LAB_SRV6" "$LAB_ECHO_PORT" "mode6-$k"
	download_ok "cli$k" "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
done
expect_gt "route/nat: packets out of the uplink" "$(( $(up0_tx) - tx0 ))" 100
sim_clean

step "nat: conntrack shows cli3's flows masqueraded to 198.19.250.1 with its mark; cli2's not NATed"
i3=$(index_of 3)
i2=$(index_of 2)
ct=$(lab_exec app conntrack -L -f ipv4 2>/dev/null)
grep -E "src=198\.19\.3\.2 .*dst=198\.19\.250\.1 " <<<"$ct" | grep -q "mark=$i3 " ||
	fail "no conntrack entry of cli3 SNATed to 198.19.250.1 with mark $i3"
grep -E "src=198\.19\.2\.2 .*dst=198\.19\.2\.2 " <<<"$ct" | grep -q "mark=$i2 " ||
	fail "no un-NATed conntrack entry of cli2 with mark $i2"
grep -q "src=198.19.2.2 .*dst=198.19.250.1 " <<<"$ct" && fail "cli2 (route mode) was NATed"
ok "cli3 SNATed to the uplink, cli2 routed with its own address"
lab_exec app nft list chain inet gwlbnf-net "nat_$i3" | grep -q 'oifname != "gwo-\*" masquerade' ||
	fail "no chain nat_$i3 with the masquerade rule"
lab_exec app nft list table inet gwlbnf-net | grep -q "chain nat_$i2" && fail "route ENI has a nat chain"
ok "only the nat ENI has a masquerade chain"

step "run 1: ip rule / ip route show table N list exactly each ENI's objects"
want4=""
for k in 1 2 3; do
	i=$(index_of "$k")
	t=$((10000 + i))
	p=$((10000 + i))
	for fam in -4 -6; do
		# as ip prints them: IPv6 adds "metric 1024 pref medium", drops "scope link"
		expect_eq "cli$k table $t $fam" \
			"$(lab_ip app "$fam" route show table "$t" | sed 's/ metric 1024 pref medium//; s/ scope link//; s/ *$//')" \
			"default dev $(gwo_of "$k") proto static"
	done
	case $k in
	1) want="$p: from all iif $(gwi_of 1) lookup $t" ;;
	*) want="$p: from all iif $(gwi_of "$k") lookup main
$p: from all fwmark 0x$(printf %x "$i")/0xffff lookup $t" ;;
	esac
	want4=$(printf '%s\n%s' "$want4" "$want")
done
want4=$(sed '/^$/d' <<<"$want4" | sort)
expect_eq "IPv4 rules" "$(our_rules -4 | sort)" "$want4"
expect_eq "IPv6 rules" "$(our_rules -6 | sort)" "$want4"
json=$(lab_health /json)
expect_eq "/json modes" "$(jq -c '[.enis[] | .mode] | sort' <<<"$json")" '["nat","passthrough","route"]'
expect_eq "/json cli2 routing" \
	"$(jq -r --arg g "$(gwi_of 2)" '.enis[] | select(.gwi == $g) | .routing | length' <<<"$json")" 6
echo "+ gwlbctl enis"
lab_gwlbctl enis >"$LAB_DIR/enis.txt" 2>&1 || fail "gwlbctl enis failed: $(cat "$LAB_DIR/enis.txt")"
sed 's/^/  | /' "$LAB_DIR/enis.txt"
grep -q "eni-$(lab_eni_of 2): ip rule prio $((10000 + i2)) fwmark 0x$(printf %x "$i2")/0xffff lookup $((10000 + i2))" \
	"$LAB_DIR/enis.txt" || fail "gwlbctl enis does not list cli2's fwmark rule"
grep -Eq "^eni-$(lab_eni_of 3) .* nat$" "$LAB_DIR/enis.txt" || fail "gwlbctl enis: cli3 not in nat mode"
ok "gwlbctl enis shows modes and rules"

step "run 1: SIGTERM removes every rule, route and nat chain"
lab_gwlbd_stop
expect_eq "IPv4 rules after stop" "$(our_rules -4)" ""
expect_eq "IPv6 rules after stop" "$(our_rules -6)" ""
for i in 1 2 3; do
	expect_eq "table $((10000 + i)) after stop" "$(lab_ip app route show table $((10000 + i)) 2>/dev/null)" ""
done
lab_exec app nft list table inet gwlbnf-net >/dev/null 2>&1 && fail "table inet gwlbnf-net left behind"
ok "nothing of gwlbd's left in app"

step "run 2: local mode for cli1 (answers from the appliance), hook mode + passthrough.sh for cli2"
lab_ip app addr add 198.19.200.1/32 dev lo
lab_ip app -6 addr add fd00:19:200::1/128 dev lo
# As on a real appliance: a default route out of the uplink. A reply's first route lookup
# (mark 0) needs one to succeed at all; mark_out then gives it the ENI's mark and the kernel
# routes it again, to gwo by the ENI's fwmark rule. src: the UDP echo server answers from
# the address the kernel picks, which must be the one it was asked on.
lab_ip app route add default via 198.19.250.2 src 198.19.200.1
lab_ip app -6 route add default via fd00:19:250::2 src fd00:19:200::1
# cli2 is passthrough now (its hook): srv answers it through GWLB again
lab_ip srv route del 198.19.2.0/24
lab_ip srv -6 route del fd00:19:2::/48
lab_bg app echo-app "$PYTHON" "$LAB_DIR/udpecho.py" "$LAB_ECHO_PORT"
lab_bg app http-app "$PYTHON" -m http.server --bind :: --directory "$LAB_DIR/www" "$LAB_HTTP_PORT"
wait_for "lab_exec app ss -Hltn 'sport = :$LAB_HTTP_PORT' | grep -q LISTEN" 10 || fail "http server in app did not start"
wait_for "lab_exec app ss -Hlun 'sport = :$LAB_ECHO_PORT' | grep -q ." 10 || fail "udp echo in app did not start"
lab_gwlbd_start -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" -t 4 \
	--eni-mode "eni-$(lab_eni_of 1)=local" || fail "could not start gwlbd"
ping_ok cli1 198.19.200.1 3
ping_ok cli1 fd00:19:200::1 3
udp_echo cli1 198.19.200.1 "$LAB_ECHO_PORT" local-1
udp_echo cli1 fd00:19:200::1 "$LAB_ECHO_PORT" local6-1
download_ok cli1 "http://198.19.200.1:$LAB_HTTP_PORT/blob"
tx0=$(up0_tx)
echo "+ [cli1] ping -c 10 -i 0.1 -W 1 $LAB_SRV4 (local mode forwards nothing)"
lab_exec cli1 ping -c 10 -i 0.1 -W 1 "$LAB_SRV4" >/dev/null 2>&1 && fail "local mode ENI: srv answered"
d=$(( $(up0_tx) - tx0 ))
[ "$d" -lt 8 ] || fail "local mode: $d packets forwarded out of the uplink (default route), expected none"
ok "local mode: nothing forwarded ($d packets out of the uplink: neighbour discovery)"
ping_ok cli2 "$LAB_SRV4" 3
udp_echo cli2 "$LAB_SRV6" "$LAB_ECHO_PORT" hook-2
sim_clean

i1=$(index_of 1)
i2=$(index_of 2)
expect_eq "/json cli2 mode" "$(gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of 2)\") | .mode")" hook
expect_eq "/json cli2 routing" "$(gwlbd_json ".enis[] | select(.gwi == \"$(gwi_of 2)\") | .routing | length")" 0
want="$((10000 + i1)): from all iif $(gwi_of 1) blackhole
$((10000 + i1)): from all fwmark 0x$(printf %x "$i1")/0xffff lookup $((10000 + i1))"
expect_eq "IPv4 rules of gwlbd (cli2's are the hook's, at other priorities)" "$(our_rules -4)" "$want"
expect_eq "IPv6 rules" "$(our_rules -6)" "$want"
lab_ip app rule show | grep -q "iif $(gwi_of 2) lookup $((10000 + i2))" ||
	fail "passthrough.sh's rule for cli2 is missing"
ok "cli2's rule comes from the hook"

step "run 2: idle DESTROY (-t 4) removes cli1's rules and routes"
wait_for "[ \"\$(gwlbd_json '.enis | length')\" = 0 ]" 30 || fail "ENIs not destroyed after 30 s idle"
expect_eq "IPv4 rules after DESTROY" "$(our_rules -4)" ""
expect_eq "IPv6 rules after DESTROY" "$(our_rules -6)" ""
expect_eq "table $((10000 + i1)) after DESTROY" "$(lab_ip app route show table $((10000 + i1)))" ""
expect_eq "table $((10000 + i1)) IPv6 after DESTROY" "$(lab_ip app -6 route show table $((10000 + i1)))" ""
lab_ip app rule show | grep -q "$(gwi_of 2)" && fail "hook's rule left after DESTROY"
ok "nothing left after DESTROY"
lab_gwlbd_stop

echo
echo "PASS: $TEST_NAME"
