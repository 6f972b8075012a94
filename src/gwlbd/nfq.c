/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * NFQUEUE workers of the policy host (libnetfilter_queue's libmnl API). See nfq.h for the
 * mark contract with the ruleset.
 *
 * Every packet message gets exactly one verdict, in the order the packets came (no
 * reordering within a flow). A run of plain accepts becomes one NFQNL_MSG_VERDICT_BATCH
 * carrying the run's last id; a drop or a mark is an individual verdict, which first closes
 * the run before it. All verdicts of one receive go out in one sendmsg, processed by the
 * kernel in order. A batch verdict covers every pending id up to the one given, and that
 * is exactly the run: ids of one queue increase in the order the messages reach the
 * socket, so every lower id was received in this receive or an earlier one; earlier
 * receives were answered before this one, and within it the messages ahead of the batch
 * already dequeued everything before the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "eniname.h"
#include "nfq.h"
#include "pkt.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK		270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK		10
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE		136
#endif

#define NFQ_MAXLEN_DEFAULT	4096
#define NFQ_RCVBUF_MIN		(1u << 20)
#define NFQ_SLOT_EXTRA		4096	/* netlink and attribute headers around the packet */
#define NFQ_TXBUF		16384
#define NFQ_TX_MSG_MAX		128	/* the largest verdict message we build */
#define NFQ_FLOWS		4096	/* per worker; a power of two */
#define NFQ_FLOW_WAYS		4	/* entries per hash bucket; a power of two */
#define NFQ_IFCACHE		64
#define NFQ_IFCACHE_TTL		10	/* seconds */
#define NFQ_EXTHDR_MAX		8
#define NFQ_RCVTIMEO_MS		100	/* bounds how long stop waits for a worker */
#define NFQ_ACK_TRIES		20	/* x NFQ_RCVTIMEO_MS */
#define NFQ_RL_WINDOW		5	/* seconds */
#define NFQ_RL_BURST		10

/* Written by the worker only, read by anyone: relaxed loads and stores suffice. */
typedef _Atomic uint64_t nfq_ctr_t;

struct nfq_ctrs {
	nfq_ctr_t received, accepted, dropped, flows_accepted, flows_dropped, unparsed;
	nfq_ctr_t truncated, gso, batches, batch_verdicts, enobufs, verdict_errors;
};

struct nfq_ifname {
	uint32_t ifindex;
	uint32_t stamp;
	unsigned gen;
	uint64_t eni;
	char name[IF_NAMESIZE];
};

struct nfq_flow_ent {
	struct gwlb_flow_key key;	/* directional: addr/port [0] = source */
	uint64_t pkts;
	uint32_t seen;			/* worker's coarse seconds of the last packet */
};

struct nfq_worker {
	unsigned idx;
	uint16_t queue;
	struct mnl_socket *nl;
	int fd;
	uint32_t portid;
	uint32_t seq;
	pthread_t thread;
	bool started;
	struct nfq_ctrs ctr;

	uint8_t *rx;
	size_t slot;
	struct mmsghdr msgs[GWLB_NFQ_BATCH_MAX];
	struct iovec iov[GWLB_NFQ_BATCH_MAX];

	char tx[NFQ_TXBUF] __attribute__((aligned(8)));
	size_t txlen;
	unsigned txpkts;		/* packets whose verdicts sit in tx */
	bool accept_pending;
	uint32_t accept_max;

	uint32_t now;			/* coarse monotonic seconds, per batch */
	struct nfq_ifname ifc[NFQ_IFCACHE];

	pthread_mutex_t flow_lock;
	struct nfq_flow_ent *flows;

	uint32_t rl_window, rl_count, rl_suppressed;

	/* gwlb_nfq_stall()'s last look; only its caller's thread touches these. */
	uint64_t look_progress;
	uint64_t look_ms;
};

static struct {
	struct gwlb_nfq_cfg cfg;
	struct nfq_worker *w;
	_Atomic unsigned n;
	atomic_bool stop;
	_Atomic unsigned ifgen;
	bool ct_path;
	uint32_t seed;
} nfq;

static inline void ctr_add(nfq_ctr_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t ctr_get(nfq_ctr_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t coarse_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static void nfq_vlog(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void nfq_vlog(int prio, const char *fmt, va_list ap)
{
	char buf[256];

	if (!nfq.cfg.log)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	nfq.cfg.log(prio, "%s", buf);
}

static void nfq_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void nfq_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nfq_vlog(prio, fmt, ap);
	va_end(ap);
}

/* Per-packet trouble: at most NFQ_RL_BURST lines per worker and window. */
static void nfq_log_rl(struct nfq_worker *w, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void nfq_log_rl(struct nfq_worker *w, int prio, const char *fmt, ...)
{
	uint32_t now = coarse_seconds();
	va_list ap;

	if (!nfq.cfg.log)
		return;
	if (now - w->rl_window >= NFQ_RL_WINDOW) {
		if (w->rl_suppressed)
			nfq_log(LOG_WARNING, "nfqueue %u: %u messages suppressed", w->queue,
				w->rl_suppressed);
		w->rl_window = now;
		w->rl_count = 0;
		w->rl_suppressed = 0;
	}
	if (w->rl_count >= NFQ_RL_BURST) {
		w->rl_suppressed++;
		return;
	}
	w->rl_count++;
	va_start(ap, fmt);
	nfq_vlog(prio, fmt, ap);
	va_end(ap);
}

/* --- packet view --- */

static bool nfq_is_icmp(const struct gwlb_pkt *p)
{
	return (p->family == 4 && p->l4proto == IPPROTO_ICMP) ||
	       (p->family == 6 && p->l4proto == IPPROTO_ICMPV6);
}

/* Transport header at off, readable up to end. Short headers leave what they cannot fill. */
static void nfq_parse_l4(struct gwlb_pkt *p, size_t off, size_t end)
{
	const uint8_t *l4 = p->data + off;
	size_t avail = end - off, hl;

	if (off > UINT16_MAX)
		return;
	p->l4_off = (uint16_t)off;
	switch (p->l4proto) {
	case IPPROTO_TCP:
		if (avail < 20)
			hl = 0;
		else
			hl = (size_t)(l4[12] >> 4) * 4;
		if (avail >= 14)
			p->tcp_flags = l4[13];
		if (hl < 20)
			hl = SIZE_MAX;
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		hl = 8;
		break;
	case IPPROTO_SCTP:
		hl = 12;
		break;
	default:
		if (!nfq_is_icmp(p))
			return;
		hl = 8;
		if (avail >= 8 && ((p->family == 4 && (l4[0] == 0 || l4[0] == 8)) ||
				   (p->family == 6 && (l4[0] == 128 || l4[0] == 129)))) {
			p->sport = be16(l4 + 4);
			p->dport = p->sport;
		}
		goto payload;
	}
	if (avail >= 4) {
		p->sport = be16(l4);
		p->dport = be16(l4 + 2);
	}
payload:
	if (hl <= avail && off + hl <= UINT16_MAX) {
		p->payload_off = (uint16_t)(off + hl);
		p->payload_len = (uint32_t)(avail - hl);
	}
}

static bool nfq_ip6_exthdr(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return true;
	}
	return false;
}

/*
 * L3/L4 of p->data. The readable end is the IP length, or the captured length when the
 * copy range cut the packet or the length field is 0 (GSO packets above 64 KiB). 0, or
 * -EINVAL when the IP header cannot be read.
 */
static int nfq_parse(struct gwlb_pkt *p, uint16_t hwproto)
{
	const uint8_t *d = p->data;
	size_t len = p->len, off, end, tot, hl;
	bool later = false;
	uint8_t nh;
	int n;

	if (len < 1)
		return -EINVAL;
	switch (d[0] >> 4) {
	case 4:
		if (len < 20 || (hwproto && hwproto != ETH_P_IP))
			return -EINVAL;
		off = (size_t)(d[0] & 0x0f) * 4;
		if (off < 20 || off > len)
			return -EINVAL;
		tot = be16(d + 2);
		if (tot && tot < off)
			return -EINVAL;
		end = tot == 0 || tot > len ? len : tot;
		p->family = 4;
		p->saddr = d + 12;
		p->daddr = d + 16;
		nh = d[9];
		later = (be16(d + 6) & 0x1fff) != 0;
		break;
	case 6:
		if (len < 40 || (hwproto && hwproto != ETH_P_IPV6))
			return -EINVAL;
		tot = 40 + (size_t)be16(d + 4);
		end = tot == 40 || tot > len ? len : tot;
		p->family = 6;
		p->saddr = d + 8;
		p->daddr = d + 24;
		nh = d[6];
		off = 40;
		for (n = 0; nfq_ip6_exthdr(nh) && !later; n++) {
			if (n == NFQ_EXTHDR_MAX || end - off < 8)
				return -EINVAL;
			if (nh == IPPROTO_FRAGMENT) {
				later = (be16(d + off + 2) & 0xfff8) != 0;
				hl = 8;
			} else if (nh == IPPROTO_AH) {
				hl = ((size_t)d[off + 1] + 2) * 4;
			} else {
				hl = ((size_t)d[off + 1] + 1) * 8;
			}
			if (hl > end - off)
				return -EINVAL;
			nh = d[off];
			off += hl;
		}
		break;
	default:
		return -EINVAL;
	}
	p->l4proto = nh;
	if (!later)
		nfq_parse_l4(p, off, end);
	return 0;
}

static void nfq_ifcache_fill(struct nfq_ifname *e, uint32_t ifindex, unsigned gen, uint32_t now)
{
	e->ifindex = ifindex;
	e->gen = gen;
	e->stamp = now;
	e->eni = 0;
	if (!if_indextoname(ifindex, e->name)) {
		e->name[0] = '\0';
		return;
	}
	if (strncmp(e->name, "gwi-", 4) == 0 && gwlb_eni_parse(e->name, &e->eni) < 0)
		e->eni = 0;
}

static const char *nfq_ifname(struct nfq_worker *w, uint32_t ifindex, uint64_t *eni)
{
	struct nfq_ifname *e = &w->ifc[ifindex % NFQ_IFCACHE];
	unsigned gen = atomic_load_explicit(&nfq.ifgen, memory_order_relaxed);

	if (!ifindex)
		return "";
	if (e->ifindex != ifindex || e->gen != gen || w->now - e->stamp >= NFQ_IFCACHE_TTL)
		nfq_ifcache_fill(e, ifindex, gen, w->now);
	if (eni)
		*eni = e->eni;
	return e->name;
}

/*
 * A flow's packet count (the one modules see as flow_pkts). With one entry per hash a few
 * dozen flows already collide (16 flows in 4096 slots: 3%), and the later flow silently
 * restarts the earlier one's count and hides it from the top flows; so buckets hold
 * NFQ_FLOW_WAYS entries and a new flow takes a free one, else the least recently seen.
 */
static uint64_t nfq_flow_count(struct nfq_worker *w, const struct gwlb_pkt *p)
{
	size_t alen = p->family == 4 ? 4 : 16;
	struct gwlb_flow_key k;
	struct nfq_flow_ent *b, *e = NULL;
	unsigned i;
	uint64_t n;

	memset(&k, 0, sizeof(k));
	k.family = p->family;
	k.proto = p->l4proto;
	memcpy(k.addr[0], p->saddr, alen);
	memcpy(k.addr[1], p->daddr, alen);
	k.port[0] = htons(p->sport);
	k.port[1] = htons(p->dport);
	b = &w->flows[(gwlb_flow_key_hash(&k, nfq.seed) * NFQ_FLOW_WAYS) & (NFQ_FLOWS - 1)];

	pthread_mutex_lock(&w->flow_lock);
	for (i = 0; i < NFQ_FLOW_WAYS; i++) {
		if (b[i].pkts && memcmp(&b[i].key, &k, sizeof(k)) == 0) {
			e = &b[i];
			break;
		}
		if (!e || (e->pkts && (!b[i].pkts || b[i].seen < e->seen ||
				       (b[i].seen == e->seen && b[i].pkts < e->pkts))))
			e = &b[i];
	}
	if (i == NFQ_FLOW_WAYS) {
		e->key = k;
		e->pkts = 0;
	}
	e->seen = w->now;
	n = ++e->pkts;
	pthread_mutex_unlock(&w->flow_lock);
	return n;
}

static int nfq_ct_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, CTA_MAX) < 0)
		return MNL_CB_OK;
	if (type == CTA_MARK && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* The nfqa-ct path: state and mark from NFQA_CT_INFO and NFQA_CT. */
static void nfq_ct_read(struct gwlb_pkt *p, struct nlattr **attr)
{
	const struct nlattr *tb[CTA_MAX + 1] = { NULL };

	p->ct_state = GWLB_CT_UNKNOWN;
	p->ct_mark = 0;
	if (!attr[NFQA_CT])
		return;
	if (mnl_attr_parse_nested(attr[NFQA_CT], nfq_ct_attr_cb, tb) >= 0 && tb[CTA_MARK])
		p->ct_mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	if (!attr[NFQA_CT_INFO] || mnl_attr_get_payload_len(attr[NFQA_CT_INFO]) < 4)
		return;
	switch (ntohl(mnl_attr_get_u32(attr[NFQA_CT_INFO]))) {
	case IP_CT_ESTABLISHED:
		p->ct_state = GWLB_CT_ESTABLISHED;
		break;
	case IP_CT_RELATED:
		p->ct_state = GWLB_CT_RELATED;
		break;
	case IP_CT_NEW:
		p->ct_state = GWLB_CT_NEW;
		break;
	case IP_CT_ESTABLISHED_REPLY:
		p->ct_state = GWLB_CT_ESTABLISHED | GWLB_CT_REPLY;
		break;
	case IP_CT_RELATED_REPLY:
		p->ct_state = GWLB_CT_RELATED | GWLB_CT_REPLY;
		break;
	}
}

/* --- verdicts --- */

/* Close the run of plain accepts with one batch verdict. */
static void nfq_tx_run_end(struct nfq_worker *w)
{
	struct nlmsghdr *nlh;

	if (!w->accept_pending)
		return;
	nlh = nfq_nlmsg_put(w->tx + w->txlen, NFQNL_MSG_VERDICT_BATCH, w->queue);
	nfq_nlmsg_verdict_put(nlh, (int)w->accept_max, NF_ACCEPT);
	w->txlen += nlh->nlmsg_len;
	w->accept_pending = false;
	ctr_add(&w->ctr.batch_verdicts, 1);
}

static void nfq_tx_flush(struct nfq_worker *w)
{
	ssize_t rc;
	int tries;

	nfq_tx_run_end(w);
	if (!w->txlen)
		return;
	for (tries = 0; tries < 3; tries++) {
		rc = mnl_socket_sendto(w->nl, w->tx, w->txlen);
		if (rc >= 0 || (errno != EINTR && errno != ENOBUFS && errno != EAGAIN))
			break;
	}
	if (rc < 0) {
		ctr_add(&w->ctr.verdict_errors, w->txpkts);
		nfq_log_rl(w, LOG_ERR, "nfqueue %u: sending %u verdicts: %s", w->queue,
			   w->txpkts, strerror(errno));
	}
	w->txlen = 0;
	w->txpkts = 0;
}

static struct nlmsghdr *nfq_tx_verdict(struct nfq_worker *w, uint32_t id, int verdict)
{
	struct nlmsghdr *nlh;

	if (NFQ_TXBUF - w->txlen < 2 * NFQ_TX_MSG_MAX)
		nfq_tx_flush(w);
	nfq_tx_run_end(w);
	nlh = nfq_nlmsg_put(w->tx + w->txlen, NFQNL_MSG_VERDICT, w->queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	w->txpkts++;
	return nlh;
}

static void nfq_tx_done(struct nfq_worker *w, struct nlmsghdr *nlh)
{
	w->txlen += nlh->nlmsg_len;
}

static void nfq_tx_accept(struct nfq_worker *w, uint32_t id)
{
	w->accept_pending = true;
	w->accept_max = id;
	w->txpkts++;
}

/* A packet we did not judge: the fail-open setting decides. */
static void nfq_tx_fail(struct nfq_worker *w, uint32_t id)
{
	if (nfq.cfg.fail_open) {
		ctr_add(&w->ctr.accepted, 1);
		nfq_tx_accept(w, id);
	} else {
		ctr_add(&w->ctr.dropped, 1);
		nfq_tx_done(w, nfq_tx_verdict(w, id, NF_DROP));
	}
}

static void nfq_tx_judged(struct nfq_worker *w, uint32_t id, const struct gwlb_pkt *p,
			  const struct gwlb_nfq_judgement *j)
{
	uint32_t dmask = 3u << nfq.cfg.decision_shift;
	uint32_t mmask = j->mark_mask & ~dmask & ~nfq.cfg.newflow_bit;
	uint32_t setmask = mmask, setval = j->mark_value & mmask;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int verdict = NF_ACCEPT;

	switch (j->verdict) {
	case GWLB_VERDICT_CONTINUE:
	case GWLB_VERDICT_ACCEPT:
		ctr_add(&w->ctr.accepted, 1);
		if (!mmask) {
			nfq_tx_accept(w, id);
			return;
		}
		break;
	case GWLB_VERDICT_DROP:
		ctr_add(&w->ctr.dropped, 1);
		verdict = NF_DROP;
		break;
	case GWLB_VERDICT_ACCEPT_FLOW:
		ctr_add(&w->ctr.accepted, 1);
		ctr_add(&w->ctr.flows_accepted, 1);
		setmask |= dmask | nfq.cfg.newflow_bit;
		setval |= 1u << nfq.cfg.decision_shift;
		break;
	case GWLB_VERDICT_DROP_FLOW:
		/* NF_ACCEPT on purpose: the post-queue rule stores the decision, then drops. */
		ctr_add(&w->ctr.dropped, 1);
		ctr_add(&w->ctr.flows_dropped, 1);
		setmask |= dmask | nfq.cfg.newflow_bit;
		setval |= 2u << nfq.cfg.decision_shift;
		break;
	default:
		nfq_log_rl(w, LOG_WARNING, "nfqueue %u: judge returned verdict %d", w->queue,
			   j->verdict);
		ctr_add(&w->ctr.verdict_errors, 1);
		nfq_tx_fail(w, id);
		return;
	}

	nlh = nfq_tx_verdict(w, id, verdict);
	if (verdict == NF_ACCEPT)
		nfq_nlmsg_verdict_put_mark(nlh, (p->mark & ~setmask) | setval);
	if (nfq.ct_path && setmask) {
		/* ct mark = (ct mark & ~mask) | value, applied by the kernel atomically. */
		nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(setval));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(setmask));
		mnl_attr_nest_end(nlh, nest);
	}
	nfq_tx_done(w, nlh);
}

/* --- receive --- */

static void nfq_rx_packet(struct nfq_worker *w, const struct nlmsghdr *nlh, bool trunc)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	struct gwlb_nfq_judgement j = { 0 };
	struct gwlb_pkt p;
	uint32_t id, nf = nfq.cfg.newflow_bit;
	uint64_t eni = 0;

	/* A failed validation stops the walk but keeps what it found: the header comes first. */
	nfq_nlmsg_parse(nlh, attr);
	if (!attr[NFQA_PACKET_HDR] || mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		/* No id: nothing to answer. The next batch verdict, if any, will cover it. */
		ctr_add(&w->ctr.verdict_errors, 1);
		nfq_log_rl(w, LOG_ERR, "nfqueue %u: packet message without a packet id", w->queue);
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	ctr_add(&w->ctr.received, 1);

	if (attr[NFQA_SKB_INFO] && mnl_attr_get_payload_len(attr[NFQA_SKB_INFO]) >= 4 &&
	    (ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) & NFQA_SKB_GSO))
		ctr_add(&w->ctr.gso, 1);

	memset(&p, 0, sizeof(p));
	if (trunc || !attr[NFQA_PAYLOAD])
		goto fail;
	p.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (nfq_parse(&p, ntohs(ph->hw_protocol)) < 0)
		goto fail;

	if (attr[NFQA_MARK] && mnl_attr_get_payload_len(attr[NFQA_MARK]) >= 4)
		p.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (nfq.ct_path) {
		nfq_ct_read(&p, attr);
	} else {
		p.ct_state = (p.mark & nf) ? GWLB_CT_NEW : GWLB_CT_ESTABLISHED;
		p.ct_mark = p.mark & ~nf;
	}
	p.iifname = "";
	p.oifname = "";
	if (attr[NFQA_IFINDEX_INDEV] && mnl_attr_get_payload_len(attr[NFQA_IFINDEX_INDEV]) >= 4)
		p.iifname = nfq_ifname(w, ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV])), &eni);
	if (attr[NFQA_IFINDEX_OUTDEV] && mnl_attr_get_payload_len(attr[NFQA_IFINDEX_OUTDEV]) >= 4)
		p.oifname = nfq_ifname(w, ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV])), NULL);
	p.eni_id = eni;
	p.queue = w->queue;
	p.worker = w->idx;
	p.flow_pkts = nfq_flow_count(w, &p);

	nfq.cfg.judge(nfq.cfg.arg, &p, &j);
	nfq_tx_judged(w, id, &p, &j);
	return;

