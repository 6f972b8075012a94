/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict-module host: loading and refusals, instances, chains, host services.
 * Modules come from $GWLB_TEST_MODULE_DIR (colon-separated) or, under make check, from
 * $top_builddir/src/modules/.libs and $top_builddir/tests/unit/.libs.
 * $GWLB_TEST_OOT_DIR (tests/lab/module-oot.sh) adds a module built out of tree.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "module.h"

static const char *dirs[8];
static char dirbuf[4096];

static void setup_dirs(void)
{
	const char *env = getenv("GWLB_TEST_MODULE_DIR");
	const char *top = getenv("top_builddir");
	unsigned n = 0;
	char *s, *save = NULL;

	if (env) {
		snprintf(dirbuf, sizeof(dirbuf), "%s", env);
		for (s = strtok_r(dirbuf, ":", &save); s && n < 7; s = strtok_r(NULL, ":", &save))
			dirs[n++] = s;
	} else {
		if (!top)
			top = ".";
		snprintf(dirbuf, sizeof(dirbuf), "%s/src/modules/.libs%c%s/tests/unit/.libs", top,
			 '\0', top);
		dirs[n++] = dirbuf;
		dirs[n++] = dirbuf + strlen(dirbuf) + 1;
	}
	dirs[n] = NULL;
}

/* ---- fake host callbacks: record what reaches them ---- */

#define MAXLINES 64

static struct fake {
	int nlines;
	char line[MAXLINES][256];
	char module[MAXLINES][32];
	enum gwlb_log_prio prio[MAXLINES];
	uint64_t now;
	int nset;
	int set_del;
	char set_module[32];
	char set_name[32];
	uint8_t set_key[16];
	size_t set_key_len;
	uint32_t set_timeout;
	int nmark;
	uint32_t mark_value, mark_mask;
	int nlabel;
	unsigned label_bit;
	int ndecl;
	char decl_module[8][32];
	char decl_name[8][64];
	struct gwlb_set_spec decl[8];
	int nload;
	char load_set[16][64];
	uint8_t load_first[16][16], load_last[16][16];
	size_t load_len[16];
} fk;

static void fake_log(void *arg, const char *module, enum gwlb_log_prio prio, const char *line)
{
	ck_assert_ptr_eq(arg, &fk);
	if (fk.nlines >= MAXLINES)
		return;
	snprintf(fk.line[fk.nlines], sizeof(fk.line[0]), "%s", line);
	snprintf(fk.module[fk.nlines], sizeof(fk.module[0]), "%s", module);
	fk.prio[fk.nlines] = prio;
	fk.nlines++;
}

static int fake_set(const char *module, const char *set, const void *key, size_t key_len,
		    uint32_t timeout_ms, int del)
{
	fk.nset++;
	fk.set_del = del;
	snprintf(fk.set_module, sizeof(fk.set_module), "%s", module);
	snprintf(fk.set_name, sizeof(fk.set_name), "%s", set);
	fk.set_key_len = key_len;
	memcpy(fk.set_key, key, key_len < 16 ? key_len : 16);
	fk.set_timeout = timeout_ms;
	return strcmp(set, "missing") ? 0 : -ENOENT;
}

static int fake_set_add(void *arg, const char *module, const char *set, const void *key,
			size_t key_len, uint32_t timeout_ms)
{
	return fake_set(module, set, key, key_len, timeout_ms, 0);
}

static int fake_set_del(void *arg, const char *module, const char *set, const void *key,
			size_t key_len)
{
	return fake_set(module, set, key, key_len, 0, 1);
}

static int fake_ct_mark_set(void *arg, const struct gwlb_pkt *pkt, uint32_t value, uint32_t mask)
{
	fk.nmark++;
	fk.mark_value = value;
	fk.mark_mask = mask;
	return 0;
}

static int fake_ct_label_set(void *arg, const struct gwlb_pkt *pkt, unsigned bit)
{
	fk.nlabel++;
	fk.label_bit = bit;
	return 0;
}

static int fake_set_declare(void *arg, const char *module, const char *full,
			    const struct gwlb_set_spec *spec)
{
	int i;

	ck_assert_ptr_eq(arg, &fk);
	for (i = 0; i < fk.ndecl; i++)
		if (!strcmp(fk.decl_name[i], full))
			return -EEXIST;
	if (fk.ndecl >= 8)
		return -ENOSPC;
	snprintf(fk.decl_module[fk.ndecl], sizeof(fk.decl_module[0]), "%s", module);
	snprintf(fk.decl_name[fk.ndecl], sizeof(fk.decl_name[0]), "%s", full);
	fk.decl[fk.ndecl] = *spec;
	fk.decl[fk.ndecl].name = NULL;	/* the spec's strings are the module's */
	fk.ndecl++;
	return 0;
}

static int fake_set_load(void *arg, const char *module, const char *full, const void *first,
			 const void *last, size_t key_len)
{
	int i;

	for (i = 0; i < fk.ndecl && strcmp(fk.decl_name[i], full); i++)
		;
	if (i == fk.ndecl)
		return -ENOENT;
	if (key_len != (fk.decl[i].family == 6 ? 16u : 4u))
		return -EINVAL;
	if (fk.nload >= 16)
		return -ENOSPC;
	snprintf(fk.load_set[fk.nload], sizeof(fk.load_set[0]), "%s", full);
	memcpy(fk.load_first[fk.nload], first, key_len);
	memcpy(fk.load_last[fk.nload], last ? last : first, key_len);
	fk.load_len[fk.nload] = key_len;
	fk.nload++;
	return 0;
}

static uint64_t fake_now(void *arg)
{
	return fk.now;
}

static struct gwlb_module_host_cfg host_cfg = {
	.arg = &fk,
	.threads = 4,
	.mark_mask = 0x0000ff00,
	.log = fake_log,
	.set_add = fake_set_add,
	.set_del = fake_set_del,
	.ct_mark_set = fake_ct_mark_set,
	.ct_label_set = fake_ct_label_set,
	.set_declare = fake_set_declare,
	.set_load = fake_set_load,
	.now_ms = fake_now,
};

/* ---- helpers ---- */

static struct gwlb_module *load(const char *name)
{
	struct gwlb_module *mod;
	char err[512];
	int rc;

	rc = gwlb_module_load(name, dirs, &mod, err, sizeof(err));
	ck_assert_msg(rc == 0, "load %s: %d: %s", name, rc, err);
	return mod;
}

