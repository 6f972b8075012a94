/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbd's command line: defaults, every flag, and the error text a user would read. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

#define MAXARGS 32

static struct gwlb_opts o;
static char err[256];

/* Parse a NULL-terminated list of arguments after "gwlbd" into the global o (defaults first). */
static int parse(const char *first, ...)
{
	char *argv[MAXARGS + 1];
	const char *a;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)"gwlbd";
	va_start(ap, first);
	for (a = first; a && argc < MAXARGS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	gwlb_opts_defaults(&o);
	memset(err, 0, sizeof(err));
	return gwlb_opts_parse(&o, argc, argv, err, sizeof(err));
}

static void assert_err_has(const char *needle)
{
	ck_assert_msg(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

/* Parse one option with a bad value; expect -EINVAL and an error naming the option. */
#define ASSERT_BAD(opt, val, needle)					\
	do {								\
		ck_assert_int_eq(parse(opt, val, NULL), -EINVAL);	\
		assert_err_has(needle);					\
	} while (0)

START_TEST(test_defaults)
{
	unsigned i;

	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_null(o.create_hook);
	ck_assert_uint_eq(o.route_table_base, 10000);
	ck_assert_uint_eq(o.rule_prio_base, 10000);
	ck_assert_str_eq(o.state_file, "/var/lib/gwlbnf/enis.state");
	ck_assert_ptr_null(o.destroy_hook);
	ck_assert_uint_eq(o.eni_idle_timeout, 0);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 350);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_UDP], 120);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_ICMP], 120);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_OTHER], 120);
	ck_assert_uint_eq(o.health_port, 0);
	ck_assert(!o.health_json);
	ck_assert(!o.health_simple);
	ck_assert(!o.receive_only);
	ck_assert_uint_eq(o.geneve_port, 6081);
	ck_assert_uint_eq(o.udp_threads, 0);
	ck_assert_uint_eq(o.tun_threads, 0);
	for (i = 0; i < sizeof(o.udp_affinity) / sizeof(o.udp_affinity[0]); i++) {
		ck_assert_uint_eq(o.udp_affinity[i], 0);
		ck_assert_uint_eq(o.tun_affinity[i], 0);
	}
	for (i = 0; i < GWLB_LS__MAX; i++)
		ck_assert_uint_eq(o.log_level[i], GWLB_LL_IMPORTANT);
	ck_assert_uint_eq(o.n_origins, 0);
	ck_assert_uint_eq(o.flow_max, 1048576);
	ck_assert_uint_eq(o.hold_max, 1024);
	ck_assert_uint_eq(o.max_eni, 1024);
	ck_assert_uint_eq(o.udp_rcvbuf, 8388608);
	ck_assert_uint_eq(o.hook_timeout, 30);
	ck_assert_uint_eq(o.mtu, 8500);
	ck_assert_ptr_null(o.health_addr);
	ck_assert(!o.help);
	ck_assert(!o.version);
}
END_TEST

START_TEST(test_gwlbtun_flags)
{
	ck_assert_int_eq(parse("-c", "/etc/gwlbd/create.sh", "-r", "/etc/gwlbd/destroy.sh",
			       "-t", "600", "-i", "1000", "-p", "8080", "-j", "-s",
			       "--udpthreads", "3", "--tunthreads", "5",
			       "--udpaffinity", "1-2", "--tunaffinity", "3,5", NULL), 0);
	ck_assert_str_eq(o.create_hook, "/etc/gwlbd/create.sh");
	ck_assert_str_eq(o.destroy_hook, "/etc/gwlbd/destroy.sh");
	ck_assert_uint_eq(o.eni_idle_timeout, 600);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 1000);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_UDP], 120);
	ck_assert_uint_eq(o.health_port, 8080);
	ck_assert(o.health_json);
	ck_assert(o.health_simple);
	ck_assert_uint_eq(o.udp_threads, 3);
	ck_assert_uint_eq(o.tun_threads, 5);
	ck_assert_uint_eq(o.udp_affinity[0], 0x6);
	ck_assert_uint_eq(o.udp_affinity[1], 0);
	ck_assert_uint_eq(o.tun_affinity[0], 0x28);

	ck_assert_int_eq(parse("-h", NULL), 0);
	ck_assert(o.help);
	ck_assert(!o.version);
	ck_assert_int_eq(parse("--version", NULL), 0);
	ck_assert(o.version);
	ck_assert_int_eq(parse("--help", NULL), 0);
	ck_assert(o.help);
	/* Clustered short flags, as getopt allows. */
	ck_assert_int_eq(parse("-jsp", "9000", NULL), 0);
	ck_assert(o.health_json && o.health_simple);
	ck_assert_uint_eq(o.health_port, 9000);
	/* gwlbtun's --udpthreads=N spelling works too. */
	ck_assert_int_eq(parse("--udpthreads=64", NULL), 0);
	ck_assert_uint_eq(o.udp_threads, 64);
}
END_TEST

