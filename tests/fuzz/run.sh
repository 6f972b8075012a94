#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make check entry for the GENEVE/inner-packet fuzzer: a short libFuzzer run over a
# scratch copy of tests/fuzz/corpus (the committed seeds are never modified).
#
#   make check                          20 s, as part of the test suite
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh an hour; run it after touching geneve.c or pkt.c
#   FUZZ_JOBS=2 FUZZ_SECONDS=3600 ...   one worker per core
#
# Outside make, top_srcdir/top_builddir default to the tree this script sits in.
# Exit 0: no crash; 77: fuzzer not built (configure found no clang); 1: a crash, leak or
# timeout, with the input saved as crash-*/leak-*/timeout-* in the current directory.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$top_srcdir}"
: "${FUZZ_SECONDS:=20}"
: "${FUZZ_JOBS:=1}"
# UBSan only prints by default: make undefined behaviour a crash like any other.
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
export UBSAN_OPTIONS

# FUZZER/SEEDS pick another harness (tests/fuzz/run-sni.sh does).
fuzzer="$top_builddir/tests/fuzz/${FUZZER:-fuzz_geneve}"
seeds="$top_srcdir/tests/fuzz/${SEEDS:-corpus}"

if [ ! -x "$fuzzer" ]; then
	echo "SKIP: $fuzzer not built (needs clang with -fsanitize=fuzzer)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gwlb-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/" 2>/dev/null

# Multi-process mode writes fuzz-N.log into the current directory: run inside the
# scratch dir, but keep crash files where the caller can find them.
out=$(pwd)
jobs=
if [ "$FUZZ_JOBS" -gt 1 ]; then
	jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
fi

echo "fuzzing $fuzzer for $FUZZ_SECONDS s (seeds: $seeds)"
cd "$work" || exit 1
# libFuzzer's default exit code for a crash is 77, which automake reads as "skipped".
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=${FUZZ_MAXLEN:-4096} -timeout=10 -error_exitcode=1 $jobs \
	-print_final_stats=1 -artifact_prefix="$out/" "$work/corpus"
rc=$?
[ -n "$jobs" ] && tail -n 3 "$work"/fuzz-*.log
if [ $rc -ne 0 ]; then
	echo "FAIL: fuzzer exited $rc; reproduce with: $fuzzer $out/crash-<hash>"
	exit 1
fi
exit 0
