/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "encap.h"
#include "pkt.h"
#include "fixtures.h"

#define FX(a) a, sizeof(a)

/* ---- expected keys for every fixture ---- */

struct want {
	const char *name;
	const uint8_t *buf;
	size_t len;
	int family;
	const char *a0;
	uint16_t p0;
	const char *a1;
	uint16_t p1;
	uint8_t proto;
	uint8_t l4_proto;
	uint8_t flags;
	uint32_t frag_id;
	uint16_t l4_off;
};

#define C4 "198.19.1.2"
#define S4 "198.19.100.2"
#define C6 "2001:db8:1::2"
#define S6 "2001:db8:100::2"
#define ERR GWLB_PKT_ICMP_ERR
#define FRAG GWLB_PKT_FRAG
#define LATER GWLB_PKT_FRAG_LATER

static const struct want wants[] = {
	{ "ip4_tcp", FX(fx_ip4_tcp), 4, C4, 40000, S4, 80, 6, 6, 0, 0, 20 },
	{ "ip4_udp", FX(fx_ip4_udp), 4, C4, 40002, S4, 53, 17, 17, 0, 0, 20 },
	{ "ip4_opts_udp", FX(fx_ip4_opts_udp), 4, C4, 5353, S4, 5354, 17, 17, 0, 0, 24 },
	{ "ip4_opts_tcp", FX(fx_ip4_opts_tcp), 4, C4, 40003, S4, 8080, 6, 6, 0, 0, 28 },
	{ "ip6_tcp_ext", FX(fx_ip6_tcp_ext), 6, C6, 40001, S6, 443, 6, 6, 0, 0, 56 },
	{ "ip6_frag_first", FX(fx_ip6_frag_first), 6, C6, 5000, S6, 6000, 17, 17, FRAG,
	  0x12345678, 48 },
	{ "ip6_frag_later", FX(fx_ip6_frag_later), 6, C6, 0, S6, 0, 17, 17, FRAG | LATER,
	  0x12345678, 0 },
	{ "ip4_frag_first", FX(fx_ip4_frag_first), 4, C4, 5000, S4, 6000, 17, 17, FRAG,
	  0xbeef, 20 },
	{ "ip4_frag_later", FX(fx_ip4_frag_later), 4, C4, 0, S4, 0, 17, 17, FRAG | LATER,
	  0xbeef, 0 },
	{ "icmp4_echo", FX(fx_icmp4_echo), 4, C4, 0x4242, S4, 0x4242, 1, 1, 0, 0, 20 },
	{ "icmp6_echo", FX(fx_icmp6_echo), 6, C6, 0x4243, S6, 0x4243, 58, 58, 0, 0, 40 },
	{ "icmp4_port_unreach", FX(fx_icmp4_port_unreach), 4, C4, 40002, S4, 53, 17, 1, ERR,
	  0, 20 },
	{ "icmp4_time_exceeded", FX(fx_icmp4_time_exceeded), 4, C4, 40003, S4, 8080, 6, 1, ERR,
	  0, 20 },
	{ "icmp4_host_unreach_echo", FX(fx_icmp4_host_unreach_echo), 4, C4, 0x4242, S4, 0x4242,
	  1, 1, ERR, 0, 20 },
	{ "icmp6_ptb", FX(fx_icmp6_ptb), 6, C6, 40001, S6, 443, 6, 58, ERR, 0, 40 },
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))

static void make_key(struct gwlb_flow_key *k, int family, const char *a0, uint16_t p0,
		     const char *a1, uint16_t p1, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, a0, k->addr[0]), 1);
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, a1, k->addr[1]), 1);
	k->port[0] = htons(p0);
	k->port[1] = htons(p1);
}

static void assert_key(const struct gwlb_flow_key *got, const struct gwlb_flow_key *want,
		       const char *name)
{
	char g[128], w[128];

	ck_assert_msg(!memcmp(got, want, sizeof(*got)), "%s: key %s, want %s", name,
		      gwlb_flow_key_str(got, g, sizeof(g)), gwlb_flow_key_str(want, w, sizeof(w)));
}

