/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbtun-compatible interface names: "gwi-" / "gwo-" followed by the ENI id in base 60,
 * most significant digit first, digits 0-9a-zA-X.
 */
#ifndef GWLB_ENINAME_H
#define GWLB_ENINAME_H

#include <stddef.h>
#include <stdint.h>

#define GWLB_ENI_B60_MAX	12	/* 11 digits for any 64-bit id, plus NUL */

/* Base-60 text of id into buf. Returns its length, or -ENOSPC. */
int gwlb_eni_b60(uint64_t id, char *buf, size_t len);

/* "<prefix><base60>", e.g. ("gwi-", 0x76bc493b822cd32f) -> "gwi-e8WXgsTQDkf". Returns length or -ENOSPC. */
int gwlb_eni_ifname(const char *prefix, uint64_t id, char *buf, size_t len);

/* Parse "eni-076bc493b822cd32f", "0x76bc...", plain hex, or a gwi-/gwo- name. 0 or -EINVAL. */
int gwlb_eni_parse(const char *s, uint64_t *id);

#endif