fail:
	nfq_log_rl(w, LOG_WARNING, "nfqueue %u: packet %u %s, %s", w->queue, id,
		   trunc ? "truncated" : "unparsable", nfq.cfg.fail_open ? "accepted" : "dropped");
	ctr_add(&w->ctr.unparsed, 1);
	nfq_tx_fail(w, id);
}

/*
 * One datagram. ack_seq/ack: the sequence number of a request we wait for and where its
 * result goes (1 = not seen yet). Verdicts are queued in w->tx; the caller flushes.
 */
static void nfq_rx_datagram(struct nfq_worker *w, uint8_t *buf, size_t len, bool trunc,
			    uint32_t ack_seq, int *ack)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int left;

	if (trunc) {
		ctr_add(&w->ctr.truncated, 1);
		/* Parse what arrived: the packet header comes first, the payload last. */
		if (len >= NLMSG_HDRLEN && nlh->nlmsg_len > len)
			nlh->nlmsg_len = (uint32_t)(len & ~(size_t)3);
	}
	left = (int)len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(e->error))
				continue;
			if (ack && ack_seq && nlh->nlmsg_seq == ack_seq) {
				*ack = e->error;
			} else if (e->error) {
				ctr_add(&w->ctr.verdict_errors, 1);
				nfq_log_rl(w, LOG_ERR, "nfqueue %u: verdict refused: %s",
					   w->queue, strerror(-e->error));
			}
			continue;
		}
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE &&
		    NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET)
			nfq_rx_packet(w, nlh, trunc);
	}
}