START_TEST(test_gwlbd_flags)
{
	ck_assert_int_eq(parse("--geneve-port", "7000", "--timeout-udp", "30",
			       "--timeout-icmp", "10", "--timeout-other", "5", "--receive-only",
			       "--flow-max", "2048", "--hold-max", "0", "--max-eni", "65535",
			       "--rule-priority-base", "40000", "--route-table-base", "1000",
			       "--state-file", "",
			       "--udp-rcvbuf", "65536", "--hook-timeout", "3600", "--mtu", "1500",
			       "--health-address", "127.0.0.1", NULL), 0);
	ck_assert_uint_eq(o.geneve_port, 7000);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 350);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_UDP], 30);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_ICMP], 10);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_OTHER], 5);
	ck_assert(o.receive_only);
	ck_assert_uint_eq(o.flow_max, 2048);
	ck_assert_uint_eq(o.hold_max, 0);
	ck_assert_uint_eq(o.max_eni, 65535);
	ck_assert_uint_eq(o.rule_prio_base, 40000);
	ck_assert_uint_eq(o.route_table_base, 1000);
	ck_assert_str_eq(o.state_file, "");
	ck_assert_uint_eq(o.udp_rcvbuf, 65536);
	ck_assert_uint_eq(o.hook_timeout, 3600);
	ck_assert_uint_eq(o.mtu, 1500);
	ck_assert_str_eq(o.health_addr, "127.0.0.1");

	ck_assert_int_eq(parse("--health-address", "::1", "--mtu=9001", "--flow-max=67108864",
			       NULL), 0);
	ck_assert_str_eq(o.health_addr, "::1");
	ck_assert_uint_eq(o.mtu, 9001);
	ck_assert_uint_eq(o.flow_max, 67108864);
}
END_TEST

START_TEST(test_tcp_timeout_aliases)
{
	ck_assert_int_eq(parse("--timeout-tcp", "60", NULL), 0);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 60);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_UDP], 120);
	/* The later of -i and --timeout-tcp wins. */
	ck_assert_int_eq(parse("-i", "100", "--timeout-tcp", "200", NULL), 0);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 200);
	ck_assert_int_eq(parse("--timeout-tcp", "200", "-i", "100", NULL), 0);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 100);
	ck_assert_int_eq(parse("-i", "86400", NULL), 0);
	ck_assert_uint_eq(o.flow_timeout[GWLB_FLOW_TCP], 86400);
}
END_TEST

