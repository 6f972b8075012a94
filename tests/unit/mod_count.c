/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test module: counts packets and exercises every host service, driven by its arguments,
 * so that the suite checks the host through the real ABI. Results land in named counters.
 *   verdict=continue|accept|drop|accept_flow|drop_flow|bogus   what to return (default continue)
 *   set=NAME del=NAME timeout=MS   set_add/set_del of the source address per packet
 *   mark=VALUE/MASK                ct_mark_set per packet
 *   label=BIT                      ct_label_set per packet
 *   log=N                          N log lines per packet
 *   fill                           register counters until the host says -ENOSPC
 *   initmark                       ct_mark_set(0x100/0x100) from init (no packet): must be -EINVAL
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

enum { C_PACKETS, C_SET_OK, C_SET_ERR, C_DEL_OK, C_DEL_ERR, C_MARK_OK, C_MARK_EPERM, C_MARK_ERR,
       C_LABEL_OK, C_LABEL_ERR, C_THREADS, C_INITMARK, C__MAX };

static const char *const cnames[C__MAX] = {
	"packets", "set_ok", "set_err", "del_ok", "del_err", "mark_ok", "mark_eperm", "mark_err",
	"label_ok", "label_err", "threads", "initmark_einval",
};

struct count_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	int c[C__MAX];
	int verdict;
	const char *set, *del;
	unsigned long timeout;
	int mark;
	unsigned long mark_value, mark_mask;
	int label;
	unsigned long label_bit;
	unsigned long log;
};

static int count_fill(struct count_priv *p, char *err, size_t errlen)
{
	char name[32];
	int i, id;

	if (p->host->counter_id(p->h, "has space") != -EINVAL ||
	    p->host->counter_id(p->h, "") != -EINVAL) {
		snprintf(err, errlen, "counter_id took a bad name");
		return -EINVAL;
	}
	if (p->host->counter_id(p->h, "packets") != p->c[C_PACKETS]) {
		snprintf(err, errlen, "counter_id gave a second id to \"packets\"");
		return -EINVAL;
	}
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "fill%d", i);
		id = p->host->counter_id(p->h, name);
		if (id == -ENOSPC)
			return 0;
		if (id < 0) {
			snprintf(err, errlen, "counter_id(%s) = %d", name, id);
			return id;
		}
	}
	snprintf(err, errlen, "counter_id never said -ENOSPC");
	return -EINVAL;
}

static int count_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		      int argc, const char *const *argv, char *err, size_t errlen)
{
	static const char *const verdicts[] = {
		"continue", "accept", "drop", "accept_flow", "drop_flow",
	};
	struct count_priv *p = priv;
	int i, fill = 0, initmark = 0;
	unsigned v;
	char *end;

	p->host = host;
	p->h = h;
	for (i = 0; i < C__MAX; i++) {
		p->c[i] = host->counter_id(h, cnames[i]);
		if (p->c[i] != i) {
			snprintf(err, errlen, "counter_id(%s) = %d", cnames[i], p->c[i]);
			return -EINVAL;
		}
	}
	host->counter_add(h, p->c[C_THREADS], host->threads(h));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "verdict=", 8)) {
			p->verdict = -1;
			for (v = 0; v < sizeof(verdicts) / sizeof(verdicts[0]); v++)
				if (!strcmp(a + 8, verdicts[v]))
					p->verdict = v;
			if (!strcmp(a + 8, "bogus"))
				p->verdict = 42;
			if (p->verdict < 0) {
				snprintf(err, errlen, "bad %s", a);
				return -EINVAL;
			}
		} else if (!strncmp(a, "set=", 4)) {
			p->set = a + 4;
		} else if (!strncmp(a, "del=", 4)) {
			p->del = a + 4;
		} else if (!strncmp(a, "timeout=", 8)) {
			p->timeout = strtoul(a + 8, NULL, 0);
		} else if (!strncmp(a, "mark=", 5)) {
			p->mark = 1;
			p->mark_value = strtoul(a + 5, &end, 0);
			if (*end != '/') {
				snprintf(err, errlen, "bad %s: want mark=VALUE/MASK", a);
				return -EINVAL;
			}
			p->mark_mask = strtoul(end + 1, NULL, 0);
		} else if (!strncmp(a, "label=", 6)) {
			p->label = 1;
			p->label_bit = strtoul(a + 6, NULL, 0);
		} else if (!strncmp(a, "log=", 4)) {
			p->log = strtoul(a + 4, NULL, 0);
		} else if (!strcmp(a, "fill")) {
			fill = 1;
		} else if (!strcmp(a, "initmark")) {
			initmark = 1;
		} else {
			snprintf(err, errlen, "unknown argument \"%s\"", a);
			return -EINVAL;
		}
	}
	if (initmark && host->ct_mark_set(h, NULL, 0x100, 0x100) == -EINVAL)
		host->counter_add(h, p->c[C_INITMARK], 1);
	return fill ? count_fill(p, err, errlen) : 0;
}

static void count_fini(void *priv)
{
	struct count_priv *p = priv;

	p->host->log(p->h, GWLB_LOG_DEBUG, "fini");
}

static void count_result(struct count_priv *p, int rc, int ok, int eperm, int other)
{
	if (!rc)
		p->host->counter_add(p->h, p->c[ok], 1);
	else if (rc == -EPERM && eperm >= 0)
		p->host->counter_add(p->h, p->c[eperm], 1);
	else
		p->host->counter_add(p->h, p->c[other], 1);
}

static enum gwlb_verdict count_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct count_priv *p = priv;
	size_t alen = pkt->family == 6 ? 16 : 4;
	unsigned long i;

	p->host->counter_add(p->h, p->c[C_PACKETS], 1);
	if (p->set)
		count_result(p, p->host->set_add(p->h, p->set, pkt->saddr, alen, p->timeout),
			     C_SET_OK, -1, C_SET_ERR);
	if (p->del)
		count_result(p, p->host->set_del(p->h, p->del, pkt->saddr, alen),
			     C_DEL_OK, -1, C_DEL_ERR);
	if (p->mark)
		count_result(p, p->host->ct_mark_set(p->h, pkt, p->mark_value, p->mark_mask),
			     C_MARK_OK, C_MARK_EPERM, C_MARK_ERR);
	if (p->label)
		count_result(p, p->host->ct_label_set(p->h, pkt, p->label_bit),
			     C_LABEL_OK, -1, C_LABEL_ERR);
	for (i = 0; i < p->log; i++)
		p->host->log(p->h, GWLB_LOG_INFO, "line %lu\ninjected", i);
	return (enum gwlb_verdict)p->verdict;
}

static const struct gwlb_verdict_ops count_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "count",
	.description = "test: counts packets, calls host services",
	.priv_size = sizeof(struct count_priv),
	.init = count_init,
	.fini = count_fini,
	.verdict = count_verdict,
};

GWLB_VERDICT_MODULE(count_ops);
