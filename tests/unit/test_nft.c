/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's nft table. The pure tests build the queue rule and parse the netlink message
 * back; the kernel tests (root only) each run in a private network namespace of their own
 * (CK_FORK: every test is a child process) and compare with what the nft tool lists.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "nft.h"

/* ---- pure: the queue rule as netlink ---- */

struct expr_list {
	const char *name[8];
	struct nftnl_expr *e[8];
	int n;
};

static void assert_has_str(const char *hay, const char *needle)
{
	ck_assert_msg(strstr(hay, needle), "missing \"%s\" in: %s", needle, hay);
}

static int collect(struct nftnl_expr *e, void *data)
{
	struct expr_list *l = data;

	if (l->n < 8) {
		l->name[l->n] = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
		l->e[l->n] = e;
	}
	l->n++;
	return 0;
}

/* Build the rule, serialize it as NEWRULE, parse the message into a fresh rule. */
static struct nftnl_rule *roundtrip(const struct gwlb_nft_cfg *cfg, bool native)
{
	static char buf[8192];
	struct nftnl_rule *r = nftnl_rule_alloc(), *back = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(gwlb_nft_queue_rule_build(r, cfg, native), 0);
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
				    NLM_F_CREATE | NLM_F_APPEND, 1);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ck_assert_int_eq(nftnl_rule_nlmsg_parse(nlh, back), 0);
	ck_assert_str_eq(nftnl_rule_get_str(back, NFTNL_RULE_TABLE), "gwlbnf");
	ck_assert_str_eq(nftnl_rule_get_str(back, NFTNL_RULE_CHAIN), "policy_pre");
	ck_assert_uint_eq(nftnl_rule_get_u32(back, NFTNL_RULE_FAMILY), NFPROTO_INET);
	/* iptables-nft sends no compat protocol for NFQUEUE; nor do we */
	ck_assert(!nftnl_rule_is_set(back, NFTNL_RULE_COMPAT_PROTO));
	ck_assert(!nftnl_rule_is_set(back, NFTNL_RULE_COMPAT_FLAGS));
	return back;
}

static void check_native(uint16_t first, uint16_t count, bool bypass, bool fanout)
{
	struct gwlb_nft_cfg cfg;
	struct expr_list l = { 0 };
	struct nftnl_rule *r;
	uint16_t flags = (bypass ? NFT_QUEUE_FLAG_BYPASS : 0) |
			 (fanout ? NFT_QUEUE_FLAG_CPU_FANOUT : 0);
	char txt[512], want[64];

	gwlb_nft_cfg_init(&cfg);
	cfg.queue_first = first;
	cfg.queue_count = count;
	cfg.fail_open = bypass;
	cfg.fanout = fanout;
	r = roundtrip(&cfg, true);
	nftnl_expr_foreach(r, collect, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.name[0], "counter");
	ck_assert_str_eq(l.name[1], "queue");
	ck_assert_uint_eq(nftnl_expr_get_u16(l.e[1], NFTNL_EXPR_QUEUE_NUM), first);
	ck_assert_uint_eq(nftnl_expr_get_u16(l.e[1], NFTNL_EXPR_QUEUE_TOTAL), count);
	if (flags)
		ck_assert_uint_eq(nftnl_expr_get_u16(l.e[1], NFTNL_EXPR_QUEUE_FLAGS), flags);
	else
		ck_assert(!nftnl_expr_is_set(l.e[1], NFTNL_EXPR_QUEUE_FLAGS));
	ck_assert(!nftnl_expr_is_set(l.e[1], NFTNL_EXPR_QUEUE_SREG_QNUM));

	/* and as libnftnl (nft --debug=netlink) prints it */
	nftnl_rule_snprintf(txt, sizeof(txt), r, NFTNL_OUTPUT_DEFAULT, 0);
	if (count > 1)
		snprintf(want, sizeof(want), "[ queue num %u-%u", first, first + count - 1);
	else
		snprintf(want, sizeof(want), "[ queue num %u", first);
	ck_assert_msg(strstr(txt, want), "%s not in %s", want, txt);
	ck_assert_int_eq(!!strstr(txt, "bypass"), bypass);
	ck_assert_int_eq(!!strstr(txt, "fanout"), fanout);
	nftnl_rule_free(r);
}

static void check_compat(uint16_t first, uint16_t count, bool bypass, bool fanout)
{
	struct gwlb_nft_cfg cfg;
	struct expr_list l = { 0 };
	struct xt_NFQ_info_v3 want = {
		.queuenum = first,
		.queues_total = count,
		.flags = (bypass ? NFQ_FLAG_BYPASS : 0) | (fanout ? NFQ_FLAG_CPU_FANOUT : 0),
	};
	uint8_t wantbytes[XT_ALIGN(sizeof(struct xt_NFQ_info_v3))] = { 0 };
	struct nftnl_rule *r;
	const void *info;
	uint32_t len = 0;
	char txt[512];

	gwlb_nft_cfg_init(&cfg);
	cfg.queue_first = first;
	cfg.queue_count = count;
	cfg.fail_open = bypass;
	cfg.fanout = fanout;
	r = roundtrip(&cfg, false);
	nftnl_expr_foreach(r, collect, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.name[0], "counter");
	ck_assert_str_eq(l.name[1], "target");
	ck_assert_str_eq(nftnl_expr_get_str(l.e[1], NFTNL_EXPR_TG_NAME), "NFQUEUE");
	ck_assert_uint_eq(nftnl_expr_get_u32(l.e[1], NFTNL_EXPR_TG_REV), 3);
	info = nftnl_expr_get(l.e[1], NFTNL_EXPR_TG_INFO, &len);
	ck_assert_ptr_nonnull(info);
	/* the kernel insists on the XT_ALIGNed size: 8 bytes, padding zero */
	ck_assert_uint_eq(len, 8);
	memcpy(wantbytes, &want, sizeof(want));
	ck_assert_mem_eq(info, wantbytes, sizeof(wantbytes));

	nftnl_rule_snprintf(txt, sizeof(txt), r, NFTNL_OUTPUT_DEFAULT, 0);
	ck_assert_msg(strstr(txt, "[ target name NFQUEUE rev 3 ]"), "%s", txt);
	nftnl_rule_free(r);
}