START_TEST(test_number_errors)
{
	ASSERT_BAD("--udpthreads", "0", "--udpthreads");
	assert_err_has("1..64");
	ASSERT_BAD("--udpthreads", "65", "'--udpthreads': 65 is out of range (1..64)");
	ASSERT_BAD("--udpthreads", "abc", "'--udpthreads': 'abc' is not a number");
	ASSERT_BAD("--udpthreads", "", "--udpthreads");
	ASSERT_BAD("--udpthreads", "4x", "--udpthreads");
	ASSERT_BAD("--udpthreads", "-1", "--udpthreads");
	ASSERT_BAD("--udpthreads", "+4", "--udpthreads");
	ASSERT_BAD("--udpthreads", " 4", "--udpthreads");
	ASSERT_BAD("--udpthreads", "0x4", "--udpthreads");
	ASSERT_BAD("--udpthreads", "99999999999999999999999", "out of range");
	ASSERT_BAD("--tunthreads", "100", "--tunthreads");
	ASSERT_BAD("-i", "0", "'-i'");
	assert_err_has("1..86400");
	ASSERT_BAD("-i", "86401", "'-i'");
	ASSERT_BAD("--timeout-tcp", "0", "--timeout-tcp");
	ASSERT_BAD("--timeout-udp", "86401", "--timeout-udp");
	ASSERT_BAD("--timeout-icmp", "x", "--timeout-icmp");
	ASSERT_BAD("--timeout-other", "-5", "--timeout-other");
	ASSERT_BAD("-p", "65536", "'-p'");
	ASSERT_BAD("-p", "http", "'-p'");
	ASSERT_BAD("-t", "31536001", "'-t'");
	ASSERT_BAD("--geneve-port", "0", "--geneve-port");
	ASSERT_BAD("--flow-max", "1023", "(1024..67108864)");
	ASSERT_BAD("--flow-max", "67108865", "--flow-max");
	ASSERT_BAD("--hold-max", "65537", "--hold-max");
	ASSERT_BAD("--max-eni", "0", "--max-eni");
	ASSERT_BAD("--max-eni", "65536", "--max-eni");
	ASSERT_BAD("--route-table-base", "-1", "--route-table-base");
	ASSERT_BAD("--route-table-base", "4294967295", "--route-table-base");
	ASSERT_BAD("--rule-priority-base", "x", "--rule-priority-base");
	/* Together with the default --max-eni 1024: the ranges the bases open must fit. */
	ASSERT_BAD("--rule-priority-base", "32000", "32766");
	ASSERT_BAD("--route-table-base", "200", "253-255");
	ASSERT_BAD("--max-eni", "30000", "--rule-priority-base");
	ck_assert_int_eq(parse("--max-eni", "30000", "--rule-priority-base", "40000", NULL), 0);
	ASSERT_BAD("--udp-rcvbuf", "4096", "--udp-rcvbuf");
	ASSERT_BAD("--udp-rcvbuf", "4294967296", "--udp-rcvbuf");
	ASSERT_BAD("--hook-timeout", "0", "--hook-timeout");
	ASSERT_BAD("--mtu", "575", "(576..9001)");
	ASSERT_BAD("--mtu", "9002", "--mtu");

	/* An error leaves the earlier, good options parsed but reports the bad one. */
	ck_assert_int_eq(parse("--mtu", "1500", "--udpthreads", "65", NULL), -EINVAL);
	assert_err_has("--udpthreads");
	ck_assert_msg(!strstr(err, "--mtu"), "error '%s' names the wrong option", err);
}
END_TEST

START_TEST(test_string_errors)
{
	ASSERT_BAD("-c", "", "'-c'");
	ASSERT_BAD("-r", "", "'-r'");
	ASSERT_BAD("--health-address", "localhost", "--health-address");
	ASSERT_BAD("--health-address", "10.0.0.1/8", "--health-address");
	ASSERT_BAD("--health-address", "", "--health-address");
}
END_TEST

START_TEST(test_unknown_option)
{
	ck_assert_int_eq(parse("--x", NULL), -EINVAL);
	ck_assert_str_eq(err, "unknown option '--x'; see gwlbd --help");
	ck_assert_int_eq(parse("--bogus=3", NULL), -EINVAL);
	ck_assert_str_eq(err, "unknown option '--bogus'; see gwlbd --help");
	ck_assert_int_eq(parse("-q", NULL), -EINVAL);
	ck_assert_str_eq(err, "unknown option '-q'; see gwlbd --help");
	/* An unknown letter inside a cluster is named, not the option before it. */
	ck_assert_int_eq(parse("--receive-only", "-qj", NULL), -EINVAL);
	ck_assert_str_eq(err, "unknown option '-q'; see gwlbd --help");
	/* gwlbtun's -x (hex dumps) is not supported. */
	ck_assert_int_eq(parse("-x", NULL), -EINVAL);
	assert_err_has("'-x'");

	ck_assert_int_eq(parse("--receive-only=yes", NULL), -EINVAL);
	ck_assert_str_eq(err, "option '--receive-only' takes no argument; see gwlbd --help");
	ck_assert_int_eq(parse("-p", NULL), -EINVAL);
	ck_assert_str_eq(err, "option '-p' needs an argument; see gwlbd --help");
	ck_assert_int_eq(parse("--udpthreads", NULL), -EINVAL);
	ck_assert_str_eq(err, "option '--udpthreads' needs an argument; see gwlbd --help");

	ck_assert_int_eq(parse("-j", "extra", NULL), -EINVAL);
	assert_err_has("unexpected argument 'extra'");
	ck_assert_int_eq(parse("extra", "-j", NULL), -EINVAL);
	assert_err_has("'extra'");
}
END_TEST

