#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark: gwlbd against nullfwd (the cheapest tun-based forwarder, the floor), for inner
# packets of 64 and 1400 bytes and 1 and 10000 flows; rate, loss, latency, CPU per packet,
# header mismatches; a saturation check of gwlbd at 80% of its measured rate; flow table
# memory. Builds nothing: run `make tests/bench/nullfwd tests/bench/flowmem src/gwlbd/gwlbd
# src/gwlbsim/gwlbsim` first. Prints a markdown table and writes it to
# $top_builddir/tests/bench/results.md. Needs root; about 2 minutes.
#   BENCH_DURATION=5 BENCH_SIZES="64 1400" BENCH_FLOWS="1 10000" tests/bench/run.sh
# `tests/bench/run.sh policy` runs the policy host benchmarks instead: nfq-bench.sh (verdict
# rate with the accept module against a bare NFQUEUE loop) and tls-bench.sh (a long TLS
# transfer with the sni module against no policy); about 7 minutes.
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = policy ]; then
	rc=0
	"$here/nfq-bench.sh" || rc=1
	echo
	"$here/tls-bench.sh" || rc=1
	exit "$rc"
fi
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$here/lib.sh"
NULLFWD=${NULLFWD:-$top_builddir/tests/bench/nullfwd}
FLOWMEM=${FLOWMEM:-$top_builddir/tests/bench/flowmem}
DURATION=${BENCH_DURATION:-5}
SIZES=${BENCH_SIZES:-64 1400}
FLOWS=${BENCH_FLOWS:-1 10000}
RESULTS=$top_builddir/tests/bench/results.md
LAB_VERBOSE=${LAB_VERBOSE:-0}

bench_need bench "$GWLBD" "$GWLBSIM" "$NULLFWD" "$FLOWMEM"
command -v jq >/dev/null || { echo "bench: jq needed" >&2; exit 77; }

CLK_TCK=$(getconf CLK_TCK)
ENI=$LAB_ENI1
GWI=gwi-$(lab_eni_b60 "$ENI")

bench_lab_init "bench$$"

# A minimal lab: gwlb (the generator) and app (the forwarder), MTU 9001 between them.
lab_up 0 || exit 1

# utime + stime of a process, in clock ticks.
cpu_ticks()
{
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Packets the forwarder wrote into gwi (RX of the tun device).
gwi_rx()
{
	lab_ip app -s -j link show "$GWI" 2>/dev/null | jq -r '.[0].stats64.rx.packets // 0' 2>/dev/null || echo 0
}

# start_fwd nullfwd|gwlbd: start the forwarder, wait for its interfaces.
start_fwd()
{
	case $1 in
	nullfwd)
		lab_bg app nullfwd "$NULLFWD" --local "$LAB_APP_ADDR" --eni "$ENI" --hook "$LAB_HOOK" --threads 1
		FWD_PID=$LAB_LAST_PID
		;;
	gwlbd)
		lab_gwlbd_start --udpthreads 1 --tunthreads 1 -c "$LAB_HOOK" -r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" ||
			return 1
		FWD_PID=$LAB_GWLBD_PID
		# gwlbd makes the ENI on its first packet: prime it.
		lab_exec gwlb "$GWLBSIM" bench --local "$LAB_GWLB_ADDR" --appliance "$LAB_APP_ADDR" --eni "$ENI" \
			--flows 1 --duration 1 --warmup 0 --rate 100 --json >/dev/null 2>&1
		;;
	esac
	wait_for "lab_ip app link show $GWI && kill -0 $FWD_PID" 10 || { echo "bench: $1 did not create $GWI" >&2; return 1; }
}

stop_fwd()
{
	lab_stop "$FWD_PID" 10
	wait_for "! lab_ip app link show $GWI" 5 || true
}

# run_case FORWARDER SIZE FLOWS [RATE]: one gwlbsim bench run; appends a row to $ROWS.
run_case()
{
	local fwd=$1 size=$2 flows=$3 rate=${4:-0} t0 t1 p0 p1 out ns
	p0=$(gwi_rx)
	t0=$(cpu_ticks "$FWD_PID")
	out=$(lab_exec gwlb "$GWLBSIM" bench --local "$LAB_GWLB_ADDR" --appliance "$LAB_APP_ADDR" --eni "$ENI" \
		--flows "$flows" --size "$size" --duration "$DURATION" --rate "$rate" --json 2>"$LAB_DIR/bench.err")
	t1=$(cpu_ticks "$FWD_PID")
	p1=$(gwi_rx)
	if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
		echo "bench: gwlbsim bench failed ($fwd $size $flows):" >&2
		cat "$LAB_DIR/bench.err" >&2
		return 1
	fi
	if [ "$((p1 - p0))" -gt 0 ]; then
		ns=$(( (t1 - t0) * 1000000000 / CLK_TCK / (p1 - p0) ))
	else
		ns=NA
	fi
	LAST_RX_PPS=$(jq -r '.rx_pps | floor' <<<"$out")
	jq -r --arg fwd "$fwd" --arg rate "$rate" --arg ns "$ns" \
		'"| \($fwd) | \(.size) | \(.flows) | \(if $rate == "0" then "max" else $rate end) | \(.tx_pps | floor) | \(.rx_pps | floor) | \(.loss_pct * 100 | round / 100) | \(.lat_p50_us) | \(.lat_p99_us) | \(.lat_p999_us) | \($ns) | \(.mismatch) |"' \
		<<<"$out" | tee -a "$ROWS"
	printf '%s %s %s %s %s %s\n' "$fwd" "$size" "$flows" "$LAST_RX_PPS" "$ns" "$(jq -r .mismatch <<<"$out")" \
		>>"$LAB_DIR/summary"
}

