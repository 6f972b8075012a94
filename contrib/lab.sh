#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbnf namespace lab: a GWLB stand-in (gwlbsim), an appliance (gwlbd), clients and a server,
# each in its own network namespace, wired with veth pairs. Nothing is created in the root
# namespace and only benchmark/documentation address ranges are used:
# outer 198.18.0.0/24, inner 198.19.0.0/16 and fd00:19::/32.
#
#   cliK (K=1..3) --veth-- gwlb --veth-- srv          gwlb: gwlbsim, policy routing of everything
#                           |                               from the client/server veths into its tun
#                         veth (MTU 9001)
#                           |
#                          app                        app: gwlbd, 198.18.0.2
#
# Sourced by tests/lab/lib.sh and contrib/demo.sh (functions lab_*), or run standalone:
#   contrib/lab.sh up [ID]      build the lab, start servers, gwlbsim and gwlbd (left running)
#   contrib/lab.sh status [ID]  namespaces, processes, gwlbd health
#   contrib/lab.sh down [ID]    stop what "up" started and delete the namespaces
# ID defaults to "demo". State (logs, pid list) lives in ${TMPDIR:-/tmp}/gwlbnf-lab-ID.

# The ENI of gwlbtun's documentation example and two more; ENI3 is above 2^63 on purpose.
LAB_ENI1=076bc493b822cd32f
LAB_ENI2=05a1b2c3d4e5f6071
LAB_ENI3=0f00dfeedcafe1234
LAB_GWLB_ADDR=198.18.0.1
LAB_APP_ADDR=198.18.0.2
LAB_SRV4=198.19.100.2
LAB_SRV6=fd00:19:100::2
LAB_HTTP_PORT=8000
LAB_ECHO_PORT=7
LAB_HEALTH_PORT=8080
LAB_TUN=gwlbsim0
LAB_RT_TABLE=100

LAB_ID=${LAB_ID:-}
LAB_DIR=${LAB_DIR:-}
LAB_NCLI=${LAB_NCLI:-0}
LAB_LAST_PID=
LAB_GWLBD_PID=
LAB_SIM_PID=
LAB_VERBOSE=${LAB_VERBOSE:-1}

lab_log()
{
	echo "lab: $*" >&2
}

# Print a command, then run it.
lab_say()
{
	[ "$LAB_VERBOSE" = 0 ] || echo "+ $*" >&2
	"$@"
}

