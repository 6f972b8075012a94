/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Outer IPv4/UDP headers for replies sent through a raw socket. */
#include <string.h>

#include "encap.h"

/*
 * Summed in native 16-bit words: the ones' complement sum does not depend on byte order,
 * so the result is already in network order when stored with memcpy (or assigned to a
 * header's 16-bit checksum field), and a header holding its own correct checksum sums to 0.
 */
uint16_t gwlb_inet_csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;
	uint16_t w;

	while (len >= 2) {
		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, 1);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t gwlb_encap_outer4(uint8_t *buf, size_t len, uint32_t saddr, uint32_t daddr,
			 uint16_t sport, uint16_t dport, size_t payload_len, uint16_t ip_id)
{
	size_t tot = GWLB_OUTER_LEN + payload_len;
	uint8_t *udp = buf + 20;
	uint16_t csum;

	if (len < GWLB_OUTER_LEN || payload_len > 0xffff - GWLB_OUTER_LEN)
		return 0;

	buf[0] = 0x45;
	buf[1] = 0;
	buf[2] = tot >> 8;
	buf[3] = tot & 0xff;
	/* ip_id is a host-order counter value; written big-endian like every other field. */
	buf[4] = ip_id >> 8;
	buf[5] = ip_id & 0xff;
	buf[6] = 0;
	buf[7] = 0;
	buf[8] = 64;
	buf[9] = 17;
	buf[10] = 0;
	buf[11] = 0;
	memcpy(buf + 12, &saddr, 4);
	memcpy(buf + 16, &daddr, 4);
	csum = gwlb_inet_csum(buf, 20);
	memcpy(buf + 10, &csum, 2);

	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	udp[4] = (tot - 20) >> 8;
	udp[5] = (tot - 20) & 0xff;
	udp[6] = 0;
	udp[7] = 0;
	return GWLB_OUTER_LEN;
}
