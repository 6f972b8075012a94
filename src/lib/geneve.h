/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GENEVE (RFC 8926) as AWS Gateway Load Balancer speaks it: version 0, a bare IPv4/IPv6
 * inner packet, and three options of class 0x0108 (endpoint ENI id, attachment id, flow
 * cookie) that must all be present.
 */
#ifndef GWLB_GENEVE_H
#define GWLB_GENEVE_H

#include <stddef.h>
#include <stdint.h>

#define GWLB_GENEVE_PORT	6081
#define GWLB_GENEVE_FIXED_LEN	8
#define GWLB_GENEVE_OPT_CLASS	0x0108
#define GWLB_GENEVE_OPT_ENI	1	/* 8 bytes: GWLB endpoint ENI id */
#define GWLB_GENEVE_OPT_ATTACH	2	/* 8 bytes: attachment id */
#define GWLB_GENEVE_OPT_COOKIE	3	/* 4 bytes: flow cookie */
/* What GWLB sends: fixed header + ENI (4+8) + attachment (4+8) + cookie (4+4). */
#define GWLB_GENEVE_AWS_LEN	40
/* Fixed header + the largest option area the 6-bit length field can declare. */
#define GWLB_GENEVE_MAX_LEN	(GWLB_GENEVE_FIXED_LEN + 63 * 4)

#define GWLB_ETH_P_IP		0x0800
#define GWLB_ETH_P_IPV6		0x86dd

/* Why a GENEVE packet was refused. Values are stable: they index counters. */
enum gwlb_geneve_err {
	GWLB_GENEVE_OK = 0,
	GWLB_GENEVE_ESHORT,	/* shorter than the 8-byte fixed header */
	GWLB_GENEVE_EVERSION,	/* version field is not 0 */
	GWLB_GENEVE_EOAM,	/* O bit set: a control packet, never forwarded */
	GWLB_GENEVE_EPROTO,	/* protocol type is neither IPv4 nor IPv6 */
	GWLB_GENEVE_EOPTAREA,	/* declared option area runs past the packet */
	GWLB_GENEVE_EOPTLEN,	/* an option runs past the option area */
	GWLB_GENEVE_ENOENI,	/* ENI option missing or not 8 bytes */
	GWLB_GENEVE_ENOATTACH,	/* attachment option missing or not 8 bytes */
	GWLB_GENEVE_ENOCOOKIE,	/* cookie option missing or not 4 bytes */
	GWLB_GENEVE_ENOINNER,	/* no inner packet after the header */
	GWLB_GENEVE_E__MAX
};

struct gwlb_geneve {
	uint64_t eni_id;	/* host order */
	uint64_t attach_id;	/* host order */
	uint32_t cookie;	/* host order */
	uint32_t vni;		/* 24 bits, host order */
	uint16_t proto;		/* inner EtherType, host order */
	uint16_t hdr_len;	/* fixed header + options: the inner packet starts here */
};

/*
 * Parse the UDP payload of a GENEVE packet. Returns GWLB_GENEVE_OK or an
 * enum gwlb_geneve_err; *g is filled only on success.
 */
int gwlb_geneve_parse(const uint8_t *buf, size_t len, struct gwlb_geneve *g);

/* Short, stable, lower-case name of an error ("short", "version"...), for logs and metrics. */
const char *gwlb_geneve_strerror(int err);

/*
 * Write the 40-byte header GWLB sends (options in ENI, attachment, cookie order) for
 * g->proto / g->vni. Returns the bytes written, or 0 when len is too small.
 */
size_t gwlb_geneve_build(uint8_t *buf, size_t len, const struct gwlb_geneve *g);

#endif
