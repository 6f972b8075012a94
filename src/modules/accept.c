/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * accept: the baseline policy. Every flow is accepted and offloaded to the kernel on its first
 * queued packet (mode=flow, the default). mode=packet accepts each packet without deciding the
 * flow, so every packet keeps coming to userspace: that measures the per-packet path.
 *
 * Built like any third-party module: nothing but <gwlb/verdict.h>.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gwlb/verdict.h>

struct accept_priv {
	enum gwlb_verdict verdict;
};

static int accept_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		       int argc, const char *const *argv, char *err, size_t errlen)
{
	struct accept_priv *p = priv;
	int i;

	p->verdict = GWLB_VERDICT_ACCEPT_FLOW;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "mode=flow")) {
			p->verdict = GWLB_VERDICT_ACCEPT_FLOW;
		} else if (!strcmp(argv[i], "mode=packet")) {
			p->verdict = GWLB_VERDICT_ACCEPT;
		} else {
			snprintf(err, errlen, "unknown argument \"%s\" (expected mode=flow|packet)",
				 argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static enum gwlb_verdict accept_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	const struct accept_priv *p = priv;

	return p->verdict;
}

static const struct gwlb_verdict_ops accept_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "accept",
	.description = "accept every flow (mode=flow) or every packet (mode=packet)",
	.priv_size = sizeof(struct accept_priv),
	.init = accept_init,
	.verdict = accept_verdict,
};

GWLB_VERDICT_MODULE(accept_ops);