START_TEST(native_one_queue_bypass)
{
	check_native(0, 1, true, false);
}
END_TEST

START_TEST(native_one_queue_closed)
{
	check_native(7, 1, false, false);
}
END_TEST

START_TEST(native_four_queues)
{
	check_native(10, 4, true, false);
	check_native(0, 4, false, false);
}
END_TEST

START_TEST(native_fanout)
{
	check_native(2, 4, true, true);
	check_native(2, 4, false, true);
}
END_TEST

START_TEST(compat_one_queue)
{
	check_compat(0, 1, true, false);
	check_compat(300, 1, false, false);
}
END_TEST

START_TEST(compat_four_queues)
{
	check_compat(8, 4, true, false);
	check_compat(8, 4, false, false);
}
END_TEST

START_TEST(compat_fanout)
{
	check_compat(0, 4, true, true);
	check_compat(65532, 4, false, true);
}
END_TEST

START_TEST(cfg_checks)
{
	struct gwlb_nft_cfg cfg, bad;
	struct nftnl_rule *r;
	char err[128];

	gwlb_nft_cfg_init(&cfg);
	ck_assert_int_eq(gwlb_nft_cfg_check(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.decision_mask, 0x30000);
	ck_assert_uint_eq(gwlb_nft_decision_mark(&cfg, GWLB_NFT_ACCEPTED), 0x10000);
	ck_assert_uint_eq(gwlb_nft_decision_mark(&cfg, GWLB_NFT_DROPPED), 0x20000);
	ck_assert_uint_eq(cfg.newflow_bit, 0x40000);

#define BAD(field, value)						\
	do {								\
		bad = cfg;						\
		bad.field = value;					\
		err[0] = 0;						\
		ck_assert_int_eq(gwlb_nft_cfg_check(&bad, err, sizeof(err)), -EINVAL); \
		ck_assert_msg(err[0], #field);				\
		r = nftnl_rule_alloc();					\
		ck_assert_int_eq(gwlb_nft_queue_rule_build(r, &bad, true), -EINVAL); \
		nftnl_rule_free(r);					\
	} while (0)
	BAD(queue_count, 0);
	bad = cfg;
	bad.queue_first = 65535;
	bad.queue_count = 2;
	ck_assert_int_eq(gwlb_nft_cfg_check(&bad, NULL, 0), -EINVAL);
	BAD(decision_mask, 0x10000);
	BAD(decision_shift, 17);
	BAD(newflow_bit, 0x20000);
	BAD(newflow_bit, 0xc0000);
	BAD(newflow_bit, 0);
	BAD(prio_post, -10);
	BAD(iif_match, "*");
	BAD(iif_match, "g*i-");
	BAD(iif_match, "");
	BAD(iif_match, NULL);
	BAD(iif_match, "a-name-that-is-too-long");
#undef BAD
	bad = cfg;
	bad.iif_match = "lo";
	ck_assert_int_eq(gwlb_nft_cfg_check(&bad, NULL, 0), 0);
	bad.iif_match = "eth*";
	bad.decision_shift = 20;
	bad.decision_mask = 0x300000;
	bad.newflow_bit = 0x10000;
	ck_assert_int_eq(gwlb_nft_cfg_check(&bad, NULL, 0), 0);
	ck_assert_uint_eq(gwlb_nft_decision_mark(&bad, GWLB_NFT_DROPPED), 0x200000);
}
END_TEST

START_TEST(set_batch_checks)
{
	struct gwlb_nft_set_batch *b = gwlb_nft_set_batch_new();
	uint8_t key[65] = { 0 };
	char longname[300];
	size_t failed = 99;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "s", 0, key, 0, 0, true), -EINVAL);
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "s", 0, key, 65, 0, true), -EINVAL);
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "", 0, key, 4, 0, true), -EINVAL);
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, NULL, 0, key, 4, 0, true), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, longname, 0, key, 4, 0, true), -EINVAL);
	ck_assert_uint_eq(gwlb_nft_set_batch_count(b), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(gwlb_nft_set_batch_add(b, "s", 0, key, 64, 1000, i & 1), 0);
	ck_assert_uint_eq(gwlb_nft_set_batch_count(b), 100);
	/* an empty batch commits to nothing, without a socket */
	gwlb_nft_set_batch_free(b);
	b = gwlb_nft_set_batch_new();
	ck_assert_int_eq(gwlb_nft_set_batch_commit(b, &failed, NULL, 0), 0);
	ck_assert_uint_eq(failed, 0);
	gwlb_nft_set_batch_free(b);
	gwlb_nft_set_batch_free(NULL);
	ck_assert_int_eq(gwlb_nft_set_elem("s", 0, key, 65, 0, true), -EINVAL);
	ck_assert_str_eq(gwlb_nft_queue_path(), "none");
}
END_TEST

/* ---- pure: declared sets and sticky-drop keys ---- */

static void set_init(struct gwlb_nft_set *d, const char *name, int family, int match,
		     int action, bool interval, uint32_t timeout_ms)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->family = family;
	d->match = match;
	d->action = action;
	d->interval = interval;
	d->timeout_ms = timeout_ms;
}

static void load4(struct gwlb_nft_set *d, const char *first, const char *last)
{
	struct in_addr a, b;

	ck_assert_int_eq(inet_pton(AF_INET, first, &a), 1);
	ck_assert_int_eq(inet_pton(AF_INET, last, &b), 1);
	ck_assert_int_eq(gwlb_nft_set_load(d, &a, &b), 0);
}

