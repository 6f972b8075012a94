/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module that hangs its queue worker: on a packet to port=N (TCP or UDP destination
 * port) verdict() never returns, no opinion on anything else. It stands for a plug-in
 * that loops or blocks, which kills nothing, so that the lab can show the policy host's
 * watchdog (stall-timeout) kill and restart it.
 */
#include <unistd.h>

#include <gwlb/verdict.h>

#include "mod_port.h"

struct hang_priv {
	unsigned long port;
};

static int hang_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		     int argc, const char *const *argv, char *err, size_t errlen)
{
	struct hang_priv *p = priv;

	return mod_port_parse(argc, argv, "hangs the worker", &p->port, err, errlen);
}

static enum gwlb_verdict hang_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	const struct hang_priv *p = priv;

	/* The host blocks its signals in workers: only SIGKILL ends this. */
	while (pkt->l4_off && pkt->dport == p->port)
		sleep(3600);
	return GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops hang_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "hang",
	.description = "test: verdict() never returns on a packet to port=N",
	.priv_size = sizeof(struct hang_priv),
	.init = hang_init,
	.verdict = hang_verdict,
};

GWLB_VERDICT_MODULE(hang_ops);
