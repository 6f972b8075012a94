/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy file, read with libinih.
 *
 * inih splits "key = value" lines and strips comments; we drive it through
 * ini_parse_stream() with our own line reader because:
 *  - the reader counts lines itself, so line numbers do not depend on whether the library
 *    was built with INI_HANDLER_LINENO;
 *  - inih silently cuts a line at its buffer size (200 bytes by default) and reads the rest
 *    as a line of its own; the reader refuses such a line instead;
 *  - inih only reports keys, so an empty, unknown or repeated section would go unnoticed;
 *    the reader sees every header;
 *  - the text is (buf, len) and a NUL byte in it is an error, not its end.
 * To tell the handler what kind of line it is called for, the reader classifies each line
 * exactly as inih will (comment, continuation, section header, key), including inih's
 * rule that an indented line after a key continues that key's value.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Debian builds libinih with line numbers in the handler; we use our own count. */
#define INI_HANDLER_LINENO 1
#include <ini.h>

#include "eniname.h"
#include "iniline.h"
#include "policy.h"

#define PRIORITY_MIN	(-1000)
#define PRIORITY_MAX	1000
#define MAXLEN_MAX	(1u << 20)

enum sect {
	SECT_NONE,		/* before the first header */
	SECT_QUEUE,
	SECT_POLICY,
	SECT_PATH,
	SECT_ENI,
	SECT__FIXED = SECT_ENI,	/* sections that may appear once, by name */
};

static const char *const sect_names[SECT__FIXED] = {
	[SECT_QUEUE] = "queue",
	[SECT_POLICY] = "policy",
	[SECT_PATH] = "module-path",
};

enum line_kind {
	LINE_OTHER,		/* blank, comment or header: inih calls no handler */
	LINE_KEY,		/* "key = value" */
	LINE_CONT,		/* indented: inih hands it over as more of the previous key */
};

enum qkey {
	QK_FIRST,
	QK_COUNT,
	QK_MAXLEN,
	QK_FAIL,
	QK_BYPASS,
	QK_FANOUT,
	QK_PRIORITY,
	QK_POST_PRIORITY,
	QK_MARK_MASK,
	QK_ON_ERROR,
	QK_DROP_FLOW_TIMEOUT,
	QK_STALL_TIMEOUT,
	QK__MAX
};

static const char *const qkey_names[QK__MAX] = {
	[QK_FIRST] = "first",
	[QK_COUNT] = "count",
	[QK_MAXLEN] = "maxlen",
	[QK_FAIL] = "fail",
	[QK_BYPASS] = "bypass",
	[QK_FANOUT] = "fanout",
	[QK_PRIORITY] = "priority",
	[QK_POST_PRIORITY] = "post-priority",
	[QK_MARK_MASK] = "module-mark-mask",
	[QK_ON_ERROR] = "on-module-error",
	[QK_DROP_FLOW_TIMEOUT] = "drop-flow-timeout",
	[QK_STALL_TIMEOUT] = "stall-timeout",
};

struct parser {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int line;			/* of the line last handed to inih */
	struct gwlb_policy *p;
	struct gwlb_policy_err *err;
	int rc;				/* the first error, then everything stops */

	enum sect sect;
	int sect_line;
	unsigned eni_idx;		/* p->enis[eni_idx] while sect == SECT_ENI */
	int sect_seen[SECT__FIXED];	/* header line of each fixed section, 0 = none yet */
	int qkey_line[QK__MAX];

	bool key_seen;			/* a key since the last header: inih's prev_name */
	char key[64];			/* and its name, to check that inih agrees */
	bool last_module;		/* the last key was a module line: indented lines extend it */
	enum line_kind kind;		/* of the current line */
};

struct strv {
	char **v;			/* n strings, then NULL */
	int n;
};

static int perr(struct parser *ps, int line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *ps, int line, int rc, const char *fmt, ...)
{
	va_list ap;

	if (ps->rc)
		return ps->rc;
	ps->rc = rc;
	ps->err->line = line;
	va_start(ap, fmt);
	vsnprintf(ps->err->reason, sizeof(ps->err->reason), fmt, ap);
	va_end(ap);
	return rc;
}

static int nomem(struct parser *ps)
{
	return perr(ps, ps->line, -ENOMEM, "out of memory");
}

