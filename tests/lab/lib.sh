#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the lab tests: prerequisites (exit 77 = skip), the namespace lab from
# contrib/lab.sh, cleanup on exit, assertions that print what differed.
# A test sources this file, calls lab_test_start [NCLI] and asserts with check/fail.

TEST_NAME=$(basename "$0" .sh)
lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$lib_dir/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

# shellcheck source=../../contrib/lab.sh
. "$top_srcdir/contrib/lab.sh"
lab_find_bins

skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

fail()
{
	echo "FAIL: $TEST_NAME: $*"
	LAB_FAIL_SAID=1
	exit 1
}

# set -e stops a test at any unchecked failing command: say which one.
lab_test_err()
{
	echo "FAIL: $TEST_NAME: line $1: command failed (status $3): $2"
	LAB_FAIL_SAID=1
}

ok()
{
	echo "ok: $TEST_NAME: $*"
}

step()
{
	echo
	echo "=== $TEST_NAME: $*"
}

# check 'DESCRIPTION' CMD...: run CMD; fail naming DESCRIPTION when it does not succeed.
check()
{
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		fail "$what (command failed: $*)"
	fi
}

# Exit 77 unless this machine can run the lab.
lab_test_prereq()
{
	local t
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tun devices)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	command -v ip >/dev/null || skip "no ip(8)"
	ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
	t=gwlbnf-probe-$$
	ip netns add "$t" 2>/dev/null || skip "cannot create a network namespace"
	ip netns del "$t"
	for t in jq curl ping ss "$PYTHON"; do
		command -v "$t" >/dev/null || skip "$t not installed"
	done
	[ -x "$GWLBD" ] || skip "gwlbd not built ($GWLBD)"
	[ -x "$GWLBSIM" ] || skip "gwlbsim not built ($GWLBSIM)"
}

lab_test_cleanup()
{
	local rc=$?
	trap - EXIT ERR
	set +e
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -z "${LAB_FAIL_SAID:-}" ]; then
		echo "FAIL: $TEST_NAME: exited with status $rc"
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		for f in gwlbd sim; do
			if [ -s "$LAB_DIR/$f.log" ]; then
				echo "--- last lines of $f.log:"
				tail -n 25 "$LAB_DIR/$f.log"
			fi
		done
		if [ -s "$LAB_DIR/sim.json" ]; then
			echo "--- gwlbsim stats: $(cat "$LAB_DIR/sim.json")"
		fi
	fi
	# A test's own leftovers that stopping its processes would not end.
	if declare -F lab_test_cleanup_hook >/dev/null; then
		lab_test_cleanup_hook
	fi
	lab_down
	exit "$rc"
}

# lab_test_init: prerequisites, names, cleanup trap; no namespaces yet.
lab_test_init()
{
	lab_test_prereq
	lab_init "$$"
	trap lab_test_cleanup EXIT
	trap 'lab_test_err "$LINENO" "$BASH_COMMAND" "$?"' ERR
	trap 'exit 130' INT TERM
	lab_write_udpclient
	lab_write_oneshot
	echo "$TEST_NAME: lab id $$, files in $LAB_DIR"
}

# lab_test_lab [NCLI]: the whole lab (servers, gwlbsim) but no gwlbd yet, for tests that
# start gwlbd themselves.
lab_test_lab()
{
	lab_test_init
	lab_up "${1:-1}" || fail "could not build the namespace lab"
	lab_srv_start || fail "could not start the servers in srv"
	lab_sim_start || fail "could not start gwlbsim"
}

# lab_test_start [NCLI] [GWLBD ARGS...]: the whole lab with gwlbd running.
lab_test_start()
{
	local ncli=${1:-1}
	shift || true
	lab_test_lab "$ncli"
	lab_gwlbd_start "$@" || fail "could not start gwlbd"
}

# udpclient.py MODE HOST PORT PAYLOAD, the UDP client of every test: "echo" (the payload must
# come back) or "refused" (expect ICMP port unreachable: ECONNREFUSED on a connected socket).
lab_write_udpclient()
{
	cat >"$LAB_DIR/udpclient.py" <<'EOF'
import socket, sys
mode, host, port, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.connect((host, port))
s.settimeout(1.0)
for attempt in range(3):
    try:
        s.send(payload)
        data = s.recv(65535)
    except ConnectionRefusedError:
        print("ECONNREFUSED")
        sys.exit(0 if mode == "refused" else 1)
    except socket.timeout:
        continue
    print(data.decode(errors="replace"))
    sys.exit(0 if mode == "echo" and data == payload else 1)
print("TIMEOUT")
sys.exit(1)
EOF
}

# oneshot.py HOST PORT PAYLOAD: one datagram, no retry; prints what came back within 2 s, or
# TIMEOUT (a packet the policy host held when it died, or that bypass = no dropped).
lab_write_oneshot()
{
	cat >"$LAB_DIR/oneshot.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(2.0)
s.send(sys.argv[3].encode())
try:
    print(s.recv(65535).decode(errors="replace"))
except socket.timeout:
    print("TIMEOUT")
EOF
}