# wait_for 'SHELL COMMAND' TIMEOUT_SECONDS: poll every 0.1 s until the command succeeds.
wait_for()
{
	local cmd=$1 timeout=$2 deadline
	deadline=$(( $(date +%s%N) + ${timeout%.*} * 1000000000 ))
	while :; do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Locate the programs: the built tree by default, or GWLBD= / GWLBSIM= from the environment.
lab_find_bins()
{
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
	top_builddir=${top_builddir:-$top_srcdir}
	GWLBD=${GWLBD:-$top_builddir/src/gwlbd/gwlbd}
	GWLBSIM=${GWLBSIM:-$top_builddir/src/gwlbsim/gwlbsim}
	GWLBCTL=${GWLBCTL:-$top_builddir/src/gwlbctl/gwlbctl}
	GWLBNF_CT=${GWLBNF_CT:-$top_builddir/src/ct/gwlbnf-ct}
	LAB_HOOK=${LAB_HOOK:-$top_srcdir/contrib/hooks/passthrough.sh}
	PYTHON=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
}

# Namespace name of a lab node.
lab_ns()
{
	echo "gwlbnf-$LAB_ID-$1"
}

# lab_exec NODE CMD...: run CMD inside a node's namespace.
lab_exec()
{
	local node=$1
	shift
	ip netns exec "$(lab_ns "$node")" "$@"
}

# lab_run NODE CMD...: print then run CMD inside a node's namespace.
lab_run()
{
	local node=$1
	shift
	[ "$LAB_VERBOSE" = 0 ] || echo "+ [$node] $*" >&2
	ip netns exec "$(lab_ns "$node")" "$@"
}

# lab_ip NODE ARGS...: ip(8) inside a node's namespace.
lab_ip()
{
	local node=$1
	shift
	ip -n "$(lab_ns "$node")" "$@"
}

# lab_init [ID] [DIR]: name this lab instance; DIR holds logs, pids and server files.
lab_init()
{
	LAB_ID=${1:-$$}
	if [ -n "${2:-}" ]; then
		LAB_DIR=$2
		mkdir -p "$LAB_DIR"
	else
		LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gwlbnf-lab-$LAB_ID.XXXXXX")
	fi
	: >>"$LAB_DIR/pids"
	: >>"$LAB_DIR/nodes"
	lab_find_bins
}

lab_add_ns()
{
	local ns
	ns=$(lab_ns "$1")
	ip netns add "$ns" || return 1
	echo "$1" >>"$LAB_DIR/nodes"
	ip -n "$ns" link set lo up
	# The lab's addresses need no DAD and no router solicitations.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 >/dev/null
}

lab_sysctl()
{
	local node=$1
	shift
	lab_exec "$node" sysctl -qw "$@" >/dev/null
}

# lab_veth NODE_A IF_A NODE_B IF_B [MTU]: a veth pair created directly inside both namespaces.
lab_veth()
{
	local mtu=${5:-1500}
	ip -n "$(lab_ns "$1")" link add "$2" mtu "$mtu" type veth peer name "$4" mtu "$mtu" \
		netns "$(lab_ns "$3")" || return 1
	lab_ip "$1" link set "$2" up && lab_ip "$3" link set "$4" up
}

# lab_up [NCLI]: namespaces gwlb and app; with NCLI > 0 (at most 3) also cli1..cliNCLI and srv.
lab_up()
{
	local ncli=${1:-1} k
	LAB_NCLI=$ncli
	echo "$ncli" >"$LAB_DIR/ncli"
	lab_log "building lab $LAB_ID (namespaces gwlbnf-$LAB_ID-*, $ncli client(s))"
	lab_add_ns gwlb || return 1
	lab_add_ns app || return 1
	lab_sysctl gwlb net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 || return 1
	lab_veth gwlb v-app app eth0 9001 || return 1
	lab_ip gwlb addr add "$LAB_GWLB_ADDR/24" dev v-app || return 1
	lab_ip app addr add "$LAB_APP_ADDR/24" dev eth0 || return 1
	[ "$ncli" -gt 0 ] || return 0

	for k in $(seq 1 "$ncli") 100; do
		local node=cli$k
		[ "$k" = 100 ] && node=srv
		lab_add_ns "$node" || return 1
		lab_veth gwlb "v-$node" "$node" eth0 || return 1
		lab_ip gwlb addr add "198.19.$k.1/24" dev "v-$node" || return 1
		lab_ip gwlb -6 addr add "fd00:19:$k::1/64" dev "v-$node" nodad || return 1
		lab_ip "$node" addr add "198.19.$k.2/24" dev eth0 || return 1
		lab_ip "$node" -6 addr add "fd00:19:$k::2/64" dev eth0 nodad || return 1
		lab_ip "$node" route add default via "198.19.$k.1" || return 1
		lab_ip "$node" -6 route add default via "fd00:19:$k::1" || return 1
		lab_sysctl gwlb "net.ipv4.conf.v-$node.rp_filter=0" || return 1
	done
}

# lab_bg NODE NAME CMD...: start CMD in the background inside NODE, output to $LAB_DIR/NAME.log.
# Its PID (ip netns exec execs the command, so it is the command's own PID) goes to LAB_LAST_PID
# and to the pid list that lab_down uses.
lab_bg()
{
	local node=$1 name=$2
	shift 2
	[ "$LAB_VERBOSE" = 0 ] || echo "+ [$node] $* &" >&2
	ip netns exec "$(lab_ns "$node")" "$@" >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	LAB_LAST_PID=$!
	printf '%s %s %s\n' "$LAB_LAST_PID" "$name" "${1##*/}" >>"$LAB_DIR/pids"
}

# lab_stop PID [TIMEOUT]: SIGTERM one process we started, SIGKILL if it lingers.
lab_stop()
{
	local pid=$1 timeout=${2:-5}
	# Callers may run under set -e: nothing here may fail (wait returns the child's status).
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_for "! kill -0 $pid" "$timeout"; then
			lab_log "pid $pid still running after SIGTERM, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			wait_for "! kill -0 $pid" 2 || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# Server side: HTTP (a few MB of random data to download) and UDP echo, IPv4 and IPv6.
lab_srv_start()
{
	local size_mb=${1:-4}
	mkdir -p "$LAB_DIR/www"
	head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$LAB_DIR/www/blob" || return 1
	LAB_BLOB_SIZE=$(stat -c %s "$LAB_DIR/www/blob")
	LAB_BLOB_SHA=$(sha256sum "$LAB_DIR/www/blob" | cut -d' ' -f1)
	cat >"$LAB_DIR/udpecho.py" <<'EOF'
# UDP echo on [::]:PORT, dual stack: sends every datagram back to its sender.
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
EOF
	lab_bg srv http "$PYTHON" -m http.server --bind :: --directory "$LAB_DIR/www" "$LAB_HTTP_PORT"
	LAB_HTTP_PID=$LAB_LAST_PID
	lab_bg srv udpecho "$PYTHON" "$LAB_DIR/udpecho.py" "$LAB_ECHO_PORT"
	LAB_ECHO_PID=$LAB_LAST_PID
	wait_for "lab_exec srv ss -Hltn 'sport = :$LAB_HTTP_PORT' | grep -q LISTEN" 10 ||
		{ lab_log "http server did not start"; return 1; }
	wait_for "lab_exec srv ss -Hlun 'sport = :$LAB_ECHO_PORT' | grep -q ." 10 ||
		{ lab_log "udp echo server did not start"; return 1; }
}

# ENI of client K.
lab_eni_of()
{
	case $1 in
	1) echo "$LAB_ENI1" ;;
	2) echo "$LAB_ENI2" ;;
	3) echo "$LAB_ENI3" ;;
	esac
}

