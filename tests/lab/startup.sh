#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start-up failures: a taken GENEVE port, a taken health port, bad options, missing
# capabilities and a missing /dev/net/tun each make gwlbd exit 1 with one clear line naming
# what failed, leaving no interface behind; --help and --version exit 0.
set -eu
. "$(dirname "$0")/lib.sh"

lab_test_init
lab_up 0 || fail "could not build the namespace lab"

# expect_fail WHAT PATTERN ARGS...: gwlbd ARGS must exit 1 with one stderr line matching PATTERN.
# WRAP (an array) may hold a command gwlbd runs under (setpriv, unshare).
WRAP=()
expect_fail()
{
	local what=$1 pattern=$2 rc=0 nlines
	shift 2
	echo "+ [app] ${WRAP[*]} gwlbd $*"
	lab_exec app timeout 10 "${WRAP[@]}" "$GWLBD" --ctl-socket "$LAB_DIR/ctl.sock" --state-file "$LAB_DIR/enis.state" "$@" \
		>"$LAB_DIR/out" 2>"$LAB_DIR/err" || rc=$?
	sed 's/^/  stderr: /' "$LAB_DIR/err"
	[ "$rc" = 1 ] || fail "$what: exit status $rc, expected 1"
	grep -qiE -- "$pattern" "$LAB_DIR/err" || fail "$what: stderr does not match '$pattern'"
	nlines=$(grep -c . "$LAB_DIR/err" || true)
	[ "$nlines" = 1 ] || fail "$what: $nlines lines on stderr, expected one clear line"
	ok "$what: exit 1, '$(head -n 1 "$LAB_DIR/err")'"
}

no_interfaces_left()
{
	local left
	left=$(lab_ip app -o link show | grep -c ' gw[io]-' || true)
	[ "$left" = 0 ] || fail "gwlbd left $left gwi/gwo interfaces behind"
}

cat >"$LAB_DIR/hold_port.py" <<'EOF'
# Hold a port until killed: TYPE (udp|tcp) PORT.
import signal, socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("0.0.0.0", int(sys.argv[2])))
if kind == socket.SOCK_STREAM:
    s.listen(1)
print("holding", sys.argv[1], sys.argv[2], flush=True)
signal.pause()
EOF

step "GENEVE port 6081 taken"
lab_bg app udp6081 "$PYTHON" "$LAB_DIR/hold_port.py" udp 6081
holder=$LAB_LAST_PID
wait_for "lab_exec app ss -Hlun 'sport = :6081' | grep -q ." 5 || fail "could not take UDP 6081"
expect_fail "GENEVE port taken" "6081" -p "$LAB_HEALTH_PORT"
no_interfaces_left
lab_stop "$holder"

step "health port $LAB_HEALTH_PORT taken"
lab_bg app tcp8080 "$PYTHON" "$LAB_DIR/hold_port.py" tcp "$LAB_HEALTH_PORT"
holder=$LAB_LAST_PID
wait_for "lab_exec app ss -Hltn 'sport = :$LAB_HEALTH_PORT' | grep -q ." 5 || fail "could not take TCP $LAB_HEALTH_PORT"
expect_fail "health port taken" "$LAB_HEALTH_PORT" -p "$LAB_HEALTH_PORT"
lab_stop "$holder"

step "bad options"
expect_fail "--udpthreads 0" "--udpthreads" --udpthreads 0
expect_fail "--udpthreads 65" "--udpthreads" --udpthreads 65
expect_fail "--tunthreads junk" "--tunthreads" --tunthreads 4x
expect_fail "--mtu 100" "--mtu" --mtu 100
expect_fail "-t -1" "(-t|timeout)" -t -1
expect_fail "--allowed-origin bad" "--allowed-origin" --allowed-origin 300.1.2.0/24
expect_fail "--nope" "--nope" --nope
expect_fail "-c missing argument" "(-c|argument)" -c
no_interfaces_left

step "no CAP_NET_ADMIN / CAP_NET_RAW"
# Root without the capability: dropped from the bounding set, so exec cannot grant it.
WRAP=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin --)
expect_fail "no CAP_NET_ADMIN" "CAP_NET_ADMIN" -p 0
WRAP=(setpriv --bounding-set=-net_raw --inh-caps=-net_raw --)
expect_fail "no CAP_NET_RAW" "CAP_NET_RAW" -p 0
no_interfaces_left

step "no /dev/net/tun"
# A private mount namespace where /dev/net is an empty tmpfs: as on a host without the module.
WRAP=(unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$0" "$@"')
expect_fail "no /dev/net/tun" "/dev/net/tun" -p 0
WRAP=()
no_interfaces_left

step "--help and --version"
echo "+ [app] gwlbd --help"
lab_exec app "$GWLBD" --help >"$LAB_DIR/out" 2>&1 || fail "--help exited $?"
grep -q -- "--allowed-origin" "$LAB_DIR/out" || fail "--help does not mention --allowed-origin"
grep -q -- "--receive-only" "$LAB_DIR/out" || fail "--help does not mention --receive-only"
ok "--help exits 0 and lists --allowed-origin ($(wc -l <"$LAB_DIR/out") lines)"
echo "+ [app] gwlbd --version"
out=$(lab_exec app "$GWLBD" --version 2>&1) || fail "--version exited $?"
echo "$out"
grep -qE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" || fail "--version prints no version number"
ok "--version exits 0"

step "after all that, a normal start works"
lab_gwlbd_start -p "$LAB_HEALTH_PORT" || fail "gwlbd does not start normally"
expect_eq "health status" "$(lab_exec app curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LAB_HEALTH_PORT/")" 200

echo
echo "PASS: $TEST_NAME"
