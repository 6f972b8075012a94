/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow table: inner flow (plus ENI) -> the GENEVE header and outer addresses it came
 * in with, so every reply leaves with its own flow's cookie. Fixed capacity, allocated
 * once; per-protocol idle timeouts; when full, the stalest of a few sampled entries is
 * evicted (counted). Writers (the UDP workers) lock one stripe of buckets; readers (the
 * tun workers) take no lock at all: they read under a per-stripe sequence count and retry.
 *
 * Also here: the fragment table, so later fragments (no ports) follow their first one.
 */
#ifndef GWLB_FLOWTAB_H
#define GWLB_FLOWTAB_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/*
 * Longest GENEVE header a flow entry keeps inline (GWLB's is 40 bytes). A longer one is
 * refused with -EMSGSIZE by gwlb_flowtab_update and counted by the caller.
 */
#define GWLB_FLOW_HDR_MAX	52

enum gwlb_flow_class {
	GWLB_FLOW_TCP = 0,
	GWLB_FLOW_UDP,
	GWLB_FLOW_ICMP,		/* ICMP and ICMPv6 */
	GWLB_FLOW_OTHER,
	GWLB_FLOW__MAX
};

/* GWLB's own idle timeouts: TCP 350 s; everything else 120 s. */
#define GWLB_FLOW_TIMEOUT_TCP	350
#define GWLB_FLOW_TIMEOUT_OTHER	120

struct gwlb_flow_val {
	uint32_t outer_local;	/* address GWLB sent to: our source on the way back (network order) */
	uint32_t outer_remote;	/* GWLB's address (network order) */
	uint16_t outer_sport;	/* GWLB's UDP source port (network order) */
	uint8_t hdr_len;
	uint8_t hdr[GWLB_FLOW_HDR_MAX];	/* the GENEVE header, byte for byte */
};

struct gwlb_flowtab_cfg {
	uint32_t capacity;		/* entries; rounded up to a power of two */
	uint32_t timeout[GWLB_FLOW__MAX];	/* idle seconds per class; 0 = default */
	uint32_t max_eni;		/* ENI indexes are < max_eni (per-ENI counts) */
};

struct gwlb_flowtab_stats {
	uint64_t entries;	/* live now */
	uint64_t capacity;
	uint64_t inserts;
	uint64_t updates;	/* existing entry refreshed with a changed header or outer address */
	uint64_t evictions;	/* live entries pushed out because the table was full */
	uint64_t expired;	/* idle entries removed by gwlb_flowtab_expire */
	uint64_t bytes;		/* memory the table holds */
};

struct gwlb_flowtab;

enum gwlb_flow_class gwlb_flow_class_of(uint8_t proto);

/* 0 or -errno (-ENOMEM, -EINVAL). */
int gwlb_flowtab_alloc(struct gwlb_flowtab **ft, const struct gwlb_flowtab_cfg *cfg);
void gwlb_flowtab_free(struct gwlb_flowtab *ft);

/*
 * Insert or refresh (inbound path, called for every packet from GWLB; cheap when
 * nothing changed). now is a monotonic time in seconds. Returns 0, or 1 when an entry
 * was evicted to make room, or -EMSGSIZE (header longer than GWLB_FLOW_HDR_MAX).
 */
int gwlb_flowtab_update(struct gwlb_flowtab *ft, const struct gwlb_flow_key *k,
			const struct gwlb_flow_val *v, uint32_t now);

/* Lock-free lookup (outbound path). 0 and *v filled, or -ENOENT (absent or idle past its timeout). */
int gwlb_flowtab_lookup(struct gwlb_flowtab *ft, const struct gwlb_flow_key *k, uint32_t now,
			struct gwlb_flow_val *v);

/* Remove idle entries, visiting at most budget buckets from where the last call stopped. Returns entries removed. */
unsigned gwlb_flowtab_expire(struct gwlb_flowtab *ft, uint32_t now, unsigned budget);

/* Remove every entry of one ENI (on destroy). Returns entries removed. */
unsigned gwlb_flowtab_flush_eni(struct gwlb_flowtab *ft, uint16_t eni_idx);

void gwlb_flowtab_stats(const struct gwlb_flowtab *ft, struct gwlb_flowtab_stats *st);
/* Live entries and evictions of one ENI. */
void gwlb_flowtab_eni_stats(const struct gwlb_flowtab *ft, uint16_t eni_idx, uint64_t *entries,
			    uint64_t *evictions);
uint32_t gwlb_flowtab_timeout(const struct gwlb_flowtab *ft, enum gwlb_flow_class c);

/* One live entry, as gwlb_flowtab_walk() hands it over. */
struct gwlb_flow_entry {
	struct gwlb_flow_key key;
	struct gwlb_flow_val val;
	uint32_t idle;		/* seconds since the flow was last seen */
};

/* Return nonzero to end the walk. */
typedef int (*gwlb_flowtab_walk_fn)(const struct gwlb_flow_entry *e, void *arg);

/*
 * Call fn for each live (not idle past its timeout) entry, bucket by bucket. Takes no
 * lock: a bucket's chain is copied under its stripe's sequence count and retried if a
 * writer moved, so every entry arrives whole, but flows that come and go during the walk
 * may be seen or not. Visits every bucket (capacity of them); for a control request, not
 * for a packet path. Returns the number of entries passed to fn.
 */
uint64_t gwlb_flowtab_walk(struct gwlb_flowtab *ft, uint32_t now, gwlb_flowtab_walk_fn fn,
			   void *arg);

/* Bytes of one entry, as laid out in memory (documented limit: 128). */
size_t gwlb_flowtab_entry_size(void);

/*
 * Fragment table: (family, addresses, protocol, fragment id, ENI) -> ports of the first
 * fragment, so later fragments (which carry no transport header) get their flow's key.
 * Fixed size, overwritten on collision, entries live 30 s. Safe for concurrent use.
 */
struct gwlb_fragtab;

int gwlb_fragtab_alloc(struct gwlb_fragtab **t, uint32_t slots);
void gwlb_fragtab_free(struct gwlb_fragtab *t);
/* Remember the first fragment: pi must have GWLB_PKT_FRAG set and GWLB_PKT_FRAG_LATER clear. */
void gwlb_fragtab_note(struct gwlb_fragtab *t, const struct gwlb_pkt_info *pi, uint32_t now);
/* Complete pi->key of a later fragment. 0, or -ENOENT when its first fragment was not seen. */
int gwlb_fragtab_complete(struct gwlb_fragtab *t, struct gwlb_pkt_info *pi, uint32_t now);

#endif