# gwlbtun's interface-name suffix of an ENI given in hex: base 60, digits 0-9a-zA-X.
lab_eni_b60()
{
	"$PYTHON" - "$1" <<'EOF'
import sys
n = int(sys.argv[1].removeprefix("eni-"), 16)
a = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
s = ""
while True:
    s = a[n % 60] + s
    n //= 60
    if n == 0:
        break
print(s)
EOF
}

# lab_sim_start [EXTRA ARGS...]: gwlbsim in gwlb with one ENI per client (v4 and v6 subnets),
# then policy routing of everything arriving from clients and server into its tun.
lab_sim_start()
{
	local args=() iifs=() k
	for k in $(seq 1 "$LAB_NCLI"); do
		args+=(--eni "198.19.$k.0/24=$(lab_eni_of "$k")" --eni "fd00:19:$k::/48=$(lab_eni_of "$k")")
		iifs+=("v-cli$k")
	done
	lab_sim_run gwlb sim "$LAB_GWLB_ADDR" "$LAB_APP_ADDR" "${iifs[*]} v-srv" "${args[@]}" "$@" ||
		return 1
	LAB_SIM_PID=$LAB_LAST_PID
}

# lab_sim_run NODE NAME LOCAL APPLIANCE 'IIF...' GWLBSIM ARGS...: one GWLB stand-in in NODE
# (log $LAB_DIR/NAME.log, stats $LAB_DIR/NAME.json), GWLB address LOCAL, sending to APPLIANCE,
# with everything arriving on the interfaces IIF... policy routed into its tun. A lab may run
# several, one per namespace (overlapping client addresses need that: the ENI is picked by
# address). LAB_LAST_PID is gwlbsim's when it returns 0.
lab_sim_run()
{
	local node=$1 name=$2 local=$3 appliance=$4 iifs=$5 pid veth
	shift 5
	lab_bg "$node" "$name" "$GWLBSIM" lab --local "$local" --appliance "$appliance" \
		--tun "$LAB_TUN" --stats "$LAB_DIR/$name.json" "$@"
	pid=$LAB_LAST_PID
	if ! wait_for "lab_ip $node link show $LAB_TUN || ! kill -0 $pid" 10 ||
	   ! kill -0 "$pid" 2>/dev/null; then
		lab_log "gwlbsim did not create $LAB_TUN in $node; its log:"
		tail -n 20 "$LAB_DIR/$name.log" >&2
		return 1
	fi
	lab_ip "$node" link set "$LAB_TUN" up || return 1
	lab_sysctl "$node" "net.ipv4.conf.$LAB_TUN.rp_filter=0" "net.ipv4.conf.$LAB_TUN.accept_local=1" || return 1
	lab_ip "$node" route replace default dev "$LAB_TUN" table "$LAB_RT_TABLE" || return 1
	lab_ip "$node" -6 route replace default dev "$LAB_TUN" table "$LAB_RT_TABLE" || return 1
	for veth in $iifs; do
		lab_ip "$node" rule add iif "$veth" lookup "$LAB_RT_TABLE" || return 1
		lab_ip "$node" -6 rule add iif "$veth" lookup "$LAB_RT_TABLE" || return 1
	done
	wait_for "test -s '$LAB_DIR/$name.json'" 5 || lab_log "warning: no stats from gwlbsim $name yet"
	LAB_LAST_PID=$pid
	return 0
}

