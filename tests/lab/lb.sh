#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The DNAT balancer (--services, table inet gwlbnf-lb) with real HTTP backends: cli1's ENI
# in route mode, its traffic to the VIPs arrives through gwlbsim + gwlbd and is DNATed in
# app to four backends be1..be3 (tier 0) and bk1 (tier 1), each in its own namespace on a
# veth from app, each serving a file that names it (python http.server).
#   nth:     30 new connections = be1 be2 be3 be1 ... exactly, 10 each; counters match
#   hash:    saddr keeps cli1 on one backend
#   random:  weights 1:3 over 400 connections within 5 standard deviations
#   drain:   a rate-limited download from the drained backend completes (sha256) while
#            every new connection goes to the others
#   tiers:   tier 0 all down -> bk1 serves; one back up -> it serves again
#   established connections stay on their backend while the map changes under them
#   reload:  an unchanged service keeps its counters; a broken file is refused with its line
#   SIGTERM: no table inet gwlbnf-lb left
set -eu
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"

lab_test_lab 1

VIP_NTH=198.19.99.10
VIP_HASH=198.19.99.11
VIP_RND=198.19.99.12
VIP6=fd00:19:99::10
BE_PORT=8000
BACKENDS="be1 be2 be3 bk1"

lab_test_cleanup_hook()
{
	[ -n "${LAB_GWLBD_PID:-}" ] && kill -0 "$LAB_GWLBD_PID" 2>/dev/null || return 0
	echo "--- nft list table inet gwlbnf-lb:"
	lab_exec app nft list table inet gwlbnf-lb 2>&1 | head -n 80
	echo "--- conntrack in app:"
	lab_exec app conntrack -L 2>/dev/null | head -n 20
}

step "four HTTP backends in their own namespaces, each on a veth from app"
k=0
for b in $BACKENDS; do
	k=$((k + 1))
	lb_backend_ns "$b" "$k"
	mkdir -p "$LAB_DIR/www-$b"
	echo "$b" >"$LAB_DIR/www-$b/name"
	ln "$LAB_DIR/www/blob" "$LAB_DIR/www-$b/blob"
	lab_bg "$b" "http-$b" "$PYTHON" -m http.server --bind :: --directory "$LAB_DIR/www-$b" "$BE_PORT"
done
for b in $BACKENDS; do
	wait_for "lab_exec $b ss -Hltn 'sport = :$BE_PORT' | grep -q LISTEN" 10 || fail "http server in $b did not start"
done
lab_sysctl app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0
ok "be1..be3 and bk1 serve /name and /blob on port $BE_PORT"

cat >"$LAB_DIR/services.conf" <<EOF
# lb.sh
[service web]
vip = $VIP_NTH
port = 80
protocol = tcp
scheduler = nth
backend = be1 198.19.201.2:$BE_PORT
backend = be2 198.19.202.2:$BE_PORT
backend = be3 198.19.203.2:$BE_PORT
backend = bk1 198.19.204.2:$BE_PORT tier=1

[service sticky]
vip = $VIP_HASH
port = 80-81
scheduler = hash
hash-fields = saddr
backend = be1 198.19.201.2:$BE_PORT
backend = be2 198.19.202.2:$BE_PORT
backend = be3 198.19.203.2:$BE_PORT

[service rnd]
vip = $VIP_RND
port = 80
scheduler = random
backend = be1 198.19.201.2:$BE_PORT weight=1
backend = be2 198.19.202.2:$BE_PORT weight=3

[service web6]
vip = $VIP6
port = 80
scheduler = symhash
backend = be1 [fd00:19:201::2]:$BE_PORT
backend = be2 [fd00:19:202::2]:$BE_PORT state=drain
EOF

step "gwlbd --mode route --services services.conf"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route --services "$LAB_DIR/services.conf" ||
	fail "could not start gwlbd"