START_TEST(test_fixture_keys)
{
	const struct want *w = &wants[_i];
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;

	memset(&pi, 0xaa, sizeof(pi));
	ck_assert_msg(gwlb_pkt_parse(w->buf, w->len, 0, &pi) == GWLB_PKT_OK, "%s", w->name);
	make_key(&k, w->family, w->a0, w->p0, w->a1, w->p1, w->proto);
	assert_key(&pi.key, &k, w->name);
	ck_assert_msg(pi.l4_proto == w->l4_proto, "%s: l4_proto %u", w->name, pi.l4_proto);
	ck_assert_msg(pi.flags == w->flags, "%s: flags %#x", w->name, pi.flags);
	ck_assert_msg(pi.frag_id == w->frag_id, "%s: frag_id %#x", w->name, pi.frag_id);
	ck_assert_msg(pi.l4_off == w->l4_off, "%s: l4_off %u", w->name, pi.l4_off);

	/* The GENEVE protocol type picks the version: it must agree with the packet. */
	ck_assert_int_eq(gwlb_pkt_parse(w->buf, w->len, w->family, &pi), GWLB_PKT_OK);
	ck_assert_int_eq(gwlb_pkt_parse(w->buf, w->len, w->family == 4 ? 6 : 4, &pi),
			 GWLB_PKT_EVERSION);
}
END_TEST

/* The IPv4 fixtures carry real header checksums: a wrong byte in a fixture shows here. */
START_TEST(test_fixture_checksums)
{
	const struct want *w = &wants[_i];
	const uint8_t *p = w->buf;

	if (w->family != 4)
		return;
	ck_assert_uint_eq(gwlb_inet_csum(p, (p[0] & 0x0f) * 4), 0);
	if (w->flags & GWLB_PKT_ICMP_ERR) {
		const uint8_t *q = p + 28;

		ck_assert_uint_eq(gwlb_inet_csum(q, (q[0] & 0x0f) * 4), 0);
		/* ICMP checksum over the whole message */
		ck_assert_uint_eq(gwlb_inet_csum(p + 20, w->len - 20), 0);
	}
}
END_TEST

/* Every proper prefix of every fixture is refused, and none is read past its end. */
START_TEST(test_truncated)
{
	const struct want *w = &wants[_i];
	struct gwlb_pkt_info pi;
	size_t i;

	for (i = 0; i < w->len; i++) {
		uint8_t *copy = malloc(i ? i : 1);
		int err;

		memcpy(copy, w->buf, i);
		err = gwlb_pkt_parse(copy, i, 0, &pi);
		ck_assert_msg(err != GWLB_PKT_OK && err < GWLB_PKT_E__MAX,
			      "%s cut to %zu: got %d", w->name, i, err);
		free(copy);
	}
}
END_TEST

/* ---- reply direction ---- */

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	while (n--) {
		uint8_t t = *a;

		*a++ = *b;
		*b++ = t;
	}
}

/* The same flow seen the other way: addresses and ports swapped, echo request -> reply. */
static void make_reply(const uint8_t *in, size_t len, uint16_t l4_off, uint8_t proto, uint8_t *out)
{
	memcpy(out, in, len);
	if ((in[0] >> 4) == 4)
		swap_bytes(out + 12, out + 16, 4);
	else
		swap_bytes(out + 8, out + 24, 16);
	if (!l4_off)
		return;
	if (proto == 6 || proto == 17)
		swap_bytes(out + l4_off, out + l4_off + 2, 2);
	else if (proto == 1)
		out[l4_off] = 0;
	else if (proto == 58)
		out[l4_off] = 129;
}

START_TEST(test_reply_same_key)
{
	const struct want *w = &wants[_i];
	struct gwlb_pkt_info req, rep;
	uint8_t buf[256];

	if (w->flags & GWLB_PKT_ICMP_ERR)
		return;
	ck_assert_int_eq(gwlb_pkt_parse(w->buf, w->len, 0, &req), GWLB_PKT_OK);
	make_reply(w->buf, w->len, req.l4_off, req.l4_proto, buf);
	ck_assert(memcmp(buf, w->buf, w->len) != 0);
	ck_assert_int_eq(gwlb_pkt_parse(buf, w->len, 0, &rep), GWLB_PKT_OK);
	assert_key(&rep.key, &req.key, w->name);
	ck_assert_uint_eq(gwlb_flow_key_hash(&rep.key, 7), gwlb_flow_key_hash(&req.key, 7));
}
END_TEST

