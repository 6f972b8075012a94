/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "geneve.h"
#include "fixtures.h"

/* fx_geneve_aws followed by fx_ip4_tcp: a whole UDP payload as GWLB sends it. */
static size_t make_pkt(uint8_t *buf)
{
	memcpy(buf, fx_geneve_aws, sizeof(fx_geneve_aws));
	memcpy(buf + sizeof(fx_geneve_aws), fx_ip4_tcp, sizeof(fx_ip4_tcp));
	return sizeof(fx_geneve_aws) + sizeof(fx_ip4_tcp);
}

START_TEST(test_aws_header)
{
	uint8_t buf[128];
	size_t len = make_pkt(buf);
	struct gwlb_geneve g;

	memset(&g, 0xaa, sizeof(g));
	ck_assert_int_eq(gwlb_geneve_parse(buf, len, &g), GWLB_GENEVE_OK);
	ck_assert_uint_eq(g.eni_id, 0x076bc493b822cd32fULL);
	ck_assert_uint_eq(g.attach_id, 0x0123456789abcdefULL);
	ck_assert_uint_eq(g.cookie, 0xdeadbeef);
	ck_assert_uint_eq(g.vni, 0);
	ck_assert_uint_eq(g.proto, GWLB_ETH_P_IP);
	ck_assert_uint_eq(g.hdr_len, 40);
}
END_TEST

START_TEST(test_ipv6_and_vni)
{
	uint8_t buf[128];
	size_t len = make_pkt(buf);
	struct gwlb_geneve g;

	buf[2] = 0x86;
	buf[3] = 0xdd;
	buf[4] = 0xab;
	buf[5] = 0xcd;
	buf[6] = 0xef;
	ck_assert_int_eq(gwlb_geneve_parse(buf, len, &g), GWLB_GENEVE_OK);
	ck_assert_uint_eq(g.proto, GWLB_ETH_P_IPV6);
	ck_assert_uint_eq(g.vni, 0xabcdef);
}
END_TEST

/* The C bit, the reserved bits and the reserved byte do not matter to us. */
START_TEST(test_critical_flag_ignored)
{
	uint8_t buf[128];
	size_t len = make_pkt(buf);
	struct gwlb_geneve g;

	buf[1] = 0x40 | 0x3f;
	buf[7] = 0xff;
	ck_assert_int_eq(gwlb_geneve_parse(buf, len, &g), GWLB_GENEVE_OK);
	ck_assert_uint_eq(g.vni, 0);
}
END_TEST

struct bad_case {
	const char *name;
	const uint8_t *buf;
	size_t len;
	int err;
};

