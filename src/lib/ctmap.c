/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctmap.h"
#include "eniidx.h"
#include "eniname.h"

uint16_t gwlb_ctmap_owner(uint16_t zone, uint16_t orig, uint16_t reply, uint32_t mark)
{
	if (zone)
		return zone;
	if (orig)
		return orig;
	if (reply)
		return reply;
	return (uint16_t)(mark & GWLB_ENIIDX_MARK_MASK);
}

const char *gwlb_ctmap_decision(uint32_t mark)
{
	static const char *const name[] = { "undecided", "accepted", "dropped", "invalid" };

	return name[(mark & GWLB_CTMAP_DECISION_MASK) >> GWLB_CTMAP_DECISION_SHIFT];
}

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

int gwlb_ctmap_ref_parse(const char *s, struct gwlb_ctmap_ref *ref, char *err, size_t errlen)
{
	size_t n = s ? strlen(s) : 0;
	unsigned long v = 0;

	memset(ref, 0, sizeof(*ref));
	if (!n) {
		snprintf(err, errlen, "empty ENI: give eni-<17 hex digits>, gwi-/gwo-<name> or an index");
		return -EINVAL;
	}
	if (n < 17 && all_of(s, "0123456789")) {
		for (size_t i = 0; i < n && v <= GWLB_ENIIDX_MAX; i++)
			v = v * 10 + (unsigned long)(s[i] - '0');
		if (!v || v > GWLB_ENIIDX_MAX) {
			snprintf(err, errlen, "ENI index %s is out of range (1..%u)", s,
				 GWLB_ENIIDX_MAX);
			return -EINVAL;
		}
		ref->kind = GWLB_CTMAP_REF_INDEX;
		ref->index = (uint16_t)v;
		return 0;
	}
	ref->kind = GWLB_CTMAP_REF_ID;
	/* Bare hex only as AWS writes it, 17 digits: shorter would read as an index. */
	if ((!strncmp(s, "eni-", 4) || !strncmp(s, "gwi-", 4) || !strncmp(s, "gwo-", 4) ||
	     (n == 17 && all_of(s, "0123456789abcdefABCDEF"))) &&
	    !gwlb_eni_parse(s, &ref->id))
		return 0;
	snprintf(err, errlen, "'%s' is not an ENI: give eni-<17 hex digits>, the 17 digits alone, "
		 "a gwi-/gwo- interface name or an index 1..%u", s, GWLB_ENIIDX_MAX);
	return -EINVAL;
}
