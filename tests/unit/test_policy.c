/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

#define ENI_DOC	0x076bc493b822cd32fULL	/* gwlbtun's documented example: gwi-e8WXgsTQDkf */

/*
 * Allocation failure injection: while fail_after >= 0, the allocation after that many
 * more fails. These interpose glibc's for the whole program, so they stay armed only
 * around one parse call.
 */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static long fail_after = -1;
static long allocs;

static bool alloc_fails(void)
{
	allocs++;
	if (fail_after < 0)
		return false;
	if (fail_after-- == 0) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *malloc(size_t n)
{
	return alloc_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __libc_realloc(p, n);
}

static struct gwlb_policy *parse_ok(const char *text)
{
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	int rc;

	rc = gwlb_policy_parse_string(text, "t.conf", &p, &err);
	ck_assert_msg(rc == 0, "parse failed: %d %s:%d: %s", rc, err.file, err.line, err.reason);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void assert_args(const struct gwlb_policy_module *m, const char *name, int argc, ...)
{
	va_list ap;
	int i;

	ck_assert_str_eq(m->name, name);
	ck_assert_int_eq(m->argc, argc);
	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		ck_assert_str_eq(m->argv[i], va_arg(ap, const char *));
	va_end(ap);
	ck_assert_ptr_null(m->argv[argc]);
}

/* The structure of contrib/policy.conf.example (and of the man page's first example). */
static void assert_example(const struct gwlb_policy *p)
{
	const struct gwlb_policy_queue *q = &p->queue;
	const struct gwlb_policy_chain *c;

	ck_assert_uint_eq(q->first, 0);
	ck_assert_uint_eq(q->count, 2);
	ck_assert_uint_eq(q->maxlen, 4096);
	ck_assert(q->fail_open);
	ck_assert(q->bypass);
	ck_assert(!q->fanout);
	ck_assert_int_eq(q->priority, -10);
	ck_assert_int_eq(q->post_priority, 10);
	ck_assert_uint_eq(q->module_mark_mask, 0xff000000u);
	ck_assert_int_eq(q->on_module_error, GWLB_POLICY_ON_ERROR_SKIP);
	ck_assert_uint_eq(q->stall_timeout, 5);

	ck_assert_uint_eq(p->global.eni_id, 0);
	ck_assert_uint_eq(p->global.n_modules, 3);
	assert_args(&p->global.modules[0], "log", 1, "sample=10");
	assert_args(&p->global.modules[1], "sni", 3, "allow=*.example.com,example.org",
		    "deny=*.bad.test", "unknown=drop");
	assert_args(&p->global.modules[2], "accept", 0);

	ck_assert_uint_eq(p->n_enis, 1);
	c = &p->enis[0];
	ck_assert_uint_eq(c->eni_id, ENI_DOC);
	ck_assert_uint_eq(c->n_modules, 2);
	assert_args(&c->modules[0], "cidr", 4, "deny-file=/etc/gwlbnf/deny.txt",
		    "allow-file=/etc/gwlbnf/allow.txt", "match=src", "block-timeout=600");
	assert_args(&c->modules[1], "accept", 0);
	ck_assert_ptr_eq(gwlb_policy_chain_for(p, ENI_DOC), c);
	ck_assert_ptr_eq(gwlb_policy_chain_for(p, ENI_DOC + 1), &p->global);
	ck_assert_ptr_eq(gwlb_policy_chain_for(p, 0), &p->global);

	ck_assert_uint_eq(p->n_dirs, 1);
	ck_assert_str_eq(p->dirs[0], "/opt/gwlbnf/modules");
	ck_assert_ptr_null(p->dirs[1]);
}

static const char example[] =
	"[queue]\n"
	"first = 0            ; first NFQUEUE number\n"
	"count = 2\n"
	"maxlen = 4096\n"
	"fail = open\n"
	"fanout = no\n"
	"priority = -10\n"
	"module-mark-mask = 0xff000000   ; ct mark bits modules may set\n"
	"on-module-error = skip\n"
	"\n"
	"[policy]               ; the global chain\n"
	"module = log sample=10\n"
	"module = sni allow=*.example.com,example.org deny=*.bad.test unknown=drop\n"
	"module = accept\n"
	"\n"
	"[eni eni-076bc493b822cd32f]\n"
	"module = cidr deny-file=/etc/gwlbnf/deny.txt allow-file=/etc/gwlbnf/allow.txt\n"
	"\tmatch=src block-timeout=600\n"
	"module = accept\n"
	"\n"
	"[module-path]\n"
	"dir = /opt/gwlbnf/modules\n";

START_TEST(test_example)
{
	struct gwlb_policy *p = parse_ok(example);

	ck_assert_str_eq(p->file, "t.conf");
	assert_example(p);
	ck_assert_int_eq(p->global.line, 11);
	ck_assert_int_eq(p->enis[0].line, 16);
	ck_assert_int_eq(p->global.modules[0].line, 12);
	ck_assert_int_eq(p->enis[0].modules[1].line, 19);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_example_file)
{
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	const char *top = getenv("top_srcdir");
	char path[4096];
	int rc;

#ifdef TOP_SRCDIR
	if (!top)
		top = TOP_SRCDIR;
#endif
	if (!top)
		top = ".";
	snprintf(path, sizeof(path), "%s/contrib/policy.conf.example", top);
	rc = gwlb_policy_parse_file(path, &p, &err);
	ck_assert_msg(rc == 0, "%s:%d: %s", err.file, err.line, err.reason);
	ck_assert_str_eq(p->file, path);
	assert_example(p);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_defaults)
{
	static const char *const texts[] = {
		"",
		"\n\n",
		"; only a comment\n# and another\n",
		"[queue]\n",
		"[policy]\n",
		"[module-path]\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct gwlb_policy *p = parse_ok(texts[i]);
		const struct gwlb_policy_queue *q = &p->queue;

		ck_assert_uint_eq(q->first, 0);
		ck_assert_uint_eq(q->count, 1);
		ck_assert_uint_eq(q->maxlen, 4096);
		ck_assert(q->fail_open);
		ck_assert(q->bypass);
		ck_assert(!q->fanout);
		ck_assert_int_eq(q->priority, -10);
		ck_assert_int_eq(q->post_priority, 10);
		ck_assert_uint_eq(q->module_mark_mask, 0);
		ck_assert_int_eq(q->on_module_error, GWLB_POLICY_ON_ERROR_SKIP);
		ck_assert_uint_eq(q->stall_timeout, 5);
		ck_assert_uint_eq(p->global.n_modules, 0);
		ck_assert_uint_eq(p->n_enis, 0);
		ck_assert_uint_eq(p->n_dirs, 0);
		ck_assert_ptr_eq(gwlb_policy_chain_for(p, ENI_DOC), &p->global);
		gwlb_policy_free(p);
	}
	/* NULL text and name: the defaults, named "<string>" */
	{
		struct gwlb_policy *p = NULL;

		ck_assert_int_eq(gwlb_policy_parse_string(NULL, NULL, &p, NULL), 0);
		ck_assert_str_eq(p->file, "<string>");
		gwlb_policy_free(p);
	}
}
END_TEST

START_TEST(test_queue_values)
{
	struct gwlb_policy *p;

	p = parse_ok("[queue]\nfirst = 0x10\ncount = 64\nmaxlen = 1048576\nfail = closed\n"
		     "fanout = yes\npriority = -1000\npost-priority = 1000\n"
		     "module-mark-mask = 0xfff80000\non-module-error = refuse-start\n"
		     "drop-flow-timeout = 300\nstall-timeout = 3600\n");
	ck_assert_uint_eq(p->queue.first, 16);
	ck_assert_uint_eq(p->queue.count, 64);
	ck_assert_uint_eq(p->queue.maxlen, 1048576);
	ck_assert(!p->queue.fail_open);
	ck_assert(!p->queue.bypass);		/* follows fail when not given */
	ck_assert(p->queue.fanout);
	ck_assert_int_eq(p->queue.priority, -1000);
	ck_assert_int_eq(p->queue.post_priority, 1000);
	ck_assert_uint_eq(p->queue.module_mark_mask, 0xfff80000u);
	ck_assert_int_eq(p->queue.on_module_error, GWLB_POLICY_ON_ERROR_REFUSE);
	ck_assert_uint_eq(p->queue.drop_flow_timeout, 300);
	ck_assert_uint_eq(p->queue.stall_timeout, 3600);
	gwlb_policy_free(p);

	/* 0 turns the watchdog off */
	p = parse_ok("[queue]\nstall-timeout = 0\n");
	ck_assert_uint_eq(p->queue.stall_timeout, 0);
	gwlb_policy_free(p);
	p = parse_ok("[queue]\nstall-timeout = 1\n");
	ck_assert_uint_eq(p->queue.stall_timeout, 1);
	gwlb_policy_free(p);

	p = parse_ok("[queue]\ndrop-flow-timeout = 0\n");
	ck_assert_uint_eq(p->queue.drop_flow_timeout, 0);
	gwlb_policy_free(p);
	p = parse_ok("");
	ck_assert_uint_eq(p->queue.drop_flow_timeout, GWLB_POLICY_DEF_DROP_FLOW_TIMEOUT);
	gwlb_policy_free(p);

	p = parse_ok("[queue]\nfail = closed\nbypass = on\nfanout = true\n");
	ck_assert(!p->queue.fail_open);
	ck_assert(p->queue.bypass);
	ck_assert(p->queue.fanout);
	gwlb_policy_free(p);

	p = parse_ok("[queue]\nbypass = 0\nfirst: 65535\n");	/* "key: value" too */
	ck_assert(p->queue.fail_open);
	ck_assert(!p->queue.bypass);
	ck_assert_uint_eq(p->queue.first, 65535);
	gwlb_policy_free(p);
}
END_TEST

struct err_case {
	const char *text;
	int line;
	const char *reason;	/* a part of the reason */
};

static const struct err_case errs[] = {
	{ "[queue]\nfirst = 0\ncount = 2\nmaxlen = 4096\nfial = open\n", 5, "unknown key 'fial'" },
	{ "[queue]\n\n[qeueu]\n", 3, "unknown section [qeueu]" },
	{ "[Queue]\n", 1, "unknown section [Queue]" },
	{ "[queue]\ncount = two\n", 2, "bad number 'two' for 'count'" },
	{ "[queue]\ncount = 2x\n", 2, "bad number" },
	{ "[queue]\ncount = -1\n", 2, "bad number" },
	{ "[queue]\ncount =\n", 2, "bad number '' for 'count'" },
	{ "[queue]\nfirst = 0x\n", 2, "bad number" },
	{ "[queue]\npriority = --5\n", 2, "bad number" },
	{ "[queue]\ncount = 0\n", 2, "'count' out of range" },
	{ "[queue]\ncount = 65\n", 2, "'count' out of range" },
	{ "[queue]\nfirst = 65536\n", 2, "'first' out of range" },
	{ "[queue]\nfirst = 99999999999999999999999\n", 2, "'first' out of range" },
	{ "[queue]\nmaxlen = 0\n", 2, "'maxlen' out of range" },
	{ "[queue]\nmaxlen = 1048577\n", 2, "'maxlen' out of range" },
	{ "[queue]\npriority = -1001\n", 2, "'priority' out of range" },
	{ "[queue]\nmodule-mark-mask = 0x100000000\n", 2, "out of range: 0x100000000 (0..0xffffffff)" },
	{ "[queue]\nmodule-mark-mask = 0xff040000\n", 2, "overlaps gwlbd's mark bits" },
	{ "[queue]\ndrop-flow-timeout = 86401\n", 2, "'drop-flow-timeout' out of range" },
	{ "[queue]\ndrop-flow-timeout = 1m\n", 2, "bad number '1m' for 'drop-flow-timeout'" },
	{ "[queue]\nstall-timeout = 3601\n", 2, "'stall-timeout' out of range" },
	{ "[queue]\nstall-timeout = 5s\n", 2, "bad number '5s' for 'stall-timeout'" },
	{ "[queue]\nstall-timeout = off\n", 2, "bad number 'off' for 'stall-timeout'" },
	{ "[queue]\nstall-timeout = -1\n", 2, "bad number" },
	{ "[queue]\nstall-timeout = 5\nstall-timeout = 0\n", 3,
	  "duplicate key 'stall-timeout' in [queue] (first at line 2)" },
	{ "[queue]\nfail = maybe\n", 2, "bad value 'maybe' for 'fail'" },
	{ "[queue]\nfail = Open\n", 2, "bad value 'Open' for 'fail'" },
	{ "[queue]\nfanout = perhaps\n", 2, "bad value 'perhaps' for 'fanout'" },
	{ "[queue]\nbypass = 2\n", 2, "bad value '2' for 'bypass'" },
	{ "[queue]\non-module-error = abort\n", 2, "bad value 'abort' for 'on-module-error'" },
	{ "[queue]\ncount = 2\n; c\ncount = 3\n", 4, "duplicate key 'count' in [queue] (first at line 2)" },
	{ "[queue]\ncount = 2\nfirst = 65535\n", 3, "above 65535" },
	{ "[queue]\nfirst = 65535\n\ncount = 2\n", 4, "above 65535" },
	{ "[queue]\npriority = 20\n", 2, "must be greater than 'priority'" },
	{ "[queue]\npriority = 5\npost-priority = 5\n", 3, "must be greater than 'priority'" },
	{ "[eni eni-xyz]\nmodule = accept\n", 1, "bad ENI id 'eni-xyz'" },
	{ "[eni 0]\nmodule = accept\n", 1, "bad ENI id '0'" },
	{ "[eni 1 2]\nmodule = accept\n", 1, "bad ENI id '1 2'" },
	{ "[eni]\nmodule = accept\n", 1, "bad ENI id" },
	{ "[eni eni-176bc493b822cd32f]\nmodule = accept\n", 1, "bad ENI id" },
	{ "[eni eni-076bc493b822cd32f]\nmodule = accept\n\n[eni 0x76bc493b822cd32f]\n", 4,
	  "duplicate section [eni 0x76bc493b822cd32f]: eni-076bc493b822cd32f already has one (first at line 1)" },
	{ "[eni gwi-e8WXgsTQDkf]\nmodule = accept\n[eni 76bc493b822cd32f]\nmodule = accept\n", 3,
	  "duplicate section" },
	{ "[eni eni-076bc493b822cd32f]\n; nothing\n\n[policy]\nmodule = accept\n", 1,
	  "has no module lines" },
	{ "[policy]\nmodule = accept\n[eni 0x1]\n", 3, "has no module lines" },
	{ "[policy]\nmodule = accept\n[policy]\n", 3, "duplicate section [policy] (first at line 1)" },
	{ "[queue]\n[module-path]\n[queue]\n", 3, "duplicate section [queue]" },
	{ "[policy]\nmodule =\n", 2, "without a module name" },
	{ "[policy]\nmodule = ; just a comment\n", 2, "without a module name" },
	{ "[policy]\nmodule = \"\"\n", 2, "bad module name ''" },
	{ "[policy]\nmodule = Accept\n", 2, "bad module name 'Accept'" },
	{ "[policy]\nmodule = my-mod\n", 2, "bad module name 'my-mod'" },
	{ "[policy]\nmodule = ../evil\n", 2, "bad module name '../evil'" },
	{ "[policy]\nmodule = 0123456789012345678901234567890123456789012345678901234567890123x\n", 2,
	  "bad module name" },
	{ "[policy]\nmodule = sni allow=\"a b\n", 2, "unterminated quote" },
	{ "[policy]\nmodule = sni 'allow\n", 2, "unterminated quote" },
	/* ';' after a blank starts a comment even inside quotes */
	{ "[policy]\nmodule = sni \"a ;b\"\n", 2, "unterminated quote" },
	{ "[policy]\nmodule = log\nmdoule = accept\n", 3, "unknown key 'mdoule' in [policy]" },
	{ "[eni 0x5]\nmodules = accept\n", 2, "unknown key 'modules' in [eni eni-00000000000000005]" },
	{ "count = 2\n", 1, "before any section" },
	{ "\n[queue\ncount = 2\n", 2, "missing ']'" },
	{ "[queue] count = 2\n", 1, "unexpected text after ']'" },
	{ "[queue]\njunk\n", 2, "expected 'key = value'" },
	{ "[queue]\nfail open = yes\n", 2, "unknown key 'fail open' in [queue]" },
	{ "[queue]\nfirst=1\naaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffff = 1\n", 3,
	  "unknown key 'aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd" },
	{ "[queue]\ncount ; = 2\n", 2, "expected 'key = value'" },
	{ "[policy]\nmodule = log\n  [queue]\n", 3, "indented section header" },
	{ "[queue]\ncount = 2\n  maxlen = 5\n", 3, "indented line continues 'count'" },
	{ "[policy]\nmodule = log\n\tmodule = accept\n", 3, "indented module line" },
	{ "[module-path]\ndir = modules\n", 2, "must be an absolute path" },
	{ "[module-path]\ndir =\n", 2, "must be an absolute path" },
	{ "[module-path]\ndirs = /x\n", 2, "unknown key 'dirs' in [module-path]" },
};

START_TEST(test_errors)
{
	const struct err_case *c = &errs[_i];
	struct gwlb_policy *p = (struct gwlb_policy *)&p;	/* must stay untouched */
	struct gwlb_policy_err err;
	int rc;

	memset(&err, 0xa5, sizeof(err));
	rc = gwlb_policy_parse_string(c->text, "bad.conf", &p, &err);
	ck_assert_msg(rc == -EINVAL, "case %d: rc %d", _i, rc);
	ck_assert_ptr_eq(p, (struct gwlb_policy *)&p);
	ck_assert_str_eq(err.file, "bad.conf");
	ck_assert_msg(err.line == c->line, "case %d: line %d, want %d (%s)", _i, err.line, c->line,
		      err.reason);
	ck_assert_msg(strstr(err.reason, c->reason), "case %d: reason '%s' lacks '%s'", _i,
		      err.reason, c->reason);
}
END_TEST

/* A NUL inside the text: parse_string would stop there, parse_buf must not. */
START_TEST(test_nul_byte)
{
	static const uint8_t text[] = "[queue]\ncount = 2\nfirst = 1\0\n";
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;

	ck_assert_int_eq(gwlb_policy_parse_buf(text, sizeof(text) - 1, "nul", &p, &err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(err.line, 3);
	ck_assert_ptr_nonnull(strstr(err.reason, "NUL byte"));

	/* The same bytes up to the NUL are fine. */
	ck_assert_int_eq(gwlb_policy_parse_buf(text, sizeof(text) - 3, "nul", &p, &err), 0);
	ck_assert_uint_eq(p->queue.first, 1);
	ck_assert_uint_eq(p->queue.count, 2);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_too_many)
{
	char *text = malloc(64 * 1024);
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	size_t off = 0;
	int i;

	/* 32 modules fit, the 33rd (line 34) does not */
	off = (size_t)sprintf(text, "[policy]\n");
	for (i = 0; i < GWLB_POLICY_MAX_MODULES; i++)
		off += (size_t)sprintf(text + off, "module = m%d a%d\n", i, i);
	p = parse_ok(text);
	ck_assert_uint_eq(p->global.n_modules, GWLB_POLICY_MAX_MODULES);
	assert_args(&p->global.modules[31], "m31", 1, "a31");
	gwlb_policy_free(p);
	p = NULL;
	sprintf(text + off, "module = one_too_many\n");
	ck_assert_int_eq(gwlb_policy_parse_string(text, "x", &p, &err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(err.line, 34);
	ck_assert_ptr_nonnull(strstr(err.reason, "too many modules in [policy]"));

	/* 64 arguments fit (over continuation lines), 65 do not */
	off = (size_t)sprintf(text, "[eni 0x7]\nmodule = many\n");
	for (i = 0; i < GWLB_POLICY_MAX_ARGS; i++)
		off += (size_t)sprintf(text + off, "  a%d\n", i);
	p = parse_ok(text);
	ck_assert_int_eq(p->enis[0].modules[0].argc, GWLB_POLICY_MAX_ARGS);
	ck_assert_str_eq(p->enis[0].modules[0].argv[63], "a63");
	ck_assert_ptr_null(p->enis[0].modules[0].argv[64]);
	gwlb_policy_free(p);
	p = NULL;
	sprintf(text + off, "  a64\n");
	ck_assert_int_eq(gwlb_policy_parse_string(text, "x", &p, &err), -EINVAL);
	ck_assert_int_eq(err.line, 2 + GWLB_POLICY_MAX_ARGS + 1);
	ck_assert_ptr_nonnull(strstr(err.reason, "too many arguments for module 'many'"));

	/* the same on one line */
	off = (size_t)sprintf(text, "[policy]\nmodule = many");
	for (i = 0; i < GWLB_POLICY_MAX_ARGS + 1; i++)
		off += (size_t)sprintf(text + off, " %d", i % 10);
	sprintf(text + off, "\n");
	ck_assert_int_eq(gwlb_policy_parse_string(text, "x", &p, &err), -EINVAL);
	ck_assert_int_eq(err.line, 2);
	ck_assert_ptr_nonnull(strstr(err.reason, "too many arguments"));

	/* 16 dirs fit, 17 do not */
	off = (size_t)sprintf(text, "[module-path]\n");
	for (i = 0; i < GWLB_POLICY_MAX_DIRS; i++)
		off += (size_t)sprintf(text + off, "dir = /d%d\n", i);
	p = parse_ok(text);
	ck_assert_uint_eq(p->n_dirs, GWLB_POLICY_MAX_DIRS);
	ck_assert_str_eq(p->dirs[15], "/d15");
	gwlb_policy_free(p);
	p = NULL;
	sprintf(text + off, "dir = /d16\n");
	ck_assert_int_eq(gwlb_policy_parse_string(text, "x", &p, &err), -EINVAL);
	ck_assert_int_eq(err.line, 18);
	ck_assert_ptr_nonnull(strstr(err.reason, "too many 'dir' lines"));
	free(text);
}
END_TEST

START_TEST(test_long_line)
{
	char text[2048];
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	size_t off;

	/* a line of 150 characters is fine */
	off = (size_t)sprintf(text, "[policy]\nmodule = x ");
	memset(text + off, 'a', 150 - 11);
	strcpy(text + off + 150 - 11, "\nmodule = accept\n");
	p = parse_ok(text);
	ck_assert_int_eq(p->global.modules[0].argc, 1);
	ck_assert_uint_eq(strlen(p->global.modules[0].argv[0]), 150 - 11);
	ck_assert_str_eq(p->global.modules[1].name, "accept");
	gwlb_policy_free(p);
	p = NULL;

	/* inih would cut a long line in pieces: refused, with its own line number */
	off = (size_t)sprintf(text, "[policy]\nmodule = log\nmodule = x ");
	memset(text + off, 'a', 1000);
	strcpy(text + off + 1000, "\nmodule = accept\n");
	ck_assert_int_eq(gwlb_policy_parse_string(text, "x", &p, &err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(err.line, 3);
	ck_assert_ptr_nonnull(strstr(err.reason, "line too long: 1011 characters"));
}
END_TEST

START_TEST(test_eni_spellings)
{
	static const char *const ids[] = {
		"eni-076bc493b822cd32f",
		"0x76bc493b822cd32f",
		"0X076BC493B822CD32F",
		"76bc493b822cd32f",
		"gwi-e8WXgsTQDkf",
		"gwo-e8WXgsTQDkf",
	};
	unsigned i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char text[256];
		struct gwlb_policy *p;

		snprintf(text, sizeof(text), "[policy]\nmodule = log\n[ eni   %s ] ; c\nmodule = drop\n",
			 ids[i]);
		p = parse_ok(text);
		ck_assert_uint_eq(p->n_enis, 1);
		ck_assert_uint_eq(p->enis[0].eni_id, ENI_DOC);
		ck_assert_int_eq(p->enis[0].line, 3);
		ck_assert_str_eq(gwlb_policy_chain_for(p, ENI_DOC)->modules[0].name, "drop");
		ck_assert_str_eq(gwlb_policy_chain_for(p, 1)->modules[0].name, "log");
		gwlb_policy_free(p);
	}
}
END_TEST

START_TEST(test_eni_lookup)
{
	struct gwlb_policy *p;
	uint64_t id;

	/* written out of order; looked up by id */
	p = parse_ok("[eni 0x30]\nmodule = m30\n[eni 0x10]\nmodule = m10\n"
		     "[eni 0x20]\nmodule = m20\n[policy]\nmodule = g\n");
	ck_assert_uint_eq(p->n_enis, 3);
	ck_assert_uint_eq(p->enis[0].eni_id, 0x10);
	ck_assert_uint_eq(p->enis[2].eni_id, 0x30);
	ck_assert_int_eq(p->enis[0].line, 3);
	for (id = 0x10; id <= 0x30; id += 0x10) {
		char want[8];

		snprintf(want, sizeof(want), "m%llx", (unsigned long long)id);
		ck_assert_uint_eq(gwlb_policy_chain_for(p, id)->eni_id, id);
		ck_assert_str_eq(gwlb_policy_chain_for(p, id)->modules[0].name, want);
	}
	ck_assert_str_eq(gwlb_policy_chain_for(p, 0x15)->modules[0].name, "g");
	ck_assert_str_eq(gwlb_policy_chain_for(p, 0x31)->modules[0].name, "g");
	ck_assert_ptr_null(gwlb_policy_chain_for(NULL, 0x10));
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_quoting)
{
	struct gwlb_policy *p;

	p = parse_ok("[policy]\n"
		     "module = sni allow=\"a.test b.test\" deny='x y' \"\" plain\n"
		     "module = q \"say \\\"hi\\\"\" back\\\\slash \"c:\\\\x\" 'it\\'s\n"
		     "module = mix a\"b c\"d'e f'g\n");
	assert_args(&p->global.modules[0], "sni", 4, "allow=a.test b.test", "deny=x y", "", "plain");
	/* backslash escapes only inside "...": \" and \\ */
	assert_args(&p->global.modules[1], "q", 4, "say \"hi\"", "back\\\\slash", "c:\\x", "it\\s");
	assert_args(&p->global.modules[2], "mix", 1, "ab cde fg");
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_comments)
{
	struct gwlb_policy *p;

	p = parse_ok("\xef\xbb\xbf; BOM, then a comment\r\n"
		     "# hash comment\r\n"
		     "\r\n"
		     "   ; indented comment\n"
		     "[queue] # comment after a header\n"
		     "count = 3 ; inline comment\n"
		     "\t\n"
		     "    # indented comment after a key is not a continuation\n"
		     "maxlen = 100\t; tab then comment\r\n"
		     "[policy]\n"
		     "module = log tag=a;b # not a comment\n"
		     "module = sni x=1 ; allow=*.comment.test\n"
		     "  ; a comment between continuation lines\n"
		     "  y=2\n");
	ck_assert_uint_eq(p->queue.count, 3);
	ck_assert_uint_eq(p->queue.maxlen, 100);
	ck_assert_int_eq(p->global.line, 10);
	/* ';' without a blank before it and '#' after the start are data */
	assert_args(&p->global.modules[0], "log", 5, "tag=a;b", "#", "not", "a", "comment");
	assert_args(&p->global.modules[1], "sni", 2, "x=1", "y=2");
	ck_assert_int_eq(p->global.modules[1].line, 12);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_continuation)
{
	struct gwlb_policy *p;

	p = parse_ok("[policy]\n"
		     "module = sni\n"
		     "\tallow=*.example.com,example.org\n"
		     "\n"
		     "    deny=*.bad.test   unknown=drop\n"
		     "module = accept\n"
		     "[eni 0x1]\n"
		     "module = cidr\n"
		     "  deny-file=/etc/x\n");
	ck_assert_uint_eq(p->global.n_modules, 2);
	assert_args(&p->global.modules[0], "sni", 3, "allow=*.example.com,example.org",
		    "deny=*.bad.test", "unknown=drop");
	ck_assert_int_eq(p->global.modules[0].line, 2);
	assert_args(&p->global.modules[1], "accept", 0);
	assert_args(&p->enis[0].modules[0], "cidr", 1, "deny-file=/etc/x");
	gwlb_policy_free(p);

	/* an indented first line (no key above) is an ordinary key line */
	p = parse_ok("[queue]\n  count = 4\n");
	ck_assert_uint_eq(p->queue.count, 4);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_dirs)
{
	struct gwlb_policy *p;

	p = parse_ok("[module-path]\ndir = /opt/a\ndir = /opt/with space ; c\ndir = /opt/a\n");
	ck_assert_uint_eq(p->n_dirs, 3);
	ck_assert_str_eq(p->dirs[0], "/opt/a");
	ck_assert_str_eq(p->dirs[1], "/opt/with space");
	ck_assert_str_eq(p->dirs[2], "/opt/a");
	ck_assert_ptr_null(p->dirs[3]);
	gwlb_policy_free(p);
}
END_TEST

START_TEST(test_big)
{
	size_t cap = 64 * 1024, off;
	char *text = malloc(cap);
	struct gwlb_policy *p;
	struct timespec t0, t1;
	double ms;
	int i, lines = 0;

	off = (size_t)sprintf(text, "[queue]\ncount = 2\n[policy]\nmodule = log\nmodule = accept\n");
	lines = 5;
	for (i = 1; lines < 1000; i++) {
		off += (size_t)sprintf(text + off,
				       "[eni eni-%017x]\nmodule = cidr deny-file=/etc/d%d.txt\n"
				       "  extra=\"quoted %d\"\nmodule = accept\n\n",
				       (unsigned)(i * 7919 % 250 + 1), i, i);
		lines += 5;
		ck_assert_uint_lt(off, cap - 256);
	}
	ck_assert_int_eq(lines, 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = parse_ok(text);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_uint_eq(p->n_enis, 199);
	for (i = 1; i <= 199; i++) {
		uint64_t id = (uint64_t)(i * 7919 % 250 + 1);
		const struct gwlb_policy_chain *c = gwlb_policy_chain_for(p, id);

		ck_assert_uint_eq(c->eni_id, id);
		ck_assert_int_eq(c->line, 6 + 5 * (i - 1));
		ck_assert_uint_eq(c->n_modules, 2);
		ck_assert_int_eq(c->modules[0].argc, 2);
	}
	/* generous: valgrind is slow; a plain run takes well under a millisecond */
	ck_assert_msg(ms < 2000, "parsing 1000 lines took %.1f ms", ms);
	gwlb_policy_free(p);
	free(text);
}
END_TEST

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/test_policy.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/p.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static void write_file(const char *path, const char *text, size_t len)
{
	if (len == (size_t)-1)
		len = strlen(text);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_file)
{
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	char path[128];
	char *big;
	int rc;

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	rc = gwlb_policy_parse_file(path, &p, &err);
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.file, path);
	ck_assert_int_eq(err.line, 0);
	ck_assert_ptr_nonnull(strstr(err.reason, "No such file or directory"));

	rc = gwlb_policy_parse_file(tmpdir, &p, &err);
	ck_assert_int_eq(rc, -EISDIR);
	ck_assert_int_eq(err.line, 0);
	ck_assert_ptr_nonnull(strstr(err.reason, "Is a directory"));

	snprintf(path, sizeof(path), "%s/p.conf", tmpdir);
	write_file(path, "[queue]\ncount = 2\n\n[policy]\nmodule = accept\nmodule = x-y\n", (size_t)-1);
	rc = gwlb_policy_parse_file(path, &p, &err);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.file, path);
	ck_assert_int_eq(err.line, 6);
	ck_assert_ptr_nonnull(strstr(err.reason, "bad module name 'x-y'"));

	write_file(path, "[queue]\ncount = 2\n\n[policy]\nmodule = accept\n", (size_t)-1);
	ck_assert_int_eq(gwlb_policy_parse_file(path, &p, &err), 0);
	ck_assert_uint_eq(p->queue.count, 2);
	ck_assert_str_eq(p->global.modules[0].name, "accept");
	ck_assert_str_eq(p->file, path);
	gwlb_policy_free(p);
	p = NULL;

	/* one byte over the limit, all comments */
	big = malloc(GWLB_POLICY_MAX_FILE + 1);
	memset(big, '\n', GWLB_POLICY_MAX_FILE + 1);
	big[0] = '#';
	write_file(path, big, GWLB_POLICY_MAX_FILE + 1);
	rc = gwlb_policy_parse_file(path, &p, &err);
	ck_assert_int_eq(rc, -EFBIG);
	ck_assert_int_eq(err.line, 0);
	ck_assert_ptr_nonnull(strstr(err.reason, "too large"));
	/* exactly the limit is fine */
	write_file(path, big, GWLB_POLICY_MAX_FILE);
	ck_assert_int_eq(gwlb_policy_parse_file(path, &p, &err), 0);
	gwlb_policy_free(p);
	free(big);
}
END_TEST

/* A reload must be able to keep its policy: a failed parse leaves *out alone. */
START_TEST(test_all_or_nothing)
{
	struct gwlb_policy *running = parse_ok(example), *p = running;
	struct gwlb_policy_err err;

	/* fails late, after queue settings, a chain and an ENI were built */
	ck_assert_int_eq(gwlb_policy_parse_string("[queue]\ncount = 5\n[policy]\nmodule = a\n"
						  "[eni 0x9]\nmodule = b c d\n[module-path]\n"
						  "dir = /x\ndir = y\n", "r", &p, &err), -EINVAL);
	ck_assert_ptr_eq(p, running);
	ck_assert_int_eq(err.line, 9);
	assert_example(running);
	ck_assert_int_eq(gwlb_policy_parse_string("x", NULL, NULL, &err), -EINVAL);
	gwlb_policy_free(running);
	gwlb_policy_free(NULL);
}
END_TEST

/* Every allocation that can fail, failed in turn: -ENOMEM, nothing half-built, no leak. */
START_TEST(test_enomem)
{
	static const char text[] =
		"[queue]\ncount = 2\n"
		"[policy]\nmodule = log a \"b c\"\n  d\nmodule = sni\nmodule = x\nmodule = y\n"
		"[eni 0x2]\nmodule = accept\n[eni 0x1]\nmodule = cidr e\n  f\n"
		"[eni 0x3]\nmodule = a\n[module-path]\ndir = /a\ndir = /b\n";
	struct gwlb_policy_err err;
	struct gwlb_policy *p = NULL;
	long total, n;
	int rc;

	allocs = 0;
	rc = gwlb_policy_parse_string(text, "m", &p, &err);
	total = allocs;
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(p->n_enis, 3);
	gwlb_policy_free(p);
	if (total == 0) {
		/* valgrind put its own malloc in place of ours */
		fprintf(stderr, "test_enomem: skipped, malloc is not ours (under valgrind, add "
			"--soname-synonyms=somalloc=nouserintercepts)\n");
		return;
	}
	ck_assert_int_gt(total, 20);

	for (n = 0; n < total; n++) {
		p = (struct gwlb_policy *)&p;
		fail_after = n;
		rc = gwlb_policy_parse_string(text, "m", &p, &err);
		fail_after = -1;
		ck_assert_msg(rc == -ENOMEM, "allocation %ld: rc %d (%s)", n, rc, err.reason);
		ck_assert_ptr_eq(p, (struct gwlb_policy *)&p);
		ck_assert_str_eq(err.reason, "out of memory");
	}
	fail_after = total;
	ck_assert_int_eq(gwlb_policy_parse_string(text, "m", &p, &err), 0);
	fail_after = -1;
	gwlb_policy_free(p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_queue_values);
	tcase_add_test(tc, test_eni_spellings);
	tcase_add_test(tc, test_eni_lookup);
	tcase_add_test(tc, test_quoting);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_dirs);
	tcase_add_test(tc, test_big);
	tcase_add_test(tc, test_all_or_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0, sizeof(errs) / sizeof(errs[0]));
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_enomem);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