/* One receive call of up to cfg.batch datagrams. Returns datagrams received or -errno. */
static int nfq_rx_batch(struct nfq_worker *w, int flags)
{
	int i, n;

	n = recvmmsg(w->fd, w->msgs, nfq.cfg.batch, flags, NULL);
	if (n < 0) {
		if (errno == ENOBUFS) {
			/* The kernel already counted the loss (user_dropped); keep going. */
			ctr_add(&w->ctr.enobufs, 1);
			nfq_log_rl(w, LOG_WARNING, "nfqueue %u: socket overrun, packets lost",
				   w->queue);
		}
		return -errno;
	}
	w->now = coarse_seconds();
	for (i = 0; i < n; i++)
		nfq_rx_datagram(w, w->rx + (size_t)i * w->slot, w->msgs[i].msg_len,
				w->msgs[i].msg_hdr.msg_flags & MSG_TRUNC, 0, NULL);
	nfq_tx_flush(w);
	if (n > 0)
		ctr_add(&w->ctr.batches, 1);
	return n;
}

/*
 * Send a request with NLM_F_ACK and wait for its acknowledgement. Packets that arrive
 * meanwhile (a queue bound under traffic) are judged like any other.
 */
static int nfq_request(struct nfq_worker *w, struct nlmsghdr *nlh)
{
	int ack = 1, tries;
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++w->seq;
	if (mnl_socket_sendto(w->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (tries = 0; ack == 1 && tries < NFQ_ACK_TRIES;) {
		n = recv(w->fd, w->rx, w->slot, MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				tries++;
			else if (errno == ENOBUFS)
				ctr_add(&w->ctr.enobufs, 1);
			else if (errno != EINTR)
				return -errno;
			continue;
		}
		w->now = coarse_seconds();
		nfq_rx_datagram(w, w->rx, (size_t)n > w->slot ? w->slot : (size_t)n,
				(size_t)n > w->slot, nlh->nlmsg_seq, &ack);
		nfq_tx_flush(w);
	}
	return ack == 1 ? -ETIMEDOUT : ack;
}

static struct nlmsghdr *nfq_cfg_msg(char *buf, uint16_t queue, uint8_t cmd)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	return nlh;
}

/*
 * Bind, copy mode, length and flags in one message: the kernel checks the flags before
 * it binds, so a refused flag leaves nothing behind. All flags go in ONE NFQA_CFG_FLAGS
 * attribute (a second one would replace the first), with a mask naming each of them so
 * that a cleared flag is cleared too.
 */
static int nfq_bind(struct nfq_worker *w, bool conntrack)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	uint32_t flags = 0, mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO | NFQA_CFG_F_CONNTRACK;
	struct nlmsghdr *nlh = nfq_cfg_msg(buf, w->queue, NFQNL_CFG_CMD_BIND);

	if (nfq.cfg.fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	if (nfq.cfg.gso)
		flags |= NFQA_CFG_F_GSO;
	if (conntrack)
		flags |= NFQA_CFG_F_CONNTRACK;
	/* Packets that arrive before the acknowledgement are read the way we ask for. */
	nfq.ct_path = conntrack;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)nfq.cfg.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, nfq.cfg.maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	return nfq_request(w, nlh);
}

