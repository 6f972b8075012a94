/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SipHash-2-4, after the reference implementation (CC0) by Aumasson and Bernstein. */
#include "siphash.h"

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void sip_compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t gwlb_siphash(const uint8_t key[GWLB_SIPHASH_KEY_LEN], const void *buf, size_t len)
{
	const uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	struct sip s = {
		.v0 = 0x736f6d6570736575ULL ^ k0,
		.v1 = 0x646f72616e646f6dULL ^ k1,
		.v2 = 0x6c7967656e657261ULL ^ k0,
		.v3 = 0x7465646279746573ULL ^ k1,
	};
	const uint8_t *p = buf, *end = p + (len & ~(size_t)7);
	uint64_t last = (uint64_t)len << 56;
	unsigned i;

	for (; p != end; p += 8)
		sip_compress(&s, load_le64(p));
	for (i = 0; i < (len & 7); i++)
		last |= (uint64_t)p[i] << (8 * i);
	sip_compress(&s, last);
	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
