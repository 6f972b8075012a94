/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4/IPv6 prefixes and lists of them (allowed GENEVE origins, client subnets). */
#ifndef GWLB_CIDR_H
#define GWLB_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gwlb_cidr {
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes, host bits cleared */
	uint8_t family;		/* 4 or 6 */
	uint8_t plen;
};

/* Parse "a.b.c.d[/n]" or "x::y[/n]". 0 or -EINVAL. */
int gwlb_cidr_parse(const char *s, struct gwlb_cidr *c);

/*
 * Parse a comma-separated list into out[max]. Returns the count, or -EINVAL with *bad set
 * to the offset in s of the item that failed, or -E2BIG.
 */
int gwlb_cidr_parse_list(const char *s, struct gwlb_cidr *out, size_t max, size_t *bad);

/* Does addr (4 or 16 bytes, network order) of the given family lie in c? */
bool gwlb_cidr_match(const struct gwlb_cidr *c, int family, const uint8_t *addr);

/* Index of the first prefix in list that holds addr, or -1. */
int gwlb_cidr_list_match(const struct gwlb_cidr *list, size_t n, int family, const uint8_t *addr);

/* Why a prefix list text did not parse. */
struct gwlb_cidr_err {
	int line;		/* 1-based; 0: the text as a whole */
	char reason[96];
};

/*
 * Parse a prefix list: one prefix per line, '#' starts a comment, blank lines are skipped.
 * Calls fn(arg, prefix, line) for each (nonzero stops the parse and is returned, with
 * err->line set). 0 and the count in *n, or -EINVAL with the line and reason in err
 * (a bad prefix, two words on one line, a NUL byte).
 */
int gwlb_cidr_parse_lines(const uint8_t *buf, size_t len,
			  int (*fn)(void *arg, const struct gwlb_cidr *c, int line), void *arg,
			  size_t *n, struct gwlb_cidr_err *err);

char *gwlb_cidr_str(const struct gwlb_cidr *c, char *buf, size_t len);

#endif