step "nft list table inet gwlbnf-lb shows the dispatch and each service's map"
lab_exec app nft list table inet gwlbnf-lb >"$LAB_DIR/lb.nft"
sed 's/^/  | /' "$LAB_DIR/lb.nft" | head -n 60
grep -q "chain dnat_pre" "$LAB_DIR/lb.nft" || fail "no chain dnat_pre"
grep -q 'tcp . 198.19.99.10 . 80 : jump web_dnat' "$LAB_DIR/lb.nft" || fail "no dispatch element of web"
grep -q 'tcp . 198.19.99.11 . 80-81 : jump sticky_dnat' "$LAB_DIR/lb.nft" || fail "no dispatch element of sticky"
grep -q 'map web_sched' "$LAB_DIR/lb.nft" || fail "no map web_sched"
# tier 0 only: bk1 is not in the map while be1..be3 take new connections
grep -Eq 'elements = \{ 0 : 198\.19\.201\.2 \. 8000, 1 : 198\.19\.202\.2 \. 8000,' "$LAB_DIR/lb.nft" ||
	fail "web_sched does not map 0, 1, 2 to be1, be2, be3"
grep -q '198.19.204.2' <(sed -n '/map web_sched/,/}/p' "$LAB_DIR/lb.nft") && fail "bk1 (tier 1) is in web_sched"
grep -q 'dnat ip to numgen inc mod 3 map @web_sched' "$LAB_DIR/lb.nft" || fail "no nth rule for web"
grep -q 'dnat ip to numgen random mod 4 map @rnd_sched' "$LAB_DIR/lb.nft" || fail "no random rule mod 4 (weights 1+3)"
grep -q 'elements = { 0 : 198.19.201.2 . 8000, 1-3 : 198.19.202.2 . 8000 }' "$LAB_DIR/lb.nft" ||
	fail "rnd_sched does not hold the weights as ranges 0 and 1-3"
grep -Eq 'jhash ip saddr mod 3 seed 0x[0-9a-f]+ map @sticky_sched' "$LAB_DIR/lb.nft" || fail "no jhash rule for sticky"
grep -q 'dnat ip6 to symhash mod 1 map @web6_sched' "$LAB_DIR/lb.nft" || fail "web6: drained be2 not left out of symhash"
ok "maps and scheduler rules as configured"

step "nth: 30 new connections go be1 be2 be3 be1 ... in order, 10 each"
seq_got=""
for i in $(seq 1 30); do
	seq_got="$seq_got $(lb_get $VIP_NTH)"
done
want=""
for i in $(seq 1 10); do want="$want be1 be2 be3"; done
expect_eq "backends in order" "$seq_got" "$want"

step "counters: gwlbctl services -j matches the 30 requests"
expect_eq "web new" "$(lb_svc_j '.services[] | select(.name == "web") | .new')" 30
for b in be1 be2 be3; do
	expect_eq "web/$b new" "$(lb_be_new web $b)" 10
	# a request is at least 5 packets each way (handshake, request, answer, close)
	pk=$(lb_svc_j ".services[] | select(.name == \"web\") | .backends[] | select(.name == \"$b\") | .packets")
	[ "$pk" -ge 100 ] || fail "web/$b packets $pk, expected >= 100 for 10 connections"
	ok "web/$b packets $pk"
done
expect_eq "web/bk1 new" "$(lb_be_new web bk1)" 0
sp=$(lb_svc_j '.services[] | select(.name == "web") | .packets')
bsum=$(lb_svc_j '[.services[] | select(.name == "web") | .backends[].packets] | add')
expect_eq "web packets = sum of its backends'" "$sp" "$bsum"
expect_eq "/json services agrees" "$(gwlbd_json '.services.services[] | select(.name == "web") | .new')" 30
lab_health /metrics | grep -q '^gwlbd_service_new_connections_total{service="web"} 30$' ||
	fail "/metrics has no gwlbd_service_new_connections_total{service=\"web\"} 30"
lab_health /metrics | grep -q '^gwlbd_backend_new_connections_total{service="web",backend="be2"} 10$' ||
	fail "/metrics has no gwlbd_backend_new_connections_total for web/be2 = 10"
ok "/metrics has the service and backend counters"
echo "+ gwlbctl services"
lab_gwlbctl services | sed 's/^/  | /'

