# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the lab benchmarks (run.sh, tls-bench.sh): the namespace lab of contrib/lab.sh,
# prerequisites (exit 77 = cannot run here) and cleanup on exit. Sourced after setting
# here, top_srcdir and top_builddir.

# Benchmarks print tables, not every command they run.
LAB_VERBOSE=${LAB_VERBOSE:-0}
# shellcheck source=../../contrib/lab.sh
. "$top_srcdir/contrib/lab.sh"
lab_find_bins

# bench_need NAME FILE...: exit 77 unless root, /dev/net/tun and every FILE are there.
bench_need()
{
	local name=$1 p
	shift
	[ "$(id -u)" = 0 ] || { echo "$name: needs root (namespaces, tun)" >&2; exit 77; }
	[ -c /dev/net/tun ] || { echo "$name: no /dev/net/tun" >&2; exit 77; }
	for p in "$@"; do
		[ -e "$p" ] || { echo "$name: $p not built" >&2; exit 77; }
	done
}

bench_cleanup()
{
	local rc=$?
	trap - EXIT
	lab_down
	exit "$rc"
}

# bench_lab_init ID: name the lab; whatever happens, it is torn down on exit.
bench_lab_init()
{
	lab_init "$1"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
