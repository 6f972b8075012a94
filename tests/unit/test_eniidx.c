/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eniidx.h"

#define ENI_A	0x076bc493b822cd32fULL
#define ENI_B	0x0000000000000000bULL
#define ENI_C	0x00000000000000c0cULL

static struct gwlb_eniidx *mk(uint32_t max)
{
	struct gwlb_eniidx *a;

	ck_assert_int_eq(gwlb_eniidx_alloc(&a, max), 0);
	return a;
}

START_TEST(test_alloc_bounds)
{
	struct gwlb_eniidx *a;

	ck_assert_int_eq(gwlb_eniidx_alloc(&a, 0), -EINVAL);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(gwlb_eniidx_alloc(&a, 65536), -EINVAL);
	a = mk(65535);
	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_A, NULL), 1);
	gwlb_eniidx_free(a);
	gwlb_eniidx_free(NULL);
}
END_TEST

START_TEST(test_get_stable)
{
	struct gwlb_eniidx *a = mk(16);
	bool changed;

	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_A, &changed), 1);
	ck_assert(changed);
	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_B, &changed), 2);
	ck_assert(changed);
	/* Asking again is no change: no state file write. */
	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_A, &changed), 1);
	ck_assert(!changed);
	ck_assert_int_eq(gwlb_eniidx_find(a, ENI_B), 2);
	ck_assert_int_eq(gwlb_eniidx_find(a, ENI_C), -ENOENT);
	ck_assert_uint_eq(gwlb_eniidx_count(a), 2);
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_release_reuse)
{
	struct gwlb_eniidx *a = mk(16);
	uint64_t eni;
	int i;

	for (eni = 1; eni <= 3; eni++)
		ck_assert_int_eq(gwlb_eniidx_get(a, eni, NULL), (int)eni);
	ck_assert_int_eq(gwlb_eniidx_put(a, 2), 0);
	ck_assert_int_eq(gwlb_eniidx_put(a, 2), -ENOENT);
	ck_assert_int_eq(gwlb_eniidx_find(a, 2), -ENOENT);
	ck_assert_uint_eq(gwlb_eniidx_count(a), 2);
	/* A newcomer does not get the index just released while others are free... */
	ck_assert_int_eq(gwlb_eniidx_get(a, 100, NULL), 4);
	/* ...but its old ENI gets it back. */
	ck_assert_int_eq(gwlb_eniidx_get(a, 2, NULL), 2);

	/* Released long enough ago, the lowest free index is reused first. */
	ck_assert_int_eq(gwlb_eniidx_put(a, 1), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_gt(gwlb_eniidx_get(a, 200 + i, NULL), 4);
		ck_assert_int_eq(gwlb_eniidx_put(a, 200 + i), 0);
	}
	ck_assert_int_eq(gwlb_eniidx_get(a, 300, NULL), 1);
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_full)
{
	struct gwlb_eniidx *a = mk(3);

	ck_assert_int_eq(gwlb_eniidx_get(a, 1, NULL), 1);
	ck_assert_int_eq(gwlb_eniidx_get(a, 2, NULL), 2);
	ck_assert_int_eq(gwlb_eniidx_get(a, 3, NULL), 3);
	ck_assert_int_eq(gwlb_eniidx_get(a, 4, NULL), -ENOSPC);
	/* Full, the one just released is better than none. */
	ck_assert_int_eq(gwlb_eniidx_put(a, 2), 0);
	ck_assert_int_eq(gwlb_eniidx_get(a, 4, NULL), 2);
	ck_assert_int_eq(gwlb_eniidx_get(a, 5, NULL), -ENOSPC);
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct gwlb_eniidx *a = mk(100), *b = mk(100);
	struct gwlb_eniidx_err err;
	char buf[512];
	int n;

	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_A, NULL), 1);
	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_B, NULL), 2);
	ck_assert_int_eq(gwlb_eniidx_get(a, ENI_C, NULL), 3);
	ck_assert_int_eq(gwlb_eniidx_put(a, ENI_B), 0);
	n = gwlb_eniidx_format(a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\neni-076bc493b822cd32f 1\neni-00000000000000c0c 3\n"));
	ck_assert_ptr_null(strstr(buf, "0000b"));
	/* snprintf-like: the length needed, also when it does not fit */
	ck_assert_int_eq(gwlb_eniidx_format(a, NULL, 0), n);
	ck_assert_int_eq(gwlb_eniidx_format(a, buf, 10), n);
	ck_assert_int_eq(gwlb_eniidx_format(a, buf, sizeof(buf)), n);

	ck_assert_int_eq(gwlb_eniidx_parse(b, buf, (size_t)n, &err), 0);
	ck_assert_uint_eq(gwlb_eniidx_count(b), 2);
	/* Kept from the file: a newcomer does not take them, their ENIs get them back. */
	ck_assert_int_eq(gwlb_eniidx_get(b, 0x99, NULL), 2);
	ck_assert_int_eq(gwlb_eniidx_get(b, ENI_C, NULL), 3);
	ck_assert_int_eq(gwlb_eniidx_get(b, ENI_A, NULL), 1);
	gwlb_eniidx_free(a);
	gwlb_eniidx_free(b);
}
END_TEST