static void range_is(const struct gwlb_nft_range *r, const char *first, const char *last)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, r->first, a, sizeof(a));
	inet_ntop(AF_INET, r->last, b, sizeof(b));
	ck_assert_str_eq(a, first);
	ck_assert_str_eq(b, last);
}

START_TEST(set_ranges_merge)
{
	struct gwlb_nft_set d;
	struct gwlb_nft_range *v;
	struct in_addr a;
	size_t n;

	set_init(&d, "t_deny4", 4, GWLB_SET_MATCH_SRC, GWLB_SET_ACTION_DROP, true, 0);
	load4(&d, "10.1.0.0", "10.1.255.255");		/* overlaps the /8 below */
	load4(&d, "198.19.2.0", "198.19.2.255");
	load4(&d, "10.0.0.0", "10.255.255.255");
	load4(&d, "198.19.3.0", "198.19.3.255");	/* adjacent to .2.0/24 */
	load4(&d, "255.255.255.0", "255.255.255.255");	/* runs to the end */
	load4(&d, "192.0.2.7", "192.0.2.7");
	/* a range backwards, and one in a plain set, are refused */
	inet_pton(AF_INET, "10.0.0.0", &a);
	ck_assert_int_eq(gwlb_nft_set_load(&d, &d.elems[0].last, &a), -EINVAL);
	ck_assert_int_eq(gwlb_nft_set_ranges(&d, &v, &n), 0);
	ck_assert_uint_eq(n, 4);
	range_is(&v[0], "10.0.0.0", "10.255.255.255");
	range_is(&v[1], "192.0.2.7", "192.0.2.7");
	range_is(&v[2], "198.19.2.0", "198.19.3.255");
	range_is(&v[3], "255.255.255.0", "255.255.255.255");
	free(v);
	gwlb_nft_set_release(&d);

	set_init(&d, "t_block4", 4, GWLB_SET_MATCH_SRC, GWLB_SET_ACTION_DROP, false, 1000);
	ck_assert_int_eq(gwlb_nft_set_load(&d, &a, NULL), 0);
	ck_assert_int_eq(gwlb_nft_set_load(&d, &a, &a), 0);
	inet_pton(AF_INET, "10.0.0.9", &a);
	ck_assert_int_eq(gwlb_nft_set_load(&d, d.elems[0].first, &a), -EINVAL);
	gwlb_nft_set_release(&d);
}
END_TEST

START_TEST(set_same_and_checks)
{
	struct gwlb_nft_set a[2], b;
	struct gwlb_nft_cfg cfg;
	char err[128];

	set_init(&a[0], "m_x4", 4, GWLB_SET_MATCH_SRC, GWLB_SET_ACTION_DROP, true, 0);
	b = a[0];
	ck_assert(gwlb_nft_set_same(&a[0], &b));
	b.timeout_ms = 5;
	ck_assert(!gwlb_nft_set_same(&a[0], &b));
	b = a[0];
	b.match = GWLB_SET_MATCH_EITHER;
	ck_assert(!gwlb_nft_set_same(&a[0], &b));
	b = a[0];
	snprintf(b.iifname, sizeof(b.iifname), "gwi-x");
	ck_assert(!gwlb_nft_set_same(&a[0], &b));

	gwlb_nft_cfg_init(&cfg);
	cfg.sets = a;
	cfg.n_sets = 1;
	ck_assert_int_eq(gwlb_nft_cfg_check(&cfg, err, sizeof(err)), 0);
	a[1] = a[0];
	cfg.n_sets = 2;
	ck_assert_int_eq(gwlb_nft_cfg_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_has_str(err, "name is taken");
	snprintf(a[1].name, sizeof(a[1].name), "dropflow4");
	ck_assert_int_eq(gwlb_nft_cfg_check(&cfg, err, sizeof(err)), -EINVAL);
	snprintf(a[1].name, sizeof(a[1].name), "m_y4");
	a[1].family = 5;
	ck_assert_int_eq(gwlb_nft_cfg_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_has_str(err, "bad spec");
}
END_TEST

START_TEST(dropflow_keys)
{
	static const uint8_t s4[4] = { 198, 19, 1, 2 }, d4[4] = { 198, 19, 100, 2 };
	static const uint8_t s6[16] = { 0xfd, 0, 0, 0x19, 0, 1, [15] = 2 };
	static const uint8_t d6[16] = { 0xfd, 0, 0, 0x19, 1, 0, [15] = 2 };
	static const uint8_t want4[GWLB_NFT_DROPFLOW_KEY4] = {
		6, 0, 0, 0, 198, 19, 1, 2, 198, 19, 100, 2, 0x9c, 0x40, 0, 0, 0x1f, 0x40, 0, 0,
	};
	struct gwlb_pkt p = {
		.family = 4, .l4proto = IPPROTO_TCP, .l4_off = 20, .sport = 40000, .dport = 8000,
		.saddr = s4, .daddr = d4,
	};
	uint8_t key[GWLB_NFT_DROPFLOW_KEY6];
	const char *set = NULL;

	ck_assert_uint_eq(gwlb_nft_dropflow_key(&p, key, &set), GWLB_NFT_DROPFLOW_KEY4);
	ck_assert_str_eq(set, "dropflow4");
	ck_assert_mem_eq(key, want4, sizeof(want4));
	p.family = 6;
	p.l4proto = IPPROTO_UDP;
	p.saddr = s6;
	p.daddr = d6;
	ck_assert_uint_eq(gwlb_nft_dropflow_key(&p, key, &set), GWLB_NFT_DROPFLOW_KEY6);
	ck_assert_str_eq(set, "dropflow6");
	ck_assert_uint_eq(key[0], IPPROTO_UDP);
	ck_assert_mem_eq(key + 4, s6, 16);
	ck_assert_mem_eq(key + 20, d6, 16);
	ck_assert_uint_eq(key[36], 0x9c);
	ck_assert_uint_eq(key[41], 0x40);
	/* no ports to key on: ICMP, a later fragment */
	p.l4proto = IPPROTO_ICMPV6;
	ck_assert_uint_eq(gwlb_nft_dropflow_key(&p, key, &set), 0);
	p.l4proto = IPPROTO_TCP;
	p.l4_off = 0;
	ck_assert_uint_eq(gwlb_nft_dropflow_key(&p, key, &set), 0);
}
END_TEST

/* ---- kernel: private network namespace, root only ---- */

static bool netns_private(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: not root\n");
		return false;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return false;
	}
	if (system("nft --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: no nft tool\n");
		return false;
	}
	return true;
}

/*
 * Run a shell command (it inherits our netns), its stdout in a malloc'd string, exit status
 * in *st. stderr is dropped unless the command redirects it: nft warns about the compat
 * expression on stderr.
 */
static char *run(const char *cmd, int *st)
{
	size_t len = 0, cap = 4096;
	char *out = malloc(cap), *sh;
	FILE *f;
	size_t n;
	int rc;

	ck_assert_int_gt(asprintf(&sh, strstr(cmd, "2>") ? "%s" : "{ %s ; } 2>/dev/null", cmd), 0);
	f = popen(sh, "r");
	free(sh);

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(f);
	while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 512) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
	}
	out[len] = 0;
	rc = pclose(f);
	if (st)
		*st = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	return out;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void assert_has(const char *hay, const char *needle)
{
	ck_assert_msg(strstr(hay, needle), "missing \"%s\" in:\n%s", needle, hay);
}

