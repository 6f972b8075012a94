/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cookie restore after NAT. A packet read from an ENI's tun whose tuple is not in the flow
 * table may be one the appliance rewrote: DNAT in a template, SNAT towards gwo. Conntrack
 * knows both directions of it. Its entry is found by the packet's tuple reversed, as the
 * reply tuple in zone 0 (a packet in the entry's original direction, NAT applied: replies
 * stay in zone 0) or as the original tuple in the ENI's zone (a packet in the reply
 * direction); the entry's other tuple is the flow as it came from GWLB, and that flow's
 * entry holds the GENEVE header. The packet leaves with it, and its own tuple goes into the
 * flow table with the same header, so the flow's next packets take the fast path.
 *
 * The lookup is a ctnetlink round trip, which the tun workers never make: they hand the
 * packet to one thread through a bounded queue and go on. A tuple that could not be
 * restored is remembered for a few seconds and its packets are dropped at once, so a flood
 * of strangers on gwo costs one lookup per tuple, not one per packet. Every packet that is
 * not restored is counted as a no_flow drop, as before.
 */
#ifndef GWLBD_CTRESTORE_H
#define GWLBD_CTRESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define GWLB_CTRESTORE_QUEUE_LEN	64	/* packets waiting for a lookup */
#define GWLB_CTRESTORE_NEG_SLOTS	1024	/* tuples remembered as not restorable */
#define GWLB_CTRESTORE_NEG_TTL		2	/* seconds they are remembered */

struct eni;

struct gwlb_ctrestore_stats {
	uint64_t restored;	/* packets sent with the header of their flow's pre-NAT tuple */
	uint64_t lookups;	/* ctnetlink lookups made */
	uint64_t no_entry;	/* conntrack had no entry for the tuple */
	uint64_t no_flow;	/* an entry, but no flow for its other tuple (or another ENI's) */
	uint64_t skipped;	/* not tried: ICMP error, later fragment, recently failed tuple */
	uint64_t busy;		/* not tried: the queue was full */
};

/*
 * Open the ctnetlink socket and the raw socket, start the thread (qsbr thread tid). 0, or
 * -errno with the reason in err. Without it (not started) gwlb_ctrestore_submit refuses.
 */
int gwlb_ctrestore_start(unsigned tid, char *err, size_t errlen);
void gwlb_ctrestore_stop(void);

/*
 * Tun worker: the packet inner[0..len) of ENI e missed the flow table (pi: its parse).
 * Copies it for the restore thread and returns true, or false when it will not be tried
 * (the caller counts the drop). Never blocks on the network.
 */
bool gwlb_ctrestore_submit(struct eni *e, const uint8_t *inner, size_t len,
			   const struct gwlb_pkt_info *pi, uint32_t now);

void gwlb_ctrestore_stats(struct gwlb_ctrestore_stats *st);

#endif
