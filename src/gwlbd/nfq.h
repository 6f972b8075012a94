/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFQUEUE side of the policy host: one worker thread per queue receives packets in
 * batches, builds the module-facing view (struct gwlb_pkt), asks a judge and sends the
 * verdicts back in batches with the decision written into the packet mark.
 *
 * Mark contract with the ruleset (nft.c installs the rules; the bits are configurable):
 *
 *   decision field = 2 bits at decision_shift: 0 undecided, 1 flow accepted, 2 flow dropped
 *   newflow_bit    = set by the pre-queue rule on a flow's first packets (ct state new)
 *
 * "mark" path (this lab's kernel: no NFQUEUE conntrack glue, NFQA_CFG_F_CONNTRACK is
 * refused and an NFQA_CT nest in a verdict is ignored):
 *   - before the queue:  meta mark set ct mark, plus newflow_bit when ct state is new.
 *     The worker reads ct_state from newflow_bit (set: NEW, clear: ESTABLISHED) and
 *     ct_mark = packet mark without newflow_bit.
 *   - after the queue (a chain at a later priority of the same hook), for every packet:
 *       ct mark set meta mark & ~newflow_bit
 *       meta mark & (3 << decision_shift) == 2 << decision_shift  ->  drop
 * "nfqa-ct" path (kernels with CONFIG_NETFILTER_NETLINK_GLUE_CT): ct state and mark come
 *   from NFQA_CT/NFQA_CT_INFO, and flow verdicts also carry an NFQA_CT nest that sets the
 *   ct mark (CTA_MARK + CTA_MARK_MASK, so only our bits change). The packet mark carries
 *   the same decision, so the post-queue drop rule is still needed on this path.
 *
 * Verdicts (enum gwlb_verdict) on the wire:
 *   CONTINUE, ACCEPT  NF_ACCEPT, packet mark untouched (batched). If the judge set module
 *                     bits (mark_mask), the mark becomes (mark & ~mask) | (value & mask).
 *   DROP              NF_DROP. Module bits are lost on the mark path (the packet never
 *                     reaches the post-queue rule); on the nfqa-ct path they reach the ct.
 *   ACCEPT_FLOW       NF_ACCEPT, mark = (mark & ~decision & ~newflow_bit & ~mask)
 *                     | 1 << decision_shift | (value & mask)
 *   DROP_FLOW         NF_ACCEPT (!), same mark with decision 2: the packet must reach the
 *                     post-queue rule so the decision lands in the ct mark; that rule then
 *                     drops it. An NF_DROP would lose the mark with the packet.
 *                     Dropping a flow's first packet leaves its conntrack entry
 *                     unconfirmed, so the kernel forgets it; the judge (policyhost.c)
 *                     then has the flow's 5-tuple put into the sticky-drop set that
 *                     policy_pre checks (nft.h), or a SYN retransmit would be queued
 *                     again. Decisions on confirmed flows stay in the ct mark.
 * A packet that cannot be parsed (or arrived truncated) is not judged: it is accepted when
 * fail_open is set, dropped otherwise, and counted.
 */
#ifndef GWLBD_NFQ_H
#define GWLBD_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gwlb/verdict.h>

#define GWLB_NFQ_BATCH_MAX	64	/* datagrams per receive */

/* What the judge decided for one packet. */
struct gwlb_nfq_judgement {
	int verdict;		/* enum gwlb_verdict */
	uint32_t mark_value;	/* module bits for the mark (ct mark on the nfqa-ct path) */
	uint32_t mark_mask;	/* which bits; decision and newflow bits are ignored */
};

/*
 * Called once per packet on the queue's worker thread; j arrives zeroed (CONTINUE, no
 * bits). Must not block for long: the queue waits behind it.
 */
typedef void (*gwlb_nfq_judge_fn)(void *arg, const struct gwlb_pkt *pkt,
				  struct gwlb_nfq_judgement *j);