static void assert_before(const char *hay, const char *a, const char *b)
{
	const char *pa = strstr(hay, a), *pb = strstr(hay, b);

	ck_assert_msg(pa && pb && pa < pb, "\"%s\" not before \"%s\" in:\n%s", a, b, hay);
}

#define LIST "nft list table inet gwlbnf 2>/dev/null"

START_TEST(probe_matches_nft)
{
	char *out;
	int st, p;

	if (!netns_private())
		return;
	p = gwlb_nft_probe_native_queue();
	ck_assert_int_ge(p, 0);
	/* what nft itself finds when it checks (and does not commit) a queue rule */
	out = run("nft -c 'add table inet t; add chain inet t c; add rule inet t c queue num 0' "
		  "2>&1", &st);
	ck_assert_msg(p == (st == 0), "probe %d, nft -c exit %d: %s", p, st, out);
	free(out);
	/* side-effect free: nothing is left behind */
	out = run("nft list ruleset", &st);
	ck_assert_int_eq(st, 0);
	ck_assert_msg(!strstr(out, "table"), "probe left: %s", out);
	free(out);
	/* and a second probe says the same */
	ck_assert_int_eq(gwlb_nft_probe_native_queue(), p);
}
END_TEST

static void install_and_list(const struct gwlb_nft_cfg *cfg, bool native, char **out)
{
	char err[256] = "";
	int st;

	ck_assert_msg(gwlb_nft_install(cfg, native, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(gwlb_nft_queue_path(), native ? "native" : "compat");
	*out = run(LIST, &st);
	ck_assert_int_eq(st, 0);
}

START_TEST(install_lists_rules)
{
	struct gwlb_nft_cfg cfg;
	bool native;
	char *out;

	if (!netns_private())
		return;
	native = gwlb_nft_probe_native_queue() == 1;
	gwlb_nft_cfg_init(&cfg);
	install_and_list(&cfg, native, &out);
	printf("%s", out);
	assert_has(out, "table inet gwlbnf {");
	assert_has(out, "chain policy_pre {");
	assert_has(out, "type filter hook forward priority filter - 10; policy accept;");
	assert_has(out, "chain policy_post {");
	assert_has(out, "type filter hook forward priority filter + 10; policy accept;");
	assert_has(out, "iifname != \"gwi-*\" return");
	assert_has(out, "ct mark & 0x00030000 == 0x00010000 counter packets 0 bytes 0 accept");
	assert_has(out, "ct mark & 0x00030000 == 0x00020000 counter packets 0 bytes 0 drop");
	assert_has(out, "meta mark set ct mark");
	assert_has(out, "ct state new meta mark set meta mark | 0x00040000");
	assert_has(out, "counter packets 0 bytes 0 queue num 0 bypass");
	assert_has(out, "meta mark & 0x00030000 != 0x00000000 iifname \"gwi-*\" counter packets 0 "
		   "bytes 0 ct mark set meta mark & 0xfffbffff");
	assert_has(out, "meta mark & 0x00030000 == 0x00020000 iifname \"gwi-*\" counter packets 0 "
		   "bytes 0 drop");
	/* the order matters: decided flows leave before the mark copy and the queue */
	assert_before(out, "return", "accept comment");
	assert_before(out, "drop comment", "meta mark set ct mark");
	assert_before(out, "meta mark set ct mark", "ct state new");
	assert_before(out, "ct state new", "queue num");
	assert_before(out, "queue num", "chain policy_post");
	free(out);
	/* exactly one table: the probe's table is gone */
	out = run("nft list tables", NULL);
	ck_assert_str_eq(out, "table inet gwlbnf\n");
	free(out);
}
END_TEST

START_TEST(install_closed_fanout_layout)
{
	struct gwlb_nft_cfg cfg;
	bool native;
	char *out;

	if (!netns_private())
		return;
	native = gwlb_nft_probe_native_queue() == 1;
	gwlb_nft_cfg_init(&cfg);
	cfg.queue_first = 4;
	cfg.queue_count = 4;
	cfg.fail_open = false;
	cfg.fanout = true;
	cfg.prio_pre = -30;
	cfg.prio_post = 30;
	cfg.decision_shift = 20;
	cfg.decision_mask = 0x300000;
	cfg.newflow_bit = 0x800000;
	cfg.iif_match = "veth*";
	install_and_list(&cfg, native, &out);
	free(out);
	/* numeric priorities: how nft names them changes between versions */
	out = run("nft -y list table inet gwlbnf", NULL);
	assert_has(out, "hook forward priority -30;");
	assert_has(out, "hook forward priority 30;");
	assert_has(out, "iifname != \"veth*\" return");
	assert_has(out, "ct mark & 0x00300000 == 0x00100000");
	assert_has(out, "ct mark & 0x00300000 == 0x00200000");
	assert_has(out, "meta mark | 0x00800000");
	assert_has(out, "queue num 4-7 fanout");
	ck_assert_msg(!strstr(out, "bypass"), "fail-closed must not bypass:\n%s", out);
	assert_has(out, "ct mark set meta mark & 0xff7fffff");
	free(out);

	/* fail-open, several queues, an exact interface name */
	cfg.fail_open = true;
	cfg.fanout = false;
	cfg.iif_match = "gwi-e8WXgsTQDkf";
	install_and_list(&cfg, native, &out);
	assert_has(out, "queue num 4-7 bypass");
	ck_assert_msg(!strstr(out, "fanout"), "%s", out);
	assert_has(out, "iifname != \"gwi-e8WXgsTQDkf\" return");
	free(out);
}
END_TEST

START_TEST(install_twice_replaces)
{
	struct gwlb_nft_cfg cfg;
	char err[256];
	bool native;
	char *out;
	int st;

	if (!netns_private())
		return;
	native = gwlb_nft_probe_native_queue() == 1;
	gwlb_nft_cfg_init(&cfg);
	ck_assert_int_eq(gwlb_nft_install(&cfg, native, err, sizeof(err)), 0);
	/* a set in the old table, and a user's change to it, go with the replacement */
	out = run("nft add set inet gwlbnf old '{ type ipv4_addr; }' && "
		  "nft add rule inet gwlbnf policy_pre accept", &st);
	ck_assert_int_eq(st, 0);
	free(out);
	cfg.queue_first = 3;
	ck_assert_int_eq(gwlb_nft_install(&cfg, native, err, sizeof(err)), 0);
	out = run("nft list ruleset", &st);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(count(out, "table inet gwlbnf"), 1);
	ck_assert_int_eq(count(out, "chain policy_pre"), 1);
	ck_assert_int_eq(count(out, "chain policy_post"), 1);
	ck_assert_int_eq(count(out, "queue num"), 1);
	ck_assert_int_eq(count(out, "meta mark set ct mark"), 1);
	ck_assert_int_eq(count(out, "ct mark set meta mark"), 1);
	assert_has(out, "queue num 3 bypass");
	ck_assert_msg(!strstr(out, "set old"), "%s", out);
	ck_assert_msg(!strstr(out, "\t\taccept\n"), "%s", out);
	free(out);
}
END_TEST

START_TEST(failed_install_keeps_old)
{
	struct gwlb_nft_cfg cfg;
	char err[256] = "";
	char *before, *after;

	if (!netns_private())
		return;
	if (gwlb_nft_probe_native_queue() != 0) {
		fprintf(stderr, "SKIP: the kernel has native queue\n");
		return;
	}
	gwlb_nft_cfg_init(&cfg);
	install_and_list(&cfg, false, &before);
	/* the native path fails on this kernel: the whole transaction is refused */
	cfg.queue_first = 9;
	ck_assert_int_eq(gwlb_nft_install(&cfg, true, err, sizeof(err)), -ENOENT);
	assert_has(err, "queue");
	assert_has(err, "No such file or directory");
	ck_assert_str_eq(gwlb_nft_queue_path(), "compat");
	after = run(LIST, NULL);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* a bad config never reaches the kernel */
	cfg.queue_count = 0;
	ck_assert_int_eq(gwlb_nft_install(&cfg, false, err, sizeof(err)), -EINVAL);
	assert_has(err, "queue count");
}
END_TEST

START_TEST(remove_leaves_nothing)
{
	struct gwlb_nft_cfg cfg;
	char err[256];
	char *out;
	int st;

	if (!netns_private())
		return;
	/* nothing to remove is fine */
	ck_assert_int_eq(gwlb_nft_remove(), 0);
	gwlb_nft_cfg_init(&cfg);
	ck_assert_int_eq(gwlb_nft_install(&cfg, gwlb_nft_probe_native_queue() == 1, err,
					  sizeof(err)), 0);
	out = run("nft list tables", NULL);
	ck_assert_str_eq(out, "table inet gwlbnf\n");
	free(out);
	/* someone else's table stays */
	free(run("nft add table inet other", &st));
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(gwlb_nft_remove(), 0);
	ck_assert_str_eq(gwlb_nft_queue_path(), "none");
	out = run("nft list tables", NULL);
	ck_assert_str_eq(out, "table inet other\n");
	free(out);
	out = run(LIST " || echo gone", NULL);
	ck_assert_str_eq(out, "gone\n");
	free(out);
	ck_assert_int_eq(gwlb_nft_remove(), 0);
}
END_TEST

static void install_with_sets(void)
{
	struct gwlb_nft_cfg cfg;
	char err[256];
	int st;

	gwlb_nft_cfg_init(&cfg);
	ck_assert_int_eq(gwlb_nft_install(&cfg, gwlb_nft_probe_native_queue() == 1, err,
					  sizeof(err)), 0);
	free(run("nft add set inet gwlbnf block4 '{ type ipv4_addr; flags timeout; }' && "
		 "nft add set inet gwlbnf block6 '{ type ipv6_addr; flags timeout; "
		 "timeout 5m; }'", &st));
	ck_assert_int_eq(st, 0);
}

START_TEST(set_elem_add_del)
{
	struct in6_addr a6;
	struct in_addr a;
	char *out;

	if (!netns_private())
		return;
	install_with_sets();
	inet_pton(AF_INET, "192.0.2.7", &a);
	inet_pton(AF_INET6, "2001:db8::7", &a6);
	ck_assert_int_eq(gwlb_nft_set_elem("block4", 0, &a, 4, 90000, true), 0);
	ck_assert_int_eq(gwlb_nft_set_elem("block6", NFPROTO_INET, &a6, 16, 0, true), 0);
	/* adding it again is no error */
	ck_assert_int_eq(gwlb_nft_set_elem("block4", 0, &a, 4, 90000, true), 0);
	out = run("nft list set inet gwlbnf block4", NULL);
	assert_has(out, "192.0.2.7 timeout 1m30s expires");
	ck_assert_int_eq(count(out, "192.0.2.7"), 1);
	free(out);
	out = run("nft list set inet gwlbnf block6", NULL);
	/* timeout 0: the set's own */
	assert_has(out, "2001:db8::7 expires");
	free(out);

	ck_assert_int_eq(gwlb_nft_set_elem("block4", 0, &a, 4, 0, false), 0);
	out = run("nft list set inet gwlbnf block4", NULL);
	ck_assert_msg(!strstr(out, "192.0.2.7"), "%s", out);
	free(out);
	/* no such element, no such set, wrong key size */
	ck_assert_int_eq(gwlb_nft_set_elem("block4", 0, &a, 4, 0, false), -ENOENT);
	ck_assert_int_eq(gwlb_nft_set_elem("nosuch", 0, &a, 4, 1000, true), -ENOENT);
	ck_assert_int_lt(gwlb_nft_set_elem("block4", 0, &a6, 16, 1000, true), 0);
	out = run("nft list set inet gwlbnf block6", NULL);
	assert_has(out, "2001:db8::7");
	free(out);
}
END_TEST

START_TEST(set_batch_one_transaction)
{
	struct gwlb_nft_set_batch *b = gwlb_nft_set_batch_new();
	char err[256] = "";
	size_t failed = 99;
	uint8_t ip[4] = { 198, 51, 100, 0 };
	char *out;

	if (!netns_private()) {
		gwlb_nft_set_batch_free(b);
		return;
	}
	install_with_sets();
	/* 300 elements: several messages of one transaction */
	for (int i = 0; i < 300; i++) {
		ip[2] = 100 + i / 250;
		ip[3] = i % 250;
		ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block4", 0, ip, 4, 600000, true), 0);
	}
	/* queued order holds: added then deleted */
	ip[2] = 100;
	ip[3] = 5;
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block4", 0, ip, 4, 0, false), 0);
	ck_assert_int_eq(gwlb_nft_set_batch_commit(b, &failed, err, sizeof(err)), 0);
	ck_assert_uint_eq(failed, 0);
	ck_assert_uint_eq(gwlb_nft_set_batch_count(b), 0);
	out = run("nft list set inet gwlbnf block4", NULL);
	assert_has(out, "198.51.100.0 timeout 10m");
	assert_has(out, "198.51.101.49 timeout 10m");
	ck_assert_msg(!strstr(out, "198.51.100.5 "), "%s", out);
	ck_assert_int_eq(count(out, "timeout 10m expires"), 299);
	free(out);

	/* a bad update costs only itself; deleting what is gone is no failure */
	ip[3] = 200;
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block4", 0, ip, 4, 0, false), 0);
	ip[3] = 5;
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block4", 0, ip, 4, 0, false), 0);
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "nosuch", 0, ip, 4, 1000, true), 0);
	ip[3] = 251;
	ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block4", 0, ip, 4, 60000, true), 0);
	ck_assert_int_eq(gwlb_nft_set_batch_commit(b, &failed, err, sizeof(err)), -ENOENT);
	ck_assert_uint_eq(failed, 1);
	assert_has(err, "nosuch");
	out = run("nft list set inet gwlbnf block4", NULL);
	ck_assert_msg(!strstr(out, "198.51.100.200"), "%s", out);
	assert_has(out, "198.51.100.251 timeout 1m expires");
	free(out);
	gwlb_nft_set_batch_free(b);
}
END_TEST

