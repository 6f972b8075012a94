/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "encap.h"
#include "geneve.h"
#include "fixtures.h"

/* 10.0.0.1:60001 -> 10.0.0.2:6081, 80-byte payload, id 0x1234 (checksum computed offline). */
static const uint8_t want_outer[GWLB_OUTER_LEN] = {
	0x45, 0x00, 0x00, 0x6c,		/* IPv4 IHL 5, TOS 0, total length 108 */
	0x12, 0x34, 0x00, 0x00,		/* id 0x1234, no flags, offset 0 */
	0x40, 0x11, 0x54, 0x4b,		/* TTL 64, UDP, header checksum 0x544b */
	0x0a, 0x00, 0x00, 0x01,		/* source 10.0.0.1 */
	0x0a, 0x00, 0x00, 0x02,		/* destination 10.0.0.2 */
	0xea, 0x61, 0x17, 0xc1,		/* UDP 60001 -> 6081 */
	0x00, 0x58, 0x00, 0x00,		/* UDP length 88, checksum 0 */
};

static uint32_t addr4(const char *s)
{
	uint32_t a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

START_TEST(test_outer4_bytes)
{
	uint8_t buf[64];

	memset(buf, 0xcc, sizeof(buf));
	ck_assert_uint_eq(gwlb_encap_outer4(buf, sizeof(buf), addr4("10.0.0.1"), addr4("10.0.0.2"),
					    htons(60001), htons(GWLB_GENEVE_PORT), 80, 0x1234),
			  GWLB_OUTER_LEN);
	ck_assert_mem_eq(buf, want_outer, GWLB_OUTER_LEN);
	ck_assert_uint_eq(buf[GWLB_OUTER_LEN], 0xcc);
	ck_assert_uint_eq(gwlb_inet_csum(buf, 20), 0);
}
END_TEST

/* A whole reply as gwlbd sends it: outer headers, GWLB's GENEVE header, the inner packet. */
START_TEST(test_outer4_full_reply)
{
	uint8_t buf[GWLB_OUTER_LEN + sizeof(fx_geneve_aws) + sizeof(fx_ip4_tcp)];
	size_t payload = sizeof(fx_geneve_aws) + sizeof(fx_ip4_tcp);

	memcpy(buf + GWLB_OUTER_LEN, fx_geneve_aws, sizeof(fx_geneve_aws));
	memcpy(buf + GWLB_OUTER_LEN + sizeof(fx_geneve_aws), fx_ip4_tcp, sizeof(fx_ip4_tcp));
	ck_assert_uint_eq(gwlb_encap_outer4(buf, sizeof(buf), addr4("172.31.5.6"),
					    addr4("172.31.9.10"), htons(33333),
					    htons(GWLB_GENEVE_PORT), payload, 0xffff),
			  GWLB_OUTER_LEN);
	ck_assert_uint_eq(buf[2] << 8 | buf[3], sizeof(buf));
	ck_assert_uint_eq(buf[4] << 8 | buf[5], 0xffff);
	ck_assert_uint_eq(buf[24] << 8 | buf[25], 8 + payload);
	ck_assert_uint_eq(buf[22] << 8 | buf[23], 6081);
	ck_assert_uint_eq(buf[20] << 8 | buf[21], 33333);
	ck_assert_uint_eq(gwlb_inet_csum(buf, 20), 0);
	ck_assert_mem_eq(buf + GWLB_OUTER_LEN, fx_geneve_aws, sizeof(fx_geneve_aws));
}
END_TEST

START_TEST(test_outer4_limits)
{
	uint8_t buf[64];

	memset(buf, 0xcc, sizeof(buf));
	ck_assert_uint_eq(gwlb_encap_outer4(buf, GWLB_OUTER_LEN - 1, 1, 2, 3, 4, 10, 0), 0);
	ck_assert_uint_eq(buf[0], 0xcc);
	ck_assert_uint_eq(gwlb_encap_outer4(buf, sizeof(buf), 1, 2, 3, 4, 65535 - 28 + 1, 0), 0);
	ck_assert_uint_eq(buf[0], 0xcc);
	ck_assert_uint_eq(gwlb_encap_outer4(buf, sizeof(buf), 1, 2, 3, 4, (size_t)-1, 0), 0);
	ck_assert_uint_eq(gwlb_encap_outer4(buf, GWLB_OUTER_LEN, 1, 2, 3, 4, 65535 - 28, 0),
			  GWLB_OUTER_LEN);
	ck_assert_uint_eq(buf[2], 0xff);
	ck_assert_uint_eq(buf[3], 0xff);
	ck_assert_uint_eq(buf[24] << 8 | buf[25], 65535 - 20);
	ck_assert_uint_eq(gwlb_inet_csum(buf, 20), 0);
}
END_TEST

/* The result is stored as is (memcpy) and reads as network-order bytes. */
START_TEST(test_csum_vectors)
{
	static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[] = { 0x01, 0x02, 0x03 };
	uint8_t hdr[20];
	uint16_t c;

	/* RFC 1071 section 3 example: sum 0xddf2, checksum 0x220d */
	c = gwlb_inet_csum(rfc1071, sizeof(rfc1071));
	ck_assert_mem_eq(&c, "\x22\x0d", 2);
	/* odd length: the last byte is padded with a zero */
	c = gwlb_inet_csum(odd, sizeof(odd));
	ck_assert_mem_eq(&c, "\xfb\xfd", 2);
	c = gwlb_inet_csum(odd, 0);
	ck_assert_uint_eq(c, 0xffff);

	/* fx_ip4_tcp's header checksum is 0x2d5f */
	memcpy(hdr, fx_ip4_tcp, 20);
	hdr[10] = hdr[11] = 0;
	c = gwlb_inet_csum(hdr, 20);
	ck_assert_mem_eq(&c, "\x2d\x5f", 2);
	ck_assert_uint_eq(gwlb_inet_csum(fx_ip4_tcp, 20), 0);
	/* and a whole TCP segment does not sum to zero without its pseudo-header */
	ck_assert_uint_ne(gwlb_inet_csum(fx_ip4_tcp + 20, 20), 0);
}
END_TEST

static Suite *encap_suite(void)
{
	Suite *s = suite_create("encap");
	TCase *tc = tcase_create("outer4");

	tcase_add_test(tc, test_outer4_bytes);
	tcase_add_test(tc, test_outer4_full_reply);
	tcase_add_test(tc, test_outer4_limits);
	tcase_add_test(tc, test_csum_vectors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(encap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
