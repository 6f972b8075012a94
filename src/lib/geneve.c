/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GENEVE header parse/build for GWLB traffic. The wire layout (RFC 8926):
 *
 *   byte 0   Ver(2) | OptLen(6, 4-byte words)
 *   byte 1   O(1) | C(1) | reserved(6)
 *   2..3     protocol type
 *   4..6     VNI
 *   7        reserved
 *   options: class(16) type(8, high bit = critical) R(3)|len(5, 4-byte words) data...
 */
#include <string.h>

#include "geneve.h"

#define GENEVE_F_OAM	0x80

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

/*
 * An AWS option that appears more than once is not an error: the last one wins, and it
 * alone decides whether that option counts as present (so a good ENI option followed by
 * a 4-byte one is refused as ENOENI). Options of other classes, critical or not, are
 * skipped: GWLB sends none, and refusing them would gain nothing.
 */
int gwlb_geneve_parse(const uint8_t *buf, size_t len, struct gwlb_geneve *g)
{
	int have_eni = 0, have_attach = 0, have_cookie = 0;
	uint64_t eni = 0, attach = 0;
	uint32_t cookie = 0;
	uint16_t proto;
	size_t hdr_len, off;

	if (len < GWLB_GENEVE_FIXED_LEN)
		return GWLB_GENEVE_ESHORT;
	if (buf[0] >> 6 != 0)
		return GWLB_GENEVE_EVERSION;
	if (buf[1] & GENEVE_F_OAM)
		return GWLB_GENEVE_EOAM;
	proto = get_be16(buf + 2);
	if (proto != GWLB_ETH_P_IP && proto != GWLB_ETH_P_IPV6)
		return GWLB_GENEVE_EPROTO;
	hdr_len = GWLB_GENEVE_FIXED_LEN + (size_t)(buf[0] & 0x3f) * 4;
	if (hdr_len > len)
		return GWLB_GENEVE_EOPTAREA;

	for (off = GWLB_GENEVE_FIXED_LEN; off < hdr_len;) {
		const uint8_t *o = buf + off;
		size_t dlen;

		if (hdr_len - off < 4)
			return GWLB_GENEVE_EOPTLEN;
		dlen = (size_t)(o[3] & 0x1f) * 4;
		if (dlen > hdr_len - off - 4)
			return GWLB_GENEVE_EOPTLEN;
		if (get_be16(o) == GWLB_GENEVE_OPT_CLASS) {
			switch (o[2] & 0x7f) {
			case GWLB_GENEVE_OPT_ENI:
				have_eni = dlen == 8;
				if (have_eni)
					eni = get_be64(o + 4);
				break;
			case GWLB_GENEVE_OPT_ATTACH:
				have_attach = dlen == 8;
				if (have_attach)
					attach = get_be64(o + 4);
				break;
			case GWLB_GENEVE_OPT_COOKIE:
				have_cookie = dlen == 4;
				if (have_cookie)
					cookie = get_be32(o + 4);
				break;
			}
		}
		off += 4 + dlen;
	}

	if (!have_eni)
		return GWLB_GENEVE_ENOENI;
	if (!have_attach)
		return GWLB_GENEVE_ENOATTACH;
	if (!have_cookie)
		return GWLB_GENEVE_ENOCOOKIE;
	if (len <= hdr_len)
		return GWLB_GENEVE_ENOINNER;

	g->eni_id = eni;
	g->attach_id = attach;
	g->cookie = cookie;
	g->vni = (uint32_t)buf[4] << 16 | (uint32_t)buf[5] << 8 | buf[6];
	g->proto = proto;
	g->hdr_len = (uint16_t)hdr_len;
	return GWLB_GENEVE_OK;
}

static const char *const geneve_errstr[GWLB_GENEVE_E__MAX] = {
	[GWLB_GENEVE_OK]	= "ok",
	[GWLB_GENEVE_ESHORT]	= "short",
	[GWLB_GENEVE_EVERSION]	= "version",
	[GWLB_GENEVE_EOAM]	= "oam",
	[GWLB_GENEVE_EPROTO]	= "proto",
	[GWLB_GENEVE_EOPTAREA]	= "optarea",
	[GWLB_GENEVE_EOPTLEN]	= "optlen",
	[GWLB_GENEVE_ENOENI]	= "noeni",
	[GWLB_GENEVE_ENOATTACH]	= "noattach",
	[GWLB_GENEVE_ENOCOOKIE]	= "nocookie",
	[GWLB_GENEVE_ENOINNER]	= "noinner",
};

const char *gwlb_geneve_strerror(int err)
{
	if (err < 0 || err >= GWLB_GENEVE_E__MAX)
		return "unknown";
	return geneve_errstr[err];
}

size_t gwlb_geneve_build(uint8_t *buf, size_t len, const struct gwlb_geneve *g)
{
	uint8_t *o;

	if (len < GWLB_GENEVE_AWS_LEN)
		return 0;
	memset(buf, 0, GWLB_GENEVE_AWS_LEN);
	buf[0] = (GWLB_GENEVE_AWS_LEN - GWLB_GENEVE_FIXED_LEN) / 4;
	put_be16(buf + 2, g->proto);
	buf[4] = (g->vni >> 16) & 0xff;
	buf[5] = (g->vni >> 8) & 0xff;
	buf[6] = g->vni & 0xff;

	o = buf + GWLB_GENEVE_FIXED_LEN;
	put_be16(o, GWLB_GENEVE_OPT_CLASS);
	o[2] = GWLB_GENEVE_OPT_ENI;
	o[3] = 2;
	put_be64(o + 4, g->eni_id);
	o += 12;
	put_be16(o, GWLB_GENEVE_OPT_CLASS);
	o[2] = GWLB_GENEVE_OPT_ATTACH;
	o[3] = 2;
	put_be64(o + 4, g->attach_id);
	o += 12;
	put_be16(o, GWLB_GENEVE_OPT_CLASS);
	o[2] = GWLB_GENEVE_OPT_COOKIE;
	o[3] = 1;
	put_be32(o + 4, g->cookie);
	return GWLB_GENEVE_AWS_LEN;
}
