/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module that crashes its host: raise(SIGSEGV) on a packet to port=N (TCP or UDP
 * destination port), no opinion on anything else. It stands for a buggy plug-in, so that
 * the lab can show a crash costs the policy process, never the tunnel.
 */
#include <signal.h>

#include <gwlb/verdict.h>

#include "mod_port.h"

struct crash_priv {
	unsigned long port;
};

static int crash_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		      int argc, const char *const *argv, char *err, size_t errlen)
{
	struct crash_priv *p = priv;

	return mod_port_parse(argc, argv, "crashes the host", &p->port, err, errlen);
}

static enum gwlb_verdict crash_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	const struct crash_priv *p = priv;

	if (pkt->l4_off && pkt->dport == p->port)
		raise(SIGSEGV);
	return GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops crash_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "crash",
	.description = "test: SIGSEGV on a packet to port=N",
	.priv_size = sizeof(struct crash_priv),
	.init = crash_init,
	.verdict = crash_verdict,
};

GWLB_VERDICT_MODULE(crash_ops);
