#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The backend health checker (src/gwlbd/hcheck.c through tests/tools/hcdrive) against real
# servers in a namespace of its own, IPv4 and IPv6, on its loopback: a TCP listener stays
# up; a closed port goes down with "connection refused"; HTTP 200 stays up, HTTP 500 goes
# down naming the status; a listener that never answers goes down by timeout; a killed
# server goes down within interval x fall + interval, comes back within interval x rise +
# interval once restarted; transitions are counted; after remove no event comes.
set -eu
. "$(dirname "$0")/lib.sh"

HCDRIVE=${HCDRIVE:-$top_builddir/tests/tools/hcdrive}
INTERVAL=200	# ms
TIMEOUT=150	# ms
RISE=2
FALL=3
KEYS="check-interval=${INTERVAL}ms check-timeout=${TIMEOUT}ms rise=$RISE fall=$FALL"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "no ip(8)"
[ -x "$HCDRIVE" ] || skip "hcdrive not built ($HCDRIVE)"
command -v "$PYTHON" >/dev/null || skip "no python3"
lab_init "$$"
trap lab_test_cleanup EXIT
trap 'lab_test_err "$LINENO" "$BASH_COMMAND" "$?"' ERR
trap 'exit 130' INT TERM
lab_add_ns hc || skip "cannot create a network namespace"
lab_ip hc -6 addr add ::1/128 dev lo 2>/dev/null || true
lab_exec hc ip -6 addr show dev lo | grep -q '::1' || skip "no IPv6 loopback in the namespace"

# A server: tcp (listen only), http STATUS (answers every request), mute (accepts, reads,
# never answers). Dual stack on [::]:PORT.
cat >"$LAB_DIR/srv.py" <<'PY'
import socket, sys, threading, time
kind, port = sys.argv[1], int(sys.argv[2])
status = int(sys.argv[3]) if len(sys.argv) > 3 else 200
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", port))
s.listen(64)
# CLOCK_MONOTONIC in ms, the clock of hcdrive's events: when checks can succeed.
print("listening %d" % int(time.monotonic() * 1000), flush=True)
held = []
def serve(c):
    try:
        c.recv(4096)
        if kind == "http":
            c.sendall(b"HTTP/1.0 %d Test\r\nContent-Length: 0\r\n\r\n" % status)
            c.close()
        else:
            held.append(c)
    except OSError:
        pass
while True:
    c, _ = s.accept()
    if kind == "tcp":
        c.close()
    else:
        threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

srv_start()	# NAME KIND PORT [STATUS]
{
	lab_bg hc "$1" "$PYTHON" "$LAB_DIR/srv.py" "${@:2}"
	eval "PID_$1=$LAB_LAST_PID"
	wait_for "lab_exec hc ss -Hltn 'sport = :$3' | grep -q LISTEN" 5 ||
		fail "server $1 does not listen on $3"
}

now_ms()
{
	"$HCDRIVE" now
}

# The driver reads commands from a FIFO and writes its lines to events.log.
mkfifo "$LAB_DIR/cmd"
# Not lab_bg: its stdin is /dev/null. In the pid list all the same, for lab_down.
[ "$LAB_VERBOSE" = 0 ] || echo "+ [hc] $HCDRIVE <cmd >events.log &" >&2
ip netns exec "$(lab_ns hc)" "$HCDRIVE" <"$LAB_DIR/cmd" >"$LAB_DIR/events.log" 2>&1 &
DRIVE_PID=$!
echo "$DRIVE_PID hcdrive hcdrive" >>"$LAB_DIR/pids"
exec 3>"$LAB_DIR/cmd"

cmd()
{
	echo "+ hcdrive: $*" >&2
	echo "$*" >&3
}

# wait_line REGEX SECONDS: the first events.log line matching (bounded), printed.
wait_line()
{
	wait_for "grep -Eq -- '$1' '$LAB_DIR/events.log'" "$2" || return 1
	grep -E -m1 -- "$1" "$LAB_DIR/events.log"
}

# status NAME FIELD: one field of a fresh status line.
status_of()
{
	local n
	n=$(grep -c "^status $1 " "$LAB_DIR/events.log" || true)
	cmd status "$1"
	wait_for "[ \$(grep -c '^status $1 ' '$LAB_DIR/events.log') -gt $n ]" 5 ||
		fail "no status line for $1"
	grep "^status $1 " "$LAB_DIR/events.log" | tail -n1 | tr ' ' '\n' |
		sed -n "s/^$2=//p"
}

events_of()	# NAME: how many up/down events it had
{
	grep -Ec "^event [0-9]+ $1 (up|down) " "$LAB_DIR/events.log" || true
}

step "servers"
srv_start tcp tcp 7001
srv_start ok http 7002 200
srv_start err http 7003 500
srv_start mute mute 7004
srv_start kill http 7005 200

step "targets"
cmd add tcp4 127.0.0.1 7001 check=tcp $KEYS
cmd add tcp6 ::1 7001 check=tcp $KEYS
cmd add closed 127.0.0.1 7009 check=tcp $KEYS
cmd add ok6 ::1 7002 check=http check-path=/health $KEYS
cmd add err 127.0.0.1 7003 check=http $KEYS
cmd add mute 127.0.0.1 7004 check=http $KEYS
cmd add kill 127.0.0.1 7005 check=http check-source=127.0.0.1 $KEYS
cmd add bad 127.0.0.1 7005 check=http check-timeout=3s
wait_line '^added kill ' 5 >/dev/null || fail "targets not added: $(cat "$LAB_DIR/events.log")"
wait_line '^error add: check-timeout 3000ms must lie in' 5 ||
	fail "a timeout above the interval was not refused with its reason"