/* ---- IPv4 header handling ---- */

static size_t ip4_build(uint8_t *buf, int ihl, uint8_t proto, const char *src, const char *dst,
			const uint8_t *l4, size_t l4_len)
{
	size_t hl = (size_t)ihl * 4, tot = hl + l4_len;

	memset(buf, 0, hl);
	buf[0] = 0x40 | ihl;
	buf[2] = tot >> 8;
	buf[3] = tot & 0xff;
	buf[8] = 64;
	buf[9] = proto;
	ck_assert_int_eq(inet_pton(AF_INET, src, buf + 12), 1);
	ck_assert_int_eq(inet_pton(AF_INET, dst, buf + 16), 1);
	memset(buf + 20, 0x01, hl - 20);	/* NOP options */
	memcpy(buf + hl, l4, l4_len);
	return tot;
}

static const uint8_t udp_1234_80[] = { 0x04, 0xd2, 0x00, 0x50, 0x00, 0x08, 0x00, 0x00 };

START_TEST(test_ihl_honoured)
{
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[128];
	size_t len;
	int ihl;

	/* At offset 20 sit the router alert option bytes 94 04 00 00. */
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_opts_udp), 4, &pi), GWLB_PKT_OK);
	ck_assert_uint_eq(ntohs(pi.key.port[0]), 5353);
	ck_assert_uint_eq(ntohs(pi.key.port[1]), 5354);
	ck_assert_uint_ne(pi.key.port[0], htons(0x9404));
	ck_assert_uint_ne(pi.key.port[1], 0);

	for (ihl = 5; ihl <= 15; ihl++) {
		len = ip4_build(buf, ihl, 17, "10.0.0.1", "10.0.0.2", FX(udp_1234_80));
		ck_assert_int_eq(gwlb_pkt_parse(buf, len, 4, &pi), GWLB_PKT_OK);
		make_key(&k, 4, "10.0.0.1", 1234, "10.0.0.2", 80, 17);
		assert_key(&pi.key, &k, "ihl loop");
		ck_assert_uint_eq(pi.l4_off, ihl * 4);
	}
}
END_TEST

START_TEST(test_ip4_lengths)
{
	struct gwlb_pkt_info pi;
	uint8_t buf[128];
	size_t len;

	len = ip4_build(buf, 5, 17, "10.0.0.1", "10.0.0.2", FX(udp_1234_80));

	buf[0] = 0x44;	/* IHL 4 */
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EHDRLEN);
	buf[0] = 0x4f;	/* IHL 15 = 60 bytes > 28 */
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EHDRLEN);
	buf[0] = 0x45;

	buf[3] = 19;	/* total < header */
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_ETOTLEN);
	buf[3] = 29;	/* total > buffer */
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_ETOTLEN);
	/* Ports lie past the total length although inside the buffer. */
	buf[3] = 22;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EL4SHORT);
	buf[3] = 28;

	/* Bytes after the total length (tun/NIC padding) are ignored. */
	memset(buf + len, 0xee, 16);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len + 16, 0, &pi), GWLB_PKT_OK);
	ck_assert_uint_eq(ntohs(pi.key.port[0]), 1234);
	ck_assert_uint_eq(ntohs(pi.key.port[1]), 80);

	buf[0] = 0x55;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EVERSION);
	buf[0] = 0x65;	/* says 6 but only 28 bytes */
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_ESHORT);
	ck_assert_int_eq(gwlb_pkt_parse(buf, 0, 0, &pi), GWLB_PKT_ESHORT);
}
END_TEST

