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

char *gwlb_cidr_str(const struct gwlb_cidr *c, char *buf, size_t len);

#endif