step "hash on saddr: cli1 stays on one backend"
got=$(for i in $(seq 1 12); do lb_get $VIP_HASH; done | sort -u)
expect_eq "sticky backends seen by cli1 (one)" "$(wc -l <<<"$got")" 1
ok "sticky: cli1 always on $got"

step "IPv6 VIP, symhash, be2 drained by the file: every connection to be1"
got=$(for i in $(seq 1 6); do lb_get $VIP6; done | sort -u)
expect_eq "web6 backends" "$got" be1

step "random 1:3 over 400 connections"
# be2's count is Binomial(400, 3/4): mean 300, sd sqrt(400 * 3/4 * 1/4) = 8.66. Accept
# 300 +- 43 (5 sd): a correct scheduler fails this less than once in a million runs, one
# with equal weights (mean 200) never passes.
lab_exec cli1 bash -c "for i in \$(seq 1 400); do curl -s -m 5 http://$VIP_RND/name; done" >"$LAB_DIR/rnd.txt"
n1=$(grep -c '^be1$' "$LAB_DIR/rnd.txt" || true)
n2=$(grep -c '^be2$' "$LAB_DIR/rnd.txt" || true)
expect_eq "answers" "$((n1 + n2))" 400
[ "$n2" -ge 257 ] && [ "$n2" -le 343 ] || fail "random 1:3: be2 got $n2 of 400, expected 300 +- 43"
ok "random 1:3: be1 $n1, be2 $n2 (expected 100:300 +- 43)"
expect_eq "rnd/be2 new counter" "$(lb_be_new rnd be2)" "$n2"

step "drain: an open download from be1 finishes while new connections go elsewhere"
# the next nth pick is be1 (30 connections so far: 30 mod 3 = 0)
lab_exec cli1 curl -s -m 30 --limit-rate 1M -o "$LAB_DIR/dl.drain" "http://$VIP_NTH/blob" &
dl=$!
wait_for "lab_exec app conntrack -L -p tcp --reply-src 198.19.201.2 2>/dev/null | grep -q ESTABLISHED" 5 ||
	fail "no established connection to be1 for the download"
lb_backend web be1 drain
expect_eq "be1 admin" "$(lb_svc_j '.services[] | select(.name == "web") | .backends[] | select(.name == "be1") | .admin')" drain
lab_exec app nft list map inet gwlbnf-lb web_sched | grep -q 198.19.201.2 && fail "drained be1 still in web_sched"
got=$(for i in $(seq 1 6); do lb_get $VIP_NTH; done | tr '\n' ' ')
expect_eq "new connections while be1 drains" "$got" "be2 be3 be2 be3 be2 be3 "
kill -0 $dl 2>/dev/null || fail "the download ended before the drain was checked (raise its duration)"
wait $dl || fail "the download from the draining be1 failed"
expect_eq "drained download sha256" "$(sha256sum <"$LAB_DIR/dl.drain" | cut -d' ' -f1)" "$LAB_BLOB_SHA"
rm -f "$LAB_DIR/dl.drain"
lb_backend web be1 up

step "tiers: be1..be3 down -> bk1 (tier 1) serves; be2 up -> tier 0 again"
lb_backend web be1 down
lb_backend web be2 down
lb_backend web be3 down
expect_eq "serving tier" "$(lb_svc_j '.services[] | select(.name == "web") | .tier')" 1
got=$(for i in $(seq 1 4); do lb_get $VIP_NTH; done | sort -u)
expect_eq "backup tier serves" "$got" bk1
lb_backend web be2 up
got=$(for i in $(seq 1 4); do lb_get $VIP_NTH; done | sort -u)
expect_eq "tier 0 back" "$got" be2
lab_exec app nft list map inet gwlbnf-lb web_sched | grep -q 198.19.204.2 && fail "bk1 still in the map"
lb_backend web be1 up
lb_backend web be3 up
ok "bk1 took over and gave back"