static void nfq_unbind(struct nfq_worker *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	int rc = nfq_request(w, nfq_cfg_msg(buf, w->queue, NFQNL_CFG_CMD_UNBIND));

	if (rc < 0)
		nfq_log(LOG_WARNING, "nfqueue %u: unbind: %s (closing the socket releases it)",
			w->queue, strerror(-rc));
}

static int nfq_worker_open(struct nfq_worker *w, bool *conntrack, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = NFQ_RCVTIMEO_MS * 1000 };
	int one = 1, rcvbuf, i, rc;

	w->fd = -1;
	/* Slots stay aligned: netlink headers are read in place. */
	w->slot = (nfq.cfg.copy_range + NFQ_SLOT_EXTRA + 63) & ~(size_t)63;
	w->rx = malloc(w->slot * nfq.cfg.batch);
	w->flows = calloc(NFQ_FLOWS, sizeof(*w->flows));
	if (!w->rx || !w->flows) {
		snprintf(err, errlen, "nfqueue %u: out of memory", w->queue);
		return -ENOMEM;
	}
	for (i = 0; i < (int)nfq.cfg.batch; i++) {
		w->iov[i].iov_base = w->rx + (size_t)i * w->slot;
		w->iov[i].iov_len = w->slot;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
	}

	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!w->nl) {
		rc = -errno;
		snprintf(err, errlen, "nfqueue %u: netlink socket: %s", w->queue, strerror(errno));
		return rc;
	}
	if (mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		snprintf(err, errlen, "nfqueue %u: netlink bind: %s", w->queue, strerror(errno));
		return rc;
	}
	w->fd = mnl_socket_get_fd(w->nl);
	w->portid = mnl_socket_get_portid(w->nl);

	/*
	 * Room for the whole queue; NETLINK_NO_ENOBUFS stays off so that an overrun shows
	 * up here as ENOBUFS (and in the kernel's user_dropped), not silently.
	 */
	rcvbuf = (int)nfq.cfg.rcvbuf;
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	    setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		nfq_log(LOG_WARNING, "nfqueue %u: receive buffer %d: %s", w->queue, rcvbuf,
			strerror(errno));
	setsockopt(w->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "nfqueue %u: SO_RCVTIMEO: %s", w->queue, strerror(errno));
		return rc;
	}

	rc = nfq_bind(w, *conntrack);
	if (rc == -EOPNOTSUPP && *conntrack) {
		/* No NFQUEUE conntrack glue in this kernel: carry ct state in the mark. */
		*conntrack = false;
		rc = nfq_bind(w, false);
	}
	if (rc < 0) {
		snprintf(err, errlen, "nfqueue %u: bind: %s%s", w->queue, strerror(-rc),
			 rc == -EBUSY || rc == -EPERM ? " (another process holds this queue)" : "");
		return rc;
	}
	return 0;
}