/* gwlb_flow_key_make gives the parser's key from either direction's endpoints. */
START_TEST(test_key_make)
{
	static const uint8_t udp_2000_1000[] = { 0x07, 0xd0, 0x03, 0xe8, 0, 8, 0, 0 };
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	struct in_addr a, b;
	uint8_t buf[64];
	size_t len;

	len = ip4_build(buf, 5, 17, "10.0.0.2", "9.0.0.1", FX(udp_2000_1000));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	inet_pton(AF_INET, "10.0.0.2", &a);
	inet_pton(AF_INET, "9.0.0.1", &b);
	memset(&k, 0xff, sizeof(k));
	gwlb_flow_key_make(&k, 4, 17, &a, &b, htons(2000), htons(1000));
	assert_key(&pi.key, &k, "as sent");
	gwlb_flow_key_make(&k, 4, 17, &b, &a, htons(1000), htons(2000));
	assert_key(&pi.key, &k, "the reply's endpoints");
	gwlb_flow_key_make(&k, 4, 17, &a, &b, htons(2001), htons(1000));
	ck_assert_msg(memcmp(&pi.key, &k, sizeof(k)), "another port gave the same key");
}
END_TEST

/* Endpoint 0 is the smaller address; on equal addresses, the smaller port. */
START_TEST(test_canonical_order)
{
	static const uint8_t udp_2000_1000[] = { 0x07, 0xd0, 0x03, 0xe8, 0, 8, 0, 0 };
	static const uint8_t udp_9999_1[] = { 0x27, 0x0f, 0x00, 0x01, 0, 8, 0, 0 };
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[64];
	size_t len;

	len = ip4_build(buf, 5, 17, "10.0.0.1", "10.0.0.1", FX(udp_2000_1000));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 1000, "10.0.0.1", 2000, 17);
	assert_key(&pi.key, &k, "same address");

	len = ip4_build(buf, 5, 17, "10.0.0.2", "10.0.0.1", FX(udp_9999_1));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 1, "10.0.0.2", 9999, 17);
	assert_key(&pi.key, &k, "address first");

	/* 10.0.0.2 < 9.0.0.1 is false bytewise: 10 > 9 */
	len = ip4_build(buf, 5, 17, "10.0.0.2", "9.0.0.1", FX(udp_9999_1));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "9.0.0.1", 1, "10.0.0.2", 9999, 17);
	assert_key(&pi.key, &k, "bytewise");
}
END_TEST

START_TEST(test_other_protocols)
{
	static const uint8_t l4[] = { 0x0b, 0xb8, 0x0f, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t icmp_ts[] = { 13, 0, 0, 0, 0x12, 0x34, 0, 1, 0, 0, 0, 0 };
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[64];
	size_t len;

	/* SCTP and UDP-Lite carry ports where TCP and UDP do */
	len = ip4_build(buf, 5, 132, "10.0.0.1", "10.0.0.2", FX(l4));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 3000, "10.0.0.2", 4000, 132);
	assert_key(&pi.key, &k, "sctp");
	len = ip4_build(buf, 5, 136, "10.0.0.1", "10.0.0.2", FX(l4));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 3000, "10.0.0.2", 4000, 136);
	assert_key(&pi.key, &k, "udplite");

	/* GRE: no ports */
	len = ip4_build(buf, 5, 47, "10.0.0.1", "10.0.0.2", FX(l4));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 0, "10.0.0.2", 0, 47);
	assert_key(&pi.key, &k, "gre");
	ck_assert_uint_eq(pi.l4_off, 20);

	/* ICMP timestamp: neither echo nor error, so no id in the key */
	len = ip4_build(buf, 5, 1, "10.0.0.1", "10.0.0.2", FX(icmp_ts));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_OK);
	make_key(&k, 4, "10.0.0.1", 0, "10.0.0.2", 0, 1);
	assert_key(&pi.key, &k, "icmp timestamp");
	ck_assert_uint_eq(pi.flags, 0);

	/* Transport too short for ports / ICMP header */
	len = ip4_build(buf, 5, 6, "10.0.0.1", "10.0.0.2", l4, 3);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EL4SHORT);
	len = ip4_build(buf, 5, 1, "10.0.0.1", "10.0.0.2", icmp_ts, 7);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, &pi), GWLB_PKT_EL4SHORT);
}
END_TEST

/* ---- IPv6 extension headers ---- */

static size_t ip6_build(uint8_t *buf, uint8_t nh, const uint8_t *payload, size_t plen)
{
	memset(buf, 0, 40);
	buf[0] = 0x60;
	buf[4] = plen >> 8;
	buf[5] = plen & 0xff;
	buf[6] = nh;
	buf[7] = 64;
	ck_assert_int_eq(inet_pton(AF_INET6, C6, buf + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, S6, buf + 24), 1);
	if (plen)
		memcpy(buf + 40, payload, plen);
	return 40 + plen;
}