ROWS=$LAB_DIR/rows.md
: >"$ROWS"
: >"$LAB_DIR/summary"
header='| forwarder | inner size B | flows | offered pps | tx pps | rx pps | loss % | p50 µs | p99 µs | p99.9 µs | CPU ns/pkt | mismatches |
|---|---|---|---|---|---|---|---|---|---|---|---|'
echo "gwlbnf benchmark: $(nproc) CPU(s), kernel $(uname -r), ${DURATION} s per case"
echo "$header"
failed=0
for fwd in nullfwd gwlbd; do
	start_fwd "$fwd" || { failed=1; continue; }
	for size in $SIZES; do
		for flows in $FLOWS; do
			run_case "$fwd" "$size" "$flows" || failed=1
		done
	done
	stop_fwd
done

# Saturation: gwlbd offered 80% of the rate it forwarded at full load; loss should be ~0.
start_fwd gwlbd || failed=1
for size in $SIZES; do
	for flows in $FLOWS; do
		max=$(awk -v s="$size" -v f="$flows" '$1 == "gwlbd" && $2 == s && $3 == f { print $4 }' "$LAB_DIR/summary")
		[ -n "$max" ] && [ "$max" -gt 0 ] || continue
		run_case gwlbd "$size" "$flows" "$((max * 8 / 10))" || failed=1
	done
done
stop_fwd

echo
ratios=$'| size B | flows | rx pps gwlbd/nullfwd | CPU ns/pkt gwlbd/nullfwd |\n|---|---|---|---|'
for size in $SIZES; do
	for flows in $FLOWS; do
		ratios+=$'\n'$(awk -v s="$size" -v f="$flows" '
			$2 == s && $3 == f && !seen[$1]++ { pps[$1] = $4; ns[$1] = $5; mis[$1] = $6 }
			END {
				r1 = (pps["nullfwd"] > 0) ? sprintf("%.2f", pps["gwlbd"] / pps["nullfwd"]) : "NA"
				if (mis["nullfwd"] > 0 && r1 != "NA")
					r1 = r1 " *"
				r2 = (ns["nullfwd"] + 0 > 0 && ns["gwlbd"] != "NA") ? sprintf("%.2f", ns["gwlbd"] / ns["nullfwd"]) : "NA"
				printf "| %s | %s | %s | %s |", s, f, r1, r2
			}' "$LAB_DIR/summary")
	done
done
echo "$ratios"
note='* nullfwd returns the last header it saw for every packet: with more than one flow most of
its replies carry the wrong header (counted as mismatches); it is a cost floor, not a correct forwarder.'
echo "$note"

echo
echo "+ $FLOWMEM 1000000"
flowmem=$("$FLOWMEM" 1000000 2>"$LAB_DIR/flowmem.err") || { cat "$LAB_DIR/flowmem.err" >&2; failed=1; }
flowline=$(tail -n 1 <<<"$flowmem" | jq -r '"flow table: \(.flows) flows, \(.bytes_per_flow) bytes/flow (entry \(.entry_bytes) B), insert \(.insert_mops) Mops/s, lookup \(.lookup_mops) Mops/s"' 2>/dev/null ||
	echo "flow table: flowmem failed")
echo "$flowline"

mkdir -p "$(dirname "$RESULTS")"
{
	echo "# gwlbnf benchmark results"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPU(s), kernel $(uname -r), ${DURATION} s per case;"
	echo "gwlbd with --udpthreads 1 --tunthreads 1, nullfwd with --threads 1; offered 'max' = as fast as gwlbsim sends."
	echo "CPU ns/pkt = forwarder utime+stime / packets it wrote into gwi."
	echo
	echo "$header"
	cat "$ROWS"
	echo
	echo "$ratios"
	echo
	echo "$note"
	echo
	echo "$flowline"
} >"$RESULTS"
echo
echo "results written to $RESULTS"
exit "$failed"
