/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module with a foreign ABI: 2.0 by default, or the version in $GWLB_TEST_ABI
 * (e.g. 0x00010001) so that one file covers major, minor and matching versions.
 */
#include <stdlib.h>

#include <gwlb/verdict.h>

static enum gwlb_verdict badabi_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	return GWLB_VERDICT_DROP;
}

static struct gwlb_verdict_ops badabi_ops = {
	.abi_version = 2u << 16,
	.name = "badabi",
	.description = "test: built against another ABI",
	.verdict = badabi_verdict,
};

__attribute__((visibility("default")))
const struct gwlb_verdict_ops *gwlb_verdict_module(void);

__attribute__((visibility("default")))
const struct gwlb_verdict_ops *gwlb_verdict_module(void)
{
	const char *v = getenv("GWLB_TEST_ABI");

	badabi_ops.abi_version = v ? (uint32_t)strtoul(v, NULL, 0) : 2u << 16;
	return &badabi_ops;
}
