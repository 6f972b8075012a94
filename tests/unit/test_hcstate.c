/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hcstate.h"

/*
 * Feed a result string ('o' ok, 'x' fail) and return the transitions as a string:
 * '.' nothing, 'U' came up, 'D' went down, one per result.
 */
static const char *run(struct gwlb_hcstate *s, const char *results)
{
	static char out[128];
	size_t i;

	for (i = 0; results[i]; i++) {
		int tr = gwlb_hcstate_update(s, results[i] == 'o');

		ck_assert_int_ge(tr, 0);
		out[i] = tr ? (s->up ? 'U' : 'D') : '.';
	}
	out[i] = '\0';
	return out;
}

START_TEST(test_starts_up)
{
	struct gwlb_hcstate s;

	gwlb_hcstate_init(&s, 2, 3, true);
	ck_assert(s.up);
	/* Up at start: successes change nothing, fall failures take it down. */
	ck_assert_str_eq(run(&s, "ooo"), "...");
	ck_assert_str_eq(run(&s, "xxx"), "..D");
	ck_assert(!s.up);
	ck_assert_uint_eq(s.fail_run, 3);
	ck_assert_uint_eq(s.ok_run, 0);
	ck_assert_uint_eq(s.checks, 6);
	ck_assert_uint_eq(s.failures, 3);
	ck_assert_uint_eq(s.transitions, 1);
}
END_TEST

START_TEST(test_start_down)
{
	struct gwlb_hcstate s;

	gwlb_hcstate_init(&s, 2, 3, false);
	ck_assert(!s.up);
	ck_assert_str_eq(run(&s, "xxxx"), "....");
	ck_assert_str_eq(run(&s, "oo"), ".U");
	ck_assert_uint_eq(s.transitions, 1);
}
END_TEST

START_TEST(test_rise_fall_edges)
{
	struct gwlb_hcstate s;

	gwlb_hcstate_init(&s, 3, 2, true);
	/* fall - 1 failures, then a success: the failure run starts again. */
	ck_assert_str_eq(run(&s, "xo"), "..");
	ck_assert_uint_eq(s.fail_run, 0);
	ck_assert_uint_eq(s.ok_run, 1);
	ck_assert_str_eq(run(&s, "xox"), "...");
	ck_assert_str_eq(run(&s, "x"), "D");
	/* rise - 1 successes, then a failure: the success run starts again. */
	ck_assert_str_eq(run(&s, "oox"), "...");
	ck_assert_uint_eq(s.ok_run, 0);
	ck_assert_str_eq(run(&s, "ooo"), "..U");
	/* Further failures while down do not report again. */
	ck_assert_str_eq(run(&s, "xxxxx"), ".D...");
	ck_assert_uint_eq(s.transitions, 3);
	ck_assert_uint_eq(s.failures, 10);
}
END_TEST

START_TEST(test_flapping)
{
	struct gwlb_hcstate s;

	/* ok/fail alternating never reaches a run of 2: no transition either way. */
	gwlb_hcstate_init(&s, 2, 2, true);
	ck_assert_str_eq(run(&s, "xoxoxoxoxo"), "..........");
	ck_assert(s.up);
	gwlb_hcstate_init(&s, 2, 2, false);
	ck_assert_str_eq(run(&s, "oxoxoxoxox"), "..........");
	ck_assert(!s.up);
	ck_assert_uint_eq(s.transitions, 0);
}
END_TEST

START_TEST(test_rise1_fall1)
{
	struct gwlb_hcstate s;

	gwlb_hcstate_init(&s, 1, 1, true);
	ck_assert_str_eq(run(&s, "xoxoox"), "DUDU.D");
	ck_assert_uint_eq(s.transitions, 5);
	/* 0 counts as 1, not as "never". */
	gwlb_hcstate_init(&s, 0, 0, true);
	ck_assert_uint_eq(s.rise, 1);
	ck_assert_uint_eq(s.fall, 1);
	ck_assert_str_eq(run(&s, "xo"), "DU");
}
END_TEST

#define M(t, a, h) { .tier = (t), .admin = GWLB_ADMIN_##a, .healthy = (h) }

/* take[] as a string of '1'/'0' for one look at the whole selection. */
static const char *sel(const struct gwlb_tier_member *m, size_t n, size_t *count,
		       unsigned *tier)
{
	static char out[32];
	bool take[32];
	size_t i;

	memset(take, 1, sizeof(take));
	*count = gwlb_hcstate_select(m, n, take, tier);
	for (i = 0; i < n; i++)
		out[i] = take[i] ? '1' : '0';
	out[n] = '\0';
	return out;
}

START_TEST(test_tier_primary)
{
	struct gwlb_tier_member m[] = {
		M(0, UP, true), M(0, UP, true), M(1, UP, true), M(0, UP, false),
	};
	unsigned tier = 99;
	size_t n;

	ck_assert_str_eq(sel(m, 4, &n, &tier), "1100");
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(tier, 0);
}
END_TEST

