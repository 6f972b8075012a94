/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4/IPv6 prefixes: parse, match, print. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"

static void cidr_clear_host(struct gwlb_cidr *c)
{
	size_t nbytes = c->family == 4 ? 4 : 16;
	size_t i;

	for (i = 0; i < nbytes; i++) {
		size_t bit = i * 8;

		if (bit >= c->plen)
			c->addr[i] = 0;
		else if (c->plen - bit < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->plen - bit)));
	}
}

int gwlb_cidr_parse(const char *s, struct gwlb_cidr *c)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	struct gwlb_cidr t;
	size_t hlen;
	unsigned int max, plen;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	memset(&t, 0, sizeof(t));
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, t.addr) != 1)
			return -EINVAL;
		t.family = 6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, host, t.addr) != 1)
			return -EINVAL;
		t.family = 4;
		max = 32;
	}

	plen = max;
	if (slash) {
		const char *p = slash + 1;

		/* Digits only, no sign or spaces: strtoul would let "/+8" and "/ 8" through. */
		if (*p == '\0' || strlen(p) > 3)
			return -EINVAL;
		for (plen = 0; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			plen = plen * 10 + (unsigned int)(*p - '0');
		}
		if (plen > max)
			return -EINVAL;
	}
	t.plen = (uint8_t)plen;
	cidr_clear_host(&t);
	*c = t;
	return 0;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int gwlb_cidr_parse_list(const char *s, struct gwlb_cidr *out, size_t max, size_t *bad)
{
	char item[INET6_ADDRSTRLEN + 8];
	size_t n = 0, pos = 0;

	if (!s)
		return -EINVAL;
	while (is_blank(s[pos]))
		pos++;
	if (s[pos] == '\0')
		return 0;

	for (;;) {
		size_t start, end, next;
		int err = 0;

		while (is_blank(s[pos]))
			pos++;
		start = pos;
		while (s[pos] && s[pos] != ',')
			pos++;
		next = pos;
		end = pos;
		while (end > start && is_blank(s[end - 1]))
			end--;
		if (end == start || end - start >= sizeof(item)) {
			err = -EINVAL;
		} else if (n >= max) {
			err = -E2BIG;
		} else {
			memcpy(item, s + start, end - start);
			item[end - start] = '\0';
			if (gwlb_cidr_parse(item, &out[n]) < 0)
				err = -EINVAL;
		}
		if (err) {
			if (bad)
				*bad = start;
			return err;
		}
		n++;
		if (s[next] == '\0')
			return (int)n;
		pos = next + 1;
	}
}

bool gwlb_cidr_match(const struct gwlb_cidr *c, int family, const uint8_t *addr)
{
	size_t full, rem;

	if (family != c->family)
		return false;
	full = c->plen / 8;
	rem = c->plen % 8;
	if (memcmp(c->addr, addr, full))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));

		if ((addr[full] & mask) != c->addr[full])
			return false;
	}
	return true;
}

int gwlb_cidr_list_match(const struct gwlb_cidr *list, size_t n, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gwlb_cidr_match(&list[i], family, addr))
			return (int)i;
	return -1;
}

/* reason, or with word: "bad prefix 'WORD': expected ADDRESS[/LENGTH]" */
static int cidr_err(struct gwlb_cidr_err *err, int line, const char *reason, const char *word)
{
	if (!err)
		return -EINVAL;
	err->line = line;
	if (word)
		snprintf(err->reason, sizeof(err->reason),
			 "bad prefix '%.40s': expected ADDRESS[/LENGTH]", word);
	else
		snprintf(err->reason, sizeof(err->reason), "%s", reason);
	return -EINVAL;
}

int gwlb_cidr_parse_lines(const uint8_t *buf, size_t len,
			  int (*fn)(void *arg, const struct gwlb_cidr *c, int line), void *arg,
			  size_t *n, struct gwlb_cidr_err *err)
{
	char word[INET6_ADDRSTRLEN + 8];
	size_t pos = 0, count = 0;
	int line = 0, rc;

	if (err) {
		err->line = 0;
		err->reason[0] = '\0';
	}
	while (pos < len) {
		size_t end = pos, a, b;
		struct gwlb_cidr c;

		line++;
		while (end < len && buf[end] != '\n')
			end++;
		for (a = pos; a < end; a++)
			if (buf[a] == '\0')
				return cidr_err(err, line, "NUL byte in the line", NULL);
		for (a = pos; a < end && buf[a] != '#'; a++)
			;
		b = a;			/* the comment starts here */
		a = pos;
		while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r'))
			a++;
		while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r'))
			b--;
		pos = end + 1;
		if (a == b)
			continue;
		for (size_t i = a; i < b; i++)
			if (buf[i] == ' ' || buf[i] == '\t')
				return cidr_err(err, line, "one prefix per line", NULL);
		if (b - a >= sizeof(word))
			return cidr_err(err, line, "prefix too long", NULL);
		memcpy(word, buf + a, b - a);
		word[b - a] = '\0';
		if (gwlb_cidr_parse(word, &c) < 0)
			return cidr_err(err, line, NULL, word);
		if (fn) {
			rc = fn(arg, &c, line);
			if (rc) {
				if (err)
					err->line = line;
				return rc;
			}
		}
		count++;
	}
	if (n)
		*n = count;
	return 0;
}

char *gwlb_cidr_str(const struct gwlb_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (!inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, c->addr, a, sizeof(a)))
		a[0] = '\0';
	snprintf(buf, len, "%s/%u", a, c->plen);
	return buf;
}
