/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftfile.h"

#define S(x) x, strlen(x)

/* The ENI of DESIGN.md's naming example. */
static const struct gwlb_nftrules_eni eni = {
	.gwi = "gwi-e8WXgsTQDkf", .gwo = "gwo-e8WXgsTQDkf", .eni_id = 0x076bc493b822cd32fULL,
	.mark = 0x10, .zone = 7, .table = 1007,
};

START_TEST(test_eni_table)
{
	char buf[GWLB_NFTFILE_TABLE_MAX];

	ck_assert_int_gt(gwlb_nftfile_eni_table(eni.eni_id, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "gwlbnf-eni-e8WXgsTQDkf");
	/* The longest id still fits. */
	ck_assert_int_gt(gwlb_nftfile_eni_table(UINT64_MAX, buf, sizeof(buf)), 0);
	ck_assert_int_eq(gwlb_nftfile_eni_table(eni.eni_id, buf, 12), -ENOSPC);
}
END_TEST

START_TEST(test_prelude)
{
	char buf[1024];
	int n = gwlb_nftfile_prelude(&eni, buf, sizeof(buf));

	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_str_eq(buf,
		"define gwi = \"gwi-e8WXgsTQDkf\"\n"
		"define gwo = \"gwo-e8WXgsTQDkf\"\n"
		"define eni = \"eni-076bc493b822cd32f\"\n"
		"define eni_hex = \"076bc493b822cd32f\"\n"
		"define eni_table = \"gwlbnf-eni-e8WXgsTQDkf\"\n"
		"define eni_mark = 0x00000010\n"
		"define eni_zone = 7\n"
		"define eni_rtable = 1007\n");
	ck_assert_int_eq(gwlb_nftfile_prelude(&eni, buf, 40), -ENOSPC);
}
END_TEST

START_TEST(test_subst)
{
	static const char in[] =
		"table inet $eni_table {\n"
		"\tchain c { iifname $gwi counter comment \"$eni_tablex\" }\n"
		"}\n"
		"add rule inet $eni_table c drop";
	size_t n;
	char *out = gwlb_nftfile_subst_table(S(in), "gwlbnf-eni-X", &n);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(n, strlen(out));
	/* $eni_tablex is another name; lines stay where they were */
	ck_assert_str_eq(out,
		"table inet gwlbnf-eni-X {\n"
		"\tchain c { iifname $gwi counter comment \"$eni_tablex\" }\n"
		"}\n"
		"add rule inet gwlbnf-eni-X c drop");
	free(out);
}
END_TEST

struct seen {
	char what[8][128];
	unsigned n;
};

static int seen_cb(const struct gwlb_nftfile_stmt *st, void *arg)
{
	struct seen *s = arg;

	snprintf(s->what[s->n++], sizeof(s->what[0]), "%u %s|%s|%s|%s", st->line, st->verb,
		 st->object, st->family, st->name);
	return s->n == 8;
}

START_TEST(test_scan)
{
	static const char in[] =
		"#!/usr/sbin/nft -f\n"
		"define ports = { 22, 80 }   # a define is no table\n"
		"table inet a {\n"
		"\tchain c {\n"
		"\t\ttype filter hook input priority 0; tcp dport $ports drop # { ;\n"
		"\t}\n"
		"}\n"
		"table b { }; add rule ip6 \"c\" x \\\n"
		"\tdrop\n"
		"add ct helper inet d ftp { type \"ftp\" protocol tcp; }\n"
		"flush ruleset\n";
	struct gwlb_nftfile_err err = { 0 };
	struct seen s = { 0 };

	ck_assert_int_eq(gwlb_nftfile_scan(S(in), seen_cb, &s, &err), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_str_eq(s.what[0], "3 |table|inet|a");
	ck_assert_str_eq(s.what[1], "8 |table|ip|b");
	ck_assert_str_eq(s.what[2], "8 add|rule|ip6|c");
	ck_assert_str_eq(s.what[3], "10 add|ct|inet|d");
	ck_assert_str_eq(s.what[4], "11 flush|ruleset||");
}
END_TEST

START_TEST(test_scan_unknown)
{
	struct gwlb_nftfile_err err = { 0 };
	struct seen s = { 0 };

	ck_assert_int_eq(gwlb_nftfile_scan(S("table inet a { }\n\nfrobnicate inet a\n"), seen_cb,
					   &s, &err), -EINVAL);
	ck_assert_uint_eq(err.line, 3);
	ck_assert_ptr_nonnull(strstr(err.reason, "'frobnicate'"));
}
END_TEST

static const struct {
	const char *text;
	int ret;
	unsigned line;
	const char *reason;
} templates[] = {
	{ "table inet gwlbnf-eni-X {\n chain c { drop; }\n}\nadd rule inet gwlbnf-eni-X c accept\n",
	  0, 0, NULL },
	{ "# nothing\n", 0, 0, NULL },
	{ "table inet gwlbnf-eni-X { }\ntable inet gwlbnf { }\n", -EPERM, 2,
	  "table inet gwlbnf: a template may only use table inet $eni_table" },
	{ "table gwlbnf-eni-X { }\n", -EPERM, 1, "table ip gwlbnf-eni-X" },
	{ "\nadd rule inet filter input drop\n", -EPERM, 2, "add rule inet filter" },
	{ "flush ruleset\n", -EPERM, 1, "flush ruleset" },
	{ "include \"/etc/x.nft\"\n", -EPERM, 1, "include is not allowed" },
	{ "what is this\n", -EINVAL, 1, "'what'" },
};

START_TEST(test_template)
{
	struct gwlb_nftfile_err err = { 0 };
	const char *t = templates[_i].text;

	ck_assert_int_eq(gwlb_nftfile_check_template(S(t), "gwlbnf-eni-X", &err),
			 templates[_i].ret);
	if (templates[_i].ret) {
		ck_assert_uint_eq(err.line, templates[_i].line);
		ck_assert_msg(strstr(err.reason, templates[_i].reason), "reason '%s' lacks '%s'",
			      err.reason, templates[_i].reason);
	}
}
END_TEST

START_TEST(test_global_tables)
{
	static const char in[] =
		"table inet filter { chain c { } }\n"
		"add table ip nat\n"
		"table inet filter { }\n"
		"add rule inet filter c drop\n"
		"delete table ip6 old\n";
	struct gwlb_nftfile_err err = { 0 };
	char names[4][96];

	/* declared once each; a delete is no declaration */
	ck_assert_int_eq(gwlb_nftfile_global_tables(S(in), names, 4, &err), 2);
	ck_assert_str_eq(names[0], "inet filter");
	ck_assert_str_eq(names[1], "ip nat");
	ck_assert_int_eq(gwlb_nftfile_global_tables(S(in), names, 1, &err), -ENOSPC);
}
END_TEST

START_TEST(test_global_refused)
{
	struct gwlb_nftfile_err err = { 0 };
	char names[4][96];

	ck_assert_int_eq(gwlb_nftfile_global_tables(S("table inet a { }\nflush ruleset\n"), names,
						    4, &err), -EPERM);
	ck_assert_uint_eq(err.line, 2);
	ck_assert_int_eq(gwlb_nftfile_global_tables(S("add rule inet gwlbnf pre accept\n"), names,
						    4, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.reason, "gwlbd's own"));
	ck_assert_int_eq(gwlb_nftfile_global_tables(S("table inet gwlbnf-eni-x { }\n"), names, 4,
						    &err), -EPERM);
	ck_assert_int_eq(gwlb_nftfile_global_tables(S("table inet $t { }\n"), names, 4, &err),
			 -EPERM);
	ck_assert_ptr_nonnull(strstr(err.reason, "variable"));
}
END_TEST

START_TEST(test_sort_names)
{
	const char *in[] = { "20-b.nft", ".hidden.nft", "10-a.nft", "README", "x.nft.example",
			     "eni.d", "10-A.nft", ".nft", "9.nft" };
	char *v[sizeof(in) / sizeof(in[0])];
	size_t i, n;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		v[i] = strdup(in[i]);
	n = gwlb_nftfile_sort_names(v, sizeof(in) / sizeof(in[0]));
	ck_assert_uint_eq(n, 4);
	/* bytewise: digits before upper case before lower case */
	ck_assert_str_eq(v[0], "10-A.nft");
	ck_assert_str_eq(v[1], "10-a.nft");
	ck_assert_str_eq(v[2], "20-b.nft");
	ck_assert_str_eq(v[3], "9.nft");
	for (i = 0; i < n; i++)
		free(v[i]);
}
END_TEST

START_TEST(test_parse_error)
{
	/* What nft 1.0.6 said for a broken include, verbatim. */
	static const char nft[] =
		"In file included from <cmdline>:3:1-26:\n"
		"/proc/self/fd/4:4:17-17: Error: syntax error, unexpected '}'\n"
		" chain d { blah }\n"
		"                ^\n"
		"Error: syntax error, unexpected end of file\n"
		"define x = 1\n"
		"^\n";
	struct gwlb_nftfile_err err;

	gwlb_nftfile_parse_error(nft, "/proc/self/fd/4", "/etc/gwlbnf/nft-rules/x.nft", &err);
	ck_assert_str_eq(err.file, "/etc/gwlbnf/nft-rules/x.nft");
	ck_assert_uint_eq(err.line, 4);
	ck_assert_str_eq(err.reason, "syntax error, unexpected '}'");

	/* another fd's name is not ours: /proc/self/fd/40 is not /proc/self/fd/4 */
	gwlb_nftfile_parse_error("/proc/self/fd/40:2:1-3: Error: nope\n", "/proc/self/fd/4", "f",
				 &err);
	ck_assert_uint_eq(err.line, 0);
	ck_assert_str_eq(err.reason, "nope");

	gwlb_nftfile_parse_error("Error: File not found: /x\nadd table\n^^^\n", "/proc/self/fd/4",
				 "f", &err);
	ck_assert_uint_eq(err.line, 0);
	ck_assert_str_eq(err.reason, "File not found: /x");

	gwlb_nftfile_parse_error("\nsomething odd\n", "a", "f", &err);
	ck_assert_str_eq(err.reason, "something odd");
	gwlb_nftfile_parse_error(NULL, "a", "f", &err);
	ck_assert_str_eq(err.reason, "nft failed without saying why");
}
END_TEST

static Suite *nftfile_suite(void)
{
	Suite *s = suite_create("nftfile");
	TCase *tc = tcase_create("template");

	tcase_add_test(tc, test_eni_table);
	tcase_add_test(tc, test_prelude);
	tcase_add_test(tc, test_subst);
	tcase_add_loop_test(tc, test_template, 0, sizeof(templates) / sizeof(templates[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("scan");
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_scan_unknown);
	tcase_add_test(tc, test_global_tables);
	tcase_add_test(tc, test_global_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_sort_names);
	tcase_add_test(tc, test_parse_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nftfile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