START_TEST(set_batch_many_pages)
{
	struct gwlb_nft_set_batch *b = gwlb_nft_set_batch_new();
	char err[256] = "";
	struct in6_addr a6;
	size_t failed = 99;
	char *out;
	int n = 0;

	if (!netns_private()) {
		gwlb_nft_set_batch_free(b);
		return;
	}
	install_with_sets();
	/* ~100 messages, well past one 64 KiB batch page: still one transaction */
	inet_pton(AF_INET6, "2001:db8::", &a6);
	for (int i = 0; i < 6000; i++) {
		a6.s6_addr[14] = (uint8_t)(i >> 8);
		a6.s6_addr[15] = (uint8_t)i;
		ck_assert_int_eq(gwlb_nft_set_batch_add(b, "block6", 0, &a6, 16, 0, true), 0);
	}
	ck_assert_int_eq(gwlb_nft_set_batch_commit(b, &failed, err, sizeof(err)), 0);
	ck_assert_uint_eq(failed, 0);
	out = run("nft list set inet gwlbnf block6", NULL);
	n = count(out, "2001:db8::");
	assert_has(out, "2001:db8::176f");
	free(out);
	ck_assert_int_eq(n, 6000);
	gwlb_nft_set_batch_free(b);
}
END_TEST

struct names {
	char buf[1024];
	unsigned n;
};

