/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbctl's human output: columns as wide as their widest cell, no trailing blanks. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

static char *print_to_string(const struct gwlb_table *t, unsigned indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	gwlb_table_print(t, f, indent);
	fclose(f);
	return buf;
}

START_TEST(test_columns)
{
	static const char *const hdr[] = { "ENI", "STATE", "RX" };
	static const char *const r1[] = { "eni-076bc493b822cd32f", "ready", "3876" };
	static const char *const r2[] = { "eni-1", NULL, "12" };
	struct gwlb_table t;
	char *out;

	ck_assert_int_eq(gwlb_table_init(&t, 3, hdr), 0);
	ck_assert_int_eq(gwlb_table_add(&t, r1), 0);
	ck_assert_int_eq(gwlb_table_add(&t, r2), 0);
	out = print_to_string(&t, 0);
	ck_assert_str_eq(out,
		"ENI                    STATE  RX\n"
		"eni-076bc493b822cd32f  ready  3876\n"
		"eni-1                  -      12\n");
	free(out);
	out = print_to_string(&t, 2);
	ck_assert_str_eq(out,
		"  ENI                    STATE  RX\n"
		"  eni-076bc493b822cd32f  ready  3876\n"
		"  eni-1                  -      12\n");
	free(out);
	gwlb_table_free(&t);
}
END_TEST

START_TEST(test_many_rows)
{
	static const char *const hdr[] = { "N" };
	struct gwlb_table t;
	char cell[16], *out;
	const char *row[1] = { cell };
	unsigned i;

	ck_assert_int_eq(gwlb_table_init(&t, 1, hdr), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(cell, sizeof(cell), "%u", i);
		ck_assert_int_eq(gwlb_table_add(&t, row), 0);
	}
	ck_assert_uint_eq(t.nrows, 1001);
	out = print_to_string(&t, 0);
	ck_assert_ptr_nonnull(strstr(out, "\n999\n"));
	free(out);
	gwlb_table_free(&t);
	ck_assert_int_eq(gwlb_table_init(&t, 0, hdr), -EINVAL);
	ck_assert_int_eq(gwlb_table_init(&t, GWLB_TABLE_COLS + 1, hdr), -EINVAL);
}
END_TEST

START_TEST(test_durations)
{
	char b[32];

	ck_assert_str_eq(gwlb_fmt_duration(0, b, sizeof(b)), "0s");
	ck_assert_str_eq(gwlb_fmt_duration(59, b, sizeof(b)), "59s");
	ck_assert_str_eq(gwlb_fmt_duration(307, b, sizeof(b)), "5m07s");
	ck_assert_str_eq(gwlb_fmt_duration(7380, b, sizeof(b)), "2h03m");
	ck_assert_str_eq(gwlb_fmt_duration(273600, b, sizeof(b)), "3d04h");
	ck_assert_str_eq(gwlb_fmt_duration_ms(4567, b, sizeof(b)), "4.5s");
	ck_assert_str_eq(gwlb_fmt_duration_ms(90000, b, sizeof(b)), "1m30s");
	ck_assert_str_eq(gwlb_fmt_duration(307, b, 3), "5m");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_columns);
	tcase_add_test(tc, test_many_rows);
	tcase_add_test(tc, test_durations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
