/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "hccfg.h"

/* Apply "key=value" pairs (line i+1 each) and finish; the first error's return. */
static int apply(struct gwlb_hc_cfg *c, const char *const *kv, struct gwlb_hccfg_err *err)
{
	unsigned i;
	int ret;

	gwlb_hccfg_init(c);
	for (i = 0; kv[i]; i++) {
		char key[64];
		const char *eq = strchr(kv[i], '=');

		ck_assert_ptr_nonnull(eq);
		ck_assert_uint_lt((size_t)(eq - kv[i]), sizeof(key));
		memcpy(key, kv[i], (size_t)(eq - kv[i]));
		key[eq - kv[i]] = '\0';
		ret = gwlb_hccfg_set(c, key, eq + 1, "services.conf", i + 1, err);
		if (ret < 0)
			return ret;
	}
	return gwlb_hccfg_finish(c, "services.conf", 100, err);
}

START_TEST(test_defaults)
{
	static const char *const none[] = { NULL };
	static const char *const tcp[] = { "check=tcp", NULL };
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg c;

	ck_assert_int_eq(apply(&c, none, &err), 0);
	ck_assert_int_eq(c.type, GWLB_HC_NONE);
	ck_assert_int_eq(apply(&c, tcp, &err), 0);
	ck_assert_int_eq(c.type, GWLB_HC_TCP);
	ck_assert_uint_eq(c.interval_ms, 2000);
	ck_assert_uint_eq(c.timeout_ms, 1000);
	ck_assert_uint_eq(c.rise, 2);
	ck_assert_uint_eq(c.fall, 3);
	ck_assert_str_eq(c.path, "/");
	ck_assert_int_eq(c.expect_status, 200);
	ck_assert_int_eq(c.src.ss_family, 0);
	ck_assert(!c.start_down);
}
END_TEST