static int collect_set(const struct gwlb_nft_set_info *si, void *arg)
{
	struct names *c = arg;
	char t[64];
	size_t off = strlen(c->buf);

	snprintf(c->buf + off, sizeof(c->buf) - off, "%s:%s:%llu;", si->name,
		 gwlb_nft_type_str(si->key_type, t, sizeof(t)), (unsigned long long)si->timeout_ms);
	c->n++;
	return 0;
}

static uint32_t elem_type;

static int collect_elem(const struct gwlb_nft_elem_info *e, void *arg)
{
	struct names *c = arg;
	char k[160];
	size_t off = strlen(c->buf);

	snprintf(c->buf + off, sizeof(c->buf) - off, "%s%s;", gwlb_nft_elem_str(elem_type, e, k,
		 sizeof(k)), e->expires_ms ? "(t)" : "");
	c->n++;
	return 0;
}

/* What `nft list` shows, read back through libnftnl: sets, types, elements, intervals. */
START_TEST(sets_read_back)
{
	struct gwlb_nft_set_info si;
	struct names c;
	int st;

	if (!netns_private())
		return;
	install_with_sets();
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gwlb_nft_sets_list(collect_set, &c), 0);
	ck_assert_str_eq(c.buf, "block4:ipv4_addr:0;block6:ipv6_addr:300000;");
	free(run("nft add set inet gwlbnf nets '{ type ipv4_addr; flags interval, timeout; }' && "
		 "nft add element inet gwlbnf nets '{ 10.0.0.0/24 timeout 60s, "
		 "10.2.0.0-10.2.0.9, 192.168.1.1, 255.255.255.0/24 }' && "
		 "nft add set inet gwlbnf svc '{ type ipv4_addr . inet_service; }' && "
		 "nft add element inet gwlbnf svc '{ 192.0.2.1 . 443 }' && "
		 "nft add element inet gwlbnf block6 '{ 2001:db8::1 }'", &st));
	ck_assert_int_eq(st, 0);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gwlb_nft_set_get("nets", &si, collect_elem, &c), 0);
	ck_assert_uint_ne(si.flags & NFT_SET_INTERVAL, 0);
	elem_type = si.key_type;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gwlb_nft_set_get("nets", &si, collect_elem, &c), 0);
	ck_assert_str_eq(c.buf, "255.255.255.0/24;192.168.1.1;10.2.0.0-10.2.0.9;10.0.0.0/24(t);");

	ck_assert_int_eq(gwlb_nft_set_get("svc", &si, NULL, NULL), 0);
	elem_type = si.key_type;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gwlb_nft_set_get("svc", &si, collect_elem, &c), 0);
	ck_assert_str_eq(c.buf, "192.0.2.1 . 443;");
	ck_assert_str_eq(gwlb_nft_type_str(si.key_type, c.buf, sizeof(c.buf)),
			 "ipv4_addr . inet_service");

	ck_assert_int_eq(gwlb_nft_set_get("block6", &si, NULL, NULL), 0);
	elem_type = si.key_type;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gwlb_nft_set_get("block6", &si, collect_elem, &c), 0);
	ck_assert_str_eq(c.buf, "2001:db8::1(t);");
	ck_assert_uint_eq(si.timeout_ms, 300000);

	ck_assert_int_eq(gwlb_nft_set_get("nosuch", &si, collect_elem, &c), -ENOENT);
	ck_assert_int_eq(gwlb_nft_remove(), 0);
	ck_assert_int_eq(gwlb_nft_sets_list(collect_set, &c), -ENOENT);
}
END_TEST

