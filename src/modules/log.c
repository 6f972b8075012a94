/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: sampled flow logging. One line per sampled new flow with family, protocol, addresses,
 * ports, ENI and interfaces; the verdict is always CONTINUE, so put it before the modules
 * that decide. Arguments: sample=N (log 1 in N new flows, default 1), prio=info|debug.
 * Counters: logged, skipped (new flows not sampled). The host's log limit still applies.
 *
 * Built like any third-party module: nothing but <gwlb/verdict.h> and libc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

struct log_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	uint64_t sample;
	enum gwlb_log_prio prio;
	int c_logged;
	int c_skipped;
	_Atomic uint64_t new_flows;
};

static int log_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		    int argc, const char *const *argv, char *err, size_t errlen)
{
	struct log_priv *p = priv;
	unsigned long long n;
	char *end;
	int i;

	p->host = host;
	p->h = h;
	p->sample = 1;
	p->prio = GWLB_LOG_INFO;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "sample=", 7)) {
			errno = 0;
			n = strtoull(a + 7, &end, 10);
			if (errno || end == a + 7 || *end || a[7] == '-' || n < 1) {
				snprintf(err, errlen, "bad %s: want sample=N with N >= 1 (log 1 in N "
					 "new flows)", a);
				return -EINVAL;
			}
			p->sample = n;
		} else if (!strcmp(a, "prio=info")) {
			p->prio = GWLB_LOG_INFO;
		} else if (!strcmp(a, "prio=debug")) {
			p->prio = GWLB_LOG_DEBUG;
		} else {
			snprintf(err, errlen, "unknown argument \"%s\" (expected sample=N, "
				 "prio=info|debug)", a);
			return -EINVAL;
		}
	}
	p->c_logged = host->counter_id(h, "logged");
	p->c_skipped = host->counter_id(h, "skipped");
	if (p->c_logged < 0 || p->c_skipped < 0) {
		snprintf(err, errlen, "cannot register counters");
		return p->c_logged < 0 ? p->c_logged : p->c_skipped;
	}
	return 0;
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_ICMP:	return "icmp";
	case IPPROTO_ICMPV6:	return "icmpv6";
	case IPPROTO_SCTP:	return "sctp";
	case IPPROTO_UDPLITE:	return "udplite";
	case IPPROTO_GRE:	return "gre";
	case IPPROTO_ESP:	return "esp";
	}
	snprintf(buf, len, "proto-%u", proto);
	return buf;
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* "10.0.0.1:80", "[2001:db8::1]:443", or the address alone when there is no port */
static void endpoint_str(const struct gwlb_pkt *pkt, const uint8_t *addr, uint16_t port,
			 bool port_ok, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int v6 = pkt->family == 6;

	if (addr)
		inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	if (!port_ok)
		snprintf(buf, len, "%s", a);
	else if (v6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/*
 * A new flow: its first packet in userspace when the host counts them (flow_pkts), else the
 * conntrack NEW state (which holds for several packets, e.g. UDP until the first reply).
 */
static bool is_new_flow(const struct gwlb_pkt *pkt)
{
	if (pkt->flow_pkts)
		return pkt->flow_pkts == 1;
	return pkt->ct_state & GWLB_CT_NEW;
}

static enum gwlb_verdict log_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct log_priv *p = priv;
	char src[64], dst[64], pbuf[16], extra[32] = "";
	bool ports;
	uint64_t n;

	if (!is_new_flow(pkt))
		return GWLB_VERDICT_CONTINUE;
	n = atomic_fetch_add_explicit(&p->new_flows, 1, memory_order_relaxed);
	if (n % p->sample) {
		p->host->counter_add(p->h, p->c_skipped, 1);
		return GWLB_VERDICT_CONTINUE;
	}
	ports = pkt->l4_off && has_ports(pkt->l4proto);
	endpoint_str(pkt, pkt->saddr, pkt->sport, ports, src, sizeof(src));
	endpoint_str(pkt, pkt->daddr, pkt->dport, ports, dst, sizeof(dst));
	if (pkt->l4_off && (pkt->l4proto == IPPROTO_ICMP || pkt->l4proto == IPPROTO_ICMPV6))
		snprintf(extra, sizeof(extra), " id %u", pkt->sport);
	p->host->log(p->h, p->prio, "flow ipv%u %s %s -> %s%s eni %017" PRIx64 " iif %s oif %s",
		     pkt->family, proto_name(pkt->l4proto, pbuf, sizeof(pbuf)), src, dst, extra,
		     pkt->eni_id, pkt->iifname && *pkt->iifname ? pkt->iifname : "-",
		     pkt->oifname && *pkt->oifname ? pkt->oifname : "-");
	p->host->counter_add(p->h, p->c_logged, 1);
	return GWLB_VERDICT_CONTINUE;
}

static const struct gwlb_verdict_ops log_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "log",
	.description = "log sampled new flows (sample=N, prio=info|debug)",
	.priv_size = sizeof(struct log_priv),
	.init = log_init,
	.verdict = log_verdict,
};

GWLB_VERDICT_MODULE(log_ops);