# lab_gwlbd_start [ARGS...]: gwlbd in app (default arguments: the passthrough hook and health
# port; pass your own to replace them). Waits until its GENEVE socket (and health port) listen.
# Its control socket and ENI state file are this lab's own ($LAB_DIR/ctl.sock, enis.state), so
# labs running at once never meet on the defaults; a --ctl-socket or --state-file in ARGS wins.
lab_gwlbd_start()
{
	local args=("$@") port="" gport=6081 i
	if [ "${#args[@]}" -eq 0 ]; then
		args=(-c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT")
	fi
	args=(--ctl-socket "$LAB_DIR/ctl.sock" --state-file "$LAB_DIR/enis.state" "${args[@]}")
	for ((i = 0; i < ${#args[@]}; i++)); do
		[ "${args[$i]}" = -p ] && port=${args[$((i + 1))]}
		[ "${args[$i]}" = --geneve-port ] && gport=${args[$((i + 1))]}
	done
	lab_bg app gwlbd "$GWLBD" "${args[@]}"
	LAB_GWLBD_PID=$LAB_LAST_PID
	if ! wait_for "! kill -0 $LAB_GWLBD_PID || lab_exec app ss -Hlun 'sport = :$gport' | grep -q ." 10 ||
	   ! kill -0 "$LAB_GWLBD_PID" 2>/dev/null; then
		lab_log "gwlbd did not start; its log:"
		tail -n 20 "$LAB_DIR/gwlbd.log" >&2
		return 1
	fi
	if [ -n "$port" ] && [ "$port" != 0 ] &&
	   ! wait_for "lab_exec app curl -s -o /dev/null -m 1 http://127.0.0.1:$port/json" 10; then
		lab_log "gwlbd health port $port does not answer"
		return 1
	fi
	return 0
}

lab_gwlbd_stop()
{
	lab_stop "$LAB_GWLBD_PID" 10
	LAB_GWLBD_PID=
}

# lab_gwlbctl ARGS...: gwlbctl talking to this lab's gwlbd.
lab_gwlbctl()
{
	"$GWLBCTL" --socket "$LAB_DIR/ctl.sock" "$@"
}

# lab_health PATH: body of gwlbd's health server.
lab_health()
{
	lab_exec app curl -s -m 5 "http://127.0.0.1:$LAB_HEALTH_PORT$1"
}

# lab_sim_stat JQ_FILTER [NAME]: read gwlbsim's stats file (that of lab_sim_run's NAME,
# default sim), retrying over a half-written file.
lab_sim_stat()
{
	local i out f=$LAB_DIR/${2:-sim}.json
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if out=$(jq -r "$1" "$f" 2>/dev/null) && [ -n "$out" ]; then
			echo "$out"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# lab_sim_fresh [NAME]: wait until gwlbsim (lab_sim_run's NAME, default sim) has rewritten its
# stats file (it does once a second), so what is read next covers everything sent before.
lab_sim_fresh()
{
	local before f=$LAB_DIR/${1:-sim}.json
	before=$(date -r "$f" +%s%N 2>/dev/null || echo 0)
	wait_for "[ \"\$(date -r '$f' +%s%N 2>/dev/null || echo 0)\" != $before ]" 3 || true
	# One more write, so a packet still in flight at the first write is counted.
	before=$(date -r "$f" +%s%N 2>/dev/null || echo 0)
	wait_for "[ \"\$(date -r '$f' +%s%N 2>/dev/null || echo 0)\" != $before ]" 3 ||
		lab_log "warning: gwlbsim has not rewritten $f for 3 s"
	return 0
}

# Kill every process this lab started (by PID, checking it is still the same program).
lab_kill_all()
{
	local pid name prog cmdline
	[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/pids" ] || return 0
	while read -r pid name prog; do
		[ -n "$pid" ] || continue
		cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
		# A recycled PID belongs to someone else: only stop what still runs our program.
		case $cmdline in
		*"$prog"*|"ip netns exec "*) lab_stop "$pid" 3 ;;
		*) lab_log "not stopping pid $pid ($name): it now runs '$cmdline'" ;;
		esac
	done <"$LAB_DIR/pids"
	: >"$LAB_DIR/pids"
}

# Tear everything down; keeps LAB_DIR if LAB_KEEP=1.
lab_down()
{
	local node
	[ -n "$LAB_ID" ] || return 0
	lab_kill_all
	if [ -f "$LAB_DIR/nodes" ]; then
		while read -r node; do
			[ -n "$node" ] && ip netns del "$(lab_ns "$node")" 2>/dev/null
		done <"$LAB_DIR/nodes"
		: >"$LAB_DIR/nodes"
	fi
	# Namespaces a crashed earlier step may have left without being listed.
	for node in gwlb app srv cli1 cli2 cli3; do
		ip netns del "$(lab_ns "$node")" 2>/dev/null
	done
	if [ "${LAB_KEEP:-0}" != 1 ] && [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		rm -rf "$LAB_DIR"
	fi
	return 0
}

lab_status()
{
	local node
	echo "lab $LAB_ID, state in $LAB_DIR"
	ip netns list | grep -- "^gwlbnf-$LAB_ID-" || echo "no namespaces"
	[ -f "$LAB_DIR/pids" ] && while read -r pid name _; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "  $name: pid $pid running"
		else
			echo "  $name: pid $pid gone"
		fi
	done <"$LAB_DIR/pids"
	if ip netns list | grep -q -- "^gwlbnf-$LAB_ID-app"; then
		lab_exec app curl -s -m 2 "http://127.0.0.1:$LAB_HEALTH_PORT/" || echo "gwlbd health: no answer"
	fi
}

# Standalone use.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	cmd=${1:-}
	LAB_ID=${2:-demo}
	dir=${TMPDIR:-/tmp}/gwlbnf-lab-$LAB_ID
	case $cmd in
	up)
		[ "$(id -u)" = 0 ] || { echo "lab.sh: must run as root" >&2; exit 1; }
		if ip netns list | grep -q -- "^gwlbnf-$LAB_ID-"; then
			echo "lab.sh: lab $LAB_ID already exists; run: $0 down $LAB_ID" >&2
			exit 1
		fi
		lab_init "$LAB_ID" "$dir"
		ncli=${LAB_CLIENTS:-3}
		if ! { lab_up "$ncli" && lab_srv_start && lab_sim_start && lab_gwlbd_start; }; then
			echo "lab.sh: up failed; tearing down" >&2
			lab_down
			exit 1
		fi
		echo "lab $LAB_ID is up. Try:"
		echo "  ip netns exec $(lab_ns cli1) ping -c 3 $LAB_SRV4"
		echo "  ip netns exec $(lab_ns app) curl -s 127.0.0.1:$LAB_HEALTH_PORT/"
		echo "  $0 down $LAB_ID"
		;;
	down)
		lab_find_bins
		LAB_DIR=$dir
		lab_down
		echo "lab $LAB_ID is down"
		;;
	status)
		lab_find_bins
		LAB_DIR=$dir
		lab_status
		;;
	*)
		echo "usage: $0 up|down|status [ID]" >&2
		exit 2
		;;
	esac
fi
