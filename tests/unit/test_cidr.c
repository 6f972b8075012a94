/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t *a4(const char *s)
{
	static uint8_t buf[4][4];
	static int n;
	uint8_t *p = buf[n++ % 4];

	ck_assert_int_eq(inet_pton(AF_INET, s, p), 1);
	return p;
}

static const uint8_t *a6(const char *s)
{
	static uint8_t buf[4][16];
	static int n;
	uint8_t *p = buf[n++ % 4];

	ck_assert_int_eq(inet_pton(AF_INET6, s, p), 1);
	return p;
}

struct parse_case {
	const char *in;
	const char *out;	/* gwlb_cidr_str of the result */
	int family;
	int plen;
};

static const struct parse_case good[] = {
	{ "10.1.2.3/8", "10.0.0.0/8", 4, 8 },
	{ "192.168.1.1", "192.168.1.1/32", 4, 32 },
	{ "192.168.1.1/32", "192.168.1.1/32", 4, 32 },
	{ "10.255.255.255/9", "10.128.0.0/9", 4, 9 },
	{ "255.255.255.255/31", "255.255.255.254/31", 4, 31 },
	{ "1.2.3.4/0", "0.0.0.0/0", 4, 0 },
	{ "172.16.5.4/012", "172.16.0.0/12", 4, 12 },
	{ "2001:db8::1/32", "2001:db8::/32", 6, 32 },
	{ "2001:db8::ff/121", "2001:db8::80/121", 6, 121 },
	{ "::1", "::1/128", 6, 128 },
	{ "::1/128", "::1/128", 6, 128 },
	{ "ffff::ffff/0", "::/0", 6, 0 },
	{ "fe80::1:2:3:4/64", "fe80::/64", 6, 64 },
	{ "::ffff:10.1.2.3/120", "::ffff:10.1.2.0/120", 6, 120 },
};

static const char *const bad[] = {
	"",
	"/8",
	"10.0.0.0/",
	"10.0.0.0/33",
	"10.0.0.0/100",
	"10.0.0.0/0008",
	"10.0.0.0/8x",
	"10.0.0.0/-1",
	"10.0.0.0/+8",
	"10.0.0.0/ 8",
	"10.0.0.0/8/8",
	"10.0.0/8",
	"10.0.0.256",
	" 10.0.0.0",
	"10.0.0.0 ",
	"abc",
	"::/129",
	"2001:db8::/200",
	"1:2:3:4:5:6:7:8:9",
	"2001:db8:::1",
	"2001:db8::1%eth0",
	"0x0a000000/8",
	"1234567890123456789012345678901234567890123456789/8",
};