static const uint8_t bad_short[] = { 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00 };
static const uint8_t bad_version[] = {
	0x48, 0x00, 0x08, 0x00, 0, 0, 0, 0,	/* version 1 */
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_oam[] = {
	0x08, 0x80, 0x08, 0x00, 0, 0, 0, 0,	/* O bit */
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_proto[] = {
	0x08, 0x00, 0x65, 0x58, 0, 0, 0, 0,	/* transparent Ethernet bridging */
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_optarea[] = {
	0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,	/* 32 option bytes declared, 12 present */
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
};
static const uint8_t bad_optlen[] = {
	0x03, 0x00, 0x08, 0x00, 0, 0, 0, 0,	/* 12 option bytes */
	0x01, 0x08, 0x01, 0x03, 1, 2, 3, 4, 5, 6, 7, 8,	/* claims 12 data bytes */
	0x45, 0x00, 0x00, 0x14, 0, 0, 0, 0,	/* inner bytes the option would run into */
};
static const uint8_t bad_optlen_last[] = {
	0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x02, 1, 2, 3, 4,	/* cookie claims 8 bytes: 4 past the area */
	0x45, 0x00, 0x00, 0x14,
};
static const uint8_t bad_noeni[] = {
	0x05, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_eni_len[] = {
	0x07, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x01, 1, 2, 3, 4,	/* ENI of 4 bytes */
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_eni_long[] = {
	0x09, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,	/* ENI of 12 bytes */
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_noattach[] = {
	0x05, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_attach_len[] = {
	0x09, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,	/* 12 bytes */
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_nocookie[] = {
	0x06, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x45,
};
static const uint8_t bad_cookie_len[] = {
	0x09, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,	/* 8-byte cookie */
	0x45,
};
static const uint8_t bad_cookie_other_class[] = {
	0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x09, 0x03, 0x01, 1, 2, 3, 4,	/* type 3 but class 0x0109 */
	0x45,
};
/* A good ENI option followed by a short one: the last one wins, and it is bad. */
static const uint8_t bad_eni_dup[] = {
	0x0a, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
	0x01, 0x08, 0x01, 0x01, 1, 2, 3, 4,
	0x45,
};
static const uint8_t bad_noinner[] = {
	0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,
	0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x02, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	0x01, 0x08, 0x03, 0x01, 1, 2, 3, 4,
};

#define BAD(b, e) { #b, b, sizeof(b), e }
static const struct bad_case bad_cases[] = {
	BAD(bad_short, GWLB_GENEVE_ESHORT),
	BAD(bad_version, GWLB_GENEVE_EVERSION),
	BAD(bad_oam, GWLB_GENEVE_EOAM),
	BAD(bad_proto, GWLB_GENEVE_EPROTO),
	BAD(bad_optarea, GWLB_GENEVE_EOPTAREA),
	BAD(bad_optlen, GWLB_GENEVE_EOPTLEN),
	BAD(bad_optlen_last, GWLB_GENEVE_EOPTLEN),
	BAD(bad_noeni, GWLB_GENEVE_ENOENI),
	BAD(bad_eni_len, GWLB_GENEVE_ENOENI),
	BAD(bad_eni_long, GWLB_GENEVE_ENOENI),
	BAD(bad_eni_dup, GWLB_GENEVE_ENOENI),
	BAD(bad_noattach, GWLB_GENEVE_ENOATTACH),
	BAD(bad_attach_len, GWLB_GENEVE_ENOATTACH),
	BAD(bad_nocookie, GWLB_GENEVE_ENOCOOKIE),
	BAD(bad_cookie_len, GWLB_GENEVE_ENOCOOKIE),
	BAD(bad_cookie_other_class, GWLB_GENEVE_ENOCOOKIE),
	BAD(bad_noinner, GWLB_GENEVE_ENOINNER),
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct gwlb_geneve g, zero;
	int err;

	memset(&g, 0, sizeof(g));
	memset(&zero, 0, sizeof(zero));
	err = gwlb_geneve_parse(c->buf, c->len, &g);
	ck_assert_msg(err == c->err, "%s: got %d (%s), want %d (%s)", c->name, err,
		      gwlb_geneve_strerror(err), c->err, gwlb_geneve_strerror(c->err));
	/* Nothing is written on failure. */
	ck_assert_mem_eq(&g, &zero, sizeof(g));
}
END_TEST

/* Every error value has its own fixture above. */
START_TEST(test_every_error_covered)
{
	int seen[GWLB_GENEVE_E__MAX] = { 0 };
	size_t i;
	int e;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		seen[bad_cases[i].err] = 1;
	for (e = GWLB_GENEVE_OK + 1; e < GWLB_GENEVE_E__MAX; e++)
		ck_assert_msg(seen[e], "no fixture for %s", gwlb_geneve_strerror(e));
}
END_TEST

/* Every prefix of a valid packet up to the header is refused, none crashes. */
START_TEST(test_prefixes)
{
	uint8_t buf[128];
	size_t len = make_pkt(buf), i;
	struct gwlb_geneve g;

	for (i = 0; i <= len; i++) {
		uint8_t *copy = malloc(i ? i : 1);
		int err;

		memcpy(copy, buf, i);
		err = gwlb_geneve_parse(copy, i, &g);
		if (i < 8)
			ck_assert_int_eq(err, GWLB_GENEVE_ESHORT);
		else if (i < 40)
			ck_assert_int_eq(err, GWLB_GENEVE_EOPTAREA);
		else if (i == 40)
			ck_assert_int_eq(err, GWLB_GENEVE_ENOINNER);
		else
			ck_assert_int_eq(err, GWLB_GENEVE_OK);
		free(copy);
	}
}
END_TEST

/* Options of other classes, and unknown AWS types, are skipped wherever they sit. */
static const uint8_t other_opts[] = {
	0x0d, 0x00, 0x86, 0xdd, 0x00, 0x00, 0x2a, 0x00,	/* 13 words, IPv6, VNI 42 */
	0x01, 0x01, 0x81, 0x01, 0xff, 0xff, 0xff, 0xff,	/* OVS class, critical type */
	0x01, 0x08, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x01, 0x08, 0x04, 0x00,				/* AWS type 4, empty: skipped */
	0xff, 0xf0, 0x03, 0x01, 0x11, 0x11, 0x11, 0x11,	/* experimental class, type 3 */
	0x01, 0x08, 0x82, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,	/* critical bit */
	0x01, 0x08, 0x03, 0xe1, 0x00, 0x00, 0x00, 0x05,	/* R bits set: length is 1 */
	0x60,
};

START_TEST(test_other_options_skipped)
{
	struct gwlb_geneve g;

	ck_assert_int_eq(gwlb_geneve_parse(other_opts, sizeof(other_opts), &g), GWLB_GENEVE_OK);
	ck_assert_uint_eq(g.hdr_len, 60);
	ck_assert_uint_eq(g.eni_id, 7);
	ck_assert_uint_eq(g.attach_id, 9);
	ck_assert_uint_eq(g.cookie, 5);
	ck_assert_uint_eq(g.vni, 42);
	ck_assert_uint_eq(g.proto, GWLB_ETH_P_IPV6);
}
END_TEST

/* A repeated AWS option is not refused: the last one wins. */
START_TEST(test_duplicate_last_wins)
{
	static const uint8_t dup[] = {
		0x0a, 0x00, 0x08, 0x00, 0, 0, 0, 0,
		0x01, 0x08, 0x03, 0x01, 0, 0, 0, 1,
		0x01, 0x08, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 2,
		0x01, 0x08, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0, 3,
		0x01, 0x08, 0x03, 0x01, 0, 0, 0, 4,
		0x45,
	};
	struct gwlb_geneve g;

	ck_assert_int_eq(gwlb_geneve_parse(dup, sizeof(dup), &g), GWLB_GENEVE_OK);
	ck_assert_uint_eq(g.cookie, 4);
	ck_assert_uint_eq(g.eni_id, 2);
	ck_assert_uint_eq(g.attach_id, 3);
}
END_TEST

START_TEST(test_build)
{
	struct gwlb_geneve g = {
		.eni_id = 0x076bc493b822cd32fULL,
		.attach_id = 0x0123456789abcdefULL,
		.cookie = 0xdeadbeef,
		.vni = 0,
		.proto = GWLB_ETH_P_IP,
	};
	uint8_t buf[64];

	memset(buf, 0x55, sizeof(buf));
	ck_assert_uint_eq(gwlb_geneve_build(buf, 39, &g), 0);
	ck_assert_uint_eq(buf[0], 0x55);
	ck_assert_uint_eq(gwlb_geneve_build(buf, sizeof(buf), &g), GWLB_GENEVE_AWS_LEN);
	ck_assert_mem_eq(buf, fx_geneve_aws, sizeof(fx_geneve_aws));
	ck_assert_uint_eq(buf[40], 0x55);
}
END_TEST

START_TEST(test_round_trip)
{
	struct gwlb_geneve in = {
		.eni_id = 0xfedcba9876543210ULL,
		.attach_id = 0x8000000000000001ULL,
		.cookie = 0x01020304,
		.vni = 0xfffffe,
		.proto = GWLB_ETH_P_IPV6,
	};
	struct gwlb_geneve out;
	uint8_t buf[64];
	size_t n;

	n = gwlb_geneve_build(buf, sizeof(buf), &in);
	ck_assert_uint_eq(n, 40);
	buf[n] = 0x60;
	ck_assert_int_eq(gwlb_geneve_parse(buf, n + 1, &out), GWLB_GENEVE_OK);
	ck_assert_uint_eq(out.eni_id, in.eni_id);
	ck_assert_uint_eq(out.attach_id, in.attach_id);
	ck_assert_uint_eq(out.cookie, in.cookie);
	ck_assert_uint_eq(out.vni, in.vni);
	ck_assert_uint_eq(out.proto, in.proto);
	ck_assert_uint_eq(out.hdr_len, 40);
}
END_TEST

START_TEST(test_strerror)
{
	int e;

	ck_assert_str_eq(gwlb_geneve_strerror(GWLB_GENEVE_OK), "ok");
	ck_assert_str_eq(gwlb_geneve_strerror(GWLB_GENEVE_ESHORT), "short");
	ck_assert_str_eq(gwlb_geneve_strerror(GWLB_GENEVE_ENOCOOKIE), "nocookie");
	ck_assert_str_eq(gwlb_geneve_strerror(-1), "unknown");
	ck_assert_str_eq(gwlb_geneve_strerror(GWLB_GENEVE_E__MAX), "unknown");
	for (e = 0; e < GWLB_GENEVE_E__MAX; e++) {
		int f;

		ck_assert_ptr_nonnull(gwlb_geneve_strerror(e));
		for (f = 0; f < e; f++)
			ck_assert_str_ne(gwlb_geneve_strerror(e), gwlb_geneve_strerror(f));
	}
}
END_TEST

static Suite *geneve_suite(void)
{
	Suite *s = suite_create("geneve");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_aws_header);
	tcase_add_test(tc, test_ipv6_and_vni);
	tcase_add_test(tc, test_critical_flag_ignored);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_every_error_covered);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_other_options_skipped);
	tcase_add_test(tc, test_duplicate_last_wins);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_build);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(geneve_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