static int load_err(const char *name, const char *const *d, char *err, size_t errlen)
{
	struct gwlb_module *mod = (void *)1;
	int rc;

	err[0] = '\0';
	rc = gwlb_module_load(name, d, &mod, err, errlen);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_null(mod);
	ck_assert_msg(!strchr(err, '\n'), "error is more than one line: %s", err);
	return rc;
}

/* An instance of module `name` with the given arguments (NULL-terminated). */
static struct gwlb_module_inst *inst_new(const char *name, const char *const *argv)
{
	struct gwlb_module_inst *inst;
	struct gwlb_module *mod = load(name);
	char err[512];
	int argc = 0, rc;

	while (argv && argv[argc])
		argc++;
	rc = gwlb_module_instance_new(mod, argc, argv, &host_cfg, &inst, err, sizeof(err));
	ck_assert_msg(rc == 0, "instance of %s: %d: %s", name, rc, err);
	gwlb_module_put(mod);	/* the instance keeps the module */
	return inst;
}

static struct gwlb_chain *chain_of(struct gwlb_module_inst **insts, unsigned n)
{
	struct gwlb_chain *chain;
	unsigned i;

	ck_assert_int_eq(gwlb_chain_new(insts, n, &chain), 0);
	for (i = 0; i < n; i++)
		gwlb_module_instance_put(insts[i]);	/* the chain keeps them */
	return chain;
}

static uint64_t counter(const struct gwlb_module_inst *inst, const char *name)
{
	uint64_t v = 0;

	ck_assert_msg(gwlb_module_instance_counter_get(inst, name, &v) == 0,
		      "%s has no counter %s", gwlb_module_instance_name(inst), name);
	return v;
}

static struct gwlb_module_info info_of(const struct gwlb_module_inst *inst)
{
	struct gwlb_module_info info;

	gwlb_module_instance_info(inst, &info);
	return info;
}

static uint8_t src4[4] = { 10, 0, 0, 1 }, dst4[4] = { 10, 0, 0, 2 };
static uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static struct gwlb_pkt pkt4(uint16_t dport, uint64_t flow_pkts)
{
	static const uint8_t data[40];
	struct gwlb_pkt p = {
		.data = data,
		.len = sizeof(data),
		.l4_off = 20,
		.payload_off = 40,
		.family = 4,
		.l4proto = IPPROTO_TCP,
		.sport = 1234,
		.dport = dport,
		.tcp_flags = 0x02,
		.ct_state = GWLB_CT_NEW,
		.saddr = src4,
		.daddr = dst4,
		.eni_id = 0x076bc493b822cd32fULL,
		.iifname = "gwi-e8WXgsTQDkf",
		.oifname = "gwo-e8WXgsTQDkf",
		.flow_pkts = flow_pkts,
	};

	return p;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.now = 1000000;
	setup_dirs();
}

/* ---- built-in modules ---- */

START_TEST(test_accept)
{
	static const char *const pkt_mode[] = { "mode=packet", NULL };
	struct gwlb_module_inst *inst = inst_new("accept", NULL);
	struct gwlb_chain_result res;
	struct gwlb_module_info info;
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;
	uint64_t totals[GWLB_MODULE_NVERDICTS];
	int i;

	info = info_of(inst);
	ck_assert_str_eq(info.name, "accept");
	ck_assert_ptr_nonnull(strstr(info.path, "verdict_accept.so"));
	ck_assert_ptr_nonnull(strstr(info.description, "accept"));
	ck_assert_str_eq(info.args, "");
	chain = chain_of(&inst, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_ACCEPT_FLOW);
		ck_assert_int_eq(res.verdict, GWLB_VERDICT_ACCEPT_FLOW);
		ck_assert_int_eq(res.index, 0);
		ck_assert_ptr_eq(res.inst, inst);
		ck_assert_uint_eq(res.mark_mask, 0);
	}
	info = info_of(inst);
	ck_assert_uint_eq(info.verdicts[GWLB_VERDICT_ACCEPT_FLOW], 3);
	ck_assert_uint_eq(info.verdicts[GWLB_VERDICT_ACCEPT], 0);
	gwlb_chain_totals(chain, totals);
	ck_assert_uint_eq(totals[GWLB_VERDICT_ACCEPT_FLOW], 3);
	ck_assert_uint_eq(totals[GWLB_VERDICT_CONTINUE], 0);
	gwlb_chain_free(chain);

	inst = inst_new("accept", pkt_mode);
	ck_assert_str_eq(info_of(inst).args, "mode=packet");
	chain = chain_of(&inst, 1);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_ACCEPT);
	ck_assert_uint_eq(info_of(inst).verdicts[GWLB_VERDICT_ACCEPT], 1);
	ck_assert_uint_eq(info_of(inst).verdicts[GWLB_VERDICT_ACCEPT_FLOW], 0);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_accept_bad_arg)
{
	static const char *const argv[] = { "mode=sometimes" };
	struct gwlb_module *mod = load("accept");
	struct gwlb_module_inst *inst = (void *)1;
	char err[512];

	ck_assert_int_eq(gwlb_module_instance_new(mod, 1, argv, &host_cfg, &inst, err,
						  sizeof(err)), -EINVAL);
	ck_assert_ptr_null(inst);
	ck_assert_msg(strstr(err, "verdict_accept.so") && strstr(err, "mode=sometimes") &&
		      strstr(err, "mode=flow|packet"), "%s", err);
	gwlb_module_put(mod);
}
END_TEST