START_TEST(test_kept_reclaimed_when_full)
{
	static const char txt[] = "eni-00000000000000001 1\neni-00000000000000002 2\n";
	struct gwlb_eniidx *a = mk(2);
	struct gwlb_eniidx_err err;

	ck_assert_int_eq(gwlb_eniidx_parse(a, txt, strlen(txt), &err), 0);
	/* Both kept for ENIs not seen since: a newcomer takes the lowest rather than fail. */
	ck_assert_int_eq(gwlb_eniidx_get(a, 2, NULL), 2);
	ck_assert_int_eq(gwlb_eniidx_get(a, 7, NULL), 1);
	ck_assert_int_eq(gwlb_eniidx_find(a, 1), -ENOENT);
	ck_assert_int_eq(gwlb_eniidx_get(a, 8, NULL), -ENOSPC);
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_parse_comments)
{
	static const char txt[] =
		"# header\n"
		"\n"
		"   \t\n"
		"  eni-076bc493b822cd32f   7   # trailing comment\r\n"
		"eni-00000000000000C0C\t9";
	struct gwlb_eniidx *a = mk(10);
	struct gwlb_eniidx_err err;

	ck_assert_int_eq(gwlb_eniidx_parse(a, txt, strlen(txt), &err), 0);
	ck_assert_int_eq(gwlb_eniidx_find(a, ENI_A), 7);
	ck_assert_int_eq(gwlb_eniidx_find(a, ENI_C), 9);
	ck_assert_int_eq(gwlb_eniidx_parse(a, "", 0, &err), -EINVAL);	/* not empty any more */
	gwlb_eniidx_free(a);
}
END_TEST

static const struct {
	const char *txt;
	unsigned line;
	const char *reason;
} bad[] = {
	{ "eni-076bc493b822cd32f 1\nbogus 2\n", 2, "expected 'eni-<17 hex digits> <index>'" },
	{ "eni-076bc493b822cd32 1\n", 1, "'eni-076bc493b822cd32' is not an ENI id" },
	{ "eni-076bc493b822cd32fa 1\n", 1, "is not an ENI id" },
	{ "eni-076bc493b822cd3zf 1\n", 1, "is not an ENI id" },
	{ "eni-176bc493b822cd32f 1\n", 1, "larger than 64 bits" },
	{ "# c\neni-076bc493b822cd32f\n", 2, "missing index after eni-076bc493b822cd32f" },
	{ "eni-076bc493b822cd32f x\n", 1, "'x' is not an index" },
	{ "eni-076bc493b822cd32f 1 2\n", 1, "is not an index" },
	{ "eni-076bc493b822cd32f -1\n", 1, "is not an index" },
	{ "eni-076bc493b822cd32f 0\n", 1, "index 0 is out of range (1..10" },
	{ "eni-076bc493b822cd32f 11\n", 1, "index 11 is out of range (1..10, --max-eni)" },
	{ "eni-076bc493b822cd32f 99999999999\n", 1, "out of range" },
	{ "eni-00000000000000001 3\neni-00000000000000002 3\n", 2,
	  "index 3 is given twice (also to eni-00000000000000001)" },
	{ "eni-00000000000000001 3\n\neni-00000000000000001 4\n", 3,
	  "eni-00000000000000001 is listed twice" },
};

