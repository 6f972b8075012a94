/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lines for libinih's ini_parse_stream() from a (buf, len) text, for parsers that count
 * lines themselves and must not let inih cut a long line in two or stop at a NUL byte.
 */
#ifndef GWLB_INILINE_H
#define GWLB_INILINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The line at *pos copied into str (num bytes, inih's buffer) with its newline and a NUL;
 * *pos moves past it and *n gets its length. 1: a line; 0: the end; -EINVAL: a NUL byte
 * in it; -E2BIG: longer than num - 2 characters (inih would read the rest as a line of
 * its own).
 */
int gwlb_iniline_next(const uint8_t *buf, size_t len, size_t *pos, char *str, int num,
		      size_t *n);

#endif