START_TEST(test_log)
{
	static const char *const argv[] = { "sample=2", "prio=debug", NULL };
	struct gwlb_module_inst *inst = inst_new("log", argv);
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;
	struct gwlb_chain_result res;
	int i;

	chain = chain_of(&inst, 1);
	/* 4 new flows: the 1st and 3rd are sampled */
	for (i = 0; i < 4; i++) {
		p.sport = 1000 + i;
		ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_CONTINUE);
		ck_assert_int_eq(res.index, -1);
		ck_assert_ptr_null(res.inst);
	}
	/* later packets of a flow are not new, even while conntrack still says NEW */
	p.flow_pkts = 2;
	for (i = 0; i < 3; i++)
		gwlb_chain_verdict(chain, &p, &res);
	ck_assert_int_eq(fk.nlines, 2);
	ck_assert_str_eq(fk.line[0], "flow ipv4 tcp 10.0.0.1:1000 -> 10.0.0.2:80 "
			 "eni 076bc493b822cd32f iif gwi-e8WXgsTQDkf oif gwo-e8WXgsTQDkf");
	ck_assert_str_eq(fk.line[1], "flow ipv4 tcp 10.0.0.1:1002 -> 10.0.0.2:80 "
			 "eni 076bc493b822cd32f iif gwi-e8WXgsTQDkf oif gwo-e8WXgsTQDkf");
	ck_assert_str_eq(fk.module[0], "log");
	ck_assert_int_eq(fk.prio[0], GWLB_LOG_DEBUG);
	ck_assert_uint_eq(counter(inst, "logged"), 2);
	ck_assert_uint_eq(counter(inst, "skipped"), 2);
	ck_assert_uint_eq(info_of(inst).verdicts[GWLB_VERDICT_CONTINUE], 7);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_log_v6_and_ct_new)
{
	struct gwlb_module_inst *inst = inst_new("log", NULL);
	struct gwlb_pkt p = pkt4(53, 0);
	struct gwlb_chain *chain = chain_of(&inst, 1);

	p.family = 6;
	p.l4proto = IPPROTO_UDP;
	p.saddr = src6;
	p.daddr = dst6;
	p.oifname = "";
	/* no flow_pkts from the host: conntrack NEW decides */
	gwlb_chain_verdict(chain, &p, NULL);
	p.ct_state = GWLB_CT_ESTABLISHED;
	gwlb_chain_verdict(chain, &p, NULL);
	/* ICMP echo: the id, no ports */
	p.family = 4;
	p.saddr = src4;
	p.daddr = dst4;
	p.l4proto = IPPROTO_ICMP;
	p.sport = p.dport = 77;
	p.ct_state = GWLB_CT_NEW;
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nlines, 2);
	ck_assert_str_eq(fk.line[0], "flow ipv6 udp [2001:db8::1]:1234 -> [2001:db8::2]:53 "
			 "eni 076bc493b822cd32f iif gwi-e8WXgsTQDkf oif -");
	ck_assert_str_eq(fk.line[1], "flow ipv4 icmp 10.0.0.1 -> 10.0.0.2 id 77 "
			 "eni 076bc493b822cd32f iif gwi-e8WXgsTQDkf oif -");
	ck_assert_int_eq(fk.prio[0], GWLB_LOG_INFO);
	ck_assert_uint_eq(counter(inst, "logged"), 2);
	ck_assert_uint_eq(counter(inst, "skipped"), 0);
	gwlb_chain_free(chain);
}
END_TEST

static const char *const log_bad_args[] = { "sample=0", "sample=x", "sample=-3", "prio=loud",
					    "verbose" };

START_TEST(test_log_bad_arg)
{
	const char *argv[1] = { log_bad_args[_i] };
	struct gwlb_module *mod = load("log");
	struct gwlb_module_inst *inst;
	char err[512];

	ck_assert_int_eq(gwlb_module_instance_new(mod, 1, argv, &host_cfg, &inst, err,
						  sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, log_bad_args[_i]) && strstr(err, "sample=N"), "%s", err);
	gwlb_module_put(mod);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_refuse_abi_major)
{
	char err[512];

	unsetenv("GWLB_TEST_ABI");
	ck_assert_int_eq(load_err("badabi", dirs, err, sizeof(err)), -EPROTONOSUPPORT);
	ck_assert_msg(strstr(err, "verdict_badabi.so: ABI 2.0, gwlbd speaks 1.1: rebuild the "
			      "module against this gwlbd's gwlb/verdict.h"), "%s", err);
}
END_TEST

START_TEST(test_refuse_abi_minor)
{
	char err[512];

	setenv("GWLB_TEST_ABI", "0x00010002", 1);
	ck_assert_int_eq(load_err("badabi", dirs, err, sizeof(err)), -EPROTONOSUPPORT);
	ck_assert_msg(strstr(err, "ABI 1.2, gwlbd speaks 1.1"), "%s", err);
	/* the same file built for 1.0 or 1.1 is fine: the check is on the version */
	setenv("GWLB_TEST_ABI", "0x00010000", 1);
	gwlb_module_put(load("badabi"));
	setenv("GWLB_TEST_ABI", "0x00010001", 1);
	gwlb_module_put(load("badabi"));
	unsetenv("GWLB_TEST_ABI");
}
END_TEST

START_TEST(test_refuse_nosym)
{
	char err[512];

	ck_assert_int_eq(load_err("nosym", dirs, err, sizeof(err)), -ENOEXEC);
	ck_assert_msg(strstr(err, "verdict_nosym.so: no symbol gwlb_verdict_module: not a gwlbnf "
			      "verdict module"), "%s", err);
}
END_TEST

static int count_insts(const struct gwlb_module_inst *inst, void *arg)
{
	return 1;
}

START_TEST(test_refuse_failinit)
{
	static const char *const ok[] = { "frob=ok", NULL };
	static const char *const argv[] = { "frob=no" };
	struct gwlb_module *mod = load("failinit");
	struct gwlb_module_inst *inst = (void *)1;
	char err[512];

	ck_assert_int_eq(gwlb_module_instance_new(mod, 1, argv, &host_cfg, &inst, err,
						  sizeof(err)), -EDOM);
	ck_assert_ptr_null(inst);
	ck_assert_msg(strstr(err, "verdict_failinit.so") &&
		      strstr(err, "the frobnicator is missing (give frob=ok)") &&
		      strstr(err, "frob=no") && !strchr(err, '\n'), "%s", err);
	gwlb_module_put(mod);
	/* a refused instance leaves nothing registered; the right argument passes */
	ck_assert_int_eq(gwlb_module_instance_foreach(count_insts, NULL), 0);
	inst = inst_new("failinit", ok);
	ck_assert_int_eq(gwlb_module_instance_foreach(count_insts, NULL), 1);
	gwlb_module_instance_put(inst);
	ck_assert_int_eq(gwlb_module_instance_foreach(count_insts, NULL), 0);
}
END_TEST

/* A copy of verdict_count.so in a fresh directory under another name. */
static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out;
	ssize_t n;

	in = open(from, O_RDONLY);
	ck_assert_msg(in >= 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ck_assert_msg(out >= 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, n), n);
	close(in);
	close(out);
}