/* n Destination Options headers (8 bytes each) then UDP 1234 -> 80. */
static size_t ip6_dstopts(uint8_t *buf, int n)
{
	uint8_t pl[256];
	size_t off = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint8_t h[8] = { i == n - 1 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0 };

		memcpy(pl + off, h, 8);
		off += 8;
	}
	memcpy(pl + off, udp_1234_80, 8);
	return ip6_build(buf, n ? 60 : 17, pl, off + 8);
}

START_TEST(test_ext_chain_bound)
{
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[512];
	size_t len;
	int n;

	make_key(&k, 6, C6, 1234, S6, 80, 17);
	for (n = 0; n <= 8; n++) {
		len = ip6_dstopts(buf, n);
		ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_OK);
		assert_key(&pi.key, &k, "dstopts chain");
		ck_assert_uint_eq(pi.l4_off, 40 + 8 * n);
	}
	len = ip6_dstopts(buf, 9);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_EEXTHDR);
}
END_TEST

START_TEST(test_ext_routing_ah)
{
	static const uint8_t pl[] = {
		43, 0, 1, 4, 0, 0, 0, 0,		/* HbH -> Routing */
		51, 1, 0, 0, 0, 0, 0, 0,		/* Routing, len 1: 16 bytes -> AH */
		0, 0, 0, 0, 0, 0, 0, 0,
		17, 4, 0, 0, 0, 0, 1, 0,		/* AH, len 4: (4+2)*4 = 24 bytes -> UDP */
		0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0x04, 0xd2, 0x00, 0x50, 0x00, 0x08, 0x00, 0x00,
	};
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[256];
	size_t len;

	len = ip6_build(buf, 0, FX(pl));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_OK);
	make_key(&k, 6, C6, 1234, S6, 80, 17);
	assert_key(&pi.key, &k, "routing+ah");
	ck_assert_uint_eq(pi.l4_off, 40 + 8 + 16 + 24);
	ck_assert_uint_eq(pi.l4_proto, 17);
}
END_TEST

START_TEST(test_ext_no_ports)
{
	static const uint8_t esp[] = { 0, 0, 0x10, 0x01, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd };
	static const uint8_t hbh_none[] = { 59, 0, 1, 4, 0, 0, 0, 0 };
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[128];
	size_t len;

	len = ip6_build(buf, 50, FX(esp));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_OK);
	make_key(&k, 6, C6, 0, S6, 0, 50);
	assert_key(&pi.key, &k, "esp");
	ck_assert_uint_eq(pi.l4_off, 40);

	len = ip6_build(buf, 0, FX(hbh_none));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_OK);
	make_key(&k, 6, C6, 0, S6, 0, 59);
	assert_key(&pi.key, &k, "no next header");

	len = ip6_build(buf, 59, NULL, 0);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_OK);
	assert_key(&pi.key, &k, "bare no next header");
}
END_TEST

START_TEST(test_ext_truncated)
{
	static const uint8_t hbh_long[] = { 17, 1, 1, 4, 0, 0, 0, 0 };	/* claims 16 bytes */
	static const uint8_t frag_short[] = { 17, 0, 0, 1 };
	struct gwlb_pkt_info pi;
	uint8_t buf[128];
	size_t len;

	len = ip6_build(buf, 0, FX(hbh_long));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_EEXTHDR);
	len = ip6_build(buf, 44, FX(frag_short));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_EEXTHDR);
	len = ip6_build(buf, 0, NULL, 0);
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_EEXTHDR);

	/* payload length beyond the buffer; trailing bytes after it are ignored */
	len = ip6_build(buf, 17, FX(udp_1234_80));
	buf[5] = 9;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_ETOTLEN);
	buf[5] = 3;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 6, &pi), GWLB_PKT_EL4SHORT);
	buf[5] = 8;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len + 20, 6, &pi), GWLB_PKT_OK);
}
END_TEST

/* ---- ICMP errors belong to the flow they quote ---- */

