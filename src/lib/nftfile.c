/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eniname.h"
#include "nftfile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int gwlb_nftfile_eni_table(uint64_t eni_id, char *buf, size_t len)
{
	return gwlb_eni_ifname("gwlbnf-eni-", eni_id, buf, len);
}

int gwlb_nftfile_prelude(const struct gwlb_nftrules_eni *v, char *buf, size_t len)
{
	char table[GWLB_NFTFILE_TABLE_MAX];
	int n;

	if (gwlb_nftfile_eni_table(v->eni_id, table, sizeof(table)) < 0)
		return -ENOSPC;
	n = snprintf(buf, len,
		     "define gwi = \"%s\"\n"
		     "define gwo = \"%s\"\n"
		     "define eni = \"eni-%017llx\"\n"
		     "define eni_hex = \"%017llx\"\n"
		     "define eni_table = \"%s\"\n"
		     "define eni_mark = 0x%08x\n"
		     "define eni_zone = %u\n"
		     "define eni_rtable = %u\n",
		     v->gwi, v->gwo, (unsigned long long)v->eni_id, (unsigned long long)v->eni_id,
		     table, v->mark, v->zone, v->table);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

char *gwlb_nftfile_subst_table(const char *text, size_t len, const char *table, size_t *outlen)
{
	static const char var[] = "$eni_table";
	const size_t vlen = sizeof(var) - 1, tlen = strlen(table);
	size_t i, n = 0, cap = len + 1;
	char *out;

	/* Each replacement grows by at most tlen - vlen: count first, allocate once. */
	for (i = 0; i + vlen <= len; i++)
		if (!memcmp(text + i, var, vlen) && (i + vlen == len || !ident_char(text[i + vlen])))
			cap += tlen > vlen ? tlen - vlen : 0;
	out = malloc(cap);
	if (!out)
		return NULL;
	for (i = 0; i < len;) {
		if (i + vlen <= len && !memcmp(text + i, var, vlen) &&
		    (i + vlen == len || !ident_char(text[i + vlen]))) {
			memcpy(out + n, table, tlen);
			n += tlen;
			i += vlen;
		} else {
			out[n++] = text[i++];
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* ---- the statement scanner ---- */

#define SCAN_TOKENS	6

static const char *const verbs[] = {
	"add", "create", "insert", "replace", "delete", "destroy", "flush", "reset", "list",
};
static const char *const objects[] = {
	"table", "chain", "rule", "set", "map", "element", "flowtable", "counter", "quota",
	"limit", "ct", "secmark", "synproxy", "ruleset",
};
static const char *const families[] = { "ip", "ip6", "inet", "arp", "bridge", "netdev" };

static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

static int scan_fail(struct gwlb_nftfile_err *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int scan_fail(struct gwlb_nftfile_err *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* One statement's first tokens -> the table it is about, for cb. */
static int scan_stmt(char tok[][64], unsigned ntok, unsigned line,
		     int (*cb)(const struct gwlb_nftfile_stmt *st, void *arg), void *arg,
		     struct gwlb_nftfile_err *err)
{
	struct gwlb_nftfile_stmt st = { .line = line };
	unsigned i = 0;

	if (!ntok || !strcmp(tok[0], "define") || !strcmp(tok[0], "redefine") ||
	    !strcmp(tok[0], "undefine"))
		return 0;
	if (!strcmp(tok[0], "include")) {
		strcpy(st.object, "include");
		return cb(&st, arg);
	}
	if (in_list(tok[0], verbs, ARRAY_SIZE(verbs))) {
		snprintf(st.verb, sizeof(st.verb), "%s", tok[0]);
		i++;
	}
	if (i >= ntok || !in_list(tok[i], objects, ARRAY_SIZE(objects)))
		return scan_fail(err, line,
				 "'%s' is not a table, chain, rule, set, map, element, flowtable or "
				 "named object: gwlbd cannot tell which table it is about",
				 i < ntok ? tok[i] : tok[0]);
	snprintf(st.object, sizeof(st.object), "%s", tok[i++]);
	if (!strcmp(st.object, "ruleset")) {
		if (i < ntok && in_list(tok[i], families, ARRAY_SIZE(families)))
			snprintf(st.family, sizeof(st.family), "%s", tok[i]);
		return cb(&st, arg);
	}
	if (!strcmp(st.object, "ct"))
		i++;		/* helper, timeout, expectation */
	/* nft's default family is ip, as in "table x" */
	if (i < ntok && in_list(tok[i], families, ARRAY_SIZE(families)))
		snprintf(st.family, sizeof(st.family), "%s", tok[i++]);
	else
		strcpy(st.family, "ip");
	if (i >= ntok)
		return scan_fail(err, line, "'%s' names no table", st.object);
	snprintf(st.name, sizeof(st.name), "%s", tok[i]);
	return cb(&st, arg);
}

int gwlb_nftfile_scan(const char *text, size_t len,
		       int (*cb)(const struct gwlb_nftfile_stmt *st, void *arg), void *arg,
		       struct gwlb_nftfile_err *err)
{
	const char *p = text, *end = text + len, *s;
	char tok[SCAN_TOKENS][64];
	unsigned line = 1, stmt_line = 1, depth = 0, ntok = 0;
	bool header_done = false;
	int ret;

	while (p < end) {
		char c = *p;

		if (c == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (c == '\\' && p + 1 < end && p[1] == '\n') {
			p += 2;
			line++;
			continue;
		}
		if (c == '\n' || c == ';') {
			if (!depth) {
				ret = scan_stmt(tok, ntok, stmt_line, cb, arg, err);
				if (ret)
					return ret;
				ntok = 0;
				header_done = false;
			}
			line += c == '\n';
			p++;
			continue;
		}
		if (c == '{') {
			header_done |= !depth;
			depth++;
			p++;
			continue;
		}
		if (c == '}') {
			depth -= !!depth;
			p++;
			continue;
		}
		if (isspace((unsigned char)c)) {
			p++;
			continue;
		}
		if (c == '"') {
			s = ++p;
			while (p < end && *p != '"' && *p != '\n')
				p++;
		} else {
			s = p;
			while (p < end && !isspace((unsigned char)*p) && !strchr("{};#\"", *p))
				p++;
		}
		if (!depth && !header_done && ntok < SCAN_TOKENS) {
			if (!ntok)
				stmt_line = line;
			snprintf(tok[ntok++], sizeof(tok[0]), "%.*s", (int)(p - s), s);
		}
		if (p < end && *p == '"')
			p++;
	}
	return scan_stmt(tok, ntok, stmt_line, cb, arg, err);
}

/* ---- what each kind of file may do ---- */

struct tpl_check {
	const char *table;
	struct gwlb_nftfile_err *err;
};

static int tpl_cb(const struct gwlb_nftfile_stmt *st, void *arg)
{
	struct tpl_check *c = arg;
	struct gwlb_nftfile_err *err = c->err;

	if (!strcmp(st->object, "include") || !strcmp(st->object, "ruleset") ||
	    strcmp(st->family, "inet") || strcmp(st->name, c->table)) {
		err->line = st->line;
		if (!strcmp(st->object, "include"))
			snprintf(err->reason, sizeof(err->reason),
				 "include is not allowed in a template: gwlbd could not check that "
				 "what it adds stays in table inet $eni_table");
		else
			snprintf(err->reason, sizeof(err->reason),
				 "%s%s%s %s %s: a template may only use table inet $eni_table "
				 "(removed with the ENI)", st->verb, st->verb[0] ? " " : "",
				 st->object, st->family, st->name);
		return -EPERM;
	}
	return 0;
}

int gwlb_nftfile_check_template(const char *text, size_t len, const char *table,
				 struct gwlb_nftfile_err *err)
{
	struct tpl_check c = { .table = table, .err = err };

	return gwlb_nftfile_scan(text, len, tpl_cb, &c, err);
}

struct glob_tables {
	char (*names)[96];
	unsigned n, max;
	struct gwlb_nftfile_err *err;
};

static int glob_cb(const struct gwlb_nftfile_stmt *st, void *arg)
{
	struct glob_tables *g = arg;
	struct gwlb_nftfile_err *err = g->err;
	char name[96];
	unsigned i;

	if (!strcmp(st->object, "include"))
		return 0;
	err->line = st->line;
	if (!strcmp(st->object, "ruleset")) {
		snprintf(err->reason, sizeof(err->reason),
			 "'%s ruleset' would reach gwlbd's own tables: act on your own tables only",
			 st->verb[0] ? st->verb : "add");
		return -EPERM;
	}
	if (st->name[0] == '$') {
		snprintf(err->reason, sizeof(err->reason),
			 "table %s is a variable: write the name, gwlbd must know which tables "
			 "the file owns", st->name);
		return -EPERM;
	}
	if (!strncmp(st->name, GWLB_NFTFILE_RESERVED, strlen(GWLB_NFTFILE_RESERVED))) {
		snprintf(err->reason, sizeof(err->reason),
			 "table %s %s is gwlbd's own (" GWLB_NFTFILE_RESERVED "*): give yours "
			 "another name", st->family, st->name);
		return -EPERM;
	}
	if (strcmp(st->object, "table") ||
	    (st->verb[0] && strcmp(st->verb, "add") && strcmp(st->verb, "create")))
		return 0;
	snprintf(name, sizeof(name), "%s %s", st->family, st->name);
	for (i = 0; i < g->n; i++)
		if (!strcmp(g->names[i], name))
			return 0;
	if (g->n == g->max) {
		snprintf(err->reason, sizeof(err->reason), "more than %u tables in one file",
			 g->max);
		return -ENOSPC;
	}
	strcpy(g->names[g->n++], name);
	return 0;
}

int gwlb_nftfile_global_tables(const char *text, size_t len, char names[][96], unsigned max,
				struct gwlb_nftfile_err *err)
{
	struct glob_tables g = { .names = names, .max = max, .err = err };
	int ret;

	ret = gwlb_nftfile_scan(text, len, glob_cb, &g, err);
	return ret < 0 ? ret : (int)g.n;
}

/* ---- files ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool name_loads(const char *s)
{
	size_t n = strlen(s);

	return s[0] != '.' && n > 4 && !strcmp(s + n - 4, ".nft");
}

size_t gwlb_nftfile_sort_names(char **names, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (name_loads(names[i]))
			names[k++] = names[i];
		else
			free(names[i]);
	}
	qsort(names, k, sizeof(*names), name_cmp);
	return k;
}

/* ---- nft's errors ---- */

/* "N:" after the path at s: the line number, else 0. */
static unsigned line_after(const char *s)
{
	unsigned long n;
	char *e;

	if (*s != ':' || !isdigit((unsigned char)s[1]))
		return 0;
	n = strtoul(s + 1, &e, 10);
	return *e == ':' && n < 1000000 ? (unsigned)n : 0;
}

void gwlb_nftfile_parse_error(const char *nft_err, const char *as, const char *file,
			       struct gwlb_nftfile_err *err)
{
	const char *text = nft_err ? nft_err : "", *l, *nl, *msg;
	const size_t aslen = strlen(as);
	int pass;

	snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = 0;
	/* pass 0: an error at a line of the file; pass 1: any error nft gave */
	for (pass = 0; pass < 2; pass++) {
		for (l = text; *l; l = nl + 1) {
			nl = strchrnul(l, '\n');
			msg = strstr(l, "Error: ");
			if (msg && msg < nl) {
				unsigned line = !strncmp(l, as, aslen) ? line_after(l + aslen) : 0;

				if (line || pass) {
					err->line = line;
					msg += strlen("Error: ");
					snprintf(err->reason, sizeof(err->reason), "%.*s",
						 (int)(nl - msg), msg);
					return;
				}
			}
			if (!*nl)
				break;
		}
	}
	l = text;
	while (*l == '\n')
		l++;
	nl = strchrnul(l, '\n');
	if (nl == l)
		snprintf(err->reason, sizeof(err->reason), "nft failed without saying why");
	else
		snprintf(err->reason, sizeof(err->reason), "%.*s", (int)(nl - l), l);
}
