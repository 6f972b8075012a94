/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which ENI a conntrack entry belongs to, and how users name an ENI on gwlbnf-ct's command
 * line. Pure: no netlink here (src/gwlbd/ctflush.c reads and deletes the entries).
 *
 * gwlbd zones only the original direction of an ENI's flows (`ct original zone set`, zone =
 * index); replies stay in zone 0. An entry whose zones are all 0 (created before its ENI's
 * zone rule, or by a packet that did not come from a gwi) still names its ENI by the index
 * in ct mark bits 0-15, which gwlbd's mark chain writes (eniidx.h).
 */
#ifndef GWLB_CTMAP_H
#define GWLB_CTMAP_H

#include <stddef.h>
#include <stdint.h>

/* The policy decision in mark bits 16-17 (as src/gwlbd/nft.h writes it). */
#define GWLB_CTMAP_DECISION_SHIFT	16
#define GWLB_CTMAP_DECISION_MASK	(3u << GWLB_CTMAP_DECISION_SHIFT)

/*
 * The ENI index owning an entry with these zones (zone: CTA_ZONE, both directions; orig,
 * reply: per-direction zones; 0 = none) and ct mark: the first non-zero zone, else the mark's
 * bits 0-15. 0 when the entry is no ENI's.
 */
uint16_t gwlb_ctmap_owner(uint16_t zone, uint16_t orig, uint16_t reply, uint32_t mark);

/* "undecided", "accepted", "dropped", or "invalid" (both bits set). */
const char *gwlb_ctmap_decision(uint32_t mark);

enum gwlb_ctmap_ref_kind {
	GWLB_CTMAP_REF_INDEX,		/* a decimal 1..65535 */
	GWLB_CTMAP_REF_ID,		/* eni-<hex>, 17 bare hex digits, gwi-/gwo-<base60> */
};

struct gwlb_ctmap_ref {
	enum gwlb_ctmap_ref_kind kind;
	uint16_t index;			/* GWLB_CTMAP_REF_INDEX */
	uint64_t id;			/* GWLB_CTMAP_REF_ID */
};

/*
 * Parse an ENI as gwlbnf-ct takes it: an index (1 to 5 decimal digits, 1..65535), an ENI id
 * ("eni-076bc493b822cd32f", or the 17 hex digits alone) or an interface name
 * ("gwi-e8WXgsTQDkf", "gwo-..."). A bare number of fewer than 17 digits is an index, never
 * hex. 0, or -EINVAL with the reason in err.
 */
int gwlb_ctmap_ref_parse(const char *s, struct gwlb_ctmap_ref *ref, char *err, size_t errlen);

#endif
