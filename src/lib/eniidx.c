/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-ENI index allocator. Indexes change only on the manager thread, when an ENI is
 * created or destroyed, so plain arrays scanned linearly are enough: at most 65535 slots,
 * a few microseconds per scan, never on the packet path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eniidx.h"
#include "eniname.h"

/*
 * A just-released index goes to a different ENI only when nothing else is free: its old
 * ENI may come back (GWLB re-sends to an idle endpoint), and conntrack entries or routes
 * still carrying the index are then not mistaken for a newcomer's.
 */
#define ENIIDX_COOLDOWN		8

enum slot_state {
	SLOT_FREE = 0,
	SLOT_USED,		/* its ENI exists */
	SLOT_KEPT,		/* loaded from the state file, its ENI not seen since */
};

struct slot {
	uint64_t eni;		/* owner; for a free slot the last owner (valid if released) */
	uint32_t released;	/* release sequence number, 0 = never owned */
	uint8_t state;
};

struct gwlb_eniidx {
	uint32_t max;
	uint32_t n;		/* used + kept */
	uint32_t release_seq;
	struct slot *slot;	/* 1..max; slot[0] unused */
};

int gwlb_eniidx_check_ranges(uint32_t max, uint32_t table_base, uint32_t prio_base, char *err,
			     size_t errlen)
{
	uint64_t tlast = (uint64_t)table_base + max, plast = (uint64_t)prio_base + max;
	const char *why = NULL;

	if (!max || max > GWLB_ENIIDX_MAX)
		why = "--max-eni must be 1..65535";
	else if (tlast > UINT32_MAX)
		why = "route tables --route-table-base + --max-eni run past 4294967295";
	else if (table_base < 255 && tlast >= 253)
		why = "route tables --route-table-base + 1 .. + --max-eni overlap the kernel's "
		      "tables 253-255 (default, main, local)";
	else if (plast > UINT32_MAX)
		why = "rule priorities --rule-priority-base + --max-eni run past 4294967295";
	else if (prio_base < GWLB_ENIIDX_PRIO_DEFAULT && plast >= GWLB_ENIIDX_PRIO_MAIN)
		why = "rule priorities --rule-priority-base + 1 .. + --max-eni overlap the main "
		      "and default tables' rules (32766, 32767): lower the base or --max-eni";
	if (!why)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -ERANGE;
}

int gwlb_eniidx_alloc(struct gwlb_eniidx **out, uint32_t max)
{
	struct gwlb_eniidx *a;

	*out = NULL;
	if (!max || max > GWLB_ENIIDX_MAX)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->slot = calloc((size_t)max + 1, sizeof(*a->slot));
	if (!a->slot) {
		free(a);
		return -ENOMEM;
	}
	a->max = max;
	*out = a;
	return 0;
}

void gwlb_eniidx_free(struct gwlb_eniidx *a)
{
	if (!a)
		return;
	free(a->slot);
	free(a);
}

int gwlb_eniidx_find(const struct gwlb_eniidx *a, uint64_t eni)
{
	for (uint32_t i = 1; i <= a->max; i++)
		if (a->slot[i].state != SLOT_FREE && a->slot[i].eni == eni)
			return (int)i;
	return -ENOENT;
}

int gwlb_eniidx_owner(const struct gwlb_eniidx *a, uint32_t idx, uint64_t *eni)
{
	if (!idx || idx > a->max || a->slot[idx].state == SLOT_FREE)
		return -ENOENT;
	*eni = a->slot[idx].eni;
	return 0;
}

static bool recent(const struct gwlb_eniidx *a, const struct slot *s)
{
	return s->released && a->release_seq - s->released < ENIIDX_COOLDOWN;
}

/* The slot a newcomer gets; 0 when every slot is in use. */
static uint32_t pick(const struct gwlb_eniidx *a, uint64_t eni)
{
	uint32_t i, first_free = 0, first_cool = 0, first_kept = 0;

	for (i = 1; i <= a->max; i++) {
		const struct slot *s = &a->slot[i];

		if (s->state == SLOT_KEPT) {
			if (!first_kept)
				first_kept = i;
			continue;
		}
		if (s->state != SLOT_FREE)
			continue;
		if (s->released && s->eni == eni)
			return i;
		if (!first_free)
			first_free = i;
		if (!first_cool && !recent(a, s))
			first_cool = i;
	}
	if (first_cool)
		return first_cool;
	if (first_free)
		return first_free;
	return first_kept;
}

int gwlb_eniidx_get(struct gwlb_eniidx *a, uint64_t eni, bool *changed)
{
	int idx = gwlb_eniidx_find(a, eni);
	struct slot *s;

	if (changed)
		*changed = false;
	if (idx > 0) {
		a->slot[idx].state = SLOT_USED;
		return idx;
	}
	idx = (int)pick(a, eni);
	if (!idx)
		return -ENOSPC;
	s = &a->slot[idx];
	if (s->state == SLOT_FREE)
		a->n++;
	s->eni = eni;
	s->state = SLOT_USED;
	if (changed)
		*changed = true;
	return idx;
}

