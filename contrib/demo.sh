#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbnf demo: builds the namespace lab (client, server, a GWLB stand-in and the appliance
# running gwlbd), sends real traffic through it, shows what gwlbd and the GWLB stand-in saw,
# and removes everything again. Run as root from a built tree:
#   sudo contrib/demo.sh
# Installed binaries instead of the built tree: GWLBD=/usr/sbin/gwlbd GWLBSIM=/usr/bin/gwlbsim.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"
lab_find_bins
LAB_VERBOSE=${LAB_VERBOSE:-1}

failed=0
section()
{
	if [ -t 1 ]; then
		printf '\n\033[1m== %s\033[0m\n' "$*"
	else
		printf '\n== %s\n' "$*"
	fi
}
good()
{
	echo "   OK: $*"
}
bad()
{
	echo "   FAILED: $*"
	failed=$((failed + 1))
}

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "demo.sh: /dev/net/tun is missing (modprobe tun)" >&2; exit 1; }
for p in "$GWLBD" "$GWLBSIM"; do
	[ -x "$p" ] || { echo "demo.sh: $p not found: build first (make), or set GWLBD= / GWLBSIM=" >&2; exit 1; }
done
for t in jq curl ping "$PYTHON"; do
	command -v "$t" >/dev/null || { echo "demo.sh: $t is needed (contrib/install-deps.sh)" >&2; exit 1; }
done

lab_init "demo$$"
cleanup()
{
	local rc=$?
	trap - EXIT
	if [ "$rc" != 0 ] && [ -s "$LAB_DIR/gwlbd.log" ]; then
		echo "--- gwlbd log (last lines):"
		tail -n 15 "$LAB_DIR/gwlbd.log"
	fi
	section "cleanup"
	lab_down
	echo "   namespaces gwlbnf-$LAB_ID-* removed"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section "lab: cli1 -> [gwlb: gwlbsim] -> GENEVE -> [app: gwlbd] -> back -> srv"
echo "   gwlbd:   $GWLBD"
echo "   gwlbsim: $GWLBSIM"
lab_up 1 || exit 1
lab_srv_start 8 || exit 1
lab_sim_start || exit 1
lab_gwlbd_start -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || exit 1

section "IPv4 ping cli1 -> $LAB_SRV4"
echo "+ [cli1] ping -c 5 -i 0.2 $LAB_SRV4"
out=$(lab_exec cli1 ping -c 5 -i 0.2 -W 2 -w 8 "$LAB_SRV4" 2>&1)
echo "$out" | sed 's/^/   /'
grep -q " 0% packet loss" <<<"$out" && good "5 of 5 replies" || bad "IPv4 ping lost packets"

download()
{
	local url=$1 out size sha
	echo "+ [cli1] curl -o FILE $url"
	if ! out=$(lab_exec cli1 curl -s -g -m 30 -o "$LAB_DIR/dl" -w '%{size_download} %{speed_download}' "$url"); then
		bad "download $url failed"
		return
	fi
	size=${out% *}
	sha=$(sha256sum "$LAB_DIR/dl" | cut -d' ' -f1)
	rm -f "$LAB_DIR/dl"
	echo "   $size bytes at $(awk '{ printf "%.1f MB/s", $2 / 1e6 }' <<<"$out")"
	if [ "$size" = "$LAB_BLOB_SIZE" ] && [ "$sha" = "$LAB_BLOB_SHA" ]; then
		good "complete, sha256 matches"
	else
		bad "download incomplete or corrupt ($size of $LAB_BLOB_SIZE bytes)"
	fi
}

section "TCP download over IPv4"
download "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"

section "UDP echo over IPv4"
cat >"$LAB_DIR/echo.py" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recv(2048).decode())
EOF
echo "+ [cli1] send 'hello gwlbnf' to $LAB_SRV4:$LAB_ECHO_PORT"
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/echo.py" "$LAB_SRV4" "$LAB_ECHO_PORT" "hello gwlbnf" 2>&1)
echo "   reply: $out"
[ "$out" = "hello gwlbnf" ] && good "echoed unchanged" || bad "UDP echo"

section "IPv6 ping cli1 -> $LAB_SRV6"
echo "+ [cli1] ping -c 5 -i 0.2 $LAB_SRV6"
out=$(lab_exec cli1 ping -6 -c 5 -i 0.2 -W 2 -w 8 "$LAB_SRV6" 2>&1)
echo "$out" | sed 's/^/   /'
grep -q " 0% packet loss" <<<"$out" && good "5 of 5 replies" || bad "IPv6 ping lost packets"

section "TCP download over IPv6"
download "http://[$LAB_SRV6]:$LAB_HTTP_PORT/blob"

section "gwlbd health page (text)"
echo "+ [app] curl -s 127.0.0.1:$LAB_HEALTH_PORT/"
lab_health / | sed 's/^/   /'
code=$(lab_exec app curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LAB_HEALTH_PORT/")
[ "$code" = 200 ] && good "HTTP 200" || bad "health status $code"

section "gwlbd per-ENI counters"
echo "+ [app] curl -s 127.0.0.1:$LAB_HEALTH_PORT/json | jq -c '.enis[]'"
lab_health /json | jq -c '.enis[] | {eni, gwi, gwo, state, tunnelIn, tunnelOut, flows}' | sed 's/^/   /'
[ "$(lab_health /json | jq '.enis | length')" = 1 ] && good "one ENI" || bad "expected one ENI"

section "GWLB stand-in (gwlbsim) statistics"
lab_sim_fresh
jq -c '{tx, rx, mismatch, unknown_flow, malformed, flows, enis}' "$LAB_DIR/sim.json" | sed 's/^/   /'
mismatch=$(lab_sim_stat .mismatch)
[ "$mismatch" = 0 ] && good "every reply carried its flow's GENEVE header (mismatch 0)" ||
	bad "gwlbsim counted $mismatch replies with a wrong header"

section "result"
if [ "$failed" = 0 ]; then
	echo "   all steps passed"
else
	echo "   $failed step(s) failed"
	exit 1
fi
