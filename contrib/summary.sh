#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Sum a finished `make check` into one line: "N passed, N failed[, N skipped]".
# Check suites count each test case (their log says "Checks: N, Failures: F, Errors: E");
# every other test (lab scripts, fuzz run) counts as one, by its automake .trs result.
set -eu
dir=${1:-.}
pass=0 fail=0 skip=0
for trs in $(find "$dir/tests" -name '*.trs' | sort); do
	log=${trs%.trs}.log
	res=$(sed -n 's/^:test-result: //p' "$trs" | head -n1)
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" 2>/dev/null | tail -n1 || true)
	name=${trs#"$dir"/}
	name=${name%.trs}
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		pass=$((pass + n - f - e))
		fail=$((fail + f + e))
		[ "$f" -eq 0 ] && [ "$e" -eq 0 ] || echo "FAIL: $name ($f failures, $e errors)"
		continue
	fi
	case "$res" in
	PASS|XFAIL) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)); echo "SKIP: $name" ;;
	*) fail=$((fail + 1)); echo "FAIL: $name ($res)" ;;
	esac
done
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