START_TEST(test_tier_takeover_giveback)
{
	struct gwlb_tier_member m[] = {
		M(0, UP, true), M(0, UP, true), M(1, UP, true), M(1, UP, true), M(2, UP, true),
	};
	unsigned tier = 99;
	size_t n;

	m[0].healthy = false;
	ck_assert_str_eq(sel(m, 5, &n, &tier), "01000");
	ck_assert_uint_eq(tier, 0);
	/* The last primary fails: the whole first backup tier takes over, not tier 2. */
	m[1].healthy = false;
	ck_assert_str_eq(sel(m, 5, &n, &tier), "00110");
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(tier, 1);
	m[2].healthy = m[3].healthy = false;
	ck_assert_str_eq(sel(m, 5, &n, &tier), "00001");
	ck_assert_uint_eq(tier, 2);
	/* One primary back: it alone takes new connections again. */
	m[0].healthy = true;
	ck_assert_str_eq(sel(m, 5, &n, &tier), "10000");
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(tier, 0);
}
END_TEST

START_TEST(test_tier_gaps_and_order)
{
	/* Tier numbers need not be dense nor sorted. */
	struct gwlb_tier_member m[] = {
		M(7, UP, true), M(3, UP, true), M(5, UP, true), M(3, UP, true),
	};
	unsigned tier = 99;
	size_t n;

	ck_assert_str_eq(sel(m, 4, &n, &tier), "0101");
	ck_assert_uint_eq(tier, 3);
}
END_TEST

START_TEST(test_tier_drain)
{
	struct gwlb_tier_member m[] = {
		M(0, DRAIN, true), M(0, UP, true), M(1, UP, true),
	};
	unsigned tier = 99;
	size_t n;

	ck_assert_str_eq(sel(m, 3, &n, &tier), "010");
	/* A tier of only draining (or admin down) backends is no tier: the backup takes over. */
	m[1].admin = GWLB_ADMIN_DRAIN;
	ck_assert_str_eq(sel(m, 3, &n, &tier), "001");
	ck_assert_uint_eq(tier, 1);
	m[1].admin = GWLB_ADMIN_DOWN;
	ck_assert_str_eq(sel(m, 3, &n, &tier), "001");
	/* Healthy but draining never takes new ones, even when it is all there is. */
	m[2].admin = GWLB_ADMIN_DRAIN;
	ck_assert_str_eq(sel(m, 3, &n, &tier), "000");
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_tier_all_down)
{
	struct gwlb_tier_member m[] = {
		M(0, UP, false), M(1, UP, false), M(1, DOWN, true),
	};
	unsigned tier = 99;
	size_t n;

	ck_assert_str_eq(sel(m, 3, &n, &tier), "000");
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(tier, 99);
	ck_assert_uint_eq(gwlb_hcstate_select(NULL, 0, NULL, &tier), 0);
}
END_TEST

START_TEST(test_admin_names)
{
	enum gwlb_admin a;

	ck_assert_int_eq(gwlb_admin_parse("drain", &a), 0);
	ck_assert_int_eq(a, GWLB_ADMIN_DRAIN);
	ck_assert_int_eq(gwlb_admin_parse("down", &a), 0);
	ck_assert_int_eq(a, GWLB_ADMIN_DOWN);
	ck_assert_int_eq(gwlb_admin_parse("up", &a), 0);
	ck_assert_int_eq(a, GWLB_ADMIN_UP);
	ck_assert_int_eq(gwlb_admin_parse("Up", &a), -EINVAL);
	ck_assert_int_eq(gwlb_admin_parse("", &a), -EINVAL);
	ck_assert_str_eq(gwlb_admin_str(GWLB_ADMIN_DRAIN), "drain");
	ck_assert_str_eq(gwlb_admin_str((enum gwlb_admin)9), "?");
}
END_TEST

static Suite *hcstate_suite(void)
{
	Suite *s = suite_create("hcstate");
	TCase *tc;

	tc = tcase_create("rise-fall");
	tcase_add_test(tc, test_starts_up);
	tcase_add_test(tc, test_start_down);
	tcase_add_test(tc, test_rise_fall_edges);
	tcase_add_test(tc, test_flapping);
	tcase_add_test(tc, test_rise1_fall1);
	suite_add_tcase(s, tc);

	tc = tcase_create("tiers");
	tcase_add_test(tc, test_tier_primary);
	tcase_add_test(tc, test_tier_takeover_giveback);
	tcase_add_test(tc, test_tier_gaps_and_order);
	tcase_add_test(tc, test_tier_drain);
	tcase_add_test(tc, test_tier_all_down);
	tcase_add_test(tc, test_admin_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hcstate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
