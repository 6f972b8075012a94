#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Verdict modules as gwlbd loads them, with real traffic through gwlbsim + gwlbd:
# - a module built out of tree against the *installed* <gwlb/verdict.h> with nothing but
#   `pkg-config --cflags gwlbnf-verdict` is loaded by gwlbd and judges packets (it drops the
#   UDP echo port it is given, everything else goes on to `accept`);
# - a module with a wrong ABI is refused with one line naming the file and both ABI versions;
#   with on-module-error = skip gwlbd runs without it, with refuse-start it does not start (exit 1,
#   file:line);
# - an [eni] section gives that ENI its own chain: the second client's ENI skips udpdrop;
# - SIGHUP reloads while traffic flows lose no packet and cut no download.
set -eu
. "$(dirname "$0")/lib.sh"

command -v pkg-config >/dev/null || skip "no pkg-config"
command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
modir=$top_builddir/src/modules/.libs
[ -e "$modir/verdict_accept.so" ] || skip "verdict modules not built"
badabi=$top_builddir/tests/unit/.libs/verdict_badabi.so
if [ ! -e "$badabi" ]; then
	make -C "$top_builddir" tests/unit/verdict_badabi.la >/dev/null 2>&1 ||
		skip "cannot build the wrong-ABI test module"
fi

lab_test_lab 2

step "an out-of-tree module built against the installed header"
dest=$LAB_DIR/dest
make -C "$top_builddir" install DESTDIR="$dest" >"$LAB_DIR/install.log" 2>&1 ||
	fail "make install DESTDIR=$dest failed: $(tail -5 "$LAB_DIR/install.log")"
pcdir=$(dirname "$(find "$dest" -name gwlbnf-verdict.pc | head -n 1)")
[ -f "$pcdir/gwlbnf-verdict.pc" ] || fail "no gwlbnf-verdict.pc installed under $dest"
cflags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest \
	pkg-config --cflags gwlbnf-verdict) || fail "pkg-config --cflags gwlbnf-verdict failed"
mkdir -p "$LAB_DIR/mods"
cat >"$LAB_DIR/udpdrop.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
#include <gwlb/verdict.h>

struct priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int port, hits;
};

static int udpdrop_init(void *p_, const struct gwlb_host_ops *host, struct gwlb_host *h,
			int argc, const char *const *argv, char *err, size_t errlen)
{
	struct priv *p = p_;
	int i;

	p->host = host;
	p->h = h;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "port=", 5))
			p->port = atoi(argv[i] + 5);
	if (p->port <= 0 || p->port > 65535) {
		strncpy(err, "needs port=1..65535", errlen - 1);
		return -22;
	}
	p->hits = host->counter_id(h, "dropped_udp");
	return p->hits < 0 ? p->hits : 0;
}

static enum gwlb_verdict udpdrop_verdict(void *p_, const struct gwlb_pkt *pkt)
{
	struct priv *p = p_;

	if (pkt->l4proto != 17 || pkt->dport != p->port)
		return GWLB_VERDICT_CONTINUE;
	p->host->counter_add(p->h, p->hits, 1);
	return GWLB_VERDICT_DROP;
}

static const struct gwlb_verdict_ops ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "udpdrop",
	.description = "out-of-tree lab module: drop one UDP port",
	.priv_size = sizeof(struct priv),
	.init = udpdrop_init,
	.verdict = udpdrop_verdict,
};

GWLB_VERDICT_MODULE(ops);
EOF
# shellcheck disable=SC2086 # cflags is a list of flags
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden $cflags \
	-o "$LAB_DIR/mods/verdict_udpdrop.so" "$LAB_DIR/udpdrop.c" ||
	fail "the out-of-tree module does not build with: $cflags"
ok "built verdict_udpdrop.so with only $cflags"
cp "$badabi" "$LAB_DIR/mods/verdict_badabi.so"

write_policy()
{
	cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1
on-module-error = $1

[policy]
module = badabi
module = udpdrop port=$LAB_ECHO_PORT
module = accept

# the second client's ENI: its own chain, without udpdrop
[eni eni-$LAB_ENI2]
module = accept

[module-path]
dir = $LAB_DIR/mods
dir = $modir
EOF2
}

step "on-module-error = refuse-start: a wrong ABI stops the start"
write_policy refuse-start
rc=0
out=$(lab_exec app timeout 20 "$GWLBD" --ctl-socket "$LAB_DIR/ctl.sock" --state-file "$LAB_DIR/enis.state" --policy "$LAB_DIR/policy.conf" -p 0 2>&1) || rc=$?
echo "$out" | tail -n 3
expect_eq "gwlbd exit status with a refused module" "$rc" 1
grep -q "policy.conf:6" <<<"$out" || fail "the refusal does not name policy.conf:6: $out"
grep -q "verdict_badabi.so" <<<"$out" || fail "the refusal does not name the module file: $out"
grep -qi "ABI" <<<"$out" || fail "the refusal does not say ABI: $out"
if lab_exec app nft list table inet gwlbnf >/dev/null 2>&1; then
	fail "a refused start left table inet gwlbnf behind"