START_TEST(test_refuse_name_mismatch)
{
	char tmp[] = "/tmp/gwlb-test-module.XXXXXX", path[512], err[1024];
	const char *d[2] = { tmp, NULL };
	struct gwlb_module *mod = load("count");

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(path, sizeof(path), "%s/verdict_other.so", tmp);
	copy_file(gwlb_module_path(mod), path);
	gwlb_module_put(mod);
	ck_assert_int_eq(load_err("other", d, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "verdict_other.so: the module calls itself \"count\", the file "
			      "name says \"other\""), "%s", err);
	/* the same by path */
	ck_assert_int_eq(load_err(path, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "calls itself \"count\""), "%s", err);
	/* the right name by path loads */
	snprintf(path, sizeof(path), "%s/verdict_count.so", tmp);
	snprintf(err, sizeof(err), "%s/verdict_other.so", tmp);
	ck_assert_int_eq(rename(err, path), 0);
	ck_assert_int_eq(gwlb_module_load(path, NULL, &mod, err, sizeof(err)), 0);
	ck_assert_str_eq(gwlb_module_name(mod), "count");
	gwlb_module_put(mod);
	unlink(path);
	rmdir(tmp);
}
END_TEST

START_TEST(test_refuse_files)
{
	char tmp[] = "/tmp/gwlb-test-module.XXXXXX", path[512], err[1024];
	const char *d[3] = { tmp, "/nonexistent-gwlb", NULL };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	/* not a shared object */
	snprintf(path, sizeof(path), "%s/verdict_junk.so", tmp);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not an ELF file\n", f);
	fclose(f);
	ck_assert_int_eq(load_err("junk", d, err, sizeof(err)), -ENOEXEC);
	ck_assert_msg(strstr(err, "verdict_junk.so: cannot open: "), "%s", err);
	unlink(path);
	/* missing: every directory tried is named */
	ck_assert_int_eq(load_err("junk", d, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "verdict_junk.so: not found in ") && strstr(err, tmp) &&
		      strstr(err, "/nonexistent-gwlb"), "%s", err);
	rmdir(tmp);
	/* names that could walk out of the directory, or are not module names */
	ck_assert_int_eq(load_err("Accept", dirs, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "bad module name"), "%s", err);
	ck_assert_int_eq(load_err("", dirs, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(load_err("../accept", dirs, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "expected verdict_<name>.so"), "%s", err);
	ck_assert_int_eq(load_err("/tmp/verdict_.so", dirs, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(load_err("/nonexistent-gwlb/verdict_x.so", dirs, err, sizeof(err)),
			 -ENOENT);
	ck_assert_msg(strstr(err, "/nonexistent-gwlb/verdict_x.so: No such file"), "%s", err);
}
END_TEST

/* ---- chains and host services ---- */

START_TEST(test_chain)
{
	struct gwlb_module_inst *insts[3], *seen[3];
	struct gwlb_chain_result res;
	struct gwlb_pkt p = pkt4(443, 1);
	struct gwlb_chain *chain;
	uint64_t totals[GWLB_MODULE_NVERDICTS];
	int i;

	insts[0] = inst_new("log", NULL);
	insts[1] = inst_new("count", NULL);
	insts[2] = inst_new("accept", NULL);
	memcpy(seen, insts, sizeof(seen));
	chain = chain_of(insts, 3);
	ck_assert_uint_eq(gwlb_chain_len(chain), 3);
	ck_assert_ptr_eq(gwlb_chain_inst(chain, 1), seen[1]);
	ck_assert_ptr_null(gwlb_chain_inst(chain, 3));
	for (i = 0; i < 5; i++) {
		p.flow_pkts = i + 1;
		ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_ACCEPT_FLOW);
		ck_assert_int_eq(res.index, 2);
		ck_assert_ptr_eq(res.inst, seen[2]);
		ck_assert_str_eq(gwlb_module_instance_name(res.inst), "accept");
	}
	ck_assert_uint_eq(info_of(seen[0]).verdicts[GWLB_VERDICT_CONTINUE], 5);
	ck_assert_uint_eq(counter(seen[0], "logged"), 1);
	ck_assert_uint_eq(info_of(seen[1]).verdicts[GWLB_VERDICT_CONTINUE], 5);
	ck_assert_uint_eq(counter(seen[1], "packets"), 5);
	ck_assert_uint_eq(counter(seen[1], "threads"), 4);
	ck_assert_uint_eq(info_of(seen[2]).verdicts[GWLB_VERDICT_ACCEPT_FLOW], 5);
	ck_assert_uint_eq(info_of(seen[2]).verdicts[GWLB_VERDICT_CONTINUE], 0);
	gwlb_chain_totals(chain, totals);
	ck_assert_uint_eq(totals[GWLB_VERDICT_ACCEPT_FLOW], 5);
	ck_assert_uint_eq(totals[GWLB_VERDICT_CONTINUE] + totals[GWLB_VERDICT_ACCEPT] +
			  totals[GWLB_VERDICT_DROP] + totals[GWLB_VERDICT_DROP_FLOW], 0);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_chain_early_decision)
{
	static const char *const drop[] = { "verdict=drop_flow", NULL };
	struct gwlb_module_inst *insts[2], *acc;
	struct gwlb_chain_result res;
	struct gwlb_pkt p = pkt4(23, 1);
	struct gwlb_chain *chain;

	insts[0] = inst_new("count", drop);
	insts[1] = acc = inst_new("accept", NULL);
	chain = chain_of(insts, 2);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_DROP_FLOW);
	ck_assert_int_eq(res.index, 0);
	/* accept was never asked */
	ck_assert_uint_eq(info_of(acc).verdicts[GWLB_VERDICT_ACCEPT_FLOW], 0);
	gwlb_chain_free(chain);

	/* an empty chain (and no chain) decides nothing */
	ck_assert_int_eq(gwlb_chain_new(NULL, 0, &chain), 0);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_CONTINUE);
	ck_assert_int_eq(res.index, -1);
	gwlb_chain_free(chain);
	ck_assert_int_eq(gwlb_chain_verdict(NULL, &p, &res), GWLB_VERDICT_CONTINUE);
}
END_TEST

START_TEST(test_chain_invalid_verdict)
{
	static const char *const bogus[] = { "verdict=bogus", NULL };
	struct gwlb_module_inst *insts[2], *cnt;
	struct gwlb_chain_result res;
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;

	insts[0] = cnt = inst_new("count", bogus);
	insts[1] = inst_new("accept", NULL);
	chain = chain_of(insts, 2);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, &res), GWLB_VERDICT_ACCEPT_FLOW);
	ck_assert_int_eq(res.index, 1);
	ck_assert_uint_eq(info_of(cnt).invalid, 1);
	ck_assert_uint_eq(info_of(cnt).verdicts[GWLB_VERDICT_CONTINUE], 0);
	ck_assert_int_eq(fk.nlines, 1);
	ck_assert_ptr_nonnull(strstr(fk.line[0], "returned 42"));
	ck_assert_int_eq(fk.prio[0], GWLB_LOG_ERR);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_ct_mark)
{
	static const char *const in_mask[] = { "mark=0x1200/0xff00", NULL };
	static const char *const out_mask[] = { "mark=0x10000/0x10100", NULL };
	static const char *const label[] = { "label=77", NULL };
	static const char *const bad_label[] = { "label=128", NULL };
	static const char *const initmark[] = { "initmark", NULL };
	struct gwlb_module_inst *insts[2], *in, *out, *lab, *bad;
	struct gwlb_chain_result res;
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;

	insts[0] = in = inst_new("count", in_mask);
	insts[1] = out = inst_new("count", out_mask);
	chain = chain_of(insts, 2);
	gwlb_chain_verdict(chain, &p, &res);
	ck_assert_uint_eq(counter(in, "mark_ok"), 1);
	ck_assert_uint_eq(counter(out, "mark_eperm"), 1);
	ck_assert_uint_eq(counter(out, "mark_ok"), 0);
	/* only the allowed request is in the result and reached the callback */
	ck_assert_uint_eq(res.mark_value, 0x1200);
	ck_assert_uint_eq(res.mark_mask, 0xff00);
	ck_assert_int_eq(fk.nmark, 1);
	ck_assert_uint_eq(fk.mark_value, 0x1200);
	ck_assert_uint_eq(fk.mark_mask, 0xff00);
	/* each packet starts with a clean result */
	gwlb_chain_verdict(chain, &p, &res);
	ck_assert_uint_eq(res.mark_mask, 0xff00);
	gwlb_chain_free(chain);

	insts[0] = lab = inst_new("count", label);
	insts[1] = bad = inst_new("count", bad_label);
	chain = chain_of(insts, 2);
	gwlb_chain_verdict(chain, &p, &res);
	ck_assert(res.labels_set);
	ck_assert_uint_eq(res.labels[2], 1u << 13);
	ck_assert_uint_eq(res.labels[0] | res.labels[1] | res.labels[3], 0);
	ck_assert_uint_eq(counter(lab, "label_ok"), 1);
	ck_assert_uint_eq(counter(bad, "label_err"), 1);
	ck_assert_int_eq(fk.nlabel, 1);
	ck_assert_uint_eq(fk.label_bit, 77);
	gwlb_chain_free(chain);

	/* outside a verdict there is no packet to mark */
	insts[0] = inst_new("count", initmark);
	ck_assert_uint_eq(counter(insts[0], "initmark_einval"), 1);
	gwlb_module_instance_put(insts[0]);
}
END_TEST