ok "a bad target is refused with the reason"

# Everything starts up: a target that fails goes down after fall failures, the first within
# a quarter interval of its add, each of them within its timeout.
DOWN_BOUND=$((INTERVAL / 4 + (FALL - 1) * INTERVAL + TIMEOUT + INTERVAL))
step "failures go down within $DOWN_BOUND ms, with the reason"
secs=$(( DOWN_BOUND / 1000 + 3 ))
line=$(wait_line '^event [0-9]+ closed down ' "$secs") || fail "closed port never went down"
echo "$line"
grep -q 'connection refused, 3 in a row$' <<<"$line" || fail "closed port: reason is not 'connection refused'"
line=$(wait_line '^event [0-9]+ err down ' "$secs") || fail "HTTP 500 never went down"
echo "$line"
grep -q 'HTTP status 500, expected 200, 3 in a row$' <<<"$line" || fail "HTTP 500: reason lacks the status"
line=$(wait_line '^event [0-9]+ mute down ' "$secs") || fail "the mute listener never went down"
echo "$line"
grep -q "timeout ($TIMEOUT ms) waiting for the status line, 3 in a row\$" <<<"$line" ||
	fail "mute listener: reason is not the timeout"
for t in closed err mute; do
	at=$(grep -E -m1 "^event [0-9]+ $t down " "$LAB_DIR/events.log" | cut -d' ' -f2)
	added=$(sed -n "s/^added $t //p" "$LAB_DIR/events.log")
	took=$((at - added))
	[ "$took" -le "$DOWN_BOUND" ] || fail "$t went down after $took ms, bound $DOWN_BOUND ms"
	# Not sooner than fall checks can take: (fall - 1) intervals.
	[ "$took" -ge $(( (FALL - 1) * INTERVAL )) ] || fail "$t went down after only $took ms"
	ok "$t down $took ms after its add (bound $DOWN_BOUND ms)"
done

step "healthy targets stay up"
sleep_ms=$((INTERVAL * 3))
sleep "$((sleep_ms / 1000)).$(printf %03d $((sleep_ms % 1000)))"	# a few checks' worth
for t in tcp4 tcp6 ok6 kill; do
	[ "$(events_of "$t")" = 0 ] || fail "$t changed state: $(grep " $t " "$LAB_DIR/events.log")"
	[ "$(status_of "$t" up)" = 1 ] || fail "$t is not up"
	[ "$(status_of "$t" failures)" = 0 ] || fail "$t has failures"
	checks=$(status_of "$t" checks)
	[ "$checks" -ge 3 ] || fail "$t: only $checks checks"
	ok "$t up, $checks checks, no failures"
done
[ "$(status_of err transitions)" = 1 ] || fail "err: transitions is not 1"
ok "err counted one transition"

step "a server killed goes down within interval x fall + interval"
BOUND=$((INTERVAL * FALL + INTERVAL))
kill -KILL "$PID_kill"
wait "$PID_kill" 2>/dev/null || true
K=$(now_ms)
line=$(wait_line '^event [0-9]+ kill down ' $((BOUND / 1000 + 3))) || fail "killed server never went down"
echo "$line"
took=$(( $(cut -d' ' -f2 <<<"$line") - K ))
[ "$took" -le "$BOUND" ] || fail "down $took ms after the kill, bound $BOUND ms"
grep -q 'connection refused, 3 in a row$' <<<"$line" || fail "killed server: not 'connection refused'"
ok "down $took ms after the kill (bound $BOUND ms)"

step "restarted, it comes back within interval x rise + interval"
BOUND=$((INTERVAL * RISE + INTERVAL))
: >"$LAB_DIR/kill.log"
srv_start kill http 7005 200
# From the moment it listens (its own clock reading), not from its interpreter's start.
R=$(sed -n 's/^listening //p' "$LAB_DIR/kill.log")
[ -n "$R" ] || fail "the restarted server did not say when it listened"
line=$(wait_line '^event [0-9]+ kill up ' $((BOUND / 1000 + 3))) || fail "restarted server never came up"
echo "$line"
took=$(( $(cut -d' ' -f2 <<<"$line") - R ))
[ "$took" -le "$BOUND" ] || fail "up $took ms after it listened again, bound $BOUND ms"
grep -q 'HTTP status 200, 2 in a row$' <<<"$line" || fail "restarted server: reason"
[ "$(status_of kill transitions)" = 2 ] || fail "kill: transitions is not 2"
ok "up $took ms after it listened again (bound $BOUND ms), 2 transitions"

step "remove stops events"
cmd remove kill
wait_line '^removed kill$' 5 >/dev/null || fail "remove not acknowledged"
before=$(events_of kill)
lab_stop "$PID_kill"
sleep_ms=$((INTERVAL * FALL + 2 * INTERVAL))
sleep "$((sleep_ms / 1000)).$(printf %03d $((sleep_ms % 1000)))"	# it would have gone down by now
[ "$(events_of kill)" = "$before" ] || fail "an event after remove: $(grep ' kill ' "$LAB_DIR/events.log" | tail -n1)"
ok "no event in $sleep_ms ms after remove (it would have gone down in $((INTERVAL * FALL + INTERVAL)))"

cmd quit
wait_for "! kill -0 $DRIVE_PID" 5 || fail "hcdrive did not stop on quit"
wait_line '^stopped$' 1 >/dev/null || fail "hcdrive did not say stopped"
ok "hcdrive stopped"
exec 3>&-
