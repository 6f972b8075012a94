#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# One command from a fresh Debian 12 clone (as root):
#   contrib/bootstrap.sh demo   install what is missing, build, run the namespace lab demo
#   contrib/bootstrap.sh test   install what is missing, build, run the whole test suite
# and finish with one line "N passed, N failed[, N skipped]" summing every test case.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
what=${1:-}
case "$what" in
demo|test) ;;
*) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "bootstrap: run as root (it installs Debian packages and builds network namespaces)" >&2
	exit 1
fi

./contrib/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" >/dev/null

if [ "$what" = demo ]; then
	exec ./contrib/demo.sh
fi

rc=0
make -j1 check >/dev/null 2>&1 || rc=$?
./contrib/summary.sh .
exit $rc