START_TEST(test_set)
{
	static const char *const add[] = { "set=blocklist", "timeout=30000", NULL };
	static const char *const del[] = { "del=blocklist", NULL };
	static const char *const missing[] = { "set=missing", NULL };
	struct gwlb_module_host_cfg nocb = host_cfg;
	struct gwlb_module_inst *inst;
	struct gwlb_module *mod;
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;
	char err[256];

	inst = inst_new("count", add);
	chain = chain_of(&inst, 1);
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nset, 1);
	ck_assert_int_eq(fk.set_del, 0);
	ck_assert_str_eq(fk.set_module, "count");
	ck_assert_str_eq(fk.set_name, "blocklist");
	ck_assert_uint_eq(fk.set_key_len, 4);
	ck_assert_mem_eq(fk.set_key, src4, 4);
	ck_assert_uint_eq(fk.set_timeout, 30000);
	ck_assert_uint_eq(counter(inst, "set_ok"), 1);
	gwlb_chain_free(chain);

	inst = inst_new("count", del);
	chain = chain_of(&inst, 1);
	p.family = 6;
	p.saddr = src6;
	p.daddr = dst6;
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nset, 2);
	ck_assert_int_eq(fk.set_del, 1);
	ck_assert_uint_eq(fk.set_key_len, 16);
	ck_assert_mem_eq(fk.set_key, src6, 16);
	ck_assert_uint_eq(counter(inst, "del_ok"), 1);
	gwlb_chain_free(chain);

	/* the callback's error reaches the module */
	inst = inst_new("count", missing);
	chain = chain_of(&inst, 1);
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_uint_eq(counter(inst, "set_err"), 1);
	gwlb_chain_free(chain);

	/* no callback: -EOPNOTSUPP, nothing recorded */
	nocb.set_add = NULL;
	mod = load("count");
	ck_assert_int_eq(gwlb_module_instance_new(mod, 1, add, &nocb, &inst, err, sizeof(err)), 0);
	gwlb_module_put(mod);
	chain = chain_of(&inst, 1);
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_uint_eq(counter(inst, "set_err"), 1);
	ck_assert_int_eq(fk.nset, 3);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_log_ratelimit)
{
	static const char *const argv[] = { "log=30", NULL };
	struct gwlb_module_inst *inst = inst_new("count", argv);
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain = chain_of(&inst, 1);
	int i;

	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nlines, 10);
	for (i = 0; i < 10; i++) {
		ck_assert_str_eq(fk.module[i], "count");
		ck_assert_msg(!strchr(fk.line[i], '\n'), "a newline got through");
	}
	ck_assert_str_eq(fk.line[0], "line 0?injected");
	ck_assert_str_eq(fk.line[9], "line 9?injected");
	ck_assert_uint_eq(info_of(inst).log_lines, 10);
	ck_assert_uint_eq(info_of(inst).log_suppressed, 20);

	/* still inside the window: nothing more */
	fk.now += GWLB_MODULE_LOG_WINDOW_MS - 1 - fk.now % GWLB_MODULE_LOG_WINDOW_MS;
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nlines, 10);
	ck_assert_uint_eq(info_of(inst).log_suppressed, 50);

	/* next window: the count of what was lost, then 10 lines again */
	fk.now += 1;
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_int_eq(fk.nlines, 21);
	ck_assert_str_eq(fk.line[10], "50 lines suppressed (limit 10 per 5 s)");
	ck_assert_int_eq(fk.prio[10], GWLB_LOG_WARNING);
	ck_assert_str_eq(fk.line[11], "line 0?injected");

	/* what was suppressed at the end is still reported when the instance goes */
	gwlb_chain_free(chain);
	ck_assert_int_eq(fk.nlines, 22);
	ck_assert_str_eq(fk.line[21], "20 lines suppressed (limit 10 per 5 s)");
}
END_TEST

