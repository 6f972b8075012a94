// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conntrack label writer: the lookup key built from a packet, and, as root in private
 * network namespaces, real writes: only the asked-for bits change, a missing entry is
 * retried then counted failed, an entry created before any label user refuses (ENOSPC).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctwrite.h"

static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 10, 0, 0, 2 };

static struct gwlb_pkt udp_pkt(void)
{
	return (struct gwlb_pkt){ .family = 4, .l4proto = IPPROTO_UDP, .l4_off = 20,
				  .sport = 1000, .dport = 2000, .saddr = A4, .daddr = B4 };
}

START_TEST(test_tuple)
{
	uint8_t icmp[28] = { 0x45 };
	struct gwlb_ctwrite_tuple t;
	struct gwlb_pkt p = udp_pkt();

	ck_assert_int_eq(gwlb_ctwrite_tuple(&p, &t), 0);
	ck_assert_int_eq(t.sport, 1000);
	ck_assert_int_eq(t.dport, 2000);
	ck_assert_mem_eq(t.saddr, A4, 4);
	/* a reply-direction packet is keyed by the original direction */
	p.ct_state = GWLB_CT_ESTABLISHED | GWLB_CT_REPLY;
	ck_assert_int_eq(gwlb_ctwrite_tuple(&p, &t), 0);
	ck_assert_int_eq(t.sport, 2000);
	ck_assert_int_eq(t.dport, 1000);
	ck_assert_mem_eq(t.saddr, B4, 4);
	ck_assert_mem_eq(t.daddr, A4, 4);
	/* no transport header (a later fragment): no key */
	p = udp_pkt();
	p.l4_off = 0;
	ck_assert_int_eq(gwlb_ctwrite_tuple(&p, &t), -EINVAL);
	/* ICMP echo: type, code and id from the header */
	icmp[20] = 8;
	icmp[24] = 0x12;
	icmp[25] = 0x34;
	p = (struct gwlb_pkt){ .data = icmp, .len = sizeof(icmp), .family = 4,
			       .l4proto = IPPROTO_ICMP, .l4_off = 20, .sport = 0x1234,
			       .dport = 0x1234, .saddr = A4, .daddr = B4 };
	ck_assert_int_eq(gwlb_ctwrite_tuple(&p, &t), 0);
	ck_assert_int_eq(t.icmp_type, 8);
	ck_assert_int_eq(t.icmp_id, 0x1234);
	p.len = 24;
	ck_assert_int_eq(gwlb_ctwrite_tuple(&p, &t), -EINVAL);
}
END_TEST

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "test_ctwrite: `%s` -> %d\n", cmd, rc);
	return rc;
}

static void netns_enter(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
}

static void entry_add(void)
{
	ck_assert_int_eq(sh("conntrack -I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 "
			    "--dport 2000 -t 60 2>/dev/null"), 0);
}

static void labels_hold(void)
{
	ck_assert_int_eq(sh("nft add table inet t && nft add chain inet t c && "
			    "nft add rule inet t c ct label set 127"), 0);
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	nfct_nlmsg_parse(nlh, data);
	return MNL_CB_OK;
}

/* The entry's label words, read back with a ctnetlink get. */
static void entry_labels(uint32_t out[4])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nf_conntrack *ct = nfct_new(), *res = nfct_new();
	const struct nfct_bitmask *b;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfh;
	uint32_t a;
	unsigned i;
	ssize_t n;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = AF_INET;
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	memcpy(&a, A4, 4);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, a);
	memcpy(&a, B4, 4);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, a);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(1000));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(2000));
	nfct_nlmsg_build(nlh, ct);
	ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	mnl_cb_run(buf, n, 1, mnl_socket_get_portid(nl), get_cb, res);
	memset(out, 0, 4 * sizeof(uint32_t));
	b = nfct_get_attr(res, ATTR_CONNLABELS);
	for (i = 0; b && i < 128; i++)
		if (nfct_bitmask_test_bit(b, i))
			out[i / 32] |= 1u << (i % 32);
	mnl_socket_close(nl);
	nfct_destroy(ct);
	nfct_destroy(res);
}

/* Wait until n writes are done (ok + failed), at most ~2 s. */
static void wait_done(uint64_t n, struct gwlb_ctwrite_stats *st)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 200; i++) {
		gwlb_ctwrite_stats(st);
		if (st->ok + st->failed >= n)
			return;
		nanosleep(&ts, NULL);
	}
}

static void write_bit(unsigned bit)
{
	uint32_t l[4] = { 0 };
	struct gwlb_pkt p = udp_pkt();

	l[bit / 32] = 1u << (bit % 32);
	ck_assert_int_eq(gwlb_ctwrite_labels(&p, 0, l), 0);
}

START_TEST(test_write_masked)
{
	struct gwlb_ctwrite_stats st;
	uint32_t got[4];
	char err[256];

	netns_enter();
	labels_hold();
	entry_add();
	ck_assert_int_eq(gwlb_ctwrite_start(NULL, err, sizeof(err)), 0);
	write_bit(9);
	wait_done(1, &st);
	write_bit(100);
	wait_done(2, &st);
	ck_assert_uint_eq(st.ok, 2);
	ck_assert_uint_eq(st.failed, 0);
	entry_labels(got);
	/* the second write kept the first one's bit: only masked bits change */
	ck_assert_uint_eq(got[0], 1u << 9);
	ck_assert_uint_eq(got[3], 1u << 4);
	gwlb_ctwrite_stop();
}
END_TEST

/* One write of bit 1 that must fail, after `retries` ENOENT answers. */
static void write_fails(unsigned retries)
{
	struct gwlb_ctwrite_stats st;
	char err[256];

	ck_assert_int_eq(gwlb_ctwrite_start(NULL, err, sizeof(err)), 0);
	write_bit(1);
	wait_done(1, &st);
	ck_assert_uint_eq(st.ok, 0);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.retried, retries);
	gwlb_ctwrite_stop();
}

START_TEST(test_write_missing)
{
	netns_enter();
	labels_hold();
	write_fails(GWLB_CTWRITE_RETRIES);
}
END_TEST

START_TEST(test_write_no_room)
{
	netns_enter();
	/* created while nothing in the namespace uses labels: no room, whatever comes later */
	entry_add();
	labels_hold();
	write_fails(0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctwrite");
	TCase *tc = tcase_create("tuple"), *tk = tcase_create("kernel");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_tuple);
	suite_add_tcase(s, tc);
	if (geteuid() == 0 && system("command -v conntrack >/dev/null && command -v nft >/dev/null"
				     " && unshare -n true 2>/dev/null") == 0) {
		tcase_set_timeout(tk, 30);
		tcase_add_test(tk, test_write_masked);
		tcase_add_test(tk, test_write_missing);
		tcase_add_test(tk, test_write_no_room);
		suite_add_tcase(s, tk);
	} else {
		fprintf(stderr, "test_ctwrite: kernel cases need root, conntrack, nft, netns: skipped\n");
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