int gwlb_eniidx_put(struct gwlb_eniidx *a, uint64_t eni)
{
	int idx = gwlb_eniidx_find(a, eni);

	if (idx < 0)
		return idx;
	a->slot[idx].state = SLOT_FREE;
	a->slot[idx].released = ++a->release_seq ? a->release_seq : ++a->release_seq;
	a->n--;
	return 0;
}

unsigned gwlb_eniidx_count(const struct gwlb_eniidx *a)
{
	return a->n;
}

static int parse_fail(struct gwlb_eniidx_err *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_fail(struct gwlb_eniidx_err *err, unsigned line, const char *fmt, ...)
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

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static size_t word_len(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && !is_space(p[n]))
		n++;
	return n;
}

/* One line without its newline or comment, blanks trimmed at both ends. */
static int parse_line(struct gwlb_eniidx *a, const char *p, size_t len, unsigned line,
		      struct gwlb_eniidx_err *err)
{
	size_t i = word_len(p, len), n;
	char word[32];
	uint64_t eni;
	uint32_t idx = 0;

	if (len < 4 || memcmp(p, "eni-", 4))
		return parse_fail(err, line, "expected 'eni-<17 hex digits> <index>'");
	/* 17 hex digits are 68 bits: the first must be 0 for a 64-bit id. */
	if (i == 21 && p[4] != '0')
		return parse_fail(err, line, "ENI id '%.17s' is larger than 64 bits", p + 4);
	if (i == 21) {
		memcpy(word, p, i);
		word[i] = '\0';
	}
	if (i != 21 || gwlb_eni_parse(word, &eni) < 0)
		return parse_fail(err, line, "'%.*s' is not an ENI id (eni- and 17 hex digits)",
				  (int)i, p);
	while (i < len && is_space(p[i]))
		i++;
	if (i == len)
		return parse_fail(err, line, "missing index after eni-%.17s", p + 4);
	for (n = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++, n++)
		if (n < 6)
			idx = idx * 10 + (uint32_t)(p[i] - '0');
	if (!n || i < len)
		return parse_fail(err, line, "'%.*s' is not an index (1..%u)", (int)(len - i + n),
				  p + i - n, a->max);
	if (n > 6 || idx < 1 || idx > a->max)
		return parse_fail(err, line, "index %.*s is out of range (1..%u, --max-eni)",
				  (int)n, p + i - n, a->max);
	if (a->slot[idx].state != SLOT_FREE)
		return parse_fail(err, line, "index %u is given twice (also to eni-%017llx)", idx,
				  (unsigned long long)a->slot[idx].eni);
	if (gwlb_eniidx_find(a, eni) > 0)
		return parse_fail(err, line, "eni-%017llx is listed twice", (unsigned long long)eni);
	a->slot[idx].eni = eni;
	a->slot[idx].state = SLOT_KEPT;
	a->n++;
	return 0;
}

int gwlb_eniidx_parse(struct gwlb_eniidx *a, const char *buf, size_t len,
		      struct gwlb_eniidx_err *err)
{
	unsigned line = 0;
	size_t off = 0;
	int ret = 0;

	if (err) {
		err->line = 0;
		err->reason[0] = '\0';
	}
	if (a->n)
		return parse_fail(err, 0, "internal error: allocator not empty");
	while (off < len && !ret) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t l = nl ? (size_t)(nl - p) : len - off;
		const char *hash;

		off += l + (nl ? 1 : 0);
		line++;
		if (memchr(p, '\0', l)) {
			ret = parse_fail(err, line, "NUL byte: not a text file");
			break;
		}
		hash = memchr(p, '#', l);
		if (hash)
			l = (size_t)(hash - p);
		while (l && is_space(p[l - 1]))
			l--;
		while (l && is_space(*p)) {
			p++;
			l--;
		}
		if (l)
			ret = parse_line(a, p, l, line, err);
	}
	if (ret) {
		memset(a->slot, 0, ((size_t)a->max + 1) * sizeof(*a->slot));
		a->n = 0;
	}
	return ret;
}

int gwlb_eniidx_format(const struct gwlb_eniidx *a, char *buf, size_t len)
{
	static const char head[] = "# gwlbd ENI indexes (eni-<id> <index>), written by gwlbd\n";
	size_t used = 0;
	int n;

	if (!buf && len)
		return -EINVAL;
	n = snprintf(buf, len, "%s", head);
	used = (size_t)n;
	for (uint32_t i = 1; i <= a->max; i++) {
		if (a->slot[i].state == SLOT_FREE)
			continue;
		n = snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0,
			     "eni-%017llx %u\n", (unsigned long long)a->slot[i].eni, i);
		if (n < 0)
			return -EINVAL;
		used += (size_t)n;
	}
	return used > INT32_MAX ? -EINVAL : (int)used;
}