static bool is_space(char c)
{
	return isspace((unsigned char)c);
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/*
 * inih's find_chars_or_comment(): the first of chars, or the start of an inline comment
 * (';' after whitespace), or the end of s.
 */
static const char *find_stop(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = is_space(*s);
		s++;
	}
	return s;
}

static void strv_free(struct strv *sv)
{
	int i;

	if (!sv->v)
		return;
	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct strv *sv, char *s)
{
	char **v = realloc(sv->v, sizeof(*v) * (size_t)(sv->n + 2));

	if (!v)
		return -ENOMEM;
	v[sv->n++] = s;
	v[sv->n] = NULL;
	sv->v = v;
	return 0;
}

/*
 * Split a module line into words at blanks. "..." groups (with \" and \\ inside), '...'
 * groups literally; quotes can open and close anywhere in a word (deny="a b" -> deny=a b).
 */
static int split_words(struct parser *ps, const char *s, struct strv *out)
{
	char *word = malloc(strlen(s) + 1);
	int rc = 0;

	if (!word)
		return nomem(ps);
	for (;;) {
		char *o = word;
		char *dup;

		s = skip_space(s);
		if (!*s)
			break;
		while (*s && !is_space(*s)) {
			char q = *s;

			if (q != '"' && q != '\'') {
				*o++ = *s++;
				continue;
			}
			for (s++; *s && *s != q; s++) {
				if (q == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*o++ = *s;
			}
			if (!*s) {
				rc = perr(ps, ps->line, -EINVAL, "unterminated quote (%c) in module line", q);
				goto cleanup;
			}
			s++;
		}
		*o = '\0';
		dup = strdup(word);
		if (!dup || strv_push(out, dup) < 0) {
			free(dup);
			rc = nomem(ps);
			goto cleanup;
		}
	}
cleanup:
	free(word);
	return rc;
}

static struct gwlb_policy_chain *cur_chain(struct parser *ps)
{
	return ps->sect == SECT_ENI ? &ps->p->enis[ps->eni_idx] : &ps->p->global;
}

static const char *sect_title(struct parser *ps, char *buf, size_t len)
{
	if (ps->sect == SECT_ENI)
		snprintf(buf, len, "eni eni-%017llx",
			 (unsigned long long)ps->p->enis[ps->eni_idx].eni_id);
	else
		snprintf(buf, len, "%s", sect_names[ps->sect]);
	return buf;
}

static bool module_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int module_add(struct parser *ps, const char *value)
{
	struct gwlb_policy_chain *c = cur_chain(ps);
	struct gwlb_policy_module *m;
	struct strv sv = { 0 };
	char title[64];
	int rc;

	if (c->n_modules >= GWLB_POLICY_MAX_MODULES) {
		return perr(ps, ps->line, -EINVAL, "too many modules in [%s]: at most %d",
			    sect_title(ps, title, sizeof(title)), GWLB_POLICY_MAX_MODULES);
	}
	rc = split_words(ps, value, &sv);
	if (rc < 0)
		goto cleanup;
	if (sv.n == 0) {
		rc = perr(ps, ps->line, -EINVAL, "module line without a module name");
		goto cleanup;
	}
	if (strlen(sv.v[0]) > GWLB_POLICY_MAX_NAME || !module_name_ok(sv.v[0])) {
		rc = perr(ps, ps->line, -EINVAL,
			  "bad module name '%.64s': only a-z, 0-9 and _, at most %d characters",
			  sv.v[0], GWLB_POLICY_MAX_NAME);
		goto cleanup;
	}
	if (sv.n - 1 > GWLB_POLICY_MAX_ARGS) {
		rc = perr(ps, ps->line, -EINVAL, "too many arguments for module '%s': at most %d",
			  sv.v[0], GWLB_POLICY_MAX_ARGS);
		goto cleanup;
	}
	if (!(c->n_modules & (c->n_modules - 1))) {
		/* grow at 0, 1, 2, 4, 8, ... */
		size_t cap = c->n_modules ? c->n_modules * 2 : 1;

		m = realloc(c->modules, sizeof(*m) * cap);
		if (!m) {
			rc = nomem(ps);
			goto cleanup;
		}
		c->modules = m;
	}
	m = &c->modules[c->n_modules++];
	m->name = sv.v[0];
	m->argc = sv.n - 1;
	/* The words after the name, moved down over it: argv stays NULL-terminated. */
	memmove(sv.v, sv.v + 1, sizeof(*sv.v) * (size_t)sv.n);
	m->argv = sv.v;
	m->line = ps->line;
	ps->last_module = true;
	return 0;
cleanup:
	strv_free(&sv);
	return rc;
}

/* An indented line: more arguments for the module line above. */
static int module_continue(struct parser *ps, const char *name, const char *value)
{
	struct gwlb_policy_chain *c = cur_chain(ps);
	struct gwlb_policy_module *m;
	struct strv sv = { 0 };
	const char *s;
	char **v;
	int rc, i;

	if (!ps->last_module) {
		return perr(ps, ps->line, -EINVAL,
			    "indented line continues '%.64s', which takes one value: start keys in column 1",
			    name);
	}
	s = value;
	if (!strncmp(s, "module", 6)) {
		s = skip_space(s + 6);
		if (*s == '=' || *s == ':') {
			return perr(ps, ps->line, -EINVAL,
				    "indented module line would add arguments to the module above: start module lines in column 1");
		}
	}
	m = &c->modules[c->n_modules - 1];
	rc = split_words(ps, value, &sv);
	if (rc < 0)
		goto cleanup;
	if (m->argc + sv.n > GWLB_POLICY_MAX_ARGS) {
		rc = perr(ps, ps->line, -EINVAL, "too many arguments for module '%s': at most %d",
			  m->name, GWLB_POLICY_MAX_ARGS);
		goto cleanup;
	}
	v = realloc(m->argv, sizeof(*v) * (size_t)(m->argc + sv.n + 1));
	if (!v) {
		rc = nomem(ps);
		goto cleanup;
	}
	m->argv = v;
	for (i = 0; i < sv.n; i++)
		v[m->argc++] = sv.v[i];
	v[m->argc] = NULL;
	free(sv.v);
	return 0;
cleanup:
	strv_free(&sv);
	return rc;
}

/*
 * A number: decimal, or hex after 0x; a leading '-' only where min < 0. 0, or -EINVAL
 * with the reason set.
 */
static int parse_num(struct parser *ps, const char *key, const char *s, long long min,
		     long long max, long long *out)
{
	const char *p = s;
	unsigned long long v = 0;
	bool neg = false, hex = false;
	int digits = 0;
	long long r;

	if (*p == '-' && min < 0) {
		neg = true;
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
	}
	for (; *p; p++, digits++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return perr(ps, ps->line, -EINVAL, "bad number '%.64s' for '%s'", s, key);
		/* Anything above 2^40 is out of every range here; stop before overflow. */
		if (v < (1ULL << 40))
			v = v * (hex ? 16 : 10) + d;
	}
	if (!digits)
		return perr(ps, ps->line, -EINVAL, "bad number '%.64s' for '%s'", s, key);
	r = neg ? -(long long)v : (long long)v;
	if (r < min || r > max) {
		if (max == 0xffffffffLL)
			return perr(ps, ps->line, -EINVAL, "'%s' out of range: %.64s (0..0xffffffff)",
				    key, s);
		return perr(ps, ps->line, -EINVAL, "'%s' out of range: %.64s (%lld..%lld)", key, s,
			    min, max);
	}
	*out = r;
	return 0;
}

static int parse_bool(struct parser *ps, const char *key, const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return perr(ps, ps->line, -EINVAL, "bad value '%.64s' for '%s': yes or no", s, key);
}

static int queue_key(struct parser *ps, const char *name, const char *value)
{
	struct gwlb_policy_queue *q = &ps->p->queue;
	long long n;
	int k, rc = 0;

	for (k = 0; k < QK__MAX && strcmp(name, qkey_names[k]); k++)
		;
	if (k == QK__MAX)
		return perr(ps, ps->line, -EINVAL, "unknown key '%.64s' in [queue]", name);
	if (ps->qkey_line[k]) {
		return perr(ps, ps->line, -EINVAL, "duplicate key '%s' in [queue] (first at line %d)",
			    name, ps->qkey_line[k]);
	}
	ps->qkey_line[k] = ps->line;

	switch ((enum qkey)k) {
	case QK_FIRST:
		rc = parse_num(ps, name, value, 0, 65535, &n);
		q->first = (uint16_t)n;
		break;
	case QK_COUNT:
		rc = parse_num(ps, name, value, 1, GWLB_POLICY_MAX_QUEUES, &n);
		q->count = (uint16_t)n;
		break;
	case QK_MAXLEN:
		rc = parse_num(ps, name, value, 1, MAXLEN_MAX, &n);
		q->maxlen = (uint32_t)n;
		break;
	case QK_FAIL:
		if (!strcmp(value, "open"))
			q->fail_open = true;
		else if (!strcmp(value, "closed"))
			q->fail_open = false;
		else
			rc = perr(ps, ps->line, -EINVAL,
				  "bad value '%.64s' for 'fail': open or closed", value);
		break;
	case QK_BYPASS:
		rc = parse_bool(ps, name, value, &q->bypass);
		break;
	case QK_FANOUT:
		rc = parse_bool(ps, name, value, &q->fanout);
		break;
	case QK_PRIORITY:
		rc = parse_num(ps, name, value, PRIORITY_MIN, PRIORITY_MAX, &n);
		q->priority = (int32_t)n;
		break;
	case QK_POST_PRIORITY:
		rc = parse_num(ps, name, value, PRIORITY_MIN, PRIORITY_MAX, &n);
		q->post_priority = (int32_t)n;
		break;
	case QK_MARK_MASK:
		rc = parse_num(ps, name, value, 0, 0xffffffffLL, &n);
		if (rc == 0 && ((uint32_t)n & GWLB_MARK_GWLBD_MASK)) {
			rc = perr(ps, ps->line, -EINVAL,
				  "'module-mark-mask' 0x%08x overlaps gwlbd's mark bits 0x%08x",
				  (uint32_t)n, GWLB_MARK_GWLBD_MASK);
		}
		q->module_mark_mask = (uint32_t)n;
		break;
	case QK_ON_ERROR:
		if (!strcmp(value, "skip"))
			q->on_module_error = GWLB_POLICY_ON_ERROR_SKIP;
		else if (!strcmp(value, "refuse-start"))
			q->on_module_error = GWLB_POLICY_ON_ERROR_REFUSE;
		else
			rc = perr(ps, ps->line, -EINVAL,
				  "bad value '%.64s' for 'on-module-error': skip or refuse-start",
				  value);
		break;
	case QK_DROP_FLOW_TIMEOUT:
		rc = parse_num(ps, name, value, 0, GWLB_POLICY_MAX_DROP_FLOW_TIMEOUT, &n);
		q->drop_flow_timeout = (uint32_t)n;
		break;
	case QK_STALL_TIMEOUT:
		rc = parse_num(ps, name, value, 0, GWLB_POLICY_MAX_STALL_TIMEOUT, &n);
		q->stall_timeout = (uint32_t)n;
		break;
	case QK__MAX:
		break;
	}
	return rc;
}

static int dir_add(struct parser *ps, const char *name, const char *value)
{
	struct gwlb_policy *p = ps->p;
	char **v, *d;

	if (strcmp(name, "dir"))
		return perr(ps, ps->line, -EINVAL, "unknown key '%.64s' in [module-path]", name);
	if (value[0] != '/') {
		return perr(ps, ps->line, -EINVAL, "'dir' must be an absolute path, not '%.64s'",
			    value);
	}
	if (p->n_dirs >= GWLB_POLICY_MAX_DIRS) {
		return perr(ps, ps->line, -EINVAL, "too many 'dir' lines: at most %d",
			    GWLB_POLICY_MAX_DIRS);
	}
	v = realloc(p->dirs, sizeof(*v) * (p->n_dirs + 2));
	if (!v)
		return nomem(ps);
	p->dirs = v;
	d = strdup(value);
	if (!d)
		return nomem(ps);
	v[p->n_dirs++] = d;
	v[p->n_dirs] = NULL;
	return 0;
}

static int policy_key(struct parser *ps, const char *name, const char *value)
{
	char title[64];

	ps->last_module = false;
	switch (ps->sect) {
	case SECT_NONE:
		return perr(ps, ps->line, -EINVAL,
			    "key '%.64s' before any section: start with [queue], [policy], [eni ID] or [module-path]",
			    name);
	case SECT_QUEUE:
		return queue_key(ps, name, value);
	case SECT_PATH:
		return dir_add(ps, name, value);
	case SECT_POLICY:
	case SECT_ENI:
		if (strcmp(name, "module")) {
			return perr(ps, ps->line, -EINVAL, "unknown key '%.64s' in [%s]: only 'module'",
				    name, sect_title(ps, title, sizeof(title)));
		}
		return module_add(ps, value);
	}
	return 0;
}

/* The section that ends here (at a header or at the end of the text) must be complete. */
static int section_end(struct parser *ps)
{
	const struct gwlb_policy_chain *c;

	if (ps->sect != SECT_ENI)
		return 0;
	c = &ps->p->enis[ps->eni_idx];
	if (c->n_modules == 0) {
		return perr(ps, ps->sect_line, -EINVAL,
			    "section [eni eni-%017llx] has no module lines (e.g. 'module = accept')",
			    (unsigned long long)c->eni_id);
	}
	return 0;
}

static int section_eni(struct parser *ps, const char *id)
{
	struct gwlb_policy *p = ps->p;
	struct gwlb_policy_chain *c;
	uint64_t eni;
	unsigned i;

	if (!*id)
		return perr(ps, ps->line, -EINVAL,
			    "bad ENI id: missing in [eni], e.g. [eni eni-0123456789abcdef0]");
	if (gwlb_eni_parse(id, &eni) < 0 || eni == 0) {
		return perr(ps, ps->line, -EINVAL,
			    "bad ENI id '%.64s': eni-<17 hex digits>, 0x<hex>, <hex> or a gwi-/gwo- name",
			    id);
	}
	for (i = 0; i < p->n_enis; i++) {
		if (p->enis[i].eni_id == eni) {
			return perr(ps, ps->line, -EINVAL,
				    "duplicate section [eni %.64s]: eni-%017llx already has one (first at line %d)",
				    id, (unsigned long long)eni, p->enis[i].line);
		}
	}
	if (p->n_enis >= GWLB_POLICY_MAX_ENIS)
		return perr(ps, ps->line, -EINVAL, "too many [eni] sections: at most %d",
			    GWLB_POLICY_MAX_ENIS);
	if (!(p->n_enis & (p->n_enis - 1))) {
		size_t cap = p->n_enis ? p->n_enis * 2 : 1;

		c = realloc(p->enis, sizeof(*c) * cap);
		if (!c)
			return nomem(ps);
		p->enis = c;
	}
	c = &p->enis[p->n_enis];
	memset(c, 0, sizeof(*c));
	c->eni_id = eni;
	c->line = ps->line;
	ps->eni_idx = p->n_enis++;
	ps->sect = SECT_ENI;
	return 0;
}

/* s points at the '[' of a header line. */
static int section_begin(struct parser *ps, const char *s)
{
	const char *end = find_stop(s + 1, "]"), *t;
	char name[128];
	size_t n;
	int i;

	if (*end != ']')
		return perr(ps, ps->line, -EINVAL, "missing ']' in section header");
	t = skip_space(end + 1);
	if (*t && *t != ';' && *t != '#')
		return perr(ps, ps->line, -EINVAL, "unexpected text after ']' in section header");
	if (section_end(ps) < 0)
		return ps->rc;

	s = skip_space(s + 1);
	while (end > s && is_space(end[-1]))
		end--;
	n = (size_t)(end - s);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s, n);
	name[n] = '\0';

	ps->key_seen = false;
	ps->last_module = false;
	ps->sect_line = ps->line;
	if (!strncmp(name, "eni", 3) && (name[3] == '\0' || is_space(name[3])))
		return section_eni(ps, skip_space(name + 3));
	for (i = 1; i < SECT__FIXED; i++) {
		if (strcmp(name, sect_names[i]))
			continue;
		if (ps->sect_seen[i]) {
			return perr(ps, ps->line, -EINVAL, "duplicate section [%s] (first at line %d)",
				    name, ps->sect_seen[i]);
		}
		ps->sect_seen[i] = ps->line;
		ps->sect = (enum sect)i;
		if (ps->sect == SECT_POLICY)
			ps->p->global.line = ps->line;
		return 0;
	}
	return perr(ps, ps->line, -EINVAL,
		    "unknown section [%.64s]: [queue], [policy], [eni ID] or [module-path]", name);
}