START_TEST(test_counters_fill)
{
	static const char *const argv[] = { "fill", NULL };
	struct gwlb_module_inst *inst = inst_new("count", argv);
	struct gwlb_module_info info = info_of(inst);
	const char *name;
	uint64_t v;

	ck_assert_uint_eq(info.ncounters, GWLB_MODULE_COUNTERS_MAX);
	ck_assert_int_eq(gwlb_module_instance_counter(inst, 0, &name, &v), 0);
	ck_assert_str_eq(name, "packets");
	ck_assert_int_eq(gwlb_module_instance_counter(inst, GWLB_MODULE_COUNTERS_MAX - 1, &name,
						      &v), 0);
	ck_assert_str_eq(name, "fill19");
	ck_assert_int_eq(gwlb_module_instance_counter(inst, GWLB_MODULE_COUNTERS_MAX, &name, &v),
			 -ENOENT);
	ck_assert_int_eq(gwlb_module_instance_counter_get(inst, "nope", &v), -ENOENT);
	gwlb_module_instance_put(inst);
}
END_TEST

static int collect(const struct gwlb_module_inst *inst, void *arg)
{
	char *s = arg;
	struct gwlb_module_info info;

	gwlb_module_instance_info(inst, &info);
	strcat(s, info.name);
	strcat(s, "(");
	strcat(s, info.args);
	strcat(s, ") ");
	return 0;
}

START_TEST(test_lifetime)
{
	static const char *const argv[] = { "verdict=accept", NULL };
	struct gwlb_module_inst *insts[2], *a, *c;
	struct gwlb_chain *old, *new;
	struct gwlb_pkt p = pkt4(80, 1);
	char list[256] = "";

	insts[0] = c = inst_new("count", argv);
	insts[1] = a = inst_new("accept", NULL);
	ck_assert_int_eq(gwlb_chain_new(insts, 2, &old), 0);
	ck_assert_int_eq(gwlb_chain_verdict(old, &p, NULL), GWLB_VERDICT_ACCEPT);
	gwlb_module_instance_foreach(collect, list);
	ck_assert_str_eq(list, "count(verdict=accept) accept() ");

	/* reload: the new chain keeps accept only; the old one goes after the grace period */
	ck_assert_int_eq(gwlb_chain_new(&a, 1, &new), 0);
	gwlb_module_instance_put(c);
	gwlb_module_instance_put(a);
	ck_assert_int_eq(fk.nlines, 0);
	gwlb_chain_free(old);
	/* count's fini ran (it logs), accept lives on with its counters */
	ck_assert_int_eq(fk.nlines, 1);
	ck_assert_str_eq(fk.line[0], "fini");
	ck_assert_str_eq(fk.module[0], "count");
	list[0] = '\0';
	gwlb_module_instance_foreach(collect, list);
	ck_assert_str_eq(list, "accept() ");
	ck_assert_int_eq(gwlb_chain_verdict(new, &p, NULL), GWLB_VERDICT_ACCEPT_FLOW);
	ck_assert_uint_eq(info_of(a).verdicts[GWLB_VERDICT_ACCEPT_FLOW], 1);
	gwlb_chain_free(new);
	list[0] = '\0';
	gwlb_module_instance_foreach(collect, list);
	ck_assert_str_eq(list, "");
}
END_TEST

#define THREAD_PKTS 20000

static void *judge_thread(void *arg)
{
	struct gwlb_chain *chain = arg;
	struct gwlb_chain_result res;
	struct gwlb_pkt p = pkt4(80, 1);
	long bad = 0;
	int i;

	for (i = 0; i < THREAD_PKTS; i++) {
		if (gwlb_chain_verdict(chain, &p, &res) != GWLB_VERDICT_ACCEPT_FLOW ||
		    res.mark_value != 0x300 || res.mark_mask != 0xff00)
			bad++;
	}
	return (void *)bad;
}

START_TEST(test_threads)
{
	static const char *const argv[] = { "mark=0x300/0xff00", NULL };
	struct gwlb_module_inst *insts[2], *cnt, *acc;
	uint64_t totals[GWLB_MODULE_NVERDICTS];
	struct gwlb_chain *chain;
	pthread_t t[2];
	void *bad;
	int i;

	/* the fakes are not thread-safe: the result alone carries the mark here */
	host_cfg.ct_mark_set = NULL;
	insts[0] = cnt = inst_new("count", argv);
	insts[1] = acc = inst_new("accept", NULL);
	host_cfg.ct_mark_set = fake_ct_mark_set;
	chain = chain_of(insts, 2);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, judge_thread, chain), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &bad);
		ck_assert_ptr_null(bad);
	}
	ck_assert_uint_eq(counter(cnt, "packets"), 2 * THREAD_PKTS);
	ck_assert_uint_eq(counter(cnt, "mark_ok"), 2 * THREAD_PKTS);
	ck_assert_uint_eq(info_of(cnt).verdicts[GWLB_VERDICT_CONTINUE], 2 * THREAD_PKTS);
	ck_assert_uint_eq(info_of(acc).verdicts[GWLB_VERDICT_ACCEPT_FLOW], 2 * THREAD_PKTS);
	gwlb_chain_totals(chain, totals);
	ck_assert_uint_eq(totals[GWLB_VERDICT_ACCEPT_FLOW], 2 * THREAD_PKTS);
	gwlb_chain_free(chain);
}
END_TEST

static void load_cycle(void)
{
	struct gwlb_module_inst *insts[2];
	struct gwlb_pkt p = pkt4(80, 1);
	struct gwlb_chain *chain;

	insts[0] = inst_new("log", NULL);
	insts[1] = inst_new("accept", NULL);
	chain = chain_of(insts, 2);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_ACCEPT_FLOW);
	gwlb_chain_free(chain);
}

