#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Verdict rate of the policy host (nfqhost: src/gwlbd/nfq.c's workers asking a module chain of
# src/gwlbd/module.c with verdict_accept.so loaded, as `gwlbd --policy` with `module = accept`)
# against the simplest correct libnetfilter_queue accept loop (nfqbare: one receive and one
# verdict per packet), in the same run, alternating, in a private network namespace with UDP
# on its loopback. Two measurements, each the median of NFQ_BENCH_ROUNDS:
#
#   drain  the consumer holds the queue while NFQ_BENCH_PACKETS packets are queued, then
#          answers them; rate = packets / time until the queue is empty. The whole machine
#          belongs to the consumer: this is its verdict rate.
#   flood  a sender floods the port while the consumer runs; rate over NFQ_BENCH_WINDOW s.
#          Sender and consumer share the CPUs, so this is the rate of the whole system.
#
# After its verdict a packet is dropped by a filter rule (a cheap sink). Fails (exit 1) when
# the host is below 90% of the bare loop in either measurement. Needs root, ~1 minute.
# The module's arguments come from NFQ_BENCH_MODULE_ARGS (e.g. mode=packet: the flow is never
# decided, as the bare loop's NF_ACCEPT). Build first: make, or
#   make tests/bench/nfqbare tests/bench/nfqhost src/modules/verdict_accept.la
#   NFQ_BENCH_ROUNDS=5 NFQ_BENCH_PACKETS=50000 NFQ_BENCH_WINDOW=3 tests/bench/nfq-bench.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
NFQBARE=${NFQBARE:-$top_builddir/tests/bench/nfqbare}
NFQHOST=${NFQHOST:-$top_builddir/tests/bench/nfqhost}
ROUNDS=${NFQ_BENCH_ROUNDS:-5}
PACKETS=${NFQ_BENCH_PACKETS:-50000}
WINDOW=${NFQ_BENCH_WINDOW:-3}
MODDIR=${GWLB_TEST_MODULE_DIR:-$top_builddir/src/modules/.libs}
MODARGS=()
for a in ${NFQ_BENCH_MODULE_ARGS:-}; do
	MODARGS+=(-a "$a")
done
PORT=9999
MAXLEN=65536

[ "$(id -u)" = 0 ] || { echo "nfq-bench: needs root (namespaces, NFQUEUE)" >&2; exit 77; }
for p in "$NFQBARE" "$NFQHOST"; do
	[ -x "$p" ] || { echo "nfq-bench: $p not built (make tests/bench/nfqbare tests/bench/nfqhost)" >&2; exit 77; }
done
[ -e "$MODDIR/verdict_accept.so" ] || { echo "nfq-bench: $MODDIR/verdict_accept.so not built" >&2; exit 77; }
command -v iptables-nft >/dev/null || { echo "nfq-bench: iptables-nft needed" >&2; exit 77; }

NS=gwlbnfq-bench-$$
TMP=$(mktemp -d)
PIDS=()

cleanup()
{
	local rc=$? p
	trap - EXIT
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n() { ip netns exec "$NS" "$@"; }

ip netns add "$NS" || exit 1
n ip link set lo up || exit 1
n iptables-nft -t mangle -A OUTPUT -o lo -p udp --dport $PORT -j NFQUEUE --queue-num 0 || exit 1
n iptables-nft -A OUTPUT -o lo -p udp --dport $PORT -j DROP || exit 1

# Start a consumer (its output in $TMP/out), wait until it has bound the queue.
consumer_start()
{
	: > "$TMP/out"
	n "$@" > "$TMP/out" 2> "$TMP/err" &
	CONSUMER=$!
	PIDS=("$CONSUMER")
	local i
	for i in $(seq 100); do
		grep -q ready "$TMP/out" && return 0
		kill -0 "$CONSUMER" 2>/dev/null || break
		sleep 0.05
	done
	echo "nfq-bench: $1 did not start: $(cat "$TMP/err")" >&2
	return 1
}

# The consumer's rate into RATE. The host must show that the module judged every packet.
consumer_rate()
{
	local got judged
	wait "$CONSUMER" || { echo "nfq-bench: $(cat "$TMP/err")" >&2; return 1; }
	PIDS=()
	RATE=$(awk '/^rate/ { print $2 }' "$TMP/out")
	[ -n "$RATE" ] || return 1
	grep -q '^ready .* judge ' "$TMP/out" || return 0
	got=$(awk '/^queue/ { n += $4 } END { print n + 0 }' "$TMP/out")
	judged=$(awk '/^module accept/ { for (i = 3; i < NF; i += 2) n += $(i + 1) }
		END { print n + 0 }' "$TMP/out")
	# the workers judge until stopped, after the counters were printed: judged >= received
	[ "$judged" -ge "$got" ] && [ "$got" -gt 0 ] || {
		echo "nfq-bench: host received $got packets, the accept module judged $judged" >&2
		return 1
	}
}

drain()
{
	consumer_start "$@" -m $MAXLEN -P "$PACKETS" -T 20 || return 1
	n "$NFQBARE" -F -p $PORT -c "$PACKETS" -t 30 > /dev/null || return 1
	consumer_rate
}

flood()
{
	local secs
	consumer_start "$@" -w 0.5 -t "$WINDOW" || return 1
	secs=$(awk -v w="$WINDOW" 'BEGIN { print w + 1.5 }')
	n "$NFQBARE" -F -p $PORT -t "$secs" > /dev/null || return 1
	consumer_rate
}

median()
{
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

declare -A RES
for mode in drain flood; do
	for r in $(seq "$ROUNDS"); do
		for who in bare host; do
			if [ $who = bare ]; then
				$mode "$NFQBARE"
			else
				$mode "$NFQHOST" -d "$MODDIR" -M accept "${MODARGS[@]}"
			fi || { echo "nfq-bench: $mode/$who failed" >&2; exit 1; }
			RES[$mode-$who]+="$RATE "
			echo "  $mode round $r $who: $RATE verdicts/s" >&2
		done
	done
done

fail=0
echo "| measurement | bare loop (verdicts/s) | policy host + accept${NFQ_BENCH_MODULE_ARGS:+ $NFQ_BENCH_MODULE_ARGS} (verdicts/s) | host / bare |"
echo "|---|---|---|---|"
for mode in drain flood; do
	b=$(echo "${RES[$mode-bare]}" | tr ' ' '\n' | grep . | median)
	h=$(echo "${RES[$mode-host]}" | tr ' ' '\n' | grep . | median)
	ratio=$(awk -v h="$h" -v b="$b" 'BEGIN { printf "%.2f", b ? h / b : 0 }')
	case $mode in
	drain) what="drain $PACKETS queued packets" ;;
	flood) what="UDP flood, ${WINDOW} s window" ;;
	esac
	echo "| $what | $b | $h | $ratio |"
	awk -v r="$ratio" 'BEGIN { exit !(r >= 0.90) }' || fail=1
done
echo "(medians of $ROUNDS rounds; $(nproc) CPUs; $(uname -r))"
[ $fail = 0 ] || { echo "nfq-bench: host below 90% of the bare loop" >&2; exit 1; }
exit 0
