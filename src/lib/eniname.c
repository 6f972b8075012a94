/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbtun names its interfaces after the ENI id in base 60 so that "gwi-" plus the
 * longest id (11 digits) fits IFNAMSIZ. Users' scripts match on these names: the alphabet
 * and digit order must stay exactly gwlbtun's.
 */
#include <errno.h>
#include <string.h>

#include "eniname.h"

static const char b60_digits[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX";

int gwlb_eni_b60(uint64_t id, char *buf, size_t len)
{
	char tmp[GWLB_ENI_B60_MAX];
	size_t n = 0, i;

	do {
		tmp[n++] = b60_digits[id % 60];
		id /= 60;
	} while (id);
	if (len < n + 1)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return (int)n;
}

int gwlb_eni_ifname(const char *prefix, uint64_t id, char *buf, size_t len)
{
	char digits[GWLB_ENI_B60_MAX];
	size_t plen = strlen(prefix);
	int n;

	n = gwlb_eni_b60(id, digits, sizeof(digits));
	if (n < 0)
		return n;
	if (len < plen + (size_t)n + 1)
		return -ENOSPC;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, digits, (size_t)n + 1);
	return (int)(plen + (size_t)n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * AWS writes ENI ids as 17 hex digits ("eni-076bc493b822cd32f"); they fit 64 bits only
 * because the first is 0, so a 17th digit is accepted only when it is that 0.
 */
static int parse_hex(const char *s, uint64_t *id)
{
	size_t n = strlen(s), i;
	uint64_t v = 0;

	if (n == 0 || n > 17 || (n == 17 && s[0] != '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*id = v;
	return 0;
}

static int parse_b60(const char *s, uint64_t *id)
{
	size_t n = strlen(s), i;
	uint64_t v = 0;

	if (n == 0 || n > GWLB_ENI_B60_MAX - 1)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const char *p = s[i] ? strchr(b60_digits, s[i]) : NULL;
		uint64_t d;

		if (!p)
			return -EINVAL;
		d = (uint64_t)(p - b60_digits);
		if (v > (UINT64_MAX - d) / 60)
			return -EINVAL;
		v = v * 60 + d;
	}
	*id = v;
	return 0;
}

int gwlb_eni_parse(const char *s, uint64_t *id)
{
	if (!s)
		return -EINVAL;
	if (!strncmp(s, "eni-", 4))
		return parse_hex(s + 4, id);
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		return parse_hex(s + 2, id);
	if (!strncmp(s, "gwi-", 4) || !strncmp(s, "gwo-", 4))
		return parse_b60(s + 4, id);
	return parse_hex(s, id);
}