static void assert_same_key(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			    const char *name)
{
	struct gwlb_pkt_info pa, pb;

	ck_assert_int_eq(gwlb_pkt_parse(a, alen, 0, &pa), GWLB_PKT_OK);
	ck_assert_int_eq(gwlb_pkt_parse(b, blen, 0, &pb), GWLB_PKT_OK);
	ck_assert_msg(pa.flags & GWLB_PKT_ICMP_ERR, "%s: no ICMP_ERR flag", name);
	ck_assert_msg(!(pb.flags & GWLB_PKT_ICMP_ERR), "%s: flag on the flow", name);
	assert_key(&pa.key, &pb.key, name);
	ck_assert_uint_eq(gwlb_flow_key_hash(&pa.key, 1), gwlb_flow_key_hash(&pb.key, 1));
}

START_TEST(test_icmp_error_keys)
{
	assert_same_key(FX(fx_icmp4_port_unreach), FX(fx_ip4_udp), "port unreachable");
	assert_same_key(FX(fx_icmp4_time_exceeded), FX(fx_ip4_opts_tcp), "time exceeded");
	assert_same_key(FX(fx_icmp4_host_unreach_echo), FX(fx_icmp4_echo), "unreachable echo");
	assert_same_key(FX(fx_icmp6_ptb), FX(fx_ip6_tcp_ext), "packet too big");
}
END_TEST

START_TEST(test_icmp_error_bad_quotes)
{
	struct gwlb_pkt_info pi;
	uint8_t buf[128];
	size_t len = sizeof(fx_icmp4_port_unreach);

	/* quote cut inside the UDP ports (the outer total length follows the cut) */
	memcpy(buf, fx_icmp4_port_unreach, len);
	buf[3] = 28 + 20 + 3;
	ck_assert_int_eq(gwlb_pkt_parse(buf, 51, 4, &pi), GWLB_PKT_EQUOTE);
	/* ICMP header with nothing quoted */
	buf[3] = 28;
	ck_assert_int_eq(gwlb_pkt_parse(buf, 28, 4, &pi), GWLB_PKT_EQUOTE);
	/* an ICMPv4 error quoting IPv6 */
	memcpy(buf, fx_icmp4_port_unreach, len);
	buf[28] = 0x65;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 4, &pi), GWLB_PKT_EQUOTE);
	/* quoted IHL past the quote */
	buf[28] = 0x4f;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 4, &pi), GWLB_PKT_EQUOTE);
	/* quoted total length below its header */
	buf[28] = 0x45;
	buf[31] = 10;
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 4, &pi), GWLB_PKT_EQUOTE);
	/* ICMPv6 error quoting IPv4 */
	memcpy(buf, fx_icmp6_ptb, sizeof(fx_icmp6_ptb));
	buf[48] = 0x45;
	ck_assert_int_eq(gwlb_pkt_parse(buf, sizeof(fx_icmp6_ptb), 6, &pi), GWLB_PKT_EQUOTE);
}
END_TEST

/* An error quoting an error is keyed by the quoted ICMP packet's addresses only. */
START_TEST(test_icmp_error_quoting_error)
{
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint8_t buf[128], l4[8 + 28];
	size_t len;

	memset(l4, 0, 8);
	l4[0] = 11;	/* time exceeded, quoting the port unreachable's header + 8 bytes */
	memcpy(l4 + 8, fx_icmp4_port_unreach, 28);
	len = ip4_build(buf, 5, 1, "10.9.9.9", C4, l4, sizeof(l4));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 4, &pi), GWLB_PKT_OK);
	make_key(&k, 4, C4, 0, S4, 0, 1);
	assert_key(&pi.key, &k, "error quoting error");
	ck_assert_uint_eq(pi.flags, GWLB_PKT_ICMP_ERR);
}
END_TEST

/* ---- fragments ---- */