START_TEST(test_all_keys)
{
	static const char *const kv[] = {
		"check=http", "check-path=/healthz?full=1", "check-host=api.example.com",
		"check-status=204", "check-interval=5s", "check-timeout=250ms", "rise=1",
		"fall=10", "check-source=2001:db8::7", NULL,
	};
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg c;
	struct in6_addr a;

	ck_assert_int_eq(apply(&c, kv, &err), 0);
	ck_assert_int_eq(c.type, GWLB_HC_HTTP);
	ck_assert_str_eq(c.path, "/healthz?full=1");
	ck_assert_str_eq(c.host, "api.example.com");
	ck_assert_int_eq(c.expect_status, 204);
	ck_assert_uint_eq(c.interval_ms, 5000);
	ck_assert_uint_eq(c.timeout_ms, 250);
	ck_assert_uint_eq(c.rise, 1);
	ck_assert_uint_eq(c.fall, 10);
	ck_assert_int_eq(c.src.ss_family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::7", &a);
	ck_assert_mem_eq(&((struct sockaddr_in6 *)&c.src)->sin6_addr, &a, sizeof(a));
}
END_TEST

START_TEST(test_short_interval_timeout)
{
	/* A short interval without a timeout: the timeout follows it, no error. */
	static const char *const kv[] = { "check=tcp", "check-interval=300", NULL };
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg c;

	ck_assert_int_eq(apply(&c, kv, &err), 0);
	ck_assert_uint_eq(c.interval_ms, 300);
	ck_assert_uint_eq(c.timeout_ms, 300);
}
END_TEST

START_TEST(test_unknown_key)
{
	struct gwlb_hccfg_err err = { .line = 77 };
	struct gwlb_hc_cfg c;

	gwlb_hccfg_init(&c);
	/* Not ours: the services parser's own key or its error, err untouched. */
	ck_assert_int_eq(gwlb_hccfg_set(&c, "weight", "3", "f", 1, &err), -ENOENT);
	ck_assert_int_eq(gwlb_hccfg_set(&c, "checks", "tcp", "f", 1, &err), -ENOENT);
	ck_assert_uint_eq(err.line, 77);
}
END_TEST

struct bad_case {
	const char *kv[4];
	unsigned line;		/* where the error must point */
	const char *reason;	/* a part of it */
};

START_TEST(test_bad)
{
	static const struct bad_case cases[] = {
		{ { "check=udp" }, 1, "'check': none, tcp or http" },
		{ { "check=TCP" }, 1, "none, tcp or http" },
		{ { "check=http", "check-path=healthz" }, 2, "must start with /" },
		{ { "check=http", "check-path=/a b" }, 2, "spaces" },
		{ { "check=http", "check-path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		  2, "'check-path' too long: at most 127 bytes" },
		{ { "check=http", "check-path=/a\r\nX: y" }, 2, "control characters" },
		{ { "check=http", "check-host=" }, 2, "check-host" },
		{ { "check=http", "check-host=a\nb" }, 2, "check-host" },
		{ { "check=http", "check-status=20" }, 2, "100..599" },
		{ { "check=http", "check-status=600" }, 2, "100..599" },
		{ { "check=http", "check-status=200x" }, 2, "100..599" },
		{ { "check=tcp", "check-interval=2m" }, 2, "bad duration '2m'" },
		{ { "check=tcp", "check-interval=" }, 2, "bad duration" },
		{ { "check=tcp", "check-interval=-1s" }, 2, "bad duration" },
		{ { "check=tcp", "check-interval=50ms" }, 2, "out of range" },
		{ { "check=tcp", "check-interval=3601s" }, 2, "out of range" },
		{ { "check=tcp", "check-interval=99999999999999999999" }, 2, "out of range" },
		{ { "check=tcp", "check-timeout=5ms" }, 2, "out of range" },
		{ { "check=tcp", "rise=0" }, 2, "'rise' out of range: 0 (1..100)" },
		{ { "check=tcp", "fall=101" }, 2, "'fall' out of range" },
		{ { "check=tcp", "fall=three" }, 2, "bad number 'three' for 'fall'" },
		{ { "check=tcp", "rise=2 " }, 2, "bad number" },
		{ { "check=tcp", "check-source=localhost" }, 2, "numeric IPv4 or IPv6" },
		/* What only the whole backend shows: at the line finish is given. */
		{ { "check=tcp", "check-interval=1s", "check-timeout=2s" }, 100,
		  "check-timeout 2000ms must lie in 10ms..check-interval (1000ms)" },
		{ { "check-interval=500ms", "check-timeout=501ms" }, 100, "check-interval" },
		{ { "check=tcp", "check-path=/x" }, 100, "need check = http (it is tcp)" },
		{ { "check-status=503" }, 100, "need check = http (it is none)" },
	};
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg c;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_msg(apply(&c, cases[i].kv, &err) == -EINVAL, "case %u accepted", i);
		ck_assert_str_eq(err.file, "services.conf");
		ck_assert_msg(err.line == cases[i].line, "case %u: line %u, expected %u", i,
			      err.line, cases[i].line);
		ck_assert_msg(strstr(err.reason, cases[i].reason), "case %u: '%s' lacks '%s'", i,
			      err.reason, cases[i].reason);
	}
}
END_TEST

START_TEST(test_source_family)
{
	static const char *const kv[] = { "check=tcp", "check-source=10.0.0.1", NULL };
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg c;

	ck_assert_int_eq(apply(&c, kv, &err), 0);
	ck_assert_int_eq(c.src.ss_family, AF_INET);
	/* The engine fills the backend address in later; finish then compares the families. */
	c.addr.ss_family = AF_INET6;
	ck_assert_int_eq(gwlb_hccfg_finish(&c, "s", 9, &err), -EINVAL);
	ck_assert_str_eq(err.reason, "check-source is IPv4, the backend IPv6");
	ck_assert_uint_eq(err.line, 9);
}
END_TEST

START_TEST(test_type_str)
{
	ck_assert_str_eq(gwlb_hccfg_type_str(GWLB_HC_NONE), "none");
	ck_assert_str_eq(gwlb_hccfg_type_str(GWLB_HC_TCP), "tcp");
	ck_assert_str_eq(gwlb_hccfg_type_str(GWLB_HC_HTTP), "http");
	ck_assert_str_eq(gwlb_hccfg_type_str((enum gwlb_hc_type)7), "?");
}
END_TEST

static Suite *hccfg_suite(void)
{
	Suite *s = suite_create("hccfg");
	TCase *tc = tcase_create("keys");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_all_keys);
	tcase_add_test(tc, test_short_interval_timeout);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_source_family);
	tcase_add_test(tc, test_type_str);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hccfg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
