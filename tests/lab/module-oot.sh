#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A verdict module built out of tree, the way a third party builds one: install gwlbnf into a
# scratch DESTDIR, compile a small module with nothing but `pkg-config --cflags gwlbnf-verdict`
# and the installed <gwlb/verdict.h>, and have the real host code (tests/unit/test_module,
# case "oot") load it and ask it about packets. The installed built-in modules are loaded from
# the installed moduledir the same way.
#
# GWLB_OOT_DESTDIR=DIR skips `make install` and uses a tree already installed under DIR.
set -eu

TEST_NAME=$(basename "$0" .sh)
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CC=${CC:-cc}

skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

fail()
{
	echo "FAIL: $TEST_NAME: $*"
	exit 1
}

ok()
{
	echo "ok: $TEST_NAME: $*"
}

[ "$(id -u)" = 0 ] || skip "needs root (lab tests run as root)"
if [ ! -f "$top_builddir/Makefile" ] || [ ! -f "$top_builddir/config.status" ]; then
	skip "build tree $top_builddir is not configured"
fi
command -v pkg-config >/dev/null || skip "no pkg-config"
command -v "$CC" >/dev/null || skip "no C compiler ($CC)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwlbnf-oot.XXXXXX")
cleanup()
{
	rm -rf "$tmp"
}
trap cleanup EXIT

test_module=$top_builddir/tests/unit/test_module
if [ ! -x "$test_module" ]; then
	make -C "$top_builddir" tests/unit/test_module >"$tmp/build.log" 2>&1 ||
		skip "cannot build tests/unit/test_module (Check missing?), see: $(tail -3 "$tmp/build.log")"
fi

# 1. install
if [ -n "${GWLB_OOT_DESTDIR:-}" ]; then
	destdir=$GWLB_OOT_DESTDIR
	ok "using the tree installed under $destdir"
else
	destdir=$tmp/dest
	make -C "$top_builddir" install DESTDIR="$destdir" >"$tmp/install.log" 2>&1 ||
		fail "make install DESTDIR=$destdir failed: $(tail -5 "$tmp/install.log")"
	ok "make install DESTDIR=$destdir"
fi
mapfile -t pcs < <(find "$destdir" -name gwlbnf-verdict.pc)
[ "${#pcs[@]}" = 1 ] || fail "expected one installed gwlbnf-verdict.pc, found ${#pcs[@]}"
pcdir=$(dirname "${pcs[0]}")

# 2. what a third party asks pkg-config; only the scratch install is visible to it
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$destdir
cflags=$(pkg-config --cflags gwlbnf-verdict) || fail "pkg-config --cflags gwlbnf-verdict failed"
case "$cflags" in
*"$destdir"*) ok "pkg-config --cflags: $cflags" ;;
*) fail "pkg-config --cflags does not point into the installed tree: $cflags" ;;
esac
version=$(pkg-config --modversion gwlbnf-verdict)
want=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
[ "$version" = "$want" ] || fail "gwlbnf-verdict version $version, the build is $want"
ok "version $version"
moduledir=$(pkg-config --variable=moduledir gwlbnf-verdict)
[ -n "$moduledir" ] || fail "gwlbnf-verdict.pc has no moduledir variable"
case "$moduledir" in
"$destdir"/*) ;;
*) moduledir=$destdir$moduledir ;;	# pkg-config that does not apply the sysroot to variables
esac
case "$moduledir" in
*/gwlbnf) ;;
*) fail "moduledir $moduledir is not gwlbd's pkglibdir (…/gwlbnf)" ;;
esac
for m in accept log; do
	[ -f "$moduledir/verdict_$m.so" ] || fail "built-in module verdict_$m.so not in $moduledir"
done
ok "moduledir $moduledir holds the built-in modules"

# 3. the module, in a directory of its own, with only those flags
mkdir "$tmp/src" "$tmp/mods"
cat >"$tmp/src/oot.c" <<'EOF'
#include <gwlb/verdict.h>

struct oot_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int telnet;
};

static int oot_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		    int argc, const char *const *argv, char *err, size_t errlen)
{
	struct oot_priv *p = priv;

	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	p->host = host;
	p->h = h;
	p->telnet = host->counter_id(h, "telnet");
	return p->telnet < 0 ? p->telnet : 0;
}

static enum gwlb_verdict oot_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct oot_priv *p = priv;

	if (pkt->dport != 23)
		return GWLB_VERDICT_CONTINUE;
	p->host->counter_add(p->h, p->telnet, 1);
	return GWLB_VERDICT_DROP_FLOW;
}

static const struct gwlb_verdict_ops oot_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "oot",
	.description = "out-of-tree test module: drop telnet",
	.priv_size = sizeof(struct oot_priv),
	.init = oot_init,
	.verdict = oot_verdict,
};

GWLB_VERDICT_MODULE(oot_ops);
EOF
cd "$tmp/src"
if [ ! -e /usr/include/gwlb/verdict.h ] && [ ! -e /usr/local/include/gwlb/verdict.h ]; then
	if "$CC" -c -o /dev/null oot.c 2>/dev/null; then
		fail "oot.c compiles without the pkg-config flags: the header came from elsewhere"
	fi
	ok "without the pkg-config flags the module does not compile"
fi
# shellcheck disable=SC2086 # cflags is a list of flags
"$CC" -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden $cflags \
	-o "$tmp/mods/verdict_oot.so" oot.c || fail "the out-of-tree module does not build"
ok "built verdict_oot.so with $CC $cflags"
if command -v c++ >/dev/null; then
	# shellcheck disable=SC2086
	echo '#include <gwlb/verdict.h>' | c++ -x c++ -fsyntax-only -Wall -Werror $cflags - ||
		fail "the installed header does not compile as C++"
	ok "the installed header compiles as C++"
fi
cd - >/dev/null

# 4. the real host code loads it, and the installed built-ins
out=$(GWLB_TEST_OOT_DIR="$tmp/mods" CK_RUN_CASE=oot "$test_module" 2>&1) ||
	fail "the host refused or misjudged the out-of-tree module: $out"
case "$out" in
*"oot: $tmp/mods loaded and judged"*) ok "the host loaded verdict_oot.so and it judged packets" ;;
*) fail "test_module did not run the oot case: $out" ;;
esac
out=$(GWLB_TEST_MODULE_DIR="$moduledir:$top_builddir/tests/unit/.libs" CK_RUN_CASE=builtin \
	"$test_module" 2>&1) || fail "the installed built-in modules fail: $out"
ok "the installed built-in modules pass the builtin suite"