/* A cfg with a deny interval set, an allow set for one ENI, a dynamic block set. */
static struct gwlb_nft_set kset[3];

static void sets_cfg(struct gwlb_nft_cfg *cfg)
{
	struct in6_addr a6, b6;

	gwlb_nft_cfg_init(cfg);
	set_init(&kset[0], "t_deny4", 4, GWLB_SET_MATCH_SRC, GWLB_SET_ACTION_DROP, true, 0);
	load4(&kset[0], "198.19.2.0", "198.19.2.255");
	load4(&kset[0], "10.0.0.0", "10.255.255.255");
	set_init(&kset[1], "t_allow6", 6, GWLB_SET_MATCH_EITHER, GWLB_SET_ACTION_ACCEPT, true, 0);
	snprintf(kset[1].iifname, sizeof(kset[1].iifname), "gwi-e8WXgsTQDkf");
	inet_pton(AF_INET6, "2001:db8::", &a6);
	inet_pton(AF_INET6, "2001:db8::ffff", &b6);
	ck_assert_int_eq(gwlb_nft_set_load(&kset[1], &a6, &b6), 0);
	set_init(&kset[2], "t_block4", 4, GWLB_SET_MATCH_DST, GWLB_SET_ACTION_DROP, false, 3000);
	cfg->sets = kset;
	cfg->n_sets = 3;
	cfg->dropflow_timeout_ms = 60000;
}

START_TEST(install_sets_and_rules)
{
	struct gwlb_nft_cfg cfg;
	bool native;
	char *out;

	if (!netns_private())
		return;
	native = gwlb_nft_probe_native_queue() == 1;
	sets_cfg(&cfg);
	install_and_list(&cfg, native, &out);
	printf("%s", out);
	assert_has(out, "set t_deny4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n");
	assert_has(out, "elements = { 10.0.0.0/8, 198.19.2.0/24 }");
	assert_has(out, "set t_allow6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n");
	assert_has(out, "elements = { 2001:db8::/112 }");
	/* nft prints a set's default timeout instead of "flags timeout" */
	assert_has(out, "set t_block4 {\n\t\ttype ipv4_addr\n\t\ttimeout 3s\n");
	assert_has(out, "set dropflow4 {\n\t\ttype inet_proto . ipv4_addr . ipv4_addr . "
		   "inet_service . inet_service\n\t\ttimeout 1m\n");
	assert_has(out, "type inet_proto . ipv6_addr . ipv6_addr . inet_service . inet_service");
	assert_has(out, "ip saddr @t_deny4 counter packets 0 bytes 0 drop");
	assert_has(out, "ip daddr @t_block4 counter packets 0 bytes 0 drop");
	/* (ct mark & ~D) ^ ACC, as nft decodes it */
	assert_has(out, "iifname \"gwi-e8WXgsTQDkf\" ip6 saddr @t_allow6 ct mark set ct mark & "
		   "0xfffdffff | 0x00010000 counter packets 0 bytes 0 accept");
	assert_has(out, "iifname \"gwi-e8WXgsTQDkf\" ip6 daddr @t_allow6");
	assert_has(out, "meta l4proto . ip saddr . ip daddr . th sport . th dport @dropflow4 "
		   "counter packets 0 bytes 0 drop");
	assert_has(out, "meta l4proto . ip6 saddr . ip6 daddr . th sport . th dport @dropflow6 "
		   "counter packets 0 bytes 0 drop");
	/* block lists before the decided flows, accept sets after the sticky drops, all
	 * before the queue */
	assert_before(out, "return", "@t_deny4");
	assert_before(out, "@t_block4", "flow accepted by policy");
	assert_before(out, "flow dropped by policy", "@dropflow4");
	assert_before(out, "@dropflow6", "@t_allow6");
	assert_before(out, "@t_allow6", "meta mark set ct mark");
	assert_before(out, "ct state new", "queue num");
	free(out);
	/* the sets work: an element in the sticky-drop set, and lookups by nft */
	out = run("nft get element inet gwlbnf t_deny4 '{ 10.9.9.9 }' && "
		  "nft add element inet gwlbnf dropflow4 '{ tcp . 198.19.1.2 . 198.19.100.2 . "
		  "40000 . 8000 }' && nft list set inet gwlbnf dropflow4", NULL);
	assert_has(out, "10.0.0.0/8");
	assert_has(out, "tcp . 198.19.1.2 . 198.19.100.2 . 40000 . 8000 expires");
	free(out);
	for (unsigned i = 0; i < 3; i++)
		gwlb_nft_set_release(&kset[i]);
}
END_TEST

