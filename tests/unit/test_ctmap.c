/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "ctmap.h"
#include "eniidx.h"

#define ENI_A	0x076bc493b822cd32fULL

static int parse(const char *s, struct gwlb_ctmap_ref *r)
{
	char err[256] = "";
	int ret = gwlb_ctmap_ref_parse(s, r, err, sizeof(err));

	ck_assert(ret ? err[0] != '\0' : 1);
	return ret;
}

START_TEST(test_ref_index)
{
	struct gwlb_ctmap_ref r;

	ck_assert_int_eq(parse("1", &r), 0);
	ck_assert_int_eq(r.kind, GWLB_CTMAP_REF_INDEX);
	ck_assert_uint_eq(r.index, 1);
	ck_assert_int_eq(parse("65535", &r), 0);
	ck_assert_uint_eq(r.index, 65535);
	/* decimal, not hex, below 17 digits */
	ck_assert_int_eq(parse("10", &r), 0);
	ck_assert_uint_eq(r.index, 10);
	ck_assert_int_eq(parse("0", &r), -EINVAL);
	ck_assert_int_eq(parse("65536", &r), -EINVAL);
	ck_assert_int_eq(parse("0000000000065536", &r), -EINVAL);
	ck_assert_int_eq(parse("99999999999", &r), -EINVAL);
	ck_assert_int_eq(parse("", &r), -EINVAL);
	ck_assert_int_eq(parse(NULL, &r), -EINVAL);
}
END_TEST

START_TEST(test_ref_id)
{
	static const char *const same[] = { "eni-076bc493b822cd32f", "076bc493b822cd32f",
					     "076BC493B822CD32F", "gwi-e8WXgsTQDkf",
					     "gwo-e8WXgsTQDkf" };
	struct gwlb_ctmap_ref r;

	for (unsigned i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ck_assert_int_eq(parse(same[i], &r), 0);
		ck_assert_int_eq(r.kind, GWLB_CTMAP_REF_ID);
		ck_assert_uint_eq(r.id, ENI_A);
	}
	/* 17 digits are an id even when all decimal */
	ck_assert_int_eq(parse("00000000000000012", &r), 0);
	ck_assert_int_eq(r.kind, GWLB_CTMAP_REF_ID);
	ck_assert_uint_eq(r.id, 0x12);
}
END_TEST

START_TEST(test_ref_bad)
{
	static const char *const bad[] = { "abc", "12x", "-1", "eni-", "eni-xyz",
					   "176bc493b822cd32f", "076bc493b822cd32f0", "gwi-",
					   "gwi-YZ", "tun0", "0x1f", " 1" };
	struct gwlb_ctmap_ref r;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &r) == -EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_owner)
{
	/* the ENI's zone on the original direction, whatever the mark says */
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 3, 0, 3), 3);
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 3, 0, 0x10005), 3);
	ck_assert_uint_eq(gwlb_ctmap_owner(7, 0, 0, 3), 7);
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 0, 9, 3), 9);
	/* zone 0: the index in mark bits 0-15, decision and user bits ignored */
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 0, 0, 0x00010002), 2);
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 0, 0, 0xffff0000), 0);
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 0, 0, 0xabcd0000u | 65535), 65535);
	ck_assert_uint_eq(gwlb_ctmap_owner(0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_decision)
{
	ck_assert_str_eq(gwlb_ctmap_decision(3), "undecided");
	ck_assert_str_eq(gwlb_ctmap_decision(65537), "accepted");
	ck_assert_str_eq(gwlb_ctmap_decision(131073), "dropped");
	ck_assert_str_eq(gwlb_ctmap_decision(3u << 16), "invalid");
	/* the new-flow bit and the users' bits do not count */
	ck_assert_str_eq(gwlb_ctmap_decision(0xfff80000u | 1), "undecided");
	ck_assert_str_eq(gwlb_ctmap_decision(0xfff90001u), "accepted");
}
END_TEST

START_TEST(test_eniidx_owner)
{
	static const char text[] = "eni-076bc493b822cd32f 4\n";
	struct gwlb_eniidx *a;
	uint64_t eni = 0;

	ck_assert_int_eq(gwlb_eniidx_alloc(&a, GWLB_ENIIDX_MAX), 0);
	ck_assert_int_eq(gwlb_eniidx_parse(a, text, strlen(text), NULL), 0);
	ck_assert_int_eq(gwlb_eniidx_owner(a, 4, &eni), 0);
	ck_assert_uint_eq(eni, ENI_A);
	ck_assert_int_eq(gwlb_eniidx_owner(a, 3, &eni), -ENOENT);
	ck_assert_int_eq(gwlb_eniidx_owner(a, 0, &eni), -ENOENT);
	ck_assert_int_eq(gwlb_eniidx_owner(a, 65536, &eni), -ENOENT);
	ck_assert_int_eq(gwlb_eniidx_put(a, ENI_A), 0);
	ck_assert_int_eq(gwlb_eniidx_owner(a, 4, &eni), -ENOENT);
	gwlb_eniidx_free(a);
}
END_TEST

static Suite *ctmap_suite(void)
{
	Suite *s = suite_create("ctmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ref_index);
	tcase_add_test(tc, test_ref_id);
	tcase_add_test(tc, test_ref_bad);
	tcase_add_test(tc, test_owner);
	tcase_add_test(tc, test_decision);
	tcase_add_test(tc, test_eniidx_owner);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
