#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every shipped nft-rules example must pass `nft -c`, templates with the variables gwlbd
# defines for them and $eni_table spelled out as gwlbd does: a broken example fails here,
# not on a user's appliance. Runs in a namespace of its own (nft -c reads the ruleset).
set -eu

TEST_NAME=check-examples
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=$top_srcdir/contrib/nft-rules
ns=gwlbnf-nftc-$$
tmp=

skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

cleanup()
{
	[ -n "$tmp" ] && rm -rf "$tmp"
	ip netns del "$ns" 2>/dev/null || true
}

[ "$(id -u)" = 0 ] || skip "needs root (nft -c reads the ruleset)"
command -v nft >/dev/null || skip "no nft(8)"
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
trap cleanup EXIT
tmp=$(mktemp -d)

# What gwlbd prepends for ENI 0x076bc493b822cd32f (tests/unit/test_nftfile.c pins it).
cat >"$tmp/defines.nft" <<'DEF'
define gwi = "gwi-e8WXgsTQDkf"
define gwo = "gwo-e8WXgsTQDkf"
define eni = "eni-076bc493b822cd32f"
define eni_hex = "076bc493b822cd32f"
define eni_table = "gwlbnf-eni-e8WXgsTQDkf"
define eni_mark = 0x00000000
define eni_zone = 0
define eni_rtable = 0
DEF

failed=0 n=0
for f in "$dir"/*.nft "$dir"/eni.d/*.nft; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	case $f in
	*/eni.d/*)
		sed 's/\$eni_table\b/gwlbnf-eni-e8WXgsTQDkf/g' "$f" >"$tmp/tpl.nft"
		printf 'include "%s"\ninclude "%s"\n' "$tmp/defines.nft" "$tmp/tpl.nft" >"$tmp/run.nft"
		;;
	*)
		printf 'include "%s"\n' "$f" >"$tmp/run.nft"
		;;
	esac
	echo "+ nft -c -f ${f#"$top_srcdir"/}"
	if ip netns exec "$ns" nft -c -f "$tmp/run.nft"; then
		echo "ok: $TEST_NAME: ${f#"$top_srcdir"/}"
	else
		echo "FAIL: $TEST_NAME: ${f#"$top_srcdir"/} does not pass nft -c"
		failed=$((failed + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: $TEST_NAME: no examples found in $dir"; exit 1; }
[ "$failed" = 0 ] || { echo "FAIL: $TEST_NAME: $failed of $n examples broken"; exit 1; }
echo "PASS: $TEST_NAME: $n examples"
