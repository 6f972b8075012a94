/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbctl's human output: aligned columns and short durations. Pure, no I/O but the FILE. */
#ifndef GWLBCTL_TABLE_H
#define GWLBCTL_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GWLB_TABLE_COLS	20

struct gwlb_table {
	unsigned ncols;
	unsigned nrows, cap;
	char **cell;			/* nrows x ncols, row-major */
};

/* A table whose first row is the header. 0 or -ENOMEM / -EINVAL (too many columns). */
int gwlb_table_init(struct gwlb_table *t, unsigned ncols, const char *const *header);
void gwlb_table_free(struct gwlb_table *t);

/* Append a row of ncols cells (copied; NULL prints as "-"). 0 or -ENOMEM. */
int gwlb_table_add(struct gwlb_table *t, const char *const *cells);

/*
 * Print every row, each column as wide as its widest cell, two spaces apart, prefixed by
 * indent spaces; the last column is not padded, so no line ends in blanks.
 */
void gwlb_table_print(const struct gwlb_table *t, FILE *f, unsigned indent);

/* Seconds as "45s", "5m07s", "2h03m", "3d04h"; buf gets at most len bytes. */
char *gwlb_fmt_duration(uint64_t secs, char *buf, size_t len);

/* Milliseconds: under a minute with tenths ("4.5s"), else as gwlb_fmt_duration. */
char *gwlb_fmt_duration_ms(uint64_t ms, char *buf, size_t len);

/* An IP protocol's name ("tcp", "icmpv6"), or its number. */
const char *gwlb_fmt_proto(int proto, char *buf, size_t len);

/* "198.19.1.2:80", "[fd00::1]:80"; the address alone for protocols without ports. */
const char *gwlb_fmt_endpoint(int family, int proto, const char *addr, int port, char *buf,
			      size_t len);

#endif