START_TEST(test_fragments)
{
	struct gwlb_pkt_info first, later;
	uint8_t buf[128];

	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_frag_first), 4, &first), GWLB_PKT_OK);
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_frag_later), 4, &later), GWLB_PKT_OK);
	ck_assert_uint_eq(first.frag_id, later.frag_id);
	ck_assert_uint_eq(later.key.port[0], 0);
	ck_assert_uint_eq(later.key.port[1], 0);
	ck_assert_mem_eq(later.key.addr, first.key.addr, sizeof(first.key.addr));

	/* DF alone is not a fragment; the fixtures all set DF */
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_tcp), 4, &first), GWLB_PKT_OK);
	ck_assert_uint_eq(first.flags, 0);
	ck_assert_uint_eq(first.frag_id, 0);

	/* a middle fragment: MF and an offset */
	memcpy(buf, fx_ip4_frag_later, sizeof(fx_ip4_frag_later));
	buf[6] = 0x20;
	ck_assert_int_eq(gwlb_pkt_parse(buf, sizeof(fx_ip4_frag_later), 4, &later), GWLB_PKT_OK);
	ck_assert_uint_eq(later.flags, GWLB_PKT_FRAG | GWLB_PKT_FRAG_LATER);

	/* an IPv6 later fragment of a TCP stream keeps the protocol, not the ports */
	memcpy(buf, fx_ip6_frag_later, sizeof(fx_ip6_frag_later));
	buf[40] = 6;
	ck_assert_int_eq(gwlb_pkt_parse(buf, sizeof(fx_ip6_frag_later), 6, &later), GWLB_PKT_OK);
	ck_assert_uint_eq(later.key.proto, 6);
	ck_assert_uint_eq(later.key.port[0] | later.key.port[1], 0);
	ck_assert_uint_eq(later.l4_off, 0);
}
END_TEST

/* ---- hash ---- */

START_TEST(test_hash)
{
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	uint32_t h1, h2;

	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_tcp), 4, &pi), GWLB_PKT_OK);
	k = pi.key;
	h1 = gwlb_flow_key_hash(&k, 1);
	h2 = gwlb_flow_key_hash(&k, 2);
	ck_assert_uint_ne(h1, h2);
	ck_assert_uint_eq(h1, gwlb_flow_key_hash(&k, 1));
	k.eni_idx = 1;
	ck_assert_uint_ne(h1, gwlb_flow_key_hash(&k, 1));
	k.eni_idx = 0;
	k.proto = 17;
	ck_assert_uint_ne(h1, gwlb_flow_key_hash(&k, 1));
}
END_TEST

/* 65536 keys that differ only in one port spread evenly over 256 buckets, by low and by high bits. */
START_TEST(test_hash_spread)
{
	static unsigned int lo[256], hi[256];
	struct gwlb_flow_key k;
	uint32_t seeds[100];
	unsigned int i, j;

	make_key(&k, 4, C4, 0, S4, 443, 6);
	memset(lo, 0, sizeof(lo));
	memset(hi, 0, sizeof(hi));
	for (i = 0; i < 65536; i++) {
		uint32_t h;

		k.port[0] = htons((uint16_t)i);
		h = gwlb_flow_key_hash(&k, 0x5eed);
		lo[h & 0xff]++;
		hi[h >> 24]++;
	}
	for (i = 0; i < 256; i++) {
		ck_assert_msg(lo[i] > 180 && lo[i] < 332, "low bucket %u: %u", i, lo[i]);
		ck_assert_msg(hi[i] > 180 && hi[i] < 332, "high bucket %u: %u", i, hi[i]);
	}

	/* seeds give unrelated values */
	for (i = 0; i < 100; i++) {
		seeds[i] = gwlb_flow_key_hash(&k, i);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(seeds[i], seeds[j]);
	}
}
END_TEST

/* ---- key_str, strerror ---- */

