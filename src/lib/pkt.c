/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inner IPv4/IPv6 packet -> canonical flow key. Every read is bounded by the length the
 * IP header declares (IPv4 total length, IPv6 payload length), never by the buffer alone,
 * so trailing bytes a tun or NIC appends are not mistaken for headers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

#define PKT_EXTHDR_MAX	8	/* IPv6 extension headers walked before giving up */

#define IP4_MF		0x2000
#define IP4_OFFMASK	0x1fff

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE	136
#endif

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int icmp_is_echo(int family, uint8_t type)
{
	if (family == 4)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

static int icmp_is_error(int family, uint8_t type)
{
	if (family == 4)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* Put the smaller (addr, port) endpoint in slot 0 so both directions give one key. */
static void key_canon(struct gwlb_flow_key *k)
{
	int c = memcmp(k->addr[0], k->addr[1], sizeof(k->addr[0]));
	uint8_t tmp[16];
	uint16_t p;

	if (c == 0)
		c = memcmp(&k->port[0], &k->port[1], sizeof(k->port[0]));
	if (c <= 0)
		return;
	memcpy(tmp, k->addr[0], sizeof(tmp));
	memcpy(k->addr[0], k->addr[1], sizeof(tmp));
	memcpy(k->addr[1], tmp, sizeof(tmp));
	p = k->port[0];
	k->port[0] = k->port[1];
	k->port[1] = p;
}

static int pkt_parse_ip(const uint8_t *buf, size_t len, int version, int quoted,
			struct gwlb_pkt_info *pi);

/*
 * The transport part, from off up to end. A quoted packet (inside an ICMP error) is
 * keyed the same way except that an error quoting an error is not followed again.
 */
static int pkt_parse_l4(const uint8_t *buf, size_t off, size_t end, int quoted,
			struct gwlb_pkt_info *pi)
{
	struct gwlb_flow_key *k = &pi->key;
	int family = k->family;
	uint8_t proto = k->proto;
	uint8_t icmp = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	struct gwlb_pkt_info q;
	int err;

	pi->l4_off = (uint16_t)off;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (end - off < 4)
			return GWLB_PKT_EL4SHORT;
		memcpy(&k->port[0], buf + off, 2);
		memcpy(&k->port[1], buf + off + 2, 2);
		return GWLB_PKT_OK;
	default:
		if (proto != icmp)
			return GWLB_PKT_OK;
		break;
	}

	/* Every ICMP and ICMPv6 message starts with an 8-byte header. */
	if (end - off < 8)
		return GWLB_PKT_EL4SHORT;
	if (icmp_is_echo(family, buf[off])) {
		memcpy(&k->port[0], buf + off + 4, 2);
		k->port[1] = k->port[0];
		return GWLB_PKT_OK;
	}
	if (quoted || !icmp_is_error(family, buf[off]))
		return GWLB_PKT_OK;

	/*
	 * An error belongs to the flow it quotes (gwlbtun sent these with an unrelated
	 * flow's cookie). The quote is usually cut short: do not ask its lengths to fit.
	 */
	err = pkt_parse_ip(buf + off + 8, end - off - 8, family, 1, &q);
	if (err != GWLB_PKT_OK)
		return GWLB_PKT_EQUOTE;
	pi->key = q.key;
	pi->flags |= GWLB_PKT_ICMP_ERR;
	return GWLB_PKT_OK;
}

static int pkt_parse_ip4(const uint8_t *buf, size_t len, int quoted, struct gwlb_pkt_info *pi)
{
	struct gwlb_flow_key *k = &pi->key;
	size_t ihl, tot, end;
	uint16_t frag;

	if (len < 20)
		return GWLB_PKT_ESHORT;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return GWLB_PKT_EHDRLEN;
	tot = get_be16(buf + 2);
	if (tot < ihl || (!quoted && tot > len))
		return GWLB_PKT_ETOTLEN;
	end = tot < len ? tot : len;

	k->family = 4;
	k->proto = buf[9];
	pi->l4_proto = buf[9];
	memcpy(k->addr[0], buf + 12, 4);
	memcpy(k->addr[1], buf + 16, 4);

	frag = get_be16(buf + 6);
	if (frag & (IP4_MF | IP4_OFFMASK)) {
		if (!quoted) {
			pi->flags |= GWLB_PKT_FRAG;
			pi->frag_id = get_be16(buf + 4);
		}
		if (frag & IP4_OFFMASK) {
			if (!quoted)
				pi->flags |= GWLB_PKT_FRAG_LATER;
			return GWLB_PKT_OK;
		}
	}
	return pkt_parse_l4(buf, ihl, end, quoted, pi);
}

static int pkt_parse_ip6(const uint8_t *buf, size_t len, int quoted, struct gwlb_pkt_info *pi)
{
	struct gwlb_flow_key *k = &pi->key;
	size_t off = 40, end, hl;
	uint8_t nh;
	int n;

	if (len < 40)
		return GWLB_PKT_ESHORT;
	end = 40 + (size_t)get_be16(buf + 4);
	if (end > len) {
		if (!quoted)
			return GWLB_PKT_ETOTLEN;
		end = len;
	}

	k->family = 6;
	memcpy(k->addr[0], buf + 8, 16);
	memcpy(k->addr[1], buf + 24, 16);

	nh = buf[6];
	for (n = 0;; n++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			goto transport;
		}
		if (n >= PKT_EXTHDR_MAX)
			return GWLB_PKT_EEXTHDR;
		if (end - off < 8)
			return GWLB_PKT_EEXTHDR;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo = get_be16(buf + off + 2);

			nh = buf[off];
			if (!quoted) {
				pi->flags |= GWLB_PKT_FRAG;
				pi->frag_id = get_be32(buf + off + 4);
			}
			off += 8;
			if (fo & 0xfff8) {
				if (!quoted)
					pi->flags |= GWLB_PKT_FRAG_LATER;
				k->proto = nh;
				pi->l4_proto = nh;
				return GWLB_PKT_OK;
			}
			continue;
		}
		if (nh == IPPROTO_AH)
			hl = ((size_t)buf[off + 1] + 2) * 4;
		else
			hl = ((size_t)buf[off + 1] + 1) * 8;
		if (hl > end - off)
			return GWLB_PKT_EEXTHDR;
		nh = buf[off];
		off += hl;
	}