START_TEST(test_allowed_origin)
{
	char buf[64];

	ck_assert_int_eq(parse("--allowed-origin", "10.0.0.0/8", NULL), 0);
	ck_assert_uint_eq(o.n_origins, 1);
	ck_assert_uint_eq(o.origins[0].family, 4);
	ck_assert_uint_eq(o.origins[0].plen, 8);
	ck_assert_uint_eq(o.origins[0].addr[0], 10);

	ck_assert_int_eq(parse("--allowed-origin", "10.0.0.0/8,192.168.1.7",
			       "--allowed-origin", "2001:db8::/32", NULL), 0);
	ck_assert_uint_eq(o.n_origins, 3);
	ck_assert_str_eq(gwlb_cidr_str(&o.origins[0], buf, sizeof(buf)), "10.0.0.0/8");
	ck_assert_str_eq(gwlb_cidr_str(&o.origins[1], buf, sizeof(buf)), "192.168.1.7/32");
	ck_assert_str_eq(gwlb_cidr_str(&o.origins[2], buf, sizeof(buf)), "2001:db8::/32");
	ck_assert_uint_eq(o.origins[2].family, 6);

	ck_assert_int_eq(parse("--allowed-origin", "10.0.0.0/8,10.1.2.300/32,1.2.3.4", NULL),
			 -EINVAL);
	assert_err_has("--allowed-origin");
	assert_err_has("'10.1.2.300/32'");
	ck_assert_int_eq(parse("--allowed-origin", "10.0.0.0/33", NULL), -EINVAL);
	assert_err_has("'10.0.0.0/33'");
	ck_assert_int_eq(parse("--allowed-origin", "", NULL), -EINVAL);
	assert_err_has("--allowed-origin");
}
END_TEST

START_TEST(test_allowed_origin_limit)
{
	char list[GWLB_MAX_ORIGINS * 16] = "";
	char item[16];
	unsigned i;

	for (i = 0; i < GWLB_MAX_ORIGINS; i++) {
		snprintf(item, sizeof(item), "%s10.%u.0.0/16", i ? "," : "", i);
		strcat(list, item);
	}
	ck_assert_int_eq(parse("--allowed-origin", list, NULL), 0);
	ck_assert_uint_eq(o.n_origins, GWLB_MAX_ORIGINS);
	ck_assert_uint_eq(o.origins[GWLB_MAX_ORIGINS - 1].addr[1], GWLB_MAX_ORIGINS - 1);
	ck_assert_int_eq(parse("--allowed-origin", list, "--allowed-origin", "1.2.3.4", NULL),
			 -EINVAL);
	assert_err_has("too many");
}
END_TEST

