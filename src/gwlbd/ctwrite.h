/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack writes asked for by verdict modules, through ctnetlink, off the packet path.
 *
 * A module's ct_label_set() is recorded while its chain runs; the policy host queues the
 * labels here and one thread writes them with libnetfilter_conntrack (CTA_LABELS plus
 * CTA_LABELS_MASK: only the requested bits change, bits other modules or rules set stay).
 * The entry of a flow's first packet is confirmed only after its verdict is sent and the
 * packet leaves the hooks, so a write that finds no entry (ENOENT) is retried a few times
 * within ~130 ms before it counts as failed.
 *
 * An entry has room for labels only when the kernel's connlabel extension was in use in its
 * network namespace when the entry was created (gwlb_nft_connlabel_hold() sees to that);
 * older entries refuse the write with ENOSPC.
 */
#ifndef GWLBD_CTWRITE_H
#define GWLBD_CTWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <gwlb/verdict.h>

#define GWLB_CTWRITE_QUEUE_LEN	4096	/* writes waiting; more are counted as overflow */
#define GWLB_CTWRITE_RETRIES	6	/* after an ENOENT, 2 ms doubling: 2 + 4 + ... + 64 ms */

/* A flow's conntrack lookup key: one direction's tuple. */
struct gwlb_ctwrite_tuple {
	uint8_t family;			/* 4 or 6 */
	uint8_t proto;			/* IPPROTO_* */
	uint16_t sport;			/* host order; TCP, UDP, UDP-Lite, SCTP, DCCP */
	uint16_t dport;
	uint8_t icmp_type;		/* ICMP and ICMPv6 */
	uint8_t icmp_code;
	uint16_t icmp_id;		/* host order */
	uint8_t saddr[16];		/* network order, 4 or 16 bytes used */
	uint8_t daddr[16];
};

struct gwlb_ctwrite_stats {
	uint64_t ok;			/* entries written */
	uint64_t failed;		/* refused by the kernel, or no entry after the retries */
	uint64_t overflow;		/* not queued: the queue was full */
	uint64_t retried;		/* ENOENT answers that were tried again */
};

struct gwlb_ctwrite_cfg {
	/* syslog priorities; NULL: silent. Failures are logged at most once a second. */
	void (*log)(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

/*
 * The key of pkt's flow in the original direction (a reply-direction packet's addresses
 * and ports swapped). 0, or -EINVAL when pkt has no transport header a key needs.
 */
int gwlb_ctwrite_tuple(const struct gwlb_pkt *pkt, struct gwlb_ctwrite_tuple *t);
/* The same flow seen from the other direction (ICMP: addresses only). */
void gwlb_ctwrite_tuple_swap(struct gwlb_ctwrite_tuple *t);

/* Open the ctnetlink socket and start the writer thread. 0, or -errno with the reason in err. */
int gwlb_ctwrite_start(const struct gwlb_ctwrite_cfg *cfg, char *err, size_t errlen);
/* Stop the thread (writes still queued are dropped) and close the socket. */
void gwlb_ctwrite_stop(void);

/*
 * Queue a write of label bits (bit b: labels[b / 32] & 1u << b % 32) to pkt's flow in
 * conntrack zone `zone`. Zones are 0 until ENIs get their own (issue 4): the caller then
 * passes the ENI's zone. Never blocks. 0, -ENOSPC when the queue is full (counted as
 * overflow), -EINVAL when pkt cannot be keyed (counted as failed), -ENOTCONN when stopped.
 */
int gwlb_ctwrite_labels(const struct gwlb_pkt *pkt, uint16_t zone, const uint32_t labels[4]);

void gwlb_ctwrite_stats(struct gwlb_ctwrite_stats *st);

#endif
