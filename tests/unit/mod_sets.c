/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module for the ABI 1.1 set services, driven by its arguments; results land in
 * named counters.
 *   declare        declare sets x4 (interval, drop, src) and y6 (timeout 5 s, accept,
 *                  either) and load elements into them; check the refusals on the way
 *   deny-port=N    DROP_FLOW for flows to port N (the lab's sticky-drop test)
 *   block-port=N   a packet to port N: set_add of its source to cidr_block4/cidr_block6,
 *                  then DROP (the lab's block-set test)
 * Every packet also tries set_declare and set_load, which must be -EPERM outside init().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

enum { C_PACKETS, C_LATE_EPERM, C_BLOCK_OK, C_BLOCK_ERR, C__MAX };

static const char *const cnames[C__MAX] = { "packets", "late_eperm", "block_ok", "block_err" };

struct sets_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int c[C__MAX];
	long deny_port, block_port;
};

static int sets_check(struct sets_priv *p, const char *what, int got, int want, char *err,
		      size_t errlen)
{
	if (got == want)
		return 0;
	snprintf(err, errlen, "%s: %d, expected %d", what, got, want);
	return -EPROTO;
}

static int sets_declare(struct sets_priv *p, char *err, size_t errlen)
{
	static const uint8_t a[4] = { 10, 0, 0, 0 }, b[4] = { 10, 255, 255, 255 };
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct gwlb_set_spec x4 = {
		.name = "x4", .family = 4, .match = GWLB_SET_MATCH_SRC,
		.action = GWLB_SET_ACTION_DROP, .interval = 1,
	};
	struct gwlb_set_spec y6 = {
		.name = "y6", .family = 6, .match = GWLB_SET_MATCH_EITHER,
		.action = GWLB_SET_ACTION_ACCEPT, .timeout_ms = 5000,
	};
	struct gwlb_set_spec bad = x4;
	int rc;

	rc = sets_check(p, "declare x4", p->host->set_declare(p->h, &x4), 0, err, errlen);
	if (!rc)
		rc = sets_check(p, "declare y6", p->host->set_declare(p->h, &y6), 0, err, errlen);
	bad.name = "Bad-Name";
	if (!rc)
		rc = sets_check(p, "bad name", p->host->set_declare(p->h, &bad), -EINVAL, err,
				errlen);
	bad.name = "z";
	bad.family = 5;
	if (!rc)
		rc = sets_check(p, "bad family", p->host->set_declare(p->h, &bad), -EINVAL, err,
				errlen);
	bad.family = 4;
	bad.match = 0;
	if (!rc)
		rc = sets_check(p, "no match", p->host->set_declare(p->h, &bad), -EINVAL, err,
				errlen);
	if (!rc)
		rc = sets_check(p, "load x4", p->host->set_load(p->h, "x4", a, b, 4), 0, err,
				errlen);
	if (!rc)
		rc = sets_check(p, "load y6", p->host->set_load(p->h, "y6", c6, NULL, 16), 0, err,
				errlen);
	if (!rc)
		rc = sets_check(p, "load x4 wrong length",
				p->host->set_load(p->h, "x4", c6, NULL, 8), -EINVAL, err, errlen);
	return rc;
}

static int sets_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		     int argc, const char *const *argv, char *err, size_t errlen)
{
	struct sets_priv *p = priv;
	int i, rc;

	p->host = host;
	p->h = h;
	p->deny_port = p->block_port = -1;
	for (i = 0; i < C__MAX; i++) {
		p->c[i] = host->counter_id(h, cnames[i]);
		if (p->c[i] < 0)
			return p->c[i];
	}
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "declare")) {
			rc = sets_declare(p, err, errlen);
			if (rc)
				return rc;
		} else if (!strncmp(a, "deny-port=", 10)) {
			p->deny_port = strtol(a + 10, NULL, 10);
		} else if (!strncmp(a, "block-port=", 11)) {
			p->block_port = strtol(a + 11, NULL, 10);
		} else {
			snprintf(err, errlen, "unknown argument \"%s\"", a);
			return -EINVAL;
		}
	}
	return 0;
}

static enum gwlb_verdict sets_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	static const uint8_t k[4] = { 192, 0, 2, 1 };
	struct gwlb_set_spec late = {
		.name = "late", .family = 4, .match = GWLB_SET_MATCH_SRC,
		.action = GWLB_SET_ACTION_DROP,
	};
	struct sets_priv *p = priv;

	p->host->counter_add(p->h, p->c[C_PACKETS], 1);
	if (p->host->set_declare(p->h, &late) == -EPERM &&
	    p->host->set_load(p->h, "x4", k, NULL, 4) == -EPERM)
		p->host->counter_add(p->h, p->c[C_LATE_EPERM], 1);
	if (pkt->l4_off && pkt->dport == p->block_port) {
		int rc = p->host->set_add(p->h, pkt->family == 6 ? "cidr_block6" : "cidr_block4",
					  pkt->saddr, pkt->family == 6 ? 16 : 4, 0);

		p->host->counter_add(p->h, p->c[rc ? C_BLOCK_ERR : C_BLOCK_OK], 1);
		return GWLB_VERDICT_DROP;
	}
	if (pkt->l4_off && pkt->dport == p->deny_port)
		return GWLB_VERDICT_DROP_FLOW;
	return GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops sets_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "sets",
	.description = "test: ABI 1.1 set services",
	.priv_size = sizeof(struct sets_priv),
	.init = sets_init,
	.verdict = sets_verdict,
};

GWLB_VERDICT_MODULE(sets_ops);
