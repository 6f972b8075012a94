/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for everything that reads bytes GWLB (or anyone able to reach UDP
 * 6081) controls: the GENEVE header, the inner packet behind it, and, for good measure,
 * the CIDR parser that reads config text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "geneve.h"
#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_inner(const uint8_t *buf, size_t len, int version)
{
	struct gwlb_pkt_info pi;
	char str[128];
	volatile uint32_t h;

	if (gwlb_pkt_parse(buf, len, version, &pi) != GWLB_PKT_OK)
		return;
	/* what the parser promises: a key inside its own rules */
	if (pi.key.family != 4 && pi.key.family != 6)
		abort();
	if (pi.key.eni_idx != 0 || pi.l4_off > len)
		abort();
	if ((pi.flags & GWLB_PKT_FRAG_LATER) && (pi.key.port[0] || pi.key.port[1] || pi.l4_off))
		abort();
	if (memcmp(&pi.key.addr[0], &pi.key.addr[1], 16) > 0)
		abort();
	gwlb_flow_key_str(&pi.key, str, sizeof(str));
	h = gwlb_flow_key_hash(&pi.key, 0x12345678);
	(void)h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gwlb_geneve g;
	struct gwlb_cidr c;
	char text[65];
	size_t n;

	if (gwlb_geneve_parse(data, size, &g) == GWLB_GENEVE_OK) {
		uint8_t hdr[GWLB_GENEVE_AWS_LEN];
		struct gwlb_geneve g2;

		if (g.hdr_len >= size || g.hdr_len < GWLB_GENEVE_FIXED_LEN)
			abort();
		fuzz_inner(data + g.hdr_len, size - g.hdr_len, g.proto == GWLB_ETH_P_IP ? 4 : 6);

		/* what we rebuild from a parsed header parses back to the same values */
		if (gwlb_geneve_build(hdr, sizeof(hdr), &g) != sizeof(hdr))
			abort();
		{
			uint8_t again[GWLB_GENEVE_AWS_LEN + 1];

			memcpy(again, hdr, sizeof(hdr));
			again[sizeof(hdr)] = 0x45;
			if (gwlb_geneve_parse(again, sizeof(again), &g2) != GWLB_GENEVE_OK ||
			    g2.eni_id != g.eni_id || g2.attach_id != g.attach_id ||
			    g2.cookie != g.cookie || g2.vni != g.vni || g2.proto != g.proto)
				abort();
		}
	}

	fuzz_inner(data, size, 0);

	n = size < 64 ? size : 64;
	memcpy(text, data, n);
	text[n] = '\0';
	if (gwlb_cidr_parse(text, &c) == 0 && c.plen > (c.family == 4 ? 32 : 128))
		abort();
	return 0;
}
