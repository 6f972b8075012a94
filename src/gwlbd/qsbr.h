/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Quiescent-state based reclamation. Workers announce a quiescent state between batches
 * (they never block longer than their poll timeout); the manager unpublishes an ENI, then
 * waits for every worker to pass one before it closes the ENI's fds and frees it. This is
 * what lets the fast path read the ENI map and tun fds without a lock.
 */
#ifndef GWLBD_QSBR_H
#define GWLBD_QSBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gwlb_qsbr_slot {
	_Atomic uint64_t seen;
	_Atomic bool online;
	char pad[64 - sizeof(uint64_t) - sizeof(bool)];
};

struct gwlb_qsbr {
	_Atomic uint64_t epoch;
	unsigned n;
	struct gwlb_qsbr_slot *slot;
};

int gwlb_qsbr_init(struct gwlb_qsbr *q, unsigned threads);
void gwlb_qsbr_fini(struct gwlb_qsbr *q);
void gwlb_qsbr_online(struct gwlb_qsbr *q, unsigned tid);
/* A thread that exits (or died) no longer holds anything. */
void gwlb_qsbr_offline(struct gwlb_qsbr *q, unsigned tid);

static inline void gwlb_qsbr_quiescent(struct gwlb_qsbr *q, unsigned tid)
{
	atomic_store_explicit(&q->slot[tid].seen,
			      atomic_load_explicit(&q->epoch, memory_order_acquire),
			      memory_order_release);
}

/* Wait until every online thread has been quiescent since this call began. */
void gwlb_qsbr_synchronize(struct gwlb_qsbr *q);

#endif