static void nfq_worker_close(struct nfq_worker *w)
{
	if (w->nl)
		mnl_socket_close(w->nl);
	w->nl = NULL;
	w->fd = -1;
	free(w->rx);
	free(w->flows);
	w->rx = NULL;
	w->flows = NULL;
	pthread_mutex_destroy(&w->flow_lock);
}

static void *nfq_worker_main(void *arg)
{
	struct nfq_worker *w = arg;
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "gwlb-nfq%u", w->queue);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load_explicit(&nfq.stop, memory_order_relaxed)) {
		rc = nfq_rx_batch(w, MSG_WAITFORONE);
		if (rc < 0 && rc != -EAGAIN && rc != -EWOULDBLOCK && rc != -EINTR &&
		    rc != -ENOBUFS) {
			nfq_log_rl(w, LOG_ERR, "nfqueue %u: receive: %s", w->queue,
				   strerror(-rc));
			usleep(10000);
		}
	}
	/* Answer what is already here: unbinding makes the kernel drop what is pending. */
	do {
		rc = nfq_rx_batch(w, MSG_DONTWAIT);
	} while (rc > 0 || rc == -ENOBUFS || rc == -EINTR);
	nfq_unbind(w);
	return NULL;
}

static void nfq_free_all(void)
{
	unsigned i, n = atomic_load(&nfq.n);

	for (i = 0; i < n; i++)
		nfq_worker_close(&nfq.w[i]);
	free(nfq.w);
	nfq.w = NULL;
	atomic_store(&nfq.n, 0);
}

