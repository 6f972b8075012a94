/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module that crashes its host: raise(SIGSEGV) on a packet to port=N (TCP or UDP
 * destination port), no opinion on anything else. It stands for a buggy plug-in, so that
 * the lab can show a crash costs the policy process, never the tunnel.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

struct crash_priv {
	unsigned long port;
};

static int crash_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		      int argc, const char *const *argv, char *err, size_t errlen)
{
	struct crash_priv *p = priv;
	char *end;

	if (argc != 1 || strncmp(argv[0], "port=", 5)) {
		snprintf(err, errlen, "give port=N: the destination port that crashes the host");
		return -EINVAL;
	}
	p->port = strtoul(argv[0] + 5, &end, 10);
	if (*end || !p->port || p->port > 65535) {
		snprintf(err, errlen, "bad %s: want port=1..65535", argv[0]);
		return -EINVAL;
	}
	return 0;
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
