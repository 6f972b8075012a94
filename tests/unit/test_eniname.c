/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eniname.h"

#define ENI_DOC	0x076bc493b822cd32fULL	/* gwlbtun's documented example */

START_TEST(test_known_answer)
{
	char buf[IFNAMSIZ];

	ck_assert_int_eq(gwlb_eni_b60(ENI_DOC, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "e8WXgsTQDkf");
	ck_assert_int_eq(gwlb_eni_ifname("gwi-", ENI_DOC, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "gwi-e8WXgsTQDkf");
	ck_assert_int_eq(gwlb_eni_ifname("gwo-", ENI_DOC, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "gwo-e8WXgsTQDkf");
}
END_TEST

START_TEST(test_edges)
{
	char buf[IFNAMSIZ];

	ck_assert_int_eq(gwlb_eni_b60(0, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "0");
	ck_assert_int_eq(gwlb_eni_ifname("gwi-", 0, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "gwi-0");
	ck_assert_int_eq(gwlb_eni_b60(59, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "X");
	ck_assert_int_eq(gwlb_eni_b60(60, buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "10");
	ck_assert_int_eq(gwlb_eni_b60(3599, buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "XX");
	ck_assert_int_eq(gwlb_eni_b60(3600, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "100");
	ck_assert_int_eq(gwlb_eni_b60(60 * 60 * 60 - 1, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "XXX");
	ck_assert_int_eq(gwlb_eni_b60(36, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "A");

	/* The largest id still fits IFNAMSIZ with its prefix. */
	ck_assert_int_eq(gwlb_eni_b60(UINT64_MAX, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "uur953OEv0f");
	ck_assert_int_eq(gwlb_eni_ifname("gwi-", UINT64_MAX, buf, IFNAMSIZ), 15);
	ck_assert_str_eq(buf, "gwi-uur953OEv0f");
	ck_assert_uint_le(strlen(buf), IFNAMSIZ - 1);
}
END_TEST

START_TEST(test_nospace)
{
	char buf[32];

	memset(buf, 'z', sizeof(buf));
	ck_assert_int_eq(gwlb_eni_b60(ENI_DOC, buf, 11), -ENOSPC);
	ck_assert_int_eq(buf[0], 'z');
	ck_assert_int_eq(gwlb_eni_b60(ENI_DOC, buf, 12), 11);
	ck_assert_int_eq(gwlb_eni_b60(0, buf, 1), -ENOSPC);
	ck_assert_int_eq(gwlb_eni_b60(0, buf, 0), -ENOSPC);
	ck_assert_int_eq(gwlb_eni_ifname("gwi-", ENI_DOC, buf, 15), -ENOSPC);
	ck_assert_int_eq(gwlb_eni_ifname("gwi-", ENI_DOC, buf, 16), 15);
	ck_assert_int_eq(gwlb_eni_ifname("a-much-longer-prefix-", 5, buf, 22), -ENOSPC);
	ck_assert_int_eq(gwlb_eni_ifname("a-much-longer-prefix-", 5, buf, 23), 22);
	ck_assert_str_eq(buf, "a-much-longer-prefix-5");
}
END_TEST

struct parse_case {
	const char *s;
	uint64_t id;
};

static const struct parse_case good[] = {
	{ "eni-076bc493b822cd32f", ENI_DOC },
	{ "eni-76bc493b822cd32f", ENI_DOC },
	{ "0x76bc493b822cd32f", ENI_DOC },
	{ "0x076bc493b822cd32f", ENI_DOC },
	{ "0X76BC493B822CD32F", ENI_DOC },
	{ "076bc493b822cd32f", ENI_DOC },
	{ "76bc493b822cd32f", ENI_DOC },
	{ "gwi-e8WXgsTQDkf", ENI_DOC },
	{ "gwo-e8WXgsTQDkf", ENI_DOC },
	{ "gwi-0", 0 },
	{ "gwi-X", 59 },
	{ "gwi-10", 60 },
	{ "gwi-uur953OEv0f", UINT64_MAX },
	{ "ffffffffffffffff", UINT64_MAX },
	{ "0ffffffffffffffff", UINT64_MAX },
	{ "eni-0", 0 },
	{ "0", 0 },
	{ "1a", 0x1a },
	{ "eni-12345678", 0x12345678 },	/* old 8-digit ids */
};

static const char *const bad[] = {
	"",
	"eni-",
	"0x",
	"gwi-",
	"gwo-",
	"eni-176bc493b822cd32f",	/* 17 digits: does not fit 64 bits */
	"eni-0076bc493b822cd32f",	/* 18 digits */
	"10000000000000000",
	"eni-076bc493b822cd32g",
	"gwi-e8WXgsTQDkY",		/* Y and Z are not digits */
	"gwi-Z",
	"gwi-e8WXgsTQDkf0",		/* 12 digits */
	"gwi-uur953OEv0g",		/* UINT64_MAX + 1 */
	"gwi-XXXXXXXXXXX",		/* 11 digits, overflows */
	"gwi-e8W-",
	"gwx-e8WXgsTQDkf",
	"e8WXgsTQDkf",			/* base 60 without its prefix */
	" 76bc",
	"76bc ",
	"-1",
	"0x-1",
	"+1",
	"eni-0x1",
	"ENI-076bc493b822cd32f",
	"xyz",
};

START_TEST(test_parse_good)
{
	const struct parse_case *c = &good[_i];
	uint64_t id = 0xdeadbeef;

	ck_assert_msg(gwlb_eni_parse(c->s, &id) == 0, "%s refused", c->s);
	ck_assert_msg(id == c->id, "%s: %" PRIx64 ", want %" PRIx64, c->s, id, c->id);
}
END_TEST

START_TEST(test_parse_bad)
{
	uint64_t id = 0x1234;

	ck_assert_msg(gwlb_eni_parse(bad[_i], &id) == -EINVAL, "\"%s\" accepted", bad[_i]);
	ck_assert_uint_eq(id, 0x1234);
}
END_TEST

START_TEST(test_parse_null)
{
	uint64_t id;

	ck_assert_int_eq(gwlb_eni_parse(NULL, &id), -EINVAL);
}
END_TEST

/* names, hook-style hex and 0x forms all come back to the id */
START_TEST(test_round_trip)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, id, v;
	char name[IFNAMSIZ], hex[32];
	int i, j;

	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* also short ids, where the top digits are zero */
		v = i & 1 ? x : x >> (i % 64);

		ck_assert_int_gt(gwlb_eni_ifname("gwi-", v, name, sizeof(name)), 4);
		for (j = 4; name[j]; j++)
			ck_assert(name[j] != 'Y' && name[j] != 'Z');
		ck_assert_int_eq(gwlb_eni_parse(name, &id), 0);
		ck_assert_uint_eq(id, v);
		snprintf(hex, sizeof(hex), "eni-%017" PRIx64, v);
		ck_assert_int_eq(gwlb_eni_parse(hex, &id), 0);
		ck_assert_uint_eq(id, v);
		snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
		ck_assert_int_eq(gwlb_eni_parse(hex, &id), 0);
		ck_assert_uint_eq(id, v);
	}
}
END_TEST

static Suite *eniname_suite(void)
{
	Suite *s = suite_create("eniname");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_nospace);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(eniname_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
