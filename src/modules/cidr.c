/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cidr: allow and deny lists of IPv4/IPv6 prefixes, enforced in the kernel before the queue.
 *
 *   deny-file=PATH     prefixes whose flows are dropped (sets cidr_deny4, cidr_deny6)
 *   allow-file=PATH    prefixes whose flows are accepted without asking any module
 *                      (cidr_allow4, cidr_allow6); a deny wins over an allow
 *   match=src|dst|both which address is looked up (default src)
 *   block-timeout=S    lifetime of an entry of the dynamic block sets cidr_block4 and
 *                      cidr_block6 that other modules feed with set_add (default 600; 0: no
 *                      block sets)
 *
 * A file has one prefix per line, '#' starts a comment. The module only declares sets and
 * loads them: gwlbd compiles them to interval sets with lookup rules, so no packet of a
 * listed prefix reaches userspace, and verdict() has nothing left to decide.
 *
 * Built like the sni module: with its own copy of the library's prefix parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

#include "cidr.h"

#define CIDR_FILE_MAX		(16u << 20)
#define CIDR_DEF_BLOCK_TIMEOUT	600	/* seconds */
#define CIDR_MAX_BLOCK_TIMEOUT	(7 * 86400)

enum { C_SEEN, C_DENY, C_ALLOW, C__MAX };

struct cidr_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int ctr[C__MAX];
};

/* What the line callback needs: where the prefixes of one file go. */
struct cidr_load {
	struct cidr_priv *p;
	const char *set4, *set6;
	unsigned n;
};

static int cidr_load_prefix(void *arg, const struct gwlb_cidr *c, int line)
{
	struct cidr_load *l = arg;
	size_t len = c->family == 6 ? 16 : 4, i;
	uint8_t last[16];

	/* the prefix's last address: every host bit set */
	memcpy(last, c->addr, len);
	for (i = 0; i < len; i++) {
		unsigned bit = i * 8;

		if (bit >= c->plen)
			last[i] = 0xff;
		else if (c->plen - bit < 8)
			last[i] |= 0xff >> (c->plen - bit);
	}
	l->n++;
	return l->p->host->set_load(l->p->h, c->family == 6 ? l->set6 : l->set4, c->addr, last,
				    len);
}

static int cidr_file(struct cidr_priv *p, const char *path, const char *set4, const char *set6,
		     int ctr, char *err, size_t errlen)
{
	struct cidr_load l = { .p = p, .set4 = set4, .set6 = set6 };
	struct gwlb_cidr_err cerr;
	uint8_t *buf = NULL;
	size_t len = 0, got;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	buf = malloc(CIDR_FILE_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	while ((got = fread(buf + len, 1, CIDR_FILE_MAX + 1 - len, f)) > 0)
		len += got;
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto cleanup;
	}
	if (len > CIDR_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u MiB", path, CIDR_FILE_MAX >> 20);
		goto cleanup;
	}
	rc = gwlb_cidr_parse_lines(buf, len, cidr_load_prefix, &l, NULL, &cerr);
	if (rc == -EINVAL && cerr.reason[0])
		snprintf(err, errlen, "%s:%d: %s", path, cerr.line, cerr.reason);
	else if (rc)
		snprintf(err, errlen, "%s:%d: cannot load the prefix: %s", path, cerr.line,
			 strerror(-rc));
	else
		p->host->counter_add(p->h, p->ctr[ctr], l.n);
cleanup:
	free(buf);
	fclose(f);
	return rc;
}

static int cidr_declare(struct cidr_priv *p, const char *name, int family, int match,
			int action, bool interval, uint32_t timeout_ms, char *err, size_t errlen)
{
	struct gwlb_set_spec spec = {
		.name = name,
		.family = family,
		.match = match,
		.action = action,
		.interval = interval,
		.timeout_ms = timeout_ms,
	};
	int rc = p->host->set_declare(p->h, &spec);

	if (rc == -EOPNOTSUPP)
		snprintf(err, errlen, "this host cannot create kernel sets (gwlbd --policy can)");
	else if (rc == -EEXIST)
		snprintf(err, errlen, "set cidr_%s is declared already: use cidr once per policy",
			 name);
	else if (rc)
		snprintf(err, errlen, "cannot declare set cidr_%s: %s", name, strerror(-rc));
	return rc;
}

