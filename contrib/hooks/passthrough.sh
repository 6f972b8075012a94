#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbtun-compatible hook: let every packet of an ENI straight through the appliance.
#   passthrough.sh CREATE|DESTROY <gwi> <gwo> <eni-17-hex>
# gwlbd (or gwlbtun) runs it with -c (CREATE, after the tun pair exists) and -r (DESTROY,
# before the interfaces go). CREATE turns on forwarding and sends what arrives on gwi out of
# gwo through a route table of the ENI's own; DESTROY removes exactly those rules and routes.
# Under gwlbd the table is the ENI's own route table, GWLBNF_TABLE from the hook's
# environment (the same number at CREATE and DESTROY). Under gwlbtun, which sets no
# GWLBNF_TABLE, it is a function of the ENI id (10000 + id mod 50000), so DESTROY finds it
# without any state. Set HOOK_LOG=FILE to append one line per call with the arguments.
# An ENI gwlbd sets up itself (GWLBNF_MODE other than "hook": --mode, --eni-mode) is left
# alone: its rules and routes are gwlbd's, and this hook's would take precedence over them.
set -u

prog=${0##*/}

die()
{
	echo "$prog: $*" >&2
	exit 1
}

[ $# -eq 4 ] || die "usage: $prog CREATE|DESTROY <gwi> <gwo> <eni-17-hex> (got $# arguments)"
mode=$1 gwi=$2 gwo=$3 eni=$4

if [ -n "${HOOK_LOG:-}" ]; then
	echo "$*" >>"$HOOK_LOG" || die "cannot append to HOOK_LOG=$HOOK_LOG"
fi

if [ -n "${GWLBNF_MODE:-}" ] && [ "$GWLBNF_MODE" != hook ]; then
	exit 0
fi

case $eni in
eni-*) eni=${eni#eni-} ;;
esac
[[ $eni =~ ^[0-9a-fA-F]{1,17}$ ]] || die "ENI id '$4' is not 1 to 17 hex digits"

# id mod 50000, digit by digit: ids above 2^63 would overflow bash's signed arithmetic.
mod=0
for ((i = 0; i < ${#eni}; i++)); do
	mod=$(( (mod * 16 + 16#${eni:i:1}) % 50000 ))
done
table=$((10000 + mod))
# gwlbd's per-ENI route table: never another ENI's, unlike the modulo above
if [[ ${GWLBNF_TABLE:-} =~ ^[0-9]+$ ]]; then
	table=$GWLBNF_TABLE
fi

# Remove our rules and routes; each may be absent (DESTROY after a failed CREATE, or twice).
cleanup()
{
	local fam
	for fam in -4 -6; do
		while ip "$fam" rule del iif "$gwi" lookup "$table" 2>/dev/null; do :; done
		ip "$fam" route del default dev "$gwo" table "$table" 2>/dev/null
	done
	return 0
}

case $mode in
CREATE)
	sysctl -qw net.ipv4.ip_forward=1 >/dev/null || die "cannot enable IPv4 forwarding"
	sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || die "cannot enable IPv6 forwarding"
	cleanup
	ip -4 route replace default dev "$gwo" table "$table" ||
		die "CREATE $gwi: cannot add IPv4 default route via $gwo to table $table"
	ip -6 route replace default dev "$gwo" table "$table" ||
		die "CREATE $gwi: cannot add IPv6 default route via $gwo to table $table"
	ip -4 rule add iif "$gwi" lookup "$table" ||
		die "CREATE $gwi: cannot add IPv4 rule 'iif $gwi lookup $table'"
	ip -6 rule add iif "$gwi" lookup "$table" ||
		die "CREATE $gwi: cannot add IPv6 rule 'iif $gwi lookup $table'"
	;;
DESTROY)
	cleanup
	;;
*)
	die "unknown mode '$mode' (expected CREATE or DESTROY)"
	;;
esac
exit 0