START_TEST(test_key_str)
{
	struct gwlb_pkt_info pi;
	struct gwlb_flow_key k;
	char buf[128];

	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_tcp), 0, &pi), GWLB_PKT_OK);
	ck_assert_str_eq(gwlb_flow_key_str(&pi.key, buf, sizeof(buf)),
			 "tcp 198.19.1.2:40000 <-> 198.19.100.2:80");
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip6_tcp_ext), 0, &pi), GWLB_PKT_OK);
	ck_assert_str_eq(gwlb_flow_key_str(&pi.key, buf, sizeof(buf)),
			 "tcp [2001:db8:1::2]:40001 <-> [2001:db8:100::2]:443");
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_icmp6_echo), 0, &pi), GWLB_PKT_OK);
	ck_assert_str_eq(gwlb_flow_key_str(&pi.key, buf, sizeof(buf)),
			 "icmpv6 [2001:db8:1::2]:16963 <-> [2001:db8:100::2]:16963");
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_icmp4_echo), 0, &pi), GWLB_PKT_OK);
	ck_assert_str_eq(gwlb_flow_key_str(&pi.key, buf, sizeof(buf)),
			 "icmp 198.19.1.2:16962 <-> 198.19.100.2:16962");
	ck_assert_int_eq(gwlb_pkt_parse(FX(fx_ip4_udp), 0, &pi), GWLB_PKT_OK);
	ck_assert_str_eq(gwlb_flow_key_str(&pi.key, buf, sizeof(buf)),
			 "udp 198.19.1.2:40002 <-> 198.19.100.2:53");

	make_key(&k, 4, "10.0.0.1", 7, "10.0.0.2", 9, 132);
	ck_assert_str_eq(gwlb_flow_key_str(&k, buf, sizeof(buf)), "sctp 10.0.0.1:7 <-> 10.0.0.2:9");
	make_key(&k, 6, "::", 0, "ffff::1", 0, 47);
	ck_assert_str_eq(gwlb_flow_key_str(&k, buf, sizeof(buf)), "47 [::]:0 <-> [ffff::1]:0");
	make_key(&k, 6, "1:2:3:4:5:6:7:8", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		 65535, 255);
	ck_assert_str_eq(gwlb_flow_key_str(&k, buf, sizeof(buf)),
			 "255 [1:2:3:4:5:6:7:8]:65535 <-> "
			 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

	/* truncation keeps the string terminated */
	memset(buf, 'x', sizeof(buf));
	gwlb_flow_key_str(&k, buf, 10);
	ck_assert_str_eq(buf, "255 [1:2:");
	ck_assert_int_eq(buf[10], 'x');
}
END_TEST

START_TEST(test_strerror)
{
	int e, f;

	ck_assert_str_eq(gwlb_pkt_strerror(GWLB_PKT_OK), "ok");
	ck_assert_str_eq(gwlb_pkt_strerror(GWLB_PKT_EQUOTE), "quote");
	ck_assert_str_eq(gwlb_pkt_strerror(GWLB_PKT_E__MAX), "unknown");
	ck_assert_str_eq(gwlb_pkt_strerror(-3), "unknown");
	for (e = 0; e < GWLB_PKT_E__MAX; e++)
		for (f = 0; f < e; f++)
			ck_assert_str_ne(gwlb_pkt_strerror(e), gwlb_pkt_strerror(f));
}
END_TEST

/* A failed parse leaves the caller's struct alone. */
START_TEST(test_untouched_on_error)
{
	struct gwlb_pkt_info pi, before;

	memset(&pi, 0x5a, sizeof(pi));
	before = pi;
	ck_assert_int_ne(gwlb_pkt_parse(fx_ip4_tcp, 30, 0, &pi), GWLB_PKT_OK);
	ck_assert_mem_eq(&pi, &before, sizeof(pi));
}
END_TEST

static Suite *pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc;

	tc = tcase_create("fixtures");
	tcase_add_loop_test(tc, test_fixture_keys, 0, NWANTS);
	tcase_add_loop_test(tc, test_fixture_checksums, 0, NWANTS);
	tcase_add_loop_test(tc, test_truncated, 0, NWANTS);
	tcase_add_loop_test(tc, test_reply_same_key, 0, NWANTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv4");
	tcase_add_test(tc, test_ihl_honoured);
	tcase_add_test(tc, test_ip4_lengths);
	tcase_add_test(tc, test_canonical_order);
	tcase_add_test(tc, test_key_make);
	tcase_add_test(tc, test_other_protocols);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_add_test(tc, test_ext_chain_bound);
	tcase_add_test(tc, test_ext_routing_ah);
	tcase_add_test(tc, test_ext_no_ports);
	tcase_add_test(tc, test_ext_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp");
	tcase_add_test(tc, test_icmp_error_keys);
	tcase_add_test(tc, test_icmp_error_bad_quotes);
	tcase_add_test(tc, test_icmp_error_quoting_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_hash_spread);
	tcase_add_test(tc, test_key_str);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_untouched_on_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pkt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