START_TEST(test_load_unload)
{
	struct gwlb_module *mod = load("accept");
	char path[4096];
	size_t before;
	int fds, i;

	snprintf(path, sizeof(path), "%s", gwlb_module_path(mod));
	gwlb_module_put(mod);
	/* warm up: the dynamic loader keeps a few hundred bytes after its first rounds */
	for (i = 0; i < 20; i++)
		load_cycle();
	fds = count_fds();
	before = mallinfo2().uordblks;
	for (i = 0; i < 100; i++)
		load_cycle();
	ck_assert_int_eq(count_fds(), fds);
	/* a leak of even one small allocation per cycle would be several KB here */
	ck_assert_msg(mallinfo2().uordblks <= before + 512, "heap grew from %zu to %zu bytes",
		      before, mallinfo2().uordblks);
	/* the last put really unloaded the object */
	ck_assert_ptr_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
}
END_TEST

/* ---- a module built out of tree against the installed header (tests/lab/module-oot.sh) ---- */

START_TEST(test_oot)
{
	const char *dir = getenv("GWLB_TEST_OOT_DIR");
	const char *d[2] = { dir, NULL };
	struct gwlb_module_inst *inst;
	struct gwlb_module *mod;
	struct gwlb_chain *chain;
	struct gwlb_pkt p = pkt4(80, 1);
	char err[512];

	if (!dir) {
		fprintf(stderr, "oot: GWLB_TEST_OOT_DIR not set, nothing to check\n");
		return;
	}
	ck_assert_msg(gwlb_module_load("oot", d, &mod, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(gwlb_module_path(mod), dir));
	ck_assert_msg(gwlb_module_instance_new(mod, 0, NULL, &host_cfg, &inst, err,
					       sizeof(err)) == 0, "%s", err);
	gwlb_module_put(mod);
	chain = chain_of(&inst, 1);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_CONTINUE);
	p.dport = 23;
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_DROP_FLOW);
	ck_assert_uint_eq(counter(inst, "telnet"), 1);
	gwlb_chain_free(chain);
	printf("oot: %s loaded and judged\n", dir);
}
END_TEST

/* ---- ABI 1.1: declared sets ---- */

START_TEST(test_abi10_module)
{
	const char *argv[] = { "set=blocked", NULL };
	struct gwlb_module_inst *inst;
	struct gwlb_chain *chain;
	struct gwlb_pkt p;

	/* built against the 1.0 header: loads, and every 1.0 service works as before */
	inst = inst_new("v10", argv);
	ck_assert_int_eq(fk.nlines, 1);
	ck_assert_str_eq(fk.line[0], "1.0 module up, 4 threads");
	chain = chain_of(&inst, 1);
	p = pkt4(23, 1);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_DROP_FLOW);
	p = pkt4(80, 1);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_CONTINUE);
	ck_assert_uint_eq(counter(inst, "packets"), 2);
	ck_assert_int_eq(fk.nset, 2);
	ck_assert_str_eq(fk.set_module, "v10");
	ck_assert_str_eq(fk.set_name, "blocked");
	ck_assert_mem_eq(fk.set_key, src4, 4);
	ck_assert_int_eq(fk.ndecl, 0);
	gwlb_chain_free(chain);
}
END_TEST

START_TEST(test_abi11_sets)
{
	const char *argv[] = { "declare", NULL };
	static const uint8_t a[4] = { 10, 0, 0, 0 }, b[4] = { 10, 255, 255, 255 };
	struct gwlb_module_host_cfg nosets = host_cfg;
	struct gwlb_module_inst *inst;
	struct gwlb_module *mod;
	struct gwlb_chain *chain;
	struct gwlb_pkt p;
	char err[512];

	inst = inst_new("sets", argv);
	/* namespaced by the module, the spec copied */
	ck_assert_int_eq(fk.ndecl, 2);
	ck_assert_str_eq(fk.decl_module[0], "sets");
	ck_assert_str_eq(fk.decl_name[0], "sets_x4");
	ck_assert_uint_eq(fk.decl[0].family, 4);
	ck_assert_uint_eq(fk.decl[0].match, GWLB_SET_MATCH_SRC);
	ck_assert_uint_eq(fk.decl[0].action, GWLB_SET_ACTION_DROP);
	ck_assert_uint_eq(fk.decl[0].interval, 1);
	ck_assert_uint_eq(fk.decl[0].timeout_ms, 0);
	ck_assert_str_eq(fk.decl_name[1], "sets_y6");
	ck_assert_uint_eq(fk.decl[1].match, GWLB_SET_MATCH_EITHER);
	ck_assert_uint_eq(fk.decl[1].action, GWLB_SET_ACTION_ACCEPT);
	ck_assert_uint_eq(fk.decl[1].timeout_ms, 5000);
	ck_assert_int_eq(fk.nload, 2);
	ck_assert_str_eq(fk.load_set[0], "sets_x4");
	ck_assert_mem_eq(fk.load_first[0], a, 4);
	ck_assert_mem_eq(fk.load_last[0], b, 4);
	ck_assert_str_eq(fk.load_set[1], "sets_y6");
	ck_assert_uint_eq(fk.load_len[1], 16);
	/* from verdict(): refused, and nothing reaches the host */
	chain = chain_of(&inst, 1);
	p = pkt4(80, 1);
	gwlb_chain_verdict(chain, &p, NULL);
	ck_assert_uint_eq(counter(inst, "late_eperm"), 1);
	ck_assert_int_eq(fk.ndecl, 2);
	ck_assert_int_eq(fk.nload, 2);
	gwlb_chain_free(chain);

	/* a host without set support says so */
	nosets.set_declare = NULL;
	nosets.set_load = NULL;
	mod = load("sets");
	ck_assert_int_ne(gwlb_module_instance_new(mod, 1, argv, &nosets, &inst, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "declare x4: -95, expected 0"), "%s", err);
	gwlb_module_put(mod);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_cidr)
{
	static const uint8_t lo4[4] = { 10, 0, 0, 0 }, hi4[4] = { 10, 255, 255, 255 };
	static const uint8_t hi6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	char deny[] = "/tmp/gwlb-cidr-deny-XXXXXX", allow[] = "/tmp/gwlb-cidr-allow-XXXXXX";
	char darg[64], aarg[64];
	const char *argv[] = { darg, aarg, "match=both", "block-timeout=30", NULL };
	struct gwlb_module_inst *inst;
	struct gwlb_chain *chain;
	struct gwlb_pkt p;

	close(mkstemp(deny));
	close(mkstemp(allow));
	write_file(deny, "# bad\n10.0.0.0/8\n2001:db8::/32  # docs\n");
	write_file(allow, "198.19.1.0/24\n");
	snprintf(darg, sizeof(darg), "deny-file=%s", deny);
	snprintf(aarg, sizeof(aarg), "allow-file=%s", allow);
	inst = inst_new("cidr", argv);
	ck_assert_int_eq(fk.ndecl, 6);
	ck_assert_str_eq(fk.decl_name[0], "cidr_block4");
	ck_assert_uint_eq(fk.decl[0].timeout_ms, 30000);
	ck_assert_uint_eq(fk.decl[0].interval, 0);
	ck_assert_uint_eq(fk.decl[0].action, GWLB_SET_ACTION_DROP);
	ck_assert_str_eq(fk.decl_name[1], "cidr_block6");
	ck_assert_str_eq(fk.decl_name[2], "cidr_deny4");
	ck_assert_uint_eq(fk.decl[2].interval, 1);
	ck_assert_uint_eq(fk.decl[2].match, GWLB_SET_MATCH_EITHER);
	ck_assert_str_eq(fk.decl_name[3], "cidr_deny6");
	ck_assert_str_eq(fk.decl_name[4], "cidr_allow4");
	ck_assert_uint_eq(fk.decl[4].action, GWLB_SET_ACTION_ACCEPT);
	ck_assert_str_eq(fk.decl_name[5], "cidr_allow6");
	/* prefixes as first .. last */
	ck_assert_int_eq(fk.nload, 3);
	ck_assert_str_eq(fk.load_set[0], "cidr_deny4");
	ck_assert_mem_eq(fk.load_first[0], lo4, 4);
	ck_assert_mem_eq(fk.load_last[0], hi4, 4);
	ck_assert_str_eq(fk.load_set[1], "cidr_deny6");
	ck_assert_mem_eq(fk.load_last[1], hi6, 16);
	ck_assert_str_eq(fk.load_set[2], "cidr_allow4");
	ck_assert_uint_eq(counter(inst, "deny_prefixes"), 2);
	ck_assert_uint_eq(counter(inst, "allow_prefixes"), 1);
	/* the kernel decides: what reaches the module is counted and left to the others */
	chain = chain_of(&inst, 1);
	p = pkt4(80, 1);
	ck_assert_int_eq(gwlb_chain_verdict(chain, &p, NULL), GWLB_VERDICT_CONTINUE);
	ck_assert_uint_eq(counter(gwlb_chain_inst(chain, 0), "queued"), 1);
	gwlb_chain_free(chain);
	unlink(deny);
	unlink(allow);
}
END_TEST