START_TEST(test_parse_errors)
{
	struct gwlb_eniidx *a = mk(10);
	struct gwlb_eniidx_err err;

	ck_assert_int_eq(gwlb_eniidx_parse(a, bad[_i].txt, strlen(bad[_i].txt), &err), -EINVAL);
	ck_assert_msg(err.line == bad[_i].line, "case %d: line %u, want %u (%s)", _i, err.line,
		      bad[_i].line, err.reason);
	ck_assert_msg(strstr(err.reason, bad[_i].reason), "case %d: reason '%s', want '%s'", _i,
		      err.reason, bad[_i].reason);
	/* A refused file leaves nothing half loaded. */
	ck_assert_uint_eq(gwlb_eniidx_count(a), 0);
	ck_assert_int_eq(gwlb_eniidx_get(a, 0x42, NULL), 1);
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_parse_nul)
{
	static const char txt[] = "eni-00000000000000001 1\n\0garbage\n";
	struct gwlb_eniidx *a = mk(10);
	struct gwlb_eniidx_err err;

	ck_assert_int_eq(gwlb_eniidx_parse(a, txt, sizeof(txt) - 1, &err), -EINVAL);
	ck_assert_uint_eq(err.line, 2);
	ck_assert_ptr_nonnull(strstr(err.reason, "NUL"));
	gwlb_eniidx_free(a);
}
END_TEST

START_TEST(test_derived)
{
	ck_assert_uint_eq(gwlb_eniidx_mark(1), 1);
	ck_assert_uint_eq(gwlb_eniidx_mark(65535), 0xffff);
	ck_assert_uint_eq(gwlb_eniidx_zone(7), 7);
	ck_assert_uint_eq(gwlb_eniidx_table(GWLB_ENIIDX_TABLE_BASE, 3), 10003);
	ck_assert_uint_eq(gwlb_eniidx_priority(GWLB_ENIIDX_PRIO_BASE, 3), 10003);
	/* The ENI's bits never reach the policy decision's (16-17) or the new-flow bit (18). */
	ck_assert_uint_eq(GWLB_ENIIDX_MARK_MASK & (7u << 16), 0);
}
END_TEST

START_TEST(test_ranges)
{
	char err[256];

	ck_assert_int_eq(gwlb_eniidx_check_ranges(1024, 10000, 10000, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(65535, 10000, 40000, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(100, 100, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(100, 300, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(65535, 10000, 10000, err, sizeof(err)), -ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "--rule-priority-base"));
	ck_assert_ptr_nonnull(strstr(err, "32766"));
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 10000, 32755, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 10000, 32756, err, sizeof(err)), -ERANGE);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 10000, 32767, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 10000, UINT32_MAX - 10, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 10000, UINT32_MAX - 9, err, sizeof(err)),
			 -ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "4294967295"));
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, 240, 10000, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(20, 240, 10000, err, sizeof(err)), -ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "--route-table-base"));
	ck_assert_ptr_nonnull(strstr(err, "253-255"));
	ck_assert_int_eq(gwlb_eniidx_check_ranges(20, 255, 10000, err, sizeof(err)), 0);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(10, UINT32_MAX - 9, 10000, err, sizeof(err)),
			 -ERANGE);
	ck_assert_int_eq(gwlb_eniidx_check_ranges(0, 10000, 10000, err, sizeof(err)), -ERANGE);
}
END_TEST

static Suite *eniidx_suite(void)
{
	Suite *s = suite_create("eniidx");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_alloc_bounds);
	tcase_add_test(tc, test_get_stable);
	tcase_add_test(tc, test_release_reuse);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_kept_reclaimed_when_full);
	tcase_add_test(tc, test_parse_comments);
	tcase_add_loop_test(tc, test_parse_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_parse_nul);
	tcase_add_test(tc, test_derived);
	tcase_add_test(tc, test_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(eniidx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
