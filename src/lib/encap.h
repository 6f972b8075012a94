/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Outer IPv4 + UDP headers around a GENEVE packet, for the raw-socket return path. */
#ifndef GWLB_ENCAP_H
#define GWLB_ENCAP_H

#include <stddef.h>
#include <stdint.h>

#define GWLB_OUTER_LEN	28	/* IPv4 without options + UDP */

/*
 * Write an IPv4 header (no options, TTL 64, DF clear, checksum filled) and a UDP header
 * (checksum 0, allowed for IPv4) for a UDP payload of payload_len bytes. Addresses and
 * ports in network order. Returns GWLB_OUTER_LEN, or 0 when len < GWLB_OUTER_LEN or
 * the datagram would exceed 65535 bytes.
 */
size_t gwlb_encap_outer4(uint8_t *buf, size_t len, uint32_t saddr, uint32_t daddr,
			 uint16_t sport, uint16_t dport, size_t payload_len, uint16_t ip_id);

/* RFC 1071 checksum over buf (for the IPv4 header and tests). */
uint16_t gwlb_inet_csum(const void *buf, size_t len);

#endif