int gwlb_nfq_start(const struct gwlb_nfq_cfg *cfg, char *err, size_t errlen)
{
	struct gwlb_nfq_cfg c = *cfg;
	bool conntrack = true;
	unsigned i;
	int rc;

	if (nfq.w) {
		snprintf(err, errlen, "nfqueue: already running");
		return -EALREADY;
	}
	if (!c.judge || c.count == 0 || (uint32_t)c.first + c.count > 65536) {
		snprintf(err, errlen, "nfqueue: need a judge and 1..65536 queues from %u", c.first);
		return -EINVAL;
	}
	if (c.decision_shift > 30 || !c.newflow_bit || (c.newflow_bit & (c.newflow_bit - 1)) ||
	    (c.newflow_bit & (3u << c.decision_shift))) {
		snprintf(err, errlen, "nfqueue: decision bits at %u and new-flow bit %#x overlap "
			 "or are invalid", c.decision_shift, c.newflow_bit);
		return -EINVAL;
	}
	if (!c.maxlen)
		c.maxlen = NFQ_MAXLEN_DEFAULT;
	if (!c.copy_range || c.copy_range > 0xffff)
		c.copy_range = 0xffff;
	if (!c.batch || c.batch > GWLB_NFQ_BATCH_MAX)
		c.batch = GWLB_NFQ_BATCH_MAX;
	if (!c.rcvbuf) {
		c.rcvbuf = c.maxlen > UINT32_MAX / 1024 ? UINT32_MAX : c.maxlen * 1024;
		if (c.rcvbuf < NFQ_RCVBUF_MIN)
			c.rcvbuf = NFQ_RCVBUF_MIN;
	}
	if (c.rcvbuf > INT32_MAX)
		c.rcvbuf = INT32_MAX;

	nfq.cfg = c;
	nfq.seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	atomic_store(&nfq.stop, false);
	nfq.w = calloc(c.count, sizeof(*nfq.w));
	if (!nfq.w) {
		snprintf(err, errlen, "nfqueue: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < c.count; i++) {
		struct nfq_worker *w = &nfq.w[i];

		w->idx = i;
		w->queue = (uint16_t)(c.first + i);
		pthread_mutex_init(&w->flow_lock, NULL);
		atomic_store(&nfq.n, i + 1);
		rc = nfq_worker_open(w, &conntrack, err, errlen);
		/* The first queue found out what the kernel supports; the rest follow it. */
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < c.count; i++) {
		rc = -pthread_create(&nfq.w[i].thread, NULL, nfq_worker_main, &nfq.w[i]);
		if (rc < 0) {
			snprintf(err, errlen, "nfqueue %u: thread: %s", nfq.w[i].queue,
				 strerror(-rc));
			goto fail;
		}
		nfq.w[i].started = true;
	}
	nfq_log(LOG_INFO, "nfqueue: %u queue(s) from %u, ct via %s, fail-%s%s", c.count, c.first,
		gwlb_nfq_ct_path(), c.fail_open ? "open" : "closed", c.gso ? ", gso" : "");
	return 0;

fail:
	gwlb_nfq_stop();
	return rc;
}

void gwlb_nfq_stop(void)
{
	unsigned i, n = atomic_load(&nfq.n);

	if (!nfq.w)
		return;
	atomic_store(&nfq.stop, true);
	for (i = 0; i < n; i++) {
		if (nfq.w[i].started)
			pthread_join(nfq.w[i].thread, NULL);
		nfq.w[i].started = false;
	}
	/* Queues whose thread never ran are released when their socket closes. */
	nfq_free_all();
}

int gwlb_nfq_kernel_stats(uint16_t queue, struct gwlb_nfq_stats *st)
{
	unsigned qn, portid, total, mode, range, qdrop, udrop, idseq;
	char line[256];
	FILE *f;
	int rc = -ENOENT;

	st->kernel_valid = false;
	f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %u %u %u %u %u %u", &qn, &portid, &total, &mode, &range,
			   &qdrop, &udrop, &idseq) != 8 || qn != queue)
			continue;
		st->kernel_valid = true;
		st->portid = portid;
		st->queue_total = total;
		st->queue_dropped = qdrop;
		st->user_dropped = udrop;
		st->id_sequence = idseq;
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