START_TEST(reload_keeps_same_sets)
{
	struct gwlb_nft_set old[3];
	struct gwlb_nft_cfg cfg;
	char err[256] = "";
	bool native;
	char *out;
	int st;

	if (!netns_private())
		return;
	native = gwlb_nft_probe_native_queue() == 1;
	sets_cfg(&cfg);
	install_and_list(&cfg, native, &out);
	free(out);
	/* dynamic elements, and one a user put into a static set */
	free(run("nft add element inet gwlbnf t_block4 '{ 192.0.2.1 timeout 1h }' && "
		 "nft add element inet gwlbnf dropflow4 '{ udp . 192.0.2.2 . 192.0.2.3 . 1 . 2 }' "
		 "&& nft add element inet gwlbnf t_deny4 '{ 172.16.0.0/12 }'", &st));
	ck_assert_int_eq(st, 0);
	memcpy(old, kset, sizeof(old));
	for (unsigned i = 0; i < 3; i++) {
		old[i].elems = NULL;
		old[i].n = old[i].cap = 0;
	}
	/* the deny set gets other prefixes, the allow set changes spec, block stays */
	kset[0].n = 0;
	load4(&kset[0], "198.51.100.0", "198.51.100.255");
	kset[1].match = GWLB_SET_MATCH_SRC;
	ck_assert_msg(gwlb_nft_reload(&cfg, old, 3, native, err, sizeof(err)) == 0, "%s", err);
	out = run(LIST, &st);
	ck_assert_int_eq(st, 0);
	printf("%s", out);
	assert_has(out, "elements = { 198.51.100.0/24 }");
	ck_assert_msg(!strstr(out, "172.16.0.0/12"), "%s", out);
	ck_assert_msg(!strstr(out, "10.0.0.0/8"), "%s", out);
	assert_has(out, "192.0.2.1 timeout 1h expires");
	assert_has(out, "udp . 192.0.2.2 . 192.0.2.3 . 1 . 2 expires");
	assert_has(out, "ip6 saddr @t_allow6");
	ck_assert_msg(!strstr(out, "ip6 daddr @t_allow6"), "%s", out);
	ck_assert_int_eq(count(out, "queue num"), 1);
	ck_assert_int_eq(count(out, "ct mark set meta mark"), 1);
	ck_assert_int_eq(count(out, "@t_deny4"), 1);
	free(out);
	/* a set the new policy no longer declares is gone */
	memcpy(old, kset, sizeof(old));
	cfg.n_sets = 1;
	ck_assert_msg(gwlb_nft_reload(&cfg, old, 3, native, err, sizeof(err)) == 0, "%s", err);
	out = run(LIST, NULL);
	ck_assert_msg(!strstr(out, "t_block4") && !strstr(out, "t_allow6"), "%s", out);
	assert_has(out, "@t_deny4");
	free(out);
	for (unsigned i = 0; i < 3; i++)
		gwlb_nft_set_release(&kset[i]);
}
END_TEST

static Suite *nft_suite(void)
{
	Suite *s = suite_create("nft");
	TCase *pure = tcase_create("queue rule");
	TCase *k = tcase_create("kernel");

	tcase_add_test(pure, native_one_queue_bypass);
	tcase_add_test(pure, native_one_queue_closed);
	tcase_add_test(pure, native_four_queues);
	tcase_add_test(pure, native_fanout);
	tcase_add_test(pure, compat_one_queue);
	tcase_add_test(pure, compat_four_queues);
	tcase_add_test(pure, compat_fanout);
	tcase_add_test(pure, cfg_checks);
	tcase_add_test(pure, set_batch_checks);
	tcase_add_test(pure, set_ranges_merge);
	tcase_add_test(pure, set_same_and_checks);
	tcase_add_test(pure, dropflow_keys);
	suite_add_tcase(s, pure);

	tcase_set_timeout(k, 30);
	tcase_add_test(k, probe_matches_nft);
	tcase_add_test(k, install_lists_rules);
	tcase_add_test(k, install_closed_fanout_layout);
	tcase_add_test(k, install_twice_replaces);
	tcase_add_test(k, failed_install_keeps_old);
	tcase_add_test(k, remove_leaves_nothing);
	tcase_add_test(k, set_elem_add_del);
	tcase_add_test(k, set_batch_one_transaction);
	tcase_add_test(k, set_batch_many_pages);
	tcase_add_test(k, sets_read_back);
	tcase_add_test(k, install_sets_and_rules);
	tcase_add_test(k, reload_keeps_same_sets);
	suite_add_tcase(s, k);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nft_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