step "an established connection stays on its backend while the map changes"
# next nth pick after the rule rewrite (counter restarts at 0) is be1
lab_exec cli1 curl -s -m 30 --limit-rate 1M -o "$LAB_DIR/dl.est" "http://$VIP_NTH/blob" &
dl=$!
wait_for "lab_exec app conntrack -L -p tcp --reply-src 198.19.201.2 2>/dev/null | grep -q ESTABLISHED" 5 ||
	fail "no established connection to be1"
before=$(lb_be_new web be1)
lb_backend web be1 weight 5
lb_backend web be2 down
lb_backend web be1 down
lb_backend web be2 up
lb_backend web be1 weight 1
lab_exec app nft list map inet gwlbnf-lb web_sched | grep -q 198.19.201.2 && fail "be1 (down) in the map"
wait $dl || fail "the download failed while the map changed"
expect_eq "download sha256 across 5 map changes" "$(sha256sum <"$LAB_DIR/dl.est" | cut -d' ' -f1)" "$LAB_BLOB_SHA"
rm -f "$LAB_DIR/dl.est"
expect_eq "be1 new connections (no re-pick of the running one)" "$(lb_be_new web be1)" "$before"
lb_backend web be1 up

step "reload: an unchanged service is left alone, a changed one updated, a broken file refused"
web_new=$(lb_svc_j '.services[] | select(.name == "web") | .new')
sed -i 's/^backend = be1 198.19.201.2:8000 weight=1$/backend = be1 198.19.201.2:8000 weight=2/' "$LAB_DIR/services.conf"
lab_gwlbctl reload | sed 's/^/  | /'
expect_eq "web new after reload (untouched)" "$(lb_svc_j '.services[] | select(.name == "web") | .new')" "$web_new"
expect_eq "rnd/be2 new after reload (updated in place)" "$(lb_be_new rnd be2)" "$n2"
lab_exec app nft list map inet gwlbnf-lb rnd_sched | grep -q '0-1 : 198.19.201.2 . 8000' ||
	fail "rnd_sched does not give be1 weight 2 after the reload"
cp "$LAB_DIR/services.conf" "$LAB_DIR/services.conf.ok"
echo "backend = be9 198.19.209.2:8000 weight=0" >>"$LAB_DIR/services.conf"
line=$(wc -l <"$LAB_DIR/services.conf")
if out=$(lab_gwlbctl reload 2>&1); then fail "a broken services file was accepted"; fi
grep -q "services.conf:$line: backend be9: bad weight" <<<"$out" || fail "reload error does not name line $line: $out"
ok "broken file refused: $out"
lab_exec app nft list map inet gwlbnf-lb rnd_sched | grep -q '0-1 : 198.19.201.2 . 8000' ||
	fail "the refused file changed the running services"

step "SIGKILL: the next gwlbd (without --services) removes the table it left"
kill -KILL "$LAB_GWLBD_PID"
wait "$LAB_GWLBD_PID" 2>/dev/null || true
lab_exec app nft list tables | grep -q 'inet gwlbnf-lb' || fail "no table inet gwlbnf-lb after SIGKILL"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route || fail "could not restart gwlbd"
lab_exec app nft list tables | grep -q 'inet gwlbnf-lb' && fail "table inet gwlbnf-lb survived the restart"
grep -q 'removed leftovers of a previous gwlbd: .*table inet gwlbnf-lb' "$LAB_DIR/gwlbd.log" ||
	fail "the leftovers line does not name table inet gwlbnf-lb"
expect_eq "/json services without --services" "$(gwlbd_json .services)" null
ok "leftover table removed at start"
lab_gwlbd_stop

step "SIGTERM: table inet gwlbnf-lb goes"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" --mode route --services "$LAB_DIR/services.conf.ok" ||
	fail "could not start gwlbd"
lab_exec app nft list tables | grep -q 'inet gwlbnf-lb' || fail "no table inet gwlbnf-lb"
lab_gwlbd_stop
lab_exec app nft list tables | grep -q gwlbnf && fail "nft tables left: $(lab_exec app nft list tables)"
ok "no gwlbnf table left"

echo
echo "PASS: $TEST_NAME"
