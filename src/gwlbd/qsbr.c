/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "qsbr.h"

int gwlb_qsbr_init(struct gwlb_qsbr *q, unsigned threads)
{
	q->slot = calloc(threads ? threads : 1, sizeof(*q->slot));
	if (!q->slot)
		return -ENOMEM;
	q->n = threads;
	atomic_init(&q->epoch, 1);
	return 0;
}

void gwlb_qsbr_fini(struct gwlb_qsbr *q)
{
	free(q->slot);
	q->slot = NULL;
	q->n = 0;
}

void gwlb_qsbr_online(struct gwlb_qsbr *q, unsigned tid)
{
	gwlb_qsbr_quiescent(q, tid);
	atomic_store(&q->slot[tid].online, true);
}

void gwlb_qsbr_offline(struct gwlb_qsbr *q, unsigned tid)
{
	atomic_store(&q->slot[tid].online, false);
}

void gwlb_qsbr_synchronize(struct gwlb_qsbr *q)
{
	struct timespec ts = { 0, 1000000 };
	uint64_t target = atomic_fetch_add(&q->epoch, 1) + 1;
	unsigned i;

	for (i = 0; i < q->n; i++) {
		while (atomic_load(&q->slot[i].online) &&
		       atomic_load_explicit(&q->slot[i].seen, memory_order_acquire) < target)
			nanosleep(&ts, NULL);
	}
}