void gwlb_nfq_stats(unsigned q, struct gwlb_nfq_stats *st)
{
	struct nfq_ctrs *c;

	memset(st, 0, sizeof(*st));
	if (q >= atomic_load(&nfq.n) || !nfq.w)
		return;
	c = &nfq.w[q].ctr;
	st->received = ctr_get(&c->received);
	st->accepted = ctr_get(&c->accepted);
	st->dropped = ctr_get(&c->dropped);
	st->flows_accepted = ctr_get(&c->flows_accepted);
	st->flows_dropped = ctr_get(&c->flows_dropped);
	st->unparsed = ctr_get(&c->unparsed);
	st->truncated = ctr_get(&c->truncated);
	st->gso = ctr_get(&c->gso);
	st->batches = ctr_get(&c->batches);
	st->batch_verdicts = ctr_get(&c->batch_verdicts);
	st->enobufs = ctr_get(&c->enobufs);
	st->verdict_errors = ctr_get(&c->verdict_errors);
	gwlb_nfq_kernel_stats(nfq.w[q].queue, st);
}

static uint64_t nfq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void gwlb_nfq_stall(unsigned q, struct gwlb_nfq_stall *st)
{
	struct gwlb_nfq_stats ks = { 0 };
	struct nfq_worker *w;
	uint64_t progress, now = nfq_now_ms();

	memset(st, 0, sizeof(*st));
	if (q >= atomic_load(&nfq.n) || !nfq.w)
		return;
	w = &nfq.w[q];
	st->queue = w->queue;
	/*
	 * A packet counts as received before the judge sees it and as accepted or dropped
	 * after: a worker stuck in verdict() moves neither, while the packet it holds keeps
	 * queue_total above 0 even when nothing else comes.
	 */
	progress = ctr_get(&w->ctr.received) + ctr_get(&w->ctr.accepted) +
		   ctr_get(&w->ctr.dropped);
	if (!gwlb_nfq_kernel_stats(w->queue, &ks))
		st->waiting = ks.queue_total;
	if (!w->look_ms || progress != w->look_progress || !st->waiting) {
		w->look_progress = progress;
		w->look_ms = now;
	}
	st->stalled_ms = now - w->look_ms;
}

