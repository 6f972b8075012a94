#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gwlbd --policy: a module's ct_label_set() reaches conntrack. With the test module `label 5`
# a flow through gwlbsim + gwlbd ends up with label bit 5 in `conntrack -L -o labels` while
# its mark still shows the accepted decision; a bit outside 0..127 is refused by the host
# (-EINVAL, counted) and writes nothing; a label set by the user's own nft rule stays when
# gwlbd adds its bit.
#
# conntrack(8) prints labels only with `-o labels` and only the bits named in
# /etc/xtables/connlabel.conf. This test never writes to /etc: conntrack runs in a private
# mount namespace where /etc is an overlay whose upper layer (with connlabel.conf) lives in
# the lab directory, gone when the command ends.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v nft >/dev/null || skip "nft not installed"
command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
modir=$top_builddir/tests/unit/.libs
[ -e "$modir/verdict_label.so" ] || skip "test module verdict_label not built (make check builds it)"

lab_test_lab 1

mkdir -p "$LAB_DIR/etc-up/xtables" "$LAB_DIR/etc-work"
# names: letters, digits and '-' only (an '_' makes libnetfilter_conntrack reject the file)
printf '5 gwlb-bit5\n9 user-bit9\n' >"$LAB_DIR/etc-up/xtables/connlabel.conf"

# ct_list ARGS...: conntrack -L ARGS -o labels in app, with our connlabel.conf visible.
ct_list()
{
	unshare -m sh -c 'mount --make-rprivate / &&
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc &&
		shift 3 && exec ip netns exec "$0" conntrack -L "$@" -o labels' \
		"$(lab_ns app)" "$LAB_DIR/etc-up" "$LAB_DIR/etc-work" -- "$@" 2>/dev/null
}
ct_list >/dev/null || skip "cannot overlay /etc in a private mount namespace (needed to name label bits)"

write_policy()
{
	cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1

[policy]
module = label $1

[module-path]
dir = $modir
EOF2
}

# flow_entry: the HTTP flow's conntrack entry (one download, entries flushed before).
flow_entry()
{
	ct_list -p tcp --dport "$LAB_HTTP_PORT"
}

# reload_download BIT N: reload with `label BIT` (the Nth reload), forget old entries, download
# once; oks = ct_writes.ok before the download.
reload_download()
{
	write_policy "$1"
	kill -HUP "$LAB_GWLBD_PID"
	wait_for "[ \"\$(gwlbd_json .policy.reloads)\" = $2 ]" 5 || fail "policy with label $1 not reloaded"
	oks=$(gwlbd_json .policy.ct_writes.ok)
	lab_run app conntrack -F 2>/dev/null || true
	download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
}

write_policy 5
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" --logging policy=info -c "$LAB_HOOK" \
	-r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"

step "gwlbd holds the kernel's conntrack label extension"
ruleset=$(lab_exec app nft list table inet gwlbnf)
grep -A3 'chain connlabel' <<<"$ruleset" | grep -q 'ct label set' ||
	fail "no chain connlabel with a ct label rule in table inet gwlbnf: $ruleset"
ok "table inet gwlbnf has chain connlabel (ct label set)"

step "label bit 5 lands on the flow's conntrack entry"
lab_run app conntrack -F 2>/dev/null || true
download_ok cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob"
wait_for "[ \"\$(gwlbd_json .policy.ct_writes.ok)\" -gt 0 ] 2>/dev/null" 5 ||
	fail "no conntrack write counted ok: $(gwlbd_json .policy.ct_writes)"
echo "+ [app] conntrack -L -p tcp --dport $LAB_HTTP_PORT -o labels"
ct=$(flow_entry)
echo "$ct" | head -n 3
grep -q "labels=.*gwlb-bit5" <<<"$ct" || fail "no conntrack entry with labels=gwlb-bit5"
ok "conntrack entry carries label bit 5"
[ -n "$(grep "gwlb-bit5" <<<"$ct" | ct_with_decision 1)" ] ||
	fail "the labelled entry lost the accepted decision (mark bits 16-17 = 1)"
ok "and still the accepted decision (mark bits 16-17 = 1)"
expect_eq "ct_writes.failed" "$(gwlbd_json .policy.ct_writes.failed)" 0
expect_eq "ct_writes.overflow" "$(gwlbd_json .policy.ct_writes.overflow)" 0
expect_gt "label module label_ok" \
	"$(gwlbd_json '.policy.modules[0].counters.label_ok')" 0

step "bit 200 is refused by the host and counted"
reload_download 200 1
expect_gt "label module label_einval (host said -EINVAL)" \
	"$(gwlbd_json '.policy.modules[0].counters.label_einval')" 0
expect_gt "host's ct_refused count of the label module" \
	"$(gwlbd_json '.policy.modules[0].ct_refused')" 0
expect_eq "label module label_ok" "$(gwlbd_json '.policy.modules[0].counters.label_ok')" 0
expect_eq "ct_writes.ok after refused bits" "$(gwlbd_json .policy.ct_writes.ok)" "$oks"
ct=$(flow_entry)
echo "$ct" | head -n 3
[ -n "$(ct_with_decision 1 <<<"$ct")" ] || fail "flow with a refused label not accepted (mark bits 16-17 not 1)"
if grep -q "labels=" <<<"$ct"; then
	fail "a refused label bit left labels on the entry"
fi
ok "flow accepted, no labels written"

step "a label from the user's own rule stays"
lab_run app nft add table inet user
lab_run app nft add chain inet user early '{ type filter hook forward priority -20; }'
lab_run app nft add rule inet user early ct state new ct label set 9
reload_download 5 2
wait_for "[ \"\$(gwlbd_json .policy.ct_writes.ok)\" -gt $oks ] 2>/dev/null" 5 ||
	fail "no new conntrack write counted ok: $(gwlbd_json .policy.ct_writes)"
ct=$(flow_entry)
echo "$ct" | head -n 3
grep "gwlb-bit5" <<<"$ct" | grep -q "user-bit9" ||
	fail "entry does not carry both the user's bit 9 and gwlbd's bit 5"
ok "entry carries user-bit9 and gwlb-bit5: gwlbd changed only its bit"
lab_run app nft delete table inet user

# Stop removes the whole table, chain connlabel with it: policy.sh asserts that.

echo
echo "PASS: $TEST_NAME"
