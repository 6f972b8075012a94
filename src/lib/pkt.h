/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inner packet -> flow key. The key is symmetric: both directions of a flow (and ICMP
 * errors quoting it) give the same key, so a reply finds the header its request came in.
 */
#ifndef GWLB_PKT_H
#define GWLB_PKT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Canonical flow key: endpoint 0 is the smaller of (addr, port) compared as bytes,
 * so the key does not depend on direction. IPv4 addresses sit in the first 4 bytes of
 * addr[] with the rest zero. Ports are in network order; for ICMP/ICMPv6 echo both hold
 * the echo id; for protocols without ports both are 0. Padding is always zero, so keys
 * can be hashed and compared as bytes.
 */
struct gwlb_flow_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint8_t proto;		/* IPPROTO_* of the transport (after IPv6 extension headers) */
	uint8_t family;		/* 4 or 6 */
	uint16_t eni_idx;	/* not set by the parser: the caller's ENI index */
};

enum gwlb_pkt_flag {
	GWLB_PKT_ICMP_ERR	= 1 << 0,	/* ICMP/ICMPv6 error: key is the quoted packet's flow */
	GWLB_PKT_FRAG		= 1 << 1,	/* a fragment (first or later) */
	GWLB_PKT_FRAG_LATER	= 1 << 2,	/* offset != 0: no transport header, key has no ports */
};

enum gwlb_pkt_err {
	GWLB_PKT_OK = 0,
	GWLB_PKT_ESHORT,	/* shorter than the IP header it claims */
	GWLB_PKT_EVERSION,	/* IP version is not 4 or 6 (or differs from the GENEVE protocol type) */
	GWLB_PKT_EHDRLEN,	/* IPv4 IHL < 5 or past the packet */
	GWLB_PKT_ETOTLEN,	/* IPv4 total / IPv6 payload length inconsistent with the buffer */
	GWLB_PKT_EEXTHDR,	/* IPv6 extension header chain truncated or too long */
	GWLB_PKT_EL4SHORT,	/* transport header too short to read ports / ICMP type */
	GWLB_PKT_EQUOTE,	/* ICMP error quotes a packet too short to key */
	GWLB_PKT_E__MAX
};

struct gwlb_pkt_info {
	struct gwlb_flow_key key;
	uint32_t frag_id;	/* IPv4 identification or IPv6 fragment identification */
	uint16_t l4_off;	/* offset of the transport header (0 for later fragments) */
	uint8_t flags;		/* enum gwlb_pkt_flag */
	uint8_t l4_proto;	/* protocol of the outer-most inner transport (ICMP for errors) */
};

/*
 * Parse an inner IP packet. version is 4, 6, or 0 to take it from the packet.
 * Returns GWLB_PKT_OK or an enum gwlb_pkt_err. For later fragments the key has no
 * ports: the caller completes it through its fragment table (GWLB_PKT_FRAG_LATER).
 */
int gwlb_pkt_parse(const uint8_t *buf, size_t len, int version, struct gwlb_pkt_info *pi);

const char *gwlb_pkt_strerror(int err);

/* Hash of a key, the same for both directions (the key is canonical). */
uint32_t gwlb_flow_key_hash(const struct gwlb_flow_key *k, uint32_t seed);

/*
 * The key of a flow from one direction's endpoints, canonical like gwlb_pkt_parse's:
 * addresses of the family's length (4 or 16 bytes), ports in network order (ICMP echo: its
 * identifier as both ports; no ports: 0). eni_idx is left 0.
 */
void gwlb_flow_key_make(struct gwlb_flow_key *k, uint8_t family, uint8_t proto,
			const void *saddr, const void *daddr, uint16_t sport, uint16_t dport);

/* Print "proto src:port <-> dst:port" into buf; returns buf. */
char *gwlb_flow_key_str(const struct gwlb_flow_key *k, char *buf, size_t len);

#endif