const char *gwlb_nfq_ct_path(void)
{
	return nfq.ct_path ? "nfqa-ct" : "mark";
}

unsigned gwlb_nfq_workers(void)
{
	return atomic_load(&nfq.n);
}

void gwlb_nfq_ifcache_flush(void)
{
	atomic_fetch_add(&nfq.ifgen, 1);
}

/* Insert e into the n-long list out (most packets first, capacity cap). */
static unsigned nfq_top_insert(struct gwlb_nfq_flow *out, unsigned n, unsigned cap,
			       const struct nfq_flow_ent *e, unsigned worker)
{
	unsigned pos = n, alen = e->key.family == 4 ? 4 : 16;

	while (pos > 0 && out[pos - 1].pkts < e->pkts)
		pos--;
	if (pos >= cap)
		return n;
	if (n == cap)
		n--;
	memmove(out + pos + 1, out + pos, (n - pos) * sizeof(*out));
	memset(&out[pos], 0, sizeof(out[pos]));
	out[pos].family = e->key.family;
	out[pos].proto = e->key.proto;
	out[pos].sport = ntohs(e->key.port[0]);
	out[pos].dport = ntohs(e->key.port[1]);
	memcpy(out[pos].saddr, e->key.addr[0], alen);
	memcpy(out[pos].daddr, e->key.addr[1], alen);
	out[pos].worker = worker;
	out[pos].pkts = e->pkts;
	return n + 1;
}

unsigned gwlb_nfq_top_flows(struct gwlb_nfq_flow *out, unsigned cap)
{
	unsigned i, k, n = 0, workers = atomic_load(&nfq.n);

	if (!nfq.w || !cap)
		return 0;
	for (i = 0; i < workers; i++) {
		struct nfq_worker *w = &nfq.w[i];

		if (!w->flows)
			continue;
		pthread_mutex_lock(&w->flow_lock);
		for (k = 0; k < NFQ_FLOWS; k++)
			if (w->flows[k].pkts)
				n = nfq_top_insert(out, n, cap, &w->flows[k], i);
		pthread_mutex_unlock(&w->flow_lock);
	}
	return n;
}