/* The sets <base>4 and <base>6. */
static int cidr_declare2(struct cidr_priv *p, const char *base, int match, int action,
			 bool interval, uint32_t timeout_ms, char *err, size_t errlen)
{
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "%s4", base);
	rc = cidr_declare(p, name, 4, match, action, interval, timeout_ms, err, errlen);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s6", base);
	return cidr_declare(p, name, 6, match, action, interval, timeout_ms, err, errlen);
}

static int cidr_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		     int argc, const char *const *argv, char *err, size_t errlen)
{
	const char *allow = NULL, *deny = NULL;
	unsigned long block = CIDR_DEF_BLOCK_TIMEOUT;
	int match = GWLB_SET_MATCH_SRC, i, rc = 0;
	struct cidr_priv *p = priv;

	p->host = host;
	p->h = h;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (!strncmp(a, "allow-file=", 11) && a[11]) {
			allow = a + 11;
		} else if (!strncmp(a, "deny-file=", 10) && a[10]) {
			deny = a + 10;
		} else if (!strcmp(a, "match=src")) {
			match = GWLB_SET_MATCH_SRC;
		} else if (!strcmp(a, "match=dst")) {
			match = GWLB_SET_MATCH_DST;
		} else if (!strcmp(a, "match=both")) {
			match = GWLB_SET_MATCH_EITHER;
		} else if (!strncmp(a, "block-timeout=", 14)) {
			errno = 0;
			block = strtoul(a + 14, &end, 10);
			if (a[14] < '0' || a[14] > '9' || *end || errno ||
			    block > CIDR_MAX_BLOCK_TIMEOUT) {
				snprintf(err, errlen, "bad block-timeout \"%s\": seconds, 0..%u",
					 a + 14, CIDR_MAX_BLOCK_TIMEOUT);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "unknown argument \"%s\" (expected allow-file=PATH, "
				 "deny-file=PATH, match=src|dst|both, block-timeout=SECONDS)", a);
			return -EINVAL;
		}
	}
	p->ctr[C_SEEN] = host->counter_id(h, "queued");
	p->ctr[C_DENY] = host->counter_id(h, "deny_prefixes");
	p->ctr[C_ALLOW] = host->counter_id(h, "allow_prefixes");
	if (p->ctr[C_SEEN] < 0 || p->ctr[C_DENY] < 0 || p->ctr[C_ALLOW] < 0) {
		snprintf(err, errlen, "cannot register counters");
		return -ENOSPC;
	}

	/* declaration order is rule order among the drop sets: block lists first */
	if (block)
		rc = cidr_declare2(p, "block", match, GWLB_SET_ACTION_DROP, false, block * 1000,
				   err, errlen);
	if (!rc && deny)
		rc = cidr_declare2(p, "deny", match, GWLB_SET_ACTION_DROP, true, 0, err, errlen);
	if (!rc && deny)
		rc = cidr_file(p, deny, "deny4", "deny6", C_DENY, err, errlen);
	if (!rc && allow)
		rc = cidr_declare2(p, "allow", match, GWLB_SET_ACTION_ACCEPT, true, 0, err, errlen);
	if (!rc && allow)
		rc = cidr_file(p, allow, "allow4", "allow6", C_ALLOW, err, errlen);
	return rc;
}

/* The kernel decided every listed prefix; what is queued is someone else's to judge. */
static enum gwlb_verdict cidr_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct cidr_priv *p = priv;

	p->host->counter_add(p->h, p->ctr[C_SEEN], 1);
	return GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops cidr_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "cidr",
	.description = "allow/deny prefix lists and a block list, as kernel sets before the queue",
	.priv_size = sizeof(struct cidr_priv),
	.init = cidr_init,
	.verdict = cidr_verdict,
};

GWLB_VERDICT_MODULE(cidr_ops);