START_TEST(test_parse_good)
{
	const struct parse_case *c = &good[_i];
	struct gwlb_cidr cidr;
	char buf[64];

	memset(&cidr, 0xaa, sizeof(cidr));
	ck_assert_msg(gwlb_cidr_parse(c->in, &cidr) == 0, "%s refused", c->in);
	ck_assert_int_eq(cidr.family, c->family);
	ck_assert_int_eq(cidr.plen, c->plen);
	ck_assert_str_eq(gwlb_cidr_str(&cidr, buf, sizeof(buf)), c->out);
	/* IPv4 leaves the rest of addr zero */
	if (c->family == 4)
		ck_assert_mem_eq(cidr.addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
}
END_TEST

START_TEST(test_parse_bad)
{
	struct gwlb_cidr cidr, before;

	memset(&cidr, 0x5a, sizeof(cidr));
	before = cidr;
	ck_assert_msg(gwlb_cidr_parse(bad[_i], &cidr) == -EINVAL, "\"%s\" accepted", bad[_i]);
	ck_assert_mem_eq(&cidr, &before, sizeof(cidr));
}
END_TEST

START_TEST(test_parse_null)
{
	struct gwlb_cidr c;

	ck_assert_int_eq(gwlb_cidr_parse(NULL, &c), -EINVAL);
}
END_TEST

START_TEST(test_match_v4)
{
	struct gwlb_cidr c;

	ck_assert_int_eq(gwlb_cidr_parse("10.255.255.255/9", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 4, a4("10.128.0.0")));
	ck_assert(gwlb_cidr_match(&c, 4, a4("10.200.1.1")));
	ck_assert(gwlb_cidr_match(&c, 4, a4("10.255.255.255")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("10.127.255.255")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("11.128.0.0")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("a80::")));

	ck_assert_int_eq(gwlb_cidr_parse("0.0.0.0/0", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 4, a4("0.0.0.0")));
	ck_assert(gwlb_cidr_match(&c, 4, a4("255.255.255.255")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("::")));

	ck_assert_int_eq(gwlb_cidr_parse("198.19.1.2/32", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 4, a4("198.19.1.2")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("198.19.1.3")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("198.19.1.0")));

	ck_assert_int_eq(gwlb_cidr_parse("198.19.1.2/31", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 4, a4("198.19.1.3")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("198.19.1.4")));
}
END_TEST

START_TEST(test_match_v6)
{
	struct gwlb_cidr c;

	ck_assert_int_eq(gwlb_cidr_parse("2001:db8::/32", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 6, a6("2001:db8::1")));
	ck_assert(gwlb_cidr_match(&c, 6, a6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("2001:db9::")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("32.1.13.184")));	/* 2001:0db8 as IPv4 */

	ck_assert_int_eq(gwlb_cidr_parse("::/0", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 6, a6("::")));
	ck_assert(gwlb_cidr_match(&c, 6, a6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
	ck_assert(!gwlb_cidr_match(&c, 4, a4("1.2.3.4")));

	ck_assert_int_eq(gwlb_cidr_parse("2001:db8::7/128", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 6, a6("2001:db8::7")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("2001:db8::6")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("2001:db8::7:0")));

	ck_assert_int_eq(gwlb_cidr_parse("2001:db8::80/121", &c), 0);
	ck_assert(gwlb_cidr_match(&c, 6, a6("2001:db8::ff")));
	ck_assert(!gwlb_cidr_match(&c, 6, a6("2001:db8::7f")));
}
END_TEST

START_TEST(test_list)
{
	struct gwlb_cidr l[4];
	size_t bad_at = 999;
	char buf[64];

	ck_assert_int_eq(gwlb_cidr_parse_list("10.0.0.0/8,192.168.1.7/16, 2001:db8::/32", l, 4,
					      &bad_at), 3);
	ck_assert_uint_eq(bad_at, 999);
	ck_assert_str_eq(gwlb_cidr_str(&l[0], buf, sizeof(buf)), "10.0.0.0/8");
	ck_assert_str_eq(gwlb_cidr_str(&l[1], buf, sizeof(buf)), "192.168.0.0/16");
	ck_assert_str_eq(gwlb_cidr_str(&l[2], buf, sizeof(buf)), "2001:db8::/32");

	ck_assert_int_eq(gwlb_cidr_list_match(l, 3, 4, a4("192.168.200.1")), 1);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 3, 4, a4("10.9.9.9")), 0);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 3, 6, a6("2001:db8::5")), 2);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 3, 4, a4("172.16.0.1")), -1);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 0, 4, a4("10.9.9.9")), -1);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 2, 6, a6("2001:db8::5")), -1);

	/* first match wins */
	ck_assert_int_eq(gwlb_cidr_parse_list("0.0.0.0/0 , 10.0.0.0/8", l, 4, NULL), 2);
	ck_assert_int_eq(gwlb_cidr_list_match(l, 2, 4, a4("10.0.0.1")), 0);

	ck_assert_int_eq(gwlb_cidr_parse_list("", l, 4, &bad_at), 0);
	ck_assert_int_eq(gwlb_cidr_parse_list("  ", l, 4, &bad_at), 0);
	ck_assert_int_eq(gwlb_cidr_parse_list("\t1.2.3.4\t", l, 4, &bad_at), 1);
	ck_assert_int_eq(gwlb_cidr_parse_list(NULL, l, 4, &bad_at), -EINVAL);
}
END_TEST

struct list_bad {
	const char *s;
	int err;
	size_t at;
};

static const struct list_bad list_bad[] = {
	{ "10.0.0.0/8,10.0.0.0/33", -EINVAL, 11 },
	{ "10.0.0.0/8, bogus", -EINVAL, 12 },
	{ "bogus,10.0.0.0/8", -EINVAL, 0 },
	{ ",10.0.0.0/8", -EINVAL, 0 },
	{ "10.0.0.0/8,", -EINVAL, 11 },
	{ "10.0.0.0/8,,1.2.3.4", -EINVAL, 11 },
	{ "10.0.0.0/8 1.2.3.4", -EINVAL, 0 },
	{ "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5", -E2BIG, 32 },
	{ "1.1.1.1, 2.2.2.2, ::1,  ::2,  ::3/200", -E2BIG, 30 },
	{ "1.1.1.1,2.2.2.2,::1/200", -EINVAL, 16 },
};

START_TEST(test_list_bad)
{
	const struct list_bad *c = &list_bad[_i];
	struct gwlb_cidr l[4];
	size_t at = 999;

	ck_assert_msg(gwlb_cidr_parse_list(c->s, l, 4, &at) == c->err, "\"%s\"", c->s);
	ck_assert_msg(at == c->at, "\"%s\": bad at %zu, want %zu", c->s, at, c->at);
}
END_TEST

