/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each endpoint mode asks rtnetlink for, in ip(8)'s words (no netlink here). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

static const char *plan_text(enum gwlb_mode mode)
{
	static char out[2048];
	const struct gwlb_route_eni eni = {
		.mode = mode, .gwi = "gwi-e8WXgsTQDkf", .gwo = "gwo-e8WXgsTQDkf",
		.mark = 3, .table = 10003, .prio = 10003,
	};
	struct gwlb_route_set set;
	char line[128];
	unsigned i;

	gwlb_route_plan(&eni, &set);
	out[0] = '\0';
	for (i = 0; i < set.n; i++) {
		gwlb_route_obj_snprintf(&set.obj[i], line, sizeof(line));
		strncat(out, line, sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
	return out;
}

START_TEST(test_hook_adds_nothing)
{
	ck_assert_str_eq(plan_text(GWLB_MODE_HOOK), "");
	ck_assert_str_eq(plan_text(GWLB_MODE__MAX), "");
}
END_TEST

START_TEST(test_passthrough)
{
	ck_assert_str_eq(plan_text(GWLB_MODE_PASSTHROUGH),
			 "route default dev gwo-e8WXgsTQDkf table 10003\n"
			 "rule prio 10003 iif gwi-e8WXgsTQDkf lookup 10003\n"
			 "-6 route default dev gwo-e8WXgsTQDkf table 10003\n"
			 "-6 rule prio 10003 iif gwi-e8WXgsTQDkf lookup 10003\n");
}
END_TEST

START_TEST(test_route_and_nat)
{
	static const char want[] =
		"route default dev gwo-e8WXgsTQDkf table 10003\n"
		"rule prio 10003 iif gwi-e8WXgsTQDkf lookup main\n"
		"rule prio 10003 fwmark 0x3/0xffff lookup 10003\n"
		"-6 route default dev gwo-e8WXgsTQDkf table 10003\n"
		"-6 rule prio 10003 iif gwi-e8WXgsTQDkf lookup main\n"
		"-6 rule prio 10003 fwmark 0x3/0xffff lookup 10003\n";

	/* the iif rule before the fwmark rule: the ENI's own packets carry its mark too */
	ck_assert_str_eq(plan_text(GWLB_MODE_ROUTE), want);
	ck_assert_str_eq(plan_text(GWLB_MODE_NAT), want);
}
END_TEST

START_TEST(test_local)
{
	ck_assert_str_eq(plan_text(GWLB_MODE_LOCAL),
			 "route default dev gwo-e8WXgsTQDkf table 10003\n"
			 "rule prio 10003 iif gwi-e8WXgsTQDkf blackhole\n"
			 "rule prio 10003 fwmark 0x3/0xffff lookup 10003\n"
			 "-6 route default dev gwo-e8WXgsTQDkf table 10003\n"
			 "-6 rule prio 10003 iif gwi-e8WXgsTQDkf blackhole\n"
			 "-6 rule prio 10003 fwmark 0x3/0xffff lookup 10003\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("plan");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hook_adds_nothing);
	tcase_add_test(tc, test_passthrough);
	tcase_add_test(tc, test_route_and_nat);
	tcase_add_test(tc, test_local);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