# udp_echo NODE DST PORT PAYLOAD: fail unless the payload comes back unchanged.
udp_echo()
{
	local node=$1 dst=$2 port=$3 payload=$4 out
	echo "+ [$node] udp echo '$payload' to [$dst]:$port"
	out=$(lab_exec "$node" "$PYTHON" "$LAB_DIR/udpclient.py" echo "$dst" "$port" "$payload" 2>&1) ||
		fail "UDP echo from $node to [$dst]:$port: expected '$payload', got '$out'"
	[ "$out" = "$payload" ] || fail "UDP echo from $node to [$dst]:$port: expected '$payload', got '$out'"
	ok "UDP echo $node -> [$dst]:$port returned '$out'"
}

# ping_ok NODE DST COUNT: fail unless every echo request of COUNT gets its reply.
# -w, not only -W: once a reply came, ping waits just two round trips after its last request
# and counts a later reply as lost (a loaded machine's 100 ms hiccup); with a deadline it
# waits for every reply until then, so only a reply that never comes fails.
ping_ok()
{
	local node=$1 dst=$2 count=${3:-5} out
	echo "+ [$node] ping -c $count -i 0.2 -W 2 -w $((count + 5)) $dst"
	out=$(lab_exec "$node" ping -c "$count" -i 0.2 -W 2 -w $((count + 5)) "$dst" 2>&1) || true
	echo "$out" | tail -n 2
	echo "$out" | grep -q " $count received, 0% packet loss" ||
		fail "ping from $node to $dst: expected '$count received, 0% packet loss'"
	ok "ping $node -> $dst: $count/$count replies"
}

# download_ok NODE URL: fail unless the file arrives complete (size and sha256).
download_ok()
{
	local node=$1 url=$2 out size sha
	echo "+ [$node] curl -s -g -m 20 -o FILE -w '%{size_download} %{speed_download}' $url"
	out=$(lab_exec "$node" curl -s -g -m 20 -o "$LAB_DIR/dl.$node" -w '%{size_download} %{speed_download}' "$url") ||
		fail "download $url from $node: curl failed ($out)"
	size=$(stat -c %s "$LAB_DIR/dl.$node")
	sha=$(sha256sum "$LAB_DIR/dl.$node" | cut -d' ' -f1)
	rm -f "$LAB_DIR/dl.$node"
	[ "$size" = "$LAB_BLOB_SIZE" ] || fail "download $url from $node: $size bytes, expected $LAB_BLOB_SIZE"
	[ "$sha" = "$LAB_BLOB_SHA" ] || fail "download $url from $node: sha256 $sha, expected $LAB_BLOB_SHA"
	ok "download $node <- $url: $size bytes, sha256 matches ($(awk '{ printf "%.1f MB/s", $2 / 1e6 }' <<<"$out"))"
}

# lab_uplink [K...]: veth up0 from app (198.19.250.1, fd00:19:250::1) to srv (.2), bypassing
# GWLB; app routes srv's prefixes over it, srv routes client K's prefixes back over it (route
# mode; a nat client needs none), and srv answers over it from its own address (the UDP
# echo server lets the kernel pick the source: it would be up0's, and conntrack would not
# see a reply). For route and nat mode tests.
lab_uplink()
{
	local k
	lab_veth app up0 srv up0
	lab_ip app addr add 198.19.250.1/24 dev up0
	lab_ip app -6 addr add fd00:19:250::1/64 dev up0 nodad
	lab_ip srv addr add 198.19.250.2/24 dev up0
	lab_ip srv -6 addr add fd00:19:250::2/64 dev up0 nodad
	lab_ip app route add 198.19.100.0/24 via 198.19.250.2
	lab_ip app -6 route add fd00:19:100::/48 via fd00:19:250::2
	for k in "$@"; do
		lab_ip srv route add "198.19.$k.0/24" via 198.19.250.1 src "$LAB_SRV4"
		lab_ip srv -6 route add "fd00:19:$k::/48" via fd00:19:250::1 src "$LAB_SRV6"
	done
	lab_ip srv route replace 198.19.250.0/24 dev up0 proto kernel scope link src "$LAB_SRV4"
	lab_ip srv -6 route replace fd00:19:250::/64 dev up0 proto kernel metric 256 src "$LAB_SRV6"
}

# gwlbd_json FILTER: jq -r FILTER over gwlbd's /json.
gwlbd_json()
{
	local body
	body=$(lab_health /json) || return 1
	jq -r "$1" <<<"$body"
}

# expect_eq WHAT GOT WANT
expect_eq()
{
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	ok "$1 = $2"
}

# expect_gt WHAT GOT MIN: GOT must be an integer > MIN.
expect_gt()
{
	[[ $2 =~ ^[0-9]+$ ]] || fail "$1: got '$2', expected a number > $3"
	[ "$2" -gt "$3" ] || fail "$1: got $2, expected > $3"
	ok "$1 = $2 (> $3)"
}

