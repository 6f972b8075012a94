/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module: asks for conntrack label bit N (its one argument) on every packet and
 * accepts the flow. The bit is passed to the host unchecked, so that a policy can show the
 * host refusing one outside 0..127. Counters: label_ok, label_einval (the host's -EINVAL),
 * label_err (any other refusal).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <gwlb/verdict.h>

enum { C_OK, C_EINVAL, C_ERR, C__MAX };

static const char *const cnames[C__MAX] = { "label_ok", "label_einval", "label_err" };

struct label_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int c[C__MAX];
	unsigned bit;
};

static int label_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		      int argc, const char *const *argv, char *err, size_t errlen)
{
	struct label_priv *p = priv;
	unsigned long bit;
	char *end;
	int i;

	if (argc != 1) {
		snprintf(err, errlen, "want one argument: the label bit");
		return -EINVAL;
	}
	bit = strtoul(argv[0], &end, 10);
	if (end == argv[0] || *end || bit > 65535) {
		snprintf(err, errlen, "bad label bit \"%s\"", argv[0]);
		return -EINVAL;
	}
	p->host = host;
	p->h = h;
	p->bit = bit;
	for (i = 0; i < C__MAX; i++) {
		p->c[i] = host->counter_id(h, cnames[i]);
		if (p->c[i] < 0) {
			snprintf(err, errlen, "counter_id(%s) = %d", cnames[i], p->c[i]);
			return p->c[i];
		}
	}
	return 0;
}

static enum gwlb_verdict label_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct label_priv *p = priv;
	int rc = p->host->ct_label_set(p->h, pkt, p->bit);

	p->host->counter_add(p->h, p->c[!rc ? C_OK : rc == -EINVAL ? C_EINVAL : C_ERR], 1);
	return GWLB_VERDICT_ACCEPT_FLOW;
}

static const struct gwlb_verdict_ops label_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "label",
	.description = "test: sets conntrack label bit N, accepts the flow",
	.priv_size = sizeof(struct label_priv),
	.init = label_init,
	.verdict = label_verdict,
};

GWLB_VERDICT_MODULE(label_ops);