START_TEST(test_logging)
{
	ck_assert_int_eq(parse("--logging", "udp=debug,geneve=critical", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_IMPORTANT);
	ck_assert_uint_eq(o.log_level[GWLB_LS_UDP], GWLB_LL_DEBUG);
	ck_assert_uint_eq(o.log_level[GWLB_LS_GENEVE], GWLB_LL_CRITICAL);
	ck_assert_uint_eq(o.log_level[GWLB_LS_HOOK], GWLB_LL_IMPORTANT);

	/* Later items override earlier ones, "all" included; names are case insensitive. */
	ck_assert_int_eq(parse("--logging", "all=info,Tunnel=DebugDetail", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_INFO);
	ck_assert_uint_eq(o.log_level[GWLB_LS_HEALTHCHECK], GWLB_LL_INFO);
	ck_assert_uint_eq(o.log_level[GWLB_LS_TUNNEL], GWLB_LL_DEBUGDETAIL);
	ck_assert_int_eq(parse("--logging", "hook=debug,all=critical", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_HOOK], GWLB_LL_CRITICAL);
	ck_assert_uint_eq(o.log_level[GWLB_LS_UDP], GWLB_LL_CRITICAL);

	/* -d is all=debug, in command line order with --logging. */
	ck_assert_int_eq(parse("-d", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_DEBUG);
	ck_assert_uint_eq(o.log_level[GWLB_LS_HOOK], GWLB_LL_DEBUG);
	ck_assert_int_eq(parse("-d", "--logging", "core=info", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_INFO);
	ck_assert_uint_eq(o.log_level[GWLB_LS_UDP], GWLB_LL_DEBUG);
	ck_assert_int_eq(parse("--logging", "core=info", "-d", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_DEBUG);
	/* Two --logging options add up. */
	ck_assert_int_eq(parse("--logging", "udp=info", "--logging=hook=debug", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_UDP], GWLB_LL_INFO);
	ck_assert_uint_eq(o.log_level[GWLB_LS_HOOK], GWLB_LL_DEBUG);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_IMPORTANT);
	/* A trailing comma is fine, as in gwlbtun. */
	ck_assert_int_eq(parse("--logging", "udp=info,", NULL), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_UDP], GWLB_LL_INFO);
}
END_TEST

START_TEST(test_logging_errors)
{
	ck_assert_int_eq(parse("--logging", "foo=debug", NULL), -EINVAL);
	assert_err_has("--logging");
	assert_err_has("unknown section 'foo'");
	ck_assert_int_eq(parse("--logging", "udp=loud", NULL), -EINVAL);
	assert_err_has("unknown level 'loud'");
	ck_assert_int_eq(parse("--logging", "udp", NULL), -EINVAL);
	assert_err_has("'udp' is not section=level");
	ck_assert_int_eq(parse("--logging", "udp=", NULL), -EINVAL);
	assert_err_has("unknown level ''");
	ck_assert_int_eq(parse("--logging", "=debug", NULL), -EINVAL);
	assert_err_has("unknown section ''");
	ck_assert_int_eq(parse("--logging", "udpx=debug", NULL), -EINVAL);
	ck_assert_int_eq(parse("--logging", "udp=debugdetails", NULL), -EINVAL);

	/* A spec with a bad item changes nothing, even its good items before it. */
	gwlb_opts_defaults(&o);
	ck_assert_int_eq(gwlb_opts_logging(&o, "core=debug,udp=nope", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_IMPORTANT);
	ck_assert_int_eq(gwlb_opts_logging(&o, "core=debug", err, sizeof(err)), 0);
	ck_assert_uint_eq(o.log_level[GWLB_LS_CORE], GWLB_LL_DEBUG);
	/* No error buffer is fine too. */
	ck_assert_int_eq(gwlb_opts_logging(&o, "core=x", NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(gwlb_log_section_name(GWLB_LS_CORE), "core");
	ck_assert_str_eq(gwlb_log_section_name(GWLB_LS_HEALTHCHECK), "healthcheck");
	ck_assert_str_eq(gwlb_log_section_name(GWLB_LS_HOOK), "hook");
	ck_assert_str_eq(gwlb_log_section_name(GWLB_LS__MAX), "unknown");
	ck_assert_str_eq(gwlb_log_level_name(GWLB_LL_CRITICAL), "critical");
	ck_assert_str_eq(gwlb_log_level_name(GWLB_LL_DEBUGDETAIL), "debugdetail");
	ck_assert_str_eq(gwlb_log_level_name((enum gwlb_log_level)99), "unknown");
}
END_TEST

START_TEST(test_cpulist)
{
	uint64_t m[2];

	ck_assert_int_eq(gwlb_opts_cpulist("1-4,7,9", m, 1), 0);
	ck_assert_uint_eq(m[0], 0x29e);
	ck_assert_int_eq(gwlb_opts_cpulist("0", m, 1), 0);
	ck_assert_uint_eq(m[0], 1);
	ck_assert_int_eq(gwlb_opts_cpulist("63", m, 1), 0);
	ck_assert_uint_eq(m[0], 1ULL << 63);
	ck_assert_int_eq(gwlb_opts_cpulist("0-63", m, 1), 0);
	ck_assert_uint_eq(m[0], ~0ULL);
	ck_assert_int_eq(gwlb_opts_cpulist("3-3,3", m, 1), 0);
	ck_assert_uint_eq(m[0], 8);
	ck_assert_int_eq(gwlb_opts_cpulist("62-65,127", m, 2), 0);
	ck_assert_uint_eq(m[0], 3ULL << 62);
	ck_assert_uint_eq(m[1], 3 | (1ULL << 63));
}
END_TEST

START_TEST(test_cpulist_errors)
{
	static const char *const bad[] = {
		"", "4-1", "x", "1,,2", ",1", "1,", "1-", "-1", "1-2-3", "64", "0-64",
		"1 ,2", " 1", "1.5", "+1", "99999999999999999999999",
	};
	uint64_t m;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = 0x55;
		ck_assert_msg(gwlb_opts_cpulist(bad[i], &m, 1) == -EINVAL, "'%s' accepted", bad[i]);
		ck_assert_msg(m == 0, "'%s' left bits %#llx", bad[i], (unsigned long long)m);
	}
}
END_TEST

START_TEST(test_affinity_errors)
{
	ASSERT_BAD("--udpaffinity", "4-1", "--udpaffinity");
	assert_err_has("'4-1'");
	ASSERT_BAD("--tunaffinity", "1,,2", "--tunaffinity");
	ASSERT_BAD("--udpaffinity", "128", "--udpaffinity");
	/* More CPUs than workers can exist. */
	ASSERT_BAD("--udpaffinity", "0-64", "at most 64");
	ck_assert_int_eq(parse("--udpaffinity", "64-127", NULL), 0);
	ck_assert_uint_eq(o.udp_affinity[0], 0);
	ck_assert_uint_eq(o.udp_affinity[1], ~0ULL);
}
END_TEST

START_TEST(test_ctl_socket)
{
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(o.ctl_socket, "/run/gwlbnf/gwlbd.sock");
	ck_assert_ptr_null(o.ctl_group);
	ck_assert_int_eq(parse("--ctl-socket", "/tmp/x/ctl.sock", "--ctl-group", "adm", NULL), 0);
	ck_assert_str_eq(o.ctl_socket, "/tmp/x/ctl.sock");
	ck_assert_str_eq(o.ctl_group, "adm");
	ck_assert_int_eq(parse("--ctl-socket", "", NULL), 0);
	ck_assert_str_eq(o.ctl_socket, "");
	ASSERT_BAD("--ctl-socket", "ctl.sock", "not an absolute path");
	ASSERT_BAD("--ctl-socket", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "--ctl-socket");
}
END_TEST

START_TEST(test_parse_twice)
{
	char *a1[] = { (char *)"gwlbd", (char *)"-p", (char *)"80", (char *)"-j", NULL };
	char *a2[] = { (char *)"gwlbd", (char *)"--bogus", NULL };
	char *a3[] = { (char *)"gwlbd", (char *)"-p", (char *)"81", (char *)"--mtu", (char *)"1500",
		       NULL };
	struct gwlb_opts o2;

	gwlb_opts_defaults(&o);
	ck_assert_int_eq(gwlb_opts_parse(&o, 4, a1, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.health_port, 80);
	ck_assert(o.health_json);

	gwlb_opts_defaults(&o2);
	ck_assert_int_eq(gwlb_opts_parse(&o2, 2, a2, err, sizeof(err)), -EINVAL);
	assert_err_has("--bogus");

	/* A third parse after an error mid-way still sees every argument. */
	gwlb_opts_defaults(&o2);
	ck_assert_int_eq(gwlb_opts_parse(&o2, 5, a3, err, sizeof(err)), 0);
	ck_assert_uint_eq(o2.health_port, 81);
	ck_assert_uint_eq(o2.mtu, 1500);
	ck_assert(!o2.health_json);
	ck_assert_str_eq(err, "");
}
END_TEST

/* The policy host process's option: parsed, but internal, so not in --help. */
START_TEST(test_policy_child)
{
	ck_assert_int_eq(parse("--policy-child", "/etc/gwlbnf/policy.conf", "--logging",
			       "policy=debug", NULL), 0);
	ck_assert_str_eq(o.policy_child, "/etc/gwlbnf/policy.conf");
	ck_assert_ptr_null(o.policy_file);
	ck_assert_int_eq(o.log_level[GWLB_LS_POLICY], GWLB_LL_DEBUG);
	ck_assert_int_eq(parse("--policy", "p.conf", NULL), 0);
	ck_assert_ptr_null(o.policy_child);
	ck_assert_ptr_null(strstr(gwlb_opts_usage, "--policy-child"));
}
END_TEST

START_TEST(test_modes)
{
	unsigned i;

	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_int_eq(o.mode, GWLB_MODE_HOOK);
	ck_assert_uint_eq(o.n_eni_modes, 0);
	ck_assert_int_eq(gwlb_opts_eni_mode(&o, 0x76bc493b822cd32fULL), GWLB_MODE_HOOK);

	ck_assert_int_eq(parse("--mode", "NAT", "--eni-mode", "eni-076bc493b822cd32f=local",
			       "--eni-mode", "gwi-e8WXgsTQDkf=passthrough",
			       "--eni-mode", "0x5a1b2c3d4e5f6071=route", "--eni-mode", "1234=hook",
			       NULL), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(o.mode, GWLB_MODE_NAT);
	ck_assert_uint_eq(o.n_eni_modes, 4);
	/* the same ENI twice (by id, then by its gwi name): the later one wins */
	ck_assert_int_eq(gwlb_opts_eni_mode(&o, 0x76bc493b822cd32fULL), GWLB_MODE_PASSTHROUGH);
	ck_assert_int_eq(gwlb_opts_eni_mode(&o, 0x5a1b2c3d4e5f6071ULL), GWLB_MODE_ROUTE);
	ck_assert_int_eq(gwlb_opts_eni_mode(&o, 0x1234), GWLB_MODE_HOOK);
	ck_assert_int_eq(gwlb_opts_eni_mode(&o, 0x99), GWLB_MODE_NAT);

	for (i = 0; i < GWLB_MODE__MAX; i++)
		ck_assert_int_eq(gwlb_mode_parse(gwlb_mode_name(i)), (int)i);
	ck_assert_str_eq(gwlb_mode_name(GWLB_MODE__MAX), "unknown");
	ck_assert_int_eq(gwlb_mode_parse(NULL), -EINVAL);
	ck_assert_int_eq(gwlb_mode_parse(""), -EINVAL);
	ck_assert_int_eq(gwlb_mode_parse("rout"), -EINVAL);
}
END_TEST

START_TEST(test_mode_errors)
{
	unsigned i;

	ASSERT_BAD("--mode", "bridge", "option '--mode': 'bridge' is not passthrough, route");
	ASSERT_BAD("--mode", "", "option '--mode': '' is not");
	ASSERT_BAD("--eni-mode", "nat", "option '--eni-mode': 'nat' is not ENI=MODE");
	ASSERT_BAD("--eni-mode", "=nat", "option '--eni-mode': '=nat' is not ENI=MODE");
	ASSERT_BAD("--eni-mode", "eni-xyz=nat", "option '--eni-mode': 'eni-xyz' is not an ENI id");
	ASSERT_BAD("--eni-mode", "eni-1=", "option '--eni-mode': '' is not passthrough");
	ASSERT_BAD("--eni-mode", "eni-1=bridge", "option '--eni-mode': 'bridge' is not");
	ck_assert_int_eq(parse("--mode", NULL), -EINVAL);
	assert_err_has("'--mode' needs an argument");

	/* one more than the limit, in one argv (the parse helper takes 32 arguments) */
	{
		static char buf[GWLB_MAX_ENI_MODES + 1][32];
		char *argv[2 * (GWLB_MAX_ENI_MODES + 1) + 2];
		int argc = 0;

		argv[argc++] = (char *)"gwlbd";
		for (i = 0; i <= GWLB_MAX_ENI_MODES; i++) {
			snprintf(buf[i], sizeof(buf[i]), "eni-%x=route", i + 1);
			argv[argc++] = (char *)"--eni-mode";
			argv[argc++] = buf[i];
		}
		argv[argc] = NULL;
		gwlb_opts_defaults(&o);
		ck_assert_int_eq(gwlb_opts_parse(&o, argc - 2, argv, err, sizeof(err)), 0);
		ck_assert_uint_eq(o.n_eni_modes, GWLB_MAX_ENI_MODES);
		gwlb_opts_defaults(&o);
		ck_assert_int_eq(gwlb_opts_parse(&o, argc, argv, err, sizeof(err)), -EINVAL);
		assert_err_has("option '--eni-mode': more than 256 given");
	}
}
END_TEST

START_TEST(test_uplinks)
{
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_uint_eq(o.n_uplinks, 0);

	/* repeatable and comma lists; a name given twice is kept once */
	ck_assert_int_eq(parse("--uplink", "up0", "--uplink", "eth1,ens*,up0",
			       "--uplink", "abcdefghijklmno", NULL), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(o.n_uplinks, 4);
	ck_assert_str_eq(o.uplinks[0], "up0");
	ck_assert_str_eq(o.uplinks[1], "eth1");
	ck_assert_str_eq(o.uplinks[2], "ens*");
	ck_assert_str_eq(o.uplinks[3], "abcdefghijklmno");

	/* a second parse starts from the defaults */
	ck_assert_int_eq(parse("--uplink", "up1", NULL), 0);
	ck_assert_uint_eq(o.n_uplinks, 1);
	ck_assert_str_eq(o.uplinks[0], "up1");

	ck_assert_int_eq(parse("--uplink", "a,b,c,d,e,f,g,h", "--uplink", "a", NULL), 0);
	ck_assert_uint_eq(o.n_uplinks, GWLB_MAX_UPLINKS);
}
END_TEST

START_TEST(test_uplink_errors)
{
	ASSERT_BAD("--uplink", "", "option '--uplink': '' is not an interface name (1 to 15");
	ASSERT_BAD("--uplink", "up0,", "option '--uplink': '' is not an interface name");
	ASSERT_BAD("--uplink", ",up0", "option '--uplink': '' is not an interface name");
	ASSERT_BAD("--uplink", "abcdefghijklmnop", "'abcdefghijklmnop' is not an interface name (1 to 15");
	ASSERT_BAD("--uplink", "up0,a/b", "option '--uplink': 'a/b' is not an interface name (no '/'");
	ASSERT_BAD("--uplink", "up 0", "'up 0' is not an interface name (no '/' or spaces");
	ASSERT_BAD("--uplink", "e*th", "'e*th' is not an interface name (no '/' or spaces, '*' only at the end)");
	ASSERT_BAD("--uplink", "*", "'*' is not an interface name ('*' alone is every interface");
	ck_assert_int_eq(parse("--uplink", "a,b,c,d,e,f,g,h,i", NULL), -EINVAL);
	assert_err_has("option '--uplink': more than 8 interfaces");
	ck_assert_int_eq(parse("--uplink", NULL), -EINVAL);
	assert_err_has("'--uplink' needs an argument");
}
END_TEST

START_TEST(test_usage)
{
	static const char *const flags[] = {
		"-c FILE", "-r FILE", "-t TIME", "-i TIME", "-p PORT", "-j ", "-s ", "-d ",
		"--udpthreads", "--tunthreads", "--udpaffinity", "--tunaffinity", "--logging",
		"--allowed-origin", "--geneve-port", "--timeout-tcp", "--timeout-udp",
		"--timeout-icmp", "--timeout-other", "--receive-only", "--flow-max", "--hold-max",
		"--max-eni", "--route-table-base", "--rule-priority-base", "--state-file",
		"--udp-rcvbuf", "--hook-timeout", "--mtu", "--health-address", "--uplink",
		"/metrics", "CREATE", "DESTROY",
	};
	const char *line, *next;
	unsigned i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		ck_assert_msg(strstr(gwlb_opts_usage, flags[i]), "usage lacks '%s'", flags[i]);
	/* gwlbtun's flags come before gwlbd's own. */
	ck_assert(strstr(gwlb_opts_usage, "--tunaffinity") <
		  strstr(gwlb_opts_usage, "--allowed-origin"));
	/* Fits an 80-column terminal. */
	for (line = gwlb_opts_usage; *line; line = next + 1) {
		next = strchr(line, '\n');
		ck_assert_ptr_nonnull(next);
		ck_assert_msg(next - line <= 80, "usage line too long: %.*s", (int)(next - line), line);
	}
}
END_TEST

static Suite *opts_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_gwlbtun_flags);
	tcase_add_test(tc, test_gwlbd_flags);
	tcase_add_test(tc, test_tcp_timeout_aliases);
	tcase_add_test(tc, test_number_errors);
	tcase_add_test(tc, test_string_errors);
	tcase_add_test(tc, test_unknown_option);
	tcase_add_test(tc, test_allowed_origin);
	tcase_add_test(tc, test_allowed_origin_limit);
	tcase_add_test(tc, test_logging);
	tcase_add_test(tc, test_logging_errors);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_cpulist);
	tcase_add_test(tc, test_cpulist_errors);
	tcase_add_test(tc, test_affinity_errors);
	tcase_add_test(tc, test_ctl_socket);
	tcase_add_test(tc, test_parse_twice);
	tcase_add_test(tc, test_policy_child);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_mode_errors);
	tcase_add_test(tc, test_uplinks);
	tcase_add_test(tc, test_uplink_errors);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(opts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
