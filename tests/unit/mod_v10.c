/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module built against the ABI 1.0 header as released (tests/unit/abi-1.0, a frozen
 * copy): its descriptor says 1.0 and it knows only the 1.0 host services. A host that
 * speaks 1.1 must load it and serve it unchanged. It drops flows to port 23, counts packets
 * and adds each packet's source to the set named by set=NAME.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gwlb/verdict.h>

#if GWLB_VERDICT_ABI_MINOR != 0
#error "mod_v10.c must be built against the 1.0 header"
#endif

struct v10_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int packets;
	const char *set;
};

static int v10_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		    int argc, const char *const *argv, char *err, size_t errlen)
{
	struct v10_priv *p = priv;
	int i;

	p->host = host;
	p->h = h;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "set=", 4)) {
			p->set = argv[i] + 4;
		} else {
			snprintf(err, errlen, "unknown argument \"%s\"", argv[i]);
			return -EINVAL;
		}
	}
	p->packets = host->counter_id(h, "packets");
	if (p->packets < 0) {
		snprintf(err, errlen, "counter_id: %d", p->packets);
		return p->packets;
	}
	host->log(h, GWLB_LOG_INFO, "1.0 module up, %u threads", host->threads(h));
	return 0;
}

static enum gwlb_verdict v10_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct v10_priv *p = priv;

	p->host->counter_add(p->h, p->packets, 1);
	if (p->set)
		p->host->set_add(p->h, p->set, pkt->saddr, pkt->family == 6 ? 16 : 4, 0);
	return pkt->dport == 23 ? GWLB_VERDICT_DROP_FLOW : GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops v10_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "v10",
	.description = "test: built for ABI 1.0",
	.priv_size = sizeof(struct v10_priv),
	.init = v10_init,
	.verdict = v10_verdict,
};

GWLB_VERDICT_MODULE(v10_ops);