static const struct {
	const char *file;	/* deny-file contents; NULL: no such file */
	const char *arg;	/* another argument, or NULL */
	const char *want;	/* in the refusal; a leading ':' follows the file's name */
} cidr_bad[] = {
	{ "10.0.0.0/8\n# x\n10.0.0.0/40\n", NULL,
	  ":3: bad prefix '10.0.0.0/40': expected ADDRESS[/LENGTH]" },
	{ "10.0.0.0/8 192.0.2.0/24\n", NULL, ":1: one prefix per line" },
	{ NULL, NULL, ": No such file or directory" },
	{ "", "match=sideways", "unknown argument \"match=sideways\"" },
	{ "", "block-timeout=10m", "bad block-timeout \"10m\"" },
	{ "", "block-timeout=999999999", "bad block-timeout" },
};

START_TEST(test_cidr_refusals)
{
	char path[] = "/tmp/gwlb-cidr-bad-XXXXXX", darg[64], want[256], err[512];
	const char *argv[3] = { darg, cidr_bad[_i].arg, NULL };
	struct gwlb_module_inst *inst = (void *)1;
	struct gwlb_module *mod;
	int rc;

	close(mkstemp(path));
	if (cidr_bad[_i].file)
		write_file(path, cidr_bad[_i].file);
	else
		unlink(path);
	snprintf(darg, sizeof(darg), "deny-file=%s", path);
	snprintf(want, sizeof(want), "%s%s", cidr_bad[_i].want[0] == ':' ? path : "",
		 cidr_bad[_i].want);
	mod = load("cidr");
	rc = gwlb_module_instance_new(mod, cidr_bad[_i].arg ? 2 : 1, argv, &host_cfg, &inst, err,
				      sizeof(err));
	ck_assert_int_lt(rc, 0);
	ck_assert_ptr_null(inst);
	ck_assert_msg(strstr(err, want), "refusal \"%s\" lacks \"%s\"", err, want);
	ck_assert_msg(strstr(err, "verdict_cidr.so: init refused"), "%s", err);
	gwlb_module_put(mod);
	unlink(path);
}
END_TEST

static Suite *module_suite(void)
{
	Suite *s = suite_create("module");
	TCase *tc;

	tc = tcase_create("builtin");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_accept);
	tcase_add_test(tc, test_accept_bad_arg);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_log_v6_and_ct_new);
	tcase_add_loop_test(tc, test_log_bad_arg, 0,
			    sizeof(log_bad_args) / sizeof(log_bad_args[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_refuse_abi_major);
	tcase_add_test(tc, test_refuse_abi_minor);
	tcase_add_test(tc, test_refuse_nosym);
	tcase_add_test(tc, test_refuse_failinit);
	tcase_add_test(tc, test_refuse_name_mismatch);
	tcase_add_test(tc, test_refuse_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_chain_early_decision);
	tcase_add_test(tc, test_chain_invalid_verdict);
	tcase_add_test(tc, test_ct_mark);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_log_ratelimit);
	tcase_add_test(tc, test_counters_fill);
	tcase_add_test(tc, test_lifetime);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_load_unload);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("sets");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_abi10_module);
	tcase_add_test(tc, test_abi11_sets);
	tcase_add_test(tc, test_cidr);
	tcase_add_loop_test(tc, test_cidr_refusals, 0, sizeof(cidr_bad) / sizeof(cidr_bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("oot");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_oot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(module_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