/* What inih will make of this line (see the top of the file). */
static int classify(struct parser *ps, const char *line)
{
	const char *s = line, *end;
	size_t n;

	ps->kind = LINE_OTHER;
	if (ps->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	s = skip_space(s);
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (s > line && ps->key_seen) {
		if (*s == '[') {
			return perr(ps, ps->line, -EINVAL,
				    "indented section header: start it in column 1 (an indented line continues the key above)");
		}
		ps->kind = LINE_CONT;
		return 0;
	}
	if (*s == '[')
		return section_begin(ps, s);
	end = find_stop(s, "=:");
	if (*end != '=' && *end != ':')
		return perr(ps, ps->line, -EINVAL, "expected 'key = value' or '[section]'");
	while (end > s && is_space(end[-1]))
		end--;
	n = (size_t)(end - s) < sizeof(ps->key) - 1 ? (size_t)(end - s) : sizeof(ps->key) - 1;
	memcpy(ps->key, s, n);
	ps->key[n] = '\0';
	ps->key_seen = true;
	ps->kind = LINE_KEY;
	return 0;
}

static char *read_line(char *str, int num, void *stream)
{
	struct parser *ps = stream;
	size_t n;
	int r;

	if (ps->rc)
		return NULL;
	r = gwlb_iniline_next(ps->buf, ps->len, &ps->pos, str, num, &n);
	if (r == 0)
		return NULL;
	ps->line++;
	if (r == -EINVAL) {
		perr(ps, ps->line, -EINVAL, "NUL byte in line");
		return NULL;
	}
	if (r < 0) {
		perr(ps, ps->line, -EINVAL,
		     "line too long: %zu characters, at most %d (continue module arguments on indented lines)",
		     n, num - 2);
		return NULL;
	}
	if (classify(ps, str) < 0)
		return NULL;
	return str;
}

/* Is name (inih's copy, cut at its name buffer of 50) the key classify() saw? */
static bool key_matches(const struct parser *ps, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(ps->key, name, n) && (ps->key[n] == '\0' || n >= 40);
}

static int handler(void *user, const char *section, const char *name, const char *value,
		   int lineno)
{
	struct parser *ps = user;

	if (ps->rc)
		return 0;
	if (!value)
		value = "";
	switch (ps->kind) {
	case LINE_KEY:
		if (!key_matches(ps, name))
			break;
		ps->kind = LINE_OTHER;
		return policy_key(ps, name, value) == 0;
	case LINE_CONT:
		if (!key_matches(ps, name))
			break;
		ps->kind = LINE_OTHER;
		return module_continue(ps, name, value) == 0;
	case LINE_OTHER:
		break;
	}
	/* libinih read the line differently from classify(): say so rather than guess. */
	perr(ps, ps->line, -EINVAL, "cannot parse line (libinih saw key '%.64s')", name);
	return 0;
}

static int chain_cmp(const void *a, const void *b)
{
	const struct gwlb_policy_chain *x = a, *y = b;

	return x->eni_id < y->eni_id ? -1 : x->eni_id > y->eni_id;
}

static int line_max(int a, int b)
{
	return a > b ? a : b;
}

/* Checks across keys, once all are known. */
static int finish(struct parser *ps)
{
	struct gwlb_policy_queue *q = &ps->p->queue;
	const int *kl = ps->qkey_line;

	if (section_end(ps) < 0)
		return ps->rc;
	if ((unsigned)q->first + q->count - 1 > 65535) {
		return perr(ps, line_max(kl[QK_FIRST], kl[QK_COUNT]), -EINVAL,
			    "queues %u..%u: the last one is above 65535", q->first,
			    (unsigned)q->first + q->count - 1);
	}
	if (q->post_priority <= q->priority) {
		return perr(ps, line_max(kl[QK_PRIORITY], kl[QK_POST_PRIORITY]), -EINVAL,
			    "'post-priority' (%d) must be greater than 'priority' (%d)",
			    q->post_priority, q->priority);
	}
	if (!kl[QK_BYPASS])
		q->bypass = q->fail_open;
	if (ps->p->n_enis > 1)
		qsort(ps->p->enis, ps->p->n_enis, sizeof(*ps->p->enis), chain_cmp);
	return 0;
}

static void queue_defaults(struct gwlb_policy_queue *q)
{
	q->first = GWLB_POLICY_DEF_QUEUE_FIRST;
	q->count = GWLB_POLICY_DEF_QUEUE_COUNT;
	q->maxlen = GWLB_POLICY_DEF_QUEUE_MAXLEN;
	q->fail_open = true;
	q->bypass = true;
	q->fanout = false;
	q->priority = GWLB_POLICY_DEF_PRIORITY;
	q->post_priority = GWLB_POLICY_DEF_POST_PRIORITY;
	q->module_mark_mask = 0;
	q->on_module_error = GWLB_POLICY_ON_ERROR_SKIP;
	q->drop_flow_timeout = GWLB_POLICY_DEF_DROP_FLOW_TIMEOUT;
	q->stall_timeout = GWLB_POLICY_DEF_STALL_TIMEOUT;
}

static void err_init(struct gwlb_policy_err *err, const char *name)
{
	snprintf(err->file, sizeof(err->file), "%s", name);
	err->line = 0;
	err->reason[0] = '\0';
}

int gwlb_policy_parse_buf(const uint8_t *buf, size_t len, const char *name,
			  struct gwlb_policy **out, struct gwlb_policy_err *err)
{
	struct gwlb_policy_err dummy;
	struct parser ps = { 0 };
	struct gwlb_policy *p;
	int r;

	if (!name)
		name = "<string>";
	if (!err)
		err = &dummy;
	err_init(err, name);
	ps.err = err;
	if (!out || (!buf && len))
		return perr(&ps, 0, -EINVAL, "invalid arguments");
	p = calloc(1, sizeof(*p));
	if (!p)
		return perr(&ps, 0, -ENOMEM, "out of memory");
	snprintf(p->file, sizeof(p->file), "%s", name);
	queue_defaults(&p->queue);

	ps.buf = buf;
	ps.len = len;
	ps.p = p;
	r = ini_parse_stream(read_line, &ps, handler, &ps);
	if (!ps.rc) {
		if (r == -2)
			nomem(&ps);
		else if (r > 0)
			perr(&ps, r, -EINVAL, "syntax error");
		else if (r < 0)
			perr(&ps, 0, -EIO, "cannot read");
	}
	if (!ps.rc)
		finish(&ps);
	if (ps.rc) {
		gwlb_policy_free(p);
		return ps.rc;
	}
	*out = p;
	return 0;
}

int gwlb_policy_parse_string(const char *text, const char *name, struct gwlb_policy **out,
			     struct gwlb_policy_err *err)
{
	return gwlb_policy_parse_buf((const uint8_t *)text, text ? strlen(text) : 0, name, out,
				     err);
}

int gwlb_policy_parse_file(const char *path, struct gwlb_policy **out,
			   struct gwlb_policy_err *err)
{
	struct gwlb_policy_err dummy;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1, rc;

	if (!err)
		err = &dummy;
	err_init(err, path ? path : "(null)");
	if (!path || !out) {
		rc = -EINVAL;
		snprintf(err->reason, sizeof(err->reason), "invalid arguments");
		goto cleanup;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err->reason, sizeof(err->reason), "cannot open: %s", strerror(-rc));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		snprintf(err->reason, sizeof(err->reason), "cannot read: %s", strerror(-rc));
		goto cleanup;
	}
	/* One byte more than allowed, to see that a file (or a pipe) is too large. */
	buf = malloc(GWLB_POLICY_MAX_FILE + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		goto cleanup;
	}
	while (len <= GWLB_POLICY_MAX_FILE) {
		ssize_t n = read(fd, buf + len, GWLB_POLICY_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err->reason, sizeof(err->reason), "cannot read: %s", strerror(-rc));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > GWLB_POLICY_MAX_FILE) {
		rc = -EFBIG;
		snprintf(err->reason, sizeof(err->reason), "file too large: more than %d bytes",
			 GWLB_POLICY_MAX_FILE);
		goto cleanup;
	}
	rc = gwlb_policy_parse_buf(buf, len, path, out, err);
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void chain_free(struct gwlb_policy_chain *c)
{
	unsigned i;
	int j;

	for (i = 0; i < c->n_modules; i++) {
		struct gwlb_policy_module *m = &c->modules[i];

		free(m->name);
		for (j = 0; j < m->argc; j++)
			free(m->argv[j]);
		free(m->argv);
	}
	free(c->modules);
}

void gwlb_policy_free(struct gwlb_policy *p)
{
	unsigned i;

	if (!p)
		return;
	chain_free(&p->global);
	for (i = 0; i < p->n_enis; i++)
		chain_free(&p->enis[i]);
	free(p->enis);
	for (i = 0; i < p->n_dirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	free(p);
}

const struct gwlb_policy_chain *gwlb_policy_chain_for(const struct gwlb_policy *p,
						      uint64_t eni_id)
{
	size_t lo = 0, hi;

	if (!p)
		return NULL;
	hi = p->n_enis;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->enis[mid].eni_id == eni_id)
			return &p->enis[mid];
		if (p->enis[mid].eni_id < eni_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &p->global;
}