fi
ok "refused: $(grep -m1 -i abi <<<"$out" | cut -c1-200)"

step "on-module-error = skip: gwlbd runs without it"
write_policy skip
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" -c "$LAB_HOOK" -r "$LAB_HOOK" \
	-p "$LAB_HEALTH_PORT" || fail "gwlbd did not start with a skipped module"
grep -q "badabi skipped" "$LAB_DIR/gwlbd.log" || fail "no 'badabi skipped' line in the log"
[ "$(grep -c 'verdict_badabi.so' "$LAB_DIR/gwlbd.log")" = 1 ] ||
	fail "the skipped module was not reported in exactly one line"
ok "$(grep -m1 'badabi skipped' "$LAB_DIR/gwlbd.log" | cut -c1-200)"
expect_eq "modules in the chain" "$(gwlbd_json '[.policy.modules[].name] | join(",")')" \
	"udpdrop,accept"

step "the out-of-tree module judges real traffic"
ping_ok cli1 "$LAB_SRV4" 3
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
out=$(lab_exec cli1 "$PYTHON" "$LAB_DIR/udpclient.py" echo "$LAB_SRV4" "$LAB_ECHO_PORT" x 2>&1 || true)
expect_eq "UDP to the dropped port" "$out" TIMEOUT
expect_gt "udpdrop's dropped_udp counter" \
	"$(gwlbd_json '.policy.modules[] | select(.name == "udpdrop") | .counters.dropped_udp')" 0
expect_gt "udpdrop's drop verdicts" \
	"$(gwlbd_json '.policy.modules[] | select(.name == "udpdrop") | .verdicts.drop')" 0

step "an [eni] section: the second ENI has its own chain"
udp_echo cli2 "$LAB_SRV4" "$LAB_ECHO_PORT" "eni2-not-filtered"
expect_gt "accept_flow verdicts of eni-$LAB_ENI2's own chain" \
	"$(gwlbd_json ".policy.enis[] | select(.eni == \"eni-$LAB_ENI2\") | .modules[0].verdicts.accept_flow")" 0
expect_eq "udpdrop verdicts after the second ENI's traffic (unchanged)" \
	"$(gwlbd_json '.policy.modules[] | select(.name == "udpdrop") | .verdicts.drop')" 3

step "reloads while traffic flows drop nothing"
# Without accept nothing decides a flow: every packet of the ping and the download goes
# through userspace while the chains are swapped under it.
cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1

[policy]
module = udpdrop port=$LAB_ECHO_PORT

[module-path]
dir = $LAB_DIR/mods
EOF2
kill -HUP "$LAB_GWLBD_PID"
wait_for "[ \"\$(gwlbd_json .policy.reloads)\" -ge 1 ]" 10 || fail "the first reload did not happen"
queued0=$(gwlbd_json '.policy.queues[0].received')
echo "+ [cli1] ping -c 150 -i 0.02 $LAB_SRV4 &"
lab_exec cli1 ping -c 150 -i 0.02 -W 2 -w 10 "$LAB_SRV4" >"$LAB_DIR/ping.out" 2>&1 &
ping_pid=$!
echo "+ [cli1] curl --limit-rate 2M http://$LAB_SRV4:$LAB_HTTP_PORT/blob &"
lab_exec cli1 curl -s -g -m 30 --limit-rate 2M -o "$LAB_DIR/dl.reload" \
	"http://$LAB_SRV4:$LAB_HTTP_PORT/blob" &
curl_pid=$!
for i in 2 3 4 5 6; do
	sleep 0.4
	kill -HUP "$LAB_GWLBD_PID"
	wait_for "[ \"\$(gwlbd_json .policy.reloads)\" -ge $i ]" 10 || fail "reload $i did not happen"
done
ok "5 more reloads done"
wait "$ping_pid" || true
wait "$curl_pid" || fail "the download during the reloads failed"
tail -n 2 "$LAB_DIR/ping.out"
grep -q " 150 received, 0% packet loss" "$LAB_DIR/ping.out" ||
	fail "pings were lost during the reloads: $(grep received "$LAB_DIR/ping.out")"
ok "150/150 pings answered across 5 reloads"
expect_eq "download across the reloads (sha256)" \
	"$(sha256sum "$LAB_DIR/dl.reload" | cut -d' ' -f1)" "$LAB_BLOB_SHA"
expect_eq "reload_failures" "$(gwlbd_json .policy.reload_failures)" 0
expect_gt "packets judged in userspace during the reloads" \
	"$(( $(gwlbd_json '.policy.queues[0].received') - queued0 ))" 2000
sim_clean

lab_gwlbd_stop
echo
echo "PASS: $TEST_NAME"
