/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Drop reasons (stable names: they are metric labels) and the status snapshot. */
#ifndef GWLBD_STATS_H
#define GWLBD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "geneve.h"

enum gwlb_drop {
	GWLB_DROP_ORIGIN = 0,
	/* One per enum gwlb_geneve_err, same order: GWLB_DROP_GENEVE + err - 1. */
	GWLB_DROP_GENEVE,
	GWLB_DROP_INNER_MALFORMED = GWLB_DROP_GENEVE + GWLB_GENEVE_E__MAX - 1,
	GWLB_DROP_HDR_TOO_LONG,
	GWLB_DROP_HOLD_OVERFLOW,
	GWLB_DROP_MAX_ENI,
	GWLB_DROP_TUN_WRITE,
	GWLB_DROP_NO_FLOW,
	GWLB_DROP_FRAG_NO_FIRST,
	GWLB_DROP_TOO_BIG,
	GWLB_DROP_SEND_ERROR,
	GWLB_DROP_ENI_GONE,
	GWLB_DROP_RECEIVE_ONLY,
	GWLB_DROP__MAX
};

const char *gwlb_drop_name(enum gwlb_drop d);

/* Counters kept by one thread and read by the health thread: relaxed atomics, no locks. */
typedef _Atomic uint64_t gwlb_ctr_t;

static inline void gwlb_ctr_add(gwlb_ctr_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t gwlb_ctr_get(const gwlb_ctr_t *c)
{
	return atomic_load_explicit((gwlb_ctr_t *)c, memory_order_relaxed);
}

/* Read the kernel's UDP counters (this namespace): RcvbufErrors and InErrors. */
int gwlb_stats_udp_snmp(uint64_t *rcvbuf_errors, uint64_t *in_errors);

#endif