# sim_clean [NAME]: after traffic, gwlbsim (lab_sim_run's NAME, default sim) saw no reply
# with a wrong header and no unknown flow.
sim_clean()
{
	local name=${1:-sim} what="gwlbsim${1:+ $1}"
	lab_sim_fresh "$name"
	expect_eq "$what mismatch" "$(lab_sim_stat .mismatch "$name")" 0
	expect_eq "$what unknown_flow" "$(lab_sim_stat .unknown_flow "$name")" 0
}

# http_code PATH [CURL ARGS...]: status code of a request to gwlbd's health server.
http_code()
{
	local path=$1
	shift
	lab_exec app curl -s -m 5 -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$LAB_HEALTH_PORT$path"
}

# For gwlbd --policy (failmode.sh, watchdog.sh): the policy host process, as /json sees it.

# policy_child: the running child's pid, checked to be a gwlbd --policy-child of ours.
policy_child()
{
	local pid
	pid=$(gwlbd_json .policy.pid)
	[[ $pid =~ ^[0-9]+$ ]] || fail "/json .policy.pid is '$pid', expected the policy host's pid"
	[ "$pid" != "$LAB_GWLBD_PID" ] || fail "/json .policy.pid is gwlbd's own pid: no child process"
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")" = "$LAB_GWLBD_PID" ] ||
		fail "pid $pid is not a child of gwlbd ($LAB_GWLBD_PID)"
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- '--policy-child' ||
		fail "pid $pid does not run gwlbd --policy-child: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	echo "$pid"
}

# expect_state STATE TIMEOUT: the policy host reaches STATE (/json .policy.state) in time.
expect_state()
{
	wait_for "[ \"\$(gwlbd_json .policy.state)\" = $1 ]" "$2" ||
		fail "/json .policy.state is '$(gwlbd_json .policy.state)', expected '$1' within $2 s"
	ok "/json .policy.state = $1"
}

# still_down WHAT: the restart must not have come before WHAT was checked.
still_down()
{
	[ "$(gwlbd_json .policy.state)" = down ] ||
		fail "the policy host came back before '$1' was checked: raise DOWN_MS (${DOWN_MS:-unset})"
}

# gwlbd_alive: gwlbd itself survived whatever happened to its policy host.
gwlbd_alive()
{
	kill -0 "$LAB_GWLBD_PID" 2>/dev/null || fail "gwlbd (pid $LAB_GWLBD_PID) died"
	ok "gwlbd still runs as pid $LAB_GWLBD_PID"
}

# ct_with_decision DECISION: the `conntrack -L` lines on stdin whose mark carries policy
# decision DECISION (1 accepted, 2 dropped) in bits 16-17, whatever the ENI index in bits
# 0-15 (mark=65537: ENI index 1, accepted).
ct_with_decision()
{
	awk -v d="$1" 'match($0, /mark=[0-9]+/) {
		m = substr($0, RSTART + 5, RLENGTH - 5) + 0
		if (int(m / 65536) % 4 == d) print
	}'
}

# For the balancer's tests (lb.sh, lbhealth.sh): backends behind app, cli1's requests.

# lb_backend_ns NAME K: namespace NAME on veth v-NAME from app, 198.19.20K.2/24 and
# fd00:19:20K::2/64, routed by app (.1, ::1), which forwards.
lb_backend_ns()
{
	local b=$1 k=$2
	lab_add_ns "$b"
	lab_veth app "v-$b" "$b" eth0
	lab_ip app addr add "198.19.20$k.1/24" dev "v-$b"
	lab_ip app -6 addr add "fd00:19:20$k::1/64" dev "v-$b" nodad
	lab_ip "$b" addr add "198.19.20$k.2/24" dev eth0
	lab_ip "$b" -6 addr add "fd00:19:20$k::2/64" dev eth0 nodad
	lab_ip "$b" route add default via "198.19.20$k.1"
	lab_ip "$b" -6 route add default via "fd00:19:20$k::1"
}

# lb_get VIP [PATH] [CURL ARGS...]: the body of http://VIP/PATH from cli1 (a new connection)
lb_get()
{
	local vip=$1 path=${2:-name}
	shift 2 || shift $#
	[[ $vip == *:* ]] && vip="[$vip]"
	lab_exec cli1 curl -s -g -m 5 "$@" "http://$vip/$path"
}
# lb_svc_j FILTER: jq FILTER over gwlbctl services -j
lb_svc_j() { lab_gwlbctl -j services | jq -r "$1"; }
# lb_be SERVICE BACKEND FIELD: one field of a backend in gwlbctl services -j
lb_be() { lb_svc_j ".services[] | select(.name == \"$1\") | .backends[] | select(.name == \"$2\") | .$3"; }
lb_be_new() { lb_be "$1" "$2" new; }
lb_backend() { lab_gwlbctl backend "$@" >/dev/null || fail "gwlbctl backend $* failed"; }

# The ENI names gwlbd must use, computed independently of it.
ENI1_GWI=gwi-$(lab_eni_b60 "$LAB_ENI1" 2>/dev/null || echo e8WXgsTQDkf)
ENI1_GWO=gwo-${ENI1_GWI#gwi-}