START_TEST(test_str_truncated)
{
	struct gwlb_cidr c;
	char buf[8];

	ck_assert_int_eq(gwlb_cidr_parse("192.168.100.0/24", &c), 0);
	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(gwlb_cidr_str(&c, buf, 5), "192.");
	ck_assert_int_eq(buf[5], 'x');
}
END_TEST

/* ---- prefix list files ---- */

static int collect_prefix(void *arg, const struct gwlb_cidr *c, int line)
{
	char (*out)[64] = arg;
	char buf[48];

	snprintf(out[line], sizeof(out[0]), "%s", gwlb_cidr_str(c, buf, sizeof(buf)));
	return 0;
}

START_TEST(test_lines)
{
	static const char text[] =
		"# deny list\n"
		"10.0.0.0/8\n"
		"\n"
		"   198.19.2.0/24   # lab client 2\r\n"
		"\t2001:db8::/32\n"
		"192.0.2.7\n"
		"#\n"
		"fd00::1/64";			/* no newline at the end; host bits cleared */
	char got[16][64] = { { 0 } };
	struct gwlb_cidr_err err;
	size_t n = 0;

	ck_assert_int_eq(gwlb_cidr_parse_lines((const uint8_t *)text, strlen(text),
					       collect_prefix, got, &n, &err), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(got[2], "10.0.0.0/8");
	ck_assert_str_eq(got[4], "198.19.2.0/24");
	ck_assert_str_eq(got[5], "2001:db8::/32");
	ck_assert_str_eq(got[6], "192.0.2.7/32");
	ck_assert_str_eq(got[8], "fd00::/64");
	/* empty text, comments only */
	ck_assert_int_eq(gwlb_cidr_parse_lines((const uint8_t *)"", 0, NULL, NULL, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(gwlb_cidr_parse_lines((const uint8_t *)"#x\n \n", 5, NULL, NULL, &n,
					       &err), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static const struct {
	const char *text;
	size_t len;		/* 0: strlen */
	int line;
	const char *reason;
} lines_bad[] = {
	{ "10.0.0.0/8\n10.0.0.0/33\n", 0, 2, "bad prefix '10.0.0.0/33': expected ADDRESS[/LENGTH]" },
	{ "# c\n\nexample.com\n", 0, 3, "bad prefix 'example.com'" },
	{ "10.0.0.0/8 10.1.0.0/16\n", 0, 1, "one prefix per line" },
	{ "10.0.0.0/8,10.1.0.0/16\n", 0, 1, "bad prefix '10.0.0.0/8,10.1.0.0/16'" },
	{ "1.2.3.4\n5.6.7.8\0\n", 16, 2, "NUL byte in the line" },
	{ "1.2.3.4/\n", 0, 1, "bad prefix '1.2.3.4/'" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001/64\n", 0, 1,
	  "prefix too long" },
	{ "::1/+8\n", 0, 1, "bad prefix '::1/+8'" },
};

START_TEST(test_lines_bad)
{
	const char *t = lines_bad[_i].text;
	size_t len = lines_bad[_i].len ? lines_bad[_i].len : strlen(t);
	struct gwlb_cidr_err err;
	size_t n = 99;

	ck_assert_int_eq(gwlb_cidr_parse_lines((const uint8_t *)t, len, NULL, NULL, &n, &err),
			 -EINVAL);
	ck_assert_int_eq(err.line, lines_bad[_i].line);
	ck_assert_msg(strstr(err.reason, lines_bad[_i].reason), "reason \"%s\", expected \"%s\"",
		      err.reason, lines_bad[_i].reason);
	ck_assert_uint_eq(n, 99);
}
END_TEST

static int stop_at_second(void *arg, const struct gwlb_cidr *c, int line)
{
	return ++*(int *)arg == 2 ? -E2BIG : 0;
}

START_TEST(test_lines_callback_stops)
{
	static const char text[] = "10.0.0.0/8\n#\n10.1.0.0/16\n10.2.0.0/16\n";
	struct gwlb_cidr_err err;
	int calls = 0;

	ck_assert_int_eq(gwlb_cidr_parse_lines((const uint8_t *)text, strlen(text),
					       stop_at_second, &calls, NULL, &err), -E2BIG);
	ck_assert_int_eq(calls, 2);
	ck_assert_int_eq(err.line, 3);
}
END_TEST

static Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_str_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_test(tc, test_match_v4);
	tcase_add_test(tc, test_match_v6);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_test(tc, test_list);
	tcase_add_loop_test(tc, test_list_bad, 0, sizeof(list_bad) / sizeof(list_bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_test(tc, test_lines);
	tcase_add_loop_test(tc, test_lines_bad, 0, sizeof(lines_bad) / sizeof(lines_bad[0]));
	tcase_add_test(tc, test_lines_callback_stops);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cidr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