struct gwlb_nfq_cfg {
	uint16_t first;			/* first queue number */
	uint16_t count;			/* queues first .. first + count - 1, one worker each */
	uint32_t maxlen;		/* kernel queue length in packets (0: 4096) */
	uint32_t copy_range;		/* bytes of each packet copied (0: 65535) */
	uint32_t rcvbuf;		/* socket receive buffer (0: maxlen x 1 KiB, >= 1 MiB) */
	unsigned batch;			/* datagrams per receive, 1..64 (0: 64) */
	bool fail_open;			/* queue full or packet unparsable -> accept */
	bool gso;			/* take GSO packets whole (NFQA_CFG_F_GSO) */
	uint32_t decision_shift;	/* decision field position (e.g. 16) */
	uint32_t newflow_bit;		/* the pre-queue rule's new-flow bit (e.g. 1 << 18) */
	gwlb_nfq_judge_fn judge;
	void *arg;
	/* syslog priorities; NULL: silent. Per-packet messages are rate-limited. */
	void (*log)(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

struct gwlb_nfq_stats {
	/* the worker's view */
	uint64_t received;		/* packet messages, truncated ones included */
	uint64_t accepted;		/* verdicts letting the packet through (flows included) */
	uint64_t dropped;		/* NF_DROP verdicts plus DROP_FLOW (dropped after the queue) */
	uint64_t flows_accepted;	/* ACCEPT_FLOW verdicts */
	uint64_t flows_dropped;		/* DROP_FLOW verdicts */
	uint64_t unparsed;		/* not judged: IP header unreadable or truncated */
	uint64_t truncated;		/* datagrams cut short by the receive buffer (MSG_TRUNC) */
	uint64_t gso;			/* packets the kernel passed as GSO (NFQA_SKB_GSO) */
	uint64_t batches;		/* receive calls that returned packets */
	uint64_t batch_verdicts;	/* NFQNL_MSG_VERDICT_BATCH messages sent */
	uint64_t enobufs;		/* socket overruns: the kernel lost messages for us */
	uint64_t verdict_errors;	/* verdicts the kernel refused or that could not be sent */
	/* the kernel's counters (/proc/net/netfilter/nfnetlink_queue); kernel_valid = found */
	bool kernel_valid;
	uint32_t portid;
	uint64_t queue_total;		/* packets waiting for a verdict now */
	uint64_t queue_dropped;		/* dropped because the queue was full */
	uint64_t user_dropped;		/* dropped because our socket buffer was full */
	uint64_t id_sequence;		/* last packet id: packets ever queued */
};

/* One entry of a worker's flow table: packets of a directional flow seen in userspace. */
struct gwlb_nfq_flow {
	uint8_t family;
	uint8_t proto;
	uint16_t sport;			/* host order */
	uint16_t dport;
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint32_t worker;
	uint64_t pkts;
};

/*
 * Bind the queues and start the workers. Each queue is configured with one message
 * acknowledged by the kernel (bind, copy mode, length, flags); the conntrack flag is tried
 * first and dropped when refused. 0, or -errno with the reason in err.
 */
int gwlb_nfq_start(const struct gwlb_nfq_cfg *cfg, char *err, size_t errlen);

/* Stop the workers (within ~200 ms), unbind the queues and free everything. */
void gwlb_nfq_stop(void);

/*
 * Queue index q (0 .. count-1): counters; zeroed if q is out of range. This and
 * gwlb_nfq_top_flows() may be called from any thread between start and stop (not
 * concurrently with gwlb_nfq_stop()).
 */
void gwlb_nfq_stats(unsigned q, struct gwlb_nfq_stats *st);

/* One look at a queue's progress (gwlb_nfq_stall()). */
struct gwlb_nfq_stall {
	uint16_t queue;			/* the queue number */
	uint64_t waiting;		/* the kernel's queue_total: packets waiting for a verdict */
	uint64_t stalled_ms;		/* packets waited and the worker moved not at all: since */
};

/*
 * Whether queue index q is stuck: packets wait in the kernel while its worker neither takes
 * one nor gives a verdict (a module's verdict() that loops or blocks). stalled_ms is 0
 * while the worker moves or has nothing to do. Each call is one look and a stall counts
 * from the last look that saw the worker move, so look about once a second, always from
 * the same thread.
 */
void gwlb_nfq_stall(unsigned q, struct gwlb_nfq_stall *st);

/* Read the kernel's counters of queue number queue into st. 0 or -errno (-ENOENT: not bound). */
int gwlb_nfq_kernel_stats(uint16_t queue, struct gwlb_nfq_stats *st);

/* "nfqa-ct" when the kernel accepted NFQA_CFG_F_CONNTRACK, "mark" otherwise. */
const char *gwlb_nfq_ct_path(void);

/* Number of workers running (0 when stopped). */
unsigned gwlb_nfq_workers(void);

/*
 * Up to n flows with the most packets through userspace, most first. Returns how many.
 * Each worker keeps a fixed table keyed by the directional 5-tuple, in buckets of a few
 * entries; a flow that finds its bucket full replaces the least recently seen entry and
 * starts again from 1 (later IP fragments count as a portless flow).
 */
unsigned gwlb_nfq_top_flows(struct gwlb_nfq_flow *out, unsigned n);

/* Forget cached interface names (call after links were renamed or re-created). */
void gwlb_nfq_ifcache_flush(void);

#endif
