/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "iniline.h"

int gwlb_iniline_next(const uint8_t *buf, size_t len, size_t *pos, char *str, int num,
		      size_t *n)
{
	const uint8_t *start, *nl;
	size_t avail;

	if (*pos >= len)
		return 0;
	start = buf + *pos;
	avail = len - *pos;
	nl = memchr(start, '\n', avail);
	*n = nl ? (size_t)(nl - start) : avail;
	*pos += nl ? *n + 1 : *n;
	if (memchr(start, '\0', *n))
		return -EINVAL;
	/* inih needs room for the line, a newline and a NUL */
	if (num < 3 || *n > (size_t)num - 2)
		return -E2BIG;
	memcpy(str, start, *n);
	str[*n] = '\n';
	str[*n + 1] = '\0';
	return 1;
}
