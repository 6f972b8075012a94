/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-ENI indexes and what gwlbd derives from them: one stable index 1..N per GWLB
 * endpoint, and from it the ENI's packet/ct mark bits, conntrack zone, route table and
 * rule priority. This is the one place the layout is written down for code; anything that
 * builds kernel objects per ENI (gwlbd's nft table, nft-rules templates, routes) takes the
 * values from here.
 *
 * Mark layout (packet mark and ct mark): bits 0-15 the ENI index (GWLB_ENIIDX_MARK_MASK),
 * bits 16-17 the policy decision, bit 18 the new-flow flag (src/gwlbd/nft.h), the rest the
 * users'. Index 0 means "no ENI": a mark or zone of 0 is never an ENI's.
 *
 * The state file keeps the indexes across restarts, one mapping per line:
 *   # comment
 *   eni-076bc493b822cd32f 1
 * Pure: parsing and formatting work on buffers; gwlbd reads and writes the file.
 */
#ifndef GWLB_ENIIDX_H
#define GWLB_ENIIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GWLB_ENIIDX_MAX			65535
#define GWLB_ENIIDX_MARK_MASK		0x0000ffffu
#define GWLB_ENIIDX_TABLE_BASE		10000
#define GWLB_ENIIDX_PRIO_BASE		10000
/* Rule priorities of the kernel's own rules: local (0), main (32766), default (32767). */
#define GWLB_ENIIDX_PRIO_MAIN		32766
#define GWLB_ENIIDX_PRIO_DEFAULT	32767

static inline uint32_t gwlb_eniidx_mark(uint16_t idx)
{
	return idx & GWLB_ENIIDX_MARK_MASK;
}

static inline uint16_t gwlb_eniidx_zone(uint16_t idx)
{
	return idx;
}

static inline uint32_t gwlb_eniidx_table(uint32_t table_base, uint16_t idx)
{
	return table_base + idx;
}

static inline uint32_t gwlb_eniidx_priority(uint32_t prio_base, uint16_t idx)
{
	return prio_base + idx;
}

/*
 * Do the route tables base+1 .. base+max and rule priorities prio+1 .. prio+max fit in 32
 * bits and stay clear of the kernel's own (tables 253-255, rules 0, 32766, 32767)?
 * 0, or -ERANGE with the reason (naming the options) in err.
 */
int gwlb_eniidx_check_ranges(uint32_t max, uint32_t table_base, uint32_t prio_base, char *err,
			     size_t errlen);

struct gwlb_eniidx;

/* An allocator for indexes 1..max (1..GWLB_ENIIDX_MAX). 0, -EINVAL or -ENOMEM. */
int gwlb_eniidx_alloc(struct gwlb_eniidx **out, uint32_t max);
void gwlb_eniidx_free(struct gwlb_eniidx *a);

/*
 * The index of ENI `eni`: the one it has (in use, or kept from the state file), else the
 * one it had last if still free, else the lowest free index not released recently (the
 * lowest free one if all are recent), else one kept for an ENI that has not come back.
 * Returns 1..max, or -ENOSPC when every index is in use. *changed (may be NULL) says
 * whether the mapping changed (the state file needs writing).
 */
int gwlb_eniidx_get(struct gwlb_eniidx *a, uint64_t eni, bool *changed);

/* The index of ENI `eni` (in use or kept), or -ENOENT. */
int gwlb_eniidx_find(const struct gwlb_eniidx *a, uint64_t eni);

/* The ENI holding index idx (in use or kept): 0 with *eni set, or -ENOENT. */
int gwlb_eniidx_owner(const struct gwlb_eniidx *a, uint32_t idx, uint64_t *eni);

/* Give ENI `eni`'s index back: free for others. 0 or -ENOENT. */
int gwlb_eniidx_put(struct gwlb_eniidx *a, uint64_t eni);

/* Indexes in use or kept. */
unsigned gwlb_eniidx_count(const struct gwlb_eniidx *a);

struct gwlb_eniidx_err {
	unsigned line;			/* 1-based; 0 when not about a line */
	char reason[128];
};

/*
 * Load a state file's text into an empty allocator: every mapping is kept for its ENI.
 * 0, or -EINVAL with err filled and the allocator left empty; -ENOMEM.
 */
int gwlb_eniidx_parse(struct gwlb_eniidx *a, const char *buf, size_t len,
		      struct gwlb_eniidx_err *err);

/*
 * The state file's text for the mappings in use or kept, lowest index first, into buf.
 * Returns the text's length (as snprintf: the space needed without the NUL, also when
 * it did not fit), or -EINVAL.
 */
int gwlb_eniidx_format(const struct gwlb_eniidx *a, char *buf, size_t len);

#endif