transport:
	/* ESP (ports hidden) and No Next Header end here like any protocol without ports. */
	k->proto = nh;
	pi->l4_proto = nh;
	return pkt_parse_l4(buf, off, end, quoted, pi);
}

static int pkt_parse_ip(const uint8_t *buf, size_t len, int version, int quoted,
			struct gwlb_pkt_info *pi)
{
	int v, err;

	memset(pi, 0, sizeof(*pi));
	if (len < 1)
		return GWLB_PKT_ESHORT;
	v = buf[0] >> 4;
	if ((v != 4 && v != 6) || (version != 0 && v != version))
		return GWLB_PKT_EVERSION;
	if (v == 4)
		err = pkt_parse_ip4(buf, len, quoted, pi);
	else
		err = pkt_parse_ip6(buf, len, quoted, pi);
	if (err != GWLB_PKT_OK)
		return err;
	key_canon(&pi->key);
	return GWLB_PKT_OK;
}

void gwlb_flow_key_make(struct gwlb_flow_key *k, uint8_t family, uint8_t proto,
			const void *saddr, const void *daddr, uint16_t sport, uint16_t dport)
{
	size_t alen = family == 6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	memcpy(k->addr[0], saddr, alen);
	memcpy(k->addr[1], daddr, alen);
	k->port[0] = sport;
	k->port[1] = dport;
	key_canon(k);
}

int gwlb_pkt_parse(const uint8_t *buf, size_t len, int version, struct gwlb_pkt_info *pi)
{
	struct gwlb_pkt_info tmp;
	int err;

	/* Fill the caller's struct only on success, zeroed so keys compare as bytes. */
	err = pkt_parse_ip(buf, len, version, 0, &tmp);
	if (err == GWLB_PKT_OK)
		*pi = tmp;
	return err;
}

static const char *const pkt_errstr[GWLB_PKT_E__MAX] = {
	[GWLB_PKT_OK]		= "ok",
	[GWLB_PKT_ESHORT]	= "short",
	[GWLB_PKT_EVERSION]	= "version",
	[GWLB_PKT_EHDRLEN]	= "hdrlen",
	[GWLB_PKT_ETOTLEN]	= "totlen",
	[GWLB_PKT_EEXTHDR]	= "exthdr",
	[GWLB_PKT_EL4SHORT]	= "l4short",
	[GWLB_PKT_EQUOTE]	= "quote",
};

const char *gwlb_pkt_strerror(int err)
{
	if (err < 0 || err >= GWLB_PKT_E__MAX)
		return "unknown";
	return pkt_errstr[err];
}

static uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/*
 * Word-at-a-time multiply/rotate mix with a strong 64-bit finaliser; the key is 40
 * bytes, so this is five rounds plus the finish. Loads go through memcpy: keys may sit
 * anywhere in a caller's buffer.
 */
uint32_t gwlb_flow_key_hash(const struct gwlb_flow_key *k, uint32_t seed)
{
	const uint8_t *p = (const uint8_t *)k;
	size_t n = sizeof(*k);
	uint64_t h, w;

	h = ((uint64_t)seed << 32 | seed) ^ 0x9e3779b97f4a7c15ULL ^ n;
	while (n >= 8) {
		memcpy(&w, p, 8);
		w *= 0xff51afd7ed558ccdULL;
		w ^= w >> 29;
		h ^= w;
		h = rotl64(h, 27) * 0xc4ceb9fe1a85ec53ULL + 0x52dce729ULL;
		p += 8;
		n -= 8;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		w *= 0xff51afd7ed558ccdULL;
		w ^= w >> 29;
		h ^= w;
		h = rotl64(h, 27) * 0xc4ceb9fe1a85ec53ULL + 0x52dce729ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)(h ^ (h >> 32));
}

static const char *proto_name(uint8_t proto, char *num, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	}
	snprintf(num, len, "%u", proto);
	return num;
}

char *gwlb_flow_key_str(const struct gwlb_flow_key *k, char *buf, size_t len)
{
	char a[2][INET6_ADDRSTRLEN + 2], pname[4];
	int i;

	if (len == 0)
		return buf;
	for (i = 0; i < 2; i++) {
		if (k->family == 6) {
			char tmp[INET6_ADDRSTRLEN];

			if (!inet_ntop(AF_INET6, k->addr[i], tmp, sizeof(tmp)))
				tmp[0] = '\0';
			snprintf(a[i], sizeof(a[i]), "[%s]", tmp);
		} else if (!inet_ntop(AF_INET, k->addr[i], a[i], sizeof(a[i]))) {
			a[i][0] = '\0';
		}
	}
	snprintf(buf, len, "%s %s:%u <-> %s:%u", proto_name(k->proto, pname, sizeof(pname)),
		 a[0], ntohs(k->port[0]), a[1], ntohs(k->port[1]));
	return buf;
}
