/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test module whose init refuses unless given frob=ok, with its own reason and errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gwlb/verdict.h>

static int failinit_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
			 int argc, const char *const *argv, char *err, size_t errlen)
{
	if (argc == 1 && !strcmp(argv[0], "frob=ok"))
		return 0;
	snprintf(err, errlen, "the frobnicator is missing (give frob=ok)");
	return -EDOM;
}

static enum gwlb_verdict failinit_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	return GWLB_VERDICT_ACCEPT;
}

static const struct gwlb_verdict_ops failinit_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "failinit",
	.description = "test: init fails",
	.init = failinit_init,
	.verdict = failinit_verdict,
};

GWLB_VERDICT_MODULE(failinit_ops);
